#pragma once

// The one place that picks the backend. Define CORIO_REACTOR_EPOLL,
// CORIO_REACTOR_KQUEUE or CORIO_REACTOR_IO_URING (CMake:
// -DCORIO_REACTOR=epoll|kqueue|io_uring) to force one. io_uring needs
// liburing (linked by CMake's corio target then) and falls back to epoll at
// run time when the kernel refuses a ring.

#include <corio/detail/reactor/backend.hpp>

#if defined(CORIO_REACTOR_EPOLL) + defined(CORIO_REACTOR_KQUEUE) + defined(CORIO_REACTOR_IO_URING) > 1
#error "corio: define at most one of CORIO_REACTOR_EPOLL, CORIO_REACTOR_KQUEUE and CORIO_REACTOR_IO_URING"
#endif

#if !defined(CORIO_REACTOR_EPOLL) && !defined(CORIO_REACTOR_KQUEUE) && !defined(CORIO_REACTOR_IO_URING)
#if defined(__linux__)
#define CORIO_REACTOR_EPOLL 1
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__) || \
    defined(__DragonFly__)
#define CORIO_REACTOR_KQUEUE 1
#else
#error "corio: no readiness backend for this platform (needs epoll or kqueue)"
#endif
#endif

#if defined(CORIO_REACTOR_IO_URING)
#include <corio/detail/reactor/io_uring_or_epoll.hpp>
namespace corio::detail {
using reactor = io_uring_or_epoll_reactor;
}
#elif defined(CORIO_REACTOR_EPOLL)
#include <corio/detail/reactor/epoll.hpp>
namespace corio::detail {
using reactor = epoll_reactor;
}
#else
#include <corio/detail/reactor/kqueue.hpp>
namespace corio::detail {
using reactor = kqueue_reactor;
}
#endif
