#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

namespace corio {

/// A host name did not resolve (getaddrinfo failed). Carries the name.
class resolve_error : public std::runtime_error {
public:
    /// `host` could not be resolved; `reason` says why (gai_strerror text, "no address", ...).
    resolve_error(std::string host, const std::string& reason)
        : std::runtime_error("resolve " + host + ": " + reason), m_host(std::move(host)) {}

    /// The name that did not resolve.
    [[nodiscard]] const std::string& host() const noexcept { return m_host; }

private:
    std::string m_host;
};

/// The stream ended before read_exactly got `expected` bytes, or before
/// read_until found its delimiter (then expected() is 0), as asyncio's
/// IncompleteReadError. partial() holds the bytes that did arrive; they are
/// consumed from the stream.
class incomplete_read : public std::runtime_error {
public:
    /// The stream ended after `partial`; `expected` is the byte count asked for (0: a delimiter).
    incomplete_read(std::string partial, std::size_t expected)
        : std::runtime_error(expected == 0
                                 ? "corio: end of stream before the delimiter, after " +
                                       std::to_string(partial.size()) + " bytes"
                                 : "corio: end of stream after " + std::to_string(partial.size()) +
                                       " of " + std::to_string(expected) + " expected bytes"),
          m_partial(std::move(partial)),
          m_expected(expected) {}

    /// The bytes that arrived before the end of the stream.
    [[nodiscard]] const std::string& partial() const noexcept { return m_partial; }
    /// The same, moved out; partial() is empty afterwards.
    [[nodiscard]] std::string take_partial() noexcept { return std::move(m_partial); }
    /// The byte count read_exactly asked for; 0 when read_until was looking for a delimiter.
    [[nodiscard]] std::size_t expected() const noexcept { return m_expected; }

private:
    std::string m_partial;
    std::size_t m_expected;
};

/// read_until found no delimiter within `max` bytes (asyncio.LimitOverrunError).
/// The bytes read so far stay in the stream's buffer, unconsumed.
class limit_overrun : public std::runtime_error {
public:
    /// `buffered` bytes were read without finding the delimiter within `limit`.
    limit_overrun(std::size_t buffered, std::size_t limit)
        : std::runtime_error("corio: delimiter not found within " + std::to_string(limit) + " bytes"),
          m_buffered(buffered),
          m_limit(limit) {}

    /// Bytes buffered (and left in the stream) when the limit was passed.
    [[nodiscard]] std::size_t buffered() const noexcept { return m_buffered; }
    /// The `max` that read_until was given.
    [[nodiscard]] std::size_t limit() const noexcept { return m_limit; }

private:
    std::size_t m_buffered;
    std::size_t m_limit;
};

/// An operation on a stream, socket or server that was closed, or that was
/// pending when close() was called. A std::system_error with ECANCELED, and
/// deliberately not corio::cancelled_error: the task was not cancelled, the
/// object it used went away.
class stream_closed : public std::system_error {
public:
    /// `what` names the operation and peer (e.g. "recv 10.0.0.2:80"); what() appends ": closed".
    explicit stream_closed(const std::string& what)
        : std::system_error(std::make_error_code(std::errc::operation_canceled), what + ": closed") {}
};

}  // namespace corio
