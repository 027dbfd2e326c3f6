#pragma once

#include <utility>

namespace corio::detail {

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
    /// operation was told, the strand has not resumed yet) is absorbed into
    /// it, as asyncio coalesces cancel() calls into one CancelledError.
    void request_cancel() noexcept {
        m_cancel_requested = true;
        if (m_delivering) {
            return;
        }
        if (cancel_callback* waiting = std::exchange(m_waiting, nullptr)) {
            m_delivering = true;
            waiting->on_cancel(waiting);
        } else {
            m_cancel_pending = true;
        }
    }

    /// True once (and clears it) when a cancellation arrived while no
    /// operation was suspended; the suspension point asking then throws
    /// instead of suspending.
    [[nodiscard]] bool take_pending_cancel() noexcept {
        m_delivering = false;
        return std::exchange(m_cancel_pending, false);
    }

    /// True while a request waits for the strand's next suspension point.
    [[nodiscard]] bool cancel_pending() const noexcept { return m_cancel_pending; }

    [[nodiscard]] bool cancel_requested() const noexcept { return m_cancel_requested; }

    /// The strand suspends in `operation`; a cancellation now goes to it.
    void arm(cancel_callback* operation) noexcept {
        m_delivering = false;
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
        m_delivering = false;
    }

private:
    cancel_callback* m_waiting = nullptr;  // operation the strand is suspended in
    bool m_cancel_pending = false;         // request not yet delivered to any operation
    bool m_cancel_requested = false;       // any request ever made
    bool m_delivering = false;             // an operation was told; the strand has not resumed yet
};

}  // namespace corio::detail
