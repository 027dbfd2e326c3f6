#pragma once

#include <corio/detail/await_forward.hpp>
#include <corio/detail/config.hpp>
#include <corio/task.hpp>

#include <coroutine>
#include <type_traits>
#include <utility>

namespace corio::detail {

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

/// An awaitable that is one view of a result other copies share (a
/// task_handle, a child_handle: they declare `shares_its_result`), with a
/// result that can be copied out. A combinator awaits its own copy of such an
/// awaitable as an lvalue, so the result stays for every other holder, as
/// asyncio never consumes `t.result()`. A move-only result can only be moved
/// out (only an rvalue handle is accepted for it, as for `co_await`).
template <class A>
concept copies_shared_result =
    requires { typename A::shares_its_result; } &&
    (std::is_void_v<await_result_t<A>> || std::is_reference_v<await_result_t<A>> ||
     std::is_copy_constructible_v<await_result_t<A>>);

// Adapts any awaitable into a task, so combinators can drive it as a child
// with its own cancellation. The awaitable is moved into the frame and
// awaited once, as an rvalue unless it shares its result (see above); a void
// result works too, since `co_return` of a void expression returns nothing.
template <class A>
CORIO_HEADER_COROUTINE task<await_result_t<A>> make_task(A awaitable) {
    if constexpr (copies_shared_result<A>) {
        co_return co_await awaitable;
    } else {
        co_return co_await std::move(awaitable);
    }
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
