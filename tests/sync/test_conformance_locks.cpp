// Conformance with CPython's test_asyncio/test_locks.py: each case mirrors
// the behaviour one CPython test checks, named after it (LockTests,
// EventTests, ConditionTests, SemaphoreTests), on corio's mutex, event,
// condition, semaphore and bounded_semaphore.
//
// corio's mutex and semaphore hand out RAII guards (mutex_lock,
// semaphore_permit) instead of acquire()/release() pairs, so a stray release
// of a lock nobody holds cannot be written (docs/design.md); the cases that
// test asyncio's RuntimeError for it assert corio's behaviour and say so.
//
// Awaited values are checked through a local, never with co_await inside
// CHECK() (g++ 12 coroutine bugs).

#include "catch.hpp"
#include "test_support.hpp"

#include <corio/cancel.hpp>
#include <corio/combinators.hpp>
#include <corio/event_loop.hpp>
#include <corio/run.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/sync/condition.hpp>
#include <corio/sync/event.hpp>
#include <corio/sync/mutex.hpp>
#include <corio/sync/semaphore.hpp>
#include <corio/task.hpp>

#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using corio_test::ended_cancelled;
using corio_test::run_with_watchdog;
using log_t = std::vector<std::string>;
using ms = std::chrono::milliseconds;

// Lets every task that is ready run (a few loop iterations).
corio::task<void> settle() {
    for (int i = 0; i < 3; ++i) {
        co_await corio::sleep(0ms);
    }
}

// ---- mutex helpers ----

// Locks `m`, records `tag`, and hands the lock to `held` (the test unlocks it,
// as asyncio's tests call lock.release() for the task).
corio::task<void> lock_and_hand_over(corio::mutex* m, std::vector<int>* result, int tag,
                                     std::vector<corio::mutex_lock>* held) {
    corio::mutex_lock lock = co_await m->lock();
    result->push_back(tag);
    held->push_back(std::move(lock));
}

// Locks `m`, waits for `blocker` (if any) while holding it, logs, unlocks.
corio::task<void> lockit(corio::mutex* m, corio::event* blocker, log_t* log, std::string name) {
    corio::mutex_lock lock = co_await m->lock();
    log->push_back(name + " locked");
    if (blocker != nullptr) {
        co_await blocker->wait();
    }
}

corio::task<void> take_lock_and_drop(corio::mutex* m) {
    corio::mutex_lock lock = co_await m->lock();
}

// ---- semaphore helpers ----

corio::task<void> acquire_and_keep(corio::semaphore* sem, std::vector<int>* result, int tag,
                                   std::vector<corio::semaphore_permit>* held) {
    corio::semaphore_permit permit = co_await sem->acquire();
    result->push_back(tag);
    held->push_back(std::move(permit));
}

corio::task<void> acquire_and_drop(corio::semaphore* sem, std::vector<int>* result, int tag) {
    corio::semaphore_permit permit = co_await sem->acquire();
    result->push_back(tag);
}

}  // namespace

// ==== LockTests (corio::mutex) ======================================================

TEST_CASE("LockTests.test_lock: lock() on a free mutex holds it until the guard goes", "[conformance][locks]") {
    auto main_task = []() -> corio::task<void> {
        corio::mutex m;
        CHECK_FALSE(m.locked());
        {
            corio::mutex_lock lock = co_await m.lock();
            CHECK(lock.owns_lock());
            CHECK(m.locked());
        }
        CHECK_FALSE(m.locked());
    };
    run_with_watchdog(main_task());
}

TEST_CASE("LockTests.test_acquire: waiters get the mutex in FIFO order, one unlock each", "[conformance][locks]") {
    auto main_task = []() -> corio::task<void> {
        corio::mutex m;
        std::vector<int> result;
        std::vector<corio::mutex_lock> held;
        held.push_back(co_await m.lock());
        auto t1 = corio::create_task(lock_and_hand_over(&m, &result, 1, &held));
        auto t2 = corio::create_task(lock_and_hand_over(&m, &result, 2, &held));
        co_await settle();
        CHECK(result.empty());
        held.front().unlock();
        co_await settle();
        CHECK(result == std::vector<int>{1});
        auto t3 = corio::create_task(lock_and_hand_over(&m, &result, 3, &held));
        co_await settle();
        held.back().unlock();
        co_await settle();
        CHECK(result == std::vector<int>{1, 2});
        held.back().unlock();
        co_await settle();
        CHECK(result == std::vector<int>{1, 2, 3});
        held.back().unlock();
        CHECK(t1.done());
        CHECK(t2.done());
        CHECK(t3.done());
        CHECK_FALSE(m.locked());
    };
    run_with_watchdog(main_task());
}

TEST_CASE("LockTests.test_acquire_cancel: a cancelled lock() throws, leaves the queue and takes nothing",
          "[conformance][locks]") {
    auto main_task = []() -> corio::task<void> {
        corio::mutex m;
        corio::mutex_lock mine = co_await m.lock();
        auto waiter = corio::create_task(take_lock_and_drop(&m));
        co_await settle();
        CHECK(m.waiters() == 1);
        waiter.cancel();
        const bool cancelled = co_await ended_cancelled(waiter);
        CHECK(cancelled);
        CHECK(m.waiters() == 0);
        CHECK(m.locked());  // still ours
        mine.unlock();
        CHECK_FALSE(m.locked());
    };
    run_with_watchdog(main_task());
}

