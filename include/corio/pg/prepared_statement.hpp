#pragma once

// corio::pg::prepared_statement: a statement prepared once on one connection
// (asyncpg's PreparedStatement, from `await conn.prepare(sql)`), run as often
// as needed with new arguments, pipelined like any statement of the
// connection, with the parameter and column types the server reported.

#include <corio/combinators.hpp>
#include <corio/detail/config.hpp>
#include <corio/pg/detail/pipeline.hpp>
#include <corio/pg/detail/statement.hpp>
#include <corio/pg/detail/wire.hpp>
#include <corio/pg/errors.hpp>
#include <corio/pg/record.hpp>
#include <corio/task.hpp>

#include <libpq-fe.h>

#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace corio::pg {

namespace detail {

/// What a prepared statement is: its server-side name, text and the types the server reported.
struct prepared_info {
    std::string name;
    std::string sql;
    std::vector<oid_t> parameter_types;
    std::vector<std::string> column_names;
    std::vector<oid_t> column_types;
    std::optional<std::chrono::milliseconds> command_timeout;
};

inline bool is_integer_type(oid_t type) noexcept {
    return type == oids::int2 || type == oids::int4 || type == oids::int8;
}

inline std::size_t integer_size(oid_t type) noexcept {
    return type == oids::int2 ? 2 : type == oids::int4 ? 4 : 8;
}

/// Re-encodes binary arguments whose C++ type differs from the parameter's
/// type where the value converts (integers of another width, float and
/// double); other differences are a type_mismatch_error naming the parameter.
/// Text arguments (strings) and NULLs go as they are: the server reads them.
inline void adapt_parameters(pipeline::parameters& params, const std::vector<oid_t>& types) {
    if (params.slots.size() != types.size()) {
        throw interface_error("corio::pg: the prepared statement takes " + std::to_string(types.size()) +
                              " parameters, " + std::to_string(params.slots.size()) + " given");
    }
    bool matches = true;
    for (std::size_t i = 0; i < types.size(); ++i) {
        const pipeline::parameter_slot& slot = params.slots[i];
        matches = matches && (slot.length < 0 || slot.format == 0 || slot.type == types[i]);
    }
    if (matches) {
        return;
    }
    std::string data;
    for (std::size_t i = 0; i < types.size(); ++i) {
        pipeline::parameter_slot& slot = params.slots[i];
        const char* bytes = params.data.data() + slot.offset;
        const std::size_t offset = data.size();
        if (slot.length < 0) {
            slot.offset = offset;
            continue;
        }
        const oid_t wanted = types[i];
        if (slot.format == 0) {
            data.append(bytes, static_cast<std::size_t>(slot.length));
            data += '\0';  // libpq reads a text value up to its NUL
            slot.offset = offset;
            continue;
        }
        if (slot.type == wanted) {
            data.append(bytes, static_cast<std::size_t>(slot.length));
        } else if (is_integer_type(slot.type) && is_integer_type(wanted)) {
            std::int64_t value = 0;
            switch (slot.length) {
                case 2: value = static_cast<std::int16_t>(get_be<std::uint16_t>(bytes)); break;
                case 4: value = static_cast<std::int32_t>(get_be<std::uint32_t>(bytes)); break;
                default: value = static_cast<std::int64_t>(get_be<std::uint64_t>(bytes)); break;
            }
            const std::size_t size = integer_size(wanted);
            const std::int64_t limit = size == 8 ? std::numeric_limits<std::int64_t>::max()
                                                 : (std::int64_t{1} << (8 * size - 1)) - 1;
            if (value > limit || value < -limit - 1) {
                throw type_mismatch_error("corio::pg: parameter $" + std::to_string(i + 1) + " is " +
                                          type_name(wanted) + ", too small for " + std::to_string(value));
            }
            switch (size) {
                case 2: put_be(data, static_cast<std::uint16_t>(value)); break;
                case 4: put_be(data, static_cast<std::uint32_t>(value)); break;
                default: put_be(data, static_cast<std::uint64_t>(value)); break;
            }
        } else if (slot.type == oids::float4 && wanted == oids::float8) {
            put_be(data, std::bit_cast<std::uint64_t>(static_cast<double>(std::bit_cast<float>(get_be<std::uint32_t>(bytes)))));
        } else if (slot.type == oids::float8 && wanted == oids::float4) {
            put_be(data, std::bit_cast<std::uint32_t>(static_cast<float>(std::bit_cast<double>(get_be<std::uint64_t>(bytes)))));
        } else {
            throw type_mismatch_error("corio::pg: parameter $" + std::to_string(i + 1) + " is " + type_name(wanted) +
                                      ", which cannot take a " + type_name(slot.type) + " value");
        }
        slot.offset = offset;
        slot.length = static_cast<int>(data.size() - offset);
        slot.type = wanted;
    }
    params.data = std::move(data);
}

}  // namespace detail

