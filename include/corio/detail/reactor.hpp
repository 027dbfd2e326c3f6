#pragma once

// The one place that picks the readiness backend. Define CORIO_REACTOR_EPOLL
// or CORIO_REACTOR_KQUEUE (CMake: -DCORIO_REACTOR=epoll|kqueue) to force one.

#include <corio/detail/reactor/backend.hpp>

#if defined(CORIO_REACTOR_EPOLL) && defined(CORIO_REACTOR_KQUEUE)
#error "corio: define at most one of CORIO_REACTOR_EPOLL and CORIO_REACTOR_KQUEUE"
#endif

#if !defined(CORIO_REACTOR_EPOLL) && !defined(CORIO_REACTOR_KQUEUE)
#if defined(__linux__)
#define CORIO_REACTOR_EPOLL 1
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__) || \
    defined(__DragonFly__)
#define CORIO_REACTOR_KQUEUE 1
#else
#error "corio: no readiness backend for this platform (needs epoll or kqueue)"
#endif
#endif

#if defined(CORIO_REACTOR_EPOLL)
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
