#pragma once

// What a handler's 101 response carries so the HTTP server can hand the
// connection over to another protocol (WebSocket) once the response is out.

#include <corio/http/detail/transport.hpp>
#include <corio/http/message.hpp>
#include <corio/task.hpp>

#include <functional>
#include <string>

namespace corio::http {

/// Run by the server after it wrote the 101 response: gets the connection's
/// stream, the bytes the client sent after the request (already read), and
/// the request (valid until the task ends). The connection ends with it.
struct protocol_switch {
    std::function<task<void>(corio::detail::http_connection_stream, std::string, request&)> run;
};

}  // namespace corio::http
