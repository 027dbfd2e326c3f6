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
#include <limits>
#include <optional>
#include <string>
#include <vector>

using namespace std::chrono_literals;
namespace pg = corio::pg;

namespace {

const corio_test::pg_server* server_or_skip() { return corio_test::pg_server_or_skip(false); }

using corio_test::run_pg;

// The state pg_stat_activity shows for backend `pid` once it stopped being
// "active" (polled for up to 2 s): what a cancelled statement leaves.
corio::task<std::string> state_after_cancel(pg::connection& observer, int pid) {
    std::string state = "active";
    for (int i = 0; i < 100 && state == "active"; ++i) {
        state = co_await observer.fetchval<std::string>(
            "SELECT coalesce((SELECT state FROM pg_stat_activity WHERE pid = $1), 'gone')", pid);
        if (state == "active") {
            co_await corio::sleep(20ms);
        }
    }
    co_return state;
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
        const std::string by_name = "postgresql://corio@localhost:" + std::to_string(port) + "/postgres";
        pg::connection conn = co_await pg::connect(by_name);
        const auto address = co_await conn.fetchval<std::string>("SELECT host(inet_server_addr())");
        CHECK(address == "127.0.0.1");
    }(server->port()));
}

TEST_CASE("pg every type round-trips in binary, NULLs included") {
    const auto* server = server_or_skip();
    if (server == nullptr) {
        return;
    }
    run_pg([](std::string dsn) -> corio::task<> {
        pg::connection conn = co_await pg::connect(dsn);
        const std::int16_t small = -12345;
        const std::int32_t medium = 2147483646;
        const std::int64_t large = -9000000000000000000;
        const std::string accented = "héllo";
        const pg::json document{"{\"a\": 1}"};
        const pg::jsonb binary_document{"{\"a\":  [1, 2]}"};
        {
            const auto awaited = co_await conn.fetchval<bool>("SELECT $1::bool", true);
            CHECK(awaited == true);
        }
        {
            const auto awaited = co_await conn.fetchval<bool>("SELECT NOT $1", true);
            CHECK(awaited == false);
        }
        {
            const auto awaited = co_await conn.fetchval<std::int16_t>("SELECT $1::int2", small);
            CHECK(awaited == -12345);
        }
        {
            const auto awaited = co_await conn.fetchval<std::int32_t>("SELECT $1::int4 + 1", medium);
            CHECK(awaited == 2147483647);
        }
        {
            const auto awaited = co_await conn.fetchval<std::int64_t>("SELECT $1::int8", large);
            CHECK(awaited == -9000000000000000000);
        }
        // A smaller integer column widens; a wider one does not narrow.
        {
            const auto awaited = co_await conn.fetchval<std::int64_t>("SELECT 7::int2");
            CHECK(awaited == 7);
        }
        {
            const auto awaited = co_await conn.fetchval<float>("SELECT $1::float4", 1.5F);
            CHECK(awaited == 1.5F);
        }
        {
            const auto awaited = co_await conn.fetchval<double>("SELECT $1::float8 * 2", 0.25);
            CHECK(awaited == 0.5);
        }
        {
            const auto awaited = co_await conn.fetchval<std::string>("SELECT $1::text || '!'", accented);
            CHECK(awaited == "héllo!");
        }
        {
            const auto awaited = co_await conn.fetchval<std::string>("SELECT $1::varchar(10)", "abc");
            CHECK(awaited == "abc");
        }
        const std::string_view view = "view";
        {
            const auto awaited = co_await conn.fetchval<std::string>("SELECT upper($1)", view);
            CHECK(awaited == "VIEW");
        }

        const std::vector<std::byte> blob{std::byte{0}, std::byte{0xff}, std::byte{'\\'}, std::byte{7}};
        {
            const auto awaited = co_await conn.fetchval<std::vector<std::byte>>("SELECT $1::bytea", blob);
            CHECK((awaited == blob));
        }
        {
            const auto awaited = co_await conn.fetchval<std::int32_t>("SELECT length($1::bytea)", blob);
            CHECK(awaited == 4);
        }

        const pg::uuid id = pg::uuid::parse("123e4567-e89b-12d3-a456-426614174000");
        {
            const auto awaited = co_await conn.fetchval<pg::uuid>("SELECT $1::uuid", id);
            CHECK(awaited == id);
        }
        {
            const auto awaited = co_await conn.fetchval<std::string>("SELECT $1::uuid", id);
            CHECK(awaited == "123e4567-e89b-12d3-a456-426614174000");
        }
        {
            const auto awaited = co_await conn.fetchval<pg::uuid>("SELECT '123e4567-e89b-12d3-a456-426614174000'::uuid");
            CHECK(awaited == id);
        }

        for (const char* text : {"0", "1", "-1", "12345678901234567890.000123", "0.0001", "-0.5", "10000",
                                 "3.14159", "NaN", "1e-10", "100.10"}) {
            const auto expected = co_await conn.fetchval<std::string>("SELECT $1::numeric::text", text);
            const auto decoded = co_await conn.fetchval<pg::numeric>("SELECT $1::numeric", text);
            CHECK(decoded.text == expected);
        }
        const pg::numeric sent{"-98765.4321"};
        {
            const auto awaited = co_await conn.fetchval<std::string>("SELECT $1 * 2", sent);
            CHECK(awaited == "-197530.8642");
        }

        using namespace std::chrono;
        const pg::date day = sys_days(year(2024) / February / 29);
        {
            const auto awaited = co_await conn.fetchval<pg::date>("SELECT $1::date + 1", day);
            CHECK(awaited == sys_days(year(2024) / March / 1));
        }
        {
            const auto awaited = co_await conn.fetchval<pg::date>("SELECT '1999-12-31'::date");
            CHECK(awaited == sys_days(year(1999) / 12 / 31));
        }
        const pg::timestamp local = local_days(year(2023) / 6 / 15) + 13h + 14min + 15s + 123456us;
        {
            const auto awaited = co_await conn.fetchval<pg::timestamp>("SELECT $1::timestamp", local);
            CHECK(awaited == local);
        }
        {
            const auto awaited = co_await conn.fetchval<std::string>("SELECT $1::timestamp::text", local);
            CHECK(awaited == "2023-06-15 13:14:15.123456");
        }
        const pg::timestamptz instant = sys_days(year(1970) / 1 / 2) + 1h + 1us;
        {
            const auto awaited = co_await conn.fetchval<pg::timestamptz>("SELECT $1::timestamptz", instant);
            CHECK(awaited == instant);
        }
        {
            const auto awaited = co_await conn.fetchval<std::int64_t>("SELECT extract(epoch FROM $1::timestamptz)::int8", instant);
            CHECK(awaited == 86400 + 3600);
        }
        const auto now = system_clock::now();
        const auto back = co_await conn.fetchval<system_clock::time_point>("SELECT $1", now);
        CHECK(back == floor<microseconds>(now));

        {
            const auto awaited = co_await conn.fetchval<std::string>("SELECT $1::json", document);
            CHECK(awaited == "{\"a\": 1}");
        }
        {
            const auto awaited = co_await conn.fetchval<std::string>("SELECT $1::jsonb", binary_document);
            CHECK(awaited == "{\"a\": [1, 2]}");
        }
        {
            const pg::jsonb awaited = co_await conn.fetchval<pg::jsonb>("SELECT '{\"b\":2}'::jsonb");
            CHECK(awaited.text == "{\"b\": 2}");
        }
        {
            const auto awaited = co_await conn.fetchval<std::string>("SELECT $1::jsonb ->> 'k'", "{\"k\": \"v\"}");
            CHECK(awaited == "v");
        }

        const std::vector<std::int32_t> numbers{1, -2, 300000};
        {
            const auto awaited = co_await conn.fetchval<std::vector<std::int32_t>>("SELECT $1::int4[]", numbers);
            CHECK(awaited == numbers);
        }
        {
            const auto awaited = co_await conn.fetchval<std::int32_t>("SELECT array_length($1, 1)", numbers);
            CHECK(awaited == 3);
        }
        const std::vector<std::string> words{"a", "", "c,d", "\"q\""};
        {
            const auto awaited = co_await conn.fetchval<std::vector<std::string>>("SELECT $1::text[]", words);
            CHECK(awaited == words);
        }
        const std::vector<std::optional<std::int64_t>> holes{1, std::nullopt, 3};
        {
            const auto awaited = co_await conn.fetchval<std::vector<std::optional<std::int64_t>>>("SELECT $1", holes);
            CHECK(awaited == holes);
        }
        {
            const auto awaited = co_await conn.fetchval<std::vector<double>>("SELECT ARRAY[]::float8[]");
            CHECK(awaited == std::vector<double>{});
        }
        {
            const auto awaited = co_await conn.fetchval<std::vector<bool>>("SELECT ARRAY[true, false]");
            CHECK(awaited == std::vector<bool>{true, false});
        }
        {
            const auto awaited = co_await conn.fetchval<std::vector<pg::date>>("SELECT ARRAY['2000-01-01'::date]");
            CHECK(awaited == std::vector<pg::date>{sys_days(year(2000) / 1 / 1)});
        }

        // NULL both ways.
        const std::optional<std::int32_t> none;
        {
            const auto awaited = co_await conn.fetchval<std::optional<std::int32_t>>("SELECT $1::int4", none);
            CHECK(awaited == std::nullopt);
        }
        {
            const auto awaited = co_await conn.fetchval<std::optional<std::string>>("SELECT NULL::text");
            CHECK(awaited == std::nullopt);
        }
        {
            const auto awaited = co_await conn.fetchval<bool>("SELECT $1::text IS NULL", nullptr);
            CHECK(awaited == true);
        }
        const std::optional<std::int32_t> some = 5;
        {
            const auto awaited = co_await conn.fetchval<std::optional<std::int32_t>>("SELECT $1", some);
            CHECK(awaited == 5);
        }
    }(server->dsn()));
}

