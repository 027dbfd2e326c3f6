#pragma once

// A live view of the serving loop over the app's own HTTP server, as
// aiomonitor gives one over telnet: the task tree and the loop's metrics.

#include <corio/debug.hpp>
#include <corio/detail/config.hpp>
#include <corio/event_loop.hpp>
#include <corio/http/message.hpp>
#include <corio/http/router.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

namespace corio::detail::http_debug {

inline void append_json_string(std::string& out, std::string_view text) {
    out.push_back('"');
    for (const char c : text) {
        switch (c) {
            case '"':
                out.append("\\\"");
                break;
            case '\\':
                out.append("\\\\");
                break;
            case '\n':
                out.append("\\n");
                break;
            case '\r':
                out.append("\\r");
                break;
            case '\t':
                out.append("\\t");
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char escaped[8];
                    std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
                    out.append(escaped);
                } else {
                    out.push_back(c);
                }
        }
    }
    out.push_back('"');
}

/// all_tasks() as a JSON array of objects (durations in seconds, null when unknown).
inline std::string tasks_json(event_loop& loop) {
    const auto seconds = [](std::chrono::nanoseconds d) {
        return std::to_string(std::chrono::duration<double>(d).count());
    };
    std::string out = "[";
    bool first = true;
    for (const task_info& task : all_tasks(loop)) {
        out.append(first ? "\n" : ",\n");
        first = false;
        out.append("{\"id\":").append(std::to_string(task.id));
        out.append(",\"parent_id\":")
            .append(task.parent_id != 0 ? std::to_string(task.parent_id) : "null");
        out.append(",\"name\":");
        append_json_string(out, task.name);
        out.append(",\"function\":");
        append_json_string(out, task.function);
        out.append(",\"state\":");
        append_json_string(out, task.state);
        out.append(",\"awaiting\":");
        append_json_string(out, task.awaiting);
        out.append(",\"age_seconds\":").append(task.age ? seconds(*task.age) : "null");
        out.append(",\"steps\":").append(std::to_string(task.steps));
        out.append(",\"running_seconds\":").append(seconds(task.running_time));
        out.append(",\"strands\":[");
        for (std::size_t i = 0; i < task.strands.size(); ++i) {
            const strand_info& strand = task.strands[i];
            out.append(i == 0 ? "{\"kind\":" : ",{\"kind\":");
            append_json_string(out, strand.kind);
            out.append(",\"index\":").append(std::to_string(strand.index));
            out.append(",\"name\":");
            append_json_string(out, strand.name);
            out.append(",\"function\":");
            append_json_string(out, strand.function);
            out.append(",\"awaiting\":");
            append_json_string(out, strand.awaiting);
            out.append(",\"depth\":").append(std::to_string(strand.depth)).append("}");
        }
        out.append("]}");
    }
    out.append(first ? "]\n" : "\n]\n");
    return out;
}

CORIO_HEADER_COROUTINE inline task<http::response> serve_tasks(http::request& r) {
    event_loop& loop = get_running_loop();
    if (r.query_params().get_or("format", "text") == "json") {
        co_return http::json_response(tasks_json(loop));
    }
    co_return http::text_response(format_task_tree(loop));
}

CORIO_HEADER_COROUTINE inline task<http::response> serve_metrics(http::request& /*r*/) {
    co_return http::text_response(get_running_loop().metrics().to_prometheus(), 200,
                                  "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace corio::detail::http_debug

namespace corio::http {

/// Adds two GET routes to `routes` that look at the loop serving the request:
/// - `/debug/tasks`: format_task_tree() as text, or all_tasks() as a JSON
///   array with `?format=json`;
/// - `/metrics`: the loop's metrics in Prometheus' text format (scrape it).
/// They show task names and source lines: serve them on a private port or
/// behind the app's authentication, not to the world. Debug mode (or a
/// CORIO_TRACK_AWAITS build) makes them say more: see event_loop::set_debug.
inline router& debug_routes(router& routes) {
    routes.get("/debug/tasks", &detail::http_debug::serve_tasks);
    routes.get("/metrics", &detail::http_debug::serve_metrics);
    return routes;
}

}  // namespace corio::http
