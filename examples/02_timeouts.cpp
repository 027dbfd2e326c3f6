// 02_timeouts: give up on slow operations with corio::wait_for.
//
// The C++ twin of the tutorial's `safe_fetch`:
//
//     async def safe_fetch(url):
//         try:
//             return await asyncio.wait_for(fetch(url), timeout=2)
//         except asyncio.TimeoutError:
//             print(f"Timeout fetching {url}")
//             return None
//
// A fast fetch finishes under the deadline and its value comes back; a slow
// one is cancelled when the deadline passes. wait_for does not just walk away
// from the loser: it cancels it, waits until it has unwound (its cleanup code
// has run), and only then throws corio::timeout_error.
//
// `--quick` makes every delay 40 times shorter (2 s -> 50 ms).

#include <corio/corio.hpp>

#include <fmt/core.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

int speedup = 1;  // 40 with --quick

milliseconds scaled(milliseconds delay) {
    return delay / speedup;
}

double seconds(milliseconds delay) {
    return std::chrono::duration<double>(delay).count();
}

// What happened, for the checks at the end.
int cleanups = 0;
int timeouts_reported_after_cleanup = 0;

// A simulated request that takes `latency` to answer.
corio::task<std::string> fetch(std::string url, milliseconds latency) {
    fmt::print("  fetch {}: started, needs {:.2f} s\n", url, seconds(latency));
    try {
        co_await corio::sleep(latency);
    } catch (const corio::cancelled_error&) {
        // asyncio: `except asyncio.CancelledError: ...; raise`. Release what the
        // operation holds (sockets, buffers, locks), then always rethrow.
        // cancelled_error is not a std::exception, so `catch (const
        // std::exception&)` elsewhere never swallows it by accident.
        fmt::print("  fetch {}: cancelled, cleaning up\n", url);
        ++cleanups;
        throw;
    }
    fmt::print("  fetch {}: done\n", url);
    co_return "Data from " + url;
}

// async def safe_fetch(url) -> str | None
corio::task<std::optional<std::string>> safe_fetch(std::string url, milliseconds latency,
                                                   milliseconds timeout) {
    try {
        // await asyncio.wait_for(fetch(url), timeout)
        co_return co_await corio::wait_for(fetch(url, latency), timeout);
    } catch (const corio::timeout_error& error) {  // except asyncio.TimeoutError:
        // By now the fetch has finished unwinding: its cleanup already ran.
        if (cleanups > 0) {
            ++timeouts_reported_after_cleanup;
        }
        fmt::print("Timeout fetching {} ({})\n", url, error.what());
        co_return std::nullopt;
    }
}

corio::task<int> main_task() {
    const milliseconds timeout = scaled(2s);
    int failures = 0;

    fmt::print("A fast fetch with a {:.2f} s timeout:\n", seconds(timeout));
    const std::optional<std::string> fast =
        co_await safe_fetch("api.example.com/fast", scaled(500ms), timeout);
    fmt::print("Result: {}\n\n", fast.value_or("None"));
    if (fast != "Data from api.example.com/fast" || cleanups != 0) {
        fmt::print(stderr, "FAILED: the fast fetch should have returned its data untouched\n");
        ++failures;
    }

    fmt::print("A slow fetch with a {:.2f} s timeout:\n", seconds(timeout));
    const auto start = std::chrono::steady_clock::now();
    const std::optional<std::string> slow =
        co_await safe_fetch("api.example.com/slow", scaled(10s), timeout);
    const auto elapsed =
        std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
    fmt::print("Result: {} after {:.2f} s, not the {:.2f} s the fetch wanted\n",
               slow.value_or("None"), seconds(elapsed), seconds(scaled(10s)));
    if (slow.has_value() || cleanups != 1 || timeouts_reported_after_cleanup != 1) {
        fmt::print(stderr,
                   "FAILED: the slow fetch should have been cancelled and cleaned up "
                   "before the timeout was reported\n");
        ++failures;
    }
    if (elapsed < timeout || elapsed >= scaled(10s)) {
        fmt::print(stderr, "FAILED: the timeout should have fired after {:.2f} s\n",
                   seconds(timeout));
        ++failures;
    }
    co_return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 1 && std::string_view(argv[1]) == "--quick") {
        speedup = 40;
    }
    return corio::run(main_task());
}
