#pragma once

#include <corio/cancel.hpp>
#include <corio/detail/cancellation.hpp>
#include <corio/detail/timer_heap.hpp>
#include <corio/errors.hpp>
#include <corio/event_loop.hpp>
#include <corio/task.hpp>

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <optional>

// A deadline over a block of co_awaits (asyncio's `async with asyncio.timeout(d)`):
//
//     try {
//         auto scope = co_await corio::timeout(2s);   // the block starts here
//         auto reply = co_await read_reply(stream);   // any awaits, nested coroutines too
//         co_await write_ack(stream);
//     } catch (const corio::timeout_error&) {         // the deadline passed inside the block
//         ...
//     }
//
// No lambda around the block: the scope is an object bound to the calling
// task's strand, and the block is its C++ scope.

namespace corio {

/// The deadline of a timeout scope: armed while the scope object lives, on
/// the strand (task, or combinator child) that made it (asyncio's Timeout).
///
/// When the deadline passes the strand is cancelled, and the suspension point
/// that takes that cancellation (a sleep, socket I/O, a semaphore/queue/lock
/// wait, a gather/wait_for/task_group, awaiting a task handle — at any depth
/// of nested coroutines) throws corio::timeout_expired, a timeout_error (and
/// a cancelled_error, so cancellation cleanup handlers rethrow it), instead of
/// plain cancelled_error. Whatever the block was waiting for is cancelled and
/// unwound as for any cancellation (a gather's children, an awaited task)
/// before the exception reaches the block. The deadline fires once: if the
/// block catches the expiry and goes on, later awaits are not cancelled again.
///
/// - An outside cancellation (task_handle::cancel()) stays cancelled_error,
///   even when it arrives together with the expiry.
/// - Nested scopes: whichever expires gives timeout_expired to the innermost
///   block; `outer.expired()` in a handler tells whether the outer deadline
///   passed too (rethrow then). When both expire before the strand resumes,
///   the request is the outer scope's, so the inner scope's end cannot drop it.
/// - Leaving the scope disarms its timer; an expiry that has not reached a
///   suspension point yet is dropped then (the code after the scope is not
///   cancelled). A deadline already past fires on the loop's next iteration.
/// - No deadline: `timeout(std::nullopt)` / `timeout_at(std::nullopt)`;
///   when() is then empty and reschedule() can set one later.
///
/// Must live in the coroutine that made it, destroyed in reverse order of
/// creation like any local (it is neither copyable nor movable). Loop thread only.
class timeout_scope : private detail::timer_entry, private detail::timeout_source {
public:
    /// The loop's clock (event_loop::clock): deadlines are on the steady clock.
    using clock = event_loop::clock;
    /// A deadline on that clock, as when() returns and reschedule() takes.
    using time_point = event_loop::time_point;

    timeout_scope(const timeout_scope&) = delete;
    timeout_scope& operator=(const timeout_scope&) = delete;

    ~timeout_scope() {
        m_loop->remove_timer(*this);
        m_strand->drop_pending_timeout(this);
    }

    /// True once the deadline passed (the strand was cancelled for it), even if
    /// an outside cancellation was what the block finally saw.
    [[nodiscard]] bool expired() const noexcept { return m_expired; }

    /// The deadline (on the loop's clock), or empty for none.
    [[nodiscard]] std::optional<time_point> when() const noexcept { return m_when; }

    /// Moves the deadline (asyncio's Timeout.reschedule): to `when`, which may
    /// already be past (the scope then expires on the loop's next iteration),
    /// or to none with std::nullopt. Throws invalid_state_error once expired.
    void reschedule(std::optional<time_point> when) {
        if (m_expired) {
            throw invalid_state_error("corio::timeout_scope: cannot reschedule an expired timeout");
        }
        m_loop->remove_timer(*this);
        m_when = when;
        if (m_when) {
            m_loop->add_timer(*this, *m_when);
        }
    }

private:
    friend class timeout_operation;

    timeout_scope(detail::task_context& strand, event_loop& loop, std::optional<time_point> when)
        : m_strand(&strand), m_loop(&loop), m_when(when) {
        on_fire = &fire;
        order = next_order();
        if (m_when) {
            m_loop->add_timer(*this, *m_when);
        }
    }

    static std::uint64_t next_order() noexcept {
        thread_local std::uint64_t counter = 0;
        return ++counter;
    }

    static void fire(detail::timer_entry* entry) noexcept {
        auto* self = static_cast<timeout_scope*>(entry);
        self->m_expired = true;
        self->m_strand->request_cancel(detail::cancel_cause::timeout(self));
    }

    detail::task_context* m_strand;
    event_loop* m_loop;
    std::optional<time_point> m_when;
    bool m_expired = false;
};

/// Awaiter of timeout() / timeout_at(): does not suspend; finds the calling
/// strand and returns the armed scope.
class [[nodiscard]] timeout_operation {
public:
    explicit timeout_operation(std::optional<event_loop::time_point> when) noexcept
        : m_when(when) {}

    bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> caller) noexcept {
        m_strand = detail::context_of(caller);
        return false;
    }
    timeout_scope await_resume() const {
        if (m_strand == nullptr) {
            throw invalid_state_error("corio::timeout: must be awaited inside a corio task");
        }
        return timeout_scope(*m_strand, get_running_loop(), m_when);
    }

private:
    std::optional<event_loop::time_point> m_when;
    detail::task_context* m_strand = nullptr;
};

/// `auto scope = co_await corio::timeout(d);` starts a timeout scope whose
/// deadline is `d` from now (asyncio.timeout(delay)); see timeout_scope. A
/// zero or negative `d` expires on the loop's next iteration.
template <class Rep, class Period>
[[nodiscard]] timeout_operation timeout(std::chrono::duration<Rep, Period> delay) {
    return timeout_operation(event_loop::clock::now() + detail::to_timer_duration(delay));
}

/// A timeout scope without a deadline (asyncio.timeout(None)); reschedule() may set one.
[[nodiscard]] inline timeout_operation timeout(std::nullopt_t) noexcept {
    return timeout_operation(std::nullopt);
}

/// A timeout scope expiring at `deadline` on the loop's clock
/// (asyncio.timeout_at(when)); std::nullopt for none.
[[nodiscard]] inline timeout_operation timeout_at(
    std::optional<event_loop::time_point> deadline) noexcept {
    return timeout_operation(deadline);
}

}  // namespace corio
