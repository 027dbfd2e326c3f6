#pragma once

// An incremental multipart/form-data parser (RFC 7578 over RFC 2046 §5.1):
// bytes go in as they arrive, in pieces of any size; parts come out as
// events (a part's headers, its content in pieces, its end), so a file part
// never has to be whole in memory. No allocation per byte: content is passed
// on as views of the input wherever a delimiter cannot start in it.

#include <corio/http/detail/grammar.hpp>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace corio::detail::web_multipart {

/// A body that is not valid multipart: the message says what and where.
class malformed : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// What one part's header section says (Content-Disposition's name and
/// filename, and Content-Type).
struct part_head {
    std::string name;
    std::optional<std::string> filename;  // present (maybe empty) for a file part
    std::string content_type = "text/plain";
};

/// The boundary parameter of a multipart Content-Type ("multipart/form-data;
/// boundary=xyz", quoted or not), or nullopt when missing or not 1 to 70
/// characters (RFC 2046 §5.1.1).
inline std::optional<std::string> boundary_of(std::string_view content_type) {
    for (std::size_t at = content_type.find(';'); at != std::string_view::npos;
         at = content_type.find(';', at + 1)) {
        std::string_view param = content_type.substr(at + 1);
        param = param.substr(0, param.find(';'));
        while (!param.empty() && (param.front() == ' ' || param.front() == '\t')) {
            param.remove_prefix(1);
        }
        const std::size_t eq = param.find('=');
        if (eq == std::string_view::npos || !http_grammar::iequals(param.substr(0, eq), "boundary")) {
            continue;
        }
        std::string_view value = param.substr(eq + 1);
        while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
            value.remove_suffix(1);
        }
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
            value = value.substr(1, value.size() - 2);
        }
        if (value.empty() || value.size() > 70) {
            return std::nullopt;
        }
        return std::string(value);
    }
    return std::nullopt;
}

/// The value of parameter `key` in a Content-Disposition line (`name="a"`,
/// quoted-string escapes undone, or a token), or nullopt.
inline std::optional<std::string> disposition_param(std::string_view line, std::string_view key) {
    std::size_t at = line.find(';');
    while (at != std::string_view::npos) {
        std::size_t i = at + 1;
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) {
            ++i;
        }
        const std::size_t eq = line.find('=', i);
        if (eq == std::string_view::npos) {
            return std::nullopt;
        }
        const std::string_view found = line.substr(i, eq - i);
        std::string value;
        std::size_t j = eq + 1;
        if (j < line.size() && line[j] == '"') {
            for (++j; j < line.size() && line[j] != '"'; ++j) {
                if (line[j] == '\\' && j + 1 < line.size()) {
                    ++j;
                }
                value += line[j];
            }
            if (j >= line.size()) {
                throw malformed("unterminated quoted string in Content-Disposition");
            }
            ++j;
        } else {
            while (j < line.size() && line[j] != ';' && line[j] != ' ' && line[j] != '\t') {
                value += line[j++];
            }
        }
        if (http_grammar::iequals(found, key)) {
            return value;
        }
        at = line.find(';', j);
    }
    return std::nullopt;
}

/// Parses one part's header section (the lines before the empty line, CRLF
/// separated, without the final CRLF CRLF).
inline part_head parse_part_head(std::string_view section) {
    part_head head;
    bool disposition = false;
    while (!section.empty()) {
        const std::size_t end = section.find("\r\n");
        const std::string_view line = section.substr(0, end);
        section = end == std::string_view::npos ? std::string_view{} : section.substr(end + 2);
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) {
            throw malformed("a part header line without ':'");
        }
        const std::string_view field = line.substr(0, colon);
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
            value.remove_prefix(1);
        }
        while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
            value.remove_suffix(1);
        }
        if (http_grammar::iequals(field, "Content-Disposition")) {
            if (!http_grammar::iequals(value.substr(0, value.find(';')), "form-data")) {
                throw malformed("a part's Content-Disposition is not form-data");
            }
            std::optional<std::string> name = disposition_param(value, "name");
            if (!name) {
                throw malformed("a part's Content-Disposition has no name");
            }
            head.name = std::move(*name);
            head.filename = disposition_param(value, "filename");
            disposition = true;
        } else if (http_grammar::iequals(field, "Content-Type")) {
            head.content_type = std::string(value);
        }
    }
    if (!disposition) {
        throw malformed("a part without Content-Disposition");
    }
    return head;
}

/// The incremental parser. `Sink` receives, in order:
///   begin(part_head&&), data(std::string_view) zero or more times, end()
/// for every part; feed() calls it as far as the input allows. The sink may
/// throw (a limit it enforces): the exception leaves feed().
template <class Sink>
class parser {
public:
    /// A parser for `boundary` (without the leading "--"), sending parts to
    /// `sink`; a part's header section over `max_head_size` bytes is malformed.
    parser(std::string_view boundary, Sink& sink, std::size_t max_head_size)
        : m_delimiter("\r\n--" + std::string(boundary)), m_sink(sink), m_max_head_size(max_head_size) {}

