#pragma once

// corio::pg::pool: a bounded set of connections shared by many tasks
// (asyncpg's Pool). acquire() waits FIFO for a free connection (with an
// optional timeout); the returned handle gives it back when destroyed, after
// rolling back an open transaction and resetting changed session state, so
// nothing leaks from one user to the next. Broken connections are dropped and
// replaced on demand; idle ones are closed after
// max_inactive_connection_lifetime.

#include <corio/combinators.hpp>
#include <corio/detail/config.hpp>
#include <corio/event_loop.hpp>
#include <corio/pg/connection.hpp>
#include <corio/pg/errors.hpp>
#include <corio/spawn.hpp>
#include <corio/sync/event.hpp>
#include <corio/sync/semaphore.hpp>
#include <corio/task.hpp>

#include <chrono>
#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace corio::pg {

/// Options of create_pool (asyncpg.create_pool's keywords).
struct pool_options {
    /// Where each connection goes, as connect_options::dsn.
    std::string dsn;
    /// Connections create_pool opens before returning; more are opened on demand.
    std::size_t min_size = 1;
    /// Most connections open at once, idle and in use; acquire() waits when all are lent.
    /// create_pool throws interface_error unless 0 < max_size and min_size <= max_size.
    std::size_t max_size = 10;
    /// How long acquire() waits for a connection before corio::timeout_error (none: forever).
    std::optional<std::chrono::milliseconds> acquire_timeout;
    /// An idle connection older than this is closed instead of reused (zero: never).
    std::chrono::milliseconds max_inactive_connection_lifetime = std::chrono::minutes(5);
    /// Per-statement limit, as connect_options::command_timeout.
    std::optional<std::chrono::milliseconds> command_timeout;
    /// Statements prepared and kept per connection, as connect_options::statement_cache_size.
    std::size_t statement_cache_size = 100;
};

namespace detail {

struct pool_state {
    explicit pool_state(pool_options options_in)
        : options(std::move(options_in)), permits(options.max_size) {}

    struct idle_connection {
        std::unique_ptr<connection> conn;
        event_loop::clock::time_point since;
    };

    /// A connection lent to the pool's own one-statement calls, shared by them:
    /// their statements are pipelined on it.
    struct shared_connection {
        std::unique_ptr<connection> conn;
        corio::semaphore_permit permit;
        std::size_t users = 0;  // statements running on it
    };

    pool_options options;
    corio::semaphore permits;
    std::deque<idle_connection> idle;
    std::unordered_set<connection*> in_use;
    std::vector<shared_connection> shared;
    std::size_t resetting = 0;
    bool closing = false;
    corio::event drained;  // set when nothing is in use or resetting

    [[nodiscard]] connect_options connection_options() const {
        connect_options result;
        result.dsn = options.dsn;
        result.command_timeout = options.command_timeout;
        result.statement_cache_size = options.statement_cache_size;
        return result;
    }

    void check_drained() noexcept {
        if (in_use.empty() && resetting == 0) {
            drained.set();
        }
    }

    void put_back(std::unique_ptr<connection> conn) {
        if (!closing && !conn->is_closed()) {
            idle.push_back(idle_connection{std::move(conn), event_loop::clock::now()});
        }
    }
};

/// Rolls back / resets a returned connection (and deallocates what it prepared), then puts it
/// back; the permit is given back only then, so the next user never sees the old state.
CORIO_HEADER_COROUTINE inline task<> reset_and_return(std::shared_ptr<pool_state> state,
                                                      std::unique_ptr<connection> conn,
                                                      corio::semaphore_permit permit) {
    bool usable = true;
    try {
        if (conn->in_transaction()) {
            (void)co_await conn->execute("ROLLBACK");
        }
        if (conn->has_prepared_statements()) {
            co_await conn->deallocate_prepared_statements();
        }
        if (conn->session_state_changed()) {
            (void)co_await conn->execute("CLOSE ALL");
            (void)co_await conn->execute("UNLISTEN *");
            (void)co_await conn->execute("RESET ALL");
            conn->clear_session_state_changed();
        }
    } catch (const error&) {
        usable = false;
    }
    if (usable) {
        state->put_back(std::move(conn));
    }
    --state->resetting;
    state->check_drained();
    permit.release();
}

}  // namespace detail

