#pragma once

// corio::http messages: ordered case-insensitive header fields, request and
// response values, and the standard reason phrases.

#include <corio/detail/file_ops.hpp>
#include <corio/generator.hpp>
#include <corio/http/body_reader.hpp>
#include <corio/http/detail/grammar.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace corio::detail {
struct header_list_access;
}  // namespace corio::detail

namespace corio::http {

struct protocol_switch;

/// One header field as received or to be sent.
struct header_field {
    /// Field name, case preserved as received or added (names are case-insensitive).
    std::string name;
    /// Field value (the parser trims the SP/HTAB around it); repeated fields are not joined.
    std::string value;
    /// Equal when name and value are byte for byte (the name's case counts here).
    friend bool operator==(const header_field&, const header_field&) = default;
};

/// Header fields in their order, names compared case-insensitively (ASCII),
/// a name may repeat. Iteration yields header_field in insertion order, names
/// spelled as they were added. Not thread-safe (a plain value type).
class headers {
public:
    /// Iterates the fields as header_field, in insertion order.
    using const_iterator = std::vector<header_field>::const_iterator;

    headers() = default;
    /// The fields given, in order: `{{"Accept", "text/html"}, {"X-Id", "7"}}`.
    headers(std::initializer_list<header_field> fields) : m_fields(fields) {}

    /// The value of the first field named `name`, or nullopt. The view is valid
    /// until this object is modified.
    [[nodiscard]] std::optional<std::string_view> get(std::string_view name) const {
        for (const auto& f : m_fields)
            if (detail::http_grammar::iequals(f.name, name))
                return std::string_view(f.value);
        return std::nullopt;
    }

    /// The value of the first field named `name`, or `fallback`.
    [[nodiscard]] std::string_view get_or(std::string_view name, std::string_view fallback) const {
        const auto v = get(name);
        return v ? *v : fallback;
    }

    /// Every value of fields named `name`, in order (views valid until modified).
    [[nodiscard]] std::vector<std::string_view> get_all(std::string_view name) const {
        std::vector<std::string_view> values;
        for (const auto& f : m_fields)
            if (detail::http_grammar::iequals(f.name, name))
                values.emplace_back(f.value);
        return values;
    }

    /// True when a field named `name` exists (compared case-insensitively).
    [[nodiscard]] bool contains(std::string_view name) const { return get(name).has_value(); }

    /// True when a field named `name` holds `token` in its comma-separated list
    /// (case-insensitive), e.g. has_token("Connection", "close").
    [[nodiscard]] bool has_token(std::string_view name, std::string_view token) const {
        for (const auto& f : m_fields)
            if (detail::http_grammar::iequals(f.name, name) && detail::http_grammar::list_has_token(f.value, token))
                return true;
        return false;
    }

    /// Appends a field (keeps any existing ones of the same name).
    void add(std::string name, std::string value) {
        m_fields.push_back({std::move(name), std::move(value)});
    }

    /// Replaces every field named `name` by one with `value`, at the position of
    /// the first one (appended when there was none).
    void set(std::string_view name, std::string value) {
        auto it = std::find_if(m_fields.begin(), m_fields.end(), [&](const header_field& f) {
            return detail::http_grammar::iequals(f.name, name);
        });
        if (it == m_fields.end()) {
            m_fields.push_back({std::string(name), std::move(value)});
            return;
        }
        it->value = std::move(value);
        const auto first = static_cast<std::size_t>(it - m_fields.begin());
        std::size_t out = first + 1;
        for (std::size_t i = first + 1; i < m_fields.size(); ++i) {
            if (detail::http_grammar::iequals(m_fields[i].name, name))
                continue;
            if (out != i)
                m_fields[out] = std::move(m_fields[i]);
            ++out;
        }
        m_fields.resize(out);
    }

    /// Removes every field named `name`; returns how many were removed.
    std::size_t remove(std::string_view name) {
        const auto before = m_fields.size();
        std::erase_if(m_fields, [&](const header_field& f) {
            return detail::http_grammar::iequals(f.name, name);
        });
        return before - m_fields.size();
    }

