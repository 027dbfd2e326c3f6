#pragma once

// The engine under corio::pg::connection: one libpq connection in pipeline
// mode, its socket watched by the loop, and the FIFO of statements sent and
// not yet answered.
//
// Every statement is sent at once (followed by a Sync, so an error stays its
// own) and queued. Whoever awaits an answer and finds nobody reading becomes
// the driver: it flushes, reads, and hands each result to the queued
// statement it belongs to (results arrive in send order), until its own
// answer is in; then it wakes another waiter to take over. So concurrent
// tasks share one connection without a background task, and a lone task pays
// no hand-off at all.

#include <corio/cancel.hpp>
#include <corio/combinators.hpp>
#include <corio/detail/config.hpp>
#include <corio/detail/io_source.hpp>
#include <corio/errors.hpp>
#include <corio/event_loop.hpp>
#include <corio/pg/detail/socket_poll.hpp>
#include <corio/pg/errors.hpp>
#include <corio/pg/record.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/sync/event.hpp>
#include <corio/task.hpp>
#include <corio/thread_pool.hpp>

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace corio::pg {

/// A NOTIFY received on a channel this connection listens to.
struct notification {
    std::string channel;
    std::string payload;
    int sender_pid = 0;
};

namespace detail {

/// libpq's message for the connection, without its trailing newline.
inline std::string libpq_message(PGconn* conn) {
    std::string text = conn != nullptr ? PQerrorMessage(conn) : "out of memory";
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
        text.pop_back();
    }
    return text.empty() ? "connection lost" : text;
}

inline std::string field_of(const PGresult* result, int code) {
    const char* value = PQresultErrorField(result, code);
    return value != nullptr ? value : "";
}

/// The exception for a failed result: postgres_error (by SQLSTATE) when the
/// server sent one, otherwise what libpq says.
inline std::exception_ptr error_of(const PGresult* result, PGconn* conn) {
    error_fields fields;
    fields.sqlstate = field_of(result, PG_DIAG_SQLSTATE);
    try {
        if (fields.sqlstate.empty()) {
            std::string text = PQresultErrorMessage(result);
            while (!text.empty() && text.back() == '\n') {
                text.pop_back();
            }
            if (PQstatus(conn) == CONNECTION_BAD) {
                throw connection_error("corio::pg: " + (text.empty() ? libpq_message(conn) : text));
            }
            throw interface_error("corio::pg: " + text);
        }
        fields.severity = field_of(result, PG_DIAG_SEVERITY);
        fields.message = field_of(result, PG_DIAG_MESSAGE_PRIMARY);
        fields.detail = field_of(result, PG_DIAG_MESSAGE_DETAIL);
        fields.hint = field_of(result, PG_DIAG_MESSAGE_HINT);
        fields.constraint = field_of(result, PG_DIAG_CONSTRAINT_NAME);
        fields.table = field_of(result, PG_DIAG_TABLE_NAME);
        fields.column = field_of(result, PG_DIAG_COLUMN_NAME);
        throw_postgres_error(std::move(fields));
    } catch (...) {
        return std::current_exception();
    }
}

/// One statement sent and awaiting its answer.
struct pending_statement {
    corio::event wake;  // set when finished, or when its waiter should take over driving
    bool finished = false;
    bool abandoned = false;  // its waiter is gone: the answer is drained and dropped
    result_ptr result;       // the last rows / command result
    std::exception_ptr error;
    std::string prepared_key;  // a statement prepared with it, forgotten if that failed
};

struct cancel_deleter {
    void operator()(PGcancel* cancel) const noexcept { PQfreeCancel(cancel); }
};

/// libpq 15's PQcancel blocks (it connects and writes the CancelRequest), so
/// it runs on the thread pool; the loop never waits for it.
CORIO_HEADER_COROUTINE inline task<> send_cancel_request(std::shared_ptr<PGcancel> cancel) {
    // Named, not a temporary in the co_await: GCC 12 destroys a capturing
    // lambda temporary there twice.
    auto request = [cancel] {
        char message[256];
        (void)PQcancel(cancel.get(), message, static_cast<int>(sizeof message));
    };
    co_await corio::to_thread(std::move(request));
}

struct connection_deleter {
    void operator()(PGconn* conn) const noexcept { PQfinish(conn); }
};
using connection_ptr = std::unique_ptr<PGconn, connection_deleter>;

class pipeline;

/// What prepared statements hold of their connection: the pipeline while the
/// statements may use it, null once it closed or went back to a pool (then
/// `gone` says which).
struct statement_scope {
    pipeline* pipe = nullptr;
    std::string gone;
};

class pipeline {
public:
    pipeline(event_loop& loop, connection_ptr conn, std::size_t statement_cache_size)
        : m_conn(std::move(conn)),
          m_cancel(PQgetCancel(m_conn.get()), cancel_deleter{}),
          m_statement_cache_size(statement_cache_size) {
        if (PQsetnonblocking(m_conn.get(), 1) != 0 || PQenterPipelineMode(m_conn.get()) != 1) {
            throw connection_error("corio::pg: cannot enter pipeline mode: " + libpq_message(m_conn.get()));
        }
        m_source.emplace(loop, PQsocket(m_conn.get()));
    }
    pipeline(const pipeline&) = delete;
    pipeline& operator=(const pipeline&) = delete;
    ~pipeline() { close(); }

    [[nodiscard]] PGconn* native() const noexcept { return m_conn.get(); }
    [[nodiscard]] bool is_closed() const noexcept { return m_conn == nullptr || m_broken; }
    [[nodiscard]] bool is_broken() const noexcept { return m_broken; }
    /// The reactor saw the server hang up (an idle connection whose server went away).
    [[nodiscard]] bool peer_closed() const noexcept { return m_source && m_source->peer_closed(); }
    [[nodiscard]] std::size_t pending() const noexcept { return m_queue.size(); }
    [[nodiscard]] int backend_pid() const noexcept { return m_conn ? PQbackendPID(m_conn.get()) : 0; }
    [[nodiscard]] PGTransactionStatusType transaction_status() const noexcept {
        return m_conn ? PQtransactionStatus(m_conn.get()) : PQTRANS_UNKNOWN;
    }

    /// Fails what is queued with connection_error and closes the connection.
    void close() noexcept {
        retire_statements("its connection was closed");
        if (m_conn == nullptr) {
            return;
        }
        fail_all("corio::pg: the connection was closed");
        m_source.reset();  // stop watching before libpq closes the fd
        m_conn.reset();
        m_broken = true;
    }

    void check_usable() const {
        if (m_conn == nullptr) {
            throw connection_error("corio::pg: the connection is closed");
        }
        if (m_broken) {
            throw connection_error("corio::pg: the connection is broken: " + m_broken_reason);
        }
    }

    /// One parameter: where its bytes are in parameters::data (length -1: NULL),
    /// its format (1: binary) and type OID (0: the server infers it).
    struct parameter_slot {
        std::size_t offset;
        int length;
        int format;
        oid_t type;
    };

    /// The parameters of one statement, encoded: their bytes back to back in
    /// one string, so moving them along costs two pointers' worth.
    struct parameters {
        std::string data;
        std::vector<parameter_slot> slots;
    };

    /// The scope prepared statements of this connection share (made on first use).
    std::shared_ptr<statement_scope> scope() {
        if (!m_scope) {
            m_scope = std::make_shared<statement_scope>();
            m_scope->pipe = this;
        }
        return m_scope;
    }

    /// Makes the prepared statements made so far unusable (they throw,
    /// saying `reason`); later ones get a new scope.
    void retire_statements(const char* reason) noexcept {
        if (m_scope) {
            m_scope->pipe = nullptr;
            try {
                m_scope->gone = reason;
            } catch (...) {
            }
            m_scope.reset();
        }
    }

    /// Names of the statements prepare() made that are still on the server.
    std::vector<std::string>& prepared_names() noexcept { return m_prepared_names; }

    /// Sends PREPARE and DESCRIBE of a named statement (the server infers the
    /// parameter types); the answer is the description.
    std::shared_ptr<pending_statement> send_prepare(const std::string& name, const std::string& sql) {
        check_sendable();
        PGconn* conn = m_conn.get();
        if (PQsendPrepare(conn, name.c_str(), sql.c_str(), 0, nullptr) != 1 ||
            PQsendDescribePrepared(conn, name.c_str()) != 1) {
            throw_send_failure();
        }
        return queue_with_sync();
    }

    /// Sends an execution of a statement made by send_prepare.
    std::shared_ptr<pending_statement> send_prepared(const std::string& name, const parameters& params) {
        check_sendable();
        const int count = unpack(params);
        if (PQsendQueryPrepared(m_conn.get(), name.c_str(), count, m_values.data(), m_lengths.data(),
                                m_formats.data(), 1) != 1) {
            throw_send_failure();
        }
        return queue_with_sync();
    }

    /// Sends a statement with its parameters (binary results) and queues it.
    std::shared_ptr<pending_statement> send(const std::string& sql, const parameters& params, bool cacheable) {
        check_sendable();
        PGconn* conn = m_conn.get();
        auto statement = std::make_shared<pending_statement>();
        const int count = unpack(params);
        int sent = 0;
        if (cacheable && m_statement_cache_size > 0) {
            // The key (types, then the text) is built in a kept buffer: a lookup
            // allocates nothing once it has grown.
            std::string& key = m_key_scratch;
            key.clear();
            for (oid_t type : m_types) {
                char digits[16];
                key.append(digits, std::to_chars(digits, digits + sizeof digits, type).ptr);
                key += ',';
            }
            key += '\0';
            key += sql;
            auto found = m_statements.find(key);
            if (found == m_statements.end() && m_statements.size() < m_statement_cache_size) {
                std::string name = "corio_" + std::to_string(++m_statement_counter);
                if (PQsendPrepare(conn, name.c_str(), sql.c_str(), count, m_types.data()) != 1) {
                    throw_send_failure();
                }
                found = m_statements.emplace(key, std::move(name)).first;
                statement->prepared_key = key;
            }
            if (found != m_statements.end()) {
                sent = PQsendQueryPrepared(conn, found->second.c_str(), count, m_values.data(), m_lengths.data(),
                                           m_formats.data(), 1);
                if (sent != 1) {
                    throw_send_failure();
                }
            }
        }
        if (sent == 0 && PQsendQueryParams(conn, sql.c_str(), count, m_types.data(), m_values.data(),
                                           m_lengths.data(), m_formats.data(), 1) != 1) {
            throw_send_failure();
        }
        if (PQpipelineSync(conn) != 1) {
            throw_send_failure();
        }
        after_send();
        m_queue.push_back(statement);
        return statement;
    }

    /// Waits for the answer of a statement sent with send(); rethrows its error.
    /// If the waiting task is cancelled, the statement is abandoned (its answer
    /// drained later) and, if the server is running it, a cancel request goes.
    CORIO_HEADER_COROUTINE task<result_ptr> wait(std::shared_ptr<pending_statement> statement) {
        std::exception_ptr failure;
        try {
            while (!statement->finished) {
                if (!m_driving) {
                    co_await drive(*statement);
                } else {
                    statement->wake.clear();
                    co_await statement->wake.wait();
                }
            }
        } catch (...) {
            failure = std::current_exception();
        }
        if (failure && statement->finished) {
            // close() woke the wait (detaching the socket wakes it as a
            // cancellation); the statement's own error says what happened.
            failure = nullptr;
        }
        if (failure) {
            if (!statement->finished) {
                statement->abandoned = true;
                if (!m_queue.empty() && m_queue.front() == statement && m_cancel && !m_broken) {
                    std::shared_ptr<PGcancel> cancel = m_cancel;
                    (void)corio::create_task(send_cancel_request(std::move(cancel)));
                }
            }
            std::rethrow_exception(failure);
        }
        if (statement->error) {
            std::rethrow_exception(statement->error);
        }
        co_return std::move(statement->result);
    }

    /// Runs `COPY ... FROM STDIN` with `data` as its input; returns the command
    /// status ("COPY 3"). COPY cannot be pipelined: the connection must be idle,
    /// and leaves pipeline mode for the duration.
    CORIO_HEADER_COROUTINE task<std::string> copy_in(std::string sql, std::string data) {
        check_usable();
        if (!m_queue.empty() || m_driving || m_exclusive) {
            throw interface_error("corio::pg: COPY needs an idle connection (statements are in flight)");
        }
        PGconn* conn = m_conn.get();
        begin_exclusive();
        std::exception_ptr failure;
        std::string status;
        try {
            if (PQsendQueryParams(conn, sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) != 1) {
                throw_send_failure();
            }
            result_ptr result = co_await next_result();
            if (!result || PQresultStatus(result.get()) != PGRES_COPY_IN) {
                std::exception_ptr error = result ? error_of(result.get(), conn) : nullptr;
                while (result) {
                    result = co_await next_result();
                }
                if (error) {
                    std::rethrow_exception(error);
                }
                throw interface_error("corio::pg: the statement did not start COPY FROM STDIN");
            }
            constexpr std::size_t chunk = 64 * 1024;
            for (std::size_t offset = 0; offset < data.size();) {
                const std::size_t size = std::min(chunk, data.size() - offset);
                const int queued = PQputCopyData(conn, data.data() + offset, static_cast<int>(size));
                if (queued < 0) {
                    throw_send_failure();
                }
                if (queued == 1) {
                    offset += size;
                } else {
                    co_await m_source->writable();
                }
            }
            while (true) {
                const int ended = PQputCopyEnd(conn, nullptr);
                if (ended < 0) {
                    throw_send_failure();
                }
                if (ended == 1) {
                    break;
                }
                co_await m_source->writable();
            }
            std::exception_ptr error;
            while (result_ptr next = co_await next_result()) {
                if (PQresultStatus(next.get()) == PGRES_COMMAND_OK) {
                    status = PQcmdStatus(next.get());
                } else if (!error) {
                    error = error_of(next.get(), conn);
                }
            }
            if (error) {
                std::rethrow_exception(error);
            }
        } catch (...) {
            failure = std::current_exception();
        }
        end_exclusive();
        if (failure) {
            std::rethrow_exception(failure);
        }
        co_return status;
    }

    /// Runs `sql`, which may hold several statements, with the simple query
    /// protocol; returns the last statement's command status. The server runs
    /// them in one implicit transaction (unless they manage their own) and stops
    /// at the first error, which is the one thrown. Pipeline mode has no simple
    /// protocol, so this waits for the statements sent before it to be
    /// answered, then leaves pipeline mode while it runs; statements sent
    /// meanwhile wait for it (connection::run).
    CORIO_HEADER_COROUTINE task<std::string> simple_query(std::string sql) {
        while (true) {
            check_usable();
            if (m_exclusive) {
                m_exclusive_over.clear();
                co_await m_exclusive_over.wait();
                continue;
            }
            if (m_queue.empty()) {
                if (m_driving) {
                    throw interface_error(
                        "corio::pg: a multi-statement execute cannot run while listen() reads the connection");
                }
                break;
            }
            // A Sync alone: answered once everything sent before it is.
            std::shared_ptr<pending_statement> barrier = queue_with_sync();
            (void)co_await wait(std::move(barrier));
        }
        PGconn* conn = m_conn.get();
        begin_exclusive();
        std::exception_ptr failure;
        std::string status;
        try {
            if (PQsendQuery(conn, sql.c_str()) != 1) {
                throw_send_failure();
            }
            std::exception_ptr error;
            while (result_ptr next = co_await next_result()) {
                switch (PQresultStatus(next.get())) {
                    case PGRES_COMMAND_OK:
                    case PGRES_TUPLES_OK:
                        status = PQcmdStatus(next.get());
                        break;
                    case PGRES_EMPTY_QUERY:
                        break;
                    case PGRES_COPY_IN:
                        // Ended at once: the server fails the COPY and goes on.
                        if (!error) {
                            error = std::make_exception_ptr(interface_error(
                                "corio::pg: execute cannot run COPY FROM STDIN: use copy_records_to_table"));
                        }
                        if (PQputCopyEnd(conn, "COPY FROM STDIN is not supported by execute") < 0) {
                            throw_send_failure();
                        }
                        break;
                    case PGRES_COPY_OUT:
                    case PGRES_COPY_BOTH:
                        // Its data would have to be drained first: not worth it here.
                        fail_all("corio::pg: execute cannot run COPY TO STDOUT");
                        throw interface_error("corio::pg: execute cannot run COPY TO STDOUT (the connection is closed)");
                    default:
                        if (!error) {
                            error = error_of(next.get(), conn);
                        }
                        break;
                }
            }
            if (error) {
                std::rethrow_exception(error);
            }
        } catch (...) {
            failure = std::current_exception();
        }
        end_exclusive();
        if (failure) {
            std::rethrow_exception(failure);
        }
        co_return status;
    }

    /// A COPY or a multi-statement execute has the connection out of pipeline mode.
    [[nodiscard]] bool exclusive() const noexcept { return m_exclusive; }
    /// Set when the COPY or multi-statement execute in progress is over.
    corio::event& exclusive_over() noexcept { return m_exclusive_over; }

    /// Notifications received so far (drained by listen()).
    std::deque<notification>& notifications() noexcept { return m_notifications; }
    corio::event& notified() noexcept { return m_notified; }

    /// Reads (and dispatches) until a notification arrives, for listen().
    CORIO_HEADER_COROUTINE task<> wait_for_notification() {
        while (m_notifications.empty()) {
            check_usable();
            if (m_driving) {
                m_notified.clear();
                co_await m_notified.wait();
                continue;
            }
            pending_statement never;  // not queued: drive() returns on a notification only
            co_await drive(never, true);
        }
    }

private:
    // Back to pipeline mode after copy_in / simple_query; statements waiting go on.
    // Leaves pipeline mode for a COPY or a simple query; end_exclusive() returns to it.
    void begin_exclusive() {
        if (PQexitPipelineMode(m_conn.get()) != 1) {
            throw_send_failure();
        }
        m_exclusive = true;
    }

    void end_exclusive() {
        m_exclusive = false;
        if (m_conn != nullptr && !m_broken && PQenterPipelineMode(m_conn.get()) != 1) {
            mark_broken("cannot re-enter pipeline mode");
        }
        m_exclusive_over.set();
    }

    void check_sendable() const {
        check_usable();
        if (m_exclusive) {
            throw interface_error("corio::pg: a COPY or a multi-statement execute is in progress on this connection");
        }
    }

    std::shared_ptr<pending_statement> queue_with_sync() {
        if (PQpipelineSync(m_conn.get()) != 1) {
            throw_send_failure();
        }
        after_send();
        auto statement = std::make_shared<pending_statement>();
        m_queue.push_back(statement);
        return statement;
    }

    // PQpipelineSync flushes; when the socket is full libpq keeps the rest, and
    // reads input while it tries (input the reactor may then never announce).
    // A driver asleep on readability would wait for answers to output still
    // here: a flusher task pushes it out, so the server answers and the
    // driver sees the answers arrive.
    void after_send() {
        if (PQflush(m_conn.get()) != 1) {
            return;
        }
        m_maybe_input = true;
        if (m_driving && !m_flusher_active && !m_driver_awaits_writable) {
            m_flusher_active = true;
            try {
                (void)corio::create_task(flush_pending());
            } catch (...) {
                m_flusher_active = false;
                throw;
            }
        }
    }

    CORIO_HEADER_COROUTINE task<> flush_pending() {
        try {
            while (m_conn != nullptr && !m_broken && !m_driver_awaits_writable) {
                if (PQflush(m_conn.get()) != 1) {
                    break;
                }
                m_maybe_input = true;
                co_await m_source->writable();
            }
        } catch (const corio::cancelled_error&) {
            co_return;  // the connection closed: the pipeline may be gone, touch nothing
        }
        m_flusher_active = false;
    }

    // Spreads the parameters into the arrays libpq takes (kept between calls);
    // returns their count.
    int unpack(const parameters& params) {
        m_values.clear();
        m_lengths.clear();
        m_formats.clear();
        m_types.clear();
        for (const parameter_slot& slot : params.slots) {
            m_values.push_back(slot.length < 0 ? nullptr : params.data.data() + slot.offset);
            m_lengths.push_back(slot.length);
            m_formats.push_back(slot.format);
            m_types.push_back(slot.type);
        }
        return static_cast<int>(params.slots.size());
    }

    [[noreturn]] void throw_send_failure() {
        const std::string text = libpq_message(m_conn.get());
        if (PQstatus(m_conn.get()) == CONNECTION_BAD) {
            mark_broken(text);
            throw connection_error("corio::pg: " + text);
        }
        throw interface_error("corio::pg: " + text);
    }

    void mark_broken(const std::string& reason) {
        if (!m_broken) {
            m_broken = true;
            m_broken_reason = reason;
        }
    }

    void fail_all(const std::string& reason) noexcept {
        mark_broken(reason);
        std::exception_ptr error = std::make_exception_ptr(connection_error(reason));
        for (auto& statement : std::exchange(m_queue, {})) {
            statement->error = error;
            statement->finished = true;
            statement->wake.set();
        }
        m_notified.set();
    }

    // Hands driving to a statement still awaited (one whose task is not gone).
    void wake_next_driver() noexcept {
        for (auto& statement : m_queue) {
            if (!statement->abandoned && !statement->finished) {
                statement->wake.set();
                return;
            }
        }
        m_notified.set();  // a listener may drive too
    }

    void finish_front() {
        std::shared_ptr<pending_statement> statement = std::move(m_queue.front());
        m_queue.pop_front();
        if (statement->error && !statement->prepared_key.empty()) {
            m_statements.erase(statement->prepared_key);
        }
        statement->finished = true;
        statement->wake.set();
    }

    // Hands every complete result libpq has to its statement.
    void dispatch_results() {
        PGconn* conn = m_conn.get();
        int empty_in_a_row = 0;
        while (!m_queue.empty() && PQisBusy(conn) == 0) {
            result_ptr result(PQgetResult(conn));
            if (!result) {
                // The end of one query's results; two in a row: nothing more yet.
                if (++empty_in_a_row == 2) {
                    break;
                }
                continue;
            }
            empty_in_a_row = 0;
            pending_statement& statement = *m_queue.front();
            switch (PQresultStatus(result.get())) {
                case PGRES_PIPELINE_SYNC:
                    finish_front();
                    break;
                case PGRES_TUPLES_OK:
                case PGRES_COMMAND_OK:
                case PGRES_EMPTY_QUERY:
                    statement.result = std::move(result);
                    break;
                case PGRES_PIPELINE_ABORTED:
                    break;  // an earlier part of the same statement failed: its error is kept
                case PGRES_FATAL_ERROR:
                case PGRES_NONFATAL_ERROR:
                case PGRES_BAD_RESPONSE:
                    if (!statement.error) {
                        statement.error = error_of(result.get(), conn);
                    }
                    break;
                default:
                    if (!statement.error) {
                        statement.error = std::make_exception_ptr(
                            interface_error(std::string("corio::pg: unexpected result ") +
                                            PQresStatus(PQresultStatus(result.get())) +
                                            " (COPY goes through copy_records_to_table)"));
                    }
                    break;
            }
        }
        while (PGnotify* notify = PQnotifies(conn)) {
            m_notifications.push_back(notification{notify->relname, notify->extra, notify->be_pid});
            PQfreemem(notify);
            m_notified.set();
        }
        if (PQstatus(conn) == CONNECTION_BAD) {
            fail_all("corio::pg: " + libpq_message(conn));
        }
    }

    // Reads and dispatches until `own` is finished (or, for a listener, a
    // notification arrived). Whoever runs this is the only reader.
    //
    // It reads only when there is something to read: results libpq already
    // holds are dispatched first, and the socket is read after the reactor
    // reported input (an edge seen while nobody waited counts). A driver that
    // read on entry instead would make one recv per statement when tasks take
    // turns, each finding one answer; waiting for the edge lets answers gather.
    CORIO_HEADER_COROUTINE task<> drive(pending_statement& own, bool until_notification = false) {
        m_driving = true;
        std::exception_ptr failure;
        auto done = [&] {
            return own.finished || m_broken || (until_notification && !m_notifications.empty());
        };
        try {
            bool read_now = false;
            while (!done()) {
                PGconn* conn = m_conn.get();
                const int flushed = PQflush(conn);
                if (flushed < 0 || (read_now && PQconsumeInput(conn) == 0)) {
                    fail_all("corio::pg: " + libpq_message(conn));
                    break;
                }
                if (std::exchange(read_now, false)) {
                    m_maybe_input = true;
                }
                dispatch_results();
                if (done()) {
                    break;
                }
                // An edge the reactor saw while nobody waited: consumed here,
                // the read follows. Stale edges cost one empty read.
                if (m_source->readable().await_ready()) {
                    read_now = true;
                    continue;
                }
                if (flushed == 1 && !m_flusher_active) {
                    // Output still queued: wait until it can go, but look at the
                    // input now and then, so neither side waits on a full buffer.
                    m_driver_awaits_writable = true;
                    try {
                        co_await corio::wait_for(m_source->writable(), std::chrono::milliseconds(5));
                    } catch (const corio::timeout_error&) {
                    }
                    m_driver_awaits_writable = false;
                } else if (m_maybe_input) {
                    // libpq may leave input in the socket after a read (its buffer
                    // full), which no edge would announce. One pass through the loop
                    // first (the tasks woken by this read run and send, answers
                    // gather), then the socket is asked. Asking at once costs a poll
                    // per sleep and reads answers one by one; waiting for an edge
                    // stalls a large result the server has finished sending.
                    co_await corio::sleep(std::chrono::milliseconds(0));
                    if (done()) {
                        break;  // the connection was closed meanwhile
                    }
                    m_maybe_input = false;
                    if (!m_source->readable().await_ready() && !input_waiting(conn)) {
                        continue;
                    }
                } else if (tls_input_hidden(conn)) {
                    co_await readable_or_soon();
                } else {
                    co_await m_source->readable();
                }
                read_now = true;
            }
        } catch (...) {
            failure = std::current_exception();
        }
        m_driver_awaits_writable = false;
        m_driving = false;
        wake_next_driver();
        if (failure) {
            std::rethrow_exception(failure);
        }
    }

    // For a TLS connection whose buffered input cannot be seen
    // (tls_input_hidden): waits for the socket, but not long.
    CORIO_HEADER_COROUTINE task<> readable_or_soon() {
        try {
            co_await corio::wait_for(m_source->readable(), std::chrono::milliseconds(2));
        } catch (const corio::timeout_error&) {
        }
    }

    // Outside pipeline mode (COPY): the next result, flushing and reading as needed.
    CORIO_HEADER_COROUTINE task<result_ptr> next_result() {
        PGconn* conn = m_conn.get();
        while (true) {
            const int flushed = PQflush(conn);
            if (flushed < 0 || PQconsumeInput(conn) == 0) {
                const std::string reason = "corio::pg: " + libpq_message(conn);
                fail_all(reason);
                throw connection_error(reason);
            }
            if (PQisBusy(conn) == 0) {
                co_return result_ptr(PQgetResult(conn));
            }
            if (input_waiting(conn)) {
                continue;
            }
            if (flushed == 1) {
                co_await m_source->writable();
            } else if (tls_input_hidden(conn)) {
                co_await readable_or_soon();
            } else {
                co_await m_source->readable();
            }
        }
    }

    connection_ptr m_conn;
    std::shared_ptr<PGcancel> m_cancel;
    std::optional<corio::detail::io_source> m_source;
    std::deque<std::shared_ptr<pending_statement>> m_queue;
    bool m_driving = false;
    bool m_maybe_input = false;  // a read may have left input in the socket: look before sleeping
    bool m_flusher_active = false;  // flush_pending() runs
    bool m_driver_awaits_writable = false;  // the driver itself waits to flush
    bool m_exclusive = false;
    bool m_broken = false;
    std::string m_broken_reason;
    std::size_t m_statement_cache_size;
    std::uint64_t m_statement_counter = 0;
    std::unordered_map<std::string, std::string> m_statements;
    std::string m_key_scratch;
    std::shared_ptr<statement_scope> m_scope;
    std::vector<std::string> m_prepared_names;
    std::vector<const char*> m_values;  // send()'s arrays for libpq, kept to spare allocations
    std::vector<int> m_lengths;
    std::vector<int> m_formats;
    std::vector<oid_t> m_types;
    std::deque<notification> m_notifications;
    corio::event m_notified;
    corio::event m_exclusive_over;
};

}  // namespace detail
}  // namespace corio::pg
