// echo_floor: the floor of the TCP echo benchmark (issue 6, part 3a): a
// hand-written single-threaded epoll echo server in plain C++, no coroutines,
// no library. Shows what the kernel costs per round trip.
//
//   echo_floor PORT      serve on 127.0.0.1:PORT until killed
//
// Every socket is registered once, edge-triggered, for both directions (no
// epoll_ctl per operation). On readability it reads until a short read (a
// stream socket returned less than asked: drained for now, and the next
// arrival raises a new edge), echoing each piece at once; bytes the kernel
// would not take wait for the writable edge. So a 64-byte ping-pong costs one
// recv and one send, plus a share of one epoll_wait.

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
#include <memory>
#include <string>
#include <vector>

namespace {

constexpr std::size_t buffer_size = 16 * 1024;

struct connection {
    int fd = -1;
    std::string pending;  // bytes the kernel did not take yet
};

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "echo_floor: %s: %s\n", what, std::strerror(errno));
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

// Sends what is pending; false when the connection failed.
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

// Reads and echoes until drained; false when the connection is finished.
bool on_readable(connection& c, char* buffer) {
    for (;;) {
        const ssize_t n = recv(c.fd, buffer, buffer_size, 0);
        if (n > 0) {
            if (c.pending.empty()) {
                const ssize_t sent = send(c.fd, buffer, static_cast<std::size_t>(n), MSG_NOSIGNAL);
                if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                    return false;
                }
                const std::size_t done = sent > 0 ? static_cast<std::size_t>(sent) : 0;
                c.pending.append(buffer + done, static_cast<std::size_t>(n) - done);
            } else {
                c.pending.append(buffer, static_cast<std::size_t>(n));
                if (!flush(c)) {
                    return false;
                }
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
        std::fprintf(stderr, "usage: echo_floor PORT\n");
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
                    auto* c = new connection{fd, {}};
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
                close(c->fd);  // closing removes it from the epoll set
                delete c;
            }
        }
    }
}
