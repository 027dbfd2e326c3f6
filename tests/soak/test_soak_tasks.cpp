// Soak: a million tasks, every one accounted for: completions counted
// exactly, every frame's state destroyed, the loop's task count back to zero.
#include <corio/combinators.hpp>
#include <corio/event_loop.hpp>
#include <corio/invoke.hpp>
#include <corio/run.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/task_group.hpp>

#include "catch.hpp"
#include "soak_support.hpp"
#include "test_support.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

using namespace std::chrono_literals;
using corio_test::counted;
using corio_test::run_with_watchdog;

namespace {

struct tally {
    std::size_t started = 0;
    std::size_t finished = 0;
    std::uint64_t sum = 0;
};

// Holds a counted value across a suspension (every 7th task sleeps, the
// others yield), so a frame that is never destroyed shows in counted::alive().
corio::task<std::uint64_t> unit(std::uint64_t index, tally& t) {
    counted held(static_cast<int>(index % 1000));
    ++t.started;
    if (index % 7 == 0) {
        co_await corio::sleep(1ms);
    } else {
        co_await corio::sleep(0ms);
    }
    ++t.finished;
    t.sum += index;
    co_return index + static_cast<std::uint64_t>(held.value) * 0;
}

std::uint64_t expected_sum(std::size_t n) { return static_cast<std::uint64_t>(n) * (n - 1) / 2; }

}  // namespace

TEST_CASE("a million tasks in one task_group all complete, each exactly once", "[soak]") {
    const std::size_t n = corio_soak::scaled(1000000, 250000, 5000000);
    counted::reset();
    tally t;
    auto body = [&]() -> corio::task<std::size_t> {
        // The baseline: the watchdog's own timer and task.
        const std::size_t tasks_before = corio::get_running_loop().pending_tasks();
        co_await corio::with_task_group([&](corio::task_group& group) -> corio::task<void> {
            for (std::size_t i = 0; i < n; ++i) {
                (void)group.spawn(unit(i, t));
            }
            co_return;
        });
        co_return corio::get_running_loop().pending_tasks() - tasks_before;
    };
    const std::size_t pending_after = run_with_watchdog(body(), 100s);
    CHECK(t.started == n);
    CHECK(t.finished == n);
    CHECK(t.sum == expected_sum(n));
    CHECK(pending_after == 0);
    CHECK(counted::alive() == 0);
}

TEST_CASE("a million create_task handles all complete with their own value and free their frames", "[soak]") {
    const std::size_t n = corio_soak::scaled(1000000, 250000, 5000000);
    counted::reset();
    tally t;
    bool all_pending = false;
    auto body = [&]() -> corio::task<bool> {
        const std::size_t tasks_before = corio::get_running_loop().pending_tasks();
        std::vector<corio::task_handle<std::uint64_t>> handles;
        handles.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            handles.push_back(corio::create_task(unit(i, t)));
        }
        all_pending = corio::get_running_loop().pending_tasks() == tasks_before + n;
        bool values_match = true;
        for (std::size_t i = 0; i < n; ++i) {
            const std::uint64_t value = co_await handles[i];
            values_match = values_match && value == i;
        }
        handles.clear();
        co_return values_match && corio::get_running_loop().pending_tasks() == tasks_before;
    };
    const bool ok = run_with_watchdog(body(), 100s);
    CHECK(all_pending);
    CHECK(ok);
    CHECK(t.finished == n);
    CHECK(t.sum == expected_sum(n));
    CHECK(counted::alive() == 0);
}

TEST_CASE("gather of a million tasks returns every value in order", "[soak]") {
    const std::size_t n = corio_soak::scaled(1000000, 250000, 5000000);
    counted::reset();
    tally t;
    auto body = [&]() -> corio::task<bool> {
        const std::size_t tasks_before = corio::get_running_loop().pending_tasks();
        const std::size_t timers_before = corio::get_running_loop().pending_timers();
        std::vector<corio::task<std::uint64_t>> tasks;
        tasks.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            tasks.push_back(unit(i, t));
        }
        const std::vector<std::uint64_t> values = co_await corio::gather(std::move(tasks));
        bool in_order = values.size() == n;
        for (std::size_t i = 0; in_order && i < n; ++i) {
            in_order = values[i] == i;
        }
        co_return in_order && corio::get_running_loop().pending_tasks() == tasks_before &&
            corio::get_running_loop().pending_timers() == timers_before;
    };
    CHECK(run_with_watchdog(body(), 100s));
    CHECK(t.finished == n);
    CHECK(t.sum == expected_sum(n));
    CHECK(counted::alive() == 0);
}
