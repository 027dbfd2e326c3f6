// Tests of corio/sync/mutex.hpp: mutex and the RAII mutex_lock.
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
#include <corio/sync/mutex.hpp>
#include <corio/task.hpp>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using corio_test::ended_cancelled;
using corio_test::run_with_watchdog;
using log_t = std::vector<std::string>;
using ms = std::chrono::milliseconds;

constexpr auto watchdog = 10s;

// Locks, logs `name`, holds the lock for `hold`, unlocks.
corio::task<void> lock_and_hold(corio::mutex* m, log_t* log, std::string name, ms hold) {
    corio::mutex_lock lock = co_await m->lock();
    log->push_back(name);
    co_await corio::sleep(hold);
}

// Locks and logs what happened, including a cancellation (rethrown).
corio::task<void> waiter(corio::mutex* m, log_t* log, std::string name) {
    try {
        corio::mutex_lock lock = co_await m->lock();
        log->push_back(name + " locked");
        co_await corio::sleep(1ms);
        log->push_back(name + " unlocked");
    } catch (const corio::cancelled_error&) {
        log->push_back(name + " cancelled");
        throw;
    }
}

}  // namespace

TEST_CASE("lock() gives an RAII lock that unlocks when it goes away", "[mutex]") {
    corio::mutex m;
    run_with_watchdog(
        [](corio::mutex* m) -> corio::task<void> {
            CHECK_FALSE(m->locked());
            {
                corio::mutex_lock lock = co_await m->lock();
                static_assert(std::is_same_v<decltype(lock), corio::mutex_lock>);
                CHECK(lock.owns_lock());
                CHECK(static_cast<bool>(lock));
                CHECK(lock.mutex() == m);
                CHECK(m->locked());
                CHECK_FALSE(m->try_lock().has_value());

                corio::mutex_lock moved = std::move(lock);
                CHECK(moved.owns_lock());
                CHECK_FALSE(lock.owns_lock());  // NOLINT(bugprone-use-after-move): specified state
                CHECK(lock.mutex() == nullptr);
                CHECK(m->locked());  // moving does not unlock

                moved.unlock();  // early unlock
                CHECK_FALSE(moved.owns_lock());
                CHECK_FALSE(m->locked());
                moved.unlock();  // unlocking an empty lock is a no-op
                CHECK_FALSE(m->locked());
            }
            CHECK_FALSE(m->locked());
        }(&m),
        watchdog);
}

TEST_CASE("try_lock() locks a free mutex without waiting", "[mutex]") {
    corio::mutex m;
    std::optional<corio::mutex_lock> first = m.try_lock();
    REQUIRE(first.has_value());
    CHECK(first->owns_lock());
    CHECK(m.locked());
    CHECK_FALSE(m.try_lock().has_value());
    first.reset();
    CHECK_FALSE(m.locked());

    // Move-assigning over a held lock unlocks what it held.
    corio::mutex other;
    std::optional<corio::mutex_lock> a = m.try_lock();
    std::optional<corio::mutex_lock> b = other.try_lock();
    REQUIRE(a.has_value());
    REQUIRE(b.has_value());
    *a = std::move(*b);
    CHECK_FALSE(m.locked());
    CHECK(other.locked());
    CHECK(a->mutex() == &other);
}

TEST_CASE("At most one coroutine is inside the critical section", "[mutex]") {
    corio::mutex m;
    int inside = 0;
    int max_inside = 0;
    int done = 0;
    run_with_watchdog(
        [](corio::mutex* m, int* inside, int* max_inside, int* done) -> corio::task<void> {
            std::vector<corio::task<void>> workers;
            for (int i = 0; i < 20; ++i) {
                workers.push_back([](corio::mutex* m, int* inside, int* max_inside, int* done,
                                     int i) -> corio::task<void> {
                    for (int round = 0; round < 5; ++round) {
                        corio::mutex_lock lock = co_await m->lock();
                        ++*inside;
                        *max_inside = std::max(*max_inside, *inside);
                        co_await corio::sleep(ms(i % 2));  // yield or sleep while holding it
                        --*inside;
                    }
                    ++*done;
                }(m, inside, max_inside, done, i));
            }
            co_await corio::gather(std::move(workers));
        }(&m, &inside, &max_inside, &done),
        watchdog);
    CHECK(max_inside == 1);
    CHECK(done == 20);
    CHECK_FALSE(m.locked());
    CHECK(m.waiters() == 0);
}

TEST_CASE("Waiters get the mutex in FIFO order", "[mutex]") {
    corio::mutex m;
    log_t order;
    run_with_watchdog(
        [](corio::mutex* m, log_t* order) -> corio::task<void> {
            corio::mutex_lock held = co_await m->lock();
            std::vector<corio::task_handle<void>> handles;
            for (const char* name : {"3", "1", "4", "0", "2"}) {
                handles.push_back(corio::create_task(lock_and_hold(m, order, name, 1ms)));
            }
            co_await corio::sleep(0ms);
            CHECK(m->waiters() == 5);
            held.unlock();
            for (auto& handle : handles) {
                co_await handle;
            }
        }(&m, &order),
        watchdog);
    CHECK(order == log_t{"3", "1", "4", "0", "2"});
    CHECK_FALSE(m.locked());
}

