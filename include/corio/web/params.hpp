#pragma once

// corio::web handler parameters: what a handler's argument types ask the app
// to take from the request. A handler is any callable; the app looks at each
// parameter's type:
//
//   int id, std::string name        path parameters, in pattern order
//   path<int, "id">                 the path parameter named "id"
//   query<int, "limit">             ?limit=... (required), query<std::optional<int>, "limit">
//                                   (optional), query<int, "limit", 10> (default 10),
//                                   query<std::vector<std::string>, "tag"> (?tag=a&tag=b)
//   query_model<Filter>             every member of a described struct from the query
//   header<std::string, "X-Token">  a header field; cookie<std::string, "session"> a cookie
//   create_user body                a described struct: the JSON body (body<T> for any T)
//   http::request&                  the request itself
//   Pool& pool                      shared state registered with app::provide / make_state
//
// Text values (path, query, header, cookie) convert by type: integers and
// floating point numbers must be whole, bools are true/false/1/0/yes/no/on/off,
// described enums go by name; a value that does not convert, or a required one
// missing, makes the request a 422 naming it.

#include <corio/web/json.hpp>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace corio::web {

/// A string usable as a template argument: query<int, "limit">.
template <std::size_t N>
struct fixed_string {
    /// The characters, NUL included (N counts it).
    char text[N]{};
    /// From a string literal; implicit, so that `query<int, "limit">` works.
    constexpr fixed_string(const char (&s)[N]) noexcept {  // NOLINT: implicit by design
        std::copy_n(s, N, text);
    }
    /// The text without its NUL.
    [[nodiscard]] constexpr std::string_view view() const noexcept { return std::string_view(text, N - 1); }
};

/// The "no default" marker of query<>, header<> and cookie<>.
struct no_default {};

namespace detail {

/// Holds a converted parameter; the wrappers below all look like this.
template <class T>
struct param_value {
    using value_type = T;
    T value{};
    T& operator*() noexcept { return value; }
    const T& operator*() const noexcept { return value; }
    T* operator->() noexcept { return &value; }
    const T* operator->() const noexcept { return &value; }
};

}  // namespace detail

/// The path parameter `Name` converted to T.
template <class T, fixed_string Name>
struct path : detail::param_value<T> {
    /// The parameter's name, as in the route's pattern ("{id}" gives "id").
    static constexpr std::string_view name = Name.view();
};

/// The query parameter `Name` converted to T (std::optional<U>: may be
/// absent; std::vector<U>: every value; Default: used when absent).
template <class T, fixed_string Name, auto Default = no_default{}>
struct query : detail::param_value<T> {
    /// The parameter's name in the query string.
    static constexpr std::string_view name = Name.view();
    /// Used when the parameter is absent (a string's as fixed_string{"text"}); with no_default
    /// an absent parameter is a 422 "missing", unless T is an optional or a vector.
    static constexpr auto default_value = Default;
};

/// The header field `Name` (case-insensitive) converted to T.
template <class T, fixed_string Name, auto Default = no_default{}>
struct header : detail::param_value<T> {
    /// The field's name (matched case-insensitively).
    static constexpr std::string_view name = Name.view();
    /// Used when the field is absent; with no_default, as for query.
    static constexpr auto default_value = Default;
};

/// The cookie `Name` (from the Cookie header) converted to T.
template <class T, fixed_string Name, auto Default = no_default{}>
struct cookie : detail::param_value<T> {
    /// The cookie's name (matched exactly).
    static constexpr std::string_view name = Name.view();
    /// Used when the cookie is absent; with no_default, as for query.
    static constexpr auto default_value = Default;
};

/// The JSON body converted to T (a described struct needs no wrapper).
template <class T>
struct body : detail::param_value<T> {};

/// The query string into a described struct: each member is the query
/// parameter of its name (optional members may be absent, vector members
/// take every value).
template <class T>
struct query_model : detail::param_value<T> {};

/// The request's form (urlencoded or multipart, see corio/web/forms.hpp)
/// into a described struct, as query_model does from the query: each member
/// is the form field of its name (FastAPI's Form(...) parameters). A
/// handler wanting the files too takes web::form_data instead.
template <class T>
struct form_model : detail::param_value<T> {};

}  // namespace corio::web

