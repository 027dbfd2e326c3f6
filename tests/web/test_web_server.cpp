// Tests of corio::web behind a real http::server (corio's client over
// loopback) and of its middleware (corio/web/middleware.hpp); handlers
// reading streamed bodies in process (test_client) and on app.run's workers.
#include <corio/web.hpp>
#include <corio/web/json_implementation.hpp>

#include <corio/generator.hpp>
#include <corio/http/client.hpp>
#include <corio/sleep.hpp>

#include "catch.hpp"
#include "test_support.hpp"
#if defined(CORIO_WITH_TLS)
#include "tls_support.hpp"
#endif

#include <pthread.h>

#include <boost/describe.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <future>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace http = corio::http;
namespace web = corio::web;
namespace json = boost::json;
using corio_test::run_with_watchdog;

namespace {

struct greeting {
    std::string message;
};
BOOST_DESCRIBE_STRUCT(greeting, (), (message))

web::app greeting_app() {
    web::app app;
    app.get("/json", [] { return greeting{"Hello, World!"}; });
    app.post("/echo/{times}", [](int times, greeting body) {
        std::string repeated;
        for (int i = 0; i < times; ++i) {
            repeated += body.message;
        }
        return greeting{repeated};
    });
    return app;
}

}  // namespace

TEST_CASE("an app served over a socket answers corio's client") {
    web::app app = greeting_app();
    run_with_watchdog([&]() -> corio::task<void> {
        http::server server = co_await app.serve("127.0.0.1", 0);
        const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
        http::client_session session;
        http::client_response hello = co_await session.get(base + "/json");
        const std::string hello_body = co_await hello.text();
        CHECK(hello.status() == 200);
        CHECK(std::string(hello.headers().get_or("Content-Type", "")) == "application/json");
        CHECK(hello_body == R"({"message":"Hello, World!"})");

        http::client_response echoed = co_await session.post(base + "/echo/3", R"({"message":"ab"})",
                                                             "application/json");
        const std::string echoed_body = co_await echoed.text();
        CHECK(echoed.status() == 200);
        CHECK(json::parse(echoed_body) == json::parse(R"({"message":"ababab"})"));

        http::client_response invalid = co_await session.post(base + "/echo/x", R"({"msg":1})", "application/json");
        const std::string invalid_body = co_await invalid.text();
        CHECK(invalid.status() == 422);
        CHECK(json::parse(invalid_body).at("detail").as_array().size() == 2);
        co_await server.shutdown(std::chrono::seconds(1));
    }());
}

namespace {

web::app middleware_app(std::vector<web::access_log_entry>& log, std::vector<std::string>& order) {
    web::app app;
    app.use(web::request_logger([&log](const web::access_log_entry& e) { log.push_back(e); }));
    app.use([&order](http::request& request, web::next rest) -> corio::task<http::response> {
        order.push_back("outer before");
        http::response r = co_await rest(request);
        order.push_back("outer after");
        co_return r;
    });
    app.use(web::request_id());
    app.use(web::cors({.allow_origins = {"https://app.example"},
                       .allow_methods = {"GET", "POST"},
                       .allow_headers = {"Content-Type", "X-Token"},
                       .expose_headers = {"X-Request-ID"},
                       .allow_credentials = true,
                       .max_age_seconds = 60}));
    app.use(web::gzip({.minimum_size = 100, .level = 6}));
    app.get("/small", [&order] {
        order.push_back("handler");
        return greeting{"hi"};
    });
    app.get("/big", [] { return http::text_response(std::string(5000, 'a')); });
    app.get("/id", [](web::header<std::string, "X-Request-ID"> id) { return greeting{*id}; });
    web::middleware auth = web::bearer_auth([](std::string_view token) { return token == "s3cret"; });
    app.get("/private", [] { return greeting{"secret"}; }, {.middleware = {auth}});
    app.get("/private/fail", []() -> greeting { throw web::http_exception(409, "conflict"); },
            {.middleware = {auth}});
    return app;
}

}  // namespace

TEST_CASE("global middleware runs in order around the handler and logs each request") {
    std::vector<web::access_log_entry> log;
    std::vector<std::string> order;
    web::test_client client(middleware_app(log, order));
    CHECK(client.get("/small?x=1").status == 200);
    CHECK(order == std::vector<std::string>{"outer before", "handler", "outer after"});
    CHECK(client.get("/missing").status == 404);
    REQUIRE(log.size() == 2);
    CHECK(log[0].method == "GET");
    CHECK(log[0].target == "/small?x=1");
    CHECK(log[0].status == 200);
    CHECK(log[1].status == 404);
    CHECK(log[0].duration.count() >= 0);
}

