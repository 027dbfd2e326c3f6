#pragma once

// The asyncio StreamReader / StreamWriter operations as free functions over
// any corio::byte_stream: read, read_exactly, read_until, write_all.
//
// Where the bytes read past a delimiter go: into a corio::read_buffer the
// caller passes, one per stream, that every buffered read serves first. A
// wrapper type (a "buffered reader" owning the stream) was the other choice;
// an argument keeps the stream where it is (a member, a variable, inside a
// TLS stream), lets a stream that already owns a buffer (tcp_stream,
// tls::stream) run the same code on it, and makes the rule visible at the
// call: whoever reads past what they return must say where the surplus lives.

#include <corio/detail/awaitable_traits.hpp>
#include <corio/detail/config.hpp>
#include <corio/net/byte_stream.hpp>
#include <corio/net/errors.hpp>
#include <corio/net/read_buffer.hpp>
#include <corio/task.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace corio {
namespace detail {

/// What a buffered algorithm keeps of its stream: a small copyable handle with
/// read_some(span) -> awaitable of std::size_t. Held by value in the
/// algorithm's frame, so a stream can hand in a reader made on the spot —
/// tcp_stream and tls::stream pass one that skips their own read buffer,
/// which is the buffer the algorithm is filling.
template <class Reader>
concept buffered_read_source = std::copy_constructible<Reader> &&
                               requires(Reader reader, std::span<std::byte> into) {
                                   requires awaitable<decltype(reader.read_some(into))>;
                                   requires std::convertible_to<
                                       await_result_t<decltype(reader.read_some(into))>, std::size_t>;
                               };

/// A byte_stream's own read_some, by pointer.
template <class Stream>
class stream_read_source {
public:
    explicit stream_read_source(Stream& stream) noexcept : m_stream(&stream) {}
    [[nodiscard]] decltype(auto) read_some(std::span<std::byte> into) const { return m_stream->read_some(into); }

private:
    Stream* m_stream;
};

template <buffered_read_source Reader>
[[nodiscard]] CORIO_HEADER_COROUTINE task<std::string> read_with(Reader reader, read_buffer& buffer, std::size_t n) {
    std::string result;
    if (n == 0) {
        co_return result;
    }
    if (!buffer.empty()) {
        co_return buffer.take(n);
    }
    result.resize(n);
    const std::size_t count = co_await reader.read_some(std::as_writable_bytes(std::span<char>(result)));
    result.resize(count);
    co_return result;
}

template <buffered_read_source Reader>
[[nodiscard]] CORIO_HEADER_COROUTINE task<std::string> read_exactly_with(Reader reader, read_buffer& buffer,
                                                                         std::size_t n) {
    std::string result = buffer.take(n);
    std::size_t have = result.size();
    result.resize(n);
    while (have < n) {
        const std::size_t count =
            co_await reader.read_some(std::as_writable_bytes(std::span<char>(result.data() + have, n - have)));
        if (count == 0) {
            result.resize(have);
            throw incomplete_read(std::move(result), n);
        }
        have += count;
    }
    co_return result;
}

template <buffered_read_source Reader>
[[nodiscard]] CORIO_HEADER_COROUTINE task<std::string> read_until_with(Reader reader, read_buffer& buffer,
                                                                       std::string delimiter, std::size_t max) {
    if (delimiter.empty()) {
        throw std::invalid_argument("corio::read_until: empty delimiter");
    }
    std::size_t scan_from = 0;
    for (;;) {
        const std::size_t found = buffer.view().find(delimiter, scan_from);
        if (found != std::string_view::npos) {
            const std::size_t end = found + delimiter.size();
            if (end > max) {
                throw limit_overrun(buffer.size(), max);
            }
            co_return buffer.take(end);
        }
        if (buffer.size() >= max) {
            throw limit_overrun(buffer.size(), max);
        }
        // A delimiter split across reads starts within its length of the end.
        scan_from = buffer.size() >= delimiter.size() ? buffer.size() - delimiter.size() + 1 : 0;
        const std::size_t want = std::clamp<std::size_t>(max - buffer.size(), 4096, default_read_size);
        // Only what the read reports joins the buffer: a read that throws adds nothing.
        const std::size_t count = co_await reader.read_some(buffer.prepare(want));
        buffer.commit(count);
        if (count == 0) {
            throw incomplete_read(buffer.take(buffer.size()), 0);
        }
    }
}

}  // namespace detail

/// Reads up to n bytes, at least one unless at end of stream, where it
/// returns "" (asyncio's reader.read(n)). Bytes in `buffer` are served first
/// (then the stream is not read). Cancellation throws cancelled_error and
/// loses nothing.
template <byte_stream Stream>
[[nodiscard]] task<std::string> read(Stream& stream, read_buffer& buffer, std::size_t n = default_read_size) {
    return detail::read_with(detail::stream_read_source<Stream>(stream), buffer, n);
}

/// Reads exactly n bytes, `buffer` first (asyncio's readexactly). If the
/// stream ends first, throws corio::incomplete_read carrying the bytes that
/// did arrive (consumed). A cancelled read_exactly loses the bytes it had
/// read so far.
template <byte_stream Stream>
[[nodiscard]] task<std::string> read_exactly(Stream& stream, read_buffer& buffer, std::size_t n) {
    return detail::read_exactly_with(detail::stream_read_source<Stream>(stream), buffer, n);
}

/// Reads up to and including the first `delimiter` (asyncio's readuntil),
/// looking in `buffer` first and reading ahead into it; bytes after the
/// delimiter stay in `buffer` for the next read. Throws
/// corio::limit_overrun when `max` bytes are buffered without a delimiter
/// ending within them (they stay buffered), corio::incomplete_read (with
/// what arrived, consumed) when the stream ends first, and
/// std::invalid_argument for an empty delimiter. Cancellation throws
/// cancelled_error and leaves what was read in `buffer`.
template <byte_stream Stream>
[[nodiscard]] task<std::string> read_until(Stream& stream, read_buffer& buffer, std::string delimiter = "\n",
                                           std::size_t max = default_read_size) {
    return detail::read_until_with(detail::stream_read_source<Stream>(stream), buffer, std::move(delimiter), max);
}

/// Writes every byte of `bytes` (asyncio's writer.write + drain): the
/// stream's write, which the byte_stream concept makes write all or throw.
/// The bytes must stay alive until the co_await completes.
template <byte_stream Stream>
[[nodiscard]] decltype(auto) write_all(Stream& stream, std::span<const std::byte> bytes) {
    return stream.write(bytes);
}

/// Writes all of `text` (any bytes; see the span overload).
template <byte_stream Stream>
[[nodiscard]] decltype(auto) write_all(Stream& stream, std::string_view text) {
    return stream.write(std::as_bytes(std::span<const char>(text.data(), text.size())));
}

}  // namespace corio
