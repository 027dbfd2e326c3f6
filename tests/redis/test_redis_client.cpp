// corio::redis::connection against real throwaway redis-servers: the
// handshake (RESP3 / RESP2, AUTH, SELECT, SETNAME, Unix socket), the typed
// helpers, error replies, auto-pipelining order, cancellation keeping the
// stream in step, reconnect after the server is killed, pipelines and
// transactions, blocking commands on dedicated connections, SCAN.
#include "catch.hpp"
#include "redis_fixture.hpp"
#include "test_support.hpp"

#include <corio/combinators.hpp>
#include <corio/redis.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/timeout.hpp>

#if defined(CORIO_WITH_TLS)
#include "tls_support.hpp"

#include <corio/tls/context.hpp>
#endif

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
namespace redis = corio::redis;
using corio_test::redis_server;

namespace {

// One server for the cases that need nothing special (started on first use).
redis_server& shared_server() {
    static redis_server server({"--enable-debug-command", "yes"});
    return server;
}

#define REQUIRE_REDIS()                                              \
    do {                                                             \
        if (!corio_test::redis_available()) {                        \
            corio_test::skip_test(corio_test::redis_missing_message); \
            return;                                                  \
        }                                                            \
    } while (false)

template <class F>
void run_redis(F body, std::chrono::seconds limit = 10s) {
    corio_test::run_with_watchdog(body(), limit);
}

}  // namespace

TEST_CASE("connect speaks RESP3 by default and RESP2 when asked, over TCP and a Unix socket") {
    REQUIRE_REDIS();
    redis_server& server = shared_server();
    run_redis([&]() -> corio::task<void> {
        redis::connection r3 = co_await redis::connect(server.url(1));
        CHECK(r3.resp3());
        const bool set = co_await r3.set("proto", "three");
        CHECK(set);
        redis::connection r2 = co_await redis::connect(server.url(1) + "?protocol=2");
        CHECK_FALSE(r2.resp3());
        const std::optional<std::string> got = co_await r2.get("proto");
        CHECK(got == std::optional<std::string>("three"));
        redis::connection local = co_await redis::connect("unix://" + server.socket_path() + "?db=1");
        const std::optional<std::string> via_socket = co_await local.get("proto");
        CHECK(via_socket == std::optional<std::string>("three"));
        const redis::value pong = co_await local.command("PING");
        CHECK(pong.as_string() == "PONG");
    });
}

TEST_CASE("AUTH, SELECT and CLIENT SETNAME are sent on connect, and a wrong password is a redis error") {
    REQUIRE_REDIS();
    redis_server& server = shared_server();
    run_redis([&]() -> corio::task<void> {
        redis::connection admin = co_await redis::connect(server.url());
        (void)co_await admin.command("ACL", "SETUSER", "alice", "on", ">s3cret", "~*", "&*", "+@all");
        for (const char* protocol : {"3", "2"}) {
            const std::string url = "redis://alice:s3cret@127.0.0.1:" + std::to_string(server.port()) +
                                    "/5?name=corio-test&protocol=" + protocol;
            redis::connection r = co_await redis::connect(url);
            const redis::value who = co_await r.command("ACL", "WHOAMI");
            CHECK(who.as_string() == "alice");
            const redis::value name = co_await r.command("CLIENT", "GETNAME");
            CHECK(name.as_string() == "corio-test");
            const redis::value info = co_await r.command("CLIENT", "INFO");
            CHECK_THAT(info.as_string(), Catch::Contains("db=5"));
        }
        bool refused = false;
        try {
            redis::connection r = co_await redis::connect("redis://alice:wrong@127.0.0.1:" +
                                                          std::to_string(server.port()));
        } catch (const redis::error& e) {
            refused = e.prefix() == "WRONGPASS";
        }
        CHECK(refused);
    });
}

TEST_CASE("connecting to a port where nothing listens throws connection_error") {
    const std::uint16_t port = corio_test::free_loopback_port();
    run_redis([&]() -> corio::task<void> {
        redis::connect_options options = redis::connect_options::from_url("redis://127.0.0.1:" + std::to_string(port));
        bool failed = false;
        try {
            redis::connection r = co_await redis::connect(options);
        } catch (const redis::connection_error& e) {
            failed = std::string(e.what()).find("Connection refused") != std::string::npos;
        }
        CHECK(failed);
    });
}

