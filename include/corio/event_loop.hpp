#pragma once

#include <corio/detail/intrusive_list.hpp>
#include <corio/detail/reactor.hpp>
#include <corio/detail/ready_queue.hpp>
#include <corio/detail/signal_mask.hpp>
#include <corio/detail/timer_heap.hpp>
#include <corio/errors.hpp>
#include <corio/task.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace corio {

class event_loop;
class thread_pool;

template <class T>
class task_handle;

namespace detail {

class spawned_task_base;

/// The loop running on this thread, or null.
inline event_loop*& running_loop_slot() noexcept {
    thread_local event_loop* loop = nullptr;
    return loop;
}

/// A callable scheduled by call_soon / call_later / call_at, shared between
/// the loop's queues and the caller's callback_handle.
class callback_node : public timer_entry {
public:
    callback_node(const callback_node&) = delete;
    callback_node& operator=(const callback_node&) = delete;

    void add_ref() noexcept { ++m_refs; }
    void release() noexcept {
        if (--m_refs == 0) {
            delete this;
        }
    }

    bool m_cancelled = false;

    // Ready-queue entry point: runs the callable unless cancelled, then drops
    // the queue's reference (also when the callable throws).
    static void run_job(void* self) {
        auto* node = static_cast<callback_node*>(self);
        struct releaser {
            callback_node* node;
            ~releaser() { node->release(); }
        } release_on_exit{node};
        if (!node->m_cancelled) {
            node->invoke();
        }
    }

protected:
    callback_node() noexcept = default;
    virtual ~callback_node() = default;
    virtual void invoke() = 0;

private:
    unsigned m_refs = 1;
};

template <class F>
class callback_impl final : public callback_node {
public:
    template <class G>
    explicit callback_impl(G&& f) : m_f(std::forward<G>(f)) {}

private:
    void invoke() override { m_f(); }
    F m_f;
};

template <class F>
callback_node* make_callback(F&& f) {
    return new callback_impl<std::decay_t<F>>(std::forward<F>(f));
}

inline void resume_job(void* address) { std::coroutine_handle<>::from_address(address).resume(); }

/// The callable of add_signal_handler, shared between the loop's registry and
/// the deliveries scheduled for it.
class signal_handler_base {
public:
    signal_handler_base() = default;
    signal_handler_base(const signal_handler_base&) = delete;
    signal_handler_base& operator=(const signal_handler_base&) = delete;
    virtual ~signal_handler_base() = default;
    virtual void invoke() = 0;

    // Cleared when the handler is removed or replaced: a delivery already
    // scheduled for it then does nothing.
    bool m_active = true;
};

template <class F>
class signal_handler_impl final : public signal_handler_base {
public:
    template <class G>
    explicit signal_handler_impl(G&& f) : m_f(std::forward<G>(f)) {}

private:
    void invoke() override { m_f(); }
    F m_f;
};

/// One watched signal number: the reactor's tag for it (a stable address for
/// the signal's whole watch) and its current handler.
struct signal_watch : io_watch {
    event_loop* loop = nullptr;
    int signum = 0;
    bool was_blocked = false;  // blocked in the loop thread before the loop blocked it
    std::shared_ptr<signal_handler_base> handler;
};

}  // namespace detail

/// What the loop's exception handler is told (asyncio's context dict).
struct exception_context {
    std::string message;
    std::exception_ptr exception;
};

/// Cancels a callback scheduled with call_soon, call_later or call_at
/// (asyncio's Handle / TimerHandle). Dropping the handle does not cancel.
class callback_handle {
public:
    callback_handle() noexcept = default;
    explicit callback_handle(detail::callback_node* node) noexcept : m_node(node) {
        if (m_node != nullptr) {
            m_node->add_ref();
        }
    }
    callback_handle(const callback_handle& other) noexcept : callback_handle(other.m_node) {}
    callback_handle(callback_handle&& other) noexcept : m_node(std::exchange(other.m_node, nullptr)) {}
    callback_handle& operator=(callback_handle other) noexcept {
        std::swap(m_node, other.m_node);
        return *this;
    }
    ~callback_handle() {
        if (m_node != nullptr) {
            m_node->release();
        }
    }

    /// Stops the callback from running if it has not run yet. Loop thread only.
    void cancel() noexcept;

