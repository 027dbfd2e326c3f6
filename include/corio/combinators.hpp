#pragma once

#include <corio/cancel.hpp>
#include <corio/detail/awaitable_traits.hpp>
#include <corio/detail/cancellable_awaiter.hpp>
#include <corio/detail/child_group.hpp>
#include <corio/detail/timer_heap.hpp>
#include <corio/event_loop.hpp>
#include <corio/outcome.hpp>
#include <corio/spawn.hpp>
#include <corio/task.hpp>

#include <array>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace corio {
namespace detail {

/// What a child contributes to gather's result: a `void` child gives
/// std::monostate; a reference child gives the reference (a
/// std::reference_wrapper inside a vector).
template <class T>
using gather_element_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;
template <class T>
using gather_vector_element_t =
    std::conditional_t<std::is_reference_v<T>, std::reference_wrapper<std::remove_reference_t<T>>,
                       gather_element_t<T>>;

/// Throws what gather must throw instead of returning results, if anything:
/// cancelled_error, or the exception of the child that failed first.
inline void finish_gather(child_group& group) {
    const std::size_t failed = group.finish();
    if (failed != child_group::no_child) {
        std::rethrow_exception(group.error_of(failed));
    }
}

template <class T>
gather_element_t<T> take_result(task<T>& child) {
    auto& promise = task_access::handle(child).promise();
    if constexpr (std::is_void_v<T>) {
        promise.value();
        return std::monostate{};
    } else if constexpr (std::is_reference_v<T>) {
        return promise.value();
    } else {
        return std::move(promise).value();
    }
}

template <class T>
outcome<T> take_outcome(task<T>& child) {
    auto& promise = task_access::handle(child).promise();
    if (promise.has_exception()) {
        return outcome<T>::from_exception(promise.exception());
    }
    if constexpr (std::is_void_v<T>) {
        return outcome<T>::from_value();
    } else if constexpr (std::is_reference_v<T>) {
        return outcome<T>::from_value(promise.value());
    } else {
        return outcome<T>::from_value(std::move(promise).value());
    }
}

/// Awaiter of gather / gather_settled over a fixed set of children.
template <bool Settle, class... Ts>
class gather_tuple_operation {
public:
    explicit gather_tuple_operation(task<Ts>... children) : m_children(std::move(children)...) {}
    // Movable only before it is awaited (so it can be handed to wait_for or
    // nested in another gather): the children are bound to the slots at start.
    gather_tuple_operation(gather_tuple_operation&& other) noexcept
        : m_children(std::move(other.m_children)) {}
    gather_tuple_operation& operator=(const gather_tuple_operation&) = delete;

    bool await_ready() const noexcept { return sizeof...(Ts) == 0; }

    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> awaiting) {
        return start_children(m_group, awaiting, std::span<child_slot>(m_slots), m_children);
    }

    auto await_resume() {
        finish_gather(m_group);
        if constexpr (Settle) {
            return std::apply([](auto&... child) { return std::tuple<outcome<Ts>...>(take_outcome(child)...); },
                              m_children);
        } else {
            return std::apply(
                [](auto&... child) { return std::tuple<gather_element_t<Ts>...>(take_result(child)...); },
                m_children);
        }
    }

private:
    // Slots before children: children's frames are destroyed first, while the
    // slots they may still point at exist.
    child_group m_group{Settle ? stop_rule::never : stop_rule::first_failure};
    std::array<child_slot, sizeof...(Ts)> m_slots{};
    std::tuple<task<Ts>...> m_children;
};

/// Awaiter of gather / gather_settled over a vector of same-typed children.
template <bool Settle, class T>
class gather_vector_operation {
public:
    explicit gather_vector_operation(std::vector<task<T>> children)
        : m_slots(children.size()), m_children(std::move(children)) {
        require_valid_tasks(m_children, "corio::gather");
    }
    // Movable only before it is awaited, like the tuple form.
    gather_vector_operation(gather_vector_operation&& other) noexcept
        : m_slots(other.m_children.size()), m_children(std::move(other.m_children)) {}
    gather_vector_operation& operator=(const gather_vector_operation&) = delete;

