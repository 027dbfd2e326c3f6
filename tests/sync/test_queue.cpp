// Tests of corio/sync/queue.hpp: queue<T>, task_done / join, close, queue_closed.
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
#include <corio/sync.hpp>
#include <corio/sync/queue.hpp>
#include <corio/task.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using corio_test::run_with_watchdog;
using log_t = std::vector<std::string>;
using int_queue = corio::queue<int>;

constexpr auto watchdog = 10s;

static_assert(std::is_base_of_v<std::runtime_error, corio::queue_closed>);

// Gets one item and logs it (or the cancellation / closing, rethrown).
corio::task<void> getter(int_queue* q, log_t* log, std::string name) {
    try {
        const int item = co_await q->get();
        log->push_back(name + " got " + std::to_string(item));
    } catch (const corio::cancelled_error&) {
        log->push_back(name + " cancelled");
        throw;
    } catch (const corio::queue_closed&) {
        log->push_back(name + " closed");
        throw;
    }
}

// Puts one item and logs it (or the cancellation / closing, rethrown).
corio::task<void> putter(int_queue* q, log_t* log, int item) {
    const std::string name = "put " + std::to_string(item);
    try {
        co_await q->put(item);
        log->push_back(name);
    } catch (const corio::cancelled_error&) {
        log->push_back(name + " cancelled");
        throw;
    } catch (const corio::queue_closed&) {
        log->push_back(name + " closed");
        throw;
    }
}

enum class ending { value, cancelled, closed };

ending check_ending(corio::task_handle<void>& handle) {
    try {
        (void)handle.result();
    } catch (const corio::cancelled_error&) {
        return ending::cancelled;
    } catch (const corio::queue_closed&) {
        return ending::closed;
    }
    return ending::value;
}

// Waits for a handle to finish however it ends, then says how.
corio::task<ending> finish(corio::task_handle<void> handle) {
    try {
        co_await handle;
    } catch (...) {
    }
    co_return check_ending(handle);
}

// Takes everything currently gettable without waiting.
std::vector<int> drain(int_queue& q) {
    std::vector<int> items;
    while (std::optional<int> item = q.try_get()) {
        items.push_back(*item);
    }
    return items;
}

}  // namespace

TEST_CASE("A queue hands items out in FIFO order and reports its size", "[queue]") {
    int_queue q(3);
    CHECK(q.maxsize() == 3);
    CHECK(q.empty());
    CHECK_FALSE(q.full());
    CHECK(q.try_put(1));
    CHECK(q.try_put(2));
    int three = 3;
    CHECK(q.try_put(three));  // copying overload
    CHECK(q.size() == 3);
    CHECK(q.full());
    CHECK_FALSE(q.try_put(4));
    CHECK(q.size() == 3);
    CHECK(q.try_get() == 1);
    CHECK_FALSE(q.full());
    CHECK(drain(q) == std::vector<int>{2, 3});
    CHECK(q.empty());
    CHECK_FALSE(q.try_get().has_value());

    int_queue unbounded;
    CHECK(unbounded.maxsize() == 0);
    for (int i = 0; i < 1000; ++i) {
        REQUIRE(unbounded.try_put(i));
    }
    CHECK_FALSE(unbounded.full());
    CHECK(unbounded.size() == 1000);

    run_with_watchdog(
        [](int_queue* q) -> corio::task<void> {
            co_await q->put(10);  // room: no wait
            co_await q->put(11);
            const auto r1 = co_await q->get();
            CHECK(r1 == 10);
            const auto r2 = co_await q->get();
            CHECK(r2 == 11);
        }(&q),
        watchdog);
}

