#pragma once

// What a redis::connection shares with its running commands: the options,
// the current link (replaced when it breaks), and the pool of dedicated
// connections for blocking commands.

#include <corio/combinators.hpp>
#include <corio/detail/config.hpp>
#include <corio/redis/detail/command_encoder.hpp>
#include <corio/redis/detail/link.hpp>
#include <corio/redis/detail/transport.hpp>
#include <corio/redis/errors.hpp>
#include <corio/redis/options.hpp>
#include <corio/redis/value.hpp>
#include <corio/sleep.hpp>
#include <corio/sync/mutex.hpp>
#include <corio/sync/semaphore.hpp>
#include <corio/task.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace corio::redis::detail {

/// Waits for the replies of a slot; rethrows connection_error when the link
/// broke first. Cancelling leaves the slot to receive (and drop) its replies.
CORIO_HEADER_COROUTINE inline task<std::vector<value>> await_slot(std::shared_ptr<reply_slot> slot) {
    co_await slot->m_done.wait();
    if (slot->m_failure) {
        std::rethrow_exception(slot->m_failure);
    }
    co_return std::move(slot->m_replies);
}

CORIO_HEADER_COROUTINE inline task<value> roundtrip(std::shared_ptr<link> l, std::string encoded) {
    std::vector<value> replies = co_await await_slot(l->enqueue(encoded, 1));
    co_return std::move(replies.front());
}

/// HELLO 3 (with AUTH and SETNAME) or, when the server has no RESP3, AUTH and
/// CLIENT SETNAME on RESP2; then SELECT.
CORIO_HEADER_COROUTINE inline task<void> run_handshake(std::shared_ptr<link> l, connect_options options) {
    bool resp3 = false;
    if (options.protocol >= 3) {
        std::vector<std::string> hello{"HELLO", "3"};
        if (!options.password.empty()) {
            hello.insert(hello.end(), {"AUTH", options.username.empty() ? "default" : options.username,
                                       options.password});
        }
        if (!options.client_name.empty()) {
            hello.insert(hello.end(), {"SETNAME", options.client_name});
        }
        std::string encoded;
        append_command(encoded, hello);
        const value reply = co_await roundtrip(l, std::move(encoded));
        if (reply.is_error()) {
            const error refused(reply.text());
            // Servers before 6 do not know HELLO; NOPROTO means no RESP3.
            const bool unknown = refused.prefix() == "NOPROTO" ||
                                 (refused.prefix() == "ERR" && reply.text().find("unknown command") != std::string::npos);
            if (!unknown) {
                throw refused;
            }
        } else {
            resp3 = true;
        }
    }
    l->m_resp3 = resp3;
    if (!resp3) {
        if (!options.password.empty()) {
            std::string encoded;
            if (options.username.empty()) {
                append_command(encoded, "AUTH", options.password);
            } else {
                append_command(encoded, "AUTH", options.username, options.password);
            }
            (void)(co_await roundtrip(l, std::move(encoded))).throw_if_error();
        }
        if (!options.client_name.empty()) {
            std::string encoded;
            append_command(encoded, "CLIENT", "SETNAME", options.client_name);
            (void)(co_await roundtrip(l, std::move(encoded))).throw_if_error();
        }
    }
    if (options.database != 0) {
        std::string encoded;
        append_command(encoded, "SELECT", options.database);
        (void)(co_await roundtrip(l, std::move(encoded))).throw_if_error();
    }
}

CORIO_HEADER_COROUTINE inline task<std::shared_ptr<link>> open_link_unbounded(connect_options options) {
    redis_stream stream = co_await open_redis_stream(options);
    auto l = std::make_shared<link>(std::move(stream), options.describe());
    l->start();
    std::exception_ptr failure;
    try {
        co_await run_handshake(l, options);
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        l->fail("redis handshake with " + options.describe() + " failed");
        std::rethrow_exception(failure);
    }
    co_return l;
}

/// Connects and runs the handshake within options.connect_timeout. Socket
/// and TLS failures become connection_error; an error reply of the handshake
/// (WRONGPASS, a bad database) stays redis::error.
CORIO_HEADER_COROUTINE inline task<std::shared_ptr<link>> open_link(connect_options options) {
    std::string failure;
    std::shared_ptr<link> result;
    const std::string where = options.describe();
    const auto timeout = options.connect_timeout;
    try {
        task<std::shared_ptr<link>> attempt = open_link_unbounded(std::move(options));
        result = co_await wait_for(std::move(attempt), timeout);
    } catch (const error&) {
        throw;
    } catch (const connection_error&) {
        throw;
    } catch (const timeout_error&) {
        failure = "connect " + where + ": timed out";
    } catch (const std::exception& e) {
        failure = "connect " + where + ": " + e.what();
    }
    if (!failure.empty()) {
        throw connection_error(failure);
    }
    co_return result;
}

class client_state {
public:
    explicit client_state(connect_options options)
        : m_options(std::move(options)), m_blocking_slots(std::max<std::size_t>(1, m_options.blocking_connections)) {}

    connect_options m_options;
    std::shared_ptr<link> m_link;
    mutex m_connecting;
    bool m_closed = false;
    semaphore m_blocking_slots;
    std::vector<std::shared_ptr<client_state>> m_idle_dedicated;
    std::uint64_t m_reconnect_failures = 0;   // series of reconnect attempts that all failed
    std::string m_last_reconnect_failure;     // why the last such series failed

    void close() noexcept {
        m_closed = true;
        if (m_link) {
            m_link->fail("redis connection to " + m_options.describe() + " closed");
        }
        for (const auto& dedicated : m_idle_dedicated) {
            dedicated->close();
        }
        m_idle_dedicated.clear();
    }

