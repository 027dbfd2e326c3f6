// Tests of corio/debug.hpp and the loop's debug mode and metrics
// (event_loop::set_debug, slow_callback_duration, set_log_handler, metrics):
// task names, all_tasks, the task tree, await chains as far as a build without
// CORIO_TRACK_AWAITS knows them, slow-step warnings, exact counters.

#include "catch.hpp"
#include "test_support.hpp"

#include <corio/combinators.hpp>
#include <corio/current_task.hpp>
#include <corio/debug.hpp>
#include <corio/event_loop.hpp>
#include <corio/run.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/task.hpp>
#include <corio/task_group.hpp>
#include <corio/wait_any.hpp>

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using corio_test::lines_of;

corio::task<void> sleep_long() {
    co_await corio::sleep(10s);
}

int blocking_step_line = 0;

// Blocks the loop (by mistake, as the warning will say), then suspends.
corio::task<void> block_then_sleep(std::chrono::milliseconds block) {
    std::this_thread::sleep_for(block);
    blocking_step_line = __LINE__ + 1;
    co_await corio::sleep(1ms);
}

// Burns CPU rather than sleeping: a slow step that is not a blocking call.
corio::task<void> spin_then_sleep(std::chrono::milliseconds spin) {
    const auto until = std::chrono::steady_clock::now() + spin;
    volatile unsigned sink = 0;
    while (std::chrono::steady_clock::now() < until) {
        sink = sink + 1;
    }
    co_await corio::sleep(1ms);
}

int inner_sleep_line = 0;

corio::task<void> inner_sleep() {
    inner_sleep_line = __LINE__ + 1;
    co_await corio::sleep(10s);
}

corio::task<void> outer_sleep() {
    co_await inner_sleep();
}

corio::task<int> gathered_sleeper() {
    co_await corio::sleep(10s);
    co_return 1;
}

corio::task<void> group_worker() {
    co_await corio::sleep(10s);
}

corio::task<void> nested_gatherer() {
    co_await corio::gather(gathered_sleeper(), gathered_sleeper());
}

corio::task<void> racing_sleepers() {
    co_await corio::wait_any(group_worker(), group_worker());
}

struct captured_log {
    std::vector<std::string> messages;
    void install(corio::event_loop& loop) {
        loop.set_log_handler(
            [this](corio::event_loop&, std::string_view m) { messages.emplace_back(m); });
    }
};

}  // namespace

TEST_CASE("create_task names a task, unnamed tasks are Task-<n> in creation order", "[debug]") {
    corio::event_loop loop;
    const auto names = loop.run_until_complete([]() -> corio::task<std::vector<std::string>> {
        auto named = corio::create_task(sleep_long(), "fetcher");
        auto unnamed = corio::create_task(sleep_long());
        std::optional<corio::task_ref> self;
        self = co_await corio::current_task();
        std::vector<std::string> out{named.name(), unnamed.name(), self->name(),
                                     corio::task_ref(named).name()};
        named.cancel();
        unnamed.cancel();
        co_await corio::gather_settled(named, unnamed);
        out.push_back(named.name());  // still named once finished
        co_return out;
    }());
    CHECK(names == std::vector<std::string>{"fetcher", "Task-3", "Task-1", "fetcher", "fetcher"});
}

