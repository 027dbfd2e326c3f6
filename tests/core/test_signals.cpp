// Tests of event_loop::add_signal_handler / remove_signal_handler: a signal
// raised with raise() reaches its handler through the loop (never inline),
// removal stops delivery and restores the previous disposition, signals are
// told apart, a throwing handler goes to the exception handler, a signal
// wakes a loop blocked in its reactor, and a signal sent to the process from
// another thread reaches the loop. Runs on every backend (the kqueue build
// goes through EVFILT_SIGNAL).
//
// Coroutines under test live in an anonymous namespace or in lambdas local to
// a test: clang 14 with -fsanitize=function cannot assemble coroutines with
// external inline linkage. Capturing lambdas are named before the co_await
// that uses them (g++ 12 bug; see DESIGN.md, Pitfalls).

#include "catch.hpp"
#include "test_support.hpp"

#include <corio/event_loop.hpp>
#include <corio/run.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/thread_pool.hpp>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using corio::task;
using corio_test::run_with_watchdog;

namespace {

// Yields to the loop until `done()` holds (the watchdog bounds the wait).
template <class Predicate>
task<void> until(Predicate done) {
    while (!done()) {
        co_await corio::sleep(1ms);
    }
}

task<void> nap(std::chrono::milliseconds delay) { co_await corio::sleep(delay); }

volatile sig_atomic_t plain_handler_calls = 0;

extern "C" void count_plain_signal(int) { plain_handler_calls = plain_handler_calls + 1; }

// Installs a plain sigaction handler for the test's duration, so a signal that
// escapes the loop is counted instead of ending the process.
class plain_handler_scope {
public:
    explicit plain_handler_scope(int signum) : m_signum(signum) {
        plain_handler_calls = 0;
        struct sigaction action {};
        action.sa_handler = &count_plain_signal;
        sigemptyset(&action.sa_mask);
        sigaction(signum, &action, &m_previous);
    }
    ~plain_handler_scope() { sigaction(m_signum, &m_previous, nullptr); }
    plain_handler_scope(const plain_handler_scope&) = delete;
    plain_handler_scope& operator=(const plain_handler_scope&) = delete;

private:
    int m_signum;
    struct sigaction m_previous {};
};

bool is_blocked(int signum) {
    sigset_t mask;
    pthread_sigmask(SIG_BLOCK, nullptr, &mask);
    return sigismember(&mask, signum) == 1;
}

}  // namespace

TEST_CASE("a signal raised with raise() reaches its handler through the loop", "[signals]") {
    const plain_handler_scope guard(SIGUSR1);
    auto body = []() -> task<void> {
        corio::event_loop& loop = corio::get_running_loop();
        const std::thread::id loop_thread = std::this_thread::get_id();
        std::vector<std::string> log;
        std::thread::id handler_thread;
        loop.add_signal_handler(SIGUSR1, [&] {
            log.emplace_back("handler");
            handler_thread = std::this_thread::get_id();
        });
        CHECK(is_blocked(SIGUSR1));
        raise(SIGUSR1);
        log.emplace_back("raised");  // the handler never runs inside raise()
        auto first_handled = [&] { return log.size() == 2; };
        co_await until(first_handled);
        CHECK(log == std::vector<std::string>{"raised", "handler"});
        CHECK(handler_thread == loop_thread);

        raise(SIGUSR1);  // and again: each delivery runs it
        auto second_handled = [&] { return log.size() == 3; };
        co_await until(second_handled);
        CHECK(loop.remove_signal_handler(SIGUSR1));
    };
    run_with_watchdog(body());
    CHECK(plain_handler_calls == 0);
    CHECK_FALSE(is_blocked(SIGUSR1));
}

TEST_CASE("remove_signal_handler stops delivery, restores the previous disposition, and returns false when none",
          "[signals]") {
    const plain_handler_scope guard(SIGUSR1);
    auto body = []() -> task<void> {
        corio::event_loop& loop = corio::get_running_loop();
        CHECK_FALSE(loop.remove_signal_handler(SIGUSR1));
        int calls = 0;
        loop.add_signal_handler(SIGUSR1, [&calls] { ++calls; });
        CHECK(loop.remove_signal_handler(SIGUSR1));
        CHECK_FALSE(loop.remove_signal_handler(SIGUSR1));
        CHECK_FALSE(is_blocked(SIGUSR1));

        raise(SIGUSR1);  // now goes to the plain handler installed before
        co_await corio::sleep(20ms);
        CHECK(calls == 0);
        CHECK(plain_handler_calls == 1);
    };
    run_with_watchdog(body());
}

TEST_CASE("a delivery pending when its handler is removed is dropped", "[signals]") {
    const plain_handler_scope guard(SIGUSR1);
    corio::event_loop loop;
    int calls = 0;
    loop.add_signal_handler(SIGUSR1, [&calls] { ++calls; });
    raise(SIGUSR1);  // pending: the loop has not looked yet
    CHECK(loop.remove_signal_handler(SIGUSR1));
    loop.run_until_complete(nap(20ms));
    CHECK(calls == 0);
    CHECK(plain_handler_calls == 0);  // discarded, not handed to the old disposition
}

