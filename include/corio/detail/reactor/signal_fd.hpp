#pragma once

#include <corio/detail/reactor/backend.hpp>

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <system_error>
#include <utility>
#include <vector>

namespace corio::detail {

/// The watched signals of a Linux reactor: one non-blocking signalfd over all
/// of them (made at the first watch) and each signal's tag. The reactor polls
/// fd() and calls read() when it is readable.
class signal_fd {
public:
    signal_fd() noexcept { ::sigemptyset(&m_mask); }
    signal_fd(const signal_fd&) = delete;
    signal_fd& operator=(const signal_fd&) = delete;
    ~signal_fd() {
        if (m_fd >= 0) {
            ::close(m_fd);
        }
    }

    /// The signalfd, -1 before the first watch().
    [[nodiscard]] int fd() const noexcept { return m_fd; }

    /// Watches `signum` with `tag` (replacing the tag of a watched signal).
    /// Returns true when this made the signalfd: the caller starts polling it,
    /// and on failure to do so calls abandon().
    bool watch(int signum, void* tag) {
        for (auto& [watched, watched_tag] : m_tags) {
            if (watched == signum) {
                watched_tag = tag;
                return false;
            }
        }
        m_tags.reserve(m_tags.size() + 1);  // the emplace_back below cannot throw then
        sigset_t mask = m_mask;
        ::sigaddset(&mask, signum);
        const bool made = m_fd < 0;
        const int fd = ::signalfd(m_fd, &mask, made ? SFD_NONBLOCK | SFD_CLOEXEC : 0);
        if (fd < 0) {
            throw std::system_error(errno, std::generic_category(), "signalfd");
        }
        m_fd = fd;
        m_mask = mask;
        m_tags.emplace_back(signum, tag);
        return made;
    }

    /// Undoes the watch() that made the signalfd, when it could not be polled.
    void abandon() noexcept {
        ::close(std::exchange(m_fd, -1));
        ::sigemptyset(&m_mask);
        m_tags.clear();
    }

    /// Stops watching `signum` (nothing if not watched).
    void unwatch(int signum) noexcept {
        const auto it = std::find_if(m_tags.begin(), m_tags.end(),
                                     [signum](const auto& entry) { return entry.first == signum; });
        if (it == m_tags.end()) {
            return;
        }
        m_tags.erase(it);
        ::sigdelset(&m_mask, signum);
        // Narrowing an existing signalfd's mask only fails for a bad fd; the
        // fd stays (an empty mask reads nothing) for the next watch.
        ::signalfd(m_fd, &m_mask, 0);
    }

    /// Reads every pending delivery and calls `sink(tag, io_readable)` for
    /// each (several deliveries of one signal may come as one).
    template <class Sink>
    void read(Sink& sink) {
        signalfd_siginfo infos[16];
        for (;;) {
            const ssize_t n = ::read(m_fd, infos, sizeof infos);
            if (n <= 0) {
                return;  // EAGAIN: drained
            }
            const auto count = static_cast<std::size_t>(n) / sizeof(signalfd_siginfo);
            for (std::size_t i = 0; i < count; ++i) {
                const auto signum = static_cast<int>(infos[i].ssi_signo);
                // Looked up per delivery: a sink never removes a signal (it only schedules).
                for (const auto& [watched, tag] : m_tags) {
                    if (watched == signum) {
                        sink(tag, io_readable);
                        break;
                    }
                }
            }
        }
    }

private:
    int m_fd = -1;
    sigset_t m_mask{};                          // the signals m_fd reads
    std::vector<std::pair<int, void*>> m_tags;  // watched signal -> tag (a handful at most)
};

}  // namespace corio::detail
