#pragma once

#include <corio/cancel.hpp>
#include <corio/detail/cancellation.hpp>
#include <corio/task.hpp>

#include <coroutine>
#include <cstdint>
#include <type_traits>
#include <utility>

namespace corio::detail {

template <class Derived, class Base>
class cancellable_awaiter;

/// What an operation does when a cancellation is already pending on its
/// strand as it begins (see cancellable_awaiter's on_pending_cancel).
enum class pending_cancel : unsigned char {
    /// Throw cancelled_error at once, without starting: nothing was waited for.
    throw_at_once,
    /// Start, then take the request through the cancel() hook as if it had
    /// arrived right after: for an operation that forwards cancellation to
    /// what it waits for, which must not keep running (asyncio's Task.__step
    /// cancels the future it is handed while a cancel is pending).
    deliver_after_start,
};

/// The per-suspension data of the cancellation protocol: the strand the
/// suspended coroutine belongs to, and whether a cancellation reached this
/// suspension. Not a template, so a node type shared by several operations
/// (wait_node) can carry it; cancellable_awaiter drives it.
class cancellation_slot : private cancel_callback {
public:
    cancellation_slot(const cancellation_slot&) = delete;
    cancellation_slot& operator=(const cancellation_slot&) = delete;

protected:
    cancellation_slot() noexcept = default;

    // A frame destroyed while suspended (its loop closing) must not stay the
    // strand's target for cancellation.
    ~cancellation_slot() { disarm(); }

    /// True once a cancellation reached this suspension (or was pending when it began).
    [[nodiscard]] bool cancelled() const noexcept { return (m_strand_bits & cancelled_bit) != 0; }

    /// The operation completed and takes no more requests, before its
    /// coroutine resumes (when what it referred to may go away first); a
    /// request arriving meanwhile stays pending for the strand's next
    /// suspension point.
    void disarm() noexcept {
        if (task_context* context = strand()) {
            context->disarm(this);
        }
    }

    /// For await_suspend: finds the strand of `waiting`. Returns false, with
    /// cancelled() true, when a cancellation was pending: the operation must
    /// then not start and not suspend. Otherwise arms: from now on a
    /// cancellation goes to the operation's cancel hook. Arming comes before
    /// the operation starts because starting may run code (a combinator's
    /// children) that cancels the strand.
    template <class Promise>
    bool begin_wait(std::coroutine_handle<Promise> waiting) noexcept {
        task_context* context = context_of(waiting);
        m_strand_bits = reinterpret_cast<std::uintptr_t>(context);
        if (context == nullptr) {
            return true;
        }
        if (context->take_pending_cancel()) {
            mark_cancelled();
            return false;
        }
        context->arm(this);
        return true;
    }

    /// For await_suspend of a pending_cancel::deliver_after_start operation:
    /// arms even when a cancellation is pending, and leaves it pending (so it
    /// survives a start() that throws). Returns whether one is; the caller then
    /// starts the operation and calls deliver_pending_cancel().
    template <class Promise>
    bool arm_keeping_pending(std::coroutine_handle<Promise> waiting) noexcept {
        task_context* context = context_of(waiting);
        m_strand_bits = reinterpret_cast<std::uintptr_t>(context);
        if (context == nullptr) {
            return false;
        }
        context->arm(this);
        return context->cancel_pending();
    }

    /// Hands the pending cancellation to the armed operation's cancel hook.
    void deliver_pending_cancel() noexcept {
        if (strand()->take_pending_cancel()) {
            strand()->redeliver();
        }
    }

    /// For await_resume, first thing: the strand resumed, so later requests
    /// are new ones. Returns cancelled(). Until this call the operation stays
    /// armed, so a request arriving after it completed but before its
    /// coroutine ran still makes it throw (and undo what it got).
    bool finish_wait() noexcept {
        if (task_context* context = strand()) {
            context->resumed(this);
        }
        return cancelled();
    }

    /// For an uncancellable wait (never armed): remembers the strand only to
    /// consume, after the wait, a request that arrived meanwhile.
    template <class Promise>
    void note_strand(std::coroutine_handle<Promise> waiting) noexcept {
        m_strand_bits = reinterpret_cast<std::uintptr_t>(context_of(waiting)) | (m_strand_bits & cancelled_bit);
    }
    /// After an uncancellable wait: true once (and clears it) if a
    /// cancellation arrived meanwhile; the caller throws when it is done.
    bool take_pending_cancel() noexcept { return strand() != nullptr && strand()->take_pending_cancel(); }

    /// The strand of the suspended coroutine (null if not a corio task, or
    /// before the wait began): the cause of a request, and what to throw for it.
    [[nodiscard]] task_context* strand() const noexcept {
        return reinterpret_cast<task_context*>(m_strand_bits & ~cancelled_bit);
    }

    /// Makes the strand's requests call `hook` while armed.
    void set_cancel_hook(void (*hook)(corio::detail::cancel_callback*) noexcept) noexcept { on_cancel = hook; }

private:
    template <class, class>
    friend class cancellable_awaiter;

