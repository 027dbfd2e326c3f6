// Tests of corio/sync/condition.hpp: condition bound to a corio::mutex.
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
#include <corio/sync/condition.hpp>
#include <corio/sync/mutex.hpp>
#include <corio/task.hpp>

#include <chrono>
#include <deque>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using corio_test::ended_cancelled;
using corio_test::run_with_watchdog;
using log_t = std::vector<std::string>;

constexpr auto watchdog = 10s;

// Locks, waits once for a notification, logs whether it holds the lock.
corio::task<void> waiter(corio::condition* cond, log_t* log, std::string name) {
    corio::mutex_lock lock = co_await cond->lock();
    bool cancelled = false;
    try {
        co_await cond->wait(lock);
    } catch (const corio::cancelled_error&) {
        cancelled = true;
    }
    log->push_back(name + (cancelled ? " cancelled" : " woke") +
                   (lock.owns_lock() && cond->get_mutex().locked() ? " locked" : " UNLOCKED"));
    if (cancelled) {
        throw corio::cancelled_error{};
    }
    co_await corio::sleep(0ms);  // hold the lock across a suspension
}

// Locks the condition's mutex and notifies `n` waiters (all when n < 0).
corio::task<void> notify(corio::condition* cond, int n) {
    corio::mutex_lock lock = co_await cond->lock();
    if (n < 0) {
        cond->notify_all();
    } else {
        cond->notify(static_cast<std::size_t>(n));
    }
}

}  // namespace

TEST_CASE("wait() releases the lock while waiting and holds it again when it returns",
          "[condition]") {
    corio::mutex m;
    corio::condition cond(m);
    log_t log;
    run_with_watchdog(
        [](corio::mutex* m, corio::condition* cond, log_t* log) -> corio::task<void> {
            CHECK(&cond->get_mutex() == m);
            corio::task_handle<void> w = corio::create_task(waiter(cond, log, "w"));
            co_await corio::sleep(1ms);
            CHECK(cond->waiters() == 1);
            CHECK_FALSE(m->locked());  // released by the waiting coroutine
            {
                corio::mutex_lock lock = co_await m->lock();
                cond->notify_one();
                CHECK(cond->waiters() == 0);
                co_await corio::sleep(2ms);
                CHECK(log->empty());  // notified, but waits for the lock we hold
            }
            co_await w;
            CHECK_FALSE(m->locked());
        }(&m, &cond, &log),
        watchdog);
    CHECK(log == log_t{"w woke locked"});
}

TEST_CASE("notify_one() wakes waiters one at a time in FIFO order, notify_all() wakes the rest",
          "[condition]") {
    corio::condition cond;
    log_t log;
    run_with_watchdog(
        [](corio::condition* cond, log_t* log) -> corio::task<void> {
            std::vector<corio::task_handle<void>> handles;
            for (const char* name : {"c", "a", "e", "b", "d"}) {
                handles.push_back(corio::create_task(waiter(cond, log, name)));
            }
            co_await corio::sleep(1ms);
            REQUIRE(cond->waiters() == 5);
            co_await notify(cond, 1);
            co_await corio::sleep(2ms);
            CHECK(*log == log_t{"c woke locked"});
            co_await notify(cond, 1);
            co_await corio::sleep(2ms);
            CHECK(*log == log_t{"c woke locked", "a woke locked"});
            co_await notify(cond, -1);
            for (auto& handle : handles) {
                co_await handle;
            }
            CHECK(cond->waiters() == 0);
        }(&cond, &log),
        watchdog);
    CHECK(log == log_t{"c woke locked", "a woke locked", "e woke locked", "b woke locked",
                       "d woke locked"});
}

