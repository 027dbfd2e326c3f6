#pragma once

// The middleware most web APIs want (Starlette's set): request logging, CORS,
// gzip, request IDs and a Bearer-token check. Each factory returns a
// web::middleware for app::use (global) or route_options::middleware (one route).

#include <corio/detail/config.hpp>
#include <corio/http/message.hpp>
#include <corio/task.hpp>
#include <corio/web/detail/gzip.hpp>
#include <corio/web/errors.hpp>
#include <corio/web/middleware.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace corio::web {

/// What request_logger reports per request.
struct access_log_entry {
    /// The request's method ("GET").
    std::string method;
    /// The request-target as received, query included ("/users?limit=3").
    std::string target;
    int status = 0;  ///< 0 when the chain threw (no response)
    /// Time the rest of the chain took, handler included.
    std::chrono::steady_clock::duration duration{};
};

/// Prints "GET /users?limit=3 200 1.234ms" to stderr.
inline void print_access_log(const access_log_entry& entry) {
    const double ms = std::chrono::duration<double, std::milli>(entry.duration).count();
    std::fprintf(stderr, "%s %s %d %.3fms\n", entry.method.c_str(), entry.target.c_str(), entry.status, ms);
}

/// Options of cors(): which cross-origin requests browsers may make.
struct cors_options {
    /// Origins allowed ("https://app.example"); "*" allows any.
    std::vector<std::string> allow_origins{"*"};
    /// Methods a preflight may ask for (sent in Access-Control-Allow-Methods); others get 400.
    std::vector<std::string> allow_methods{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
    /// Request headers allowed in a preflight; "*" allows whatever is asked.
    std::vector<std::string> allow_headers{"*"};
    /// Response headers the page's script may read.
    std::vector<std::string> expose_headers{};
    /// Send Access-Control-Allow-Credentials: true (the origin is echoed, never "*").
    bool allow_credentials = false;
    /// How long a browser may cache a preflight answer.
    int max_age_seconds = 600;
};

/// Options of gzip().
struct gzip_options {
    /// Bodies smaller than this go uncompressed (compression would not pay).
    std::size_t minimum_size = 500;
    /// zlib level, 1 (fastest) to 9 (smallest).
    int level = 6;
};

}  // namespace corio::web

