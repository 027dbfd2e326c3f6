// The machinery both floor servers (echo_floor, http_floor) share: a
// hand-written single-threaded edge-triggered epoll loop in plain C++, no
// coroutines, no library. Each server supplies its connection type (an `fd`
// and a `pending` string of bytes the kernel did not take yet) and what to do
// when a connection is readable.
//
// Every socket is registered once for both directions (no epoll_ctl per
// operation); bytes a send could not place wait for the writable edge.
#pragma once

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
#include <vector>

namespace floor_server {

constexpr std::size_t buffer_size = 16 * 1024;

inline const char* program_name = "floor";

[[noreturn]] inline void die(const char* what) {
    std::fprintf(stderr, "%s: %s: %s\n", program_name, what, std::strerror(errno));
    std::exit(1);
}

inline int listen_on(std::uint16_t port) {
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

// Sends what is pending; false when the connection failed.
template <class Connection>
bool flush(Connection& c) {
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

// Serves 127.0.0.1:argv[1] until killed. on_readable(c, buffer) handles a
// readable connection (buffer holds buffer_size bytes) and returns false when
// the connection is finished.
template <class Connection>
int serve(const char* name, int argc, char** argv, bool (*on_readable)(Connection&, char*)) {
    program_name = name;
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s PORT\n", name);
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
                        break;  // EAGAIN (or a transient error: the next edge retries)
                    }
                    const int one = 1;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    auto* c = new Connection{};
                    c->fd = fd;
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
            auto* c = static_cast<Connection*>(e.data.ptr);
            bool alive = (e.events & EPOLLERR) == 0;
            if (alive && (e.events & EPOLLOUT) != 0 && !c->pending.empty()) {
                alive = flush(*c);
            }
            if (alive && (e.events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) != 0) {
                alive = on_readable(*c, buffer.data());
            }
            if (!alive) {
                close(c->fd);  // closing removes it from the epoll set
                delete c;
            }
        }
    }
}

}  // namespace floor_server
