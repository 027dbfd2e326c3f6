// corio::pg over TLS (libpq's sslmode) against a throwaway PostgreSQL server
// with `ssl = on` and a certificate from a throwaway CA
// (tests/support/pg_fixture.hpp, pg_server::get_tls()).

#include "catch.hpp"
#include "pg_fixture.hpp"
#include "test_support.hpp"

#include <corio/combinators.hpp>
#include <corio/pg.hpp>
#include <corio/run.hpp>
#include <corio/net/tcp.hpp>
#include <corio/task.hpp>

#if defined(CORIO_WITH_TLS)
#include <corio/tls.hpp>
#endif

#include <chrono>
#include <cstdint>
#include <exception>
#include <set>
#include <string>
#include <tuple>
#include <vector>

using namespace std::chrono_literals;
namespace pg = corio::pg;

namespace {

const corio_test::pg_server* tls_server_or_skip() { return corio_test::pg_server_or_skip(true); }

using corio_test::run_pg;

// A key=value DSN for `host` with `settings` appended ("sslmode=require ...").
std::string tls_dsn(const corio_test::pg_server& server, const std::string& host, const std::string& settings,
                    const std::string& user = "corio") {
    return "host=" + host + " port=" + std::to_string(server.port()) + " user=" + user + " dbname=postgres " +
           settings;
}

constexpr const char* uses_tls = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";

// What connecting to `dsn` throws as connection_error ("" when it connects).
corio::task<std::string> connect_error(std::string dsn) {
    std::string message;
    try {
        pg::connection conn = co_await pg::connect(dsn);
    } catch (const pg::connection_error& e) {
        message = e.what();
    }
    co_return message;
}

}  // namespace