    /// Removes every field.
    void clear() noexcept { m_fields.clear(); }
    /// Number of fields, a repeated name counting each time.
    [[nodiscard]] std::size_t size() const noexcept { return m_fields.size(); }
    /// True when there is no field.
    [[nodiscard]] bool empty() const noexcept { return m_fields.empty(); }
    /// First field, in insertion order.
    [[nodiscard]] const_iterator begin() const noexcept { return m_fields.begin(); }
    /// Past the last field.
    [[nodiscard]] const_iterator end() const noexcept { return m_fields.end(); }

    /// Equal when the same fields are in the same order (names compared exactly).
    friend bool operator==(const headers&, const headers&) = default;

private:
    friend struct corio::detail::header_list_access;
    std::vector<header_field> m_fields;
};

}  // namespace corio::http

namespace corio::detail {

/// The parser's way to append a received field: copied straight into the
/// field's strings (no temporaries moved in), one copy per byte received.
struct header_list_access {
    static void append(http::headers& into, std::string_view name, std::string_view value) {
        http::header_field& field = into.m_fields.emplace_back();
        field.name.append(name.data(), name.size());  // append to an empty string: assign, minus the overlap checks
        field.value.append(value.data(), value.size());
    }
    /// to = from, skipped when they are equal already: a compare costs less
    /// than a copy into the string (a keep-alive client sends the same
    /// request line and fields again and again).
    static void assign_changed(std::string& to, std::string_view from) {
        if (to.size() == from.size()) {
            if (from.size() < 8) {
                std::size_t k = 0;
                while (k < from.size() && to[k] == from[k]) {
                    ++k;
                }
                if (k == from.size()) {
                    return;
                }
            } else if (std::memcmp(to.data(), from.data(), from.size()) == 0) {
                return;
            }
        }
        to.assign(from.data(), from.size());
    }
    /// The parser's field number `index` of a message: written over the field
    /// a previous message left there (its strings' storage reused, and not
    /// written at all when equal), appended past the end.
    static void put(http::headers& into, std::size_t index, std::string_view name, std::string_view value) {
        if (index < into.m_fields.size()) {
            http::header_field& field = into.m_fields[index];
            assign_changed(field.name, name);
            assign_changed(field.value, value);
        } else {
            append(into, name, value);
        }
    }
    /// Drops the fields from number `count` on (left by a previous message).
    static void truncate(http::headers& into, std::size_t count) {
        if (count < into.m_fields.size()) {
            into.m_fields.erase(into.m_fields.begin() + static_cast<std::ptrdiff_t>(count), into.m_fields.end());
        }
    }
    /// The same with a value to move in (a response's Content-Type): the
    /// field is made in place, with no header_field temporary moved in after.
    static void append(http::headers& into, std::string_view name, std::string&& value) {
        http::header_field& field = into.m_fields.emplace_back();
        field.name.append(name.data(), name.size());
        field.value = std::move(value);
    }
};

}  // namespace corio::detail

namespace corio::http {

/// HTTP-version of a message: 1.0 or 1.1 in practice.
struct http_version {
    /// The digit before the dot.
    int major = 1;
    /// The digit after the dot.
    int minor = 1;
    /// Equal when major and minor are.
    friend bool operator==(const http_version&, const http_version&) = default;
};

/// Values a router took from the path ("/users/{name}" matched against
/// "/users/ada" gives name = "ada"), percent-escapes decoded. Small and
/// ordered; names are compared exactly. Not thread-safe (a plain value type).
class path_params {
public:
    /// The value of parameter `name`, or nullopt. The view is valid until this object is modified.
    [[nodiscard]] std::optional<std::string_view> get(std::string_view name) const noexcept {
        for (const auto& item : m_items)
            if (item.first == name)
                return std::string_view(item.second);
        return std::nullopt;
    }

    /// The value of parameter `name`; throws std::out_of_range when there is none.
    [[nodiscard]] std::string_view at(std::string_view name) const {
        if (const auto value = get(name))
            return *value;
        throw std::out_of_range("corio::http::path_params: no parameter '" + std::string(name) + "'");
    }

    /// True when parameter `name` was matched.
    [[nodiscard]] bool contains(std::string_view name) const noexcept { return get(name).has_value(); }

    /// Sets parameter `name` (replacing a value it had).
    void set(std::string_view name, std::string value) {
        for (auto& item : m_items) {
            if (item.first == name) {
                item.second = std::move(value);
                return;
            }
        }
        m_items.emplace_back(std::string(name), std::move(value));
    }

