// WebSocket echo benchmark, corio side.
//
//   ws_echo_corio server PORT                          an echo server (no compression), until killed
//   ws_echo_corio load [--window W] URL CONNECTIONS MESSAGES SIZE
//       the load: CONNECTIONS clients, each echoing MESSAGES SIZE-byte binary
//       messages with W of them in flight (default 1: ping-pong; W > 1 sends W,
//       then the next as each echo returns); every echo is checked to be the
//       message sent in that place (each payload starts with its sequence
//       number); prints messages/s
//
// bench/ws_run.py drives every server (corio, Beast: peers/ws_echo_beast.cpp,
// python websockets: peers/ws_echo_websockets.py, aiohttp) with one load
// generator, bench/load/ws_load.cpp (plain C++, the same arguments and output as
// `load` here), and takes server CPU per message from /proc/PID/task/*/schedstat
// before and after (see bench/benchmarks_notes.md). `load` stays as corio's own
// client under load (bench/load/callgrind_ws.sh counts its instructions).
#include <corio/corio.hpp>
#include <corio/http/router.hpp>
#include <corio/http/server.hpp>
#include <corio/http/websocket.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
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

// Message `seq`'s payload: its sequence number in the first bytes (as many
// as fit), the rest a fixed filler, so an echo out of order or altered shows.
void fill_payload(std::string& payload, int seq) {
    auto n = static_cast<std::uint32_t>(seq);
    for (std::size_t i = 0; i < payload.size() && i < 4; ++i, n >>= 8) {
        payload[i] = static_cast<char>(n & 0xFF);
    }
}

corio::task<void> one_client(std::string url, int messages, std::size_t size, int window) {
    http::ws_connect_options options;
    options.websocket.compression.enabled = false;
    options.websocket.max_message_size = 64 * 1024 * 1024;
    http::websocket ws = co_await http::ws_connect(url, options);
    std::string payload(size, 'p');
    std::string expected(size, 'p');
    int sent = 0;
    for (; sent < messages && sent < window; ++sent) {
        fill_payload(payload, sent);
        co_await ws.send_binary(payload);
    }
    for (int received = 0; received < messages; ++received) {
        http::ws_message m = co_await ws.receive();
        fill_payload(expected, received);
        if (!m.is_binary() || m.data != expected) {
            std::fprintf(stderr, "echo %d: not the message sent (%zu bytes)\n", received, m.data.size());
            std::exit(1);
        }
        if (sent < messages) {
            fill_payload(payload, sent++);
            co_await ws.send_binary(payload);
        }
    }
    co_await ws.close();
}

corio::task<int> load(std::string url, int connections, int messages, std::size_t size, int window) {
    std::vector<corio::task<void>> clients;
    for (int c = 0; c < connections; ++c) {
        clients.push_back(one_client(url, messages, size, window));
    }
    const auto start = std::chrono::steady_clock::now();
    co_await corio::gather(std::move(clients));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double total = static_cast<double>(connections) * messages;
    std::printf("%d connections x %d messages of %zu bytes, window %d: %.0f messages/s (%.3f s)\n", connections,
                messages, size, window, total / seconds, seconds);
    co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string_view mode = argc > 1 ? argv[1] : "";
    if (mode == "server" && argc == 3) {
        return corio::run(serve(static_cast<std::uint16_t>(std::atoi(argv[2]))));
    }
    int window = 1;
    int at = 2;
    if (mode == "load" && argc > 3 && std::string_view(argv[2]) == "--window") {
        window = std::atoi(argv[3]);
        at = 4;
    }
    if (mode == "load" && argc == at + 4 && window >= 1) {
        try {
            return corio::run(load(argv[at], std::atoi(argv[at + 1]), std::atoi(argv[at + 2]),
                                   static_cast<std::size_t>(std::atoll(argv[at + 3])), window));
        } catch (const std::exception& e) {  // e.g. the server is not listening yet
            std::fprintf(stderr, "ws_echo_corio load: %s\n", e.what());
            return 1;
        }
    }
    std::fprintf(stderr, "usage: ws_echo_corio server PORT | load [--window W] URL CONNECTIONS MESSAGES SIZE\n");
    return 2;
}
