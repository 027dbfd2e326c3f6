// Tests of corio/net/byte_stream.hpp, read_buffer.hpp and stream_algorithms.hpp:
// the free read / read_exactly / read_until / write_all over any byte_stream,
// run over the in-memory pipe of tests/support and over a real TCP connection.
#include <corio/net.hpp>
#include <corio/run.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/sync/event.hpp>

#include "catch.hpp"
#include "memory_pipe.hpp"
#include "test_support.hpp"

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

using namespace std::chrono_literals;
using corio_test::memory_pipe;
using corio_test::pattern;
using corio_test::run_with_watchdog;

static_assert(corio::byte_stream<corio::tcp_stream>);
static_assert(corio::byte_stream<memory_pipe>);
static_assert(!corio::byte_stream<corio::udp_socket>);

namespace {

// Half-close, whether the stream's shutdown_write is immediate or awaitable.
template <class Stream>
corio::task<void> end_writes(Stream& stream) {
    if constexpr (std::is_void_v<decltype(stream.shutdown_write())>) {
        stream.shutdown_write();
    } else {
        co_await stream.shutdown_write();
    }
}

struct tcp_connection {
    corio::tcp_stream client;
    corio::tcp_stream accepted;
};

corio::task<void> keep_accepted(corio::tcp_stream stream, std::shared_ptr<std::optional<corio::tcp_stream>> slot,
                                std::shared_ptr<corio::event> ready) {
    slot->emplace(std::move(stream));
    ready->set();
    co_return;
}

// Both ends of one loopback TCP connection.
corio::task<tcp_connection> connect_tcp() {
    auto slot = std::make_shared<std::optional<corio::tcp_stream>>();
    auto ready = std::make_shared<corio::event>();
    auto handler = [slot, ready](corio::tcp_stream s) { return keep_accepted(std::move(s), slot, ready); };
    auto server = co_await corio::start_server(handler, "127.0.0.1", 0);
    auto client = co_await corio::open_connection("127.0.0.1", server.port());
    co_await ready->wait();
    server.close();
    co_await server.wait_closed();
    co_return tcp_connection{std::move(client), std::move(**slot)};
}

// --- checks run over each kind of stream: `reader` and `writer` are the two ends.

template <class Stream>
corio::task<void> read_exactly_across_short_writes(Stream& reader, Stream& writer) {
    const std::string payload = pattern(3000);
    auto produce = [&]() -> corio::task<void> {
        for (std::size_t i = 0; i < payload.size(); i += 7) {
            co_await corio::write_all(writer, std::string_view(payload).substr(i, 7));
            co_await corio::sleep(0ms);
        }
    };
    auto consume = [&]() -> corio::task<std::string> {
        corio::read_buffer buffer;
        std::string first = co_await corio::read_exactly(reader, buffer, 1000);
        std::string rest = co_await corio::read_exactly(reader, buffer, 2000);
        CHECK(buffer.empty());
        co_return first + rest;
    };
    auto [ignored, received] = co_await corio::gather(produce(), consume());
    CHECK(received == payload);
}

template <class Stream>
corio::task<void> read_exactly_at_end_of_stream(Stream& reader, Stream& writer) {
    co_await corio::write_all(writer, "abc");
    co_await end_writes(writer);
    corio::read_buffer buffer;
    const std::string none = co_await corio::read_exactly(reader, buffer, 0);
    CHECK(none.empty());
    bool thrown = false;
    try {
        (void)co_await corio::read_exactly(reader, buffer, 10);
    } catch (const corio::incomplete_read& error) {
        thrown = true;
        CHECK(error.partial() == "abc");
        CHECK(error.expected() == 10);
    }
    CHECK(thrown);
    const std::string end = co_await corio::read(reader, buffer);
    CHECK(end.empty());  // the partial bytes were consumed; the end stays the end
}

template <class Stream>
corio::task<void> read_until_across_reads(Stream& reader, Stream& writer) {
    auto produce = [&]() -> corio::task<void> {
        co_await corio::write_all(writer, "first\r");
        co_await corio::sleep(10ms);
        co_await corio::write_all(writer, "\nsecond\r\nthird");
        co_await corio::sleep(10ms);
        co_await corio::write_all(writer, " and the tail");
        co_await end_writes(writer);
    };
    auto consume = [&]() -> corio::task<void> {
        corio::read_buffer buffer;
        const std::string first = co_await corio::read_until(reader, buffer, "\r\n");
        CHECK(first == "first\r\n");
        const std::string second = co_await corio::read_until(reader, buffer, "\r\n");
        CHECK(second == "second\r\n");
        // What read_until read past "second\r\n" is served by the next reads.
        const std::string thi = co_await corio::read_exactly(reader, buffer, 3);
        CHECK(thi == "thi");
        const std::string r = co_await corio::read(reader, buffer, 1);
        CHECK(r == "r");
        const std::string d = co_await corio::read_exactly(reader, buffer, 1);
        CHECK(d == "d");
        bool thrown = false;
        try {
            (void)co_await corio::read_until(reader, buffer, "\r\n");
        } catch (const corio::incomplete_read& error) {
            thrown = true;
            CHECK(error.partial() == " and the tail");
            CHECK(error.expected() == 0);
        }
        CHECK(thrown);
        CHECK(buffer.empty());
    };
    co_await corio::gather(produce(), consume());
}

template <class Stream>
corio::task<void> read_until_limit(Stream& reader, Stream& writer) {
    const std::string line = std::string(100, 'x') + "\nafter";
    co_await corio::write_all(writer, line);
    corio::read_buffer buffer;
    bool overrun = false;
    try {
        (void)co_await corio::read_until(reader, buffer, "\n", 50);
    } catch (const corio::limit_overrun& error) {
        overrun = true;
        CHECK(error.limit() == 50);
        CHECK(error.buffered() >= 50);
        CHECK(error.buffered() == buffer.size());
    }
    CHECK(overrun);
    // Nothing was consumed: the same bytes come back.
    const std::string xs = co_await corio::read_exactly(reader, buffer, 100);
    CHECK(xs == std::string(100, 'x'));
    const std::string newline = co_await corio::read_until(reader, buffer, "\n", 50);
    CHECK(newline == "\n");
    const std::string after = co_await corio::read_exactly(reader, buffer, 5);
    CHECK(after == "after");
    bool invalid = false;
    try {
        (void)co_await corio::read_until(reader, buffer, "");
    } catch (const std::invalid_argument&) {
        invalid = true;
    }
    CHECK(invalid);
}

template <class Stream>
corio::task<void> write_all_with_concurrent_reader(Stream& reader, Stream& writer, std::size_t size) {
    const std::string payload = pattern(size);
    auto produce = [&]() -> corio::task<void> {
        co_await corio::write_all(writer, std::as_bytes(std::span<const char>(payload.data(), payload.size())));
        co_await end_writes(writer);
    };
    auto consume = [&]() -> corio::task<std::string> {
        corio::read_buffer buffer;
        std::string received;
        for (;;) {
            std::string chunk = co_await corio::read(reader, buffer, 5000);
            if (chunk.empty()) {
                co_return received;
            }
            received += chunk;
        }
    };
    auto [ignored, received] = co_await corio::gather(produce(), consume());
    CHECK(received.size() == payload.size());
    CHECK(received == payload);
}

template <class Stream>
corio::task<void> cancelled_read_keeps_bytes(Stream& reader, Stream& writer) {
    corio::read_buffer buffer;
    auto line = [&]() -> corio::task<std::string> { co_return co_await corio::read_until(reader, buffer, "\n"); };
    auto pending = corio::create_task(line());
    co_await corio::write_all(writer, "par");
    co_await corio::sleep(20ms);
    CHECK(reader.read_pending());
    CHECK(std::string(buffer.view()) == "par");  // read ahead, waiting for the rest of the line
    const bool cancelled = co_await corio_test::cancel_and_wait(pending);
    CHECK(cancelled);
    CHECK_FALSE(reader.read_pending());
    co_await corio::write_all(writer, "tial\n");
    const std::string whole = co_await corio::read_until(reader, buffer, "\n");
    CHECK(whole == "partial\n");
}

// Runs `check` over a memory pipe (with `opts`) and over a TCP connection.
template <class Check>
void over_pipe_and_tcp(Check check, memory_pipe::options opts) {
    auto body = [&]() -> corio::task<void> {
        auto pipe = memory_pipe::make_pair(opts);
        co_await check(pipe.first, pipe.second);
        tcp_connection tcp = co_await connect_tcp();
        co_await check(tcp.accepted, tcp.client);
    };
    run_with_watchdog(body(), 10s);
}

}  // namespace

