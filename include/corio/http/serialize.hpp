#pragma once

// Writing HTTP/1.1 messages: the inverse of http/parser.hpp, shared by the
// client and the server so both frame messages the same way.

#include <corio/http/message.hpp>

#include <charconv>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace corio::detail::http_wire {

using http::header_field;
using http::headers;
using http::http_version;

// RFC 9110 §5.6.2 tchar.
inline bool is_token_char(char c) noexcept {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
        return true;
    }
    switch (c) {
        case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
        case '-': case '.': case '^': case '_': case '`': case '|': case '~':
            return true;
        default:
            return false;
    }
}

inline bool is_token(std::string_view s) noexcept {
    if (s.empty()) {
        return false;
    }
    for (char c : s) {
        if (!is_token_char(c)) {
            return false;
        }
    }
    return true;
}

// A value that would end the line early lets a caller's data inject headers
// or a whole second message: refuse it rather than send it.
inline bool breaks_line(std::string_view s) noexcept {
    return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

inline void check_field(const header_field& field) {
    if (!is_token(field.name)) {
        throw std::invalid_argument("corio::http: header name '" + field.name + "' is not a token");
    }
    if (breaks_line(field.value)) {
        throw std::invalid_argument("corio::http: value of header '" + field.name + "' holds CR, LF or NUL");
    }
}

inline void append_version(std::string& out, http_version version) {
    out += "HTTP/";
    out += static_cast<char>('0' + version.major % 10);
    out += '.';
    out += static_cast<char>('0' + version.minor % 10);
}

inline void append_decimal(std::string& out, std::uint64_t value) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
    out.append(digits, end);
}

inline void append_fields(std::string& out, const headers& fields) {
    for (const header_field& field : fields) {
        check_field(field);
        out += field.name;
        out += ": ";
        out += field.value;
        out += "\r\n";
    }
}

inline bool has_framing(const headers& fields) {
    return fields.contains("Content-Length") || fields.contains("Transfer-Encoding");
}

inline bool method_expects_body(std::string_view method) noexcept {
    return method == "POST" || method == "PUT" || method == "PATCH";
}

// RFC 9110 §6.4.1: 1xx, 204 and 304 responses never carry content.
inline bool status_forbids_body(int status) noexcept {
    return (status >= 100 && status < 200) || status == 204 || status == 304;
}

inline void append_content_length(std::string& out, std::size_t length) {
    out += "Content-Length: ";
    append_decimal(out, length);
    out += "\r\n";
}

}  // namespace corio::detail::http_wire

namespace corio::http {

/// Appends the request line and the header fields of `r`, then the empty
/// line; the body is not written and no header is added. Throws
/// std::invalid_argument when the method or a header name is not a token, or
/// the target or a header value holds CR, LF or NUL (no header injection).
inline void append_request_head(std::string& out, const request& r) {
    if (!corio::detail::http_wire::is_token(r.method)) {
        throw std::invalid_argument("corio::http: method '" + r.method + "' is not a token");
    }
    if (r.target.empty() || corio::detail::http_wire::breaks_line(r.target) || r.target.find(' ') != std::string::npos) {
        throw std::invalid_argument("corio::http: bad request target '" + r.target + "'");
    }
    out += r.method;
    out += ' ';
    out += r.target;
    out += ' ';
    corio::detail::http_wire::append_version(out, r.version);
    out += "\r\n";
    corio::detail::http_wire::append_fields(out, r.headers);
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
    if (corio::detail::http_wire::status_forbids_body(r.status)) {
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
