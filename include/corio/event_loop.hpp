#pragma once

// corio::event_loop: the interface. The member definitions are in
// <corio/impl/event_loop.hpp>, included at the end together with everything
// the members need (spawn.hpp, thread_pool.hpp) and run.hpp, so that this one
// include gives every member declared here.

#include <corio/detail/callback_node.hpp>
#include <corio/detail/intrusive_list.hpp>
#include <corio/detail/intrusive_ref.hpp>
#include <corio/detail/reactor.hpp>
#include <corio/detail/ready_queue.hpp>
#include <corio/detail/signal_registry.hpp>
#include <corio/detail/thread_usage.hpp>
#include <corio/detail/timer_heap.hpp>
#include <corio/errors.hpp>
#include <corio/loop_metrics.hpp>
#include <corio/task.hpp>

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace corio {

class event_loop;
class thread_pool;

template <class T>
class task_handle;

namespace detail {

class spawned_task_base;
struct loop_introspection;

/// The loop running on this thread, or null.
inline event_loop*& running_loop_slot() noexcept {
    thread_local event_loop* loop = nullptr;
    return loop;
}

}  // namespace detail

/// What the loop's exception handler is told (asyncio's context dict).
struct exception_context {
    /// What happened, in words (e.g. "exception in callback").
    std::string message;
    /// The exception involved; may be null when there is none.
    std::exception_ptr exception;
};

/// Cancels a callback scheduled with call_soon, call_later or call_at
/// (asyncio's Handle / TimerHandle). Dropping the handle does not cancel.
class callback_handle {
public:
    callback_handle() noexcept = default;
    /// A handle on `node`; made by call_soon, call_later and call_at, not by user code.
    explicit callback_handle(detail::callback_node* node) noexcept : m_node(node) {}

    /// Stops the callback from running if it has not run yet. Loop thread only.
    void cancel() noexcept;

    /// True once cancel() was called on this handle or a copy (false for an empty handle).
    [[nodiscard]] bool cancelled() const noexcept { return m_node && m_node->m_cancelled; }

private:
    friend class event_loop;
    detail::intrusive_ref<detail::callback_node> m_node;
    // The loop that scheduled the callback (copies share it), so that cancel()
    // takes a timer out of its heap at once.
    event_loop* m_loop = nullptr;
};

/// The I/O backend an event_loop asks for (see event_loop(io_backend)).
enum class io_backend : unsigned char {
    /// io_uring in a build with it compiled in (-DCORIO_REACTOR=io_uring)
    /// unless the environment has CORIO_REACTOR=epoll; the build's backend
    /// otherwise.
    automatic,
    /// epoll, also in a build with io_uring compiled in.
    epoll,
    /// io_uring; falls back to epoll, with one line on stderr, when the
    /// kernel refuses a ring or the build has no io_uring. Such a loop is
    /// bound to the thread that first runs it: a run on any other thread
    /// throws event_loop_error.
    io_uring,
};

/// A single-threaded event loop: a FIFO ready queue, a timer heap and an
/// I/O reactor (epoll or io_uring on Linux, kqueue on macOS/BSD).
///
/// One loop per thread. Every member must be called on the thread running the
/// loop except call_soon_threadsafe, which any thread may call at any time.
/// Ready callbacks run in the order they were scheduled; timers fire in
/// deadline order, equal deadlines in the order they were set.
class event_loop {
public:
    /// The loop's clock, monotonic: never the wall clock.
    using clock = std::chrono::steady_clock;
    /// A point in time on the loop's clock (what time() returns, what call_at takes).
    using time_point = clock::time_point;
    /// A delay on the loop's clock (what call_later takes).
    using duration = clock::duration;
    /// Called with the loop and the context of an error nobody else can receive.
    using exception_handler = std::function<void(event_loop&, const exception_context&)>;

    /// A loop with debug mode on when the environment has CORIO_DEBUG set to
    /// anything but "" or "0" (asyncio's PYTHONASYNCIODEBUG), off otherwise.
    event_loop();
    /// A loop on the I/O backend `backend` asks for (the loop option beside
    /// the environment's CORIO_REACTOR); debug mode as for event_loop().
    explicit event_loop(io_backend backend);
    event_loop(const event_loop&) = delete;
    event_loop& operator=(const event_loop&) = delete;

    /// Closes the loop: tasks still pending are destroyed without running
    /// further, callbacks still queued are dropped, signal handlers removed.
    ~event_loop();

    // ---- Callbacks ----

    /// Schedules f() to run on the next iteration, after everything already
    /// scheduled.
    template <class F>
    callback_handle call_soon(F&& f);

    /// Like call_soon, but callable from any thread; wakes the loop if it waits.
    template <class F>
    void call_soon_threadsafe(F&& f);

    /// Schedules f() to run once `delay` has passed.
    template <class F>
    callback_handle call_later(duration delay, F&& f);

    /// Schedules f() to run at `when` (a point of time(): the steady clock).
    template <class F>
    callback_handle call_at(time_point when, F&& f);

    /// The loop's clock: std::chrono::steady_clock, never the wall clock.
    [[nodiscard]] time_point time() const noexcept { return clock::now(); }

    // ---- Tasks and running ----

    /// Schedules t to start on this loop; see corio::create_task.
    template <class T>
    task_handle<T> create_task(task<T> t);
    /// The same, naming the task (see corio::create_task).
    template <class T>
    task_handle<T> create_task(task<T> t, std::string_view name);

    /// Runs the loop until t finishes; returns its value or rethrows its exception.
    template <class T>
    T run_until_complete(task<T> t);

    /// Runs the loop until stop() is called. A stop() that came before still
    /// lets one iteration run (polling I/O without blocking), as in asyncio.
    void run_forever();

    /// Makes run_forever return after the current iteration.
    void stop() noexcept { m_stopping = true; }

    /// Cancels every task spawned on this loop and runs the loop until all of
    /// them have finished (what corio::run does before returning). Each task
    /// is cancelled once; tasks spawned meanwhile are cancelled too.
    void cancel_all_tasks();

    /// True while run_forever or run_until_complete runs on this loop.
    [[nodiscard]] bool is_running() const noexcept { return m_running; }
    /// True once the loop was closed (see close()).
    [[nodiscard]] bool is_closed() const noexcept { return m_closed.load(std::memory_order_relaxed); }

    /// Releases the loop's resources; see ~event_loop. Throws if running.
    void close();

    /// Runs `f(args...)` on a worker of `pool` and returns an awaitable for its
    /// result (asyncio's `loop.run_in_executor(executor, func, *args)`); see
    /// corio::to_thread for the semantics (the job is submitted when the
    /// awaitable is awaited, on this loop's thread, and resumes there).
    template <class F, class... Args>
    [[nodiscard]] auto run_in_executor(thread_pool& pool, F&& f, Args&&... args);

    // ---- Signals ----

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
    void add_signal_handler(int signum, F&& callback);

    /// Removes the handler of `signum` (asyncio's remove_signal_handler):
    /// returns true if there was one, false otherwise. A delivery already
    /// scheduled for it does not run. The signal's mask and disposition go
    /// back to what they were before add_signal_handler; an instance of it
    /// still pending is discarded. Loop thread only.
    bool remove_signal_handler(int signum) noexcept;

    // ---- Errors nobody else can receive ----

    /// Replaces the handler told about errors nobody else can receive: an
    /// exception escaping a callback, a task exception never retrieved. An
    /// empty handler restores the default (print to stderr).
    void set_exception_handler(exception_handler handler) { m_exception_handler = std::move(handler); }

    // ---- Debug mode and introspection ----

    /// Receives each debug-mode warning, one line of text without a trailing newline.
    using log_handler = std::function<void(event_loop&, std::string_view)>;

    /// Debug mode (asyncio's loop.set_debug): each step of a task is timed,
    /// and one that runs longer than slow_callback_duration is reported
    /// through the log handler with the task's name and the co_await lines
    /// where it resumed and where it next suspended; each task's steps,
    /// running time and last co_await are kept for all_tasks() and
    /// format_task_tree(). Off: none of it, at the cost of one predictable
    /// branch per step and per co_await.
    void set_debug(bool enabled) noexcept;
    /// True while debug mode is on; see set_debug.
    [[nodiscard]] bool get_debug() const noexcept { return m_debug; }

    /// The I/O backend this loop runs on: "epoll", "io_uring" or "kqueue"
    /// (after any fallback; see io_backend).
    [[nodiscard]] const char* io_backend_name() const noexcept { return m_reactor.name(); }

    /// The step length above which debug mode warns (asyncio's attribute of
    /// the same name; 100 ms by default).
    std::chrono::nanoseconds slow_callback_duration = std::chrono::milliseconds(100);

    /// Where debug-mode warnings go (stderr when unset or set empty).
    void set_log_handler(log_handler handler) { m_log_handler = std::move(handler); }
    /// Hands `message` to the log handler (a throwing handler is ignored).
    void log(std::string_view message) noexcept;

    /// The loop's counters now (see loop_metrics).
    [[nodiscard]] loop_metrics metrics() const noexcept;

    /// Tells the exception handler (or the default one) about `context`.
    void call_exception_handler(const exception_context& context) noexcept;

    /// Prints the message and the exception's what() to stderr.
    static void default_exception_handler(const exception_context& context) noexcept;

    // ---- For awaitable implementers: the loop's scheduling primitives. ----

    /// Queues `coroutine` to be resumed on a later iteration, FIFO with callbacks.
    void resume_soon(std::coroutine_handle<> coroutine) {
        m_ready.push({&detail::resume_job, coroutine.address()});
    }

    /// Arms `entry` to fire at `deadline`; its on_fire runs on the loop thread.
    void add_timer(detail::timer_entry& entry, time_point deadline) {
        m_timers.deadline_push(entry, deadline);
    }

    /// Arms `timer` to resume `timer.waiter` at `deadline` (what a sleep
    /// needs). Timers firing together resume from one ready job, in deadline
    /// order, FIFO with the other jobs as if each had its own.
    void add_resuming_timer(detail::resuming_timer& timer, time_point deadline) {
        timer.on_fire = &fire_resuming_timer;
        m_timers.deadline_push(timer, deadline);
    }

    /// Disarms `entry` if it is still armed; O(log n).
    void remove_timer(detail::timer_entry& entry) noexcept;

    /// Starts watching fd for readiness in both directions (once per fd).
    void watch_fd(int fd, detail::io_watch& watch);

    /// Stops watching fd; call before closing it.
    void unwatch_fd(int fd) noexcept;

#if defined(CORIO_REACTOR_IO_URING)
    /// The loop's io_uring, or null when it runs on epoll: what sockets
    /// submit their reads and writes to.
    [[nodiscard]] detail::io_uring_reactor* completion_reactor() noexcept { return m_reactor.completions(); }
#endif

    /// Number of timers currently armed (for tests and diagnostics).
    [[nodiscard]] std::size_t pending_timers() const noexcept { return m_timers.size(); }
    /// Number of spawned tasks not finished yet.
    [[nodiscard]] std::size_t pending_tasks() const noexcept { return m_tasks.size(); }

private:
    friend class callback_handle;
    friend class detail::spawned_task_base;
    friend struct detail::loop_introspection;

    // The timer heap plus the deadline assignment it always needs.
    struct timers : detail::timer_heap {
        void deadline_push(detail::timer_entry& entry, time_point deadline);
    };

    // Marks this loop as the thread's running loop for one run_* call.
    class running_scope {
    public:
        explicit running_scope(event_loop& loop);
        ~running_scope();
        running_scope(const running_scope&) = delete;
        running_scope& operator=(const running_scope&) = delete;

    private:
        event_loop& m_loop;
    };

    static void fire_callback_timer(detail::timer_entry* entry) noexcept;
    static void fire_resuming_timer(detail::timer_entry* entry) noexcept;
    static void resume_fired(void* first);
    void queue_fired(detail::resuming_timer& timer);

    void release_signal_handlers() noexcept;
    void ensure_open() const;
    // On io_uring, the first thread to run the loop is its ring's only
    // submitter; another thread's run is refused with event_loop_error.
    void claim_thread();

    /// One iteration: poll I/O (without blocking if anything is ready), move
    /// expired timers and remote callbacks to the ready queue, then run every
    /// job that was ready when the iteration began its run phase.
    void run_once();
    void run_ready();
    void run_ready_debug(std::size_t count);
    void run_step_debug(detail::ready_job job);
    void end_step_debug(time_point started);
    [[gnu::cold]] void note_created_debug(detail::spawned_task_base& task);
    void adopt_tasks_created_in_step(detail::task_context* parent);
    void drain_remote();
    void close_now() noexcept;

    detail::reactor m_reactor;
    detail::ready_queue m_ready;
    timers m_timers;
    // The batch of fired sleeps being built while timers fire (run_once).
    detail::resuming_timer* m_fired_head = nullptr;
    detail::resuming_timer* m_fired_tail = nullptr;
    // Debug mode: children of combinators and task groups, running (listed
    // before m_tasks: destroying the tasks' frames unlinks them from it).
    detail::intrusive_list<detail::strand_record> m_strands;
    detail::intrusive_list<detail::spawned_task_base> m_tasks;  // spawned, not finished
    std::size_t m_watched_fds = 0;  // fds and signals: with none, an iteration with work ready need not poll
    bool m_running = false;
    bool m_stopping = false;
    std::atomic<bool> m_closed{false};
    exception_handler m_exception_handler;
    log_handler m_log_handler;
    loop_metrics m_counters;  // the count fields; the rest is filled in by metrics()
    bool m_debug = false;
    std::vector<detail::spawned_task_base*>
        m_created_in_step;  // debug mode: their parent is found at the step's end
    detail::thread_usage m_usage_mark;  // debug mode: the thread's usage at the batch's start
    time_point m_usage_mark_time{};
    bool m_usage_mark_stale = true;  // the reactor may have blocked since the mark
    detail::signal_registry<event_loop> m_signals{*this, m_reactor};  // add_signal_handler's

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

}  // namespace corio

// Last, once the class is complete: the member definitions, which pull in
// spawn.hpp and thread_pool.hpp (they need the complete class too), and
// corio::run, so that this one include gives the whole interface.
#include <corio/impl/event_loop.hpp>
#include <corio/run.hpp>
