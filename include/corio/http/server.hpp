#pragma once

// corio::http::server: an HTTP/1.1 server on corio::start_server. Each
// request goes to a handler `task<response>(request&)` (often an
// http::router); keep-alive, pipelining, limits, timeouts, 100-continue and
// graceful shutdown are the server's business.

#include <corio/detail/config.hpp>
#include <corio/detail/separate_compilation.hpp>
#include <corio/event_loop.hpp>
#include <corio/http/detail/server.hpp>
#include <corio/http/message.hpp>
#include <corio/http/parser.hpp>
#include <corio/http/router.hpp>
#include <corio/net/endpoint.hpp>
#include <corio/net/server.hpp>
#include <corio/net/tcp.hpp>
#include <corio/task.hpp>

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace corio::http {

/// Options of http::start_server.
struct server_options {
    /// Parser limits: a body over max_body_size → 413 (at once when the
    /// declared Content-Length exceeds it, without reading the body; a
    /// streamed body has its route's limit instead, see stream_body), a header
    /// section over max_header_bytes / max_header_count → 431, a request line
    /// over max_line_length → 414. Each error response closes the connection.
    parser_limits limits{};
    /// The whole request head must arrive within this (counted from its first
    /// byte; on a new connection from the accept), or the server answers 408
    /// and closes. A new connection that sends nothing is closed without a response.
    std::chrono::milliseconds header_timeout{10'000};
    /// The whole request body must arrive within this, counted from the end
    /// of its head (an overall deadline, not one per read: a client trickling
    /// a byte now and then still runs out), or the server answers 408 and closes.
    /// A body streamed to the handler (stream_body) has no overall deadline:
    /// this bounds each wait of its reader for bytes instead.
    std::chrono::milliseconds body_timeout{30'000};
    /// A keep-alive connection idle this long between requests is closed silently.
    std::chrono::milliseconds keep_alive_timeout{15'000};
    /// At most this many connections at once (0: no limit). When a client
    /// waits to be accepted at the limit, the keep-alive connection idle
    /// longest (one that has answered a request and waits for the next) is
    /// closed to make room; with none idle, the server accepts nothing until a
    /// connection ends, and the next connection to finish its request closes
    /// instead of staying open. Waiting clients queue in the listen backlog.
    std::size_t max_connections = 0;
    /// SO_REUSEPORT: run one server per loop (one loop per core) on one port.
    bool reuse_port = false;
    /// listen() backlog.
    int backlog = 1024;
    /// Bytes read per recv: one buffer per connection, reused for every request.
    std::size_t read_buffer_size = 16 * 1024;
    /// Send a Date header (formatted once per second).
    bool date_header = true;
    /// Value of a Server header; empty (the default) sends none.
    std::string server_name{};
    /// Decides, once a request's head is complete (method, target and
    /// headers known, no body byte read), whether its handler reads the body
    /// itself through request::body_stream() as it arrives instead of finding
    /// it whole in request::body: returns the most bytes such a body may have
    /// (it may exceed limits.max_body_size), or nullopt to read it whole as
    /// usual. A declared Content-Length over the limit gets 413 without the
    /// handler; a chunked body passing it makes the reader throw
    /// request_body_error (413 and a close unless the handler answers
    /// itself). A body the handler leaves unread is read and dropped after
    /// it returns when that takes at most 1 MiB, else the response closes the
    /// connection. Empty (the default): the handler's own
    /// `streamed_body_limit(const request&)` decides when it has one
    /// (http::router with add_streaming routes, web::app), else every body
    /// is read whole.
    std::function<std::optional<std::uint64_t>(const request&)> stream_body{};
#if defined(CORIO_HTTP_HAS_TLS)
    /// HTTPS: a tls::context::server(cert, key) makes every connection start
    /// with the TLS handshake, which must end within header_timeout (else, or
    /// when it fails, the connection is closed without a word). Everything
    /// after it (keep-alive, limits, streamed bodies, WebSocket upgrades as
    /// wss://) is as over TCP. Empty (the default): plain HTTP. Needs corio::tls.
    tls::context tls{};
#endif
};

/// A running HTTP/1.1 server (made by http::start_server); move-only.
///
/// Per connection, requests are read into one reusable buffer, parsed with
/// request_parser and answered in order: keep-alive by HTTP/1.1 rules
/// (HTTP/1.0 only with "Connection: keep-alive"; "Connection: close" from
/// either side closes after the response and is echoed), pipelined requests
/// already buffered are answered without waiting and their responses leave
/// in one write. The server owns the Connection header and adds
/// Content-Length (unless the response sets Content-Length or
/// Transfer-Encoding itself, or its status is 1xx/204/304) and Date. A HEAD
/// request gets the head of the response the handler returned, body dropped,
/// Content-Length kept. An Expect other than 100-continue gets 417.
///
/// Host and target (RFC 9112 §3.2), checked before the handler runs: more
/// than one Host field, an invalid Host value (not uri-host[:port]), or an
/// HTTP/1.1 request without a non-empty Host and without an absolute-form
/// target → 400. An absolute-form target ("http://host:8080/a?b", http or
/// https) is routed by its path (request::path() is "/a") and its authority
/// replaces Host; `target` stays as sent. "*" reaches the handler for OPTIONS
/// only (path() "*"), other methods get 400; an authority-form target gets
/// 400, and CONNECT 501 (the server does not tunnel).
///
/// Streamed bodies: for a request whose body server_options::stream_body
/// (or the handler's streamed_body_limit, e.g. a router's add_streaming
/// route) asks to stream, the handler runs as soon as the head is complete
/// and reads the body through request::body_stream(); see http::body_reader.
///
/// Errors: a malformed request → 400, limits → 413 / 431 / 414, timeouts →
/// 408; each closes the connection after the response (reading and dropping
/// what the client still sends for up to 0.5 s, so the response is not lost
/// to a reset). A handler throwing (any exception but cancelled_error), or
/// returning a response with a malformed header, gets a 500 response; the
/// exception goes to the loop's exception handler, and the connection goes on.
///
/// Destroying the server stops accepting (close()) but lets connections
/// finish; use shutdown() to end them. Loop thread only.
class server {
public:
    server() noexcept = default;
    /// Wraps a listening server and its state (start_server makes it, not user code).
    server(stream_server tcp, std::shared_ptr<corio::detail::http_server::state> state) noexcept
        : m_tcp(std::move(tcp)), m_state(std::move(state)) {}
    /// Takes the server; the source is left empty.
    server(server&&) noexcept = default;
    /// Stops accepting on the server held before (as its destructor does) and takes the other.
    server& operator=(server&&) noexcept = default;
    server(const server&) = delete;
    server& operator=(const server&) = delete;
    ~server() = default;

    /// The port of the first listening socket (the one chosen for port 0).
    [[nodiscard]] std::uint16_t port() const { return m_tcp.port(); }
    /// Every address the server listens on.
    [[nodiscard]] std::vector<endpoint> endpoints() const { return m_tcp.endpoints(); }
    /// True until close() or shutdown().
    [[nodiscard]] bool is_serving() const noexcept { return m_tcp.is_serving(); }
    /// Connections currently open.
    [[nodiscard]] std::size_t active_connections() const noexcept { return m_tcp.active_connections(); }
    /// Connections accepted since the start (a client reusing one connection counts once).
    [[nodiscard]] std::uint64_t connections_accepted() const noexcept {
        return m_state ? m_state->connections_accepted : 0;
    }
    /// Requests answered by the handler (including those it failed with 500).
    [[nodiscard]] std::uint64_t requests_served() const noexcept {
        return m_state ? m_state->requests_served : 0;
    }

    /// Stops accepting new connections; open connections keep being served.
    void close() noexcept { m_tcp.close(); }

    /// Graceful shutdown: stops accepting, closes idle keep-alive connections
    /// at once, lets requests in flight finish (their responses carry
    /// "Connection: close") within `grace`, starts the closing handshake of
    /// every WebSocket (Close 1001, "server shutting down": a handler's
    /// receive() then throws connection_closed, next() returns nullopt), then
    /// cancels the handlers still running and resumes once every connection
    /// has ended. Cancelling the
    /// awaiting task stops the wait only.
    [[nodiscard]] CORIO_HEADER_COROUTINE task<void> shutdown(event_loop::duration grace);

    /// Resumes when the server is closed (by close() or shutdown() elsewhere).
    /// Cancelling the awaiting task closes the server and throws cancelled_error.
    [[nodiscard]] task<void> serve_forever() { return m_tcp.serve_forever(); }

    /// Resumes once the server is closed and every connection has ended.
    [[nodiscard]] auto wait_closed() const { return m_tcp.wait_closed(); }

private:
    stream_server m_tcp;
    std::shared_ptr<corio::detail::http_server::state> m_state;
};

}  // namespace corio::http

namespace corio::detail::http_server {

// Built outside the coroutine below, which gets only the shared state: g++ 12
// mangled the std::string inside a server_options coroutine parameter (a
// free() of a pointer into the coroutine frame when the copy died).
CORIO_DECL std::shared_ptr<state> make_state(http::handler handler, const http::server_options& options,
                                             body_policy handler_policy);

/// Starts listening and serving with the state make_state() built.
CORIO_HEADER_COROUTINE CORIO_DECL task<http::server> start(std::shared_ptr<state> shared,
                                                           std::string host, std::uint16_t port,
                                                           corio::server_options tcp_options);

/// The corio::server_options of an http::server.
CORIO_DECL corio::server_options tcp_options(const http::server_options& options) noexcept;

#if defined(CORIO_HTTP_DEFINITIONS)
CORIO_DECL std::shared_ptr<state> make_state(http::handler handler, const http::server_options& options,
                                             body_policy handler_policy) {
    settings s;
    s.stream_body = options.stream_body ? options.stream_body : std::move(handler_policy);
    s.limits = options.limits;
    s.header_timeout = options.header_timeout;
    s.body_timeout = options.body_timeout;
    s.keep_alive_timeout = options.keep_alive_timeout;
    s.read_buffer_size = options.read_buffer_size;
    s.date_header = options.date_header;
    s.server_name = options.server_name;
    auto shared = std::make_shared<state>(std::move(handler), std::move(s));
#if defined(CORIO_HTTP_HAS_TLS)
    if (options.tls && !options.tls.is_server()) {
        throw std::invalid_argument(
            "corio::http::start_server: server_options::tls needs a context made by tls::context::server()");
    }
    shared->tls = options.tls;
#endif
    return shared;
}

CORIO_HEADER_COROUTINE CORIO_DECL task<http::server> start(std::shared_ptr<state> shared,
                                                           std::string host, std::uint16_t port,
                                                           corio::server_options tcp_options) {
    shared->loop = &get_running_loop();
    auto on_connection = [shared](stream_socket stream) {
#if defined(CORIO_HTTP_HAS_TLS)
        if (shared->tls) {
            return serve_secured(shared, std::move(stream));
        }
#endif
        return serve_connection(shared, http_connection_stream(std::move(stream)));
    };
    stream_server tcp = co_await corio::start_server(on_connection, std::move(host), port, tcp_options);
    // Weak: the TCP server's state can outlive this one; then there is no room to make.
    std::weak_ptr<state> weak = shared;
    tcp.set_make_room([weak] {
        if (const std::shared_ptr<state> alive = weak.lock()) {
            alive->make_room();
        }
    });
    co_return http::server(std::move(tcp), std::move(shared));
}

CORIO_DECL corio::server_options tcp_options(const http::server_options& options) noexcept {
    corio::server_options tcp;
    tcp.backlog = options.backlog;
    tcp.reuse_port = options.reuse_port;
    tcp.max_connections = options.max_connections;
    return tcp;
}

#endif  // CORIO_HTTP_DEFINITIONS

}  // namespace corio::detail::http_server

#if defined(CORIO_HTTP_DEFINITIONS)
namespace corio::http {

CORIO_HEADER_COROUTINE CORIO_DECL auto server::shutdown(event_loop::duration grace) -> task<void> {
    if (m_state) {
        m_state->shutting_down = true;
        m_state->close_idle();
        m_state->notify_switched();
    }
    co_await m_tcp.shutdown(grace);
}

}  // namespace corio::http
#endif  // CORIO_HTTP_DEFINITIONS

namespace corio::http {

/// A callable the server can call per request: `task<response>(request&)`
/// (a router, a lambda, std::ref(some_router), ...).
template <class Handler>
concept request_handler = std::invocable<Handler&, request&> &&
                          std::same_as<std::invoke_result_t<Handler&, request&>, task<response>>;

/// A handler that says itself which request bodies it streams (see
/// server_options::stream_body): http::router, web::app's handler().
template <class Handler>
concept streaming_handler = requires(const Handler& h, const request& r) {
    { h.streamed_body_limit(r) } -> std::same_as<std::optional<std::uint64_t>>;
};

}  // namespace corio::http

namespace corio::detail::http_server {

/// True for std::ref(h) of a streaming_handler (a router that outlives the server).
template <class T>
struct is_reference_to_streaming : std::false_type {};
template <class T>
struct is_reference_to_streaming<std::reference_wrapper<T>>
    : std::bool_constant<http::streaming_handler<std::remove_const_t<T>>> {};

}  // namespace corio::detail::http_server

namespace corio::http {

/// Starts an HTTP/1.1 server on host:port and returns it, accepting already.
///
/// `handler` is called for every request with the parsed request (body
/// included, unless the body is streamed: see server_options::stream_body;
/// valid until the handler's task finishes) and returns the
/// response; it is copied into the server and lives as long as the server or
/// a connection does. host/port as for corio::start_server ("127.0.0.1",
/// port 0 picks a free port, see server::port()). Throws std::system_error
/// (bind failed) or corio::resolve_error. Resumes on the calling loop, which
/// then runs every connection; for one loop per core give each loop its
/// own server with options.reuse_port.
template <request_handler Handler>
    requires std::copy_constructible<Handler>
[[nodiscard]] task<server> start_server(Handler h, std::string host, std::uint16_t port,
                                        const server_options& options) {
    namespace impl = corio::detail::http_server;
    impl::body_policy policy;
    http::handler call;
    if constexpr (streaming_handler<Handler>) {
        // One copy answers both questions.
        auto shared = std::make_shared<Handler>(std::move(h));
        policy = [shared](const request& r) { return shared->streamed_body_limit(r); };
        call = [shared](request& r) { return (*shared)(r); };
    } else if constexpr (impl::is_reference_to_streaming<Handler>::value) {
        policy = [target = &h.get()](const request& r) { return target->streamed_body_limit(r); };
        call = http::handler(std::move(h));
    } else {
        call = http::handler(std::move(h));
    }
    return impl::start(impl::make_state(std::move(call), options, std::move(policy)), std::move(host), port,
                       impl::tcp_options(options));
}

/// start_server with the default options. (An overload, not a default
/// argument: g++ 12 corrupts a defaulted class-type argument holding a
/// std::string when the call is the operand of co_await.)
template <request_handler Handler>
    requires std::copy_constructible<Handler>
[[nodiscard]] task<server> start_server(Handler h, std::string host, std::uint16_t port) {
    return start_server(std::move(h), std::move(host), port, server_options{});
}

}  // namespace corio::http
