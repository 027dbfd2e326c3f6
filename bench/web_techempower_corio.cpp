// TechEmpower-style rows for corio::web against the raw http::server:
// GET /plaintext ("Hello, World!"), GET /json ({"message":"Hello, World!"}),
// POST /typed (a described body parsed, validated and serialized back).
//
//   web_techempower_corio --mode web|raw [--port N]   serve until Ctrl-C
//
// Load: wrk -t1 -c100 -d5s http://127.0.0.1:N/json, driven by bench/web_run.py
// (which bench/run calls) against Beast and FastAPI/uvicorn; POST /typed with
// -s bench/load/typed_post.lua. In raw mode (/plaintext and /json only) the
// JSON is a string literal, as a router handler would write it.

#include <corio/http/router.hpp>
#include <corio/http/server.hpp>
#include <corio/run.hpp>
#include <corio/sync/event.hpp>
#include <corio/web.hpp>
#include <corio/web/json_implementation.hpp>

#include <boost/describe.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace http = corio::http;
namespace web = corio::web;

namespace {

struct message {
    std::string message;
};
BOOST_DESCRIBE_STRUCT(message, (), (message))

struct order {
    int id = 0;
    std::string customer;
    double amount = 0;
};
BOOST_DESCRIBE_STRUCT(order, (), (id, customer, amount))

corio::task<void> serve_raw(std::uint16_t port) {
    http::router routes;
    routes.get("/plaintext", [](http::request&) -> corio::task<http::response> {
        co_return http::text_response("Hello, World!");
    });
    routes.get("/json", [](http::request&) -> corio::task<http::response> {
        co_return http::json_response(R"({"message":"Hello, World!"})");
    });
    http::server server = co_await http::start_server(routes, "127.0.0.1", port);
    corio::event stop;
    corio::get_running_loop().add_signal_handler(SIGINT, [&stop] { stop.set(); });
    corio::get_running_loop().add_signal_handler(SIGTERM, [&stop] { stop.set(); });
    std::printf("raw http::server on %u\n", static_cast<unsigned>(server.port()));
    co_await stop.wait();
    co_await server.shutdown(std::chrono::seconds(1));
}

}  // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    std::string_view mode = "web";
    unsigned port = 8080;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view arg = argv[i];
        if (arg == "--mode") {
            mode = argv[i + 1];
        } else if (arg == "--port") {
            port = static_cast<unsigned>(std::strtoul(argv[i + 1], nullptr, 10));
        }
    }
    if (mode == "raw") {
        corio::run(serve_raw(static_cast<std::uint16_t>(port)));
        return 0;
    }
    web::app app;
    app.get("/plaintext", [] { return http::text_response("Hello, World!"); });
    app.get("/json", [] { return message{"Hello, World!"}; });
    app.post("/typed", [](order body) { return body; });
    app.run("127.0.0.1", static_cast<std::uint16_t>(port),
            {.on_ready = [](std::uint16_t p) { std::printf("corio::web on %u\n", static_cast<unsigned>(p)); }});
    return 0;
}
