#pragma once

// How C++ values travel to and from PostgreSQL in the binary format: the
// codec<T> for each supported type, and the small value types corio::pg adds
// (uuid, numeric, json, jsonb). A codec says which OID it sends, which OIDs it
// reads, and how to encode / decode; std::optional<T> adds NULL, std::vector<T>
// one-dimensional arrays.

#include <corio/pg/detail/wire.hpp>
#include <corio/pg/errors.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace corio::pg {

/// A UUID (PostgreSQL `uuid`): 16 bytes, text as 8-4-4-4-12 lower-case hex.
struct uuid {
    /// The 16 bytes in network order, as written left to right in the text form.
    std::array<std::uint8_t, 16> bytes{};

    /// Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (hyphens optional, any case);
    /// throws interface_error on anything else.
    static uuid parse(std::string_view text) {
        uuid result;
        std::size_t filled = 0;
        int high = -1;
        for (char c : text) {
            if (c == '-') {
                continue;
            }
            int value = -1;
            if (c >= '0' && c <= '9') value = c - '0';
            else if (c >= 'a' && c <= 'f') value = c - 'a' + 10;
            else if (c >= 'A' && c <= 'F') value = c - 'A' + 10;
            if (value < 0 || filled == result.bytes.size()) {
                throw interface_error("corio::pg::uuid: not a UUID: \"" + std::string(text) + "\"");
            }
            if (high < 0) {
                high = value;
            } else {
                result.bytes[filled++] = static_cast<std::uint8_t>(high * 16 + value);
                high = -1;
            }
        }
        if (filled != result.bytes.size() || high >= 0) {
            throw interface_error("corio::pg::uuid: not a UUID: \"" + std::string(text) + "\"");
        }
        return result;
    }

    /// The text form: 8-4-4-4-12 lower-case hex digits with hyphens.
    [[nodiscard]] std::string to_string() const {
        static constexpr char hex[] = "0123456789abcdef";
        std::string text;
        for (std::size_t i = 0; i < bytes.size(); ++i) {
            if (i == 4 || i == 6 || i == 8 || i == 10) {
                text += '-';
            }
            text += hex[bytes[i] >> 4];
            text += hex[bytes[i] & 0xF];
        }
        return text;
    }

    /// Equal when the 16 bytes are.
    friend bool operator==(const uuid&, const uuid&) = default;
};

/// A `numeric` value carried as its decimal text (no precision is lost).
struct numeric {
    /// The number in decimal ("-12.50", "NaN"), as PostgreSQL writes it; sent without a check.
    std::string text;
    /// Equal when the texts are: "1.0" and "1.00" differ.
    friend bool operator==(const numeric&, const numeric&) = default;
};

/// A `json` document (text); a std::string also reads json columns.
struct json {
    /// The document's JSON text, sent without a check (the server validates it).
    std::string text;
    /// Equal when the texts are, byte for byte.
    friend bool operator==(const json&, const json&) = default;
};

/// A `jsonb` document (text); a std::string also reads jsonb columns.
struct jsonb {
    /// The document's JSON text, sent without a check (the server validates it).
    std::string text;
    /// Equal when the texts are, byte for byte.
    friend bool operator==(const jsonb&, const jsonb&) = default;
};

/// `timestamp` (without time zone): a local time in microseconds.
using timestamp = std::chrono::local_time<std::chrono::microseconds>;
/// `timestamptz`: a point in UTC, in microseconds.
using timestamptz = std::chrono::sys_time<std::chrono::microseconds>;
/// `date`.
using date = std::chrono::sys_days;

