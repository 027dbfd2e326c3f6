// Standalone Asio 1.22 (Debian libasio-dev) TCP echo server with C++20
// coroutines, the peer of bench/net_echo_corio.cpp.
//
//   echo_asio PORT      serve on 127.0.0.1:PORT until killed
//
// Idiomatic Asio: an acceptor coroutine co_spawns one coroutine per
// connection, which loops async_read_some / async_write with use_awaitable,
// on a single-threaded io_context (concurrency hint 1).

#include <asio.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <exception>

namespace {

asio::awaitable<void> echo(asio::ip::tcp::socket socket) {
    std::array<char, 16 * 1024> buffer;
    try {
        for (;;) {
            const std::size_t n = co_await socket.async_read_some(asio::buffer(buffer), asio::use_awaitable);
            co_await asio::async_write(socket, asio::buffer(buffer.data(), n), asio::use_awaitable);
        }
    } catch (const std::exception&) {
        // end of stream or reset: the connection is over
    }
}

asio::awaitable<void> listen(asio::ip::tcp::acceptor acceptor) {
    for (;;) {
        asio::ip::tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
        socket.set_option(asio::ip::tcp::no_delay(true));
        asio::co_spawn(acceptor.get_executor(), echo(std::move(socket)), asio::detached);
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: echo_asio PORT\n");
        return 2;
    }
    try {
        asio::io_context context(1);
        const auto port = static_cast<unsigned short>(std::atoi(argv[1]));
        asio::ip::tcp::acceptor acceptor(context, {asio::ip::make_address("127.0.0.1"), port});
        asio::co_spawn(context, listen(std::move(acceptor)), asio::detached);
        context.run();
    } catch (const std::exception& error) {
        std::fprintf(stderr, "echo_asio: %s\n", error.what());
        return 1;
    }
}
