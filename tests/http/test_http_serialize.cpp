// Tests of corio/http/serialize.hpp: messages written by serialize() parse
// back to the same message, framing headers are added only when missing, and
// values that would break the line are refused.
#include <corio/http/parser.hpp>
#include <corio/http/serialize.hpp>

#include "catch.hpp"

#include <span>
#include <stdexcept>
#include <string>

using corio::http::parse_status;
using corio::http::request;
using corio::http::response;

namespace {

template <typename Parser>
auto parse_whole(const std::string& wire) {
    Parser parser;
    std::span<const char> input(wire.data(), wire.size());
    while (true) {
        const auto result = parser.feed(input);
        input = input.subspan(result.consumed);
        if (result.status == parse_status::message_complete) {
            REQUIRE(input.empty());
            return parser.take_message();
        }
        REQUIRE(result.status != parse_status::need_more);
    }
}

}  // namespace

TEST_CASE("a serialized request parses back to the same request", "[http][serialize]") {
    request r;
    r.method = "POST";
    r.target = "/users?id=7";
    r.headers.add("Host", "example.com:8080");
    r.headers.add("X-Trace", "a b c");
    r.body = "{\"name\": \"ada\"}";
    const std::string wire = corio::http::serialize(r);
    CHECK(wire.starts_with("POST /users?id=7 HTTP/1.1\r\nHost: example.com:8080\r\nX-Trace: a b c\r\n"
                           "Content-Length: 15\r\n\r\n"));
    request parsed = parse_whole<corio::http::request_parser>(wire);
    CHECK(parsed.method == "POST");
    CHECK(parsed.target == "/users?id=7");
    CHECK(parsed.body == r.body);
    CHECK(std::string(parsed.headers.get_or("x-trace", "")) == "a b c");
}

TEST_CASE("a bodiless GET gets no Content-Length, a bodiless POST gets zero", "[http][serialize]") {
    request get;
    get.headers.add("Host", "h");
    CHECK(corio::http::serialize(get) == "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    request post;
    post.method = "POST";
    CHECK(corio::http::serialize(post) == "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
}

TEST_CASE("a serialized response carries its length and the standard reason", "[http][serialize]") {
    response r;
    r.status = 404;
    r.headers.add("Content-Type", "text/plain");
    r.body = "no such user";
    const std::string wire = corio::http::serialize(r);
    CHECK(wire == "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nno such user");
    response parsed = parse_whole<corio::http::response_parser>(wire);
    CHECK(parsed.status == 404);
    CHECK(parsed.reason == "Not Found");
    CHECK(parsed.body == "no such user");
}

TEST_CASE("framing set by the caller is kept and 204/304 never carry a body", "[http][serialize]") {
    response chunked;
    chunked.headers.add("Transfer-Encoding", "chunked");
    std::string body;
    corio::http::append_chunk(body, "hello");
    corio::http::append_chunk(body, ", world");
    corio::http::append_chunk(body, "");
    chunked.body = body;
    const std::string wire = corio::http::serialize(chunked);
    CHECK(wire.find("Content-Length") == std::string::npos);
    CHECK(parse_whole<corio::http::response_parser>(wire).body == "hello, world");

    response no_content;
    no_content.status = 204;
    no_content.body = "ignored";
    CHECK(corio::http::serialize(no_content) == "HTTP/1.1 204 No Content\r\n\r\n");
    response custom_reason;
    custom_reason.status = 200;
    custom_reason.reason = "Fine";
    custom_reason.version = {1, 0};
    CHECK(corio::http::serialize(custom_reason) == "HTTP/1.0 200 Fine\r\nContent-Length: 0\r\n\r\n");
}

TEST_CASE("chunks are framed in hexadecimal", "[http][serialize]") {
    std::string out;
    corio::http::append_chunk(out, std::string(255, 'x'));
    CHECK(out.starts_with("ff\r\nxxx"));
    CHECK(out.ends_with("x\r\n"));
    out.clear();
    corio::http::append_chunk(out, "");
    CHECK(out == "0\r\n\r\n");
}

TEST_CASE("fields that would inject a line are refused", "[http][serialize]") {
    request r;
    r.headers.add("X-Evil", "a\r\nInjected: yes");
    CHECK_THROWS_AS(corio::http::serialize(r), std::invalid_argument);

    request bad_name;
    bad_name.headers.add("Bad Name", "v");
    CHECK_THROWS_AS(corio::http::serialize(bad_name), std::invalid_argument);

    request bad_target;
    bad_target.target = "/a b";
    CHECK_THROWS_AS(corio::http::serialize(bad_target), std::invalid_argument);
    bad_target.target = "/a\nb";
    CHECK_THROWS_AS(corio::http::serialize(bad_target), std::invalid_argument);

    request bad_method;
    bad_method.method = "GE T";
    CHECK_THROWS_AS(corio::http::serialize(bad_method), std::invalid_argument);

    response bad_status;
    bad_status.status = 42;
    CHECK_THROWS_AS(corio::http::serialize(bad_status), std::invalid_argument);
    response bad_value;
    bad_value.headers.add("Set-Cookie", std::string("a\0b", 3));
    CHECK_THROWS_AS(corio::http::serialize(bad_value), std::invalid_argument);
}

TEST_CASE("a CR, LF or NUL is found at any place in a field value, and other control bytes pass",
          "[http][serialize]") {
    // Values are scanned eight bytes at a time: every position in a word, and
    // the last bytes after the words, must be looked at.
    for (std::size_t at = 0; at < 21; ++at) {
        for (const char c : {'\r', '\n', '\0'}) {
            std::string value(21, 'v');
            value[at] = c;
            response r;
            r.headers.add("X-Value", value);
            INFO(at << " " << static_cast<int>(c));
            CHECK_THROWS_AS(corio::http::serialize(r), std::invalid_argument);
        }
        std::string value(21, 'v');
        value[at] = '\t';
        value[20 - at] = '\x0b';  // a control byte, but it ends no line
        response r;
        r.headers.add("X-Value", value);
        CHECK(corio::http::serialize(r).find("X-Value: " + value + "\r\n") != std::string::npos);
    }
}