/// How a C++ type T travels to and from PostgreSQL: what query parameters
/// and record::get use. A type corio::pg has no codec for fails here, at
/// compile time, naming the type.
///
/// Each specialization (they are left out of this reference) provides:
/// - `type_oid`: the OID a parameter of type T is sent with; `unknown` (705)
///   for strings, so the server gives them the type the statement needs.
/// - `binary`: true when sent in the binary format, false for text.
/// - `cpp_name`: the C++ type's name, for error messages.
/// - `encode(value, out)`: appends the value's bytes to `out`.
/// - `accepts(oid)`: whether a column of that type can be read as T.
/// - `decode(bytes, oid)`: a value of T from a non-NULL column's bytes; throws
///   interface_error when they are malformed.
///
/// The supported types, and the column types each reads:
/// - `bool`: boolean.
/// - `std::int16_t`, `std::int32_t`, `std::int64_t` (and the other 64-bit
///   signed type, `long` or `long long`): int2, int4, int8; each reads every
///   integer type whose values always fit it (std::int64_t also reads oid).
/// - `float`: real. `double`: double precision; also reads real.
/// - `std::string_view`, `std::string`: sent untyped as text; read text,
///   varchar, char(n), name, json and jsonb (std::string also numeric and uuid,
///   as text). A std::string_view points into the result: valid while the
///   record lives.
/// - `const char*` (and string literals): sent as std::string_view; not read.
/// - `std::vector<std::byte>`: bytea.
/// - pg::uuid: uuid. pg::numeric: numeric, sent as text (exact).
/// - pg::json, pg::jsonb: json, jsonb; each reads both.
/// - pg::date (`std::chrono::sys_days`): date.
/// - `std::chrono::sys_time<D>` (pg::timestamptz): timestamptz, to the
///   microsecond (finer values are floored).
/// - `std::chrono::local_time<D>` (pg::timestamp): timestamp, likewise.
///   For dates and both timestamps, 'infinity' and '-infinity' are the C++
///   type's max() and min(), both ways; a value outside the other side's
///   range (year 3000 read as nanoseconds, say) is an interface_error.
/// - `std::optional<T>`: T, NULL when empty.
/// - `std::vector<T>` (T not std::byte): a one-dimensional array of T; a NULL
///   element needs std::optional elements, else null_value_error.
template <class T, class = void>
struct codec {
    static_assert(sizeof(T) == 0, "corio::pg: no codec for this type (see corio/pg/types.hpp)");
};

