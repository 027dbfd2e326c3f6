#include <corio/http/client.hpp>
#include <corio/http/router.hpp>
#include <corio/http/server.hpp>
#include <corio/net.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/sync/event.hpp>

#include "catch.hpp"
#include "http_fixtures.hpp"
#include "http_test_server.hpp"
#include "test_support.hpp"

#if defined(CORIO_WITH_ZLIB)
#include <zlib.h>
#endif

#include <algorithm>
#include <chrono>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
namespace http = corio::http;
namespace fx = corio_test::http_fixtures;

using corio_test::ok_response;
using corio_test::reply;
using corio_test::reply_table;
using corio_test::scripted_server;

// CPU time this process used so far.
inline std::chrono::microseconds process_cpu_time() {
    return std::chrono::microseconds(static_cast<long long>(1e6 * static_cast<double>(std::clock()) / CLOCKS_PER_SEC));
}

corio::task<std::string> fetch_text(http::client_session& session, std::string url) {
    http::client_response r = co_await session.get(std::move(url));
    co_return co_await r.text();
}

#if defined(CORIO_WITH_ZLIB)
std::string compress_bytes(const std::string& data, int window_bits) {
    z_stream z{};
    deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY);
    std::string out(deflateBound(&z, data.size()) + 64, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}
#endif

}  // namespace

TEST_CASE("a session reuses one keep-alive connection for sequential requests", "[http_client][pool]") {
    auto body = []() -> corio::task<void> {
        const scripted_server::responder respond = [](const http::request& r) -> reply {
            return ok_response("hello " + r.target);
        };
        scripted_server server = co_await scripted_server::start(respond);
        const corio_test::server_stats& stats = server.stats();
        http::client_session session;
        std::vector<std::string> bodies;
        for (int i = 0; i < 20; ++i) {
            http::client_response r = co_await session.get(server.url("/n" + std::to_string(i)));
            CHECK(r.status() == 200);
            CHECK(std::string(r.reason()) == "OK");
            bodies.push_back(co_await r.text());
        }
        CHECK(bodies.front() == "hello /n0");
        CHECK(bodies.back() == "hello /n19");
        CHECK(stats.accepted == 1);
        CHECK(stats.requests == 20);
        CHECK(session.connections_opened() == 1);
        CHECK(session.idle_connections() == 1);
        co_await session.close();
        CHECK(session.open_connections() == 0);
        co_await corio::sleep(20ms);
        CHECK(stats.active == 0);  // the server saw the idle connection close
        co_await server.shutdown(50ms);
    };
    corio_test::run_with_watchdog(body(), 10s);
}

TEST_CASE("limit caps the connections open at once, waiters are served", "[http_client][pool]") {
    auto body = []() -> corio::task<void> {
        const scripted_server::responder respond = [](const http::request& r) -> reply {
            return reply{}.then(10ms, ok_response(r.target));
        };
        scripted_server server = co_await scripted_server::start(respond);
        const corio_test::server_stats& stats = server.stats();
        http::session_options options;
        options.limit = 3;
        http::client_session session(options);
        std::vector<corio::task<std::string>> tasks;
        for (int i = 0; i < 30; ++i) {
            tasks.push_back(fetch_text(session, server.url("/r" + std::to_string(i))));
        }
        const std::vector<std::string> results = co_await corio::gather(std::move(tasks));
        REQUIRE(results.size() == 30);
        for (int i = 0; i < 30; ++i) {
            CHECK(results[static_cast<std::size_t>(i)] == "/r" + std::to_string(i));
        }
        CHECK(stats.max_active <= 3);
        CHECK(stats.accepted == 3);  // kept alive and reused, never reopened
        CHECK(session.open_connections() <= 3);
        co_await server.shutdown(50ms);
    };
    corio_test::run_with_watchdog(body(), 10s);
}

TEST_CASE("limit_per_host caps each host separately", "[http_client][pool]") {
    auto body = []() -> corio::task<void> {
        const scripted_server::responder respond = [](const http::request&) -> reply {
            return reply{}.then(10ms, ok_response("x"));
        };
        scripted_server server_a = co_await scripted_server::start(respond);
        scripted_server server_b = co_await scripted_server::start(respond);
        const corio_test::server_stats& stats_a = server_a.stats();
        const corio_test::server_stats& stats_b = server_b.stats();
        http::session_options options;
        options.limit = 0;
        options.limit_per_host = 2;
        http::client_session session(options);
        std::vector<corio::task<std::string>> tasks;
        for (int i = 0; i < 20; ++i) {
            tasks.push_back(fetch_text(session, (i % 2 == 0 ? server_a : server_b).url("/")));
        }
        const std::vector<std::string> results = co_await corio::gather(std::move(tasks));
        CHECK(std::count(results.begin(), results.end(), "x") == 20);
        CHECK(stats_a.max_active == 2);
        CHECK(stats_b.max_active == 2);
        CHECK(session.connections_opened() == 4);
        co_await server_a.shutdown(50ms);
        co_await server_b.shutdown(50ms);
    };
    corio_test::run_with_watchdog(body(), 10s);
}

TEST_CASE("a total limit over two hosts closes idle connections to make room", "[http_client][pool]") {
    auto body = []() -> corio::task<void> {
        const scripted_server::responder respond = [](const http::request&) -> reply {
            return reply{}.then(5ms, ok_response("y"));
        };
        scripted_server server_a = co_await scripted_server::start(respond);
        scripted_server server_b = co_await scripted_server::start(respond);
        const corio_test::server_stats& stats_b = server_b.stats();
        http::session_options options;
        options.limit = 2;
        http::client_session session(options);
        std::size_t max_open = 0;
        bool done = false;
        auto probe = [&]() -> corio::task<void> {
            while (!done) {
                max_open = std::max(max_open, session.open_connections());
                co_await corio::sleep(1ms);
            }
        };
        auto probe_handle = corio::create_task(probe());
        std::vector<corio::task<std::string>> tasks;
        for (int i = 0; i < 24; ++i) {
            tasks.push_back(fetch_text(session, (i < 12 ? server_a : server_b).url("/")));
        }
        const std::vector<std::string> results = co_await corio::gather(std::move(tasks));
        done = true;
        co_await probe_handle;
        CHECK(std::count(results.begin(), results.end(), "y") == 24);
        CHECK(max_open <= 2);
        CHECK(session.open_connections() <= 2);
        CHECK(stats_b.accepted >= 1);
        co_await server_a.shutdown(50ms);
        co_await server_b.shutdown(50ms);
    };
    corio_test::run_with_watchdog(body(), 10s);
}