TEST_CASE("string and key helpers round-trip values, expiries and conditions") {
    REQUIRE_REDIS();
    redis_server& server = shared_server();
    run_redis([&]() -> corio::task<void> {
        redis::connection r = co_await redis::connect(server.url(2));
        (void)co_await r.command("FLUSHDB");
        const bool plain = co_await r.set("a", std::string("bin\0ary\r\n", 9));
        CHECK(plain);
        const std::optional<std::string> a = co_await r.get("a");
        CHECK(a == std::optional<std::string>(std::string("bin\0ary\r\n", 9)));
        redis::set_options only_if_absent{.nx = true};
        const bool not_again = co_await r.set("a", "x", only_if_absent);
        CHECK_FALSE(not_again);
        redis::set_options only_if_present{.xx = true};
        const bool only_existing = co_await r.set("missing", "x", only_if_present);
        CHECK_FALSE(only_existing);
        redis::set_options expiring{.ex = std::chrono::seconds(100)};
        const bool with_expiry = co_await r.set("e", "1", expiring);
        CHECK(with_expiry);
        const std::int64_t ttl = co_await r.ttl("e");
        CHECK(ttl > 90);
        CHECK(ttl <= 100);
        const std::int64_t no_key_ttl = co_await r.ttl("nothing");
        CHECK(no_key_ttl == -2);
        const bool expired = co_await r.expire("a", std::chrono::seconds(50));
        CHECK(expired);
        const std::int64_t pttl = co_await r.pttl("a");
        CHECK(pttl > 40000);
        const std::int64_t one = co_await r.incr("n");
        const std::int64_t eleven = co_await r.incrby("n", 10);
        const std::int64_t ten = co_await r.decr("n");
        CHECK(one == 1);
        CHECK(eleven == 11);
        CHECK(ten == 10);
        const std::vector<std::string> mget_keys{"n", "nothing", "e"};
        const std::vector<std::optional<std::string>> many = co_await r.mget(mget_keys);
        REQUIRE(many.size() == 3);
        CHECK(many[0] == std::optional<std::string>("10"));
        CHECK_FALSE(many[1].has_value());
        CHECK(many[2] == std::optional<std::string>("1"));
        const redis::field_list mset_pairs{{"m1", "v1"}, {"m2", "v2"}};
        co_await r.mset(mset_pairs);
        const std::vector<std::string> exists_keys{"m1", "m2", "nothing"};
        const std::int64_t present = co_await r.exists(exists_keys);
        CHECK(present == 2);
        const std::vector<std::string> del_keys{"m1", "m2", "nothing"};
        const std::int64_t deleted = co_await r.del(del_keys);
        CHECK(deleted == 2);
        const std::int64_t gone = co_await r.exists("m1");
        CHECK(gone == 0);
    });
}

