// libFuzzer target for http::server's connection loop
// (corio/http/detail/server.hpp) on a real event loop: the input is what a
// client sends on one connection (a socket pair, so no ports are used up),
// written in pieces while the answers are read, then the client's side is
// shut; requests to /ws upgrade to an echoing WebSocket. Byte 0 is the
// configuration (bit 0: small parser limits, bit 1: every body streamed to
// the handler), byte 1 seeds the pieces.
//
// The server must end the connection (no hang: a 5 s bound traps), its
// serving task must end without an exception, and what it wrote must be
// whole, well-formed HTTP responses (parsed by corio's response parser, each
// with the method of the request it answers for HEAD's sake), no more of
// them than requests plus one refusal, and after an upgrade whole frames a
// server may send. The handlers echo, stream, throw and answer HEAD.
#include "piece_cutter.hpp"

#include <corio/corio.hpp>
#include <corio/http.hpp>

#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace {

namespace http = corio::http;
using namespace std::chrono_literals;

http::router make_router() {
    http::router routes;
    routes.get("/", [](http::request&) -> corio::task<http::response> {
        co_return http::text_response("hello");
    });
    routes.post("/echo", [](http::request& r) -> corio::task<http::response> {
        if (r.body_streamed()) {
            std::string body = co_await r.body_stream().read_all();
            co_return http::text_response(std::move(body));
        }
        co_return http::text_response(std::move(r.body));
    });
    routes.add_streaming(
        "PUT", "/upload/{name}", 256, [](http::request& r) -> corio::task<http::response> {
            std::size_t total = 0;
            for (;;) {
                const std::string_view piece = co_await r.body_stream().read_some();
                if (piece.empty()) {
                    break;
                }
                total += piece.size();
            }
            co_return http::text_response(std::string(r.path_params.at("name")) + ": " +
                                          std::to_string(total));
        });
    http::ws_route_options ws_options;
    ws_options.websocket.max_message_size = 4096;
    ws_options.websocket.close_timeout = 200ms;
    routes.websocket(
        "/ws",
        [](http::websocket& ws, http::request&) -> corio::task<void> {
            while (auto message = co_await ws.next()) {
                if (message->is_text()) {
                    co_await ws.send_text(message->data);
                } else {
                    co_await ws.send_binary(message->data);
                }
            }
        },
        ws_options);
    routes.get("/throw", [](http::request&) -> corio::task<http::response> {
        throw std::runtime_error("a handler failed");
        co_return http::text_response("unreachable");
    });
    return routes;
}

corio::stream_socket adopt(int fd) {
    return corio::stream_socket(
        corio::detail::socket_source(corio::get_running_loop(), corio::detail::unique_fd(fd)),
        corio::endpoint{});
}

// The methods of the requests in `input`, in order, as far as their request
// lines parse with the server's limits: an answer to one of them, refusals
// included, has no body when it is HEAD; one to a request line the server
// cannot parse has one whatever it was.
std::vector<std::string> request_methods(std::string_view input, http::parser_limits limits) {
    std::vector<std::string> methods;
    limits.max_body_size = UINT64_MAX;
    http::request_parser parser(limits);
    parser.set_body_mode(http::body_mode::stream);
    std::span<const char> rest(input.data(), input.size());
    bool counted = false;  // the current request's method is in `methods`
    try {
        for (;;) {  // also with nothing left: a message without a body completes on the next feed
            const auto r = parser.feed(rest);
            rest = rest.subspan(r.consumed);
            if (parser.start_line_parsed() && !counted) {
                methods.push_back(parser.message().method);
                counted = true;
            }
            if (r.status == http::parse_status::need_more) {
                break;
            }
            if (r.status == http::parse_status::message_complete) {
                counted = false;
            }
        }
    } catch (const http::protocol_error&) {
        if (parser.start_line_parsed() && !counted) {
            methods.push_back(parser.message().method);
        }
    }
    return methods;
}

// Traps unless `frames` is whole frames a server may send (RFC 6455 §5):
// unmasked, reserved bits clear but RSV1 on a compressed message's first
// frame when permessage-deflate was agreed, fragments in order, a Close
// frame with a code a peer may send, last.
void check_frames(std::string_view frames, bool deflate) {
    namespace ws = corio::detail::ws;
    const auto* data = reinterpret_cast<const unsigned char*>(frames.data());
    std::size_t at = 0;
    bool closed = false;
    bool in_message = false;  // a fragmented message has begun
    while (at < frames.size()) {
        ws::frame_header h;
        const ws::header_result header = ws::parse_header(data + at, frames.size() - at, h);
        if (closed || header.size == 0 || header.error != ws::header_error::none || h.masked ||
            h.rsv2 || h.rsv3 || h.length > frames.size() - at - header.size) {
            __builtin_trap();
        }
        const bool first_of_message = h.op == ws::opcode::text || h.op == ws::opcode::binary;
        if (h.rsv1 && (!deflate || !first_of_message)) {
            __builtin_trap();
        }
        if (!ws::is_control(h.op)) {
            if (first_of_message == in_message) {
                __builtin_trap();  // a continuation outside a message, or a message inside one
            }
            in_message = !h.fin;
        }
        if (h.op == ws::opcode::close) {
            if (h.length == 1) {
                __builtin_trap();
            }
            if (h.length >= 2) {
                const unsigned code = data[at + header.size] << 8 | data[at + header.size + 1];
                const bool sendable = (code >= 1000 && code <= 1003) ||
                                      (code >= 1007 && code <= 1011) ||
                                      (code >= 3000 && code <= 4999);
                if (!sendable) {
                    __builtin_trap();
                }
            }
            closed = true;
        }
        at += header.size + h.length;
    }
}

