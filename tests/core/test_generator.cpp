// Tests of corio/generator.hpp: async_generator<T>.

#include "catch.hpp"
#include "test_support.hpp"

#include <corio/cancel.hpp>
#include <corio/event_loop.hpp>
#include <corio/generator.hpp>
#include <corio/run.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/task.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using corio_test::counted;
using corio_test::run_with_watchdog;
using log_t = std::vector<std::string>;

struct scope_logger {
    log_t* log;
    std::string name;
    ~scope_logger() { log->push_back(name + " destroyed"); }
};

corio::async_generator<int> count_to(int n, log_t* log) {
    const scope_logger guard{log, "count_to"};
    log->push_back("started");
    for (int i = 1; i <= n; ++i) {
        co_await corio::sleep(1ms);
        log->push_back("yield " + std::to_string(i));
        co_yield i;
    }
    log->push_back("returning");
}

corio::async_generator<int> throws_after(int n) {
    for (int i = 0; i < n; ++i) {
        co_yield i;
    }
    co_await corio::sleep(1ms);
    throw std::runtime_error("producer failed");
}

corio::async_generator<int> slow_producer(log_t* log) {
    const scope_logger guard{log, "producer"};
    co_yield 1;
    try {
        co_await corio::sleep(5s);
    } catch (const corio::cancelled_error&) {
        log->push_back("producer cancelled");
        throw;
    }
    co_yield 2;
}

corio::async_generator<counted> counted_values(int n) {
    for (int i = 0; i < n; ++i) {
        co_yield counted{i};
    }
}

struct named {
    std::string name;
    int index;
};

// Named locals (see the g++ 12 note in generator.hpp): short strings use the
// small buffer, long ones the heap; both must arrive intact.
corio::async_generator<named> names(int n) {
    for (int i = 0; i < n; ++i) {
        named item{i % 2 == 0 ? "short" : std::string(100, 'x'), i};
        co_yield std::move(item);
        const named copy{"plain " + std::to_string(i), -i};
        co_yield copy;  // an lvalue is copied
    }
}

corio::async_generator<int&> references(std::vector<int>* values) {
    for (int& v : *values) {
        co_yield v;
    }
}

}  // namespace

TEST_CASE("An async generator yields values in order, lazily, and ends with an empty optional",
          "[generator]") {
    log_t log;
    auto consumer = [](log_t* log) -> corio::task<std::vector<int>> {
        auto gen = count_to(3, log);
        co_await corio::sleep(1ms);
        log->push_back("first next");  // lazy: nothing ran before this
        std::vector<int> seen;
        while (auto x = co_await gen.next()) {
            log->push_back("got " + std::to_string(*x));
            seen.push_back(*x);
        }
        CHECK(gen.done());
        const auto after_end = co_await gen.next();  // not inside CHECK: g++ 12 may await twice there
        CHECK_FALSE(after_end);  // stays finished
        co_return seen;
    };
    const auto seen = run_with_watchdog(consumer(&log));
    CHECK(seen == std::vector<int>{1, 2, 3});
    CHECK(log == log_t{"first next", "started", "yield 1", "got 1", "yield 2", "got 2", "yield 3", "got 3",
                       "returning", "count_to destroyed"});
}

TEST_CASE("An exception leaving the generator body is rethrown by next(), after the values before it",
          "[generator]") {
    auto consumer = []() -> corio::task<std::vector<int>> {
        auto gen = throws_after(2);
        std::vector<int> seen;
        std::string error;
        try {
            while (auto x = co_await gen.next()) {
                seen.push_back(*x);
            }
        } catch (const std::runtime_error& e) {
            error = e.what();
        }
        CHECK(error == "producer failed");
        CHECK(gen.done());
        const auto after_error = co_await gen.next();  // not inside CHECK: g++ 12 may await twice there
        CHECK_FALSE(after_error);  // finished after the exception
        co_return seen;
    };
    CHECK(run_with_watchdog(consumer()) == std::vector<int>{0, 1});
}

TEST_CASE("Destroying a generator early destroys its frame and locals", "[generator]") {
    log_t log;
    auto consumer = [](log_t* log) -> corio::task<void> {
        {
            auto gen = count_to(10, log);
            auto x = co_await gen.next();
            REQUIRE(x);
            CHECK(*x == 1);
        }  // destroyed while suspended at `co_yield 1`
        log->push_back("after scope");
    };
    run_with_watchdog(consumer(&log));
    CHECK(log == log_t{"started", "yield 1", "count_to destroyed", "after scope"});

    // A generator never started is destroyed without running its body.
    log.clear();
    { auto gen = count_to(3, &log); }
    CHECK(log.empty());
}

TEST_CASE("Yielded values are moved, never leaked", "[generator]") {
    counted::reset();
    auto consumer = []() -> corio::task<int> {
        int sum = 0;
        auto gen = counted_values(5);
        while (auto x = co_await gen.next()) {
            sum += x->value;
        }
        co_return sum;
    };
    CHECK(run_with_watchdog(consumer()) == 10);
    CHECK(counted::copies == 0);
    CHECK(counted::alive() == 0);
}

TEST_CASE("Values owning memory (std::string) arrive intact", "[generator]") {
    auto consumer = []() -> corio::task<std::vector<std::string>> {
        std::vector<std::string> seen;
        auto gen = names(2);
        while (auto x = co_await gen.next()) {
            seen.push_back(x->name.substr(0, 7));
        }
        co_return seen;
    };
    CHECK(run_with_watchdog(consumer()) == std::vector<std::string>{"short", "plain 0", "xxxxxxx", "plain 1"});
}

TEST_CASE("A reference generator hands out pointers to the yielded objects", "[generator]") {
    std::vector<int> values{1, 2, 3};
    auto consumer = [](std::vector<int>* values) -> corio::task<void> {
        auto gen = references(values);
        while (int* x = co_await gen.next()) {
            *x *= 10;
        }
    };
    run_with_watchdog(consumer(&values));
    CHECK(values == std::vector<int>{10, 20, 30});
}

TEST_CASE("Cancelling the consumer cancels the producer's pending await and next() throws cancelled_error",
          "[generator][cancel]") {
    log_t log;
    auto consumer = [](log_t* log) -> corio::task<void> {
        auto gen = slow_producer(log);
        auto first = co_await gen.next();
        log->push_back("got " + std::to_string(*first));
        try {
            co_await gen.next();
            log->push_back("not cancelled?");
        } catch (const corio::cancelled_error&) {
            log->push_back("consumer cancelled");
            throw;
        }
    };
    CHECK(run_with_watchdog(corio_test::spawn_and_cancel(consumer(&log), 20ms)));
    CHECK(log == log_t{"got 1", "producer cancelled", "producer destroyed", "consumer cancelled"});
}

TEST_CASE("next() while another next() runs is a logic_error, next() on an empty generator too",
          "[generator]") {
    auto consumer = []() -> corio::task<int> {
        log_t log;
        auto gen = count_to(2, &log);
        int errors = 0;
        auto other = corio::create_task([](corio::async_generator<int>* g) -> corio::task<void> {
            co_await g->next();
        }(&gen));
        co_await corio::sleep(0ms);  // `other` is now inside next(), sleeping in the body
        try {
            co_await gen.next();
        } catch (const std::logic_error&) {
            ++errors;
        }
        co_await other;
        corio::async_generator<int> empty;
        try {
            co_await empty.next();
        } catch (const std::logic_error&) {
            ++errors;
        }
        co_return errors;
    };
    CHECK(run_with_watchdog(consumer()) == 2);
}
