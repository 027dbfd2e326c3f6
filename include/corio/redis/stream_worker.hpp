#pragma once

#include <corio/detail/config.hpp>
#include <corio/event_loop.hpp>
#include <corio/redis/connection.hpp>
#include <corio/redis/errors.hpp>
#include <corio/redis/types.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/sync/event.hpp>
#include <corio/sync/semaphore.hpp>
#include <corio/task.hpp>

#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace corio::redis {

/// Options of a stream_worker; stream, group and consumer are required.
struct stream_worker_options {
    /// The stream the jobs are in, and the consumer group sharing them out.
    std::string stream;
    /// The consumer group the workers share (run() creates it if missing).
    std::string group;
    /// This worker's name in the group: unique per worker (host + pid, say).
    std::string consumer;
    /// Where the group starts when run() creates it: "0" takes every entry
    /// already in the stream, "$" only those added later.
    std::string start_id = "0";
    /// Jobs running at once in this worker.
    std::size_t concurrency = 16;
    /// Runs of the handler per job (1 + retries) before it is dead-lettered;
    /// a job reclaimed from crashed workers more often than this is
    /// dead-lettered without running again.
    int max_attempts = 3;
    /// Pause before a retry.
    std::chrono::milliseconds retry_delay{100};
    /// Where failed jobs go (fields kept, plus "source_id", "error",
    /// "attempts"); empty: "<stream>:dead".
    std::string dead_letter_stream{};
    /// Jobs pending in the group (read by some consumer, not acknowledged)
    /// longer than this are taken over with XAUTOCLAIM: a crashed worker's
    /// jobs run elsewhere. Keep it well above a job's running time, or slow
    /// jobs run twice.
    std::chrono::milliseconds claim_idle{30000};
    /// How often to look for such jobs (0: claim_idle / 2).
    std::chrono::milliseconds claim_interval{0};
    /// How long one XREADGROUP waits for new jobs: also how long stop()
    /// may wait for the read in progress.
    std::chrono::milliseconds block{500};
};

/// What a worker did so far.
struct stream_worker_stats {
    std::uint64_t succeeded = 0;      ///< jobs acknowledged after the handler succeeded
    std::uint64_t failed_attempts = 0;  ///< handler runs that threw
    std::uint64_t dead_lettered = 0;  ///< jobs moved to the dead-letter stream
    std::uint64_t reclaimed = 0;      ///< jobs taken over from other consumers
    std::uint64_t in_flight = 0;      ///< jobs running now
};

/// Consumes a Redis Stream as a job queue through a consumer group, with
/// several workers (tasks, processes, machines) sharing the jobs (the
/// pattern of arq or Celery over a broker, in a few lines):
///
///     redis::stream_worker worker(r, {.stream = "jobs", .group = "workers",
///                                     .consumer = "worker-1", .concurrency = 8},
///                                 [](const redis::stream_entry& job) -> corio::task<void> {
///                                     co_await handle(job.fields);
///                                 });
///     worker.stop_on_signals();   // SIGINT / SIGTERM: finish and leave
///     co_await worker.run();
///
/// Delivery is at least once, never exactly once: a job is acknowledged
/// (XACK) only after its handler returned, so a job whose worker dies
/// midway is reclaimed (XAUTOCLAIM after claim_idle) and runs again
/// elsewhere; a slow job can also be reclaimed while it still runs. Make
/// handlers idempotent.
///
/// - At most `concurrency` jobs run at once (a semaphore); the worker reads
///   only as many entries as it has free slots.
/// - A handler that throws is retried (max_attempts runs in all, retry_delay
///   apart); then the job goes to the dead-letter stream with the error and
///   is acknowledged, in one MULTI/EXEC.
/// - stop() (or a watched signal): no more reads, the jobs running finish
///   and are acknowledged, then run() returns.
///
/// The connection must stay open (the worker borrows it) and the handler's
/// captures must outlive run(). Blocking
/// reads use the connection's dedicated pool, so the same connection keeps
/// serving other commands (acks included). Loop thread only.
class stream_worker {
public:
    /// Runs one job: returning acknowledges it, throwing counts a failed attempt.
    using handler_type = std::function<task<void>(const stream_entry&)>;

