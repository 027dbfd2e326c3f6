#pragma once

#include <corio/redis/errors.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace corio::redis {

/// The RESP type a reply arrived as. RESP2 has simple_string, error,
/// integer, bulk_string, array and null; RESP3 (HELLO 3) adds the rest.
enum class kind : std::uint8_t {
    null,             // RESP2 $-1 / *-1, RESP3 _
    simple_string,    // +OK
    error,            // -ERR ... and RESP3 !<len> blob errors
    integer,          // :42
    bulk_string,      // $3 foo
    verbatim_string,  // =txt:... (text() holds the part after "txt:")
    double_number,    // ,3.14
    boolean,          // #t
    big_number,       // (123... (kept as its digits in text())
    array,            // *n
    map,              // %n: elements() alternate key, value
    set,              // ~n
    push,             // >n: out-of-band data (pub/sub messages in RESP3)
};

/// A name for a kind, for messages ("bulk_string").
[[nodiscard]] constexpr std::string_view kind_name(kind k) noexcept {
    switch (k) {
        case kind::null: return "null";
        case kind::simple_string: return "simple_string";
        case kind::error: return "error";
        case kind::integer: return "integer";
        case kind::bulk_string: return "bulk_string";
        case kind::verbatim_string: return "verbatim_string";
        case kind::double_number: return "double";
        case kind::boolean: return "boolean";
        case kind::big_number: return "big_number";
        case kind::array: return "array";
        case kind::map: return "map";
        case kind::set: return "set";
        case kind::push: return "push";
    }
    return "unknown";
}

/// One reply (redis.asyncio hands back Python objects; corio hands back a
/// value). A plain value type: copyable, movable, compared by content.
///
/// Strings (simple, bulk, verbatim, error text, big number digits) are in
/// text(); integers in integer(); doubles in number(); booleans in
/// boolean(); aggregates in elements() (a map alternates key, value).
/// The as_* accessors convert where it is lossless and throw
/// reply_type_error otherwise; an error reply's as_* throws redis::error.
class value {
public:
    value() noexcept = default;

    /// A null reply (a missing key's GET).
    [[nodiscard]] static value null() { return value(kind::null); }
    /// A simple string reply ("OK") holding `text`.
    [[nodiscard]] static value simple_string(std::string text) { return value(kind::simple_string, std::move(text)); }
    /// A bulk string reply holding `text` (any bytes).
    [[nodiscard]] static value bulk_string(std::string text) { return value(kind::bulk_string, std::move(text)); }
    /// An error reply; `text` is the server's message, prefix included ("ERR unknown command").
    [[nodiscard]] static value error_reply(std::string text) { return value(kind::error, std::move(text)); }
    /// An integer reply holding `n`.
    [[nodiscard]] static value integer_reply(std::int64_t n) {
        value v(kind::integer);
        v.m_integer = n;
        return v;
    }
    /// A RESP3 double reply holding `d`.
    [[nodiscard]] static value double_reply(double d) {
        value v(kind::double_number);
        v.m_number = d;
        return v;
    }
    /// A RESP3 boolean reply holding `b`.
    [[nodiscard]] static value boolean_reply(bool b) {
        value v(kind::boolean);
        v.m_integer = b ? 1 : 0;
        return v;
    }
    /// An aggregate (array, map, set, push) of `elements`.
    [[nodiscard]] static value aggregate(kind k, std::vector<value> elements) {
        value v(k);
        v.m_elements = std::move(elements);
        return v;
    }
    /// A string-like kind (simple, bulk, verbatim, error, big number) holding `text`.
    [[nodiscard]] static value text_reply(kind k, std::string text) { return value(k, std::move(text)); }

    /// The RESP type the reply arrived as.
    [[nodiscard]] kind type() const noexcept { return m_kind; }
    /// True for a null reply.
    [[nodiscard]] bool is_null() const noexcept { return m_kind == kind::null; }
    /// True for an error reply (simple or blob error).
    [[nodiscard]] bool is_error() const noexcept { return m_kind == kind::error; }
    /// True for a simple, bulk or verbatim string (not for an error or a big number).
    [[nodiscard]] bool is_string() const noexcept {
        return m_kind == kind::simple_string || m_kind == kind::bulk_string || m_kind == kind::verbatim_string;
    }
    /// True for an array, map, set or push.
    [[nodiscard]] bool is_aggregate() const noexcept {
        return m_kind == kind::array || m_kind == kind::map || m_kind == kind::set || m_kind == kind::push;
    }

    /// The raw fields, whatever the kind (empty / 0 when not applicable).
    [[nodiscard]] const std::string& text() const noexcept { return m_text; }
    /// The integer of an integer reply (1 / 0 for a boolean); raw: 0 for other kinds.
    [[nodiscard]] std::int64_t integer() const noexcept { return m_integer; }
    /// The double of a double reply; raw: 0 for other kinds.
    [[nodiscard]] double number() const noexcept { return m_number; }
    /// The boolean of a boolean reply (nonzero integer too); raw: false for other kinds.
    [[nodiscard]] bool boolean() const noexcept { return m_integer != 0; }
    /// The elements of an aggregate (a map alternates key, value); raw: empty for other kinds.
    [[nodiscard]] const std::vector<value>& elements() const noexcept { return m_elements; }
    /// The same, modifiable (to move elements out).
    [[nodiscard]] std::vector<value>& elements() noexcept { return m_elements; }
    /// Number of elements (a map counts keys and values); 0 for a non-aggregate.
    [[nodiscard]] std::size_t size() const noexcept { return m_elements.size(); }
    /// Element `i`; std::out_of_range when there is none.
    [[nodiscard]] const value& operator[](std::size_t i) const { return m_elements.at(i); }