namespace detail {

// PostgreSQL's epoch, 2000-01-01, in days since the Unix epoch.
inline constexpr std::chrono::sys_days postgres_epoch{std::chrono::days(10957)};

[[noreturn]] inline void throw_malformed(std::string_view what) {
    throw interface_error("corio::pg: malformed binary " + std::string(what) + " value");
}

// PostgreSQL writes 'infinity' and '-infinity' timestamps as the extreme
// int64 values, and such dates as the extreme int32 values; corio reads and
// writes them as the C++ type's max() and min().
inline constexpr std::int64_t pg_time_infinity = std::numeric_limits<std::int64_t>::max();
inline constexpr std::int64_t pg_time_minus_infinity = std::numeric_limits<std::int64_t>::min();
// 2000-01-01 in microseconds since the Unix epoch (which system_clock and
// local_t count from).
inline constexpr std::int64_t pg_epoch_unix_micros = 946'684'800'000'000;

// Reading: the value does not fit the C++ type asked for.
[[noreturn]] inline void throw_time_range(std::string_view pg_type, std::string_view cpp_type) {
    throw interface_error("corio::pg: a " + std::string(pg_type) + " value outside the range of " +
                          std::string(cpp_type) + " (read it as pg::" + std::string(pg_type) +
                          ", which holds every one)");
}

// Writing: the C++ value does not fit PostgreSQL's type.
[[noreturn]] inline void throw_pg_range(std::string_view pg_type, std::string_view cpp_type) {
    throw interface_error("corio::pg: a " + std::string(cpp_type) + " value outside the range of a " +
                          std::string(pg_type) + " parameter");
}

/// A timestamp's microseconds since PostgreSQL's epoch as a time point of
/// `TimePoint`'s clock and duration: 'infinity' as max(), '-infinity' as
/// min(), finer durations exact, coarser ones truncated toward zero (as
/// time_point_cast). Throws interface_error when the instant is outside
/// what TimePoint can hold (a far date as nanoseconds, say).
template <class TimePoint>
TimePoint time_point_from_pg(std::int64_t micros, std::string_view pg_type, std::string_view cpp_type) {
    using duration = typename TimePoint::duration;
    using rep = typename duration::rep;
    if (micros == pg_time_infinity) {
        return TimePoint::max();
    }
    if (micros == pg_time_minus_infinity) {
        return TimePoint::min();
    }
    std::int64_t unix_micros = 0;
    if (__builtin_add_overflow(micros, pg_epoch_unix_micros, &unix_micros)) {
        throw_time_range(pg_type, cpp_type);
    }
    const std::chrono::microseconds since_unix(unix_micros);
    if constexpr (!std::is_floating_point_v<rep>) {
        // In long double (exact to 2^64 on x86-64), so the check itself cannot overflow.
        const long double ticks = std::chrono::duration<long double, typename duration::period>(since_unix).count();
        if (ticks >= static_cast<long double>(std::numeric_limits<rep>::max()) ||
            ticks <= static_cast<long double>(std::numeric_limits<rep>::lowest())) {
            throw_time_range(pg_type, cpp_type);
        }
    }
    return TimePoint(std::chrono::duration_cast<duration>(since_unix));
}

/// The other way: microseconds since PostgreSQL's epoch, floored; max() and
/// min() as 'infinity' and '-infinity'. Throws interface_error for an
/// instant whose microseconds since 1970 or since 2000 pass 64 bits (after
/// about year 294,247; PostgreSQL itself stops at 294,276).
template <class TimePoint>
std::int64_t time_point_to_pg(TimePoint value, std::string_view pg_type, std::string_view cpp_type) {
    if (value == TimePoint::max()) {
        return pg_time_infinity;
    }
    if (value == TimePoint::min()) {
        return pg_time_minus_infinity;
    }
    // Both counts must fit 64 bits: the time point's in microseconds (the
    // floor below) and PostgreSQL's, 30 years off it.
    const long double unix_micros = std::chrono::duration<long double, std::micro>(value.time_since_epoch()).count();
    const long double pg_micros = unix_micros - static_cast<long double>(pg_epoch_unix_micros);
    const auto top = static_cast<long double>(pg_time_infinity);
    const auto bottom = static_cast<long double>(pg_time_minus_infinity);
    if (unix_micros >= top || unix_micros <= bottom || pg_micros >= top || pg_micros <= bottom) {
        throw_pg_range(pg_type, cpp_type);
    }
    const auto since_unix = std::chrono::floor<std::chrono::microseconds>(value.time_since_epoch());
    return since_unix.count() - pg_epoch_unix_micros;
}

template <class Integer, detail::oid_t Oid>
struct integer_codec {
    static constexpr detail::oid_t type_oid = Oid;
    static constexpr bool binary = true;
    static constexpr std::string_view cpp_name = sizeof(Integer) == 2   ? "std::int16_t"
                                                 : sizeof(Integer) == 4 ? "std::int32_t"
                                                                        : "std::int64_t";
    static void encode(Integer value, std::string& out) {
        put_be(out, static_cast<std::make_unsigned_t<Integer>>(value));
    }
    // Reads any integer column whose values always fit.
    static bool accepts(oid_t type) noexcept {
        return (type == oids::int2) || (type == oids::int4 && sizeof(Integer) >= 4) ||
               (type == oids::oid && sizeof(Integer) >= 8) || (type == oids::int8 && sizeof(Integer) >= 8);
    }
    static Integer decode(std::string_view bytes, oid_t) {
        switch (bytes.size()) {
            case 2: return static_cast<Integer>(static_cast<std::int16_t>(get_be<std::uint16_t>(bytes.data())));
            case 4:
                return static_cast<Integer>(static_cast<std::int32_t>(get_be<std::uint32_t>(bytes.data())));
            case 8:
                return static_cast<Integer>(static_cast<std::int64_t>(get_be<std::uint64_t>(bytes.data())));
            default: throw_malformed("integer");
        }
    }
};

inline bool is_text_type(oid_t type) noexcept {
    return type == oids::text || type == oids::varchar || type == oids::bpchar || type == oids::name ||
           type == oids::json || type == oids::unknown;
}

}  // namespace detail

/// @cond
// The specializations, listed in codec's comment.
template <>
struct codec<bool> {
    static constexpr detail::oid_t type_oid = detail::oids::boolean;
    static constexpr bool binary = true;
    static constexpr std::string_view cpp_name = "bool";
    static void encode(bool value, std::string& out) { out += value ? '\1' : '\0'; }
    static bool accepts(detail::oid_t type) noexcept { return type == detail::oids::boolean; }
    static bool decode(std::string_view bytes, detail::oid_t) {
        if (bytes.size() != 1) {
            detail::throw_malformed("boolean");
        }
        return bytes[0] != 0;
    }
};

