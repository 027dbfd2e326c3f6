"""asyncpg peer of bench/pg_corio.cpp (same modes, same output line):

    seq   <count>          `SELECT $1::int` one after another on one connection
    pool  <count> <tasks>  the same from `tasks` tasks through pool.fetchval
                           on a pool of 10 connections
    rows                   every row of bench_rows from one conn.fetch
    copy  <count>          copy_records_to_table of `count` (int, text, float8)
                           rows into a temporary table

    MALLOC_MMAP_THRESHOLD_=1048576 /usr/bin/python3 bench/peers/pg_asyncpg.py <dsn> <mode> [count] [tasks]

asyncpg decodes every value into a Python object while it reads the result,
so `rows` times fetch alone (corio and the floor read each value after it).
"""
import asyncio
import resource
import sys
import time

import asyncpg


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Stopwatch:
    def start(self):
        self.cpu = cpu_seconds()
        self.wall = time.perf_counter()

    def report(self, mode, count, unit):
        elapsed = time.perf_counter() - self.wall
        cpu = cpu_seconds() - self.cpu
        plural = "queries" if unit == "query" else "rows"
        print(f"asyncpg {mode}: {count} {plural} in {elapsed:.3f} s, {count / elapsed:.0f} per s, "
              f"client CPU {cpu * 1e6 / count:.3f} us per {unit}")


async def sequential(dsn, count):
    conn = await asyncpg.connect(dsn)
    await conn.fetchval("SELECT $1::int", 0)
    watch = Stopwatch()
    watch.start()
    total = 0
    for i in range(count):
        value = await conn.fetchval("SELECT $1::int", i)
        total += value
    watch.report("seq", count, "query")
    await conn.close()
    return total == count * (count - 1) // 2


async def pooled(dsn, count, tasks):
    pool = await asyncpg.create_pool(dsn, min_size=10, max_size=10)
    held = [await pool.acquire() for _ in range(10)]
    for conn in held:
        await conn.fetchval("SELECT $1::int", 0)
    for conn in held:
        await pool.release(conn)
    each = count // tasks
    total = 0

    async def client(first):
        nonlocal total
        for i in range(first, first + each):
            # Awaited first: `total += await ...` would read total before the await.
            value = await pool.fetchval("SELECT $1::int", i)
            total += value

    watch = Stopwatch()
    watch.start()
    await asyncio.gather(*(client(t * each) for t in range(tasks)))
    done = each * tasks
    watch.report("pool", done, "query")
    await pool.close()
    return total == done * (done - 1) // 2


async def rows(dsn):
    conn = await asyncpg.connect(dsn)
    watch = Stopwatch()
    watch.start()
    result = await conn.fetch("SELECT a, b, c FROM bench_rows")
    watch.report("rows", len(result), "row")
    await conn.close()
    return len(result) > 0


async def copy(dsn, count):
    conn = await asyncpg.connect(dsn)
    await conn.execute("CREATE TEMP TABLE copy_target (a int, b text, c float8)")
    records = [(i, f"row {i}", i * 0.5) for i in range(count)]
    watch = Stopwatch()
    watch.start()
    status = await conn.copy_records_to_table("copy_target", records=records, columns=["a", "b", "c"])
    watch.report("copy", count, "row")
    await conn.close()
    return status == f"COPY {count}"


def main():
    dsn, mode = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
    tasks = int(sys.argv[4]) if len(sys.argv) > 4 else 100
    runs = {"seq": lambda: sequential(dsn, count), "pool": lambda: pooled(dsn, count, tasks),
            "rows": lambda: rows(dsn), "copy": lambda: copy(dsn, count)}
    ok = asyncio.run(runs[mode]())
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
