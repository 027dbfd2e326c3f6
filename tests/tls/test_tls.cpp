// Tests of corio/tls.hpp: contexts, handshakes, verification, the TLS stream.
// Certificates are generated at test time (tls_support.hpp); servers are corio
// TLS servers on 127.0.0.1, port 0.
#include <corio/net/detail/socket.hpp>
#include <corio/net.hpp>
#include <corio/run.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/sync/event.hpp>
#include <corio/tls.hpp>

#include "catch.hpp"
#include "test_support.hpp"
#include "tls_support.hpp"

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

using namespace std::chrono_literals;
using corio_test::pattern;
using corio_test::run_with_watchdog;
using corio_test::tls_certs;

namespace {

// What the TLS echo servers saw.
struct server_log {
    std::vector<std::string> names;   // SNI of each successful handshake
    std::vector<std::string> errors;  // what() of each failure
    std::vector<bool> close_notify;   // per connection that reached the end of stream
};

corio::tls::context server_context() {
    return corio::tls::context::server(tls_certs().server_cert, tls_certs().server_key);
}

corio::tls::context trusting_client() {
    return corio::tls::context::client({.verify_peer = true, .ca_file = tls_certs().ca});
}

// TLS echo until the end of stream, then close_notify back. Failures are logged.
corio::task<void> tls_echo(corio::tcp_stream socket, corio::tls::context ctx,
                           std::shared_ptr<server_log> log) {
    std::optional<corio::tls::stream<>> stream;
    try {
        stream.emplace(co_await corio::tls::accept(std::move(socket), ctx));
        log->names.emplace_back(stream->server_name());
        std::vector<std::byte> buffer(16 * 1024);
        for (;;) {
            const std::size_t n = co_await stream->read_some(buffer);
            if (n == 0) {
                break;
            }
            co_await stream->write(std::span<const std::byte>(buffer.data(), n));
        }
        log->close_notify.push_back(stream->received_close_notify());
        co_await stream->shutdown();
    } catch (const std::exception& error) {
        log->errors.emplace_back(error.what());
    }
}

struct echo_server {
    corio::tcp_server server;
    std::shared_ptr<server_log> log;
    std::uint16_t port() const { return server.port(); }
};

corio::task<echo_server> start_echo(corio::tls::context ctx) {
    auto log = std::make_shared<server_log>();
    auto handler = [ctx, log](corio::tcp_stream s) { return tls_echo(std::move(s), ctx, log); };
    auto server = co_await corio::start_server(handler, "127.0.0.1", 0);
    co_return echo_server{std::move(server), std::move(log)};
}

corio::task<corio::tls::stream<>> connect_to(std::uint16_t port, corio::tls::context ctx,
                                           std::string name) {
    auto tcp = co_await corio::open_connection("127.0.0.1", port);
    co_return co_await corio::tls::connect(std::move(tcp), std::move(ctx), std::move(name));
}

// Polls until `done()` holds or `limit` passes.
template <class Predicate>
corio::task<bool> eventually(Predicate done, std::chrono::milliseconds limit = 2s) {
    corio_test::stopwatch watch;
    while (!done()) {
        if (watch.elapsed() > limit) {
            co_return false;
        }
        co_await corio::sleep(5ms);
    }
    co_return true;
}

// The outcome of a handshake that should fail: the error's what(), its kind.
struct failure {
    std::string kind;  // "certificate", "tls", "system", "other", or "" when it succeeded
    std::string what;
    std::string host;
    long verify_result = 0;
};

corio::task<failure> try_connect(std::uint16_t port, corio::tls::context ctx, std::string name) {
    failure result;
    try {
        auto stream = co_await connect_to(port, std::move(ctx), std::move(name));
        stream.close();
    } catch (const corio::tls::certificate_error& error) {
        result = {"certificate", error.what(), error.host(), error.verify_result()};
    } catch (const corio::tls::tls_error& error) {
        result = {"tls", error.what(), "", 0};
    } catch (const std::system_error& error) {
        result = {"system", error.what(), "", 0};
    } catch (const std::exception& error) {
        result = {"other", error.what(), "", 0};
    }
    co_return result;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("Certificates for the tests are generated with the openssl command", "[tls]") {
    const auto& certs = tls_certs();
    CHECK(std::filesystem::exists(certs.ca));
    CHECK(std::filesystem::exists(certs.server_cert));
    CHECK(std::filesystem::exists(certs.server_key));
    CHECK(std::filesystem::exists(certs.expired_cert));
    CHECK(std::filesystem::exists(certs.other_ca));
}

TEST_CASE("A verified client and a corio TLS server exchange data both ways, 1 MiB included",
          "[tls]") {
    auto body = []() -> corio::task<void> {
        auto server = co_await start_echo(server_context());
        auto client = co_await connect_to(server.port(), trusting_client(), "localhost");
        CHECK(client.is_open());
        CHECK(std::string(client.server_name()) == "localhost");
        CHECK(std::string(client.protocol()) == "TLSv1.3");
        CHECK(client.native_handle() != nullptr);
        CHECK(client.next_layer().remote_endpoint().port == server.port());

        co_await client.write("hello over TLS");
        const std::string echoed = co_await client.read();
        CHECK(echoed == "hello over TLS");

        // A reader and a writer at once on one stream: the echo comes back
        // while the megabyte is still being written.
        const std::string payload = pattern(1024 * 1024);
        auto writer = [&]() -> corio::task<void> { co_await client.write(payload); };
        auto reader = [&]() -> corio::task<std::string> {
            std::string received;
            while (received.size() < payload.size()) {
                std::string chunk = co_await client.read(10'000);
                if (chunk.empty()) {
                    break;
                }
                received += chunk;
            }
            co_return received;
        };
        auto [ignored, received] = co_await corio::gather(writer(), reader());
        CHECK(received.size() == payload.size());
        CHECK(received == payload);

        // close_notify: the server's read returns 0, it answers with its own.
        co_await client.shutdown();
        const std::string end = co_await client.read();
        CHECK(end.empty());
        CHECK(client.received_close_notify());
        const std::string again = co_await client.read();
        CHECK(again.empty());
        client.close();
        CHECK_FALSE(client.is_open());
        co_await server.server.shutdown(1s);

        REQUIRE(server.log->names.size() == 1);
        CHECK(server.log->names[0] == "localhost");  // SNI seen by the server
        CHECK(server.log->close_notify == std::vector<bool>{true});
        CHECK(server.log->errors.empty());
    };
    run_with_watchdog(body(), 10s);
}

TEST_CASE(
    "tls::open_connection to an IP literal verifies the certificate's IP address and sends no SNI",
    "[tls]") {
    auto body = []() -> corio::task<void> {
        auto server = co_await start_echo(server_context());
        auto client =
            co_await corio::tls::open_connection("127.0.0.1", server.port(), trusting_client());
        co_await client.write("ip");
        const std::string echoed = co_await client.read();
        CHECK(echoed == "ip");
        co_await client.shutdown();
        client.close();
        co_await server.server.shutdown(1s);
        REQUIRE(server.log->names.size() == 1);
        CHECK(server.log->names[0].empty());
    };
    run_with_watchdog(body());
}

TEST_CASE(
    "A certificate from an untrusted CA is rejected with certificate_error and the server sees the "
    "alert",
    "[tls]") {
    auto body = []() -> corio::task<void> {
        auto server = co_await start_echo(server_context());
        const auto other =
            corio::tls::context::client({.verify_peer = true, .ca_file = tls_certs().other_ca});
        const failure f = co_await try_connect(server.port(), other, "localhost");
        CHECK(f.kind == "certificate");
        CHECK(f.host == "localhost");
        CHECK(f.verify_result == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
        CHECK(contains(f.what, "unable to get local issuer certificate"));
        CHECK(contains(f.what, "localhost"));
        const bool logged = co_await eventually([&] { return !server.log->errors.empty(); });
        CHECK(logged);
        if (logged) {
            CHECK(contains(server.log->errors[0], "unknown ca"));
        }
        CHECK(server.log->names.empty());
        co_await server.server.shutdown(1s);
    };
    run_with_watchdog(body());
}

TEST_CASE("Verification is on by default: the system store does not trust the test CA", "[tls]") {
    auto body = []() -> corio::task<void> {
        auto server = co_await start_echo(server_context());
        const failure f =
            co_await try_connect(server.port(), corio::tls::context::client(), "localhost");
        CHECK(f.kind == "certificate");
        CHECK(corio::tls::context::client().verify_peer());
        co_await server.server.shutdown(1s);
    };
    run_with_watchdog(body());
}

TEST_CASE("A host name or IP the certificate does not name is rejected with certificate_error",
          "[tls]") {
    auto body = []() -> corio::task<void> {
        auto server = co_await start_echo(server_context());
        const failure name =
            co_await try_connect(server.port(), trusting_client(), "wrong.example");
        CHECK(name.kind == "certificate");
        CHECK(name.host == "wrong.example");
        CHECK(name.verify_result == X509_V_ERR_HOSTNAME_MISMATCH);
        CHECK(contains(name.what, "wrong.example"));
        CHECK(contains(name.what, "mismatch"));
        const failure ip = co_await try_connect(server.port(), trusting_client(), "127.0.0.2");
        CHECK(ip.kind == "certificate");
        CHECK(ip.verify_result == X509_V_ERR_IP_ADDRESS_MISMATCH);
        co_await server.server.shutdown(1s);
    };
    run_with_watchdog(body());
}

TEST_CASE("An expired certificate is rejected with certificate_error", "[tls]") {
    auto body = []() -> corio::task<void> {
        auto server = co_await start_echo(
            corio::tls::context::server(tls_certs().expired_cert, tls_certs().server_key));
        const failure f = co_await try_connect(server.port(), trusting_client(), "localhost");
        CHECK(f.kind == "certificate");
        CHECK(f.verify_result == X509_V_ERR_CERT_HAS_EXPIRED);
        CHECK(contains(f.what, "expired"));
        co_await server.server.shutdown(1s);
    };
    run_with_watchdog(body());
}

TEST_CASE("verify_peer = false accepts an untrusted certificate for any name", "[tls]") {
    auto body = []() -> corio::task<void> {
        auto server = co_await start_echo(server_context());
        const auto lax = corio::tls::context::client({.verify_peer = false});
        CHECK_FALSE(lax.verify_peer());
        auto client = co_await connect_to(server.port(), lax, "wrong.example");
        co_await client.write("lax");
        const std::string echoed = co_await client.read();
        CHECK(echoed == "lax");
        client.close();
        // No name at all is fine without verification (no SNI is sent).
        auto nameless = co_await connect_to(server.port(), lax, "");
        co_await nameless.write("x");
        const std::string x = co_await nameless.read();
        CHECK(x == "x");
        nameless.close();
        co_await server.server.shutdown(1s);
        CHECK(server.log->names == std::vector<std::string>{"wrong.example", ""});
    };
    run_with_watchdog(body());
}

TEST_CASE("connect refuses an empty server name with verification and a server context", "[tls]") {
    auto body = []() -> corio::task<std::vector<std::string>> {
        auto server = co_await start_echo(server_context());
        std::vector<std::string> kinds;
        const failure empty = co_await try_connect(server.port(), trusting_client(), "");
        kinds.push_back(empty.kind);
        const failure wrong_side =
            co_await try_connect(server.port(), server_context(), "localhost");
        kinds.push_back(wrong_side.kind);
        const failure none =
            co_await try_connect(server.port(), corio::tls::context{}, "localhost");
        kinds.push_back(none.kind);
        co_await server.server.shutdown(1s);
        co_return kinds;
    };
    CHECK(run_with_watchdog(body()) == std::vector<std::string>{"other", "other", "other"});
}

TEST_CASE("Contexts with missing or mismatched files throw tls_error naming the file", "[tls]") {
    const auto& certs = tls_certs();
    const std::string missing = certs.dir + "/missing.pem";
    auto message = [](auto make) -> std::string {
        try {
            make();
        } catch (const corio::tls::tls_error& error) {
            return error.what();
        }
        return "no error";
    };
    const std::string no_key =
        message([&] { (void)corio::tls::context::server(certs.server_cert, missing); });
    CHECK(contains(no_key, "private key"));
    CHECK(contains(no_key, missing));
    const std::string no_cert =
        message([&] { (void)corio::tls::context::server(missing, certs.server_key); });
    CHECK(contains(no_cert, "certificate chain"));
    CHECK(contains(no_cert, missing));
    const std::string mismatch =
        message([&] { (void)corio::tls::context::server(certs.server_cert, certs.other_ca_key); });
    CHECK(contains(mismatch, certs.other_ca_key));
    CHECK(contains(mismatch, "error:"));  // OpenSSL's text
    const std::string no_ca =
        message([&] { (void)corio::tls::context::client({.ca_file = missing}); });
    CHECK(contains(no_ca, "CA file"));
    CHECK(contains(no_ca, missing));
    // A good context copies cheaply: copies share one SSL_CTX.
    const auto a = server_context();
    const auto b = a;  // NOLINT(performance-unnecessary-copy-initialization)
    CHECK(a.native_handle() == b.native_handle());
    CHECK(a.is_server());
    CHECK_FALSE(corio::tls::context{});
}

TEST_CASE("A peer closing in the middle of the handshake gives an error on both sides, not a hang",
          "[tls]") {
    auto body = []() -> corio::task<void> {
        // A server that reads the ClientHello and hangs up.
        auto rude = [](corio::tcp_stream s) -> corio::task<void> {
            (void)co_await s.read();
            s.close();
        };
        auto server = co_await corio::start_server(rude, "127.0.0.1", 0);
        corio_test::stopwatch watch;
        const failure f = co_await try_connect(server.port(), trusting_client(), "localhost");
        CHECK((f.kind == "tls" || f.kind == "system"));
        if (f.kind == "tls") {
            CHECK(contains(f.what, "closed by the peer during the handshake"));
        }
        CHECK(watch.elapsed() < 2s);
        co_await server.shutdown(1s);

        // A client that hangs up before its ClientHello, and one that speaks
        // plain HTTP to the TLS server.
        auto tls_server = co_await start_echo(server_context());
        auto quitter = co_await corio::open_connection("127.0.0.1", tls_server.port());
        quitter.close();
        auto plain = co_await corio::open_connection("127.0.0.1", tls_server.port());
        co_await plain.write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
        const bool both = co_await eventually([&] { return tls_server.log->errors.size() == 2; });
        CHECK(both);
        plain.close();
        co_await tls_server.server.shutdown(1s);
        CHECK(tls_server.log->names.empty());
        int closed = 0;
        int not_tls = 0;
        for (const std::string& e : tls_server.log->errors) {
            closed += contains(e, "closed by the peer during the handshake") ? 1 : 0;
            not_tls += contains(e, "http request") ? 1 : 0;
        }
        CHECK(closed == 1);
        CHECK(not_tls == 1);
    };
    run_with_watchdog(body());
}

TEST_CASE("A connection that ends without close_notify reads as end of stream", "[tls]") {
    auto body = []() -> corio::task<void> {
        auto ctx = server_context();
        auto abrupt = [ctx](corio::tcp_stream s) -> corio::task<void> {
            auto stream = co_await corio::tls::accept(std::move(s), ctx);
            co_await stream.write("bye");
            stream.close();  // no close_notify
        };
        auto server = co_await corio::start_server(abrupt, "127.0.0.1", 0);
        auto client = co_await connect_to(server.port(), trusting_client(), "localhost");
        std::string received;
        for (;;) {
            std::string chunk = co_await client.read();
            if (chunk.empty()) {
                break;
            }
            received += chunk;
        }
        CHECK(received == "bye");
        CHECK_FALSE(client.received_close_notify());
        client.close();
        co_await server.shutdown(1s);
    };
    run_with_watchdog(body());
}

TEST_CASE("Cancelling a pending TLS read throws cancelled_error and the stream stays usable",
          "[tls]") {
    auto body = []() -> corio::task<void> {
        auto server = co_await start_echo(server_context());
        auto client = co_await connect_to(server.port(), trusting_client(), "localhost");
        auto reader = [&]() -> corio::task<std::string> { co_return co_await client.read(); };
        auto handle = corio::create_task(reader());
        co_await corio::sleep(20ms);
        CHECK(client.next_layer().read_pending());
        handle.cancel();
        bool cancelled = false;
        try {
            (void)co_await handle;
        } catch (const corio::cancelled_error&) {
            cancelled = true;
        }
        CHECK(cancelled);
        CHECK_FALSE(client.next_layer().read_pending());
        co_await client.write("still works");
        const std::string echoed = co_await client.read();
        CHECK(echoed == "still works");
        co_await client.shutdown();
        client.close();
        co_await server.server.shutdown(1s);
    };
    run_with_watchdog(body());
}

TEST_CASE("close() wakes a pending TLS read with stream_closed", "[tls]") {
    auto body = []() -> corio::task<std::string> {
        auto server = co_await start_echo(server_context());
        auto client = co_await connect_to(server.port(), trusting_client(), "localhost");
        std::string outcome;
        auto reader = [&]() -> corio::task<void> {
            try {
                (void)co_await client.read();
                outcome = "data";
            } catch (const corio::stream_closed&) {
                outcome = "closed";
            }
        };
        auto handle = corio::create_task(reader());
        co_await corio::sleep(20ms);
        client.close();
        co_await handle;
        co_await server.server.shutdown(1s);
        co_return outcome;
    };
    CHECK(run_with_watchdog(body()) == "closed");
}

TEST_CASE("wait_for bounds a handshake with a server that never answers", "[tls]") {
    auto body = []() -> corio::task<void> {
        auto silent = [](corio::tcp_stream s) -> corio::task<void> {
            while (!(co_await s.read()).empty()) {
            }
        };
        auto server = co_await corio::start_server(silent, "127.0.0.1", 0);
        auto tcp = co_await corio::open_connection("127.0.0.1", server.port());
        corio_test::stopwatch watch;
        bool timed_out = false;
        try {
            (void)co_await corio::wait_for(
                corio::tls::connect(std::move(tcp), trusting_client(), "localhost"), 150ms);
        } catch (const corio::timeout_error&) {
            timed_out = true;
        }
        CHECK(timed_out);
        CHECK(watch.elapsed() >= 100ms);
        CHECK(watch.elapsed() < 2s);
        // The abandoned handshake closed its socket: the server's read ends.
        co_await server.shutdown(1s);
        CHECK(server.active_connections() == 0);
    };
    run_with_watchdog(body());
}

TEST_CASE("Writes after shutdown and a second concurrent read are refused", "[tls]") {
    auto body = []() -> corio::task<void> {
        auto server = co_await start_echo(server_context());
        auto client = co_await connect_to(server.port(), trusting_client(), "localhost");
        auto reader = [&]() -> corio::task<std::string> { co_return co_await client.read(); };
        auto first = corio::create_task(reader());
        co_await corio::sleep(10ms);
        bool refused = false;
        try {
            (void)co_await client.read();
        } catch (const std::logic_error&) {
            refused = true;
        }
        CHECK(refused);
        co_await client.write("one");
        const std::string got = co_await first;
        CHECK(got == "one");

        co_await client.shutdown();
        co_await client.shutdown();  // idempotent
        bool write_refused = false;
        try {
            co_await client.write("late");
        } catch (const corio::tls::tls_error& error) {
            write_refused = contains(error.what(), "shut down");
        }
        CHECK(write_refused);
        const std::string end = co_await client.read();
        CHECK(end.empty());
        client.close();
        corio::tls::stream empty;
        CHECK_FALSE(empty.is_open());
        bool closed = false;
        try {
            (void)co_await empty.read();
        } catch (const corio::stream_closed&) {
            closed = true;
        }
        CHECK(closed);
        co_await server.server.shutdown(1s);
    };
    run_with_watchdog(body());
}

TEST_CASE("TLS 1.2 works, and a peer limited to TLS 1.1 is refused", "[tls]") {
    auto body = []() -> corio::task<void> {
        auto ctx12 = server_context();
        SSL_CTX_set_max_proto_version(ctx12.native_handle(), TLS1_2_VERSION);
        auto server = co_await start_echo(ctx12);
        auto client = co_await connect_to(server.port(), trusting_client(), "localhost");
        CHECK(std::string(client.protocol()) == "TLSv1.2");
        const std::string payload = pattern(200'000);
        co_await client.write(payload);
        std::string received;
        while (received.size() < payload.size()) {
            std::string chunk = co_await client.read();
            if (chunk.empty()) {
                break;
            }
            received += chunk;
        }
        CHECK(received == payload);
        co_await client.shutdown();
        const std::string end = co_await client.read();
        CHECK(end.empty());
        CHECK(client.received_close_notify());
        client.close();

        auto old = trusting_client();
        SSL_CTX_set_max_proto_version(old.native_handle(), TLS1_1_VERSION);
        const failure f = co_await try_connect(server.port(), old, "localhost");
        CHECK(f.kind == "tls");
        CHECK(contains(f.what, "error:"));
        co_await server.server.shutdown(1s);
    };
    run_with_watchdog(body());
}

TEST_CASE("A cancelled write leaves the stream unable to send but still able to read", "[tls]") {
    auto body = []() -> corio::task<void> {
        auto ctx = server_context();
        corio::event go;
        std::string server_end;
        // Accepts, then reads nothing until told, then says "done" and drains.
        auto stubborn = [ctx, &go, &server_end](corio::tcp_stream s) -> corio::task<void> {
            auto stream = co_await corio::tls::accept(std::move(s), ctx);
            co_await go.wait();
            co_await stream.write("done");
            try {
                while (!(co_await stream.read()).empty()) {
                }
                server_end = "end of stream";
            } catch (const corio::tls::tls_error& error) {
                server_end = error.what();
            }
        };
        auto server = co_await corio::start_server(stubborn, "127.0.0.1", 0);
        auto client = co_await connect_to(server.port(), trusting_client(), "localhost");
        corio::detail::set_send_buffer(client.next_layer().native_handle(), 16384);
        const std::string big(8'000'000, 'z');
        auto writer = [&]() -> corio::task<void> { co_await client.write(big); };
        auto handle = corio::create_task(writer());
        const bool blocked =
            co_await eventually([&] { return client.next_layer().write_pending(); });
        CHECK(blocked);
        handle.cancel();
        const bool cancelled = co_await corio_test::ended_cancelled(handle);
        CHECK(cancelled);
        CHECK_FALSE(client.next_layer().write_pending());
        bool refused = false;
        try {
            co_await client.write("more");
        } catch (const corio::tls::tls_error& error) {
            refused = contains(error.what(), "cancelled");
        }
        CHECK(refused);
        go.set();
        const std::string done = co_await client.read(4);
        CHECK(done == "done");
        client.close();
        co_await server.shutdown(1s);
        // The server read what was sent, then either the end of a record or
        // (most often) a record cut short by the cancellation.
        INFO(server_end);
        CHECK((server_end == "end of stream" ||
               contains(server_end, "closed in the middle of a TLS record")));
    };
    run_with_watchdog(body());
}
