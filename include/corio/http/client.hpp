#pragma once

// corio::http::client_session: an HTTP/1.1 client in the spirit of aiohttp's
// ClientSession, with a keep-alive connection pool, limits, timeouts,
// redirects and gzip/deflate decoding.

#include <corio/cancel.hpp>
#include <corio/combinators.hpp>
#include <corio/detail/config.hpp>
#include <corio/http/detail/inflate.hpp>
#include <corio/http/detail/pool.hpp>
#include <corio/http/detail/transport.hpp>
#include <corio/http/detail/wire.hpp>
#include <corio/event_loop.hpp>
#include <corio/http/message.hpp>
#include <corio/http/parser.hpp>
#include <corio/http/serialize.hpp>
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
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace corio::http {

/// The request could not be carried out at the connection level: connection
/// refused or reset, a name that does not resolve, a TLS handshake or
/// certificate failure, or the server closing the connection before the
/// response ended (never a truncated success). what() reads
/// "GET http://host/path: <cause>"; cause() holds the original exception
/// (std::system_error, corio::resolve_error, corio::tls::tls_error,
/// corio::http::protocol_error) when there was one.
class client_connection_error : public std::runtime_error {
public:
    client_connection_error(std::string url, const std::string& what, std::exception_ptr cause = nullptr)
        : std::runtime_error(what), m_url(std::move(url)), m_cause(std::move(cause)) {}

    /// The URL being fetched when it failed.
    [[nodiscard]] const std::string& url() const noexcept { return m_url; }
    /// The underlying exception, or null.
    [[nodiscard]] const std::exception_ptr& cause() const noexcept { return m_cause; }

private:
    std::string m_url;
    std::exception_ptr m_cause;
};

/// A request was redirected more than session_options::max_redirects times
/// (aiohttp's TooManyRedirects). history() lists every URL visited, the
/// requested one first, the Location that was not followed last.
class too_many_redirects : public std::runtime_error {
public:
    too_many_redirects(std::vector<std::string> history, int max)
        : std::runtime_error("corio::http: more than " + std::to_string(max) + " redirects, last to " +
                             (history.empty() ? std::string() : history.back())),
          m_history(std::move(history)) {}

    [[nodiscard]] const std::vector<std::string>& history() const noexcept { return m_history; }
    [[nodiscard]] const std::string& last_url() const noexcept { return m_history.back(); }

private:
    std::vector<std::string> m_history;
};

/// Timeouts of a request (aiohttp's ClientTimeout); an empty optional means
/// no limit. Each raises corio::timeout_error naming which limit passed.
struct client_timeouts {
    /// The whole operation: waiting for a pooled connection, connecting,
    /// every redirect, and reading the body with text() / bytes() / read_chunk()
    /// (as in aiohttp, the body read counts).
    std::optional<std::chrono::milliseconds> total{300'000};
    /// Name resolution + TCP connect + TLS handshake of a new connection.
    std::optional<std::chrono::milliseconds> connect{};
    /// Each read from the socket (the gap between two pieces of the response).
    std::optional<std::chrono::milliseconds> sock_read{};
};

/// Options of a client_session (aiohttp's ClientSession + TCPConnector arguments).
struct session_options {
    /// Most connections open at once, over all hosts (0 = unlimited).
    std::size_t limit = 100;
    /// Most connections open at once to one (scheme, host, port) (0 = unlimited).
    std::size_t limit_per_host = 0;
    client_timeouts timeouts{};
    /// Redirects followed per request before too_many_redirects; 0 returns
    /// the 3xx response itself.
    int max_redirects = 10;
    /// Sent with every request (a request's own header of the same name wins).
    http::headers default_headers{};
    /// Decode Content-Encoding gzip / deflate (needs zlib: CORIO_WITH_ZLIB).
    bool auto_decompress = true;
    /// How long an idle keep-alive connection stays in the pool (0 = never kept).
    std::chrono::milliseconds keep_alive_timeout{15'000};
    /// https only: CA file to trust instead of the system store ("" = system).
    std::string ca_file{};
    /// https only: verify the server's certificate and host name.
    bool verify = true;
};

/// Per-request settings for client_session::send.
struct request_options {
    http::headers headers{};
    std::string body{};
    /// Replaces the session's timeouts for this request.
    std::optional<client_timeouts> timeouts{};
    /// Replaces the session's max_redirects for this request.
    std::optional<int> max_redirects{};
};

class client_session;
class client_response;

}  // namespace corio::http

namespace corio::detail {

/// The time budget of one request: the total deadline and the per-step limits.
struct http_budget {
    event_loop::time_point deadline = event_loop::time_point::max();
    std::optional<event_loop::duration> total;
    std::optional<event_loop::duration> connect;
    std::optional<event_loop::duration> sock_read;

    static http_budget from(const http::client_timeouts& t) {
        http_budget b;
        if (t.total) {
            b.total = *t.total;
            b.deadline = event_loop::clock::now() + *t.total;
        }
        if (t.connect) {
            b.connect = *t.connect;
        }
        if (t.sock_read) {
            b.sock_read = *t.sock_read;
        }
        return b;
    }
};

inline std::string http_describe(std::string_view method, const http::url& u) {
    std::string s(method);
    s += ' ';
    s += u.to_string();
    return s;
}

[[noreturn]] inline void http_throw_timeout(const char* kind, event_loop::duration limit, std::string_view method,
                                            const http::url& u) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(limit).count();
    throw timeout_error("corio::http: " + std::string(kind) + " timeout (" + std::to_string(ms) + " ms) on " +
                        http_describe(method, u));
}

/// Awaits `op` within the tighter of the step limit and what is left of the
/// total deadline; throws timeout_error naming the one that passed.
template <class T>
CORIO_HEADER_COROUTINE task<T> http_timed(task<T> op, const http_budget& budget,
                                          std::optional<event_loop::duration> step, const char* step_name,
                                          std::string_view method, const http::url& u) {
    std::optional<event_loop::duration> limit = step;
    const char* kind = step_name;
    if (budget.deadline != event_loop::time_point::max()) {
        const auto remaining = budget.deadline - event_loop::clock::now();
        if (remaining <= event_loop::duration::zero()) {
            http_throw_timeout("total", *budget.total, method, u);
        }
        if (!limit || remaining < *limit) {
            limit = remaining;
            kind = "total";
        }
    }
    if (!limit) {
        co_return co_await std::move(op);
    }
    bool timed_out = false;
    if constexpr (std::is_void_v<T>) {
        try {
            co_await wait_for(std::move(op), *limit);
        } catch (const timeout_error&) {
            timed_out = true;
        }
        if (timed_out) {
            http_throw_timeout(kind, kind == step_name ? *step : *budget.total, method, u);
        }
    } else {
        std::optional<T> result;
        try {
            result.emplace(co_await wait_for(std::move(op), *limit));
        } catch (const timeout_error&) {
            timed_out = true;
        }
        if (timed_out) {
            http_throw_timeout(kind, kind == step_name ? *step : *budget.total, method, u);
        }
        co_return std::move(*result);
    }
}

/// Reads into the connection's buffer (which must be fully parsed); 0 at end of stream.
[[nodiscard]] inline task<std::size_t> http_fill(http_connection& c, const http_budget& budget,
                                                 std::string_view method, const http::url& u) {
    c.pos = 0;
    c.end = 0;
    const std::span<std::byte> buffer(reinterpret_cast<std::byte*>(c.buffer.get()), http_read_buffer_size);
    if (!budget.sock_read && budget.deadline == event_loop::time_point::max()) {
        return c.transport->read_some(buffer);
    }
    return http_timed(c.transport->read_some(buffer), budget, budget.sock_read, "sock_read", method, u);
}

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
    http_wire::append_request_line(out, method, u.path(), u.has_query() ? &query : nullptr, http::http_version{});
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

class http_session_state;

}  // namespace corio::detail

namespace corio::http {

/// The response to a client_session request (aiohttp's ClientResponse).
///
/// The status line and headers are read when the request's co_await returns;
/// the body is read on demand with text() / bytes() (all of it) or
/// read_chunk() (streaming). The response owns its connection until the body
/// has been read to the end, then gives it back to the session's pool for
/// reuse (keep-alive); release() or destroying the response before that
/// closes the connection instead. A response may outlive its session (the
/// pool state is shared): its connection is then closed when released.
/// Destroy responses and sessions before their event loop, on its thread.
///
/// Body reads honour the request's total and sock_read timeouts
/// (corio::timeout_error). A connection that ends before the body does throws
/// client_connection_error; malformed framing or a corrupt gzip/deflate body
/// throws protocol_error. After any error the connection is closed.
/// Cancelling a body read closes the connection and throws cancelled_error.
/// Move-only; not thread-safe; one body read at a time.
class client_response {
public:
    client_response(client_response&&) noexcept = default;
    client_response& operator=(client_response&&) noexcept = default;
    client_response(const client_response&) = delete;
    client_response& operator=(const client_response&) = delete;
    ~client_response() = default;

    /// The status code (e.g. 200).
    [[nodiscard]] int status() const noexcept { return m_status; }
    /// True for a status below 400.
    [[nodiscard]] bool ok() const noexcept { return m_status < 400; }
    /// The reason phrase as sent by the server (may be empty).
    [[nodiscard]] std::string_view reason() const noexcept { return m_reason; }
    /// The response header fields (case-insensitive lookup).
    [[nodiscard]] const http::headers& headers() const noexcept { return m_headers; }
    /// The URL this response came from (the last one after redirects).
    [[nodiscard]] const http::url& url() const noexcept { return m_url; }
    /// The HTTP version of the response.
    [[nodiscard]] http_version version() const noexcept { return m_version; }
    /// Redirects followed to get here.
    [[nodiscard]] int redirects() const noexcept { return m_redirects; }
    /// True once the whole body has been read (or there was none).
    [[nodiscard]] bool body_complete() const noexcept { return m_done; }

    /// Reads the rest of the body and returns it (decoded when it was sent
    /// gzip/deflate). Resumes on the calling loop once the body ended.
    [[nodiscard]] CORIO_HEADER_COROUTINE task<std::string> text() {
        std::string body;
        if (m_content_length && m_decoder == nullptr) {
            body.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(*m_content_length, 64ull << 20)));
        }
        while (!m_done) {
            co_await read_more(body);
        }
        co_return body;
    }

    /// Same as text(): the body's bytes (std::string is corio's byte container).
    [[nodiscard]] task<std::string> bytes() { return text(); }

    /// The next piece of the body as it arrives, "" once the body has ended
    /// (aiohttp's content.readany()). Pieces are at most the size of one read
    /// (64 KiB) before decoding.
    [[nodiscard]] CORIO_HEADER_COROUTINE task<std::string> read_chunk() {
        std::string piece;
        while (piece.empty() && !m_done) {
            co_await read_more(piece);
        }
        co_return piece;
    }

    /// Lets go of the connection now: back to the pool if the body was read
    /// to the end, otherwise closed (the rest of the body is not read).
    void release() noexcept {
        m_lease.release(false);
        m_done = true;
    }

private:
    friend class client_session;
    friend class corio::detail::http_session_state;

    client_response(int status, std::string reason, http_version version, http::headers fields,
                    http::url u, std::string method)
        : m_status(status),
          m_reason(std::move(reason)),
          m_version(version),
          m_headers(std::move(fields)),
          m_url(std::move(u)),
          m_method(std::move(method)) {}

    // Parses what is buffered (reading once when nothing is), appending body
    // bytes to `out`; sets m_done at the end of the body.
    CORIO_HEADER_COROUTINE task<void> read_more(std::string& out) {
        try {
            corio::detail::http_connection& c = *m_lease;
            if (c.pos == c.end) {
                const std::size_t n = co_await corio::detail::http_fill(c, m_budget, m_method, m_url);
                if (n == 0) {
                    if (c.parser.reads_until_close()) {
                        static_cast<void>(c.parser.finish());
                        finish_body(out, false);
                        co_return;
                    }
                    throw client_connection_error(m_url.to_string(),
                                                  corio::detail::http_describe(m_method, m_url) +
                                                      ": connection closed before the end of the body (" +
                                                      std::to_string(c.parser.body_size()) + " bytes received)");
                }
                c.end = n;
            }
            // Until need_more (everything consumed): the end of the message may
            // be reported by a feed that consumes nothing after the last piece.
            for (;;) {
                const parse_result r = c.parser.feed(std::span<const char>(c.buffer.get() + c.pos, c.end - c.pos));
                c.pos += r.consumed;
                if (r.status == parse_status::body_chunk) {
                    append_body(out, std::string_view(r.body.data(), r.body.size()));
                } else if (r.status == parse_status::message_complete) {
                    finish_body(out, true);
                    co_return;
                } else if (r.status == parse_status::need_more) {
                    break;
                }
            }
        } catch (const std::system_error& e) {
            m_lease.release(false);
            m_done = true;
            throw client_connection_error(m_url.to_string(),
                                          corio::detail::http_describe(m_method, m_url) + ": " + e.what(),
                                          std::current_exception());
        } catch (...) {
            m_lease.release(false);
            m_done = true;
            throw;
        }
    }

    void append_body(std::string& out, std::string_view piece) {
#if defined(CORIO_WITH_ZLIB)
        if (m_decoder) {
            try {
                m_decoder->feed(piece, out);
            } catch (const std::runtime_error& e) {
                throw protocol_error(protocol_error::kind::bad_message,
                                     std::string("Content-Encoding: ") + e.what(),
                                     m_lease ? m_lease->parser.offset() : 0);
            }
            return;
        }
#endif
        out.append(piece.data(), piece.size());
    }

    // The body ended: give the connection back (reusable when keep-alive holds
    // and nothing follows the response), then check the decoder finished.
    void finish_body(std::string& out, bool framed) {
        static_cast<void>(out);
        corio::detail::http_connection& c = *m_lease;
        const bool reusable = framed && c.parser.keep_alive() && c.pos == c.end;
        const std::uint64_t offset = c.parser.offset();
        m_lease.release(reusable);
        m_done = true;
#if defined(CORIO_WITH_ZLIB)
        if (m_decoder) {
            try {
                m_decoder->finish();
            } catch (const std::runtime_error& e) {
                throw protocol_error(protocol_error::kind::bad_message, std::string("Content-Encoding: ") + e.what(),
                                     offset);
            }
        }
#else
        static_cast<void>(offset);
#endif
    }

    int m_status;
    std::string m_reason;
    http_version m_version;
    http::headers m_headers;
    http::url m_url;
    std::string m_method;
    std::optional<std::uint64_t> m_content_length;
    corio::detail::http_lease m_lease;
    corio::detail::http_budget m_budget;
#if defined(CORIO_WITH_ZLIB)
    std::unique_ptr<corio::detail::http_inflater> m_decoder;
#else
    std::unique_ptr<int> m_decoder;  // never set: keeps text()'s reserve logic uniform
#endif
    int m_redirects = 0;
    bool m_done = false;
};

}  // namespace corio::http

