// Tests of corio/fd_watcher.hpp: waiting on descriptors corio does not own
// (pipes, socketpairs), the edge memory, cancellation, detach, bad input.

#include "catch.hpp"
#include "test_support.hpp"

#include <corio/cancel.hpp>
#include <corio/combinators.hpp>
#include <corio/errors.hpp>
#include <corio/fd_watcher.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <system_error>

using namespace std::chrono_literals;
using corio::task;
using corio_test::run_with_watchdog;

namespace {

/// A non-blocking pipe closed at scope exit.
struct pipe_pair {
    int read_end = -1;
    int write_end = -1;
    pipe_pair() {
        int fds[2];
        REQUIRE(::pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0);
        read_end = fds[0];
        write_end = fds[1];
    }
    ~pipe_pair() {
        ::close(read_end);
        ::close(write_end);
    }
    pipe_pair(const pipe_pair&) = delete;
    pipe_pair& operator=(const pipe_pair&) = delete;
};

void write_byte(int fd, char c) { REQUIRE(::write(fd, &c, 1) == 1); }

task<void> write_later(int fd, char c, std::chrono::milliseconds delay) {
    co_await corio::sleep(delay);
    write_byte(fd, c);
}

// Reads one byte the asyncio way: try, and wait only when it would block.
task<char> read_one(corio::fd_watcher& watcher) {
    char c = 0;
    while (::read(watcher.fd(), &c, 1) != 1) {
        REQUIRE(errno == EAGAIN);
        co_await watcher.readable();
    }
    co_return c;
}

}  // namespace

TEST_CASE("fd_watcher: readable resumes when a pipe gets data, not before", "[fd_watcher]") {
    pipe_pair p;
    auto body = [&]() -> task<void> {
        corio::fd_watcher watcher(p.read_end);
        CHECK(watcher.fd() == p.read_end);
        corio_test::stopwatch clock;
        auto writer = corio::create_task(write_later(p.write_end, 'x', 50ms));
        const char got = co_await read_one(watcher);
        CHECK(got == 'x');
        CHECK(clock.elapsed() >= 40ms);
        co_await writer;
    };
    run_with_watchdog(body());
}

TEST_CASE("fd_watcher: an edge that arrived while nobody waited makes the next wait return at once",
          "[fd_watcher]") {
    pipe_pair p;
    auto body = [&]() -> task<void> {
        corio::fd_watcher watcher(p.read_end);
        co_await corio::sleep(0ms);  // let the loop poll once with no data
        write_byte(p.write_end, 'a');
        co_await corio::sleep(10ms);  // the edge is seen while nobody waits
        corio_test::stopwatch clock;
        co_await watcher.readable();
        CHECK(clock.elapsed() < 1s);
        char c = 0;
        CHECK(::read(p.read_end, &c, 1) == 1);
        CHECK(c == 'a');
    };
    run_with_watchdog(body());
}

TEST_CASE("fd_watcher: writable, and a full pipe waits until the reader drains it", "[fd_watcher]") {
    pipe_pair p;
    auto body = [&]() -> task<void> {
        corio::fd_watcher writer(p.write_end);
        co_await writer.writable();  // an empty pipe is writable
        std::array<char, 4096> chunk{};
        std::size_t written = 0;
        while (::write(p.write_end, chunk.data(), chunk.size()) > 0) {
            written += chunk.size();
        }
        REQUIRE(errno == EAGAIN);
        REQUIRE(written > 0);
        auto drain = [&]() -> task<void> {
            co_await corio::sleep(30ms);
            std::array<char, 65536> sink{};
            while (::read(p.read_end, sink.data(), sink.size()) > 0) {
            }
        };
        auto drainer = corio::create_task(drain());
        co_await writer.writable();
        CHECK(drainer.done());
        CHECK(::write(p.write_end, chunk.data(), 1) == 1);
        co_await drainer;
    };
    run_with_watchdog(body());
}

