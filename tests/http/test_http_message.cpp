// Tests of corio/http/message.hpp: what a request's path(), query(), form()
// and authority() read from each request-target form.
#include <corio/http/message.hpp>

#include "catch.hpp"

#include <string>
#include <string_view>

namespace http = corio::http;

namespace {

http::request with_target(std::string target, std::string host = "") {
    http::request r;
    r.target = std::move(target);
    if (!host.empty()) {
        r.headers.add("Host", std::move(host));
    }
    return r;
}

}  // namespace

TEST_CASE("an origin-form target splits at '?' and takes its authority from Host", "[http][message]") {
    const http::request r = with_target("/users/ada?x=1&y=%20", "example.com:8080");
    CHECK(r.form() == http::target_form::origin);
    CHECK(std::string(r.path()) == "/users/ada");
    CHECK(std::string(r.query()) == "x=1&y=%20");
    CHECK(std::string(r.authority()) == "example.com:8080");
    const http::request bare = with_target("/");
    CHECK(std::string(bare.path()) == "/");
    CHECK(bare.query().empty());
    CHECK(bare.authority().empty());
}

TEST_CASE("an absolute-form target gives its path, query and authority, not the whole URL", "[http][message]") {
    const http::request r = with_target("http://example.com:8080/path/to?x=1", "ignored.example");
    CHECK(r.form() == http::target_form::absolute);
    CHECK(std::string(r.path()) == "/path/to");
    CHECK(std::string(r.query()) == "x=1");
    CHECK(std::string(r.authority()) == "example.com:8080");
    CHECK(r.target == "http://example.com:8080/path/to?x=1");  // as sent

    // An empty path is "/" (RFC 9110 §4.2.3); a query may follow the authority directly.
    const http::request no_path = with_target("https://h?q=1");
    CHECK(no_path.form() == http::target_form::absolute);
    CHECK(std::string(no_path.path()) == "/");
    CHECK(std::string(no_path.query()) == "q=1");
    CHECK(std::string(no_path.authority()) == "h");
    CHECK(std::string(with_target("svn+ssh://[::1]:22/repo").path()) == "/repo");
    CHECK(std::string(with_target("svn+ssh://[::1]:22/repo").authority()) == "[::1]:22");
}

TEST_CASE("asterisk-form is path \"*\", authority-form has no path", "[http][message]") {
    const http::request star = with_target("*", "h");
    CHECK(star.form() == http::target_form::asterisk);
    CHECK(std::string(star.path()) == "*");
    CHECK(star.query().empty());
    CHECK(std::string(star.authority()) == "h");

    const http::request connect = with_target("example.com:443", "other");
    CHECK(connect.form() == http::target_form::authority);
    CHECK(connect.path().empty());
    CHECK(connect.query().empty());
    CHECK(std::string(connect.authority()) == "example.com:443");
    // Not a scheme followed by "//": authority-form as well.
    CHECK(with_target("urn:isbn:0451450523").form() == http::target_form::authority);
    CHECK(with_target("1http://x/").form() == http::target_form::authority);
}

TEST_CASE("query_params: multi-valued, '+' and %XX decoded, bad escapes kept", "[http][message]") {
    http::request r;
    r.target = "/search?tag=a&q=hello+world&tag=b%20c&empty=&flag&&x=%zz&y=100%&n%61me=v%3D1";
    const http::query_params q = r.query_params();
    CHECK(q.size() == 8);
    CHECK(std::string(q.get("q").value()) == "hello world");
    const auto tags = q.get_all("tag");
    REQUIRE(tags.size() == 2);
    CHECK(std::string(tags[0]) == "a");
    CHECK(std::string(tags[1]) == "b c");
    CHECK(std::string(q.get("tag").value()) == "a");  // the first
    CHECK(q.contains("empty"));
    CHECK(q.get("empty")->empty());
    CHECK(q.contains("flag"));
    CHECK(q.get("flag")->empty());
    CHECK(std::string(q.get("x").value()) == "%zz");
    CHECK(std::string(q.get("y").value()) == "100%");
    CHECK(std::string(q.get("name").value()) == "v=1");  // names are decoded too
    CHECK_FALSE(q.contains("missing"));
    CHECK(std::string(q.get_or("missing", "dflt")) == "dflt");
    CHECK(q.get_all("missing").empty());
    std::string order;
    for (const auto& [name, value] : q) {
        order += name + ",";
    }
    CHECK(order == "tag,q,tag,empty,flag,x,y,name,");
}

TEST_CASE("query_params: no query, an absolute-form target, and a bare '?'", "[http][message]") {
    http::request r;
    r.target = "/plain";
    CHECK(r.query_params().empty());
    r.target = "/plain?";
    CHECK(r.query_params().empty());
    r.target = "http://host:8080/p?a=1&a=2";
    CHECK(r.query_params().get_all("a").size() == 2);
}

TEST_CASE("text_response and json_response take the body first or the status first", "[http][message]") {
    const http::response a = http::text_response("hello");
    CHECK(a.status == 200);
    CHECK(a.body == "hello");
    CHECK(std::string(a.headers.get_or("Content-Type", "")) == "text/plain; charset=utf-8");
    const http::response b = http::text_response("gone", 410);
    CHECK(b.status == 410);
    CHECK(b.body == "gone");
    const http::response c = http::text_response(404, "Not Found\n");
    CHECK(c.status == 404);
    CHECK(c.body == "Not Found\n");
    const http::response d = http::text_response("<p>x</p>", 200, "text/html");
    CHECK(std::string(d.headers.get_or("Content-Type", "")) == "text/html");
    const http::response e = http::json_response("{\"ok\":true}", 201);
    CHECK(e.status == 201);
    CHECK(std::string(e.headers.get_or("Content-Type", "")) == "application/json");
    const http::response f = http::json_response(202, "[]");
    CHECK(f.status == 202);
    CHECK(f.body == "[]");
}
