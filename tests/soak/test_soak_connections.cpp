// Soak: many concurrent loopback connections through one corio echo server
// (start_server) in this process, every byte verified; in the long form
// (CORIO_SOAK=long) also a 5-minute echo soak whose RSS must stay flat.
#include <corio/event_loop.hpp>
#include <corio/invoke.hpp>
#include <corio/net.hpp>
#include <corio/run.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/sync.hpp>

#include "catch.hpp"
#include "fault_injection.hpp"
#include "soak_support.hpp"
#include "test_support.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using corio_test::run_with_watchdog;

namespace {

// Echoes until the peer half-closes, through a small buffer in the frame (a
// 64 KiB read() per idle connection would cost 640 MB at 10,000).
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

// Reads until end of stream.
corio::task<std::string> read_to_end(corio::tcp_stream& stream) {
    std::string received;
    std::array<std::byte, 4096> buffer{};
    for (;;) {
        const std::size_t n = co_await stream.read_some(buffer);
        if (n == 0) {
            break;
        }
        received.append(reinterpret_cast<const char*>(buffer.data()), n);
    }
    co_return received;
}

struct barrier_state {
    std::size_t expected = 0;
    std::size_t open = 0;
    std::size_t peak_open = 0;
    corio::event all_open;
    corio::semaphore connecting{512};  // connects in flight: stays below the listen backlog
};

// Connects, waits until every client is connected (so all connections are
// open at once), sends its seeded pattern, half-closes, checks the echo.
corio::task<bool> client(std::uint16_t port, std::size_t index, barrier_state& barrier) {
    corio::semaphore_permit permit = co_await barrier.connecting.acquire();
    corio::tcp_stream stream = co_await corio::open_connection("127.0.0.1", port);
    permit.release();
    barrier.peak_open = std::max(barrier.peak_open, ++barrier.open);
    if (barrier.open == barrier.expected) {
        barrier.all_open.set();
    }
    co_await barrier.all_open.wait();
    const std::string payload = corio_test::pattern(512 + index % 3000, static_cast<unsigned>(index));
    co_await stream.write(payload);
    stream.shutdown_write();
    const std::string back = co_await read_to_end(stream);
    --barrier.open;
    co_return back == payload;
}

}  // namespace

TEST_CASE("10,000 concurrent loopback connections through one echo server get every byte back", "[soak]") {
    std::size_t connections = corio_soak::scaled(10000, 5000, 10000);
    // Two fds per connection (client and server side) plus the loop's own.
    const std::size_t limit = corio_soak::raise_fd_limit(2 * connections + 256);
    if (limit < 2 * connections + 64) {
        const std::size_t fit = limit > 64 + 2 * 100 ? (limit - 64) / 2 : 100;
        WARN("RLIMIT_NOFILE is " << limit << " (hard limit): " << connections
                                 << " connections need ~" << 2 * connections + 64 << " fds; running " << fit);
        connections = fit;
    }
    const std::size_t fds_before = corio_test::fault::open_fds_after_a_loop();

    auto body = [connections]() -> corio::task<std::size_t> {
        const std::size_t timers_before = corio::get_running_loop().pending_timers();  // the watchdog's
        corio::server_options options;
        options.backlog = 4096;
        auto server = co_await corio::start_server(echo, "127.0.0.1", 0, options);
        barrier_state barrier;
        barrier.expected = connections;
        std::vector<corio::task<bool>> clients;
        clients.reserve(connections);
        for (std::size_t i = 0; i < connections; ++i) {
            clients.push_back(client(server.port(), i, barrier));
        }
        const std::vector<bool> ok = co_await corio::gather(std::move(clients));
        co_await server.shutdown(5s);
        CHECK(barrier.peak_open == connections);
        CHECK(corio::get_running_loop().pending_timers() == timers_before);
        co_return static_cast<std::size_t>(std::count(ok.begin(), ok.end(), true));
    };
    corio_test::stopwatch clock;
    const std::size_t verified = run_with_watchdog(body(), 100s);
    INFO(connections << " connections took " << clock.elapsed_ms().count() << " ms");
    CHECK(verified == connections);
#if defined(CORIO_REACTOR_EPOLL)
    REQUIRE(corio_test::fault::shim_active());  // so the next line counts real registrations
    CHECK(corio_test::fault::watched_sockets() == 0);
#endif
    CHECK(corio_test::fault::open_fds() == fds_before);
}

TEST_CASE("the RSS of a 5-minute echo soak stays flat (long form only)", "[soak]") {
    if (!corio_soak::long_form()) {
        SUCCEED("short form: run scripts/soak.sh (CORIO_SOAK=long) for the 5-minute RSS soak");
        return;
    }
    constexpr std::size_t clients = 200;
    constexpr auto duration = 300s;
    constexpr auto warm_up = 30s;
    constexpr auto sample_every = 5s;

    struct sample {
        corio_test::stopwatch::clock::duration at;
        std::size_t rss_kib;
    };
    std::vector<sample> samples;
    std::size_t round_trips = 0;

    auto body = [&]() -> corio::task<void> {
        auto server = co_await corio::start_server(echo, "127.0.0.1", 0);
        corio_test::stopwatch clock;
        bool stop = false;
        auto worker = [&](std::size_t index) -> corio::task<void> {
            unsigned round = 0;
            while (!stop) {
                // A new connection every few rounds: connect/accept/close churn too.
                corio::tcp_stream stream = co_await corio::open_connection("127.0.0.1", server.port());
                for (int i = 0; i < 20 && !stop; ++i) {
                    const std::string payload =
                        corio_test::pattern(64 + (index * 131 + round) % 8192, static_cast<unsigned>(index + round));
                    ++round;
                    co_await stream.write(payload);
                    std::string back;
                    std::array<std::byte, 4096> buffer{};
                    while (back.size() < payload.size()) {
                        const std::size_t n = co_await stream.read_some(buffer);
                        REQUIRE(n > 0);
                        back.append(reinterpret_cast<const char*>(buffer.data()), n);
                    }
                    REQUIRE(back == payload);
                    ++round_trips;
                }
            }
        };
        std::vector<corio::task<void>> workers;
        for (std::size_t i = 0; i < clients; ++i) {
            workers.push_back(corio::invoke(worker, i));
        }
        auto sampler = [&]() -> corio::task<void> {
            while (clock.elapsed() < duration) {
                co_await corio::sleep(sample_every);
                samples.push_back({clock.elapsed(), corio_soak::rss_kib()});
            }
            stop = true;
        };
        workers.push_back(sampler());
        co_await corio::gather(std::move(workers));
        co_await server.shutdown(5s);
    };
    run_with_watchdog(body(), duration + 120s);

    std::size_t after_warm_up = 0;
    std::size_t last_minute_peak = 0;
    for (const sample& s : samples) {
        if (after_warm_up == 0 && s.at >= warm_up) {
            after_warm_up = s.rss_kib;
        }
        if (s.at >= duration - 60s) {
            last_minute_peak = std::max(last_minute_peak, s.rss_kib);
        }
    }
    INFO("RSS after warm-up " << after_warm_up << " KiB, last-minute peak " << last_minute_peak << " KiB, "
                              << round_trips << " round trips");
    REQUIRE(after_warm_up > 0);
    CHECK(last_minute_peak <= after_warm_up + after_warm_up / 10);
    WARN("RSS after warm-up " << after_warm_up << " KiB, last-minute peak " << last_minute_peak << " KiB, "
                              << round_trips << " round trips");
}
