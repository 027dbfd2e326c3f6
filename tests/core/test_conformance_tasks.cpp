// Conformance with CPython's test_asyncio (test_tasks.py, test_waitfor.py):
// each case mirrors the behaviour one CPython test checks, named after it, on
// corio's spelling (create_task, cancel, gather, shield, wait_for, wait_any,
// as_completed). Where corio deliberately differs (docs/design.md), the case
// asserts corio's behaviour and says "corio differs" in its name.

#include "catch.hpp"
#include "test_support.hpp"

#include <corio/as_completed.hpp>
#include <corio/cancel.hpp>
#include <corio/combinators.hpp>
#include <corio/errors.hpp>
#include <corio/event_loop.hpp>
#include <corio/run.hpp>
#include <corio/shield.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/task.hpp>
#include <corio/wait_any.hpp>

#include <chrono>
#include <exception>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using corio_test::ended_cancelled;
using corio_test::run_with_watchdog;
using corio_test::stopwatch;
using log_t = std::vector<std::string>;
using ms = std::chrono::milliseconds;

struct foo_error : std::runtime_error {
    foo_error() : std::runtime_error("foo") {}
};

// Sleeps `delay`, logging how it ended; returns `value`.
corio::task<int> logged_sleep(ms delay, int value, log_t* log, std::string name) {
    try {
        co_await corio::sleep(delay);
    } catch (const corio::cancelled_error&) {
        log->push_back(name + " cancelled");
        throw;
    }
    log->push_back(name + " done");
    co_return value;
}

corio::task<int> value_after(ms delay, int value) {
    co_await corio::sleep(delay);
    co_return value;
}

corio::task<int> fail_after(ms delay) {
    co_await corio::sleep(delay);
    throw foo_error{};
}

corio::task<int> return_at_once(int value) { co_return value; }

// Catches one cancellation, then waits `after` more and returns `value`.
corio::task<int> swallow_cancel(ms first, ms after, int value, log_t* log) {
    bool cancelled = false;
    try {
        co_await corio::sleep(first);
    } catch (const corio::cancelled_error&) {
        cancelled = true;
    }
    if (cancelled) {
        log->push_back("swallowed");
        co_await corio::sleep(after);
    }
    co_return value;
}

}  // namespace

// ---- Task.cancel ----------------------------------------------------------------

