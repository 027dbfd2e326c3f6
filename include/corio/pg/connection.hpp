#pragma once

// corio::pg::connection: one PostgreSQL connection (asyncpg's Connection).
// Queries are sent in libpq's pipeline mode with binary parameters and
// results, so tasks that share a connection have their statements in flight
// together and get their answers in the order they issued them.

#include <corio/combinators.hpp>
#include <corio/detail/config.hpp>
#include <corio/event_loop.hpp>
#include <corio/generator.hpp>
#include <corio/pg/detail/connect.hpp>
#include <corio/pg/detail/pipeline.hpp>
#include <corio/pg/detail/statement.hpp>
#include <corio/pg/errors.hpp>
#include <corio/pg/prepared_statement.hpp>
#include <corio/pg/record.hpp>
#include <corio/pg/types.hpp>
#include <corio/sleep.hpp>
#include <corio/task.hpp>

#include <libpq-fe.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace corio::pg {

/// How a connection is made and behaves (asyncpg's connect() keywords).
struct connect_options {
    /// "postgresql://user:password@host:port/db?..." or "host=... dbname=...".
    std::string dsn;
    /// Limit for each statement; when it passes the statement is cancelled on
    /// the server and the call throws corio::timeout_error.
    std::optional<std::chrono::milliseconds> command_timeout;
    /// Statements prepared and kept per connection (0: none).
    std::size_t statement_cache_size = 100;
};

/// A transaction's isolation level (BEGIN ISOLATION LEVEL ...); default_level
/// leaves the server's default (read committed unless configured otherwise).
enum class isolation_level { default_level, read_committed, repeatable_read, serializable };

/// BEGIN's options for connection::transaction (a nested call, a savepoint, ignores them).
struct transaction_options {
    /// ISOLATION LEVEL of the transaction; default_level adds none (the server's default,
    /// normally READ COMMITTED).
    isolation_level isolation = isolation_level::default_level;
    /// Adds READ ONLY: the transaction may not write.
    bool read_only = false;
    /// Adds DEFERRABLE (takes effect only with serializable and read_only: waits for a snapshot
    /// that cannot fail on a serialization conflict).
    bool deferrable = false;
};

namespace detail {

/// `"name"` with inner quotes doubled: an identifier no input can break out of.
inline std::string quote_identifier(std::string_view name) {
    std::string quoted = "\"";
    for (char c : name) {
        quoted += c;
        if (c == '"') {
            quoted += '"';
        }
    }
    return quoted + '"';
}

/// `schema.table` or `table`, each part quoted.
inline std::string quote_qualified(std::string_view name) {
    const std::size_t dot = name.find('.');
    if (dot == std::string_view::npos) {
        return quote_identifier(name);
    }
    return quote_identifier(name.substr(0, dot)) + "." + quote_identifier(name.substr(dot + 1));
}

/// One field of a binary COPY row: its length (-1: NULL) and binary value.
template <class T>
void append_copy_field(std::string& out, const T& value) {
    using value_type = std::remove_cvref_t<T>;
    if constexpr (is_optional<value_type>::value) {
        if (!value.has_value()) {
            put_be(out, static_cast<std::uint32_t>(-1));
        } else {
            append_copy_field(out, *value);
        }
    } else if constexpr (std::is_array_v<value_type> || std::is_same_v<value_type, const char*>) {
        append_copy_field(out, std::string_view(value));
    } else {
        // Text-like values are their bytes in binary form too; typed text
        // (numeric, json, jsonb) is not, so COPY refuses those at compile time.
        static_assert(codec<value_type>::binary || codec<value_type>::type_oid == oids::unknown,
                      "corio::pg: copy_records_to_table cannot send this type in binary COPY");
        const std::size_t length_at = out.size();
        put_be(out, std::uint32_t{0});
        codec<value_type>::encode(value, out);
        std::string length;
        put_be(length, static_cast<std::uint32_t>(out.size() - length_at - 4));
        out.replace(length_at, 4, length);
    }
}

}  // namespace detail

class pool;

/// One PostgreSQL connection (asyncpg's Connection), made by connect() or taken from a pool.
/// Statements go in libpq's pipeline mode with binary parameters and results: tasks sharing
/// the connection have their statements in flight together and get their answers in the
/// order they sent them. Server errors throw postgres_error (or a subclass by SQLSTATE), a
/// lost connection connection_error. Move-only; loop thread only; destroying it closes it.
class connection {
public:
    /// Wraps an open libpq connection (connect() makes it; not for user code).
    connection(detail::connection_ptr conn, connect_options options)
        : m_pipeline(std::make_unique<detail::pipeline>(get_running_loop(), std::move(conn),
                                                        options.statement_cache_size)),
          m_options(std::move(options)) {}
    /// Takes the connection; the source is left closed (its calls throw connection_error).
    connection(connection&&) noexcept = default;
    /// Closes the connection held before (see close()) and takes the other one.
    connection& operator=(connection&&) noexcept = default;
    ~connection() = default;

