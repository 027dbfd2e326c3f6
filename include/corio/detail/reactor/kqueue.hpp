#pragma once

#include <corio/detail/reactor/backend.hpp>

// The BSDs want <sys/types.h> before <sys/event.h>.
#include <sys/types.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/event.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <system_error>
#include <vector>

#include <algorithm>

// Cross-thread wake-ups use an EVFILT_USER knote where the platform has one,
// otherwise a self-pipe. Defining CORIO_KQUEUE_WAKE_PIPE forces the pipe (the
// tests use it to exercise the fallback).
#if defined(EVFILT_USER) && !defined(CORIO_KQUEUE_WAKE_PIPE)
#define CORIO_DETAIL_KQUEUE_USER_WAKE 1
#endif

namespace corio::detail {

/// macOS/BSD readiness backend: one kqueue, each fd registered once with an
/// EVFILT_READ and an EVFILT_WRITE knote, both EV_CLEAR (edge-triggered), plus
/// an EVFILT_USER knote (or a pipe) for cross-thread wake-ups.
///
/// `add` applies its registration at once, so a bad fd throws there. `remove`
/// is batched: it queues EV_DELETE changes that the next `wait` hands to the
/// kernel in the same kevent call that collects events (kevent applies the
/// change list first, so no event of a removed fd is ever reported). That is
/// safe because:
///  - `add` drops queued deletes for its fd: the number may have been closed
///    and reused, and a delete applied after the new registration would
///    silently unwatch the new file;
///  - the queue never holds more changes than `wait` has event slots, so each
///    failing delete is reported in a slot instead of making kevent give up on
///    the rest (with no room, kevent returns -1 at the first failure). Failing
///    is the common case: the fd was closed after `remove`, and closing
///    already dropped its knotes;
///  - kevent returns at once, with nothing but the failures, when a change
///    failed; `wait` then calls it again (with no changes left) so that the
///    wait still collects events and still blocks for its timeout.
/// Tags must not be null: a null udata marks the failures of queued deletes.
///
/// Signals are EVFILT_SIGNAL knotes. kqueue records a delivery attempt even
/// for an ignored signal, and the signal's own disposition still acts, so
/// `add_signal` sets the disposition to SIG_IGN (as libevent does) and
/// `remove_signal` puts the previous one back; the loop also keeps the signal
/// blocked in its thread (which the Linux emulation, built on signalfd, needs).
/// Signal changes are applied at once, never queued.
class kqueue_reactor {
public:
    kqueue_reactor() {
        m_pending.reserve(max_pending);
        m_kqueue_fd = ::kqueue();
        if (m_kqueue_fd < 0) {
            throw std::system_error(errno, std::generic_category(), "kqueue");
        }
        // kqueue descriptors are not inherited by fork, but exec would keep one.
        ::fcntl(m_kqueue_fd, F_SETFD, FD_CLOEXEC);
        try {
            open_wake();
        } catch (...) {
            ::close(m_kqueue_fd);
            throw;
        }
    }

    kqueue_reactor(const kqueue_reactor&) = delete;
    kqueue_reactor& operator=(const kqueue_reactor&) = delete;

    ~kqueue_reactor() {
        while (!m_signals.empty()) {
            remove_signal(m_signals.back().signum);
        }
#if !defined(CORIO_DETAIL_KQUEUE_USER_WAKE)
        ::close(m_wake_pipe[0]);
        ::close(m_wake_pipe[1]);
#endif
        ::close(m_kqueue_fd);
    }

    void add(int fd, void* tag) {
        forget_pending(fd);
        struct kevent changes[2] = {
            make_change(fd, EVFILT_READ, EV_ADD | EV_CLEAR, 0, tag),
            make_change(fd, EVFILT_WRITE, EV_ADD | EV_CLEAR, 0, tag),
        };
        if (::kevent(m_kqueue_fd, changes, 2, nullptr, 0, nullptr) < 0) {
            const int error = errno;
            // kevent stops at the first failing change: the read knote may be in.
            // (The write knote may be left from a registration whose queued
            // delete forget_pending just dropped.)
            delete_now(fd, EVFILT_READ);
            delete_now(fd, EVFILT_WRITE);
            throw std::system_error(error, std::generic_category(), "kevent(EV_ADD)");
        }
    }

    void remove(int fd) noexcept {
        if (m_pending.size() + 2 > max_pending) {
            // No slot left to report a failure in: apply this one now (and
            // ignore failure: then the fd is closed and its knotes are gone).
            delete_now(fd, EVFILT_READ);
            delete_now(fd, EVFILT_WRITE);
            return;
        }
        // Within the reserved capacity: push_back does not allocate.
        m_pending.push_back(make_change(fd, EVFILT_READ, EV_DELETE, 0, nullptr));
        m_pending.push_back(make_change(fd, EVFILT_WRITE, EV_DELETE, 0, nullptr));
    }

