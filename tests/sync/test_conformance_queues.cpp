// Conformance with CPython's test_asyncio/test_queues.py: each case mirrors
// the behaviour one CPython test checks, named after it (QueueBasicTests,
// QueueGetTests, QueuePutTests, _QueueJoinTests, _QueueShutdownTests), on
// corio::queue<T>.
//
// Spelling differences (the queue's header documents them): put_nowait /
// get_nowait are try_put / try_get and report "full" / "empty" by returning
// false / nullopt instead of raising QueueFull / QueueEmpty; task_done()
// underflow throws std::logic_error (asyncio's ValueError); shutdown() is
// close() and QueueShutDown is queue_closed.
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
#include <corio/sync/queue.hpp>
#include <corio/task.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using corio_test::ended_cancelled;
using corio_test::run_with_watchdog;
using ms = std::chrono::milliseconds;

corio::task<void> settle() {
    for (int i = 0; i < 3; ++i) {
        co_await corio::sleep(0ms);
    }
}

template <class T>
corio::task<T> get_one(corio::queue<T>* q) {
    co_return co_await q->get();
}

template <class T>
corio::task<void> put_one(corio::queue<T>* q, T item) {
    co_await q->put(std::move(item));
}

// Drains what try_get can take right now (an open queue: try_get throws on a
// closed one once it is empty).
template <class T>
std::vector<T> drain(corio::queue<T>& q) {
    std::vector<T> items;
    while (auto item = q.try_get()) {
        items.push_back(std::move(*item));
    }
    return items;
}

}  // namespace

// ==== QueueBasicTests ===============================================================

TEST_CASE("QueueBasicTests.test_empty: empty() follows puts and gets", "[conformance][queues]") {
    corio::queue<int> q;
    CHECK(q.empty());
    CHECK(q.try_put(1));
    CHECK_FALSE(q.empty());
    CHECK(q.try_get() == std::optional<int>(1));
    CHECK(q.empty());
}

TEST_CASE("QueueBasicTests.test_full: an unbounded queue is never full, a bounded one is full at maxsize",
          "[conformance][queues]") {
    corio::queue<int> unbounded;
    CHECK(unbounded.maxsize() == 0);
    for (int i = 0; i < 1000; ++i) {
        CHECK(unbounded.try_put(i));
    }
    CHECK_FALSE(unbounded.full());
    corio::queue<int> bounded(1);
    CHECK_FALSE(bounded.full());
    CHECK(bounded.try_put(1));
    CHECK(bounded.full());
}

TEST_CASE("QueueBasicTests.test_order: items come out in the order they went in", "[conformance][queues]") {
    corio::queue<int> q;
    for (int i : {1, 3, 2}) {
        CHECK(q.try_put(i));
    }
    CHECK(drain(q) == std::vector<int>{1, 3, 2});
}

TEST_CASE("QueueBasicTests.test_maxsize: a put beyond maxsize waits until a get frees a slot",
          "[conformance][queues]") {
    auto main_task = []() -> corio::task<void> {
        corio::queue<int> q(2);
        CHECK(q.maxsize() == 2);
        std::vector<int> have_been_put;
        auto putter = [](corio::queue<int>* q, std::vector<int>* put) -> corio::task<void> {
            for (int i = 0; i < 3; ++i) {
                co_await q->put(i);
                put->push_back(i);
            }
        };
        auto t = corio::create_task(putter(&q, &have_been_put));
        co_await settle();
        CHECK(have_been_put == std::vector<int>{0, 1});  // the third put waits
        CHECK(q.full());
        const int first = co_await q.get();
        CHECK(first == 0);
        co_await settle();
        CHECK(have_been_put == std::vector<int>{0, 1, 2});
        co_await t;
        CHECK(drain(q) == std::vector<int>{1, 2});
    };
    run_with_watchdog(main_task());
}

// ==== QueueGetTests =================================================================

TEST_CASE("QueueGetTests.test_nonblocking_get: try_get returns the head at once", "[conformance][queues]") {
    corio::queue<int> q;
    CHECK(q.try_put(1));
    CHECK(q.try_get() == std::optional<int>(1));
}

TEST_CASE("QueueGetTests.test_nonblocking_get_exception: corio differs - try_get on an empty queue returns nullopt "
          "(asyncio raises QueueEmpty)",
          "[conformance][queues]") {
    corio::queue<int> q;
    CHECK_FALSE(q.try_get().has_value());
}

