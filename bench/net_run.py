#!/usr/bin/python3
"""Network benchmarks of bench/run, run interleaved.

    net_run.py --bin BUILD/bench/bench --raw OUT.tsv [--reps 3] [--quick]
               [--skipped-file F] [--only echo,http,http-pipelined,client,strace]

(a) TCP echo: every echo server under the one load generator (echo_load):
    100 connections, 64-byte ping-pong, 5 s (--quick: 1 s) after a warm-up.
(b) HTTP/1.1 keep-alive hello-world: every HTTP server under
    `wrk -t1 -c100 -d5s` (--quick: -d1s); then the C++ servers again with 16
    requests pipelined per write (bench/load/pipeline.lua), where wrk's own
    core is no longer the limit.
(c) HTTP client: 10,000 GETs (--quick: 2,000) over 100 connections against
    the raw epoll HTTP server (http_floor).
(d) System calls per echo round trip: the C++ echo servers under
    `strace -c -f` for a fixed number of round trips.

Servers run on CPU 0 and the load (or the client) on CPU 1 (taskset). Each
repetition runs every implementation of (a), then (b), then (c) (corio, peer,
peer, …, corio, …); the results go to --raw as `impl<TAB>rep<TAB>name<TAB>
value<TAB>unit` lines, which bench/report.py turns into the network table.
Server CPU time per request comes from /proc/<pid>/stat (utime + stime)
around the measured window. Every server gets a free port, is waited for
(and its answer checked) before the load starts, and is killed (its whole
process group) when its run ends, on errors and on Ctrl-C.
"""

import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = os.path.join(HERE, "peers")

live = []  # server processes to kill on the way out
CLEANUP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def log(message):
    print(f"[bench/net] {message}", file=sys.stderr, flush=True)


def kill(proc, sig=signal.SIGTERM):
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=3)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def kill_all(*_args):
    for proc in list(live):
        kill(proc)
    live.clear()


def on_signal(signum, _frame):
    for sig in CLEANUP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)  # one clean-up, even if signalled again
    kill_all()
    sys.exit(128 + signum)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """utime + stime of a process (all threads), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime, stime are fields 14, 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Pinning:
    def __init__(self):
        self.server = []
        self.load = []
        if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
            ok = subprocess.run(["taskset", "-c", "1", "true"], capture_output=True).returncode == 0
            if ok:
                self.server = ["taskset", "-c", "0"]
                self.load = ["taskset", "-c", "1"]
        if not self.server:
            log("taskset or a second CPU is missing: running unpinned")


def wait_ready(proc, port, kind, timeout=5.0):
    """Waits until the server accepts (and for HTTP answers 200 "Hello, World!")."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with status {proc.returncode} before accepting")
        try:
            if kind == "http":
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/")
                response = conn.getresponse()
                body = response.read()
                conn.close()
                if response.status != 200 or body != b"Hello, World!":
                    raise RuntimeError(f"unexpected answer {response.status} {body[:40]!r}")
            else:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                    s.sendall(b"ping")
                    got = b""
                    while len(got) < 4:
                        chunk = s.recv(4)
                        if not chunk:
                            break
                        got += chunk
                    if got != b"ping":
                        raise RuntimeError(f"echo answered {got!r}")
            return
        except (ConnectionError, OSError, http.client.HTTPException) as error:
            last = str(error)
            time.sleep(0.05)
    raise RuntimeError(f"the server did not answer on port {port} within {timeout:.0f} s ({last})")


def start_server(cmd, kind, pin, env=None, ready=None):
    """Starts a server on a fresh free port (retrying if the port was taken).

    `env`: variables added to the environment; `ready(proc, port)` returns once
    the server serves and raises RuntimeError otherwise (default: wait_ready
    for `kind`)."""
    for _attempt in range(3):
        port = free_port()
        # A signal between the fork and the append would orphan the server:
        # hold TERM/INT/HUP until it is in `live`.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, CLEANUP_SIGNALS)
        try:
            # The child must not inherit the held mask: strace would then
            # ignore TERM and die by KILL without writing its summary.
            proc = subprocess.Popen([*pin.server, *cmd, str(port)], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, start_new_session=True,
                                    env=dict(os.environ, **env) if env else None,
                                    preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_SETMASK, held))
            live.append(proc)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
        try:
            if ready is None:
                wait_ready(proc, port, kind)
            else:
                ready(proc, port)
            return proc, port
        except RuntimeError as error:
            kill(proc)
            live.remove(proc)
            err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
            if "in use" not in err:
                raise RuntimeError(f"{' '.join(cmd)}: {error}; stderr: {err[-500:]}") from None
    raise RuntimeError(f"{' '.join(cmd)}: no free port after 3 attempts")


