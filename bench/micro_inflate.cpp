// Decoding cost of the HTTP client's gzip inflater (http/detail/inflate.hpp)
// next to zlib called directly, on the same input cut into the same slices.
// Prints one line per case: CPU milliseconds per pass for zlib alone
// (inflating into one reused 64 KiB buffer: the floor) and for
// http_inflater handing out 64 KiB pieces (read_chunk) and appending to one
// string (text()).
//
//   micro_inflate [megabytes=64]
//
// Build: the bench preset (target micro_inflate), or by hand:
//   g++ -std=c++20 -O2 -DCORIO_WITH_ZLIB -Iinclude bench/micro_inflate.cpp -lz
#include <corio/http/detail/inflate.hpp>

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <random>
#include <string>
#include <string_view>

namespace {

std::string text_like(std::size_t size) {
    std::string s;
    s.reserve(size + 32);
    std::mt19937 rng(1);
    const char* words[] = {"alpha ", "beta ", "gamma ", "delta\n", "{\"k\": 12345} ", "lorem ", "ipsum "};
    while (s.size() < size) {
        s += words[rng() % 7];
        if (rng() % 13 == 0) {
            s += std::to_string(rng());
        }
    }
    return s;
}

std::string gzip(const std::string& data) {
    z_stream z{};
    deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
    std::string out(deflateBound(&z, data.size()) + 64, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

double cpu_ms(std::clock_t since) { return 1000.0 * static_cast<double>(std::clock() - since) / CLOCKS_PER_SEC; }

std::size_t zlib_direct(const std::string& compressed, std::size_t slice) {
    z_stream z{};
    inflateInit2(&z, 31);
    std::string buffer(64 * 1024, '\0');
    std::size_t total = 0;
    for (std::size_t at = 0; at < compressed.size(); at += slice) {
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data() + at));
        z.avail_in = static_cast<uInt>(std::min(slice, compressed.size() - at));
        do {
            z.next_out = reinterpret_cast<Bytef*>(buffer.data());
            z.avail_out = static_cast<uInt>(buffer.size());
            inflate(&z, Z_NO_FLUSH);
            total += buffer.size() - z.avail_out;
        } while (z.avail_out == 0);
    }
    inflateEnd(&z);
    return total;
}

std::size_t corio_pieces(const std::string& compressed, std::size_t slice) {
    corio::detail::http_inflater inflater(corio::detail::http_inflater::format::gzip);
    std::size_t total = 0;
    std::string piece;
    for (std::size_t at = 0; at < compressed.size(); at += slice) {
        std::string_view input = std::string_view(compressed).substr(at, slice);
        do {
            piece.clear();
            total += inflater.decode(input, piece, 64 * 1024);
            input = {};
        } while (inflater.pending());
    }
    inflater.finish();
    return total;
}

std::size_t corio_text(const std::string& compressed, std::size_t slice) {
    corio::detail::http_inflater inflater(corio::detail::http_inflater::format::gzip);
    std::string body;
    for (std::size_t at = 0; at < compressed.size(); at += slice) {
        std::string_view input = std::string_view(compressed).substr(at, slice);
        do {
            inflater.decode(input, body, 64 * 1024);
            input = {};
        } while (inflater.pending());
    }
    inflater.finish();
    return body.size();
}

void run_case(const char* name, const std::string& plain, std::size_t slice) {
    const std::string compressed = gzip(plain);
    double best[3] = {1e30, 1e30, 1e30};
    bool ok = true;
    for (int pass = 0; pass < 5; ++pass) {
        std::clock_t t = std::clock();
        ok = ok && zlib_direct(compressed, slice) == plain.size();
        best[0] = std::min(best[0], cpu_ms(t));
        t = std::clock();
        ok = ok && corio_pieces(compressed, slice) == plain.size();
        best[1] = std::min(best[1], cpu_ms(t));
        t = std::clock();
        ok = ok && corio_text(compressed, slice) == plain.size();
        best[2] = std::min(best[2], cpu_ms(t));
    }
    std::printf("%-28s %6zu-byte slices  zlib %7.1f ms  corio pieces %7.1f ms  corio text %7.1f ms%s\n", name, slice,
                best[0], best[1], best[2], ok ? "" : "  WRONG SIZE");
}

}  // namespace

int main(int argc, char** argv) {
    const std::size_t megabytes = argc > 1 ? static_cast<std::size_t>(std::atoi(argv[1])) : 64;
    const std::string text = text_like(megabytes << 20);
    const std::string zeros(megabytes << 20, '\0');
    for (const std::size_t slice : {std::size_t{65536}, std::size_t{16384}, std::size_t{1024}, std::size_t{100}}) {
        run_case("text (ratio ~6)", text, slice);
    }
    run_case("zeros (ratio ~1000)", zeros, 65536);
    run_case("zeros (ratio ~1000)", zeros, 100);
}
