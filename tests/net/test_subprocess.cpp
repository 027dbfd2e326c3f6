// Tests of corio/net/subprocess.hpp with real programs (cat, sh, true):
// pipes both ways, exit codes and signals, communicate, cwd and environment,
// many children at once, cancellation of wait, reaping, bad input.

#include "catch.hpp"
#include "test_support.hpp"

#include <corio/cancel.hpp>
#include <corio/combinators.hpp>
#include <corio/errors.hpp>
#include <corio/net/subprocess.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>

#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

using namespace std::chrono_literals;
using corio::task;
using corio_test::run_with_watchdog;
namespace sp = corio::subprocess;

namespace {

sp::options piped_all() {
    sp::options o;
    o.std_in = sp::redirect::pipe;
    o.std_out = sp::redirect::pipe;
    o.std_err = sp::redirect::pipe;
    return o;
}

// True when `pid` no longer exists as a zombie or a process of ours.
bool reaped(int pid) { return ::waitpid(pid, nullptr, WNOHANG) < 0 && errno == ECHILD; }

}  // namespace

TEST_CASE("subprocess: cat echoes lines through its pipes, EOF on stdin ends it", "[subprocess]") {
    auto body = []() -> task<void> {
        const std::vector<std::string> argv1{"cat"};  // named: g++ 12 rejects a braced list in co_await
        sp::process cat = co_await sp::exec(argv1, piped_all());
        CHECK(cat.pid() > 0);
        CHECK_FALSE(cat.returncode().has_value());
        co_await cat.std_in().write("hello\n");
        const std::string line = co_await cat.std_out().read_until("\n");
        CHECK(line == "hello\n");
        co_await cat.std_in().write("world\n");
        const std::string second = co_await cat.std_out().read_until("\n");
        CHECK(second == "world\n");
        cat.std_in().shutdown_write();
        const int code = co_await cat.wait();
        CHECK(code == 0);
        CHECK(cat.returncode() == 0);
        const std::string rest = co_await cat.std_out().read();
        CHECK(rest.empty());  // end of stream after the child exits
        CHECK(reaped(cat.pid()));
    };
    run_with_watchdog(body());
}

TEST_CASE("subprocess: shell exit codes, signals as negative returncodes", "[subprocess]") {
    auto body = []() -> task<void> {
        sp::process three = co_await sp::shell("exit 3");
        const int code = co_await three.wait();
        CHECK(code == 3);
        const std::vector<std::string> argv2{"sleep", "30"};  // named: g++ 12 rejects a braced list in co_await
        sp::process sleeper = co_await sp::exec(argv2);
        co_await corio::sleep(20ms);
        sleeper.kill();
        const int killed = co_await sleeper.wait();
        CHECK(killed == -SIGKILL);
        sleeper.kill();  // after the exit: nothing happens
        const std::vector<std::string> argv3{"sleep", "30"};  // named: g++ 12 rejects a braced list in co_await
        sp::process term = co_await sp::exec(argv3);
        term.terminate();
        const int terminated = co_await term.wait();
        CHECK(terminated == -SIGTERM);
    };
    run_with_watchdog(body());
}

TEST_CASE("subprocess: a child that ignores SIGTERM survives it and dies by SIGKILL", "[subprocess]") {
    auto body = []() -> task<void> {
        sp::options o;
        o.std_out = sp::redirect::pipe;
        sp::process stubborn =
            co_await sp::shell("trap '' TERM; echo ready; while :; do sleep 0.05; done", o);
        const std::string ready = co_await stubborn.std_out().read_until("\n");
        CHECK(ready == "ready\n");
        stubborn.terminate();
        bool still_running = false;
        try {
            (void)co_await corio::wait_for(stubborn.wait(), 200ms);
        } catch (const corio::timeout_error&) {
            still_running = true;
        }
        CHECK(still_running);
        CHECK_FALSE(stubborn.returncode().has_value());
        stubborn.kill();
        const int code = co_await stubborn.wait();
        CHECK(code == -SIGKILL);
    };
    run_with_watchdog(body());
}

TEST_CASE("subprocess: communicate feeds stdin and collects stdout and stderr together", "[subprocess]") {
    auto body = []() -> task<void> {
        // More than a socket buffer each way: reading one stream only while the
        // child blocks writing the other would deadlock.
        const std::string input = corio_test::pattern(3 * 1024 * 1024, 7);
        sp::process p = co_await sp::shell("cat; printf 'to stderr' >&2; exit 4", piped_all());
        const sp::output out = co_await p.communicate(input);
        CHECK(out.std_out.size() == input.size());
        CHECK(out.std_out == input);
        CHECK(out.std_err == "to stderr");
        CHECK(out.returncode == 4);

        sp::options merged;
        merged.std_out = sp::redirect::pipe;
        merged.std_err = sp::redirect::to_stdout;
        sp::process both = co_await sp::shell("echo out; echo err >&2", merged);
        const sp::output together = co_await both.communicate();
        CHECK(together.std_out == "out\nerr\n");
        CHECK(together.std_err.empty());
    };
    run_with_watchdog(body(), std::chrono::seconds(20));
}