TEST_CASE("LockTests.test_cancel_race: a waiter cancelled while the holder unlocks does not stop the next waiter",
          "[conformance][locks]") {
    auto main_task = []() -> corio::task<void> {
        corio::mutex m;
        corio::event fa;
        log_t log;
        auto ta = corio::create_task(lockit(&m, &fa, &log, "A"));
        co_await settle();
        CHECK(m.locked());
        auto tb = corio::create_task(lockit(&m, nullptr, &log, "B"));
        co_await settle();
        CHECK(m.waiters() == 1);
        auto tc = corio::create_task(lockit(&m, nullptr, &log, "C"));
        co_await settle();
        CHECK(m.waiters() == 2);
        // The race: A is about to unlock and B is cancelled in the same step.
        fa.set();
        tb.cancel();
        co_await ta;
        const bool b_cancelled = co_await ended_cancelled(tb);
        co_await tc;
        CHECK(b_cancelled);
        CHECK(log == log_t{"A locked", "C locked"});
        CHECK_FALSE(m.locked());
    };
    run_with_watchdog(main_task());
}

TEST_CASE("LockTests.test_cancel_release_race: the first waiter cancelled just before an unlock: the second gets "
          "the mutex, the third keeps waiting (bpo-32734)",
          "[conformance][locks]") {
    auto main_task = []() -> corio::task<void> {
        corio::mutex m;
        corio::event never;
        log_t log;
        corio::mutex_lock mine = co_await m.lock();
        auto t1 = corio::create_task(lockit(&m, &never, &log, "t1"));
        auto t2 = corio::create_task(lockit(&m, &never, &log, "t2"));
        auto t3 = corio::create_task(lockit(&m, &never, &log, "t3"));
        co_await settle();
        CHECK(m.waiters() == 3);
        t1.cancel();
        mine.unlock();
        co_await settle();
        CHECK(t1.cancelled());
        CHECK(log == log_t{"t2 locked"});
        CHECK_FALSE(t3.done());
        CHECK(m.waiters() == 1);
        t2.cancel();
        t3.cancel();
        (void)co_await ended_cancelled(t2);
        (void)co_await ended_cancelled(t3);
        CHECK_FALSE(m.locked());
    };
    run_with_watchdog(main_task());
}

TEST_CASE("LockTests.test_finished_waiter_cancelled: a waiter handed the mutex and then cancelled passes it on",
          "[conformance][locks]") {
    auto main_task = []() -> corio::task<void> {
        corio::mutex m;
        log_t log;
        corio::event never;
        corio::mutex_lock mine = co_await m.lock();
        auto ta = corio::create_task(lockit(&m, &never, &log, "A"));
        co_await settle();
        auto tb = corio::create_task(lockit(&m, &never, &log, "B"));
        co_await settle();
        CHECK(m.waiters() == 2);
        mine.unlock();  // hands the mutex to A, which has not resumed yet
        ta.cancel();    // A is cancelled after the hand-over
        co_await settle();
        CHECK(ta.cancelled());
        CHECK(m.locked());
        CHECK(log == log_t{"B locked"});
        tb.cancel();
        (void)co_await ended_cancelled(tb);
        CHECK_FALSE(m.locked());
    };
    run_with_watchdog(main_task());
}

TEST_CASE("LockTests.test_release_not_acquired: corio differs (RAII) - unlocking a guard that holds nothing does "
          "nothing instead of raising, and the mutex stays consistent",
          "[conformance][locks]") {
    auto main_task = []() -> corio::task<void> {
        corio::mutex m;
        corio::mutex_lock empty;
        CHECK_FALSE(empty.owns_lock());
        empty.unlock();  // asyncio: RuntimeError('Lock is not acquired.')
        CHECK_FALSE(m.locked());
        corio::mutex_lock lock = co_await m.lock();
        lock.unlock();
        lock.unlock();  // a second unlock of the same guard cannot free it twice
        CHECK_FALSE(lock.owns_lock());
        CHECK_FALSE(m.locked());
        // Another holder is not disturbed by a stray unlock of an emptied guard.
        corio::mutex_lock other = co_await m.lock();
        lock.unlock();
        CHECK(m.locked());
        CHECK(other.owns_lock());
    };
    run_with_watchdog(main_task());
}

TEST_CASE("LockTests.test_release_no_waiters: unlocking with nobody waiting frees the mutex", "[conformance][locks]") {
    auto main_task = []() -> corio::task<void> {
        corio::mutex m;
        corio::mutex_lock lock = co_await m.lock();
        CHECK(m.locked());
        lock.unlock();
        CHECK_FALSE(m.locked());
        auto again = m.try_lock();
        CHECK(again.has_value());
    };
    run_with_watchdog(main_task());
}

TEST_CASE("LockTests.test_lock_by_with_statement: the guard's scope is the `async with` block, also on an exception",
          "[conformance][locks]") {
    auto main_task = []() -> corio::task<void> {
        corio::mutex m;
        bool caught = false;
        try {
            corio::mutex_lock lock = co_await m.lock();
            CHECK(m.locked());
            throw std::runtime_error("inside the block");
        } catch (const std::runtime_error&) {
            caught = true;
        }
        CHECK(caught);
        CHECK_FALSE(m.locked());
    };
    run_with_watchdog(main_task());
}

TEST_CASE("LockTests (no overtaking): try_lock fails while waiters queue, even in the gap after an unlock",
          "[conformance][locks]") {
    auto main_task = []() -> corio::task<void> {
        corio::mutex m;
        log_t log;
        corio::mutex_lock mine = co_await m.lock();
        auto waiter = corio::create_task(lockit(&m, nullptr, &log, "W"));
        co_await settle();
        mine.unlock();  // handed to W, which has not resumed yet
        auto barging = m.try_lock();
        CHECK_FALSE(barging.has_value());
        co_await waiter;
        CHECK(log == log_t{"W locked"});
    };
    run_with_watchdog(main_task());
}