TEST_CASE("An unlock hands the mutex to the first waiter, a newcomer cannot overtake", "[mutex]") {
    corio::mutex m;
    log_t order;
    run_with_watchdog(
        [](corio::mutex* m, log_t* order) -> corio::task<void> {
            corio::mutex_lock held = co_await m->lock();
            corio::task_handle<void> a = corio::create_task(lock_and_hold(m, order, "a", 1ms));
            co_await corio::sleep(0ms);
            REQUIRE(m->waiters() == 1);
            held.unlock();  // handed to a, which has not run yet
            CHECK(m->locked());
            CHECK(m->waiters() == 0);
            CHECK_FALSE(m->try_lock().has_value());
            // A newcomer that waits queues behind a.
            corio::task_handle<void> b = corio::create_task(lock_and_hold(m, order, "b", 1ms));
            co_await corio::sleep(
                0ms);  // b starts and queues (a has not finished: it holds the lock 1 ms)
            CHECK(m->waiters() == 1);
            corio::mutex_lock mine = co_await m->lock();  // and so do we, after b
            order->push_back("main");
            mine.unlock();
            co_await a;
            co_await b;
        }(&m, &order),
        watchdog);
    CHECK(order == log_t{"a", "b", "main"});
    CHECK_FALSE(m.locked());
}

TEST_CASE("A cancelled waiter never gets the mutex and the next waiter does", "[mutex][cancel]") {
    corio::mutex m;
    log_t log;
    run_with_watchdog(
        [](corio::mutex* m, log_t* log) -> corio::task<void> {
            corio::mutex_lock held = co_await m->lock();
            corio::task_handle<void> a = corio::create_task(waiter(m, log, "a"));
            corio::task_handle<void> b = corio::create_task(waiter(m, log, "b"));
            corio::task_handle<void> c = corio::create_task(waiter(m, log, "c"));
            co_await corio::sleep(0ms);
            REQUIRE(m->waiters() == 3);

            CHECK(b.cancel());  // in the middle of the queue
            const bool r1 = co_await ended_cancelled(b);
            CHECK(r1);
            CHECK(m->waiters() == 2);
            CHECK(a.cancel());  // at the front
            const bool r2 = co_await ended_cancelled(a);
            CHECK(r2);
            CHECK(m->waiters() == 1);
            CHECK(m->locked());

            held.unlock();
            const bool r3 = co_await ended_cancelled(c);
            CHECK_FALSE(r3);
            CHECK(m->waiters() == 0);
            CHECK_FALSE(m->locked());
        }(&m, &log),
        watchdog);
    CHECK(log == log_t{"b cancelled", "a cancelled", "c locked", "c unlocked"});
}

TEST_CASE("A waiter cancelled after the hand-over but before it resumed passes the mutex on",
          "[mutex][cancel]") {
    corio::mutex m;
    log_t log;
    SECTION("to the next waiter") {
        run_with_watchdog(
            [](corio::mutex* m, log_t* log) -> corio::task<void> {
                corio::mutex_lock held = co_await m->lock();
                corio::task_handle<void> w = corio::create_task(waiter(m, log, "w"));
                corio::task_handle<void> next = corio::create_task(waiter(m, log, "next"));
                co_await corio::sleep(0ms);
                held.unlock();      // ownership goes to w ...
                CHECK(w.cancel());  // ... which is cancelled before it runs
                const bool r4 = co_await ended_cancelled(w);
                CHECK(r4);
                const bool r5 = co_await ended_cancelled(next);
                CHECK_FALSE(r5);
                CHECK_FALSE(m->locked());
            }(&m, &log),
            watchdog);
        CHECK(log == log_t{"w cancelled", "next locked", "next unlocked"});
    }
    SECTION("or frees it when nobody else waits") {
        run_with_watchdog(
            [](corio::mutex* m, log_t* log) -> corio::task<void> {
                corio::mutex_lock held = co_await m->lock();
                corio::task_handle<void> w = corio::create_task(waiter(m, log, "w"));
                co_await corio::sleep(0ms);
                held.unlock();
                CHECK(m->locked());  // handed over
                w.cancel();
                const bool r6 = co_await ended_cancelled(w);
                CHECK(r6);
                CHECK_FALSE(m->locked());
                CHECK(m->try_lock().has_value());
            }(&m, &log),
            watchdog);
        CHECK(log == log_t{"w cancelled"});
    }
}

TEST_CASE("wait_for on lock() times out and leaves no waiter behind", "[mutex][cancel]") {
    corio::mutex m;
    run_with_watchdog(
        [](corio::mutex* m) -> corio::task<void> {
            corio::mutex_lock held = co_await m->lock();
            bool timed_out = false;
            try {
                corio::mutex_lock never = co_await corio::wait_for(m->lock(), 20ms);
            } catch (const corio::timeout_error&) {
                timed_out = true;
            }
            CHECK(timed_out);
            CHECK(m->waiters() == 0);
            CHECK(m->locked());
            held.unlock();
            CHECK_FALSE(m->locked());

            // And when the mutex is free in time, wait_for hands the lock over.
            corio::mutex_lock got = co_await corio::wait_for(m->lock(), 1s);
            CHECK(got.owns_lock());
            CHECK(m->locked());
        }(&m),
        watchdog);
    CHECK_FALSE(m.locked());
}
