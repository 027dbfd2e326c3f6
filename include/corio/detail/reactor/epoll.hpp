#pragma once

#include <corio/detail/reactor/backend.hpp>

#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <system_error>
#include <utility>
#include <vector>

namespace corio::detail {

/// Linux readiness backend: one epoll instance, each fd registered once with
/// EPOLLET for both directions, an eventfd for cross-thread wake-ups, and
/// (from the first add_signal on) one signalfd over every watched signal.
class epoll_reactor {
public:
    epoll_reactor() {
        ::sigemptyset(&m_signal_mask);
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
        if (m_signal_fd >= 0) {
            ::close(m_signal_fd);
        }
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
            if (tag == &m_signal_fd) {
                read_signals(sink);
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
        for (auto& [watched, watched_tag] : m_signal_tags) {
            if (watched == signum) {
                watched_tag = tag;
                return;
            }
        }
        m_signal_tags.reserve(m_signal_tags.size() + 1);  // the push_back below cannot throw then
        sigset_t mask = m_signal_mask;
        ::sigaddset(&mask, signum);
        if (m_signal_fd >= 0) {
            if (::signalfd(m_signal_fd, &mask, 0) < 0) {
                throw std::system_error(errno, std::generic_category(), "signalfd");
            }
        } else {
            const int fd = ::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
            if (fd < 0) {
                throw std::system_error(errno, std::generic_category(), "signalfd");
            }
            // Level-triggered: every wait drains the signalfd anyway, and a
            // signal left unread for lack of a slot is reported next time.
            epoll_event event{};
            event.events = EPOLLIN;
            event.data.ptr = &m_signal_fd;  // as for the eventfd: no watched fd can have this tag
            if (::epoll_ctl(m_epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0) {
                const int error = errno;
                ::close(fd);
                throw std::system_error(error, std::generic_category(), "epoll_ctl(signalfd)");
            }
            m_signal_fd = fd;
        }
        m_signal_mask = mask;
        m_signal_tags.emplace_back(signum, tag);
    }

    void remove_signal(int signum) noexcept {
        const auto it = std::find_if(m_signal_tags.begin(), m_signal_tags.end(),
                                     [signum](const auto& entry) { return entry.first == signum; });
        if (it == m_signal_tags.end()) {
            return;
        }
        m_signal_tags.erase(it);
        ::sigdelset(&m_signal_mask, signum);
        // Narrowing an existing signalfd's mask only fails for a bad fd; the
        // fd stays (an empty mask reads nothing) for the next add_signal.
        ::signalfd(m_signal_fd, &m_signal_mask, 0);
    }

private:
    static constexpr int max_events = 256;

    template <class Sink>
    void read_signals(Sink& sink) {
        signalfd_siginfo infos[16];
        for (;;) {
            const ssize_t n = ::read(m_signal_fd, infos, sizeof infos);
            if (n <= 0) {
                return;  // EAGAIN: drained
            }
            const auto count = static_cast<std::size_t>(n) / sizeof(signalfd_siginfo);
            for (std::size_t i = 0; i < count; ++i) {
                const auto signum = static_cast<int>(infos[i].ssi_signo);
                // Looked up per delivery: a sink never removes a signal (it only schedules).
                for (const auto& [watched, tag] : m_signal_tags) {
                    if (watched == signum) {
                        sink(tag, io_readable);
                        break;
                    }
                }
            }
        }
    }

    int m_epoll_fd = -1;
    int m_wake_fd = -1;
    int m_signal_fd = -1;                              // -1 until the first add_signal
    sigset_t m_signal_mask{};                          // the signals m_signal_fd reads
    std::vector<std::pair<int, void*>> m_signal_tags;  // watched signal -> tag (a handful at most)
};

static_assert(reactor_backend<epoll_reactor>);

}  // namespace corio::detail