namespace corio::detail {

/// What a session shares with its requests and responses: the options, the
/// pool and (with TLS) the client context. Requests in flight hold it, so a
/// session may be destroyed while they run.
class http_session_state {
public:
    explicit http_session_state(http::session_options o)
        : options(std::move(o)),
          pool(std::make_shared<http_pool>(options.limit, options.limit_per_host,
                                           std::chrono::duration_cast<event_loop::duration>(options.keep_alive_timeout))) {}

    http::session_options options;
    std::shared_ptr<http_pool> pool;

    static bool is_redirect(int status) noexcept {
        return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
    }
    // RFC 9110 §9.2.2: only these may be retried automatically.
    static bool is_idempotent(std::string_view method) noexcept {
        return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" || method == "OPTIONS" ||
               method == "TRACE";
    }

    /// One request with its redirects (the body of every client_session request).
    CORIO_HEADER_COROUTINE static task<http::client_response> perform(std::shared_ptr<http_session_state> self,
                                                                       std::string method, std::string url_text,
                                                                       http::headers extra, std::string body,
                                                                       http::client_timeouts timeouts,
                                                                       int max_redirects) {
        const http_budget budget = http_budget::from(timeouts);
        http::url current = http::url::parse(url_text);
        std::vector<std::string> history;
        int redirects = 0;
        for (;;) {
            std::optional<http::client_response> response;
            std::exception_ptr failure;
            std::string failure_text;
            try {
                response.emplace(co_await self->exchange(method, current, extra, body, budget));
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
                throw http::client_connection_error(current.to_string(),
                                                    http_describe(method, current) + ": " + failure_text, failure);
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
            if (r.m_status != 307 && r.m_status != 308 && method != "HEAD") {
                if (method != "GET") {
                    method = "GET";
                }
                body.clear();
                extra.remove("Content-Length");
                extra.remove("Content-Type");
                extra.remove("Transfer-Encoding");
            }
            // Credentials are for the origin they were given to.
            if (next.scheme() != current.scheme() || next.host() != current.host() || next.port() != current.port()) {
                extra.remove("Authorization");
            }
            current = std::move(next);
        }
    }

private:
    // Reads and drops an intermediate redirect's body so its connection can be
    // reused; past 1 MiB, or on an error, the connection is closed instead.
    CORIO_HEADER_COROUTINE static task<void> drain(http::client_response& r) {
        std::size_t drained = 0;
        std::string sink;
        try {
            while (!r.m_done && drained < (1u << 20)) {
                sink.clear();
                co_await r.read_more(sink);
                drained += sink.size();
            }
        } catch (const http::client_connection_error&) {
        } catch (const http::protocol_error&) {
        }
        r.release();
    }

    CORIO_HEADER_COROUTINE static task<http_grant> acquire_waiting(http_pool& pool, http_host& host, bool fresh) {
        co_return co_await pool.acquire(host, fresh);
    }

    CORIO_HEADER_COROUTINE task<std::unique_ptr<http_transport>> connect_transport(const http::url& u) {
        tcp_stream stream = co_await open_connection(u.host(), u.port());
        if (!u.is_https()) {
            co_return std::make_unique<http_stream_transport<tcp_stream>>(std::move(stream));
        }
#if defined(CORIO_HTTP_HAS_TLS)
        if (!m_tls) {
            tls::client_options tls_options;
            tls_options.verify_peer = options.verify;
            tls_options.ca_file = options.ca_file;
            m_tls.emplace(tls::context::client(std::move(tls_options)));
        }
        tls::stream secured = co_await tls::connect(std::move(stream), *m_tls, u.host());
        co_return std::make_unique<http_stream_transport<tls::stream>>(std::move(secured));
#else
        throw http::client_connection_error(u.to_string(),
                                            "https needs corio::tls (build with OpenSSL and link corio::tls): " +
                                                u.to_string());
#endif
    }

    // An idle connection of u's host, or a new one (fresh: never an idle one).
    CORIO_HEADER_COROUTINE task<http_lease> obtain(const http::url& u, http_host& host, const http_budget& budget,
                                                   std::string_view method, bool fresh) {
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
                g = co_await http_timed(acquire_waiting(*pool, host, fresh), budget, std::nullopt, "pool", method, u);
            }
        }
        if (g.connection) {
            co_return http_lease(pool, std::move(g.connection));
        }
#if !defined(CORIO_HTTP_HAS_TLS)
        if (u.is_https()) {
            pool->release_slot(host);
            throw http::client_connection_error(
                u.to_string(), http_describe(method, u) + ": https needs corio::tls (build with OpenSSL and link corio::tls)");
        }
#endif
        http_slot_guard guard(*pool, host);
        std::unique_ptr<http_transport> transport =
            co_await http_timed(connect_transport(u), budget, budget.connect, "connect", method, u);
        guard.disarm();
        pool->note_connected();
        co_return http_lease(pool, std::make_unique<http_connection>(std::move(transport), host));
    }

