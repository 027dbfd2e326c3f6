#pragma once

// Opening a libpq connection without blocking the loop: the host name is
// resolved with corio's resolver and handed to libpq as `hostaddr` (libpq
// would otherwise resolve it synchronously), then PQconnectStartParams /
// PQconnectPoll are driven by the socket's readiness.

#include <corio/detail/config.hpp>
#include <corio/detail/io_source.hpp>
#include <corio/event_loop.hpp>
#include <corio/net/detail/socket.hpp>
#include <corio/net/tcp.hpp>
#include <corio/pg/detail/pipeline.hpp>
#include <corio/pg/errors.hpp>
#include <corio/task.hpp>

#include <libpq-fe.h>

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
    // One host name (not a socket directory, not a list): resolve it here.
    if (parameters.find("hostaddr") == nullptr && host != nullptr && !host->empty() && host->front() != '/' &&
        host->find(',') == std::string::npos) {
        std::string name = *host;
        const std::vector<corio::detail::socket_address> addresses =
            co_await corio::detail::resolve_host(std::move(name), 5432, corio::detail::socket_type_stream());
        if (addresses.empty()) {
            throw connection_error("corio::pg: " + *parameters.find("host") + " has no address");
        }
        parameters.set("hostaddr", corio::detail::to_endpoint(addresses.front()).address);
    }
    const std::string target = describe_target(parameters);

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
    PostgresPollingStatusType polling = PGRES_POLLING_WRITING;
    while (polling != PGRES_POLLING_OK) {
        if (polling == PGRES_POLLING_FAILED) {
            throw connection_error("corio::pg: connect to " + target + ": " + libpq_message(conn.get()));
        }
        {
            // libpq may close and reopen the socket between steps (another
            // address, an SSL retry), so the fd is watched afresh each time.
            corio::detail::io_source source(loop, PQsocket(conn.get()));
            if (polling == PGRES_POLLING_READING) {
                co_await source.readable();
            } else {
                co_await source.writable();
            }
        }
        polling = PQconnectPoll(conn.get());
    }
    co_return conn;
}

}  // namespace corio::pg::detail
