// corio::redis::cluster against a real throwaway 3-master cluster: key_slot
// against the specification and the server's CLUSTER KEYSLOT, routing of
// 1,000 keys from 100 tasks, MOVED after a slot moved (map updated), ASK
// while a slot is half migrated (map unchanged), CROSSSLOT refused before
// sending, dead seeds, a node killed with commands in flight.
//
// One cluster serves the whole file (creating one takes seconds), so the
// file is one CTest test (tests/CMakeLists.txt) and its cases run in order;
// the node-killing case restarts its node before it ends.
#include "catch.hpp"
#include "redis_cluster_fixture.hpp"
#include "test_support.hpp"

#include <corio/combinators.hpp>
#include <corio/redis.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace std::chrono_literals;
namespace redis = corio::redis;
using corio_test::redis_cluster;

namespace {

redis_cluster& shared_cluster() {
    static redis_cluster cluster;
    return cluster;
}

#define REQUIRE_REDIS_CLUSTER()                                                                  \
    do {                                                                                         \
        if (!corio_test::redis_cli_available()) {                                                \
            corio_test::skip_test("redis-server/redis-cli not installed: apt-get install redis-server"); \
            return;                                                                              \
        }                                                                                        \
    } while (false)

template <class F>
void run_cluster_test(F body, std::chrono::seconds limit = 20s) {
    corio_test::run_with_watchdog(body(), limit);
}

// Moves `slot` from node `from` to node `to` the way redis-cli --cluster
// reshard does, stopping after MIGRATE of `moved_keys` when `finish` is
// false (the slot stays MIGRATING/IMPORTING: "half migrated").
void migrate_slot(redis_cluster& cluster, std::uint16_t slot, int from, int to,
                  const std::vector<std::string>& moved_keys, bool finish) {
    const std::string slot_text = std::to_string(slot);
    const std::string from_id = cluster.node_id(from);
    const std::string to_id = cluster.node_id(to);
    REQUIRE(cluster.command(to, {"CLUSTER", "SETSLOT", slot_text, "IMPORTING", from_id}) == "OK");
    REQUIRE(cluster.command(from, {"CLUSTER", "SETSLOT", slot_text, "MIGRATING", to_id}) == "OK");
    for (const std::string& key : moved_keys) {
        REQUIRE(cluster.command(from, {"MIGRATE", "127.0.0.1", std::to_string(cluster.port(to)), key, "0", "5000"}) ==
                "OK");
    }
    if (finish) {
        // The new owner first, as redis-cli does, then the others.
        for (const int node : {to, from, 3 - to - from}) {
            REQUIRE(cluster.command(node, {"CLUSTER", "SETSLOT", slot_text, "NODE", to_id}) == "OK");
        }
    }
}

CORIO_HEADER_COROUTINE corio::task<std::string> set_then_get_keys(redis::cluster& c, int task_number) {
    std::string mismatches;
    for (int i = 0; i < 10; ++i) {
        const std::string key = "spread:" + std::to_string(task_number) + ":" + std::to_string(i);
        const std::string value = "value-" + std::to_string(task_number * 10 + i);
        const bool set = co_await c.set(key, value);
        const std::optional<std::string> got = co_await c.get(key);
        if (!set || got != value) {
            mismatches += key + " ";
        }
    }
    co_return mismatches;
}

}  // namespace

