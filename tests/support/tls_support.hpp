// Test-time certificates for the TLS tests, made once per test binary with
// the `openssl` command in a fresh temporary directory (removed at exit):
//
//   ca            a self-signed CA ("corio test CA")
//   server        a certificate for localhost, SAN DNS:localhost + IP:127.0.0.1, signed by ca
//   expired       the same name and key, signed by ca, valid only in January 2020
//   other_ca      an unrelated self-signed CA (its key also serves as a mismatched server key)
#pragma once

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace corio_test {

class tls_certificates {
public:
    std::string dir;
    std::string ca;           // CA certificate (PEM)
    std::string server_cert;  // localhost certificate signed by ca
    std::string server_key;
    std::string expired_cert;  // localhost certificate that expired in 2020 (key: server_key)
    std::string other_ca;      // an unrelated CA certificate
    std::string other_ca_key;  // its key: does not match server_cert

    tls_certificates() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "corio_tls_XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("tls_support: mkdtemp failed");
        }
        dir = pattern;
        ca = path("ca.pem");
        server_cert = path("server.pem");
        server_key = path("server.key");
        expired_cert = path("expired.pem");
        other_ca = path("other_ca.pem");
        other_ca_key = path("other_ca.key");
        write("openssl.cnf", config);
        write("index.txt", "");
        write("serial.txt", "1000\n");
        const std::string key = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
        run("openssl req -x509 -new" + key +
            " -keyout ca.key -out ca.pem -days 3650 -subj '/CN=corio test CA' -config openssl.cnf "
            "-extensions ca_ext");
        run("openssl req -x509 -new" + key +
            " -keyout other_ca.key -out other_ca.pem -days 3650 -subj '/CN=corio other CA' -config "
            "openssl.cnf"
            " -extensions ca_ext");
        run("openssl req -new" + key +
            " -keyout server.key -out server.csr -subj /CN=localhost -config openssl.cnf");
        run("openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial 2 -days 3650 "
            "-out server.pem"
            " -extfile openssl.cnf -extensions server_ext");
        // `openssl ca` is the one command that takes explicit start and end dates.
        run("openssl ca -batch -config openssl.cnf -cert ca.pem -keyfile ca.key -in server.csr "
            "-out expired.pem"
            " -startdate 20200101000000Z -enddate 20200102000000Z -extfile openssl.cnf -extensions "
            "server_ext"
            " -notext");
    }

    tls_certificates(const tls_certificates&) = delete;
    tls_certificates& operator=(const tls_certificates&) = delete;

    ~tls_certificates() {
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
    }

private:
    static constexpr const char* config = R"(
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
[ca]
default_ca = test_ca
[test_ca]
database = index.txt
serial = serial.txt
new_certs_dir = .
default_md = sha256
policy = any_policy
copy_extensions = none
unique_subject = no
[any_policy]
commonName = supplied
)";

    [[nodiscard]] std::string path(const char* name) const { return dir + "/" + name; }

    void write(const char* name, const char* text) const {
        std::ofstream out(path(name));
        out << text;
        if (!out) {
            throw std::runtime_error(std::string("tls_support: cannot write ") + path(name));
        }
    }

    void run(const std::string& command) const {
        const std::string line = "cd '" + dir + "' && " + command + " >>openssl.log 2>&1";
        if (std::system(line.c_str()) != 0) {
            std::ifstream log(path("openssl.log"));
            std::stringstream text;
            text << log.rdbuf();
            throw std::runtime_error("tls_support: failed: " + command + "\n" + text.str());
        }
    }
};

/// The certificates, generated on first use (once per test binary).
inline const tls_certificates& tls_certs() {
    static const tls_certificates certs;
    return certs;
}

}  // namespace corio_test
