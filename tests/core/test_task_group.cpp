// Tests of corio/task_group.hpp: with_task_group, task_group, child_handle.

#include "catch.hpp"
#include "test_support.hpp"

#include <corio/cancel.hpp>
#include <corio/combinators.hpp>
#include <corio/errors.hpp>
#include <corio/event_loop.hpp>
#include <corio/run.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/task.hpp>
#include <corio/task_group.hpp>

#include <chrono>
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using corio_test::run_with_watchdog;
using corio_test::stopwatch;
using log_t = std::vector<std::string>;
using ms = std::chrono::milliseconds;

corio::task<int> worker(ms delay, int value, log_t* log, std::string name) {
    log->push_back(name + " started");
    try {
        co_await corio::sleep(delay);
    } catch (const corio::cancelled_error&) {
        log->push_back(name + " cancelled");
        throw;
    }
    log->push_back(name + " done");
    co_return value;
}

corio::task<void> failer(ms delay, log_t* log, std::string what) {
    co_await corio::sleep(delay);
    log->push_back("fail " + what);
    throw std::runtime_error(what);
}

// Catches the cancellation, takes time to clean up, then fails anyway.
corio::task<void> fails_in_cleanup(log_t* log) {
    bool cancelled = false;
    try {
        co_await corio::sleep(5s);
    } catch (const corio::cancelled_error&) {
        cancelled = true;
    }
    if (cancelled) {
        co_await corio::sleep(20ms);
        log->push_back("cleanup fails");
        throw std::logic_error("cleanup failed");
    }
}

// Cancels its own child (so the request is pending: nothing is suspended to
// receive it) and then awaits `sibling`.
corio::task<void> cancel_self_then_await(corio::child_handle<void>* self, corio::child_handle<int> sibling,
                                         log_t* log) {
    co_await corio::sleep(0ms);  // let `sibling` start and suspend
    self->cancel();
    try {
        const int value = co_await sibling;
        log->push_back("awaiter got " + std::to_string(value));
    } catch (const corio::cancelled_error&) {
        log->push_back("awaiter cancelled");
        throw;
    }
}

}  // namespace

TEST_CASE("with_task_group waits for every child and returns the body's value", "[task_group]") {
    log_t log;
    auto main_task = [](log_t* log) -> corio::task<int> {
        int total = 0;
        const int body_value = co_await corio::with_task_group([&](corio::task_group& tg) -> corio::task<int> {
            auto a = tg.spawn(worker(30ms, 1, log, "a"));
            auto b = tg.spawn(worker(10ms, 2, log, "b"));
            log->push_back("body spawned");
            CHECK(tg.running() == 2);
            total += co_await b;
            co_return 100;
            // `a` is still running when the body returns: the group waits for it.
        });
        log->push_back("group done");
        co_return total + body_value;
    };
    CHECK(run_with_watchdog(main_task(&log)) == 102);
    CHECK(log == log_t{"body spawned", "a started", "b started", "b done", "a done", "group done"});
}

TEST_CASE("The first failure cancels the body and the other children, waits for all, then is rethrown",
          "[task_group]") {
    log_t log;
    auto main_task = [](log_t* log) -> corio::task<std::string> {
        std::string caught;
        corio::child_handle<int> slow;
        try {
            co_await corio::with_task_group([&](corio::task_group& tg) -> corio::task<void> {
                slow = tg.spawn(worker(2s, 1, log, "slow"));
                tg.spawn(failer(20ms, log, "boom"));
                try {
                    co_await corio::sleep(3s);
                } catch (const corio::cancelled_error&) {
                    log->push_back("body cancelled");
                    throw;
                }
            });
        } catch (const std::runtime_error& e) {
            caught = e.what();
        }
        log->push_back("caught " + caught);
        CHECK(slow.done());
        CHECK(slow.cancelled());
        co_return caught;
    };
    stopwatch clock;
    CHECK(run_with_watchdog(main_task(&log)) == "boom");
    CHECK(clock.elapsed() < 1s);
    CHECK(log == log_t{"slow started", "fail boom", "body cancelled", "slow cancelled", "caught boom"});
}