TEST_CASE("QueueGetTests.test_blocking_get: get() waits for a put", "[conformance][queues]") {
    auto main_task = []() -> corio::task<void> {
        corio::queue<int> q;
        auto getter = corio::create_task(get_one(&q));
        co_await settle();
        CHECK_FALSE(getter.done());
        CHECK(q.waiting_getters() == 1);
        co_await q.put(1);
        const int value = co_await getter;
        CHECK(value == 1);
    };
    run_with_watchdog(main_task());
}

TEST_CASE("QueueGetTests.test_get_with_putters: a get from a full queue lets the waiting putter in",
          "[conformance][queues]") {
    auto main_task = []() -> corio::task<void> {
        corio::queue<int> q(1);
        CHECK(q.try_put(1));
        auto putter = corio::create_task(put_one(&q, 2));
        co_await settle();
        CHECK_FALSE(putter.done());
        const int first = co_await q.get();
        CHECK(first == 1);
        co_await putter;
        CHECK(drain(q) == std::vector<int>{2});
    };
    run_with_watchdog(main_task());
}

TEST_CASE("QueueGetTests.test_get_cancelled: a get() under wait_for whose item arrives in time returns it",
          "[conformance][queues]") {
    auto main_task = []() -> corio::task<void> {
        corio::queue<int> q;
        auto getter_body = [](corio::queue<int>* q) -> corio::task<int> {
            auto get = q->get();
            co_return co_await corio::wait_for(std::move(get), 1s);
        };
        auto getter = corio::create_task(getter_body(&q));
        co_await corio::sleep(10ms);
        CHECK(q.try_put(1));
        const int value = co_await getter;
        CHECK(value == 1);
        CHECK(q.empty());
    };
    run_with_watchdog(main_task());
}

TEST_CASE("QueueGetTests.test_get_cancelled_race: a getter cancelled before the put does not take the item from "
          "the next getter",
          "[conformance][queues]") {
    auto main_task = []() -> corio::task<void> {
        corio::queue<std::string> q;
        auto t1 = corio::create_task(get_one(&q));
        auto t2 = corio::create_task(get_one(&q));
        co_await settle();
        t1.cancel();
        co_await settle();
        CHECK(t1.done());
        CHECK(q.try_put("a"));
        co_await settle();
        CHECK(t2.done());
        CHECK(t2.result() == "a");
    };
    run_with_watchdog(main_task());
}

TEST_CASE("QueueGetTests.test_cancelled_getters_not_being_held_in_self_getters: a cancelled get leaves no waiter",
          "[conformance][queues]") {
    auto main_task = []() -> corio::task<void> {
        corio::queue<int> q;
        auto getter_body = [](corio::queue<int>* q) -> corio::task<bool> {
            auto get = q->get();
            bool timed_out = false;
            try {
                (void)co_await corio::wait_for(std::move(get), 1ms);
            } catch (const corio::timeout_error&) {
                timed_out = true;
            }
            co_return timed_out;
        };
        const bool timed_out = co_await getter_body(&q);
        CHECK(timed_out);
        CHECK(q.waiting_getters() == 0);
    };
    run_with_watchdog(main_task());
}

TEST_CASE("QueueGetTests.test_get_with_waiting_putters: the item of a waiting putter comes after the queued ones",
          "[conformance][queues]") {
    auto main_task = []() -> corio::task<void> {
        corio::queue<std::string> q(1);
        CHECK(q.try_put("a"));
        auto putter = corio::create_task(put_one<std::string>(&q, "b"));
        co_await settle();
        const std::string first = co_await q.get();
        const std::string second = co_await q.get();
        CHECK(first == "a");
        CHECK(second == "b");
        co_await putter;
    };
    run_with_watchdog(main_task());
}

TEST_CASE("QueueGetTests (FIFO getters): waiting getters receive items in the order they started waiting",
          "[conformance][queues]") {
    auto main_task = []() -> corio::task<void> {
        corio::queue<int> q;
        std::vector<corio::task_handle<int>> getters;
        for (int i = 0; i < 5; ++i) {
            getters.push_back(corio::create_task(get_one(&q)));
        }
        co_await settle();
        CHECK(q.waiting_getters() == 5);
        for (int i = 10; i < 15; ++i) {
            CHECK(q.try_put(i));
        }
        for (int i = 0; i < 5; ++i) {
            const int value = co_await getters[static_cast<std::size_t>(i)];
            CHECK(value == 10 + i);
        }
    };
    run_with_watchdog(main_task());
}

