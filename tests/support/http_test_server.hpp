// A scripted HTTP/1.1 server for the client's tests, so each test states only
// what the server answers, not the accept / parse / write loop around it.
//
//   reply            what the server writes for one request: byte pieces, each
//                    after a pause, then optionally closing the connection
//   reply_table      target → reply, for servers whose answers depend on the target alone
//   server_stats     connections and requests the server saw
//   scripted_server  a corio::tcp_server on 127.0.0.1:<any free port> that parses
//                    each request with corio's request_parser, records it and
//                    writes the reply its responder (or table) gives
#pragma once

#include <corio/detail/config.hpp>
#include <corio/http/message.hpp>
#include <corio/http/parser.hpp>
#include <corio/net/tcp.hpp>
#include <corio/sleep.hpp>
#include <corio/task.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace corio_test {

/// "HTTP/1.1 200 OK" with a Content-Length, the `extra` header lines (each
/// ending in CRLF) and `body`.
inline std::string ok_response(const std::string& body, const std::string& extra = "") {
    return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra + "\r\n" + body;
}

/// What a scripted_server writes for one request. A default reply writes
/// nothing and waits for the next request.
struct reply {
    using duration = corio::event_loop::duration;

    struct piece {
        duration pause{};   // slept before writing `bytes`
        std::string bytes;  // may be empty: a pause alone
    };

    std::vector<piece> pieces;
    bool close_connection = false;  // after the last piece; the client sees EOF

    reply() = default;
    /// One piece written at once (implicit, so a responder can return a string).
    reply(std::string bytes) { pieces.push_back({duration{}, std::move(bytes)}); }
    reply(const char* bytes) : reply(std::string(bytes)) {}

    /// Adds `bytes`, written `pause` after the previous piece.
    reply& then(duration pause, std::string bytes = {}) & {
        pieces.push_back({pause, std::move(bytes)});
        return *this;
    }
    reply then(duration pause, std::string bytes = {}) && { return std::move(then(pause, std::move(bytes))); }

    /// Closes the connection after the last piece.
    reply& and_close() & {
        close_connection = true;
        return *this;
    }
    reply and_close() && { return std::move(and_close()); }
};

/// Replies by request target.
using reply_table = std::map<std::string, reply, std::less<>>;

/// What a scripted_server saw.
struct server_stats {
    int accepted = 0;    // connections
    int active = 0;      // connections open right now
    int max_active = 0;  // the most open at once
    int requests = 0;
    std::vector<std::string> log;  // "METHOD target body" per request
    std::vector<corio::http::request> requests_seen;
};

namespace detail {

/// Reads whole requests off a server-side connection with corio's parser.
class request_reader {
public:
    explicit request_reader(corio::tcp_stream& stream) : m_stream(stream) {}

