// echo_load: the one TCP echo load generator of bench/run.
// Plain C++ and epoll, independent of corio, so every echo server is driven
// by the same code.
//
// Opens N connections; each sends a message of `size` bytes and waits for all
// of it to come back before sending the next one (ping-pong). Counts round
// trips over a measured window that starts after a warm-up, and reads the
// server's CPU time (utime + stime of /proc/<pid>/stat) at both ends of the
// window, so the CPU per request covers exactly the measured round trips.
//
//   echo_load --port P [--host 127.0.0.1] [--connections 100] [--size 64]
//             [--duration 5] [--warmup 0.5] [--server-pid PID] [--requests N]
//
// With --requests N it sends exactly N round trips in total (no warm-up, no
// time limit): used to count the server's system calls per round trip.
//
// Output, one `key<TAB>value` per line: round_trips, seconds, requests_per_s,
// server_cpu_s (with --server-pid), server_cpu_us_per_request.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct options {
    std::string host = "127.0.0.1";
    int port = 0;
    int connections = 100;
    std::size_t size = 64;
    double duration = 5.0;
    double warmup = 0.5;
    long server_pid = 0;
    std::int64_t requests = 0;  // > 0: fixed number of round trips
};

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "echo_load: %s\n", what.c_str());
    std::exit(1);
}

[[noreturn]] void die_errno(const std::string& what) {
    die(what + ": " + std::strerror(errno));
}

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                die(std::string(arg) + " needs a value");
            }
            return argv[++i];
        };
        if (arg == "--host") {
            o.host = value();
        } else if (arg == "--port") {
            o.port = std::stoi(value());
        } else if (arg == "--connections") {
            o.connections = std::stoi(value());
        } else if (arg == "--size") {
            o.size = std::stoul(value());
        } else if (arg == "--duration") {
            o.duration = std::stod(value());
        } else if (arg == "--warmup") {
            o.warmup = std::stod(value());
        } else if (arg == "--server-pid") {
            o.server_pid = std::stol(value());
        } else if (arg == "--requests") {
            o.requests = std::stoll(value());
        } else {
            die("unknown argument " + std::string(arg));
        }
    }
    if (o.port <= 0 || o.connections <= 0 || o.size == 0) {
        die("usage: echo_load --port P [--connections N] [--size B] [--duration S] [--warmup S] "
            "[--server-pid PID] [--requests N]");
    }
    return o;
}

