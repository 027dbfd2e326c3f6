#pragma once

#include <corio/cancel.hpp>
#include <corio/detail/cancellation.hpp>
#include <corio/task.hpp>

#include <coroutine>
#include <cstddef>
#include <exception>
#include <limits>
#include <span>

namespace corio::detail {

class child_group;

/// One child of a child_group: its own cancellation state, and the hook its
/// final suspend calls.
class child_slot final : public task_context, public task_completion {
public:
    std::coroutine_handle<> on_task_done() noexcept override;

    child_group* group = nullptr;
    const void* child = nullptr;  // the child's task<T>, read through `error`
    std::exception_ptr (*error)(const void* child) noexcept = nullptr;  // null unless it failed
    bool started = false;
    bool finished = false;
};

/// When a child_group stops early, cancelling the children still running.
enum class stop_rule {
    first_failure,     ///< gather: the first child to end in an exception
    never,             ///< gather_settled: every child runs to its end
    first_completion,  ///< wait_any: the first child to end, either way
};

/// The type-independent half of gather, gather_settled and wait_any: start
/// every child, count completions, cancel the rest when the stop rule fires
/// or the awaiting task is cancelled, and resume the awaiting coroutine only
/// when the last child is done, so no child outlives the call.
class child_group : private cancel_callback {
public:
    static constexpr std::size_t no_child = std::numeric_limits<std::size_t>::max();

    explicit child_group(stop_rule rule) noexcept : m_rule(rule) { on_cancel = &cancel_from_outside; }
    child_group(const child_group&) = delete;
    child_group& operator=(const child_group&) = delete;

    ~child_group() {
        if (m_context != nullptr) {
            m_context->disarm(this);
        }
    }

    /// Starts the children in order, each running until its first suspension;
    /// once the group has stopped, the rest never start. Returns whether the
    /// awaiting coroutine must suspend. The slots are bound (bind_child).
    template <class Promise>
    bool start(std::coroutine_handle<Promise> awaiting, std::span<child_slot> slots,
               std::span<std::coroutine_handle<>> children) {
        m_slots = slots;
        m_context = context_of(awaiting);
        if (m_context != nullptr && m_context->take_pending_cancel()) {
            m_cancelled = true;
            return false;
        }
        m_awaiting = awaiting;
        if (m_context != nullptr) {
            m_context->arm(this);
        }
        // One extra count for the start loop itself, so a child finishing
        // synchronously cannot resume the awaiting coroutine from inside it.
        m_remaining = slots.size() + 1;
        for (std::size_t i = 0; i < slots.size(); ++i) {
            if (m_stopped_by != no_child || m_cancelled) {
                --m_remaining;  // never started: nothing to wait for
                continue;
            }
            slots[i].started = true;
            children[i].resume();
        }
        if (--m_remaining == 0) {
            if (m_context != nullptr) {
                m_context->disarm(this);
            }
            return false;
        }
        return true;
    }

    std::coroutine_handle<> child_done(child_slot& slot) noexcept {
        slot.finished = true;
        // Children unwinding from a cancellation the group sent itself do not
        // stop it again.
        if (m_stopped_by == no_child && !m_cancelled && stops(slot)) {
            m_stopped_by = static_cast<std::size_t>(&slot - m_slots.data());
            cancel_children();
        }
        if (--m_remaining != 0) {
            return std::noop_coroutine();
        }
        if (m_context != nullptr) {
            m_context->disarm(this);
        }
        return m_awaiting;
    }

    /// First thing after resuming: throws cancelled_error if the awaiting task
    /// was cancelled (even when a child had already stopped the group: the
    /// others were still unwinding, and a cancelled awaiter must see its
    /// cancellation). Returns the index of the child that stopped the group,
    /// or no_child.
    std::size_t finish() {
        if (m_context != nullptr) {
            m_context->resumed(this);
        }
        if (m_cancelled) {
            throw cancelled_error{};
        }
        return m_stopped_by;
    }

    /// The exception of child `index`, or null.
    [[nodiscard]] std::exception_ptr error_of(std::size_t index) const noexcept {
        const child_slot& slot = m_slots[index];
        return slot.error(slot.child);
    }

private:
    bool stops(const child_slot& slot) const noexcept {
        switch (m_rule) {
            case stop_rule::first_failure:
                return slot.error(slot.child) != nullptr;
            case stop_rule::first_completion:
                return true;
            case stop_rule::never:
                break;
        }
        return false;
    }

    void cancel_children() noexcept {
        for (child_slot& slot : m_slots) {
            if (slot.started && !slot.finished) {
                slot.request_cancel();
            }
        }
    }

    static void cancel_from_outside(cancel_callback* self) noexcept {
        auto* group = static_cast<child_group*>(self);
        group->m_cancelled = true;
        group->cancel_children();
    }

    std::span<child_slot> m_slots;
    std::coroutine_handle<> m_awaiting;
    task_context* m_context = nullptr;
    std::size_t m_remaining = 0;
    std::size_t m_stopped_by = no_child;
    stop_rule m_rule;
    bool m_cancelled = false;
};

inline std::coroutine_handle<> child_slot::on_task_done() noexcept { return group->child_done(*this); }

/// Makes `slot` the strand and completion hook of `child`, in `group`.
template <class T>
void bind_child(child_slot& slot, child_group& group, const task<T>& child) noexcept {
    slot.group = &group;
    slot.child = &child;
    slot.error = [](const void* c) noexcept {
        return task_access::handle(*static_cast<const task<T>*>(c)).promise().exception();
    };
    auto& promise = task_access::handle(child).promise();
    promise.set_context(&slot);
    promise.set_completion(&slot);
}

}  // namespace corio::detail