    bool await_ready() const noexcept { return m_children.empty(); }

    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> awaiting) {
        return start_children(m_group, awaiting, std::span<child_slot>(m_slots), m_children);
    }

    auto await_resume() {
        finish_gather(m_group);
        if constexpr (Settle) {
            std::vector<outcome<T>> results;
            results.reserve(m_children.size());
            for (task<T>& child : m_children) {
                results.push_back(take_outcome(child));
            }
            return results;
        } else if constexpr (std::is_void_v<T>) {
            for (task<T>& child : m_children) {
                take_result(child);
            }
        } else {
            std::vector<gather_vector_element_t<T>> results;
            results.reserve(m_children.size());
            for (task<T>& child : m_children) {
                results.push_back(take_result(child));
            }
            return results;
        }
    }

private:
    child_group m_group{Settle ? stop_rule::never : stop_rule::first_failure};
    std::vector<child_slot> m_slots;
    std::vector<task<T>> m_children;
};

template <bool Settle, class... Awaitables>
auto make_gather(Awaitables&&... awaitables) {
    return gather_tuple_operation<Settle, typename as_task_t<Awaitables>::value_type...>(
        as_task(std::forward<Awaitables>(awaitables))...);
}

}  // namespace detail

/// Runs the awaitables concurrently and returns all their results in argument
/// order as a std::tuple (asyncio.gather(a(), b())). A `void` child contributes
/// std::monostate. Children start in argument order, each running until its
/// first suspension.
///
/// On the first failure the other children are cancelled, and gather rethrows
/// that first exception only after every child has finished: no child outlives
/// the call. Cancelling the awaiting task cancels every child, waits for them,
/// then throws cancelled_error.
template <class... Awaitables>
    requires(detail::awaitable<Awaitables> && ...)
[[nodiscard]] auto gather(Awaitables&&... awaitables) {
    return detail::make_gather<false>(std::forward<Awaitables>(awaitables)...);
}

/// gather over a vector of tasks: returns std::vector<T> in the vector's order
/// (std::reference_wrapper for reference results; nothing for `void`).
template <class T>
[[nodiscard]] auto gather(std::vector<task<T>> tasks) {
    return detail::gather_vector_operation<false, T>(std::move(tasks));
}

/// Like gather, but a failing child does not cancel the others: every child
/// runs to the end and the result holds one corio::outcome per child, a value
/// or an exception (asyncio.gather(..., return_exceptions=True)). Cancelling
/// the awaiting task still cancels the children and throws cancelled_error.
template <class... Awaitables>
    requires(detail::awaitable<Awaitables> && ...)
[[nodiscard]] auto gather_settled(Awaitables&&... awaitables) {
    return detail::make_gather<true>(std::forward<Awaitables>(awaitables)...);
}

/// gather_settled over a vector of tasks: std::vector<outcome<T>>.
template <class T>
[[nodiscard]] auto gather_settled(std::vector<task<T>> tasks) {
    return detail::gather_vector_operation<true, T>(std::move(tasks));
}

