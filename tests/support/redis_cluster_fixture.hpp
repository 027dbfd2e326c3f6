// A throwaway 3-master Redis Cluster for corio::redis::cluster's tests.
//
//   redis_cluster   three redis-servers (--cluster-enabled yes) on free
//                   loopback ports in one temp dir, joined by
//                   `redis-cli --cluster create ... --cluster-yes`; ready when
//                   CLUSTER INFO says cluster_state:ok on every node; stopped
//                   by PID (redis_fixture.hpp's stop_process).
//   redis_cli_available()   whether /usr/bin/redis-cli exists too
//   redis_blocking_command()  one command over a blocking socket, its reply's text
#pragma once

#include "redis_fixture.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace corio_test {

inline constexpr const char* redis_cli_binary = "/usr/bin/redis-cli";

inline bool redis_cli_available() { return redis_available() && ::access(redis_cli_binary, X_OK) == 0; }

/// Sends `args` as one RESP command to 127.0.0.1:`port` over a blocking
/// socket and returns the reply's text: a simple or bulk string's content,
/// an integer's digits, an error's text with its '-'. Aggregates are not
/// needed by the fixture and come back raw. "" when the server cannot be
/// reached.
inline std::string redis_blocking_command(std::uint16_t port, const std::vector<std::string>& args) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    std::string reply;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
        timeval tv{2, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        std::string request = "*" + std::to_string(args.size()) + "\r\n";
        for (const std::string& arg : args) {
            request += "$" + std::to_string(arg.size()) + "\r\n" + arg + "\r\n";
        }
        if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
            char buffer[4096];
            for (;;) {
                const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
                if (n < 0 && errno == EINTR) {
                    continue;
                }
                if (n <= 0) {
                    // Said in the reply, so a failing check shows why.
                    reply = n == 0 ? "<connection closed>" : std::string("<recv: ") + std::strerror(errno) + ">";
                    break;
                }
                reply.append(buffer, static_cast<std::size_t>(n));
                const std::size_t line_end = reply.find("\r\n");
                if (line_end == std::string::npos) {
                    continue;
                }
                if (reply[0] != '$') {
                    reply = reply.substr(reply[0] == '-' ? 0 : 1, line_end - (reply[0] == '-' ? 0 : 1));
                    break;
                }
                const long length = std::stol(reply.substr(1, line_end - 1));
                if (length < 0) {
                    reply.clear();
                    break;
                }
                if (reply.size() >= line_end + 2 + static_cast<std::size_t>(length)) {
                    reply = reply.substr(line_end + 2, static_cast<std::size_t>(length));
                    break;
                }
            }
        }
    }
    ::close(fd);
    return reply;
}

/// Whether 127.0.0.1:`port` can be bound now.
inline bool loopback_port_free(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    return free;
}

class redis_cluster {
public:
    static constexpr int masters = 3;

    /// Starts and joins the cluster. Throws std::runtime_error naming the
    /// log when a server does not start or the cluster does not become ok.
    redis_cluster() {
        std::string pattern = (std::filesystem::temp_directory_path() / "corio-redis-cluster-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::system_error(errno, std::generic_category(), "mkdtemp");
        }
        m_dir = pattern;
        for (int i = 0; i < masters; ++i) {
            m_nodes.push_back(node{});
            start_on_new_ports(m_nodes.back());
        }
        std::vector<std::string> create{redis_cli_binary, "--cluster", "create"};
        for (const node& n : m_nodes) {
            create.push_back("127.0.0.1:" + std::to_string(n.port));
        }
        create.push_back("--cluster-yes");
        const std::string log = (m_dir / "create.log").string();
        const pid_t cli = spawn_process(create, log);
        int status = 0;
        ::waitpid(cli, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            throw std::runtime_error("redis-cli --cluster create failed (log: " + log + ")");
        }
        wait_until_ok();
    }
    redis_cluster(const redis_cluster&) = delete;
    redis_cluster& operator=(const redis_cluster&) = delete;
    ~redis_cluster() {
        for (node& n : m_nodes) {
            stop_process(n.pid, SIGKILL);
        }
        std::error_code ignored;
        std::filesystem::remove_all(m_dir, ignored);
    }