TEST_CASE("hash, list, set and sorted-set helpers on RESP3 and RESP2") {
    REQUIRE_REDIS();
    redis_server& server = shared_server();
    run_redis([&]() -> corio::task<void> {
        for (const char* protocol : {"3", "2"}) {
            redis::connection r = co_await redis::connect(server.url(3) + "?protocol=" + protocol);
            (void)co_await r.command("FLUSHDB");
            const redis::field_list two_fields{{"f1", "v1"}, {"f2", "v2"}};
            const std::int64_t added = co_await r.hset("h", two_fields);
            CHECK(added == 2);
            const std::int64_t one_more = co_await r.hset("h", "f3", "v3");
            CHECK(one_more == 1);
            const std::optional<std::string> f2 = co_await r.hget("h", "f2");
            CHECK(f2 == std::optional<std::string>("v2"));
            redis::field_list all = co_await r.hgetall("h");
            std::sort(all.begin(), all.end());
            CHECK(all == redis::field_list{{"f1", "v1"}, {"f2", "v2"}, {"f3", "v3"}});
            const std::int64_t bumped = co_await r.hincrby("h", "count", 5);
            CHECK(bumped == 5);
            const bool has = co_await r.hexists("h", "f1");
            CHECK(has);
            const std::vector<std::string> hdel_fields{"f1", "nope"};
            const std::int64_t removed = co_await r.hdel("h", hdel_fields);
            CHECK(removed == 1);
            const std::int64_t fields = co_await r.hlen("h");
            CHECK(fields == 3);

            const std::vector<std::string> tail{"b", "c"};
            const std::int64_t length = co_await r.rpush("l", tail);
            CHECK(length == 2);
            const std::int64_t longer = co_await r.lpush("l", "a");
            CHECK(longer == 3);
            const std::vector<std::string> items = co_await r.lrange("l", 0, -1);
            CHECK(items == std::vector<std::string>{"a", "b", "c"});
            const std::optional<std::string> last = co_await r.rpop("l");
            CHECK(last == std::optional<std::string>("c"));
            const std::optional<std::string> moved = co_await r.lmove("l", "l2", redis::list_end::left,
                                                                      redis::list_end::right);
            CHECK(moved == std::optional<std::string>("a"));
            const std::int64_t left = co_await r.llen("l");
            CHECK(left == 1);

            const std::vector<std::string> set_members{"x", "y", "x"};
            const std::int64_t members = co_await r.sadd("s", set_members);
            CHECK(members == 2);
            const bool is_member = co_await r.sismember("s", "y");
            CHECK(is_member);
            std::vector<std::string> set = co_await r.smembers("s");
            std::sort(set.begin(), set.end());
            CHECK(set == std::vector<std::string>{"x", "y"});
            const std::vector<std::string> srem_members{"x"};
            const std::int64_t dropped = co_await r.srem("s", srem_members);
            CHECK(dropped == 1);
            const std::int64_t card = co_await r.scard("s");
            CHECK(card == 1);

            const std::vector<std::pair<double, std::string>> scored_members{{1.5, "one"}, {3.0, "three"}};
            const std::int64_t scored = co_await r.zadd("z", scored_members);
            CHECK(scored == 2);
            const std::int64_t two = co_await r.zadd("z", 2, "two");
            CHECK(two == 1);
            const std::vector<std::string> ranked = co_await r.zrange("z", 0, -1);
            CHECK(ranked == std::vector<std::string>{"one", "two", "three"});
            const auto with_scores = co_await r.zrange_with_scores("z", 0, 0);
            REQUIRE(with_scores.size() == 1);
            CHECK(with_scores[0].first == "one");
            CHECK(with_scores[0].second == 1.5);
            const std::optional<double> score = co_await r.zscore("z", "three");
            CHECK(score == std::optional<double>(3.0));
            const std::optional<double> no_score = co_await r.zscore("z", "nope");
            CHECK_FALSE(no_score.has_value());
            const double raised = co_await r.zincrby("z", 10, "one");
            CHECK(raised == 11.5);
            const std::optional<std::int64_t> rank = co_await r.zrank("z", "one");
            CHECK(rank == std::optional<std::int64_t>(2));
            const std::vector<std::string> zrem_members{"two"};
            const std::int64_t zremoved = co_await r.zrem("z", zrem_members);
            CHECK(zremoved == 1);
            const std::int64_t zcard = co_await r.zcard("z");
            CHECK(zcard == 2);
        }
    });
}

TEST_CASE("an error reply throws redis::error with its prefix and the connection stays usable") {
    REQUIRE_REDIS();
    redis_server& server = shared_server();
    run_redis([&]() -> corio::task<void> {
        redis::connection r = co_await redis::connect(server.url(4));
        (void)co_await r.rpush("list", "x");
        std::string prefix;
        try {
            (void)co_await r.get("list");
        } catch (const redis::error& e) {
            prefix = e.prefix();
        }
        CHECK(prefix == "WRONGTYPE");
        std::string unknown;
        try {
            (void)co_await r.command("NOSUCHCOMMAND", 1);
        } catch (const redis::error& e) {
            unknown = e.prefix();
        }
        CHECK(unknown == "ERR");
        const std::int64_t length = co_await r.llen("list");
        CHECK(length == 1);
        (void)co_await r.del("list");
    });
}

namespace {

CORIO_HEADER_COROUTINE corio::task<std::string> set_then_get(redis::connection& r, int i) {
    const std::string key = "order:" + std::to_string(i);
    const std::string expected = "value-" + std::to_string(i);
    (void)co_await r.set(key, expected);
    std::optional<std::string> got = co_await r.get(key);
    co_return got.value_or("<missing>");
}

CORIO_HEADER_COROUTINE corio::task<std::int64_t> increment(redis::connection& r) {
    co_return co_await r.incr("order:counter");
}

}  // namespace

