// Tests of corio/timeout.hpp: timeout scopes (asyncio.timeout / timeout_at).
// Cases named test_* mirror the CPython test of that name in
// Lib/test/test_asyncio/test_timeouts.py (same scenario, C++ spelling).

#include "catch.hpp"
#include "test_support.hpp"

#include <corio/as_completed.hpp>
#include <corio/cancel.hpp>
#include <corio/combinators.hpp>
#include <corio/current_task.hpp>
#include <corio/detail/io_source.hpp>
#include <corio/event_loop.hpp>
#include <corio/run.hpp>
#include <corio/shield.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/sync/condition.hpp>
#include <corio/sync/mutex.hpp>
#include <corio/sync/queue.hpp>
#include <corio/sync/semaphore.hpp>
#include <corio/task.hpp>
#include <corio/task_group.hpp>
#include <corio/timeout.hpp>
#include <corio/wait_any.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstdlib>
#include <exception>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

// Counts every plain operator new in this test binary, for the cases that
// prove a hot path allocates nothing. Not under the sanitizers: their runtimes
// allocate with their own operator new, which a replacement here would free
// with the wrong function.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CORIO_TEST_COUNT_ALLOCATIONS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define CORIO_TEST_COUNT_ALLOCATIONS 0
#endif
#endif
#ifndef CORIO_TEST_COUNT_ALLOCATIONS
#define CORIO_TEST_COUNT_ALLOCATIONS 1
#endif

namespace {
std::atomic<long> allocations{0};
}  // namespace

#if CORIO_TEST_COUNT_ALLOCATIONS

// noinline: g++ 12 inlines these into a caller and then warns that free()
// does not match operator new (-Wmismatched-new-delete), which they pair.
__attribute__((noinline)) void* operator new(std::size_t size) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size == 0 ? 1 : size)) {
        return p;
    }
    throw std::bad_alloc();
}
__attribute__((noinline)) void operator delete(void* p) noexcept {
    std::free(p);
}
__attribute__((noinline)) void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
#endif

namespace {

using namespace std::chrono_literals;
using corio_test::run_with_watchdog;
using corio_test::stopwatch;
using clock_type = corio::event_loop::clock;

constexpr auto watchdog = 10s;

// How a block under a timeout scope ended.
enum class ending { value, timeout, cancelled, other };

// Suspends without corio's cancellation protocol (a foreign awaitable): a
// cancellation arriving meanwhile stays pending on the strand.
struct foreign_sleep_operation {
    std::chrono::milliseconds delay;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) const {
        corio::get_running_loop().call_later(delay, [h] { h.resume(); });
    }
    void await_resume() const noexcept {}
};
foreign_sleep_operation foreign_sleep(std::chrono::milliseconds delay) {
    return foreign_sleep_operation{delay};
}

// Runs `body` as a task of its own, so that cancelling current_task() inside
// it cancels that task, not the test's root (which waits in the watchdog).
corio::task<void> in_own_task(corio::task<void> body) {
    co_await corio::create_task(std::move(body));
}

corio::task<int> slow_value(std::chrono::milliseconds delay, int value) {
    co_await corio::sleep(delay);
    co_return value;
}

}  // namespace

TEST_CASE("timeout_expired is a timeout_error and a cancelled_error", "[timeout]") {
    STATIC_REQUIRE(std::is_base_of_v<corio::timeout_error, corio::timeout_expired>);
    STATIC_REQUIRE(std::is_base_of_v<corio::cancelled_error, corio::timeout_expired>);
    STATIC_REQUIRE_FALSE(std::is_move_constructible_v<corio::timeout_scope>);
    const corio::timeout_expired error;
    CHECK(std::string(error.what()) == "corio: timeout expired");
}

