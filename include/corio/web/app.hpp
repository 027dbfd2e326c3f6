#pragma once

// corio::web::app: FastAPI-style routes over corio::http::server. Handlers
// are plain callables whose parameter types say what to take from the request
// (corio/web/params.hpp) and whose result is serialized as JSON.

#include <corio/cancel.hpp>
#include <corio/detail/config.hpp>
#include <corio/event_loop.hpp>
#include <corio/http/message.hpp>
#include <corio/http/router.hpp>
#include <corio/http/server.hpp>
#include <corio/http/websocket.hpp>
#include <corio/task.hpp>
#include <corio/web/detail/invoke.hpp>
#include <corio/web/detail/docs_page.hpp>
#include <corio/web/detail/openapi.hpp>
#include <corio/web/detail/run.hpp>
#include <corio/web/errors.hpp>
#include <corio/web/json.hpp>
#include <corio/web/middleware.hpp>
#include <corio/web/responses.hpp>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <cctype>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace corio::web {

/// Per-route settings (FastAPI's path operation arguments).
struct route_options {
    /// Status of a successful response when the handler returns a value (not
    /// an http::response): 0 means 200, or 204 for a handler returning void.
    int status_code = 0;
    /// For the OpenAPI description.
    std::string summary{};
    /// OpenAPI tags, which group the route in the generated docs.
    std::vector<std::string> tags{};
    /// Leave the route out of /openapi.json.
    bool include_in_schema = true;
    /// Run around this route's handler only, inside the app's middleware.
    std::vector<web::middleware> middleware{};
    /// Limits of the form a handler taking web::form_data or form_model gets.
    web::form_limits form{};
    /// A handler that takes its body as it arrives — a form (form_data,
    /// form_model) or the stream itself (`http::body_reader&`), or any
    /// handler when stream_body is set — has http::server stream the body up
    /// to this many bytes (413 past it; the server's
    /// limits.max_body_size does not apply). Middleware then sees an empty
    /// request::body.
    std::uint64_t max_streamed_body = 1024ull * 1024 * 1024;
    /// Stream this route's body even though no parameter asks for it (a
    /// handler taking http::request& reads request.body_stream()).
    bool stream_body = false;
};

/// A JSON response with {"detail": detail} and `status`, as FastAPI answers errors.
[[nodiscard]] inline http::response detail_response(int status, std::string_view detail) {
    boost::json::object body;
    body["detail"] = boost::json::string_view(detail.data(), detail.size());
    return http::json_response(boost::json::serialize(body), status);
}

}  // namespace corio::web

namespace corio::web::detail {

/// Set by a route when the router dispatches to it, so the app tells its own
/// 404/405 answers apart from a handler's (the router calls the route
/// synchronously, on the loop's thread).
inline bool& route_dispatched() noexcept {
    thread_local bool dispatched = false;
    return dispatched;
}

struct route_entry {
    std::string method;
    std::string pattern;
    route_options options;
    next::endpoint call;           // what the router runs: route middleware, then the handler
    next::endpoint inner;          // the typed handler (with route middleware only)
    next::endpoint guarded_inner;  // inner, exceptions mapped (with route middleware only)
    boost::json::object operation;  // its OpenAPI operation object
    bool documented = true;         // listed in /openapi.json
};

using exception_mapper = std::function<std::optional<http::response>(std::exception_ptr, http::request&)>;

struct app_state {
    http::router router;
    std::vector<std::shared_ptr<route_entry>> routes;
    std::vector<middleware> global_middleware;
    next::endpoint dispatch;  // the router, 404/405 as JSON
    next::endpoint outer;     // global middleware, then dispatch
    state_registry states;
    std::vector<exception_mapper> exception_handlers;
    boost::json::object schemas;  // OpenAPI components.schemas of the routes' types

