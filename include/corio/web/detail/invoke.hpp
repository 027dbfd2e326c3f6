#pragma once

// How the app calls a typed handler: the callable's parameter types are read
// from its operator(), each argument is taken from the request (see
// corio/web/params.hpp), issues are collected into one validation_error, and
// the result becomes a response.

#include <corio/detail/config.hpp>
#include <corio/http/body_reader.hpp>
#include <corio/http/message.hpp>
#include <corio/task.hpp>
#include <corio/web/forms.hpp>
#include <corio/web/json.hpp>
#include <corio/web/params.hpp>

#include <boost/json/parse.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeindex>
#include <typeinfo>
#include <unordered_map>
#include <utility>
#include <vector>

namespace corio::web::detail {

// ---- the callable's signature ----

template <class T>
struct callable_traits : callable_traits<decltype(&T::operator())> {};
template <class R, class... A>
struct callable_traits<R (*)(A...)> {
    using result = R;
    using args = std::tuple<A...>;
};
template <class R, class... A>
struct callable_traits<R(A...)> : callable_traits<R (*)(A...)> {};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...)> : callable_traits<R (*)(A...)> {};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...) const> : callable_traits<R (*)(A...)> {};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...) noexcept> : callable_traits<R (*)(A...)> {};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...) const noexcept> : callable_traits<R (*)(A...)> {};

template <class T>
struct task_value {
    using type = T;
    static constexpr bool is_task = false;
};
template <class T>
struct task_value<task<T>> {
    using type = T;
    static constexpr bool is_task = true;
};

template <class T, template <class...> class Of>
struct is_instance : std::false_type {};
template <class... A, template <class...> class Of>
struct is_instance<Of<A...>, Of> : std::true_type {};

template <class T>
struct is_path_param : std::false_type {};
template <class T, fixed_string N>
struct is_path_param<web::path<T, N>> : std::true_type {};
template <class T>
struct is_query_param : std::false_type {};
template <class T, fixed_string N, auto D>
struct is_query_param<web::query<T, N, D>> : std::true_type {};
template <class T>
struct is_header_param : std::false_type {};
template <class T, fixed_string N, auto D>
struct is_header_param<web::header<T, N, D>> : std::true_type {};
template <class T>
struct is_cookie_param : std::false_type {};
template <class T, fixed_string N, auto D>
struct is_cookie_param<web::cookie<T, N, D>> : std::true_type {};

/// What a handler parameter is taken from.
enum class source {
    request,
    path_positional,
    path,
    query,
    query_model,
    header,
    cookie,
    body,
    form,
    form_model,
    body_stream,
    state
};

template <class A>
constexpr source source_of() {
    using D = std::remove_cvref_t<A>;
    if constexpr (std::is_same_v<D, http::request>) {
        return source::request;
    } else if constexpr (std::is_same_v<D, http::body_reader>) {
        static_assert(std::is_lvalue_reference_v<A>, "corio::web: take the body stream as http::body_reader&");
        return source::body_stream;
    } else if constexpr (is_path_param<D>::value) {
        return source::path;
    } else if constexpr (is_query_param<D>::value) {
        return source::query;
    } else if constexpr (is_instance<D, web::query_model>::value) {
        return source::query_model;
    } else if constexpr (std::is_same_v<D, web::form_data>) {
        return source::form;
    } else if constexpr (is_instance<D, web::form_model>::value) {
        return source::form_model;
    } else if constexpr (is_header_param<D>::value) {
        return source::header;
    } else if constexpr (is_cookie_param<D>::value) {
        return source::cookie;
    } else if constexpr (is_instance<D, web::body>::value) {
        return source::body;
    } else if constexpr (std::is_lvalue_reference_v<A> && !std::is_const_v<std::remove_reference_t<A>>) {
        return source::state;
    } else if constexpr (is_text_scalar<D>) {
        return source::path_positional;
    } else if constexpr (is_described_struct<D> || is_vector<D>::value || is_string_map<D>::value) {
        return source::body;
    } else if constexpr (std::is_lvalue_reference_v<A>) {
        return source::state;
    } else {
        static_assert(sizeof(A) == 0,
                      "corio::web: a handler parameter must be http::request&, a path/query/header/cookie/body "
                      "wrapper, a path value (string, number, enum), a described struct (the JSON body) or a "
                      "reference to state registered with app::provide");
        return source::request;
    }
}

