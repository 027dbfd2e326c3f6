#pragma once

// The values of corio::http::websocket: messages, options of both sides, and
// the errors a connection ends with.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <corio/http/message.hpp>

namespace corio::http {

/// What a data message carried (RFC 6455 §5.6).
enum class message_type { text, binary };

/// One whole WebSocket message (its fragments joined, decompressed).
struct ws_message {
    /// Text or binary, from the first frame's opcode.
    message_type type = message_type::text;
    /// The payload bytes, all fragments joined.
    std::string data;

    /// True for a text message.
    [[nodiscard]] bool is_text() const noexcept { return type == message_type::text; }
    /// True for a binary message.
    [[nodiscard]] bool is_binary() const noexcept { return type == message_type::binary; }
    /// The payload; for a text message valid UTF-8 (checked on receipt).
    [[nodiscard]] std::string_view text() const noexcept { return data; }
};

/// Close status codes (RFC 6455 §7.4.1).
namespace close_code {
/// The purpose of the connection was fulfilled.
inline constexpr std::uint16_t normal = 1000;
/// An endpoint is going away (server shutting down, browser leaving the page).
inline constexpr std::uint16_t going_away = 1001;
/// The peer broke the protocol (a malformed or unexpected frame).
inline constexpr std::uint16_t protocol_error = 1002;
/// A kind of data the endpoint cannot take (e.g. binary where only text is).
inline constexpr std::uint16_t unsupported_data = 1003;
/// No status code in the peer's Close frame (never sent).
inline constexpr std::uint16_t no_status = 1005;
/// The connection ended without a Close frame (never sent).
inline constexpr std::uint16_t abnormal = 1006;
/// Data inconsistent with its type: a text message that is not valid UTF-8.
inline constexpr std::uint16_t invalid_payload = 1007;
/// A message that breaks the endpoint's policy (generic, when no other code fits).
inline constexpr std::uint16_t policy_violation = 1008;
/// A message larger than the endpoint accepts (websocket_options::max_message_size).
inline constexpr std::uint16_t message_too_big = 1009;
/// Client only: the server did not agree to an extension the client needs.
inline constexpr std::uint16_t mandatory_extension = 1010;
/// Server only: an unexpected condition kept it from serving the request.
inline constexpr std::uint16_t internal_error = 1011;
}  // namespace close_code

/// Base of the WebSocket errors.
class websocket_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The connection is closed: by the peer's Close frame, by our close(), or
/// by a protocol violation we closed it for (code 1002 / 1007 / 1009 ...).
/// Every receive() and send after the close throws it again. code() is
/// the status of the Close frame (1005 when it carried none).
class connection_closed : public websocket_error {
public:
    /// `code` and `reason` are the Close frame's; `by_peer` whether the peer sent it first;
    /// `what` is the message what() returns.
    connection_closed(std::uint16_t code, std::string reason, bool by_peer, std::string what)
        : websocket_error(std::move(what)), m_code(code), m_reason(std::move(reason)), m_by_peer(by_peer) {}

