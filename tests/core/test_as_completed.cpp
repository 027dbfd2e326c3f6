// Tests of corio/as_completed.hpp.

#include "catch.hpp"
#include "test_support.hpp"

#include <corio/as_completed.hpp>
#include <corio/cancel.hpp>
#include <corio/event_loop.hpp>
#include <corio/run.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/task.hpp>

#include <chrono>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace {

using namespace std::chrono_literals;
using corio_test::run_with_watchdog;
using log_t = std::vector<std::string>;
using ms = std::chrono::milliseconds;

corio::task<int> value_after(ms delay, int value, log_t* log) {
    try {
        co_await corio::sleep(delay);
    } catch (const corio::cancelled_error&) {
        log->push_back("cancelled " + std::to_string(value));
        throw;
    }
    co_return value;
}

corio::task<int> throw_after(ms delay) {
    co_await corio::sleep(delay);
    throw std::runtime_error("child failed");
}

}  // namespace

TEST_CASE("as_completed yields results in completion order, not argument order", "[as_completed]") {
    log_t log;
    auto main_task = [](log_t* log) -> corio::task<std::vector<int>> {
        std::vector<corio::task<int>> tasks;
        tasks.push_back(value_after(60ms, 1, log));
        tasks.push_back(value_after(20ms, 2, log));
        tasks.push_back(value_after(40ms, 3, log));
        tasks.push_back(value_after(0ms, 4, log));
        std::vector<int> order;
        auto results = corio::as_completed(std::move(tasks));
        while (auto r = co_await results.next()) {
            order.push_back(*r);
        }
        co_return order;
    };
    CHECK(run_with_watchdog(main_task(&log)) == std::vector<int>{4, 2, 3, 1});
    CHECK(log.empty());
}

TEST_CASE("as_completed of void tasks yields std::monostate, of none yields nothing", "[as_completed]") {
    auto main_task = []() -> corio::task<int> {
        std::vector<corio::task<void>> tasks;
        tasks.push_back([]() -> corio::task<void> { co_await corio::sleep(1ms); }());
        tasks.push_back([]() -> corio::task<void> { co_return; }());
        int count = 0;
        auto results = corio::as_completed(std::move(tasks));
        while (auto r = co_await results.next()) {
            CHECK(std::holds_alternative<std::monostate>(std::variant<std::monostate>(*r)));
            ++count;
        }
        auto none = corio::as_completed(std::vector<corio::task<int>>{});
        if (co_await none.next()) {
            ++count;
        }
        co_return count;
    };
    CHECK(run_with_watchdog(main_task()) == 2);
}

TEST_CASE("A failing child is thrown from the next() that would yield it, after the rest are cancelled",
          "[as_completed]") {
    log_t log;
    auto main_task = [](log_t* log) -> corio::task<std::vector<int>> {
        std::vector<corio::task<int>> tasks;
        tasks.push_back(value_after(5ms, 1, log));
        tasks.push_back(throw_after(30ms));
        tasks.push_back(value_after(2s, 3, log));
        std::vector<int> seen;
        auto results = corio::as_completed(std::move(tasks));
        try {
            while (auto r = co_await results.next()) {
                seen.push_back(*r);
            }
        } catch (const std::runtime_error& e) {
            log->push_back(std::string("caught ") + e.what());
        }
        co_return seen;
    };
    CHECK(run_with_watchdog(main_task(&log)) == std::vector<int>{1});
    CHECK(log == log_t{"cancelled 3", "caught child failed"});
}

TEST_CASE("Stopping early cancels the children still running", "[as_completed]") {
    log_t log;
    auto main_task = [](log_t* log) -> corio::task<std::size_t> {
        {
            std::vector<corio::task<int>> tasks;
            tasks.push_back(value_after(5ms, 1, log));
            tasks.push_back(value_after(2s, 2, log));
            tasks.push_back(value_after(3s, 3, log));
            auto results = corio::as_completed(std::move(tasks));
            auto first = co_await results.next();
            log->push_back("first " + std::to_string(*first));
        }  // the generator is destroyed: the remaining children are cancelled
        co_await corio::sleep(10ms);  // they unwind on the loop
        co_return corio::get_running_loop().pending_tasks();
    };
    CHECK(run_with_watchdog(main_task(&log)) == 1);  // only the root task: the children are gone
    CHECK(log == log_t{"first 1", "cancelled 2", "cancelled 3"});
}