TEST_CASE("A failure in the body cancels the children too", "[task_group]") {
    log_t log;
    auto main_task = [](log_t* log) -> corio::task<bool> {
        try {
            co_await corio::with_task_group([&](corio::task_group& tg) -> corio::task<void> {
                tg.spawn(worker(2s, 1, log, "child"));
                co_await corio::sleep(10ms);
                throw std::invalid_argument("body failed");
            });
        } catch (const std::invalid_argument&) {
            co_return true;
        }
        co_return false;
    };
    CHECK(run_with_watchdog(main_task(&log)));
    CHECK(log == log_t{"child started", "child cancelled"});
}

TEST_CASE("Several failures are reachable through task_group_error, the first one first", "[task_group]") {
    log_t log;
    auto main_task = [](log_t* log) -> corio::task<std::vector<std::string>> {
        std::vector<std::string> whats;
        try {
            co_await corio::with_task_group([&](corio::task_group& tg) -> corio::task<void> {
                tg.spawn(fails_in_cleanup(log));
                tg.spawn(failer(10ms, log, "first"));
                co_return;
            });
        } catch (const corio::task_group_error& e) {
            for (const std::exception_ptr& error : e.exceptions()) {
                try {
                    std::rethrow_exception(error);
                } catch (const std::exception& inner) {
                    whats.emplace_back(inner.what());
                }
            }
            CHECK_THROWS_AS(e.rethrow_first(), std::runtime_error);
            CHECK(std::string(e.what()).find("first") != std::string::npos);
        }
        co_return whats;
    };
    CHECK(run_with_watchdog(main_task(&log)) == std::vector<std::string>{"first", "cleanup failed"});
    CHECK(log == log_t{"fail first", "cleanup fails"});
}

TEST_CASE("Cancelling the parent cancels the body and every child, waits, and throws cancelled_error",
          "[task_group][cancel]") {
    log_t log;
    auto parent = [](log_t* log) -> corio::task<void> {
        try {
            co_await corio::with_task_group([&](corio::task_group& tg) -> corio::task<void> {
                tg.spawn(worker(1s, 1, log, "a"));
                tg.spawn(worker(2s, 2, log, "b"));
                co_return;
            });
        } catch (const corio::cancelled_error&) {
            log->push_back("parent cancelled");
            throw;
        }
    };
    CHECK(run_with_watchdog(corio_test::spawn_and_cancel(parent(&log), 10ms)));
    CHECK(log == log_t{"a started", "b started", "a cancelled", "b cancelled", "parent cancelled"});
}

TEST_CASE("A child cancelled through its handle is not a failure, a cancelled-before-start child never runs",
          "[task_group][cancel]") {
    log_t log;
    auto main_task = [](log_t* log) -> corio::task<int> {
        int result = 0;
        co_await corio::with_task_group([&](corio::task_group& tg) -> corio::task<void> {
            auto never = tg.spawn(worker(1s, 1, log, "never"));
            never.cancel();  // before its first step: it will not run at all
            auto cancelled = tg.spawn(worker(1s, 2, log, "victim"));
            auto ok = tg.spawn(worker(20ms, 3, log, "ok"));
            co_await corio::sleep(5ms);
            cancelled.cancel();
            result = co_await ok;
            CHECK(never.cancelled());
            CHECK(cancelled.cancelled());
            CHECK_THROWS_AS(cancelled.result(), corio::cancelled_error);
        });
        co_return result;
    };
    CHECK(run_with_watchdog(main_task(&log)) == 3);
    CHECK(log == log_t{"victim started", "ok started", "victim cancelled", "ok done"});
}

// CPython bpo-34872 (test_cancel_awaited_task) for group children: a child with
// a cancellation pending that awaits a sibling forwards the cancellation to it.
TEST_CASE("A child with a pending cancellation forwards it to the sibling it awaits", "[task_group][cancel]") {
    log_t log;
    run_with_watchdog(
        [](log_t* log) -> corio::task<void> {
            corio::child_handle<int> sibling;
            co_await corio::with_task_group([&](corio::task_group& tg) -> corio::task<void> {
                sibling = tg.spawn(worker(5s, 1, log, "sibling"));
                corio::child_handle<void> self;
                self = tg.spawn(cancel_self_then_await(&self, sibling, log));
                co_await corio::sleep(50ms);
                log->push_back(sibling.done() ? "sibling done" : "sibling still running");
            });
            CHECK(sibling.cancelled());
        }(&log),
        2s);
    CHECK(log == log_t{"sibling started", "sibling cancelled", "awaiter cancelled", "sibling done"});
}

