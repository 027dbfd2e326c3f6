#pragma once

#include <concepts>

namespace corio::detail {

/// Readiness bits a reactor reports for a watched file descriptor.
using io_events = unsigned;
inline constexpr io_events io_readable = 1U;
inline constexpr io_events io_writable = 2U;
/// Error or hang-up: both directions should retry their syscall to learn which.
inline constexpr io_events io_closed = 4U;

/// What the event loop needs from an operating-system readiness API.
///
/// - `add(fd, tag)` watches fd for both directions, edge-triggered, once for
///   the fd's whole life; readiness is later reported with the same tag.
/// - `remove(fd)` stops watching; called before the fd is closed.
/// - `wait(timeout_ms, sink)` blocks up to timeout_ms (-1: no limit, 0: poll)
///   and calls `sink(tag, events)` per ready fd; returns true when `wake()`
///   interrupted it.
/// - `wake()` is the one member safe to call from any thread.
/// - `add_signal(signum, tag)` watches a signal number (the caller keeps it
///   blocked in the loop thread); each delivery collected by `wait` is
///   reported as `sink(tag, io_readable)`, several deliveries of one signal
///   in one wait possibly as one. Adding a watched signal again replaces its
///   tag. `remove_signal(signum)` stops watching (nothing if not watched).
/// - `name()` says which backend runs ("epoll", "io_uring", "kqueue").
template <class Reactor>
concept reactor_backend =
    requires(Reactor& reactor, int fd, int signum, void* tag, int timeout_ms,
             void (*sink)(void*, io_events)) {
        reactor.add(fd, tag);
        { reactor.remove(fd) } noexcept;
        { reactor.wait(timeout_ms, sink) } -> std::same_as<bool>;
        { reactor.wake() } noexcept;
        reactor.add_signal(signum, tag);
        { reactor.remove_signal(signum) } noexcept;
        { reactor.name() } noexcept -> std::same_as<const char*>;
    };

}  // namespace corio::detail

namespace corio::detail {

/// What the loop hands a reactor as the tag of a watched fd: readiness for the
/// fd is delivered by calling on_events on the loop thread.
struct io_watch {
    void (*on_events)(io_watch* self, io_events events) noexcept = nullptr;
};

/// An operation handed to a completion-based reactor (io_uring): its
/// completion is delivered by calling on_complete on the loop thread with
/// the operation's result (a count, or -errno) and the completion's flags.
struct io_completion {
    void (*on_complete)(io_completion* self, int result, unsigned flags) noexcept = nullptr;
};

}  // namespace corio::detail
