// Boost.Beast 1.81 (Debian libboost1.81-dev) hello-world HTTP/1.1 server, the
// peer of bench/http_server_corio.cpp and of the TechEmpower-style rows of
// bench/web_techempower_corio.cpp (bench/web_run.py), loaded with wrk.
//
//   http_beast PORT      serve on 127.0.0.1:PORT until killed
//
// GET /json answers {"message":"Hello, World!"} as application/json: per
// request, as TechEmpower asks, a message object is made and serialized, by
// hand-written JSON (escaping included) rather than a JSON library; every other target
// answers "Hello, World!" as text/plain, so / and /plaintext are the same row.
//
// Idiomatic Beast with C++20 coroutines, shaped like Beast's own
// http_server_awaitable example: a single-threaded io_context, one coroutine
// per connection that loops http::async_read / http::async_write on a
// beast::tcp_stream, with a 30 s expiry armed per request (Beast's way of
// timing out idle or slow clients, as corio's server does with its timeouts).
// The response has the same status line, headers and body as every other
// server of the benchmark.

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct message {
    std::string_view text;
};

// Appends `text` as a JSON string: quotes, backslashes and control characters escaped.
void append_json_string(std::string& out, std::string_view text) {
    out += '"';
    for (const char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
            out += escaped;
        } else {
            out += c;
        }
    }
    out += '"';
}

std::string to_json(const message& value) {
    std::string out;
    out.reserve(16 + value.text.size());
    out += R"({"message":)";
    append_json_string(out, value.text);
    out += '}';
    return out;
}

asio::awaitable<void> serve(beast::tcp_stream stream) {
    beast::flat_buffer buffer;
    try {
        for (;;) {
            stream.expires_after(std::chrono::seconds(30));
            http::request<http::string_body> request;
            co_await http::async_read(stream, buffer, request, asio::use_awaitable);
            http::response<http::string_body> response{http::status::ok, request.version()};
            if (request.target() == "/json") {
                response.set(http::field::content_type, "application/json");
                response.body() = to_json(message{"Hello, World!"});
            } else {
                response.set(http::field::content_type, "text/plain; charset=utf-8");
                response.body() = "Hello, World!";
            }
            response.keep_alive(request.keep_alive());
            response.prepare_payload();
            const bool keep_alive = response.keep_alive();
            co_await http::async_write(stream, response, asio::use_awaitable);
            if (!keep_alive) {
                break;
            }
        }
    } catch (const std::exception&) {
        // end of stream, reset or timeout: the connection is over
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> listen(tcp::acceptor acceptor) {
    for (;;) {
        tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
        socket.set_option(tcp::no_delay(true));
        asio::co_spawn(acceptor.get_executor(), serve(beast::tcp_stream(std::move(socket))), asio::detached);
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: http_beast PORT\n");
        return 2;
    }
    try {
        asio::io_context context(1);
        const auto port = static_cast<unsigned short>(std::atoi(argv[1]));
        tcp::acceptor acceptor(context, {asio::ip::make_address("127.0.0.1"), port});
        asio::co_spawn(context, listen(std::move(acceptor)), asio::detached);
        context.run();
    } catch (const std::exception& error) {
        std::fprintf(stderr, "http_beast: %s\n", error.what());
        return 1;
    }
}
