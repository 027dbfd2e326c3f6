#pragma once

// The incremental HTTP/1.1 state machine behind http::request_parser and
// http::response_parser (declared, with the limits and events it uses, in
// corio/http/parser.hpp): line collection, start line, fields, framing
// (Content-Length, chunked, read until close), limits and error offsets.

#include <corio/http/detail/grammar.hpp>
#include <corio/http/errors.hpp>
#include <corio/http/message.hpp>
// parser.hpp declares the limits and events, then includes this file at its
// end; including this file first works too (parser.hpp forward-declares
// basic_parser for its aliases).
#include <corio/http/parser.hpp>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace corio::detail {

/// The incremental parser shared by request_parser and response_parser.
///
/// Usage: loop `r = p.feed(data); data = data.subspan(r.consumed);` and act on
/// r.status; need_more always means the whole input was consumed (partial lines
/// are buffered inside). Each call stops right after one event, so a buffer
/// holding pipelined messages yields them one by one. feed() may return an
/// event while consuming 0 bytes (e.g. message_complete right after
/// headers_complete for a body-less message): call it again with the same data.
///
/// Policies (RFC 9112; docs/http-conformance.md lists where they differ from
/// node's parsers and why):
/// - Lines end in CRLF; a bare LF or bare CR is an error (parsers that
///   disagree about line ends disagree about where a message ends).
/// - Up to 4 empty lines before a start line are skipped (§2.2: a stray CRLF
///   after a body is common); idle() stays true meanwhile, and a fifth in a
///   row is an error, so they cost the peer a 400 rather than nothing.
/// - Whitespace before ':', empty or non-token names and control characters
///   in values are errors; values are trimmed of SP/HTAB. obs-fold (§5.2) is
///   an error in a request and one SP in a response.
/// - Requests: more than one Host field, Transfer-Encoding with
///   Content-Length or in HTTP/1.0, or a final coding other than chunked are
///   errors (400); a coding other than chunked before it is not_implemented
///   (501: only chunked is decoded). A CONNECT request has no content.
/// - Responses: a final coding other than chunked runs until the close
///   (§6.3); chunked twice is an error; 1xx, 204, 304, answers to HEAD and 2xx
///   to CONNECT have no content.
/// - upgrade() tells when what follows a message is not HTTP. Trailer fields
///   are validated and exposed through trailers(), never merged into the
///   headers.
/// After a protocol_error the parser stays failed: feed() and finish() throw
/// the same error again.
///
/// Thread safety: none (one connection, one parser).
template <typename Message>
class basic_parser {
    static constexpr bool is_request = std::is_same_v<Message, http::request>;
    using error_kind = http::protocol_error::kind;

public:
    explicit basic_parser(http::parser_limits limits = {}) : m_limits(limits) {}

