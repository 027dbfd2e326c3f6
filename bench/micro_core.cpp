// Micro-benchmarks of the core runtime (Google Benchmark).
// Build twice to compare frame allocation strategies: normally, and with
// -DCORIO_NO_FRAME_RECYCLING (plain operator new for every coroutine frame).

#include <corio/corio.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <vector>

namespace {

using namespace std::chrono_literals;

corio::task<int> leaf(int value) { co_return value; }

corio::task<void> await_leaves(benchmark::State& state) {
    for (auto _ : state) {
        benchmark::DoNotOptimize(co_await leaf(1));
    }
}

void task_create_and_await(benchmark::State& state) { corio::run(await_leaves(state)); }
BENCHMARK(task_create_and_await);

corio::task<void> spawn_and_await(benchmark::State& state) {
    for (auto _ : state) {
        benchmark::DoNotOptimize(co_await corio::create_task(leaf(1)));
    }
}

void create_task_and_await(benchmark::State& state) { corio::run(spawn_and_await(state)); }
BENCHMARK(create_task_and_await);

void call_soon_throughput(benchmark::State& state) {
    corio::event_loop loop;
    std::int64_t done = 0;
    for (auto _ : state) {
        state.PauseTiming();
        done = 0;
        state.ResumeTiming();
        for (int i = 0; i < 1000; ++i) {
            loop.call_soon([&done] { ++done; });
        }
        loop.call_soon([&loop] { loop.stop(); });
        loop.run_forever();
    }
    benchmark::DoNotOptimize(done);
    state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(call_soon_throughput);

corio::task<void> yielder(int rounds) {
    for (int i = 0; i < rounds; ++i) {
        co_await corio::sleep(0ms);
    }
}

corio::task<void> ping_pong(benchmark::State& state) {
    for (auto _ : state) {
        co_await corio::gather(yielder(1000), yielder(1000));
    }
    state.SetItemsProcessed(state.iterations() * 2000);
}

void sleep0_ping_pong(benchmark::State& state) { corio::run(ping_pong(state)); }
BENCHMARK(sleep0_ping_pong);

void timer_insert_cancel(benchmark::State& state) {
    corio::event_loop loop;
    for (auto _ : state) {
        auto handle = loop.call_later(1s, [] {});
        handle.cancel();
    }
}
BENCHMARK(timer_insert_cancel);

corio::task<void> hold_and_release(corio::semaphore& sem, int rounds) {
    for (int i = 0; i < rounds; ++i) {
        auto permit = co_await sem.acquire();
        co_await corio::sleep(0ms);
    }
}

corio::task<void> semaphore_contention(benchmark::State& state) {
    corio::semaphore sem(1);
    for (auto _ : state) {
        co_await corio::gather(hold_and_release(sem, 500), hold_and_release(sem, 500));
    }
    state.SetItemsProcessed(state.iterations() * 1000);
}

void semaphore_handoff(benchmark::State& state) { corio::run(semaphore_contention(state)); }
BENCHMARK(semaphore_handoff);

corio::task<void> sleeper() { co_await corio::sleep(10ms); }

corio::task<void> many_sleepers(benchmark::State& state) {
    const auto count = static_cast<std::size_t>(state.range(0));
    for (auto _ : state) {
        std::vector<corio::task<void>> tasks;
        tasks.reserve(count);
        for (std::size_t i = 0; i < count; ++i) {
            tasks.push_back(sleeper());
        }
        co_await corio::gather(std::move(tasks));
    }
}

void gather_sleepers(benchmark::State& state) { corio::run(many_sleepers(state)); }
BENCHMARK(gather_sleepers)->Arg(100000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
