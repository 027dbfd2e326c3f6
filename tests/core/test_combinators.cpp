// Tests of corio/combinators.hpp: gather, gather_settled and wait_for.

#include "catch.hpp"
#include "test_support.hpp"

#include <corio/cancel.hpp>
#include <corio/combinators.hpp>
#include <corio/event_loop.hpp>
#include <corio/outcome.hpp>
#include <corio/run.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/task.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace {

using namespace std::chrono_literals;
using corio_test::run_with_watchdog;
using corio_test::stopwatch;
using log_t = std::vector<std::string>;
using ms = std::chrono::milliseconds;

constexpr auto watchdog = 10s;

// ---- Children: free functions taking pointers to state that outlives them. ----

template <class T>
corio::task<T> value_after(ms delay, T value, log_t* log = nullptr, std::string name = {}) {
    co_await corio::sleep(delay);
    if (log != nullptr) {
        log->push_back(name);
    }
    co_return value;
}

corio::task<void> void_after(ms delay, int* counter) {
    co_await corio::sleep(delay);
    ++*counter;
}

corio::task<int&> ref_after(ms delay, int* target) {
    co_await corio::sleep(delay);
    co_return *target;
}

corio::task<int> throw_after(ms delay, std::string what, log_t* log = nullptr) {
    co_await corio::sleep(delay);
    if (log != nullptr) {
        log->push_back("throw " + what);
    }
    throw std::runtime_error(what);
}

corio::task<int> throw_now(std::string what) {
    throw std::runtime_error(what);
    co_return 0;  // unreachable; makes this a coroutine
}

corio::task<int> count_then_sleep(int* started, log_t* log, std::string name) {
    ++*started;
    try {
        co_await corio::sleep(5s);
    } catch (const corio::cancelled_error&) {
        log->push_back(name + " cancelled");
        throw;
    }
    co_return 0;
}

// Sleeps "forever". When cancelled it logs "<name> cancelled", cleans up
// asynchronously for `cleanup` (logging "<name> cleanup interrupted" if that
// sleep is cancelled as well), logs "<name> unwound" and rethrows the
// cancellation (or throws `throw_instead` if given: a different exception).
corio::task<int> sleeper(log_t* log, std::string name, std::string throw_instead = {}, ms cleanup = 20ms) {
    bool cancelled = false;
    try {
        co_await corio::sleep(5s);
        log->push_back(name + " woke");
    } catch (const corio::cancelled_error&) {
        log->push_back(name + " cancelled");
        cancelled = true;
    }
    if (cancelled) {  // no co_await inside a handler: clean up after it
        try {
            co_await corio::sleep(cleanup);
        } catch (const corio::cancelled_error&) {
            log->push_back(name + " cleanup interrupted");
        }
        log->push_back(name + " unwound");
        if (!throw_instead.empty()) {
            throw std::runtime_error(throw_instead);
        }
        throw corio::cancelled_error{};
    }
    co_return 1;
}

// Like sleeper, but swallows the cancellation and returns `value` instead.
corio::task<int> stubborn(log_t* log, int value) {
    try {
        co_await corio::sleep(5s);
    } catch (const corio::cancelled_error&) {
        log->push_back("stubborn swallowed");
    }
    co_return value;
}

std::string what_of(const std::exception_ptr& error) {
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "<not a std::exception>";
    }
}

}  // namespace

// ============================================================================
// gather
// ============================================================================

TEST_CASE("gather returns the children's results as a tuple in argument order", "[gather]") {
    log_t finish_order;
    run_with_watchdog(
        [](log_t* log) -> corio::task<void> {
            auto result = co_await corio::gather(value_after(30ms, 1, log, "a"),
                                                 value_after(10ms, std::string("two"), log, "b"),
                                                 value_after(20ms, 3.5, log, "c"));
            static_assert(std::is_same_v<decltype(result), std::tuple<int, std::string, double>>);
            CHECK(std::get<0>(result) == 1);
            CHECK(std::get<1>(result) == "two");
            CHECK(std::get<2>(result) == 3.5);
        }(&finish_order),
        watchdog);
    CHECK(finish_order == log_t{"b", "c", "a"});  // completion order differs from argument order
}

