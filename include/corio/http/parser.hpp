#pragma once

// corio::http incremental HTTP/1.1 message parser (RFC 9112) for requests
// (servers) and responses (clients). No I/O: bytes go in through feed(), events
// come out. Never reads outside the span it is given, uses no recursion, and
// throws nothing but protocol_error for bad input (std::bad_alloc aside).

#include <corio/http/errors.hpp>
#include <corio/http/message.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

namespace corio::http {

/// Limits a parser enforces; each violation is a protocol_error.
struct parser_limits {
    /// Longest start line, header line, chunk-size line or trailer line (without CRLF).
    std::size_t max_line_length = 8 * 1024;
    /// Largest header section (start line + fields + line ends), and separately the trailer
    /// section.
    std::size_t max_header_bytes = 64 * 1024;
    /// Most header fields in a message (trailer fields counted separately, same limit).
    std::size_t max_header_count = 100;
    /// Largest decoded body (Content-Length, sum of chunks, or read-until-close).
    std::uint64_t max_body_size = 64ull * 1024 * 1024;
};

/// What feed() stopped at.
enum class parse_status {
    need_more,         ///< all input consumed; feed more (or call finish() at end of stream)
    headers_complete,  ///< message() has start line and headers; the body follows
    body_chunk,        ///< (stream mode) parse_result::body holds the next piece of body
    message_complete,  ///< message() is whole; the next feed() starts the next message
};

/// How body bytes are delivered.
enum class body_mode {
    accumulate,  ///< appended to message().body; no body_chunk events
    stream,      ///< returned as body_chunk events (spans into the fed input); message().body stays
                 ///< empty
};

/// The outcome of one feed() call.
struct parse_result {
    /// Bytes of the input consumed; the caller passes the rest to the next feed().
    std::size_t consumed = 0;
    /// What this feed() produced (see parse_status).
    parse_status status = parse_status::need_more;
    /// For body_chunk: a subspan of the input given to feed() (valid as long as that input is).
    std::span<const char> body{};
};

}  // namespace corio::http

namespace corio::detail {

template <typename Message>
class basic_parser;

}  // namespace corio::detail

namespace corio::http {

/// Parses requests on a server connection. See corio/http/detail/parser.hpp (detail::basic_parser)
/// for the feed() protocol and the strictness policies; a request without Content-Length or
/// Transfer-Encoding has no body.
using request_parser = detail::basic_parser<request>;

/// Parses responses on a client connection. Call set_request_method() with
/// the method of the request each response answers (HEAD → no body). 1xx, 204
/// and 304 responses have no body; after a 1xx message_complete, the final
/// response follows (for 101 the connection stops being HTTP). A response
/// without a length runs until finish() is called at end of stream.
using response_parser = detail::basic_parser<response>;

}  // namespace corio::http

// The state machine both parsers are made of.
#include <corio/http/detail/parser.hpp>
