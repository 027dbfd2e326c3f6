// corio::redis::stream_worker against a real redis-server: jobs shared by
// several workers with one of them dying mid-job (its jobs reclaimed, none
// lost), retries and the dead-letter stream, graceful stop.
#include "catch.hpp"
#include "redis_fixture.hpp"
#include "test_support.hpp"

#include <corio/combinators.hpp>
#include <corio/redis.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/sync/event.hpp>

#include <chrono>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
namespace redis = corio::redis;
using corio_test::redis_server;

namespace {

#define REQUIRE_REDIS()                                               \
    do {                                                              \
        if (!corio_test::redis_available()) {                         \
            corio_test::skip_test(corio_test::redis_missing_message); \
            return;                                                   \
        }                                                             \
    } while (false)

CORIO_HEADER_COROUTINE corio::task<void> add_jobs(redis::connection& r, std::string stream, int count) {
    redis::pipeline p = r.pipeline();
    for (int i = 0; i < count; ++i) {
        p.command("XADD", stream, "*", "job", i);
    }
    (void)co_await p.execute();
}

redis::stream_worker_options worker_options(std::string consumer) {
    redis::stream_worker_options o;
    o.stream = "jobs";
    o.group = "workers";
    o.consumer = std::move(consumer);
    o.concurrency = 8;
    o.block = 50ms;
    o.claim_idle = 300ms;
    o.claim_interval = 50ms;
    o.retry_delay = 1ms;
    return o;
}

}  // namespace

TEST_CASE("jobs shared by three workers are all processed although one worker dies mid-job") {
    REQUIRE_REDIS();
    redis_server server;
    corio_test::run_with_watchdog([&]() -> corio::task<void> {
        const int total = corio_test::under_sanitizer ? 300 : 1000;
        redis::connection producer = co_await redis::connect(server.url());
        redis::connection ra = co_await redis::connect(server.url());
        redis::connection rb = co_await redis::connect(server.url());
        redis::connection rc = co_await redis::connect(server.url());
        std::map<std::string, int> done;  // job -> times completed
        auto record = [&done](const redis::stream_entry& job) -> corio::task<void> {
            co_await corio::sleep(1ms);
            ++done[*job.field("job")];
        };
        // Worker C takes jobs and, like a process killed mid-job, never finishes
        // or acknowledges them.
        corio::event never;
        int taken_by_c = 0;
        auto hang = [&never, &taken_by_c](const redis::stream_entry&) -> corio::task<void> {
            ++taken_by_c;
            co_await never.wait();
        };
        redis::stream_worker a(ra, worker_options("a"), record);
        redis::stream_worker b(rb, worker_options("b"), record);
        redis::stream_worker c(rc, worker_options("c"), hang);
        auto run_c = corio::create_task(c.run());
        co_await add_jobs(producer, "jobs", total);
        while (taken_by_c < 8) {
            co_await corio::sleep(5ms);
        }
        auto run_a = corio::create_task(a.run());
        auto run_b = corio::create_task(b.run());
        while (static_cast<int>(done.size()) < total) {
            co_await corio::sleep(10ms);
        }
        a.stop();
        b.stop();
        co_await run_a;
        co_await run_b;
        CHECK(static_cast<int>(done.size()) == total);
        CHECK(a.stats().reclaimed + b.stats().reclaimed >= 8);  // C's jobs, taken over
        CHECK(a.stats().succeeded + b.stats().succeeded >= static_cast<std::uint64_t>(total));
        const redis::pending_summary pending = co_await producer.xpending("jobs", "workers");
        CHECK(pending.count == 0);
        // C's frozen jobs are released: their late acks change nothing.
        never.set();
        c.stop();
        co_await run_c;
    }(), 30s);
}

TEST_CASE("a failing job is retried, then moved to the dead-letter stream with its error") {
    REQUIRE_REDIS();
    redis_server server;
    corio_test::run_with_watchdog([&]() -> corio::task<void> {
        redis::connection r = co_await redis::connect(server.url());
        std::map<std::string, int> runs;
        auto handler = [&runs](const redis::stream_entry& job) -> corio::task<void> {
            const std::string name = *job.field("job");
            const int run = ++runs[name];
            co_await corio::sleep(0ms);
            if (name == "poison") {
                throw std::runtime_error("cannot digest " + name);
            }
            if (name == "flaky" && run == 1) {
                throw std::runtime_error("first try fails");
            }
        };
        redis::stream_worker worker(r, worker_options("solo"), handler);
        auto running = corio::create_task(worker.run());
        for (const char* name : {"fine", "poison", "flaky"}) {
            const redis::field_list fields{{"job", name}};
            (void)co_await r.xadd("jobs", fields);
        }
        while (worker.stats().succeeded + worker.stats().dead_lettered < 3) {
            co_await corio::sleep(5ms);
        }
        worker.stop();
        co_await running;
        CHECK(runs["fine"] == 1);
        CHECK(runs["flaky"] == 2);
        CHECK(runs["poison"] == 3);
        CHECK(worker.stats().succeeded == 2);
        CHECK(worker.stats().dead_lettered == 1);
        CHECK(worker.stats().failed_attempts == 4);
        const std::vector<redis::stream_entry> dead = co_await r.xrange("jobs:dead");
        REQUIRE(dead.size() == 1);
        CHECK(dead[0].field("job") == std::optional<std::string>("poison"));
        CHECK(dead[0].field("error") == std::optional<std::string>("cannot digest poison"));
        CHECK(dead[0].field("attempts") == std::optional<std::string>("3"));
        const redis::pending_summary pending = co_await r.xpending("jobs", "workers");
        CHECK(pending.count == 0);
    }(), 10s);
}