def stop_server(proc):
    kill(proc)
    if proc in live:
        live.remove(proc)
    err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
    if err:
        log("server stderr: " + err.splitlines()[0][:200] + (f" (+{len(err.splitlines()) - 1} lines)"
                                                            if len(err.splitlines()) > 1 else ""))


def parse_kv(text):
    values = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) == 2:
            try:
                values[parts[0]] = float(parts[1])
            except ValueError:
                pass
    return values


# ---------------------------------------------------------------------------
# The implementations of each benchmark: (impl, command or None, why missing)
# ---------------------------------------------------------------------------

def have_module(name):
    return subprocess.run([PYTHON, "-c", f"import {name}"], capture_output=True).returncode == 0


def binary(bin_dir, name):
    path = os.path.join(bin_dir, name)
    return [path] if os.access(path, os.X_OK) else None


def one_shot_reads(cmd):
    """The io_uring program with one recv operation per read instead of its
    multishot recv (CORIO_RECV_MULTISHOT=0): what the multishot saves."""
    return ["env", "CORIO_RECV_MULTISHOT=0", *cmd] if cmd else None


def echo_servers(bin_dir):
    uv = have_module("uvloop")
    return [
        ("corio", binary(bin_dir, "net_echo_corio"), "net_echo_corio was not built"),
        ("corio-uring", binary(bin_dir, "net_echo_corio_uring"), "net_echo_corio_uring was not built (liburing-dev)"),
        ("corio-uring-1shot", one_shot_reads(binary(bin_dir, "net_echo_corio_uring")),
         "net_echo_corio_uring was not built (liburing-dev)"),
        ("asio", binary(bin_dir, "echo_asio"), "echo_asio was not built (libasio-dev missing)"),
        ("floor", binary(bin_dir, "echo_floor"), "echo_floor was not built"),
        ("uring-floor", binary(bin_dir, "echo_uring_floor"), "echo_uring_floor was not built (liburing-dev)"),
        ("asyncio", [PYTHON, os.path.join(PEERS, "echo_asyncio.py"), "--loop", "asyncio"], ""),
        ("uvloop", [PYTHON, os.path.join(PEERS, "echo_asyncio.py"), "--loop", "uvloop"] if uv else None,
         "python3-uvloop is not installed"),
    ]


def http_servers(bin_dir):
    aio = have_module("aiohttp")
    return [
        ("corio", binary(bin_dir, "http_server_corio"),
         "http_server_corio was not built (include/corio/http/server.hpp missing)"),
        ("corio-uring", binary(bin_dir, "http_server_corio_uring"),
         "http_server_corio_uring was not built (liburing-dev)"),
        ("corio-uring-1shot", one_shot_reads(binary(bin_dir, "http_server_corio_uring")),
         "http_server_corio_uring was not built (liburing-dev)"),
        ("beast", binary(bin_dir, "http_beast"), "http_beast was not built (libboost1.81-dev missing)"),
        ("floor", binary(bin_dir, "http_floor"), "http_floor was not built"),
        ("aiohttp", [PYTHON, os.path.join(PEERS, "http_aiohttp.py")] if aio else None,
         "python3-aiohttp is not installed"),
    ]


def http_clients(bin_dir):
    aio = have_module("aiohttp")
    return [
        ("corio", binary(bin_dir, "http_client_corio"),
         "http_client_corio was not built (include/corio/http/client.hpp missing)"),
        ("beast", binary(bin_dir, "http_client_beast"), "http_client_beast was not built (libboost1.81-dev missing)"),
        ("aiohttp", [PYTHON, os.path.join(PEERS, "http_client_aiohttp.py")] if aio else None,
         "python3-aiohttp is not installed"),
    ]


# ---------------------------------------------------------------------------
# One measurement each
# ---------------------------------------------------------------------------

def run_echo(cmd, args, pin):
    proc, port = start_server(cmd, "echo", pin)
    try:
        out = subprocess.run([*pin.load, os.path.join(args.bin, "echo_load"), "--port", str(port),
                              "--connections", "100", "--size", "64", "--duration", str(args.duration),
                              "--warmup", str(args.warmup), "--server-pid", str(proc.pid)],
                             capture_output=True, text=True, timeout=args.duration + 30)
        if out.returncode != 0:
            raise RuntimeError(f"echo_load failed: {out.stderr.strip()}")
        v = parse_kv(out.stdout)
        return {"echo_rps": (v["requests_per_s"], "req/s"),
                "echo_cpu": (v["server_cpu_us_per_request"], "µs/req")}
    finally:
        stop_server(proc)


WRK_REQUESTS = re.compile(r"^\s*(\d+) requests in ([\d.]+)(\w+)", re.M)
WRK_RPS = re.compile(r"^Requests/sec:\s*([\d.]+)", re.M)


PIPELINE_DEPTH = 16


