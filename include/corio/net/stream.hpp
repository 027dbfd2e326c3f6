#pragma once

#include <corio/detail/config.hpp>
#include <corio/net/detail/socket.hpp>
#include <corio/net/detail/socket_source.hpp>
#include <corio/event_loop.hpp>
#include <corio/net/endpoint.hpp>
#include <corio/net/byte_stream.hpp>
#include <corio/net/errors.hpp>
#include <corio/net/read_buffer.hpp>
#include <corio/net/stream_algorithms.hpp>
#include <corio/task.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <string_view>
#include <type_traits>
#include <utility>

namespace corio {

namespace detail {
struct stream_socket_access;
}  // namespace detail

/// A connected stream socket (TCP or Unix domain) with a read buffer: what
/// asyncio splits into StreamReader and StreamWriter, in one move-only object.
/// `corio::tcp_stream` and `corio::unix_stream` name this type.
///
/// Bytes read come back as std::string (a byte container; it may hold NULs):
/// the one container of the whole net API. Writes take std::string_view or
/// std::span<const std::byte>; the bytes must stay alive until the write's
/// co_await completes.
///
/// Every read tries the syscall first and waits for readiness only when it
/// would block, so data already there costs no trip through the loop — except
/// right after a read that came back short, when the socket is known empty
/// and the read waits for the next readiness edge first. One
/// reader and one writer may be pending at a time (a read and a write may run
/// concurrently, from two tasks).
///
/// A corio::byte_stream. read, read_exactly and read_until are the free
/// algorithms of net/stream_algorithms.hpp run on the stream's own
/// read_buffer, which read_some also serves first: bytes read_until read past
/// its delimiter come back from whichever read is next.
///
/// Errors: std::system_error with the errno and "op peer: message" ("recv
/// 127.0.0.1:8080: Connection reset by peer"). close() wakes a pending read or
/// write with corio::stream_closed (a std::system_error, ECANCELED), and every
/// later operation throws it too.
///
/// Cancellation: cancelling a task in a pending read or write removes the
/// wait from the reactor and throws cancelled_error; the stream stays usable
/// (a cancelled write may have sent part of its bytes). Not thread-safe: use
/// on the loop that created it. Do not destroy a stream while one of its
/// operations is pending (close() it first; the operation then throws).
class stream_socket {
public:
    /// Default read size of read() (64 KiB).
    static constexpr std::size_t default_chunk = default_read_size;

    /// An empty (closed) stream. Move-only; destroying it closes the socket
    /// (see close()).
    stream_socket() noexcept = default;

    /// Adopts a connected socket watched on `loop`. `peer` names the other
    /// end in error messages. (Used by open_connection and servers.)
    stream_socket(detail::socket_source socket, endpoint peer)
        : m_socket(std::move(socket)), m_peer(std::move(peer)), m_peer_text(m_peer.to_string()) {}

    /// False once closed, moved from, or default-constructed.
    [[nodiscard]] bool is_open() const noexcept { return m_socket.is_open(); }
    /// The fd, for socket options corio does not wrap; -1 once closed.
    [[nodiscard]] int native_handle() const noexcept { return m_socket.fd(); }

    /// Reads what is available, up to buffer.size() bytes, waiting until at
    /// least one byte arrives. Returns 0 at end of stream (not an error).
    [[nodiscard]] task<std::size_t> read_some(std::span<std::byte> buffer) {
        // One coroutine (receive) rather than one awaiting another: a read
        // per request on a server connection.
        return receive(buffer.data(), buffer.size(), true);
    }

    /// Reads up to n bytes (at least one unless at end of stream): "" at end
    /// of stream (asyncio's reader.read(n)). See corio::read.
    [[nodiscard]] task<std::string> read(std::size_t n = default_chunk) {
        return detail::read_with(unbuffered_reader{this}, m_buffer, n);
    }

    /// Reads exactly n bytes. If the stream ends first, throws
    /// corio::incomplete_read carrying the bytes that did arrive. See
    /// corio::read_exactly.
    [[nodiscard]] task<std::string> read_exactly(std::size_t n) {
        return detail::read_exactly_with(unbuffered_reader{this}, m_buffer, n);
    }

