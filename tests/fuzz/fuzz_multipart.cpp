// libFuzzer target for the multipart/form-data parser
// (corio/web/detail/multipart.hpp). Byte 0 seeds where the body is cut (as
// a socket might split it), byte 1 gives the boundary's length (1 to 16, its
// bytes follow) and, in bit 7, a small header-section limit. The body is fed
// whole to one parser and in pieces to another; both must report the same
// parts (heads, content bytes, ends) and end the same way — done, needing
// more, or refused with the same message — with nothing but `malformed`
// ever thrown. A difference traps.
#include "piece_cutter.hpp"

#include <corio/web/detail/multipart.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace multipart = corio::detail::web_multipart;

// What a parser reported: one entry per event, consecutive content pieces
// joined (where the content is cut depends on the input's pieces).
struct recorder {
    std::vector<std::string> events;
    bool in_content = false;

    void begin(multipart::part_head&& head) {
        events.push_back("begin " + head.name + "|" + (head.filename ? "file:" + *head.filename : "-") + "|" +
                         head.content_type);
        in_content = false;
    }
    void data(std::string_view bytes) {
        if (bytes.empty()) {
            __builtin_trap();  // the parser never reports an empty piece
        }
        if (!in_content) {
            events.emplace_back("data ");
            in_content = true;
        }
        events.back().append(bytes);
    }
    void end() {
        events.emplace_back("end");
        in_content = false;
    }
};

struct outcome {
    std::vector<std::string> events;
    std::string ending;  // "done", "incomplete: <message>" or "malformed: <message>"
};

outcome parse(std::string_view boundary, std::string_view body, std::size_t max_head_size, unsigned seed) {
    recorder sink;
    multipart::parser<recorder> parser(boundary, sink, max_head_size);
    outcome out;
    try {
        std::size_t from = 0;
        corio_fuzz::piece_cutter cut(seed, 9);
        while (from < body.size()) {
            const std::size_t piece = cut.next(body.size() - from);
            parser.feed(body.substr(from, piece));
            from += piece;
        }
        try {
            parser.finish();
            out.ending = parser.done() ? "done" : "finish() passed without the close delimiter";
        } catch (const multipart::malformed& e) {
            out.ending = std::string("incomplete: ") + e.what();
        }
    } catch (const multipart::malformed& e) {
        out.ending = std::string("malformed: ") + e.what();
    }
    out.events = std::move(sink.events);
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    const unsigned seed = data[0];
    const std::size_t boundary_length = 1 + (data[1] & 0x0F);
    const std::size_t max_head_size = (data[1] & 0x80) != 0 ? 24 : 1024;
    if (size < 2 + boundary_length) {
        return 0;
    }
    const std::string_view boundary(reinterpret_cast<const char*>(data + 2), boundary_length);
    const std::string_view body(reinterpret_cast<const char*>(data + 2 + boundary_length),
                                size - 2 - boundary_length);
    const outcome whole = parse(boundary, body, max_head_size, 0);
    const outcome split = parse(boundary, body, max_head_size, seed == 0 ? 1 : seed);
    if (whole.ending != split.ending || whole.events != split.events) {
        __builtin_trap();
    }
    return 0;
}
