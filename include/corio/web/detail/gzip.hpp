#pragma once

// gzip compression of response bodies for web::gzip_middleware, on zlib
// (the same optional zlib corio::http decodes with: CORIO_WITH_ZLIB).

#include <optional>
#include <string>
#include <string_view>

#if defined(CORIO_WITH_ZLIB)
#include <zlib.h>
#endif

namespace corio::web::detail {

/// `body` gzip-compressed at `level`, or nullopt when corio was built
/// without zlib (or zlib failed).
inline std::optional<std::string> gzip_compress([[maybe_unused]] std::string_view body,
                                                [[maybe_unused]] int level) {
#if defined(CORIO_WITH_ZLIB)
    z_stream stream{};
    // 15 window bits + 16: a gzip wrapper rather than zlib's own.
    if (deflateInit2(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        return std::nullopt;
    }
    std::string out;
    out.resize(deflateBound(&stream, static_cast<uLong>(body.size())));
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
    stream.avail_in = static_cast<uInt>(body.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    const int result = deflate(&stream, Z_FINISH);
    const std::size_t produced = stream.total_out;
    deflateEnd(&stream);
    if (result != Z_STREAM_END) {
        return std::nullopt;
    }
    out.resize(produced);
    return out;
#else
    return std::nullopt;
#endif
}

}  // namespace corio::web::detail
