// Tests of corio/wait_any.hpp: wait_any over awaitables and over a vector.

#include "catch.hpp"
#include "test_support.hpp"

#include <corio/cancel.hpp>
#include <corio/event_loop.hpp>
#include <corio/run.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/task.hpp>
#include <corio/wait_any.hpp>

#include <chrono>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace {

using namespace std::chrono_literals;
using corio_test::run_with_watchdog;
using corio_test::stopwatch;
using log_t = std::vector<std::string>;
using ms = std::chrono::milliseconds;

corio::task<int> value_after(ms delay, int value, log_t* log, std::string name) {
    try {
        co_await corio::sleep(delay);
    } catch (const corio::cancelled_error&) {
        log->push_back(name + " cancelled");
        throw;
    }
    log->push_back(name + " done");
    co_return value;
}

corio::task<std::string> text_after(ms delay, std::string text) {
    co_await corio::sleep(delay);
    co_return text;
}

corio::task<void> void_after(ms delay, log_t* log, std::string name) {
    co_await value_after(delay, 0, log, std::move(name));
}

corio::task<std::string> throw_after(ms delay, log_t* log) {
    co_await corio::sleep(delay);
    log->push_back("thrower throws");
    throw std::runtime_error("boom");
}

corio::task<int> slow_to_cancel(log_t* log) {
    try {
        co_await corio::sleep(5s);
    } catch (const corio::cancelled_error&) {
        log->push_back("slow cleanup starts");
    }
    co_await corio::sleep(30ms);  // cleanup that takes time: wait_any must wait for it
    log->push_back("slow cleanup ends");
    co_return -1;  // swallowed the cancellation: its value is discarded
}

}  // namespace

TEST_CASE("wait_any returns the first to finish, its index and value, after cancelling and awaiting the losers",
          "[wait_any]") {
    log_t log;
    auto main_task = [](log_t* log) -> corio::task<corio::first_completed<int, void, std::string>> {
        auto result = co_await corio::wait_any(value_after(200ms, 1, log, "slow"), void_after(10ms, log, "fast"),
                                               throw_after(300ms, log));
        log->push_back("wait_any returned");
        co_return result;
    };
    const auto result = run_with_watchdog(main_task(&log));
    CHECK(result.index == 1);
    CHECK(result.value.index() == 1);
    CHECK(std::holds_alternative<std::monostate>(result.value));
    CHECK(log == log_t{"fast done", "slow cancelled", "wait_any returned"});
}

TEST_CASE("wait_any waits for a loser's slow cleanup before returning", "[wait_any]") {
    log_t log;
    auto main_task = [](log_t* log) -> corio::task<int> {
        auto result = co_await corio::wait_any(slow_to_cancel(log), value_after(5ms, 42, log, "winner"));
        log->push_back("wait_any returned");
        co_return std::get<1>(result.value);
    };
    CHECK(run_with_watchdog(main_task(&log)) == 42);
    CHECK(log == log_t{"winner done", "slow cleanup starts", "slow cleanup ends", "wait_any returned"});
}

TEST_CASE("wait_any rethrows the first finisher's exception after the losers are done", "[wait_any]") {
    log_t log;
    auto main_task = [](log_t* log) -> corio::task<std::string> {
        try {
            co_await corio::wait_any(value_after(1s, 1, log, "slow"), throw_after(5ms, log));
        } catch (const std::runtime_error& e) {
            log->push_back("caught");
            co_return e.what();
        }
        co_return "no exception";
    };
    CHECK(run_with_watchdog(main_task(&log)) == "boom");
    CHECK(log == log_t{"thrower throws", "slow cancelled", "caught"});
}

TEST_CASE("A child finishing during the start wins and later children never start", "[wait_any]") {
    log_t log;
    auto immediate = []() -> corio::task<int> { co_return 7; };
    auto main_task = [](log_t* log, decltype(immediate) imm) -> corio::task<std::size_t> {
        auto result = co_await corio::wait_any(imm(), value_after(10ms, 1, log, "never"));
        CHECK(std::get<0>(result.value) == 7);
        co_return result.index;
    };
    CHECK(run_with_watchdog(main_task(&log, immediate)) == 0);
    CHECK(log.empty());
}

TEST_CASE("Cancelling the awaiter of wait_any cancels every child, waits, and throws cancelled_error",
          "[wait_any][cancel]") {
    log_t log;
    auto waiter = [](log_t* log) -> corio::task<void> {
        try {
            co_await corio::wait_any(value_after(1s, 1, log, "a"), value_after(2s, 2, log, "b"));
        } catch (const corio::cancelled_error&) {
            log->push_back("waiter cancelled");
            throw;
        }
    };
    stopwatch clock;
    CHECK(run_with_watchdog(corio_test::spawn_and_cancel(waiter(&log), 10ms)));
    CHECK(clock.elapsed() < 900ms);
    CHECK(log == log_t{"a cancelled", "b cancelled", "waiter cancelled"});
}

// asyncio: asyncio.wait() leaves the winner's t.result() intact; wait_any's
// own copy of a handle passed as an lvalue must not move the result out.
TEST_CASE("wait_any leaves a task handle's result in the handle", "[wait_any]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            const std::string long_text(100, 'y');  // beyond any small-string buffer: a move empties it
            corio::task_handle<std::string> winner = corio::create_task(text_after(1ms, long_text));
            corio::task_handle<std::string> loser = corio::create_task(text_after(5s, "late"));
            auto first = co_await corio::wait_any(winner, loser);
            REQUIRE(first.index == 0);
            CHECK(std::get<0>(first.value) == long_text);
            CHECK(loser.cancelled());
            const std::string again = co_await winner;
            CHECK(again == long_text);
            CHECK(winner.result() == long_text);
        }(),
        5s);
}

TEST_CASE("wait_any over a vector returns the index and value of the first task", "[wait_any]") {
    log_t log;
    auto main_task = [](log_t* log) -> corio::task<corio::indexed_result<int>> {
        std::vector<corio::task<int>> tasks;
        tasks.push_back(value_after(300ms, 10, log, "t0"));
        tasks.push_back(value_after(200ms, 11, log, "t1"));
        tasks.push_back(value_after(5ms, 12, log, "t2"));
        co_return co_await corio::wait_any(std::move(tasks));
    };
    const auto result = run_with_watchdog(main_task(&log));
    CHECK(result.index == 2);
    CHECK(result.value == 12);
    CHECK(log == log_t{"t2 done", "t0 cancelled", "t1 cancelled"});
}

TEST_CASE("wait_any over an empty vector is invalid_argument, it composes with wait_for", "[wait_any]") {
    CHECK_THROWS_AS(corio::wait_any(std::vector<corio::task<int>>{}), std::invalid_argument);
    log_t log;
    auto main_task = [](log_t* log) -> corio::task<bool> {
        try {
            co_await corio::wait_for(
                corio::wait_any(value_after(1s, 1, log, "a"), value_after(1s, 2, log, "b")), 10ms);
        } catch (const corio::timeout_error&) {
            co_return true;
        }
        co_return false;
    };
    CHECK(run_with_watchdog(main_task(&log)));
    CHECK(log == log_t{"a cancelled", "b cancelled"});
}
