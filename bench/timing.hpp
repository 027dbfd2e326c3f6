#pragma once

// A tiny timing helper shared by bench/compare_core_corio.cpp and
// bench/peers/compare_core_asio.cpp, so that corio and its peers are timed by
// exactly the same code: a steady_clock stopwatch around a plain loop, peak
// RSS (VmHWM), and one output line per result:
//
//     name<TAB>value<TAB>unit
//
// bench/run parses these lines; bench/peers/compare_core_asyncio.py prints
// the same format.

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

namespace bench_timing {

/// Iteration counts of the comparison programs. `--quick` divides the loop
/// counts by 10 (not the 100,000 sleepers, which are the point of that row).
struct config {
    std::int64_t create_await = 4'000'000;
    std::int64_t spawn_await = 1'000'000;
    std::int64_t yields_per_side = 500'000;
    std::int64_t timer_ops = 2'000'000;
    std::int64_t sleepers = 100'000;
    int sleeper_rounds = 5;  // wall time: median of this many rounds in one process

    static config from_args(int argc, char** argv) {
        config c;
        for (int i = 1; i < argc; ++i) {
            if (std::string_view(argv[i]) == "--quick") {
                c.create_await /= 10;
                c.spawn_await /= 10;
                c.yields_per_side /= 10;
                c.timer_ops /= 10;
                c.sleeper_rounds = 1;
            } else {
                std::fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
                std::exit(2);
            }
        }
        return c;
    }
};

class stopwatch {
public:
    using clock = std::chrono::steady_clock;

    stopwatch() noexcept : m_start(clock::now()) {}
    void restart() noexcept { m_start = clock::now(); }

    [[nodiscard]] double elapsed_ns() const noexcept {
        return std::chrono::duration<double, std::nano>(clock::now() - m_start).count();
    }

private:
    clock::time_point m_start;
};

/// Peak resident set size of this process so far, in bytes: VmHWM of
/// /proc/self/status (the kernel's high-water mark, what getrusage's ru_maxrss
/// reports in KiB), or ru_maxrss where /proc is missing.
[[nodiscard]] inline std::int64_t peak_rss_bytes() noexcept {
    if (std::FILE* status = std::fopen("/proc/self/status", "r")) {
        char line[256];
        long long kib = -1;
        while (std::fgets(line, sizeof line, status) != nullptr) {
            if (std::sscanf(line, "VmHWM: %lld kB", &kib) == 1) {
                break;
            }
        }
        std::fclose(status);
        if (kib >= 0) {
            return static_cast<std::int64_t>(kib) * 1024;
        }
    }
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<std::int64_t>(usage.ru_maxrss) * 1024;
}

inline void report(const char* name, double value, const char* unit) {
    std::printf("%s\t%.3f\t%s\n", name, value, unit);
    std::fflush(stdout);
}

[[nodiscard]] inline double median(std::vector<double> values) {
    if (values.empty()) {
        return 0.0;
    }
    std::sort(values.begin(), values.end());
    const std::size_t mid = values.size() / 2;
    return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2.0;
}

/// Keeps a value observable so the optimizer cannot drop the work producing it.
template <class T>
inline void keep(const T& value) noexcept {
    asm volatile("" : : "r,m"(value) : "memory");
}

}  // namespace bench_timing