TEST_CASE("Waiting getters are served FIFO, and a newcomer cannot take an item promised to one",
          "[queue]") {
    int_queue q;
    log_t log;
    run_with_watchdog(
        [](int_queue* q, log_t* log) -> corio::task<void> {
            std::vector<corio::task_handle<void>> handles;
            for (const char* name : {"b", "a", "c"}) {
                handles.push_back(corio::create_task(getter(q, log, name)));
            }
            co_await corio::sleep(1ms);
            REQUIRE(q->waiting_getters() == 3);
            co_await q->put(1);
            CHECK(q->waiting_getters() == 2);
            CHECK(q->size() == 1);                  // in the queue, promised to b
            CHECK_FALSE(q->try_get().has_value());  // so a newcomer gets nothing
            CHECK(q->try_put(2));
            CHECK(q->try_put(3));
            CHECK(q->try_put(4));  // nobody waits for this one
            CHECK(q->waiting_getters() == 0);
            CHECK(q->try_get() == 4);
            for (auto& handle : handles) {
                co_await handle;
            }
            CHECK(q->empty());
        }(&q, &log),
        watchdog);
    CHECK(log == log_t{"b got 1", "a got 2", "c got 3"});
}

TEST_CASE("Waiting putters are served FIFO and a newcomer cannot take a promised slot", "[queue]") {
    int_queue q(1);
    log_t log;
    run_with_watchdog(
        [](int_queue* q, log_t* log) -> corio::task<void> {
            co_await q->put(0);
            std::vector<corio::task_handle<void>> handles;
            for (int item : {3, 1, 2}) {
                handles.push_back(corio::create_task(putter(q, log, item)));
            }
            co_await corio::sleep(1ms);
            REQUIRE(q->waiting_putters() == 3);
            const auto r3 = co_await q->get();  // the slot goes to putter 3
            CHECK(r3 == 0);
            CHECK(q->full());
            CHECK_FALSE(q->try_put(99));
            std::vector<int> got;
            for (int i = 0; i < 3; ++i) {
                got.push_back(co_await q->get());
            }
            CHECK(got == std::vector<int>{3, 1, 2});
            for (auto& handle : handles) {
                co_await handle;
            }
            CHECK(q->empty());
        }(&q, &log),
        watchdog);
    CHECK(log == log_t{"put 3", "put 1", "put 2"});
}

TEST_CASE("A cancelled get() never loses an item", "[queue][cancel]") {
    int_queue q;
    log_t log;
    SECTION("cancelled while waiting: it takes nothing") {
        run_with_watchdog(
            [](int_queue* q, log_t* log) -> corio::task<void> {
                corio::task_handle<void> a = corio::create_task(getter(q, log, "a"));
                corio::task_handle<void> b = corio::create_task(getter(q, log, "b"));
                co_await corio::sleep(0ms);
                CHECK(a.cancel());
                const auto r4 = co_await finish(a);
                CHECK(r4 == ending::cancelled);
                CHECK(q->waiting_getters() == 1);
                co_await q->put(7);
                const auto r5 = co_await finish(b);
                CHECK(r5 == ending::value);
                CHECK(q->empty());
            }(&q, &log),
            watchdog);
        CHECK(log == log_t{"a cancelled", "b got 7"});
    }
    SECTION("cancelled after an item was promised: the item goes to the next getter") {
        run_with_watchdog(
            [](int_queue* q, log_t* log) -> corio::task<void> {
                corio::task_handle<void> a = corio::create_task(getter(q, log, "a"));
                corio::task_handle<void> b = corio::create_task(getter(q, log, "b"));
                co_await corio::sleep(0ms);
                q->try_put(1);  // promised to a
                q->try_put(2);  // promised to b
                CHECK(a.cancel());
                const auto r6 = co_await finish(a);
                CHECK(r6 == ending::cancelled);
                const auto r7 = co_await finish(b);
                CHECK(r7 == ending::value);
                CHECK(q->size() == 1);
                CHECK(q->try_get() == 2);  // nothing lost, order kept
            }(&q, &log),
            watchdog);
        CHECK(log == log_t{"a cancelled", "b got 1"});
    }
    SECTION("cancelled after an item was promised, nobody else waiting: it stays at the head") {
        run_with_watchdog(
            [](int_queue* q, log_t* log) -> corio::task<void> {
                corio::task_handle<void> a = corio::create_task(getter(q, log, "a"));
                co_await corio::sleep(0ms);
                q->try_put(1);
                q->try_put(2);
                CHECK(q->try_get() == 2);  // a newcomer gets the first item not reserved for a
                q->try_put(2);
                CHECK(a.cancel());
                const auto r8 = co_await finish(a);
                CHECK(r8 == ending::cancelled);
                CHECK(drain(*q) == std::vector<int>{1, 2});
            }(&q, &log),
            watchdog);
        CHECK(log == log_t{"a cancelled"});
    }
}