    [[nodiscard]] bool cancelled() const noexcept { return m_node != nullptr && m_node->m_cancelled; }

private:
    friend class event_loop;
    detail::callback_node* m_node = nullptr;
    event_loop* m_loop = nullptr;
};

/// A single-threaded event loop: a FIFO ready queue, a timer heap and a
/// readiness reactor (epoll on Linux, kqueue on macOS/BSD).
///
/// One loop per thread. Every member must be called on the thread running the
/// loop except call_soon_threadsafe, which any thread may call at any time.
/// Ready callbacks run in the order they were scheduled; timers fire in
/// deadline order, equal deadlines in the order they were set.
class event_loop {
public:
    using clock = std::chrono::steady_clock;
    using time_point = clock::time_point;
    using duration = clock::duration;
    using exception_handler = std::function<void(event_loop&, const exception_context&)>;

    event_loop() = default;
    event_loop(const event_loop&) = delete;
    event_loop& operator=(const event_loop&) = delete;

    /// Closes the loop: tasks still pending are destroyed without running
    /// further, callbacks still queued are dropped, signal handlers removed.
    ~event_loop() {
        close_now();
        release_signal_handlers();
    }

    /// Schedules f() to run on the next iteration, after everything already
    /// scheduled.
    template <class F>
    callback_handle call_soon(F&& f) {
        ensure_open();
        detail::callback_node* node = detail::make_callback(std::forward<F>(f));
        callback_handle handle(node);
        handle.m_loop = this;
        m_ready.push({&detail::callback_node::run_job, node});
        return handle;
    }

    /// Like call_soon, but callable from any thread; wakes the loop if it waits.
    template <class F>
    void call_soon_threadsafe(F&& f) {
        detail::callback_node* node = detail::make_callback(std::forward<F>(f));
        bool must_wake = false;
        {
            std::lock_guard lock(m_remote_mutex);
            if (m_closed.load(std::memory_order_relaxed)) {
                node->release();
                throw event_loop_error("corio: call_soon_threadsafe on a closed event loop");
            }
            m_remote.push_back(node);
            // Only the first callback since the loop last drained pays for a wake-up syscall.
            must_wake = !m_remote_pending.exchange(true, std::memory_order_release);
        }
        if (must_wake) {
            m_reactor.wake();
        }
    }

    /// Schedules f() to run once `delay` has passed.
    template <class F>
    callback_handle call_later(duration delay, F&& f) {
        return call_at(time() + detail::to_timer_duration(delay), std::forward<F>(f));
    }

    /// Schedules f() to run at `when` (a point of time(): the steady clock).
    template <class F>
    callback_handle call_at(time_point when, F&& f) {
        ensure_open();
        detail::callback_node* node = detail::make_callback(std::forward<F>(f));
        callback_handle handle(node);
        handle.m_loop = this;
        node->on_fire = &fire_callback_timer;
        m_timers.deadline_push(*node, when);
        return handle;
    }

    /// The loop's clock: std::chrono::steady_clock, never the wall clock.
    [[nodiscard]] time_point time() const noexcept { return clock::now(); }

    /// Schedules t to start on this loop; see corio::create_task.
    template <class T>
    task_handle<T> create_task(task<T> t);

    /// Runs the loop until t finishes; returns its value or rethrows its exception.
    template <class T>
    T run_until_complete(task<T> t);

    /// Runs the loop until stop() is called. A stop() that came before still
    /// lets one iteration run (polling I/O without blocking), as in asyncio.
    void run_forever() {
        running_scope scope(*this);
        do {
            run_once();
        } while (!m_stopping);
        m_stopping = false;
    }

    /// Makes run_forever return after the current iteration.
    void stop() noexcept { m_stopping = true; }

    /// Cancels every task spawned on this loop and runs the loop until all of
    /// them have finished (what corio::run does before returning). Each task
    /// is cancelled once; tasks spawned meanwhile are cancelled too.
    void cancel_all_tasks();

    [[nodiscard]] bool is_running() const noexcept { return m_running; }
    [[nodiscard]] bool is_closed() const noexcept { return m_closed.load(std::memory_order_relaxed); }