TEST_CASE("1,000 concurrent commands on one connection each get their own reply, in few batches") {
    REQUIRE_REDIS();
    redis_server& server = shared_server();
    run_redis([&]() -> corio::task<void> {
        redis::connection r = co_await redis::connect(server.url(5));
        (void)co_await r.command("FLUSHDB");
        const redis::value before = co_await r.command("INFO", "stats");
        std::vector<corio::task<std::string>> round_trips;
        std::vector<corio::task<std::int64_t>> increments;
        for (int i = 0; i < 1000; ++i) {
            round_trips.push_back(set_then_get(r, i));
            increments.push_back(increment(r));
        }
        std::vector<std::string> got = co_await corio::gather(std::move(round_trips));
        std::vector<std::int64_t> counts = co_await corio::gather(std::move(increments));
        for (int i = 0; i < 1000; ++i) {
            CHECK(got[static_cast<std::size_t>(i)] == "value-" + std::to_string(i));
        }
        // INCR replies are the values 1..1000, each exactly once.
        std::sort(counts.begin(), counts.end());
        for (std::int64_t i = 0; i < 1000; ++i) {
            REQUIRE(counts[static_cast<std::size_t>(i)] == i + 1);
        }
        // 3,000 commands in a handful of reads by the server: each batch is one write.
        auto reads_of = [](const redis::value& info) {
            const std::string text = info.as_string();
            const std::size_t at = text.find("total_reads_processed:");
            return std::stoll(text.substr(at + 22));
        };
        const redis::value after = co_await r.command("INFO", "stats");
        const long long reads = reads_of(after) - reads_of(before);
        CHECK(reads < 100);
    });
}

TEST_CASE("a command cancelled or timed out mid-pipeline keeps later replies matched to their commands") {
    REQUIRE_REDIS();
    redis_server& server = shared_server();
    run_redis([&]() -> corio::task<void> {
        redis::connection r = co_await redis::connect(server.url(6));
        (void)co_await r.set("sync:a", "A");
        (void)co_await r.set("sync:b", "B");
        // The server sleeps 200 ms on DEBUG SLEEP; the caller gives up after 20 ms.
        bool timed_out = false;
        try {
            (void)co_await corio::wait_for(r.command("DEBUG", "SLEEP", "0.2"), 20ms);
        } catch (const corio::timeout_error&) {
            timed_out = true;
        }
        CHECK(timed_out);
        // Several commands issued at once, some cancelled before their replies come.
        std::vector<corio::task_handle<std::optional<std::string>>> handles;
        for (int i = 0; i < 20; ++i) {
            handles.push_back(corio::create_task(r.get(i % 2 == 0 ? "sync:a" : "sync:b")));
        }
        co_await corio::sleep(1ms);
        for (int i = 0; i < 20; i += 3) {
            handles[static_cast<std::size_t>(i)].cancel();
        }
        for (int i = 0; i < 20; ++i) {
            auto& handle = handles[static_cast<std::size_t>(i)];
            if (i % 3 == 0) {
                const bool cancelled = co_await corio_test::ended_cancelled(std::move(handle));
                CHECK(cancelled);
            } else {
                const std::optional<std::string> got = co_await handle;
                CHECK(got == std::optional<std::string>(i % 2 == 0 ? "A" : "B"));
            }
        }
        const std::optional<std::string> a = co_await r.get("sync:a");
        const std::optional<std::string> b = co_await r.get("sync:b");
        CHECK(a == std::optional<std::string>("A"));
        CHECK(b == std::optional<std::string>("B"));
    });
}

TEST_CASE("a killed server fails commands in flight with connection_error and later ones reconnect") {
    REQUIRE_REDIS();
    redis_server server({"--enable-debug-command", "yes"});
    run_redis([&]() -> corio::task<void> {
        redis::connection r = co_await redis::connect(server.url());
        (void)co_await r.set("k", "before");
        auto in_flight = corio::create_task(r.command("DEBUG", "SLEEP", "2"));
        auto queued = corio::create_task(r.get("k"));
        co_await corio::sleep(50ms);
        server.stop();  // SIGKILL while both wait for replies
        int lost = 0;
        try {
            (void)co_await in_flight;
        } catch (const redis::connection_error&) {
            ++lost;
        }
        try {
            (void)co_await queued;
        } catch (const redis::connection_error&) {
            ++lost;
        }
        CHECK(lost == 2);
        server.restart();
        const bool set = co_await r.set("k", "after");  // reconnects first
        CHECK(set);
        const std::optional<std::string> got = co_await r.get("k");
        CHECK(got == std::optional<std::string>("after"));
        // With the server down for good, a command fails after its reconnect attempts.
        server.stop();
        bool failed = false;
        try {
            (void)co_await r.get("k");
        } catch (const redis::connection_error&) {
            failed = true;
        }
        CHECK(failed);
        // The next command finds the link broken and tries to reconnect, with backoff, in vain.
        corio_test::stopwatch clock;
        bool reconnect_failed = false;
        try {
            (void)co_await r.get("k");
        } catch (const redis::connection_error& e) {
            reconnect_failed = std::string(e.what()).find("attempts") != std::string::npos;
        }
        CHECK(reconnect_failed);
        CHECK(clock.elapsed_ms() >= 300ms);  // 25 + 50 + 100 + 200 + 400 ms of backoff
    }, 20s);
}

