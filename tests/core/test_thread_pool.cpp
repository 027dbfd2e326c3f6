// Tests of corio/thread_pool.hpp: thread_pool, to_thread, run_in_executor.
// Results and exceptions come back to the loop, the loop keeps running while
// jobs block, cancellation stops the wait at once and drops the late result,
// a loop may close under a running job, pools join after finishing their work.
//
// Coroutines under test live in an anonymous namespace or in lambdas local to
// a test: clang 14 with -fsanitize=function cannot assemble coroutines with
// external inline linkage. Capturing lambdas are named before the co_await
// that uses them: g++ 12 destroys a capturing lambda temporary twice when it
// shares a full-expression with co_await (seen here as a shared_ptr released
// twice; see DESIGN.md, Pitfalls).

#include "catch.hpp"
#include "test_support.hpp"

#include <corio/cancel.hpp>
#include <corio/combinators.hpp>
#include <corio/event_loop.hpp>
#include <corio/run.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using corio::task;
using corio_test::run_with_watchdog;
using corio_test::stopwatch;

namespace {

// Counts live instances across threads (corio_test::counted is not thread-safe).
struct tracked {
    static inline std::atomic<int> alive{0};
    int value = 0;
    explicit tracked(int v) noexcept : value(v) { ++alive; }
    tracked(tracked&& other) noexcept : value(other.value) { ++alive; }
    tracked(const tracked&) = delete;
    tracked& operator=(const tracked&) = delete;
    ~tracked() { --alive; }
};

int add(int a, int b) { return a + b; }

task<int> sum_off_loop(int a, int b) { co_return co_await corio::to_thread(add, a, b); }

task<void> tick(std::atomic<bool>& stop, int& ticks) {
    while (!stop.load()) {
        co_await corio::sleep(10ms);
        ++ticks;
    }
}

// Polls a flag set by another thread, without blocking the loop.
task<void> until_set(const std::atomic<bool>& flag) {
    while (!flag.load()) {
        co_await corio::sleep(2ms);
    }
}

}  // namespace

TEST_CASE("to_thread returns the function's value, arguments decay-copied", "[thread_pool][threads]") {
    CHECK(run_with_watchdog(sum_off_loop(2, 3)) == 5);

    auto body = []() -> task<std::string> {
        std::string prefix = "to_";
        auto unique = std::make_unique<int>(7);
        // The string is copied into the job, the unique_ptr moved in.
        std::string joined = co_await corio::to_thread(
            [](const std::string& p, std::unique_ptr<int> n) { return p + "thread " + std::to_string(*n); },
            prefix, std::move(unique));
        CHECK(prefix == "to_");
        co_return joined;
    };
    CHECK(run_with_watchdog(body()) == "to_thread 7");
}

TEST_CASE("to_thread runs the function on another thread and resumes on the loop's", "[thread_pool][threads]") {
    auto body = []() -> task<void> {
        const std::thread::id loop_thread = std::this_thread::get_id();
        const std::thread::id job_thread = co_await corio::to_thread([] { return std::this_thread::get_id(); });
        CHECK(job_thread != loop_thread);
        CHECK(std::this_thread::get_id() == loop_thread);
        std::atomic<bool> ran{false};
        auto set_ran = [&ran] { ran = true; };
        co_await corio::to_thread(set_ran);  // void functions too
        CHECK(ran.load());
    };
    run_with_watchdog(body());
}

TEST_CASE("to_thread rethrows the function's exception in the awaiting coroutine", "[thread_pool][threads]") {
    auto body = []() -> task<std::string> {
        try {
            co_await corio::to_thread([]() -> int { throw std::runtime_error("disk on fire"); });
        } catch (const std::runtime_error& error) {
            co_return error.what();
        }
        co_return "no exception";
    };
    CHECK(run_with_watchdog(body()) == "disk on fire");
}

TEST_CASE("the loop keeps running while a to_thread job blocks", "[thread_pool][threads]") {
    auto body = []() -> task<int> {
        std::atomic<bool> stop{false};
        int ticks = 0;
        auto ticker = corio::create_task(tick(stop, ticks));
        stopwatch clock;
        co_await corio::to_thread([] { std::this_thread::sleep_for(200ms); });
        CHECK(clock.elapsed() >= 190ms);
        stop = true;
        co_await ticker;
        co_return ticks;
    };
    // 200 ms of 10 ms ticks: about 20; a blocked loop would give 1.
    CHECK(run_with_watchdog(body()) >= 5);
}