TEST_CASE("gather gives std::monostate for a void child and a reference for a reference child", "[gather]") {
    int target = 1;
    int counter = 0;
    run_with_watchdog(
        [](int* target, int* counter) -> corio::task<void> {
            auto result = co_await corio::gather(void_after(5ms, counter), ref_after(1ms, target),
                                                 value_after(2ms, 9));
            static_assert(std::is_same_v<decltype(result), std::tuple<std::monostate, int&, int>>);
            CHECK(*counter == 1);
            CHECK(&std::get<1>(result) == target);
            CHECK(std::get<2>(result) == 9);
            std::get<1>(result) = 2;
        }(&target, &counter),
        watchdog);
    CHECK(target == 2);
}

TEST_CASE("gather over a vector returns results in vector order whatever the completion order", "[gather]") {
    log_t finish_order;
    run_with_watchdog(
        [](log_t* log) -> corio::task<void> {
            std::vector<corio::task<int>> children;
            for (int i = 0; i < 5; ++i) {
                children.push_back(value_after(ms(50 - 10 * i), i * i, log, std::to_string(i)));
            }
            std::vector<int> results = co_await corio::gather(std::move(children));
            CHECK(results == std::vector<int>{0, 1, 4, 9, 16});
        }(&finish_order),
        watchdog);
    CHECK(finish_order == log_t{"4", "3", "2", "1", "0"});
}

TEST_CASE("gather over a vector of reference tasks gives reference_wrappers", "[gather]") {
    int a = 1;
    int b = 2;
    run_with_watchdog(
        [](int* a, int* b) -> corio::task<void> {
            std::vector<corio::task<int&>> children;
            children.push_back(ref_after(2ms, a));
            children.push_back(ref_after(1ms, b));
            auto results = co_await corio::gather(std::move(children));
            static_assert(std::is_same_v<decltype(results), std::vector<std::reference_wrapper<int>>>);
            REQUIRE(results.size() == 2);
            CHECK(&results[0].get() == a);
            CHECK(&results[1].get() == b);
        }(&a, &b),
        watchdog);
}

TEST_CASE("gather over a vector of task<void> returns void after every child ran", "[gather]") {
    using operation = decltype(corio::gather(std::declval<std::vector<corio::task<void>>>()));
    static_assert(std::is_void_v<decltype(std::declval<operation&>().await_resume())>);
    int counter = 0;
    run_with_watchdog(
        [](int* counter) -> corio::task<void> {
            std::vector<corio::task<void>> children;
            for (int i = 0; i < 4; ++i) {
                children.push_back(void_after(ms(4 - i), counter));
            }
            co_await corio::gather(std::move(children));
            CHECK(*counter == 4);
        }(&counter),
        watchdog);
    CHECK(counter == 4);
}

TEST_CASE("gather of nothing completes immediately", "[gather]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            stopwatch clock;
            std::vector<int> none = co_await corio::gather(std::vector<corio::task<int>>{});
            CHECK(none.empty());
            co_await corio::gather(std::vector<corio::task<void>>{});
            std::tuple<> empty = co_await corio::gather();
            (void)empty;
            auto settled = co_await corio::gather_settled(std::vector<corio::task<int>>{});
            CHECK(settled.empty());
            CHECK(clock.elapsed() < 50ms);
        }(),
        watchdog);
}

TEST_CASE("gather runs its children concurrently: N sleeps of d take about d", "[gather]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            constexpr int n = 10;
            constexpr ms d = 100ms;
            int counter = 0;
            std::vector<corio::task<void>> children;
            for (int i = 0; i < n; ++i) {
                children.push_back(void_after(d, &counter));
            }
            stopwatch clock;
            co_await corio::gather(std::move(children));
            const auto elapsed = clock.elapsed();
            CHECK(counter == n);
            CHECK(elapsed >= d);
            CHECK(elapsed < n * d / 2);  // sequential would be n * d = 1 s
        }(),
        watchdog);
}

TEST_CASE("gather accepts task handles and other awaitables", "[gather]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            corio::task_handle<int> spawned = corio::create_task(value_after(10ms, 5));
            corio::task_handle<std::string> moved = corio::create_task(value_after(1ms, std::string("m")));
            stopwatch clock;
            auto result = co_await corio::gather(spawned, corio::sleep(20ms), value_after(5ms, 1), std::move(moved));
            static_assert(std::is_same_v<decltype(result), std::tuple<int, std::monostate, int, std::string>>);
            CHECK(std::get<0>(result) == 5);
            CHECK(std::get<2>(result) == 1);
            CHECK(std::get<3>(result) == "m");
            CHECK(clock.elapsed() >= 20ms);
            CHECK(spawned.done());
            CHECK(spawned.result() == 5);  // gather awaited the handle without consuming it
        }(),
        watchdog);
}

