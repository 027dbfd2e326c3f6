#!/usr/bin/python3
"""TechEmpower-style rows of corio::web (issue #16), run interleaved.

    web_run.py --bin BUILD/bench/bench [--reps 3] [--seconds 5] [--quick]
               [--raw OUT.tsv] [--md OUT.md] [--skipped-file F]
               [--only web,raw,beast,fastapi]

Routes, each under `wrk -t1 -c100 -dNs` (keep-alive, no pipelining):
  plaintext  GET /plaintext -> "Hello, World!" (text/plain)
  json       GET /json      -> {"message":"Hello, World!"}, serialized per request
  typed      POST /typed    -> the JSON order of bench/load/typed_post.lua
                               parsed, validated against a typed model and
                               serialized back (wrk -s typed_post.lua)
Servers:
  web      bench/web_techempower_corio.cpp --mode web (corio::web app)
  raw      bench/web_techempower_corio.cpp --mode raw (http::server + router,
           the JSON a string literal)
  beast    bench/peers/http_beast.cpp (Boost.Beast, hand-written JSON)
  fastapi  bench/peers/web_fastapi.py (FastAPI on uvicorn, one worker, pydantic
           model for /typed), run with /usr/bin/python3 and
           MALLOC_MMAP_THRESHOLD_=1048576
  floor    bench/peers/http_floor.cpp (hand-written epoll, fixed answer):
           /plaintext only, the ceiling of server + wrk on this machine
raw and beast have no /typed.

Every measurement is a fresh server process on a free port, pinned to CPU 0
with wrk on CPU 1 (taskset, when there are two CPUs), checked to answer the
route correctly, warmed up with 1 s of the same load (--quick: none), then
measured. Server CPU per request is utime + stime of the server process
(/proc/PID/stat) across the measured window divided by wrk's request count;
the user part (utime alone) is given too: every C++ server here makes the same
two system calls per request (one receive, one send), so the kernel's share is
about the same for all of them and the user part is where they differ.
A repetition runs every route on every server (web, raw, beast, fastapi,
route by route); the table gives the best of the repetitions (highest req/s,
lowest CPU/request: on a shared machine, the run least disturbed by others)
and the median.
"""

import argparse
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

import net_run
from net_run import CLEANUP_SIGNALS, PYTHON, WRK_REQUESTS, WRK_RPS, Pinning, free_port

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = os.path.join(HERE, "peers")
TYPED_SCRIPT = os.path.join(HERE, "load", "typed_post.lua")

ROUTES = ("plaintext", "json", "typed")
PATHS = {"plaintext": "/plaintext", "json": "/json", "typed": "/typed"}
IMPLS = ("web", "raw", "beast", "fastapi", "floor")
IMPL_TITLES = {"web": "corio::web", "raw": "corio http::server (raw)", "beast": "Boost.Beast",
               "fastapi": "FastAPI/uvicorn", "floor": "epoll floor (http_floor)"}
HELLO = "Hello, World!"
PYTHON_ENV = {"MALLOC_MMAP_THRESHOLD_": "1048576"}


def cpu_times(pid):
    """(utime, stime) of a process in seconds, from /proc/<pid>/stat (fields 14, 15)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def log(message):
    print(f"[bench/web] {message}", file=sys.stderr, flush=True)


def typed_body():
    """The JSON body the Lua script posts (one source of truth: the script)."""
    with open(TYPED_SCRIPT, encoding="utf-8") as f:
        for line in f:
            if line.startswith("wrk.body"):
                return line.split("=", 1)[1].strip().strip("'")
    raise RuntimeError(f"{TYPED_SCRIPT} sets no wrk.body")


def check_answer(port, route):
    """Raises RuntimeError unless the server answers `route` as every server must."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        if route == "typed":
            body = typed_body()
            conn.request("POST", PATHS[route], body=body, headers={"Content-Type": "application/json"})
        else:
            conn.request("GET", PATHS[route])
        response = conn.getresponse()
        got = response.read()
    finally:
        conn.close()
    if response.status != 200:
        raise RuntimeError(f"{PATHS[route]} answered {response.status} {got[:80]!r}")
    if route == "plaintext":
        ok = got == HELLO.encode()
    elif route == "json":
        ok = json.loads(got) == {"message": HELLO}
    else:
        ok = json.loads(got) == json.loads(body)
    if not ok:
        raise RuntimeError(f"{PATHS[route]} answered {got[:80]!r}")


def answering(route):
    """A readiness check for net_run.start_server: `route` answers correctly
    within 10 s (a wrong answer fails at once)."""
    def ready(proc, port):
        deadline = time.monotonic() + 10
        last = "no answer"
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                check_answer(port, route)
                return
            except (ConnectionError, OSError, http.client.HTTPException) as error:
                last = str(error)
                time.sleep(0.05)
            except (RuntimeError, ValueError) as error:  # answered, but wrongly
                raise RuntimeError(f"answered wrongly: {error}") from None
        raise RuntimeError(f"not ready on port {port} ({last})")
    return ready