    template <class Sink>
    bool wait(int timeout_ms, Sink&& sink) {
        timespec limit{};
        const timespec* timeout = nullptr;
        if (timeout_ms >= 0) {
            limit.tv_sec = timeout_ms / 1000;
            limit.tv_nsec = static_cast<long>(timeout_ms % 1000) * 1'000'000L;
            timeout = &limit;
        }
        struct kevent events[max_events];
        int count = 0;
        for (;;) {
            const int changes = static_cast<int>(m_pending.size());
            count = ::kevent(m_kqueue_fd, m_pending.data(), changes, events, max_events, timeout);
            if (count < 0 && errno != EINTR) {
                throw std::system_error(errno, std::generic_category(), "kevent");
            }
            // On EINTR too: kevent(2) applies every change before it can be interrupted.
            m_pending.clear();
            if (count < 0) {
                return false;
            }
            if (changes == 0 || !only_failed_deletes(events, count)) {
                break;
            }
        }

        bool woken = false;
        // A fd's two knotes come back as two events; the sink hears of each fd
        // once per wait, as with epoll. Batches are small and bounded by
        // max_events, so a backward scan is cheaper than any map.
        struct ready_fd {
            void* tag;
            io_events events;
        };
        ready_fd ready[max_events];
        int ready_count = 0;
        for (int i = 0; i < count; ++i) {
            const struct kevent& event = events[i];
            if (is_wake(event)) {
                woken = true;
                continue;
            }
            // NetBSD before 10 declares udata as intptr_t; the cast fits both.
            void* const tag = reinterpret_cast<void*>(event.udata);
            if (tag == nullptr) {
                continue;  // a queued delete that failed: the fd was closed, its knotes with it
            }
            io_events bits = 0;
            if (event.filter == EVFILT_READ) {
                bits |= io_readable;
            } else if (event.filter == EVFILT_WRITE) {
                bits |= io_writable;
            } else if (event.filter == EVFILT_SIGNAL) {
                bits |= io_readable;  // data holds the delivery count; the loop needs only the fact
            }
            // EV_ERROR on a registered knote (a filter failing after the fact) is
            // reported like EV_EOF: both directions retry and learn the error.
            if ((event.flags & (EV_EOF | EV_ERROR)) != 0) {
                bits |= io_closed;
            }
            int slot = ready_count;
            for (int j = ready_count - 1; j >= 0; --j) {
                if (ready[j].tag == tag) {
                    slot = j;
                    break;
                }
            }
            if (slot == ready_count) {
                ready[ready_count++] = {tag, 0};
            }
            ready[slot].events |= bits;
        }
        for (int i = 0; i < ready_count; ++i) {
            sink(ready[i].tag, ready[i].events);
        }
        return woken;
    }

    void wake() noexcept {
#if defined(CORIO_DETAIL_KQUEUE_USER_WAKE)
        // The same udata as registered: some kernels store a change's udata even
        // on a plain trigger. Failure means the kqueue is gone: nobody to wake.
        struct kevent trigger = make_change(wake_ident, EVFILT_USER, 0, NOTE_TRIGGER, this);
        ::kevent(m_kqueue_fd, &trigger, 1, nullptr, 0, nullptr);
#else
        const char byte = 0;
        // A full pipe (EAGAIN) is still readable, which is all we need.
        [[maybe_unused]] const ssize_t n = ::write(m_wake_pipe[1], &byte, 1);
#endif
    }

    void add_signal(int signum, void* tag) {
        struct kevent change = make_change(static_cast<std::uintptr_t>(signum), EVFILT_SIGNAL,
                                           EV_ADD | EV_CLEAR, 0, tag);
        const auto it = find_signal(signum);
        if (it != m_signals.end()) {
            // EV_ADD on an existing knote just replaces its udata.
            if (::kevent(m_kqueue_fd, &change, 1, nullptr, 0, nullptr) < 0) {
                throw std::system_error(errno, std::generic_category(), "kevent(EVFILT_SIGNAL)");
            }
            return;
        }
        m_signals.reserve(m_signals.size() + 1);  // the push_back below cannot throw then
        struct sigaction ignore {};
        struct sigaction previous {};
        ignore.sa_handler = SIG_IGN;
        ::sigemptyset(&ignore.sa_mask);
        if (::sigaction(signum, &ignore, &previous) < 0) {
            throw std::system_error(errno, std::generic_category(), "sigaction");
        }
        if (::kevent(m_kqueue_fd, &change, 1, nullptr, 0, nullptr) < 0) {
            const int error = errno;
            ::sigaction(signum, &previous, nullptr);
            throw std::system_error(error, std::generic_category(), "kevent(EVFILT_SIGNAL)");
        }
        m_signals.push_back({signum, previous});
    }

    [[nodiscard]] const char* name() const noexcept { return "kqueue"; }

