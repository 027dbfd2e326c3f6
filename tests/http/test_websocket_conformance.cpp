// A conformance suite for corio's WebSocket, modelled on the Autobahn
// testsuite's case catalogue (framing, ping/pong, reserved bits, opcodes,
// fragmentation, UTF-8, close handling, limits, permessage-deflate): a raw
// client sends the exact bytes of each case to corio's server and checks the
// required outcome (echo, pong, Close with the right code); a raw server
// does the same to corio's client. The case descriptions are facts from
// RFC 6455 / 7692; the code is ours.
#include <corio/combinators.hpp>
#include <corio/http/router.hpp>
#include <corio/http/server.hpp>
#include <corio/http/websocket.hpp>
#include <corio/net.hpp>
#include <corio/run.hpp>
#include <corio/sleep.hpp>

#include "catch.hpp"
#include "test_support.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using corio_test::run_with_watchdog;
namespace http = corio::http;
namespace ws = corio::detail::ws;

namespace {

// One frame's bytes: `first` is the first header byte (FIN, RSV, opcode).
std::string frame(unsigned first, std::string_view payload, bool masked = true) {
    ws::frame_header h;
    h.fin = (first & 0x80) != 0;
    h.rsv1 = (first & 0x40) != 0;
    h.rsv2 = (first & 0x20) != 0;
    h.rsv3 = (first & 0x10) != 0;
    h.length = payload.size();
    h.masked = masked;
    h.mask = {0x37, 0xfa, 0x21, 0x3d};
    unsigned char head[ws::max_header_size];
    std::size_t size = ws::write_header(h, head);
    head[0] = static_cast<unsigned char>(first);  // any opcode, even an unknown one
    std::string out(reinterpret_cast<const char*>(head), size);
    std::string body(payload);
    if (masked) {
        ws::apply_mask(reinterpret_cast<unsigned char*>(body.data()), body.size(), h.mask, 0);
    }
    return out + body;
}

std::string close_payload(std::uint16_t code, std::string_view reason = {}) {
    std::string p;
    p += static_cast<char>(code >> 8);
    p += static_cast<char>(code & 0xFF);
    p += reason;
    return p;
}

constexpr unsigned fin = 0x80;
constexpr unsigned text_op = 0x1;
constexpr unsigned binary_op = 0x2;
constexpr unsigned close_op = 0x8;
constexpr unsigned ping_op = 0x9;
constexpr unsigned pong_op = 0xA;

struct received_frame {
    unsigned op = 0;
    bool rsv1 = false;
    bool fin = true;
    std::string payload;
};

// A raw peer over TCP: bytes out exactly as given, frames in as they come.
struct raw_peer {
    corio::tcp_stream stream;
    std::string in;
    bool masked_input = false;  // a raw server reads masked frames

    corio::task<void> send(std::string bytes) { co_await stream.write(std::string_view(bytes)); }

    // The next frame, or nullopt at end of stream (or a reset).
    corio::task<std::optional<received_frame>> next() {
        for (;;) {
            ws::frame_header h;
            const ws::header_result r =
                ws::parse_header(reinterpret_cast<const unsigned char*>(in.data()), in.size(), h);
            if (r.size != 0 && in.size() >= r.size + h.length) {
                received_frame f;
                f.op = static_cast<unsigned>(h.op);
                f.rsv1 = h.rsv1;
                f.fin = h.fin;
                f.payload = in.substr(r.size, static_cast<std::size_t>(h.length));
                if (h.masked) {
                    ws::apply_mask(reinterpret_cast<unsigned char*>(f.payload.data()), f.payload.size(), h.mask, 0);
                }
                in.erase(0, r.size + static_cast<std::size_t>(h.length));
                co_return f;
            }
            std::string more;
            try {
                more = co_await stream.read(64 * 1024);
            } catch (const std::system_error&) {
            }
            if (more.empty()) {
                co_return std::nullopt;
            }
            in += more;
        }
    }

    // Reads until end of stream (true) or `limit` passes (false).
    corio::task<bool> ends_within(std::chrono::milliseconds limit) {
        bool ended = false;
        try {
            co_await corio::wait_for(drain(), limit);
            ended = true;
        } catch (const corio::timeout_error&) {
        }
        co_return ended;
    }

