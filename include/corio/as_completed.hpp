#pragma once

#include <corio/cancel.hpp>
#include <corio/combinators.hpp>
#include <corio/detail/cancellable_awaiter.hpp>
#include <corio/detail/child_group.hpp>
#include <corio/detail/config.hpp>
#include <corio/event_loop.hpp>
#include <corio/generator.hpp>
#include <corio/outcome.hpp>
#include <corio/spawn.hpp>
#include <corio/task.hpp>

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace corio {
namespace detail {

/// Outcomes of as_completed's children in the order they finished, shared
/// between the children (spawned tasks) and the generator consuming them.
template <class T>
struct completion_queue {
    std::deque<outcome<T>> finished;
    std::coroutine_handle<> waiter;  // the generator, while it waits for the next one

    // Called from inside a child's frame: never resume inline.
    void push(outcome<T> result) {
        finished.push_back(std::move(result));
        if (std::coroutine_handle<> w = std::exchange(waiter, {})) {
            get_running_loop().resume_soon(w);
        }
    }
};

// One child of as_completed, spawned on the loop: runs the task and reports
// its outcome, whatever it is, so the spawned task itself never fails.
template <class T>
CORIO_HEADER_COROUTINE task<void> as_completed_child(std::shared_ptr<completion_queue<T>> queue, task<T> child) {
    std::optional<outcome<T>> result;
    std::exception_ptr error;
    try {
        if constexpr (std::is_void_v<T>) {
            co_await std::move(child);
            result.emplace(outcome<T>::from_value());
        } else {
            result.emplace(outcome<T>::from_value(co_await std::move(child)));
        }
    } catch (...) {
        error = std::current_exception();
    }
    if (error) {
        result.emplace(outcome<T>::from_exception(error));
    }
    queue->push(std::move(*result));
}

/// Suspends the as_completed generator (in its consumer's strand) until a
/// child has finished.
template <class T>
class next_completion_operation : public cancellable_awaiter<next_completion_operation<T>> {
public:
    explicit next_completion_operation(completion_queue<T>& queue) noexcept : m_queue(queue) {}
    ~next_completion_operation() {
        if (m_awaiting && m_queue.waiter == m_awaiting) {
            m_queue.waiter = {};
        }
    }

    bool await_ready() const noexcept { return !m_queue.finished.empty(); }

private:
    friend cancellable_awaiter<next_completion_operation>;

    template <class Promise>
    bool start(std::coroutine_handle<Promise> awaiting) noexcept {
        m_awaiting = awaiting;
        m_queue.waiter = awaiting;
        return true;
    }

    bool cancel() noexcept {
        if (m_queue.waiter) {
            m_queue.waiter = {};
            get_running_loop().resume_soon(m_awaiting);
        }
        // Otherwise a child finished and the resumption is already queued.
        return true;
    }

    completion_queue<T>& m_queue;
    std::coroutine_handle<> m_awaiting;
};

/// One next() of as_completed with a deadline: the wait for a completion,
/// as a task that wait_for can time out.
template <class T>
CORIO_HEADER_COROUTINE task<void> next_completion(completion_queue<T>& queue) {
    co_await next_completion_operation<T>(queue);
}

/// Cancels the children still running when the generator's frame goes away
/// before it was exhausted (the consumer stopped early).
struct cancel_unfinished {
    std::vector<task_handle<void>>* children;
    ~cancel_unfinished() {
        for (task_handle<void>& child : *children) {
            child.cancel();  // a no-op for a finished one
        }
    }
};


template <class T>
CORIO_HEADER_COROUTINE auto as_completed_until(std::vector<task<T>> tasks,
                                               std::optional<event_loop::time_point> deadline)
    -> async_generator<gather_vector_element_t<T>> {
    require_valid_tasks(tasks, "corio::as_completed");
    auto queue = std::make_shared<completion_queue<T>>();
    std::vector<task_handle<void>> children;
    children.reserve(tasks.size());
    for (task<T>& t : tasks) {
        children.push_back(create_task(as_completed_child<T>(queue, std::move(t))));
    }
    tasks.clear();
    const cancel_unfinished cancel_on_exit{&children};

    // What ends the generator early: the consumer's cancellation (or its
    // timeout scope's expiry) as thrown, the deadline passing, or a failure.
    std::exception_ptr stopped;
    std::exception_ptr failure;
    for (std::size_t yielded = 0; yielded < children.size(); ++yielded) {
        // Results already in are yielded even once the deadline has passed.
        if (queue->finished.empty() && deadline && *deadline <= get_running_loop().time()) {
            stopped = std::make_exception_ptr(timeout_error("corio::as_completed: timed out"));
            break;
        }
        try {
            if (!deadline) {
                co_await next_completion_operation<T>(*queue);
            } else if (queue->finished.empty()) {
                const event_loop::duration left = *deadline - get_running_loop().time();
                co_await wait_for(next_completion<T>(*queue), left);
            }
        } catch (const timeout_error&) {
            // wait_for's timeout, or a timeout scope's expiry (also a cancelled_error): both stop.
            stopped = std::current_exception();
        } catch (const cancelled_error&) {
            stopped = std::current_exception();
        }
        if (stopped) {
            break;
        }
        outcome<T> result = std::move(queue->finished.front());
        queue->finished.pop_front();
        if (result.has_exception()) {
            failure = result.exception();
            break;
        }
        // Yield a named local, never a temporary: g++ 12 relocates a temporary
        // co_yield operand bitwise, which breaks std::string's small buffer
        // (same bug as chriskohlhoff/asio#1073, scylladb/seastar#1677).
        if constexpr (std::is_void_v<T>) {
            std::monostate value;
            co_yield value;
        } else if constexpr (std::is_reference_v<T>) {
            auto value = std::ref(result.value());
            co_yield value;
        } else {
            T value = std::move(result).value();
            co_yield std::move(value);
        }
    }
    if (stopped || failure) {
        // No co_await inside a catch handler (GCC 12 miscompiles it): the
        // children are cancelled and awaited out here.
        for (task_handle<void>& child : children) {
            child.cancel();
        }
        for (task_handle<void>& child : children) {
            try {
                co_await child;
            } catch (const cancelled_error&) {
                // expected: it was cancelled
            }
        }
        std::rethrow_exception(stopped ? stopped : failure);
    }
}

}  // namespace detail

/// Runs the tasks concurrently and yields their results in the order they
/// finish (asyncio.as_completed), as an async_generator:
///
///     auto results = corio::as_completed(std::move(tasks));
///     while (auto r = co_await results.next()) {   // async for r in ...
///         use(*r);
///     }
///
/// Each task is spawned on the running loop at once (as by create_task), so
/// they start on the loop's next iteration. A `void` task yields
/// std::monostate, a reference one a std::reference_wrapper.
///
/// If a task fails, the next() that would have yielded its result cancels the
/// tasks still running, waits for them to unwind, then rethrows that
/// exception; the generator is finished. Cancelling the consumer while it
/// waits in next() does the same and throws cancelled_error.
///
/// as_completed(tasks, timeout): after `timeout` (counted from the call) a next() that
/// would wait throws timeout_error instead, once the tasks still running are
/// cancelled and have unwound (results that came in before are still
/// yielded first), as asyncio.as_completed(timeout=) raises TimeoutError.
///
/// Stopping early (destroying the generator before it is exhausted) cancels
/// the tasks still running, but cannot wait for them: they unwind on the loop
/// after the generator is gone (corio::run still waits for them before it
/// returns). Like create_task'ed work they must therefore own their data; to
/// stop early AND wait, cancel the consuming task instead. Loop thread only;
/// throws event_loop_error when no loop runs on this thread and
/// std::invalid_argument for an empty (moved-from) task.
template <class T>
[[nodiscard]] auto as_completed(std::vector<task<T>> tasks) {
    return detail::as_completed_until(std::move(tasks), std::nullopt);
}

/// as_completed with an overall deadline; see above.
template <class T, class Rep, class Period>
[[nodiscard]] auto as_completed(std::vector<task<T>> tasks, std::chrono::duration<Rep, Period> timeout) {
    const event_loop::time_point deadline = event_loop::clock::now() + detail::to_timer_duration(timeout);
    return detail::as_completed_until(std::move(tasks), std::optional<event_loop::time_point>(deadline));
}

}  // namespace corio