    /// A worker on `r` (borrowed: it must stay open while run() runs). Throws
    /// std::invalid_argument without a stream, group or consumer name; a concurrency of 0
    /// counts as 1.
    stream_worker(connection& r, stream_worker_options options, handler_type handler)
        : m_state(std::make_shared<state>(r, std::move(options), std::move(handler))) {
        if (m_state->options.stream.empty() || m_state->options.group.empty() || m_state->options.consumer.empty()) {
            throw std::invalid_argument("redis::stream_worker needs a stream, a group and a consumer name");
        }
        if (m_state->options.dead_letter_stream.empty()) {
            m_state->options.dead_letter_stream = m_state->options.stream + ":dead";
        }
        if (m_state->options.concurrency == 0) {
            m_state->options.concurrency = 1;
        }
        m_state->slots = std::make_unique<semaphore>(m_state->options.concurrency);
    }

    /// Creates the group if needed (MKSTREAM), then reads and runs jobs
    /// until stop(); returns once the jobs in flight have finished and been
    /// acknowledged. Errors of the connection propagate (after the jobs in
    /// flight finished). Cancelling run() stops reading at once and waits
    /// for the jobs in flight.
    [[nodiscard]] task<void> run() { return run_loop(m_state); }

    /// Stops reading; run() returns once the jobs in flight are done.
    void stop() noexcept {
        m_state->stopping = true;
        m_state->stop_requested.set();
    }

    /// stop() when one of `signals` arrives (default SIGINT and SIGTERM).
    /// Call on the loop thread, before run().
    void stop_on_signals(std::vector<int> signals = {SIGINT, SIGTERM}) {
        std::weak_ptr<state> weak = m_state;
        for (const int signum : signals) {
            get_running_loop().add_signal_handler(signum, [weak] {
                if (auto s = weak.lock()) {
                    s->stopping = true;
                    s->stop_requested.set();
                }
            });
        }
    }

    /// Counters of what the worker did so far (updated as it runs).
    [[nodiscard]] const stream_worker_stats& stats() const noexcept { return m_state->stats; }
    /// The options in effect (dead_letter_stream filled in when it was empty).
    [[nodiscard]] const stream_worker_options& options() const noexcept { return m_state->options; }

private:
    struct state {
        state(connection& r, stream_worker_options o, handler_type h)
            : borrowed(r.borrow()), redis(&borrowed), options(std::move(o)), handler(std::move(h)) {}
        redis::connection borrowed;  // the caller's connection (which may move meanwhile)
        redis::connection* redis;
        stream_worker_options options;
        handler_type handler;
        std::unique_ptr<semaphore> slots;
        stream_worker_stats stats;
        bool stopping = false;
        event stop_requested;
        event idle{true};  // no job in flight
    };