/// A connection taken from a pool; back to the pool when destroyed.
class pooled_connection {
public:
    /// Hands out `conn` under `permit` (acquire() makes it; not for user code).
    pooled_connection(std::shared_ptr<detail::pool_state> state, std::unique_ptr<connection> conn,
                      corio::semaphore_permit permit) noexcept
        : m_state(std::move(state)), m_conn(std::move(conn)), m_permit(std::move(permit)) {
        m_state->in_use.insert(m_conn.get());
        m_state->drained.clear();
    }
    /// Takes the connection; the source holds none afterwards.
    pooled_connection(pooled_connection&&) noexcept = default;
    /// Gives the connection held before back (see release()) and takes the other one.
    pooled_connection& operator=(pooled_connection&& other) noexcept {
        if (this != &other) {
            release();
            m_state = std::move(other.m_state);
            m_conn = std::move(other.m_conn);
            m_permit = std::move(other.m_permit);
        }
        return *this;
    }
    ~pooled_connection() { release(); }

    /// The connection; null after release() or a move.
    connection* operator->() const noexcept { return m_conn.get(); }
    /// The connection; only while one is held.
    connection& operator*() const noexcept { return *m_conn; }

    /// Hands the connection and its permit over (the pool's shared statements
    /// keep them); this handle holds none afterwards.
    void detach(std::unique_ptr<connection>& conn, corio::semaphore_permit& permit) noexcept {
        conn = std::move(m_conn);
        permit = std::move(m_permit);
    }

    /// Gives the connection back now (the destructor does it otherwise).
    void release() noexcept {
        if (!m_conn) {
            return;
        }
        m_state->in_use.erase(m_conn.get());
        m_conn->retire_prepared_statements("its connection was released to the pool");
        if (m_state->closing || m_conn->is_closed() || m_conn->pending() != 0) {
            // Closed, broken, or abandoned mid-statement: not worth keeping.
            m_conn->close();
            m_conn.reset();
        } else if (m_conn->in_transaction() || m_conn->session_state_changed() ||
                   m_conn->has_prepared_statements()) {
            ++m_state->resetting;
            try {
                (void)corio::create_task(detail::reset_and_return(m_state, std::move(m_conn), std::move(m_permit)));
            } catch (...) {
                --m_state->resetting;
                m_conn.reset();
            }
        } else {
            m_state->put_back(std::move(m_conn));
        }
        m_conn.reset();
        m_permit.release();
        m_state->check_drained();
    }

private:
    std::shared_ptr<detail::pool_state> m_state;
    std::unique_ptr<connection> m_conn;
    corio::semaphore_permit m_permit;
};

/// A pool of PostgreSQL connections (asyncpg's Pool), made by create_pool. acquire() lends
/// one until the pooled_connection is destroyed; fetch / fetchrow / fetchval / execute borrow
/// one for a single statement, and when every connection is out they share one already running
/// such statements (pipelined on it) rather than wait, so 100 tasks on a pool of 10 have 100
/// statements in flight. Callers waiting in acquire() keep their turn: while one waits, new
/// statements queue behind it. A statement that changes the session (SET, BEGIN, LISTEN)
/// belongs on an acquired connection, since others may run on the same one. A connection
/// coming back inside a transaction, with session state changed or with prepared statements,
/// is rolled back and reset (ROLLBACK, DEALLOCATE, CLOSE ALL, UNLISTEN *, RESET ALL) before
/// anyone else gets it; one that is closed or has a statement in flight is closed. Copying
/// shares the pool; loop thread only.
class pool {
public:
    /// Wraps a pool's state (create_pool makes it; not for user code).
    explicit pool(std::shared_ptr<detail::pool_state> state) noexcept : m_state(std::move(state)) {}