TEST_CASE("QueueGetTests (reserved item): a getter arriving while an item is promised to a waiting getter does not "
          "take it",
          "[conformance][queues]") {
    auto main_task = []() -> corio::task<void> {
        corio::queue<int> q;
        auto waiting = corio::create_task(get_one(&q));
        co_await settle();
        CHECK(q.try_put(1));  // promised to `waiting`, which has not resumed
        CHECK_FALSE(q.try_get().has_value());
        const int value = co_await waiting;
        CHECK(value == 1);
    };
    run_with_watchdog(main_task());
}

TEST_CASE("QueueGetTests.test_get_cancelled_race (through wait_for): a get() under wait_for cancelled right after "
          "an item was promised to it leaves the item in the queue",
          "[conformance][queues]") {
    auto main_task = []() -> corio::task<void> {
        corio::queue<int> q;
        auto getter_body = [](corio::queue<int>* q) -> corio::task<int> {
            auto get = q->get();
            co_return co_await corio::wait_for(std::move(get), 10s);
        };
        auto getter = corio::create_task(getter_body(&q));
        co_await settle();
        CHECK(q.waiting_getters() == 1);
        CHECK(q.try_put(7));  // promised to the getter inside wait_for ...
        getter.cancel();      // ... which is cancelled before it resumes
        const bool cancelled = co_await ended_cancelled(getter);
        CHECK(cancelled);
        CHECK(q.try_get() == std::optional<int>(7));
    };
    run_with_watchdog(main_task());
}

// ==== QueuePutTests =================================================================

TEST_CASE("QueuePutTests.test_nonblocking_put: try_put appends at once", "[conformance][queues]") {
    corio::queue<int> q;
    CHECK(q.try_put(1));
    CHECK(q.size() == 1);
    CHECK(q.try_get() == std::optional<int>(1));
}

TEST_CASE("QueuePutTests.test_nonblocking_put_exception: corio differs - try_put on a full queue returns false and "
          "leaves the item with the caller (asyncio raises QueueFull)",
          "[conformance][queues]") {
    corio::queue<std::unique_ptr<int>> q(1);
    CHECK(q.try_put(std::make_unique<int>(1)));
    auto item = std::make_unique<int>(2);
    CHECK_FALSE(q.try_put(std::move(item)));
    REQUIRE(item != nullptr);
    CHECK(*item == 2);
    CHECK(q.size() == 1);
}

TEST_CASE("QueuePutTests.test_blocking_put: put() on a queue with room returns at once", "[conformance][queues]") {
    auto main_task = []() -> corio::task<void> {
        corio::queue<int> q(1);
        co_await q.put(1);
        CHECK(q.size() == 1);
        const int value = co_await q.get();
        CHECK(value == 1);
    };
    run_with_watchdog(main_task());
}

TEST_CASE("QueuePutTests.test_blocking_put_wait: a putter fills a queue of 1 as fast as a getter drains it",
          "[conformance][queues]") {
    auto main_task = []() -> corio::task<void> {
        corio::queue<int> q(1);
        auto putter = [](corio::queue<int>* q) -> corio::task<void> {
            for (int i = 0; i < 20; ++i) {
                co_await q->put(i);
            }
        };
        auto t = corio::create_task(putter(&q));
        std::vector<int> got;
        for (int i = 0; i < 20; ++i) {
            got.push_back(co_await q.get());
            CHECK(q.size() <= 1);
        }
        co_await t;
        std::vector<int> expected(20);
        std::iota(expected.begin(), expected.end(), 0);
        CHECK(got == expected);
    };
    run_with_watchdog(main_task());
}

TEST_CASE("QueuePutTests.test_get_cancel_drop_one_pending_reader: a getter cancelled after an item was promised "
          "to it loses nothing",
          "[conformance][queues]") {
    auto main_task = []() -> corio::task<void> {
        corio::queue<int> q;
        auto reader = corio::create_task(get_one(&q));
        co_await settle();
        CHECK(q.try_put(1));  // promised to the reader ...
        CHECK(q.try_put(2));
        reader.cancel();  // ... which is cancelled before it resumes
        const bool cancelled = co_await ended_cancelled(reader);
        CHECK(cancelled);
        CHECK(q.size() == 2);
        CHECK(drain(q) == std::vector<int>{1, 2});
    };
    run_with_watchdog(main_task());
}

