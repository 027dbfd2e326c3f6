#pragma once

// The time budget of one client request: the total deadline (which also
// covers every redirect and the body read) and the per-step connect and
// sock_read limits of http::client_timeouts, and the helpers that await one
// step within it and name the limit that passed in the timeout_error.

#include <corio/cancel.hpp>
#include <corio/combinators.hpp>
#include <corio/detail/config.hpp>
#include <corio/event_loop.hpp>
#include <corio/http/client_options.hpp>
#include <corio/http/detail/pool.hpp>
#include <corio/http/url.hpp>
#include <corio/task.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

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

[[noreturn]] inline void http_throw_timeout(const char* kind, event_loop::duration limit,
                                            std::string_view method, const http::url& u) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(limit).count();
    throw timeout_error("corio::http: " + std::string(kind) + " timeout (" + std::to_string(ms) +
                        " ms) on " + http_describe(method, u));
}

/// Awaits `op` within the tighter of the step limit and what is left of the
/// total deadline; throws timeout_error naming the one that passed.
template <class T>
CORIO_HEADER_COROUTINE task<T> http_timed(task<T> op, const http_budget& budget,
                                          std::optional<event_loop::duration> step,
                                          const char* step_name, std::string_view method,
                                          const http::url& u) {
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
    const std::span<std::byte> buffer(reinterpret_cast<std::byte*>(c.buffer.get()),
                                      http_read_buffer_size);
    if (!budget.sock_read && budget.deadline == event_loop::time_point::max()) {
        return c.stream.read_some(buffer);
    }
    return http_timed(c.stream.read_some(buffer), budget, budget.sock_read, "sock_read", method, u);
}
}  // namespace corio::detail