TEST_CASE("A cancelled put() never inserts its item", "[queue][cancel]") {
    int_queue q(1);
    log_t log;
    SECTION("cancelled while waiting") {
        run_with_watchdog(
            [](int_queue* q, log_t* log) -> corio::task<void> {
                co_await q->put(0);
                corio::task_handle<void> p1 = corio::create_task(putter(q, log, 1));
                corio::task_handle<void> p2 = corio::create_task(putter(q, log, 2));
                co_await corio::sleep(0ms);
                CHECK(p1.cancel());
                const auto r9 = co_await finish(p1);
                CHECK(r9 == ending::cancelled);
                CHECK(q->waiting_putters() == 1);
                const auto r10 = co_await q->get();
                CHECK(r10 == 0);
                const auto r11 = co_await finish(p2);
                CHECK(r11 == ending::value);
                CHECK(drain(*q) == std::vector<int>{2});
            }(&q, &log),
            watchdog);
        CHECK(log == log_t{"put 1 cancelled", "put 2"});
    }
    SECTION("cancelled after a slot was promised: the slot goes to the next putter") {
        run_with_watchdog(
            [](int_queue* q, log_t* log) -> corio::task<void> {
                co_await q->put(0);
                corio::task_handle<void> p1 = corio::create_task(putter(q, log, 1));
                corio::task_handle<void> p2 = corio::create_task(putter(q, log, 2));
                co_await corio::sleep(0ms);
                CHECK(q->try_get() == 0);  // the free slot is promised to p1
                CHECK(q->full());
                CHECK(p1.cancel());
                const auto r12 = co_await finish(p1);
                CHECK(r12 == ending::cancelled);
                const auto r13 = co_await finish(p2);
                CHECK(r13 == ending::value);
                CHECK(drain(*q) == std::vector<int>{2});
                CHECK(q->unfinished_tasks() == 2);  // 0 and 2; never 1
            }(&q, &log),
            watchdog);
        CHECK(log == log_t{"put 1 cancelled", "put 2"});
    }
    SECTION("cancelled after a slot was promised, nobody else waiting: the slot is free again") {
        run_with_watchdog(
            [](int_queue* q, log_t* log) -> corio::task<void> {
                co_await q->put(0);
                corio::task_handle<void> p1 = corio::create_task(putter(q, log, 1));
                co_await corio::sleep(0ms);
                CHECK(q->try_get() == 0);
                CHECK(p1.cancel());
                const auto r14 = co_await finish(p1);
                CHECK(r14 == ending::cancelled);
                CHECK(q->empty());
                CHECK_FALSE(q->full());
                CHECK(q->try_put(5));
            }(&q, &log),
            watchdog);
        CHECK(log == log_t{"put 1 cancelled"});
    }
}

TEST_CASE("wait_for on get(), put() and join() times out and leaves no waiter behind",
          "[queue][cancel]") {
    int_queue q(1);
    run_with_watchdog(
        [](int_queue* q) -> corio::task<void> {
            bool timed_out = false;
            try {
                (void)co_await corio::wait_for(q->get(), 10ms);
            } catch (const corio::timeout_error&) {
                timed_out = true;
            }
            CHECK(timed_out);
            CHECK(q->waiting_getters() == 0);

            co_await q->put(1);
            timed_out = false;
            try {
                co_await corio::wait_for(q->put(2), 10ms);
            } catch (const corio::timeout_error&) {
                timed_out = true;
            }
            CHECK(timed_out);
            CHECK(q->waiting_putters() == 0);
            CHECK(q->size() == 1);

            timed_out = false;
            try {
                co_await corio::wait_for(q->join(), 10ms);
            } catch (const corio::timeout_error&) {
                timed_out = true;
            }
            CHECK(timed_out);

            // Nothing stale is woken later: the item is still there for a real get.
            const auto r15 = co_await corio::wait_for(q->get(), 1s);
            CHECK(r15 == 1);
            q->task_done();
            co_await corio::wait_for(q->join(), 1s);
            CHECK(q->empty());
        }(&q),
        watchdog);
}