    /// Releases the loop's resources; see ~event_loop. Throws if running.
    void close() {
        if (m_running) {
            throw event_loop_error("corio: cannot close a running event loop");
        }
        close_now();
        release_signal_handlers();
    }

    /// Runs `f(args...)` on a worker of `pool` and returns an awaitable for its
    /// result (asyncio's `loop.run_in_executor(executor, func, *args)`).
    /// Defined in <corio/thread_pool.hpp>: include it to call this; see
    /// corio::to_thread for the semantics (the job is submitted when the
    /// awaitable is awaited, on this loop's thread, and resumes there).
    template <class F, class... Args>
    [[nodiscard]] auto run_in_executor(thread_pool& pool, F&& f, Args&&... args);

    /// Calls `callback()` on the loop thread each time signal `signum` arrives
    /// (asyncio's add_signal_handler); replaces a handler already set for it.
    ///
    /// The callback runs as a normal callback on a later iteration, never
    /// inside a signal handler, so it may do anything a callback may (e.g.
    /// cancel the main task for a graceful shutdown); an exception it throws
    /// goes to the loop's exception handler. Several arrivals before the loop
    /// looks may be reported once (signals are not queued).
    ///
    /// How: the signal is blocked in the calling thread (which must be the
    /// loop's thread) and collected by the reactor (a signalfd with epoll,
    /// EVFILT_SIGNAL with kqueue, which also sets its disposition to SIG_IGN
    /// while watched). A signal sent to the process is taken by any thread
    /// that does not block it, so add handlers before starting other threads
    /// (they inherit the mask) or block the signal in them; corio's
    /// thread_pool workers block every asynchronous signal. Two loops alive
    /// at once should not watch the same signal.
    ///
    /// Throws std::invalid_argument for a signal that cannot be watched
    /// (out of range, SIGKILL, SIGSTOP), event_loop_error on a closed loop,
    /// std::system_error when the OS refuses. Loop thread only.
    template <class F>
    void add_signal_handler(int signum, F&& callback) {
        static_assert(std::is_invocable_v<std::decay_t<F>&>,
                      "corio: a signal handler is called with no arguments; capture what it needs");
        ensure_open();
        detail::check_signal_number(signum);
        std::shared_ptr<detail::signal_handler_base> handler =
            std::make_shared<detail::signal_handler_impl<std::decay_t<F>>>(std::forward<F>(callback));
        for (const auto& watch : m_signals) {
            if (watch->signum == signum) {
                watch->handler->m_active = false;
                watch->handler = std::move(handler);
                return;
            }
        }
        auto watch = std::make_unique<detail::signal_watch>();
        watch->on_events = &dispatch_signal;
        watch->loop = this;
        watch->signum = signum;
        watch->handler = std::move(handler);
        m_signals.reserve(m_signals.size() + 1);  // so the push_back below cannot throw
        watch->was_blocked = detail::block_signal(signum);
        try {
            m_reactor.add_signal(signum, watch.get());
        } catch (...) {
            if (!watch->was_blocked) {
                detail::unblock_signal(signum);
            }
            throw;
        }
        ++m_watched_fds;  // the loop must poll while a signal is watched
        m_signals.push_back(std::move(watch));
    }

    /// Removes the handler of `signum` (asyncio's remove_signal_handler):
    /// returns true if there was one, false otherwise. A delivery already
    /// scheduled for it does not run. The signal's mask and disposition go
    /// back to what they were before add_signal_handler; an instance of it
    /// still pending is discarded. Loop thread only.
    bool remove_signal_handler(int signum) noexcept {
        for (auto it = m_signals.begin(); it != m_signals.end(); ++it) {
            if ((*it)->signum == signum) {
                unwatch_signal(**it);
                m_signals.erase(it);
                return true;
            }
        }
        return false;
    }

    /// Replaces the handler told about errors nobody else can receive: an
    /// exception escaping a callback, a task exception never retrieved. An
    /// empty handler restores the default (print to stderr).
    void set_exception_handler(exception_handler handler) { m_exception_handler = std::move(handler); }

    void call_exception_handler(const exception_context& context) noexcept {
        try {
            if (m_exception_handler) {
                m_exception_handler(*this, context);
                return;
            }
        } catch (...) {
            default_exception_handler({"exception in the event loop's exception handler",
                                       std::current_exception()});
        }
        default_exception_handler(context);
    }

