#pragma once

#include <corio/detail/config.hpp>
#include <corio/tls/detail/engine.hpp>
#include <corio/net/errors.hpp>
#include <corio/net/stream.hpp>
#include <corio/net/tcp.hpp>
#include <corio/task.hpp>
#include <corio/tls/context.hpp>
#include <corio/tls/errors.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace corio::tls {

/// A TLS connection over a corio::tcp_stream (Python's SSLSocket in an
/// asyncio stream): made by tls::connect, tls::accept or
/// tls::open_connection, already past the handshake. Move-only, like
/// tcp_stream.
///
/// OpenSSL works on memory buffers and corio's tcp_stream moves every byte,
/// so readiness waits, cancellation, wait_for timeouts and close() behave as
/// on a plain tcp_stream.
///
/// Concurrency: one reader and writers may be pending at once (a task
/// reading while another writes a request body works); writes from several
/// tasks are queued and each is sent whole, in order. A second concurrent
/// read throws std::logic_error. Not thread-safe: use it on the loop that
/// made it.
///
/// End of stream: read_some returns 0 after the peer's close_notify
/// (received_close_notify() is then true), and also when the connection ends
/// between two records without one (received_close_notify() false) — many
/// servers close that way, and a protocol that frames its messages (HTTP's
/// Content-Length / chunked) detects a truncated message itself. A
/// connection that ends inside a record throws tls_error.
///
/// Cancellation: a cancelled read throws cancelled_error and loses nothing
/// (the stream stays usable). A cancelled write throws cancelled_error; part
/// of a record may have been sent, so later writes and shutdown() throw
/// tls_error (reading still works). Errors: tls_error (with OpenSSL's text)
/// for protocol failures, std::system_error from the socket, and
/// corio::stream_closed for an operation pending when close() is called or
/// started after it (or on an empty, moved-from stream).
class stream {
public:
    /// Default read size of read() (64 KiB).
    static constexpr std::size_t default_chunk = 64 * 1024;

    /// An empty stream (is_open() false).
    stream() noexcept = default;
    stream(stream&&) noexcept = default;
    stream& operator=(stream&&) noexcept = default;
    stream(const stream&) = delete;
    stream& operator=(const stream&) = delete;
    /// Closes the socket without close_notify (call shutdown() first for a
    /// clean end). Do not destroy a stream while one of its operations is
    /// pending (close() it first; the operation then throws).
    ~stream() = default;

    /// Adopts an engine that finished its handshake (used by connect/accept).
    explicit stream(std::unique_ptr<detail::tls_engine> engine) noexcept
        : m_engine(std::move(engine)) {}

    [[nodiscard]] bool is_open() const noexcept { return m_engine && m_engine->socket().is_open(); }

    /// Reads decrypted bytes, up to buffer.size(), waiting until at least one
    /// arrives. Returns 0 at end of stream (see the class comment).
    [[nodiscard]] task<std::size_t> read_some(std::span<std::byte> buffer) {
        return engine("read").read_some(buffer);
    }

    /// Reads up to n decrypted bytes (at least one unless at end of stream):
    /// "" at end of stream.
    [[nodiscard]] task<std::string> read(std::size_t n = default_chunk) {
        return read_into_string(engine("read"), n);
    }

    /// Encrypts and writes all of `bytes`, resuming once they are handed to
    /// the socket. The bytes must stay alive until the co_await completes.
    [[nodiscard]] task<void> write(std::span<const std::byte> bytes) {
        return engine("write").write(bytes);
    }
    [[nodiscard]] task<void> write(std::string_view bytes) {
        return write(std::as_bytes(std::span<const char>(bytes.data(), bytes.size())));
    }
    [[nodiscard]] task<void> write(const char* text) { return write(std::string_view(text)); }

    /// Sends close_notify (after writes already queued) and returns without
    /// waiting for the peer's; reading stays possible until the peer's
    /// close_notify makes read_some return 0. Later writes throw tls_error.
    /// Idempotent. Does not close the socket (close() or the destructor does).
    [[nodiscard]] task<void> shutdown() { return engine("shutdown").shutdown(); }

    /// Closes the socket: a pending read or write throws corio::stream_closed.
    /// No close_notify is sent (see shutdown()). Idempotent.
    void close() noexcept {
        if (m_engine) {
            m_engine->socket().close();
        }
    }

    /// The TCP stream underneath (addresses, socket options). Reading or
    /// writing it directly corrupts the TLS stream.
    [[nodiscard]] tcp_stream& next_layer() { return engine("next_layer").socket(); }

