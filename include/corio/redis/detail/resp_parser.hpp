#pragma once

// The RESP2/RESP3 reply parser: bytes in, corio::redis::value out, without
// I/O (like the TLS engine, it only transforms bytes; the connection feeds it
// from its read buffer). Incremental: feed() consumes every element that is
// complete and keeps the aggregates still open on a stack, so a reply split
// anywhere across reads parses to the same value, and a large reply arriving
// in pieces is not re-scanned from its start on each read.

#include <corio/redis/errors.hpp>
#include <corio/redis/value.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace corio::redis::detail {

/// Bounds on what the parser accepts; beyond them it throws protocol_error
/// rather than allocating what a broken or hostile peer asks for.
struct resp_limits {
    std::size_t max_depth = 64;                        // nested aggregates
    std::size_t max_bulk_length = 512 * 1024 * 1024;   // one bulk / verbatim / blob error
    std::size_t max_aggregate_length = 1 << 24;        // elements of one aggregate
    std::size_t max_line_length = 64 * 1024;           // simple string, error, number lines
};

class resp_parser {
public:
    resp_parser() = default;
    explicit resp_parser(resp_limits limits) noexcept : m_limits(limits) {}

    /// Parses from the front of `data` and returns how many bytes it used
    /// (the caller drops them from its buffer). It stops after one whole
    /// reply, which ready() then reports and take() hands out; bytes of a
    /// following reply are left unused. Throws protocol_error on bytes that
    /// are not RESP; the parser is then unusable (reset() it).
    std::size_t feed(std::string_view data) {
        std::size_t used = 0;
        while (!m_result && used < data.size()) {
            const std::size_t n = parse_element(data.substr(used));
            if (n == 0) {
                break;
            }
            used += n;
            m_offset += n;
        }
        return used;
    }

    /// A whole reply has been parsed and waits in take().
    [[nodiscard]] bool ready() const noexcept { return m_result.has_value(); }

    /// Hands out the parsed reply (precondition: ready()); the next feed()
    /// starts a new reply.
    [[nodiscard]] value take() {
        value v = std::move(*m_result);
        m_result.reset();
        m_offset = 0;
        return v;
    }

    /// Part of a reply has been consumed and the rest is awaited.
    [[nodiscard]] bool in_progress() const noexcept { return !m_stack.empty() || m_offset != 0; }

    /// Forgets everything (after an error, or for a new connection).
    void reset() noexcept {
        m_stack.clear();
        m_result.reset();
        m_offset = 0;
    }

private:
    struct open_aggregate {
        value aggregate;
        std::size_t remaining;
        bool attribute;  // RESP3 |n: metadata about the next reply, dropped
    };

    [[noreturn]] void fail(const std::string& what, std::size_t at = 0) const {
        throw protocol_error(what, m_offset + at);
    }

    // Parses one element (a scalar, or the header of an aggregate) from the
    // front of `data`; returns the bytes it used, 0 if it is not all there.
    std::size_t parse_element(std::string_view data) {
        const std::size_t line_end = data.find("\r\n");
        if (line_end == std::string_view::npos) {
            // A lone '\r' just past the limit may be the start of the CRLF
            // that ends a line of exactly the limit: not an error yet.
            const bool cr_pending = data.size() == m_limits.max_line_length + 1 && data.back() == '\r';
            if (data.size() > m_limits.max_line_length && !cr_pending) {
                fail("line longer than " + std::to_string(m_limits.max_line_length) + " bytes");
            }
            return 0;
        }
        if (line_end > m_limits.max_line_length) {
            fail("line longer than " + std::to_string(m_limits.max_line_length) + " bytes");
        }
        if (line_end == 0) {
            fail("empty line where a type byte was expected");
        }
        const char type = data[0];
        const std::string_view line = data.substr(1, line_end - 1);
        const std::size_t after_line = line_end + 2;
        switch (type) {
            case '+': complete(value::simple_string(std::string(line))); return after_line;
            case '-': complete(value::error_reply(std::string(line))); return after_line;
            case ':': complete(value::integer_reply(integer_of(line, "integer"))); return after_line;
            case '_':
                if (!line.empty()) {
                    fail("null with a payload", 1);
                }
                complete(value::null());
                return after_line;
            case ',': {
                const std::optional<double> d = value::parse_double(line);
                if (!d) {
                    fail("bad double '" + printable(line) + "'", 1);
                }
                complete(value::double_reply(*d));
                return after_line;
            }
            case '#':
                if (line != "t" && line != "f") {
                    fail("bad boolean '" + printable(line) + "'", 1);
                }
                complete(value::boolean_reply(line == "t"));
                return after_line;
            case '(': {
                const std::string_view digits = line.substr(!line.empty() && (line[0] == '-' || line[0] == '+'));
                if (digits.empty() || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
                    fail("bad big number '" + printable(line) + "'", 1);
                }
                complete(value::text_reply(kind::big_number, std::string(line)));
                return after_line;
            }
            case '$':
            case '!':
            case '=': return parse_blob(type, data, line, after_line);
            case '*':
            case '%':
            case '~':
            case '>':
            case '|': return parse_aggregate_header(type, line, after_line);
            default: fail("unknown type byte '" + printable(data.substr(0, 1)) + "'");
        }
    }

