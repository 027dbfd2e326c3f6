#pragma once

#include <corio/redis/errors.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#if defined(CORIO_WITH_TLS) && __has_include(<corio/tls/context.hpp>)
#include <corio/tls/context.hpp>
#define CORIO_REDIS_HAS_TLS 1
#endif

namespace corio::redis {

/// Where and how to connect; connect(url) fills it from a URL, or build one
/// and pass it to connect(options).
struct connect_options {
    /// Server host name or address (an IPv6 address without brackets).
    std::string host = "127.0.0.1";
    /// Server TCP port.
    std::uint16_t port = 6379;
    /// A Unix domain socket path (unix://path); when set, host/port are unused.
    std::string unix_path{};
    /// rediss://: TLS over TCP (needs corio::tls).
    bool use_tls = false;
    /// AUTH: a password alone authenticates the "default" user.
    std::string username{};
    /// AUTH password; empty sends no AUTH (and `username` is then unused).
    std::string password{};
    /// SELECT after connecting (0 is the server's default and sends nothing).
    int database = 0;
    /// CLIENT SETNAME, shown by CLIENT LIST (empty: none).
    std::string client_name{};
    /// 3 sends HELLO 3 (RESP3) and falls back to RESP2 when the server
    /// refuses it; 2 speaks RESP2 without asking.
    int protocol = 3;
    /// Bound on one attempt to connect and run the handshake.
    std::chrono::milliseconds connect_timeout{5000};
    /// After the connection is lost, the next command reconnects, trying this
    /// many times, waiting reconnect_delay, doubled each time up to
    /// max_reconnect_delay, between attempts.
    int reconnect_attempts = 6;
    /// Wait before the second attempt to reconnect (the first is immediate); doubles after each.
    std::chrono::milliseconds reconnect_delay{25};
    /// Cap of that doubling wait.
    std::chrono::milliseconds max_reconnect_delay{1000};
    /// Dedicated connections for blocking commands (BLPOP, XREADGROUP BLOCK,
    /// ...): at most this many run at once; more wait for one to free up.
    std::size_t blocking_connections = 4;
#if defined(CORIO_REDIS_HAS_TLS)
    /// The TLS configuration of rediss:// (empty: tls::context::client(),
    /// verifying against the system store).
    tls::context tls_context{};
#endif

    /// A printable name for messages: "redis://127.0.0.1:6379/0" (no password).
    [[nodiscard]] std::string describe() const {
        if (!unix_path.empty()) {
            return "unix://" + unix_path;
        }
        const bool v6 = host.find(':') != std::string::npos;
        return std::string(use_tls ? "rediss://" : "redis://") + (v6 ? "[" + host + "]" : host) + ":" +
               std::to_string(port) + "/" + std::to_string(database);
    }

