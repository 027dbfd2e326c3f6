// Tests of corio/net/udp.hpp: corio::udp_socket.
#include <corio/net.hpp>
#include <corio/run.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>

#include "catch.hpp"
#include "test_support.hpp"

#include <array>
#include <cstddef>
#include <string>
#include <system_error>

using namespace std::chrono_literals;
using corio_test::run_with_watchdog;

namespace {

std::string text(const std::array<std::byte, 2048>& buffer, std::size_t size) {
    return std::string(reinterpret_cast<const char*>(buffer.data()), size);
}

}  // namespace

TEST_CASE("Datagrams go both ways between a bound and a connected socket", "[udp]") {
    auto body = []() -> corio::task<void> {
        auto server = co_await corio::udp_socket::bind("127.0.0.1", 0);
        const corio::endpoint server_address = server.local_endpoint();
        CHECK(server_address.port != 0);
        auto client = co_await corio::udp_socket::connect("127.0.0.1", server_address.port);
        CHECK(client.remote_endpoint() == server_address);

        std::array<std::byte, 2048> buffer{};
        auto receiver = [&]() -> corio::task<corio::datagram_info> { co_return co_await server.receive_from(buffer); };
        auto pending = corio::create_task(receiver());
        co_await corio::sleep(5ms);
        CHECK(server.receive_pending());  // waiting, nothing sent yet
        co_await client.send("ping");
        const corio::datagram_info info = co_await pending;
        CHECK(text(buffer, info.size) == "ping");
        CHECK(info.sender == client.local_endpoint());

        co_await server.send_to("pong", info.sender);
        std::array<std::byte, 2048> reply{};
        const std::size_t n = co_await client.receive(reply);
        CHECK(text(reply, n) == "pong");
    };
    run_with_watchdog(body());
}

TEST_CASE("A receive that never completes times out under wait_for and the socket keeps working", "[udp]") {
    auto body = []() -> corio::task<void> {
        auto socket = co_await corio::udp_socket::bind("127.0.0.1", 0);
        std::array<std::byte, 2048> buffer{};
        bool timed_out = false;
        try {
            (void)co_await corio::wait_for(socket.receive_from(buffer), 30ms);
        } catch (const corio::timeout_error&) {
            timed_out = true;
        }
        CHECK(timed_out);
        CHECK_FALSE(socket.receive_pending());
        auto sender = co_await corio::udp_socket::bind("127.0.0.1", 0);
        co_await sender.send_to("later", socket.local_endpoint());
        const corio::datagram_info info = co_await socket.receive_from(buffer);
        CHECK(text(buffer, info.size) == "later");
    };
    run_with_watchdog(body());
}

TEST_CASE("close() wakes a pending receive with stream_closed", "[udp]") {
    auto body = []() -> corio::task<bool> {
        auto socket = co_await corio::udp_socket::bind("127.0.0.1", 0);
        std::array<std::byte, 2048> buffer{};
        auto receiver = [&]() -> corio::task<bool> {
            try {
                (void)co_await socket.receive_from(buffer);
            } catch (const corio::stream_closed&) {
                co_return true;
            }
            co_return false;
        };
        auto pending = corio::create_task(receiver());
        co_await corio::sleep(5ms);
        socket.close();
        co_return co_await pending;
    };
    CHECK(run_with_watchdog(body()));
}

TEST_CASE("Sending to a closed port reports ECONNREFUSED on a connected socket", "[udp]") {
    auto body = []() -> corio::task<int> {
        std::uint16_t port = 0;
        {
            auto probe = co_await corio::udp_socket::bind("127.0.0.1", 0);
            port = probe.local_endpoint().port;
        }
        auto client = co_await corio::udp_socket::connect("127.0.0.1", port);
        co_await client.send("anyone?");
        std::array<std::byte, 2048> buffer{};
        int code = 0;
        try {
            (void)co_await corio::wait_for(client.receive(buffer), 1s);
        } catch (const std::system_error& error) {
            code = error.code().value();
        }
        co_return code;
    };
    CHECK(run_with_watchdog(body()) == ECONNREFUSED);
}