TEST_CASE("join() waits until every item put was marked done", "[queue]") {
    int_queue q;
    log_t log;
    run_with_watchdog(
        [](int_queue* q, log_t* log) -> corio::task<void> {
            co_await q->join();  // nothing unfinished: no wait
            for (int i = 0; i < 3; ++i) {
                co_await q->put(i);
            }
            CHECK(q->unfinished_tasks() == 3);
            corio::task_handle<void> worker =
                corio::create_task([](int_queue* q, log_t* log) -> corio::task<void> {
                    for (int i = 0; i < 3; ++i) {
                        const int item = co_await q->get();
                        co_await corio::sleep(2ms);
                        log->push_back("done " + std::to_string(item));
                        q->task_done();
                    }
                }(q, log));
            co_await q->join();
            log->push_back("joined");
            CHECK(q->unfinished_tasks() == 0);
            CHECK_THROWS_AS(q->task_done(), std::logic_error);
            co_await worker;
        }(&q, &log),
        watchdog);
    CHECK(log == log_t{"done 0", "done 1", "done 2", "joined"});
}

TEST_CASE("A cancelled join() leaves the queue and the other joiners are still released",
          "[queue][cancel]") {
    int_queue q;
    log_t log;
    run_with_watchdog(
        [](int_queue* q, log_t* log) -> corio::task<void> {
            q->try_put(1);
            auto joiner = [](int_queue* q, log_t* log, std::string name) -> corio::task<void> {
                try {
                    co_await q->join();
                    log->push_back(name + " joined");
                } catch (const corio::cancelled_error&) {
                    log->push_back(name + " cancelled");
                    throw;
                }
            };
            corio::task_handle<void> a = corio::create_task(joiner(q, log, "a"));
            corio::task_handle<void> b = corio::create_task(joiner(q, log, "b"));
            co_await corio::sleep(0ms);
            CHECK(a.cancel());
            const auto r16 = co_await finish(a);
            CHECK(r16 == ending::cancelled);
            CHECK(q->try_get() == 1);
            q->task_done();
            const auto r17 = co_await finish(b);
            CHECK(r17 == ending::value);
        }(&q, &log),
        watchdog);
    CHECK(log == log_t{"a cancelled", "b joined"});
}