    corio::task<void> drain() {
        for (;;) {
            std::string more;
            try {
                more = co_await stream.read(64 * 1024);
            } catch (const std::system_error&) {
            }
            if (more.empty()) {
                co_return;
            }
        }
    }
};

// (No default arguments on these coroutines: g++ 12 corrupts a defaulted
// std::string argument of a call that is the operand of co_await.)
corio::task<raw_peer> raw_connect(std::uint16_t port, std::string path, std::string extra_headers) {
    corio::tcp_stream connected = co_await corio::open_connection("127.0.0.1", port);
    raw_peer peer{std::move(connected), {}, false};
    std::string request = "GET " + path +
                          " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
                          extra_headers + "\r\n";
    co_await peer.stream.write(std::string_view(request));
    std::string head = co_await peer.stream.read_until("\r\n\r\n", 16 * 1024);
    REQUIRE(head.rfind("HTTP/1.1 101 ", 0) == 0);
    REQUIRE(head.find("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") != std::string::npos);
    co_return peer;
}

// What the server must do in answer to a case's bytes.
struct expect {
    enum class kind { echo, pong, close, close_no_code };
    kind what;
    unsigned op = 0;  // echo: the opcode
    std::string payload{};
    std::uint16_t code = 0;
};

expect echo(unsigned op, std::string payload) { return {expect::kind::echo, op, std::move(payload), 0}; }
expect pong(std::string payload) { return {expect::kind::pong, 0, std::move(payload), 0}; }
expect closes(std::uint16_t code) { return {expect::kind::close, 0, {}, code}; }

struct server_case {
    std::string name;
    std::vector<std::string> writes;  // each written separately
    std::vector<expect> outcome;
};

// The echo server every case runs against (max_message_size 64 KiB + 100).
http::router conformance_routes() {
    http::ws_route_options options;
    options.websocket.max_message_size = 65536 + 100;
    options.websocket.close_timeout = 500ms;
    http::router r;
    r.websocket(
        "/echo",
        [](http::websocket& socket, http::request&) -> corio::task<void> {
            for (;;) {
                http::ws_message m = co_await socket.receive();
                if (m.is_text()) {
                    co_await socket.send_text(m.data);
                } else {
                    co_await socket.send_binary(m.data);
                }
            }
        },
        options);
    return r;
}

corio::task<void> run_server_case(std::uint16_t port, const server_case& c, std::string extra_headers) {
    INFO("case: " << c.name);
    raw_peer peer = co_await raw_connect(port, "/echo", std::move(extra_headers));
    for (const std::string& bytes : c.writes) {
        co_await peer.send(bytes);
    }
    for (const expect& e : c.outcome) {
        std::optional<received_frame> f = co_await peer.next();
        REQUIRE(f);
        switch (e.what) {
            case expect::kind::echo:
                CHECK(f->op == e.op);
                CHECK(f->payload == e.payload);
                break;
            case expect::kind::pong:
                CHECK(f->op == pong_op);
                CHECK(f->payload == e.payload);
                break;
            case expect::kind::close:
                REQUIRE(f->op == close_op);
                REQUIRE(f->payload.size() >= 2);
                CHECK((static_cast<unsigned char>(f->payload[0]) << 8 | static_cast<unsigned char>(f->payload[1])) ==
                      e.code);
                break;
            case expect::kind::close_no_code:
                CHECK(f->op == close_op);
                CHECK(f->payload.empty());
                break;
        }
        if (e.what == expect::kind::close || e.what == expect::kind::close_no_code) {
            // A close ends the exchange: answer it (if the peer started) and see TCP end.
            co_await peer.send(frame(fin | close_op, close_payload(1000)));
            const bool ended = co_await peer.ends_within(2s);
            CHECK(ended);
        }
    }
    // Nothing unexpected follows: close normally and expect only the Close answer.
    if (c.outcome.empty() || (c.outcome.back().what != expect::kind::close &&
                              c.outcome.back().what != expect::kind::close_no_code)) {
        co_await peer.send(frame(fin | close_op, close_payload(1000)));
        std::optional<received_frame> f = co_await peer.next();
        REQUIRE(f);
        CHECK(f->op == close_op);
        const bool ended = co_await peer.ends_within(2s);
        CHECK(ended);
    }
}

corio::task<void> run_server_cases(const std::vector<server_case>& cases, std::string extra_headers) {
    http::server server = co_await http::start_server(conformance_routes(), "127.0.0.1", 0);
    for (const server_case& c : cases) {
        co_await run_server_case(server.port(), c, extra_headers);
    }
    co_await server.shutdown(1s);
}

}  // namespace