TEST_CASE("pipeline sends commands together, and MULTI/EXEC runs them atomically") {
    REQUIRE_REDIS();
    redis_server& server = shared_server();
    run_redis([&]() -> corio::task<void> {
        redis::connection r = co_await redis::connect(server.url(7));
        (void)co_await r.command("FLUSHDB");
        redis::pipeline p = r.pipeline();
        p.command("SET", "p", 1).command("INCR", "p").command("LPUSH", "p", "x").command("GET", "p");
        CHECK(p.size() == 4);
        const std::vector<redis::value> replies = co_await p.execute();
        REQUIRE(replies.size() == 4);
        CHECK(replies[0].as_string() == "OK");
        CHECK(replies[1].as_integer() == 2);
        CHECK(replies[2].is_error());  // WRONGTYPE stays a value in a pipeline
        CHECK(replies[3].as_string() == "2");
        const std::vector<redis::value> nothing = co_await p.execute();
        CHECK(nothing.empty());

        redis::transaction tx = r.multi();
        tx.command("INCR", "t").command("INCR", "t").command("GET", "t");
        const std::vector<redis::value> results = co_await tx.exec();
        REQUIRE(results.size() == 3);
        CHECK(results[1].as_integer() == 2);
        CHECK(results[2].as_string() == "2");
        redis::transaction bad = r.multi();
        bad.command("INCR", "t").command("NOSUCHCOMMAND");
        std::string prefix;
        try {
            (void)co_await bad.exec();
        } catch (const redis::error& e) {
            prefix = e.prefix();
        }
        CHECK(prefix == "EXECABORT");
        const std::optional<std::string> untouched = co_await r.get("t");
        CHECK(untouched == std::optional<std::string>("2"));
    });
}

