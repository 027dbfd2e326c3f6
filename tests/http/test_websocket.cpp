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
    d.compress(std::string(50 * 1024 * 1024, '\0'), bomb);
    CHECK(bomb.size() < 100 * 1024);
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
