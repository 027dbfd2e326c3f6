// 07_to_thread: run blocking work off the loop with corio::to_thread.
//
// A coroutine must never block: while it computes for a second or waits in
// read(), no other task on its loop runs. asyncio's answer is to hand the
// blocking call to a thread and await it:
//
//     async def main():
//         ticker = asyncio.create_task(tick())
//         primes, digest = await asyncio.gather(
//             asyncio.to_thread(count_primes, 2_000_000),
//             asyncio.to_thread(read_file, path))
//
// corio spells it `co_await corio::to_thread(f, args...)`: f(args...) runs on
// a worker of a process-wide thread pool and the coroutine resumes on its
// loop with the result (or the exception). The loop thread never waits.
//
// The program first runs the computation directly on the loop, to show the
// ticker stalling, then runs it and a (deliberately slow) file read with
// to_thread while the ticker keeps ticking. It exits non-zero if the ticker
// did not tick during the off-loaded work.
//
// `--quick` makes the work and the tick interval smaller.

#include <corio/corio.hpp>
#include <corio/thread_pool.hpp>

#include <fmt/core.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

struct settings {
    int prime_limit = 2'000'000;
    std::size_t file_size = 8U << 20U;  // bytes
    milliseconds tick = 50ms;
};

using clock = std::chrono::steady_clock;

const auto program_start = clock::now();

template <class... Args>
void log(fmt::format_string<Args...> format, Args&&... args) {
    const std::chrono::duration<double> t = clock::now() - program_start;
    fmt::print("[{:6.3f} s] {}\n", t.count(), fmt::format(format, std::forward<Args>(args)...));
}

// ---- Blocking functions: plain C++, no coroutines, no loop. ----

// CPU-bound: counts primes below `limit` by trial division.
int count_primes(int limit) {
    int count = 0;
    for (int n = 2; n < limit; ++n) {
        bool prime = true;
        for (int d = 2; d * d <= n; ++d) {
            if (n % d == 0) {
                prime = false;
                break;
            }
        }
        count += prime ? 1 : 0;
    }
    return count;
}

// I/O-bound: reads a file in 64 KiB chunks and returns a checksum (FNV-1a).
// The short sleep per chunk stands for a slow disk or network file system.
std::uint64_t checksum_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::system_error(errno, std::generic_category(), "open " + path.string());
    }
    std::uint64_t hash = 14695981039346656037ULL;
    std::vector<char> chunk(64 * 1024);
    while (in.read(chunk.data(), static_cast<std::streamsize>(chunk.size())) || in.gcount() > 0) {
        for (std::streamsize i = 0; i < in.gcount(); ++i) {
            hash = (hash ^ static_cast<unsigned char>(chunk[static_cast<std::size_t>(i)])) * 1099511628211ULL;
        }
        std::this_thread::sleep_for(1ms);
    }
    return hash;
}

void write_test_file(const std::filesystem::path& path, std::size_t size) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    std::string block(4096, '\0');
    for (std::size_t i = 0; i < block.size(); ++i) {
        block[i] = static_cast<char>('a' + i % 26);
    }
    for (std::size_t written = 0; written < size; written += block.size()) {
        out.write(block.data(), static_cast<std::streamsize>(block.size()));
    }
    if (!out.flush()) {
        throw std::system_error(errno, std::generic_category(), "write " + path.string());
    }
}

// ---- The async side. ----

struct ticker_state {
    int ticks = 0;
    bool stop = false;
};

corio::task<void> ticker(ticker_state& state, milliseconds interval) {
    while (!state.stop) {
        co_await corio::sleep(interval);
        ++state.ticks;
    }
}

// Deleted however main leaves (return or exception).
struct temp_file {
    std::filesystem::path path;
    ~temp_file() {
        std::error_code ignored;
        std::filesystem::remove(path, ignored);
    }
};

corio::task<int> amain(settings config) {
    ticker_state state;
    // The ticker only reads and writes `state`, which outlives it: amain
    // awaits the ticker before returning.
    corio::task_handle<void> ticks = corio::create_task(ticker(state, config.tick));

    const temp_file file{std::filesystem::temp_directory_path() /
                         fmt::format("corio_07_to_thread_{:x}.bin", std::random_device{}())};
    // Even writing the file is blocking I/O: off the loop it goes.
    co_await corio::to_thread(write_test_file, file.path, config.file_size);
    log("wrote {} KiB to {}", config.file_size / 1024, file.path.string());

    // 1. Blocking work done on the loop: the ticker cannot run meanwhile.
    co_await corio::sleep(config.tick * 2);
    int before = state.ticks;
    auto started = clock::now();
    const int primes_on_loop = count_primes(config.prime_limit / 2);
    const auto stalled = std::chrono::duration_cast<milliseconds>(clock::now() - started);
    log("on the loop:  {} primes below {}; the ticker ticked {} times in those {} ms", primes_on_loop,
        config.prime_limit / 2, state.ticks - before, stalled.count());

    // 2. The same kind of work, and a slow file read, with to_thread.
    before = state.ticks;
    started = clock::now();
    auto [primes, digest] = co_await corio::gather(corio::to_thread(count_primes, config.prime_limit),
                                                   corio::to_thread(checksum_file, file.path));
    const auto took = std::chrono::duration_cast<milliseconds>(clock::now() - started);
    const int free_ticks = state.ticks - before;
    log("off the loop: {} primes below {}, file checksum {:016x}", primes, config.prime_limit, digest);
    log("off the loop: the ticker ticked {} times in those {} ms", free_ticks, took.count());

    state.stop = true;
    co_await ticks;

    if (free_ticks == 0) {
        fmt::print(stderr, "error: the loop was blocked during the to_thread work\n");
        co_return 1;
    }
    log("the loop stayed responsive while the blocking work ran on other threads");
    co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
    settings config;
    if (argc > 1 && std::string_view(argv[1]) == "--quick") {
        config.prime_limit = 400'000;
        config.file_size = 1U << 20U;
        config.tick = 2ms;
    }
    try {
        return corio::run(amain(config));
    } catch (const std::exception& error) {
        fmt::print(stderr, "error: {}\n", error.what());
        return 1;
    }
}
