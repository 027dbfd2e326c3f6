#pragma once

// corio::http::url: a strict parser for the absolute http/https URLs an HTTP
// client fetches, percent-encoding helpers, and reference resolution for
// redirect Locations (RFC 3986 §5.2).

#include <corio/http/detail/grammar.hpp>
#include <corio/http/errors.hpp>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace corio::detail::url_grammar {

// The RFC 5234 core rules and case folding are HTTP's too: one copy, in grammar.hpp.
using http_grammar::hex_value;
using http_grammar::is_alpha;
using http_grammar::is_digit;
using http_grammar::is_hex;
using http_grammar::lower_ascii;

inline bool is_unreserved(char c) noexcept {
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}
inline bool is_sub_delim(char c) noexcept {
    switch (c) {
        case '!':
        case '$':
        case '&':
        case '\'':
        case '(':
        case ')':
        case '*':
        case '+':
        case ',':
        case ';':
        case '=':
            return true;
        default:
            return false;
    }
}
/// pchar minus pct-encoded (checked separately): RFC 3986 §3.3.
inline bool is_pchar(char c) noexcept {
    return is_unreserved(c) || is_sub_delim(c) || c == ':' || c == '@';
}

/// Checks `s` (which starts at `base` in the whole input) holds only pchars,
/// the extra characters in `extra`, and well-formed %XX escapes.
inline void check_component(std::string_view s, std::size_t base, std::string_view extra,
                            const char* what) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '%') {
            if (i + 2 >= s.size() || !is_hex(s[i + 1]) || !is_hex(s[i + 2]))
                throw http::url_error(std::string("bad percent-escape in ") + what, base + i);
            i += 2;
            continue;
        }
        if (is_pchar(c) || extra.find(c) != std::string_view::npos)
            continue;
        throw http::url_error(std::string("character not allowed in ") + what, base + i);
    }
}

/// Validates an IPv6 address (RFC 3986 IPv6address, no zone id).
inline bool valid_ipv6(std::string_view s) noexcept {
    if (s.empty())
        return false;
    int groups = 0;
    bool compressed = false;
    std::size_t i = 0;
    if (s.size() >= 2 && s[0] == ':' && s[1] == ':') {
        compressed = true;
        i = 2;
        if (i == s.size())
            return true;  // "::"
    } else if (s[0] == ':') {
        return false;
    }
    while (i < s.size()) {
        // One group: hex digits, or a trailing dotted IPv4 address.
        std::size_t start = i;
        while (i < s.size() && is_hex(s[i]) && i - start < 5)
            ++i;
        if (i < s.size() && s[i] == '.') {
            // Embedded IPv4: must be the last thing and counts as two groups.
            std::string_view v4 = s.substr(start);
            int parts = 0;
            std::size_t j = 0;
            while (true) {
                std::size_t d0 = j;
                int value = 0;
                while (j < v4.size() && is_digit(v4[j]) && j - d0 < 4)
                    value = value * 10 + (v4[j++] - '0');
                const std::size_t len = j - d0;
                if (len == 0 || len > 3 || value > 255 || (len > 1 && v4[d0] == '0'))
                    return false;
                ++parts;
                if (j == v4.size())
                    break;
                if (v4[j] != '.' || parts == 4)
                    return false;
                ++j;
            }
            if (parts != 4)
                return false;
            groups += 2;
            i = s.size();
            break;
        }
        const std::size_t len = i - start;
        if (len == 0 || len > 4)
            return false;
        ++groups;
        if (i == s.size())
            break;
        if (s[i] != ':')
            return false;
        ++i;
        if (i < s.size() && s[i] == ':') {
            if (compressed)
                return false;  // a second "::"
            compressed = true;
            ++i;
            if (i == s.size())
                break;
        } else if (i == s.size()) {
            return false;  // trailing single ':'
        }
    }
    return compressed ? groups < 8 : groups == 8;
}

/// RFC 3986 §5.2.4 remove_dot_segments, iterative.
inline std::string remove_dot_segments(std::string_view in) {
    std::string out;
    while (!in.empty()) {
        if (in.starts_with("../")) {
            in.remove_prefix(3);
        } else if (in.starts_with("./")) {
            in.remove_prefix(2);
        } else if (in.starts_with("/./")) {
            in.remove_prefix(2);
        } else if (in == "/.") {
            in = "/";
        } else if (in.starts_with("/../") || in == "/..") {
            if (in.size() == 3)
                in = "/";
            else
                in.remove_prefix(3);
            const std::size_t slash = out.rfind('/');
            out.erase(slash == std::string::npos ? 0 : slash);
        } else if (in == "." || in == "..") {
            in = {};
        } else {
            std::size_t next = in.find('/', in[0] == '/' ? 1 : 0);
            if (next == std::string_view::npos)
                next = in.size();
            out.append(in.substr(0, next));
            in.remove_prefix(next);
        }
    }
    return out;
}

}  // namespace corio::detail::url_grammar

