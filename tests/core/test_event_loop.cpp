// Tests of corio/event_loop.hpp and corio/run.hpp: callback order, timers,
// cancelling callbacks, cross-thread scheduling, run/run_until_complete,
// the running-loop rules, the exception handler and closing.
//
// Coroutines under test live in an anonymous namespace or in lambdas local to
// a test: clang 14 with -fsanitize=function cannot assemble coroutines with
// external inline linkage.

#include "catch.hpp"
#include "test_support.hpp"

#include <corio/cancel.hpp>
#include <corio/errors.hpp>
#include <corio/event_loop.hpp>
#include <corio/run.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using corio::event_loop;
using corio::task;
using corio_test::counted;
using corio_test::stopwatch;

namespace {

// Stops `loop` after `limit` if a test's own stop never comes, so a broken
// loop fails the test instead of hanging it.
corio::callback_handle arm_watchdog(event_loop& loop, bool& fired,
                                    event_loop::duration limit = std::chrono::seconds(5)) {
    return loop.call_later(limit, [&loop, &fired] {
        fired = true;
        loop.stop();
    });
}

task<int> forty_two() { co_return 42; }

task<int> fail_with(std::string message) {
    throw std::runtime_error(message);
    co_return 0;
}

task<event_loop*> running_loop_address() { co_return &corio::get_running_loop(); }

task<void> sleep_then_count(int& counter) {
    co_await corio::sleep(1ms);
    ++counter;
}

// Captures what stderr receives while it is alive (fd 2 redirected to a file).
class stderr_capture {
public:
    stderr_capture() : m_file(std::tmpfile()) {
        REQUIRE(m_file != nullptr);
        std::fflush(stderr);
        m_saved = ::dup(2);
        REQUIRE(m_saved >= 0);
        REQUIRE(::dup2(::fileno(m_file), 2) >= 0);
    }
    stderr_capture(const stderr_capture&) = delete;
    stderr_capture& operator=(const stderr_capture&) = delete;
    ~stderr_capture() {
        restore();
        std::fclose(m_file);
    }

    /// Restores stderr and returns what was written meanwhile.
    std::string finish() {
        restore();
        std::string text;
        std::rewind(m_file);
        char buffer[512];
        std::size_t n = 0;
        while ((n = std::fread(buffer, 1, sizeof buffer, m_file)) > 0) {
            text.append(buffer, n);
        }
        return text;
    }

private:
    void restore() {
        if (m_saved >= 0) {
            std::fflush(stderr);
            ::dup2(m_saved, 2);
            ::close(m_saved);
            m_saved = -1;
        }
    }

    std::FILE* m_file;
    int m_saved = -1;
};

}  // namespace

