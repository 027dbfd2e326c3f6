#pragma once

#include <corio/detail/awaitable_traits.hpp>

#include <concepts>
#include <cstddef>
#include <span>
#include <string_view>
#include <type_traits>

namespace corio {

namespace detail {

/// An expression that is either done when it returns (void) or an awaitable
/// that completes with nothing: TCP half-closes at once, TLS must first send
/// its close_notify record.
template <class R>
concept void_or_void_awaitable =
    std::is_void_v<R> || (awaitable<R> && std::is_void_v<await_result_t<R>>);

}  // namespace detail

/// A connected, ordered, reliable stream of bytes: TCP, a Unix domain stream,
/// TLS over either, an in-memory pipe in tests. Everything above the net
/// layer (TLS, HTTP, WebSocket, database clients) is written against this
/// concept, so one code path serves every transport.
///
/// - `read_some(buffer)` waits until at least one byte is there and returns
///   how many it stored, or 0 at end of stream (never an error).
/// - `write(bytes)` writes every byte or throws; the bytes stay alive until
///   its co_await completes.
/// - `shutdown_write()` ends the sending direction (TCP FIN, TLS
///   close_notify); reading goes on. It may complete at once (void) or be
///   awaited.
/// - `close()` releases the stream at once; a pending operation throws.
template <class S>
concept byte_stream = requires(S& stream, std::span<std::byte> into, std::span<const std::byte> bytes) {
    requires detail::awaitable<decltype(stream.read_some(into))>;
    requires std::convertible_to<detail::await_result_t<decltype(stream.read_some(into))>, std::size_t>;
    requires detail::awaitable<decltype(stream.write(bytes))>;
    requires std::is_void_v<detail::await_result_t<decltype(stream.write(bytes))>>;
    requires detail::void_or_void_awaitable<decltype(stream.shutdown_write())>;
    { stream.close() } noexcept;
};

}  // namespace corio