TEST_CASE("test_timeout_basic: the block unwinds with timeout_error and expired() is true",
          "[timeout]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            stopwatch watch;
            std::optional<bool> expired;
            bool caught = false;
            try {
                auto scope = co_await corio::timeout(20ms);
                try {
                    co_await corio::sleep(10s);
                } catch (...) {
                    expired = scope.expired();
                    throw;
                }
            } catch (const corio::timeout_error&) {
                caught = true;
            }
            CHECK(caught);
            REQUIRE(expired.has_value());
            CHECK(*expired);
            CHECK(watch.elapsed() >= 20ms);
            CHECK(watch.elapsed() < 5s);
        }(),
        watchdog);
}

TEST_CASE("test_timeout_at_basic: timeout_at's when() is the deadline given", "[timeout]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            const auto deadline = clock_type::now() + 20ms;
            std::optional<clock_type::time_point> when;
            bool caught = false;
            try {
                auto scope = co_await corio::timeout_at(deadline);
                when = scope.when();
                co_await corio::sleep(10s);
            } catch (const corio::timeout_error&) {
                caught = true;
            }
            CHECK(caught);
            REQUIRE(when.has_value());
            CHECK(*when == deadline);
        }(),
        watchdog);
}

TEST_CASE("test_waiter_cancelled: a cancelled_error handler inside the block runs and rethrows",
          "[timeout]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            bool handler_ran = false;
            bool caught = false;
            try {
                auto scope = co_await corio::timeout(10ms);
                try {
                    co_await corio::sleep(10s);
                } catch (const corio::cancelled_error&) {
                    handler_ran = true;
                    throw;
                }
            } catch (const corio::timeout_error&) {
                caught = true;
            }
            CHECK(handler_ran);
            CHECK(caught);
        }(),
        watchdog);
}

TEST_CASE("test_timeout_not_called: a block finishing in time is untouched", "[timeout]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            bool expired = true;
            clock_type::time_point when;
            {
                auto scope = co_await corio::timeout(10s);
                co_await corio::sleep(10ms);
                expired = scope.expired();
                when = *scope.when();
            }
            CHECK_FALSE(expired);
            CHECK(when > clock_type::now());
            CHECK(corio::get_running_loop().pending_timers() ==
                  1);  // only the watchdog's: the scope's is gone
        }(),
        watchdog);
}

TEST_CASE("test_timeout_disabled and test_timeout_at_disabled: no deadline", "[timeout]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            {
                auto scope = co_await corio::timeout(std::nullopt);
                co_await corio::sleep(10ms);
                CHECK_FALSE(scope.expired());
                CHECK_FALSE(scope.when().has_value());
            }
            {
                auto scope = co_await corio::timeout_at(std::nullopt);
                co_await corio::sleep(10ms);
                CHECK_FALSE(scope.expired());
                CHECK_FALSE(scope.when().has_value());
            }
        }(),
        watchdog);
}

TEST_CASE("test_timeout_zero, test_timeout_zero_sleep_zero, test_timeout_in_the_past_sleep_zero",
          "[timeout]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            for (const auto delay : {0ms, -11ms}) {
                for (const auto nap : {10s, 0s}) {
                    const auto t0 = clock_type::now();
                    std::optional<clock_type::time_point> when;
                    bool caught = false;
                    try {
                        auto scope = co_await corio::timeout(delay);
                        when = scope.when();
                        co_await corio::sleep(nap);
                    } catch (const corio::timeout_error&) {
                        caught = true;
                    }
                    CHECK(caught);
                    REQUIRE(when.has_value());
                    CHECK(*when <= clock_type::now());
                    CHECK(*when >= t0 + delay);
                }
            }
        }(),
        watchdog);
}

TEST_CASE("test_foreign_exception_passed: another exception leaves the block unchanged",
          "[timeout]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            bool caught = false;
            bool expired = true;
            try {
                auto scope = co_await corio::timeout(10ms);
                expired = scope.expired();
                throw std::out_of_range("key");
            } catch (const std::out_of_range&) {
                caught = true;
            }
            CHECK(caught);
            CHECK_FALSE(expired);
        }(),
        watchdog);
}

