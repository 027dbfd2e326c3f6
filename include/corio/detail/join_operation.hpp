#pragma once

#include <corio/detail/cancellable_awaiter.hpp>
#include <corio/detail/cancellation.hpp>
#include <corio/detail/intrusive_list.hpp>
#include <corio/errors.hpp>
#include <corio/task.hpp>

#include <coroutine>
#include <type_traits>
#include <utility>

namespace corio::detail {

/// A coroutine waiting for a task to finish, in the task's list of awaiters.
/// The task resumes `coroutine` soon when it finishes, or, when `on_done` is
/// set, calls it instead (from inside the finishing task: it must not resume
/// anything inline). The node is already out of the list then.
struct completion_waiter : list_hook {
    std::coroutine_handle<> coroutine;
    void (*on_done)(completion_waiter& self) noexcept = nullptr;
};

/// Awaiter of a running task's outcome, shared by task_handle (Target is a
/// spawned_task<T>*) and child_handle (a shared_ptr to a group_child<T>).
/// Target points at the awaited strand (a task_context) with done(), cancel()
/// (false once done), add_waiter / remove_waiter (a completion_waiter) and
/// value() (the value, or the task's exception rethrown). The task resumes
/// every waiter soon when it finishes. Move: the value is moved out instead of
/// copied.
///
/// Cancelling the awaiting coroutine cancels the awaited task too, as in
/// asyncio, and the awaiter resumes with the task's outcome once it has
/// unwound; so does a cancellation already pending when the co_await begins
/// (CPython bpo-34872). A cancellation arriving after the task finished,
/// before the awaiter ran, makes the co_await throw; the outcome stays in the
/// task. A task awaiting itself gets invalid_state_error from the co_await
/// (asyncio's "Task cannot await on itself") instead of a wait that could
/// never end; also when the await comes from a combinator child running
/// inside the awaited task (`wait_for(h, d)` / `gather(h)` in h's own task).
template <class T, class Target, bool Move>
class join_operation : public completion_waiter, public cancellable_awaiter<join_operation<T, Target, Move>> {
public:
    explicit join_operation(Target target) noexcept : m_target(std::move(target)) {}
    ~join_operation() { m_target->remove_waiter(*this); }

    bool await_ready() const noexcept { return m_target->done(); }

private:
    friend cancellable_awaiter<join_operation>;

    static constexpr pending_cancel on_pending_cancel = pending_cancel::deliver_after_start;

    // Only reached when the task is still running, so the check costs
    // nothing on the path of an awaited task that has already finished.
    template <class Promise>
    bool start(std::coroutine_handle<Promise> awaiting) {
        // Directly, or from a combinator's child strand inside it (wait_for(h),
        // gather(h), a task_group body): that strand's enclosing task is h's.
        const task_context* strand = context_of(awaiting);
        const task_context* awaited = awaited_strand();
        if (strand != nullptr && (strand == awaited || strand->enclosing_task() == awaited)) {
            // The task would wait for its own end, and cancel() would only be
            // forwarded back to itself: asyncio raises RuntimeError here.
            throw invalid_state_error("corio: a task cannot await on itself (its own handle)");
        }
        coroutine = awaiting;
        m_target->add_waiter(*this);
        return true;
    }

    // Forwarded while the task runs (with the request's message, not its
    // timeout): this awaiter stays linked and resumes with the task's outcome.
    // Once the task is done, only this awaiter's resumption is pending, and
    // it now throws.
    bool cancel() noexcept {
        m_forwarded = m_target->cancel(this->strand()->cause().forwarded());
        return !m_forwarded;
    }

    const task_context* awaited_strand() const noexcept { return &*m_target; }

    decltype(auto) result() {
        if (m_forwarded && m_target->cancelled()) {
            // The task ended by the cancellation this awaiter passed on: the
            // awaiter throws its own (timeout_expired when a timeout scope's
            // expiry sent it), as asyncio's timeout converts the awaited
            // task's CancelledError.
            throw_cancellation(this->strand());
        }
        if constexpr (std::is_void_v<T> || std::is_reference_v<T>) {
            return m_target->value();
        } else if constexpr (Move) {
            return T(std::move(m_target->value()));
        } else {
            static_assert(std::is_copy_constructible_v<T>,
                          "corio: T is move-only, so awaiting a task_handle<T> / child_handle<T> cannot "
                          "copy the result; did you forget `co_await std::move(handle)`?");
            return T(m_target->value());
        }
    }

    Target m_target;
    bool m_forwarded = false;  // this awaiter's cancellation was passed on to the task
};

}  // namespace corio::detail