    /// Waits (FIFO) for a connection: an idle one, or a new one while fewer
    /// than max_size exist. Throws corio::timeout_error after acquire_timeout.
    CORIO_HEADER_COROUTINE task<pooled_connection> acquire() {
        std::shared_ptr<detail::pool_state> state = m_state;
        if (state->closing) {
            throw interface_error("corio::pg: the pool is closed");
        }
        std::optional<corio::semaphore_permit> permit;
        if (state->options.acquire_timeout) {
            permit.emplace(co_await corio::wait_for(state->permits.acquire(), *state->options.acquire_timeout));
        } else {
            permit.emplace(co_await state->permits.acquire());
        }
        if (state->closing) {
            throw interface_error("corio::pg: the pool is closed");
        }
        const auto now = event_loop::clock::now();
        const auto lifetime = state->options.max_inactive_connection_lifetime;
        while (!state->idle.empty()) {
            detail::pool_state::idle_connection candidate = std::move(state->idle.back());
            state->idle.pop_back();
            if (candidate.conn->is_closed() ||
                (lifetime.count() > 0 && now - candidate.since > lifetime)) {
                candidate.conn->close();
                continue;
            }
            co_return pooled_connection(state, std::move(candidate.conn), std::move(*permit));
        }
        connect_options options = state->connection_options();
        connection conn = co_await pg::connect(std::move(options));
        co_return pooled_connection(state, std::make_unique<connection>(std::move(conn)), std::move(*permit));
    }

    /// connection::fetch on a pooled connection, shared with other such statements when none is
    /// free (see the class comment).
    template <class... Args>
    [[nodiscard]] task<std::vector<record>> fetch(std::string sql, const Args&... args) {
        return with_connection<std::vector<record>>(std::move(sql), detail::encode_parameters(args...),
                                                    [](connection& c, std::string s, detail::pipeline::parameters p) {
                                                        return c.fetch_encoded(std::move(s), std::move(p));
                                                    });
    }
    /// connection::fetchrow on a pooled connection, shared with other such statements when none is
    /// free (see the class comment).
    template <class... Args>
    [[nodiscard]] task<std::optional<record>> fetchrow(std::string sql, const Args&... args) {
        return with_connection<std::optional<record>>(
            std::move(sql), detail::encode_parameters(args...),
            [](connection& c, std::string s, detail::pipeline::parameters p) {
                return c.fetchrow_encoded(std::move(s), std::move(p));
            });
    }
    /// connection::fetchval on a pooled connection, shared with other such statements when none is
    /// free (see the class comment).
    template <class T, class... Args>
    [[nodiscard]] task<T> fetchval(std::string sql, const Args&... args) {
        return with_connection<T>(std::move(sql), detail::encode_parameters(args...),
                                  [](connection& c, std::string s, detail::pipeline::parameters p) {
                                      return c.template fetchval_encoded<T>(std::move(s), std::move(p));
                                  });
    }
    /// connection::execute on a pooled connection, shared with other such statements when none is
    /// free (see the class comment).
    template <class... Args>
    [[nodiscard]] task<std::string> execute(std::string sql, const Args&... args) {
        return with_connection<std::string>(std::move(sql), detail::encode_parameters(args...),
                                            [](connection& c, std::string s, detail::pipeline::parameters p) {
                                                return c.execute_encoded(std::move(s), std::move(p), true);
                                            });
    }

    /// Connections open now (idle and in use).
    [[nodiscard]] std::size_t size() const noexcept {
        return m_state->idle.size() + m_state->in_use.size() + m_state->resetting;
    }
    /// Connections open and waiting in the pool.
    [[nodiscard]] std::size_t idle_size() const noexcept { return m_state->idle.size(); }
    /// Callers of acquire() (or of a statement) waiting for a connection.
    [[nodiscard]] std::size_t waiters() const noexcept { return m_state->permits.waiters(); }

    /// Stops handing out connections, waits until every acquired one is back,
    /// then closes them all.
    CORIO_HEADER_COROUTINE task<> close() {
        std::shared_ptr<detail::pool_state> state = m_state;
        state->closing = true;
        state->check_drained();
        co_await state->drained.wait();
        close_idle(*state);
    }