    /// Reads up to and including the first `delimiter` (asyncio's
    /// readuntil). Bytes after it stay buffered for the next read. Throws
    /// corio::limit_overrun when `max` bytes arrive without a delimiter ending
    /// within them (those bytes stay buffered), and corio::incomplete_read
    /// (with what arrived, consumed) when the stream ends first. See
    /// corio::read_until.
    [[nodiscard]] task<std::string> read_until(std::string delimiter = "\n", std::size_t max = default_chunk) {
        return detail::read_until_with(unbuffered_reader{this}, m_buffer, std::move(delimiter), max);
    }

    /// Writes all of `bytes`, waiting whenever the socket buffer is full.
    [[nodiscard]] CORIO_HEADER_COROUTINE task<void> write(std::span<const std::byte> bytes) {
        std::size_t done = 0;
#if defined(CORIO_REACTOR_IO_URING)
        if (m_socket.ring() != nullptr) {
            // Through the ring: no syscall of its own, submitted with the
            // loop's next wait. A short send continues from where it stopped.
            while (done < bytes.size()) {
                ensure_open("send");
                const detail::completion_outcome sent =
                    co_await m_socket.send_completion(bytes.data() + done, bytes.size() - done);
                if (sent.result >= 0) {
                    done += static_cast<std::size_t>(sent.result);
                } else if (ring_failure(sent, detail::io_writable, "send")) {
                    co_await detail::rethrow_cancellation();
                }
            }
            co_return;
        }
#endif
        while (done < bytes.size()) {
            ensure_open("send");
            const long n = detail::send_some(m_socket.fd(), bytes.data() + done, bytes.size() - done);
            if (n >= 0) {
                done += static_cast<std::size_t>(n);
                continue;
            }
            if (-n != EAGAIN) {
                detail::throw_socket_error(static_cast<int>(-n), "send", m_peer_text);
            }
            co_await m_socket.writable("send", m_peer_text);
        }
    }

    /// Sends `count` bytes of the open file `file` from `offset`, the kernel
    /// copying them from the page cache where it can (sendfile(2) on Linux;
    /// pread and send elsewhere), waiting whenever the socket buffer is full.
    /// The file is neither closed nor its offset moved. Throws
    /// std::system_error for a socket error, and for a file that ends early
    /// or cannot be read (naming it "sendfile").
    [[nodiscard]] CORIO_HEADER_COROUTINE task<void> send_file(int file, std::uint64_t offset, std::uint64_t count) {
        while (count > 0) {
            ensure_open("sendfile");
            const std::size_t piece = count < (std::uint64_t{1} << 30) ? static_cast<std::size_t>(count) : (1u << 30);
            const long n = detail::send_file_piece(m_socket.fd(), file, offset, piece);
            if (n > 0) {
                offset += static_cast<std::uint64_t>(n);
                count -= static_cast<std::uint64_t>(n);
                continue;
            }
            if (n == 0) {
                throw std::system_error(std::make_error_code(std::errc::io_error),
                                        "sendfile " + m_peer_text + ": the file ended " + std::to_string(count) +
                                            " bytes early");
            }
            if (-n != EAGAIN) {
                detail::throw_socket_error(static_cast<int>(-n), "sendfile", m_peer_text);
            }
            co_await m_socket.writable("sendfile", m_peer_text);
        }
    }

    /// Writes all of `bytes` (text or binary).
    [[nodiscard]] task<void> write(std::string_view bytes) {
        return write(std::as_bytes(std::span<const char>(bytes.data(), bytes.size())));
    }
    /// Writes a NUL-terminated string, without the NUL.
    [[nodiscard]] task<void> write(const char* text) { return write(std::string_view(text)); }

    /// Sends end-of-stream to the peer (half-close); reading stays possible.
    void shutdown_write() {
        ensure_open("shutdown");
        if (const int error = detail::shutdown_write(m_socket.fd()); error != 0) {
            detail::throw_socket_error(error, "shutdown", m_peer_text);
        }
    }

    /// Closes the socket: unregisters it from the reactor, wakes a pending
    /// read or write (which throws corio::stream_closed), closes the fd.
    /// Buffered unread bytes are dropped. Idempotent.
    void close() noexcept {
        m_socket.close();
        m_buffer.clear();
    }

