// event_loop.hpp comes first and outside the include guard: it needs this
// header's classes complete before its member definitions, and includes this
// header for them (see impl/event_loop.hpp).
#include <corio/event_loop.hpp>

#ifndef CORIO_THREAD_POOL_HPP
#define CORIO_THREAD_POOL_HPP

// Thread off-loading: corio::thread_pool, corio::to_thread and
// event_loop::run_in_executor (asyncio.to_thread, loop.run_in_executor).
//
// How a result comes back: the awaiter and the job share a refcounted
// offload_state. The job runs on a worker and, holding the state's mutex,
// posts its outcome to the awaiting loop with call_soon_threadsafe, but only
// while the awaiter has not abandoned the state. The awaiter abandons it
// (under the same mutex) when it is cancelled or destroyed; a loop closing
// destroys its task frames, hence their awaiters, before it goes away. So a
// worker never touches a loop or a frame that may be gone, and the loop
// thread only ever waits for that mutex, never for the job.

#include <corio/cancel.hpp>
#include <corio/detail/cancellable_awaiter.hpp>
#include <corio/detail/signal_mask.hpp>
#include <corio/errors.hpp>
#include <corio/event_loop.hpp>
#include <corio/task.hpp>

#include <algorithm>
#include <condition_variable>
#include <coroutine>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace corio {
namespace detail {

/// A move-only type-erased job (std::function needs copyable callables).
class pool_job {
public:
    template <class F>
    explicit pool_job(F&& f) : m_impl(std::make_unique<impl<std::decay_t<F>>>(std::forward<F>(f))) {}

    void operator()() { m_impl->run(); }

private:
    struct base {
        base() = default;
        base(const base&) = delete;
        base& operator=(const base&) = delete;
        virtual ~base() = default;
        virtual void run() = 0;
    };
    template <class F>
    struct impl final : base {
        template <class G>
        explicit impl(G&& g) : f(std::forward<G>(g)) {}
        void run() override { f(); }
        F f;
    };

    std::unique_ptr<base> m_impl;
};

/// The pool whose worker is the calling thread, or null.
inline const void*& current_pool_slot() noexcept {
    thread_local const void* pool = nullptr;
    return pool;
}

}  // namespace detail

/// A fixed set of worker threads running submitted callables in FIFO order
/// (the counterpart of concurrent.futures.ThreadPoolExecutor).
///
/// Destruction finishes every job already queued (and any a running job
/// submits meanwhile), then joins the workers; it must not run on one of
/// the pool's own workers. Workers block every asynchronous signal, so they
/// never take a signal meant for an event loop's handler. submit() is
/// thread-safe; the pool itself is neither copyable nor movable.
class thread_pool {
public:
    /// Starts `threads` workers (at least one).
    explicit thread_pool(std::size_t threads = std::thread::hardware_concurrency()) {
        threads = std::max<std::size_t>(threads, 1);
        m_workers.reserve(threads);
        // Started inside the scope, the workers inherit the blocked mask and so
        // cannot take a signal even before their first instruction.
        const detail::async_signals_blocked blocked;
        try {
            for (std::size_t i = 0; i < threads; ++i) {
                m_workers.emplace_back([this] { work(); });
            }
        } catch (...) {
            shut_down();
            throw;
        }
    }

    thread_pool(const thread_pool&) = delete;
    thread_pool& operator=(const thread_pool&) = delete;

    /// Finishes the queued jobs, then joins the workers.
    ~thread_pool() { shut_down(); }

    /// Queues `f()` to run on a worker. An exception escaping it is printed to
    /// stderr (as the loop's default exception handler does) and the worker
    /// goes on. Thread-safe. Throws std::logic_error once destruction began,
    /// except from the pool's own workers (their jobs still run).
    template <class F>
    void submit(F&& f) {
        static_assert(std::is_invocable_v<std::decay_t<F>&>,
                      "corio: thread_pool::submit takes a callable with no arguments");
        enqueue(detail::pool_job(std::forward<F>(f)));  // allocated outside the lock
    }

    /// Number of worker threads.
    [[nodiscard]] std::size_t size() const noexcept { return m_workers.size(); }

private:
    // The part of submit() that does not depend on the callable: compiled
    // once, not once per callable type.
    void enqueue(detail::pool_job job) {
        {
            std::lock_guard lock(m_mutex);
            if (m_stopping && detail::current_pool_slot() != this) {
                throw std::logic_error("corio: submit on a thread_pool being destroyed");
            }
            m_jobs.push_back(std::move(job));
        }
        m_wake.notify_one();
    }

