#pragma once

// corio::http::websocket: a WebSocket connection (RFC 6455, with
// permessage-deflate, RFC 7692), on either side. Servers get one through
// router::websocket(pattern, handler); clients through ws_connect (a free
// function, or client_session::ws_connect to share a session's TLS settings).

#include <corio/cancel.hpp>
#include <corio/combinators.hpp>
#include <corio/detail/config.hpp>
#include <corio/detail/separate_compilation.hpp>
#include <corio/generator.hpp>
#include <corio/http/detail/grammar.hpp>
#include <corio/http/detail/protocol_switch.hpp>
#include <corio/http/detail/session.hpp>
#include <corio/http/detail/sha1.hpp>
#include <corio/http/detail/transport.hpp>
#include <corio/http/detail/websocket_deflate.hpp>
#include <corio/http/detail/websocket_engine.hpp>
#include <corio/http/detail/websocket_frame.hpp>
#include <corio/http/detail/wire.hpp>
#include <corio/http/errors.hpp>
#include <corio/http/message.hpp>
#include <corio/http/parser.hpp>
#include <corio/http/url.hpp>
#include <corio/http/websocket_options.hpp>
#include <corio/spawn.hpp>
#include <corio/task.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace corio::http {

/// One WebSocket connection after its opening handshake (aiohttp's
/// WebSocketResponse / ClientWebSocketResponse, python-websockets'
/// connection). Move-only.
///
/// Receiving: `co_await ws.receive()` returns the next whole message (text or
/// binary; fragments joined, decompressed, text checked to be UTF-8). Pings
/// are answered and pongs taken while a receive() waits. When the connection
/// closes, receive() throws connection_closed (code and reason of the Close
/// frame; connection_lost, code 1006, when TCP ended without one), and so
/// does every later call. `while (auto m = co_await ws.next())` stops at a
/// normal close instead (asyncio's `async for msg in ws`). A peer breaking
/// the protocol gets a Close with 1002 (framing), 1007 (bad UTF-8) or 1009
/// (message over max_message_size) and receive() throws connection_closed
/// with that code. One receive() at a time.
///
/// Sending: send_text / send_binary / ping write one whole frame; sends from
/// several tasks are serialized whole (never interleaved) and complete when
/// their bytes are written (back-pressure). The payload must stay alive
/// until the co_await completes. A client masks every frame; masking keys
/// come from a fast non-cryptographic generator seeded from
/// std::random_device (see detail::ws::mask_generator).
///
/// close(code, reason) runs the closing handshake: sends Close, waits for
/// the peer's (at most close_timeout; through a pending receive() if one
/// waits, which then throws connection_closed), ends the TCP connection.
///
/// Cancelling a receive() leaves the connection usable (a partial frame
/// stays buffered); cancelling a send mid-frame drops the connection.
/// Loop thread only.
class websocket {
public:
    websocket() noexcept = default;
    /// Wraps a connection whose handshake is done (ws_connect and the router make it, not user
    /// code).
    explicit websocket(std::unique_ptr<corio::detail::ws::engine> engine) noexcept : m_engine(std::move(engine)) {}
    /// Takes the connection; the source is left empty (is_open() false).
    websocket(websocket&&) noexcept = default;
    /// Takes the other connection; the one held before is closed at once, without a closing
    /// handshake.
    websocket& operator=(websocket&&) noexcept = default;
    ~websocket() = default;

    /// The next message. Throws connection_closed (see the class comment).
    [[nodiscard]] task<ws_message> receive() { return engine().receive(); }

    /// The next message, or nullopt once the connection closed normally
    /// (1000, 1001, or no status); other ends throw as receive() does.
    [[nodiscard]] CORIO_HEADER_COROUTINE task<std::optional<ws_message>> next();

    /// The messages as an async_generator, ending at a normal close.
    [[nodiscard]] CORIO_HEADER_COROUTINE async_generator<ws_message> messages();

