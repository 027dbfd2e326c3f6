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
    /// one, otherwise it is kept for the strand's next suspension point.
    void request_cancel() noexcept {
        m_cancel_requested = true;
        if (cancel_callback* waiting = std::exchange(m_waiting, nullptr)) {
            waiting->on_cancel(waiting);
        } else {
            m_cancel_pending = true;
        }
    }

    /// True once (and clears it) when a cancellation arrived while no
    /// operation was suspended; the next suspension point then throws.
    [[nodiscard]] bool take_pending_cancel() noexcept {
        return std::exchange(m_cancel_pending, false);
    }

    [[nodiscard]] bool cancel_requested() const noexcept { return m_cancel_requested; }

    void arm(cancel_callback* operation) noexcept { m_waiting = operation; }

    void disarm(cancel_callback* operation) noexcept {
        if (m_waiting == operation) {
            m_waiting = nullptr;
        }
    }

private:
    cancel_callback* m_waiting = nullptr;  // operation the strand is suspended in
    bool m_cancel_pending = false;         // request not yet delivered to any operation
    bool m_cancel_requested = false;       // any request ever made
};

}  // namespace corio::detail
