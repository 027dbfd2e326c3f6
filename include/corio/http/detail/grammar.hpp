#pragma once

// The HTTP grammar rules every part of corio::http shares, each written once:
// character classes (RFC 5234 core rules, RFC 9110 tchar and field-value
// characters), ASCII case folding and comparison, OWS trimming, and which
// responses carry no content. The parser, the serializer, the header map,
// the URL parser, the client and the server all ask here.

#include <array>
#include <cstddef>
#include <string_view>

namespace corio::detail::http_grammar {

// RFC 5234 DIGIT / HEXDIG / ALPHA.
constexpr bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}
constexpr bool is_alpha(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
constexpr bool is_hex(char c) noexcept {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
/// The value of a HEXDIG, or -1 for any other character.
constexpr int hex_value(char c) noexcept {
    if (is_digit(c)) {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/// ASCII-only lower-casing: HTTP names are ASCII, and a locale must never
/// change how a header or scheme compares.
constexpr char lower_ascii(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

/// Case-insensitive (ASCII) equality, as header names, tokens and schemes compare.
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower_ascii(a[i]) != lower_ascii(b[i])) {
            return false;
        }
    }
    return true;
}

/// `s` without leading and trailing OWS (SP / HTAB, RFC 9110 §5.6.3).
constexpr std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

/// True when the comma-separated list `value` (RFC 9110 §5.6.1) holds
/// `token`, compared case-insensitively: Connection: keep-alive, close.
constexpr bool list_has_token(std::string_view value, std::string_view token) noexcept {
    while (!value.empty()) {
        const std::size_t comma = value.find(',');
        if (iequals(trim_ows(value.substr(0, comma)), token)) {
            return true;
        }
        if (comma == std::string_view::npos) {
            break;
        }
        value.remove_prefix(comma + 1);
    }
    return false;
}

// RFC 9110 §5.6.2 tchar, as a table: the parser tests every byte of every
// method and header name against it, so one load beats a chain of compares.
inline constexpr std::array<bool, 256> token_table = [] {
    std::array<bool, 256> table{};
    for (int c = 0; c < 256; ++c) {
        table[static_cast<std::size_t>(c)] =
            is_digit(static_cast<char>(c)) || is_alpha(static_cast<char>(c));
    }
    for (const char c : std::string_view("!#$%&'*+-.^_`|~")) {
        table[static_cast<unsigned char>(c)] = true;
    }
    return table;
}();

constexpr bool is_token_char(char c) noexcept {
    return token_table[static_cast<unsigned char>(c)];
}

/// A non-empty run of tchar: methods, header names, transfer codings.
/// Every byte is looked up, with no branch per byte: the names are short
/// and nearly always valid.
constexpr bool is_token(std::string_view s) noexcept {
    bool all = !s.empty();
    for (const char c : s) {
        all &= is_token_char(c);
    }
    return all;
}

/// Characters of a field value, reason phrase or chunk extension: HTAB, SP,
/// VCHAR and obs-text (RFC 9110 §5.5); every other control character is refused.
constexpr bool is_field_char(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    return u == '\t' || (u >= 0x20 && u != 0x7F);
}

/// RFC 9112 §7.1.1: what may follow a chunk size on its line, exactly:
/// *( BWS ";" BWS name [ BWS "=" BWS value ] ), name a token, value a token
/// or a quoted-string. Whitespace with no ';' after it is refused, as are an
/// empty name and an unterminated quote: parsers that guess differently about
/// where a chunk line ends disagree about where the body ends.
constexpr bool is_chunk_ext(std::string_view s) noexcept {
    std::size_t i = 0;
    const auto skip_whitespace = [&] {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) {
            ++i;
        }
    };
    const auto skip_token = [&] {
        const std::size_t start = i;
        while (i < s.size() && is_token_char(s[i])) {
            ++i;
        }
        return i > start;
    };
    const auto skip_quoted_string = [&] {
        ++i;  // the opening DQUOTE
        while (i < s.size()) {
            const auto u = static_cast<unsigned char>(s[i]);
            if (u == '"') {
                ++i;
                return true;
            }
            if (u == '\\') {
                ++i;
                if (i == s.size() || !is_field_char(s[i])) {
                    return false;
                }
            } else if (!is_field_char(s[i])) {
                return false;
            }
            ++i;
        }
        return false;
    };
    while (i < s.size()) {
        skip_whitespace();
        if (i == s.size() || s[i] != ';') {
            return false;
        }
        ++i;
        skip_whitespace();
        if (!skip_token()) {
            return false;
        }
        const std::size_t after_name = i;
        skip_whitespace();
        if (i < s.size() && s[i] == '=') {
            ++i;
            skip_whitespace();
            const bool value = i < s.size() && s[i] == '"' ? skip_quoted_string() : skip_token();
            if (!value) {
                return false;
            }
        } else {
            i = after_name;
        }
    }
    return true;
}

/// RFC 9110 §9.3.2: a response to HEAD carries no content. Methods are
/// case-sensitive (§9.1): "head" is some other method.
constexpr bool is_head(std::string_view method) noexcept {
    return method == "HEAD";
}

/// RFC 9110 §6.4.1: 1xx, 204 and 304 responses never carry content.
constexpr bool status_forbids_body(int status) noexcept {
    return (status >= 100 && status < 200) || status == 204 || status == 304;
}

/// Whether a response with `status` to a `request_method` request has no
/// content whatever its framing headers say (RFC 9112 §6.3 rules 1 and 2):
/// HEAD, a status that forbids content, or a 2xx to CONNECT (the connection
/// becomes a tunnel).
constexpr bool response_has_no_body(std::string_view request_method, int status) noexcept {
    return is_head(request_method) || status_forbids_body(status) ||
           (request_method == "CONNECT" && status >= 200 && status < 300);
}

}  // namespace corio::detail::http_grammar
