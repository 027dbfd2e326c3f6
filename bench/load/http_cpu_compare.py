#!/usr/bin/python3
"""Interleaved HTTP server comparison under wrk, for A/B work on
the server hot path without a whole bench/run: each repetition runs every
server once, in order, on CPU 0 with `wrk -t1 -c100` on CPU 1 (as
bench/net_run.py does), and reads the server's CPU time from /proc. Prints
per server the best (lowest) CPU µs per request and the best requests/s over
the repetitions, and their ratios to the first server given as the reference.

    bench/load/http_cpu_compare.py [--reps 5] [--seconds 3] NAME=PROGRAM ...

e.g. floor=build/bench/bench/http_floor corio=build/bench/bench/http_server_corio
(each PROGRAM is started as `PROGRAM PORT`).
"""
import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import time


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not start")


def run_once(program, seconds):
    port = free_port()
    proc = subprocess.Popen(["taskset", "-c", "0", program, str(port)], start_new_session=True)
    try:
        wait_ready(port)
        before = cpu_seconds(proc.pid)
        out = subprocess.run(["taskset", "-c", "1", "wrk", "-t1", "-c100", f"-d{seconds}s",
                              f"http://127.0.0.1:{port}/"], capture_output=True, text=True, check=True)
        after = cpu_seconds(proc.pid)
        requests = int(re.search(r"(\d+) requests in", out.stdout).group(1))
        rps = float(re.search(r"Requests/sec:\s*([\d.]+)", out.stdout).group(1))
        return (after - before) * 1e6 / requests, rps
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=3)
    ap.add_argument("servers", nargs="+")
    args = ap.parse_args()
    servers = [s.split("=", 1) for s in args.servers]
    results = {name: [] for name, _ in servers}
    for rep in range(args.reps):
        for name, program in servers:
            cpu, rps = run_once(program, args.seconds)
            results[name].append((cpu, rps))
            print(f"rep {rep + 1} {name}: {cpu:.3f} µs/req, {rps:.0f} req/s", file=sys.stderr, flush=True)
    ref_cpu = min(c for c, _ in results[servers[0][0]])
    ref_rps = max(r for _, r in results[servers[0][0]])
    print("server\tbest_cpu_us_per_req\tcpu_ratio\tbest_rps\trps_ratio\tall_cpu")
    for name, _ in servers:
        cpu = min(c for c, _ in results[name])
        rps = max(r for _, r in results[name])
        every = ",".join(f"{c:.2f}" for c, _ in results[name])
        print(f"{name}\t{cpu:.3f}\t{cpu / ref_cpu:.3f}\t{rps:.0f}\t{rps / ref_rps:.3f}\t{every}")


if __name__ == "__main__":
    main()
