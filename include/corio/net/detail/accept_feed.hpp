#pragma once

// A listening socket's connections accepted by one multishot accept on the
// loop's io_uring (only in a build with io_uring compiled in).

#include <corio/detail/completion_operation.hpp>

#if defined(CORIO_REACTOR_IO_URING)

#include <corio/detail/multishot_feed.hpp>
#include <corio/event_loop.hpp>

#include <cerrno>
#include <deque>

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
/// A feed the ring destroys after its server let go of it closes the
/// connections nobody took.
class accept_feed final : public multishot_feed<accept_feed> {
public:
    static pointer make(event_loop& loop, io_uring_reactor& ring, int listen_fd) {
        return pointer(new accept_feed(loop, ring, listen_fd));
    }

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
            arm_accept();
        }
        return -EAGAIN;
    }

    /// Whether a connection (or error) is queued.
    [[nodiscard]] bool has_queued() const noexcept { return !m_results.empty(); }

    /// Stops accepting (the multishot is cancelled; what it posts meanwhile
    /// is still queued).
    void pause() noexcept {
        m_wanted = false;
        end();
    }

    /// Accepts again after pause(). A multishot that ended with an error is
    /// re-armed only once that error was taken (and backed off from), by
    /// take(): arming at once would meet the same error again.
    void resume() {
        m_wanted = true;
        if (m_state == state::idle && m_results.empty()) {
            arm_accept();
        }
    }

    /// Before the listening socket closes: ends the multishot now, since
    /// the kernel holds the socket (and its port) while it runs.
    void stop() noexcept {
        pause();
        m_ring.flush();
    }

private:
    friend multishot_feed<accept_feed>;

    accept_feed(event_loop& loop, io_uring_reactor& ring, int listen_fd)
        : multishot_feed(loop, ring), m_listen_fd(listen_fd) {}
    ~accept_feed() {
        for (int result : m_results) {
            if (result >= 0) {
                ::close(result);
            }
        }
    }

    [[nodiscard]] bool has_news() const noexcept { return has_queued(); }

    void arm_accept() {
        const int fd = m_listen_fd;
        arm([fd](io_uring_sqe* sqe) noexcept {
            ::io_uring_prep_multishot_accept(sqe, fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        });
    }

    static void complete(detail::io_completion* self, int result, unsigned flags) noexcept {
        accept_feed& feed = feed_of(self);
        if (result >= 0 || (result != -ECANCELED && feed.owned())) {
            feed.m_results.push_back(result);
        }
        if (!feed.finish_completion(flags)) {
            return;
        }
        if ((flags & IORING_CQE_F_MORE) == 0 && feed.m_wanted && result == -ECANCELED) {
            feed.arm_accept();  // resumed while its cancellation was on the way
        }
    }

    int m_listen_fd;
    std::deque<int> m_results;
    bool m_wanted = true;  // accepting, unless paused
};

}  // namespace corio::detail

#endif