TEST_CASE("wait(lock, predicate) returns once the predicate holds, with the lock held",
          "[condition]") {
    corio::condition cond;
    std::deque<int> items;
    std::vector<int> consumed;
    run_with_watchdog(
        [](corio::condition* cond, std::deque<int>* items,
           std::vector<int>* consumed) -> corio::task<void> {
            corio::task_handle<void> consumer =
                corio::create_task([](corio::condition* cond, std::deque<int>* items,
                                      std::vector<int>* consumed) -> corio::task<void> {
                    while (true) {
                        corio::mutex_lock lock = co_await cond->lock();
                        auto has_items = [items] { return !items->empty(); };
                        co_await cond->wait(lock, has_items);
                        REQUIRE(lock.owns_lock());
                        const int item = items->front();
                        items->pop_front();
                        if (item < 0) {
                            co_return;
                        }
                        consumed->push_back(item);
                    }
                }(cond, items, consumed));
            for (int i = 1; i <= 5; ++i) {
                co_await corio::sleep(1ms);
                corio::mutex_lock lock = co_await cond->lock();
                items->push_back(i);
                if (i == 3) {
                    items->push_back(30);  // two items, one notification
                }
                cond->notify_one();
            }
            {
                corio::mutex_lock lock = co_await cond->lock();
                cond->notify_all();  // a spurious notification: the predicate is false
            }
            co_await corio::sleep(1ms);
            {
                corio::mutex_lock lock = co_await cond->lock();
                items->push_back(-1);
                cond->notify_all();
            }
            co_await consumer;
        }(&cond, &items, &consumed),
        watchdog);
    CHECK(consumed == std::vector<int>{1, 2, 3, 30, 4, 5});
    CHECK(items.empty());
}

TEST_CASE("A cancelled wait() throws with the lock held again and leaves no waiter",
          "[condition][cancel]") {
    corio::condition cond;
    log_t log;
    run_with_watchdog(
        [](corio::condition* cond, log_t* log) -> corio::task<void> {
            corio::task_handle<void> a = corio::create_task(waiter(cond, log, "a"));
            corio::task_handle<void> b = corio::create_task(waiter(cond, log, "b"));
            co_await corio::sleep(1ms);
            REQUIRE(cond->waiters() == 2);
            CHECK(a.cancel());
            const bool r1 = co_await ended_cancelled(a);
            CHECK(r1);
            CHECK(cond->waiters() == 1);
            CHECK_FALSE(cond->get_mutex().locked());  // a's lock went away with its frame
            co_await notify(cond, 1);                 // reaches b
            const bool r2 = co_await ended_cancelled(b);
            CHECK_FALSE(r2);
        }(&cond, &log),
        watchdog);
    CHECK(log == log_t{"a cancelled locked", "b woke locked"});
}

TEST_CASE("A wait() cancelled while the lock is held elsewhere throws only once it has the lock",
          "[condition][cancel]") {
    corio::condition cond;
    log_t log;
    run_with_watchdog(
        [](corio::condition* cond, log_t* log) -> corio::task<void> {
            corio::task_handle<void> w = corio::create_task(waiter(cond, log, "w"));
            co_await corio::sleep(1ms);
            {
                corio::mutex_lock lock = co_await cond->lock();
                CHECK(w.cancel());
                co_await corio::sleep(5ms);
                CHECK(log->empty());  // w cannot finish without the lock
                CHECK_FALSE(w.done());
                CHECK(cond->get_mutex().waiters() == 1);  // w queues for the lock
                // A second cancel while it re-locks is absorbed, not a new error.
                w.cancel();
                co_await corio::sleep(1ms);
                log->push_back("main unlocks");
            }
            const bool r3 = co_await ended_cancelled(w);
            CHECK(r3);
            CHECK_FALSE(cond->get_mutex().locked());
        }(&cond, &log),
        watchdog);
    CHECK(log == log_t{"main unlocks", "w cancelled locked"});
}

TEST_CASE("A notification given to a waiter cancelled before it resumed passes to the next waiter",
          "[condition][cancel]") {
    corio::condition cond;
    log_t log;
    run_with_watchdog(
        [](corio::condition* cond, log_t* log) -> corio::task<void> {
            corio::task_handle<void> a = corio::create_task(waiter(cond, log, "a"));
            corio::task_handle<void> b = corio::create_task(waiter(cond, log, "b"));
            corio::task_handle<void> c = corio::create_task(waiter(cond, log, "c"));
            co_await corio::sleep(1ms);
            {
                corio::mutex_lock lock = co_await cond->lock();
                cond->notify_one();  // a is notified ...
                CHECK(a.cancel());   // ... and cancelled before it runs
            }
            const bool r4 = co_await ended_cancelled(a);
            CHECK(r4);
            const bool r5 = co_await ended_cancelled(b);  // b got the notification
            CHECK_FALSE(r5);
            CHECK(cond->waiters() == 1);  // c still waits: one notify, one wake-up
            co_await notify(cond, 1);
            const bool r6 = co_await ended_cancelled(c);
            CHECK_FALSE(r6);
        }(&cond, &log),
        watchdog);
    CHECK(log == log_t{"a cancelled locked", "b woke locked", "c woke locked"});
}

