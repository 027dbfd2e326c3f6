#pragma once

#include <corio/cancel.hpp>
#include <corio/detail/awaitable_traits.hpp>
#include <corio/detail/cancellable_awaiter.hpp>
#include <corio/detail/intrusive_list.hpp>
#include <corio/detail/join_operation.hpp>
#include <corio/errors.hpp>
#include <corio/event_loop.hpp>
#include <corio/spawn.hpp>
#include <corio/task.hpp>

#include <concepts>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

// Structured concurrency (asyncio.TaskGroup):
//
//     co_await corio::with_task_group([&](corio::task_group& tg) -> corio::task<void> {
//         auto a = tg.spawn(fetch("a"));      // children start on the loop's next iteration
//         auto b = tg.spawn(fetch("b"));
//         co_await corio::sleep(10ms);        // the body runs concurrently with them
//         use(co_await a);                    // a child can be awaited through its handle
//     });                                     // every child has finished here
//
// A task_group cannot be constructed by user code: it exists only inside
// with_task_group, which owns it and does not return until the body and every
// child have finished. So there is no way to leave the scope with children
// still running, and no group object that could be dropped (or destroyed while
// it has running children) by mistake.

namespace corio {

/// Thrown by with_task_group when more than one child (or the body and a
/// child) failed; holds every failure in the order they happened.
/// (A single failure is rethrown as itself, so `catch (const my_error&)` works
/// in the common case.)
class task_group_error : public std::runtime_error {
public:
    /// `errors`: every failure, first one first (more than one); what() counts them and gives
    /// the first one's message.
    explicit task_group_error(std::vector<std::exception_ptr> errors)
        : std::runtime_error(describe(errors)), m_errors(std::move(errors)) {}

    /// Every failure, first one first.
    [[nodiscard]] const std::vector<std::exception_ptr>& exceptions() const noexcept { return m_errors; }
    /// The failure that made the group cancel the rest.
    [[nodiscard]] std::exception_ptr first() const noexcept { return m_errors.front(); }
    /// Rethrows the first failure as itself (to catch it by type).
    [[noreturn]] void rethrow_first() const { std::rethrow_exception(first()); }

private:
    static std::string describe(const std::vector<std::exception_ptr>& errors) {
        std::string first = "non-standard exception";
        try {
            std::rethrow_exception(errors.front());
        } catch (const std::exception& error) {
            first = error.what();
        } catch (...) {
        }
        return "corio::task_group: " + std::to_string(errors.size()) + " tasks failed; first: " + first;
    }

    std::vector<std::exception_ptr> m_errors;
};

class task_group;

template <class R, class F>
class task_group_operation;

namespace detail {

/// One child of a task_group: its frame, its strand (cancellation state), and
/// the coroutines awaiting it. Shared by the group and every child_handle.
class group_child_base : public task_context, public task_completion {
public:
    group_child_base() = default;
    group_child_base(const group_child_base&) = delete;
    group_child_base& operator=(const group_child_base&) = delete;
    virtual ~group_child_base() = default;

    [[nodiscard]] bool done() const noexcept { return m_done; }
    [[nodiscard]] bool cancelled() const noexcept { return m_done && is_cancellation(exception()); }

    bool cancel(cancel_cause cause = {}) noexcept {
        if (m_done) {
            return false;
        }
        request_cancel(std::move(cause));
        return true;
    }

    /// What the child ended with (null for a value).
    [[nodiscard]] std::exception_ptr exception() const noexcept {
        return m_early_cancel ? m_early_cancel : frame_exception();
    }

    void add_waiter(completion_waiter& node) noexcept { m_waiters.push_back(node); }
    void remove_waiter(completion_waiter& node) noexcept {
        if (node.linked()) {
            m_waiters.erase(node);
        }
    }

    std::coroutine_handle<> on_task_done(task_context* strand) noexcept override;

    // Ready-queue entry: the child's first step. A child cancelled before it
    // ever ran finishes as cancelled without running its body, as in asyncio.
    void start() noexcept;

