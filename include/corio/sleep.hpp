#pragma once

#include <corio/cancel.hpp>
#include <corio/detail/cancellation.hpp>
#include <corio/detail/timer_heap.hpp>
#include <corio/event_loop.hpp>
#include <corio/task.hpp>

#include <chrono>
#include <coroutine>

namespace corio {

/// Awaiter of corio::sleep: a timer entry and a cancellation hook living in
/// the sleeping coroutine's frame.
class sleep_operation : private detail::timer_entry, private detail::cancel_callback {
public:
    explicit sleep_operation(event_loop::duration delay) noexcept : m_delay(delay) {
        on_fire = &fire;
        on_cancel = &cancel;
    }
    // Movable only before it is awaited (so it can be handed to wait_for).
    sleep_operation(sleep_operation&& other) noexcept : sleep_operation(other.m_delay) {}
    sleep_operation& operator=(const sleep_operation&) = delete;

    // A frame destroyed mid-sleep (its loop closing) must not leave its timer armed.
    ~sleep_operation() {
        if (m_loop != nullptr) {
            m_loop->remove_timer(*this);
        }
        if (m_context != nullptr) {
            m_context->disarm(this);
        }
    }

    bool await_ready() const noexcept { return false; }

    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> sleeper) {
        m_context = detail::context_of(sleeper);
        if (m_context != nullptr && m_context->take_pending_cancel()) {
            m_cancelled = true;
            return false;
        }
        event_loop& loop = get_running_loop();
        m_sleeper = sleeper;
        if (m_delay <= event_loop::duration::zero()) {
            loop.resume_soon(sleeper);  // a bare yield: the ready queue is the only registration
        } else {
            loop.add_timer(*this, loop.time() + m_delay);
            m_loop = &loop;
        }
        if (m_context != nullptr) {
            m_context->arm(this);
        }
        return true;
    }

    void await_resume() {
        if (m_context != nullptr) {
            m_context->resumed(this);
        }
        if (m_cancelled) {
            throw cancelled_error{};
        }
    }

private:
    static void fire(detail::timer_entry* entry) noexcept {
        auto* self = static_cast<sleep_operation*>(entry);
        self->m_loop->resume_soon(self->m_sleeper);
    }

    static void cancel(detail::cancel_callback* callback) noexcept {
        auto* self = static_cast<sleep_operation*>(callback);
        self->m_cancelled = true;
        if (self->m_loop != nullptr && self->queued()) {
            self->m_loop->remove_timer(*self);
            self->m_loop->resume_soon(self->m_sleeper);
        }
        // Otherwise the resumption is already queued (a yield, or a timer that
        // fired this iteration); it will now throw.
    }

    event_loop::duration m_delay;
    event_loop* m_loop = nullptr;  // set while a timer may be armed
    detail::task_context* m_context = nullptr;
    std::coroutine_handle<> m_sleeper;
    bool m_cancelled = false;
};

/// Suspends the calling coroutine for `delay` (asyncio.sleep). A zero or
/// negative delay just yields: the coroutine resumes after everything already
/// ready has run. Cancelling the sleeping task disarms the timer and makes
/// the co_await throw cancelled_error.
template <class Rep, class Period>
[[nodiscard]] sleep_operation sleep(std::chrono::duration<Rep, Period> delay) noexcept {
    return sleep_operation(detail::to_timer_duration(delay));
}

/// Suspends the calling coroutine until the loop's clock reaches `deadline`.
[[nodiscard]] inline sleep_operation sleep_until(event_loop::time_point deadline) noexcept {
    return sleep_operation(deadline - event_loop::clock::now());
}

}  // namespace corio
