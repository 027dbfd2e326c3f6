// libFuzzer target for the permessage-deflate negotiation
// (corio/http/detail/websocket_deflate.hpp), built with _GLIBCXX_ASSERTIONS
// like the other targets so that an empty optional read or an index out of
// range aborts. Byte 0 sets the server's deflate_options, byte 1 the
// client's; the rest, split at '\n', are Sec-WebSocket-Extensions values.
//  - As a client's offer: negotiate_server throws nothing, and what it
//    agrees stays within both sides' limits.
//  - As a server's answer: accept_client throws std::invalid_argument or
//    nothing.
//  - And whatever the two option sets, the server's answer to the client's
//    own offer is one that client accepts, with the same parameters.
#include <corio/http/detail/websocket_deflate.hpp>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace ws = corio::detail::ws;

corio::http::deflate_options options_from(std::uint8_t bits) {
    corio::http::deflate_options options;
    options.server_no_context_takeover = (bits & 1) != 0;
    options.client_no_context_takeover = (bits & 2) != 0;
    options.server_max_window_bits = 9 + ((bits >> 2) & 7) % 7;  // 9..15: zlib deflates with no less
    options.client_max_window_bits = 8 + ((bits >> 5) & 7);      // 8..15
    return options;
}

bool within(const ws::deflate_params& p) {
    return p.server_max_window_bits >= 8 && p.server_max_window_bits <= 15 && p.client_max_window_bits >= 8 &&
           p.client_max_window_bits <= 15;
}

bool same(const ws::deflate_params& a, const ws::deflate_params& b) {
    return a.server_no_context_takeover == b.server_no_context_takeover &&
           a.client_no_context_takeover == b.client_no_context_takeover &&
           a.server_max_window_bits == b.server_max_window_bits && a.client_max_window_bits == b.client_max_window_bits;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2 || !ws::deflate_available) {
        return 0;
    }
    const corio::http::deflate_options server = options_from(data[0]);
    const corio::http::deflate_options client = options_from(data[1]);
    std::vector<std::string_view> values;
    std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
    for (;;) {
        const std::size_t newline = rest.find('\n');
        values.push_back(rest.substr(0, newline));
        if (newline == std::string_view::npos) {
            break;
        }
        rest.remove_prefix(newline + 1);
    }

    std::string answer;
    if (const auto agreed = ws::negotiate_server(values, server, answer)) {
        if (!within(*agreed) || agreed->server_max_window_bits > server.server_max_window_bits) {
            __builtin_trap();
        }
    }
    try {
        if (const auto accepted = ws::accept_client(values, client); accepted && !within(*accepted)) {
            __builtin_trap();
        }
    } catch (const std::invalid_argument&) {
    }

    const std::string offer = ws::client_offer(client);
    std::string reply;
    if (const auto agreed = ws::negotiate_server({offer}, server, reply)) {
        const auto accepted = ws::accept_client({reply}, client);  // must not throw
        if (!accepted || !same(*agreed, *accepted)) {
            __builtin_trap();
        }
    }
    return 0;
}