    // Debug mode: lists the child under its task in the task tree while it runs.
    [[gnu::cold]] void record_strand(intrusive_list<strand_record>& list, const task_context* parent,
                                     std::size_t index) {
        m_debug_record = std::make_unique<strand_record>();
        m_debug_record->parent = parent;
        m_debug_record->strand = this;
        m_debug_record->frame = frame();
#if CORIO_TRACK_AWAITS
        m_debug_record->promise = m_promise;
#endif
        m_debug_record->kind = "task_group";
        m_debug_record->index = index;
        m_debug_record->name = &m_name;
        m_debug_record->link(list);
    }

    task_group* m_group = nullptr;  // null once the group is gone
    std::string m_name;             // as given to spawn; empty: none

protected:
    [[nodiscard]] virtual std::exception_ptr frame_exception() const noexcept = 0;
    [[nodiscard]] virtual std::coroutine_handle<> frame() const noexcept = 0;
    // Destroys the frame of a child still suspended: only when the group goes
    // away unfinished, which happens when its loop closes.
    virtual void destroy_frame() noexcept = 0;

#if CORIO_TRACK_AWAITS
    const promise_base* m_promise = nullptr;  // the body's, for the task tree
#endif

private:
    friend class corio::task_group;
    void finish() noexcept {
        m_done = true;
        m_debug_record.reset();
        // Awaiters stay armed until they resume (see join_operation).
        while (!m_waiters.empty()) {
            get_running_loop().resume_soon(m_waiters.pop_front().coroutine);
        }
    }

    intrusive_list<completion_waiter> m_waiters;
    std::exception_ptr m_early_cancel;
    std::unique_ptr<strand_record> m_debug_record;  // debug mode, while the child runs
    bool m_done = false;
};

template <class T>
class group_child final : public group_child_base {
public:
    explicit group_child(task<T> body) noexcept : m_body(std::move(body)) {
        auto& promise = task_access::handle(m_body).promise();
        promise.set_context(this);
        promise.set_completion(this);
#if CORIO_TRACK_AWAITS
        m_promise = &promise;
#endif
    }

    decltype(auto) value() {
        if (std::exception_ptr error = exception()) {
            std::rethrow_exception(error);
        }
        return task_access::handle(m_body).promise().value();
    }

private:
    void destroy_frame() noexcept override { m_body = task<T>{}; }
    std::exception_ptr frame_exception() const noexcept override {
        return m_body.valid() ? task_access::handle(m_body).promise().exception() : nullptr;
    }
    std::coroutine_handle<> frame() const noexcept override { return task_access::handle(m_body); }

    task<T> m_body;
};

}  // namespace detail

/// A child of a task_group (what task_group::spawn returns), the group's
/// counterpart of task_handle: copyable, awaitable any number of times, and
/// queryable after the group has finished.
///
/// Awaiting yields the child's value (a copy; `co_await std::move(h)` moves
/// it out) or rethrows its exception. Cancelling a coroutine that awaits a
/// child cancels that child too (as awaiting a task_handle does), and the
/// awaiter resumes once it has unwound. cancel() cancels just this child: a
/// child ending by cancellation is not a failure of the group. Loop thread only.
template <class T>
class child_handle {
public:
    child_handle() noexcept = default;

    /// False for a default-constructed handle; the other members need a valid one.
    [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(m_state); }
    /// True once the child finished: value, exception or cancelled.
    [[nodiscard]] bool done() const noexcept { return m_state->done(); }
    /// True if the child finished by cancellation.
    [[nodiscard]] bool cancelled() const noexcept { return m_state->cancelled(); }
    /// The name given to spawn(awaitable, name); empty when none was.
    [[nodiscard]] const std::string& name() const noexcept { return m_state->m_name; }
    /// Asks the child to stop; false if it had already finished.
    bool cancel() noexcept { return m_state->cancel(); }
    /// The same, the child's cancelled_error carrying `message`.
    bool cancel(std::string_view message) { return detail::cancel_with_message(*m_state, message); }

