#pragma once

// The typed helpers of the Redis commands (strings, keys, hashes, lists,
// sets, sorted sets, streams, publish), written once for every client that
// sends commands: redis::connection and redis::cluster.

#include <corio/detail/config.hpp>
#include <corio/redis/detail/command_encoder.hpp>
#include <corio/redis/errors.hpp>
#include <corio/redis/types.hpp>
#include <corio/redis/value.hpp>
#include <corio/task.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace corio::redis {

/// The typed helpers (get, set, hset, lpush, zadd, xadd, ...) of a client
/// `Derived` (connection, cluster): each builds its command, sends it with
/// `Derived::command` (blocking ones with `Derived::blocking_command`) and
/// converts the reply. They are coroutines that use `*this` when they start:
/// keep the client alive until they finish. Arguments are copied when the
/// call is made.
template <class Derived>
class command_helpers {
public:
    // ---- Strings ----

    /// GET: the value, or nullopt when the key does not exist.
    [[nodiscard]] task<std::optional<std::string>> get(std::string_view key) {
        return optional_string(send("GET", key));
    }
    /// SET with EX/PX/NX/XX/KEEPTTL: true if the value was set (false when NX or XX prevented it).
    [[nodiscard]] task<bool> set(std::string_view key, std::string_view value, set_options options = {}) {
        std::vector<std::string> args{"SET", std::string(key), std::string(value)};
        if (options.ex) {
            args.insert(args.end(), {"EX", std::to_string(options.ex->count())});
        }
        if (options.px) {
            args.insert(args.end(), {"PX", std::to_string(options.px->count())});
        }
        if (options.nx) {
            args.emplace_back("NX");
        }
        if (options.xx) {
            args.emplace_back("XX");
        }
        if (options.keepttl) {
            args.emplace_back("KEEPTTL");
        }
        return not_null(send(args));
    }
    /// INCR: the new value (a missing key counts as 0); redis::error when not an integer.
    [[nodiscard]] task<std::int64_t> incr(std::string_view key) { return integer(send("INCR", key)); }
    /// INCRBY: the new value, after adding `by`.
    [[nodiscard]] task<std::int64_t> incrby(std::string_view key, std::int64_t by) {
        return integer(send("INCRBY", key, by));
    }
    /// DECR: the new value (a missing key counts as 0).
    [[nodiscard]] task<std::int64_t> decr(std::string_view key) { return integer(send("DECR", key)); }
    /// MGET: one optional per key, in order.
    [[nodiscard]] task<std::vector<std::optional<std::string>>> mget(const std::vector<std::string>& keys) {
        return optional_strings(send("MGET", keys));
    }
    /// MSET: sets every key/value pair at once, replacing the values there.
    [[nodiscard]] task<void> mset(const field_list& pairs) {
        std::vector<std::string> args{"MSET"};
        for (const auto& [key, value] : pairs) {
            args.push_back(key);
            args.push_back(value);
        }
        return discard(send(args));
    }

    // ---- Keys ----

