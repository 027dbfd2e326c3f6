// End-to-end tests of how corio/http/server.hpp frames requests through its
// parser: empty lines between requests, obs-fold, and transfer codings it
// cannot decode, each sent as raw bytes over loopback.
#include <corio/combinators.hpp>
#include <corio/http/router.hpp>
#include <corio/http/server.hpp>
#include <corio/net.hpp>
#include <corio/sleep.hpp>

#include "catch.hpp"
#include "test_support.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

using namespace std::chrono_literals;
using corio_test::run_with_watchdog;
namespace http = corio::http;

namespace {

struct calls {
    int count = 0;
    std::string last_body;
};

// POST /echo answers the body it received; every call is counted.
http::router echo_routes(calls& seen) {
    http::router r;
    r.post("/echo", [&seen](http::request& req) -> corio::task<http::response> {
        ++seen.count;
        seen.last_body = req.body;
        co_return http::text_response(200, std::move(req.body));
    });
    r.get("/hello", [&seen](http::request&) -> corio::task<http::response> {
        ++seen.count;
        co_return http::text_response(200, "hello\n");
    });
    return r;
}

std::size_t count_of(std::string_view haystack, std::string_view needle) {
    std::size_t n = 0;
    for (std::size_t at = haystack.find(needle); at != std::string_view::npos;
         at = haystack.find(needle, at + 1)) {
        ++n;
    }
    return n;
}

// Reads until `count` status lines have arrived, the peer closes (or
// resets), or `within` passes without a byte; returns what was read.
corio::task<std::string> read_status_lines(corio::tcp_stream& stream, std::size_t count,
                                           std::chrono::milliseconds within) {
    std::string all;
    while (count_of(all, "HTTP/1.1 ") < count) {
        std::string chunk;
        try {
            chunk = co_await corio::wait_for(stream.read(), within);
        } catch (const corio::timeout_error&) {
            break;
        } catch (const std::system_error&) {
            break;
        }
        if (chunk.empty()) {
            break;
        }
        all += chunk;
    }
    co_return all;
}

// Reads until the peer closes (the test's watchdog bounds the wait).
corio::task<std::string> read_all(corio::tcp_stream& stream) {
    std::string all =
        co_await read_status_lines(stream, std::string::npos, std::chrono::milliseconds(60000));
    co_return all;
}

// Opens a connection, sends `request`, and reads until the server closes.
corio::task<std::string> exchange(std::uint16_t port, std::string request) {
    auto stream = co_await corio::open_connection("127.0.0.1", port);
    co_await stream.write(request);
    std::string all = co_await read_all(stream);
    co_return all;
}

std::string repeated_crlf(std::size_t times) {
    std::string out;
    for (std::size_t i = 0; i < times; ++i) {
        out += "\r\n";
    }
    return out;
}

// Short header timeout, long keep-alive: which one the server applies after
// a stray CRLF decides whether the connection survives.
http::server_options short_head_options() {
    http::server_options options;
    options.header_timeout = 150ms;
    options.keep_alive_timeout = 5s;
    return options;
}

}  // namespace

TEST_CASE("a CRLF after a request body leaves the connection idle: a later request is answered",
          "[http][server_framing]") {
    auto body = []() -> corio::task<void> {
        calls seen;
        const http::server_options options = short_head_options();
        auto server = co_await http::start_server(echo_routes(seen), "127.0.0.1", 0, options);
        auto stream = co_await corio::open_connection("127.0.0.1", server.port());
        co_await stream.write(
            "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nfirst\r\n");
        const std::string first = co_await read_status_lines(stream, 1, 2s);
        CHECK(first.starts_with("HTTP/1.1 200 OK\r\n"));
        CHECK(first.ends_with("first"));
        // Longer than header_timeout: a server that took the CRLF for the start
        // of a request head would answer 408 and close by now.
        co_await corio::sleep(400ms);
        co_await stream.write("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\nsecond");
        const std::string second = co_await read_status_lines(stream, 1, 2s);
        CHECK(second.starts_with("HTTP/1.1 200 OK\r\n"));
        CHECK(second.ends_with("second"));
        CHECK(seen.count == 2);
        CHECK(server.connections_accepted() == 1);
        co_await server.shutdown(1s);
    };
    run_with_watchdog(body());
}