    /// The value of a finished child, or its exception rethrown;
    /// invalid_state_error if it has not finished.
    decltype(auto) result() & {
        ensure_done();
        if constexpr (std::is_void_v<T> || std::is_reference_v<T>) {
            return m_state->value();
        } else {
            return static_cast<const T&>(m_state->value());
        }
    }
    /// The same on an rvalue (`std::move(h).result()`): moves the value out of the child, so
    /// other copies of the handle then see a moved-from value.
    decltype(auto) result() && {
        ensure_done();
        if constexpr (std::is_void_v<T> || std::is_reference_v<T>) {
            return m_state->value();
        } else {
            return T(std::move(m_state->value()));
        }
    }

    /// The exception a finished child ended with, or null;
    /// invalid_state_error if it has not finished.
    [[nodiscard]] std::exception_ptr exception() const {
        ensure_done();
        return m_state->exception();
    }

    /// Combinators await their copy of a handle without moving the result
    /// out of the task (see detail::copies_shared_result).
    using shares_its_result = void;

    /// Awaiter of the handle (see the class comment); Move: `co_await std::move(handle)`.
    template <bool Move>
    using await_operation = detail::join_operation<T, std::shared_ptr<detail::group_child<T>>, Move>;

    /// Awaits the child: yields a copy of its value or rethrows its exception.
    [[nodiscard]] await_operation<false> operator co_await() & noexcept { return await_operation<false>(m_state); }
    /// The same, moving the value out of the child (`co_await std::move(handle)`).
    [[nodiscard]] await_operation<true> operator co_await() && noexcept { return await_operation<true>(m_state); }

private:
    friend class task_group;
    explicit child_handle(std::shared_ptr<detail::group_child<T>> state) noexcept : m_state(std::move(state)) {}

    void ensure_done() const {
        if (!done()) {
            throw invalid_state_error("corio::child_handle: the child has not finished yet");
        }
    }

    std::shared_ptr<detail::group_child<T>> m_state;
};

/// A scope for child tasks (asyncio.TaskGroup), only reachable inside
/// corio::with_task_group, which owns it.
///
/// - spawn() starts a child on the loop's next iteration, in its own strand.
/// - The group finishes when the body and every child have finished.
/// - The first failure (an exception other than cancelled_error, in the body
///   or a child) cancels the body and every other child; once all have
///   unwound, with_task_group rethrows it. If more failures happened by then
///   (e.g. a child failing in its cleanup), task_group_error is thrown
///   instead, holding all of them, the first one first.
/// - Cancelling the task awaiting with_task_group cancels the body and every
///   child, waits for them, and throws cancelled_error (unless a child failed,
///   as in asyncio: failures win).
/// - A child that ends by cancellation (say through child_handle::cancel())
///   is not a failure.
/// Loop thread only.
class task_group : private detail::task_completion {
public:
    task_group(const task_group&) = delete;
    task_group& operator=(const task_group&) = delete;

    ~task_group() {
        for (const auto& child : m_children) {
            child->m_group = nullptr;
            child->m_debug_record.reset();  // a handle may outlive the loop and its list
            if (!child->done()) {
                child->destroy_frame();
            }
        }
    }

    /// Starts `awaitable` (a task, or anything co_await-able) as a child of
    /// the group on the running loop's next iteration, and returns its handle.
    /// Throws invalid_state_error once the group is shutting down (after a
    /// failure or a cancellation) or finished; std::invalid_argument for an
    /// empty task.
    template <class Awaitable>
        requires detail::awaitable<Awaitable>
    auto spawn(Awaitable&& awaitable) {
        using inner = detail::as_task_t<Awaitable>;
        using T = typename inner::value_type;
        if (m_finished || m_shutting_down) {
            throw invalid_state_error(m_finished ? "corio::task_group: spawn on a finished group"
                                                 : "corio::task_group: the group is shutting down");
        }
        inner body = detail::as_task(std::forward<Awaitable>(awaitable));
        if (!body.valid()) {
            throw std::invalid_argument("corio::task_group: spawn of an empty (moved-from) task");
        }
        event_loop& loop = get_running_loop();
        auto child = std::make_shared<detail::group_child<T>>(std::move(body));
        child->inherit_task_from(&m_body_context);
        if (auto* strand_list = detail::strand_list_if_debugging()) [[unlikely]] {
            child->record_strand(*strand_list, m_parent_strand, m_children.size());
        }
        m_children.push_back(child);
        child->m_group = this;
        ++m_running;
        try {
            loop.call_soon([child] { child->start(); });
        } catch (...) {
            --m_running;
            m_children.pop_back();
            throw;
        }
        return child_handle<T>(std::move(child));
    }

