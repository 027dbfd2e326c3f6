#pragma once

// Definitions of corio::event_loop's members; <corio/event_loop.hpp> holds the
// interface and includes this file at its end.
//
// Include order: the members need spawn.hpp's task state and thread_pool.hpp's
// awaiter, and those need the complete event_loop. Whichever of the three a
// translation unit includes first, event_loop.hpp is read first (the other two
// include it before their include guard), then spawn.hpp and thread_pool.hpp
// from here, then these definitions.

#include <corio/detail/thread_usage.hpp>
#include <corio/event_loop.hpp>
#include <corio/spawn.hpp>
#include <corio/thread_pool.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace corio {

// ---- Lifetime ----

inline event_loop::event_loop() : event_loop(io_backend::automatic) {}

#if defined(CORIO_REACTOR_IO_URING)
static_assert(static_cast<int>(detail::reactor_preference::automatic) == static_cast<int>(io_backend::automatic) &&
              static_cast<int>(detail::reactor_preference::epoll) == static_cast<int>(io_backend::epoll) &&
              static_cast<int>(detail::reactor_preference::io_uring) == static_cast<int>(io_backend::io_uring));
#endif

inline event_loop::event_loop(io_backend backend)
#if defined(CORIO_REACTOR_IO_URING)
    : m_reactor(static_cast<detail::reactor_preference>(backend))
#endif
{
#if !defined(CORIO_REACTOR_IO_URING)
    if (backend == io_backend::io_uring) {
        static std::atomic<bool> noted{false};
        if (!noted.exchange(true)) {
            std::fprintf(stderr, "corio: io_uring not compiled in (configure with -DCORIO_REACTOR=io_uring); using %s\n",
                         m_reactor.name());
        }
    }
#endif
    const char* debug = std::getenv("CORIO_DEBUG");
    if (debug != nullptr && *debug != '\0' && std::string_view(debug) != "0") {
        set_debug(true);
    }
}

inline event_loop::~event_loop() {
    close_now();
    release_signal_handlers();
    set_debug(false);
}

inline void event_loop::close() {
    if (m_running) {
        throw event_loop_error("corio: cannot close a running event loop");
    }
    close_now();
    release_signal_handlers();
}

inline void event_loop::close_now() noexcept {
    if (m_closed.exchange(true)) {
        return;
    }
    // Pending tasks go first, while timers and wait lists still exist: their
    // awaiters unregister themselves as the frames are destroyed.
    while (!m_tasks.empty()) {
        detail::spawned_task_base& spawned = m_tasks.pop_front();
        spawned.m_outcome = detail::spawned_task_base::outcome::cancelled;
        spawned.m_early_cancel = std::make_exception_ptr(cancelled_error{});
        spawned.destroy_frame();
        spawned.release();
    }
    while (!m_timers.empty()) {
        detail::timer_entry& entry = m_timers.pop();
        if (entry.on_fire == &fire_callback_timer) {
            static_cast<detail::callback_node*>(&entry)->release();
        }
    }
    while (!m_ready.empty()) {
        const detail::ready_job job = m_ready.pop();
        if (job.run == &detail::callback_node::run_job) {
            static_cast<detail::callback_node*>(job.arg)->release();
        }
    }
    std::vector<detail::callback_node*> remote;
    {
        std::lock_guard lock(m_remote_mutex);
        remote.swap(m_remote);
    }
    for (detail::callback_node* node : remote) {
        node->release();
    }
}

inline void event_loop::ensure_open() const {
    if (is_closed()) {
        throw event_loop_error("corio: the event loop is closed");
    }
}

// ---- Callbacks ----

template <class F>
callback_handle event_loop::call_soon(F&& f) {
    ensure_open();
    detail::callback_node* node = detail::make_callback(std::forward<F>(f));
    callback_handle handle(node);
    handle.m_loop = this;
    m_ready.push({&detail::callback_node::run_job, node});
    return handle;
}