    /// Status code of the Close frame (see close_code); 1005 when it had none, 1006 when none came.
    [[nodiscard]] std::uint16_t code() const noexcept { return m_code; }
    /// The Close frame's reason text (at most 123 bytes); often "".
    [[nodiscard]] const std::string& reason() const noexcept { return m_reason; }
    /// True when the peer started the close (its Close frame came first).
    [[nodiscard]] bool by_peer() const noexcept { return m_by_peer; }
    /// A normal end: code 1000 (normal), 1001 (going away) or 1005 (no status).
    [[nodiscard]] bool normal() const noexcept {
        return m_code == close_code::normal || m_code == close_code::going_away || m_code == close_code::no_status;
    }

private:
    std::uint16_t m_code;
    std::string m_reason;
    bool m_by_peer;
};

/// The TCP (or TLS) connection ended or failed without a closing handshake:
/// reset, end of stream, or no pong within the heartbeat's timeout. code() is 1006.
class connection_lost : public connection_closed {
public:
    /// `what` says how the connection ended (reset, end of stream, pong timeout).
    explicit connection_lost(std::string what)
        : connection_closed(close_code::abnormal, "", false, std::move(what)) {}
};

/// The opening handshake failed (client side): a status other than 101, or
/// a 101 whose headers do not make a valid WebSocket answer. status() is the
/// HTTP status received.
class websocket_handshake_error : public websocket_error {
public:
    /// `status` is the HTTP status received (0 if the connection closed first); `url` the URL
    /// given to ws_connect; `what` the message what() returns.
    websocket_handshake_error(int status, std::string url, std::string what)
        : websocket_error(std::move(what)), m_status(status), m_url(std::move(url)) {}
    /// The HTTP status of the server's answer; 0 when the connection closed before one came.
    [[nodiscard]] int status() const noexcept { return m_status; }
    /// The URL given to ws_connect, as written.
    [[nodiscard]] const std::string& url() const noexcept { return m_url; }

private:
    int m_status;
    std::string m_url;
};

/// permessage-deflate (RFC 7692) settings. On a client, what it offers; on a
/// server, what it accepts and asks for.
struct deflate_options {
    /// Offer (client) or accept (server) permessage-deflate at all. Needs zlib
    /// (CORIO_WITH_ZLIB); without it nothing is offered or accepted.
    bool enabled = true;
    /// The server starts each message it sends with a fresh compression context.
    bool server_no_context_takeover = false;
    /// The client starts each message it sends with a fresh compression context.
    bool client_no_context_takeover = false;
    /// LZ77 window of what the server sends, 9..15 (8 is not offered: zlib cannot make it).
    int server_max_window_bits = 15;
    /// LZ77 window of what the client sends, 9..15.
    int client_max_window_bits = 15;
    /// Messages shorter than this are sent uncompressed (a compressed frame is
    /// never shorter for them).
    std::size_t min_size = 32;
};

/// Options of a WebSocket connection, either side.
struct websocket_options {
    /// Largest message accepted, after decompression (a compressed message
    /// inflating past it is stopped there: no deflate bomb). Larger → close 1009.
    std::size_t max_message_size = 16 * 1024 * 1024;
    /// After close() sends its Close frame (or after answering the peer's),
    /// how long to wait for the peer's Close frame / the end of the TCP connection.
    std::chrono::milliseconds close_timeout{5'000};
    /// Keep-alive: when nothing arrived for this long while a receive() waits,
    /// send a ping; with no frame back within pong_timeout the connection is
    /// dropped (connection_lost). Unset: no pings (aiohttp's heartbeat).
    std::optional<std::chrono::milliseconds> heartbeat{};
    /// With heartbeat set: how long to wait for any frame after a ping before connection_lost.
    std::chrono::milliseconds pong_timeout{10'000};
    /// Subprotocols: the client offers them in order; the server picks the
    /// first of the client's offers that it lists.
    std::vector<std::string> subprotocols{};
    /// permessage-deflate: offered by a client, accepted by a server (see deflate_options).
    deflate_options compression{};
    /// Bytes read per recv.
    std::size_t read_buffer_size = 64 * 1024;
};

/// Options of ws_connect.
struct ws_connect_options {
    /// Options of the connection once the handshake succeeded.
    websocket_options websocket{};
    /// Extra request headers (Authorization, Cookie, ...).
    http::headers headers{};
    /// Sent as Origin when not empty.
    std::string origin{};
    /// The whole opening handshake (connect, TLS, request, 101) must finish within this.
    std::chrono::milliseconds handshake_timeout{10'000};
};

/// Options of a server's WebSocket route.
struct ws_route_options {
    /// Options of each connection accepted on the route.
    websocket_options websocket{};
    /// Called with the request's Origin ("" when absent); false → 403, no upgrade.
    std::function<bool(std::string_view origin)> check_origin{};
};

}  // namespace corio::http