    /// The same, naming the child (asyncio's `tg.create_task(coro, name=...)`):
    /// child_handle::name() returns it.
    template <class Awaitable>
    requires detail::awaitable<Awaitable>
    auto spawn(Awaitable&& awaitable, std::string_view name) {
        auto child = spawn(std::forward<Awaitable>(awaitable));
        child.m_state->m_name = name;
        return child;
    }

    /// Children spawned so far that have not finished.
    [[nodiscard]] std::size_t running() const noexcept { return m_running; }

private:
    template <class R, class F>
    friend class task_group_operation;
    friend class detail::group_child_base;

    task_group() noexcept = default;

    // ---- driven by task_group_operation ----

    template <class R>
    std::coroutine_handle<> start(std::coroutine_handle<> awaiting, const detail::task_context* awaiting_strand,
                                  task<R>& body) {
        m_awaiting = awaiting;
        m_parent_strand = awaiting_strand;
        m_body_context.inherit_task_from(awaiting_strand);
        m_body_frame = detail::task_access::handle(body);
        m_body_exception = [](std::coroutine_handle<> frame) noexcept {
            return std::coroutine_handle<detail::task_promise<R>>::from_address(frame.address())
                .promise()
                .exception();
        };
        auto& promise = detail::task_access::handle(body).promise();
        promise.set_context(&m_body_context);
        promise.set_completion(this);
        return m_body_frame;
    }

    // `cancelled`: the awaiting task (strand `awaiting_strand`) was cancelled
    // (failures still win).
    void rethrow_if_failed(bool cancelled, const detail::task_context* awaiting_strand) {
        m_finished = true;
        if (m_failures.size() == 1) {
            std::rethrow_exception(m_failures.front());
        }
        if (m_failures.size() > 1) {
            throw task_group_error(std::move(m_failures));
        }
        if (cancelled) {
            detail::throw_cancellation(awaiting_strand);
        }
        if (m_body_cancelled) {
            throw cancelled_error{};  // the body's own, sent by nobody
        }
    }

    // ---- completions ----

    // The body finished.
    std::coroutine_handle<> on_task_done(detail::task_context* /*strand*/) noexcept override {
        m_body_done = true;
        const std::exception_ptr error = m_body_exception(m_body_frame);
        if (error) {
            if (!detail::is_cancellation(error)) {
                fail(error);
            } else if (!m_shutting_down) {
                // The body ended by a cancellation nobody sent it (it threw
                // cancelled_error itself): the group is cancelled as a whole.
                m_body_cancelled = true;
                shut_down();
            }
        }
        return resume_if_finished();
    }

    std::coroutine_handle<> child_done(detail::group_child_base& child) noexcept {
        --m_running;
        const std::exception_ptr error = child.exception();
        if (error && !detail::is_cancellation(error)) {
            fail(error);
        }
        return resume_if_finished();
    }

    std::coroutine_handle<> resume_if_finished() noexcept {
        if (!m_body_done || m_running != 0) {
            return std::noop_coroutine();
        }
        return m_awaiting;  // at once, by symmetric transfer: no request can come in between
    }

    void fail(std::exception_ptr error) noexcept {
        try {
            m_failures.push_back(std::move(error));
        } catch (...) {
            // Out of memory while recording a second failure: the first is kept.
        }
        shut_down();
    }

    void shut_down() noexcept {
        if (m_shutting_down) {
            return;
        }
        m_shutting_down = true;
        if (!m_body_done) {
            m_body_context.request_cancel();
        }
        for (const auto& child : m_children) {
            child->cancel();
        }
    }

