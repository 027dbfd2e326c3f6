// Small helpers shared by corio's test files. Keep this header small and
// stable: several test files include it.
//
//   counted             a value type that counts constructions, copies, moves
//                       and destructions (to prove "moved, not copied" and
//                       "destroyed, not leaked")
//   run_with_watchdog   corio::run(corio::wait_for(t, timeout)): a test that
//                       would hang fails with corio::timeout_error instead
//   stopwatch           elapsed steady-clock time since construction
//   ended_cancelled     awaits a task handle: did the task end by cancellation?
//   spawn_and_cancel    the cancellation harness: spawn, let it suspend, cancel,
//                       await; did it end by cancellation?
//   pattern             deterministic pseudo-random bytes for payload round trips
//   cancel_and_wait     cancels a spawned task, awaits it: did it end in cancelled_error?
//   lines_of            a text split at its newlines
//   run_command         a shell command run on the thread pool: its output and exit status
#pragma once

#include <corio/cancel.hpp>
#include <corio/combinators.hpp>
#include <corio/detail/config.hpp>
#include <corio/event_loop.hpp>
#include <corio/run.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/task.hpp>
#include <corio/thread_pool.hpp>

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sys/wait.h>

namespace corio_test {

using namespace std::chrono_literals;

/// Sanitized builds run the heaviest tests with smaller counts.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool under_sanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(undefined_behavior_sanitizer)
inline constexpr bool under_sanitizer = true;
#else
inline constexpr bool under_sanitizer = false;
#endif
#else
inline constexpr bool under_sanitizer = false;
#endif

/// A value that counts what happens to it. Counters are global (per test
/// executable); call counted::reset() at the start of a test.
struct counted {
    static inline int constructions = 0;  // every constructor, copies and moves included
    static inline int copies = 0;
    static inline int moves = 0;
    static inline int destructions = 0;

    static void reset() noexcept { constructions = copies = moves = destructions = 0; }
    /// Objects constructed and not yet destroyed.
    [[nodiscard]] static int alive() noexcept { return constructions - destructions; }

    int value = 0;

    counted() noexcept { ++constructions; }
    explicit counted(int v) noexcept : value(v) { ++constructions; }
    counted(const counted& other) noexcept : value(other.value) {
        ++constructions;
        ++copies;
    }
    counted(counted&& other) noexcept : value(std::exchange(other.value, -1)) {
        ++constructions;
        ++moves;
    }
    counted& operator=(const counted& other) noexcept {
        value = other.value;
        ++copies;
        return *this;
    }
    counted& operator=(counted&& other) noexcept {
        value = std::exchange(other.value, -1);
        ++moves;
        return *this;
    }
    ~counted() { ++destructions; }
};

namespace detail {

// A header coroutine template: clang 14 with -fsanitize=function cannot
// assemble those (see DESIGN.md, Pitfalls), hence the attribute.
template <class T>
CORIO_HEADER_COROUTINE corio::task<T> with_timeout(corio::task<T> t, corio::event_loop::duration timeout) {
    co_return co_await corio::wait_for(std::move(t), timeout);
}

}  // namespace detail

/// Runs t on a fresh loop like corio::run, but throws corio::timeout_error
/// (after cancelling t) if it has not finished within `timeout`.
template <class T, class Rep = long long, class Period = std::milli>
T run_with_watchdog(corio::task<T> t, std::chrono::duration<Rep, Period> timeout = std::chrono::seconds(5)) {
    return corio::run(
        detail::with_timeout(std::move(t), std::chrono::ceil<corio::event_loop::duration>(timeout)));
}

/// run_with_watchdog on a loop made with `backend` (epoll, io_uring), whatever
/// the environment asks: for a test that depends on one backend's behaviour.
template <class T, class Rep = long long, class Period = std::milli>
T run_with_watchdog_on(corio::io_backend backend, corio::task<T> t,
                       std::chrono::duration<Rep, Period> timeout = std::chrono::seconds(5)) {
    corio::event_loop loop(backend);
    return loop.run_until_complete(
        detail::with_timeout(std::move(t), std::chrono::ceil<corio::event_loop::duration>(timeout)));
}

/// Marks the running test case skipped: CTest reports it as "Skipped" (the
/// tests carry SKIP_REGULAR_EXPRESSION "CORIO_SKIPPED:", tests/CMakeLists.txt),
/// never as passed. Call it, then return from the test case. `why` names what
/// to install, e.g. "PostgreSQL not installed: apt-get install postgresql".
inline void skip_test(std::string_view why) {
    std::cout << "CORIO_SKIPPED: " << why << std::endl;
}

/// `text` split at its newlines (a last line without one included).
inline std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t from = 0;
    while (from < text.size()) {
        const std::size_t end = text.find('\n', from);
        lines.push_back(text.substr(from, end - from));
        from = end == std::string::npos ? text.size() : end + 1;
    }
    return lines;
}