TEST_CASE("call_soon runs callbacks in FIFO order", "[event_loop]") {
    event_loop loop;
    std::vector<int> order;
    for (int i = 0; i < 10; ++i) {
        loop.call_soon([&order, i] { order.push_back(i); });
    }
    loop.call_soon([&loop] { loop.stop(); });
    loop.run_forever();
    CHECK(order == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
}

TEST_CASE("a callback scheduled from a callback runs on the next iteration after those already queued",
          "[event_loop]") {
    event_loop loop;
    std::vector<std::string> order;
    loop.call_soon([&] {
        order.emplace_back("a");
        loop.call_soon([&] { order.emplace_back("a2"); });
    });
    loop.call_soon([&] { order.emplace_back("b"); });
    // stop() ends run_forever after the current iteration: a2 is not part of it.
    loop.call_soon([&] {
        order.emplace_back("c");
        loop.stop();
    });
    loop.run_forever();
    CHECK(order == std::vector<std::string>{"a", "b", "c"});

    loop.call_soon([&] { loop.stop(); });
    loop.run_forever();
    CHECK(order == std::vector<std::string>{"a", "b", "c", "a2"});
}

TEST_CASE("a million call_soon callbacks all run", "[event_loop]") {
    event_loop loop;
    constexpr int count = 1'000'000;
    int ran = 0;
    for (int i = 0; i < count; ++i) {
        loop.call_soon([&ran] { ++ran; });
    }
    loop.call_soon([&loop] { loop.stop(); });
    loop.run_forever();
    CHECK(ran == count);
}

TEST_CASE("call_later callbacks fire in deadline order", "[event_loop]") {
    event_loop loop;
    std::vector<int> order;
    stopwatch clock;
    loop.call_later(30ms, [&] { order.push_back(30); });
    loop.call_later(10ms, [&] { order.push_back(10); });
    loop.call_later(20ms, [&] { order.push_back(20); });
    loop.call_later(0ms, [&] { order.push_back(0); });
    loop.call_later(40ms, [&] { loop.stop(); });
    CHECK(loop.pending_timers() == 5);
    loop.run_forever();
    CHECK(clock.elapsed() >= 40ms);
    CHECK(clock.elapsed() < 1s);
    CHECK(order == std::vector<int>{0, 10, 20, 30});
    CHECK(loop.pending_timers() == 0);
}

TEST_CASE("call_at callbacks with equal deadlines fire in the order they were set", "[event_loop]") {
    event_loop loop;
    std::vector<int> order;
    const event_loop::time_point when = loop.time() + 20ms;
    loop.call_at(when + 5ms, [&] { order.push_back(100); });
    for (int i = 0; i < 20; ++i) {
        loop.call_at(when, [&order, i] { order.push_back(i); });
    }
    loop.call_at(when - 5ms, [&] { order.push_back(-1); });
    loop.call_at(when + 10ms, [&] { loop.stop(); });
    loop.run_forever();
    std::vector<int> expected{-1};
    for (int i = 0; i < 20; ++i) {
        expected.push_back(i);
    }
    expected.push_back(100);
    CHECK(order == expected);
    CHECK(loop.time() >= when + 10ms);
}

TEST_CASE("a cancelled callback handle stops call_soon and call_later callbacks from running",
          "[event_loop]") {
    event_loop loop;
    bool soon_ran = false;
    bool later_ran = false;
    bool kept_ran = false;
    corio::callback_handle soon = loop.call_soon([&] { soon_ran = true; });
    corio::callback_handle later = loop.call_later(10ms, [&] { later_ran = true; });
    corio::callback_handle kept = loop.call_later(5ms, [&] { kept_ran = true; });
    CHECK(loop.pending_timers() == 2);
    CHECK_FALSE(soon.cancelled());

    soon.cancel();
    later.cancel();
    CHECK(soon.cancelled());
    CHECK(later.cancelled());
    CHECK_FALSE(kept.cancelled());
    CHECK(loop.pending_timers() == 1);  // the cancelled timer left the heap at once

    later.cancel();  // cancelling twice is harmless
    CHECK(loop.pending_timers() == 1);

    loop.call_later(30ms, [&] { loop.stop(); });
    loop.run_forever();
    CHECK_FALSE(soon_ran);
    CHECK_FALSE(later_ran);
    CHECK(kept_ran);
    CHECK(loop.pending_timers() == 0);

    kept.cancel();  // after it ran: nothing to stop, nothing breaks
    CHECK(loop.pending_timers() == 0);
}

TEST_CASE("a copied, moved or assigned callback handle takes its timer out of the heap when cancelled",
          "[event_loop]") {
    event_loop loop;
    bool ran = false;
    corio::callback_handle original = loop.call_later(10s, [&] { ran = true; });
    corio::callback_handle copy = original;
    corio::callback_handle assigned;
    assigned = loop.call_later(10s, [&] { ran = true; });
    corio::callback_handle moved = std::move(assigned);
    CHECK(loop.pending_timers() == 2);

    copy.cancel();
    CHECK(original.cancelled());
    CHECK(loop.pending_timers() == 1);
    moved.cancel();
    CHECK(loop.pending_timers() == 0);

    loop.call_soon([&] { loop.stop(); });
    loop.run_forever();
    CHECK_FALSE(ran);
}

TEST_CASE("dropping a callback handle does not cancel the callback", "[event_loop]") {
    event_loop loop;
    int ran = 0;
    { (void)loop.call_soon([&] { ++ran; }); }
    { (void)loop.call_later(1ms, [&] { ++ran; }); }
    loop.call_later(20ms, [&] { loop.stop(); });
    loop.run_forever();
    CHECK(ran == 2);
}

TEST_CASE("call_soon_threadsafe from several threads wakes a blocked loop and keeps each thread's order",
          "[event_loop][threads]") {
    constexpr int thread_count = 4;
    constexpr int per_thread = 1000;
    event_loop loop;
    std::vector<std::vector<int>> received(thread_count);
    int total = 0;
    bool watchdog_fired = false;
    corio::callback_handle watchdog = arm_watchdog(loop, watchdog_fired);

    std::vector<std::thread> threads;
    for (int t = 0; t < thread_count; ++t) {
        threads.emplace_back([&, t] {
            // Give the loop time to block in its poll: the posts must wake it.
            std::this_thread::sleep_for(50ms);
            for (int i = 0; i < per_thread; ++i) {
                loop.call_soon_threadsafe([&, t, i] {
                    received[static_cast<std::size_t>(t)].push_back(i);
                    if (++total == thread_count * per_thread) {
                        loop.stop();  // stop() from a callback
                    }
                });
            }
        });
    }
    stopwatch clock;
    loop.run_forever();
    const auto elapsed = clock.elapsed();
    for (std::thread& thread : threads) {
        thread.join();
    }
    watchdog.cancel();

    CHECK_FALSE(watchdog_fired);
    CHECK(elapsed < 2s);
    CHECK(total == thread_count * per_thread);
    for (int t = 0; t < thread_count; ++t) {
        const std::vector<int>& seen = received[static_cast<std::size_t>(t)];
        REQUIRE(seen.size() == static_cast<std::size_t>(per_thread));
        bool in_order = true;
        for (int i = 0; i < per_thread; ++i) {
            in_order = in_order && seen[static_cast<std::size_t>(i)] == i;
        }
        CHECK(in_order);
    }
}

TEST_CASE("a single call_soon_threadsafe wakes a loop blocked in its poll", "[event_loop][threads]") {
    event_loop loop;
    bool ran = false;
    bool watchdog_fired = false;
    corio::callback_handle watchdog = arm_watchdog(loop, watchdog_fired);
    std::thread poster([&] {
        std::this_thread::sleep_for(50ms);
        loop.call_soon_threadsafe([&] {
            ran = true;
            loop.stop();
        });
    });
    stopwatch clock;
    loop.run_forever();  // nothing scheduled: blocks in the reactor until woken
    poster.join();
    watchdog.cancel();
    CHECK_FALSE(watchdog_fired);
    CHECK(ran);
    CHECK(clock.elapsed() >= 40ms);
    CHECK(clock.elapsed() < 2s);
}

TEST_CASE("run_forever returns after stop and can be run again", "[event_loop]") {
    event_loop loop;
    int iterations = 0;
    CHECK_FALSE(loop.is_running());
    bool running_inside = false;
    loop.call_soon([&] {
        running_inside = loop.is_running();
        ++iterations;
        loop.stop();
    });
    loop.run_forever();
    CHECK(running_inside);
    CHECK_FALSE(loop.is_running());
    CHECK(iterations == 1);

    loop.call_later(10ms, [&] {
        ++iterations;
        loop.stop();
    });
    loop.run_forever();
    CHECK(iterations == 2);
}

TEST_CASE("run_until_complete returns the task's value or rethrows its exception", "[event_loop]") {
    event_loop loop;
    CHECK(loop.run_until_complete(forty_two()) == 42);
    CHECK_THROWS_WITH(loop.run_until_complete(fail_with("from the task")), "from the task");
    // The loop is still usable afterwards.
    int counter = 0;
    loop.run_until_complete(sleep_then_count(counter));
    CHECK(counter == 1);
}

TEST_CASE("run_until_complete throws event_loop_error when the loop is stopped first", "[event_loop]") {
    counted::reset();
    {
        event_loop loop;
        auto stops_loop = [&loop](counted) -> task<void> {
            loop.stop();
            co_await corio::sleep(10s);
        };
        stopwatch clock;
        CHECK_THROWS_AS(loop.run_until_complete(stops_loop(counted{1})), corio::event_loop_error);
        CHECK(clock.elapsed() < 1s);
        CHECK(loop.pending_tasks() == 1);
        CHECK(counted::alive() == 1);  // the unfinished task's frame still holds its parameter
    }
    CHECK(counted::alive() == 0);  // destroying the loop destroyed the frame
}

TEST_CASE("get_running_loop is the running loop inside a task and throws outside", "[event_loop]") {
    CHECK_THROWS_AS(corio::get_running_loop(), corio::event_loop_error);
    event_loop loop;
    CHECK(loop.run_until_complete(running_loop_address()) == &loop);
    CHECK_THROWS_AS(corio::get_running_loop(), corio::event_loop_error);
    event_loop* inside_run = corio::run(running_loop_address());
    CHECK(inside_run != nullptr);
    CHECK(inside_run != &loop);
    CHECK_THROWS_AS(corio::get_running_loop(), corio::event_loop_error);
}

TEST_CASE("running a loop inside a running loop throws event_loop_error", "[event_loop]") {
    bool nested_run_threw = false;
    bool nested_run_until_complete_threw = false;
    bool same_loop_threw = false;
    auto body = [&]() -> task<void> {
        try {
            corio::run(forty_two());
        } catch (const corio::event_loop_error&) {
            nested_run_threw = true;
        }
        event_loop other;
        try {
            other.run_until_complete(forty_two());
        } catch (const corio::event_loop_error&) {
            nested_run_until_complete_threw = true;
        }
        try {
            corio::get_running_loop().run_forever();
        } catch (const corio::event_loop_error&) {
            same_loop_threw = true;
        }
        co_return;
    };
    corio::run(body());
    CHECK(nested_run_threw);
    CHECK(nested_run_until_complete_threw);
    CHECK(same_loop_threw);
}

TEST_CASE("an exception escaping a callback goes to the exception handler and the loop keeps running",
          "[event_loop]") {
    event_loop loop;
    std::vector<std::string> messages;
    std::vector<std::string> whats;
    event_loop* handler_loop = nullptr;
    loop.set_exception_handler([&](event_loop& l, const corio::exception_context& context) {
        handler_loop = &l;
        messages.push_back(context.message);
        try {
            std::rethrow_exception(context.exception);
        } catch (const std::exception& error) {
            whats.emplace_back(error.what());
        }
    });
    std::vector<int> order;
    loop.call_soon([&] {
        order.push_back(1);
        throw std::runtime_error("callback failed");
    });
    loop.call_soon([&] { order.push_back(2); });
    loop.call_later(1ms, [&] {
        order.push_back(3);
        throw std::logic_error("timer callback failed");
    });
    loop.call_later(20ms, [&] {
        order.push_back(4);
        loop.stop();
    });
    loop.run_forever();

    CHECK(order == std::vector<int>{1, 2, 3, 4});
    CHECK(handler_loop == &loop);
    CHECK(messages == std::vector<std::string>{"exception in callback", "exception in callback"});
    CHECK(whats == std::vector<std::string>{"callback failed", "timer callback failed"});
}

TEST_CASE("the default exception handler prints the error to stderr", "[event_loop]") {
    event_loop loop;
    bool after = false;
    loop.call_soon([] { throw std::runtime_error("printed by default"); });
    loop.call_soon([&] {
        after = true;
        loop.stop();
    });
    stderr_capture capture;
    loop.run_forever();
    const std::string text = capture.finish();
    CHECK(after);
    CHECK(text.find("exception in callback") != std::string::npos);
    CHECK(text.find("printed by default") != std::string::npos);
}

TEST_CASE("an empty exception handler restores the default one", "[event_loop]") {
    event_loop loop;
    int custom_calls = 0;
    loop.set_exception_handler([&](event_loop&, const corio::exception_context&) { ++custom_calls; });
    loop.set_exception_handler(nullptr);
    loop.call_soon([] { throw std::runtime_error("back to stderr"); });
    loop.call_soon([&] { loop.stop(); });
    stderr_capture capture;
    loop.run_forever();
    const std::string text = capture.finish();
    CHECK(custom_calls == 0);
    CHECK(text.find("back to stderr") != std::string::npos);
}

TEST_CASE("an exception thrown by the exception handler is reported on stderr and not propagated",
          "[event_loop]") {
    event_loop loop;
    loop.set_exception_handler([](event_loop&, const corio::exception_context&) {
        throw std::runtime_error("handler itself failed");
    });
    bool after = false;
    loop.call_soon([] { throw std::runtime_error("original error"); });
    loop.call_soon([&] {
        after = true;
        loop.stop();
    });
    stderr_capture capture;
    loop.run_forever();
    const std::string text = capture.finish();
    CHECK(after);
    CHECK(text.find("handler itself failed") != std::string::npos);
    CHECK(text.find("original error") != std::string::npos);
}

TEST_CASE("close on a running loop throws event_loop_error", "[event_loop]") {
    event_loop loop;
    bool threw = false;
    loop.call_soon([&] {
        try {
            loop.close();
        } catch (const corio::event_loop_error&) {
            threw = true;
        }
        loop.stop();
    });
    loop.run_forever();
    CHECK(threw);
    CHECK_FALSE(loop.is_closed());
    loop.close();
    CHECK(loop.is_closed());
}

TEST_CASE("scheduling on a closed loop throws event_loop_error", "[event_loop]") {
    event_loop loop;
    loop.close();
    CHECK(loop.is_closed());
    CHECK_THROWS_AS(loop.call_soon([] {}), corio::event_loop_error);
    CHECK_THROWS_AS(loop.call_later(1ms, [] {}), corio::event_loop_error);
    CHECK_THROWS_AS(loop.call_at(loop.time(), [] {}), corio::event_loop_error);
    CHECK_THROWS_AS(loop.call_soon_threadsafe([] {}), corio::event_loop_error);
    CHECK_THROWS_AS(loop.run_forever(), corio::event_loop_error);
    CHECK_THROWS_AS(loop.run_until_complete(forty_two()), corio::event_loop_error);
    CHECK_NOTHROW(loop.close());  // closing twice is a no-op
}

TEST_CASE("closing a loop destroys queued callbacks without running them", "[event_loop]") {
    counted::reset();
    bool ran = false;
    {
        event_loop loop;
        loop.call_soon([&ran, c = counted{1}] { ran = true; });
        loop.call_later(1h, [&ran, c = counted{2}] { ran = true; });
        loop.call_soon_threadsafe([&ran, c = counted{3}] { ran = true; });
        corio::callback_handle kept = loop.call_soon([&ran, c = counted{4}] { ran = true; });
        CHECK(counted::alive() == 4);
        loop.close();
        CHECK(counted::alive() == 1);  // only the callback a handle still refers to
        CHECK(loop.pending_timers() == 0);
    }
    CHECK_FALSE(ran);
    CHECK(counted::alive() == 0);
}

TEST_CASE("the loop's time is the steady clock and never goes backwards", "[event_loop]") {
    event_loop loop;
    const auto before = std::chrono::steady_clock::now();
    event_loop::time_point previous = loop.time();
    bool monotonic = true;
    for (int i = 0; i < 100'000; ++i) {
        const event_loop::time_point now = loop.time();
        monotonic = monotonic && now >= previous;
        previous = now;
    }
    const auto after = std::chrono::steady_clock::now();
    CHECK(monotonic);
    CHECK(previous >= before);
    CHECK(previous <= after);
}

TEST_CASE("corio::run cancels and awaits a spawned task still running at the end", "[event_loop][run]") {
    bool saw_cancel = false;
    bool cleanup_finished = false;
    bool body_finished = false;
    auto background = [&]() -> task<void> {
        try {
            co_await corio::sleep(10s);
            body_finished = true;
        } catch (const corio::cancelled_error&) {
            saw_cancel = true;
        }
        // Cleanup may still await; run waits for it.
        co_await corio::sleep(5ms);
        cleanup_finished = true;
    };
    auto main_task = [&]() -> task<int> {
        (void)corio::create_task(background());
        co_await corio::sleep(0ms);  // let it start and begin sleeping
        co_return 7;
    };
    stopwatch clock;
    CHECK(corio::run(main_task()) == 7);
    CHECK(clock.elapsed() < 1s);
    CHECK(saw_cancel);
    CHECK(cleanup_finished);
    CHECK_FALSE(body_finished);
}

TEST_CASE("corio::run cancels leftover tasks also when the main task throws", "[event_loop][run]") {
    bool saw_cancel = false;
    auto background = [&]() -> task<void> {
        try {
            co_await corio::sleep(10s);
        } catch (const corio::cancelled_error&) {
            saw_cancel = true;
            throw;
        }
    };
    auto main_task = [&]() -> task<void> {
        (void)corio::create_task(background());
        co_await corio::sleep(1ms);
        throw std::runtime_error("main failed");
    };
    stopwatch clock;
    CHECK_THROWS_WITH(corio::run(main_task()), "main failed");
    CHECK(clock.elapsed() < 1s);
    CHECK(saw_cancel);
}