TEST_CASE("close() wakes waiting getters and putters with queue_closed, get() drains what is left",
          "[queue][close]") {
    log_t log;
    SECTION("waiting getters") {
        int_queue q;
        run_with_watchdog(
            [](int_queue* q, log_t* log) -> corio::task<void> {
                corio::task_handle<void> a = corio::create_task(getter(q, log, "a"));
                corio::task_handle<void> b = corio::create_task(getter(q, log, "b"));
                co_await corio::sleep(0ms);
                q->close();
                CHECK(q->closed());
                CHECK(q->waiting_getters() == 0);
                const auto r18 = co_await finish(a);
                CHECK(r18 == ending::closed);
                const auto r19 = co_await finish(b);
                CHECK(r19 == ending::closed);
                CHECK_THROWS_AS(q->try_get(), corio::queue_closed);
                CHECK_THROWS_AS(q->try_put(1), corio::queue_closed);
            }(&q, &log),
            watchdog);
        CHECK(log == log_t{"a closed", "b closed"});
    }
    SECTION("waiting putters, then the items left are drained") {
        int_queue q(2);
        run_with_watchdog(
            [](int_queue* q, log_t* log) -> corio::task<void> {
                co_await q->put(1);
                co_await q->put(2);
                corio::task_handle<void> p = corio::create_task(putter(q, log, 3));
                co_await corio::sleep(0ms);
                q->close();
                q->close();  // twice is harmless
                const auto r20 = co_await finish(p);
                CHECK(r20 == ending::closed);
                bool put_threw = false;
                try {
                    co_await q->put(4);
                } catch (const corio::queue_closed&) {
                    put_threw = true;
                }
                CHECK(put_threw);
                const auto r21 = co_await q->get();
                CHECK(r21 == 1);
                CHECK(q->try_get() == 2);
                bool get_threw = false;
                try {
                    (void)co_await q->get();
                } catch (const corio::queue_closed&) {
                    get_threw = true;
                }
                CHECK(get_threw);
                CHECK(q->unfinished_tasks() == 2);  // drained but not marked done
            }(&q, &log),
            watchdog);
        CHECK(log == log_t{"put 3 closed"});
    }
    SECTION("a getter promised an item before close() still gets it") {
        int_queue q;
        run_with_watchdog(
            [](int_queue* q, log_t* log) -> corio::task<void> {
                corio::task_handle<void> a = corio::create_task(getter(q, log, "a"));
                corio::task_handle<void> b = corio::create_task(getter(q, log, "b"));
                co_await corio::sleep(0ms);
                q->try_put(5);  // promised to a
                q->close();     // b is woken with queue_closed
                const auto r22 = co_await finish(a);
                CHECK(r22 == ending::value);
                const auto r23 = co_await finish(b);
                CHECK(r23 == ending::closed);
            }(&q, &log),
            watchdog);
        CHECK(log == log_t{"a got 5", "b closed"});
    }
}

TEST_CASE("close(immediate) drops the items left and releases join()", "[queue][close]") {
    int_queue q;
    log_t log;
    run_with_watchdog(
        [](int_queue* q, log_t* log) -> corio::task<void> {
            q->try_put(0);
            CHECK(q->try_get() == 0);  // taken, not yet done: join() has to wait
            corio::task_handle<void> a = corio::create_task(getter(q, log, "a"));
            corio::task_handle<void> joiner =
                corio::create_task([](int_queue* q, log_t* log) -> corio::task<void> {
                    co_await q->join();
                    log->push_back("joined");
                }(q, log));
            co_await corio::sleep(0ms);  // both wait now
            q->try_put(1);               // promised to a, dropped before a runs
            q->try_put(2);
            q->try_put(3);
            CHECK(q->unfinished_tasks() == 4);
            q->close(true);
            CHECK(q->empty());
            CHECK(q->unfinished_tasks() == 1);  // the dropped items count as done
            const auto r24 = co_await finish(a);
            CHECK(r24 == ending::closed);
            co_await corio::sleep(1ms);
            CHECK_FALSE(joiner.done());
            q->task_done();  // item 0
            co_await joiner;
            CHECK_THROWS_AS(q->try_get(), corio::queue_closed);
        }(&q, &log),
        watchdog);
    CHECK(log == log_t{"a closed", "joined"});
}

TEST_CASE("Move-only items go through the queue by moves alone", "[queue]") {
    corio_test::counted::reset();
    {
        corio::queue<std::unique_ptr<int>> boxes(1);
        corio::queue<corio_test::counted> values;
        run_with_watchdog(
            [](corio::queue<std::unique_ptr<int>>* boxes,
               corio::queue<corio_test::counted>* values) -> corio::task<void> {
                co_await boxes->put(std::make_unique<int>(1));
                auto second = std::make_unique<int>(2);
                CHECK_FALSE(boxes->try_put(std::move(second)));  // full: the item stays with us
                REQUIRE(second != nullptr);
                corio::task_handle<void> later =
                    corio::create_task([](corio::queue<std::unique_ptr<int>>* boxes,
                                          std::unique_ptr<int> item) -> corio::task<void> {
                        co_await boxes->put(std::move(item));
                    }(boxes, std::move(second)));
                std::unique_ptr<int> first = co_await boxes->get();
                CHECK(*first == 1);
                std::unique_ptr<int> next = co_await boxes->get();
                CHECK(*next == 2);
                co_await later;

                co_await values->put(corio_test::counted(7));
                values->try_put(corio_test::counted(8));
                corio_test::counted a = co_await values->get();
                std::optional<corio_test::counted> b = values->try_get();
                CHECK(a.value == 7);
                REQUIRE(b.has_value());
                CHECK(b->value == 8);
            }(&boxes, &values),
            watchdog);
    }
    CHECK(corio_test::counted::copies == 0);
    CHECK(corio_test::counted::alive() == 0);
}

