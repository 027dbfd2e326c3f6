// Tests of corio/task.hpp: laziness, results of every kind, exception
// propagation, move-only semantics and symmetric transfer (deep chains).
//
// Coroutines under test live in an anonymous namespace: clang 14 with
// -fsanitize=function cannot assemble coroutines with external inline linkage.

#include "catch.hpp"
#include "test_support.hpp"

#include <corio/run.hpp>
#include <corio/task.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

using corio::task;
using corio_test::counted;

namespace {

// ---- small coroutines -------------------------------------------------------

task<int> answer() { co_return 42; }

task<int> add_one(task<int> inner) { co_return 1 + co_await std::move(inner); }

task<void> set_flag(bool& flag) {
    flag = true;
    co_return;
}

task<int&> ref_to(int& x) { co_return x; }

task<std::unique_ptr<int>> make_unique_int(int v) { co_return std::make_unique<int>(v); }

task<int> throw_runtime_error(std::string message) {
    throw std::runtime_error(message);
    co_return 0;
}

task<void> throw_void() {
    throw std::out_of_range("void task failed");
    co_return;
}

task<int&> throw_ref() {
    throw std::invalid_argument("reference task failed");
    static int unreachable = 0;
    co_return unreachable;
}

task<counted> make_counted(int v) { co_return counted{v}; }

task<counted> forward_counted(int v) { co_return co_await make_counted(v); }

task<void> hold(counted c, bool& ran) {
    ran = true;
    CHECK(c.value == 5);
    co_return;
}

// Each level awaits the next; none suspends, so every hand-off is a
// symmetric transfer (tail call) in both directions.
task<int> chain(int depth) {
    if (depth == 0) {
        co_return 0;
    }
    co_return 1 + co_await chain(depth - 1);
}

task<int> chain_that_throws(int depth) {
    if (depth == 0) {
        throw std::runtime_error("bottom of the chain");
    }
    co_return 1 + co_await chain_that_throws(depth - 1);
}

task<int> one() { co_return 1; }
task<void> nothing() { co_return; }

task<long> sum_of_ones(long count) {
    long sum = 0;
    for (long i = 0; i < count; ++i) {
        sum += co_await one();
    }
    co_return sum;
}

task<long> many_void_awaits(long count) {
    long done = 0;
    for (long i = 0; i < count; ++i) {
        co_await nothing();
        ++done;
    }
    co_return done;
}

}  // namespace

// Symmetric transfer is a guaranteed tail call with clang at every -O level
// (ASan included), and with g++ only at -O2 and above without ASan
// (docs/design.md, "Deep chains and GCC"). g++ has no macro for the level:
// a g++ build at -O1 without ASan fails these tests (no preset builds so).
#if defined(__clang__) || (defined(__OPTIMIZE__) && !defined(__SANITIZE_ADDRESS__))
#define CORIO_TEST_DEEP_CHAINS 1
#else
#define CORIO_TEST_DEEP_CHAINS 0
#endif

#if defined(SKIP)
#define CORIO_TEST_SKIP(message) SKIP(message)
#else
#define CORIO_TEST_SKIP(message) WARN("skipped: " message)
#endif

TEST_CASE("a task does not start until it is awaited", "[task]") {
    bool ran = false;
    bool ran_before_await = true;
    bool done_before_await = true;
    bool done_after_await = false;
    auto body = [&]() -> task<void> {
        task<void> t = set_flag(ran);
        ran_before_await = ran;
        done_before_await = t.done();
        co_await t;
        done_after_await = t.done();
    };
    {
        task<void> never_awaited = set_flag(ran);
        CHECK(never_awaited.valid());
        CHECK_FALSE(never_awaited.done());
    }
    CHECK_FALSE(ran);  // created and destroyed, never run
    corio::run(body());
    CHECK_FALSE(ran_before_await);
    CHECK_FALSE(done_before_await);
    CHECK(ran);
    CHECK(done_after_await);
}

TEST_CASE("a task returns its value to the awaiter", "[task]") {
    CHECK(corio::run(answer()) == 42);
    CHECK(corio::run(add_one(add_one(answer()))) == 44);
}

TEST_CASE("a void task completes", "[task]") {
    bool ran = false;
    corio::run(set_flag(ran));
    CHECK(ran);
}

TEST_CASE("a reference task returns the very object it referred to", "[task]") {
    int x = 7;
    int* seen = nullptr;
    auto body = [&]() -> task<void> {
        int& r = co_await ref_to(x);
        seen = &r;
        r = 8;
    };
    corio::run(body());
    CHECK(seen == &x);
    CHECK(x == 8);
    int& direct = corio::run(ref_to(x));
    CHECK(&direct == &x);
}

TEST_CASE("a task can return a move-only value", "[task]") {
    std::unique_ptr<int> p = corio::run(make_unique_int(9));
    REQUIRE(p != nullptr);
    CHECK(*p == 9);
}

