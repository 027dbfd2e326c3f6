#pragma once

#include <corio/detail/config.hpp>
#include <corio/task.hpp>

#include <coroutine>
#include <type_traits>
#include <utility>

namespace corio::detail {

template <class A>
concept has_member_co_await = requires(A&& a) { std::forward<A>(a).operator co_await(); };

template <class A>
concept has_free_co_await = requires(A&& a) { operator co_await(std::forward<A>(a)); };

template <class A>
decltype(auto) get_awaiter(A&& a) {
    if constexpr (has_member_co_await<A>) {
        return std::forward<A>(a).operator co_await();
    } else if constexpr (has_free_co_await<A>) {
        return operator co_await(std::forward<A>(a));
    } else {
        return std::forward<A>(a);
    }
}

/// The type `co_await std::declval<A>()` produces.
template <class A>
using await_result_t = decltype(get_awaiter(std::declval<A>()).await_resume());

template <class A>
concept awaitable = requires(A&& a) {
    { get_awaiter(std::forward<A>(a)).await_ready() } -> std::convertible_to<bool>;
    get_awaiter(std::forward<A>(a)).await_resume();
};

// Adapts any awaitable into a task, so combinators can drive it as a child
// with its own cancellation. The awaitable is moved into the frame; a void
// result works too, since `co_return` of a void expression returns nothing.
template <class A>
CORIO_HEADER_COROUTINE task<await_result_t<A>> make_task(A awaitable) {
    co_return co_await std::move(awaitable);
}

/// A task stays itself; any other awaitable is wrapped in one.
template <class A>
auto as_task(A&& a) {
    if constexpr (is_task<std::remove_cvref_t<A>>::value) {
        static_assert(!std::is_lvalue_reference_v<A>,
                      "corio: pass tasks to combinators as rvalues; did you forget a std::move?");
        return std::forward<A>(a);
    } else {
        return make_task<std::remove_cvref_t<A>>(std::forward<A>(a));
    }
}

template <class A>
using as_task_t = decltype(as_task(std::declval<A>()));

}  // namespace corio::detail