def start_server(cmd, route, pin, env=None):
    """A fresh server on a free port, answering `route` correctly (3 attempts on port clashes)."""
    return net_run.start_server(cmd, "http", pin, env=env, ready=answering(route))


def wrk(port, route, seconds, pin):
    cmd = [*pin.load, "wrk", "-t1", "-c100", f"-d{seconds}s"]
    if route == "typed":
        cmd += ["-s", TYPED_SCRIPT]
    cmd.append(f"http://127.0.0.1:{port}{PATHS[route]}")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30)
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed: {out.stderr.strip()}")
    for bad in ("Non-2xx or 3xx responses", "Socket errors"):
        if bad in out.stdout:
            line = next(l for l in out.stdout.splitlines() if bad in l)
            raise RuntimeError(f"wrk reported: {line.strip()}")
    m_req, m_rps = WRK_REQUESTS.search(out.stdout), WRK_RPS.search(out.stdout)
    if not m_req or not m_rps:
        raise RuntimeError(f"cannot parse wrk's output: {out.stdout!r}")
    return int(m_req.group(1)), float(m_rps.group(1))


def measure(cmd, env, route, args, pin):
    proc, port = start_server(cmd, route, pin, env)
    try:
        if args.warmup:
            wrk(port, route, args.warmup, pin)
        user_before, system_before = cpu_times(proc.pid)
        requests, rps = wrk(port, route, args.seconds, pin)
        user_after, system_after = cpu_times(proc.pid)
        user = user_after - user_before
        return rps, (user + system_after - system_before) * 1e6 / requests, user * 1e6 / requests
    finally:
        net_run.stop_server(proc)


def servers(bin_dir):
    """(impl, command before the port, extra environment, routes) or (impl, None, why, ())."""
    def binary(name):
        path = os.path.join(bin_dir, name)
        return path if os.access(path, os.X_OK) else None

    web = binary("web_techempower_corio")
    beast = binary("http_beast")
    floor = binary("http_floor")
    fastapi_ok = subprocess.run([PYTHON, "-c", "import fastapi, uvicorn, pydantic"],
                                capture_output=True).returncode == 0
    return {
        "web": ([web, "--mode", "web", "--port"], None, ROUTES) if web else
        (None, "web_techempower_corio was not built (corio::web needs Boost.JSON and Boost.Describe)", ()),
        "raw": ([web, "--mode", "raw", "--port"], None, ("plaintext", "json")) if web else
        (None, "web_techempower_corio was not built", ()),
        "beast": ([beast], None, ("plaintext", "json")) if beast else
        (None, "http_beast was not built (libboost1.81-dev missing)", ()),
        "fastapi": ([PYTHON, os.path.join(PEERS, "web_fastapi.py")], PYTHON_ENV, ROUTES) if fastapi_ok else
        (None, "FastAPI/uvicorn are not installed (apt-get install python3-fastapi python3-uvicorn)", ()),
        "floor": ([floor], None, ("plaintext",)) if floor else (None, "http_floor was not built", ()),
    }


def fmt_rps(value):
    return f"{value:,.0f}" if value is not None else "–"


def fmt_cpu(value):
    return f"{value:.2f}" if value is not None else "–"


def summarize(results):
    """{(impl, route): [(rps, cpu, user)]} -> {(impl, route): (best rps, median rps, best cpu,
    median cpu, user cpu of the best-cpu run)}"""
    out = {}
    for key, runs in results.items():
        rps = [r for r, _, _ in runs]
        cpu = [c for _, c, _ in runs]
        best_cpu_run = min(runs, key=lambda run: run[1])
        out[key] = (max(rps), statistics.median(rps), best_cpu_run[1], statistics.median(cpu), best_cpu_run[2])
    return out


def ratio_lines(best):
    def rps(impl, route):
        return best[(impl, route)][0] if (impl, route) in best else None

    lines = []

    def add(text, num, den, target=None):
        if num is None or den is None:
            lines.append(f"- {text}: – (a row is missing)")
            return
        value = num / den
        verdict = ""
        if target is not None:
            verdict = f" (target ≥ {target}×: {'met' if value >= target else '**missed**'})"
        lines.append(f"- {text}: {value:.2f}×{verdict}")

    add("corio::web /json ÷ raw http::server /plaintext", rps("web", "json"), rps("raw", "plaintext"), 0.9)
    add("corio::web /json ÷ Boost.Beast /json", rps("web", "json"), rps("beast", "json"), 1.5)
    add("corio::web /json ÷ FastAPI /json", rps("web", "json"), rps("fastapi", "json"), 20)
    add("corio::web /plaintext ÷ raw /plaintext", rps("web", "plaintext"), rps("raw", "plaintext"))
    add("corio::web /json ÷ raw /json", rps("web", "json"), rps("raw", "json"))
    add("corio::web /plaintext ÷ Boost.Beast /plaintext", rps("web", "plaintext"), rps("beast", "plaintext"))
    add("corio::web /plaintext ÷ FastAPI /plaintext", rps("web", "plaintext"), rps("fastapi", "plaintext"))
    add("corio::web POST /typed ÷ FastAPI POST /typed", rps("web", "typed"), rps("fastapi", "typed"))
    return lines


