// 18_ws_client: a WebSocket client (python-websockets' `connect`, aiohttp's
// `session.ws_connect`). Connects, sends a few messages, prints what comes
// back, closes.
//
//   18_ws_client ws://host:port/path   talk to that server (ws:// or wss://)
//   18_ws_client                       start an echo server of its own first
//   18_ws_client --quick               the same, as the CTest smoke test

#include <corio/corio.hpp>
#include <corio/http/client.hpp>
#include <corio/http/router.hpp>
#include <corio/http/server.hpp>
#include <corio/http/websocket.hpp>

#include <fmt/core.h>

#include <optional>
#include <string>
#include <string_view>

using namespace std::chrono_literals;
namespace http = corio::http;

namespace {

// The echo server used when no URL is given.
http::router echo_routes() {
    http::router routes;
    routes.websocket("/echo", [](http::websocket& ws, http::request&) -> corio::task<void> {
        while (auto message = co_await ws.next()) {
            if (message->is_text()) {
                co_await ws.send_text("echo: " + message->data);
            } else {
                co_await ws.send_binary(message->data);
            }
        }
    });
    return routes;
}

corio::task<int> talk(std::string url) {
    http::client_session session;
    http::websocket ws = co_await session.ws_connect(url);
    fmt::print("connected to {} (permessage-deflate: {})\n", url, ws.compressed() ? "on" : "off");
    for (const std::string_view line : {"hello", "how are you?", "κόσμε"}) {
        co_await ws.send_text(line);
        http::ws_message reply = co_await ws.receive();
        fmt::print("sent {:<14} got {}\n", line, reply.data);
    }
    co_await ws.send_binary(std::string(100'000, '\x2a'));
    http::ws_message reply = co_await ws.receive();
    fmt::print("sent 100000 binary bytes, got {} {} bytes back\n", reply.is_binary() ? "binary" : "text",
               reply.data.size());
    co_await ws.ping("are you there?");
    co_await ws.close(http::close_code::normal, "bye");
    fmt::print("closed with {}\n", ws.close_code());
    co_return 0;
}

corio::task<int> with_own_server() {
    auto server = co_await http::start_server(echo_routes(), "127.0.0.1", 0);
    const int status = co_await talk("ws://127.0.0.1:" + std::to_string(server.port()) + "/echo");
    co_await server.shutdown(1s);
    co_return status;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string_view argument = argc > 1 ? argv[1] : "";
    try {
        return corio::run(argument.empty() || argument == "--quick" ? with_own_server() : talk(std::string(argument)));
    } catch (const http::connection_closed& e) {
        fmt::print(stderr, "18_ws_client: closed with {} {}: {}\n", e.code(), e.reason(), e.what());
    } catch (const std::exception& e) {
        fmt::print(stderr, "18_ws_client: {}\n", e.what());
    }
    return 1;
}