/// Shared state registered on the app, by type.
class state_registry {
public:
    template <class T>
    void provide(T& object) {
        m_objects[std::type_index(typeid(T))] = std::shared_ptr<void>(std::shared_ptr<void>{}, &object);
    }
    template <class T>
    void own(std::shared_ptr<T> object) {
        m_objects[std::type_index(typeid(T))] = std::move(object);
    }
    template <class T>
    [[nodiscard]] T& get() const {
        const auto found = m_objects.find(std::type_index(typeid(T)));
        if (found == m_objects.end()) {
            throw std::logic_error(std::string("corio::web: a handler takes state of type ") + typeid(T).name() +
                                   " that was never registered with app::provide or app::make_state");
        }
        return *static_cast<T*>(found->second.get());
    }

private:
    std::unordered_map<std::type_index, std::shared_ptr<void>> m_objects;
};

/// An argument being taken from the request: the converted value, or (for
/// references to the request or state) a pointer.
template <class A>
struct argument_slot {
    static constexpr source from = source_of<A>();
    static constexpr bool by_pointer = from == source::request || from == source::state || from == source::body_stream;
    using stored = std::conditional_t<by_pointer, std::remove_reference_t<A>*, std::remove_cvref_t<A>>;
    stored value{};

    decltype(auto) pass() {
        if constexpr (by_pointer) {
            return static_cast<A>(*value);
        } else if constexpr (std::is_lvalue_reference_v<A>) {
            return static_cast<const stored&>(value);
        } else {
            return stored(std::move(value));
        }
    }
};

struct extraction {
    http::request& request;
    const state_registry& states;
    json_reader reader;
    std::size_t next_positional = 0;
    std::optional<boost::json::value> parsed_body;  // parsed once even if two parameters read it
    const form_data* form = nullptr;  // the form, read before the extraction (its body may still be arriving)
    std::optional<http::string_body_reader> body_in_memory;  // a body_reader& over a body read whole

    const boost::json::value* body_json() {
        if (!parsed_body) {
            boost::system::error_code error;
            boost::json::value json = boost::json::parse(
                boost::json::string_view(request.body.data(), request.body.size()), error);
            if (error) {
                reader.where = boost::json::array{"body", 0};
                reader.fail(request.body.empty() ? "Field required" : "JSON decode error: " + error.message(),
                            request.body.empty() ? "missing" : "json_invalid");
                reader.where.clear();
                return nullptr;
            }
            parsed_body = std::move(json);
        }
        return &*parsed_body;
    }
};

/// Fills the described struct `out` from named values (a query or a form:
/// anything with get_all(name)), each issue located at [location, member].
template <class S, class Named>
void read_named_model(const Named& values, const char* location, S& out, json_reader& reader) {
    boost::mp11::mp_for_each<boost::describe::describe_members<S, described_member_mask>>([&](auto d) {
        using member_type = std::remove_cvref_t<decltype(out.*d.pointer)>;
        reader.where = boost::json::array{location, d.name};
        read_named<member_type, no_default{}>(values.get_all(d.name), out.*d.pointer, reader);
    });
    reader.where.clear();
}

template <class A>
void extract(argument_slot<A>& slot, extraction& x) {
    using D = std::remove_cvref_t<A>;
    constexpr source from = argument_slot<A>::from;
    if constexpr (from == source::request) {
        slot.value = &x.request;
    } else if constexpr (from == source::state) {
        slot.value = &x.states.template get<std::remove_cvref_t<A>>();
    } else if constexpr (from == source::path_positional) {
        const std::size_t index = x.next_positional++;
        std::size_t i = 0;
        for (const auto& [name, value] : x.request.path_params) {
            if (i++ == index) {
                x.reader.where = boost::json::array{"path", boost::json::string_view(name)};
                read_text(value, slot.value, x.reader);
                x.reader.where.clear();
                return;
            }
        }
        throw std::logic_error("corio::web: the handler takes more path values than its pattern has parameters");
    } else if constexpr (from == source::path) {
        x.reader.where = boost::json::array{"path", boost::json::string_view(D::name.data(), D::name.size())};
        const std::optional<std::string_view> value = x.request.path_params.get(D::name);
        if (!value) {
            throw std::logic_error("corio::web: the route's pattern has no parameter {" + std::string(D::name) + "}");
        }
        read_text(*value, slot.value.value, x.reader);
        x.reader.where.clear();
    } else if constexpr (from == source::query) {
        x.reader.where = boost::json::array{"query", boost::json::string_view(D::name.data(), D::name.size())};
        const http::query_params query = x.request.query_params();
        read_named<decltype(slot.value.value), D::default_value>(query.get_all(D::name), slot.value.value, x.reader);
        x.reader.where.clear();
    } else if constexpr (from == source::header) {
        x.reader.where = boost::json::array{"header", boost::json::string_view(D::name.data(), D::name.size())};
        read_named<decltype(slot.value.value), D::default_value>(x.request.headers.get_all(D::name),
                                                                 slot.value.value, x.reader);
        x.reader.where.clear();
    } else if constexpr (from == source::cookie) {
        x.reader.where = boost::json::array{"cookie", boost::json::string_view(D::name.data(), D::name.size())};
        std::vector<std::string_view> values;
        for (std::string_view line : x.request.headers.get_all("Cookie")) {
            if (const std::optional<std::string_view> found = find_cookie(line, D::name)) {
                values.push_back(*found);
                break;
            }
        }
        read_named<decltype(slot.value.value), D::default_value>(values, slot.value.value, x.reader);
        x.reader.where.clear();
    } else if constexpr (from == source::query_model) {
        read_named_model(x.request.query_params(), "query", slot.value.value, x.reader);
    } else if constexpr (from == source::form) {
        slot.value = *x.form;
    } else if constexpr (from == source::form_model) {
        read_named_model(*x.form, "body", slot.value.value, x.reader);
    } else if constexpr (from == source::body_stream) {
        if (x.request.body_streamed()) {
            slot.value = &x.request.body_stream();
        } else {
            slot.value = &x.body_in_memory.emplace(x.request.body);
        }
    } else if constexpr (from == source::body) {
        if (const boost::json::value* json = x.body_json()) {
            x.reader.where = boost::json::array{"body"};
            if constexpr (is_instance<D, web::body>::value) {
                read_json(*json, slot.value.value, x.reader);
            } else {
                read_json(*json, slot.value, x.reader);
            }
            x.reader.where.clear();
        }
    }
}

