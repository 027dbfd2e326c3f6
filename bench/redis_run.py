#!/usr/bin/env python3
"""corio::redis against redis-benchmark (the C floor, -P 16 and without) and
redis.asyncio: 100,000 SET and GET from 50 concurrent clients, interleaved
rounds, medians. Starts its own redis-server on a free loopback port.

    /usr/bin/python3 bench/redis_run.py <redis_corio binary> [rounds=5] [requests=100000]

corio and redis.asyncio use 50 tasks on ONE connection; redis-benchmark uses
50 connections (-c 50), with -P 16 (16 commands per write per connection,
what auto-pipelining aims at) and without. redis.asyncio runs 1/5 of the
requests (it is ~50x slower) and is scaled to requests/s.

Then jobs/s through a stream consumer group: corio's stream_worker against
the usual redis.asyncio XREADGROUP/XACK worker loop, 50 jobs at once, jobs
that do nothing (the queue machinery alone); corio takes requests/2 jobs,
redis.asyncio requests/10 (rows WORKER, "requests/s" meaning jobs/s).
"""
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
corio = sys.argv[1]
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
requests = int(sys.argv[3]) if len(sys.argv) > 3 else 100000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


port = free_port()
workdir = tempfile.mkdtemp(prefix="corio-redis-bench-")
server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                           "--appendonly", "no", "--dir", workdir], stdout=subprocess.DEVNULL)
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", port)).close()
        break
    except OSError:
        time.sleep(0.05)

env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="1048576")


def rps(line):
    return float(re.search(r"([\d.]+) requests/s", line).group(1))


def cpu(line):
    m = re.search(r"client CPU ([\d.]+) us", line)
    return float(m.group(1)) if m else float("nan")


results = {}
try:
    for _ in range(rounds):
        for op in ("set", "get"):
            out = subprocess.run([corio, "127.0.0.1", str(port), op, str(requests), "50"],
                                 capture_output=True, text=True, check=True).stdout
            results.setdefault(("corio", op), []).append((rps(out), cpu(out)))
            out = subprocess.run(["/usr/bin/python3", os.path.join(here, "peers", "redis_asyncio.py"), "127.0.0.1",
                                  str(port), op, str(requests // 5), "50"],
                                 capture_output=True, text=True, check=True, env=env).stdout
            results.setdefault(("redis.asyncio", op), []).append((rps(out), cpu(out)))
        out = subprocess.run([corio, "127.0.0.1", str(port), "worker", str(requests // 2), "50"],
                             capture_output=True, text=True, check=True).stdout
        results.setdefault(("corio", "worker"), []).append((rps(out), cpu(out)))
        out = subprocess.run(["/usr/bin/python3", os.path.join(here, "peers", "redis_asyncio.py"), "127.0.0.1",
                              str(port), "worker", str(requests // 10), "50"],
                             capture_output=True, text=True, check=True, env=env).stdout
        results.setdefault(("redis.asyncio", "worker"), []).append((rps(out), cpu(out)))
        for pipeline in ("16", "1"):
            out = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-n", str(requests),
                                  "-c", "50", "-P", pipeline, "-t", "set,get", "-q"],
                                 capture_output=True, text=True, check=True).stdout.replace("\r", "\n")
            for op in ("set", "get"):
                m = re.search(op.upper() + r": ([\d.]+) requests per second", out)
                results.setdefault((f"redis-benchmark -P {pipeline}", op), []).append((float(m.group(1)), float("nan")))
finally:
    server.send_signal(signal.SIGTERM)
    server.wait()

print(f"{rounds} interleaved rounds, {requests} requests, 50 clients; medians")
median = {k: statistics.median(r for r, _ in v) for k, v in results.items()}
for (name, op), value in sorted(results.items()):
    c = statistics.median(x for _, x in value)
    print(f"  {name:22} {op.upper()}: {median[(name, op)]:10.0f} requests/s"
          + ("" if c != c else f", client CPU {c:.2f} us/request"))
print(f"  WORKER (jobs/s): corio / redis.asyncio = "
      f"{median[('corio', 'worker')] / median[('redis.asyncio', 'worker')]:.1f}x")
for op in ("set", "get"):
    print(f"  {op.upper()}: corio / redis-benchmark -P 16 = {median[('corio', op)] / median[('redis-benchmark -P 16', op)]:.2f}x,"
          f" corio / redis-benchmark = {median[('corio', op)] / median[('redis-benchmark -P 1', op)]:.2f}x,"
          f" corio / redis.asyncio = {median[('corio', op)] / median[('redis.asyncio', op)]:.1f}x")