/// A statement prepared on one connection (asyncpg's PreparedStatement), made by
/// connection::prepare. fetch / fetchrow / fetchval / execute run it on that connection with
/// new arguments, pipelined with the connection's other statements, so several tasks may run
/// one prepared_statement at once. Arguments are encoded as for connection::fetch and
/// converted to the parameter types the server inferred where the value converts (an
/// int64_t for an integer parameter); other mismatches throw type_mismatch_error. Copies
/// share the statement. Once its connection is closed or released to its pool, every call
/// throws stale_statement_error. Loop thread only.
class prepared_statement {
public:
    /// The statement `name` described by `description` (connection::prepare makes it; not for
    /// user code).
    prepared_statement(std::shared_ptr<detail::statement_scope> scope, std::string name, std::string sql,
                       const PGresult* description, std::optional<std::chrono::milliseconds> command_timeout)
        : m_scope(std::move(scope)) {
        auto info = std::make_shared<detail::prepared_info>();
        info->name = std::move(name);
        info->sql = std::move(sql);
        info->command_timeout = command_timeout;
        if (description != nullptr) {
            for (int i = 0; i < PQnparams(description); ++i) {
                info->parameter_types.push_back(PQparamtype(description, i));
            }
            for (int i = 0; i < PQnfields(description); ++i) {
                info->column_names.emplace_back(PQfname(description, i));
                info->column_types.push_back(PQftype(description, i));
            }
        }
        m_info = std::move(info);
    }

    /// The rows the statement returns for `args` (`$1`, `$2`...).
    template <class... Args>
    [[nodiscard]] task<std::vector<record>> fetch(const Args&... args) const {
        return fetch_encoded(m_info, m_scope, detail::encode_parameters(args...));
    }
    /// The first row, or nothing.
    template <class... Args>
    [[nodiscard]] task<std::optional<record>> fetchrow(const Args&... args) const {
        return fetchrow_encoded(m_info, m_scope, detail::encode_parameters(args...));
    }
    /// The first column of the first row as T. No row: an empty optional when T is
    /// std::optional, else interface_error.
    template <class T, class... Args>
    [[nodiscard]] task<T> fetchval(const Args&... args) const {
        return fetchval_encoded<T>(m_info, m_scope, detail::encode_parameters(args...));
    }
    /// Runs the statement; returns its command status ("INSERT 0 1").
    template <class... Args>
    [[nodiscard]] task<std::string> execute(const Args&... args) const {
        return execute_encoded(m_info, m_scope, detail::encode_parameters(args...));
    }

    /// The type OIDs of the parameters `$1`, `$2`... as the server inferred them (corio::pg's
    /// type names for messages: see the types header).
    [[nodiscard]] const std::vector<unsigned int>& parameter_types() const noexcept {
        return m_info->parameter_types;
    }
    /// The names of the result's columns, in order (empty for a statement returning no rows).
    [[nodiscard]] const std::vector<std::string>& column_names() const noexcept { return m_info->column_names; }
    /// The type OIDs of the result's columns, in order.
    [[nodiscard]] const std::vector<unsigned int>& column_types() const noexcept { return m_info->column_types; }
    /// The statement's SQL text.
    [[nodiscard]] const std::string& sql() const noexcept { return m_info->sql; }
    /// The statement's name on the server.
    [[nodiscard]] const std::string& name() const noexcept { return m_info->name; }
    /// Whether its connection still runs it (false once closed or released to its pool).
    [[nodiscard]] bool is_usable() const noexcept { return m_scope && m_scope->pipe != nullptr; }

private:
    using info_ptr = std::shared_ptr<const detail::prepared_info>;
    using scope_ptr = std::shared_ptr<detail::statement_scope>;

    static detail::pipeline& pipeline_of(const scope_ptr& scope) {
        if (!scope || scope->pipe == nullptr) {
            throw stale_statement_error("corio::pg: prepared statement used after " +
                                        (scope ? scope->gone : std::string("its connection was closed")));
        }
        return *scope->pipe;
    }

    // The coroutines hold the statement's parts, not the object: a call may outlive it.
    CORIO_HEADER_COROUTINE static task<detail::result_ptr> run(info_ptr info, scope_ptr scope,
                                                               detail::pipeline::parameters params) {
        detail::adapt_parameters(params, info->parameter_types);
        while (pipeline_of(scope).exclusive()) {
            // A COPY or multi-statement execute runs outside pipeline mode: after it.
            pipeline_of(scope).exclusive_over().clear();
            co_await pipeline_of(scope).exclusive_over().wait();
        }
        detail::pipeline& pipeline = pipeline_of(scope);
        std::shared_ptr<detail::pending_statement> statement = pipeline.send_prepared(info->name, params);
        if (info->command_timeout) {
            co_return co_await corio::wait_for(pipeline.wait(std::move(statement)), *info->command_timeout);
        }
        co_return co_await pipeline.wait(std::move(statement));
    }

    CORIO_HEADER_COROUTINE static task<std::vector<record>> fetch_encoded(info_ptr info, scope_ptr scope,
                                                                          detail::pipeline::parameters params) {
        detail::result_ptr result = co_await run(std::move(info), std::move(scope), std::move(params));
        co_return detail::records_of(std::move(result));
    }

    CORIO_HEADER_COROUTINE static task<std::optional<record>> fetchrow_encoded(info_ptr info, scope_ptr scope,
                                                                               detail::pipeline::parameters params) {
        detail::result_ptr result = co_await run(std::move(info), std::move(scope), std::move(params));
        co_return detail::first_record_of(std::move(result));
    }

    template <class T>
    CORIO_HEADER_COROUTINE static task<T> fetchval_encoded(info_ptr info, scope_ptr scope,
                                                           detail::pipeline::parameters params) {
        detail::result_ptr result = co_await run(std::move(info), std::move(scope), std::move(params));
        co_return detail::value_of<T>(result);
    }

    CORIO_HEADER_COROUTINE static task<std::string> execute_encoded(info_ptr info, scope_ptr scope,
                                                                    detail::pipeline::parameters params) {
        detail::result_ptr result = co_await run(std::move(info), std::move(scope), std::move(params));
        co_return detail::status_of(result);
    }

    info_ptr m_info;
    scope_ptr m_scope;
};

}  // namespace corio::pg