    /// Prints the message and the exception's what() to stderr.
    static void default_exception_handler(const exception_context& context) noexcept {
        std::string detail;
        if (context.exception) {
            try {
                std::rethrow_exception(context.exception);
            } catch (const std::exception& error) {
                detail = error.what();
            } catch (...) {
                detail = "non-standard exception";
            }
        }
        std::fprintf(stderr, "corio: %s%s%s\n", context.message.c_str(), detail.empty() ? "" : ": ",
                     detail.c_str());
    }

    // ---- For awaitable implementers: the loop's scheduling primitives. ----

    /// Queues `coroutine` to be resumed on a later iteration, FIFO with callbacks.
    void resume_soon(std::coroutine_handle<> coroutine) {
        m_ready.push({&detail::resume_job, coroutine.address()});
    }

    /// Arms `entry` to fire at `deadline`; its on_fire runs on the loop thread.
    void add_timer(detail::timer_entry& entry, time_point deadline) {
        m_timers.deadline_push(entry, deadline);
    }

    /// Disarms `entry` if it is still armed; O(log n).
    void remove_timer(detail::timer_entry& entry) noexcept {
        if (entry.queued()) {
            m_timers.remove(entry);
        }
    }

    /// Starts watching fd for readiness in both directions (once per fd).
    void watch_fd(int fd, detail::io_watch& watch) {
        ensure_open();
        m_reactor.add(fd, &watch);
        ++m_watched_fds;
    }

    /// Stops watching fd; call before closing it.
    void unwatch_fd(int fd) noexcept {
        m_reactor.remove(fd);
        --m_watched_fds;
    }

    /// Number of timers currently armed (for tests and diagnostics).
    [[nodiscard]] std::size_t pending_timers() const noexcept { return m_timers.size(); }
    /// Number of spawned tasks not finished yet.
    [[nodiscard]] std::size_t pending_tasks() const noexcept { return m_tasks.size(); }

private:
    friend class callback_handle;
    friend class detail::spawned_task_base;

    // The timer heap plus the deadline assignment it always needs.
    struct timers : detail::timer_heap {
        void deadline_push(detail::timer_entry& entry, time_point deadline) {
            entry.deadline = deadline;
            push(entry);
        }
    };

    // Marks this loop as the thread's running loop for one run_* call.
    class running_scope {
    public:
        explicit running_scope(event_loop& loop) : m_loop(loop) {
            loop.ensure_open();
            if (loop.m_running) {
                throw event_loop_error("corio: this event loop is already running");
            }
            if (detail::running_loop_slot() != nullptr) {
                throw event_loop_error("corio: another event loop is running on this thread");
            }
            detail::running_loop_slot() = &loop;
            loop.m_running = true;
        }
        ~running_scope() {
            m_loop.m_running = false;
            detail::running_loop_slot() = nullptr;
        }
        running_scope(const running_scope&) = delete;
        running_scope& operator=(const running_scope&) = delete;

    private:
        event_loop& m_loop;
    };

    static void fire_callback_timer(detail::timer_entry* entry) noexcept;
    static void dispatch_signal(detail::io_watch* watch, detail::io_events events) noexcept;

    void unwatch_signal(detail::signal_watch& watch) noexcept {
        watch.handler->m_active = false;
        m_reactor.remove_signal(watch.signum);
        if (!watch.was_blocked) {
            detail::unblock_signal(watch.signum);
        }
        --m_watched_fds;
    }

    void release_signal_handlers() noexcept {
        for (const auto& watch : m_signals) {
            unwatch_signal(*watch);
        }
        m_signals.clear();
    }

    void ensure_open() const {
        if (is_closed()) {
            throw event_loop_error("corio: the event loop is closed");
        }
    }

