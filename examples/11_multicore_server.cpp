// 11_multicore_server: one event loop per core, all accepting on one port.
//
// corio loops are single-threaded, like asyncio's. To use every core, run one
// loop per thread and let each start its own server on the same port with
// server_options::reuse_port (SO_REUSEPORT): the kernel spreads incoming
// connections over the listening sockets, so no loop is a bottleneck.
//
//   11_multicore_server [--port N]  serve on 127.0.0.1:N (default 8889)
//   11_multicore_server --quick  serve requests from a built-in client, then exit

#include <corio/corio.hpp>
#include <corio/net.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

struct worker {
    int index = 0;
    bool announced = false;  // ready was fulfilled (worker thread only)
    std::atomic<int> served{0};
    // Set by the worker's own thread before `ready` is fulfilled; valid until its server closes.
    corio::event_loop* loop = nullptr;
    corio::tcp_server* server = nullptr;
    std::promise<std::uint16_t> ready;
    std::thread thread;
};

corio::task<void> worker_main(worker& self, std::uint16_t port) {
    // Each connection: read one line, answer which loop served it.
    auto handler = [&self](corio::tcp_stream stream) -> corio::task<void> {
        const std::string request = co_await stream.read_until("\n");
        self.served.fetch_add(1, std::memory_order_relaxed);
        co_await stream.write(fmt::format("loop {} served {}", self.index, request));
    };
    corio::server_options options;
    options.reuse_port = true;
    auto server = co_await corio::start_server(handler, "127.0.0.1", port, options);
    self.loop = &corio::get_running_loop();
    self.server = &server;
    self.ready.set_value(server.port());
    self.announced = true;
    co_await server.serve_forever();  // until another thread asks this loop to close it
    co_await server.wait_closed();
}

void run_worker(worker& self, std::uint16_t port) {
    try {
        corio::run(worker_main(self, port));
    } catch (const std::exception& error) {
        if (!self.announced) {
            self.ready.set_exception(std::current_exception());
        } else {
            fmt::print(stderr, "loop {}: {}\n", self.index, error.what());
        }
    }
}

// The --quick client: many short connections, all on one loop.
corio::task<int> client_main(std::uint16_t port, int requests) {
    auto one = [port](int i) -> corio::task<int> {
        auto stream = co_await corio::open_connection("127.0.0.1", port);
        co_await stream.write(fmt::format("request {}\n", i));
        const std::string reply = co_await stream.read_until("\n");
        co_return reply.ends_with(fmt::format("served request {}\n", i)) ? 1 : 0;
    };
    std::vector<corio::task<int>> calls;
    for (int i = 0; i < requests; ++i) {
        calls.push_back(corio::invoke(one, i));
    }
    const std::vector<int> ok = co_await corio::gather(std::move(calls));
    co_return static_cast<int>(std::count(ok.begin(), ok.end(), 1));
}

constexpr std::string_view usage =
    "usage: 11_multicore_server [--port N] [--quick]\n"
    "  --port N   serve on 127.0.0.1:N (default 8889; also as a bare N), one loop per core\n"
    "  --quick    serve requests from a built-in client, then exit\n";

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // "serving on" shows at once even when piped
    bool quick = false;
    std::uint16_t port = 8889;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--quick") {
            quick = true;
        } else if (arg == "--help" || arg == "-h") {
            fmt::print("{}", usage);
            return 0;
        } else if (arg == "--port" && i + 1 < argc && argv[i + 1][0] >= '0' && argv[i + 1][0] <= '9') {
            port = static_cast<std::uint16_t>(std::atoi(argv[++i]));
        } else if (!arg.empty() && arg[0] >= '0' && arg[0] <= '9') {
            port = static_cast<std::uint16_t>(std::atoi(argv[i]));
        } else {
            fmt::print(stderr, "11_multicore_server: unknown argument '{}'\n{}", arg, usage);
            return 2;
        }
    }
    const int loops = static_cast<int>(std::max(2U, std::thread::hardware_concurrency()));
    std::vector<std::unique_ptr<worker>> workers;
    try {
        // The first loop picks the port (any free one with --quick); the others share it.
        for (int i = 0; i < loops; ++i) {
            auto& w = *workers.emplace_back(std::make_unique<worker>());
            w.index = i;
            std::future<std::uint16_t> bound = w.ready.get_future();
            w.thread = std::thread(run_worker, std::ref(w), (i == 0 && quick) ? std::uint16_t{0} : port);
            port = bound.get();
        }
    } catch (const std::exception& error) {
        fmt::print(stderr, "11_multicore_server: {}\n", error.what());
        for (auto& w : workers) {
            if (w->loop != nullptr) {
                w->loop->call_soon_threadsafe([&w] { w->server->close(); });
            }
            if (w->thread.joinable()) {
                w->thread.join();
            }
        }
        return 1;
    }
    fmt::print("{} loops serving on 127.0.0.1:{}\n", loops, port);

    int status = 0;
    if (quick) {
        const int requests = 64;
        const int ok = corio::run(client_main(port, requests));
        fmt::print("{} of {} requests answered correctly\n", ok, requests);
        status = ok == requests ? 0 : 1;
    }
    // Without --quick the workers serve until the process is killed; with it,
    // each loop is asked (from this thread, so through call_soon_threadsafe)
    // to close its server, and then its thread ends.
    for (auto& w : workers) {
        if (quick) {
            w->loop->call_soon_threadsafe([&w] { w->server->close(); });
        }
        w->thread.join();
        fmt::print("loop {} served {} connections\n", w->index, w->served.load());
    }
    return status;
}