    /// Rows of a query; `$1`, `$2`... take args (binary, typed by their C++ type;
    /// strings go untyped so the server reads them as the column needs).
    template <class... Args>
    [[nodiscard]] task<std::vector<record>> fetch(std::string sql, const Args&... args) {
        return fetch_encoded(std::move(sql), detail::encode_parameters(args...));
    }
    /// The first row, or nothing.
    template <class... Args>
    [[nodiscard]] task<std::optional<record>> fetchrow(std::string sql, const Args&... args) {
        return fetchrow_encoded(std::move(sql), detail::encode_parameters(args...));
    }
    /// The first column of the first row as T. No row: an empty optional when T
    /// is std::optional, else interface_error.
    template <class T, class... Args>
    [[nodiscard]] task<T> fetchval(std::string sql, const Args&... args) {
        return fetchval_encoded<T>(std::move(sql), detail::encode_parameters(args...));
    }
    /// Runs a statement; returns the command status ("INSERT 0 1", "UPDATE 3"). Without args
    /// the text may hold several statements separated by `;` (asyncpg's execute): they run
    /// with the simple query protocol, in one implicit transaction unless they manage their
    /// own, after the statements already in flight; the status is the last one's, and the
    /// first failing statement's error is thrown (the ones after it do not run).
    template <class... Args>
    [[nodiscard]] task<std::string> execute(std::string sql, const Args&... args) {
        return execute_encoded(std::move(sql), detail::encode_parameters(args...), sizeof...(Args) > 0);
    }
    /// Runs a statement once per row (a tuple of its parameters), all pipelined.
    template <class Row>
    [[nodiscard]] task<> executemany(std::string sql, const std::vector<Row>& rows) {
        std::vector<detail::pipeline::parameters> encoded;
        encoded.reserve(rows.size());
        for (const Row& row : rows) {
            encoded.push_back(std::apply([](const auto&... args) { return detail::encode_parameters(args...); },
                                         row));
        }
        return executemany_encoded(std::move(sql), std::move(encoded));
    }

    /// Prepares `sql` on this connection (asyncpg's `await conn.prepare(sql)`): the server
    /// parses it once and reports its parameter and column types. Bad SQL throws its
    /// postgres_error here. The statement runs on this connection only; after the connection
    /// closes or goes back to its pool it throws stale_statement_error. A pooled connection
    /// deallocates its prepared statements when it is released; otherwise they last as long as
    /// the connection.
    [[nodiscard]] task<prepared_statement> prepare(std::string sql) { return prepare_impl(std::move(sql)); }

    /// Runs fn(connection&) in a transaction: COMMIT when it returns, ROLLBACK
    /// when it throws or is cancelled (then rethrows). Nested calls use savepoints.
    template <class F>
    [[nodiscard]] task<> transaction(F fn, transaction_options options = {}) {
        return transaction_impl(std::function<task<>(connection&)>(std::move(fn)), options);
    }

    /// The rows of a query, fetched `batch` at a time through a server-side
    /// cursor (in a transaction; one is opened if none is). Iterate to the end:
    /// an abandoned cursor stays open until its transaction ends.
    template <class... Args>
    [[nodiscard]] async_generator<record> cursor(std::string sql, const Args&... args) {
        return cursor_encoded(std::move(sql), detail::encode_parameters(args...), 1000);
    }
    /// cursor with a fetch size of `batch` rows per round trip (cursor uses 1000).
    template <class... Args>
    [[nodiscard]] async_generator<record> cursor_batched(std::size_t batch, std::string sql, const Args&... args) {
        return cursor_encoded(std::move(sql), detail::encode_parameters(args...), batch);
    }