    /// Sends a text message (must be UTF-8: not checked on sending).
    [[nodiscard]] task<void> send_text(std::string_view text) {
        return engine().send_message(corio::detail::ws::opcode::text, text);
    }
    /// Sends a binary message.
    [[nodiscard]] task<void> send_binary(std::string_view bytes) {
        return engine().send_message(corio::detail::ws::opcode::binary, bytes);
    }
    /// The same for a byte span.
    [[nodiscard]] task<void> send_binary(std::span<const std::byte> bytes) {
        return send_binary(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    }
    /// Sends a ping (payload at most 125 bytes, else std::invalid_argument).
    [[nodiscard]] task<void> ping(std::string_view payload = {}) {
        return engine().send_control(corio::detail::ws::opcode::ping, payload);
    }
    /// Sends an unsolicited pong (a heartbeat the peer does not answer).
    [[nodiscard]] task<void> pong(std::string_view payload = {}) {
        return engine().send_control(corio::detail::ws::opcode::pong, payload);
    }
    /// The closing handshake (see the class comment). `code` must be one a
    /// Close frame may carry (1000-1003, 1007-1014, 3000-4999) and `reason`
    /// UTF-8 of at most 123 bytes, else std::invalid_argument. Does nothing
    /// once closed.
    [[nodiscard]] task<void> close(std::uint16_t code = close_code::normal, std::string reason = {}) {
        return engine().close(code, std::move(reason));
    }
    /// Drops the TCP connection without a closing handshake.
    void abort() noexcept {
        if (m_engine) {
            m_engine->abort();
        }
    }

    /// False once a Close frame was sent or the connection ended.
    [[nodiscard]] bool is_open() const noexcept { return m_engine && m_engine->is_open(); }
    /// The subprotocol agreed on ("" for none).
    [[nodiscard]] const std::string& subprotocol() const { return engine().subprotocol(); }
    /// Whether permessage-deflate was negotiated.
    [[nodiscard]] bool compressed() const { return engine().compressed(); }
    /// The close code once closing started (0 before): ours if we closed first.
    [[nodiscard]] std::uint16_t close_code() const { return engine().close_code(); }
    /// The reason text that goes with close_code() ("" before closing started, or none given).
    [[nodiscard]] const std::string& close_reason() const { return engine().close_reason(); }

    /// Used by the server when its handler returns: closes with `code` if open.
    [[nodiscard]] task<void> finish(std::uint16_t code) { return engine().finish(code); }

private:
    corio::detail::ws::engine& engine() const {
        if (!m_engine) {
            throw std::logic_error("corio::http::websocket: used while empty (moved from)");
        }
        return *m_engine;
    }

    std::unique_ptr<corio::detail::ws::engine> m_engine;
};

/// What router::websocket calls per connection: `task<void>(websocket&, request&)`.
/// When it returns the server closes the connection (1000; 1011 if it threw).
using websocket_handler = std::function<task<void>(websocket&, request&)>;

#if defined(CORIO_HTTP_DEFINITIONS)
CORIO_HEADER_COROUTINE CORIO_DECL auto websocket::next() -> task<std::optional<ws_message>> {
    bool ended = false;
    std::optional<ws_message> result;
    try {
        result = co_await engine().receive();
    } catch (const connection_lost&) {
        throw;
    } catch (const connection_closed& e) {
        if (!e.normal()) {
            throw;
        }
        ended = true;
    }
    if (ended) {
        result.reset();
    }
    co_return result;
}

CORIO_HEADER_COROUTINE CORIO_DECL auto websocket::messages() -> async_generator<ws_message> {
    for (;;) {
        std::optional<ws_message> m = co_await next();
        if (!m) {
            co_return;
        }
        co_yield std::move(*m);
    }
}
#endif  // CORIO_HTTP_DEFINITIONS

}  // namespace corio::http

