// Tests of corio/wait.hpp: corio::wait (asyncio.wait) over task handles.

#include "catch.hpp"
#include "test_support.hpp"

#include <corio/cancel.hpp>
#include <corio/combinators.hpp>
#include <corio/errors.hpp>
#include <corio/event_loop.hpp>
#include <corio/run.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/task.hpp>
#include <corio/wait.hpp>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using corio_test::run_with_watchdog;
using corio_test::stopwatch;

constexpr auto watchdog = 10s;

corio::task<int> value_after(std::chrono::milliseconds delay, int value) {
    co_await corio::sleep(delay);
    co_return value;
}

corio::task<int> fail_after(std::chrono::milliseconds delay) {
    co_await corio::sleep(delay);
    throw std::runtime_error("boom");
}

std::vector<int> values_of(std::vector<corio::task_handle<int>>& handles) {
    std::vector<int> values;
    for (auto& h : handles) {
        values.push_back(h.result());
    }
    return values;
}

}  // namespace

TEST_CASE("wait of no tasks throws std::invalid_argument, as asyncio raises ValueError", "[wait]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            std::vector<corio::task_handle<int>> none;
            CHECK_THROWS_AS(corio::wait(none), std::invalid_argument);
            std::vector<corio::task_handle<int>> with_empty(1);
            CHECK_THROWS_AS(corio::wait(with_empty), std::invalid_argument);
            co_return;
        }(),
        watchdog);
}

TEST_CASE("wait all_completed returns every task done, in order, results still there", "[wait]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            std::vector<corio::task_handle<int>> tasks{corio::create_task(value_after(30ms, 1)),
                                                       corio::create_task(value_after(10ms, 2)),
                                                       corio::create_task(value_after(20ms, 3))};
            auto [done, pending] = co_await corio::wait(tasks);
            CHECK(pending.empty());
            REQUIRE(done.size() == 3);
            CHECK(values_of(done) == std::vector<int>{1, 2, 3});
            const int again = co_await tasks[0];  // not consumed
            CHECK(again == 1);
            CHECK(corio::get_running_loop().pending_timers() == 1);  // the watchdog's only
        }(),
        watchdog);
}

TEST_CASE("wait first_completed returns at the first, leaves the rest running uncancelled",
          "[wait]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            std::vector<corio::task_handle<int>> tasks{corio::create_task(value_after(200ms, 1)),
                                                       corio::create_task(value_after(10ms, 2))};
            stopwatch watch;
            auto [done, pending] = co_await corio::wait(tasks, corio::return_when::first_completed);
            CHECK(watch.elapsed() < 150ms);
            REQUIRE(done.size() == 1);
            REQUIRE(pending.size() == 1);
            CHECK(done[0].result() == 2);
            CHECK_FALSE(pending[0].done());
            const int late = co_await pending[0];
            CHECK(late == 1);
            CHECK_FALSE(pending[0].cancelled());
        }(),
        watchdog);
}

TEST_CASE("wait first_exception returns at the first failure, a cancellation is not one",
          "[wait]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            auto cancelled = corio::create_task(value_after(10s, 0));
            std::vector<corio::task_handle<int>> tasks{corio::create_task(value_after(300ms, 1)),
                                                       cancelled,
                                                       corio::create_task(fail_after(30ms))};
            co_await corio::sleep(0ms);
            cancelled.cancel();
            auto [done, pending] = co_await corio::wait(tasks, corio::return_when::first_exception);
            REQUIRE(done.size() == 2);  // the cancelled one and the failed one
            CHECK(done[0].cancelled());
            CHECK_THROWS_AS(done[1].result(), std::runtime_error);
            REQUIRE(pending.size() == 1);
            const auto late_value = co_await pending[0];
            CHECK(late_value == 1);

            // Without a failure, first_exception waits for all.
            std::vector<corio::task_handle<int>> fine{corio::create_task(value_after(5ms, 1)),
                                                      corio::create_task(value_after(20ms, 2))};
            auto all = co_await corio::wait(fine, corio::return_when::first_exception);
            CHECK(all.done.size() == 2);
            CHECK(all.pending.empty());
        }(),
        watchdog);
}

