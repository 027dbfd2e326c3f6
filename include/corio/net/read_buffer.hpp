#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

namespace corio {

/// Default size of one read by corio::read and of read_until's limit (64 KiB).
inline constexpr std::size_t default_read_size = 64 * 1024;

/// Bytes read from a stream but not handed out yet: what read_until read past
/// its delimiter, kept for the next read (asyncio keeps them in its
/// StreamReader). The buffered algorithms (corio::read, read_exactly,
/// read_until) serve it first and leave their surplus in it, so every read of
/// one stream must go through the same read_buffer. tcp_stream and
/// tls::stream hold one and serve it from read_some too.
///
/// The buffered bytes are [m_begin, m_end) of m_storage: taking from the front
/// moves an index instead of the bytes, and prepare() compacts them to the
/// front only when a read needs room, so the storage (up to one read's size)
/// is reused from read to read. Not thread-safe.
class read_buffer {
public:
    read_buffer() noexcept = default;

    /// True when no bytes are buffered.
    [[nodiscard]] bool empty() const noexcept { return m_begin == m_end; }
    /// Bytes buffered, not yet handed out.
    [[nodiscard]] std::size_t size() const noexcept { return m_end - m_begin; }
    /// The buffered bytes (valid until the buffer changes).
    [[nodiscard]] std::string_view view() const noexcept {
        return std::string_view(m_storage.data() + m_begin, size());
    }

    /// Moves up to into.size() bytes from the front into `into`; returns how many.
    std::size_t take_into(std::span<std::byte> into) noexcept {
        const std::size_t count = std::min(into.size(), size());
        if (count != 0) {
            std::memcpy(into.data(), m_storage.data() + m_begin, count);
            consume(count);
        }
        return count;
    }

    /// Removes the first min(n, size()) bytes and returns them.
    [[nodiscard]] std::string take(std::size_t n) {
        std::string front(view().substr(0, n));
        consume(front.size());
        return front;
    }

    /// Writable room for `n` more bytes after the buffered ones; commit() says
    /// how many of them a read filled. The span is valid until the next call
    /// on the buffer; bytes written there and not committed are ignored.
    [[nodiscard]] std::span<std::byte> prepare(std::size_t n) {
        if (m_begin != 0) {
            std::memmove(m_storage.data(), m_storage.data() + m_begin, size());
            m_end -= m_begin;
            m_begin = 0;
        }
        if (m_storage.size() < m_end + n) {
            m_storage.resize(m_end + n);
        }
        return std::as_writable_bytes(std::span<char>(m_storage.data() + m_end, n));
    }

    /// Appends the first `n` bytes of the last prepare()d room (n <= its size).
    void commit(std::size_t n) noexcept { m_end += n; }

    /// Drops the buffered bytes (the storage is kept for reuse).
    void clear() noexcept { m_begin = m_end = 0; }

private:
    void consume(std::size_t count) noexcept {
        m_begin += count;
        if (m_begin == m_end) {
            clear();
        }
    }

    std::string m_storage;
    std::size_t m_begin = 0;
    std::size_t m_end = 0;
};

}  // namespace corio
