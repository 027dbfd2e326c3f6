// The floor of the 100,000-sleepers row: what any runtime must do
// to park N suspended tasks on one timer and resume them, and nothing more.
//
// Plain C++, no corio: N heap blocks of a minimal coroutine frame's size, each
// given one deadline from a single clock read and a resume function; one
// array of pointers to them, sorted by deadline (they are made in deadline
// order, as "now + the same delay" timers are); one sleep until the last
// deadline; then, per block, an indirect call (the "resume") and a free.
// Timed and reported exactly as compare_core_corio's row (bench/timing.hpp):
// the median wall time of `sleeper_rounds` rounds, the first round's on its
// own, and the growth of peak RSS over the first round divided by N.
//
// --deadline-per-block gives each block a deadline from its own clock read and
// sleeps until the last one. A runtime's sleep(10ms) counts from its own call,
// so it cannot end before 10 ms after the last sleeper started; with a single
// clock read the floor's one deadline passes while it is still allocating
// (about 40 ms for 100,000 blocks here) and it never sleeps. bench/run runs
// both, as "floor" and "floor-sleep".
//
// Output: `gather_100k_sleep10ms_wall`, `..._first_wall` and `gather_100k_sleep10ms_rss` lines
// (name<TAB>value<TAB>unit). Options: --quick (one round), --frame-bytes B
// (default 160, the minimal coroutine frame), --deadline-per-block.

#include "timing.hpp"

#include <time.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string_view>
#include <vector>

namespace {

namespace bt = bench_timing;
using clock_type = std::chrono::steady_clock;

// The head of each block, as a coroutine frame starts with its resume pointer.
struct block_head {
    void (*resume)(block_head* self, std::int64_t& sum) noexcept;
    clock_type::time_point deadline;
    std::int64_t id;
};

void resume_block(block_head* self, std::int64_t& sum) noexcept { sum += self->id; }

void sleep_until(clock_type::time_point deadline) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count();
    timespec when{};
    when.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    when.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    // steady_clock is CLOCK_MONOTONIC on Linux.
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &when, nullptr) != 0) {
    }
}

std::int64_t one_round(std::int64_t n, std::size_t frame_bytes, bool deadline_per_block) {
    std::vector<block_head*> sorted;
    sorted.reserve(static_cast<std::size_t>(n));
    constexpr auto delay = std::chrono::milliseconds(10);
    const clock_type::time_point deadline = clock_type::now() + delay;
    for (std::int64_t i = 0; i < n; ++i) {
        void* memory = std::malloc(frame_bytes);
        if (memory == nullptr) {
            throw std::bad_alloc();
        }
        auto* block = ::new (memory) block_head{&resume_block, deadline_per_block ? clock_type::now() + delay : deadline, i};
        sorted.push_back(block);
    }
    // Every block is due once the last one is: the blocks are in deadline order.
    sleep_until(sorted.empty() ? deadline : sorted.back()->deadline);
    std::int64_t sum = 0;
    for (block_head* block : sorted) {
        block->resume(block, sum);
        std::free(block);
    }
    return sum;
}

}  // namespace

int main(int argc, char** argv) {
    bt::config cfg;
    std::size_t frame_bytes = 160;
    bool deadline_per_block = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--quick") {
            cfg.sleeper_rounds = 1;
        } else if (arg == "--deadline-per-block") {
            deadline_per_block = true;
        } else if (arg == "--frame-bytes" && i + 1 < argc) {
            frame_bytes = static_cast<std::size_t>(std::strtoul(argv[++i], nullptr, 10));
            if (frame_bytes < sizeof(block_head)) {
                std::fprintf(stderr, "%s: --frame-bytes must be at least %zu\n", argv[0], sizeof(block_head));
                return 2;
            }
        } else {
            std::fprintf(stderr, "usage: %s [--quick] [--frame-bytes B] [--deadline-per-block]\n", argv[0]);
            return 2;
        }
    }
    std::vector<double> walls;
    const std::int64_t rss_before = bt::peak_rss_bytes();
    for (int round = 0; round < cfg.sleeper_rounds; ++round) {
        bt::stopwatch sw;
        bt::keep(one_round(cfg.sleepers, frame_bytes, deadline_per_block));
        walls.push_back(sw.elapsed_ns() / 1e6);
        if (round == 0) {
            const std::int64_t rss_after = bt::peak_rss_bytes();
            bt::report("gather_100k_sleep10ms_rss",
                       static_cast<double>(rss_after - rss_before) / static_cast<double>(cfg.sleepers), "bytes/task");
        }
    }
    bt::report("gather_100k_sleep10ms_wall", bt::median(walls), "ms");
    bt::report("gather_100k_sleep10ms_first_wall", walls.front(), "ms");
    return 0;
}