    /// Feeds bytes; returns how many were consumed and what is complete.
    /// Throws protocol_error on malformed input or a limit exceeded.
    http::parse_result feed(std::span<const char> input) {
        if (m_error)
            throw *m_error;
        if (m_state == state::done)
            begin_message();
        std::size_t i = 0;
        for (;;) {
            switch (m_state) {
                case state::body_done:
                    m_state = state::done;
                    return {i, http::parse_status::message_complete, {}};
                case state::done:
                    return {i, http::parse_status::message_complete, {}};
                case state::body_fixed:
                case state::chunk_data:
                case state::until_close: {
                    if (i == input.size())
                        return {i, http::parse_status::need_more, {}};
                    std::size_t n = input.size() - i;
                    if (m_state != state::until_close && n > m_remaining)
                        n = static_cast<std::size_t>(m_remaining);
                    if (m_state == state::until_close && n > m_body_limit - m_body_size) {
                        // Report the offset of the first byte past the limit, however the input was
                        // split.
                        m_offset += m_body_limit - m_body_size;
                        fail(error_kind::body_too_large, "body larger than max_body_size");
                    }
                    const std::span<const char> piece = input.subspan(i, n);
                    i += n;
                    m_offset += n;
                    if (m_state != state::until_close)
                        m_remaining -= n;
                    m_body_size += n;
                    if (m_state == state::body_fixed && m_remaining == 0)
                        m_state = state::body_done;
                    if (m_state == state::chunk_data && m_remaining == 0)
                        m_state = state::chunk_cr;
                    if (m_mode == http::body_mode::stream) {
                        if (n > 0)
                            return {i, http::parse_status::body_chunk, piece};
                    } else {
                        m_message.body.append(piece.data(), piece.size());
                    }
                    break;
                }
                case state::chunk_cr:
                case state::chunk_lf: {
                    if (i == input.size())
                        return {i, http::parse_status::need_more, {}};
                    const char c = input[i];
                    const char expected = m_state == state::chunk_cr ? '\r' : '\n';
                    if (c != expected)
                        fail(error_kind::bad_message, "expected CRLF after chunk data");
                    ++i;
                    ++m_offset;
                    m_state = m_state == state::chunk_cr ? state::chunk_lf : state::chunk_size;
                    break;
                }
                default: {
                    // Line-oriented states: collect one line, then act on it.
                    if (i == input.size())
                        return {i, http::parse_status::need_more, {}};
                    if (!m_saw_cr && !m_byte_by_byte) {
                        // Fast path: a line (or the start of one) that cannot
                        // hit a limit or an error is taken in one step, as a
                        // view of the input when it is whole there. Anything
                        // else goes byte by byte below, up to the end of that
                        // line: the slow path decides every error and its offset.
                        std::optional<http::parse_status> event;
                        if (take_line(input, i, event)) {
                            if (event)
                                return {i, *event, {}};
                            break;
                        }
                        if (i == input.size())
                            return {i, http::parse_status::need_more, {}};
                        m_byte_by_byte = true;
                    }
                    const char c = input[i];
                    if (in_header_section()) {
                        if (m_section_bytes >= m_limits.max_header_bytes)
                            fail(error_kind::headers_too_large,
                                 "header section larger than max_header_bytes");
                        ++m_section_bytes;
                    }
                    if (m_saw_cr) {
                        if (c != '\n')
                            fail(error_kind::bad_message, "bare CR in line");
                        ++i;
                        ++m_offset;
                        m_saw_cr = false;
                        m_byte_by_byte = false;
                        const auto event = on_line(m_line);
                        m_line.clear();
                        if (event)
                            return {i, *event, {}};
                        break;
                    }
                    if (c == '\n')
                        fail(error_kind::bad_message, "bare LF (lines must end in CRLF)");
                    if (c == '\r') {
                        m_saw_cr = true;
                    } else {
                        if (m_line.size() >= m_limits.max_line_length) {
                            fail(m_state == state::start_line && is_request
                                     ? error_kind::line_too_long
                                 : in_header_section() ? error_kind::headers_too_large
                                                       : error_kind::bad_message,
                                 "line longer than max_line_length");
                        }
                        m_line.push_back(c);
                    }
                    ++i;
                    ++m_offset;
                    break;
                }
            }
        }
    }

    /// Tells the parser the stream ended. Returns true when that completed a
    /// message (a response read until close), false when the stream ended
    /// cleanly between messages. Throws protocol_error(incomplete_message)
    /// when it ended inside a message.
    bool finish() {
        if (m_error)
            throw *m_error;
        if (m_state == state::until_close) {
            m_state = state::done;
            return true;
        }
        if (m_state == state::done)
            return false;
        if (idle())
            return false;
        if (m_state == state::body_done) {
            m_state = state::done;
            return true;
        }
        fail(error_kind::incomplete_message, "connection closed before the end of the message");
    }

    /// Selects how body bytes are delivered; may change at any time (e.g. after headers_complete).
    void set_body_mode(http::body_mode mode) noexcept { m_mode = mode; }
    [[nodiscard]] http::body_mode get_body_mode() const noexcept { return m_mode; }

    /// Replaces max_body_size for the current message's body from here on
    /// (call it at headers_complete: a declared Content-Length is checked
    /// against the constructor's limit before then, a chunked or
    /// read-until-close body against this one as it arrives). The next
    /// message starts with the constructor's limit again.
    void set_max_body_size(std::uint64_t limit) noexcept { m_body_limit = limit; }

    /// The message being parsed (start line and headers valid after headers_complete).
    [[nodiscard]] Message& message() noexcept { return m_message; }
    [[nodiscard]] const Message& message() const noexcept { return m_message; }
    /// Moves the message out (call after headers_complete or message_complete).
    [[nodiscard]] Message take_message() { return std::move(m_message); }
    /// Trailer fields of a chunked message (after message_complete).
    [[nodiscard]] const http::headers& trailers() const noexcept { return m_trailers; }