TEST_CASE("cors answers preflights and marks allowed origins") {
    std::vector<web::access_log_entry> log;
    std::vector<std::string> order;
    web::test_client client(middleware_app(log, order));
    const web::test_response preflight =
        client.options("/small", {{"Origin", "https://app.example"},
                                  {"Access-Control-Request-Method", "POST"},
                                  {"Access-Control-Request-Headers", "content-type, x-token"}});
    CHECK(preflight.status == 200);
    CHECK(preflight.header("Access-Control-Allow-Origin") == "https://app.example");
    CHECK(preflight.header("Access-Control-Allow-Methods") == "GET, POST");
    CHECK(preflight.header("Access-Control-Allow-Credentials") == "true");
    CHECK(preflight.header("Access-Control-Max-Age") == "60");
    CHECK(std::find(order.begin(), order.end(), "handler") == order.end());  // answered before the handler

    CHECK(client.options("/small", {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "GET"}})
              .status == 400);
    CHECK(client.options("/small", {{"Origin", "https://app.example"}, {"Access-Control-Request-Method", "DELETE"}})
              .status == 400);
    CHECK(client.options("/small", {{"Origin", "https://app.example"},
                                    {"Access-Control-Request-Method", "GET"},
                                    {"Access-Control-Request-Headers", "X-Other"}})
              .status == 400);

    const web::test_response simple = client.get("/small", {{"Origin", "https://app.example"}});
    CHECK(simple.header("Access-Control-Allow-Origin") == "https://app.example");
    CHECK(simple.header("Access-Control-Expose-Headers") == "X-Request-ID");
    const web::test_response foreign = client.get("/small", {{"Origin", "https://evil.example"}});
    CHECK(foreign.status == 200);
    CHECK(foreign.header("Access-Control-Allow-Origin").empty());
}

TEST_CASE("request ids are kept or made and reach the handler") {
    std::vector<web::access_log_entry> log;
    std::vector<std::string> order;
    web::test_client client(middleware_app(log, order));
    const web::test_response given = client.get("/id", {{"X-Request-ID", "abc-123"}});
    CHECK(given.header("X-Request-ID") == "abc-123");
    CHECK(given.json().at("message").as_string() == "abc-123");
    const web::test_response made = client.get("/id");
    const std::string id = made.header("X-Request-ID");
    CHECK(id.size() == 32);
    CHECK(made.json().at("message").as_string() == id);
    CHECK(client.get("/id").header("X-Request-ID") != id);
}

TEST_CASE("bearer auth on a route answers 401 without a valid token") {
    std::vector<web::access_log_entry> log;
    std::vector<std::string> order;
    web::test_client client(middleware_app(log, order));
    const web::test_response anonymous = client.get("/private");
    CHECK(anonymous.status == 401);
    CHECK(anonymous.header("WWW-Authenticate") == "Bearer");
    CHECK(anonymous.json().at("detail").as_string() == "Not authenticated");
    CHECK(client.get("/private", {{"Authorization", "Bearer wrong"}}).status == 401);
    CHECK(client.get("/private", {{"Authorization", "Basic czNjcmV0"}}).status == 401);
    const web::test_response allowed = client.get("/private", {{"Authorization", "bearer s3cret"}});
    CHECK(allowed.status == 200);
    CHECK(allowed.json().at("message").as_string() == "secret");
    CHECK(client.get("/private/fail", {{"Authorization", "Bearer s3cret"}}).status == 409);
    CHECK(client.get("/small").status == 200);  // other routes need no token
    REQUIRE(log.size() == 6);
    CHECK(log[0].status == 401);
}

TEST_CASE("gzip compresses large bodies for clients that accept it") {
    std::vector<web::access_log_entry> log;
    std::vector<std::string> order;
    web::test_client client(middleware_app(log, order));
    const web::test_response plain = client.get("/big");
    CHECK(plain.header("Content-Encoding").empty());
    CHECK(plain.body.size() == 5000);
    const web::test_response small = client.get("/small", {{"Accept-Encoding", "gzip"}});
    CHECK(small.header("Content-Encoding").empty());
#if defined(CORIO_WITH_ZLIB)
    const web::test_response packed = client.get("/big", {{"Accept-Encoding", "gzip, deflate"}});
    CHECK(packed.header("Content-Encoding") == "gzip");
    CHECK(packed.header("Vary").find("Accept-Encoding") != std::string::npos);
    REQUIRE(packed.body.size() > 2);
    CHECK(packed.body.size() < 200);
    CHECK(static_cast<unsigned char>(packed.body[0]) == 0x1f);
    CHECK(static_cast<unsigned char>(packed.body[1]) == 0x8b);

    // corio's client asks for gzip and decodes it: the round trip is exact.
    std::vector<web::access_log_entry> served_log;
    std::vector<std::string> served_order;
    web::app app = middleware_app(served_log, served_order);
    run_with_watchdog([&]() -> corio::task<void> {
        http::server server = co_await app.serve("127.0.0.1", 0);
        http::client_session session;
        http::client_response big =
            co_await session.get("http://127.0.0.1:" + std::to_string(server.port()) + "/big");
        const std::string body = co_await big.text();
        CHECK(big.status() == 200);
        CHECK(body == std::string(5000, 'a'));
        co_await server.shutdown(std::chrono::seconds(1));
    }());
#endif
}

