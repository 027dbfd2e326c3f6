// Soak: seeded cancellation storms. Many tasks sleep, do socket I/O, wait on
// a semaphore, mutex, condition, queue or event, or sit in gather / wait_for,
// and a controller cancels them at seeded random times. Invariants checked
// after every round:
//   - every task ends with a value or cancelled_error, nothing else;
//   - semaphore permits all returned, the mutex free, no waiter left anywhere;
//   - queue items neither lost nor duplicated (produced == consumed + left);
//   - no timer, task or reactor registration left, no fd leaked;
// and (clang-asan / gcc-asan) LeakSanitizer finds no leak at exit.
// CORIO_SOAK_SEED=<n> replays a seed; the seed is printed on failure.
#include <corio/cancel.hpp>
#include <corio/combinators.hpp>
#include <corio/errors.hpp>
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

#include <array>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <span>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using corio_test::run_with_watchdog;

namespace {

// splitmix64: the same sequence from the same seed on every platform.
struct random_source {
    std::uint64_t state;
    std::uint64_t next() noexcept {
        std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    std::uint64_t below(std::uint64_t n) noexcept { return next() % n; }
    std::chrono::milliseconds millis(std::uint64_t max) noexcept {
        return std::chrono::milliseconds(static_cast<long long>(below(max + 1)));
    }
};

constexpr std::size_t permits = 4;

// Everything the workers share, and the books the invariants are checked on.
struct world {
    corio::semaphore semaphore{permits};
    std::size_t permits_held = 0;
    corio::mutex mutex;
    corio::condition condition{mutex};
    bool condition_flag = false;
    bool in_critical_section = false;
    corio::event event;
    corio::queue<std::uint64_t> queue{16};
    std::uint64_t next_item = 0;
    std::vector<int> produced;  // per item id: 1 once its put() returned
    std::vector<int> consumed;  // per item id: how many get()s returned it
    std::uint16_t port = 0;
    std::vector<std::string> violations;

