// A throwaway PostgreSQL server for the pg tests: started once per test
// executable on first use (initdb + pg_ctl on a temporary directory, a free
// loopback port, fsync off), stopped with `pg_ctl -m immediate` at exit.
// As root the server runs as the `postgres` user (runuser); otherwise as the
// caller. One role, `corio_scram`, must log in with a SCRAM password (its
// pg_hba line comes first), for the authentication tests.
//
// pg_server::get_tls() is a second kind of server, with `ssl = on` and the
// test certificate for `localhost` and 127.0.0.1 (tls_support.hpp; its CA is
// ca_file(), other_ca_file() a CA that signed nothing). Its role `corio_tls`
// may log in over TLS only (hostssl, then a rejecting host line).
//
//   const corio_test::pg_server* server = corio_test::pg_server::get();
//   if (server == nullptr) { corio_test::skip_test(corio_test::pg_server::missing()); return; }
//   server->dsn()
#pragma once

#include "test_support.hpp"
#include "tls_support.hpp"

#include <netinet/in.h>
#include <signal.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>

namespace corio_test {

class pg_server {
public:
    static constexpr const char* scram_user = "corio_scram";
    static constexpr const char* scram_password = "s3cret-pw";
    static constexpr const char* tls_user = "corio_tls";

    /// The running server, started on first call; null when PostgreSQL is not
    /// installed or would not start (the reason is in missing()).
    static const pg_server* get() {
        static std::unique_ptr<pg_server> server = start(false);
        return server.get();
    }
    /// The server with TLS on (see the top of this file), started on first call;
    /// null when PostgreSQL or openssl is not installed (the reason is in missing()).
    static const pg_server* get_tls() {
        static std::unique_ptr<pg_server> server = start(true);
        return server.get();
    }
    static const std::string& missing() { return reason(); }

    [[nodiscard]] std::string dsn(const std::string& user = "corio", const std::string& password = "") const {
        return "postgresql://" + user + (password.empty() ? "" : ":" + password) + "@127.0.0.1:" +
               std::to_string(m_port) + "/postgres";
    }
    [[nodiscard]] int port() const noexcept { return m_port; }
    [[nodiscard]] const std::string& directory() const noexcept { return m_dir; }
    /// The CA that signed the TLS server's certificate (get_tls() servers).
    [[nodiscard]] static std::string ca_file() { return tls_certs().ca; }
    /// A CA that signed nothing the server has.
    [[nodiscard]] static std::string other_ca_file() { return tls_certs().other_ca; }

    /// Restarts the server (every connection is dropped): `pg_ctl restart -m immediate`.
    bool restart() const {
        return run(ctl("restart -m immediate -w"));
    }

    ~pg_server() {
        run(bin("pg_ctl") + " -D " + m_dir + "/data -m immediate stop > /dev/null 2>&1");
        std::error_code ignored;
        std::filesystem::remove_all(m_dir, ignored);
    }

private:
    static std::string& reason() {
        static std::string text = "PostgreSQL not installed: apt-get install postgresql";
        return text;
    }

    static std::string bin_dir() {
        for (const char* version : {"17", "16", "15", "14"}) {
            std::string dir = std::string("/usr/lib/postgresql/") + version + "/bin";
            if (::access((dir + "/initdb").c_str(), X_OK) == 0 && ::access((dir + "/pg_ctl").c_str(), X_OK) == 0) {
                return dir;
            }
        }
        return {};
    }

    std::string bin(const char* program) const { return m_prefix + m_bin_dir + "/" + program; }

    std::string ctl(const std::string& action) const {
        return bin("pg_ctl") + " -D " + m_dir + "/data -l " + m_dir + "/log -o \"-p " + std::to_string(m_port) +
               " -c listen_addresses=127.0.0.1 -k " + m_dir + " -c fsync=off -c synchronous_commit=off" +
               " -c full_page_writes=off" + m_server_options + "\" " + action + " > /dev/null 2>&1";
    }

    static bool run(const std::string& command) { return std::system(command.c_str()) == 0; }

    static int free_port() {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address;
        int port = 0;
        if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
            port = ntohs(address.sin_port);
        }
        ::close(fd);
        return port;
    }

    // A test process that crashed never ran the destructor: stop the servers
    // whose owner (the pid in their `owner` file) is gone.
    static void stop_orphans(const std::string& bin_dir, const std::string& prefix) {
        std::error_code ignored;
        for (const auto& entry : std::filesystem::directory_iterator("/tmp", ignored)) {
            const std::string dir = entry.path().string();
            if (dir.rfind("/tmp/corio-pg-", 0) != 0) {
                continue;
            }
            std::ifstream owner_file(dir + "/owner");
            long owner = 0;
            if (!(owner_file >> owner) || owner <= 0 || ::kill(static_cast<pid_t>(owner), 0) == 0) {
                continue;
            }
            run(prefix + bin_dir + "/pg_ctl -D " + dir + "/data -m immediate stop > /dev/null 2>&1");
            std::filesystem::remove_all(dir, ignored);
        }
    }

