// Fault injection (support/fault_injection.hpp): corio's socket calls fail
// with EINTR, EAGAIN, ECONNRESET, EPIPE, EMFILE, ... at seeded random points.
// EINTR and EAGAIN must be retried transparently; a hard error must fail
// only the connection it hit, with a named error (never a crash, a hang or
// silently truncated data), and the server must keep serving. Nothing may
// be left behind: timers, reactor registrations, fds (and, under ASan,
// memory). CORIO_FAULT_SEED=<n> replays a seed; it is printed on failure.
#include <corio/event_loop.hpp>
#include <corio/http.hpp>
#include <corio/invoke.hpp>
#include <corio/net.hpp>
#include <corio/run.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>

#include "catch.hpp"
#include "fault_injection.hpp"
#include "test_support.hpp"

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <map>
#include <span>
#include <string>
#include <sys/socket.h>
#include <system_error>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;
using corio_test::run_with_watchdog;
namespace fault = corio_test::fault;
namespace http = corio::http;

namespace {

// The shim fails socket system calls. On an io_uring loop a stream's reads
// and writes make none (the ring does them), so in a build with io_uring
// this file's loops run on epoll, whatever the environment asks.
[[maybe_unused]] const bool loops_on_epoll = [] {
#if defined(CORIO_REACTOR_IO_URING)
    ::setenv("CORIO_REACTOR", "epoll", 1);
#endif
    return true;
}();

std::uint64_t fault_seed(std::uint64_t fallback) {
    const char* text = std::getenv("CORIO_FAULT_SEED");
    return text != nullptr && *text != '\0' ? std::strtoull(text, nullptr, 10) : fallback;
}

const std::size_t clients = corio_test::under_sanitizer ? 150 : 200;

corio::task<void> echo(corio::tcp_stream stream) {
    std::array<std::byte, 4096> buffer{};
    for (;;) {
        const std::size_t n = co_await stream.read_some(buffer);
        if (n == 0) {
            break;
        }
        co_await stream.write(std::span<const std::byte>(buffer.data(), n));
    }
}

// One echo round trip of a seeded payload; true when every byte came back.
corio::task<bool> round_trip(std::uint16_t port, std::size_t index) {
    corio::tcp_stream stream = co_await corio::open_connection("127.0.0.1", port);
    const std::string payload = corio_test::pattern(1000 + index * 37 % 20000, static_cast<unsigned>(index));
    co_await stream.write(payload);
    const std::string back = co_await stream.read_exactly(payload.size());
    co_return back == payload;
}

// How a client ended: "ok", "corrupt" (bytes differ: a bug), or the name of
// the error it got ("system_error ECONNRESET", "incomplete_read", ...).
struct tally {
    std::map<std::string, std::size_t> ends;
    std::size_t count(const std::string& what) const {
        const auto it = ends.find(what);
        return it == ends.end() ? 0 : it->second;
    }
};

std::string errno_name(int error) {
    switch (error) {
    case ECONNRESET: return "ECONNRESET";
    case EPIPE: return "EPIPE";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EMFILE: return "EMFILE";
    case EINTR: return "EINTR";
    case EAGAIN: return "EAGAIN";
    default: return std::to_string(error);
    }
}

std::string describe(std::exception_ptr error) {
    try {
        std::rethrow_exception(error);
    } catch (const corio::timeout_error&) {
        return "hang";
    } catch (const corio::stream_closed&) {
        return "stream_closed";
    } catch (const std::system_error& e) {
        return "system_error " + errno_name(e.code().value());
    } catch (const corio::incomplete_read&) {
        return "incomplete_read";
    } catch (const http::client_connection_error&) {
        return "client_connection_error";
    } catch (const http::protocol_error&) {
        return "protocol_error";
    } catch (const std::exception& e) {
        return std::string("unexpected: ") + e.what();
    }
}

// Runs `attempt` under a deadline (a hang is reported, not waited out) and
// records how it ended.
corio::task<void> record(corio::task<bool> attempt, tally& into) {
    std::exception_ptr error;
    bool verified = false;
    try {
        verified = co_await corio::wait_for(std::move(attempt), 20s);
    } catch (...) {
        error = std::current_exception();
    }
    ++into.ends[error ? describe(error) : verified ? "ok" : "corrupt"];
}

std::string summary(const tally& t) {
    std::string text;
    for (const auto& [what, n] : t.ends) {
        text += what + " x" + std::to_string(n) + "; ";
    }
    return text;
}

// Runs every client at once and records how each ended.
template <class MakeAttempt>
corio::task<tally> run_clients(std::size_t count, MakeAttempt make_attempt) {
    tally t;
    std::vector<corio::task<void>> all;
    for (std::size_t i = 0; i < count; ++i) {
        all.push_back(record(make_attempt(i), t));
    }
    co_await corio::gather(std::move(all));
    co_return t;
}

// The errors the server reports through the loop's exception handler.
struct handler_log {
    std::size_t reports = 0;
    std::vector<std::string> messages;
};

void count_reports(handler_log& log) {
    corio::get_running_loop().set_exception_handler(
        [&log](corio::event_loop&, const corio::exception_context& context) {
            ++log.reports;
            if (log.messages.size() < 5) {
                log.messages.push_back(context.message);
            }
        });
}

struct leftovers {
    std::size_t timers = 0;
    std::size_t tasks = 0;
};

}  // namespace