// asyncio: awaiting a Task through gather / wait_for leaves t.result() intact.
// A handle passed as an lvalue (the caller keeps it, or a copy of it) must not
// have its result moved out by the combinator's own copy of the handle.
TEST_CASE("gather and wait_for leave a task handle's result in the handle", "[gather][wait_for]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            const std::string long_text(100, 'x');  // beyond any small-string buffer: a move empties it
            corio::task_handle<std::string> first = corio::create_task(value_after(1ms, long_text));
            corio::task_handle<std::string> second = corio::create_task(value_after(2ms, long_text + "2"));
            const corio::task_handle<std::string> second_copy = second;
            auto [a, b] = co_await corio::gather(first, corio::task_handle<std::string>(second_copy));
            CHECK(a == long_text);
            CHECK(b == long_text + "2");

            corio::task_handle<std::string> third = corio::create_task(value_after(1ms, long_text + "3"));
            const std::string c = co_await corio::wait_for(third, 1s);
            CHECK(c == long_text + "3");

            const std::string first_again = co_await first;
            CHECK(first_again == long_text);
            CHECK(first.result() == long_text);
            CHECK(second.result() == long_text + "2");
            const std::string third_again = co_await third;
            CHECK(third_again == long_text + "3");
            CHECK(third.result() == long_text + "3");
        }(),
        watchdog);
}

TEST_CASE("gather and wait_for move a move-only result out of a handle given as an rvalue", "[gather][wait_for]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            corio::task_handle<std::unique_ptr<int>> moved =
                corio::create_task(value_after(1ms, std::make_unique<int>(1)));
            std::unique_ptr<int> a = co_await corio::wait_for(std::move(moved), 1s);
            REQUIRE(a != nullptr);
            CHECK(*a == 1);
            // (An lvalue handle of a move-only result is rejected at compile
            // time, as `co_await handle` is: the result cannot be copied.)
            corio::task_handle<std::unique_ptr<int>> given =
                corio::create_task(value_after(1ms, std::make_unique<int>(2)));
            auto [b] = co_await corio::gather(std::move(given));
            REQUIRE(b != nullptr);
            CHECK(*b == 2);
        }(),
        watchdog);
}

TEST_CASE("On the first failure gather cancels the siblings, waits for them, then rethrows", "[gather]") {
    log_t log;
    stopwatch clock;
    run_with_watchdog(
        [](log_t* log) -> corio::task<void> {
            try {
                // b turns its cancellation into another error: gather still
                // rethrows the first one.
                (void)co_await corio::gather(sleeper(log, "a"), throw_after(10ms, "first", log),
                                             sleeper(log, "b", "second"));
                log->push_back("gather returned");
            } catch (const std::runtime_error& e) {
                log->push_back(std::string("caught ") + e.what());
            }
        }(&log),
        watchdog);
    CHECK(clock.elapsed() < 3s);  // the 5 s sleeps were cancelled
    CHECK(log == log_t{"throw first", "a cancelled", "b cancelled", "a unwound", "b unwound", "caught first"});
}

TEST_CASE("gather over a vector cancels the siblings on the first failure too", "[gather]") {
    log_t log;
    run_with_watchdog(
        [](log_t* log) -> corio::task<void> {
            std::vector<corio::task<int>> children;
            children.push_back(sleeper(log, "a"));
            children.push_back(sleeper(log, "b"));
            children.push_back(throw_after(10ms, "boom", log));
            try {
                (void)co_await corio::gather(std::move(children));
                log->push_back("gather returned");
            } catch (const std::runtime_error& e) {
                log->push_back(std::string("caught ") + e.what());
            }
        }(&log),
        watchdog);
    CHECK(log == log_t{"throw boom", "a cancelled", "b cancelled", "a unwound", "b unwound", "caught boom"});
}

