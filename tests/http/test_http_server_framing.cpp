// End-to-end tests of how corio/http/server.hpp frames requests through its
// parser: empty lines between requests, obs-fold, and transfer codings it
// cannot decode, each sent as raw bytes over loopback; and how it frames
// streamed response bodies (chunked, HTTP/1.0, HEAD, a client going away).
#include <corio/combinators.hpp>
#include <corio/generator.hpp>
#include <corio/http/client.hpp>
#include <corio/http/router.hpp>
#include <corio/http/server.hpp>
#include <corio/net.hpp>
#include <corio/sleep.hpp>

#include "catch.hpp"
#include "test_support.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

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

// RFC 9112 §6.3: a response to HEAD ends with its head, refusals included;
// a client would read their body as the start of the next response. Found
// by tests/fuzz/fuzz_http_server.
TEST_CASE("a HEAD request refused after its head gets an error response without a body", "[http][server_framing]") {
    auto body = []() -> corio::task<void> {
        calls seen;
        http::server_options options;
        options.limits.max_body_size = 10;
        options.body_timeout = 200ms;
        auto server = co_await http::start_server(echo_routes(seen), "127.0.0.1", 0, options);
        struct expectation {
            const char* what;
            std::string request;
            std::string_view status_line;
        };
        const expectation cases[] = {
            {"two Host fields", "HEAD /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
            {"a target in no form the server takes", "HEAD hello HTTP/1.1\r\nHost: a\r\n\r\n",
             "HTTP/1.1 400 Bad Request\r\n"},
            {"an expectation it cannot meet", "HEAD /hello HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\n\r\n",
             "HTTP/1.1 417 Expectation Failed\r\n"},
            {"a body over the limit", "HEAD /hello HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n",
             "HTTP/1.1 413 Content Too Large\r\n"},
            {"a malformed chunk", "HEAD /hello HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
             "HTTP/1.1 400 Bad Request\r\n"},
            {"a body that stops coming", "HEAD /hello HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab",
             "HTTP/1.1 408 Request Timeout\r\n"},
        };
        for (const expectation& c : cases) {
            INFO(c.what);
            const std::string all = co_await exchange(server.port(), c.request);
            CHECK(all.starts_with(c.status_line));
            CHECK(all.find("Content-Length: ") != std::string::npos);
            CHECK(all.ends_with("\r\n\r\n"));  // the head, and nothing after it
        }
        // The same refusal to GET has its body.
        const std::string get = co_await exchange(server.port(), "GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
        CHECK(get.ends_with("\r\n\r\nBad Request\n"));
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

// ---- Streamed bodies (http::stream_response) -------------------------------

namespace {

// What the streamed routes saw: whether the generator started, ended, and
// whether it was cancelled where it waited.
struct stream_events {
    bool started = false;
    bool finished = false;
    bool cancelled = false;
};

corio::async_generator<std::string> pieces(std::vector<std::string> parts, std::chrono::milliseconds gap,
                                           stream_events& seen) {
    seen.started = true;
    for (std::string& part : parts) {
        co_yield std::move(part);
        co_await corio::sleep(gap);
    }
    seen.finished = true;
}

// One piece, then waits (for a client that goes away).
corio::async_generator<std::string> one_then_wait(stream_events& seen) {
    seen.started = true;
    co_yield std::string("first\n");
    try {
        co_await corio::sleep(60s);
    } catch (const corio::cancelled_error&) {
        seen.cancelled = true;
        throw;
    }
    seen.finished = true;
}

corio::async_generator<std::string> fails_midway() {
    co_yield std::string("partial");
    co_await corio::sleep(1ms);
    throw std::runtime_error("the body source broke");
}

http::router stream_routes(stream_events& seen) {
    http::router r;
    r.get("/pieces", [&seen](http::request&) -> corio::task<http::response> {
        co_return http::stream_response(pieces({"alpha,", "", "beta,", "gamma"}, 20ms, seen), "text/plain");
    });
    r.get("/wait", [&seen](http::request&) -> corio::task<http::response> {
        co_return http::stream_response(one_then_wait(seen), "text/plain");
    });
    r.get("/fails", [](http::request&) -> corio::task<http::response> {
        co_return http::stream_response(fails_midway());
    });
    r.get("/sized", [&seen](http::request&) -> corio::task<http::response> {
        http::response answer = http::stream_response(pieces({"12345", "6789"}, 1ms, seen));
        answer.headers.add("Content-Length", "9");
        co_return answer;
    });
    r.get("/hello", [](http::request&) -> corio::task<http::response> {
        co_return http::text_response(200, "hello\n");
    });
    return r;
}

}  // namespace

TEST_CASE("a streamed body goes out chunked as the generator yields, and the connection goes on",
          "[http][server_framing]") {
    auto body = []() -> corio::task<void> {
        stream_events seen;
        auto server = co_await http::start_server(stream_routes(seen), "127.0.0.1", 0);
        auto stream = co_await corio::open_connection("127.0.0.1", server.port());
        // A pipelined second request waits in the kernel while the stream runs.
        co_await stream.write("GET /pieces HTTP/1.1\r\nHost: t\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
        std::string all;
        while (all.find("hello\n") == std::string::npos) {
            const std::string more = co_await stream.read();
            REQUIRE_FALSE(more.empty());
            all += more;
        }
        const std::size_t split = all.find("HTTP/1.1 200", 1);
        REQUIRE(split != std::string::npos);
        const std::string first = all.substr(0, split);
        CHECK(first.starts_with("HTTP/1.1 200 OK\r\n"));
        CHECK(first.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
        CHECK(first.find("Content-Length") == std::string::npos);
        CHECK(first.find("Content-Type: text/plain\r\n") != std::string::npos);
        // One chunk per non-empty piece (the empty one would have ended the body), then the last chunk.
        CHECK(first.ends_with("\r\n\r\n6\r\nalpha,\r\n5\r\nbeta,\r\n5\r\ngamma\r\n0\r\n\r\n"));
        CHECK(all.substr(split).starts_with("HTTP/1.1 200 OK\r\n"));
        CHECK(seen.started);
        CHECK(seen.finished);
        CHECK(server.connections_accepted() == 1);
        co_await server.shutdown(1s);
    };
    run_with_watchdog(body());
}

TEST_CASE("corio's client reads a streamed body piece by piece", "[http][server_framing]") {
    auto body = []() -> corio::task<void> {
        stream_events seen;
        auto server = co_await http::start_server(stream_routes(seen), "127.0.0.1", 0);
        http::client_session session;
        const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/pieces";
        auto response = co_await session.get(url);
        CHECK(response.status() == 200);
        std::vector<std::string> got;
        for (;;) {
            std::string piece = co_await response.read_chunk();
            if (piece.empty()) {
                break;
            }
            got.push_back(std::move(piece));
        }
        // 20 ms apart: each piece is read on its own.
        CHECK(got == std::vector<std::string>{"alpha,", "beta,", "gamma"});
        co_await session.close();
        co_await server.shutdown(1s);
    };
    run_with_watchdog(body());
}

TEST_CASE("a streamed body to HTTP/1.0 ends with the connection, and HEAD never runs the generator",
          "[http][server_framing]") {
    auto body = []() -> corio::task<void> {
        stream_events seen;
        auto server = co_await http::start_server(stream_routes(seen), "127.0.0.1", 0);
        const std::string old = co_await exchange(server.port(), "GET /pieces HTTP/1.0\r\n\r\n");
        CHECK(old.starts_with("HTTP/1.1 200 OK\r\n"));
        CHECK(old.find("Transfer-Encoding") == std::string::npos);
        CHECK(old.find("Connection: close\r\n") != std::string::npos);
        CHECK(old.ends_with("\r\n\r\nalpha,beta,gamma"));

        stream_events head_seen;
        auto head_server = co_await http::start_server(stream_routes(head_seen), "127.0.0.1", 0);
        const std::string head =
            co_await exchange(head_server.port(), "HEAD /pieces HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        CHECK(head.starts_with("HTTP/1.1 200 OK\r\n"));
        CHECK(head.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
        CHECK(head.ends_with("\r\n\r\n"));
        CHECK_FALSE(head_seen.started);

        // A Content-Length of the handler's own: the pieces go out as they are.
        const std::string sized = co_await exchange(server.port(), "GET /sized HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        CHECK(sized.find("Content-Length: 9\r\n") != std::string::npos);
        CHECK(sized.find("Transfer-Encoding") == std::string::npos);
        CHECK(sized.ends_with("\r\n\r\n123456789"));
        co_await head_server.shutdown(1s);
        co_await server.shutdown(1s);
    };
    run_with_watchdog(body());
}

TEST_CASE("a client going away cancels the streamed body's generator where it waits", "[http][server_framing]") {
    auto body = []() -> corio::task<void> {
        stream_events seen;
        auto server = co_await http::start_server(stream_routes(seen), "127.0.0.1", 0);
        {
            auto stream = co_await corio::open_connection("127.0.0.1", server.port());
            co_await stream.write("GET /wait HTTP/1.1\r\nHost: t\r\n\r\n");
            std::string all;
            while (all.find("first\n") == std::string::npos) {
                const std::string more = co_await stream.read();
                REQUIRE_FALSE(more.empty());
                all += more;
            }
            CHECK(all.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
        }  // closed here, with the generator asleep for a minute
        for (int i = 0; i < 500 && !seen.cancelled; ++i) {
            co_await corio::sleep(10ms);
        }
        CHECK(seen.cancelled);
        CHECK_FALSE(seen.finished);
        for (int i = 0; i < 500 && server.active_connections() != 0; ++i) {
            co_await corio::sleep(10ms);
        }
        CHECK(server.active_connections() == 0);
        co_await server.shutdown(1s);
    };
    run_with_watchdog(body());
}

TEST_CASE("a streamed body whose generator throws is cut, reported, and the connection closed",
          "[http][server_framing]") {
    auto body = []() -> corio::task<void> {
        std::vector<std::string> reported;
        corio_test::record_loop_exceptions(reported);
        stream_events seen;
        auto server = co_await http::start_server(stream_routes(seen), "127.0.0.1", 0);
        const std::string all =
            co_await exchange(server.port(), "GET /fails HTTP/1.1\r\nHost: t\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
        CHECK(all.ends_with("\r\n\r\n7\r\npartial\r\n"));  // no last chunk: the client sees the body cut
        CHECK(all.find("hello") == std::string::npos);
        REQUIRE(reported.size() == 1);
        CHECK(reported[0].find("GET /fails") != std::string::npos);
        CHECK(reported[0].find("the body source broke") != std::string::npos);
        // And through corio's client: a named error, not a short body taken as whole.
        http::client_session session;
        bool cut = false;
        try {
            auto response = co_await session.get("http://127.0.0.1:" + std::to_string(server.port()) + "/fails");
            (void)co_await response.text();
        } catch (const http::client_connection_error&) {
            cut = true;
        }
        CHECK(cut);
        co_await session.close();
        co_await server.shutdown(1s);
        corio::get_running_loop().set_exception_handler({});
    };
    run_with_watchdog(body());
}