TEST_CASE("wait with a timeout returns what is done then, without timeout_error or cancelling",
          "[wait]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            std::vector<corio::task_handle<int>> tasks{corio::create_task(value_after(5ms, 1)),
                                                       corio::create_task(value_after(300ms, 2))};
            stopwatch watch;
            auto [done, pending] =
                co_await corio::wait(tasks, corio::return_when::all_completed, 50ms);
            CHECK(watch.elapsed() >= 50ms);
            CHECK(watch.elapsed() < 250ms);
            REQUIRE(done.size() == 1);
            REQUIRE(pending.size() == 1);
            CHECK_FALSE(pending[0].cancelled());
            const auto late_value = co_await pending[0];
            CHECK(late_value == 2);
        }(),
        watchdog);
}

TEST_CASE("wait whose condition already holds returns without suspending", "[wait]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            auto first = corio::create_task(value_after(0ms, 1));
            (void)co_await first;
            std::vector<corio::task_handle<int>> tasks{first,
                                                       corio::create_task(value_after(10s, 2))};
            auto [done, pending] = co_await corio::wait(tasks, corio::return_when::first_completed);
            CHECK(done.size() == 1);
            CHECK(pending.size() == 1);
            pending[0].cancel();
        }(),
        watchdog);
}

TEST_CASE("cancelling a wait removes its watches and leaves the tasks running", "[wait]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            std::vector<corio::task_handle<int>> tasks{corio::create_task(value_after(40ms, 1)),
                                                       corio::create_task(value_after(60ms, 2))};
            auto waiter = [](std::vector<corio::task_handle<int>> watched) -> corio::task<void> {
                (void)co_await corio::wait(std::move(watched), corio::return_when::all_completed,
                                           10s);
            };
            auto handle = corio::create_task(waiter(tasks));
            co_await corio::sleep(10ms);
            const bool ended_cancelled = co_await corio_test::cancel_and_wait(handle);
            CHECK(ended_cancelled);
            CHECK(corio::get_running_loop().pending_timers() ==
                  3);  // watchdog + the two sleeps: wait's is gone
            // The tasks finish later into no dead watch (ASan would see one).
            const auto first_value = co_await tasks[0];
            CHECK(first_value == 1);
            const auto second_value = co_await tasks[1];
            CHECK(second_value == 2);
            CHECK_FALSE(tasks[0].cancelled());
        }(),
        watchdog);
}

TEST_CASE("wait consumes no result: a move-only value can still be moved out", "[wait]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            auto make = []() -> corio::task<std::unique_ptr<int>> {
                co_await corio::sleep(1ms);
                co_return std::make_unique<int>(42);
            };
            std::vector<corio::task_handle<std::unique_ptr<int>>> tasks{corio::create_task(make())};
            auto result = co_await corio::wait(tasks);
            REQUIRE(result.done.size() == 1);
            std::unique_ptr<int> value = co_await std::move(tasks[0]);
            REQUIRE(value != nullptr);
            CHECK(*value == 42);
        }(),
        watchdog);
}

TEST_CASE("a task waiting for its own handle throws invalid_state_error", "[wait]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            corio::task_handle<int> self;
            auto body = [](corio::task_handle<int>* me) -> corio::task<int> {
                co_await corio::sleep(0ms);  // `me` is set once the task runs
                std::vector<corio::task_handle<int>> tasks{*me};
                (void)co_await corio::wait(std::move(tasks));
                co_return 0;
            };
            self = corio::create_task(body(&self));
            bool invalid = false;
            try {
                (void)co_await corio::wait_for(self, 2s);
            } catch (const corio::invalid_state_error&) {
                invalid = true;
            }
            CHECK(invalid);
        }(),
        watchdog);
}