TEST_CASE("all_tasks lists the unfinished tasks, the root included, with their state", "[debug]") {
    corio::event_loop loop;
    loop.run_until_complete([]() -> corio::task<void> {
        auto a = corio::create_task(sleep_long(), "a");
        auto b = corio::create_task(sleep_long(), "b");
        auto done = corio::create_task([]() -> corio::task<int> { co_return 1; }(), "done");
        co_await corio::sleep(0s);
        co_await corio::sleep(0s);
        CHECK(done.done());

        std::vector<corio::task_info> tasks = corio::all_tasks();
        REQUIRE(tasks.size() == 3);
        CHECK(tasks[0].name == "Task-1");
        CHECK(tasks[0].id == 1);
        CHECK(tasks[1].name == "a");
        CHECK(tasks[2].name == "b");
        CHECK(tasks[1].state == "pending");
        CHECK(tasks[1].task == corio::task_ref(a));
        CHECK_FALSE(tasks[1].age.has_value());  // debug mode was off at creation
        CHECK(tasks[1].steps == 0);

        b.cancel();  // asked, not yet unwound
        tasks = corio::all_tasks();
        REQUIRE(tasks.size() == 3);
        CHECK(tasks[2].state == "cancelling");
        a.cancel();
        co_await corio::gather_settled(a, b);
        tasks = corio::all_tasks();
        REQUIRE(tasks.size() == 1);
        CHECK(tasks[0].name == "Task-1");
    }());
}

TEST_CASE("debug mode keeps each task's steps, running time, age and last co_await", "[debug]") {
    corio::event_loop loop;
    loop.set_debug(true);
    CHECK(loop.get_debug());
    loop.run_until_complete([]() -> corio::task<void> {
        auto t = corio::create_task(
            []() -> corio::task<void> {
                co_await corio::sleep(0s);
                co_await corio::sleep(0s);
                co_await inner_sleep();
            }(),
            "stepper");
        co_await corio::sleep(20ms);
        const std::vector<corio::task_info> tasks = corio::all_tasks();
        REQUIRE(tasks.size() == 2);
        const corio::task_info& info = tasks[1];
        CHECK(info.name == "stepper");
        CHECK(info.steps == 3);  // started, and resumed after each sleep(0)
        REQUIRE(info.age.has_value());
        CHECK(*info.age >= 20ms);
        CHECK(info.running_time > 0ns);
        CHECK(info.parent_id == 1);
        CHECK_THAT(info.awaiting, Contains("test_debug.cpp:" + std::to_string(inner_sleep_line)));
        CHECK_THAT(info.awaiting, Contains("inner_sleep"));
        t.cancel();
        co_await corio::gather_settled(t);
    }());
}

TEST_CASE("format_task_tree indents each task under the task that created it", "[debug]") {
    corio::event_loop loop;
    loop.set_debug(true);
    const std::string tree = loop.run_until_complete([]() -> corio::task<std::string> {
        auto parent = corio::create_task(
            []() -> corio::task<void> {
                auto child = corio::create_task(sleep_long(), "child");
                try {
                    co_await child;
                } catch (const corio::cancelled_error&) {
                }
            }(),
            "parent");
        auto sibling = corio::create_task(sleep_long(), "sibling");
        co_await corio::sleep(10ms);
        std::string text = corio::format_task_tree();
        parent.cancel();
        sibling.cancel();
        co_await corio::gather_settled(parent, sibling);
        co_return text;
    }());
    const std::vector<std::string> lines = lines_of(tree);
    REQUIRE(lines.size() == 4);
    CHECK_THAT(lines[0], Contains("::operator()"));  // unnamed: by its function (a lambda here)
    CHECK_THAT(lines[0], Contains(" (Task-1, pending"));
    CHECK_THAT(lines[1], Catch::StartsWith("    parent (pending, awaiting "));
    CHECK_THAT(lines[2], Catch::StartsWith("        child (pending, awaiting "));
    CHECK_THAT(lines[2], Contains("sleep_long at "));
    CHECK_THAT(lines[3], Catch::StartsWith("    sibling (pending"));
}

