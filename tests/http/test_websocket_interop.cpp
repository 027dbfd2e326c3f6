// corio's WebSocket against peers nobody here wrote: python3-websockets and
// Node's ws library, each as the server for corio's client and as the client
// of corio's server: text, binary, fragmented and 16 MiB messages, pings both
// ways, close codes both ways, compression on and off. A missing peer makes
// its tests Skipped, naming the Debian package.
#include <corio/http/router.hpp>
#include <corio/http/server.hpp>
#include <corio/http/websocket.hpp>
#include <corio/run.hpp>
#include <corio/sleep.hpp>

#include "catch.hpp"
#include "http_fixtures.hpp"
#include "test_support.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using corio_test::run_with_watchdog;
namespace http = corio::http;
namespace fx = corio_test::http_fixtures;

namespace {

// The python3-websockets echo server. Commands: "fragments" → a message sent
// in three fragments; "ping-me" → pings the client, then "pong-ok" once the
// pong came; "close:N" → closes with code N; "last-close?" → the code the
// previous connection was closed with by its client.
constexpr const char* python_server = R"PY(
import asyncio, sys, websockets
last_close = ["none"]
async def handler(ws, path=None):
    try:
        async for m in ws:
            if m == "fragments":
                await ws.send(["frag", "ment", "ed"])
            elif m == "ping-me":
                waiter = await ws.ping(b"from-python")
                await asyncio.wait_for(waiter, 5)
                await ws.send("pong-ok")
            elif isinstance(m, str) and m.startswith("close:"):
                await ws.close(int(m[6:]), "python closes")
            elif m == "last-close?":
                await ws.send(last_close[0])
            else:
                await ws.send(m)
    except websockets.ConnectionClosed:
        pass
    if ws.close_code is not None:
        last_close[0] = str(ws.close_code) + " " + (ws.close_reason or "")
async def main():
    compression = None if sys.argv[2] == "off" else "deflate"
    async with websockets.serve(handler, "127.0.0.1", int(sys.argv[1]), compression=compression,
                                max_size=None, ping_interval=None):
        await asyncio.Future()
asyncio.run(main())
)PY";

// The python3-websockets client of corio's echo server (see corio_echo_routes).
constexpr const char* python_client = R"PY(
import asyncio, sys, websockets
async def main():
    compression = None if sys.argv[2] == "off" else "deflate"
    async with websockets.connect(sys.argv[1], compression=compression, max_size=None,
                                  ping_interval=None) as ws:
        await ws.send("compressed?")
        assert await ws.recv() == ("no" if compression is None else "yes")
        await ws.send("hello"); assert await ws.recv() == "hello"
        await ws.send(b"\x00\x01\xffbinary"); assert await ws.recv() == b"\x00\x01\xffbinary"
        await ws.send(["frag", "ment", "ed"]); assert await ws.recv() == "fragmented"
        await ws.send(["\xce", "\xba\xcf\x83"]); assert await ws.recv() == "\xce\xba\xcf\x83"
        big = bytes(range(256)) * (int(sys.argv[3]) // 256)
        await ws.send(big); assert await ws.recv() == big
        waiter = await ws.ping(b"py-ping"); await asyncio.wait_for(waiter, 5)
        await ws.send("ping-me"); assert await ws.recv() == "pong-ok"
        await ws.send("close:4002")
        try:
            await ws.recv()
            raise AssertionError("not closed")
        except websockets.ConnectionClosed as e:
            assert e.rcvd is not None and e.rcvd.code == 4002, e
            assert e.rcvd.reason == "corio closes", e
    async with websockets.connect(sys.argv[1], compression=compression, max_size=None) as ws:
        await ws.close(4005, "python done")
    print("python client OK")
asyncio.run(main())
)PY";

// Node's ws: the same server and client.
constexpr const char* node_server = R"JS(
const WebSocket = require('/usr/share/nodejs/ws');
const port = parseInt(process.argv[2]);
const server = new WebSocket.Server({ host: '127.0.0.1', port, perMessageDeflate: process.argv[3] !== 'off',
                                      maxPayload: 64 * 1024 * 1024 });