    /// Removes every parameter.
    void clear() noexcept { m_items.clear(); }
    /// Number of parameters.
    [[nodiscard]] std::size_t size() const noexcept { return m_items.size(); }
    /// True when there is no parameter.
    [[nodiscard]] bool empty() const noexcept { return m_items.empty(); }
    /// Iteration yields std::pair<std::string, std::string> (name, value) in pattern order.
    [[nodiscard]] auto begin() const noexcept { return m_items.begin(); }
    /// Past the last parameter.
    [[nodiscard]] auto end() const noexcept { return m_items.end(); }

    /// Equal when the same names have the same values in the same order.
    friend bool operator==(const path_params&, const path_params&) = default;

private:
    std::vector<std::pair<std::string, std::string>> m_items;
};

/// The four forms of a request-target (RFC 9112 §3.2).
enum class target_form {
    origin,     ///< "/path?query": every ordinary request
    absolute,   ///< "http://host:8080/path?query": sent to proxies, accepted by servers
    authority,  ///< "host:443": CONNECT only
    asterisk,   ///< "*": a server-wide OPTIONS
};

}  // namespace corio::http

namespace corio::detail::http_target {

/// A request-target split into the parts request::path() and friends return.
struct parts {
    http::target_form form = http::target_form::origin;
    std::string_view authority;  // absolute-form: between "//" and the path; authority-form: all of it
    std::string_view path;       // "/" for an absolute-form target with an empty path
    std::string_view query;      // after '?', without it
};

/// Splits `target` by its form. Any target that is not "*", does not start
/// with '/' and is not `scheme "://" ...` counts as authority-form; whether it
/// is well formed is the server's check, not this function's.
constexpr parts split(std::string_view target) noexcept {
    parts p;
    const std::size_t mark = target.find('?');
    if (mark != std::string_view::npos) {
        p.query = target.substr(mark + 1);
    }
    const std::string_view before_query = target.substr(0, mark);
    if (target == "*") {
        p.form = http::target_form::asterisk;
        p.path = target;
        return p;
    }
    if (!target.empty() && target.front() == '/') {
        p.path = before_query;
        return p;
    }
    // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 §3.1)
    std::size_t i = 0;
    while (i < before_query.size() &&
           (http_grammar::is_alpha(before_query[i]) ||
            (i > 0 && (http_grammar::is_digit(before_query[i]) || before_query[i] == '+' || before_query[i] == '-' ||
                       before_query[i] == '.')))) {
        ++i;
    }
    if (i == 0 || before_query.substr(i, 3) != "://") {
        p.form = http::target_form::authority;
        p.authority = before_query;
        p.query = {};
        return p;
    }
    p.form = http::target_form::absolute;
    const std::string_view rest = before_query.substr(i + 3);
    const std::size_t slash = rest.find('/');
    p.authority = rest.substr(0, slash);
    p.path = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
    return p;
}

}  // namespace corio::detail::http_target

namespace corio::http {

/// A parsed query string (application/x-www-form-urlencoded, as a browser
/// sends a GET form): "tag=a&tag=b&q=hello+world" gives tag → a, b and
/// q → "hello world". '+' is a space, %XX escapes are decoded, a bad escape
/// is kept as written (like Python's parse_qsl), a name without '=' has the
/// value "", empty pieces ("a=1&&b=2") are skipped. Names keep their order
/// and may repeat (asyncio's aiohttp: request.query, a MultiDict).
class query_params {
public:
    query_params() = default;
    /// Parses `query`: the part of a target after '?', without the '?'.
    explicit query_params(std::string_view query) {
        while (!query.empty()) {
            const std::size_t amp = query.find('&');
            const std::string_view piece = query.substr(0, amp);
            query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
            if (piece.empty()) {
                continue;
            }
            const std::size_t eq = piece.find('=');
            m_items.emplace_back(decode(piece.substr(0, eq)),
                                 eq == std::string_view::npos ? std::string{} : decode(piece.substr(eq + 1)));
        }
    }

