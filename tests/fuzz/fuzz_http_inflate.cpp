// libFuzzer target for the HTTP client's Content-Encoding decoder
// (corio/http/detail/inflate.hpp). Byte 0 is the configuration, byte 1
// seeds where the input is cut (as a socket might split a body), byte 2
// seeds the output bound of each decode() call.
//
// - Bit 1 of byte 0 clear: the rest is a body as a server might send it,
//   decoded as gzip (bit 0 set) or deflate. Fed whole with no output bound
//   to one decoder and cut into pieces with small bounds to another, it must
//   end the same way in both — decoded, truncated or corrupt — with the same
//   bytes out (when corrupt, one output a prefix of the other), and nothing
//   but std::runtime_error thrown.
// - Bit 1 set: the rest is a payload, compressed here with zlib (gzip, a
//   zlib stream or raw deflate by bits 2-3, level by bits 4-7, gzip in two
//   members when bit 2 is set) and decoded in pieces: it must come back
//   exactly.
// A difference traps.
#include "piece_cutter.hpp"

#include <corio/http/detail/inflate.hpp>

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

using corio::detail::http_inflater;

// Output beyond this is not decoded (a small input can expand a thousandfold).
constexpr std::size_t output_cap = 1 << 20;

struct outcome {
    std::string out;
    std::string ending;  // "decoded", "truncated", "corrupt" or "capped"
};

outcome decode(std::string_view body, http_inflater::format format, unsigned cut_seed,
               unsigned bound_seed) {
    http_inflater inflater(format);
    corio_fuzz::piece_cutter cut(cut_seed, 11);
    corio_fuzz::piece_cutter bound(bound_seed, 300);
    outcome result;
    auto decode_some = [&](std::string_view input) {
        const std::size_t room = output_cap - result.out.size();
        const std::size_t before = result.out.size();
        const std::size_t got = inflater.decode(input, result.out, bound.next(room));
        if (got != result.out.size() - before) {
            __builtin_trap();  // decode() must report what it appended
        }
    };
    try {
        std::size_t from = 0;
        while (from < body.size()) {
            const std::size_t piece = cut.next(body.size() - from);
            decode_some(body.substr(from, piece));
            from += piece;
            while (inflater.pending() && result.out.size() < output_cap) {
                decode_some({});
            }
            if (result.out.size() >= output_cap) {
                result.ending = "capped";
                return result;
            }
        }
        try {
            inflater.finish();
            result.ending = "decoded";
        } catch (const std::runtime_error&) {
            result.ending = "truncated";
        }
    } catch (const std::runtime_error&) {
        result.ending = "corrupt";
    }
    return result;
}

bool is_prefix(const std::string& a, const std::string& b) {
    return b.compare(0, a.size(), a) == 0;
}

void compare_whole_and_pieces(std::string_view body, http_inflater::format format,
                              unsigned cut_seed, unsigned bound_seed) {
    const outcome whole = decode(body, format, 0, 0);
    const outcome pieces =
        decode(body, format, cut_seed == 0 ? 1 : cut_seed, bound_seed == 0 ? 1 : bound_seed);
    if (whole.ending == "capped" || pieces.ending == "capped") {
        if (!is_prefix(whole.out, pieces.out) && !is_prefix(pieces.out, whole.out)) {
            __builtin_trap();
        }
        return;
    }
    if (whole.ending != pieces.ending) {
        __builtin_trap();
    }
    if (whole.ending == "corrupt"
            ? !is_prefix(whole.out, pieces.out) && !is_prefix(pieces.out, whole.out)
            : whole.out != pieces.out) {
        __builtin_trap();
    }
}

std::string compress(std::string_view payload, int window_bits, int level) {
    z_stream stream{};
    if (deflateInit2(&stream, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        __builtin_trap();
    }
    std::string out(deflateBound(&stream, static_cast<uLong>(payload.size())), '\0');
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(payload.data()));
    stream.avail_in = static_cast<uInt>(payload.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    if (deflate(&stream, Z_FINISH) != Z_STREAM_END) {
        __builtin_trap();
    }
    out.resize(stream.total_out);
    deflateEnd(&stream);
    return out;
}

void round_trip(std::string_view payload, unsigned config, unsigned cut_seed, unsigned bound_seed) {
    const unsigned wrapper =
        (config >> 2) & 3;  // 0, 1: gzip (1: two members), 2: zlib, 3: raw deflate
    const int level = static_cast<int>((config >> 4) % 10);
    std::string body;
    http_inflater::format format = http_inflater::format::gzip;
    if (wrapper == 0) {
        body = compress(payload, 15 + 16, level);
    } else if (wrapper == 1) {
        const std::size_t half = payload.size() / 2;
        body = compress(payload.substr(0, half), 15 + 16, level) +
               compress(payload.substr(half), 15 + 16, level);
    } else {
        format = http_inflater::format::deflate;
        body = compress(payload, wrapper == 2 ? 15 : -15, level);
    }
    const outcome decoded = decode(body, format, cut_seed, bound_seed == 0 ? 1 : bound_seed);
    if (decoded.ending != "decoded" || decoded.out != payload) {
        __builtin_trap();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 3) {
        return 0;
    }
    const unsigned config = data[0];
    const std::string_view rest(reinterpret_cast<const char*>(data + 3), size - 3);
    if ((config & 2) != 0) {
        round_trip(rest, config, data[1], data[2]);
    } else {
        compare_whole_and_pieces(
            rest, (config & 1) != 0 ? http_inflater::format::gzip : http_inflater::format::deflate,
            data[1], data[2]);
    }
    return 0;
}