    enum class head_status { complete, no_response };

    // Reads until the head of the final (non-1xx) response is parsed.
    // no_response: the connection ended or failed before any byte came back
    // (`error` holds the failure, if any) — a stale keep-alive connection.
    CORIO_HEADER_COROUTINE static task<head_status> read_head(http_connection& c, const http_budget& budget,
                                                              std::string_view method, const http::url& u,
                                                              std::exception_ptr& error) {
        bool started = false;
        for (;;) {
            while (c.pos < c.end) {
                started = true;
                const http::parse_result r =
                    c.parser.feed(std::span<const char>(c.buffer.get() + c.pos, c.end - c.pos));
                c.pos += r.consumed;
                if (r.status == http::parse_status::headers_complete && c.parser.message().status >= 200) {
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
                    u.to_string(), http_describe(method, u) + ": connection closed in the middle of the response head");
            }
            c.end = n;
        }
    }

    // One request on one connection, retried once on a fresh connection when
    // a reused one turns out to be closed (idempotent methods only).
    CORIO_HEADER_COROUTINE task<http::client_response> exchange(const std::string& method, const http::url& u,
                                                                const http::headers& extra, const std::string& body,
                                                                const http_budget& budget) {
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
                if (budget.deadline == event_loop::time_point::max()) {
                    co_await c.transport->write(c.out);
                } else {
                    co_await http_timed(c.transport->write(c.out), budget, std::nullopt, "write", method, u);
                }
            } catch (const std::system_error&) {
                error = std::current_exception();
            }
            if (!error) {
                status = co_await read_head(c, budget, method, u, error);
            }
            if (status == head_status::complete) {
                co_return make_response(std::move(lease), method, u, budget);
            }
            lease.release(false);
            if (reused && attempt == 0 && is_idempotent(method)) {
                continue;
            }
            if (error) {
                std::rethrow_exception(error);
            }
            throw http::client_connection_error(
                u.to_string(), http_describe(method, u) + ": server closed the connection without a response");
        }
    }

    http::client_response make_response(http_lease lease, const std::string& method, const http::url& u,
                                        const http_budget& budget) {
        http_connection& c = *lease;
        http::response& m = c.parser.message();
        http::client_response r(m.status, std::move(m.reason), m.version, std::move(m.headers), u, method);
        if (!c.parser.chunked() && !c.parser.reads_until_close()) {
            r.m_content_length = c.parser.content_length();
        }
        r.m_budget = budget;
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
            const http::parse_result done =
                conn.parser.feed(std::span<const char>(conn.buffer.get() + conn.pos, conn.end - conn.pos));
            conn.pos += done.consumed;
            std::string none;
            r.finish_body(none, done.status == http::parse_status::message_complete);
        }
        return r;
    }

