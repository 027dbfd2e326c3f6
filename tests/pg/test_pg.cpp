// corio::pg against a throwaway PostgreSQL server (tests/support/pg_fixture.hpp).

#include "catch.hpp"
#include "pg_fixture.hpp"
#include "test_support.hpp"

#include <corio/combinators.hpp>
#include <corio/pg.hpp>
#include <corio/run.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/task.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

using namespace std::chrono_literals;
namespace pg = corio::pg;

namespace {

// The server, or null after marking the test skipped.
const corio_test::pg_server* server_or_skip() {
    const corio_test::pg_server* server = corio_test::pg_server::get();
    if (server == nullptr) {
        corio_test::skip_test(corio_test::pg_server::missing());
    }
    return server;
}

template <class T>
T run_pg(corio::task<T> t) {
    return corio_test::run_with_watchdog(std::move(t), 20s);
}

}  // namespace

TEST_CASE("pg connect runs a query and reports the server's command status") {
    const auto* server = server_or_skip();
    if (server == nullptr) {
        return;
    }
    run_pg([](std::string dsn) -> corio::task<> {
        pg::connection conn = co_await pg::connect(dsn);
        const auto one = co_await conn.fetchval<std::int32_t>("SELECT 1");
        CHECK(one == 1);
        const std::string status = co_await conn.execute("CREATE TEMP TABLE t (id int PRIMARY KEY, name text)");
        CHECK(status == "CREATE TABLE");
        const std::string inserted = co_await conn.execute("INSERT INTO t VALUES ($1, $2)", 1, "one");
        CHECK(inserted == "INSERT 0 1");
        CHECK(conn.backend_pid() > 0);
    }(server->dsn()));
}

TEST_CASE("pg connect to a closed port is a connection_error naming the target") {
    run_pg([]() -> corio::task<> {
        std::string message;
        try {
            (void)co_await pg::connect("postgresql://corio@127.0.0.1:1/postgres");
        } catch (const pg::connection_error& e) {
            message = e.what();
        }
        CHECK(message.find("127.0.0.1") != std::string::npos);
        CHECK(message.find("refused") != std::string::npos);
    }());
}

TEST_CASE("pg a wrong SCRAM password is a connection_error, the right one connects") {
    const auto* server = server_or_skip();
    if (server == nullptr) {
        return;
    }
    run_pg([](const corio_test::pg_server* server) -> corio::task<> {
        std::string message;
        try {
            (void)co_await pg::connect(server->dsn(corio_test::pg_server::scram_user, "wrong"));
        } catch (const pg::connection_error& e) {
            message = e.what();
        }
        CHECK(message.find("password authentication failed") != std::string::npos);
        pg::connection conn =
            co_await pg::connect(server->dsn(corio_test::pg_server::scram_user, corio_test::pg_server::scram_password));
        const auto user = co_await conn.fetchval<std::string>("SELECT current_user");
        CHECK(user == corio_test::pg_server::scram_user);
    }(server));
}

TEST_CASE("pg a host name is resolved by corio and connects") {
    const auto* server = server_or_skip();
    if (server == nullptr) {
        return;
    }
    run_pg([](int port) -> corio::task<> {
        pg::connection conn =
            co_await pg::connect("postgresql://corio@localhost:" + std::to_string(port) + "/postgres");
        const auto address = co_await conn.fetchval<std::string>("SELECT host(inet_server_addr())");
        CHECK(address == "127.0.0.1");
    }(server->port()));
}
