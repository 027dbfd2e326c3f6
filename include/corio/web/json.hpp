#pragma once

// corio::web JSON conversion: C++ values <-> boost::json::value for what
// handlers take and return. Structs and enums described with
// BOOST_DESCRIBE_STRUCT / BOOST_DESCRIBE_ENUM convert member by member (enums
// by name); std::optional members are optional fields (absent or null);
// vectors, maps with string keys, strings, numbers and bools convert as JSON
// would have them. Reading collects every issue with its location, so a bad
// body gets one 422 listing all of them.
//
// Boost.JSON's compiled part must be in the program once: see
// <corio/web/json_implementation.hpp>.

#include <corio/web/errors.hpp>

#include <boost/describe/enum.hpp>
#include <boost/describe/enum_from_string.hpp>
#include <boost/describe/enum_to_string.hpp>
#include <boost/describe/enumerators.hpp>
#include <boost/describe/members.hpp>
#include <boost/describe/modifiers.hpp>
#include <boost/json/array.hpp>
#include <boost/json/detail/format.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/mp11/algorithm.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace corio::web::detail {

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

template <class T>
struct is_vector : std::false_type {};
template <class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};

template <class T>
struct is_string_map : std::false_type {};
template <class T, class C, class A>
struct is_string_map<std::map<std::string, T, C, A>> : std::true_type {};
template <class T, class H, class E, class A>
struct is_string_map<std::unordered_map<std::string, T, H, E, A>> : std::true_type {};

template <class T>
inline constexpr bool is_described_struct =
    std::is_class_v<T> && boost::describe::has_describe_members<T>::value;

template <class T>
inline constexpr bool is_described_enum = std::is_enum_v<T> && boost::describe::has_describe_enumerators<T>::value;

inline constexpr unsigned described_member_mask = boost::describe::mod_public | boost::describe::mod_inherited;

/// Issues found while reading, and where the reader is (the loc prefix).
struct json_reader {
    std::vector<validation_issue> issues;
    boost::json::array where;

    void fail(std::string msg, std::string type) {
        issues.push_back(validation_issue{where, std::move(msg), std::move(type)});
    }
};

template <class E>
std::string enum_choices() {
    std::string text;
    std::size_t count = 0;
    constexpr std::size_t total = boost::mp11::mp_size<boost::describe::describe_enumerators<E>>::value;
    boost::mp11::mp_for_each<boost::describe::describe_enumerators<E>>([&](auto d) {
        if (count > 0) {
            text += count + 1 == total ? " or " : ", ";
        }
        text += '\'';
        text += d.name;
        text += '\'';
        ++count;
    });
    return text;
}

template <class T>
void read_json(const boost::json::value& v, T& out, json_reader& reader);

template <class S>
void read_struct(const boost::json::object& object, S& out, json_reader& reader) {
    boost::mp11::mp_for_each<boost::describe::describe_members<S, described_member_mask>>([&](auto d) {
        using member_type = std::remove_cvref_t<decltype(out.*d.pointer)>;
        reader.where.emplace_back(d.name);
        const boost::json::value* field = object.if_contains(d.name);
        if (field == nullptr) {
            if constexpr (is_optional<member_type>::value) {
                out.*d.pointer = std::nullopt;
            } else {
                reader.fail("Field required", "missing");
            }
        } else {
            read_json(*field, out.*d.pointer, reader);
        }
        reader.where.pop_back();
    });
}