TEST_CASE("read_exactly assembles its bytes from many short writes", "[byte_stream]") {
    over_pipe_and_tcp([](auto& r, auto& w) { return read_exactly_across_short_writes(r, w); },
                      {.capacity = 64, .max_read = 5});
}

TEST_CASE("read_exactly at the end of stream throws incomplete_read carrying the partial bytes",
          "[byte_stream]") {
    over_pipe_and_tcp([](auto& r, auto& w) { return read_exactly_at_end_of_stream(r, w); }, {});
}

TEST_CASE("read_until finds a delimiter split across reads and keeps the bytes after it for the next read",
          "[byte_stream]") {
    over_pipe_and_tcp([](auto& r, auto& w) { return read_until_across_reads(r, w); }, {.max_read = 1});
}

TEST_CASE("read_until past its limit throws limit_overrun and leaves the bytes buffered", "[byte_stream]") {
    over_pipe_and_tcp([](auto& r, auto& w) { return read_until_limit(r, w); }, {});
}

TEST_CASE("write_all delivers every byte through backpressure while the peer reads", "[byte_stream]") {
    over_pipe_and_tcp(
        [](auto& r, auto& w) { return write_all_with_concurrent_reader(r, w, corio_test::under_sanitizer ? 300'000 : 2'000'000); },
        {.capacity = 1000});
}

TEST_CASE("Cancelling a pending read_until throws cancelled_error and keeps what it read", "[byte_stream]") {
    over_pipe_and_tcp([](auto& r, auto& w) { return cancelled_read_keeps_bytes(r, w); }, {});
}

TEST_CASE("tcp_stream's members and the free algorithms never lose the bytes read past a delimiter",
          "[byte_stream]") {
    auto body = []() -> corio::task<void> {
        tcp_connection tcp = co_await connect_tcp();
        co_await tcp.client.write("one\ntwo\nthree");
        tcp.client.shutdown_write();
        const std::string one = co_await tcp.accepted.read_until("\n");
        CHECK(one == "one\n");
        // The member's look-ahead stays in the stream: read_some serves it to
        // the free algorithms, whatever buffer they are given.
        CHECK(tcp.accepted.buffered() > 0);
        corio::read_buffer mine;
        const std::string two = co_await corio::read_until(tcp.accepted, mine, "\n");
        CHECK(two == "two\n");
        const std::string three = co_await corio::read_exactly(tcp.accepted, mine, 5);
        CHECK(three == "three");
        const std::string end = co_await tcp.accepted.read();
        CHECK(end.empty());
    };
    run_with_watchdog(body());
}

TEST_CASE("The memory pipe: close wakes a pending read with stream_closed, the peer sees the end, writes fail",
          "[byte_stream]") {
    auto body = []() -> corio::task<void> {
        // Named ends, not structured bindings: clang 14 cannot capture those.
        auto pipe = memory_pipe::make_pair();
        memory_pipe& a = pipe.first;
        memory_pipe& b = pipe.second;
        corio::read_buffer buffer;
        std::string outcome;
        auto reader = [&]() -> corio::task<void> {
            try {
                (void)co_await corio::read(a, buffer);
                outcome = "data";
            } catch (const corio::stream_closed&) {
                outcome = "closed";
            }
        };
        auto pending = corio::create_task(reader());
        co_await corio::sleep(5ms);
        CHECK(a.read_pending());
        co_await b.write("last words");
        co_await pending;
        CHECK(outcome == "data");
        auto closing = corio::create_task(reader());
        co_await corio::sleep(5ms);
        a.close();
        co_await closing;
        CHECK(outcome == "closed");
        CHECK_FALSE(a.is_open());
        // The peer reads the end of stream, and its writes fail.
        std::byte scratch[8];
        const std::size_t n = co_await b.read_some(scratch);
        CHECK(n == 0);
        bool broken = false;
        try {
            co_await b.write("anyone?");
        } catch (const std::system_error& error) {
            broken = error.code() == std::errc::broken_pipe;
        }
        CHECK(broken);
    };
    run_with_watchdog(body());
}