TEST_CASE("test_foreign_exception_on_timeout: an exception thrown while unwinding wins",
          "[timeout]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            auto crash = []() -> corio::task<void> {
                bool unwinding = false;
                try {
                    co_await corio::sleep(1s);
                } catch (const corio::cancelled_error&) {
                    unwinding = true;
                }
                if (unwinding) {
                    throw std::domain_error("division by zero");
                }
            };
            ending how = ending::value;
            try {
                auto scope = co_await corio::timeout(10ms);
                co_await crash();
            } catch (const corio::timeout_error&) {
                how = ending::timeout;
            } catch (const std::domain_error&) {
                how = ending::other;
            }
            CHECK(how == ending::other);
        }(),
        watchdog);
}

TEST_CASE("test_foreign_cancel_doesnt_timeout_if_not_expired: a cancel stays cancelled_error",
          "[timeout]") {
    run_with_watchdog(in_own_task([]() -> corio::task<void> {
                          ending how = ending::value;
                          bool expired = true;
                          try {
                              auto scope = co_await corio::timeout(10s);
                              try {
                                  corio::task_ref self = co_await corio::current_task();
                                  self.cancel();
                                  co_await corio::sleep(10s);
                              } catch (...) {
                                  expired = scope.expired();
                                  throw;
                              }
                          } catch (const corio::timeout_error&) {
                              how = ending::timeout;
                          } catch (const corio::cancelled_error&) {
                              how = ending::cancelled;
                          }
                          CHECK(how == ending::cancelled);
                          CHECK_FALSE(expired);
                      }()),
                      watchdog);
}

TEST_CASE("test_outer_task_is_not_cancelled: a task that caught its timeout ends normally",
          "[timeout]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            auto outer = []() -> corio::task<int> {
                try {
                    auto scope = co_await corio::timeout(1ms);
                    co_await corio::sleep(10s);
                } catch (const corio::timeout_error&) {
                    co_return 1;
                }
                co_return 0;
            };
            auto handle = corio::create_task(outer());
            const int result = co_await handle;
            CHECK(result == 1);
            CHECK(handle.done());
            CHECK_FALSE(handle.cancelled());
        }(),
        watchdog);
}

TEST_CASE("a timeout_expired leaving a task is a failure of that task, not a cancellation",
          "[timeout]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            auto body = []() -> corio::task<void> {
                auto scope = co_await corio::timeout(1ms);
                co_await corio::sleep(10s);
            };
            auto handle = corio::create_task(body());
            bool timed_out = false;
            try {
                co_await handle;
            } catch (const corio::timeout_error&) {
                timed_out = true;
            }
            CHECK(timed_out);
            CHECK_FALSE(handle.cancelled());
            CHECK(handle.exception() != nullptr);
        }(),
        watchdog);
}

TEST_CASE(
    "test_nested_timeouts: both scopes with one deadline expire, the block sees timeout_error",
    "[timeout]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            const auto deadline = clock_type::now() + 10ms;
            bool inner_saw_cancellation = false;
            bool inner_expired = false;
            bool outer_expired = false;
            bool caught = false;
            try {
                auto outer = co_await corio::timeout_at(deadline);
                try {
                    auto inner = co_await corio::timeout_at(deadline);
                    try {
                        co_await corio::sleep(10s);
                    } catch (const corio::cancelled_error&) {
                        inner_saw_cancellation = true;
                        inner_expired = inner.expired();
                        throw;
                    }
                } catch (const corio::timeout_error&) {
                    outer_expired = outer.expired();
                    if (outer_expired) {
                        throw;  // the outer deadline passed too: its block ends
                    }
                }
                FAIL("the outer block must not go on");
            } catch (const corio::timeout_error&) {
                caught = true;
            }
            CHECK(inner_saw_cancellation);
            CHECK(inner_expired);
            CHECK(outer_expired);
            CHECK(caught);
        }(),
        watchdog);
}

