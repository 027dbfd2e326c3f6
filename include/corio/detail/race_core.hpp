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

class race_core;

/// One child of a race (wait_any): its own cancellation state, and the hook
/// its final suspend calls.
class race_slot final : public task_context, public task_completion {
public:
    std::coroutine_handle<> on_task_done() noexcept override;

    race_core* core = nullptr;
    std::size_t index = 0;
    bool started = false;
    bool finished = false;
};

/// The type-independent half of wait_any, the sibling of gather_core with a
/// different rule: the first child to finish, with a value or an exception,
/// wins, and every other child is cancelled. The awaiting coroutine resumes
/// only when the last child has finished, so no loser outlives the call.
class race_core : private cancel_callback {
public:
    static constexpr std::size_t no_winner = std::numeric_limits<std::size_t>::max();

    race_core() noexcept { on_cancel = &cancel_from_outside; }
    race_core(const race_core&) = delete;
    race_core& operator=(const race_core&) = delete;

    ~race_core() {
        if (m_context != nullptr) {
            m_context->disarm(this);
        }
    }

    /// Starts the children in order, each running until its first suspension;
    /// a child finishing during the start stops the rest from starting at all.
    /// Returns whether the awaiting coroutine must suspend.
    template <class Promise>
    bool start(std::coroutine_handle<Promise> awaiting, std::span<race_slot> slots,
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
        // One extra count for the start loop, so a child finishing synchronously
        // cannot resume the awaiting coroutine from inside it.
        m_remaining = slots.size() + 1;
        for (std::size_t i = 0; i < slots.size(); ++i) {
            if (m_winner != no_winner || m_cancelled) {
                --m_remaining;  // never started: nothing to wait for
                continue;
            }
            slots[i].core = this;
            slots[i].index = i;
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

    std::coroutine_handle<> child_done(race_slot& slot) noexcept {
        slot.finished = true;
        if (m_winner == no_winner && !m_cancelled) {
            m_winner = slot.index;
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

    /// The winner's index; throws cancelled_error if the awaiting task was
    /// cancelled (even when a child had already won: the losers were still
    /// unwinding, and a cancelled awaiter must see its cancellation).
    std::size_t winner() {
        if (m_context != nullptr) {
            m_context->resumed(this);
        }
        if (m_cancelled) {
            throw cancelled_error{};
        }
        return m_winner;
    }

private:
    void cancel_children() noexcept {
        for (race_slot& slot : m_slots) {
            if (slot.started && !slot.finished) {
                slot.request_cancel();
            }
        }
    }

    static void cancel_from_outside(cancel_callback* self) noexcept {
        auto* core = static_cast<race_core*>(self);
        core->m_cancelled = true;
        core->cancel_children();
    }

    std::span<race_slot> m_slots;
    std::coroutine_handle<> m_awaiting;
    task_context* m_context = nullptr;
    std::size_t m_remaining = 0;
    std::size_t m_winner = no_winner;
    bool m_cancelled = false;
};

inline std::coroutine_handle<> race_slot::on_task_done() noexcept { return core->child_done(*this); }

/// Makes `slot` the child's strand and completion hook.
template <class T>
void bind_race_slot(race_slot& slot, const task<T>& child) noexcept {
    auto& promise = task_access::handle(child).promise();
    promise.set_context(&slot);
    promise.set_completion(&slot);
}

}  // namespace corio::detail