    void remove_signal(int signum) noexcept {
        const auto it = find_signal(signum);
        if (it == m_signals.end()) {
            return;
        }
        struct kevent change = make_change(static_cast<std::uintptr_t>(signum), EVFILT_SIGNAL,
                                           EV_DELETE, 0, nullptr);
        // Only fails if the knote is gone already, which is what we want.
        ::kevent(m_kqueue_fd, &change, 1, nullptr, 0, nullptr);
        ::sigaction(signum, &it->previous, nullptr);
        m_signals.erase(it);
    }

private:
    static constexpr int max_events = 256;

    struct watched_signal {
        int signum;
        struct sigaction previous;  // disposition before add_signal set SIG_IGN
    };

    std::vector<watched_signal>::iterator find_signal(int signum) noexcept {
        return std::find_if(m_signals.begin(), m_signals.end(),
                            [signum](const watched_signal& entry) { return entry.signum == signum; });
    }
    // Every queued change must find an event slot to fail in (see the class comment).
    static constexpr std::size_t max_pending = max_events;
    static constexpr std::uintptr_t wake_ident = 0;  // EVFILT_USER idents are their own namespace

    static struct kevent make_change(std::uintptr_t ident, int filter, int flags, unsigned fflags,
                                     void* tag) noexcept {
        struct kevent change {};
        EV_SET(&change, ident, filter, flags, fflags, 0, 0);
        change.udata = reinterpret_cast<decltype(change.udata)>(tag);
        return change;
    }
    static struct kevent make_change(int fd, int filter, int flags, unsigned fflags,
                                     void* tag) noexcept {
        return make_change(static_cast<std::uintptr_t>(fd), filter, flags, fflags, tag);
    }

    void delete_now(int fd, int filter) noexcept {
        struct kevent change = make_change(fd, filter, EV_DELETE, 0, nullptr);
        ::kevent(m_kqueue_fd, &change, 1, nullptr, 0, nullptr);
    }

    void forget_pending(int fd) noexcept {
        const auto ident = static_cast<std::uintptr_t>(fd);
        std::size_t kept = 0;
        for (const struct kevent& change : m_pending) {
            if (change.ident != ident) {
                m_pending[kept++] = change;
            }
        }
        m_pending.resize(kept);
    }

    // Whether a batch is only the failures of queued deletes (which carry a
    // null udata), i.e. kevent returned before waiting for anything.
    static bool only_failed_deletes(const struct kevent* events, int count) noexcept {
        for (int i = 0; i < count; ++i) {
            if ((events[i].flags & EV_ERROR) == 0 ||
                reinterpret_cast<void*>(events[i].udata) != nullptr) {
                return false;
            }
        }
        return count != 0;
    }

#if defined(CORIO_DETAIL_KQUEUE_USER_WAKE)
    void open_wake() {
        // EV_CLEAR: any number of triggers before a wait is one wake-up.
        struct kevent change =
            make_change(wake_ident, EVFILT_USER, EV_ADD | EV_CLEAR, NOTE_FFNOP, this);
        if (::kevent(m_kqueue_fd, &change, 1, nullptr, 0, nullptr) < 0) {
            throw std::system_error(errno, std::generic_category(), "kevent(EVFILT_USER)");
        }
    }

    static bool is_wake(const struct kevent& event) noexcept {
        return event.filter == EVFILT_USER;
    }
#else
    void open_wake() {
        if (::pipe(m_wake_pipe) < 0) {
            throw std::system_error(errno, std::generic_category(), "pipe");
        }
        for (int fd : m_wake_pipe) {
            ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
            ::fcntl(fd, F_SETFD, FD_CLOEXEC);
        }
        struct kevent change = make_change(m_wake_pipe[0], EVFILT_READ, EV_ADD | EV_CLEAR, 0, this);
        if (::kevent(m_kqueue_fd, &change, 1, nullptr, 0, nullptr) < 0) {
            const int error = errno;
            ::close(m_wake_pipe[0]);
            ::close(m_wake_pipe[1]);
            throw std::system_error(error, std::generic_category(), "kevent(wake pipe)");
        }
    }

    bool is_wake(const struct kevent& event) noexcept {
        if (event.filter != EVFILT_READ ||
            event.ident != static_cast<std::uintptr_t>(m_wake_pipe[0])) {
            return false;
        }
        // Drained so the pipe never fills; EV_CLEAR makes each later write a new event.
        char buffer[64];
        while (::read(m_wake_pipe[0], buffer, sizeof buffer) > 0) {
        }
        return true;
    }

    int m_wake_pipe[2] = {-1, -1};
#endif

    int m_kqueue_fd = -1;
    std::vector<struct kevent> m_pending;  // queued EV_DELETE changes, flushed by the next wait
    std::vector<watched_signal> m_signals;  // EVFILT_SIGNAL knotes (a handful at most)
};

static_assert(reactor_backend<kqueue_reactor>);

}  // namespace corio::detail