TEST_CASE("a CRLF after a request body and then a close gets no error response",
          "[http][server_framing]") {
    auto body = []() -> corio::task<void> {
        calls seen;
        const http::server_options options = short_head_options();
        auto server = co_await http::start_server(echo_routes(seen), "127.0.0.1", 0, options);
        auto stream = co_await corio::open_connection("127.0.0.1", server.port());
        co_await stream.write("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi\r\n");
        co_await corio::sleep(400ms);
        stream.shutdown_write();
        const std::string all = co_await read_all(stream);
        CHECK(count_of(all, "HTTP/1.1 ") == 1);
        CHECK(all.starts_with("HTTP/1.1 200 OK\r\n"));
        CHECK(all.find("408") == std::string::npos);
        CHECK(all.find("400") == std::string::npos);
        CHECK(seen.count == 1);
        co_await server.shutdown(1s);
    };
    run_with_watchdog(body());
}

TEST_CASE("empty lines before the first request are skipped", "[http][server_framing]") {
    auto body = []() -> corio::task<void> {
        calls seen;
        auto server = co_await http::start_server(echo_routes(seen), "127.0.0.1", 0);
        std::string request = "\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
        const std::string all = co_await exchange(server.port(), std::move(request));
        CHECK(all.starts_with("HTTP/1.1 200 OK\r\n"));
        CHECK(all.ends_with("hello\n"));
        CHECK(seen.count == 1);
        co_await server.shutdown(1s);
    };
    run_with_watchdog(body());
}

TEST_CASE("framing the parser refuses gets its status, a close, and never reaches the handler",
          "[http][server_framing]") {
    auto body = []() -> corio::task<void> {
        calls seen;
        auto server = co_await http::start_server(echo_routes(seen), "127.0.0.1", 0);
        struct expectation {
            const char* what;
            std::string request;
            std::string_view status_line;
        };
        // Five bytes of a gzip header, NULs included.
        const std::string coded_body("\r\n\r\n5\r\n\x1f\x8b\x08\x00\x00\r\n0\r\n\r\n", 19);
        const std::string te_head = "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: ";
        const expectation cases[] = {
            // RFC 9112 §6.1: a coding the server does not understand → 501.
            {"a coding before chunked", te_head + "gzip, chunked" + coded_body,
             "HTTP/1.1 501 Not Implemented\r\n"},
            // RFC 9112 §6.3: final coding not chunked → 400.
            {"gzip alone", te_head + "gzip" + coded_body, "HTTP/1.1 400 Bad Request\r\n"},
            {"chunked then gzip", te_head + "chunked, gzip" + coded_body,
             "HTTP/1.1 400 Bad Request\r\n"},
            // RFC 9112 §5.2: a server rejects obs-fold (or replaces it; corio rejects).
            {"obs-fold", "GET /hello HTTP/1.1\r\nHost: t\r\nX-Folded: a\r\n b\r\n\r\n",
             "HTTP/1.1 400 Bad Request\r\n"},
            // RFC 9112 §3.2: more than one Host field line → 400.
            {"two Host fields",
             "GET /hello HTTP/1.1\r\nHost: public.example\r\nHost: internal.example\r\n\r\n",
             "HTTP/1.1 400 Bad Request\r\n"},
            // Empty lines are skipped, but not without bound.
            {"a flood of empty lines", repeated_crlf(100), "HTTP/1.1 400 Bad Request\r\n"},
        };
        for (const expectation& c : cases) {
            INFO(c.what);
            const std::string all = co_await exchange(server.port(), c.request);
            CHECK(all.starts_with(c.status_line));
            CHECK(all.find("Connection: close\r\n") != std::string::npos);
        }
        // Nothing refused reached the handler (a still-coded body least of all).
        CHECK(seen.count == 0);
        co_await server.shutdown(1s);
    };
    run_with_watchdog(body());
}

TEST_CASE("an Upgrade request is answered without switching and the connection closes: what follows is never "
          "parsed as a request",
          "[http][server_framing]") {
    auto body = []() -> corio::task<void> {
        calls seen;
        auto server = co_await http::start_server(echo_routes(seen), "127.0.0.1", 0);
        // The bytes after the head would be a second request if parsed as HTTP.
        std::string request =
            "GET /hello HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: example/1\r\n\r\n"
            "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n";
        const std::string all = co_await exchange(server.port(), std::move(request));
        CHECK(all.starts_with("HTTP/1.1 200 OK\r\n"));
        CHECK(count_of(all, "HTTP/1.1 ") == 1);
        CHECK(all.find("Connection: close\r\n") != std::string::npos);
        CHECK(seen.count == 1);
        co_await server.shutdown(1s);
    };
    run_with_watchdog(body());
}
