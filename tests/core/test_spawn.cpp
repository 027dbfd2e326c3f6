// Tests of corio/spawn.hpp: create_task, task_handle, unretrieved task
// exceptions, and what corio::run does with spawned tasks at exit.

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

#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using corio_test::run_with_watchdog;
using corio_test::stopwatch;
using log_t = std::vector<std::string>;

constexpr auto watchdog = 10s;

using corio_test::under_sanitizer;

// ---- Children: free functions taking pointers to state that outlives them. ----

corio::task<void> append(log_t* log, std::string entry) {
    log->push_back(std::move(entry));
    co_return;
}

corio::task<int> int_after(std::chrono::milliseconds delay, int value) {
    co_await corio::sleep(delay);
    co_return value;
}

corio::task<void> set_after(std::chrono::milliseconds delay, bool* flag) {
    co_await corio::sleep(delay);
    *flag = true;
}

corio::task<int> throw_after(std::chrono::milliseconds delay, std::string what) {
    co_await corio::sleep(delay);
    throw std::runtime_error(what);
}

corio::task<int> await_handle(corio::task_handle<int> handle) { co_return co_await handle; }

corio::task<std::unique_ptr<int>> make_unique_after(std::chrono::milliseconds delay, int value) {
    co_await corio::sleep(delay);
    co_return std::make_unique<int>(value);
}

corio::task<int&> ref_after(std::chrono::milliseconds delay, int* target) {
    co_await corio::sleep(delay);
    co_return *target;
}

// Sleeps "forever"; when cancelled it logs, cleans up asynchronously, rethrows.
corio::task<int> sleeper(log_t* log, std::string name) {
    bool cancelled = false;
    try {
        co_await corio::sleep(5s);
        log->push_back(name + " woke");
    } catch (const corio::cancelled_error&) {
        log->push_back(name + " cancelled");
        cancelled = true;
    }
    if (cancelled) {  // no co_await inside a handler: clean up after it
        co_await corio::sleep(20ms);
        log->push_back(name + " unwound");
        throw corio::cancelled_error{};
    }
    co_return 1;
}

// Cancels its own task (so the request is pending: nothing is suspended to
// receive it) and then awaits `nested`.
corio::task<void> cancel_self_then_await(corio::task_handle<void>* self, corio::task_handle<int> nested,
                                         log_t* log) {
    co_await corio::sleep(0ms);  // let `nested` start and suspend
    self->cancel();
    try {
        const int value = co_await nested;
        log->push_back("awaiter got " + std::to_string(value));
    } catch (const corio::cancelled_error&) {
        log->push_back("awaiter cancelled");
        throw;
    }
}

corio::task<int> await_own_handle(corio::task_handle<int>* self) {
    co_await corio::sleep(0ms);  // `self` is set once the task runs
    co_return co_await *self;
}

// Polls `self` (awaiting it would wait on a task that may never finish) and
// returns what it ended with.
corio::task<std::string> outcome_of_self_await(corio::event_loop::duration patience) {
    corio::task_handle<int> self;
    self = corio::create_task(await_own_handle(&self));
    const auto deadline = std::chrono::steady_clock::now() + patience;
    while (!self.done() && std::chrono::steady_clock::now() < deadline) {
        co_await corio::sleep(1ms);
    }
    if (!self.done()) {
        co_return "still waiting for itself";
    }
    std::string outcome = "returned";
    try {
        (void)co_await self;
    } catch (const corio::invalid_state_error& error) {
        outcome = error.what();
    }
    co_return outcome;
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

// What the loop's exception handler was told.
struct report {
    std::string message;
    std::string what;
};

void record_unhandled(std::vector<report>* reports) {
    corio::get_running_loop().set_exception_handler(
        [reports](corio::event_loop&, const corio::exception_context& context) {
            reports->push_back({context.message, context.exception ? what_of(context.exception) : ""});
        });
}

}  // namespace