TEST_CASE("a cancelled wait for a pooled connection takes nothing", "[http_client][pool]") {
    auto body = []() -> corio::task<void> {
        const scripted_server::responder respond = [](const http::request&) -> reply { return ok_response("z"); };
        scripted_server server = co_await scripted_server::start(respond);
        const corio_test::server_stats& stats = server.stats();
        http::session_options options;
        options.limit = 1;
        http::client_session session(options);
        http::client_response held = co_await session.get(server.url("/"));  // body unread: holds the only slot
        bool timed_out = false;
        try {
            auto r = co_await corio::wait_for(session.get(server.url("/")), 50ms);
        } catch (const corio::timeout_error&) {
            timed_out = true;
        }
        CHECK(timed_out);
        {
            const std::string got = co_await held.text();
            CHECK(got == "z");
        }
        const std::string again = co_await fetch_text(session, server.url("/"));
        CHECK(again == "z");
        CHECK(stats.accepted == 1);
        CHECK(session.open_connections() == 1);
        co_await server.shutdown(50ms);
    };
    corio_test::run_with_watchdog(body(), 10s);
}

TEST_CASE("keep_alive_timeout closes idle connections, Connection: close is not pooled", "[http_client][pool]") {
    auto body = []() -> corio::task<void> {
        reply_table table;
        table["/close"] = reply(ok_response("bye", "Connection: close\r\n")).and_close();
        scripted_server server = co_await scripted_server::start(std::move(table), ok_response("ok"));
        const corio_test::server_stats& stats = server.stats();
        http::session_options options;
        options.keep_alive_timeout = 100ms;
        http::client_session session(options);
        {
            const std::string got = co_await fetch_text(session, server.url("/"));
            CHECK(got == "ok");
        }
        CHECK(session.idle_connections() == 1);
        co_await corio::sleep(250ms);
        CHECK(session.idle_connections() == 0);
        CHECK(stats.active == 0);
        {
            const std::string got = co_await fetch_text(session, server.url("/close"));
            CHECK(got == "bye");
        }
        CHECK(session.idle_connections() == 0);
        {
            const std::string got = co_await fetch_text(session, server.url("/"));
            CHECK(got == "ok");
        }
        CHECK(stats.accepted == 3);
        co_await server.shutdown(50ms);
    };
    corio_test::run_with_watchdog(body(), 10s);
}

TEST_CASE("a pooled connection the server closed is retried once on a fresh one", "[http_client][pool]") {
    auto body = []() -> corio::task<void> {
        // "/once": answered, then the connection closes (keep-alive promised).
        // "/retry": the first time the connection closes without an answer.
        // "/post": the connection closes without an answer.
        auto retry_seen = std::make_shared<int>(0);
        const scripted_server::responder respond = [retry_seen](const http::request& r) -> reply {
            if (r.target == "/once") {
                return reply(ok_response("once")).and_close();
            }
            if (r.target == "/retry" && ++*retry_seen == 1) {
                return reply{}.and_close();
            }
            if (r.target == "/post") {
                return reply{}.and_close();
            }
            return ok_response("answered " + r.target);
        };
        scripted_server server = co_await scripted_server::start(respond);
        const corio_test::server_stats& stats = server.stats();
        http::client_session session;
        {
            const std::string got = co_await fetch_text(session, server.url("/once"));
            CHECK(got == "once");
        }
        co_await corio::sleep(30ms);  // the server's FIN arrives while the connection is idle
        CHECK(session.idle_connections() == 1);
        {
            // Seen when the connection is taken from the pool: a fresh one.
            const std::string got = co_await fetch_text(session, server.url("/warm"));
            CHECK(got == "answered /warm");
        }
        CHECK(stats.accepted == 2);
        {
            // Closed only once the request was sent: retried on a fresh one.
            const std::string got = co_await fetch_text(session, server.url("/retry"));
            CHECK(got == "answered /retry");
        }
        CHECK(*retry_seen == 2);
        CHECK(stats.accepted == 3);
        // POST is not idempotent: not retried, the failure is reported.
        bool failed = false;
        std::string message;
        try {
            auto r = co_await session.post(server.url("/post"), "data", "text/plain");
        } catch (const http::client_connection_error& e) {
            failed = true;
            message = e.what();
        }
        CHECK(failed);
        CHECK(message.find("POST http://127.0.0.1:") != std::string::npos);
        CHECK(stats.accepted == 3);
        co_await server.shutdown(50ms);
    };
    corio_test::run_with_watchdog(body(), 10s);
}

TEST_CASE("a pooled connection with unread bytes waiting is never reused", "[http_client][pool]") {
    auto body = []() -> corio::task<void> {
        // "/first" is answered, then 20 ms later the server sends a response
        // nobody asked for on the idle keep-alive connection.
        reply_table table;
        table["/first"] = reply(ok_response("first")).then(20ms, ok_response("unsolicited"));
        table["/second"] = ok_response("second");
        scripted_server server = co_await scripted_server::start(std::move(table));
        const corio_test::server_stats& stats = server.stats();
        http::client_session session;
        {
            const std::string got = co_await fetch_text(session, server.url("/first"));
            CHECK(got == "first");
        }
        CHECK(session.idle_connections() == 1);
        co_await corio::sleep(60ms);
        {
            const std::string got = co_await fetch_text(session, server.url("/second"));
            CHECK(got == "second");
        }
        CHECK(stats.accepted == 2);
        CHECK(session.connections_opened() == 2);
        {
            // The fresh connection is clean: reused.
            const std::string got = co_await fetch_text(session, server.url("/second"));
            CHECK(got == "second");
        }
        CHECK(stats.accepted == 2);
        co_await session.close();
        co_await server.shutdown(50ms);
    };
    corio_test::run_with_watchdog(body(), 10s);
}