namespace corio::http {

/// Percent-encodes every byte of `s` except unreserved characters
/// (ALPHA DIGIT - . _ ~) and those listed in `safe`. Returns the encoded string.
inline std::string percent_encode(std::string_view s, std::string_view safe = {}) {
    static constexpr char digits[] = "0123456789ABCDEF";
    using namespace ::corio::detail::url_grammar;
    std::string out;
    out.reserve(s.size());
    for (const char c : s) {
        if (is_unreserved(c) || (c != '%' && safe.find(c) != std::string_view::npos)) {
            out.push_back(c);
        } else {
            const auto b = static_cast<unsigned char>(c);
            out.push_back('%');
            out.push_back(digits[b >> 4]);
            out.push_back(digits[b & 0xF]);
        }
    }
    return out;
}

/// Decodes %XX escapes in `s` ('+' is left alone). Returns the decoded bytes.
/// Throws url_error on a '%' not followed by two hex digits.
inline std::string percent_decode(std::string_view s) {
    using namespace ::corio::detail::url_grammar;
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out.push_back(s[i]);
            continue;
        }
        if (i + 2 >= s.size() || !is_hex(s[i + 1]) || !is_hex(s[i + 2]))
            throw url_error("bad percent-escape", i);
        out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
        i += 2;
    }
    return out;
}

/// An absolute http or https URL, as an HTTP client fetches it.
///
/// - scheme: "http" or "https", lowercased.
/// - host: a registered name (letters, digits, '-', '.', '_'; lowercased; no
///   percent-escapes) or an IPv4 address, or an IPv6 literal written in
///   brackets in the URL and stored WITHOUT brackets ("::1"), ready for the
///   resolver; authority() and to_string() put the brackets back. Zone ids are
///   rejected.
/// - port: explicit (1..65535) or the scheme's default (80 / 443).
/// - path: "/" when absent; query without its '?'. Both keep their
///   percent-escapes (validated, not decoded).
/// - userinfo ("user:pass@host") is rejected: credentials in URLs leak into logs.
/// - a fragment is kept in fragment() but never sent: target() excludes it.
///
/// Values are immutable once parsed; copying is cheap enough for per-request use.
class url {
public:
    /// Parses an absolute http/https URL. Throws url_error naming the problem
    /// and its offset.
    [[nodiscard]] static url parse(std::string_view text) {
        using namespace ::corio::detail::url_grammar;
        url u;
        std::size_t i = 0;
        while (i < text.size() &&
               (is_alpha(text[i]) || (i > 0 && (is_digit(text[i]) || text[i] == '+' ||
                                                text[i] == '-' || text[i] == '.'))))
            ++i;
        if (i == 0 || i >= text.size() || text[i] != ':')
            throw url_error("missing scheme", 0);
        for (std::size_t k = 0; k < i; ++k)
            u.m_scheme.push_back(lower_ascii(text[k]));
        if (u.m_scheme != "http" && u.m_scheme != "https")
            throw url_error("unsupported scheme '" + u.m_scheme + "' (only http and https)", 0);
        if (text.substr(i + 1, 2) != "//")
            throw url_error("expected '//' after the scheme", i + 1);
        i += 3;
        const std::size_t rest = u.parse_authority(text, i);
        u.parse_path_query_fragment(text, rest);
        return u;
    }

