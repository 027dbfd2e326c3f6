// Tests of corio/net/tcp.hpp and corio/net/stream.hpp: TCP streams, open_connection, errors.
#include <corio/net/detail/socket.hpp>
#include <corio/net.hpp>
#include <corio/run.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>

#include "catch.hpp"
#include "test_support.hpp"

#include <array>
#include <cerrno>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

using namespace std::chrono_literals;
using corio_test::pattern;
using corio_test::run_with_watchdog;

namespace {

// Echoes everything until EOF, then closes.
corio::task<void> echo(corio::tcp_stream stream) {
    std::vector<std::byte> buffer(16 * 1024);
    for (;;) {
        const std::size_t n = co_await stream.read_some(buffer);
        if (n == 0) {
            break;
        }
        co_await stream.write(std::span<const std::byte>(buffer.data(), n));
    }
}

// A port with nothing listening: bound by a server that is then closed.
corio::task<std::uint16_t> free_port() {
    auto server = co_await corio::start_server(echo, "127.0.0.1", 0);
    const std::uint16_t port = server.port();
    server.close();
    co_return port;
}

}  // namespace

TEST_CASE("A multi-megabyte payload round-trips through an echo server with partial reads and writes",
          "[tcp]") {
    const std::string payload = pattern(corio_test::under_sanitizer ? 2'000'000 : 8'000'000);
    auto body = [&]() -> corio::task<std::string> {
        auto server = co_await corio::start_server(echo, "127.0.0.1", 0);
        auto client = co_await corio::open_connection("127.0.0.1", server.port());
        // Small kernel buffers force many partial sends and short reads (much
        // smaller ones make loopback TCP stall on zero-window probes).
        corio::detail::set_send_buffer(client.native_handle(), 16384);
        corio::detail::set_receive_buffer(client.native_handle(), 32768);
        auto writer = [&]() -> corio::task<void> {
            co_await client.write(payload);
            client.shutdown_write();
        };
        auto reader = [&]() -> corio::task<std::string> {
            std::string received;
            for (;;) {
                std::string chunk = co_await client.read(7000);
                if (chunk.empty()) {
                    co_return received;
                }
                received += chunk;
            }
        };
        auto [ignored, received] = co_await corio::gather(writer(), reader());
        co_await server.shutdown(1s);
        co_return received;
    };
    const std::string received = run_with_watchdog(body(), 20s);
    REQUIRE(received.size() == payload.size());
    REQUIRE(received == payload);
}

TEST_CASE("read_exactly returns exactly n bytes, or incomplete_read with the partial data at EOF", "[tcp]") {
    auto body = []() -> corio::task<void> {
        auto sender = [](corio::tcp_stream s) -> corio::task<void> {
            co_await s.write("abc");
            co_await corio::sleep(20ms);
            co_await s.write("defgh");
        };
        auto server = co_await corio::start_server(sender, "127.0.0.1", 0);
        auto client = co_await corio::open_connection("127.0.0.1", server.port());
        const auto got1 = co_await client.read_exactly(0);
        CHECK(got1 == "");
        const auto got2 = co_await client.read_exactly(5);
        CHECK(got2 == "abcde");  // spans two writes
        bool thrown = false;
        try {
            (void)co_await client.read_exactly(10);
        } catch (const corio::incomplete_read& error) {
            thrown = true;
            CHECK(error.partial() == "fgh");
            CHECK(error.expected() == 10);
        }
        CHECK(thrown);
        const auto got3 = co_await client.read();
        CHECK(got3 == "");  // EOF stays EOF
        server.close();
        co_await server.wait_closed();
    };
    run_with_watchdog(body());
}