TEST_CASE("create_task schedules at once, but the body starts only after the creator yields", "[spawn]") {
    log_t log;
    run_with_watchdog(
        [](log_t* log) -> corio::task<void> {
            corio::task_handle<void> handle = corio::create_task(append(log, "child ran"));
            log->push_back("creator continues");
            CHECK(handle.valid());
            CHECK_FALSE(handle.done());
            co_await corio::sleep(0ms);  // one yield is enough: the task was already scheduled
            log->push_back("creator resumed");
            CHECK(handle.done());
            CHECK_FALSE(handle.cancelled());
        }(&log),
        watchdog);
    CHECK(log == log_t{"creator continues", "child ran", "creator resumed"});
}

TEST_CASE("Dropping the handle does not stop the task", "[spawn]") {
    bool finished = false;
    run_with_watchdog(
        [](bool* finished) -> corio::task<void> {
            corio::event_loop& loop = corio::get_running_loop();
            const std::size_t before = loop.pending_tasks();
            (void)corio::create_task(set_after(20ms, finished));  // handle dropped at once
            CHECK(loop.pending_tasks() == before + 1);
            stopwatch clock;
            while (!*finished && clock.elapsed() < 2s) {
                co_await corio::sleep(5ms);
            }
            CHECK(*finished);
            CHECK(loop.pending_tasks() == before);
        }(&finished),
        watchdog);
    CHECK(finished);
}

TEST_CASE("Several coroutines awaiting one handle all get its value, and it can be awaited again",
          "[spawn]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            corio::task_handle<int> shared = corio::create_task(int_after(30ms, 42));
            std::vector<corio::task_handle<int>> awaiters;
            for (int i = 0; i < 3; ++i) {
                awaiters.push_back(corio::create_task(await_handle(shared)));
            }
            co_await corio::sleep(0ms);
            CHECK_FALSE(shared.done());  // all three are waiting now
            std::vector<int> values;
            for (auto& awaiter : awaiters) {
                values.push_back(co_await awaiter);
            }
            CHECK(values == std::vector<int>{42, 42, 42});
            // Awaiting does not consume the handle: again, after it is done.
            CHECK(shared.done());
            const int again = co_await shared;
            const int once_more = co_await shared;
            CHECK(again == 42);
            CHECK(once_more == 42);
            CHECK(shared.result() == 42);
            CHECK(shared.exception() == nullptr);
            CHECK_FALSE(shared.cancelled());
        }(),
        watchdog);
}

TEST_CASE("result() and exception() throw invalid_state_error until the task is done", "[spawn]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            corio::task_handle<int> handle = corio::create_task(int_after(10ms, 7));
            CHECK_FALSE(handle.done());
            CHECK_THROWS_AS(handle.result(), corio::invalid_state_error);
            CHECK_THROWS_AS(handle.exception(), corio::invalid_state_error);
            const int value = co_await handle;
            CHECK(value == 7);
            CHECK(handle.done());
            CHECK(handle.result() == 7);
            CHECK(handle.exception() == nullptr);
        }(),
        watchdog);
}

TEST_CASE("co_await std::move(handle) moves a move-only result out", "[spawn]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            corio::task_handle<std::unique_ptr<int>> first = corio::create_task(make_unique_after(5ms, 11));
            std::unique_ptr<int> moved = co_await std::move(first);
            REQUIRE(moved != nullptr);
            CHECK(*moved == 11);

            corio::task_handle<std::unique_ptr<int>> second = corio::create_task(make_unique_after(1ms, 12));
            while (!second.done()) {
                co_await corio::sleep(1ms);
            }
            std::unique_ptr<int> taken = std::move(second).result();
            REQUIRE(taken != nullptr);
            CHECK(*taken == 12);
        }(),
        watchdog);
}

TEST_CASE("A handle to a task returning a reference gives the same object", "[spawn]") {
    int target = 5;
    run_with_watchdog(
        [](int* target) -> corio::task<void> {
            corio::task_handle<int&> handle = corio::create_task(ref_after(1ms, target));
            int& first = co_await handle;
            int& second = co_await handle;
            CHECK(&first == target);
            CHECK(&second == target);
            CHECK(&handle.result() == target);
            first = 6;
        }(&target),
        watchdog);
    CHECK(target == 6);
}