    /// The first value of `name`, or nullopt. Valid until this object changes.
    [[nodiscard]] std::optional<std::string_view> get(std::string_view name) const noexcept {
        for (const auto& item : m_items) {
            if (item.first == name) {
                return std::string_view(item.second);
            }
        }
        return std::nullopt;
    }
    /// The first value of `name`, or `fallback`.
    [[nodiscard]] std::string_view get_or(std::string_view name, std::string_view fallback) const noexcept {
        return get(name).value_or(fallback);
    }
    /// Every value of `name`, in order ("tag=a&tag=b" gives a, b).
    [[nodiscard]] std::vector<std::string_view> get_all(std::string_view name) const {
        std::vector<std::string_view> values;
        for (const auto& item : m_items) {
            if (item.first == name) {
                values.emplace_back(item.second);
            }
        }
        return values;
    }
    /// True when `name` occurs, with or without a value.
    [[nodiscard]] bool contains(std::string_view name) const noexcept { return get(name).has_value(); }
    /// Number of name/value pairs, a repeated name counting each time.
    [[nodiscard]] std::size_t size() const noexcept { return m_items.size(); }
    /// True when there is no pair.
    [[nodiscard]] bool empty() const noexcept { return m_items.empty(); }
    /// Iteration yields std::pair<std::string, std::string> (name, value) in query order.
    [[nodiscard]] auto begin() const noexcept { return m_items.begin(); }
    /// Past the last pair.
    [[nodiscard]] auto end() const noexcept { return m_items.end(); }

    /// Equal when the same pairs are in the same order.
    friend bool operator==(const query_params&, const query_params&) = default;

private:
    static std::string decode(std::string_view text) {
        std::string out;
        out.reserve(text.size());
        for (std::size_t i = 0; i < text.size(); ++i) {
            const char c = text[i];
            if (c == '+') {
                out.push_back(' ');
            } else if (c == '%' && i + 2 < text.size() && corio::detail::http_grammar::is_hex(text[i + 1]) &&
                       corio::detail::http_grammar::is_hex(text[i + 2])) {
                out.push_back(static_cast<char>(corio::detail::http_grammar::hex_value(text[i + 1]) * 16 +
                                                corio::detail::http_grammar::hex_value(text[i + 2])));
                i += 2;
            } else {
                out.push_back(c);
            }
        }
        return out;
    }

    std::vector<std::pair<std::string, std::string>> m_items;
};

/// An HTTP request. `target` is the request-target as sent on the request line
/// (origin form "/path?query" for ordinary requests; see target_form). path()
/// and query() read any form, so a handler routes "http://host/a?b" as "/a".
struct request {
    /// Method token as sent, case-sensitive ("GET", "POST", ...).
    std::string method = "GET";
    /// Request-target as on the request line, percent-escapes kept; see form() and path().
    std::string target = "/";
    /// HTTP-version of the request line (1.1 by default).
    http_version version{};
    /// Header fields as received, or to send.
    http::headers headers{};
    /// Body, de-chunked; "" when there is none.
    std::string body{};
    /// Filled by http::router from the matched pattern's {name} segments (empty otherwise).
    http::path_params path_params{};
    /// Set by http::server when it streams this request's body to the
    /// handler (see body_stream()); null when the body was read whole.
    http::body_reader* streamed_body = nullptr;

    /// True when the body comes through body_stream() rather than in `body`.
    [[nodiscard]] bool body_streamed() const noexcept { return streamed_body != nullptr; }
    /// The reader of a streamed body (http::server streams the body of a
    /// route that asked for it: server_options::stream_body,
    /// router::add_streaming; `body` is then empty). Throws std::logic_error
    /// when the body was read whole (use `body`, or a string_body_reader over it).
    [[nodiscard]] http::body_reader& body_stream() const {
        if (streamed_body == nullptr) {
            throw std::logic_error("corio::http: this request's body was read whole (request::body), not streamed");
        }
        return *streamed_body;
    }

    /// The form of `target`: origin ("/a?b"), absolute ("http://h/a?b"),
    /// authority ("h:443") or asterisk ("*").
    [[nodiscard]] http::target_form form() const noexcept { return detail::http_target::split(target).form; }

