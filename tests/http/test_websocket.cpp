// Tests of corio/http/websocket.hpp and its codec (http/detail/websocket_frame.hpp,
// sha1.hpp, websocket_deflate.hpp): the codec alone, then corio's client
// against corio's server in one process.
#include <corio/combinators.hpp>
#include <corio/http/client.hpp>
#include <corio/http/router.hpp>
#include <corio/http/server.hpp>
#include <corio/http/websocket.hpp>
#include <corio/run.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/sync/queue.hpp>

#include "catch.hpp"
#include "test_support.hpp"

#include <array>
#include <chrono>
#include <cstdint>
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

std::string hex(const std::array<std::uint8_t, 20>& d) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (const std::uint8_t b : d) {
        s += digits[b >> 4];
        s += digits[b & 15];
    }
    return s;
}

}  // namespace

TEST_CASE("sha1 matches the FIPS 180 examples", "[websocket]") {
    CHECK(hex(corio::detail::sha1("")) == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    CHECK(hex(corio::detail::sha1("abc")) == "a9993e364706816aba3e25717850c26c9cd0d89d");
    CHECK(hex(corio::detail::sha1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) ==
          "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    CHECK(hex(corio::detail::sha1(std::string(1000000, 'a'))) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    // 55, 56 and 64 bytes: the padding's edge cases
    CHECK(hex(corio::detail::sha1(std::string(55, 'a'))) == "c1c8bbdc22796e28c0e15163d20899b65621d65a");
    CHECK(hex(corio::detail::sha1(std::string(56, 'a'))) == "c2db330f6083854c99d4b5bfb6e8f29f201be699");
    CHECK(hex(corio::detail::sha1(std::string(64, 'a'))) == "0098ba824b5c16427bd7a1122a5a442a25ec644d");
}

TEST_CASE("base64 and the Sec-WebSocket-Accept of RFC 6455's example", "[websocket]") {
    CHECK(corio::detail::base64_encode("") == "");
    CHECK(corio::detail::base64_encode("f") == "Zg==");
    CHECK(corio::detail::base64_encode("fo") == "Zm8=");
    CHECK(corio::detail::base64_encode("foo") == "Zm9v");
    CHECK(corio::detail::base64_encode("foobar") == "Zm9vYmFy");
    CHECK(corio::detail::websocket_accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST_CASE("frame headers round-trip at each length encoding", "[websocket]") {
    for (const std::uint64_t length : {0ull, 125ull, 126ull, 65535ull, 65536ull, (1ull << 40)}) {
        for (const bool masked : {false, true}) {
            ws::frame_header h;
            h.fin = length != 126;
            h.rsv1 = length == 65535;
            h.op = ws::opcode::binary;
            h.masked = masked;
            h.mask = {1, 2, 3, 4};
            h.length = length;
            unsigned char bytes[ws::max_header_size];
            const std::size_t size = ws::write_header(h, bytes);
            CHECK(size == (length < 126 ? 2u : length <= 65535 ? 4u : 10u) + (masked ? 4u : 0u));
            // Every shorter prefix asks for more.
            for (std::size_t cut = 0; cut < size; ++cut) {
                ws::frame_header partial;
                CHECK(ws::parse_header(bytes, cut, partial).size == 0);
            }
            ws::frame_header back;
            const ws::header_result r = ws::parse_header(bytes, size, back);
            CHECK(r.size == size);
            CHECK(r.error == ws::header_error::none);
            CHECK(back.length == length);
            CHECK(back.fin == h.fin);
            CHECK(back.rsv1 == h.rsv1);
            CHECK(back.masked == masked);
            CHECK(back.op == ws::opcode::binary);
            if (masked) {
                CHECK(back.mask == h.mask);
            }
        }
    }
}

TEST_CASE("frame headers breaking the rules are named", "[websocket]") {
    ws::frame_header h;
    const unsigned char unknown[] = {0x83, 0x00};
    CHECK(ws::parse_header(unknown, 2, h).error == ws::header_error::unknown_opcode);
    const unsigned char reserved_control[] = {0x8B, 0x00};
    CHECK(ws::parse_header(reserved_control, 2, h).error == ws::header_error::unknown_opcode);
    const unsigned char long_ping[] = {0x89, 0x7E, 0x00, 0x7E};
    CHECK(ws::parse_header(long_ping, 4, h).error == ws::header_error::control_too_long);
    const unsigned char fragmented_ping[] = {0x09, 0x00};
    CHECK(ws::parse_header(fragmented_ping, 2, h).error == ws::header_error::control_fragmented);
    const unsigned char top_bit[] = {0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0};
    CHECK(ws::parse_header(top_bit, 10, h).error == ws::header_error::length_not_minimal_64);
}

TEST_CASE("masking by words equals masking byte by byte at every offset and length", "[websocket]") {
    const std::array<std::uint8_t, 4> key = {0x12, 0x34, 0x56, 0x78};
    const std::string data = corio_test::pattern(300, 7);
    for (std::size_t offset = 0; offset < 8; ++offset) {
        for (std::size_t length = 0; length < 40; ++length) {
            std::string fast = data.substr(0, length);
            ws::apply_mask(reinterpret_cast<unsigned char*>(fast.data()), length, key, offset);
            std::string slow = data.substr(0, length);
            for (std::size_t i = 0; i < length; ++i) {
                slow[i] = static_cast<char>(slow[i] ^ key[(offset + i) & 3]);
            }
            CHECK(fast == slow);
        }
    }
    std::string copied(300, '\0');
    ws::copy_masked(reinterpret_cast<unsigned char*>(copied.data()), reinterpret_cast<const unsigned char*>(data.data()),
                    data.size(), key);
    ws::apply_mask(reinterpret_cast<unsigned char*>(copied.data()), copied.size(), key, 0);
    CHECK(copied == data);
}

TEST_CASE("UTF-8 validation is incremental and strict", "[websocket]") {
    CHECK(ws::valid_utf8("hello"));
    CHECK(ws::valid_utf8("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"));  // κόσμε
    CHECK(ws::valid_utf8("\xf4\x8f\xbf\xbf"));                              // U+10FFFF
    CHECK_FALSE(ws::valid_utf8("\xf4\x90\x80\x80"));                        // past U+10FFFF
    CHECK_FALSE(ws::valid_utf8("\xed\xa0\x80"));                            // a surrogate
    CHECK_FALSE(ws::valid_utf8("\xc0\xaf"));                                // overlong
    CHECK_FALSE(ws::valid_utf8("\xe0\x80\xaf"));                            // overlong
    CHECK_FALSE(ws::valid_utf8("\xf0\x80\x80\xaf"));                        // overlong
    CHECK_FALSE(ws::valid_utf8("\xce"));                                    // cut short
    CHECK_FALSE(ws::valid_utf8("\xff"));
    CHECK_FALSE(ws::valid_utf8("abcdefgh\x80"));
    // Split at every byte, the verdict is the same as whole.
    const std::string text = "a\xce\xba\xe1\xbd\xb9\xf0\x9f\x98\x80z";
    for (std::size_t cut = 0; cut <= text.size(); ++cut) {
        ws::utf8_validator v;
        CHECK(v.feed(std::string_view(text).substr(0, cut)));
        CHECK(v.feed(std::string_view(text).substr(cut)));
        CHECK(v.complete());
    }
    ws::utf8_validator v;
    CHECK(v.feed("\xf0\x9f"));
    CHECK_FALSE(v.complete());
    CHECK_FALSE(v.feed("\x41"));  // a continuation byte was due
}

TEST_CASE("permessage-deflate offers are negotiated within both sides' limits", "[websocket]") {
    if (!ws::deflate_available) {
        corio_test::skip_test("zlib not found: apt-get install zlib1g-dev");
        return;
    }
    http::deflate_options ours;
    std::string answer;
    auto p = ws::negotiate_server({"permessage-deflate; client_max_window_bits"}, ours, answer);
    REQUIRE(p);
    CHECK(answer == "permessage-deflate");
    p = ws::negotiate_server({"x-webkit, permessage-deflate; server_max_window_bits=10; client_no_context_takeover"},
                             ours, answer);
    REQUIRE(p);
    CHECK(p->server_max_window_bits == 10);
    CHECK(p->client_no_context_takeover);
    CHECK(answer == "permessage-deflate; client_no_context_takeover; server_max_window_bits=10");
    // Unknown parameters, duplicates, bad values and a window of 8 decline the offer; the next one is taken.
    CHECK_FALSE(ws::negotiate_server({"permessage-deflate; foo"}, ours, answer));
    CHECK_FALSE(ws::negotiate_server({"permessage-deflate; server_no_context_takeover; server_no_context_takeover"},
                                     ours, answer));
    CHECK_FALSE(ws::negotiate_server({"permessage-deflate; server_max_window_bits=16"}, ours, answer));
    CHECK_FALSE(ws::negotiate_server({"permessage-deflate; client_max_window_bits=7"}, ours, answer));
    CHECK_FALSE(ws::negotiate_server({"permessage-deflate; client_max_window_bits=\"x\""}, ours, answer));
    p = ws::negotiate_server({"permessage-deflate; client_max_window_bits=99, permessage-deflate; client_max_window_bits=9"},
                             ours, answer);
    REQUIRE(p);
    CHECK(p->client_max_window_bits == 9);
    CHECK(answer == "permessage-deflate; client_max_window_bits=9");
    p = ws::negotiate_server({"permessage-deflate; server_max_window_bits=8, permessage-deflate"}, ours, answer);
    REQUIRE(p);
    CHECK(p->server_max_window_bits == 15);
    http::deflate_options off;
    off.enabled = false;
    CHECK_FALSE(ws::negotiate_server({"permessage-deflate"}, off, answer));

    // The client refuses answers its offer does not allow.
    CHECK(ws::accept_client({"permessage-deflate; server_no_context_takeover"}, ours)->server_no_context_takeover);
    CHECK_THROWS_AS(ws::accept_client({"permessage-deflate; bogus"}, ours), std::invalid_argument);
    CHECK_THROWS_AS(ws::accept_client({"x-other"}, ours), std::invalid_argument);
    CHECK_FALSE(ws::accept_client({}, ours));
}

TEST_CASE("the deflate pair round-trips and stops a deflate bomb at the limit", "[websocket]") {
#if defined(CORIO_WITH_ZLIB)
    for (const bool no_takeover : {false, true}) {
        ws::deflater d(15, no_takeover);
        ws::inflater i(15, no_takeover);
        for (int round = 0; round < 3; ++round) {
            const std::string message = corio_test::pattern(1000, static_cast<unsigned>(round)) + std::string(5000, 'x');
            std::string packed;
            d.compress(message, packed);
            CHECK(packed.size() < message.size());
            std::string back;
            CHECK(i.decompress(packed, back, 1 << 20) == ws::inflater::result::ok);
            CHECK(back == message);
        }
    }
    ws::deflater d(15, true);
    std::string bomb;
    d.compress(std::string(16 * 1024 * 1024, '\0'), bomb);
    CHECK(bomb.size() < 32 * 1024);
    ws::inflater i(15, true);
    std::string out;
    CHECK(i.decompress(bomb, out, 1024 * 1024) == ws::inflater::result::too_big);
    CHECK(out.size() <= 1024 * 1024 + 1);
    CHECK(i.decompress("\xff\xff\xff garbage", out, 1024) == ws::inflater::result::corrupt);
#else
    corio_test::skip_test("zlib not found: apt-get install zlib1g-dev");
#endif
}

// ---------------------------------------------------------------------------
// corio client <-> corio server

namespace {

http::router echo_routes(http::ws_route_options options = {}) {
    http::router r;
    r.get("/plain", [](http::request&) -> corio::task<http::response> {
        co_return http::text_response(200, "plain\n");
    });
    r.websocket(
        "/echo",
        [](http::websocket& socket, http::request&) -> corio::task<void> {
            for (;;) {
                std::optional<http::ws_message> m = co_await socket.next();
                if (!m) {
                    co_return;
                }
                if (m->is_text()) {
                    co_await socket.send_text(m->data);
                } else {
                    co_await socket.send_binary(m->data);
                }
            }
        },
        std::move(options));
    return r;
}

std::string repeated_text(std::size_t size) {
    std::string text;
    text.reserve(size);
    for (unsigned line = 0; text.size() < size; ++line) {
        text += "line " + std::to_string(line) + ": the quick brown fox jumps over the lazy dog\n";
    }
    text.resize(size);
    return text;
}

std::string ws_url(const http::server& s, std::string_view path) {
    return "ws://127.0.0.1:" + std::to_string(s.port()) + std::string(path);
}

}  // namespace

TEST_CASE("a corio client and server echo text and binary messages", "[websocket]") {
    run_with_watchdog([]() -> corio::task<void> {
        http::server server = co_await http::start_server(echo_routes(), "127.0.0.1", 0);
        http::websocket client = co_await http::ws_connect(ws_url(server, "/echo"));
        CHECK(client.is_open());
        co_await client.send_text("hello");
        http::ws_message m = co_await client.receive();
        CHECK(m.is_text());
        CHECK(m.data == "hello");
        const std::string blob = corio_test::pattern(200000, 3);
        co_await client.send_binary(blob);
        m = co_await client.receive();
        CHECK(m.is_binary());
        CHECK(m.data == blob);
        co_await client.send_text("");
        m = co_await client.receive();
        CHECK(m.data.empty());
        co_await client.close(http::close_code::normal, "bye");
        CHECK_FALSE(client.is_open());
        CHECK(client.close_code() == http::close_code::normal);
        // The same port still serves plain HTTP.
        http::client_session session;
        http::client_response r = co_await session.get("http://127.0.0.1:" + std::to_string(server.port()) + "/plain");
        const std::string body = co_await r.text();
        CHECK(body == "plain\n");
        co_await server.shutdown(1s);
    }());
}

TEST_CASE("compressed echo with a session, context takeover on and off", "[websocket]") {
    if (!ws::deflate_available) {
        corio_test::skip_test("zlib not found: apt-get install zlib1g-dev");
        return;
    }
    run_with_watchdog([]() -> corio::task<void> {
        http::server server = co_await http::start_server(echo_routes(), "127.0.0.1", 0);
        http::client_session session;
        for (const bool takeover : {true, false}) {
            http::ws_connect_options options;
            options.websocket.compression.client_no_context_takeover = !takeover;
            options.websocket.compression.server_no_context_takeover = !takeover;
            options.websocket.compression.client_max_window_bits = 10;
            http::websocket client = co_await session.ws_connect(ws_url(server, "/echo"), options);
            CHECK(client.compressed());
            for (int i = 0; i < 5; ++i) {
                const std::string text = std::string(3000, 'a' + static_cast<char>(i)) + corio_test::pattern(100, 9);
                co_await client.send_binary(text);
                http::ws_message m = co_await client.receive();
                CHECK(m.data == text);
            }
            co_await client.close();
        }
        http::ws_connect_options plain;
        plain.websocket.compression.enabled = false;
        http::websocket client = co_await session.ws_connect(ws_url(server, "/echo"), plain);
        CHECK_FALSE(client.compressed());
        co_await client.close();
        co_await server.shutdown(1s);
    }());
}

TEST_CASE("sends from many tasks arrive whole and in per-task order", "[websocket]") {
    run_with_watchdog([]() -> corio::task<void> {
        http::server server = co_await http::start_server(echo_routes(), "127.0.0.1", 0);
        http::ws_connect_options options;
        options.websocket.compression.enabled = false;
        http::websocket client = co_await http::ws_connect(ws_url(server, "/echo"), options);
        constexpr int senders = 8;
        constexpr int each = 20;
        std::vector<corio::task_handle<void>> tasks;
        for (int t = 0; t < senders; ++t) {
            tasks.push_back(corio::create_task([](http::websocket& c, int id) -> corio::task<void> {
                for (int i = 0; i < each; ++i) {
                    const std::string payload = std::to_string(id) + ":" + std::to_string(i) + ":" +
                                                corio_test::pattern(20000, static_cast<unsigned>(id * 100 + i));
                    co_await c.send_binary(payload);
                }
            }(client, t)));
        }
        std::vector<int> next(senders, 0);
        for (int n = 0; n < senders * each; ++n) {
            http::ws_message m = co_await client.receive();
            const std::size_t colon = m.data.find(':');
            const std::size_t second = m.data.find(':', colon + 1);
            const int id = std::stoi(m.data.substr(0, colon));
            const int i = std::stoi(m.data.substr(colon + 1, second - colon - 1));
            CHECK(i == next[static_cast<std::size_t>(id)]++);
            CHECK(m.data.substr(second + 1) == corio_test::pattern(20000, static_cast<unsigned>(id * 100 + i)));
        }
        for (auto& t : tasks) {
            co_await t;
        }
        co_await client.close();
        co_await server.shutdown(1s);
    }());
}

TEST_CASE("a server closing with a code surfaces it as connection_closed", "[websocket]") {
    run_with_watchdog([]() -> corio::task<void> {
        http::router routes;
        routes.websocket("/bye", [](http::websocket& socket, http::request&) -> corio::task<void> {
            co_await socket.send_text("first");
            co_await socket.close(4001, "done here");
        });
        http::server server = co_await http::start_server(routes, "127.0.0.1", 0);
        http::websocket client = co_await http::ws_connect(ws_url(server, "/bye"));
        http::ws_message m = co_await client.receive();
        CHECK(m.data == "first");
        bool closed = false;
        try {
            (void)co_await client.receive();
        } catch (const http::connection_lost&) {
            FAIL("lost instead of closed");
        } catch (const http::connection_closed& e) {
            closed = true;
            CHECK(e.code() == 4001);
            CHECK(e.reason() == "done here");
            CHECK(e.by_peer());
        }
        CHECK(closed);
        // Every later call throws the same.
        int later_failures = 0;
        try {
            (void)co_await client.receive();
        } catch (const http::connection_closed& e) {
            later_failures += e.code() == 4001 ? 1 : 0;
        }
        try {
            co_await client.send_text("late");
        } catch (const http::connection_closed&) {
            ++later_failures;
        }
        CHECK(later_failures == 2);
        // next() ends at a normal close, rethrows others.
        http::websocket again = co_await http::ws_connect(ws_url(server, "/bye"));
        std::optional<http::ws_message> first = co_await again.next();
        CHECK(first);
        bool threw = false;
        try {
            (void)co_await again.next();
        } catch (const http::connection_closed& e) {
            threw = e.code() == 4001;
        }
        CHECK(threw);
        co_await server.shutdown(1s);
    }());
}

TEST_CASE("next() and messages() end at a normal close", "[websocket]") {
    run_with_watchdog([]() -> corio::task<void> {
        http::router routes;
        routes.websocket("/three", [](http::websocket& socket, http::request&) -> corio::task<void> {
            co_await socket.send_text("1");
            co_await socket.send_text("2");
            co_await socket.send_text("3");
        });  // returning closes with 1000
        http::server server = co_await http::start_server(routes, "127.0.0.1", 0);
        http::websocket client = co_await http::ws_connect(ws_url(server, "/three"));
        std::string got;
        corio::async_generator<http::ws_message> messages = client.messages();
        while (auto m = co_await messages.next()) {
            got += m->data;
        }
        CHECK(got == "123");
        CHECK(client.close_code() == http::close_code::normal);
        co_await server.shutdown(1s);
    }());
}

TEST_CASE("a server shutdown closes every open websocket with 1001 without waiting out the grace",
          "[websocket]") {
    run_with_watchdog([]() -> corio::task<void> {
        http::router routes;
        // Waits in receive(): the closing handshake completes through it.
        routes.websocket("/reader", [](http::websocket& socket, http::request&) -> corio::task<void> {
            for (;;) {
                http::ws_message m = co_await socket.receive();
                co_await socket.send_text(m.data);
            }
        });
        // Never reads: sends until its next send finds the connection closing.
        routes.websocket("/talker", [](http::websocket& socket, http::request&) -> corio::task<void> {
            for (;;) {
                co_await socket.send_text("tick");
                co_await corio::sleep(5ms);
            }
        });
        http::server server = co_await http::start_server(routes, "127.0.0.1", 0);
        http::websocket reader = co_await http::ws_connect(ws_url(server, "/reader"));
        http::websocket talker = co_await http::ws_connect(ws_url(server, "/talker"));
        co_await reader.send_text("ping");
        const http::ws_message echoed = co_await reader.receive();
        CHECK(echoed.data == "ping");
        const http::ws_message tick = co_await talker.receive();
        CHECK(tick.data == "tick");

        const auto started = std::chrono::steady_clock::now();
        auto stopping = corio::create_task(server.shutdown(60s));
        const std::optional<http::ws_message> after = co_await reader.next();
        CHECK_FALSE(after.has_value());  // 1001 is a normal end for next()
        CHECK(reader.close_code() == http::close_code::going_away);
        CHECK(reader.close_reason() == "server shutting down");
        std::size_t ticks = 0;
        while (auto m = co_await talker.next()) {
            CHECK(m->data == "tick");
            ++ticks;
        }
        CHECK(talker.close_code() == http::close_code::going_away);
        CHECK(ticks < 10000);
        co_await stopping;
        CHECK(std::chrono::steady_clock::now() - started < 20s);  // not the 60 s of grace
        CHECK(server.active_connections() == 0);
    }());
}

TEST_CASE("a message over max_message_size is refused with 1009", "[websocket]") {
    run_with_watchdog([]() -> corio::task<void> {
        http::ws_route_options options;
        options.websocket.max_message_size = 1000;
        std::optional<std::uint16_t> seen;
        http::router routes;
        routes.websocket(
            "/small",
            [&seen](http::websocket& socket, http::request&) -> corio::task<void> {
                try {
                    for (;;) {
                        (void)co_await socket.receive();
                    }
                } catch (const http::connection_closed& e) {
                    seen = e.code();
                }
            },
            options);
        http::server server = co_await http::start_server(routes, "127.0.0.1", 0);
        for (const bool compress : {false, true}) {
            http::ws_connect_options client_options;
            client_options.websocket.compression.enabled = compress;
            http::websocket client = co_await http::ws_connect(ws_url(server, "/small"), client_options);
            // Compressed, 1 MB of zeros is a few hundred bytes on the wire: the limit holds after inflating.
            co_await client.send_binary(std::string(compress ? 1000000 : 1001, '\0'));
            std::uint16_t code = 0;
            try {
                (void)co_await client.receive();
            } catch (const http::connection_closed& e) {
                code = e.code();
            }
            CHECK(code == http::close_code::message_too_big);
            co_await corio::sleep(20ms);
            REQUIRE(seen);
            CHECK(*seen == http::close_code::message_too_big);
            seen.reset();
        }
        co_await server.shutdown(1s);
    }());
}

TEST_CASE("an abrupt TCP loss is connection_lost on the other side", "[websocket]") {
    run_with_watchdog([]() -> corio::task<void> {
        http::router routes;
        routes.websocket("/drop", [](http::websocket& socket, http::request&) -> corio::task<void> {
            (void)co_await socket.receive();
            socket.abort();
        });
        http::server server = co_await http::start_server(routes, "127.0.0.1", 0);
        http::websocket client = co_await http::ws_connect(ws_url(server, "/drop"));
        co_await client.send_text("go");
        bool lost = false;
        try {
            (void)co_await client.receive();
        } catch (const http::connection_lost& e) {
            lost = e.code() == http::close_code::abnormal;
        }
        CHECK(lost);
        co_await server.shutdown(1s);
    }());
}

TEST_CASE("handshake refusals are named errors and redirects are not followed", "[websocket]") {
    run_with_watchdog([]() -> corio::task<void> {
        http::ws_route_options strict;
        strict.check_origin = [](std::string_view origin) { return origin == "https://good.example"; };
        strict.websocket.subprotocols = {"chat.v2", "chat.v1"};
        http::router routes = echo_routes();
        routes.websocket(
            "/strict",
            [](http::websocket& socket, http::request&) -> corio::task<void> {
                co_await socket.send_text(socket.subprotocol());
            },
            strict);
        routes.get("/moved", [](http::request&) -> corio::task<http::response> {
            http::response r = http::text_response(302, "");
            r.headers.add("Location", "/echo");
            co_return r;
        });
        http::server server = co_await http::start_server(routes, "127.0.0.1", 0);
        const auto status_of = [&](std::string path, http::ws_connect_options o) -> corio::task<int> {
            int status = -1;
            try {
                (void)co_await http::ws_connect(ws_url(server, path), std::move(o));
            } catch (const http::websocket_handshake_error& e) {
                status = e.status();
            }
            co_return status;
        };
        const http::ws_connect_options defaults;
        const int plain = co_await status_of("/plain", defaults);
        CHECK(plain == 200);
        const int missing = co_await status_of("/nowhere", defaults);
        CHECK(missing == 404);
        const int moved = co_await status_of("/moved", defaults);
        CHECK(moved == 302);
        http::ws_connect_options bad_origin;
        bad_origin.origin = "https://evil.example";
        const int refused_origin = co_await status_of("/strict", bad_origin);
        CHECK(refused_origin == 403);

        http::ws_connect_options good;
        good.origin = "https://good.example";
        good.websocket.subprotocols = {"chat.v1", "chat.v2"};
        http::websocket client = co_await http::ws_connect(ws_url(server, "/strict"), good);
        CHECK(client.subprotocol() == "chat.v1");  // the client's preference, among the server's
        http::ws_message m = co_await client.receive();
        CHECK(m.data == "chat.v1");
        co_await client.close();

        bool refused = false;
        try {
            (void)co_await http::ws_connect("ws://127.0.0.1:1/");
        } catch (const http::client_connection_error&) {
            refused = true;
        }
        CHECK(refused);
        co_await server.shutdown(1s);
    }());
}

TEST_CASE("a heartbeat keeps a reading peer and drops a silent one", "[websocket]") {
    run_with_watchdog([]() -> corio::task<void> {
        http::ws_route_options options;
        options.websocket.heartbeat = 40ms;
        options.websocket.pong_timeout = 120ms;
        std::optional<std::string> outcome;
        http::router routes;
        routes.websocket(
            "/beat",
            [&outcome](http::websocket& socket, http::request&) -> corio::task<void> {
                try {
                    http::ws_message m = co_await socket.receive();
                    outcome = "message " + m.data;
                } catch (const http::connection_lost&) {
                    outcome = "lost";
                }
            },
            options);
        http::server server = co_await http::start_server(routes, "127.0.0.1", 0);
        {
            // Reading: pings are answered while receive() waits; after 300 ms the message still gets through.
            http::websocket client = co_await http::ws_connect(ws_url(server, "/beat"));
            corio::task_handle<http::ws_message> reader = corio::create_task(client.receive());
            co_await corio::sleep(300ms);
            CHECK_FALSE(outcome);
            reader.cancel();
            try {
                (void)co_await reader;
            } catch (const corio::cancelled_error&) {
            }
            co_await client.send_text("alive");
            co_await corio::sleep(30ms);
            CHECK(outcome == std::optional<std::string>("message alive"));
            outcome.reset();
        }
        {
            // Silent: nobody reads the pings, no pong comes back.
            http::websocket client = co_await http::ws_connect(ws_url(server, "/beat"));
            const corio_test::stopwatch clock;
            while (!outcome && clock.elapsed() < 2s) {
                co_await corio::sleep(10ms);
            }
            CHECK(outcome == std::optional<std::string>("lost"));
        }
        co_await server.shutdown(1s);
    }(), 5s);
}

TEST_CASE("a 16 MiB message crosses both ways", "[websocket]") {
    run_with_watchdog([]() -> corio::task<void> {
        http::server server = co_await http::start_server(echo_routes(), "127.0.0.1", 0);
        for (const bool compress : {false, true}) {
            http::ws_connect_options options;
            options.websocket.compression.enabled = compress;
            http::websocket client = co_await http::ws_connect(ws_url(server, "/echo"), options);
            // Compressed: text-like data (random bytes would spend the time in
            // zlib). Sanitized builds send 4 MiB (the interop tests send 16 MiB too).
            const std::size_t size = (corio_test::under_sanitizer ? 4 : 16) * 1024 * 1024 - 1;
            const std::string big = compress ? repeated_text(size) : corio_test::pattern(size, 5);
            co_await client.send_binary(big);
            http::ws_message m = co_await client.receive();
            CHECK(m.data.size() == big.size());
            CHECK(m.data == big);
            co_await client.close();
        }
        co_await server.shutdown(1s);
    }(), 20s);
}

TEST_CASE("close() while another task waits in receive() completes the handshake through it", "[websocket]") {
    run_with_watchdog([]() -> corio::task<void> {
        http::server server = co_await http::start_server(echo_routes(), "127.0.0.1", 0);
        http::websocket client = co_await http::ws_connect(ws_url(server, "/echo"));
        std::optional<std::uint16_t> reader_saw;
        corio::task_handle<void> reader = corio::create_task([](http::websocket& c, std::optional<std::uint16_t>& saw) -> corio::task<void> {
            try {
                for (;;) {
                    (void)co_await c.receive();
                }
            } catch (const http::connection_closed& e) {
                saw = e.code();
            }
        }(client, reader_saw));
        co_await corio::sleep(10ms);
        const corio_test::stopwatch clock;
        co_await client.close(4010, "from the other task");
        CHECK(clock.elapsed() < 1s);  // answered, not the close timeout
        co_await reader;
        REQUIRE(reader_saw);
        CHECK(*reader_saw == 4010);  // the server echoed our code
        CHECK_FALSE(client.is_open());
        co_await server.shutdown(1s);
    }());
}

TEST_CASE("sends the kernel takes only in part finish whole and in order, messages already there are read at once",
          "[websocket]") {
    run_with_watchdog([]() -> corio::task<void> {
        constexpr int senders = 2;
        constexpr int each = 3;
        constexpr std::size_t size = 1024 * 1024;
        http::router routes;
        routes.websocket("/late", [](http::websocket& socket, http::request&) -> corio::task<void> {
            // Not reading for a while: the client's sends fill the socket
            // buffers and wait midway through a frame.
            co_await corio::sleep(100ms);
            std::vector<int> next(senders, 0);
            int good = 0;
            for (int n = 0; n < senders * each; ++n) {
                http::ws_message m = co_await socket.receive();
                const int id = m.data[0] - '0';
                const int i = m.data[1] - '0';
                const bool in_order = i == next[static_cast<std::size_t>(id)]++;
                const bool whole =
                    m.data.size() == size && m.data.compare(2, std::string::npos,
                                                            corio_test::pattern(size - 2, static_cast<unsigned>(id * 10 + i))) == 0;
                good += in_order && whole ? 1 : 0;
            }
            // Several small messages at once: the client finds them already there.
            for (int i = 0; i < 5; ++i) {
                co_await socket.send_text("good " + std::to_string(good) + " #" + std::to_string(i));
            }
            (void)co_await socket.receive();
        });
        http::server server = co_await http::start_server(routes, "127.0.0.1", 0);
        http::ws_connect_options options;
        options.websocket.compression.enabled = false;
        http::websocket client = co_await http::ws_connect(ws_url(server, "/late"), options);
        std::vector<corio::task_handle<void>> tasks;
        for (int t = 0; t < senders; ++t) {
            tasks.push_back(corio::create_task([](http::websocket& c, int id) -> corio::task<void> {
                for (int i = 0; i < each; ++i) {
                    const std::string payload = std::to_string(id) + std::to_string(i) +
                                                corio_test::pattern(size - 2, static_cast<unsigned>(id * 10 + i));
                    co_await c.send_binary(payload);
                }
            }(client, t)));
        }
        for (auto& t : tasks) {
            co_await t;
        }
        co_await corio::sleep(50ms);  // the server's five answers arrive meanwhile
        for (int i = 0; i < 5; ++i) {
            http::ws_message m = co_await client.receive();
            CHECK(m.data == "good " + std::to_string(senders * each) + " #" + std::to_string(i));
        }
        co_await client.send_text("done");
        co_await client.close();
        co_await server.shutdown(1s);
    }(), 20s);
}

TEST_CASE("a send cancelled midway through a frame loses the connection rather than leave half a frame",
          "[websocket]") {
    run_with_watchdog([]() -> corio::task<void> {
        http::router routes;
        routes.websocket("/mute", [](http::websocket& socket, http::request&) -> corio::task<void> {
            co_await corio::sleep(2s);  // never reads in time
            socket.abort();
        });
        http::server server = co_await http::start_server(routes, "127.0.0.1", 0);
        http::ws_connect_options options;
        options.websocket.compression.enabled = false;
        http::websocket client = co_await http::ws_connect(ws_url(server, "/mute"), options);
        const std::string big = corio_test::pattern(8 * 1024 * 1024, 3);
        auto sender = [](http::websocket& c, const std::string& payload) -> corio::task<void> {
            co_await c.send_binary(payload);
        };
        auto handle = corio::create_task(sender(client, big));
        co_await corio::sleep(30ms);
        handle.cancel();
        const bool cancelled = co_await corio_test::ended_cancelled(handle);
        CHECK(cancelled);
        std::string what;
        try {
            co_await client.send_text("after");
        } catch (const http::connection_lost& e) {
            what = e.what();
        }
        CHECK(what.find("interrupted mid-frame") != std::string::npos);
        co_await server.shutdown(100ms);
    }(), 10s);
}
