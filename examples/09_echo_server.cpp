// 09_echo_server: a line echo server with corio::start_server (asyncio's
// start_server / the streams "TCP echo server" example).
//
//   09_echo_server [--port N]  serve on 127.0.0.1:N (default 8888) until Ctrl-C
//   09_echo_server --quick     serve one connection made by the program itself, then exit
//
// Try it with:  nc 127.0.0.1 8888

#include <corio/corio.hpp>
#include <corio/net.hpp>

#include <fmt/core.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

using namespace std::chrono_literals;

// async def handle_echo(reader, writer):
corio::task<void> handle_echo(corio::tcp_stream stream) {
    const std::string peer = stream.remote_endpoint().to_string();
    fmt::print("[server] {} connected\n", peer);
    for (;;) {
        std::string line;
        try {
            line = co_await stream.read_until("\n", 4096);  // data = await reader.readline()
        } catch (const corio::incomplete_read& eof) {        // EOF: the client is gone
            if (!eof.partial().empty()) {
                fmt::print("[server] {} left mid-line: {:?}\n", peer, eof.partial());
            }
            break;
        }
        fmt::print("[server] {} sent {:?}\n", peer, line);
        co_await stream.write(line);  // writer.write(data); await writer.drain()
    }
    fmt::print("[server] {} disconnected\n", peer);
}  // the stream closes here (writer.close())

// The --quick client: one connection, three lines, compare the echoes.
corio::task<bool> self_test(std::uint16_t port) {
    auto stream = co_await corio::open_connection("127.0.0.1", port);
    bool ok = true;
    for (std::string_view text : {"hello\n", "corio\n", "bye\n"}) {
        co_await stream.write(text);
        const std::string echoed = co_await stream.read_until("\n");
        fmt::print("[client] got back {:?}\n", echoed);
        ok = ok && echoed == text;
    }
    co_return ok;
}

corio::task<int> main_task(bool quick, std::uint16_t port) {
    // server = await asyncio.start_server(handle_echo, '127.0.0.1', 8888)
    auto server = co_await corio::start_server(handle_echo, "127.0.0.1", quick ? 0 : port);
    fmt::print("Serving on {}\n", server.endpoints().front().to_string());
    if (!quick) {
        co_await server.serve_forever();  // async with server: await server.serve_forever()
        co_return 0;
    }
    const bool ok = co_await self_test(server.port());
    co_await server.shutdown(1s);  // stop accepting, let the handler finish
    fmt::print("{}\n", ok ? "echo verified" : "echo MISMATCH");
    co_return ok ? 0 : 1;
}

constexpr std::string_view usage =
    "usage: 09_echo_server [--port N] [--quick]\n"
    "  --port N   serve on 127.0.0.1:N (default 8888; also as a bare N) until Ctrl-C\n"
    "  --quick    serve one connection made by the program itself, then exit\n";

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // "serving on" shows at once even when piped
    bool quick = false;
    std::uint16_t port = 8888;
    try {
        for (int i = 1; i < argc; ++i) {
            const std::string_view arg = argv[i];
            if (arg == "--quick") {
                quick = true;
            } else if (arg == "--help" || arg == "-h") {
                fmt::print("{}", usage);
                return 0;
            } else if (arg == "--port" && i + 1 < argc) {
                port = static_cast<std::uint16_t>(std::stoi(argv[++i]));
            } else if (!arg.empty() && arg[0] != '-') {
                port = static_cast<std::uint16_t>(std::stoi(std::string(arg)));
            } else {
                fmt::print(stderr, "09_echo_server: unknown argument '{}'\n{}", arg, usage);
                return 2;
            }
        }
        return corio::run(main_task(quick, port));
    } catch (const std::exception& error) {
        fmt::print(stderr, "09_echo_server: {}\n", error.what());
        return 1;
    }
}
