#pragma once

// corio::http::client_response: what a client_session request returns (the
// status line and headers, the body read on demand), and the connection it
// holds until the body has been read.

#include <corio/detail/config.hpp>
#include <corio/detail/separate_compilation.hpp>
#include <corio/event_loop.hpp>
#include <corio/http/client_options.hpp>
#include <corio/http/detail/inflate.hpp>
#include <corio/http/detail/pool.hpp>
#include <corio/http/detail/timeouts.hpp>
#include <corio/http/errors.hpp>
#include <corio/http/message.hpp>
#include <corio/http/parser.hpp>
#include <corio/http/url.hpp>
#include <corio/sleep.hpp>
#include <corio/task.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace corio::detail {

class http_session_state;

}  // namespace corio::detail

namespace corio::http {

class client_session;

/// The response to a client_session request (aiohttp's ClientResponse).
///
/// The status line and headers are read when the request's co_await returns;
/// the body is read on demand with text() / bytes() (all of it) or
/// read_chunk() (streaming). The response owns its connection until the body
/// has been read to the end, then gives it back to the session's pool for
/// reuse (keep-alive); release() or destroying the response before that
/// closes the connection instead. A response may outlive its session (the
/// pool state is shared): its connection is then closed when released.
/// Destroy responses and sessions before their event loop, on its thread.
///
/// Body reads honour the request's total and sock_read timeouts
/// (corio::timeout_error). A connection that ends before the body does, or
/// fails (a reset, a TLS record cut short), throws client_connection_error
/// (cause() holds the std::system_error or tls::tls_error); so does an https
/// body delimited by the connection's close that ends without TLS
/// close_notify (RFC 9112 §9.8: it may be truncated); malformed framing or a corrupt gzip/deflate body
/// throws protocol_error; a body past max_body_size (counted after decoding)
/// throws body_too_large. After any error the connection is closed.
/// Decoding runs in 64 KiB slices and reading yields to the loop every
/// 256 KiB handed out, so no body holds the loop for more than a few milliseconds.
/// Cancelling a body read closes the connection and throws cancelled_error.
/// Move-only; not thread-safe; one body read at a time.
class client_response {
public:
    /// Takes the response and its connection; the source is left empty.
    client_response(client_response&&) noexcept = default;
    /// Takes the other response; the one held before is dropped as by its destructor (its
    /// connection closed unless its body was read to the end).
    client_response& operator=(client_response&&) noexcept = default;
    client_response(const client_response&) = delete;
    client_response& operator=(const client_response&) = delete;
    ~client_response() = default;

    /// The status code (e.g. 200).
    [[nodiscard]] int status() const noexcept { return m_status; }
    /// True for a status below 400.
    [[nodiscard]] bool ok() const noexcept { return m_status < 400; }
    /// The reason phrase as sent by the server (may be empty).
    [[nodiscard]] std::string_view reason() const noexcept { return m_reason; }
    /// The response header fields (case-insensitive lookup).
    [[nodiscard]] const http::headers& headers() const noexcept { return m_headers; }
    /// The URL this response came from (the last one after redirects).
    [[nodiscard]] const http::url& url() const noexcept { return m_url; }
    /// The HTTP version of the response.
    [[nodiscard]] http_version version() const noexcept { return m_version; }
    /// Redirects followed to get here.
    [[nodiscard]] int redirects() const noexcept { return m_redirects; }
    /// True once the whole body has been read (or there was none).
    [[nodiscard]] bool body_complete() const noexcept { return m_done; }

    /// Largest piece read_chunk() returns, after decoding (64 KiB): a
    /// streaming reader's memory stays bounded whatever the server sends.
    static constexpr std::size_t max_chunk_size = 64 * 1024;

    /// Reads the rest of the body and returns it (decoded when it was sent
    /// gzip/deflate). Resumes on the calling loop once the body ended. Throws
    /// body_too_large past the request's max_body_size (session_options).
    [[nodiscard]] CORIO_HEADER_COROUTINE task<std::string> text();

    /// Same as text(): the body's bytes (std::string is corio's byte container).
    [[nodiscard]] task<std::string> bytes() { return text(); }

    /// The next piece of the body as it arrives, "" once the body has ended
    /// (aiohttp's content.readany()). Pieces are at most max_chunk_size
    /// (64 KiB) bytes, also after decoding. Throws body_too_large once the
    /// body passes the request's max_body_size.
    [[nodiscard]] CORIO_HEADER_COROUTINE task<std::string> read_chunk();

    /// Lets go of the connection now: back to the pool if the body was read
    /// to the end, otherwise closed (the rest of the body is not read).
    void release() noexcept {
        m_lease.release(false);
        m_done = true;
    }

private:
    friend class client_session;
    friend class corio::detail::http_session_state;

