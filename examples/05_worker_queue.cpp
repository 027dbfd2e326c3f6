// 05_worker_queue: a producer and a pool of workers on a bounded corio::queue.
//
// The "message queue with async workers" pattern of asyncio:
//
//     queue = asyncio.Queue(maxsize=5)
//
//     async def worker(name):
//         while True:
//             job = await queue.get()
//             await process(job)
//             queue.task_done()
//
//     workers = [asyncio.create_task(worker(i)) for i in range(3)]
//     for job in jobs:
//         await queue.put(job)      # waits while the queue is full
//     await queue.join()            # every job processed
//     queue.shutdown()              # workers leave through QueueShutDown
//
// In corio the workers leave their loop when get() throws corio::queue_closed
// after q.close(). The producer is faster than the workers, so the bound of
// the queue holds it back (backpressure): watch "waits for room" below.
//
// `--quick` makes every delay 20 times shorter. The program exits non-zero
// unless every job was processed exactly once.

#include <corio/corio.hpp>
#include <corio/sync/queue.hpp>

#include <fmt/core.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

constexpr int job_count = 12;
constexpr int worker_count = 3;
constexpr std::size_t queue_bound = 4;

int speedup = 1;  // 20 with --quick

milliseconds scaled(milliseconds delay) {
    return delay / speedup;
}

const auto program_start = std::chrono::steady_clock::now();

template <class... Args>
void log(fmt::format_string<Args...> format, Args&&... args) {
    const std::chrono::duration<double> t = std::chrono::steady_clock::now() - program_start;
    fmt::print("[{:6.3f} s] {}\n", t.count(), fmt::format(format, std::forward<Args>(args)...));
}

struct job {
    int id;
    milliseconds cost;
};

// How many times each job was processed (index: job id).
using tally = std::vector<int>;

// Takes jobs until the queue is closed. References are safe: main_task
// awaits every worker before its locals go away.
corio::task<void> worker(int name, corio::queue<job>& q, tally& processed) {
    while (true) {
        job next{};
        try {
            next = co_await q.get();
        } catch (const corio::queue_closed&) {
            log("worker {} exits: the queue is closed", name);
            co_return;
        }
        log("worker {} starts job {:2}", name, next.id);
        co_await corio::sleep(next.cost);  // the work itself
        ++processed[static_cast<std::size_t>(next.id)];
        q.task_done();
    }
}

corio::task<void> producer(corio::queue<job>& q) {
    for (int id = 1; id <= job_count; ++id) {
        if (q.full()) {
            log("producer waits for room (queue holds {})", q.size());
        }
        co_await q.put(job{id, scaled(milliseconds(100 + 50 * (id % 3)))});
        log("producer queued job {:2}", id);
        co_await corio::sleep(scaled(20ms));
    }
}

corio::task<int> main_task() {
    corio::queue<job> q(queue_bound);
    tally processed(job_count + 1, 0);

    std::vector<corio::task_handle<void>> workers;
    for (int name = 1; name <= worker_count; ++name) {
        workers.push_back(corio::create_task(worker(name, q, processed)));
    }

    co_await producer(q);
    co_await q.join();  // every queued job was marked done
    log("all jobs done; closing the queue");
    q.close();
    for (auto& w : workers) {
        co_await w;
    }

    int wrong = 0;
    for (int id = 1; id <= job_count; ++id) {
        if (processed[static_cast<std::size_t>(id)] != 1) {
            fmt::print(stderr, "FAILED: job {} was processed {} times\n", id,
                       processed[static_cast<std::size_t>(id)]);
            ++wrong;
        }
    }
    if (wrong != 0 || !q.empty()) {
        co_return 1;
    }
    fmt::print("\n{} jobs processed exactly once by {} workers through a queue of {}\n", job_count,
               worker_count, queue_bound);
    co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 1 && std::string_view(argv[1]) == "--quick") {
        speedup = 20;
    }
    return corio::run(main_task());
}