namespace corio::web::detail {

inline std::string join(const std::vector<std::string>& items) {
    std::string text;
    for (const std::string& item : items) {
        if (!text.empty()) {
            text += ", ";
        }
        text += item;
    }
    return text;
}

inline bool contains(const std::vector<std::string>& items, std::string_view wanted) {
    return std::find(items.begin(), items.end(), wanted) != items.end();
}

CORIO_HEADER_COROUTINE inline task<http::response> log_request(
    std::shared_ptr<const std::function<void(const access_log_entry&)>> sink, http::request& request, next rest) {
    const auto start = std::chrono::steady_clock::now();
    access_log_entry entry{request.method, request.target, 0, {}};
    std::exception_ptr error;
    std::optional<http::response> answer;
    try {
        answer = co_await rest(request);
        entry.status = answer->status;
    } catch (...) {
        error = std::current_exception();
    }
    entry.duration = std::chrono::steady_clock::now() - start;
    (*sink)(entry);
    if (error) {
        std::rethrow_exception(error);
    }
    co_return std::move(*answer);
}

CORIO_HEADER_COROUTINE inline task<http::response> apply_cors(std::shared_ptr<const cors_options> options,
                                                              http::request& request, next rest) {
    const std::optional<std::string_view> origin_field = request.headers.get("Origin");
    if (!origin_field) {
        co_return co_await rest(request);
    }
    const std::string origin(*origin_field);
    const bool any_origin = contains(options->allow_origins, "*");
    const bool allowed = any_origin || contains(options->allow_origins, origin);
    // Echo the origin when credentials are allowed or the list is explicit: "*" is refused with credentials.
    const std::string allow_origin = any_origin && !options->allow_credentials ? "*" : origin;
    const bool echoes_origin = allow_origin != "*";

    const std::optional<std::string_view> asked_method = request.headers.get("Access-Control-Request-Method");
    if (request.method == "OPTIONS" && asked_method) {
        std::vector<std::string> problems;
        if (!allowed) {
            problems.emplace_back("origin");
        }
        if (!contains(options->allow_methods, *asked_method)) {
            problems.emplace_back("method");
        }
        const std::string asked_headers(request.headers.get_or("Access-Control-Request-Headers", ""));
        if (!contains(options->allow_headers, "*") && !asked_headers.empty()) {
            std::string_view rest_of = asked_headers;
            while (!rest_of.empty()) {
                const std::size_t comma = rest_of.find(',');
                std::string_view name = rest_of.substr(0, comma);
                rest_of = comma == std::string_view::npos ? std::string_view{} : rest_of.substr(comma + 1);
                while (!name.empty() && name.front() == ' ') {
                    name.remove_prefix(1);
                }
                while (!name.empty() && name.back() == ' ') {
                    name.remove_suffix(1);
                }
                const bool listed = std::any_of(options->allow_headers.begin(), options->allow_headers.end(),
                                                [&](const std::string& h) {
                                                    return h.size() == name.size() &&
                                                           std::equal(h.begin(), h.end(), name.begin(), [](char a, char b) {
                                                               return std::tolower(static_cast<unsigned char>(a)) ==
                                                                      std::tolower(static_cast<unsigned char>(b));
                                                           });
                                                });
                if (!name.empty() && !listed) {
                    problems.emplace_back("headers");
                    break;
                }
            }
        }
        http::response preflight;
        if (!problems.empty()) {
            preflight = http::text_response(400, "Disallowed CORS " + join(problems));
        } else {
            preflight = http::text_response(200, "OK");
            preflight.headers.add("Access-Control-Allow-Origin", allow_origin);
            preflight.headers.add("Access-Control-Allow-Methods", join(options->allow_methods));
            preflight.headers.add("Access-Control-Allow-Headers", contains(options->allow_headers, "*") &&
                                                                          !asked_headers.empty()
                                                                      ? asked_headers
                                                                      : join(options->allow_headers));
            preflight.headers.add("Access-Control-Max-Age", std::to_string(options->max_age_seconds));
            if (options->allow_credentials) {
                preflight.headers.add("Access-Control-Allow-Credentials", "true");
            }
        }
        if (echoes_origin) {
            preflight.headers.add("Vary", "Origin");
        }
        co_return preflight;
    }

    http::response answer = co_await rest(request);
    if (allowed) {
        answer.headers.set("Access-Control-Allow-Origin", allow_origin);
        if (options->allow_credentials) {
            answer.headers.set("Access-Control-Allow-Credentials", "true");
        }
        if (!options->expose_headers.empty()) {
            answer.headers.set("Access-Control-Expose-Headers", join(options->expose_headers));
        }
        if (echoes_origin) {
            answer.headers.add("Vary", "Origin");
        }
    }
    co_return answer;
}

CORIO_HEADER_COROUTINE inline task<http::response> apply_gzip(gzip_options options, http::request& request,
                                                              next rest) {
    const bool accepted = request.headers.has_token("Accept-Encoding", "gzip");
    http::response answer = co_await rest(request);
    // A streamed body (answer.body_stream) is left as it is: its size is
    // unknown and each piece must leave when it comes; so is a file body,
    // sent as it is on disk.
    if (!accepted || answer.body_stream || answer.body_file || answer.body.size() < options.minimum_size ||
        answer.headers.contains("Content-Encoding") ||
        answer.headers.contains("Content-Range")) {
        co_return answer;
    }
    if (std::optional<std::string> compressed = gzip_compress(answer.body, options.level)) {
        answer.body = std::move(*compressed);
        answer.headers.set("Content-Encoding", "gzip");
        answer.headers.remove("Content-Length");
        answer.headers.add("Vary", "Accept-Encoding");
    }
    co_return answer;
}

/// A fresh random request ID: 32 hex digits (128 bits).
inline std::string random_request_id() {
    thread_local std::mt19937_64 generator{std::random_device{}()};
    static constexpr char digits[] = "0123456789abcdef";
    std::string id(32, '0');
    for (std::size_t half = 0; half < 2; ++half) {
        std::uint64_t bits = generator();
        for (std::size_t i = 0; i < 16; ++i) {
            id[half * 16 + i] = digits[bits & 0xf];
            bits >>= 4;
        }
    }
    return id;
}

CORIO_HEADER_COROUTINE inline task<http::response> apply_request_id(std::string header_name,
                                                                    http::request& request, next rest) {
    std::string id;
    if (const std::optional<std::string_view> given = request.headers.get(header_name);
        given && !given->empty() && given->size() <= 200) {
        id = std::string(*given);
    } else {
        id = random_request_id();
        request.headers.set(header_name, id);
    }
    http::response answer = co_await rest(request);
    answer.headers.set(header_name, id);
    co_return answer;
}

CORIO_HEADER_COROUTINE inline task<http::response> check_bearer(
    std::shared_ptr<const std::function<task<bool>(std::string_view)>> verify, http::request& request, next rest) {
    const std::string_view field = request.headers.get_or("Authorization", "");
    constexpr std::string_view scheme = "bearer ";
    bool scheme_matches = field.size() > scheme.size();
    for (std::size_t i = 0; scheme_matches && i < scheme.size(); ++i) {
        scheme_matches = std::tolower(static_cast<unsigned char>(field[i])) == scheme[i];
    }
    if (!scheme_matches) {
        throw http_exception(401, "Not authenticated", {{"WWW-Authenticate", "Bearer"}});
    }
    const std::string token(field.substr(scheme.size()));
    const bool valid = co_await (*verify)(token);
    if (!valid) {
        throw http_exception(401, "Invalid authentication credentials",
                             {{"WWW-Authenticate", "Bearer error=\"invalid_token\""}});
    }
    co_return co_await rest(request);
}

CORIO_HEADER_COROUTINE inline task<bool> ready_bool(bool value) { co_return value; }

}  // namespace corio::web::detail

