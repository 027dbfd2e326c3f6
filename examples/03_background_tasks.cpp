// 03_background_tasks: start work in the background with corio::create_task.
//
// The asyncio shape of this program:
//
//     asyncio.create_task(heartbeat())                # fire and forget
//     report = asyncio.create_task(summarize(samples))
//     download = asyncio.create_task(download_file("ubuntu.iso"))
//     ...                                             # main does other work
//     download.cancel()
//     total = await report
//
// create_task starts a coroutine on the running loop at once and returns a
// corio::task_handle, which can be awaited (any number of times), queried with
// done() / cancelled(), cancelled with cancel(), or simply dropped.
//
// `--quick` makes every delay 40 times shorter (0.5 s -> 12.5 ms).

#include <corio/corio.hpp>

#include <fmt/core.h>

#include <chrono>
#include <numeric>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

int speedup = 1;  // 40 with --quick

milliseconds scaled(milliseconds delay) {
    return delay / speedup;
}

const auto program_start = std::chrono::steady_clock::now();

// Prints a line stamped with the time since the program started.
template <class... Args>
void log(fmt::format_string<Args...> format, Args&&... args) {
    const std::chrono::duration<double> t = std::chrono::steady_clock::now() - program_start;
    fmt::print("[{:6.3f} s] {}\n", t.count(), fmt::format(format, std::forward<Args>(args)...));
}

// Tasks running on the loop besides main_task (which corio::run runs as a task
// too, so pending_tasks() counts it, as asyncio.all_tasks() does).
std::size_t background_tasks() {
    return corio::get_running_loop().pending_tasks() - 1;
}

// What happened, for the checks at the end.
int ticks = 0;
bool heartbeat_stopped = false;
bool download_cleaned_up = false;
bool download_finished = false;

// Fire and forget: logs every `interval` until it is cancelled. Nobody keeps
// its handle and nobody awaits it.
corio::task<void> heartbeat(milliseconds interval) {
    try {
        for (;;) {
            co_await corio::sleep(interval);
            log("    [heartbeat] tick {}", ++ticks);
        }
    } catch (const corio::cancelled_error&) {
        log("    [heartbeat] cancelled by corio::run at shutdown, after {} ticks", ticks);
        heartbeat_stopped = true;
        throw;  // always let a cancellation finish the task
    }
}

// Background work whose result main collects later.
//
// `samples` is taken BY VALUE, so the coroutine frame owns its own vector.
// The task runs long after start_report() below has returned and destroyed
// its local vector; with a `const std::vector<int>&` parameter the frame would
// hold a reference to that dead vector and read freed memory once it resumes
// (C++ Core Guidelines CP.51). The same goes for a coroutine lambda's
// captures: they live in the lambda object, not in the coroutine frame, so
// prefer a named coroutine function whose parameters are values, or spawn
// `corio::invoke([captures]() -> corio::task<T> {...})`, which keeps the
// lambda alive inside the task's own frame.
corio::task<int> summarize(std::vector<int> samples) {
    log("    [report] crunching {} samples", samples.size());
    co_await corio::sleep(scaled(1500ms));  // simulated slow work
    const int total = std::accumulate(samples.begin(), samples.end(), 0);
    log("    [report] done, total {}", total);
    co_return total;
}

corio::task_handle<int> start_report() {
    std::vector<int> samples{3, 1, 4, 1, 5, 9, 2, 6};
    return corio::create_task(summarize(std::move(samples)));  // the task gets its own copy
}  // the local `samples` is gone here, before the report has even started

// Background work that main gives up on.
corio::task<void> download_file(std::string name, milliseconds duration) {
    log("    [download] {} started", name);
    try {
        co_await corio::sleep(duration);
    } catch (const corio::cancelled_error&) {
        log("    [download] {} cancelled, deleting the partial file", name);
        download_cleaned_up = true;
        throw;
    }
    download_finished = true;
    log("    [download] {} finished", name);
}

corio::task<int> main_task() {
    // asyncio.create_task(heartbeat()) with the handle dropped at once. The task
    // keeps running anyway: the loop holds a strong reference to every task it
    // runs (asyncio keeps only a weak one, so there you must store it yourself).
    corio::create_task(heartbeat(scaled(500ms)));

    corio::task_handle<int> report = start_report();
    corio::task_handle<void> download =
        corio::create_task(download_file("ubuntu.iso", scaled(10s)));
    log("[main] started {} background tasks; now doing other work", background_tasks());

    co_await corio::sleep(scaled(1200ms));  // main's own work; the others run meanwhile

    // download.cancel(): the download's pending co_await throws cancelled_error.
    log("[main] cancelling the download");
    download.cancel();
    try {
        co_await download;  // `await download` raises CancelledError, as in asyncio
    } catch (const corio::cancelled_error&) {
        log("[main] download: done() = {}, cancelled() = {}", download.done(),
            download.cancelled());
    }

    log("[main] waiting for the report");
    const int total = co_await report;  // total = await report
    log("[main] report total = {}", total);

    co_await corio::sleep(scaled(600ms));  // more work while the heartbeat keeps ticking
    const std::size_t still_running = background_tasks();
    log("[main] done; {} background task still running (corio::run will cancel it)", still_running);

    int failures = 0;
    if (ticks < 2) {
        fmt::print(stderr, "FAILED: the heartbeat should have ticked while main worked\n");
        ++failures;
    }
    if (total != 31 || !report.done() || report.cancelled()) {
        fmt::print(stderr, "FAILED: the report should have completed with 31\n");
        ++failures;
    }
    if (!download.cancelled() || !download_cleaned_up || download_finished) {
        fmt::print(stderr, "FAILED: the download should have been cancelled and cleaned up\n");
        ++failures;
    }
    if (still_running != 1) {
        fmt::print(stderr, "FAILED: only the heartbeat should still be running\n");
        ++failures;
    }
    co_return failures;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 1 && std::string_view(argv[1]) == "--quick") {
        speedup = 40;
    }
    // Like asyncio.run, corio::run cancels every task still running when
    // main_task returns (here the heartbeat) and waits for them to finish.
    const int failures = corio::run(main_task());
    log("corio::run returned");
    if (!heartbeat_stopped) {
        fmt::print(stderr, "FAILED: corio::run should have cancelled the heartbeat\n");
        return 1;
    }
    return failures == 0 ? 0 : 1;
}
