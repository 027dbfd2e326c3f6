#pragma once

#include <corio/cancel.hpp>
#include <corio/detail/cancellable_awaiter.hpp>
#include <corio/detail/join_operation.hpp>
#include <corio/detail/timer_heap.hpp>
#include <corio/errors.hpp>
#include <corio/event_loop.hpp>
#include <corio/spawn.hpp>
#include <corio/task.hpp>

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace corio {

/// When corio::wait returns (asyncio's FIRST_COMPLETED / FIRST_EXCEPTION /
/// ALL_COMPLETED).
enum class return_when {
    first_completed,  ///< as soon as any task is done (value, exception or cancelled)
    first_exception,  ///< as soon as any task ends with an exception (not a cancellation), or all
                      ///< are done
    all_completed,    ///< when every task is done
};

/// What corio::wait returns: the tasks done and those still running, each in
/// the order they were given.
template <class T>
struct wait_result {
    /// Tasks finished by the time wait returned (value, exception or cancelled).
    std::vector<task_handle<T>> done;
    /// Tasks still running; wait neither cancels them nor waits for them.
    std::vector<task_handle<T>> pending;
};

/// Awaiter of corio::wait: watches every task still running (a completion
/// node in each task's list of awaiters, and a timer for the timeout) and
/// resumes the waiter once the return_when condition holds.
template <class T>
class wait_operation : private detail::timer_entry,
                       public detail::cancellable_awaiter<wait_operation<T>> {
public:
    wait_operation(std::vector<task_handle<T>> tasks, return_when when,
                   std::optional<event_loop::duration> timeout)
        : m_tasks(std::move(tasks)), m_timeout(timeout), m_when(when) {
        if (m_tasks.empty()) {
            throw std::invalid_argument("corio::wait: no tasks to wait for");
        }
        for (std::size_t i = 0; i < m_tasks.size(); ++i) {
            if (!m_tasks[i].valid()) {
                throw std::invalid_argument("corio::wait: task handle #" + std::to_string(i) +
                                            " is empty");
            }
        }
        on_fire = &time_out;
    }
    // Movable only before it is awaited: the watches point at this object.
    wait_operation(wait_operation&& other) noexcept
        : m_tasks(std::move(other.m_tasks)), m_timeout(other.m_timeout), m_when(other.m_when) {
        on_fire = &time_out;
    }
    wait_operation& operator=(const wait_operation&) = delete;

    ~wait_operation() { stop_watching(); }

    bool await_ready() const noexcept { return condition_holds(); }

private:
    friend detail::cancellable_awaiter<wait_operation>;

    // One task watched: its completion calls `finished` with it.
    struct watch : detail::completion_waiter {
        wait_operation* owner = nullptr;
        detail::spawned_task<T>* task = nullptr;
    };

    template <class Promise>
    bool start(std::coroutine_handle<Promise> awaiting) {
        event_loop& loop = get_running_loop();
        m_watches.reserve(m_tasks.size());  // before linking anything: no reallocation afterwards
        const detail::task_context* strand = detail::context_of(awaiting);
        const detail::task_context* own_task =
            strand != nullptr ? strand->enclosing_task() : nullptr;
        for (const task_handle<T>& handle : m_tasks) {
            if (!handle.done() && detail::handle_access::state(handle) == own_task) {
                throw invalid_state_error("corio::wait: a task cannot wait for itself");
            }
        }
        m_loop = &loop;
        m_awaiting = awaiting;
        for (const task_handle<T>& handle : m_tasks) {
            if (handle.done()) {
                continue;
            }
            watch& node = m_watches.emplace_back();
            node.owner = this;
            node.task = detail::handle_access::state(handle);
            node.on_done = &task_finished;
            node.task->add_waiter(node);
        }
        if (m_timeout) {
            loop.add_timer(*this, loop.time() + *m_timeout);
        }
        return true;
    }

    // The waiter was cancelled: stop watching (the tasks go on running).
    bool cancel() noexcept {
        if (!m_resuming) {
            finish();
        }
        // Otherwise the resumption is already queued; it now throws.
        return true;
    }

    wait_result<T> result() const {
        wait_result<T> split;
        for (const task_handle<T>& handle : m_tasks) {
            (handle.done() ? split.done : split.pending).push_back(handle);
        }
        return split;
    }

    [[nodiscard]] bool failed(const task_handle<T>& handle) const noexcept {
        const auto* state = detail::handle_access::state(handle);
        return state->state() == detail::spawned_task_base::outcome::error;
    }

    [[nodiscard]] bool condition_holds() const noexcept {
        std::size_t done = 0;
        for (const task_handle<T>& handle : m_tasks) {
            if (!handle.done()) {
                continue;
            }
            ++done;
            if (m_when == return_when::first_completed ||
                (m_when == return_when::first_exception && failed(handle))) {
                return true;
            }
        }
        return done == m_tasks.size();
    }

    // Called from inside the finishing task: decide, and resume only soon.
    static void task_finished(detail::completion_waiter& node) noexcept {
        wait_operation& self = *static_cast<watch&>(node).owner;
        if (!self.m_resuming && self.condition_holds()) {
            self.finish();
        }
    }

    static void time_out(detail::timer_entry* entry) noexcept {
        auto& self = static_cast<wait_operation&>(*entry);
        if (!self.m_resuming) {
            self.finish();
        }
    }

    void finish() noexcept {
        m_resuming = true;
        stop_watching();
        m_loop->resume_soon(m_awaiting);
    }

    void stop_watching() noexcept {
        for (watch& node : m_watches) {
            node.task->remove_waiter(node);
        }
        m_watches.clear();
        if (m_loop != nullptr) {
            m_loop->remove_timer(*this);
        }
    }

    std::vector<task_handle<T>> m_tasks;  // keeps every watched task alive
    std::vector<watch> m_watches;
    std::optional<event_loop::duration> m_timeout;
    event_loop* m_loop = nullptr;
    std::coroutine_handle<> m_awaiting;
    return_when m_when;
    bool m_resuming = false;  // the waiter's resumption is queued
};

/// Waits for the tasks until `when` holds (asyncio.wait) and returns
/// `{done, pending}`, both in the order given.
///
/// Unlike gather and wait_any, wait never cancels anything and consumes no
/// result: the pending tasks go on running, and awaiting a handle afterwards
/// gives its value or exception. return_when::first_exception counts an
/// exception other than a cancellation (as asyncio does) and returns when all
/// are done otherwise. If the condition already holds, it returns without
/// suspending. Cancelling the waiter removes its watches and throws
/// cancelled_error; the tasks are not touched. A task waiting for its own
/// handle (still running) gets invalid_state_error instead of a wait that
/// could only end by timeout. Throws std::invalid_argument for
/// an empty vector (asyncio's ValueError) or an empty handle. Loop thread only.
template <class T>
[[nodiscard]] wait_operation<T> wait(std::vector<task_handle<T>> tasks,
                                     return_when when = return_when::all_completed) {
    return wait_operation<T>(std::move(tasks), when, std::nullopt);
}

/// wait with a timeout: returns when `when` holds or `timeout` has passed,
/// whichever comes first (the pending ones are those still running then; no
/// timeout_error, as asyncio.wait).
template <class T, class Rep, class Period>
[[nodiscard]] wait_operation<T> wait(std::vector<task_handle<T>> tasks, return_when when,
                                     std::chrono::duration<Rep, Period> timeout) {
    return wait_operation<T>(std::move(tasks), when, detail::to_timer_duration(timeout));
}

}  // namespace corio