template <>
struct codec<std::int16_t> : detail::integer_codec<std::int16_t, detail::oids::int2> {};
template <>
struct codec<std::int32_t> : detail::integer_codec<std::int32_t, detail::oids::int4> {};
template <>
struct codec<std::int64_t> : detail::integer_codec<std::int64_t, detail::oids::int8> {};
// `long long` where std::int64_t is `long` (and the reverse), so literals work.
template <class T>
struct codec<T, std::enable_if_t<std::is_integral_v<T> && std::is_signed_v<T> && sizeof(T) == 8 &&
                                 !std::is_same_v<T, std::int64_t>>>
    : detail::integer_codec<T, detail::oids::int8> {};

template <>
struct codec<float> {
    static constexpr detail::oid_t type_oid = detail::oids::float4;
    static constexpr bool binary = true;
    static constexpr std::string_view cpp_name = "float";
    static void encode(float value, std::string& out) {
        std::uint32_t bits = 0;
        std::memcpy(&bits, &value, sizeof bits);
        detail::put_be(out, bits);
    }
    static bool accepts(detail::oid_t type) noexcept { return type == detail::oids::float4; }
    static float decode(std::string_view bytes, detail::oid_t) {
        if (bytes.size() != 4) {
            detail::throw_malformed("real");
        }
        const auto bits = detail::get_be<std::uint32_t>(bytes.data());
        float value = 0;
        std::memcpy(&value, &bits, sizeof value);
        return value;
    }
};

template <>
struct codec<double> {
    static constexpr detail::oid_t type_oid = detail::oids::float8;
    static constexpr bool binary = true;
    static constexpr std::string_view cpp_name = "double";
    static void encode(double value, std::string& out) {
        std::uint64_t bits = 0;
        std::memcpy(&bits, &value, sizeof bits);
        detail::put_be(out, bits);
    }
    static bool accepts(detail::oid_t type) noexcept {
        return type == detail::oids::float8 || type == detail::oids::float4;
    }
    static double decode(std::string_view bytes, detail::oid_t type) {
        if (type == detail::oids::float4) {
            return codec<float>::decode(bytes, type);
        }
        if (bytes.size() != 8) {
            detail::throw_malformed("double precision");
        }
        const auto bits = detail::get_be<std::uint64_t>(bytes.data());
        double value = 0;
        std::memcpy(&value, &bits, sizeof value);
        return value;
    }
};

// Strings go as untyped text, so the server gives them the type the statement
// needs (text, varchar, json, jsonb, numeric, uuid, an enum...).
template <>
struct codec<std::string_view> {
    static constexpr detail::oid_t type_oid = detail::oids::unknown;
    static constexpr detail::oid_t element_oid = detail::oids::text;  // as an array element
    static constexpr bool binary = false;
    static constexpr std::string_view cpp_name = "std::string_view";
    static void encode(std::string_view value, std::string& out) { out.append(value); }
    static bool accepts(detail::oid_t type) noexcept {
        return detail::is_text_type(type) || type == detail::oids::jsonb;
    }
    static std::string_view decode(std::string_view bytes, detail::oid_t type) {
        if (type == detail::oids::jsonb) {
            // Binary jsonb is a version byte (1) and the text.
            if (bytes.empty() || bytes[0] != 1) {
                detail::throw_malformed("jsonb");
            }
            bytes.remove_prefix(1);
        }
        return bytes;
    }
};

template <>
struct codec<std::string> {
    static constexpr detail::oid_t type_oid = detail::oids::unknown;
    static constexpr detail::oid_t element_oid = detail::oids::text;
    static constexpr bool binary = false;
    static constexpr std::string_view cpp_name = "std::string";
    static void encode(const std::string& value, std::string& out) { out.append(value); }
    // Also the text of numeric and uuid columns.
    static bool accepts(detail::oid_t type) noexcept {
        return codec<std::string_view>::accepts(type) || type == detail::oids::numeric ||
               type == detail::oids::uuid;
    }
    static std::string decode(std::string_view bytes, detail::oid_t type);
};

template <>
struct codec<const char*> {
    static constexpr detail::oid_t type_oid = detail::oids::unknown;
    static constexpr bool binary = false;
    static void encode(const char* value, std::string& out) { out.append(value); }
};

