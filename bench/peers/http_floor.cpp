// http_floor: the floor of the HTTP benchmarks: a
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

#include "epoll_floor.hpp"

#include <string>
#include <string_view>

namespace {

using floor_server::buffer_size;
using floor_server::flush;

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

int main(int argc, char** argv) { return floor_server::serve<connection>("http_floor", argc, argv, on_readable); }
