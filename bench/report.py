#!/usr/bin/python3
"""Turns the raw results of bench/run into a table, docs/benchmarks.md and a chart.

Input: a TSV file of `impl<TAB>rep<TAB>name<TAB>value<TAB>unit` lines (one per
result of one run of one program). Output: the median table on stdout, a
Markdown report and an SVG chart (written directly, no plotting library).
"""

import argparse
import collections
import datetime
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys

# "floor" is bench/sleepers_floor.cpp: plain C++ measuring only the
# 100k-sleepers rows; its other cells stay empty. "floor-sleep" is the same
# program with --deadline-per-block: each block's deadline from its own clock
# read, so it sleeps until 10 ms after the last block, as sleep(10ms) must.
IMPLS = ["corio", "corio-uring", "asio", "asyncio", "uvloop", "floor", "floor-sleep"]
PEERS = IMPLS[1:]
LABELS = {
    "corio": "corio",
    "corio-uring": "corio on io_uring (the same program built with io_uring)",
    "asio": "Asio 1.22 (C++20 coroutines)",
    "asyncio": "Python asyncio",
    "uvloop": "Python uvloop",
    "floor": "plain C++ floor of the sleepers row (bench/sleepers_floor.cpp)",
    "floor-sleep": "the same floor, each block's deadline from its own clock read (--deadline-per-block)",
}

# (key, description shown in the table), in table order.
ROWS = [
    ("task_create_await", "create + co_await a trivial task<int> / awaitable<int> / coroutine"),
    ("spawn_await", "create_task + await (Asio: co_spawn(..., use_awaitable))"),
    ("yield_pingpong", "sleep(0) ping-pong between two tasks, per yield (Asio: post(use_awaitable))"),
    ("timer_insert_cancel", "timer insert + cancel (call_later(1s).cancel(); Asio: steady_timer async_wait + cancel)"),
    ("gather_100k_sleep10ms_wall", "100,000 tasks each sleeping 10 ms, gathered: wall time"),
    ("gather_100k_sleep10ms_first_wall", "the same, first round only (corio: no frame cached yet)"),
    ("gather_100k_sleep10ms_rss", "the same: peak RSS growth per suspended task"),
]

# The targets set for these rows: (row, peer or None, limit, kind). The
# sleepers' wall time is a ratio to the floor measured in the same run: it
# depends mostly on the machine's page-fault cost.
TARGETS = [
    ("task_create_await", "asio", 0.5, "ratio"),
    ("spawn_await", "asio", 0.25, "ratio"),
    ("gather_100k_sleep10ms_wall", "floor", 1.25, "ratio"),
    ("gather_100k_sleep10ms_rss", None, 200.0, "absolute"),
]


# ---------------------------------------------------------------------------
# Network benchmarks, measured by bench/net_run.py.
# ---------------------------------------------------------------------------
NET_LABELS = {
    "corio": "corio",
    "asio": "Asio 1.22 (C++20 coroutines)",
    "beast": "Boost.Beast 1.81 (C++20 coroutines)",
    "floor": "raw epoll floor (plain C++)",
    "corio-uring": "corio on io_uring",
    "corio-uring-1shot": "corio on io_uring, one recv per read (CORIO_RECV_MULTISHOT=0)",
    "uring-floor": "raw io_uring floor (plain C++, multishot recv + provided buffers)",
    "asyncio": "Python asyncio (streams)",
    "uvloop": "Python uvloop (streams)",
    "aiohttp": "Python aiohttp",
}
# (key, title, implementations in table order, what the load is)
NET_BENCHES = [
    ("echo", "TCP echo server", ["corio", "corio-uring", "corio-uring-1shot", "asio", "floor", "uring-floor", "asyncio", "uvloop"],
     "100 connections, 64-byte ping-pong (bench/load/echo_load); server CPU per round trip"),
    ("http", "HTTP/1.1 hello-world server", ["corio", "corio-uring", "corio-uring-1shot", "beast", "floor", "aiohttp"],
     "`wrk -t1 -c100` keep-alive; server CPU per request"),
    ("http_pipe", "HTTP/1.1 hello-world server, 16 requests pipelined per write", ["corio", "corio-uring", "floor"],
     "`wrk -t1 -c100 -s bench/load/pipeline.lua -- 16`; server CPU per request"),
    ("client", "HTTP client", ["corio", "beast", "aiohttp"],
     "GETs over 100 kept-alive connections to the raw epoll HTTP server; client CPU per request"),
]
NET_COLORS = {"corio": "#1f77b4", "corio-uring": "#aec7e8", "corio-uring-1shot": "#dbdb8d", "uring-floor": "#c7c7c7", "asio": "#ff7f0e", "beast": "#8c564b", "floor": "#7f7f7f",
              "asyncio": "#2ca02c", "uvloop": "#9467bd", "aiohttp": "#17becf"}


