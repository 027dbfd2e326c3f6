#pragma once

// Operations that complete through io_uring rather than by readiness: only
// in a build with io_uring compiled in (CORIO_REACTOR_IO_URING).

#include <corio/detail/reactor.hpp>

#if defined(CORIO_REACTOR_IO_URING)

#include <corio/detail/cancellable_awaiter.hpp>
#include <corio/event_loop.hpp>

#include <cerrno>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace corio::detail {

/// What a completed operation gave: the kernel's result (a count, or -errno)
/// and whether a cancellation reached it while it ran. -ECANCELED with
/// cancel_requested: the caller throws the cancellation (rethrow_cancellation).
/// A result that won the race with the cancellation stands, and the request
/// is kept for the strand's next suspension point.
struct completion_outcome {
    int result = 0;
    bool cancel_requested = false;
};

/// One io_uring operation awaited by one coroutine. `prepare(sqe)` fills the
/// submission; `in_flight` (the socket's slot for the direction) points at
/// the operation while the kernel has it, so closing the socket can cancel
/// it. The awaiter outlives its operation: a cancellation asks the kernel to
/// end it (IORING_OP_ASYNC_CANCEL) and the coroutine resumes only when the
/// operation's own completion has arrived.
template <class Prepare>
class completion_operation : public cancellable_awaiter<completion_operation<Prepare>>, private io_completion {
public:
    completion_operation(event_loop& loop, io_uring_reactor& ring, io_completion*& in_flight, Prepare prepare)
        : m_loop(loop), m_ring(ring), m_in_flight(in_flight), m_prepare(std::move(prepare)) {
        on_complete = &complete;
    }
    completion_operation(const completion_operation&) = delete;
    completion_operation& operator=(const completion_operation&) = delete;
    // Only a frame destroyed while suspended (its loop closing: no completion
    // is delivered after that) ends with the operation still in flight; the
    // socket must then not name it in a cancellation.
    ~completion_operation() {
        if (m_in_flight == this) {
            m_in_flight = nullptr;
        }
    }

    [[nodiscard]] bool await_ready() const noexcept { return false; }

private:
    friend cancellable_awaiter<completion_operation>;

    // A cancellation already pending does not start the operation.
    template <class Promise>
    bool start(std::coroutine_handle<Promise> waiting) {
        m_waiting = waiting;
        m_ring.submit(*this, m_prepare);
        m_in_flight = this;
        return true;
    }

    // Forwarded to the kernel; the completion tells what happened.
    bool cancel() noexcept {
        m_cancel_requested = true;
        m_ring.cancel(*this);
        return false;
    }

    [[nodiscard]] completion_outcome result() noexcept {
        if (m_cancel_requested && m_result != -ECANCELED) {
            // The operation finished first: its result stands (bytes read are
            // not lost), and the request goes to the strand's next suspension.
            if (task_context* strand = this->strand()) {
                strand->request_cancel(strand->cause());
            }
        }
        return {m_result, m_cancel_requested};
    }

    static void complete(io_completion* self, int result, unsigned /*flags*/) noexcept {
        auto& operation = static_cast<completion_operation&>(*self);
        operation.m_result = result;
        if (operation.m_in_flight == self) {
            operation.m_in_flight = nullptr;
        }
        // Done: a request arriving before the coroutine runs waits for its next suspension.
        operation.disarm();
        operation.m_loop.resume_soon(operation.m_waiting);
    }

    event_loop& m_loop;
    io_uring_reactor& m_ring;
    io_completion*& m_in_flight;
    Prepare m_prepare;
    std::coroutine_handle<> m_waiting;
    int m_result = 0;
    bool m_cancel_requested = false;
};

/// A length an operation can carry (the kernel takes 32 bits): at most
/// 1 GiB, as a read or write of more may come back short anyway.
[[nodiscard]] constexpr unsigned ring_length(std::size_t size) noexcept {
    return static_cast<unsigned>(size < (std::size_t{1} << 30) ? size : (std::size_t{1} << 30));
}

/// Awaits a read (pread) or write (pwrite; at the end for offset
/// `append_offset`) of up to `size` bytes of regular file `fd` at `offset`
/// through the ring: real asynchronous file I/O, no thread.
inline constexpr std::uint64_t append_offset = ~std::uint64_t{0};

[[nodiscard]] inline auto file_transfer_completion(event_loop& loop, io_uring_reactor& ring, io_completion*& in_flight,
                                                   bool reading, int fd, void* buffer, std::size_t size,
                                                   std::uint64_t offset) {
    const unsigned length = ring_length(size);
    auto prepare = [=](io_uring_sqe* sqe) noexcept {
        if (reading) {
            ::io_uring_prep_read(sqe, fd, buffer, length, offset);
        } else {
            ::io_uring_prep_write(sqe, fd, buffer, length, offset);
        }
    };
    return completion_operation<decltype(prepare)>(loop, ring, in_flight, prepare);
}

}  // namespace corio::detail

#endif
