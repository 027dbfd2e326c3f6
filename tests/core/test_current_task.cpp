// Tests of corio/current_task.hpp (asyncio.current_task) and of cancel(message)
// (asyncio's Task.cancel(msg)) on task handles, task_ref and group children.

#include "catch.hpp"
#include "test_support.hpp"

#include <corio/cancel.hpp>
#include <corio/combinators.hpp>
#include <corio/current_task.hpp>
#include <corio/event_loop.hpp>
#include <corio/run.hpp>
#include <corio/shield.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/task.hpp>
#include <corio/task_group.hpp>

#include <chrono>
#include <coroutine>
#include <optional>
#include <string>
#include <utility>

namespace {

using namespace std::chrono_literals;
using corio_test::run_with_watchdog;

constexpr auto watchdog = 10s;

corio::task<corio::task_ref> me() {
    co_return co_await corio::current_task();
}

// Records the task it runs in outside itself. (A spawned task returning its
// own task_ref would own a reference to itself through its result: a cycle.)
corio::task<void> record_self(std::optional<corio::task_ref>* out) {
    *out = co_await corio::current_task();
}

// Sleeps until cancelled; returns the message of the cancelled_error it got.
corio::task<std::string> message_seen() {
    std::string seen = "<not cancelled>";
    try {
        co_await corio::sleep(10s);
    } catch (const corio::cancelled_error& e) {
        seen = std::string(e.message()) + "|" + e.what();
    }
    co_return seen;
}

}  // namespace

TEST_CASE("current_task in the root task of corio::run is that running task", "[current_task]") {
    const bool ok = corio::run([]() -> corio::task<bool> {
        corio::task_ref self = co_await corio::current_task();
        corio::task_ref again = co_await me();  // nested coroutines share the task
        co_return self.valid() && !self.done() && !self.cancelled() && self == again;
    }());
    CHECK(ok);
}

TEST_CASE("current_task in a create_task'ed task equals its handle, and outlives it",
          "[current_task]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            std::optional<corio::task_ref> recorded;
            auto handle = corio::create_task(record_self(&recorded));
            co_await handle;
            REQUIRE(recorded.has_value());
            corio::task_ref seen = *recorded;
            CHECK(seen == corio::task_ref(handle));
            CHECK(seen == handle);
            CHECK(seen.done());
            CHECK_FALSE(seen.cancelled());
            corio::task_ref root = co_await corio::current_task();
            CHECK_FALSE(root == seen);
            CHECK_FALSE(corio::task_ref{}.valid());
        }(),
        watchdog);
}

TEST_CASE("current_task in combinator children is the task awaiting the combinator",
          "[current_task]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            corio::task_ref self = co_await corio::current_task();
            auto [a, b] = co_await corio::gather(me(), me());
            CHECK(a == self);
            CHECK(b == self);
            corio::task_ref c = co_await corio::wait_for(me(), 1s);
            CHECK(c == self);
            std::optional<corio::task_ref> body_ref;
            std::optional<corio::task_ref> child_ref;
            auto group_body = [&](corio::task_group& tg) -> corio::task<void> {
                body_ref = co_await corio::current_task();
                auto child = tg.spawn(me());
                child_ref = co_await child;
            };
            co_await corio::with_task_group(group_body);
            CHECK(*body_ref == self);
            CHECK(*child_ref == self);
            corio::task_ref shielded = co_await corio::shield(me());  // a task of its own
            CHECK_FALSE(shielded == self);
            CHECK(shielded.valid());
        }(),
        watchdog);
}

TEST_CASE("current_task outside any corio task is empty", "[current_task]") {
    struct foreign {
        struct promise_type {
            std::optional<corio::task_ref> seen;
            foreign get_return_object() {
                return {std::coroutine_handle<promise_type>::from_promise(*this)};
            }
            std::suspend_never initial_suspend() noexcept { return {}; }
            std::suspend_always final_suspend() noexcept { return {}; }
            void return_void() noexcept {}
            void unhandled_exception() noexcept {}
        };
        std::coroutine_handle<promise_type> handle;
    };
    auto probe = [](std::optional<corio::task_ref>* out) -> foreign {
        *out = co_await corio::current_task();
    };
    std::optional<corio::task_ref> seen;
    foreign f = probe(&seen);
    REQUIRE(f.handle.done());
    f.handle.destroy();
    REQUIRE(seen.has_value());
    CHECK_FALSE(seen->valid());
    CHECK_FALSE(static_cast<bool>(*seen));
}

TEST_CASE("a task cancelling itself through current_task throws at its next suspension",
          "[current_task]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            int reached = 0;
            auto body = [&]() -> corio::task<void> {
                corio::task_ref self = co_await corio::current_task();
                CHECK(self.cancel());
                ++reached;  // cancel() does not throw; the next co_await does
                co_await corio::sleep(10s);
                ++reached;
            };
            auto handle = corio::create_task(body());
            const bool ended_cancelled = co_await corio_test::ended_cancelled(handle);
            CHECK(ended_cancelled);
            CHECK(reached == 1);
            corio::task_ref ref(handle);
            CHECK(ref.done());
            CHECK(ref.cancelled());
            CHECK_FALSE(ref.cancel());
        }(),
        watchdog);
}

// ---- cancel(message) ----

