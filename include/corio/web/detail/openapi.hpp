#pragma once

// OpenAPI 3.1 descriptions of routes, built when a route is added from its
// handler's parameter and result types (JSON Schema for described types).

#include <corio/http/message.hpp>
#include <corio/web/detail/invoke.hpp>
#include <corio/web/json.hpp>
#include <corio/web/params.hpp>

#include <boost/core/demangle.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

namespace corio::web::detail {

/// The schema name of a described type: its unqualified C++ name.
template <class T>
std::string schema_name() {
    std::string full = boost::core::demangle(typeid(T).name());
    const std::size_t template_start = full.find('<');
    const std::size_t colon = full.rfind("::", template_start);
    if (colon != std::string::npos) {
        full = full.substr(colon + 2);
    }
    for (char& c : full) {
        if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '_') {
            c = '_';
        }
    }
    return full;
}

/// The JSON Schema of T; described structs and enums go to `components`
/// (once each) and are referenced.
template <class T>
boost::json::object json_schema(boost::json::object& components) {
    boost::json::object schema;
    if constexpr (std::is_same_v<T, boost::json::value>) {
        // any JSON
    } else if constexpr (std::is_same_v<T, bool>) {
        schema["type"] = "boolean";
    } else if constexpr (std::is_integral_v<T>) {
        schema["type"] = "integer";
    } else if constexpr (std::is_floating_point_v<T>) {
        schema["type"] = "number";
    } else if constexpr (std::is_same_v<T, std::string>) {
        schema["type"] = "string";
    } else if constexpr (is_optional<T>::value) {
        return json_schema<typename T::value_type>(components);
    } else if constexpr (is_vector<T>::value) {
        schema["type"] = "array";
        schema["items"] = json_schema<typename T::value_type>(components);
    } else if constexpr (is_string_map<T>::value) {
        schema["type"] = "object";
        schema["additionalProperties"] = json_schema<typename T::mapped_type>(components);
    } else if constexpr (is_described_enum<T>) {
        const std::string name = schema_name<T>();
        if (!components.contains(name)) {
            boost::json::object e;
            e["title"] = name;
            e["type"] = "string";
            boost::json::array names;
            boost::mp11::mp_for_each<boost::describe::describe_enumerators<T>>([&](auto d) { names.push_back(boost::json::string_view(d.name)); });
            e["enum"] = std::move(names);
            components[name] = std::move(e);
        }
        schema["$ref"] = "#/components/schemas/" + name;
    } else if constexpr (is_described_struct<T>) {
        const std::string name = schema_name<T>();
        if (!components.contains(name)) {
            components[name] = boost::json::object{};  // placeholder: a struct may refer to itself
            boost::json::object s;
            s["title"] = name;
            s["type"] = "object";
            boost::json::object properties;
            boost::json::array required;
            boost::mp11::mp_for_each<boost::describe::describe_members<T, described_member_mask>>([&](auto d) {
                using member_type = std::remove_cvref_t<decltype(std::declval<T&>().*d.pointer)>;
                properties[d.name] = json_schema<member_type>(components);
                if constexpr (!is_optional<member_type>::value) {
                    required.push_back(boost::json::string_view(d.name));
                }
            });
            s["properties"] = std::move(properties);
            if (!required.empty()) {
                s["required"] = std::move(required);
            }
            components[name] = std::move(s);
        }
        schema["$ref"] = "#/components/schemas/" + name;
    }
    return schema;
}

inline std::vector<std::string> pattern_parameters(std::string_view pattern) {
    std::vector<std::string> names;
    std::size_t open = pattern.find('{');
    while (open != std::string_view::npos) {
        const std::size_t close = pattern.find('}', open);
        if (close == std::string_view::npos) {
            break;
        }
        std::string_view name = pattern.substr(open + 1, close - open - 1);
        if (!name.empty() && name.front() == '*') {
            name.remove_prefix(1);
        }
        names.emplace_back(name);
        open = pattern.find('{', close);
    }
    return names;
}

/// OpenAPI writes path templates without our "{*rest}" star.
inline std::string openapi_path(std::string_view pattern) {
    std::string out;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (pattern[i] == '*' && i > 0 && pattern[i - 1] == '{') {
            continue;
        }
        out += pattern[i];
    }
    return out;
}

struct operation_builder {
    boost::json::object& components;
    std::vector<std::string> path_names;
    std::size_t next_positional = 0;
    boost::json::array parameters;
    std::optional<boost::json::object> body_schema;
    std::optional<boost::json::object> form_schema;  // a form body (urlencoded or multipart)
    bool raw_body = false;                           // the handler reads the body's bytes itself

    void parameter(std::string_view name, std::string_view where, bool required, boost::json::object schema) {
        boost::json::object p;
        p["name"] = boost::json::string_view(name.data(), name.size());
        p["in"] = boost::json::string_view(where.data(), where.size());
        p["required"] = required;
        p["schema"] = std::move(schema);
        parameters.emplace_back(std::move(p));
    }

    template <class T, auto Default>
    static constexpr bool named_required() {
        return !is_optional<T>::value && !is_vector<T>::value &&
               std::is_same_v<std::remove_cv_t<decltype(Default)>, no_default>;
    }