TEST_CASE("test_cancel_yield: a task cancelled at its suspension point (a bare yield) ends cancelled",
          "[conformance][tasks]") {
    auto main_task = []() -> corio::task<void> {
        bool after_yield = false;
        auto body = [](bool* after) -> corio::task<int> {
            co_await corio::sleep(0ms);  // the bare yield
            co_await corio::sleep(0ms);
            *after = true;
            co_return 1;
        };
        auto handle = corio::create_task(body(&after_yield));
        co_await corio::sleep(0ms);  // the task runs to its first yield
        CHECK(handle.cancel());
        const bool cancelled = co_await ended_cancelled(handle);
        CHECK(cancelled);
        CHECK(handle.done());
        CHECK_FALSE(handle.cancel());  // cancel() of a finished task returns false
        CHECK_FALSE(after_yield);
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_cancel: a task cancelled before it ever ran ends cancelled without running its body",
          "[conformance][tasks]") {
    auto main_task = []() -> corio::task<void> {
        log_t log;
        auto handle = corio::create_task(logged_sleep(10ms, 1, &log, "body"));
        CHECK(handle.cancel());
        const bool cancelled = co_await ended_cancelled(handle);
        CHECK(cancelled);
        CHECK(log.empty());
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_task_cancel_sleeping_task: cancelling a sleeping task ends it cancelled and skips the rest",
          "[conformance][tasks]") {
    auto main_task = []() -> corio::task<void> {
        log_t log;
        auto sleeper = corio::create_task(logged_sleep(5s, 1, &log, "sleeper"));
        co_await corio::sleep(10ms);
        CHECK_FALSE(sleeper.done());
        stopwatch clock;
        sleeper.cancel();
        const bool cancelled = co_await ended_cancelled(sleeper);
        CHECK(cancelled);
        CHECK(clock.elapsed() < 1s);
        CHECK(log == log_t{"sleeper cancelled"});
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_cancel_task_catching: a task that catches the cancellation and returns ends with its value",
          "[conformance][tasks]") {
    auto main_task = []() -> corio::task<void> {
        auto catcher = []() -> corio::task<int> {
            try {
                co_await corio::sleep(5s);
            } catch (const corio::cancelled_error&) {
                co_return 42;
            }
            co_return 0;
        };
        auto handle = corio::create_task(catcher());
        co_await corio::sleep(0ms);
        CHECK(handle.cancel());
        const int value = co_await handle;
        CHECK(value == 42);
        CHECK(handle.done());
        CHECK_FALSE(handle.cancelled());
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_cancel_task_ignoring: a task that ignores the cancellation can await again and finish normally",
          "[conformance][tasks]") {
    auto main_task = []() -> corio::task<void> {
        log_t log;
        auto handle = corio::create_task(swallow_cancel(5s, 10ms, 42, &log));
        co_await corio::sleep(0ms);
        handle.cancel();
        const int value = co_await handle;
        CHECK(value == 42);
        CHECK_FALSE(handle.cancelled());
        CHECK(log == log_t{"swallowed"});
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_cancel_current_task: a task cancelling itself is cancelled at its next suspension point",
          "[conformance][tasks]") {
    auto main_task = []() -> corio::task<void> {
        log_t log;
        corio::task_handle<void> handle;
        auto body = [](corio::task_handle<void>* self, log_t* log) -> corio::task<void> {
            self->cancel();
            log->push_back("still running after cancel()");  // cancel() does not interrupt the running code
            co_await corio::sleep(5s);
            log->push_back("not reached");
        };
        handle = corio::create_task(body(&handle, &log));
        const bool cancelled = co_await ended_cancelled(handle);
        CHECK(cancelled);
        CHECK(log == log_t{"still running after cancel()"});
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_cancel_at_end: corio differs - a task that cancels itself and returns without another "
          "suspension point keeps its value (cancellation is delivered only at a suspension point)",
          "[conformance][tasks]") {
    // asyncio ends such a task cancelled (_must_cancel is checked when the
    // coroutine returns); corio's contract is "the current or next suspension
    // point throws", and a value produced is never dropped.
    auto main_task = []() -> corio::task<void> {
        corio::task_handle<int> handle;
        auto body = [](corio::task_handle<int>* self) -> corio::task<int> {
            CHECK(self->cancel());
            co_return 12;
        };
        handle = corio::create_task(body(&handle));
        const int value = co_await handle;
        CHECK(value == 12);
        CHECK(handle.done());
        CHECK_FALSE(handle.cancelled());
        CHECK_FALSE(handle.cancel());
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_cancelling: two cancel() calls both return true and are delivered as one cancelled_error",
          "[conformance][tasks]") {
    auto main_task = []() -> corio::task<void> {
        log_t log;
        auto handle = corio::create_task(swallow_cancel(5s, 20ms, 7, &log));
        co_await corio::sleep(0ms);
        CHECK(handle.cancel());
        CHECK(handle.cancel());
        // Only one cancellation arrives: the task's second sleep completes.
        const int value = co_await handle;
        CHECK(value == 7);
        CHECK(log == log_t{"swallowed"});
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_cancel_inner_future: a task awaiting a task that gets cancelled ends cancelled too",
          "[conformance][tasks]") {
    auto main_task = []() -> corio::task<void> {
        log_t log;
        auto inner = corio::create_task(logged_sleep(5s, 1, &log, "inner"));
        auto outer_body = [](corio::task_handle<int> awaited, log_t* log) -> corio::task<int> {
            const int value = co_await awaited;
            log->push_back("outer got a value");
            co_return value;
        };
        auto outer = corio::create_task(outer_body(inner, &log));
        co_await corio::sleep(10ms);
        inner.cancel();
        const bool outer_cancelled = co_await ended_cancelled(outer);
        CHECK(outer_cancelled);
        CHECK(inner.cancelled());
        CHECK(log == log_t{"inner cancelled"});
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_cancel_both_task_and_inner_future: cancelling the awaiter and the awaited task ends both cancelled",
          "[conformance][tasks]") {
    auto main_task = []() -> corio::task<void> {
        log_t log;
        auto inner = corio::create_task(logged_sleep(5s, 1, &log, "inner"));
        auto outer_body = [](corio::task_handle<int> awaited) -> corio::task<int> { co_return co_await awaited; };
        auto outer = corio::create_task(outer_body(inner));
        co_await corio::sleep(10ms);
        inner.cancel();
        outer.cancel();
        const bool outer_cancelled = co_await ended_cancelled(outer);
        CHECK(outer_cancelled);
        CHECK(inner.cancelled());
        CHECK(log == log_t{"inner cancelled"});  // cancelled once, not twice
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_cancel_awaited_task: a task that cancelled itself cancels the task it awaits next (bpo-34872)",
          "[conformance][tasks]") {
    auto main_task = []() -> corio::task<void> {
        log_t log;
        corio::task_handle<void> outer;
        auto outer_body = [](corio::task_handle<void>* self, log_t* log) -> corio::task<void> {
            auto awaited = corio::create_task(logged_sleep(5s, 1, log, "awaited"));
            co_await corio::sleep(0ms);  // `awaited` starts and suspends
            self->cancel();  // pending: this task is running, not suspended
            try {
                (void)co_await awaited;
            } catch (const corio::cancelled_error&) {
                log->push_back("outer cancelled");
                throw;
            }
        };
        outer = corio::create_task(outer_body(&outer, &log));
        stopwatch clock;
        const bool cancelled = co_await ended_cancelled(outer);
        CHECK(cancelled);
        CHECK(clock.elapsed() < 1s);  // the awaited task did not run its full 5 s
        CHECK(log == log_t{"awaited cancelled", "outer cancelled"});
    };
    run_with_watchdog(main_task());
}

TEST_CASE("Task.__step _must_cancel: a cancel arriving after the awaited result was set but before the task "
          "resumed still throws there",
          "[conformance][tasks]") {
    auto main_task = []() -> corio::task<void> {
        log_t log;
        corio::task_handle<int> outer;
        // Finishes with 5, but first queues outer.cancel() so that it runs
        // after this task is done and before outer resumes.
        auto inner_body = [](corio::task_handle<int>* outer) -> corio::task<int> {
            co_await corio::sleep(10ms);
            corio::get_running_loop().call_soon([outer] { outer->cancel(); });
            co_return 5;
        };
        auto inner = corio::create_task(inner_body(&outer));
        auto outer_body = [](corio::task_handle<int> awaited, log_t* log) -> corio::task<int> {
            const int value = co_await awaited;
            log->push_back("outer resumed with a value");
            co_return value;
        };
        outer = corio::create_task(outer_body(inner, &log));
        const bool cancelled = co_await ended_cancelled(outer);
        CHECK(cancelled);
        CHECK(log.empty());
        CHECK(inner.result() == 5);  // the inner result is untouched
    };
    run_with_watchdog(main_task());
}

// ---- gather ------------------------------------------------------------------------

TEST_CASE("test_result_exception_success: gather returns results in argument order, not finish order",
          "[conformance][tasks][gather]") {
    auto main_task = []() -> corio::task<void> {
        auto [a, b, c] = co_await corio::gather(value_after(30ms, 1), value_after(10ms, 2), return_at_once(3));
        CHECK(a == 1);
        CHECK(b == 2);
        CHECK(c == 3);
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_one_exception: corio differs (documented) - the first failure cancels the siblings and gather "
          "rethrows it only after they unwound",
          "[conformance][tasks][gather]") {
    // asyncio.gather propagates the first exception at once and leaves the
    // other children running; corio's "no child outlives its combinator".
    auto main_task = []() -> corio::task<void> {
        log_t log;
        bool failed = false;
        try {
            (void)co_await corio::gather(logged_sleep(5s, 1, &log, "a"), fail_after(10ms),
                                         logged_sleep(5s, 3, &log, "c"));
        } catch (const foo_error&) {
            failed = true;
        }
        CHECK(failed);
        CHECK(log == log_t{"a cancelled", "c cancelled"});
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_return_exceptions: gather_settled collects exceptions as results and cancels nobody",
          "[conformance][tasks][gather]") {
    auto main_task = []() -> corio::task<void> {
        log_t log;
        auto [a, b, c] = co_await corio::gather_settled(logged_sleep(20ms, 1, &log, "a"), fail_after(5ms),
                                                        value_after(1ms, 3));
        CHECK(a.value() == 1);
        CHECK(b.has_exception());
        CHECK_THROWS_AS(std::rethrow_exception(b.exception()), foo_error);
        CHECK(c.value() == 3);
        CHECK(log == log_t{"a done"});
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_cancellation_broadcast: cancelling the task awaiting gather cancels every child and ends it "
          "cancelled",
          "[conformance][tasks][gather]") {
    auto main_task = []() -> corio::task<void> {
        log_t log;
        auto awaiter_body = [](log_t* log) -> corio::task<void> {
            (void)co_await corio::gather(logged_sleep(5s, 1, log, "a"), logged_sleep(5s, 2, log, "b"));
            log->push_back("gather returned");
        };
        auto awaiter = corio::create_task(awaiter_body(&log));
        co_await corio::sleep(10ms);
        awaiter.cancel();
        const bool cancelled = co_await ended_cancelled(awaiter);
        CHECK(cancelled);
        CHECK(log == log_t{"a cancelled", "b cancelled"});
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_cancel_gather_2: a cancelled awaiter of a return_exceptions gather (gather_settled) still ends "
          "cancelled",
          "[conformance][tasks][gather]") {
    auto main_task = []() -> corio::task<void> {
        int rounds = 0;
        auto looping = [](int* rounds) -> corio::task<void> {
            for (;;) {
                auto settled = co_await corio::gather_settled(value_after(5ms, 1));
                (void)settled;
                ++*rounds;
            }
        };
        auto handle = corio::create_task(looping(&rounds));
        co_await corio::sleep(40ms);
        handle.cancel();
        const bool cancelled = co_await ended_cancelled(handle);
        CHECK(cancelled);
        CHECK(rounds > 0);
    };
    run_with_watchdog(main_task());
}

TEST_CASE("gather of already-finished task handles returns their results without waiting (GatherTests, done "
          "futures)",
          "[conformance][tasks][gather]") {
    auto main_task = []() -> corio::task<void> {
        auto first = corio::create_task(return_at_once(1));
        auto second = corio::create_task(return_at_once(2));
        co_await corio::sleep(1ms);
        REQUIRE(first.done());
        REQUIRE(second.done());
        auto [a, b] = co_await corio::gather(first, second);
        CHECK(a == 1);
        CHECK(b == 2);
        CHECK(first.result() == 1);  // the handles keep their results
        CHECK(second.result() == 2);
    };
    run_with_watchdog(main_task());
}

TEST_CASE("gather of an already-failed task handle rethrows its exception (GatherTests, done futures)",
          "[conformance][tasks][gather]") {
    auto main_task = []() -> corio::task<void> {
        auto failed = corio::create_task(fail_after(0ms));
        co_await corio::sleep(5ms);
        REQUIRE(failed.done());
        bool caught = false;
        try {
            (void)co_await corio::gather(failed, return_at_once(2));
        } catch (const foo_error&) {
            caught = true;
        }
        CHECK(caught);
        CHECK(failed.exception() != nullptr);
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_one_cancellation: a child of gather ending cancelled makes gather throw cancelled_error",
          "[conformance][tasks][gather]") {
    auto main_task = []() -> corio::task<void> {
        log_t log;
        auto victim = corio::create_task(logged_sleep(5s, 1, &log, "victim"));
        auto canceller = [](corio::task_handle<int> target) -> corio::task<int> {
            co_await corio::sleep(10ms);
            target.cancel();
            co_return 0;
        };
        bool cancelled = false;
        try {
            (void)co_await corio::gather(victim, canceller(victim));
        } catch (const corio::cancelled_error&) {
            cancelled = true;
        }
        CHECK(cancelled);
        CHECK(victim.cancelled());
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_one_exception (before any suspension): corio differs (documented) - children start inline in "
          "argument order, so a child failing at once keeps the later ones from starting",
          "[conformance][tasks][gather]") {
    // asyncio.gather wraps every coroutine in a task first, so all of them
    // start; design.md, "gather children start inline".
    auto main_task = []() -> corio::task<void> {
        bool second_started = false;
        auto fail_at_once = []() -> corio::task<int> {
            throw foo_error{};
            co_return 0;
        };
        auto record_start = [](bool* started) -> corio::task<int> {
            *started = true;
            co_await corio::sleep(1ms);
            co_return 2;
        };
        bool caught = false;
        try {
            (void)co_await corio::gather(fail_at_once(), record_start(&second_started));
        } catch (const foo_error&) {
            caught = true;
        }
        CHECK(caught);
        CHECK_FALSE(second_started);
    };
    run_with_watchdog(main_task());
}

// ---- shield --------------------------------------------------------------------------

TEST_CASE("test_shield_result: shield returns the inner result", "[conformance][tasks][shield]") {
    auto main_task = []() -> corio::task<void> {
        const int value = co_await corio::shield(value_after(5ms, 42));
        CHECK(value == 42);
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_shield_exception: shield rethrows the inner exception", "[conformance][tasks][shield]") {
    auto main_task = []() -> corio::task<void> {
        auto handle = corio::create_task(fail_after(5ms));
        bool caught = false;
        try {
            (void)co_await corio::shield(handle);
        } catch (const foo_error&) {
            caught = true;
        }
        CHECK(caught);
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_shield_shortcut: shield of a finished task gives its result", "[conformance][tasks][shield]") {
    auto main_task = []() -> corio::task<void> {
        auto handle = corio::create_task(return_at_once(7));
        co_await corio::sleep(1ms);
        REQUIRE(handle.done());
        const int value = co_await corio::shield(handle);
        CHECK(value == 7);
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_shield_cancel_inner: cancelling the shielded task itself cancels the awaiter of shield",
          "[conformance][tasks][shield]") {
    auto main_task = []() -> corio::task<void> {
        log_t log;
        auto inner = corio::create_task(logged_sleep(5s, 1, &log, "inner"));
        auto outer_body = [](corio::task_handle<int> shielded) -> corio::task<int> {
            co_return co_await corio::shield(shielded);
        };
        auto outer = corio::create_task(outer_body(inner));
        co_await corio::sleep(10ms);
        inner.cancel();
        const bool outer_cancelled = co_await ended_cancelled(outer);
        CHECK(outer_cancelled);
        CHECK(inner.cancelled());
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_shield_cancel_outer: the awaiter of shield ends cancelled while the inner task keeps running "
          "and its result stays retrievable",
          "[conformance][tasks][shield]") {
    auto main_task = []() -> corio::task<void> {
        log_t log;
        auto inner = corio::create_task(logged_sleep(40ms, 9, &log, "inner"));
        auto outer_body = [](corio::task_handle<int> shielded) -> corio::task<int> {
            co_return co_await corio::shield(shielded);
        };
        auto outer = corio::create_task(outer_body(inner));
        co_await corio::sleep(5ms);
        stopwatch clock;
        outer.cancel();
        const bool outer_cancelled = co_await ended_cancelled(outer);
        CHECK(outer_cancelled);
        CHECK(clock.elapsed() < 30ms);  // at once, not when the inner finishes
        CHECK_FALSE(inner.done());
        const int value = co_await inner;
        CHECK(value == 9);
        CHECK(inner.result() == 9);
        CHECK(log == log_t{"inner done"});
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_shield_effect: an awaiter cancelled before it awaits shield throws at once, and the shielded "
          "work, already started, runs to its end",
          "[conformance][tasks][shield]") {
    auto main_task = []() -> corio::task<void> {
        log_t log;
        corio::task_handle<void> outer;
        auto outer_body = [](corio::task_handle<void>* self, log_t* log) -> corio::task<void> {
            auto shielded = corio::shield(logged_sleep(20ms, 1, log, "inner"));
            self->cancel();  // pending: this task is running
            try {
                (void)co_await std::move(shielded);
            } catch (const corio::cancelled_error&) {
                log->push_back("outer cancelled");
                throw;
            }
        };
        outer = corio::create_task(outer_body(&outer, &log));
        const bool cancelled = co_await ended_cancelled(outer);
        CHECK(cancelled);
        co_await corio::sleep(50ms);
        CHECK(log == log_t{"outer cancelled", "inner done"});
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_shield_gather: cancelling a gather of shielded children does not cancel the children",
          "[conformance][tasks][shield][gather]") {
    auto main_task = []() -> corio::task<void> {
        log_t log;
        auto a = corio::create_task(logged_sleep(30ms, 1, &log, "a"));
        auto b = corio::create_task(logged_sleep(30ms, 2, &log, "b"));
        auto awaiter_body = [](corio::task_handle<int> a, corio::task_handle<int> b) -> corio::task<void> {
            auto shielded_a = corio::shield(a);
            auto shielded_b = corio::shield(b);
            (void)co_await corio::gather(std::move(shielded_a), std::move(shielded_b));
        };
        auto awaiter = corio::create_task(awaiter_body(a, b));
        co_await corio::sleep(5ms);
        awaiter.cancel();
        const bool cancelled = co_await ended_cancelled(awaiter);
        CHECK(cancelled);
        auto [ra, rb] = co_await corio::gather(a, b);
        CHECK(ra == 1);
        CHECK(rb == 2);
        CHECK(log == log_t{"a done", "b done"});
    };
    run_with_watchdog(main_task());
}

// ---- wait_for (test_waitfor.py) -------------------------------------------------------------

TEST_CASE("test_wait_for: on timeout the inner task is cancelled and has unwound before timeout_error",
          "[conformance][tasks][wait_for]") {
    auto main_task = []() -> corio::task<void> {
        log_t log;
        auto inner = corio::create_task(logged_sleep(10s, 1, &log, "inner"));
        stopwatch clock;
        bool timed_out = false;
        try {
            (void)co_await corio::wait_for(inner, 50ms);
        } catch (const corio::timeout_error&) {
            timed_out = true;
        }
        CHECK(timed_out);
        CHECK(clock.elapsed() >= 45ms);
        CHECK(clock.elapsed() < 2s);
        CHECK(inner.done());
        CHECK(inner.cancelled());
        CHECK(log == log_t{"inner cancelled"});
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_wait_for_race_condition: a result arriving before the deadline is returned",
          "[conformance][tasks][wait_for]") {
    auto main_task = []() -> corio::task<void> {
        const int value = co_await corio::wait_for(value_after(20ms, 3), 500ms);
        CHECK(value == 3);
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_wait_for_timeout_less_then_0_or_0: a zero or negative timeout cancels a running task and "
          "throws timeout_error at once",
          "[conformance][tasks][wait_for]") {
    auto main_task = [](ms timeout) -> corio::task<void> {
        log_t log;
        auto inner = corio::create_task(logged_sleep(10s, 1, &log, "inner"));
        co_await corio::sleep(0ms);  // started
        stopwatch clock;
        bool timed_out = false;
        try {
            (void)co_await corio::wait_for(inner, timeout);
        } catch (const corio::timeout_error&) {
            timed_out = true;
        }
        CHECK(timed_out);
        CHECK(clock.elapsed() < 500ms);
        CHECK(inner.cancelled());
        CHECK(log == log_t{"inner cancelled"});
    };
    SECTION("zero") { run_with_watchdog(main_task(0ms)); }
    SECTION("negative") { run_with_watchdog(main_task(-1000ms)); }
}

TEST_CASE("test_wait_for_timeout_less_then_0_or_0_future_done: a finished task's value is returned even with a "
          "zero timeout",
          "[conformance][tasks][wait_for]") {
    auto main_task = []() -> corio::task<void> {
        auto done = corio::create_task(return_at_once(11));
        co_await corio::sleep(1ms);
        REQUIRE(done.done());
        const int zero = co_await corio::wait_for(done, 0ms);
        const int negative = co_await corio::wait_for(done, -5ms);
        CHECK(zero == 11);
        CHECK(negative == 11);
        CHECK(done.result() == 11);
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_wait_for_timeout_less_then_0_or_0_coroutine_do_not_started: a zero timeout does not start the "
          "coroutine",
          "[conformance][tasks][wait_for]") {
    auto main_task = []() -> corio::task<void> {
        bool started = false;
        auto foo = [](bool* started) -> corio::task<int> {
            *started = true;
            co_return 1;
        };
        bool timed_out = false;
        try {
            (void)co_await corio::wait_for(foo(&started), 0ms);
        } catch (const corio::timeout_error&) {
            timed_out = true;
        }
        CHECK(timed_out);
        CHECK_FALSE(started);
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_wait_for_cancellation_race_condition: an inner task swallowing the timeout's cancellation "
          "returns its value",
          "[conformance][tasks][wait_for]") {
    auto main_task = []() -> corio::task<void> {
        log_t log;
        const int value = co_await corio::wait_for(swallow_cancel(1s, 0ms, 1, &log), 10ms);
        CHECK(value == 1);
        CHECK(log == log_t{"swallowed"});
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_wait_for_waits_for_task_cancellation: timeout_error comes only after the inner task's cleanup",
          "[conformance][tasks][wait_for]") {
    auto main_task = []() -> corio::task<void> {
        bool task_done = false;
        auto inner_body = [](bool* done) -> corio::task<void> {
            bool cancelled = false;
            try {
                co_await corio::sleep(10s);
            } catch (const corio::cancelled_error&) {
                cancelled = true;
            }
            if (cancelled) {
                co_await corio::sleep(20ms);  // slow cleanup
                *done = true;
                throw corio::cancelled_error{};
            }
        };
        auto inner = corio::create_task(inner_body(&task_done));
        bool timed_out = false;
        try {
            co_await corio::wait_for(inner, 1ms);
        } catch (const corio::timeout_error&) {
            timed_out = true;
        }
        CHECK(timed_out);
        CHECK(task_done);
        CHECK(inner.cancelled());
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_wait_for_reraises_exception_during_cancellation: an exception raised while unwinding from the "
          "timeout replaces timeout_error",
          "[conformance][tasks][wait_for]") {
    auto main_task = []() -> corio::task<void> {
        auto inner_body = []() -> corio::task<void> {
            bool cancelled = false;
            try {
                co_await corio::sleep(200ms);
            } catch (const corio::cancelled_error&) {
                cancelled = true;
            }
            if (cancelled) {
                throw foo_error{};
            }
        };
        auto inner = corio::create_task(inner_body());
        bool foo = false;
        try {
            co_await corio::wait_for(inner, 1ms);
        } catch (const foo_error&) {
            foo = true;
        } catch (const corio::timeout_error&) {
            foo = false;
        }
        CHECK(foo);
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_wait_for_self_cancellation: wait_for stays cancellable while the inner task holds up the "
          "timeout's cancellation, and the inner result stays available",
          "[conformance][tasks][wait_for]") {
    auto main_task = []() -> corio::task<void> {
        log_t log;
        auto inner = corio::create_task(swallow_cancel(300ms, 100ms, 42, &log));
        auto waiting_body = [](corio::task_handle<int> inner) -> corio::task<int> {
            co_return co_await corio::wait_for(inner, 50ms);
        };
        auto waiting = corio::create_task(waiting_body(inner));
        co_await corio::sleep(80ms);
        waiting.cancel();
        const bool cancelled = co_await ended_cancelled(waiting);
        CHECK(cancelled);
        const int value = co_await inner;
        CHECK(value == 42);
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_cancel_wait_for: cancelling the awaiter of wait_for also cancels the inner task (bpo-23219)",
          "[conformance][tasks][wait_for]") {
    auto main_task = []() -> corio::task<void> {
        log_t log;
        auto blocked = corio::create_task(logged_sleep(10s, 1, &log, "blocked"));
        auto waiting_body = [](corio::task_handle<int> inner) -> corio::task<int> {
            co_return co_await corio::wait_for(inner, 60s);
        };
        auto waiting = corio::create_task(waiting_body(blocked));
        co_await corio::sleep(0ms);
        waiting.cancel();
        const bool cancelled = co_await ended_cancelled(waiting);
        CHECK(cancelled);
        CHECK(blocked.cancelled());
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_asyncio_wait_for_cancelled: a cancelled wait_for returns only after an inner task that ignores "
          "cancellation has exited",
          "[conformance][tasks][wait_for]") {
    auto main_task = []() -> corio::task<void> {
        log_t log;
        auto waiting_body = [](log_t* log) -> corio::task<int> {
            co_return co_await corio::wait_for(swallow_cancel(1s, 40ms, 1, log), 2s);
        };
        auto waiting = corio::create_task(waiting_body(&log));
        co_await corio::sleep(5ms);
        stopwatch clock;
        waiting.cancel();
        const bool cancelled = co_await ended_cancelled(waiting);
        CHECK(cancelled);
        CHECK(clock.elapsed() >= 35ms);  // the slow inner task had exited
        CHECK(log == log_t{"swallowed"});
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_asyncio_wait_for_timeout: wait_for times out only after an inner task slow to honour the "
          "cancellation has exited",
          "[conformance][tasks][wait_for]") {
    auto main_task = []() -> corio::task<void> {
        log_t log;
        auto slow_exit = [](log_t* log) -> corio::task<void> {
            bool cancelled = false;
            try {
                co_await corio::sleep(1s);
            } catch (const corio::cancelled_error&) {
                cancelled = true;
            }
            if (cancelled) {
                co_await corio::sleep(40ms);
                log->push_back("exited");
                throw corio::cancelled_error{};
            }
        };
        stopwatch clock;
        bool timed_out = false;
        try {
            co_await corio::wait_for(slow_exit(&log), 10ms);
        } catch (const corio::timeout_error&) {
            timed_out = true;
        }
        CHECK(timed_out);
        CHECK(clock.elapsed() >= 45ms);
        CHECK(log == log_t{"exited"});
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_wait_for exception passthrough: an inner exception before the deadline passes through "
          "unchanged",
          "[conformance][tasks][wait_for]") {
    auto main_task = []() -> corio::task<void> {
        bool caught = false;
        try {
            (void)co_await corio::wait_for(fail_after(1ms), 1s);
        } catch (const foo_error&) {
            caught = true;
        }
        CHECK(caught);
    };
    run_with_watchdog(main_task());
}

// ---- wait (FIRST_COMPLETED) and as_completed -----------------------------------------------

TEST_CASE("test_wait_first_completed: corio differs (documented) - wait_any returns the first to finish and "
          "cancels and awaits the others",
          "[conformance][tasks][wait_any]") {
    // asyncio.wait returns (done, pending) and leaves the pending ones running.
    auto main_task = []() -> corio::task<void> {
        log_t log;
        auto first = co_await corio::wait_any(logged_sleep(5s, 1, &log, "slow"), logged_sleep(10ms, 2, &log, "fast"));
        CHECK(first.index == 1);
        CHECK(std::get<1>(first.value) == 2);
        CHECK(log == log_t{"fast done", "slow cancelled"});
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_wait_first_exception: wait_any rethrows when the first to finish failed, after the others "
          "unwound",
          "[conformance][tasks][wait_any]") {
    auto main_task = []() -> corio::task<void> {
        log_t log;
        bool caught = false;
        try {
            (void)co_await corio::wait_any(logged_sleep(5s, 1, &log, "slow"), fail_after(10ms));
        } catch (const foo_error&) {
            caught = true;
        }
        CHECK(caught);
        CHECK(log == log_t{"slow cancelled"});
    };
    run_with_watchdog(main_task());
}

TEST_CASE("asyncio.wait cancelled: cancelling the awaiter of wait_any cancels every child",
          "[conformance][tasks][wait_any]") {
    auto main_task = []() -> corio::task<void> {
        log_t log;
        auto body = [](log_t* log) -> corio::task<void> {
            (void)co_await corio::wait_any(logged_sleep(5s, 1, log, "a"), logged_sleep(5s, 2, log, "b"));
        };
        auto handle = corio::create_task(body(&log));
        co_await corio::sleep(5ms);
        handle.cancel();
        const bool cancelled = co_await ended_cancelled(handle);
        CHECK(cancelled);
        CHECK(log == log_t{"a cancelled", "b cancelled"});
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_wait_first_completed (loser finishing anyway): corio differs (documented) - a loser that swallows "
          "its cancellation and returns a value is discarded",
          "[conformance][tasks][wait_any]") {
    auto main_task = []() -> corio::task<void> {
        log_t log;
        auto first = co_await corio::wait_any(value_after(5ms, 1), swallow_cancel(5s, 10ms, 2, &log));
        CHECK(first.index == 0);
        CHECK(std::get<0>(first.value) == 1);
        CHECK(log == log_t{"swallowed"});  // it ran to its end before wait_any returned
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_wait_errors: waiting for the first of no tasks at all is an error (asyncio: ValueError)",
          "[conformance][tasks][wait_any]") {
    auto main_task = []() -> corio::task<void> {
        std::vector<corio::task<int>> none;
        bool threw = false;
        try {
            (void)co_await corio::wait_any(std::move(none));
        } catch (const std::invalid_argument&) {
            threw = true;
        }
        CHECK(threw);
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_as_completed: results come in completion order", "[conformance][tasks][as_completed]") {
    auto main_task = []() -> corio::task<void> {
        std::vector<corio::task<int>> tasks;
        tasks.push_back(value_after(40ms, 1));
        tasks.push_back(value_after(10ms, 2));
        tasks.push_back(value_after(25ms, 3));
        auto results = corio::as_completed(std::move(tasks));
        std::vector<int> order;
        while (auto r = co_await results.next()) {
            order.push_back(*r);
        }
        CHECK(order == std::vector<int>{2, 3, 1});
    };
    run_with_watchdog(main_task());
}

TEST_CASE("test_as_completed with an exception: corio differs (documented) - a failure is rethrown by next() after the "
          "rest were cancelled",
          "[conformance][tasks][as_completed]") {
    // asyncio.as_completed yields awaitables and leaves the others running.
    auto main_task = []() -> corio::task<void> {
        log_t log;
        std::vector<corio::task<int>> tasks;
        tasks.push_back(logged_sleep(5s, 1, &log, "slow"));
        tasks.push_back(fail_after(10ms));
        auto results = corio::as_completed(std::move(tasks));
        bool caught = false;
        try {
            while (auto r = co_await results.next()) {
                log.push_back("got " + std::to_string(*r));
            }
        } catch (const foo_error&) {
            caught = true;
        }
        CHECK(caught);
        CHECK(log == log_t{"slow cancelled"});
    };
    run_with_watchdog(main_task());
}
