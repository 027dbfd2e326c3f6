#pragma once

// Writing the pieces of an HTTP/1.1 message head: the one writer behind
// http::serialize / append_request_head / append_response_head (serialize.hpp),
// the client's requests and the server's responses, so all three frame
// messages the same way and refuse the same malformed input.

#include <corio/http/detail/grammar.hpp>
#include <corio/http/message.hpp>
#include <corio/http/url.hpp>

#include <bit>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace corio::detail::http_wire {

// A value that would end the line early lets a caller's data inject headers
// or a whole second message: refuse it rather than send it.
// Eight bytes per step where it can (every byte of every header value a
// server or client sends goes through here): bytes below 0x0E are marked,
// and only a marked one is looked at.
inline bool breaks_line(std::string_view s) noexcept {
    const char* const p = s.data();
    const std::size_t n = s.size();
    std::size_t k = 0;
    if constexpr (std::endian::native == std::endian::little) {
        constexpr std::uint64_t ones = 0x0101010101010101ull;
        constexpr std::uint64_t highs = 0x8080808080808080ull;
        while (k + 8 <= n) {
            std::uint64_t word;
            std::memcpy(&word, p + k, 8);
            // A borrow can mark bytes after a marked one, never before it.
            const std::uint64_t marks = (word - ones * 0x0E) & ~word & highs;
            if (marks == 0) {
                k += 8;
                continue;
            }
            k += static_cast<std::size_t>(std::countr_zero(marks)) / 8;
            const char c = p[k];
            if (c == '\r' || c == '\n' || c == 0) {
                return true;
            }
            ++k;
        }
    }
    for (; k < n; ++k) {
        const auto u = static_cast<unsigned char>(p[k]);
        if (u <= '\r' && (u == '\r' || u == '\n' || u == 0)) {
            return true;
        }
    }
    return false;
}

inline void check_field(const http::header_field& field) {
    if (!http_grammar::is_token(field.name)) {
        throw std::invalid_argument("corio::http: header name '" + field.name + "' is not a token");
    }
    if (breaks_line(field.value)) {
        throw std::invalid_argument("corio::http: value of header '" + field.name +
                                    "' holds CR, LF or NUL");
    }
}

// "HTTP/x.y" into at[0..8): a status or request line then takes it in one
// append rather than one per character (the client writes one per request).
inline void format_version(char* at, http::http_version version) noexcept {
    constexpr std::string_view prefix = "HTTP/";
    prefix.copy(at, prefix.size());
    at[5] = static_cast<char>('0' + version.major % 10);
    at[6] = '.';
    at[7] = static_cast<char>('0' + version.minor % 10);
}

inline void append_version(std::string& out, http::http_version version) {
    char text[8];
    format_version(text, version);
    out.append(text, sizeof text);
}

inline void append_decimal(std::string& out, std::uint64_t value) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
    out.append(digits, end);
}

/// "method SP path[?query] SP HTTP/x.y CRLF". The target comes in two pieces
/// so the client can write a URL's path and query without joining them first;
/// `query` is written after a '?' when present (even empty: "/p?" stays so).
/// Throws std::invalid_argument when the method is not a token; the target is
/// the caller's to check (a parsed URL cannot hold CR, LF, NUL or SP).
inline void append_request_line(std::string& out, std::string_view method, std::string_view path,
                                const std::string_view* query, http::http_version version) {
    if (!http_grammar::is_token(method)) {
        throw std::invalid_argument("corio::http: method '" + std::string(method) +
                                    "' is not a token");
    }
    out += method;
    out += ' ';
    out += path;
    if (query != nullptr) {
        out += '?';
        out += *query;
    }
    if (version == http::http_version{1, 1}) {
        out += " HTTP/1.1\r\n";  // every client request: one constant append
        return;
    }
    char tail[] = " HTTP/x.y\r\n";
    format_version(tail + 1, version);
    out.append(tail, sizeof tail - 1);
}

/// The URL's host as it appears in a Host field or an authority: an IPv6
/// literal in brackets.
inline void append_host(std::string& out, const http::url& u) {
    if (u.host_is_ipv6()) {
        out += '[';
        out += u.host();
        out += ']';
    } else {
        out += u.host();
    }
}

/// "name: value CRLF" after check_field.
inline void append_field(std::string& out, const http::header_field& field) {
    check_field(field);
    out.append(field.name).append(": ", 2).append(field.value).append("\r\n", 2);
}

inline void append_fields(std::string& out, const http::headers& fields) {
    for (const http::header_field& field : fields) {
        append_field(out, field);
    }
}

inline bool has_framing(const http::headers& fields) {
    return fields.contains("Content-Length") || fields.contains("Transfer-Encoding");
}

/// Methods whose requests carry content by definition: sent with
/// "Content-Length: 0" when the body is empty, so the server need not guess.
inline bool method_expects_body(std::string_view method) noexcept {
    return method == "POST" || method == "PUT" || method == "PATCH";
}

inline void append_content_length(std::string& out, std::uint64_t length) {
    char field[16 + 24] = "Content-Length: ";
    char* const digits = field + 16;
    char* end = std::to_chars(digits, field + sizeof field - 2, length).ptr;
    *end++ = '\r';
    *end++ = '\n';
    out.append(field, static_cast<std::size_t>(end - field));
}

}  // namespace corio::detail::http_wire
