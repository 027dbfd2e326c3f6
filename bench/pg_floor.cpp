// The floor of bench/pg_run.py's rows: plain C++ on libpq, no corio, doing
// only what any client must for the same work.
//
//   seq   <count>                 `SELECT $1::int` (prepared, binary) on one
//                                 connection, one in flight at a time
//   pool  <count> <tasks> <conns> the same over `conns` connections, each
//                                 keeping tasks/conns statements in flight in
//                                 pipeline mode (the concurrency corio's
//                                 `tasks` tasks give each pooled connection),
//                                 one thread polling every socket
//   rows                          every row of bench_rows in one binary result,
//                                 each value decoded (text as a view)
//   copy  <count>                 binary COPY FROM STDIN of `count` rows built
//                                 by hand into a temporary table
//
//   pg_floor <dsn> <seq|pool|rows|copy> [count] [tasks] [conns]
//
// Prints the same line as bench/pg_corio.cpp, with "floor" first.
#include <libpq-fe.h>

#include <arpa/inet.h>
#include <poll.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

double cpu_seconds() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

class stopwatch {
public:
    void start() {
        m_cpu = cpu_seconds();
        m_wall = std::chrono::steady_clock::now();
    }
    void report(const char* mode, long count, const char* unit) const {
        const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - m_wall;
        const double cpu = cpu_seconds() - m_cpu;
        std::printf("floor %s: %ld %s in %.3f s, %.0f per s, client CPU %.3f us per %s\n", mode, count,
                    std::string(unit) == "query" ? "queries" : "rows", elapsed.count(), static_cast<double>(count) / elapsed.count(),
                    cpu * 1e6 / static_cast<double>(count), unit);
    }

private:
    double m_cpu = 0;
    std::chrono::steady_clock::time_point m_wall;
};

[[noreturn]] void fail(PGconn* conn, const char* what) {
    std::fprintf(stderr, "pg_floor: %s: %s\n", what, conn != nullptr ? PQerrorMessage(conn) : "");
    std::exit(1);
}

PGconn* open(const std::string& dsn) {
    PGconn* conn = PQconnectdb(dsn.c_str());
    if (PQstatus(conn) != CONNECTION_OK) {
        fail(conn, "connect");
    }
    return conn;
}

std::uint32_t be32(const char* bytes) {
    std::uint32_t value = 0;
    std::memcpy(&value, bytes, 4);
    return ntohl(value);
}

double be_double(const char* bytes) {
    const std::uint64_t bits = (std::uint64_t{be32(bytes)} << 32) | be32(bytes + 4);
    double value = 0;
    std::memcpy(&value, &bits, sizeof value);
    return value;
}

void put32(std::string& out, std::uint32_t value) {
    value = htonl(value);
    out.append(reinterpret_cast<const char*>(&value), 4);
}

// One connection's share of a pipelined run.
struct lane {
    PGconn* conn = nullptr;
    int to_send = 0;
    int in_flight = 0;
    int next_value = 0;
};

// `count` queries over `conns` connections, `depth` in flight on each.
int pipelined(const std::string& dsn, const char* mode, int count, int conns, int depth) {
    std::vector<lane> lanes(static_cast<std::size_t>(conns));
    for (int i = 0; i < conns; ++i) {
        lane& l = lanes[static_cast<std::size_t>(i)];
        l.conn = open(dsn);
        const Oid int4 = 23;
        PGresult* prepared = PQprepare(l.conn, "q", "SELECT $1::int", 1, &int4);
        if (PQresultStatus(prepared) != PGRES_COMMAND_OK) {
            fail(l.conn, "prepare");
        }
        PQclear(prepared);
        if (PQsetnonblocking(l.conn, 1) != 0 || PQenterPipelineMode(l.conn) != 1) {
            fail(l.conn, "pipeline mode");
        }
        l.to_send = count / conns;
        l.next_value = i * (count / conns);
    }
    const long total = static_cast<long>(count / conns) * conns;
    long done = 0;
    std::int64_t sum = 0;
    std::vector<pollfd> fds(lanes.size());
    stopwatch watch;
    watch.start();
    while (done < total) {
        for (std::size_t i = 0; i < lanes.size(); ++i) {
            lane& l = lanes[i];
            while (l.to_send > 0 && l.in_flight < depth) {
                const std::uint32_t value = htonl(static_cast<std::uint32_t>(l.next_value++));
                const char* values[] = {reinterpret_cast<const char*>(&value)};
                const int lengths[] = {4};
                const int formats[] = {1};
                if (PQsendQueryPrepared(l.conn, "q", 1, values, lengths, formats, 1) != 1 ||
                    PQpipelineSync(l.conn) != 1) {
                    fail(l.conn, "send");
                }
                --l.to_send;
                ++l.in_flight;
            }
            const int flushed = PQflush(l.conn);
            if (flushed < 0) {
                fail(l.conn, "flush");
            }
            fds[i] = pollfd{PQsocket(l.conn), static_cast<short>(POLLIN | (flushed == 1 ? POLLOUT : 0)), 0};
        }
        if (::poll(fds.data(), fds.size(), -1) < 0) {
            fail(nullptr, "poll");
        }
        for (std::size_t i = 0; i < lanes.size(); ++i) {
            if ((fds[i].revents & POLLIN) == 0) {
                continue;
            }
            lane& l = lanes[i];
            if (PQconsumeInput(l.conn) != 1) {
                fail(l.conn, "read");
            }
            int empty_in_a_row = 0;
            while (l.in_flight > 0 && PQisBusy(l.conn) == 0) {
                PGresult* result = PQgetResult(l.conn);
                if (result == nullptr) {
                    if (++empty_in_a_row == 2) {
                        break;
                    }
                    continue;
                }
                empty_in_a_row = 0;
                switch (PQresultStatus(result)) {
                    case PGRES_TUPLES_OK:
                        sum += static_cast<std::int32_t>(be32(PQgetvalue(result, 0, 0)));
                        break;
                    case PGRES_PIPELINE_SYNC:
                        --l.in_flight;
                        ++done;
                        break;
                    default:
                        fail(l.conn, "query");
                }
                PQclear(result);
            }
        }
    }
    watch.report(mode, total, "query");
    for (lane& l : lanes) {
        PQfinish(l.conn);
    }
    return sum == total * (total - 1) / 2 ? 0 : 1;
}

