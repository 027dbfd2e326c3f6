#pragma once

#include <corio/detail/cancellation.hpp>
#include <corio/detail/intrusive_ref.hpp>
#include <corio/spawn.hpp>
#include <corio/task.hpp>

#include <coroutine>
#include <string>
#include <string_view>

namespace corio {

/// A reference to a task started with create_task (or the root task of
/// corio::run / run_until_complete) that does not know its result type:
/// what current_task() returns. It can cancel the task and ask whether it is
/// done; it compares equal to every task_handle (and task_ref) of the same
/// task. Keeps the task's state alive like a handle (so a task must not keep
/// its own task_ref in its result or in anything it owns: the reference would
/// keep it alive forever); empty when default-constructed. Loop thread only.
class task_ref {
public:
    task_ref() noexcept = default;
    /// The task of `handle` (empty for an empty handle).
    template <class T>
    task_ref(const task_handle<T>&
                 handle) noexcept  // NOLINT(google-explicit-constructor): a handle is a task
        : m_task(handle.m_state.get()) {}

    /// False for an empty reference (current_task() outside any task).
    [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(m_task); }
    /// Same as valid().
    explicit operator bool() const noexcept { return valid(); }

    /// True once the task finished: value, exception or cancelled.
    [[nodiscard]] bool done() const noexcept { return m_task->done(); }
    /// True if the task finished by cancellation.
    [[nodiscard]] bool cancelled() const noexcept { return m_task->cancelled(); }
    /// The task's name (see task_handle::name).
    [[nodiscard]] std::string name() const { return m_task->name(); }

    /// Asks the task to stop (see task_handle::cancel); false once it finished.
    /// Cancelling the running task itself (`(co_await current_task()).cancel()`)
    /// makes its next suspension point throw.
    bool cancel() noexcept { return m_task->cancel(); }
    /// The same, carrying `message` in the task's cancelled_error.
    bool cancel(std::string_view message) { return detail::cancel_with_message(*m_task, message); }

    /// Equal when both refer to the same task, or both are empty.
    friend bool operator==(const task_ref& a, const task_ref& b) noexcept {
        return a.m_task.get() == b.m_task.get();
    }

private:
    friend class current_task_operation;
    friend struct detail::loop_introspection;
    explicit task_ref(detail::spawned_task_base* task) noexcept : m_task(task) {}

    detail::intrusive_ref<detail::spawned_task_base> m_task;
};

/// Awaiter of current_task(): does not suspend.
class [[nodiscard]] current_task_operation {
public:
    bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> caller) noexcept {
        const detail::task_context* strand = detail::context_of(caller);
        detail::task_context* task = strand != nullptr ? strand->enclosing_task() : nullptr;
        // Only a spawned task's strand is its own enclosing task (set at creation).
        m_task = static_cast<detail::spawned_task_base*>(task);
        return false;
    }
    task_ref await_resume() const noexcept { return task_ref(m_task); }

private:
    detail::spawned_task_base* m_task = nullptr;
};

/// `co_await corio::current_task()`: the task the calling coroutine runs in
/// (asyncio.current_task()), as a task_ref.
///
/// That is the create_task'ed task (or the root task of corio::run) whose
/// work this is. The children of gather, gather_settled, wait_any, wait_for
/// and task_group (body and spawned children) run inside the task that awaits
/// the combinator, so there current_task() is that enclosing task (asyncio
/// wraps gather's children in tasks of their own; corio runs them as strands
/// of the caller, reachable only through the combinator). A shield()ed or
/// as_completed awaitable runs in a task of its own. Empty when the awaiting
/// coroutine is not a corio task. Costs no suspension.
[[nodiscard]] inline current_task_operation current_task() noexcept {
    return {};
}

}  // namespace corio