    /// After headers_complete: whether the connection may carry another message
    /// after this one: HTTP/1.1 unless "Connection: close", HTTP/1.0 only with
    /// "Connection: keep-alive"; never for a response delimited by the close.
    [[nodiscard]] bool keep_alive() const noexcept { return m_keep_alive; }
    /// After headers_complete: true when the body uses chunked transfer coding.
    [[nodiscard]] bool chunked() const noexcept { return m_chunked; }
    /// After headers_complete: the body length when known in advance (0 for no body).
    [[nodiscard]] std::optional<std::uint64_t> content_length() const noexcept {
        return m_content_length;
    }
    /// After headers_complete: true when the bytes after this message belong to
    /// another protocol: a CONNECT request (RFC 9110 §9.3.6), a request whose
    /// Connection field names "upgrade" and that has an Upgrade field (§7.8),
    /// a 101 response, or a 2xx answer to CONNECT. Stop feeding this parser
    /// after that message's message_complete: what follows is not HTTP.
    [[nodiscard]] bool upgrade() const noexcept { return m_upgrade; }
    /// After headers_complete: true when the body runs until the connection closes.
    [[nodiscard]] bool reads_until_close() const noexcept { return m_until_close; }
    /// True between messages: nothing of the next message received yet but
    /// the empty lines skipped before a start line.
    [[nodiscard]] bool idle() const noexcept {
        return m_state == state::done || (m_state == state::start_line && m_line.empty());
    }
    /// True once the current message's start line is parsed: its method and
    /// target (or status) are valid, also when a later line failed.
    [[nodiscard]] bool start_line_parsed() const noexcept { return m_state != state::start_line; }
    /// Decoded body bytes received so far for the current message.
    [[nodiscard]] std::uint64_t body_size() const noexcept { return m_body_size; }
    /// Total bytes consumed since construction.
    [[nodiscard]] std::uint64_t offset() const noexcept { return m_offset; }

    /// Response parser only: the method of the request this response answers
    /// (HEAD responses have no body; 2xx to CONNECT neither). Persists across
    /// messages until changed; set it before feeding each response.
    void set_request_method(std::string_view method) requires(!is_request) {
        m_request_method = std::string(method);
    }

private:
    // RFC 9112 §2.2 asks to ignore "at least one" empty line before a start line.
    static constexpr int max_empty_lines = 4;

    enum class state {
        start_line,
        header_line,
        body_fixed,
        chunk_size,
        chunk_data,
        chunk_cr,
        chunk_lf,
        trailer_line,
        until_close,
        body_done,
        done,
    };

    [[noreturn]] void fail(error_kind k, const std::string& problem) {
        m_error.emplace(k, problem, m_offset);
        throw *m_error;
    }

    bool in_header_section() const noexcept {
        return m_state == state::start_line || m_state == state::header_line ||
               m_state == state::trailer_line;
    }

    void begin_message() {
        reset_message();
        m_trailers.clear();
        m_state = state::start_line;
        m_line.clear();
        m_saw_cr = false;
        m_byte_by_byte = false;
        m_section_bytes = 0;
        m_field_count = 0;
        m_holding_field = false;
        m_empty_lines = 0;
        m_remaining = 0;
        m_body_size = 0;
        m_body_limit = m_limits.max_body_size;
        m_keep_alive = false;
        m_chunked = false;
        m_until_close = false;
        m_upgrade = false;
        m_content_length.reset();
    }

    /// m_message = Message{}, but keeping the storage of the header list and
    /// of a small body, so a keep-alive connection parses each request
    /// without allocating for it again. A request's method, target and
    /// fields are left to be written over by the next head (its event is the
    /// first moment they are valid).
    void reset_message() {
        static constexpr std::size_t kept_body_capacity = 16 * 1024;
        if constexpr (is_request) {
            // method and target stay: the request line sets both before any
            // event, and a keep-alive client sends the same ones again and
            // again (see assign_changed).
            m_message.path_params.clear();
            m_message.streamed_body = nullptr;
        } else {
            m_message.status = 200;
            m_message.reason.clear();
        }
        m_message.version = http::http_version{};
        // A request's fields are written over the previous request's
        // (header_list_access::put), the surplus dropped at the end of the
        // head: no strings made and freed per field and request.
        if constexpr (!is_request)
            m_message.headers.clear();
        if (m_message.body.capacity() > kept_body_capacity)
            std::string().swap(m_message.body);
        else
            m_message.body.clear();
    }