// ==== EventTests ====================================================================

namespace {

corio::task<void> wait_and_log(corio::event* ev, std::vector<int>* result, int tag) {
    co_await ev->wait();
    result->push_back(tag);
}

}  // namespace

TEST_CASE("EventTests.test_wait: set() wakes every waiter in FIFO order, and a new waiter of a set event passes",
          "[conformance][locks][event]") {
    auto main_task = []() -> corio::task<void> {
        corio::event ev;
        std::vector<int> result;
        auto t1 = corio::create_task(wait_and_log(&ev, &result, 1));
        auto t2 = corio::create_task(wait_and_log(&ev, &result, 2));
        co_await corio::sleep(0ms);
        CHECK(result.empty());
        auto t3 = corio::create_task(wait_and_log(&ev, &result, 3));
        ev.set();
        co_await corio::sleep(0ms);
        co_await corio::sleep(0ms);
        // t3 starts (and finds the event set) before the woken waiters resume, as in asyncio.
        CHECK(result == std::vector<int>{3, 1, 2});
        CHECK(t1.done());
        CHECK(t2.done());
        CHECK(t3.done());
    };
    run_with_watchdog(main_task());
}

TEST_CASE("EventTests.test_wait_on_set: wait() on a set event returns without suspending", "[conformance][locks][event]") {
    auto main_task = []() -> corio::task<void> {
        corio::event ev;
        ev.set();
        auto wait = ev.wait();
        CHECK(wait.await_ready());
        co_await std::move(wait);
        CHECK(ev.is_set());
    };
    run_with_watchdog(main_task());
}

TEST_CASE("EventTests.test_wait_cancel: a cancelled wait() throws and leaves no waiter behind",
          "[conformance][locks][event]") {
    auto main_task = []() -> corio::task<void> {
        corio::event ev;
        std::vector<int> result;
        auto waiter = corio::create_task(wait_and_log(&ev, &result, 1));
        co_await corio::sleep(0ms);
        CHECK(ev.waiters() == 1);
        waiter.cancel();
        const bool cancelled = co_await ended_cancelled(waiter);
        CHECK(cancelled);
        CHECK(ev.waiters() == 0);
        ev.set();
        CHECK(result.empty());
    };
    run_with_watchdog(main_task());
}

TEST_CASE("EventTests.test_clear: clear() resets the flag", "[conformance][locks][event]") {
    corio::event ev;
    CHECK_FALSE(ev.is_set());
    ev.set();
    CHECK(ev.is_set());
    ev.clear();
    CHECK_FALSE(ev.is_set());
    corio::event initially(true);
    CHECK(initially.is_set());
}

TEST_CASE("EventTests.test_clear_with_waiters: a waiter woken by set() returns even if clear() runs before it "
          "resumes, and is woken once",
          "[conformance][locks][event]") {
    auto main_task = []() -> corio::task<void> {
        corio::event ev;
        std::vector<int> result;
        auto t = corio::create_task(wait_and_log(&ev, &result, 1));
        co_await corio::sleep(0ms);
        CHECK(result.empty());
        ev.set();
        ev.clear();
        CHECK_FALSE(ev.is_set());
        ev.set();
        ev.set();
        co_await settle();
        CHECK(result == std::vector<int>{1});
        CHECK(ev.waiters() == 0);
        CHECK(t.done());
    };
    run_with_watchdog(main_task());
}

TEST_CASE("EventTests (many waiters): a hundred waiters all wake on one set(), FIFO", "[conformance][locks][event]") {
    auto main_task = []() -> corio::task<void> {
        corio::event ev;
        std::vector<int> result;
        std::vector<corio::task_handle<void>> waiters;
        for (int i = 0; i < 100; ++i) {
            waiters.push_back(corio::create_task(wait_and_log(&ev, &result, i)));
        }
        co_await corio::sleep(0ms);
        CHECK(ev.waiters() == 100);
        waiters[50].cancel();
        co_await corio::sleep(0ms);
        ev.set();
        co_await settle();
        std::vector<int> expected;
        for (int i = 0; i < 100; ++i) {
            if (i != 50) {
                expected.push_back(i);
            }
        }
        CHECK(result == expected);
        CHECK(waiters[50].cancelled());
    };
    run_with_watchdog(main_task());
}

TEST_CASE("EventTests (Task.__step _must_cancel): a waiter woken by set() and cancelled before it resumes ends "
          "cancelled, the event stays set and the other waiters still wake",
          "[conformance][locks][event]") {
    auto main_task = []() -> corio::task<void> {
        corio::event ev;
        std::vector<int> result;
        auto t1 = corio::create_task(wait_and_log(&ev, &result, 1));
        auto t2 = corio::create_task(wait_and_log(&ev, &result, 2));
        co_await corio::sleep(0ms);
        ev.set();
        t1.cancel();
        const bool cancelled = co_await ended_cancelled(t1);
        co_await t2;
        CHECK(cancelled);
        CHECK(result == std::vector<int>{2});
        CHECK(ev.is_set());
    };
    run_with_watchdog(main_task());
}

// ==== ConditionTests ================================================================

