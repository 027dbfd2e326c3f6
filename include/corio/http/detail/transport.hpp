#pragma once

// The byte stream an HTTP client connection runs over: plain TCP, or TLS over
// TCP when corio::tls is available. A closed set of two, so a variant held by
// value in the connection (no heap object, no virtual call per read) rather
// than an interface; it is itself a corio::byte_stream, so the HTTP code
// above it reads and writes one stream type whichever carries the bytes.

#include <corio/detail/config.hpp>
#include <corio/net/byte_stream.hpp>
#include <corio/net/detail/socket.hpp>
#include <corio/net/detail/socket_source.hpp>
#include <corio/net/stream.hpp>
#include <corio/task.hpp>

#if defined(CORIO_WITH_TLS) && __has_include(<corio/tls.hpp>)
#include <corio/tls.hpp>
#define CORIO_HTTP_HAS_TLS 1
#endif

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace corio::detail {

#if defined(CORIO_HTTP_HAS_TLS)
/// The TLS stream type of https connections: the only place the HTTP client
/// names it.
using http_tls_stream = tls::stream<>;
#endif

/// One HTTP connection's stream, client or server side: a tcp_stream (http)
/// or an http_tls_stream (https). Each member forwards to the stream it holds; read_some and write
/// return that stream's own task, so no coroutine frame is added per call.
/// Loop thread only; one reader and one writer at a time (HTTP/1.1 without
/// pipelining never has more).
class http_connection_stream {
public:
    explicit http_connection_stream(tcp_stream plain) noexcept
        : m_stream(std::in_place_type<tcp_stream>, std::move(plain)) {}
#if defined(CORIO_HTTP_HAS_TLS)
    explicit http_connection_stream(http_tls_stream secured) noexcept
        : m_stream(std::in_place_type<http_tls_stream>, std::move(secured)) {}
#endif

    /// Reads at least one byte, or returns 0 at end of stream.
    [[nodiscard]] task<std::size_t> read_some(std::span<std::byte> buffer) {
        return std::visit([buffer](auto& s) { return s.read_some(buffer); }, m_stream);
    }
    /// Writes all of `bytes` (they stay alive until the co_await completes).
    [[nodiscard]] task<void> write(std::span<const std::byte> bytes) {
        return std::visit([bytes](auto& s) { return s.write(bytes); }, m_stream);
    }
    [[nodiscard]] task<void> write(std::string_view bytes) {
        return write(std::as_bytes(std::span<const char>(bytes.data(), bytes.size())));
    }
    /// The fast path of write(): what one non-blocking send takes of `bytes`
    /// (plain TCP on a polling reactor; 0 over TLS or io_uring, or when the
    /// socket buffer is full). The caller co_awaits write() for the rest.
    /// Throws what write() throws.
    [[nodiscard]] std::size_t write_now(std::span<const std::byte> bytes) {
        if (tcp_stream* plain = std::get_if<tcp_stream>(&m_stream)) {
            return stream_socket_access::send_now(*plain, bytes);
        }
        return 0;
    }
    [[nodiscard]] std::size_t write_now(std::string_view bytes) {
        return write_now(std::as_bytes(std::span<const char>(bytes.data(), bytes.size())));
    }
    /// The fast path of read_some(): its result when it completes without
    /// waiting, nullopt when it would wait (always over TLS or io_uring;
    /// the caller then co_awaits read_some()). Throws what read_some() throws.
    [[nodiscard]] std::optional<std::size_t> read_now(std::span<std::byte> buffer) {
        if (tcp_stream* plain = std::get_if<tcp_stream>(&m_stream)) {
            return stream_socket_access::receive_now(*plain, buffer);
        }
        return std::nullopt;
    }
    /// Whether read_now and input_edge can stand in for read_some (plain
    /// TCP on a polling reactor): then a read is `read_now`, and while it
    /// says nullopt, `co_await input_edge()` and read_now again — the
    /// waiting in the caller's coroutine, without read_some's frame.
    [[nodiscard]] bool reads_by_readiness() const noexcept {
        const tcp_stream* plain = std::get_if<tcp_stream>(&m_stream);
        return plain != nullptr && stream_socket_access::reads_by_readiness(*plain);
    }
    /// See reads_by_readiness.
    [[nodiscard]] socket_source::wait_operation input_edge() {
        return stream_socket_access::input_edge(*std::get_if<tcp_stream>(&m_stream));
    }
    /// Sends `count` bytes of open file `file` from `offset`: sendfile over
    /// TCP; over TLS, read in pieces and written through the TLS stream.
    [[nodiscard]] task<void> send_file(int file, std::uint64_t offset, std::uint64_t count) {
        return std::visit(
            [file, offset, count](auto& s) {
                if constexpr (std::is_same_v<std::remove_cvref_t<decltype(s)>, tcp_stream>) {
                    return s.send_file(file, offset, count);
                } else {
                    return send_file_through(s, file, offset, count);
                }
            },
            m_stream);
    }
    /// Ends the sending direction: TCP FIN, or TLS close_notify.
    [[nodiscard]] task<void> shutdown_write() {
        return std::visit([](auto& s) { return shutdown_write_of(s); }, m_stream);
    }
    /// Closes at once (no TLS close_notify): used for broken or surplus connections.
    void close() noexcept {
        std::visit([](auto& s) noexcept { s.close(); }, m_stream);
    }
    [[nodiscard]] bool is_open() const noexcept {
        return std::visit([](const auto& s) noexcept { return s.is_open(); }, m_stream);
    }
    /// Whether the last read's end of stream was a clean one: always for TCP;
    /// for TLS only after the peer's close_notify (without it, a body that
    /// runs until the connection closes may have been cut short, RFC 9112 §9.8).
    [[nodiscard]] bool ended_cleanly() const noexcept {
        return std::visit(
            [](const auto& s) noexcept {
                if constexpr (std::is_same_v<std::remove_cvref_t<decltype(s)>, tcp_stream>) {
                    return true;
                } else {
                    return s.received_close_notify();
                }
            },
            m_stream);
    }
    /// Whether the peer sent anything not read yet (buffered here, or waiting
    /// in the socket), or closed it: an idle keep-alive connection in that
    /// state must not carry the next request, whose response those bytes
    /// would otherwise become.
    [[nodiscard]] bool has_unread_input() noexcept { return peek_input() != pending_input::nothing; }

    /// What the peer has sent that is not read yet, without reading it:
    /// bytes (buffered here, or in the socket: for TLS, any record, a
    /// close_notify too), the end (FIN, reset, or closed here), or nothing.
    [[nodiscard]] pending_input peek_input() noexcept {
        return std::visit(
            [](auto& s) noexcept {
                if constexpr (std::is_same_v<std::remove_cvref_t<decltype(s)>, tcp_stream>) {
                    return s.peek_input();
                } else {
                    if (!s.is_open()) {
                        return pending_input::end;
                    }
                    if (s.input_pending() || s.next_layer().buffered() > 0) {
                        return pending_input::bytes;
                    }
                    return s.next_layer().peek_input();
                }
            },
            m_stream);
    }
    /// Resumes once peek_input() may have changed (stream_socket::wait_readable
    /// of the socket underneath).
    [[nodiscard]] task<void> wait_readable() {
        return std::visit(
            [](auto& s) {
                if constexpr (std::is_same_v<std::remove_cvref_t<decltype(s)>, tcp_stream>) {
                    return s.wait_readable();
                } else {
                    return s.next_layer().wait_readable();
                }
            },
            m_stream);
    }

private:
    template <class Stream>
    CORIO_HEADER_COROUTINE static task<void> send_file_through(Stream& s, int file, std::uint64_t offset,
                                                               std::uint64_t count) {
        std::string piece;
        while (count > 0) {
            piece.resize(count < 64 * 1024 ? static_cast<std::size_t>(count) : 64 * 1024);
            const long got = read_file_at(file, piece.data(), piece.size(), offset);
            if (got <= 0) {
                throw std::system_error(got < 0 ? std::error_code(static_cast<int>(-got), std::generic_category())
                                                : std::make_error_code(std::errc::io_error),
                                        "corio::http: reading the file of a response");
            }
            piece.resize(static_cast<std::size_t>(got));
            co_await s.write(std::string_view(piece));
            offset += static_cast<std::uint64_t>(got);
            count -= static_cast<std::uint64_t>(got);
        }
    }

    template <class Stream>
    CORIO_HEADER_COROUTINE static task<void> shutdown_write_of(Stream& s) {
        if constexpr (std::is_void_v<decltype(s.shutdown_write())>) {
            s.shutdown_write();
        } else {
            co_await s.shutdown_write();
        }
        co_return;
    }

#if defined(CORIO_HTTP_HAS_TLS)
    std::variant<tcp_stream, http_tls_stream> m_stream;
#else
    std::variant<tcp_stream> m_stream;
#endif
};

static_assert(byte_stream<http_connection_stream>);

}  // namespace corio::detail
