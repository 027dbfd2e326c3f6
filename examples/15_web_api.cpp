// 15_web_api: a small JSON API server ("high-performance web APIs").
//
// Routes: GET /health, GET /users, GET /users/{name}, POST /users (echoes the
// JSON it was sent, with 201). The handlers are coroutines, so one that
// awaited a database or another service would not block the others. JSON is
// written by hand: corio serves strings and needs no JSON library.
//
//   15_web_api [--port N]  serve on 127.0.0.1:N (default 8080) until Ctrl-C (then shut down gracefully)
//   15_web_api --quick   serve on a free port, send a few requests to itself, exit

#include <corio/corio.hpp>
#include <corio/http/router.hpp>
#include <corio/http/server.hpp>
#include <corio/net.hpp>

#include <fmt/core.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

using namespace std::chrono_literals;
namespace http = corio::http;

namespace {

// The "database": name → language.
const std::map<std::string, std::string, std::less<>> users = {
    {"python", "Python"}, {"django", "Python"}, {"fastapi", "Python"}, {"corio", "C++"}};

std::string user_json(std::string_view name, std::string_view language) {
    return fmt::format(R"({{"name":"{}","language":"{}"}})", name, language);
}

http::router make_routes() {
    http::router routes;
    routes.get("/health", [](http::request&) -> corio::task<http::response> {
        co_return http::json_response(R"({"status":"ok"})");
    });
    routes.get("/users", [](http::request&) -> corio::task<http::response> {
        std::string json = "[";
        for (const auto& [name, language] : users) {
            if (json.size() > 1) {
                json += ',';
            }
            json += user_json(name, language);
        }
        json += ']';
        co_return http::json_response(std::move(json));
    });
    routes.get("/users/{name}", [](http::request& r) -> corio::task<http::response> {
        const std::string_view name = r.path_params.at("name");
        const auto found = users.find(name);
        if (found == users.end()) {
            co_return http::json_response(fmt::format(R"({{"error":"no user {}"}})", name), 404);
        }
        co_return http::json_response(user_json(found->first, found->second));
    });
    routes.post("/users", [](http::request& r) -> corio::task<http::response> {
        if (!r.headers.get_or("Content-Type", "").starts_with("application/json")) {
            co_return http::json_response(R"({"error":"send application/json"})", 415);
        }
        co_return http::json_response(std::move(r.body), 201);  // a real service would parse and store it
    });
    return routes;
}

// One request over a raw corio TCP connection; returns the status line and the body.
corio::task<std::string> ask(std::uint16_t port, std::string request) {
    auto stream = co_await corio::open_connection("127.0.0.1", port);
    co_await stream.write(request);
    std::string reply;
    for (;;) {
        std::string chunk = co_await stream.read();
        if (chunk.empty()) {
            break;
        }
        reply += chunk;
    }
    const std::string status = reply.substr(0, reply.find("\r\n"));
    const std::size_t body_at = reply.find("\r\n\r\n");
    const std::string body = body_at == std::string::npos ? std::string() : reply.substr(body_at + 4);
    co_return status + "  " + body;
}

std::string get(std::string_view target) {
    return fmt::format("GET {} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", target);
}

corio::task<int> quick_demo() {
    auto server = co_await http::start_server(make_routes(), "127.0.0.1", 0);
    fmt::print("serving on 127.0.0.1:{}\n", server.port());
    const std::string json = R"({"name":"asyncio","language":"Python"})";
    const std::string requests[] = {
        get("/health"),
        get("/users"),
        get("/users/corio"),
        get("/users/nobody"),
        fmt::format("POST /users HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    "Content-Length: {}\r\nConnection: close\r\n\r\n{}",
                    json.size(), json),
        "DELETE /users HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    };
    int good = 0;
    for (const std::string& request : requests) {
        const std::string answer = co_await ask(server.port(), request);
        fmt::print("{:<28} -> {}\n", request.substr(0, request.find(" HTTP/")), answer);
        if (answer.starts_with("HTTP/1.1 ")) {
            ++good;
        }
    }
    co_await server.shutdown(1s);
    fmt::print("{} requests served\n", server.requests_served());
    co_return good == static_cast<int>(std::size(requests)) ? 0 : 1;
}

corio::task<int> serve(std::uint16_t port) {
    auto server = co_await http::start_server(make_routes(), "127.0.0.1", port);
    fmt::print("serving on http://127.0.0.1:{} (try /users, /users/corio, /health); Ctrl-C stops\n", server.port());
    corio::event_loop& loop = corio::get_running_loop();
    loop.add_signal_handler(SIGINT, [&server] { server.close(); });
    loop.add_signal_handler(SIGTERM, [&server] { server.close(); });
    co_await server.serve_forever();
    fmt::print("\nshutting down: finishing requests in flight\n");
    co_await server.shutdown(5s);
    fmt::print("{} requests served\n", server.requests_served());
    co_return 0;
}

}  // namespace

constexpr std::string_view usage =
    "usage: 15_web_api [--port N] [--quick]\n"
    "  --port N   serve on 127.0.0.1:N (default 8080) until Ctrl-C, then shut down gracefully\n"
    "  --quick    serve on a free port, send a few requests to itself, exit\n";

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // "serving on" shows at once even when piped
    bool quick = false;
    std::uint16_t port = 8080;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--quick") {
            quick = true;
        } else if (arg == "--help" || arg == "-h") {
            fmt::print("{}", usage);
            return 0;
        } else if (arg == "--port" && i + 1 < argc && argv[i + 1][0] >= '0' && argv[i + 1][0] <= '9') {
            port = static_cast<std::uint16_t>(std::atoi(argv[++i]));
        } else {
            fmt::print(stderr, "15_web_api: unknown argument '{}'\n{}", arg, usage);
            return 2;
        }
    }
    try {
        return corio::run(quick ? quick_demo() : serve(port));
    } catch (const std::exception& error) {
        fmt::print(stderr, "15_web_api: {}\n", error.what());
        return 1;
    }
}
