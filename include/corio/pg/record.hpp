#pragma once

// corio::pg::record: one row of a query result (asyncpg's Record), read by
// column index or name with get<T>; rows of one result share it.

#include <corio/pg/errors.hpp>
#include <corio/pg/types.hpp>

#include <libpq-fe.h>

#include <atomic>
#include <concepts>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace corio::pg {

namespace detail {

struct result_deleter {
    void operator()(PGresult* result) const noexcept { PQclear(result); }
};
using result_ptr = std::unique_ptr<PGresult, result_deleter>;

/// A PGresult and its column names, shared by the records made from it.
class shared_result {
public:
    explicit shared_result(result_ptr result) : m_result(std::move(result)) {
        const int columns = PQnfields(m_result.get());
        m_names.reserve(static_cast<std::size_t>(columns));
        m_types.reserve(static_cast<std::size_t>(columns));
        for (int i = 0; i < columns; ++i) {
            m_names.emplace_back(PQfname(m_result.get(), i));
            m_types.push_back(PQftype(m_result.get(), i));
        }
    }
    [[nodiscard]] PGresult* get() const noexcept { return m_result.get(); }
    [[nodiscard]] const std::vector<std::string>& names() const noexcept { return m_names; }
    [[nodiscard]] const std::vector<oid_t>& types() const noexcept { return m_types; }
    [[nodiscard]] int rows() const noexcept { return PQntuples(m_result.get()); }

private:
    result_ptr m_result;
    std::vector<std::string> m_names;
    std::vector<oid_t> m_types;  // each column's, read once: get() is called per value
};

template <class T>
struct optional_traits : std::false_type {
    using value_type = T;
};
template <class T>
struct optional_traits<std::optional<T>> : std::true_type {
    using value_type = T;
};

// The errors of decode_field, out of its way: what stays is small enough to
// be inlined into a loop reading every value of a large result.
[[noreturn, gnu::cold, gnu::noinline]] inline void throw_type_mismatch(std::string_view column, oid_t type,
                                                                        std::string_view cpp_name) {
    throw type_mismatch_error("corio::pg: column \"" + std::string(column) + "\" is " + type_name(type) +
                              ", which cannot be read as " + std::string(cpp_name));
}

[[noreturn, gnu::cold, gnu::noinline]] inline void throw_null_value(std::string_view column,
                                                                     std::string_view cpp_name) {
    throw null_value_error("corio::pg: column \"" + std::string(column) + "\" is NULL: read it as std::optional<" +
                           std::string(cpp_name) + ">");
}

/// Field (`row`, `field`) of `result`, whose column has type `type`, as T (see record::get);
/// `column_name` (a string or a callable giving one, called only then) is for messages.
template <class T, class Name>
T decode_field(const PGresult* result, int row, int field, oid_t type, const Name& column_name) {
    using traits = optional_traits<T>;
    using value_codec = codec<typename traits::value_type>;
    auto name = [&]() -> std::string_view {
        if constexpr (std::is_invocable_v<const Name&>) {
            return column_name();
        } else {
            return column_name;
        }
    };
    if (!value_codec::accepts(type)) {
        throw_type_mismatch(name(), type, value_codec::cpp_name);
    }
    const int length = PQgetlength(result, row, field);
    // libpq gives NULL a length of 0: only then is it asked.
    if (length == 0 && PQgetisnull(result, row, field) != 0) {
        if constexpr (traits::value) {
            return std::nullopt;
        } else {
            throw_null_value(name(), value_codec::cpp_name);
        }
    } else {
        const std::string_view bytes(PQgetvalue(result, row, field), static_cast<std::size_t>(length));
        return value_codec::decode(bytes, type);
    }
}

/// What the records of one result share: the result, and how many records
/// refer to it. A record is then a pointer and a row number (16 bytes, not a
/// shared_ptr's 24), and the records of a result are made with one count
/// set at once instead of one atomic increment each: a 100,000-row fetch
/// touches 0.8 MB less fresh memory (page faults are most of its cost).
struct record_owner {
    record_owner(std::shared_ptr<const shared_result> shared, std::size_t references) noexcept
        : result(std::move(shared)), refs(references) {}
    std::shared_ptr<const shared_result> result;
    std::atomic<std::size_t> refs;
};

struct record_access;

}  // namespace detail

/// One row of a query's result (asyncpg's Record): its columns read by index or name with
/// get<T>(). Records of one result share it, so a record stays valid on its own after the
/// connection moves on or closes. Copying is cheap: copies share the result.
class record {
public:
    /// Row `row` of `result` (the connection makes records; not for user code).
    record(std::shared_ptr<const detail::shared_result> result, int row)
        : m_owner(new detail::record_owner(std::move(result), 1)), m_row(row) {}