// CPython gh-112202, test_cancelled_wakeup_relock: a waiter notified and then
// cancelled while it waits to re-lock (the notifier still holds the lock) has
// used up the notification without acting on it; it must pass to the next
// waiter, or notify_one() is lost and that waiter sleeps forever.
TEST_CASE("A waiter notified and then cancelled while re-locking passes the notification on",
          "[condition][cancel]") {
    corio::condition cond;
    log_t log;
    run_with_watchdog(
        [](corio::condition* cond, log_t* log) -> corio::task<void> {
            corio::task_handle<void> a = corio::create_task(waiter(cond, log, "a"));
            corio::task_handle<void> b = corio::create_task(waiter(cond, log, "b"));
            co_await corio::sleep(1ms);
            {
                corio::mutex_lock lock = co_await cond->lock();
                cond->notify_one();          // a is notified ...
                co_await corio::sleep(1ms);  // ... resumes and queues for the lock held here ...
                CHECK(cond->waiters() == 1);
                CHECK(cond->get_mutex().waiters() == 1);
                CHECK(a.cancel());  // ... and is cancelled while re-locking
            }
            const bool a_cancelled = co_await ended_cancelled(a);
            CHECK(a_cancelled);
            bool b_woke = false;
            try {
                co_await corio::wait_for(b, 500ms);
                b_woke = true;
            } catch (const corio::timeout_error&) {
            }
            CHECK(b_woke);
            CHECK(cond->waiters() == 0);
        }(&cond, &log),
        watchdog);
    CHECK(log == log_t{"a cancelled locked", "b woke locked"});
}

TEST_CASE("wait_for on wait() times out with the lock held and no waiter left",
          "[condition][cancel]") {
    corio::condition cond;
    run_with_watchdog(
        [](corio::condition* cond) -> corio::task<void> {
            corio::mutex_lock lock = co_await cond->lock();
            bool timed_out = false;
            try {
                co_await corio::wait_for(cond->wait(lock), 20ms);
            } catch (const corio::timeout_error&) {
                timed_out = true;
            }
            CHECK(timed_out);
            CHECK(lock.owns_lock());
            CHECK(cond->get_mutex().locked());
            CHECK(cond->waiters() == 0);

            auto never = [] { return false; };
            timed_out = false;
            try {
                co_await corio::wait_for(cond->wait(lock, never), 20ms);
            } catch (const corio::timeout_error&) {
                timed_out = true;
            }
            CHECK(timed_out);
            CHECK(lock.owns_lock());
            CHECK(cond->waiters() == 0);
        }(&cond),
        watchdog);
    CHECK_FALSE(cond.get_mutex().locked());
}

TEST_CASE("Misuse is reported: waiting without the lock, notifying an unlocked condition",
          "[condition]") {
    corio::mutex m;
    corio::mutex other;
    corio::condition cond(m);
    CHECK_THROWS_AS(cond.notify_one(), std::logic_error);
    CHECK_THROWS_AS(cond.notify_all(), std::logic_error);
    run_with_watchdog(
        [](corio::mutex* other, corio::condition* cond) -> corio::task<void> {
            corio::mutex_lock none;
            bool threw = false;
            try {
                co_await cond->wait(none);
            } catch (const std::logic_error&) {
                threw = true;
            }
            CHECK(threw);

            corio::mutex_lock wrong = co_await other->lock();
            threw = false;
            try {
                co_await cond->wait(wrong);
            } catch (const std::logic_error&) {
                threw = true;
            }
            CHECK(threw);
            CHECK(wrong.owns_lock());  // untouched
            CHECK(cond->waiters() == 0);
        }(&other, &cond),
        watchdog);
    CHECK_FALSE(m.locked());
    CHECK_FALSE(other.locked());
}
