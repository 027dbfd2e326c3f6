#pragma once

#include <corio/cancel.hpp>
#include <corio/detail/cancellable_awaiter.hpp>
#include <corio/detail/timer_heap.hpp>
#include <corio/event_loop.hpp>
#include <corio/task.hpp>

#include <chrono>
#include <coroutine>

namespace corio {

/// Awaiter of corio::sleep: a timer entry living in the sleeping coroutine's
/// frame, on the one cancellation protocol.
class sleep_operation : private detail::timer_entry, public detail::cancellable_awaiter<sleep_operation> {
public:
    explicit sleep_operation(event_loop::duration delay) noexcept : m_delay(delay) { on_fire = &fire; }
    // Movable only before it is awaited (so it can be handed to wait_for).
    sleep_operation(sleep_operation&& other) noexcept : sleep_operation(other.m_delay) {}
    sleep_operation& operator=(const sleep_operation&) = delete;

    // A frame destroyed mid-sleep (its loop closing) must not leave its timer armed.
    ~sleep_operation() {
        if (m_loop != nullptr) {
            m_loop->remove_timer(*this);
        }
    }

private:
    friend cancellable_awaiter;

    template <class Promise>
    bool start(std::coroutine_handle<Promise> sleeper) {
        event_loop& loop = get_running_loop();
        m_sleeper = sleeper;
        if (m_delay <= event_loop::duration::zero()) {
            loop.resume_soon(sleeper);  // a bare yield: the ready queue is the only registration
        } else {
            loop.add_timer(*this, loop.time() + m_delay);
            m_loop = &loop;
        }
        return true;
    }

    bool cancel() noexcept {
        if (m_loop != nullptr && queued()) {
            m_loop->remove_timer(*this);
            m_loop->resume_soon(m_sleeper);
        }
        // Otherwise the resumption is already queued (a yield, or a timer that
        // fired this iteration); it will now throw.
        return true;
    }

    static void fire(detail::timer_entry* entry) noexcept {
        auto* self = static_cast<sleep_operation*>(entry);
        self->m_loop->resume_soon(self->m_sleeper);
    }

    event_loop::duration m_delay;
    event_loop* m_loop = nullptr;  // set while a timer may be armed
    std::coroutine_handle<> m_sleeper;
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
