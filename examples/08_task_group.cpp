// 08_task_group: structured concurrency; one child fails, the rest are cancelled.
//
// The asyncio shape of this program:
//
//     try:
//         async with asyncio.TaskGroup() as tg:
//             for name in ["alpha", "beta", "gamma"]:
//                 tg.create_task(download(name))
//             tg.create_task(flaky_mirror())      # fails after a while
//     except* ConnectionError as eg:
//         ...                                     # the others were cancelled
//
// corio::with_task_group runs a body that spawns children with tg.spawn(...)
// and does not return until every child has finished. The first failure
// cancels the body and the other children, waits for them to clean up, and is
// then rethrown; so children can safely use the caller's local variables.
//
// `--quick` makes every delay 40 times shorter.

#include <corio/corio.hpp>
#include <corio/task_group.hpp>

#include <fmt/core.h>
#include <fmt/format.h>

#include <chrono>
#include <stdexcept>
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

template <class... Args>
void log(fmt::format_string<Args...> format, Args&&... args) {
    const std::chrono::duration<double> t = std::chrono::steady_clock::now() - program_start;
    fmt::print("[{:6.3f} s] {}\n", t.count(), fmt::format(format, std::forward<Args>(args)...));
}

struct mirror_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// What happened to each download (the children write into main's locals:
// safe, because the group never lets a child outlive it).
struct report {
    std::vector<std::string> finished;
    std::vector<std::string> cancelled;
};

corio::task<void> download(std::string name, milliseconds duration, report* out) {
    log("    [{}] downloading ({} ms)", name, duration.count());
    try {
        co_await corio::sleep(duration);
    } catch (const corio::cancelled_error&) {
        log("    [{}] cancelled, removing the partial file", name);
        out->cancelled.push_back(name);
        throw;  // always let a cancellation finish the task
    }
    log("    [{}] finished", name);
    out->finished.push_back(name);
}

corio::task<void> flaky_mirror(milliseconds after) {
    co_await corio::sleep(after);
    log("    [mirror] connection reset!");
    throw mirror_error("mirror.example: connection reset by peer");
}

corio::task<int> main_task() {
    report out;
    std::string error;
    try {
        co_await corio::with_task_group([&](corio::task_group& tg) -> corio::task<void> {
            tg.spawn(download("alpha", scaled(300ms), &out));
            tg.spawn(download("beta", scaled(2000ms), &out));
            tg.spawn(download("gamma", scaled(3000ms), &out));
            tg.spawn(flaky_mirror(scaled(800ms)));
            log("[main] {} children spawned; the body is done, the group waits", tg.running());
            co_return;
        });
    } catch (const mirror_error& e) {
        // Reached only after beta and gamma have been cancelled and cleaned up.
        error = e.what();
        log("[main] the group failed: {}", error);
    }
    log("[main] finished: {}; cancelled: {}", fmt::join(out.finished, ", "), fmt::join(out.cancelled, ", "));

    int failures = 0;
    if (error.empty()) {
        fmt::print(stderr, "FAILED: the mirror's error should have been rethrown by the group\n");
        ++failures;
    }
    if (out.finished != std::vector<std::string>{"alpha"}) {
        fmt::print(stderr, "FAILED: only alpha should have finished\n");
        ++failures;
    }
    if (out.cancelled != std::vector<std::string>{"beta", "gamma"}) {
        fmt::print(stderr, "FAILED: beta and gamma should have been cancelled before the error arrived\n");
        ++failures;
    }
    co_return failures;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 1 && std::string_view(argv[1]) == "--quick") {
        speedup = 40;
    }
    return corio::run(main_task()) == 0 ? 0 : 1;
}
