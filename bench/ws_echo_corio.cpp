// WebSocket echo benchmark, corio side.
//
//   ws_echo_corio server PORT                          an echo server (no compression), until killed
//   ws_echo_corio load URL CONNECTIONS MESSAGES SIZE   the load: CONNECTIONS clients, each doing
//                                                      MESSAGES round trips of SIZE-byte binary
//                                                      messages; prints messages/s
//
// The same load runs against every server (corio, Beast: peers/ws_echo_beast.cpp,
// python websockets: peers/ws_echo_websockets.py); server CPU per message comes
// from /proc/PID/stat before and after (see bench/benchmarks_notes.md).
#include <corio/corio.hpp>
#include <corio/http/router.hpp>
#include <corio/http/server.hpp>
#include <corio/http/websocket.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace http = corio::http;

namespace {

corio::task<int> serve(std::uint16_t port) {
    http::ws_route_options options;
    options.websocket.compression.enabled = false;
    options.websocket.max_message_size = 64 * 1024 * 1024;
    http::router routes;
    routes.websocket(
        "/",
        [](http::websocket& ws, http::request&) -> corio::task<void> {
            for (;;) {
                http::ws_message m = co_await ws.receive();
                if (m.is_text()) {
                    co_await ws.send_text(m.data);
                } else {
                    co_await ws.send_binary(m.data);
                }
            }
        },
        options);
    auto server = co_await http::start_server(routes, "127.0.0.1", port);
    std::printf("listening on %u\n", static_cast<unsigned>(server.port()));
    std::fflush(stdout);
    co_await server.serve_forever();
    co_return 0;
}

corio::task<void> one_client(std::string url, int messages, std::size_t size) {
    http::ws_connect_options options;
    options.websocket.compression.enabled = false;
    options.websocket.max_message_size = 64 * 1024 * 1024;
    http::websocket ws = co_await http::ws_connect(url, options);
    const std::string payload(size, 'p');
    for (int i = 0; i < messages; ++i) {
        co_await ws.send_binary(payload);
        http::ws_message m = co_await ws.receive();
        if (m.data.size() != size) {
            std::fprintf(stderr, "short echo\n");
            std::exit(1);
        }
    }
    co_await ws.close();
}

corio::task<int> load(std::string url, int connections, int messages, std::size_t size) {
    std::vector<corio::task<void>> clients;
    for (int c = 0; c < connections; ++c) {
        clients.push_back(one_client(url, messages, size));
    }
    const auto start = std::chrono::steady_clock::now();
    co_await corio::gather(std::move(clients));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double total = static_cast<double>(connections) * messages;
    std::printf("%d connections x %d messages of %zu bytes: %.0f messages/s (%.3f s)\n", connections, messages,
                size, total / seconds, seconds);
    co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string_view mode = argc > 1 ? argv[1] : "";
    if (mode == "server" && argc == 3) {
        return corio::run(serve(static_cast<std::uint16_t>(std::atoi(argv[2]))));
    }
    if (mode == "load" && argc == 6) {
        return corio::run(load(argv[2], std::atoi(argv[3]), std::atoi(argv[4]),
                               static_cast<std::size_t>(std::atoll(argv[5]))));
    }
    std::fprintf(stderr, "usage: ws_echo_corio server PORT | load URL CONNECTIONS MESSAGES SIZE\n");
    return 2;
}
