#pragma once

// Server-Sent Events (the HTML standard's text/event-stream): a handler
// returns web::sse_response(events) where `events` is an
// async_generator<web::sse_event>; each event goes out as it is yielded,
// a comment line keeps an idle connection from being timed out by proxies,
// and a client that goes away cancels the generator where it waits.
//
//     corio::async_generator<web::sse_event> ticks() {
//         for (int i = 0;; ++i) {
//             web::sse_event e{.data = std::to_string(i), .event = "tick"};
//             co_yield std::move(e);  // (a braced temporary in co_yield: see below)
//             co_await corio::sleep(1s);
//         }
//     }
//     application.get("/ticks", [](http::request&) -> corio::task<http::response> {
//         co_return web::sse_response(ticks());
//     });
//
// With g++ 12, name an event before yielding it: `co_yield sse_event{...}`
// with a braced temporary is miscompiled there at -O2 (seen: the event's
// strings later freed from a wrong address); clang is not affected.

#include <corio/detail/config.hpp>
#include <corio/cancel.hpp>
#include <corio/combinators.hpp>
#include <corio/errors.hpp>
#include <corio/generator.hpp>
#include <corio/http/message.hpp>
#include <corio/spawn.hpp>
#include <corio/sync/queue.hpp>
#include <corio/task.hpp>

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace corio::web {

/// One Server-Sent Event. Only `data` is needed; the browser's EventSource
/// dispatches it as a "message" event unless `event` names another type.
struct sse_event {
    /// The payload; each of its lines (split at CRLF, CR or LF) becomes one
    /// "data:" line, which the client joins back with LF.
    std::string data{};
    /// The event type ("event:" line); empty: none (a "message" event).
    std::string event{};
    /// The event ID ("id:" line), which the client sends back in
    /// Last-Event-ID when it reconnects; empty: none.
    std::string id{};
    /// How long the client waits before reconnecting ("retry:" line).
    std::optional<std::chrono::milliseconds> retry{};
};

/// Options of sse_response.
struct sse_options {
    /// After this long without an event a comment line (": keep-alive") is
    /// sent, so proxies and load balancers do not close the idle connection
    /// and a client that went away is noticed; zero: never.
    std::chrono::milliseconds keep_alive{15'000};
    /// Status of the response.
    int status = 200;
};

/// `e` in the text/event-stream format, ending with the blank line that
/// dispatches it. Throws std::invalid_argument when `event` or `id` holds a
/// line break (or `id` a NUL), which would change the stream's framing.
[[nodiscard]] inline std::string format_sse_event(const sse_event& e) {
    const auto breaks_line = [](std::string_view field) {
        return field.find_first_of("\r\n") != std::string_view::npos;
    };
    if (breaks_line(e.event)) {
        throw std::invalid_argument("corio::web: an SSE event type holds a line break");
    }
    if (breaks_line(e.id) || e.id.find('\0') != std::string::npos) {
        throw std::invalid_argument("corio::web: an SSE event id holds a line break or NUL");
    }
    std::string out;
    out.reserve(e.data.size() + e.event.size() + e.id.size() + 32);
    if (!e.event.empty()) {
        out += "event: ";
        out += e.event;
        out += '\n';
    }
    if (!e.id.empty()) {
        out += "id: ";
        out += e.id;
        out += '\n';
    }
    if (e.retry) {
        out += "retry: ";
        out += std::to_string(e.retry->count());
        out += '\n';
    }
    std::string_view rest = e.data;
    for (;;) {
        const std::size_t end = rest.find_first_of("\r\n");
        out += "data: ";
        out += rest.substr(0, end);
        out += '\n';
        if (end == std::string_view::npos) {
            break;
        }
        const std::size_t skip = rest.compare(end, 2, "\r\n") == 0 ? 2 : 1;
        rest.remove_prefix(end + skip);
    }
    out += '\n';
    return out;
}

}  // namespace corio::web

namespace corio::detail::web_sse {

/// The comment sent after sse_options::keep_alive without an event.
inline constexpr std::string_view keep_alive_comment = ": keep-alive\n\n";

/// The events of one response, and the formatted event on its way from the
/// task running the user's generator to the one writing the response.
/// Shared: the producer task can outlive the response's generator by the
/// time it takes to unwind after a cancellation.
struct channel {
    explicit channel(async_generator<web::sse_event> e) : events(std::move(e)) {}
    async_generator<web::sse_event> events;
    queue<std::string> ready{1};  // one event at a time: the producer waits for the writer
    std::exception_ptr failure;
};

/// Runs the user's generator, passing each formatted event on; closes the
/// queue at the end (keeping the generator's exception for the writer).
CORIO_HEADER_COROUTINE inline task<void> produce(std::shared_ptr<channel> shared) {
    try {
        for (;;) {
            std::optional<web::sse_event> e = co_await shared->events.next();
            if (!e) {
                break;
            }
            co_await shared->ready.put(web::format_sse_event(*e));
        }
    } catch (const cancelled_error&) {
        shared->ready.close();
        throw;
    } catch (...) {
        shared->failure = std::current_exception();
    }
    shared->ready.close();
}

/// The response body without keep-alive: each event formatted in turn.
CORIO_HEADER_COROUTINE inline async_generator<std::string> formatted(async_generator<web::sse_event> events) {
    for (;;) {
        std::optional<web::sse_event> e = co_await events.next();
        if (!e) {
            break;
        }
        co_yield web::format_sse_event(*e);
    }
}

/// The response body with keep-alive comments: the user's generator runs in
/// a task of its own (a wait for its next event cannot be timed out without
/// cancelling it), and this one waits for each event at most `interval`.
/// When this generator is destroyed or cancelled, that task is cancelled, so
/// the user's generator sees cancelled_error where it waits.
CORIO_HEADER_COROUTINE inline async_generator<std::string> with_keep_alive(async_generator<web::sse_event> events,
                                                    std::chrono::milliseconds interval) {
    auto shared = std::make_shared<channel>(std::move(events));
    task_handle<void> producer = create_task(produce(shared));
    struct cancel_on_exit {
        task_handle<void>& producer;
        ~cancel_on_exit() { producer.cancel(); }
    } stop{producer};
    for (;;) {
        std::optional<std::string> next;
        bool idle = false;
        try {
            next = co_await corio::wait_for(shared->ready.get(), interval);
        } catch (const timeout_error&) {
            idle = true;
        } catch (const queue_closed&) {
            // end of the events (or the producer's failure, rethrown below)
        }
        if (idle) {
            co_yield std::string(keep_alive_comment);
        } else if (next) {
            co_yield std::move(*next);
        } else {
            break;
        }
    }
    if (shared->failure) {
        std::rethrow_exception(shared->failure);
    }
}

}  // namespace corio::detail::web_sse

namespace corio::web {

/// A text/event-stream response carrying `events` as they are yielded
/// (sse-starlette's EventSourceResponse, aiohttp-sse). Sent with
/// Cache-Control: no-cache and X-Accel-Buffering: no (so nginx passes each
/// event on at once). A client that goes away cancels the generator where it
/// waits; an exception from it ends the response cut short and is reported
/// to the loop's exception handler (http::stream_response). With a
/// keep-alive interval, the generator runs in a task of its own, started
/// when the response's body is first read.
[[nodiscard]] inline http::response sse_response(async_generator<sse_event> events, sse_options options = {}) {
    http::response r = http::stream_response(
        options.keep_alive.count() > 0
            ? corio::detail::web_sse::with_keep_alive(std::move(events), options.keep_alive)
            : corio::detail::web_sse::formatted(std::move(events)),
        "text/event-stream", options.status);
    r.headers.add("Cache-Control", "no-cache");
    r.headers.add("X-Accel-Buffering", "no");
    return r;
}

}  // namespace corio::web