namespace corio::detail::ws {

/// A router handler (`task<response>(request&)`) doing the handshake for `handler`.
CORIO_DECL std::function<task<http::response>(http::request&)> route(
    http::websocket_handler handler, http::ws_route_options options);

/// ws_connect: connect through `session` (its TLS settings), then the handshake,
/// all within handshake_timeout. Redirects are not followed: a 3xx is a
/// handshake error.
CORIO_HEADER_COROUTINE CORIO_DECL task<http::websocket> connect(
    std::shared_ptr<http_session_state> session, std::string url_text,
    http::ws_connect_options options);

#if defined(CORIO_HTTP_DEFINITIONS)

// The server's half of a connection: the handler, then the close. When the
// server shuts down meanwhile, a task runs our closing handshake (1001) beside
// the handler; it ends before the websocket does.
CORIO_HEADER_COROUTINE inline task<void> serve(http::websocket_handler handler, http::websocket_options options,
                                               std::optional<deflate_params> deflate, std::string subprotocol,
                                               http_connection_stream stream, std::string leftover,
                                               http::request& request, http::shutdown_notice& notice) {
    http::websocket ws(std::make_unique<engine>(std::move(stream), role::server, options, deflate,
                                                std::move(subprotocol), leftover));
    std::optional<task_handle<void>> going_away;
    notice.notify = [&ws, &going_away]() noexcept {
        if (going_away || !ws.is_open()) {
            return;
        }
        try {
            going_away.emplace(
                create_task(ws.close(http::close_code::going_away, "server shutting down")));
        } catch (...) {  // out of memory: the grace period's cancellation still ends it
        }
    };
    if (notice.requested) {
        notice.notify();
    }
    std::exception_ptr failure;
    std::exception_ptr cancellation;
    try {
        co_await handler(ws, request);
    } catch (const cancelled_error&) {
        cancellation = std::current_exception();
    } catch (const http::connection_closed&) {
        // The connection ended under the handler: nothing more to report.
    } catch (...) {
        failure = std::current_exception();
    }
    notice.notify = nullptr;
    if (going_away) {
        if (cancellation) {
            going_away->cancel();
        }
        co_await gather_settled(*going_away);  // it uses ws: wait for it, whatever happens
    }
    if (cancellation) {
        ws.abort();
        std::rethrow_exception(cancellation);
    }
    co_await ws.finish(failure ? http::close_code::internal_error : http::close_code::normal);
    if (failure) {
        std::rethrow_exception(failure);
    }
}

// A bad handshake: the status and a one-line reason.
inline http::response refuse(int status, std::string why) {
    http::response r = http::text_response(status, std::move(why) + "\n");
    if (status == 426) {
        r.headers.add("Upgrade", "websocket");
        r.headers.add("Sec-WebSocket-Version", "13");
    }
    return r;
}

/// The server's answer to an opening handshake (RFC 6455 §4.2.2): a 101 with
/// the protocol switch, or the refusal.
inline http::response accept(const http::request& r, const http::websocket_handler& handler,
                             const http::ws_route_options& options) {
    using corio::detail::http_grammar::iequals;
    if (r.method != "GET") {
        return refuse(405, "WebSocket handshake must be GET");
    }
    if (!r.headers.has_token("Upgrade", "websocket") || !r.headers.has_token("Connection", "upgrade")) {
        return refuse(426, "WebSocket endpoint: Upgrade: websocket required");
    }
    if (r.version.major != 1 || r.version.minor < 1) {
        return refuse(400, "WebSocket handshake needs HTTP/1.1");
    }
    const std::vector<std::string_view> versions = r.headers.get_all("Sec-WebSocket-Version");
    if (versions.size() != 1 || http_grammar::trim_ows(versions[0]) != "13") {
        return refuse(426, "unsupported Sec-WebSocket-Version (13 is)");
    }
    const std::vector<std::string_view> keys = r.headers.get_all("Sec-WebSocket-Key");
    if (keys.size() != 1) {
        return refuse(400, "exactly one Sec-WebSocket-Key required");
    }
    const std::string_view key = http_grammar::trim_ows(keys[0]);
    // 16 bytes in base64: 22 characters and "==".
    if (key.size() != 24 || key.substr(22) != "==") {
        return refuse(400, "Sec-WebSocket-Key is not 16 bytes in base64");
    }
    for (const char c : key.substr(0, 22)) {
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/')) {
            return refuse(400, "Sec-WebSocket-Key is not 16 bytes in base64");
        }
    }
    if (options.check_origin && !options.check_origin(r.headers.get_or("Origin", ""))) {
        return refuse(403, "origin not allowed");
    }
    std::string subprotocol;
    for (const std::string_view value : r.headers.get_all("Sec-WebSocket-Protocol")) {
        std::string_view rest = value;
        while (subprotocol.empty() && !rest.empty()) {
            const std::size_t comma = rest.find(',');
            const std::string_view offered = http_grammar::trim_ows(rest.substr(0, comma));
            rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
            for (const std::string& ours : options.websocket.subprotocols) {
                if (ours == offered) {
                    subprotocol = ours;
                    break;
                }
            }
        }
    }
    std::string extensions;
    const std::optional<deflate_params> deflate =
        negotiate_server(r.headers.get_all("Sec-WebSocket-Extensions"), options.websocket.compression, extensions);