TEST_CASE("key_slot is CRC16-XMODEM mod 16384 with the specification's hash tag rules") {
    CHECK(redis::key_slot("foo") == 12182);
    CHECK(redis::key_slot("bar") == 5061);
    CHECK(redis::key_slot("123456789") == 0x31C3);  // the CRC16-XMODEM check value
    CHECK(redis::key_slot("") == 0);
    CHECK(redis::key_slot("{user1000}.following") == redis::key_slot("{user1000}.followers"));
    CHECK(redis::key_slot("{user1000}.following") == redis::key_slot("user1000"));
    // An empty tag: the whole key is hashed.
    CHECK(redis::key_slot("foo{}{bar}") != redis::key_slot("bar"));
    CHECK(redis::key_slot("foo{}{bar}") == corio::redis::detail::slot_of_key("foo{}{bar}"));
    CHECK(std::string(corio::redis::detail::hashed_part("foo{}{bar}")) == "foo{}{bar}");
    // The first '{' and the first '}' after it: the tag is "{bar".
    CHECK(redis::key_slot("foo{{bar}}zap") == redis::key_slot("{bar"));
    CHECK(std::string(corio::redis::detail::hashed_part("foo{{bar}}zap")) == "{bar");
    // No closing brace: the whole key.
    CHECK(std::string(corio::redis::detail::hashed_part("foo{bar")) == "foo{bar");
    CHECK(redis::key_slot("foo{bar}zap") == redis::key_slot("bar"));
}

TEST_CASE("commands are routed by their key arguments") {
    using corio::redis::detail::command_slot;
    using corio::redis::detail::encoded_arguments;
    const auto slot_of = [](const auto&... args) {
        std::string encoded;
        corio::redis::detail::append_command(encoded, args...);
        return command_slot(encoded_arguments(encoded));
    };
    CHECK(slot_of("GET", "foo") == std::optional<std::uint16_t>(12182));
    CHECK(slot_of("HSET", "foo", "field", 42) == std::optional<std::uint16_t>(12182));
    CHECK(slot_of("ping") == std::nullopt);
    CHECK(slot_of("PUBLISH", "channel", "message") == std::nullopt);
    CHECK(slot_of("MGET", "{t}a", "{t}b", "{t}c") == std::optional<std::uint16_t>(redis::key_slot("t")));
    CHECK(slot_of("MSET", "{t}a", "foo", "{t}b", "bar") == std::optional<std::uint16_t>(redis::key_slot("t")));
    CHECK(slot_of("BLPOP", "{t}a", "{t}b", 0) == std::optional<std::uint16_t>(redis::key_slot("t")));
    CHECK(slot_of("EVAL", "return 1", 0) == std::nullopt);
    CHECK(slot_of("EVAL", "return 1", 1, "foo", "bar") == std::optional<std::uint16_t>(12182));
    CHECK(slot_of("XREADGROUP", "GROUP", "g", "c", "STREAMS", "foo", ">") == std::optional<std::uint16_t>(12182));
    CHECK(slot_of("XGROUP", "CREATE", "foo", "g", "$") == std::optional<std::uint16_t>(12182));
    CHECK_THROWS_AS(slot_of("MGET", "foo", "bar"), redis::crossslot_error);
    CHECK_THROWS_AS(slot_of("MSET", "foo", "1", "bar", "2"), redis::crossslot_error);
    CHECK_THROWS_AS(slot_of("RENAME", "foo", "bar"), redis::crossslot_error);
    CHECK_THROWS_AS(slot_of("ZUNIONSTORE", "foo", 1, "bar"), redis::crossslot_error);
}