TEST_CASE("A child failing before it suspends stops the later children from starting", "[gather]") {
    log_t log;
    int started = 0;
    run_with_watchdog(
        [](log_t* log, int* started) -> corio::task<void> {
            bool caught = false;
            try {
                (void)co_await corio::gather(count_then_sleep(started, log, "first"), throw_now("sync"),
                                             count_then_sleep(started, log, "third"));
            } catch (const std::runtime_error& e) {
                caught = std::string(e.what()) == "sync";
            }
            CHECK(caught);
        }(&log, &started),
        watchdog);
    CHECK(started == 1);                       // the third child never started
    CHECK(log == log_t{"first cancelled"});  // the first, already running, was cancelled
}

namespace {

corio::task<void> gather_in_task(log_t* log, ms cleanup_a, ms cleanup_b) {
    try {
        (void)co_await corio::gather(sleeper(log, "a", {}, cleanup_a), sleeper(log, "b", {}, cleanup_b));
        log->push_back("gather returned");
    } catch (const corio::cancelled_error&) {
        log->push_back("gather threw cancelled_error");
        throw;
    }
}

corio::task<void> cancel_gather_in_task(log_t* log, ms cleanup_a, ms cleanup_b) {
    corio::event_loop& loop = corio::get_running_loop();
    const std::size_t timers_before = loop.pending_timers();
    corio::task_handle<void> handle = corio::create_task(gather_in_task(log, cleanup_a, cleanup_b));
    co_await corio::sleep(10ms);
    CHECK(loop.pending_timers() == timers_before + 2);
    CHECK(handle.cancel());
    try {
        co_await handle;
    } catch (const corio::cancelled_error&) {
        log->push_back("main saw cancellation");
    }
    CHECK(handle.cancelled());
    CHECK(loop.pending_timers() == timers_before);
}

}  // namespace

TEST_CASE("Cancelling the task awaiting gather cancels every child, waits for them, then throws",
          "[gather][cancel]") {
    log_t log;
    run_with_watchdog(cancel_gather_in_task(&log, 20ms, 20ms), watchdog);
    CHECK(log == log_t{"a cancelled", "b cancelled", "a unwound", "b unwound", "gather threw cancelled_error",
                       "main saw cancellation"});
}

// Regression: child_group::child_done (then gather_core) once took the first child finishing
// with cancelled_error (after gather itself was cancelled) for "the first
// failure" and cancelled the siblings again, interrupting the asynchronous
// cleanup of the ones still unwinding. The different cleanup times make a
// finish first while b is still in its cleanup sleep.
TEST_CASE("Cancelling the task awaiting gather cancels each child only once", "[gather][cancel]") {
    log_t log;
    run_with_watchdog(cancel_gather_in_task(&log, 10ms, 60ms), watchdog);
    CHECK(log == log_t{"a cancelled", "b cancelled", "a unwound", "b unwound", "gather threw cancelled_error",
                       "main saw cancellation"});
}

// ============================================================================
// gather_settled
// ============================================================================

TEST_CASE("gather_settled returns an outcome per child and a failure does not cancel the others",
          "[gather]") {
    log_t log;
    int counter = 0;
    run_with_watchdog(
        [](log_t* log, int* counter) -> corio::task<void> {
            auto [ok, failed, nothing] = co_await corio::gather_settled(
                value_after(30ms, 1, log, "ok done"), throw_after(5ms, "bad", log), void_after(20ms, counter));
            static_assert(std::is_same_v<decltype(ok), corio::outcome<int>>);
            static_assert(std::is_same_v<decltype(nothing), corio::outcome<void>>);
            REQUIRE(ok.has_value());
            CHECK(ok.value() == 1);
            CHECK(ok.exception() == nullptr);
            REQUIRE(failed.has_exception());
            CHECK_FALSE(static_cast<bool>(failed));
            CHECK(what_of(failed.exception()) == "bad");
            CHECK_THROWS_WITH(failed.value(), "bad");
            CHECK(nothing.has_value());
            CHECK(*counter == 1);
        }(&log, &counter),
        watchdog);
    CHECK(log == log_t{"throw bad", "ok done"});  // the failure came first and cancelled nothing
}

TEST_CASE("gather_settled over a vector keeps the order and holds values and exceptions", "[gather]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            std::vector<corio::task<int>> children;
            children.push_back(value_after(20ms, 10));
            children.push_back(throw_after(1ms, "x"));
            children.push_back(value_after(5ms, 30));
            children.push_back(throw_after(10ms, "y"));
            std::vector<corio::outcome<int>> results = co_await corio::gather_settled(std::move(children));
            REQUIRE(results.size() == 4);
            CHECK(results[0].value() == 10);
            CHECK(what_of(results[1].exception()) == "x");
            CHECK(results[2].value() == 30);
            CHECK(what_of(results[3].exception()) == "y");
        }(),
        watchdog);
}

