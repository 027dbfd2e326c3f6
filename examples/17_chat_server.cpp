// 17_chat_server: a WebSocket chat room ("real-time applications").
//
// GET / serves a page with a little JavaScript; its WebSocket at /ws joins the
// room. Every message goes to every member, each through its own bounded
// queue drained by its own writer task, so one slow member never holds up
// the others: a member whose queue is full is dropped (Close 1008). Joins
// and leaves are announced. Plain HTTP routes keep working on the same port.
//
//   17_chat_server           serve http://127.0.0.1:8080 until Ctrl-C (open it in two tabs)
//   17_chat_server --port N  the same on port N (0: a free one, printed)
//   17_chat_server --quick   serve on a free port; two clients chat, a third never reads and is dropped

#include <corio/corio.hpp>
#include <corio/http/router.hpp>
#include <corio/http/server.hpp>
#include <corio/http/websocket.hpp>
#include <corio/sync/queue.hpp>

#include <fmt/core.h>

#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <list>
#include <memory>
#include <string>
#include <string_view>

using namespace std::chrono_literals;
namespace http = corio::http;

namespace {

constexpr std::string_view page = R"HTML(<!doctype html>
<html><head><meta charset="utf-8"><title>corio chat</title>
<style>body{font-family:sans-serif;max-width:40em;margin:2em auto}#log{border:1px solid #ccc;height:20em;overflow-y:auto;padding:.5em}
.note{color:#777}</style></head>
<body><h1>corio chat</h1>
<div id="log"></div>
<form id="form"><input id="text" autocomplete="off" size="50" autofocus> <button>Send</button></form>
<script>
const name = prompt("Your name?") || "guest";
const ws = new WebSocket(`ws://${location.host}/ws?name=${encodeURIComponent(name)}`);
const log = document.getElementById("log");
function show(text, note) {
  const line = document.createElement("div");
  line.textContent = text;
  if (note) line.className = "note";
  log.appendChild(line);
  log.scrollTop = log.scrollHeight;
}
ws.onmessage = (e) => show(e.data, e.data.startsWith("* "));
ws.onclose = (e) => show(`* disconnected (${e.code} ${e.reason})`, true);
document.getElementById("form").onsubmit = (e) => {
  e.preventDefault();
  const input = document.getElementById("text");
  if (input.value) ws.send(input.value);
  input.value = "";
};
</script></body></html>
)HTML";

// One member of the room: its name, its connection and the queue its writer drains.
struct member {
    std::string name;
    http::websocket* ws;
    corio::queue<std::string> outbox;
    bool dropped = false;
    member(std::string n, http::websocket& w, std::size_t bound) : name(std::move(n)), ws(&w), outbox(bound) {}
};

class chat_room {
public:
    explicit chat_room(std::size_t queue_bound) : m_queue_bound(queue_bound) {}

    /// Sends `text` to every member without waiting: a member whose queue is
    /// full is too slow and is dropped. Its writer is stuck in a send to a
    /// full socket then, so no Close frame could get through: the TCP
    /// connection is cut, and its reader announces the leave.
    void broadcast(const std::string& text) {
        for (member* m : m_members) {
            if (m->dropped) {
                continue;
            }
            if (!m->outbox.try_put(text)) {
                m->dropped = true;
                m->outbox.close();
                m->ws->abort();
                fmt::print("[room] {} is too slow: dropped\n", m->name);
            }
        }
    }

    /// One WebSocket connection of the room, from join to leave.
    corio::task<void> serve(http::websocket& ws, http::request& request) {
        std::string name = "guest-" + std::to_string(++m_guests);
        const std::string_view query = request.query();
        if (query.starts_with("name=") && query.size() > 5) {
            name = http::percent_decode(query.substr(5));
        }
        member self(name, ws, m_queue_bound);
        m_members.push_back(&self);
        broadcast("* " + name + " joined (" + std::to_string(m_members.size()) + " here)");
        corio::task_handle<void> writer = corio::create_task(write_loop(ws, self));
        try {
            while (auto message = co_await ws.next()) {
                if (message->is_text()) {
                    broadcast(name + ": " + message->data);
                }
            }
        } catch (const http::connection_closed&) {
            // Lost, or cut off for being slow: either way, gone.
        }
        m_members.remove(&self);
        broadcast("* " + name + " left");
        writer.cancel();
        try {
            co_await writer;
        } catch (const corio::cancelled_error&) {
        }
    }

    [[nodiscard]] std::size_t size() const noexcept { return m_members.size(); }

private:
    static corio::task<void> write_loop(http::websocket& ws, member& self) {
        try {
            for (;;) {
                std::string text = co_await self.outbox.get();
                co_await ws.send_text(text);
            }
        } catch (const corio::queue_closed&) {
        } catch (const http::connection_closed&) {
        }
    }