    std::vector<std::shared_ptr<detail::group_child_base>> m_children;
    std::vector<std::exception_ptr> m_failures;
    detail::task_context m_body_context;  // the body's own strand
    const detail::task_context* m_parent_strand = nullptr;  // the strand awaiting the group
    std::coroutine_handle<> m_body_frame;
    std::exception_ptr (*m_body_exception)(std::coroutine_handle<>) noexcept = nullptr;
    std::coroutine_handle<> m_awaiting;
    std::size_t m_running = 0;
    bool m_body_done = false;
    bool m_shutting_down = false;  // a failure or a cancellation is being delivered
    bool m_body_cancelled = false;
    bool m_finished = false;
};

namespace detail {

inline std::coroutine_handle<> group_child_base::on_task_done(task_context* /*strand*/) noexcept {
    finish();
    return m_group != nullptr ? m_group->child_done(*this) : std::noop_coroutine();
}

inline void group_child_base::start() noexcept {
    if (m_done) {
        return;
    }
    if (take_pending_cancel()) {
        m_early_cancel = cancellation_exception(this);  // bad_alloc there: still an ending
        finish();
        if (m_group != nullptr) {
            m_group->child_done(*this).resume();
        }
        return;
    }
    frame().resume();
}

}  // namespace detail

/// Awaiter of with_task_group: owns the group, the body callable and the body task.
template <class R, class F>
class task_group_operation : public detail::cancellable_awaiter<task_group_operation<R, F>> {
public:
    explicit task_group_operation(F body) : m_fn(std::move(body)) {}
    // Movable only before it is awaited: the group's address is handed out then.
    task_group_operation(task_group_operation&& other) noexcept(std::is_nothrow_move_constructible_v<F>)
        : m_fn(std::move(other.m_fn)) {}
    task_group_operation& operator=(const task_group_operation&) = delete;

    // Cancelled or not, the outcome is the group's to decide: failures win.
    decltype(auto) await_resume() {
        m_group.rethrow_if_failed(this->finish_wait(), this->strand());
        auto& promise = detail::task_access::handle(m_body).promise();
        if constexpr (std::is_void_v<R> || std::is_reference_v<R>) {
            return promise.value();
        } else {
            return R(std::move(promise).value());
        }
    }

private:
    friend detail::cancellable_awaiter<task_group_operation>;

    template <class Promise>
    std::coroutine_handle<> start(std::coroutine_handle<Promise> awaiting) {
        m_body = std::invoke(m_fn, m_group);
        if (!m_body.valid()) {
            throw std::invalid_argument("corio::with_task_group: the body returned an empty task");
        }
        return m_group.start(awaiting, detail::context_of(awaiting), m_body);
    }

    // The awaiting task was cancelled: so are the body and every child; the
    // group resumes it once all have unwound.
    bool cancel() noexcept {
        m_group.shut_down();
        return true;
    }

    // Declaration order is destruction order reversed: the body frame goes
    // first (it refers to the group and may run the callable's code), then the
    // group (which lets go of the finished children), then the callable.
    F m_fn;
    task_group m_group;
    task<R> m_body;
};

/// Runs `body(tg)` and every child it spawns with `tg.spawn(...)`, and
/// finishes when all of them have (asyncio's `async with TaskGroup() as tg`).
///
/// Returns the body's result. On failure: the body and the other children are
/// cancelled, all are awaited, then the failure is rethrown (several failures:
/// task_group_error, see task_group). Cancelling the awaiting task cancels
/// the body and every child, waits for all of them, and throws
/// cancelled_error. Nothing the group started outlives the co_await, so the
/// body and the children may safely refer to the caller's locals. `body` is
/// kept alive (moved into the awaiter) until then, so a capturing coroutine
/// lambda is fine here. Resumes on the loop thread where the last of them
/// finished.
template <class F>
    requires std::invocable<F&, task_group&> &&
             detail::is_task<std::remove_cvref_t<std::invoke_result_t<F&, task_group&>>>::value
[[nodiscard]] auto with_task_group(F body) {
    using R = typename std::remove_cvref_t<std::invoke_result_t<F&, task_group&>>::value_type;
    return task_group_operation<R, F>(std::move(body));
}

}  // namespace corio