    http::response answer;
    answer.status = 101;
    answer.headers.add("Upgrade", "websocket");
    answer.headers.add("Connection", "Upgrade");
    answer.headers.add("Sec-WebSocket-Accept", websocket_accept_key(key));
    if (!subprotocol.empty()) {
        answer.headers.add("Sec-WebSocket-Protocol", subprotocol);
    }
    if (deflate) {
        answer.headers.add("Sec-WebSocket-Extensions", extensions);
    }
    auto sw = std::make_shared<http::protocol_switch>();
    sw->run = [handler, ws_options = options.websocket, deflate, subprotocol](
                  http_connection_stream stream, std::string leftover, http::request& req,
                  http::shutdown_notice& notice) {
        return serve(handler, ws_options, deflate, subprotocol, std::move(stream),
                     std::move(leftover), req, notice);
    };
    answer.upgrade = std::move(sw);
    return answer;
}

CORIO_HEADER_COROUTINE inline task<http::response> ready(http::response r) { co_return r; }

CORIO_DECL std::function<task<http::response>(http::request&)> route(
    http::websocket_handler handler, http::ws_route_options options) {
    if (!handler) {
        throw std::invalid_argument("corio::http::router::websocket: empty handler");
    }
    return [handler = std::move(handler), options = std::move(options)](http::request& r) {
        return ready(accept(r, handler, options));
    };
}

// ws:// → http://, wss:// → https:// (the url type knows only those two).
inline http::url parse_ws_url(std::string_view text) {
    std::string mapped(text);
    const auto starts = [&](std::string_view prefix) {
        return text.size() >= prefix.size() && http_grammar::iequals(text.substr(0, prefix.size()), prefix);
    };
    if (starts("ws://")) {
        mapped = "http://" + std::string(text.substr(5));
    } else if (starts("wss://")) {
        mapped = "https://" + std::string(text.substr(6));
    }
    return http::url::parse(mapped);
}

inline http::websocket_handshake_error websocket_handshake_error_closed(const std::string& url) {
    return http::websocket_handshake_error(0, url, "corio::http ws_connect " + url +
                                                       ": connection closed before the handshake answer");
}

// The client's opening handshake on a connected stream.
CORIO_HEADER_COROUTINE inline task<http::websocket> client_handshake(std::shared_ptr<http_session_state> session,
                                                                     http::url u, std::string shown_url,
                                                                     http::ws_connect_options options,
                                                                     http_connection_stream stream) {
    std::string key_bytes(16, '\0');
    {
        std::random_device device;
        for (char& c : key_bytes) {
            c = static_cast<char>(device() & 0xFF);
        }
    }
    const std::string key = base64_encode(key_bytes);
    std::string out;
    const std::string_view query = u.query();
    http_wire::append_request_line(out, "GET", u.path(), u.has_query() ? &query : nullptr, http::http_version{});
    if (!options.headers.contains("Host")) {
        out += "Host: ";
        http_wire::append_host(out, u);
        if (!u.default_port()) {
            out += ':';
            http_wire::append_decimal(out, u.port());
        }
        out += "\r\n";
    }
    out += "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ";
    out += key;
    out += "\r\n";
    if (!options.websocket.subprotocols.empty()) {
        out += "Sec-WebSocket-Protocol: ";
        for (std::size_t i = 0; i < options.websocket.subprotocols.size(); ++i) {
            out += i == 0 ? "" : ", ";
            out += options.websocket.subprotocols[i];
        }
        out += "\r\n";
    }
    const std::string offer = client_offer(options.websocket.compression);
    if (!offer.empty()) {
        out += "Sec-WebSocket-Extensions: " + offer + "\r\n";
    }
    if (!options.origin.empty()) {
        out += "Origin: " + options.origin + "\r\n";
    }
    if (!options.headers.contains("User-Agent")) {
        out += "User-Agent: corio/0.1\r\n";
    }
    http_wire::append_fields(out, options.headers);
    out += "\r\n";
    co_await stream.write(std::string_view(out));

    http::response_parser parser;
    parser.set_request_method("GET");
    std::string buffer(16 * 1024, '\0');
    std::size_t begin = 0;
    std::size_t end = 0;
    for (;;) {
        bool complete = false;
        while (begin < end) {
            const http::parse_result r = parser.feed(std::span<const char>(buffer.data() + begin, end - begin));
            begin += r.consumed;
            if (r.status == http::parse_status::headers_complete) {
                const int status = parser.message().status;
                if (status == 101 || status >= 200) {
                    complete = true;
                    break;
                }
            }
        }
        if (complete) {
            break;
        }
        if (begin == end) {
            begin = end = 0;
        }
        const std::size_t n =
            co_await stream.read_some(std::as_writable_bytes(std::span<char>(buffer.data() + end, buffer.size() - end)));
        if (n == 0) {
            throw websocket_handshake_error_closed(shown_url);
        }
        end += n;
    }
    const http::response& answer = parser.message();
    const auto refuse_answer = [&](const std::string& why) {
        return http::websocket_handshake_error(answer.status, shown_url,
                                               "corio::http ws_connect " + shown_url + ": " + why);
    };
    if (answer.status != 101) {
        throw refuse_answer("server answered " + std::to_string(answer.status) + " " + answer.reason +
                            " instead of 101 Switching Protocols");
    }
    if (!answer.headers.has_token("Upgrade", "websocket") || !answer.headers.has_token("Connection", "upgrade")) {
        throw refuse_answer("101 without Upgrade: websocket / Connection: Upgrade");
    }
    if (http_grammar::trim_ows(answer.headers.get_or("Sec-WebSocket-Accept", "")) != websocket_accept_key(key)) {
        throw refuse_answer("wrong Sec-WebSocket-Accept");
    }
    std::string subprotocol(http_grammar::trim_ows(answer.headers.get_or("Sec-WebSocket-Protocol", "")));
    if (!subprotocol.empty()) {
        bool offered = false;
        for (const std::string& p : options.websocket.subprotocols) {
            offered = offered || p == subprotocol;
        }
        if (!offered) {
            throw refuse_answer("server chose subprotocol '" + subprotocol + "', which was not offered");
        }
    }
    std::optional<deflate_params> deflate;
    try {
        deflate = accept_client(answer.headers.get_all("Sec-WebSocket-Extensions"), options.websocket.compression);
    } catch (const std::invalid_argument& e) {
        throw refuse_answer(std::string("bad Sec-WebSocket-Extensions: ") + e.what());
    }
    const std::string_view leftover(buffer.data() + begin, end - begin);
    co_return http::websocket(std::make_unique<engine>(std::move(stream), role::client, options.websocket, deflate,
                                                       std::move(subprotocol), leftover, std::move(session)));
}

