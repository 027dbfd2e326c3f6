// Tests of corio/http/detail/grammar.hpp, the one home of the HTTP grammar
// rules: the token table, ASCII case folding, OWS trimming, hex digits and
// which responses have no body; and that the parser, the serializer and the
// header map each follow those rules.
#include <corio/http/detail/grammar.hpp>
#include <corio/http/detail/wire.hpp>
#include <corio/http/message.hpp>
#include <corio/http/parser.hpp>
#include <corio/http/serialize.hpp>

#include "catch.hpp"

#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace grammar = corio::detail::http_grammar;

namespace {

// RFC 9110 §5.6.2, written out independently of the table under test.
bool tchar_by_the_rfc(unsigned char c) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
        return true;
    }
    return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

// Feeds `wire` to a response parser answering `method`; returns the status
// feed() stopped at after the head (message_complete right away = no body).
corio::http::parse_status after_head(std::string_view method, const std::string& wire) {
    corio::http::response_parser parser;
    parser.set_request_method(method);
    std::span<const char> input(wire.data(), wire.size());
    auto r = parser.feed(input);
    REQUIRE(r.status == corio::http::parse_status::headers_complete);
    input = input.subspan(r.consumed);
    return parser.feed(input).status;
}

}  // namespace

TEST_CASE("the token table holds exactly the RFC 9110 tchar set", "[http][grammar]") {
    for (int c = 0; c < 256; ++c) {
        INFO("character " << c);
        CHECK(grammar::is_token_char(static_cast<char>(c)) ==
              tchar_by_the_rfc(static_cast<unsigned char>(c)));
    }
    CHECK(grammar::is_token("GET"));
    CHECK(grammar::is_token("X-Custom_Header.1~"));
    CHECK_FALSE(grammar::is_token(""));
    CHECK_FALSE(grammar::is_token("Bad Name"));
    CHECK_FALSE(grammar::is_token("Bad:Name"));
    CHECK_FALSE(grammar::is_token("caf\xc3\xa9"));
}

TEST_CASE("lower-casing and comparison fold ASCII letters only", "[http][grammar]") {
    CHECK(grammar::lower_ascii('A') == 'a');
    CHECK(grammar::lower_ascii('Z') == 'z');
    CHECK(grammar::lower_ascii('a') == 'a');
    CHECK(grammar::lower_ascii('@') == '@');
    CHECK(grammar::lower_ascii('[') == '[');
    CHECK(grammar::lower_ascii('\xc4') == '\xc4');  // Latin-1 'Ä' is not ASCII: untouched
    CHECK(grammar::iequals("Content-Length", "content-LENGTH"));
    CHECK_FALSE(grammar::iequals("Content-Length", "Content-Lengt"));
    CHECK_FALSE(grammar::iequals("\xc4", "\xe4"));
    CHECK(grammar::iequals("", ""));
}

TEST_CASE("trim_ows drops spaces and tabs at both ends only", "[http][grammar]") {
    CHECK(std::string(grammar::trim_ows(" \t a b \t")) == "a b");
    CHECK(grammar::trim_ows("\t \t").empty());
    CHECK(std::string(grammar::trim_ows("x")) == "x");
}

TEST_CASE("hex_value reads both cases and refuses other characters", "[http][grammar]") {
    CHECK(grammar::hex_value('0') == 0);
    CHECK(grammar::hex_value('9') == 9);
    CHECK(grammar::hex_value('a') == 10);
    CHECK(grammar::hex_value('F') == 15);
    CHECK(grammar::hex_value('g') == -1);
    CHECK(grammar::hex_value(' ') == -1);
}

