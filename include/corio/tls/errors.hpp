#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace corio::tls {

/// A TLS failure: a context that cannot be built (missing or mismatched
/// certificate or key file), a handshake the peer aborted or that broke the
/// protocol, a corrupt or truncated record. what() names the operation and
/// the peer and carries OpenSSL's error text ("TLS handshake with
/// 127.0.0.1:4433: error:0A00010B:SSL routines::wrong version number").
/// OS errors on the socket underneath stay std::system_error (see
/// corio::tcp_stream).
class tls_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The peer's certificate did not verify: an untrusted or expired chain, or a
/// certificate that does not name the host asked for. what() carries OpenSSL's
/// verification text (X509_verify_cert_error_string) and the host.
class certificate_error : public tls_error {
public:
    /// `what` is the message what() returns; `host` the name checked; `verify_result` OpenSSL's
    /// X509_V_ERR_* code.
    certificate_error(const std::string& what, std::string host, long verify_result)
        : tls_error(what), m_host(std::move(host)), m_verify_result(verify_result) {}

    /// The name (or IP literal) the certificate was checked against.
    [[nodiscard]] const std::string& host() const noexcept { return m_host; }
    /// OpenSSL's verification result (an X509_V_ERR_* code).
    [[nodiscard]] long verify_result() const noexcept { return m_verify_result; }

private:
    std::string m_host;
    long m_verify_result;
};

}  // namespace corio::tls
