// Test fixtures for the HTTP client: real servers nobody here wrote (nginx and
// python3 -m http.server), started from the test on a free loopback port in a
// temporary directory, and stopped (and the directory removed) on destruction.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <string>
#include <thread>
#include <vector>

namespace corio_test::http_fixtures {

/// A loopback port free right now (bound to port 0, then released).
inline std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

/// True once something accepts TCP connections on 127.0.0.1:port.
inline bool port_open(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
}

/// A temporary directory, removed with everything in it on destruction.
class temp_dir {
public:
    temp_dir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "corio-http-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        m_path = pattern;
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    ~temp_dir() {
        std::error_code ignored;
        std::filesystem::remove_all(m_path, ignored);
    }
    [[nodiscard]] const std::filesystem::path& path() const noexcept { return m_path; }

    void write(const std::string& relative, const std::string& content) const {
        const auto file = m_path / relative;
        std::filesystem::create_directories(file.parent_path());
        std::ofstream(file, std::ios::binary) << content;
    }

private:
    std::filesystem::path m_path;
};

/// A child process (fork + execv) killed with SIGTERM and reaped on destruction.
class child_process {
public:
    child_process() = default;
    explicit child_process(std::vector<std::string> argv) {
        std::vector<char*> args;
        for (std::string& a : argv) {
            args.push_back(a.data());
        }
        args.push_back(nullptr);
        m_pid = ::fork();
        if (m_pid == 0) {
            const int devnull = ::open("/dev/null", O_RDWR);
            ::dup2(devnull, 1);
            ::dup2(devnull, 2);
            ::execv(args[0], args.data());
            ::_exit(127);
        }
    }
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;
    ~child_process() { stop(); }

    [[nodiscard]] bool running() const noexcept { return m_pid > 0; }

    void stop() noexcept {
        if (m_pid > 0) {
            ::kill(m_pid, SIGTERM);
            int status = 0;
            for (int i = 0; i < 200; ++i) {
                if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
                    m_pid = -1;
                    return;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
            ::kill(m_pid, SIGKILL);
            ::waitpid(m_pid, &status, 0);
            m_pid = -1;
        }
    }

private:
    pid_t m_pid = -1;
};

/// Waits (up to ~5 s) until the port accepts connections.
inline bool wait_for_port(std::uint16_t port) {
    for (int i = 0; i < 250; ++i) {
        if (port_open(port)) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

/// Bytes 0, 1, ..., 250, 0, 1, ...: a large body whose every byte is checkable.
inline std::string pattern_bytes(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) {
        s[i] = static_cast<char>(i % 251);
    }
    return s;
}

/// nginx serving a temp dir on a free loopback port:
///   /index.html, /large.bin (large_size bytes of pattern_bytes), /text.txt
///   /redirect          → 301 to /index.html
///   /chunked/text.txt  → text.txt through sub_filter (no Content-Length: chunked)
///   /gz/text.txt       → text.txt gzip-compressed (chunked)
/// keep-alive on (nginx's default). available() is false when nginx is
/// missing or did not start (tests then skip).
class nginx_server {
public:
    static constexpr const char* binary = "/usr/sbin/nginx";
    static constexpr std::size_t large_size = 3 * 1024 * 1024 + 17;

    nginx_server() {
        if (::access(binary, X_OK) != 0) {
            return;
        }
        m_port = free_port();
        const auto& d = m_dir.path();
        m_dir.write("www/index.html", "<html><body>corio nginx test</body></html>\n");
        m_dir.write("www/large.bin", pattern_bytes(large_size));
        std::string text;
        for (int i = 0; i < 2000; ++i) {
            text += "line " + std::to_string(i) + " of a compressible text file\n";
        }
        m_text = text;
        m_dir.write("www/text.txt", text);
        m_dir.write("www/chunked/text.txt", text);
        m_dir.write("www/gz/text.txt", text);
        std::filesystem::create_directories(d / "tmp");
        const std::string conf = "daemon off;\nmaster_process off;\nworker_processes 1;\npid " +
                                 (d / "nginx.pid").string() + ";\nerror_log " + (d / "error.log").string() +
                                 ";\nevents { worker_connections 256; }\nhttp {\n"
                                 "  access_log off;\n"
                                 "  client_body_temp_path " + (d / "tmp/body").string() + ";\n"
                                 "  proxy_temp_path " + (d / "tmp/proxy").string() + ";\n"
                                 "  fastcgi_temp_path " + (d / "tmp/fastcgi").string() + ";\n"
                                 "  uwsgi_temp_path " + (d / "tmp/uwsgi").string() + ";\n"
                                 "  scgi_temp_path " + (d / "tmp/scgi").string() + ";\n"
                                 "  types { text/html html; text/plain txt; application/octet-stream bin; }\n"
                                 "  keepalive_timeout 30s;\n"
                                 "  server {\n"
                                 "    listen 127.0.0.1:" + std::to_string(m_port) + ";\n"
                                 "    root " + (d / "www").string() + ";\n"
                                 "    location = /redirect { return 301 /index.html; }\n"
                                 "    location /chunked/ { sub_filter 'line' 'LINE'; sub_filter_once off;"
                                 " sub_filter_types text/plain; }\n"
                                 "    location /gz/ { gzip on; gzip_types text/plain; gzip_min_length 1; }\n"
                                 "  }\n}\n";
        m_dir.write("nginx.conf", conf);
        m_process = std::make_unique<child_process>(std::vector<std::string>{
            binary, "-p", d.string(), "-c", (d / "nginx.conf").string()});
        m_available = wait_for_port(m_port);
    }

    [[nodiscard]] bool available() const noexcept { return m_available; }
    [[nodiscard]] std::uint16_t port() const noexcept { return m_port; }
    [[nodiscard]] std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(m_port) + path;
    }
    [[nodiscard]] const std::string& text() const noexcept { return m_text; }

private:
    temp_dir m_dir;
    std::uint16_t m_port = 0;
    std::string m_text;
    std::unique_ptr<child_process> m_process;
    bool m_available = false;
};

/// python3 -m http.server serving a temp dir (HTTP/1.0, one connection per
/// request): /hello.txt and /large.bin.
class python_http_server {
public:
    static constexpr const char* binary = "/usr/bin/python3";
    static constexpr std::size_t large_size = 1024 * 1024 + 3;

    python_http_server() {
        if (::access(binary, X_OK) != 0) {
            return;
        }
        m_port = free_port();
        m_dir.write("hello.txt", "hello from python\n");
        m_dir.write("large.bin", pattern_bytes(large_size));
        m_process = std::make_unique<child_process>(
            std::vector<std::string>{binary, "-m", "http.server", std::to_string(m_port), "--bind", "127.0.0.1",
                                     "--directory", m_dir.path().string()});
        m_available = wait_for_port(m_port);
    }

    [[nodiscard]] bool available() const noexcept { return m_available; }
    [[nodiscard]] std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(m_port) + path;
    }

private:
    temp_dir m_dir;
    std::uint16_t m_port = 0;
    std::unique_ptr<child_process> m_process;
    bool m_available = false;
};

}  // namespace corio_test::http_fixtures