let lastClose = 'none';
server.on('connection', (ws) => {
  ws.on('close', (code, reason) => { lastClose = code + ' ' + reason.toString(); });
  ws.on('message', (data, isBinary) => {
    const text = isBinary ? null : data.toString();
    if (text === 'fragments') {
      ws.send('frag', { fin: false }); ws.send('ment', { fin: false }); ws.send('ed', { fin: true });
    } else if (text === 'ping-me') {
      ws.once('pong', (p) => ws.send(p.toString() === 'from-node' ? 'pong-ok' : 'bad pong'));
      ws.ping('from-node');
    } else if (text !== null && text.startsWith('close:')) {
      ws.close(parseInt(text.slice(6)), 'node closes');
    } else if (text === 'last-close?') {
      ws.send(lastClose);
    } else {
      ws.send(data, { binary: isBinary });
    }
  });
});
)JS";

constexpr const char* node_client = R"JS(
const WebSocket = require('/usr/share/nodejs/ws');
const assert = require('assert');
const compression = process.argv[3] !== 'off';
function fail(e) { console.error('FAIL', e); process.exit(1); }
const ws = new WebSocket(process.argv[2], { perMessageDeflate: compression, maxPayload: 64 * 1024 * 1024 });
const big = Buffer.alloc(parseInt(process.argv[4]));
for (let i = 0; i < 256; i++) big[i] = i;
for (let filled = 256; filled < big.length; filled *= 2) big.copy(big, filled, 0, Math.min(filled, big.length - filled));
const steps = [
  [() => ws.send('compressed?'), (d) => assert.strictEqual(d.toString(), compression ? 'yes' : 'no')],
  [() => ws.send('hello'), (d, b) => { assert.strictEqual(b, false); assert.strictEqual(d.toString(), 'hello'); }],
  [() => ws.send(Buffer.from([0, 1, 255])), (d, b) => { assert.strictEqual(b, true); assert.deepStrictEqual([...d], [0, 1, 255]); }],
  [() => { ws.send('frag', { fin: false }); ws.send('ment', { fin: false }); ws.send('ed', { fin: true }); },
   (d) => assert.strictEqual(d.toString(), 'fragmented')],
  [() => ws.send(big), (d) => assert.ok(Buffer.compare(d, big) === 0)],
  [() => ws.send('ping-me'), (d) => assert.strictEqual(d.toString(), 'pong-ok')],
  [() => ws.send('close:4002'), null],
];
let step = 0;
let pongs = 0;
ws.on('pong', () => { pongs++; });
ws.on('open', () => { ws.ping('node-ping'); steps[0][0](); });
ws.on('message', (data, isBinary) => {
  try { steps[step][1](data, isBinary); } catch (e) { fail(e); }
  step++;
  steps[step][0]();
});
ws.on('close', (code, reason) => {
  try {
    assert.strictEqual(step, steps.length - 1);
    assert.strictEqual(code, 4002);
    assert.strictEqual(reason.toString(), 'corio closes');
    assert.strictEqual(pongs, 1);
  } catch (e) { fail(e); }
  console.log('node client OK');
  process.exit(0);
});
ws.on('error', fail);
)JS";

// corio's echo server for the foreign clients: "compressed?" → yes/no,
// "ping-me" → a ping, then "pong-ok" (the client's pong is taken silently by
// receive()), "close:N" → close(N, "corio closes").
http::router corio_echo_routes(std::optional<std::uint16_t>& client_close_code) {
    http::ws_route_options options;
    options.websocket.max_message_size = 64 * 1024 * 1024;
    http::router r;
    r.websocket(
        "/echo",
        [&client_close_code](http::websocket& socket, http::request&) -> corio::task<void> {
            try {
                for (;;) {
                    http::ws_message m = co_await socket.receive();
                    if (m.data == "compressed?") {
                        co_await socket.send_text(socket.compressed() ? "yes" : "no");
                    } else if (m.data == "ping-me") {
                        co_await socket.ping("from-corio");
                        co_await socket.send_text("pong-ok");
                    } else if (m.is_text() && m.data.rfind("close:", 0) == 0) {
                        co_await socket.close(static_cast<std::uint16_t>(std::stoi(m.data.substr(6))), "corio closes");
                        co_return;
                    } else if (m.is_text()) {
                        co_await socket.send_text(m.data);
                    } else {
                        co_await socket.send_binary(m.data);
                    }
                }
            } catch (const http::connection_closed& e) {
                client_close_code = e.code();
            }
        },
        options);
    return r;
}

