#pragma once

#include <corio/detail/cancellation.hpp>
#include <corio/detail/frame_allocator.hpp>
#include <corio/detail/unique_coroutine.hpp>

#include <coroutine>
#include <cstdint>
#include <exception>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace corio {

template <class T = void>
class task;

namespace detail {

/// Told when a task that nobody co_awaits finishes: a spawned task, the root
/// of a loop, a child of a combinator. `strand` is the finished task's
/// context (what set_context gave it), so that one completion can serve many
/// children. Returns where to resume next.
class task_completion {
public:
    virtual std::coroutine_handle<> on_task_done(task_context* strand) noexcept = 0;

protected:
    ~task_completion() = default;
};

/// The part of every task promise that does not depend on T: frame
/// allocation, where to go at the end, and the strand's cancellation state.
class promise_base {
public:
    static void* operator new(std::size_t size) { return allocate_frame(size); }
    static void operator delete(void* frame, std::size_t size) noexcept {
        deallocate_frame(frame, size);
    }

    std::suspend_always initial_suspend() const noexcept { return {}; }

    struct final_awaiter {
        bool await_ready() const noexcept { return false; }

        // Symmetric transfer: the awaiting coroutine resumes as a tail call, so
        // a long chain of synchronously completing tasks does not grow the stack.
        template <class Promise>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> self) const noexcept {
            promise_base& promise = self.promise();
            const std::uintptr_t next = promise.m_next;
            if ((next & completion_bit) != 0) {
                return reinterpret_cast<task_completion*>(next & ~completion_bit)->on_task_done(promise.m_context);
            }
            if (next != 0) {
                return std::coroutine_handle<>::from_address(reinterpret_cast<void*>(next));
            }
            return std::noop_coroutine();
        }

        void await_resume() const noexcept {}
    };

    final_awaiter final_suspend() const noexcept { return {}; }

    [[nodiscard]] task_context* context() const noexcept { return m_context; }
    void set_context(task_context* context) noexcept { m_context = context; }
    /// The coroutine awaiting this one, resumed when it ends (replaces a completion).
    void set_continuation(std::coroutine_handle<> continuation) noexcept {
        m_next = reinterpret_cast<std::uintptr_t>(continuation.address());
    }
    /// Who is told when this task ends (replaces a continuation).
    void set_completion(task_completion* completion) noexcept {
        m_next = reinterpret_cast<std::uintptr_t>(completion) | completion_bit;
    }

private:
    // A task is either awaited (a continuation) or run as a strand of its own
    // (a completion), never both: one word, told apart by its low bit
    // (completions are pointers to 8-aligned objects; frames are 16-aligned).
    static constexpr std::uintptr_t completion_bit = 1;
    static_assert(alignof(task_completion) > 1);

    std::uintptr_t m_next = 0;  // continuation address, or completion | completion_bit, or 0
    task_context* m_context = nullptr;
};

/// The cancellation state of the strand a suspended coroutine belongs to, or
/// null for coroutines that are not corio tasks (they cannot be cancelled).
template <class Promise>
task_context* context_of(std::coroutine_handle<Promise> handle) noexcept {
    if constexpr (std::is_base_of_v<promise_base, Promise>) {
        return handle.promise().context();
    } else {
        return nullptr;
    }
}

template <class T>
class task_promise final : public promise_base {
public:
    task<T> get_return_object() noexcept;

    template <class U>
        requires std::is_convertible_v<U&&, T>
    void return_value(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
        ::new (static_cast<void*>(std::addressof(m_value))) T(std::forward<U>(value));
        m_state = state::value;
    }

    void unhandled_exception() noexcept {
        ::new (static_cast<void*>(std::addressof(m_exception)))
            std::exception_ptr(std::current_exception());
        m_state = state::exception;
    }

    task_promise() noexcept {}
    task_promise(const task_promise&) = delete;
    task_promise& operator=(const task_promise&) = delete;

    ~task_promise() {
        if (m_state == state::value) {
            m_value.~T();
        } else if (m_state == state::exception) {
            m_exception.~exception_ptr();
        }
    }

    [[nodiscard]] bool has_exception() const noexcept { return m_state == state::exception; }
    [[nodiscard]] std::exception_ptr exception() const noexcept {
        return m_state == state::exception ? m_exception : nullptr;
    }

    T& value() & {
        if (m_state == state::exception) {
            std::rethrow_exception(m_exception);
        }
        return m_value;
    }
    T&& value() && { return std::move(value()); }

private:
    enum class state : unsigned char { empty, value, exception };
    state m_state = state::empty;
    union {
        T m_value;
        std::exception_ptr m_exception;
    };
};