template <>
struct codec<std::vector<std::byte>> {
    static constexpr detail::oid_t type_oid = detail::oids::bytea;
    static constexpr bool binary = true;
    static constexpr std::string_view cpp_name = "std::vector<std::byte>";
    static void encode(const std::vector<std::byte>& value, std::string& out) {
        out.append(reinterpret_cast<const char*>(value.data()), value.size());
    }
    static bool accepts(detail::oid_t type) noexcept { return type == detail::oids::bytea; }
    static std::vector<std::byte> decode(std::string_view bytes, detail::oid_t) {
        const auto* first = reinterpret_cast<const std::byte*>(bytes.data());
        return {first, first + bytes.size()};
    }
};

template <>
struct codec<uuid> {
    static constexpr detail::oid_t type_oid = detail::oids::uuid;
    static constexpr bool binary = true;
    static constexpr std::string_view cpp_name = "corio::pg::uuid";
    static void encode(const uuid& value, std::string& out) {
        out.append(reinterpret_cast<const char*>(value.bytes.data()), value.bytes.size());
    }
    static bool accepts(detail::oid_t type) noexcept { return type == detail::oids::uuid; }
    static uuid decode(std::string_view bytes, detail::oid_t) {
        if (bytes.size() != 16) {
            detail::throw_malformed("uuid");
        }
        uuid value;
        std::memcpy(value.bytes.data(), bytes.data(), 16);
        return value;
    }
};

template <>
struct codec<numeric> {
    static constexpr detail::oid_t type_oid = detail::oids::numeric;
    static constexpr bool binary = false;  // sent as text: the server parses it exactly
    static constexpr std::string_view cpp_name = "corio::pg::numeric";
    static void encode(const numeric& value, std::string& out) { out.append(value.text); }
    static bool accepts(detail::oid_t type) noexcept { return type == detail::oids::numeric; }
    static numeric decode(std::string_view bytes, detail::oid_t) {
        numeric value;
        if (!detail::numeric_to_string(bytes, value.text)) {
            detail::throw_malformed("numeric");
        }
        return value;
    }
};

template <>
struct codec<json> {
    static constexpr detail::oid_t type_oid = detail::oids::json;
    static constexpr bool binary = false;
    static constexpr std::string_view cpp_name = "corio::pg::json";
    static void encode(const json& value, std::string& out) { out.append(value.text); }
    static bool accepts(detail::oid_t type) noexcept {
        return type == detail::oids::json || type == detail::oids::jsonb;
    }
    static json decode(std::string_view bytes, detail::oid_t type) {
        return json{std::string(codec<std::string_view>::decode(bytes, type))};
    }
};

template <>
struct codec<jsonb> {
    static constexpr detail::oid_t type_oid = detail::oids::jsonb;
    static constexpr bool binary = false;
    static constexpr std::string_view cpp_name = "corio::pg::jsonb";
    static void encode(const jsonb& value, std::string& out) { out.append(value.text); }
    static bool accepts(detail::oid_t type) noexcept { return codec<json>::accepts(type); }
    static jsonb decode(std::string_view bytes, detail::oid_t type) {
        return jsonb{std::string(codec<std::string_view>::decode(bytes, type))};
    }
};

template <>
struct codec<date> {
    static constexpr detail::oid_t type_oid = detail::oids::date;
    static constexpr bool binary = true;
    static constexpr std::string_view cpp_name = "std::chrono::sys_days";
    // 'infinity' and '-infinity' are date::max() and date::min(), as for timestamps.
    static void encode(date value, std::string& out) {
        std::int32_t days = 0;
        if (value == date::max()) {
            days = std::numeric_limits<std::int32_t>::max();
        } else if (value == date::min()) {
            days = std::numeric_limits<std::int32_t>::min();
        } else {
            // Compared before subtracting, which could overflow near min().
            constexpr auto last = std::chrono::days(std::numeric_limits<std::int32_t>::max());
            constexpr auto first = std::chrono::days(std::numeric_limits<std::int32_t>::min());
            if (value >= detail::postgres_epoch + last || value <= detail::postgres_epoch + first) {
                detail::throw_pg_range("date", cpp_name);
            }
            days = static_cast<std::int32_t>((value - detail::postgres_epoch).count());
        }
        detail::put_be(out, static_cast<std::uint32_t>(days));
    }
    static bool accepts(detail::oid_t type) noexcept { return type == detail::oids::date; }
    static date decode(std::string_view bytes, detail::oid_t) {
        if (bytes.size() != 4) {
            detail::throw_malformed("date");
        }
        const auto days = static_cast<std::int32_t>(detail::get_be<std::uint32_t>(bytes.data()));
        if (days == std::numeric_limits<std::int32_t>::max()) {
            return date::max();
        }
        if (days == std::numeric_limits<std::int32_t>::min()) {
            return date::min();
        }
        return detail::postgres_epoch + std::chrono::days(days);
    }
};

