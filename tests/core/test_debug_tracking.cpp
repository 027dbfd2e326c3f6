// Tests of what a CORIO_TRACK_AWAITS=1 build adds (this file is compiled with
// it): format_await_chain walks a suspended task's chain of coroutines,
// innermost first, through nested tasks, sleep, I/O, gather, task groups and
// wait_for; all_tasks and format_task_tree show each task's outermost function
// and innermost co_await without debug mode; in debug mode, an exception keeps
// the chain it left, and a task destroyed unawaited is reported.

#include "catch.hpp"
#include "test_support.hpp"

#include <corio/combinators.hpp>
#include <corio/debug.hpp>
#include <corio/event_loop.hpp>
#include <corio/fd_watcher.hpp>
#include <corio/run.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/task.hpp>
#include <corio/task_group.hpp>
#include <corio/timeout.hpp>

#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

static_assert(CORIO_TRACK_AWAITS == 1, "this file tests the CORIO_TRACK_AWAITS build");

namespace {

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using corio_test::lines_of;

std::string at_line(int line) {
    return "test_debug_tracking.cpp:" + std::to_string(line);
}

int leaf_line = 0;
int middle_line = 0;
int outer_line = 0;

corio::task<int> leaf() {
    leaf_line = __LINE__ + 1;
    co_await corio::sleep(10s);
    co_return 1;
}

corio::task<int> middle() {
    middle_line = __LINE__ + 1;
    const int v = co_await leaf();
    co_return v + 1;
}

corio::task<int> outer() {
    outer_line = __LINE__ + 1;
    const int v = co_await middle();
    co_return v + 1;
}

int read_line = 0;

corio::task<void> wait_for_input(int fd) {
    read_line = __LINE__ + 1;
    co_await corio::wait_readable(fd);
}

corio::task<void> reader(int fd) {
    co_await wait_for_input(fd);
}

int gather_line = 0;

corio::task<void> gathers() {
    gather_line = __LINE__ + 1;
    co_await corio::gather(leaf(), leaf());
}

int group_line = 0;

corio::task<void> groups() {
    auto body = [](corio::task_group& tg) -> corio::task<void> {
        tg.spawn(leaf());
        co_return;
    };
    group_line = __LINE__ + 1;
    co_await corio::with_task_group(body);
}

int wait_for_line = 0;

corio::task<void> waits_with_timeout() {
    wait_for_line = __LINE__ + 1;
    co_await corio::wait_for(middle(), 10s);
}

corio::task<int> quick_child() {
    co_await corio::sleep(0s);
    co_return 1;
}

int after_child_line = 0;

corio::task<void> sleeps_after_child() {
    co_await quick_child();
    after_child_line = __LINE__ + 1;
    co_await corio::sleep(10s);
}

// Starts `t` as a task, lets it suspend, and returns its await chain.
template <class T>
corio::task<std::string> chain_of(corio::task<T> t) {
    auto handle = corio::create_task(std::move(t), "traced");
    co_await corio::sleep(5ms);
    std::string chain = corio::format_await_chain(handle);
    handle.cancel();
    co_await corio::gather_settled(handle);
    co_return chain;
}

}  // namespace

TEST_CASE("the await chain of nested tasks lists each coroutine, innermost first",
          "[debug][tracking]") {
    const std::string chain = corio::run(chain_of(outer()));
    const std::vector<std::string> lines = lines_of(chain);
    REQUIRE(lines.size() == 4);
    CHECK(lines[0] == "#0 leaf at " + std::string(__FILE__) + ":" + std::to_string(leaf_line));
    CHECK_THAT(lines[1], Catch::StartsWith("#1 middle at "));
    CHECK_THAT(lines[1], Catch::EndsWith(at_line(middle_line)));
    CHECK_THAT(lines[2], Catch::StartsWith("#2 outer at "));
    CHECK_THAT(lines[2], Catch::EndsWith(at_line(outer_line)));
    CHECK(lines[3] == "in task 'traced'");
}

TEST_CASE("the await chain ends at a pending I/O wait", "[debug][tracking]") {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const std::string chain = corio::run(chain_of(reader(fds[0])));
    ::close(fds[0]);
    ::close(fds[1]);
    const std::vector<std::string> lines = lines_of(chain);
    REQUIRE(lines.size() == 4);
    CHECK_THAT(lines[0], Catch::StartsWith("#0 wait_readable at "));  // corio's own coroutine
    CHECK_THAT(lines[0], Contains("corio/fd_watcher.hpp:"));
    CHECK_THAT(lines[1], Catch::StartsWith("#1 wait_for_input at "));
    CHECK_THAT(lines[1], Catch::EndsWith(at_line(read_line)));
    CHECK_THAT(lines[2], Catch::StartsWith("#2 reader at "));
}

