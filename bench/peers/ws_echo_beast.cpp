// WebSocket echo server on Boost.Beast (C++ peer): one thread,
// one io_context, C++20 coroutines (asio::awaitable), no compression.
//
//   ws_echo_beast PORT
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <cstdio>
#include <cstdlib>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

asio::awaitable<void> session(tcp::socket socket) {
    websocket::stream<beast::tcp_stream> ws(std::move(socket));
    ws.read_message_max(64 * 1024 * 1024);
    try {
        co_await ws.async_accept(asio::use_awaitable);
        beast::flat_buffer buffer;
        for (;;) {
            co_await ws.async_read(buffer, asio::use_awaitable);
            ws.text(ws.got_text());
            co_await ws.async_write(buffer.data(), asio::use_awaitable);
            buffer.consume(buffer.size());
        }
    } catch (const std::exception&) {
    }
}

asio::awaitable<void> listen(tcp::acceptor& acceptor) {
    for (;;) {
        tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
        socket.set_option(tcp::no_delay(true));
        asio::co_spawn(acceptor.get_executor(), session(std::move(socket)), asio::detached);
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: ws_echo_beast PORT\n");
        return 2;
    }
    asio::io_context io(1);
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"),
                                             static_cast<unsigned short>(std::atoi(argv[1]))));
    asio::co_spawn(io, listen(acceptor), asio::detached);
    io.run();
}
