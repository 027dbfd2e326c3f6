// libFuzzer target for the WebSocket codec (http/detail/websocket_frame.hpp,
// websocket_deflate.hpp): frames are parsed from the input one after another
// as the engine does; each header must re-serialize to the bytes it came
// from (when minimal), masking by words must equal masking byte by byte at
// the frame's offset, the incremental UTF-8 validator split at an
// input-chosen point must agree with a byte-at-a-time reference, and RSV1
// payloads go through the bounded inflater (its output never past the limit).
#include <corio/http/detail/websocket_deflate.hpp>
#include <corio/http/detail/websocket_frame.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace ws = corio::detail::ws;

namespace {

// A plain reference decoder: true when `s` is valid UTF-8 (RFC 3629).
bool reference_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::uint32_t cp = 0;
        std::size_t n = 0;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            cp = c & 0x1F;
            n = 1;
        } else if ((c & 0xF0) == 0xE0) {
            cp = c & 0x0F;
            n = 2;
        } else if ((c & 0xF8) == 0xF0) {
            cp = c & 0x07;
            n = 3;
        } else {
            return false;
        }
        for (std::size_t k = 1; k <= n; ++k) {
            if (i + k >= s.size()) {
                return false;
            }
            const auto d = static_cast<unsigned char>(s[i + k]);
            if ((d & 0xC0) != 0x80) {
                return false;
            }
            cp = cp << 6 | (d & 0x3F);
        }
        const std::uint32_t min = n == 1 ? 0x80 : n == 2 ? 0x800 : 0x10000;
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return false;
        }
        i += n + 1;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) {
        return 0;
    }
    const std::size_t split_seed = data[0];
    std::string input(reinterpret_cast<const char*>(data + 1), size - 1);
#if defined(CORIO_WITH_ZLIB)
    ws::inflater inflate(9 + static_cast<int>(split_seed % 7), (split_seed & 0x80) != 0);
    std::string inflated;
#endif
    std::size_t at = 0;
    while (at < input.size()) {
        auto* bytes = reinterpret_cast<unsigned char*>(input.data() + at);
        const std::size_t left = input.size() - at;
        ws::frame_header h;
        const ws::header_result r = ws::parse_header(bytes, left, h);
        if (r.size == 0) {
            break;
        }
        if (r.size > left || r.size > ws::max_header_size) {
            __builtin_trap();
        }
        if (r.error != ws::header_error::none) {
            break;
        }
        // Re-serialized, a minimally encoded header gives back its bytes.
        unsigned char again[ws::max_header_size];
        const std::size_t again_size = ws::write_header(h, again);
        const bool minimal = (h.length < 126 && r.size == 2u + (h.masked ? 4u : 0u)) ||
                             (h.length >= 126 && h.length <= 0xFFFF && r.size == 4u + (h.masked ? 4u : 0u)) ||
                             (h.length > 0xFFFF && r.size == 10u + (h.masked ? 4u : 0u));
        if (minimal && (again_size != r.size || std::memcmp(again, bytes, r.size) != 0)) {
            __builtin_trap();
        }
        at += r.size;
        const std::size_t length =
            static_cast<std::size_t>(h.length < input.size() - at ? h.length : input.size() - at);
        std::string payload = input.substr(at, length);
        at += length;
        // Masking by words at an offset equals the byte-by-byte definition.
        const std::uint64_t offset = split_seed & 7;
        std::string slow = payload;
        for (std::size_t i = 0; i < slow.size(); ++i) {
            slow[i] = static_cast<char>(slow[i] ^ h.mask[(offset + i) & 3]);
        }
        ws::apply_mask(reinterpret_cast<unsigned char*>(payload.data()), payload.size(), h.mask, offset);
        if (payload != slow) {
            __builtin_trap();
        }
        // UTF-8: whole, and split anywhere, agree with the reference.
        const bool expected = reference_utf8(payload);
        if (ws::valid_utf8(payload) != expected) {
            __builtin_trap();
        }
        const std::size_t cut = payload.empty() ? 0 : split_seed % (payload.size() + 1);
        ws::utf8_validator v;
        const bool first = v.feed(std::string_view(payload).substr(0, cut));
        const bool split_ok = first && v.feed(std::string_view(payload).substr(cut)) && v.complete();
        if (split_ok != expected) {
            __builtin_trap();
        }
#if defined(CORIO_WITH_ZLIB)
        if (h.rsv1) {
            constexpr std::size_t limit = 1 << 20;
            (void)inflate.decompress(payload, inflated, limit);
            if (inflated.size() > limit + 1) {
                __builtin_trap();
            }
        }
#endif
    }
    // The extension grammar never throws anything but invalid_argument.
    try {
        (void)ws::parse_extensions(std::string_view(input).substr(0, 200));
    } catch (const std::invalid_argument&) {
    }
    return 0;
}