// A foreign program run to completion: its exit status and output.
struct program_run {
    int status = -1;
    std::string output;
};

// Runs argv with MALLOC_MMAP_THRESHOLD_ set (python's allocator and ASan
// disagree otherwise), output to a file, polled without blocking the loop.
corio::task<program_run> run_program(std::vector<std::string> argv, std::string output_file,
                                     std::chrono::milliseconds limit) {
    std::vector<std::string> full = {"/usr/bin/env", "MALLOC_MMAP_THRESHOLD_=1048576", "NODE_PATH=/usr/share/nodejs"};
    full.insert(full.end(), argv.begin(), argv.end());
    std::vector<char*> args;
    for (std::string& a : full) {
        args.push_back(a.data());
    }
    args.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
        const int fd = ::open(output_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    program_run result;
    const corio_test::stopwatch clock;
    for (;;) {
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid) {
            result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            break;
        }
        if (clock.elapsed() > limit) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            result.status = -2;
            break;
        }
        co_await corio::sleep(5ms);
    }
    std::ifstream in(output_file);
    std::stringstream text;
    text << in.rdbuf();
    result.output = text.str();
    co_return result;
}

bool python_websockets_available() {
    return ::access("/usr/bin/python3", X_OK) == 0 &&
           std::system("/usr/bin/python3 -c 'import websockets' >/dev/null 2>&1") == 0;
}

bool node_ws_available() {
    return ::access("/usr/share/nodejs/ws", R_OK) == 0 &&
           std::system("node -e \"require('/usr/share/nodejs/ws')\" >/dev/null 2>&1") == 0;
}

std::string node_binary() {
    for (const char* candidate : {"/usr/bin/node", "/usr/bin/nodejs", "/usr/local/bin/node"}) {
        if (::access(candidate, X_OK) == 0) {
            return candidate;
        }
    }
    return "node";
}

// The large message of each session: 16 MiB uncompressed; 1 MiB compressed
// (the peers' zlib time) and under sanitizers (CI time).
std::size_t big_message_size(bool compression) {
    return (compression || corio_test::under_sanitizer ? 1 : 16) * 1024 * 1024;
}

// corio's client against a foreign echo server (started by the caller).
corio::task<void> corio_client_session(std::uint16_t port, bool compression, std::string peer) {
    const std::string url = "ws://127.0.0.1:" + std::to_string(port) + "/";
    http::ws_connect_options options;
    options.websocket.compression.enabled = compression;
    options.websocket.max_message_size = 64 * 1024 * 1024;
    {
        http::websocket client = co_await http::ws_connect(url, options);
        CHECK(client.compressed() == compression);
        co_await client.send_text("hello");
        http::ws_message m = co_await client.receive();
        CHECK(m.is_text());
        CHECK(m.data == "hello");
        co_await client.send_binary(std::string("\x00\x01\xff", 3));
        m = co_await client.receive();
        CHECK(m.is_binary());
        CHECK(m.data == std::string("\x00\x01\xff", 3));
        co_await client.send_text("fragments");
        m = co_await client.receive();
        CHECK(m.data == "fragmented");
        const std::string big = fx::pattern_bytes(big_message_size(compression));
        co_await client.send_binary(big);
        m = co_await client.receive();
        CHECK(m.data.size() == big.size());
        CHECK(m.data == big);
        co_await client.ping("corio-ping");
        co_await client.send_text("ping-me");
        m = co_await client.receive();
        CHECK(m.data == "pong-ok");
        co_await client.send_text("close:4003");
        std::uint16_t code = 0;
        std::string reason;
        try {
            (void)co_await client.receive();
        } catch (const http::connection_closed& e) {
            code = e.code();
            reason = e.reason();
        }
        CHECK(code == 4003);
        CHECK(reason == peer + " closes");
    }
    {
        http::websocket client = co_await http::ws_connect(url, options);
        co_await client.close(4004, "corio done");
    }
    http::websocket client = co_await http::ws_connect(url, options);
    // The peer learns of the earlier connection's end from its own event
    // loop, which may see this connection's message first: ask again until
    // it has (at most 2 s).
    std::string last_close = "none";
    for (int attempt = 0; attempt < 100 && last_close == "none"; ++attempt) {
        if (attempt > 0) {
            co_await corio::sleep(20ms);
        }
        co_await client.send_text("last-close?");
        http::ws_message answer = co_await client.receive();
        last_close = answer.data;
    }
    CHECK(last_close == "4004 corio done");
    co_await client.close();
}