def run_http(cmd, args, pin, pipelined=False):
    proc, port = start_server(cmd, "http", pin)
    key = "http_pipe" if pipelined else "http"
    script = ["-s", os.path.join(HERE, "load", "pipeline.lua")] if pipelined else []
    depth = ["--", str(PIPELINE_DEPTH)] if pipelined else []
    try:
        before = cpu_seconds(proc.pid)
        out = subprocess.run([*pin.load, "wrk", "-t1", "-c100", f"-d{args.wrk_seconds}s", *script,
                              f"http://127.0.0.1:{port}/", *depth], capture_output=True, text=True,
                             timeout=args.wrk_seconds + 30)
        after = cpu_seconds(proc.pid)
        if out.returncode != 0:
            raise RuntimeError(f"wrk failed: {out.stderr.strip()}")
        m_req, m_rps = WRK_REQUESTS.search(out.stdout), WRK_RPS.search(out.stdout)
        if not m_req or not m_rps:
            raise RuntimeError(f"cannot parse wrk's output: {out.stdout!r}")
        for bad in ("Non-2xx or 3xx responses", "Socket errors"):
            if bad in out.stdout:
                line = next(l for l in out.stdout.splitlines() if bad in l)
                log(f"wrk reported: {line.strip()}")
        requests = int(m_req.group(1))
        return {f"{key}_rps": (float(m_rps.group(1)), "req/s"),
                f"{key}_cpu": ((after - before) * 1e6 / requests, "µs/req")}
    finally:
        stop_server(proc)


def run_client(cmd, args, pin):
    proc, port = start_server([os.path.join(args.bin, "http_floor")], "http", pin)
    try:
        out = subprocess.run([*pin.load, *cmd, "--port", str(port), "--requests", str(args.client_requests),
                              "--connections", "100"], capture_output=True, text=True,
                             timeout=20 if args.quick else 60)
        if out.returncode != 0:
            raise RuntimeError(f"client failed: {out.stderr.strip()[-500:]}")
        v = parse_kv(out.stdout)
        return {"client_rps": (v["requests_per_s"], "req/s"),
                "client_cpu": (v["client_cpu_us_per_request"], "µs/req")}
    finally:
        stop_server(proc)


STRACE_LINE = re.compile(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:(\d+)\s+)?(\w+)\s*$")


def run_strace(cmd, args, pin):
    with tempfile.TemporaryDirectory() as tmp:
        out_file = os.path.join(tmp, "strace.txt")
        # strace is the parent of the server (works whatever ptrace_scope says);
        # the setup's few hundred calls are spread over all the round trips.
        proc, port = start_server(["strace", "-c", "-f", "-q", "-o", out_file, *cmd], "echo", pin)
        try:
            out = subprocess.run([*pin.load, os.path.join(args.bin, "echo_load"), "--port", str(port),
                                  "--connections", "100", "--size", "64", "--requests", str(args.strace_requests)],
                                 capture_output=True, text=True, timeout=120)
            if out.returncode != 0:
                raise RuntimeError(f"echo_load failed: {out.stderr.strip()}")
            trips = parse_kv(out.stdout)["round_trips"]
        finally:
            stop_server(proc)
        calls = parse_strace(out_file)
        result = {"echo_syscalls": (calls.pop("total") / trips, "calls/req")}
        for name, count in calls.items():
            if count / trips >= 0.005:
                result[f"echo_syscalls.{name}"] = (count / trips, "calls/req")
        return result


def run_strace_http(cmd, args, pin):
    """System calls per request of an HTTP server under wrk (1 s; 2 s in full runs)."""
    with tempfile.TemporaryDirectory() as tmp:
        out_file = os.path.join(tmp, "strace.txt")
        proc, port = start_server(["strace", "-c", "-f", "-q", "-o", out_file, *cmd], "http", pin)
        try:
            seconds = 1 if args.quick else 2
            out = subprocess.run([*pin.load, "wrk", "-t1", "-c100", f"-d{seconds}s", f"http://127.0.0.1:{port}/"],
                                 capture_output=True, text=True, timeout=seconds + 30)
            m_req = WRK_REQUESTS.search(out.stdout)
            if out.returncode != 0 or not m_req:
                raise RuntimeError(f"wrk failed: {out.stderr.strip()} {out.stdout.strip()}")
            requests = int(m_req.group(1))
        finally:
            stop_server(proc)
        calls = parse_strace(out_file)
        result = {"http_syscalls": (calls.pop("total") / requests, "calls/req")}
        for name, count in calls.items():
            if count / requests >= 0.005:
                result[f"http_syscalls.{name}"] = (count / requests, "calls/req")
        return result


def parse_strace(path):
    calls = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = STRACE_LINE.match(line)
            if m:
                calls[m.group(3)] = int(m.group(1))
    if "total" not in calls:
        raise RuntimeError("strace wrote no summary")
    return calls