template <class T>
void read_json(const boost::json::value& v, T& out, json_reader& reader) {
    if constexpr (std::is_same_v<T, boost::json::value>) {
        out = v;
    } else if constexpr (std::is_same_v<T, bool>) {
        if (v.is_bool()) {
            out = v.get_bool();
        } else {
            reader.fail("Input should be a valid boolean", "bool_type");
        }
    } else if constexpr (std::is_integral_v<T>) {
        if (v.is_int64() && std::in_range<T>(v.get_int64())) {
            out = static_cast<T>(v.get_int64());
        } else if (v.is_uint64() && std::in_range<T>(v.get_uint64())) {
            out = static_cast<T>(v.get_uint64());
        } else if (v.is_int64() || v.is_uint64()) {
            reader.fail("Input should be an integer between " + std::to_string(std::numeric_limits<T>::min()) +
                            " and " + std::to_string(std::numeric_limits<T>::max()),
                        "int_range");
        } else if (v.is_double() && std::trunc(v.get_double()) == v.get_double() &&
                   v.get_double() >= static_cast<double>(std::numeric_limits<T>::min()) &&
                   v.get_double() <= static_cast<double>(std::numeric_limits<T>::max())) {
            out = static_cast<T>(v.get_double());
        } else {
            reader.fail("Input should be a valid integer", "int_type");
        }
    } else if constexpr (std::is_floating_point_v<T>) {
        if (v.is_number()) {
            out = static_cast<T>(v.to_number<double>());
        } else {
            reader.fail("Input should be a valid number", "float_type");
        }
    } else if constexpr (std::is_same_v<T, std::string>) {
        if (v.is_string()) {
            out.assign(v.get_string().data(), v.get_string().size());
        } else {
            reader.fail("Input should be a valid string", "string_type");
        }
    } else if constexpr (is_described_enum<T>) {
        if (!v.is_string() || !boost::describe::enum_from_string(std::string(v.get_string()).c_str(), out)) {
            reader.fail("Input should be " + enum_choices<T>(), "enum");
        }
    } else if constexpr (is_optional<T>::value) {
        if (v.is_null()) {
            out = std::nullopt;
        } else {
            typename T::value_type inner{};
            const std::size_t before = reader.issues.size();
            read_json(v, inner, reader);
            if (reader.issues.size() == before) {
                out = std::move(inner);
            }
        }
    } else if constexpr (is_vector<T>::value) {
        if (!v.is_array()) {
            reader.fail("Input should be a valid list", "list_type");
            return;
        }
        const boost::json::array& items = v.get_array();
        out.clear();
        out.reserve(items.size());
        for (std::size_t i = 0; i < items.size(); ++i) {
            reader.where.emplace_back(static_cast<std::int64_t>(i));
            out.emplace_back();
            read_json(items[i], out.back(), reader);
            reader.where.pop_back();
        }
    } else if constexpr (is_string_map<T>::value) {
        if (!v.is_object()) {
            reader.fail("Input should be a valid dictionary", "dict_type");
            return;
        }
        out.clear();
        for (const auto& item : v.get_object()) {
            std::string key(item.key());
            reader.where.emplace_back(item.key());
            read_json(item.value(), out[key], reader);
            reader.where.pop_back();
        }
    } else if constexpr (is_described_struct<T>) {
        if (!v.is_object()) {
            reader.fail("Input should be a valid dictionary or object to extract fields from", "model_attributes_type");
            return;
        }
        read_struct(v.get_object(), out, reader);
    } else {
        static_assert(sizeof(T) == 0,
                      "corio::web: this type has no JSON conversion; describe it with BOOST_DESCRIBE_STRUCT "
                      "or BOOST_DESCRIBE_ENUM, or take a boost::json::value");
    }
}

}  // namespace corio::web::detail

