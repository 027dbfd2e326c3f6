#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace corio::detail {

/// The text of a `cancel(message)`, shared by the strand that carries the
/// request and every cancelled_error thrown for it. The count is atomic: an
/// exception may be copied (or dropped) on another thread.
class cancel_message {
public:
    static constexpr std::string_view prefix = "corio: operation cancelled: ";

    /// A new message with one reference, which the caller owns.
    [[nodiscard]] static cancel_message* make(std::string_view message) {
        return new cancel_message(message);
    }

    void add_ref() const noexcept { m_refs.fetch_add(1, std::memory_order_relaxed); }
    void release() const noexcept {
        // acq_rel: the deleting thread must see every other owner's last use.
        if (m_refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            delete this;
        }
    }

    /// "corio: operation cancelled: <message>".
    [[nodiscard]] const char* what() const noexcept { return m_what.c_str(); }
    [[nodiscard]] std::string_view message() const noexcept {
        return std::string_view(m_what).substr(prefix.size());
    }

private:
    explicit cancel_message(std::string_view message) : m_what(std::string(prefix).append(message)) {}
    ~cancel_message() = default;

    mutable std::atomic<unsigned> m_refs{1};
    std::string m_what;
};

/// A timeout scope seen as the cause of a cancellation. Scopes of one strand
/// nest; `order` grows with each scope made on the thread, so of two scopes
/// alive in one strand the smaller order is the outer one.
struct timeout_source {
    std::uint64_t order = 0;
};

/// Why a strand is asked to stop: a plain cancel(), a cancel(message), or the
/// expiry of a timeout scope. One word: null, a cancel_message (one reference
/// owned, low bit clear) or a timeout_source (low bit set). Copying a message
/// cause takes a reference; a plain one costs nothing.
class cancel_cause {
public:
    cancel_cause() noexcept = default;
    /// Takes over one reference to `message` (null: a plain cancel).
    static cancel_cause adopt_message(const cancel_message* message) noexcept {
        cancel_cause cause;
        cause.m_bits = reinterpret_cast<std::uintptr_t>(message);
        return cause;
    }
    static cancel_cause timeout(const timeout_source* scope) noexcept {
        cancel_cause cause;
        cause.m_bits = reinterpret_cast<std::uintptr_t>(scope) | timeout_bit;
        return cause;
    }

    cancel_cause(const cancel_cause& other) noexcept : m_bits(other.m_bits) {
        if (const cancel_message* text = message()) {
            text->add_ref();
        }
    }
    cancel_cause(cancel_cause&& other) noexcept : m_bits(std::exchange(other.m_bits, 0)) {}
    cancel_cause& operator=(cancel_cause other) noexcept {
        std::swap(m_bits, other.m_bits);
        return *this;
    }
    ~cancel_cause() {
        if (const cancel_message* text = message()) {
            text->release();
        }
    }

    /// The scope whose expiry this is, or null.
    [[nodiscard]] const timeout_source* timeout_scope() const noexcept {
        return (m_bits & timeout_bit) != 0 ? reinterpret_cast<const timeout_source*>(m_bits & ~timeout_bit)
                                           : nullptr;
    }
    /// The message of a cancel(message), or null.
    [[nodiscard]] const cancel_message* message() const noexcept {
        return (m_bits & timeout_bit) == 0 ? reinterpret_cast<const cancel_message*>(m_bits) : nullptr;
    }

    /// What a strand forwards to what it waits for (an awaited task, the
    /// children of a combinator): the message, but not a timeout, which is
    /// only this strand's business (the awaited task is just cancelled).
    [[nodiscard]] cancel_cause forwarded() const noexcept {
        return timeout_scope() != nullptr ? cancel_cause{} : *this;
    }

    /// When two requests meet before the strand takes them: an outside
    /// cancellation beats a timeout (it is never turned into timeout_error),
    /// and of two timeouts the outer scope wins, so an inner scope ending
    /// cannot drop the outer one's expiry. Otherwise the first request stays.
    [[nodiscard]] bool yields_to(const cancel_cause& newer) const noexcept {
        const timeout_source* mine = timeout_scope();
        if (mine == nullptr) {
            return false;
        }
        const timeout_source* theirs = newer.timeout_scope();
        return theirs == nullptr || theirs->order < mine->order;
    }

private:
    static constexpr std::uintptr_t timeout_bit = 1;
    std::uintptr_t m_bits = 0;
};

/// A suspended operation's answer to "cancel yourself".
///
/// An awaitable that suspends a task installs one of these in the task's
/// context; cancelling the task calls it once. The callback must remove the
/// operation's registration (timer entry, wait-list node, reactor interest)
/// or forward the request to whatever it is waiting for, and arrange for the
/// suspended coroutine to be resumed, never resuming it inline.
struct cancel_callback {
    void (*on_cancel)(cancel_callback* self) noexcept;
};

/// Low pointer bits task_context and cancellation_slot keep flags in.
inline constexpr std::size_t task_context_flag_bits_needed = 7;