    /// DEL: how many of the keys existed.
    [[nodiscard]] task<std::int64_t> del(const std::vector<std::string>& keys) { return integer(send("DEL", keys)); }
    /// DEL of one key: 1 if it existed, else 0.
    [[nodiscard]] task<std::int64_t> del(std::string_view key) { return integer(send("DEL", key)); }
    /// EXISTS: how many of the keys exist.
    [[nodiscard]] task<std::int64_t> exists(const std::vector<std::string>& keys) {
        return integer(send("EXISTS", keys));
    }
    /// EXISTS of one key: 1 or 0.
    [[nodiscard]] task<std::int64_t> exists(std::string_view key) { return integer(send("EXISTS", key)); }
    /// EXPIRE (or PEXPIRE for sub-second durations): false when the key does not exist.
    template <class Rep, class Period>
    [[nodiscard]] task<bool> expire(std::string_view key, std::chrono::duration<Rep, Period> after) {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(after);
        if (ms.count() % 1000 == 0) {
            return boolean(send("EXPIRE", key, static_cast<std::int64_t>(ms.count() / 1000)));
        }
        return boolean(send("PEXPIRE", key, static_cast<std::int64_t>(ms.count())));
    }
    /// TTL in seconds: -1 without expiry, -2 when the key does not exist.
    [[nodiscard]] task<std::int64_t> ttl(std::string_view key) { return integer(send("TTL", key)); }
    /// PTTL: as ttl(), in milliseconds.
    [[nodiscard]] task<std::int64_t> pttl(std::string_view key) { return integer(send("PTTL", key)); }
    /// PERSIST: true if an expiry was removed, false when there was none or no key.
    [[nodiscard]] task<bool> persist(std::string_view key) { return boolean(send("PERSIST", key)); }
    // ---- Hashes ----

    /// HSET of one field: 1 if the field is new, 0 if its value was replaced.
    [[nodiscard]] task<std::int64_t> hset(std::string_view key, std::string_view field, std::string_view value) {
        return integer(send("HSET", key, field, value));
    }
    /// HSET of several fields: how many were new.
    [[nodiscard]] task<std::int64_t> hset(std::string_view key, const field_list& fields) {
        std::vector<std::string> args{"HSET", std::string(key)};
        for (const auto& [field, value] : fields) {
            args.push_back(field);
            args.push_back(value);
        }
        return integer(send(args));
    }
    /// HGET: the field's value, or nullopt when the field or key does not exist.
    [[nodiscard]] task<std::optional<std::string>> hget(std::string_view key, std::string_view field) {
        return optional_string(send("HGET", key, field));
    }
    /// HGETALL: every field and value (empty when the key does not exist).
    [[nodiscard]] task<field_list> hgetall(std::string_view key) { return pairs(send("HGETALL", key)); }
    /// HDEL: how many of the fields existed and were removed.
    [[nodiscard]] task<std::int64_t> hdel(std::string_view key, const std::vector<std::string>& fields) {
        return integer(send("HDEL", key, fields));
    }
    /// HINCRBY: the field's new value, after adding `by` (a missing field counts as 0).
    [[nodiscard]] task<std::int64_t> hincrby(std::string_view key, std::string_view field, std::int64_t by) {
        return integer(send("HINCRBY", key, field, by));
    }
    /// HEXISTS: whether the field exists.
    [[nodiscard]] task<bool> hexists(std::string_view key, std::string_view field) {
        return boolean(send("HEXISTS", key, field));
    }
    /// HLEN: number of fields (0 when the key does not exist).
    [[nodiscard]] task<std::int64_t> hlen(std::string_view key) { return integer(send("HLEN", key)); }

    // ---- Lists ----

