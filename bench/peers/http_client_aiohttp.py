#!/usr/bin/python3
"""aiohttp ClientSession for the HTTP client benchmark.

    http_client_aiohttp.py --port P [--requests 10000] [--connections 100] [--loop asyncio|uvloop]

One ClientSession with TCPConnector(limit=connections); `connections`
coroutines each do requests/connections GETs of http://127.0.0.1:P/ in turn,
reading and checking every body. Prints the same `key<TAB>value` lines as the
C++ clients: requests, seconds, requests_per_s, client_cpu_us_per_request
(getrusage of this process over the same window).
"""

import argparse
import asyncio
import resource
import sys
import time

import aiohttp


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def worker(session, url, count, stats):
    for _ in range(count):
        async with session.get(url) as response:
            body = await response.read()
            if response.status != 200 or body != b"Hello, World!":
                stats["failures"] += 1
            stats["completed"] += 1


async def main(args):
    url = f"http://127.0.0.1:{args.port}/"
    stats = {"completed": 0, "failures": 0}
    cpu_start = cpu_seconds()
    start = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=args.connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        per_worker = args.requests // args.connections
        await asyncio.gather(*(worker(session, url, per_worker, stats) for _ in range(args.connections)))
    seconds = time.perf_counter() - start
    cpu = cpu_seconds() - cpu_start
    if stats["failures"] or stats["completed"] != args.requests:
        print(f"http_client_aiohttp: {stats['completed']} of {args.requests} requests completed, "
              f"{stats['failures']} failures", file=sys.stderr)
        return 1
    n = stats["completed"]
    print(f"requests\t{n}\nseconds\t{seconds:.6f}\nrequests_per_s\t{n / seconds:.1f}\n"
          f"client_cpu_us_per_request\t{cpu * 1e6 / n:.4f}")
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--requests", type=int, default=10000)
    ap.add_argument("--connections", type=int, default=100)
    ap.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    args = ap.parse_args()
    if args.requests % args.connections:
        ap.error("--connections must divide --requests")
    if args.loop == "uvloop":
        import uvloop

        uvloop.install()
    sys.exit(asyncio.run(main(args)))