    [[nodiscard]] bool usable_now() const noexcept { return m_link && !m_link->broken() && !m_closed; }
};

/// The live link of `state`, reconnecting first when it broke: up to
/// reconnect_attempts tries with doubling delays; one task reconnects while
/// the others wait for it.
CORIO_HEADER_COROUTINE inline task<std::shared_ptr<link>> acquire_link(std::shared_ptr<client_state> state) {
    if (state->usable_now()) {
        co_return state->m_link;
    }
    const std::uint64_t failures_before = state->m_reconnect_failures;
    auto lock = co_await state->m_connecting.lock();
    if (state->m_closed) {
        throw connection_error("redis connection to " + state->m_options.describe() + " is closed");
    }
    if (state->usable_now()) {
        co_return state->m_link;
    }
    // Another task's reconnect attempts all failed while this one waited:
    // share that verdict rather than queue a full series of attempts per
    // waiting task (100 tasks on a dead server would take 100 series).
    if (state->m_reconnect_failures != failures_before) {
        throw connection_error(state->m_last_reconnect_failure);
    }
    auto delay = state->m_options.reconnect_delay;
    const int attempts = std::max(1, state->m_options.reconnect_attempts);
    std::string last_failure;
    for (int attempt = 1; attempt <= attempts; ++attempt) {
        bool failed = false;
        try {
            std::shared_ptr<link> fresh = co_await open_link(state->m_options);
            if (state->m_closed) {
                fresh->fail("redis connection closed");
                throw connection_error("redis connection to " + state->m_options.describe() + " is closed");
            }
            state->m_link = std::move(fresh);
        } catch (const connection_error& e) {
            failed = true;
            last_failure = e.what();
        }
        if (!failed) {
            co_return state->m_link;
        }
        if (attempt < attempts) {
            co_await sleep(delay);
            delay = std::min(delay * 2, state->m_options.max_reconnect_delay);
        }
    }
    ++state->m_reconnect_failures;
    state->m_last_reconnect_failure = last_failure + " (after " + std::to_string(attempts) + " attempts)";
    throw connection_error(state->m_last_reconnect_failure);
}

/// Sends `encoded` (`count` commands) on the shared link and returns the replies.
CORIO_HEADER_COROUTINE inline task<std::vector<value>> execute(std::shared_ptr<client_state> state,
                                                               std::string encoded, std::size_t count) {
    std::shared_ptr<link> l = co_await acquire_link(state);
    co_return co_await await_slot(l->enqueue(encoded, count));
}

/// One command on the shared link: its reply, an error reply thrown as redis::error.
CORIO_HEADER_COROUTINE inline task<value> execute_one(std::shared_ptr<client_state> state, std::string encoded) {
    std::shared_ptr<link> l;
    if (state->usable_now()) {
        l = state->m_link;
    } else {
        l = co_await acquire_link(state);
    }
    std::shared_ptr<reply_slot> slot = l->enqueue(encoded, 1);
    co_await slot->m_done.wait();
    if (slot->m_failure) {
        std::rethrow_exception(slot->m_failure);
    }
    value& reply = slot->m_replies.front();
    reply.throw_if_error();
    co_return std::move(reply);
}

/// A dedicated connection from `owner`'s pool, held with one of its blocking
/// slots: back to the pool on destruction once `finished` was set (its
/// replies all read) and it is still usable, else closed, since a reply may
/// still be on the way.
struct dedicated_lease {
    dedicated_lease(semaphore_permit slot, std::shared_ptr<client_state> owner_state)
        : permit(std::move(slot)), owner(std::move(owner_state)) {
        if (!owner->m_idle_dedicated.empty()) {
            conn = std::move(owner->m_idle_dedicated.back());
            owner->m_idle_dedicated.pop_back();
        } else {
            conn = std::make_shared<client_state>(owner->m_options);
        }
    }
    dedicated_lease(dedicated_lease&&) = default;
    dedicated_lease& operator=(dedicated_lease&&) = delete;
    ~dedicated_lease() {
        if (!conn) {
            return;  // moved from
        }
        if (finished && !owner->m_closed && conn->usable_now()) {
            owner->m_idle_dedicated.push_back(std::move(conn));
        } else {
            conn->close();
        }
    }

    semaphore_permit permit;
    std::shared_ptr<client_state> owner;
    std::shared_ptr<client_state> conn;
    bool finished = false;
};

/// Waits for a blocking slot of `state` and leases a dedicated connection.
CORIO_HEADER_COROUTINE inline task<dedicated_lease> lease_dedicated(std::shared_ptr<client_state> state) {
    semaphore_permit permit = co_await state->m_blocking_slots.acquire();
    if (state->m_closed) {
        throw connection_error("redis connection to " + state->m_options.describe() + " is closed");
    }
    co_return dedicated_lease(std::move(permit), std::move(state));
}

/// One command on a dedicated connection from the pool (blocking commands):
/// the connection goes back to the pool after a reply, and is closed when the
/// command is cancelled or fails, since its reply may still be on the way.
CORIO_HEADER_COROUTINE inline task<value> execute_dedicated(std::shared_ptr<client_state> state, std::string encoded) {
    dedicated_lease lease = co_await lease_dedicated(std::move(state));
    std::vector<value> replies = co_await execute(lease.conn, std::move(encoded), 1);
    lease.finished = true;
    replies.front().throw_if_error();
    co_return std::move(replies.front());
}

}  // namespace corio::redis::detail
