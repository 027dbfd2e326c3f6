#pragma once

// corio::web::test_client: calls an app in process, without sockets
// (FastAPI's TestClient), for tests.

#include <corio/detail/config.hpp>
#include <corio/http/body_reader.hpp>
#include <corio/http/message.hpp>
#include <corio/run.hpp>
#include <corio/task.hpp>
#include <corio/web/app.hpp>
#include <corio/web/json.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace corio::web {

/// A response seen by test_client, with readers for its body.
struct test_response : http::response {
    /// The body parsed as JSON; throws std::system_error when it is not JSON.
    [[nodiscard]] boost::json::value json() const { return boost::json::parse(body); }
    /// The first header field `name`, "" when absent.
    [[nodiscard]] std::string header(std::string_view name) const { return std::string(headers.get_or(name, "")); }
};

/// Sends requests straight to app::handle: the app's whole chain runs
/// (middleware, routing, conversion, exception mapping) as it would behind
/// http::server, which adds only framing (Content-Length, Connection, Date)
/// and drops a HEAD response's body, as this client does too.
///
/// A body that http::server would stream to the handler (a streaming route:
/// a handler taking a form or `http::body_reader&`, route_options::stream_body;
/// or what `stream_body` below picks) reaches the handler the same way,
/// through request::body_stream(), over the in-memory body; one larger than
/// the route's limit gets the server's 413 without the handler.
///
/// The plain methods (get, post, ...) run their own event loop for the one
/// request (corio::run), like FastAPI's synchronous TestClient: call them
/// where no loop runs. Inside a coroutine, co_await send() instead.
class test_client {
public:
    /// A client of `application`, which it shares (copies share one app).
    explicit test_client(const app& application) : m_app(application) {}

    /// Every request gets these headers too (unless it sets them itself).
    http::headers default_headers{};

    /// As http::server_options::stream_body: set, it decides which bodies the
    /// handlers read through request::body_stream() (and their limit), as
    /// the server given that option would; empty, the app's streaming
    /// routes decide.
    std::function<std::optional<std::uint64_t>(const http::request&)> stream_body{};

    /// Sends `method target` with `body` and `extra` headers through the app.
    [[nodiscard]] CORIO_HEADER_COROUTINE task<test_response> send(std::string method, std::string target,
                                                                  std::string body = {},
                                                                  http::headers extra = {}) const {
        auto request = std::make_unique<http::request>();
        request->method = std::move(method);
        request->target = std::move(target);
        request->headers = std::move(extra);
        for (const http::header_field& f : default_headers) {
            if (!request->headers.contains(f.name)) {
                request->headers.add(f.name, f.value);
            }
        }
        if (!request->headers.contains("Host")) {
            request->headers.add("Host", "testserver");
        }
        const std::optional<std::uint64_t> stream_limit =
            stream_body ? stream_body(*request) : m_app.handler().streamed_body_limit(*request);
        // Handed out in pieces the size of the server's default read buffer.
        std::string streamed_bytes;
        std::unique_ptr<http::string_body_reader> streamed;
        if (stream_limit && body.size() > *stream_limit) {
            // What http::server answers a declared Content-Length over the limit.
            test_response refused;
            static_cast<http::response&>(refused) =
                http::text_response(413, std::string(http::reason_phrase(413)) + "\n");
            co_return refused;
        }
        if (stream_limit) {
            streamed_bytes = std::move(body);
            streamed = std::make_unique<http::string_body_reader>(streamed_bytes, 16 * 1024, *stream_limit);
            request->streamed_body = streamed.get();
        } else {
            request->body = std::move(body);
        }
        http::response answer = co_await m_app.handle(*request);
        test_response result;
        static_cast<http::response&>(result) = std::move(answer);
        if (request->method == "HEAD") {
            result.body.clear();
        } else if (result.body_file) {
            result.body = corio::detail::read_at(*result.body_file->file,
                                                 static_cast<std::size_t>(result.body_file->length),
                                                 result.body_file->offset);
        } else if (result.body_stream) {
            // A streamed body is read to its end (so an endless one, such as
            // an event stream without end, never returns: test its generator).
            for (;;) {
                std::optional<std::string> piece = co_await result.body_stream->next();
                if (!piece) {
                    break;
                }
                result.body += *piece;
            }
        }
        result.body_stream.reset();
        result.body_file.reset();
        co_return result;
    }

    /// send() on an event loop of its own (corio::run); not from inside a coroutine.
    test_response request(std::string method, std::string target, std::string body = {},
                          http::headers extra = {}) const {
        return corio::run(send(std::move(method), std::move(target), std::move(body), std::move(extra)));
    }
    /// GET `target`.
    test_response get(std::string target, http::headers extra = {}) const {
        return request("GET", std::move(target), {}, std::move(extra));
    }
    /// DELETE `target`.
    test_response del(std::string target, http::headers extra = {}) const {
        return request("DELETE", std::move(target), {}, std::move(extra));
    }
    /// OPTIONS `target` (e.g. a CORS preflight, its headers in `extra`).
    test_response options(std::string target, http::headers extra = {}) const {
        return request("OPTIONS", std::move(target), {}, std::move(extra));
    }
    /// POST `body` (JSON unless `extra` sets a Content-Type).
    test_response post(std::string target, std::string body, http::headers extra = {}) const {
        return request("POST", std::move(target), std::move(body), with_json_type(std::move(extra)));
    }
    /// PUT `body` (JSON unless `extra` sets a Content-Type).
    test_response put(std::string target, std::string body, http::headers extra = {}) const {
        return request("PUT", std::move(target), std::move(body), with_json_type(std::move(extra)));
    }
    /// PATCH `body` (JSON unless `extra` sets a Content-Type).
    test_response patch(std::string target, std::string body, http::headers extra = {}) const {
        return request("PATCH", std::move(target), std::move(body), with_json_type(std::move(extra)));
    }

private:
    static http::headers with_json_type(http::headers extra) {
        if (!extra.contains("Content-Type")) {
            extra.add("Content-Type", "application/json");
        }
        return extra;
    }

    app m_app;
};

}  // namespace corio::web