TEST_CASE("pg infinite and far timestamps and dates: max() and min(), or a named error where the C++ type ends") {
    const auto* server = server_or_skip();
    if (server == nullptr) {
        return;
    }
    run_pg([](std::string dsn) -> corio::task<> {
        using namespace std::chrono;
        pg::connection conn = co_await pg::connect(dsn);
        {
            const auto awaited = co_await conn.fetchval<pg::timestamptz>("SELECT 'infinity'::timestamptz");
            CHECK(awaited == pg::timestamptz::max());
        }
        {
            const auto awaited = co_await conn.fetchval<system_clock::time_point>("SELECT '-infinity'::timestamptz");
            CHECK(awaited == system_clock::time_point::min());
        }
        {
            const auto awaited = co_await conn.fetchval<pg::timestamp>("SELECT 'infinity'::timestamp");
            CHECK(awaited == pg::timestamp::max());
        }
        {
            const auto awaited = co_await conn.fetchval<pg::date>("SELECT '-infinity'::date");
            CHECK(awaited == pg::date::min());
        }
        // And back: max() and min() are sent as infinity.
        {
            const auto awaited = co_await conn.fetchval<bool>("SELECT $1::timestamptz = 'infinity'", pg::timestamptz::max());
            CHECK(awaited);
        }
        {
            const auto awaited =
                co_await conn.fetchval<bool>("SELECT $1::timestamp = '-infinity'", local_time<seconds>::min());
            CHECK(awaited);
        }
        {
            const auto awaited = co_await conn.fetchval<bool>("SELECT $1::date = 'infinity'", pg::date::max());
            CHECK(awaited);
        }
        // Year 3000 fits microseconds but not system_clock's nanoseconds (up to 2262).
        const pg::timestamptz far = sys_days(year(3000) / 1 / 1) + 1us;
        {
            const auto awaited = co_await conn.fetchval<pg::timestamptz>("SELECT '3000-01-01 00:00:00.000001+00'::timestamptz");
            CHECK(awaited == far);
        }
        std::string message;
        try {
            (void)co_await conn.fetchval<sys_time<nanoseconds>>("SELECT '3000-01-01'::timestamptz");
        } catch (const pg::interface_error& e) {
            message = e.what();
        }
        CHECK(message.find("timestamptz value outside the range") != std::string::npos);
        // The connection is fine after it.
        const auto one = co_await conn.fetchval<std::int32_t>("SELECT 1");
        CHECK(one == 1);
    }(server->dsn()));
}

