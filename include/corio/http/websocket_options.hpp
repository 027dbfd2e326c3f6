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
    message_type type = message_type::text;
    std::string data;

    [[nodiscard]] bool is_text() const noexcept { return type == message_type::text; }
    [[nodiscard]] bool is_binary() const noexcept { return type == message_type::binary; }
    /// The payload; for a text message valid UTF-8 (checked on receipt).
    [[nodiscard]] std::string_view text() const noexcept { return data; }
};

/// Close status codes (RFC 6455 §7.4.1).
namespace close_code {
inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t going_away = 1001;
inline constexpr std::uint16_t protocol_error = 1002;
inline constexpr std::uint16_t unsupported_data = 1003;
/// No status code in the peer's Close frame (never sent).
inline constexpr std::uint16_t no_status = 1005;
/// The connection ended without a Close frame (never sent).
inline constexpr std::uint16_t abnormal = 1006;
inline constexpr std::uint16_t invalid_payload = 1007;
inline constexpr std::uint16_t policy_violation = 1008;
inline constexpr std::uint16_t message_too_big = 1009;
inline constexpr std::uint16_t mandatory_extension = 1010;
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
    connection_closed(std::uint16_t code, std::string reason, bool by_peer, std::string what)
        : websocket_error(std::move(what)), m_code(code), m_reason(std::move(reason)), m_by_peer(by_peer) {}

    [[nodiscard]] std::uint16_t code() const noexcept { return m_code; }
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
    explicit connection_lost(std::string what)
        : connection_closed(close_code::abnormal, "", false, std::move(what)) {}
};

/// The opening handshake failed (client side): a status other than 101, or
/// a 101 whose headers do not make a valid WebSocket answer. status() is the
/// HTTP status received.
class websocket_handshake_error : public websocket_error {
public:
    websocket_handshake_error(int status, std::string url, std::string what)
        : websocket_error(std::move(what)), m_status(status), m_url(std::move(url)) {}
    [[nodiscard]] int status() const noexcept { return m_status; }
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
    std::chrono::milliseconds pong_timeout{10'000};
    /// Subprotocols: the client offers them in order; the server picks the
    /// first of the client's offers that it lists.
    std::vector<std::string> subprotocols{};
    deflate_options compression{};
    /// Bytes read per recv.
    std::size_t read_buffer_size = 64 * 1024;
};

/// Options of ws_connect.
struct ws_connect_options {
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
    websocket_options websocket{};
    /// Called with the request's Origin ("" when absent); false → 403, no upgrade.
    std::function<bool(std::string_view origin)> check_origin{};
};

}  // namespace corio::http
