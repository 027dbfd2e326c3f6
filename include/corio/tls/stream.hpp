#pragma once

#include <corio/detail/config.hpp>
#include <corio/net/byte_stream.hpp>
#include <corio/net/errors.hpp>
#include <corio/net/read_buffer.hpp>
#include <corio/net/stream.hpp>
#include <corio/net/stream_algorithms.hpp>
#include <corio/net/tcp.hpp>
#include <corio/task.hpp>
#include <corio/tls/context.hpp>
#include <corio/tls/detail/channel.hpp>
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

/// A TLS connection over a byte stream `Next` (Python's SSLSocket in an
/// asyncio stream): TCP by default, or any corio::byte_stream — a Unix
/// domain stream, an in-memory pipe in tests, even another TLS stream. Made
/// by tls::connect, tls::accept or tls::open_connection, already past the
/// handshake. Move-only, like the stream it wraps, and a byte_stream itself.
///
/// OpenSSL only transforms bytes (detail::tls_engine) and the next layer
/// moves every one of them, so readiness waits, cancellation, wait_for
/// timeouts and close() behave as on the next layer.
///
/// Concurrency: one reader and writers may be pending at once (a task
/// reading while another writes a request body works); writes from several
/// tasks are queued and each is sent whole, in order. A second concurrent
/// read throws std::logic_error. Not thread-safe: use it on the loop that
/// made it.
///
/// Buffered reads: read, read_exactly and read_until are corio's free
/// algorithms on the stream's own read_buffer, which read_some serves first,
/// so bytes read_until read past its delimiter come back from the next read.
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
/// for protocol failures, the next layer's errors (std::system_error from a
/// socket), and corio::stream_closed for an operation pending when close()
/// is called or started after it (or on an empty, moved-from stream).
template <byte_stream Next = tcp_stream>
class stream {
public:
    /// The stream the TLS records travel over.
    using next_layer_type = Next;

    /// Default read size of read() (64 KiB).
    static constexpr std::size_t default_chunk = default_read_size;

    /// An empty stream (is_open() false). Move-only. Destroying a stream
    /// closes the next layer without close_notify (call shutdown() first for
    /// a clean end); do not destroy it while one of its operations is pending
    /// (close() it first; the operation then throws).
    stream() noexcept = default;

    /// Adopts a channel that finished its handshake (used by connect/accept).
    explicit stream(std::unique_ptr<detail::tls_channel<Next>> channel) noexcept : m_channel(std::move(channel)) {}

    /// True while the layer underneath is open (shutdown() does not change it; close() does).
    [[nodiscard]] bool is_open() const noexcept { return m_channel && m_channel->is_open(); }

    /// Reads decrypted bytes, up to buffer.size(), waiting until at least one
    /// arrives. Returns 0 at end of stream (see the class comment).
    [[nodiscard]] task<std::size_t> read_some(std::span<std::byte> buffer) {
        return channel("read").read(buffer, true);
    }

    /// Reads up to n decrypted bytes (at least one unless at end of stream):
    /// "" at end of stream. See corio::read.
    [[nodiscard]] task<std::string> read(std::size_t n = default_chunk) {
        detail::tls_channel<Next>& c = channel("read");
        return detail::read_with(unbuffered_reader{&c}, c.buffer(), n);
    }

    /// Reads exactly n decrypted bytes; corio::incomplete_read (carrying what
    /// arrived) when the stream ends first. See corio::read_exactly.
    [[nodiscard]] task<std::string> read_exactly(std::size_t n) {
        detail::tls_channel<Next>& c = channel("read");
        return detail::read_exactly_with(unbuffered_reader{&c}, c.buffer(), n);
    }

    /// Reads up to and including the first `delimiter`; what it read past it
    /// stays buffered for the next read. Throws corio::limit_overrun past
    /// `max` bytes and corio::incomplete_read at the end of stream. See
    /// corio::read_until.
    [[nodiscard]] task<std::string> read_until(std::string delimiter = "\n", std::size_t max = default_chunk) {
        detail::tls_channel<Next>& c = channel("read");
        return detail::read_until_with(unbuffered_reader{&c}, c.buffer(), std::move(delimiter), max);
    }

    /// Encrypts and writes all of `bytes`, resuming once they are handed to
    /// the next layer. The bytes must stay alive until the co_await completes.
    [[nodiscard]] task<void> write(std::span<const std::byte> bytes) { return channel("write").write(bytes); }
    /// The same for text or binary bytes in a string.
    [[nodiscard]] task<void> write(std::string_view bytes) {
        return write(std::as_bytes(std::span<const char>(bytes.data(), bytes.size())));
    }
    /// Writes a NUL-terminated string, without the NUL.
    [[nodiscard]] task<void> write(const char* text) { return write(std::string_view(text)); }

    /// Sends close_notify (after writes already queued) and returns without
    /// waiting for the peer's; reading stays possible until the peer's
    /// close_notify makes read_some return 0. Later writes throw tls_error.
    /// Idempotent. Does not close the next layer (close() or the destructor does).
    [[nodiscard]] task<void> shutdown() { return channel("shutdown").shutdown(); }

    /// The byte_stream spelling of shutdown(): ends the sending direction
    /// with close_notify.
    [[nodiscard]] task<void> shutdown_write() { return shutdown(); }

    /// Closes the next layer: a pending read or write throws (corio's
    /// streams: corio::stream_closed). No close_notify is sent (see
    /// shutdown()). Idempotent.
    void close() noexcept {
        if (m_channel) {
            m_channel->close();
        }
    }

