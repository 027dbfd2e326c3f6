#pragma once

// Internals of corio::http::server: the per-connection coroutine (read, parse,
// call the handler, write) and the state the connections share.

#include <corio/cancel.hpp>
#include <corio/combinators.hpp>
#include <corio/detail/config.hpp>
#include <corio/detail/intrusive_list.hpp>
#include <corio/detail/separate_compilation.hpp>
#include <corio/event_loop.hpp>
#include <corio/http/detail/grammar.hpp>
#include <corio/http/detail/protocol_switch.hpp>
#include <corio/http/detail/transport.hpp>
#include <corio/http/detail/wire.hpp>
#include <corio/http/message.hpp>
#include <corio/http/parser.hpp>
#include <corio/http/serialize.hpp>
#include <corio/http/url.hpp>
#include <corio/net/detail/socket.hpp>
#include <corio/net/stream.hpp>
#include <corio/sync/event.hpp>
#include <corio/task.hpp>
#include <corio/timeout.hpp>
#include <corio/wait_any.hpp>

#include <array>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace corio::http {

using handler = std::function<task<response>(request&)>;

}  // namespace corio::http

namespace corio::detail::http_server {

/// server_options::stream_body: a request head → the limit of its streamed body, or nullopt.
using body_policy = std::function<std::optional<std::uint64_t>(const http::request&)>;

/// What a connection needs of http::server_options.
struct settings {
    body_policy stream_body{};
    http::parser_limits limits{};
    std::chrono::milliseconds header_timeout{};
    std::chrono::milliseconds body_timeout{};
    std::chrono::milliseconds keep_alive_timeout{};
    std::size_t read_buffer_size = 16 * 1024;
    bool date_header = true;
    std::string server_name{};
};

/// What a connection's reads and writes throw when it breaks: std::system_error
/// over TCP, tls::tls_error over TLS (timeout_error, also one, is caught first
/// where a deadline applies; cancelled_error is none).
using connection_failure = std::runtime_error;

/// One live connection, linked into the server state while its coroutine runs
/// (the node lives in the coroutine frame).
struct connection_record : list_hook {
    http_connection_stream* stream = nullptr;
    http::shutdown_notice* switched = nullptr;  // set while a switched protocol runs
    bool idle = false;       // waiting for the first byte of a next request: shutdown may close it
    bool kept_alive = false;  // idle after answering a request (not a new connection yet to send one)
    event_loop::time_point idle_since{};
};

/// What every connection of one http::server shares; kept alive by the
/// server object and by each connection coroutine.
struct state {
    state(http::handler h, settings o) : handler(std::move(h)), options(std::move(o)) {}

    event_loop* loop = nullptr;  // set when the server starts
    http::handler handler;
    settings options;
#if defined(CORIO_HTTP_HAS_TLS)
    tls::context tls{};  // set for HTTPS: each connection starts with its handshake
#endif
    bool shutting_down = false;  // graceful shutdown started: finish requests in flight, then close
    // At max_connections with a client waiting and no idle keep-alive
    // connection to close: the next connection to go idle closes instead.
    bool room_wanted = false;
    intrusive_list<connection_record> connections;
    std::uint64_t connections_accepted = 0;
    std::uint64_t requests_served = 0;
    std::int64_t date_second = -1;  // second since the epoch of date_line
    std::string date_line;          // "Date: ...\r\n"
    int status_line_status = 0;     // the status of status_line (0: none yet)
    std::string status_line;        // "HTTP/1.1 NNN Reason\r\n", the standard reason

    /// The HTTP/1.1 status line of `status` with its standard reason, kept
    /// for the next response with the same status (most answer 200).
    std::string_view standard_status_line(int status) {
        if (status != status_line_status) {
            status_line = "HTTP/1.1 ";
            status_line += static_cast<char>('0' + status / 100);
            status_line += static_cast<char>('0' + status / 10 % 10);
            status_line += static_cast<char>('0' + status % 10);
            status_line += ' ';
            status_line += http::reason_phrase(status);
            status_line += "\r\n";
            status_line_status = status;
        }
        return status_line;
    }

    /// Closes connections idle between requests (their pending read throws
    /// stream_closed and their coroutine ends quietly).
    void close_idle() noexcept {
        connections.for_each([](connection_record& c) {
            if (c.idle) {
                c.stream->close();
            }
        });
    }

    /// At max_connections with a client waiting: closes the keep-alive
    /// connection idle longest, or, with none idle, has the next connection
    /// that goes idle close instead of waiting for another request.
    /// Tells every connection running a switched protocol that the server
    /// shuts down (WebSocket closes with 1001).
    void notify_switched() noexcept {
        connections.for_each([](connection_record& c) {
            if (c.switched != nullptr && !c.switched->requested) {
                c.switched->requested = true;
                if (c.switched->notify) {
                    c.switched->notify();
                }
            }
        });
    }

    void make_room() noexcept {
        connection_record* longest = nullptr;
        connections.for_each([&longest](connection_record& c) {
            if (c.idle && c.kept_alive && (longest == nullptr || c.idle_since < longest->idle_since)) {
                longest = &c;
            }
        });
        if (longest != nullptr) {
            longest->stream->close();
        } else {
            room_wanted = true;
        }
    }