    /// One iteration: poll I/O (without blocking if anything is ready), move
    /// expired timers and remote callbacks to the ready queue, then run every
    /// job that was ready when the iteration began its run phase.
    void run_once() {
        int timeout_ms = 0;
        if (m_ready.empty() && !m_stopping) {
            timeout_ms = -1;
            if (!m_timers.empty()) {
                const auto until = m_timers.top().deadline - clock::now();
                // Round up so the loop does not wake just before the deadline and spin.
                const auto ms = std::chrono::ceil<std::chrono::milliseconds>(until).count();
                timeout_ms = static_cast<int>(std::clamp<long long>(ms, 0, 24LL * 3600 * 1000));
            }
        }
        // With work ready and nothing watched, polling would be a wasted syscall.
        if (timeout_ms != 0 || m_watched_fds != 0) {
            m_reactor.wait(timeout_ms, [](void* tag, detail::io_events events) {
                auto* watch = static_cast<detail::io_watch*>(tag);
                watch->on_events(watch, events);
            });
        }
        if (m_remote_pending.load(std::memory_order_acquire)) {
            drain_remote();
        }
        if (!m_timers.empty()) {
            const time_point now = clock::now();
            while (!m_timers.empty() && m_timers.top().deadline <= now) {
                detail::timer_entry& entry = m_timers.pop();
                entry.on_fire(&entry);
            }
        }
        run_ready();
    }

    void run_ready() {
        std::size_t count = m_ready.size();
        while (count != 0) {
            try {
                while (count != 0) {
                    --count;
                    const detail::ready_job job = m_ready.pop();
                    job.run(job.arg);
                }
            } catch (...) {
                call_exception_handler({"exception in callback", std::current_exception()});
            }
        }
    }

    void drain_remote() {
        std::vector<detail::callback_node*> batch;
        {
            std::lock_guard lock(m_remote_mutex);
            batch.swap(m_remote);
            m_remote_pending.store(false, std::memory_order_relaxed);
        }
        for (detail::callback_node* node : batch) {
            m_ready.push({&detail::callback_node::run_job, node});
        }
    }

    void close_now() noexcept;

    detail::reactor m_reactor;
    detail::ready_queue m_ready;
    timers m_timers;
    detail::intrusive_list<detail::spawned_task_base> m_tasks;  // spawned, not finished
    std::size_t m_watched_fds = 0;
    bool m_running = false;
    bool m_stopping = false;
    std::atomic<bool> m_closed{false};
    exception_handler m_exception_handler;
    std::vector<std::unique_ptr<detail::signal_watch>> m_signals;  // add_signal_handler's registry

    std::mutex m_remote_mutex;
    std::vector<detail::callback_node*> m_remote;  // guarded by m_remote_mutex
    // Set with the first remote callback after a drain; acquire/release pairs it with m_remote.
    std::atomic<bool> m_remote_pending{false};
};

/// The loop running on the calling thread (asyncio.get_running_loop()).
/// Throws event_loop_error when no loop runs here.
inline event_loop& get_running_loop() {
    event_loop* loop = detail::running_loop_slot();
    if (loop == nullptr) {
        throw event_loop_error("corio: no running event loop on this thread");
    }
    return *loop;
}

inline void event_loop::fire_callback_timer(detail::timer_entry* entry) noexcept {
    // The heap's reference moves to the ready queue. The push can only fail on
    // memory exhaustion, where there is no sane way to go on.
    auto* node = static_cast<detail::callback_node*>(entry);
    event_loop* loop = detail::running_loop_slot();
    loop->m_ready.push({&detail::callback_node::run_job, node});
}

inline void event_loop::dispatch_signal(detail::io_watch* watch, detail::io_events) noexcept {
    auto* self = static_cast<detail::signal_watch*>(watch);
    // Scheduled, not called: the reactor is mid-batch here, and a handler may
    // remove signal handlers (whose tags later events of the batch carry).
    try {
        self->loop->call_soon([handler = self->handler] {
            if (handler->m_active) {
                handler->invoke();
            }
        });
    } catch (...) {
        self->loop->call_exception_handler({"cannot schedule a signal handler", std::current_exception()});
    }
}

inline void callback_handle::cancel() noexcept {
    if (m_node == nullptr || m_node->m_cancelled) {
        return;
    }
    m_node->m_cancelled = true;
    if (m_node->queued() && m_loop != nullptr) {
        m_loop->m_timers.remove(*m_node);
        m_node->release();  // the heap's reference
    }
}

}  // namespace corio

// Spawning and run_until_complete need the complete loop; they live in their
// own headers but belong to this one's interface.
#include <corio/spawn.hpp>
#include <corio/run.hpp>