    /// The stream underneath (addresses, socket options). Reading or writing
    /// it directly corrupts the TLS stream.
    [[nodiscard]] Next& next_layer() { return channel("next_layer").next_layer(); }

    /// Client: the server name passed to connect (brackets and trailing dot
    /// removed). Server: the SNI name the client sent, or "" when it sent none.
    [[nodiscard]] std::string_view server_name() const noexcept {
        return m_channel ? std::string_view(m_channel->engine().server_name()) : std::string_view();
    }

    /// Whether the end of stream came with the peer's close_notify.
    [[nodiscard]] bool received_close_notify() const noexcept {
        return m_channel && m_channel->engine().received_close_notify();
    }

    /// The negotiated protocol ("TLSv1.3", "TLSv1.2"); "" for an empty stream.
    [[nodiscard]] std::string_view protocol() const noexcept {
        return m_channel ? std::string_view(SSL_get_version(m_channel->engine().ssl())) : std::string_view();
    }

    /// The OpenSSL connection, for what corio does not wrap (peer
    /// certificate, cipher); nullptr for an empty stream. Do not read or
    /// write through it.
    [[nodiscard]] SSL* native_handle() const noexcept { return m_channel ? m_channel->engine().ssl() : nullptr; }

    /// Whether bytes the peer sent are waiting here, unread: plaintext read
    /// ahead by read_until, or a record (or part of one) already taken from
    /// the next layer. Bytes still in the next layer (the socket) are not
    /// counted.
    [[nodiscard]] bool input_pending() const noexcept {
        return m_channel && (!m_channel->buffer().empty() || m_channel->engine().input_pending());
    }

    /// Decrypted bytes read ahead by read_until and not returned yet.
    [[nodiscard]] std::size_t buffered() const noexcept { return m_channel ? m_channel->buffer().size() : 0; }

private:
    // The engine's reads without the read buffer in front: what the buffered
    // algorithms read from when that buffer is the one they fill.
    struct unbuffered_reader {
        detail::tls_channel<Next>* owner;
        [[nodiscard]] task<std::size_t> read_some(std::span<std::byte> into) const {
            return owner->read(into, false);
        }
    };

    detail::tls_channel<Next>& channel(const char* op) const {
        if (!m_channel) {
            throw stream_closed(std::string("corio::tls::stream ") + op);
        }
        return *m_channel;
    }

    // On the heap: the channel holds a mutex and pending operations point
    // into it, so a moved stream must not move it.
    std::unique_ptr<detail::tls_channel<Next>> m_channel;
};

static_assert(byte_stream<stream<>>);

/// Runs a client handshake over `next` (Python's wrap_socket with
/// server_hostname) and returns the TLS stream; `next` is any byte_stream,
/// a tcp_stream most often.
///
/// `server_name` is sent as SNI (unless it is an IP literal) and, with
/// verify_peer, the certificate must name it (a DNS name, or an IPv4/IPv6
/// literal matched against the certificate's IP addresses; "[::1]" is
/// accepted). Throws certificate_error when verification fails (untrusted,
/// expired, wrong host), tls_error for other handshake failures and when the
/// peer closes during the handshake, std::invalid_argument for a server
/// context or an empty name with verify_peer, the next layer's errors
/// (std::system_error from a socket). Resumes on the calling loop.
/// Cancelling (or a wait_for timeout) stops the handshake and closes `next`.
template <byte_stream Next>
[[nodiscard]] CORIO_HEADER_COROUTINE task<stream<Next>> connect(Next next, context ctx, std::string server_name) {
    if (!ctx || ctx.is_server()) {
        throw std::invalid_argument("corio::tls::connect needs a context made by tls::context::client()");
    }
    auto channel = std::make_unique<detail::tls_channel<Next>>(std::move(next), ctx.native_handle(), false);
    channel->engine().configure_client(std::move(server_name), ctx.verify_peer());
    co_await channel->handshake();
    co_return stream<Next>(std::move(channel));
}

/// Runs a server handshake over an accepted `next` (any byte_stream) and
/// returns the TLS stream (server_name() gives the client's SNI). Throws
/// tls_error when the client aborts (for example rejecting the certificate:
/// "tlsv1 alert unknown ca"), sends something that is not TLS, or closes
/// during the handshake; std::invalid_argument for a client context; the
/// next layer's errors. Cancelling (or a wait_for timeout, the way to bound
/// a slow client) stops the handshake and closes `next`.
template <byte_stream Next>
[[nodiscard]] CORIO_HEADER_COROUTINE task<stream<Next>> accept(Next next, context ctx) {
    if (!ctx || !ctx.is_server()) {
        throw std::invalid_argument("corio::tls::accept needs a context made by tls::context::server()");
    }
    auto channel = std::make_unique<detail::tls_channel<Next>>(std::move(next), ctx.native_handle(), true);
    co_await channel->handshake();
    co_return stream<Next>(std::move(channel));
}

/// Opens a TCP connection to host:port (corio::open_connection) and runs the
/// client handshake with `host` as the server name (tls::connect). Throws
/// what either throws.
[[nodiscard]] CORIO_HEADER_COROUTINE inline task<stream<>> open_connection(std::string host, std::uint16_t port,
                                                                           context ctx) {
    tcp_stream socket = co_await corio::open_connection(host, port);
    co_return co_await connect(std::move(socket), std::move(ctx), std::move(host));
}

}  // namespace corio::tls
