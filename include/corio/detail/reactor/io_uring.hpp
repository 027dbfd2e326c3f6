#pragma once

#include <corio/detail/reactor/backend.hpp>
#include <corio/detail/reactor/io_uring_buffers.hpp>
#include <corio/detail/reactor/signal_fd.hpp>
#include <corio/errors.hpp>

#include <liburing.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <system_error>
#include <utility>
#include <vector>

namespace corio::detail {

/// Linux completion backend on io_uring (liburing).
///
/// Watched fds keep the readiness contract of reactor_backend through one
/// multishot poll each (edge-triggered, as io_uring's multishot poll is by
/// default), so every readiness user works unchanged; sockets additionally
/// submit their reads and writes as operations (submit()), completed in the
/// same pass. Every submission is made by wait(): one io_uring_enter both
/// submits what the iteration queued and waits for completions. Cross-thread
/// wake-ups complete a read of an eventfd that is kept armed; signals arrive
/// through a polled signalfd.
///
/// The ring is made with SINGLE_ISSUER and DEFER_TASKRUN where the kernel
/// has them, disabled until the first wait(): the thread that first runs the
/// loop becomes the ring's one submitter, whichever thread made it, and
/// claim_submitter_thread() refuses any other.
class io_uring_reactor {
public:
    /// Makes the ring; throws std::system_error when the kernel refuses
    /// (io_uring_disabled, a seccomp filter, a kernel without io_uring).
    io_uring_reactor() {
        int result = -EINVAL;
        for (unsigned flags : {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, 0U}) {
            io_uring_params params{};
            params.flags = flags | IORING_SETUP_R_DISABLED | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN |
                           IORING_SETUP_CQSIZE;
            params.cq_entries = completion_entries;
            result = ::io_uring_queue_init_params(submission_entries, &m_ring, &params);
            m_single_issuer = (flags & IORING_SETUP_SINGLE_ISSUER) != 0;
            if (result != -EINVAL) {
                break;  // kernels before 6.1 refuse DEFER_TASKRUN with EINVAL: try without
            }
        }
        if (result < 0) {
            throw std::system_error(-result, std::generic_category(), "io_uring_queue_init");
        }
        m_wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (m_wake_fd < 0) {
            const int error = errno;
            ::io_uring_queue_exit(&m_ring);
            throw std::system_error(error, std::generic_category(), "eventfd");
        }
        arm_wake_read();
    }

    io_uring_reactor(const io_uring_reactor&) = delete;
    io_uring_reactor& operator=(const io_uring_reactor&) = delete;

    ~io_uring_reactor() {
        // Exiting the ring cancels what is in flight; no completion is delivered after.
        ::io_uring_queue_exit(&m_ring);
        ::close(m_wake_fd);
        for (poll_watch* watch : m_watches) {
            delete watch;
        }
        while (m_retiring != nullptr) {
            delete std::exchange(m_retiring, m_retiring->next_retiring);
        }
        for (const orphan& left : m_orphans) {
            left.destroy(left.operation);
        }
    }

    void add(int fd, void* tag) {
        // A poll on a bad fd would fail only in its completion; epoll_ctl
        // refuses it at once, and so does this.
        if (::fcntl(fd, F_GETFD) < 0) {
            throw std::system_error(errno, std::generic_category(), "io_uring poll");
        }
        auto watch = std::make_unique<poll_watch>();
        watch->tag = tag;
        watch->fd = fd;
        if (static_cast<std::size_t>(fd) >= m_watches.size()) {
            m_watches.resize(static_cast<std::size_t>(fd) + 1);
        }
        arm_poll(*watch);
        m_watches[static_cast<std::size_t>(fd)] = watch.release();
    }

    void remove(int fd) noexcept {
        if (fd < 0 || static_cast<std::size_t>(fd) >= m_watches.size()) {
            return;
        }
        poll_watch* watch = std::exchange(m_watches[static_cast<std::size_t>(fd)], nullptr);
        if (watch == nullptr) {
            return;
        }
        // Its last completion (the poll ends, cancelled) frees it: until then
        // a completion already posted may still name it.
        watch->removed = true;
        watch->next_retiring = m_retiring;
        if (m_retiring != nullptr) {
            m_retiring->previous_retiring = watch;
        }
        m_retiring = watch;
        queue_poll_removal(*watch);
        // The poll holds the file open: end it now, so that the caller's
        // close() closes the socket (a listener's port is free at once).
        flush();
    }

