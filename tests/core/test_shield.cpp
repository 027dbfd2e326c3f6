// Tests of corio/shield.hpp.

#include "catch.hpp"
#include "test_support.hpp"

#include <corio/cancel.hpp>
#include <corio/combinators.hpp>
#include <corio/event_loop.hpp>
#include <corio/run.hpp>
#include <corio/shield.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/task.hpp>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using corio_test::run_with_watchdog;
using corio_test::stopwatch;
using log_t = std::vector<std::string>;
using ms = std::chrono::milliseconds;

// Owns its data (shared_ptr): a shielded task may outlive its awaiter.
corio::task<int> important_work(ms delay, int value, std::shared_ptr<log_t> log) {
    try {
        co_await corio::sleep(delay);
    } catch (const corio::cancelled_error&) {
        log->push_back("work cancelled");
        throw;
    }
    log->push_back("work done");
    co_return value;
}

corio::task<int> failing_work(ms delay) {
    co_await corio::sleep(delay);
    throw std::runtime_error("work failed");
}

}  // namespace

TEST_CASE("shield returns the inner result when nobody is cancelled", "[shield]") {
    auto log = std::make_shared<log_t>();
    auto main_task = [](std::shared_ptr<log_t> log) -> corio::task<int> {
        const int a = co_await corio::shield(important_work(5ms, 41, log));
        int b = 0;
        try {
            b = co_await corio::shield(failing_work(1ms));
        } catch (const std::runtime_error&) {
            b = 1;
        }
        co_return a + b;
    };
    CHECK(run_with_watchdog(main_task(log)) == 42);
    CHECK(*log == log_t{"work done"});
}

TEST_CASE("Cancelling the awaiter of shield throws at once while the inner task keeps running",
          "[shield][cancel]") {
    auto log = std::make_shared<log_t>();
    auto waiter = [](std::shared_ptr<log_t> log) -> corio::task<void> {
        try {
            co_await corio::shield(important_work(60ms, 1, log));
        } catch (const corio::cancelled_error&) {
            log->push_back("waiter cancelled");
            throw;
        }
    };
    auto main_task = [](std::shared_ptr<log_t> log, decltype(waiter) w) -> corio::task<void> {
        auto handle = corio::create_task(w(log));
        co_await corio::sleep(10ms);
        handle.cancel();
        stopwatch clock;
        try {
            co_await handle;
        } catch (const corio::cancelled_error&) {
            log->push_back("handle cancelled");
        }
        CHECK(clock.elapsed() < 40ms);  // did not wait for the 60 ms work
        co_await corio::sleep(100ms);   // the work still finishes
    };
    run_with_watchdog(main_task(log, waiter));
    CHECK(*log == log_t{"waiter cancelled", "handle cancelled", "work done"});
}

TEST_CASE("A shielded handle keeps its result observable after the awaiter was cancelled", "[shield][cancel]") {
    auto log = std::make_shared<log_t>();
    auto main_task = [](std::shared_ptr<log_t> log) -> corio::task<int> {
        corio::task_handle<int> work = corio::create_task(important_work(40ms, 7, log));
        try {
            co_await corio::wait_for(corio::shield(work), 5ms);
        } catch (const corio::timeout_error&) {
            log->push_back("timed out");
        }
        CHECK_FALSE(work.done());
        const int value = co_await work;  // the result is still there
        co_return value + co_await corio::shield(work);  // and shield of a finished task is ready
    };
    CHECK(run_with_watchdog(main_task(log)) == 14);
    CHECK(*log == log_t{"timed out", "work done"});
}

TEST_CASE("An exception of an abandoned shielded awaitable reaches the loop's exception handler",
          "[shield]") {
    auto main_task = []() -> corio::task<std::string> {
        std::string reported;
        corio::get_running_loop().set_exception_handler(
            [&reported](corio::event_loop&, const corio::exception_context& context) {
                try {
                    std::rethrow_exception(context.exception);
                } catch (const std::runtime_error& e) {
                    reported = e.what();
                }
            });
        try {
            co_await corio::wait_for(corio::shield(failing_work(20ms)), 5ms);
        } catch (const corio::timeout_error&) {
        }
        co_await corio::sleep(50ms);
        corio::get_running_loop().set_exception_handler({});
        co_return reported;
    };
    CHECK(run_with_watchdog(main_task()) == "work failed");
}