TEST_CASE("QueuePutTests.test_get_cancel_drop_many_pending_readers: the item of a cancelled reader goes to the "
          "next reader, nothing is lost or duplicated",
          "[conformance][queues]") {
    auto main_task = []() -> corio::task<void> {
        corio::queue<int> q;
        auto reader1 = corio::create_task(get_one(&q));
        auto reader2 = corio::create_task(get_one(&q));
        auto reader3 = corio::create_task(get_one(&q));
        co_await settle();
        CHECK(q.try_put(1));
        CHECK(q.try_put(2));
        reader1.cancel();
        const bool cancelled = co_await ended_cancelled(reader1);
        auto [a, b] = co_await corio::gather(reader2, reader3);
        CHECK(cancelled);
        std::vector<int> got{a, b};
        std::sort(got.begin(), got.end());
        CHECK(got == std::vector<int>{1, 2});
        CHECK(a == 1);  // and FIFO: the earlier reader gets the earlier item
        CHECK(q.empty());
    };
    run_with_watchdog(main_task());
}

TEST_CASE("QueuePutTests.test_put_cancel_drop: a putter cancelled after a slot was promised to it inserts nothing",
          "[conformance][queues]") {
    auto main_task = []() -> corio::task<void> {
        corio::queue<int> q(1);
        CHECK(q.try_put(1));
        auto writer = corio::create_task(put_one(&q, 2));
        co_await settle();
        CHECK(q.try_get() == std::optional<int>(1));  // frees the slot, promised to the writer ...
        writer.cancel();                               // ... which is cancelled before it resumes
        const bool cancelled = co_await ended_cancelled(writer);
        CHECK(cancelled);
        CHECK(q.empty());
        CHECK_FALSE(q.full());
        CHECK(q.try_put(3));  // the slot is free again
    };
    run_with_watchdog(main_task());
}

TEST_CASE("QueuePutTests.test_put_cancelled: a put cancelled while blocked never inserts its item",
          "[conformance][queues]") {
    auto main_task = []() -> corio::task<void> {
        corio::queue<int> q(1);
        CHECK(q.try_put(1));
        auto writer = corio::create_task(put_one(&q, 2));
        co_await settle();
        CHECK(q.waiting_putters() == 1);
        writer.cancel();
        const bool cancelled = co_await ended_cancelled(writer);
        CHECK(cancelled);
        CHECK(q.waiting_putters() == 0);
        CHECK(drain(q) == std::vector<int>{1});
    };
    run_with_watchdog(main_task());
}

TEST_CASE("QueuePutTests.test_put_cancelled_race: cancelling the last blocked putter keeps the others' order",
          "[conformance][queues]") {
    auto main_task = []() -> corio::task<void> {
        corio::queue<std::string> q(1);
        auto put_a = corio::create_task(put_one<std::string>(&q, "a"));
        auto put_b = corio::create_task(put_one<std::string>(&q, "b"));
        auto put_c = corio::create_task(put_one<std::string>(&q, "X"));
        co_await settle();
        CHECK(put_a.done());
        CHECK_FALSE(put_b.done());
        put_c.cancel();
        co_await settle();
        CHECK(put_c.cancelled());
        CHECK(q.try_get() == std::optional<std::string>("a"));
        co_await settle();
        CHECK(q.try_get() == std::optional<std::string>("b"));
        co_await put_b;
        CHECK(q.empty());
    };
    run_with_watchdog(main_task());
}

TEST_CASE("QueuePutTests.test_put_with_waiting_getters: a put goes straight to the waiting getter",
          "[conformance][queues]") {
    auto main_task = []() -> corio::task<void> {
        corio::queue<std::string> q;
        auto getter = corio::create_task(get_one(&q));
        co_await settle();
        co_await q.put("a");
        const std::string value = co_await getter;
        CHECK(value == "a");
        CHECK(q.empty());
    };
    run_with_watchdog(main_task());
}

TEST_CASE("QueuePutTests.test_cancelled_puts_not_being_held_in_self_putters: a timed-out put leaves no putter",
          "[conformance][queues]") {
    auto main_task = []() -> corio::task<void> {
        corio::queue<int> q(1);
        CHECK(q.try_put(1));
        auto put = q.put(2);
        bool timed_out = false;
        try {
            co_await corio::wait_for(std::move(put), 1ms);
        } catch (const corio::timeout_error&) {
            timed_out = true;
        }
        CHECK(timed_out);
        CHECK(q.waiting_putters() == 0);
        CHECK(drain(q) == std::vector<int>{1});
    };
    run_with_watchdog(main_task());
}

