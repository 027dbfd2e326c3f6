// Tests of corio/http/router.hpp (and the request helpers it relies on in
// corio/http/message.hpp: path(), query(), path_params, text/json_response).
#include <corio/http/router.hpp>
#include <corio/http/server.hpp>
#include <corio/net.hpp>
#include <corio/run.hpp>

#include "catch.hpp"
#include "test_support.hpp"

#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using corio_test::run_with_watchdog;
namespace http = corio::http;

namespace {

// A handler answering "<label> <params...>".
http::handler labelled(std::string label) {
    return [label](http::request& r) -> corio::task<http::response> {
        std::string text = label;
        for (const auto& [name, value] : r.path_params) {
            text += " " + name + "=" + value;
        }
        co_return http::text_response(200, std::move(text));
    };
}

http::request make_request(std::string method, std::string target) {
    http::request r;
    r.method = std::move(method);
    r.target = std::move(target);
    return r;
}

// Dispatches one request synchronously (on a fresh loop).
http::response dispatch(const http::router& routes, http::request r) {
    auto body = [](const http::router& rt, http::request req) -> corio::task<http::response> {
        http::response res = co_await rt(req);
        co_return res;
    };
    return corio::run(body(routes, std::move(r)));
}

http::router sample() {
    http::router r;
    r.get("/", labelled("root"));
    r.get("/users", labelled("list"));
    r.post("/users", labelled("create"));
    r.get("/users/{name}", labelled("user"));
    r.del("/users/{name}", labelled("delete"));
    r.get("/users/{name}/posts/{id}", labelled("post"));
    r.get("/files/{*rest}", labelled("file"));
    r.put("/things/{id}", labelled("put"));
    r.patch("/things/{id}", labelled("patch"));
    return r;
}

}  // namespace

TEST_CASE("request::path and query split the target at the first '?'", "[http_router]") {
    http::request r = make_request("GET", "/a/b?x=1&y=?2");
    CHECK(std::string(r.path()) == "/a/b");
    CHECK(std::string(r.query()) == "x=1&y=?2");
    r.target = "/plain";
    CHECK(std::string(r.path()) == "/plain");
    CHECK(r.query().empty());
    r.target = "/empty?";
    CHECK(std::string(r.path()) == "/empty");
    CHECK(r.query().empty());
}

TEST_CASE("path_params get, at and set", "[http_router]") {
    http::path_params p;
    CHECK(p.empty());
    CHECK_FALSE(p.get("x").has_value());
    CHECK_THROWS_AS(p.at("x"), std::out_of_range);
    p.set("x", "1");
    p.set("y", "2");
    p.set("x", "3");
    CHECK(p.size() == 2);
    CHECK(std::string(p.at("x")) == "3");
    CHECK(p.get("y") == "2");
    CHECK(p.contains("y"));
}

TEST_CASE("text_response and json_response set status, body and Content-Type", "[http_router]") {
    const http::response t = http::text_response(201, "made");
    CHECK(t.status == 201);
    CHECK(t.body == "made");
    CHECK(t.headers.get("Content-Type") == "text/plain; charset=utf-8");
    const http::response j = http::json_response("{\"a\":1}");
    CHECK(j.status == 200);
    CHECK(j.body == "{\"a\":1}");
    CHECK(j.headers.get("Content-Type") == "application/json");
    CHECK(http::json_response("{}", 404).status == 404);
    CHECK(http::text_response(200, "<p/>", "text/html").headers.get("Content-Type") == "text/html");
}

TEST_CASE("routes match by method and literal path, parameters go to path_params", "[http_router]") {
    const http::router r = sample();
    CHECK(dispatch(r, make_request("GET", "/")).body == "root");
    CHECK(dispatch(r, make_request("GET", "/users")).body == "list");
    CHECK(dispatch(r, make_request("POST", "/users")).body == "create");
    CHECK(dispatch(r, make_request("GET", "/users/ada")).body == "user name=ada");
    CHECK(dispatch(r, make_request("GET", "/users/ada?full=1")).body == "user name=ada");
    CHECK(dispatch(r, make_request("DELETE", "/users/bob")).body == "delete name=bob");
    CHECK(dispatch(r, make_request("GET", "/users/ada/posts/42")).body == "post name=ada id=42");
    CHECK(dispatch(r, make_request("PUT", "/things/7")).body == "put id=7");
    CHECK(dispatch(r, make_request("PATCH", "/things/7")).body == "patch id=7");
}

TEST_CASE("parameters are percent-decoded, a bad escape is kept as it came", "[http_router]") {
    const http::router r = sample();
    CHECK(dispatch(r, make_request("GET", "/users/ada%20lovelace")).body == "user name=ada lovelace");
    CHECK(dispatch(r, make_request("GET", "/users/a%2Fb")).body == "user name=a/b");
    CHECK(dispatch(r, make_request("GET", "/users/50%zz")).body == "user name=50%zz");
}