    /// LPUSH / RPUSH: the list's new length.
    [[nodiscard]] task<std::int64_t> lpush(std::string_view key, const std::vector<std::string>& values) {
        return integer(send("LPUSH", key, values));
    }
    /// LPUSH of one value: the list's new length.
    [[nodiscard]] task<std::int64_t> lpush(std::string_view key, std::string_view value) {
        return integer(send("LPUSH", key, value));
    }
    /// RPUSH of several values, in order: the list's new length.
    [[nodiscard]] task<std::int64_t> rpush(std::string_view key, const std::vector<std::string>& values) {
        return integer(send("RPUSH", key, values));
    }
    /// RPUSH of one value: the list's new length.
    [[nodiscard]] task<std::int64_t> rpush(std::string_view key, std::string_view value) {
        return integer(send("RPUSH", key, value));
    }
    /// LPOP: the first element, or nullopt when the list is empty or missing.
    [[nodiscard]] task<std::optional<std::string>> lpop(std::string_view key) {
        return optional_string(send("LPOP", key));
    }
    /// RPOP: the last element, or nullopt when the list is empty or missing.
    [[nodiscard]] task<std::optional<std::string>> rpop(std::string_view key) {
        return optional_string(send("RPOP", key));
    }
    /// LRANGE: elements `start` to `stop`, both included (negative: from the end; 0, -1: all).
    [[nodiscard]] task<std::vector<std::string>> lrange(std::string_view key, std::int64_t start, std::int64_t stop) {
        return strings(send("LRANGE", key, start, stop));
    }
    /// LLEN: the list's length (0 when missing).
    [[nodiscard]] task<std::int64_t> llen(std::string_view key) { return integer(send("LLEN", key)); }
    /// BLPOP on a dedicated connection: {key, value} of the first list with
    /// an element, or nullopt after `timeout` (0: wait forever).
    [[nodiscard]] task<std::optional<std::pair<std::string, std::string>>> blpop(
        const std::vector<std::string>& keys, std::chrono::milliseconds timeout) {
        return key_and_value(send_blocking("BLPOP", keys, seconds_text(timeout)));
    }
    /// BRPOP: as blpop, taking from the tail.
    [[nodiscard]] task<std::optional<std::pair<std::string, std::string>>> brpop(
        const std::vector<std::string>& keys, std::chrono::milliseconds timeout) {
        return key_and_value(send_blocking("BRPOP", keys, seconds_text(timeout)));
    }
    /// BLMOVE on a dedicated connection: the element moved, or nullopt after `timeout`.
    [[nodiscard]] task<std::optional<std::string>> blmove(std::string_view source, std::string_view destination,
                                                          list_end from, list_end to,
                                                          std::chrono::milliseconds timeout) {
        return optional_string(
            send_blocking("BLMOVE", source, destination, end_name(from), end_name(to), seconds_text(timeout)));
    }
    /// BRPOPLPUSH (BLMOVE RIGHT LEFT).
    [[nodiscard]] task<std::optional<std::string>> brpoplpush(std::string_view source, std::string_view destination,
                                                              std::chrono::milliseconds timeout) {
        return blmove(source, destination, list_end::right, list_end::left, timeout);
    }
    /// LMOVE: the element moved from the `from` end of `source` to the `to` end of
    /// `destination`, or nullopt when `source` is empty.
    [[nodiscard]] task<std::optional<std::string>> lmove(std::string_view source, std::string_view destination,
                                                         list_end from, list_end to) {
        return optional_string(send("LMOVE", source, destination, end_name(from), end_name(to)));
    }

    // ---- Sets ----

    /// SADD: how many of the members were not in the set yet.
    [[nodiscard]] task<std::int64_t> sadd(std::string_view key, const std::vector<std::string>& members) {
        return integer(send("SADD", key, members));
    }
    /// SADD of one member: 1 if it was added, 0 if already there.
    [[nodiscard]] task<std::int64_t> sadd(std::string_view key, std::string_view member) {
        return integer(send("SADD", key, member));
    }
    /// SREM: how many of the members were in the set and were removed.
    [[nodiscard]] task<std::int64_t> srem(std::string_view key, const std::vector<std::string>& members) {
        return integer(send("SREM", key, members));
    }
    /// SMEMBERS: every member, in no particular order.
    [[nodiscard]] task<std::vector<std::string>> smembers(std::string_view key) {
        return strings(send("SMEMBERS", key));
    }
    /// SISMEMBER: whether `member` is in the set.
    [[nodiscard]] task<bool> sismember(std::string_view key, std::string_view member) {
        return boolean(send("SISMEMBER", key, member));
    }
    /// SCARD: number of members (0 when missing).
    [[nodiscard]] task<std::int64_t> scard(std::string_view key) { return integer(send("SCARD", key)); }

    // ---- Sorted sets ----