TEST_CASE("QueuePutTests (FIFO putters): blocked putters insert in the order they started waiting",
          "[conformance][queues]") {
    auto main_task = []() -> corio::task<void> {
        corio::queue<int> q(1);
        CHECK(q.try_put(0));
        std::vector<corio::task_handle<void>> putters;
        for (int i = 1; i <= 4; ++i) {
            putters.push_back(corio::create_task(put_one(&q, i)));
        }
        co_await settle();
        CHECK(q.waiting_putters() == 4);
        std::vector<int> got;
        for (int i = 0; i < 5; ++i) {
            got.push_back(co_await q.get());
        }
        CHECK(got == std::vector<int>{0, 1, 2, 3, 4});
    };
    run_with_watchdog(main_task());
}

TEST_CASE("QueuePutTests (reserved slot): try_put cannot take a slot promised to a waiting putter",
          "[conformance][queues]") {
    auto main_task = []() -> corio::task<void> {
        corio::queue<int> q(1);
        CHECK(q.try_put(1));
        auto writer = corio::create_task(put_one(&q, 2));
        co_await settle();
        CHECK(q.try_get() == std::optional<int>(1));  // the slot is promised to the writer
        CHECK(q.full());
        CHECK_FALSE(q.try_put(99));
        co_await writer;
        CHECK(drain(q) == std::vector<int>{2});
    };
    run_with_watchdog(main_task());
}

// ==== _QueueJoinTests ===============================================================

TEST_CASE("_QueueJoinTests.test_task_done_underflow: task_done() with nothing unfinished throws std::logic_error "
          "(asyncio's ValueError)",
          "[conformance][queues]") {
    corio::queue<int> q;
    CHECK_THROWS_AS(q.task_done(), std::logic_error);
    CHECK(q.try_put(1));
    (void)q.try_get();
    q.task_done();
    CHECK_THROWS_AS(q.task_done(), std::logic_error);
}

TEST_CASE("_QueueJoinTests.test_task_done: join() returns once workers marked every item done",
          "[conformance][queues]") {
    auto main_task = []() -> corio::task<void> {
        corio::queue<int> q;
        for (int i = 0; i < 100; ++i) {
            CHECK(q.try_put(i));
        }
        int accumulator = 0;
        auto worker = [](corio::queue<int>* q, int* accumulator) -> corio::task<void> {
            for (;;) {
                const int item = co_await q->get();
                *accumulator += item;
                co_await corio::sleep(0ms);
                q->task_done();
            }
        };
        auto w1 = corio::create_task(worker(&q, &accumulator));
        auto w2 = corio::create_task(worker(&q, &accumulator));
        co_await q.join();
        CHECK(accumulator == 4950);
        CHECK(q.unfinished_tasks() == 0);
        w1.cancel();
        w2.cancel();
        (void)co_await ended_cancelled(w1);
        (void)co_await ended_cancelled(w2);
    };
    run_with_watchdog(main_task());
}

TEST_CASE("_QueueJoinTests.test_join_empty_queue: join() on a queue with nothing unfinished returns at once",
          "[conformance][queues]") {
    auto main_task = []() -> corio::task<void> {
        corio::queue<int> q;
        co_await q.join();
        CHECK(q.try_put(1));
        (void)q.try_get();
        q.task_done();
        co_await q.join();
        CHECK(q.unfinished_tasks() == 0);
    };
    run_with_watchdog(main_task());
}

TEST_CASE("_QueueJoinTests (join waits): join() blocks while an item taken is not marked done",
          "[conformance][queues]") {
    auto main_task = []() -> corio::task<void> {
        corio::queue<int> q;
        CHECK(q.try_put(1));
        (void)q.try_get();
        auto joiner_body = [](corio::queue<int>* q) -> corio::task<void> { co_await q->join(); };
        auto joiner = corio::create_task(joiner_body(&q));
        co_await settle();
        CHECK_FALSE(joiner.done());
        q.task_done();
        co_await settle();
        CHECK(joiner.done());
    };
    run_with_watchdog(main_task());
}

// ==== _QueueShutdownTests (asyncio 3.13 shutdown() = close()) =======================

