// One request from a corio::http client to a corio::http server in the same
// program: every part the separate-compilation library defines (client
// engine, response body, server connection loop with its streamed request
// bodies, router) must link and work.

#include <corio/corio.hpp>
#include <corio/http.hpp>

#include <chrono>
#include <cstdio>
#include <string>

namespace http = corio::http;

corio::task<int> round_trip() {
    http::router routes;
    routes.get("/hello/{name}", [](http::request& r) -> corio::task<http::response> {
        co_return http::text_response(200, "hello " + std::string(r.path_params.at("name")));
    });
    routes.add_streaming("PUT", "/size", 1 << 20, [](http::request& r) -> corio::task<http::response> {
        const std::string all = co_await r.body_stream().read_all();
        co_return http::text_response(200, std::to_string(all.size()));
    });
    http::server server = co_await http::start_server(routes, "127.0.0.1", 0);
    http::client_session session;
    const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/hello/corio";
    http::client_response response = co_await session.get(url);
    const std::string body = co_await response.text();
    http::client_response sized = co_await session.put(
        "http://127.0.0.1:" + std::to_string(server.port()) + "/size", std::string(100000, 'x'), "text/plain");
    const std::string size = co_await sized.text();
    co_await server.shutdown(std::chrono::seconds(1));
    if (response.status() != 200 || body != "hello corio") {
        std::fprintf(stderr, "unexpected answer: %d %s\n", response.status(), body.c_str());
        co_return 1;
    }
    if (sized.status() != 200 || size != "100000") {
        std::fprintf(stderr, "unexpected answer to the streamed body: %d %s\n", sized.status(), size.c_str());
        co_return 1;
    }
    co_return 0;
}

int main() {
    return corio::run(round_trip());
}