TEST_CASE("framing: text and binary of every length encoding are echoed", "[websocket]") {
    std::vector<server_case> cases;
    for (const std::size_t length : {0u, 1u, 125u, 126u, 127u, 65535u, 65536u}) {
        const std::string text(length, 'x');
        cases.push_back({"text " + std::to_string(length), {frame(fin | text_op, text)}, {echo(text_op, text)}});
        const std::string bin = corio_test::pattern(length, 4);
        cases.push_back({"binary " + std::to_string(length), {frame(fin | binary_op, bin)}, {echo(binary_op, bin)}});
    }
    // A frame written one byte at a time, and several frames in one write.
    std::vector<std::string> bytes;
    for (const char b : frame(fin | text_op, "Hello, world")) {
        bytes.emplace_back(1, b);
    }
    cases.push_back({"one byte per write", bytes, {echo(text_op, "Hello, world")}});
    cases.push_back({"three frames in one write",
                     {frame(fin | text_op, "a") + frame(fin | binary_op, "b") + frame(fin | text_op, "c")},
                     {echo(text_op, "a"), echo(binary_op, "b"), echo(text_op, "c")}});
    cases.push_back({"an unmasked client frame", {frame(fin | text_op, "x", false)}, {closes(1002)}});
    run_with_watchdog(run_server_cases(cases, ""), 10s);
}

TEST_CASE("ping and pong: pings answered with their payload, pongs taken silently", "[websocket]") {
    const std::string p125 = corio_test::pattern(125, 8);
    std::vector<server_case> cases = {
        {"empty ping", {frame(fin | ping_op, "")}, {pong("")}},
        {"ping 125 bytes", {frame(fin | ping_op, p125)}, {pong(p125)}},
        {"ping 126 bytes", {frame(fin | ping_op, p125 + "x")}, {closes(1002)}},
        {"unsolicited pong", {frame(fin | pong_op, "unasked"), frame(fin | text_op, "after")}, {echo(text_op, "after")}},
        {"ten pings", {}, {}},
    };
    for (int i = 0; i < 10; ++i) {
        cases.back().writes.push_back(frame(fin | ping_op, "ping " + std::to_string(i)));
        cases.back().outcome.push_back(pong("ping " + std::to_string(i)));
    }
    run_with_watchdog(run_server_cases(cases, ""), 10s);
}

TEST_CASE("reserved bits and opcodes without an extension close with 1002", "[websocket]") {
    std::vector<server_case> cases = {
        {"RSV1 on text", {frame(fin | 0x40 | text_op, "x")}, {closes(1002)}},
        {"RSV2 on text after a good message",
         {frame(fin | text_op, "good"), frame(fin | 0x20 | text_op, "x")},
         {echo(text_op, "good"), closes(1002)}},
        {"RSV3 on binary", {frame(fin | 0x10 | binary_op, "x")}, {closes(1002)}},
        {"RSV1+2+3 on ping", {frame(fin | 0x70 | ping_op, "x")}, {closes(1002)}},
    };
    for (const unsigned op : {3u, 4u, 5u, 6u, 7u, 0xBu, 0xCu, 0xDu, 0xEu, 0xFu}) {
        cases.push_back({"opcode " + std::to_string(op), {frame(fin | op, "")}, {closes(1002)}});
    }
    cases.push_back({"opcode 5 with payload after a good message",
                     {frame(fin | text_op, "good"), frame(fin | 5, "payload")},
                     {echo(text_op, "good"), closes(1002)}});
    run_with_watchdog(run_server_cases(cases, ""), 10s);
}