TEST_CASE("_QueueShutdownTests.test_shutdown_empty: after close() put throws and a waiting get wakes with "
          "queue_closed",
          "[conformance][queues]") {
    auto main_task = []() -> corio::task<void> {
        corio::queue<int> q;
        auto getter = corio::create_task(get_one(&q));
        co_await settle();
        q.close();
        CHECK(q.closed());
        bool getter_closed = false;
        try {
            (void)co_await getter;
        } catch (const corio::queue_closed&) {
            getter_closed = true;
        }
        CHECK(getter_closed);
        CHECK_THROWS_AS(q.try_put(1), corio::queue_closed);
        bool put_closed = false;
        try {
            co_await q.put(1);
        } catch (const corio::queue_closed&) {
            put_closed = true;
        }
        CHECK(put_closed);
        CHECK_THROWS_AS(q.try_get(), corio::queue_closed);
    };
    run_with_watchdog(main_task());
}

TEST_CASE("_QueueShutdownTests.test_shutdown_nonempty: after close() the queued items can still be taken, then "
          "get throws",
          "[conformance][queues]") {
    auto main_task = []() -> corio::task<void> {
        corio::queue<int> q;
        CHECK(q.try_put(1));
        CHECK(q.try_put(2));
        q.close();
        const int first = co_await q.get();
        auto second = q.try_get();
        CHECK(first == 1);
        CHECK(second == std::optional<int>(2));
        bool closed = false;
        try {
            (void)co_await q.get();
        } catch (const corio::queue_closed&) {
            closed = true;
        }
        CHECK(closed);
    };
    run_with_watchdog(main_task());
}

TEST_CASE("_QueueShutdownTests.test_shutdown_putter: a putter blocked on a full queue wakes with queue_closed",
          "[conformance][queues]") {
    auto main_task = []() -> corio::task<void> {
        corio::queue<int> q(1);
        CHECK(q.try_put(1));
        auto writer = corio::create_task(put_one(&q, 2));
        co_await settle();
        q.close();
        bool closed = false;
        try {
            co_await writer;
        } catch (const corio::queue_closed&) {
            closed = true;
        }
        CHECK(closed);
        CHECK(q.try_get() == std::optional<int>(1));  // the queued item stays takeable, the putter's never went in
        CHECK_THROWS_AS(q.try_get(), corio::queue_closed);
    };
    run_with_watchdog(main_task());
}

TEST_CASE("_QueueShutdownTests.test_shutdown_immediate: close(true) drops the items and releases join()",
          "[conformance][queues]") {
    auto main_task = []() -> corio::task<void> {
        corio::queue<int> q;
        CHECK(q.try_put(1));
        CHECK(q.try_put(2));
        auto joiner_body = [](corio::queue<int>* q) -> corio::task<void> { co_await q->join(); };
        auto joiner = corio::create_task(joiner_body(&q));
        co_await settle();
        CHECK_FALSE(joiner.done());
        q.close(true);
        CHECK(q.empty());
        co_await joiner;
        CHECK_THROWS_AS(q.try_get(), corio::queue_closed);
    };
    run_with_watchdog(main_task());
}

TEST_CASE("_QueueShutdownTests.test_shutdown_immediate_with_unfinished: close(true) counts only the dropped items "
          "as done, join() still waits for the taken one",
          "[conformance][queues]") {
    auto main_task = []() -> corio::task<void> {
        corio::queue<int> q;
        CHECK(q.try_put(1));
        CHECK(q.try_put(2));
        CHECK(q.try_get() == std::optional<int>(1));  // taken, not yet done
        auto joiner_body = [](corio::queue<int>* q) -> corio::task<void> { co_await q->join(); };
        auto joiner = corio::create_task(joiner_body(&q));
        q.close(true);
        co_await settle();
        CHECK_FALSE(joiner.done());
        CHECK(q.unfinished_tasks() == 1);
        q.task_done();
        co_await settle();
        CHECK(joiner.done());
    };
    run_with_watchdog(main_task());
}

TEST_CASE("_QueueShutdownTests.test_shutdown_allowed_transitions: closing twice is harmless, and close(true) after "
          "close() drops what is left",
          "[conformance][queues]") {
    corio::queue<int> q;
    CHECK(q.try_put(1));
    q.close();
    q.close();
    CHECK(q.closed());
    CHECK(q.size() == 1);
    q.close(true);
    CHECK(q.empty());
    CHECK(q.unfinished_tasks() == 0);
}
