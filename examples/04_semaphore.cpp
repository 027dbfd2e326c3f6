// 04_semaphore: bound concurrency with corio::semaphore.
//
// Ten jobs are started at once, but at most three may run at the same time
// (say, three connections to a database or an API with a rate limit):
//
//     sem = asyncio.Semaphore(3)
//
//     async def job(i):
//         async with sem:
//             await asyncio.sleep(...)
//
//     await asyncio.gather(*(job(i) for i in range(1, 11)))
//
// In corio the `async with sem:` block is a scope holding a permit:
// `auto permit = co_await sem.acquire();` waits for a free slot, and the
// permit gives the slot back when it is destroyed at the end of the scope,
// however the scope is left (return, exception, cancellation).
//
// `--quick` makes every delay 40 times shorter.

#include <corio/corio.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <string_view>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

constexpr int job_count = 10;    // M
constexpr int max_parallel = 3;  // N

int speedup = 1;  // 40 with --quick

milliseconds scaled(milliseconds delay) {
    return delay / speedup;
}

const auto program_start = std::chrono::steady_clock::now();

// Prints a line stamped with the time since the program started.
template <class... Args>
void log(fmt::format_string<Args...> format, Args&&... args) {
    const std::chrono::duration<double> t = std::chrono::steady_clock::now() - program_start;
    fmt::print("[{:6.3f} s] {}\n", t.count(), fmt::format(format, std::forward<Args>(args)...));
}

struct pool_stats {
    int running = 0;
    int max_running = 0;
    int finished = 0;
};

// One unit of work that needs one of the semaphore's slots.
//
// Taking `sem` and `stats` by reference is safe here, unlike with create_task:
// gather below does not return while any job is still running, so the
// caller's locals outlive every job.
corio::task<void> job(int id, milliseconds duration, corio::semaphore& sem, pool_stats& stats) {
    if (sem.locked()) {
        log("job {:2} waits for a slot", id);
    }
    auto permit = co_await sem.acquire();  // async with sem:
    ++stats.running;
    stats.max_running = std::max(stats.max_running, stats.running);
    log("job {:2} starts    ({} running)", id, stats.running);

    co_await corio::sleep(duration);  // the work itself

    --stats.running;
    ++stats.finished;
    log("job {:2} finishes  ({} running)", id, stats.running);
}  // `permit` is destroyed here: the first waiting job gets the slot

corio::task<int> main_task() {
    corio::semaphore sem(max_parallel);
    pool_stats stats;

    std::vector<corio::task<void>> jobs;
    milliseconds one_at_a_time{0};
    for (int id = 1; id <= job_count; ++id) {
        const milliseconds duration = scaled(200ms * (1 + id % 3));
        one_at_a_time += duration;
        jobs.push_back(job(id, duration, sem, stats));
    }

    const auto start = std::chrono::steady_clock::now();
    co_await corio::gather(std::move(jobs));  // await asyncio.gather(*jobs)
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;

    fmt::print("\n{} jobs finished in {:.2f} s (one at a time: {:.2f} s); at most {} ran at once\n",
               stats.finished, elapsed.count(),
               std::chrono::duration<double>(one_at_a_time).count(), stats.max_running);

    if (stats.max_running > max_parallel) {
        fmt::print(stderr, "FAILED: {} jobs ran at once, the limit is {}\n", stats.max_running,
                   max_parallel);
        co_return 1;
    }
    if (stats.max_running < max_parallel || stats.finished != job_count ||
        sem.available() != max_parallel) {
        fmt::print(stderr,
                   "FAILED: expected all {} jobs to finish, {} at a time, and every "
                   "permit to be given back\n",
                   job_count, max_parallel);
        co_return 1;
    }
    co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 1 && std::string_view(argv[1]) == "--quick") {
        speedup = 40;
    }
    return corio::run(main_task());
}