TEST_CASE("nested scopes: the inner expiring leaves the outer unexpired and the block goes on",
          "[timeout]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            bool inner_caught = false;
            bool outer_expired = true;
            int after = 0;
            {
                auto outer = co_await corio::timeout(10s);
                try {
                    auto inner = co_await corio::timeout(10ms);
                    co_await corio::sleep(10s);
                } catch (const corio::timeout_error&) {
                    inner_caught = true;
                }
                after = co_await slow_value(1ms, 7);  // not cancelled again
                outer_expired = outer.expired();
            }
            CHECK(inner_caught);
            CHECK(after == 7);
            CHECK_FALSE(outer_expired);
        }(),
        watchdog);
}

TEST_CASE("nested scopes: the outer expiring while inside the inner gives timeout_error too",
          "[timeout]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            bool inner_expired = true;
            bool outer_expired = false;
            bool caught = false;
            try {
                auto outer = co_await corio::timeout(10ms);
                try {
                    auto inner = co_await corio::timeout(10s);
                    try {
                        co_await corio::sleep(10s);
                    } catch (...) {
                        inner_expired = inner.expired();
                        throw;
                    }
                } catch (const corio::timeout_error&) {
                    outer_expired = outer.expired();
                    throw;
                }
            } catch (const corio::timeout_error&) {
                caught = true;
            }
            CHECK_FALSE(inner_expired);
            CHECK(outer_expired);
            CHECK(caught);
        }(),
        watchdog);
}

TEST_CASE(
    "test_nested_timeouts_loop_busy: after the inner timeout is caught the outer one still fires",
    "[timeout]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            stopwatch watch;
            bool inner_caught = false;
            bool outer_caught = false;
            try {
                auto outer = co_await corio::timeout(100ms);
                try {
                    auto inner = co_await corio::timeout(10ms);
                    co_await corio::sleep(1s);
                } catch (const corio::timeout_error&) {
                    inner_caught = true;
                }
                co_await corio::sleep(10s);  // interrupted by the outer deadline
            } catch (const corio::timeout_error&) {
                outer_caught = true;
            }
            CHECK(inner_caught);
            CHECK(outer_caught);
            CHECK(watch.elapsed() < 5s);
        }(),
        watchdog);
}

TEST_CASE("test_reschedule: when() follows reschedule(), a cancel is not a timeout", "[timeout]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            const auto deadline1 = clock_type::now() + 10s;
            const auto deadline2 = deadline1 + 20s;
            corio::timeout_scope* scope_seen = nullptr;
            bool expired = true;
            auto body = [&]() -> corio::task<void> {
                auto scope = co_await corio::timeout_at(deadline1);
                scope_seen = &scope;
                try {
                    co_await corio::sleep(50s);
                } catch (...) {
                    expired = scope.expired();
                    throw;
                }
            };
            auto handle = corio::create_task(body());
            co_await corio::sleep(0ms);
            REQUIRE(scope_seen != nullptr);
            CHECK(scope_seen->when() == deadline1);
            scope_seen->reschedule(deadline2);
            CHECK(scope_seen->when() == deadline2);
            scope_seen->reschedule(std::nullopt);
            CHECK_FALSE(scope_seen->when().has_value());
            const bool ended_cancelled = co_await corio_test::cancel_and_wait(handle);
            CHECK(ended_cancelled);
            CHECK_FALSE(expired);
        }(),
        watchdog);
}

TEST_CASE("reschedule: an earlier deadline fires sooner, a later one postpones the expiry",
          "[timeout]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            stopwatch watch;
            bool caught = false;
            try {
                auto scope = co_await corio::timeout(10s);
                scope.reschedule(clock_type::now() + 10ms);
                co_await corio::sleep(10s);
            } catch (const corio::timeout_error&) {
                caught = true;
            }
            CHECK(caught);
            CHECK(watch.elapsed() < 5s);

            int value = 0;
            {
                auto scope = co_await corio::timeout(10ms);
                scope.reschedule(clock_type::now() + 10s);
                value = co_await slow_value(40ms, 3);
            }
            CHECK(value == 3);
        }(),
        watchdog);
}