template <class F>
void event_loop::call_soon_threadsafe(F&& f) {
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

template <class F>
callback_handle event_loop::call_later(duration delay, F&& f) {
    return call_at(time() + detail::to_timer_duration(delay), std::forward<F>(f));
}

template <class F>
callback_handle event_loop::call_at(time_point when, F&& f) {
    ensure_open();
    detail::callback_node* node = detail::make_callback(std::forward<F>(f));
    callback_handle handle(node);
    handle.m_loop = this;
    node->on_fire = &fire_callback_timer;
    m_timers.deadline_push(*node, when);
    return handle;
}

inline void event_loop::fire_callback_timer(detail::timer_entry* entry) noexcept {
    // The heap's reference moves to the ready queue. The push can only fail on
    // memory exhaustion, where there is no sane way to go on.
    auto* node = static_cast<detail::callback_node*>(entry);
    event_loop* loop = detail::running_loop_slot();
    loop->m_ready.push({&detail::callback_node::run_job, node});
}

inline void callback_handle::cancel() noexcept {
    if (!m_node || m_node->m_cancelled) {
        return;
    }
    m_node->m_cancelled = true;
    if (m_node->queued() && m_loop != nullptr) {
        m_loop->m_timers.remove(*m_node);
        m_node->release();  // the heap's reference
    }
}

// ---- Tasks and running ----

template <class T>
task_handle<T> event_loop::create_task(task<T> t) {
    ensure_open();
    if (!t.valid()) {
        throw std::invalid_argument("corio::create_task: the task is empty (moved from)");
    }
    auto* state = new detail::spawned_task<T>(*this, std::move(t));
    task_handle<T> handle(state);
    state->m_id = ++m_counters.tasks_created;  // ids count from 1 in creation order
    if (m_debug) [[unlikely]] {
        note_created_debug(*state);
    }
    state->schedule_start();
    return handle;
}

template <class T>
task_handle<T> event_loop::create_task(task<T> t, std::string_view name) {
    task_handle<T> handle = create_task(std::move(t));
    handle.m_state->debug_info().name = name;
    return handle;
}

inline void event_loop::claim_thread() {
#if defined(CORIO_REACTOR_IO_URING)
    if (detail::io_uring_reactor* ring = completion_reactor()) {
        ring->claim_submitter_thread();
    }
#endif
}

template <class T>
T event_loop::run_until_complete(task<T> t) {
    running_scope scope(*this);
    claim_thread();
    task_handle<T> handle = create_task(std::move(t));
    while (!handle.done()) {
        if (m_stopping) {
            m_stopping = false;
            throw event_loop_error("corio: the event loop stopped before the task completed");
        }
        run_once();
    }
    return std::move(handle).result();
}

inline void event_loop::run_forever() {
    running_scope scope(*this);
    claim_thread();
    do {
        run_once();
    } while (!m_stopping);
    m_stopping = false;
}

inline void event_loop::cancel_all_tasks() {
    running_scope scope(*this);
    while (!m_tasks.empty()) {
        m_tasks.for_each([](detail::spawned_task_base& spawned) {
            if (!std::exchange(spawned.m_shutdown_cancelled, true)) {
                spawned.cancel();
            }
        });
        run_once();
    }
}

template <class F, class... Args>
auto event_loop::run_in_executor(thread_pool& pool, F&& f, Args&&... args) {
    static_assert(std::is_invocable_v<std::decay_t<F>, std::decay_t<Args>...>,
                  "corio::event_loop::run_in_executor: f cannot be called with these arguments (they "
                  "are decay-copied and passed as rvalues)");
    return offload_operation<std::decay_t<F>, std::decay_t<Args>...>(pool, this, std::forward<F>(f),
                                                                     std::forward<Args>(args)...);
}

inline event_loop::running_scope::running_scope(event_loop& loop) : m_loop(loop) {
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

inline event_loop::running_scope::~running_scope() {
    m_loop.m_running = false;
    detail::running_loop_slot() = nullptr;
}

inline void event_loop::run_once() {
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
        ++m_counters.io_waits;
        const time_point wait_started = m_debug ? clock::now() : time_point{};
        m_reactor.wait(timeout_ms, [](void* tag, detail::io_events events) {
            auto* watch = static_cast<detail::io_watch*>(tag);
            watch->on_events(watch, events);
        });
        if (m_debug) [[unlikely]] {
            m_counters.time_in_reactor += clock::now() - wait_started;
            m_usage_mark_stale = m_usage_mark_stale || timeout_ms != 0;
        }
    }
    if (m_remote_pending.load(std::memory_order_acquire)) {
        drain_remote();
    }
    if (!m_timers.empty()) {
        const time_point now = clock::now();
        m_fired_head = m_fired_tail = nullptr;
        while (!m_timers.empty() && m_timers.top().deadline <= now) {
            detail::timer_entry& entry = m_timers.pop();
            if (entry.on_fire == &fire_resuming_timer) {
                queue_fired(static_cast<detail::resuming_timer&>(entry));
            } else {
                entry.on_fire(&entry);
            }
        }
        m_fired_head = m_fired_tail = nullptr;
    }
    run_ready();
}

// Appends a fired sleep to the batch the ready queue ends with, or starts a
// new batch: a job anything else pushed meanwhile (a callback timer's, a
// wait_for's cancellation) keeps its place in the FIFO order. Nothing is
// popped while timers fire, so a batch job still last is still pending.
inline void event_loop::queue_fired(detail::resuming_timer& timer) {
    timer.run_next = nullptr;
    if (m_fired_head != nullptr && m_ready.back().run == &resume_fired && m_ready.back().arg == m_fired_head) {
        m_fired_tail->run_next = &timer;
    } else {
        m_ready.push({&resume_fired, &timer});
        m_fired_head = &timer;
    }
    m_fired_tail = &timer;
}

// Ready-queue entry point of a batch of fired sleeps.
inline void event_loop::resume_fired(void* first) {
    auto* timer = static_cast<detail::resuming_timer*>(first);
    while (timer != nullptr) {
        // Read before resuming: the resumed coroutine may end and free its frame.
        auto* next = static_cast<detail::resuming_timer*>(timer->run_next);
        try {
            timer->waiter.resume();
        } catch (...) {
            // As run_ready does for a job of its own; the rest of the batch still runs.
            detail::running_loop_slot()->call_exception_handler(
                {"exception in callback", std::current_exception()});
        }
        timer = next;
    }
}

inline void event_loop::fire_resuming_timer(detail::timer_entry* entry) noexcept {
    // Only reached if a resuming timer is fired outside run_once's batching.
    auto* timer = static_cast<detail::resuming_timer*>(entry);
    detail::running_loop_slot()->resume_soon(timer->waiter);
}

inline void event_loop::run_ready() {
    std::size_t count = m_ready.size();
    // Every job counted here runs in this call: a throwing one is reported and the rest go on.
    m_counters.steps += count;
    if (m_debug) [[unlikely]] {
        m_counters.ready_queue_peak = std::max(m_counters.ready_queue_peak, count);
        run_ready_debug(count);
        return;
    }
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

inline void event_loop::drain_remote() {
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

// ---- Debug mode ----

inline void event_loop::set_debug(bool enabled) noexcept {
    if (enabled == m_debug) {
        return;
    }
    m_debug = enabled;
    detail::debug_loop_count().fetch_add(enabled ? 1 : -1, std::memory_order_relaxed);
    if (!enabled) {
        m_created_in_step.clear();
    }
}

inline void event_loop::log(std::string_view message) noexcept {
    if (m_log_handler) {
        try {
            m_log_handler(*this, message);
            return;
        } catch (...) {  // a log line is not worth a crash
            return;
        }
    }
    std::fprintf(stderr, "corio: %.*s\n", static_cast<int>(message.size()), message.data());
}

inline loop_metrics event_loop::metrics() const noexcept {
    loop_metrics now = m_counters;
    now.tasks_pending = m_tasks.size();
    now.ready_queue_depth = m_ready.size();
    now.timers_armed = m_timers.size();
    return now;
}

namespace detail {

inline std::string format_milliseconds(std::chrono::nanoseconds d) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f ms",
                  std::chrono::duration<double, std::milli>(d).count());
    return text;
}

}  // namespace detail

inline void event_loop::run_ready_debug(std::size_t count) {
    // The thread's CPU time and voluntary switches cost two system calls to
    // read: they are read once per batch (after a wait in the reactor, which
    // switches voluntarily itself, or 10 ms after the last reading), not per
    // step; a slow step compares with that mark.
    const time_point now = clock::now();
    if (m_usage_mark_stale || now - m_usage_mark_time > std::chrono::milliseconds(10)) {
        m_usage_mark = detail::thread_usage::now();
        m_usage_mark_time = now;
        m_usage_mark_stale = false;
    }
    while (count != 0) {
        --count;
        run_step_debug(m_ready.pop());
    }
}

// One job, timed, and attributed to the task whose co_await it reached last.
// A batch of fired sleeps is a step per sleeper here, as each is a task's.
inline void event_loop::run_step_debug(detail::ready_job job) {
    auto run_timed = [this](void (*run)(void*), void* arg) {
        detail::step_probe& probe = detail::current_step_probe();
        probe.task = nullptr;
        probe.site = {};
        probe.finished_task.clear();
        probe.unwinding = nullptr;
        probe.strands = &m_strands;
        probe.timing = true;
        const time_point started = clock::now();
        try {
            run(arg);
        } catch (...) {
            call_exception_handler({"exception in callback", std::current_exception()});
        }
        probe.timing = false;
        probe.unwinding = nullptr;
        end_step_debug(started);
    };
    if (job.run != &resume_fired) {
        run_timed(job.run, job.arg);
        return;
    }
    auto* timer = static_cast<detail::resuming_timer*>(job.arg);
    while (timer != nullptr) {
        auto* next = static_cast<detail::resuming_timer*>(timer->run_next);
        if (next != nullptr) {
            ++m_counters.steps;  // the batch was counted as one job
        }
        run_timed([](void* waiter) { std::coroutine_handle<>::from_address(waiter).resume(); },
                  timer->waiter.address());
        timer = next;
    }
}

inline void event_loop::end_step_debug(time_point started) {
    const time_point ended = clock::now();
    const auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(ended - started);
    m_counters.time_running += elapsed;
    detail::step_probe& probe = detail::current_step_probe();
    auto* task = static_cast<detail::spawned_task_base*>(probe.task);
    adopt_tasks_created_in_step(probe.task);
    for (std::string& warning : std::exchange(probe.warnings, {})) {
        log(warning);
    }
    detail::await_site resumed_at;
    if (task != nullptr) {
        detail::task_debug_info& info = task->debug_info();
        resumed_at = info.last_await;
        info.last_await = probe.site;
        ++info.steps;
        info.running += elapsed;
    }
    if (elapsed <= slow_callback_duration) {
        return;
    }
    std::string message;
    if (task != nullptr) {
        message = "task '" + task->name() + "'";
    } else if (!probe.finished_task.empty()) {
        message = "task '" + probe.finished_task + "' (in its last step)";
    } else {
        message = "a callback";
    }
    message += " blocked the loop for " + detail::format_milliseconds(elapsed) +
               " (slow_callback_duration " + detail::format_milliseconds(slow_callback_duration) +
               ")";
    if (resumed_at.known()) {
        message += "; it resumed at " + detail::format_site(resumed_at);
    }
    if (probe.site.known()) {
        message += (resumed_at.known() ? " and next suspended at " : "; it next suspended at ") +
                   detail::format_site(probe.site);
    }
    // Off the CPU by its own doing (not preempted): it waited in the kernel.
    // Measured since the batch's mark, so other (short) steps of the batch are
    // in the window too; they ran on the CPU and do not count as off it.
    const detail::thread_usage after = detail::thread_usage::now();
    const detail::thread_usage before = std::exchange(m_usage_mark, after);
    const auto window = std::chrono::duration_cast<std::chrono::nanoseconds>(ended - m_usage_mark_time);
    m_usage_mark_time = ended;
    const auto off_cpu = std::min(elapsed, window - (after.cpu - before.cpu));
    const std::int64_t waits = after.voluntary_switches - before.voluntary_switches;
    if (before.voluntary_switches >= 0 && waits > 0 && off_cpu > elapsed / 4) {
        message +=
            "; " + detail::format_milliseconds(off_cpu) + " of it off the CPU in " +
            std::to_string(waits) + (waits == 1 ? " wait" : " waits") +
            ": a blocking call (sleep, file or socket I/O, a lock) in a coroutine? Move it to "
            "corio::to_thread";
    }
    log(message);
}

inline void event_loop::note_created_debug(detail::spawned_task_base& task) {
    task.debug_info().created = clock::now();
    // Its parent is the task the step ends in; only a timed step says which.
    if (detail::current_step_probe().timing) {
        m_created_in_step.push_back(&task);
    }
}

// Tasks created during a step are the children of the task that ran it.
inline void event_loop::adopt_tasks_created_in_step(detail::task_context* parent) {
    if (m_created_in_step.empty()) {
        return;
    }
    const std::uint64_t parent_id =
        parent != nullptr ? static_cast<detail::spawned_task_base*>(parent)->id() : 0;
    for (detail::spawned_task_base* child : m_created_in_step) {
        if (child->id() != parent_id) {  // the root task is created before any step
            child->debug_info().parent_id = parent_id;
        }
    }
    m_created_in_step.clear();
}

// ---- Signals ----

template <class F>
void event_loop::add_signal_handler(int signum, F&& callback) {
    static_assert(std::is_invocable_v<std::decay_t<F>&>,
                  "corio: a signal handler is called with no arguments; capture what it needs");
    ensure_open();
    detail::check_signal_number(signum);
    auto handler = detail::intrusive_ref<detail::callback_node>::adopt(
        detail::make_callback(std::forward<F>(callback)));
    if (m_signals.set(signum, std::move(handler))) {
        ++m_watched_fds;  // the loop must poll while a signal is watched
    }
}

inline bool event_loop::remove_signal_handler(int signum) noexcept {
    if (!m_signals.remove(signum)) {
        return false;
    }
    --m_watched_fds;
    return true;
}

inline void event_loop::release_signal_handlers() noexcept {
    m_watched_fds -= m_signals.size();
    m_signals.clear();
}

// ---- Errors nobody else can receive ----

inline void event_loop::call_exception_handler(const exception_context& context) noexcept {
    try {
        if (m_exception_handler) {
            m_exception_handler(*this, context);
            return;
        }
    } catch (...) {
        default_exception_handler({"exception in the event loop's exception handler", std::current_exception()});
    }
    default_exception_handler(context);
}

inline void event_loop::default_exception_handler(const exception_context& context) noexcept {
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

// ---- For awaitable implementers ----

inline void event_loop::timers::deadline_push(detail::timer_entry& entry, time_point deadline) {
    entry.deadline = deadline;
    push(entry);
}

inline void event_loop::remove_timer(detail::timer_entry& entry) noexcept {
    if (entry.queued()) {
        m_timers.remove(entry);
    }
}

inline void event_loop::watch_fd(int fd, detail::io_watch& watch) {
    ensure_open();
    m_reactor.add(fd, &watch);
    ++m_watched_fds;
}

inline void event_loop::unwatch_fd(int fd) noexcept {
    m_reactor.remove(fd);
    --m_watched_fds;
}

}  // namespace corio
