// Tests of corio/cancel.hpp and the cancellation plumbing
// (corio/detail/cancellation.hpp) as every corio awaitable uses it.

#include "catch.hpp"
#include "test_support.hpp"

#include <corio/cancel.hpp>
#include <corio/combinators.hpp>
#include <corio/event_loop.hpp>
#include <corio/run.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/sync/semaphore.hpp>
#include <corio/task.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
#include <stdexcept>
#include <string>
#include <thread>
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

corio::task<void> forever(log_t* log, std::string name) {
    try {
        co_await corio::sleep(5s);
        log->push_back(name + " woke");
    } catch (const corio::cancelled_error&) {
        log->push_back(name + " cancelled");
        throw;
    }
}

// Awaits the handle until it finishes, swallowing its cancellation.
corio::task<void> finish(corio::task_handle<void> handle) {
    try {
        co_await handle;
    } catch (const corio::cancelled_error&) {
    }
}

}  // namespace

TEST_CASE("cancelled_error is not a std::exception, timeout_error is", "[cancel]") {
    STATIC_REQUIRE_FALSE(std::is_base_of_v<std::exception, corio::cancelled_error>);
    STATIC_REQUIRE(std::is_base_of_v<std::exception, corio::timeout_error>);
    STATIC_REQUIRE(std::is_base_of_v<std::runtime_error, corio::timeout_error>);
    CHECK(std::string(corio::cancelled_error{}.what()).find("cancel") != std::string::npos);
    CHECK(std::string(corio::timeout_error{}.what()).find("timed out") != std::string::npos);

    bool escaped = false;
    try {
        try {
            throw corio::cancelled_error{};
        } catch (const std::exception&) {
            FAIL("catch (const std::exception&) swallowed a cancellation");
        }
    } catch (const corio::cancelled_error&) {
        escaped = true;
    }
    CHECK(escaped);
}

namespace {

corio::task<void> catches_std_exception(log_t* log) {
    try {
        co_await corio::sleep(5s);
        log->push_back("sleep returned");
    } catch (const std::exception&) {
        log->push_back("swallowed by catch (std::exception)");
    }
    log->push_back("went on after the catch");
}

}  // namespace

TEST_CASE("catch (const std::exception&) around a cancelled sleep does not stop the cancellation",
          "[cancel]") {
    log_t log;
    run_with_watchdog(
        [](log_t* log) -> corio::task<void> {
            const bool cancelled = co_await corio_test::spawn_and_cancel(catches_std_exception(log), 1ms);
            CHECK(cancelled);
        }(&log),
        watchdog);
    CHECK(log.empty());
}

// ---------------------------------------------------------------------------
// Every suspension point throws cancelled_error and leaves nothing registered.
// ---------------------------------------------------------------------------

namespace {

// The victim: awaits what make() returns and reports how that ended.
template <class Make>
corio::task<void> victim(Make make, log_t* log) {
    try {
        (void)co_await make();
        log->push_back("resumed normally");
    } catch (const corio::cancelled_error&) {
        log->push_back("cancelled_error from the co_await");
        throw;
    }
}

struct registrations {
    std::size_t timers = 0;
    std::size_t tasks = 0;
};

registrations snapshot() {
    corio::event_loop& loop = corio::get_running_loop();
    return {loop.pending_timers(), loop.pending_tasks()};
}

// The callers name their capturing lambdas before the co_await: GCC 12
// destroys a capturing lambda temporary twice when it shares a
// full-expression with co_await (DESIGN.md, Pitfalls; seen here as a
// heap-use-after-free of a captured task_handle under g++ -fsanitize=address;
// same bug as equeim/tremotesf2#551).
//
// Starts the victim, lets it suspend, cancels it, and checks it ended cancelled
// with nothing left registered on the loop (`also_finishing`: spawned tasks
// that existed before and are expected to finish with the victim).
template <class Make>
corio::task<void> cancel_while_suspended(Make make, log_t* log, std::size_t also_finishing = 0) {
    const registrations before = snapshot();
    corio::task_handle<void> handle = corio::create_task(victim(std::move(make), log));
    co_await corio::sleep(1ms);
    REQUIRE_FALSE(handle.done());
    stopwatch clock;
    CHECK(handle.cancel());
    const bool cancelled = co_await corio_test::ended_cancelled(handle);
    CHECK(cancelled);
    CHECK(clock.elapsed() < 2s);
    const registrations after = snapshot();
    CHECK(after.timers == before.timers);
    CHECK(after.tasks + also_finishing == before.tasks);
}

}  // namespace