TEST_CASE("the await chain reaches the gather, task group or wait_for a task waits in",
          "[debug][tracking]") {
    SECTION("gather") {
        const std::vector<std::string> lines = lines_of(corio::run(chain_of(gathers())));
        REQUIRE(lines.size() == 2);
        CHECK_THAT(lines[0], Catch::StartsWith("#0 gathers at "));
        CHECK_THAT(lines[0], Catch::EndsWith(at_line(gather_line)));
    }
    SECTION("task group") {
        const std::vector<std::string> lines = lines_of(corio::run(chain_of(groups())));
        REQUIRE(lines.size() == 2);
        CHECK_THAT(lines[0], Catch::StartsWith("#0 groups at "));
        CHECK_THAT(lines[0], Catch::EndsWith(at_line(group_line)));
    }
    SECTION("wait_for") {
        const std::vector<std::string> lines = lines_of(corio::run(chain_of(waits_with_timeout())));
        REQUIRE(lines.size() >= 2);
        CHECK_THAT(lines.back(), Catch::Equals("in task 'traced'"));
        CHECK_THAT(lines[lines.size() - 2], Catch::EndsWith(at_line(wait_for_line)));
    }
}

TEST_CASE("a task that resumed leaves no stale link to the task it awaited", "[debug][tracking]") {
    const std::vector<std::string> lines = lines_of(corio::run(chain_of(sleeps_after_child())));
    REQUIRE(lines.size() == 2);  // the finished child is not in the chain
    CHECK_THAT(lines[0], Catch::StartsWith("#0 sleeps_after_child at "));
    CHECK_THAT(lines[0], Catch::EndsWith(at_line(after_child_line)));
}

TEST_CASE("all_tasks and the task tree name unnamed tasks by their function", "[debug][tracking]") {
    const std::string tree = corio::run([]() -> corio::task<std::string> {
        auto t = corio::create_task(outer());
        co_await corio::sleep(5ms);
        const std::vector<corio::task_info> tasks = corio::all_tasks();
        REQUIRE(tasks.size() == 2);
        CHECK(tasks[1].function == "outer");
        CHECK_THAT(tasks[1].awaiting, Catch::StartsWith("leaf at "));
        CHECK_THAT(tasks[1].awaiting, Catch::EndsWith(at_line(leaf_line)));
        std::string text = corio::format_task_tree();
        t.cancel();
        co_await corio::gather_settled(t);
        co_return text;
    }());
    const std::vector<std::string> lines = lines_of(tree);
    REQUIRE(lines.size() == 2);
    CHECK_THAT(lines[1], Catch::StartsWith("outer (Task-2, pending, awaiting leaf at "));
}

TEST_CASE("in debug mode the task tree shows each gather child's pending co_await",
          "[debug][tracking]") {
    corio::event_loop loop;
    loop.set_debug(true);
    const std::string tree = loop.run_until_complete([]() -> corio::task<std::string> {
        auto t = corio::create_task(
            []() -> corio::task<void> { co_await corio::gather(outer(), leaf()); }(), "fan-out");
        co_await corio::sleep(5ms);
        std::string text = corio::format_task_tree();
        t.cancel();
        co_await corio::gather_settled(t);
        co_return text;
    }());
    const std::vector<std::string> lines = lines_of(tree);
    REQUIRE(lines.size() == 4);
    CHECK_THAT(lines[1], Catch::StartsWith("    fan-out (pending, awaiting "));
    CHECK_THAT(lines[2], Catch::StartsWith("        gather child #0: outer (awaiting leaf at "));
    CHECK_THAT(lines[2], Catch::EndsWith(at_line(leaf_line) + ")"));
    CHECK_THAT(lines[3], Catch::StartsWith("        gather child #1: leaf (awaiting leaf at "));
}

namespace {

int failing_await_line = 0;
int rethrowing_line = 0;

corio::task<int> fails_after_sleep() {
    failing_await_line = __LINE__ + 1;
    co_await corio::sleep(0s);
    throw std::runtime_error("failure");
}

corio::task<int> awaits_failure() {
    rethrowing_line = __LINE__ + 1;
    co_return co_await fails_after_sleep();
}

}  // namespace