def net_medians(runs):
    return {(impl, name): statistics.median(v) for (impl, name), v in runs.items()}


def net_table(med):
    """Rows: benchmark, implementation, req/s, CPU µs/req, corio÷impl for each."""
    header = ["benchmark", "implementation", "requests/s", "CPU µs/request",
              "corio/impl req/s", "corio/impl CPU"]
    rows = []
    for key, title, impls, _load in NET_BENCHES:
        c_rps, c_cpu = med.get(("corio", f"{key}_rps")), med.get(("corio", f"{key}_cpu"))
        for impl in impls:
            rps, cpu = med.get((impl, f"{key}_rps")), med.get((impl, f"{key}_cpu"))
            if rps is None and cpu is None:
                continue
            r_rps = f"{c_rps / rps:.2f}" if c_rps and rps and impl != "corio" else "—"
            r_cpu = f"{c_cpu / cpu:.2f}" if c_cpu and cpu and impl != "corio" else "—"
            rows.append([title, NET_LABELS.get(impl, impl), fmt(rps), fmt(cpu), r_rps, r_cpu])
    return header, rows


def net_target_lines(med):
    out = []

    def get(impl, name):
        return med.get((impl, name))

    c, f = get("corio", "echo_cpu"), get("floor", "echo_cpu")
    if c and f:
        verdict = "**met**" if c <= 1.05 * f else "**missed**"
        out.append(f"- TCP echo: target server CPU per request ≤ 1.05× the raw epoll floor; corio {c:.2f} µs vs "
                   f"floor {f:.2f} µs = {c / f:.2f}× — {verdict}.")
    elif get("floor", "echo_cpu"):
        out.append("- TCP echo: corio was not measured, no verdict.")
    c, b, f = get("corio", "http_rps"), get("beast", "http_rps"), get("floor", "http_rps")
    if c and b:
        verdict = "**met**" if c >= 1.4 * b else "**missed**"
        out.append(f"- HTTP server: target ≥ 1.4× Beast's requests/s; corio {fmt(c)} vs Beast {fmt(b)} "
                   f"= {c / b:.2f}× — {verdict}.")
    if c and f:
        verdict = "**met**" if c >= 0.9 * f else "**missed**"
        out.append(f"- HTTP server: target within 10% of the raw epoll floor's requests/s; corio {fmt(c)} vs floor "
                   f"{fmt(f)} = {c / f:.2f}× — {verdict}.")
    if not c and (b or f):
        out.append("- HTTP server: corio's server was not measured (include/corio/http/server.hpp missing or "
                   "its run failed), no verdict.")
    if c and b:
        verdict = "**met**" if c >= 1.6 * b else "**missed**"
        out.append(f"- HTTP server: target ≥ 1.6× Beast's requests/s; corio {fmt(c)} vs Beast {fmt(b)} "
                   f"= {c / b:.2f}× — {verdict} (wrk's one core limits every server near the same rate: "
                   f"compare the CPU per request too).")
    cc, fc = get("corio", "http_cpu"), get("floor", "http_cpu")
    if cc and fc:
        verdict = "**met**" if cc <= 1.05 * fc else "**missed**"
        out.append(f"- HTTP server: target server CPU per request ≤ 1.05× the raw epoll floor's; corio {cc:.2f} µs "
                   f"vs floor {fc:.2f} µs = {cc / fc:.2f}× — {verdict}.")
    cc, fc = get("corio", "http_pipe_cpu"), get("floor", "http_pipe_cpu")
    if cc and fc:
        out.append(f"- HTTP server, 16 requests pipelined per write (no target; the system calls are shared by "
                   f"16 requests, so user space shows): corio {cc:.2f} µs vs floor {fc:.2f} µs of CPU per request "
                   f"= {cc / fc:.2f}×.")
    c, a = get("corio", "client_rps"), get("aiohttp", "client_rps")
    if c and a:
        verdict = "**met**" if c >= 5 * a else "**missed**"
        out.append(f"- HTTP client: target ≥ 5× aiohttp's requests/s; corio {fmt(c)} vs aiohttp {fmt(a)} "
                   f"= {c / a:.2f}× — {verdict}.")
    elif a:
        out.append("- HTTP client: corio's client was not measured (include/corio/http/client.hpp missing or "
                   "its run failed), no verdict.")
    c, e, f = get("corio-uring", "echo_cpu"), get("floor", "echo_cpu"), get("uring-floor", "echo_cpu")
    if c and e:
        verdict = "**met**" if c <= 0.8 * e else "**missed**"
        out.append(f"- TCP echo on io_uring: target server CPU per request ≤ 0.8× the raw epoll floor; corio-uring "
                   f"{c:.2f} µs vs {e:.2f} µs = {c / e:.2f}× — {verdict}.")
    if c and f:
        verdict = "**met**" if c <= 1.05 * f else "**missed**"
        out.append(f"- TCP echo on io_uring: target ≤ 1.05× the raw io_uring floor; corio-uring {c:.2f} µs vs "
                   f"{f:.2f} µs = {c / f:.2f}× — {verdict}.")
    c, e = get("corio-uring", "http_rps"), get("corio", "http_rps")
    if c and e:
        verdict = "**met**" if c >= 1.15 * e else "**missed**"
        out.append(f"- HTTP server on io_uring: target ≥ 1.15× corio on epoll; {fmt(c)} vs {fmt(e)} = {c / e:.2f}× "
                   f"— {verdict}.")
    return out