    /// The Date header line for now, rebuilt when the second changes (RFC 9110 §5.6.7 IMF-fixdate).
    const std::string& date() {
        using namespace std::chrono;
        const auto now = floor<seconds>(system_clock::now());
        const std::int64_t second = now.time_since_epoch().count();
        if (second != date_second) {
            date_second = second;
            const auto day = floor<days>(now);
            const year_month_day ymd{day};
            const hh_mm_ss<seconds> time{now - day};
            static constexpr const char* week_days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
            static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
            auto two = [this](unsigned v) {
                date_line += static_cast<char>('0' + v / 10 % 10);
                date_line += static_cast<char>('0' + v % 10);
            };
            date_line = "Date: ";
            date_line += week_days[weekday{day}.c_encoding()];
            date_line += ", ";
            two(static_cast<unsigned>(ymd.day()));
            date_line += ' ';
            date_line += months[static_cast<unsigned>(ymd.month()) - 1];
            date_line += ' ';
            date_line += std::to_string(static_cast<int>(ymd.year()));
            date_line += ' ';
            two(static_cast<unsigned>(time.hours().count()));
            date_line += ':';
            two(static_cast<unsigned>(time.minutes().count()));
            date_line += ':';
            two(static_cast<unsigned>(time.seconds().count()));
            date_line += " GMT\r\n";
        }
        return date_line;
    }
};

// The connection coroutine and its helpers: only http::server's start()
// calls them, so in separate-compilation mode they are compiled once, with it
// (src/corio_http.cpp).
#if defined(CORIO_HTTP_DEFINITIONS)

/// The status answering a protocol error (0: close without answering).
inline int status_for(http::protocol_error::kind kind) noexcept {
    switch (kind) {
        case http::protocol_error::kind::line_too_long:
            return 414;
        case http::protocol_error::kind::headers_too_large:
            return 431;
        case http::protocol_error::kind::body_too_large:
            return 413;
        case http::protocol_error::kind::incomplete_message:
            return 0;
        case http::protocol_error::kind::not_implemented:
            return 501;
        case http::protocol_error::kind::bad_message:
            break;
    }
    return 400;
}

/// unreserved / sub-delims (RFC 3986 §3.2.2 reg-name without its %XX), as a
/// table: every request's Host is checked byte by byte.
inline constexpr std::array<bool, 256> reg_name_table = [] {
    std::array<bool, 256> table{};
    for (int c = 0; c < 256; ++c) {
        const char ch = static_cast<char>(c);
        table[static_cast<std::size_t>(c)] = http_grammar::is_alpha(ch) || http_grammar::is_digit(ch);
    }
    for (const char c : std::string_view("-._~!$&'()*+,;=")) {
        table[static_cast<unsigned char>(c)] = true;
    }
    return table;
}();

/// True when `value` is a valid Host field value, uri-host [":" port]
/// (RFC 9110 §7.2, RFC 3986 §3.2.2): a reg-name (unreserved, sub-delims,
/// %XX), or an IP literal in brackets (IPv6 or IPvFuture), then an optional
/// port of digits up to 65535. No userinfo, spaces or other bytes. "" is
/// valid here; whether a host is required is the caller's question.
inline bool valid_host(std::string_view value) noexcept {
    using namespace ::corio::detail::url_grammar;
    std::size_t host_end = 0;
    if (!value.empty() && value.front() == '[') {
        const std::size_t close = value.find(']');
        if (close == std::string_view::npos) {
            return false;
        }
        const std::string_view literal = value.substr(1, close - 1);
        if (literal.size() >= 2 && (literal[0] == 'v' || literal[0] == 'V')) {
            // IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
            const std::size_t dot = literal.find('.');
            if (dot == std::string_view::npos || dot == 1 || dot + 1 == literal.size()) {
                return false;
            }
            for (std::size_t i = 1; i < dot; ++i) {
                if (!is_hex(literal[i])) {
                    return false;
                }
            }
            for (const char c : literal.substr(dot + 1)) {
                if (!is_unreserved(c) && !is_sub_delim(c) && c != ':') {
                    return false;
                }
            }
        } else if (!valid_ipv6(literal)) {
            return false;
        }
        host_end = close + 1;
    } else {
        // One pass up to the ':' (or the end): a %XX cannot hold one.
        for (; host_end < value.size(); ++host_end) {
            const char c = value[host_end];
            if (reg_name_table[static_cast<unsigned char>(c)]) {
                continue;
            }
            if (c == ':') {
                break;
            }
            if (c != '%' || host_end + 2 >= value.size() || !is_hex(value[host_end + 1]) ||
                !is_hex(value[host_end + 2])) {
                return false;
            }
            host_end += 2;
        }
    }
    if (host_end == value.size()) {
        return true;
    }
    if (value[host_end] != ':') {
        return false;
    }
    std::uint32_t port = 0;
    for (std::size_t i = host_end + 1; i < value.size(); ++i) {
        const auto digit = static_cast<std::uint32_t>(static_cast<unsigned char>(value[i]) - '0');
        if (digit > 9) {
            return false;
        }
        port = port * 10 + digit;
        if (port > 65535) {
            return false;
        }
    }
    return true;
}

/// The host part of a valid Host value or authority (without the port).
inline std::string_view host_part(std::string_view value) noexcept {
    if (!value.empty() && value.front() == '[') {
        return value.substr(0, value.find(']') + 1);
    }
    return value.substr(0, value.find(':'));
}

/// What RFC 9112 §3.2 asks of a request's Host and target, checked when its
/// head is complete: the status to answer with instead of calling the
/// handler, or 0. More than one Host, an invalid Host, or none (or an empty
/// one) on HTTP/1.1 with a target that does not name a host → 400. CONNECT →
/// 501 (the server does not tunnel); the authority form for any other
/// method, the asterisk form for anything but OPTIONS, an absolute form whose
/// scheme is not http/https or whose authority is invalid (userinfo, no
/// host) → 400. An absolute-form target's authority replaces Host (§3.2.2).
///
/// `known_host`: a Host value found valid earlier on the connection (a
/// keep-alive client sends the same one each time: checked once); a newly
/// valid one replaces it.
inline int check_head(http::request& r, std::string& known_host) {
    std::size_t host_count = 0;
    std::string_view host;
    for (const http::header_field& field : r.headers) {
        if (field.name.size() == 4 && http_grammar::iequals(field.name, "Host")) {
            if (++host_count > 1) {
                return 400;
            }
            host = field.value;
        }
    }
    if (host_count == 1 && host != known_host) {
        if (!valid_host(host)) {
            return 400;
        }
        known_host.assign(host);
    }
    if (r.method == "CONNECT") {
        return 501;
    }
    if (!r.target.empty() && r.target.front() == '/') {
        // The origin form, as nearly every request has it: split() would
        // find the same, after looking for a query.
        return r.version.minor >= 1 && host.empty() ? 400 : 0;
    }
    const http_target::parts target = http_target::split(r.target);
    switch (target.form) {
        case http::target_form::origin:
        case http::target_form::asterisk:
            if (target.form == http::target_form::asterisk && r.method != "OPTIONS") {
                return 400;
            }
            if (r.version.minor >= 1 && host.empty()) {
                return 400;
            }
            return 0;
        case http::target_form::authority:
            return 400;
        case http::target_form::absolute:
            break;
    }
    const std::string_view scheme = std::string_view(r.target).substr(0, r.target.find(':'));
    if (!http_grammar::iequals(scheme, "http") && !http_grammar::iequals(scheme, "https")) {
        return 400;
    }
    if (!valid_host(target.authority) || host_part(target.authority).empty()) {
        return 400;
    }
    if (r.version.minor >= 1 && host_count == 0) {
        return 400;  // §3.2: every HTTP/1.1 request carries Host, even one that overrides it
    }
    r.headers.set("Host", std::string(target.authority));
    return 0;
}

/// Appends `r` to `out` as one wire message, its fields checked and
/// measured first, then written into one resize of `out`: the status line and the handler's fields as http::append_response_head
/// writes them (the same checks), except Connection, which the server owns;
/// then Content-Length when the handler set no framing, Connection, Date and
/// Server; then the body unless `head_only` or the status forbids one.
/// Returns whether the connection stays open: `keep_alive`, unless the
/// handler's Connection field lists "close". Throws std::invalid_argument
/// (malformed status, reason or field) leaving `out` as it was.
///
/// A streamed body (r.body_stream) is left to the caller; its framing is
/// chosen here: chunked (`*chunk_stream` set) for an HTTP/1.1 request when
/// the handler set none, else the handler's own, else (HTTP/1.0) the
/// connection's close, which makes the result false.
inline bool append_response(state& st, std::string& out, const http::response& r, bool head_only, bool keep_alive,
                            bool keep_alive_1_0, bool request_1_1 = true, bool* chunk_stream = nullptr) {
    namespace wire = http_wire;
    if (r.status < 100 || r.status > 999) {
        throw std::invalid_argument("corio::http: status " + std::to_string(r.status) + " is not three digits");
    }
    if (wire::breaks_line(r.reason)) {
        throw std::invalid_argument("corio::http: reason phrase holds CR, LF or NUL");
    }
    // The status line: cached when standard, else written in place.
    const bool standard_line = r.reason.empty() && r.version == http::http_version{1, 1};
    const std::string_view status_line = standard_line ? st.standard_status_line(r.status) : std::string_view();
    const std::string_view reason = standard_line       ? std::string_view()
                                    : r.reason.empty() ? http::reason_phrase(r.status)
                                                       : std::string_view(r.reason);
    // A first pass checks and measures the fields, so the head is written
    // into one piece of `out` sized once (no append, with its capacity check
    // and call, per piece) and nothing is written when a field is refused.
    bool framing = false;
    bool has_server = false;
    // A 101 switching protocols keeps the handler's "Connection: Upgrade".
    const bool switching = r.status == 101 && r.upgrade != nullptr;
    std::size_t fields_size = 0;
    for (const http::header_field& field : r.headers) {
        const std::string_view name = field.name;
        switch (name.size()) {
            case 10:
                if (!switching && http_grammar::iequals(name, "Connection")) {
                    if (http_grammar::list_has_token(field.value, "close")) {
                        keep_alive = false;
                    }
                    continue;  // the server decides about the connection
                }
                break;
            case 14:
                framing = framing || http_grammar::iequals(name, "Content-Length");
                break;
            case 17:
                framing = framing || http_grammar::iequals(name, "Transfer-Encoding");
                break;
            case 6:
                has_server = has_server || http_grammar::iequals(name, "Server");
                break;
            default:
                break;
        }
        wire::check_field(field);
        fields_size += name.size() + field.value.size() + 4;
    }
    const bool no_body = http_grammar::status_forbids_body(r.status);
    const bool streamed = r.body_stream != nullptr;
    const bool from_file = r.body_file.has_value();
    enum class length_field { none, fixed, chunked };
    length_field length = length_field::none;
    std::uint64_t length_value = 0;
    if (!no_body && !framing) {
        if (from_file) {
            length = length_field::fixed;
            length_value = r.body_file->length;
        } else if (!streamed) {
            length = length_field::fixed;
            length_value = r.body.size();
        } else if (request_1_1) {
            length = length_field::chunked;
            if (chunk_stream != nullptr) {
                *chunk_stream = true;
            }
        } else {
            keep_alive = false;  // HTTP/1.0 knows no chunks: the close ends the body
        }
    }
    std::string_view connection;
    if (switching) {
    } else if (!keep_alive) {
        connection = "Connection: close\r\n";
    } else if (keep_alive_1_0) {
        connection = "Connection: keep-alive\r\n";
    }
    const std::string_view date = st.options.date_header ? std::string_view(st.date()) : std::string_view();
    const std::string_view server_name = has_server ? std::string_view() : std::string_view(st.options.server_name);
    const bool with_body = !head_only && !no_body && !streamed && !from_file;
    const std::string_view body = with_body ? std::string_view(r.body) : std::string_view();
    // A large body is appended after the head rather than sized in with it
    // (resize would clear its bytes before they are copied).
    const std::string_view inline_body = body.size() <= 16 * 1024 ? body : std::string_view();

    constexpr std::string_view content_length = "Content-Length: ";
    constexpr std::string_view transfer_chunked = "Transfer-Encoding: chunked\r\n";
    constexpr std::string_view server_prefix = "Server: ";
    const std::size_t bound = status_line.size() + 13 + reason.size() + 2 + fields_size + content_length.size() + 20 + 2 +
                              transfer_chunked.size() + connection.size() + date.size() + server_prefix.size() +
                              server_name.size() + 2 + 2 + inline_body.size();
    const std::size_t start = out.size();
    out.resize(start + bound);
    char* p = out.data() + start;
    const auto put = [&p](std::string_view piece) noexcept {
        if (!piece.empty()) {
            std::memcpy(p, piece.data(), piece.size());
            p += piece.size();
        }
    };
    if (standard_line) {
        put(status_line);
    } else {
        wire::format_version(p, r.version);  // "HTTP/x.y NNN "
        p[8] = ' ';
        p[9] = static_cast<char>('0' + r.status / 100);
        p[10] = static_cast<char>('0' + r.status / 10 % 10);
        p[11] = static_cast<char>('0' + r.status % 10);
        p[12] = ' ';
        p += 13;
        put(reason);
        *p++ = '\r';
        *p++ = '\n';
    }
    for (const http::header_field& field : r.headers) {
        if (!switching && field.name.size() == 10 && http_grammar::iequals(field.name, "Connection")) {
            continue;
        }
        put(field.name);
        *p++ = ':';
        *p++ = ' ';
        put(field.value);
        *p++ = '\r';
        *p++ = '\n';
    }
    if (length == length_field::fixed) {
        put(content_length);
        p = std::to_chars(p, p + 20, length_value).ptr;
        *p++ = '\r';
        *p++ = '\n';
    } else if (length == length_field::chunked) {
        put(transfer_chunked);
    }
    put(connection);
    put(date);
    if (!server_name.empty()) {
        put(server_prefix);
        put(server_name);
        *p++ = '\r';
        *p++ = '\n';
    }
    *p++ = '\r';
    *p++ = '\n';
    put(inline_body);
    out.resize(static_cast<std::size_t>(p - out.data()));
    if (inline_body.size() != body.size()) {
        out += body;
    }
    return keep_alive;
}

/// Appends a small error response that closes the connection; `head_only`:
/// it answers a HEAD request, so its body is left out (RFC 9112 §6.3).
inline void append_error(state& st, std::string& out, int status, bool head_only) {
    const http::response r = http::text_response(status, std::string(http::reason_phrase(status)) + "\n");
    append_response(st, out, r, head_only, false, false);
}

/// Reads and drops what the client still sends, until it closes or the cap is
/// reached: closing a socket with unread input makes the kernel send a reset,
/// which can destroy the error response before the client reads it.
CORIO_HEADER_COROUTINE inline task<void> drain(http_connection_stream& stream, std::span<char> buffer) {
    std::size_t total = 0;
    while (total < 1024 * 1024) {
        const std::size_t n = co_await stream.read_some(std::as_writable_bytes(buffer));
        if (n == 0) {
            break;
        }
        total += n;
    }
}

/// Writes `out` (the final bytes, ending in an error response or a
/// Connection: close response), half-closes, and lingers briefly reading
/// what the client still sends. Never throws except cancelled_error.
CORIO_HEADER_COROUTINE inline task<void> finish_and_close(http_connection_stream& stream, std::string& out,
                                                          std::span<char> buffer, bool linger) {
    bool ok = true;
    try {
        if (!out.empty()) {
            co_await stream.write(std::string_view(out));
        }
        out.clear();
        co_await stream.shutdown_write();
    } catch (const connection_failure&) {
        ok = false;
    }
    if (ok && linger) {
        try {
            co_await corio::wait_for(drain(stream, buffer), std::chrono::milliseconds(500));
        } catch (const std::exception&) {
            // Timed out or reset: either way the connection is done.
        }
    }
    stream.close();
}

/// The body_reader a handler gets for a streamed request body: the
/// connection's parser decodes pieces straight out of the connection's read
/// buffer (no copy, nothing held beyond one buffer), which it refills only
/// when everything in it is parsed. Bytes after the body (a pipelined request)
/// stay in the buffer for the connection.
class connection_body_reader final : public http::body_reader {
public:
    /// What it borrows from the connection coroutine (which outlives it).
    struct connection {
        http_connection_stream& stream;
        http::request_parser& parser;
        std::span<char> buffer;
        std::size_t& begin;  // unparsed bytes are buffer[begin, end)
        std::size_t& end;
        std::string& out;  // responses to earlier requests, not written yet
    };

