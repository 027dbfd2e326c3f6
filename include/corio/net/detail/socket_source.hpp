#pragma once

#include <corio/cancel.hpp>
#include <corio/detail/completion_operation.hpp>
#include <corio/detail/io_source.hpp>
#include <corio/net/detail/receive_feed.hpp>
#include <corio/net/detail/socket.hpp>
#include <corio/event_loop.hpp>
#include <corio/net/endpoint.hpp>
#include <corio/net/errors.hpp>

#include <coroutine>
#include <memory>
#include <string>
#include <utility>

namespace corio::detail {

/// An open non-blocking socket watched by one loop: the fd, its io_source,
/// and which waits were woken by close() (as opposed to cancelled).
///
/// io_source::detach() wakes a pending wait with cancelled_error, the same
/// error a cancelled task sees. Streams must not turn "the socket was closed
/// under me" into a task cancellation, so close() notes which directions had
/// a waiter, and socket_wait turns exactly those wake-ups into stream_closed.
/// A waiter that a real cancellation already removed is not in its slot any
/// more, so its cancellation is never mistaken for a close.
class socket_source {
    struct state {
#if defined(CORIO_REACTOR_IO_URING)
        state(event_loop& loop, int fd)
            : source(loop, fd, loop.completion_reactor() == nullptr), loop(loop), ring(loop.completion_reactor()) {}
#else
        state(event_loop& loop, int fd) : source(loop, fd) {}
#endif
        io_source source;
        io_events closed_wakeups = 0;
#if defined(CORIO_REACTOR_IO_URING)
        event_loop& loop;
        io_uring_reactor* ring;  // null on epoll: reads and writes go by readiness then
        io_completion* receiving = nullptr;  // the read / write the kernel has, if any
        io_completion* sending = nullptr;
        receive_feed::pointer feed;  // made at the first read, where the ring lends buffers
        bool feed_checked = false;
#endif
    };

public:
    socket_source() noexcept = default;
    socket_source(event_loop& loop, unique_fd fd)
        : m_state(std::make_unique<state>(loop, fd.get())), m_fd(std::move(fd)) {}
    socket_source(socket_source&&) noexcept = default;
    socket_source& operator=(socket_source&& other) noexcept {
        if (this != &other) {
            close();
            m_state = std::move(other.m_state);
            m_fd = std::move(other.m_fd);
        }
        return *this;
    }
    ~socket_source() { close(); }

    [[nodiscard]] bool is_open() const noexcept { return m_fd.valid(); }
    [[nodiscard]] int fd() const noexcept { return m_fd.get(); }

    /// Unregisters from the reactor, wakes pending waits (they throw
    /// stream_closed), and closes the fd. Idempotent.
    void close() noexcept {
        if (!m_fd.valid()) {
            return;
        }
        if (m_state->source.has_reader()) {
            m_state->closed_wakeups |= io_readable;
        }
        if (m_state->source.has_writer()) {
            m_state->closed_wakeups |= io_writable;
        }
#if defined(CORIO_REACTOR_IO_URING)
        // The kernel holds the socket open while it has an operation on it:
        // end them; their completions then report stream_closed.
        for (auto [operation, direction] : {std::pair{m_state->receiving, io_readable},
                                            std::pair{m_state->sending, io_writable}}) {
            if (operation != nullptr) {
                m_state->closed_wakeups |= direction;
                m_state->ring->cancel(*operation);
            }
        }
        if (m_state->feed) {
            m_state->feed->stop();
        }
#endif
        m_state->source.detach();
#if defined(CORIO_REACTOR_IO_URING)
        if (m_state->ring != nullptr) {
            m_state->ring->flush();
        }
#endif
        m_fd.reset();
    }

    /// Whether a coroutine waits for readability / writability (for tests).
    [[nodiscard]] bool has_reader() const noexcept { return pending(io_readable); }
    /// See io_source::peer_closed().
    [[nodiscard]] bool peer_closed() const noexcept { return m_state && m_state->source.peer_closed(); }
    [[nodiscard]] bool has_writer() const noexcept { return pending(io_writable); }

    class wait_operation {
    public:
        wait_operation(socket_source& socket, io_events direction, const char* op, const std::string& peer)
            : m_wait(direction == io_readable ? socket.m_state->source.readable()
                                              : socket.m_state->source.writable()),
              m_state(*socket.m_state),
              m_direction(direction),
              m_op(op),
              m_peer(peer) {}
        wait_operation(wait_operation&&) = default;

        bool await_ready() noexcept { return m_wait.await_ready(); }
        template <class Promise>
        bool await_suspend(std::coroutine_handle<Promise> waiting) {
            return m_wait.await_suspend(waiting);
        }
        void await_resume() {
            try {
                m_wait.await_resume();
            } catch (const cancelled_error&) {
                if ((m_state.closed_wakeups & m_direction) != 0) {
                    m_state.closed_wakeups &= ~m_direction;
                    throw stream_closed(std::string(m_op) + (m_peer.empty() ? "" : " ") + m_peer);
                }
                throw;
            }
        }