namespace corio::web {

/// Converts `value` to JSON: described structs to objects (every member; an
/// empty optional as null), described enums to their names, vectors to
/// arrays, string-keyed maps to objects.
template <class T>
[[nodiscard]] boost::json::value to_json(const T& value) {
    using namespace corio::web::detail;
    if constexpr (std::is_same_v<T, boost::json::value>) {
        return value;
    } else if constexpr (std::is_same_v<T, boost::json::object> || std::is_same_v<T, boost::json::array>) {
        return boost::json::value(value);
    } else if constexpr (std::is_same_v<T, bool>) {
        return boost::json::value(value);
    } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
        return boost::json::value(static_cast<std::int64_t>(value));
    } else if constexpr (std::is_integral_v<T>) {
        return boost::json::value(static_cast<std::uint64_t>(value));
    } else if constexpr (std::is_floating_point_v<T>) {
        return boost::json::value(static_cast<double>(value));
    } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
        return boost::json::value(boost::json::string_view(std::string_view(value)));
    } else if constexpr (is_described_enum<T>) {
        const char* name = boost::describe::enum_to_string(value, nullptr);
        if (name == nullptr) {
            return boost::json::value(static_cast<std::int64_t>(value));
        }
        return boost::json::value(name);
    } else if constexpr (is_optional<T>::value) {
        if (!value) {
            return boost::json::value(nullptr);
        }
        return to_json(*value);
    } else if constexpr (is_vector<T>::value) {
        boost::json::array items;
        items.reserve(value.size());
        for (const auto& item : value) {
            items.push_back(to_json(item));
        }
        return items;
    } else if constexpr (is_string_map<T>::value) {
        boost::json::object object;
        for (const auto& [key, item] : value) {
            object[key] = to_json(item);
        }
        return object;
    } else if constexpr (is_described_struct<T>) {
        boost::json::object object;
        boost::mp11::mp_for_each<boost::describe::describe_members<T, described_member_mask>>(
            [&](auto d) { object[d.name] = to_json(value.*d.pointer); });
        return object;
    } else {
        static_assert(sizeof(T) == 0,
                      "corio::web: this type has no JSON conversion; describe it with BOOST_DESCRIBE_STRUCT "
                      "or BOOST_DESCRIBE_ENUM, or return a boost::json::value");
    }
}

/// Converts JSON to T; throws validation_error listing every issue, each
/// located under `where` (e.g. ["body"]).
template <class T>
[[nodiscard]] T from_json(const boost::json::value& json, boost::json::array where = {}) {
    detail::json_reader reader;
    reader.where = std::move(where);
    T out{};
    detail::read_json(json, out, reader);
    if (!reader.issues.empty()) {
        throw validation_error(std::move(reader.issues));
    }
    return out;
}

/// Parses `text` as JSON and converts it to T; malformed JSON is a
/// validation_error of type "json_invalid" located at ["body", offset].
template <class T>
[[nodiscard]] T parse_json(std::string_view text, boost::json::array where = {"body"}) {
    boost::system::error_code error;
    const boost::json::value json = boost::json::parse(boost::json::string_view(text.data(), text.size()), error);
    if (error) {
        where.emplace_back(0);
        throw validation_error({validation_issue{std::move(where), "JSON decode error: " + error.message(),
                                                 "json_invalid"}});
    }
    return from_json<T>(json, std::move(where));
}

}  // namespace corio::web

