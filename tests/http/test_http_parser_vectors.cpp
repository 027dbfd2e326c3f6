// Peer vectors for corio/http/parser.hpp: request and response cases whose
// expected outcomes are the facts the public catalogues of node's http-parser
// (test.c) and llhttp (test/request/*.md, test/response/*.md) pin down,
// written here as our own inputs. Where corio deliberately answers otherwise
// (it is stricter where a lenient parser opens a smuggling gap), the case
// expects corio's answer and docs/http-conformance.md gives the RFC clause.
//
// Every case is fed whole (accumulating and streaming the body), byte by
// byte, and split in two at every position (short inputs); all must agree.
#include <corio/http/parser.hpp>

#include "catch.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

using corio::http::body_mode;
using corio::http::parse_status;
using corio::http::protocol_error;
using error_kind = corio::http::protocol_error::kind;
using namespace std::string_literals;

namespace {

/// One parsed message, in a form easy to compare and print.
struct message_seen {
    std::string start;                 // "GET / HTTP/1.1" or "HTTP/1.1 200 OK"
    std::vector<std::string> headers;  // "Name: value"
    std::string body;
    bool keep_alive = false;
    bool upgrade = false;
    std::vector<std::string> trailers;
    bool operator==(const message_seen&) const = default;
};

/// Everything one run of the parser produced.
struct outcome {
    std::vector<message_seen> messages;
    std::optional<error_kind> error;
    std::uint64_t error_offset = 0;
    std::string rest;  // bytes left unparsed after an upgrade
    bool operator==(const outcome&) const = default;
};

enum class peer { request, response };

/// How the connection goes on after a message.
struct connection_flags {
    bool keep_alive;
    bool upgrade;
};
constexpr connection_flags stays_open{true, false};
constexpr connection_flags closes{false, false};
constexpr connection_flags upgrades{true, true};
constexpr connection_flags upgrades_closing{false, true};

message_seen m(std::string start, std::vector<std::string> headers, std::string body = "",
               connection_flags flags = stays_open, std::vector<std::string> trailers = {}) {
    return {std::move(start), std::move(headers), std::move(body),
            flags.keep_alive, flags.upgrade,      std::move(trailers)};
}

struct vector_case {
    std::string name;
    peer type = peer::request;
    std::string raw;
    outcome expected;
    bool eof = false;            // finish() after the last byte
    std::string method = "GET";  // responses: the method of the request answered

    vector_case&& at_eof() && {
        eof = true;
        return std::move(*this);
    }
    vector_case&& answering(std::string request_method) && {
        method = std::move(request_method);
        return std::move(*this);
    }
    vector_case&& leaving(std::string rest) && {
        expected.rest = std::move(rest);
        return std::move(*this);
    }
    vector_case&& then_fails(error_kind kind) && {
        expected.error = kind;
        return std::move(*this);
    }
};

vector_case request(std::string name, std::string raw, std::vector<message_seen> messages) {
    return {std::move(name), peer::request, std::move(raw), {std::move(messages), {}, 0, {}}};
}
vector_case response(std::string name, std::string raw, std::vector<message_seen> messages) {
    return {std::move(name), peer::response, std::move(raw), {std::move(messages), {}, 0, {}}};
}
vector_case bad_request(std::string name, std::string raw,
                        error_kind kind = error_kind::bad_message) {
    return std::move(request(std::move(name), std::move(raw), {})).then_fails(kind);
}
vector_case bad_response(std::string name, std::string raw,
                         error_kind kind = error_kind::bad_message) {
    return std::move(response(std::move(name), std::move(raw), {})).then_fails(kind);
}

std::string start_of(const corio::http::request& r) {
    return r.method + " " + r.target + " HTTP/" + std::to_string(r.version.major) + "." +
           std::to_string(r.version.minor);
}
std::string start_of(const corio::http::response& r) {
    return "HTTP/" + std::to_string(r.version.major) + "." + std::to_string(r.version.minor) + " " +
           std::to_string(r.status) + " " + r.reason;
}
std::vector<std::string> lines_of(const corio::http::headers& fields) {
    std::vector<std::string> out;
    for (const auto& f : fields)
        out.push_back(f.name + ": " + f.value);
    return out;
}

/// Feeds c.raw cut at `cuts` (ascending positions) to a fresh parser.
template <typename Parser>
outcome run(const vector_case& c, const std::vector<std::size_t>& cuts, body_mode mode) {
    Parser parser;
    parser.set_body_mode(mode);
    if constexpr (std::is_same_v<Parser, corio::http::response_parser>)
        parser.set_request_method(c.method);
    outcome out;
    message_seen current;
    std::string streamed;
    bool upgraded = false;
    const auto complete = [&] {
        auto message = parser.take_message();
        current.start = start_of(message);
        current.headers = lines_of(message.headers);
        current.body = mode == body_mode::stream ? streamed : message.body;
        current.trailers = lines_of(parser.trailers());
        out.messages.push_back(std::move(current));
        current = {};
        streamed.clear();
    };
    const std::string_view raw = c.raw;
    std::vector<std::size_t> bounds{0};
    bounds.insert(bounds.end(), cuts.begin(), cuts.end());
    bounds.push_back(raw.size());
    try {
        for (std::size_t piece = 0; piece + 1 < bounds.size() && !upgraded; ++piece) {
            std::span<const char> input(raw.data() + bounds[piece],
                                        bounds[piece + 1] - bounds[piece]);
            for (;;) {
                const auto r = parser.feed(input);
                REQUIRE(r.consumed <= input.size());
                input = input.subspan(r.consumed);
                if (r.status == parse_status::need_more) {
                    REQUIRE(input.empty());
                    break;
                }
                if (r.status == parse_status::headers_complete) {
                    current.keep_alive = parser.keep_alive();
                    current.upgrade = parser.upgrade();
                }
                if (r.status == parse_status::body_chunk)
                    streamed.append(r.body.data(), r.body.size());
                if (r.status == parse_status::message_complete) {
                    complete();
                    if (out.messages.back().upgrade) {
                        // What follows is another protocol's: hand it back unparsed.
                        upgraded = true;
                        const std::size_t at = bounds[piece + 1] - input.size();
                        out.rest = std::string(raw.substr(at));
                        break;
                    }
                }
            }
        }
        if (c.eof && !upgraded && parser.finish())
            complete();
    } catch (const protocol_error& e) {
        out.error = e.error_kind();
        out.error_offset = e.offset();
    }
    return out;
}

std::string printable(std::string_view bytes) {
    std::string out;
    for (const char c : bytes) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '\r')
            out += "\\r";
        else if (c == '\n')
            out += "\\n";
        else if (u < 0x20 || u >= 0x7F) {
            constexpr char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[u >> 4];
            out += hex[u & 15];
        } else
            out += c;
    }
    return out;
}

/// The outcome as text (without the error offset, which the table does not state).
/// Built by appending only: g++ 12 at -O3 reports a false -Wrestrict on
/// `"literal" + std::string` here.
std::string describe(const outcome& o) {
    std::string out;
    const auto add = [&out](std::string_view before, std::string_view bytes,
                            std::string_view after) {
        out += before;
        out += printable(bytes);
        out += after;
    };
    for (const message_seen& msg : o.messages) {
        add("[", msg.start, "]");
        for (const auto& h : msg.headers)
            add(" {", h, "}");
        add(" body=\"", msg.body, "\"");
        for (const auto& t : msg.trailers)
            add(" trailer{", t, "}");
        out += msg.keep_alive ? " keep-alive" : " close";
        out += msg.upgrade ? " upgrade" : "";
        out += '\n';
    }
    if (o.error)
        add("error kind ", std::to_string(static_cast<int>(*o.error)), "\n");
    if (!o.rest.empty())
        add("rest \"", o.rest, "\"\n");
    return out;
}