#if defined(CORIO_HTTP_HAS_TLS)
    std::optional<tls::context> m_tls;  // made on the first https request
#endif
};

}  // namespace corio::detail

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
/// protocol_error (malformed response), corio::timeout_error (see
/// client_timeouts), too_many_redirects, url_error (bad URL or Location),
/// std::invalid_argument (a header or method that cannot be sent).
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
    client_session(client_session&&) noexcept = default;
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
    [[nodiscard]] task<client_response> post(std::string url, std::string body,
                                             std::string content_type = "application/octet-stream") {
        return with_body("POST", std::move(url), std::move(body), std::move(content_type));
    }
    /// PUT `body` to `url` with the given Content-Type.
    [[nodiscard]] task<client_response> put(std::string url, std::string body,
                                            std::string content_type = "application/octet-stream") {
        return with_body("PUT", std::move(url), std::move(body), std::move(content_type));
    }
    /// PATCH `body` to `url` with the given Content-Type.
    [[nodiscard]] task<client_response> patch(std::string url, std::string body,
                                              std::string content_type = "application/octet-stream") {
        return with_body("PATCH", std::move(url), std::move(body), std::move(content_type));
    }

    /// Any method: `extra` headers are added to the session's defaults (and
    /// win over them); a non-empty `body` gets a Content-Length.
    [[nodiscard]] task<client_response> request(std::string method, std::string url, http::headers extra = {},
                                                std::string body = {}) {
        const session_options& o = state().options;
        return corio::detail::http_session_state::perform(m_state, std::move(method), std::move(url),
                                                          std::move(extra), std::move(body), o.timeouts,
                                                          o.max_redirects);
    }

    /// Any method with per-request options (timeouts, max_redirects), as
    /// aiohttp's session.request(..., timeout=...).
    [[nodiscard]] task<client_response> send(std::string method, std::string url, request_options options) {
        const session_options& o = state().options;
        return corio::detail::http_session_state::perform(
            m_state, std::move(method), std::move(url), std::move(options.headers), std::move(options.body),
            options.timeouts.value_or(o.timeouts), options.max_redirects.value_or(o.max_redirects));
    }

    /// Closes the session: idle connections now, connections in use when their
    /// response is released; requests waiting for a connection, and later
    /// requests, fail with client_connection_error.
    [[nodiscard]] CORIO_HEADER_COROUTINE task<void> close() {
        shut();
        co_return;
    }

    [[nodiscard]] bool closed() const noexcept { return !m_state || m_state->pool->closed(); }
    [[nodiscard]] const session_options& options() const { return state().options; }
    /// Connections established so far (a measure of reuse).
    [[nodiscard]] std::uint64_t connections_opened() const { return state().pool->connections_opened(); }
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
    task<client_response> with_body(std::string method, std::string url, std::string body, std::string content_type) {
        http::headers extra;
        extra.add("Content-Type", std::move(content_type));
        return request(std::move(method), std::move(url), std::move(extra), std::move(body));
    }

    std::shared_ptr<corio::detail::http_session_state> m_state;
};

}  // namespace corio::http
