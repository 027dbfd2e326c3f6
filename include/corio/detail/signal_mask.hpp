#pragma once

// Per-thread signal masks: the platform half of event_loop::add_signal_handler
// and of the thread pool's workers. POSIX only; nothing here is backend-specific.

#include <pthread.h>
#include <signal.h>

#include <stdexcept>
#include <string>
#include <system_error>

namespace corio::detail {

/// Throws std::invalid_argument unless `signum` is a signal a handler can be
/// added for: in range, and not SIGKILL / SIGSTOP (which cannot be caught or
/// blocked).
inline void check_signal_number(int signum) {
    if (signum <= 0 || signum >= NSIG || signum == SIGKILL || signum == SIGSTOP) {
        throw std::invalid_argument("corio: cannot watch signal " + std::to_string(signum));
    }
}

/// Blocks `signum` in the calling thread, so it stays pending until the
/// reactor collects it (signalfd only sees blocked signals). Returns whether
/// it was blocked already, so that unblock_signal restores the caller's mask.
inline bool block_signal(int signum) {
    sigset_t set;
    sigset_t previous;
    ::sigemptyset(&set);
    ::sigaddset(&set, signum);
    if (const int error = ::pthread_sigmask(SIG_BLOCK, &set, &previous); error != 0) {
        throw std::system_error(error, std::generic_category(), "pthread_sigmask");
    }
    return ::sigismember(&previous, signum) == 1;
}

/// Unblocks `signum` in the calling thread. An instance still pending was
/// meant for the handler being removed: it is discarded first (POSIX: setting
/// a pending signal's action to SIG_IGN discards it) instead of reaching the
/// previous disposition, which for most signals would end the process.
inline void unblock_signal(int signum) noexcept {
    sigset_t pending;
    ::sigemptyset(&pending);
    if (::sigpending(&pending) == 0 && ::sigismember(&pending, signum) == 1) {
        struct sigaction ignore {};
        struct sigaction previous {};
        ignore.sa_handler = SIG_IGN;
        ::sigemptyset(&ignore.sa_mask);
        if (::sigaction(signum, &ignore, &previous) == 0) {
            ::sigaction(signum, &previous, nullptr);
        }
    }
    sigset_t set;
    ::sigemptyset(&set);
    ::sigaddset(&set, signum);
    ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

/// Blocks every asynchronous signal in the calling thread for the scope's
/// life, so threads started inside the scope inherit a mask that keeps them
/// from taking signals meant for an event loop's handlers. Signals raised by
/// a fault (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP) stay deliverable:
/// blocking those is undefined behaviour.
class async_signals_blocked {
public:
    async_signals_blocked() noexcept {
        sigset_t set;
        ::sigfillset(&set);
        for (int synchronous : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP}) {
            ::sigdelset(&set, synchronous);
        }
        m_restore = ::pthread_sigmask(SIG_BLOCK, &set, &m_previous) == 0;
    }
    ~async_signals_blocked() {
        if (m_restore) {
            ::pthread_sigmask(SIG_SETMASK, &m_previous, nullptr);
        }
    }
    async_signals_blocked(const async_signals_blocked&) = delete;
    async_signals_blocked& operator=(const async_signals_blocked&) = delete;

private:
    sigset_t m_previous{};
    bool m_restore = false;
};

}  // namespace corio::detail