TEST_CASE("an exception's await chain carries each coroutine's co_await line", "[debug][tracking]") {
    corio::event_loop loop;
    loop.set_debug(true);
    const std::string chain = loop.run_until_complete([]() -> corio::task<std::string> {
        auto failing = corio::create_task(awaits_failure(), "failing");
        co_await corio::gather_settled(failing);
        co_return corio::format_await_chain(failing);
    }());
    const std::vector<std::string> lines = lines_of(chain);
    REQUIRE(lines.size() == 3);
    CHECK_THAT(lines[1], Catch::StartsWith("#0 (anonymous namespace)::fails_after_sleep() (after its co_await at "));
    CHECK_THAT(lines[1], Catch::EndsWith(at_line(failing_await_line) + ")"));
    CHECK_THAT(lines[2], Catch::StartsWith("#1 (anonymous namespace)::awaits_failure() at "));
    CHECK_THAT(lines[2], Catch::EndsWith(at_line(rethrowing_line)));
}

namespace {

corio::task<int> forgotten_work() {
    co_return 42;
}

}  // namespace

TEST_CASE("debug mode reports a task destroyed without ever being awaited or started", "[debug][tracking]") {
    corio::event_loop loop;
    std::vector<std::string> messages;
    loop.set_log_handler([&messages](corio::event_loop&, std::string_view m) { messages.emplace_back(m); });
    loop.set_debug(true);
    loop.run_until_complete([]() -> corio::task<void> {
        {
            auto forgotten = forgotten_work();  // never awaited: the classic missing co_await
        }
        co_await forgotten_work();  // awaited: fine
        auto spawned = corio::create_task(forgotten_work());
        co_await spawned;
    }());
    REQUIRE(messages.size() == 1);
    CHECK_THAT(messages[0], Contains("a task was destroyed without ever being awaited or "
                                         "started: (anonymous namespace)::forgotten_work() ("));
    CHECK_THAT(messages[0], Contains("missing co_await"));

    messages.clear();
    corio::event_loop quiet;  // debug mode off: not checked
    quiet.set_log_handler([&messages](corio::event_loop&, std::string_view m) { messages.emplace_back(m); });
    quiet.run_until_complete([]() -> corio::task<void> {
        { auto forgotten = forgotten_work(); }
        co_return;
    }());
    CHECK(messages.empty());
}

namespace {

corio::task<int> fails_deep() {
    co_await corio::sleep(0s);
    throw std::runtime_error("deep failure");
}

corio::task<int> calls_deep() {
    co_return co_await fails_deep() + 1;
}

corio::task<int> calls_calls_deep() {
    co_return co_await calls_deep() + 1;
}

}  // namespace

TEST_CASE("in debug mode a task's exception keeps the chain of coroutines it left", "[debug][tracking]") {
    corio::event_loop loop;
    loop.set_debug(true);
    const std::string chain = loop.run_until_complete([]() -> corio::task<std::string> {
        auto failing = corio::create_task(calls_calls_deep(), "failing");
        co_await corio::gather_settled(failing);
        co_return corio::format_await_chain(failing);
    }());
    const std::vector<std::string> lines = lines_of(chain);
    REQUIRE(lines.size() == 4);
    CHECK(lines[0] == "task 'failing' ended with an exception, which left:");
    CHECK_THAT(lines[1], Catch::StartsWith("#0 (anonymous namespace)::fails_deep() (after its co_await at "));
    CHECK_THAT(lines[2], Catch::StartsWith("#1 (anonymous namespace)::calls_deep() at "));
    CHECK_THAT(lines[3], Catch::StartsWith("#2 (anonymous namespace)::calls_calls_deep() at "));

    // Without debug mode nothing is recorded.
    corio::event_loop plain;
    const std::string finished = plain.run_until_complete([]() -> corio::task<std::string> {
        auto failing = corio::create_task(calls_calls_deep(), "failing");
        co_await corio::gather_settled(failing);
        co_return corio::format_await_chain(failing);
    }());
    CHECK(finished == "task 'failing' has finished\n");
}

TEST_CASE("a never-retrieved exception is reported with its await chain in debug mode", "[debug][tracking]") {
    corio::event_loop loop;
    loop.set_debug(true);
    std::vector<std::string> reports;
    loop.set_exception_handler([&reports](corio::event_loop&, const corio::exception_context& context) {
        reports.push_back(context.message);
    });
    loop.run_until_complete([]() -> corio::task<void> {
        {
            auto dropped = corio::create_task(calls_deep(), "dropped");
            co_await corio::sleep(10ms);  // it fails meanwhile; nobody looks
        }
        co_await corio::sleep(0s);
    }());
    REQUIRE(reports.size() == 1);
    CHECK_THAT(reports[0], Contains("Task exception was never retrieved (task 'dropped'; it left"));
    CHECK_THAT(reports[0], Contains("#0 (anonymous namespace)::fails_deep() (after its co_await at "));
    CHECK_THAT(reports[0], Contains("\n#1 (anonymous namespace)::calls_deep() at "));
}