    /// "http" or "https", lowercased.
    [[nodiscard]] const std::string& scheme() const noexcept { return m_scheme; }
    /// The host: a lowercased name, an IPv4 address, or an IPv6 address without brackets.
    [[nodiscard]] const std::string& host() const noexcept { return m_host; }
    /// True when the host is an IPv6 literal.
    [[nodiscard]] bool host_is_ipv6() const noexcept { return m_ipv6; }
    /// The port: explicit, or 80 for http and 443 for https.
    [[nodiscard]] std::uint16_t port() const noexcept { return m_port; }
    /// The path, always starting with '/', percent-escapes kept.
    [[nodiscard]] const std::string& path() const noexcept { return m_path; }
    /// The query without its '?', empty when absent.
    [[nodiscard]] const std::string& query() const noexcept { return m_query; }
    /// True when the URL had a '?', even with an empty query ("/a?" keeps it in target()).
    [[nodiscard]] bool has_query() const noexcept { return m_has_query; }
    /// The fragment without its '#' (never sent to a server).
    [[nodiscard]] const std::string& fragment() const noexcept { return m_fragment; }
    /// True for the https scheme.
    [[nodiscard]] bool is_https() const noexcept { return m_scheme == "https"; }
    /// True when port() is the scheme's default (80 for http, 443 for https).
    [[nodiscard]] bool default_port() const noexcept { return m_port == (is_https() ? 443 : 80); }

    /// The request-target for the request line: path and "?query".
    [[nodiscard]] std::string target() const {
        std::string t = m_path;
        if (m_has_query) {
            t.push_back('?');
            t += m_query;
        }
        return t;
    }

    /// The Host header value: host (IPv6 in brackets) and ":port" unless default.
    [[nodiscard]] std::string authority() const {
        std::string a = m_ipv6 ? "[" + m_host + "]" : m_host;
        if (!default_port())
            a += ":" + std::to_string(m_port);
        return a;
    }

    /// The normalised URL: scheme://authority/path?query#fragment.
    [[nodiscard]] std::string to_string() const {
        std::string s = m_scheme + "://" + authority() + target();
        if (m_has_fragment)
            s += "#" + m_fragment;
        return s;
    }

    /// Resolves a URL reference against this URL (RFC 3986 §5.2): an absolute
    /// URL, "//host/path", "/absolute/path", "relative/path", "?query", "" or
    /// "#fragment". Dot segments are removed. Throws url_error when the
    /// reference or the result is malformed (e.g. "ftp://x").
    [[nodiscard]] url resolve(std::string_view reference) const {
        using namespace ::corio::detail::url_grammar;
        // A scheme is letters (then letters, digits, + - .) followed by ':'
        // before any '/', '?' or '#'.
        std::size_t i = 0;
        while (i < reference.size() && (is_alpha(reference[i]) ||
                                        (i > 0 && (is_digit(reference[i]) || reference[i] == '+' ||
                                                   reference[i] == '-' || reference[i] == '.'))))
            ++i;
        if (i > 0 && i < reference.size() && reference[i] == ':') {
            url r = parse(reference);
            r.m_path = remove_dot_segments(r.m_path);
            if (r.m_path.empty())
                r.m_path = "/";
            return r;
        }
        if (reference.starts_with("//")) {
            url r;
            r.m_scheme = m_scheme;
            const std::size_t rest = r.parse_authority(reference, 2);
            r.parse_path_query_fragment(reference, rest);
            r.m_path = remove_dot_segments(r.m_path);
            if (r.m_path.empty())
                r.m_path = "/";
            return r;
        }
        url r = *this;
        r.m_has_fragment = false;
        r.m_fragment.clear();
        // Split the reference into path, query and fragment, validating each.
        std::size_t end_path = reference.find_first_of("?#");
        if (end_path == std::string_view::npos)
            end_path = reference.size();
        const std::string_view ref_path = reference.substr(0, end_path);
        check_component(ref_path, 0, "/", "path");
        std::size_t pos = end_path;
        bool ref_has_query = false;
        std::string_view ref_query;
        if (pos < reference.size() && reference[pos] == '?') {
            std::size_t end_q = reference.find('#', pos + 1);
            if (end_q == std::string_view::npos)
                end_q = reference.size();
            ref_query = reference.substr(pos + 1, end_q - pos - 1);
            check_component(ref_query, pos + 1, "/?", "query");
            ref_has_query = true;
            pos = end_q;
        }
        if (pos < reference.size()) {
            const std::string_view frag = reference.substr(pos + 1);
            check_component(frag, pos + 1, "/?", "fragment");
            r.m_has_fragment = true;
            r.m_fragment = std::string(frag);
        }
        if (ref_path.empty()) {
            if (ref_has_query) {
                r.m_has_query = true;
                r.m_query = std::string(ref_query);
            }
            return r;
        }
        if (ref_path[0] == '/') {
            r.m_path = remove_dot_segments(ref_path);
        } else {
            // Merge (§5.2.3): the base path up to its last '/', then the reference.
            const std::size_t slash = m_path.rfind('/');
            std::string merged = m_path.substr(0, slash == std::string::npos ? 0 : slash + 1);
            merged += ref_path;
            r.m_path = remove_dot_segments(merged);
        }
        if (r.m_path.empty() || r.m_path[0] != '/')
            r.m_path.insert(0, "/");
        r.m_has_query = ref_has_query;
        r.m_query = std::string(ref_query);
        return r;
    }

