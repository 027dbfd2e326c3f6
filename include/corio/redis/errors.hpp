#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace corio::redis {

/// An error reply from the server ("-WRONGTYPE Operation against a key
/// holding the wrong kind of value"): prefix() is its first word (ERR,
/// WRONGTYPE, MOVED, ASK, NOSCRIPT, BUSYGROUP, ...), what() the whole text.
/// The connection stays usable.
class error : public std::runtime_error {
public:
    /// The error reply `text`, without the leading '-'.
    explicit error(std::string text) : std::runtime_error(text), m_text(std::move(text)) {
        m_prefix = m_text.substr(0, m_text.find(' '));
    }
    /// The first word of the reply ("WRONGTYPE").
    [[nodiscard]] const std::string& prefix() const noexcept { return m_prefix; }
    /// The whole reply text, prefix included.
    [[nodiscard]] const std::string& text() const noexcept { return m_text; }

private:
    std::string m_text;
    std::string m_prefix;
};

/// connection::watch gave up: another client changed a watched key before
/// each of the attempts' EXEC (transaction::exec throws it for an EXEC the
/// server refused because of a WATCH). Nothing of the transaction ran.
class watch_error : public error {
public:
    /// `text`: what happened (the prefix is WATCH).
    explicit watch_error(const std::string& text) : error("WATCH " + text) {}
};

/// The connection to the server failed or was lost (connect refused, server
/// gone, reset): commands in flight on it throw this; later commands
/// reconnect first (with backoff) and throw it only when that fails.
class connection_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// redis::cluster::connect found no seed node that answered: what() names
/// each seed tried and why it failed, seeds() lists them.
class cluster_connect_error : public connection_error {
public:
    /// `text`: the message; `seeds`: every seed that was tried, in order.
    cluster_connect_error(const std::string& text, std::vector<std::string> seeds)
        : connection_error(text), m_seeds(std::move(seeds)) {}
    /// The seeds tried, as given to cluster::connect.
    [[nodiscard]] const std::vector<std::string>& seeds() const noexcept { return m_seeds; }

private:
    std::vector<std::string> m_seeds;
};

/// A command to redis::cluster whose keys hash to different slots, refused
/// before it is sent (the server would answer CROSSSLOT): prefix() is
/// CROSSSLOT, as for the server's own reply. Put the keys under one
/// {hash tag} to keep them in one slot.
class crossslot_error : public error {
public:
    /// `detail`: which keys hash where.
    explicit crossslot_error(const std::string& detail) : error("CROSSSLOT " + detail) {}
};

/// redis::cluster followed more MOVED/ASK/TRYAGAIN redirects for one
/// command than cluster_options::max_redirects allows (the cluster keeps
/// moving the slot, or its nodes disagree): prefix() is REDIRECTLIMIT.
class redirect_limit_error : public error {
public:
    /// `detail`: the command, the redirects followed, the last reply.
    explicit redirect_limit_error(const std::string& detail) : error("REDIRECTLIMIT " + detail) {}
};

/// The server sent bytes that are not RESP, or a reply beyond the parser's
/// limits (nesting, sizes). The connection is closed: nothing after such a
/// byte can be matched to a command.
class protocol_error : public std::runtime_error {
public:
    /// `what` went wrong at byte `offset` of the reply.
    protocol_error(const std::string& what, std::size_t offset)
        : std::runtime_error("redis protocol error at byte " + std::to_string(offset) + ": " + what),
          m_offset(offset) {}
    /// Offset of the offending byte from the start of the reply.
    [[nodiscard]] std::size_t offset() const noexcept { return m_offset; }

private:
    std::size_t m_offset;
};

/// A reply had another type than the caller asked for (as_integer() on a
/// bulk string, a typed helper receiving an unexpected shape).
class reply_type_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A redis:// URL that cannot be understood.
class url_error : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

}  // namespace corio::redis