namespace corio::web {

/// Logs every request after its response: method, target, status and time
/// taken, to `sink` (default: one line on stderr). Put it first (outermost)
/// to time the whole chain. A chain that throws is logged with status 0.
[[nodiscard]] inline middleware request_logger(std::function<void(const access_log_entry&)> sink = print_access_log) {
    auto shared = std::make_shared<const std::function<void(const access_log_entry&)>>(std::move(sink));
    return [shared](http::request& request, next rest) { return detail::log_request(shared, request, rest); };
}

/// CORS: answers preflight requests (OPTIONS with Access-Control-Request-Method)
/// itself — 200 with the Access-Control-Allow-* headers, or 400 when the
/// origin, method or headers are not allowed — and adds
/// Access-Control-Allow-Origin to the responses of allowed origins.
[[nodiscard]] inline middleware cors(cors_options options = {}) {
    auto shared = std::make_shared<const cors_options>(std::move(options));
    return [shared](http::request& request, next rest) { return detail::apply_cors(shared, request, rest); };
}

/// Compresses response bodies of at least options.minimum_size bytes with
/// gzip when the request's Accept-Encoding allows it (and the response has no
/// Content-Encoding or Content-Range yet). Without zlib (CORIO_WITH_ZLIB unset)
/// responses pass unchanged.
[[nodiscard]] inline middleware gzip(gzip_options options = {}) {
    return [options](http::request& request, next rest) { return detail::apply_gzip(options, request, rest); };
}

/// Gives each request an ID in `header_name`: the client's if it sent one,
/// otherwise a random one set on the request (so handlers see it); the
/// response carries it too.
[[nodiscard]] inline middleware request_id(std::string header_name = "X-Request-ID") {
    return [header_name](http::request& request, next rest) {
        return detail::apply_request_id(header_name, request, rest);
    };
}

/// Requires "Authorization: Bearer <token>" with a token `verify` accepts;
/// otherwise 401 (http_exception, with WWW-Authenticate: Bearer).
[[nodiscard]] inline middleware bearer_auth(std::function<task<bool>(std::string_view token)> verify) {
    auto shared = std::make_shared<const std::function<task<bool>(std::string_view)>>(std::move(verify));
    return [shared](http::request& request, next rest) { return detail::check_bearer(shared, request, rest); };
}

/// bearer_auth with a synchronous check.
[[nodiscard]] inline middleware bearer_auth(std::function<bool(std::string_view token)> verify) {
    return bearer_auth(std::function<task<bool>(std::string_view)>(
        [check = std::move(verify)](std::string_view token) { return detail::ready_bool(check(token)); }));
}

}  // namespace corio::web