    private:
        io_source::wait_operation m_wait;
        state& m_state;
        io_events m_direction;
        const char* m_op;
        const std::string& m_peer;
    };

    /// Waits until the socket may be readable; throws stream_closed if close()
    /// is called meanwhile, cancelled_error if the task is cancelled.
    [[nodiscard]] wait_operation readable(const char* op, const std::string& peer) {
        return wait_operation(*this, io_readable, op, peer);
    }
    [[nodiscard]] wait_operation writable(const char* op, const std::string& peer) {
        return wait_operation(*this, io_writable, op, peer);
    }

#if defined(CORIO_REACTOR_IO_URING)
    /// The loop's io_uring when this socket's reads and writes complete
    /// through it; null on epoll.
    [[nodiscard]] io_uring_reactor* ring() const noexcept { return m_state ? m_state->ring : nullptr; }

    /// The multishot recv this socket's reads take their bytes from (made,
    /// not armed, at the first call); null when the ring lends no buffers.
    [[nodiscard]] receive_feed* input_feed() {
        if (!m_state->feed_checked) {
            m_state->feed_checked = true;
            if (provided_buffers* buffers = m_state->ring->receive_buffers()) {
                m_state->feed = receive_feed::make(m_state->loop, *m_state->ring, *buffers, m_fd.get());
            }
        }
        return m_state->feed.get();
    }

    /// input_feed() if it was made; bytes reach a socket's feed only after.
    [[nodiscard]] receive_feed* existing_input_feed() const noexcept {
        return m_state ? m_state->feed.get() : nullptr;
    }

    /// Awaits recv(2) of up to `size` bytes into `out` through the ring.
    [[nodiscard]] auto receive_completion(void* out, std::size_t size) {
        auto prepare = [fd = m_fd.get(), out, size = ring_length(size)](io_uring_sqe* sqe) noexcept {
            ::io_uring_prep_recv(sqe, fd, out, size, 0);
        };
        return completion_operation<decltype(prepare)>(m_state->loop, *m_state->ring, m_state->receiving, prepare);
    }

    /// Awaits send(2) of up to `size` bytes (without SIGPIPE) through the
    /// ring; a short count continues from where it stopped.
    [[nodiscard]] auto send_completion(const void* bytes, std::size_t size) {
        auto prepare = [fd = m_fd.get(), bytes, size = ring_length(size)](io_uring_sqe* sqe) noexcept {
            ::io_uring_prep_send(sqe, fd, bytes, size, MSG_NOSIGNAL);
        };
        return completion_operation<decltype(prepare)>(m_state->loop, *m_state->ring, m_state->sending, prepare);
    }

    /// Awaits connect(2) to `address` (which must outlive the operation)
    /// through the ring: the kernel waits for the handshake, so there is no
    /// EINPROGRESS, writability wait or SO_ERROR read.
    [[nodiscard]] auto connect_completion(const sockaddr* address, socklen_t length) {
        auto prepare = [fd = m_fd.get(), address, length](io_uring_sqe* sqe) noexcept {
            ::io_uring_prep_connect(sqe, fd, address, length);
        };
        return completion_operation<decltype(prepare)>(m_state->loop, *m_state->ring, m_state->sending, prepare);
    }

    /// For an operation that ended -ECANCELED: whether close() ended it
    /// (consumed: true once), rather than a cancellation of the task.
    bool take_closed_wakeup(io_events direction) noexcept {
        if ((m_state->closed_wakeups & direction) == 0) {
            return false;
        }
        m_state->closed_wakeups &= ~direction;
        return true;
    }
#endif

private:
    // A wait for readiness, or (io_uring) an operation the kernel holds, in `direction`.
    [[nodiscard]] bool pending(io_events direction) const noexcept {
        if (!m_state) {
            return false;
        }
#if defined(CORIO_REACTOR_IO_URING)
        if ((direction == io_readable ? m_state->receiving : m_state->sending) != nullptr) {
            return true;
        }
        if (direction == io_readable && m_state->feed && m_state->feed->has_waiter()) {
            return true;
        }
#endif
        return direction == io_readable ? m_state->source.has_reader() : m_state->source.has_writer();
    }

    // Kept after close() (the woken waiters still read closed_wakeups) until
    // the socket_source itself goes; ~socket_source unregisters before closing.
    std::unique_ptr<state> m_state;
    unique_fd m_fd;
};

/// The fd of an open socket; throws stream_closed ("op peer: closed") once
/// it is closed. What every socket operation checks before its syscall.
[[nodiscard]] inline int open_fd(const socket_source& socket, const char* op, const std::string& peer) {
    if (!socket.is_open()) {
        throw stream_closed(std::string(op) + (peer.empty() ? "" : " ") + peer);
    }
    return socket.fd();
}

/// The address an open socket is bound to (getsockname).
[[nodiscard]] inline endpoint local_endpoint_of(const socket_source& socket, const std::string& peer) {
    return to_endpoint(local_address(open_fd(socket, "getsockname", peer)));
}

}  // namespace corio::detail
