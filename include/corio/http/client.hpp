#pragma once

// corio::http::client_session: an HTTP/1.1 client in the spirit of aiohttp's
// ClientSession, with a keep-alive connection pool, limits, timeouts,
// redirects and gzip/deflate decoding. Its options are in client_options.hpp,
// its response in client_response.hpp, its errors in errors.hpp; the request
// engine (pool, redirects, retries, timeouts) is in http/detail/.

#include <corio/detail/config.hpp>
#include <corio/http/client_options.hpp>
#include <corio/http/client_response.hpp>
#include <corio/http/detail/session.hpp>
#include <corio/http/errors.hpp>
#include <corio/http/message.hpp>
#include <corio/http/parser.hpp>
#include <corio/http/serialize.hpp>
#include <corio/http/url.hpp>
#include <corio/http/websocket.hpp>
#include <corio/task.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

namespace corio::http {

/// An HTTP/1.1 client with a connection pool (aiohttp's ClientSession with
/// its TCPConnector): create one per application (or per group of requests)
/// and share it, as the asyncio tutorial does.
///
/// `co_await session.get(url)` returns a client_response once the status line
/// and headers arrived (read the body with text() / read_chunk()). Keep-alive
/// connections are pooled per (scheme, host, port) and reused; at most
/// `limit` connections are open in total and `limit_per_host` per host
/// (0 = unlimited), further requests wait in FIFO order. Redirects
/// (301/302/303 → GET without body, HEAD stays HEAD; 307/308 keep method and
/// body) are followed up to max_redirects. A reused connection that the
/// server had closed is detected and the request retried once on a new one
/// (idempotent methods). gzip / deflate bodies are decoded when built with
/// zlib. https needs corio::tls.
///
/// Errors: client_connection_error (refused, reset, DNS, TLS, closed early),
/// protocol_error (malformed response; body_too_large past max_body_size),
/// corio::timeout_error (see client_timeouts), too_many_redirects, url_error
/// (bad URL or Location), std::invalid_argument (a header or method that
/// cannot be sent).
/// Cancelling a request closes the connection it was using and throws
/// cancelled_error; a cancelled wait for a pooled connection takes nothing.
///
/// Lifetime: requests in flight and responses share the pool with the session,
/// so destroying the session while they run is safe (their connections close
/// when released). The session, its requests and responses belong to the loop
/// that runs them: use them on that thread only and destroy them before the
/// loop.
class client_session {
public:
    /// A session with `options` (see session_options).
    explicit client_session(session_options options = {})
        : m_state(std::make_shared<corio::detail::http_session_state>(std::move(options))) {}
    /// Takes the session (its pool and options); the source is left closed.
    client_session(client_session&&) noexcept = default;
    /// Closes the session held before (see close()) and takes the other one.
    client_session& operator=(client_session&& other) noexcept {
        if (this != &other) {
            shut();
            m_state = std::move(other.m_state);
        }
        return *this;
    }
    client_session(const client_session&) = delete;
    client_session& operator=(const client_session&) = delete;
    /// Closes the idle connections; requests still running finish normally.
    ~client_session() { shut(); }

    /// GET `url` with `extra` headers.
    [[nodiscard]] task<client_response> get(std::string url, http::headers extra = {}) {
        return request("GET", std::move(url), std::move(extra));
    }
    /// HEAD `url` (the response has no body).
    [[nodiscard]] task<client_response> head(std::string url, http::headers extra = {}) {
        return request("HEAD", std::move(url), std::move(extra));
    }
    /// DELETE `url`.
    [[nodiscard]] task<client_response> del(std::string url, http::headers extra = {}) {
        return request("DELETE", std::move(url), std::move(extra));
    }
    /// POST `body` to `url` with the given Content-Type.
    [[nodiscard]] task<client_response> post(
        std::string url, std::string body, std::string content_type = "application/octet-stream") {
        return with_body("POST", std::move(url), std::move(body), std::move(content_type));
    }
    /// PUT `body` to `url` with the given Content-Type.
    [[nodiscard]] task<client_response> put(std::string url, std::string body,
                                            std::string content_type = "application/octet-stream") {
        return with_body("PUT", std::move(url), std::move(body), std::move(content_type));
    }
    /// PATCH `body` to `url` with the given Content-Type.
    [[nodiscard]] task<client_response> patch(
        std::string url, std::string body, std::string content_type = "application/octet-stream") {
        return with_body("PATCH", std::move(url), std::move(body), std::move(content_type));
    }

    /// Any method: `extra` headers are added to the session's defaults (and
    /// win over them); a non-empty `body` gets a Content-Length.
    [[nodiscard]] task<client_response> request(std::string method, std::string url,
                                                http::headers extra = {}, std::string body = {}) {
        const session_options& o = state().options;
        return corio::detail::http_session_state::perform(
            m_state, std::move(method), std::move(url), std::move(extra), std::move(body),
            o.timeouts, o.max_redirects, o.max_body_size);
    }