TEST_CASE("Cancellation at each suspension point throws cancelled_error and leaves no registration",
          "[cancel]") {
    const log_t expected{"cancelled_error from the co_await"};
    log_t log;
    SECTION("sleep") {
        run_with_watchdog(cancel_while_suspended([] { return corio::sleep(5s); }, &log), watchdog);
        CHECK(log == expected);
    }
    SECTION("sleep(0), a bare yield") {
        run_with_watchdog(
            [](log_t* log) -> corio::task<void> {
                corio::task_handle<void> handle = corio::create_task(victim([] { return corio::sleep(0ms); }, log));
                co_await corio::sleep(0ms);  // the victim has started and queued its yield
                REQUIRE_FALSE(handle.done());
                handle.cancel();
                const bool handle_cancelled = co_await corio_test::ended_cancelled(handle);
                CHECK(handle_cancelled);
            }(&log),
            watchdog);
        CHECK(log == expected);
    }
    SECTION("semaphore acquire") {
        corio::semaphore sem(0);
        run_with_watchdog(
            [](corio::semaphore* sem, log_t* log) -> corio::task<void> {
                auto make = [sem] { return sem->acquire(); };
                co_await cancel_while_suspended(std::move(make), log);
                CHECK(sem->waiters() == 0);
                CHECK(sem->available() == 0);
                sem->release();  // the cancelled waiter did not take this permit
                CHECK(sem->available() == 1);
            }(&sem, &log),
            watchdog);
        CHECK(log == expected);
    }
    SECTION("awaiting a task handle (the awaited task is cancelled too)") {
        log_t target_log;
        run_with_watchdog(
            [](log_t* log, log_t* target_log) -> corio::task<void> {
                corio::task_handle<void> target = corio::create_task(forever(target_log, "target"));
                auto make = [target] { return target; };
                co_await cancel_while_suspended(std::move(make), log, 1);
                CHECK(target.done());
                CHECK(target.cancelled());
            }(&log, &target_log),
            watchdog);
        CHECK(log == expected);
        CHECK(target_log == log_t{"target cancelled"});
    }
    SECTION("gather") {
        log_t children;
        run_with_watchdog(
            [](log_t* log, log_t* children) -> corio::task<void> {
                auto make = [children] { return corio::gather(forever(children, "a"), forever(children, "b")); };
                co_await cancel_while_suspended(std::move(make), log);
            }(&log, &children),
            watchdog);
        CHECK(log == expected);
        CHECK(children == log_t{"a cancelled", "b cancelled"});
    }
    SECTION("wait_for") {
        log_t inner;
        run_with_watchdog(
            [](log_t* log, log_t* inner) -> corio::task<void> {
                auto make = [inner] { return corio::wait_for(forever(inner, "inner"), 5s); };
                co_await cancel_while_suspended(std::move(make), log);
            }(&log, &inner),
            watchdog);
        CHECK(log == expected);  // cancelled_error, not timeout_error
        CHECK(inner == log_t{"inner cancelled"});
    }
}

// ---------------------------------------------------------------------------
// Delivery rules.
// ---------------------------------------------------------------------------

namespace {

corio::task<int> catches_and_goes_on(log_t* log) {
    try {
        co_await corio::sleep(5s);
        log->push_back("first sleep returned");
    } catch (const corio::cancelled_error&) {
        log->push_back("caught");
    }
    co_await corio::sleep(10ms);  // the cancellation was delivered once: this sleep is not cancelled
    log->push_back("slept again");
    co_await corio::sleep(0ms);
    log->push_back("yielded again");
    co_return 5;
}

}  // namespace