    /// The client port of node `i` (0, 1, 2).
    [[nodiscard]] std::uint16_t port(int i) const { return m_nodes.at(static_cast<std::size_t>(i)).port; }
    /// "127.0.0.1:<port>" of node `i`, as the cluster's slot map names it.
    [[nodiscard]] std::string address(int i) const { return "127.0.0.1:" + std::to_string(port(i)); }
    /// The node index serving `address`, or -1.
    [[nodiscard]] int index_of(const std::string& address_text) const {
        for (int i = 0; i < masters; ++i) {
            if (address(i) == address_text) {
                return i;
            }
        }
        return -1;
    }
    /// Seeds for cluster::connect: "redis://127.0.0.1:<port>" of every node.
    [[nodiscard]] std::vector<std::string> seeds() const {
        std::vector<std::string> out;
        for (int i = 0; i < masters; ++i) {
            out.push_back("redis://" + address(i));
        }
        return out;
    }
    /// Node `i`'s cluster node id (CLUSTER MYID).
    [[nodiscard]] std::string node_id(int i) const { return command(i, {"CLUSTER", "MYID"}); }
    /// One command to node `i` over a blocking socket (redis_blocking_command).
    [[nodiscard]] std::string command(int i, const std::vector<std::string>& args) const {
        return redis_blocking_command(port(i), args);
    }

    /// Kills node `i` (SIGKILL: a crash).
    void kill(int i) {
        node& n = m_nodes.at(static_cast<std::size_t>(i));
        stop_process(n.pid, SIGKILL);
        n.pid = -1;
    }
    /// Starts node `i` again on its ports with its nodes.conf (it rejoins
    /// with its id and slots) and waits until the cluster is ok.
    void restart(int i) {
        node& n = m_nodes.at(static_cast<std::size_t>(i));
        for (int attempt = 0; attempt < 50 && !try_start(n); ++attempt) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        if (n.pid < 0) {
            throw std::runtime_error("redis cluster node did not restart on port " + std::to_string(n.port));
        }
        wait_until_ok();
    }

private:
    struct node {
        std::uint16_t port = 0;
        std::uint16_t bus_port = 0;
        pid_t pid = -1;
    };

    // Ports from a range below the ephemeral one, so that the kernel does not
    // hand them to outgoing connections meanwhile, checked free.
    static std::uint16_t pick_port(std::uint16_t avoid) {
        static std::uint32_t seed = static_cast<std::uint32_t>(::getpid()) * 2654435761U;
        for (int attempt = 0; attempt < 1000; ++attempt) {
            seed = seed * 1103515245U + 12345U;
            const auto candidate = static_cast<std::uint16_t>(20000 + (seed >> 8) % 10000);
            if (candidate != avoid && loopback_port_free(candidate)) {
                return candidate;
            }
        }
        throw std::runtime_error("no free loopback port for a redis cluster node");
    }

    void start_on_new_ports(node& n) {
        for (int attempt = 0; attempt < 5; ++attempt) {
            n.port = pick_port(0);
            n.bus_port = pick_port(n.port);
            if (try_start(n)) {
                return;
            }
        }
        throw std::runtime_error("redis-server (cluster node) did not start (logs in " + m_dir.string() + ")");
    }

    bool try_start(node& n) {
        const std::string port = std::to_string(n.port);
        std::vector<std::string> argv{redis_server_binary,
                                      "--port", port,
                                      "--cluster-enabled", "yes",
                                      "--cluster-port", std::to_string(n.bus_port),
                                      "--cluster-config-file", (m_dir / ("nodes-" + port + ".conf")).string(),
                                      "--bind", "127.0.0.1",
                                      "--save", "",
                                      "--appendonly", "no",
                                      "--dir", m_dir.string(),
                                      "--enable-debug-command", "yes",
                                      "--daemonize", "no"};
        n.pid = spawn_process(argv, (m_dir / ("redis-" + port + ".log")).string());
        for (int i = 0; i < 500; ++i) {
            if (redis_answers_ping(n.port)) {
                return true;
            }
            if (process_gone(n.pid)) {
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        stop_process(n.pid, SIGKILL);
        n.pid = -1;
        return false;
    }

    void wait_until_ok() const {
        for (int i = 0; i < 1000; ++i) {
            bool all_ok = true;
            for (int k = 0; k < masters && all_ok; ++k) {
                all_ok = command(k, {"CLUSTER", "INFO"}).find("cluster_state:ok") != std::string::npos;
            }
            if (all_ok) {
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        throw std::runtime_error("redis cluster did not reach cluster_state:ok (logs in " + m_dir.string() + ")");
    }

    std::filesystem::path m_dir;
    std::vector<node> m_nodes;
};

}  // namespace corio_test