namespace {

corio::task<void> gather_settled_in_task(log_t* log) {
    try {
        (void)co_await corio::gather_settled(sleeper(log, "a"), sleeper(log, "b"));
        log->push_back("gather_settled returned");
    } catch (const corio::cancelled_error&) {
        log->push_back("gather_settled threw cancelled_error");
        throw;
    }
}

}  // namespace

TEST_CASE("Cancelling the task awaiting gather_settled cancels the children and throws", "[gather][cancel]") {
    log_t log;
    run_with_watchdog(
        [](log_t* log) -> corio::task<void> {
            const bool cancelled = co_await corio_test::spawn_and_cancel(gather_settled_in_task(log), 10ms);
            CHECK(cancelled);
        }(&log),
        watchdog);
    CHECK(log == log_t{"a cancelled", "b cancelled", "a unwound", "b unwound", "gather_settled threw cancelled_error"});
}

// ============================================================================
// wait_for
// ============================================================================

TEST_CASE("wait_for returns the value when the task finishes before the deadline", "[wait_for]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            corio::event_loop& loop = corio::get_running_loop();
            const std::size_t timers_before = loop.pending_timers();
            const int value = co_await corio::wait_for(value_after(10ms, 42), 2s);
            CHECK(value == 42);
            CHECK(loop.pending_timers() == timers_before);  // the deadline timer is gone
            const int immediate = co_await corio::wait_for(value_after(0ms, 43), 1s);
            CHECK(immediate == 43);
        }(),
        watchdog);
}

TEST_CASE("wait_for throws timeout_error only after the inner task was cancelled and unwound", "[wait_for]") {
    log_t log;
    run_with_watchdog(
        [](log_t* log) -> corio::task<void> {
            corio::event_loop& loop = corio::get_running_loop();
            const std::size_t timers_before = loop.pending_timers();
            stopwatch clock;
            try {
                (void)co_await corio::wait_for(sleeper(log, "inner"), 30ms);
                log->push_back("wait_for returned");
            } catch (const corio::timeout_error& e) {
                log->push_back("timeout");
                CHECK(std::string(e.what()).find("timed out") != std::string::npos);
            }
            const auto elapsed = clock.elapsed();
            CHECK(elapsed >= 30ms + 20ms);  // the deadline, then the inner's asynchronous cleanup
            CHECK(elapsed < 2s);
            CHECK(loop.pending_timers() == timers_before);
        }(&log),
        watchdog);
    CHECK(log == log_t{"inner cancelled", "inner unwound", "timeout"});
}

TEST_CASE("timeout_error is a std::exception", "[wait_for]") {
    STATIC_REQUIRE(std::is_base_of_v<std::exception, corio::timeout_error>);
    run_with_watchdog(
        []() -> corio::task<void> {
            bool caught = false;
            try {
                co_await corio::wait_for(corio::sleep(5s), 10ms);
            } catch (const std::exception&) {
                caught = true;
            }
            CHECK(caught);
        }(),
        watchdog);
}

namespace {

struct custom_error : std::runtime_error {
    explicit custom_error(int c) : std::runtime_error("custom"), code(c) {}
    int code;
};

corio::task<int> throw_custom_after(ms delay, int code) {
    co_await corio::sleep(delay);
    throw custom_error(code);
}

}  // namespace

TEST_CASE("An exception from the inner task passes through wait_for unchanged", "[wait_for]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            int code = 0;
            bool was_timeout = false;
            try {
                (void)co_await corio::wait_for(throw_custom_after(5ms, 17), 2s);
            } catch (const corio::timeout_error&) {
                was_timeout = true;
            } catch (const custom_error& e) {
                code = e.code;
            }
            CHECK_FALSE(was_timeout);
            CHECK(code == 17);
        }(),
        watchdog);
}

TEST_CASE("wait_for returns the value of an inner task that swallows the cancellation", "[wait_for]") {
    log_t log;
    run_with_watchdog(
        [](log_t* log) -> corio::task<void> {
            const int value = co_await corio::wait_for(stubborn(log, -1), 20ms);
            CHECK(value == -1);
        }(&log),
        watchdog);
    CHECK(log == log_t{"stubborn swallowed"});
}

