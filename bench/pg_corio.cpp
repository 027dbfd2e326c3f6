// corio::pg throughput, the rows of bench/pg_run.py (which starts the server
// and creates the table `bench_rows (a int, b text, c float8)` read by `rows`):
//
//   seq   <count>          `SELECT $1::int` one after another on one connection
//   pool  <count> <tasks>  the same statement from `tasks` tasks through
//                          pool.fetchval on a pool of 10 connections
//   rows                   every row of bench_rows from one fetch, each value read
//   copy  <count>          copy_records_to_table of `count` (int, text, float8)
//                          rows into a temporary table
//
//   pg_corio <dsn> <seq|pool|rows|copy> [count] [tasks]
//
// Prints one line: the mode, how many (queries or rows), seconds, per second,
// and the client's CPU time (getrusage: user + system) per query or row.
#include <corio/corio.hpp>
#include <corio/pg.hpp>

#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace {

namespace pg = corio::pg;

double cpu_seconds() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// Times the section between start() and report().
class stopwatch {
public:
    void start() {
        m_cpu = cpu_seconds();
        m_wall = std::chrono::steady_clock::now();
    }
    void report(const char* mode, long count, const char* unit) const {
        const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - m_wall;
        const double cpu = cpu_seconds() - m_cpu;
        std::printf("corio %s: %ld %s in %.3f s, %.0f per s, client CPU %.3f us per %s\n", mode, count,
                    std::string(unit) == "query" ? "queries" : "rows", elapsed.count(), static_cast<double>(count) / elapsed.count(),
                    cpu * 1e6 / static_cast<double>(count), unit);
    }

private:
    double m_cpu = 0;
    std::chrono::steady_clock::time_point m_wall;
};

corio::task<int> sequential(std::string dsn, int count) {
    pg::connection conn = co_await pg::connect(dsn);
    (void)co_await conn.fetchval<std::int32_t>("SELECT $1::int", 0);  // prepared before timing
    stopwatch watch;
    watch.start();
    std::int64_t sum = 0;
    for (int i = 0; i < count; ++i) {
        sum += co_await conn.fetchval<std::int32_t>("SELECT $1::int", i);
    }
    watch.report("seq", count, "query");
    co_return sum == std::int64_t{count} * (count - 1) / 2 ? 0 : 1;
}

corio::task<void> pool_client(pg::pool& pool, int first, int count, std::int64_t& sum) {
    for (int i = first; i < first + count; ++i) {
        sum += co_await pool.fetchval<std::int32_t>("SELECT $1::int", i);
    }
}

corio::task<int> pooled(std::string dsn, int count, int tasks) {
    pg::pool_options options;
    options.dsn = dsn;
    options.min_size = 10;
    options.max_size = 10;
    pg::pool pool = co_await pg::create_pool(std::move(options));
    {
        // Every connection opened and its statement prepared before timing.
        std::vector<pg::pooled_connection> held;
        for (int i = 0; i < 10; ++i) {
            held.push_back(co_await pool.acquire());
            (void)co_await held.back()->fetchval<std::int32_t>("SELECT $1::int", 0);
        }
    }
    const int each = count / tasks;
    std::int64_t sum = 0;
    std::vector<corio::task<void>> clients;
    for (int t = 0; t < tasks; ++t) {
        clients.push_back(pool_client(pool, t * each, each, sum));
    }
    stopwatch watch;
    watch.start();
    co_await corio::gather(std::move(clients));
    const long done = static_cast<long>(each) * tasks;
    watch.report("pool", done, "query");
    co_await pool.close();
    co_return sum == static_cast<std::int64_t>(done) * (done - 1) / 2 ? 0 : 1;
}

corio::task<int> rows(std::string dsn) {
    pg::connection conn = co_await pg::connect(dsn);
    stopwatch watch;
    watch.start();
    std::vector<pg::record> result = co_await conn.fetch("SELECT a, b, c FROM bench_rows");
    std::int64_t ints = 0;
    std::size_t text = 0;
    double floats = 0;
    for (const pg::record& row : result) {
        ints += row.get<std::int32_t>(0);
        text += row.get<std::string>(1).size();
        floats += row.get<double>(2);
    }
    watch.report("rows", static_cast<long>(result.size()), "row");
    co_return result.empty() || ints == 0 || text == 0 || floats == 0 ? 1 : 0;
}

corio::task<int> copy(std::string dsn, int count) {
    pg::connection conn = co_await pg::connect(dsn);
    (void)co_await conn.execute("CREATE TEMP TABLE copy_target (a int, b text, c float8)");
    std::vector<std::tuple<std::int32_t, std::string, double>> records;
    records.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
        records.emplace_back(i, "row " + std::to_string(i), i * 0.5);
    }
    std::vector<std::string> columns{"a", "b", "c"};
    stopwatch watch;
    watch.start();
    const std::string status = co_await conn.copy_records_to_table("copy_target", records, std::move(columns));
    watch.report("copy", count, "row");
    co_return status == "COPY " + std::to_string(count) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s <dsn> <seq|pool|rows|copy> [count] [tasks]\n", argv[0]);
        return 2;
    }
    const std::string dsn = argv[1];
    const std::string mode = argv[2];
    const int count = argc > 3 ? std::atoi(argv[3]) : 10000;
    const int tasks = argc > 4 ? std::atoi(argv[4]) : 100;
    if (mode == "seq") {
        return corio::run(sequential(dsn, count));
    }
    if (mode == "pool") {
        return corio::run(pooled(dsn, count, tasks));
    }
    if (mode == "rows") {
        return corio::run(rows(dsn));
    }
    if (mode == "copy") {
        return corio::run(copy(dsn, count));
    }
    std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
    return 2;
}