/// utime + stime of a process, in seconds (all its threads).
double process_cpu_seconds(long pid) {
    if (pid <= 0) {
        return 0.0;
    }
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto close = text.rfind(')');
    if (close == std::string::npos) {
        die("cannot read /proc/" + std::to_string(pid) + "/stat");
    }
    std::istringstream fields(text.substr(close + 2));
    std::string field;
    // After "pid (comm) ", field 3 (state) comes first; utime and stime are fields 14 and 15.
    unsigned long long utime = 0;
    unsigned long long stime = 0;
    for (int index = 3; index <= 15 && fields >> field; ++index) {
        if (index == 14) {
            utime = std::stoull(field);
        } else if (index == 15) {
            stime = std::stoull(field);
        }
    }
    return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct connection {
    int fd = -1;
    std::size_t received = 0;  // bytes of the current echo received so far
    bool active = true;
};

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(o.port));
    if (inet_pton(AF_INET, o.host.c_str(), &address.sin_addr) != 1) {
        die("bad IPv4 address " + o.host);
    }

    const int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd < 0) {
        die_errno("epoll_create1");
    }
    std::vector<connection> connections(static_cast<std::size_t>(o.connections));
    for (std::size_t i = 0; i < connections.size(); ++i) {
        const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            die_errno("socket");
        }
        if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) < 0) {
            die_errno("connect " + o.host + ":" + std::to_string(o.port));
        }
        const int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        epoll_event event{};
        event.events = EPOLLIN;
        event.data.u64 = i;
        if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0) {
            die_errno("epoll_ctl");
        }
        connections[i].fd = fd;
    }

    const std::string message(o.size, 'x');
    std::vector<char> buffer(o.size < 65536 ? 65536 : o.size);
    std::int64_t sent = 0;          // messages sent (fixed-count mode stops at o.requests)
    std::int64_t round_trips = 0;   // echoes fully received
    auto send_message = [&](connection& c) {
        const ssize_t n = send(c.fd, message.data(), message.size(), MSG_NOSIGNAL);
        if (n != static_cast<ssize_t>(message.size())) {
            // One message in flight per connection: the send buffer is empty,
            // so a short send means something is badly wrong.
            die_errno("send (short or failed)");
        }
        ++sent;
    };

    const bool fixed = o.requests > 0;
    std::size_t active = 0;
    for (connection& c : connections) {
        if (fixed && sent >= o.requests) {
            c.active = false;
            continue;
        }
        send_message(c);
        ++active;
    }

    const auto start = clock_type::now();
    bool measuring = fixed;  // fixed-count mode measures from the first message
    auto window_start = start;
    std::int64_t window_base = 0;
    double cpu_base = fixed ? process_cpu_seconds(o.server_pid) : 0.0;
    std::vector<epoll_event> events(connections.size());
    double elapsed = 0.0;
    double cpu_end = 0.0;
    std::int64_t window_end = 0;
    bool draining = false;  // the window is over: wait for the echoes in flight, send nothing new
    auto drain_start = start;
    while (active > 0) {
        const int count = epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), 100);
        if (count < 0) {
            if (errno == EINTR) {
                continue;
            }
            die_errno("epoll_wait");
        }
        for (int e = 0; e < count; ++e) {
            connection& c = connections[events[static_cast<std::size_t>(e)].data.u64];
            for (;;) {
                const ssize_t n = recv(c.fd, buffer.data(), buffer.size(), 0);
                if (n > 0) {
                    c.received += static_cast<std::size_t>(n);
                    if (c.received > o.size) {
                        die("the server sent more bytes than it was sent");
                    }
                    if (c.received == o.size) {
                        c.received = 0;
                        ++round_trips;
                        if (draining || (fixed && sent >= o.requests)) {
                            c.active = false;
                            --active;
                            epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c.fd, nullptr);
                            break;
                        }
                        send_message(c);
                    }
                    continue;
                }
                if (n == 0) {
                    die("the server closed a connection");
                }
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    break;
                }
                if (errno == EINTR) {
                    continue;
                }
                die_errno("recv");
            }
        }
        if (!fixed) {
            const double now = seconds_since(start);
            if (!measuring && now >= o.warmup) {
                measuring = true;
                window_start = clock_type::now();
                window_base = round_trips;
                cpu_base = process_cpu_seconds(o.server_pid);
            } else if (measuring && !draining && seconds_since(window_start) >= o.duration) {
                // Closing a socket with an echo still unread would reset the
                // connection; let the echoes in flight arrive first.
                elapsed = seconds_since(window_start);
                cpu_end = process_cpu_seconds(o.server_pid);
                window_end = round_trips;
                draining = true;
                drain_start = clock_type::now();
            } else if (draining && seconds_since(drain_start) > 2.0) {
                break;
            }
        }
    }
    if (fixed) {
        elapsed = seconds_since(window_start);
        cpu_end = process_cpu_seconds(o.server_pid);
        window_end = round_trips;
    }
    const double cpu = cpu_end - cpu_base;
    const std::int64_t measured = window_end - window_base;
    for (connection& c : connections) {
        close(c.fd);
    }
    close(epoll_fd);

    std::printf("round_trips\t%lld\n", static_cast<long long>(measured));
    std::printf("seconds\t%.6f\n", elapsed);
    std::printf("requests_per_s\t%.1f\n", static_cast<double>(measured) / elapsed);
    if (o.server_pid > 0) {
        std::printf("server_cpu_s\t%.3f\n", cpu);
        std::printf("server_cpu_us_per_request\t%.4f\n", measured > 0 ? cpu * 1e6 / static_cast<double>(measured) : 0.0);
    }
    return 0;
}