TEST_CASE("fragmentation: fragments joined, control frames interleaved, bad sequences refused", "[websocket]") {
    std::vector<server_case> cases = {
        {"two fragments", {frame(text_op, "frag"), frame(fin | 0x0, "ment")}, {echo(text_op, "fragment")}},
        {"three fragments with a ping between",
         {frame(binary_op, "a"), frame(fin | ping_op, "p"), frame(0x0, "b"), frame(fin | 0x0, "c")},
         {pong("p"), echo(binary_op, "abc")}},
        {"empty fragments", {frame(text_op, ""), frame(0x0, ""), frame(fin | 0x0, "")}, {echo(text_op, "")}},
        {"fragmented ping", {frame(ping_op, "a"), frame(fin | 0x0, "b")}, {closes(1002)}},
        {"fragmented close", {frame(close_op, close_payload(1000))}, {closes(1002)}},
        {"continuation with nothing to continue", {frame(fin | 0x0, "x")}, {closes(1002)}},
        {"continuation (not final) with nothing to continue", {frame(0x0, "x")}, {closes(1002)}},
        {"a new message inside a fragmented one", {frame(text_op, "a"), frame(fin | text_op, "b")}, {closes(1002)}},
        {"many small fragments", {}, {}},
    };
    std::string all;
    cases.back().writes.push_back(frame(text_op, "0"));
    all += "0";
    for (int i = 1; i < 100; ++i) {
        cases.back().writes.push_back(frame(i == 99 ? fin : 0u, std::to_string(i % 10)));
        all += std::to_string(i % 10);
    }
    cases.back().outcome.push_back(echo(text_op, all));
    run_with_watchdog(run_server_cases(cases, ""), 10s);
}

TEST_CASE("UTF-8: text validated whole and across fragments, failing fast with 1007", "[websocket]") {
    const std::string kosme = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";
    std::vector<server_case> cases = {
        {"valid in one frame", {frame(fin | text_op, kosme)}, {echo(text_op, kosme)}},
        {"valid split inside a character",
         {frame(text_op, kosme.substr(0, 3)), frame(fin | 0x0, kosme.substr(3))},
         {echo(text_op, kosme)}},
        {"valid split at every byte", {}, {echo(text_op, kosme)}},
        {"0xFF", {frame(fin | text_op, "a\xff")}, {closes(1007)}},
        {"a surrogate", {frame(fin | text_op, "\xed\xa0\x80")}, {closes(1007)}},
        {"overlong slash", {frame(fin | text_op, "\xc0\xaf")}, {closes(1007)}},
        {"past U+10FFFF", {frame(fin | text_op, "\xf4\x90\x80\x80")}, {closes(1007)}},
        {"cut at the end of the message", {frame(fin | text_op, "ok\xce")}, {closes(1007)}},
        // The first fragment is already invalid: refused before the rest arrives.
        {"invalid first fragment, rest never sent", {frame(text_op, "bad\xff")}, {closes(1007)}},
        {"binary is not checked", {frame(fin | binary_op, "\xff\xfe")}, {echo(binary_op, "\xff\xfe")}},
    };
    for (std::size_t i = 0; i < kosme.size(); ++i) {
        cases[2].writes.push_back(frame((i == 0 ? text_op : 0u) | (i + 1 == kosme.size() ? fin : 0u), kosme.substr(i, 1)));
    }
    run_with_watchdog(run_server_cases(cases, ""), 10s);
}

TEST_CASE("close handling: codes echoed, bad codes and payloads refused, nothing after Close", "[websocket]") {
    std::vector<server_case> cases = {
        {"close without payload",
         {frame(fin | close_op, "")},
         {{expect::kind::close_no_code, 0, {}, 0}}},
        {"close with a 1-byte payload", {frame(fin | close_op, "x")}, {closes(1002)}},
        {"close with a reason", {frame(fin | close_op, close_payload(1000, "bye now"))}, {closes(1000)}},
        {"close reason not UTF-8", {frame(fin | close_op, close_payload(1000, "\xff"))}, {closes(1007)}},
        {"close 125 bytes", {frame(fin | close_op, close_payload(1000, std::string(123, 'r')))}, {closes(1000)}},
        {"text after close is ignored",
         {frame(fin | close_op, close_payload(1000)) + frame(fin | text_op, "late") + frame(fin | ping_op, "late")},
         {closes(1000)}},
    };
    for (const std::uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999}) {
        cases.push_back({"valid code " + std::to_string(code), {frame(fin | close_op, close_payload(code))}, {closes(code)}});
    }
    for (const std::uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
        cases.push_back(
            {"invalid code " + std::to_string(code), {frame(fin | close_op, close_payload(code))}, {closes(1002)}});
    }
    run_with_watchdog(run_server_cases(cases, ""), 15s);
}