    /// Submits what is queued and runs the kernel's deferred work now, not at
    /// the next wait: operations cancelled because their socket is being
    /// closed let go of its file before the caller closes the fd.
    void flush() noexcept {
        if (::io_uring_sq_ready(&m_ring) > 0) {
            enable_once();
            ::io_uring_submit_and_get_events(&m_ring);
        }
    }

    /// Called as the loop starts running: the first thread to run it becomes
    /// the ring's submitter. A ring made SINGLE_ISSUER refuses every other
    /// thread's io_uring_enter (EEXIST), so running the loop later on another
    /// thread is refused here, before any task runs there, with a named error.
    void claim_submitter_thread() {
        if (!m_enabled) {
            enable_once();
            return;
        }
        if (m_single_issuer && ::gettid() != m_submitter) {
            throw event_loop_error(
                "corio: this event loop runs on io_uring, which binds it to the thread that first ran it; "
                "run it there, make one loop per thread, or make it with corio::io_backend::epoll");
        }
    }

    /// Queues an operation prepared by `prepare(sqe)`; its completion calls
    /// `operation.on_complete` on the loop thread, in a later wait(). It is
    /// submitted by the next wait().
    template <class Prepare>
    void submit(io_completion& operation, Prepare&& prepare) {
        io_uring_sqe* sqe = next_sqe();
        prepare(sqe);
        ::io_uring_sqe_set_data64(sqe, encode(&operation, kind_operation));
    }

    /// Asks the kernel to end `operation` early; its completion still comes
    /// (with -ECANCELED, or its result if it finished first).
    void cancel(io_completion& operation) noexcept { queue_cancel(encode(&operation, kind_operation)); }

    /// Takes charge of an operation whose owner has gone while the kernel
    /// still has it (a multishot being cancelled): the operation destroys
    /// itself at its last completion, after forget(); whatever the ring
    /// still holds when it is destroyed is destroyed with it.
    void adopt(io_completion& operation, void (*destroy)(io_completion*) noexcept) {
        m_orphans.push_back({&operation, destroy});
    }
    void forget(io_completion& operation) noexcept {
        for (std::size_t i = 0; i < m_orphans.size(); ++i) {
            if (m_orphans[i].operation == &operation) {
                m_orphans[i] = m_orphans.back();
                m_orphans.pop_back();
                return;
            }
        }
    }

    /// The buffers multishot receives take from, registered at the first
    /// call; null when stream reads go one recv at a time: the kernel refused
    /// the buffer ring, or the environment has CORIO_RECV_MULTISHOT=0.
    [[nodiscard]] provided_buffers* receive_buffers() noexcept {
        if (!m_buffers_tried) {
            m_buffers_tried = true;
            const char* setting = std::getenv("CORIO_RECV_MULTISHOT");
            if (setting == nullptr || std::strcmp(setting, "0") != 0) {
                enable_once();
                m_buffers = provided_buffers::make(m_ring);
            }
        }
        return m_buffers.get();
    }

