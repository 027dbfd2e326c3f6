// 19_queue_workers: distributed job queue workers over a Redis Stream.
//
// 05_worker_queue shares jobs between tasks of one process through a
// corio::queue. When the workers outgrow one machine, the jobs go into a
// broker every worker can reach — here a Redis Stream read through a consumer
// group, which is what arq or Celery (with Redis) do for asyncio programs:
//
//     # redis.asyncio
//     await r.xgroup_create("jobs", "workers", id="0", mkstream=True)
//     while True:
//         for stream, entries in await r.xreadgroup("workers", name, {"jobs": ">"}, count=8, block=500):
//             for job_id, fields in entries:
//                 await process(fields)
//                 await r.xack("jobs", "workers", job_id)
//
// corio::redis::stream_worker is that loop with the parts a real queue needs:
// at most N jobs in flight, ack only after success, retries then a
// dead-letter stream, jobs of crashed workers reclaimed (XAUTOCLAIM), and a
// graceful stop on Ctrl-C / SIGTERM. Start several copies of this program
// against one REDIS_URL and they share the jobs.
//
//   19_queue_workers [--workers N] [--jobs M] [--quick]
//
// REDIS_URL (e.g. redis://127.0.0.1:6379/0) names the server; without it the
// program starts its own redis-server on a free port when one is installed.
// Exits non-zero unless every job was processed.

#include <corio/corio.hpp>
#include <corio/redis.hpp>

#include <fmt/core.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
namespace redis = corio::redis;

namespace {

struct settings {
    int workers = 3;
    int jobs = 2000;
    bool quick = false;
};

// A redis-server of our own, on a free loopback port, stopped on exit.
class private_server {
public:
    static constexpr const char* binary = "/usr/bin/redis-server";

    static bool installed() { return ::access(binary, X_OK) == 0; }