def table_lines(summary, reps):
    lines = ["| route | server | best req/s | median req/s | best CPU µs/req (user) | median CPU µs/req |",
             "| --- | --- | ---: | ---: | ---: | ---: |"]
    for route in ROUTES:
        for impl in IMPLS:
            if (impl, route) in summary:
                b, m, bc, mc, bu = summary[(impl, route)]
                lines.append(f"| {PATHS[route]} | {IMPL_TITLES[impl]} | {fmt_rps(b)} | {fmt_rps(m)} | "
                             f"{fmt_cpu(bc)} ({fmt_cpu(bu)}) | {fmt_cpu(mc)} |")
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="directory of the bench binaries")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5, help="measured wrk duration per run")
    ap.add_argument("--quick", action="store_true", help="1 s runs, no warm-up")
    ap.add_argument("--raw", help="TSV file to append every run to (impl, rep, route, req/s, CPU µs/req, user µs/req)")
    ap.add_argument("--md", help="Markdown section to write (table, ratios, command)")
    ap.add_argument("--skipped-file", help="file to append one line per skipped server to")
    ap.add_argument("--only", default=",".join(IMPLS), help="servers to run, comma-separated")
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.warmup = 1, 0
    else:
        args.warmup = 1

    for sig in CLEANUP_SIGNALS:
        signal.signal(sig, net_run.on_signal)
    pin = Pinning()
    skipped = []
    if not shutil.which("wrk"):
        skipped.append("TechEmpower-style rows (wrk missing: apt-get install wrk)")
        log("Skipping the TechEmpower-style rows: wrk is not installed")
        impls = {}
    else:
        impls = {}
        for impl, (cmd, extra, routes) in servers(args.bin).items():
            if impl not in args.only.split(","):
                continue
            if cmd is None:
                log(f"Skipping {IMPL_TITLES[impl]}: {extra}")
                skipped.append(f"TechEmpower-style {IMPL_TITLES[impl]} ({extra})")
            else:
                impls[impl] = (cmd, extra, routes)

    results = {}
    failures = 0
    raw = open(args.raw, "a", encoding="utf-8") if args.raw else None
    try:
        for rep in range(1, args.reps + 1):
            for route in ROUTES:
                for impl, (cmd, env, routes) in impls.items():
                    if route not in routes:
                        continue
                    log(f"Repetition {rep}/{args.reps}: {PATHS[route]} on {IMPL_TITLES[impl]}")
                    try:
                        rps, cpu, user = measure(cmd, env, route, args, pin)
                    except (RuntimeError, ValueError, subprocess.TimeoutExpired, OSError) as error:
                        failures += 1
                        log(f"{PATHS[route]} on {impl} failed (repetition {rep}): {error}")
                        continue
                    log(f"  {rps:,.0f} req/s, {cpu:.2f} µs CPU/request ({user:.2f} user)")
                    results.setdefault((impl, route), []).append((rps, cpu, user))
                    if raw:
                        raw.write(f"{impl}\t{rep}\t{route}\t{rps:.6g}\t{cpu:.6g}\t{user:.6g}\n")
                        raw.flush()
    finally:
        net_run.kill_all()
        if raw:
            raw.close()
        if args.skipped_file:
            with open(args.skipped_file, "a", encoding="utf-8") as f:
                for line in skipped:
                    f.write(line + "\n")

    summary = summarize(results)
    command = " ".join(["bench/web_run.py", "--bin", args.bin, "--reps", str(args.reps)] +
                       (["--quick"] if args.quick else ["--seconds", str(args.seconds)]))
    section = ["## corio::web, TechEmpower-style", "",
               f"`wrk -t1 -c100 -d{args.seconds}s` (keep-alive, no pipelining; POST /typed with "
               "`-s bench/load/typed_post.lua`), each run a fresh server "
               f"({'1 s warm-up, then ' if args.warmup else ''}the measured window); best and median of "
               f"{args.reps} interleaved repetitions. Pinning: "
               f"{'server on CPU 0, wrk on CPU 1 (taskset)' if pin.server else 'none'}. "
               "CPU is the server's utime + stime (`/proc/PID/stat`) over the window ÷ requests. "
               "FastAPI runs on /usr/bin/python3 with MALLOC_MMAP_THRESHOLD_=1048576. "
               f"Command: `{command}`.", ""]
    section += table_lines(summary, args.reps)
    section += ["", "Ratios of best req/s (issue #16's targets):", ""]
    section += ratio_lines({k: v for k, v in summary.items()})
    if skipped:
        section += ["", "Skipped: " + "; ".join(skipped) + "."]
    section.append("")
    text = "\n".join(section)
    print(text.replace("**", ""))
    if args.md:
        with open(args.md, "w", encoding="utf-8") as f:
            f.write(text)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
