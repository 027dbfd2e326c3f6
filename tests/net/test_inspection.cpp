// Tests of corio/net/inspection.hpp and tools/corio-ps: a process opens its
// inspection socket, and corio-ps (run as a separate program against this
// test's own PID) prints its task tree and metrics.

#include "catch.hpp"
#include "test_support.hpp"

#include <corio/debug.hpp>
#include <corio/detail/inspection_path.hpp>
#include <corio/net/inspection.hpp>
#include <corio/net/unix.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/thread_pool.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <utility>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CORIO_PS_PATH
#error "CORIO_PS_PATH (the corio-ps binary) is set by tests/CMakeLists.txt"
#endif

namespace {

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using corio_test::command_result;
using corio_test::run_command;
using corio_test::run_with_watchdog;

std::string corio_ps(long pid, std::string_view option = "") {
    return std::string(CORIO_PS_PATH) + " " + std::to_string(pid) + (option.empty() ? "" : " ") +
           std::string(option);
}

corio::task<void> idle(std::chrono::seconds how_long) {
    co_await corio::sleep(how_long);
}

}  // namespace

TEST_CASE("corio-ps prints the task tree of a process that opened its inspection socket",
          "[inspection]") {
    auto body = []() -> corio::task<void> {
        auto worker = corio::create_task(idle(10s), "inspected worker");
        auto server = co_await corio::start_inspection();
        const std::string path = corio::detail::inspection_socket_path(::getpid());
        struct stat st {};
        REQUIRE(::stat(path.c_str(), &st) == 0);
        CHECK((st.st_mode & 0777) == 0600);  // only this user may look

        const command_result tree = co_await run_command(corio_ps(::getpid()));
        CHECK(tree.status == 0);
        CHECK_THAT(tree.output, Contains("pid " + std::to_string(::getpid()) + ", "));
        CHECK_THAT(tree.output, Contains("inspected worker (pending"));

        const command_result metrics = co_await run_command(corio_ps(::getpid(), "--metrics"));
        CHECK(metrics.status == 0);
        CHECK_THAT(metrics.output, Contains("# TYPE corio_tasks_created_total counter"));

        server.close();
        co_await server.wait_closed();
        CHECK(::stat(path.c_str(), &st) != 0);  // the socket file went with the server
        worker.cancel();
    };
    run_with_watchdog(body(), 20s);
}

TEST_CASE("corio-ps says what is wrong with a process it cannot reach, or bad arguments",
          "[inspection]") {
    auto body = []() -> corio::task<void> {
        // Our own PID, but no inspection socket open.
        const command_result missing = co_await run_command(corio_ps(::getpid()));
        CHECK(missing.status == 1);
        CHECK_THAT(missing.output,
                   Contains("corio-ps: cannot reach process " + std::to_string(::getpid())));
        CHECK_THAT(missing.output, Contains("corio::start_inspection()"));

        const command_result not_a_pid = co_await run_command(std::string(CORIO_PS_PATH) + " abc");
        CHECK(not_a_pid.status == 2);
        CHECK_THAT(not_a_pid.output, Contains("'abc' is not a process id"));

        const command_result bad_option =
            co_await run_command(corio_ps(::getpid(), "--frobnicate"));
        CHECK(bad_option.status == 2);
        CHECK_THAT(bad_option.output, Contains("unknown option '--frobnicate'"));
    };
    run_with_watchdog(body(), 20s);
}

TEST_CASE("the inspection socket answers a raw client and rejects unknown commands",
          "[inspection]") {
    auto body = []() -> corio::task<void> {
        auto server = co_await corio::start_inspection();
        const std::string path = corio::detail::inspection_socket_path(::getpid());
        auto stream = co_await corio::open_unix_connection(path);
        co_await stream.write("frobnicate\n");
        const std::string answer = co_await stream.read();
        CHECK_THAT(answer, Contains("unknown command 'frobnicate'"));
        server.close();
        co_await server.wait_closed();
    };
    run_with_watchdog(body(), 20s);
}

TEST_CASE("start_inspection binds only in a directory closed to other users", "[inspection]") {
    char pattern[] = "/tmp/corio-inspection-test-XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    const std::string runtime_dir = pattern;
    const std::string missing_dir = runtime_dir + "/created";
    const char* saved = std::getenv("XDG_RUNTIME_DIR");
    const std::string saved_value = saved != nullptr ? saved : "";

    // Open to others: refused, naming the directory.
    REQUIRE(::chmod(pattern, 0755) == 0);
    ::setenv("XDG_RUNTIME_DIR", runtime_dir.c_str(), 1);
    std::string refusal;
    auto refused = [&]() -> corio::task<void> {
        try {
            auto server = co_await corio::start_inspection();
            server.close();
            co_await server.wait_closed();
        } catch (const std::runtime_error& error) {
            refusal = error.what();
        }
    };
    run_with_watchdog(refused(), 20s);
    CHECK_THAT(refusal, Contains(runtime_dir + " is not a directory of this user closed to others"));

    // Missing: created with mode 0700, and the socket is bound inside it.
    REQUIRE(::chmod(pattern, 0700) == 0);
    ::setenv("XDG_RUNTIME_DIR", missing_dir.c_str(), 1);
    mode_t created_mode = 0;
    bool socket_inside = false;
    auto created = [&]() -> corio::task<void> {
        auto server = co_await corio::start_inspection();
        struct stat status {};
        if (::stat(missing_dir.c_str(), &status) == 0) {
            created_mode = status.st_mode & 07777;
        }
        const std::string path = corio::detail::inspection_socket_path(::getpid());
        socket_inside = path.rfind(missing_dir + "/", 0) == 0 && ::stat(path.c_str(), &status) == 0 &&
                        S_ISSOCK(status.st_mode);
        server.close();
        co_await server.wait_closed();
    };
    run_with_watchdog(created(), 20s);
    CHECK(created_mode == 0700);
    CHECK(socket_inside);

    if (saved != nullptr) {
        ::setenv("XDG_RUNTIME_DIR", saved_value.c_str(), 1);
    } else {
        ::unsetenv("XDG_RUNTIME_DIR");
    }
    ::rmdir(missing_dir.c_str());
    ::rmdir(runtime_dir.c_str());
}