TEST_CASE("pg codecs: a time point PostgreSQL cannot hold, and an array count its bytes cannot hold, are named errors") {
    using namespace std::chrono;
    std::string out;
    // 300,000 years is past timestamptz's 64-bit microseconds.
    const sys_time<seconds> too_far{seconds(std::int64_t{300'000} * 366 * 86'400)};
    CHECK_THROWS_AS(pg::codec<sys_time<seconds>>::encode(too_far, out), pg::interface_error);
    CHECK(out.empty());
    CHECK_THROWS_AS(pg::codec<pg::date>::encode(sys_days(days(std::int64_t{1} << 40)), out), pg::interface_error);
    CHECK_THROWS_AS(pg::codec<pg::date>::encode(sys_days::min() + days(1), out), pg::interface_error);
    // Seconds whose count in microseconds since 1970 passes 64 bits (year 294,247): refused, though
    // PostgreSQL's range goes on to 294,276, rather than converted through an overflow.
    const sys_time<seconds> edge{seconds(std::numeric_limits<std::int64_t>::max() / 1'000'000 + 1)};
    CHECK_THROWS_AS(pg::codec<sys_time<seconds>>::encode(edge, out), pg::interface_error);
    // A microsecond count whose distance to 1970 overflows 64 bits.
    std::string max_finite;
    pg::detail::put_be(max_finite, static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max() - 1));
    CHECK_THROWS_AS(pg::codec<pg::timestamptz>::decode(max_finite, pg::detail::oids::timestamptz), pg::interface_error);
    // One dimension, flags, int4 elements, then a count of 2^31 - 1 with no element after it.
    std::string array;
    for (const std::uint32_t word : {1U, 0U, 23U, 0x7fffffffU, 1U}) {
        pg::detail::put_be(array, word);
    }
    CHECK_THROWS_AS(pg::codec<std::vector<std::int32_t>>::decode(array, pg::detail::oids::int4_array),
                    pg::interface_error);
    std::string two = array.substr(0, 12);
    for (const std::uint32_t word : {2U, 1U, 4U, 7U, 4U, 9U}) {
        pg::detail::put_be(two, word);
    }
    CHECK(pg::codec<std::vector<std::int32_t>>::decode(two, pg::detail::oids::int4_array) == std::vector<std::int32_t>{7, 9});
}

TEST_CASE("pg records read by index and name, and misreads are named errors") {
    const auto* server = server_or_skip();
    if (server == nullptr) {
        return;
    }
    run_pg([](std::string dsn) -> corio::task<> {
        pg::connection conn = co_await pg::connect(dsn);
        std::vector<pg::record> rows =
            co_await conn.fetch("SELECT g AS id, 'n' || g AS name, NULL::int AS missing FROM generate_series(1, $1) g",
                                3);
        REQUIRE(rows.size() == 3);
        CHECK(rows[0].size() == 3);
        CHECK(rows[0].column_names() == std::vector<std::string>{"id", "name", "missing"});
        CHECK(rows[2].get<int>("id") == 3);
        CHECK(rows[2].get<std::string>(1) == "n3");
        CHECK(rows[1].get<std::optional<int>>("missing") == std::nullopt);
        CHECK(rows[1].is_null("missing"));

        // Records share their result: copies, moves and assignments keep it
        // alive after the vector is gone, and each keeps its own row.
        {
            std::vector<pg::record> scratch = rows;
            pg::record kept = scratch[2];
            pg::record moved = std::move(scratch[0]);
            pg::record assigned = scratch[1];
            assigned = kept;
            kept = std::move(moved);
            scratch.clear();
            CHECK(kept.get<int>("id") == 1);
            CHECK(assigned.get<int>("id") == 3);
            std::vector<pg::record> alone = co_await conn.fetch("SELECT 'only' AS word");
            pg::record survivor = alone.front();
            alone.clear();
            CHECK(survivor.get<std::string>("word") == "only");
            survivor = assigned;
            CHECK(survivor.get<std::string>("name") == "n3");
        }

        std::string message;
        try {
            (void)rows[0].get<int>("missing");
        } catch (const pg::null_value_error& e) {
            message = e.what();
        }
        CHECK(message.find("\"missing\"") != std::string::npos);

        message.clear();
        try {
            (void)rows[0].get<std::int32_t>("name");
        } catch (const pg::type_mismatch_error& e) {
            message = e.what();
        }
        CHECK(message.find("\"name\"") != std::string::npos);
        CHECK(message.find("text") != std::string::npos);
        CHECK(message.find("std::int32_t") != std::string::npos);

        CHECK_THROWS_AS(rows[0].get<int>("nope"), pg::interface_error);
        CHECK_THROWS_AS(rows[0].get<int>(7), pg::interface_error);
        CHECK_THROWS_AS(rows[0].get<std::int16_t>("id"), pg::type_mismatch_error);  // int4 does not narrow

        const std::optional<pg::record> none = co_await conn.fetchrow("SELECT 1 WHERE false");
        CHECK_FALSE(none.has_value());
        const auto missing = co_await conn.fetchval<std::optional<int>>("SELECT 1 WHERE false");
        CHECK_FALSE(missing.has_value());
        bool threw = false;
        try {
            (void)co_await conn.fetchval<int>("SELECT 1 WHERE false");
        } catch (const pg::interface_error&) {
            threw = true;
        }
        CHECK(threw);
    }(server->dsn()));
}

namespace {

template <class Error>
corio::task<std::string> sqlstate_of(pg::connection& conn, std::string sql) {
    std::string state = "(no error)";
    try {
        (void)co_await conn.execute(std::move(sql));
    } catch (const Error& e) {
        state = e.sqlstate();
    } catch (const pg::postgres_error& e) {
        state = "wrong class: " + e.sqlstate();
    }
    co_return state;
}

}  // namespace