TEST_CASE("An exception in a spawned task is rethrown to every awaiter", "[spawn]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            corio::task_handle<int> failing = corio::create_task(throw_after(10ms, "boom"));
            std::vector<corio::task_handle<int>> awaiters;
            for (int i = 0; i < 3; ++i) {
                awaiters.push_back(corio::create_task(await_handle(failing)));
            }
            int rethrown = 0;
            for (auto& awaiter : awaiters) {
                try {
                    (void)co_await awaiter;
                } catch (const std::runtime_error& e) {
                    CHECK(std::string(e.what()) == "boom");
                    ++rethrown;
                }
            }
            CHECK(rethrown == 3);
            // And to a direct awaiter, and through result() / exception().
            bool direct = false;
            try {
                (void)co_await failing;
            } catch (const std::runtime_error& e) {
                direct = std::string(e.what()) == "boom";
            }
            CHECK(direct);
            CHECK(failing.done());
            CHECK_FALSE(failing.cancelled());
            CHECK_THROWS_WITH(failing.result(), "boom");
            const std::exception_ptr error = failing.exception();
            REQUIRE(error != nullptr);
            CHECK(what_of(error) == "boom");
        }(),
        watchdog);
}

TEST_CASE("A task cancelled before it started ends cancelled without running its body", "[spawn][cancel]") {
    bool ran = false;
    run_with_watchdog(
        [](bool* ran) -> corio::task<void> {
            corio::task_handle<void> handle = corio::create_task(set_after(0ms, ran));
            CHECK(handle.cancel());
            const bool threw = co_await corio_test::ended_cancelled(handle);
            CHECK(threw);
            CHECK(handle.done());
            CHECK_THROWS_AS(handle.result(), corio::cancelled_error);
            // Done now: a second cancel() is refused.
            CHECK_FALSE(handle.cancel());
        }(&ran),
        watchdog);
    CHECK_FALSE(ran);
}

TEST_CASE("Cancelling a sleeping task makes it end cancelled", "[spawn][cancel]") {
    log_t log;
    run_with_watchdog(
        [](log_t* log) -> corio::task<void> {
            corio::event_loop& loop = corio::get_running_loop();
            const std::size_t timers_before = loop.pending_timers();
            corio::task_handle<int> handle = corio::create_task(sleeper(log, "sleeper"));
            co_await corio::sleep(5ms);
            CHECK(loop.pending_timers() == timers_before + 1);
            CHECK_FALSE(handle.done());
            stopwatch clock;
            CHECK(handle.cancel());
            const bool threw = co_await corio_test::ended_cancelled(handle);
            CHECK(threw);
            CHECK(clock.elapsed() < 2s);
            CHECK(handle.done());
            CHECK(loop.pending_timers() == timers_before);
        }(&log),
        watchdog);
    CHECK(log == log_t{"sleeper cancelled", "sleeper unwound"});
}

TEST_CASE("cancel() on a finished task returns false and keeps its result", "[spawn][cancel]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            corio::task_handle<int> handle = corio::create_task(int_after(1ms, 3));
            const int value = co_await handle;
            CHECK(value == 3);
            CHECK_FALSE(handle.cancel());
            CHECK_FALSE(handle.cancelled());
            CHECK(handle.result() == 3);
        }(),
        watchdog);
}

namespace {

corio::task<int> awaiting_logger(corio::task_handle<int> target, log_t* log) {
    try {
        co_return co_await target;
    } catch (const corio::cancelled_error&) {
        log->push_back("awaiter resumed");
        throw;
    }
}

}  // namespace

