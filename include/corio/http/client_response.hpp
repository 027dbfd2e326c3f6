#pragma once

// corio::http::client_response: what a client_session request returns (the
// status line and headers, the body read on demand), and the connection it
// holds until the body has been read.

#include <corio/detail/config.hpp>
#include <corio/http/detail/inflate.hpp>
#include <corio/http/detail/pool.hpp>
#include <corio/http/detail/timeouts.hpp>
#include <corio/http/errors.hpp>
#include <corio/http/message.hpp>
#include <corio/http/parser.hpp>
#include <corio/http/url.hpp>
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
/// (corio::timeout_error). A connection that ends before the body does throws
/// client_connection_error; malformed framing or a corrupt gzip/deflate body
/// throws protocol_error. After any error the connection is closed.
/// Cancelling a body read closes the connection and throws cancelled_error.
/// Move-only; not thread-safe; one body read at a time.
class client_response {
public:
    client_response(client_response&&) noexcept = default;
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

    /// Reads the rest of the body and returns it (decoded when it was sent
    /// gzip/deflate). Resumes on the calling loop once the body ended.
    [[nodiscard]] CORIO_HEADER_COROUTINE task<std::string> text() {
        std::string body;
        if (m_content_length && m_decoder == nullptr) {
            body.reserve(
                static_cast<std::size_t>(std::min<std::uint64_t>(*m_content_length, 64ull << 20)));
        }
        while (!m_done) {
            co_await read_more(body);
        }
        co_return body;
    }

    /// Same as text(): the body's bytes (std::string is corio's byte container).
    [[nodiscard]] task<std::string> bytes() { return text(); }

    /// The next piece of the body as it arrives, "" once the body has ended
    /// (aiohttp's content.readany()). Pieces are at most the size of one read
    /// (64 KiB) before decoding.
    [[nodiscard]] CORIO_HEADER_COROUTINE task<std::string> read_chunk() {
        std::string piece;
        while (piece.empty() && !m_done) {
            co_await read_more(piece);
        }
        co_return piece;
    }

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

    // Parses what is buffered (reading once when nothing is), appending body
    // bytes to `out`; sets m_done at the end of the body.
    CORIO_HEADER_COROUTINE task<void> read_more(std::string& out) {
        try {
            corio::detail::http_connection& c = *m_lease;
            if (c.pos == c.end) {
                const std::size_t n =
                    co_await corio::detail::http_fill(c, m_budget, m_method, m_url);
                if (n == 0) {
                    if (c.parser.reads_until_close()) {
                        static_cast<void>(c.parser.finish());
                        finish_body(out, false);
                        co_return;
                    }
                    throw client_connection_error(
                        m_url.to_string(), corio::detail::http_describe(m_method, m_url) +
                                               ": connection closed before the end of the body (" +
                                               std::to_string(c.parser.body_size()) +
                                               " bytes received)");
                }
                c.end = n;
            }
            // Until need_more (everything consumed): the end of the message may
            // be reported by a feed that consumes nothing after the last piece.
            for (;;) {
                const parse_result r =
                    c.parser.feed(std::span<const char>(c.buffer.get() + c.pos, c.end - c.pos));
                c.pos += r.consumed;
                if (r.status == parse_status::body_chunk) {
                    append_body(out, std::string_view(r.body.data(), r.body.size()));
                } else if (r.status == parse_status::message_complete) {
                    finish_body(out, true);
                    co_return;
                } else if (r.status == parse_status::need_more) {
                    break;
                }
            }
        } catch (const std::system_error& e) {
            m_lease.release(false);
            m_done = true;
            throw client_connection_error(
                m_url.to_string(), corio::detail::http_describe(m_method, m_url) + ": " + e.what(),
                std::current_exception());
        } catch (...) {
            m_lease.release(false);
            m_done = true;
            throw;
        }
    }

    void append_body(std::string& out, std::string_view piece) {
#if defined(CORIO_WITH_ZLIB)
        if (m_decoder) {
            try {
                m_decoder->feed(piece, out);
            } catch (const std::runtime_error& e) {
                throw protocol_error(protocol_error::kind::bad_message,
                                     std::string("Content-Encoding: ") + e.what(),
                                     m_lease ? m_lease->parser.offset() : 0);
            }
            return;
        }
#endif
        out.append(piece.data(), piece.size());
    }

    // The body ended: give the connection back (reusable when keep-alive holds
    // and nothing follows the response), then check the decoder finished.
    void finish_body(std::string& out, bool framed) {
        static_cast<void>(out);
        corio::detail::http_connection& c = *m_lease;
        const bool reusable = framed && c.parser.keep_alive() && c.pos == c.end;
        const std::uint64_t offset = c.parser.offset();
        m_lease.release(reusable);
        m_done = true;
#if defined(CORIO_WITH_ZLIB)
        if (m_decoder) {
            try {
                m_decoder->finish();
            } catch (const std::runtime_error& e) {
                throw protocol_error(protocol_error::kind::bad_message,
                                     std::string("Content-Encoding: ") + e.what(), offset);
            }
        }
#else
        static_cast<void>(offset);
#endif
    }

    int m_status;
    std::string m_reason;
    http_version m_version;
    http::headers m_headers;
    http::url m_url;
    std::string m_method;
    std::optional<std::uint64_t> m_content_length;
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
}  // namespace corio::http
