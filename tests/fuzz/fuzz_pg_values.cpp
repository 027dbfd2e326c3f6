// libFuzzer target for corio::pg's binary value decoders
// (corio/pg/types.hpp): what a server, or something posing as one, sends
// as a column's bytes. Byte 0 picks the C++ type to read as (and the column
// type OID it is read from); the rest are the value's bytes. Decoding must
// give a value or throw corio::pg::error (malformed, out of range, NULL in
// an array of non-optionals); anything else — another exception, a sanitizer
// report, an allocation sized by an unchecked count — fails. Where a value
// comes out, encoding it again must not throw for the fixed-size types whose
// encoding is the inverse of their decoding, and must give the same bytes.
#include <corio/pg/types.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace pg = corio::pg;
namespace oids = corio::pg::detail::oids;

template <class T>
void decode(std::string_view bytes, pg::detail::oid_t type) {
    (void)pg::codec<T>::decode(bytes, type);
}

// Decoding then encoding gives the bytes back (types with one encoding per value).
template <class T>
void round_trip(std::string_view bytes, pg::detail::oid_t type) {
    const T value = pg::codec<T>::decode(bytes, type);
    std::string again;
    pg::codec<T>::encode(value, again);
    if (again != bytes) {
        __builtin_trap();
    }
}

void read_as(unsigned choice, std::string_view bytes) {
    using namespace std::chrono;
    switch (choice % 24) {
        case 0: return round_trip<std::int16_t>(bytes.substr(0, 2), oids::int2);
        case 1:  // an int4 column; 2 bytes would be an int2 one, encoded back in 4
            return bytes.size() >= 4 ? round_trip<std::int32_t>(bytes.substr(0, 4), oids::int4)
                                     : decode<std::int32_t>(bytes, oids::int4);
        case 2: return decode<std::int64_t>(bytes, oids::int8);
        case 3: return decode<bool>(bytes, oids::boolean);
        case 4: return decode<float>(bytes, oids::float4);
        case 5: return decode<double>(bytes, oids::float8);
        case 6: return decode<std::string>(bytes, oids::numeric);
        case 7: return decode<std::string>(bytes, oids::uuid);
        case 8: return decode<pg::numeric>(bytes, oids::numeric);
        case 9: return decode<pg::uuid>(bytes, oids::uuid);
        case 10: return decode<pg::jsonb>(bytes, oids::jsonb);
        case 11: return decode<std::vector<std::byte>>(bytes, oids::bytea);
        case 12: return round_trip<pg::date>(bytes, oids::date);
        case 13: return round_trip<pg::timestamptz>(bytes, oids::timestamptz);
        case 14: return round_trip<pg::timestamp>(bytes, oids::timestamp);
        case 15: return decode<sys_time<nanoseconds>>(bytes, oids::timestamptz);
        case 16: return decode<local_time<seconds>>(bytes, oids::timestamp);
        case 17: return decode<sys_time<duration<double>>>(bytes, oids::timestamptz);
        case 18: return decode<std::vector<std::int32_t>>(bytes, oids::int4_array);
        case 19: return decode<std::vector<std::optional<std::string>>>(bytes, oids::text_array);
        case 20: return decode<std::vector<pg::numeric>>(bytes, oids::numeric_array);
        case 21: return decode<std::vector<std::optional<pg::timestamptz>>>(bytes, oids::timestamptz_array);
        case 22: return decode<std::vector<sys_time<nanoseconds>>>(bytes, oids::timestamptz_array);
        default: return decode<std::vector<std::vector<std::byte>>>(bytes, oids::bytea_array);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) {
        return 0;
    }
    const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
    try {
        read_as(data[0], bytes);
    } catch (const pg::error&) {
    }
    return 0;
}