TEST_CASE("subprocess: cwd, a replaced environment, and /dev/null", "[subprocess]") {
    auto body = []() -> task<void> {
        const std::filesystem::path dir = std::filesystem::temp_directory_path();
        sp::options o;
        o.std_out = sp::redirect::pipe;
        o.std_in = sp::redirect::devnull;
        o.cwd = dir.string();
        o.env = std::map<std::string, std::string>{{"CORIO_TEST_VALUE", "forty two"}, {"PATH", "/usr/bin:/bin"}};
        sp::process p = co_await sp::shell("pwd; echo \"$CORIO_TEST_VALUE\"; echo \"${HOME:-nohome}\"; cat", o);
        const sp::output out = co_await p.communicate();
        CHECK(out.std_out == std::filesystem::canonical(dir).string() + "\nforty two\nnohome\n");
        CHECK(out.returncode == 0);
    };
    run_with_watchdog(body());
}

TEST_CASE("subprocess: 100 children at once, all reaped", "[subprocess]") {
    auto body = []() -> task<void> {
        std::vector<task<int>> runs;
        std::vector<int> pids;
        for (int i = 0; i < 100; ++i) {
            sp::process p = co_await sp::shell("exit " + std::to_string(i % 7));
            pids.push_back(p.pid());
            auto wait_one = [](sp::process child) -> task<int> { co_return co_await child.wait(); };
            runs.push_back(wait_one(std::move(p)));
        }
        const std::vector<int> codes = co_await corio::gather(std::move(runs));
        for (int i = 0; i < 100; ++i) {
            CHECK(codes[static_cast<std::size_t>(i)] == i % 7);
        }
        for (int pid : pids) {
            CHECK(reaped(pid));
        }
    };
    run_with_watchdog(body(), std::chrono::seconds(30));
}

TEST_CASE("subprocess: cancelling wait leaves the child running, dropping it still reaps it", "[subprocess]") {
    auto body = []() -> task<void> {
        const std::vector<std::string> argv4{"sleep", "0.3"};  // named: g++ 12 rejects a braced list in co_await
        sp::process p = co_await sp::exec(argv4);
        bool timed_out = false;
        try {
            (void)co_await corio::wait_for(p.wait(), 20ms);
        } catch (const corio::timeout_error&) {
            timed_out = true;
        }
        CHECK(timed_out);
        CHECK(::kill(p.pid(), 0) == 0);  // still there
        const int code = co_await p.wait();
        CHECK(code == 0);

        int dropped_pid = 0;
        {
            sp::process dropped = co_await sp::shell("exit 0");
            dropped_pid = dropped.pid();
        }
        // Its reaper task still runs: the zombie goes away without a wait().
        for (int i = 0; i < 200 && !reaped(dropped_pid); ++i) {
            co_await corio::sleep(5ms);
        }
        CHECK(reaped(dropped_pid));
    };
    run_with_watchdog(body());
}

TEST_CASE("subprocess: bad input gets named errors", "[subprocess]") {
    auto body = []() -> task<void> {
        std::string message;
        try {
            const std::vector<std::string> argv5{"/nonexistent/corio-no-such-program"};  // named: g++ 12 rejects a braced list in co_await
            sp::process p = co_await sp::exec(argv5);
        } catch (const std::system_error& e) {
            message = e.what();
            CHECK(e.code().value() == ENOENT);
        }
        CHECK(message.find("corio-no-such-program") != std::string::npos);
        bool empty_refused = false;
        try {
            const std::vector<std::string> argv6{};  // named: g++ 12 rejects a braced list in co_await
            sp::process p = co_await sp::exec(argv6);
        } catch (const std::invalid_argument&) {
            empty_refused = true;
        }
        CHECK(empty_refused);
        sp::process plain = co_await sp::shell("exit 0");
        bool not_piped = false;
        try {
            (void)plain.std_out();
        } catch (const std::logic_error& e) {
            not_piped = std::string(e.what()).find("std_out") != std::string::npos;
        }
        CHECK(not_piped);
        (void)co_await plain.wait();
        bool bad_cwd = false;
        sp::options o;
        o.cwd = "/nonexistent/corio-dir";
        try {
            const std::vector<std::string> argv7{"true"};  // named: g++ 12 rejects a braced list in co_await
            sp::process p = co_await sp::exec(argv7, o);
        } catch (const std::system_error&) {
            bad_cwd = true;
        }
        CHECK(bad_cwd);
    };
    run_with_watchdog(body());
}