TEST_CASE("A task that catches cancelled_error can go on and await again", "[cancel]") {
    log_t log;
    run_with_watchdog(
        [](log_t* log) -> corio::task<void> {
            corio::task_handle<int> handle = corio::create_task(catches_and_goes_on(log));
            co_await corio::sleep(1ms);
            CHECK(handle.cancel());
            const int value = co_await handle;
            CHECK(value == 5);
            CHECK(handle.done());
            CHECK_FALSE(handle.cancelled());  // it finished with a value
        }(&log),
        watchdog);
    CHECK(log == log_t{"caught", "slept again", "yielded again"});
}

namespace {

corio::task<void> cancels_itself(corio::task_handle<void>* self, log_t* log) {
    CHECK(self->cancel());  // running, not suspended: nothing to throw from yet
    log->push_back("still running after cancel()");
    CHECK(self->cancel());  // still pending, so still accepted
    stopwatch clock;
    try {
        co_await corio::sleep(2s);
        log->push_back("sleep returned");
    } catch (const corio::cancelled_error&) {
        log->push_back("cancelled at the next suspension point");
        CHECK(clock.elapsed() < 1s);  // the sleep never waited
        throw;
    }
}

}  // namespace

TEST_CASE("A cancel requested while the task runs is delivered at its next suspension point", "[cancel]") {
    log_t log;
    run_with_watchdog(
        [](log_t* log) -> corio::task<void> {
            corio::event_loop& loop = corio::get_running_loop();
            const std::size_t timers_before = loop.pending_timers();
            corio::task_handle<void> self;
            self = corio::create_task(cancels_itself(&self, log));  // starts only after we yield
            const bool cancelled = co_await corio_test::ended_cancelled(self);
            CHECK(cancelled);
            CHECK(loop.pending_timers() == timers_before);
        }(&log),
        watchdog);
    CHECK(log == log_t{"still running after cancel()", "cancelled at the next suspension point"});
}

namespace {

corio::task<void> starts(log_t* log, std::string name) {
    log->push_back(name + " started");
    co_await corio::sleep(1ms);
}

// Cancels itself, then starts one operation: it must throw without starting
// any work (and without arming a timer).
template <class Make>
corio::task<void> pending_then(corio::task_handle<void>* self, Make make, log_t* log) {
    self->cancel();
    const std::size_t timers_before = corio::get_running_loop().pending_timers();
    try {
        (void)co_await make();
        log->push_back("operation completed");
    } catch (const corio::cancelled_error&) {
        log->push_back("thrown at once");
    }
    CHECK(corio::get_running_loop().pending_timers() == timers_before);
    co_await corio::sleep(1ms);  // delivered once: this one is not cancelled
    log->push_back("went on");
}

template <class Make>
corio::task<void> check_pending_then(Make make, log_t* log) {
    corio::task_handle<void> self;
    self = corio::create_task(pending_then(&self, std::move(make), log));
    co_await self;
    CHECK_FALSE(self.cancelled());
}

}  // namespace

TEST_CASE("An operation awaited while a cancellation is pending throws without starting its work",
          "[cancel]") {
    log_t log;
    SECTION("sleep") {
        run_with_watchdog(check_pending_then([] { return corio::sleep(1s); }, &log), watchdog);
        CHECK(log == log_t{"thrown at once", "went on"});
    }
    SECTION("gather: no child starts") {
        run_with_watchdog(
            [](log_t* log) -> corio::task<void> {
                auto make = [log] { return corio::gather(starts(log, "a"), starts(log, "b")); };
                co_await check_pending_then(std::move(make), log);
            }(&log),
            watchdog);
        CHECK(log == log_t{"thrown at once", "went on"});
    }
    SECTION("wait_for: the inner task does not start") {
        run_with_watchdog(
            [](log_t* log) -> corio::task<void> {
                auto make = [log] { return corio::wait_for(starts(log, "inner"), 1s); };
                co_await check_pending_then(std::move(make), log);
            }(&log),
            watchdog);
        CHECK(log == log_t{"thrown at once", "went on"});
    }
    SECTION("semaphore acquire that would have to wait") {
        corio::semaphore sem(0);
        run_with_watchdog(
            [](corio::semaphore* sem, log_t* log) -> corio::task<void> {
                auto make = [sem] { return sem->acquire(); };
                co_await check_pending_then(std::move(make), log);
                CHECK(sem->waiters() == 0);
            }(&sem, &log),
            watchdog);
        CHECK(log == log_t{"thrown at once", "went on"});
    }
}

