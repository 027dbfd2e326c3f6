// 10_echo_client: send lines to an echo server with corio::open_connection
// (asyncio's open_connection / the streams "TCP echo client" example).
//
//   10_echo_client HOST PORT [message...]   talk to a running server (e.g. 09_echo_server)
//   10_echo_client [--quick] [message...]   no address: start an embedded echo
//                                           server on 127.0.0.1 first, so it runs
//                                           on a machine with no network
//
// Every exchange runs under corio::wait_for, so a silent server cannot hang it.

#include <corio/corio.hpp>
#include <corio/net.hpp>

#include <fmt/core.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

using namespace std::chrono_literals;

corio::task<void> echo_lines(corio::tcp_stream stream) {
    try {
        for (;;) {
            const std::string line = co_await stream.read_until("\n");
            co_await stream.write(line);
        }
    } catch (const corio::incomplete_read&) {
        // the client closed its side
    }
}

// async def tcp_echo_client(message):
corio::task<bool> talk(std::string host, std::uint16_t port, std::vector<std::string> messages) {
    // reader, writer = await asyncio.open_connection(host, port)
    auto stream = co_await corio::wait_for(corio::open_connection(host, port), 5s);
    fmt::print("Connected to {} from {}\n", stream.remote_endpoint().to_string(),
               stream.local_endpoint().to_string());
    bool ok = true;
    for (const std::string& message : messages) {
        fmt::print("Send: {:?}\n", message);
        co_await stream.write(message + "\n");                                   // writer.write(...)
        const std::string reply = co_await corio::wait_for(stream.read_until("\n"), 5s);  // await reader.readline()
        fmt::print("Received: {:?}\n", reply);
        ok = ok && reply == message + "\n";
    }
    stream.shutdown_write();  // tell the server we are done; it then closes too
    co_return ok;
}

corio::task<int> main_task(std::optional<std::string> host, std::uint16_t port, std::vector<std::string> messages) {
    std::optional<corio::tcp_server> embedded;
    if (!host) {
        embedded.emplace(co_await corio::start_server(echo_lines, "127.0.0.1", 0));
        host = "127.0.0.1";
        port = embedded->port();
        fmt::print("No address given: embedded echo server on {}:{}\n", *host, port);
    }
    bool ok = false;
    try {
        ok = co_await talk(*host, port, messages);
    } catch (const corio::resolve_error& error) {
        fmt::print(stderr, "cannot resolve {}: {}\n", error.host(), error.what());
    } catch (const std::system_error& error) {
        fmt::print(stderr, "{}\n", error.what());  // "connect 127.0.0.1:9: Connection refused"
    } catch (const corio::timeout_error&) {
        fmt::print(stderr, "the server did not answer in time\n");
    }
    if (embedded) {
        co_await embedded->shutdown(1s);
    }
    co_return ok ? 0 : 1;
}

int main(int argc, char** argv) {
    std::vector<std::string> positional;
    for (int i = 1; i < argc; ++i) {
        if (std::string_view(argv[i]) != "--quick") {
            positional.emplace_back(argv[i]);
        }
    }
    std::optional<std::string> host;
    std::uint16_t port = 0;
    std::vector<std::string> messages;
    std::size_t first_message = 0;
    if (positional.size() >= 2 && positional[1].find_first_not_of("0123456789") == std::string::npos) {
        host = positional[0];
        port = static_cast<std::uint16_t>(std::stoi(positional[1]));
        first_message = 2;
    }
    messages.assign(positional.begin() + static_cast<std::ptrdiff_t>(first_message), positional.end());
    if (messages.empty()) {
        messages = {"Hello World!", "How are you?"};
    }
    try {
        return corio::run(main_task(host, port, messages));
    } catch (const std::exception& error) {
        fmt::print(stderr, "10_echo_client: {}\n", error.what());
        return 1;
    }
}