    /// `send_continue`: the client waits for "100 Continue" before sending
    /// the body; `timeout` bounds each wait for bytes.
    connection_body_reader(connection c, std::chrono::milliseconds timeout, bool send_continue,
                           std::optional<std::uint64_t> length, std::uint64_t limit) noexcept
        : m_c(c), m_timeout(timeout), m_awaiting_invitation(send_continue) {
        describe(length, limit);
    }

    /// The parser has seen the whole body.
    [[nodiscard]] bool complete() const noexcept { return m_complete; }
    /// A read failed: the framing is lost (or the client is gone), the connection cannot go on.
    [[nodiscard]] bool failed() const noexcept { return m_failure != nullptr; }
    /// The status answering that failure (0: the client is gone, answer nothing).
    [[nodiscard]] int failure_status() const noexcept { return m_failure_status; }
    /// The client was told to send the body (or sent it unasked).
    [[nodiscard]] bool invited() const noexcept { return !m_awaiting_invitation; }

    /// After the handler: reads and drops what is left of the body, unless
    /// that is known to pass `cap` bytes. Returns whether the body ended (so
    /// the connection can carry another request).
    CORIO_HEADER_COROUTINE task<bool> discard_rest(std::uint64_t cap) {
        if (m_complete) {
            co_return true;
        }
        if (failed() || m_awaiting_invitation) {
            co_return false;  // a client never invited may or may not send the body: only a close is clear
        }
        if (const std::optional<std::uint64_t> length = content_length(); length && *length - bytes_read() > cap) {
            co_return false;
        }
        std::uint64_t dropped = 0;
        try {
            while (!m_complete && dropped <= cap) {
                dropped += (co_await next_piece()).size();
            }
        } catch (const cancelled_error&) {
            throw;
        } catch (...) {
            co_return false;
        }
        co_return m_complete;
    }

protected:
    CORIO_HEADER_COROUTINE task<std::string_view> next_piece() override {
        if (m_failure) {
            std::rethrow_exception(m_failure);
        }
        for (;;) {
            if (m_complete) {
                ended();
                co_return std::string_view{};
            }
            // Also with nothing buffered: a body whose last byte came with the
            // previous piece completes without more input.
            http::parse_result result;
            try {
                result = m_c.parser.feed(std::span<const char>(m_c.buffer.data() + m_c.begin, m_c.end - m_c.begin));
            } catch (const http::protocol_error& error) {
                fail_framing(error);
            }
            m_c.begin += result.consumed;
            if (result.status == http::parse_status::body_chunk) {
                returned(result.body.size());
                co_return std::string_view(result.body.data(), result.body.size());
            }
            if (result.status == http::parse_status::message_complete) {
                m_complete = true;
                continue;
            }
            co_await fill();  // need_more: the buffer is all parsed
        }
    }

private:
    /// Refills the (wholly parsed) buffer with one read, after writing the
    /// responses waiting in `out` and, once, the 100 Continue.
    CORIO_HEADER_COROUTINE task<void> fill() {
        if (m_awaiting_invitation) {
            m_c.out += "HTTP/1.1 100 Continue\r\n\r\n";
            m_awaiting_invitation = false;
        }
        bool broken = false;
        std::string why;
        if (!m_c.out.empty()) {
            try {
                co_await m_c.stream.write(std::string_view(m_c.out));
                m_c.out.clear();
            } catch (const connection_failure& error) {
                broken = true;
                why = error.what();
            }
        }
        std::size_t n = 0;
        bool timed_out = false;
        if (!broken) {
            timeout_scope deadline = co_await corio::timeout(m_timeout);
            try {
                n = co_await m_c.stream.read_some(std::as_writable_bytes(m_c.buffer));
            } catch (const timeout_expired&) {
                if (!deadline.expired()) {
                    throw;  // an enclosing scope's deadline: not ours to answer
                }
                timed_out = true;
            } catch (const connection_failure& error) {
                broken = true;
                why = error.what();
            }
        }
        if (timed_out) {
            gave_up();
            m_failure_status = 408;
            m_failure = std::make_exception_ptr(timeout_error(
                "corio http server: no request body byte within body_timeout (" + std::to_string(m_timeout.count()) +
                " ms) after " + std::to_string(bytes_read()) + " bytes"));
            std::rethrow_exception(m_failure);
        }
        if (broken || n == 0) {
            m_failure_status = 0;
            std::string problem = "the client closed the connection after " + std::to_string(bytes_read());
            if (const std::optional<std::uint64_t> length = content_length()) {
                problem += " of " + std::to_string(*length);
            }
            problem += " request body bytes";
            if (broken) {
                problem += " (" + why + ")";
            }
            m_failure = std::make_exception_ptr(
                http::request_body_error(http::protocol_error::kind::incomplete_message, problem, bytes_read()));
            std::rethrow_exception(m_failure);
        }
        m_c.begin = 0;
        m_c.end = n;
    }

