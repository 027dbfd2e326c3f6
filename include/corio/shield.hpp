#pragma once

#include <corio/cancel.hpp>
#include <corio/detail/awaitable_traits.hpp>
#include <corio/detail/cancellable_awaiter.hpp>
#include <corio/detail/config.hpp>
#include <corio/event_loop.hpp>
#include <corio/outcome.hpp>
#include <corio/spawn.hpp>
#include <corio/task.hpp>

#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace corio {
namespace detail {

/// Shared between a shielded task's runner (a spawned task) and the
/// shield_operation awaiting it: the outcome, and who to wake.
template <class T>
struct shield_state {
    std::optional<outcome<T>> result;
    std::coroutine_handle<> waiter;  // the suspended awaiter, while registered
    bool abandoned = false;          // the awaiter went away (cancelled or destroyed)

    // Called by the runner from inside its own frame: never resume inline.
    void finish(outcome<T> value) {
        result.emplace(std::move(value));
        if (std::coroutine_handle<> w = std::exchange(waiter, {})) {
            get_running_loop().resume_soon(w);
        }
    }
};

// The spawned task behind shield: awaits the inner awaitable in its own
// strand, so the shield's awaiter's cancellation never reaches it, and hands
// the outcome over. For shield(aw) (Report): if nobody is left to receive an
// exception, it is rethrown from this task, whose handle nobody holds, so the
// loop reports it as "never retrieved" instead of losing it. For
// shield(handle) the handle's owner can still retrieve it: nothing is rethrown.
template <class T, bool Report, class Inner>
CORIO_HEADER_COROUTINE task<void> shield_runner(std::shared_ptr<shield_state<T>> state, Inner inner) {
    std::optional<outcome<T>> result;
    std::exception_ptr error;
    try {
        if constexpr (std::is_void_v<T>) {
            co_await inner;
            result.emplace(outcome<T>::from_value());
        } else {
            result.emplace(outcome<T>::from_value(co_await inner));
        }
    } catch (...) {
        error = std::current_exception();
    }
    if (error) {
        if (Report && state->abandoned) {
            std::rethrow_exception(error);
        }
        result.emplace(outcome<T>::from_exception(error));
    }
    state->finish(std::move(*result));
}

}  // namespace detail

/// Awaiter of shield: waits for a spawned task without passing cancellation on.
template <class T>
class shield_operation : public detail::cancellable_awaiter<shield_operation<T>> {
public:
    explicit shield_operation(std::shared_ptr<detail::shield_state<T>> state) noexcept
        : m_state(std::move(state)) {}
    // Movable only before it is awaited (so it can be handed to wait_for).
    shield_operation(shield_operation&& other) noexcept : shield_operation(std::move(other.m_state)) {}
    shield_operation& operator=(const shield_operation&) = delete;

    ~shield_operation() {
        if (m_state) {
            if (m_awaiting && m_state->waiter == m_awaiting) {
                m_state->waiter = {};
            }
            if (!m_consumed) {
                m_state->abandoned = true;
            }
        }
    }

    bool await_ready() const noexcept { return m_state->result.has_value(); }

private:
    friend detail::cancellable_awaiter<shield_operation>;

    template <class Promise>
    bool start(std::coroutine_handle<Promise> awaiting) noexcept {
        m_awaiting = awaiting;
        m_state->waiter = awaiting;
        return true;
    }

    // Only the awaiter stops waiting; the shielded task runs on.
    bool cancel() noexcept {
        m_state->abandoned = true;
        if (m_state->waiter) {
            m_state->waiter = {};
            get_running_loop().resume_soon(m_awaiting);
        }
        // Otherwise the task finished and this resumption is already queued.
        return true;
    }

    void undo() noexcept { m_state->abandoned = true; }

    decltype(auto) result() {
        m_consumed = true;
        if constexpr (std::is_void_v<T> || std::is_reference_v<T>) {
            return std::move(*m_state->result).value();
        } else {
            return T(std::move(*m_state->result).value());
        }
    }

    bool m_consumed = false;
    std::shared_ptr<detail::shield_state<T>> m_state;
    std::coroutine_handle<> m_awaiting;
};

/// Protects `awaitable` from the cancellation of whoever awaits it
/// (asyncio.shield).
///
/// The awaitable is started at once as a task of its own on the running loop
/// (as create_task does) and shield returns an awaiter for its result (value
/// or rethrown exception). Cancelling the awaiting task makes that co_await
/// throw cancelled_error right away, while the shielded task keeps running to
/// its end. The shielded task therefore OUTLIVES the awaiter: like any
/// create_task'ed work it must own its data (take parameters by value, see
/// corio::invoke); shield takes the awaitable by value for that reason. If it
/// then fails with nobody left to receive the exception, the loop's
/// exception handler reports it. To keep access to the result after a
/// cancellation, spawn the task yourself and shield the handle:
/// `co_await corio::shield(handle)`. Cancelling the shielded task itself
/// (corio::run's shutdown does) still cancels it. Loop thread only; throws
/// event_loop_error when no loop runs on this thread.
template <class Awaitable>
    requires detail::awaitable<Awaitable>
[[nodiscard]] auto shield(Awaitable awaitable) {
    using inner_task = detail::as_task_t<Awaitable>;
    using T = typename inner_task::value_type;
    auto state = std::make_shared<detail::shield_state<T>>();
    create_task(detail::shield_runner<T, true>(state, detail::as_task(std::move(awaitable))));
    return shield_operation<T>(std::move(state));
}

/// Waits for an already spawned task without forwarding the awaiter's
/// cancellation to it (awaiting the handle directly would cancel it). The
/// result is copied out, so the handle still holds it afterwards: T must be
/// copyable (or void or a reference).
template <class T>
[[nodiscard]] auto shield(task_handle<T> handle) {
    auto state = std::make_shared<detail::shield_state<T>>();
    create_task(detail::shield_runner<T, false>(state, std::move(handle)));
    return shield_operation<T>(std::move(state));
}

}  // namespace corio
