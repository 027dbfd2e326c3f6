#pragma once

// What a handler's 101 response carries so the HTTP server can hand the
// connection over to another protocol (WebSocket) once the response is out.

#include <corio/http/detail/transport.hpp>
#include <corio/http/message.hpp>
#include <corio/task.hpp>

#include <functional>
#include <string>

namespace corio::http {

/// How the server tells a switched connection that it is shutting down
/// (server::shutdown), so the protocol can end it its own way (WebSocket:
/// Close with 1001, "going away") within the grace period.
struct shutdown_notice {
    /// True once the server's shutdown started (also before the protocol ran).
    bool requested = false;
    /// Set by the protocol while it runs; called (at most once) by the server
    /// when its shutdown starts. Must not throw.
    std::function<void()> notify;
};

/// Run by the server after it wrote the 101 response: gets the connection's
/// stream, the bytes the client sent after the request (already read), the
/// request (valid until the task ends) and the connection's shutdown notice
/// (likewise). The connection ends with it.
struct protocol_switch {
    std::function<task<void>(corio::detail::http_connection_stream, std::string, request&,
                             shutdown_notice&)>
        run;
};

}  // namespace corio::http
