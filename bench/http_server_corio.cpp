// corio's hello-world HTTP/1.1 server for the HTTP server benchmark, loaded
// with wrk like its peers (bench/peers/http_*).
//
//   http_server_corio PORT      serve on 127.0.0.1:PORT until killed
//
// corio::http::start_server with one lambda handler returning
// text_response(200, "Hello, World!"), default options (its header, body and
// keep-alive timers armed as usual) except the Date header, left out so the
// response bytes are exactly those of the Beast and raw epoll servers.

#include <corio/corio.hpp>
#include <corio/http/server.hpp>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>

namespace {

corio::task<int> serve(std::uint16_t port) {
    corio::http::server_options options;
    options.date_header = false;  // same bytes as the other servers
    auto hello = [](corio::http::request&) -> corio::task<corio::http::response> {
        co_return corio::http::text_response(200, "Hello, World!");
    };
    auto server = co_await corio::http::start_server(hello, "127.0.0.1", port, options);
    co_await server.serve_forever();
    co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: http_server_corio PORT\n");
        return 2;
    }
    try {
        return corio::run(serve(static_cast<std::uint16_t>(std::stoi(argv[1]))));
    } catch (const std::exception& error) {
        std::fprintf(stderr, "http_server_corio: %s\n", error.what());
        return 1;
    }
}