TEST_CASE("the shim fails the call the test asks for and otherwise makes the real call", "[fault_injection]") {
    std::array<int, 2> pair{};
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair.data()) == 0);
    std::array<char, 8> buffer{};
    {
        fault::plan plan;
        plan.rules.push_back({fault::op::recv, {ECONNRESET}, 1000000});
        plan.rules.push_back({fault::op::send, {EPIPE}, 1000000});
        fault::scope faults(plan);
        errno = 0;
        CHECK(::send(pair[0], "abc", 3, 0) == -1);
        CHECK(errno == EPIPE);
        CHECK(::recv(pair[1], buffer.data(), buffer.size(), 0) == -1);
        CHECK(errno == ECONNRESET);
        // Not a socket: untouched.
        CHECK(::write(STDERR_FILENO, "", 0) == 0);
        const fault::stats s = faults.snapshot();
        CHECK(s.injected[static_cast<std::size_t>(fault::op::send)] == 1);
        CHECK(s.injected[static_cast<std::size_t>(fault::op::recv)] == 1);
        CHECK(s.calls[static_cast<std::size_t>(fault::op::write)] == 0);
    }
    // Out of scope: the real calls (through the sanitizer's interceptor in a
    // sanitized build) move real bytes.
    CHECK(::send(pair[0], "abc", 3, 0) == 3);
    CHECK(::recv(pair[1], buffer.data(), buffer.size(), 0) == 3);
    CHECK(std::string(buffer.data(), 3) == "abc");
    ::close(pair[0]);
    ::close(pair[1]);
    CHECK(fault::shim_active());
}

