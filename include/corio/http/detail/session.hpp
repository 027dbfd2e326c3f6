#pragma once

// The engine behind corio::http::client_session: one request from URL to
// client_response. It takes a pooled connection (or opens one: TCP, then TLS
// for https), writes the request, reads the head of the final response,
// retries once on a fresh connection when a reused one turns out to be
// closed, and follows redirects; every step runs within the request's
// timeout budget (timeouts.hpp).

#include <corio/cancel.hpp>
#include <corio/detail/config.hpp>
#include <corio/detail/separate_compilation.hpp>
#include <corio/event_loop.hpp>
#include <corio/http/client_options.hpp>
#include <corio/http/client_response.hpp>
#include <corio/http/detail/grammar.hpp>
#include <corio/http/detail/pool.hpp>
#include <corio/http/detail/timeouts.hpp>
#include <corio/http/detail/transport.hpp>
#include <corio/http/detail/wire.hpp>
#include <corio/http/errors.hpp>
#include <corio/http/message.hpp>
#include <corio/http/parser.hpp>
#include <corio/http/url.hpp>
#include <corio/net/errors.hpp>
#include <corio/net/tcp.hpp>
#include <corio/task.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace corio::detail {

#if defined(CORIO_HTTP_DEFINITIONS)
/// Writes one request (head and body) into `out` with the shared head writer
/// (http/detail/wire.hpp), adding Host, User-Agent, Accept-Encoding and the
/// session's default headers unless the request sets them. Throws
/// std::invalid_argument on a method that is not a token or a header that
/// would break the message.
inline void http_write_request(std::string& out, std::string_view method, const http::url& u,
                               const http::session_options& options, const http::headers& extra,
                               std::string_view body) {
    const auto provided = [&](std::string_view name) {
        return extra.contains(name) || options.default_headers.contains(name);
    };
    out.clear();
    const std::string_view query = u.query();
    http_wire::append_request_line(out, method, u.path(), u.has_query() ? &query : nullptr,
                                   http::http_version{});
    if (!provided("Host")) {
        out += "Host: ";
        http_wire::append_host(out, u);
        if (!u.default_port()) {
            out += ':';
            http_wire::append_decimal(out, u.port());
        }
        out += "\r\n";
    }
    if (!provided("User-Agent")) {
        out += "User-Agent: corio/0.1\r\n";
    }
#if defined(CORIO_WITH_ZLIB)
    if (options.auto_decompress && !provided("Accept-Encoding")) {
        out += "Accept-Encoding: gzip, deflate\r\n";
    }
#endif
    for (const http::header_field& field : options.default_headers) {
        if (!extra.contains(field.name)) {
            http_wire::append_field(out, field);
        }
    }
    http_wire::append_fields(out, extra);
    if (!provided("Content-Length") && !provided("Transfer-Encoding") &&
        (!body.empty() || http_wire::method_expects_body(method))) {
        http_wire::append_content_length(out, body.size());
    }
    out += "\r\n";
    out += body;
}
#endif  // CORIO_HTTP_DEFINITIONS

/// What a session shares with its requests and responses: the options, the
/// pool and (with TLS) the client context. Requests in flight hold it, so a
/// session may be destroyed while they run.
class http_session_state {
public:
    explicit http_session_state(http::session_options o)
        : options(std::move(o)),
          pool(std::make_shared<http_pool>(
              options.limit, options.limit_per_host,
              std::chrono::duration_cast<event_loop::duration>(options.keep_alive_timeout))) {}

    http::session_options options;
    std::shared_ptr<http_pool> pool;

    static bool is_redirect(int status) noexcept {
        return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
    }
    // RFC 9110 §9.2.2: only these may be retried automatically.
    static bool is_idempotent(std::string_view method) noexcept {
        return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" ||
               method == "OPTIONS" || method == "TRACE";
    }

    /// One request with its redirects (the body of every client_session request).
    CORIO_HEADER_COROUTINE static task<http::client_response> perform(
        std::shared_ptr<http_session_state> self, std::string method, std::string url_text,
        http::headers extra, std::string body, http::client_timeouts timeouts, int max_redirects,
        std::uint64_t max_body_size);

