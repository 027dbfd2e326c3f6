// Tests of corio/net/server.hpp: start_server / tcp_server, graceful shutdown.
#include <corio/net/detail/socket.hpp>
#include <corio/invoke.hpp>
#include <corio/net.hpp>
#include <corio/run.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>

#include "catch.hpp"
#include "fd_exhaustion.hpp"
#include "test_support.hpp"

#include <sys/resource.h>

#include <optional>
#include <string>
#include <system_error>
#include <vector>

using namespace std::chrono_literals;
using corio_test::run_with_watchdog;

namespace {

// Reads one line, answers it uppercased-by-prefix, closes.
corio::task<void> answer_line(corio::tcp_stream stream) {
    std::string line = co_await stream.read_until("\n");
    co_await stream.write("echo:" + line);
}

// Echoes lines until the client closes.
corio::task<void> echo_lines(corio::tcp_stream stream) {
    for (;;) {
        bool ended = false;
        try {
            const std::string line = co_await stream.read_until("\n");
            co_await stream.write(line);
        } catch (const std::exception&) {
            ended = true;  // EOF mid-line, or a reset
        }
        if (ended) {
            break;
        }
    }
}

// CPU time (user + system) this process has used.
std::chrono::microseconds cpu_time() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return std::chrono::seconds(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           std::chrono::microseconds(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

corio::task<bool> refused(std::uint16_t port) {
    bool result = false;
    try {
        (void)co_await corio::open_connection("127.0.0.1", port);
    } catch (const std::system_error& error) {
        result = error.code().value() == ECONNREFUSED;
    }
    co_return result;
}

}  // namespace

TEST_CASE("2,000 concurrent connections through one server get every byte back", "[tcp_server]") {
    constexpr int connections = 2000;
    auto body = []() -> corio::task<int> {
        corio::server_options options;
        options.backlog = 4096;
        auto echo_all = [](corio::tcp_stream s) -> corio::task<void> {
            for (;;) {
                std::string chunk = co_await s.read();
                if (chunk.empty()) {
                    break;
                }
                co_await s.write(chunk);
            }
        };
        auto server = co_await corio::start_server(echo_all, "127.0.0.1", 0, options);
        const std::uint16_t port = server.port();
        auto client = [port](int i) -> corio::task<int> {
            auto stream = co_await corio::open_connection("127.0.0.1", port);
            std::string message(1000 + i % 997, static_cast<char>('a' + i % 26));
            message += "#" + std::to_string(i);
            co_await stream.write(message);
            stream.shutdown_write();
            std::string back;
            for (;;) {
                std::string chunk = co_await stream.read();
                if (chunk.empty()) {
                    break;
                }
                back += chunk;
            }
            co_return back == message ? 1 : 0;
        };
        std::vector<corio::task<int>> clients;
        for (int i = 0; i < connections; ++i) {
            clients.push_back(corio::invoke(client, i));
        }
        std::vector<int> ok = co_await corio::gather(std::move(clients));
        co_await server.shutdown(1s);
        int total = 0;
        for (int v : ok) {
            total += v;
        }
        co_return total;
    };
    corio_test::stopwatch watch;
    CHECK(run_with_watchdog(body(), 30s) == connections);
    CHECK(watch.elapsed() < 10s);
}

TEST_CASE("An exception in one handler is reported and the server keeps serving", "[tcp_server]") {
    std::vector<std::string> reports;
    auto body = [&]() -> corio::task<std::string> {
        corio_test::record_loop_exceptions(reports);
        auto picky = [](corio::tcp_stream s) -> corio::task<void> {
            std::string line = co_await s.read_until("\n");
            if (line == "bad\n") {
                throw std::runtime_error("handler refused");
            }
            co_await s.write("fine\n");
        };
        auto server = co_await corio::start_server(picky, "127.0.0.1", 0);
        {
            auto bad = co_await corio::open_connection("127.0.0.1", server.port());
            co_await bad.write("bad\n");
            std::string rest = co_await bad.read();  // the handler's stream closed: EOF
            CHECK(rest.empty());
        }
        auto good = co_await corio::open_connection("127.0.0.1", server.port());
        co_await good.write("good\n");
        std::string reply = co_await good.read_until("\n");
        co_await server.shutdown(1s);
        co_return reply;
    };
    CHECK(run_with_watchdog(body()) == "fine\n");
    REQUIRE(reports.size() == 1);
    CHECK(reports[0].find("handler refused") != std::string::npos);
    CHECK(reports[0].find("127.0.0.1:") != std::string::npos);
}

TEST_CASE("shutdown lets a handler in flight finish within the grace period and cancels the others",
          "[tcp_server]") {
    std::vector<std::string> log;
    auto body = [&]() -> corio::task<void> {
        auto handler = [&log](corio::tcp_stream s) -> corio::task<void> {
            std::string kind = co_await s.read_until("\n");
            try {
                if (kind == "quick\n") {
                    co_await corio::sleep(30ms);
                    co_await s.write("done\n");
                    log.push_back("quick finished");
                } else {
                    co_await corio::sleep(10s);
                    log.push_back("slow finished");
                }
            } catch (const corio::cancelled_error&) {
                log.push_back("slow cancelled");
                throw;
            }
        };
        auto server = co_await corio::start_server(handler, "127.0.0.1", 0);
        const std::uint16_t port = server.port();
        auto quick = co_await corio::open_connection("127.0.0.1", port);
        auto slow = co_await corio::open_connection("127.0.0.1", port);
        co_await quick.write("quick\n");
        co_await slow.write("slow\n");
        co_await corio::sleep(10ms);
        CHECK(server.active_connections() == 2);
        corio_test::stopwatch watch;
        co_await server.shutdown(150ms);
        log.push_back("shutdown returned");
        CHECK(watch.elapsed() >= 140ms);
        CHECK(watch.elapsed() < 2s);
        CHECK(server.active_connections() == 0);
        std::string reply = co_await quick.read_until("\n");
        CHECK(reply == "done\n");
        std::string eof = co_await slow.read();
        CHECK(eof.empty());
        const bool new_connection_refused = co_await refused(port);
        CHECK(new_connection_refused);
    };
    run_with_watchdog(body());
    CHECK(log == std::vector<std::string>{"quick finished", "slow cancelled", "shutdown returned"});
}

TEST_CASE("close stops accepting, and wait_closed waits for the handlers in flight", "[tcp_server]") {
    std::vector<std::string> log;
    auto body = [&]() -> corio::task<void> {
        auto handler = [&log](corio::tcp_stream s) -> corio::task<void> {
            (void)co_await s.read_until("\n");
            co_await corio::sleep(40ms);
            log.push_back("handler done");
        };
        auto server = co_await corio::start_server(handler, "127.0.0.1", 0);
        auto client = co_await corio::open_connection("127.0.0.1", server.port());
        co_await client.write("go\n");
        co_await corio::sleep(5ms);
        server.close();
        CHECK_FALSE(server.is_serving());
        const bool refused_now = co_await refused(server.port());
        CHECK(refused_now);
        co_await server.wait_closed();
        log.push_back("wait_closed returned");
    };
    run_with_watchdog(body());
    CHECK(log == std::vector<std::string>{"handler done", "wait_closed returned"});
}

TEST_CASE("serve_forever returns on close, and cancelling it closes the server", "[tcp_server]") {
    auto body = []() -> corio::task<void> {
        auto server = co_await corio::start_server(answer_line, "127.0.0.1", 0);
        auto closer = [&]() -> corio::task<void> {
            co_await corio::sleep(20ms);
            server.close();
        };
        auto handle = corio::create_task(closer());
        co_await server.serve_forever();
        CHECK(handle.done());

        auto second = co_await corio::start_server(answer_line, "127.0.0.1", 0);
        auto serving = corio::create_task(second.serve_forever());
        co_await corio::sleep(10ms);
        auto client = co_await corio::open_connection("127.0.0.1", second.port());
        co_await client.write("x\n");
        std::string reply = co_await client.read_until("\n");
        CHECK(reply == "echo:x\n");
        serving.cancel();
        const bool cancelled = co_await corio_test::ended_cancelled(serving);
        CHECK(cancelled);
        CHECK_FALSE(second.is_serving());
        co_await second.wait_closed();
    };
    run_with_watchdog(body());
}

TEST_CASE("Closing a server cancels its pending accept and frees the port", "[tcp_server]") {
    auto body = []() -> corio::task<void> {
        auto server = co_await corio::start_server(answer_line, "127.0.0.1", 0);
        const std::uint16_t port = server.port();
        co_await corio::sleep(5ms);  // the accept task is now waiting for readiness
        server.close();
        co_await server.wait_closed();
        CHECK(corio::get_running_loop().pending_tasks() == 1);  // only this test's task
        auto again = co_await corio::start_server(answer_line, "127.0.0.1", port);
        CHECK(again.port() == port);
        auto client = co_await corio::open_connection("127.0.0.1", port);
        co_await client.write("y\n");
        std::string reply = co_await client.read_until("\n");
        CHECK(reply == "echo:y\n");
        co_await again.shutdown(1s);
    };
    run_with_watchdog(body());
}

TEST_CASE("reuse_port lets two servers share one port", "[tcp_server]") {
    auto body = []() -> corio::task<void> {
        corio::server_options options;
        options.reuse_port = true;
        auto first = co_await corio::start_server(answer_line, "127.0.0.1", 0, options);
        auto second = co_await corio::start_server(answer_line, "127.0.0.1", first.port(), options);
        CHECK(second.port() == first.port());
        for (int i = 0; i < 4; ++i) {
            auto client = co_await corio::open_connection("127.0.0.1", first.port());
            co_await client.write("z\n");
            std::string reply = co_await client.read_until("\n");
            CHECK(reply == "echo:z\n");
        }
        first.close();
        co_await second.shutdown(1s);
        co_await first.wait_closed();
    };
    run_with_watchdog(body());
}

TEST_CASE("Binding a port in use throws system_error naming the address", "[tcp_server]") {
    auto body = []() -> corio::task<void> {
        auto server = co_await corio::start_server(answer_line, "127.0.0.1", 0);
        std::string what;
        try {
            (void)co_await corio::start_server(answer_line, "127.0.0.1", server.port());
        } catch (const std::system_error& error) {
            CHECK(error.code().value() == EADDRINUSE);
            what = error.what();
        }
        CHECK(what.rfind("bind 127.0.0.1:" + std::to_string(server.port()), 0) == 0);
        server.close();
    };
    run_with_watchdog(body());
}

TEST_CASE("A server still open when corio::run ends is torn down with its connections", "[tcp_server]") {
    auto body = []() -> corio::task<void> {
        auto hold = [](corio::tcp_stream s) -> corio::task<void> { (void)co_await s.read(); };
        auto server = co_await corio::start_server(hold, "127.0.0.1", 0);
        auto client = co_await corio::open_connection("127.0.0.1", server.port());
        co_await corio::sleep(10ms);
        CHECK(server.active_connections() == 1);
        // Returning with the handler still blocked: run() cancels it.
    };
    run_with_watchdog(body());
}

TEST_CASE("Out of descriptors, the server serves its connections, reports rarely without spinning, and accepts "
          "again once descriptors are free",
          "[tcp_server]") {
    if (!corio_test::fd_exhaustion_testable) {
        WARN("skipped: the sanitizers' runtime cannot work without descriptors");
        return;
    }
    std::vector<std::string> reports;
    auto body = [&]() -> corio::task<void> {
        corio_test::record_loop_exceptions(reports);
        corio::server_options options;
        options.accept_backoff = 50ms;
        options.accept_error_report_interval = 400ms;
        auto server = co_await corio::start_server(echo_lines, "127.0.0.1", 0, options);
        auto existing = co_await corio::open_connection("127.0.0.1", server.port());
        co_await existing.write("one\n");
        const std::string first = co_await existing.read_until("\n");
        CHECK(first == "one\n");

        std::optional<corio_test::fd_exhaustion> exhausted(std::in_place);
        exhausted->free(1);  // room for the client's own socket, none for the server's accept
        auto waiting = co_await corio::open_connection("127.0.0.1", server.port());
        co_await waiting.write("two\n");

        // About a second of EMFILE: the open connection is still served, the
        // accept task backs off instead of spinning, reports are rationed.
        const auto cpu_before = cpu_time();
        corio_test::stopwatch clock;
        for (int i = 0; i < 5; ++i) {
            co_await corio::sleep(200ms);
            co_await existing.write("still\n");
            const std::string echoed = co_await corio::wait_for(existing.read_until("\n"), 1s);
            CHECK(echoed == "still\n");
        }
        const auto cpu_used = cpu_time() - cpu_before;
        const auto wall = clock.elapsed();
        CHECK(server.active_connections() == 1);
        CHECK(cpu_used < wall / 4);
        const std::size_t during = reports.size();
        CHECK(during >= 2);  // the first failure at once, one more per 400 ms
        CHECK(during <= 4);  // not one per 50 ms attempt (about 20)
        REQUIRE(!reports.empty());
        CHECK(reports[0].find("accept failed") != std::string::npos);
        CHECK(reports[0].find("Too many open files") != std::string::npos);
        if (during >= 2) {
            CHECK(reports[1].find("more failures since the last report") != std::string::npos);
        }

        // Descriptors free again: the waiting client is accepted within a backoff or so.
        exhausted.reset();
        clock.restart();
        const std::string answered = co_await corio::wait_for(waiting.read_until("\n"), 2s);
        CHECK(answered == "two\n");
        CHECK(clock.elapsed() < 500ms);
        CHECK(server.active_connections() == 2);
        if (reports.size() > during) {
            CHECK(reports.back().find("accepting again") != std::string::npos);
        }
        CHECK(reports.size() <= during + 1);
        waiting.close();
        existing.close();
        co_await server.shutdown(1s);
    };
    // The limit is lowered after the server started, which a multishot
    // accept (an io_uring loop's) does not see: the kernel takes the limit
    // when the accept is armed. test_reactor_io_uring has the ring's case.
    corio_test::run_with_watchdog_on(corio::io_backend::epoll, body());
}

TEST_CASE("Out of descriptors, a connection ending lets the server accept before the backoff is over",
          "[tcp_server]") {
    if (!corio_test::fd_exhaustion_testable) {
        WARN("skipped: the sanitizers' runtime cannot work without descriptors");
        return;
    }
    std::vector<std::string> reports;
    auto body = [&]() -> corio::task<void> {
        corio_test::record_loop_exceptions(reports);
        corio::server_options options;
        options.accept_backoff = 5s;  // far longer than the test waits
        auto server = co_await corio::start_server(echo_lines, "127.0.0.1", 0, options);
        auto existing = co_await corio::open_connection("127.0.0.1", server.port());
        co_await existing.write("one\n");
        const std::string first = co_await existing.read_until("\n");
        CHECK(first == "one\n");

        corio_test::fd_exhaustion exhausted;
        exhausted.free(1);
        auto waiting = co_await corio::open_connection("127.0.0.1", server.port());
        co_await waiting.write("two\n");
        co_await corio::sleep(100ms);
        CHECK(reports.size() == 1);  // failed once, now backing off for 5 s
        // The existing connection ends: its descriptor is the one the server needs.
        existing.close();
        corio_test::stopwatch clock;
        const std::string answered = co_await corio::wait_for(waiting.read_until("\n"), 2s);
        CHECK(answered == "two\n");
        CHECK(clock.elapsed() < 1s);
        waiting.close();
        co_await server.shutdown(1s);
    };
    // The limit is lowered after the server started, which a multishot
    // accept (an io_uring loop's) does not see: the kernel takes the limit
    // when the accept is armed. test_reactor_io_uring has the ring's case.
    corio_test::run_with_watchdog_on(corio::io_backend::epoll, body());
}

TEST_CASE("At max_connections the server accepts nothing until a connection ends, without spinning",
          "[tcp_server]") {
    auto body = []() -> corio::task<void> {
        corio::server_options options;
        options.max_connections = 2;
        auto server = co_await corio::start_server(echo_lines, "127.0.0.1", 0, options);
        int make_room_calls = 0;
        server.set_make_room([&make_room_calls] { ++make_room_calls; });
        auto first = co_await corio::open_connection("127.0.0.1", server.port());
        auto second = co_await corio::open_connection("127.0.0.1", server.port());
        co_await first.write("1\n");
        co_await second.write("2\n");
        const std::string one = co_await first.read_until("\n");
        const std::string two = co_await second.read_until("\n");
        CHECK(one == "1\n");
        CHECK(two == "2\n");
        co_await corio::sleep(50ms);
        CHECK(make_room_calls == 0);  // full, but nobody is waiting

        auto third = co_await corio::open_connection("127.0.0.1", server.port());  // the kernel completes it
        co_await third.write("3\n");
        const auto cpu_before = cpu_time();
        corio_test::stopwatch clock;
        bool answered = true;
        try {
            (void)co_await corio::wait_for(third.read_until("\n"), 400ms);
        } catch (const corio::timeout_error&) {
            answered = false;
        }
        CHECK_FALSE(answered);
        CHECK(server.active_connections() == 2);
        CHECK(make_room_calls == 1);  // asked once, not once per wake-up
        CHECK(cpu_time() - cpu_before < clock.elapsed() / 4);

        first.close();  // a connection ends: the third gets in
        clock.restart();
        const std::string three = co_await corio::wait_for(third.read_until("\n"), 2s);
        CHECK(three == "3\n");
        CHECK(clock.elapsed() < 500ms);
        CHECK(server.active_connections() == 2);

        // Full again with a client waiting: shutdown still ends the accept
        // task (no connection will end on its own: the handlers wait for lines).
        auto fourth = co_await corio::open_connection("127.0.0.1", server.port());
        co_await fourth.write("4\n");
        co_await corio::sleep(50ms);
        CHECK(make_room_calls == 2);
        clock.restart();
        co_await server.shutdown(100ms);
        CHECK(clock.elapsed() < 1s);
        CHECK(server.active_connections() == 0);
    };
    run_with_watchdog(body());
}