corio::task<void> foreign_client_session(std::vector<std::string> argv_head, bool compression, std::string file,
                                         std::string expected) {
    std::optional<std::uint16_t> client_close;
    http::server server = co_await http::start_server(corio_echo_routes(client_close), "127.0.0.1", 0);
    std::vector<std::string> argv = std::move(argv_head);
    argv.push_back("ws://127.0.0.1:" + std::to_string(server.port()) + "/echo");
    argv.push_back(compression ? "on" : "off");
    argv.push_back(std::to_string(big_message_size(compression)));
    const program_run run = co_await run_program(std::move(argv), std::move(file), 30s);
    INFO(run.output);
    CHECK(run.status == 0);
    CHECK(run.output.find(expected) != std::string::npos);
    // Python's second connection closes with 4005; Node's session ends with our close.
    if (expected.find("python") != std::string::npos) {
        const corio_test::stopwatch clock;
        while (!client_close && clock.elapsed() < 2s) {
            co_await corio::sleep(5ms);
        }
        REQUIRE(client_close);
        CHECK(*client_close == 4005);
    }
    co_await server.shutdown(1s);
}

}  // namespace

TEST_CASE("corio's client against a python3-websockets server", "[websocket][python]") {
    if (!python_websockets_available()) {
        corio_test::skip_test("python3-websockets not installed: apt-get install python3-websockets");
        return;
    }
    fx::temp_dir dir;
    dir.write("server.py", python_server);
    for (const bool compression : {false, true}) {
        INFO("compression " << compression);
        const std::uint16_t port = fx::free_port();
        fx::child_process python({"/usr/bin/env", "MALLOC_MMAP_THRESHOLD_=1048576", "/usr/bin/python3",
                                  (dir.path() / "server.py").string(), std::to_string(port),
                                  compression ? "on" : "off"});
        REQUIRE(fx::wait_for_port(port));
        run_with_watchdog(corio_client_session(port, compression, "python"), 30s);
    }
}

TEST_CASE("a python3-websockets client against corio's server", "[websocket][python]") {
    if (!python_websockets_available()) {
        corio_test::skip_test("python3-websockets not installed: apt-get install python3-websockets");
        return;
    }
    fx::temp_dir dir;
    dir.write("client.py", python_client);
    for (const bool compression : {false, true}) {
        INFO("compression " << compression);
        run_with_watchdog(foreign_client_session({"/usr/bin/python3", (dir.path() / "client.py").string()},
                                                 compression, (dir.path() / "out.txt").string(),
                                                 "python client OK"),
                          40s);
    }
}

TEST_CASE("corio's client against a Node ws server", "[websocket][node]") {
    if (!node_ws_available()) {
        corio_test::skip_test("Node's ws not installed: apt-get install node-ws nodejs");
        return;
    }
    fx::temp_dir dir;
    dir.write("server.js", node_server);
    for (const bool compression : {false, true}) {
        INFO("compression " << compression);
        const std::uint16_t port = fx::free_port();
        fx::child_process node({node_binary(), (dir.path() / "server.js").string(), std::to_string(port),
                                compression ? "on" : "off"});
        REQUIRE(fx::wait_for_port(port));
        run_with_watchdog(corio_client_session(port, compression, "node"), 30s);
    }
}

TEST_CASE("a Node ws client against corio's server", "[websocket][node]") {
    if (!node_ws_available()) {
        corio_test::skip_test("Node's ws not installed: apt-get install node-ws nodejs");
        return;
    }
    fx::temp_dir dir;
    dir.write("client.js", node_client);
    for (const bool compression : {false, true}) {
        INFO("compression " << compression);
        run_with_watchdog(foreign_client_session({node_binary(), (dir.path() / "client.js").string()}, compression,
                                                 (dir.path() / "out.txt").string(), "node client OK"),
                          40s);
    }
}