TEST_CASE("CLUSTER SLOTS replies and MOVED / ASK redirects are parsed, an empty host meaning the node asked") {
    using corio::redis::detail::parse_cluster_slots;
    using corio::redis::detail::parse_redirect;
    using corio::redis::detail::redirect;
    using redis::value;
    const auto node = [](std::string host, std::int64_t port, std::string id) {
        return value::aggregate(redis::kind::array, {value::bulk_string(std::move(host)), value::integer_reply(port),
                                                     value::bulk_string(std::move(id))});
    };
    const auto range = [](std::int64_t first, std::int64_t last, value master) {
        return value::aggregate(redis::kind::array,
                                {value::integer_reply(first), value::integer_reply(last), std::move(master)});
    };
    const value reply = value::aggregate(redis::kind::array, {range(0, 99, node("10.0.0.1", 7000, "a")),
                                                              range(100, 16383, node("", 7001, "b")),
                                                              range(200, 200, node("10.0.0.1", 7000, "a"))});
    const corio::redis::detail::slot_map map = parse_cluster_slots(reply, "10.9.9.9");
    REQUIRE(map.nodes().size() == 2);
    CHECK(map.owner(0)->address() == "10.0.0.1:7000");
    CHECK(map.owner(99)->address() == "10.0.0.1:7000");
    CHECK(map.owner(100)->address() == "10.9.9.9:7001");
    CHECK(map.owner(200)->id == "a");
    CHECK(map.owner(16383)->id == "b");
    CHECK(map.assigned_slots() == 16384);
    const value bad = value::aggregate(redis::kind::array, {range(0, 16384, node("h", 1, "c"))});
    CHECK_THROWS_AS(parse_cluster_slots(bad, "h"), redis::reply_type_error);
    // A port outside 1-65535 is refused, not wrapped to 16 bits (found by tests/fuzz/fuzz_redis_cluster).
    for (const std::int64_t port : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{65536}, std::int64_t{72000}}) {
        const value wrapped = value::aggregate(redis::kind::array, {range(0, 10, node("h", port, "c"))});
        CHECK_THROWS_WITH(parse_cluster_slots(wrapped, "h"),
                          "redis CLUSTER SLOTS: port " + std::to_string(port) + " is out of 1-65535");
    }
    const auto shard_with_port = [](std::int64_t port) {
        const value master = value::aggregate(redis::kind::array,
                                              {value::bulk_string("role"), value::bulk_string("master"),
                                               value::bulk_string("port"), value::integer_reply(port)});
        const value slots = value::aggregate(redis::kind::array, {value::integer_reply(0), value::integer_reply(5)});
        return value::aggregate(
            redis::kind::array,
            {value::aggregate(redis::kind::array, {value::bulk_string("slots"), slots, value::bulk_string("nodes"),
                                                   value::aggregate(redis::kind::array, {master})})});
    };
    CHECK(corio::redis::detail::parse_cluster_shards(shard_with_port(7000), "h", false).owner(3)->port == 7000);
    CHECK_THROWS_WITH(corio::redis::detail::parse_cluster_shards(shard_with_port(65536), "h", false),
                      "redis CLUSTER SHARDS: port 65536 is out of 1-65535");

    const redirect moved = parse_redirect("MOVED 3999 127.0.0.1:6381", "10.0.0.5");
    CHECK(moved.type == redirect::kind::moved);
    CHECK(moved.slot == 3999);
    CHECK(moved.host == "127.0.0.1");
    CHECK(moved.port == 6381);
    const redirect ask = parse_redirect("ASK 12 :6380", "10.0.0.5");
    CHECK(ask.type == redirect::kind::ask);
    CHECK(ask.host == "10.0.0.5");
    const redirect v6 = parse_redirect("MOVED 1 [::1]:7000", "x");
    CHECK(v6.host == "::1");
    CHECK(corio::redis::detail::node_address(v6.host, v6.port) == "[::1]:7000");
    CHECK(parse_redirect("TRYAGAIN Multiple keys request during rehashing of slot", "x").type ==
          redirect::kind::try_again);
    CHECK(parse_redirect("WRONGTYPE Operation against a key", "x").type == redirect::kind::none);
    CHECK_THROWS_AS(parse_redirect("MOVED 99999 h:1", "x"), redis::reply_type_error);
    CHECK_THROWS_AS(parse_redirect("MOVED nonsense", "x"), redis::reply_type_error);
}