    /// Bulk-loads rows (tuples) into `table` with binary `COPY ... FROM STDIN`;
    /// `columns` names the tuple's columns in order (empty: all, in table
    /// order). Returns the command status ("COPY 100000"). Strings go to
    /// text-like columns; the connection must have no statement in flight.
    template <class Row>
    [[nodiscard]] task<std::string> copy_records_to_table(std::string table, const std::vector<Row>& records,
                                                          std::vector<std::string> columns = {}) {
        std::string data("PGCOPY\n\377\r\n\0", 11);
        detail::put_be(data, std::uint32_t{0});  // flags
        detail::put_be(data, std::uint32_t{0});  // header extension length
        for (const Row& row : records) {
            detail::put_be(data, static_cast<std::uint16_t>(std::tuple_size_v<Row>));
            std::apply([&data](const auto&... fields) { (detail::append_copy_field(data, fields), ...); }, row);
        }
        detail::put_be(data, static_cast<std::uint16_t>(0xFFFF));  // trailer: -1
        std::string sql = "COPY " + detail::quote_qualified(table);
        if (!columns.empty()) {
            sql += " (";
            for (std::size_t i = 0; i < columns.size(); ++i) {
                sql += (i == 0 ? "" : ", ") + detail::quote_identifier(columns[i]);
            }
            sql += ")";
        }
        sql += " FROM STDIN (FORMAT binary)";
        return pipe().copy_in(std::move(sql), std::move(data));
    }

    /// LISTEN on a channel; yields each NOTIFY as it arrives.
    [[nodiscard]] async_generator<notification> listen(std::string channel) {
        return listen_impl(std::move(channel));
    }

    /// The server process serving this connection (pg_stat_activity.pid).
    [[nodiscard]] int backend_pid() const noexcept { return m_pipeline ? m_pipeline->backend_pid() : 0; }
    /// Whether a transaction is open (or failed and not yet rolled back).
    [[nodiscard]] bool in_transaction() const noexcept {
        const auto status = m_pipeline ? m_pipeline->transaction_status() : PQTRANS_UNKNOWN;
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE;
    }
    /// Closed by close() or lost (every later call throws connection_error).
    [[nodiscard]] bool is_closed() const noexcept {
        return !m_pipeline || m_pipeline->is_closed() || m_pipeline->peer_closed();
    }
    /// A statement changed session state (SET, LISTEN, DECLARE...): a pool
    /// resets the connection before handing it to someone else.
    [[nodiscard]] bool session_state_changed() const noexcept { return m_session_changed; }
    /// Statements made by prepare() are on the server (the pool deallocates them on release).
    [[nodiscard]] bool has_prepared_statements() const noexcept {
        return m_pipeline && !m_pipeline->prepared_names().empty();
    }
    /// Makes the prepared_statement objects made so far throw stale_statement_error (the pool
    /// calls it when the connection comes back); `reason` ends their message.
    void retire_prepared_statements(const char* reason) noexcept {
        if (m_pipeline) {
            m_pipeline->retire_statements(reason);
        }
    }
    /// DEALLOCATEs on the server every statement prepare() made (the pool calls it on release;
    /// retire them first).
    [[nodiscard]] task<> deallocate_prepared_statements() { return deallocate_impl(); }
    /// Forgets that the session state changed (the pool calls it after resetting the session).
    void clear_session_state_changed() noexcept { m_session_changed = false; }
    /// Statements sent and not yet answered.
    [[nodiscard]] std::size_t pending() const noexcept { return m_pipeline ? m_pipeline->pending() : 0; }
    /// The libpq connection, for what corio::pg does not wrap.
    [[nodiscard]] PGconn* native_handle() const noexcept { return m_pipeline ? m_pipeline->native() : nullptr; }
    /// The options the connection was made with.
    [[nodiscard]] const connect_options& options() const noexcept { return m_options; }

    /// Closes at once: statements still queued fail with connection_error.
    void close() noexcept {
        if (m_pipeline) {
            m_pipeline->close();
        }
    }

private:
    friend class pool;  // its fetch / execute run the encoded forms on a pooled connection

    detail::pipeline& pipe() {
        if (!m_pipeline) {
            throw connection_error("corio::pg: the connection was moved from");
        }
        return *m_pipeline;
    }

    CORIO_HEADER_COROUTINE task<detail::result_ptr> run(std::string sql, detail::pipeline::parameters params,
                                                        bool cacheable = true) {
        detail::pipeline& pipeline = pipe();
        while (pipeline.exclusive()) {
            // A COPY or multi-statement execute runs outside pipeline mode: after it.
            pipeline.exclusive_over().clear();
            co_await pipeline.exclusive_over().wait();
        }
        std::shared_ptr<detail::pending_statement> statement = pipeline.send(sql, params, cacheable);
        if (m_options.command_timeout) {
            co_return co_await corio::wait_for(pipeline.wait(std::move(statement)), *m_options.command_timeout);
        }
        co_return co_await pipeline.wait(std::move(statement));
    }

    CORIO_HEADER_COROUTINE task<std::vector<record>> fetch_encoded(std::string sql,
                                                                   detail::pipeline::parameters params) {
        detail::result_ptr result = co_await run(std::move(sql), std::move(params));
        co_return detail::records_of(std::move(result));
    }

