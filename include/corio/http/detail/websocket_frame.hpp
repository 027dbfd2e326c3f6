#pragma once

// The WebSocket frame codec (RFC 6455 §5): frame headers read and written
// without I/O, masking whole 8-byte words at a time, an incremental UTF-8
// validator for text messages split across frames, and the masking-key
// generator. The engine in http/websocket.hpp drives it over a byte stream.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <string_view>

namespace corio::detail::ws {

/// Frame opcodes (RFC 6455 §5.2).
enum class opcode : std::uint8_t {
    continuation = 0x0,
    text = 0x1,
    binary = 0x2,
    close = 0x8,
    ping = 0x9,
    pong = 0xA,
};

[[nodiscard]] inline constexpr bool is_control(opcode op) noexcept { return (static_cast<std::uint8_t>(op) & 0x8) != 0; }

/// One frame header as read or to be written.
struct frame_header {
    bool fin = true;
    bool rsv1 = false;  // permessage-deflate's "compressed" bit on a message's first frame
    bool rsv2 = false;
    bool rsv3 = false;
    opcode op = opcode::text;
    bool masked = false;
    std::array<std::uint8_t, 4> mask{};
    std::uint64_t length = 0;  // payload length
};

/// Why a header is refused (each closes the connection with 1002, RFC 6455 §7.4.1).
enum class header_error {
    none,
    unknown_opcode,      // 0x3-0x7, 0xB-0xF
    control_too_long,    // a control frame's payload over 125 bytes (§5.5)
    control_fragmented,  // a control frame without FIN (§5.5)
    length_not_minimal_64,  // a 64-bit length with its top bit set (§5.2)
};

/// The outcome of parse_header: `size` bytes of header were read (0: more input needed).
struct header_result {
    std::size_t size = 0;
    header_error error = header_error::none;
};

/// Largest header: 2 + 8 (length) + 4 (mask).
inline constexpr std::size_t max_header_size = 14;

/// Parses the frame header at the front of `data`. Checks what the header
/// alone can tell (opcode known, control frame rules, length top bit); the
/// reserved bits, masking and sequence rules are the engine's, which knows
/// what was negotiated and which side it is.
[[nodiscard]] inline header_result parse_header(const unsigned char* data, std::size_t size, frame_header& out) noexcept {
    if (size < 2) {
        return {};
    }
    const unsigned char b0 = data[0];
    const unsigned char b1 = data[1];
    out.fin = (b0 & 0x80) != 0;
    out.rsv1 = (b0 & 0x40) != 0;
    out.rsv2 = (b0 & 0x20) != 0;
    out.rsv3 = (b0 & 0x10) != 0;
    const std::uint8_t op = b0 & 0x0F;
    out.masked = (b1 & 0x80) != 0;
    std::uint64_t length = b1 & 0x7F;
    std::size_t at = 2;
    if (length == 126) {
        if (size < 4) {
            return {};
        }
        length = static_cast<std::uint64_t>(data[2]) << 8 | data[3];
        at = 4;
    } else if (length == 127) {
        if (size < 10) {
            return {};
        }
        length = 0;
        for (std::size_t i = 0; i < 8; ++i) {
            length = length << 8 | data[2 + i];
        }
        at = 10;
        if ((length >> 63) != 0) {
            return {at, header_error::length_not_minimal_64};
        }
    }
    if (out.masked) {
        if (size < at + 4) {
            return {};
        }
        std::memcpy(out.mask.data(), data + at, 4);
        at += 4;
    }
    out.length = length;
    switch (op) {
        case 0x0:
        case 0x1:
        case 0x2:
        case 0x8:
        case 0x9:
        case 0xA:
            break;
        default:
            return {at, header_error::unknown_opcode};
    }
    out.op = static_cast<opcode>(op);
    if (is_control(out.op)) {
        if (!out.fin) {
            return {at, header_error::control_fragmented};
        }
        if (length > 125) {
            return {at, header_error::control_too_long};
        }
    }
    return {at, header_error::none};
}

/// Writes `h` into `out` (at least max_header_size bytes); returns its size.
/// The shortest length encoding is used, as §5.2 requires.
inline std::size_t write_header(const frame_header& h, unsigned char* out) noexcept {
    out[0] = static_cast<unsigned char>((h.fin ? 0x80 : 0) | (h.rsv1 ? 0x40 : 0) | (h.rsv2 ? 0x20 : 0) |
                                        (h.rsv3 ? 0x10 : 0) | static_cast<std::uint8_t>(h.op));
    const unsigned char mask_bit = h.masked ? 0x80 : 0;
    std::size_t at = 2;
    if (h.length < 126) {
        out[1] = static_cast<unsigned char>(mask_bit | h.length);
    } else if (h.length <= 0xFFFF) {
        out[1] = static_cast<unsigned char>(mask_bit | 126);
        out[2] = static_cast<unsigned char>(h.length >> 8);
        out[3] = static_cast<unsigned char>(h.length);
        at = 4;
    } else {
        out[1] = static_cast<unsigned char>(mask_bit | 127);
        for (std::size_t i = 0; i < 8; ++i) {
            out[2 + i] = static_cast<unsigned char>(h.length >> (56 - 8 * i));
        }
        at = 10;
    }
    if (h.masked) {
        std::memcpy(out + at, h.mask.data(), 4);
        at += 4;
    }
    return at;
}

/// The 4-byte key repeated over 8 bytes, as they lie in memory (byte k is
/// mask[k & 3]) whatever the byte order: the same 4 bytes twice.
[[nodiscard]] inline std::uint64_t mask_key8(const std::array<std::uint8_t, 4>& mask) noexcept {
    std::uint32_t key4;
    std::memcpy(&key4, mask.data(), 4);
    return static_cast<std::uint64_t>(key4) << 32 | key4;
}

/// XORs `size` bytes at `data` with `mask`, the first byte being byte
/// `offset` of the payload (so a payload unmasked in pieces continues the
/// key's rotation). Whole 8-byte words after a short head: the loop the
/// compiler vectorizes, rather than one byte at a time.
inline void apply_mask(unsigned char* data, std::size_t size, const std::array<std::uint8_t, 4>& mask,
                       std::uint64_t offset) noexcept {
    std::size_t phase = static_cast<std::size_t>(offset & 3);
    std::size_t i = 0;
    // Bytes until the phase is 0 again, then the key repeats every 4 bytes.
    while (phase != 0 && i < size) {
        data[i] ^= mask[phase];
        phase = (phase + 1) & 3;
        ++i;
    }
    const std::uint64_t key = mask_key8(mask);
    for (; i + 8 <= size; i += 8) {
        std::uint64_t word;
        std::memcpy(&word, data + i, 8);
        word ^= key;
        std::memcpy(data + i, &word, 8);
    }
    for (std::size_t k = 0; i < size; ++i, ++k) {
        data[i] ^= mask[k & 3];
    }
}

/// Copies `size` bytes from `from` to `to` masked with `mask` from phase 0
/// (one pass for a client's outgoing payload).
inline void copy_masked(unsigned char* to, const unsigned char* from, std::size_t size,
                        const std::array<std::uint8_t, 4>& mask) noexcept {
    const std::uint64_t key = mask_key8(mask);
    std::size_t i = 0;
    for (; i + 8 <= size; i += 8) {
        std::uint64_t word;
        std::memcpy(&word, from + i, 8);
        word ^= key;
        std::memcpy(to + i, &word, 8);
    }
    for (std::size_t k = 0; i < size; ++i, ++k) {
        to[i] = static_cast<unsigned char>(from[i] ^ mask[k & 3]);
    }
}

/// Incremental UTF-8 validation (RFC 3629: no overlongs, no surrogates,
/// nothing past U+10FFFF) across the fragments of one text message. feed()
/// returns false at the first byte that can never be valid; finish() says
/// whether the message ended on a character boundary.
class utf8_validator {
public:
    [[nodiscard]] bool feed(std::string_view text) noexcept {
        const auto* p = reinterpret_cast<const unsigned char*>(text.data());
        const auto* end = p + text.size();
        while (p < end) {
            if (m_need == 0) {
                // ASCII runs eight bytes at a time.
                while (end - p >= 8) {
                    std::uint64_t word;
                    std::memcpy(&word, p, 8);
                    if ((word & 0x8080808080808080ull) != 0) {
                        break;
                    }
                    p += 8;
                }
                if (p == end) {
                    break;
                }
                const unsigned char c = *p++;
                if (c < 0x80) {
                    continue;
                }
                if (c >= 0xC2 && c <= 0xDF) {
                    m_need = 1;
                } else if (c >= 0xE0 && c <= 0xEF) {
                    m_need = 2;
                    m_low = c == 0xE0 ? 0xA0 : 0x80;   // no overlongs
                    m_high = c == 0xED ? 0x9F : 0xBF;  // no surrogates
                    continue;
                } else if (c >= 0xF0 && c <= 0xF4) {
                    m_need = 3;
                    m_low = c == 0xF0 ? 0x90 : 0x80;
                    m_high = c == 0xF4 ? 0x8F : 0xBF;  // nothing past U+10FFFF
                    continue;
                } else {
                    return false;
                }
                m_low = 0x80;
                m_high = 0xBF;
                continue;
            }
            const unsigned char c = *p++;
            if (c < m_low || c > m_high) {
                return false;
            }
            m_low = 0x80;
            m_high = 0xBF;
            --m_need;
        }
        return true;
    }
    [[nodiscard]] bool complete() const noexcept { return m_need == 0; }
    void reset() noexcept {
        m_need = 0;
        m_low = 0x80;
        m_high = 0xBF;
    }

private:
    int m_need = 0;  // continuation bytes still due
    unsigned char m_low = 0x80;  // bounds of the next continuation byte
    unsigned char m_high = 0xBF;
};

/// Whether `text` is whole, valid UTF-8.
[[nodiscard]] inline bool valid_utf8(std::string_view text) noexcept {
    utf8_validator v;
    return v.feed(text) && v.complete();
}

/// Masking keys. RFC 6455 §5.3 wants them unpredictable to scripts that
/// could choose payloads (a cache-poisoning defence for browsers); a native
/// client is not such a setting, so a fast non-cryptographic generator
/// (splitmix64) seeded once per connection from std::random_device is used.
class mask_generator {
public:
    mask_generator() {
        std::random_device device;
        m_state = static_cast<std::uint64_t>(device()) << 32 ^ device();
    }
    [[nodiscard]] std::array<std::uint8_t, 4> next() noexcept {
        m_state += 0x9E3779B97F4A7C15ull;
        std::uint64_t z = m_state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        std::array<std::uint8_t, 4> key{};
        std::memcpy(key.data(), &z, 4);
        return key;
    }

private:
    std::uint64_t m_state = 0;
};

/// Whether a close code may appear in a Close frame on the wire (RFC 6455
/// §7.4.1–7.4.2): 1000–1003, 1007–1011 (and 1012–1014 registered since),
/// 3000–4999. 1004–1006 and 1015 are reserved for local use.
[[nodiscard]] inline constexpr bool valid_close_code(std::uint16_t code) noexcept {
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

}  // namespace corio::detail::ws
