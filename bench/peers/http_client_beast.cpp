// Boost.Beast 1.81 HTTP client for the client benchmark,
// the peer of bench/http_client_corio.cpp and http_client_aiohttp.py.
//
//   http_client_beast --port P [--requests 10000] [--connections 100]
//
// `connections` coroutines on a single-threaded io_context, each opening one
// kept-alive connection to 127.0.0.1:P and doing requests/connections GETs of
// "/" on it in turn (http::async_write, then http::async_read of a
// string_body response, whose status and body are checked).
//
// Output (`key<TAB>value` lines): requests, seconds (wall, first connect to
// last response), requests_per_s, client_cpu_us_per_request (getrusage of
// this process over the same window).

#include "../timing.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <sys/resource.h>

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

double cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

long completed = 0;
long failures = 0;

asio::awaitable<void> worker(tcp::endpoint server, std::string host, long count) {
    try {
        beast::tcp_stream stream(co_await asio::this_coro::executor);
        co_await stream.async_connect(server, asio::use_awaitable);
        stream.socket().set_option(tcp::no_delay(true));
        beast::flat_buffer buffer;
        http::request<http::empty_body> request{http::verb::get, "/", 11};
        request.set(http::field::host, host);
        for (long i = 0; i < count; ++i) {
            co_await http::async_write(stream, request, asio::use_awaitable);
            http::response<http::string_body> response;
            co_await http::async_read(stream, buffer, response, asio::use_awaitable);
            if (response.result() != http::status::ok || response.body() != "Hello, World!") {
                ++failures;
            }
            ++completed;
        }
        beast::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "http_client_beast: %s\n", error.what());
        ++failures;
    }
}

}  // namespace

int main(int argc, char** argv) {
    int port = 0;
    long requests = 10'000;
    long connections = 100;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view arg = argv[i];
        if (arg == "--port") {
            port = std::atoi(argv[i + 1]);
        } else if (arg == "--requests") {
            requests = std::atol(argv[i + 1]);
        } else if (arg == "--connections") {
            connections = std::atol(argv[i + 1]);
        } else {
            std::fprintf(stderr, "http_client_beast: unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    if (port <= 0 || connections <= 0 || requests % connections != 0) {
        std::fprintf(stderr, "usage: http_client_beast --port P [--requests N] [--connections C] (C divides N)\n");
        return 2;
    }
    asio::io_context context(1);
    const tcp::endpoint server(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port));
    const std::string host = "127.0.0.1:" + std::to_string(port);
    const double cpu_start = cpu_seconds();
    const bench_timing::stopwatch watch;
    for (long c = 0; c < connections; ++c) {
        asio::co_spawn(context, worker(server, host, requests / connections), asio::detached);
    }
    context.run();
    const double seconds = watch.elapsed_ns() / 1e9;
    const double cpu = cpu_seconds() - cpu_start;
    if (failures != 0 || completed != requests) {
        std::fprintf(stderr, "http_client_beast: %ld of %ld requests completed, %ld failures\n", completed, requests,
                     failures);
        return 1;
    }
    std::printf("requests\t%ld\nseconds\t%.6f\nrequests_per_s\t%.1f\nclient_cpu_us_per_request\t%.4f\n", completed,
                seconds, static_cast<double>(completed) / seconds, cpu * 1e6 / static_cast<double>(completed));
    return 0;
}
