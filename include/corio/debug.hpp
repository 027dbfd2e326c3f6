#pragma once

// Introspection of a running loop's tasks: asyncio.all_tasks(), `python -m
// asyncio pstree`'s task tree and async stack traces (the chain of suspended
// coroutines of a task). See event_loop::set_debug for debug mode itself.

#include <corio/current_task.hpp>
#include <corio/detail/coroutine_name.hpp>
#include <corio/detail/debug_probe.hpp>
#include <corio/event_loop.hpp>
#include <corio/spawn.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace corio {

/// A child strand of a task that has not finished: one child of gather,
/// gather_settled or wait_any, or of a task group. Not a task of its own (it
/// shares its task's identity), so all_tasks() lists it inside its task.
/// Known for strands started while debug mode was on.
struct strand_info {
    std::string kind;       ///< "gather", "gather_settled", "wait_any" or "task_group"
    std::size_t index = 0;  ///< its place among its combinator's children (spawn order in a group)
    std::string name;       ///< a task group child's name, if it was given one
    std::string function;   ///< its coroutine's function, when known
    std::string awaiting;   ///< its pending co_await (builds with CORIO_TRACK_AWAITS=1)
    /// 0: started by the task's own coroutines; n: by the strand above it at depth n - 1
    std::size_t depth = 0;
};

/// One task of all_tasks(): what the loop knows of it at the moment of the
/// snapshot.
struct task_info {
    task_ref task;                ///< the task itself (keeps its state alive)
    std::uint64_t id = 0;         ///< loop-unique, in creation order
    std::uint64_t parent_id = 0;  ///< the task that created it (debug mode); 0: none known
    std::string name;             ///< given to create_task, else "Task-<id>"
    std::string function;         ///< its outermost coroutine's function, when known
    std::string state;            ///< "pending", or "cancelling" once cancel() was asked
    std::string awaiting;         ///< "function at file:line" of its pending co_await, when known
    std::optional<std::chrono::nanoseconds> age;  ///< since creation (debug mode at creation)
    std::uint64_t steps = 0;                      ///< steps run while debug mode was on
    std::chrono::nanoseconds running_time{0};     ///< time those steps took
    /// Its child strands (debug mode), depth first: each strand before the
    /// strands it started.
    std::vector<strand_info> strands;
};

namespace detail {

struct loop_introspection {
    static std::vector<task_info> tasks(event_loop& loop) {
        std::vector<task_info> out;
        const auto now = event_loop::clock::now();
        // A strand is listed under the strand that started it if that one is
        // listed too, else (started by the task's coroutines, or by a task
        // group's body, which is not listed) at the top of its task.
        std::multimap<const task_context*, const strand_record*> strands_by_parent;
        std::set<const task_context*> listed;
        loop.m_strands.for_each([&](const strand_record& record) {
            strands_by_parent.emplace(record.parent, &record);
            listed.insert(record.strand);
        });
        std::multimap<const task_context*, const strand_record*> top_strands_by_task;
        loop.m_strands.for_each([&](const strand_record& record) {
            if (listed.count(record.parent) == 0) {
                top_strands_by_task.emplace(record.strand->enclosing_task(), &record);
            }
        });
        loop.m_tasks.for_each([&](spawned_task_base& spawned) {
            task_info info;
            info.task = task_ref(&spawned);
            info.id = spawned.id();
            info.name = spawned.name();
            info.state = spawned.cancel_requested() ? "cancelling" : "pending";
#if CORIO_TRACK_AWAITS
            const promise_base* innermost = &spawned.root_promise();
            if (innermost->pending_await().function != nullptr) {
                info.function = innermost->pending_await().function;
            }
            while (innermost->awaited() != nullptr) {
                innermost = innermost->awaited();
            }
            info.awaiting = format_site(innermost->pending_await());
#endif
            if (info.function.empty() && !spawned.done()) {
                info.function = coroutine_function_name(spawned.frame());
            }
            if (const task_debug_info* debug = spawned.find_debug_info()) {
                info.parent_id = debug->parent_id;
                if (debug->created != event_loop::time_point{}) {
                    info.age =
                        std::chrono::duration_cast<std::chrono::nanoseconds>(now - debug->created);
                }
                info.steps = debug->steps;
                info.running_time = debug->running;
                if (info.awaiting.empty() && debug->last_await.known()) {
                    info.awaiting = format_site(debug->last_await);
                }
            }
            const auto [first, last] = top_strands_by_task.equal_range(&spawned);
            for (auto it = first; it != last; ++it) {
                append_strand(info.strands, strands_by_parent, *it->second, 0);
            }
            out.push_back(std::move(info));
        });
        return out;
    }

    // `record`, then the strands it started, depth first.
    static void append_strand(
        std::vector<strand_info>& out,
        const std::multimap<const task_context*, const strand_record*>& by_parent,
        const strand_record& record, std::size_t depth) {
        strand_info info;
        info.kind = record.kind;
        info.index = record.index;
        if (record.name != nullptr) {
            info.name = *record.name;
        }
#if CORIO_TRACK_AWAITS
        if (const promise_base* innermost = record.promise) {
            if (innermost->pending_await().function != nullptr) {
                info.function = innermost->pending_await().function;  // as tasks are named
            }
            while (innermost->awaited() != nullptr) {
                innermost = innermost->awaited();
            }
            if (innermost->pending_await().known()) {
                info.awaiting = format_site(innermost->pending_await());
            }
        }
#endif
        if (info.function.empty()) {
            info.function = coroutine_function_name(record.frame);
        }
        info.depth = depth;
        out.push_back(std::move(info));
        const auto [first, last] = by_parent.equal_range(record.strand);
        for (auto it = first; it != last; ++it) {
            append_strand(out, by_parent, *it->second, depth + 1);
        }
    }

