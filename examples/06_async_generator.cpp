// 06_async_generator: process a stream of data as it arrives (`async for`).
//
// The asyncio shape of this program:
//
//     async def readings(sensor, n):          # an async generator
//         for i in range(n):
//             await asyncio.sleep(0.2)        # waiting for the next sample
//             yield Reading(sensor, i, value)
//
//     async for r in readings("boiler", 8):   # each reading handled on arrival
//         ...
//
// corio::async_generator<T> is the async generator: the body co_awaits and
// co_yields; the consumer writes `while (auto r = co_await gen.next())`.
// Stopping early (a `break`) destroys the generator, which cleans up its frame.
//
// `--quick` makes every delay 40 times shorter.

#include <corio/corio.hpp>
#include <corio/generator.hpp>

#include <fmt/core.h>

#include <chrono>
#include <string>
#include <string_view>
#include <utility>

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

struct reading {
    std::string sensor;
    int index;
    double celsius;
};

bool stream_closed = false;  // set when the generator's frame is cleaned up

// Closes the "connection" whenever the generator's frame goes away: after the
// last value, on an exception, or when the consumer stops early.
struct connection {
    std::string sensor;
    ~connection() {
        log("    [{}] stream closed", sensor);
        stream_closed = true;
    }
};

// The async generator: samples arrive one at a time, with a wait in between.
corio::async_generator<reading> readings(std::string sensor, int count) {
    const connection conn{sensor};
    log("    [{}] stream opened", sensor);
    for (int i = 0; i < count; ++i) {
        co_await corio::sleep(scaled(200ms));  // waiting for the device
        // A named local, not `co_yield reading{...}`: g++ 12 miscompiles a
        // temporary co_yield operand holding a std::string (see generator.hpp).
        reading r{sensor, i, 20.0 + 1.5 * i};
        co_yield std::move(r);
    }
}

corio::task<int> main_task() {
    int failures = 0;

    // async for r in readings(...): each value is handled as soon as it arrives,
    // while the next one is still being produced.
    log("[main] streaming 5 readings");
    double sum = 0;
    int received = 0;
    auto stream = readings("boiler", 5);
    while (auto r = co_await stream.next()) {
        log("[main] reading #{} from {}: {:.1f} C", r->index, r->sensor, r->celsius);
        sum += r->celsius;
        ++received;
    }
    log("[main] average {:.2f} C over {} readings", sum / received, received);
    if (received != 5 || !stream_closed) {
        fmt::print(stderr, "FAILED: expected 5 readings and a closed stream\n");
        ++failures;
    }

    // Stopping early: break out when a threshold is crossed. Destroying the
    // generator cleans up its frame (the connection closes) right away.
    stream_closed = false;
    int seen = 0;
    {
        auto alarm = readings("furnace", 100);
        while (auto r = co_await alarm.next()) {
            ++seen;
            if (r->celsius > 23.0) {
                log("[main] {:.1f} C is above 23 C: stop listening", r->celsius);
                break;
            }
        }
    }
    if (seen != 4 || !stream_closed) {
        fmt::print(stderr, "FAILED: expected to stop after 4 readings with the stream closed\n");
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