    /// Parses "HTTP/d.d" at the start of `s`.
    http::http_version parse_version(std::string_view s) {
        if (s.size() == 8 && std::memcmp(s.data(), "HTTP/1.1", 8) == 0)
            return {1, 1};  // nearly every message: one compare
        if (s.size() != 8 || s.substr(0, 5) != "HTTP/" || s[6] != '.' || s[5] < '0' || s[5] > '9' ||
            s[7] < '0' || s[7] > '9')
            fail(error_kind::bad_message, "malformed HTTP version");
        if (s[5] != '1')
            fail(error_kind::bad_message, "unsupported HTTP major version");
        return {s[5] - '0', s[7] - '0'};
    }

    /// The index in [s, s + n) of the first CR or LF (n when there is none);
    /// `clean` becomes false when a control character other than HTAB, or
    /// DEL, comes before it (one that no field value, reason phrase or
    /// request line may hold). Eight bytes per step where it can: every byte
    /// of every head goes through here.
    static std::size_t line_end(const char* s, std::size_t n, bool& clean) noexcept {
        std::size_t k = 0;
        if constexpr (std::endian::native == std::endian::little) {
            constexpr std::uint64_t ones = 0x0101010101010101ull;
            constexpr std::uint64_t highs = 0x8080808080808080ull;
            while (k + 8 <= n) {
                std::uint64_t word;
                std::memcpy(&word, s + k, 8);
                // High bit of each byte below 0x20, and of each DEL; a borrow
                // can mark bytes after a marked one, never before it, so the
                // lowest mark is a true one.
                const std::uint64_t del = word ^ (ones * 0x7F);
                const std::uint64_t marks = (((word - ones * 0x20) & ~word) | ((del - ones) & ~del)) & highs;
                if (marks == 0) {
                    k += 8;
                    continue;
                }
                k += static_cast<std::size_t>(std::countr_zero(marks)) / 8;
                const char c = s[k];
                if (c == '\r' || c == '\n')
                    return k;
                if (c != '\t')
                    clean = false;
                ++k;
            }
        }
        for (; k < n; ++k) {
            const auto u = static_cast<unsigned char>(s[k]);
            if (u < 0x20 || u == 0x7F) {
                if (u == '\r' || u == '\n')
                    return k;
                if (u != '\t')
                    clean = false;
            }
        }
        return n;
    }

    /// Fast path of feed() for a line-oriented state, at input[i] with no CR
    /// pending. When the bytes up to the next CRLF (or all of the input, when
    /// no CR comes) are ordinary line bytes within max_line_length and
    /// max_header_bytes, consumes them: a whole line goes to on_line as a view
    /// of `input` (or of m_line plus the piece, when the line began in an
    /// earlier feed) and true is returned with on_line's event; a partial line
    /// is appended to m_line. Leaves `i` alone when the bytes need the
    /// byte-by-byte path: a bare LF or CR, a limit reached, or a CR ending the input.
    bool take_line(std::span<const char> input, std::size_t& i, std::optional<http::parse_status>& event) {
        const char* const start = input.data() + i;
        const std::size_t available = input.size() - i;
        bool clean = true;
        const std::size_t length = line_end(start, available, clean);
        const bool cr = length != available;
        if (cr && start[length] == '\n')
            return false;
        if (m_line.size() + length > m_limits.max_line_length)
            return false;
        const bool whole = cr && length + 1 < available && start[length + 1] == '\n';
        if (cr && !whole)
            return false;
        const std::size_t taken = whole ? length + 2 : length;
        if (in_header_section()) {
            if (m_section_bytes + taken > m_limits.max_header_bytes)
                return false;
            m_section_bytes += taken;
        }
        i += taken;
        m_offset += taken;
        if (!whole) {
            m_line.append(start, length);
            return false;
        }
        if (m_line.empty()) {
            event = on_line(std::string_view(start, length), clean);
        } else {
            m_line.append(start, length);
            event = on_line(m_line);
            m_line.clear();
        }
        return true;
    }