TEST_CASE("key_slot agrees with the server's CLUSTER KEYSLOT for random keys") {
    REQUIRE_REDIS_CLUSTER();
    redis_cluster& cluster = shared_cluster();
    run_cluster_test([&]() -> corio::task<void> {
        redis::cluster c = co_await redis::cluster::connect(cluster.seeds());
        std::mt19937 random(12345);
        const std::string alphabet = "abcxyz019{}{}:._-";
        std::vector<std::string> keys;
        for (int i = 0; i < 300; ++i) {
            std::string key;
            const std::size_t length = random() % 20;
            for (std::size_t k = 0; k < length; ++k) {
                key += alphabet[random() % alphabet.size()];
            }
            keys.push_back(key);
        }
        std::vector<corio::task<redis::value>> asked;
        for (const std::string& key : keys) {
            asked.push_back(c.command("CLUSTER", "KEYSLOT", key));
        }
        const std::vector<redis::value> slots = co_await corio::gather(std::move(asked));
        int mismatches = 0;
        for (std::size_t i = 0; i < keys.size(); ++i) {
            if (slots[i].as_integer() != redis::key_slot(keys[i])) {
                ++mismatches;
                UNSCOPED_INFO("key '" << keys[i] << "': server " << slots[i].as_integer() << ", corio "
                                      << redis::key_slot(keys[i]));
            }
        }
        CHECK(mismatches == 0);
    });
}

TEST_CASE("connect reads the slot map: every slot has one of the three masters") {
    REQUIRE_REDIS_CLUSTER();
    redis_cluster& cluster = shared_cluster();
    run_cluster_test([&]() -> corio::task<void> {
        // A dead seed first: connect goes on to the next one.
        const std::string dead = "127.0.0.1:" + std::to_string(corio_test::free_loopback_port());
        std::vector<std::string> seeds{dead, "127.0.0.1:" + std::to_string(cluster.port(1))};
        redis::cluster c = co_await redis::cluster::connect(seeds);
        std::vector<std::string> nodes = c.nodes();
        std::sort(nodes.begin(), nodes.end());
        std::vector<std::string> expected{cluster.address(0), cluster.address(1), cluster.address(2)};
        std::sort(expected.begin(), expected.end());
        CHECK(nodes == expected);
        std::set<std::string> owners;
        int unserved = 0;
        for (std::uint16_t slot = 0; slot < 16384; ++slot) {
            const std::string owner = c.node_for_slot(slot);
            unserved += owner.empty() ? 1 : 0;
            owners.insert(owner);
        }
        CHECK(unserved == 0);
        CHECK(owners.size() == 3);
        CHECK(c.stats().map_refreshes == 1);
        const redis::value pong = co_await c.command("PING");
        CHECK(pong.as_string() == "PONG");
    });
}

TEST_CASE("SET and GET of 1,000 keys from 100 tasks reach all three masters and read back") {
    REQUIRE_REDIS_CLUSTER();
    redis_cluster& cluster = shared_cluster();
    run_cluster_test([&]() -> corio::task<void> {
        redis::cluster c = co_await redis::cluster::connect(cluster.seeds());
        std::vector<corio::task<std::string>> tasks;
        for (int t = 0; t < 100; ++t) {
            tasks.push_back(set_then_get_keys(c, t));
        }
        const std::vector<std::string> mismatches = co_await corio::gather(std::move(tasks));
        for (const std::string& m : mismatches) {
            CHECK(m.empty());
        }
        // Each key is on the master the map names, and all three hold some.
        std::set<std::string> used;
        int misplaced = 0;
        for (int t = 0; t < 100; ++t) {
            for (int i = 0; i < 10; i += 3) {
                const std::string key = "spread:" + std::to_string(t) + ":" + std::to_string(i);
                const std::string owner = c.node_for_slot(redis::key_slot(key));
                used.insert(owner);
                const std::string direct = cluster.command(cluster.index_of(owner), {"GET", key});
                misplaced += direct == "value-" + std::to_string(t * 10 + i) ? 0 : 1;
            }
        }
        CHECK(used.size() == 3);
        CHECK(misplaced == 0);
        CHECK(c.stats().moved_redirects == 0);
        CHECK(c.stats().ask_redirects == 0);
        // The typed helpers of the other families route by their key too.
        const std::vector<std::string> pair{"a", "b"};
        const std::int64_t pushed = co_await c.rpush("spread:list", pair);
        CHECK(pushed == 2);
        const std::vector<std::string> listed = co_await c.lrange("spread:list", 0, -1);
        CHECK(listed == pair);
        const std::int64_t fields = co_await c.hset("spread:hash", "f", "v");
        CHECK(fields == 1);
        const std::optional<std::string> field = co_await c.hget("spread:hash", "f");
        CHECK(field == std::optional<std::string>("v"));
        const std::int64_t added = co_await c.zadd("spread:zset", 2.5, "m");
        CHECK(added == 1);
        const std::optional<double> score = co_await c.zscore("spread:zset", "m");
        CHECK(score == std::optional<double>(2.5));
        const std::int64_t members = co_await c.sadd("spread:set", "m");
        CHECK(members == 1);
        const std::int64_t counter = co_await c.incr("spread:counter");
        CHECK(counter == 1);
        const bool expiring = co_await c.expire("spread:counter", 100s);
        CHECK(expiring);
        const std::int64_t ttl = co_await c.ttl("spread:counter");
        CHECK(ttl > 90);
        const std::int64_t deleted = co_await c.del("spread:counter");
        CHECK(deleted == 1);
    });
}

