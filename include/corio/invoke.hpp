#pragma once

#include <corio/detail/awaitable_traits.hpp>
#include <corio/detail/config.hpp>
#include <corio/task.hpp>

#include <concepts>
#include <functional>
#include <type_traits>

namespace corio {

/// Calls a coroutine callable with its arguments and keeps the callable and the
/// arguments alive, inside the returned task's frame, until that task finishes.
///
/// A coroutine lambda's captures live in the lambda object, not in the
/// coroutine frame, and a reference parameter refers to the caller's object:
/// both dangle once a spawned task outlives them (C++ Core Guidelines CP.51).
/// `corio::create_task(corio::invoke([state] () -> corio::task<> { ... }))` is
/// the safe spelling: the lambda is copied into the frame of invoke's task.
template <class F, class... Args>
    requires std::invocable<F&, Args&...> &&
             detail::awaitable<std::invoke_result_t<F&, Args&...>>
CORIO_HEADER_COROUTINE auto invoke(F callable, Args... args)
    -> task<detail::await_result_t<std::invoke_result_t<F&, Args&...>>> {
    co_return co_await std::invoke(callable, args...);
}

}  // namespace corio