TEST_CASE("read_until finds a delimiter split across reads and keeps the bytes after it", "[tcp]") {
    auto body = []() -> corio::task<void> {
        auto sender = [](corio::tcp_stream s) -> corio::task<void> {
            co_await s.write("first\r");
            co_await corio::sleep(20ms);
            co_await s.write("\nsecond\r\nthi");
            co_await corio::sleep(20ms);
            co_await s.write("rd\r\ntail");
        };
        auto server = co_await corio::start_server(sender, "127.0.0.1", 0);
        auto client = co_await corio::open_connection("127.0.0.1", server.port());
        const auto got4 = co_await client.read_until("\r\n");
        CHECK(got4 == "first\r\n");
        const auto got5 = co_await client.read_until("\r\n");
        CHECK(got5 == "second\r\n");
        CHECK(client.buffered() == 3);  // "thi" arrived with "second"
        const auto got6 = co_await client.read_until("\r\n");
        CHECK(got6 == "third\r\n");
        // EOF before another delimiter: incomplete_read with the rest.
        bool thrown = false;
        try {
            (void)co_await client.read_until("\r\n");
        } catch (const corio::incomplete_read& error) {
            thrown = true;
            CHECK(error.partial() == "tail");
        }
        CHECK(thrown);
        server.close();
    };
    run_with_watchdog(body());
}

TEST_CASE("read_until past its limit throws limit_overrun and leaves the data buffered", "[tcp]") {
    auto body = []() -> corio::task<void> {
        auto sender = [](corio::tcp_stream s) -> corio::task<void> {
            co_await s.write(std::string(100, 'x') + "\nshort\n");
        };
        auto server = co_await corio::start_server(sender, "127.0.0.1", 0);
        auto client = co_await corio::open_connection("127.0.0.1", server.port());
        bool thrown = false;
        try {
            (void)co_await client.read_until("\n", 50);
        } catch (const corio::limit_overrun& error) {
            thrown = true;
            CHECK(error.limit() == 50);
            CHECK(error.buffered() >= 50);
        }
        CHECK(thrown);
        const auto got7 = co_await client.read_exactly(100);
        CHECK(got7 == std::string(100, 'x'));
        const auto got8 = co_await client.read_until("\n", 50);
        CHECK(got8 == "\n");
        const auto got9 = co_await client.read_until("\n", 6);
        CHECK(got9 == "short\n");  // exactly at the limit
        server.close();
    };
    run_with_watchdog(body());
}

TEST_CASE("Connecting to a port nobody listens on throws system_error naming the peer", "[tcp]") {
    auto body = []() -> corio::task<void> {
        const std::uint16_t port = co_await free_port();
        bool thrown = false;
        try {
            (void)co_await corio::open_connection("127.0.0.1", port);
        } catch (const std::system_error& error) {
            thrown = true;
            CHECK(error.code().value() == ECONNREFUSED);
            CHECK(std::string(error.what()) ==
                  "connect 127.0.0.1:" + std::to_string(port) + ": Connection refused");
        }
        CHECK(thrown);
    };
    run_with_watchdog(body());
}

TEST_CASE("A name that does not resolve throws resolve_error carrying the name", "[tcp][threads]") {
    auto body = []() -> corio::task<void> {
        bool thrown = false;
        try {
            (void)co_await corio::open_connection("does-not-exist.invalid", 80);
        } catch (const corio::resolve_error& error) {
            thrown = true;
            CHECK(error.host() == "does-not-exist.invalid");
            CHECK(std::string(error.what()).find("does-not-exist.invalid") != std::string::npos);
        }
        CHECK(thrown);
    };
    run_with_watchdog(body(), 15s);
}

TEST_CASE("A name is resolved off the loop and connected to", "[tcp][threads]") {
    auto body = []() -> corio::task<std::string> {
        auto server = co_await corio::start_server(echo, "127.0.0.1", 0);
        // localhost may resolve to ::1 first, where nothing listens: the next address is tried.
        auto client = co_await corio::open_connection("localhost", server.port());
        co_await client.write("ping");
        std::string reply = co_await client.read_exactly(4);
        client.close();
        co_await server.shutdown(1s);
        co_return reply;
    };
    CHECK(run_with_watchdog(body(), 15s) == "ping");
}