TEST_CASE("limits: a message over max_message_size closes with 1009, whole or fragmented", "[websocket]") {
    const std::string most(65536 + 100, 'm');
    std::vector<server_case> cases = {
        {"at the limit", {frame(fin | binary_op, most)}, {echo(binary_op, most)}},
        {"one byte over", {frame(fin | binary_op, most + "!")}, {closes(1009)}},
        {"over in fragments", {frame(binary_op, most), frame(fin | 0x0, "!")}, {closes(1009)}},
        // A header announcing 2^62 bytes is refused at once, without waiting for them.
        {"huge announced length", {std::string("\x82\xff\x40\x00\x00\x00\x00\x00\x00\x00\x01\x02\x03\x04", 14)}, {closes(1009)}},
        {"length with its top bit set", {std::string("\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00\x01\x02\x03\x04", 14)}, {closes(1002)}},
    };
    run_with_watchdog(run_server_cases(cases, ""), 10s);
}

TEST_CASE("permessage-deflate: compressed messages inflate, bad compressed frames are refused", "[websocket]") {
#if defined(CORIO_WITH_ZLIB)
    const auto deflated = [](std::string_view text) {
        ws::deflater d(15, true);
        std::string out;
        d.compress(text, out);
        return out;
    };
    const std::string hello = "Hello, compressed world! Hello, compressed world!";
    const std::string packed = deflated(hello);
    std::vector<server_case> cases = {
        {"compressed text", {frame(fin | 0x40 | text_op, packed)}, {}},
        {"compressed in two fragments",
         {frame(0x40 | text_op, packed.substr(0, 5)), frame(fin | 0x0, packed.substr(5))},
         {}},
        {"RSV1 on a continuation", {frame(text_op | 0x40, packed.substr(0, 5)), frame(fin | 0x40, packed.substr(5))},
         {closes(1002)}},
        {"RSV1 on a ping", {frame(fin | 0x40 | ping_op, "")}, {closes(1002)}},
        {"corrupt compressed data", {frame(fin | 0x40 | binary_op, "\xff\xff\xff\xff")}, {closes(1007)}},
        {"a deflate bomb", {frame(fin | 0x40 | binary_op, deflated(std::string(10 * 1024 * 1024, 'a')))}, {closes(1009)}},
        {"compressed invalid UTF-8", {frame(fin | 0x40 | text_op, deflated("a\xff"))}, {closes(1007)}},
        {"uncompressed message on a compressed connection", {frame(fin | text_op, "plain")}, {echo(text_op, "plain")}},
    };
    run_with_watchdog([](std::vector<server_case> all, std::string hello_text) -> corio::task<void> {
        http::server server = co_await http::start_server(conformance_routes(), "127.0.0.1", 0);
        const std::string offer = "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n";
        // The compressed echoes: the answer has RSV1 and inflates back.
        for (std::size_t i = 0; i < 2; ++i) {
            INFO("case: " << all[i].name);
            raw_peer peer = co_await raw_connect(server.port(), "/echo", offer);
            for (const std::string& bytes : all[i].writes) {
                co_await peer.send(bytes);
            }
            std::optional<received_frame> f = co_await peer.next();
            REQUIRE(f);
            CHECK(f->rsv1);
            ws::inflater inflate(15, false);
            std::string back;
            CHECK(inflate.decompress(f->payload, back, 1 << 20) == ws::inflater::result::ok);
            CHECK(back == hello_text);
        }
        for (std::size_t i = 2; i < all.size(); ++i) {
            co_await run_server_case(server.port(), all[i], offer);
        }
        co_await server.shutdown(1s);
    }(std::move(cases), hello), 10s);
#else
    corio_test::skip_test("zlib not found: apt-get install zlib1g-dev");
#endif
}

// ---------------------------------------------------------------------------
// A raw server for corio's client.

