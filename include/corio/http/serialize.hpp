#pragma once

// Writing HTTP/1.1 messages: the inverse of http/parser.hpp. The pieces
// (request line, fields, framing) are http/detail/wire.hpp's, which the
// client and the server write with too.

#include <corio/http/detail/grammar.hpp>
#include <corio/http/detail/wire.hpp>
#include <corio/http/message.hpp>

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace corio::http {

/// Appends the request line and the header fields of `r`, then the empty
/// line; the body is not written and no header is added. Throws
/// std::invalid_argument when the method or a header name is not a token, or
/// the target or a header value holds CR, LF or NUL (no header injection).
inline void append_request_head(std::string& out, const request& r) {
    namespace wire = corio::detail::http_wire;
    if (!corio::detail::http_grammar::is_token(r.method)) {
        throw std::invalid_argument("corio::http: method '" + r.method + "' is not a token");
    }
    if (r.target.empty() || wire::breaks_line(r.target) || r.target.find(' ') != std::string::npos) {
        throw std::invalid_argument("corio::http: bad request target '" + r.target + "'");
    }
    wire::append_request_line(out, r.method, r.target, nullptr, r.version);
    wire::append_fields(out, r.headers);
    out += "\r\n";
}

/// Appends the status line (reason: r.reason, or the standard phrase when
/// empty) and the header fields of `r`, then the empty line; the body is not
/// written and no header is added. Throws std::invalid_argument on a status
/// outside 100-999 or a header that is not well formed (see append_request_head).
inline void append_response_head(std::string& out, const response& r) {
    if (r.status < 100 || r.status > 999) {
        throw std::invalid_argument("corio::http: status " + std::to_string(r.status) + " is not three digits");
    }
    if (corio::detail::http_wire::breaks_line(r.reason)) {
        throw std::invalid_argument("corio::http: reason phrase holds CR, LF or NUL");
    }
    corio::detail::http_wire::append_version(out, r.version);
    out += ' ';
    corio::detail::http_wire::append_decimal(out, static_cast<std::uint64_t>(r.status));
    out += ' ';
    out += r.reason.empty() ? reason_phrase(r.status) : std::string_view(r.reason);
    out += "\r\n";
    corio::detail::http_wire::append_fields(out, r.headers);
    out += "\r\n";
}

/// The whole request: head and body. Adds Content-Length when neither
/// Content-Length nor Transfer-Encoding is set and the request has a body or
/// a method that expects one (POST, PUT, PATCH: "Content-Length: 0").
[[nodiscard]] inline std::string serialize(const request& r) {
    std::string out;
    out.reserve(64 + r.target.size() + r.headers.size() * 32 + r.body.size());
    append_request_head(out, r);
    if (!corio::detail::http_wire::has_framing(r.headers) && (!r.body.empty() || corio::detail::http_wire::method_expects_body(r.method))) {
        out.resize(out.size() - 2);  // reopen the head for one more field
        corio::detail::http_wire::append_content_length(out, r.body.size());
        out += "\r\n";
    }
    out += r.body;
    return out;
}

/// The whole response: head and body. Adds Content-Length unless the
/// response sets Content-Length or Transfer-Encoding itself or its status
/// forbids content (1xx, 204, 304), in which case no body is written either.
[[nodiscard]] inline std::string serialize(const response& r) {
    std::string out;
    out.reserve(64 + r.headers.size() * 32 + r.body.size());
    append_response_head(out, r);
    if (corio::detail::http_grammar::status_forbids_body(r.status)) {
        return out;
    }
    if (!corio::detail::http_wire::has_framing(r.headers)) {
        out.resize(out.size() - 2);
        corio::detail::http_wire::append_content_length(out, r.body.size());
        out += "\r\n";
    }
    out += r.body;
    return out;
}

/// Appends `data` as one chunk of the chunked transfer coding (RFC 9112
/// §7.1); empty `data` appends the last chunk and the end of the message.
inline void append_chunk(std::string& out, std::string_view data) {
    char digits[20];
    const auto end = std::to_chars(digits, digits + sizeof digits, data.size(), 16).ptr;
    out.append(digits, end);
    out += "\r\n";
    if (!data.empty()) {
        out += data;
        out += "\r\n";
    } else {
        out += "\r\n";
    }
}

}  // namespace corio::http