TEST_CASE("A peer reset in the middle of a read throws ECONNRESET naming the peer", "[tcp]") {
    auto body = []() -> corio::task<void> {
        auto resetter = [](corio::tcp_stream s) -> corio::task<void> {
            co_await s.write("partial");
            co_await corio::sleep(30ms);
            corio::detail::set_linger_abort(s.native_handle());
            s.close();  // RST instead of FIN
        };
        auto server = co_await corio::start_server(resetter, "127.0.0.1", 0);
        auto client = co_await corio::open_connection("127.0.0.1", server.port());
        const auto got10 = co_await client.read_exactly(7);
        CHECK(got10 == "partial");
        int code = 0;
        std::string what;
        try {
            (void)co_await client.read();  // pending when the RST arrives
        } catch (const std::system_error& error) {
            code = error.code().value();
            what = error.what();
        }
        CHECK(code == ECONNRESET);
        CHECK(what.rfind("recv 127.0.0.1:" + std::to_string(server.port()), 0) == 0);
        co_await server.shutdown(1s);
    };
    run_with_watchdog(body());
}

TEST_CASE("Half-close: the peer reads to EOF and can still answer", "[tcp]") {
    auto body = []() -> corio::task<std::string> {
        auto counter = [](corio::tcp_stream s) -> corio::task<void> {
            std::size_t total = 0;
            for (;;) {
                std::string chunk = co_await s.read();
                if (chunk.empty()) {
                    break;
                }
                total += chunk.size();
            }
            co_await s.write("got " + std::to_string(total));
        };
        auto server = co_await corio::start_server(counter, "127.0.0.1", 0);
        auto client = co_await corio::open_connection("127.0.0.1", server.port());
        co_await client.write(std::string(100'000, 'a'));
        client.shutdown_write();
        std::string reply;
        for (;;) {
            std::string chunk = co_await client.read();
            if (chunk.empty()) {
                break;
            }
            reply += chunk;
        }
        co_await server.shutdown(1s);
        co_return reply;
    };
    CHECK(run_with_watchdog(body()) == "got 100000");
}

TEST_CASE("wait_for on a read that never completes times out, unregisters, and the stream keeps working",
          "[tcp]") {
    auto body = []() -> corio::task<void> {
        auto quiet = [](corio::tcp_stream s) -> corio::task<void> {
            // Answers only once asked, after the client's first read timed out.
            std::string request = co_await s.read_until("\n");
            co_await s.write("late " + request);
        };
        auto server = co_await corio::start_server(quiet, "127.0.0.1", 0);
        auto client = co_await corio::open_connection("127.0.0.1", server.port());
        corio_test::stopwatch watch;
        bool timed_out = false;
        try {
            (void)co_await corio::wait_for(client.read(), 50ms);
        } catch (const corio::timeout_error&) {
            timed_out = true;
        }
        CHECK(timed_out);
        CHECK(watch.elapsed() >= 45ms);
        CHECK(watch.elapsed() < 2s);
        CHECK_FALSE(client.read_pending());
        co_await client.write("hi\n");
        const auto got11 = co_await client.read_exactly(8);
        CHECK(got11 == "late hi\n");
        co_await server.shutdown(1s);
    };
    run_with_watchdog(body());
}

TEST_CASE("Cancelling a task blocked in a write unregisters it, the stream can still be closed cleanly",
          "[tcp]") {
    auto body = []() -> corio::task<void> {
        corio::tcp_stream peer;
        bool accepted = false;
        auto holder = [&](corio::tcp_stream s) -> corio::task<void> {
            peer = std::move(s);  // never reads
            accepted = true;
            co_return;
        };
        auto server = co_await corio::start_server(holder, "127.0.0.1", 0);
        auto client = co_await corio::open_connection("127.0.0.1", server.port());
        corio::detail::set_send_buffer(client.native_handle(), 4096);
        const std::string big(8'000'000, 'z');
        auto writer = [&]() -> corio::task<void> { co_await client.write(big); };
        auto handle = corio::create_task(writer());
        while (!client.write_pending()) {
            co_await corio::sleep(5ms);
        }
        CHECK(accepted);
        handle.cancel();
        const bool cancelled = co_await corio_test::ended_cancelled(handle);
        CHECK(cancelled);
        CHECK_FALSE(client.write_pending());
        client.close();
        CHECK_FALSE(client.is_open());
        peer.close();
        co_await server.shutdown(1s);
    };
    run_with_watchdog(body());
}

TEST_CASE("close() wakes a pending read with stream_closed, not a cancellation", "[tcp]") {
    auto body = []() -> corio::task<void> {
        auto quiet = [](corio::tcp_stream s) -> corio::task<void> { (void)co_await s.read(); };
        auto server = co_await corio::start_server(quiet, "127.0.0.1", 0);
        auto client = co_await corio::open_connection("127.0.0.1", server.port());
        std::vector<std::string> log;
        auto reader = [&]() -> corio::task<void> {
            try {
                (void)co_await client.read();
                log.push_back("data");
            } catch (const corio::stream_closed& error) {
                log.push_back(std::string("closed: ") + error.what());
                CHECK(error.code() == std::errc::operation_canceled);
            } catch (const corio::cancelled_error&) {
                log.push_back("cancelled");
            }
        };
        auto handle = corio::create_task(reader());
        co_await corio::sleep(10ms);
        CHECK(client.read_pending());
        client.close();
        co_await handle;
        REQUIRE(log.size() == 1);
        CHECK(log[0].rfind("closed: recv 127.0.0.1:", 0) == 0);
        // Any operation on a closed stream throws stream_closed too.
        bool thrown = false;
        try {
            co_await client.write("x");
        } catch (const corio::stream_closed&) {
            thrown = true;
        }
        CHECK(thrown);
        co_await server.shutdown(1s);
    };
    run_with_watchdog(body());
}

TEST_CASE("Cancelling a task in a pending read throws cancelled_error and the data is not lost", "[tcp]") {
    auto body = []() -> corio::task<void> {
        auto talker = [](corio::tcp_stream s) -> corio::task<void> {
            (void)co_await s.read_until("\n");
            co_await s.write("data");
        };
        auto server = co_await corio::start_server(talker, "127.0.0.1", 0);
        auto client = co_await corio::open_connection("127.0.0.1", server.port());
        auto reader = [&]() -> corio::task<std::string> { co_return co_await client.read(); };
        auto handle = corio::create_task(reader());
        co_await corio::sleep(10ms);
        CHECK(client.read_pending());
        handle.cancel();
        bool cancelled = false;
        try {
            (void)co_await handle;
        } catch (const corio::cancelled_error&) {
            cancelled = true;
        }
        CHECK(cancelled);
        CHECK_FALSE(client.read_pending());
        co_await client.write("go\n");
        const auto got12 = co_await client.read_exactly(4);
        CHECK(got12 == "data");
        co_await server.shutdown(1s);
    };
    run_with_watchdog(body());
}

TEST_CASE("Cancelling a pending connect closes the half-open socket", "[tcp]") {
    // A listener that never accepts, with the smallest backlog: once its queue
    // is full the kernel drops further SYNs, so a connect stays pending.
    auto body = []() -> corio::task<int> {
        auto address = *corio::detail::parse_numeric("127.0.0.1", 0);
        corio::detail::unique_fd listener =
            corio::detail::open_socket(AF_INET, corio::detail::socket_type_stream(), {});
        corio::detail::bind_socket(listener.get(), address, {});
        corio::detail::listen_socket(listener.get(), 0, {});
        const auto port = corio::detail::to_endpoint(corio::detail::local_address(listener.get())).port;
        std::vector<corio::tcp_stream> connected;
        int timeouts = 0;
        for (int i = 0; i < 8 && timeouts == 0; ++i) {
            try {
                connected.push_back(co_await corio::wait_for(corio::open_connection("127.0.0.1", port), 100ms));
            } catch (const corio::timeout_error&) {
                ++timeouts;
            }
        }
        co_return timeouts;
    };
    CHECK(run_with_watchdog(body()) == 1);
}

TEST_CASE("Endpoints are formatted, TCP_NODELAY is on by default and keep-alive can be set", "[tcp]") {
    auto body = []() -> corio::task<void> {
        auto server = co_await corio::start_server(echo, "127.0.0.1", 0);
        auto client = co_await corio::open_connection("127.0.0.1", server.port());
        const corio::endpoint remote = client.remote_endpoint();
        CHECK(remote.address == "127.0.0.1");
        CHECK(remote.port == server.port());
        CHECK(remote.family == corio::address_family::ipv4);
        CHECK(remote.to_string() == "127.0.0.1:" + std::to_string(server.port()));
        const corio::endpoint local = client.local_endpoint();
        CHECK(local.address == "127.0.0.1");
        CHECK(local.port != 0);
        CHECK(client.nodelay());
        CHECK_FALSE(client.keepalive());
        client.set_keepalive(true);
        CHECK(client.keepalive());
        CHECK(corio::endpoint{"::1", 8080, corio::address_family::ipv6}.to_string() == "[::1]:8080");
        client.close();
        co_await server.shutdown(1s);
    };
    run_with_watchdog(body());
}

TEST_CASE("IPv6 loopback works where the machine has it", "[tcp]") {
    auto body = []() -> corio::task<bool> {
        std::optional<corio::tcp_server> server;
        try {
            server.emplace(co_await corio::start_server(echo, "::1", 0));
        } catch (const std::system_error& error) {
            corio_test::skip_test(std::string("IPv6 loopback unavailable: ") + error.what());
            co_return false;
        }
        auto client = co_await corio::open_connection("::1", server->port());
        CHECK(client.remote_endpoint().family == corio::address_family::ipv6);
        CHECK(client.remote_endpoint().to_string() == "[::1]:" + std::to_string(server->port()));
        co_await client.write("six");
        const auto got13 = co_await client.read_exactly(3);
        CHECK(got13 == "six");
        auto bracketed = co_await corio::open_connection("[::1]", server->port());
        co_await bracketed.write("!");
        const auto got14 = co_await bracketed.read_exactly(1);
        CHECK(got14 == "!");
        co_await server->shutdown(1s);
        co_return true;
    };
    (void)run_with_watchdog(body());
}

namespace {

using access = corio::detail::stream_socket_access;

std::span<const std::byte> bytes_of(std::string_view text) {
    return std::as_bytes(std::span<const char>(text.data(), text.size()));
}

// A client connected on loopback to a server that keeps its one accepted
// stream as `peer` (read only when a test says so), once that stream is open.
struct loopback_pair {
    corio::tcp_server server;
    corio::tcp_stream client;
    std::shared_ptr<corio::tcp_stream> peer;
};

corio::task<loopback_pair> open_loopback_pair() {
    auto peer = std::make_shared<corio::tcp_stream>();
    auto holder = [peer](corio::tcp_stream s) -> corio::task<void> {
        *peer = std::move(s);
        co_return;
    };
    auto server = co_await corio::start_server(holder, "127.0.0.1", 0);
    auto client = co_await corio::open_connection("127.0.0.1", server.port());
    while (!peer->is_open()) {
        co_await corio::sleep(1ms);
    }
    loopback_pair pair{std::move(server), std::move(client), std::move(peer)};
    co_return pair;
}

// Polls (through the loop, so readiness edges are seen) until `s` holds
// input or `limit` passes.
corio::task<void> until_input(corio::tcp_stream& s, std::chrono::milliseconds limit = 2s) {
    for (auto waited = 0ms; waited < limit && s.peek_input() == corio::detail::pending_input::nothing; waited += 2ms) {
        co_await corio::sleep(2ms);
    }
}

}  // namespace

TEST_CASE("send_now takes what one send accepts, write() finishes the rest after EAGAIN, in order", "[tcp]") {
    const std::string payload = pattern(4'000'000);
    auto body = [&]() -> corio::task<std::string> {
        loopback_pair pair = co_await open_loopback_pair();
        corio::tcp_server& server = pair.server;
        corio::tcp_stream& client = pair.client;
        corio::tcp_stream& peer = *pair.peer;
        corio::detail::set_send_buffer(client.native_handle(), 16384);
        CHECK(access::send_now(client, {}) == 0);
        const std::size_t first = access::send_now(client, bytes_of(payload));
        CHECK(first > 0);
        CHECK(first < payload.size());  // the kernel took part: the rest would block
        std::size_t sent = first;
        // Until the socket buffer is full: then send_now takes nothing (EAGAIN).
        for (std::size_t n = 1; n > 0;) {
            n = access::send_now(client, bytes_of(std::string_view(payload).substr(sent)));
            sent += n;
        }
        CHECK(sent < payload.size());
        const std::string_view rest = std::string_view(payload).substr(sent);
        auto writer = [&]() -> corio::task<void> {
            co_await client.write(rest);
            client.shutdown_write();
        };
        auto handle = corio::create_task(writer());
        co_await corio::sleep(5ms);
        CHECK(client.write_pending());
        std::string received;
        for (;;) {
            std::string chunk = co_await peer.read(64 * 1024);
            if (chunk.empty()) {
                break;
            }
            received += chunk;
        }
        co_await handle;
        peer.close();
        co_await server.shutdown(1s);
        co_return received;
    };
    const std::string received = corio_test::run_with_watchdog_on(corio::io_backend::epoll, body(), 20s);
    REQUIRE(received.size() == payload.size());
    REQUIRE(received == payload);
}

TEST_CASE("receive_now returns bytes already there, nullopt when a read would wait, 0 at the end", "[tcp]") {
    auto body = []() -> corio::task<void> {
        loopback_pair pair = co_await open_loopback_pair();
        corio::tcp_server& server = pair.server;
        corio::tcp_stream& client = pair.client;
        corio::tcp_stream& peer = *pair.peer;
        std::array<std::byte, 64> buffer{};
        CHECK_FALSE(access::receive_now(client, buffer).has_value());  // nothing sent yet
        CHECK(access::receive_now(client, std::span<std::byte>()) == std::optional<std::size_t>(0));

        co_await peer.write("hello");
        co_await until_input(client);
        std::optional<std::size_t> got = access::receive_now(client, buffer);
        REQUIRE(got.has_value());
        CHECK(std::string(reinterpret_cast<const char*>(buffer.data()), *got) == "hello");
        // After a short read the socket is known empty: no recv, nothing.
        CHECK_FALSE(access::receive_now(client, buffer).has_value());
        CHECK_FALSE(client.read_pending());

        // Bytes that arrive later raise an edge: the fast path takes them.
        co_await peer.write("more");
        co_await until_input(client);
        co_await corio::sleep(5ms);  // the loop sees the readiness edge
        got = access::receive_now(client, buffer);
        REQUIRE(got.has_value());
        CHECK(std::string(reinterpret_cast<const char*>(buffer.data()), *got) == "more");

        // A read left to the coroutine still gets what comes next.
        CHECK_FALSE(access::receive_now(client, buffer).has_value());
        auto reader = [&]() -> corio::task<std::string> { co_return co_await client.read(); };
        auto handle = corio::create_task(reader());
        co_await corio::sleep(5ms);
        CHECK(client.read_pending());
        co_await peer.write("late");
        const std::string late = co_await handle;
        CHECK(late == "late");

        // Bytes buffered by read_until come first, without the socket.
        co_await peer.write("line\nrest");
        const std::string line = co_await client.read_until("\n");
        CHECK(line == "line\n");
        std::string rest;
        while (rest.size() < 4) {
            co_await until_input(client);
            got = access::receive_now(client, buffer);
            if (got) {
                rest.append(reinterpret_cast<const char*>(buffer.data()), *got);
            }
        }
        CHECK(rest == "rest");

        peer.close();
        co_await until_input(client);
        co_await corio::sleep(5ms);
        got = access::receive_now(client, buffer);
        REQUIRE(got.has_value());
        CHECK(*got == 0);  // end of stream

        client.close();
        bool closed = false;
        try {
            (void)access::receive_now(client, buffer);
        } catch (const corio::stream_closed&) {
            closed = true;
        }
        CHECK(closed);
        closed = false;
        try {
            (void)access::send_now(client, bytes_of("x"));
        } catch (const corio::stream_closed&) {
            closed = true;
        }
        CHECK(closed);
        co_await server.shutdown(1s);
    };
    corio_test::run_with_watchdog_on(corio::io_backend::epoll, body());
}

TEST_CASE("The fast paths to a reset peer throw ECONNRESET or EPIPE naming the operation and peer", "[tcp]") {
    auto body = []() -> corio::task<void> {
        loopback_pair pair = co_await open_loopback_pair();
        corio::tcp_server& server = pair.server;
        corio::tcp_stream& client = pair.client;
        corio::tcp_stream& peer = *pair.peer;
        corio::detail::set_linger_abort(peer.native_handle());
        peer.close();  // RST
        // Not until_input: its MSG_PEEK would take the pending error.
        co_await corio::sleep(50ms);
        std::array<std::byte, 16> buffer{};
        int code = 0;
        std::string what;
        try {
            (void)access::receive_now(client, buffer);
        } catch (const std::system_error& error) {
            code = error.code().value();
            what = error.what();
        }
        CHECK(code == ECONNRESET);
        CHECK(what.rfind("recv 127.0.0.1:" + std::to_string(server.port()), 0) == 0);
        // The reset is reported once: the sends after it see EPIPE.
        code = 0;
        what.clear();
        try {
            for (int i = 0; i < 3; ++i) {
                (void)access::send_now(client, bytes_of("payload"));
            }
        } catch (const std::system_error& error) {
            code = error.code().value();
            what = error.what();
        }
        CHECK((code == EPIPE || code == ECONNRESET));
        CHECK(what.rfind("send 127.0.0.1:" + std::to_string(server.port()), 0) == 0);
        co_await server.shutdown(1s);
    };
    corio_test::run_with_watchdog_on(corio::io_backend::epoll, body());
}

TEST_CASE("input_edge waits in the caller for the bytes receive_now then takes, and wakes with stream_closed or "
          "a cancellation that loses nothing",
          "[tcp]") {
    auto body = []() -> corio::task<void> {
        loopback_pair pair = co_await open_loopback_pair();
        corio::tcp_server& server = pair.server;
        corio::tcp_stream& client = pair.client;
        corio::tcp_stream& peer = *pair.peer;
        REQUIRE(access::reads_by_readiness(client));
        std::array<std::byte, 64> buffer{};
        // read_some's protocol in the caller: receive_now, and while it says
        // nullopt, wait for the edge.
        auto read_by_edge = [&]() -> corio::task<std::string> {
            std::optional<std::size_t> got = access::receive_now(client, buffer);
            while (!got) {
                co_await access::input_edge(client);
                got = access::receive_now(client, buffer);
            }
            co_return std::string(reinterpret_cast<const char*>(buffer.data()), *got);
        };
        auto first = corio::create_task(read_by_edge());
        co_await corio::sleep(5ms);
        CHECK(client.read_pending());
        co_await peer.write("one");
        const std::string one = co_await first;
        CHECK(one == "one");
        // After that short read the next one waits first, then gets what comes.
        auto second = corio::create_task(read_by_edge());
        co_await corio::sleep(5ms);
        CHECK(client.read_pending());
        co_await peer.write("two");
        const std::string two = co_await second;
        CHECK(two == "two");

        // Cancelled while waiting: cancelled_error, and the bytes stay for the next read.
        auto cancelled_read = corio::create_task(read_by_edge());
        co_await corio::sleep(5ms);
        CHECK(client.read_pending());
        cancelled_read.cancel();
        const bool cancelled = co_await corio_test::ended_cancelled(cancelled_read);
        CHECK(cancelled);
        CHECK_FALSE(client.read_pending());
        co_await peer.write("three");
        const std::string three = co_await client.read_exactly(5);
        CHECK(three == "three");

        // close() while waiting: stream_closed naming the read and the peer.
        std::string what;
        auto closed_read = [&]() -> corio::task<void> {
            try {
                (void)co_await read_by_edge();
            } catch (const corio::stream_closed& error) {
                what = error.what();
            }
        };
        auto handle = corio::create_task(closed_read());
        co_await corio::sleep(5ms);
        CHECK(client.read_pending());
        client.close();
        co_await handle;
        CHECK(what.rfind("recv 127.0.0.1:" + std::to_string(server.port()), 0) == 0);
        peer.close();
        co_await server.shutdown(1s);
    };
    corio_test::run_with_watchdog_on(corio::io_backend::epoll, body());
}