    template <class Sink>
    bool wait(int timeout_ms, Sink&& sink) {
        enable_once();
        int result = 0;
        if (timeout_ms == 0) {
            result = ::io_uring_submit_and_get_events(&m_ring);
        } else if (timeout_ms < 0) {
            io_uring_cqe* cqe = nullptr;
            result = ::io_uring_submit_and_wait_timeout(&m_ring, &cqe, 1, nullptr, nullptr);
        } else {
            __kernel_timespec timeout{};
            timeout.tv_sec = timeout_ms / 1000;
            timeout.tv_nsec = static_cast<long long>(timeout_ms % 1000) * 1'000'000;
            io_uring_cqe* cqe = nullptr;
            result = ::io_uring_submit_and_wait_timeout(&m_ring, &cqe, 1, &timeout, nullptr);
        }
        if (result < 0 && result != -ETIME && result != -EINTR && result != -EAGAIN && result != -EBUSY) {
            throw std::system_error(-result, std::generic_category(), "io_uring_enter");
        }
        bool woken = false;
        unsigned head = 0;
        unsigned seen = 0;
        io_uring_cqe* cqe = nullptr;
        io_uring_for_each_cqe(&m_ring, head, cqe) {
            ++seen;
            const std::uint64_t data = ::io_uring_cqe_get_data64(cqe);
            switch (data & kind_mask) {
            case kind_operation: {
                auto* operation = reinterpret_cast<io_completion*>(data & ~kind_mask);
                operation->on_complete(operation, cqe->res, cqe->flags);
                break;
            }
            case kind_poll:
                deliver_poll(*reinterpret_cast<poll_watch*>(data & ~kind_mask), cqe->res, cqe->flags, sink);
                break;
            case kind_poll_removal:
                removal_done(*reinterpret_cast<poll_watch*>(data & ~kind_mask), cqe->res);
                break;
            case kind_cancel:
                // EALREADY: the operation was mid-way (a wake-up pending) and
                // goes on; ask again until it ends. It is still in flight
                // (it would have been ENOENT otherwise), so its key is live.
                if (cqe->res == -EALREADY) {
                    queue_cancel((data & ~kind_mask) | kind_operation);
                }
                break;
            default:
                if (data == kind_wake) {
                    woken = true;
                    arm_wake_read();
                } else if (data == kind_signals) {
                    m_signals.read(sink);
                    if ((cqe->flags & IORING_CQE_F_MORE) == 0) {
                        arm_signal_poll();
                    }
                }
                break;
            }
        }
        ::io_uring_cq_advance(&m_ring, seen);
        return woken;
    }

    void wake() noexcept {
        const std::uint64_t one = 1;
        // A full counter (EAGAIN) still completes the armed read, which is all we need.
        [[maybe_unused]] ssize_t n = ::write(m_wake_fd, &one, sizeof one);
    }

    void add_signal(int signum, void* tag) {
        if (m_signals.watch(signum, tag)) {
            arm_signal_poll();
        }
    }

    [[nodiscard]] const char* name() const noexcept { return "io_uring"; }

    void remove_signal(int signum) noexcept { m_signals.unwatch(signum); }

private:
    static constexpr unsigned submission_entries = 256;
    static constexpr unsigned completion_entries = 4096;

    // user_data: a pointer (8-aligned) with its kind in the low bits, or one
    // of the fixed values below (kind 0 in the low bits, never a real pointer).
    static constexpr std::uint64_t kind_mask = 7;
    static constexpr std::uint64_t kind_fixed = 0;
    static constexpr std::uint64_t kind_operation = 1;
    static constexpr std::uint64_t kind_poll = 2;
    static constexpr std::uint64_t kind_poll_removal = 3;
    static constexpr std::uint64_t kind_cancel = 4;
    static constexpr std::uint64_t kind_wake = 8 | kind_fixed;
    static constexpr std::uint64_t kind_signals = 16 | kind_fixed;

    struct poll_watch {
        void* tag = nullptr;
        int fd = -1;
        bool removed = false;
        bool poll_ended = false;       // removed, and its poll's last completion came
        unsigned removals_pending = 0;  // POLL_REMOVEs whose completion has not come
        // Removed watches whose poll has not ended yet, linked for the destructor.
        poll_watch* previous_retiring = nullptr;
        poll_watch* next_retiring = nullptr;
    };

    template <class T>
    static std::uint64_t encode(T* pointer, std::uint64_t kind) noexcept {
        return reinterpret_cast<std::uintptr_t>(pointer) | kind;
    }

    // A free submission slot; a full queue is submitted first (the loop's
    // own thread, in the middle of an iteration: still the ring's submitter).
    io_uring_sqe* next_sqe() noexcept {
        io_uring_sqe* sqe = ::io_uring_get_sqe(&m_ring);
        while (sqe == nullptr) {
            enable_once();
            ::io_uring_submit(&m_ring);
            sqe = ::io_uring_get_sqe(&m_ring);
        }
        return sqe;
    }

    // liburing 2.3 declares io_uring_enable_rings but does not export it: the
    // registration it wraps is made directly.
    void enable_once() noexcept {
        if (!m_enabled) {
            ::syscall(__NR_io_uring_register, m_ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0);
            m_enabled = true;
            m_submitter = ::gettid();
        }
    }

