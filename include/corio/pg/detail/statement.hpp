#pragma once

// What a statement's arguments and answer go through on every path
// (connection, pool, prepared_statement): the arguments encoded for libpq,
// the answer turned into records or one value.

#include <corio/pg/detail/pipeline.hpp>
#include <corio/pg/errors.hpp>
#include <corio/pg/record.hpp>
#include <corio/pg/types.hpp>

#include <libpq-fe.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace corio::pg::detail {

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

template <class T>
void encode_parameter(pipeline::parameters& params, const T& value) {
    using value_type = std::remove_cvref_t<T>;
    if constexpr (std::is_same_v<value_type, std::nullptr_t> || std::is_same_v<value_type, std::nullopt_t>) {
        params.slots.push_back({params.data.size(), -1, 0, oids::unknown});  // NULL
    } else if constexpr (is_optional<value_type>::value) {
        if (!value.has_value()) {
            params.slots.push_back({params.data.size(), -1, 1, codec<typename value_type::value_type>::type_oid});
        } else {
            encode_parameter(params, *value);
        }
    } else if constexpr (std::is_array_v<value_type> || std::is_same_v<value_type, char*>) {
        encode_parameter(params, static_cast<const char*>(value));
    } else {
        const std::size_t offset = params.data.size();
        codec<value_type>::encode(value, params.data);
        params.slots.push_back({offset, static_cast<int>(params.data.size() - offset),
                                codec<value_type>::binary ? 1 : 0, codec<value_type>::type_oid});
        if constexpr (!codec<value_type>::binary) {
            // libpq reads a text value up to its NUL, whatever length it is given.
            params.data += '\0';
        }
    }
}

template <class... Args>
pipeline::parameters encode_parameters(const Args&... args) {
    pipeline::parameters params;
    if constexpr (sizeof...(Args) > 0) {
        params.slots.reserve(sizeof...(Args));
        (encode_parameter(params, args), ...);
    }
    return params;
}

inline std::vector<record> records_of(result_ptr result) {
    std::vector<record> records;
    if (!result || PQresultStatus(result.get()) != PGRES_TUPLES_OK) {
        return records;
    }
    return record_access::all_rows(std::make_shared<const shared_result>(std::move(result)));
}

/// Whether `sql` goes on after a `;` (more than blanks and `;`): then it may
/// hold several statements, which only the simple query protocol runs. A `;`
/// inside a literal or comment counts too: such a statement merely takes the
/// simple protocol, which runs it the same.
inline bool has_several_statements(std::string_view sql) noexcept {
    const std::size_t semicolon = sql.find(';');
    if (semicolon == std::string_view::npos) {
        return false;
    }
    return sql.find_first_not_of("; \t\r\n\f\v", semicolon) != std::string_view::npos;
}

/// The value of a one-value query (fetchval): decoded straight from the
/// result, no records made. No row: an empty optional when T is one, else
/// interface_error.
template <class T>
T value_of(const result_ptr& result) {
    if (!result || PQresultStatus(result.get()) != PGRES_TUPLES_OK || PQntuples(result.get()) == 0) {
        if constexpr (is_optional<T>::value) {
            return std::nullopt;
        } else {
            throw interface_error("corio::pg: fetchval: the query returned no rows");
        }
    }
    if (PQnfields(result.get()) == 0) {
        throw interface_error("corio::pg: fetchval: the query returned no columns");
    }
    return decode_field<T>(result.get(), 0, 0, PQftype(result.get(), 0), PQfname(result.get(), 0));
}

/// The first row of a result, or nothing.
inline std::optional<record> first_record_of(result_ptr result) {
    if (!result || PQresultStatus(result.get()) != PGRES_TUPLES_OK || PQntuples(result.get()) == 0) {
        return std::nullopt;
    }
    return record(std::make_shared<const shared_result>(std::move(result)), 0);
}

/// The command status of a result ("INSERT 0 1"), "" for none.
inline std::string status_of(const result_ptr& result) {
    return result ? std::string(PQcmdStatus(result.get())) : std::string();
}

}  // namespace corio::pg::detail
