// Tests of corio/net/unix.hpp: Unix domain stream sockets.
#include <corio/net/detail/socket.hpp>
#include <corio/net.hpp>
#include <corio/run.hpp>
#include <corio/sleep.hpp>

#include "catch.hpp"
#include "test_support.hpp"

#include <cstdio>
#include <string>
#include <system_error>
#include <unistd.h>

using namespace std::chrono_literals;
using corio_test::run_with_watchdog;

namespace {

std::string socket_path(const char* name) {
    return "/tmp/corio_test_" + std::to_string(::getpid()) + "_" + name + ".sock";
}

corio::task<void> echo_lines(corio::unix_stream stream) {
    for (;;) {
        std::string chunk = co_await stream.read();
        if (chunk.empty()) {
            break;
        }
        co_await stream.write(chunk);
    }
}

}  // namespace

TEST_CASE("A Unix socket server echoes data and removes its socket file on close", "[unix]") {
    const std::string path = socket_path("echo");
    auto body = [&]() -> corio::task<std::string> {
        auto server = co_await corio::start_unix_server(echo_lines, path);
        CHECK(corio::detail::is_socket_file(path));
        CHECK(server.port() == 0);
        CHECK(server.endpoints().front().to_string() == path);
        auto client = co_await corio::open_unix_connection(path);
        CHECK(client.remote_endpoint().family == corio::address_family::unix_path);
        CHECK(client.remote_endpoint().address == path);
        const std::string payload(300'000, 'u');
        co_await client.write(payload);
        client.shutdown_write();
        std::string back;
        for (;;) {
            std::string chunk = co_await client.read();
            if (chunk.empty()) {
                break;
            }
            back += chunk;
        }
        co_await server.shutdown(1s);
        CHECK_FALSE(corio::detail::is_socket_file(path));
        co_return back == payload ? "ok" : "mismatch";
    };
    CHECK(run_with_watchdog(body()) == "ok");
}

TEST_CASE("A stale socket file is replaced, a missing one refuses connections", "[unix]") {
    const std::string path = socket_path("stale");
    auto body = [&]() -> corio::task<void> {
        {
            // Leaves a socket file behind, as a crashed server would.
            auto fd = corio::detail::open_socket(corio::detail::family_unix(), corio::detail::socket_type_stream(), {});
            corio::detail::bind_socket(fd.get(), corio::detail::unix_address(path), path);
        }
        CHECK(corio::detail::is_socket_file(path));
        auto server = co_await corio::start_unix_server(echo_lines, path);
        auto client = co_await corio::open_unix_connection(path);
        co_await client.write("x");
        const std::string back = co_await client.read_exactly(1);
        CHECK(back == "x");
        client.close();
        co_await server.shutdown(1s);
        std::string what;
        try {
            (void)co_await corio::open_unix_connection(path);
        } catch (const std::system_error& error) {
            CHECK(error.code().value() == ENOENT);
            what = error.what();
        }
        CHECK(what.rfind("connect " + path, 0) == 0);
    };
    run_with_watchdog(body());
}

TEST_CASE("Cancelling a pending read on a Unix stream unregisters it", "[unix]") {
    const std::string path = socket_path("cancel");
    auto body = [&]() -> corio::task<void> {
        auto quiet = [](corio::unix_stream s) -> corio::task<void> {
            (void)co_await s.read_until("\n");
            co_await s.write("late\n");
        };
        auto server = co_await corio::start_unix_server(quiet, path);
        auto client = co_await corio::open_unix_connection(path);
        bool timed_out = false;
        try {
            (void)co_await corio::wait_for(client.read(), 30ms);
        } catch (const corio::timeout_error&) {
            timed_out = true;
        }
        CHECK(timed_out);
        CHECK_FALSE(client.read_pending());
        co_await client.write("now\n");
        const std::string reply = co_await client.read_until("\n");
        CHECK(reply == "late\n");
        co_await server.shutdown(1s);
    };
    run_with_watchdog(body());
}
