#pragma once

#include <corio/cancel.hpp>
#include <corio/detail/cancellable_awaiter.hpp>
#include <corio/task.hpp>

#include <array>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <limits>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace corio::detail {

/// One child of a child_group: the child's own cancellation state (its
/// strand), and nothing else. The group is every child's completion hook; it
/// tells which child finished from the finished task's context (this slot),
/// and reaches the children themselves through a child_access.
class child_slot final : public task_context {
#if CORIO_TRACK_AWAITS
public:
    const promise_base* promise = nullptr;  // the child's, for the task tree
#endif
};

/// How a child_group reaches its children without knowing their types (the
/// children of a tuple form differ), so a slot need not carry pointers to them.
struct child_access {
    const void* children = nullptr;
    /// Makes `slot` the strand of child `index` and `group` its completion;
    /// returns the child's coroutine, to start.
    std::coroutine_handle<> (*bind)(const void* children, std::size_t index, child_slot& slot,
                                    task_completion& group) noexcept = nullptr;
    std::exception_ptr (*error)(const void* children, std::size_t index) noexcept = nullptr;  // null unless it failed
    bool (*failed)(const void* children, std::size_t index) noexcept = nullptr;  // error() != null, without a copy
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
class child_group : private cancellable_awaiter<child_group>, private task_completion {
public:
    static constexpr std::size_t no_child = std::numeric_limits<std::size_t>::max();

    explicit child_group(stop_rule rule) noexcept : m_rule(rule) {}

    /// Binds and starts the children in order (one pass: with 100,000
    /// children each pass over them is megabytes), each running until its
    /// first suspension; once the group has stopped, the rest are never bound
    /// nor started. Returns whether the awaiting coroutine must suspend.
    template <class Promise>
    bool start(std::coroutine_handle<Promise> awaiting, std::span<child_slot> slots, const child_access& children) {
        m_slots = slots;
        m_children = children;
        intrusive_list<strand_record>* strand_list = strand_list_if_debugging();
        if (strand_list != nullptr) [[unlikely]] {
            m_debug_strands = std::make_unique<strand_record[]>(slots.size());
        }
        if (!begin_wait(awaiting)) {
            return false;
        }
        m_awaiting = awaiting;
        // One extra count for the start loop itself, so a child finishing
        // synchronously cannot resume the awaiting coroutine from inside it.
        m_remaining = slots.size() + 1;
        for (std::size_t i = 0; i < slots.size(); ++i) {
            if (m_stopped_by != no_child || cancelled()) {
                m_remaining -= slots.size() - i;  // never started: nothing to wait for
                break;
            }
            ++m_started;
            slots[i].inherit_task_from(strand());
            const std::coroutine_handle<> child = m_children.bind(m_children.children, i, slots[i], *this);
            if (strand_list != nullptr) [[unlikely]] {
                record_strand(*strand_list, i, child);
            }
            child.resume();
        }
        if (--m_remaining == 0) {
            disarm();
            return false;
        }
        return true;
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
        return m_children.error(m_children.children, index);
    }

private:
    friend cancellable_awaiter<child_group>;

    // A child finished: its strand is its slot.
    std::coroutine_handle<> on_task_done(task_context* strand) noexcept override {
        const auto index = static_cast<std::size_t>(static_cast<child_slot*>(strand) - m_slots.data());
        if (m_debug_strands) [[unlikely]] {
            m_debug_strands[index].unlink();
        }
        // Children unwinding from a cancellation the group sent itself do not
        // stop it again.
        if (m_stopped_by == no_child && !cancelled() && stops(index)) {
            m_stopped_by = index;
            cancel_children({});
        }
        if (--m_remaining != 0) {
            return std::noop_coroutine();
        }
        disarm();
        return m_awaiting;
    }

    // The awaiting task was cancelled: so are the children (with its message,
    // if any); the group resumes it once they have all unwound.
    bool cancel() noexcept {
        cancel_children(strand()->cause().forwarded());
        return true;
    }

    [[gnu::cold]] void record_strand(intrusive_list<strand_record>& list, std::size_t index,
                                     std::coroutine_handle<> child) noexcept {
        strand_record& record = m_debug_strands[index];
        record.parent = strand();
        record.strand = &m_slots[index];
        record.frame = child;
#if CORIO_TRACK_AWAITS
        record.promise = m_slots[index].promise;
#endif
        record.kind = m_rule == stop_rule::first_failure ? "gather"
                      : m_rule == stop_rule::never       ? "gather_settled"
                                                         : "wait_any";
        record.index = index;
        record.link(list);
    }

