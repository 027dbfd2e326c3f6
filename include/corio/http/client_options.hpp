#pragma once

// Options of corio::http::client_session (aiohttp's ClientSession,
// TCPConnector and ClientTimeout arguments): per session, and per request.

#include <corio/http/message.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

namespace corio::http {

/// Timeouts of a request (aiohttp's ClientTimeout); an empty optional means
/// no limit. Each raises corio::timeout_error naming which limit passed.
struct client_timeouts {
    /// The whole operation: waiting for a pooled connection, connecting,
    /// every redirect, and reading the body with text() / bytes() / read_chunk()
    /// (as in aiohttp, the body read counts).
    std::optional<std::chrono::milliseconds> total{300'000};
    /// Name resolution + TCP connect + TLS handshake of a new connection.
    std::optional<std::chrono::milliseconds> connect{};
    /// Each read from the socket (the gap between two pieces of the response).
    std::optional<std::chrono::milliseconds> sock_read{};
};

/// Options of a client_session (aiohttp's ClientSession + TCPConnector arguments).
struct session_options {
    /// Most connections open at once, over all hosts (0 = unlimited).
    std::size_t limit = 100;
    /// Most connections open at once to one (scheme, host, port) (0 = unlimited).
    std::size_t limit_per_host = 0;
    client_timeouts timeouts{};
    /// Redirects followed per request before too_many_redirects; 0 returns
    /// the 3xx response itself.
    int max_redirects = 10;
    /// Sent with every request (a request's own header of the same name wins).
    http::headers default_headers{};
    /// Decode Content-Encoding gzip / deflate (needs zlib: CORIO_WITH_ZLIB).
    bool auto_decompress = true;
    /// How long an idle keep-alive connection stays in the pool (0 = never kept).
    std::chrono::milliseconds keep_alive_timeout{15'000};
    /// https only: CA file to trust instead of the system store ("" = system).
    std::string ca_file{};
    /// https only: verify the server's certificate and host name.
    bool verify = true;
};

/// Per-request settings for client_session::send.
struct request_options {
    http::headers headers{};
    std::string body{};
    /// Replaces the session's timeouts for this request.
    std::optional<client_timeouts> timeouts{};
    /// Replaces the session's max_redirects for this request.
    std::optional<int> max_redirects{};
};
}  // namespace corio::http
