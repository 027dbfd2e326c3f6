#pragma once

#include <corio/detail/config.hpp>
#include <corio/detail/io_source.hpp>
#include <corio/event_loop.hpp>
#include <corio/task.hpp>

#include <stdexcept>
#include <string>

namespace corio {

/// Waits for readiness of a file descriptor corio does not own — the way to
/// wire in a library that exposes a socket (libpq, c-ares, libcurl multi),
/// like asyncio's loop.add_reader / add_writer but awaited.
///
///     corio::fd_watcher watcher(PQsocket(conn));
///     while (PQisBusy(conn)) {
///         co_await watcher.readable();
///         PQconsumeInput(conn);
///     }
///
/// The fd is registered with the running loop once, for the watcher's life:
/// destroy (or detach()) the watcher before the fd is closed. Readiness is
/// edge-triggered with memory: an edge seen while nobody waits makes the next
/// wait return at once, and a wait may return when the fd is not ready after
/// all (another reader drained it), so always try the operation first and
/// wait only when it would block. One coroutine at a time may wait in each
/// direction (a second gets std::logic_error). Waits are cancellation points;
/// a wait on a detached watcher throws cancelled_error.
class fd_watcher {
public:
    /// Watches `fd` on the running loop; `fd` must be a valid descriptor the
    /// reactor accepts (a socket, pipe or eventfd: regular files are refused
    /// by epoll) — otherwise std::system_error.
    explicit fd_watcher(int fd) : fd_watcher(get_running_loop(), fd) {}
    /// Watches `fd` on `loop` (use it on that loop's thread only).
    fd_watcher(event_loop& loop, int fd) : m_source(loop, checked(fd)) {}

    fd_watcher(const fd_watcher&) = delete;
    fd_watcher& operator=(const fd_watcher&) = delete;

    /// The watched descriptor; -1 after detach().
    [[nodiscard]] int fd() const noexcept { return m_source.fd(); }

    /// Resumes once the fd may be readable (or has an error or hang-up).
    [[nodiscard]] auto readable() noexcept { return m_source.readable(); }
    /// Resumes once the fd may be writable (or has an error or hang-up).
    [[nodiscard]] auto writable() noexcept { return m_source.writable(); }

    /// True once the reactor reported a hang-up or error on the fd.
    [[nodiscard]] bool peer_closed() const noexcept { return m_source.peer_closed(); }

    /// Stops watching (call before closing the fd if the watcher outlives
    /// it); coroutines still waiting resume with cancelled_error.
    void detach() noexcept { m_source.detach(); }

private:
    static int checked(int fd) {
        if (fd < 0) {
            throw std::invalid_argument("corio::fd_watcher: invalid file descriptor " + std::to_string(fd));
        }
        return fd;
    }

    detail::io_source m_source;
};

/// Resumes once `fd` may be readable. Registers and unregisters the fd on
/// each call (two system calls): for repeated waits keep an fd_watcher.
/// The fd must not be watched by anything else on this loop meanwhile.
CORIO_HEADER_COROUTINE
inline task<void> wait_readable(int fd) {
    fd_watcher watcher(fd);
    co_await watcher.readable();
}

/// Resumes once `fd` may be writable; see wait_readable.
CORIO_HEADER_COROUTINE
inline task<void> wait_writable(int fd) {
    fd_watcher watcher(fd);
    co_await watcher.writable();
}

}  // namespace corio