TEST_CASE("Cancelling a coroutine that awaits a handle cancels that task and waits for it to unwind",
          "[spawn][cancel]") {
    log_t log;
    run_with_watchdog(
        [](log_t* log) -> corio::task<void> {
            corio::task_handle<int> target = corio::create_task(sleeper(log, "target"));
            corio::task_handle<int> awaiter = corio::create_task(awaiting_logger(target, log));
            co_await corio::sleep(10ms);
            CHECK(awaiter.cancel());
            try {
                (void)co_await awaiter;
                log->push_back("awaiter returned");
            } catch (const corio::cancelled_error&) {
                log->push_back("main saw cancellation");
            }
            CHECK(target.done());
            CHECK(target.cancelled());
            CHECK(awaiter.cancelled());
        }(&log),
        watchdog);
    CHECK(log == log_t{"target cancelled", "target unwound", "awaiter resumed", "main saw cancellation"});
}

// CPython bpo-34872, test_cancel_awaited_task: a task with a cancellation
// pending (it cancelled itself) that then awaits another task forwards the
// cancellation to it, waits for it to unwind and ends with its outcome.
TEST_CASE("A pending cancellation is forwarded to the task awaited next", "[spawn][cancel]") {
    log_t log;
    run_with_watchdog(
        [](log_t* log) -> corio::task<void> {
            corio::task_handle<int> nested = corio::create_task(sleeper(log, "nested"));
            corio::task_handle<void> outer;
            outer = corio::create_task(cancel_self_then_await(&outer, nested, log));
            CHECK(co_await corio_test::ended_cancelled(outer));
            CHECK(nested.done());
            CHECK(nested.cancelled());
        }(&log),
        watchdog);
    CHECK(log == log_t{"nested cancelled", "nested unwound", "awaiter cancelled"});
}

TEST_CASE("An unretrieved exception of a dropped task reaches the loop's exception handler", "[spawn]") {
    std::vector<report> reports;
    run_with_watchdog(
        [](std::vector<report>* reports) -> corio::task<void> {
            record_unhandled(reports);
            (void)corio::create_task(throw_after(1ms, "lost"));  // fire and forget
            co_await corio::sleep(30ms);
            CHECK(reports->size() == 1);
        }(&reports),
        watchdog);
    REQUIRE(reports.size() == 1);
    CHECK(reports[0].message == "Task exception was never retrieved");
    CHECK(reports[0].what == "lost");
}

TEST_CASE("An unretrieved exception is reported when the last handle is dropped", "[spawn]") {
    std::vector<report> reports;
    run_with_watchdog(
        [](std::vector<report>* reports) -> corio::task<void> {
            record_unhandled(reports);
            corio::task_handle<int> handle = corio::create_task(throw_after(1ms, "kept"));
            corio::task_handle<int> copy = handle;
            co_await corio::sleep(20ms);
            CHECK(handle.done());
            CHECK(reports->empty());  // handles still exist: someone may still retrieve it
            handle = {};
            CHECK(reports->empty());  // one copy left
            copy = {};
            REQUIRE(reports->size() == 1);
            CHECK((*reports)[0].message == "Task exception was never retrieved");
            CHECK((*reports)[0].what == "kept");
        }(&reports),
        watchdog);
    CHECK(reports.size() == 1);
}

TEST_CASE("Retrieved exceptions and cancelled tasks are not reported", "[spawn]") {
    std::vector<report> reports;
    log_t log;
    run_with_watchdog(
        [](std::vector<report>* reports, log_t* log) -> corio::task<void> {
            record_unhandled(reports);
            {
                corio::task_handle<int> awaited = corio::create_task(throw_after(1ms, "awaited"));
                try {
                    (void)co_await awaited;
                } catch (const std::runtime_error&) {
                }
            }
            {
                corio::task_handle<int> queried = corio::create_task(throw_after(1ms, "queried"));
                co_await corio::sleep(10ms);
                REQUIRE(queried.done());
                CHECK(what_of(queried.exception()) == "queried");
            }
            {
                corio::task_handle<int> via_result = corio::create_task(throw_after(1ms, "result"));
                co_await corio::sleep(10ms);
                REQUIRE(via_result.done());
                CHECK_THROWS_AS(via_result.result(), std::runtime_error);
            }
            {
                corio::task_handle<int> cancelled = corio::create_task(sleeper(log, "victim"));
                co_await corio::sleep(1ms);
                cancelled.cancel();
            }  // handle dropped while the cancellation is under way
            co_await corio::sleep(50ms);
            CHECK(log->size() == 2);  // the victim unwound
        }(&reports, &log),
        watchdog);
    CHECK(reports.empty());
    CHECK(log == log_t{"victim cancelled", "victim unwound"});
}