TEST_CASE("pg server errors are postgres_error subclasses with their SQLSTATE") {
    const auto* server = server_or_skip();
    if (server == nullptr) {
        return;
    }
    run_pg([](std::string dsn) -> corio::task<> {
        pg::connection conn = co_await pg::connect(dsn);
        (void)co_await conn.execute("CREATE TEMP TABLE parent (id int PRIMARY KEY)");
        (void)co_await conn.execute(
            "CREATE TEMP TABLE child (id int PRIMARY KEY, parent int REFERENCES parent, v int NOT NULL CHECK (v > 0))");
        (void)co_await conn.execute("INSERT INTO parent VALUES (1)");
        (void)co_await conn.execute("INSERT INTO child VALUES (1, 1, 1)");
        {
            const auto awaited = co_await sqlstate_of<pg::unique_violation>(conn, "INSERT INTO child VALUES (1, 1, 1)");
            CHECK(awaited == "23505");
        }
        {
            const auto awaited = co_await sqlstate_of<pg::foreign_key_violation>(conn, "INSERT INTO child VALUES (2, 9, 1)");
            CHECK(awaited == "23503");
        }
        {
            const auto awaited = co_await sqlstate_of<pg::not_null_violation>(conn, "INSERT INTO child VALUES (3, 1, NULL)");
            CHECK(awaited == "23502");
        }
        {
            const auto awaited = co_await sqlstate_of<pg::check_violation>(conn, "INSERT INTO child VALUES (4, 1, -1)");
            CHECK(awaited == "23514");
        }
        {
            const auto awaited = co_await sqlstate_of<pg::undefined_table>(conn, "SELECT * FROM no_such_table");
            CHECK(awaited == "42P01");
        }
        {
            const auto awaited = co_await sqlstate_of<pg::undefined_column>(conn, "SELECT no_such_column FROM parent");
            CHECK(awaited == "42703");
        }
        {
            const auto awaited = co_await sqlstate_of<pg::syntax_error>(conn, "SELEC 1");
            CHECK(awaited == "42601");
        }
        {
            const auto awaited = co_await sqlstate_of<pg::serialization_failure>(
                  conn, "DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '40001'; END $$");
            CHECK(awaited == "40001");
        }
        {
            const auto awaited = co_await sqlstate_of<pg::deadlock_detected>(
                  conn, "DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '40P01'; END $$");
            CHECK(awaited == "40P01");
        }

        // The server's detail and hint come through.
        std::string detail, hint, message;
        try {
            (void)co_await conn.execute(
                "DO $$ BEGIN RAISE EXCEPTION 'boom' USING DETAIL = 'the detail', HINT = 'the hint'; END $$");
        } catch (const pg::postgres_error& e) {
            message = e.message();
            detail = e.detail();
            hint = e.hint();
        }
        CHECK(message == "boom");
        CHECK(detail == "the detail");
        CHECK(hint == "the hint");
        // The connection is still usable after errors, and a failed prepare is not cached.
        {
            const auto awaited = co_await sqlstate_of<pg::syntax_error>(conn, "SELEC 2");
            CHECK(awaited == "42601");
        }
        {
            const auto awaited = co_await conn.fetchval<std::int64_t>("SELECT count(*) FROM child");
            CHECK(awaited == 1);
        }
    }(server->dsn()));
}

TEST_CASE("pg statements issued concurrently on one connection are pipelined and answered in order") {
    const auto* server = server_or_skip();
    if (server == nullptr) {
        return;
    }
    run_pg([](std::string dsn) -> corio::task<> {
        pg::connection conn = co_await pg::connect(dsn);
        (void)co_await conn.execute("CREATE TEMP TABLE log (seq serial, task int)");
        constexpr int tasks = 50;
        std::vector<corio::task<std::int32_t>> work;
        for (int i = 0; i < tasks; ++i) {
            work.push_back([](pg::connection& conn, int i) -> corio::task<std::int32_t> {
                (void)co_await conn.execute("INSERT INTO log (task) VALUES ($1)", i);
                // A slower statement in the middle does not let later ones overtake it.
                if (i == 10) {
                    (void)co_await conn.execute("SELECT pg_sleep(0.05)");
                }
                co_return co_await conn.fetchval<std::int32_t>("SELECT $1::int4 * 2", i);
            }(conn, i));
        }
        const std::vector<std::int32_t> doubled = co_await corio::gather(std::move(work));
        for (int i = 0; i < tasks; ++i) {
            CHECK(doubled[static_cast<std::size_t>(i)] == 2 * i);
        }
        // The inserts reached the server in issue order.
        const std::vector<pg::record> rows = co_await conn.fetch("SELECT task FROM log ORDER BY seq");
        REQUIRE(rows.size() == tasks);
        for (int i = 0; i < tasks; ++i) {
            CHECK(rows[static_cast<std::size_t>(i)].get<int>(0) == i);
        }
        CHECK(conn.pending() == 0);
    }(server->dsn()));
}

TEST_CASE("pg a query cancelled by wait_for is cancelled on the server and the connection stays usable") {
    const auto* server = server_or_skip();
    if (server == nullptr) {
        return;
    }
    run_pg([](std::string dsn) -> corio::task<> {
        pg::connection conn = co_await pg::connect(dsn);
        pg::connection observer = co_await pg::connect(dsn);
        const int pid = conn.backend_pid();
        corio_test::stopwatch watch;
        bool timed_out = false;
        try {
            (void)co_await corio::wait_for(conn.execute("SELECT pg_sleep(30)"), 200ms);
        } catch (const corio::timeout_error&) {
            timed_out = true;
        }
        CHECK(timed_out);
        CHECK(watch.elapsed() < 5s);
        // The server stops running it (the cancel request arrives off the loop).
        const std::string state = co_await state_after_cancel(observer, pid);
        CHECK(state == "idle");
        // The same connection answers the next query.
        {
            const auto awaited = co_await conn.fetchval<std::int32_t>("SELECT 41 + 1");
            CHECK(awaited == 42);
        }
        CHECK(watch.elapsed() < 5s);

        // command_timeout does the same per statement.
        pg::connect_options options;
        options.dsn = dsn;
        options.command_timeout = 100ms;
        pg::connection limited = co_await pg::connect(options);
        bool limited_timed_out = false;
        try {
            (void)co_await limited.execute("SELECT pg_sleep(30)");
        } catch (const corio::timeout_error&) {
            limited_timed_out = true;
        }
        CHECK(limited_timed_out);
        // Once the server has stopped the statement, the next one needs only
        // its own round trip within the 100 ms: on a loaded machine, waiting
        // out the cancellation as well could take longer than that.
        const std::string limited_state = co_await state_after_cancel(observer, limited.backend_pid());
        CHECK(limited_state == "idle");
        {
            const auto awaited = co_await limited.fetchval<std::int32_t>("SELECT 7");
            CHECK(awaited == 7);
        }
        CHECK(watch.elapsed() < 5s);
    }(server->dsn()));
}