template <class T>
class task_promise<T&> final : public promise_base {
public:
    task<T&> get_return_object() noexcept;

    void return_value(T& value) noexcept { m_value = std::addressof(value); }
    void unhandled_exception() noexcept { m_exception = std::current_exception(); }

    [[nodiscard]] bool has_exception() const noexcept { return m_exception != nullptr; }
    [[nodiscard]] std::exception_ptr exception() const noexcept { return m_exception; }

    T& value() const {
        if (m_exception) {
            std::rethrow_exception(m_exception);
        }
        return *m_value;
    }

private:
    T* m_value = nullptr;
    std::exception_ptr m_exception;
};

template <>
class task_promise<void> final : public promise_base {
public:
    task<void> get_return_object() noexcept;

    void return_void() noexcept {}
    void unhandled_exception() noexcept { m_exception = std::current_exception(); }

    [[nodiscard]] bool has_exception() const noexcept { return m_exception != nullptr; }
    [[nodiscard]] std::exception_ptr exception() const noexcept { return m_exception; }

    void value() const {
        if (m_exception) {
            std::rethrow_exception(m_exception);
        }
    }

private:
    std::exception_ptr m_exception;
};

struct task_access;

}  // namespace detail

/// A lazily started coroutine producing a T (asyncio's `async def f() -> T`).
///
/// The body does not run until the task is co_awaited (or handed to
/// create_task / gather / wait_for / run). A task is move-only and is awaited
/// at most once; awaiting it yields the returned value or rethrows the
/// exception that left the body. The awaiting coroutine is resumed by
/// symmetric transfer when the body finishes, and the awaited task runs as
/// part of the awaiting task, sharing its cancellation.
template <class T>
class [[nodiscard]] task {
public:
    using promise_type = detail::task_promise<T>;
    using value_type = T;

    task() noexcept = default;
    explicit task(std::coroutine_handle<promise_type> handle) noexcept : m_frame(handle) {}

    /// True if this task owns a coroutine (it was not moved from).
    [[nodiscard]] bool valid() const noexcept { return m_frame.valid(); }
    /// True once the body has run to completion.
    [[nodiscard]] bool done() const noexcept { return m_frame.done(); }

    class awaiter {
    public:
        explicit awaiter(std::coroutine_handle<promise_type> handle) noexcept : m_handle(handle) {}

        bool await_ready() const {
            if (!m_handle) {
                throw std::logic_error("corio::task: awaiting an empty (moved-from) task");
            }
            if (m_handle.done()) {
                throw std::logic_error("corio::task: a task can be awaited only once");
            }
            return false;
        }

        template <class Promise>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> caller) noexcept {
            promise_type& promise = m_handle.promise();
            promise.set_continuation(caller);
            promise.set_context(detail::context_of(caller));
            return m_handle;
        }

        // By value, not T&&: the result must not dangle once the awaited task
        // (often a temporary in the co_await expression) is destroyed.
        decltype(auto) await_resume() {
            if constexpr (std::is_void_v<T> || std::is_reference_v<T>) {
                return m_handle.promise().value();
            } else {
                return T(std::move(m_handle.promise()).value());
            }
        }

    private:
        std::coroutine_handle<promise_type> m_handle;
    };

    awaiter operator co_await() && noexcept { return awaiter{m_frame.get()}; }
    awaiter operator co_await() & noexcept { return awaiter{m_frame.get()}; }

private:
    friend struct detail::task_access;

    detail::unique_coroutine<promise_type> m_frame;  // move-only, so task is
};

namespace detail {

template <class T>
task<T> task_promise<T>::get_return_object() noexcept {
    return task<T>{std::coroutine_handle<task_promise>::from_promise(*this)};
}

template <class T>
task<T&> task_promise<T&>::get_return_object() noexcept {
    return task<T&>{std::coroutine_handle<task_promise>::from_promise(*this)};
}

inline task<void> task_promise<void>::get_return_object() noexcept {
    return task<void>{std::coroutine_handle<task_promise>::from_promise(*this)};
}

/// Lets corio's own machinery (spawning, combinators) drive a task's frame.
struct task_access {
    template <class T>
    static std::coroutine_handle<task_promise<T>> handle(const task<T>& t) noexcept {
        return t.m_frame.get();
    }
};

template <class Awaitable>
struct is_task : std::false_type {};
template <class T>
struct is_task<task<T>> : std::true_type {};

}  // namespace detail
}  // namespace corio
