#pragma once

// The one platform call corio::pg makes itself: whether libpq's socket still
// holds unread input. The reactor reports edges, and libpq may leave bytes in
// the socket after a read, so before sleeping on readability the driver asks.

#include <poll.h>

namespace corio::pg::detail {

[[nodiscard]] inline bool socket_has_input(int fd) noexcept {
    pollfd entry{};
    entry.fd = fd;
    entry.events = POLLIN;
    return ::poll(&entry, 1, 0) > 0 && (entry.revents & (POLLIN | POLLHUP | POLLERR)) != 0;
}

}  // namespace corio::pg::detail
