// The server side of the browser check (tests/browser/test_browser.py): a
// corio::web app that a headless Chromium talks to with its own EventSource,
// WebSocket and the /docs page's fetch — clients corio did not write.
//
//   browser_app          serves on 127.0.0.1 (a free port, printed as
//                        "port N"), until SIGTERM or SIGINT
//
// GET /          a page whose script reads three SSE events, then echoes a
//                text and a binary message over a WebSocket, and writes what
//                it saw into #sse and #ws
// GET /events    an event stream (tick n=0, n=1, ... every 50 ms, without end)
// GET /stats     {"events_cancelled": N}: streams ended by their client
// WS  /ws        echoes text as "echo: <text>" and binary as it is
// GET /items/{item_id}, /docs, /openapi.json   for the docs page
#include <corio/generator.hpp>
#include <corio/sleep.hpp>
#include <corio/web.hpp>
#include <corio/web/json_implementation.hpp>

#include <boost/describe.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

namespace http = corio::http;
namespace web = corio::web;

namespace {

struct item {
    int id = 0;
    std::string name;
};
BOOST_DESCRIBE_STRUCT(item, (), (id, name))

std::atomic<int> events_cancelled{0};

corio::async_generator<web::sse_event> ticks() {
    try {
        for (int i = 0; i < 100'000; ++i) {
            web::sse_event e{.data = "n=" + std::to_string(i), .event = "tick", .id = std::to_string(i)};
            co_yield std::move(e);
            co_await corio::sleep(std::chrono::milliseconds(50));
        }
    } catch (const corio::cancelled_error&) {
        ++events_cancelled;
        throw;
    }
}

constexpr const char* page = R"(<!doctype html>
<html><head><meta charset="utf-8"><title>corio browser check</title></head>
<body><pre id="sse">waiting</pre><pre id="ws">waiting</pre>
<script>
const show = (id, text) => { document.getElementById(id).textContent = text; };
const seen = [];
const source = new EventSource("/events");
source.addEventListener("tick", e => {
  seen.push(e.data + "#" + e.lastEventId);
  if (seen.length === 3) {
    source.close();
    show("sse", seen.join(","));
    talk();
  }
});
source.onerror = () => { if (seen.length < 3) show("sse", "error after " + seen.length + " events"); };
function talk() {
  const got = [];
  const ws = new WebSocket("ws://" + location.host + "/ws");
  ws.binaryType = "arraybuffer";
  ws.onopen = () => { ws.send("hello browser"); ws.send(new Uint8Array([1, 2, 3])); };
  ws.onmessage = e => {
    got.push(typeof e.data === "string" ? e.data : "bin:" + Array.from(new Uint8Array(e.data)).join("."));
    if (got.length === 2) ws.close(1000, "done");
  };
  ws.onclose = e => show("ws", got.join("|") + " close " + e.code + " " + ws.extensions);
}
</script></body></html>
)";

}  // namespace

int main() {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    web::app app;
    app.get("/", [] { return web::html_response(page); });
    app.get("/events", [] {
        return web::sse_response(ticks(), {.keep_alive = std::chrono::milliseconds(1000)});
    });
    app.get("/stats", [] { return http::json_response("{\"events_cancelled\":" + std::to_string(events_cancelled.load()) + "}"); });
    app.get("/items/{item_id}", [](int item_id) { return item{item_id, "item " + std::to_string(item_id)}; });
    app.websocket("/ws", [](http::websocket& ws, http::request&) -> corio::task<void> {
        for (;;) {
            std::optional<http::ws_message> m = co_await ws.next();
            if (!m) {
                co_return;
            }
            if (m->is_text()) {
                co_await ws.send_text("echo: " + m->data);
            } else {
                co_await ws.send_binary(m->data);
            }
        }
    });
    app.enable_docs("corio browser check", "1.0");
    web::run_options options;
    options.on_ready = [](std::uint16_t port) { std::printf("port %u\n", static_cast<unsigned>(port)); };
    options.grace = std::chrono::milliseconds(500);
    app.run("127.0.0.1", 0, std::move(options));
    return 0;
}
