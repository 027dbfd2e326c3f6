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
class sleep_operation : private detail::resuming_timer, public detail::cancellable_awaiter<sleep_operation> {
public:
    // Until the sleep starts, the timer entry's deadline holds the delay (as
    // a time since the clock's epoch): the awaiter lives in every sleeping
    // frame, so it keeps no separate field for it.
    explicit sleep_operation(event_loop::duration delay) noexcept {
        deadline = event_loop::time_point(delay);
    }
    // Movable only before it is awaited (so it can be handed to wait_for).
    sleep_operation(sleep_operation&& other) noexcept : sleep_operation(other.delay()) {}
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
        waiter = sleeper;
        if (delay() <= event_loop::duration::zero()) {
            loop.resume_soon(sleeper);  // a bare yield: the ready queue is the only registration
        } else {
            loop.add_resuming_timer(*this, loop.time() + delay());
            m_loop = &loop;
        }
        return true;
    }

    bool cancel() noexcept {
        if (m_loop != nullptr && queued()) {
            m_loop->remove_timer(*this);
            m_loop->resume_soon(waiter);
        }
        // Otherwise the resumption is already queued (a yield, or a timer that
        // fired this iteration); it will now throw.
        return true;
    }

    [[nodiscard]] event_loop::duration delay() const noexcept { return deadline.time_since_epoch(); }

    event_loop* m_loop = nullptr;  // set while a timer may be armed
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