def strace_works():
    if not shutil.which("strace"):
        return "strace is not installed"
    probe = subprocess.run(["strace", "-c", "-f", "-q", "-o", os.devnull, "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"strace cannot trace here ({probe.stderr.strip()[:120]})"
    return ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="directory of the bench binaries")
    ap.add_argument("--raw", required=True, help="TSV file to append the results to")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--skipped-file", help="file to append one line per skipped peer to")
    ap.add_argument("--only", default="echo,http,http-pipelined,client,strace")
    args = ap.parse_args()
    args.duration = 1.0 if args.quick else 5.0
    args.warmup = 0.2 if args.quick else 0.5
    args.wrk_seconds = 1 if args.quick else 5
    args.client_requests = 2000 if args.quick else 10000
    args.strace_requests = 5000 if args.quick else 20000
    only = set(args.only.split(","))

    for sig in CLEANUP_SIGNALS:
        signal.signal(sig, on_signal)
    pin = Pinning()
    skipped = []

    def available(impls, what):
        keep = []
        for impl, cmd, why in impls:
            if cmd is None:
                log(f"Skipping {impl} in the {what} benchmark: {why}")
                skipped.append(f"{what} {impl} ({why})")
            else:
                keep.append((impl, cmd))
        return keep

    suites = []
    if "echo" in only:
        suites.append(("echo", available(echo_servers(args.bin), "echo"), run_echo))
    if "http" in only:
        if shutil.which("wrk"):
            suites.append(("http", available(http_servers(args.bin), "HTTP server"), run_http))
        else:
            log("Skipping the HTTP server benchmark: wrk is not installed")
            skipped.append("HTTP server benchmark (wrk missing)")
    if "http-pipelined" in only and shutil.which("wrk"):
        # aiohttp is left out: at ~15,000 requests/s it is far from the load
        # generator's limit already, which is what pipelining removes. So is
        # Beast: its idiomatic server (read one request, write its response)
        # drops to ~20,000 requests/s and 22 µs of CPU each under pipelining,
        # which would measure that loop's shape rather than a server's cost.
        servers = [(i, c) for i, c in available(http_servers(args.bin), "pipelined HTTP server")
                   if i in ("corio", "corio-uring", "floor")]
        suites.append(("http-pipelined", servers, lambda cmd, a, p: run_http(cmd, a, p, pipelined=True)))
    if "client" in only:
        if binary(args.bin, "http_floor"):
            suites.append(("client", available(http_clients(args.bin), "HTTP client"), run_client))
        else:
            skipped.append("HTTP client benchmark (http_floor not built)")

    failures = 0
    try:
        with open(args.raw, "a", encoding="utf-8") as raw:
            def record(impl, rep, results):
                for name, (value, unit) in results.items():
                    raw.write(f"{impl}\t{rep}\t{name}\t{value:.6g}\t{unit}\n")
                raw.flush()

            for rep in range(1, args.reps + 1):
                for what, impls, runner in suites:
                    for impl, cmd in impls:
                        log(f"Repetition {rep}/{args.reps}: {what} {impl}")
                        try:
                            record(impl, rep, runner(cmd, args, pin))
                        except (RuntimeError, KeyError, subprocess.TimeoutExpired, OSError) as error:
                            failures += 1
                            log(f"{what} {impl} failed (repetition {rep}): {error}")
            if "strace" in only:
                why = strace_works()
                if why:
                    log(f"Skipping the syscall count: {why}")
                    skipped.append(f"syscalls per request ({why})")
                else:
                    servers = [(i, c) for i, c, _ in echo_servers(args.bin) if i in ("corio", "corio-uring", "corio-uring-1shot", "floor", "uring-floor", "asio")
                               and c]
                    for impl, cmd in servers:
                        log(f"Syscalls per round trip ({args.strace_requests} round trips): echo {impl}")
                        try:
                            record(impl, 1, run_strace(cmd, args, pin))
                        except (RuntimeError, KeyError, subprocess.TimeoutExpired, OSError) as error:
                            failures += 1
                            log(f"strace of echo {impl} failed: {error}")
                    if shutil.which("wrk"):
                        servers = [(i, c) for i, c, _ in http_servers(args.bin) if i in ("corio", "floor", "beast")
                                   and c]
                        for impl, cmd in servers:
                            log(f"Syscalls per request under wrk: HTTP {impl}")
                            try:
                                record(impl, 1, run_strace_http(cmd, args, pin))
                            except (RuntimeError, KeyError, subprocess.TimeoutExpired, OSError) as error:
                                failures += 1
                                log(f"strace of HTTP {impl} failed: {error}")
    finally:
        kill_all()
        if args.skipped_file:
            with open(args.skipped_file, "a", encoding="utf-8") as f:
                for line in skipped:
                    f.write(line + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