namespace corio::web::detail {

/// Appends `text` as a JSON string, escaped as boost::json::serialize
/// escapes it: '"', '\\' and the control characters below 0x20 (the short
/// forms \b \t \n \f \r, else \u00xx); everything else, non-ASCII bytes
/// included, as is.
inline void write_json_string(std::string& out, std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    static constexpr std::array<bool, 256> escaped = [] {
        std::array<bool, 256> table{};
        for (std::size_t c = 0; c < 0x20; ++c) {
            table[c] = true;
        }
        table['"'] = true;
        table['\\'] = true;
        return table;
    }();
    out += '"';
    std::size_t plain_from = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (!escaped[c]) {
            continue;
        }
        out.append(text.data() + plain_from, i - plain_from);
        plain_from = i + 1;
        char short_form = 0;
        switch (c) {
            case '"': short_form = '"'; break;
            case '\\': short_form = '\\'; break;
            case '\b': short_form = 'b'; break;
            case '\t': short_form = 't'; break;
            case '\n': short_form = 'n'; break;
            case '\f': short_form = 'f'; break;
            case '\r': short_form = 'r'; break;
            default: break;
        }
        if (short_form != 0) {
            out += '\\';
            out += short_form;
        } else {
            const char code[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            out.append(code, sizeof code);
        }
    }
    out.append(text.data() + plain_from, text.size() - plain_from);
    out += '"';
}

/// True when no two described members of S share a name (a derived struct
/// may repeat a base's): only then does writing members one by one give
/// what a boost::json::object, which keeps the first position of a
/// repeated key and the last value, gives.
template <class S>
consteval bool has_unique_member_names() {
    using members = boost::describe::describe_members<S, described_member_mask>;
    constexpr std::size_t count = boost::mp11::mp_size<members>::value;
    std::array<std::string_view, count> names{};
    std::size_t i = 0;
    boost::mp11::mp_for_each<members>([&](auto d) { names[i++] = d.name; });
    for (std::size_t a = 0; a < count; ++a) {
        for (std::size_t b = a + 1; b < count; ++b) {
            if (names[a] == names[b]) {
                return false;
            }
        }
    }
    return true;
}

/// Appends `value` as JSON, byte for byte what
/// boost::json::serialize(to_json(value)) gives, without building the
/// boost::json::value (a response's struct goes straight into its body).
template <class T>
void write_json(std::string& out, const T& value) {
    if constexpr (std::is_same_v<T, boost::json::value> || std::is_same_v<T, boost::json::object> ||
                  std::is_same_v<T, boost::json::array>) {
        out += boost::json::serialize(value);
    } else if constexpr (std::is_same_v<T, bool>) {
        out += value ? "true" : "false";
    } else if constexpr (std::is_integral_v<T>) {
        using wide = std::conditional_t<std::is_signed_v<T>, std::int64_t, std::uint64_t>;
        char digits[24];
        const auto written = std::to_chars(digits, digits + sizeof digits, static_cast<wide>(value));
        out.append(digits, written.ptr);
    } else if constexpr (std::is_floating_point_v<T>) {
        // Boost.JSON's own formatting (Ryu, "1.5E0"), which the serializer calls too.
        char digits[boost::json::detail::max_number_chars + 1];
        out.append(digits, boost::json::detail::format_double(digits, static_cast<double>(value)));
    } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
        write_json_string(out, std::string_view(value));
    } else if constexpr (is_described_enum<T>) {
        const char* name = boost::describe::enum_to_string(value, nullptr);
        if (name == nullptr) {
            write_json(out, static_cast<std::int64_t>(value));
        } else {
            write_json_string(out, name);
        }
    } else if constexpr (is_optional<T>::value) {
        if (!value) {
            out += "null";
        } else {
            write_json(out, *value);
        }
    } else if constexpr (is_vector<T>::value) {
        out += '[';
        bool first = true;
        for (const auto& item : value) {
            if (!first) {
                out += ',';
            }
            first = false;
            write_json(out, item);
        }
        out += ']';
    } else if constexpr (is_string_map<T>::value) {
        out += '{';
        bool first = true;
        for (const auto& [key, item] : value) {
            if (!first) {
                out += ',';
            }
            first = false;
            write_json_string(out, key);
            out += ':';
            write_json(out, item);
        }
        out += '}';
    } else if constexpr (is_described_struct<T>) {
        if constexpr (has_unique_member_names<T>()) {
            out += '{';
            bool first = true;
            boost::mp11::mp_for_each<boost::describe::describe_members<T, described_member_mask>>([&](auto d) {
                if (!first) {
                    out += ',';
                }
                first = false;
                // A member name is an identifier: nothing in it is escaped.
                static constexpr std::string_view name = decltype(d)::name;
                out += '"';
                out.append(name);
                out.append("\":", 2);
                write_json(out, value.*d.pointer);
            });
            out += '}';
        } else {
            out += boost::json::serialize(web::to_json(value));
        }
    } else {
        static_assert(sizeof(T) == 0,
                      "corio::web: this type has no JSON conversion; describe it with BOOST_DESCRIBE_STRUCT "
                      "or BOOST_DESCRIBE_ENUM, or return a boost::json::value");
    }
}

}  // namespace corio::web::detail

namespace corio::web {

/// Serializes `value` (see to_json): the same text as
/// boost::json::serialize(to_json(value)), written directly.
template <class T>
[[nodiscard]] std::string dump_json(const T& value) {
    if constexpr (std::is_same_v<T, boost::json::value> || std::is_same_v<T, boost::json::object> ||
                  std::is_same_v<T, boost::json::array>) {
        return boost::json::serialize(value);  // no copy into a second string
    } else {
        std::string out;
        detail::write_json(out, value);
        return out;
    }
}

}  // namespace corio::web
