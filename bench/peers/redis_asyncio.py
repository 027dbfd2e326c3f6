"""redis.asyncio peer of bench/redis_corio.cpp: `requests` SET (or GET)
commands from `tasks` concurrent tasks sharing one connection; or, with
`worker`, `requests` jobs put on a stream and consumed through a consumer
group by the usual redis.asyncio worker loop (XREADGROUP as many entries as
there are free slots of `tasks`, one asyncio task per job, XACK when it is
done; a connection pool, so the blocking read does not hold up the acks).

    /usr/bin/python3 bench/peers/redis_asyncio.py <host> <port> <set|get|worker> [requests] [tasks]

redis.asyncio has no auto-pipelining: its Redis client takes a connection
from its pool per command, so single_connection_client=True is what "one
connection" means there (each command waits for its reply; the tasks queue
on the connection's lock).
"""
import asyncio
import resource
import sys
import time

import redis.asyncio as redis


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def client(r, op_set, count, key):
    for _ in range(count):
        if op_set:
            await r.set(key, "xxx")
        else:
            await r.get(key)


async def worker(host, port, jobs, concurrency):
    r = redis.Redis(host=host, port=port)
    stream = "bench:jobs"
    await r.delete(stream, stream + ":dead")
    for first in range(0, jobs, 1000):
        async with r.pipeline(transaction=False) as batch:
            for i in range(first, min(jobs, first + 1000)):
                batch.xadd(stream, {"n": i})
            await batch.execute()
    await r.xgroup_create(stream, "bench", id="0", mkstream=True)
    slots = asyncio.Semaphore(concurrency)
    done = 0
    running = set()

    async def handle(entry_id):
        nonlocal done
        try:
            await r.xack(stream, "bench", entry_id)
            done += 1
        finally:
            slots.release()

    cpu_start = cpu_seconds()
    start = time.perf_counter()
    while done < jobs:
        await slots.acquire()
        free = 1
        while free < concurrency and not slots.locked():
            await slots.acquire()
            free += 1
        reply = await r.xreadgroup("bench", "worker-1", {stream: ">"}, count=free, block=100)
        entries = reply[0][1] if reply else []
        for _ in range(free - len(entries)):
            slots.release()
        for entry_id, _fields in entries:
            job = asyncio.create_task(handle(entry_id))
            running.add(job)
            job.add_done_callback(running.discard)
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds() - cpu_start
    print(f"redis.asyncio WORKER: {done} requests in {elapsed:.3f} s, {done / elapsed:.0f} requests/s, "
          f"client CPU {cpu * 1e6 / done:.2f} us/request")
    await r.aclose() if hasattr(r, "aclose") else await r.close()


async def main():
    host, port, op = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    requests = int(sys.argv[4]) if len(sys.argv) > 4 else 100000
    tasks = int(sys.argv[5]) if len(sys.argv) > 5 else 50
    if op == "worker":
        await worker(host, port, requests, tasks)
        return
    r = redis.Redis(host=host, port=port, single_connection_client=True)
    for t in range(tasks):
        await r.set(f"key:{t}", "xxx")
    per_task = requests // tasks
    cpu_start = cpu_seconds()
    start = time.perf_counter()
    await asyncio.gather(*(client(r, op == "set", per_task, f"key:{t}") for t in range(tasks)))
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds() - cpu_start
    done = per_task * tasks
    print(f"redis.asyncio {op.upper()}: {done} requests in {elapsed:.3f} s, {done / elapsed:.0f} requests/s, "
          f"client CPU {cpu * 1e6 / done:.2f} us/request")
    await r.aclose() if hasattr(r, "aclose") else await r.close()


asyncio.run(main())
