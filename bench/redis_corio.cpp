// corio::redis throughput: `requests` SET (or GET) commands from `tasks`
// concurrent tasks sharing one connection (auto-pipelining), as
// redis-benchmark -c 1 -P ... and bench/peers/redis_asyncio.py measure; or,
// with `worker`, `requests` jobs put on a stream and consumed by one
// stream_worker running `tasks` jobs at once (each job does nothing but be
// acknowledged: the row measures the queue machinery).
//
//   redis_corio <host> <port> <set|get|worker> [requests=100000] [tasks=50]
//
// Prints one line: op, requests (jobs), seconds, requests/s (jobs/s), client
// CPU µs per request (job; the producer's XADDs are not timed).
#include <corio/corio.hpp>
#include <corio/redis.hpp>

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

double cpu_seconds() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

corio::task<void> client(corio::redis::connection& r, bool set, int count, int id) {
    const std::string key = "key:" + std::to_string(id);
    const std::string value(3, 'x');  // redis-benchmark's default 3-byte payload
    for (int i = 0; i < count; ++i) {
        if (set) {
            (void)co_await r.set(key, value);
        } else {
            (void)co_await r.get(key);
        }
    }
}

corio::task<int> run(std::string url, bool set, int requests, int tasks) {
    corio::redis::connection r = co_await corio::redis::connect(url);
    std::vector<corio::task<void>> clients;
    for (int t = 0; t < tasks; ++t) {
        (void)co_await r.set("key:" + std::to_string(t), "xxx");
        clients.push_back(client(r, set, requests / tasks, t));
    }
    const double cpu_start = cpu_seconds();
    const auto start = std::chrono::steady_clock::now();
    co_await corio::gather(std::move(clients));
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    const double cpu = cpu_seconds() - cpu_start;
    const int done = requests / tasks * tasks;
    std::printf("corio %s: %d requests in %.3f s, %.0f requests/s, client CPU %.2f us/request\n", set ? "SET" : "GET",
                done, elapsed.count(), done / elapsed.count(), cpu * 1e6 / done);
    co_return 0;
}

// Puts `jobs` entries on a fresh stream, then times one stream_worker taking
// them all through its consumer group.
corio::task<int> run_worker(std::string url, int jobs, int concurrency) {
    namespace redis = corio::redis;
    redis::connection r = co_await redis::connect(url);
    const std::string stream = "bench:jobs";
    (void)co_await r.del(stream);
    (void)co_await r.del(stream + ":dead");
    for (int first = 0; first < jobs; first += 1000) {
        redis::pipeline batch = r.pipeline();
        for (int i = first; i < jobs && i < first + 1000; ++i) {
            batch.command("XADD", stream, "*", "n", std::to_string(i));
        }
        (void)co_await batch.execute();
    }
    int done = 0;
    redis::stream_worker* self = nullptr;
    redis::stream_worker worker(
        r, {.stream = stream, .group = "bench", .consumer = "worker-1",
            .concurrency = static_cast<std::size_t>(concurrency), .block = std::chrono::milliseconds(100)},
        [&done, &self, jobs](const redis::stream_entry&) -> corio::task<void> {
            if (++done == jobs) {
                self->stop();
            }
            co_return;
        });
    self = &worker;
    const double cpu_start = cpu_seconds();
    const auto start = std::chrono::steady_clock::now();
    co_await worker.run();
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    const double cpu = cpu_seconds() - cpu_start;
    const auto acknowledged = static_cast<double>(worker.stats().succeeded);
    std::printf("corio WORKER: %.0f requests in %.3f s, %.0f requests/s, client CPU %.2f us/request\n",
                acknowledged, elapsed.count(), acknowledged / elapsed.count(), cpu * 1e6 / acknowledged);
    co_return acknowledged == jobs ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s <host> <port> <set|get|worker> [requests] [tasks]\n", argv[0]);
        return 2;
    }
    const std::string url = std::string("redis://") + argv[1] + ":" + argv[2] + "/0";
    const bool set = std::string(argv[3]) == "set";
    const int requests = argc > 4 ? std::atoi(argv[4]) : 100000;
    const int tasks = argc > 5 ? std::atoi(argv[5]) : 50;
    if (std::string(argv[3]) == "worker") {
        return corio::run(run_worker(url, requests, tasks));
    }
    return corio::run(run(url, set, requests, tasks));
}
