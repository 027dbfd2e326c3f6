#pragma once

#include <corio/tls/detail/openssl.hpp>
#include <corio/tls/errors.hpp>

#include <memory>
#include <string>
#include <utility>

namespace corio::tls {

/// Options of context::client().
struct client_options {
    /// Verify the server's certificate chain and that it names the host
    /// (Python's CERT_REQUIRED + check_hostname). Off accepts any certificate:
    /// for tests only.
    bool verify_peer = true;
    /// A PEM file of CA certificates to trust instead of the system store
    /// (Python's cafile=). Empty: the system store (SSL_CTX_set_default_verify_paths).
    std::string ca_file{};
};

/// TLS configuration shared by many connections (an OpenSSL SSL_CTX): the
/// ssl.SSLContext of Python. Copying is cheap: copies share one reference-
/// counted SSL_CTX, which OpenSSL lets several threads (several loops) use at
/// once. TLS 1.2 is the minimum version; renegotiation and compression are off.
class context {
public:
    /// An empty context (connect/accept refuse it); assign one made by
    /// client() or server().
    context() noexcept = default;

    /// A client context. With verify_peer (the default) the server's chain
    /// must lead to a trusted CA (the system store, or only `ca_file` when
    /// given) and name the host passed to connect(). Throws tls_error when
    /// ca_file cannot be loaded.
    [[nodiscard]] static context client(client_options options) {
        context result(make_ctx(TLS_client_method(), "client"), false, options.verify_peer);
        SSL_CTX* ctx = result.native_handle();
        if (options.verify_peer) {
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
            if (!options.ca_file.empty()) {
                if (SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr) != 1) {
                    fail("cannot load CA file '" + options.ca_file + "'");
                }
            } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
                fail("cannot load the system CA store");
            }
        } else {
            SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
        }
        return result;
    }

    /// A client context with the default options (verification against the
    /// system store). An overload rather than a default argument: g++ 12
    /// destroys a default argument's temporary twice when the call is part of
    /// a co_await expression.
    [[nodiscard]] static context client() { return client(client_options{}); }

    /// A server context presenting `cert_chain_file` (PEM: the certificate,
    /// then any intermediates) with `private_key_file` (PEM). Throws
    /// tls_error naming the file when one is missing or unreadable, or when
    /// the key does not match the certificate.
    [[nodiscard]] static context server(std::string cert_chain_file, std::string private_key_file) {
        context result(make_ctx(TLS_server_method(), "server"), true, false);
        SSL_CTX* ctx = result.native_handle();
        if (SSL_CTX_use_certificate_chain_file(ctx, cert_chain_file.c_str()) != 1) {
            fail("cannot load certificate chain '" + cert_chain_file + "'");
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, private_key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
            fail("cannot load private key '" + private_key_file + "'");
        }
        if (SSL_CTX_check_private_key(ctx) != 1) {
            fail("private key '" + private_key_file + "' does not match certificate '" +
                 cert_chain_file + "'");
        }
        return result;
    }

    /// False for a default-constructed context.
    [[nodiscard]] explicit operator bool() const noexcept { return m_ctx != nullptr; }
    /// Whether this context accepts (server()) rather than connects (client()).
    [[nodiscard]] bool is_server() const noexcept { return m_server; }
    /// Whether a client context verifies the peer (client_options::verify_peer).
    [[nodiscard]] bool verify_peer() const noexcept { return m_verify_peer; }
    /// The SSL_CTX, for settings corio does not wrap (ciphers, ALPN, session
    /// cache); change it before the first connection uses it.
    [[nodiscard]] SSL_CTX* native_handle() const noexcept { return m_ctx.get(); }

private:
    context(std::shared_ptr<SSL_CTX> ctx, bool server, bool verify_peer) noexcept
        : m_ctx(std::move(ctx)), m_server(server), m_verify_peer(verify_peer) {}

    [[noreturn]] static void fail(const std::string& what) {
        std::string errors = detail::take_openssl_errors();
        throw tls_error("corio::tls context: " + what +
                        (errors.empty() ? std::string() : ": " + errors));
    }

    static std::shared_ptr<SSL_CTX> make_ctx(const SSL_METHOD* method, const char* kind) {
        ERR_clear_error();
        std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(method), detail::ssl_ctx_deleter{});
        if (!ctx) {
            fail(std::string("cannot create a ") + kind + " SSL_CTX");
        }
        if (SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION) != 1) {
            fail("cannot set TLS 1.2 as the minimum version");
        }
        // Renegotiation would let a read need a write and the reverse, in the
        // middle of the stream; HTTP/1.1 over TLS does not need it.
        SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
        return ctx;
    }

    std::shared_ptr<SSL_CTX> m_ctx;
    bool m_server = false;
    bool m_verify_peer = false;
};

}  // namespace corio::tls
