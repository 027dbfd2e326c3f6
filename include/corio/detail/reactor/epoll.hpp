#pragma once

#include <corio/detail/reactor/backend.hpp>
#include <corio/detail/reactor/signal_fd.hpp>

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <system_error>

namespace corio::detail {

/// Linux readiness backend: one epoll instance, each fd registered once with
/// EPOLLET for both directions, an eventfd for cross-thread wake-ups, and
/// (from the first add_signal on) one signalfd over every watched signal.
class epoll_reactor {
public:
    epoll_reactor() {
        m_epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
        if (m_epoll_fd < 0) {
            throw std::system_error(errno, std::generic_category(), "epoll_create1");
        }
        m_wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (m_wake_fd < 0) {
            const int error = errno;
            ::close(m_epoll_fd);
            throw std::system_error(error, std::generic_category(), "eventfd");
        }
        epoll_event event{};
        event.events = EPOLLIN | EPOLLET;
        event.data.ptr = &m_wake_fd;  // the one tag no watched fd can have
        if (::epoll_ctl(m_epoll_fd, EPOLL_CTL_ADD, m_wake_fd, &event) < 0) {
            const int error = errno;
            ::close(m_wake_fd);
            ::close(m_epoll_fd);
            throw std::system_error(error, std::generic_category(), "epoll_ctl(eventfd)");
        }
    }

    epoll_reactor(const epoll_reactor&) = delete;
    epoll_reactor& operator=(const epoll_reactor&) = delete;

    ~epoll_reactor() {
        ::close(m_wake_fd);
        ::close(m_epoll_fd);
    }

    void add(int fd, void* tag) {
        epoll_event event{};
        event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
        event.data.ptr = tag;
        if (::epoll_ctl(m_epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0) {
            throw std::system_error(errno, std::generic_category(), "epoll_ctl(ADD)");
        }
    }

    void remove(int fd) noexcept {
        // Failure means the fd is already gone from the set (closed elsewhere); nothing to undo.
        ::epoll_ctl(m_epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
    }

    template <class Sink>
    bool wait(int timeout_ms, Sink&& sink) {
        epoll_event events[max_events];
        int count = ::epoll_wait(m_epoll_fd, events, max_events, timeout_ms);
        if (count < 0) {
            if (errno == EINTR) {
                return false;
            }
            throw std::system_error(errno, std::generic_category(), "epoll_wait");
        }
        bool woken = false;
        for (int i = 0; i < count; ++i) {
            void* tag = events[i].data.ptr;
            if (tag == &m_signals) {
                m_signals.read(sink);
                continue;
            }
            if (tag == &m_wake_fd) {
                std::uint64_t value = 0;
                // Drain so the next wake() makes a new edge; EAGAIN just means already drained.
                [[maybe_unused]] ssize_t n = ::read(m_wake_fd, &value, sizeof value);
                woken = true;
                continue;
            }
            const std::uint32_t flags = events[i].events;
            io_events ready = 0;
            if ((flags & EPOLLIN) != 0) ready |= io_readable;
            if ((flags & EPOLLOUT) != 0) ready |= io_writable;
            if ((flags & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) != 0) ready |= io_closed;
            sink(tag, ready);
        }
        return woken;
    }

    void wake() noexcept {
        const std::uint64_t one = 1;
        // A full counter (EAGAIN) still leaves the eventfd readable, which is all we need.
        [[maybe_unused]] ssize_t n = ::write(m_wake_fd, &one, sizeof one);
    }

    void add_signal(int signum, void* tag) {
        if (!m_signals.watch(signum, tag)) {
            return;
        }
        // Level-triggered: every wait drains the signalfd anyway, and a
        // signal left unread for lack of a slot is reported next time.
        epoll_event event{};
        event.events = EPOLLIN;
        event.data.ptr = &m_signals;  // as for the eventfd: no watched fd can have this tag
        if (::epoll_ctl(m_epoll_fd, EPOLL_CTL_ADD, m_signals.fd(), &event) < 0) {
            const int error = errno;
            m_signals.abandon();
            throw std::system_error(error, std::generic_category(), "epoll_ctl(signalfd)");
        }
    }

    [[nodiscard]] const char* name() const noexcept { return "epoll"; }

    void remove_signal(int signum) noexcept { m_signals.unwatch(signum); }

private:
    static constexpr int max_events = 256;

    int m_epoll_fd = -1;
    int m_wake_fd = -1;
    signal_fd m_signals;
};

static_assert(reactor_backend<epoll_reactor>);

}  // namespace corio::detail