namespace {

// Locks, waits for one notification, logs, then keeps the lock across a
// suspension before unlocking.
corio::task<void> cond_waiter(corio::condition* cond, std::vector<int>* result, int tag) {
    corio::mutex_lock lock = co_await cond->lock();
    co_await cond->wait(lock);
    result->push_back(tag);
    co_await corio::sleep(0ms);
}

corio::task<void> notify_n(corio::condition* cond, std::size_t n) {
    corio::mutex_lock lock = co_await cond->lock();
    cond->notify(n);
}

corio::task<void> notify_everyone(corio::condition* cond) {
    corio::mutex_lock lock = co_await cond->lock();
    cond->notify_all();
}

// Waits; on cancellation records whether the lock is held again, then rethrows.
corio::task<void> cond_waiter_checking_relock(corio::condition* cond, log_t* log) {
    corio::mutex_lock lock = co_await cond->lock();
    bool cancelled = false;
    try {
        co_await cond->wait(lock);
    } catch (const corio::cancelled_error&) {
        cancelled = true;
    }
    log->push_back(std::string(cancelled ? "cancelled" : "woke") +
                   (lock.owns_lock() && cond->get_mutex().locked() ? " holding the lock" : " WITHOUT the lock"));
    if (cancelled) {
        throw corio::cancelled_error{};
    }
}

}  // namespace

TEST_CASE("ConditionTests.test_wait: notify(1) wakes the first waiter, notify(2) the next two, FIFO",
          "[conformance][locks][condition]") {
    auto main_task = []() -> corio::task<void> {
        corio::condition cond;
        std::vector<int> result;
        auto t1 = corio::create_task(cond_waiter(&cond, &result, 1));
        auto t2 = corio::create_task(cond_waiter(&cond, &result, 2));
        auto t3 = corio::create_task(cond_waiter(&cond, &result, 3));
        co_await settle();
        CHECK(result.empty());
        CHECK_FALSE(cond.get_mutex().locked());  // wait() released it
        CHECK(cond.waiters() == 3);
        co_await notify_n(&cond, 1);
        co_await settle();
        CHECK(result == std::vector<int>{1});
        co_await notify_n(&cond, 2);
        co_await settle();
        co_await settle();
        CHECK(result == std::vector<int>{1, 2, 3});
        CHECK(t1.done());
        CHECK(t2.done());
        CHECK(t3.done());
    };
    run_with_watchdog(main_task());
}

TEST_CASE("ConditionTests.test_wait_cancel: a cancelled wait() throws with the lock held again and leaves no "
          "waiter",
          "[conformance][locks][condition]") {
    auto main_task = []() -> corio::task<void> {
        corio::condition cond;
        log_t log;
        auto waiter = corio::create_task(cond_waiter_checking_relock(&cond, &log));
        co_await settle();
        CHECK(cond.waiters() == 1);
        waiter.cancel();
        const bool cancelled = co_await ended_cancelled(waiter);
        CHECK(cancelled);
        CHECK(log == log_t{"cancelled holding the lock"});
        CHECK(cond.waiters() == 0);
        CHECK_FALSE(cond.get_mutex().locked());
    };
    run_with_watchdog(main_task());
}

TEST_CASE("ConditionTests.test_wait_cancel_contested: a cancelled wait() returns only once it re-acquired a lock "
          "someone else holds",
          "[conformance][locks][condition]") {
    auto main_task = []() -> corio::task<void> {
        corio::condition cond;
        log_t log;
        auto waiter = corio::create_task(cond_waiter_checking_relock(&cond, &log));
        co_await settle();
        corio::mutex_lock mine = co_await cond.lock();
        waiter.cancel();
        co_await settle();
        CHECK_FALSE(waiter.done());  // blocked re-acquiring the lock we hold
        CHECK(log.empty());
        mine.unlock();
        const bool cancelled = co_await ended_cancelled(waiter);
        CHECK(cancelled);
        CHECK(log == log_t{"cancelled holding the lock"});
    };
    run_with_watchdog(main_task());
}

TEST_CASE("ConditionTests.test_wait_cancel_after_notify: a waiter notified and then cancelled passes the "
          "notification on to the next waiter",
          "[conformance][locks][condition]") {
    auto main_task = []() -> corio::task<void> {
        corio::condition cond;
        log_t log;
        std::vector<int> result;
        auto first = corio::create_task(cond_waiter_checking_relock(&cond, &log));
        auto second = corio::create_task(cond_waiter(&cond, &result, 2));
        co_await settle();
        {
            corio::mutex_lock lock = co_await cond.lock();
            cond.notify_one();
            first.cancel();  // notified, not yet resumed
        }
        const bool cancelled = co_await ended_cancelled(first);
        co_await second;
        CHECK(cancelled);
        CHECK(log == log_t{"cancelled holding the lock"});
        CHECK(result == std::vector<int>{2});
    };
    run_with_watchdog(main_task());
}

TEST_CASE("ConditionTests.test_wait_unacquired: wait() with a guard that does not hold the mutex throws "
          "std::logic_error",
          "[conformance][locks][condition]") {
    auto main_task = []() -> corio::task<void> {
        corio::condition cond;
        corio::mutex_lock empty;
        bool threw = false;
        try {
            co_await cond.wait(empty);
        } catch (const std::logic_error&) {
            threw = true;
        }
        CHECK(threw);
        bool threw_for_predicate = false;
        try {
            co_await cond.wait(empty, [] { return true; });
        } catch (const std::logic_error&) {
            threw_for_predicate = true;
        }
        CHECK(threw_for_predicate);  // test_wait_for_unacquired
    };
    run_with_watchdog(main_task());
}