    /// A new connection's stream for `u`: TCP, then the TLS handshake for
    /// https with the session's client context (also what ws_connect uses).
    CORIO_HEADER_COROUTINE task<http_connection_stream> connect_stream(const http::url& u);

private:
    // Reads and drops an intermediate redirect's body so its connection can be
    // reused; past 1 MiB, or on an error, the connection is closed instead.
    CORIO_HEADER_COROUTINE static task<void> drain(http::client_response& r);

    CORIO_HEADER_COROUTINE static task<http_grant> acquire_waiting(http_pool& pool, http_host& host,
                                                                   bool fresh);

    // An idle connection of u's host, or a new one (fresh: never an idle one).
    CORIO_HEADER_COROUTINE task<http_lease> obtain(const http::url& u, http_host& host,
                                                   const http_budget& budget,
                                                   std::string_view method, bool fresh);

    enum class head_status { complete, no_response };

    // Reads until the head of the final (non-1xx) response is parsed.
    // no_response: the connection ended or failed before any byte came back
    // (`error` holds the failure, if any) — a stale keep-alive connection.
    CORIO_HEADER_COROUTINE static task<head_status> read_head(http_connection& c,
                                                              const http_budget& budget,
                                                              std::string_view method,
                                                              const http::url& u,
                                                              std::exception_ptr& error);

    // One request on one connection, retried once on a fresh connection when
    // a reused one turns out to be closed (idempotent methods only).
    CORIO_HEADER_COROUTINE task<http::client_response> exchange(
        const std::string& method, const http::url& u, const http::headers& extra,
        const std::string& body, const http_budget& budget, std::uint64_t max_body_size);

    http::client_response make_response(http_lease lease, const std::string& method,
                                        const http::url& u, const http_budget& budget,
                                        std::uint64_t max_body_size);

#if defined(CORIO_HTTP_HAS_TLS)
    std::optional<tls::context> m_tls;  // made on the first https request
#endif
};

#if defined(CORIO_HTTP_DEFINITIONS)
CORIO_HEADER_COROUTINE CORIO_DECL auto http_session_state::perform(
    std::shared_ptr<http_session_state> self, std::string method, std::string url_text,
    http::headers extra, std::string body, http::client_timeouts timeouts, int max_redirects,
    std::uint64_t max_body_size) -> task<http::client_response> {
    const http_budget budget = http_budget::from(timeouts);
    http::url current = http::url::parse(url_text);
    std::vector<std::string> history;
    int redirects = 0;
    for (;;) {
        std::optional<http::client_response> response;
        std::exception_ptr failure;
        std::string failure_text;
        try {
            response.emplace(
                co_await self->exchange(method, current, extra, body, budget, max_body_size));
        } catch (const std::system_error& e) {
            failure = std::current_exception();
            failure_text = e.what();
        } catch (const resolve_error& e) {
            failure = std::current_exception();
            failure_text = e.what();
        } catch (const http_pool_closed& e) {
            failure = std::current_exception();
            failure_text = e.what();
        }
#if defined(CORIO_HTTP_HAS_TLS)
        catch (const tls::tls_error& e) {
            failure = std::current_exception();
            failure_text = e.what();
        }
#endif
        if (failure) {
            throw http::client_connection_error(
                current.to_string(), http_describe(method, current) + ": " + failure_text, failure);
        }
        http::client_response& r = *response;
        r.m_redirects = redirects;
        if (max_redirects <= 0 || !is_redirect(r.m_status)) {
            co_return std::move(r);
        }
        const std::optional<std::string_view> location = r.m_headers.get("Location");
        if (!location) {
            co_return std::move(r);
        }
        http::url next = current.resolve(*location);
        if (history.empty()) {
            history.push_back(current.to_string());
        }
        history.push_back(next.to_string());
        co_await drain(r);
        if (redirects >= max_redirects) {
            throw http::too_many_redirects(std::move(history), max_redirects);
        }
        ++redirects;
        // RFC 9110 §15.4: 303 (and, as every browser does, 301/302) turn
        // into a GET without body; 307/308 repeat the request as it was.
        if (r.m_status != 307 && r.m_status != 308 && !http_grammar::is_head(method)) {
            if (method != "GET") {
                method = "GET";
            }
            body.clear();
            extra.remove("Content-Length");
            extra.remove("Content-Type");
            extra.remove("Transfer-Encoding");
        }
        // Credentials are for the origin they were given to.
        if (next.scheme() != current.scheme() || next.host() != current.host() ||
            next.port() != current.port()) {
            extra.remove("Authorization");
        }
        current = std::move(next);
    }
}

