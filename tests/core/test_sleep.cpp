// Tests of corio/sleep.hpp: durations, yielding, concurrency of timers,
// cancellation removing the timer, sleep_until.
//
// Coroutines under test live in an anonymous namespace or in lambdas local to
// a test: clang 14 with -fsanitize=function cannot assemble coroutines with
// external inline linkage.

#include "catch.hpp"
#include "test_support.hpp"

#include <corio/cancel.hpp>
#include <corio/combinators.hpp>
#include <corio/event_loop.hpp>
#include <corio/run.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using corio::task;
using corio_test::counted;
using corio_test::run_with_watchdog;
using corio_test::stopwatch;

namespace {

using clock_type = std::chrono::steady_clock;

task<clock_type::duration> timed_sleep(clock_type::duration d) {
    stopwatch clock;
    co_await corio::sleep(d);
    co_return clock.elapsed();
}

task<void> log_steps(std::string& log, char name, int steps) {
    for (int i = 0; i < steps; ++i) {
        log.push_back(name);
        co_await corio::sleep(0ms);
    }
}

task<void> sleep_and_record(std::vector<int>& order, int ms) {
    co_await corio::sleep(std::chrono::milliseconds(ms));
    order.push_back(ms);
}

task<void> sleep_100ms() { co_await corio::sleep(100ms); }

// state: 0 not started, 1 sleeping, 2 woke normally, 3 saw cancelled_error
task<void> observed_sleep(int& state, clock_type::duration d) {
    state = 1;
    try {
        co_await corio::sleep(d);
        state = 2;
    } catch (const corio::cancelled_error&) {
        state = 3;
        throw;
    }
}

task<void> sleep_forever(counted) { co_await corio::sleep(std::chrono::hours(1)); }

}  // namespace

TEST_CASE("sleep suspends for at least the given duration", "[sleep]") {
    const clock_type::duration elapsed = run_with_watchdog(timed_sleep(100ms));
    CHECK(elapsed >= 100ms);
    CHECK(elapsed < 1s);

    const clock_type::duration short_one = run_with_watchdog(timed_sleep(3ms));
    CHECK(short_one >= 3ms);
    CHECK(short_one < 1s);
}

TEST_CASE("sleep accepts any duration type and rounds up", "[sleep]") {
    auto body = []() -> task<void> {
        stopwatch clock;
        co_await corio::sleep(std::chrono::microseconds(1500));
        CHECK(clock.elapsed() >= 1500us);
        clock.restart();
        co_await corio::sleep(std::chrono::duration<double>(0.02));  // 20 ms as double seconds
        CHECK(clock.elapsed() >= 20ms);
        clock.restart();
        co_await corio::sleep(std::chrono::nanoseconds(1));
        CHECK(clock.elapsed() >= 1ns);
        clock.restart();
        co_await corio::sleep(0.015s);  // a long double literal, as asyncio's sleep(0.015)
        CHECK(clock.elapsed() >= 15ms);
        clock.restart();
        co_await corio::sleep(std::chrono::duration<float, std::milli>(5.5F));
        CHECK(clock.elapsed() >= 5500us);
    };
    run_with_watchdog(body());
}

TEST_CASE("sleep of zero yields to other ready tasks", "[sleep]") {
    std::string log;
    auto body = [&]() -> task<void> {
        co_await corio::gather(log_steps(log, 'A', 3), log_steps(log, 'B', 3));
    };
    run_with_watchdog(body());
    CHECK(log == "ABABAB");
}

TEST_CASE("a negative sleep yields like sleep of zero", "[sleep]") {
    std::string log;
    auto negative = [&log]() -> task<void> {
        log.push_back('N');
        co_await corio::sleep(-5ms);
        log.push_back('N');
    };
    auto other = [&log]() -> task<void> {
        log.push_back('O');
        co_await corio::sleep(0ms);
        log.push_back('O');
    };
    auto body = [&]() -> task<void> { co_await corio::gather(negative(), other()); };
    stopwatch clock;
    run_with_watchdog(body());
    CHECK(log == "NONO");
    CHECK(clock.elapsed() < 1s);
}

TEST_CASE("sleeping tasks wake in deadline order", "[sleep]") {
    std::vector<int> order;
    auto body = [&]() -> task<void> {
        co_await corio::gather(sleep_and_record(order, 30), sleep_and_record(order, 10),
                               sleep_and_record(order, 20), sleep_and_record(order, 1));
    };
    run_with_watchdog(body());
    CHECK(order == std::vector<int>{1, 10, 20, 30});
}

TEST_CASE("fifty concurrent sleeps of 100 ms take about 100 ms in total", "[sleep]") {
    // Timers are counted relative to the start: the watchdog has one of its own.
    auto body = []() -> task<std::size_t> {
        const std::size_t baseline = corio::get_running_loop().pending_timers();
        std::vector<task<void>> sleeps;
        for (int i = 0; i < 50; ++i) {
            sleeps.push_back(sleep_100ms());
        }
        CHECK(corio::get_running_loop().pending_timers() == baseline);  // lazy: nothing armed yet
        co_await corio::gather(std::move(sleeps));
        co_return corio::get_running_loop().pending_timers() - baseline;
    };
    stopwatch clock;
    const std::size_t timers_left = run_with_watchdog(body());
    const auto elapsed = clock.elapsed();
    CHECK(elapsed >= 100ms);
    CHECK(elapsed < 1s);
    CHECK(timers_left == 0);
}