    /// Equal when every part is, as stored (host lowercased, escapes kept as written).
    friend bool operator==(const url&, const url&) = default;

private:
    url() = default;

    /// Parses host[:port] starting at `i`; returns where the path starts.
    std::size_t parse_authority(std::string_view text, std::size_t i) {
        using namespace ::corio::detail::url_grammar;
        std::size_t end = text.find_first_of("/?#", i);
        if (end == std::string_view::npos)
            end = text.size();
        const std::string_view authority = text.substr(i, end - i);
        if (const std::size_t at = authority.find('@'); at != std::string_view::npos)
            throw url_error("userinfo (user:password@) is not supported", i + at);
        if (authority.empty())
            throw url_error("empty host", i);
        std::size_t host_end;
        if (authority[0] == '[') {
            const std::size_t close = authority.find(']');
            if (close == std::string_view::npos)
                throw url_error("unterminated IPv6 literal", i);
            const std::string_view literal = authority.substr(1, close - 1);
            if (!valid_ipv6(literal))
                throw url_error("invalid IPv6 literal", i + 1);
            for (const char c : literal)
                m_host.push_back(lower_ascii(c));
            m_ipv6 = true;
            host_end = close + 1;
            if (host_end < authority.size() && authority[host_end] != ':')
                throw url_error("unexpected character after IPv6 literal", i + host_end);
        } else {
            host_end = authority.find(':');
            if (host_end == std::string_view::npos)
                host_end = authority.size();
            if (host_end == 0)
                throw url_error("empty host", i);
            for (std::size_t k = 0; k < host_end; ++k) {
                const char c = authority[k];
                if (!(is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_'))
                    throw url_error("character not allowed in host", i + k);
                m_host.push_back(lower_ascii(c));
            }
        }
        if (host_end < authority.size()) {
            // ':' port
            const std::string_view digits = authority.substr(host_end + 1);
            if (digits.empty())
                throw url_error("empty port", i + host_end + 1);
            if (digits.size() > 5)
                throw url_error("port out of range", i + host_end + 1);
            std::uint32_t value = 0;
            for (std::size_t k = 0; k < digits.size(); ++k) {
                if (!is_digit(digits[k]))
                    throw url_error("port is not a number", i + host_end + 1 + k);
                value = value * 10 + static_cast<std::uint32_t>(digits[k] - '0');
            }
            if (value == 0 || value > 65535)
                throw url_error("port out of range", i + host_end + 1);
            m_port = static_cast<std::uint16_t>(value);
        } else {
            m_port = m_scheme == "https" ? 443 : 80;
        }
        return end;
    }

    void parse_path_query_fragment(std::string_view text, std::size_t i) {
        using namespace ::corio::detail::url_grammar;
        std::size_t end_path = text.find_first_of("?#", i);
        if (end_path == std::string_view::npos)
            end_path = text.size();
        const std::string_view path = text.substr(i, end_path - i);
        check_component(path, i, "/", "path");
        m_path = path.empty() ? std::string("/") : std::string(path);
        std::size_t pos = end_path;
        if (pos < text.size() && text[pos] == '?') {
            std::size_t end_q = text.find('#', pos + 1);
            if (end_q == std::string_view::npos)
                end_q = text.size();
            const std::string_view query = text.substr(pos + 1, end_q - pos - 1);
            check_component(query, pos + 1, "/?", "query");
            m_has_query = true;
            m_query = std::string(query);
            pos = end_q;
        }
        if (pos < text.size()) {
            const std::string_view fragment = text.substr(pos + 1);
            check_component(fragment, pos + 1, "/?", "fragment");
            m_has_fragment = true;
            m_fragment = std::string(fragment);
        }
    }

    std::string m_scheme;
    std::string m_host;
    bool m_ipv6 = false;
    std::uint16_t m_port = 0;
    std::string m_path = "/";
    std::string m_query;
    bool m_has_query = false;
    std::string m_fragment;
    bool m_has_fragment = false;
};

}  // namespace corio::http