TEST_CASE("pg tls sslmode=require and verify-full connect over TLS") {
    const auto* server = tls_server_or_skip();
    if (server == nullptr) {
        return;
    }
    run_pg([](const corio_test::pg_server* server) -> corio::task<> {
        {
            pg::connection conn = co_await pg::connect(tls_dsn(*server, "127.0.0.1", "sslmode=require"));
            const bool encrypted = co_await conn.fetchval<bool>(uses_tls);
            CHECK(encrypted);
        }
        // The host name is resolved by corio and checked against the certificate by libpq.
        const std::string verified = "sslmode=verify-full sslrootcert=" + server->ca_file();
        {
            pg::connection conn = co_await pg::connect(tls_dsn(*server, "localhost", verified));
            const bool encrypted = co_await conn.fetchval<bool>(uses_tls);
            CHECK(encrypted);
            const std::string version = co_await conn.fetchval<std::string>(
                "SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
            CHECK(version.rfind("TLSv1.", 0) == 0);
        }
        {
            // The certificate names 127.0.0.1 too.
            pg::connection conn = co_await pg::connect(tls_dsn(*server, "127.0.0.1", verified));
            const bool encrypted = co_await conn.fetchval<bool>(uses_tls);
            CHECK(encrypted);
        }
        {
            // The TLS-only role gets in over TLS.
            pg::connection conn =
                co_await pg::connect(tls_dsn(*server, "localhost", verified, corio_test::pg_server::tls_user));
            const std::string user = co_await conn.fetchval<std::string>("SELECT current_user::text");
            CHECK(user == corio_test::pg_server::tls_user);
        }
    }(server));
}

TEST_CASE("pg tls verify-full with a wrong CA or a host name not in the certificate is a connection_error") {
    const auto* server = tls_server_or_skip();
    if (server == nullptr) {
        return;
    }
    run_pg([](const corio_test::pg_server* server) -> corio::task<> {
        const std::string wrong_ca =
            co_await connect_error(tls_dsn(*server, "localhost", "sslmode=verify-full sslrootcert=" +
                                                                     server->other_ca_file()));
        INFO(wrong_ca);
        CHECK(wrong_ca.find("localhost") != std::string::npos);
        CHECK(wrong_ca.find("certificate verify failed") != std::string::npos);

        // hostaddr given: the name is only checked against the certificate.
        const std::string wrong_name = co_await connect_error(
            "host=not-in-cert.test hostaddr=127.0.0.1 port=" + std::to_string(server->port()) +
            " user=corio dbname=postgres sslmode=verify-full sslrootcert=" + server->ca_file());
        INFO(wrong_name);
        CHECK(wrong_name.find("does not match host name \"not-in-cert.test\"") != std::string::npos);

        // A CA file that does not exist: libpq says so before connecting.
        const std::string no_ca = co_await connect_error(
            tls_dsn(*server, "localhost", "sslmode=verify-full sslrootcert=" + server->directory() + "/none.crt"));
        INFO(no_ca);
        CHECK(no_ca.find("none.crt") != std::string::npos);
    }(server));
}

TEST_CASE("pg tls sslmode=disable is refused by a server that requires TLS") {
    const auto* server = tls_server_or_skip();
    if (server == nullptr) {
        return;
    }
    run_pg([](const corio_test::pg_server* server) -> corio::task<> {
        const std::string refused = co_await connect_error(
            tls_dsn(*server, "127.0.0.1", "sslmode=disable", corio_test::pg_server::tls_user));
        INFO(refused);
        CHECK(refused.find("pg_hba.conf rejects connection") != std::string::npos);
        CHECK(refused.find("no encryption") != std::string::npos);
        // The same role with sslmode=prefer (libpq's default) tries TLS first and gets in.
        pg::connection conn =
            co_await pg::connect(tls_dsn(*server, "127.0.0.1", "sslmode=prefer", corio_test::pg_server::tls_user));
        const bool encrypted = co_await conn.fetchval<bool>(uses_tls);
        CHECK(encrypted);
    }(server));
}

TEST_CASE("pg tls a pool runs 100 concurrent queries over TLS connections") {
    const auto* server = tls_server_or_skip();
    if (server == nullptr) {
        return;
    }
    run_pg([](const corio_test::pg_server* server) -> corio::task<> {
        pg::pool_options options;
        options.dsn = tls_dsn(*server, "localhost", "sslmode=verify-full sslrootcert=" + server->ca_file());
        options.min_size = 0;  // every connection is opened while queries wait: handshakes run concurrently
        options.max_size = 10;
        pg::pool pool = co_await pg::create_pool(options);
        // Each query reports its backend and whether it runs over TLS; half
        // also carry a result larger than a TLS record.
        std::vector<corio::task<std::optional<pg::record>>> queries;
        for (std::int32_t i = 0; i < 100; ++i) {
            queries.push_back(pool.fetchrow(
                "SELECT $1::int4 AS i, pg_backend_pid() AS pid, s.ssl, repeat('x', ($1 % 2) * 40000) AS pad"
                " FROM pg_stat_ssl s WHERE s.pid = pg_backend_pid()",
                i));
        }
        const std::vector<std::optional<pg::record>> rows = co_await corio::gather(std::move(queries));
        std::set<std::int32_t> backends;
        bool all_right = true;
        for (std::int32_t i = 0; i < 100; ++i) {
            const auto& row = rows[static_cast<std::size_t>(i)];
            all_right = all_right && row.has_value() && row->get<std::int32_t>("i") == i && row->get<bool>("ssl") &&
                        row->get<std::string>("pad").size() == static_cast<std::size_t>((i % 2) * 40000);
            if (row) {
                backends.insert(row->get<std::int32_t>("pid"));
            }
        }
        CHECK(all_right);
        CHECK(!backends.empty());
        CHECK(backends.size() <= 10);
        co_await pool.close();
    }(server));
}

TEST_CASE("pg tls a large result and a cursor arrive whole over TLS") {
    const auto* server = tls_server_or_skip();
    if (server == nullptr) {
        return;
    }
    run_pg([](const corio_test::pg_server* server) -> corio::task<> {
        pg::connection conn = co_await pg::connect(tls_dsn(*server, "127.0.0.1", "sslmode=require"));
        // Rows of uneven sizes, so messages straddle TLS records at every offset.
        const std::vector<pg::record> rows = co_await conn.fetch(
            "SELECT i, repeat('r', i % 97) || i AS t, i * 0.5::float8 AS f FROM generate_series(1, 100000) AS i");
        REQUIRE(rows.size() == 100000);
        std::int64_t sum = 0;
        std::size_t text_bytes = 0;
        double half_sum = 0;
        for (const pg::record& row : rows) {
            sum += row.get<std::int32_t>(0);
            text_bytes += row.get<std::string_view>(1).size();
            half_sum += row.get<double>(2);
        }
        CHECK(sum == 5000050000);
        CHECK(half_sum == 2500025000.0);
        std::size_t expected_text = 0;
        for (int i = 1; i <= 100000; ++i) {
            expected_text += static_cast<std::size_t>(i % 97) + std::to_string(i).size();
        }
        CHECK(text_bytes == expected_text);

        // Large results pipelined on the one connection, between small ones.
        std::vector<corio::task<std::vector<pg::record>>> pipelined;
        pipelined.push_back(conn.fetch("SELECT i FROM generate_series(1, 50000) AS i"));
        pipelined.push_back(conn.fetch("SELECT 7"));
        pipelined.push_back(conn.fetch("SELECT repeat('w', 1000 + i) AS w FROM generate_series(1, 300) AS i"));
        pipelined.push_back(conn.fetch("SELECT 8"));
        const std::vector<std::vector<pg::record>> answers = co_await corio::gather(std::move(pipelined));
        REQUIRE(answers.size() == 4);
        CHECK(answers[0].size() == 50000);
        CHECK(answers[0].back().get<std::int32_t>(0) == 50000);
        REQUIRE(answers[1].size() == 1);
        CHECK(answers[1][0].get<std::int32_t>(0) == 7);
        REQUIRE(answers[2].size() == 300);
        CHECK(answers[2].back().get<std::string>(0).size() == 1300);
        REQUIRE(answers[3].size() == 1);
        CHECK(answers[3][0].get<std::int32_t>(0) == 8);

        // COPY (outside pipeline mode) over TLS.
        (void)co_await conn.execute("CREATE TEMP TABLE copied (id int, name text)");
        std::vector<std::tuple<std::int32_t, std::string>> loaded;
        for (std::int32_t i = 0; i < 20000; ++i) {
            loaded.emplace_back(i, "copied row " + std::to_string(i));
        }
        const std::vector<std::string> columns{"id", "name"};
        const std::string copy_status = co_await conn.copy_records_to_table("copied", loaded, columns);
        CHECK(copy_status == "COPY 20000");
        const auto copied_sum = co_await conn.fetchval<std::int64_t>("SELECT sum(id) FROM copied");
        CHECK(copied_sum == std::int64_t{19999} * 20000 / 2);

        corio::async_generator<pg::record> cursor =
            conn.cursor_batched(1000, "SELECT i FROM generate_series(1, 20000) AS i");
        std::int64_t streamed = 0;
        while (auto row = co_await cursor.next()) {
            streamed += row->get<std::int32_t>(0);
        }
        CHECK(streamed == std::int64_t{20000} * 20001 / 2);
    }(server));
}

namespace {

// A server that answers PostgreSQL's SSLRequest with `answer` ('S': go
// ahead, 'N': no TLS here), then stays silent until the client leaves
// (`hang_up`: closes at once instead).
corio::task<> fake_tls_server(corio::tcp_stream client, char answer, bool hang_up) {
    const std::string request = co_await client.read_exactly(8);
    const std::string reply(1, answer);
    co_await client.write(reply);
    if (hang_up) {
        client.close();
        co_return;
    }
    for (std::string chunk = co_await client.read(); !chunk.empty(); chunk = co_await client.read()) {
    }
}

}  // namespace

TEST_CASE("pg tls a handshake that stalls is cancelled by wait_for, one cut short or refused is a connection_error") {
    run_pg([]() -> corio::task<> {
        auto stalling = [](corio::tcp_stream client) { return fake_tls_server(std::move(client), 'S', false); };
        corio::tcp_server silent = co_await corio::start_server(stalling, "127.0.0.1", 0);
        const std::string silent_dsn =
            "host=127.0.0.1 port=" + std::to_string(silent.port()) + " user=corio sslmode=require";
        bool timed_out = false;
        const auto started = std::chrono::steady_clock::now();
        try {
            auto attempt = pg::connect(silent_dsn);
            (void)co_await corio::wait_for(std::move(attempt), 200ms);
        } catch (const corio::timeout_error&) {
            timed_out = true;
        }
        CHECK(timed_out);
        CHECK(std::chrono::steady_clock::now() - started < 5s);

        auto cutting = [](corio::tcp_stream client) { return fake_tls_server(std::move(client), 'S', true); };
        corio::tcp_server cut = co_await corio::start_server(cutting, "127.0.0.1", 0);
        const std::string cut_short = co_await connect_error(
            "host=127.0.0.1 port=" + std::to_string(cut.port()) + " user=corio sslmode=require");
        INFO(cut_short);
        CHECK(cut_short.find("127.0.0.1") != std::string::npos);
        CHECK(cut_short.find("SSL") != std::string::npos);

        auto refusing = [](corio::tcp_stream client) { return fake_tls_server(std::move(client), 'N', false); };
        corio::tcp_server plain = co_await corio::start_server(refusing, "127.0.0.1", 0);
        const std::string refused = co_await connect_error(
            "host=127.0.0.1 port=" + std::to_string(plain.port()) + " user=corio sslmode=require");
        INFO(refused);
        CHECK(refused.find("server does not support SSL") != std::string::npos);

        co_await silent.shutdown(1s);
        co_await cut.shutdown(1s);
        co_await plain.shutdown(1s);
    }());
}

#if defined(CORIO_WITH_TLS)

namespace {

// A TLS front for a PostgreSQL server, the way a proxy (or PostgreSQL 17,
// which sends a large message unbuffered) may speak: it answers the client's
// SSLRequest, terminates TLS, and relays to the server in plain TCP; each
// answer up to its ReadyForQuery is written in one piece, so it travels in
// records as large as TLS allows (16 KiB). A record larger than the room left
// in libpq's input buffer is decrypted in part: the rest waits inside OpenSSL,
// and when it ends an answer no socket readiness will ever announce it.
corio::task<> relay_to_server(corio::tcp_stream client, std::uint16_t server_port) {
    const std::string ssl_request("\0\0\0\x08\x04\xd2\x16\x2f", 8);
    const std::string request = co_await client.read_exactly(8);
    if (request != ssl_request) {
        co_return;
    }
    co_await client.write("S");
    corio::tls::context context = corio::tls::context::server(corio_test::tls_certs().server_cert,
                                                              corio_test::tls_certs().server_key);
    corio::tls::stream<> secure = co_await corio::tls::accept(std::move(client), std::move(context));
    corio::tcp_stream server = co_await corio::open_connection("127.0.0.1", server_port);
    auto requests = [](corio::tls::stream<>& from, corio::tcp_stream& to) -> corio::task<> {
        try {
            for (std::string chunk = co_await from.read(); !chunk.empty(); chunk = co_await from.read()) {
                co_await to.write(chunk);
            }
        } catch (const std::exception&) {
        }
        to.close();
    };
    auto answers = [](corio::tcp_stream& from, corio::tls::stream<>& to) -> corio::task<> {
        try {
            std::string pending;  // messages not yet sent: everything up to a ReadyForQuery goes at once
            std::size_t parsed = 0;
            for (std::string chunk = co_await from.read(); !chunk.empty(); chunk = co_await from.read()) {
                pending += chunk;
                bool ready = false;
                while (pending.size() - parsed >= 5) {
                    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(pending[parsed + i]); };
                    const std::size_t length = (std::size_t{byte(1)} << 24) | (std::size_t{byte(2)} << 16) |
                                               (std::size_t{byte(3)} << 8) | byte(4);
                    if (pending.size() - parsed < 1 + length) {
                        break;
                    }
                    ready = ready || pending[parsed] == 'Z';
                    parsed += 1 + length;
                }
                if (ready) {
                    const std::string answer = pending.substr(0, parsed);
                    pending.erase(0, parsed);
                    co_await to.write(answer);
                    parsed = 0;
                }
            }
        } catch (const std::exception&) {
        }
        to.close();
    };
    auto upward = requests(secure, server);
    auto downward = answers(server, secure);
    co_await corio::gather(std::move(upward), std::move(downward));
}

}  // namespace