TEST_CASE("two signals reach their own handlers, and a handler can be replaced", "[signals]") {
    const plain_handler_scope guard1(SIGUSR1);
    const plain_handler_scope guard2(SIGUSR2);
    auto body = []() -> task<void> {
        corio::event_loop& loop = corio::get_running_loop();
        std::vector<std::string> log;
        loop.add_signal_handler(SIGUSR1, [&log] { log.emplace_back("usr1"); });
        loop.add_signal_handler(SIGUSR2, [&log] { log.emplace_back("usr2"); });
        raise(SIGUSR2);
        auto usr2_handled = [&] { return log.size() == 1; };
        co_await until(usr2_handled);
        raise(SIGUSR1);
        auto usr1_handled = [&] { return log.size() == 2; };
        co_await until(usr1_handled);
        CHECK(log == std::vector<std::string>{"usr2", "usr1"});

        loop.add_signal_handler(SIGUSR1, [&log] { log.emplace_back("usr1 again"); });  // replaces
        raise(SIGUSR1);
        auto replacement_handled = [&] { return log.size() == 3; };
        co_await until(replacement_handled);
        co_await corio::sleep(10ms);
        CHECK(log == std::vector<std::string>{"usr2", "usr1", "usr1 again"});
    };
    run_with_watchdog(body());
    CHECK(plain_handler_calls == 0);
}

TEST_CASE("a signal handler that throws goes to the loop's exception handler", "[signals]") {
    const plain_handler_scope guard(SIGUSR1);
    auto body = []() -> task<void> {
        corio::event_loop& loop = corio::get_running_loop();
        std::vector<std::string> reports;
        loop.set_exception_handler([&reports](corio::event_loop&, const corio::exception_context& context) {
            std::string what;
            try {
                std::rethrow_exception(context.exception);
            } catch (const std::exception& error) {
                what = error.what();
            }
            reports.push_back(context.message + ": " + what);
        });
        int calls = 0;
        loop.add_signal_handler(SIGUSR1, [&calls] {
            ++calls;
            throw std::runtime_error("handler failed");
        });
        raise(SIGUSR1);
        auto first_call = [&] { return calls == 1; };
        co_await until(first_call);
        raise(SIGUSR1);  // the loop and the handler live on
        auto second_call = [&] { return calls == 2; };
        co_await until(second_call);
        CHECK(reports.size() == 2);
        CHECK(reports.at(0) == "exception in callback: handler failed");
        loop.set_exception_handler(nullptr);
    };
    run_with_watchdog(body());
}

TEST_CASE("a signal wakes a loop waiting in its reactor, and a handler may remove itself", "[signals]") {
    const plain_handler_scope guard(SIGUSR1);
    corio::event_loop loop;
    int calls = 0;
    loop.add_signal_handler(SIGUSR1, [&] {
        ++calls;
        CHECK(loop.remove_signal_handler(SIGUSR1));  // one-shot
        loop.stop();
    });
    // After the raise the loop's only timer is 3 s away: only the signal can
    // end its wait early.
    loop.call_later(20ms, [] { raise(SIGUSR1); });
    bool gave_up = false;
    loop.call_later(3s, [&] {
        gave_up = true;
        loop.stop();
    });
    const corio_test::stopwatch clock;
    loop.run_forever();
    CHECK_FALSE(gave_up);
    CHECK(calls == 1);
    CHECK(clock.elapsed() < 1s);
}

TEST_CASE("add_signal_handler refuses signals that cannot be watched, and closed loops", "[signals]") {
    corio::event_loop loop;
    CHECK_THROWS_AS(loop.add_signal_handler(SIGKILL, [] {}), std::invalid_argument);
    CHECK_THROWS_AS(loop.add_signal_handler(SIGSTOP, [] {}), std::invalid_argument);
    CHECK_THROWS_AS(loop.add_signal_handler(0, [] {}), std::invalid_argument);
    CHECK_THROWS_AS(loop.add_signal_handler(NSIG, [] {}), std::invalid_argument);
    loop.add_signal_handler(SIGUSR2, [] {});
    CHECK(is_blocked(SIGUSR2));
    loop.close();  // removes the handlers
    CHECK_FALSE(is_blocked(SIGUSR2));
    CHECK_FALSE(loop.remove_signal_handler(SIGUSR2));
    CHECK_THROWS_AS(loop.add_signal_handler(SIGUSR2, [] {}), corio::event_loop_error);
}

TEST_CASE("a signal sent to the process from another thread reaches the loop", "[signals][threads]") {
    const plain_handler_scope guard(SIGUSR1);
    auto body = []() -> task<void> {
        corio::event_loop& loop = corio::get_running_loop();
        std::atomic<int> calls{0};
        loop.add_signal_handler(SIGUSR1, [&calls] { ++calls; });
        // Started after add_signal_handler, the thread inherits the blocked
        // mask; the pool's workers block every asynchronous signal. So the
        // process-directed signal can only go to the loop.
        co_await corio::to_thread([] { return 0; });
        std::thread sender([] { kill(getpid(), SIGUSR1); });
        sender.join();
        auto delivered = [&] { return calls.load() == 1; };
        co_await until(delivered);
        CHECK(loop.remove_signal_handler(SIGUSR1));
    };
    run_with_watchdog(body());
    CHECK(plain_handler_calls == 0);
}