    /// Takes the next bytes of the body.
    void feed(std::string_view bytes) {
        if (m_at == state::done) {
            return;  // the epilogue: ignored (RFC 2046)
        }
        m_pending.append(bytes);
        std::size_t used = 0;
        while (step(used)) {
        }
        m_pending.erase(0, used);
    }

    /// The body has ended: throws malformed unless the close delimiter came.
    void finish() const {
        if (m_at != state::done) {
            throw malformed(m_at == state::preamble ? "no boundary delimiter in the body"
                                                    : "the body ends before the close delimiter");
        }
    }

    /// True once the close delimiter was seen.
    [[nodiscard]] bool done() const noexcept { return m_at == state::done; }

private:
    enum class state { preamble, after_delimiter, head, content, done };

    // Transport padding (spaces and tabs) allowed between a boundary delimiter and its CRLF.
    static constexpr std::size_t max_padding = 256;

    // One move of the state machine over m_pending from `used`; false when
    // it needs more input (or is done).
    bool step(std::size_t& used) {
        std::string_view rest = std::string_view(m_pending).substr(used);
        switch (m_at) {
            case state::preamble: {
                // The first delimiter may open the body without its CRLF.
                const std::string_view bare = std::string_view(m_delimiter).substr(2);
                if (used == 0 && m_first && rest.size() >= bare.size() && rest.starts_with(bare)) {
                    used += bare.size();
                    m_at = state::after_delimiter;
                    return true;
                }
                if (m_first && rest.size() < bare.size() && bare.starts_with(rest)) {
                    return false;  // may still be the opening delimiter
                }
                m_first = false;
                const std::size_t found = rest.find(m_delimiter);
                if (found == std::string_view::npos) {
                    // Keep what could be the start of a delimiter.
                    const std::size_t keep = std::min(rest.size(), m_delimiter.size() - 1);
                    used += rest.size() - keep;
                    return false;
                }
                used += found + m_delimiter.size();
                m_at = state::after_delimiter;
                return true;
            }
            case state::after_delimiter: {
                // "--" closes; else transport padding (spaces, tabs) then CRLF.
                if (rest.size() < 2) {
                    return false;
                }
                if (rest.starts_with("--")) {
                    used += rest.size();
                    m_at = state::done;
                    return false;
                }
                std::size_t i = 0;
                while (i < rest.size() && (rest[i] == ' ' || rest[i] == '\t')) {
                    ++i;
                }
                // Refused however the padding arrives, whole or in pieces.
                if (i > max_padding) {
                    throw malformed("endless padding after a boundary delimiter");
                }
                if (i + 2 > rest.size()) {
                    return false;
                }
                if (rest.substr(i, 2) != "\r\n") {
                    throw malformed("a boundary delimiter not followed by CRLF");
                }
                used += i + 2;
                m_at = state::head;
                return true;
            }
            case state::head: {
                if (rest.starts_with("\r\n")) {
                    throw malformed("a part without a Content-Disposition header");
                }
                const std::size_t end = rest.find("\r\n\r\n");
                if (end == std::string_view::npos) {
                    // Up to 3 bytes past the limit may be the start of the
                    // blank line that ends a section just within it.
                    if (rest.size() > m_max_head_size + 3) {
                        throw malformed("a part's header section is longer than " +
                                        std::to_string(m_max_head_size) + " bytes");
                    }
                    return false;
                }
                if (end > m_max_head_size) {
                    throw malformed("a part's header section is longer than " + std::to_string(m_max_head_size) +
                                    " bytes");
                }
                part_head head = parse_part_head(rest.substr(0, end));
                used += end + 4;
                m_at = state::content;
                m_sink.begin(std::move(head));
                return true;
            }
            case state::content: {
                const std::size_t found = rest.find(m_delimiter);
                if (found == std::string_view::npos) {
                    const std::size_t keep = std::min(rest.size(), m_delimiter.size() - 1);
                    if (rest.size() > keep) {
                        m_sink.data(rest.substr(0, rest.size() - keep));
                        used += rest.size() - keep;
                    }
                    return false;
                }
                if (found > 0) {
                    m_sink.data(rest.substr(0, found));
                }
                used += found + m_delimiter.size();
                m_at = state::after_delimiter;
                m_sink.end();
                return true;
            }
            case state::done:
                return false;
        }
        return false;
    }

    std::string m_delimiter;  // CRLF "--" boundary
    Sink& m_sink;
    std::size_t m_max_head_size;
    std::string m_pending;  // input not consumed yet (a possible delimiter's start, a partial head)
    state m_at = state::preamble;
    bool m_first = true;  // nothing of the preamble seen yet
};

}  // namespace corio::detail::web_multipart