    /// The next whole request, or nullopt at end of stream (or on a reset).
    CORIO_HEADER_COROUTINE corio::task<std::optional<corio::http::request>> next() {
        for (;;) {
            const corio::http::parse_result r = m_parser.feed(std::span<const char>(m_buffer.data(), m_buffer.size()));
            m_buffer.erase(0, r.consumed);
            if (r.status == corio::http::parse_status::message_complete) {
                co_return m_parser.take_message();
            }
            if (r.status == corio::http::parse_status::need_more) {
                std::string more;
                try {
                    more = co_await m_stream.read();
                } catch (const std::system_error&) {
                    // a reset ends the connection like an EOF
                }
                if (more.empty()) {
                    co_return std::nullopt;
                }
                m_buffer += more;
            }
        }
    }

private:
    corio::tcp_stream& m_stream;
    corio::http::request_parser m_parser{};
    std::string m_buffer;
};

/// Counts a connection as active for its lifetime.
class active_connection {
public:
    explicit active_connection(server_stats& stats) : m_stats(stats) {
        ++m_stats.accepted;
        ++m_stats.active;
        m_stats.max_active = std::max(m_stats.max_active, m_stats.active);
    }
    active_connection(const active_connection&) = delete;
    active_connection& operator=(const active_connection&) = delete;
    ~active_connection() { --m_stats.active; }

private:
    server_stats& m_stats;
};

struct scripted_state {
    std::function<reply(const corio::http::request&)> respond;
    server_stats stats;
};

// A free coroutine, not a capturing lambda: its frame owns copies of its
// parameters, so nothing it uses can die with a closure.
CORIO_HEADER_COROUTINE inline corio::task<void> serve_scripted(std::shared_ptr<scripted_state> state,
                                                               corio::tcp_stream stream) {
    active_connection counted(state->stats);
    request_reader reader(stream);
    while (std::optional<corio::http::request> request = co_await reader.next()) {
        ++state->stats.requests;
        state->stats.log.push_back(request->method + " " + request->target + " " + request->body);
        state->stats.requests_seen.push_back(*request);
        const reply answer = state->respond(*request);
        try {
            for (const reply::piece& piece : answer.pieces) {
                if (piece.pause != reply::duration{}) {
                    co_await corio::sleep(piece.pause);
                }
                if (!piece.bytes.empty()) {
                    co_await stream.write(piece.bytes);
                }
            }
        } catch (const std::system_error&) {
            co_return;  // the client went away mid-reply (it gave up on a slow one)
        }
        if (answer.close_connection) {
            co_return;
        }
    }
}

struct scripted_handler {
    std::shared_ptr<scripted_state> state;
    corio::task<void> operator()(corio::tcp_stream stream) const { return serve_scripted(state, std::move(stream)); }
};

}  // namespace detail

/// A loopback HTTP/1.1 server answering each request with its responder's
/// reply; keep-alive unless a reply closes the connection. Loop thread only.
class scripted_server {
public:
    using responder = std::function<reply(const corio::http::request&)>;

    /// Listens on 127.0.0.1 (any free port) and answers with `respond`.
    [[nodiscard]] static CORIO_HEADER_COROUTINE corio::task<scripted_server> start(responder respond) {
        auto state = std::make_shared<detail::scripted_state>();
        state->respond = std::move(respond);
        // Named, not a temporary in the co_await's full-expression: g++ 12
        // destroys such a temporary twice (DESIGN.md, Pitfalls: compiler bugs).
        const detail::scripted_handler handler{state};
        corio::tcp_server server = co_await corio::start_server(handler, "127.0.0.1", 0);
        co_return scripted_server(std::move(state), std::move(server));
    }

    /// Answers by target from `table`; a target not in it gets nothing (the
    /// server waits for the next request).
    [[nodiscard]] static corio::task<scripted_server> start(reply_table table) {
        return start(std::move(table), reply{});
    }

    /// Answers by target from `table`; a target not in it gets `otherwise`.
    // No defaulted `otherwise`: g++ 12 frees a defaulted class-type argument
    // twice when the call is a co_await operand.
    [[nodiscard]] static corio::task<scripted_server> start(reply_table table, reply otherwise) {
        return start([table = std::move(table), otherwise = std::move(otherwise)](const corio::http::request& r) {
            const auto found = table.find(r.target);
            return found != table.end() ? found->second : otherwise;
        });
    }

    /// "http://127.0.0.1:<port>" followed by `path`.
    [[nodiscard]] std::string url(std::string_view path = "") const {
        return "http://127.0.0.1:" + std::to_string(m_server.port()) + std::string(path);
    }
    [[nodiscard]] std::uint16_t port() const { return m_server.port(); }
    [[nodiscard]] server_stats& stats() noexcept { return m_state->stats; }
    /// The underlying server (to close it early, say).
    [[nodiscard]] corio::tcp_server& tcp() noexcept { return m_server; }

    /// corio::tcp_server::shutdown: lets connections finish within `grace`, then cancels them.
    [[nodiscard]] corio::task<void> shutdown(corio::event_loop::duration grace = std::chrono::milliseconds(50)) {
        return m_server.shutdown(grace);
    }

private:
    scripted_server(std::shared_ptr<detail::scripted_state> state, corio::tcp_server server)
        : m_state(std::move(state)), m_server(std::move(server)) {}

    std::shared_ptr<detail::scripted_state> m_state;
    corio::tcp_server m_server;
};

}  // namespace corio_test