    client_response(int status, std::string reason, http_version version, http::headers fields,
                    http::url u, std::string method)
        : m_status(status),
          m_reason(std::move(reason)),
          m_version(version),
          m_headers(std::move(fields)),
          m_url(std::move(u)),
          m_method(std::move(method)) {}

    // Appends the next 1 to `max_piece` body bytes (decoded) to `out`, or
    // none at the end of the body (then m_done is set and the connection has
    // been let go). Reads from the connection only when neither the decoder
    // nor the read buffer has anything. Every http_yield_every bytes handed
    // out, yields to the loop first, so a fast sender (or a body that
    // decompresses a lot) cannot hold the loop.
    CORIO_HEADER_COROUTINE task<void> read_more(std::string& out, std::size_t max_piece);

    // A failed body read: the connection is closed and the body is over.
    void fail() noexcept {
        m_lease.release(false);
        m_done = true;
    }

    [[nodiscard]] bool decoder_pending() const noexcept {
#if defined(CORIO_WITH_ZLIB)
        return m_decoder && m_decoder->pending();
#else
        return false;
#endif
    }

    [[nodiscard]] std::uint64_t offset() const noexcept {
        return m_lease ? m_lease->parser.offset() : 0;
    }

    [[noreturn]] void throw_too_large() const;

    // A Content-Length already over the limit fails before anything is read.
    void check_declared_length() const {
        if (m_decoder == nullptr && m_content_length && *m_content_length > m_max_body_size) {
            throw_too_large();
        }
    }

    // Counts `n` more body bytes handed out, failing past the limit.
    void count(std::size_t n) {
        m_body_size += n;
        m_since_yield += n;
        if (m_body_size > m_max_body_size) {
            throw_too_large();
        }
    }

    // Decodes `input` (and what the decoder holds), appending at most `room`
    // bytes, and never more than one byte past the body limit.
    void decode_into(std::string& out, std::string_view input, std::size_t room);

    // One body piece from the parser: decoded, or as it is (a raw piece is
    // at most one read buffer, which fits in any piece).
    void append_body(std::string& out, std::string_view piece, std::size_t room) {
        if (m_decoder) {
            decode_into(out, piece, room);
            return;
        }
        out.append(piece.data(), piece.size());
        count(piece.size());
    }

    // The body ended (`framed`: by its framing, not by the connection
    // closing): gives the connection back (reusable when keep-alive holds and
    // nothing follows the response), then checks the decoder finished.
    void finish_body(bool framed);