TEST_CASE("pg transactions commit, roll back on exception and on cancellation, and nest with savepoints") {
    const auto* server = server_or_skip();
    if (server == nullptr) {
        return;
    }
    run_pg([](std::string dsn) -> corio::task<> {
        pg::connection conn = co_await pg::connect(dsn);
        (void)co_await conn.execute("CREATE TEMP TABLE items (v int)");
        co_await conn.transaction([](pg::connection& tx) -> corio::task<> {
            (void)co_await tx.execute("INSERT INTO items VALUES (1)");
            CHECK(tx.in_transaction());
        });
        CHECK_FALSE(conn.in_transaction());

        bool rethrown = false;
        try {
            co_await conn.transaction([](pg::connection& tx) -> corio::task<> {
                (void)co_await tx.execute("INSERT INTO items VALUES (2)");
                throw std::runtime_error("abort");
            });
        } catch (const std::runtime_error&) {
            rethrown = true;
        }
        CHECK(rethrown);
        CHECK_FALSE(conn.in_transaction());

        // Cancelled mid-transaction (by a timeout): rolled back too.
        bool timed_out = false;
        try {
            co_await corio::wait_for(conn.transaction([](pg::connection& tx) -> corio::task<> {
                                         (void)co_await tx.execute("INSERT INTO items VALUES (3)");
                                         co_await corio::sleep(10s);
                                     }),
                                     100ms);
        } catch (const corio::timeout_error&) {
            timed_out = true;
        }
        CHECK(timed_out);
        CHECK_FALSE(conn.in_transaction());

        // Nested: the inner failure rolls back to its savepoint only.
        co_await conn.transaction([](pg::connection& tx) -> corio::task<> {
            (void)co_await tx.execute("INSERT INTO items VALUES (4)");
            try {
                co_await tx.transaction([](pg::connection& inner) -> corio::task<> {
                    (void)co_await inner.execute("INSERT INTO items VALUES (5)");
                    (void)co_await inner.execute("SELECT 1/0");
                });
            } catch (const pg::postgres_error&) {
            }
            (void)co_await tx.execute("INSERT INTO items VALUES (6)");
        });
        std::vector<pg::record> rows = co_await conn.fetch("SELECT v FROM items ORDER BY v");
        std::vector<int> values;
        for (const auto& row : rows) {
            values.push_back(row.get<int>(0));
        }
        CHECK(values == std::vector<int>{1, 4, 6});

        // Options reach BEGIN.
        pg::transaction_options options;
        options.isolation = pg::isolation_level::serializable;
        options.read_only = true;
        co_await conn.transaction(
            [](pg::connection& tx) -> corio::task<> {
                {
            const auto awaited = co_await tx.fetchval<std::string>("SHOW transaction_isolation");
            CHECK(awaited == "serializable");
        }
                {
            const auto awaited = co_await tx.fetchval<std::string>("SHOW transaction_read_only");
            CHECK(awaited == "on");
        }
            },
            options);
    }(server->dsn()));
}

TEST_CASE("pg a cursor streams a large result in batches") {
    const auto* server = server_or_skip();
    if (server == nullptr) {
        return;
    }
    const bool soak = std::getenv("CORIO_SOAK") != nullptr && std::string(std::getenv("CORIO_SOAK")) == "long";
    const std::int64_t rows = soak ? 1000000 : 20000;
    run_pg([](std::string dsn, std::int64_t rows) -> corio::task<> {
        pg::connection conn = co_await pg::connect(dsn);
        corio::async_generator<pg::record> cursor =
            conn.cursor_batched(500, "SELECT g FROM generate_series(1, $1) g", rows);
        std::int64_t count = 0, sum = 0;
        while (auto row = co_await cursor.next()) {
            ++count;
            sum += row->get<std::int64_t>(0);
        }
        CHECK(count == rows);
        CHECK(sum == rows * (rows + 1) / 2);
        CHECK_FALSE(conn.in_transaction());
    }(server->dsn(), rows));
}

TEST_CASE("pg listen yields notifications sent by another connection") {
    const auto* server = server_or_skip();
    if (server == nullptr) {
        return;
    }
    run_pg([](std::string dsn) -> corio::task<> {
        pg::connection listener = co_await pg::connect(dsn);
        pg::connection sender = co_await pg::connect(dsn);
        corio::async_generator<pg::notification> events = listener.listen("corio events");
        // The first next() subscribes; send once it is listening.
        auto send = [](pg::connection& sender) -> corio::task<> {
            co_await corio::sleep(100ms);
            (void)co_await sender.execute("SELECT pg_notify('corio events', 'first')");
            (void)co_await sender.execute("SELECT pg_notify('corio events', 'second')");
        };
        auto sending = corio::create_task(send(sender));
        auto first = co_await events.next();
        REQUIRE(first.has_value());
        CHECK(first->channel == "corio events");
        CHECK(first->payload == "first");
        CHECK(first->sender_pid == sender.backend_pid());
        auto second = co_await events.next();
        REQUIRE(second.has_value());
        CHECK(second->payload == "second");
        co_await sending;
        // Queries still work while the listener is subscribed.
        {
            const auto awaited = co_await listener.fetchval<std::int32_t>("SELECT 3");
            CHECK(awaited == 3);
        }
    }(server->dsn()));
}

TEST_CASE("pg a restarted server fails in-flight and later queries with connection_error") {
    const auto* server = server_or_skip();
    if (server == nullptr) {
        return;
    }
    run_pg([](const corio_test::pg_server* server) -> corio::task<> {
        pg::connection conn = co_await pg::connect(server->dsn());
        auto sleeping = corio::create_task(conn.execute("SELECT pg_sleep(30)"));
        co_await corio::sleep(100ms);
        const bool restarted = co_await corio::to_thread([server] { return server->restart(); });
        REQUIRE(restarted);
        bool lost = false;
        try {
            (void)co_await sleeping;
        } catch (const pg::connection_error&) {
            lost = true;
        }
        CHECK(lost);
        CHECK(conn.is_closed());
        bool refused = false;
        try {
            (void)co_await conn.fetchval<int>("SELECT 1");
        } catch (const pg::connection_error&) {
            refused = true;
        }
        CHECK(refused);
        pg::connection again = co_await pg::connect(server->dsn());
        {
            const auto awaited = co_await again.fetchval<int>("SELECT 1");
            CHECK(awaited == 1);
        }
    }(server));
}

