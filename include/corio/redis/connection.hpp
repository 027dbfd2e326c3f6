#pragma once

#include <corio/detail/config.hpp>
#include <corio/generator.hpp>
#include <corio/redis/command_helpers.hpp>
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
class connection : public command_helpers<connection> {
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

    // The typed helpers (get, set, hset, lpush, ...) come from command_helpers.

    /// SCAN as an async generator of keys matching `pattern` (each key at
    /// least once, as SCAN guarantees for keys present throughout).
    [[nodiscard]] async_generator<std::string> scan(std::string pattern = "*", std::size_t count = 100) {
        return scan_keys(state_ptr(), std::move(pattern), count);
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