TEST_CASE(
    "Producers and consumers on a bounded queue: every item arrives once, in per-producer order",
    "[queue][stress]") {
    constexpr int producers = 4;
    constexpr int consumers = 4;
    const int per_producer = corio_test::under_sanitizer ? 2'000 : 10'000;
    struct item {
        int producer;
        int sequence;
    };
    corio::queue<item> q(16);
    std::vector<std::vector<int>> received(producers);  // sequences seen, per producer
    // Per consumer and producer, the last sequence seen: each consumer must see
    // every producer's items in increasing order.
    std::vector<int> last_seen(producers * consumers, -1);
    bool in_order = true;
    run_with_watchdog(
        [](corio::queue<item>* q, std::vector<std::vector<int>>* received,
           std::vector<int>* last_seen, bool* in_order, int per_producer) -> corio::task<void> {
            std::vector<corio::task<void>> producer_tasks;
            for (int p = 0; p < producers; ++p) {
                producer_tasks.push_back(
                    [](corio::queue<item>* q, int p, int count) -> corio::task<void> {
                        for (int i = 0; i < count; ++i) {
                            if (i % 7 == 0 && !q->try_put(item{p, i})) {
                                co_await q->put(item{p, i});  // full: wait like everyone else
                            } else if (i % 7 != 0) {
                                co_await q->put(item{p, i});
                            }
                        }
                    }(q, p, per_producer));
            }
            std::vector<corio::task_handle<void>> consumer_handles;
            for (int c = 0; c < consumers; ++c) {
                consumer_handles.push_back(corio::create_task(
                    [](corio::queue<item>* q, std::vector<std::vector<int>>* received,
                       std::vector<int>* last_seen, bool* in_order, int c) -> corio::task<void> {
                        while (true) {
                            item got{};
                            try {
                                got = co_await q->get();
                            } catch (const corio::queue_closed&) {
                                co_return;
                            }
                            int& last = (*last_seen)[static_cast<std::size_t>(c * producers +
                                                                              got.producer)];
                            if (got.sequence <= last) {
                                *in_order = false;
                            }
                            last = got.sequence;
                            (*received)[got.producer].push_back(got.sequence);
                            if (got.sequence % (c + 2) == 0) {
                                co_await corio::sleep(0ms);  // consumers run at different paces
                            }
                            q->task_done();
                        }
                    }(q, received, last_seen, in_order, c)));
            }
            co_await corio::gather(std::move(producer_tasks));
            co_await q->join();
            q->close();
            for (auto& handle : consumer_handles) {
                co_await handle;
            }
            CHECK(q->empty());
            CHECK(q->waiting_getters() == 0);
            CHECK(q->waiting_putters() == 0);
        }(&q, &received, &last_seen, &in_order, per_producer),
        30s);
    CHECK(in_order);
    for (auto& sequences : received) {
        REQUIRE(sequences.size() == static_cast<std::size_t>(per_producer));
        std::sort(sequences.begin(), sequences.end());
        bool exactly_once = true;
        for (int i = 0; i < per_producer; ++i) {
            exactly_once = exactly_once && sequences[static_cast<std::size_t>(i)] == i;
        }
        CHECK(exactly_once);
    }
}