    /// The response for a handler's or middleware's exception: registered
    /// handlers first (most recently registered first), then http_exception,
    /// validation_error (422), anything else 500 (reported to the loop's
    /// exception handler). Cancellation propagates.
    http::response map_exception(std::exception_ptr error, http::request& request) const {
        for (auto it = exception_handlers.rbegin(); it != exception_handlers.rend(); ++it) {
            if (std::optional<http::response> mapped = (*it)(error, request)) {
                return std::move(*mapped);
            }
        }
        try {
            std::rethrow_exception(error);
        } catch (const http_exception& e) {
            http::response r = detail_response(e.status(), e.detail());
            for (const http::header_field& f : e.headers()) {
                r.headers.add(f.name, f.value);
            }
            return r;
        } catch (const validation_error& e) {
            boost::json::object body;
            body["detail"] = e.to_json();
            return http::json_response(boost::json::serialize(body), 422);
        } catch (const http::request_body_error& e) {
            // A streamed body that passed its limit, broke its framing, or was
            // cut by the client (then nobody reads this answer).
            return detail_response(e.error_kind() == http::protocol_error::kind::body_too_large ? 413 : 400, e.what());
        } catch (const cancelled_error&) {
            throw;
        } catch (const timeout_error& e) {
            if (request.body_streamed() && request.body_stream().timed_out()) {
                return detail_response(408, e.what());
            }
        } catch (...) {
        }
        // Anything else: 500, and the loop's exception handler hears of it.
        if (event_loop* loop = corio::detail::running_loop_slot()) {
            loop->call_exception_handler(exception_context{
                "corio::web: handler for " + request.method + " " + std::string(request.path()) + " failed", error});
        }
        return detail_response(500, "Internal Server Error");
    }
};

/// Runs `inner` and maps what it throws (no co_await inside the handler:
/// g++ 12 miscompiles that).
CORIO_HEADER_COROUTINE inline task<http::response> guarded(const app_state* app, const next::endpoint* inner,
                                                           http::request& request) {
    std::exception_ptr error;
    try {
        co_return co_await (*inner)(request);
    } catch (...) {
        error = std::current_exception();
    }
    co_return app->map_exception(error, request);
}

/// What app::handler() returns: the app as an http::server handler that
/// also answers the server's question which bodies to stream.
struct app_handler {
    std::shared_ptr<app_state> state;

    [[nodiscard]] task<http::response> operator()(http::request& request) const {
        return guarded(state.get(), &state->outer, request);
    }
    [[nodiscard]] std::optional<std::uint64_t> streamed_body_limit(const http::request& request) const {
        return state->router.streamed_body_limit(request);
    }
};

CORIO_HEADER_COROUTINE inline task<http::response> not_routed(task<http::response> answer) {
    http::response r = co_await std::move(answer);
    http::response json = detail_response(r.status, r.status == 405 ? "Method Not Allowed" : "Not Found");
    if (const std::optional<std::string_view> allow = r.headers.get("Allow")) {
        json.headers.add("Allow", std::string(*allow));
    }
    co_return json;
}

}  // namespace corio::web::detail

namespace corio::web {

/// A web application: routes with typed handlers, middleware, shared state
/// and exception handlers (FastAPI's FastAPI()).
///
/// Configure it first (routes, use, provide, exception_handler), then serve
/// it (serve(), handler(), test_client): configuration is not safe while
/// requests are handled. Copies share one application. The app must outlive
/// the servers and test clients using it. Each request is handled on the loop
/// of the server that received it; the app itself holds no per-loop state, so
/// several loops may serve one app if its handlers and state allow it.
class app {
public:
    app() : m_state(std::make_shared<detail::app_state>()) {
        detail::app_state* raw = m_state.get();
        m_state->dispatch = [raw](http::request& request) -> task<http::response> {
            bool& dispatched = detail::route_dispatched();
            dispatched = false;
            task<http::response> answer = raw->router(request);
            if (dispatched) {
                return answer;
            }
            return detail::not_routed(std::move(answer));
        };
        m_state->outer = [raw](http::request& request) -> task<http::response> {
            return next(&raw->global_middleware, 0, &raw->dispatch)(request);
        };
    }

    /// Adds a route: `method` on `pattern` ("/users/{id}", see http::router)
    /// calls `handler`, a callable whose parameters are taken from the
    /// request (see corio/web/params.hpp) and whose result (a value, or a
    /// task of one) becomes the response: http::response as is, void as 204,
    /// anything else as JSON (to_json). Throws std::invalid_argument on a bad pattern.
    template <class Handler>
    app& route(std::string method, std::string_view pattern, Handler handler, route_options options = {}) {
        auto entry = std::make_shared<detail::route_entry>();
        entry->method = method;
        entry->pattern = std::string(pattern);
        entry->options = std::move(options);
        entry->documented = entry->options.include_in_schema;
        entry->operation = detail::describe_operation<Handler>(method, pattern, entry->options.status_code,
                                                               entry->options.summary, entry->options.tags,
                                                               m_state->schemas);
        auto shared_handler = std::make_shared<Handler>(std::move(handler));
        const detail::state_registry* states = &m_state->states;
        const int status = entry->options.status_code;
        const form_limits* limits = &entry->options.form;  // the entry lives as long as the app
        auto typed = [shared_handler, states, status, limits](http::request& request) -> task<http::response> {
            using invoker = detail::typed_invoker<Handler>;
            return invoker::call(*shared_handler, *states, status, limits, request,
                                 std::make_index_sequence<std::tuple_size_v<typename invoker::args>>{});
        };
        detail::route_entry* raw_entry = entry.get();
        if (entry->options.middleware.empty()) {
            entry->call = std::move(typed);
        } else {
            // The route's own middleware runs inside guarded() below, so an
            // exception from the handler reaches it as a response.
            entry->inner = std::move(typed);
            const detail::app_state* app_raw = m_state.get();
            entry->guarded_inner = [app_raw, raw_entry](http::request& request) {
                return detail::guarded(app_raw, &raw_entry->inner, request);
            };
            entry->call = [raw_entry](http::request& request) {
                return next(&raw_entry->options.middleware, 0, &raw_entry->guarded_inner)(request);
            };
        }
        const detail::app_state* app_raw = m_state.get();
        auto dispatched = [app_raw, raw_entry](http::request& request) -> task<http::response> {
            detail::route_dispatched() = true;
            // Every request enters through a guarded() of its own (handle(),
            // handler()), which maps exceptions as this one would: only the
            // app's middleware, between the two, needs the route's exceptions
            // as responses. Decided per request: use() may come after route().
            if (app_raw->global_middleware.empty()) {
                return raw_entry->call(request);
            }
            return detail::guarded(app_raw, &raw_entry->call, request);
        };
        if (detail::streams_body<Handler> || entry->options.stream_body) {
            m_state->router.add_streaming(std::move(method), pattern, entry->options.max_streamed_body,
                                          std::move(dispatched));
        } else {
            m_state->router.add(std::move(method), pattern, std::move(dispatched));
        }
        m_state->routes.push_back(std::move(entry));
        return *this;
    }