    /// The local address (getsockname).
    [[nodiscard]] endpoint local_endpoint() const { return detail::local_endpoint_of(m_socket, m_peer_text); }
    /// The peer's address as known when the stream was made (still valid after a reset).
    [[nodiscard]] const endpoint& remote_endpoint() const noexcept { return m_peer; }

    /// TCP_NODELAY (on by default for TCP streams corio makes).
    void set_nodelay(bool on) { detail::set_nodelay(open_fd("setsockopt"), on); }
    /// Whether TCP_NODELAY is set; stream_closed when closed.
    [[nodiscard]] bool nodelay() const { return detail::get_nodelay(open_fd("getsockopt")); }
    /// SO_KEEPALIVE (off by default).
    void set_keepalive(bool on) { detail::set_keepalive(open_fd("setsockopt"), on); }
    /// Whether SO_KEEPALIVE is set; stream_closed when closed.
    [[nodiscard]] bool keepalive() const { return detail::get_keepalive(open_fd("getsockopt")); }

    /// Bytes read from the socket but not returned yet (by read_until's look-ahead).
    [[nodiscard]] std::size_t buffered() const noexcept { return m_buffer.size(); }

    /// Resumes once a read would not wait: bytes arrived (or are buffered
    /// here), or the peer closed or reset the connection. Reads nothing, so
    /// the next read returns what is there. For a task that must notice a
    /// client going away while it writes (a streamed HTTP response). Throws
    /// stream_closed if the stream is closed meanwhile, cancelled_error when
    /// cancelled.
    [[nodiscard]] CORIO_HEADER_COROUTINE task<void> wait_readable() {
        if (!m_buffer.empty()) {
            co_return;
        }
        ensure_open("poll");
        if (peek_input() != detail::pending_input::nothing) {
            co_return;
        }
#if defined(CORIO_REACTOR_IO_URING)
        if (detail::receive_feed* feed = ring_input_feed(); feed != nullptr && !feed->starved()) {
            // The bytes go to the multishot recv's buffers, never raising the
            // socket's readiness: wait for the feed instead.
            feed->start();
            co_await feed->arrival();
            co_return;
        }
#endif
        // The readiness edge this wait takes is gone for the next read: that
        // read must try recv before it waits.
        m_drained = false;
        co_await m_socket.readable("poll", m_peer_text);
    }

    /// What a read would find right now, without waiting or taking it:
    /// bytes (buffered here or received), the end (the peer's FIN, an error,
    /// or closed here), or nothing yet. (corio's HTTP layer asks this of an
    /// idle keep-alive connection.)
    [[nodiscard]] detail::pending_input peek_input() noexcept {
        if (!m_buffer.empty()) {
            return detail::pending_input::bytes;
        }
        if (!is_open()) {
            return detail::pending_input::end;
        }
#if defined(CORIO_REACTOR_IO_URING)
        if (detail::receive_feed* feed = m_socket.existing_input_feed()) {
            if (const detail::pending_input queued = feed->queued(); queued != detail::pending_input::nothing) {
                return queued;
            }
        }
#endif
        return detail::peek_input(m_socket.fd());
    }

    /// Whether a read / write is waiting for readiness (for tests and diagnostics).
    [[nodiscard]] bool read_pending() const noexcept { return m_socket.has_reader(); }
    /// Whether a write is waiting for the socket to drain (see read_pending).
    [[nodiscard]] bool write_pending() const noexcept { return m_socket.has_writer(); }

private:
    friend struct detail::stream_socket_access;

    [[nodiscard]] int open_fd(const char* op) const { return detail::open_fd(m_socket, op, m_peer_text); }

    // write()'s first send without its coroutine frame: the bytes one
    // non-blocking send takes (0 when the socket buffer is full), throwing
    // what write() throws. 0 through io_uring, whose sends go through the
    // ring (write() does them).
    std::size_t send_now(std::span<const std::byte> bytes) {
        if (bytes.empty()) {
            return 0;
        }
#if defined(CORIO_REACTOR_IO_URING)
        if (m_socket.ring() != nullptr) {
            return 0;
        }
#endif
        ensure_open("send");
        const long n = detail::send_some(m_socket.fd(), bytes.data(), bytes.size());
        if (n >= 0) {
            return static_cast<std::size_t>(n);
        }
        if (-n != EAGAIN) {
            detail::throw_socket_error(static_cast<int>(-n), "send", m_peer_text);
        }
        return 0;
    }