CORIO_HEADER_COROUTINE CORIO_DECL auto http_session_state::connect_stream(const http::url& u)
    -> task<http_connection_stream> {
    tcp_stream stream = co_await open_connection(u.host(), u.port());
    if (!u.is_https()) {
        co_return http_connection_stream(std::move(stream));
    }
#if defined(CORIO_HTTP_HAS_TLS)
    if (!m_tls) {
        tls::client_options tls_options;
        tls_options.verify_peer = options.verify;
        tls_options.ca_file = options.ca_file;
        m_tls.emplace(tls::context::client(std::move(tls_options)));
    }
    http_tls_stream secured = co_await tls::connect(std::move(stream), *m_tls, u.host());
    co_return http_connection_stream(std::move(secured));
#else
    throw http::client_connection_error(
        u.to_string(),
        "https needs corio::tls (build with OpenSSL and link corio::tls): " + u.to_string());
#endif
}

CORIO_HEADER_COROUTINE CORIO_DECL auto http_session_state::drain(http::client_response& r)
    -> task<void> {
    std::size_t drained = 0;
    std::string sink;
    try {
        while (!r.m_done && drained < (1u << 20)) {
            sink.clear();
            co_await r.read_more(sink, http::client_response::max_chunk_size);
            drained += sink.size();
        }
    } catch (const http::client_connection_error&) {
    } catch (const http::protocol_error&) {
    }
    r.release();
}

CORIO_HEADER_COROUTINE CORIO_DECL auto http_session_state::acquire_waiting(http_pool& pool,
                                                                           http_host& host,
                                                                           bool fresh)
    -> task<http_grant> {
    co_return co_await pool.acquire(host, fresh);
}

CORIO_HEADER_COROUTINE CORIO_DECL auto http_session_state::obtain(const http::url& u,
                                                                  http_host& host,
                                                                  const http_budget& budget,
                                                                  std::string_view method,
                                                                  bool fresh) -> task<http_lease> {
    http_grant g;
    if (pool->closed()) {
        throw http_pool_closed{};
    }
    if (host.waiters.empty()) {
        g = pool->try_take(host, fresh);
    }
    if (!g) {
        if (budget.deadline == event_loop::time_point::max()) {
            g = co_await pool->acquire(host, fresh);
        } else {
            g = co_await http_timed(acquire_waiting(*pool, host, fresh), budget, std::nullopt,
                                    "pool", method, u);
        }
    }
    if (g.connection) {
        co_return http_lease(pool, std::move(g.connection));
    }
#if !defined(CORIO_HTTP_HAS_TLS)
    if (u.is_https()) {
        pool->release_slot(host);
        throw http::client_connection_error(
            u.to_string(), http_describe(method, u) +
                               ": https needs corio::tls (build with OpenSSL and link corio::tls)");
    }
#endif
    http_slot_guard guard(*pool, host);
    http_connection_stream stream =
        co_await http_timed(connect_stream(u), budget, budget.connect, "connect", method, u);
    guard.disarm();
    pool->note_connected();
    co_return http_lease(pool, std::make_unique<http_connection>(std::move(stream), host));
}

CORIO_HEADER_COROUTINE CORIO_DECL auto http_session_state::read_head(
    http_connection& c, const http_budget& budget, std::string_view method, const http::url& u,
    std::exception_ptr& error) -> task<head_status> {
    bool started = false;
    for (;;) {
        while (c.pos < c.end) {
            started = true;
            const http::parse_result r =
                c.parser.feed(std::span<const char>(c.buffer.get() + c.pos, c.end - c.pos));
            c.pos += r.consumed;
            if (r.status == http::parse_status::headers_complete &&
                c.parser.message().status >= 200) {
                co_return head_status::complete;
            }
        }
        std::size_t n = 0;
        try {
            n = co_await http_fill(c, budget, method, u);
        } catch (const std::system_error&) {
            if (started) {
                throw;
            }
            error = std::current_exception();
        }
        if (error) {
            co_return head_status::no_response;
        }
        if (n == 0) {
            if (!started) {
                co_return head_status::no_response;
            }
            throw http::client_connection_error(
                u.to_string(), http_describe(method, u) +
                                   ": connection closed in the middle of the response head");
        }
        c.end = n;
    }
}

