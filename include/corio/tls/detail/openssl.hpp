#pragma once

// The OpenSSL pieces corio::tls shares: error-queue text and owning handles.
// Only corio/tls/ and corio/detail/tls_* include this (it needs corio::tls,
// i.e. OpenSSL, on the include and link path).

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

namespace corio::detail {

/// Empties OpenSSL's (thread-local) error queue into one line, entries
/// separated by "; ". Empty when the queue was empty.
inline std::string take_openssl_errors() {
    std::string text;
    for (;;) {
        const unsigned long code = ERR_get_error();
        if (code == 0) {
            return text;
        }
        char buffer[256];
        ERR_error_string_n(code, buffer, sizeof buffer);
        if (!text.empty()) {
            text += "; ";
        }
        text += buffer;
    }
}

struct ssl_ctx_deleter {
    void operator()(SSL_CTX* ctx) const noexcept { SSL_CTX_free(ctx); }
};

struct ssl_deleter {
    void operator()(SSL* ssl) const noexcept { SSL_free(ssl); }
};

using ssl_ptr = std::unique_ptr<SSL, ssl_deleter>;

/// Whether `host` is an IPv4 or IPv6 literal (without brackets), as OpenSSL
/// parses them for X509_VERIFY_PARAM_set1_ip_asc.
inline bool is_ip_literal(const std::string& host) {
    ASN1_OCTET_STRING* parsed = a2i_IPADDRESS(host.c_str());
    if (parsed == nullptr) {
        ERR_clear_error();
        return false;
    }
    ASN1_OCTET_STRING_free(parsed);
    return true;
}

}  // namespace corio::detail