TEST_CASE("cancelling a sleeping task throws cancelled_error and removes its timer at once",
          "[sleep][cancel]") {
    int state = 0;
    std::size_t timers_while_sleeping = 0;
    std::size_t timers_after_cancel = 0;
    bool cancel_accepted = false;
    bool await_threw_cancelled = false;
    bool handle_cancelled = false;
    auto body = [&]() -> task<void> {
        corio::event_loop& loop = corio::get_running_loop();
        const std::size_t baseline = loop.pending_timers();  // the watchdog's timer
        corio::task_handle<void> sleeper = corio::create_task(observed_sleep(state, 10s));
        co_await corio::sleep(0ms);  // the sleeper starts and arms its timer
        timers_while_sleeping = loop.pending_timers() - baseline;
        cancel_accepted = sleeper.cancel();
        timers_after_cancel = loop.pending_timers() - baseline;  // immediately: the entry is gone
        try {
            co_await sleeper;
        } catch (const corio::cancelled_error&) {
            await_threw_cancelled = true;
        }
        handle_cancelled = sleeper.cancelled();
    };
    stopwatch clock;
    run_with_watchdog(body());
    CHECK(clock.elapsed() < 1s);
    CHECK(timers_while_sleeping == 1);
    CHECK(cancel_accepted);
    CHECK(timers_after_cancel == 0);
    CHECK(state == 3);  // the sleep itself threw cancelled_error
    CHECK(await_threw_cancelled);
    CHECK(handle_cancelled);
}

TEST_CASE("a task cancelled while yielding with sleep of zero throws at that yield", "[sleep][cancel]") {
    int state = 0;
    bool await_threw_cancelled = false;
    auto body = [&]() -> task<void> {
        const std::size_t baseline = corio::get_running_loop().pending_timers();  // the watchdog's
        corio::task_handle<void> yielder = corio::create_task(observed_sleep(state, 0ms));
        co_await corio::sleep(0ms);  // the yielder starts and suspends in its yield
        CHECK(state == 1);
        CHECK(corio::get_running_loop().pending_timers() == baseline);  // a yield arms no timer
        yielder.cancel();
        await_threw_cancelled = co_await corio_test::ended_cancelled(yielder);
    };
    run_with_watchdog(body());
    CHECK(state == 3);
    CHECK(await_threw_cancelled);
}

TEST_CASE("a sleep that wait_for abandons leaves no timer behind", "[sleep][cancel]") {
    bool timed_out = false;
    std::size_t timers_after = 99;
    auto body = [&]() -> task<void> {
        const std::size_t baseline = corio::get_running_loop().pending_timers();  // the watchdog's
        try {
            co_await corio::wait_for(corio::sleep(200ms), 20ms);
        } catch (const corio::timeout_error&) {
            timed_out = true;
        }
        timers_after = corio::get_running_loop().pending_timers() - baseline;
    };
    stopwatch clock;
    run_with_watchdog(body());
    CHECK(timed_out);
    CHECK(timers_after == 0);
    CHECK(clock.elapsed() >= 20ms);
    CHECK(clock.elapsed() < 200ms);
}

TEST_CASE("closing a loop with a task mid-sleep destroys the frame and disarms its timer", "[sleep]") {
    counted::reset();
    {
        corio::event_loop loop;
        (void)loop.create_task(sleep_forever(counted{1}));
        loop.call_later(20ms, [&loop] { loop.stop(); });
        loop.run_forever();
        CHECK(loop.pending_timers() == 1);  // the hour-long sleep
        CHECK(loop.pending_tasks() == 1);
        CHECK(counted::alive() == 1);
        loop.close();
        CHECK(loop.pending_timers() == 0);
        CHECK(loop.pending_tasks() == 0);
        CHECK(counted::alive() == 0);
    }
    CHECK(counted::alive() == 0);
}

TEST_CASE("sleep_until resumes once the loop's clock reaches the deadline", "[sleep]") {
    corio::event_loop::time_point deadline{};
    corio::event_loop::time_point woke{};
    auto body = [&]() -> task<void> {
        corio::event_loop& loop = corio::get_running_loop();
        deadline = loop.time() + 50ms;
        co_await corio::sleep_until(deadline);
        woke = loop.time();
    };
    run_with_watchdog(body());
    CHECK(woke >= deadline);
    CHECK(woke - deadline < 500ms);
}

TEST_CASE("sleep_until a past deadline only yields", "[sleep]") {
    std::string log;
    auto past = [&log]() -> task<void> {
        log.push_back('P');
        co_await corio::sleep_until(corio::event_loop::clock::now() - 1s);
        log.push_back('P');
    };
    auto other = [&log]() -> task<void> {
        log.push_back('O');
        co_await corio::sleep(0ms);
        log.push_back('O');
    };
    auto body = [&]() -> task<void> { co_await corio::gather(past(), other()); };
    stopwatch clock;
    run_with_watchdog(body());
    CHECK(log == "POPO");
    CHECK(clock.elapsed() < 500ms);
}

TEST_CASE("A 'forever' sleep such as hours::max() does not overflow and can be cancelled", "[sleep]") {
    const auto result = corio::run([]() -> corio::task<int> {
        corio::task_handle<void> forever = corio::create_task([]() -> corio::task<void> {
            co_await corio::sleep(std::chrono::hours::max());
        }());
        co_await corio::sleep(1ms);
        CHECK_FALSE(forever.done());
        forever.cancel();
        const bool cancelled = co_await corio_test::ended_cancelled(forever);
        co_return cancelled ? 1 : 0;
    }());
    CHECK(result == 1);
}