TEST_CASE("injected EINTR, EAGAIN and short writes on every socket call are retried transparently",
          "[fault_injection]") {
    const std::uint64_t seed = fault_seed(12);
    INFO("seed " << seed << " (replay: CORIO_FAULT_SEED=" << seed << ")");
    const std::size_t fds_before = fault::open_fds_after_a_loop();
    fault::stats seen;
    handler_log log;
    leftovers left;
    auto body = [&]() -> corio::task<tally> {
        count_reports(log);
        corio::event_loop& loop = corio::get_running_loop();
        const std::size_t timers_before = loop.pending_timers();
        const std::size_t tasks_before = loop.pending_tasks();
        auto server = co_await corio::start_server(echo, "127.0.0.1", 0);
        const std::uint16_t port = server.port();
        fault::plan plan;
        plan.seed = seed;
        plan.rules.push_back({fault::op::recv, {EINTR, EAGAIN}, 300000});
        plan.rules.push_back({fault::op::send, {EINTR, EAGAIN, fault::short_transfer}, 300000});
        plan.rules.push_back({fault::op::accept, {EINTR, EAGAIN}, 300000});
        plan.rules.push_back({fault::op::connect, {EINTR}, 300000});
        tally t;
        {
            fault::scope faults(plan);
            auto attempt = [port](std::size_t i) { return round_trip(port, i); };  // not a temporary in co_await (g++ 12)
            t = co_await run_clients(clients, attempt);
            seen = faults.snapshot();
        }
        co_await server.shutdown(5s);
        left.timers = loop.pending_timers() - timers_before;
        left.tasks = loop.pending_tasks() - tasks_before;
        co_return t;
    };
    const tally t = run_with_watchdog(body(), 60s);
    INFO("client ends: " << summary(t) << " injected: " << seen.to_string());
    CHECK(t.count("ok") == clients);
    CHECK(log.reports == 0);
    CHECK(seen.by_errno[EINTR] > 0);
    CHECK(seen.by_errno[EAGAIN] > 0);
    CHECK(seen.rearmed == seen.by_errno[EAGAIN]);
    CHECK(seen.shortened > 0);
    CHECK(seen.injected[static_cast<std::size_t>(fault::op::accept)] > 0);
    CHECK(seen.injected[static_cast<std::size_t>(fault::op::connect)] > 0);
    CHECK(left.timers == 0);
    CHECK(left.tasks == 0);
#if defined(CORIO_REACTOR_EPOLL)
    CHECK(fault::watched_sockets() == 0);
#endif
    CHECK(fault::open_fds() == fds_before);
}

TEST_CASE("hard socket errors fail only the connection they hit, with a named error, and the server keeps serving",
          "[fault_injection]") {
    const std::uint64_t seed = fault_seed(34);
    INFO("seed " << seed << " (replay: CORIO_FAULT_SEED=" << seed << ")");
    const std::size_t fds_before = fault::open_fds_after_a_loop();
    fault::stats seen;
    handler_log log;
    leftovers left;
    tally after;
    auto body = [&]() -> corio::task<tally> {
        count_reports(log);
        corio::event_loop& loop = corio::get_running_loop();
        const std::size_t timers_before = loop.pending_timers();
        const std::size_t tasks_before = loop.pending_tasks();
        corio::server_options options;
        options.accept_backoff = 5ms;  // EMFILE backs the acceptor off
        auto server = co_await corio::start_server(echo, "127.0.0.1", 0, options);
        const std::uint16_t port = server.port();
        fault::plan plan;
        plan.seed = seed;
        plan.rules.push_back({fault::op::recv, {ECONNRESET}, 20000});
        plan.rules.push_back({fault::op::send, {EPIPE, ECONNRESET}, 20000});
        plan.rules.push_back({fault::op::accept, {EMFILE, ECONNABORTED}, 50000});
        plan.rules.push_back({fault::op::connect, {ECONNREFUSED}, 50000});
        plan.rules.push_back({fault::op::socket, {EMFILE}, 30000});
        // The transient ones too, so they interleave with the hard ones.
        plan.rules.push_back({fault::op::recv, {EINTR, EAGAIN}, 100000});
        plan.rules.push_back({fault::op::send, {EINTR, EAGAIN, fault::short_transfer}, 100000});
        tally t;
        {
            fault::scope faults(plan);
            auto attempt = [port](std::size_t i) { return round_trip(port, i); };  // not a temporary in co_await (g++ 12)
            t = co_await run_clients(clients, attempt);
            seen = faults.snapshot();
        }
        // Faults off: the same server serves every new client.
        auto attempt_after = [port](std::size_t i) { return round_trip(port, 100000 + i); };
        after = co_await run_clients(clients / 4, attempt_after);
        co_await server.shutdown(5s);
        left.timers = loop.pending_timers() - timers_before;
        left.tasks = loop.pending_tasks() - tasks_before;
        co_return t;
    };
    const tally t = run_with_watchdog(body(), 90s);
    INFO("client ends: " << summary(t) << " injected: " << seen.to_string());
    INFO("server reports: " << log.reports);
    std::size_t named = 0;
    for (const auto& [what, n] : t.ends) {
        const bool allowed = what == "ok" || what == "incomplete_read" || what == "stream_closed" ||
                             what == "system_error ECONNRESET" || what == "system_error EPIPE" ||
                             what == "system_error ECONNREFUSED" || what == "system_error EMFILE";
        if (!allowed) {
            FAIL_CHECK("a client ended with " << what << " (x" << n << ")");
        }
        if (what != "ok") {
            named += n;
        }
    }
    CHECK(t.count("ok") > 0);
    CHECK(named > 0);
    CHECK(t.count("ok") + named == clients);
    CHECK(seen.injected[static_cast<std::size_t>(fault::op::accept)] > 0);
    CHECK(seen.injected[static_cast<std::size_t>(fault::op::socket)] > 0);
    CHECK(log.reports > 0);  // the failed server connections and EMFILE were reported, not thrown away
    INFO("after the faults: " << summary(after));
    CHECK(after.count("ok") == clients / 4);
    CHECK(left.timers == 0);
    CHECK(left.tasks == 0);
#if defined(CORIO_REACTOR_EPOLL)
    CHECK(fault::watched_sockets() == 0);
#endif
    CHECK(fault::open_fds() == fds_before);
}