TEST_CASE("the task tree lists the running children of gather, wait_any and task groups",
          "[debug]") {
    corio::event_loop loop;
    loop.set_debug(true);
    std::string tree;
    std::vector<corio::task_info> tasks;
    std::vector<corio::task_info> after;
    loop.run_until_complete([&]() -> corio::task<void> {
        auto supervisor = corio::create_task(
            []() -> corio::task<void> {
                co_await corio::with_task_group([](corio::task_group& group) -> corio::task<void> {
                    group.spawn(group_worker(), "worker-a");
                    group.spawn(nested_gatherer());
                    co_return;
                });
            }(),
            "supervisor");
        auto gatherer = corio::create_task(
            []() -> corio::task<void> {
                co_await corio::gather(racing_sleepers(), nested_gatherer());
            }(),
            "gatherer");
        co_await corio::sleep(10ms);
        tree = corio::format_task_tree();
        tasks = corio::all_tasks();
        supervisor.cancel();
        gatherer.cancel();
        co_await corio::gather_settled(supervisor, gatherer);
        after = corio::all_tasks();
    }());
    const std::vector<std::string> lines = lines_of(tree);
    REQUIRE(lines.size() == 13);
    CHECK_THAT(lines[1], Catch::StartsWith("    supervisor (pending"));
    CHECK_THAT(lines[2], Catch::StartsWith("        task_group child #0 'worker-a': "));
    CHECK_THAT(lines[2], Contains("group_worker"));
    CHECK_THAT(lines[3], Catch::StartsWith("        task_group child #1: "));
    CHECK_THAT(lines[3], Contains("nested_gatherer"));
    CHECK_THAT(lines[4], Catch::StartsWith("            gather child #0: "));
    CHECK_THAT(lines[4], Contains("gathered_sleeper"));
    CHECK_THAT(lines[5], Catch::StartsWith("            gather child #1: "));
    CHECK_THAT(lines[6], Catch::StartsWith("    gatherer (pending"));
    CHECK_THAT(lines[7], Catch::StartsWith("        gather child #0: "));
    CHECK_THAT(lines[7], Contains("racing_sleepers"));
    CHECK_THAT(lines[8], Catch::StartsWith("            wait_any child #0: "));
    CHECK_THAT(lines[8], Contains("group_worker"));
    CHECK_THAT(lines[9], Catch::StartsWith("            wait_any child #1: "));
    CHECK_THAT(lines[10], Catch::StartsWith("        gather child #1: "));
    CHECK_THAT(lines[10], Contains("nested_gatherer"));
    CHECK_THAT(lines[11], Catch::StartsWith("            gather child #0: "));
    CHECK_THAT(lines[12], Catch::StartsWith("            gather child #1: "));

    REQUIRE(tasks.size() == 3);
    CHECK(tasks[0].strands.empty());  // the root was running, not gathering
    REQUIRE(tasks[1].strands.size() == 4);
    CHECK(tasks[1].strands[0].kind == "task_group");
    CHECK(tasks[1].strands[0].name == "worker-a");
    CHECK(tasks[1].strands[0].depth == 0);
    CHECK(tasks[1].strands[1].index == 1);
    CHECK(tasks[1].strands[1].name.empty());
    CHECK(tasks[1].strands[2].kind == "gather");
    CHECK(tasks[1].strands[2].depth == 1);
    CHECK(tasks[1].strands[3].index == 1);
    REQUIRE(tasks[2].strands.size() == 6);
    CHECK(tasks[2].strands[1].kind == "wait_any");
    CHECK(tasks[2].strands[1].depth == 1);
    CHECK(tasks[2].strands[3].kind == "gather");
    CHECK(tasks[2].strands[3].index == 1);
    CHECK(tasks[2].strands[3].depth == 0);
    // Finished children leave the tree: only the root is left, gathering nothing.
    REQUIRE(after.size() == 1);
    CHECK(after[0].strands.empty());
}

TEST_CASE("children started with debug mode off are not recorded", "[debug]") {
    corio::event_loop loop;
    loop.run_until_complete([]() -> corio::task<void> {
        auto gatherer = corio::create_task(nested_gatherer(), "gatherer");
        co_await corio::sleep(1ms);
        const std::vector<corio::task_info> tasks = corio::all_tasks();
        REQUIRE(tasks.size() == 2);
        CHECK(tasks[1].strands.empty());
        CHECK(lines_of(corio::format_task_tree()).size() == 2);
        gatherer.cancel();
        co_await corio::gather_settled(gatherer);
    }());
}

