// libFuzzer target for corio/http/parser.hpp: feeds the input in one block and
// in pseudo-random splits, and checks both give the same messages or the same
// protocol_error. Any other exception, a mismatch or a sanitizer report is a bug.
#include "piece_cutter.hpp"

#include <corio/http/parser.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct outcome {
    std::vector<std::string> transcript;
    bool failed = false;
    std::uint64_t error_offset = 0;
    bool operator==(const outcome&) const = default;
};

template <typename Parser>
outcome run(std::string_view data, const corio::http::parser_limits& limits,
            corio::http::body_mode mode, std::string_view method, std::uint32_t seed, bool split) {
    using corio::http::parse_status;
    outcome out;
    Parser p(limits);
    p.set_body_mode(mode);
    if constexpr (std::is_same_v<Parser, corio::http::response_parser>)
        p.set_request_method(method);
    std::string body;
    auto on_complete = [&] {
        const auto& m = p.message();
        std::string line;
        if constexpr (std::is_same_v<Parser, corio::http::request_parser>)
            line = m.method + ' ' + m.target;
        else
            line = std::to_string(m.status) + ' ' + m.reason;
        for (const auto& f : m.headers)
            line += '|' + f.name + ':' + f.value;
        for (const auto& f : p.trailers())
            line += "|T" + f.name + ':' + f.value;
        line += '#' + (mode == corio::http::body_mode::stream ? body : m.body);
        out.transcript.push_back(std::move(line));
        body.clear();
    };
    try {
        std::size_t pos = 0;
        corio_fuzz::piece_cutter cut(split ? seed + 1 : 0, 17);  // a cutter seeded 0 cuts nothing
        while (pos < data.size()) {
            const std::size_t n = cut.next(data.size() - pos);
            std::span<const char> chunk(data.data() + pos, n);
            pos += n;
            for (;;) {
                const auto r = p.feed(chunk);
                if (r.consumed > chunk.size())
                    __builtin_trap();
                chunk = chunk.subspan(r.consumed);
                if (r.status == parse_status::need_more) {
                    if (!chunk.empty())
                        __builtin_trap();
                    break;
                }
                if (r.status == parse_status::headers_complete)
                    out.transcript.push_back(std::string(p.keep_alive() ? "keep-alive" : "close") +
                                             (p.upgrade() ? " upgrade" : ""));
                if (r.status == parse_status::body_chunk)
                    body.append(r.body.data(), r.body.size());
                if (r.status == parse_status::message_complete)
                    on_complete();
            }
        }
        if (p.finish())
            on_complete();
    } catch (const corio::http::protocol_error& e) {
        out.failed = true;
        out.error_offset = e.offset();
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    if (size < 2)
        return 0;
    // Byte 0 picks the configuration, byte 1 seeds the splits.
    const std::uint8_t config = bytes[0];
    const std::uint32_t seed = bytes[1];
    const std::string_view data(reinterpret_cast<const char*>(bytes + 2), size - 2);

    corio::http::parser_limits limits;
    if (config & 0x10) {
        limits.max_line_length = 64;
        limits.max_header_bytes = 256;
        limits.max_header_count = 4;
        limits.max_body_size = 100;
    }
    const auto mode =
        (config & 0x02) ? corio::http::body_mode::stream : corio::http::body_mode::accumulate;
    static constexpr std::string_view methods[] = {"GET", "HEAD", "CONNECT", "POST"};
    const std::string_view method = methods[(config >> 2) & 3];

    outcome whole;
    outcome pieces;
    if (config & 0x01) {
        whole = run<corio::http::request_parser>(data, limits, mode, method, seed, false);
        pieces = run<corio::http::request_parser>(data, limits, mode, method, seed, true);
    } else {
        whole = run<corio::http::response_parser>(data, limits, mode, method, seed, false);
        pieces = run<corio::http::response_parser>(data, limits, mode, method, seed, true);
    }
    if (!(whole == pieces))
        __builtin_trap();
    return 0;
}