    /// The path of the target (percent-escapes kept): "/users/ada" for
    /// "/users/ada?x=1" and for "http://host/users/ada?x=1"; "/" for
    /// "http://host"; "*" for the asterisk form; "" for the authority form.
    [[nodiscard]] std::string_view path() const noexcept { return detail::http_target::split(target).path; }
    /// The target after '?', "" when there is none: "x=1" for "/users/ada?x=1"
    /// (and for "http://host/users/ada?x=1").
    [[nodiscard]] std::string_view query() const noexcept { return detail::http_target::split(target).query; }
    /// The query parsed (see http::query_params): "?tag=a&tag=b&q=x+y" gives
    /// get("q") == "x y" and get_all("tag") == {"a", "b"}. Parses on each call.
    [[nodiscard]] http::query_params query_params() const { return http::query_params(query()); }
    /// The authority the request is for: the target's own in the absolute and
    /// authority forms ("host:8080"), the Host field otherwise; "" without
    /// either. (http::server also sets Host to an absolute-form target's
    /// authority, as RFC 9112 §3.2.2 has the target replace Host.)
    [[nodiscard]] std::string_view authority() const noexcept {
        const detail::http_target::parts p = detail::http_target::split(target);
        if (p.form == http::target_form::absolute || p.form == http::target_form::authority) {
            return p.authority;
        }
        return headers.get_or("Host", "");
    }