    CORIO_HEADER_COROUTINE task<std::optional<record>> fetchrow_encoded(std::string sql,
                                                                        detail::pipeline::parameters params) {
        detail::result_ptr result = co_await run(std::move(sql), std::move(params));
        co_return detail::first_record_of(std::move(result));
    }

    template <class T>
    CORIO_HEADER_COROUTINE task<T> fetchval_encoded(std::string sql, detail::pipeline::parameters params) {
        detail::result_ptr result = co_await run(std::move(sql), std::move(params));
        co_return detail::value_of<T>(result);
    }

    CORIO_HEADER_COROUTINE task<std::string> execute_encoded(std::string sql, detail::pipeline::parameters params,
                                                             bool cacheable) {
        std::string status;
        if (params.slots.empty() && detail::has_several_statements(sql)) {
            status = co_await pipe().simple_query(std::move(sql));
            // Any of them may have changed the session; only the last status is seen.
            m_session_changed = true;
        } else {
            detail::result_ptr result = co_await run(std::move(sql), std::move(params), cacheable);
            status = detail::status_of(result);
        }
        for (const char* changing : {"SET", "LISTEN", "DECLARE", "PREPARE", "CREATE TEMP"}) {
            if (status.rfind(changing, 0) == 0) {
                m_session_changed = true;
            }
        }
        co_return status;
    }

    CORIO_HEADER_COROUTINE task<> executemany_encoded(std::string sql,
                                                      std::vector<detail::pipeline::parameters> rows) {
        detail::pipeline& pipeline = pipe();
        while (pipeline.exclusive()) {
            pipeline.exclusive_over().clear();
            co_await pipeline.exclusive_over().wait();
        }
        std::vector<std::shared_ptr<detail::pending_statement>> statements;
        statements.reserve(rows.size());
        for (const auto& params : rows) {
            statements.push_back(pipeline.send(sql, params, true));
        }
        // Every answer is awaited (so none is left behind), the first error rethrown.
        std::exception_ptr first_error;
        for (auto& statement : statements) {
            try {
                (void)co_await pipeline.wait(std::move(statement));
            } catch (const error&) {
                if (!first_error) {
                    first_error = std::current_exception();
                }
            }
        }
        if (first_error) {
            std::rethrow_exception(first_error);
        }
    }

    CORIO_HEADER_COROUTINE task<prepared_statement> prepare_impl(std::string sql) {
        detail::pipeline& pipeline = pipe();
        while (pipeline.exclusive()) {
            pipeline.exclusive_over().clear();
            co_await pipeline.exclusive_over().wait();
        }
        std::string name = "corio_prepared_" + std::to_string(++m_prepared_counter);
        std::shared_ptr<detail::pending_statement> statement = pipeline.send_prepare(name, sql);
        detail::result_ptr description;
        if (m_options.command_timeout) {
            description = co_await corio::wait_for(pipeline.wait(std::move(statement)), *m_options.command_timeout);
        } else {
            description = co_await pipeline.wait(std::move(statement));
        }
        pipeline.prepared_names().push_back(name);
        co_return prepared_statement(pipeline.scope(), std::move(name), std::move(sql), description.get(),
                                     m_options.command_timeout);
    }

    CORIO_HEADER_COROUTINE task<> deallocate_impl() {
        std::vector<std::string> names = std::move(pipe().prepared_names());
        pipe().prepared_names().clear();
        for (const std::string& name : names) {
            const std::string deallocate = "DEALLOCATE " + detail::quote_identifier(name);
            (void)co_await execute(deallocate);
        }
    }

    static std::string begin_statement(const transaction_options& options) {
        std::string sql = "BEGIN";
        switch (options.isolation) {
            case isolation_level::read_committed: sql += " ISOLATION LEVEL READ COMMITTED"; break;
            case isolation_level::repeatable_read: sql += " ISOLATION LEVEL REPEATABLE READ"; break;
            case isolation_level::serializable: sql += " ISOLATION LEVEL SERIALIZABLE"; break;
            case isolation_level::default_level: break;
        }
        if (options.read_only) {
            sql += " READ ONLY";
        }
        if (options.deferrable) {
            sql += " DEFERRABLE";
        }
        return sql;
    }

