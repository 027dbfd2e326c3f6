// Tests of corio::tls::stream<Next> over byte streams other than TCP: the
// in-memory pipe of tests/support (byte for byte, no socket) and a Unix
// domain stream. The engine does no I/O of its own, so everything TLS
// promises over TCP holds over these too.
#include <corio/net.hpp>
#include <corio/run.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/tls.hpp>

#include "catch.hpp"
#include "memory_pipe.hpp"
#include "test_support.hpp"
#include "tls_support.hpp"

#include <algorithm>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <unistd.h>
#include <utility>

using namespace std::chrono_literals;
using corio_test::memory_pipe;
using corio_test::pattern;
using corio_test::run_with_watchdog;
using corio_test::tls_certs;

static_assert(corio::byte_stream<corio::tls::stream<>>);
static_assert(corio::byte_stream<corio::tls::stream<memory_pipe>>);
static_assert(std::is_same_v<corio::tls::stream<>, corio::tls::stream<corio::tcp_stream>>);

namespace {

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

corio::tls::context server_context() {
    return corio::tls::context::server(tls_certs().server_cert, tls_certs().server_key);
}

corio::tls::context trusting_client() {
    return corio::tls::context::client({.verify_peer = true, .ca_file = tls_certs().ca});
}

template <class Next>
struct tls_pair {
    corio::tls::stream<Next> client;
    corio::tls::stream<Next> server;
};

// A client and a server TLS stream over the two ends of a fresh memory pipe
// holding `capacity` bytes per direction. (A size, not memory_pipe::options:
// g++ 12 mishandles a braced temporary passed to a coroutine in a co_await.)
corio::task<tls_pair<memory_pipe>> handshake_over_pipe(std::size_t capacity) {
    auto pipe = memory_pipe::make_pair({.capacity = capacity});
    auto [client, server] = co_await corio::gather(
        corio::tls::connect(std::move(pipe.first), trusting_client(), "localhost"),
        corio::tls::accept(std::move(pipe.second), server_context()));
    tls_pair<memory_pipe> result{std::move(client), std::move(server)};
    co_return result;
}

// Echoes until the end of stream, then sends close_notify back.
template <class Next>
corio::task<void> echo(corio::tls::stream<Next>& stream) {
    std::byte buffer[8192];
    for (;;) {
        const std::size_t n = co_await stream.read_some(buffer);
        if (n == 0) {
            break;
        }
        co_await stream.write(std::span<const std::byte>(buffer, n));
    }
    co_await stream.shutdown();
}

// Writes `payload` while reading the echo, then ends with close_notify.
template <class Next>
corio::task<std::string> round_trip(corio::tls::stream<Next>& client, const std::string& payload) {
    auto writer = [&]() -> corio::task<void> {
        co_await client.write(payload);
        co_await client.shutdown_write();
    };
    auto reader = [&]() -> corio::task<std::string> {
        std::string received;
        for (;;) {
            std::string chunk = co_await client.read(10'000);
            if (chunk.empty()) {
                co_return received;
            }
            received += chunk;
        }
    };
    auto [ignored, received] = co_await corio::gather(writer(), reader());
    co_return received;
}

// The server side of a handshake that should fail: its error text.
corio::task<std::string> accept_error(memory_pipe end) {
    try {
        (void)co_await corio::tls::accept(std::move(end), server_context());
        co_return "";
    } catch (const corio::tls::tls_error& error) {
        co_return error.what();
    }
}

// A memory pipe end that, once `cut_after` is set, lets only that many more
// bytes through and then closes: a peer that dies in the middle of a record.
class cutting_pipe {
public:
    explicit cutting_pipe(memory_pipe pipe) : m_pipe(std::move(pipe)) {}

    std::optional<std::size_t> cut_after;

    [[nodiscard]] corio::task<std::size_t> read_some(std::span<std::byte> into) { return m_pipe.read_some(into); }
    [[nodiscard]] CORIO_HEADER_COROUTINE corio::task<void> write(std::span<const std::byte> bytes) {
        if (!cut_after) {
            co_await m_pipe.write(bytes);
            co_return;
        }
        const std::size_t passed = std::min(*cut_after, bytes.size());
        co_await m_pipe.write(bytes.first(passed));
        *cut_after -= passed;
        if (*cut_after == 0) {
            m_pipe.close();
        }
    }
    void shutdown_write() { m_pipe.shutdown_write(); }
    void close() noexcept { m_pipe.close(); }

private:
    memory_pipe m_pipe;
};

std::string unix_socket_path(const char* name) {
    return "/tmp/corio_test_" + std::to_string(::getpid()) + "_" + name + ".sock";
}

corio::task<void> tls_echo_over_unix(corio::unix_stream stream, corio::tls::context ctx,
                                     std::shared_ptr<std::string> seen_name) {
    try {
        auto secured = co_await corio::tls::accept(std::move(stream), std::move(ctx));
        *seen_name = secured.server_name();
        co_await echo(secured);
    } catch (const std::exception&) {
        // the client that rejects the certificate: its alert ends the handshake
    }
}

}  // namespace

TEST_CASE("TLS over a memory pipe: a verified handshake with SNI, a megabyte both ways, close_notify",
          "[tls]") {
    auto body = []() -> corio::task<void> {
        // A small pipe: both directions fill up while the other side works.
        tls_pair<memory_pipe> tls = co_await handshake_over_pipe(4096);
        CHECK(tls.client.is_open());
        CHECK(std::string(tls.client.protocol()) == "TLSv1.3");
        CHECK(std::string(tls.server.server_name()) == "localhost");  // the SNI the server saw
        auto server = corio::create_task(echo(tls.server));
        const std::string payload = pattern(1024 * 1024);
        const std::string received = co_await round_trip(tls.client, payload);
        CHECK(received.size() == payload.size());
        CHECK(received == payload);
        co_await server;
        CHECK(tls.client.received_close_notify());
        CHECK(tls.server.received_close_notify());
        tls.client.close();
        CHECK_FALSE(tls.client.is_open());
    };
    run_with_watchdog(body(), 20s);
}

TEST_CASE("TLS over a memory pipe verifies the host name: a wrong name fails on both sides", "[tls]") {
    auto body = []() -> corio::task<void> {
        auto pipe = memory_pipe::make_pair();
        auto server = corio::create_task(accept_error(std::move(pipe.second)));
        std::string client_error;
        long verify_result = 0;
        try {
            (void)co_await corio::tls::connect(std::move(pipe.first), trusting_client(), "wrong.example");
        } catch (const corio::tls::certificate_error& error) {
            client_error = error.what();
            verify_result = error.verify_result();
        }
        CHECK(verify_result == X509_V_ERR_HOSTNAME_MISMATCH);
        CHECK(contains(client_error, "wrong.example"));
        CHECK(contains(client_error, "(peer)"));  // a pipe has no address: the peer is named generically
        const std::string server_error = co_await server;
        INFO(server_error);
        CHECK(contains(server_error, "TLS handshake with peer"));
        CHECK(contains(server_error, "certificate"));  // the client's alert: bad certificate
    };
    run_with_watchdog(body());
}

TEST_CASE("read_until and read_exactly on a TLS stream keep the bytes read past the delimiter", "[tls]") {
    auto body = []() -> corio::task<void> {
        tls_pair<memory_pipe> tls = co_await handshake_over_pipe(64 * 1024);
        co_await tls.server.write("HTTP/1.1 200 OK\r\n");
        co_await tls.server.write("Length: 5\r\n\r\nhello");
        co_await tls.server.write("+tail");
        co_await tls.server.shutdown();

        const std::string status = co_await tls.client.read_until("\r\n");
        CHECK(status == "HTTP/1.1 200 OK\r\n");
        const std::string headers = co_await tls.client.read_until("\r\n\r\n");
        CHECK(headers == "Length: 5\r\n\r\n");
        CHECK(tls.client.buffered() > 0);  // "hello" arrived in the same record
        // read_some serves the read-ahead bytes first.
        std::byte h[1];
        const std::size_t one = co_await tls.client.read_some(h);
        CHECK(one == 1);
        CHECK(static_cast<char>(h[0]) == 'h');
        const std::string ello = co_await tls.client.read_exactly(4);
        CHECK(ello == "ello");
        // The free algorithms work on a tls::stream as on any byte_stream.
        corio::read_buffer buffer;
        const std::string plus = co_await corio::read_until(tls.client, buffer, "+");
        CHECK(plus == "+");
        bool incomplete = false;
        try {
            (void)co_await corio::read_exactly(tls.client, buffer, 10);
        } catch (const corio::incomplete_read& error) {
            incomplete = true;
            CHECK(error.partial() == "tail");
        }
        CHECK(incomplete);
        CHECK(tls.client.received_close_notify());
    };
    run_with_watchdog(body());
}

TEST_CASE("Over a memory pipe a TLS read can be cancelled and close() wakes it with stream_closed", "[tls]") {
    auto body = []() -> corio::task<void> {
        tls_pair<memory_pipe> tls = co_await handshake_over_pipe(64 * 1024);
        auto reader = [&]() -> corio::task<std::string> { co_return co_await tls.client.read(); };
        auto pending = corio::create_task(reader());
        co_await corio::sleep(10ms);
        CHECK(tls.client.next_layer().read_pending());
        const bool cancelled = co_await corio_test::cancel_and_wait(pending);
        CHECK(cancelled);
        CHECK_FALSE(tls.client.next_layer().read_pending());
        co_await tls.server.write("still works");
        const std::string got = co_await tls.client.read();
        CHECK(got == "still works");

        std::string outcome;
        auto closing_reader = [&]() -> corio::task<void> {
            try {
                (void)co_await tls.client.read();
                outcome = "data";
            } catch (const corio::stream_closed&) {
                outcome = "closed";
            }
        };
        auto closing = corio::create_task(closing_reader());
        co_await corio::sleep(10ms);
        tls.client.close();
        co_await closing;
        CHECK(outcome == "closed");
        CHECK_FALSE(tls.client.is_open());
        // The server reads the end of stream without close_notify.
        const std::string end = co_await tls.server.read();
        CHECK(end.empty());
        CHECK_FALSE(tls.server.received_close_notify());
    };
    run_with_watchdog(body());
}

TEST_CASE("A TLS stream over a pipe takes one reader and queued writers, and refuses a second reader",
          "[tls]") {
    auto body = []() -> corio::task<void> {
        tls_pair<memory_pipe> tls = co_await handshake_over_pipe(2048);
        auto server = corio::create_task(echo(tls.server));
        const std::string a(100'000, 'a');
        const std::string b(100'000, 'b');
        auto write_a = [&]() -> corio::task<void> { co_await tls.client.write(a); };
        auto write_b = [&]() -> corio::task<void> { co_await tls.client.write(b); };
        auto read_all = [&]() -> corio::task<std::string> {
            co_return co_await tls.client.read_exactly(a.size() + b.size());
        };
        auto reading = corio::create_task(read_all());
        co_await corio::sleep(1ms);
        bool refused = false;
        try {
            (void)co_await tls.client.read();
        } catch (const std::logic_error&) {
            refused = true;
        }
        CHECK(refused);
        co_await corio::gather(write_a(), write_b());
        const std::string echoed = co_await reading;
        // Each write is sent whole, in the order the writers queued.
        CHECK(echoed == a + b);
        co_await tls.client.shutdown();
        co_await server;
    };
    run_with_watchdog(body(), 10s);
}

TEST_CASE("A peer that dies in the middle of a TLS record is a tls_error, not an end of stream", "[tls]") {
    auto body = []() -> corio::task<void> {
        auto pipe = memory_pipe::make_pair();
        auto [client, server] = co_await corio::gather(
            corio::tls::connect(std::move(pipe.first), trusting_client(), "localhost"),
            corio::tls::accept(cutting_pipe(std::move(pipe.second)), server_context()));
        server.next_layer().cut_after = 10;  // a record's header and 5 bytes
        co_await server.write(std::string(100, 'x'));
        std::string error;
        try {
            (void)co_await client.read();
        } catch (const corio::tls::tls_error& e) {
            error = e.what();
        }
        CHECK(contains(error, "TLS read from peer: connection closed in the middle of a TLS record"));
        // The failure is not an end of stream: it stays.
        std::string again;
        try {
            (void)co_await client.read();
        } catch (const corio::tls::tls_error& e) {
            again = e.what();
        }
        CHECK(again == error);
    };
    run_with_watchdog(body());
}

TEST_CASE("TLS over a Unix domain stream: handshake, echo and errors name the socket path", "[tls]") {
    const std::string path = unix_socket_path("tls");
    auto body = [&]() -> corio::task<void> {
        auto seen_name = std::make_shared<std::string>();
        auto ctx = server_context();
        auto handler = [ctx, seen_name](corio::unix_stream s) { return tls_echo_over_unix(std::move(s), ctx, seen_name); };
        auto server = co_await corio::start_unix_server(handler, path);
        auto unix_client = co_await corio::open_unix_connection(path);
        auto client = co_await corio::tls::connect(std::move(unix_client), trusting_client(), "localhost");
        const std::string payload = pattern(300'000);
        const std::string received = co_await round_trip(client, payload);
        CHECK(received == payload);
        CHECK(client.received_close_notify());
        CHECK(*seen_name == "localhost");
        client.close();

        std::string error;
        try {
            auto other = co_await corio::open_unix_connection(path);
            (void)co_await corio::tls::connect(std::move(other), trusting_client(), "wrong.example");
        } catch (const corio::tls::certificate_error& e) {
            error = e.what();
        }
        CHECK(contains(error, "TLS handshake with wrong.example (" + path + ")"));
        co_await server.shutdown(1s);
    };
    run_with_watchdog(body(), 10s);
}
