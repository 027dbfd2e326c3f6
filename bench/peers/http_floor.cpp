// http_floor: the floor of the HTTP benchmarks (issue 6, parts 3b and 3c): a
// hand-written single-threaded epoll HTTP/1.1 server in plain C++, no
// coroutines, no library. It answers every request head (everything up to
// "\r\n\r\n"; request bodies are not supported) with the same fixed
// hello-world response, keeps every connection alive, and handles pipelined
// requests (one send per batch of requests read together).
//
//   http_floor PORT      serve on 127.0.0.1:PORT until killed
//
// Sockets are registered once, edge-triggered, for both directions; a read is
// repeated only after a full buffer (a short read means drained), so a
// keep-alive request costs one recv and one send, plus a share of one
// epoll_wait. It is also the target server of the HTTP client benchmark.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr std::size_t buffer_size = 16 * 1024;
constexpr std::size_t max_head = 64 * 1024;

// The response every server of the HTTP benchmark sends (body 13 bytes).
constexpr std::string_view response =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Length: 13\r\n"
    "\r\n"
    "Hello, World!";

struct connection {
    int fd = -1;
    std::string input;    // bytes of a request head not complete yet
    std::string pending;  // response bytes the kernel did not take yet
};

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "http_floor: %s: %s\n", what, std::strerror(errno));
    std::exit(1);
}

int listen_on(std::uint16_t port) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        die("socket");
    }
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) < 0) {
        die("bind");
    }
    if (listen(fd, 1024) < 0) {
        die("listen");
    }
    return fd;
}

bool flush(connection& c) {
    while (!c.pending.empty()) {
        const ssize_t n = send(c.fd, c.pending.data(), c.pending.size(), MSG_NOSIGNAL);
        if (n > 0) {
            c.pending.erase(0, static_cast<std::size_t>(n));
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
        }
    }
    return true;
}

// Answers the complete request heads in `data`; keeps an incomplete tail in
// c.input. False when a head grows beyond max_head.
bool on_data(connection& c, std::string_view data) {
    std::string_view rest = data;
    if (!c.input.empty()) {
        c.input.append(data);
        rest = c.input;
    }
    std::size_t from = 0;
    for (;;) {
        const std::size_t end = rest.find("\r\n\r\n", from);
        if (end == std::string_view::npos) {
            break;
        }
        c.pending.append(response);
        from = end + 4;
    }
    std::string tail(rest.substr(from));
    c.input = std::move(tail);
    return c.input.size() <= max_head;
}

bool on_readable(connection& c, char* buffer) {
    for (;;) {
        const ssize_t n = recv(c.fd, buffer, buffer_size, 0);
        if (n > 0) {
            if (!on_data(c, std::string_view(buffer, static_cast<std::size_t>(n))) || !flush(c)) {
                return false;
            }
            if (static_cast<std::size_t>(n) < buffer_size) {
                return true;  // short read: drained
            }
            continue;
        }
        if (n == 0) {
            return false;
        }
        if (errno == EINTR) {
            continue;
        }
        return errno == EAGAIN || errno == EWOULDBLOCK;
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: http_floor PORT\n");
        return 2;
    }
    const int listener = listen_on(static_cast<std::uint16_t>(std::atoi(argv[1])));
    const int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd < 0) {
        die("epoll_create1");
    }
    epoll_event event{};
    event.events = EPOLLIN | EPOLLET;
    event.data.ptr = nullptr;  // the listener
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listener, &event) < 0) {
        die("epoll_ctl");
    }
    std::vector<epoll_event> events(256);
    std::vector<char> buffer(buffer_size);
    for (;;) {
        const int count = epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), -1);
        if (count < 0) {
            if (errno == EINTR) {
                continue;
            }
            die("epoll_wait");
        }
        for (int i = 0; i < count; ++i) {
            const epoll_event& e = events[static_cast<std::size_t>(i)];
            if (e.data.ptr == nullptr) {
                for (;;) {
                    const int fd = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0) {
                        break;
                    }
                    const int one = 1;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    auto* c = new connection{fd, {}, {}};
                    epoll_event add{};
                    add.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
                    add.data.ptr = c;
                    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &add) < 0) {
                        close(fd);
                        delete c;
                    }
                }
                continue;
            }
            auto* c = static_cast<connection*>(e.data.ptr);
            bool alive = (e.events & EPOLLERR) == 0;
            if (alive && (e.events & EPOLLOUT) != 0 && !c->pending.empty()) {
                alive = flush(*c);
            }
            if (alive && (e.events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) != 0) {
                alive = on_readable(*c, buffer.data());
            }
            if (!alive) {
                close(c->fd);
                delete c;
            }
        }
    }
}
