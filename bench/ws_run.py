#!/usr/bin/python3
"""WebSocket echo rows: corio against Boost.Beast, python websockets and aiohttp.

    /usr/bin/python3 bench/ws_run.py BIN_DIR [REPS]

BIN_DIR holds ws_load, ws_echo_corio and ws_echo_beast (cmake --preset bench;
cmake --build build/bench --target ws_load ws_echo_corio ws_echo_beast:
build/bench/bench). Every server is pinned to core 0 and driven by one load
generator pinned to core 1, bench/load/ws_load (plain C++ and epoll, the
least user-space work per message; without it, `ws_echo_corio load`, same
arguments and output, more CPU per message): 100 connections x 1000 messages of
32 bytes (x 100 for the Python servers), then 4 connections x 20 messages of
1 MiB. Repetitions are interleaved (each server once per round); the table
shows the best messages/s and the lowest server CPU per message (utime +
stime, from /proc/PID/task/*/schedstat around the load), then corio's ratios
to each peer round by round (range and median), which pair runs made
seconds apart rather than the best of each. Python peers run with
/usr/bin/python3 and MALLOC_MMAP_THRESHOLD_=1048576; a peer whose module is
missing is skipped with a message.
"""
import importlib.util
import os
import re
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# name: (window, connections, messages per connection, size, messages for the Python servers)
LOADS = {
    "32 B": ("1", "100", "1000", "32", "100"),
    "32 B, window 16": ("16", "100", "2000", "32", "500"),
    "1 MiB": ("1", "4", "20", "1048576", "20"),
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """On-CPU time of every thread of `pid` (user and system together), from
    /proc/PID/task/*/schedstat in nanoseconds: utime and stime in
    /proc/PID/stat count 10 ms ticks, 5 % of a one-second run."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except FileNotFoundError:
            pass  # the thread ended between listdir and open
    return total / 1e9


def wait_listening(port, proc, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the server exited at start")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the server did not start listening")


def servers(bin_dir):
    found = {"corio": [os.path.join(bin_dir, "ws_echo_corio"), "server"]}
    beast = os.path.join(bin_dir, "ws_echo_beast")
    if os.path.exists(beast):
        found["Beast"] = [beast]
    else:
        print("skipping Beast: ws_echo_beast not built (needs libboost1.81-dev)", file=sys.stderr)
    for name, module, script in (("python websockets", "websockets", "ws_echo_websockets.py"),
                                 ("aiohttp", "aiohttp", "ws_echo_aiohttp.py")):
        if importlib.util.find_spec(module) is None:
            print(f"skipping {name}: apt-get install python3-{module}", file=sys.stderr)
        else:
            found[name] = ["/usr/bin/python3", os.path.join(HERE, "peers", script)]
    return found


def load_command(bin_dir):
    ws_load = os.path.join(bin_dir, "ws_load")
    if os.path.exists(ws_load):
        return [ws_load]
    print("ws_load not built: the load generator is `ws_echo_corio load`, which may saturate before the server",
          file=sys.stderr)
    return [os.path.join(bin_dir, "ws_echo_corio"), "load"]


def run_one(load_cmd, cmd, load):
    port = free_port()
    env = dict(os.environ)
    if cmd[0].endswith("python3"):
        # Python's large reads are slow here with glibc's default threshold;
        # the C++ servers keep the default (a fixed 1 MiB threshold would make
        # every 1 MiB message an mmap and munmap for them).
        env["MALLOC_MMAP_THRESHOLD_"] = "1048576"
    proc = subprocess.Popen(["taskset", "-c", "0", *cmd, str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, proc)
        before = cpu_seconds(proc.pid)
        window, connections, messages, size = load
        out = subprocess.run(["taskset", "-c", "1", *load_cmd,
                              "--window", window, f"ws://127.0.0.1:{port}/", connections, messages, size],
                             capture_output=True, text=True, timeout=600)
        after = cpu_seconds(proc.pid)
    finally:
        proc.terminate()
        proc.wait()
    match = re.search(r"(\d+) messages/s", out.stdout)
    if not match:
        raise RuntimeError(f"load generator output: {out.stdout!r} {out.stderr!r}")
    messages = int(load[1]) * int(load[2])
    return int(match.group(1)), (after - before) / messages * 1e6


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    bin_dir = sys.argv[1]
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    table = servers(bin_dir)
    load_cmd = load_command(bin_dir)
    best = {}
    rounds = {}  # (name, size) -> {round: (rate, cpu)}
    for rep in range(reps):
        for name, cmd in table.items():
            for size, load in LOADS.items():
                python = cmd[0].endswith("python3")
                load = (load[0], load[1], load[4] if python else load[2], load[3])
                if python and size == "1 MiB" and rep > 0:
                    continue  # minutes per run; one is enough
                rate, cpu = run_one(load_cmd, cmd, load)
                print(f"round {rep + 1}: {name}, {size}: {rate} msg/s, {cpu:.1f} µs CPU/msg", file=sys.stderr)
                old = best.get((name, size), (0, float("inf")))
                best[(name, size)] = (max(old[0], rate), min(old[1], cpu))
                rounds.setdefault((name, size), {})[rep] = (rate, cpu)
    print("| server | 32 B msg/s | CPU/msg | 32 B, window 16 msg/s | CPU/msg | 1 MiB msg/s | CPU/msg |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in table:
        small, piped, large = best[(name, "32 B")], best[(name, "32 B, window 16")], best[(name, "1 MiB")]
        print(f"| {name} | {small[0]:,} | {small[1]:.1f} µs | {piped[0]:,} | {piped[1]:.1f} µs | "
              f"{large[0]:,} | {large[1] / 1000:.2f} ms |")
    for size in ("32 B", "32 B, window 16"):
        corio = best[("corio", size)]
        for name in table:
            if name != "corio":
                other = best[(name, size)]
                print(f"corio / {name}, {size}: {corio[0] / other[0]:.2f}x msg/s at "
                      f"{corio[1] / other[1]:.2f}x the CPU per message")
    # The best-of ratios above pair figures from different minutes, and this
    # VM's speed drifts by minutes; a round runs the servers seconds apart.
    for size in ("32 B", "32 B, window 16"):
        for name in table:
            if name == "corio":
                continue
            mine, theirs = rounds[("corio", size)], rounds[(name, size)]
            paired = [(mine[r][0] / theirs[r][0], mine[r][1] / theirs[r][1]) for r in mine if r in theirs]
            if not paired:
                continue
            rates = sorted(p[0] for p in paired)
            cpus = sorted(p[1] for p in paired)
            print(f"corio / {name}, {size}, round by round: {rates[0]:.2f}-{rates[-1]:.2f}x msg/s "
                  f"(median {statistics.median(rates):.2f}x), {cpus[0]:.2f}-{cpus[-1]:.2f}x the CPU "
                  f"per message (median {statistics.median(cpus):.2f}x)")

if __name__ == "__main__":
    main()
