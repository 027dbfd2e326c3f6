// Which readiness backend the build compiled in. tests/CMakeLists.txt defines
// CORIO_TEST_EXPECT_REACTOR_<EPOLL|KQUEUE> from the CMake option CORIO_REACTOR
// (or the platform's default), so this proves the option reaches the headers.

#include "catch.hpp"

#include <corio/detail/reactor.hpp>

#include <chrono>
#include <thread>
#include <type_traits>

#if defined(CORIO_TEST_EXPECT_REACTOR_IO_URING)
static_assert(std::is_same_v<corio::detail::reactor, corio::detail::io_uring_or_epoll_reactor>,
              "CORIO_REACTOR=io_uring did not select corio::detail::io_uring_or_epoll_reactor");
#elif defined(CORIO_TEST_EXPECT_REACTOR_KQUEUE)
static_assert(std::is_same_v<corio::detail::reactor, corio::detail::kqueue_reactor>,
              "CORIO_REACTOR=kqueue did not select corio::detail::kqueue_reactor");
#elif defined(CORIO_TEST_EXPECT_REACTOR_EPOLL)
static_assert(std::is_same_v<corio::detail::reactor, corio::detail::epoll_reactor>,
              "this build should run on corio::detail::epoll_reactor");
#else
#error "tests/CMakeLists.txt should define CORIO_TEST_EXPECT_REACTOR_EPOLL, _KQUEUE or _IO_URING"
#endif

TEST_CASE("the reactor compiled in is the backend the build selected", "[reactor]") {
#if defined(CORIO_REACTOR_KQUEUE)
    CHECK(std::is_same_v<corio::detail::reactor, corio::detail::kqueue_reactor>);
#if defined(__linux__)
    // Linux has no kqueue: the backend can only be running on the test emulation.
    CHECK(CORIO_KQUEUE_EMULATION == 1);
#endif
#elif defined(CORIO_REACTOR_IO_URING)
    CHECK(std::is_same_v<corio::detail::reactor, corio::detail::io_uring_or_epoll_reactor>);
#else
    CHECK(std::is_same_v<corio::detail::reactor, corio::detail::epoll_reactor>);
#endif
}

TEST_CASE("the selected reactor is woken from another thread", "[reactor][threads]") {
    corio::detail::reactor reactor;
    std::thread waker([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        reactor.wake();
    });
    const bool woken = reactor.wait(5000, [](void*, corio::detail::io_events) {});
    waker.join();
    CHECK(woken);
}