TEST_CASE("ConditionTests.test_wait_for: wait(lock, predicate) returns once a notification finds the predicate "
          "true",
          "[conformance][locks][condition]") {
    auto main_task = []() -> corio::task<void> {
        corio::condition cond;
        int presult = 0;
        int checks = 0;
        bool returned = false;
        auto waiter = [](corio::condition* cond, int* presult, int* checks, bool* returned) -> corio::task<void> {
            corio::mutex_lock lock = co_await cond->lock();
            auto predicate = [presult, checks] {
                ++*checks;
                return *presult == 3;
            };
            co_await cond->wait(lock, predicate);
            *returned = lock.owns_lock();
        };
        auto t = corio::create_task(waiter(&cond, &presult, &checks, &returned));
        co_await settle();
        CHECK(checks == 1);
        for (int value = 1; value <= 3; ++value) {
            corio::mutex_lock lock = co_await cond.lock();
            presult = value;
            cond.notify_one();
            lock.unlock();
            co_await settle();
            CHECK(checks == value + 1);
            CHECK(returned == (value == 3));
        }
        CHECK(t.done());
    };
    run_with_watchdog(main_task());
}

TEST_CASE("ConditionTests.test_notify_all: notify_all() wakes every waiter, FIFO", "[conformance][locks][condition]") {
    auto main_task = []() -> corio::task<void> {
        corio::condition cond;
        std::vector<int> result;
        std::vector<corio::task_handle<void>> waiters;
        for (int i = 1; i <= 4; ++i) {
            waiters.push_back(corio::create_task(cond_waiter(&cond, &result, i)));
        }
        co_await settle();
        co_await notify_everyone(&cond);
        for (auto& w : waiters) {
            co_await w;
        }
        CHECK(result == std::vector<int>{1, 2, 3, 4});
        CHECK(cond.waiters() == 0);
    };
    run_with_watchdog(main_task());
}

TEST_CASE("ConditionTests.test_notify_unacquired / test_notify_all_unacquired: notifying without the lock throws "
          "std::logic_error",
          "[conformance][locks][condition]") {
    corio::condition cond;
    CHECK_THROWS_AS(cond.notify_one(), std::logic_error);
    CHECK_THROWS_AS(cond.notify(2), std::logic_error);
    CHECK_THROWS_AS(cond.notify_all(), std::logic_error);
}

TEST_CASE("ConditionTests.test_explicit_lock: a condition bound to a mutex uses that mutex",
          "[conformance][locks][condition]") {
    auto main_task = []() -> corio::task<void> {
        corio::mutex m;
        corio::condition cond(m);
        CHECK(&cond.get_mutex() == &m);
        corio::mutex_lock lock = co_await cond.lock();
        CHECK(m.locked());
        CHECK(lock.mutex() == &m);
        cond.notify_all();  // allowed: the bound mutex is locked
        lock.unlock();
        CHECK_FALSE(m.locked());
        // A guard of another mutex is refused.
        corio::mutex other;
        corio::mutex_lock wrong = co_await other.lock();
        bool threw = false;
        try {
            co_await cond.wait(wrong);
        } catch (const std::logic_error&) {
            threw = true;
        }
        CHECK(threw);
    };
    run_with_watchdog(main_task());
}

TEST_CASE("ConditionTests.test_cancelled_error_wakeup: a cancellation while waiting for the notification is "
          "re-raised unmodified",
          "[conformance][locks][condition]") {
    auto main_task = []() -> corio::task<void> {
        corio::condition cond;
        log_t log;
        auto waiter = corio::create_task(cond_waiter_checking_relock(&cond, &log));
        co_await settle();
        waiter.cancel();
        bool got_cancelled_error = false;
        try {
            co_await waiter;
        } catch (const corio::cancelled_error&) {
            got_cancelled_error = true;
        }
        CHECK(got_cancelled_error);
        CHECK(waiter.cancelled());
    };
    run_with_watchdog(main_task());
}

TEST_CASE("ConditionTests.test_cancelled_error_re_aquire: a cancellation while re-acquiring the lock after a "
          "notification is re-raised once the lock is held",
          "[conformance][locks][condition]") {
    auto main_task = []() -> corio::task<void> {
        corio::condition cond;
        log_t log;
        auto waiter = corio::create_task(cond_waiter_checking_relock(&cond, &log));
        co_await settle();
        corio::mutex_lock mine = co_await cond.lock();
        cond.notify_one();
        co_await settle();  // the waiter resumed from the notification and now waits for the lock
        CHECK_FALSE(waiter.done());
        waiter.cancel();
        co_await settle();
        CHECK_FALSE(waiter.done());  // cannot finish before it holds the lock
        mine.unlock();
        const bool cancelled = co_await ended_cancelled(waiter);
        CHECK(cancelled);
        CHECK(log == log_t{"cancelled holding the lock"});
    };
    run_with_watchdog(main_task());
}

namespace {

// gh-112202's consumer: takes one unit of `state` per wake-up until state < 0.
corio::task<void> consumer(corio::condition* cond, int* state, int* consumed) {
    corio::mutex_lock lock = co_await cond->lock();
    for (;;) {
        auto ready = [state] { return *state != 0; };
        co_await cond->wait(lock, ready);
        if (*state < 0) {
            co_return;
        }
        --*state;
        ++*consumed;
    }
}

}  // namespace

