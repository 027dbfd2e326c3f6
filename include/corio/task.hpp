#pragma once

#include <corio/detail/await_forward.hpp>
#include <corio/detail/cancellation.hpp>
#include <corio/detail/debug_probe.hpp>
#include <corio/detail/frame_allocator.hpp>
#include <corio/detail/unique_coroutine.hpp>

#include <coroutine>
#include <cstdint>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#if CORIO_TRACK_AWAITS  // (set by debug_probe.hpp when not given)
#include <corio/detail/coroutine_name.hpp>  // names frames in the tracking build's reports
#endif

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
    /// Debug mode: the await chain at the point an exception left the task's
    /// innermost coroutine (see promise_base::note_escaping_exception).
    virtual void note_exception_chain(std::string_view /*chain*/) noexcept {}

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

    /// Every co_await in a task passes through here with its call site: kept
    /// in the frame when built with CORIO_TRACK_AWAITS, told to a debug-mode
    /// loop when one listens, otherwise dropped (the arguments are constants
    /// and the check one relaxed load).
    template <class Awaitable>
    await_forward<Awaitable> await_transform(Awaitable&& awaitable,
                                             const char* file = __builtin_FILE(),
                                             unsigned line = __builtin_LINE(),
                                             const char* function = __builtin_FUNCTION()) noexcept {
        record_await({file, function, line});
        return await_forward<Awaitable>(std::forward<Awaitable>(awaitable));
    }

    /// The same for the commonest case, `co_await f()`: a task's awaiter is
    /// cheap to return by value, so no forwarding reference is kept.
    template <class U>
    typename task<U>::awaiter await_transform(task<U>&& awaited, const char* file = __builtin_FILE(),
                                               unsigned line = __builtin_LINE(),
                                               const char* function = __builtin_FUNCTION()) noexcept {
        record_await({file, function, line});
        return std::move(awaited).operator co_await();
    }

    // What both await_transforms do with the site.
    void record_await(await_site site) noexcept {
#if CORIO_TRACK_AWAITS
        m_await_site = site;
#endif
        if (debug_probe_armed()) [[unlikely]] {
            note_await(m_context, site);
        }
    }

#if CORIO_TRACK_AWAITS
    /// Where this coroutine last reached a co_await (pending while suspended).
    [[nodiscard]] const await_site& pending_await() const noexcept {
        return m_await_site;
    }
    /// The task coroutine this one awaits right now (null: none, or not a task).
    [[nodiscard]] const promise_base* awaited() const noexcept {
        return m_awaited;
    }
    void set_awaited(const promise_base* child) noexcept {
        m_awaited = child;
    }
#endif

    [[nodiscard]] task_context* context() const noexcept { return m_context; }
    /// True until the coroutine is awaited, spawned or run by a combinator.
    [[nodiscard]] bool never_awaited() const noexcept {
        return m_next == 0 && m_context == nullptr;
    }
    void set_context(task_context* context) noexcept { m_context = context; }
    /// The coroutine awaiting this one, resumed when it ends (replaces a completion).
    void set_continuation(std::coroutine_handle<> continuation) noexcept {
        m_next = reinterpret_cast<std::uintptr_t>(continuation.address());
    }

#if CORIO_TRACK_AWAITS
    /// The corio coroutine awaiting this one (null: none, or not corio's).
    void set_awaiting_promise(const promise_base* parent) noexcept { m_awaiting_promise = parent; }

    /// Debug mode: an exception leaves this coroutine (its promise stores it
    /// for the awaiting one). The first coroutine it leaves, the innermost,
    /// walks the chain of awaiting corio coroutines up to the task and hands it
    /// to the task's completion; the outer ones see the same exception and
    /// stop at once.
    template <class Promise>
    [[gnu::cold]] static void note_escaping_exception(std::coroutine_handle<Promise> self) noexcept {
        step_probe& probe = current_step_probe();
        if (!probe.timing) {
            return;
        }
        try {
            std::exception_ptr current = std::current_exception();
            if (probe.unwinding == current) {
                return;
            }
            probe.unwinding = current;
            std::string chain;
            std::coroutine_handle<> frame = self;
            const promise_base* promise = &self.promise();
            for (int depth = 0; depth < 10000; ++depth) {
                std::string function = coroutine_function_name(frame);
                chain.append("#").append(std::to_string(depth)).append(" ");
                chain.append(function.empty() ? "?" : function);
                if (promise->m_await_site.known()) {
                    chain.append(depth == 0 ? " (after its co_await at " : " at ")
                        .append(promise->m_await_site.file)
                        .append(":")
                        .append(std::to_string(promise->m_await_site.line))
                        .append(depth == 0 ? ")" : "");
                }
                chain.append("\n");
                const std::uintptr_t next = promise->m_next;
                if ((next & completion_bit) != 0) {
                    reinterpret_cast<task_completion*>(next & ~completion_bit)->note_exception_chain(chain);
                    return;
                }
                if (promise->m_awaiting_promise == nullptr) {
                    return;  // awaited by a coroutine that is not corio's: its promise is unknown
                }
                frame = std::coroutine_handle<>::from_address(reinterpret_cast<void*>(next));
                promise = promise->m_awaiting_promise;
            }
        } catch (...) {  // out of memory: no chain
        }
    }