    /// ZADD of one member: 1 if it is new, 0 if only its score changed.
    [[nodiscard]] task<std::int64_t> zadd(std::string_view key, double score, std::string_view member) {
        return integer(send("ZADD", key, score, member));
    }
    /// ZADD of several (score, member) pairs: how many members are new.
    [[nodiscard]] task<std::int64_t> zadd(std::string_view key,
                                          const std::vector<std::pair<double, std::string>>& members) {
        std::vector<std::string> args{"ZADD", std::string(key)};
        for (const auto& [score, member] : members) {
            std::string encoded_score;
            detail::append_scalar(encoded_score, score);  // "$n\r\n<score>\r\n"
            const std::size_t start = encoded_score.find('\n') + 1;
            args.push_back(encoded_score.substr(start, encoded_score.size() - start - 2));
            args.push_back(member);
        }
        return integer(send(args));
    }
    /// ZRANGE by rank (start/stop may be negative, from the end).
    [[nodiscard]] task<std::vector<std::string>> zrange(std::string_view key, std::int64_t start, std::int64_t stop) {
        return strings(send("ZRANGE", key, start, stop));
    }
    /// ZRANGE WITHSCORES: (member, score) pairs by rank, as zrange.
    [[nodiscard]] task<std::vector<std::pair<std::string, double>>> zrange_with_scores(std::string_view key,
                                                                                      std::int64_t start,
                                                                                      std::int64_t stop) {
        return scored(send("ZRANGE", key, start, stop, "WITHSCORES"));
    }
    /// ZSCORE: the member's score, or nullopt when the member or key does not exist.
    [[nodiscard]] task<std::optional<double>> zscore(std::string_view key, std::string_view member) {
        return optional_double(send("ZSCORE", key, member));
    }
    /// ZINCRBY: the member's new score, after adding `by` (a new member starts at 0).
    [[nodiscard]] task<double> zincrby(std::string_view key, double by, std::string_view member) {
        return number(send("ZINCRBY", key, by, member));
    }
    /// ZRANK: the member's 0-based rank by ascending score, or nullopt when absent.
    [[nodiscard]] task<std::optional<std::int64_t>> zrank(std::string_view key, std::string_view member) {
        return optional_integer(send("ZRANK", key, member));
    }
    /// ZREM: how many of the members existed and were removed.
    [[nodiscard]] task<std::int64_t> zrem(std::string_view key, const std::vector<std::string>& members) {
        return integer(send("ZREM", key, members));
    }
    /// ZCARD: number of members (0 when missing).
    [[nodiscard]] task<std::int64_t> zcard(std::string_view key) { return integer(send("ZCARD", key)); }

    // ---- Streams ----

