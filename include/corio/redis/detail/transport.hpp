#pragma once

// The byte stream one Redis connection runs over: TCP or a Unix domain
// stream (both corio::stream_socket), or TLS over TCP when corio::tls is
// available. A closed set, so a variant (as the HTTP client's transport).

#include <corio/detail/config.hpp>
#include <corio/net/byte_stream.hpp>
#include <corio/net/stream.hpp>
#include <corio/net/tcp.hpp>
#include <corio/net/unix.hpp>
#include <corio/redis/errors.hpp>
#include <corio/redis/options.hpp>
#include <corio/task.hpp>

#if defined(CORIO_REDIS_HAS_TLS)
#include <corio/tls/stream.hpp>
#endif

#include <cstddef>
#include <span>
#include <string>
#include <utility>
#include <variant>

namespace corio::redis::detail {

class redis_stream {
public:
    explicit redis_stream(stream_socket plain) noexcept : m_stream(std::in_place_index<0>, std::move(plain)) {}
#if defined(CORIO_REDIS_HAS_TLS)
    explicit redis_stream(tls::stream<> secured) noexcept : m_stream(std::in_place_index<1>, std::move(secured)) {}
#endif

    [[nodiscard]] task<std::size_t> read_some(std::span<std::byte> buffer) {
        return std::visit([buffer](auto& s) { return s.read_some(buffer); }, m_stream);
    }
    [[nodiscard]] task<void> write(std::span<const std::byte> bytes) {
        return std::visit([bytes](auto& s) { return s.write(bytes); }, m_stream);
    }
    void close() noexcept {
        std::visit([](auto& s) noexcept { s.close(); }, m_stream);
    }

private:
#if defined(CORIO_REDIS_HAS_TLS)
    std::variant<stream_socket, tls::stream<>> m_stream;
#else
    std::variant<stream_socket> m_stream;
#endif
};

/// Opens the byte stream options name (no Redis handshake yet).
CORIO_HEADER_COROUTINE inline task<redis_stream> open_redis_stream(connect_options options) {
    if (!options.unix_path.empty()) {
        stream_socket s = co_await open_unix_connection(options.unix_path);
        co_return redis_stream(std::move(s));
    }
    stream_socket s = co_await open_connection(options.host, options.port);
    if (!options.use_tls) {
        co_return redis_stream(std::move(s));
    }
#if defined(CORIO_REDIS_HAS_TLS)
    tls::context ctx = options.tls_context ? options.tls_context : tls::context::client();
    tls::stream<> secured = co_await tls::connect(std::move(s), std::move(ctx), options.host);
    co_return redis_stream(std::move(secured));
#else
    throw connection_error("rediss:// needs corio::tls (OpenSSL): link corio::tls");
#endif
}

}  // namespace corio::redis::detail