#endif
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
#if CORIO_TRACK_AWAITS
    await_site m_await_site;
    const promise_base* m_awaited = nullptr;           // the task this one awaits
    const promise_base* m_awaiting_promise = nullptr;  // the task awaiting this one
#endif
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
#if CORIO_TRACK_AWAITS
        if (debug_probe_armed()) [[unlikely]] {
            note_escaping_exception(std::coroutine_handle<task_promise>::from_promise(*this));
        }
#endif
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
    void unhandled_exception() noexcept {
#if CORIO_TRACK_AWAITS
        if (debug_probe_armed()) [[unlikely]] {
            note_escaping_exception(std::coroutine_handle<task_promise>::from_promise(*this));
        }
#endif
        m_exception = std::current_exception();
    }

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
    void unhandled_exception() noexcept {
#if CORIO_TRACK_AWAITS
        if (debug_probe_armed()) [[unlikely]] {
            note_escaping_exception(std::coroutine_handle<task_promise>::from_promise(*this));
        }
#endif
        m_exception = std::current_exception();
    }

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

#if CORIO_TRACK_AWAITS
// Debug mode's "coroutine was never awaited": a task destroyed before anything
// awaited, spawned or ran it. Logged by the loop after the current step.
template <class Promise>
[[gnu::cold]] void note_if_never_awaited(std::coroutine_handle<Promise> frame) noexcept {
    if (!frame || frame.done() || !frame.promise().never_awaited() ||
        !current_step_probe().timing) {
        return;
    }
    try {
        std::string function = coroutine_function_name(frame);
        if (function.empty()) {
            function = "a coroutine whose name is not in the symbol table";
        }
        current_step_probe().warnings.push_back(
            "a task was destroyed without ever being awaited or started: " + function +
            " (a missing co_await, or a task never passed to create_task / "
            "gather?)");
    } catch (...) {  // out of memory: the warning is not worth more
    }
}
#endif

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
    /// The coroutine promise; it makes a function returning task<T> a coroutine.
    using promise_type = detail::task_promise<T>;
    /// What the body co_returns and awaiting the task yields.
    using value_type = T;

    task() noexcept = default;
    /// Takes ownership of a coroutine frame (the promise makes this; not for user code).
    explicit task(std::coroutine_handle<promise_type> handle) noexcept : m_frame(handle) {}
    /// Takes the coroutine; the source is left empty (valid() false).
    task(task&&) noexcept = default;
    /// Takes the coroutine, destroying the frame held before (an unfinished body does not run
    /// further); the source is left empty.
    task& operator=(task&&) noexcept = default;
#if CORIO_TRACK_AWAITS
    // The never-awaited report costs a check per task destroyed: only in the
    // build that keeps await sites.
    ~task() {
        if (detail::debug_probe_armed()) [[unlikely]] {
            detail::note_if_never_awaited(m_frame.get());
        }
    }
#endif

    /// True if this task owns a coroutine (it was not moved from).
    [[nodiscard]] bool valid() const noexcept { return m_frame.valid(); }
    /// True once the body has run to completion.
    [[nodiscard]] bool done() const noexcept { return m_frame.done(); }

    /// What co_await on a task returns: starts the body, resumes the awaiting coroutine by
    /// symmetric transfer when it finishes. Throws std::logic_error when the task is empty or
    /// was already awaited.
    class awaiter {
    public:
        /// Awaits the coroutine `handle`, which it does not own (the task keeps it).
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
#if CORIO_TRACK_AWAITS
            if constexpr (std::is_base_of_v<detail::promise_base, Promise>) {
                m_caller = &caller.promise();
                m_caller->set_awaited(&promise);
                promise.set_awaiting_promise(m_caller);
            }
#endif
            return m_handle;
        }

        // By value, not T&&: the result must not dangle once the awaited task
        // (often a temporary in the co_await expression) is destroyed.
        decltype(auto) await_resume() {
#if CORIO_TRACK_AWAITS
            if (m_caller != nullptr) {
                m_caller->set_awaited(nullptr);
            }
#endif
            if constexpr (std::is_void_v<T> || std::is_reference_v<T>) {
                return m_handle.promise().value();
            } else {
                return T(std::move(m_handle.promise()).value());
            }
        }

    private:
        std::coroutine_handle<promise_type> m_handle;
#if CORIO_TRACK_AWAITS
        detail::promise_base* m_caller = nullptr;
#endif
    };

    /// Runs the task to its end: yields its value or rethrows its exception. Once only.
    awaiter operator co_await() && noexcept { return awaiter{m_frame.get()}; }
    /// The same for a named task (`co_await t;`), which cannot be awaited again either.
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