    CORIO_HEADER_COROUTINE static task<void> run_loop(std::shared_ptr<state> s) {
        const stream_worker_options& o = s->options;
        s->stopping = false;
        s->stop_requested.clear();
        (void)co_await s->redis->xgroup_create(o.stream, o.group, o.start_id, true);
        const auto interval = o.claim_interval.count() > 0 ? o.claim_interval : o.claim_idle / 2;
        auto next_claim = std::chrono::steady_clock::now();
        std::exception_ptr failure;
        try {
            while (!s->stopping) {
                semaphore_permit first = co_await s->slots->acquire();
                if (s->stopping) {
                    break;
                }
                std::vector<semaphore_permit> permits;
                permits.push_back(std::move(first));
                while (auto more = s->slots->try_acquire()) {
                    permits.push_back(std::move(*more));
                }
                std::vector<stream_entry> jobs;
                bool reclaimed = false;
                bool connection_lost = false;
                try {
                    if (std::chrono::steady_clock::now() >= next_claim) {
                        next_claim = std::chrono::steady_clock::now() + interval;
                        autoclaim_result claimed = co_await s->redis->xautoclaim(o.stream, o.group, o.consumer,
                                                                                 o.claim_idle, "0-0", permits.size());
                        jobs = std::move(claimed.claimed);
                        reclaimed = !jobs.empty();
                    }
                    if (jobs.empty()) {
                        jobs = co_await s->redis->xreadgroup(o.group, o.consumer, o.stream, permits.size(), o.block);
                    }
                } catch (const connection_error&) {
                    // The server is away: the next read reconnects (with backoff).
                    connection_lost = true;
                }
                if (connection_lost) {
                    permits.clear();
                    co_await sleep(o.block);
                    continue;
                }
                for (stream_entry& job : jobs) {
                    semaphore_permit permit = std::move(permits.back());
                    permits.pop_back();
                    if (reclaimed) {
                        ++s->stats.reclaimed;
                    }
                    ++s->stats.in_flight;
                    s->idle.clear();
                    (void)create_task(process(s, std::move(job), std::move(permit), reclaimed));
                }
            }
        } catch (...) {
            failure = std::current_exception();
        }
        // Jobs in flight finish (and are acknowledged) even when the loop
        // ended by cancellation or an error; shielded from a cancellation of run().
        while (s->stats.in_flight != 0) {
            bool interrupted = false;
            try {
                co_await s->idle.wait();
            } catch (const cancelled_error&) {
                interrupted = true;
            }
            if (interrupted && !failure) {
                failure = std::make_exception_ptr(cancelled_error());
            }
        }
        if (failure) {
            std::rethrow_exception(failure);
        }
    }

    CORIO_HEADER_COROUTINE static task<void> process(std::shared_ptr<state> s, stream_entry job,
                                                     semaphore_permit permit, bool reclaimed) {
        const stream_worker_options& o = s->options;
        struct finished {
            state* s;
            ~finished() {
                if (--s->stats.in_flight == 0) {
                    s->idle.set();
                }
            }
        } on_exit{s.get()};
        int attempts = 0;
        std::string last_error;
        bool succeeded = false;
        try {
            bool exhausted = false;
            if (reclaimed) {
                // Each reclaim counts a delivery: a job that keeps killing its
                // workers stops being retried.
                const std::vector<pending_entry> pending =
                    co_await s->redis->xpending_range(o.stream, o.group, job.id, job.id, 1);
                if (!pending.empty() && pending.front().deliveries > o.max_attempts) {
                    exhausted = true;
                    attempts = static_cast<int>(pending.front().deliveries) - 1;
                    last_error = "delivered " + std::to_string(attempts) + " times without being acknowledged";
                }
            }
            while (!exhausted && attempts < o.max_attempts) {
                if (attempts > 0) {
                    co_await sleep(o.retry_delay);
                }
                ++attempts;
                bool threw = false;
                try {
                    co_await s->handler(job);
                } catch (const std::exception& e) {
                    threw = true;
                    last_error = e.what();
                }
                if (!threw) {
                    succeeded = true;
                    break;
                }
                ++s->stats.failed_attempts;
            }
            if (succeeded) {
                const std::vector<std::string> ids{job.id};
                (void)co_await s->redis->xack(o.stream, o.group, ids);
                ++s->stats.succeeded;
            } else {
                transaction move_to_dead_letters = s->redis->multi();
                std::vector<std::string> args{"XADD", o.dead_letter_stream, "*"};
                for (const auto& [field, value] : job.fields) {
                    args.push_back(field);
                    args.push_back(value);
                }
                args.insert(args.end(), {"source_id", job.id, "error", last_error, "attempts", std::to_string(attempts)});
                move_to_dead_letters.command(args);
                move_to_dead_letters.command("XACK", o.stream, o.group, job.id);
                (void)co_await move_to_dead_letters.exec();
                ++s->stats.dead_lettered;
            }
        } catch (const std::exception&) {
            // The ack or the move failed (connection lost): the job stays
            // pending and is reclaimed later. At least once, never lost.
        }
        permit.release();
    }

    std::shared_ptr<state> m_state;
};

}  // namespace corio::redis