namespace {

using scenario = std::function<corio::task<void>(raw_peer&)>;
using task_of_message = corio::task<http::ws_message>;

// Accepts one connection, answers the handshake (or sends `answer` instead
// when given), then runs `script` on the raw connection.
corio::task<void> raw_serve(corio::tcp_stream stream, scenario script, std::string answer) {
    raw_peer peer{std::move(stream), {}, true};
    std::string head = co_await peer.stream.read_until("\r\n\r\n", 16 * 1024);
    const std::size_t at = head.find("Sec-WebSocket-Key: ");
    REQUIRE(at != std::string::npos);
    const std::string key = head.substr(at + 19, 24);
    if (answer.empty()) {
        answer = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: " + corio::detail::websocket_accept_key(key) + "\r\n\r\n";
    }
    co_await peer.stream.write(std::string_view(answer));
    co_await script(peer);
}

corio::task<corio::tcp_server> start_raw_server(scenario script, std::string answer) {
    auto handler = [script, answer](corio::tcp_stream s) { return raw_serve(std::move(s), script, answer); };
    co_return co_await corio::start_server(handler, "127.0.0.1", 0);
}

http::ws_connect_options quick_options() {
    http::ws_connect_options o;
    o.websocket.close_timeout = 300ms;
    o.websocket.compression.enabled = false;
    return o;
}

corio::task<std::uint16_t> closed_code(http::websocket& client) {
    std::uint16_t code = 0;
    try {
        (void)co_await client.receive();
    } catch (const http::connection_closed& e) {
        code = e.code();
    }
    co_return code;
}

}  // namespace

TEST_CASE("client: fragments with an interleaved ping are joined and the ping answered", "[websocket]") {
    run_with_watchdog([]() -> corio::task<void> {
        std::optional<received_frame> pong_frame;
        const std::string no_answer;
        scenario script = [&pong_frame](raw_peer& peer) -> corio::task<void> {
            co_await peer.send(frame(text_op, "Hel", false) + frame(fin | ping_op, "beat", false) +
                               frame(0x0, "lo ", false) + frame(fin | 0x0, "there", false));
            pong_frame = co_await peer.next();
            co_await peer.send(frame(fin | close_op, close_payload(1000), false));
            (void)co_await peer.next();  // the client's Close
        };
        corio::tcp_server server = co_await start_raw_server(script, no_answer);
        http::websocket client =
            co_await http::ws_connect("ws://127.0.0.1:" + std::to_string(server.port()) + "/", quick_options());
        http::ws_message m = co_await client.receive();
        CHECK(m.data == "Hello there");
        const std::uint16_t code = co_await closed_code(client);
        CHECK(code == 1000);
        REQUIRE(pong_frame);
        CHECK(pong_frame->op == pong_op);
        CHECK(pong_frame->payload == "beat");
    }());
}

TEST_CASE("client: server protocol violations close with the right code", "[websocket]") {
    struct client_case {
        std::string name;
        std::string bytes;
        std::uint16_t code;
    };
    const std::vector<client_case> cases = {
        {"a masked server frame", frame(fin | text_op, "x", true), 1002},
        {"invalid UTF-8", frame(fin | text_op, "\xff", false), 1007},
        {"RSV2", frame(fin | 0x20 | text_op, "x", false), 1002},
        {"unknown opcode", frame(fin | 0xB, "", false), 1002},
        {"a bad close code", frame(fin | close_op, close_payload(1006), false), 1002},
    };
    for (const client_case& c : cases) {
        INFO("case: " << c.name);
        run_with_watchdog([](client_case c) -> corio::task<void> {
            std::optional<received_frame> answer;
            const std::string no_answer;
            scenario script = [&answer, c](raw_peer& peer) -> corio::task<void> {
                co_await peer.send(c.bytes);
                answer = co_await peer.next();
            };
            corio::tcp_server server = co_await start_raw_server(script, no_answer);
            http::websocket client =
                co_await http::ws_connect("ws://127.0.0.1:" + std::to_string(server.port()) + "/", quick_options());
            const std::uint16_t code = co_await closed_code(client);
            CHECK(code == c.code);
            co_await corio::sleep(20ms);
            REQUIRE(answer);
            CHECK(answer->op == close_op);
            CHECK((static_cast<unsigned char>(answer->payload[0]) << 8 | static_cast<unsigned char>(answer->payload[1])) ==
                  c.code);
        }(c));
    }
}

