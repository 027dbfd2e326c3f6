#pragma once

// The errors corio::http throws, in one place so that code catching them
// needs only this header: protocol_error (a malformed or oversized message),
// url_error (a malformed URL or Location), and the client's
// client_connection_error, too_many_redirects and body_too_large, and the
// server's request_body_error. Timeouts are
// corio::timeout_error and cancellation corio::cancelled_error, as everywhere.

#include <cstddef>
#include <cstdint>
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace corio::http {

/// The input was not a valid HTTP/1.1 message, or went past a limit.
/// what() reads "http protocol error: <problem> at byte <offset>"; the offset
/// counts every byte the parser consumed since it was constructed.
class protocol_error : public std::runtime_error {
public:
    /// What kind of failure: lets a server pick its status code.
    enum class kind {
        bad_message,         ///< malformed syntax or framing (400 / bad response)
        line_too_long,       ///< request line over max_line_length (414 for the request line)
        headers_too_large,   ///< header section over max_header_bytes or max_header_count (431)
        body_too_large,      ///< body over max_body_size (413)
        incomplete_message,  ///< the connection closed before the message ended
        not_implemented,     ///< a request transfer coding corio cannot decode (501)
    };

    /// A failure of kind `k`: `problem` in words, found at byte `offset`.
    protocol_error(kind k, const std::string& problem, std::uint64_t offset)
        : std::runtime_error("http protocol error: " + problem + " at byte " +
                             std::to_string(offset)),
          m_kind(k),
          m_offset(offset) {}

    /// The kind of failure (see kind).
    [[nodiscard]] kind error_kind() const noexcept { return m_kind; }
    /// Byte offset in the parsed stream where the problem was found.
    [[nodiscard]] std::uint64_t offset() const noexcept { return m_offset; }

private:
    kind m_kind;
    std::uint64_t m_offset;
};

/// A client response's body went past max_body_size (http::session_options,
/// http::request_options), counted after gzip/deflate decoding. A
/// protocol_error of kind body_too_large; what() names the request and the
/// limit. The response's connection has been closed.
class body_too_large : public protocol_error {
public:
    /// The response of `url` passed `limit` bytes at byte `offset`; `problem` in words.
    body_too_large(std::string url, const std::string& problem, std::uint64_t limit,
                   std::uint64_t offset)
        : protocol_error(kind::body_too_large, problem, offset),
          m_url(std::move(url)),
          m_limit(limit) {}

    /// The URL whose response was too large.
    [[nodiscard]] const std::string& url() const noexcept { return m_url; }
    /// The limit that was passed, in bytes.
    [[nodiscard]] std::uint64_t limit() const noexcept { return m_limit; }

private:
    std::string m_url;
    std::uint64_t m_limit;
};

/// Reading a streamed request body (http::body_reader) failed: the client
/// closed or reset the connection before the body ended (kind
/// incomplete_message), the body passed the route's limit (body_too_large),
/// or its chunked framing was malformed (bad_message). A protocol_error, so
/// code catching those catches this too; http::server answers the request
/// with the kind's status (413, 400; none when the client is gone) if the
/// handler lets it escape, and closes the connection after the response.
class request_body_error : public protocol_error {
public:
    using protocol_error::protocol_error;
};

/// A URL (or URL reference) was malformed: the message names what was wrong
/// and the offset of the offending character in the input.
class url_error : public std::invalid_argument {
public:
    /// `problem` in words, found at character `offset` of the input.
    url_error(const std::string& problem, std::size_t offset)
        : std::invalid_argument("invalid URL: " + problem + " at offset " + std::to_string(offset)),
          m_offset(offset) {}

    /// Offset in the parsed string of the offending character.
    [[nodiscard]] std::size_t offset() const noexcept { return m_offset; }

private:
    std::size_t m_offset;
};

/// The request could not be carried out at the connection level: connection
/// refused or reset, a name that does not resolve, a TLS handshake or
/// certificate failure, a connection cut inside a TLS record (while reading
/// the head or the body, text() and read_chunk() alike), or the server
/// closing the connection before the response ended (never a truncated
/// success; over https a body delimited by the close must end with TLS
/// close_notify, RFC 9112 §9.8). what() reads
/// "GET http://host/path: <cause>"; cause() holds the original exception
/// (std::system_error, corio::resolve_error, corio::tls::tls_error,
/// corio::http::protocol_error) when there was one.
class client_connection_error : public std::runtime_error {
public:
    /// Fetching `url` failed; `what` is the message what() returns, `cause` the exception
    /// behind it (null when none).
    client_connection_error(std::string url, const std::string& what,
                            std::exception_ptr cause = nullptr)
        : std::runtime_error(what), m_url(std::move(url)), m_cause(std::move(cause)) {}

    /// The URL being fetched when it failed.
    [[nodiscard]] const std::string& url() const noexcept { return m_url; }
    /// The underlying exception, or null.
    [[nodiscard]] const std::exception_ptr& cause() const noexcept { return m_cause; }

private:
    std::string m_url;
    std::exception_ptr m_cause;
};

/// A request was redirected more than session_options::max_redirects times
/// (aiohttp's TooManyRedirects). history() lists every URL visited, the
/// requested one first, the Location that was not followed last.
class too_many_redirects : public std::runtime_error {
public:
    /// `history`: the URLs visited, not empty; `max` the limit passed (for the message).
    too_many_redirects(std::vector<std::string> history, int max)
        : std::runtime_error("corio::http: more than " + std::to_string(max) +
                             " redirects, last to " +
                             (history.empty() ? std::string() : history.back())),
          m_history(std::move(history)) {}

    /// Every URL visited: the requested one first, the Location not followed last.
    [[nodiscard]] const std::vector<std::string>& history() const noexcept { return m_history; }
    /// The Location that was not followed (history().back()).
    [[nodiscard]] const std::string& last_url() const noexcept { return m_history.back(); }

private:
    std::vector<std::string> m_history;
};

}  // namespace corio::http
