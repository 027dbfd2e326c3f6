#pragma once

#include <corio/detail/cancellation.hpp>
#include <corio/detail/unique_coroutine.hpp>
#include <corio/task.hpp>

#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace corio {

template <class T>
class async_generator;

namespace detail {

/// What async_generator<T>::next() returns: std::optional<T> for a value
/// generator, a pointer (null at the end) for a reference generator.
template <class T>
using generator_next_t =
    std::conditional_t<std::is_reference_v<T>, std::remove_reference_t<T>*, std::optional<T>>;

/// Promise of async_generator<T>. Derives from promise_base for the frame
/// allocator and for the cancellation context: a generator runs inside the
/// strand of whoever awaits next(), so awaitables in its body arm that strand.
template <class T>
class generator_promise final : public promise_base {
public:
    async_generator<T> get_return_object() noexcept;

    // co_yield hands the value over and suspends; promise_base::final_awaiter
    // does exactly the transfer needed (resume the consumer by symmetric
    // transfer), so a yield is a "final suspend" that can be resumed.
    template <class U>
        requires(!std::is_reference_v<T> && std::is_constructible_v<T, U &&>)
    final_awaiter yield_value(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
        m_slot->emplace(std::forward<U>(value));
        return {};
    }

    final_awaiter yield_value(std::remove_reference_t<T>& value) noexcept
        requires std::is_reference_v<T>
    {
        *m_slot = std::addressof(value);
        return {};
    }

    void return_void() noexcept {}
    void unhandled_exception() noexcept { m_exception = std::current_exception(); }

    // Set by the next() in flight: where the yielded value goes.
    generator_next_t<T>* m_slot = nullptr;
    std::exception_ptr m_exception;
    bool m_active = false;  // a next() is running the body
};

}  // namespace detail

/// A coroutine that co_yields a stream of values and may co_await between
/// them (Python's async generator, consumed with `async for`).
///
///     corio::async_generator<int> ticks(int n) {
///         for (int i = 0; i < n; ++i) {
///             co_await corio::sleep(10ms);
///             co_yield i;
///         }
///     }
///     ...
///     auto gen = ticks(3);
///     while (auto x = co_await gen.next()) {   // async for x in ticks(3):
///         use(*x);
///     }
///
/// next() returns std::optional<T> (empty once the body has returned). For a
/// reference generator, `async_generator<U&>`, next() returns `U*` (null at
/// the end) pointing at the object the body yielded; it stays valid until the
/// next call to next(). `*x` reads the value in both cases.
///
/// Lazy: the body starts at the first next(). Each next() runs the body, as
/// part of the awaiting task, until its next co_yield or its end, and resumes
/// the consumer by symmetric transfer. An exception leaving the body is
/// rethrown by that next(); the generator is then finished and later calls
/// return an empty result.
///
/// Cancellation: the body runs in the consumer's cancellation context, so
/// cancelling the consumer while it waits in next() makes the body's pending
/// co_await throw cancelled_error; unless the body catches it, next() then
/// throws cancelled_error.
///
/// g++ 12 bug: `co_yield Aggregate{...}` (any temporary operand of a class with
/// a std::string member) is relocated bitwise by the compiler and the string's
/// small buffer then points into the frame (invalid free). Yield a named local
/// instead: `reading r{...}; co_yield std::move(r);` (reported against Asio,
/// chriskohlhoff/asio#1073, and Seastar, scylladb/seastar#1677; clang is fine).
///
/// Destroying the generator destroys the suspended frame (its locals are
/// destroyed as after a return; `catch` handlers do not run). Move-only; one
/// next() at a time; loop thread only.
template <class T>
class [[nodiscard]] async_generator {
public:
    /// The coroutine promise; it makes a function returning async_generator<T> a generator.
    using promise_type = detail::generator_promise<T>;
    /// The type given to co_yield.
    using value_type = T;
    /// What next() yields: std::optional<T>, or a pointer (null at the end) when T is a reference.
    using next_type = detail::generator_next_t<T>;

    async_generator() noexcept = default;
    /// Takes ownership of a generator frame (the promise makes this; not for user code).
    explicit async_generator(std::coroutine_handle<promise_type> handle) noexcept : m_frame(handle) {}

    /// True if this object owns a generator frame (it was not moved from).
    [[nodiscard]] bool valid() const noexcept { return m_frame.valid(); }
    /// True once the body has returned or thrown.
    [[nodiscard]] bool done() const noexcept { return m_frame.done(); }

    /// Awaiter of next(): runs the body to its next co_yield.
    class next_operation {
    public:
        explicit next_operation(std::coroutine_handle<promise_type> handle) noexcept : m_handle(handle) {}
        next_operation(const next_operation&) = delete;
        next_operation& operator=(const next_operation&) = delete;
        // Movable only before it is awaited (so it can be handed to wait_for).
        next_operation(next_operation&& other) noexcept : m_handle(std::exchange(other.m_handle, {})) {}

        ~next_operation() {
            // The consumer's frame destroyed mid-next (its loop closing): the
            // generator must not keep a pointer into this dead awaiter.
            if (m_handle && m_handle.promise().m_slot == &m_result) {
                m_handle.promise().m_slot = nullptr;
                m_handle.promise().m_active = false;
            }
        }

        bool await_ready() const {
            if (!m_handle) {
                throw std::logic_error("corio::async_generator: next() on an empty (moved-from) generator");
            }
            if (m_handle.promise().m_active) {
                throw std::logic_error("corio::async_generator: next() while another next() is running");
            }
            return m_handle.done();
        }

        template <class Promise>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> consumer) noexcept {
            promise_type& promise = m_handle.promise();
            promise.m_slot = &m_result;
            promise.m_active = true;
            promise.set_continuation(consumer);
            promise.set_context(detail::context_of(consumer));
            return m_handle;
        }

        next_type await_resume() {
            promise_type& promise = m_handle.promise();
            promise.m_slot = nullptr;
            promise.m_active = false;
            if (std::exception_ptr error = std::exchange(promise.m_exception, nullptr)) {
                std::rethrow_exception(error);
            }
            return std::move(m_result);
        }

    private:
        std::coroutine_handle<promise_type> m_handle;
        next_type m_result{};
    };

    /// Resumes the body until it yields the next value (returned) or ends
    /// (an empty optional / null pointer), rethrowing an exception that left
    /// the body. Resumes the caller by symmetric transfer, in the same strand.
    [[nodiscard]] next_operation next() noexcept { return next_operation{m_frame.get()}; }

private:
    detail::unique_coroutine<promise_type> m_frame;  // move-only, so the generator is
};

namespace detail {

template <class T>
async_generator<T> generator_promise<T>::get_return_object() noexcept {
    return async_generator<T>{std::coroutine_handle<generator_promise>::from_promise(*this)};
}

}  // namespace detail
}  // namespace corio