    /// Called with a complete line (without CRLF); returns an event to report,
    /// if any. `clean`: line_end found no byte a field value may not hold.
    std::optional<http::parse_status> on_line(std::string_view line, bool clean = false) {
        switch (m_state) {
            case state::start_line:
                if (line.empty()) {
                    if (m_empty_lines < max_empty_lines) {
                        ++m_empty_lines;
                        return std::nullopt;
                    }
                    fail(error_kind::bad_message, "empty start line");
                }
                parse_start_line(line, clean);
                m_state = state::header_line;
                return std::nullopt;
            case state::header_line:
                if (line.empty()) {
                    commit_held_field(m_message.headers);
                    return headers_done();
                }
                parse_field(line, m_message.headers, clean);
                return std::nullopt;
            case state::trailer_line:
                if (line.empty()) {
                    commit_held_field(m_trailers);
                    m_state = state::done;
                    return http::parse_status::message_complete;
                }
                parse_field(line, m_trailers, clean);
                return std::nullopt;
            case state::chunk_size:
                parse_chunk_size(line);
                return std::nullopt;
            default:
                fail(error_kind::bad_message, "internal parser state error");
        }
    }

    void parse_start_line(std::string_view line, bool clean) {
        if constexpr (is_request) {
            // One pass: the method's tchars up to SP, then the target's
            // visible bytes up to SP. A line that is not that takes the
            // checks below, which refuse it with the first problem's message.
            std::size_t sp1 = 0;
            while (sp1 < line.size() && http_grammar::is_token_char(line[sp1]))
                ++sp1;
            std::size_t sp2 = sp1 + 1;
            if (sp1 != 0 && sp1 < line.size() && line[sp1] == ' ') {
                while (sp2 < line.size()) {
                    const auto u = static_cast<unsigned char>(line[sp2]);
                    if (u <= 0x20 || u >= 0x7F)
                        break;
                    ++sp2;
                }
            }
            if (sp1 == 0 || sp2 == sp1 + 1 || sp2 >= line.size() || line[sp2] != ' ') {
                sp1 = line.find(' ');
                if (sp1 == std::string_view::npos)
                    fail(error_kind::bad_message, "malformed start line");
                sp2 = line.find(' ', sp1 + 1);
                if (sp2 == std::string_view::npos)
                    fail(error_kind::bad_message, "malformed request line");
                if (!http_grammar::is_token(line.substr(0, sp1)))
                    fail(error_kind::bad_message, "invalid method");
                if (sp2 == sp1 + 1)
                    fail(error_kind::bad_message, "empty request-target");
                for (const char c : line.substr(sp1 + 1, sp2 - sp1 - 1)) {
                    const auto u = static_cast<unsigned char>(c);
                    if (u <= 0x20 || u >= 0x7F)
                        fail(error_kind::bad_message, "invalid character in request-target");
                }
            }
            const std::string_view method(line.data(), sp1);
            const std::string_view target(line.data() + sp1 + 1, sp2 - sp1 - 1);
            m_message.version = parse_version(std::string_view(line.data() + sp2 + 1, line.size() - sp2 - 1));
            header_list_access::assign_changed(m_message.method, method);
            header_list_access::assign_changed(m_message.target, target);
        } else {
            const std::size_t sp1 = line.find(' ');
            if (sp1 == std::string_view::npos)
                fail(error_kind::bad_message, "malformed start line");
            m_message.version = parse_version(line.substr(0, sp1));
            const std::string_view rest = line.substr(sp1 + 1);
            if (rest.size() < 3 || (rest.size() > 3 && rest[3] != ' '))
                fail(error_kind::bad_message, "malformed status code");
            int status = 0;
            for (std::size_t k = 0; k < 3; ++k) {
                if (rest[k] < '0' || rest[k] > '9')
                    fail(error_kind::bad_message, "malformed status code");
                status = status * 10 + (rest[k] - '0');
            }
            if (status < 100 || status > 599)
                fail(error_kind::bad_message, "status code out of range");
            const std::string_view reason = rest.size() > 3 ? rest.substr(4) : std::string_view{};
            if (!clean)
                for (const char c : reason)
                    if (!http_grammar::is_field_char(c))
                        fail(error_kind::bad_message, "invalid character in reason phrase");
            m_message.status = status;
            m_message.reason = std::string(reason);
        }
    }

