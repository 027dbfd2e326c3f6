#pragma once

// Content-Encoding gzip / deflate decoding for the HTTP client, on zlib.
// Only compiled with CORIO_WITH_ZLIB (the corio::http target defines it when
// zlib is found); without it the client neither asks for nor decodes them.

#if defined(CORIO_WITH_ZLIB)

#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace corio::detail {

/// A streaming inflater whose output is bounded per call: decode() appends at
/// most `max_output` decoded bytes and keeps what it could not decode yet (a
/// copy of the unread input, and zlib's own pending output) for the next
/// call, so a caller can hand out small pieces, stop at a size limit, and
/// yield to the loop between slices however much one compressed byte expands
/// to. finish() checks that the stream ended where the body did. Throws
/// std::runtime_error (the caller turns it into a protocol_error) on corrupt
/// data. Not copyable (owns a z_stream).
///
/// Cost (bench/micro_inflate.cpp, docs/design.md): one z_stream per body,
/// decoding into a 64 KiB scratch buffer allocated once and appending what
/// came out, so the output string is never zero-filled or over-sized and
/// grows geometrically; within a few percent of calling zlib directly.
class http_inflater {
public:
    enum class format { gzip, deflate };

    /// Decoded bytes produced per inflate() call: the granularity of the
    /// output bound and the scratch buffer's size.
    static constexpr std::size_t slice = 64 * 1024;

    explicit http_inflater(format f) : m_format(f) {}
    http_inflater(const http_inflater&) = delete;
    http_inflater& operator=(const http_inflater&) = delete;
    ~http_inflater() {
        if (m_initialized) {
            inflateEnd(&m_stream);
        }
    }

    /// Decodes what is held back from earlier calls, then `input`, appending
    /// at most `max_output` bytes to `out`; returns how many it appended.
    /// Input it did not get to is copied and kept (pending() is then true).
    std::size_t decode(std::string_view input, std::string& out, std::size_t max_output) {
        if (!input.empty()) {
            // Rare: new input while old input is still held (keep the order),
            // or a deflate body's first byte alone (which format it is takes two).
            if (m_held_at < m_held.size() || (!m_initialized && m_format == format::deflate && input.size() < 2)) {
                m_held.erase(0, m_held_at);
                m_held_at = 0;
                m_held.append(input);
                input = {};
            }
            if (!m_initialized) {
                const std::string_view first = input.empty() ? held_input() : input;
                if (m_format == format::deflate && first.size() < 2) {
                    return 0;
                }
                init(first);
            }
        }
        if (!m_initialized) {
            return 0;
        }
        std::size_t produced = 0;
        produced += run(held_input(), out, max_output, true);
        if (!input.empty()) {
            produced += run(input, out, max_output - produced, false);
        }
        return produced;
    }

    /// Whether decode() can produce more without new input: input held back,
    /// or zlib stopped with its output full.
    [[nodiscard]] bool pending() const noexcept {
        return m_initialized && (m_held_at < m_held.size() || m_output_full);
    }

    /// The body ended: the compressed stream must have ended too (an empty
    /// body is fine). Call once pending() is false.
    void finish() const {
        if (m_initialized ? !m_ended : !m_held.empty()) {
            throw std::runtime_error("compressed stream truncated");
        }
    }

private:
    std::string_view held_input() const noexcept {
        return std::string_view(m_held).substr(std::min(m_held_at, m_held.size()));
    }

    // Inflates from `input` into `out` until the input is used up, zlib has
    // nothing more to give, or `budget` bytes came out. `held`: `input` is
    // m_held (advance m_held_at) rather than the caller's (copy what is left).
    std::size_t run(std::string_view input, std::string& out, std::size_t budget, bool held) {
        std::size_t produced = 0;
        std::size_t used = 0;
        // Without input zlib may still owe output from the last call.
        while ((used < input.size() || (m_output_full && !m_ended)) && produced < budget) {
            if (m_ended) {
                // gzip allows several members back to back (RFC 1952 §2.2).
                if (m_format != format::gzip || inflateReset(&m_stream) != Z_OK) {
                    throw std::runtime_error("data after the end of the compressed stream");
                }
                m_ended = false;
            }
            if (!m_scratch) {
                m_scratch = std::make_unique<char[]>(slice);
            }
            const std::size_t room = std::min(slice, budget - produced);
            const std::size_t available = input.size() - used;
            m_stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data() + used));
            m_stream.avail_in = static_cast<uInt>(std::min<std::size_t>(available, 1u << 30));
            const uInt offered = m_stream.avail_in;
            m_stream.next_out = reinterpret_cast<Bytef*>(m_scratch.get());
            m_stream.avail_out = static_cast<uInt>(room);
            const int rc = inflate(&m_stream, Z_NO_FLUSH);
            used += offered - m_stream.avail_in;
            const std::size_t got = room - m_stream.avail_out;
            out.append(m_scratch.get(), got);
            produced += got;
            m_output_full = m_stream.avail_out == 0;
            if (rc == Z_STREAM_END) {
                m_ended = true;
                m_output_full = false;
                continue;
            }
            if (rc == Z_BUF_ERROR) {
                // No progress possible: no input left and no output owed.
                m_output_full = false;
                break;
            }
            if (rc != Z_OK) {
                throw std::runtime_error(m_stream.msg != nullptr ? m_stream.msg : "corrupt compressed data");
            }
        }
        if (held) {
            m_held_at += used;
            if (m_held_at >= m_held.size()) {
                m_held.clear();
                m_held_at = 0;
            }
        } else if (used < input.size()) {
            m_held.assign(input.substr(used));
            m_held_at = 0;
        }
        return produced;
    }

    // `first`: the body's first bytes, at least two for deflate.
    void init(std::string_view first) {
        int window_bits = 15 + 16;  // gzip wrapper
        if (m_format == format::deflate) {
            // "deflate" is the zlib format (RFC 9110 §8.4.1.2), but some
            // servers send raw deflate: a zlib header has compression method 8
            // in the low nibble and a check making CMF*256+FLG a multiple of 31.
            const auto cmf = static_cast<unsigned char>(first[0]);
            const bool zlib_header =
                (cmf & 0x0F) == 8 && ((cmf << 8) | static_cast<unsigned char>(first[1])) % 31 == 0;
            window_bits = zlib_header ? 15 : -15;
        }
        m_stream = z_stream{};
        if (inflateInit2(&m_stream, window_bits) != Z_OK) {
            throw std::runtime_error("zlib inflateInit2 failed");
        }
        m_initialized = true;
    }

    format m_format;
    z_stream m_stream{};
    std::unique_ptr<char[]> m_scratch;  // decoded bytes land here first (never zero-filled)
    std::string m_held;                 // input not decoded yet (a copy: the caller's buffer is reused)
    std::size_t m_held_at = 0;          // how much of m_held was decoded
    bool m_initialized = false;
    bool m_ended = false;
    bool m_output_full = false;  // the last inflate() filled its output: it may owe more
};

}  // namespace corio::detail

#endif  // CORIO_WITH_ZLIB