namespace {

http::router echo_routes() {
    http::router r;
    r.post("/echo", [](http::request& req) -> corio::task<http::response> {
        co_return http::text_response(200, std::move(req.body), "application/octet-stream");
    });
    return r;
}

// One POST through its own session; true when the body came back whole.
corio::task<bool> post_echo(std::string url, std::size_t index) {
    http::client_session session;
    const std::string payload = corio_test::pattern(500 + index * 53 % 30000, static_cast<unsigned>(index));
    std::exception_ptr error;
    bool verified = false;
    try {
        // Every argument explicit: g++ 12 corrupts a defaulted std::string
        // argument of a call that is the operand of co_await.
        http::client_response response = co_await session.post(url, payload, "application/octet-stream");
        const std::string body = co_await response.text();
        verified = response.status() == 200 && body == payload;
    } catch (...) {
        error = std::current_exception();
    }
    co_await session.close();
    if (error) {
        std::rethrow_exception(error);
    }
    co_return verified;
}

}  // namespace

TEST_CASE("an HTTP server under injected socket faults keeps serving and each failed request gets a named error",
          "[fault_injection]") {
    const std::uint64_t seed = fault_seed(56);
    INFO("seed " << seed << " (replay: CORIO_FAULT_SEED=" << seed << ")");
    const std::size_t fds_before = fault::open_fds_after_a_loop();
    fault::stats seen;
    handler_log log;
    leftovers left;
    tally after;
    auto body = [&]() -> corio::task<tally> {
        count_reports(log);
        corio::event_loop& loop = corio::get_running_loop();
        const std::size_t timers_before = loop.pending_timers();
        const std::size_t tasks_before = loop.pending_tasks();
        auto server = co_await http::start_server(echo_routes(), "127.0.0.1", 0);
        const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/echo";
        fault::plan plan;
        plan.seed = seed;
        plan.rules.push_back({fault::op::recv, {ECONNRESET}, 20000});
        plan.rules.push_back({fault::op::send, {EPIPE, ECONNRESET}, 20000});
        plan.rules.push_back({fault::op::accept, {EMFILE}, 30000});
        plan.rules.push_back({fault::op::connect, {ECONNREFUSED}, 30000});
        plan.rules.push_back({fault::op::socket, {EMFILE}, 30000});
        plan.rules.push_back({fault::op::recv, {EINTR, EAGAIN}, 100000});
        plan.rules.push_back({fault::op::send, {EINTR, EAGAIN, fault::short_transfer}, 100000});
        tally t;
        {
            fault::scope faults(plan);
            auto attempt = [url](std::size_t i) { return post_echo(url, i); };  // not a temporary in co_await (g++ 12)
            t = co_await run_clients(clients, attempt);
            seen = faults.snapshot();
        }
        auto attempt_after = [url](std::size_t i) { return post_echo(url, 100000 + i); };
        after = co_await run_clients(clients / 4, attempt_after);
        co_await server.shutdown(5s);
        left.timers = loop.pending_timers() - timers_before;
        left.tasks = loop.pending_tasks() - tasks_before;
        co_return t;
    };
    const tally t = run_with_watchdog(body(), 90s);
    INFO("client ends: " << summary(t) << " injected: " << seen.to_string());
    std::size_t named = 0;
    for (const auto& [what, n] : t.ends) {
        const bool allowed = what == "ok" || what == "client_connection_error" || what == "protocol_error" ||
                             what == "system_error ECONNRESET" || what == "system_error EPIPE" ||
                             what == "system_error ECONNREFUSED";
        if (!allowed) {
            FAIL_CHECK("a request ended with " << what << " (x" << n << ")");
        }
        if (what != "ok") {
            named += n;
        }
    }
    CHECK(t.count("ok") > 0);
    CHECK(named > 0);
    CHECK(t.count("ok") + named == clients);
    INFO("after the faults: " << summary(after));
    CHECK(after.count("ok") == clients / 4);
    CHECK(left.timers == 0);
    CHECK(left.tasks == 0);
#if defined(CORIO_REACTOR_EPOLL)
    CHECK(fault::watched_sockets() == 0);
#endif
    CHECK(fault::open_fds() == fds_before);
}