TEST_CASE("1xx, 204 and 304 responses and answers to HEAD have no body", "[http][grammar]") {
    for (int status = 100; status < 200; ++status) {
        CHECK(grammar::status_forbids_body(status));
    }
    CHECK(grammar::status_forbids_body(204));
    CHECK(grammar::status_forbids_body(304));
    for (const int status : {200, 201, 203, 205, 206, 301, 302, 303, 307, 400, 404, 500}) {
        INFO("status " << status);
        CHECK_FALSE(grammar::status_forbids_body(status));
        CHECK_FALSE(grammar::response_has_no_body("GET", status));
        CHECK(grammar::response_has_no_body("HEAD", status));
    }
    CHECK(grammar::response_has_no_body("CONNECT", 200));
    CHECK_FALSE(grammar::response_has_no_body("CONNECT", 407));
    CHECK(grammar::is_head("HEAD"));
    CHECK_FALSE(grammar::is_head("GET"));
}

TEST_CASE("the response parser follows the no-body rule whatever the framing says",
          "[http][grammar]") {
    using corio::http::parse_status;
    CHECK(after_head("HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n") ==
          parse_status::message_complete);
    CHECK(after_head("GET", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n") ==
          parse_status::message_complete);
    CHECK(after_head("GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n") ==
          parse_status::message_complete);
    CHECK(after_head("GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n") ==
          parse_status::need_more);
}

TEST_CASE("the serializer writes no body where the rule forbids one", "[http][grammar]") {
    corio::http::response r;
    r.body = "ignored";
    for (const int status : {101, 204, 304}) {
        r.status = status;
        const std::string wire = corio::http::serialize(r);
        INFO(wire);
        CHECK(wire.find("Content-Length") == std::string::npos);
        CHECK(wire.ends_with("\r\n\r\n"));
    }
}

TEST_CASE("parser, serializer and header map agree on tokens and case", "[http][grammar]") {
    corio::http::headers fields;
    fields.add("X-Token", "v");
    CHECK(std::string(fields.get("x-token").value_or("")) == "v");
    CHECK(fields.has_token("X-TOKEN", "v"));

    corio::http::request bad;
    bad.headers.add("Bad Name", "v");
    CHECK_THROWS_AS(corio::http::serialize(bad), std::invalid_argument);

    corio::http::request_parser parser;
    const std::string wire = "GET / HTTP/1.1\r\nBad Name: v\r\n\r\n";
    CHECK_THROWS_AS(parser.feed(std::span<const char>(wire.data(), wire.size())),
                    corio::http::protocol_error);
}

TEST_CASE("the request line writer puts the query after a '?' only when there is one",
          "[http][grammar]") {
    std::string out;
    const std::string_view query = "a=1";
    corio::detail::http_wire::append_request_line(out, "GET", "/p", &query, {});
    CHECK(out == "GET /p?a=1 HTTP/1.1\r\n");
    out.clear();
    const std::string_view empty;
    corio::detail::http_wire::append_request_line(out, "GET", "/p", &empty, {1, 0});
    CHECK(out == "GET /p? HTTP/1.0\r\n");
    out.clear();
    corio::detail::http_wire::append_request_line(out, "GET", "/p", nullptr, {});
    CHECK(out == "GET /p HTTP/1.1\r\n");
    CHECK_THROWS_AS(corio::detail::http_wire::append_request_line(out, "G T", "/", nullptr, {}),
                    std::invalid_argument);
}

TEST_CASE("a chunk extension follows its grammar exactly", "[http][grammar]") {
    for (const std::string_view ok : {"", ";a", ";a=b", " ;a", "\t; a", ";a=b;c", ";a = b",
                                      ";a=\"x y\"", ";a=\"q\\\"uote\";b", ";a;b=\"\";c=d"}) {
        INFO(ok);
        CHECK(grammar::is_chunk_ext(ok));
    }
    // Trailing whitespace, no name, a value that is neither token nor a closed
    // quoted-string, junk without ';', control characters.
    for (const std::string_view bad :
         {" ", ";", "; ", ";a ", "x", " x", ";a=", ";a=\"open", ";a=b c", ";=b", ";a=\"\x01\"",
          ";a\x01", ";a=\"x\\", ";a=b;"}) {
        INFO(bad);
        CHECK_FALSE(grammar::is_chunk_ext(bad));
    }
}
