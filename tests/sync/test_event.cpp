// Tests of corio/sync/event.hpp: event (set / clear / wait).
//
// Awaited values are checked through a local, never with co_await inside
// CHECK(): g++ 12 evaluates some co_await expressions a second time inside the
// __builtin_constant_p that Catch2 v2's CHECK wraps around its argument.

#include "catch.hpp"
#include "test_support.hpp"

#include <corio/cancel.hpp>
#include <corio/combinators.hpp>
#include <corio/event_loop.hpp>
#include <corio/run.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/sync/event.hpp>
#include <corio/task.hpp>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using corio_test::ended_cancelled;
using corio_test::run_with_watchdog;
using log_t = std::vector<std::string>;

constexpr auto watchdog = 10s;

// Waits for the event and logs the outcome (a cancellation is rethrown).
corio::task<void> waiter(corio::event* ev, log_t* log, std::string name) {
    try {
        co_await ev->wait();
        log->push_back(name + " woke");
    } catch (const corio::cancelled_error&) {
        log->push_back(name + " cancelled");
        throw;
    }
}

}  // namespace

TEST_CASE("An event starts clear, set() and clear() flip it", "[event]") {
    corio::event ev;
    CHECK_FALSE(ev.is_set());
    ev.set();
    CHECK(ev.is_set());
    ev.set();  // idempotent
    CHECK(ev.is_set());
    ev.clear();
    CHECK_FALSE(ev.is_set());
    CHECK(corio::event(true).is_set());
}

TEST_CASE("wait() on a set event returns without suspending", "[event]") {
    corio::event ev;
    log_t log;
    run_with_watchdog(
        [](corio::event* ev, log_t* log) -> corio::task<void> {
            ev->set();
            // Scheduled, but it cannot run unless we suspend.
            corio::task_handle<void> other =
                corio::create_task([](log_t* log) -> corio::task<void> {
                    log->push_back("other");
                    co_return;
                }(log));
            co_await ev->wait();
            co_await ev->wait();
            log->push_back("waited");
            co_await other;
        }(&ev, &log),
        watchdog);
    CHECK(log == log_t{"waited", "other"});
}

TEST_CASE("set() wakes every waiter, in the order they started waiting", "[event]") {
    corio::event ev;
    log_t log;
    run_with_watchdog(
        [](corio::event* ev, log_t* log) -> corio::task<void> {
            std::vector<corio::task_handle<void>> handles;
            for (const char* name : {"c", "a", "d", "b"}) {
                handles.push_back(corio::create_task(waiter(ev, log, name)));
            }
            co_await corio::sleep(1ms);
            CHECK(ev->waiters() == 4);
            CHECK(log->empty());
            ev->set();
            CHECK(ev->waiters() == 0);
            ev->clear();  // cleared before the waiters ran: they still return
            for (auto& handle : handles) {
                co_await handle;
            }
            CHECK_FALSE(ev->is_set());
        }(&ev, &log),
        watchdog);
    CHECK(log == log_t{"c woke", "a woke", "d woke", "b woke"});
}

TEST_CASE("A cleared event makes new waiters wait for the next set()", "[event]") {
    corio::event ev;
    log_t log;
    run_with_watchdog(
        [](corio::event* ev, log_t* log) -> corio::task<void> {
            ev->set();
            ev->clear();
            corio::task_handle<void> w = corio::create_task(waiter(ev, log, "w"));
            co_await corio::sleep(5ms);
            CHECK(log->empty());
            CHECK(ev->waiters() == 1);
            ev->set();
            co_await w;
        }(&ev, &log),
        watchdog);
    CHECK(log == log_t{"w woke"});
}

TEST_CASE("A cancelled waiter leaves the event, the others are still woken", "[event][cancel]") {
    corio::event ev;
    log_t log;
    run_with_watchdog(
        [](corio::event* ev, log_t* log) -> corio::task<void> {
            corio::task_handle<void> a = corio::create_task(waiter(ev, log, "a"));
            corio::task_handle<void> b = corio::create_task(waiter(ev, log, "b"));
            corio::task_handle<void> c = corio::create_task(waiter(ev, log, "c"));
            co_await corio::sleep(0ms);
            REQUIRE(ev->waiters() == 3);
            CHECK(b.cancel());
            const bool r1 = co_await ended_cancelled(b);
            CHECK(r1);
            CHECK(ev->waiters() == 2);
            ev->set();
            const bool r2 = co_await ended_cancelled(a);
            CHECK_FALSE(r2);
            const bool r3 = co_await ended_cancelled(c);
            CHECK_FALSE(r3);
        }(&ev, &log),
        watchdog);
    CHECK(log == log_t{"b cancelled", "a woke", "c woke"});
}

TEST_CASE("A waiter cancelled after set() but before it resumed throws cancelled_error",
          "[event][cancel]") {
    corio::event ev;
    log_t log;
    run_with_watchdog(
        [](corio::event* ev, log_t* log) -> corio::task<void> {
            corio::task_handle<void> w = corio::create_task(waiter(ev, log, "w"));
            corio::task_handle<void> x = corio::create_task(waiter(ev, log, "x"));
            co_await corio::sleep(0ms);
            ev->set();
            CHECK(w.cancel());  // its resumption is already queued
            const bool r4 = co_await ended_cancelled(w);
            CHECK(r4);
            const bool r5 = co_await ended_cancelled(x);
            CHECK_FALSE(r5);
            CHECK(ev->is_set());
        }(&ev, &log),
        watchdog);
    CHECK(log == log_t{"w cancelled", "x woke"});
}

TEST_CASE("wait_for on wait() times out and leaves no waiter behind", "[event][cancel]") {
    corio::event ev;
    run_with_watchdog(
        [](corio::event* ev) -> corio::task<void> {
            corio_test::stopwatch watch;
            bool timed_out = false;
            try {
                co_await corio::wait_for(ev->wait(), 20ms);
            } catch (const corio::timeout_error&) {
                timed_out = true;
            }
            CHECK(timed_out);
            CHECK(watch.elapsed() >= 20ms);
            CHECK(ev->waiters() == 0);

            // set() afterwards wakes nobody stale, and a wait in time succeeds.
            corio::task_handle<void> setter =
                corio::create_task([](corio::event* ev) -> corio::task<void> {
                    co_await corio::sleep(5ms);
                    ev->set();
                }(ev));
            co_await corio::wait_for(ev->wait(), 1s);
            CHECK(ev->is_set());
            co_await setter;
        }(&ev),
        watchdog);
}