    void parse_field(std::string_view line, http::headers& into, bool clean) {
        if (line[0] == ' ' || line[0] == '\t') {
            if constexpr (is_request) {
                fail(error_kind::bad_message, "obsolete line folding (obs-fold) in a request");
            } else {
                unfold_into_held_field(line);
                return;
            }
        }
        // One pass over the name's tchars to the ':'. A line that is not
        // `token ":"` takes the checks below, which refuse it with the first
        // problem's message.
        std::size_t colon = 0;
        while (colon < line.size() && http_grammar::is_token_char(line[colon]))
            ++colon;
        if (colon == 0 || colon == line.size() || line[colon] != ':') {
            colon = line.find(':');
            if (colon == std::string_view::npos)
                fail(error_kind::bad_message, "header line without ':'");
            const std::string_view name = line.substr(0, colon);
            if (name.empty())
                fail(error_kind::bad_message, "empty header name");
            if (name.back() == ' ' || name.back() == '\t')
                fail(error_kind::bad_message, "whitespace between header name and ':'");
            if (!http_grammar::is_token(name))
                fail(error_kind::bad_message, "invalid character in header name");
        }
        const std::string_view name(line.data(), colon);
        const std::string_view value =
            http_grammar::trim_ows(std::string_view(line.data() + colon + 1, line.size() - colon - 1));
        if (!clean)
            for (const char c : value)
                if (!http_grammar::is_field_char(c))
                    fail(error_kind::bad_message, "invalid character in header value");
        if (++m_field_count > m_limits.max_header_count)
            fail(error_kind::headers_too_large, "more header fields than max_header_count");
        if constexpr (is_request) {
            if (&into == &m_message.headers)
                header_list_access::put(into, m_field_count - 1, name, value);
            else
                header_list_access::append(into, name, value);
        } else {
            // Held back until the next line shows whether an obs-fold continues it.
            commit_held_field(into);
            m_held_name.assign(name);
            m_held_value.assign(value);
            m_holding_field = true;
        }
    }

    /// Response parser: a line starting with SP/HTAB continues the held field;
    /// the fold becomes one SP (RFC 9112 §5.2).
    void unfold_into_held_field(std::string_view line) {
        if (!m_holding_field)
            fail(error_kind::bad_message, "whitespace before the first field line");
        const std::string_view more = http_grammar::trim_ows(line);
        for (const char c : more)
            if (!http_grammar::is_field_char(c))
                fail(error_kind::bad_message, "invalid character in header value");
        if (more.empty())
            return;
        if (!m_held_value.empty())
            m_held_value += ' ';
        m_held_value += more;
    }

    void commit_held_field(http::headers& into) {
        if (m_holding_field) {
            m_holding_field = false;
            into.add(std::move(m_held_name), std::move(m_held_value));
            m_held_name.clear();
            m_held_value.clear();
        }
    }

    /// Parses a Content-Length value: digits, or a list of identical digit runs.
    std::uint64_t parse_content_length(std::string_view value) {
        std::optional<std::uint64_t> result;
        while (true) {
            const std::size_t comma = value.find(',');
            const std::string_view item = http_grammar::trim_ows(value.substr(0, comma));
            if (item.empty())
                fail(error_kind::bad_message, "empty Content-Length");
            std::uint64_t n = 0;
            for (const char c : item) {
                if (c < '0' || c > '9')
                    fail(error_kind::bad_message, "Content-Length is not a number");
                const auto digit = static_cast<std::uint64_t>(c - '0');
                if (n > (std::numeric_limits<std::uint64_t>::max() - digit) / 10)
                    fail(error_kind::bad_message, "Content-Length overflows");
                n = n * 10 + digit;
            }
            if (result && *result != n)
                fail(error_kind::bad_message, "conflicting Content-Length values");
            result = n;
            if (comma == std::string_view::npos)
                break;
            value.remove_prefix(comma + 1);
        }
        return *result;
    }