/// Awaiter of wait_for: runs the inner task as a child with its own
/// cancellation, racing a timer. (The protocol's base comes last, so
/// m_timed_out fills its tail padding.)
template <class T>
class wait_for_operation : private detail::task_completion,
                           private detail::timer_entry,
                           public detail::cancellable_awaiter<wait_for_operation<T>> {
public:
    /// `unstarted_coroutine`: `inner` is the caller's own coroutine (not a
    /// wrapper around a handle or another awaitable), so a timeout <= 0 never
    /// starts it, as asyncio.wait_for never starts a coroutine then.
    wait_for_operation(task<T> inner, event_loop::duration timeout, bool unstarted_coroutine = false)
        : m_unstarted_coroutine(unstarted_coroutine), m_inner(std::move(inner)), m_timeout(timeout) {
        if (!m_inner.valid()) {
            throw std::invalid_argument("corio::wait_for: the task is empty (moved from)");
        }
        on_fire = &time_out;
    }
    // Movable only before it is awaited: the inner task is bound to this
    // object when the wait starts.
    wait_for_operation(wait_for_operation&& other) noexcept
        : wait_for_operation(std::move(other.m_inner), other.m_timeout, other.m_unstarted_coroutine, adopt{}) {}
    wait_for_operation& operator=(const wait_for_operation&) = delete;

    ~wait_for_operation() {
        if (m_loop != nullptr) {
            m_loop->remove_timer(*this);
        }
    }

private:
    friend detail::cancellable_awaiter<wait_for_operation>;

    struct adopt {};
    wait_for_operation(task<T>&& inner, event_loop::duration timeout, bool unstarted_coroutine, adopt) noexcept
        : m_unstarted_coroutine(unstarted_coroutine), m_inner(std::move(inner)), m_timeout(timeout) {
        on_fire = &time_out;
    }

    template <class Promise>
    std::coroutine_handle<> start(std::coroutine_handle<Promise> awaiting) {
        event_loop& loop = get_running_loop();
        m_loop = &loop;
        m_awaiting = awaiting;
        if (m_timeout > event_loop::duration::zero()) {
            loop.add_timer(*this, loop.time() + m_timeout);
        } else {
            // Already expired (asyncio's timeout <= 0): a coroutine of the
            // caller's is not started at all; anything else (a task handle, a
            // sleep) starts with the cancellation pending, so a finished
            // task's result is still returned and a running one is cancelled.
            m_timed_out = true;
            if (m_unstarted_coroutine) {
                m_never_started = true;
                this->disarm();
                return awaiting;
            }
            m_inner_context.request_cancel();
        }
        m_inner_context.inherit_task_from(detail::context_of(awaiting));
        auto& promise = detail::task_access::handle(m_inner).promise();
        promise.set_context(&m_inner_context);
        promise.set_completion(this);
        return detail::task_access::handle(m_inner);
    }

    // Cancelled from outside: cancel the inner task (with the request's
    // message), resume once it has unwound.
    bool cancel() noexcept {
        m_loop->remove_timer(*this);
        m_inner_context.request_cancel(this->strand()->cause().forwarded());
        return true;
    }

    decltype(auto) result() {
        if (m_never_started) {
            throw timeout_error("corio::wait_for: timed out (timeout <= 0) before the coroutine started");
        }
        auto& promise = detail::task_access::handle(m_inner).promise();
        if (m_timed_out && detail::is_cancellation(promise.exception())) {
            const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(m_timeout).count();
            throw timeout_error("corio::wait_for: timed out after " + std::to_string(ms) + " ms");
        }
        if constexpr (std::is_void_v<T> || std::is_reference_v<T>) {
            return promise.value();
        } else {
            return T(std::move(promise).value());
        }
    }

    // The inner task finished (by itself or after being cancelled).
    std::coroutine_handle<> on_task_done(detail::task_context* /*strand*/) noexcept override {
        m_loop->remove_timer(*this);
        this->disarm();
        return m_awaiting;
    }

    // The deadline passed: cancel the inner task and resume once it has unwound.
    static void time_out(detail::timer_entry* entry) noexcept {
        auto* self = static_cast<wait_for_operation*>(entry);
        self->m_timed_out = true;
        self->m_inner_context.request_cancel();
    }

    bool m_timed_out = false;
    bool m_unstarted_coroutine = false;  // m_inner is the caller's own coroutine, not a wrapper
    bool m_never_started = false;
    detail::task_context m_inner_context;  // declared before m_inner: outlives the frame
    task<T> m_inner;
    event_loop::duration m_timeout;
    event_loop* m_loop = nullptr;
    std::coroutine_handle<> m_awaiting;
};

/// Awaits `awaitable`, giving up after `timeout` (asyncio.wait_for).
///
/// Returns the awaitable's value or rethrows its exception. When the timeout
/// passes first, the inner operation is cancelled and wait_for waits for it to
/// unwind before throwing timeout_error, so nothing it references is left
/// running. (If the inner operation swallows the cancellation and returns a
/// value anyway, that value is returned.) Cancelling the awaiting task cancels
/// the inner operation the same way and throws cancelled_error. A timeout of
/// zero or less never starts a coroutine passed directly (timeout_error at
/// once), and gives a finished task handle's result, as asyncio.wait_for does.
template <class Awaitable, class Rep, class Period>
    requires detail::awaitable<Awaitable>
[[nodiscard]] auto wait_for(Awaitable&& awaitable, std::chrono::duration<Rep, Period> timeout) {
    using inner_task = detail::as_task_t<Awaitable>;
    return wait_for_operation<typename inner_task::value_type>(
        detail::as_task(std::forward<Awaitable>(awaitable)),
        detail::to_timer_duration(timeout),
        std::is_same_v<std::remove_cvref_t<Awaitable>, inner_task>);
}

}  // namespace corio