TEST_CASE("reschedule of an expired scope throws invalid_state_error", "[timeout]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            auto scope = co_await corio::timeout(1ms);
            try {
                co_await corio::sleep(10s);
            } catch (const corio::timeout_error&) {
            }
            CHECK(scope.expired());
            CHECK_THROWS_AS(scope.reschedule(std::nullopt), corio::invalid_state_error);
        }(),
        watchdog);
}

TEST_CASE(
    "test_timeout_after_cancellation: a scope in cleanup after a swallowed cancel still times out",
    "[timeout]") {
    run_with_watchdog(in_own_task([]() -> corio::task<void> {
                          try {
                              corio::task_ref self = co_await corio::current_task();
                              self.cancel();
                              co_await corio::sleep(1s);
                          } catch (const corio::cancelled_error&) {
                          }
                          bool caught = false;
                          try {
                              auto scope = co_await corio::timeout(0ms);
                              co_await corio::sleep(1s);
                          } catch (const corio::timeout_error&) {
                              caught = true;
                          }
                          CHECK(caught);
                      }()),
                      watchdog);
}

TEST_CASE(
    "test_cancel_in_timeout_after_cancellation: a cancel inside the scope stays cancelled_error",
    "[timeout]") {
    run_with_watchdog(in_own_task([]() -> corio::task<void> {
                          try {
                              corio::task_ref self = co_await corio::current_task();
                              self.cancel();
                              co_await corio::sleep(1s);
                          } catch (const corio::cancelled_error&) {
                          }
                          ending how = ending::value;
                          try {
                              auto scope = co_await corio::timeout(1s);
                              corio::task_ref self = co_await corio::current_task();
                              self.cancel();
                              co_await corio::sleep(2s);
                          } catch (const corio::timeout_error&) {
                              how = ending::timeout;
                          } catch (const corio::cancelled_error&) {
                              how = ending::cancelled;
                          }
                          CHECK(how == ending::cancelled);
                      }()),
                      watchdog);
}

TEST_CASE("test_nested_timeout_in_finally: a scope inside the unwinding of another", "[timeout]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            bool inner_caught = false;
            bool outer_caught = false;
            try {
                auto scope = co_await corio::timeout(10ms);
                bool unwinding = false;
                try {
                    co_await corio::sleep(1s);
                } catch (const corio::timeout_error&) {
                    unwinding = true;
                }
                // The "finally" part: no co_await inside a catch handler (GCC 12).
                try {
                    auto cleanup = co_await corio::timeout(10ms);
                    co_await corio::sleep(10s);
                } catch (const corio::timeout_error&) {
                    inner_caught = true;
                }
                if (unwinding) {
                    throw corio::timeout_expired{};
                }
            } catch (const corio::timeout_error&) {
                outer_caught = true;
            }
            CHECK(inner_caught);
            CHECK(outer_caught);
        }(),
        watchdog);
}

TEST_CASE("an outside cancel arriving while the expiry is delivered stays cancelled_error",
          "[timeout]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            // The task awaits a slow-to-unwind task, so the expiry is forwarded and
            // still on its way when the outside cancel comes.
            auto slow_unwinder = []() -> corio::task<void> {
                bool cancelled = false;
                try {
                    co_await corio::sleep(10s);
                } catch (const corio::cancelled_error&) {
                    cancelled = true;
                }
                if (cancelled) {
                    co_await corio::sleep(50ms);
                    throw corio::cancelled_error{};
                }
            };
            bool expired = false;
            auto body = [&]() -> corio::task<void> {
                auto inner = corio::create_task(slow_unwinder());
                auto scope = co_await corio::timeout(10ms);
                try {
                    co_await inner;
                } catch (...) {
                    expired = scope.expired();
                    throw;
                }
            };
            auto handle = corio::create_task(body());
            co_await corio::sleep(30ms);  // the scope expired, the inner task is unwinding
            const bool ended_cancelled = co_await corio_test::cancel_and_wait(handle);
            CHECK(ended_cancelled);
            CHECK(expired);
        }(),
        watchdog);
}