    std::optional<http::parse_status> headers_done() {
        if constexpr (is_request)
            header_list_access::truncate(m_message.headers, m_field_count);
        const http::headers& h = m_message.headers;
        const http::http_version v = m_message.version;
        // One pass over the fields for what framing needs; the field lists
        // are gathered below only when a message has them.
        std::size_t hosts = 0;
        bool connection_close = false;
        bool connection_keep_alive = false;
        bool connection_upgrade = false;
        bool has_upgrade = false;
        bool has_transfer_encoding = false;
        bool has_content_length = false;
        for (const auto& field : h) {
            const std::string_view name = field.name;
            switch (name.size()) {
                case 4:
                    hosts += http_grammar::iequals(name, "Host") ? 1 : 0;
                    break;
                case 7:
                    has_upgrade = has_upgrade || http_grammar::iequals(name, "Upgrade");
                    break;
                case 10:
                    if (http_grammar::iequals(name, "Connection")) {
                        connection_close = connection_close || http_grammar::list_has_token(field.value, "close");
                        connection_keep_alive =
                            connection_keep_alive || http_grammar::list_has_token(field.value, "keep-alive");
                        connection_upgrade =
                            connection_upgrade || http_grammar::list_has_token(field.value, "upgrade");
                    }
                    break;
                case 14:
                    has_content_length = has_content_length || http_grammar::iequals(name, "Content-Length");
                    break;
                case 17:
                    has_transfer_encoding =
                        has_transfer_encoding || http_grammar::iequals(name, "Transfer-Encoding");
                    break;
                default:
                    break;
            }
        }
        // Keep-alive per version and the Connection tokens (RFC 9112 §9.3).
        if (v.minor >= 1)
            m_keep_alive = !connection_close;
        else
            m_keep_alive = connection_keep_alive && !connection_close;

        bool no_body = false;
        if constexpr (is_request) {
            // RFC 9112 §3.2: a server MUST answer 400 to more than one Host
            // field line (two hosts let a proxy and a server route apart).
            if (hosts > 1)
                fail(error_kind::bad_message, "more than one Host field");
            // A CONNECT request has no content (RFC 9110 §9.3.6): what follows
            // its head is tunnel data, whatever a Content-Length says.
            no_body = m_message.method == "CONNECT";
            m_upgrade = no_body || (connection_upgrade && has_upgrade);
        } else {
            (void)hosts;
            (void)connection_upgrade;
            (void)has_upgrade;
            no_body = http_grammar::response_has_no_body(m_request_method, m_message.status);
            m_upgrade =
                m_message.status == 101 || (m_request_method == "CONNECT" &&
                                            m_message.status >= 200 && m_message.status < 300);
        }

        std::vector<std::string_view> te_values;
        if (has_transfer_encoding)
            te_values = h.get_all("Transfer-Encoding");
        std::optional<std::uint64_t> length;
        if (has_content_length) {
            for (const auto value : h.get_all("Content-Length")) {
                const std::uint64_t n = parse_content_length(value);
                if (length && *length != n)
                    fail(error_kind::bad_message, "conflicting Content-Length values");
                length = n;
            }
        }

        if (no_body) {
            m_content_length = 0;
            m_state = state::body_done;
            return http::parse_status::headers_complete;
        }

        if (!te_values.empty()) {
            if constexpr (is_request) {
                if (length)
                    fail(error_kind::bad_message, "both Transfer-Encoding and Content-Length");
                if (v.minor == 0)
                    fail(error_kind::bad_message, "Transfer-Encoding in an HTTP/1.0 request");
            } else {
                // RFC 9112 §6.3: Transfer-Encoding overrides; the connection is not reused.
                if (length)
                    m_keep_alive = false;
            }
            const transfer_codings codings = read_transfer_codings(te_values);
            if (codings.chunked_count > 1)
                fail(error_kind::bad_message, "chunked applied more than once");
            if constexpr (is_request) {
                // RFC 9112 §6.3: the length of a request whose final coding is
                // not chunked cannot be known (400, a MUST); §6.1: a coding the
                // server does not understand gets 501. corio decodes only chunked.
                if (!codings.final_is_chunked)
                    fail(error_kind::bad_message,
                         "request Transfer-Encoding does not end in chunked");
                if (codings.others)
                    fail(error_kind::not_implemented,
                         "request transfer coding other than chunked (not implemented)");
            }
            if (codings.final_is_chunked) {
                m_chunked = true;
                m_state = state::chunk_size;
                return http::parse_status::headers_complete;
            }
            // RFC 9112 §6.3 rule 4: a response whose final coding is not chunked
            // runs until the close; its body keeps every coding.
            m_until_close = true;
            m_keep_alive = false;
            m_state = state::until_close;
            return http::parse_status::headers_complete;
        }
        if (length) {
            if (*length > m_limits.max_body_size)
                fail(error_kind::body_too_large, "Content-Length larger than max_body_size");
            m_content_length = length;
            m_remaining = *length;
            m_state = *length == 0 ? state::body_done : state::body_fixed;
            return http::parse_status::headers_complete;
        }
        if constexpr (is_request) {
            m_content_length = 0;
            m_state = state::body_done;
        } else {
            m_until_close = true;
            m_keep_alive = false;
            m_state = state::until_close;
        }
        return http::parse_status::headers_complete;
    }