// Any system_clock time point (std::chrono::system_clock::now() included) is a
// timestamptz, kept to the microsecond (PostgreSQL's resolution).
template <class Duration>
struct codec<std::chrono::sys_time<Duration>,
             std::enable_if_t<!std::is_same_v<Duration, std::chrono::days>>> {
    static constexpr detail::oid_t type_oid = detail::oids::timestamptz;
    static constexpr bool binary = true;
    static constexpr std::string_view cpp_name = "std::chrono::sys_time";
    static void encode(std::chrono::sys_time<Duration> value, std::string& out) {
        detail::put_be(out, static_cast<std::uint64_t>(detail::time_point_to_pg(value, "timestamptz", cpp_name)));
    }
    static bool accepts(detail::oid_t type) noexcept { return type == detail::oids::timestamptz; }
    static std::chrono::sys_time<Duration> decode(std::string_view bytes, detail::oid_t) {
        if (bytes.size() != 8) {
            detail::throw_malformed("timestamptz");
        }
        const auto micros = static_cast<std::int64_t>(detail::get_be<std::uint64_t>(bytes.data()));
        return detail::time_point_from_pg<std::chrono::sys_time<Duration>>(micros, "timestamptz", cpp_name);
    }
};

template <class Duration>
struct codec<std::chrono::local_time<Duration>> {
    static constexpr detail::oid_t type_oid = detail::oids::timestamp;
    static constexpr bool binary = true;
    static constexpr std::string_view cpp_name = "std::chrono::local_time";
    static void encode(std::chrono::local_time<Duration> value, std::string& out) {
        detail::put_be(out, static_cast<std::uint64_t>(detail::time_point_to_pg(value, "timestamp", cpp_name)));
    }
    static bool accepts(detail::oid_t type) noexcept { return type == detail::oids::timestamp; }
    static std::chrono::local_time<Duration> decode(std::string_view bytes, detail::oid_t) {
        if (bytes.size() != 8) {
            detail::throw_malformed("timestamp");
        }
        const auto micros = static_cast<std::int64_t>(detail::get_be<std::uint64_t>(bytes.data()));
        return detail::time_point_from_pg<std::chrono::local_time<Duration>>(micros, "timestamp", cpp_name);
    }
};

/// std::optional<T>: NULL when empty.
template <class T>
struct codec<std::optional<T>> : codec<T> {};

namespace detail {

template <class T>
struct is_byte_vector : std::is_same<T, std::vector<std::byte>> {};

/// The OID a value of T has as an array element (strings are `text` there).
template <class T>
constexpr oid_t element_oid() {
    if constexpr (requires { codec<T>::element_oid; }) {
        return codec<T>::element_oid;
    } else {
        return codec<T>::type_oid;
    }
}

template <class T>
constexpr oid_t array_oid_of() {
    constexpr oid_t element = element_oid<T>();
    switch (element) {
        case oids::boolean: return oids::bool_array;
        case oids::bytea: return oids::bytea_array;
        case oids::int2: return oids::int2_array;
        case oids::int4: return oids::int4_array;
        case oids::int8: return oids::int8_array;
        case oids::text: return oids::text_array;
        case oids::float4: return oids::float4_array;
        case oids::float8: return oids::float8_array;
        case oids::date: return oids::date_array;
        case oids::timestamp: return oids::timestamp_array;
        case oids::timestamptz: return oids::timestamptz_array;
        case oids::numeric: return oids::numeric_array;
        case oids::uuid: return oids::uuid_array;
        case oids::json: return oids::json_array;
        case oids::jsonb: return oids::jsonb_array;
        default: return oids::unknown;
    }
}

}  // namespace detail

