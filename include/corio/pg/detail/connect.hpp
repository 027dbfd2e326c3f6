#pragma once

// Opening a libpq connection without blocking the loop: the host name is
// resolved with corio's resolver and handed to libpq as `hostaddr` (libpq
// would otherwise resolve it synchronously), then PQconnectStartParams /
// PQconnectPoll are driven by the socket's readiness.

#include <corio/combinators.hpp>
#include <corio/detail/config.hpp>
#include <corio/detail/io_source.hpp>
#include <corio/errors.hpp>
#include <corio/event_loop.hpp>
#include <corio/net/detail/socket.hpp>
#include <corio/net/tcp.hpp>
#include <corio/pg/detail/pipeline.hpp>
#include <corio/pg/detail/socket_poll.hpp>
#include <corio/pg/errors.hpp>
#include <corio/task.hpp>

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace corio::pg::detail {

struct conninfo_deleter {
    void operator()(PQconninfoOption* options) const noexcept { PQconninfoFree(options); }
};

/// The keyword/value pairs of a DSN (URI or "key=value" form).
struct connection_parameters {
    std::vector<std::string> keywords;
    std::vector<std::string> values;

    [[nodiscard]] const std::string* find(std::string_view keyword) const {
        for (std::size_t i = 0; i < keywords.size(); ++i) {
            if (keywords[i] == keyword) {
                return &values[i];
            }
        }
        return nullptr;
    }
    void set(const std::string& keyword, std::string value) {
        for (std::size_t i = 0; i < keywords.size(); ++i) {
            if (keywords[i] == keyword) {
                values[i] = std::move(value);
                return;
            }
        }
        keywords.push_back(keyword);
        values.push_back(std::move(value));
    }
};

inline connection_parameters parse_dsn(const std::string& dsn) {
    char* message = nullptr;
    std::unique_ptr<PQconninfoOption, conninfo_deleter> options(PQconninfoParse(dsn.c_str(), &message));
    if (!options) {
        std::string text = message != nullptr ? message : "out of memory";
        if (message != nullptr) {
            PQfreemem(message);
        }
        while (!text.empty() && text.back() == '\n') {
            text.pop_back();
        }
        throw connection_error("corio::pg: invalid connection string: " + text);
    }
    connection_parameters parameters;
    for (PQconninfoOption* option = options.get(); option->keyword != nullptr; ++option) {
        if (option->val != nullptr) {
            parameters.keywords.emplace_back(option->keyword);
            parameters.values.emplace_back(option->val);
        }
    }
    return parameters;
}

/// Where the connection goes, for messages ("127.0.0.1:5432").
inline std::string describe_target(const connection_parameters& parameters) {
    const std::string* host = parameters.find("host");
    const std::string* hostaddr = parameters.find("hostaddr");
    const std::string* port = parameters.find("port");
    std::string text = host != nullptr ? *host : hostaddr != nullptr ? *hostaddr : "(default socket)";
    if (hostaddr != nullptr && host != nullptr && *host != *hostaddr) {
        text += " (" + *hostaddr + ")";
    }
    return text + ":" + (port != nullptr ? *port : "5432");
}

CORIO_HEADER_COROUTINE inline task<connection_ptr> open_connection(std::string dsn) {
    connection_parameters parameters = parse_dsn(dsn);
    const std::string* host = parameters.find("host");
    std::string target = describe_target(parameters);
    // One host name (not a socket directory, not a list): resolve it here.
    // Every address goes to libpq, which tries them in order ("localhost" may
    // be ::1 first while the server listens on 127.0.0.1 only); the name is
    // repeated for each, as libpq wants, and is what it checks a server
    // certificate against (sslmode=verify-full).
    if (parameters.find("hostaddr") == nullptr && host != nullptr && !host->empty() && host->front() != '/' &&
        host->find(',') == std::string::npos) {
        const std::string name = *host;
        std::string lookup = name;
        const std::vector<corio::detail::socket_address> addresses =
            co_await corio::detail::resolve_host(std::move(lookup), 5432, corio::detail::socket_type_stream());
        if (addresses.empty()) {
            throw connection_error("corio::pg: " + name + " has no address");
        }
        std::string hosts, hostaddrs;
        for (const corio::detail::socket_address& address : addresses) {
            const std::string numeric = corio::detail::to_endpoint(address).address;
            if (("," + hostaddrs + ",").find("," + numeric + ",") != std::string::npos) {
                continue;  // the resolver may list an address once per protocol
            }
            hosts += (hosts.empty() ? "" : ",") + name;
            hostaddrs += (hostaddrs.empty() ? "" : ",") + numeric;
        }
        parameters.set("host", std::move(hosts));
        parameters.set("hostaddr", std::move(hostaddrs));
        const std::string* port = parameters.find("port");
        target = name + " (" + *parameters.find("hostaddr") + "):" + (port != nullptr ? *port : "5432");
    }

    std::vector<const char*> keywords, values;
    for (std::size_t i = 0; i < parameters.keywords.size(); ++i) {
        keywords.push_back(parameters.keywords[i].c_str());
        values.push_back(parameters.values[i].c_str());
    }
    keywords.push_back(nullptr);
    values.push_back(nullptr);
    connection_ptr conn(PQconnectStartParams(keywords.data(), values.data(), 0));
    if (!conn || PQstatus(conn.get()) == CONNECTION_BAD) {
        throw connection_error("corio::pg: connect to " + target + ": " + libpq_message(conn.get()));
    }
    event_loop& loop = get_running_loop();
    // Before the first PQconnectPoll, libpq wants writability (its manual).
    // Each step says which way it waits next: a TLS handshake alternates
    // between writing and reading, and a failed attempt (another address, a
    // retry without TLS under sslmode=prefer) starts over on a new socket.
    PostgresPollingStatusType polling = PGRES_POLLING_WRITING;
    while (polling != PGRES_POLLING_OK) {
        if (polling == PGRES_POLLING_FAILED) {
            throw connection_error("corio::pg: connect to " + target + ": " + libpq_message(conn.get()));
        }
        PGconn* raw = conn.get();
        // Decrypted bytes already inside OpenSSL: no readiness would announce them.
        if (polling != PGRES_POLLING_READING || !tls_holds_input(raw)) {
            // libpq may close and reopen the socket between steps, so the fd
            // is watched afresh each time (and no longer while libpq works).
            corio::detail::io_source source(loop, PQsocket(raw));
            if (polling != PGRES_POLLING_READING) {
                co_await source.writable();
            } else if (!tls_input_hidden(raw)) {
                co_await source.readable();
            } else {
                try {
                    co_await corio::wait_for(source.readable(), std::chrono::milliseconds(2));
                } catch (const corio::timeout_error&) {
                }
            }
        }
        polling = PQconnectPoll(raw);
    }
    co_return conn;
}

}  // namespace corio::pg::detail
