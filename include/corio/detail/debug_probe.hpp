#pragma once

// What debug mode learns at each co_await of a task, at no cost while no loop
// of the process has debug mode on: the promise's await_transform passes its
// call site here only when debug_probe_armed() says some loop listens.

#include <corio/detail/cancellation.hpp>
#include <corio/detail/intrusive_list.hpp>

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <string>
#include <vector>

// CORIO_TRACK_AWAITS=1 (a build option: it grows every task frame by the
// fields below) makes each promise keep the site of its pending co_await and
// the task it awaits, so a suspended chain can be printed from outside.
#ifndef CORIO_TRACK_AWAITS
#define CORIO_TRACK_AWAITS 0
#endif

namespace corio::detail {

/// The source position of one co_await: file, line and enclosing function
/// name (as the compiler spells it: unqualified). Null file: unknown.
struct await_site {
    const char* file = nullptr;
    const char* function = nullptr;
    unsigned line = 0;

    [[nodiscard]] bool known() const noexcept { return file != nullptr; }
};

/// "function at file:line" (or "?" when unknown).
inline std::string format_site(const await_site& site) {
    if (!site.known()) {
        return "?";
    }
    std::string text;
    if (site.function != nullptr && *site.function != '\0') {
        text.append(site.function).append(" at ");
    }
    return text.append(site.file).append(":").append(std::to_string(site.line));
}

/// How many loops of the process have debug mode on. Relaxed: a loop that
/// turns debug on sees its own store; another thread's loop may notice a
/// moment late, which only delays its first report.
inline std::atomic<int>& debug_loop_count() noexcept {
    static std::atomic<int> count{0};
    return count;
}

[[nodiscard]] inline bool debug_probe_armed() noexcept {
    return debug_loop_count().load(std::memory_order_relaxed) != 0;
}

class promise_base;

/// Debug mode: a strand running beside its task's own, started by a
/// combinator (a child of gather, gather_settled or wait_any) or a task
/// group, so the task tree can list it under its task. Lives in the
/// combinator's state from the child's start to its end, linked into the
/// loop's list meanwhile; leaves it when destroyed.
struct strand_record : list_hook {
    strand_record() = default;
    strand_record(const strand_record&) = delete;
    strand_record& operator=(const strand_record&) = delete;
    ~strand_record() { unlink(); }

    /// Joins `into` (the fields set first); unlink() or destruction leaves it.
    void link(intrusive_list<strand_record>& into) noexcept {
        list = &into;
        into.push_back(*this);
    }

    void unlink() noexcept {
        if (linked()) {
            list->unlink(*this);
        }
    }

    list_links* list = nullptr;
    const task_context* parent = nullptr;  // the strand that started it
    const task_context* strand = nullptr;  // its own
    std::coroutine_handle<> frame;         // its outermost coroutine
    const promise_base* promise = nullptr; // that coroutine's promise (CORIO_TRACK_AWAITS builds)
    const char* kind = "";                 // "gather", "wait_any", "task_group", ...
    std::size_t index = 0;                 // its position among the combinator's children
    const std::string* name = nullptr;     // a task group child's name, if any
};

/// What the step of a debug-mode loop running on this thread reached last:
/// the task (enclosing strand) of the co_await and its site. Reset by the
/// loop before each step and read after it, so a slow step can be named.
struct step_probe {
    task_context* task = nullptr;
    await_site site;
    std::string finished_task;          // the name of a task that ended during the step
    std::vector<std::string> warnings;  // found meanwhile, for the loop to log after the step
    bool timing = false;                // a debug-mode loop runs a step on this thread now
    std::exception_ptr unwinding;       // the exception whose await chain was last recorded
    intrusive_list<strand_record>* strands = nullptr;  // the stepping loop's child strands
};

inline step_probe& current_step_probe() noexcept {
    thread_local step_probe probe;
    return probe;
}

/// The list a child strand started now joins: the list of the debug-mode loop
/// running a step on this thread, or null (debug mode off: nothing to record).
[[nodiscard]] inline intrusive_list<strand_record>* strand_list_if_debugging() noexcept {
    if (!debug_probe_armed()) [[likely]] {
        return nullptr;
    }
    const step_probe& probe = current_step_probe();
    return probe.timing ? probe.strands : nullptr;
}

[[gnu::cold]] inline void note_await(task_context* strand, await_site site) noexcept {
    step_probe& probe = current_step_probe();
    probe.task = strand != nullptr ? strand->enclosing_task() : nullptr;
    probe.site = site;
}

}  // namespace corio::detail