TEST_CASE("an outside cancel and the expiry in one iteration: cancelled_error wins", "[timeout]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            bool expired = false;
            auto body = [&]() -> corio::task<void> {
                auto scope = co_await corio::timeout(0ms);  // fires on the next iteration
                try {
                    co_await corio::sleep(10s);
                } catch (...) {
                    expired = scope.expired();
                    throw;
                }
            };
            auto handle = corio::create_task(body());
            co_await corio::sleep(0ms);  // the body ran to its sleep
            const bool ended_cancelled = co_await corio_test::cancel_and_wait(
                handle);  // cancel first, expiry in the same round
            CHECK(ended_cancelled);
            CHECK(expired);
        }(),
        watchdog);
}

TEST_CASE("after the expiry is caught inside the scope, later awaits are not cancelled again",
          "[timeout]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            int value = 0;
            bool caught = false;
            {
                auto scope = co_await corio::timeout(5ms);
                try {
                    co_await corio::sleep(10s);
                } catch (const corio::timeout_error&) {
                    caught = true;
                }
                value = co_await slow_value(20ms, 5);
            }
            CHECK(caught);
            CHECK(value == 5);
        }(),
        watchdog);
}

TEST_CASE("an expiry pending when the scope ends does not cancel the code after it", "[timeout]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            bool expired = false;
            {
                auto scope = co_await corio::timeout(1ms);
                co_await foreign_sleep(
                    30ms);  // the deadline passes while no corio wait can take it
                expired = scope.expired();
            }
            CHECK(expired);
            const int value = co_await slow_value(1ms, 9);  // would throw if the expiry leaked
            CHECK(value == 9);
        }(),
        watchdog);
}

TEST_CASE("an outer scope's expiry pending when an inner scope ends still reaches the outer block",
          "[timeout]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            bool caught = false;
            bool outer_expired = false;
            try {
                auto outer = co_await corio::timeout(2ms);
                {
                    auto inner = co_await corio::timeout(1ms);
                    co_await foreign_sleep(
                        30ms);  // both expire, the inner first; neither is delivered yet
                }
                try {
                    co_await corio::sleep(10s);
                } catch (...) {
                    outer_expired = outer.expired();
                    throw;
                }
            } catch (const corio::timeout_error&) {
                caught = true;
            }
            CHECK(caught);
            CHECK(outer_expired);
        }(),
        watchdog);
}

TEST_CASE("an outside cancel pending when a scope ends is kept", "[timeout]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            auto body = []() -> corio::task<void> {
                {
                    auto scope = co_await corio::timeout(10s);
                    co_await foreign_sleep(30ms);
                }
                co_await corio::sleep(10s);
            };
            auto handle = corio::create_task(body());
            co_await corio::sleep(10ms);
            const bool ended_cancelled = co_await corio_test::cancel_and_wait(handle);
            CHECK(ended_cancelled);
        }(),
        watchdog);
}

TEST_CASE("timeout outside a corio task throws invalid_state_error", "[timeout]") {
    // A foreign coroutine awaiting corio::timeout: no strand to bind to.
    struct foreign {
        struct promise_type {
            std::exception_ptr error;
            foreign get_return_object() {
                return {std::coroutine_handle<promise_type>::from_promise(*this)};
            }
            std::suspend_never initial_suspend() noexcept { return {}; }
            std::suspend_always final_suspend() noexcept { return {}; }
            void return_void() noexcept {}
            void unhandled_exception() noexcept { error = std::current_exception(); }
        };
        std::coroutine_handle<promise_type> handle;
    };
    corio::event_loop loop;
    auto probe = []() -> foreign {
        auto scope = co_await corio::timeout(1s);
        (void)scope;
    };
    auto root = [&]() -> corio::task<void> {
        foreign f = probe();
        REQUIRE(f.handle.done());
        const std::exception_ptr error = f.handle.promise().error;
        f.handle.destroy();
        CHECK_THROWS_AS(std::rethrow_exception(error), corio::invalid_state_error);
        co_return;
    };
    loop.run_until_complete(root());
}

// ---- Every kind of suspension point, inside a scope ----