namespace corio::web::detail {

template <class T>
struct is_fixed_string : std::false_type {};
template <std::size_t N>
struct is_fixed_string<fixed_string<N>> : std::true_type {};

template <class T>
inline constexpr bool is_text_scalar = std::is_same_v<T, std::string> || std::is_arithmetic_v<T> ||
                                       is_described_enum<T>;

/// Converts one text value (path segment, query value, header) to T; on
/// failure records an issue at reader.where and leaves `out` unchanged.
template <class T>
void read_text(std::string_view text, T& out, json_reader& reader) {
    if constexpr (std::is_same_v<T, std::string>) {
        out.assign(text);
    } else if constexpr (std::is_same_v<T, bool>) {
        std::string lower(text);
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
        if (lower == "true" || lower == "1" || lower == "yes" || lower == "on") {
            out = true;
        } else if (lower == "false" || lower == "0" || lower == "no" || lower == "off") {
            out = false;
        } else {
            reader.fail("Input should be a valid boolean, unable to interpret input", "bool_parsing");
        }
    } else if constexpr (std::is_integral_v<T>) {
        T value{};
        const char* end = text.data() + text.size();
        const auto [stop, error] = std::from_chars(text.data(), end, value);
        if (text.empty() || error == std::errc::invalid_argument || stop != end) {
            reader.fail("Input should be a valid integer, unable to parse string as an integer", "int_parsing");
        } else if (error == std::errc::result_out_of_range) {
            reader.fail("Input should be an integer between " + std::to_string(std::numeric_limits<T>::min()) +
                            " and " + std::to_string(std::numeric_limits<T>::max()),
                        "int_range");
        } else {
            out = value;
        }
    } else if constexpr (std::is_floating_point_v<T>) {
        T value{};
        const char* end = text.data() + text.size();
        const auto [stop, error] = std::from_chars(text.data(), end, value);
        if (text.empty() || error != std::errc{} || stop != end) {
            reader.fail("Input should be a valid number, unable to parse string as a number", "float_parsing");
        } else {
            out = value;
        }
    } else if constexpr (is_described_enum<T>) {
        if (!boost::describe::enum_from_string(std::string(text).c_str(), out)) {
            reader.fail("Input should be " + enum_choices<T>(), "enum");
        }
    } else if constexpr (is_optional<T>::value) {
        typename T::value_type inner{};
        const std::size_t before = reader.issues.size();
        read_text(text, inner, reader);
        if (reader.issues.size() == before) {
            out = std::move(inner);
        }
    } else {
        static_assert(sizeof(T) == 0,
                      "corio::web: a path, query, header or cookie parameter must be a string, number, bool, "
                      "described enum, or std::optional / std::vector of one");
    }
}

/// Reads a named multi-valued text source (query, headers) into T: vectors
/// take every value, optionals may be absent, otherwise one value is required
/// unless a default is given.
template <class T, auto Default>
void read_named(const std::vector<std::string_view>& values, T& out, json_reader& reader) {
    if constexpr (is_vector<T>::value) {
        out.clear();
        for (std::size_t i = 0; i < values.size(); ++i) {
            reader.where.emplace_back(static_cast<std::int64_t>(i));
            out.emplace_back();
            read_text(values[i], out.back(), reader);
            reader.where.pop_back();
        }
    } else if (values.empty()) {
        using default_type = std::remove_cv_t<decltype(Default)>;
        if constexpr (is_fixed_string<default_type>::value) {
            out = T(std::string(Default.view()));
        } else if constexpr (!std::is_same_v<default_type, no_default>) {
            static_assert(!std::is_same_v<T, std::string> || !std::is_arithmetic_v<default_type>,
                          "corio::web: a string parameter's default is a web::fixed_string{\"text\"}");
            out = T(Default);
        } else if constexpr (!is_optional<T>::value) {
            reader.fail("Field required", "missing");
        }
    } else {
        read_text(values.front(), out, reader);
    }
}

/// The value of cookie `name` in a Cookie header ("a=1; b=2"), or nullopt.
inline std::optional<std::string_view> find_cookie(std::string_view cookies, std::string_view name) {
    while (!cookies.empty()) {
        const std::size_t semicolon = cookies.find(';');
        std::string_view piece = cookies.substr(0, semicolon);
        cookies = semicolon == std::string_view::npos ? std::string_view{} : cookies.substr(semicolon + 1);
        while (!piece.empty() && (piece.front() == ' ' || piece.front() == '\t')) {
            piece.remove_prefix(1);
        }
        const std::size_t eq = piece.find('=');
        if (eq != std::string_view::npos && piece.substr(0, eq) == name) {
            std::string_view value = piece.substr(eq + 1);
            while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
                value.remove_suffix(1);
            }
            if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
                value = value.substr(1, value.size() - 2);
            }
            return value;
        }
    }
    return std::nullopt;
}

}  // namespace corio::web::detail
