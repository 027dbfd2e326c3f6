// Tests of corio/http/parser.hpp and corio/http/message.hpp: the incremental
// HTTP/1.1 parser (framing, strictness, limits) and header fields.
#include <corio/http.hpp>

#include "catch.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

using corio::http::body_mode;
using corio::http::parse_status;
using corio::http::parser_limits;
using corio::http::protocol_error;
using corio::http::request_parser;
using corio::http::response_parser;

namespace {

/// What a parser made of one message, in a form easy to compare.
struct seen_message {
    std::string start;                // "GET / 1.1" or "200 OK 1.1"
    std::vector<std::string> fields;  // "Name: value"
    std::string body;
    std::vector<std::string> trailers;
    bool keep_alive = false;
    bool operator==(const seen_message&) const = default;
};

std::string describe(const corio::http::request& m) {
    return m.method + " " + m.target + " " + std::to_string(m.version.major) + "." +
           std::to_string(m.version.minor);
}
std::string describe(const corio::http::response& m) {
    return std::to_string(m.status) + " " + m.reason + " " + std::to_string(m.version.major) + "." +
           std::to_string(m.version.minor);
}
std::vector<std::string> strings(const std::vector<std::string_view>& views) {
    return {views.begin(), views.end()};
}
std::vector<std::string> lines_of(const corio::http::headers& h) {
    std::vector<std::string> out;
    for (const auto& f : h)
        out.push_back(f.name + ": " + f.value);
    return out;
}

/// Feeds `data` in pieces of `step` bytes (0: one block), collecting every
/// message; calls finish() at the end when `eof`. Checks the feed() contract
/// on the way (need_more consumes everything, stream chunks lie in the input).
template <typename Parser>
std::vector<seen_message> run(std::string_view data, std::size_t step, body_mode mode, bool eof,
                              std::string_view method = "GET", parser_limits limits = {}) {
    Parser p(limits);
    p.set_body_mode(mode);
    if constexpr (std::is_same_v<Parser, response_parser>)
        p.set_request_method(method);
    std::vector<seen_message> out;
    seen_message current;
    std::string streamed;
    auto complete = [&] {
        auto m = p.take_message();
        current.start = describe(m);
        current.fields = lines_of(m.headers);
        current.body = mode == body_mode::stream ? streamed : m.body;
        if (mode == body_mode::stream)
            REQUIRE(m.body.empty());
        current.trailers = lines_of(p.trailers());
        out.push_back(current);
        current = {};
        streamed.clear();
    };
    if (step == 0)
        step = data.size() == 0 ? 1 : data.size();
    for (std::size_t pos = 0; pos < data.size(); pos += step) {
        std::span<const char> chunk(data.data() + pos, std::min(step, data.size() - pos));
        for (;;) {
            const auto r = p.feed(chunk);
            REQUIRE(r.consumed <= chunk.size());
            const auto rest = chunk.subspan(r.consumed);
            if (r.status == parse_status::need_more) {
                REQUIRE(rest.empty());
                break;
            }
            if (r.status == parse_status::headers_complete)
                current.keep_alive = p.keep_alive();
            if (r.status == parse_status::body_chunk) {
                REQUIRE(!r.body.empty());
                REQUIRE(r.body.data() >= chunk.data());
                REQUIRE(r.body.data() + r.body.size() <= chunk.data() + chunk.size());
                streamed.append(r.body.data(), r.body.size());
            }
            if (r.status == parse_status::message_complete)
                complete();
            chunk = rest;
        }
    }
    if (eof && p.finish())
        complete();
    return out;
}

struct valid_case {
    const char* name;
    bool is_request;
    std::string input;
    std::vector<seen_message> expected;
    bool eof = false;
    const char* method = "GET";
};

seen_message msg(std::string start, std::vector<std::string> fields, std::string body,
                 bool keep_alive, std::vector<std::string> trailers = {}) {
    return {std::move(start), std::move(fields), std::move(body), std::move(trailers), keep_alive};
}

std::vector<valid_case> valid_cases() {
    return {
        {"request without body",
         true,
         "GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n",
         {msg("GET /index.html 1.1", {"Host: example.com"}, "", true)}},
        {"request with Content-Length",
         true,
         "POST /submit HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
         {msg("POST /submit 1.1", {"Host: a", "Content-Length: 5"}, "hello", true)}},
        {"request with Content-Length 0",
         true,
         "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
         {msg("POST / 1.1", {"Content-Length: 0"}, "", true)}},
        {"duplicate identical Content-Length",
         true,
         "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
         {msg("POST / 1.1", {"Content-Length: 3", "Content-Length: 3"}, "abc", true)}},
        {"Content-Length list of identical values",
         true,
         "POST / HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\nabc",
         {msg("POST / 1.1", {"Content-Length: 3, 3"}, "abc", true)}},
        {"chunked request with extensions and trailers",
         true,
         "POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
         "5;name=value\r\nhello\r\n6 ; x=\"q\"\r\n world\r\n0\r\nX-Checksum: 42\r\nX-Other: "
         "b\r\n\r\n",
         {msg("POST /up 1.1", {"Transfer-Encoding: chunked"}, "hello world", true,
              {"X-Checksum: 42", "X-Other: b"})}},
        {"chunked with upper-case hex and leading zeros",
         true,
         "POST / HTTP/1.1\r\nTransfer-Encoding: CHUNKED\r\n\r\n000A\r\n0123456789\r\n0\r\n\r\n",
         {msg("POST / 1.1", {"Transfer-Encoding: CHUNKED"}, "0123456789", true)}},
        {"pipelined requests in one buffer",
         true,
         "GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiGET /c "
         "HTTP/1.1\r\nConnection: "
         "close\r\n\r\n",
         {msg("GET /a 1.1", {}, "", true), msg("POST /b 1.1", {"Content-Length: 2"}, "hi", true),
          msg("GET /c 1.1", {"Connection: close"}, "", false)}},
        {"empty lines before a request line are skipped",
         true,
         "\r\n\r\nGET / HTTP/1.1\r\n\r\n",
         {msg("GET / 1.1", {}, "", true)}},
        {"a CRLF after a request body before the next request is skipped",
         true,
         "POST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi\r\nGET /b HTTP/1.1\r\n\r\n",
         {msg("POST /a 1.1", {"Content-Length: 2"}, "hi", true), msg("GET /b 1.1", {}, "", true)}},
        {"HTTP/1.0 request closes by default",
         true,
         "GET / HTTP/1.0\r\n\r\n",
         {msg("GET / 1.0", {}, "", false)}},
        {"HTTP/1.0 request with keep-alive",
         true,
         "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
         {msg("GET / 1.0", {"Connection: Keep-Alive"}, "", true)}},
        {"HTTP/1.1 request with close among tokens",
         true,
         "GET / HTTP/1.1\r\nConnection: upgrade, Close\r\n\r\n",
         {msg("GET / 1.1", {"Connection: upgrade, Close"}, "", false)}},
        {"OWS trimmed and empty value kept",
         true,
         "GET / HTTP/1.1\r\nA: \t spaced \t\r\nB:\r\nC:x\r\n\r\n",
         {msg("GET / 1.1", {"A: spaced", "B: ", "C: x"}, "", true)}},
        {"obs-text allowed in a value",
         true,
         "GET / HTTP/1.1\r\nX: caf\xc3\xa9\r\n\r\n",
         {msg("GET / 1.1", {"X: caf\xc3\xa9"}, "", true)}},
        {"response with Content-Length",
         false,
         "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody",
         {msg("200 OK 1.1", {"Content-Length: 4"}, "body", true)}},
        {"chunked response with trailer",
         false,
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\nExpires: "
         "never\r\n\r\n",
         {msg("200 OK 1.1", {"Transfer-Encoding: gzip, chunked"}, "abc", true,
              {"Expires: never"})}},
        {"response read until close",
         false,
         "HTTP/1.1 200 OK\r\n\r\nall of this until EOF",
         {msg("200 OK 1.1", {}, "all of this until EOF", false)},
         true},
        {"response with non-chunked Transfer-Encoding reads until close",
         false,
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzzz",
         {msg("200 OK 1.1", {"Transfer-Encoding: gzip"}, "zzz", false)},
         true},
        {"response whose final coding is not chunked reads until close",
         false,
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n3\r\nabc\r\n",
         {msg("200 OK 1.1", {"Transfer-Encoding: chunked, gzip"}, "3\r\nabc\r\n", false)},
         true},
        {"empty response body until close",
         false,
         "HTTP/1.0 200 OK\r\n\r\n",
         {msg("200 OK 1.0", {}, "", false)},
         true},
        {"response to HEAD has no body despite Content-Length",
         false,
         "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: "
         "0\r\n\r\n",
         {msg("200 OK 1.1", {"Content-Length: 1000"}, "", true),
          msg("404 Not Found 1.1", {"Content-Length: 0"}, "", true)},
         false,
         "HEAD"},
        {"204 has no body",
         false,
         "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
         {msg("204 No Content 1.1", {}, "", true),
          msg("200 OK 1.1", {"Content-Length: 1"}, "x", true)}},
        {"304 has no body despite Content-Length",
         false,
         "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n",
         {msg("304 Not Modified 1.1", {"Content-Length: 50"}, "", true)}},
        {"1xx then the final response",
         false,
         "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"
         "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
         {msg("100 Continue 1.1", {}, "", true),
          msg("103 Early Hints 1.1", {"Link: </s.css>"}, "", true),
          msg("201 Created 1.1", {"Content-Length: 2"}, "ok", true)}},
        {"status line without reason",
         false,
         "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
         {msg("200  1.1", {"Content-Length: 0"}, "", true)}},
        {"HTTP/1.0 response keep-alive with Content-Length",
         false,
         "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nz",
         {msg("200 OK 1.0", {"Connection: keep-alive", "Content-Length: 1"}, "z", true)}},
        {"response with both TE and CL uses chunked and closes",
         false,
         "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: "
         "chunked\r\n\r\n1\r\nq\r\n0\r\n\r\n",
         {msg("200 OK 1.1", {"Content-Length: 99", "Transfer-Encoding: chunked"}, "q", false)}},
        {"an empty line before a status line is skipped",
         false,
         "\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
         {msg("200 OK 1.1", {"Content-Length: 0"}, "", true)}},
        {"an extra CRLF between responses is skipped",
         false,
         "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok\r\nHTTP/1.1 204 No Content\r\n\r\n",
         {msg("200 OK 1.1", {"Content-Length: 2"}, "ok", true),
          msg("204 No Content 1.1", {}, "", true)}},
        {"obs-fold in a response becomes one SP before the value is read",
         false,
         "HTTP/1.1 200 OK\r\nX-Long: first \r\n  second\r\n\tthird\r\nContent-Length:\r\n "
         "2\r\n\r\nok",
         {msg("200 OK 1.1", {"X-Long: first second third", "Content-Length: 2"}, "ok", true)}},
        {"obs-fold in a response trailer and an empty continuation",
         false,
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Empty:\r\n \t \r\n\r\n"
         "1\r\nz\r\n0\r\nX-T: a\r\n b\r\n\r\n",
         {msg("200 OK 1.1", {"Transfer-Encoding: chunked", "X-Empty: "}, "z", true, {"X-T: a b"})}},
        {"2xx to CONNECT has no body",
         false,
         "HTTP/1.1 200 Connection established\r\n\r\n",
         {msg("200 Connection established 1.1", {}, "", true)},
         false,
         "CONNECT"},
    };
}

struct malformed_case {
    const char* name;
    bool is_request;
    std::string input;
    bool eof = false;
};

std::vector<malformed_case> malformed_cases() {
    return {
        {"bare LF line ends", true, "GET / HTTP/1.1\nHost: a\n\n"},
        {"bare CR in a header", true, "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n"},
        {"bare CR in the request line", true, "GET /\r HTTP/1.1\r\n\r\n"},
        {"obs-fold", true, "GET / HTTP/1.1\r\nX: a\r\n  continued\r\n\r\n"},
        {"obs-fold with tab", true, "GET / HTTP/1.1\r\nX: a\r\n\tcontinued\r\n\r\n"},
        {"space before colon", true, "GET / HTTP/1.1\r\nHost : a\r\n\r\n"},
        {"tab before colon", true, "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n"},
        {"header without colon", true, "GET / HTTP/1.1\r\nHost a\r\n\r\n"},
        {"empty header name", true, "GET / HTTP/1.1\r\n: a\r\n\r\n"},
        {"invalid char in header name", true, "GET / HTTP/1.1\r\nHo(st: a\r\n\r\n"},
        {"NUL in header value", true, std::string("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 25)},
        {"DEL in header value", true, "GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n"},
        {"control char in header value", true, "GET / HTTP/1.1\r\nX: a\x01\r\n\r\n"},
        {"missing version", true, "GET /\r\n\r\n"},
        {"lower-case version", true, "GET / http/1.1\r\n\r\n"},
        {"HTTP/2.0 in a request", true, "GET / HTTP/2.0\r\n\r\n"},
        {"version with two digits", true, "GET / HTTP/1.10\r\n\r\n"},
        {"two spaces in request line", true, "GET  / HTTP/1.1\r\n\r\n"},
        {"trailing space in request line", true, "GET / HTTP/1.1 \r\n\r\n"},
        {"invalid method", true, "G@T / HTTP/1.1\r\n\r\n"},
        {"space in target", true, "GET /a b HTTP/1.1\r\n\r\n"},
        {"control char in target", true, "GET /\x01 HTTP/1.1\r\n\r\n"},
        {"too many empty lines before request", true, "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n"},
        {"Content-Length not a number", true, "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n"},
        {"Content-Length negative", true, "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"},
        {"Content-Length with plus", true, "POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\nhello"},
        {"Content-Length empty", true, "POST / HTTP/1.1\r\nContent-Length: \r\n\r\n"},
        {"Content-Length overflow", true,
         "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n"},
        {"conflicting Content-Length", true,
         "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"},
        {"conflicting Content-Length list", true,
         "POST / HTTP/1.1\r\nContent-Length: 3, 4\r\n\r\nabcd"},
        {"TE and CL in a request", true,
         "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: "
         "chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"},
        {"request TE not ending in chunked", true,
         "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"},
        {"chunked twice", true,
         "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n"},
        {"TE in HTTP/1.0 request", true,
         "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
        {"chunk size not hex", true, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"},
        {"chunk size missing", true, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\r\n"},
        {"chunk size overflow", true,
         "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1ffffffffffffffffffff\r\n"},
        {"chunk size with garbage", true,
         "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5 x\r\nhello\r\n"},
        {"chunk data too long (no CRLF after data)", true,
         "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n"},
        {"chunk data followed by LF only", true,
         "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\n0\r\n\r\n"},
        {"whitespace after a chunk size without an extension", true,
         "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\na \r\n0123456789\r\n0\r\n\r\n"},
        {"chunk extension without a name", true,
         "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2;\r\naa\r\n0\r\n\r\n"},
        {"chunk extension with an unterminated quote", true,
         "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2;a=\"b; c\r\naa\r\n0\r\n\r\n"},
        {"negative chunk size", true,
         "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n"},
        {"obs-fold in trailer", true,
         "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: a\r\n b\r\n\r\n"},
        {"bad trailer line", true,
         "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nno colon\r\n\r\n"},
        {"chunked body truncated by EOF", true,
         "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", true},
        {"Content-Length body truncated by EOF", true,
         "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", true},
        {"headers truncated by EOF", true, "GET / HTTP/1.1\r\nHost: a\r\n", true},
        {"response status not a number", false, "HTTP/1.1 2x0 OK\r\n\r\n"},
        {"response status too short", false, "HTTP/1.1 20 OK\r\n\r\n"},
        {"response status out of range", false, "HTTP/1.1 099 Low\r\n\r\n"},
        {"response status 600", false, "HTTP/1.1 600 High\r\n\r\n"},
        {"response status without space before reason", false, "HTTP/1.1 200OK\r\n\r\n"},
        {"response bad version", false, "HTTP/x.1 200 OK\r\n\r\n"},
        {"response after five empty lines", false, "\r\n\r\n\r\n\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"},
        {"bare LF before a request line", true, "\nGET / HTTP/1.1\r\n\r\n"},
        {"response control char in reason", false, "HTTP/1.1 200 O\x02K\r\n\r\n"},
        {"response chunked twice", false,
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n"},
        {"response chunked twice in two fields", false,
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip, "
         "chunked\r\n\r\n"},
        {"response bad Content-Length", false, "HTTP/1.1 200 OK\r\nContent-Length: 1.5\r\n\r\n"},
        {"response truncated body", false, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
         true},
        {"response whitespace line before the first field", false,
         "HTTP/1.1 200 OK\r\n X: a\r\nContent-Length: 0\r\n\r\n"},
        {"response obs-fold holding a control character", false,
         "HTTP/1.1 200 OK\r\nX: a\r\n b\x01\r\nContent-Length: 0\r\n\r\n"},
        {"response LF only", false, "HTTP/1.1 200 OK\nContent-Length: 0\n\n"},
    };
}

/// The requests `input` parses to, fed `step` bytes at a time, as one string
/// ("start|field|field|" per message), or the error with its kind and offset:
/// comparable across feeding steps.
std::string request_outcome(const std::string& input, std::size_t step, parser_limits limits = {}) {
    try {
        const auto messages = run<request_parser>(input, step, body_mode::accumulate, false, "GET", limits);
        std::string text;
        for (const auto& m : messages) {
            text += m.start + "|";
            for (const auto& f : m.fields) {
                text += f + "|";
            }
        }
        return text;
    } catch (const protocol_error& e) {
        return "error " + std::to_string(static_cast<int>(e.error_kind())) + " at " + std::to_string(e.offset());
    }
}

}  // namespace

TEST_CASE("Every valid framing case parses to the expected messages, whole and byte at a time",
          "[http][parser]") {
    for (const auto& c : valid_cases()) {
        INFO(c.name);
        for (const body_mode mode : {body_mode::accumulate, body_mode::stream}) {
            std::vector<seen_message> whole;
            std::vector<seen_message> bytewise;
            std::vector<seen_message> threes;
            if (c.is_request) {
                whole = run<request_parser>(c.input, 0, mode, c.eof);
                bytewise = run<request_parser>(c.input, 1, mode, c.eof);
                threes = run<request_parser>(c.input, 3, mode, c.eof);
            } else {
                whole = run<response_parser>(c.input, 0, mode, c.eof, c.method);
                bytewise = run<response_parser>(c.input, 1, mode, c.eof, c.method);
                threes = run<response_parser>(c.input, 3, mode, c.eof, c.method);
            }
            CHECK(whole == c.expected);
            CHECK(bytewise == whole);
            CHECK(threes == whole);
        }
    }
}

TEST_CASE("A table of malformed inputs each gives protocol_error, whole and byte at a time",
          "[http][parser]") {
    const auto cases = malformed_cases();
    REQUIRE(cases.size() >= 40);
    for (const auto& c : cases) {
        INFO(c.name);
        std::vector<std::uint64_t> offsets;
        for (const std::size_t step : {std::size_t{0}, std::size_t{1}, std::size_t{2}}) {
            try {
                if (c.is_request)
                    (void)run<request_parser>(c.input, step, body_mode::accumulate, c.eof);
                else
                    (void)run<response_parser>(c.input, step, body_mode::stream, c.eof);
                FAIL_CHECK("no protocol_error");
            } catch (const protocol_error& e) {
                offsets.push_back(e.offset());
            }
        }
        // However the input is split, the error is found at the same byte.
        REQUIRE(offsets.size() == 3);
        CHECK(offsets[0] == offsets[1]);
        CHECK(offsets[0] == offsets[2]);
    }
}

TEST_CASE("A body over the limit fails at the same byte whether fed whole or in pieces",
          "[http][parser]") {
    // Found by fuzz_http_parser: the offset depended on how the input was split.
    parser_limits limits;
    limits.max_body_size = 8;
    const std::string input = "HTTP/1.0 200 OK\r\n\r\n0123456789";
    for (const std::size_t step : {std::size_t{0}, std::size_t{1}, std::size_t{5}}) {
        INFO(step);
        try {
            (void)run<response_parser>(input, step, body_mode::stream, true, "GET", limits);
            FAIL("no error");
        } catch (const protocol_error& e) {
            CHECK(e.offset() == 19 + 8);
            CHECK(e.error_kind() == protocol_error::kind::body_too_large);
        }
    }
}

TEST_CASE("Lines taken whole from the input fail at the same byte as lines fed byte by byte",
          "[http][parser]") {
    // The parser takes a line ending in the input as a view in one step and
    // goes byte by byte only for the unusual: each outcome (the messages, or
    // the error kind and offset) must not depend on how the input is split.
    parser_limits limits;
    limits.max_line_length = 24;
    limits.max_header_bytes = 60;
    const std::vector<std::string> inputs = {
        "GET /456789012345678 HTTP/1.1\r\nHost: a\r\n\r\n",        // request line of exactly 29 > 24
        "GET /4567890 HTTP/1.1\r\nHost: a\r\n\r\n",                // 21: fits
        "GET / HTTP/1.1\r\nX: 345678901234567890123\r\n\r\n",      // field line of exactly 24
        "GET / HTTP/1.1\r\nX: 3456789012345678901234\r\n\r\n",     // 25: one over
        "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 345678901234567890\r\nD: 12\r\n\r\n",  // section of exactly 60
        "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 345678901234567890\r\nD: 123\r\n\r\n",  // 61: one over
        "GET / HTTP/1.1\r\nHost: a\nb\r\n\r\n",                   // bare LF inside a line
        "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",                   // bare CR inside a line
        "GET / HTTP/1.1\r\nHost: a\r",                              // CR ending the input
        "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: b\r\n\r\n",
    };
    auto outcome = [&](const std::string& input, std::size_t step) { return request_outcome(input, step, limits); };
    for (const auto& input : inputs) {
        INFO(input);
        const std::string byte_by_byte = outcome(input, 1);
        for (const std::size_t step : {std::size_t{0}, std::size_t{2}, std::size_t{3}, std::size_t{7}}) {
            INFO(step);
            CHECK(outcome(input, step) == byte_by_byte);
        }
    }
    CHECK(outcome(inputs[0], 0) == "error " + std::to_string(static_cast<int>(protocol_error::kind::line_too_long)) +
                                       " at 24");
    CHECK(outcome(inputs[1], 0) == "GET /4567890 1.1|Host: a|");
    CHECK(outcome(inputs[2], 0) == "GET / 1.1|X: 345678901234567890123|");
    CHECK(outcome(inputs[4], 0).rfind("GET / 1.1|", 0) == 0);
    CHECK(outcome(inputs[5], 0) == "error " +
                                       std::to_string(static_cast<int>(protocol_error::kind::headers_too_large)) +
                                       " at 60");
    CHECK(outcome(inputs[6], 0).rfind("error ", 0) == 0);
    CHECK(outcome(inputs[9], 0) == "GET / 1.1|Host: a|GET /b 1.1|Host: b|");
}

TEST_CASE("A parser reused without take_message holds only the current request's line and fields",
          "[http][parser]") {
    // The parser writes each request's fields over the previous request's:
    // none may survive into a request that has fewer, or other, fields.
    request_parser p;
    auto parse = [&p](std::string_view input) {
        std::span<const char> rest(input.data(), input.size());
        for (;;) {
            const auto r = p.feed(rest);
            rest = rest.subspan(r.consumed);
            if (r.status == parse_status::message_complete)
                break;
            REQUIRE(r.status != parse_status::need_more);
        }
        REQUIRE(rest.empty());
        return describe(p.message()) + "|" + [&] {
            std::string text;
            for (const auto& line : lines_of(p.message().headers))
                text += line + "|";
            return text;
        }();
    };
    CHECK(parse("GET /a HTTP/1.1\r\nHost: a\r\nX-One: 1\r\nX-Two: 22\r\n\r\n") ==
          "GET /a 1.1|Host: a|X-One: 1|X-Two: 22|");
    CHECK(parse("POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n") ==
          "POST /b 1.1|Host: a|Content-Length: 0|");
    CHECK(parse("GET /a HTTP/1.1\r\nhost: a-much-longer-host-name.example\r\nX-One: 1\r\nX-Two: 2\r\nX-3: 3\r\n\r\n") ==
          "GET /a 1.1|host: a-much-longer-host-name.example|X-One: 1|X-Two: 2|X-3: 3|");
    CHECK(parse("GET /a HTTP/1.1\r\nHost: a\r\nX-One: 1\r\nX-Two: 2\r\nX-3: 3\r\n\r\n") ==
          "GET /a 1.1|Host: a|X-One: 1|X-Two: 2|X-3: 3|");
    // What a handler did to the fields does not carry over either.
    p.message().headers.remove("X-One");
    p.message().headers.add("Added", "by the handler");
    p.message().method = "CHANGED";
    CHECK(parse("GET /a HTTP/1.1\r\nHost: a\r\nX-One: 1\r\n\r\n") == "GET /a 1.1|Host: a|X-One: 1|");
    CHECK(parse("OPTIONS * HTTP/1.0\r\n\r\n") == "OPTIONS * 1.0|");
    CHECK(parse("GET /a HTTP/1.1\r\nHost: a\r\n\r\n") == "GET /a 1.1|Host: a|");
    CHECK(parse("GET /a HTTP/1.1\r\nHost: b\r\n\r\n") == "GET /a 1.1|Host: b|");
}

TEST_CASE("start_line_parsed tells when the current request's method is valid, also after a failure",
          "[http][parser]") {
    // The server reads it to answer a HEAD request's refusal without a body.
    auto after = [](std::string_view input) {
        request_parser p;
        try {
            std::span<const char> rest(input.data(), input.size());
            for (;;) {
                const auto r = p.feed(rest);
                rest = rest.subspan(r.consumed);
                if (r.status == parse_status::need_more)
                    break;
            }
        } catch (const protocol_error&) {
        }
        return p.start_line_parsed() ? "parsed " + p.message().method : std::string("not parsed");
    };
    CHECK(after("") == "not parsed");
    CHECK(after("HEAD /a HT") == "not parsed");
    CHECK(after("HEAD /a HTTP/1.1\r\n") == "parsed HEAD");
    CHECK(after("HEAD /a HTTP/1.1\r\nHost: a\r\nBad Field: x\r\n") == "parsed HEAD");
    // Fed on after a complete request, the parser is at the next one's start.
    CHECK(after("HEAD /a HTTP/1.1\r\nHost: a\r\n\r\n") == "not parsed");
    // A second request whose line fails: the first one's method is not its own.
    CHECK(after("HEAD /a HTTP/1.1\r\nHost: a\r\n\r\nGET\x01/ HTTP/1.1\r\n") == "not parsed");
    CHECK(after("HEAD /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b") == "not parsed");
}

TEST_CASE("Control bytes are refused wherever they fall in a line, whole or byte at a time", "[http][parser]") {
    // Lines are scanned eight bytes at a time: a control byte (or DEL) at
    // any place in a word, after an HTAB, or in the last bytes must be found.
    auto outcome = [](const std::string& input, std::size_t step) { return request_outcome(input, step); };
    const std::string bad_message =
        "error " + std::to_string(static_cast<int>(protocol_error::kind::bad_message)) + " at ";
    for (std::size_t at = 0; at < 20; ++at) {
        for (const char c : {'\x01', '\x00', '\x0b', '\x1f', '\x7f'}) {
            std::string value(20, 'v');
            value[at] = c;
            const std::string input = "GET / HTTP/1.1\r\nX: " + value + "\r\n\r\n";
            INFO(at << " " << static_cast<int>(c));
            CHECK(outcome(input, 0) == bad_message + std::to_string(input.size() - 2));
            CHECK(outcome(input, 1) == outcome(input, 0));
            std::string tabbed = value;
            tabbed[at == 0 ? 1 : at - 1] = '\t';
            const std::string after_tab = "GET / HTTP/1.1\r\nX: " + tabbed + "\r\n\r\n";
            CHECK(outcome(after_tab, 0) == bad_message + std::to_string(after_tab.size() - 2));
            std::string target(20, 'p');
            target[0] = '/';
            target[at == 0 ? 1 : at] = c;
            const std::string line = "GET " + target + " HTTP/1.1\r\nHost: a\r\n\r\n";
            CHECK(outcome(line, 0).rfind(bad_message, 0) == 0);
            CHECK(outcome(line, 3) == outcome(line, 0));
        }
        std::string value(20, 'v');
        value[at] = '\t';
        value[19 - at] = '\xe9';  // obs-text is allowed in a value
        const std::string input = "GET / HTTP/1.1\r\nX: x" + value + "x\r\n\r\n";
        CHECK(outcome(input, 0) == "GET / 1.1|X: x" + value + "x|");
        CHECK(outcome(input, 5) == outcome(input, 0));
    }
}

TEST_CASE("Malformed request lines and field names keep their own messages", "[http][parser]") {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"GET\r\n", "malformed start line"},
        {"GET /\r\n", "malformed request line"},
        {"GET  HTTP/1.1\r\n", "empty request-target"},
        {"G@T / HTTP/1.1\r\n", "invalid method"},
        {" GET / HTTP/1.1\r\n", "invalid method"},
        {"GET /a\tb HTTP/1.1\r\n", "invalid character in request-target"},
        {"GET /a\x7f HTTP/1.1\r\n", "invalid character in request-target"},
        {"GET / HTTP/1.1 \r\n", "malformed HTTP version"},
        {"GET / HTTP/2.0\r\n", "unsupported HTTP major version"},
        {"GET / HTTP/1.1\r\nHost a\r\n", "header line without ':'"},
        {"GET / HTTP/1.1\r\n: a\r\n", "empty header name"},
        {"GET / HTTP/1.1\r\nHost\t: a\r\n", "whitespace between header name and ':'"},
        {"GET / HTTP/1.1\r\nHo(st: a\r\n", "invalid character in header name"},
        {"GET / HTTP/1.1\r\nHost: a\x01\r\n", "invalid character in header value"},
    };
    for (const auto& [input, problem] : cases) {
        INFO(input);
        request_parser p;
        try {
            (void)p.feed(input);
            FAIL("no error");
        } catch (const protocol_error& e) {
            CHECK(std::string(e.what()).find(problem) != std::string::npos);
        }
    }
}

TEST_CASE("A protocol_error names the problem and the byte offset", "[http][parser]") {
    request_parser p;
    const std::string input = "GET / HTTP/1.1\r\nHost : a\r\n\r\n";
    try {
        (void)p.feed(input);
        FAIL("no error");
    } catch (const protocol_error& e) {
        const std::string what = e.what();
        CHECK(what.find("whitespace between header name and ':'") != std::string::npos);
        CHECK(e.offset() == 26);  // after "Host : a\r\n", where the line was complete
        CHECK(what.find("at byte 26") != std::string::npos);
        CHECK(e.error_kind() == protocol_error::kind::bad_message);
    }
    // The parser stays failed and reports the same error again.
    try {
        (void)p.feed(std::string_view("GET / HTTP/1.1\r\n\r\n"));
        FAIL("no error");
    } catch (const protocol_error& e) {
        CHECK(std::string(e.what()).find("whitespace between header name and ':' at byte 26") !=
              std::string::npos);
    }
    CHECK_THROWS_AS(p.finish(), protocol_error);
}

TEST_CASE("The response parser uses the method set for each response", "[http][parser]") {
    response_parser p;
    const std::string input =
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n"
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
    std::span<const char> in(input);
    p.set_request_method("HEAD");
    auto r = p.feed(in);
    CHECK(r.status == parse_status::headers_complete);
    CHECK(p.content_length() == 0u);
    in = in.subspan(r.consumed);
    CHECK(p.feed(in).status == parse_status::message_complete);
    p.set_request_method("GET");
    r = p.feed(in);
    CHECK(r.status == parse_status::headers_complete);
    CHECK(p.content_length() == 3u);
    in = in.subspan(r.consumed);
    r = p.feed(in);
    CHECK(r.status == parse_status::message_complete);
    CHECK(p.message().body == "abc");
    CHECK(p.offset() == input.size());
}

TEST_CASE("Each parser limit is enforced with its own error kind", "[http][parser]") {
    SECTION("line length") {
        parser_limits limits;
        limits.max_line_length = 20;
        CHECK_NOTHROW(run<request_parser>("GET /12345 HTTP/1.1\r\n\r\n", 0, body_mode::accumulate,
                                          false, "GET", limits));
        try {
            (void)run<request_parser>("GET /123456789012 HTTP/1.1\r\n\r\n", 1,
                                      body_mode::accumulate, false, "GET", limits);
            FAIL("no error");
        } catch (const protocol_error& e) {
            CHECK(e.error_kind() == protocol_error::kind::line_too_long);
        }
        try {
            (void)run<request_parser>("GET / HTTP/1.1\r\nX: 0123456789012345678\r\n\r\n", 0,
                                      body_mode::accumulate, false, "GET", limits);
            FAIL("no error");
        } catch (const protocol_error& e) {
            CHECK(e.error_kind() == protocol_error::kind::headers_too_large);
        }
        // A chunk-size line with a long extension is limited too.
        CHECK_THROWS_AS(
            run<request_parser>(
                "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;aaaaaaaaaaaaaaaaaaaaaa\r\n",
                0, body_mode::accumulate, false, "GET", limits),
            protocol_error);
    }
    SECTION("header bytes") {
        parser_limits limits;
        limits.max_header_bytes = 64;
        std::string ok = "GET / HTTP/1.1\r\nA: 1\r\n\r\n";
        CHECK(run<request_parser>(ok, 0, body_mode::accumulate, false, "GET", limits).size() == 1);
        std::string big = "GET / HTTP/1.1\r\n";
        for (int i = 0; i < 10; ++i)
            big += "Field: value\r\n";
        big += "\r\n";
        try {
            (void)run<request_parser>(big, 1, body_mode::accumulate, false, "GET", limits);
            FAIL("no error");
        } catch (const protocol_error& e) {
            CHECK(e.error_kind() == protocol_error::kind::headers_too_large);
            CHECK(e.offset() == 64);
        }
    }
    SECTION("header count, also for trailers") {
        parser_limits limits;
        limits.max_header_count = 3;
        CHECK(run<request_parser>("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 0,
                                  body_mode::accumulate, false, "GET", limits)
                  .size() == 1);
        try {
            (void)run<request_parser>("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", 0,
                                      body_mode::accumulate, false, "GET", limits);
            FAIL("no error");
        } catch (const protocol_error& e) {
            CHECK(e.error_kind() == protocol_error::kind::headers_too_large);
        }
        CHECK_THROWS_AS(run<request_parser>(
                            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: 1\r\nB: "
                            "2\r\nC: 3\r\nD: 4\r\n\r\n",
                            0, body_mode::accumulate, false, "GET", limits),
                        protocol_error);
    }
    SECTION("body size: Content-Length, chunked and until close") {
        parser_limits limits;
        limits.max_body_size = 10;
        CHECK(run<request_parser>("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789", 0,
                                  body_mode::accumulate, false, "GET", limits)
                  .size() == 1);
        // Rejected at the headers, before any body byte, so a server can answer 413 early.
        request_parser p(limits);
        try {
            (void)p.feed(std::string_view("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n"));
            FAIL("no error");
        } catch (const protocol_error& e) {
            CHECK(e.error_kind() == protocol_error::kind::body_too_large);
        }
        CHECK_THROWS_AS(run<request_parser>(
                            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n"
                            "5\r\n01234\r\n0\r\n\r\n",
                            1, body_mode::accumulate, false, "GET", limits),
                        protocol_error);
        CHECK(run<response_parser>("HTTP/1.1 200 OK\r\n\r\n0123456789", 1, body_mode::stream, true,
                                   "GET", limits)
                  .size() == 1);
        try {
            (void)run<response_parser>("HTTP/1.1 200 OK\r\n\r\n0123456789x", 0, body_mode::stream,
                                       true, "GET", limits);
            FAIL("no error");
        } catch (const protocol_error& e) {
            CHECK(e.error_kind() == protocol_error::kind::body_too_large);
        }
    }
}

TEST_CASE("Streaming delivers a large body in pieces without buffering it", "[http][parser]") {
    response_parser p;
    p.set_body_mode(body_mode::stream);
    const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n";
    auto r = p.feed(head);
    CHECK(r.status == parse_status::headers_complete);
    CHECK(r.consumed == head.size());
    CHECK(p.content_length() == 100000u);
    CHECK(p.keep_alive());
    const std::string block(4096, 'x');
    std::size_t total = 0;
    int chunks = 0;
    while (total < 100000) {
        std::span<const char> in(block.data(), std::min<std::size_t>(block.size(), 100000 - total));
        while (!in.empty()) {
            r = p.feed(in);
            REQUIRE(r.status == parse_status::body_chunk);
            total += r.body.size();
            ++chunks;
            in = in.subspan(r.consumed);
        }
    }
    CHECK(total == 100000);
    CHECK(chunks == 25);
    CHECK(p.message().body.empty());
    CHECK(p.feed(std::span<const char>{}).status == parse_status::message_complete);
    CHECK(p.idle());
}

TEST_CASE("Body mode may switch after headers_complete and the next message reuses the parser",
          "[http][parser]") {
    request_parser p;
    const std::string input =
        "POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcPOST /b HTTP/1.1\r\nContent-Length: "
        "2\r\n\r\nde";
    std::span<const char> in(input);
    auto r = p.feed(in);
    CHECK(r.status == parse_status::headers_complete);
    CHECK(p.message().target == "/a");
    p.set_body_mode(body_mode::stream);
    in = in.subspan(r.consumed);
    r = p.feed(in);
    CHECK(r.status == parse_status::body_chunk);
    CHECK(std::string(r.body.data(), r.body.size()) == "abc");
    in = in.subspan(r.consumed);
    r = p.feed(in);
    CHECK(r.status == parse_status::message_complete);
    CHECK(r.consumed == 0);
    p.set_body_mode(body_mode::accumulate);
    r = p.feed(in);
    CHECK(r.status == parse_status::headers_complete);
    CHECK(p.message().target == "/b");
    in = in.subspan(r.consumed);
    r = p.feed(in);
    CHECK(r.status == parse_status::message_complete);
    CHECK(p.message().body == "de");
    CHECK(r.consumed == in.size());
}

TEST_CASE("finish() tells a clean close between messages from a truncated message",
          "[http][parser]") {
    response_parser idle_parser;
    CHECK_FALSE(idle_parser.finish());

    response_parser after_message;
    (void)after_message.feed(std::string_view("HTTP/1.1 204 No Content\r\n\r\n"));
    CHECK(after_message.feed(std::span<const char>{}).status == parse_status::message_complete);
    CHECK_FALSE(after_message.finish());

    response_parser until_close;
    CHECK(until_close.feed(std::string_view("HTTP/1.1 200 OK\r\n\r\npartial")).status ==
          parse_status::headers_complete);
    CHECK(until_close.reads_until_close());
    CHECK_FALSE(until_close.keep_alive());

    response_parser mid;
    (void)mid.feed(std::string_view("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab"));
    try {
        (void)mid.finish();
        FAIL("no error");
    } catch (const protocol_error& e) {
        CHECK(e.error_kind() == protocol_error::kind::incomplete_message);
    }
}

TEST_CASE("A parser that has seen only empty lines is idle and may end cleanly there",
          "[http][parser]") {
    // RFC 9112 §2.2: empty lines before a start line are ignored. The server
    // picks the keep-alive timeout while idle(), so a stray CRLF after a body
    // must not start the header timeout; and a close there is no truncation.
    request_parser p;
    const std::string post = "POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi";
    std::span<const char> in(post);
    auto r = p.feed(in);
    REQUIRE(r.status == parse_status::headers_complete);
    r = p.feed(in.subspan(r.consumed));
    REQUIRE(r.status == parse_status::message_complete);
    CHECK(p.feed(std::string_view("\r")).status == parse_status::need_more);
    CHECK(p.idle());
    CHECK(p.feed(std::string_view("\n\r\n")).status == parse_status::need_more);
    CHECK(p.idle());
    CHECK_FALSE(p.finish());

    request_parser fresh;
    CHECK(fresh.feed(std::string_view("\r\n")).status == parse_status::need_more);
    CHECK(fresh.idle());
    CHECK(fresh.feed(std::string_view("G")).status == parse_status::need_more);
    CHECK_FALSE(fresh.idle());
    CHECK_THROWS_AS(fresh.finish(), protocol_error);

    response_parser client;
    CHECK(client.feed(std::string_view("\r\n\r\n")).status == parse_status::need_more);
    CHECK(client.idle());
    CHECK_FALSE(client.finish());

    // Bounded: the fifth empty line in a row is an error, not a free ride.
    request_parser endless;
    CHECK(endless.feed(std::string_view("\r\n\r\n\r\n\r\n")).status == parse_status::need_more);
    try {
        (void)endless.feed(std::string_view("\r\n"));
        FAIL("no error");
    } catch (const protocol_error& e) {
        CHECK(e.error_kind() == protocol_error::kind::bad_message);
        CHECK(e.offset() == 10);
    }
}

TEST_CASE(
    "A request transfer coding other than chunked is not implemented, one not ending in chunked is "
    "bad",
    "[http][parser]") {
    // RFC 9112 §6.3: final coding not chunked → 400 (MUST); §6.1: a coding
    // the server does not understand → 501 (SHOULD). corio decodes only chunked.
    struct coding_case {
        const char* te;
        protocol_error::kind expected;
    };
    const coding_case cases[] = {
        {"Transfer-Encoding: gzip, chunked\r\n", protocol_error::kind::not_implemented},
        {"Transfer-Encoding: identity, chunked\r\n", protocol_error::kind::not_implemented},
        {"Transfer-Encoding: x-custom ; q=1 , chunked\r\n", protocol_error::kind::not_implemented},
        {"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",
         protocol_error::kind::not_implemented},
        {"Transfer-Encoding: gzip\r\n", protocol_error::kind::bad_message},
        {"Transfer-Encoding: chunked, gzip\r\n", protocol_error::kind::bad_message},
        {"Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n",
         protocol_error::kind::bad_message},
        {"Transfer-Encoding: gzip, chunked, chunked\r\n", protocol_error::kind::bad_message},
        {"Transfer-Encoding: \r\n", protocol_error::kind::bad_message},
        {"Transfer-Encoding: chun\"ked\", chunked\r\n", protocol_error::kind::bad_message},
    };
    for (const auto& c : cases) {
        INFO(c.te);
        request_parser p;
        const std::string input =
            std::string("POST / HTTP/1.1\r\n") + c.te + "\r\n3\r\nabc\r\n0\r\n\r\n";
        try {
            (void)p.feed(input);
            FAIL_CHECK("no error");
        } catch (const protocol_error& e) {
            CHECK(e.error_kind() == c.expected);
        }
    }
    request_parser plain;
    CHECK(plain.feed(std::string_view("POST / HTTP/1.1\r\nTransfer-Encoding: , Chunked ,\r\n\r\n"))
              .status == parse_status::headers_complete);
    CHECK(plain.chunked());
}

TEST_CASE("A request without a length has no body and chunked() reports the coding",
          "[http][parser]") {
    request_parser p;
    const std::string input = "DELETE /x HTTP/1.1\r\n\r\nextra";
    auto r = p.feed(input);
    CHECK(r.status == parse_status::headers_complete);
    CHECK(p.content_length() == 0u);
    CHECK_FALSE(p.chunked());
    r = p.feed(std::span<const char>(input).subspan(r.consumed));
    CHECK(r.status == parse_status::message_complete);
    CHECK(p.message().body.empty());

    request_parser c;
    CHECK(
        c.feed(std::string_view("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")).status ==
        parse_status::headers_complete);
    CHECK(c.chunked());
    CHECK_FALSE(c.content_length().has_value());
}

TEST_CASE("Headers keep order, compare names case-insensitively and hold repeated fields",
          "[http][message]") {
    corio::http::headers h;
    h.add("Content-Type", "text/plain");
    h.add("Set-Cookie", "a=1");
    h.add("set-cookie", "b=2");
    h.add("X-Last", "z");
    CHECK(h.size() == 4);
    CHECK(std::string(h.get("content-type").value_or("")) == "text/plain");
    CHECK_FALSE(h.get("Missing").has_value());
    CHECK(std::string(h.get_or("Missing", "dflt")) == "dflt");
    CHECK(strings(h.get_all("SET-COOKIE")) == std::vector<std::string>{"a=1", "b=2"});
    CHECK(h.contains("x-last"));
    h.set("Set-Cookie", "c=3");
    CHECK(strings(h.get_all("set-cookie")) == std::vector<std::string>{"c=3"});
    std::vector<std::string> names;
    for (const auto& f : h)
        names.push_back(f.name);
    CHECK(names == std::vector<std::string>{"Content-Type", "Set-Cookie", "X-Last"});
    h.set("New", "n");
    CHECK(h.size() == 4);
    CHECK(h.remove("content-type") == 1);
    CHECK(h.remove("content-type") == 0);
    CHECK_FALSE(h.contains("Content-Type"));
    h.add("Connection", "Upgrade, Keep-Alive");
    CHECK(h.has_token("connection", "keep-alive"));
    CHECK_FALSE(h.has_token("connection", "close"));
}

TEST_CASE("Reason phrases cover the common status codes", "[http][message]") {
    CHECK(std::string(corio::http::reason_phrase(200)) == "OK");
    CHECK(std::string(corio::http::reason_phrase(404)) == "Not Found");
    CHECK(std::string(corio::http::reason_phrase(413)) == "Content Too Large");
    CHECK(std::string(corio::http::reason_phrase(431)) == "Request Header Fields Too Large");
    CHECK(std::string(corio::http::reason_phrase(799)) == "Unknown");
    corio::http::response r;
    CHECK(r.status == 200);
    CHECK(r.version == corio::http::http_version{1, 1});
}