TEST_CASE("ConditionTests.test_cancelled_wakeup (gh-112202): a consumer notified and then cancelled before it "
          "resumed passes the notification to the other consumer",
          "[conformance][locks][condition]") {
    auto main_task = []() -> corio::task<void> {
        corio::condition cond;
        int state = 0;
        int consumed = 0;
        auto c0 = corio::create_task(consumer(&cond, &state, &consumed));
        auto c1 = corio::create_task(consumer(&cond, &state, &consumed));
        co_await settle();
        CHECK(cond.waiters() == 2);
        {
            corio::mutex_lock lock = co_await cond.lock();
            state += 1;
            cond.notify_one();  // goes to c0
            c0.cancel();        // ... which is cancelled before it runs
        }
        co_await settle();
        CHECK(c0.cancelled());
        CHECK(consumed == 1);  // c1 took the unit: the notification was not lost
        CHECK(state == 0);
        {
            corio::mutex_lock lock = co_await cond.lock();
            state = -1;
            cond.notify_all();
        }
        co_await c1;
    };
    run_with_watchdog(main_task());
}

TEST_CASE("ConditionTests.test_cancelled_wakeup_relock (gh-112202): a consumer cancelled while re-acquiring the "
          "lock after its notification passes the notification on",
          "[conformance][locks][condition]") {
    auto main_task = []() -> corio::task<void> {
        corio::condition cond;
        int state = 0;
        int consumed = 0;
        auto c0 = corio::create_task(consumer(&cond, &state, &consumed));
        auto c1 = corio::create_task(consumer(&cond, &state, &consumed));
        co_await settle();
        corio::mutex_lock lock = co_await cond.lock();
        state += 1;
        cond.notify_one();  // c0 resumes and queues for the lock we hold
        co_await settle();
        CHECK(cond.waiters() == 1);  // c1 still waits for a notification
        c0.cancel();                 // cancelled while re-acquiring
        lock.unlock();
        co_await settle();
        co_await settle();
        CHECK(c0.cancelled());
        CHECK(consumed == 1);
        CHECK(state == 0);
        lock = co_await cond.lock();
        state = -1;
        cond.notify_all();
        lock.unlock();
        co_await c1;
    };
    run_with_watchdog(main_task());
}

// ==== SemaphoreTests ================================================================

TEST_CASE("SemaphoreTests.test_initial_value_zero: a semaphore of 0 is locked", "[conformance][locks][semaphore]") {
    corio::semaphore sem(0);
    CHECK(sem.locked());
    CHECK(sem.available() == 0);
    CHECK_FALSE(sem.try_acquire().has_value());
}

TEST_CASE("SemaphoreTests.test_semaphore: the value counts down with each acquire and the semaphore locks at 0",
          "[conformance][locks][semaphore]") {
    auto main_task = []() -> corio::task<void> {
        corio::semaphore sem(2);
        CHECK(sem.available() == 2);
        CHECK_FALSE(sem.locked());
        corio::semaphore_permit a = co_await sem.acquire();
        CHECK(sem.available() == 1);
        corio::semaphore_permit b = co_await sem.acquire();
        CHECK(sem.available() == 0);
        CHECK(sem.locked());
        a.release();
        CHECK(sem.available() == 1);
        CHECK_FALSE(sem.locked());
    };
    run_with_watchdog(main_task());
}

TEST_CASE("SemaphoreTests.test_acquire: waiters are served FIFO as permits come back",
          "[conformance][locks][semaphore]") {
    auto main_task = []() -> corio::task<void> {
        corio::semaphore sem(3);
        std::vector<int> result;
        std::vector<corio::semaphore_permit> held;
        for (int tag = 1; tag <= 3; ++tag) {
            held.push_back(co_await sem.acquire());
        }
        std::vector<corio::task_handle<void>> tasks;
        for (int tag = 1; tag <= 4; ++tag) {
            tasks.push_back(corio::create_task(acquire_and_keep(&sem, &result, tag, &held)));
        }
        co_await settle();
        CHECK(result.empty());
        CHECK(sem.waiters() == 4);
        held[0].release();
        co_await settle();
        CHECK(result == std::vector<int>{1});
        held[1].release();
        held[2].release();
        co_await settle();
        CHECK(result == std::vector<int>{1, 2, 3});
        CHECK(sem.waiters() == 1);
        held.back().release();
        co_await settle();
        CHECK(result == std::vector<int>{1, 2, 3, 4});
    };
    run_with_watchdog(main_task());
}

TEST_CASE("SemaphoreTests.test_acquire_cancel: a cancelled acquire() takes no permit and leaves the queue",
          "[conformance][locks][semaphore]") {
    auto main_task = []() -> corio::task<void> {
        corio::semaphore sem(0);
        std::vector<int> result;
        auto t = corio::create_task(acquire_and_drop(&sem, &result, 1));
        co_await settle();
        t.cancel();
        const bool cancelled = co_await ended_cancelled(t);
        CHECK(cancelled);
        CHECK(sem.waiters() == 0);
        sem.release();
        CHECK(sem.available() == 1);
        CHECK(result.empty());
    };
    run_with_watchdog(main_task());
}

TEST_CASE("SemaphoreTests.test_acquire_cancel_before_awoken: waiters handed permits and then cancelled pass them "
          "to the next waiters",
          "[conformance][locks][semaphore]") {
    auto main_task = []() -> corio::task<void> {
        corio::semaphore sem(0);
        std::vector<int> result;
        std::vector<corio::semaphore_permit> held;
        std::vector<corio::task_handle<void>> t;
        for (int tag = 1; tag <= 4; ++tag) {
            t.push_back(corio::create_task(acquire_and_keep(&sem, &result, tag, &held)));
        }
        co_await settle();
        sem.release();
        sem.release();  // handed to t1 and t2 ...
        t[0].cancel();
        t[1].cancel();  // ... which are cancelled before they resume
        co_await settle();
        CHECK(t[0].cancelled());
        CHECK(t[1].cancelled());
        CHECK(result == std::vector<int>{3, 4});
        CHECK(sem.available() == 0);
        held.clear();
        CHECK(sem.available() == 2);
    };
    run_with_watchdog(main_task());
}

