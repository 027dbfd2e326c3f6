#pragma once

// The errors of corio::pg (asyncpg's exception family): what the server
// reported (postgres_error and its SQLSTATE subclasses), a connection that
// could not be made or was lost (connection_error), and misuse of results
// (interface_error: a NULL read as a non-optional, a type mismatch).

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace corio::pg {

/// Base of every corio::pg error.
class error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Connecting failed (refused, authentication failed, bad parameters) or an
/// established connection was lost (server gone, socket error).
class connection_error : public error {
public:
    using error::error;
};

/// The result was used in a way its contents do not allow.
class interface_error : public error {
public:
    using error::error;
};

/// A NULL field was read as a type that cannot hold NULL (use std::optional<T>).
class null_value_error : public interface_error {
public:
    using interface_error::interface_error;
};

/// A field was read as a C++ type its PostgreSQL type does not convert to.
class type_mismatch_error : public interface_error {
public:
    using interface_error::interface_error;
};

/// A prepared_statement was used after its connection closed or went back to its pool.
class stale_statement_error : public interface_error {
public:
    using interface_error::interface_error;
};

/// What the server reported about a failed statement.
struct error_fields {
    /// Five-character SQLSTATE code ("23505"); its first two characters are the class.
    std::string sqlstate;
    /// "ERROR", "FATAL" or "PANIC", translated when the server's lc_messages is not English.
    std::string severity;
    /// The primary message, one line.
    std::string message;
    /// Optional detail ("" when none): e.g. the key that violated a unique constraint.
    std::string detail;
    /// Optional suggestion on what to do ("" when none).
    std::string hint;
    /// Name of the constraint violated ("" when the error is not about one).
    std::string constraint;
    /// Name of the table involved ("" when none was reported).
    std::string table;
    /// Name of the column involved ("" when none was reported).
    std::string column;
};

/// An error reported by the server, with its SQLSTATE and the server's text.
class postgres_error : public error {
public:
    /// The error the server reported in `fields`; what() is the message, SQLSTATE, detail and
    /// hint.
    explicit postgres_error(error_fields fields)
        : error(describe(fields)), m_fields(std::make_shared<const error_fields>(std::move(fields))) {}

    /// The SQLSTATE code, e.g. "23505" (see error_fields).
    [[nodiscard]] const std::string& sqlstate() const noexcept { return m_fields->sqlstate; }
    /// "ERROR", "FATAL" or "PANIC", possibly translated (see error_fields).
    [[nodiscard]] const std::string& severity() const noexcept { return m_fields->severity; }
    /// The server's primary message.
    [[nodiscard]] const std::string& message() const noexcept { return m_fields->message; }
    /// The server's detail, "" when none.
    [[nodiscard]] const std::string& detail() const noexcept { return m_fields->detail; }
    /// The server's hint, "" when none.
    [[nodiscard]] const std::string& hint() const noexcept { return m_fields->hint; }
    /// The violated constraint's name, "" when none.
    [[nodiscard]] const std::string& constraint_name() const noexcept { return m_fields->constraint; }
    /// The table involved, "" when none was reported.
    [[nodiscard]] const std::string& table_name() const noexcept { return m_fields->table; }
    /// The column involved, "" when none was reported.
    [[nodiscard]] const std::string& column_name() const noexcept { return m_fields->column; }

private:
    static std::string describe(const error_fields& fields) {
        std::string text = fields.message + " (SQLSTATE " + fields.sqlstate + ")";
        if (!fields.detail.empty()) {
            text += "; detail: " + fields.detail;
        }
        if (!fields.hint.empty()) {
            text += "; hint: " + fields.hint;
        }
        return text;
    }

    // Shared, so copying an exception (as std::exception_ptr does) never throws.
    std::shared_ptr<const error_fields> m_fields;
};

// SQLSTATE classes asyncpg names too (PostgreSQL manual, appendix A).
#define CORIO_PG_SQLSTATE_ERROR(name, base)      \
    class name : public base {                   \
    public:                                      \
        using base::base;                        \
    };

/// SQLSTATE class 23 (integrity constraint violation); base of the errors below it.
CORIO_PG_SQLSTATE_ERROR(integrity_constraint_violation, postgres_error)
/// SQLSTATE 23505: unique violation; derives from integrity_constraint_violation.
CORIO_PG_SQLSTATE_ERROR(unique_violation, integrity_constraint_violation)
/// SQLSTATE 23503: foreign key violation; derives from integrity_constraint_violation.
CORIO_PG_SQLSTATE_ERROR(foreign_key_violation, integrity_constraint_violation)
/// SQLSTATE 23502: not null violation; derives from integrity_constraint_violation.
CORIO_PG_SQLSTATE_ERROR(not_null_violation, integrity_constraint_violation)
/// SQLSTATE 23514: check violation; derives from integrity_constraint_violation.
CORIO_PG_SQLSTATE_ERROR(check_violation, integrity_constraint_violation)
/// SQLSTATE class 40 (transaction rollback); base of the errors below it.
CORIO_PG_SQLSTATE_ERROR(transaction_rollback, postgres_error)
/// SQLSTATE 40001: serialization failure; derives from transaction_rollback.
CORIO_PG_SQLSTATE_ERROR(serialization_failure, transaction_rollback)
/// SQLSTATE 40P01: deadlock detected; derives from transaction_rollback.
CORIO_PG_SQLSTATE_ERROR(deadlock_detected, transaction_rollback)
/// SQLSTATE class 42 (syntax error or access rule violation); base of the errors below it.
CORIO_PG_SQLSTATE_ERROR(syntax_error_or_access_rule_violation, postgres_error)
/// SQLSTATE 42601: syntax error; derives from syntax_error_or_access_rule_violation.
CORIO_PG_SQLSTATE_ERROR(syntax_error, syntax_error_or_access_rule_violation)
/// SQLSTATE 42P01: undefined table; derives from syntax_error_or_access_rule_violation.
CORIO_PG_SQLSTATE_ERROR(undefined_table, syntax_error_or_access_rule_violation)
/// SQLSTATE 42703: undefined column; derives from syntax_error_or_access_rule_violation.
CORIO_PG_SQLSTATE_ERROR(undefined_column, syntax_error_or_access_rule_violation)
/// SQLSTATE 57014: query canceled; derives from postgres_error.
CORIO_PG_SQLSTATE_ERROR(query_canceled, postgres_error)
/// SQLSTATE 22P02: invalid text representation; derives from postgres_error.
CORIO_PG_SQLSTATE_ERROR(invalid_text_representation, postgres_error)

#undef CORIO_PG_SQLSTATE_ERROR

namespace detail {

/// Throws the most specific postgres_error subclass for the SQLSTATE.
[[noreturn]] inline void throw_postgres_error(error_fields fields) {
    const std::string code = fields.sqlstate;
    const std::string_view error_class = std::string_view(code).substr(0, 2);
    if (code == "23505") throw unique_violation(std::move(fields));
    if (code == "23503") throw foreign_key_violation(std::move(fields));
    if (code == "23502") throw not_null_violation(std::move(fields));
    if (code == "23514") throw check_violation(std::move(fields));
    if (code == "40001") throw serialization_failure(std::move(fields));
    if (code == "40P01") throw deadlock_detected(std::move(fields));
    if (code == "42601") throw syntax_error(std::move(fields));
    if (code == "42P01") throw undefined_table(std::move(fields));
    if (code == "42703") throw undefined_column(std::move(fields));
    if (code == "57014") throw query_canceled(std::move(fields));
    if (code == "22P02") throw invalid_text_representation(std::move(fields));
    if (error_class == "23") throw integrity_constraint_violation(std::move(fields));
    if (error_class == "40") throw transaction_rollback(std::move(fields));
    if (error_class == "42") throw syntax_error_or_access_rule_violation(std::move(fields));
    throw postgres_error(std::move(fields));
}

}  // namespace detail
}  // namespace corio::pg