    template <class A>
    void add() {
        using D = std::remove_cvref_t<A>;
        constexpr source from = source_of<A>();
        if constexpr (from == source::path_positional) {
            if (next_positional < path_names.size()) {
                parameter(path_names[next_positional++], "path", true, json_schema<D>(components));
            }
        } else if constexpr (from == source::path) {
            parameter(D::name, "path", true, json_schema<typename D::value_type>(components));
        } else if constexpr (from == source::query) {
            using T = typename D::value_type;
            parameter(D::name, "query", named_required<T, D::default_value>(), json_schema<T>(components));
        } else if constexpr (from == source::header) {
            using T = typename D::value_type;
            parameter(D::name, "header", named_required<T, D::default_value>(), json_schema<T>(components));
        } else if constexpr (from == source::cookie) {
            using T = typename D::value_type;
            parameter(D::name, "cookie", named_required<T, D::default_value>(), json_schema<T>(components));
        } else if constexpr (from == source::query_model) {
            using S = typename D::value_type;
            boost::mp11::mp_for_each<boost::describe::describe_members<S, described_member_mask>>([&](auto d) {
                using member_type = std::remove_cvref_t<decltype(std::declval<S&>().*d.pointer)>;
                parameter(d.name, "query", named_required<member_type, no_default{}>(),
                          json_schema<member_type>(components));
            });
        } else if constexpr (from == source::form) {
            form_schema = boost::json::object{{"type", "object"}};
        } else if constexpr (from == source::form_model) {
            form_schema = json_schema<typename D::value_type>(components);
        } else if constexpr (from == source::body_stream) {
            raw_body = true;
        } else if constexpr (from == source::body) {
            if constexpr (is_instance<D, web::body>::value) {
                body_schema = json_schema<typename D::value_type>(components);
            } else {
                body_schema = json_schema<D>(components);
            }
        }
    }
};

/// The OpenAPI operation object of a route whose handler is `Handler`.
template <class Handler>
boost::json::object describe_operation(std::string_view method, std::string_view pattern, int status_code,
                                       const std::string& summary, const std::vector<std::string>& tags,
                                       boost::json::object& components) {
    using traits = callable_traits<std::remove_cvref_t<Handler>>;
    operation_builder builder{components, pattern_parameters(pattern), 0, {}, std::nullopt, std::nullopt, false};
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (builder.template add<std::tuple_element_t<I, typename traits::args>>(), ...);
    }(std::make_index_sequence<std::tuple_size_v<typename traits::args>>{});

    boost::json::object op;
    std::string operation_id;
    for (char c : method) {
        operation_id += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    for (char c : pattern) {
        operation_id += std::isalnum(static_cast<unsigned char>(c)) != 0 ? c : '_';
    }
    op["operationId"] = operation_id;
    if (!summary.empty()) {
        op["summary"] = summary;
    }
    if (!tags.empty()) {
        boost::json::array t;
        for (const std::string& tag : tags) {
            t.emplace_back(tag);
        }
        op["tags"] = std::move(t);
    }
    if (!builder.parameters.empty()) {
        op["parameters"] = std::move(builder.parameters);
    }
    if (builder.body_schema) {
        boost::json::object media;
        media["schema"] = std::move(*builder.body_schema);
        boost::json::object content;
        content["application/json"] = std::move(media);
        boost::json::object body;
        body["required"] = true;
        body["content"] = std::move(content);
        op["requestBody"] = std::move(body);
    } else if (builder.form_schema) {
        boost::json::object content;
        for (const char* media_type : {"application/x-www-form-urlencoded", "multipart/form-data"}) {
            boost::json::object media;
            media["schema"] = *builder.form_schema;
            content[media_type] = std::move(media);
        }
        boost::json::object body;
        body["required"] = true;
        body["content"] = std::move(content);
        op["requestBody"] = std::move(body);
    } else if (builder.raw_body) {
        boost::json::object media;
        media["schema"] = boost::json::object{{"type", "string"}, {"format", "binary"}};
        boost::json::object content;
        content["application/octet-stream"] = std::move(media);
        boost::json::object body;
        body["required"] = true;
        body["content"] = std::move(content);
        op["requestBody"] = std::move(body);
    }
    using value_type = typename task_value<typename traits::result>::type;
    boost::json::object responses;
    boost::json::object success;
    success["description"] = "Successful Response";
    int status = status_code;
    if constexpr (std::is_void_v<value_type>) {
        status = status == 0 ? 204 : status;
    } else if constexpr (!std::is_same_v<value_type, http::response>) {
        boost::json::object media;
        media["schema"] = json_schema<value_type>(components);
        boost::json::object content;
        content["application/json"] = std::move(media);
        success["content"] = std::move(content);
    }
    responses[std::to_string(status == 0 ? 200 : status)] = std::move(success);
    if (!op.contains("parameters") && !op.contains("requestBody")) {
        op["responses"] = std::move(responses);
        return op;
    }
    boost::json::object invalid;
    invalid["description"] = "Validation Error";
    boost::json::object error_media;
    error_media["schema"] = boost::json::object{{"$ref", "#/components/schemas/HTTPValidationError"}};
    invalid["content"] = boost::json::object{{"application/json", std::move(error_media)}};
    responses["422"] = std::move(invalid);
    op["responses"] = std::move(responses);
    if (!components.contains("HTTPValidationError")) {
        components["ValidationError"] = boost::json::parse(
            R"({"title":"ValidationError","type":"object","required":["loc","msg","type"],)"
            R"("properties":{"loc":{"type":"array","items":{"anyOf":[{"type":"string"},{"type":"integer"}]}},)"
            R"("msg":{"type":"string"},"type":{"type":"string"}}})");
        components["HTTPValidationError"] = boost::json::parse(
            R"({"title":"HTTPValidationError","type":"object","properties":{"detail":{"type":"array",)"
            R"("items":{"$ref":"#/components/schemas/ValidationError"}}}})");
    }
    return op;
}

}  // namespace corio::web::detail
