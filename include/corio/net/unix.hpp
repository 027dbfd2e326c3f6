#pragma once

#include <corio/detail/config.hpp>
#include <corio/net/detail/socket.hpp>
#include <corio/event_loop.hpp>
#include <corio/net/server.hpp>
#include <corio/net/stream.hpp>
#include <corio/net/tcp.hpp>
#include <corio/task.hpp>

#include <memory>
#include <string>
#include <utility>

namespace corio {
namespace detail {

CORIO_HEADER_COROUTINE inline task<stream_server> start_unix_stream_server(
    std::unique_ptr<connection_handler_base> handler, std::string path, server_options options) {
    const socket_address address = unix_address(path);
    // A socket file left by a server that did not clean up would make bind
    // fail with EADDRINUSE; only a socket is removed, never a regular file.
    if (is_socket_file(path)) {
        remove_file(path);
    }
    auto state = std::make_shared<server_state>(get_running_loop(), std::move(handler), options);
    state->m_listeners.push_back(make_listener(state->m_loop, address, options));
    state->m_unix_path = path;
    start_accepting(state);
    co_return stream_server(std::move(state));
}

}  // namespace detail

/// Connects to the Unix domain stream socket at `path`
/// (asyncio.open_unix_connection). The stream's remote_endpoint() is the
/// path. Throws std::system_error ("connect /tmp/x.sock: No such file or
/// directory"). Cancellation closes the half-open socket.
[[nodiscard]] inline task<unix_stream> open_unix_connection(std::string path) {
    return detail::connect_stream(detail::unix_address(path), path);
}

/// Starts a Unix domain stream server at `path` (asyncio.start_unix_server),
/// already accepting; see stream_server. A stale socket file at `path` is
/// removed first, and close() removes the file.
template <connection_handler Handler>
[[nodiscard]] task<unix_server> start_unix_server(Handler handler, std::string path, server_options options = {}) {
    return detail::start_unix_stream_server(detail::make_handler(std::move(handler)), std::move(path), options);
}

}  // namespace corio