/// Cancellation state of one concurrent strand of execution: a spawned task,
/// the root task of a loop, or one child of a combinator. Every coroutine
/// awaited inside that strand shares it.
class task_context {
public:
    task_context() = default;
    task_context(const task_context&) = delete;
    task_context& operator=(const task_context&) = delete;

    /// Delivers a cancellation request: to the suspended operation if there is
    /// one, otherwise it is kept for the strand's next suspension point. A
    /// request arriving while an earlier one is still being delivered (the
    /// operation was told, the strand has not resumed yet) or still pending is
    /// absorbed into it, as asyncio coalesces cancel() calls into one
    /// CancelledError; of the two causes the one cancel_cause::yields_to
    /// prefers is kept.
    void request_cancel(cancel_cause cause = {}) noexcept {
        if (!has(cancel_pending_flag | delivering_flag) || m_cause.yields_to(cause)) {
            m_cause = std::move(cause);
        }
        set(cancel_requested_flag);
        deliver();
    }

    /// True once (and clears it) when a cancellation arrived while no
    /// operation was suspended; the suspension point asking then throws
    /// instead of suspending.
    [[nodiscard]] bool take_pending_cancel() noexcept {
        const bool pending = has(cancel_pending_flag);
        clear(delivering_flag | cancel_pending_flag);
        return pending;
    }

    /// Hands a request taken with take_pending_cancel() to the operation now
    /// armed, keeping its cause.
    void redeliver() noexcept { deliver(); }

    /// True while a request waits for the strand's next suspension point.
    [[nodiscard]] bool cancel_pending() const noexcept { return has(cancel_pending_flag); }

    [[nodiscard]] bool cancel_requested() const noexcept { return has(cancel_requested_flag); }

    /// Why the strand was last asked to stop. Valid from the request until the
    /// next one, so the suspension point that takes a request reads it to
    /// decide what to throw (see corio::detail::throw_cancellation).
    [[nodiscard]] const cancel_cause& cause() const noexcept { return m_cause; }

    /// A timeout scope ends: its expiry, if still waiting for a suspension
    /// point, must not cancel the code after the scope.
    void drop_pending_timeout(const timeout_source* scope) noexcept {
        if (has(cancel_pending_flag) && m_cause.timeout_scope() == scope) {
            clear(cancel_pending_flag);
        }
    }

    /// The strand of the task (create_task, or the root of a loop) this strand
    /// runs in: itself for a task, its parent's for a combinator's child.
    [[nodiscard]] task_context* enclosing_task() const noexcept {
        return reinterpret_cast<task_context*>(m_task_and_flags & ~flag_mask);
    }
    void set_enclosing_task(task_context* task) noexcept {
        m_task_and_flags = reinterpret_cast<std::uintptr_t>(task) | (m_task_and_flags & flag_mask);
    }
    /// A child strand started by a coroutine of strand `parent` (null: none).
    void inherit_task_from(const task_context* parent) noexcept {
        set_enclosing_task(parent != nullptr ? parent->enclosing_task() : nullptr);
    }

    /// The strand suspends in `operation`; a cancellation now goes to it.
    void arm(cancel_callback* operation) noexcept {
        clear(delivering_flag);
        m_waiting = operation;
    }

    /// `operation` no longer wants cancellation requests (it is being destroyed).
    void disarm(cancel_callback* operation) noexcept {
        if (m_waiting == operation) {
            m_waiting = nullptr;
        }
    }

    /// The strand resumed from `operation`: later requests are new ones.
    /// Awaitables call this from await_resume, and stay armed until then, so a
    /// cancellation arriving after the operation completed but before the
    /// coroutine ran still reaches the operation (which then throws and undoes
    /// what it can, e.g. passes a granted permit on).
    void resumed(cancel_callback* operation) noexcept {
        disarm(operation);
        clear(delivering_flag);
    }

private:
    void deliver() noexcept {
        if (has(delivering_flag)) {
            return;
        }
        if (cancel_callback* waiting = std::exchange(m_waiting, nullptr)) {
            set(delivering_flag);
            waiting->on_cancel(waiting);
        } else {
            set(cancel_pending_flag);
        }
    }

    // The three flags live in the low bits of the enclosing task's pointer
    // (task contexts are 8-aligned), so a context is three words: every
    // child of a gather has one.
    static constexpr std::uintptr_t cancel_pending_flag = 1;    // request not yet delivered to any operation
    static constexpr std::uintptr_t cancel_requested_flag = 2;  // any request ever made
    static constexpr std::uintptr_t delivering_flag = 4;  // an operation was told; the strand has not resumed yet
    static constexpr std::uintptr_t flag_mask = 7;

    [[nodiscard]] bool has(std::uintptr_t flags) const noexcept { return (m_task_and_flags & flags) != 0; }
    void set(std::uintptr_t flags) noexcept { m_task_and_flags |= flags; }
    void clear(std::uintptr_t flags) noexcept { m_task_and_flags &= ~flags; }

    cancel_callback* m_waiting = nullptr;  // operation the strand is suspended in
    cancel_cause m_cause;                  // why the last request came
    std::uintptr_t m_task_and_flags = 0;   // enclosing_task() | the flags above
};
static_assert(alignof(task_context) > task_context_flag_bits_needed);

}  // namespace corio::detail