namespace {

corio::task<void> short_sleep(log_t* log) {
    try {
        co_await corio::sleep(10ms);
        log->push_back("sleep returned");
    } catch (const corio::cancelled_error&) {
        log->push_back("sleep threw cancelled_error");
        throw;
    }
}

corio::task<int> await_int_handle(corio::task_handle<int> target, log_t* log) {
    try {
        const int value = co_await target;
        log->push_back("await returned");
        co_return value;
    } catch (const corio::cancelled_error&) {
        log->push_back("await threw cancelled_error");
        throw;
    }
}

corio::task<int> int_after(std::chrono::milliseconds delay, int value) {
    co_await corio::sleep(delay);
    co_return value;
}

}  // namespace

// The loop runs ready jobs in FIFO order, so blocking the thread past a
// deadline and then yielding puts this coroutine's resumption ahead of the
// resumption the expired timer queues: the operation has completed, its
// coroutine has not run yet, and the cancel lands in between. Like asyncio
// (Task.cancel with the awaited future already done throws CancelledError
// into the coroutine), the co_await must still throw.
TEST_CASE("A cancel arriving after the operation completed but before the task resumed still throws there",
          "[cancel]") {
    SECTION("sleep whose timer already fired") {
        log_t log;
        run_with_watchdog(
            [](log_t* log) -> corio::task<void> {
                corio::event_loop& loop = corio::get_running_loop();
                const std::size_t timers_before = loop.pending_timers();
                corio::task_handle<void> sleeper = corio::create_task(short_sleep(log));
                co_await corio::sleep(0ms);  // it started and sleeps
                std::this_thread::sleep_for(40ms);  // its deadline passes while the loop is blocked
                co_await corio::sleep(0ms);  // we run first; its resumption is queued behind us
                CHECK(loop.pending_timers() == timers_before);  // the timer fired
                CHECK_FALSE(sleeper.done());
                CHECK(sleeper.cancel());
                const bool sleeper_cancelled = co_await corio_test::ended_cancelled(sleeper);
                CHECK(sleeper_cancelled);
            }(&log),
            watchdog);
        CHECK(log == log_t{"sleep threw cancelled_error"});
    }
    SECTION("awaiting a task handle whose task already finished") {
        log_t log;
        run_with_watchdog(
            [](log_t* log) -> corio::task<void> {
                corio::task_handle<int> target = corio::create_task(int_after(10ms, 5));
                corio::task_handle<int> awaiter = corio::create_task(await_int_handle(target, log));
                co_await corio::sleep(0ms);  // both started: target sleeps, awaiter waits on it
                std::this_thread::sleep_for(40ms);
                co_await corio::sleep(0ms);  // [us, target]: target finishes and queues the awaiter
                co_await corio::sleep(0ms);  // [us, awaiter]
                REQUIRE(target.done());
                CHECK_FALSE(awaiter.done());
                CHECK(awaiter.cancel());
                const bool awaiter_cancelled = co_await corio_test::ended_cancelled(awaiter);
                CHECK(awaiter_cancelled);
                // The target is not affected: it finished with its value.
                CHECK_FALSE(target.cancelled());
                CHECK(target.result() == 5);
            }(&log),
            watchdog);
        CHECK(log == log_t{"await threw cancelled_error"});
    }
}

namespace {

corio::task<int> level3(log_t* log) {
    try {
        co_await corio::sleep(5s);
    } catch (const corio::cancelled_error&) {
        log->push_back("level3");
        throw;
    }
    co_return 3;
}

corio::task<int> level2(log_t* log) {
    try {
        co_return co_await level3(log) + 1;
    } catch (const corio::cancelled_error&) {
        log->push_back("level2");
        throw;
    }
}

corio::task<int> level1(log_t* log) {
    try {
        co_return co_await level2(log) + 1;
    } catch (const corio::cancelled_error&) {
        log->push_back("level1");
        throw;
    }
}

}  // namespace