    /// Parses redis://[[user]:password@]host[:port][/db][?name=...],
    /// rediss://... and unix://[[user]:password@]/path[?db=N&name=...].
    /// Percent-escapes in the user and password are decoded. Throws
    /// url_error naming what is wrong.
    [[nodiscard]] static connect_options from_url(std::string_view url) {
        connect_options options;
        const std::size_t scheme_end = url.find("://");
        if (scheme_end == std::string_view::npos) {
            throw url_error("redis URL without a scheme: '" + std::string(url) + "'");
        }
        const std::string_view scheme = url.substr(0, scheme_end);
        std::string_view rest = url.substr(scheme_end + 3);
        if (scheme == "rediss") {
            options.use_tls = true;
        } else if (scheme != "redis" && scheme != "unix") {
            throw url_error("redis URL scheme must be redis, rediss or unix: '" + std::string(url) + "'");
        }
        std::string_view query;
        if (const std::size_t q = rest.find('?'); q != std::string_view::npos) {
            query = rest.substr(q + 1);
            rest = rest.substr(0, q);
        }
        // The last '@' ends the credentials: a password may contain '@' unescaped.
        if (const std::size_t at = rest.rfind('@'); at != std::string_view::npos) {
            const std::string_view credentials = rest.substr(0, at);
            rest = rest.substr(at + 1);
            if (const std::size_t colon = credentials.find(':'); colon != std::string_view::npos) {
                options.username = decode(credentials.substr(0, colon), url);
                options.password = decode(credentials.substr(colon + 1), url);
            } else {
                options.password = decode(credentials, url);
            }
        }
        if (scheme == "unix") {
            if (rest.empty()) {
                throw url_error("unix redis URL without a path: '" + std::string(url) + "'");
            }
            options.unix_path = std::string(rest);
        } else {
            std::string_view authority = rest;
            if (const std::size_t slash = rest.find('/'); slash != std::string_view::npos) {
                authority = rest.substr(0, slash);
                const std::string_view db = rest.substr(slash + 1);
                if (!db.empty()) {
                    options.database = parse_number(db, "database", url, 0, 1 << 20);
                }
            }
            std::string_view port;
            if (!authority.empty() && authority.front() == '[') {
                const std::size_t close = authority.find(']');
                if (close == std::string_view::npos) {
                    throw url_error("redis URL with an unclosed '[': '" + std::string(url) + "'");
                }
                options.host = std::string(authority.substr(1, close - 1));
                const std::string_view after = authority.substr(close + 1);
                if (!after.empty()) {
                    if (after.front() != ':') {
                        throw url_error("redis URL with junk after ']': '" + std::string(url) + "'");
                    }
                    port = after.substr(1);
                }
            } else if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
                options.host = std::string(authority.substr(0, colon));
                port = authority.substr(colon + 1);
            } else {
                options.host = std::string(authority);
            }
            if (options.host.empty()) {
                throw url_error("redis URL without a host: '" + std::string(url) + "'");
            }
            if (!port.empty()) {
                options.port = static_cast<std::uint16_t>(parse_number(port, "port", url, 1, 65535));
            }
        }
        while (!query.empty()) {
            const std::size_t amp = query.find('&');
            const std::string_view pair = query.substr(0, amp);
            query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
            const std::size_t eq = pair.find('=');
            const std::string_view key = pair.substr(0, eq);
            const std::string value = eq == std::string_view::npos ? std::string{} : decode(pair.substr(eq + 1), url);
            if (key == "db") {
                options.database = parse_number(value, "database", url, 0, 1 << 20);
            } else if (key == "name" || key == "client_name") {
                options.client_name = value;
            } else if (key == "protocol") {
                options.protocol = parse_number(value, "protocol", url, 2, 3);
            } else if (key == "password") {
                options.password = value;
            } else if (key == "username") {
                options.username = value;
            } else {
                throw url_error("unknown redis URL parameter '" + std::string(key) + "' in '" + std::string(url) + "'");
            }
        }
        return options;
    }

private:
    static int parse_number(std::string_view text, const char* what, std::string_view url, int min, int max) {
        long long n = 0;
        if (text.empty() || text.size() > 9) {
            throw url_error(std::string("bad ") + what + " in redis URL '" + std::string(url) + "'");
        }
        for (const char c : text) {
            if (c < '0' || c > '9') {
                throw url_error(std::string("bad ") + what + " in redis URL '" + std::string(url) + "'");
            }
            n = n * 10 + (c - '0');
        }
        if (n < min || n > max) {
            throw url_error(std::string(what) + " out of range in redis URL '" + std::string(url) + "'");
        }
        return static_cast<int>(n);
    }

    static std::string decode(std::string_view text, std::string_view url) {
        std::string out;
        for (std::size_t i = 0; i < text.size(); ++i) {
            if (text[i] != '%') {
                out += text[i];
                continue;
            }
            if (i + 2 >= text.size()) {
                throw url_error("truncated %-escape in redis URL '" + std::string(url) + "'");
            }
            const int high = hex_digit(text[i + 1]);
            const int low = hex_digit(text[i + 2]);
            if (high < 0 || low < 0) {
                throw url_error("bad %-escape in redis URL '" + std::string(url) + "'");
            }
            out += static_cast<char>(high * 16 + low);
            i += 2;
        }
        return out;
    }

    static int hex_digit(char c) noexcept {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    }
};

/// How redis::cluster connects and routes. `node` applies to every node
/// connection (password/user, client name, protocol, timeouts, reconnect
/// attempts, TLS); its host, port and unix_path are replaced by each node's
/// address, and its database must be 0 (a cluster has only database 0).
struct cluster_options {
    /// The options of each node connection (see above).
    connect_options node{};
    /// MOVED / ASK / TRYAGAIN redirects followed for one command before it
    /// fails with redirect_limit_error.
    int max_redirects = 5;
    /// A MOVED or a lost node schedules a refresh of the whole slot map; at
    /// most one refresh starts within this interval.
    std::chrono::milliseconds min_refresh_interval{250};
};

}  // namespace corio::redis