TEST_CASE("pg pool acquires FIFO, times out, resets state and runs many queries on few connections") {
    const auto* server = server_or_skip();
    if (server == nullptr) {
        return;
    }
    run_pg([](std::string dsn) -> corio::task<> {
        pg::pool_options options;
        options.dsn = dsn;
        options.min_size = 1;
        options.max_size = 2;
        options.acquire_timeout = 2s;
        pg::pool pool = co_await pg::create_pool(options);
        CHECK(pool.size() == 1);

        // Exhausted: waiters are served in the order they came.
        std::vector<int> order;
        {
            pg::pooled_connection first = co_await pool.acquire();
            pg::pooled_connection second = co_await pool.acquire();
            CHECK(pool.size() == 2);
            auto waiter = [](pg::pool& pool, std::vector<int>& order, int id) -> corio::task<> {
                pg::pooled_connection conn = co_await pool.acquire();
                order.push_back(id);
                const auto id_back = co_await conn->fetchval<std::int32_t>("SELECT $1::int4", id);
                CHECK(id_back == id);
            };
            auto a = corio::create_task(waiter(pool, order, 1));
            co_await corio::sleep(10ms);
            auto b = corio::create_task(waiter(pool, order, 2));
            co_await corio::sleep(10ms);
            auto c = corio::create_task(waiter(pool, order, 3));
            co_await corio::sleep(10ms);
            CHECK(pool.waiters() == 3);
            CHECK(order.empty());
            first.release();
            second.release();
            co_await a;
            co_await b;
            co_await c;
        }
        CHECK(order == std::vector<int>{1, 2, 3});

        // Acquire timeout.
        pg::pool_options tight = options;
        tight.max_size = 1;
        tight.acquire_timeout = 100ms;
        pg::pool small = co_await pg::create_pool(tight);
        {
            pg::pooled_connection held = co_await small.acquire();
            bool timed_out = false;
            try {
                (void)co_await small.acquire();
            } catch (const corio::timeout_error&) {
                timed_out = true;
            }
            CHECK(timed_out);
            // State set by one user does not reach the next.
            (void)co_await held->execute("SET application_name = 'dirty'");
            (void)co_await held->execute("BEGIN");
            (void)co_await held->execute("CREATE TEMP TABLE leaked (v int)");
        }
        {
            pg::pooled_connection next = co_await small.acquire();
            CHECK_FALSE(next->in_transaction());
            const auto name = co_await next->fetchval<std::string>("SHOW application_name");
            CHECK(name != "dirty");
            const auto leaked = co_await next->fetchval<std::optional<std::string>>("SELECT to_regclass('leaked')::text");
            CHECK_FALSE(leaked.has_value());
        }
        co_await small.close();

        // 1,000 concurrent queries through a pool of 10.
        pg::pool_options wide = options;
        wide.max_size = 10;
        wide.acquire_timeout.reset();
        pg::pool big = co_await pg::create_pool(wide);
        std::vector<corio::task<std::int64_t>> queries;
        for (std::int64_t i = 0; i < 1000; ++i) {
            queries.push_back(big.fetchval<std::int64_t>("SELECT $1::int8 * 3", i));
        }
        const std::vector<std::int64_t> tripled = co_await corio::gather(std::move(queries));
        bool all_right = true;
        for (std::int64_t i = 0; i < 1000; ++i) {
            all_right = all_right && tripled[static_cast<std::size_t>(i)] == 3 * i;
        }
        CHECK(all_right);
        CHECK(big.size() <= 10);
        co_await big.close();
        co_await pool.close();
        bool closed = false;
        try {
            (void)co_await pool.acquire();
        } catch (const pg::interface_error&) {
            closed = true;
        }
        CHECK(closed);
    }(server->dsn()));
}

TEST_CASE("pg pool close waits for acquired connections, terminate does not") {
    const auto* server = server_or_skip();
    if (server == nullptr) {
        return;
    }
    run_pg([](std::string dsn) -> corio::task<> {
        pg::pool_options options;
        options.dsn = dsn;
        options.max_size = 2;
        pg::pool pool = co_await pg::create_pool(options);
        auto user = [](pg::pool& pool) -> corio::task<> {
            pg::pooled_connection conn = co_await pool.acquire();
            co_await corio::sleep(150ms);
            const auto one = co_await conn->fetchval<std::int32_t>("SELECT 1");
            CHECK(one == 1);
        };
        auto using_it = corio::create_task(user(pool));
        co_await corio::sleep(20ms);
        corio_test::stopwatch watch;
        co_await pool.close();
        CHECK(watch.elapsed() >= 100ms);
        CHECK(using_it.done());
        co_await using_it;

        pg::pool other = co_await pg::create_pool(options);
        pg::pooled_connection held = co_await other.acquire();
        auto sleeping = corio::create_task(held->execute("SELECT pg_sleep(10)"));
        co_await corio::sleep(50ms);
        other.terminate();
        bool lost = false;
        try {
            (void)co_await sleeping;
        } catch (const pg::connection_error&) {
            lost = true;
        }
        CHECK(lost);
    }(server->dsn()));
}

TEST_CASE("pg pool replaces connections after a server restart") {
    const auto* server = server_or_skip();
    if (server == nullptr) {
        return;
    }
    run_pg([](const corio_test::pg_server* server) -> corio::task<> {
        pg::pool_options options;
        options.dsn = server->dsn();
        options.min_size = 3;
        options.max_size = 3;
        pg::pool pool = co_await pg::create_pool(options);
        auto in_flight = corio::create_task(pool.execute("SELECT pg_sleep(30)"));
        co_await corio::sleep(100ms);
        const bool restarted = co_await corio::to_thread([server] { return server->restart(); });
        REQUIRE(restarted);
        bool lost = false;
        try {
            (void)co_await in_flight;
        } catch (const pg::connection_error&) {
            lost = true;
        }
        CHECK(lost);
        co_await corio::sleep(50ms);  // the loop sees the idle connections hang up
        for (int i = 0; i < 5; ++i) {
            const auto value = co_await pool.fetchval<std::int32_t>("SELECT $1::int4", i);
            CHECK(value == i);
        }
        co_await pool.close();
    }(server));
}