TEST_CASE("after a slot moved, MOVED is followed and the map sends the next command straight to the new master") {
    REQUIRE_REDIS_CLUSTER();
    redis_cluster& cluster = shared_cluster();
    run_cluster_test([&]() -> corio::task<void> {
        redis::cluster c = co_await redis::cluster::connect(cluster.seeds());
        const std::string key = "moving-key";
        const std::uint16_t slot = redis::key_slot(key);
        const int from = cluster.index_of(c.node_for_slot(slot));
        REQUIRE(from >= 0);
        const int to = (from + 1) % 3;
        const bool set = co_await c.set(key, "before the move");
        CHECK(set);
        migrate_slot(cluster, slot, from, to, {key}, true);

        const redis::cluster_stats before = c.stats();
        const std::optional<std::string> got = co_await c.get(key);
        CHECK(got == std::optional<std::string>("before the move"));
        CHECK(c.stats().moved_redirects == before.moved_redirects + 1);
        CHECK(c.node_for_slot(slot) == cluster.address(to));

        const std::optional<std::string> again = co_await c.get(key);
        CHECK(again == std::optional<std::string>("before the move"));
        CHECK(c.stats().moved_redirects == before.moved_redirects + 1);

        // The MOVED scheduled a refresh of the whole map; it agrees.
        co_await corio::sleep(c.options().min_refresh_interval + 200ms);
        CHECK(c.stats().map_refreshes > before.map_refreshes);
        CHECK(c.node_for_slot(slot) == cluster.address(to));
        const bool written = co_await c.set(key, "after the move");
        CHECK(written);
        CHECK(cluster.command(to, {"GET", key}) == "after the move");
        CHECK(c.stats().moved_redirects == before.moved_redirects + 1);
    });
}

