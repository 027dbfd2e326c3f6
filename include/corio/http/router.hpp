#pragma once

// corio::http::router: method + path dispatch for http::server, with {name}
// path parameters.

#include <corio/detail/config.hpp>
#include <corio/detail/separate_compilation.hpp>
#include <corio/http/detail/grammar.hpp>
#include <corio/http/message.hpp>
#include <corio/http/url.hpp>
#include <corio/http/websocket.hpp>
#include <corio/task.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace corio::http {

/// What http::server calls for each request: takes the request (valid until
/// the returned task finishes; the handler may move its body out) and
/// returns the response.
using handler = std::function<task<response>(request&)>;

}  // namespace corio::http

namespace corio::detail::http_router {

using http::path_params;
using http::response;

struct segment {
    enum class kind { literal, param, rest };
    kind type = kind::literal;
    std::string text;  // literal text, or the parameter's name
};

inline std::vector<segment> parse_pattern(std::string_view pattern) {
    if (pattern.empty() || pattern.front() != '/') {
        throw std::invalid_argument("corio::http::router: pattern '" + std::string(pattern) +
                                    "' must start with '/'");
    }
    std::vector<segment> result;
    std::string_view rest = pattern.substr(1);
    for (;;) {
        const std::size_t slash = rest.find('/');
        const std::string_view piece = rest.substr(0, slash);
        segment s;
        if (piece.size() >= 2 && piece.front() == '{' && piece.back() == '}') {
            std::string_view name = piece.substr(1, piece.size() - 2);
            s.type = segment::kind::param;
            if (!name.empty() && name.front() == '*') {
                s.type = segment::kind::rest;
                name.remove_prefix(1);
                if (slash != std::string_view::npos) {
                    throw std::invalid_argument("corio::http::router: {*" + std::string(name) +
                                                "} must be the last segment of '" + std::string(pattern) +
                                                "'");
                }
            }
            if (name.empty() || name.find_first_of("{}") != std::string_view::npos) {
                throw std::invalid_argument("corio::http::router: bad parameter in '" + std::string(pattern) +
                                            "'");
            }
            s.text = std::string(name);
        } else {
            if (piece.find_first_of("{}") != std::string_view::npos) {
                throw std::invalid_argument("corio::http::router: a parameter must be a whole segment in '" +
                                            std::string(pattern) + "'");
            }
            s.text = std::string(piece);
        }
        result.push_back(std::move(s));
        if (slash == std::string_view::npos) {
            break;
        }
        rest.remove_prefix(slash + 1);
    }
    return result;
}

// Percent-decodes a path parameter; a malformed escape keeps the raw text
// (the route still matches, as literal segments compare raw text too).
inline std::string decode_param(std::string_view raw) {
    if (raw.find('%') == std::string_view::npos) {
        return std::string(raw);
    }
    try {
        return http::percent_decode(raw);
    } catch (const std::exception&) {
        return std::string(raw);
    }
}

// Matches `path` (starting with '/') against `pattern`; on success fills `params`.
inline bool match(const std::vector<segment>& pattern, std::string_view path, path_params* params) {
    if (path.empty() || path.front() != '/') {
        return false;
    }
    std::string_view rest = path.substr(1);
    bool path_left = true;  // segments of the path remain (rest may be one empty segment)
    for (const segment& s : pattern) {
        if (!path_left) {
            return false;
        }
        if (s.type == segment::kind::rest) {
            if (params != nullptr) {
                params->set(s.text, decode_param(rest));
            }
            return true;
        }
        const std::size_t slash = rest.find('/');
        const std::string_view piece = rest.substr(0, slash);
        if (s.type == segment::kind::literal) {
            if (piece != s.text) {
                return false;
            }
        } else {
            if (piece.empty()) {
                return false;  // a parameter matches one non-empty segment
            }
            if (params != nullptr) {
                params->set(s.text, decode_param(piece));
            }
        }
        if (slash == std::string_view::npos) {
            path_left = false;
        } else {
            rest.remove_prefix(slash + 1);
        }
    }
    return !path_left;
}

CORIO_HEADER_COROUTINE inline task<response> ready_response(response r) { co_return r; }

}  // namespace corio::detail::http_router

namespace corio::http {


/// Dispatches requests by method and path to handlers (a small subset of what
/// aiohttp's UrlDispatcher does).
///
/// Patterns are paths whose segments are literal text, `{name}` (one
/// non-empty segment, stored percent-decoded in request::path_params) or, as
/// the last segment, `{*name}` (the rest of the path, possibly empty or with
/// slashes). Routes are tried in the order they were added; the first whose
/// method and pattern match handles the request. The path is compared before
/// the query and without decoding (so "/a%2Fb" is one segment). No pattern
/// matching → 404; patterns matching only with other methods → 405 with an
/// Allow header. HEAD falls back to the GET route (the server drops the body).
///
/// A router is itself a handler (`task<response>(request&)`); copy it into
/// http::start_server, or pass std::ref(r) to keep one router that outlives
/// the server. Configure it before serving: add() is not safe while requests
/// are dispatched. Method names are case-sensitive ("GET").
class router {
public:
    /// Adds a route; returns *this for chaining. Throws std::invalid_argument on a bad pattern.
    router& add(std::string method, std::string_view pattern, handler h);
    /// add("GET", pattern, h); HEAD requests reach this route too.
    router& get(std::string_view pattern, handler h) { return add("GET", pattern, std::move(h)); }
    /// add("POST", pattern, h).
    router& post(std::string_view pattern, handler h) { return add("POST", pattern, std::move(h)); }
    /// add("PUT", pattern, h).
    router& put(std::string_view pattern, handler h) { return add("PUT", pattern, std::move(h)); }
    /// add("PATCH", pattern, h).
    router& patch(std::string_view pattern, handler h) { return add("PATCH", pattern, std::move(h)); }
    /// add("DELETE", pattern, h) (`delete` is a keyword).
    router& del(std::string_view pattern, handler h) { return add("DELETE", pattern, std::move(h)); }