    /// A WebSocket endpoint (FastAPI's websocket decorator): a GET on `pattern`
    /// with a valid opening handshake switches the connection to a websocket
    /// passed to `handler(ws, request)`, as http::router::websocket does (426
    /// without a handshake, 400 for a bad one, 403 when options.check_origin
    /// refuses). The app's middleware runs on the handshake request, so a
    /// bearer_auth or CORS check applies before the switch. Not listed in
    /// the OpenAPI document.
    app& websocket(std::string_view pattern, http::websocket_handler handler, http::ws_route_options options = {}) {
        http::handler route = corio::detail::ws::route(std::move(handler), std::move(options));
        m_state->router.add("GET", pattern, [route = std::move(route)](http::request& request) {
            detail::route_dispatched() = true;
            return route(request);
        });
        return *this;
    }

    /// route("GET", ...); HEAD requests reach this route too.
    template <class Handler>
    app& get(std::string_view pattern, Handler handler, route_options options = {}) {
        return route("GET", pattern, std::move(handler), std::move(options));
    }
    /// route("POST", ...).
    template <class Handler>
    app& post(std::string_view pattern, Handler handler, route_options options = {}) {
        return route("POST", pattern, std::move(handler), std::move(options));
    }
    /// route("PUT", ...).
    template <class Handler>
    app& put(std::string_view pattern, Handler handler, route_options options = {}) {
        return route("PUT", pattern, std::move(handler), std::move(options));
    }
    /// route("PATCH", ...).
    template <class Handler>
    app& patch(std::string_view pattern, Handler handler, route_options options = {}) {
        return route("PATCH", pattern, std::move(handler), std::move(options));
    }
    /// route("DELETE", ...) (`delete` is a keyword).
    template <class Handler>
    app& del(std::string_view pattern, Handler handler, route_options options = {}) {
        return route("DELETE", pattern, std::move(handler), std::move(options));
    }

    /// Serves the files under `directory` at `prefix` ("/static"): GET
    /// prefix/a/b.css → directory/a/b.css (see static_file_response).
    app& mount_static(std::string_view prefix, std::filesystem::path directory) {
        std::string pattern(prefix);
        if (pattern.empty() || pattern.back() != '/') {
            pattern += '/';
        }
        pattern += "{*file}";
        return get(pattern, [root = std::move(directory)](http::request& request) {
            return static_file_response(root, request.path_params.get("file").value_or(""), request);
        });
    }

    /// Adds a middleware around every request (routed or not); the first
    /// added is the outermost.
    app& use(middleware m) {
        m_state->global_middleware.push_back(std::move(m));
        return *this;
    }

    /// Makes `object` available to handlers taking a `T&` parameter. The app
    /// keeps a reference: `object` must outlive it.
    template <class T>
    app& provide(T& object) {
        m_state->states.provide(object);
        return *this;
    }

    /// Constructs a T owned by the app and available to handlers taking `T&`.
    template <class T, class... Args>
    T& make_state(Args&&... args) {
        auto object = std::make_shared<T>(std::forward<Args>(args)...);
        T& ref = *object;
        m_state->states.own(std::move(object));
        return ref;
    }