TEST_CASE("without debug mode the tree is flat and the await chain unknown", "[debug]") {
    corio::event_loop loop;
    loop.run_until_complete([]() -> corio::task<void> {
        auto t = corio::create_task(outer_sleep(), "quiet");
        co_await corio::sleep(1ms);
        const std::vector<std::string> lines = lines_of(corio::format_task_tree());
        REQUIRE(lines.size() == 2);
        CHECK(lines[1] == "quiet (pending)");
        const std::string chain = corio::format_await_chain(t);
        CHECK_THAT(chain, Contains("await sites unknown"));
        CHECK_THAT(chain, Contains("in task 'quiet'"));
        t.cancel();
        co_await corio::gather_settled(t);
        CHECK(corio::format_await_chain(t) == "task 'quiet' has finished\n");
    }());
}

TEST_CASE("in debug mode the await chain shows the innermost pending co_await", "[debug]") {
    corio::event_loop loop;
    loop.set_debug(true);
    const std::string chain = loop.run_until_complete([]() -> corio::task<std::string> {
        auto t = corio::create_task(outer_sleep(), "sleeper");
        co_await corio::sleep(1ms);
        std::string text = corio::format_await_chain(t);
        t.cancel();
        co_await corio::gather_settled(t);
        co_return text;
    }());
    const std::vector<std::string> lines = lines_of(chain);
    REQUIRE(lines.size() == 2);
    CHECK_THAT(lines[0], Catch::StartsWith("#0 inner_sleep at "));
    CHECK_THAT(lines[0], Catch::EndsWith("test_debug.cpp:" + std::to_string(inner_sleep_line)));
    CHECK(lines[1] == "in task 'sleeper'");
}

TEST_CASE("a step longer than slow_callback_duration is reported with the task and lines",
          "[debug]") {
    corio::event_loop loop;
    captured_log log;
    log.install(loop);
    loop.set_debug(true);
    loop.slow_callback_duration = 30ms;
    loop.run_until_complete([]() -> corio::task<void> {
        co_await corio::create_task(block_then_sleep(120ms), "blocker");
        co_await corio::create_task(spin_then_sleep(60ms), "spinner");
    }());
    REQUIRE(log.messages.size() == 2);
    const std::string& blocked = log.messages[0];
    CHECK_THAT(blocked, Contains("task 'blocker' blocked the loop for "));
    CHECK_THAT(blocked, Contains("slow_callback_duration 30.0 ms"));
    CHECK_THAT(blocked, Contains("next suspended at block_then_sleep at "));
    CHECK_THAT(blocked, Contains("test_debug.cpp:" + std::to_string(blocking_step_line)));
    // One sleep is one wait, but a loaded machine can add a voluntary switch
    // of its own (seen in CI: "in 2 waits"), so the count is not asserted.
    CHECK_THAT(blocked, Contains("off the CPU in "));
    CHECK_THAT(blocked, Contains(": a blocking call"));
    const std::string& spun = log.messages[1];
    CHECK_THAT(spun, Contains("task 'spinner' blocked the loop for "));
    CHECK_THAT(spun, !Contains("off the CPU"));  // it was busy, not blocked in the kernel
}

TEST_CASE("a step that resumes a task names where it resumed", "[debug]") {
    corio::event_loop loop;
    captured_log log;
    log.install(loop);
    loop.set_debug(true);
    loop.slow_callback_duration = 30ms;
    static int resumed_line = 0;
    static int suspended_line = 0;
    loop.run_until_complete([]() -> corio::task<void> {
        resumed_line = __LINE__ + 1;
        co_await corio::sleep(1ms);
        std::this_thread::sleep_for(80ms);
        suspended_line = __LINE__ + 1;
        co_await corio::sleep(1ms);
    }());
    REQUIRE(log.messages.size() == 1);
    CHECK_THAT(log.messages[0], Contains("task 'Task-1' blocked the loop"));
    CHECK_THAT(log.messages[0], Contains("resumed at "));
    CHECK_THAT(log.messages[0], Contains("test_debug.cpp:" + std::to_string(resumed_line) +
                                         " and next suspended at"));
    CHECK_THAT(log.messages[0], Contains("test_debug.cpp:" + std::to_string(suspended_line)));
}