    static spawned_task_base& state(const task_ref& task) noexcept {
        return *task.m_task;
    }
};

inline void append_task_tree(std::string& out, const std::vector<task_info>& tasks,
                             const std::multimap<std::uint64_t, std::size_t>& children,
                             std::size_t index, int depth) {
    const task_info& info = tasks[index];
    out.append(static_cast<std::size_t>(depth) * 4, ' ');
    const bool named = info.name != "Task-" + std::to_string(info.id);
    if (named || info.function.empty()) {
        out.append(info.name);
    } else {
        out.append(info.function);
    }
    out.append(" (")
        .append(named || info.function.empty() ? "" : info.name + ", ")
        .append(info.state);
    if (!info.awaiting.empty()) {
        out.append(", awaiting ").append(info.awaiting);
    }
    out.append(")\n");
    for (const strand_info& strand : info.strands) {
        out.append(static_cast<std::size_t>(depth + 1) * 4 + strand.depth * 4, ' ');
        out.append(strand.kind).append(" child #").append(std::to_string(strand.index));
        if (!strand.name.empty()) {
            out.append(" '").append(strand.name).append("'");
        }
        if (!strand.function.empty()) {
            out.append(": ").append(strand.function);
        }
        if (!strand.awaiting.empty()) {
            out.append(" (awaiting ").append(strand.awaiting).append(")");
        }
        out.append("\n");
    }
    const auto [first, last] = children.equal_range(info.id);
    for (auto it = first; it != last; ++it) {
        append_task_tree(out, tasks, children, it->second, depth + 1);
    }
}

}  // namespace detail

/// The tasks of `loop` that have not finished, in creation order, the root
/// task of run() included (asyncio.all_tasks()). Loop thread only.
[[nodiscard]] inline std::vector<task_info> all_tasks(event_loop& loop) {
    return detail::loop_introspection::tasks(loop);
}

/// The same for the running loop (event_loop_error outside one).
[[nodiscard]] inline std::vector<task_info> all_tasks() {
    return all_tasks(get_running_loop());
}

/// Every unfinished task of `loop`, one per line, each indented under the
/// task that created it (`python -m asyncio pstree`): by name, or unnamed by
/// its coroutine's function when known, with its state and pending co_await.
/// Under each task, indented likewise, the children of its gathers,
/// wait_anys and task groups that are still running. Parentage is known for
/// tasks created and strands started while debug mode was on; tasks of
/// unknown parent are listed at the top level.
[[nodiscard]] inline std::string format_task_tree(event_loop& loop) {
    const std::vector<task_info> tasks = all_tasks(loop);
    std::map<std::uint64_t, std::size_t> index_of;
    for (std::size_t i = 0; i < tasks.size(); ++i) {
        index_of.emplace(tasks[i].id, i);
    }
    std::multimap<std::uint64_t, std::size_t> children;
    std::vector<std::size_t> roots;
    for (std::size_t i = 0; i < tasks.size(); ++i) {
        if (tasks[i].parent_id != 0 && index_of.count(tasks[i].parent_id) != 0) {
            children.emplace(tasks[i].parent_id, i);
        } else {
            roots.push_back(i);
        }
    }
    std::string out;
    for (std::size_t root : roots) {
        detail::append_task_tree(out, tasks, children, root, 0);
    }
    return out;
}

/// The same for the running loop.
[[nodiscard]] inline std::string format_task_tree() {
    return format_task_tree(get_running_loop());
}

/// The chain of suspended coroutines of `task`, innermost first, one line per
/// coroutine: "#0 function at file:line" of its pending co_await, ending with
/// the task's name (an async stack trace). The whole chain needs a build with
/// CORIO_TRACK_AWAITS=1; without it, debug mode knows the innermost co_await
/// of the task's last step, and the chain shows that one line. A finished
/// task has no chain; one that ended with an exception while debug mode was
/// on shows the chain of coroutines the exception left, innermost first.
[[nodiscard]] inline std::string format_await_chain(const task_ref& task) {
    if (!task.valid()) {
        return "(no task)\n";
    }
    const detail::spawned_task_base& spawned = detail::loop_introspection::state(task);
    std::string out;
    if (spawned.done()) {
        const detail::task_debug_info* debug = spawned.find_debug_info();
        if (spawned.state() == detail::spawned_task_base::outcome::error && debug != nullptr &&
            !debug->exception_chain.empty()) {
            return "task '" + spawned.name() + "' ended with an exception, which left:\n" +
                   debug->exception_chain;
        }
        return "task '" + spawned.name() + "' has finished\n";
    }
    std::vector<detail::await_site> sites;
#if CORIO_TRACK_AWAITS
    for (const detail::promise_base* p = &spawned.root_promise(); p != nullptr; p = p->awaited()) {
        sites.push_back(p->pending_await());
    }
#else
    if (const detail::task_debug_info* debug = spawned.find_debug_info();
        debug && debug->last_await.known()) {
        sites.push_back(debug->last_await);
    }
#endif
    std::size_t depth = 0;
    for (auto it = sites.rbegin(); it != sites.rend(); ++it) {
        out.append("#")
            .append(std::to_string(depth++))
            .append(" ")
            .append(detail::format_site(*it))
            .append("\n");
    }
    if (sites.empty()) {
        out.append(
            "(await sites unknown: turn debug mode on, or build with CORIO_TRACK_AWAITS=1)\n");
    }
    out.append("in task '").append(spawned.name()).append("'\n");
    return out;
}

/// The same for a task_handle.
template <class T>
[[nodiscard]] std::string format_await_chain(const task_handle<T>& handle) {
    return format_await_chain(task_ref(handle));
}

}  // namespace corio