CORIO_HEADER_COROUTINE CORIO_DECL auto http_session_state::exchange(
    const std::string& method, const http::url& u, const http::headers& extra,
    const std::string& body, const http_budget& budget, std::uint64_t max_body_size)
    -> task<http::client_response> {
    http_host& host = pool->host_for(u);
    for (int attempt = 0;; ++attempt) {
        http_lease lease = co_await obtain(u, host, budget, method, attempt > 0);
        http_connection& c = *lease;
        ++c.requests;
        const bool reused = c.requests > 1;
        http_write_request(c.out, method, u, options, extra, body);
        c.parser.set_request_method(method);
        std::exception_ptr error;
        head_status status = head_status::no_response;
        try {
            // One send takes a request most of the time: the write coroutine
            // (and its timeout) only for what the kernel leaves. A budget
            // already spent still fails in http_timed, before any byte.
            std::size_t sent = 0;
            if (budget.deadline == event_loop::time_point::max() || event_loop::clock::now() < budget.deadline) {
                sent = c.stream.write_now(c.out);
            }
            if (sent < c.out.size()) {
                const std::string_view rest = std::string_view(c.out).substr(sent);
                if (budget.deadline == event_loop::time_point::max()) {
                    co_await c.stream.write(rest);
                } else {
                    co_await http_timed(c.stream.write(rest), budget, std::nullopt, "write", method, u);
                }
            }
        } catch (const std::system_error&) {
            error = std::current_exception();
        }
        if (!error) {
            status = co_await read_head(c, budget, method, u, error);
        }
        if (status == head_status::complete) {
            co_return make_response(std::move(lease), method, u, budget, max_body_size);
        }
        lease.release(false);
        if (reused && attempt == 0 && is_idempotent(method)) {
            continue;
        }
        if (error) {
            std::rethrow_exception(error);
        }
        throw http::client_connection_error(
            u.to_string(),
            http_describe(method, u) + ": server closed the connection without a response");
    }
}

CORIO_DECL auto http_session_state::make_response(http_lease lease, const std::string& method,
                                                  const http::url& u, const http_budget& budget,
                                                  std::uint64_t max_body_size)
    -> http::client_response {
    http_connection& c = *lease;
    http::response& m = c.parser.message();
    http::client_response r(m.status, std::move(m.reason), m.version, std::move(m.headers), u,
                            method);
    if (!c.parser.chunked() && !c.parser.reads_until_close()) {
        r.m_content_length = c.parser.content_length();
    }
    r.m_budget = budget;
    r.m_max_body_size = max_body_size;
#if defined(CORIO_WITH_ZLIB)
    if (options.auto_decompress) {
        if (const auto coding = r.m_headers.get("Content-Encoding")) {
            const std::string_view name = ::corio::detail::http_grammar::trim_ows(*coding);
            if (::corio::detail::http_grammar::iequals(name, "gzip") ||
                ::corio::detail::http_grammar::iequals(name, "x-gzip")) {
                r.m_decoder = std::make_unique<http_inflater>(http_inflater::format::gzip);
            } else if (::corio::detail::http_grammar::iequals(name, "deflate")) {
                r.m_decoder = std::make_unique<http_inflater>(http_inflater::format::deflate);
            }
        }
    }
#endif
    const bool empty_body = r.m_content_length && *r.m_content_length == 0;
    r.m_lease = std::move(lease);
    if (empty_body) {
        // Nothing to read: complete the message now so the connection goes
        // back to the pool before the caller even looks at the response.
        http_connection& conn = *r.m_lease;
        const http::parse_result done = conn.parser.feed(
            std::span<const char>(conn.buffer.get() + conn.pos, conn.end - conn.pos));
        conn.pos += done.consumed;
        r.finish_body(done.status == http::parse_status::message_complete);
    }
    return r;
}
#endif  // CORIO_HTTP_DEFINITIONS
}  // namespace corio::detail