    void work() {
        detail::current_pool_slot() = this;
        for (;;) {
            std::optional<detail::pool_job> job;
            {
                std::unique_lock lock(m_mutex);
                m_wake.wait(lock, [this] { return m_stopping || !m_jobs.empty(); });
                if (m_jobs.empty()) {
                    return;  // stopping, and nothing left to finish
                }
                job.emplace(std::move(m_jobs.front()));
                m_jobs.pop_front();
            }
            try {
                (*job)();
            } catch (...) {
                event_loop::default_exception_handler({"exception in a thread_pool job", std::current_exception()});
            }
        }
    }

    void shut_down() noexcept {
        {
            std::lock_guard lock(m_mutex);
            m_stopping = true;
        }
        m_wake.notify_all();
        for (std::thread& worker : m_workers) {
            if (worker.joinable()) {
                worker.join();
            }
        }
    }

    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::deque<detail::pool_job> m_jobs;  // guarded by m_mutex
    bool m_stopping = false;              // guarded by m_mutex
    std::vector<std::thread> m_workers;
};

/// The process-wide pool behind to_thread, created on first use with
/// min(32, hardware threads + 4) workers (Python's default for
/// ThreadPoolExecutor: the jobs are mostly blocking I/O, not computation).
/// Destroyed at exit, after finishing its queued jobs. Thread-safe.
inline thread_pool& default_thread_pool() {
    static thread_pool pool(std::min<std::size_t>(32, std::thread::hardware_concurrency() + 4));
    return pool;
}

namespace detail {

/// A job's value or exception. (Not corio::outcome, which needs a
/// default-constructible T.)
template <class R>
class offload_result {
    using stored = std::conditional_t<std::is_void_v<R>, std::monostate,
                                      std::conditional_t<std::is_reference_v<R>, std::remove_reference_t<R>*, R>>;

public:
    template <class F, class Tuple>
    static offload_result run(F&& fn, Tuple&& args) noexcept {
        offload_result result;
        try {
            if constexpr (std::is_void_v<R>) {
                std::apply(std::forward<F>(fn), std::forward<Tuple>(args));
                result.m_value.emplace();
            } else if constexpr (std::is_reference_v<R>) {
                result.m_value.emplace(std::addressof(std::apply(std::forward<F>(fn), std::forward<Tuple>(args))));
            } else {
                result.m_value.emplace(std::apply(std::forward<F>(fn), std::forward<Tuple>(args)));
            }
        } catch (...) {
            result.m_error = std::current_exception();
        }
        return result;
    }

    /// The value (moved out), or the exception rethrown.
    R take() {
        if (m_error) {
            std::rethrow_exception(m_error);
        }
        if constexpr (std::is_void_v<R>) {
            return;
        } else if constexpr (std::is_reference_v<R>) {
            return static_cast<R>(**m_value);
        } else {
            return R(std::move(*m_value));
        }
    }

private:
    std::optional<stored> m_value;
    std::exception_ptr m_error;
};

/// What an off-loaded job and its awaiter share, whatever the job returns
/// (so this part is compiled once, not once per result type).
struct offload_state_base {
    std::mutex mutex;
    bool abandoned = false;            // guarded by mutex; written by the loop thread only
    event_loop* loop = nullptr;        // the awaiting loop; valid while !abandoned
    std::coroutine_handle<> waiting;   // the awaiting coroutine; valid while !abandoned

    // Runs on the worker, with `mutex` held across the post: the awaiter
    // cannot abandon (so neither its frame nor its loop can be destroyed)
    // while the worker uses the loop.
    static void post_completion(std::shared_ptr<offload_state_base> state) noexcept {
        event_loop* const target = state->loop;
        try {
            target->call_soon_threadsafe([state = std::move(state)] { state->complete(); });
        } catch (...) {
            // event_loop_error: the loop is closing, and destroys the awaiting
            // frame next. (std::bad_alloc would leave the awaiter waiting:
            // there is no way to reach it without allocating.)
        }
    }

    // Runs on the loop thread, as a ready job.
    void complete() {
        // `abandoned` is only written on this thread: no lock needed to read it.
        if (!abandoned) {
            waiting.resume();
        }
    }
};

/// offload_state_base with the job's result.
template <class R>
struct offload_state : offload_state_base {
    std::optional<offload_result<R>> result;  // set by the worker under mutex, read after the post