TEST_CASE("while a slot is half migrated, ASK is followed with ASKING and the map is left unchanged") {
    REQUIRE_REDIS_CLUSTER();
    redis_cluster& cluster = shared_cluster();
    run_cluster_test([&]() -> corio::task<void> {
        redis::cluster c = co_await redis::cluster::connect(cluster.seeds());
        const std::string moved = "{asking}moved";
        const std::string stayed = "{asking}stayed";
        const std::uint16_t slot = redis::key_slot(moved);
        const int from = cluster.index_of(c.node_for_slot(slot));
        REQUIRE(from >= 0);
        const int to = (from + 2) % 3;
        const bool set_moved = co_await c.set(moved, "on the target");
        const bool set_stayed = co_await c.set(stayed, "on the source");
        CHECK((set_moved && set_stayed));
        migrate_slot(cluster, slot, from, to, {moved}, false);

        const redis::cluster_stats before = c.stats();
        const std::optional<std::string> got = co_await c.get(moved);
        CHECK(got == std::optional<std::string>("on the target"));
        CHECK(c.stats().ask_redirects == before.ask_redirects + 1);
        CHECK(c.stats().moved_redirects == before.moved_redirects);
        CHECK(c.node_for_slot(slot) == cluster.address(from));

        // A key the source still has is answered there, without a redirect.
        const std::optional<std::string> local = co_await c.get(stayed);
        CHECK(local == std::optional<std::string>("on the source"));
        CHECK(c.stats().ask_redirects == before.ask_redirects + 1);

        // The map did not change, so the moved key is asked for again.
        const std::optional<std::string> again = co_await c.get(moved);
        CHECK(again == std::optional<std::string>("on the target"));
        CHECK(c.stats().ask_redirects == before.ask_redirects + 2);
        CHECK(c.node_for_slot(slot) == cluster.address(from));

        // A client allowed no redirect gives up with the named error.
        redis::cluster_options strict;
        strict.max_redirects = 0;
        redis::cluster no_redirects = co_await redis::cluster::connect(cluster.seeds(), strict);
        std::string gave_up;
        try {
            (void)co_await no_redirects.get(moved);
        } catch (const redis::redirect_limit_error& e) {
            gave_up = e.what();
        }
        CHECK_THAT(gave_up, Catch::Contains("REDIRECTLIMIT") && Catch::Contains("ASK"));

        // Finish the migration: the client then follows MOVED to the target.
        migrate_slot(cluster, slot, from, to, {stayed}, false);
        for (const int node : {to, from, 3 - to - from}) {
            REQUIRE(cluster.command(node, {"CLUSTER", "SETSLOT", std::to_string(slot), "NODE",
                                           cluster.node_id(to)}) == "OK");
        }
        const std::optional<std::string> finished = co_await c.get(stayed);
        CHECK(finished == std::optional<std::string>("on the source"));
        CHECK(c.node_for_slot(slot) == cluster.address(to));
    });
}

TEST_CASE("keys of different slots in one command throw crossslot_error before anything is sent") {
    REQUIRE_REDIS_CLUSTER();
    redis_cluster& cluster = shared_cluster();
    run_cluster_test([&]() -> corio::task<void> {
        redis::cluster c = co_await redis::cluster::connect(cluster.seeds());
        REQUIRE(redis::key_slot("alpha") != redis::key_slot("beta"));
        const std::vector<std::string> apart{"alpha", "beta"};
        std::string refused;
        try {
            (void)co_await c.mget(apart);
        } catch (const redis::crossslot_error& e) {
            refused = e.prefix();
        }
        CHECK(refused == "CROSSSLOT");
        bool refused_del = false;
        try {
            (void)co_await c.del(apart);
        } catch (const redis::error& e) {
            refused_del = e.prefix() == "CROSSSLOT";
        }
        CHECK(refused_del);
        const redis::field_list values{{"{pair}alpha", "1"}, {"{pair}beta", "2"}};
        co_await c.mset(values);
        const std::vector<std::string> together{"{pair}alpha", "{pair}beta"};
        const std::vector<std::optional<std::string>> both = co_await c.mget(together);
        CHECK(both == std::vector<std::optional<std::string>>{"1", "2"});
        const std::int64_t removed = co_await c.del(together);
        CHECK(removed == 2);

        c.close();
        bool closed = false;
        try {
            (void)co_await c.get("{pair}alpha");
        } catch (const redis::connection_error&) {
            closed = true;
        }
        CHECK(closed);
    });
}