namespace {

// A temporary directory with a small site, removed at the end of the test.
struct site_directory {
    std::filesystem::path root;
    site_directory() {
        root = std::filesystem::temp_directory_path() /
               ("corio_web_static_" + std::to_string(reinterpret_cast<std::uintptr_t>(this)));
        std::filesystem::create_directories(root / "css");
        std::ofstream(root / "index.html") << "<h1>home</h1>";
        std::ofstream(root / "css" / "site.css") << "0123456789";
        std::ofstream(root.parent_path() / "corio_web_secret.txt") << "secret";
    }
    ~site_directory() {
        std::error_code ignored;
        std::filesystem::remove_all(root, ignored);
        std::filesystem::remove(root.parent_path() / "corio_web_secret.txt", ignored);
    }
};

}  // namespace

TEST_CASE("static files carry their type, an ETag, 304 and byte ranges") {
    site_directory site;
    web::app app;
    app.mount_static("/static", site.root);
    app.get("/old", [] { return web::redirect_response("/static/", 308); });
    app.get("/page", [] { return web::html_response("<p>hi</p>"); });
    web::test_client client(app);

    const web::test_response css = client.get("/static/css/site.css");
    REQUIRE(css.status == 200);
    CHECK(css.body == "0123456789");
    CHECK(css.header("Content-Type") == "text/css; charset=utf-8");
    CHECK(css.header("Accept-Ranges") == "bytes");
    const std::string etag = css.header("ETag");
    REQUIRE(etag.rfind("W/\"", 0) == 0);
    const web::test_response again = client.get("/static/css/site.css", {{"If-None-Match", etag}});
    CHECK(again.status == 304);
    CHECK(again.body.empty());
    CHECK(client.get("/static/css/site.css", {{"If-None-Match", "W/\"other\""}}).status == 200);

    const web::test_response part = client.get("/static/css/site.css", {{"Range", "bytes=2-4"}});
    CHECK(part.status == 206);
    CHECK(part.body == "234");
    CHECK(part.header("Content-Range") == "bytes 2-4/10");
    CHECK(client.get("/static/css/site.css", {{"Range", "bytes=-3"}}).body == "789");
    CHECK(client.get("/static/css/site.css", {{"Range", "bytes=7-"}}).body == "789");
    const web::test_response beyond = client.get("/static/css/site.css", {{"Range", "bytes=20-30"}});
    CHECK(beyond.status == 416);
    CHECK(beyond.header("Content-Range") == "bytes */10");

    const web::test_response index = client.get("/static/");
    CHECK(index.status == 200);
    CHECK(index.body == "<h1>home</h1>");
    CHECK(index.header("Content-Type") == "text/html; charset=utf-8");
    CHECK(client.get("/static/nope.txt").status == 404);
    CHECK(client.get("/static/../corio_web_secret.txt").status == 404);
    CHECK(client.get("/static/css/..%2F..%2Fcorio_web_secret.txt").status == 404);

    const web::test_response moved = client.get("/old");
    CHECK(moved.status == 308);
    CHECK(moved.header("Location") == "/static/");
    CHECK(client.get("/page").header("Content-Type") == "text/html; charset=utf-8");
}