def syscall_table(med, key="echo_syscalls", impls_of=("corio", "corio-uring", "asio", "floor", "uring-floor")):
    impls = [i for i in impls_of if (i, key) in med]
    if not impls:
        return None, None
    names = sorted({n.split(".", 1)[1] for (_i, n) in med if n.startswith(f"{key}.")},
                   key=lambda n: -max(med.get((i, f"{key}.{n}"), 0) for i in impls))
    header = ["system call"] + [NET_LABELS[i].split(" (")[0] for i in impls]
    rows = [[n] + [f"{med[(i, f'{key}.{n}')]:.3f}" if (i, f"{key}.{n}") in med else "—"
                   for i in impls] for n in names]
    rows.append(["**total**"] + [f"**{med[(i, key)]:.2f}**" for i in impls])
    return header, rows


HTTP_SYSCALLS = ("http_syscalls", ("corio", "beast", "floor"))


def run(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def fmt(value):
    if value is None:
        return "—"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def load(path):
    runs = collections.defaultdict(list)  # (impl, name) -> [values]
    units = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 5:
                continue
            impl, _rep, name, value, unit = parts
            runs[(impl, name)].append(float(value))
            units[name] = unit
    return runs, units


def machine_info(build_dir):
    info = {}
    lscpu = run(["lscpu"])
    model = re.search(r"^Model name:\s*(.+)$", lscpu, re.M)
    info["cpu"] = model.group(1).strip() if model else platform.processor() or "unknown"
    info["cores"] = str(os.cpu_count())
    hyper = re.search(r"^Hypervisor vendor:\s*(.+)$", lscpu, re.M)
    if hyper:
        info["cpu"] += f" (virtualized, {hyper.group(1).strip()})"
    info["kernel"] = platform.release()
    info["gxx"] = run(["g++", "--version"]).splitlines()[0] if run(["g++", "--version"]) else "unknown"
    info["python"] = run(["/usr/bin/python3", "--version"])
    info["uvloop"] = run(["/usr/bin/python3", "-c", "import uvloop; print(uvloop.__version__)"]) or "not installed"
    asio_version = "not installed"
    try:
        with open("/usr/include/asio/version.hpp", encoding="utf-8") as f:
            m = re.search(r"#define ASIO_VERSION (\d+)", f.read())
            if m:
                v = int(m.group(1))
                asio_version = f"{v // 100000}.{v // 100 % 1000}.{v % 100}"
    except OSError:
        pass
    info["asio"] = asio_version
    info["aiohttp"] = run(["/usr/bin/python3", "-c", "import aiohttp; print(aiohttp.__version__)"]) or "not installed"
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False) if os.path.exists(
        "/usr/bin/wrk") else None
    info["wrk"] = (wrk.stdout + wrk.stderr).split(" Copyright")[0].strip() if wrk else "wrk not installed"
    boost_version = "not installed"
    try:
        with open("/usr/include/boost/version.hpp", encoding="utf-8") as f:
            m = re.search(r"#define BOOST_VERSION (\d+)", f.read())
            if m:
                v = int(m.group(1))
                boost_version = f"{v // 100000}.{v // 100 % 1000}.{v % 100}"
    except OSError:
        pass
    info["boost"] = boost_version
    info["flags"] = {}
    try:
        with open(os.path.join(build_dir, "compile_commands.json"), encoding="utf-8") as f:
            for entry in json.load(f):
                for target in ("compare_core_corio", "compare_core_asio", "net_echo_corio", "http_beast"):
                    if f"{target}.dir" in entry.get("command", ""):
                        cmd = entry["command"].split()
                        keep = [a for a in cmd[1:] if a.startswith(("-O", "-std", "-D", "-W", "-f", "-m", "-g"))]
                        info["flags"][target] = " ".join(keep)
    except (OSError, ValueError):
        pass
    return info