TEST_CASE("when no seed answers, cluster_connect_error names every seed tried") {
    std::vector<std::string> seeds{"127.0.0.1:" + std::to_string(corio_test::free_loopback_port()),
                                   "redis://127.0.0.1:" + std::to_string(corio_test::free_loopback_port())};
    run_cluster_test([&]() -> corio::task<void> {
        std::string message;
        std::vector<std::string> tried;
        try {
            redis::cluster c = co_await redis::cluster::connect(seeds);
        } catch (const redis::cluster_connect_error& e) {
            message = e.what();
            tried = e.seeds();
        }
        CHECK(tried == seeds);
        for (const std::string& seed : seeds) {
            CHECK_THAT(message, Catch::Contains(seed));
        }
        CHECK_THAT(message, Catch::Contains("refused"));
        bool no_seeds = false;
        std::vector<std::string> none;
        try {
            redis::cluster c = co_await redis::cluster::connect(none);
        } catch (const redis::connection_error&) {
            no_seeds = true;
        }
        CHECK(no_seeds);
    });
}

TEST_CASE("a standalone server is not taken for a cluster") {
    if (!corio_test::redis_available()) {
        corio_test::skip_test(corio_test::redis_missing_message);
        return;
    }
    corio_test::redis_server standalone;
    run_cluster_test([&]() -> corio::task<void> {
        std::string message;
        const std::vector<std::string> seeds{standalone.url()};
        try {
            redis::cluster c = co_await redis::cluster::connect(seeds);
        } catch (const redis::cluster_connect_error& e) {
            message = e.what();
        }
        CHECK_THAT(message, Catch::Contains("cluster support disabled"));
    });
}

TEST_CASE("a node killed with commands in flight fails them with connection_error, the others keep working") {
    REQUIRE_REDIS_CLUSTER();
    redis_cluster& cluster = shared_cluster();
    run_cluster_test([&]() -> corio::task<void> {
        redis::cluster_options options;
        options.node.reconnect_attempts = 2;
        redis::cluster c = co_await redis::cluster::connect(cluster.seeds(), options);
        // Keys on the node to kill and on another one.
        const int victim = 2;
        std::string victim_key;
        std::string other_key;
        for (int i = 0; victim_key.empty() || other_key.empty(); ++i) {
            const std::string key = "victim:" + std::to_string(i);
            const bool on_victim = c.node_for_slot(redis::key_slot(key)) == cluster.address(victim);
            (on_victim ? victim_key : other_key) = key;
        }
        const bool set = co_await c.set(other_key, "survives");
        CHECK(set);

        // DEBUG SLEEP holds the victim's shared connection: the GETs queued
        // behind it are surely in flight when the node dies.
        redis::connection victim_node = c.node(cluster.address(victim));
        auto sleeper = corio::create_task(victim_node.command("DEBUG", "SLEEP", "3"));
        std::vector<corio::task_handle<std::optional<std::string>>> in_flight;
        for (int i = 0; i < 20; ++i) {
            in_flight.push_back(corio::create_task(c.get(victim_key)));
        }
        co_await corio::sleep(100ms);
        corio_test::stopwatch elapsed;
        cluster.kill(victim);
        int lost = 0;
        for (auto& handle : in_flight) {
            try {
                (void)co_await handle;
            } catch (const redis::connection_error&) {
                ++lost;
            }
        }
        CHECK(lost == 20);
        bool sleeper_lost = false;
        try {
            (void)co_await sleeper;
        } catch (const redis::connection_error&) {
            sleeper_lost = true;
        }
        CHECK(sleeper_lost);

        // Later commands for the dead node's slots fail too, promptly; the
        // other nodes answer as before.
        bool unreachable = false;
        try {
            (void)co_await c.get(victim_key);
        } catch (const redis::connection_error&) {
            unreachable = true;
        }
        CHECK(unreachable);
        CHECK(elapsed.elapsed() < 10s);
        const std::optional<std::string> survived = co_await c.get(other_key);
        CHECK(survived == std::optional<std::string>("survives"));

        // Back again: the client reconnects to it.
        cluster.restart(victim);
        const bool written = co_await c.set(victim_key, "back");
        CHECK(written);
        const std::optional<std::string> read = co_await c.get(victim_key);
        CHECK(read == std::optional<std::string>("back"));
    });
}