    // read_some() when it would not wait, without its coroutine frame:
    // receive()'s steps up to its first suspension. nullopt where receive()
    // would wait (recv said EAGAIN, or the last read came back short and no
    // readiness edge has arrived since), and always through io_uring; the
    // caller then co_awaits read_some(), which picks up from there.
    std::optional<std::size_t> receive_now(std::span<std::byte> into) {
        if (into.empty()) {
            return 0;
        }
        if (!m_buffer.empty()) {
            return m_buffer.take_into(into);
        }
#if defined(CORIO_REACTOR_IO_URING)
        if (m_socket.ring() != nullptr) {
            return std::nullopt;
        }
#endif
        ensure_open("recv");
        if (m_drained && !m_socket.peer_closed()) {
            // The edge receive() would wait for, if it is already here
            // (await_ready takes it, as receive()'s wait would).
            if (!m_socket.readable("recv", m_peer_text).await_ready()) {
                return std::nullopt;
            }
            m_drained = false;
        }
        const long n = detail::receive(m_socket.fd(), into.data(), into.size());
        if (n >= 0) {
            m_drained = n > 0 && static_cast<std::size_t>(n) < into.size();
            return static_cast<std::size_t>(n);
        }
        if (-n != EAGAIN) {
            detail::throw_socket_error(static_cast<int>(-n), "recv", m_peer_text);
        }
        return std::nullopt;
    }
    void ensure_open(const char* op) const { (void)open_fd(op); }

    // The socket's reads without m_buffer in front: what the buffered
    // algorithms read from when m_buffer is the buffer they fill.
    struct unbuffered_reader {
        stream_socket* socket;
        [[nodiscard]] task<std::size_t> read_some(std::span<std::byte> into) const {
            return socket->receive(into.data(), into.size(), false);
        }
    };

    // recv with the try-first protocol: syscall, and on EAGAIN wait and retry.
    // Except right after a short read: the kernel buffer was empty then, and
    // data arriving since raises a fresh edge (remembered if nobody waited),
    // so waiting first saves the recv that would return EAGAIN — one syscall
    // per request on a request/response connection (bench/benchmarks_notes.md).
    // A hang-up already reported raises no new edge: then recv goes first.
    // `from_buffer` (read_some): an empty request reads nothing, and bytes in
    // m_buffer are served before the socket's.
    CORIO_HEADER_COROUTINE task<std::size_t> receive(void* out, std::size_t size, bool from_buffer) {
        if (from_buffer) {
            if (size == 0) {
                co_return 0;
            }
            if (!m_buffer.empty()) {
                co_return m_buffer.take_into(std::span<std::byte>(static_cast<std::byte*>(out), size));
            }
        }
#if defined(CORIO_REACTOR_IO_URING)
        // recv through the ring (see completion_outcome for a cancellation
        // that arrives as the read completes). Inline, not a coroutine of its
        // own: one frame per read.
        while (m_socket.ring() != nullptr) {
            ensure_open("recv");
            if (detail::receive_feed* feed = m_socket.input_feed()) {
                // Bytes the multishot recv has queued; one plain recv when
                // the ring had no buffer for them (they wait in the socket).
                const long taken = feed->take(static_cast<std::byte*>(out), size);
                if (taken >= 0) {
                    co_return static_cast<std::size_t>(taken);
                }
                if (taken == -EAGAIN) {
                    co_await feed->arrival();
                    continue;
                }
                if (taken != -ENOBUFS) {
                    detail::throw_socket_error(static_cast<int>(-taken), "recv", m_peer_text);
                }
            }
            const detail::completion_outcome got = co_await m_socket.receive_completion(out, size);
            if (got.result >= 0) {
                co_return static_cast<std::size_t>(got.result);
            }
            if (ring_failure(got, detail::io_readable, "recv")) {
                co_await detail::rethrow_cancellation();
            }
        }
#endif
        if (m_drained && !m_socket.peer_closed()) {
            m_drained = false;
            ensure_open("recv");
            co_await m_socket.readable("recv", m_peer_text);
        }
        for (;;) {
            ensure_open("recv");
            const long n = detail::receive(m_socket.fd(), out, size);
            if (n >= 0) {
                m_drained = n > 0 && static_cast<std::size_t>(n) < size;
                co_return static_cast<std::size_t>(n);
            }
            if (-n != EAGAIN) {
                detail::throw_socket_error(static_cast<int>(-n), "recv", m_peer_text);
            }
            co_await m_socket.readable("recv", m_peer_text);
        }
    }

#if defined(CORIO_REACTOR_IO_URING)
    // The socket's multishot recv, on a loop whose ring lends buffers.
    [[nodiscard]] detail::receive_feed* ring_input_feed() {
        return m_socket.ring() != nullptr ? m_socket.input_feed() : nullptr;
    }