    /// Maps exceptions of type E (and derived) thrown by handlers or
    /// middleware to the response `f(request, e)` returns (FastAPI's
    /// exception_handler). Later registrations are tried first.
    template <class E, class F>
    app& exception_handler(F f) {
        m_state->exception_handlers.push_back(
            [f = std::move(f)](std::exception_ptr error, http::request& request) -> std::optional<http::response> {
                try {
                    std::rethrow_exception(error);
                } catch (const E& e) {
                    return f(request, e);
                } catch (...) {
                    return std::nullopt;
                }
            });
        return *this;
    }

    /// Handles one request through the whole app (middleware, routing,
    /// handler, exception mapping). The request must outlive the task.
    [[nodiscard]] task<http::response> handle(http::request& request) const {
        return detail::guarded(m_state.get(), &m_state->outer, request);
    }

    /// A request handler for http::start_server (shares this app); it tells
    /// the server which routes stream their bodies (see route_options::max_streamed_body).
    [[nodiscard]] detail::app_handler handler() const { return detail::app_handler{m_state}; }

    /// Starts an http::server for this app on host:port (port 0: any free
    /// port), on the running loop.
    [[nodiscard]] task<http::server> serve(std::string host, std::uint16_t port,
                                           const http::server_options& options) const {
        return http::start_server(handler(), std::move(host), port, options);
    }
    /// The same with default http::server_options.
    [[nodiscard]] task<http::server> serve(std::string host, std::uint16_t port) const {
        return http::start_server(handler(), std::move(host), port);
    }

    /// Serves the app on host:port with options.workers event loops (one
    /// thread each, the calling thread being the first), every loop with its
    /// own http::server on the port (SO_REUSEPORT, so the kernel spreads
    /// connections), until SIGINT or SIGTERM: then every server shuts down
    /// gracefully (options.grace) and run returns once all threads ended.
    /// Handlers and state are shared by all loops: with several workers they
    /// must be thread-safe (or keep per-thread state, e.g. thread_local).
    /// Throws what starting a server throws (std::system_error: bind failed).
    void run(std::string host, std::uint16_t port, run_options options = {}) const {
        if (!options.server.stream_body) {
            options.server.stream_body = [state = m_state](const http::request& request) {
                return state->router.streamed_body_limit(request);
            };
        }
        detail::run_app(handler(), std::move(host), port, std::move(options));
    }

    /// The OpenAPI 3.1 document of the routes added so far: their paths,
    /// parameters, bodies and results, with described types as
    /// components.schemas.
    [[nodiscard]] boost::json::object openapi(const std::string& title = "corio::web",
                                              const std::string& version = "0.1.0") const {
        return openapi_of(*m_state, title, version);
    }

    /// Adds GET `openapi_url` (the openapi() document, built once at the
    /// first request so routes added later are included) and GET `docs_url`
    /// (a self-contained HTML page rendering it: no CDN, nothing fetched but
    /// the document). Neither is listed in the document.
    app& enable_docs(std::string title = "corio::web", std::string version = "0.1.0",
                     std::string openapi_url = "/openapi.json", std::string docs_url = "/docs") {
        struct built_once {
            std::once_flag flag;  // several worker loops may ask first at once
            std::string text;
        };
        auto cached = std::make_shared<built_once>();
        const detail::app_state* state = m_state.get();
        // The state owns these routes: a raw pointer, as a shared one would be a cycle.
        get(
            openapi_url,
            [cached, state, title, version](http::request&) {
                std::call_once(cached->flag, [&] {
                    cached->text = boost::json::serialize(app::openapi_of(*state, title, version));
                });
                return http::json_response(cached->text);
            },
            {.include_in_schema = false});
        get(
            docs_url,
            [page = detail::docs_page(title, openapi_url)](http::request&) { return html_response(page); },
            {.include_in_schema = false});
        return *this;
    }

    /// The routes, in the order they were added (method, pattern, options).
    [[nodiscard]] const std::vector<std::shared_ptr<detail::route_entry>>& routes() const noexcept {
        return m_state->routes;
    }

private:
    static boost::json::object openapi_of(const detail::app_state& state, const std::string& title,
                                          const std::string& version) {
        boost::json::object doc;
        doc["openapi"] = "3.1.0";
        doc["info"] = boost::json::object{{"title", title}, {"version", version}};
        boost::json::object paths;
        for (const auto& entry : state.routes) {
            if (!entry->documented) {
                continue;
            }
            const std::string path = detail::openapi_path(entry->pattern);
            if (!paths.contains(path)) {
                paths[path] = boost::json::object{};
            }
            std::string method;
            for (char c : entry->method) {
                method += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            }
            paths[path].as_object()[method] = entry->operation;
        }
        doc["paths"] = std::move(paths);
        doc["components"] = boost::json::object{{"schemas", state.schemas}};
        return doc;
    }

    std::shared_ptr<detail::app_state> m_state;
};

}  // namespace corio::web