    // The test certificates (tls_support.hpp) for the server: its copies in
    // <dir>/tls belong to the server's user, the key with mode 0600 (the
    // server refuses a key others may read).
    bool install_certificates() const {
        const tls_certificates* made = nullptr;
        try {
            made = &tls_certs();
        } catch (const std::exception&) {
            return false;  // openssl failed
        }
        const tls_certificates& certs = *made;
        const std::string tls = m_dir + "/tls";
        std::error_code error;
        std::filesystem::create_directory(tls, error);
        std::filesystem::copy_file(certs.server_cert, tls + "/server.crt", error);
        if (!error) {
            std::filesystem::copy_file(certs.server_key, tls + "/server.key", error);
        }
        if (error || ::chmod(tls.c_str(), 0700) != 0 || ::chmod((tls + "/server.key").c_str(), 0600) != 0) {
            return false;
        }
        if (::geteuid() == 0) {
            const passwd* postgres = ::getpwnam("postgres");
            for (const char* name : {"", "/server.crt", "/server.key"}) {
                if (postgres == nullptr || ::chown((tls + name).c_str(), postgres->pw_uid, postgres->pw_gid) != 0) {
                    return false;
                }
            }
        }
        return true;
    }

    static bool have_openssl() { return run("command -v openssl > /dev/null 2>&1"); }

    static std::unique_ptr<pg_server> start(bool tls) {
        auto server = std::unique_ptr<pg_server>(new pg_server());
        server->m_bin_dir = bin_dir();
        if (server->m_bin_dir.empty()) {
            return nullptr;
        }
        if (tls && !have_openssl()) {
            reason() = "openssl not installed (the TLS test server's certificates): apt-get install openssl";
            return nullptr;
        }
        stop_orphans(server->m_bin_dir, ::geteuid() == 0 ? "runuser -u postgres -- " : "");
        char pattern[] = "/tmp/corio-pg-XXXXXX";
        if (::mkdtemp(pattern) == nullptr) {
            reason() = "PostgreSQL test server: cannot create a temporary directory";
            return nullptr;
        }
        server->m_dir = pattern;
        std::ofstream(server->m_dir + "/owner") << ::getpid() << "\n";
        if (::geteuid() == 0) {
            const passwd* postgres = ::getpwnam("postgres");
            if (postgres == nullptr || ::chown(pattern, postgres->pw_uid, postgres->pw_gid) != 0) {
                reason() = "PostgreSQL test server: no `postgres` user to run it as (apt-get install postgresql)";
                std::filesystem::remove_all(server->m_dir);
                return nullptr;
            }
            server->m_prefix = "runuser -u postgres -- ";
        }
        server->m_port = free_port();
        const std::string data = server->m_dir + "/data";
        if (!run(server->bin("initdb") + " -D " + data + " -U corio -A trust --no-sync -E UTF8 --locale=C" +
                 " > " + server->m_dir + "/initdb.log 2>&1")) {
            reason() = "PostgreSQL test server: initdb failed (see " + server->m_dir + "/initdb.log)";
            return nullptr;
        }
        {
            // The SCRAM role's line first: it wins over initdb's `trust` lines.
            // The TLS role (TLS servers): over TLS it matches hostssl, else it is rejected.
            const std::string hba = data + "/pg_hba.conf";
            std::ifstream in(hba);
            std::stringstream rest;
            rest << in.rdbuf();
            in.close();
            std::ofstream out(hba, std::ios::trunc);
            out << "host all " << scram_user << " 127.0.0.1/32 scram-sha-256\n";
            if (tls) {
                out << "hostssl all " << tls_user << " 127.0.0.1/32 trust\n";
                out << "host all " << tls_user << " 127.0.0.1/32 reject\n";
            }
            out << rest.str();
        }
        if (tls) {
            if (!server->install_certificates()) {
                reason() = "PostgreSQL test server: cannot install its certificates in " + server->m_dir + "/tls";
                return nullptr;
            }
            const std::string certificates = server->m_dir + "/tls";
            server->m_server_options = " -c ssl=on -c ssl_cert_file=" + certificates +
                                       "/server.crt -c ssl_key_file=" + certificates + "/server.key";
        }
        if (!run(server->ctl("-w start"))) {
            reason() = "PostgreSQL test server: pg_ctl start failed (see " + server->m_dir + "/log)";
            return nullptr;
        }
        const std::string psql = server->bin("psql") + " -h 127.0.0.1 -p " + std::to_string(server->m_port) +
                                 " -U corio -d postgres -q -c ";
        run(psql + "\"CREATE ROLE " + scram_user + " LOGIN PASSWORD '" + scram_password + "'\" > /dev/null 2>&1");
        if (tls) {
            run(psql + "\"CREATE ROLE " + tls_user + " LOGIN\" > /dev/null 2>&1");
        }
        return server;
    }

    pg_server() = default;

    std::string m_bin_dir;
    std::string m_prefix;  // runs a program as `postgres` when we are root
    std::string m_dir;
    std::string m_server_options;  // more `-c` settings for the server (TLS)
    int m_port = 0;
};

/// The plain test server (`tls` false) or the TLS one, or null after marking
/// the running test skipped with the reason (see pg_server::missing()).
inline const pg_server* pg_server_or_skip(bool tls = false) {
    const pg_server* server = tls ? pg_server::get_tls() : pg_server::get();
    if (server == nullptr) {
        skip_test(pg_server::missing());
    }
    return server;
}

/// run_with_watchdog with the pg tests' 20 s bound (a server may be slow to
/// answer its first connection).
template <class T>
T run_pg(corio::task<T> t) {
    return run_with_watchdog(std::move(t), std::chrono::seconds(20));
}

}  // namespace corio_test