TEST_CASE("pg copy_records_to_table loads rows with binary COPY") {
    const auto* server = server_or_skip();
    if (server == nullptr) {
        return;
    }
    const bool soak = std::getenv("CORIO_SOAK") != nullptr && std::string(std::getenv("CORIO_SOAK")) == "long";
    const int count = soak ? 100000 : 10000;
    run_pg([](std::string dsn, int count) -> corio::task<> {
        pg::connection conn = co_await pg::connect(dsn);
        (void)co_await conn.execute("CREATE TEMP TABLE loaded (id int, name text, score float8, note varchar)");
        std::vector<std::tuple<std::int32_t, std::string, double, std::optional<std::string>>> rows;
        for (int i = 0; i < count; ++i) {
            rows.emplace_back(i, "name " + std::to_string(i), i * 0.5,
                              i % 10 == 0 ? std::nullopt : std::optional<std::string>("n"));
        }
        const std::vector<std::string> columns{"id", "name", "score", "note"};
        const std::string status = co_await conn.copy_records_to_table("loaded", rows, columns);
        CHECK(status == "COPY " + std::to_string(count));
        const auto total = co_await conn.fetchval<std::int64_t>("SELECT count(*) FROM loaded");
        CHECK(total == count);
        const auto nulls = co_await conn.fetchval<std::int64_t>("SELECT count(*) FROM loaded WHERE note IS NULL");
        CHECK(nulls == count / 10);
        const std::optional<pg::record> last = co_await conn.fetchrow("SELECT * FROM loaded WHERE id = $1", count - 1);
        REQUIRE(last.has_value());
        CHECK(last->get<std::string>("name") == "name " + std::to_string(count - 1));
        CHECK(last->get<double>("score") == (count - 1) * 0.5);
        // A bad COPY is a postgres_error and leaves the connection usable.
        bool failed = false;
        try {
            (void)co_await conn.copy_records_to_table("no_such_table", rows);
        } catch (const pg::undefined_table&) {
            failed = true;
        }
        CHECK(failed);
        const auto after = co_await conn.fetchval<std::int32_t>("SELECT 5");
        CHECK(after == 5);
    }(server->dsn(), count));
}

TEST_CASE("pg prepare returns a statement with its types, run concurrently and reused") {
    const auto* server = server_or_skip();
    if (server == nullptr) {
        return;
    }
    run_pg([](std::string dsn) -> corio::task<> {
        pg::connection conn = co_await pg::connect(dsn);
        (void)co_await conn.execute("CREATE TEMP TABLE items (id int PRIMARY KEY, name text, price float8)");
        // A text argument followed by binary ones ends where it ends (libpq reads text to its NUL).
        const std::int32_t minus_one = -1;
        const auto joined = co_await conn.fetchval<std::string>("SELECT $1::text || $2::int4::text", "ab", minus_one);
        CHECK(joined == "ab-1");
        const pg::prepared_statement insert = co_await conn.prepare("INSERT INTO items VALUES ($1, $2, $3)");
        CHECK((insert.parameter_types() == std::vector<unsigned int>{23, 25, 701}));
        CHECK(insert.column_names().empty());
        for (int i = 1; i <= 3; ++i) {
            // An int64_t argument for an integer parameter is converted to its width.
            const std::int64_t id = i;
            const std::string name = "item " + std::to_string(i);
            const std::string status = co_await insert.execute(id, name, i * 1.5);
            CHECK(status == "INSERT 0 1");
        }
        const pg::prepared_statement select =
            co_await conn.prepare("SELECT id, name, price FROM items WHERE id >= $1 ORDER BY id");
        CHECK((select.column_names() == std::vector<std::string>{"id", "name", "price"}));
        CHECK((select.column_types() == std::vector<unsigned int>{23, 25, 701}));
        CHECK((select.parameter_types() == std::vector<unsigned int>{23}));
        const std::vector<pg::record> rows = co_await select.fetch(2);
        REQUIRE(rows.size() == 2);
        CHECK(rows[0].get<std::string>("name") == "item 2");
        CHECK(rows[1].get<double>("price") == 4.5);
        const std::optional<pg::record> none = co_await select.fetchrow(9);
        CHECK_FALSE(none.has_value());

        // Several tasks run the same statement at once: pipelined, answered in order.
        const pg::prepared_statement twice = co_await conn.prepare("SELECT $1::int8 * 2");
        std::vector<corio::task<std::int64_t>> runs;
        for (std::int64_t i = 0; i < 50; ++i) {
            runs.push_back(twice.fetchval<std::int64_t>(i));
        }
        const std::vector<std::int64_t> doubled = co_await corio::gather(std::move(runs));
        for (std::size_t i = 0; i < doubled.size(); ++i) {
            CHECK(doubled[i] == static_cast<std::int64_t>(2 * i));
        }

        // A value the parameter type cannot hold, and a type that does not convert, are named.
        bool too_large = false;
        const std::int64_t large = std::int64_t{1} << 40;
        try {
            (void)co_await select.fetch(large);
        } catch (const pg::type_mismatch_error& e) {
            too_large = std::string(e.what()).find("$1") != std::string::npos;
        }
        CHECK(too_large);
        bool wrong_type = false;
        try {
            (void)co_await select.fetch(true);
        } catch (const pg::type_mismatch_error&) {
            wrong_type = true;
        }
        CHECK(wrong_type);
        bool wrong_count = false;
        try {
            (void)co_await select.fetch(1, 2);
        } catch (const pg::interface_error&) {
            wrong_count = true;
        }
        CHECK(wrong_count);
        const auto still = co_await select.fetchval<std::int32_t>(3);
        CHECK(still == 3);
    }(server->dsn()));
}