    /// Equal when every field, path_params included, is.
    friend bool operator==(const request&, const request&) = default;
};

/// A response body taken from an open file: `length` bytes from `offset`
/// (made by http::open_file_body, or web::file_response). http::server sends
/// it with sendfile(2) over plain TCP (no copy through user space) and in
/// read pieces over TLS. Copies share the open file.
struct file_body {
    /// The file, open for reading (closed with the last copy).
    std::shared_ptr<corio::detail::file_descriptor> file{};
    /// Where the body starts in the file.
    std::uint64_t offset = 0;
    /// Bytes of the body.
    std::uint64_t length = 0;
    /// Equal when the same open file and range.
    friend bool operator==(const file_body&, const file_body&) = default;
};

/// Opens `path` for a file_body of `length` bytes from `offset` (nullopt: to
/// the end of the file). Throws std::system_error naming the path when it
/// cannot be opened, std::out_of_range when the range passes the file's end.
[[nodiscard]] inline file_body open_file_body(const std::string& path, std::uint64_t offset = 0,
                                              std::optional<std::uint64_t> length = std::nullopt) {
    file_body body;
    body.file = std::make_shared<corio::detail::file_descriptor>();
    body.file->path = path;
    corio::detail::open_file_descriptor(*body.file, corio::detail::parse_open_mode("r"));
    const std::uint64_t size = corio::detail::file_size(*body.file);
    if (offset > size || (length && *length > size - offset)) {
        throw std::out_of_range("corio::http: the range passes the end of " + path);
    }
    body.offset = offset;
    body.length = length.value_or(size - offset);
    return body;
}

/// An HTTP response.
struct response {
    /// Status code, three digits (100 to 999).
    int status = 200;
    /// Reason phrase; when empty, http::server sends the standard one for `status`.
    std::string reason{};
    /// HTTP-version of the status line (1.1 by default).
    http_version version{};
    /// Header fields; http::server adds its own Connection, Content-Length (unless framing is
    /// set) and, as its options say, Date and Server.
    http::headers headers{};
    /// Body, de-chunked when received; "" when there is none.
    std::string body{};
    /// With status 101: the protocol the server switches the connection to
    /// after writing this response (set by router::websocket; see
    /// http/detail/protocol_switch.hpp).
    std::shared_ptr<protocol_switch> upgrade{};
    /// A body produced while it is sent (set by http::stream_response; `body`
    /// is then ignored): http::server writes each piece the generator yields
    /// as soon as it comes, chunked for HTTP/1.1 (unless the response sets
    /// Content-Length or Transfer-Encoding itself, whose framing the pieces
    /// then carry), up to the connection's close for HTTP/1.0. A client that
    /// goes away meanwhile cancels the generator where it waits.
    std::shared_ptr<async_generator<std::string>> body_stream{};
    /// A body sent from a file (see file_body; `body` is then ignored);
    /// Content-Length is its length unless the response sets framing itself.
    std::optional<file_body> body_file{};
    /// Equal when every field is (`upgrade`, `body_stream` and `body_file`'s file by pointer).
    friend bool operator==(const response&, const response&) = default;
};

/// A response with `body` and its Content-Type (text/plain in UTF-8 unless
/// told otherwise): `text_response("hello")`, `text_response("gone", 410)`,
/// as aiohttp's web.Response(text=..., status=...). Body first, like
/// json_response; the status-first form below is kept as well.
[[nodiscard]] inline response text_response(std::string body, int status = 200,
                                            std::string content_type = "text/plain; charset=utf-8") {
    response r;
    r.status = status;
    detail::header_list_access::append(r.headers, "Content-Type", std::move(content_type));
    r.body = std::move(body);
    return r;
}

/// The same with the status first: `text_response(404, "Not Found\n")`.
[[nodiscard]] inline response text_response(int status, std::string body,
                                            std::string content_type = "text/plain; charset=utf-8") {
    return text_response(std::move(body), status, std::move(content_type));
}

/// A response carrying `json` (already serialized: corio needs no JSON
/// library) with Content-Type: application/json, as aiohttp's
/// web.json_response(data, status=...).
[[nodiscard]] inline response json_response(std::string json, int status = 200) {
    return text_response(std::move(json), status, "application/json");
}

/// The same with the status first, like text_response(status, body).
[[nodiscard]] inline response json_response(int status, std::string json) {
    return json_response(std::move(json), status);
}

/// A response whose body is `body`'s pieces, sent as the generator yields
/// them (aiohttp's StreamResponse, Starlette's StreamingResponse):
///
///     corio::async_generator<std::string> countdown() {
///         for (int i = 3; i > 0; --i) {
///             co_yield std::to_string(i) + "\n";
///             co_await corio::sleep(1s);
///         }
///     }
///     routes.get("/countdown", [](http::request&) -> task<http::response> {
///         co_return http::stream_response(countdown());
///     });
///
/// The generator runs on the connection's task after the head is written,
/// before the next request on the connection is read, so a request it took
/// by reference stays valid while it runs. An exception from it ends the connection without the
/// body's end (the client sees a cut body) and goes to the loop's exception
/// handler; a HEAD request never runs it.
[[nodiscard]] inline response stream_response(async_generator<std::string> body,
                                              std::string content_type = "application/octet-stream",
                                              int status = 200) {
    response r;
    r.status = status;
    r.headers.add("Content-Type", std::move(content_type));
    r.body_stream = std::make_shared<async_generator<std::string>>(std::move(body));
    return r;
}

/// The standard reason phrase of `status` (RFC 9110 §15), or "Unknown".
[[nodiscard]] inline std::string_view reason_phrase(int status) noexcept {
    switch (status) {
        case 100:
            return "Continue";
        case 101:
            return "Switching Protocols";
        case 103:
            return "Early Hints";
        case 200:
            return "OK";
        case 201:
            return "Created";
        case 202:
            return "Accepted";
        case 203:
            return "Non-Authoritative Information";
        case 204:
            return "No Content";
        case 205:
            return "Reset Content";
        case 206:
            return "Partial Content";
        case 300:
            return "Multiple Choices";
        case 301:
            return "Moved Permanently";
        case 302:
            return "Found";
        case 303:
            return "See Other";
        case 304:
            return "Not Modified";
        case 307:
            return "Temporary Redirect";
        case 308:
            return "Permanent Redirect";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 402:
            return "Payment Required";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 406:
            return "Not Acceptable";
        case 407:
            return "Proxy Authentication Required";
        case 408:
            return "Request Timeout";
        case 409:
            return "Conflict";
        case 410:
            return "Gone";
        case 411:
            return "Length Required";
        case 412:
            return "Precondition Failed";
        case 413:
            return "Content Too Large";
        case 414:
            return "URI Too Long";
        case 415:
            return "Unsupported Media Type";
        case 416:
            return "Range Not Satisfiable";
        case 417:
            return "Expectation Failed";
        case 421:
            return "Misdirected Request";
        case 422:
            return "Unprocessable Content";
        case 426:
            return "Upgrade Required";
        case 428:
            return "Precondition Required";
        case 429:
            return "Too Many Requests";
        case 431:
            return "Request Header Fields Too Large";
        case 500:
            return "Internal Server Error";
        case 501:
            return "Not Implemented";
        case 502:
            return "Bad Gateway";
        case 503:
            return "Service Unavailable";
        case 504:
            return "Gateway Timeout";
        case 505:
            return "HTTP Version Not Supported";
        default:
            return "Unknown";
    }
}

}  // namespace corio::http
