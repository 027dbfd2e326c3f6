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