    /// Client: the server name passed to connect (brackets and trailing dot
    /// removed). Server: the SNI name the client sent, or "" when it sent none.
    [[nodiscard]] std::string_view server_name() const noexcept {
        return m_engine ? std::string_view(m_engine->server_name()) : std::string_view();
    }

    /// Whether the end of stream came with the peer's close_notify.
    [[nodiscard]] bool received_close_notify() const noexcept {
        return m_engine && m_engine->received_close_notify();
    }

    /// The negotiated protocol ("TLSv1.3", "TLSv1.2"); "" for an empty stream.
    [[nodiscard]] std::string_view protocol() const noexcept {
        return m_engine ? std::string_view(SSL_get_version(m_engine->ssl())) : std::string_view();
    }

    /// The OpenSSL connection, for what corio does not wrap (peer
    /// certificate, cipher); nullptr for an empty stream. Do not read or
    /// write through it.
    [[nodiscard]] SSL* native_handle() const noexcept {
        return m_engine ? m_engine->ssl() : nullptr;
    }

private:
    detail::tls_engine& engine(const char* op) const {
        if (!m_engine) {
            throw stream_closed(std::string("corio::tls::stream ") + op);
        }
        return *m_engine;
    }

    static CORIO_HEADER_COROUTINE task<std::string> read_into_string(detail::tls_engine& engine,
                                                                     std::size_t n) {
        std::string result;
        if (n == 0) {
            co_return result;
        }
        result.resize(n);
        const std::size_t count =
            co_await engine.read_some(std::as_writable_bytes(std::span<char>(result)));
        result.resize(count);
        co_return result;
    }

    // On the heap: the engine holds a mutex and pending operations point
    // into it, so a moved stream must not move it.
    std::unique_ptr<detail::tls_engine> m_engine;
};

/// Runs a client handshake over `socket` (Python's wrap_socket with
/// server_hostname) and returns the TLS stream.
///
/// `server_name` is sent as SNI (unless it is an IP literal) and, with
/// verify_peer, the certificate must name it (a DNS name, or an IPv4/IPv6
/// literal matched against the certificate's IP addresses; "[::1]" is
/// accepted). Throws certificate_error when verification fails (untrusted,
/// expired, wrong host), tls_error for other handshake failures and when the
/// peer closes during the handshake, std::invalid_argument for a server
/// context or an empty name with verify_peer, std::system_error from the
/// socket. Resumes on the calling loop. Cancelling (or a wait_for timeout)
/// stops the handshake and closes the socket.
[[nodiscard]] CORIO_HEADER_COROUTINE inline task<stream> connect(tcp_stream socket, context ctx,
                                                                 std::string server_name) {
    if (!ctx || ctx.is_server()) {
        throw std::invalid_argument(
            "corio::tls::connect needs a context made by tls::context::client()");
    }
    auto engine =
        std::make_unique<detail::tls_engine>(std::move(socket), ctx.native_handle(), false);
    engine->configure_client(std::move(server_name), ctx.verify_peer());
    co_await engine->handshake();
    co_return stream(std::move(engine));
}

/// Runs a server handshake over an accepted `socket` and returns the TLS
/// stream (server_name() gives the client's SNI). Throws tls_error when the
/// client aborts (for example rejecting the certificate: "tlsv1 alert unknown
/// ca"), sends something that is not TLS, or closes during the handshake;
/// std::invalid_argument for a client context; std::system_error from the
/// socket. Cancelling (or a wait_for timeout, the way to bound a slow client)
/// stops the handshake and closes the socket.
[[nodiscard]] CORIO_HEADER_COROUTINE inline task<stream> accept(tcp_stream socket, context ctx) {
    if (!ctx || !ctx.is_server()) {
        throw std::invalid_argument(
            "corio::tls::accept needs a context made by tls::context::server()");
    }
    auto engine =
        std::make_unique<detail::tls_engine>(std::move(socket), ctx.native_handle(), true);
    co_await engine->handshake();
    co_return stream(std::move(engine));
}

/// Opens a TCP connection to host:port (corio::open_connection) and runs the
/// client handshake with `host` as the server name (tls::connect). Throws
/// what either throws.
[[nodiscard]] CORIO_HEADER_COROUTINE inline task<stream> open_connection(std::string host,
                                                                         std::uint16_t port,
                                                                         context ctx) {
    tcp_stream socket = co_await corio::open_connection(host, port);
    co_return co_await connect(std::move(socket), std::move(ctx), std::move(host));
}

}  // namespace corio::tls