    /// Copies share the result.
    record(const record& other) noexcept : m_owner(other.m_owner), m_row(other.m_row) {
        if (m_owner != nullptr) {
            m_owner->refs.fetch_add(1, std::memory_order_relaxed);
        }
    }
    /// The moved-from record is empty (only destruction and assignment are allowed).
    record(record&& other) noexcept : m_owner(std::exchange(other.m_owner, nullptr)), m_row(other.m_row) {}
    /// Shares `other`'s result (and lets go of this record's own).
    record& operator=(const record& other) noexcept {
        record copy(other);
        swap(copy);
        return *this;
    }
    /// Takes `other`'s result; `other` is left empty.
    record& operator=(record&& other) noexcept {
        record moved(std::move(other));
        swap(moved);
        return *this;
    }
    ~record() {
        if (m_owner != nullptr && m_owner->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            delete m_owner;
        }
    }

    /// Number of columns.
    [[nodiscard]] std::size_t size() const noexcept { return result().names().size(); }
    /// Column names, in order.
    [[nodiscard]] const std::vector<std::string>& column_names() const noexcept { return result().names(); }
    /// The index of a column; throws interface_error naming it when absent.
    [[nodiscard]] std::size_t index_of(std::string_view column) const {
        const auto& names = result().names();
        for (std::size_t i = 0; i < names.size(); ++i) {
            if (names[i] == column) {
                return i;
            }
        }
        throw interface_error("corio::pg: the result has no column \"" + std::string(column) + "\"");
    }
    /// True when the column at `index` is NULL; interface_error when out of range.
    template <std::integral Index>
    [[nodiscard]] bool is_null(Index index) const {
        const auto column = static_cast<std::size_t>(index);
        check_index(column);
        return PQgetisnull(result().get(), m_row, static_cast<int>(column)) != 0;
    }
    /// True when the column named `column` is NULL; interface_error when there is none.
    [[nodiscard]] bool is_null(std::string_view column) const { return is_null(index_of(column)); }
    /// The PostgreSQL type OID of a column.
    [[nodiscard]] unsigned int type_oid(std::size_t column) const {
        check_index(column);
        return result().types()[column];
    }

    /// The value of a column as T; std::optional<T> reads NULL as empty.
    /// Throws null_value_error for a NULL read as a non-optional T and
    /// type_mismatch_error when the column's type does not convert to T.
    template <class T, std::integral Index>
    [[nodiscard]] T get(Index index) const {
        if constexpr (std::is_signed_v<Index>) {
            if (index < 0) {
                throw interface_error("corio::pg: negative column index");
            }
        }
        const auto column = static_cast<std::size_t>(index);
        check_index(column);
        const detail::shared_result& shared = result();
        auto name = [&shared, column]() -> const std::string& { return shared.names()[column]; };
        return detail::decode_field<T>(shared.get(), m_row, static_cast<int>(column), shared.types()[column], name);
    }
    /// The value of the column named `column` as T (see get(Index)); interface_error when
    /// there is none.
    template <class T>
    [[nodiscard]] T get(std::string_view column) const {
        return get<T>(index_of(column));
    }
    /// A string literal is a column name, not an index.
    template <class T>
    [[nodiscard]] T get(const char* column) const {
        return get<T>(index_of(column));
    }

private:
    void check_index(std::size_t column) const {
        if (column >= size()) {
            throw_out_of_range(column, size());
        }
    }

    [[noreturn, gnu::cold, gnu::noinline]] static void throw_out_of_range(std::size_t column, std::size_t columns) {
        throw interface_error("corio::pg: column index " + std::to_string(column) + " out of range (" +
                              std::to_string(columns) + " columns)");
    }

    friend struct detail::record_access;

    // Takes over one of `owner`'s references.
    record(detail::record_owner* owner, int row) noexcept : m_owner(owner), m_row(row) {}

    [[nodiscard]] const detail::shared_result& result() const noexcept { return *m_owner->result; }

    void swap(record& other) noexcept {
        std::swap(m_owner, other.m_owner);
        std::swap(m_row, other.m_row);
    }

    detail::record_owner* m_owner;
    int m_row;
};

namespace detail {

/// Makes records for the connection's results.
struct record_access {
    /// A record for each row of `shared`, all sharing it through one owner.
    static std::vector<record> all_rows(std::shared_ptr<const shared_result> shared) {
        std::vector<record> records;
        const int rows = shared->rows();
        if (rows == 0) {
            return records;
        }
        records.reserve(static_cast<std::size_t>(rows));  // before the owner: nothing throws after it
        auto* owner = new record_owner(std::move(shared), static_cast<std::size_t>(rows));
        for (int row = 0; row < rows; ++row) {
            records.push_back(record(owner, row));
        }
        return records;
    }
};

}  // namespace detail

}  // namespace corio::pg
