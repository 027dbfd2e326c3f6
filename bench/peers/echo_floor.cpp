// echo_floor: the floor of the TCP echo benchmark: a
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

#include "epoll_floor.hpp"

#include <string>

namespace {

using floor_server::buffer_size;
using floor_server::flush;

struct connection {
    int fd = -1;
    std::string pending;  // bytes the kernel did not take yet
};

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

int main(int argc, char** argv) { return floor_server::serve<connection>("echo_floor", argc, argv, on_readable); }
