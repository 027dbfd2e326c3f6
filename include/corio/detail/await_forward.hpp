#pragma once

#include <coroutine>
#include <utility>

namespace corio::detail {

template <class A>
concept has_member_co_await = requires(A&& a) {
    std::forward<A>(a).operator co_await();
};

template <class A>
concept has_free_co_await = requires(A&& a) {
    operator co_await(std::forward<A>(a));
};

/// What a promise's await_transform returns to have the co_await go on as if
/// it had not been there: a reference to the awaitable that forwards to it.
/// (Returning the reference itself would do, but g++ 12 then copies the
/// awaitable, which most awaiters forbid.) With an operator co_await the
/// awaiter it makes is used, with the awaitable's value category; otherwise
/// the awaitable is the awaiter and is called as an lvalue, as co_await does.
template <class Awaitable>
class await_forward {
    Awaitable&& m_awaitable;  // first: the members below deduce their types from it

    static constexpr bool is_awaiter =
        !has_member_co_await<Awaitable> && !has_free_co_await<Awaitable>;

public:
    explicit await_forward(Awaitable&& awaitable) noexcept
        : m_awaitable(std::forward<Awaitable>(awaitable)) {}

    decltype(auto) operator co_await() && requires has_member_co_await<Awaitable> {
        return std::forward<Awaitable>(m_awaitable).operator co_await();
    }
    decltype(auto) operator co_await() &&
        requires(!has_member_co_await<Awaitable> && has_free_co_await<Awaitable>) {
        return operator co_await(std::forward<Awaitable>(m_awaitable));
    }

    decltype(auto) await_ready() requires is_awaiter { return m_awaitable.await_ready(); }
    template <class Promise>
    decltype(auto) await_suspend(std::coroutine_handle<Promise> caller) requires is_awaiter {
        return m_awaitable.await_suspend(caller);
    }
    decltype(auto) await_resume() requires is_awaiter { return m_awaitable.await_resume(); }
};

}  // namespace corio::detail