    /// Adds a WebSocket route: a GET with a valid opening handshake is
    /// answered 101 and the connection becomes a websocket passed to
    /// `h(ws, request)`; when `h` returns the connection closes (1000, or
    /// 1011 if it threw). A request without the handshake gets 426, a bad one
    /// 400, an Origin refused by options.check_origin 403. Subprotocols and
    /// permessage-deflate are negotiated from options.websocket.
    router& websocket(std::string_view pattern, websocket_handler h, ws_route_options options = {}) {
        return add("GET", pattern, corio::detail::ws::route(std::move(h), std::move(options)));
    }

    /// Adds a route whose handler reads the request body itself, as it
    /// arrives, through request::body_stream() (request::body stays empty):
    /// http::server streams the body of a request this route will handle,
    /// up to `max_body_size` bytes (which may exceed the server's
    /// limits.max_body_size; a larger declared Content-Length gets 413
    /// without the handler). See server_options::stream_body.
    router& add_streaming(std::string method, std::string_view pattern, std::uint64_t max_body_size, handler h) {
        add(std::move(method), pattern, std::move(h));
        m_routes.back().stream_limit = max_body_size;
        m_streams = true;
        return *this;
    }

    /// For http::server, at a request's head: the body limit of the route
    /// that will handle it when that route streams its body
    /// (add_streaming), else nullopt (the body is read whole).
    [[nodiscard]] std::optional<std::uint64_t> streamed_body_limit(const request& r) const {
        if (!m_streams) {
            return std::nullopt;
        }
        const route* chosen = find(r);
        return chosen != nullptr ? chosen->stream_limit : std::nullopt;
    }

    /// Number of routes.
    [[nodiscard]] std::size_t size() const noexcept { return m_routes.size(); }

    /// Handles `r`: sets r.path_params and returns the matching route's task
    /// (or a ready 404 / 405 response). The route's handler is called right
    /// away; the task it returns refers to this router's copy of the handler,
    /// so the router must outlive the task.
    [[nodiscard]] task<response> operator()(request& r) const;

    /// The methods routes allow for `path`, comma-separated, in route order
    /// (HEAD included when GET is); "" when no pattern matches.
    [[nodiscard]] std::string allowed_methods(std::string_view path) const;

private:
    struct route {
        std::string method;
        std::vector<corio::detail::http_router::segment> pattern;
        handler call;
        std::optional<std::uint64_t> stream_limit{};  // set by add_streaming
    };

    static task<response> dispatch(const route& chosen, request& r);
    /// The route operator() dispatches `r` to (HEAD falling back to GET), or null.
    [[nodiscard]] const route* find(const request& r) const;

    std::vector<route> m_routes;
    bool m_streams = false;  // some route streams its body
};

#if defined(CORIO_HTTP_DEFINITIONS)
CORIO_DECL auto router::add(std::string method, std::string_view pattern, handler h) -> router& {
    if (!h) {
        throw std::invalid_argument("corio::http::router: empty handler for " + method + " " +
                                    std::string(pattern));
    }
    m_routes.push_back(
        route{std::move(method), corio::detail::http_router::parse_pattern(pattern), std::move(h)});
    return *this;
}

CORIO_DECL auto router::find(const request& r) const -> const route* {
    const std::string_view path = r.path();
    const route* fallback = nullptr;  // a GET route for a HEAD request
    for (const route& candidate : m_routes) {
        if (!corio::detail::http_router::match(candidate.pattern, path, nullptr)) {
            continue;
        }
        if (candidate.method == r.method) {
            return &candidate;
        }
        if (fallback == nullptr && corio::detail::http_grammar::is_head(r.method) &&
            candidate.method == "GET") {
            fallback = &candidate;
        }
    }
    return fallback;
}

CORIO_DECL auto router::operator()(request& r) const -> task<response> {
    const std::string_view path = r.path();
    if (const route* chosen = find(r)) {
        return dispatch(*chosen, r);
    }
    bool path_matched = false;
    for (const route& candidate : m_routes) {
        if (corio::detail::http_router::match(candidate.pattern, path, nullptr)) {
            path_matched = true;
            break;
        }
    }
    if (!path_matched) {
        return corio::detail::http_router::ready_response(text_response(404, "Not Found\n"));
    }
    response refused = text_response(405, "Method Not Allowed\n");
    refused.headers.add("Allow", allowed_methods(path));
    return corio::detail::http_router::ready_response(std::move(refused));
}

CORIO_DECL auto router::allowed_methods(std::string_view path) const -> std::string {
    std::vector<std::string_view> methods;
    auto add_once = [&methods](std::string_view m) {
        for (std::string_view seen : methods) {
            if (seen == m) {
                return;
            }
        }
        methods.push_back(m);
    };
    for (const route& candidate : m_routes) {
        if (corio::detail::http_router::match(candidate.pattern, path, nullptr)) {
            add_once(candidate.method);
            if (candidate.method == "GET") {
                add_once("HEAD");
            }
        }
    }
    std::string result;
    for (std::string_view m : methods) {
        if (!result.empty()) {
            result += ", ";
        }
        result += m;
    }
    return result;
}

CORIO_DECL auto router::dispatch(const route& chosen, request& r) -> task<response> {
    r.path_params.clear();
    corio::detail::http_router::match(chosen.pattern, r.path(), &r.path_params);
    return chosen.call(r);
}
#endif  // CORIO_HTTP_DEFINITIONS

}  // namespace corio::http
