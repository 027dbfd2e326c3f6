#pragma once

#include <corio/cancel.hpp>
#include <corio/detail/cancellable_awaiter.hpp>
#include <corio/task.hpp>

#include <array>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

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
/// when the last child is done, so no child outlives the call. It is the
/// cancellation target of the awaiting coroutine (through cancellable_awaiter,
/// whose await_* it does not use: the combinator's awaiter drives start and
/// finish).
class child_group : private cancellable_awaiter<child_group> {
public:
    static constexpr std::size_t no_child = std::numeric_limits<std::size_t>::max();

    explicit child_group(stop_rule rule) noexcept : m_rule(rule) {}

    /// Starts the children in order, each running until its first suspension;
    /// once the group has stopped, the rest never start. Returns whether the
    /// awaiting coroutine must suspend. The slots are bound (bind_child).
    template <class Promise>
    bool start(std::coroutine_handle<Promise> awaiting, std::span<child_slot> slots,
               std::span<std::coroutine_handle<>> children) {
        m_slots = slots;
        if (!begin_wait(awaiting)) {
            return false;
        }
        m_awaiting = awaiting;
        for (child_slot& slot : slots) {
            slot.inherit_task_from(strand());
        }
        // One extra count for the start loop itself, so a child finishing
        // synchronously cannot resume the awaiting coroutine from inside it.
        m_remaining = slots.size() + 1;
        for (std::size_t i = 0; i < slots.size(); ++i) {
            if (m_stopped_by != no_child || cancelled()) {
                --m_remaining;  // never started: nothing to wait for
                continue;
            }
            slots[i].started = true;
            children[i].resume();
        }
        if (--m_remaining == 0) {
            disarm();
            return false;
        }
        return true;
    }

    std::coroutine_handle<> child_done(child_slot& slot) noexcept {
        slot.finished = true;
        // Children unwinding from a cancellation the group sent itself do not
        // stop it again.
        if (m_stopped_by == no_child && !cancelled() && stops(slot)) {
            m_stopped_by = static_cast<std::size_t>(&slot - m_slots.data());
            cancel_children({});
        }
        if (--m_remaining != 0) {
            return std::noop_coroutine();
        }
        disarm();
        return m_awaiting;
    }

    /// First thing after resuming: throws the awaiting task's cancellation
    /// (detail::throw_cancellation) if it was cancelled, even when a child had
    /// already stopped the group (the others were still unwinding, and a
    /// cancelled awaiter must see its cancellation). Returns the index of the
    /// child that stopped the group, or no_child.
    std::size_t finish() {
        if (finish_wait()) {
            throw_cancellation(strand());
        }
        return m_stopped_by;
    }

    /// The exception of child `index`, or null.
    [[nodiscard]] std::exception_ptr error_of(std::size_t index) const noexcept {
        const child_slot& slot = m_slots[index];
        return slot.error(slot.child);
    }

private:
    friend cancellable_awaiter<child_group>;

    // The awaiting task was cancelled: so are the children (with its message,
    // if any); the group resumes it once they have all unwound.
    bool cancel() noexcept {
        cancel_children(strand()->cause().forwarded());
        return true;
    }

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

    void cancel_children(const cancel_cause& cause) noexcept {
        for (child_slot& slot : m_slots) {
            if (slot.started && !slot.finished) {
                slot.request_cancel(cause);
            }
        }
    }

    stop_rule m_rule;  // first: it fills the base's tail padding
    std::span<child_slot> m_slots;
    std::coroutine_handle<> m_awaiting;
    std::size_t m_remaining = 0;
    std::size_t m_stopped_by = no_child;
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

/// Throws std::invalid_argument naming `who` and the first empty (moved-from)
/// task in `children`: the check of every combinator taking a vector.
template <class T>
void require_valid_tasks(const std::vector<task<T>>& children, const char* who) {
    for (std::size_t i = 0; i < children.size(); ++i) {
        if (!children[i].valid()) {
            throw std::invalid_argument(std::string(who) + ": task #" + std::to_string(i) +
                                        " is empty (moved from)");
        }
    }
}

/// Binds each child to its slot of `group` and starts them all
/// (child_group::start): the start of gather's and wait_any's vector forms.
template <class Promise, class T>
bool start_children(child_group& group, std::coroutine_handle<Promise> awaiting, std::span<child_slot> slots,
                    std::vector<task<T>>& children) {
    std::vector<std::coroutine_handle<>> handles;
    handles.reserve(children.size());
    for (std::size_t i = 0; i < children.size(); ++i) {
        bind_child(slots[i], group, children[i]);
        handles.emplace_back(task_access::handle(children[i]));
    }
    return group.start(awaiting, slots, std::span(handles));
}

/// The same for a fixed set of children (the tuple forms).
template <class Promise, class... Ts>
bool start_children(child_group& group, std::coroutine_handle<Promise> awaiting, std::span<child_slot> slots,
                    std::tuple<task<Ts>...>& children) {
    std::array<std::coroutine_handle<>, sizeof...(Ts)> handles = std::apply(
        [&](auto&... child) {
            std::size_t i = 0;
            (bind_child(slots[i++], group, child), ...);
            return std::array<std::coroutine_handle<>, sizeof...(Ts)>{
                std::coroutine_handle<>(task_access::handle(child))...};
        },
        children);
    return group.start(awaiting, slots, std::span(handles));
}

}  // namespace corio::detail