TEST_CASE("app.run serves on several loops and stops on SIGTERM", "[threads]") {
    web::app app;
    std::mutex seen_mutex;
    std::set<std::thread::id> serving_threads;
    app.get("/who", [&] {
        const std::lock_guard<std::mutex> lock(seen_mutex);
        serving_threads.insert(std::this_thread::get_id());
        return greeting{"ok"};
    });
    std::promise<std::uint16_t> ready;
    std::future<std::uint16_t> port_future = ready.get_future();
    std::exception_ptr run_error;
    std::atomic<bool> returned{false};
    std::thread server_thread([&] {
        try {
            app.run("127.0.0.1", 0,
                    {.workers = 3, .grace = std::chrono::milliseconds(500),
                     .on_ready = [&ready](std::uint16_t port) { ready.set_value(port); }});
        } catch (...) {
            run_error = std::current_exception();
        }
        returned = true;
    });
    REQUIRE(port_future.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    const std::uint16_t port = port_future.get();
    int answered = run_with_watchdog([port]() -> corio::task<int> {
        int ok = 0;
        for (int i = 0; i < 30; ++i) {
            http::session_options fresh;
            http::client_session session(fresh);  // a new connection each time, so the kernel spreads them
            http::client_response r = co_await session.get("http://127.0.0.1:" + std::to_string(port) + "/who");
            const std::string body = co_await r.text();
            ok += r.status() == 200 && body == R"({"message":"ok"})" ? 1 : 0;
        }
        co_return ok;
    }(), std::chrono::seconds(20));
    CHECK(answered == 30);
    CHECK(!returned);
    pthread_kill(server_thread.native_handle(), SIGTERM);
    server_thread.join();
    CHECK(returned);
    CHECK_FALSE(run_error);
    const std::lock_guard<std::mutex> lock(seen_mutex);
    CHECK(serving_threads.size() >= 1);
    CHECK(serving_threads.size() <= 3);
}

// ---- Server-Sent Events (corio/web/event_stream.hpp) -----------------------

TEST_CASE("an SSE event is formatted line by line and bad fields are refused") {
    CHECK(web::format_sse_event({.data = "hello"}) == "data: hello\n\n");
    CHECK(web::format_sse_event({.data = "a\nb\r\nc\rd", .event = "update", .id = "7",
                                 .retry = std::chrono::milliseconds(2500)}) ==
          "event: update\nid: 7\nretry: 2500\ndata: a\ndata: b\ndata: c\ndata: d\n\n");
    CHECK(web::format_sse_event({}) == "data: \n\n");
    CHECK(web::format_sse_event({.data = "end\n"}) == "data: end\ndata: \n\n");
    CHECK_THROWS_AS(web::format_sse_event({.data = "x", .event = "two\nlines"}), std::invalid_argument);
    CHECK_THROWS_AS(web::format_sse_event({.data = "x", .id = "a\rb"}), std::invalid_argument);
    CHECK_THROWS_AS(web::format_sse_event({.data = "x", .id = std::string("a\0b", 3)}), std::invalid_argument);
}

namespace {

// What an event generator saw of its consumer.
struct sse_seen {
    int yielded = 0;
    bool finished = false;
    bool cancelled = false;
};

corio::async_generator<web::sse_event> counted_events(int count, std::chrono::milliseconds gap, sse_seen& seen) {
    try {
        for (int i = 0; i < count; ++i) {
            // Named, not a braced temporary in the co_yield, which g++ 12
            // miscompiles at -O2 (see corio/web/event_stream.hpp).
            web::sse_event e{.data = "n=" + std::to_string(i), .event = "tick", .id = std::to_string(i)};
            co_yield std::move(e);
            ++seen.yielded;
            co_await corio::sleep(gap);
        }
    } catch (const corio::cancelled_error&) {
        seen.cancelled = true;
        throw;
    }
    seen.finished = true;
}

web::app sse_app(sse_seen& quick, sse_seen& slow, sse_seen& endless) {
    web::app app;
    app.use(web::gzip({.minimum_size = 1, .level = 6}));  // must leave the stream alone
    app.get("/quick", [&quick] { return web::sse_response(counted_events(3, std::chrono::milliseconds(1), quick)); });
    app.get("/slow", [&slow] {
        return web::sse_response(counted_events(2, std::chrono::milliseconds(300), slow),
                                 {.keep_alive = std::chrono::milliseconds(50)});
    });
    app.get("/endless", [&endless] {
        return web::sse_response(counted_events(1'000'000, std::chrono::milliseconds(20), endless),
                                 {.keep_alive = std::chrono::milliseconds(1000)});
    });
    return app;
}

// Reads from `response` until `text` has arrived; returns all read.
corio::task<std::string> read_until_seen(http::client_response& response, std::string text) {
    std::string all;
    while (all.find(text) == std::string::npos) {
        std::string piece = co_await response.read_chunk();
        if (piece.empty()) {
            break;
        }
        all += piece;
    }
    co_return all;
}

}  // namespace

TEST_CASE("sse_response streams events, keeps an idle stream alive, and a client leaving cancels the generator") {
    sse_seen quick, slow, endless;
    web::app app = sse_app(quick, slow, endless);
    run_with_watchdog([&]() -> corio::task<void> {
        http::server server = co_await app.serve("127.0.0.1", 0);
        const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
        http::client_session session;

        http::headers accept_gzip;
        accept_gzip.add("Accept-Encoding", "gzip");
        http::client_response events = co_await session.get(base + "/quick", std::move(accept_gzip));
        const std::string all = co_await events.text();
        CHECK(events.status() == 200);
        CHECK(std::string(events.headers().get_or("Content-Type", "")) == "text/event-stream");
        CHECK(std::string(events.headers().get_or("Cache-Control", "")) == "no-cache");
        CHECK_FALSE(events.headers().contains("Content-Encoding"));
        CHECK(all ==
              "event: tick\nid: 0\ndata: n=0\n\nevent: tick\nid: 1\ndata: n=1\n\nevent: tick\nid: 2\ndata: n=2\n\n");
        CHECK(quick.finished);

        // 300 ms between events, a comment every 50 ms of silence.
        http::client_response idle = co_await session.get(base + "/slow");
        const std::string slow_all = co_await idle.text();
        const std::size_t first = slow_all.find("data: n=0\n\n");
        const std::size_t second = slow_all.find("data: n=1\n\n");
        REQUIRE(first != std::string::npos);
        REQUIRE(second != std::string::npos);
        CHECK(slow_all.find(": keep-alive\n\n", first) < second);
        CHECK(slow.finished);

        {
            http::client_response endless_response = co_await session.get(base + "/endless");
            std::string third = "data: n=2\n\n";
            const std::string start = co_await read_until_seen(endless_response, std::move(third));
            CHECK(start.find("data: n=2\n\n") != std::string::npos);
        }  // dropped mid-body: the connection is closed, not pooled
        for (int i = 0; i < 500 && !endless.cancelled; ++i) {
            co_await corio::sleep(std::chrono::milliseconds(10));
        }
        CHECK(endless.cancelled);
        CHECK_FALSE(endless.finished);
        co_await session.close();
        co_await server.shutdown(std::chrono::seconds(1));
    }());
}

TEST_CASE("test_client reads a finite event stream whole") {
    sse_seen quick, slow, endless;
    web::test_client client(sse_app(quick, slow, endless));
    const web::test_response r = client.get("/quick");
    CHECK(r.status == 200);
    CHECK(r.header("Content-Type") == "text/event-stream");
    CHECK(r.body.starts_with("event: tick\nid: 0\ndata: n=0\n\n"));
    CHECK(r.body.ends_with("data: n=2\n\n"));
    CHECK_FALSE(r.body_stream);
    CHECK(quick.finished);
}

#if defined(CORIO_HTTP_HAS_TLS)
TEST_CASE("one app serves HTTP and HTTPS on two ports") {
    web::app app = greeting_app();
    run_with_watchdog([&]() -> corio::task<void> {
        http::server plain = co_await app.serve("127.0.0.1", 0);
        http::server_options secure_options;
        secure_options.tls = corio::tls::context::server(corio_test::tls_certs().server_cert,
                                                         corio_test::tls_certs().server_key);
        http::server secure = co_await app.serve("127.0.0.1", 0, secure_options);
        http::session_options trusting;
        trusting.ca_file = corio_test::tls_certs().ca;
        http::client_session session(std::move(trusting));
        std::vector<std::string> bases;
        bases.push_back("http://127.0.0.1:" + std::to_string(plain.port()));
        bases.push_back("https://localhost:" + std::to_string(secure.port()));
        for (const std::string& base : bases) {
            http::client_response r = co_await session.get(base + "/json");
            const std::string body = co_await r.text();
            CHECK(r.status() == 200);
            CHECK(body == R"({"message":"Hello, World!"})");
        }
        co_await session.close();
        co_await secure.shutdown(std::chrono::seconds(1));
        co_await plain.shutdown(std::chrono::seconds(1));
    }());
}
#endif

TEST_CASE("app.websocket serves a WebSocket route behind the app's middleware") {
    web::app app;
    app.use(web::bearer_auth([](std::string_view token) { return token == "s3cret"; }));
    app.websocket("/ws", [](http::websocket& ws, http::request&) -> corio::task<void> {
        for (;;) {
            std::optional<http::ws_message> m = co_await ws.next();
            if (!m) {
                co_return;
            }
            co_await ws.send_text("echo: " + m->data);
        }
    });
    run_with_watchdog([&]() -> corio::task<void> {
        http::server server = co_await app.serve("127.0.0.1", 0);
        const std::string url = "ws://127.0.0.1:" + std::to_string(server.port()) + "/ws";
        http::client_session session;
        int refused_status = 0;
        try {
            http::websocket anonymous = co_await session.ws_connect(url);
        } catch (const http::websocket_handshake_error& e) {
            refused_status = e.status();
        }
        CHECK(refused_status == 401);
        http::ws_connect_options options;
        options.headers.add("Authorization", "Bearer s3cret");
        http::websocket ws = co_await session.ws_connect(url, options);
        co_await ws.send_text("hi");
        const http::ws_message reply = co_await ws.receive();
        CHECK(reply.data == "echo: hi");
        co_await ws.close();
        co_await session.close();
        co_await server.shutdown(std::chrono::seconds(1));
    }());
}

TEST_CASE("file responses are sent from the file: sendfile over TCP, pieces over TLS, ranges, HEAD") {
    site_directory site;
    std::string big;
    big.reserve(3 * 1024 * 1024 + 7);
    for (std::size_t i = 0; big.size() < 3 * 1024 * 1024 + 7; ++i) {
        big += "block " + std::to_string(i) + " of a large download\n";
    }
    big.resize(3 * 1024 * 1024 + 7);
    std::ofstream(site.root / "big.bin", std::ios::binary) << big;
    web::app app;
    app.mount_static("/static", site.root);
    run_with_watchdog([&]() -> corio::task<void> {
        http::server plain = co_await app.serve("127.0.0.1", 0);
        std::vector<std::string> bases;
        bases.push_back("http://127.0.0.1:" + std::to_string(plain.port()));
#if defined(CORIO_HTTP_HAS_TLS)
        http::server_options secure_options;
        secure_options.tls = corio::tls::context::server(corio_test::tls_certs().server_cert,
                                                         corio_test::tls_certs().server_key);
        http::server secure = co_await app.serve("127.0.0.1", 0, secure_options);
        bases.push_back("https://localhost:" + std::to_string(secure.port()));
        http::session_options session_options;
        session_options.ca_file = corio_test::tls_certs().ca;
#else
        http::session_options session_options;
#endif
        http::client_session session(std::move(session_options));
        for (const std::string& base : bases) {
            INFO(base);
            http::client_response whole = co_await session.get(base + "/static/big.bin");
            const std::string body = co_await whole.text();
            CHECK(whole.status() == 200);
            CHECK(std::string(whole.headers().get_or("Content-Length", "")) == std::to_string(big.size()));
            CHECK(body.size() == big.size());
            CHECK(body == big);
            http::headers range;
            range.add("Range", "bytes=1000000-1000099");
            http::client_response part = co_await session.get(base + "/static/big.bin", std::move(range));
            const std::string part_body = co_await part.text();
            CHECK(part.status() == 206);
            CHECK(part_body == big.substr(1000000, 100));
            http::client_response head = co_await session.head(base + "/static/big.bin");
            CHECK(head.status() == 200);
            CHECK(std::string(head.headers().get_or("Content-Length", "")) == std::to_string(big.size()));
            // Still one connection each: the bodies were framed exactly.
            http::client_response again = co_await session.get(base + "/static/css/site.css");
            const std::string css = co_await again.text();
            CHECK(css == "0123456789");
        }
        CHECK(session.connections_opened() == bases.size());
        co_await session.close();
#if defined(CORIO_HTTP_HAS_TLS)
        co_await secure.shutdown(std::chrono::seconds(1));
#endif
        co_await plain.shutdown(std::chrono::seconds(1));
    }(), std::chrono::seconds(60));
}

namespace {

std::uint64_t fnv1a(std::string_view bytes) {
    std::uint64_t hash = 1469598103934665603ull;
    for (const char c : bytes) {
        hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    }
    return hash;
}

std::string multipart_upload(const std::string& boundary, const std::string& file) {
    return "--" + boundary + "\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\nada\r\n--" + boundary +
           "\r\nContent-Disposition: form-data; name=\"data\"; filename=\"blob.bin\"\r\n"
           "Content-Type: application/octet-stream\r\n\r\n" +
           file + "\r\n--" + boundary + "--\r\n";
}

// Where the raw-body route writes.
struct upload_directory {
    std::filesystem::path path;
};

corio::task<http::response> copy_to_disk(http::body_reader& body, std::string name, upload_directory& dir) {
    std::ofstream out(dir.path / name, std::ios::binary);
    std::uint64_t written = 0;
    for (;;) {
        const std::string_view piece = co_await body.read_some();
        if (piece.empty()) {
            break;
        }
        out.write(piece.data(), static_cast<std::streamsize>(piece.size()));
        written += piece.size();
    }
    co_return http::text_response(std::to_string(written));
}

}  // namespace

TEST_CASE("a form upload over a socket reaches its temporary file as it arrives, past the server's max_body_size") {
    const std::filesystem::path spool = std::filesystem::temp_directory_path() / "corio_test_streamed_form";
    std::filesystem::remove_all(spool);
    std::filesystem::create_directories(spool);
    web::form_limits limits;
    limits.spool_threshold = 64 * 1024;
    limits.directory = spool;
    web::app app;
    app.post(
        "/upload",
        [](web::form_data form) {
            const web::upload_file* file = form.file("data");
            if (file == nullptr) {
                throw web::http_exception(400, "no file");
            }
            return http::text_response(std::string(form.get_or("user", "")) + " " + std::to_string(file->size()) +
                                       " " + (file->in_memory() ? "memory" : "disk") + " " +
                                       std::to_string(fnv1a(file->read())));
        },
        {.form = limits});
    std::string file(3 * 1024 * 1024, '\0');
    for (std::size_t i = 0; i < file.size(); ++i) {
        file[i] = static_cast<char>(i * 13 % 241);
    }
    run_with_watchdog([&]() -> corio::task<void> {
        http::server_options options;
        options.limits.max_body_size = 1024 * 1024;  // the form's body is three times that
        http::server server = co_await app.serve("127.0.0.1", 0, options);
        const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
        http::client_session session;
        http::client_response answer = co_await session.post(base + "/upload", multipart_upload("xYz42", file),
                                                             "multipart/form-data; boundary=xYz42");
        const std::string text = co_await answer.text();
        CHECK(answer.status() == 200);
        CHECK(text == "ada " + std::to_string(file.size()) + " disk " + std::to_string(fnv1a(file)));
        // The form is gone with the request, and its temporary file with it.
        CHECK(std::filesystem::is_empty(spool));
        co_await server.shutdown(std::chrono::seconds(1));
    }());
    std::filesystem::remove_all(spool);
}

TEST_CASE("form limits and a streamed route's body limit answer 413 in JSON, and a handler taking the body stream copies it "
          "to disk") {
    const std::filesystem::path directory = std::filesystem::temp_directory_path() / "corio_test_raw_uploads";
    std::filesystem::remove_all(directory);
    std::filesystem::create_directories(directory);
    upload_directory target{directory};
    web::form_limits small_files;
    small_files.max_file_size = 1000;
    web::app app;
    app.provide(target);
    app.post("/small", [](web::form_data) { return http::text_response("ok"); }, {.form = small_files});
    app.post("/capped", [](web::form_data) { return http::text_response("ok"); }, {.max_streamed_body = 4096});
    app.put("/raw/{name}", copy_to_disk);

    std::string blob(200 * 1024, '\0');
    for (std::size_t i = 0; i < blob.size(); ++i) {
        blob[i] = static_cast<char>(i % 199);
    }
    const json::object operation = app.openapi().at("paths").at("/raw/{name}").at("put").as_object();
    CHECK(operation.at("requestBody").at("content").as_object().contains("application/octet-stream"));

    run_with_watchdog([&]() -> corio::task<void> {
        http::server server = co_await app.serve("127.0.0.1", 0);
        const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
        http::client_session session;
        http::client_response too_big = co_await session.post(
            base + "/small", multipart_upload("b0", std::string(5000, 'f')), "multipart/form-data; boundary=b0");
        const std::string too_big_body = co_await too_big.text();
        CHECK(too_big.status() == 413);
        CHECK(json::parse(too_big_body).at("detail").as_string().find("larger than 1000 bytes") != std::string::npos);

        // A declared length over the route's limit: the server refuses it at once.
        http::client_response declared = co_await session.post(
            base + "/capped", multipart_upload("b1", std::string(8000, 'g')), "multipart/form-data; boundary=b1");
        (void)co_await declared.text();
        CHECK(declared.status() == 413);

        // A chunked body passing it: the app answers in JSON and the connection closes.
        auto raw = co_await corio::open_connection("127.0.0.1", server.port());
        const std::string chunk(3000, 'h');
        co_await raw.write("POST /capped HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=b2\r\n"
                           "Transfer-Encoding: chunked\r\n\r\nbb8\r\n" + chunk + "\r\nbb8\r\n" + chunk + "\r\n");
        std::string reply;
        for (;;) {
            std::string piece;
            try {
                piece = co_await raw.read();
            } catch (const std::system_error&) {
                break;
            }
            if (piece.empty()) {
                break;
            }
            reply += piece;
        }
        CHECK(reply.starts_with("HTTP/1.1 413 "));
        CHECK(reply.find("Connection: close") != std::string::npos);
        CHECK(reply.find("limit of 4096 bytes") != std::string::npos);

        http::client_response stored = co_await session.put(base + "/raw/a.bin", blob, "application/octet-stream");
        const std::string stored_body = co_await stored.text();
        CHECK(stored_body == std::to_string(blob.size()));
        co_await server.shutdown(std::chrono::seconds(1));
    }());
    std::ifstream written(directory / "a.bin", std::ios::binary);
    CHECK(std::string(std::istreambuf_iterator<char>(written), {}) == blob);

    // In process, the handler reads the body the test client holds through the same interface.
    const web::test_client client(app);
    const web::test_response in_process = client.put("/raw/b.bin", "in process", {{"Content-Type", "text/plain"}});
    CHECK(in_process.body == "10");
    std::ifstream second(directory / "b.bin", std::ios::binary);
    CHECK(std::string(std::istreambuf_iterator<char>(second), {}) == "in process");
    std::filesystem::remove_all(directory);
}

// ---- Streamed bodies read by a handler taking http::request& ---------------

namespace {

// Reads the body through request::body_stream() whatever made it streamed:
// answers "<bytes> <fnv1a> <limit> <pieces>".
corio::task<http::response> stream_digest(http::request& request) {
    http::body_reader& in = request.body_stream();
    std::string all;
    for (;;) {
        const std::string_view piece = co_await in.read_some();
        if (piece.empty()) {
            break;
        }
        all.append(piece);
    }
    co_return http::text_response(std::to_string(all.size()) + " " + std::to_string(fnv1a(all)) + " " +
                                  std::to_string(in.limit()));
}

web::app streaming_app() {
    web::app app;
    app.post("/route-streams", stream_digest, {.max_streamed_body = 1024 * 1024, .stream_body = true});
    app.post("/server-streams", stream_digest);
    app.post("/small-stream", stream_digest, {.max_streamed_body = 1000, .stream_body = true});
    app.post("/whole", [](http::request& request) { return http::text_response(std::to_string(request.body.size())); });
    return app;
}

std::optional<std::uint64_t> stream_every_body(const http::request&) {
    return 2 * 1024 * 1024;
}

std::string patterned(std::size_t size) {
    std::string text(size, '\0');
    for (std::size_t i = 0; i < text.size(); ++i) {
        text[i] = static_cast<char>(i * 7 % 251);
    }
    return text;
}

}  // namespace

TEST_CASE("a request& handler reads its streamed body the same in process and over a socket") {
    const web::app app = streaming_app();
    const std::string body = patterned(100 * 1024);  // several pieces of the reader
    const std::string digest = std::to_string(body.size()) + " " + std::to_string(fnv1a(body));

    web::test_client by_route(app);
    const web::test_response route_streams = by_route.post("/route-streams", body);
    CHECK(route_streams.status == 200);
    CHECK(route_streams.body == digest + " 1048576");
    CHECK(by_route.post("/small-stream", std::string(1001, 'x')).status == 413);
    CHECK(by_route.post("/small-stream", std::string(1000, 'x')).body.starts_with("1000 "));
    CHECK(by_route.post("/whole", body).body == std::to_string(body.size()));

    web::test_client by_policy(app);
    by_policy.stream_body = stream_every_body;
    CHECK(by_policy.post("/server-streams", body).body == digest + " 2097152");
    CHECK(by_policy.post("/route-streams", "").body == "0 " + std::to_string(fnv1a("")) + " 2097152");

    run_with_watchdog([&]() -> corio::task<void> {
        http::server_options by_server;
        by_server.stream_body = stream_every_body;
        http::server routes_decide = co_await app.serve("127.0.0.1", 0);
        http::server server_decides = co_await app.serve("127.0.0.1", 0, by_server);
        http::client_session session;
        const std::string routes_base = "http://127.0.0.1:" + std::to_string(routes_decide.port());
        const std::string server_base = "http://127.0.0.1:" + std::to_string(server_decides.port());
        http::client_response streamed = co_await session.post(routes_base + "/route-streams", body, "text/plain");
        const std::string streamed_text = co_await streamed.text();
        CHECK(streamed_text == route_streams.body);
        http::client_response refused = co_await session.post(routes_base + "/small-stream", std::string(1001, 'x'),
                                                              "text/plain");
        (void)co_await refused.text();
        CHECK(refused.status() == 413);
        http::client_response whole = co_await session.post(routes_base + "/whole", body, "text/plain");
        const std::string whole_text = co_await whole.text();
        CHECK(whole_text == std::to_string(body.size()));
        http::client_response policy = co_await session.post(server_base + "/server-streams", body, "text/plain");
        const std::string policy_text = co_await policy.text();
        CHECK(policy_text == digest + " 2097152");
        co_await routes_decide.shutdown(std::chrono::seconds(1));
        co_await server_decides.shutdown(std::chrono::seconds(1));
    }());
}

TEST_CASE("app.run gives every worker loop the app's streamed routes and the server's stream_body", "[threads]") {
    const web::app app = streaming_app();
    const std::string upload = patterned(300 * 1024);  // past max_body_size below
    const std::string digest = std::to_string(upload.size()) + " " + std::to_string(fnv1a(upload));
    for (const bool server_policy : {false, true}) {
        INFO("server_options::stream_body set: " << server_policy);
        web::run_options options{.workers = 2, .grace = std::chrono::milliseconds(500)};
        options.server.limits.max_body_size = 64 * 1024;
        options.server.reuse_port = true;
        if (server_policy) {
            options.server.stream_body = stream_every_body;
        }
        std::promise<std::uint16_t> ready;
        std::future<std::uint16_t> port_future = ready.get_future();
        options.on_ready = [&ready](std::uint16_t port) { ready.set_value(port); };
        std::exception_ptr run_error;
        std::thread server_thread([&] {
            try {
                app.run("127.0.0.1", 0, options);
            } catch (...) {
                run_error = std::current_exception();
            }
        });
        REQUIRE(port_future.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
        const std::string target = "http://127.0.0.1:" + std::to_string(port_future.get()) +
                                   (server_policy ? "/server-streams" : "/route-streams");
        const std::string expected = digest + (server_policy ? " 2097152" : " 1048576");
        const int answered = run_with_watchdog([&]() -> corio::task<int> {
            int ok = 0;
            for (int i = 0; i < 6; ++i) {
                http::session_options fresh;
                http::client_session session(fresh);  // a new connection each time, so the kernel spreads them
                http::client_response r = co_await session.post(target, upload, "application/octet-stream");
                const std::string text = co_await r.text();
                ok += r.status() == 200 && text == expected ? 1 : 0;
            }
            co_return ok;
        }(), std::chrono::seconds(20));
        CHECK(answered == 6);
        pthread_kill(server_thread.native_handle(), SIGTERM);
        server_thread.join();
        CHECK_FALSE(run_error);
    }
}
