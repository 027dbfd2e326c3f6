#pragma once

// Content-Encoding gzip / deflate decoding for the HTTP client, on zlib.
// Only compiled with CORIO_WITH_ZLIB (the corio::http target defines it when
// zlib is found); without it the client neither asks for nor decodes them.

#if defined(CORIO_WITH_ZLIB)

#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace corio::detail {

/// A streaming inflater: feed compressed pieces in order, get decoded bytes
/// appended to a string; finish() checks the stream ended where it should.
/// Throws std::runtime_error (the caller turns it into a protocol_error) on
/// corrupt data. Not copyable (owns a z_stream).
class http_inflater {
public:
    enum class format { gzip, deflate };

    explicit http_inflater(format f) : m_format(f) {}
    http_inflater(const http_inflater&) = delete;
    http_inflater& operator=(const http_inflater&) = delete;
    ~http_inflater() {
        if (m_initialized) {
            inflateEnd(&m_stream);
        }
    }

    /// Decodes `input`, appending the output to `out`.
    void feed(std::string_view input, std::string& out) {
        if (input.empty()) {
            return;
        }
        if (!m_initialized) {
            init(input);
        }
        m_stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
        m_stream.avail_in = static_cast<uInt>(input.size());
        while (m_stream.avail_in > 0) {
            if (m_ended) {
                // gzip allows several members back to back (RFC 1952 §2.2).
                if (m_format != format::gzip || inflateReset(&m_stream) != Z_OK) {
                    throw std::runtime_error("data after the end of the compressed stream");
                }
                m_ended = false;
            }
            const std::size_t old_size = out.size();
            const std::size_t room = std::max<std::size_t>(16 * 1024, static_cast<std::size_t>(m_stream.avail_in) * 4);
            out.resize(old_size + room);
            m_stream.next_out = reinterpret_cast<Bytef*>(out.data() + old_size);
            m_stream.avail_out = static_cast<uInt>(room);
            const int rc = inflate(&m_stream, Z_NO_FLUSH);
            out.resize(old_size + (room - m_stream.avail_out));
            if (rc == Z_STREAM_END) {
                m_ended = true;
                continue;
            }
            if (rc == Z_BUF_ERROR) {
                // No progress possible: output space was full, loop for more.
                continue;
            }
            if (rc != Z_OK) {
                throw std::runtime_error(m_stream.msg != nullptr ? m_stream.msg : "corrupt compressed data");
            }
        }
    }

    /// The body ended: the compressed stream must have ended too (an empty body is fine).
    void finish() const {
        if (m_initialized && !m_ended) {
            throw std::runtime_error("compressed stream truncated");
        }
    }

private:
    void init(std::string_view first) {
        int window_bits = 15 + 16;  // gzip wrapper
        if (m_format == format::deflate) {
            // "deflate" is the zlib format (RFC 9110 §8.4.1.2), but some
            // servers send raw deflate: a zlib header has compression method 8
            // in the low nibble and a check making CMF*256+FLG a multiple of 31.
            const auto cmf = static_cast<unsigned char>(first[0]);
            const bool zlib_header = (cmf & 0x0F) == 8 &&
                                     (first.size() < 2 ||
                                      ((cmf << 8) | static_cast<unsigned char>(first[1])) % 31 == 0);
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
    bool m_initialized = false;
    bool m_ended = false;
};

}  // namespace corio::detail

#endif  // CORIO_WITH_ZLIB