namespace {

corio::task<void> background(log_t* log, bool swallow) {
    bool cancelled = false;
    try {
        co_await corio::sleep(5s);
        log->push_back("background finished normally");
    } catch (const corio::cancelled_error&) {
        log->push_back("background cancelled");
        cancelled = true;
    }
    if (cancelled) {
        co_await corio::sleep(20ms);  // asynchronous cleanup
        log->push_back("background cleaned up");
        if (!swallow) {
            throw corio::cancelled_error{};
        }
    }
}

}  // namespace

TEST_CASE("corio::run cancels the tasks still running at exit and waits for their cleanup", "[spawn][cancel]") {
    log_t log;
    stopwatch clock;
    const int result = run_with_watchdog(
        [](log_t* log) -> corio::task<int> {
            (void)corio::create_task(background(log, false));
            (void)corio::create_task(background(log, true));
            co_await corio::sleep(5ms);
            log->push_back("main returns");
            co_return 7;
        }(&log),
        watchdog);
    CHECK(result == 7);
    CHECK(clock.elapsed() < 3s);  // did not wait for the 5 s sleeps
    CHECK(log == log_t{"main returns", "background cancelled", "background cancelled", "background cleaned up",
                       "background cleaned up"});
}

namespace {

corio::task<void> await_void_handle(corio::task_handle<void> handle) { co_await handle; }

}  // namespace

// At exit corio::run cancels both tasks in the same iteration: the awaiter
// (which forwards the cancellation to the awaited task) and the awaited task
// itself. The awaited task must see a single cancelled_error, so that its
// asynchronous cleanup runs to the end (asyncio coalesces the two requests).
// Regression: the second request used to interrupt the cleanup's sleep.
TEST_CASE("corio::run lets a task awaited by another task finish its cleanup at exit",
          "[spawn][cancel]") {
    log_t log;
    run_with_watchdog(
        [](log_t* log) -> corio::task<void> {
            corio::task_handle<void> awaited = corio::create_task(background(log, false));
            (void)corio::create_task(await_void_handle(awaited));
            co_await corio::sleep(5ms);
        }(&log),
        watchdog);
    CHECK(log == log_t{"background cancelled", "background cleaned up"});
}

TEST_CASE("A handle can outlive its loop and still report how the task ended", "[spawn]") {
    corio::task_handle<int> finished;
    corio::task_handle<int> unfinished;
    log_t log;
    run_with_watchdog(
        [](corio::task_handle<int>* finished, corio::task_handle<int>* unfinished, log_t* log) -> corio::task<void> {
            *finished = corio::create_task(int_after(1ms, 8));
            *unfinished = corio::create_task(sleeper(log, "left behind"));
            co_await corio::sleep(10ms);
        }(&finished, &unfinished, &log),
        watchdog);
    REQUIRE(finished.done());
    CHECK(finished.result() == 8);
    REQUIRE(unfinished.done());  // corio::run cancelled it at exit
    CHECK(unfinished.cancelled());
    CHECK_THROWS_AS(unfinished.result(), corio::cancelled_error);
    CHECK(log == log_t{"left behind cancelled", "left behind unwound"});
}

// CPython test_task_awaits_on_itself: asyncio raises RuntimeError("Task cannot
// await on itself"); a corio task awaiting its own handle throws
// invalid_state_error from that co_await instead of waiting for itself
// forever. The loop is driven by hand, under a watchdog, and closed without
// corio::run's shutdown: a regression (a task that can never finish, deaf to
// cancel()) would hang that shutdown; closing destroys its frame instead.
TEST_CASE("A task awaiting its own handle throws invalid_state_error", "[spawn]") {
    std::string outcome;
    {
        corio::event_loop loop;
        outcome = loop.run_until_complete(corio_test::detail::with_timeout(outcome_of_self_await(500ms), watchdog));
    }
    INFO("outcome: " << outcome);
    CHECK(outcome.find("cannot await on itself") != std::string::npos);
}

