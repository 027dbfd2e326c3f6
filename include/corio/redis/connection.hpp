#pragma once

#include <corio/detail/config.hpp>
#include <corio/generator.hpp>
#include <corio/redis/detail/client_state.hpp>
#include <corio/redis/detail/command_encoder.hpp>
#include <corio/redis/errors.hpp>
#include <corio/redis/options.hpp>
#include <corio/redis/types.hpp>
#include <corio/redis/value.hpp>
#include <corio/task.hpp>

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace corio::redis {

using detail::command_argument;

class connection;

/// Commands sent together in one write, their replies returned together
/// (redis.asyncio's pipeline(transaction=False)). Other tasks' commands may
/// run between them on the server; use multi() for all-or-nothing.
class pipeline {
public:
    /// Adds a command (same arguments as connection::command).
    template <command_argument... Args>
    pipeline& command(const Args&... args) {
        detail::append_command(m_encoded, args...);
        ++m_count;
        return *this;
    }
    /// Commands queued and not yet sent.
    [[nodiscard]] std::size_t size() const noexcept { return m_count; }

    /// Sends every command and returns their replies in order. Error replies
    /// stay values (value::is_error()) so one failing command does not hide
    /// the others' replies; throws connection_error when the connection is
    /// lost. The pipeline is empty afterwards.
    [[nodiscard]] task<std::vector<value>> execute() {
        const std::size_t count = std::exchange(m_count, 0);
        if (count == 0) {
            return empty_result();
        }
        return detail::execute(m_state, std::exchange(m_encoded, {}), count);
    }

private:
    friend class connection;
    explicit pipeline(std::shared_ptr<detail::client_state> state) : m_state(std::move(state)) {}
    CORIO_HEADER_COROUTINE static task<std::vector<value>> empty_result() { co_return std::vector<value>{}; }

    std::shared_ptr<detail::client_state> m_state;
    std::string m_encoded;
    std::size_t m_count = 0;
};

/// A MULTI/EXEC transaction: the commands run on the server one after the
/// other with nothing in between. Queued with command(), sent with exec() as
/// one batch on the shared connection (so no other task's command can fall
/// between MULTI and EXEC).
class transaction {
public:
    /// Queues a command (same arguments as connection::command); returns *this for chaining.
    template <command_argument... Args>
    transaction& command(const Args&... args) {
        detail::append_command(m_encoded, args...);
        ++m_count;
        return *this;
    }
    /// Commands queued (MULTI and EXEC not counted).
    [[nodiscard]] std::size_t size() const noexcept { return m_count; }

    /// Runs MULTI, the commands, EXEC; returns the commands' replies (an error
    /// reply of one command stays a value, as the others still ran). Throws
    /// redis::error (EXECABORT) when the server refused to queue a command,
    /// watch_error when it refused the EXEC because a key WATCHed on this
    /// connection changed (see connection::watch), connection_error when the
    /// connection is lost.
    [[nodiscard]] task<std::vector<value>> exec() {
        std::string encoded;
        detail::append_command(encoded, "MULTI");
        encoded += std::exchange(m_encoded, {});
        detail::append_command(encoded, "EXEC");
        return run(m_state, std::move(encoded), std::exchange(m_count, 0) + 2);
    }

private:
    friend class connection;
    explicit transaction(std::shared_ptr<detail::client_state> state) : m_state(std::move(state)) {}

    CORIO_HEADER_COROUTINE static task<std::vector<value>> run(std::shared_ptr<detail::client_state> state,
                                                               std::string encoded, std::size_t count) {
        std::vector<value> replies = co_await detail::execute(std::move(state), std::move(encoded), count);
        value& result = replies.back();
        result.throw_if_error();
        if (result.is_null()) {
            throw watch_error("a watched key changed: the transaction did not run");
        }
        co_return std::move(result.elements());
    }

    std::shared_ptr<detail::client_state> m_state;
    std::string m_encoded;
    std::size_t m_count = 0;
};

/// A client connection to one Redis server (redis.asyncio.Redis), made by
/// redis::connect.
///
/// One connection serves every task of the loop at once: commands issued
/// concurrently are written together in one batch and their replies matched
/// in order (auto-pipelining), so 50 tasks doing GET cost a handful of
/// syscalls, not 50 round trips. Blocking commands (BLPOP, BLMOVE,
/// XREADGROUP with BLOCK) run on dedicated connections from a small pool
/// instead, so they never hold up the shared one.
///
/// Errors: an error reply throws redis::error (prefix() is WRONGTYPE, ERR,
/// ...), the connection stays usable. When the connection is lost, the
/// commands waiting on it throw connection_error and the next command
/// reconnects (options.reconnect_attempts tries, with backoff) before it is
/// sent. Cancelling a command (or a wait_for timeout) throws cancelled_error;
/// its reply is still read and dropped, so later replies still reach their
/// commands.
///
/// Helpers are coroutines reading `*this` when they start: keep the
/// connection alive (and unmoved) until they finish. Arguments are copied
/// when the call is made. Loop thread only; move-only; destroying or close()
/// ends the connection (commands in flight throw connection_error).
class connection {
public:
    connection() noexcept = default;
    /// Wraps a client's shared state, owning it (connect() makes it; not for user code).
    explicit connection(std::shared_ptr<detail::client_state> state) noexcept : m_state(std::move(state)) {}
    /// Takes the connection (and whether it owns it); the source is left empty.
    connection(connection&& other) noexcept
        : m_state(std::move(other.m_state)), m_owner(std::exchange(other.m_owner, true)) {}
    /// Closes the connection held before if it owned it, and takes the other one.
    connection& operator=(connection&& other) noexcept {
        if (this != &other) {
            if (m_owner) {
                close();
            }
            m_state = std::move(other.m_state);
            m_owner = std::exchange(other.m_owner, true);
        }
        return *this;
    }
    ~connection() {
        if (m_owner) {
            close();
        }
    }

    /// Another handle on the same connection that does not close it when
    /// destroyed (the one connect() returned still does): for objects that
    /// keep using a connection someone else owns, such as stream_worker.
    [[nodiscard]] connection borrow() const {
        connection shared(state_ptr());
        shared.m_owner = false;
        return shared;
    }

    /// Closes the shared and the dedicated connections. Idempotent.
    void close() noexcept {
        if (m_state) {
            m_state->close();
        }
    }

    /// False for a default-constructed or moved-from connection.
    [[nodiscard]] bool valid() const noexcept { return m_state != nullptr; }
    /// The options it was made with (see connect_options); connection_error if not valid().
    [[nodiscard]] const connect_options& options() const { return state().m_options; }
    /// Whether the current connection speaks RESP3 (HELLO 3 was accepted).
    [[nodiscard]] bool resp3() const noexcept { return m_state && m_state->m_link && m_state->m_link->m_resp3; }

    /// Sends a command, e.g. `co_await r.command("SET", key, 42)`: arguments
    /// are string-like, integers, floating-point numbers or ranges of those.
    /// Returns the reply; throws redis::error for an error reply.
    template <command_argument... Args>
    [[nodiscard]] task<value> command(const Args&... args) {
        std::string encoded;
        detail::append_command(encoded, args...);
        return detail::execute_one(state_ptr(), std::move(encoded));
    }

    /// Like command(), on a dedicated connection: for commands that block on
    /// the server (BLPOP, XREAD BLOCK, WAIT, ...). Cancelling closes that
    /// dedicated connection.
    template <command_argument... Args>
    [[nodiscard]] task<value> blocking_command(const Args&... args) {
        std::string encoded;
        detail::append_command(encoded, args...);
        return detail::execute_dedicated(state_ptr(), std::move(encoded));
    }

    /// Commands to send together (see redis::pipeline).
    [[nodiscard]] redis::pipeline pipeline() { return redis::pipeline(state_ptr()); }
    /// A MULTI/EXEC transaction (see redis::transaction).
    [[nodiscard]] transaction multi() { return transaction(state_ptr()); }

    /// An optimistic transaction (WATCH, then MULTI/EXEC: redis.asyncio's
    /// Redis.transaction). On a dedicated connection from the pool, WATCHes
    /// `keys`, runs `body(conn, tx)` (`task<void>(connection&, transaction&)`:
    /// read the current values through `conn`, that same connection; queue
    /// the writes on `tx`), then EXECs `tx`. When another client changed a
    /// watched key in between, the server refuses the EXEC and all of it runs
    /// again, body included, up to `max_attempts` times in all; then
    /// watch_error. Returns EXEC's replies; when the body queued nothing,
    /// only UNWATCH is sent and the result is empty. An exception from the
    /// body propagates (the dedicated connection is closed, not reused).
    /// std::invalid_argument for no keys or max_attempts < 1.
    template <class Body>
        requires std::invocable<Body&, connection&, transaction&>
    [[nodiscard]] task<std::vector<value>> watch(std::vector<std::string> keys, Body body,
                                                 int max_attempts = 16) {
        return watch_loop(state_ptr(), std::move(keys),
                          std::function<task<void>(connection&, transaction&)>(std::move(body)),
                          max_attempts);
    }

    // ---- Strings ----

    /// GET: the value, or nullopt when the key does not exist.
    [[nodiscard]] task<std::optional<std::string>> get(std::string_view key) {
        return optional_string(command("GET", key));
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
        return not_null(command(args));
    }
    /// INCR: the new value (a missing key counts as 0); redis::error when not an integer.
    [[nodiscard]] task<std::int64_t> incr(std::string_view key) { return integer(command("INCR", key)); }
    /// INCRBY: the new value, after adding `by`.
    [[nodiscard]] task<std::int64_t> incrby(std::string_view key, std::int64_t by) {
        return integer(command("INCRBY", key, by));
    }
    /// DECR: the new value (a missing key counts as 0).
    [[nodiscard]] task<std::int64_t> decr(std::string_view key) { return integer(command("DECR", key)); }
    /// MGET: one optional per key, in order.
    [[nodiscard]] task<std::vector<std::optional<std::string>>> mget(const std::vector<std::string>& keys) {
        return optional_strings(command("MGET", keys));
    }
    /// MSET: sets every key/value pair at once, replacing the values there.
    [[nodiscard]] task<void> mset(const field_list& pairs) {
        std::vector<std::string> args{"MSET"};
        for (const auto& [key, value] : pairs) {
            args.push_back(key);
            args.push_back(value);
        }
        return discard(command(args));
    }

    // ---- Keys ----

    /// DEL: how many of the keys existed.
    [[nodiscard]] task<std::int64_t> del(const std::vector<std::string>& keys) { return integer(command("DEL", keys)); }
    /// DEL of one key: 1 if it existed, else 0.
    [[nodiscard]] task<std::int64_t> del(std::string_view key) { return integer(command("DEL", key)); }
    /// EXISTS: how many of the keys exist.
    [[nodiscard]] task<std::int64_t> exists(const std::vector<std::string>& keys) {
        return integer(command("EXISTS", keys));
    }
    /// EXISTS of one key: 1 or 0.
    [[nodiscard]] task<std::int64_t> exists(std::string_view key) { return integer(command("EXISTS", key)); }
    /// EXPIRE (or PEXPIRE for sub-second durations): false when the key does not exist.
    template <class Rep, class Period>
    [[nodiscard]] task<bool> expire(std::string_view key, std::chrono::duration<Rep, Period> after) {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(after);
        if (ms.count() % 1000 == 0) {
            return boolean(command("EXPIRE", key, static_cast<std::int64_t>(ms.count() / 1000)));
        }
        return boolean(command("PEXPIRE", key, static_cast<std::int64_t>(ms.count())));
    }
    /// TTL in seconds: -1 without expiry, -2 when the key does not exist.
    [[nodiscard]] task<std::int64_t> ttl(std::string_view key) { return integer(command("TTL", key)); }
    /// PTTL: as ttl(), in milliseconds.
    [[nodiscard]] task<std::int64_t> pttl(std::string_view key) { return integer(command("PTTL", key)); }
    /// PERSIST: true if an expiry was removed, false when there was none or no key.
    [[nodiscard]] task<bool> persist(std::string_view key) { return boolean(command("PERSIST", key)); }

    /// SCAN as an async generator of keys matching `pattern` (each key at
    /// least once, as SCAN guarantees for keys present throughout).
    [[nodiscard]] async_generator<std::string> scan(std::string pattern = "*", std::size_t count = 100) {
        return scan_keys(state_ptr(), std::move(pattern), count);
    }

    // ---- Hashes ----

    /// HSET of one field: 1 if the field is new, 0 if its value was replaced.
    [[nodiscard]] task<std::int64_t> hset(std::string_view key, std::string_view field, std::string_view value) {
        return integer(command("HSET", key, field, value));
    }
    /// HSET of several fields: how many were new.
    [[nodiscard]] task<std::int64_t> hset(std::string_view key, const field_list& fields) {
        std::vector<std::string> args{"HSET", std::string(key)};
        for (const auto& [field, value] : fields) {
            args.push_back(field);
            args.push_back(value);
        }
        return integer(command(args));
    }
    /// HGET: the field's value, or nullopt when the field or key does not exist.
    [[nodiscard]] task<std::optional<std::string>> hget(std::string_view key, std::string_view field) {
        return optional_string(command("HGET", key, field));
    }
    /// HGETALL: every field and value (empty when the key does not exist).
    [[nodiscard]] task<field_list> hgetall(std::string_view key) { return pairs(command("HGETALL", key)); }
    /// HDEL: how many of the fields existed and were removed.
    [[nodiscard]] task<std::int64_t> hdel(std::string_view key, const std::vector<std::string>& fields) {
        return integer(command("HDEL", key, fields));
    }
    /// HINCRBY: the field's new value, after adding `by` (a missing field counts as 0).
    [[nodiscard]] task<std::int64_t> hincrby(std::string_view key, std::string_view field, std::int64_t by) {
        return integer(command("HINCRBY", key, field, by));
    }
    /// HEXISTS: whether the field exists.
    [[nodiscard]] task<bool> hexists(std::string_view key, std::string_view field) {
        return boolean(command("HEXISTS", key, field));
    }
    /// HLEN: number of fields (0 when the key does not exist).
    [[nodiscard]] task<std::int64_t> hlen(std::string_view key) { return integer(command("HLEN", key)); }

    // ---- Lists ----

    /// LPUSH / RPUSH: the list's new length.
    [[nodiscard]] task<std::int64_t> lpush(std::string_view key, const std::vector<std::string>& values) {
        return integer(command("LPUSH", key, values));
    }
    /// LPUSH of one value: the list's new length.
    [[nodiscard]] task<std::int64_t> lpush(std::string_view key, std::string_view value) {
        return integer(command("LPUSH", key, value));
    }
    /// RPUSH of several values, in order: the list's new length.
    [[nodiscard]] task<std::int64_t> rpush(std::string_view key, const std::vector<std::string>& values) {
        return integer(command("RPUSH", key, values));
    }
    /// RPUSH of one value: the list's new length.
    [[nodiscard]] task<std::int64_t> rpush(std::string_view key, std::string_view value) {
        return integer(command("RPUSH", key, value));
    }
    /// LPOP: the first element, or nullopt when the list is empty or missing.
    [[nodiscard]] task<std::optional<std::string>> lpop(std::string_view key) {
        return optional_string(command("LPOP", key));
    }
    /// RPOP: the last element, or nullopt when the list is empty or missing.
    [[nodiscard]] task<std::optional<std::string>> rpop(std::string_view key) {
        return optional_string(command("RPOP", key));
    }
    /// LRANGE: elements `start` to `stop`, both included (negative: from the end; 0, -1: all).
    [[nodiscard]] task<std::vector<std::string>> lrange(std::string_view key, std::int64_t start, std::int64_t stop) {
        return strings(command("LRANGE", key, start, stop));
    }
    /// LLEN: the list's length (0 when missing).
    [[nodiscard]] task<std::int64_t> llen(std::string_view key) { return integer(command("LLEN", key)); }
    /// BLPOP on a dedicated connection: {key, value} of the first list with
    /// an element, or nullopt after `timeout` (0: wait forever).
    [[nodiscard]] task<std::optional<std::pair<std::string, std::string>>> blpop(
        const std::vector<std::string>& keys, std::chrono::milliseconds timeout) {
        return key_and_value(blocking_command("BLPOP", keys, seconds_text(timeout)));
    }
    /// BRPOP: as blpop, taking from the tail.
    [[nodiscard]] task<std::optional<std::pair<std::string, std::string>>> brpop(
        const std::vector<std::string>& keys, std::chrono::milliseconds timeout) {
        return key_and_value(blocking_command("BRPOP", keys, seconds_text(timeout)));
    }
    /// BLMOVE on a dedicated connection: the element moved, or nullopt after `timeout`.
    [[nodiscard]] task<std::optional<std::string>> blmove(std::string_view source, std::string_view destination,
                                                          list_end from, list_end to,
                                                          std::chrono::milliseconds timeout) {
        return optional_string(
            blocking_command("BLMOVE", source, destination, end_name(from), end_name(to), seconds_text(timeout)));
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
        return optional_string(command("LMOVE", source, destination, end_name(from), end_name(to)));
    }

    // ---- Sets ----

    /// SADD: how many of the members were not in the set yet.
    [[nodiscard]] task<std::int64_t> sadd(std::string_view key, const std::vector<std::string>& members) {
        return integer(command("SADD", key, members));
    }
    /// SADD of one member: 1 if it was added, 0 if already there.
    [[nodiscard]] task<std::int64_t> sadd(std::string_view key, std::string_view member) {
        return integer(command("SADD", key, member));
    }
    /// SREM: how many of the members were in the set and were removed.
    [[nodiscard]] task<std::int64_t> srem(std::string_view key, const std::vector<std::string>& members) {
        return integer(command("SREM", key, members));
    }
    /// SMEMBERS: every member, in no particular order.
    [[nodiscard]] task<std::vector<std::string>> smembers(std::string_view key) {
        return strings(command("SMEMBERS", key));
    }
    /// SISMEMBER: whether `member` is in the set.
    [[nodiscard]] task<bool> sismember(std::string_view key, std::string_view member) {
        return boolean(command("SISMEMBER", key, member));
    }
    /// SCARD: number of members (0 when missing).
    [[nodiscard]] task<std::int64_t> scard(std::string_view key) { return integer(command("SCARD", key)); }

    // ---- Sorted sets ----

    /// ZADD of one member: 1 if it is new, 0 if only its score changed.
    [[nodiscard]] task<std::int64_t> zadd(std::string_view key, double score, std::string_view member) {
        return integer(command("ZADD", key, score, member));
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
        return integer(command(args));
    }
    /// ZRANGE by rank (start/stop may be negative, from the end).
    [[nodiscard]] task<std::vector<std::string>> zrange(std::string_view key, std::int64_t start, std::int64_t stop) {
        return strings(command("ZRANGE", key, start, stop));
    }
    /// ZRANGE WITHSCORES: (member, score) pairs by rank, as zrange.
    [[nodiscard]] task<std::vector<std::pair<std::string, double>>> zrange_with_scores(std::string_view key,
                                                                                      std::int64_t start,
                                                                                      std::int64_t stop) {
        return scored(command("ZRANGE", key, start, stop, "WITHSCORES"));
    }
    /// ZSCORE: the member's score, or nullopt when the member or key does not exist.
    [[nodiscard]] task<std::optional<double>> zscore(std::string_view key, std::string_view member) {
        return optional_double(command("ZSCORE", key, member));
    }
    /// ZINCRBY: the member's new score, after adding `by` (a new member starts at 0).
    [[nodiscard]] task<double> zincrby(std::string_view key, double by, std::string_view member) {
        return number(command("ZINCRBY", key, by, member));
    }
    /// ZRANK: the member's 0-based rank by ascending score, or nullopt when absent.
    [[nodiscard]] task<std::optional<std::int64_t>> zrank(std::string_view key, std::string_view member) {
        return optional_integer(command("ZRANK", key, member));
    }
    /// ZREM: how many of the members existed and were removed.
    [[nodiscard]] task<std::int64_t> zrem(std::string_view key, const std::vector<std::string>& members) {
        return integer(command("ZREM", key, members));
    }
    /// ZCARD: number of members (0 when missing).
    [[nodiscard]] task<std::int64_t> zcard(std::string_view key) { return integer(command("ZCARD", key)); }

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
        return text(command(args));
    }
    /// XLEN: number of entries in the stream (0 when missing).
    [[nodiscard]] task<std::int64_t> xlen(std::string_view stream) { return integer(command("XLEN", stream)); }
    /// XDEL: how many of the ids existed and were deleted.
    [[nodiscard]] task<std::int64_t> xdel(std::string_view stream, const std::vector<std::string>& ids) {
        return integer(command("XDEL", stream, ids));
    }
    /// XGROUP CREATE (with MKSTREAM when asked): true if made, false if the
    /// group existed already (BUSYGROUP).
    [[nodiscard]] task<bool> xgroup_create(std::string_view stream, std::string_view group, std::string_view id = "$",
                                           bool make_stream = true) {
        if (make_stream) {
            return group_created(command("XGROUP", "CREATE", stream, group, id, "MKSTREAM"));
        }
        return group_created(command("XGROUP", "CREATE", stream, group, id));
    }
    /// XREADGROUP of one stream: entries for `consumer` (id ">" : never
    /// delivered ones; "0": its own pending ones). With `block`, waits up to
    /// that long on a dedicated connection; empty when nothing came.
    [[nodiscard]] task<std::vector<stream_entry>> xreadgroup(std::string_view group, std::string_view consumer,
                                                            std::string_view stream, std::size_t count = 10,
                                                            std::optional<std::chrono::milliseconds> block = std::nullopt,
                                                            std::string_view id = ">") {
        if (block) {
            return stream_entries_of_read(blocking_command("XREADGROUP", "GROUP", group, consumer, "COUNT", count,
                                                           "BLOCK", static_cast<std::int64_t>(block->count()),
                                                           "STREAMS", stream, id));
        }
        return stream_entries_of_read(
            command("XREADGROUP", "GROUP", group, consumer, "COUNT", count, "STREAMS", stream, id));
    }
    /// XRANGE: entries with ids in [start, end].
    [[nodiscard]] task<std::vector<stream_entry>> xrange(std::string_view stream, std::string_view start = "-",
                                                        std::string_view end = "+") {
        return stream_entries(command("XRANGE", stream, start, end));
    }
    /// XACK: how many of the ids were pending and are now acknowledged.
    [[nodiscard]] task<std::int64_t> xack(std::string_view stream, std::string_view group,
                                          const std::vector<std::string>& ids) {
        return integer(command("XACK", stream, group, ids));
    }
    /// XAUTOCLAIM: takes over entries pending longer than `min_idle`.
    [[nodiscard]] task<autoclaim_result> xautoclaim(std::string_view stream, std::string_view group,
                                                    std::string_view consumer, std::chrono::milliseconds min_idle,
                                                    std::string_view start = "0-0", std::size_t count = 100) {
        return autoclaimed(command("XAUTOCLAIM", stream, group, consumer,
                                   static_cast<std::int64_t>(min_idle.count()), start, "COUNT", count));
    }
    /// XPENDING summary of a group.
    [[nodiscard]] task<pending_summary> xpending(std::string_view stream, std::string_view group) {
        return summary(command("XPENDING", stream, group));
    }
    /// XPENDING's extended form: up to `count` pending entries in [start, end]
    /// (of one consumer when given).
    [[nodiscard]] task<std::vector<pending_entry>> xpending_range(std::string_view stream, std::string_view group,
                                                                  std::string_view start, std::string_view end,
                                                                  std::size_t count,
                                                                  std::string_view consumer = {}) {
        if (consumer.empty()) {
            return pending_entries(command("XPENDING", stream, group, start, end, count));
        }
        return pending_entries(command("XPENDING", stream, group, start, end, count, consumer));
    }

    // ---- Pub/sub ----

    /// PUBLISH: how many subscribers received it.
    [[nodiscard]] task<std::int64_t> publish(std::string_view channel, std::string_view message) {
        return integer(command("PUBLISH", channel, message));
    }

    /// The shared state (for subscriber, stream_worker and cluster).
    [[nodiscard]] const std::shared_ptr<detail::client_state>& state_ptr() const {
        if (!m_state) {
            throw connection_error("redis::connection is empty (moved from, or never connected)");
        }
        return m_state;
    }

private:
    CORIO_HEADER_COROUTINE static task<std::vector<value>> watch_loop(
        std::shared_ptr<detail::client_state> state, std::vector<std::string> keys,
        std::function<task<void>(connection&, transaction&)> body, int max_attempts) {
        if (keys.empty()) {
            throw std::invalid_argument("corio::redis::connection::watch: no keys to watch");
        }
        if (max_attempts < 1) {
            throw std::invalid_argument("corio::redis::connection::watch: max_attempts must be at least 1");
        }
        detail::dedicated_lease lease = co_await detail::lease_dedicated(std::move(state));
        connection leased(lease.conn);
        leased.m_owner = false;  // the lease returns it to the pool or closes it
        for (int attempt = 1;; ++attempt) {
            (void)co_await leased.command("WATCH", keys);
            transaction tx(lease.conn);
            co_await body(leased, tx);
            if (tx.size() == 0) {
                (void)co_await leased.command("UNWATCH");
                lease.finished = true;
                co_return std::vector<value>{};
            }
            bool conflicted = false;
            std::vector<value> replies;
            try {
                replies = co_await tx.exec();
            } catch (const watch_error&) {
                conflicted = true;
            }
            if (!conflicted) {
                lease.finished = true;
                co_return replies;
            }
            if (attempt == max_attempts) {
                lease.finished = true;  // EXEC was answered: the connection is in step
                throw watch_error("a watched key changed before each of the " + std::to_string(max_attempts) +
                                  " attempts' EXEC");
            }
        }
    }

    [[nodiscard]] detail::client_state& state() const { return *state_ptr(); }

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
        co_return (co_await std::move(reply)).as_optional_string();
    }
    CORIO_HEADER_COROUTINE static task<std::string> text(task<value> reply) {
        co_return (co_await std::move(reply)).as_string();
    }
    CORIO_HEADER_COROUTINE static task<std::int64_t> integer(task<value> reply) {
        co_return (co_await std::move(reply)).as_integer();
    }
    CORIO_HEADER_COROUTINE static task<std::optional<std::int64_t>> optional_integer(task<value> reply) {
        const value v = co_await std::move(reply);
        if (v.is_null()) {
            co_return std::nullopt;
        }
        co_return v.as_integer();
    }
    CORIO_HEADER_COROUTINE static task<double> number(task<value> reply) {
        co_return (co_await std::move(reply)).as_double();
    }
    CORIO_HEADER_COROUTINE static task<std::optional<double>> optional_double(task<value> reply) {
        const value v = co_await std::move(reply);
        if (v.is_null()) {
            co_return std::nullopt;
        }
        co_return v.as_double();
    }
    CORIO_HEADER_COROUTINE static task<bool> boolean(task<value> reply) {
        co_return (co_await std::move(reply)).as_bool();
    }
    CORIO_HEADER_COROUTINE static task<bool> not_null(task<value> reply) {
        co_return !(co_await std::move(reply)).is_null();
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

    CORIO_HEADER_COROUTINE static async_generator<std::string> scan_keys(std::shared_ptr<detail::client_state> state,
                                                                         std::string pattern, std::size_t count) {
        std::string cursor = "0";
        do {
            std::string encoded;
            detail::append_command(encoded, "SCAN", cursor, "MATCH", pattern, "COUNT", count);
            const value page = co_await detail::execute_one(state, std::move(encoded));
            cursor = page[0].as_string();
            for (const value& key : page[1].as_elements()) {
                std::string name = key.as_string();
                co_yield std::move(name);
            }
        } while (cursor != "0");
    }

    std::shared_ptr<detail::client_state> m_state;
    bool m_owner = true;  // closes the connection when destroyed (false: borrow())
};

/// Connects to the server `options` name, runs the handshake (HELLO 3 with
/// RESP2 fallback, AUTH, CLIENT SETNAME, SELECT) and returns the connection.
/// Throws connection_error when the server cannot be reached (within
/// options.connect_timeout), redis::error when the handshake is refused
/// (WRONGPASS, a database out of range).
[[nodiscard]] CORIO_HEADER_COROUTINE inline task<connection> connect(connect_options options) {
    auto state = std::make_shared<detail::client_state>(std::move(options));
    state->m_link = co_await detail::open_link(state->m_options);
    co_return connection(std::move(state));
}

/// connect() with the options of a URL: redis://[[user]:password@]host[:port][/db],
/// rediss://... (TLS), unix://path[?db=N]. Throws url_error for a bad URL.
[[nodiscard]] inline task<connection> connect(std::string_view url) {
    return connect(connect_options::from_url(url));
}

}  // namespace corio::redis