    /// XADD: the new entry's id. `max_length` trims approximately (MAXLEN ~).
    [[nodiscard]] task<std::string> xadd(std::string_view stream, const field_list& fields, std::string_view id = "*",
                                         std::optional<std::size_t> max_length = std::nullopt) {
        std::vector<std::string> args{"XADD", std::string(stream)};
        if (max_length) {
            args.insert(args.end(), {"MAXLEN", "~", std::to_string(*max_length)});
        }
        args.emplace_back(id);
        for (const auto& [field, value] : fields) {
            args.push_back(field);
            args.push_back(value);
        }
        return text(send(args));
    }
    /// XLEN: number of entries in the stream (0 when missing).
    [[nodiscard]] task<std::int64_t> xlen(std::string_view stream) { return integer(send("XLEN", stream)); }
    /// XDEL: how many of the ids existed and were deleted.
    [[nodiscard]] task<std::int64_t> xdel(std::string_view stream, const std::vector<std::string>& ids) {
        return integer(send("XDEL", stream, ids));
    }
    /// XGROUP CREATE (with MKSTREAM when asked): true if made, false if the
    /// group existed already (BUSYGROUP).
    [[nodiscard]] task<bool> xgroup_create(std::string_view stream, std::string_view group, std::string_view id = "$",
                                           bool make_stream = true) {
        if (make_stream) {
            return group_created(send("XGROUP", "CREATE", stream, group, id, "MKSTREAM"));
        }
        return group_created(send("XGROUP", "CREATE", stream, group, id));
    }
    /// XREADGROUP of one stream: entries for `consumer` (id ">" : never
    /// delivered ones; "0": its own pending ones). With `block`, waits up to
    /// that long on a dedicated connection; empty when nothing came.
    [[nodiscard]] task<std::vector<stream_entry>> xreadgroup(std::string_view group, std::string_view consumer,
                                                            std::string_view stream, std::size_t count = 10,
                                                            std::optional<std::chrono::milliseconds> block = std::nullopt,
                                                            std::string_view id = ">") {
        if (block) {
            return stream_entries_of_read(send_blocking("XREADGROUP", "GROUP", group, consumer, "COUNT", count,
                                                           "BLOCK", static_cast<std::int64_t>(block->count()),
                                                           "STREAMS", stream, id));
        }
        return stream_entries_of_read(
            send("XREADGROUP", "GROUP", group, consumer, "COUNT", count, "STREAMS", stream, id));
    }
    /// XRANGE: entries with ids in [start, end].
    [[nodiscard]] task<std::vector<stream_entry>> xrange(std::string_view stream, std::string_view start = "-",
                                                        std::string_view end = "+") {
        return stream_entries(send("XRANGE", stream, start, end));
    }
    /// XACK: how many of the ids were pending and are now acknowledged.
    [[nodiscard]] task<std::int64_t> xack(std::string_view stream, std::string_view group,
                                          const std::vector<std::string>& ids) {
        return integer(send("XACK", stream, group, ids));
    }
    /// XAUTOCLAIM: takes over entries pending longer than `min_idle`.
    [[nodiscard]] task<autoclaim_result> xautoclaim(std::string_view stream, std::string_view group,
                                                    std::string_view consumer, std::chrono::milliseconds min_idle,
                                                    std::string_view start = "0-0", std::size_t count = 100) {
        return autoclaimed(send("XAUTOCLAIM", stream, group, consumer,
                                   static_cast<std::int64_t>(min_idle.count()), start, "COUNT", count));
    }
    /// XPENDING summary of a group.
    [[nodiscard]] task<pending_summary> xpending(std::string_view stream, std::string_view group) {
        return summary(send("XPENDING", stream, group));
    }
    /// XPENDING's extended form: up to `count` pending entries in [start, end]
    /// (of one consumer when given).
    [[nodiscard]] task<std::vector<pending_entry>> xpending_range(std::string_view stream, std::string_view group,
                                                                  std::string_view start, std::string_view end,
                                                                  std::size_t count,
                                                                  std::string_view consumer = {}) {
        if (consumer.empty()) {
            return pending_entries(send("XPENDING", stream, group, start, end, count));
        }
        return pending_entries(send("XPENDING", stream, group, start, end, count, consumer));
    }

    // ---- Pub/sub ----

    /// PUBLISH: how many subscribers received it.
    [[nodiscard]] task<std::int64_t> publish(std::string_view channel, std::string_view message) {
        return integer(send("PUBLISH", channel, message));
    }

private:
    template <class... Args>
    [[nodiscard]] task<value> send(const Args&... args) {
        return static_cast<Derived&>(*this).command(args...);
    }
    template <class... Args>
    [[nodiscard]] task<value> send_blocking(const Args&... args) {
        return static_cast<Derived&>(*this).blocking_command(args...);
    }

    static const char* end_name(list_end end) noexcept { return end == list_end::left ? "LEFT" : "RIGHT"; }
    static std::string seconds_text(std::chrono::milliseconds timeout) {
        const auto ms = timeout.count();
        std::string text = std::to_string(ms / 1000);
        if (ms % 1000 != 0) {
            const std::string fraction = std::to_string(1000 + ms % 1000);
            text += "." + fraction.substr(1);
        }
        return text;
    }