def build_table(runs, units, present):
    medians = {}
    for (impl, name), values in runs.items():
        medians[(impl, name)] = statistics.median(values)
    header = ["benchmark", "unit", "corio"]
    for peer in PEERS:
        if peer in present:
            header += [peer, f"corio/{peer}"]
    rows = []
    for key, _desc in ROWS:
        c = medians.get(("corio", key))
        row = [key, units.get(key, ""), fmt(c)]
        for peer in PEERS:
            if peer not in present:
                continue
            p = medians.get((peer, key))
            row += [fmt(p), f"{c / p:.2f}" if c is not None and p else "—"]
        rows.append(row)
    return header, rows, medians


def print_table(header, rows):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    line = "  ".join(h.ljust(w) if i < 2 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths)))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(str(c).ljust(w) if i < 2 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths))))


def target_lines(medians, units):
    out = []
    for key, peer, limit, kind in TARGETS:
        c = medians.get(("corio", key))
        if c is None:
            continue
        if kind == "ratio":
            p = medians.get((peer, key))
            name = "the floor" if peer == "floor" else LABELS[peer].split(" (")[0]
            unit = units.get(key, "")
            if not p:
                out.append(f"- `{key}`: target ≤ {limit}× {name} — {name} was not measured, no verdict.")
                continue
            ratio = c / p
            verdict = "**met**" if ratio <= limit else "**missed**"
            out.append(f"- `{key}`: target ≤ {limit}× {name}; corio {fmt(c)} {unit} vs {name} {fmt(p)} {unit} "
                       f"= {ratio:.2f}× — {verdict}.")
            sleeping = medians.get(("floor-sleep", key)) if peer == "floor" else None
            if sleeping:
                out.append(f"  (Against the floor that sleeps until 10 ms after its last block, as each "
                           f"`sleep(10ms)` counted from its own call must: {fmt(sleeping)} {unit}, "
                           f"corio {c / sleeping:.2f}×.)")
            first_key = key.replace("_wall", "_first_wall")
            first_c, first_p = medians.get(("corio", first_key)), medians.get((peer, first_key))
            if first_key != key and first_c and first_p:
                out.append(f"  (First round only, before corio's frame cache holds any of the 100,000 "
                           f"frames: corio {fmt(first_c)} {unit} vs {name} {fmt(first_p)} {unit} = "
                           f"{first_c / first_p:.2f}×.)")
        else:
            unit = "ms" if key.endswith("wall") else "bytes per task"
            verdict = "**met**" if c <= limit else "**missed**"
            out.append(f"- `{key}`: target ≤ {limit:g} {unit}; corio {fmt(c)} {unit} — {verdict}.")
    return out


