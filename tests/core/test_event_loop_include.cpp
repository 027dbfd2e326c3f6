// One include is enough: every member event_loop declares works with
// <corio/event_loop.hpp> alone (create_task, run_until_complete,
// run_in_executor included). Keep this file's corio includes to that one.
//
// Coroutines under test live in lambdas or an anonymous namespace: clang 14
// with -fsanitize=function cannot assemble coroutines with external inline
// linkage.

#include "catch.hpp"

#include <corio/event_loop.hpp>

#include <chrono>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

corio::task<int> add(int a, int b) { co_return a + b; }

}  // namespace

TEST_CASE("create_task and run_until_complete work from <corio/event_loop.hpp> alone", "[event_loop]") {
    corio::event_loop loop;
    const int sum = loop.run_until_complete([]() -> corio::task<int> {
        corio::task_handle<int> first = corio::get_running_loop().create_task(add(1, 2));
        corio::task_handle<int> second = corio::create_task(add(3, 4));
        co_return co_await first + co_await second;
    }());
    CHECK(sum == 10);
    CHECK(loop.pending_tasks() == 0);
}

TEST_CASE("call_soon and call_later work from <corio/event_loop.hpp> alone", "[event_loop]") {
    corio::event_loop loop;
    std::vector<int> order;
    loop.call_later(1ms, [&] {
        order.push_back(3);
        loop.stop();
    });
    loop.call_soon([&] { order.push_back(1); });
    loop.call_soon([&] { order.push_back(2); });
    // Stops a broken loop instead of hanging the test.
    corio::callback_handle watchdog = loop.call_later(5s, [&] { loop.stop(); });
    loop.run_forever();
    watchdog.cancel();
    CHECK(order == std::vector<int>{1, 2, 3});
}

TEST_CASE("run_in_executor works from <corio/event_loop.hpp> alone", "[event_loop][threads]") {
    corio::thread_pool pool(1);
    corio::event_loop loop;
    const std::thread::id loop_thread = std::this_thread::get_id();
    const std::thread::id worker = loop.run_until_complete([](corio::thread_pool& workers) -> corio::task<std::thread::id> {
        co_return co_await corio::get_running_loop().run_in_executor(workers, [] { return std::this_thread::get_id(); });
    }(pool));
    CHECK(worker != loop_thread);
}

TEST_CASE("corio::run works from <corio/event_loop.hpp> alone", "[event_loop]") {
    CHECK(corio::run(add(20, 22)) == 42);
}