    // Reply conversions: each awaits the command and converts its reply.
    CORIO_HEADER_COROUTINE static task<std::optional<std::string>> optional_string(task<value> reply) {
        value v = co_await std::move(reply);
        co_return v.as_optional_string();
    }
    CORIO_HEADER_COROUTINE static task<std::string> text(task<value> reply) {
        value v = co_await std::move(reply);
        co_return v.as_string();
    }
    CORIO_HEADER_COROUTINE static task<std::int64_t> integer(task<value> reply) {
        value v = co_await std::move(reply);
        co_return v.as_integer();
    }
    CORIO_HEADER_COROUTINE static task<std::optional<std::int64_t>> optional_integer(task<value> reply) {
        const value v = co_await std::move(reply);
        if (v.is_null()) {
            co_return std::nullopt;
        }
        co_return v.as_integer();
    }
    CORIO_HEADER_COROUTINE static task<double> number(task<value> reply) {
        value v = co_await std::move(reply);
        co_return v.as_double();
    }
    CORIO_HEADER_COROUTINE static task<std::optional<double>> optional_double(task<value> reply) {
        const value v = co_await std::move(reply);
        if (v.is_null()) {
            co_return std::nullopt;
        }
        co_return v.as_double();
    }
    CORIO_HEADER_COROUTINE static task<bool> boolean(task<value> reply) {
        value v = co_await std::move(reply);
        co_return v.as_bool();
    }
    CORIO_HEADER_COROUTINE static task<bool> not_null(task<value> reply) {
        const value v = co_await std::move(reply);
        co_return !v.is_null();
    }
    CORIO_HEADER_COROUTINE static task<void> discard(task<value> reply) { (void)co_await std::move(reply); }
    CORIO_HEADER_COROUTINE static task<std::vector<std::string>> strings(task<value> reply) {
        const value v = co_await std::move(reply);
        std::vector<std::string> out;
        for (const value& element : v.as_elements()) {
            out.push_back(element.as_string());
        }
        co_return out;
    }
    CORIO_HEADER_COROUTINE static task<std::vector<std::optional<std::string>>> optional_strings(task<value> reply) {
        const value v = co_await std::move(reply);
        std::vector<std::optional<std::string>> out;
        for (const value& element : v.as_elements()) {
            out.push_back(element.as_optional_string());
        }
        co_return out;
    }
    static field_list pairs_of(const value& v) {
        field_list out;
        const std::vector<value>& elements = v.as_elements();
        if (v.type() != kind::map) {
            // RESP2 flattens a map to an array of alternating keys and values;
            // RESP3 may also nest them as [key, value] pairs.
            if (!elements.empty() && elements.front().is_aggregate()) {
                for (const value& pair : elements) {
                    out.emplace_back(pair[0].as_string(), pair[1].as_string());
                }
                return out;
            }
        }
        if (elements.size() % 2 != 0) {
            throw reply_type_error("redis reply: odd number of elements where pairs were expected");
        }
        for (std::size_t i = 0; i < elements.size(); i += 2) {
            out.emplace_back(elements[i].as_string(), elements[i + 1].as_string());
        }
        return out;
    }
    CORIO_HEADER_COROUTINE static task<field_list> pairs(task<value> reply) {
        const value v = co_await std::move(reply);
        co_return pairs_of(v);
    }
    CORIO_HEADER_COROUTINE static task<std::vector<std::pair<std::string, double>>> scored(task<value> reply) {
        const value v = co_await std::move(reply);
        std::vector<std::pair<std::string, double>> out;
        const std::vector<value>& elements = v.as_elements();
        if (!elements.empty() && elements.front().is_aggregate()) {  // RESP3: [[member, score], ...]
            for (const value& pair : elements) {
                out.emplace_back(pair[0].as_string(), pair[1].as_double());
            }
            co_return out;
        }
        for (std::size_t i = 0; i + 1 < elements.size(); i += 2) {
            out.emplace_back(elements[i].as_string(), elements[i + 1].as_double());
        }
        co_return out;
    }
    CORIO_HEADER_COROUTINE static task<std::optional<std::pair<std::string, std::string>>> key_and_value(
        task<value> reply) {
        const value v = co_await std::move(reply);
        if (v.is_null()) {
            co_return std::nullopt;
        }
        co_return std::pair<std::string, std::string>(v[0].as_string(), v[1].as_string());
    }
    CORIO_HEADER_COROUTINE static task<bool> group_created(task<value> reply) {
        bool exists = false;
        try {
            (void)co_await std::move(reply);
        } catch (const error& e) {
            if (e.prefix() != "BUSYGROUP") {
                throw;
            }
            exists = true;
        }
        co_return !exists;
    }

public:
    /// Entries of an XRANGE-shaped reply ([[id, [field, value, ...]], ...]).
    static std::vector<stream_entry> entries_of(const value& v) {
        std::vector<stream_entry> out;
        for (const value& entry : v.as_elements()) {
            if (entry.is_null() || entry.size() < 2 || entry[1].is_null()) {
                continue;  // an id whose entry was deleted
            }
            stream_entry e;
            e.id = entry[0].as_string();
            e.fields = pairs_of(entry[1]);
            out.push_back(std::move(e));
        }
        return out;
    }

private:
    CORIO_HEADER_COROUTINE static task<std::vector<stream_entry>> stream_entries(task<value> reply) {
        const value v = co_await std::move(reply);
        co_return entries_of(v);
    }
    // XREAD(GROUP) replies [[stream, entries]] (RESP2) or {stream: entries}
    // (RESP3), or null when BLOCK timed out.
    CORIO_HEADER_COROUTINE static task<std::vector<stream_entry>> stream_entries_of_read(task<value> reply) {
        const value v = co_await std::move(reply);
        if (v.is_null()) {
            co_return std::vector<stream_entry>{};
        }
        if (v.type() == kind::map) {
            co_return v.size() >= 2 ? entries_of(v[1]) : std::vector<stream_entry>{};
        }
        if (v.size() == 0) {
            co_return std::vector<stream_entry>{};
        }
        co_return entries_of(v[0][1]);
    }
    CORIO_HEADER_COROUTINE static task<autoclaim_result> autoclaimed(task<value> reply) {
        const value v = co_await std::move(reply);
        autoclaim_result result;
        result.next_start = v[0].as_string();
        result.claimed = entries_of(v[1]);
        if (v.size() > 2) {
            for (const value& id : v[2].as_elements()) {
                result.deleted_ids.push_back(id.as_string());
            }
        }
        co_return result;
    }
    CORIO_HEADER_COROUTINE static task<pending_summary> summary(task<value> reply) {
        const value v = co_await std::move(reply);
        pending_summary result;
        result.count = v[0].as_integer();
        result.smallest_id = v[1].as_optional_string();
        result.largest_id = v[2].as_optional_string();
        if (!v[3].is_null()) {
            for (const value& pair : v[3].as_elements()) {
                result.consumers.emplace_back(pair[0].as_string(), pair[1].as_integer());
            }
        }
        co_return result;
    }
    CORIO_HEADER_COROUTINE static task<std::vector<pending_entry>> pending_entries(task<value> reply) {
        const value v = co_await std::move(reply);
        std::vector<pending_entry> out;
        for (const value& row : v.as_elements()) {
            pending_entry entry;
            entry.id = row[0].as_string();
            entry.consumer = row[1].as_string();
            entry.idle = std::chrono::milliseconds(row[2].as_integer());
            entry.deliveries = row[3].as_integer();
            out.push_back(std::move(entry));
        }
        co_return out;
    }
};

}  // namespace corio::redis