struct command_result {
    std::string output;  // stdout and stderr
    int status = -1;     // the exit code; -1 when killed or not run
};

/// Runs `command` with /bin/sh on the thread pool (the loop goes on meanwhile).
CORIO_HEADER_COROUTINE inline corio::task<command_result> run_command(std::string command) {
    // The lambda is named: g++ 12 destroys a temporary capturing lambda twice
    // when it shares a full-expression with co_await.
    auto run = [command] {
        command_result result;
        FILE* pipe = popen((command + " 2>&1").c_str(), "r");
        if (pipe == nullptr) {
            result.output = "popen failed";
            return result;
        }
        char block[4096];
        std::size_t n = 0;
        while ((n = std::fread(block, 1, sizeof block, pipe)) > 0) {
            result.output.append(block, n);
        }
        const int status = pclose(pipe);
        result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        return result;
    };
    command_result result = co_await corio::to_thread(std::move(run));
    co_return result;
}

/// Sends what reaches the running loop's exception handler into `into`, one
/// "message | what()" line per report (what() empty when the exception is
/// absent or not a std::exception). `into` must outlive the handler.
inline void record_loop_exceptions(std::vector<std::string>& into) {
    corio::get_running_loop().set_exception_handler(
        [&into](corio::event_loop&, const corio::exception_context& context) {
            std::string what;
            if (context.exception) {
                try {
                    std::rethrow_exception(context.exception);
                } catch (const std::exception& error) {
                    what = error.what();
                } catch (...) {
                }
            }
            into.push_back(context.message + " | " + what);
        });
}

/// `size` pseudo-random bytes (a linear congruential sequence from `seed`):
/// payloads whose corruption, reordering or truncation a comparison catches.
inline std::string pattern(std::size_t size, unsigned seed = 1) {
    std::string data(size, '\0');
    unsigned x = seed * 2654435761U + 1;
    for (char& c : data) {
        x = x * 1103515245U + 12345U;
        c = static_cast<char>(x >> 16);
    }
    return data;
}

/// Steady-clock time elapsed since construction (or the last restart()).
class stopwatch {
public:
    using clock = std::chrono::steady_clock;

    void restart() noexcept { m_start = clock::now(); }
    [[nodiscard]] clock::duration elapsed() const noexcept { return clock::now() - m_start; }
    [[nodiscard]] std::chrono::milliseconds elapsed_ms() const noexcept {
        return std::chrono::duration_cast<std::chrono::milliseconds>(elapsed());
    }

private:
    clock::time_point m_start = clock::now();
};

/// Awaits `handle` and tells whether its task ended by cancellation: the
/// await threw cancelled_error and handle.cancelled() holds. A value is
/// discarded; any other exception propagates.
template <class T>
CORIO_HEADER_COROUTINE corio::task<bool> ended_cancelled(corio::task_handle<T> handle) {
    try {
        (void)co_await handle;
    } catch (const corio::cancelled_error&) {
        co_return handle.cancelled();
    }
    co_return false;
}

/// Cancels the task behind `handle` and awaits it: true when it ended by
/// cancellation (see ended_cancelled), as every cancelled wait must.
template <class T>
CORIO_HEADER_COROUTINE corio::task<bool> cancel_and_wait(corio::task_handle<T> handle) {
    handle.cancel();
    co_return co_await ended_cancelled(std::move(handle));
}

/// The cancellation harness: spawns `t`, sleeps `settle` so that it runs to
/// a suspension point, cancels it and awaits it. True when the cancel was
/// accepted (the task had not finished) and the task ended by cancellation.
template <class T>
CORIO_HEADER_COROUTINE corio::task<bool> spawn_and_cancel(corio::task<T> t, corio::event_loop::duration settle) {
    corio::task_handle<T> handle = corio::create_task(std::move(t));
    co_await corio::sleep(settle);
    const bool accepted = handle.cancel();
    const bool cancelled = co_await ended_cancelled(handle);
    co_return accepted && cancelled;
}

}  // namespace corio_test
