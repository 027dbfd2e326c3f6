#pragma once

#include <chrono>
#include <cstdint>

#include <sys/resource.h>
#include <time.h>

namespace corio::detail {

/// What the calling thread has used so far: CPU time, and how many times it
/// gave up the CPU by itself (blocked in a system call: a sleep, a read, a
/// lock) as opposed to being preempted. Debug mode reads it around a step to
/// tell a blocking call from a busy or preempted one.
struct thread_usage {
    std::chrono::nanoseconds cpu{0};
    std::int64_t voluntary_switches = -1;  // -1: the platform does not say

    [[nodiscard]] static thread_usage now() noexcept {
        thread_usage usage;
#if defined(RUSAGE_THREAD)
        rusage self{};
        if (getrusage(RUSAGE_THREAD, &self) == 0) {
            usage.voluntary_switches = self.ru_nvcsw;
        }
#endif
        timespec cpu{};
        if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu) == 0) {
            usage.cpu = std::chrono::seconds(cpu.tv_sec) + std::chrono::nanoseconds(cpu.tv_nsec);
        }
        return usage;
    }
};

}  // namespace corio::detail