    /// Closes every connection now, those in use included (their statements
    /// fail with connection_error).
    void terminate() noexcept {
        m_state->closing = true;
        for (connection* conn : m_state->in_use) {
            conn->close();
        }
        close_idle(*m_state);
    }

private:
    static void close_idle(detail::pool_state& state) noexcept {
        for (auto& idle : state.idle) {
            idle.conn->close();
        }
        state.idle.clear();
    }

    // A connection for one statement of fetch / execute...: one already
    // carrying such statements when no connection is free, so the tasks share
    // it pipelined instead of queueing for a connection each (null: take one
    // with lend_new_for_statement). Waiters of acquire() keep their place:
    // while any waits, statements queue too.
    static connection* share_for_statement(detail::pool_state& state) {
        if (state.closing) {
            throw interface_error("corio::pg: the pool is closed");
        }
        if (state.permits.available() != 0 || state.permits.waiters() != 0) {
            return nullptr;
        }
        detail::pool_state::shared_connection* least = nullptr;
        for (auto& candidate : state.shared) {
            if ((least == nullptr || candidate.users < least->users) && !candidate.conn->is_closed()) {
                least = &candidate;
            }
        }
        if (least == nullptr) {
            return nullptr;
        }
        ++least->users;
        return least->conn.get();
    }

    CORIO_HEADER_COROUTINE task<connection*> lend_new_for_statement() {
        std::shared_ptr<detail::pool_state> state = m_state;
        pooled_connection lent = co_await acquire();
        std::unique_ptr<connection> conn;
        corio::semaphore_permit permit;
        lent.detach(conn, permit);
        connection* raw = conn.get();
        state->shared.push_back(detail::pool_state::shared_connection{std::move(conn), std::move(permit), 1});
        co_return raw;
    }

    // The statement on `conn` is done: the last one out gives it back.
    static void return_from_statement(const std::shared_ptr<detail::pool_state>& state, connection* conn) noexcept {
        auto& shared = state->shared;
        for (auto it = shared.begin(); it != shared.end(); ++it) {
            if (it->conn.get() != conn) {
                continue;
            }
            if (--it->users == 0) {
                detail::pool_state::shared_connection done = std::move(*it);
                shared.erase(it);
                pooled_connection(state, std::move(done.conn), std::move(done.permit)).release();
            }
            return;
        }
    }

    template <class T, class Run>
    CORIO_HEADER_COROUTINE task<T> with_connection(std::string sql, detail::pipeline::parameters params, Run run) {
        std::shared_ptr<detail::pool_state> state = m_state;
        connection* conn = share_for_statement(*state);
        if (conn == nullptr) {
            conn = co_await lend_new_for_statement();
        }
        std::exception_ptr failure;
        std::optional<T> result;
        try {
            result.emplace(co_await run(*conn, std::move(sql), std::move(params)));
        } catch (...) {
            failure = std::current_exception();
        }
        return_from_statement(state, conn);
        if (failure) {
            std::rethrow_exception(failure);
        }
        co_return std::move(*result);
    }

    std::shared_ptr<detail::pool_state> m_state;
};

/// Creates a pool and opens min_size connections (asyncpg.create_pool).
CORIO_HEADER_COROUTINE inline task<pool> create_pool(pool_options options) {
    if (options.max_size == 0 || options.min_size > options.max_size) {
        throw interface_error("corio::pg: create_pool needs 0 < max_size and min_size <= max_size");
    }
    auto state = std::make_shared<detail::pool_state>(std::move(options));
    for (std::size_t i = 0; i < state->options.min_size; ++i) {
        connect_options connect = state->connection_options();
        connection conn = co_await pg::connect(std::move(connect));
        state->idle.push_back(
            detail::pool_state::idle_connection{std::make_unique<connection>(std::move(conn)),
                                                event_loop::clock::now()});
    }
    co_return pool(std::move(state));
}

}  // namespace corio::pg