TEST_CASE("requests carry Host, User-Agent, Accept-Encoding, Content-Length and the caller's headers",
          "[http_client]") {
    auto body = []() -> corio::task<void> {
        const scripted_server::responder respond = [](const http::request&) -> reply { return ok_response("ok"); };
        scripted_server server = co_await scripted_server::start(respond);
        const corio_test::server_stats& stats = server.stats();
        http::session_options options;
        options.default_headers.add("X-Default", "d");
        options.default_headers.add("X-Both", "from-session");
        http::client_session session(options);
        // Named, not a braced temporary in the co_await: g++ 12 rejects an
        // initializer_list temporary there ("array used as initializer").
        http::headers extra{{"X-Both", "from-request"}, {"X-Extra", "e"}};
        auto r1 = co_await session.get(server.url("/a?q=1"), extra);
        {
            const std::string got = co_await r1.text();
            CHECK(got == "ok");
        }
        auto r2 = co_await session.post(server.url("/p"), "payload", "text/plain");
        {
            const std::string got = co_await r2.text();
            CHECK(got == "ok");
        }
        // The defaulted Content-Type (a heap-allocated string) inside a
        // co_await: g++ 12 has freed defaulted class-type arguments twice there.
        auto r3 = co_await session.post(server.url("/d"), "bytes");
        {
            const std::string got = co_await r3.text();
            CHECK(got == "ok");
        }
        REQUIRE(stats.requests_seen.size() == 3);
        CHECK(std::string(stats.requests_seen[2].headers.get_or("Content-Type", "")) == "application/octet-stream");
        const http::request& get = stats.requests_seen[0];
        CHECK(get.method == "GET");
        CHECK(get.target == "/a?q=1");
        CHECK(std::string(get.headers.get_or("Host", "")) == "127.0.0.1:" + std::to_string(server.port()));
        CHECK(std::string(get.headers.get_or("User-Agent", "")) == "corio/0.1");
#if defined(CORIO_WITH_ZLIB)
        CHECK(std::string(get.headers.get_or("Accept-Encoding", "")) == "gzip, deflate");
#else
        CHECK_FALSE(get.headers.contains("Accept-Encoding"));
#endif
        CHECK(std::string(get.headers.get_or("X-Default", "")) == "d");
        CHECK(get.headers.get_all("X-Both").size() == 1);
        CHECK(std::string(get.headers.get_or("X-Both", "")) == "from-request");
        CHECK(std::string(get.headers.get_or("X-Extra", "")) == "e");
        CHECK_FALSE(get.headers.contains("Content-Length"));
        const http::request& post = stats.requests_seen[1];
        CHECK(post.method == "POST");
        CHECK(post.body == "payload");
        CHECK(std::string(post.headers.get_or("Content-Length", "")) == "7");
        CHECK(std::string(post.headers.get_or("Content-Type", "")) == "text/plain");
        // Header injection is refused before anything is sent.
        bool refused = false;
        try {
            http::headers bad{{"X-Bad", "a\r\nInjected: 1"}};
            auto r = co_await session.get(server.url("/"), bad);
        } catch (const std::invalid_argument&) {
            refused = true;
        }
        CHECK(refused);
        co_await server.shutdown(50ms);
    };
    corio_test::run_with_watchdog(body(), 10s);
}

TEST_CASE("get / post / head / del take per-request options: headers, body, Content-Type", "[http_client]") {
    auto body = []() -> corio::task<void> {
        const scripted_server::responder respond = [](const http::request&) -> reply { return ok_response("ok"); };
        scripted_server server = co_await scripted_server::start(respond);
        const corio_test::server_stats& stats = server.stats();
        http::client_session session;

        http::request_options with_header;
        with_header.headers.add("X-Per-Request", "1");
        with_header.max_redirects = 0;
        auto r1 = co_await session.get(server.url("/g"), with_header);
        const std::string t1 = co_await r1.text();
        CHECK(t1 == "ok");

        http::request_options plain;
        auto r2 = co_await session.post(server.url("/p"), "{}", "application/json", plain);
        const std::string t2 = co_await r2.text();
        CHECK(t2 == "ok");

        http::request_options typed;
        typed.headers.add("Content-Type", "text/csv");  // the caller's wins over the argument
        auto r3 = co_await session.put(server.url("/u"), "a,b", "application/octet-stream", typed);
        const std::string t3 = co_await r3.text();
        CHECK(t3 == "ok");

        auto r4 = co_await session.head(server.url("/h"), plain);
        CHECK(r4.status() == 200);
        auto r5 = co_await session.del(server.url("/d"), with_header);
        const std::string t5 = co_await r5.text();
        CHECK(t5 == "ok");
        http::request_options patch_options;
        auto r6 = co_await session.patch(server.url("/x"), "p", "text/plain", patch_options);
        const std::string t6 = co_await r6.text();
        CHECK(t6 == "ok");

        REQUIRE(stats.requests_seen.size() == 6);
        CHECK(stats.requests_seen[0].method == "GET");
        CHECK(std::string(stats.requests_seen[0].headers.get_or("X-Per-Request", "")) == "1");
        CHECK(stats.requests_seen[1].method == "POST");
        CHECK(stats.requests_seen[1].body == "{}");
        CHECK(std::string(stats.requests_seen[1].headers.get_or("Content-Type", "")) == "application/json");
        CHECK(stats.requests_seen[2].method == "PUT");
        CHECK(stats.requests_seen[2].body == "a,b");
        CHECK(std::string(stats.requests_seen[2].headers.get_or("Content-Type", "")) == "text/csv");
        CHECK(stats.requests_seen[3].method == "HEAD");
        CHECK(stats.requests_seen[4].method == "DELETE");
        CHECK(std::string(stats.requests_seen[4].headers.get_or("X-Per-Request", "")) == "1");
        CHECK(stats.requests_seen[5].method == "PATCH");
        CHECK(stats.requests_seen[5].body == "p");
        co_await server.shutdown(50ms);
    };
    corio_test::run_with_watchdog(body(), 10s);
}