TEST_CASE("a thousand concurrent to_thread calls all complete", "[thread_pool][threads]") {
    constexpr int count = 1000;
    auto body = []() -> task<long> {
        std::vector<task<int>> calls;
        calls.reserve(count);
        for (int i = 0; i < count; ++i) {
            calls.push_back(sum_off_loop(i, 1));
        }
        std::vector<int> results = co_await corio::gather(std::move(calls));
        long total = 0;
        for (int i = 0; i < count; ++i) {
            CHECK(results[static_cast<std::size_t>(i)] == i + 1);
            total += results[static_cast<std::size_t>(i)];
        }
        co_return total;
    };
    CHECK(run_with_watchdog(body(), 20s) == static_cast<long>(count) * (count + 1) / 2);
}

TEST_CASE("cancelling a coroutine waiting in to_thread returns at once and discards the late result",
          "[thread_pool][threads]") {
    auto body = []() -> task<void> {
        auto finished = std::make_shared<std::atomic<bool>>(false);
        auto release = std::make_shared<std::atomic<bool>>(false);
        bool saw_cancel = false;
        auto waiter = [](std::shared_ptr<std::atomic<bool>> finished, std::shared_ptr<std::atomic<bool>> release,
                         bool& saw_cancel) -> task<int> {
            try {
                auto job = [finished, release] {
                    while (!release->load()) {
                        std::this_thread::sleep_for(1ms);
                    }
                    *finished = true;
                    return tracked(42);
                };
                tracked result = co_await corio::to_thread(std::move(job));
                co_return result.value;
            } catch (const corio::cancelled_error&) {
                saw_cancel = true;
                throw;
            }
        };
        auto handle = corio::create_task(waiter(finished, release, saw_cancel));
        co_await corio::sleep(20ms);
        stopwatch clock;
        handle.cancel();
        while (!handle.done()) {
            co_await corio::sleep(0ms);
        }
        // Returned while the job still runs: nothing waited for it.
        CHECK(clock.elapsed() < 100ms);
        CHECK(handle.cancelled());
        CHECK(saw_cancel);
        CHECK_FALSE(finished->load());

        // Let the job finish: its result is dropped on the worker, never delivered.
        *release = true;
        co_await until_set(*finished);
        co_await corio::sleep(20ms);
        CHECK(tracked::alive.load() == 0);
    };
    run_with_watchdog(body());
}

TEST_CASE("a cancellation requested before to_thread is awaited never submits the job",
          "[thread_pool][threads]") {
    auto body = []() -> task<void> {
        std::atomic<bool> ran{false};
        auto waiter = [](std::atomic<bool>& ran) -> task<void> {
            auto set_ran = [&ran] { ran = true; };
            co_await corio::to_thread(set_ran);
        };
        auto handle = corio::create_task(waiter(ran));
        handle.cancel();  // before the task ever ran
        while (!handle.done()) {
            co_await corio::sleep(0ms);
        }
        CHECK(handle.cancelled());
        co_await corio::sleep(20ms);
        CHECK_FALSE(ran.load());
    };
    run_with_watchdog(body());
}

TEST_CASE("wait_for on to_thread times out without waiting for the job", "[thread_pool][threads]") {
    auto body = []() -> task<void> {
        auto release = std::make_shared<std::atomic<bool>>(false);
        stopwatch clock;
        bool timed_out = false;
        try {
            auto job = [release] {
                while (!release->load()) {
                    std::this_thread::sleep_for(1ms);
                }
                return 1;
            };
            co_await corio::wait_for(corio::to_thread(std::move(job)), 30ms);
        } catch (const corio::timeout_error&) {
            timed_out = true;
        }
        CHECK(timed_out);
        CHECK(clock.elapsed() >= 25ms);
        CHECK(clock.elapsed() < 150ms);
        *release = true;

        // A job that finishes in time gives its value.
        const int value = co_await corio::wait_for(corio::to_thread([] { return 9; }), 2s);
        CHECK(value == 9);
    };
    run_with_watchdog(body());
}

