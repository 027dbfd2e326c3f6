// https through corio::http::client_session (client.hpp over corio::tls): a
// corio TLS server on loopback with a certificate from a CA made at test time.
#include <corio/http/client.hpp>
#include <corio/net.hpp>
#include <corio/tls.hpp>

#include "catch.hpp"
#include "test_support.hpp"
#include "tls_support.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>

using namespace std::chrono_literals;
namespace http = corio::http;
using corio_test::tls_certs;

namespace {

struct https_stats {
    int handshakes = 0;
    int requests = 0;
};

// Answers every request on a TLS connection with "secure <target>", keeping
// the connection alive until the client closes it.
corio::task<void> serve_https(corio::tcp_stream socket, corio::tls::context ctx, std::shared_ptr<https_stats> stats) {
    std::optional<corio::tls::stream<>> stream;
    try {
        stream.emplace(co_await corio::tls::accept(std::move(socket), ctx));
    } catch (const std::exception&) {
        co_return;  // the client refused our certificate: nothing to serve
    }
    ++stats->handshakes;
    std::string pending;
    for (;;) {
        std::size_t end = pending.find("\r\n\r\n");
        while (end == std::string::npos) {
            std::string more = co_await stream->read();
            if (more.empty()) {
                co_return;
            }
            pending += more;
            end = pending.find("\r\n\r\n");
        }
        const std::size_t target_start = pending.find(' ') + 1;
        const std::string target = pending.substr(target_start, pending.find(' ', target_start) - target_start);
        pending.erase(0, end + 4);
        ++stats->requests;
        const std::string body = "secure " + target;
        co_await stream->write("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
    }
}

struct https_server {
    corio::tcp_server server;
    std::shared_ptr<https_stats> stats;
    std::string url(const std::string& host, const std::string& path) const {
        return "https://" + host + ":" + std::to_string(server.port()) + path;
    }
};

corio::task<https_server> start_https(std::string host) {
    auto stats = std::make_shared<https_stats>();
    corio::tls::context ctx = corio::tls::context::server(tls_certs().server_cert, tls_certs().server_key);
    auto handler = [ctx, stats](corio::tcp_stream s) { return serve_https(std::move(s), ctx, stats); };
    corio::tcp_server server = co_await corio::start_server(handler, std::move(host), 0);
    co_return https_server{std::move(server), std::move(stats)};
}

http::session_options trusting(std::string ca_file) {
    http::session_options options;
    options.ca_file = std::move(ca_file);
    return options;
}

// What a failed fetch threw: "" when it succeeded.
struct fetch_failure {
    std::string what;
    bool certificate = false;  // the cause is a corio::tls::certificate_error
};

corio::task<fetch_failure> failing_fetch(http::session_options options, std::string url) {
    http::client_session session(std::move(options));
    fetch_failure result;
    try {
        http::client_response r = co_await session.get(url);
        result.what = "";
    } catch (const http::client_connection_error& e) {
        result.what = e.what();
        try {
            if (e.cause()) {
                std::rethrow_exception(e.cause());
            }
        } catch (const corio::tls::certificate_error&) {
            result.certificate = true;
        } catch (...) {
        }
    }
    co_await session.close();
    co_return result;
}

}  // namespace

TEST_CASE("https GETs verify the server against a given CA and reuse one TLS connection", "[http][client][tls]") {
    corio_test::run_with_watchdog([]() -> corio::task<void> {
        https_server server = co_await start_https("127.0.0.1");
        http::client_session session(trusting(tls_certs().ca));
        for (int i = 0; i < 3; ++i) {
            http::client_response r = co_await session.get(server.url("localhost", "/n" + std::to_string(i)));
            CHECK(r.status() == 200);
            const std::string text = co_await r.text();
            CHECK(text == "secure /n" + std::to_string(i));
        }
        CHECK(server.stats->requests == 3);
        CHECK(server.stats->handshakes == 1);
        CHECK(session.connections_opened() == 1);
        co_await session.close();
    }(), 20s);
}

TEST_CASE("https to an IP literal checks the certificate's IP address", "[http][client][tls]") {
    corio_test::run_with_watchdog([]() -> corio::task<void> {
        https_server good = co_await start_https("127.0.0.1");
        http::client_session session(trusting(tls_certs().ca));
        http::client_response r = co_await session.get(good.url("127.0.0.1", "/ip"));
        const std::string text = co_await r.text();
        CHECK(text == "secure /ip");
        co_await session.close();

        // The certificate names localhost and 127.0.0.1, not 127.0.0.2.
        https_server other = co_await start_https("127.0.0.2");
        const fetch_failure mismatch = co_await failing_fetch(trusting(tls_certs().ca), other.url("127.0.0.2", "/"));
        CHECK_FALSE(mismatch.what.empty());
        CHECK(mismatch.certificate);
        CHECK(other.stats->requests == 0);
    }(), 20s);
}

TEST_CASE("https refuses a certificate from a CA it does not trust", "[http][client][tls]") {
    corio_test::run_with_watchdog([]() -> corio::task<void> {
        https_server server = co_await start_https("127.0.0.1");
        // The system store does not know the test CA. (Named options: GCC 12
        // frees a braced temporary in a co_await expression twice.)
        const http::session_options system_defaults;
        const fetch_failure system_store = co_await failing_fetch(system_defaults, server.url("localhost", "/"));
        CHECK(system_store.certificate);
        CHECK(system_store.what.find("localhost") != std::string::npos);
        // Nor does an unrelated CA.
        const fetch_failure other_ca = co_await failing_fetch(trusting(tls_certs().other_ca), server.url("localhost", "/"));
        CHECK(other_ca.certificate);
        CHECK(server.stats->requests == 0);
    }(), 20s);
}

TEST_CASE("https with verification off accepts any certificate", "[http][client][tls]") {
    corio_test::run_with_watchdog([]() -> corio::task<void> {
        https_server server = co_await start_https("127.0.0.2");
        http::session_options options;
        options.verify = false;
        http::client_session session(options);
        http::client_response r = co_await session.get(server.url("127.0.0.2", "/any"));
        const std::string text = co_await r.text();
        CHECK(text == "secure /any");
        co_await session.close();
    }(), 20s);
}

TEST_CASE("an https URL against a plain-HTTP port fails with a connection error", "[http][client][tls]") {
    corio_test::run_with_watchdog([]() -> corio::task<void> {
        auto plain = [](corio::tcp_stream s) -> corio::task<void> {
            co_await s.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
            s.close();
        };
        corio::tcp_server server = co_await corio::start_server(plain, "127.0.0.1", 0);
        const fetch_failure failure = co_await failing_fetch(
            trusting(tls_certs().ca), "https://127.0.0.1:" + std::to_string(server.port()) + "/");
        CHECK_FALSE(failure.what.empty());
        CHECK_FALSE(failure.certificate);
    }(), 20s);
}
