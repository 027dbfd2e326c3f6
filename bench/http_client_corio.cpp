// corio's HTTP client for the client benchmark, the peer
// of bench/peers/http_client_aiohttp.py and http_client_beast.cpp.
//
//   http_client_corio --port P [--requests 10000] [--connections 100]
//
// One corio::http::client_session (limit = connections); `connections` tasks
// gathered, each doing requests/connections GETs of http://127.0.0.1:P/ in
// turn and reading and checking every body: the shape of the aiohttp program.
//
// Output (`key<TAB>value` lines): requests, seconds (wall, from the first
// request to the last response), requests_per_s, client_cpu_us_per_request
// (getrusage of this process over the same window).

#include "timing.hpp"

#include <corio/corio.hpp>
#include <corio/http/client.hpp>

#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

namespace {

double cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

struct stats {
    long completed = 0;
    long failures = 0;
};

corio::task<void> worker(corio::http::client_session& session, const std::string& url, long count, stats& s) {
    for (long i = 0; i < count; ++i) {
        auto response = co_await session.get(url);
        const std::string body = co_await response.text();
        if (response.status() != 200 || body != "Hello, World!") {
            ++s.failures;
        }
        ++s.completed;
    }
}

corio::task<int> run_client(int port, long requests, long connections) {
    corio::http::session_options options;
    options.limit = static_cast<std::size_t>(connections);
    corio::http::client_session session(options);
    const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
    stats s;
    const double cpu_start = cpu_seconds();
    const bench_timing::stopwatch watch;
    std::vector<corio::task<void>> workers;
    for (long c = 0; c < connections; ++c) {
        workers.push_back(worker(session, url, requests / connections, s));
    }
    co_await corio::gather(std::move(workers));
    const double seconds = watch.elapsed_ns() / 1e9;
    const double cpu = cpu_seconds() - cpu_start;
    co_await session.close();
    if (s.failures != 0 || s.completed != requests) {
        std::fprintf(stderr, "http_client_corio: %ld of %ld requests completed, %ld failures\n", s.completed,
                     requests, s.failures);
        co_return 1;
    }
    std::printf("requests\t%ld\nseconds\t%.6f\nrequests_per_s\t%.1f\nclient_cpu_us_per_request\t%.4f\n",
                s.completed, seconds, static_cast<double>(s.completed) / seconds,
                cpu * 1e6 / static_cast<double>(s.completed));
    co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
    int port = 0;
    long requests = 10'000;
    long connections = 100;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view arg = argv[i];
        if (arg == "--port") {
            port = std::atoi(argv[i + 1]);
        } else if (arg == "--requests") {
            requests = std::atol(argv[i + 1]);
        } else if (arg == "--connections") {
            connections = std::atol(argv[i + 1]);
        } else {
            std::fprintf(stderr, "http_client_corio: unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    if (port <= 0 || connections <= 0 || requests % connections != 0) {
        std::fprintf(stderr, "usage: http_client_corio --port P [--requests N] [--connections C] (C divides N)\n");
        return 2;
    }
    try {
        return corio::run(run_client(port, requests, connections));
    } catch (const std::exception& error) {
        std::fprintf(stderr, "http_client_corio: %s\n", error.what());
        return 1;
    }
}
