#pragma once

// Byte-level helpers for PostgreSQL's binary formats: network byte order,
// the type OIDs corio::pg knows, and their names for error messages.

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace corio::pg::detail {

using oid_t = unsigned int;  // libpq's Oid

// The built-in type OIDs (src/include/catalog/pg_type.dat); stable across versions.
namespace oids {
inline constexpr oid_t unknown = 0, boolean = 16, bytea = 17, name = 19, int8 = 20, int2 = 21, int4 = 23,
                       text = 25, oid = 26, json = 114, float4 = 700, float8 = 701, bpchar = 1042,
                       varchar = 1043, date = 1082, timestamp = 1114, timestamptz = 1184, numeric = 1700,
                       uuid = 2950, jsonb = 3802;
inline constexpr oid_t json_array = 199, bool_array = 1000, bytea_array = 1001, name_array = 1003,
                       int2_array = 1005, int4_array = 1007, text_array = 1009, bpchar_array = 1014,
                       varchar_array = 1015, int8_array = 1016, float4_array = 1021, float8_array = 1022,
                       timestamp_array = 1115, date_array = 1182, timestamptz_array = 1185,
                       numeric_array = 1231, uuid_array = 2951, jsonb_array = 3807;
}  // namespace oids

/// The SQL name of a type OID, for messages ("oid 1234" for one corio does not know).
inline std::string type_name(oid_t type) {
    switch (type) {
        case oids::unknown: return "unknown";
        case oids::boolean: return "boolean";
        case oids::bytea: return "bytea";
        case oids::name: return "name";
        case oids::int8: return "bigint";
        case oids::int2: return "smallint";
        case oids::int4: return "integer";
        case oids::text: return "text";
        case oids::oid: return "oid";
        case oids::json: return "json";
        case oids::float4: return "real";
        case oids::float8: return "double precision";
        case oids::bpchar: return "character";
        case oids::varchar: return "character varying";
        case oids::date: return "date";
        case oids::timestamp: return "timestamp without time zone";
        case oids::timestamptz: return "timestamp with time zone";
        case oids::numeric: return "numeric";
        case oids::uuid: return "uuid";
        case oids::jsonb: return "jsonb";
        case oids::json_array: return "json[]";
        case oids::bool_array: return "boolean[]";
        case oids::bytea_array: return "bytea[]";
        case oids::name_array: return "name[]";
        case oids::int2_array: return "smallint[]";
        case oids::int4_array: return "integer[]";
        case oids::text_array: return "text[]";
        case oids::bpchar_array: return "character[]";
        case oids::varchar_array: return "character varying[]";
        case oids::int8_array: return "bigint[]";
        case oids::float4_array: return "real[]";
        case oids::float8_array: return "double precision[]";
        case oids::timestamp_array: return "timestamp without time zone[]";
        case oids::date_array: return "date[]";
        case oids::timestamptz_array: return "timestamp with time zone[]";
        case oids::numeric_array: return "numeric[]";
        case oids::uuid_array: return "uuid[]";
        case oids::jsonb_array: return "jsonb[]";
        default: return "oid " + std::to_string(type);
    }
}

/// Whether `type` is an array type corio::pg decodes (any of the above).
inline bool is_array_type(oid_t type) {
    switch (type) {
        case oids::json_array: case oids::bool_array: case oids::bytea_array: case oids::name_array:
        case oids::int2_array: case oids::int4_array: case oids::text_array: case oids::bpchar_array:
        case oids::varchar_array: case oids::int8_array: case oids::float4_array: case oids::float8_array:
        case oids::timestamp_array: case oids::date_array: case oids::timestamptz_array:
        case oids::numeric_array: case oids::uuid_array: case oids::jsonb_array:
            return true;
        default:
            return false;
    }
}

template <class U>
inline void put_be(std::string& out, U value) {
    char bytes[sizeof(U)];
    for (std::size_t i = 0; i < sizeof(U); ++i) {
        bytes[sizeof(U) - 1 - i] = static_cast<char>(static_cast<unsigned char>(value >> (8 * i)));
    }
    out.append(bytes, sizeof(U));
}

template <class U>
[[nodiscard]] inline U get_be(const char* data) noexcept {
    // One load and a byte swap (the shift loop was not folded into one by g++).
    using raw_type = std::make_unsigned_t<U>;
    raw_type raw = 0;
    std::memcpy(&raw, data, sizeof raw);
    if constexpr (std::endian::native == std::endian::little) {
        if constexpr (sizeof(raw_type) == 2) {
            raw = __builtin_bswap16(raw);
        } else if constexpr (sizeof(raw_type) == 4) {
            raw = __builtin_bswap32(raw);
        } else if constexpr (sizeof(raw_type) == 8) {
            raw = __builtin_bswap64(raw);
        }
    }
    return static_cast<U>(raw);
}

/// Reads fixed-size big-endian fields from a value, bounds-checked.
class be_reader {
public:
    explicit be_reader(std::string_view bytes) noexcept : m_bytes(bytes) {}

    template <class U>
    [[nodiscard]] bool read(U& value) noexcept {
        if (m_bytes.size() < sizeof(U)) {
            return false;
        }
        value = get_be<U>(m_bytes.data());
        m_bytes.remove_prefix(sizeof(U));
        return true;
    }
    [[nodiscard]] bool read_bytes(std::size_t size, std::string_view& out) noexcept {
        if (m_bytes.size() < size) {
            return false;
        }
        out = m_bytes.substr(0, size);
        m_bytes.remove_prefix(size);
        return true;
    }
    [[nodiscard]] bool empty() const noexcept { return m_bytes.empty(); }
    /// Bytes not read yet.
    [[nodiscard]] std::size_t remaining() const noexcept { return m_bytes.size(); }

private:
    std::string_view m_bytes;
};

/// The text of a binary numeric (sign, base-10000 digits, weight, display scale).
inline bool numeric_to_string(std::string_view bytes, std::string& out) {
    be_reader reader(bytes);
    std::int16_t ndigits = 0, weight = 0, dscale = 0;
    std::uint16_t sign = 0;
    if (!reader.read(ndigits) || !reader.read(weight) || !reader.read(sign) || !reader.read(dscale) ||
        ndigits < 0 || dscale < 0) {
        return false;
    }
    switch (sign) {
        case 0xC000: out = "NaN"; return true;
        case 0xD000: out = "Infinity"; return true;
        case 0xF000: out = "-Infinity"; return true;
        case 0x0000: case 0x4000: break;
        default: return false;
    }
    std::string digits_storage;
    std::vector<std::int16_t> digits(static_cast<std::size_t>(ndigits));
    for (auto& digit : digits) {
        if (!reader.read(digit) || digit < 0 || digit > 9999) {
            return false;
        }
    }
    auto digit_at = [&](int index) -> int {
        return index >= 0 && index < ndigits ? digits[static_cast<std::size_t>(index)] : 0;
    };
    out.clear();
    if (sign == 0x4000) {
        out += '-';
    }
    if (weight < 0) {
        out += '0';
    } else {
        for (int i = 0; i <= weight; ++i) {
            std::string group = std::to_string(digit_at(i));
            if (i > 0) {
                group.insert(0, 4 - group.size(), '0');
            }
            out += group;
        }
    }
    if (dscale > 0) {
        std::string fraction;
        for (int i = weight + 1; static_cast<int>(fraction.size()) < dscale; ++i) {
            std::string group = std::to_string(digit_at(i));
            group.insert(0, 4 - group.size(), '0');
            fraction += group;
        }
        fraction.resize(static_cast<std::size_t>(dscale));
        out += '.';
        out += fraction;
    }
    return true;
}

}  // namespace corio::pg::detail