TEST_CASE("watch runs an optimistic transaction again when a watched key changed, then gives up") {
    REQUIRE_REDIS();
    redis_server& server = shared_server();
    run_redis([&]() -> corio::task<void> {
        redis::connection r = co_await redis::connect(server.url(10));
        (void)co_await r.command("FLUSHDB");
        (void)co_await r.set("counter", "10");
        const std::vector<std::string> keys{"counter"};

        // The first run's EXEC is refused: another client (the shared
        // connection) changed the key after the WATCH; the second run sees 11.
        int runs = 0;
        auto doubler = [&](redis::connection& conn, redis::transaction& tx) -> corio::task<void> {
            ++runs;
            const std::optional<std::string> current = co_await conn.get("counter");
            if (runs == 1) {
                (void)co_await r.command("INCR", "counter");
            }
            tx.command("SET", "counter", std::to_string(std::stoi(current.value()) * 2));
        };
        const std::vector<redis::value> replies = co_await r.watch(keys, doubler);
        CHECK(runs == 2);
        REQUIRE(replies.size() == 1);
        CHECK(replies[0].as_string() == "OK");
        const std::optional<std::string> doubled = co_await r.get("counter");
        CHECK(doubled == std::optional<std::string>("22"));

        // Changed before every EXEC: watch_error after max_attempts, and
        // none of the transactions' SETs ran.
        int attempts = 0;
        auto always_raced = [&](redis::connection&, redis::transaction& tx) -> corio::task<void> {
            ++attempts;
            (void)co_await r.command("INCR", "counter");
            tx.command("SET", "counter", "0");
        };
        std::string message;
        std::string prefix;
        try {
            (void)co_await r.watch(keys, always_raced, 3);
        } catch (const redis::watch_error& e) {
            message = e.what();
            prefix = e.prefix();
        }
        CHECK(attempts == 3);
        CHECK(prefix == "WATCH");
        CHECK(message.find("each of the 3 attempts") != std::string::npos);
        const std::optional<std::string> raced = co_await r.get("counter");
        CHECK(raced == std::optional<std::string>("25"));

        // A body that queues nothing: UNWATCH only, no replies; the leased
        // connection goes back to the pool without a WATCH left on it, so the
        // next watch on it (a write from the shared connection meanwhile) runs once.
        auto reader = [](redis::connection& conn, redis::transaction&) -> corio::task<void> {
            (void)co_await conn.get("counter");
        };
        const std::vector<redis::value> nothing = co_await r.watch(keys, reader);
        CHECK(nothing.empty());
        (void)co_await r.set("counter", "1");
        int once = 0;
        auto setter = [&](redis::connection&, redis::transaction& tx) -> corio::task<void> {
            ++once;
            tx.command("INCR", "counter");
            co_return;
        };
        const std::vector<redis::value> incremented = co_await r.watch(keys, setter);
        CHECK(once == 1);
        REQUIRE(incremented.size() == 1);
        CHECK(incremented[0].as_integer() == 2);

        // The body's exception propagates; bad arguments are named.
        auto failing = [](redis::connection&, redis::transaction& tx) -> corio::task<void> {
            tx.command("SET", "counter", "lost");
            throw std::runtime_error("body failed");
            co_return;
        };
        std::string body_error;
        try {
            (void)co_await r.watch(keys, failing);
        } catch (const std::runtime_error& e) {
            body_error = e.what();
        }
        CHECK(body_error == "body failed");
        const std::optional<std::string> kept = co_await r.get("counter");
        CHECK(kept == std::optional<std::string>("2"));
        std::string no_keys;
        try {
            (void)co_await r.watch(std::vector<std::string>{}, reader);
        } catch (const std::invalid_argument& e) {
            no_keys = e.what();
        }
        CHECK(no_keys.find("no keys") != std::string::npos);
    });
}

TEST_CASE("blocking commands run on dedicated connections and do not stall the shared one") {
    REQUIRE_REDIS();
    redis_server& server = shared_server();
    run_redis([&]() -> corio::task<void> {
        redis::connection r = co_await redis::connect(server.url(8));
        (void)co_await r.command("FLUSHDB");
        const std::vector<std::string> jobs{"jobs"};
        auto waiting = corio::create_task(r.blpop(jobs, 5s));
        auto moving = corio::create_task(r.blmove("src", "dst", redis::list_end::right, redis::list_end::left, 5s));
        co_await corio::sleep(30ms);
        // The shared connection still answers while both wait on the server.
        corio_test::stopwatch clock;
        const redis::value pong = co_await r.command("PING");
        CHECK(pong.as_string() == "PONG");
        CHECK(clock.elapsed_ms() < 1000ms);
        (void)co_await r.rpush("jobs", "job-1");
        (void)co_await r.rpush("src", "item");
        const auto popped = co_await waiting;
        REQUIRE(popped.has_value());
        CHECK(popped->first == "jobs");
        CHECK(popped->second == "job-1");
        const std::optional<std::string> moved = co_await moving;
        CHECK(moved == std::optional<std::string>("item"));
        // A timeout on the server side gives nullopt.
        const auto empty = co_await r.blpop(jobs, 100ms);
        CHECK_FALSE(empty.has_value());
        // Cancelling a blocking command closes its dedicated connection; the next one works.
        auto abandoned = corio::create_task(r.blpop(jobs, 5s));
        co_await corio::sleep(20ms);
        abandoned.cancel();
        const bool cancelled = co_await corio_test::ended_cancelled(std::move(abandoned));
        CHECK(cancelled);
        (void)co_await r.rpush("jobs", "job-2");
        const auto next = co_await r.blpop(jobs, 1s);
        REQUIRE(next.has_value());
        CHECK(next->second == "job-2");
    });
}

TEST_CASE("scan yields every matching key once the cursor comes back to 0") {
    REQUIRE_REDIS();
    redis_server& server = shared_server();
    run_redis([&]() -> corio::task<void> {
        redis::connection r = co_await redis::connect(server.url(9));
        (void)co_await r.command("FLUSHDB");
        redis::pipeline fill = r.pipeline();
        for (int i = 0; i < 300; ++i) {
            fill.command("SET", "scan:" + std::to_string(i), i);
        }
        fill.command("SET", "other", 1);
        (void)co_await fill.execute();
        std::set<std::string> seen;
        auto keys = r.scan("scan:*", 50);
        while (auto key = co_await keys.next()) {
            seen.insert(*key);
        }
        CHECK(seen.size() == 300);
        CHECK(seen.count("other") == 0);
        CHECK(seen.count("scan:299") == 1);
    });
}