    void violation(std::string what) { violations.push_back(std::move(what)); }
};

// Undoes a bookkeeping step however the scope is left (value or cancellation).
struct on_exit {
    std::size_t& counter;
    ~on_exit() { --counter; }
};
struct critical_section {
    world& w;
    explicit critical_section(world& shared) : w(shared) {
        if (w.in_critical_section) {
            w.violation("two tasks inside the mutex at once");
        }
        w.in_critical_section = true;
    }
    ~critical_section() { w.in_critical_section = false; }
    critical_section(const critical_section&) = delete;
    critical_section& operator=(const critical_section&) = delete;
};

enum kind : unsigned {
    sleeper,
    semaphore_user,
    mutex_user,
    producer,
    consumer,
    event_waiter,
    condition_waiter,
    socket_user,
    gatherer,
    timed_sleeper,
    timed_consumer,
    kind_count
};

struct worker_plan {
    kind what;
    std::chrono::milliseconds a;
    std::chrono::milliseconds b;
    std::size_t index;
};

void record_item(world& w, std::uint64_t item) {
    if (item >= w.consumed.size() || w.produced[item] == 0) {
        w.violation("got item " + std::to_string(item) + " that no put() returned for");
        return;
    }
    ++w.consumed[item];
}

corio::task<int> timed_sleep(std::chrono::milliseconds d) {
    co_await corio::sleep(d);
    co_return 1;
}

corio::task<std::uint64_t> get_item(world& w) { co_return co_await w.queue.get(); }

corio::task<int> socket_round_trip(world& w, std::size_t index) {
    corio::tcp_stream stream = co_await corio::open_connection("127.0.0.1", w.port);
    const std::string payload = corio_test::pattern(100 + index % 5000, static_cast<unsigned>(index));
    co_await stream.write(payload);
    std::string back;
    std::array<std::byte, 2048> buffer{};
    while (back.size() < payload.size()) {
        const std::size_t n = co_await stream.read_some(buffer);
        if (n == 0) {
            break;
        }
        back.append(reinterpret_cast<const char*>(buffer.data()), n);
    }
    if (back != payload) {
        w.violation("socket worker " + std::to_string(index) + " got " + std::to_string(back.size()) +
                    " bytes back, not its " + std::to_string(payload.size()));
    }
    co_return 1;
}

// One worker; returns its kind + 1 when it ends with a value.
corio::task<int> worker(world& w, worker_plan plan) {
    switch (plan.what) {
    case sleeper:
        co_await corio::sleep(plan.a);
        break;
    case semaphore_user: {
        corio::semaphore_permit permit = co_await w.semaphore.acquire();
        if (++w.permits_held > permits) {
            w.violation("more permits held than the semaphore has");
        }
        on_exit release_count{w.permits_held};
        co_await corio::sleep(plan.a);
        break;
    }
    case mutex_user: {
        corio::mutex_lock lock = co_await w.mutex.lock();
        critical_section inside(w);
        // Short: every holder delays all the others (and the release at the end).
        co_await corio::sleep(plan.a / 10);
        break;
    }
    case producer: {
        for (int i = 0; i < 3; ++i) {
            const std::uint64_t item = w.next_item++;
            co_await w.queue.put(item);
            w.produced[item] = 1;
        }
        break;
    }
    case consumer: {
        for (int i = 0; i < 3; ++i) {
            const std::uint64_t item = co_await w.queue.get();
            record_item(w, item);
        }
        break;
    }
    case event_waiter:
        co_await w.event.wait();
        break;
    case condition_waiter: {
        corio::mutex_lock lock = co_await w.mutex.lock();
        co_await w.condition.wait(lock, [&w] { return w.condition_flag; });
        critical_section inside(w);
        break;
    }
    case socket_user:
        (void)co_await socket_round_trip(w, plan.index);
        break;
    case gatherer: {
        corio::task<int> first = timed_sleep(plan.a);
        corio::task<int> second = timed_sleep(plan.b);
        corio::task<int> third = corio::invoke([](world& shared) -> corio::task<int> {
            corio::semaphore_permit permit = co_await shared.semaphore.acquire();
            if (++shared.permits_held > permits) {
                shared.violation("more permits held than the semaphore has");
            }
            on_exit release_count{shared.permits_held};
            co_await corio::sleep(1ms);
            co_return 1;
        }, std::ref(w));
        auto [x, y, z] = co_await corio::gather(std::move(first), std::move(second), std::move(third));
        if (x + y + z != 3) {
            w.violation("gather returned wrong values");
        }
        break;
    }
    case timed_sleeper: {
        bool timed_out = false;
        try {
            (void)co_await corio::wait_for(timed_sleep(plan.a), plan.b);
        } catch (const corio::timeout_error&) {
            timed_out = true;
        }
        (void)timed_out;
        break;
    }
    case timed_consumer: {
        std::optional<std::uint64_t> item;
        try {
            item = co_await corio::wait_for(get_item(w), plan.b);
        } catch (const corio::timeout_error&) {
        }
        if (item) {
            record_item(w, *item);
        }
        break;
    }
    case kind_count:
        break;
    }
    co_return static_cast<int>(plan.what) + 1;
}

struct outcome {
    std::size_t values = 0;
    std::size_t cancelled = 0;
    std::vector<std::string> other_errors;
};

// The handle's end: a value, cancelled_error, or something that breaks the contract.
corio::task<void> account(corio::task_handle<int> handle, outcome& out) {
    std::string other;
    bool was_cancelled = false;
    try {
        const int value = co_await handle;
        if (value > 0) {
            ++out.values;
        } else {
            other = "a worker returned " + std::to_string(value);
        }
    } catch (const corio::cancelled_error&) {
        was_cancelled = true;
    } catch (const std::exception& error) {
        other = error.what();
    }
    if (was_cancelled) {
        ++out.cancelled;
        if (!handle.cancelled()) {
            other = "cancelled_error but handle.cancelled() is false";
        }
    }
    if (!other.empty()) {
        out.other_errors.push_back(other);
    }
}

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

struct round_report {
    outcome ends;
    std::vector<std::string> violations;
    std::size_t leftover_timers = 0;
    std::size_t leftover_tasks = 0;
    std::size_t items_produced = 0;
    std::size_t items_consumed = 0;
};

// One storm: `workers` tasks, cancelled at seeded times for `storm` ms, then
// every wait is released, the rest is cancelled, and every handle awaited.
corio::task<round_report> storm_round(std::uint64_t seed, std::size_t workers, std::chrono::milliseconds storm) {
    corio::event_loop& loop = corio::get_running_loop();
    const std::size_t timers_before = loop.pending_timers();
    const std::size_t tasks_before = loop.pending_tasks();
    random_source random{seed};
    world w;
    w.produced.assign(workers * 3, 0);
    w.consumed.assign(workers * 3, 0);
    auto server = co_await corio::start_server(echo, "127.0.0.1", 0);
    w.port = server.port();

    std::vector<corio::task_handle<int>> handles;
    handles.reserve(workers);
    for (std::size_t i = 0; i < workers; ++i) {
        worker_plan plan{static_cast<kind>(random.below(kind_count)), random.millis(30), random.millis(30), i};
        handles.push_back(corio::create_task(worker(w, plan)));
    }
    // The storm: cancel a random worker every 0-2 ms (some already finished:
    // cancel() then reports false, which is fine).
    corio_test::stopwatch clock;
    while (clock.elapsed() < storm) {
        co_await corio::sleep(random.millis(2));
        for (std::uint64_t burst = random.below(4); burst > 0; --burst) {
            handles[random.below(workers)].cancel();
        }
    }
    // Release every wait that could still be blocked, give workers a moment
    // to finish on their own, then cancel whatever is left.
    w.event.set();
    {
        corio::mutex_lock lock = co_await w.mutex.lock();
        w.condition_flag = true;
        w.condition.notify_all();
    }
    co_await corio::sleep(5ms);
    for (auto& handle : handles) {
        handle.cancel();
    }
    round_report report;
    for (auto& handle : handles) {
        co_await account(handle, report.ends);
    }
    handles.clear();
    co_await server.shutdown(2s);

    // The books.
    while (std::optional<std::uint64_t> item = w.queue.try_get()) {
        record_item(w, *item);
    }
    for (std::size_t id = 0; id < w.next_item; ++id) {
        report.items_produced += static_cast<std::size_t>(w.produced[id]);
        report.items_consumed += static_cast<std::size_t>(w.consumed[id]);
        if (w.consumed[id] != w.produced[id]) {
            w.violation("item " + std::to_string(id) + ": put() returned " + std::to_string(w.produced[id]) +
                        " times, got " + std::to_string(w.consumed[id]) + " times");
        }
    }
    if (w.semaphore.available() != permits || w.permits_held != 0) {
        w.violation("semaphore: " + std::to_string(w.semaphore.available()) + " of " + std::to_string(permits) +
                    " permits back");
    }
    if (w.mutex.locked() || w.in_critical_section) {
        w.violation("the mutex is still locked");
    }
    if (w.semaphore.waiters() + w.mutex.waiters() + w.condition.waiters() + w.event.waiters() +
            w.queue.waiting_getters() + w.queue.waiting_putters() !=
        0) {
        w.violation("a waiter is still queued on a primitive");
    }
    report.violations = std::move(w.violations);
    report.leftover_timers = loop.pending_timers() - timers_before;
    report.leftover_tasks = loop.pending_tasks() - tasks_before;
    co_return report;
}

}  // namespace

TEST_CASE("seeded cancellation storms keep every invariant", "[soak]") {
    const std::uint64_t seed = corio_soak::seed(20261201);
    const std::size_t rounds = corio_soak::scaled(12, 8, 200);
    const std::size_t workers = corio_soak::scaled(1500, 800, 4000);
    const auto storm = std::chrono::milliseconds(corio_soak::scaled(150, 150, 400));
    const std::size_t fds_before = corio_test::fault::open_fds_after_a_loop();

    std::size_t values = 0;
    std::size_t cancelled = 0;
    std::size_t items = 0;
    for (std::size_t round = 0; round < rounds; ++round) {
        const std::uint64_t round_seed = seed + round;
        INFO("seed " << seed << ", round " << round << " (replay: CORIO_SOAK_SEED=" << seed << ")");
        const round_report report = run_with_watchdog(storm_round(round_seed, workers, storm), 60s);
        for (const std::string& error : report.ends.other_errors) {
            FAIL_CHECK("a worker ended with neither a value nor cancelled_error: " << error);
        }
        for (const std::string& broken : report.violations) {
            FAIL_CHECK(broken);
        }
        CHECK(report.ends.values + report.ends.cancelled == workers);
        CHECK(report.leftover_timers == 0);
        CHECK(report.leftover_tasks == 0);
#if defined(CORIO_REACTOR_EPOLL)
        CHECK(corio_test::fault::watched_sockets() == 0);
#endif
        CHECK(corio_test::fault::open_fds() == fds_before);
        values += report.ends.values;
        cancelled += report.ends.cancelled;
        items += report.items_consumed;
    }
    // A storm that cancelled nothing, or everything, tested little.
    CHECK(values > 0);
    CHECK(cancelled > 0);
    CHECK(items > 0);
}