template <typename Parser>
void check_every_split(const vector_case& c) {
    const outcome whole = run<Parser>(c, {}, body_mode::accumulate);
    {
        INFO("whole input, body accumulated");
        CHECK(describe(whole) == describe(c.expected));
    }
    {
        INFO("whole input, body streamed");
        CHECK(run<Parser>(c, {}, body_mode::stream) == whole);
    }
    std::vector<std::size_t> every_byte;
    for (std::size_t k = 1; k < c.raw.size(); ++k)
        every_byte.push_back(k);
    {
        INFO("byte by byte");
        CHECK(run<Parser>(c, every_byte, body_mode::accumulate) == whole);
        CHECK(run<Parser>(c, every_byte, body_mode::stream) == whole);
    }
    if (c.raw.size() <= 400) {
        for (const std::size_t k : every_byte) {
            const outcome split =
                run<Parser>(c, {k}, k % 2 == 0 ? body_mode::accumulate : body_mode::stream);
            if (!(split == whole)) {
                INFO("split at byte " << k);
                CHECK(split == whole);
                break;
            }
        }
    }
}

std::string repeated(std::string_view piece, std::size_t times) {
    std::string out;
    for (std::size_t i = 0; i < times; ++i)
        out += piece;
    return out;
}

// ---------------------------------------------------------------------------
// Requests