    private_server() {
        m_port = free_port();
        m_dir = std::filesystem::temp_directory_path() / ("corio-example-redis-" + std::to_string(::getpid()));
        std::filesystem::create_directories(m_dir);
        const std::string port = std::to_string(m_port);
        const std::string dir = m_dir.string();
        m_pid = ::fork();
        if (m_pid == 0) {
#if defined(__linux__)
            ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // a crashed example leaves no server behind
#endif
            std::freopen("/dev/null", "w", stdout);
            ::execl(binary, binary, "--port", port.c_str(), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                    "no", "--dir", dir.c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
    }
    ~private_server() {
        if (m_pid > 0) {
            ::kill(m_pid, SIGTERM);
            int status = 0;
            ::waitpid(m_pid, &status, 0);
        }
        std::error_code ignored;
        std::filesystem::remove_all(m_dir, ignored);
    }
    [[nodiscard]] std::string url() const { return "redis://127.0.0.1:" + std::to_string(m_port) + "/0"; }

private:
    static std::uint16_t free_port() {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address;
        ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
        ::close(fd);
        return ntohs(address.sin_port);
    }

    std::uint16_t m_port = 0;
    std::filesystem::path m_dir;
    pid_t m_pid = -1;
};

// Connects, retrying while a server we just started comes up.
corio::task<redis::connection> connect_when_up(std::string url) {
    for (int attempt = 1;; ++attempt) {
        std::optional<redis::connection> r;
        try {
            r.emplace(co_await redis::connect(url));
        } catch (const redis::connection_error&) {
            if (attempt == 100) {
                throw;
            }
        }
        if (r) {
            co_return std::move(*r);
        }
        co_await corio::sleep(20ms);
    }
}

corio::task<void> produce(redis::connection& r, int jobs) {
    redis::pipeline batch = r.pipeline();
    for (int i = 0; i < jobs; ++i) {
        batch.command("XADD", "jobs", "*", "job", i, "cost_us", 500 + (i * 7919) % 2000);
        if (batch.size() == 500 || i + 1 == jobs) {
            (void)co_await batch.execute();
        }
    }
}

corio::task<int> main_task(settings s, std::string url) {
    redis::connection control = co_await connect_when_up(url);
    // Named, not a braced temporary inside the co_await (GCC 12 miscompiles those).
    const std::vector<std::string> old_streams{"jobs", "jobs:dead"};
    (void)co_await control.del(old_streams);

    std::set<int> processed;
    int runs = 0;
    // The work: a pause standing for I/O (an HTTP call, a database write).
    auto handler = [&processed, &runs, quick = s.quick](const redis::stream_entry& job) -> corio::task<void> {
        const int cost_us = std::stoi(job.field("cost_us").value_or("1000"));
        co_await corio::sleep(std::chrono::microseconds(quick ? cost_us / 10 : cost_us));
        processed.insert(std::stoi(job.field("job").value_or("-1")));
        ++runs;
    };

    std::vector<redis::connection> connections;
    connections.reserve(static_cast<std::size_t>(s.workers));
    std::vector<std::unique_ptr<redis::stream_worker>> workers;
    for (int i = 0; i < s.workers; ++i) {
        connections.push_back(co_await redis::connect(url));
        redis::stream_worker_options options;
        options.stream = "jobs";
        options.group = "workers";
        options.consumer = "worker-" + std::to_string(::getpid()) + "-" + std::to_string(i);
        options.concurrency = 16;
        options.block = 100ms;
        workers.push_back(std::make_unique<redis::stream_worker>(connections.back(), options, handler));
    }
    // Ctrl-C / SIGTERM: every worker stops reading and finishes its jobs.
    bool interrupted = false;
    const int stop_signals[] = {SIGINT, SIGTERM};
    for (const int signum : stop_signals) {
        corio::get_running_loop().add_signal_handler(signum, [&workers, &interrupted] {
            interrupted = true;
            for (auto& w : workers) {
                w->stop();
            }
        });
    }
    std::vector<corio::task_handle<void>> running;
    for (auto& w : workers) {
        running.push_back(corio::create_task(w->run()));
    }

    const auto start = std::chrono::steady_clock::now();
    co_await produce(control, s.jobs);
    while (static_cast<int>(processed.size()) < s.jobs && !interrupted) {
        co_await corio::sleep(100ms);
        const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
        fmt::print("\rprocessed {:6}/{} jobs, {:8.0f} jobs/s, {} workers", processed.size(), s.jobs,
                   static_cast<double>(processed.size()) / elapsed.count(), s.workers);
        std::fflush(stdout);
    }
    for (auto& w : workers) {
        w->stop();
    }
    for (auto& r : running) {
        co_await r;
    }
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    fmt::print("\n{} {} distinct jobs in {:.2f} s ({} handler runs)\n",
               interrupted ? "interrupted after" : "done:", processed.size(), elapsed.count(), runs);
    for (std::size_t i = 0; i < workers.size(); ++i) {
        const auto& st = workers[i]->stats();
        fmt::print("  worker {}: {} acknowledged, {} reclaimed, {} dead-lettered\n", i, st.succeeded, st.reclaimed,
                   st.dead_lettered);
    }
    const redis::pending_summary pending = co_await control.xpending("jobs", "workers");
    fmt::print("pending in the group: {}\n", pending.count);
    if (interrupted) {
        co_return 130;
    }
    co_return static_cast<int>(processed.size()) == s.jobs && pending.count == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    settings s;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--workers" && i + 1 < argc) {
            s.workers = std::max(1, std::atoi(argv[++i]));
        } else if (arg == "--jobs" && i + 1 < argc) {
            s.jobs = std::max(1, std::atoi(argv[++i]));
        } else if (arg == "--quick") {
            s.quick = true;
            s.jobs = 500;
        } else {
            fmt::print(stderr, "usage: {} [--workers N] [--jobs M] [--quick]\n", argv[0]);
            return 2;
        }
    }
    std::optional<private_server> own;
    std::string url;
    if (const char* from_env = std::getenv("REDIS_URL")) {
        url = from_env;
    } else if (private_server::installed()) {
        own.emplace();
        url = own->url();
    } else {
        fmt::print("redis-server is not installed: apt-get install redis-server, or set REDIS_URL\n");
        return 77;  // CTest: skipped
    }
    try {
        return corio::run(main_task(s, url));
    } catch (const std::exception& e) {
        fmt::print(stderr, "error: {}\n", e.what());
        return 1;
    }
}