def _svg_escape(text):
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _svg_panel(x0, y0, width, height, title_lines, bars, log_scale):
    """One bar panel as SVG elements: bars = [(label, value, colour)]."""
    out = [f'<g transform="translate({x0},{y0})">']
    for n, line in enumerate(title_lines):
        out.append(f'<text x="{width / 2:.1f}" y="{14 + 13 * n}" font-size="11" text-anchor="middle">'
                   f'{_svg_escape(line)}</text>')
    top = 18 + 13 * len(title_lines)
    bottom = height - 22
    values = [v for _l, v, _c in bars if v]
    if values:
        if log_scale:
            low = math.floor(math.log10(min(values))) - 0.3
            high = math.log10(max(values)) + 0.35

            def scale(v):
                return (math.log10(v) - low) / (high - low)
        else:
            high = max(values) * 1.2

            def scale(v):
                return v / high
        slot = width / max(len(bars), 1)
        bar_width = slot * 0.6
        for n, (label, value, colour) in enumerate(bars):
            x = slot * n + (slot - bar_width) / 2
            if value:
                h = max(scale(value), 0.0) * (bottom - top)
                out.append(f'<rect x="{x:.1f}" y="{bottom - h:.1f}" width="{bar_width:.1f}" '
                           f'height="{h:.1f}" fill="{colour}"/>')
                out.append(f'<text x="{x + bar_width / 2:.1f}" y="{bottom - h - 3:.1f}" font-size="9" '
                           f'text-anchor="middle">{_svg_escape(fmt(value))}</text>')
            out.append(f'<text x="{x + bar_width / 2:.1f}" y="{bottom + 14}" font-size="10" '
                       f'text-anchor="middle">{_svg_escape(label)}</text>')
    out.append(f'<line x1="0" y1="{bottom}" x2="{width}" y2="{bottom}" stroke="#999"/>')
    out.append("</g>")
    return out


