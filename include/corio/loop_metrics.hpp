#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace corio {

/// Counters of one event loop since it was made (event_loop::metrics()).
///
/// The counts are kept always (an increment where each happens); the peak of
/// the ready queue and the two durations only while debug mode is on (they
/// cost a comparison per loop iteration and a clock read around every step
/// and reactor wait), and read zero otherwise.
struct loop_metrics {
    std::uint64_t tasks_created = 0;    ///< create_task calls (the root task of run included)
    std::uint64_t tasks_finished = 0;   ///< tasks that ended: value, exception or cancelled
    std::uint64_t tasks_cancelled = 0;  ///< of those, the ones that ended cancelled
    std::uint64_t steps = 0;            ///< jobs the loop ran: task resumptions and callbacks
    std::uint64_t io_waits = 0;         ///< waits in the reactor (epoll_wait / kevent calls)
    std::size_t tasks_pending = 0;      ///< tasks not finished now
    std::size_t ready_queue_depth = 0;  ///< jobs waiting to run now
    std::size_t ready_queue_peak = 0;   ///< the most jobs ready at once (debug mode)
    std::size_t timers_armed = 0;       ///< timers and sleeps pending now
    std::chrono::nanoseconds time_in_reactor{0};  ///< blocked in the reactor (debug mode)
    std::chrono::nanoseconds time_running{0};     ///< running steps (debug mode)

    /// The counters in Prometheus' text exposition format, each name prefixed
    /// with `prefix` ("corio_" by default): counters end in `_total`, gauges
    /// do not, the durations are in seconds.
    [[nodiscard]] std::string to_prometheus(std::string_view prefix) const {
        std::string out;
        const auto metric = [&](std::string_view name, std::string_view type, std::string_view help,
                                const std::string& value) {
            out.append("# HELP ").append(prefix).append(name).append(" ").append(help).append("\n");
            out.append("# TYPE ").append(prefix).append(name).append(" ").append(type).append("\n");
            out.append(prefix).append(name).append(" ").append(value).append("\n");
        };
        const auto seconds = [](std::chrono::nanoseconds d) {
            return std::to_string(std::chrono::duration<double>(d).count());
        };
        metric("tasks_created_total", "counter", "Tasks created.", std::to_string(tasks_created));
        metric("tasks_finished_total", "counter", "Tasks that ended, cancelled ones included.",
               std::to_string(tasks_finished));
        metric("tasks_cancelled_total", "counter", "Tasks that ended cancelled.",
               std::to_string(tasks_cancelled));
        metric("steps_total", "counter", "Jobs run by the loop.", std::to_string(steps));
        metric("io_waits_total", "counter", "Waits in the reactor.", std::to_string(io_waits));
        metric("tasks_pending", "gauge", "Tasks not finished.", std::to_string(tasks_pending));
        metric("ready_queue_depth", "gauge", "Jobs waiting to run.",
               std::to_string(ready_queue_depth));
        metric("ready_queue_peak", "gauge", "Most jobs ready at once.",
               std::to_string(ready_queue_peak));
        metric("timers_armed", "gauge", "Timers pending.", std::to_string(timers_armed));
        metric("reactor_seconds_total", "counter", "Time blocked in the reactor (debug mode only).",
               seconds(time_in_reactor));
        metric("running_seconds_total", "counter", "Time running steps (debug mode only).",
               seconds(time_running));
        return out;
    }
    /// The same, with the prefix "corio_".
    [[nodiscard]] std::string to_prometheus() const { return to_prometheus("corio_"); }
};

}  // namespace corio
