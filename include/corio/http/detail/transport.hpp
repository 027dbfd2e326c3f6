#pragma once

// The byte stream an HTTP client connection runs over: plain TCP, or TLS when
// corio::tls is available. One small virtual interface, so the pool and the
// HTTP code above it never care which one carries the bytes.

#include <corio/detail/config.hpp>
#include <corio/net/stream.hpp>
#include <corio/task.hpp>

#if defined(CORIO_WITH_TLS) && __has_include(<corio/tls.hpp>)
#include <corio/tls.hpp>
#define CORIO_HTTP_HAS_TLS 1
#endif

#include <cstddef>
#include <span>
#include <string_view>
#include <utility>

namespace corio::detail {

/// A connected byte stream: read what is there, write everything, close.
/// Loop thread only; one reader and one writer at a time (HTTP/1.1 without
/// pipelining never has more).
class http_transport {
public:
    http_transport() = default;
    http_transport(const http_transport&) = delete;
    http_transport& operator=(const http_transport&) = delete;
    virtual ~http_transport() = default;

    /// Reads at least one byte, or returns 0 at end of stream.
    [[nodiscard]] virtual task<std::size_t> read_some(std::span<std::byte> buffer) = 0;
    /// Writes all of `bytes` (they stay alive until the co_await completes).
    [[nodiscard]] virtual task<void> write(std::string_view bytes) = 0;
    /// Closes at once (no TLS close_notify): used for broken or surplus connections.
    virtual void close() noexcept = 0;
    [[nodiscard]] virtual bool is_open() const noexcept = 0;
};

/// HTTP over a corio byte stream: tcp_stream (http) or tls::stream (https).
/// The forwarding members are not coroutines: no extra frame per read.
template <class Stream>
class http_stream_transport final : public http_transport {
public:
    explicit http_stream_transport(Stream stream) noexcept : m_stream(std::move(stream)) {}

    [[nodiscard]] task<std::size_t> read_some(std::span<std::byte> buffer) override {
        return m_stream.read_some(buffer);
    }
    [[nodiscard]] task<void> write(std::string_view bytes) override { return m_stream.write(bytes); }
    void close() noexcept override { m_stream.close(); }
    [[nodiscard]] bool is_open() const noexcept override { return m_stream.is_open(); }

private:
    Stream m_stream;
};

}  // namespace corio::detail
