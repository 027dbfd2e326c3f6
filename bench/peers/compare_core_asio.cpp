// Standalone Asio (Debian's libasio-dev, 1.22) C++20 coroutines: the peer of
// bench/compare_core_corio.cpp. Same five measurements, same timing code
// (bench/timing.hpp), same output format.
//
// Mapping: task<int> -> asio::awaitable<int>; create_task + await ->
// co_spawn(ex, f(), use_awaitable); sleep(0ms) -> post(ex, use_awaitable);
// call_later + cancel -> steady_timer::async_wait + cancel (one timer object,
// re-armed: the cheapest way Asio offers); sleep(10ms) -> a steady_timer per
// coroutine; gather -> co_spawn with a counting completion handler that wakes
// the root coroutine when the last one finished (1.22 has no ranged gather).

#include "../timing.hpp"

#include <asio.hpp>
#include <asio/experimental/awaitable_operators.hpp>

#include <chrono>
#include <cstdint>
#include <exception>
#include <vector>

namespace {

using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
namespace bt = bench_timing;

asio::awaitable<int> leaf(int value) { co_return value; }

// (a)
asio::awaitable<std::int64_t> create_await_loop(std::int64_t n) {
    std::int64_t sum = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        sum += co_await leaf(static_cast<int>(i & 0xff));
    }
    co_return sum;
}

// (b)
asio::awaitable<std::int64_t> spawn_await_loop(std::int64_t n) {
    auto ex = co_await asio::this_coro::executor;
    std::int64_t sum = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        sum += co_await asio::co_spawn(ex, leaf(static_cast<int>(i & 0xff)), asio::use_awaitable);
    }
    co_return sum;
}

// (c)
asio::awaitable<void> yielder(std::int64_t n) {
    auto ex = co_await asio::this_coro::executor;
    for (std::int64_t i = 0; i < n; ++i) {
        co_await asio::post(ex, asio::use_awaitable);
    }
}

// (d)
asio::awaitable<void> timer_loop(std::int64_t n) {
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer timer(ex);
    for (std::int64_t i = 0; i < n; ++i) {
        timer.expires_after(1s);
        timer.async_wait([](const asio::error_code&) {});
        timer.cancel();
        if ((i & 1023) == 1023) {
            co_await asio::post(ex, asio::use_awaitable);  // runs the aborted handlers
        }
    }
    co_await asio::post(ex, asio::use_awaitable);
}

// (e)
asio::awaitable<void> sleeper() {
    asio::steady_timer timer(co_await asio::this_coro::executor, 10ms);
    co_await timer.async_wait(asio::use_awaitable);
}

asio::awaitable<void> gather_sleepers(std::int64_t n) {
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer all_done(ex, asio::steady_timer::time_point::max());
    std::int64_t remaining = n;
    for (std::int64_t i = 0; i < n; ++i) {
        asio::co_spawn(ex, sleeper(), [&remaining, &all_done](const std::exception_ptr& e) {
            if (e) {
                std::rethrow_exception(e);
            }
            if (--remaining == 0) {
                all_done.cancel();
            }
        });
    }
    asio::error_code ec;
    co_await all_done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<void> run_all(bt::config cfg) {
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
        bt::report("gather_100k_sleep10ms_first_wall", walls.front(), "ms");
    }
    {
        bt::keep(co_await create_await_loop(cfg.create_await / 10));
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
        co_await (yielder(cfg.yields_per_side / 10) && yielder(cfg.yields_per_side / 10));
        bt::stopwatch sw;
        co_await (yielder(cfg.yields_per_side) && yielder(cfg.yields_per_side));
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
    const bt::config cfg = bt::config::from_args(argc, argv);
    asio::io_context ctx(1);  // concurrency hint 1: single-threaded, as corio's loop
    asio::co_spawn(ctx, run_all(cfg), [](const std::exception_ptr& e) {
        if (e) {
            std::rethrow_exception(e);
        }
    });
    ctx.run();
    return 0;
}