    [[noreturn]] void fail_framing(const http::protocol_error& error) {
        const bool too_large = error.error_kind() == http::protocol_error::kind::body_too_large;
        m_failure_status = too_large ? 413 : 400;
        const std::string problem =
            too_large ? "request body larger than its limit of " + std::to_string(limit()) + " bytes"
                      : std::string("malformed request body framing (") + error.what() + ")";
        m_failure = std::make_exception_ptr(http::request_body_error(
            too_large ? error.error_kind() : http::protocol_error::kind::bad_message, problem, error.offset()));
        std::rethrow_exception(m_failure);
    }

    connection m_c;
    std::chrono::milliseconds m_timeout;
    bool m_awaiting_invitation;  // the 100 Continue is still to be sent at the first wait
    bool m_complete = false;
    std::exception_ptr m_failure;  // thrown again by every later read
    int m_failure_status = 0;
};

/// Resumes when the client is gone (FIN, reset, or the stream closed) while a
/// streamed body is written. Bytes the client sends meanwhile (a pipelined
/// request) are left for the connection to read afterwards; from then on only
/// a failing write can tell that the client went away.
CORIO_HEADER_COROUTINE inline task<void> wait_client_gone(http_connection_stream& stream) {
    for (;;) {
        const pending_input input = stream.peek_input();
        if (input == pending_input::end) {
            co_return;
        }
        if (input == pending_input::bytes) {
            break;
        }
        try {
            co_await stream.wait_readable();
        } catch (const connection_failure&) {
            co_return;  // closed under us (server shutdown)
        }
    }
    event never;
    co_await never.wait();
}

/// Writes what `body` yields, chunk-framed when `chunked`, ending a chunked
/// body with its last chunk. Returns false when the connection cannot go on:
/// a write failed, or the generator threw (reported to the loop's exception
/// handler; the body is left unfinished so the client sees it cut).
CORIO_HEADER_COROUTINE inline task<bool> pump_body(state& st, http_connection_stream& stream,
                                                  async_generator<std::string>& body, bool chunked,
                                                  const http::request& r) {
    std::string frame;
    for (;;) {
        std::optional<std::string> piece;
        std::exception_ptr failure;
        try {
            piece = co_await body.next();
        } catch (const cancelled_error&) {
            throw;
        } catch (...) {
            failure = std::current_exception();
        }
        if (failure) {
            st.loop->call_exception_handler(
                {"corio http server: body stream for " + r.method + " " + r.target + " failed; connection closed",
                 failure});
            co_return false;
        }
        if (!piece) {
            break;
        }
        if (piece->empty()) {
            continue;  // an empty chunk would end the body
        }
        std::string_view bytes = *piece;
        if (chunked) {
            frame.clear();
            http::append_chunk(frame, bytes);
            bytes = frame;
        }
        try {
            co_await stream.write(bytes);
        } catch (const connection_failure&) {
            co_return false;
        }
    }
    if (chunked) {
        try {
            co_await stream.write(std::string_view("0\r\n\r\n"));
        } catch (const connection_failure&) {
            co_return false;
        }
    }
    co_return true;
}

/// Sends `out` (ending with a streamed response's head), then the body from
/// `body`, while watching for the client to go away: then the generator is
/// cancelled where it waits. Returns whether the connection can go on.
CORIO_HEADER_COROUTINE inline task<bool> send_streamed(state& st, http_connection_stream& stream, std::string& out,
                                                      async_generator<std::string>& body, bool chunked,
                                                      const http::request& r) {
    try {
        co_await stream.write(std::string_view(out));
    } catch (const connection_failure&) {
        co_return false;
    }
    out.clear();
    auto first = co_await corio::wait_any(pump_body(st, stream, body, chunked, r), wait_client_gone(stream));
    co_return first.index == 0 && std::get<0>(first.value);
}

/// Serves one connection: requests are parsed from one reusable buffer and
/// answered in order; responses to pipelined requests already buffered are
/// batched into one write.
CORIO_HEADER_COROUTINE inline task<void> serve_connection(std::shared_ptr<state> st, http_connection_stream stream) {
    using clock = event_loop::clock;
    connection_record record;
    record.stream = &stream;
    st->connections.push_back(record);
    struct unlink {
        state& st;
        connection_record& record;
        ~unlink() { st.connections.erase(record); }
    } leave{*st, record};
    ++st->connections_accepted;
    st->room_wanted = false;  // the client the room was wanted for (if any) is in
    if (st->shutting_down) {
        co_return;
    }

    const settings& options = st->options;
    // With a stream_body policy a request's body limit is chosen at its
    // head (checked against Content-Length there): the parser's own check
    // of a declared length would come first, with the wrong limit.
    http::parser_limits parser_limits = options.limits;
    if (options.stream_body) {
        parser_limits.max_body_size = std::numeric_limits<std::uint64_t>::max();
    }
    http::request_parser parser(parser_limits);
    const std::size_t buffer_size = options.read_buffer_size < 512 ? 512 : options.read_buffer_size;
    std::unique_ptr<char[]> storage(new char[buffer_size]);
    const std::span<char> buffer(storage.get(), buffer_size);
    std::size_t begin = 0;  // unparsed bytes are buffer[begin, end)
    std::size_t end = 0;
    std::string out;  // responses not written yet
    out.reserve(4096);

    // The deadline of the read in progress (none between reads).
    timeout_scope read_deadline = co_await corio::timeout(std::nullopt);

    enum class phase { idle, head, body };
    phase at = phase::idle;
    bool fresh = true;  // no request yet on this connection
    clock::time_point head_deadline = clock::now() + options.header_timeout;
    clock::time_point body_deadline{};  // the whole body by then, counted from the end of its head
    // The reader of the body being streamed to the handler (one at a time).
    std::optional<connection_body_reader> streamed;
    bool body_left = false;  // a streamed body was left unread: a close then lingers
    std::string known_host;  // the Host value last found valid (see check_head)
    // Whether an error answers a HEAD request: known once its request line is parsed.
    auto answering_head = [&] {
        return parser.start_line_parsed() && http_grammar::is_head(parser.message().method);
    };

    for (;;) {
        // Parse what is buffered; answer each complete request.
        int error_status = 0;
        bool close_after = false;
        // After headers_complete the parser may complete the message without
        // consuming a byte (no body): feed it again even with nothing left.
        bool feed_again = false;
        while (begin < end || std::exchange(feed_again, false)) {
            http::parse_result result;
            try {
                result = parser.feed(std::span<const char>(buffer.data() + begin, end - begin));
            } catch (const http::protocol_error& error) {
                error_status = status_for(error.error_kind());
                if (error_status == 0) {
                    error_status = 400;
                }
                break;
            }
            begin += result.consumed;
            if (result.status == http::parse_status::need_more) {
                if (at == phase::idle && !parser.idle()) {
                    at = phase::head;
                    if (!fresh) {
                        head_deadline = clock::now() + options.header_timeout;
                    }
                }
                continue;
            }
            if (result.status == http::parse_status::headers_complete) {
                at = phase::body;
                if (parser.chunked() || parser.content_length().value_or(0) > 0) {
                    body_deadline = clock::now() + options.body_timeout;  // none to wait for otherwise
                }
                feed_again = true;
                http::request& r = parser.message();
                error_status = check_head(r, known_host);
                if (error_status != 0) {
                    break;
                }
                bool invite = false;
                if (const auto expect = r.headers.get("Expect")) {
                    if (!http_grammar::iequals(*expect, "100-continue")) {
                        error_status = 417;
                        break;
                    }
                    // The client waits for this before sending the body; a
                    // body already on its way needs no invitation.
                    invite = r.version.minor >= 1 && begin == end &&
                             (parser.chunked() || parser.content_length().value_or(0) > 0);
                }
                if (options.stream_body) {
                    std::optional<std::uint64_t> stream_limit;
                    if (!parser.upgrade()) {
                        stream_limit = options.stream_body(r);
                    }
                    const std::uint64_t limit = stream_limit.value_or(options.limits.max_body_size);
                    if (parser.content_length().value_or(0) > limit) {
                        error_status = 413;
                        break;
                    }
                    parser.set_max_body_size(limit);
                    if (stream_limit) {
                        // The handler runs now and reads the body itself;
                        // the 100 Continue waits for its first read.
                        parser.set_body_mode(http::body_mode::stream);
                        streamed.emplace(connection_body_reader::connection{stream, parser, buffer, begin, end, out},
                                         options.body_timeout, invite,
                                         parser.chunked() ? std::nullopt : parser.content_length(), limit);
                        r.streamed_body = &*streamed;
                        feed_again = false;
                    }
                }
                if (!streamed) {
                    if (invite) {
                        out += "HTTP/1.1 100 Continue\r\n\r\n";
                    }
                    continue;
                }
            } else if (result.status != http::parse_status::message_complete) {
                continue;  // body_chunk: not in accumulate mode
            }
            // A whole request: answer it. The handler is called here rather
            // than through a wrapper coroutine: one frame less per request.
            http::request& r = parser.message();
            const bool head_only = http_grammar::is_head(r.method);
            bool keep_alive = parser.keep_alive();
            const bool keep_alive_1_0 = keep_alive && r.version.minor == 0;
            // The answer is built where it is written (no response moved
            // out to a variable first); a handler exception, or a response
            // append_response refuses, becomes a 500.
            std::exception_ptr failure;
            bool malformed = false;
            std::shared_ptr<http::protocol_switch> switch_to;
            std::shared_ptr<async_generator<std::string>> streaming;
            bool chunk_stream = false;
            std::optional<http::file_body> from_file;
            try {
                const http::response answer = co_await st->handler(r);
                if (streamed) {
                    const bool settled = co_await streamed->discard_rest(1024 * 1024);
                    keep_alive = keep_alive && settled;
                    body_left = !settled;
                }
                if (answer.status == 101 && answer.upgrade && parser.upgrade()) {
                    switch_to = answer.upgrade;
                }
                // Unless the handler switches protocols (a 101 with an
                // upgrade), the client of an Upgrade request may already be
                // sending the other protocol's bytes, which must not be
                // parsed as requests.
                keep_alive = keep_alive && !st->shutting_down && (!parser.upgrade() || switch_to);
                try {
                    keep_alive = append_response(*st, out, answer, head_only, keep_alive, keep_alive_1_0,
                                                 r.version.minor >= 1, &chunk_stream);
                    if (!head_only && !http_grammar::status_forbids_body(answer.status)) {
                        if (answer.body_file) {
                            from_file = answer.body_file;
                        } else if (answer.body_stream) {
                            streaming = answer.body_stream;
                        }
                    }
                } catch (const std::invalid_argument&) {
                    malformed = true;
                    failure = std::current_exception();
                    if (answer.headers.has_token("Connection", "close")) {
                        keep_alive = false;
                    }
                }
            } catch (const cancelled_error&) {
                throw;
            } catch (...) {
                failure = std::current_exception();
            }
            ++st->requests_served;
            if (streamed) {
                parser.set_body_mode(http::body_mode::accumulate);
                r.streamed_body = nullptr;
                if (failure && streamed->failed()) {
                    // The handler let the reader's error out: answered as
                    // the server answers a bad body, with a close.
                    const int status = streamed->failure_status();
                    streamed.reset();
                    if (status == 0) {
                        co_return;  // the client is gone
                    }
                    append_error(*st, out, status, answering_head());
                    co_await finish_and_close(stream, out, buffer, true);
                    co_return;
                }
                if (failure) {
                    // A 500 follows: the rest of the body can go only after
                    // it is known whether it ends.
                    const bool settled = co_await streamed->discard_rest(1024 * 1024);
                    keep_alive = keep_alive && settled;
                    body_left = !settled;
                }
                streamed.reset();
            }
            if (failure) {
                keep_alive = keep_alive && !st->shutting_down && !parser.upgrade();
                st->loop->call_exception_handler(
                    {"corio http server: handler for " + r.method + " " + r.target +
                         (malformed ? " returned a malformed response; answered 500" : " failed; answered 500"),
                     failure});
                const http::response internal_error = http::text_response(500, "Internal Server Error\n");
                keep_alive = append_response(*st, out, internal_error, head_only, keep_alive, keep_alive_1_0);
                switch_to.reset();
            }
            if (switch_to) {
                // The 101 goes out, then the connection belongs to the new
                // protocol until its task ends; bytes the client sent after
                // the request are its first input.
                try {
                    co_await stream.write(std::string_view(out));
                } catch (const connection_failure&) {
                    co_return;
                }
                out.clear();
                std::string leftover(buffer.data() + begin, end - begin);
                std::exception_ptr switched_failure;
                http::shutdown_notice notice;
                notice.requested = st->shutting_down;
                record.switched = &notice;
                try {
                    co_await switch_to->run(std::move(stream), std::move(leftover), r, notice);
                } catch (const cancelled_error&) {
                    record.switched = nullptr;
                    throw;
                } catch (...) {
                    switched_failure = std::current_exception();
                }
                record.switched = nullptr;
                if (switched_failure) {
                    st->loop->call_exception_handler(
                        {"corio http server: handler of the protocol switched to for " + r.target + " failed",
                         switched_failure});
                }
                co_return;
            }
            if (from_file) {
                // The head (and any responses before it) first, then the file.
                bool sent = true;
                try {
                    co_await stream.write(std::string_view(out));
                    out.clear();
                    co_await stream.send_file(from_file->file->fd, from_file->offset, from_file->length);
                } catch (const connection_failure&) {
                    sent = false;  // the client went away, or the file ended early: the body cannot be finished
                }
                from_file.reset();
                if (!sent) {
                    co_return;
                }
            }
            if (streaming) {
                const bool sent = co_await send_streamed(*st, stream, out, *streaming, chunk_stream, r);
                streaming.reset();  // the generator's frame ends here, on the connection's strand
                if (!sent) {
                    co_return;
                }
            }
            fresh = false;
            at = phase::idle;
            if (!keep_alive) {
                close_after = true;
                break;
            }
            if (out.size() >= 64 * 1024) {
                try {
                    co_await stream.write(std::string_view(out));
                } catch (const connection_failure&) {
                    co_return;
                }
                out.clear();
            }
        }
        if (error_status != 0) {
            append_error(*st, out, error_status, answering_head());
            co_await finish_and_close(stream, out, buffer, true);
            co_return;
        }
        if (close_after) {
            // Unread bytes (requests pipelined after this one, or a body
            // left unread) would turn the close into a reset: linger then.
            co_await finish_and_close(stream, out, buffer, begin < end || body_left);
            co_return;
        }

        // Everything buffered is parsed: send what is ready, then read.
        // One send takes a whole response most of the time: the write
        // coroutine only for what the kernel leaves.
        begin = end = 0;
        if (!out.empty()) {
            try {
                const std::size_t sent = stream.write_now(out);
                if (sent < out.size()) {
                    const std::string_view rest = std::string_view(out).substr(sent);
                    co_await stream.write(rest);
                }
            } catch (const connection_failure&) {
                co_return;
            }
            out.clear();
        }
        if (st->shutting_down && at == phase::idle) {
            co_return;
        }
        if (st->room_wanted && at == phase::idle && !fresh) {
            st->room_wanted = false;
            co_return;  // a client waits for room at max_connections: this idle connection makes it
        }
        // One deadline per phase, on one timeout scope armed only around the
        // read (the handler and the writes are not under it): no child task
        // and no timer of its own per read, as corio::wait_for would make.
        const clock::time_point now = clock::now();
        clock::time_point deadline{};
        switch (at) {
            case phase::idle:
                deadline = fresh ? head_deadline : now + options.keep_alive_timeout;
                break;
            case phase::head:
                deadline = head_deadline;
                break;
            case phase::body:
                deadline = body_deadline;
                break;
        }
        std::size_t n = 0;
        // Expired without a timeout_error when the deadline passed as a read
        // completed: the bytes were used, but the scope cannot be armed again.
        bool timed_out = deadline <= now || read_deadline.expired();
        std::optional<std::size_t> ready;  // the bytes, when they were already there
        if (!timed_out) {
            try {
                ready = stream.read_now(std::as_writable_bytes(buffer));
            } catch (const connection_failure&) {
                co_return;  // as from read_some below
            }
        }
        if (ready) {
            n = *ready;
        } else if (!timed_out) {
            record.idle = at == phase::idle;
            record.kept_alive = record.idle && !fresh;
            record.idle_since = now;
            read_deadline.reschedule(deadline);
            try {
                if (stream.reads_by_readiness()) {
                    // read_some's waits, without its coroutine frame.
                    do {
                        co_await stream.input_edge();
                        ready = stream.read_now(std::as_writable_bytes(buffer));
                    } while (!ready);
                    n = *ready;
                } else {
                    n = co_await stream.read_some(std::as_writable_bytes(buffer));
                }
            } catch (const timeout_error&) {
                timed_out = true;  // read_deadline expired (once: later awaits are not cancelled)
            } catch (const connection_failure&) {
                co_return;  // reset by the peer, or closed by a shutdown
            } catch (const cancelled_error&) {
                record.idle = false;
                throw;
            }
            record.idle = false;
            if (!timed_out && !read_deadline.expired()) {
                read_deadline.reschedule(std::nullopt);
            }
        }
        if (timed_out) {
            if (at == phase::idle) {
                co_return;  // idle: close without a word
            }
            append_error(*st, out, 408, answering_head());
            co_await finish_and_close(stream, out, buffer, true);
            co_return;
        }
        if (n == 0) {
            co_return;  // the client closed (mid-request or not: nobody to answer)
        }
        end = n;
    }
}

#if defined(CORIO_HTTP_HAS_TLS)
/// Serves one HTTPS connection: the TLS handshake (within header_timeout,
/// as the request head would be), then HTTP as over TCP. A failed or late
/// handshake closes the connection without a word (there is no channel to
/// send an HTTP error on).
CORIO_HEADER_COROUTINE inline task<void> serve_secured(std::shared_ptr<state> st, stream_socket socket) {
    std::optional<http_tls_stream> secured;
    try {
        auto handshake = tls::accept(std::move(socket), st->tls);
        secured.emplace(co_await corio::wait_for(std::move(handshake), st->options.header_timeout));
    } catch (const connection_failure&) {
        co_return;  // timeout_error, tls_error or a socket error: the client gets a close
    }
    co_await serve_connection(std::move(st), http_connection_stream(std::move(*secured)));
}
#endif

#endif  // CORIO_HTTP_DEFINITIONS

}  // namespace corio::detail::http_server