def write_chart(path, medians, units, present, net_med=None):
    """Bar charts of the medians as a plain SVG file (no plotting library: the
    Debian one, python3-matplotlib, pulls a Boost that removes the Beast peer's)."""
    impls = [i for i in IMPLS if i in present]
    colors = {"corio": "#1f77b4", "corio-uring": "#aec7e8", "asio": "#ff7f0e", "asyncio": "#2ca02c",
              "uvloop": "#9467bd", "floor": "#7f7f7f", "floor-sleep": "#c7c7c7"}
    net_med = net_med or {}
    panels = []
    for key, _desc in ROWS:
        bars = [(i, medians.get((i, key)), colors[i]) for i in impls]
        panels.append(([key, f"({units.get(key, '')}, lower is better, log scale)"], bars, True))
    for key, title, impls_of, _load in NET_BENCHES:
        for metric, label in (("rps", "requests/s, higher is better"), ("cpu", "CPU µs per request, lower is better")):
            bars = [(i, net_med.get((i, f"{key}_{metric}")), NET_COLORS.get(i, "#333333")) for i in impls_of]
            if any(v for _i, v, _c in bars):
                panels.append(([title, f"({label})"], [b for b in bars if b[1]], False))
    columns, panel_width, panel_height = 3, 420, 260
    rows = (len(panels) + columns - 1) // columns
    width, height = columns * panel_width, rows * panel_height + 40
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="24" font-size="14" text-anchor="middle">corio vs Asio, Beast, asyncio, '
           'uvloop, aiohttp and a raw epoll floor — medians</text>']
    for n, (title, bars, log_scale) in enumerate(panels):
        x0 = (n % columns) * panel_width + 10
        y0 = (n // columns) * panel_height + 40
        svg += _svg_panel(x0, y0, panel_width - 20, panel_height - 10, title, bars, log_scale)
    svg.append("</svg>")
    with open(path, "w", encoding="utf-8") as out:
        out.write("\n".join(svg) + "\n")
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--md")
    ap.add_argument("--svg")
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--command", default="bench/run")
    ap.add_argument("--reps", default="?")
    ap.add_argument("--pinned", default="")
    ap.add_argument("--skipped", default="")
    ap.add_argument("--notes", help="Markdown appended to the report verbatim (hand-written analysis)")
    ap.add_argument("--net-raw", help="results of bench/net_run.py (same TSV format)")
    ap.add_argument("--net-reps", default="?")
    ap.add_argument("--net-pinned", default="")
    ap.add_argument("--extra-md", help="Markdown section written by another driver (bench/web_run.py), "
                                       "placed after the network tables")
    args = ap.parse_args()

    runs, units = load(args.raw)
    present = {impl for (impl, _name) in runs}
    header, rows, medians = build_table(runs, units, present)
    print_table(header, rows)
    print()
    for line in target_lines(medians, units):
        print(line.replace("**", ""))
    net_runs = {}
    if args.net_raw and os.path.exists(args.net_raw):
        net_runs, net_units = load(args.net_raw)
        units.update(net_units)
    net_med = net_medians(net_runs)
    if net_runs:
        print()
        n_header, n_rows = net_table(net_med)
        print_table(n_header, n_rows)
        s_header, s_rows = syscall_table(net_med)
        if s_header:
            print("\nSystem calls per echo round trip (strace -c -f):")
            print_table(s_header, [[c.replace("**", "") for c in r] for r in s_rows])
        s_header, s_rows = syscall_table(net_med, *HTTP_SYSCALLS)
        if s_header:
            print("\nSystem calls per HTTP request under wrk (strace -c -f):")
            print_table(s_header, [[c.replace("**", "") for c in r] for r in s_rows])
        print()
        for line in net_target_lines(net_med):
            print(line.replace("**", ""))

    if not args.md:
        return 0
    info = machine_info(args.build_dir)
    chart_ok = write_chart(args.svg, medians, units, present, net_med) if args.svg else False
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    md = []
    md.append("# Benchmarks: corio side by side with its peers")
    md.append("")
    md.append("Generated by `bench/run`: the core runtime against Asio, asyncio, uvloop and a plain C++ floor of "
              "the sleepers row, then "
              "TCP echo, HTTP server and HTTP client against Asio, Boost.Beast, asyncio, uvloop, aiohttp and "
              "hand-written raw epoll servers (the floor). Do not edit by hand: rerun "
              "`bench/run`; the analysis at the end comes from `bench/benchmarks_notes.md`.")
    md.append("")
    if chart_ok:
        md.append(f"![corio vs peers]({os.path.basename(args.svg)})")
        md.append("")
    md.append(f"Medians of {args.reps} interleaved repetitions (corio, floor, Asio, asyncio, uvloop, corio, …), "
              "each repetition a fresh process. Lower is better everywhere; `corio/peer` below 1 means "
              "corio is faster (or smaller).")
    md.append("")
    md.append("| " + " | ".join(header) + " |")
    md.append("| " + " | ".join(["---", "---"] + ["---:"] * (len(header) - 2)) + " |")
    for r in rows:
        md.append("| " + " | ".join(f"`{c}`" if i == 0 else str(c) for i, c in enumerate(r)) + " |")
    md.append("")
    md.append("What each row does (the same work in every program):")
    md.append("")
    for key, desc in ROWS:
        md.append(f"- `{key}`: {desc}.")
    md.append("")
    if args.skipped:
        md.append(f"Skipped peers: {args.skipped}.")
        md.append("")
    if net_runs:
        md.append("## Network")
        md.append("")
        md.append(f"Medians of {args.net_reps} interleaved repetitions (corio, then each peer, then corio "
                  "again, …), each a fresh server process on a fresh port. "
                  f"Pinning: {args.net_pinned or 'none'}. "
                  "Throughput on a shared 2-core VM is noisy; the CPU time per request (user + system, from "
                  "`/proc/<pid>/stat` around the measured window for servers, `getrusage` for clients) is "
                  "the stable figure. A `corio/impl req/s` above 1 means corio answers more requests per "
                  "second; a `corio/impl CPU` below 1 means it spends less CPU per request.")
        md.append("")
        n_header, n_rows = net_table(net_med)
        md.append("| " + " | ".join(n_header) + " |")
        md.append("| --- | --- | " + " | ".join(["---:"] * (len(n_header) - 2)) + " |")
        for r in n_rows:
            md.append("| " + " | ".join(str(c) for c in r) + " |")
        md.append("")
        md.append("What each benchmark does:")
        md.append("")
        for key, title, _impls, load_desc in NET_BENCHES:
            md.append(f"- {title}: {load_desc}.")
        md.append("")
        s_header, s_rows = syscall_table(net_med)
        if s_header:
            md.append("System calls per echo round trip (`strace -c -f` on the server during a fixed number of "
                      "round trips; accept/setup calls included, spread over all round trips):")
            md.append("")
            md.append("| " + " | ".join(s_header) + " |")
            md.append("| --- | " + " | ".join(["---:"] * (len(s_header) - 1)) + " |")
            for r in s_rows:
                md.append("| " + " | ".join(r) + " |")
            md.append("")
        s_header, s_rows = syscall_table(net_med, *HTTP_SYSCALLS)
        if s_header:
            md.append("System calls per HTTP request (`strace -c -f` on the server under wrk, -c100, "
                      "1–2 s; divided by wrk's request count):")
            md.append("")
            md.append("| " + " | ".join(s_header) + " |")
            md.append("| --- | " + " | ".join(["---:"] * (len(s_header) - 1)) + " |")
            for r in s_rows:
                md.append("| " + " | ".join(r) + " |")
            md.append("")
    if args.extra_md and os.path.exists(args.extra_md):
        with open(args.extra_md, encoding="utf-8") as f:
            md.append(f.read().rstrip())
        md.append("")
    md.append("## Reading the numbers")
    md.append("")
    md.append("The targets set for these rows (a benchmark, not a test: they are reported, not enforced):")
    md.append("")
    md.extend(target_lines(medians, units))
    md.extend(net_target_lines(net_med))
    md.append("")
    if args.notes and os.path.exists(args.notes):
        with open(args.notes, encoding="utf-8") as f:
            md.append(f.read().rstrip())
        md.append("")
    md.append("## Machine and build")
    md.append("")
    md.append(f"- Date: {now}")
    md.append(f"- Command: `{args.command}`")
    md.append(f"- CPU: {info['cpu']}, {info['cores']} cores; Linux {info['kernel']}")
    md.append(f"- Pinning: {args.pinned or 'none (taskset not available)'}")
    md.append(f"- Compiler: {info['gxx']}")
    for target, flags in sorted(info["flags"].items()):
        md.append(f"- Flags of `{target}`: `{flags}`")
    md.append(f"- Asio: {info['asio']} (Debian libasio-dev, standalone); {info['python']}; uvloop {info['uvloop']}")
    if net_runs:
        md.append(f"- Boost: {info['boost']}; aiohttp {info['aiohttp']}; {info['wrk']}")
    md.append("")
    md.append("## All repetitions")
    md.append("")
    md.append("| benchmark | implementation | values |")
    md.append("| --- | --- | --- |")
    for key, _desc in ROWS:
        for impl in IMPLS:
            if (impl, key) in runs:
                md.append(f"| `{key}` | {impl} | {', '.join(fmt(v) for v in runs[(impl, key)])} |")
    for key, _title, impls_of, _load in NET_BENCHES:
        for metric in ("rps", "cpu"):
            for impl in impls_of:
                if (impl, f"{key}_{metric}") in net_runs:
                    values = ", ".join(fmt(v) for v in net_runs[(impl, f"{key}_{metric}")])
                    md.append(f"| `{key}_{metric}` ({units.get(f'{key}_{metric}', '')}) | {impl} | {values} |")
    md.append("")
    with open(args.md, "w", encoding="utf-8") as f:
        f.write("\n".join(md))
    print(f"\nwrote {args.md}" + (f" and {args.svg}" if chart_ok else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