TEST_CASE("chunked responses are decoded and the connection reused, HEAD has no body", "[http_client]") {
    auto body = []() -> corio::task<void> {
        const scripted_server::responder respond = [](const http::request& r) -> reply {
            if (r.method == "HEAD") {
                return "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
            }
            return reply("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
                .then(5ms, "1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\nX-Trailer: t\r\n\r\n");
        };
        scripted_server server = co_await scripted_server::start(respond);
        const corio_test::server_stats& stats = server.stats();
        http::client_session session;
        for (int i = 0; i < 3; ++i) {
            http::client_response r = co_await session.get(server.url("/"));
            CHECK(std::string(r.headers().get_or("Transfer-Encoding", "")) == "chunked");
            {
                const std::string got = co_await r.text();
                CHECK(got == "hello world!");
            }
            CHECK(r.body_complete());
        }
        http::client_response h = co_await session.head(server.url("/"));
        CHECK(h.status() == 200);
        CHECK(h.body_complete());
        {
            const std::string got = co_await h.text();
            CHECK(got == "");
        }
        {
            const std::string got = co_await fetch_text(session, server.url("/"));
            CHECK(got == "hello world!");
        }
        CHECK(stats.accepted == 1);
        co_await server.shutdown(50ms);
    };
    corio_test::run_with_watchdog(body(), 10s);
}

TEST_CASE("read_chunk streams a large body piece by piece", "[http_client]") {
    const std::size_t size = 8 * 1024 * 1024 + 5;
    const std::string expected = fx::pattern_bytes(size);
    auto body = [&]() -> corio::task<void> {
        // The body in 100 kB writes, so the client sees it arrive in pieces.
        reply big("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(expected.size()) + "\r\n\r\n");
        for (std::size_t at = 0; at < expected.size(); at += 100'000) {
            big.then(reply::duration{}, expected.substr(at, 100'000));
        }
        scripted_server server = co_await scripted_server::start(reply_table{}, std::move(big));
        http::client_session session;
        http::client_response r = co_await session.get(server.url("/big"));
        std::size_t received = 0;
        std::size_t pieces = 0;
        std::size_t largest = 0;
        bool matches = true;
        for (;;) {
            const std::string piece = co_await r.read_chunk();
            if (piece.empty()) {
                break;
            }
            matches = matches && expected.compare(received, piece.size(), piece) == 0;
            received += piece.size();
            largest = std::max(largest, piece.size());
            ++pieces;
        }
        CHECK(received == size);
        CHECK(matches);
        CHECK(pieces > 10);
        CHECK(largest <= corio::detail::http_read_buffer_size);
        CHECK(r.body_complete());
        CHECK(session.idle_connections() == 1);  // fully read: back in the pool
        co_await server.shutdown(50ms);
    };
    corio_test::run_with_watchdog(body(), 10s);
}

TEST_CASE("a server closing mid-body or mid-head is an error, never a truncated success", "[http_client][errors]") {
    auto body = []() -> corio::task<void> {
        // Each reply is cut short by closing the connection.
        reply_table table;
        table["/length"] = reply("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..").and_close();
        table["/chunked"] =
            reply("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n10\r\nabc").and_close();
        table["/head"] = reply("HTTP/1.1 200 OK\r\nContent-Le").and_close();
        table["/garbage"] = reply("SMTP ready\r\n\r\n").and_close();
        scripted_server server = co_await scripted_server::start(std::move(table), reply{}.and_close());
        http::client_session session;
        for (const char* path : {"/length", "/chunked"}) {
            http::client_response r = co_await session.get(server.url(path));
            CHECK(r.status() == 200);
            bool failed = false;
            std::string message;
            try {
                const std::string text = co_await r.text();
            } catch (const http::client_connection_error& e) {
                failed = true;
                message = e.what();
            }
            CHECK(failed);
            CHECK(message.find("closed before the end of the body") != std::string::npos);
        }
        bool head_failed = false;
        try {
            auto r = co_await session.get(server.url("/head"));
        } catch (const http::client_connection_error&) {
            head_failed = true;
        }
        CHECK(head_failed);
        bool bad = false;
        try {
            auto r = co_await session.get(server.url("/garbage"));
        } catch (const http::protocol_error&) {
            bad = true;
        }
        CHECK(bad);
        CHECK(session.open_connections() == 0);
        co_await server.shutdown(50ms);
    };
    corio_test::run_with_watchdog(body(), 10s);
}

TEST_CASE("a refused connection is a client_connection_error naming the URL", "[http_client][errors]") {
    auto body = []() -> corio::task<void> {
        scripted_server server = co_await scripted_server::start(reply_table{});
        const std::string url = server.url("/x");
        server.tcp().close();
        co_await server.tcp().wait_closed();
        http::client_session session;
        bool failed = false;
        std::string message;
        std::string failed_url;
        try {
            auto r = co_await session.get(url);
        } catch (const http::client_connection_error& e) {
            failed = true;
            message = e.what();
            failed_url = e.url();
        }
        CHECK(failed);
        CHECK(failed_url == url);
        CHECK(message.find(url) != std::string::npos);
        CHECK(message.find("refused") != std::string::npos);
        CHECK(session.open_connections() == 0);  // the reserved slot was given back
        bool bad_url = false;
        try {
            auto r = co_await session.get("ftp://example.com/");
        } catch (const http::url_error&) {
            bad_url = true;
        }
        CHECK(bad_url);
    };
    corio_test::run_with_watchdog(body(), 10s);
}

TEST_CASE("sock_read, total and connect timeouts each raise timeout_error", "[http_client][timeouts]") {
    auto body = []() -> corio::task<void> {
        reply_table table;
        table["/silent"] = reply{}.then(5s).and_close();
        table["/stall-body"] = reply("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc").then(5s).and_close();
        // A byte every 20 ms; the client gives up (total timeout) and closes.
        reply trickle("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
        for (int i = 0; i < 1000; ++i) {
            trickle.then(20ms, "x");
        }
        table["/trickle"] = std::move(trickle).and_close();
        scripted_server server = co_await scripted_server::start(std::move(table), reply{}.and_close());

        http::session_options options;
        options.timeouts.sock_read = 100ms;
        http::client_session session(options);
        corio_test::stopwatch watch;
        std::string message;
        try {
            auto r = co_await session.get(server.url("/silent"));
        } catch (const corio::timeout_error& e) {
            message = e.what();
        }
        CHECK(message.find("sock_read") != std::string::npos);
        CHECK(watch.elapsed() >= 90ms);
        CHECK(watch.elapsed() < 2s);

        http::client_response r = co_await session.get(server.url("/stall-body"));
        message.clear();
        try {
            const std::string text = co_await r.text();
        } catch (const corio::timeout_error& e) {
            message = e.what();
        }
        CHECK(message.find("sock_read") != std::string::npos);
        CHECK(session.open_connections() == 0);  // a timed-out connection is closed, not pooled

        // total covers reading the body: a trickle that never trips sock_read.
        http::request_options per_request;
        per_request.timeouts = http::client_timeouts{300ms, std::nullopt, 200ms};
        watch.restart();
        message.clear();
        try {
            auto t = co_await session.send("GET", server.url("/trickle"), per_request);
            const std::string text = co_await t.text();
        } catch (const corio::timeout_error& e) {
            message = e.what();
        }
        CHECK(message.find("total") != std::string::npos);
        CHECK(watch.elapsed() >= 280ms);
        CHECK(watch.elapsed() < 2s);
        co_await server.shutdown(50ms);
    };
    corio_test::run_with_watchdog(body(), 10s);
}

TEST_CASE("connect timeout fires when the server's accept queue is full", "[http_client][timeouts]") {
    // A listener that never accepts, with a backlog of 0: once its queue is
    // full the kernel drops SYNs, so a connect hangs.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd, 0) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    const std::uint16_t port = ntohs(a.sin_port);
    auto body = [&]() -> corio::task<void> {
        std::vector<corio::tcp_stream> fillers;
        bool stalled = false;
        for (int i = 0; i < 16 && !stalled; ++i) {
            try {
                fillers.push_back(co_await corio::wait_for(corio::open_connection("127.0.0.1", port), 100ms));
            } catch (const corio::timeout_error&) {
                stalled = true;
            }
        }
        if (!stalled) {
            WARN("the accept queue never filled; connect timeout not testable here");
            co_return;
        }
        http::session_options options;
        options.timeouts.connect = 150ms;
        http::client_session session(options);
        corio_test::stopwatch watch;
        std::string message;
        try {
            auto r = co_await session.get("http://127.0.0.1:" + std::to_string(port) + "/");
        } catch (const corio::timeout_error& e) {
            message = e.what();
        }
        CHECK(message.find("connect timeout") != std::string::npos);
        CHECK(watch.elapsed() >= 140ms);
        CHECK(watch.elapsed() < 2s);
        CHECK(session.open_connections() == 0);
    };
    corio_test::run_with_watchdog(body(), 10s);
    ::close(fd);
}

TEST_CASE("redirects follow the method rules and resolve relative Locations", "[http_client][redirects]") {
    auto body = []() -> corio::task<void> {
        std::string self_url;
        const scripted_server::responder respond = [&self_url](const http::request& r) -> reply {
            const std::string& t = r.target;
            std::string location;
            int code = 0;
            if (t.starts_with("/r/")) {
                code = std::stoi(t.substr(3, 3));
                location = "/target";
            } else if (t == "/abs") {
                code = 302;
                location = self_url + "/target?from=abs";
            } else if (t == "/dir/rel") {
                code = 301;
                location = "other";
            } else if (t == "/loop") {
                code = 302;
                location = "/loop";
            }
            if (code != 0) {
                std::string head = "HTTP/1.1 " + std::to_string(code) + " Moved\r\nLocation: " + location +
                                   "\r\nContent-Length: 9\r\n\r\n";
                if (r.method != "HEAD") {
                    head += "redirect!";
                }
                return head;
            }
            if (r.method == "HEAD") {
                return "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n";
            }
            return ok_response("at " + t);
        };
        scripted_server server = co_await scripted_server::start(respond);
        corio_test::server_stats& stats = server.stats();
        self_url = server.url();
        http::client_session session;

        for (int code : {301, 302, 303, 307, 308}) {
            stats.log.clear();
            http::client_response r =
                co_await session.post(self_url + "/r/" + std::to_string(code), "BODY", "text/plain");
            CHECK(r.status() == 200);
            CHECK(r.redirects() == 1);
            CHECK(r.url().path() == "/target");
            {
                const std::string got = co_await r.text();
                CHECK(got == "at /target");
            }
            REQUIRE(stats.log.size() == 2);
            CHECK(stats.log[0] == "POST /r/" + std::to_string(code) + " BODY");
            if (code == 307 || code == 308) {
                CHECK(stats.log[1] == "POST /target BODY");
            } else {
                CHECK(stats.log[1] == "GET /target ");
            }
        }
        stats.log.clear();
        http::client_response h = co_await session.head(self_url + "/r/302");
        CHECK(h.status() == 200);
        REQUIRE(stats.log.size() == 2);
        CHECK(stats.log[1] == "HEAD /target ");

        {
            const std::string got = co_await fetch_text(session, self_url + "/abs");
            CHECK(got == "at /target?from=abs");
        }
        {
            const std::string got = co_await fetch_text(session, self_url + "/dir/rel");
            CHECK(got == "at /dir/other");
        }

        std::vector<std::string> history;
        try {
            http::request_options five;
            five.max_redirects = 5;
            auto r = co_await session.send("GET", self_url + "/loop", five);
        } catch (const http::too_many_redirects& e) {
            history = e.history();
        }
        CHECK(history.size() == 7);  // the request, 5 followed, the one refused

        http::session_options no_follow;
        no_follow.max_redirects = 0;
        http::client_session plain(no_follow);
        http::client_response raw = co_await plain.get(self_url + "/r/301");
        CHECK(raw.status() == 301);
        CHECK(std::string(raw.headers().get_or("Location", "")) == "/target");
        {
            const std::string got = co_await raw.text();
            CHECK(got == "redirect!");
        }
        CHECK(stats.accepted == 2);  // every intermediate body drained: one connection per session
        co_await server.shutdown(50ms);
    };
    corio_test::run_with_watchdog(body(), 10s);
}

#if defined(CORIO_WITH_ZLIB)
TEST_CASE("gzip and deflate bodies are decoded, a corrupt one is a protocol_error", "[http_client][gzip]") {
    std::string text;
    for (int i = 0; i < 5000; ++i) {
        text += "compressible line " + std::to_string(i % 17) + "\n";
    }
    const std::string gz = compress_bytes(text, 15 + 16);
    const std::string zl = compress_bytes(text, 15);
    const std::string raw = compress_bytes(text, -15);
    auto body = [&]() -> corio::task<void> {
        reply_table table;
        table["/gzip"] = ok_response(gz, "Content-Encoding: gzip\r\n");
        table["/deflate"] = ok_response(zl, "Content-Encoding: deflate\r\n");
        table["/raw-deflate"] = ok_response(raw, "Content-Encoding: deflate\r\n");
        std::string chunked = "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n";
        for (std::size_t at = 0; at < gz.size(); at += 100) {
            http::append_chunk(chunked, std::string_view(gz).substr(at, 100));
        }
        http::append_chunk(chunked, "");
        table["/gzip-chunked"] = chunked;
        std::string bad = gz;
        for (std::size_t i = 20; i < 60 && i < bad.size(); ++i) {
            bad[i] = static_cast<char>(bad[i] ^ 0x5A);
        }
        table["/corrupt"] = ok_response(bad, "Content-Encoding: gzip\r\n");
        table["/truncated"] = ok_response(gz.substr(0, gz.size() / 2), "Content-Encoding: gzip\r\n");
        scripted_server server = co_await scripted_server::start(std::move(table));
        http::client_session session;
        for (const char* path : {"/gzip", "/deflate", "/raw-deflate", "/gzip-chunked"}) {
            {
                const std::string got = co_await fetch_text(session, server.url(path));
                CHECK(got == text);
            }
        }
        for (const char* path : {"/corrupt", "/truncated"}) {
            bool bad = false;
            try {
                const std::string t = co_await fetch_text(session, server.url(path));
            } catch (const http::protocol_error&) {
                bad = true;
            }
            CHECK(bad);
        }
        http::session_options off;
        off.auto_decompress = false;
        http::client_session undecoded(off);
        {
            const std::string got = co_await fetch_text(undecoded, server.url("/gzip"));
            CHECK(got == gz);
        }
        co_await server.shutdown(50ms);
    };
    corio_test::run_with_watchdog(body(), 10s);
}

// Whether a deflate body is a zlib stream or raw deflate is read from its
// first two bytes, which may come in separate pieces (here chunks).
TEST_CASE("a deflate body whose first byte comes alone is still told zlib from raw", "[http_client][gzip]") {
    // Raw deflate: a stored block "hello" (its first byte 0x08 looks like a
    // zlib header's first, the second does not complete one), then an empty
    // final block. Found by tests/fuzz/fuzz_http_inflate.
    const std::string raw_hello("\x08\x05\x00\xfa\xff" "hello" "\x03\x00", 12);
    const std::string zlib_text = compress_bytes("zlib text", 15);
    auto first_byte_alone = [](std::string_view encoded) {
        std::string r = "HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nTransfer-Encoding: chunked\r\n\r\n";
        http::append_chunk(r, encoded.substr(0, 1));
        if (encoded.size() > 1) {
            http::append_chunk(r, encoded.substr(1));
        }
        http::append_chunk(r, "");
        return r;
    };
    auto body = [&]() -> corio::task<void> {
        reply_table table;
        table["/raw"] = first_byte_alone(raw_hello);
        table["/zlib"] = first_byte_alone(zlib_text);
        table["/one-byte"] = first_byte_alone("\x78");
        scripted_server server = co_await scripted_server::start(std::move(table));
        http::client_session session;
        CHECK(co_await fetch_text(session, server.url("/raw")) == "hello");
        CHECK(co_await fetch_text(session, server.url("/zlib")) == "zlib text");
        std::string error;
        try {
            const std::string t = co_await fetch_text(session, server.url("/one-byte"));
        } catch (const http::protocol_error& e) {
            error = e.what();
        }
        CHECK_THAT(error, Catch::Matchers::Contains("compressed stream truncated"));
        co_await server.shutdown(50ms);
    };
    corio_test::run_with_watchdog(body(), 10s);
}

// Decoding and body limits (issue #12): a body never grows memory past
// max_body_size, read_chunk pieces stay small, and inflating never holds the loop.
TEST_CASE("read_chunk hands out at most max_chunk_size bytes, also after decoding", "[http_client][gzip]") {
    const std::string plain = fx::pattern_bytes(1 << 20) + std::string(7 << 20, 'z');
    const std::string gz = compress_bytes(plain, 15 + 16);
    auto body = [&]() -> corio::task<void> {
        reply_table table;
        table["/gz"] = ok_response(gz, "Content-Encoding: gzip\r\n");
        // Chunked in 1000-byte chunks: a piece can end in the middle of one.
        std::string chunked = "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n";
        for (std::size_t at = 0; at < gz.size(); at += 1000) {
            http::append_chunk(chunked, std::string_view(gz).substr(at, 1000));
        }
        http::append_chunk(chunked, "");
        table["/gz-chunked"] = chunked;
        scripted_server server = co_await scripted_server::start(std::move(table));
        http::client_session session;
        for (const char* path : {"/gz", "/gz-chunked"}) {
            INFO(path);
            http::client_response r = co_await session.get(server.url(path));
            std::size_t received = 0;
            std::size_t largest = 0;
            bool matches = true;
            for (;;) {
                const std::string piece = co_await r.read_chunk();
                if (piece.empty()) {
                    break;
                }
                matches = matches && plain.compare(received, piece.size(), piece) == 0;
                received += piece.size();
                largest = std::max(largest, piece.size());
            }
            CHECK(received == plain.size());
            CHECK(matches);
            CHECK(largest <= http::client_response::max_chunk_size);
            CHECK(r.body_complete());
            CHECK(session.idle_connections() == 1);
        }
        CHECK(server.stats().accepted == 1);
        co_await server.shutdown(50ms);
    };
    corio_test::run_with_watchdog(body(), 20s);
}

TEST_CASE("inflating a body that expands a thousandfold never holds the loop", "[http_client][gzip]") {
    // 128 gzip members of 1 MiB of zeros each (RFC 1952 allows members back
    // to back): 128 MiB from about 130 kB, so one 64 KiB read holds ~64 MiB.
    const std::string member = compress_bytes(std::string(1 << 20, '\0'), 15 + 16);
    std::string gz;
    for (int i = 0; i < 128; ++i) {
        gz += member;
    }
    auto body = [&]() -> corio::task<void> {
        scripted_server server = co_await scripted_server::start(reply_table{}, ok_response(gz, "Content-Encoding: gzip\r\n"));
        http::client_session session;
        http::client_response r = co_await session.get(server.url("/bomb"));
        // The loop's longest stretch without running the ticker, from the
        // first read to the last (a read that never yields is one long gap),
        // in CPU time: on a loaded machine wall-clock gaps measure the OS.
        bool reading = true;
        std::chrono::microseconds longest_gap{};
        auto last = process_cpu_time();
        auto ticker = [&]() -> corio::task<void> {
            while (reading) {
                co_await corio::sleep(1ms);
                const auto now = process_cpu_time();
                longest_gap = std::max(longest_gap, now - last);
                last = now;
            }
        };
        auto ticking = corio::create_task(ticker());
        std::size_t received = 0;
        for (;;) {
            const std::string piece = co_await r.read_chunk();
            if (piece.empty()) {
                break;
            }
            received += piece.size();
        }
        longest_gap = std::max(longest_gap, process_cpu_time() - last);
        reading = false;
        co_await ticking;
        CHECK(received == std::size_t{128} << 20);
        // Between two yields 256 KiB inflate in about a millisecond; the
        // whole read takes ~250 ms.
        CHECK(longest_gap < 50ms);
        co_await server.shutdown(50ms);
    };
    corio_test::run_with_watchdog(body(), 30s);
}

#endif

namespace {

// What a body read threw: body_too_large's limit and message, or -1.
struct too_large_outcome {
    long long limit = -1;
    std::string what;
    std::string url;
};

corio::task<too_large_outcome> read_expecting_too_large(http::client_response& r, bool streaming) {
    too_large_outcome outcome;
    try {
        if (streaming) {
            for (;;) {
                const std::string piece = co_await r.read_chunk();
                if (piece.empty()) {
                    break;
                }
            }
        } else {
            const std::string all = co_await r.text();
        }
    } catch (const http::body_too_large& e) {
        outcome.limit = static_cast<long long>(e.limit());
        outcome.what = e.what();
        outcome.url = e.url();
    }
    co_return outcome;
}

// Sends a chunked body that never ends, until the client goes away.
corio::task<void> serve_endless_chunks(corio::tcp_stream stream) {
    std::string request;
    while (request.find("\r\n\r\n") == std::string::npos) {
        const std::string more = co_await stream.read();
        if (more.empty()) {
            co_return;
        }
        request += more;
    }
    std::string chunk;
    http::append_chunk(chunk, std::string(64 * 1024, 'e'));
    try {
        co_await stream.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        for (;;) {
            co_await stream.write(chunk);
        }
    } catch (const std::system_error&) {
    }
}

}  // namespace

#if defined(CORIO_WITH_ZLIB)
TEST_CASE("a body past max_body_size is body_too_large, counted after decoding, and its connection closed",
          "[http_client][limits]") {
    const std::string bomb = compress_bytes(std::string(16 << 20, '\0'), 15 + 16);  // 16 MiB from ~16 kB
    auto body = [&]() -> corio::task<void> {
        reply_table table;
        table["/bomb"] = ok_response(bomb, "Content-Encoding: gzip\r\n");
        table["/declared"] = ok_response(std::string((1 << 20) + 1, 'd'));
        table["/exact"] = ok_response(std::string(1 << 20, 'x'));
        std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        for (int i = 0; i < 40; ++i) {
            http::append_chunk(chunked, std::string(32 * 1024, 'c'));
        }
        http::append_chunk(chunked, "");
        table["/chunked"] = chunked;
        table["/until-close"] =
            reply("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + std::string(3 << 20, 'u')).and_close();
        scripted_server server = co_await scripted_server::start(std::move(table));
        http::session_options options;
        options.max_body_size = 1 << 20;
        http::client_session session(options);
        for (const char* path : {"/bomb", "/declared", "/chunked", "/until-close"}) {
            for (const bool streaming : {false, true}) {
                http::client_response r = co_await session.get(server.url(path));
                const too_large_outcome outcome = co_await read_expecting_too_large(r, streaming);
                INFO(path << (streaming ? " read_chunk" : " text"));
                CHECK(outcome.limit == 1 << 20);
                CHECK(outcome.url == server.url(path));
                CHECK(outcome.what.find(server.url(path)) != std::string::npos);
                CHECK(outcome.what.find("1048576") != std::string::npos);
                CHECK(r.body_complete());
                CHECK(session.open_connections() == 0);  // closed, not pooled
            }
        }
        {
            const std::string exact = co_await fetch_text(session, server.url("/exact"));
            CHECK(exact.size() == std::size_t{1} << 20);
        }
        // A request may raise (or drop) the limit.
        http::request_options unlimited;
        unlimited.max_body_size = http::no_body_limit;
        http::client_response big = co_await session.send("GET", server.url("/bomb"), unlimited);
        const std::string all = co_await big.text();
        CHECK(all.size() == std::size_t{16} << 20);
        http::request_options tight;
        tight.max_body_size = 1000;
        http::client_response small = co_await session.send("GET", server.url("/exact"), tight);
        const too_large_outcome outcome = co_await read_expecting_too_large(small, true);
        CHECK(outcome.limit == 1000);
        co_await server.shutdown(50ms);
    };
    corio_test::run_with_watchdog(body(), 30s);
}
#endif

TEST_CASE("an endless chunked body stops at max_body_size", "[http_client][limits]") {
    auto body = []() -> corio::task<void> {
        corio::tcp_server server = co_await corio::start_server(serve_endless_chunks, "127.0.0.1", 0);
        http::session_options options;
        options.max_body_size = 4 << 20;
        http::client_session session(options);
        const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/endless";
        for (const bool streaming : {false, true}) {
            http::client_response r = co_await session.get(url);
            const too_large_outcome outcome = co_await read_expecting_too_large(r, streaming);
            CHECK(outcome.limit == 4 << 20);
        }
        CHECK(session.open_connections() == 0);
        co_await server.shutdown(50ms);
    };
    corio_test::run_with_watchdog(body(), 20s);
}

TEST_CASE("a response outlives its session, requests after close fail", "[http_client]") {
    auto body = []() -> corio::task<void> {
        scripted_server server = co_await scripted_server::start(reply_table{}, ok_response("still here"));
        std::optional<http::client_response> kept;
        {
            http::client_session session;
            kept.emplace(co_await session.get(server.url("/")));
        }
        {
            const std::string got = co_await kept->text();
            CHECK(got == "still here");
        }
        http::client_session closing;
        co_await closing.close();
        bool failed = false;
        try {
            auto r = co_await closing.get(server.url("/"));
        } catch (const http::client_connection_error&) {
            failed = true;
        }
        CHECK(failed);
        co_await server.shutdown(50ms);
    };
    corio_test::run_with_watchdog(body(), 10s);
}

TEST_CASE("against nginx: static files, keep-alive, chunked, gzip, redirect", "[http_client][nginx]") {
    fx::nginx_server nginx;
    if (!nginx.available()) {
        corio_test::skip_test("nginx not available: apt-get install nginx");
        return;
    }
    auto body = [&]() -> corio::task<void> {
        http::client_session session;
        http::client_response index = co_await session.get(nginx.url("/index.html"));
        CHECK(index.status() == 200);
        CHECK(index.headers().get_or("Server", "").starts_with("nginx"));
        {
            const std::string got = co_await index.text();
            CHECK(got == "<html><body>corio nginx test</body></html>\n");
        }

        http::client_response large = co_await session.get(nginx.url("/large.bin"));
        const std::string bytes = co_await large.bytes();
        CHECK(bytes.size() == fx::nginx_server::large_size);
        CHECK(bytes == fx::pattern_bytes(fx::nginx_server::large_size));

        http::client_response chunked = co_await session.get(nginx.url("/chunked/text.txt"));
        CHECK(std::string(chunked.headers().get_or("Transfer-Encoding", "")) == "chunked");
        std::string expected = nginx.text();
        for (std::size_t at = expected.find("line"); at != std::string::npos; at = expected.find("line", at)) {
            expected.replace(at, 4, "LINE");
        }
        {
            const std::string got = co_await chunked.text();
            CHECK(got == expected);
        }

#if defined(CORIO_WITH_ZLIB)
        http::client_response gz = co_await session.get(nginx.url("/gz/text.txt"));
        CHECK(std::string(gz.headers().get_or("Content-Encoding", "")) == "gzip");
        {
            const std::string got = co_await gz.text();
            CHECK(got == nginx.text());
        }
#endif

        http::client_response moved = co_await session.get(nginx.url("/redirect"));
        CHECK(moved.status() == 200);
        CHECK(moved.redirects() == 1);
        CHECK(moved.url().path() == "/index.html");
        {
            const std::string got = co_await moved.text();
            CHECK(got == "<html><body>corio nginx test</body></html>\n");
        }

        http::client_response missing = co_await session.get(nginx.url("/missing"));
        CHECK(missing.status() == 404);
        CHECK_FALSE(missing.ok());
        const std::string missing_body = co_await missing.text();
        CHECK(missing_body.find("404") != std::string::npos);

        CHECK(session.connections_opened() == 1);  // nginx kept the one connection alive throughout

        // Concurrent requests, at most 4 connections.
        http::session_options options;
        options.limit = 4;
        http::client_session pooled(options);
        std::vector<corio::task<std::string>> tasks;
        for (int i = 0; i < 40; ++i) {
            tasks.push_back(fetch_text(pooled, nginx.url("/index.html")));
        }
        const std::vector<std::string> results = co_await corio::gather(std::move(tasks));
        CHECK(std::count(results.begin(), results.end(), "<html><body>corio nginx test</body></html>\n") == 40);
        CHECK(pooled.connections_opened() <= 4);
    };
    corio_test::run_with_watchdog(body(), 10s);
}

TEST_CASE("against python3 -m http.server (HTTP/1.0, close-delimited keep-alive off)", "[http_client][python]") {
    fx::python_http_server python;
    if (!python.available()) {
        corio_test::skip_test("python3 http.server not available: apt-get install python3");
        return;
    }
    auto body = [&]() -> corio::task<void> {
        http::client_session session;
        {
            const std::string got = co_await fetch_text(session, python.url("/hello.txt"));
            CHECK(got == "hello from python\n");
        }
        http::client_response large = co_await session.get(python.url("/large.bin"));
        CHECK(large.status() == 200);
        std::size_t received = 0;
        for (;;) {
            const std::string piece = co_await large.read_chunk();
            if (piece.empty()) {
                break;
            }
            received += piece.size();
        }
        CHECK(received == fx::python_http_server::large_size);
        http::client_response missing = co_await session.get(python.url("/nope"));
        CHECK(missing.status() == 404);
        const std::string ignored = co_await missing.text();
        CHECK(session.idle_connections() == 0);  // HTTP/1.0 without keep-alive: never pooled
        CHECK(session.connections_opened() == 3);
    };
    corio_test::run_with_watchdog(body(), 10s);
}

TEST_CASE("against corio's own http::server: reuse, limits, bodies, statuses", "[http_client][server]") {
    auto body = []() -> corio::task<void> {
        http::router routes;
        routes.get("/users/{name}", [](http::request& r) -> corio::task<http::response> {
            co_return http::json_response(R"({"login": ")" + std::string(r.path_params.at("name")) + R"("})");
        });
        routes.post("/echo", [](http::request& r) -> corio::task<http::response> {
            co_await corio::sleep(1ms);
            co_return http::text_response(200, r.body, "application/octet-stream");
        });
        http::server server = co_await http::start_server(routes, "127.0.0.1", 0);
        const std::string base = "http://127.0.0.1:" + std::to_string(server.port());

        http::client_session session;
        for (int i = 0; i < 20; ++i) {
            const std::string got = co_await fetch_text(session, base + "/users/u" + std::to_string(i));
            CHECK(got == R"({"login": "u)" + std::to_string(i) + R"("})");
        }
        CHECK(server.connections_accepted() == 1);  // one kept-alive connection for 20 requests
        CHECK(server.requests_served() == 20);

        const std::string big(1 << 20, 'b');
        http::client_response echoed = co_await session.post(base + "/echo", big);
        CHECK(echoed.status() == 200);
        const std::string echoed_body = co_await echoed.bytes();
        CHECK(echoed_body == big);

        http::client_response missing = co_await session.get(base + "/nope");
        CHECK(missing.status() == 404);
        const std::string ignored = co_await missing.text();
        http::client_response head = co_await session.head(base + "/users/x");
        CHECK(head.status() == 200);
        CHECK(std::string(head.headers().get_or("Content-Length", "")) == "14");  // {"login": "x"}
        const std::string head_body = co_await head.text();
        CHECK(head_body.empty());
        CHECK(server.connections_accepted() == 1);
        co_await session.close();

        // 40 concurrent requests through a session limited to 4 connections.
        http::session_options limited;
        limited.limit = 4;
        http::client_session bounded(limited);
        std::vector<corio::task<std::string>> tasks;
        for (int i = 0; i < 40; ++i) {
            tasks.push_back(fetch_text(bounded, base + "/users/c" + std::to_string(i)));
        }
        const std::vector<std::string> bodies = co_await corio::gather(std::move(tasks));
        REQUIRE(bodies.size() == 40);
        CHECK(bodies[39] == R"({"login": "c39"})");
        CHECK(bounded.connections_opened() <= 4);
        CHECK(server.connections_accepted() <= 1 + 4);
        co_await bounded.close();
        co_await server.shutdown(100ms);
    };
    corio_test::run_with_watchdog(body(), 20s);
}