TEST_CASE("cancelled_error without a message: empty message, plain what()", "[cancel_message]") {
    const corio::cancelled_error plain;
    CHECK(plain.message().empty());
    CHECK(std::string(plain.what()) == "corio: operation cancelled");
    STATIC_REQUIRE(sizeof(corio::cancelled_error) == sizeof(void*));
    const corio::cancelled_error with("shutting down");
    const corio::cancelled_error copy = with;  // copies share the text
    CHECK(std::string(copy.message()) == "shutting down");
    CHECK(std::string(copy.what()) == "corio: operation cancelled: shutting down");
    CHECK(copy.message().data() == with.message().data());
}

TEST_CASE("handle.cancel(message): the task's cancelled_error carries the message",
          "[cancel_message]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            auto handle = corio::create_task(message_seen());
            co_await corio::sleep(0ms);
            CHECK(handle.cancel("stop now"));
            const std::string seen = co_await handle;
            CHECK(seen == "stop now|corio: operation cancelled: stop now");

            auto plain = corio::create_task(message_seen());
            co_await corio::sleep(0ms);
            plain.cancel();
            const std::string plain_seen = co_await plain;
            CHECK(plain_seen == "|corio: operation cancelled");
        }(),
        watchdog);
}

TEST_CASE("cancel(message) before the task started: the recorded cancellation has the message",
          "[cancel_message]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            auto handle = corio::create_task(message_seen());
            CHECK(handle.cancel("early"));
            std::string seen;
            try {
                (void)co_await handle;
            } catch (const corio::cancelled_error& e) {
                seen = e.message();
            }
            CHECK(seen == "early");
            CHECK(handle.cancelled());
        }(),
        watchdog);
}

TEST_CASE("cancel(message) on a finished task returns false", "[cancel_message]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            std::optional<corio::task_ref> recorded;
            auto handle = corio::create_task(record_self(&recorded));
            co_await handle;
            CHECK_FALSE(handle.cancel("late"));
            CHECK_FALSE(corio::task_ref(handle).cancel("late"));
        }(),
        watchdog);
}

TEST_CASE("the first message wins when two cancels meet", "[cancel_message]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            auto handle = corio::create_task(message_seen());
            co_await corio::sleep(0ms);
            handle.cancel("first");
            handle.cancel("second");
            const std::string seen = co_await handle;
            CHECK(seen.rfind("first|", 0) == 0);
        }(),
        watchdog);
}

TEST_CASE(
    "the message is passed on to an awaited task, a gather's children and wait_for's inner task",
    "[cancel_message]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            std::string inner_seen;
            std::string outer_seen;
            auto waiter = [&](corio::task_handle<std::string> inner) -> corio::task<void> {
                try {
                    inner_seen =
                        co_await inner;  // the inner task swallows it and returns what it saw
                } catch (const corio::cancelled_error& e) {
                    outer_seen = e.message();
                }
            };
            auto inner = corio::create_task(message_seen());
            auto outer = corio::create_task(waiter(inner));
            co_await corio::sleep(0ms);
            outer.cancel("via join");
            co_await outer;
            CHECK(inner_seen.rfind("via join|", 0) == 0);

            std::string a;
            std::string b;
            auto gatherer = [&]() -> corio::task<void> {
                auto [x, y] = co_await corio::gather(message_seen(), message_seen());
                a = x;
                b = y;
            };
            auto g = corio::create_task(gatherer());
            co_await corio::sleep(0ms);
            g.cancel("via gather");
            std::string gather_seen;
            try {
                co_await g;
            } catch (const corio::cancelled_error& e) {
                gather_seen = e.message();
            }
            // The children swallowed it, but the awaiting task was cancelled: it throws, with its
            // message.
            CHECK(gather_seen == "via gather");

            std::string timed_seen;
            auto timed = [&]() -> corio::task<void> {
                timed_seen = co_await corio::wait_for(message_seen(), 10s);
            };
            auto t = corio::create_task(timed());
            co_await corio::sleep(0ms);
            t.cancel("via wait_for");
            std::string wait_for_seen;
            try {
                co_await t;
            } catch (const corio::cancelled_error& e) {
                wait_for_seen = e.message();
            }
            CHECK(wait_for_seen == "via wait_for");
        }(),
        watchdog);
}

TEST_CASE("a gather child sees the message of its parent's cancellation", "[cancel_message]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            std::string child_seen;
            auto child = [&]() -> corio::task<void> { child_seen = co_await message_seen(); };
            auto parent = [&]() -> corio::task<void> { co_await corio::gather(child()); };
            auto handle = corio::create_task(parent());
            co_await corio::sleep(0ms);
            handle.cancel("parent said so");
            const bool ended_cancelled = co_await corio_test::ended_cancelled(handle);
            CHECK(ended_cancelled);
            CHECK(child_seen.rfind("parent said so|", 0) == 0);
        }(),
        watchdog);
}

TEST_CASE("child_handle.cancel(message) and task_ref.cancel(message)", "[cancel_message]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            std::string child_seen;
            auto group_body = [&](corio::task_group& tg) -> corio::task<void> {
                auto child = tg.spawn(message_seen());
                co_await corio::sleep(0ms);
                child.cancel("group child");
                child_seen = co_await child;
            };
            co_await corio::with_task_group(group_body);
            CHECK(child_seen.rfind("group child|", 0) == 0);

            auto handle = corio::create_task(message_seen());
            co_await corio::sleep(0ms);
            corio::task_ref(handle).cancel("by ref");
            const std::string seen = co_await handle;
            CHECK(seen.rfind("by ref|", 0) == 0);
        }(),
        watchdog);
}