TEST_CASE("stop lets the jobs in flight finish and acknowledges them, and reads no more") {
    REQUIRE_REDIS();
    redis_server server;
    corio_test::run_with_watchdog([&]() -> corio::task<void> {
        redis::connection r = co_await redis::connect(server.url());
        int started = 0;
        int finished = 0;
        auto slow = [&started, &finished](const redis::stream_entry&) -> corio::task<void> {
            ++started;
            co_await corio::sleep(100ms);
            ++finished;
        };
        redis::stream_worker worker(r, worker_options("graceful"), slow);
        auto running = corio::create_task(worker.run());
        co_await add_jobs(r, "jobs", 5);
        while (started < 5) {
            co_await corio::sleep(2ms);
        }
        worker.stop();
        co_await running;
        CHECK(finished == 5);
        CHECK(started == 5);
        // After run() returned, new jobs are left for other workers.
        co_await add_jobs(r, "jobs", 3);
        co_await corio::sleep(100ms);
        CHECK(started == 5);
        const redis::pending_summary pending = co_await r.xpending("jobs", "workers");
        CHECK(pending.count == 0);
        const std::int64_t length = co_await r.xlen("jobs");
        CHECK(length == 8);
    }(), 10s);
}

namespace {

// The body of a worker process: runs a stream_worker until SIGTERM. Each
// job is recorded in the set "processed" (and counted per worker) before
// its handler returns, so the parent can tell which jobs ran at least once.
CORIO_HEADER_COROUTINE corio::task<int> worker_process(std::string url, std::string name) {
    redis::connection r = co_await redis::connect(url);
    auto record = [&r, name](const redis::stream_entry& job) -> corio::task<void> {
        co_await corio::sleep(1ms);
        redis::pipeline p = r.pipeline();
        p.command("SADD", "processed", *job.field("job"));
        p.command("INCR", "done-by:" + name);
        (void)co_await p.execute();
    };
    redis::stream_worker worker(r, worker_options(name), record);
    worker.stop_on_signals();
    co_await worker.run();
    co_return 0;
}

}  // namespace

TEST_CASE("jobs through three worker processes, one SIGKILLed mid-job, are all processed") {
    REQUIRE_REDIS();
    redis_server server;
    const int total = corio_test::under_sanitizer ? 600 : 2000;
    const std::string url = server.url();
    // Fork before this process runs a loop: each child starts its own.
    std::vector<pid_t> workers;
    for (int i = 0; i < 3; ++i) {
        const pid_t pid = ::fork();
        if (pid == 0) {
            int status = 1;
            try {
                status = corio::run(worker_process(url, "w" + std::to_string(i)));
            } catch (...) {
            }
            ::_exit(status);
        }
        REQUIRE(pid > 0);
        workers.push_back(pid);
    }
    corio_test::run_with_watchdog([&]() -> corio::task<void> {
        redis::connection r = co_await redis::connect(url);
        co_await add_jobs(r, "jobs", total);
        // Kill worker 0 while it has jobs in flight.
        for (;;) {
            const std::optional<std::string> done = co_await r.get("done-by:w0");
            if (done && std::stoi(*done) >= 20) {
                break;
            }
            co_await corio::sleep(2ms);
        }
        ::kill(workers[0], SIGKILL);
        const std::vector<redis::pending_entry> orphaned =
            co_await r.xpending_range("jobs", "workers", "-", "+", 100, "w0");
        std::int64_t processed = 0;
        while (processed < total) {
            co_await corio::sleep(20ms);
            processed = (co_await r.command("SCARD", "processed")).as_integer();
        }
        CHECK(processed == total);
        // Its unacknowledged jobs were reclaimed by the others: nothing pending.
        redis::pending_summary pending{};
        for (int i = 0; i < 100; ++i) {
            pending = co_await r.xpending("jobs", "workers");
            if (pending.count == 0) {
                break;
            }
            co_await corio::sleep(20ms);
        }
        CHECK(pending.count == 0);
        // The jobs the killed worker held were delivered again (to the others).
        for (const redis::pending_entry& job : orphaned) {
            const std::vector<redis::stream_entry> entry = co_await r.xrange("jobs", job.id, job.id);
            REQUIRE(entry.size() == 1);
            const redis::value member = co_await r.command("SISMEMBER", "processed", *entry[0].field("job"));
            CHECK(member.as_bool());
        }
    }(), 60s);
    corio_test::stop_process(workers[0], SIGKILL);
    for (std::size_t i = 1; i < workers.size(); ++i) {
        corio_test::stop_process(workers[i], SIGTERM);  // graceful: finish, ack, exit
    }
}
