// http_load: a fixed-count HTTP/1.1 keep-alive load for instruction counts:
// with the server under `valgrind --tool=callgrind`, a run of
// exactly N requests divides the server's instructions by N, which wrk (a
// duration, and requests still in flight when it stops) cannot do.
//
//   http_load PORT [CONNECTIONS=100] [REQUESTS_PER_CONNECTION=100] [PATH=/]
//
// Opens CONNECTIONS connections, then in lock step sends one request on every
// connection (the request wrk sends: "GET PATH HTTP/1.1" with Host) and reads one
// whole response (head, then Content-Length bytes; it must be a 200) from
// each, REQUESTS times.
// So the server sees up to CONNECTIONS ready sockets per wake-up, as under
// wrk -c CONNECTIONS. Plain C++ and blocking sockets, independent of corio.
// Prints `requests<TAB>N` on success; exits 1 on any error.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "http_load: %s: %s\n", what, std::strerror(errno));
    std::exit(1);
}

// Reads one response from `fd`; `carry` keeps bytes read past it (none with
// one request in flight, but cheap to be right).
void read_response(int fd, std::string& carry) {
    for (;;) {
        const std::size_t head_end = carry.find("\r\n\r\n");
        if (head_end != std::string::npos) {
            const std::string_view head(carry.data(), head_end);
            if (!head.starts_with("HTTP/1.1 200 ")) {
                std::fprintf(stderr, "http_load: the server answered %.*s\n",
                             static_cast<int>(head.find("\r\n")), head.data());
                std::exit(1);
            }
            std::size_t length = 0;
            const std::size_t at = head.find("Content-Length:");
            if (at != std::string_view::npos) {
                length = std::strtoul(carry.c_str() + at + 15, nullptr, 10);
            }
            const std::size_t total = head_end + 4 + length;
            if (carry.size() >= total) {
                carry.erase(0, total);
                return;
            }
        }
        char buffer[4096];
        const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) {
            die(n == 0 ? "server closed" : "recv");
        }
        carry.append(buffer, static_cast<std::size_t>(n));
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || argc > 5) {
        std::fprintf(stderr, "usage: http_load PORT [CONNECTIONS] [REQUESTS_PER_CONNECTION] [PATH]\n");
        return 2;
    }
    const int port = std::atoi(argv[1]);
    const int connections = argc > 2 ? std::atoi(argv[2]) : 100;
    const int rounds = argc > 3 ? std::atoi(argv[3]) : 100;
    const std::string path = argc > 4 ? argv[4] : "/";
    const std::string request =
        "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n\r\n";

    std::vector<int> fds;
    std::vector<std::string> carries(static_cast<std::size_t>(connections));
    for (int i = 0; i < connections; ++i) {
        const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            die("socket");
        }
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(static_cast<std::uint16_t>(port));
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) < 0) {
            die("connect");
        }
        const int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fds.push_back(fd);
    }
    for (int round = 0; round < rounds; ++round) {
        for (const int fd : fds) {
            if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
                die("send");
            }
        }
        for (std::size_t i = 0; i < fds.size(); ++i) {
            read_response(fds[i], carries[i]);
        }
    }
    for (const int fd : fds) {
        close(fd);
    }
    std::printf("requests\t%lld\n", static_cast<long long>(connections) * rounds);
    return 0;
}
