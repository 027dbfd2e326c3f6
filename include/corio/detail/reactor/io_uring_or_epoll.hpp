#pragma once

#include <corio/detail/reactor/backend.hpp>
#include <corio/detail/reactor/epoll.hpp>
#include <corio/detail/reactor/io_uring.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>

namespace corio::detail {

/// Which backend a loop asks for; `automatic` reads CORIO_REACTOR from the
/// environment ("io_uring" or "epoll"; unset: io_uring).
enum class reactor_preference : unsigned char { automatic, epoll, io_uring };

/// The Linux reactor of a build with io_uring compiled in: io_uring when the
/// loop asks for it and the kernel gives a ring, epoll otherwise. The choice
/// is made once, when the loop is made; each member then takes one
/// predictable branch.
class io_uring_or_epoll_reactor {
public:
    explicit io_uring_or_epoll_reactor(reactor_preference preference = reactor_preference::automatic) {
        if (resolve(preference) == reactor_preference::io_uring) {
            try {
                m_uring.emplace();
                return;
            } catch (const std::system_error& refusal) {
                note_fallback(refusal);
            }
        }
        m_epoll.emplace();
    }

    void add(int fd, void* tag) { m_uring ? m_uring->add(fd, tag) : m_epoll->add(fd, tag); }
    void remove(int fd) noexcept { m_uring ? m_uring->remove(fd) : m_epoll->remove(fd); }

    template <class Sink>
    bool wait(int timeout_ms, Sink&& sink) {
        return m_uring ? m_uring->wait(timeout_ms, sink) : m_epoll->wait(timeout_ms, sink);
    }

    void wake() noexcept { m_uring ? m_uring->wake() : m_epoll->wake(); }
    void add_signal(int signum, void* tag) {
        m_uring ? m_uring->add_signal(signum, tag) : m_epoll->add_signal(signum, tag);
    }
    void remove_signal(int signum) noexcept {
        m_uring ? m_uring->remove_signal(signum) : m_epoll->remove_signal(signum);
    }
    [[nodiscard]] const char* name() const noexcept { return m_uring ? m_uring->name() : m_epoll->name(); }

    /// The io_uring backend, or null when this loop runs on epoll: sockets
    /// submit their reads and writes through it when it is there.
    [[nodiscard]] io_uring_reactor* completions() noexcept { return m_uring ? &*m_uring : nullptr; }

private:
    static reactor_preference resolve(reactor_preference preference) noexcept {
        if (preference != reactor_preference::automatic) {
            return preference;
        }
        const char* chosen = std::getenv("CORIO_REACTOR");
        if (chosen != nullptr && std::string_view(chosen) == "epoll") {
            return reactor_preference::epoll;
        }
        if (chosen != nullptr && *chosen != '\0' && std::string_view(chosen) != "io_uring") {
            std::fprintf(stderr, "corio: CORIO_REACTOR=%s is not \"io_uring\" or \"epoll\"; using io_uring\n",
                         chosen);
        }
        return reactor_preference::io_uring;
    }

    // One line per process, not per loop: a program making many loops on a
    // kernel that refuses io_uring would otherwise repeat it.
    static void note_fallback(const std::system_error& refusal) noexcept {
        static std::atomic<bool> noted{false};
        if (!noted.exchange(true)) {
            std::fprintf(stderr, "corio: io_uring unavailable (%s); using epoll\n", refusal.what());
        }
    }

    std::optional<io_uring_reactor> m_uring;
    std::optional<epoll_reactor> m_epoll;
};

static_assert(reactor_backend<io_uring_or_epoll_reactor>);

}  // namespace corio::detail