namespace {

corio::task<void> wait_for_in_task(log_t* log) {
    try {
        (void)co_await corio::wait_for(sleeper(log, "inner"), 5s);
        log->push_back("wait_for returned");
    } catch (const corio::timeout_error&) {
        log->push_back("wait_for timed out");
    } catch (const corio::cancelled_error&) {
        log->push_back("wait_for threw cancelled_error");
        throw;
    }
}

}  // namespace

TEST_CASE("Cancelling the task awaiting wait_for cancels the inner task and throws cancelled_error",
          "[wait_for][cancel]") {
    log_t log;
    run_with_watchdog(
        [](log_t* log) -> corio::task<void> {
            corio::event_loop& loop = corio::get_running_loop();
            const std::size_t timers_before = loop.pending_timers();
            corio::task_handle<void> handle = corio::create_task(wait_for_in_task(log));
            co_await corio::sleep(10ms);
            CHECK(loop.pending_timers() == timers_before + 2);  // the deadline and the inner sleep
            handle.cancel();
            const bool handle_cancelled = co_await corio_test::ended_cancelled(handle);
            CHECK(handle_cancelled);
            CHECK(loop.pending_timers() == timers_before);
        }(&log),
        watchdog);
    CHECK(log == log_t{"inner cancelled", "inner unwound", "wait_for threw cancelled_error"});
}

TEST_CASE("wait_for on a task handle cancels that task on timeout", "[wait_for]") {
    log_t log;
    run_with_watchdog(
        [](log_t* log) -> corio::task<void> {
            corio::task_handle<int> spawned = corio::create_task(sleeper(log, "spawned"));
            try {
                (void)co_await corio::wait_for(spawned, 20ms);
                log->push_back("wait_for returned");
            } catch (const corio::timeout_error&) {
                log->push_back("timeout");
            }
            CHECK(spawned.done());
            CHECK(spawned.cancelled());
        }(&log),
        watchdog);
    CHECK(log == log_t{"spawned cancelled", "spawned unwound", "timeout"});
}

TEST_CASE("wait_for on a plain awaitable times out and leaves no timer behind", "[wait_for]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            corio::event_loop& loop = corio::get_running_loop();
            const std::size_t timers_before = loop.pending_timers();
            stopwatch clock;
            bool timed_out = false;
            try {
                co_await corio::wait_for(corio::sleep(5s), 20ms);
            } catch (const corio::timeout_error&) {
                timed_out = true;
            }
            CHECK(timed_out);
            CHECK(clock.elapsed() < 2s);
            CHECK(loop.pending_timers() == timers_before);
            co_await corio::wait_for(corio::sleep(1ms), 1s);  // and succeeds in time
            CHECK(loop.pending_timers() == timers_before);
        }(),
        watchdog);
}

namespace {

corio::task<int> inner_wait(log_t* log, ms timeout) {
    try {
        co_return co_await corio::wait_for(sleeper(log, "leaf"), timeout);
    } catch (const corio::timeout_error&) {
        log->push_back("inner timeout");
        throw;
    } catch (const corio::cancelled_error&) {
        log->push_back("inner wait_for cancelled");
        throw;
    }
}

}  // namespace

TEST_CASE("Nested wait_for: the shorter deadline wins", "[wait_for]") {
    SECTION("inner deadline shorter: the inner timeout_error passes through the outer wait_for") {
        log_t log;
        stopwatch clock;
        run_with_watchdog(
            [](log_t* log) -> corio::task<void> {
                try {
                    (void)co_await corio::wait_for(inner_wait(log, 20ms), 2s);
                } catch (const corio::timeout_error&) {
                    log->push_back("outer caught timeout");
                }
            }(&log),
            watchdog);
        CHECK(clock.elapsed() < 1s);
        CHECK(log == log_t{"leaf cancelled", "leaf unwound", "inner timeout", "outer caught timeout"});
    }
    SECTION("outer deadline shorter: the inner wait_for is cancelled, the outer times out") {
        log_t log;
        stopwatch clock;
        run_with_watchdog(
            [](log_t* log) -> corio::task<void> {
                try {
                    (void)co_await corio::wait_for(inner_wait(log, 5s), 20ms);
                } catch (const corio::timeout_error&) {
                    log->push_back("outer caught timeout");
                }
            }(&log),
            watchdog);
        CHECK(clock.elapsed() < 1s);
        CHECK(log == log_t{"leaf cancelled", "leaf unwound", "inner wait_for cancelled", "outer caught timeout"});
    }
}