TEST_CASE("Cancelling the consumer cancels and awaits every child, then next() throws cancelled_error",
          "[as_completed][cancel]") {
    log_t log;
    auto consumer = [](log_t* log) -> corio::task<void> {
        std::vector<corio::task<int>> tasks;
        tasks.push_back(value_after(1s, 1, log));
        tasks.push_back(value_after(2s, 2, log));
        auto results = corio::as_completed(std::move(tasks));
        try {
            co_await results.next();
        } catch (const corio::cancelled_error&) {
            log->push_back("consumer cancelled");
            throw;
        }
    };
    CHECK(run_with_watchdog(corio_test::spawn_and_cancel(consumer(&log), 10ms)));
    CHECK(log == log_t{"cancelled 1", "cancelled 2", "consumer cancelled"});
}

TEST_CASE("as_completed with a timeout: results in time are yielded, then next() throws timeout_error "
          "once the rest are cancelled and awaited",
          "[as_completed][timeout]") {
    log_t log;
    auto consumer = [](log_t* log) -> corio::task<std::size_t> {
        std::vector<corio::task<int>> tasks;
        tasks.push_back(value_after(5ms, 1, log));
        tasks.push_back(value_after(10s, 2, log));
        tasks.push_back(value_after(10s, 3, log));
        auto results = corio::as_completed(std::move(tasks), 50ms);
        const corio_test::stopwatch watch;
        try {
            while (auto r = co_await results.next()) {
                log->push_back("got " + std::to_string(*r));
            }
        } catch (const corio::timeout_error&) {
            log->push_back("timed out");
        }
        CHECK(watch.elapsed() >= 40ms);
        CHECK(watch.elapsed() < 5s);
        co_return corio::get_running_loop().pending_tasks();
    };
    CHECK(run_with_watchdog(consumer(&log)) == 1);  // only the root: no child outlives the generator
    CHECK(log == log_t{"got 1", "cancelled 2", "cancelled 3", "timed out"});
}

TEST_CASE("as_completed with a timeout: results already in are yielded even after the deadline",
          "[as_completed][timeout]") {
    log_t log;
    auto consumer = [](log_t* log) -> corio::task<void> {
        std::vector<corio::task<int>> tasks;
        tasks.push_back(value_after(1ms, 1, log));
        tasks.push_back(value_after(2ms, 2, log));
        auto results = corio::as_completed(std::move(tasks), 20ms);
        auto first = co_await results.next();
        log->push_back("got " + std::to_string(*first));
        co_await corio::sleep(40ms);  // the deadline passes; the second result is already in
        auto second = co_await results.next();
        log->push_back("got " + std::to_string(*second));
        auto end = co_await results.next();
        log->push_back(end ? "more" : "end");
    };
    run_with_watchdog(consumer(&log));
    CHECK(log == log_t{"got 1", "got 2", "end"});
}

TEST_CASE("as_completed with a timeout that does not pass behaves as without one", "[as_completed][timeout]") {
    log_t log;
    auto consumer = [](log_t* log) -> corio::task<void> {
        std::vector<corio::task<int>> tasks;
        tasks.push_back(value_after(20ms, 1, log));
        tasks.push_back(value_after(5ms, 2, log));
        auto results = corio::as_completed(std::move(tasks), 10s);
        while (auto r = co_await results.next()) {
            log->push_back("got " + std::to_string(*r));
        }
        CHECK(corio::get_running_loop().pending_timers() == 1);  // the watchdog's: no deadline timer left
    };
    run_with_watchdog(consumer(&log));
    CHECK(log == log_t{"got 2", "got 1"});
}