TEST_CASE("no warning for short steps, nor for slow ones with debug mode off", "[debug]") {
    captured_log log;
    {
        corio::event_loop loop;
        log.install(loop);
        loop.set_debug(true);
        loop.slow_callback_duration = 200ms;
        loop.run_until_complete([]() -> corio::task<void> {
            for (int i = 0; i < 20; ++i) {
                co_await corio::sleep(1ms);
            }
            co_await corio::create_task(block_then_sleep(20ms));
        }());
    }
    {
        corio::event_loop loop;
        log.install(loop);
        loop.slow_callback_duration = 10ms;
        loop.run_until_complete(block_then_sleep(60ms));
    }
    CHECK(log.messages.empty());
}

TEST_CASE("CORIO_DEBUG in the environment turns debug mode on", "[debug]") {
    ::setenv("CORIO_DEBUG", "1", 1);
    const bool on = corio::event_loop().get_debug();
    ::setenv("CORIO_DEBUG", "0", 1);
    const bool off_for_zero = corio::event_loop().get_debug();
    ::unsetenv("CORIO_DEBUG");
    const bool off_unset = corio::event_loop().get_debug();
    CHECK(on);
    CHECK_FALSE(off_for_zero);
    CHECK_FALSE(off_unset);
}

TEST_CASE("a throwing log handler is ignored", "[debug]") {
    corio::event_loop loop;
    loop.set_log_handler(
        [](corio::event_loop&, std::string_view) { throw std::runtime_error("log down"); });
    loop.set_debug(true);
    loop.slow_callback_duration = 5ms;
    CHECK_NOTHROW(loop.run_until_complete(block_then_sleep(20ms)));
}

TEST_CASE("metrics count tasks, steps and waits exactly", "[debug][metrics]") {
    corio::event_loop loop;
    const corio::loop_metrics before = loop.metrics();
    CHECK(before.tasks_created == 0);
    CHECK(before.steps == 0);
    loop.run_until_complete([]() -> corio::task<void> {
        for (int i = 0; i < 5; ++i) {
            co_await corio::sleep(0s);  // a yield: one step each
        }
    }());
    corio::loop_metrics m = loop.metrics();
    CHECK(m.tasks_created == 1);
    CHECK(m.tasks_finished == 1);
    CHECK(m.tasks_cancelled == 0);
    CHECK(m.steps == 6);  // the start and five resumptions
    CHECK(m.tasks_pending == 0);
    CHECK(m.ready_queue_depth == 0);
    CHECK(m.ready_queue_peak == 0);  // kept in debug mode only
    CHECK(m.timers_armed == 0);
    CHECK(m.io_waits == 0);        // work was always ready and nothing watched: never polled
    CHECK(m.time_running == 0ns);  // debug mode off

    loop.run_until_complete([]() -> corio::task<void> {
        auto a = corio::create_task(sleep_long());
        auto b = corio::create_task(sleep_long());
        auto c = corio::create_task([]() -> corio::task<int> { co_return 3; }());
        co_await corio::sleep(0s);  // a, b and c start; c ends
        const corio::loop_metrics mid = corio::get_running_loop().metrics();
        CHECK(mid.tasks_pending == 3);  // this root, a and b
        CHECK(mid.timers_armed == 2);
        a.cancel();
        b.cancel();
        co_await corio::gather_settled(a, b);
    }());
    m = loop.metrics();
    CHECK(m.tasks_created == 5);
    CHECK(m.tasks_finished == 5);
    CHECK(m.tasks_cancelled == 2);
    CHECK(m.io_waits == 0);
}