TEST_CASE("SemaphoreTests.test_acquire_hang: a waiter cancelled before a release does not swallow the permit",
          "[conformance][locks][semaphore]") {
    auto main_task = []() -> corio::task<void> {
        corio::semaphore sem(0);
        std::vector<int> result;
        std::vector<corio::semaphore_permit> held;
        auto t1 = corio::create_task(acquire_and_keep(&sem, &result, 1, &held));
        auto t2 = corio::create_task(acquire_and_keep(&sem, &result, 2, &held));
        co_await settle();
        t1.cancel();
        sem.release();
        co_await settle();
        CHECK(t1.cancelled());
        CHECK(t2.done());
        CHECK(result == std::vector<int>{2});
        CHECK(sem.locked());
    };
    run_with_watchdog(main_task());
}

TEST_CASE("SemaphoreTests.test_acquire_no_hang (bpo-45997): a waiter cancelled right after a release handed it the "
          "permit leaves the semaphore acquirable",
          "[conformance][locks][semaphore]") {
    auto main_task = []() -> corio::task<void> {
        corio::semaphore sem(1);
        corio::task_handle<void> t2;
        bool c2_body_ran = false;
        auto c1 = [](corio::semaphore* sem, corio::task_handle<void>* t2) -> corio::task<void> {
            {
                corio::semaphore_permit permit = co_await sem->acquire();
                co_await corio::sleep(0ms);
            }  // the release hands the permit to c2 ...
            t2->cancel();  // ... which is cancelled before it resumes
        };
        auto c2 = [](corio::semaphore* sem, bool* ran) -> corio::task<void> {
            corio::semaphore_permit permit = co_await sem->acquire();
            *ran = true;
        };
        auto t1 = corio::create_task(c1(&sem, &t2));
        t2 = corio::create_task(c2(&sem, &c2_body_ran));
        auto settled = co_await corio::gather_settled(t1, t2);
        CHECK(std::get<0>(settled).has_value());
        CHECK(std::get<1>(settled).has_exception());
        CHECK(t2.cancelled());
        CHECK_FALSE(c2_body_ran);
        auto acquire = sem.acquire();
        auto permit = co_await corio::wait_for(std::move(acquire), 1s);
        CHECK(permit.owns_permit());
    };
    run_with_watchdog(main_task());
}

TEST_CASE("SemaphoreTests.test_release_not_acquired: bounded_semaphore refuses a release beyond its initial value",
          "[conformance][locks][semaphore]") {
    auto main_task = []() -> corio::task<void> {
        corio::bounded_semaphore sem(1);
        CHECK_THROWS_AS(sem.release(), std::logic_error);
        CHECK(sem.available() == 1);
        {
            corio::semaphore_permit permit = co_await sem.acquire();
            CHECK(sem.available() == 0);
        }
        CHECK(sem.available() == 1);
        CHECK_THROWS_AS(sem.release(), std::logic_error);
        CHECK(sem.available() == 1);
        CHECK(sem.limit() == 1);
    };
    run_with_watchdog(main_task());
}

TEST_CASE("SemaphoreTests.test_release_no_waiters: a release with nobody waiting raises the value",
          "[conformance][locks][semaphore]") {
    auto main_task = []() -> corio::task<void> {
        corio::semaphore sem(1);
        corio::semaphore_permit permit = co_await sem.acquire();
        CHECK(sem.locked());
        permit.release();
        CHECK_FALSE(sem.locked());
        CHECK(sem.available() == 1);
    };
    run_with_watchdog(main_task());
}

TEST_CASE("SemaphoreTests.test_acquire_fifo_order: holders of a semaphore of 1 run their critical sections one "
          "after the other, in order",
          "[conformance][locks][semaphore]") {
    auto main_task = []() -> corio::task<void> {
        corio::semaphore sem(1);
        log_t result;
        auto coro = [](corio::semaphore* sem, log_t* result, std::string tag) -> corio::task<void> {
            corio::semaphore_permit permit = co_await sem->acquire();
            result->push_back(tag + "_1");
            co_await corio::sleep(10ms);
            result->push_back(tag + "_2");
        };
        co_await corio::gather(coro(&sem, &result, "c1"), coro(&sem, &result, "c2"), coro(&sem, &result, "c3"));
        CHECK(result == log_t{"c1_1", "c1_2", "c2_1", "c2_2", "c3_1", "c3_2"});
    };
    run_with_watchdog(main_task());
}

TEST_CASE("SemaphoreTests.test_acquire_fifo_order_2: corio differs - a permit handed to a waiter is already its "
          "own, so a re-acquire that finds a returned permit free does not queue behind that waiter",
          "[conformance][locks][semaphore]") {
    // asyncio gives [1, 2, 3, 4]: its re-acquire waits while the woken c3
    // is still in the waiter list. In corio c3's permit was granted at the
    // second release (the grant order is 1, 2, 3, 4), and c2's re-acquire
    // takes the permit c2 itself just returned, nobody waiting for it.
    auto main_task = []() -> corio::task<void> {
        corio::semaphore sem(1);
        std::vector<int> result;
        std::vector<corio::semaphore_permit> held;
        auto c2 = [](corio::semaphore* sem, std::vector<int>* result,
                     std::vector<corio::semaphore_permit>* held) -> corio::task<void> {
            {
                corio::semaphore_permit permit = co_await sem->acquire();
                result->push_back(2);
            }
            corio::semaphore_permit again = co_await sem->acquire();
            result->push_back(4);
            held->push_back(std::move(again));
        };
        auto t1 = corio::create_task(acquire_and_keep(&sem, &result, 1, &held));
        auto t2 = corio::create_task(c2(&sem, &result, &held));
        auto t3 = corio::create_task(acquire_and_keep(&sem, &result, 3, &held));
        co_await corio::sleep(0ms);
        sem.release();
        sem.release();
        co_await corio::gather(t1, t2, t3);
        CHECK(result == std::vector<int>{1, 2, 4, 3});
        CHECK(held.size() == 3);
    };
    run_with_watchdog(main_task());
}