TEST_CASE("client: a close the server never answers ends after close_timeout", "[websocket]") {
    run_with_watchdog([]() -> corio::task<void> {
        const std::string no_answer;
        scenario script = [](raw_peer& peer) -> corio::task<void> {
            (void)co_await peer.next();  // the Close, never answered
            co_await corio::sleep(2s);
        };
        corio::tcp_server server = co_await start_raw_server(script, no_answer);
        http::websocket client =
            co_await http::ws_connect("ws://127.0.0.1:" + std::to_string(server.port()) + "/", quick_options());
        const corio_test::stopwatch clock;
        co_await client.close(1000, "");
        CHECK(clock.elapsed() >= 250ms);
        CHECK(clock.elapsed() < 1500ms);
        CHECK_FALSE(client.is_open());
        server.close();
    }());
}

TEST_CASE("client: a receive() cancelled inside a large payload leaves it to the next receive()", "[websocket]") {
    run_with_watchdog([]() -> corio::task<void> {
        // 200 000 bytes: over the 64 KiB read buffer, so the payload is read
        // straight into the message; half of it, a pause, then the rest.
        const std::string payload = corio_test::pattern(200000, 7);
        const std::string no_answer;
        scenario script = [&payload](raw_peer& peer) -> corio::task<void> {
            const std::string bytes = frame(fin | binary_op, payload, false);
            co_await peer.send(bytes.substr(0, 100000));
            co_await corio::sleep(150ms);
            co_await peer.send(bytes.substr(100000));
            co_await peer.send(frame(fin | text_op, "after", false));
            co_await peer.send(frame(fin | close_op, close_payload(1000), false));
            (void)co_await peer.next();  // the client's Close
        };
        corio::tcp_server server = co_await start_raw_server(script, no_answer);
        http::websocket client =
            co_await http::ws_connect("ws://127.0.0.1:" + std::to_string(server.port()) + "/", quick_options());
        bool timed_out = false;
        try {
            task_of_message first = client.receive();
            (void)co_await corio::wait_for(std::move(first), 50ms);
        } catch (const corio::timeout_error&) {
            timed_out = true;
        }
        CHECK(timed_out);
        http::ws_message m = co_await client.receive();
        CHECK(m.is_binary());
        CHECK(m.data.size() == payload.size());
        CHECK(m.data == payload);
        m = co_await client.receive();
        CHECK(m.data == "after");
        const std::uint16_t code = co_await closed_code(client);
        CHECK(code == 1000);
    }());
}

TEST_CASE("client: TCP dropped mid-frame is connection_lost", "[websocket]") {
    run_with_watchdog([]() -> corio::task<void> {
        const std::string no_answer;
        scenario script = [](raw_peer& peer) -> corio::task<void> {
            co_await peer.send(frame(fin | binary_op, std::string(1000, 'x'), false).substr(0, 500));
            peer.stream.close();
        };
        corio::tcp_server server = co_await start_raw_server(script, no_answer);
        http::websocket client =
            co_await http::ws_connect("ws://127.0.0.1:" + std::to_string(server.port()) + "/", quick_options());
        bool lost = false;
        try {
            (void)co_await client.receive();
        } catch (const http::connection_lost&) {
            lost = true;
        }
        CHECK(lost);
    }());
}

TEST_CASE("client: bad handshake answers are websocket_handshake_error", "[websocket]") {
    const std::vector<std::string> answers = {
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: wrongwrongwrongwrongwrong=\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 301 Moved\r\nLocation: ws://elsewhere/\r\nContent-Length: 0\r\n\r\n",
    };
    for (const std::string& answer : answers) {
        INFO(answer);
        run_with_watchdog([](std::string a) -> corio::task<void> {
            scenario script = [](raw_peer&) -> corio::task<void> { co_return; };
            corio::tcp_server server = co_await start_raw_server(script, a);
            bool refused = false;
            try {
                (void)co_await http::ws_connect("ws://127.0.0.1:" + std::to_string(server.port()) + "/",
                                                quick_options());
            } catch (const http::websocket_handshake_error&) {
                refused = true;
            }
            CHECK(refused);
        }(answer));
    }
}
