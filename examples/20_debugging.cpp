// 20_debugging: find the handler that blocks the loop ("profile your code to
// identify bottlenecks"), as asyncio's debug mode does for Python.
//
// The service has three routes. /fast answers at once, /slow awaits a 50 ms
// sleep (the loop serves others meanwhile), and /report blocks the loop by
// mistake: it calls std::this_thread::sleep_for, a blocking call, where it
// should have awaited corio::sleep or corio::to_thread. Nothing else can run
// while it does. With debug mode on (loop.set_debug(true), or CORIO_DEBUG=1
// in the environment) the loop times every step and reports the culprit:
//
//   corio: task 'Task-7' blocked the loop for 250.2 ms (slow_callback_duration
//   100.0 ms); it next suspended at ... 20_debugging.cpp:NN; 250.1 ms of it
//   off the CPU in 1 wait: a blocking call (sleep, file or socket I/O, a lock)
//   in a coroutine? Move it to corio::to_thread
//
// The same server exposes /debug/tasks (the task tree; ?format=json for JSON)
// and /metrics (Prometheus) through corio::http::debug_routes, and (serving
// mode) an inspection socket: `corio-ps PID` prints the task tree from
// another shell, as `python -m asyncio ps PID` does.
//
//   20_debugging [--port N]  serve on 127.0.0.1:N (default 8080) until Ctrl-C
//   20_debugging --quick   serve on a free port, call each route, show what debug mode saw, exit

#include <corio/corio.hpp>
#include <corio/http.hpp>
#include <corio/net/inspection.hpp>

#include <fmt/core.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <unistd.h>

using namespace std::chrono_literals;
namespace http = corio::http;

namespace {

corio::task<http::response> fast(http::request&) {
    co_return http::text_response("fast\n");
}

corio::task<http::response> slow(http::request&) {
    co_await corio::sleep(50ms);  // suspends: the loop serves other requests meanwhile
    co_return http::text_response("slow, but polite\n");
}

// The bug debug mode finds: a blocking call inside a coroutine.
corio::task<http::response> report(http::request&) {
    std::this_thread::sleep_for(250ms);  // should be: co_await corio::sleep(250ms)
    co_await corio::sleep(0s);
    co_return http::text_response("report done\n");
}

http::router make_routes() {
    http::router routes;
    routes.get("/fast", &fast);
    routes.get("/slow", &slow);
    routes.get("/report", &report);
    http::debug_routes(routes);  // GET /debug/tasks and /metrics
    return routes;
}

corio::task<int> quick_demo() {
    corio::event_loop& loop = corio::get_running_loop();
    loop.set_debug(true);
    std::vector<std::string> warnings;
    loop.set_log_handler([&warnings](corio::event_loop&, std::string_view message) {
        fmt::print("debug mode: {}\n", message);
        warnings.emplace_back(message);
    });
    auto server = co_await http::start_server(make_routes(), "127.0.0.1", 0);
    const std::string base = fmt::format("http://127.0.0.1:{}", server.port());
    fmt::print("serving on {}\n", base);

    http::client_session session;
    for (const std::string_view path : {"/fast", "/slow", "/report"}) {
        http::client_response response = co_await session.get(base + std::string(path));
        const std::string body = co_await response.text();
        fmt::print("GET {:<8} -> {} {}", path, response.status(), body);
    }
    http::client_response tasks = co_await session.get(base + "/debug/tasks");
    fmt::print("GET /debug/tasks ->\n{}", co_await tasks.text());
    http::client_response metrics = co_await session.get(base + "/metrics");
    const std::string exposition = co_await metrics.text();
    const std::size_t created = exposition.find("\ncorio_tasks_created_total ");
    fmt::print("GET /metrics -> {} bytes, e.g. {}\n", exposition.size(),
               exposition.substr(created + 1, exposition.find('\n', created + 1) - created - 1));
    co_await session.close();
    co_await server.shutdown(1s);

    const bool found = warnings.size() == 1 &&
                       warnings[0].find("20_debugging.cpp") != std::string::npos &&
                       warnings[0].find("blocking call") != std::string::npos;
    fmt::print("{}\n", found ? "debug mode named the blocking handler"
                             : "debug mode did not find the culprit");
    co_return found ? 0 : 1;
}

corio::task<int> serve(std::uint16_t port) {
    corio::event_loop& loop = corio::get_running_loop();
    loop.set_debug(true);  // warnings go to stderr
    auto server = co_await http::start_server(make_routes(), "127.0.0.1", port);
    auto inspection = co_await corio::start_inspection();  // for `corio-ps PID`
    fmt::print(
        "serving on http://127.0.0.1:{}: try /fast, /slow, /report (the bad one), /debug/tasks, "
        "/metrics; `corio-ps {}` from another shell; Ctrl-C stops\n",
        server.port(), ::getpid());
    loop.add_signal_handler(SIGINT, [&server] { server.close(); });
    loop.add_signal_handler(SIGTERM, [&server] { server.close(); });
    co_await server.serve_forever();
    inspection.close();
    co_await server.shutdown(5s);
    co_return 0;
}

}  // namespace

constexpr std::string_view usage =
    "usage: 20_debugging [--port N] [--quick]\n"
    "  --port N   serve on 127.0.0.1:N (default 8080) with debug mode on, until Ctrl-C\n"
    "  --quick    serve on a free port, call each route, show what debug mode saw, exit\n";

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    bool quick = false;
    std::uint16_t port = 8080;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--quick") {
            quick = true;
        } else if (arg == "--help" || arg == "-h") {
            fmt::print("{}", usage);
            return 0;
        } else if (arg == "--port" && i + 1 < argc && argv[i + 1][0] >= '0' &&
                   argv[i + 1][0] <= '9') {
            port = static_cast<std::uint16_t>(std::atoi(argv[++i]));
        } else {
            fmt::print(stderr, "20_debugging: unknown argument '{}'\n{}", arg, usage);
            return 2;
        }
    }
    try {
        return corio::run(quick ? quick_demo() : serve(port));
    } catch (const std::exception& error) {
        fmt::print(stderr, "20_debugging: {}\n", error.what());
        return 1;
    }
}
