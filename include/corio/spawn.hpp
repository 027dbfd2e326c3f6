// event_loop.hpp comes first and outside the include guard: it needs this
// header's classes complete before its member definitions, and includes this
// header for them (see impl/event_loop.hpp).
#include <corio/event_loop.hpp>

#ifndef CORIO_SPAWN_HPP
#define CORIO_SPAWN_HPP

#include <corio/cancel.hpp>
#include <corio/detail/intrusive_list.hpp>
#include <corio/detail/intrusive_ref.hpp>
#include <corio/detail/join_operation.hpp>
#include <corio/errors.hpp>
#include <corio/event_loop.hpp>
#include <corio/task.hpp>

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace corio {

class task_ref;

namespace detail {

/// True if `error` is a cancellation. A timeout scope's timeout_expired that
/// left a task is not: the task failed with a timeout (asyncio's TimeoutError
/// leaving the `async with timeout()` block).
inline bool is_cancellation(const std::exception_ptr& error) noexcept {
    if (!error) {
        return false;
    }
    try {
        std::rethrow_exception(error);
    } catch (const timeout_error&) {
        return false;
    } catch (const cancelled_error&) {
        return true;
    } catch (...) {
        return false;
    }
}

/// What a task carries beyond its state once it has a name or debug mode saw
/// it (allocated only then, so plain tasks pay one null pointer).
struct task_debug_info {
    std::string name;             // as given to create_task; empty: none
    std::uint64_t parent_id = 0;  // the task that created it (debug mode); 0: none known
    std::chrono::steady_clock::time_point created{};  // debug mode at creation only
    std::uint64_t steps = 0;                          // steps run while debug mode was on
    std::chrono::nanoseconds running{0};
    await_site last_await;  // where its last timed step suspended
    std::string exception_chain;  // debug mode: the await chain an exception left
};

/// Shared state of a task started with create_task: the running frame, its
/// outcome, and the coroutines awaiting it. Referenced by the loop until the
/// frame finishes and by every task_handle.
class spawned_task_base : public list_hook, public task_context, public task_completion {
public:
    enum class outcome : unsigned char { pending, value, error, cancelled };

    spawned_task_base(const spawned_task_base&) = delete;
    spawned_task_base& operator=(const spawned_task_base&) = delete;

    void add_ref() noexcept { ++m_refs; }
    void release() noexcept {
        if (--m_refs == 0) {
            finish_life();
        }
    }

    [[nodiscard]] bool done() const noexcept { return m_outcome != outcome::pending; }
    [[nodiscard]] bool cancelled() const noexcept { return m_outcome == outcome::cancelled; }
    [[nodiscard]] outcome state() const noexcept { return m_outcome; }

    /// Requests cancellation (for `cause`); false if the task already finished.
    bool cancel(cancel_cause cause = {}) noexcept {
        if (done()) {
            return false;
        }
        request_cancel(std::move(cause));
        return true;
    }

    /// The exception the task ended with (null for a value), marking it retrieved.
    [[nodiscard]] std::exception_ptr take_exception() noexcept {
        m_retrieved = true;
        return m_early_cancel ? m_early_cancel : frame_exception();
    }

    void add_waiter(completion_waiter& node) noexcept { m_waiters.push_back(node); }
    void remove_waiter(completion_waiter& node) noexcept {
        if (node.linked()) {
            m_waiters.erase(node);
        }
    }

    /// The loop-unique number of the task (1 for the first task created).
    [[nodiscard]] std::uint64_t id() const noexcept { return m_id; }
    /// The name given at creation, else "Task-<id>" (asyncio's default names).
    [[nodiscard]] std::string name() const {
        if (m_debug && !m_debug->name.empty()) {
            return m_debug->name;
        }
        return "Task-" + std::to_string(m_id);
    }
    [[nodiscard]] const task_debug_info* find_debug_info() const noexcept { return m_debug.get(); }
    [[nodiscard]] task_debug_info& debug_info() {
        if (!m_debug) {
            m_debug = std::make_unique<task_debug_info>();
        }
        return *m_debug;
    }
    /// The promise of the task's outermost coroutine, and its frame.
    [[nodiscard]] virtual const promise_base& root_promise() const noexcept = 0;
    [[nodiscard]] virtual std::coroutine_handle<> frame() const noexcept = 0;

    void note_exception_chain(std::string_view chain) noexcept override {
        try {
            debug_info().exception_chain = chain;
        } catch (...) {  // out of memory: no chain
        }
    }

    std::coroutine_handle<> on_task_done(task_context* /*strand*/) noexcept override {
        const std::exception_ptr error = frame_exception();
        if (!error) {
            m_outcome = outcome::value;
        } else {
            m_outcome = is_cancellation(error) ? outcome::cancelled : outcome::error;
        }
        finish_run();
        return std::noop_coroutine();
    }

protected:
    explicit spawned_task_base(event_loop& loop) noexcept : m_loop(&loop) { set_enclosing_task(this); }
    virtual ~spawned_task_base() = default;

    [[nodiscard]] virtual std::exception_ptr frame_exception() const noexcept = 0;
    virtual void destroy_frame() noexcept = 0;

private:
    friend class corio::event_loop;

    // Ready-queue entry point for the first step. A task cancelled before it
    // ever ran finishes as cancelled without running its body, as in asyncio.
    static void start_job(void* self) {
        auto* spawned = static_cast<spawned_task_base*>(self);
        if (spawned->take_pending_cancel()) {
            spawned->m_early_cancel = cancellation_exception(spawned);
            spawned->m_outcome = outcome::cancelled;
            spawned->finish_run();
            return;
        }
        spawned->frame().resume();
    }

    void schedule_start() {
        m_loop->m_tasks.push_back(*this);
        m_loop->m_ready.push({&start_job, this});
    }

    // The body is over: leave the loop's registry, wake every awaiter, drop the
    // running reference (which may end this object's life, frame included).
    void finish_run() noexcept {
        m_loop->m_tasks.erase(*this);
        ++m_loop->m_counters.tasks_finished;
        if (m_outcome == outcome::cancelled) {
            ++m_loop->m_counters.tasks_cancelled;
        }
        // Awaiters stay armed until they resume: a cancellation in between
        // makes their co_await throw (the result stays in the handle).
        while (!m_waiters.empty()) {
            completion_waiter& node = m_waiters.pop_front();
            if (node.on_done != nullptr) {
                node.on_done(node);  // corio::wait's watch
                continue;
            }
            // Cannot fail in practice: the ready queue only grows on memory exhaustion.
            m_loop->resume_soon(node.coroutine);
        }
        release();
    }

    void finish_life() noexcept {
        if (m_outcome == outcome::error && !m_retrieved) {
            std::string message = "Task exception was never retrieved";
            if (m_debug && !m_debug->exception_chain.empty()) {
                message += " (task '" + name() + "'; it left these coroutines:\n" +
                           m_debug->exception_chain + ")";
            }
            const exception_context context{std::move(message), frame_exception()};
            // The owning loop may be gone by the time the last handle drops; only
            // a loop running right here can be told, otherwise stderr is.
            if (event_loop* loop = running_loop_slot()) {
                loop->call_exception_handler(context);
            } else {
                event_loop::default_exception_handler(context);
            }
        }
        if (debug_probe_armed()) [[unlikely]] {
            forget_in_probe();
        }
        destroy_frame();
        delete this;
    }

    // The step that ended this task may still be timed: it keeps the name,
    // not a pointer that is about to dangle.
    void forget_in_probe() noexcept {
        step_probe& probe = current_step_probe();
        if (probe.task == static_cast<task_context*>(this)) {
            probe.task = nullptr;
            try {
                probe.finished_task = name();
            } catch (...) {
                probe.finished_task.clear();
            }
        }
    }

    event_loop* m_loop;
    intrusive_list<completion_waiter> m_waiters;
    std::exception_ptr m_early_cancel;
    std::unique_ptr<task_debug_info> m_debug;
    std::uint64_t m_id = 0;
    unsigned m_refs = 1;  // the running body's reference until it finishes
    outcome m_outcome = outcome::pending;
    bool m_retrieved = false;
    bool m_shutdown_cancelled = false;  // cancel_all_tasks already asked this task
};

/// Cancels `target` (a spawned task or group child) carrying `message`;
/// allocates the message only when the target is still running.
template <class Target>
bool cancel_with_message(Target& target, std::string_view message) {
    if (target.done()) {
        return false;
    }
    return target.cancel(cancel_cause::adopt_message(cancel_message::make(message)));
}

template <class T>
class spawned_task final : public spawned_task_base {
public:
    spawned_task(event_loop& loop, task<T> body) noexcept
        : spawned_task_base(loop), m_body(std::move(body)) {
        auto& promise = task_access::handle(m_body).promise();
        promise.set_context(this);
        promise.set_completion(this);
    }

    decltype(auto) value() {
        if (std::exception_ptr error = take_exception()) {
            std::rethrow_exception(error);
        }
        return task_access::handle(m_body).promise().value();
    }

private:
    std::exception_ptr frame_exception() const noexcept override {
        return task_access::handle(m_body).promise().exception();
    }
    void destroy_frame() noexcept override { m_body = task<T>{}; }
    std::coroutine_handle<> frame() const noexcept override { return task_access::handle(m_body); }
    const promise_base& root_promise() const noexcept override {
        return task_access::handle(m_body).promise();
    }

    task<T> m_body;
};

/// Lets corio's combinators reach the shared state behind a task_handle.
struct handle_access {
    template <class T>
    static spawned_task<T>* state(const task_handle<T>& handle) noexcept {
        return handle.m_state.get();
    }
};

}  // namespace detail

/// A task started with create_task (asyncio's Task): awaitable any number of
/// times, by any number of coroutines, and queryable afterwards.
///
/// Handles are cheap to copy and all refer to the same task. Dropping every
/// handle does not stop the task: the loop keeps it alive until it finishes.
/// If the task ends with an exception that no handle ever retrieves, the
/// loop's exception handler is told when the last handle goes away.
///
/// Awaiting a handle yields the task's value (a copy; `co_await std::move(h)`
/// moves it out instead) or rethrows its exception. Cancelling a coroutine
/// that awaits a handle cancels the awaited task too, as in asyncio, and the
/// awaiter resumes once that task has unwound. Loop thread only.
template <class T>
class task_handle {
public:
    task_handle() noexcept = default;

    /// False for a default-constructed or moved-from handle; the other members need a valid one.
    [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(m_state); }
    /// True once the task finished: value, exception or cancelled.
    [[nodiscard]] bool done() const noexcept { return state().done(); }
    /// True if the task finished by cancellation.
    [[nodiscard]] bool cancelled() const noexcept { return state().cancelled(); }

    /// The name given to create_task, else "Task-<n>" (asyncio's Task.get_name()).
    [[nodiscard]] std::string name() const { return state().name(); }

    /// Asks the task to stop: its current (or next) suspension point throws
    /// cancelled_error. Returns false if it had already finished.
    bool cancel() noexcept { return state().cancel(); }
    /// The same, and the cancelled_error the task sees carries `message`
    /// (asyncio's `Task.cancel(msg)`). A request arriving while an earlier one
    /// is still on its way joins it and keeps the earlier message.
    bool cancel(std::string_view message) { return detail::cancel_with_message(state(), message); }

    /// The value of a finished task, or its exception rethrown;
    /// invalid_state_error if it has not finished.
    decltype(auto) result() & {
        ensure_done();
        if constexpr (std::is_void_v<T> || std::is_reference_v<T>) {
            return state().value();
        } else {
            return static_cast<const T&>(state().value());
        }
    }
    /// The same on an rvalue (`std::move(h).result()`): moves the value out of the task, so
    /// other handles to it then see a moved-from value.
    decltype(auto) result() && {
        ensure_done();
        if constexpr (std::is_void_v<T> || std::is_reference_v<T>) {
            return state().value();
        } else {
            return T(std::move(state().value()));
        }
    }

    /// The exception a finished task ended with, or null;
    /// invalid_state_error if it has not finished.
    [[nodiscard]] std::exception_ptr exception() {
        ensure_done();
        return state().take_exception();
    }

    /// Combinators await their copy of a handle without moving the result
    /// out of the task (see detail::copies_shared_result).
    using shares_its_result = void;

    /// Awaiter of the handle (see the class comment); Move: `co_await std::move(handle)`.
    template <bool Move>
    using await_operation = detail::join_operation<T, detail::spawned_task<T>*, Move>;

    /// Awaits the task: yields a copy of its value or rethrows its exception.
    [[nodiscard]] await_operation<false> operator co_await() & noexcept { return await_operation<false>(m_state.get()); }
    /// The same, moving the value out of the task (`co_await std::move(handle)`).
    [[nodiscard]] await_operation<true> operator co_await() && noexcept { return await_operation<true>(m_state.get()); }

private:
    friend class event_loop;
    friend class task_ref;
    friend struct detail::handle_access;

    explicit task_handle(detail::spawned_task<T>* state) noexcept : m_state(state) {}

    detail::spawned_task<T>& state() const noexcept { return *m_state; }

    void ensure_done() const {
        if (!done()) {
            throw invalid_state_error("corio::task_handle: the task has not finished yet");
        }
    }

    detail::intrusive_ref<detail::spawned_task<T>> m_state;
};

/// Schedules t to start on the running loop at its next iteration and returns
/// a handle to it (asyncio.create_task). The loop keeps the task alive until it
/// finishes, whether or not the handle is kept.
///
/// The task runs after the caller's frame may be gone: a coroutine lambda's
/// captures and reference parameters must outlive it (see corio::invoke).
/// Throws event_loop_error when no loop runs on this thread.
template <class T>
task_handle<T> create_task(task<T> t) {
    return get_running_loop().create_task(std::move(t));
}

/// The same, naming the task (asyncio's `create_task(coro, name=...)`): the
/// name shows in task_handle::name(), all_tasks(), format_task_tree() and
/// debug-mode warnings.
template <class T>
task_handle<T> create_task(task<T> t, std::string_view name) {
    return get_running_loop().create_task(std::move(t), name);
}

}  // namespace corio

#endif  // CORIO_SPAWN_HPP
