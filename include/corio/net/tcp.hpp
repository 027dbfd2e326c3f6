#pragma once

#include <corio/detail/config.hpp>
#include <corio/net/detail/resolver.hpp>
#include <corio/net/detail/socket.hpp>
#include <corio/net/detail/socket_source.hpp>
#include <corio/event_loop.hpp>
#include <corio/net/endpoint.hpp>
#include <corio/net/errors.hpp>
#include <corio/net/server.hpp>
#include <corio/net/stream.hpp>
#include <corio/task.hpp>

#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace corio {
namespace detail {

/// The addresses of host:port: a numeric host parsed inline, a name looked up
/// off the loop on the resolver thread.
CORIO_HEADER_COROUTINE inline task<std::vector<socket_address>> resolve_host(std::string host, std::uint16_t port,
                                                                             int socket_type) {
    if (std::optional<socket_address> numeric = parse_numeric(host, port)) {
        co_return std::vector<socket_address>{*numeric};
    }
    co_return co_await resolve(std::move(host), port, socket_type);
}

/// Connects a new stream socket to one address (non-blocking connect, then
/// writability and SO_ERROR).
CORIO_HEADER_COROUTINE inline task<stream_socket> connect_stream(socket_address address, std::string peer_text) {
    event_loop& loop = get_running_loop();
    socket_source socket(loop, open_socket(address.family(), socket_type_stream(), peer_text));
    int error = 0;
#if defined(CORIO_REACTOR_IO_URING)
    if (socket.ring() != nullptr) {
        const completion_outcome outcome = co_await socket.connect_completion(address.get(), address.length);
        if (outcome.result < 0 && outcome.cancel_requested) {
            co_await rethrow_cancellation();
        }
        error = -outcome.result;
    } else
#endif
    {
        error = start_connect(socket.fd(), address);
        if (error == EINPROGRESS) {
            co_await socket.writable("connect", peer_text);
            error = pending_error(socket.fd());
        }
    }
    if (error != 0) {
        throw_socket_error(error, "connect", peer_text);
    }
    endpoint peer = to_endpoint(address);
    if (address.family() != family_unix()) {
        set_nodelay(socket.fd(), true);
    }
    co_return stream_socket(std::move(socket), std::move(peer));
}

CORIO_HEADER_COROUTINE inline task<stream_server> start_tcp_server(std::unique_ptr<connection_handler_base> handler,
                                                                   std::string host, std::uint16_t port,
                                                                   server_options options) {
    // Named, not a conditional temporary inside the co_await: GCC 12 frees such
    // a temporary twice.
    if (host.empty()) {
        host = "0.0.0.0";
    }
    const std::vector<socket_address> addresses = co_await resolve_host(std::move(host), port, socket_type_stream());
    auto state = std::make_shared<server_state>(get_running_loop(), std::move(handler), options);
    for (socket_address address : addresses) {
        // With port 0 and several addresses (a name with IPv4 and IPv6), every
        // listener takes the port the first one got.
        if (port == 0 && !state->m_listeners.empty()) {
            const std::optional<socket_address> same_port =
                parse_numeric(to_endpoint(address).address, state->m_listeners.front().local.port);
            if (same_port) {
                address = *same_port;
            }
        }
        state->m_listeners.push_back(make_listener(state->m_loop, address, options));
    }
    start_accepting(state);
    co_return stream_server(std::move(state));
}

}  // namespace detail

/// Opens a TCP connection to host:port (asyncio.open_connection) and returns
/// the stream, with TCP_NODELAY on.
///
/// `host` is a numeric IPv4 or IPv6 address ("127.0.0.1", "::1", "[::1]"),
/// used as is, or a name, resolved with getaddrinfo on corio's resolver
/// thread so the loop never blocks; each address is tried in turn and the
/// last failure is thrown. Throws corio::resolve_error (carrying the name)
/// when the name does not resolve, std::system_error ("connect
/// 127.0.0.1:1: Connection refused") when no address accepts. Resumes on
/// the calling loop. Cancelling (or a wait_for timeout) abandons the lookup
/// or closes the half-open socket, unregistering it from the reactor.
[[nodiscard]] CORIO_HEADER_COROUTINE inline task<tcp_stream> open_connection(std::string host, std::uint16_t port) {
    const std::vector<detail::socket_address> addresses =
        co_await detail::resolve_host(host, port, detail::socket_type_stream());
    std::exception_ptr last_error;
    for (const detail::socket_address& address : addresses) {
        std::optional<tcp_stream> stream;
        try {
            stream.emplace(co_await detail::connect_stream(address, detail::to_endpoint(address).to_string()));
        } catch (const std::system_error&) {
            last_error = std::current_exception();
        }
        if (stream) {
            co_return std::move(*stream);
        }
    }
    if (!last_error) {
        throw resolve_error(host, "no address");
    }
    std::rethrow_exception(last_error);
}

/// Starts a TCP server on host:port (asyncio.start_server) and returns it,
/// already accepting. Each connection runs `handler(stream)` (any callable
/// returning task<void>) in its own task; see stream_server.
///
/// `host` is a numeric address, a name (every address it resolves to gets a
/// listener) or "" for every IPv4 interface ("0.0.0.0"); port 0 picks a free
/// port (see tcp_server::port()). SO_REUSEADDR is on and IPv6 listeners are
/// IPv6-only; options set the backlog and SO_REUSEPORT. Throws
/// std::system_error ("bind 127.0.0.1:80: Permission denied") or
/// corio::resolve_error.
template <connection_handler Handler>
[[nodiscard]] task<tcp_server> start_server(Handler handler, std::string host, std::uint16_t port,
                                            server_options options = {}) {
    return detail::start_tcp_server(detail::make_handler(std::move(handler)), std::move(host), port, options);
}

}  // namespace corio