TEST_CASE("a timeout scope interrupts a nested coroutine chain", "[timeout]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            auto level2 = []() -> corio::task<int> {
                co_await corio::sleep(10s);
                co_return 2;
            };
            auto level1 = [&]() -> corio::task<int> { co_return co_await level2(); };
            bool caught = false;
            try {
                auto scope = co_await corio::timeout(10ms);
                (void)co_await level1();
            } catch (const corio::timeout_error&) {
                caught = true;
            }
            CHECK(caught);
        }(),
        watchdog);
}

TEST_CASE("a timeout scope interrupts fd readiness (io_source)", "[timeout]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            int fds[2];
            REQUIRE(::pipe(fds) == 0);
            bool caught = false;
            {
                corio::detail::io_source source(corio::get_running_loop(), fds[0]);
                try {
                    auto scope = co_await corio::timeout(10ms);
                    co_await source.readable();  // nothing is ever written
                } catch (const corio::timeout_error&) {
                    caught = true;
                }
                CHECK_FALSE(source.has_reader());  // the interest was dropped
            }
            ::close(fds[0]);
            ::close(fds[1]);
            CHECK(caught);
        }(),
        watchdog);
}

TEST_CASE("a timeout scope interrupts semaphore, queue and mutex waits and keeps their state",
          "[timeout]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            corio::semaphore sem(0);
            corio::queue<int> q;
            corio::mutex m;
            auto held = co_await m.lock();
            int caught = 0;
            try {
                auto scope = co_await corio::timeout(5ms);
                auto permit = co_await sem.acquire();
            } catch (const corio::timeout_error&) {
                ++caught;
            }
            try {
                auto scope = co_await corio::timeout(5ms);
                (void)co_await q.get();
            } catch (const corio::timeout_error&) {
                ++caught;
            }
            try {
                auto scope = co_await corio::timeout(5ms);
                auto lock = co_await m.lock();
            } catch (const corio::timeout_error&) {
                ++caught;
            }
            CHECK(caught == 3);
            // No waiter was left behind: the next release / item goes to the next waiter.
            sem.release();
            auto permit = co_await sem.acquire();
            co_await q.put(4);
            const int item = co_await q.get();
            CHECK(item == 4);
        }(),
        watchdog);
}

TEST_CASE("a timeout scope around condition::wait re-locks before timeout_error propagates",
          "[timeout]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            corio::mutex m;
            corio::condition cv(m);
            auto lock = co_await m.lock();
            bool caught = false;
            try {
                auto scope = co_await corio::timeout(5ms);
                co_await cv.wait(lock);
            } catch (const corio::timeout_error&) {
                caught = true;
            }
            CHECK(caught);
            CHECK(lock.owns_lock());
        }(),
        watchdog);
}

TEST_CASE("a timeout scope cancels gather's children and waits for them", "[timeout]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            int unwound = 0;
            int timed_out = 0;
            auto child = [&]() -> corio::task<int> {
                try {
                    co_await corio::sleep(10s);
                } catch (const corio::timeout_error&) {
                    ++timed_out;  // must not happen: the deadline is the parent's, a child is just
                                  // cancelled
                    throw;
                } catch (const corio::cancelled_error&) {
                    ++unwound;
                    throw;
                }
                co_return 1;
            };
            bool caught = false;
            try {
                auto scope = co_await corio::timeout(10ms);
                (void)co_await corio::gather(child(), child());
            } catch (const corio::timeout_error&) {
                caught = true;
            }
            CHECK(caught);
            CHECK(unwound == 2);
            CHECK(timed_out == 0);
        }(),
        watchdog);
}

TEST_CASE("a timeout scope inside a gather child times out only that child", "[timeout]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            auto timed = []() -> corio::task<int> {
                try {
                    auto scope = co_await corio::timeout(5ms);
                    co_await corio::sleep(10s);
                } catch (const corio::timeout_error&) {
                    co_return -1;
                }
                co_return 0;
            };
            auto [a, b] = co_await corio::gather(timed(), slow_value(20ms, 2));
            CHECK(a == -1);
            CHECK(b == 2);
        }(),
        watchdog);
}