    std::list<member*> m_members;
    std::size_t m_queue_bound;
    unsigned m_guests = 0;
};

http::router make_routes(chat_room& room) {
    http::router routes;
    routes.get("/", [](http::request&) -> corio::task<http::response> {
        co_return http::text_response(200, std::string(page), "text/html; charset=utf-8");
    });
    http::ws_route_options options;
    options.websocket.close_timeout = 1s;
    options.websocket.heartbeat = 30s;  // browsers that vanish are noticed
    routes.websocket(
        "/ws", [&room](http::websocket& ws, http::request& r) { return room.serve(ws, r); }, options);
    return routes;
}

corio::task<int> quick_demo() {
    chat_room room(8);
    auto server = co_await http::start_server(make_routes(room), "127.0.0.1", 0);
    fmt::print("serving on http://127.0.0.1:{}\n", server.port());
    const std::uint16_t port = server.port();
    // Uncompressed, so the flood below really fills the sleeper's socket buffers.
    http::ws_connect_options plain;
    plain.websocket.compression.enabled = false;

    // A member that never reads: once the socket buffers fill, its queue of 8 does, and it is dropped.
    http::websocket sleeper = co_await http::ws_connect(fmt::format("ws://127.0.0.1:{}/ws?name=sleeper", port), plain);
    co_await corio::sleep(20ms);
    http::websocket alice = co_await http::ws_connect(fmt::format("ws://127.0.0.1:{}/ws?name=alice", port), plain);
    http::ws_message m = co_await alice.receive();  // her own join: she is in the room now
    fmt::print("  alice sees: {}\n", m.data);
    http::websocket bob = co_await http::ws_connect(fmt::format("ws://127.0.0.1:{}/ws?name=bob", port), plain);
    m = co_await bob.receive();
    fmt::print("  bob sees: {}\n", m.data);
    m = co_await alice.receive();
    fmt::print("  alice sees: {}\n", m.data);
    co_await alice.send_text("hello bob");
    co_await bob.send_text("hi alice");
    for (int i = 0; i < 2; ++i) {
        m = co_await alice.receive();
        fmt::print("  alice sees: {}\n", m.data);
        m = co_await bob.receive();
        fmt::print("  bob sees: {}\n", m.data);
    }

    // alice floods the room with 256 KiB lines; bob keeps reading, sleeper
    // does not. (Loopback socket buffers can take tens of MiB first.)
    const std::string bulk(256 * 1024, 'x');
    int bulk_seen = 0;
    bool sleeper_dropped = false;
    for (int i = 0; i < 1000 && !sleeper_dropped; ++i) {
        co_await alice.send_text(bulk);
        for (;;) {
            m = co_await bob.receive();
            if (m.data.size() > bulk.size()) {  // "alice: " + bulk
                ++bulk_seen;
                break;
            }
            fmt::print("  bob sees: {}\n", m.data);
            sleeper_dropped = sleeper_dropped || m.data == "* sleeper left";
        }
        m = co_await alice.receive();
    }
    fmt::print("bob read {} bulk lines; sleeper dropped: {}\n", bulk_seen, sleeper_dropped ? "yes" : "no");
    sleeper.abort();
    co_await bob.close();
    do {
        m = co_await alice.receive();  // skipping her backlog of bulk lines
    } while (!m.data.starts_with("* bob"));
    fmt::print("  alice sees: {}\n", m.data);
    co_await alice.close();
    co_await server.shutdown(1s);
    co_return sleeper_dropped ? 0 : 1;
}

corio::task<int> serve(std::uint16_t port) {
    chat_room room(256);
    auto server = co_await http::start_server(make_routes(room), "127.0.0.1", port);
    fmt::print("chat on http://127.0.0.1:{} (open it in two tabs); Ctrl-C stops\n", server.port());
    std::fflush(stdout);  // a test reads the port from a pipe
    corio::event_loop& loop = corio::get_running_loop();
    loop.add_signal_handler(SIGINT, [&server] { server.close(); });
    loop.add_signal_handler(SIGTERM, [&server] { server.close(); });
    co_await server.serve_forever();
    co_await server.shutdown(2s);
    co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const bool quick = argc > 1 && std::string_view(argv[1]) == "--quick";
    std::uint16_t port = 8080;
    if (argc > 2 && std::string_view(argv[1]) == "--port") {
        port = static_cast<std::uint16_t>(std::strtoul(argv[2], nullptr, 10));
    }
    try {
        return corio::run(quick ? quick_demo() : serve(port));
    } catch (const std::exception& error) {
        fmt::print(stderr, "17_chat_server: {}\n", error.what());
        return 1;
    }
}
