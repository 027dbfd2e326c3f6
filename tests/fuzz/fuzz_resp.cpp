// libFuzzer target for the RESP2/RESP3 reply parser
// (corio/redis/detail/resp_parser.hpp). Byte 0 seeds where the input is cut
// (as a socket might split it), bit 7 of byte 1 picks small limits. The rest
// is fed whole to one parser and in pieces to another; both must produce the
// same replies and fail (or not) the same way, with nothing but
// protocol_error ever thrown. A difference traps.
#include "piece_cutter.hpp"

#include <corio/redis/detail/resp_parser.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct outcome {
    std::vector<corio::redis::value> replies;
    bool failed = false;
    std::size_t unused = 0;  // bytes left at the end (an incomplete reply)
};

outcome parse(std::string_view input, const corio::redis::detail::resp_limits& limits, unsigned seed) {
    corio::redis::detail::resp_parser parser(limits);
    outcome out;
    std::string buffer;
    std::size_t from = 0;
    corio_fuzz::piece_cutter cut(seed, 7);
    try {
        while (from < input.size()) {
            const std::size_t piece = cut.next(input.size() - from);
            buffer.append(input.substr(from, piece));
            from += piece;
            for (;;) {
                const std::size_t used = parser.feed(buffer);
                buffer.erase(0, used);
                if (!parser.ready()) {
                    break;
                }
                out.replies.push_back(parser.take());
            }
        }
    } catch (const corio::redis::protocol_error&) {
        out.failed = true;
    }
    out.unused = buffer.size();
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    const unsigned seed = data[0];
    corio::redis::detail::resp_limits limits;
    if ((data[1] & 0x80) != 0) {
        limits.max_depth = 4;
        limits.max_bulk_length = 64;
        limits.max_aggregate_length = 16;
        limits.max_line_length = 32;
    }
    const std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);
    const outcome whole = parse(input, limits, 0);
    const outcome split = parse(input, limits, seed == 0 ? 1 : seed);
    if (whole.failed != split.failed || whole.replies != split.replies) {
        __builtin_trap();
    }
    if (!whole.failed && whole.unused != split.unused) {
        __builtin_trap();
    }
    return 0;
}