TEST_CASE("Cancelling a nested chain throws at the innermost co_await and every level sees it", "[cancel]") {
    log_t log;
    run_with_watchdog(
        [](log_t* log) -> corio::task<void> {
            const bool cancelled = co_await corio_test::spawn_and_cancel(level1(log), 1ms);
            CHECK(cancelled);
        }(&log),
        watchdog);
    CHECK(log == log_t{"level3", "level2", "level1"});
}

namespace {

corio::task<void> two_step_cleanup(log_t* log) {
    bool cancelled = false;
    try {
        co_await corio::sleep(5s);
    } catch (const corio::cancelled_error&) {
        log->push_back("cancelled");
        cancelled = true;
    }
    if (cancelled) {
        try {
            co_await corio::sleep(10ms);  // asynchronous cleanup
            log->push_back("cleanup finished");
        } catch (const corio::cancelled_error&) {
            log->push_back("cleanup interrupted by a second cancelled_error");
        }
        throw corio::cancelled_error{};
    }
}

}  // namespace

// asyncio coalesces cancel() calls made before the task observed the first
// one (Task.cancel sets _must_cancel only if the awaited future could not be
// cancelled, and __step throws one CancelledError). Regression: corio used to
// keep the second request pending, so the cleanup's sleep threw again (which
// also broke corio::run's shutdown of a task awaited by another task).
TEST_CASE("Two cancel() calls before the task resumes are delivered as one cancelled_error",
          "[cancel]") {
    log_t log;
    run_with_watchdog(
        [](log_t* log) -> corio::task<void> {
            corio::task_handle<void> handle = corio::create_task(two_step_cleanup(log));
            co_await corio::sleep(1ms);
            CHECK(handle.cancel());
            CHECK(handle.cancel());
            co_await finish(handle);
            CHECK(handle.cancelled());
        }(&log),
        watchdog);
    CHECK(log == log_t{"cancelled", "cleanup finished"});
}

namespace {

corio::task<void> doze(std::size_t index, std::size_t* cancelled) {
    try {
        co_await corio::sleep(std::chrono::milliseconds(2000 + index % 1000));
    } catch (const corio::cancelled_error&) {
        ++*cancelled;
        throw;
    }
}

}  // namespace

constexpr std::size_t mass_cancel_count = 100'000;

TEST_CASE("A hundred thousand tasks cancelled mid-sleep all finish cancelled and leave nothing behind", "[cancel]") {
    constexpr std::size_t count = mass_cancel_count;
    std::size_t cancelled = 0;
    stopwatch clock;
    run_with_watchdog(
        [](std::size_t* cancelled) -> corio::task<void> {
            corio::event_loop& loop = corio::get_running_loop();
            const registrations before = snapshot();
            std::vector<corio::task_handle<void>> handles;
            handles.reserve(mass_cancel_count);
            for (std::size_t i = 0; i < mass_cancel_count; ++i) {
                handles.push_back(corio::create_task(doze(i, cancelled)));
            }
            co_await corio::sleep(1ms);  // every task started and sleeps now
            CHECK(loop.pending_timers() == before.timers + mass_cancel_count);
            std::size_t accepted = 0;
            for (auto& handle : handles) {
                accepted += handle.cancel() ? 1 : 0;
            }
            CHECK(accepted == mass_cancel_count);
            std::size_t seen = 0;
            for (auto& handle : handles) {
                try {
                    co_await handle;
                } catch (const corio::cancelled_error&) {
                    ++seen;
                }
            }
            CHECK(seen == mass_cancel_count);
            std::size_t flagged = 0;
            for (const auto& handle : handles) {
                flagged += handle.cancelled() ? 1 : 0;
            }
            CHECK(flagged == mass_cancel_count);
            const registrations after = snapshot();
            CHECK(after.timers == before.timers);
            CHECK(after.tasks == before.tasks);
        }(&cancelled),
        watchdog);
    CHECK(cancelled == count);
    CHECK(clock.elapsed() < (under_sanitizer ? 10s : 2s));  // nobody waited for a 2 s sleep
}