/// True when a handler of type Handler takes its body as it arrives: a form
/// (form_data, form_model) or the stream itself (http::body_reader&). Its
/// route has http::server stream the body.
template <class Handler>
inline constexpr bool streams_body = []<std::size_t... I>(std::index_sequence<I...>) {
    using args = typename callable_traits<std::remove_cvref_t<Handler>>::args;
    return ((source_of<std::tuple_element_t<I, args>>() == source::body_stream ||
             source_of<std::tuple_element_t<I, args>>() == source::form ||
             source_of<std::tuple_element_t<I, args>>() == source::form_model) ||
            ...);
}(std::make_index_sequence<std::tuple_size_v<typename callable_traits<std::remove_cvref_t<Handler>>::args>>{});

/// True when a handler of type Handler takes a form.
template <class Handler>
inline constexpr bool reads_form = []<std::size_t... I>(std::index_sequence<I...>) {
    using args = typename callable_traits<std::remove_cvref_t<Handler>>::args;
    return ((source_of<std::tuple_element_t<I, args>>() == source::form ||
             source_of<std::tuple_element_t<I, args>>() == source::form_model) ||
            ...);
}(std::make_index_sequence<std::tuple_size_v<typename callable_traits<std::remove_cvref_t<Handler>>::args>>{});

template <class T>
http::response to_response(T&& value, int status) {
    using D = std::remove_cvref_t<T>;
    if constexpr (std::is_same_v<D, http::response>) {
        return std::forward<T>(value);
    } else {
        return http::json_response(web::dump_json(value), status == 0 ? 200 : status);
    }
}

/// The handler taking its arguments from the request, as one coroutine that
/// keeps the converted arguments alive while the handler's task runs (it may
/// take them by const reference).
template <class Handler>
struct typed_invoker {
    using traits = callable_traits<std::remove_cvref_t<Handler>>;
    using args = typename traits::args;
    using result = typename traits::result;

    template <std::size_t... I>
    static CORIO_HEADER_COROUTINE task<http::response> call(const Handler& handler, const state_registry& states,
                                                            int status, const form_limits* limits,
                                                            http::request& request, std::index_sequence<I...>) {
        std::tuple<argument_slot<std::tuple_element_t<I, args>>...> slots;
        extraction x{request, states, {}, 0, std::nullopt, nullptr, std::nullopt};
        std::optional<form_data> form;
        if constexpr (reads_form<Handler>) {
            form = co_await web::read_form(request, *limits);
            x.form = &*form;
        }
        (extract(std::get<I>(slots), x), ...);
        if (!x.reader.issues.empty()) {
            throw validation_error(std::move(x.reader.issues));
        }
        if constexpr (task_value<result>::is_task) {
            using value_type = typename task_value<result>::type;
            if constexpr (std::is_void_v<value_type>) {
                co_await handler(std::get<I>(slots).pass()...);
                http::response done;
                done.status = status == 0 ? 204 : status;
                co_return done;
            } else {
                value_type value = co_await handler(std::get<I>(slots).pass()...);
                co_return to_response(std::move(value), status);
            }
        } else if constexpr (std::is_void_v<result>) {
            handler(std::get<I>(slots).pass()...);
            http::response done;
            done.status = status == 0 ? 204 : status;
            co_return done;
        } else {
            co_return to_response(handler(std::get<I>(slots).pass()...), status);
        }
    }
};

}  // namespace corio::web::detail
