#pragma once

// corio HTTP (link corio::http): the aiohttp-style client session, the server
// and its router, and below them URLs, messages, the incremental HTTP/1.1
// parser and the serializer. https needs corio::tls as well.

#include <corio/http/body_reader.hpp>
#include <corio/http/client.hpp>
#include <corio/http/client_options.hpp>
#include <corio/http/client_response.hpp>
#include <corio/http/debug_routes.hpp>
#include <corio/http/errors.hpp>
#include <corio/http/message.hpp>
#include <corio/http/parser.hpp>
#include <corio/http/router.hpp>
#include <corio/http/serialize.hpp>
#include <corio/http/server.hpp>
#include <corio/http/url.hpp>
#include <corio/http/websocket.hpp>
#include <corio/http/websocket_options.hpp>

/// HTTP/1.1 client (aiohttp's ClientSession) and server with a router, WebSocket
/// (RFC 6455, permessage-deflate) on both sides; target corio::http.
namespace corio::http {}