    std::size_t parse_blob(char type, std::string_view data, std::string_view line, std::size_t after_line) {
        if (line == "?") {
            fail("streamed strings are not supported", 1);
        }
        const std::int64_t length = integer_of(line, "length");
        if (length == -1 && type == '$') {
            complete(value::null());
            return after_line;
        }
        if (length < 0) {
            fail("negative length " + std::to_string(length), 1);
        }
        if (static_cast<std::uint64_t>(length) > m_limits.max_bulk_length) {
            fail("string of " + std::to_string(length) + " bytes exceeds the limit of " +
                     std::to_string(m_limits.max_bulk_length),
                 1);
        }
        const std::size_t size = static_cast<std::size_t>(length);
        if (data.size() - after_line < size + 2) {
            return 0;
        }
        if (data.substr(after_line + size, 2) != "\r\n") {
            fail("string not followed by CRLF", after_line + size);
        }
        std::string payload(data.substr(after_line, size));
        if (type == '$') {
            complete(value::bulk_string(std::move(payload)));
        } else if (type == '!') {
            complete(value::error_reply(std::move(payload)));
        } else {
            if (payload.size() < 4 || payload[3] != ':') {
                fail("verbatim string without its 3-letter format", after_line);
            }
            complete(value::text_reply(kind::verbatim_string, payload.substr(4)));
        }
        return after_line + size + 2;
    }

    std::size_t parse_aggregate_header(char type, std::string_view line, std::size_t after_line) {
        if (line == "?") {
            fail("streamed aggregates are not supported", 1);
        }
        const std::int64_t count = integer_of(line, "count");
        if (count == -1 && type == '*') {
            complete(value::null());
            return after_line;
        }
        if (count < 0) {
            fail("negative count " + std::to_string(count), 1);
        }
        // Maps and attributes count key and value.
        const std::uint64_t elements =
            static_cast<std::uint64_t>(count) * ((type == '%' || type == '|') ? 2U : 1U);
        if (elements > m_limits.max_aggregate_length) {
            fail("aggregate of " + std::to_string(elements) + " elements exceeds the limit of " +
                     std::to_string(m_limits.max_aggregate_length),
                 1);
        }
        if (m_stack.size() >= m_limits.max_depth) {
            fail("nesting deeper than " + std::to_string(m_limits.max_depth));
        }
        const kind k = type == '*'   ? kind::array
                       : type == '%' ? kind::map
                       : type == '~' ? kind::set
                       : type == '>' ? kind::push
                                     : kind::map;
        std::vector<value> storage;
        storage.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(elements, 1024)));
        if (elements == 0) {
            if (type != '|') {
                complete(value::aggregate(k, std::move(storage)));
            }
            return after_line;
        }
        m_stack.push_back(
            open_aggregate{value::aggregate(k, std::move(storage)), static_cast<std::size_t>(elements), type == '|'});
        return after_line;
    }

    // A value is whole: it becomes the next element of the innermost open
    // aggregate, closing every aggregate it fills, or the reply itself.
    void complete(value v) {
        for (;;) {
            if (m_stack.empty()) {
                m_result.emplace(std::move(v));
                return;
            }
            open_aggregate& top = m_stack.back();
            top.aggregate.elements().push_back(std::move(v));
            if (--top.remaining != 0) {
                return;
            }
            const bool attribute = top.attribute;
            v = std::move(top.aggregate);
            m_stack.pop_back();
            if (attribute) {
                return;  // the attribute applies to the value that follows it
            }
        }
    }

    [[nodiscard]] std::int64_t integer_of(std::string_view line, const char* what) const {
        const std::optional<std::int64_t> n = value::parse_integer(line);
        if (!n) {
            fail(std::string("bad ") + what + " '" + printable(line) + "'", 1);
        }
        return *n;
    }

    [[nodiscard]] static std::string printable(std::string_view text) {
        std::string out;
        for (const char c : text.substr(0, 32)) {
            const auto byte = static_cast<unsigned char>(c);
            if (byte >= 0x20 && byte < 0x7f) {
                out += c;
            } else {
                static constexpr char hex[] = "0123456789abcdef";
                out += "\\x";
                out += hex[byte >> 4];
                out += hex[byte & 15];
            }
        }
        if (text.size() > 32) {
            out += "...";
        }
        return out;
    }

    resp_limits m_limits{};
    std::vector<open_aggregate> m_stack;
    std::optional<value> m_result;
    std::size_t m_offset = 0;  // bytes of the current reply consumed so far
};

}  // namespace corio::redis::detail