TEST_CASE("create_task outside a running loop throws event_loop_error", "[spawn]") {
    CHECK_THROWS_AS(corio::create_task(int_after(1ms, 1)), corio::event_loop_error);
    CHECK_THROWS_AS(corio::get_running_loop(), corio::event_loop_error);
}

namespace {

corio::task<void> tick(std::size_t* started, std::size_t* finished) {
    ++*started;
    co_await corio::sleep(0ms);
    ++*finished;
}

}  // namespace

// Heavy scheduling must not lose a task (reported against libcoro). The
// sanitizers make every frame ~10x dearer, so they get a tenth.
constexpr std::size_t million = under_sanitizer ? 100'000 : 1'000'000;

TEST_CASE("A million spawned tasks all run to completion", "[spawn]") {
    constexpr std::size_t count = million;
    std::size_t started = 0;
    std::size_t finished = 0;
    stopwatch clock;
    run_with_watchdog(
        [](std::size_t* started, std::size_t* finished) -> corio::task<void> {
            corio::event_loop& loop = corio::get_running_loop();
            const std::size_t tasks_before = loop.pending_tasks();
            std::vector<corio::task_handle<void>> sample;  // every 1000th handle kept
            for (std::size_t i = 0; i < million; ++i) {
                auto handle = corio::create_task(tick(started, finished));
                if (i % 1000 == 0) {
                    sample.push_back(std::move(handle));
                }
            }
            CHECK(*started == 0);  // none runs before the creator yields
            CHECK(loop.pending_tasks() == tasks_before + million);
            while (*finished < million) {
                co_await corio::sleep(1ms);
            }
            CHECK(loop.pending_tasks() == tasks_before);
            std::size_t sampled_done = 0;
            for (const auto& handle : sample) {
                sampled_done += handle.done() && !handle.cancelled() ? 1 : 0;
            }
            CHECK(sampled_done == sample.size());
        }(&started, &finished),
        watchdog);
    CHECK(started == count);
    CHECK(finished == count);
    INFO("elapsed: " << std::chrono::duration_cast<std::chrono::milliseconds>(clock.elapsed()).count() << " ms");
    CHECK(clock.elapsed() < 10s);
}

namespace {

// Awaits its own handle through a combinator: wait_for (how == 0) or gather.
corio::task<int> await_own_handle_through(corio::task_handle<int>* self, int how) {
    co_await corio::sleep(0ms);  // `self` is set once the task runs
    if (how == 0) {
        co_return co_await corio::wait_for(*self, 10s);
    }
    auto [value] = co_await corio::gather(*self);
    co_return value;
}

corio::task<std::string> outcome_of_indirect_self_await(int how, corio::event_loop::duration patience) {
    corio::task_handle<int> self;
    self = corio::create_task(await_own_handle_through(&self, how));
    const auto deadline = std::chrono::steady_clock::now() + patience;
    while (!self.done() && std::chrono::steady_clock::now() < deadline) {
        co_await corio::sleep(1ms);
    }
    if (!self.done()) {
        co_return "still waiting for itself";
    }
    std::string outcome = "returned";
    try {
        (void)co_await self;
    } catch (const corio::invalid_state_error& error) {
        outcome = error.what();
    }
    co_return outcome;
}

}  // namespace

// The same through a combinator's child strand, which runs inside the task.
TEST_CASE("A task awaiting its own handle through wait_for or gather throws invalid_state_error", "[spawn]") {
    for (int how : {0, 1}) {
        std::string outcome;
        {
            corio::event_loop loop;
            outcome = loop.run_until_complete(
                corio_test::detail::with_timeout(outcome_of_indirect_self_await(how, 500ms), watchdog));
        }
        INFO("how: " << how << ", outcome: " << outcome);
        CHECK(outcome.find("cannot await on itself") != std::string::npos);
    }
}