TEST_CASE("SemaphoreTests.test_acquire_fifo_order_3: a cancelled first waiter: the releases go to the others in "
          "order",
          "[conformance][locks][semaphore]") {
    auto main_task = []() -> corio::task<void> {
        corio::semaphore sem(0);
        std::vector<int> result;
        std::vector<corio::semaphore_permit> held;
        auto t1 = corio::create_task(acquire_and_keep(&sem, &result, 1, &held));
        auto t2 = corio::create_task(acquire_and_keep(&sem, &result, 2, &held));
        auto t3 = corio::create_task(acquire_and_keep(&sem, &result, 3, &held));
        co_await corio::sleep(0ms);
        t1.cancel();
        sem.release();
        sem.release();
        auto settled = co_await corio::gather_settled(t1, t2, t3);
        CHECK(std::get<0>(settled).has_exception());
        CHECK(result == std::vector<int>{2, 3});
    };
    run_with_watchdog(main_task());
}

TEST_CASE("SemaphoreTests.test_acquire_fifo_order_4: a waiter woken and cancelled hands the permit to the next "
          "waiter, not to a newcomer",
          "[conformance][locks][semaphore]") {
    auto main_task = []() -> corio::task<void> {
        corio::semaphore sem(0);
        std::vector<int> result;
        std::vector<corio::semaphore_permit> held;
        auto t1 = corio::create_task(acquire_and_keep(&sem, &result, 1, &held));
        auto t2 = corio::create_task(acquire_and_keep(&sem, &result, 2, &held));
        co_await corio::sleep(0ms);
        sem.release();  // to t1
        t1.cancel();    // woken, then cancelled: the permit goes to t2
        auto newcomer = sem.try_acquire();
        CHECK_FALSE(newcomer.has_value());
        auto t3 = corio::create_task(acquire_and_keep(&sem, &result, 3, &held));
        co_await settle();
        CHECK(t1.cancelled());
        CHECK(result == std::vector<int>{2});
        CHECK_FALSE(t3.done());
        t3.cancel();
        (void)co_await ended_cancelled(t3);
    };
    run_with_watchdog(main_task());
}

// ==== Fast paths with a cancellation pending ===========================================
// asyncio's Lock.acquire / Semaphore.acquire / Event.wait return without
// yielding when they need not wait, so a cancellation pending for the task is
// raised at its next real suspension instead. corio's ready-at-once waits
// behave the same way, and the unwinding gives back what they took.

TEST_CASE("Lock.acquire / Semaphore.acquire / Event.wait fast paths: with a cancellation pending they still "
          "succeed without waiting, and the next suspension point throws",
          "[conformance][locks]") {
    auto main_task = []() -> corio::task<void> {
        corio::mutex m;
        corio::semaphore sem(1);
        corio::event ev(true);
        log_t log;
        corio::task_handle<void> handle;
        auto body = [](corio::task_handle<void>* self, corio::mutex* m, corio::semaphore* sem, corio::event* ev,
                       log_t* log) -> corio::task<void> {
            self->cancel();  // pending: this task is running
            corio::mutex_lock lock = co_await m->lock();
            corio::semaphore_permit permit = co_await sem->acquire();
            co_await ev->wait();
            log->push_back(std::string("took all") + (lock.owns_lock() && permit.owns_permit() ? "" : " NOT"));
            try {
                co_await corio::sleep(5s);
            } catch (const corio::cancelled_error&) {
                log->push_back("cancelled at the sleep");
                throw;
            }
        };
        handle = corio::create_task(body(&handle, &m, &sem, &ev, &log));
        const bool cancelled = co_await ended_cancelled(handle);
        CHECK(cancelled);
        CHECK(log == log_t{"took all", "cancelled at the sleep"});
        CHECK_FALSE(m.locked());  // given back while unwinding
        CHECK(sem.available() == 1);
    };
    run_with_watchdog(main_task());
}

TEST_CASE("Lock.acquire slow path with a cancellation pending: a lock() that would have to wait throws at once "
          "and never queues",
          "[conformance][locks]") {
    auto main_task = []() -> corio::task<void> {
        corio::mutex m;
        corio::mutex_lock mine = co_await m.lock();
        corio::task_handle<void> handle;
        std::size_t waiters_seen = 99;
        auto body = [](corio::task_handle<void>* self, corio::mutex* m, std::size_t* seen) -> corio::task<void> {
            self->cancel();
            try {
                corio::mutex_lock lock = co_await m->lock();
            } catch (const corio::cancelled_error&) {
                *seen = m->waiters();
                throw;
            }
        };
        handle = corio::create_task(body(&handle, &m, &waiters_seen));
        const bool cancelled = co_await ended_cancelled(handle);
        CHECK(cancelled);
        CHECK(waiters_seen == 0);
        CHECK(m.locked());
        CHECK(mine.owns_lock());
    };
    run_with_watchdog(main_task());
}
