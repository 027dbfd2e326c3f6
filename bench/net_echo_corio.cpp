// corio's TCP echo server for the echo benchmark, driven
// by bench/load/echo_load like its peers (bench/peers/echo_*.{cpp,py}).
//
//   net_echo_corio PORT      serve on 127.0.0.1:PORT until killed
//
// The idiomatic corio shape: start_server with a handler that loops
// read_some / write on its stream until the peer closes.

#include <corio/corio.hpp>
#include <corio/net.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <span>
#include <string>
#include <system_error>

namespace {

corio::task<void> echo(corio::tcp_stream stream) {
    std::array<std::byte, 16 * 1024> buffer;
    try {
        for (;;) {
            const std::size_t n = co_await stream.read_some(buffer);
            if (n == 0) {
                break;  // the client closed
            }
            co_await stream.write(std::span<const std::byte>(buffer.data(), n));
        }
    } catch (const std::system_error&) {
        // reset by the client: the connection is over
    }
}

corio::task<int> serve(std::uint16_t port) {
    auto server = co_await corio::start_server(echo, "127.0.0.1", port);
    co_await server.serve_forever();
    co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: net_echo_corio PORT\n");
        return 2;
    }
    try {
        return corio::run(serve(static_cast<std::uint16_t>(std::stoi(argv[1]))));
    } catch (const std::exception& error) {
        std::fprintf(stderr, "net_echo_corio: %s\n", error.what());
        return 1;
    }
}