    // A ring operation of `direction` that ended with an error: throws
    // stream_closed when close() ended it, std::system_error for a socket
    // error; true when the task's cancellation ended it (the caller throws
    // that), false to try again (EINTR, EAGAIN).
    bool ring_failure(const detail::completion_outcome& outcome, detail::io_events direction, const char* op) {
        if (outcome.result == -ECANCELED && m_socket.take_closed_wakeup(direction)) {
            throw stream_closed(std::string(op) + " " + m_peer_text);
        }
        if (outcome.cancel_requested) {
            return true;
        }
        if (outcome.result != -ECANCELED && outcome.result != -EINTR && outcome.result != -EAGAIN) {
            detail::throw_socket_error(-outcome.result, op, m_peer_text);
        }
        return false;
    }
#endif

    detail::socket_source m_socket;
    endpoint m_peer;
    std::string m_peer_text;
    read_buffer m_buffer;  // read ahead by read_until, served first by every read
    bool m_drained = false;  // the last recv came back short: wait before the next
};

namespace detail {

/// The synchronous fast path of a stream_socket's reads and writes, for
/// corio's own protocol code (HTTP, WebSocket): a read or write that the
/// kernel completes at once costs no coroutine frame. The caller co_awaits
/// the public operation for whatever these leave undone.
struct stream_socket_access {
    /// One non-blocking send of `bytes`: how many the kernel took (0 when the
    /// socket buffer is full, or always when the loop sends through
    /// io_uring). Throws what write() throws (stream_closed, the send error).
    static std::size_t send_now(stream_socket& s, std::span<const std::byte> bytes) { return s.send_now(bytes); }
    /// read_some() if it completes without waiting: the bytes read (0 at end
    /// of stream or for an empty buffer), or nullopt when it would wait
    /// (then co_await read_some()). Throws what read_some() throws.
    static std::optional<std::size_t> receive_now(stream_socket& s, std::span<std::byte> into) {
        return s.receive_now(into);
    }
    /// Whether readiness drives the socket's reads (epoll, kqueue), so that
    /// receive_now and input_edge can stand in for read_some; false for a
    /// socket whose reads go through io_uring.
    [[nodiscard]] static bool reads_by_readiness(const stream_socket& s) noexcept {
#if defined(CORIO_REACTOR_IO_URING)
        return s.m_socket.ring() == nullptr;
#else
        (void)s;
        return true;
#endif
    }
    /// What read_some() waits on where receive_now said nullopt, awaited
    /// in the caller's own coroutine: the socket's next readiness edge (one
    /// already seen returns at once), after which receive_now tries recv
    /// again. Only where reads_by_readiness. Throws what read_some's wait
    /// throws: stream_closed, cancelled_error (or the timeout of an
    /// enclosing scope).
    [[nodiscard]] static socket_source::wait_operation input_edge(stream_socket& s) {
        s.ensure_open("recv");
        s.m_drained = false;  // this wait is the one a short read asks for
        return s.m_socket.readable("recv", s.m_peer_text);
    }
};

}  // namespace detail

static_assert(byte_stream<stream_socket>);
static_assert(std::is_nothrow_move_constructible_v<stream_socket> && !std::is_copy_constructible_v<stream_socket>);

/// A TCP connection (see stream_socket).
using tcp_stream = stream_socket;
/// A Unix domain stream connection (see stream_socket).
using unix_stream = stream_socket;

}  // namespace corio