namespace {

corio::task<std::tuple<int, int>> gather_two_sleepers(log_t* log, ms cleanup_a, ms cleanup_b) {
    co_return co_await corio::gather(sleeper(log, "a", {}, cleanup_a), sleeper(log, "b", {}, cleanup_b));
}

corio::task<void> wait_for_gather(log_t* log, ms cleanup_a, ms cleanup_b) {
    try {
        (void)co_await corio::wait_for(gather_two_sleepers(log, cleanup_a, cleanup_b), 20ms);
    } catch (const corio::timeout_error&) {
        log->push_back("timeout");
    }
}

}  // namespace

TEST_CASE("wait_for around gather waits for every child to unwind before timing out", "[wait_for][gather]") {
    // The timeout cancels gather, gather cancels its children, and wait_for
    // throws only after all of them unwound. (gather's awaiter is not movable,
    // so `wait_for(gather(...), d)` does not compile: hence the wrapping task.)
    log_t log;
    run_with_watchdog(wait_for_gather(&log, 20ms, 20ms), watchdog);
    CHECK(log == log_t{"a cancelled", "b cancelled", "a unwound", "b unwound", "timeout"});
}

// Regression: the gather re-cancelling bug (see "Cancelling the task awaiting
// gather cancels each child only once"), reached through wait_for's timeout.
TEST_CASE("wait_for around gather cancels each child only once", "[wait_for][gather]") {
    log_t log;
    run_with_watchdog(wait_for_gather(&log, 10ms, 60ms), watchdog);
    CHECK(log == log_t{"a cancelled", "b cancelled", "a unwound", "b unwound", "timeout"});
}

// ============================================================================
// Composition: combinators are awaitables and can be handed to each other
// ============================================================================

namespace {

corio::task<int> value_in(std::chrono::milliseconds delay, int value) {
    co_await corio::sleep(delay);
    co_return value;
}

}  // namespace

TEST_CASE("wait_for accepts a gather directly and gather nests gather and wait_for", "[gather][wait_for]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            auto [a, b] = co_await corio::wait_for(corio::gather(value_in(1ms, 1), value_in(2ms, 2)), 1s);
            CHECK(a == 1);
            CHECK(b == 2);

            auto [inner, timed] = co_await corio::gather(corio::gather(value_in(1ms, 3)),
                                                         corio::wait_for(value_in(1ms, 4), 1s));
            CHECK(std::get<0>(inner) == 3);
            CHECK(timed == 4);

            std::vector<corio::task<int>> tasks;
            tasks.push_back(value_in(1ms, 5));
            tasks.push_back(value_in(2ms, 6));
            const std::vector<int> values = co_await corio::wait_for(corio::gather(std::move(tasks)), 1s);
            CHECK(values == std::vector<int>{5, 6});

            // Not inside CHECK_THROWS_AS: g++ 12 may evaluate a co_await inside
            // Catch2's __builtin_constant_p wrapper a second time.
            bool timed_out = false;
            try {
                (void)co_await corio::wait_for(corio::gather(value_in(5s, 7)), 5ms);
            } catch (const corio::timeout_error&) {
                timed_out = true;
            }
            CHECK(timed_out);
            CHECK(corio::get_running_loop().pending_timers() == 1);  // only the watchdog's
        }(),
        watchdog);
}

namespace {

struct no_default {
    explicit no_default(int v) : value(v) {}
    int value;
};

corio::task<no_default> make_no_default(int v) { co_return no_default{v}; }

}  // namespace

TEST_CASE("gather and gather_settled work with results that are not default-constructible", "[gather]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            auto [a, b] = co_await corio::gather(make_no_default(1), make_no_default(2));
            CHECK(a.value + b.value == 3);
            auto [c, d] = co_await corio::gather_settled(make_no_default(3), make_no_default(4));
            REQUIRE(c.has_value());
            REQUIRE(d.has_value());
            CHECK(c.value().value + d.value().value == 7);
        }(),
        watchdog);
}