    // Runs on the worker: hands the outcome to the loop unless nobody waits.
    static void deliver(const std::shared_ptr<offload_state>& state,
                        offload_result<R>&& result) noexcept {
        std::lock_guard lock(state->mutex);
        if (state->abandoned) {
            return;  // cancelled or destroyed: the result is dropped here, on the worker
        }
        state->result.emplace(std::move(result));
        post_completion(state);
    }
};

}  // namespace detail

/// Awaiter of corio::to_thread and event_loop::run_in_executor: submits
/// `f(args...)` to a thread pool when awaited and resumes with its result.
///
/// Movable only before it is awaited (so it can be handed to wait_for).
template <class F, class... Args>
class offload_operation : public detail::cancellable_awaiter<offload_operation<F, Args...>> {
public:
    using result_type = std::invoke_result_t<F, Args...>;

    template <class G, class... A>
    offload_operation(thread_pool& pool, event_loop* loop, G&& f, A&&... args)
        : m_pool(&pool), m_loop(loop), m_fn(std::forward<G>(f)), m_args(std::forward<A>(args)...) {}
    offload_operation(offload_operation&& other) noexcept(
        std::is_nothrow_move_constructible_v<F> && (std::is_nothrow_move_constructible_v<Args> && ...))
        : m_pool(other.m_pool),
          m_loop(other.m_loop),
          m_fn(std::move(other.m_fn)),
          m_args(std::move(other.m_args)) {}
    offload_operation& operator=(const offload_operation&) = delete;

    // A frame destroyed while waiting (its loop closing) abandons the job.
    ~offload_operation() { abandon(); }

private:
    using state_type = detail::offload_state<result_type>;
    friend detail::cancellable_awaiter<offload_operation>;

    template <class Promise>
    bool start(std::coroutine_handle<Promise> awaiting) {
        event_loop& loop = get_running_loop();
        if (m_loop != nullptr && m_loop != &loop) {
            throw event_loop_error("corio: run_in_executor awaited on another loop than its own");
        }
        auto state = std::make_shared<state_type>();
        state->loop = &loop;
        state->waiting = awaiting;
        // The job owns its function and arguments: they live and die on the worker.
        m_pool->submit([state, fn = std::move(m_fn), args = std::move(m_args)]() mutable noexcept {
            state_type::deliver(state, detail::offload_result<result_type>::run(std::move(fn), std::move(args)));
        });
        m_state = std::move(state);
        return true;
    }

    // The job runs on regardless (a thread cannot be interrupted); only its
    // result is dropped.
    bool cancel() noexcept {
        abandon();
        m_state->loop->resume_soon(m_state->waiting);
        return true;
    }

    result_type result() { return m_state->result->take(); }

    void abandon() noexcept {
        if (m_state != nullptr && !m_state->abandoned) {
            std::lock_guard lock(m_state->mutex);  // waits at most for a post in progress
            m_state->abandoned = true;
        }
    }

    thread_pool* m_pool;
    event_loop* m_loop;  // run_in_executor's loop; null for to_thread (the running loop)
    F m_fn;
    std::tuple<Args...> m_args;
    std::shared_ptr<state_type> m_state;  // set once the job is submitted
};

/// Runs `std::invoke(f, args...)` on the default thread pool and resumes the
/// awaiting coroutine, on its loop, with the result or the exception
/// (asyncio.to_thread). `f` and `args` are decay-copied (moved from rvalues)
/// into the job, so pass pointers or std::ref for what should be shared, and
/// make sure it outlives the job: the function runs on another thread and
/// must not touch the loop (except through call_soon_threadsafe).
///
/// The job is submitted when the result is awaited; the loop thread never
/// waits for it. Cancelling the awaiting task stops the wait at once (the
/// co_await throws cancelled_error) but cannot interrupt the function, which
/// runs to completion on its worker; its result (or exception) is then
/// discarded on that worker. A loop may be closed while jobs still run.
template <class F, class... Args>
[[nodiscard]] auto to_thread(F&& f, Args&&... args) {
    static_assert(std::is_invocable_v<std::decay_t<F>, std::decay_t<Args>...>,
                  "corio::to_thread: f cannot be called with these arguments (they are decay-copied "
                  "and passed as rvalues)");
    return offload_operation<std::decay_t<F>, std::decay_t<Args>...>(default_thread_pool(), nullptr,
                                                                     std::forward<F>(f),
                                                                     std::forward<Args>(args)...);
}

}  // namespace corio

#endif  // CORIO_THREAD_POOL_HPP