    /// Throws redis::error when this is an error reply; returns *this otherwise.
    const value& throw_if_error() const {
        if (m_kind == kind::error) {
            throw error(m_text);
        }
        return *this;
    }

    /// The string of a simple, bulk or verbatim string (also the digits of a
    /// big number and the text of an integer or double, as RESP2 would send
    /// them). Throws reply_type_error for null and aggregates.
    [[nodiscard]] std::string as_string() const {
        throw_if_error();
        switch (m_kind) {
            case kind::simple_string:
            case kind::bulk_string:
            case kind::verbatim_string:
            case kind::big_number: return m_text;
            case kind::integer: return std::to_string(m_integer);
            case kind::double_number: return format_double(m_number);
            default: throw mismatch("a string");
        }
    }
    /// The string, or nullopt for null.
    [[nodiscard]] std::optional<std::string> as_optional_string() const {
        if (m_kind == kind::null) {
            return std::nullopt;
        }
        return as_string();
    }
    /// An integer reply, or a string holding only a decimal integer.
    [[nodiscard]] std::int64_t as_integer() const {
        throw_if_error();
        if (m_kind == kind::integer || m_kind == kind::boolean) {
            return m_integer;
        }
        if (is_string()) {
            if (std::optional<std::int64_t> n = parse_integer(m_text)) {
                return *n;
            }
        }
        throw mismatch("an integer");
    }
    /// A double reply, an integer, or a string holding a number ("3.5", "inf").
    [[nodiscard]] double as_double() const {
        throw_if_error();
        if (m_kind == kind::double_number) {
            return m_number;
        }
        if (m_kind == kind::integer) {
            return static_cast<double>(m_integer);
        }
        if (is_string()) {
            if (std::optional<double> d = parse_double(m_text)) {
                return *d;
            }
        }
        throw mismatch("a number");
    }
    /// A boolean reply, or the integer 0/1 RESP2 sends instead.
    [[nodiscard]] bool as_bool() const {
        throw_if_error();
        if (m_kind == kind::boolean || m_kind == kind::integer) {
            return m_integer != 0;
        }
        throw mismatch("a boolean");
    }
    /// The elements of an aggregate; null (RESP2's *-1) gives none.
    [[nodiscard]] const std::vector<value>& as_elements() const {
        throw_if_error();
        if (!is_aggregate() && m_kind != kind::null) {
            throw mismatch("an array");
        }
        return m_elements;
    }

    /// Equal when kind and content are (two NaN doubles compare equal here).
    friend bool operator==(const value& a, const value& b) noexcept {
        return a.m_kind == b.m_kind && a.m_text == b.m_text && a.m_integer == b.m_integer &&
               (a.m_number == b.m_number || (a.m_number != a.m_number && b.m_number != b.m_number)) &&
               a.m_elements == b.m_elements;
    }

    /// Decimal integer with optional sign and no other characters.
    [[nodiscard]] static std::optional<std::int64_t> parse_integer(std::string_view text) noexcept {
        if (text.empty() || text.size() > 20) {
            return std::nullopt;
        }
        bool negative = false;
        std::size_t i = 0;
        if (text[0] == '-' || text[0] == '+') {
            negative = text[0] == '-';
            i = 1;
            if (text.size() == 1) {
                return std::nullopt;
            }
        }
        std::uint64_t magnitude = 0;
        for (; i < text.size(); ++i) {
            const char c = text[i];
            if (c < '0' || c > '9') {
                return std::nullopt;
            }
            const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
            if (magnitude > (UINT64_MAX - digit) / 10) {
                return std::nullopt;
            }
            magnitude = magnitude * 10 + digit;
        }
        const std::uint64_t limit = negative ? std::uint64_t{1} << 63 : (std::uint64_t{1} << 63) - 1;
        if (magnitude > limit) {
            return std::nullopt;
        }
        if (negative) {
            return magnitude == (std::uint64_t{1} << 63) ? INT64_MIN : -static_cast<std::int64_t>(magnitude);
        }
        return static_cast<std::int64_t>(magnitude);
    }

    /// A RESP double: decimal or exponent notation, "inf", "-inf", "nan".
    [[nodiscard]] static std::optional<double> parse_double(std::string_view text) {
        if (text == "inf" || text == "+inf") {
            return std::numeric_limits<double>::infinity();
        }
        if (text == "-inf") {
            return -std::numeric_limits<double>::infinity();
        }
        if (text == "nan" || text == "-nan") {
            return std::numeric_limits<double>::quiet_NaN();
        }
        if (text.empty() || text.size() > 64) {
            return std::nullopt;
        }
        for (const char c : text) {
            if (!((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E')) {
                return std::nullopt;
            }
        }
        const std::string copy(text);
        char* end = nullptr;
        const double d = std::strtod(copy.c_str(), &end);
        if (end != copy.c_str() + copy.size()) {
            return std::nullopt;
        }
        return d;
    }

private:
    explicit value(kind k) noexcept : m_kind(k) {}
    value(kind k, std::string text) noexcept : m_kind(k), m_text(std::move(text)) {}

    [[nodiscard]] reply_type_error mismatch(std::string_view wanted) const {
        return reply_type_error("redis reply is " + std::string(kind_name(m_kind)) + ", expected " +
                                std::string(wanted));
    }
    [[nodiscard]] static std::string format_double(double d) {
        char buffer[32];
        const int n = std::snprintf(buffer, sizeof buffer, "%.17g", d);
        return std::string(buffer, static_cast<std::size_t>(n));
    }

    kind m_kind = kind::null;
    std::string m_text;
    std::int64_t m_integer = 0;
    double m_number = 0;
    std::vector<value> m_elements;
};

}  // namespace corio::redis