// Traps unless `output` is whole responses, at most methods.size() + 1, and
// after a 101 (a WebSocket route's upgrade) whole frames.
void check_responses(std::string_view output, const std::vector<std::string>& methods) {
    http::response_parser parser{http::parser_limits{}};
    parser.set_body_mode(http::body_mode::stream);
    std::size_t answered = 0;
    parser.set_request_method(methods.empty() ? "GET" : methods.front());
    std::span<const char> rest(output.data(), output.size());
    try {
        for (;;) {  // also with nothing left: a message without a body completes on the next feed
            const auto r = parser.feed(rest);
            rest = rest.subspan(r.consumed);
            if (r.status == http::parse_status::need_more) {
                break;
            }
            if (r.status == http::parse_status::message_complete) {
                const int status = parser.message().status;
                if (status < 100 || status > 599) {
                    __builtin_trap();
                }
                if (status == 101) {
                    const auto extensions =
                        parser.message().headers.get("Sec-WebSocket-Extensions");
                    check_frames(std::string_view(rest.data(), rest.size()),
                                 extensions && extensions->find("permessage-deflate") !=
                                                   std::string_view::npos);
                    return;
                }
                if (status >= 200) {  // not an interim 100 Continue
                    ++answered;
                    parser.set_request_method(answered < methods.size() ? methods[answered]
                                                                        : "GET");
                }
            }
        }
        if (parser.finish()) {
            ++answered;
        }
    } catch (const http::protocol_error&) {
        __builtin_trap();  // the server wrote something that is not HTTP, or stopped inside a
                           // response
    }
    if (answered > methods.size() + 1) {
        __builtin_trap();
    }
}

corio::task<std::string> client(corio::stream_socket socket, std::string_view input,
                                unsigned seed) {
    corio_fuzz::piece_cutter cut(seed, 64);
    auto write_all = [&]() -> corio::task<void> {
        try {
            std::size_t from = 0;
            while (from < input.size()) {
                const std::size_t piece = cut.next(input.size() - from);
                co_await socket.write(input.substr(from, piece));
                from += piece;
                co_await corio::sleep(0ms);
            }
            socket.shutdown_write();
        } catch (const std::system_error&) {
            // The server closed first (it refused the request): fine.
        }
    };
    auto read_all = [&]() -> corio::task<std::string> {
        std::string output;
        try {
            for (;;) {
                const std::string piece = co_await socket.read(16 * 1024);
                if (piece.empty()) {
                    break;
                }
                output += piece;
            }
        } catch (const std::system_error&) {
            // Reset after the server closed with input unread: what came is kept.
        }
        co_return output;
    };
    auto [ignored, output] = co_await corio::gather(write_all(), read_all());
    (void)ignored;
    co_return output;
}

corio::task<std::string> serve_once(std::string_view input, unsigned config, unsigned seed) {
    http::server_options options;
    if ((config & 1) != 0) {
        options.limits.max_line_length = 64;
        options.limits.max_header_bytes = 256;
        options.limits.max_header_count = 4;
        options.limits.max_body_size = 100;
    }
    if ((config & 2) != 0) {
        options.stream_body = [](const http::request&) {
            return std::optional<std::uint64_t>(1000);
        };
    }
    options.header_timeout = 2s;
    options.body_timeout = 2s;
    options.keep_alive_timeout = 2s;
    options.date_header = false;
    http::router routes = make_router();
    auto limit_of = [&routes](const http::request& r) { return routes.streamed_body_limit(r); };
    auto shared =
        corio::detail::http_server::make_state(http::handler(std::ref(routes)), options,
                                               corio::detail::http_server::body_policy(limit_of));
    shared->loop = &corio::get_running_loop();
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
        __builtin_trap();
    }
    // The connection's stream is a parameter of the serving coroutine, closed
    // with its frame: await it inside another, as http::server's accept loop does.
    auto serve = [](std::shared_ptr<corio::detail::http_server::state> shared,
                    int fd) -> corio::task<void> {
        co_await corio::detail::http_server::serve_connection(
            std::move(shared), corio::detail::http_connection_stream(adopt(fd)));
    };
    auto serving = corio::create_task(serve(shared, fds[0]));
    std::string output = co_await client(adopt(fds[1]), input, seed);
    co_await serving;  // an exception escaping the connection loop fails the input
    const std::vector<std::string> methods = request_methods(input, options.limits);
    if (std::getenv("CORIO_FUZZ_DUMP") != nullptr) {  // for triage: what the server answered
        std::fprintf(stderr, "%zu requests; the server wrote:\n%s\n", methods.size(),
                     output.c_str());
    }
    check_responses(output, methods);
    co_return output;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    const std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);
    auto bounded = [&]() -> corio::task<void> {
        (void)co_await corio::wait_for(serve_once(input, data[0], data[1]), 5s);
    };
    try {
        corio::run(bounded());
    } catch (const corio::timeout_error&) {
        __builtin_trap();  // the connection did not end
    }
    return 0;
}