std::vector<vector_case> request_methods_and_targets() {
    std::vector<vector_case> cases{
        request("GET with headers",
                "GET /index.html HTTP/1.1\r\nHost: example.org\r\nAccept: */*\r\n\r\n",
                {m("GET /index.html HTTP/1.1", {"Host: example.org", "Accept: */*"})}),
        request("HEAD (a method starting like a response's HTTP/)", "HEAD /head HTTP/1.1\r\n\r\n",
                {m("HEAD /head HTTP/1.1", {})}),
        request("OPTIONS in asterisk-form", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
                {m("OPTIONS * HTTP/1.1", {"Host: h"})}),
        request("POST with Content-Length",
                "POST /form HTTP/1.1\r\nContent-Length: 7\r\n\r\nfield=1",
                {m("POST /form HTTP/1.1", {"Content-Length: 7"}, "field=1")}),
        request("PUT with a body", "PUT /doc HTTP/1.1\r\nContent-Length: 4\r\n\r\ntext",
                {m("PUT /doc HTTP/1.1", {"Content-Length: 4"}, "text")}),
        request("DELETE without a body", "DELETE /item/9 HTTP/1.1\r\n\r\n",
                {m("DELETE /item/9 HTTP/1.1", {})}),
        request("PATCH with a body", "PATCH /p HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
                {m("PATCH /p HTTP/1.1", {"Content-Length: 2"}, "{}")}),
        request("TRACE", "TRACE /t HTTP/1.1\r\n\r\n", {m("TRACE /t HTTP/1.1", {})}),
        std::move(
            request(
                "CONNECT in authority-form is a tunnel",
                "CONNECT proxy.example:443 HTTP/1.1\r\nHost: proxy.example:443\r\n\r\n\x16\x03\x01",
                {m("CONNECT proxy.example:443 HTTP/1.1", {"Host: proxy.example:443"}, "",
                   upgrades)}))
            .leaving("\x16\x03\x01"),
        std::move(request("CONNECT has no content whatever Content-Length says",
                          "CONNECT h:80 HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody",
                          {m("CONNECT h:80 HTTP/1.1", {"Content-Length: 4"}, "", upgrades)}))
            .leaving("body"),
        request("an unregistered method is still a token", "MKCOLA /x HTTP/1.1\r\n\r\n",
                {m("MKCOLA /x HTTP/1.1", {})}),
        request("a lower-case method is another method (case-sensitive)", "get / HTTP/1.1\r\n\r\n",
                {m("get / HTTP/1.1", {})}),
        request("a method of tchar punctuation", "X-CUSTOM!#$ / HTTP/1.1\r\n\r\n",
                {m("X-CUSTOM!#$ / HTTP/1.1", {})}),
        bad_request("a method with '('", "G(T / HTTP/1.1\r\n\r\n"),
        bad_request("an empty method", " / HTTP/1.1\r\n\r\n"),
        bad_request("a tab after the method", "GET\t/ HTTP/1.1\r\n\r\n"),
        bad_request("two spaces after the method", "GET  / HTTP/1.1\r\n\r\n"),
        bad_request("a space before the method", " GET / HTTP/1.1\r\n\r\n"),
        bad_request("the HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
        bad_request("ICE protocol", "SOURCE /stream ICE/1.0\r\n\r\n"),
        bad_request("RTSP protocol", "DESCRIBE /media RTSP/1.0\r\n\r\n"),
        bad_request("a protocol that only starts like HTTP", "GET / IHTTP/1.0\r\n\r\n"),
        request("origin-form with a query", "GET /a/b?c=d&e=f HTTP/1.1\r\n\r\n",
                {m("GET /a/b?c=d&e=f HTTP/1.1", {})}),
        request("an empty query", "GET /? HTTP/1.1\r\n\r\n", {m("GET /? HTTP/1.1", {})}),
        request("a fragment is kept as sent", "GET /p?q=1#frag HTTP/1.1\r\n\r\n",
                {m("GET /p?q=1#frag HTTP/1.1", {})}),
        request("absolute-form",
                "GET http://example.com:8080/x?y=z HTTP/1.1\r\nHost: example.com:8080\r\n\r\n",
                {m("GET http://example.com:8080/x?y=z HTTP/1.1", {"Host: example.com:8080"})}),
        request("absolute-form with an IPv6 literal", "GET http://[::1]:80/ HTTP/1.1\r\n\r\n",
                {m("GET http://[::1]:80/ HTTP/1.1", {})}),
        request("absolute-form with userinfo-like characters",
                "GET http://a@b/c;d=e HTTP/1.1\r\n\r\n", {m("GET http://a@b/c;d=e HTTP/1.1", {})}),
        request("percent-encoded bytes stay encoded", "GET /%E2%82%AC/%20 HTTP/1.1\r\n\r\n",
                {m("GET /%E2%82%AC/%20 HTTP/1.1", {})}),
        request("double slashes and dots", "GET //a/../b/./c HTTP/1.1\r\n\r\n",
                {m("GET //a/../b/./c HTTP/1.1", {})}),
        request("every visible ASCII sub-delimiter", "GET /!$&'()*+,;=:@-._~ HTTP/1.1\r\n\r\n",
                {m("GET /!$&'()*+,;=:@-._~ HTTP/1.1", {})}),
        request("quotes in the target", "GET /with_\"quotes\"?x=\\\"y\\\" HTTP/1.1\r\n\r\n",
                {m("GET /with_\"quotes\"?x=\\\"y\\\" HTTP/1.1", {})}),
        request("a second '?' in the query", "GET /t.cgi?a=b?c HTTP/1.1\r\n\r\n",
                {m("GET /t.cgi?a=b?c HTTP/1.1", {})}),
        request("a vertical bar in the query", "GET /t.cgi?q=| HTTP/1.1\r\n\r\n",
                {m("GET /t.cgi?q=| HTTP/1.1", {})}),
        request("absolute-form whose host ends at a query",
                "GET http://h.example?all=1 HTTP/1.1\r\n\r\n",
                {m("GET http://h.example?all=1 HTTP/1.1", {})}),
        request("absolute-form with percent-escaped userinfo",
                "GET http://a%12:b!&*$@h.example:1234/t HTTP/1.1\r\n\r\n",
                {m("GET http://a%12:b!&*$@h.example:1234/t HTTP/1.1", {})}),
        request("HTTP/1.0 CONNECT to a host with an underscore",
                "CONNECT home_0.example.net:443 HTTP/1.0\r\nProxy-Authorization: basic "
                "aGk6dGhlcmU=\r\n\r\n",
                {m("CONNECT home_0.example.net:443 HTTP/1.0",
                   {"Proxy-Authorization: basic aGk6dGhlcmU="}, "", upgrades_closing)}),
        bad_request("raw UTF-8 in the target", "GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n"),
        bad_request("DEL in the target", "GET /a\x7f HTTP/1.1\r\n\r\n"),
        bad_request("a tab in the target", "GET /a\tb HTTP/1.1\r\n\r\n"),
        bad_request("NUL in the target", "GET /a\0b HTTP/1.1\r\n\r\n"s),
        bad_request("no target", "GET HTTP/1.1\r\n\r\n"),
        bad_request("a space inside the target", "GET /a b HTTP/1.1\r\n\r\n"),
        bad_request("a request line over max_line_length",
                    "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n\r\n",
                    error_kind::line_too_long),
    };
    // Methods the catalogues list by name (WebDAV, UPnP, caching, CalDAV):
    // corio keeps any token as the method, so each parses the same way.
    for (const char* method :
         {"PROPFIND",  "PROPPATCH",   "MKCOL",      "COPY",       "MOVE",  "LOCK",     "UNLOCK",
          "SEARCH",    "REPORT",      "MKACTIVITY", "CHECKOUT",   "MERGE", "M-SEARCH", "NOTIFY",
          "SUBSCRIBE", "UNSUBSCRIBE", "PURGE",      "MKCALENDAR", "LINK",  "UNLINK",   "BIND",
          "REBIND",    "UNBIND",      "ACL",        "QUERY",      "SOURCE"}) {
        const std::string line = std::string(method) + " /dav HTTP/1.1";
        cases.push_back(request(std::string("method ") + method, line + "\r\nHost: d\r\n\r\n",
                                {m(line, {"Host: d"})}));
    }
    return cases;
}

std::vector<vector_case> request_versions_and_keep_alive() {
    return {
        request("HTTP/1.1 stays open by default", "GET / HTTP/1.1\r\n\r\n",
                {m("GET / HTTP/1.1", {})}),
        request("HTTP/1.1 with Connection: close", "GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
                {m("GET / HTTP/1.1", {"Connection: close"}, "", closes)}),
        request("Connection tokens compare case-insensitively",
                "GET / HTTP/1.1\r\nConnection: CLOSE\r\n\r\n",
                {m("GET / HTTP/1.1", {"Connection: CLOSE"}, "", closes)}),
        request("close among several Connection tokens wins",
                "PUT /u HTTP/1.1\r\nConnection: close, token, upgrade, token, keep-alive\r\n\r\n",
                {m("PUT /u HTTP/1.1", {"Connection: close, token, upgrade, token, keep-alive"}, "",
                   closes)}),
        request("\"closed\" is not the token close", "GET / HTTP/1.1\r\nConnection: closed\r\n\r\n",
                {m("GET / HTTP/1.1", {"Connection: closed"})}),
        request("HTTP/1.0 closes by default",
                "GET /old HTTP/1.0\r\nHost: h\r\nUser-Agent: ab/2.3\r\n\r\n",
                {m("GET /old HTTP/1.0", {"Host: h", "User-Agent: ab/2.3"}, "", closes)}),
        request("HTTP/1.0 with keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
                {m("GET / HTTP/1.0", {"Connection: keep-alive"})}),
        request("HTTP/1.0 with keep-alive among empty list elements",
                "GET / HTTP/1.0\r\nConnection: Something, ,Keep-Alive\r\n\r\n",
                {m("GET / HTTP/1.0", {"Connection: Something, ,Keep-Alive"})}),
        request("HTTP/1.0 with keep-alive then close in a second field",
                "GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n",
                {m("GET / HTTP/1.0", {"Connection: keep-alive", "Connection: close"}, "", closes)}),
        request("HTTP/1.0 with a Content-Length body",
                "POST /p HTTP/1.0\r\nconTENT-Length: 5\r\n\r\nHELLO",
                {m("POST /p HTTP/1.0", {"conTENT-Length: 5"}, "HELLO", closes)}),
        request("a higher HTTP/1 minor version is read as 1.x", "GET / HTTP/1.2\r\n\r\n",
                {m("GET / HTTP/1.2", {})}),
        bad_request("HTTP/0.9 (no version)", "GET /\r\n\r\n"),
        bad_request("HTTP/2.0", "GET / HTTP/2.0\r\n\r\n"),
        bad_request("HTTP/5.6", "GET / HTTP/5.6\r\n\r\n"),
        bad_request("HTTP/01.1", "GET / HTTP/01.1\r\n\r\n"),
        bad_request("HTTP/1.01", "GET / HTTP/1.01\r\n\r\n"),
        bad_request("a lower-case protocol name", "GET / http/1.1\r\n\r\n"),
        bad_request("a version without minor", "GET / HTTP/1\r\n\r\n"),
        bad_request("a space after the version", "GET / HTTP/1.1 \r\n\r\n"),
        request(
            "Upgrade with Connection: upgrade",
            "GET /chat HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
            {m("GET /chat HTTP/1.1", {"Connection: Upgrade", "Upgrade: websocket"}, "", upgrades)}),
        std::move(
            request(
                "the bytes after an upgrade request are not parsed",
                "GET /ws HTTP/1.1\r\nConnection: keep-alive, upgrade\r\nUpgrade: WebSocket\r\n\r\n"
                "\x81\x05hello",
                {m("GET /ws HTTP/1.1", {"Connection: keep-alive, upgrade", "Upgrade: WebSocket"},
                   "", upgrades)}))
            .leaving("\x81\x05hello"),
        std::move(request("an upgrade request's body comes first",
                          "POST /up HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: "
                          "h2c\r\nContent-Length: 4\r\n\r\n"
                          "abcdNEXT PROTOCOL",
                          {m("POST /up HTTP/1.1",
                             {"Connection: upgrade", "Upgrade: h2c", "Content-Length: 4"}, "abcd",
                             upgrades)}))
            .leaving("NEXT PROTOCOL"),
        request("Upgrade without Connection: upgrade is no upgrade",
                "GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
                {m("GET / HTTP/1.1", {"Upgrade: websocket"})}),
        request("Connection: upgrade without Upgrade is no upgrade",
                "GET / HTTP/1.1\r\nConnection: upgrade\r\n\r\n",
                {m("GET / HTTP/1.1", {"Connection: upgrade"})}),
        request("upgrade with Connection: close",
                "GET / HTTP/1.1\r\nConnection: upgrade, close\r\nUpgrade: x\r\n\r\n",
                {m("GET / HTTP/1.1", {"Connection: upgrade, close", "Upgrade: x"}, "",
                   upgrades_closing)}),
    };
}

std::vector<vector_case> request_header_fields() {
    return {
        request("an empty value", "GET / HTTP/1.1\r\nX-Empty:\r\nX-Next: n\r\n\r\n",
                {m("GET / HTTP/1.1", {"X-Empty: ", "X-Next: n"})}),
        request("a value of only whitespace", "GET / HTTP/1.1\r\nX-Blank: \t  \r\n\r\n",
                {m("GET / HTTP/1.1", {"X-Blank: "})}),
        request("OWS around a value is dropped", "GET / HTTP/1.1\r\nX:  \t padded \t \r\n\r\n",
                {m("GET / HTTP/1.1", {"X: padded"})}),
        request("a tab right after the colon",
                "OPTIONS /url HTTP/1.1\r\nH1: V1\r\nH2:\t V2\r\n\r\n",
                {m("OPTIONS /url HTTP/1.1", {"H1: V1", "H2: V2"})}),
        request("whitespace inside a value is kept", "GET / HTTP/1.1\r\nX: a \t b  c\r\n\r\n",
                {m("GET / HTTP/1.1", {"X: a \t b  c"})}),
        request("no space after the colon", "GET / HTTP/1.1\r\naaaaaaaaaa:++++++++\r\n\r\n",
                {m("GET / HTTP/1.1", {"aaaaaaaaaa: ++++++++"})}),
        request("a colon inside a value",
                "GET / HTTP/1.1\r\nHost: 0.0.0.0:5000\r\nX: a:b::c\r\n\r\n",
                {m("GET / HTTP/1.1", {"Host: 0.0.0.0:5000", "X: a:b::c"})}),
        request("names keep their case", "GET / HTTP/1.1\r\nx-lower: 1\r\nX-UPPER: 2\r\n\r\n",
                {m("GET / HTTP/1.1", {"x-lower: 1", "X-UPPER: 2"})}),
        request("tchar punctuation in names",
                "GET / HTTP/1.1\r\nX-$Proto.Ver_1: 1.6\r\n_eep-Alive: 45\r\n\r\n",
                {m("GET / HTTP/1.1", {"X-$Proto.Ver_1: 1.6", "_eep-Alive: 45"})}),
        request("repeated fields stay separate and in order",
                "GET / HTTP/1.1\r\nAccept: a\r\nX: 1\r\naccept: b\r\n\r\n",
                {m("GET / HTTP/1.1", {"Accept: a", "X: 1", "accept: b"})}),
        request("obs-text (UTF-8) in a value", "GET / HTTP/1.1\r\nCity: D\xc3\xbcsseldorf\r\n\r\n",
                {m("GET / HTTP/1.1", {"City: D\xc3\xbcsseldorf"})}),
        request("byte 0xFF in a value", "GET / HTTP/1.1\r\nX: \xffValue\r\n\r\n",
                {m("GET / HTTP/1.1", {"X: \xffValue"})}),
        request(
            "quotes and separators in values",
            "GET / HTTP/1.1\r\nP3P: CP=\"CAO DSP\",policyref=\"/w3c\"\r\nCookie: a=1; b=2\r\n\r\n",
            {m("GET / HTTP/1.1", {"P3P: CP=\"CAO DSP\",policyref=\"/w3c\"", "Cookie: a=1; b=2"})}),
        request(
            "a long browser-like header section",
            "GET /favicon.ico HTTP/1.1\r\nHost: 0.0.0.0=5000\r\nUser-Agent: Mozilla/5.0 (X11; "
            "Linux)\r\n"
            "Accept: text/html,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language: "
            "en-us,en;q=0.5\r\n"
            "Accept-Encoding: gzip,deflate\r\nKeep-Alive: 300\r\nConnection: keep-alive\r\n\r\n",
            {m("GET /favicon.ico HTTP/1.1",
               {"Host: 0.0.0.0=5000", "User-Agent: Mozilla/5.0 (X11; Linux)",
                "Accept: text/html,application/xml;q=0.9,*/*;q=0.8",
                "Accept-Language: en-us,en;q=0.5", "Accept-Encoding: gzip,deflate",
                "Keep-Alive: 300", "Connection: keep-alive"})}),
        bad_request("two Host fields",
                    "GET / HTTP/1.1\r\nhost: www.example.org\r\nHost: other.example\r\n\r\n"),
        bad_request("two Host fields with the same value",
                    "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"),
        bad_request("obs-fold", "GET / HTTP/1.1\r\nLine1: abc\r\n\tdef\r\n\r\n"),
        bad_request("obs-fold with spaces",
                    "GET / HTTP/1.1\r\nConnection: keep-alive,\r\n upgrade\r\n\r\n"),
        bad_request(
            "obs-fold continuing Transfer-Encoding",
            "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n  abc\r\n\r\n5\r\nWorld\r\n0\r\n\r\n"),
        bad_request("whitespace before the first field", "GET / HTTP/1.1\r\n Host: foo\r\n\r\n"),
        bad_request("a line that folds into the next request",
                    "POST /hello HTTP/1.1\r\nFoo: bar\r\n Content-Length: 38\r\n\r\nGET /bye "
                    "HTTP/1.1\r\n\r\n"),
        bad_request("a space before the colon", "GET / HTTP/1.1\r\nContent-Length : 0\r\n\r\n"),
        bad_request("a tab before the colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n"),
        bad_request("a space inside a name", "GET / HTTP/1.1\r\nX Y: z\r\n\r\n"),
        bad_request("'@' in a name", "GET / HTTP/1.1\r\nFo@: Failure\r\n\r\n"),
        bad_request("'{' in a name", "GET / HTTP/1.1\r\nX{: 1\r\n\r\n"),
        bad_request("a control byte in a name", "GET / HTTP/1.1\r\nFoo\x01test: Bar\r\n\r\n"),
        bad_request("NUL in a name", "GET / HTTP/1.1\r\nX\0Y: 1\r\n\r\n"s),
        bad_request("an empty name", "GET / HTTP/1.1\r\n: Bar\r\n\r\n"),
        bad_request("a field line without a colon", "GET / HTTP/1.1\r\nname\r\n : value\r\n\r\n"),
        bad_request("NUL in a value", "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n"s),
        bad_request("DEL in a value", "GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n"),
        bad_request("an escape byte in a value", "GET / HTTP/1.1\r\nX: \x1b[0m\r\n\r\n"),
        bad_request("a bare CR between fields", "GET / HTTP/1.1\r\nFoo: 1\rBar: 2\r\n\r\n"),
        bad_request("a bare CR ending an empty value",
                    "POST / HTTP/1.1\r\nx:\rTransfer-Encoding: chunked\r\n\r\n"),
        bad_request("a bare CR after the start line",
                    "GET / HTTP/1.1\r\nHost: a\r\n\rZGET /evil HTTP/1.1\r\n\r\n"),
        bad_request("a CR inside a name", "PUT /url HTTP/1.1\r\nContent\rLength: 003\r\n\r\nabc"),
        bad_request("a bare LF between fields",
                    "GET / HTTP/1.1\r\nHost: a\r\nDummy: x\nContent-Length: 23\r\n\r\n"),
        bad_request("a bare LF ending an empty value",
                    "POST / HTTP/1.1\r\nx:\nTransfer-Encoding: chunked\r\n\r\n"),
        bad_request("LF-only line ends", "GET / HTTP/1.1\nHost: a\n\n"),
        bad_request("LF-only line ends on a chunked request",
                    "POST / HTTP/1.1\nTransfer-Encoding: chunked\n\n1\nA\n0\n\n"),
        bad_request("a CR before the request line", "\rGET / HTTP/1.1\r\n\r\n"),
        bad_request("a header section that never ends", "GET / HTTP/1.1\r\nHost: a\r\n",
                    error_kind::incomplete_message)
            .at_eof(),
    };
}

std::vector<vector_case> request_content_length() {
    return {
        request("leading zeros", "PUT /url HTTP/1.1\r\nContent-Length: 003\r\n\r\nabc",
                {m("PUT /url HTTP/1.1", {"Content-Length: 003"}, "abc")}),
        request("fields after Content-Length",
                "PUT /url HTTP/1.1\r\nContent-Length: 003\r\nOhai: world\r\n\r\nabc",
                {m("PUT /url HTTP/1.1", {"Content-Length: 003", "Ohai: world"}, "abc")}),
        request("OWS around the number", "POST / HTTP/1.1\r\nContent-Length:  3 \r\n\r\nabc",
                {m("POST / HTTP/1.1", {"Content-Length: 3"}, "abc")}),
        request("zero", "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
                {m("POST / HTTP/1.1", {"Content-Length: 0"})}),
        request("the same value twice",
                "POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
                {m("POST / HTTP/1.1", {"Content-Length: 2", "Content-Length: 2"}, "ok")}),
        request("a list of the same value", "POST / HTTP/1.1\r\nContent-Length: 2, 2\r\n\r\nok",
                {m("POST / HTTP/1.1", {"Content-Length: 2, 2"}, "ok")}),
        request("a body holding CRLFs and a request line",
                "POST / HTTP/1.1\r\nContent-Length: 18\r\n\r\nGET / HTTP/1.1\r\n\r\n",
                {m("POST / HTTP/1.1", {"Content-Length: 18"}, "GET / HTTP/1.1\r\n\r\n")}),
        bad_request("two different values",
                    "PUT /url HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
        bad_request("a list of different values",
                    "PUT /url HTTP/1.1\r\nContent-Length: 1, 2\r\n\r\nab"),
        bad_request("a space inside the number", "POST / HTTP/1.1\r\nContent-Length: 4 2\r\n\r\n"),
        bad_request("two numbers separated by a space",
                    "POST / HTTP/1.1\r\nContent-Length: 13 37\r\n\r\n"),
        bad_request("an empty Content-Length", "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n"),
        bad_request("a negative value", "POST / HTTP/1.1\r\nContent-Length: -3\r\n\r\nabc"),
        bad_request("a plus sign", "POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc"),
        bad_request("hexadecimal", "POST / HTTP/1.1\r\nContent-Length: 0x3\r\n\r\nabc"),
        bad_request("an empty list element", "POST / HTTP/1.1\r\nContent-Length: 3,\r\n\r\nabc"),
        bad_request("a value past 2^64",
                    "PUT /url HTTP/1.1\r\nContent-Length: 1000000000000000000000\r\n\r\n"),
        bad_request("a value past max_body_size",
                    "PUT /url HTTP/1.1\r\nContent-Length: 100000000\r\n\r\n",
                    error_kind::body_too_large),
        bad_request(
            "Content-Length with Transfer-Encoding: identity",
            "PUT /url HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: identity\r\n\r\nx"),
        bad_request(
            "Content-Length with Transfer-Encoding: chunked",
            "POST / HTTP/1.1\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        bad_request("Content-Length with an empty Transfer-Encoding",
                    "POST /first HTTP/1.1\r\nTransfer-Encoding:\r\nContent-Length: 5\r\n\r\nhello"),
        bad_request("a body cut short by the close",
                    "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nshort",
                    error_kind::incomplete_message)
            .at_eof(),
    };
}

std::vector<vector_case> request_chunked() {
    const std::string head = "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    const std::vector<std::string> te{"Transfer-Encoding: chunked"};
    return {
        request("lower-case hex size", head + "a\r\n0123456789\r\n0\r\n\r\n",
                {m("POST /c HTTP/1.1", te, "0123456789")}),
        request("upper-case hex size", head + "A\r\n0123456789\r\n0\r\n\r\n",
                {m("POST /c HTTP/1.1", te, "0123456789")}),
        request("a 30-byte chunk", head + "1e\r\nall your base are belong to us\r\n0\r\n\r\n",
                {m("POST /c HTTP/1.1", te, "all your base are belong to us")}),
        request("two chunks and a zero-padded last chunk",
                head + "5\r\nhello\r\n6\r\n world\r\n000\r\n\r\n",
                {m("POST /c HTTP/1.1", te, "hello world")}),
        request("leading zeros in a size", head + "0005\r\nhello\r\n0\r\n\r\n",
                {m("POST /c HTTP/1.1", te, "hello")}),
        request("no chunks at all", head + "0\r\n\r\n", {m("POST /c HTTP/1.1", te)}),
        request("trailer fields",
                head + "5\r\nhello\r\n0\r\nVary: *\r\nContent-Type: text/plain\r\n\r\n",
                {m("POST /c HTTP/1.1", te, "hello", stays_open,
                   {"Vary: *", "Content-Type: text/plain"})}),
        request("extensions with and without values",
                head + "5;ilovew3;somuchlove=aretheseparametersfor;another=withvalue\r\nhello\r\n"
                       "6;blahblah;blah\r\n world\r\n0\r\n\r\n",
                {m("POST /c HTTP/1.1", te, "hello world")}),
        request("quoted extension values with escapes",
                head + "5;a=\"I \\\"love\\\"; \\\\ext\\\\\";b=\"x\";c;d=e\r\nhello\r\n0\r\n\r\n",
                {m("POST /c HTTP/1.1", te, "hello")}),
        request("whitespace before an extension's ';'",
                head + "5 ;x=1\r\nhello\r\n0 ; last\r\n\r\n", {m("POST /c HTTP/1.1", te, "hello")}),
        request("the coding name compares case-insensitively",
                "POST /c HTTP/1.1\r\nTransfer-Encoding: Chunked \r\n\r\n1\r\nz\r\n0\r\n\r\n",
                {m("POST /c HTTP/1.1", {"Transfer-Encoding: Chunked"}, "z")}),
        request("chunk data holding CRLF and digits", head + "7\r\n\r\n0\r\n\r\n\r\n0\r\n\r\n",
                {m("POST /c HTTP/1.1", te, "\r\n0\r\n\r\n")}),
        bad_request("no ';' before an extension", head + "2 erfrferferf\r\naa\r\n0 rrrr\r\n\r\n"),
        bad_request("';' with no extension", head + "2;\r\naa\r\n0\r\n\r\n"),
        bad_request("an unbalanced quote in an extension",
                    head + "5;a=\"abc\";b=\"def; ghi\r\nhello\r\n0\r\n\r\n"),
        bad_request("a space after the size", head + "a \r\n0123456789\r\n0\r\n\r\n"),
        bad_request("the last chunk missing",
                    "PUT /url HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nfoo\r\n\r\n"),
        bad_request("a bare LF after the size", head + "3 \n  \r\nfoo\r\n"),
        bad_request("a bare CR after the size", head + "5\r\r;ABCD\r\n34\r\nE\r\n0\r\n\r\n"),
        bad_request("chunk data not followed by CRLF", head + "5\r\nABCDE0\r\n\r\n"),
        bad_request("chunk data followed by LF only", head + "3\r\nabc\n0\r\n\r\n"),
        bad_request("a size that is not hex", head + "g\r\n"),
        bad_request("a 0x prefix", head + "0x5\r\nhello\r\n0\r\n\r\n"),
        bad_request("a negative size", head + "-1\r\n"),
        bad_request("an empty size line", head + "\r\n"),
        bad_request("a size past 2^64", head + "10000000000000000\r\n"),
        bad_request("a size past max_body_size", head + "FFFFFFFFFFFFFFFF\r\n",
                    error_kind::body_too_large),
        bad_request("an invalid trailer line", head + "0\r\nno colon here\r\n\r\n"),
        bad_request("obs-fold in a trailer", head + "0\r\nX: a\r\n b\r\n\r\n"),
        bad_request("a chunked body cut short by the close", head + "5\r\nhel",
                    error_kind::incomplete_message)
            .at_eof(),
        bad_request("Transfer-Encoding in HTTP/1.0",
                    "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        bad_request("an unknown coding alone (final coding not chunked)",
                    "PUT /url HTTP/1.1\r\nTransfer-Encoding: pigeons\r\n\r\n"),
        bad_request("identity alone",
                    "POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\nWorld"),
        bad_request(
            "a coding name that only contains chunked",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunkedchunked\r\n\r\n5\r\nWorld\r\n0\r\n\r\n"),
        bad_request("chunked before another coding",
                    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, deflate\r\n\r\nWorld"),
        bad_request("chunked then another coding in a second field",
                    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
                    "deflate\r\n\r\nWorld"),
        bad_request("chunked twice",
                    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n"),
        bad_request("an empty Transfer-Encoding", "POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n"),
        bad_request(
            "another coding before chunked is not implemented",
            "POST / HTTP/1.1\r\nTransfer-Encoding: deflate, chunked\r\n\r\n5\r\nWorld\r\n0\r\n\r\n",
            error_kind::not_implemented),
        bad_request(
            "another coding before chunked across two fields",
            "POST / HTTP/1.1\r\nTransfer-Encoding: deflate\r\nTransfer-Encoding: chunked\r\n\r\n"
            "5\r\nWorld\r\n0\r\n\r\n",
            error_kind::not_implemented),
    };
}

std::vector<vector_case> request_streams() {
    return {
        request("three requests in one buffer",
                "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\nGET /3 HTTP/1.1\r\n\r\n",
                {m("GET /1 HTTP/1.1", {}), m("GET /2 HTTP/1.1", {"Host: h"}),
                 m("GET /3 HTTP/1.1", {})}),
        request("a body then a request",
                "POST /a HTTP/1.1\r\nContent-Length: 4\r\n\r\nq=42GET /b HTTP/1.1\r\n\r\n",
                {m("POST /a HTTP/1.1", {"Content-Length: 4"}, "q=42"), m("GET /b HTTP/1.1", {})}),
        request("a chunked body then a request",
                "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\nGET /b "
                "HTTP/1.1\r\n\r\n",
                {m("POST /a HTTP/1.1", {"Transfer-Encoding: chunked"}, "hi"),
                 m("GET /b HTTP/1.1", {})}),
        request("a CRLF between requests",
                "POST /a HTTP/1.1\r\nContent-Length: 4\r\n\r\nq=42\r\nGET /b HTTP/1.1\r\n\r\n",
                {m("POST /a HTTP/1.1", {"Content-Length: 4"}, "q=42"), m("GET /b HTTP/1.1", {})}),
        request("a CRLF before the first request",
                "\r\nGET /test HTTP/1.1\r\nHeader1: Value1\r\n\r\n",
                {m("GET /test HTTP/1.1", {"Header1: Value1"})}),
        request("four empty lines before a request", "\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n",
                {m("GET / HTTP/1.1", {})}),
        bad_request("five empty lines before a request",
                    "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n"),
        bad_request("a bare LF before a request", "\nGET / HTTP/1.1\r\n\r\n"),
        request("only empty lines, then the close", "\r\n\r\n", {}).at_eof(),
        request("a request after HTTP/1.0 without keep-alive is still parsed",
                "PUT /a HTTP/1.0\r\n\r\nPUT /b HTTP/1.1\r\n\r\n",
                {m("PUT /a HTTP/1.0", {}, "", closes), m("PUT /b HTTP/1.1", {})}),
        request("a request after Connection: close is still parsed",
                "POST / HTTP/1.1\r\nContent-Length: 4\r\nConnection: close\r\n\r\nq=42\r\nGET / "
                "HTTP/1.1\r\n\r\n",
                {m("POST / HTTP/1.1", {"Content-Length: 4", "Connection: close"}, "q=42", closes),
                 m("GET / HTTP/1.1", {})}),
        std::move(request("a valid request then garbage", "GET / HTTP/1.1\r\n\r\nNOT HTTP\r\n\r\n",
                          {m("GET / HTTP/1.1", {})}))
            .then_fails(error_kind::bad_message),
        std::move(request("a valid request then a truncated one",
                          "GET / HTTP/1.1\r\n\r\nGET /x HTT", {m("GET / HTTP/1.1", {})}))
            .then_fails(error_kind::incomplete_message)
            .at_eof(),
        request("a request line of 8 KiB exactly",
                "GET /" + std::string(8192 - 14, 'a') + " HTTP/1.1\r\n\r\n",
                {m("GET /" + std::string(8192 - 14, 'a') + " HTTP/1.1", {})}),
        request("a hundred fields", "GET / HTTP/1.1\r\n" + repeated("X: y\r\n", 100) + "\r\n",
                {m("GET / HTTP/1.1", std::vector<std::string>(100, "X: y"))}),
        bad_request("a hundred and one fields",
                    "GET / HTTP/1.1\r\n" + repeated("X: y\r\n", 101) + "\r\n",
                    error_kind::headers_too_large),
    };
}

// ---------------------------------------------------------------------------
// Responses

std::vector<vector_case> response_status_lines() {
    return {
        response(
            "fields and an empty body",
            "HTTP/1.1 200 OK\r\nHeader1: Value1\r\nHeader2:\t Value2\r\nContent-Length: 0\r\n\r\n",
            {m("HTTP/1.1 200 OK", {"Header1: Value1", "Header2: Value2", "Content-Length: 0"})}),
        response("a reason phrase with spaces",
                 "HTTP/1.1 301 Moved Permanently\r\nContent-Length: 0\r\n\r\n",
                 {m("HTTP/1.1 301 Moved Permanently", {"Content-Length: 0"})}),
        response("a reason phrase without spaces",
                 "HTTP/1.1 301 MovedPermanently\r\nContent-Length: 0\r\n\r\n",
                 {m("HTTP/1.1 301 MovedPermanently", {"Content-Length: 0"})}),
        response("no reason phrase", "HTTP/1.1 301\r\nContent-Length: 0\r\n\r\n",
                 {m("HTTP/1.1 301 ", {"Content-Length: 0"})}),
        response("an empty reason phrase after the space",
                 "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n",
                 {m("HTTP/1.1 200 ", {"Content-Length: 0"})}),
        response("a second space starts the reason phrase",
                 "HTTP/1.1 200  OK\r\nContent-Length: 0\r\n\r\n",
                 {m("HTTP/1.1 200  OK", {"Content-Length: 0"})}),
        response("obs-text in the reason phrase",
                 "HTTP/1.1 200 D\xc3\xa9j\xc3\xa0\r\nContent-Length: 0\r\n\r\n",
                 {m("HTTP/1.1 200 D\xc3\xa9j\xc3\xa0", {"Content-Length: 0"})}),
        response("a tab in the reason phrase", "HTTP/1.1 200 O\tK\r\nContent-Length: 0\r\n\r\n",
                 {m("HTTP/1.1 200 O\tK", {"Content-Length: 0"})}),
        response("status 100 is the lowest",
                 "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
                 {m("HTTP/1.1 100 Continue", {}), m("HTTP/1.1 200 OK", {"Content-Length: 0"})}),
        response("status 599 is the highest", "HTTP/1.1 599 Custom\r\nContent-Length: 0\r\n\r\n",
                 {m("HTTP/1.1 599 Custom", {"Content-Length: 0"})}),
        bad_response("status 099", "HTTP/1.1 099 Low\r\n\r\n"),
        bad_response("status 000", "HTTP/1.1 000 Zero\r\n\r\n"),
        bad_response("status 600", "HTTP/1.1 600 High\r\n\r\n"),
        bad_response("status 999", "HTTP/1.1 999 Max\r\n\r\n"),
        bad_response("a four-digit status", "HTTP/1.1 1000 Big\r\n\r\n"),
        bad_response("a one-digit status", "HTTP/1.1 2 OK\r\n\r\n"),
        bad_response("a status with a letter", "HTTP/1.1 2x0 OK\r\n\r\n"),
        bad_response("no space between status and reason", "HTTP/1.1 200OK\r\n\r\n"),
        bad_response("two spaces before the status", "HTTP/1.1  200 OK\r\n\r\n"),
        bad_response("a tab after the version", "HTTP/1.1\t200 OK\r\n\r\n"),
        bad_response("a CR before the status line", "\rHTTP/1.1\t200 OK\r\n\r\n"),
        bad_response("a control byte in the reason phrase", "HTTP/1.1 200 O\x01K\r\n\r\n"),
        bad_response("a truncated protocol name", "HTP/1.1 200 OK\r\n\r\n"),
        bad_response("a longer protocol name", "HTTPER/1.1 200 OK\r\n\r\n"),
        bad_response("RTSP", "RTSP/1.1 200 OK\r\n\r\n"),
        bad_response("ICE", "ICE/1.1 200 OK\r\n\r\n"),
        bad_response("two-digit major version", "HTTP/01.1 200 OK\r\n\r\n"),
        bad_response("two-digit major version 11", "HTTP/11.1 200 OK\r\n\r\n"),
        bad_response("two-digit minor version", "HTTP/1.01 200 OK\r\n\r\n"),
        bad_response("HTTP/5.6", "HTTP/5.6 200 OK\r\n\r\n"),
        bad_response("LF-only line ends", "HTTP/1.1 200 OK\nContent-Length: 0\n\n"),
        bad_response("LF-only line ends with a body",
                     "HTTP/1.1 200 OK\nFoo: abc\nBar: def\n\nBODY\n"),
        bad_response("a bare CR between fields", "HTTP/1.1 200 OK\r\nFoo: 1\rBar: 2\r\n\r\n"),
        bad_response("whitespace before the first field", "HTTP/1.1 200 OK\r\n Host: foo\r\n\r\n"),
        bad_response("'@' in a field name",
                     "HTTP/1.1 200 OK\r\nFo@: x\r\nContent-Length: 0\r\n\r\n"),
        bad_response("a space before the colon", "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n"),
        bad_response("a status line cut short by the close", "HTTP/1.1 200",
                     error_kind::incomplete_message)
            .at_eof(),
    };
}

std::vector<vector_case> response_framing() {
    return {
        response("Content-Length with OWS around it",
                 "HTTP/1.1 301 Moved Permanently\r\nLocation: "
                 "http://example.org/\r\nContent-Length:  5  \r\n\r\n"
                 "<a/>\n",
                 {m("HTTP/1.1 301 Moved Permanently",
                    {"Location: http://example.org/", "Content-Length: 5"}, "<a/>\n")}),
        response("a chunked body of one LF",
                 "HTTP/1.1 301 MovedPermanently\r\nVary: "
                 "Accept-Encoding,User-Agent\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "1\r\n\n\r\n0\r\n\r\n",
                 {m("HTTP/1.1 301 MovedPermanently",
                    {"Vary: Accept-Encoding,User-Agent", "Transfer-Encoding: chunked"}, "\n")}),
        response(
            "chunked with Connection: close",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n",
            {m("HTTP/1.1 200 OK", {"Transfer-Encoding: chunked", "Connection: close"}, "",
               closes)}),
        response("chunked with a trailer",
                 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nETag: "
                 "\"x\"\r\n\r\n",
                 {m("HTTP/1.1 200 OK", {"Transfer-Encoding: chunked"}, "abc", stays_open,
                    {"ETag: \"x\""})}),
        std::move(
            response("no length: the body runs until the close",
                     "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nthese bytes until EOF\r\n",
                     {m("HTTP/1.1 200 OK", {"Content-Type: text/plain"},
                        "these bytes until EOF\r\n", closes)}))
            .at_eof(),
        std::move(response("no headers and no body until the close",
                           "HTTP/1.1 404 Not Found\r\n\r\n",
                           {m("HTTP/1.1 404 Not Found", {}, "", closes)}))
            .at_eof(),
        std::move(response("HTTP/1.0 without a length",
                           "HTTP/1.0 200 OK\r\nServer: old\r\n\r\nall of it",
                           {m("HTTP/1.0 200 OK", {"Server: old"}, "all of it", closes)}))
            .at_eof(),
        response("HTTP/1.0 with keep-alive and a length",
                 "HTTP/1.0 301 Moved Permanently\r\nPragma: \r\nLocation: /x\r\nContent-Length: "
                 "0\r\nConnection: keep-alive\r\n\r\n",
                 {m("HTTP/1.0 301 Moved Permanently",
                    {"Pragma: ", "Location: /x", "Content-Length: 0", "Connection: keep-alive"})}),
        std::move(response("HTTP/1.0 with keep-alive but no length runs until the close",
                           "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\nHTTP/1.0 200 OK\r\n",
                           {m("HTTP/1.0 200 OK", {"Connection: keep-alive"}, "HTTP/1.0 200 OK\r\n",
                              closes)}))
            .at_eof(),
        response(
            "Proxy-Connection is not Connection",
            "HTTP/1.1 200 OK\r\nContent-Length: 11\r\nProxy-Connection: close\r\n\r\nhello world",
            {m("HTTP/1.1 200 OK", {"Content-Length: 11", "Proxy-Connection: close"},
               "hello world")}),
        response("HTTP/1.0 with a length but no keep-alive",
                 "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
                 {m("HTTP/1.0 200 OK", {"Content-Length: 2"}, "ok", closes)}),
        response("HTTP/1.1 with Connection: close and a length",
                 "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
                 {m("HTTP/1.1 200 OK", {"Connection: close", "Content-Length: 2"}, "ok", closes)}),
        response("Transfer-Encoding wins over Content-Length and the connection closes",
                 "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: "
                 "chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
                 {m("HTTP/1.1 200 OK", {"Content-Length: 99", "Transfer-Encoding: chunked"}, "ok",
                    closes)}),
        std::move(
            response("a final coding other than chunked runs until the close",
                     "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n\x1f\x8b...",
                     {m("HTTP/1.1 200 OK", {"Transfer-Encoding: gzip"}, "\x1f\x8b...", closes)}))
            .at_eof(),
        std::move(response("chunked before another coding runs until the close",
                           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n2\r\nok\r\n",
                           {m("HTTP/1.1 200 OK", {"Transfer-Encoding: chunked, gzip"},
                              "2\r\nok\r\n", closes)}))
            .at_eof(),
        response(
            "another coding before chunked: chunked is decoded, the rest kept",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: deflate, chunked\r\n\r\n2\r\nzz\r\n0\r\n\r\n",
            {m("HTTP/1.1 200 OK", {"Transfer-Encoding: deflate, chunked"}, "zz")}),
        bad_response("an empty Transfer-Encoding with Content-Length",
                     "HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\nContent-Length: 5\r\n\r\nhello"),
        bad_response("an empty Transfer-Encoding list",
                     "HTTP/1.1 200 OK\r\nTransfer-Encoding: , ,\r\n\r\nhello"),
        bad_response("whitespace after a chunk size",
                     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "25  \r\nThis is the data in the first chunk\r\n0\r\n\r\n"),
        bad_response("obs-fold that makes Transfer-Encoding no coding name",
                     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n  "
                     "abc\r\n\r\n5\r\nWorld\r\n0\r\n\r\n"),
        std::move(response("chunked then identity in two fields runs until the close",
                           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
                           "identity\r\n\r\nWorld",
                           {m("HTTP/1.1 200 OK",
                              {"Transfer-Encoding: chunked", "Transfer-Encoding: identity"},
                              "World", closes)}))
            .at_eof(),
        std::move(
            response(
                "a coding name that only contains chunked runs until the close",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunkedchunked\r\n\r\n2\r\nOK\r\n0\r\n\r\n",
                {m("HTTP/1.1 200 OK", {"Transfer-Encoding: chunkedchunked"}, "2\r\nOK\r\n0\r\n\r\n",
                   closes)}))
            .at_eof(),
        response("chunk extensions in a response",
                 "HTTP/1.1 200 OK\r\nTransfer-encoding: chunked\r\n\r\n5;ilovew3=\"I love; "
                 "extensions\";blah;foo=bar\r\n"
                 "hello\r\n0\r\n\r\n",
                 {m("HTTP/1.1 200 OK", {"Transfer-encoding: chunked"}, "hello")}),
        bad_response("chunked twice",
                     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n"),
        bad_response("two different Content-Lengths",
                     "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
        bad_response("a Content-Length that is not a number",
                     "HTTP/1.1 200 OK\r\nContent-Length: 1.5\r\n\r\n"),
        bad_response("a chunk size past 2^64",
                     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n"),
        bad_response("a body cut short by the close",
                     "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
                     error_kind::incomplete_message)
            .at_eof(),
        bad_response("a chunked body cut short by the close",
                     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
                     error_kind::incomplete_message)
            .at_eof(),
        bad_response("a header section cut short by the close", "HTTP/1.1 200 OK\r\nServer: x\r\n",
                     error_kind::incomplete_message)
            .at_eof(),
        response("obs-fold becomes one SP",
                 "HTTP/1.1 200 OK\r\nX-Cert: -----BEGIN-----\r\n\tMIIF\r\n\tRA==\r\n "
                 "Content-Length: 0\r\nContent-Length: 0\r\n\r\n",
                 {m("HTTP/1.1 200 OK",
                    {"X-Cert: -----BEGIN----- MIIF RA== Content-Length: 0", "Content-Length: 0"})}),
        response("obs-fold inside Content-Length is unfolded before it is read",
                 "HTTP/1.1 200 OK\r\nContent-Length:\r\n 3\r\n\r\nabc",
                 {m("HTTP/1.1 200 OK", {"Content-Length: 3"}, "abc")}),
        response(
            "obs-fold inside Connection is unfolded before it is read",
            "HTTP/1.1 200 OK\r\nConnection: keep-alive,\r\n close\r\nContent-Length: 0\r\n\r\n",
            {m("HTTP/1.1 200 OK", {"Connection: keep-alive, close", "Content-Length: 0"}, "",
               closes)}),
        response("an empty value is not merged with the next field",
                 "HTTP/1.1 200 OK\r\nPragma:\r\nLocation: /next\r\nContent-Length: 0\r\n\r\n",
                 {m("HTTP/1.1 200 OK", {"Pragma: ", "Location: /next", "Content-Length: 0"})}),
        response("odd but valid field names",
                 "HTTP/1.1 200 OK\r\nDCLK_imp: v7;x;1;;~okv=;dcmt=text/xml\r\n.et-Cookie: P=1; "
                 "path=/\r\n"
                 "_onnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n",
                 {m("HTTP/1.1 200 OK",
                    {"DCLK_imp: v7;x;1;;~okv=;dcmt=text/xml", ".et-Cookie: P=1; path=/",
                     "_onnection: Keep-Alive", "Content-Length: 0"})}),
        response(
            "repeated Set-Cookie fields",
            "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n",
            {m("HTTP/1.1 200 OK", {"Set-Cookie: a=1", "Set-Cookie: b=2", "Content-Length: 0"})}),
    };
}

std::vector<vector_case> response_without_content() {
    return {
        response("204 has no body", "HTTP/1.1 204 No Content\r\n\r\n",
                 {m("HTTP/1.1 204 No Content", {})}),
        response("204 ignores Content-Length",
                 "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 "
                 "OK\r\nContent-Length: 0\r\n\r\n",
                 {m("HTTP/1.1 204 No Content", {"Content-Length: 5"}),
                  m("HTTP/1.1 200 OK", {"Content-Length: 0"})}),
        response("304 ignores Content-Length",
                 "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n",
                 {m("HTTP/1.1 304 Not Modified", {"Content-Length: 50"})}),
        response("304 ignores Transfer-Encoding",
                 "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
                 {m("HTTP/1.1 304 Not Modified", {"Transfer-Encoding: chunked"})}),
        response(
            "100 Continue then the final response",
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            {m("HTTP/1.1 100 Continue", {}), m("HTTP/1.1 200 OK", {"Content-Length: 2"}, "ok")}),
        response("103 Early Hints with fields",
                 "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n",
                 {m("HTTP/1.1 103 Early Hints", {"Link: </s.css>; rel=preload"})}),
        std::move(response("101 Switching Protocols ends HTTP on the connection",
                           "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: "
                           "websocket\r\n\r\n\x81\x01",
                           {m("HTTP/1.1 101 Switching Protocols",
                              {"Connection: upgrade", "Upgrade: websocket"}, "", upgrades)}))
            .leaving("\x81\x01"),
        std::move(
            response(
                "101 has no content even with Content-Length",
                "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: h2c\r\n"
                "Content-Length: 4\r\n\r\nbodyproto",
                {m("HTTP/1.1 101 Switching Protocols",
                   {"Connection: upgrade", "Upgrade: h2c", "Content-Length: 4"}, "", upgrades)}))
            .leaving("bodyproto"),
        std::move(
            response("101 has no content even with chunked",
                     "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: h2c\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n2\r\nbo\r\n0\r\n\r\n",
                     {m("HTTP/1.1 101 Switching Protocols",
                        {"Connection: upgrade", "Upgrade: h2c", "Transfer-Encoding: chunked"}, "",
                        upgrades)}))
            .leaving("2\r\nbo\r\n0\r\n\r\n"),
        std::move(response("200 with Upgrade fields is no upgrade and reads until the close",
                           "HTTP/1.1 200 OK\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\nbody",
                           {m("HTTP/1.1 200 OK", {"Connection: upgrade", "Upgrade: h2c"}, "body",
                              closes)}))
            .at_eof(),
        response("200 with Upgrade fields and a length is an ordinary response",
                 "HTTP/1.1 200 OK\r\nConnection: upgrade\r\nUpgrade: h2c\r\nContent-Length: "
                 "4\r\n\r\nbody",
                 {m("HTTP/1.1 200 OK", {"Connection: upgrade", "Upgrade: h2c", "Content-Length: 4"},
                    "body")}),
        response("HTTP/1.0 204 with keep-alive then another response",
                 "HTTP/1.0 204 No content\r\nConnection: keep-alive\r\n\r\nHTTP/1.0 200 "
                 "OK\r\nContent-Length: 0\r\n\r\n",
                 {m("HTTP/1.0 204 No content", {"Connection: keep-alive"}),
                  m("HTTP/1.0 200 OK", {"Content-Length: 0"}, "", closes)}),
        std::move(response("a response to HEAD has no body despite Content-Length",
                           "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 200 "
                           "OK\r\nContent-Length: 0\r\n\r\n",
                           {m("HTTP/1.1 200 OK", {"Content-Length: 1000"}),
                            m("HTTP/1.1 200 OK", {"Content-Length: 0"})}))
            .answering("HEAD"),
        std::move(response("a response to HEAD has no body despite chunked",
                           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                           {m("HTTP/1.1 200 OK", {"Transfer-Encoding: chunked"})}))
            .answering("HEAD"),
        std::move(response("a response to HEAD without a length does not wait for the close",
                           "HTTP/1.1 200 OK\r\n\r\n", {m("HTTP/1.1 200 OK", {})}))
            .answering("HEAD"),
        std::move(response("2xx to CONNECT opens a tunnel",
                           "HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03",
                           {m("HTTP/1.1 200 Connection established", {}, "", upgrades)}))
            .answering("CONNECT")
            .leaving("\x16\x03\x03"),
        std::move(
            response(
                "a refused CONNECT has a body",
                "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 4\r\n\r\ndeny",
                {m("HTTP/1.1 407 Proxy Authentication Required", {"Content-Length: 4"}, "deny")}))
            .answering("CONNECT"),
    };
}

std::vector<vector_case> response_streams() {
    return {
        response("two responses in one buffer",
                 "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 404 Not "
                 "Found\r\nContent-Length: 1\r\n\r\nb",
                 {m("HTTP/1.1 200 OK", {"Content-Length: 1"}, "a"),
                  m("HTTP/1.1 404 Not Found", {"Content-Length: 1"}, "b")}),
        response("a chunked response then another",
                 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\nHTTP/1.1 "
                 "204 No Content\r\n\r\n",
                 {m("HTTP/1.1 200 OK", {"Transfer-Encoding: chunked"}, "a"),
                  m("HTTP/1.1 204 No Content", {})}),
        response("a CRLF between responses",
                 "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok\r\nHTTP/1.1 200 "
                 "OK\r\nContent-Length: 0\r\n\r\n",
                 {m("HTTP/1.1 200 OK", {"Content-Length: 2"}, "ok"),
                  m("HTTP/1.1 200 OK", {"Content-Length: 0"})}),
        response("empty lines before a status line",
                 "\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
                 {m("HTTP/1.1 200 OK", {"Content-Length: 0"})}),
        bad_response("five empty lines before a status line",
                     "\r\n\r\n\r\n\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"),
        response("only empty lines, then the close", "\r\n", {}).at_eof(),
        std::move(response("a response then garbage",
                           "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nGARBAGE\r\n",
                           {m("HTTP/1.1 200 OK", {"Content-Length: 0"})}))
            .then_fails(error_kind::bad_message),
    };
}

std::vector<vector_case> all_cases() {
    std::vector<vector_case> all;
    for (auto group :
         {request_methods_and_targets(), request_versions_and_keep_alive(), request_header_fields(),
          request_content_length(), request_chunked(), request_streams(), response_status_lines(),
          response_framing(), response_without_content(), response_streams()}) {
        for (auto& c : group)
            all.push_back(std::move(c));
    }
    return all;
}

}  // namespace

TEST_CASE("Every peer vector gives its expected outcome however the input is split",
          "[http][parser][vectors]") {
    const std::vector<vector_case> cases = all_cases();
    CHECK(cases.size() >= 150);
    for (const vector_case& c : cases) {
        INFO((c.type == peer::request ? "request: " : "response: ") << c.name);
        if (c.type == peer::request)
            check_every_split<corio::http::request_parser>(c);
        else
            check_every_split<corio::http::response_parser>(c);
    }
}

TEST_CASE("The peer vectors have distinct names and cover both peers and every error kind",
          "[http][parser][vectors]") {
    const std::vector<vector_case> cases = all_cases();
    std::vector<std::string> names;
    std::size_t requests = 0;
    std::vector<error_kind> kinds;
    for (const vector_case& c : cases) {
        names.push_back((c.type == peer::request ? "request: " : "response: ") + c.name);
        requests += c.type == peer::request ? 1 : 0;
        if (c.expected.error)
            kinds.push_back(*c.expected.error);
    }
    std::sort(names.begin(), names.end());
    CHECK(std::adjacent_find(names.begin(), names.end()) == names.end());
    CHECK(requests >= 100);
    CHECK(cases.size() - requests >= 50);
    for (const error_kind kind : {error_kind::bad_message, error_kind::line_too_long,
                                  error_kind::headers_too_large, error_kind::body_too_large,
                                  error_kind::incomplete_message, error_kind::not_implemented}) {
        CHECK(std::find(kinds.begin(), kinds.end(), kind) != kinds.end());
    }
}