TEST_CASE("run_in_executor runs on the given pool", "[thread_pool][threads]") {
    corio::thread_pool pool(2);
    CHECK(pool.size() == 2);
    auto body = [](corio::thread_pool& pool) -> task<void> {
        corio::event_loop& loop = corio::get_running_loop();
        std::mutex mutex;
        std::vector<std::thread::id> threads;
        std::atomic<int> arrived{0};
        // Each job waits for the other: only two workers running at once get both through.
        auto record = [&mutex, &threads, &arrived](int i) {
            ++arrived;
            const auto give_up = std::chrono::steady_clock::now() + 5s;
            while (arrived.load() < 2 && std::chrono::steady_clock::now() < give_up) {
                std::this_thread::sleep_for(1ms);
            }
            std::lock_guard lock(mutex);
            threads.push_back(std::this_thread::get_id());
            return arrived.load() == 2 ? i * 10 : -1;
        };
        auto [a, b] = co_await corio::gather(loop.run_in_executor(pool, record, 1),
                                              loop.run_in_executor(pool, record, 2));
        CHECK(a == 10);
        CHECK(b == 20);
        REQUIRE(threads.size() == 2);
        CHECK(threads[0] != threads[1]);
        CHECK(threads[0] != std::this_thread::get_id());

        bool threw = false;
        try {
            co_await loop.run_in_executor(pool, [] { throw std::invalid_argument("bad"); });
        } catch (const std::invalid_argument&) {
            threw = true;
        }
        CHECK(threw);
    };
    run_with_watchdog(body(pool));
}

TEST_CASE("a thread_pool finishes its queued jobs, in order, before its destructor returns",
          "[thread_pool][threads]") {
    std::vector<int> order;  // one worker: the jobs run one after another
    std::atomic<int> done{0};
    {
        corio::thread_pool pool(1);
        for (int i = 0; i < 20; ++i) {
            pool.submit([i, &order, &done] {
                std::this_thread::sleep_for(1ms);
                order.push_back(i);
                ++done;
            });
        }
    }
    CHECK(done.load() == 20);
    std::vector<int> expected;
    for (int i = 0; i < 20; ++i) {
        expected.push_back(i);
    }
    CHECK(order == expected);  // read after join: no race
}

TEST_CASE("a thread_pool is safe to submit to from several threads and from its own jobs",
          "[thread_pool][threads]") {
    std::atomic<int> done{0};
    {
        corio::thread_pool pool(3);
        std::vector<std::thread> submitters;
        for (int t = 0; t < 4; ++t) {
            submitters.emplace_back([&pool, &done] {
                for (int i = 0; i < 50; ++i) {
                    // Each job submits a follow-up job to the same pool.
                    pool.submit([&pool, &done] {
                        ++done;
                        pool.submit([&done] { ++done; });
                    });
                }
            });
        }
        for (std::thread& submitter : submitters) {
            submitter.join();
        }
    }
    CHECK(done.load() == 4 * 50 * 2);
}

TEST_CASE("an exception escaping a submitted job leaves the worker running", "[thread_pool][threads]") {
    std::atomic<int> done{0};
    {
        corio::thread_pool pool(1);
        pool.submit([] { throw std::runtime_error("expected by the test: printed to stderr"); });
        pool.submit([&done] { ++done; });
    }
    CHECK(done.load() == 1);
}

TEST_CASE("closing a loop while a job still runs abandons the job safely", "[thread_pool][threads]") {
    auto release = std::make_shared<std::atomic<bool>>(false);
    auto started = std::make_shared<std::atomic<bool>>(false);
    bool resumed = false;
    {
        corio::thread_pool pool(1);  // destroyed last: joins after the job's delivery attempt
        {
            corio::event_loop loop;
            auto waiter = [](corio::thread_pool& pool, std::shared_ptr<std::atomic<bool>> release,
                             std::shared_ptr<std::atomic<bool>> started, bool& resumed) -> task<void> {
                auto job = [release, started] {
                    *started = true;
                    while (!release->load()) {
                        std::this_thread::sleep_for(1ms);
                    }
                    return tracked(1);
                };
                co_await corio::get_running_loop().run_in_executor(pool, std::move(job));
                resumed = true;
            };
            auto handle = loop.create_task(waiter(pool, release, started, resumed));
            loop.run_until_complete(until_set(*started));
            CHECK_FALSE(handle.done());
            loop.close();  // destroys the waiting frame: the job is abandoned
        }
        *release = true;  // the job finishes after its loop is gone
    }
    CHECK_FALSE(resumed);
    CHECK(tracked::alive.load() == 0);
}

TEST_CASE("the default thread pool is one process-wide pool", "[thread_pool][threads]") {
    corio::thread_pool& first = corio::default_thread_pool();
    corio::thread_pool& second = corio::default_thread_pool();
    CHECK(&first == &second);
    CHECK(first.size() >= 4);
}