TEST_CASE("an exception leaving a task is rethrown to its awaiter", "[task]") {
    std::string what;
    bool reached_after = false;
    auto body = [&]() -> task<void> {
        try {
            (void)co_await throw_runtime_error("first failure");
            reached_after = true;
        } catch (const std::runtime_error& error) {
            what = error.what();
        }
    };
    corio::run(body());
    CHECK(what == "first failure");
    CHECK_FALSE(reached_after);

    CHECK_THROWS_WITH(corio::run(throw_runtime_error("to run")), "to run");
    CHECK_THROWS_AS(corio::run(throw_void()), std::out_of_range);
    CHECK_THROWS_AS(corio::run(throw_ref()), std::invalid_argument);
    CHECK_THROWS_WITH(corio::run(add_one(throw_runtime_error("two levels up"))), "two levels up");
}

TEST_CASE("an exception crosses a chain of a thousand awaiting tasks", "[task]") {
    CHECK_THROWS_WITH(corio::run(chain_that_throws(1000)), "bottom of the chain");
}

TEST_CASE("a task's value is moved to the awaiter and never copied", "[task]") {
    counted::reset();
    {
        counted c = corio::run(make_counted(3));
        CHECK(c.value == 3);
        CHECK(counted::copies == 0);
        CHECK(counted::moves >= 1);

        counted d = corio::run(forward_counted(4));
        CHECK(d.value == 4);
        CHECK(counted::copies == 0);
    }
    CHECK(counted::alive() == 0);
}

TEST_CASE("awaiting a moved-from task throws std::logic_error", "[task]") {
    bool threw_logic_error = false;
    int value = 0;
    auto body = [&]() -> task<void> {
        task<int> a = answer();
        task<int> b = std::move(a);
        CHECK_FALSE(a.valid());
        CHECK(b.valid());
        try {
            (void)co_await a;
        } catch (const std::logic_error&) {
            threw_logic_error = true;
        }
        value = co_await std::move(b);
    };
    corio::run(body());
    CHECK(threw_logic_error);
    CHECK(value == 42);
}

TEST_CASE("awaiting a default-constructed task throws std::logic_error", "[task]") {
    bool threw_logic_error = false;
    auto body = [&]() -> task<void> {
        task<int> empty;
        CHECK_FALSE(empty.valid());
        CHECK_FALSE(empty.done());
        try {
            (void)co_await empty;
        } catch (const std::logic_error&) {
            threw_logic_error = true;
        }
    };
    corio::run(body());
    CHECK(threw_logic_error);
}

TEST_CASE("awaiting a finished task a second time throws std::logic_error", "[task]") {
    int first = 0;
    bool threw_logic_error = false;
    auto body = [&]() -> task<void> {
        task<int> t = answer();
        first = co_await t;
        try {
            (void)co_await t;
        } catch (const std::logic_error&) {
            threw_logic_error = true;
        }
    };
    corio::run(body());
    CHECK(first == 42);
    CHECK(threw_logic_error);
}

TEST_CASE("a task destroyed without running destroys its parameters and leaks nothing", "[task]") {
    counted::reset();
    bool ran = false;
    {
        task<void> t = hold(counted{5}, ran);
        CHECK(counted::alive() == 1);  // the frame's copy of the parameter
        CHECK(counted::copies == 0);
    }
    CHECK_FALSE(ran);
    CHECK(counted::alive() == 0);
    CHECK(counted::destructions == counted::constructions);
}

TEST_CASE("move-assigning over a task destroys the task it replaces", "[task]") {
    counted::reset();
    bool first_ran = false;
    bool second_ran = false;
    task<void> t = hold(counted{5}, first_ran);
    CHECK(counted::alive() == 1);
    t = hold(counted{5}, second_ran);
    CHECK(counted::alive() == 1);  // the first frame and its parameter are gone
    corio::run(std::move(t));
    CHECK_FALSE(first_ran);
    CHECK(second_ran);
    CHECK(counted::alive() == 0);
}

TEST_CASE("a chain of thousands of synchronous awaits completes", "[task]") {
    // Where the hand-off is not a tail call (g++ unoptimized or with ASan) every
    // level nests a real stack frame, and ASan's frames are large: 10,000
    // levels overflow 8 MiB there, so those builds check 1,000.
    constexpr int depth = CORIO_TEST_DEEP_CHAINS ? 10'000 : 1'000;
    CHECK(corio::run(chain(depth)) == depth);
    CHECK(corio::run(sum_of_ones(depth)) == depth);
    CHECK(corio::run(many_void_awaits(depth)) == depth);
}

TEST_CASE("a chain of a million nested synchronous awaits does not overflow the stack",
          "[task][deep]") {
#if CORIO_TEST_DEEP_CHAINS
    CHECK(corio::run(chain(1'000'000)) == 1'000'000);
#else
    CORIO_TEST_SKIP("g++ makes symmetric transfer a tail call only when optimizing and without "
                    "AddressSanitizer; a million-deep chain would overflow the stack here");
#endif
}

TEST_CASE("a loop of a million synchronous awaits in one coroutine does not overflow the stack",
          "[task][deep]") {
#if CORIO_TEST_DEEP_CHAINS
    CHECK(corio::run(sum_of_ones(1'000'000)) == 1'000'000);
    CHECK(corio::run(many_void_awaits(1'000'000)) == 1'000'000);
#else
    CORIO_TEST_SKIP("g++ makes symmetric transfer a tail call only when optimizing and without "
                    "AddressSanitizer; a million synchronous awaits would overflow the stack here");
#endif
}
