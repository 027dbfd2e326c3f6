#pragma once

// Options of corio::http::client_session (aiohttp's ClientSession,
// TCPConnector and ClientTimeout arguments): per session, and per request.

#include <corio/http/message.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
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

/// The default of session_options::max_body_size: 1 GiB. aiohttp has no
/// limit, but then a 1 MB gzip bomb is 1 GB of memory per request; a JSON or
/// text body anywhere near 1 GiB is already a mistake, and a larger download
/// can raise the limit for its request (request_options::max_body_size).
inline constexpr std::uint64_t default_max_body_size = std::uint64_t{1} << 30;

/// A max_body_size that never stops a body (streaming a download of any size).
inline constexpr std::uint64_t no_body_limit = std::numeric_limits<std::uint64_t>::max();

/// Options of a client_session (aiohttp's ClientSession + TCPConnector arguments).
struct session_options {
    /// Most connections open at once, over all hosts (0 = unlimited).
    std::size_t limit = 100;
    /// Most connections open at once to one (scheme, host, port) (0 = unlimited).
    std::size_t limit_per_host = 0;
    /// Timeouts of each request (total 5 minutes, no connect or read limit), unless the request
    /// gives its own (request_options::timeouts).
    client_timeouts timeouts{};
    /// Redirects followed per request before too_many_redirects; 0 returns
    /// the 3xx response itself.
    int max_redirects = 10;
    /// Sent with every request (a request's own header of the same name wins).
    http::headers default_headers{};
    /// Decode Content-Encoding gzip / deflate (needs zlib: CORIO_WITH_ZLIB).
    bool auto_decompress = true;
    /// Most body bytes a response may deliver, counted after gzip/deflate
    /// decoding, through text() / bytes() and read_chunk() alike, whatever
    /// the framing (Content-Length, chunked, until close). Past it the read
    /// throws http::body_too_large and the connection is closed (a
    /// Content-Length already over it fails at the first read).
    /// no_body_limit turns it off.
    std::uint64_t max_body_size = default_max_body_size;
    /// How long an idle keep-alive connection stays in the pool (0 = never kept).
    std::chrono::milliseconds keep_alive_timeout{15'000};
    /// https only: CA file to trust instead of the system store ("" = system).
    std::string ca_file{};
    /// https only: verify the server's certificate and host name.
    bool verify = true;
};

/// Per-request settings for client_session::send.
struct request_options {
    /// Headers added to the session's default_headers, winning over them.
    http::headers headers{};
    /// Body sent as is; a non-empty one gets a Content-Length but no Content-Type (put one in
    /// `headers`).
    std::string body{};
    /// Replaces the session's timeouts for this request.
    std::optional<client_timeouts> timeouts{};
    /// Replaces the session's max_redirects for this request.
    std::optional<int> max_redirects{};
    /// Replaces the session's max_body_size for this request (no_body_limit
    /// for a large download read with read_chunk()).
    std::optional<std::uint64_t> max_body_size{};
};
}  // namespace corio::http