TEST_CASE("fd_watcher: a wait is a cancellation point and the watcher stays usable", "[fd_watcher]") {
    pipe_pair p;
    auto body = [&]() -> task<void> {
        corio::fd_watcher watcher(p.read_end);
        auto wait_forever = [&]() -> task<void> { co_await watcher.readable(); };
        const bool cancelled = co_await corio_test::spawn_and_cancel(wait_forever(), 10ms);
        CHECK(cancelled);
        bool timed_out = false;
        try {
            co_await corio::wait_for(watcher.readable(), 20ms);
        } catch (const corio::timeout_error&) {
            timed_out = true;
        }
        CHECK(timed_out);
        // The interest was dropped, not the registration: data still wakes a new wait.
        write_byte(p.write_end, 'z');
        const char got = co_await read_one(watcher);
        CHECK(got == 'z');
    };
    run_with_watchdog(body());
}

TEST_CASE("fd_watcher: detach resumes a waiter with cancelled_error", "[fd_watcher]") {
    pipe_pair p;
    auto body = [&]() -> task<void> {
        corio::fd_watcher watcher(p.read_end);
        auto waiter = [&]() -> task<bool> {
            try {
                co_await watcher.readable();
            } catch (const corio::cancelled_error&) {
                co_return true;
            }
            co_return false;
        };
        auto handle = corio::create_task(waiter());
        co_await corio::sleep(10ms);
        watcher.detach();
        const bool threw = co_await handle;
        CHECK(threw);
        bool after_detach = false;
        try {
            co_await watcher.readable();
        } catch (const corio::cancelled_error&) {
            after_detach = true;
        }
        CHECK(after_detach);
    };
    run_with_watchdog(body());
}

TEST_CASE("fd_watcher: two waiters in one direction is a logic error", "[fd_watcher]") {
    pipe_pair p;
    auto body = [&]() -> task<void> {
        corio::fd_watcher watcher(p.read_end);
        auto wait_once = [&]() -> task<void> { co_await watcher.readable(); };
        auto first = corio::create_task(wait_once());
        co_await corio::sleep(5ms);
        bool refused = false;
        try {
            co_await watcher.readable();
        } catch (const std::logic_error&) {
            refused = true;
        }
        CHECK(refused);
        write_byte(p.write_end, '1');
        co_await first;
    };
    run_with_watchdog(body());
}

TEST_CASE("fd_watcher: peer hang-up wakes the reader and is remembered", "[fd_watcher]") {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
    auto body = [&]() -> task<void> {
        corio::fd_watcher watcher(fds[0]);
        auto closer = [&]() -> task<void> {
            co_await corio::sleep(20ms);
            ::close(fds[1]);
        };
        auto handle = corio::create_task(closer());
        co_await watcher.readable();
        co_await handle;
        char c = 0;
        CHECK(::read(fds[0], &c, 1) == 0);  // end of stream
        CHECK(watcher.peer_closed());
    };
    run_with_watchdog(body());
    ::close(fds[0]);
}

TEST_CASE("wait_readable / wait_writable: one-shot waits on a socketpair", "[fd_watcher]") {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
    auto body = [&]() -> task<void> {
        co_await corio::wait_writable(fds[1]);
        auto writer = corio::create_task(write_later(fds[1], 'q', 20ms));
        co_await corio::wait_readable(fds[0]);
        char c = 0;
        CHECK(::read(fds[0], &c, 1) == 1);
        CHECK(c == 'q');
        co_await writer;
        // Again on the same fd: each call registers and unregisters it.
        write_byte(fds[1], 'r');
        co_await corio::wait_readable(fds[0]);
        CHECK(::read(fds[0], &c, 1) == 1);
        CHECK(c == 'r');
    };
    run_with_watchdog(body());
    ::close(fds[0]);
    ::close(fds[1]);
}

TEST_CASE("fd_watcher: bad descriptors are refused with a clear error", "[fd_watcher]") {
    auto body = []() -> task<void> {
        CHECK_THROWS_AS(corio::fd_watcher(-1), std::invalid_argument);
        CHECK_THROWS_AS(corio::fd_watcher(1000000), std::system_error);  // not open
#if defined(CORIO_REACTOR_EPOLL)
        // A regular file: epoll refuses it (EPERM); kqueue accepts it.
        std::FILE* file = std::tmpfile();
        REQUIRE(file != nullptr);
        CHECK_THROWS_AS(corio::fd_watcher(::fileno(file)), std::system_error);
        std::fclose(file);
#endif
        co_return;
    };
    run_with_watchdog(body());
}