TEST_CASE("pg tls answers ending in plaintext buffered inside OpenSSL do not stall the connection") {
    const auto* server = tls_server_or_skip();
    if (server == nullptr) {
        return;
    }
    run_pg([](const corio_test::pg_server* server) -> corio::task<> {
        const auto server_port = static_cast<std::uint16_t>(server->port());
        auto relay = [server_port](corio::tcp_stream client) { return relay_to_server(std::move(client), server_port); };
        corio::tcp_server front = co_await corio::start_server(relay, "127.0.0.1", 0);
        pg::connection conn = co_await pg::connect("host=localhost port=" + std::to_string(front.port()) +
                                                   " user=corio dbname=postgres sslmode=verify-full sslrootcert=" +
                                                   server->ca_file());
        // Answers of a few rows, each row a good part of a record: the room
        // left in libpq's 16 KiB buffer behind a part of a row is often less
        // than the answer's last record. (First: libpq's buffer only grows.)
        bool all_right = true;
        for (std::int32_t width = 3000; width < 9000; width += 211) {
            const std::vector<pg::record> wide =
                co_await conn.fetch("SELECT repeat('w', $1) FROM generate_series(1, 2 + $1 % 5)", width);
            all_right = all_right && wide.size() == static_cast<std::size_t>(2 + width % 5) &&
                        wide.back().get<std::string_view>(0).size() == static_cast<std::size_t>(width);
        }
        CHECK(all_right);
        // Answers of every size across a few TLS records, one at a time: each
        // must arrive although its last bytes may sit decrypted in OpenSSL.
        for (std::int32_t size = 1000; size < 70000; size += 1237) {
            const std::string text = co_await conn.fetchval<std::string>("SELECT repeat('p', $1)", size);
            all_right = all_right && text.size() == static_cast<std::size_t>(size);
        }
        CHECK(all_right);
        // Many rows in one answer, and a COPY (outside pipeline mode) after it.
        const std::vector<pg::record> rows =
            co_await conn.fetch("SELECT i, repeat('r', i % 301) AS t FROM generate_series(1, 20000) AS i");
        CHECK(rows.size() == 20000);
        const std::string status = co_await conn.execute(
            "CREATE TEMP TABLE relayed (n int); INSERT INTO relayed SELECT generate_series(1, 10)");
        CHECK(status == "INSERT 0 10");
        conn.close();
        co_await front.shutdown(std::chrono::seconds(1));
    }(server));
}

#endif