TEST_CASE("metrics: a timed wait is one reactor wait, and debug mode times it",
          "[debug][metrics]") {
    corio::event_loop loop;
    loop.set_debug(true);
    loop.run_until_complete([]() -> corio::task<void> { co_await corio::sleep(30ms); }());
    const corio::loop_metrics m = loop.metrics();
    CHECK(m.io_waits >= 1);
    CHECK(m.time_in_reactor >= 25ms);
    CHECK(m.time_running > 0ns);
    CHECK(m.steps == 2);
    CHECK(m.ready_queue_peak == 1);
}

TEST_CASE("metrics render in Prometheus text format", "[debug][metrics]") {
    corio::loop_metrics m;
    m.tasks_created = 7;
    m.tasks_cancelled = 2;
    m.ready_queue_depth = 3;
    m.time_in_reactor = 1500ms;
    const std::string text = m.to_prometheus();
    CHECK_THAT(text,
               Contains("# TYPE corio_tasks_created_total counter\ncorio_tasks_created_total 7\n"));
    CHECK_THAT(text, Contains("\ncorio_tasks_cancelled_total 2\n"));
    CHECK_THAT(text, Contains("# TYPE corio_ready_queue_depth gauge\ncorio_ready_queue_depth 3\n"));
    CHECK_THAT(text, Contains("\ncorio_reactor_seconds_total 1.5"));
    CHECK_THAT(m.to_prometheus("app_"), Contains("\napp_steps_total 0\n"));
    for (const std::string& line : lines_of(text)) {
        CHECK((line.rfind("# HELP corio_", 0) == 0 || line.rfind("# TYPE corio_", 0) == 0 ||
               line.rfind("corio_", 0) == 0));
    }
}

namespace {

// block_then_sleep without the line bookkeeping (a global both threads would write).
corio::task<void> block_on_any_thread(std::chrono::milliseconds block) {
    std::this_thread::sleep_for(block);
    co_await corio::sleep(1ms);
}

}  // namespace

TEST_CASE("loops on two threads keep their own debug state, names and warnings", "[debug][threads]") {
    struct result {
        std::vector<std::string> messages;
        std::vector<std::string> names;
        std::uint64_t created = 0;
    };
    auto run_loop = [](result& out, std::string prefix, bool debug) {
        corio::event_loop loop;
        loop.set_debug(debug);
        loop.slow_callback_duration = 20ms;
        loop.set_log_handler([&out](corio::event_loop&, std::string_view m) { out.messages.emplace_back(m); });
        loop.run_until_complete([](result& o, std::string p) -> corio::task<void> {
            std::vector<corio::task_handle<void>> handles;
            for (int i = 0; i < 3; ++i) {
                handles.push_back(corio::create_task(block_on_any_thread(40ms), p + std::to_string(i)));
            }
            for (const corio::task_info& info : corio::all_tasks()) {
                o.names.push_back(info.name);
            }
            for (auto& h : handles) {
                co_await h;
            }
        }(out, prefix));
        out.created = loop.metrics().tasks_created;
    };
    result a;
    result b;
    std::thread first(run_loop, std::ref(a), std::string("a"), true);
    std::thread second(run_loop, std::ref(b), std::string("b"), false);
    first.join();
    second.join();
    CHECK(a.names == std::vector<std::string>{"Task-1", "a0", "a1", "a2"});
    CHECK(b.names == std::vector<std::string>{"Task-1", "b0", "b1", "b2"});
    CHECK(a.created == 4);
    CHECK(b.created == 4);
    REQUIRE(a.messages.size() == 3);  // one slow step per task, each named
    for (int i = 0; i < 3; ++i) {
        CHECK_THAT(a.messages[static_cast<std::size_t>(i)], Contains("task 'a" + std::to_string(i) + "' blocked"));
    }
    CHECK(b.messages.empty());  // debug mode was off on that loop
}
