// corio's side of the core-runtime comparison.
//
// The same five measurements as bench/peers/compare_core_asio.cpp and
// bench/peers/compare_core_asyncio.py, timed the same way (bench/timing.hpp:
// a steady_clock stopwatch around a plain loop inside one root coroutine).
// bench/micro_core.cpp measures similar things with Google Benchmark; this
// program exists so that corio and its peers share one code shape.
//
// Output: one `name<TAB>value<TAB>unit` line per result. `--quick` runs
// smaller loops.

#include "timing.hpp"

#include <corio/corio.hpp>

#include <chrono>
#include <cstdint>
#include <vector>

namespace {

using namespace std::chrono_literals;
namespace bt = bench_timing;

corio::task<int> leaf(int value) { co_return value; }

// (a) create a task<int> and co_await it, n times.
corio::task<std::int64_t> create_await_loop(std::int64_t n) {
    std::int64_t sum = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        sum += co_await leaf(static_cast<int>(i & 0xff));
    }
    co_return sum;
}

// (b) create_task (schedule on the loop) and await its handle, n times.
corio::task<std::int64_t> spawn_await_loop(std::int64_t n) {
    std::int64_t sum = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        sum += co_await corio::create_task(leaf(static_cast<int>(i & 0xff)));
    }
    co_return sum;
}

// (c) one side of the ping-pong: yield to the loop n times.
corio::task<void> yielder(std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) {
        co_await corio::sleep(0ms);
    }
}

// (d) arm a 1 s timer and cancel it, n times; yield every 1024 operations so
// that a loop with lazy cancellation gets to clean up (as the peers do).
corio::task<void> timer_loop(std::int64_t n) {
    corio::event_loop& loop = corio::get_running_loop();
    for (std::int64_t i = 0; i < n; ++i) {
        corio::callback_handle handle = loop.call_later(1s, [] {});
        handle.cancel();
        if ((i & 1023) == 1023) {
            co_await corio::sleep(0ms);
        }
    }
}

// (e) one of the 100,000 sleepers.
corio::task<void> sleeper() { co_await corio::sleep(10ms); }

corio::task<void> gather_sleepers(std::int64_t n) {
    std::vector<corio::task<void>> tasks;
    tasks.reserve(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        tasks.push_back(sleeper());
    }
    co_await corio::gather(std::move(tasks));
}

corio::task<void> run_all(bt::config cfg) {
    // (e) first, while the process is small: its peak RSS is the measurement.
    {
        std::vector<double> walls;
        const std::int64_t rss_before = bt::peak_rss_bytes();
        for (int round = 0; round < cfg.sleeper_rounds; ++round) {
            bt::stopwatch sw;
            co_await gather_sleepers(cfg.sleepers);
            walls.push_back(sw.elapsed_ns() / 1e6);
            if (round == 0) {
                const std::int64_t rss_after = bt::peak_rss_bytes();
                bt::report("gather_100k_sleep10ms_rss",
                           static_cast<double>(rss_after - rss_before) / static_cast<double>(cfg.sleepers),
                           "bytes/task");
            }
        }
        bt::report("gather_100k_sleep10ms_wall", bt::median(walls), "ms");
        // The first round's frames come from malloc; later rounds reuse the
        // ones the frame cache kept.
        bt::report("gather_100k_sleep10ms_first_wall", walls.front(), "ms");
    }
    {
        bt::keep(co_await create_await_loop(cfg.create_await / 10));  // warm-up
        bt::stopwatch sw;
        bt::keep(co_await create_await_loop(cfg.create_await));
        bt::report("task_create_await", sw.elapsed_ns() / static_cast<double>(cfg.create_await), "ns/op");
    }
    {
        bt::keep(co_await spawn_await_loop(cfg.spawn_await / 10));
        bt::stopwatch sw;
        bt::keep(co_await spawn_await_loop(cfg.spawn_await));
        bt::report("spawn_await", sw.elapsed_ns() / static_cast<double>(cfg.spawn_await), "ns/op");
    }
    {
        co_await corio::gather(yielder(cfg.yields_per_side / 10), yielder(cfg.yields_per_side / 10));
        bt::stopwatch sw;
        co_await corio::gather(yielder(cfg.yields_per_side), yielder(cfg.yields_per_side));
        bt::report("yield_pingpong", sw.elapsed_ns() / static_cast<double>(2 * cfg.yields_per_side), "ns/yield");
    }
    {
        co_await timer_loop(cfg.timer_ops / 10);
        bt::stopwatch sw;
        co_await timer_loop(cfg.timer_ops);
        bt::report("timer_insert_cancel", sw.elapsed_ns() / static_cast<double>(cfg.timer_ops), "ns/op");
    }
}

}  // namespace

int main(int argc, char** argv) {
    corio::run(run_all(bt::config::from_args(argc, argv)));
    return 0;
}
