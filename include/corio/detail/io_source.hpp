#pragma once

#include <corio/cancel.hpp>
#include <corio/detail/cancellable_awaiter.hpp>
#include <corio/detail/reactor/backend.hpp>
#include <corio/event_loop.hpp>

#include <coroutine>
#include <stdexcept>
#include <utility>

namespace corio::detail {

/// Readiness of one watched file descriptor and the (at most one) reader and
/// writer waiting on it: the building block of sockets and pipes.
///
/// The fd is registered with the reactor once, edge-triggered. An edge that
/// arrives with nobody waiting is remembered, so a later wait returns at once;
/// a wait consumes the edge it returns on. The protocol for I/O is: try the
/// syscall first; on EAGAIN, co_await readable() / writable(); retry.
class io_source : private io_watch {
public:
    /// Watches `fd` on `loop` from now on, or (`watch_now` false) from the
    /// first wait: a socket whose reads and writes complete through io_uring
    /// needs readiness only for the rare wait, and an fd polled for nothing
    /// costs a completion per packet.
    io_source(event_loop& loop, int fd, bool watch_now = true) : m_loop(loop), m_fd(fd) {
        on_events = &dispatch;
        if (watch_now) {
            watch();
        }
    }
    io_source(const io_source&) = delete;
    io_source& operator=(const io_source&) = delete;

    /// Stops watching; a coroutine still waiting is resumed and throws
    /// cancelled_error. Does not close the fd.
    ~io_source() { detach(); }

    [[nodiscard]] int fd() const noexcept { return m_fd; }

    /// Stops watching the fd (before it is closed); waiting coroutines are
    /// resumed and their wait throws `cancelled_error`.
    void detach() noexcept {
        if (m_fd < 0) {
            return;
        }
        if (m_watching) {
            m_loop.unwatch_fd(m_fd);
        }
        m_fd = -1;
        for (wait_operation* waiter : {std::exchange(m_reader, nullptr), std::exchange(m_writer, nullptr)}) {
            if (waiter != nullptr) {
                waiter->finish(true);
            }
        }
    }

    class wait_operation : public cancellable_awaiter<wait_operation> {
    public:
        wait_operation(io_source& source, io_events direction) noexcept
            : m_direction(direction), m_source(source) {}
        // Movable only before it is awaited (so it can be handed to wait_for).
        wait_operation(wait_operation&& other) noexcept
            : wait_operation(other.m_source, other.m_direction) {}
        wait_operation& operator=(const wait_operation&) = delete;
        ~wait_operation() {
            // Only a wait still registered may touch the source: a finished
            // wait's source may already be gone (destroyed after detach()).
            if (m_registered && m_source.slot(m_direction) == this) {
                m_source.slot(m_direction) = nullptr;
            }
        }

        bool await_ready() noexcept {
            if (m_source.m_fd < 0) {
                m_aborted = true;
                return true;
            }
            // Consume a remembered edge: the caller will retry its syscall.
            if ((m_source.m_ready & m_direction) != 0) {
                m_source.m_ready &= ~m_direction;
                return true;
            }
            return false;
        }

    private:
        friend class io_source;
        friend cancellable_awaiter;

        template <class Promise>
        bool start(std::coroutine_handle<Promise> waiting) {
            wait_operation*& slot = m_source.slot(m_direction);
            if (slot != nullptr) {
                throw std::logic_error("corio: two coroutines wait for the same direction of one fd");
            }
            if (!m_source.m_watching) {
                m_source.watch();  // the first report of a new watch says what is ready now
            }
            slot = this;
            m_registered = true;
            m_waiting = waiting;
            return true;
        }

        // Cancelling drops the interest; the fd itself stays registered and usable.
        bool cancel() noexcept {
            m_source.slot(m_direction) = nullptr;
            m_registered = false;
            m_source.m_loop.resume_soon(m_waiting);
            return true;
        }

        // The source was detached (closed) while or before waiting. Not a
        // request on the strand, so not detail::throw_cancellation: there is
        // no cause to read (sockets turn this into stream_closed).
        void result() const {
            if (m_aborted) {
                throw cancelled_error{};
            }
        }

        void finish(bool aborted) noexcept {
            m_registered = false;
            m_aborted = aborted;
            // The source may be gone by the time the coroutine runs: a
            // cancellation from now on waits for the next suspension point.
            disarm();
            m_source.m_loop.resume_soon(m_waiting);
        }

        // The small members first: they fill the base's tail padding.
        bool m_aborted = false;
        bool m_registered = false;  // linked in the source's slot
        io_events m_direction;
        io_source& m_source;
        std::coroutine_handle<> m_waiting;
    };

    /// Resumes when the fd may be readable (or has an error / hang-up).
    [[nodiscard]] wait_operation readable() noexcept { return wait_operation(*this, io_readable); }
    /// True once the reactor reported a hang-up or an error on the fd: the
    /// state is permanent, so no later edge announces it again.
    [[nodiscard]] bool peer_closed() const noexcept { return m_peer_closed; }
    /// Resumes when the fd may be writable (or has an error / hang-up).
    [[nodiscard]] wait_operation writable() noexcept { return wait_operation(*this, io_writable); }

    /// Whether a coroutine currently waits in each direction (for tests).
    [[nodiscard]] bool has_reader() const noexcept { return m_reader != nullptr; }
    [[nodiscard]] bool has_writer() const noexcept { return m_writer != nullptr; }

private:
    void watch() {
        m_loop.watch_fd(m_fd, *this);
        m_watching = true;
    }

    wait_operation*& slot(io_events direction) noexcept {
        return direction == io_readable ? m_reader : m_writer;
    }

    static void dispatch(io_watch* watch, io_events events) noexcept {
        auto* self = static_cast<io_source*>(watch);
        if ((events & io_closed) != 0) {
            self->m_peer_closed = true;
            events |= io_readable | io_writable;
        }
        for (io_events direction : {io_readable, io_writable}) {
            if ((events & direction) == 0) {
                continue;
            }
            if (wait_operation* waiter = std::exchange(self->slot(direction), nullptr)) {
                waiter->finish(false);
            } else {
                self->m_ready |= direction;
            }
        }
    }

    event_loop& m_loop;
    int m_fd;
    io_events m_ready = 0;  // edges seen while nobody waited
    bool m_peer_closed = false;  // a hang-up or error was reported: no edge will follow it
    bool m_watching = false;     // registered with the reactor (from construction, or the first wait)
    wait_operation* m_reader = nullptr;
    wait_operation* m_writer = nullptr;
};

}  // namespace corio::detail