TEST_CASE("{*rest} takes the rest of the path, slashes included", "[http_router]") {
    const http::router r = sample();
    CHECK(dispatch(r, make_request("GET", "/files/a/b/c.txt")).body == "file rest=a/b/c.txt");
    CHECK(dispatch(r, make_request("GET", "/files/")).body == "file rest=");
    CHECK(dispatch(r, make_request("GET", "/files")).status == 404);
}

TEST_CASE("no matching path is 404, a path matched only by other methods is 405 with Allow", "[http_router]") {
    const http::router r = sample();
    CHECK(dispatch(r, make_request("GET", "/nothing")).status == 404);
    CHECK(dispatch(r, make_request("GET", "/users/")).status == 404);  // {name} needs a non-empty segment
    CHECK(dispatch(r, make_request("GET", "/users/a/b")).status == 404);
    CHECK(dispatch(r, make_request("GET", "/users/")).status == 404);
    const http::response refused = dispatch(r, make_request("PUT", "/users"));
    CHECK(refused.status == 405);
    CHECK(refused.headers.get("Allow") == "GET, HEAD, POST");
    const http::response refused2 = dispatch(r, make_request("POST", "/users/ada"));
    CHECK(refused2.status == 405);
    CHECK(refused2.headers.get("Allow") == "GET, HEAD, DELETE");
    CHECK(r.allowed_methods("/nothing").empty());
}

TEST_CASE("HEAD falls back to the GET route, an explicit HEAD route wins", "[http_router]") {
    http::router r = sample();
    CHECK(dispatch(r, make_request("HEAD", "/users/ada")).body == "user name=ada");
    r.add("HEAD", "/users", labelled("head-list"));
    CHECK(dispatch(r, make_request("HEAD", "/users")).body == "head-list");
    CHECK(dispatch(r, make_request("HEAD", "/files/x")).body == "file rest=x");
}

TEST_CASE("routes are tried in the order they were added", "[http_router]") {
    http::router r;
    r.get("/users/me", labelled("me"));
    r.get("/users/{name}", labelled("user"));
    CHECK(dispatch(r, make_request("GET", "/users/me")).body == "me");
    CHECK(dispatch(r, make_request("GET", "/users/you")).body == "user name=you");
    CHECK(r.size() == 2);
}

TEST_CASE("streamed_body_limit names the limit of the add_streaming route a request will reach", "[http_router]") {
    http::router r;
    r.post("/users", labelled("create"));
    CHECK_FALSE(r.streamed_body_limit(make_request("POST", "/users")));  // no streaming route: nothing to ask
    r.add_streaming("PUT", "/files/{*rest}", 5000, labelled("upload"));
    r.add_streaming("GET", "/feed", 7, labelled("feed"));
    CHECK(r.streamed_body_limit(make_request("PUT", "/files/a/b.bin")) == 5000u);
    CHECK(r.streamed_body_limit(make_request("HEAD", "/feed")) == 7u);  // HEAD reaches the GET route
    CHECK_FALSE(r.streamed_body_limit(make_request("POST", "/users")));
    CHECK_FALSE(r.streamed_body_limit(make_request("POST", "/files/x")));  // 405: no handler reads it
    CHECK_FALSE(r.streamed_body_limit(make_request("PUT", "/nowhere")));
    CHECK(dispatch(r, make_request("PUT", "/files/x")).body == "upload rest=x");
    static_assert(http::streaming_handler<http::router>);
}

TEST_CASE("bad patterns and empty handlers are rejected when added", "[http_router]") {
    http::router r;
    CHECK_THROWS_AS(r.get("users", labelled("x")), std::invalid_argument);
    CHECK_THROWS_AS(r.get("/users/{}", labelled("x")), std::invalid_argument);
    CHECK_THROWS_AS(r.get("/users/x{name}", labelled("x")), std::invalid_argument);
    CHECK_THROWS_AS(r.get("/files/{*rest}/more", labelled("x")), std::invalid_argument);
    CHECK_THROWS_AS(r.get("/ok", http::handler{}), std::invalid_argument);
    CHECK(r.size() == 0);
}

TEST_CASE("a router held by std::ref serves through http::server", "[http_router][http_server]") {
    auto body = []() -> corio::task<void> {
        http::router routes = sample();
        auto server = co_await http::start_server(std::ref(routes), "127.0.0.1", 0);
        auto stream = co_await corio::open_connection("127.0.0.1", server.port());
        co_await stream.write("GET /users/ada%20l HTTP/1.1\r\nHost: t\r\n\r\n"
                              "DELETE /users HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        std::string all;
        for (;;) {
            std::string chunk = co_await stream.read();
            if (chunk.empty()) {
                break;
            }
            all += chunk;
        }
        CHECK(all.find("HTTP/1.1 200 OK\r\n") == 0);
        CHECK(all.find("user name=ada l") != std::string::npos);
        CHECK(all.find("HTTP/1.1 405 Method Not Allowed\r\n") != std::string::npos);
        CHECK(all.find("Allow: GET, HEAD, POST\r\n") != std::string::npos);
        co_await server.shutdown(1s);
    };
    run_with_watchdog(body());
}