TEST_CASE("loops on two threads serve echo under injected EINTR and EAGAIN at once", "[fault_injection][threads]") {
    const std::uint64_t seed = fault_seed(78);
    INFO("seed " << seed << " (replay: CORIO_FAULT_SEED=" << seed << ")");
    const std::size_t per_thread = clients / 2;
    fault::plan plan;
    plan.seed = seed;
    plan.rules.push_back({fault::op::recv, {EINTR, EAGAIN}, 300000});
    plan.rules.push_back({fault::op::send, {EINTR, EAGAIN}, 300000});
    plan.rules.push_back({fault::op::accept, {EINTR, EAGAIN}, 300000});
    plan.rules.push_back({fault::op::connect, {EINTR}, 300000});
    std::array<tally, 2> results;
    std::array<std::exception_ptr, 2> errors;
    fault::stats seen;
    {
        fault::scope faults(plan);
        auto serve = [&](std::size_t which) {
            try {
                results[which] = run_with_watchdog(
                    [](std::size_t count, std::size_t first) -> corio::task<tally> {
                        auto server = co_await corio::start_server(echo, "127.0.0.1", 0);
                        const std::uint16_t port = server.port();
                        auto attempt = [port, first](std::size_t i) { return round_trip(port, first + i); };
                        tally t = co_await run_clients(count, attempt);
                        co_await server.shutdown(5s);
                        co_return t;
                    }(per_thread, which * 1000),
                    60s);
            } catch (...) {
                errors[which] = std::current_exception();
            }
        };
        std::thread first(serve, 0);
        std::thread second(serve, 1);
        first.join();
        second.join();
        seen = faults.snapshot();
    }
    INFO("injected: " << seen.to_string());
    for (std::size_t which = 0; which < 2; ++which) {
        INFO("thread " << which << ": " << summary(results[which])
                       << (errors[which] ? " error: " + describe(errors[which]) : std::string()));
        CHECK(!errors[which]);
        CHECK(results[which].count("ok") == per_thread);
    }
    CHECK(seen.by_errno[EINTR] > 0);
    CHECK(seen.by_errno[EAGAIN] > 0);
#if defined(CORIO_REACTOR_EPOLL)
    CHECK(fault::watched_sockets() == 0);
#endif
}