/// One-dimensional arrays: std::vector<T> (std::optional<T> elements hold NULLs).
template <class T>
struct codec<std::vector<T>, std::enable_if_t<!std::is_same_v<T, std::byte>>> {
    using element = std::remove_cvref_t<T>;
    using value_codec = codec<element>;
    static constexpr detail::oid_t type_oid = detail::array_oid_of<element>();
    static constexpr bool binary = true;
    static constexpr std::string_view cpp_name = "std::vector";
    static_assert(type_oid != detail::oids::unknown, "corio::pg: no array type for this element type");

    static void encode(const std::vector<T>& values, std::string& out) {
        constexpr detail::oid_t element_type = detail::element_oid<element>();
        bool has_null = false;
        if constexpr (is_optional) {
            for (const auto& value : values) {
                has_null = has_null || !value.has_value();
            }
        }
        detail::put_be(out, std::uint32_t{1});  // dimensions
        detail::put_be(out, std::uint32_t{has_null ? 1U : 0U});
        detail::put_be(out, std::uint32_t{element_type});
        detail::put_be(out, static_cast<std::uint32_t>(values.size()));
        detail::put_be(out, std::uint32_t{1});  // lower bound
        for (const auto& value : values) {
            if constexpr (is_optional) {
                if (!value.has_value()) {
                    detail::put_be(out, static_cast<std::uint32_t>(-1));
                    continue;
                }
            }
            const std::size_t length_at = out.size();
            detail::put_be(out, std::uint32_t{0});
            if constexpr (is_optional) {
                value_codec::encode(*value, out);
            } else {
                value_codec::encode(value, out);
            }
            std::string length;
            detail::put_be(length, static_cast<std::uint32_t>(out.size() - length_at - 4));
            out.replace(length_at, 4, length);
        }
    }

    static bool accepts(detail::oid_t type) noexcept { return detail::is_array_type(type); }

    static std::vector<T> decode(std::string_view bytes, detail::oid_t) {
        detail::be_reader reader(bytes);
        std::int32_t dimensions = 0, flags = 0;
        std::uint32_t element_type = 0;
        if (!reader.read(dimensions) || !reader.read(flags) || !reader.read(element_type) || dimensions < 0 ||
            dimensions > 1) {
            detail::throw_malformed(dimensions > 1 ? "array (more than one dimension)" : "array");
        }
        std::vector<T> values;
        if (dimensions == 0) {
            return values;
        }
        if (!value_codec::accepts(element_type)) {
            throw type_mismatch_error("corio::pg: array of " + detail::type_name(element_type) +
                                      " cannot be read as a vector of " + std::string(value_codec::cpp_name));
        }
        std::int32_t count = 0, lower_bound = 0;
        // Each element takes at least its 4-byte length: a count the bytes
        // cannot hold is malformed (and must not size the vector).
        if (!reader.read(count) || !reader.read(lower_bound) || count < 0 ||
            static_cast<std::size_t>(count) > reader.remaining() / 4) {
            detail::throw_malformed("array");
        }
        values.reserve(static_cast<std::size_t>(count));
        for (std::int32_t i = 0; i < count; ++i) {
            std::int32_t length = 0;
            if (!reader.read(length)) {
                detail::throw_malformed("array");
            }
            if (length < 0) {
                if constexpr (is_optional) {
                    values.emplace_back(std::nullopt);
                    continue;
                } else {
                    throw null_value_error("corio::pg: array element " + std::to_string(i + 1) +
                                           " is NULL: read it as a vector of std::optional");
                }
            }
            std::string_view element_bytes;
            if (!reader.read_bytes(static_cast<std::size_t>(length), element_bytes)) {
                detail::throw_malformed("array");
            }
            values.emplace_back(value_codec::decode(element_bytes, element_type));
        }
        return values;
    }

private:
    template <class U>
    struct optional_of : std::false_type {};
    template <class U>
    struct optional_of<std::optional<U>> : std::true_type {};
    static constexpr bool is_optional = optional_of<element>::value;
};

inline std::string codec<std::string>::decode(std::string_view bytes, detail::oid_t type) {
    if (type == detail::oids::numeric) {
        return codec<numeric>::decode(bytes, type).text;
    }
    if (type == detail::oids::uuid) {
        return codec<uuid>::decode(bytes, type).to_string();
    }
    return std::string(codec<std::string_view>::decode(bytes, type));
}
/// @endcond

}  // namespace corio::pg
