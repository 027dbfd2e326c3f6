#pragma once

// corio::http::body_reader: a request body read piece by piece as the client
// sends it, for handlers that must not hold a large body in memory (an
// upload copied to disk, a body fed to an incremental parser).

#include <corio/detail/config.hpp>
#include <corio/generator.hpp>
#include <corio/http/errors.hpp>
#include <corio/task.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace corio::http {

/// A request body read as it arrives (aiohttp's `request.content`,
/// Starlette's `request.stream()`).
///
/// http::server gives one to the handler of a request whose body it was
/// asked to stream (server_options::stream_body, router::add_streaming):
/// request::body_stream() returns it and request::body stays empty. That
/// reader decodes the framing (Content-Length or chunked), sends
/// "100 Continue" at the first read when the client asked for it, enforces
/// the route's size limit, and applies server_options::body_timeout to each
/// wait for bytes. string_body_reader reads a body already in memory the
/// same way.
///
/// Loop thread only, one read at a time; valid while the handler's task runs.
class body_reader {
public:
    body_reader() = default;
    body_reader(const body_reader&) = delete;
    body_reader& operator=(const body_reader&) = delete;
    virtual ~body_reader() = default;

    /// The next piece of the body (as much as one read of the connection
    /// brought), or an empty view once the body has ended. The view stays
    /// valid until the next call. Throws http::request_body_error when the
    /// client closed or reset the connection before the body ended
    /// (incomplete_message), the body passed limit() (body_too_large) or its
    /// chunked framing was malformed (bad_message), and from then on at every
    /// call; corio::timeout_error when no byte came within the server's
    /// body_timeout. Cancelling the awaiting task (cancelled_error) loses no
    /// byte: the next call goes on where this one stopped.
    [[nodiscard]] task<std::string_view> read_some() { return next_piece(); }

    /// The rest of the body in one string. Throws as read_some() does, and
    /// request_body_error (body_too_large) once the string would pass
    /// `max_size` bytes (the body left unread then).
    [[nodiscard]] CORIO_HEADER_COROUTINE task<std::string> read_all(
        std::uint64_t max_size = std::numeric_limits<std::uint64_t>::max()) {
        std::string all;
        for (;;) {
            const std::string_view piece = co_await next_piece();
            if (piece.empty()) {
                co_return all;
            }
            if (piece.size() > max_size - all.size()) {
                throw request_body_error(
                    protocol_error::kind::body_too_large,
                    "request body larger than " + std::to_string(max_size) + " bytes for read_all",
                    m_bytes_read);
            }
            all.append(piece);
        }
    }

    /// The remaining pieces as an async generator (`async for chunk in
    /// request.stream()`): `while (auto piece = co_await chunks.next())`.
    /// Each view is valid until the next next(); errors as read_some().
    [[nodiscard]] CORIO_HEADER_COROUTINE async_generator<std::string_view> chunks() {
        for (;;) {
            const std::string_view piece = co_await next_piece();
            if (piece.empty()) {
                co_return;
            }
            co_yield piece;
        }
    }

    /// True once read_some() returned the end of the body.
    [[nodiscard]] bool done() const noexcept { return m_done; }
    /// Body bytes returned so far.
    [[nodiscard]] std::uint64_t bytes_read() const noexcept { return m_bytes_read; }
    /// The declared length (Content-Length), or nullopt for a chunked body.
    [[nodiscard]] std::optional<std::uint64_t> content_length() const noexcept {
        return m_content_length;
    }
    /// The most bytes the body may have (the route's limit).
    [[nodiscard]] std::uint64_t limit() const noexcept { return m_limit; }
    /// True once a read gave up waiting for the client (timeout_error): a
    /// handler's own timeouts are told apart from the body's by this.
    [[nodiscard]] bool timed_out() const noexcept { return m_timed_out; }

protected:
    /// What read_some() returns: the next piece, empty at the end. An
    /// implementation counts what it returns with returned() and ended().
    virtual task<std::string_view> next_piece() = 0;

    /// Counts `n` more body bytes handed out.
    void returned(std::size_t n) noexcept { m_bytes_read += n; }
    /// Marks the end of the body as handed out.
    void ended() noexcept { m_done = true; }
    /// Marks a read that gave up waiting (what timed_out() reports).
    void gave_up() noexcept { m_timed_out = true; }
    /// Sets what content_length() and limit() report.
    void describe(std::optional<std::uint64_t> length, std::uint64_t limit) noexcept {
        m_content_length = length;
        m_limit = limit;
    }

private:
    std::uint64_t m_bytes_read = 0;
    std::optional<std::uint64_t> m_content_length;
    std::uint64_t m_limit = std::numeric_limits<std::uint64_t>::max();
    bool m_done = false;
    bool m_timed_out = false;
};

/// A body_reader over bytes already in memory (a body http::server read
/// whole, or a test's), handed out in pieces of at most `piece_size` bytes;
/// `body` must outlive the reader. It never waits and never fails.
class string_body_reader final : public body_reader {
public:
    /// Reads `body` in pieces of `piece_size` bytes (at least one).
    explicit string_body_reader(std::string_view body, std::size_t piece_size = 64 * 1024) noexcept
        : string_body_reader(body, piece_size, body.size()) {}

    /// The same, reporting `limit` as limit() does for a streamed body (what
    /// a route allows: corio::web's test_client hands handlers such a reader).
    string_body_reader(std::string_view body, std::size_t piece_size, std::uint64_t limit) noexcept
        : m_rest(body), m_piece_size(std::max<std::size_t>(piece_size, 1)) {
        describe(body.size(), limit);
    }

protected:
    // A coroutine (not a ready value made at the call) so that a read
    // cancelled before it ran takes nothing.
    CORIO_HEADER_COROUTINE task<std::string_view> next_piece() override { co_return take(); }

private:
    std::string_view take() noexcept {
        const std::string_view piece = m_rest.substr(0, m_piece_size);
        m_rest.remove_prefix(piece.size());
        returned(piece.size());
        if (piece.empty()) {
            ended();
        }
        return piece;
    }

    std::string_view m_rest;
    std::size_t m_piece_size;
};

}  // namespace corio::http