    struct transfer_codings {
        int chunked_count = 0;
        bool final_is_chunked = false;
        bool others = false;  // any coding but chunked
    };

    /// Reads every Transfer-Encoding field as one list of codings (RFC 9110
    /// §5.3 combining, §5.6.1 empty list elements skipped); each coding is a
    /// token, optionally with parameters after ';'.
    transfer_codings read_transfer_codings(const std::vector<std::string_view>& values) {
        transfer_codings out;
        for (const std::string_view value : values) {
            std::string_view rest = value;
            while (true) {
                const std::size_t comma = rest.find(',');
                const std::string_view coding = http_grammar::trim_ows(rest.substr(0, comma));
                if (!coding.empty()) {
                    const std::string_view name =
                        http_grammar::trim_ows(coding.substr(0, coding.find(';')));
                    if (!http_grammar::is_token(name))
                        fail(error_kind::bad_message, "invalid transfer coding");
                    out.final_is_chunked = http_grammar::iequals(name, "chunked");
                    if (out.final_is_chunked)
                        ++out.chunked_count;
                    else
                        out.others = true;
                }
                if (comma == std::string_view::npos)
                    break;
                rest.remove_prefix(comma + 1);
            }
        }
        if (out.chunked_count == 0 && !out.others)
            fail(error_kind::bad_message, "Transfer-Encoding without a coding");
        return out;
    }

    void parse_chunk_size(std::string_view line) {
        std::uint64_t size = 0;
        std::size_t k = 0;
        for (; k < line.size(); ++k) {
            const int d = http_grammar::hex_value(line[k]);
            if (d < 0)
                break;
            if (size > (std::numeric_limits<std::uint64_t>::max() >> 4))
                fail(error_kind::bad_message, "chunk size overflows");
            size = (size << 4) | static_cast<std::uint64_t>(d);
        }
        if (k == 0)
            fail(error_kind::bad_message, "missing chunk size");
        // Chunk extensions are checked against their grammar, then ignored.
        if (!http_grammar::is_chunk_ext(line.substr(k)))
            fail(error_kind::bad_message, "invalid chunk size or chunk extension");
        if (size > m_body_limit - m_body_size)
            fail(error_kind::body_too_large, "chunked body larger than max_body_size");
        if (size == 0) {
            m_state = state::trailer_line;
            m_section_bytes = 0;
            m_field_count = 0;
        } else {
            m_remaining = size;
            m_state = state::chunk_data;
        }
    }

    http::parser_limits m_limits;
    Message m_message{};
    http::headers m_trailers{};
    state m_state = state::start_line;
    http::body_mode m_mode = http::body_mode::accumulate;
    std::optional<http::protocol_error>
        m_error;                      // set by the first error; later calls throw it again
    bool m_saw_cr = false;            // the last byte of the current line was CR
    std::string m_line;               // a line begun in an earlier feed (without CRLF)
    bool m_byte_by_byte = false;      // the current line needs the byte-by-byte path
    std::uint64_t m_offset = 0;       // bytes consumed since construction
    std::size_t m_section_bytes = 0;  // bytes of the current header / trailer section
    std::size_t m_field_count = 0;    // fields in the current header / trailer section
    std::string m_held_name;          // response parser: the last field line, which an
    std::string m_held_value;         // obs-fold may still continue
    bool m_holding_field = false;
    int m_empty_lines = 0;          // empty lines skipped before the start line
    std::uint64_t m_remaining = 0;  // body / chunk bytes still expected
    std::uint64_t m_body_size = 0;  // decoded body bytes so far
    std::uint64_t m_body_limit = m_limits.max_body_size;  // the current message's body limit
    bool m_keep_alive = false;
    bool m_chunked = false;
    bool m_until_close = false;
    bool m_upgrade = false;
    std::optional<std::uint64_t> m_content_length;
    std::string m_request_method = "GET";  // response parser: method of the request answered
};

}  // namespace corio::detail