TEST_CASE("a timeout scope interrupts wait_for, wait_any, task_group and as_completed",
          "[timeout]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            int caught = 0;
            try {
                auto scope = co_await corio::timeout(5ms);
                (void)co_await corio::wait_for(slow_value(10s, 1), 20s);
            } catch (const corio::timeout_error&) {
                ++caught;
            }
            try {
                auto scope = co_await corio::timeout(5ms);
                (void)co_await corio::wait_any(slow_value(10s, 1), slow_value(10s, 2));
            } catch (const corio::timeout_error&) {
                ++caught;
            }
            try {
                auto scope = co_await corio::timeout(5ms);
                auto group_body = [](corio::task_group& tg) -> corio::task<void> {
                    tg.spawn(slow_value(10s, 1));
                    co_await corio::sleep(10s);
                };
                co_await corio::with_task_group(group_body);
            } catch (const corio::timeout_error&) {
                ++caught;
            }
            auto& loop = corio::get_running_loop();
            try {
                auto scope = co_await corio::timeout(5ms);
                std::vector<corio::task<int>> tasks;
                tasks.push_back(slow_value(10s, 1));
                auto results = corio::as_completed(std::move(tasks));
                (void)co_await results.next();
            } catch (const corio::timeout_error&) {
                ++caught;
            }
            CHECK(caught == 4);
            CHECK(loop.pending_tasks() ==
                  1);  // only this test's root: as_completed's child was awaited
        }(),
        watchdog);
}

TEST_CASE("a timeout scope around an awaited task handle cancels that task", "[timeout]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            auto handle = corio::create_task(slow_value(10s, 1));
            bool caught = false;
            try {
                auto scope = co_await corio::timeout(10ms);
                (void)co_await handle;
            } catch (const corio::timeout_error&) {
                caught = true;
            }
            CHECK(caught);
            CHECK(handle.cancelled());  // as asyncio: the awaited task was cancelled, not timed out
        }(),
        watchdog);
}

TEST_CASE("a timeout scope around shield throws at once and leaves the shielded work running",
          "[timeout]") {
    run_with_watchdog(
        []() -> corio::task<void> {
            auto handle = corio::create_task(slow_value(30ms, 8));
            bool caught = false;
            try {
                auto scope = co_await corio::timeout(5ms);
                (void)co_await corio::shield(handle);
            } catch (const corio::timeout_error&) {
                caught = true;
            }
            CHECK(caught);
            CHECK_FALSE(handle.done());
            const int value = co_await handle;
            CHECK(value == 8);
        }(),
        watchdog);
}

// ---- Costs ----

TEST_CASE(
    "sleeps, yields, timeout scopes and a cancellation without message allocate nothing once warm",
    "[timeout][alloc]") {
    long counted = -1;
    run_with_watchdog(in_own_task([](long* out) -> corio::task<void> {
                          long before = 0;
                          int cancellations = 0;
                          for (int pass = 0; pass < 2;
                               ++pass) {  // the first pass grows the ready queue and timer run
                              before = allocations.load();
                              for (int i = 0; i < 200; ++i) {
                                  auto scope = co_await corio::timeout(10s);
                                  co_await corio::sleep(0ms);
                                  if (i % 50 == 0) {
                                      co_await corio::sleep(1ms);  // a real timer
                                  }
                                  scope.reschedule(corio::event_loop::clock::now() + 20s);
                                  corio::task_ref self = co_await corio::current_task();
                                  if (i % 50 == 1) {
                                      self.cancel();  // taken by the next sleep, thrown and caught
                                      try {
                                          co_await corio::sleep(0ms);
                                      } catch (const corio::cancelled_error&) {
                                          ++cancellations;
                                      }
                                  }
                              }
                          }
                          *out = allocations.load() - before;
                          CHECK(cancellations == 8);
                      }(&counted)),
                      watchdog);
    if (CORIO_TEST_COUNT_ALLOCATIONS) {
        CHECK(counted == 0);
    }
}