    bool stops(std::size_t index) const noexcept {
        switch (m_rule) {
            case stop_rule::first_failure:
                return m_children.failed(m_children.children, index);
            case stop_rule::first_completion:
                return true;
            case stop_rule::never:
                break;
        }
        return false;
    }

    // Every started child is asked, finished ones too (the group keeps no
    // per-child flag): a finished child's strand never runs again, so the
    // request it keeps pending is never taken.
    void cancel_children(const cancel_cause& cause) noexcept {
        for (std::size_t i = 0; i < m_started; ++i) {
            m_slots[i].request_cancel(cause);
        }
    }

    stop_rule m_rule;
    std::span<child_slot> m_slots;
    child_access m_children;
    std::coroutine_handle<> m_awaiting;
    std::size_t m_remaining = 0;
    std::size_t m_started = 0;  // children 0 .. m_started - 1 were started
    std::size_t m_stopped_by = no_child;
    // Debug mode: the children, for the task tree (each leaves the loop's list
    // when it ends).
    std::unique_ptr<strand_record[]> m_debug_strands;
};

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

template <class T>
std::coroutine_handle<> bind_child(const task<T>& child, child_slot& slot, task_completion& group) noexcept {
    auto& promise = task_access::handle(child).promise();
#if CORIO_TRACK_AWAITS
    slot.promise = &promise;
#endif
    promise.set_context(&slot);
    promise.set_completion(&group);
    return task_access::handle(child);
}

/// Starts the children with `group` (child_group::start): the start of
/// gather's and wait_any's vector forms.
template <class Promise, class T>
bool start_children(child_group& group, std::coroutine_handle<Promise> awaiting, std::span<child_slot> slots,
                    const std::vector<task<T>>& children) {
    child_access access;
    access.children = children.data();
    access.bind = [](const void* all, std::size_t index, child_slot& slot, task_completion& to_tell) noexcept {
        return bind_child(static_cast<const task<T>*>(all)[index], slot, to_tell);
    };
    access.error = [](const void* all, std::size_t index) noexcept {
        return task_access::handle(static_cast<const task<T>*>(all)[index]).promise().exception();
    };
    access.failed = [](const void* all, std::size_t index) noexcept {
        return task_access::handle(static_cast<const task<T>*>(all)[index]).promise().has_exception();
    };
    return group.start(awaiting, slots, access);
}

template <class Tuple, std::size_t... I>
std::coroutine_handle<> tuple_bind_child(const Tuple& children, std::size_t index, child_slot& slot,
                                         task_completion& group, std::index_sequence<I...> /*indices*/) noexcept {
    std::coroutine_handle<> found;
    ((I == index ? static_cast<void>(found = bind_child(std::get<I>(children), slot, group)) : static_cast<void>(0)),
     ...);
    return found;
}

template <class Tuple, std::size_t... I>
std::exception_ptr tuple_child_error(const Tuple& children, std::size_t index,
                                     std::index_sequence<I...> /*indices*/) noexcept {
    std::exception_ptr found;
    ((I == index ? static_cast<void>(found = task_access::handle(std::get<I>(children)).promise().exception())
                 : static_cast<void>(0)),
     ...);
    return found;
}

/// The same for a fixed set of children (the tuple forms).
template <class Promise, class... Ts>
bool start_children(child_group& group, std::coroutine_handle<Promise> awaiting, std::span<child_slot> slots,
                    const std::tuple<task<Ts>...>& children) {
    using tuple_type = std::tuple<task<Ts>...>;
    child_access access;
    access.children = &children;
    access.bind = [](const void* all, std::size_t index, child_slot& slot, task_completion& to_tell) noexcept {
        return tuple_bind_child(*static_cast<const tuple_type*>(all), index, slot, to_tell,
                                std::index_sequence_for<Ts...>{});
    };
    access.error = [](const void* all, std::size_t index) noexcept {
        return tuple_child_error(*static_cast<const tuple_type*>(all), index, std::index_sequence_for<Ts...>{});
    };
    access.failed = [](const void* all, std::size_t index) noexcept {
        return tuple_child_error(*static_cast<const tuple_type*>(all), index, std::index_sequence_for<Ts...>{}) !=
               nullptr;
    };
    return group.start(awaiting, slots, access);
}

}  // namespace corio::detail