    CORIO_HEADER_COROUTINE task<> transaction_impl(std::function<task<>(connection&)> fn,
                                                   transaction_options options) {
        const std::size_t depth = m_transaction_depth;
        const std::string savepoint = "corio_savepoint_" + std::to_string(depth);
        // Statements are named, never built inside a co_await: GCC 12 frees a
        // (conditional) temporary there twice.
        const std::string begin = depth == 0 ? begin_statement(options) : "SAVEPOINT " + savepoint;
        (void)co_await execute(begin);
        ++m_transaction_depth;
        std::exception_ptr failure;
        try {
            co_await fn(*this);
        } catch (...) {
            failure = std::current_exception();
        }
        --m_transaction_depth;
        if (!failure) {
            const std::string commit = depth == 0 ? std::string("COMMIT") : "RELEASE SAVEPOINT " + savepoint;
            (void)co_await execute(commit);
            co_return;
        }
        // On a cancellation too: a task's cancel interrupts one suspension only,
        // so the rollback's own awaits run.
        bool rolled_back = false;
        try {
            const std::string rollback = depth == 0 ? std::string("ROLLBACK") : "ROLLBACK TO SAVEPOINT " + savepoint;
            (void)co_await execute(rollback);
            if (depth != 0) {
                const std::string release = "RELEASE SAVEPOINT " + savepoint;
                (void)co_await execute(release);
            }
            rolled_back = true;
        } catch (const error&) {
            // A lost connection rolls back on the server by itself.
        }
        (void)rolled_back;
        std::rethrow_exception(failure);
    }

    CORIO_HEADER_COROUTINE async_generator<record> cursor_encoded(std::string sql,
                                                                  detail::pipeline::parameters params,
                                                                  std::size_t batch) {
        const bool own_transaction = !in_transaction();
        if (own_transaction) {
            (void)co_await execute("BEGIN");
        }
        const std::string name = "corio_cursor_" + std::to_string(++m_cursor_counter);
        std::string declare = "DECLARE " + name + " NO SCROLL CURSOR FOR " + sql;
        (void)co_await run(std::move(declare), std::move(params), false);
        const std::string fetch_sql = "FETCH " + std::to_string(batch == 0 ? 1 : batch) + " FROM " + name;
        while (true) {
            std::vector<record> rows = co_await fetch(fetch_sql);
            for (record& row : rows) {
                co_yield std::move(row);
            }
            if (rows.size() < batch) {
                break;
            }
            // Each yield resumes the consumer in a nested call where symmetric
            // transfer is not a tail call (GCC under ASan, -O0); a pass through
            // the loop per batch keeps the stack from growing with the row count.
            co_await corio::sleep(std::chrono::milliseconds(0));
        }
        const std::string close_sql = "CLOSE " + name;
        (void)co_await execute(close_sql);
        if (own_transaction) {
            (void)co_await execute("COMMIT");
        }
    }

    CORIO_HEADER_COROUTINE async_generator<notification> listen_impl(std::string channel) {
        const std::string listen_sql = "LISTEN " + detail::quote_identifier(channel);
        (void)co_await execute(listen_sql);
        detail::pipeline& pipeline = pipe();
        while (true) {
            co_await pipeline.wait_for_notification();
            notification next = std::move(pipeline.notifications().front());
            pipeline.notifications().pop_front();
            co_yield std::move(next);
        }
    }

    std::unique_ptr<detail::pipeline> m_pipeline;
    connect_options m_options;
    std::size_t m_transaction_depth = 0;
    bool m_session_changed = false;
    std::uint64_t m_cursor_counter = 0;
    std::uint64_t m_prepared_counter = 0;
};

/// Opens a connection (asyncpg.connect), without blocking the loop: a host name is
/// resolved by corio (every address is tried), the handshake runs on the socket's
/// readiness. TLS is libpq's, set in the DSN: `sslmode` (`disable`, `prefer` (libpq's
/// default), `require`, `verify-ca`, `verify-full`), `sslrootcert` (the CA file),
/// `sslcert` / `sslkey` (a client certificate). Throws connection_error carrying libpq's
/// reason and the target when the server cannot be reached, refuses the login, or its
/// certificate does not verify ("certificate verify failed", "does not match host name").
/// libpq's `connect_timeout` is not enforced here: bound the call with corio::wait_for.
CORIO_HEADER_COROUTINE inline task<connection> connect(connect_options options) {
    std::string dsn = options.dsn;
    detail::connection_ptr conn = co_await detail::open_connection(std::move(dsn));
    co_return connection(std::move(conn), std::move(options));
}

/// Opens a connection to `dsn` ("postgresql://user:password@host:port/db" or
/// "key=value" form) with the default options.
CORIO_HEADER_COROUTINE inline task<connection> connect(std::string dsn) {
    connect_options options;
    options.dsn = std::move(dsn);
    co_return co_await connect(std::move(options));
}

}  // namespace corio::pg