int rows(const std::string& dsn) {
    PGconn* conn = open(dsn);
    stopwatch watch;
    watch.start();
    PGresult* result = PQexecParams(conn, "SELECT a, b, c FROM bench_rows", 0, nullptr, nullptr, nullptr, nullptr, 1);
    if (PQresultStatus(result) != PGRES_TUPLES_OK) {
        fail(conn, "rows");
    }
    const int count = PQntuples(result);
    std::int64_t ints = 0;
    std::size_t text = 0;
    double floats = 0;
    for (int row = 0; row < count; ++row) {
        ints += static_cast<std::int32_t>(be32(PQgetvalue(result, row, 0)));
        text += std::string_view(PQgetvalue(result, row, 1), static_cast<std::size_t>(PQgetlength(result, row, 1)))
                    .size();
        floats += be_double(PQgetvalue(result, row, 2));
    }
    PQclear(result);
    watch.report("rows", count, "row");
    PQfinish(conn);
    return count == 0 || ints == 0 || text == 0 || floats == 0 ? 1 : 0;
}

int copy(const std::string& dsn, int count) {
    PGconn* conn = open(dsn);
    PQclear(PQexec(conn, "CREATE TEMP TABLE copy_target (a int, b text, c float8)"));
    // The values exist before timing, as the clients' record lists do.
    std::vector<std::string> texts;
    texts.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
        texts.push_back("row " + std::to_string(i));
    }
    stopwatch watch;
    watch.start();
    std::string data("PGCOPY\n\377\r\n\0", 11);
    put32(data, 0);
    put32(data, 0);
    for (int i = 0; i < count; ++i) {
        const std::uint16_t fields = htons(3);
        data.append(reinterpret_cast<const char*>(&fields), 2);
        put32(data, 4);
        put32(data, static_cast<std::uint32_t>(i));
        const std::string& text = texts[static_cast<std::size_t>(i)];
        put32(data, static_cast<std::uint32_t>(text.size()));
        data += text;
        const double value = i * 0.5;
        std::uint64_t bits = 0;
        std::memcpy(&bits, &value, sizeof bits);
        put32(data, 8);
        put32(data, static_cast<std::uint32_t>(bits >> 32));
        put32(data, static_cast<std::uint32_t>(bits));
    }
    data.append("\xff\xff", 2);
    PGresult* started = PQexec(conn, "COPY copy_target (a, b, c) FROM STDIN (FORMAT binary)");
    if (PQresultStatus(started) != PGRES_COPY_IN) {
        fail(conn, "copy");
    }
    PQclear(started);
    for (std::size_t offset = 0; offset < data.size();) {
        const std::size_t size = std::min<std::size_t>(64 * 1024, data.size() - offset);
        if (PQputCopyData(conn, data.data() + offset, static_cast<int>(size)) != 1) {
            fail(conn, "copy data");
        }
        offset += size;
    }
    if (PQputCopyEnd(conn, nullptr) != 1) {
        fail(conn, "copy end");
    }
    PGresult* finished = PQgetResult(conn);
    const bool ok = PQresultStatus(finished) == PGRES_COMMAND_OK &&
                    std::string(PQcmdStatus(finished)) == "COPY " + std::to_string(count);
    PQclear(finished);
    while (PGresult* rest = PQgetResult(conn)) {
        PQclear(rest);
    }
    watch.report("copy", count, "row");
    PQfinish(conn);
    return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s <dsn> <seq|pool|rows|copy> [count] [tasks] [conns]\n", argv[0]);
        return 2;
    }
    const std::string dsn = argv[1];
    const std::string mode = argv[2];
    const int count = argc > 3 ? std::atoi(argv[3]) : 10000;
    const int tasks = argc > 4 ? std::atoi(argv[4]) : 100;
    const int conns = argc > 5 ? std::atoi(argv[5]) : 10;
    if (mode == "seq") {
        return pipelined(dsn, "seq", count, 1, 1);
    }
    if (mode == "pool") {
        return pipelined(dsn, "pool", count, conns, std::max(1, tasks / conns));
    }
    if (mode == "rows") {
        return rows(dsn);
    }
    if (mode == "copy") {
        return copy(dsn, count);
    }
    std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
    return 2;
}