TEST_CASE("pg prepare of bad SQL throws its postgres_error, and a statement of a closed or released connection is stale") {
    const auto* server = server_or_skip();
    if (server == nullptr) {
        return;
    }
    run_pg([](std::string dsn) -> corio::task<> {
        pg::connection conn = co_await pg::connect(dsn);
        std::string sqlstate;
        try {
            (void)co_await conn.prepare("SELEC 1");
        } catch (const pg::syntax_error& e) {
            sqlstate = e.sqlstate();
        }
        CHECK(sqlstate == "42601");
        bool undefined = false;
        try {
            (void)co_await conn.prepare("SELECT * FROM no_such_table");
        } catch (const pg::undefined_table&) {
            undefined = true;
        }
        CHECK(undefined);

        const pg::prepared_statement one = co_await conn.prepare("SELECT 1");
        CHECK(one.is_usable());
        conn.close();
        CHECK_FALSE(one.is_usable());
        std::string message;
        try {
            (void)co_await one.fetchval<std::int32_t>();
        } catch (const pg::stale_statement_error& e) {
            message = e.what();
        }
        CHECK(message.find("closed") != std::string::npos);

        pg::pool_options options;
        options.dsn = dsn;
        options.min_size = 1;
        options.max_size = 1;
        pg::pool pool = co_await pg::create_pool(std::move(options));
        std::optional<pg::prepared_statement> kept;
        {
            pg::pooled_connection lent = co_await pool.acquire();
            kept = co_await lent->prepare("SELECT $1::text");
            const auto echoed = co_await kept->fetchval<std::string>("x");
            CHECK(echoed == "x");
        }
        message.clear();
        try {
            (void)co_await kept->fetchval<std::string>("y");
        } catch (const pg::stale_statement_error& e) {
            message = e.what();
        }
        CHECK(message.find("released to the pool") != std::string::npos);
        // The pool deallocated it on the server before lending the connection again.
        pg::pooled_connection again = co_await pool.acquire();
        const auto left = co_await again->fetchval<std::int64_t>(
            "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'corio_prepared_%'");
        CHECK(left == 0);
        again.release();
        co_await pool.close();
    }(server->dsn()));
}

TEST_CASE("pg execute without arguments runs several statements, the last status returned") {
    const auto* server = server_or_skip();
    if (server == nullptr) {
        return;
    }
    run_pg([](std::string dsn) -> corio::task<> {
        pg::connection conn = co_await pg::connect(dsn);
        // Statements in flight before it are answered first; others sent meanwhile go around it.
        auto before = corio::create_task(conn.fetchval<std::int32_t>("SELECT $1::int", 7));
        co_await corio::sleep(0ms);  // `before` is sent
        CHECK(conn.pending() == 1);
        auto during = corio::create_task(conn.fetchval<std::int32_t>("SELECT $1::int", 8));
        const std::string status = co_await conn.execute(
            "CREATE TEMP TABLE multi (id int PRIMARY KEY); INSERT INTO multi VALUES (1), (2); "
            "UPDATE multi SET id = id + 10;  ");
        CHECK(status == "UPDATE 2");
        const auto earlier = co_await before;
        CHECK(earlier == 7);
        const auto meanwhile = co_await during;
        CHECK(meanwhile == 8);
        const auto total = co_await conn.fetchval<std::int64_t>("SELECT sum(id) FROM multi");
        CHECK(total == 23);

        // An error in the middle is that statement's error; the implicit transaction
        // undoes the statements before it and the ones after it do not run.
        std::string sqlstate;
        try {
            (void)co_await conn.execute(
                "INSERT INTO multi VALUES (3); INSERT INTO multi VALUES (11); INSERT INTO multi VALUES (4)");
        } catch (const pg::unique_violation& e) {
            sqlstate = e.sqlstate();
        }
        CHECK(sqlstate == "23505");
        const auto count = co_await conn.fetchval<std::int64_t>("SELECT count(*) FROM multi");
        CHECK(count == 2);
        bool undefined = false;
        try {
            (void)co_await conn.execute("SELECT 1; SELECT * FROM no_such_table; SELECT 2");
        } catch (const pg::undefined_table&) {
            undefined = true;
        }
        CHECK(undefined);
        CHECK_FALSE(conn.in_transaction());

        // A single statement with a trailing ';' stays on the pipelined path; both work.
        const std::string single = co_await conn.execute("DELETE FROM multi WHERE id = 11;");
        CHECK(single == "DELETE 1");
        const auto after = co_await conn.fetchval<std::int32_t>("SELECT 5");
        CHECK(after == 5);
    }(server->dsn()));
}

TEST_CASE("pg pool statements share a busy connection pipelined, behind acquire waiters") {
    const auto* server = server_or_skip();
    if (server == nullptr) {
        return;
    }
    run_pg([](std::string dsn) -> corio::task<> {
        pg::pool_options options;
        options.dsn = dsn;
        options.min_size = 1;
        options.max_size = 1;
        pg::pool pool = co_await pg::create_pool(options);
        // Five statements at once on a pool of one: none waits, all are in flight together.
        std::vector<corio::task_handle<std::int32_t>> running;
        for (std::int32_t i = 0; i < 5; ++i) {
            running.push_back(corio::create_task(pool.fetchval<std::int32_t>("SELECT $1::int", i)));
        }
        co_await corio::sleep(0ms);
        CHECK(pool.waiters() == 0);
        CHECK(pool.size() == 1);
        for (std::int32_t i = 0; i < 5; ++i) {
            const auto value = co_await running[static_cast<std::size_t>(i)];
            CHECK(value == i);
        }

        // A caller of acquire() keeps its turn: a statement coming after it waits behind it.
        std::vector<std::string> order;
        auto busy = corio::create_task(pool.fetchval<std::int32_t>("SELECT 1 FROM pg_sleep(0.05)"));
        co_await corio::sleep(0ms);
        auto acquirer = [](pg::pool& pool, std::vector<std::string>& order) -> corio::task<> {
            pg::pooled_connection conn = co_await pool.acquire();
            order.emplace_back("acquired");
            co_await corio::sleep(20ms);
        };
        auto exclusive = corio::create_task(acquirer(pool, order));
        co_await corio::sleep(0ms);
        auto statement = [](pg::pool& pool, std::vector<std::string>& order) -> corio::task<> {
            (void)co_await pool.fetchval<std::int32_t>("SELECT 2");
            order.emplace_back("statement");
        };
        auto later = corio::create_task(statement(pool, order));
        co_await corio::sleep(0ms);
        CHECK(pool.waiters() == 2);
        (void)co_await busy;
        co_await exclusive;
        co_await later;
        CHECK((order == std::vector<std::string>{"acquired", "statement"}));
        co_await pool.close();
    }(server->dsn()));
}