    // A removed watch is freed once its poll ended and no removal of it is
    // in flight: until then a completion may still name it.
    void release_if_done(poll_watch& watch) noexcept {
        if (!watch.poll_ended || watch.removals_pending != 0) {
            return;
        }
        (watch.previous_retiring != nullptr ? watch.previous_retiring->next_retiring : m_retiring) =
            watch.next_retiring;
        if (watch.next_retiring != nullptr) {
            watch.next_retiring->previous_retiring = watch.previous_retiring;
        }
        delete &watch;
    }

    void queue_poll_removal(poll_watch& watch) noexcept {
        io_uring_sqe* sqe = next_sqe();
        ::io_uring_prep_poll_remove(sqe, encode(&watch, kind_poll));
        ::io_uring_sqe_set_data64(sqe, encode(&watch, kind_poll_removal));
        ++watch.removals_pending;
    }

    // EALREADY: a wake-up of the poll was being handled, and that re-arms a
    // multishot poll; the removal must be made again, or the poll (and the
    // file it holds: a closed socket would never send its FIN) lives on.
    void removal_done(poll_watch& watch, int result) noexcept {
        --watch.removals_pending;
        if (result == -EALREADY && !watch.poll_ended) {
            queue_poll_removal(watch);
        }
        release_if_done(watch);
    }

    void queue_cancel(std::uint64_t key) noexcept {
        io_uring_sqe* sqe = next_sqe();
        ::io_uring_prep_cancel64(sqe, key, 0);
        ::io_uring_sqe_set_data64(sqe, (key & ~kind_mask) | kind_cancel);
    }

    void arm_poll(poll_watch& watch) {
        io_uring_sqe* sqe = next_sqe();
        ::io_uring_prep_poll_multishot(sqe, watch.fd, POLLIN | POLLOUT | POLLRDHUP);
        ::io_uring_sqe_set_data64(sqe, encode(&watch, kind_poll));
    }

    void arm_wake_read() {
        io_uring_sqe* sqe = next_sqe();
        ::io_uring_prep_read(sqe, m_wake_fd, &m_wake_value, sizeof m_wake_value, 0);
        ::io_uring_sqe_set_data64(sqe, kind_wake);
    }

    void arm_signal_poll() {
        io_uring_sqe* sqe = next_sqe();
        ::io_uring_prep_poll_multishot(sqe, m_signals.fd(), POLLIN);
        ::io_uring_sqe_set_data64(sqe, kind_signals);
    }

    template <class Sink>
    void deliver_poll(poll_watch& watch, int result, unsigned flags, Sink& sink) {
        const bool more = (flags & IORING_CQE_F_MORE) != 0;
        if (watch.removed) {
            if (!more) {
                watch.poll_ended = true;
                release_if_done(watch);
            }
            return;
        }
        if (result >= 0) {
            const auto mask = static_cast<unsigned>(result);
            io_events ready = 0;
            if ((mask & POLLIN) != 0) ready |= io_readable;
            if ((mask & POLLOUT) != 0) ready |= io_writable;
            if ((mask & (POLLERR | POLLHUP | POLLRDHUP)) != 0) ready |= io_closed;
            if (ready != 0) {
                sink(watch.tag, ready);
            }
        }
        if (!more) {
            // The kernel ended the multishot poll (an overflowing completion
            // queue, an error): arm it again, and let the waiters retry their
            // syscall, as an edge may have been lost meanwhile.
            arm_poll(watch);
            if (result < 0) {
                sink(watch.tag, io_readable | io_writable);
            }
        }
    }

    io_uring m_ring{};
    bool m_enabled = false;
    bool m_single_issuer = false;
    // The kernel's thread id, not std::thread::id: a thread made after the
    // submitter ended may get its pthread id, never its task.
    pid_t m_submitter = 0;
    int m_wake_fd = -1;
    std::uint64_t m_wake_value = 0;  // where the armed eventfd read puts the count
    signal_fd m_signals;
    std::vector<poll_watch*> m_watches;  // by fd: the live poll of each watched fd
    poll_watch* m_retiring = nullptr;    // removed, their poll's last completion still to come
    struct orphan {
        io_completion* operation;
        void (*destroy)(io_completion*) noexcept;
    };
    std::vector<orphan> m_orphans;  // see adopt()
    // Freed after the destructor's body, in which adopted receive feeds give theirs back.
    std::unique_ptr<provided_buffers> m_buffers;
    bool m_buffers_tried = false;
};

static_assert(reactor_backend<io_uring_reactor>);

}  // namespace corio::detail
