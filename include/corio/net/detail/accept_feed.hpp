#pragma once

// A listening socket's connections accepted by one multishot accept on the
// loop's io_uring (only in a build with io_uring compiled in).

#include <corio/detail/completion_operation.hpp>

#if defined(CORIO_REACTOR_IO_URING)

#include <corio/detail/cancellable_awaiter.hpp>
#include <corio/event_loop.hpp>

#include <cerrno>
#include <coroutine>
#include <deque>
#include <memory>

#include <sys/socket.h>
#include <unistd.h>

namespace corio::detail {

/// One multishot accept on a listening socket: the kernel posts a completion
/// per connection (or error) without a system call or a re-arm each, and the
/// feed queues them for the server's accept loop, which takes them in order.
///
/// A server at its connection limit pauses the feed (the multishot is
/// cancelled, so waiting clients stay in the kernel's backlog, where the
/// limit logic looks for them) and resumes it when there is room. A
/// multishot that ends by itself (an error such as EMFILE, an overflowing
/// completion queue) is queued as that error and re-armed by the next take().
///
/// The kernel may still post to the feed after its owner let go of it, so
/// release() hands a feed whose multishot has not ended to the ring, and its
/// last completion destroys it (closing connections nobody took).
class accept_feed final : private io_completion {
public:
    struct releaser {
        void operator()(accept_feed* feed) const noexcept { feed->release(); }
    };
    using pointer = std::unique_ptr<accept_feed, releaser>;

    static pointer make(event_loop& loop, io_uring_reactor& ring, int listen_fd) {
        return pointer(new accept_feed(loop, ring, listen_fd));
    }

    accept_feed(const accept_feed&) = delete;
    accept_feed& operator=(const accept_feed&) = delete;

    /// The next accepted fd (the caller owns it), a -errno the kernel gave
    /// instead, or -EAGAIN when nothing is queued (a stopped feed that should
    /// run is re-armed then).
    [[nodiscard]] int take() {
        if (!m_results.empty()) {
            const int result = m_results.front();
            m_results.pop_front();
            return result;
        }
        if (m_state == state::idle && m_wanted) {
            arm();
        }
        return -EAGAIN;
    }

    /// Whether a connection (or error) is queued.
    [[nodiscard]] bool has_queued() const noexcept { return !m_results.empty(); }

    /// Stops accepting (the multishot is cancelled; what it posts meanwhile
    /// is still queued).
    void pause() noexcept {
        m_wanted = false;
        if (m_state == state::armed) {
            m_ring.cancel(*this);
            m_state = state::ending;
        }
    }

    /// Accepts again after pause(). A multishot that ended with an error is
    /// re-armed only once that error was taken (and backed off from), by
    /// take(): arming at once would meet the same error again.
    void resume() {
        m_wanted = true;
        if (m_state == state::idle && m_results.empty()) {
            arm();
        }
    }

    /// Before the listening socket closes: ends the multishot now, since
    /// the kernel holds the socket (and its port) while it runs.
    void stop() noexcept {
        pause();
        m_ring.flush();
    }

    /// Awaits a completion of the multishot (a connection, an error, or its
    /// end): then take() again. Cancellable.
    class arrival_operation : public cancellable_awaiter<arrival_operation> {
    public:
        explicit arrival_operation(accept_feed& feed) noexcept : m_feed(feed) {}
        arrival_operation(const arrival_operation&) = delete;
        arrival_operation& operator=(const arrival_operation&) = delete;
        // A frame destroyed while it waits (its loop closing) leaves no waiter behind.
        ~arrival_operation() {
            if (m_feed.m_waiter == this) {
                m_feed.m_waiter = nullptr;
            }
        }
        // An idle feed posts nothing more: take() again (it re-arms).
        [[nodiscard]] bool await_ready() const noexcept { return m_feed.has_queued() || m_feed.m_state == state::idle; }

    private:
        friend cancellable_awaiter<arrival_operation>;
        template <class Promise>
        bool start(std::coroutine_handle<Promise> waiting) {
            m_feed.m_waiter = this;
            m_waiting = waiting;
            return true;
        }
        bool cancel() noexcept {
            m_feed.m_waiter = nullptr;
            m_feed.m_loop.resume_soon(m_waiting);
            return true;
        }
        void wake() noexcept {
            disarm();
            m_feed.m_loop.resume_soon(m_waiting);
        }
        friend class accept_feed;

        accept_feed& m_feed;
        std::coroutine_handle<> m_waiting;
    };

    [[nodiscard]] arrival_operation arrival() noexcept { return arrival_operation(*this); }

private:
    enum class state : unsigned char { idle, armed, ending };

    accept_feed(event_loop& loop, io_uring_reactor& ring, int listen_fd)
        : m_loop(loop), m_ring(ring), m_listen_fd(listen_fd) {
        on_complete = &complete;
    }
    ~accept_feed() {
        for (int result : m_results) {
            if (result >= 0) {
                ::close(result);
            }
        }
    }

    void arm() {
        const int fd = m_listen_fd;
        m_ring.submit(*this, [fd](io_uring_sqe* sqe) noexcept {
            ::io_uring_prep_multishot_accept(sqe, fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        });
        m_state = state::armed;
    }

    void release() noexcept {
        m_owned = false;
        m_waiter = nullptr;
        if (m_state == state::idle) {
            delete this;
            return;
        }
        pause();
        m_ring.adopt(*this, &destroy);
    }

    static void destroy(io_completion* self) noexcept { delete static_cast<accept_feed*>(self); }

    static void complete(io_completion* self, int result, unsigned flags) noexcept {
        auto& feed = static_cast<accept_feed&>(*self);
        const bool more = (flags & IORING_CQE_F_MORE) != 0;
        if (result >= 0 || (result != -ECANCELED && feed.m_owned)) {
            feed.m_results.push_back(result);
        }
        if (!more) {
            feed.m_state = state::idle;
            if (!feed.m_owned) {
                feed.m_ring.forget(feed);
                delete &feed;
                return;
            }
            if (feed.m_wanted && result == -ECANCELED) {
                feed.arm();  // resumed while its cancellation was on the way
            }
        }
        if (arrival_operation* waiter = std::exchange(feed.m_waiter, nullptr)) {
            waiter->wake();
        }
    }

    event_loop& m_loop;
    io_uring_reactor& m_ring;
    int m_listen_fd;
    std::deque<int> m_results;
    arrival_operation* m_waiter = nullptr;
    state m_state = state::idle;
    bool m_wanted = true;  // accepting, unless paused
    bool m_owned = true;   // false once released: the last completion destroys it
};

}  // namespace corio::detail

#endif