TEST_CASE("pub/sub delivers channel and pattern messages and resubscribes after the server restarts") {
    REQUIRE_REDIS();
    redis_server server;
    run_redis([&]() -> corio::task<void> {
        redis::connection r = co_await redis::connect(server.url());
        redis::subscriber sub(r);
        const std::vector<std::string> channels{"news"};
        const std::vector<std::string> patterns{"ev:*"};
        co_await sub.subscribe(channels);
        co_await sub.psubscribe(patterns);
        auto stream = sub.messages();
        const std::int64_t receivers = co_await r.publish("news", "first");
        CHECK(receivers == 1);
        (void)co_await r.publish("ev:login", "alice");
        (void)co_await r.publish("unrelated", "nobody");
        (void)co_await r.publish("news", "second");
        std::vector<redis::message> got;
        for (int i = 0; i < 3; ++i) {
            std::optional<redis::message> m = co_await stream.next();
            REQUIRE(m.has_value());
            got.push_back(std::move(*m));
        }
        CHECK(got[0].channel == "news");
        CHECK(got[0].payload == "first");
        CHECK(got[0].pattern.empty());
        CHECK(got[1].channel == "ev:login");
        CHECK(got[1].payload == "alice");
        CHECK(got[1].pattern == "ev:*");
        CHECK(got[2].payload == "second");

        // The consumer keeps reading while the server dies and comes back.
        auto reader = corio::create_task([](redis::subscriber& s,
                                            corio::async_generator<redis::message>& messages) -> corio::task<std::string> {
            (void)s;
            std::optional<redis::message> m = co_await messages.next();
            co_return m ? m->channel + "=" + m->payload : std::string("<end>");
        }(sub, stream));
        co_await corio::sleep(20ms);
        server.stop();
        server.restart();
        std::int64_t heard = 0;
        for (int attempt = 0; attempt < 200 && heard == 0; ++attempt) {
            co_await corio::sleep(10ms);
            try {
                heard = co_await r.publish("ev:again", "back");  // r reconnects too
            } catch (const redis::connection_error&) {
                // r's own link may still be the dead one: the next try reconnects.
            }
        }
        CHECK(heard == 1);
        const std::string received = co_await reader;
        CHECK(received == "ev:again=back");
        sub.close();
        const std::optional<redis::message> after_close = co_await stream.next();
        CHECK_FALSE(after_close.has_value());
    }, 20s);
}

#if defined(CORIO_WITH_TLS)
TEST_CASE("rediss:// runs the commands over TLS, verifying the server against the given CA") {
    REQUIRE_REDIS();
    const corio_test::tls_certificates& certs = corio_test::tls_certs();
    const std::uint16_t tls_port = corio_test::free_loopback_port();
    redis_server server({"--tls-port", std::to_string(tls_port), "--tls-cert-file", certs.server_cert,
                         "--tls-key-file", certs.server_key, "--tls-ca-cert-file", certs.ca,
                         "--tls-auth-clients", "no"});
    run_redis([&]() -> corio::task<void> {
        redis::connect_options options =
            redis::connect_options::from_url("rediss://localhost:" + std::to_string(tls_port) + "/0");
        corio::tls::client_options trust;
        trust.ca_file = certs.ca;
        options.tls_context = corio::tls::context::client(trust);
        redis::connection r = co_await redis::connect(options);
        const bool set = co_await r.set("secret", "over tls");
        CHECK(set);
        const std::optional<std::string> got = co_await r.get("secret");
        CHECK(got == std::optional<std::string>("over tls"));
        // Without the CA, verification against the system store fails.
        redis::connect_options untrusted =
            redis::connect_options::from_url("rediss://localhost:" + std::to_string(tls_port) + "/0");
        bool refused = false;
        try {
            redis::connection bad = co_await redis::connect(untrusted);
        } catch (const redis::connection_error& e) {
            refused = std::string(e.what()).find("certificate") != std::string::npos;
        }
        CHECK(refused);
    });
}
#endif
