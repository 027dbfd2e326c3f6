#!/usr/bin/python3
"""Python asyncio / uvloop peer of bench/compare_core_corio.cpp.

The same five measurements, timed the same way (time.perf_counter_ns around a
plain loop inside one root coroutine), printed as `name<TAB>value<TAB>unit`:

  task_create_await            create a coroutine and await it
  spawn_await                  asyncio.create_task(...) and await the task
  yield_pingpong               two tasks doing `await asyncio.sleep(0)` (gather)
  timer_insert_cancel          loop.call_later(1, cb).cancel()
  gather_100k_sleep10ms_wall   gather of 100,000 coroutines each sleeping 10 ms
  gather_100k_sleep10ms_first_wall   the same, first round only
  gather_100k_sleep10ms_rss    peak RSS growth of that gather per task

Usage: compare_core_asyncio.py --loop asyncio|uvloop [--quick]
"""

import argparse
import asyncio
import resource
import statistics
import sys
import time


class Config:
    def __init__(self, quick):
        # Python is ~10-100x slower per operation than the C++ programs, so the
        # loops are shorter; results are per operation anyway.
        div = 10 if quick else 1
        self.create_await = 1_000_000 // div
        self.spawn_await = 200_000 // div
        self.yields_per_side = 200_000 // div
        self.timer_ops = 500_000 // div
        self.sleepers = 100_000
        self.sleeper_rounds = 1 if quick else 5


def report(name, value, unit):
    print(f"{name}\t{value:.3f}\t{unit}", flush=True)


def peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


async def leaf(value):
    return value


async def create_await_loop(n):
    total = 0
    for i in range(n):
        total += await leaf(i & 0xFF)
    return total


async def spawn_await_loop(n):
    total = 0
    create_task = asyncio.create_task
    for i in range(n):
        total += await create_task(leaf(i & 0xFF))
    return total


async def yielder(n):
    sleep = asyncio.sleep
    for _ in range(n):
        await sleep(0)


def _noop():
    pass


async def timer_loop(n):
    loop = asyncio.get_running_loop()
    call_later = loop.call_later
    for i in range(n):
        call_later(1.0, _noop).cancel()
        if (i & 1023) == 1023:
            await asyncio.sleep(0)  # lets the loop drop cancelled timers


async def sleeper():
    await asyncio.sleep(0.01)


async def gather_sleepers(n):
    await asyncio.gather(*[sleeper() for _ in range(n)])


async def run_all(cfg):
    walls = []
    rss_before = peak_rss_bytes()
    for rnd in range(cfg.sleeper_rounds):
        start = time.perf_counter_ns()
        await gather_sleepers(cfg.sleepers)
        walls.append((time.perf_counter_ns() - start) / 1e6)
        if rnd == 0:
            report("gather_100k_sleep10ms_rss", (peak_rss_bytes() - rss_before) / cfg.sleepers, "bytes/task")
    report("gather_100k_sleep10ms_wall", statistics.median(walls), "ms")
    report("gather_100k_sleep10ms_first_wall", walls[0], "ms")

    await create_await_loop(cfg.create_await // 10)
    start = time.perf_counter_ns()
    await create_await_loop(cfg.create_await)
    report("task_create_await", (time.perf_counter_ns() - start) / cfg.create_await, "ns/op")

    await spawn_await_loop(cfg.spawn_await // 10)
    start = time.perf_counter_ns()
    await spawn_await_loop(cfg.spawn_await)
    report("spawn_await", (time.perf_counter_ns() - start) / cfg.spawn_await, "ns/op")

    n = cfg.yields_per_side
    await asyncio.gather(yielder(n // 10), yielder(n // 10))
    start = time.perf_counter_ns()
    await asyncio.gather(yielder(n), yielder(n))
    report("yield_pingpong", (time.perf_counter_ns() - start) / (2 * n), "ns/yield")

    await timer_loop(cfg.timer_ops // 10)
    start = time.perf_counter_ns()
    await timer_loop(cfg.timer_ops)
    report("timer_insert_cancel", (time.perf_counter_ns() - start) / cfg.timer_ops, "ns/op")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    cfg = Config(args.quick)

    if args.loop == "uvloop":
        try:
            import uvloop
        except ImportError:
            print("uvloop is not installed (Debian: python3-uvloop)", file=sys.stderr)
            return 3
        loop_factory = uvloop.new_event_loop
    else:
        loop_factory = asyncio.new_event_loop

    if hasattr(asyncio, "Runner"):  # Python >= 3.11
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(run_all(cfg))
    else:
        loop = loop_factory()
        try:
            loop.run_until_complete(run_all(cfg))
        finally:
            loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