    /// Any method with per-request options (timeouts, max_redirects,
    /// max_body_size), as
    /// aiohttp's session.request(..., timeout=...).
    [[nodiscard]] task<client_response> send(std::string method, std::string url,
                                             request_options options) {
        const session_options& o = state().options;
        return corio::detail::http_session_state::perform(
            m_state, std::move(method), std::move(url), std::move(options.headers),
            std::move(options.body), options.timeouts.value_or(o.timeouts),
            options.max_redirects.value_or(o.max_redirects),
            options.max_body_size.value_or(o.max_body_size));
    }

    /// GET with per-request options (headers, timeouts, redirect and body
    /// limits), as aiohttp's session.get(url, headers=..., timeout=...).
    [[nodiscard]] task<client_response> get(std::string url, request_options options) {
        return send("GET", std::move(url), std::move(options));
    }
    /// HEAD with per-request options.
    [[nodiscard]] task<client_response> head(std::string url, request_options options) {
        return send("HEAD", std::move(url), std::move(options));
    }
    /// DELETE with per-request options.
    [[nodiscard]] task<client_response> del(std::string url, request_options options) {
        return send("DELETE", std::move(url), std::move(options));
    }
    /// POST `body` with per-request options; `content_type` is added unless
    /// options.headers already has a Content-Type.
    [[nodiscard]] task<client_response> post(std::string url, std::string body, std::string content_type,
                                             request_options options) {
        return send_with_body("POST", std::move(url), std::move(body), std::move(content_type),
                              std::move(options));
    }
    /// PUT `body` with per-request options (see post).
    [[nodiscard]] task<client_response> put(std::string url, std::string body, std::string content_type,
                                            request_options options) {
        return send_with_body("PUT", std::move(url), std::move(body), std::move(content_type),
                              std::move(options));
    }
    /// PATCH `body` with per-request options (see post).
    [[nodiscard]] task<client_response> patch(std::string url, std::string body, std::string content_type,
                                              request_options options) {
        return send_with_body("PATCH", std::move(url), std::move(body), std::move(content_type),
                              std::move(options));
    }
    /// Opens a WebSocket connection (ws://, wss://) with this session's TLS
    /// settings (aiohttp's session.ws_connect). The connection is its own, not
    /// taken from nor counted in the pool; redirects are not followed (a 3xx
    /// is a websocket_handshake_error). See http::ws_connect for the errors.
    [[nodiscard]] task<websocket> ws_connect(std::string url, ws_connect_options options) {
        return corio::detail::ws::connect(m_state, std::move(url), std::move(options));
    }
    /// The same with default ws_connect_options.
    [[nodiscard]] task<websocket> ws_connect(std::string url) {
        return ws_connect(std::move(url), ws_connect_options{});
    }

    /// Closes the session: idle connections now, connections in use when their
    /// response is released; requests waiting for a connection, and later
    /// requests, fail with client_connection_error.
    [[nodiscard]] CORIO_HEADER_COROUTINE task<void> close() {
        shut();
        co_return;
    }

    /// True once close() was called, or for a moved-from session.
    [[nodiscard]] bool closed() const noexcept { return !m_state || m_state->pool->closed(); }
    /// The options the session was made with; std::logic_error on a moved-from session.
    [[nodiscard]] const session_options& options() const { return state().options; }
    /// Connections established so far (a measure of reuse).
    [[nodiscard]] std::uint64_t connections_opened() const {
        return state().pool->connections_opened();
    }
    /// Connections open now: idle, in use or connecting.
    [[nodiscard]] std::size_t open_connections() const { return state().pool->open_connections(); }
    /// Idle keep-alive connections in the pool now.
    [[nodiscard]] std::size_t idle_connections() const { return state().pool->idle_connections(); }

private:
    corio::detail::http_session_state& state() const {
        if (!m_state) {
            throw std::logic_error("corio::http::client_session: used after being moved from");
        }
        return *m_state;
    }
    void shut() noexcept {
        if (m_state) {
            m_state->pool->close();
        }
    }
    task<client_response> with_body(std::string method, std::string url, std::string body,
                                    std::string content_type) {
        http::headers extra;
        extra.add("Content-Type", std::move(content_type));
        return request(std::move(method), std::move(url), std::move(extra), std::move(body));
    }

    task<client_response> send_with_body(std::string method, std::string url, std::string body,
                                         std::string content_type, request_options options) {
        if (!options.headers.contains("Content-Type")) {
            options.headers.add("Content-Type", std::move(content_type));
        }
        options.body = std::move(body);
        return send(std::move(method), std::move(url), std::move(options));
    }

    std::shared_ptr<corio::detail::http_session_state> m_state;
};

}  // namespace corio::http