CORIO_HEADER_COROUTINE CORIO_DECL task<http::websocket> connect(
    std::shared_ptr<http_session_state> session, std::string url_text,
    http::ws_connect_options options) {
    const http::url u = parse_ws_url(url_text);
    const auto timeout = options.handshake_timeout;
    std::exception_ptr failure;
    std::string failure_text;
    bool timed_out = false;
    std::optional<http::websocket> ws;
    try {
        task<http_connection_stream> connecting = session->connect_stream(u);
        http_connection_stream stream = co_await wait_for(std::move(connecting), timeout);
        task<http::websocket> handshake =
            client_handshake(session, u, url_text, std::move(options), std::move(stream));
        ws.emplace(co_await wait_for(std::move(handshake), timeout));
    } catch (const timeout_error&) {
        timed_out = true;
    } catch (const http::websocket_error&) {
        throw;
    } catch (const std::system_error& e) {
        failure = std::current_exception();
        failure_text = e.what();
    } catch (const resolve_error& e) {
        failure = std::current_exception();
        failure_text = e.what();
    } catch (const http::protocol_error& e) {
        failure = std::current_exception();
        failure_text = e.what();
    }
#if defined(CORIO_HTTP_HAS_TLS)
    catch (const tls::tls_error& e) {
        failure = std::current_exception();
        failure_text = e.what();
    }
#endif
    if (timed_out) {
        throw timeout_error("corio::http ws_connect " + url_text + ": handshake timeout (" +
                            std::to_string(timeout.count()) + " ms)");
    }
    if (failure) {
        throw http::client_connection_error(url_text, "corio::http ws_connect " + url_text + ": " + failure_text,
                                            failure);
    }
    co_return std::move(*ws);
}

#endif  // CORIO_HTTP_DEFINITIONS

}  // namespace corio::detail::ws

namespace corio::http {

/// Opens a WebSocket connection to `url` (ws://, wss://, or http(s)://) with
/// its own connection (asyncio's `websockets.connect`). Throws
/// websocket_handshake_error (not a 101, or a bad 101), client_connection_error
/// (refused, DNS, TLS), corio::timeout_error (handshake_timeout), url_error.
[[nodiscard]] inline task<websocket> ws_connect(std::string url, ws_connect_options options) {
    auto session = std::make_shared<corio::detail::http_session_state>(session_options{});
    return corio::detail::ws::connect(std::move(session), std::move(url), std::move(options));
}
/// ws_connect with default options. (An overload, not a default argument: see http::start_server.)
[[nodiscard]] inline task<websocket> ws_connect(std::string url) {
    return ws_connect(std::move(url), ws_connect_options{});
}

}  // namespace corio::http
