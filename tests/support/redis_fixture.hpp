// Throwaway redis-server processes for corio::redis's tests.
//
//   redis_server   one server on a free loopback port (and a Unix socket in its
//                  temp dir), with persistence off; ready when PING answers;
//                  stop()/restart() on the same port; stopped by PID (the
//                  /proc/PID/status state must be gone or Z, not kill -0:
//                  exited children are reaped late on these machines).
//   redis_available()   whether /usr/bin/redis-server exists (tests skip otherwise)
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace corio_test {

inline constexpr const char* redis_server_binary = "/usr/bin/redis-server";
inline constexpr const char* redis_missing_message = "redis-server not installed: apt-get install redis-server";

inline bool redis_available() { return ::access(redis_server_binary, X_OK) == 0; }

/// Whether process `pid` has exited: /proc/PID/status is gone or says Z.
inline bool process_gone(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    if (!status) {
        return true;
    }
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("State:", 0) == 0) {
            return line.find('Z') != std::string::npos;
        }
    }
    return true;
}

/// Sends `signal` and waits (up to ~5 s) until the process is gone, then
/// reaps it.
inline void stop_process(pid_t pid, int signal = SIGTERM) {
    if (pid <= 0) {
        return;
    }
    ::kill(pid, signal);
    for (int i = 0; i < 500 && !process_gone(pid); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!process_gone(pid)) {
        ::kill(pid, SIGKILL);
        while (!process_gone(pid)) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
}

/// Starts argv[0] with the arguments, stdout/stderr to `log` (or /dev/null).
inline pid_t spawn_process(std::vector<std::string> argv, const std::string& log = "/dev/null") {
    std::vector<char*> args;
    for (std::string& a : argv) {
        args.push_back(a.data());
    }
    args.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
        const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (out >= 0) {
            ::dup2(out, 1);
            ::dup2(out, 2);
        }
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    if (pid < 0) {
        throw std::system_error(errno, std::generic_category(), "fork");
    }
    return pid;
}

/// A loopback port nobody listens on right now.
inline std::uint16_t free_loopback_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof address;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        ::close(fd);
        throw std::system_error(errno, std::generic_category(), "bind 127.0.0.1:0");
    }
    ::close(fd);
    return ntohs(address.sin_port);
}

/// PING over a blocking socket: true when +PONG comes back.
inline bool redis_answers_ping(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    bool ok = false;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
        timeval tv{1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        const char ping[] = "PING\r\n";
        if (::send(fd, ping, sizeof ping - 1, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof ping - 1)) {
            char reply[16] = {};
            const ssize_t n = ::recv(fd, reply, sizeof reply - 1, 0);
            ok = n >= 5 && std::string(reply, 5) == "+PONG";
        }
    }
    ::close(fd);
    return ok;
}

class redis_server {
public:
    /// Starts a server (extra arguments appended to the command line).
    /// Throws std::runtime_error when it does not answer PING within 5 s.
    explicit redis_server(std::vector<std::string> extra = {}) : m_extra(std::move(extra)) {
        std::string pattern = (std::filesystem::temp_directory_path() / "corio-redis-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::system_error(errno, std::generic_category(), "mkdtemp");
        }
        m_dir = pattern;
        for (int attempt = 0; attempt < 5; ++attempt) {
            m_port = free_loopback_port();
            if (try_start()) {
                return;
            }
        }
        throw std::runtime_error("redis-server did not start (log: " + (m_dir / "redis.log").string() + ")");
    }
    redis_server(const redis_server&) = delete;
    redis_server& operator=(const redis_server&) = delete;
    ~redis_server() {
        stop();
        std::error_code ignored;
        std::filesystem::remove_all(m_dir, ignored);
    }

    [[nodiscard]] std::uint16_t port() const noexcept { return m_port; }
    [[nodiscard]] std::string url(int db = 0) const {
        return "redis://127.0.0.1:" + std::to_string(m_port) + "/" + std::to_string(db);
    }
    [[nodiscard]] std::string socket_path() const { return (m_dir / "redis.sock").string(); }
    [[nodiscard]] pid_t pid() const noexcept { return m_pid; }
    [[nodiscard]] bool running() const noexcept { return m_pid > 0; }

    /// Stops the server (SIGKILL by default: a crash, not a clean shutdown).
    void stop(int signal = SIGKILL) {
        stop_process(m_pid, signal);
        m_pid = -1;
    }

    /// Starts it again on the same port.
    void restart() {
        stop();
        for (int attempt = 0; attempt < 50; ++attempt) {
            if (try_start()) {
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        throw std::runtime_error("redis-server did not restart on port " + std::to_string(m_port));
    }

private:
    bool try_start() {
        std::vector<std::string> argv{redis_server_binary,
                                      "--port", std::to_string(m_port),
                                      "--bind", "127.0.0.1",
                                      "--save", "",
                                      "--appendonly", "no",
                                      "--dir", m_dir.string(),
                                      "--unixsocket", socket_path(),
                                      "--daemonize", "no"};
        argv.insert(argv.end(), m_extra.begin(), m_extra.end());
        m_pid = spawn_process(argv, (m_dir / "redis.log").string());
        for (int i = 0; i < 500; ++i) {
            if (redis_answers_ping(m_port)) {
                return true;
            }
            if (process_gone(m_pid)) {
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        stop_process(m_pid, SIGKILL);
        m_pid = -1;
        return false;
    }

    std::vector<std::string> m_extra;
    std::filesystem::path m_dir;
    std::uint16_t m_port = 0;
    pid_t m_pid = -1;
};

}  // namespace corio_test