    int m_status;
    std::string m_reason;
    http_version m_version;
    http::headers m_headers;
    http::url m_url;
    std::string m_method;
    std::optional<std::uint64_t> m_content_length;
    std::uint64_t m_max_body_size = default_max_body_size;
    std::uint64_t m_body_size = 0;    // body bytes handed out so far (decoded)
    std::size_t m_since_yield = 0;    // body bytes handed out since the last yield to the loop
    corio::detail::http_lease m_lease;
    corio::detail::http_budget m_budget;
#if defined(CORIO_WITH_ZLIB)
    std::unique_ptr<corio::detail::http_inflater> m_decoder;
#else
    std::unique_ptr<int> m_decoder;  // never set: keeps text()'s reserve logic uniform
#endif
    int m_redirects = 0;
    bool m_done = false;
};

// A raw body piece is at most one read buffer, and read_more hands it out whole.
static_assert(client_response::max_chunk_size >= corio::detail::http_read_buffer_size);

#if defined(CORIO_HTTP_DEFINITIONS)
CORIO_HEADER_COROUTINE CORIO_DECL auto client_response::text() -> task<std::string> {
    std::string body;
    if (m_content_length && m_decoder == nullptr) {
        body.reserve(static_cast<std::size_t>(
            std::min<std::uint64_t>({*m_content_length, m_max_body_size, 64ull << 20})));
    }
    while (!m_done) {
        co_await read_more(body, max_chunk_size);
    }
    co_return body;
}

CORIO_HEADER_COROUTINE CORIO_DECL auto client_response::read_chunk() -> task<std::string> {
    std::string piece;
    if (!m_done) {
        co_await read_more(piece, max_chunk_size);
    }
    co_return piece;
}

CORIO_HEADER_COROUTINE CORIO_DECL auto client_response::read_more(std::string& out,
                                                                  std::size_t max_piece)
    -> task<void> {
    try {
        if (m_since_yield >= corio::detail::http_yield_every) {
            m_since_yield = 0;
            co_await corio::sleep(event_loop::duration::zero());
        }
        check_declared_length();
        const std::size_t before = out.size();
        corio::detail::http_connection& c = *m_lease;
        for (;;) {
            // Output the decoder still owes for input it took earlier comes first.
            if (decoder_pending()) {
                decode_into(out, {}, max_piece - (out.size() - before));
                if (out.size() > before) {
                    co_return;
                }
            }
            // Until need_more: the end of the message may be reported by a
            // feed that consumes nothing after the last piece.
            for (;;) {
                const parse_result r =
                    c.parser.feed(std::span<const char>(c.buffer.get() + c.pos, c.end - c.pos));
                c.pos += r.consumed;
                if (r.status == parse_status::body_chunk) {
                    append_body(out, std::string_view(r.body.data(), r.body.size()),
                                max_piece - (out.size() - before));
                    if (out.size() - before >= max_piece || decoder_pending()) {
                        co_return;
                    }
                } else if (r.status == parse_status::message_complete) {
                    finish_body(true);
                    co_return;
                } else if (r.status == parse_status::need_more) {
                    break;
                }
            }
            if (out.size() > before) {
                co_return;
            }
            const std::size_t n = co_await corio::detail::http_fill(c, m_budget, m_method, m_url);
            if (n == 0) {
                if (!c.parser.reads_until_close()) {
                    throw client_connection_error(
                        m_url.to_string(), corio::detail::http_describe(m_method, m_url) +
                                               ": connection closed before the end of the body (" +
                                               std::to_string(c.parser.body_size()) +
                                               " bytes received)");
                }
                if (!c.stream.ended_cleanly()) {
                    // RFC 9112 §9.8: without close_notify the end of a
                    // body framed by the close cannot be told from a cut.
                    throw client_connection_error(
                        m_url.to_string(),
                        corio::detail::http_describe(m_method, m_url) +
                            ": TLS connection closed without close_notify before a body "
                            "delimited by the close was known complete (" +
                            std::to_string(c.parser.body_size()) +
                            " bytes received): possibly truncated");
                }
                static_cast<void>(c.parser.finish());
                finish_body(false);
                co_return;
            }
            c.end = n;
        }
    } catch (const std::system_error& e) {
        fail();
        throw client_connection_error(
            m_url.to_string(), corio::detail::http_describe(m_method, m_url) + ": " + e.what(),
            std::current_exception());
    }
#if defined(CORIO_HTTP_HAS_TLS)
    catch (const tls::tls_error& e) {
        // A connection cut inside a TLS record, a corrupt record: the
        // connection failed, as a reset would (the cause keeps the detail).
        fail();
        throw client_connection_error(
            m_url.to_string(), corio::detail::http_describe(m_method, m_url) + ": " + e.what(),
            std::current_exception());
    }
#endif
    catch (...) {
        fail();
        throw;
    }
}

CORIO_DECL auto client_response::decode_into(std::string& out, std::string_view input,
                                             std::size_t room) -> void {
#if defined(CORIO_WITH_ZLIB)
    const std::uint64_t to_limit = m_max_body_size - std::min(m_body_size, m_max_body_size);
    if (to_limit < room) {
        room = static_cast<std::size_t>(to_limit) + 1;
    }
    std::size_t got = 0;
    try {
        got = m_decoder->decode(input, out, room);
    } catch (const std::runtime_error& e) {
        throw protocol_error(protocol_error::kind::bad_message,
                             std::string("Content-Encoding: ") + e.what(), offset());
    }
    count(got);
#else
    static_cast<void>(out);
    static_cast<void>(input);
    static_cast<void>(room);
#endif
}

CORIO_DECL auto client_response::finish_body(bool framed) -> void {
    corio::detail::http_connection& c = *m_lease;
    const bool reusable = framed && c.parser.keep_alive() && c.pos == c.end;
    const std::uint64_t at = c.parser.offset();
    m_lease.release(reusable);
    m_done = true;
#if defined(CORIO_WITH_ZLIB)
    if (m_decoder) {
        try {
            m_decoder->finish();
        } catch (const std::runtime_error& e) {
            throw protocol_error(protocol_error::kind::bad_message,
                                 std::string("Content-Encoding: ") + e.what(), at);
        }
    }
#else
    static_cast<void>(at);
#endif
}

[[noreturn]] CORIO_DECL void client_response::throw_too_large() const {
    throw body_too_large(m_url.to_string(),
                         corio::detail::http_describe(m_method, m_url) +
                             ": response body larger than max_body_size (" +
                             std::to_string(m_max_body_size) + " bytes" +
                             (m_decoder ? ", counted after decoding)" : ")"),
                         m_max_body_size, offset());
}
#endif  // CORIO_HTTP_DEFINITIONS

}  // namespace corio::http