    void mark_cancelled() noexcept { m_strand_bits |= cancelled_bit; }

    // The suspended coroutine's strand (null if not a corio task) and, in the
    // low bit, cancelled(): one word, so an awaiter embedding a slot (a
    // sleep, in every sleeping frame) is 8 bytes smaller.
    static constexpr std::uintptr_t cancelled_bit = 1;
    std::uintptr_t m_strand_bits = 0;
};

/// The one cancellation protocol of corio's awaiters (CRTP, no virtual call,
/// no data beyond cancellation_slot's). `Derived` supplies only its hooks and
/// befriends this class:
///
///   start(h)  registers the wait of coroutine `h` (timer entry, wait-list
///             node, reactor interest, a job) and returns true to suspend,
///             false if it completed at once; or returns the coroutine to
///             transfer to (symmetric transfer into a child it starts).
///   cancel()  a cancellation arrived while armed: removes the registration
///             and has the coroutine resumed soon (never inline), or forwards
///             the request (strand()->cause().forwarded()) to what it waits
///             for. Returns true when the co_await must now throw the
///             cancellation, false when the request was forwarded and the
///             awaited thing's outcome will tell.
///   result()  what the co_await returns (may throw); default: nothing.
///   undo()    optional: cancelled after the operation completed but before
///             the coroutine resumed; passes on what it was given (a permit,
///             a connection) so nothing is lost.
///   on_pending_cancel  optional `static constexpr pending_cancel`: what a
///             cancellation already pending when the operation begins does.
///
/// await_suspend: a cancellation already pending makes the co_await throw
/// without suspending and without starting (pending_cancel::throw_at_once, the
/// default), or is delivered to cancel() once the operation started
/// (pending_cancel::deliver_after_start). await_resume: throws
/// cancelled_error (after undo()) if the wait was cancelled, else returns
/// result(). `Base` is cancellation_slot or a node type derived from it
/// (wait_node); its constructor arguments are forwarded.
template <class Derived, class Base = cancellation_slot>
class cancellable_awaiter : public Base {
    static_assert(std::is_base_of_v<cancellation_slot, Base>,
                  "corio: the Base of cancellable_awaiter must derive from cancellation_slot");

public:
    bool await_ready() const noexcept { return false; }

    template <class Promise>
    auto await_suspend(std::coroutine_handle<Promise> waiting) {
        using started = decltype(derived().start(waiting));
        static_assert(std::is_same_v<started, bool> || std::is_same_v<started, std::coroutine_handle<>>,
                      "corio: a cancellable operation's start(h) returns bool (suspend?) or the "
                      "std::coroutine_handle<> to transfer to");
        if constexpr (Derived::on_pending_cancel == pending_cancel::deliver_after_start) {
            const bool cancel_pending = this->arm_keeping_pending(waiting);
            auto started = derived().start(waiting);
            if (cancel_pending) {
                this->deliver_pending_cancel();
            }
            return started;
        } else if (!this->begin_wait(waiting)) {
            if constexpr (std::is_same_v<started, bool>) {
                return false;
            } else {
                return std::coroutine_handle<>(waiting);
            }
        }
        return derived().start(waiting);
    }

    decltype(auto) await_resume() {
        if (this->finish_wait()) {
            derived().undo();
            throw_cancellation(this->strand());
        }
        return derived().result();
    }

protected:
    template <class... Args>
    explicit cancellable_awaiter(Args&&... args) noexcept(std::is_nothrow_constructible_v<Base, Args...>)
        : Base(std::forward<Args>(args)...) {
        this->set_cancel_hook(&deliver_cancel);
    }
    ~cancellable_awaiter() = default;

    // Defaults of the optional hooks.
    static constexpr pending_cancel on_pending_cancel = pending_cancel::throw_at_once;
    void result() const noexcept {}
    void undo() noexcept {}

private:
    Derived& derived() noexcept { return static_cast<Derived&>(*this); }

    static void deliver_cancel(corio::detail::cancel_callback* callback) noexcept {
        auto& slot = static_cast<cancellation_slot&>(*callback);
        if (static_cast<Derived&>(slot).cancel()) {
            slot.mark_cancelled();
        }
    }
};

/// Awaiter of rethrow_cancellation(): never suspends, throws.
class rethrow_cancellation_operation {
public:
    bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> caller) noexcept {
        m_strand = context_of(caller);
        return false;
    }
    [[noreturn]] void await_resume() const { throw_cancellation(m_strand); }

private:
    const task_context* m_strand = nullptr;
};

/// `co_await rethrow_cancellation()` throws what the calling strand's last
/// cancellation request means (throw_cancellation: timeout_expired or
/// cancelled_error with its message), for a coroutine that took the request
/// through a wait that could not be interrupted and throws it once done.
[[nodiscard]] inline rethrow_cancellation_operation rethrow_cancellation() noexcept { return {}; }

}  // namespace corio::detail