TEST_CASE("Children may spawn siblings, spawning during shutdown is invalid_state_error", "[task_group]") {
    log_t log;
    auto main_task = [](log_t* log) -> corio::task<int> {
        int spawned_late = 0;
        int refused = 0;
        try {
            co_await corio::with_task_group([&](corio::task_group& tg) -> corio::task<void> {
                auto parent_child = [](corio::task_group* tg, log_t* log, int* count) -> corio::task<void> {
                    co_await corio::sleep(1ms);
                    tg->spawn(worker(1ms, 0, log, "grandchild"));
                    ++*count;
                };
                tg.spawn(parent_child(&tg, log, &spawned_late));
                tg.spawn(failer(30ms, log, "x"));
                bool cancelled = false;
                try {
                    co_await corio::sleep(1s);
                } catch (const corio::cancelled_error&) {
                    cancelled = true;
                }
                if (cancelled) {
                    try {
                        tg.spawn(worker(1ms, 0, log, "too late"));
                    } catch (const corio::invalid_state_error&) {
                        ++refused;
                    }
                    throw corio::cancelled_error{};
                }
            });
        } catch (const std::runtime_error&) {
        }
        co_return spawned_late * 10 + refused;
    };
    CHECK(run_with_watchdog(main_task(&log)) == 11);
    CHECK(log == log_t{"grandchild started", "grandchild done", "fail x"});
}

TEST_CASE("An already cancelled parent never runs the body", "[task_group][cancel]") {
    log_t log;
    auto parent = [](log_t* log) -> corio::task<void> {
        co_await corio::with_task_group([&](corio::task_group& tg) -> corio::task<void> {
            log->push_back("body ran");
            tg.spawn(worker(1ms, 0, log, "child"));
            co_return;
        });
    };
    auto main_task = [](log_t* log, decltype(parent) p) -> corio::task<bool> {
        auto handle = corio::create_task(p(log));
        handle.cancel();
        co_return co_await corio_test::ended_cancelled(handle);
    };
    CHECK(run_with_watchdog(main_task(&log, parent)));
    CHECK(log.empty());
}

TEST_CASE("A group composes with wait_for: the timeout cancels the whole group", "[task_group][cancel]") {
    log_t log;
    auto main_task = [](log_t* log) -> corio::task<bool> {
        try {
            co_await corio::wait_for(corio::with_task_group([log](corio::task_group& tg) -> corio::task<void> {
                                         tg.spawn(worker(1s, 1, log, "a"));
                                         co_await corio::sleep(2s);
                                     }),
                                     20ms);
        } catch (const corio::timeout_error&) {
            co_return true;
        }
        co_return false;
    };
    CHECK(run_with_watchdog(main_task(&log)));
    CHECK(log == log_t{"a started", "a cancelled"});
}

TEST_CASE("spawn(awaitable, name) names the child, and the name stays after it finished",
          "[task_group]") {
    const std::vector<std::string> names = run_with_watchdog(
        []() -> corio::task<std::vector<std::string>> {
            std::vector<std::string> out;
            co_await corio::with_task_group([&out](corio::task_group& tg) -> corio::task<void> {
                auto named = tg.spawn([]() -> corio::task<int> { co_return 1; }(), "fetch users");
                auto unnamed = tg.spawn([]() -> corio::task<int> { co_return 2; }());
                out.push_back(named.name());
                out.push_back(unnamed.name());
                const int sum = co_await named + co_await unnamed;
                out.push_back(named.name() + " " + std::to_string(sum));
            });
            co_return out;
        }(),
        10s);
    CHECK(names == std::vector<std::string>{"fetch users", "", "fetch users 3"});
}
