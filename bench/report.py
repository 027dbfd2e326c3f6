#!/usr/bin/python3
"""Turns the raw results of bench/run into a table, docs/benchmarks.md and a chart.

Input: a TSV file of `impl<TAB>rep<TAB>name<TAB>value<TAB>unit` lines (one per
result of one run of one program). Output: the median table on stdout, a
Markdown report and (if matplotlib is installed) an SVG chart.
"""

import argparse
import collections
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys

IMPLS = ["corio", "asio", "asyncio", "uvloop"]
PEERS = IMPLS[1:]
LABELS = {
    "corio": "corio",
    "asio": "Asio 1.22 (C++20 coroutines)",
    "asyncio": "Python asyncio",
    "uvloop": "Python uvloop",
}

# (key, description shown in the table), in table order.
ROWS = [
    ("task_create_await", "create + co_await a trivial task<int> / awaitable<int> / coroutine"),
    ("spawn_await", "create_task + await (Asio: co_spawn(..., use_awaitable))"),
    ("yield_pingpong", "sleep(0) ping-pong between two tasks, per yield (Asio: post(use_awaitable))"),
    ("timer_insert_cancel", "timer insert + cancel (call_later(1s).cancel(); Asio: steady_timer async_wait + cancel)"),
    ("gather_100k_sleep10ms_wall", "100,000 tasks each sleeping 10 ms, gathered: wall time"),
    ("gather_100k_sleep10ms_rss", "the same: peak RSS growth per suspended task"),
]

# The targets for these rows: (row, peer or None, limit, kind).
TARGETS = [
    ("task_create_await", "asio", 0.5, "ratio"),
    ("spawn_await", "asio", 0.25, "ratio"),
    ("gather_100k_sleep10ms_wall", None, 25.0, "absolute"),
    ("gather_100k_sleep10ms_rss", None, 250.0, "absolute"),
]


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
    info["flags"] = {}
    try:
        with open(os.path.join(build_dir, "compile_commands.json"), encoding="utf-8") as f:
            for entry in json.load(f):
                for target in ("compare_core_corio", "compare_core_asio"):
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


def target_lines(medians):
    out = []
    for key, peer, limit, kind in TARGETS:
        c = medians.get(("corio", key))
        if c is None:
            continue
        if kind == "ratio":
            p = medians.get((peer, key))
            if not p:
                out.append(f"- `{key}`: target ≤ {limit}× Asio — Asio was not measured, no verdict.")
                continue
            ratio = c / p
            verdict = "**met**" if ratio <= limit else "**missed**"
            out.append(f"- `{key}`: target ≤ {limit}× Asio; corio {fmt(c)} ns vs Asio {fmt(p)} ns "
                       f"= {ratio:.2f}× — {verdict}.")
        else:
            unit = "ms" if key.endswith("wall") else "bytes per task"
            verdict = "**met**" if c <= limit else "**missed**"
            out.append(f"- `{key}`: target ≤ {limit:g} {unit}; corio {fmt(c)} {unit} — {verdict}.")
    return out


def write_chart(path, medians, units, present):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (Debian: python3-matplotlib): no chart written", file=sys.stderr)
        return False
    plt.rcParams["svg.hashsalt"] = "corio-bench"
    impls = [i for i in IMPLS if i in present]
    colors = {"corio": "#1f77b4", "asio": "#ff7f0e", "asyncio": "#2ca02c", "uvloop": "#9467bd"}
    fig, axes = plt.subplots(2, 3, figsize=(13, 7.5))
    for ax, (key, _desc) in zip(axes.flat, ROWS):
        vals = [medians.get((i, key)) for i in impls]
        xs = list(range(len(impls)))
        bars = ax.bar(xs, [v if v else 0 for v in vals], color=[colors[i] for i in impls])
        ax.set_yscale("log")
        ax.set_xticks(xs, impls)
        ax.set_title(f"{key}\n({units.get(key, '')}, lower is better)", fontsize=10)
        for bar, v in zip(bars, vals):
            if v:
                ax.annotate(fmt(v), (bar.get_x() + bar.get_width() / 2, v), ha="center", va="bottom", fontsize=8)
        ax.margins(y=0.25)
        ax.grid(axis="y", which="major", alpha=0.3)
    fig.suptitle("corio core runtime vs Asio, asyncio, uvloop — medians, log scale", fontsize=12)
    fig.tight_layout()
    fig.savefig(path, format="svg", metadata={"Date": None})
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
    args = ap.parse_args()

    runs, units = load(args.raw)
    present = {impl for (impl, _name) in runs}
    header, rows, medians = build_table(runs, units, present)
    print_table(header, rows)
    print()
    for line in target_lines(medians):
        print(line.replace("**", ""))

    if not args.md:
        return 0
    info = machine_info(args.build_dir)
    chart_ok = write_chart(args.svg, medians, units, present) if args.svg else False
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    md = []
    md.append("# Benchmarks: corio's core runtime side by side with its peers")
    md.append("")
    md.append("Generated by `bench/run` (issue 6, parts 1, 2 and 4 for the core runtime; the network "
              "and HTTP comparisons come with those features). Do not edit by hand: rerun "
              "`bench/run`; the analysis at the end comes from `bench/benchmarks_notes.md`.")
    md.append("")
    if chart_ok:
        md.append(f"![corio vs peers]({os.path.basename(args.svg)})")
        md.append("")
    md.append(f"Medians of {args.reps} interleaved repetitions (corio, Asio, asyncio, uvloop, corio, …), "
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
    md.append("## Reading the numbers")
    md.append("")
    md.append("The issue's targets for these rows (a benchmark, not a test: they are reported, not enforced):")
    md.append("")
    md.extend(target_lines(medians))
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
    md.append("")
    md.append("## All repetitions")
    md.append("")
    md.append("| benchmark | implementation | values |")
    md.append("| --- | --- | --- |")
    for key, _desc in ROWS:
        for impl in IMPLS:
            if (impl, key) in runs:
                md.append(f"| `{key}` | {impl} | {', '.join(fmt(v) for v in runs[(impl, key)])} |")
    md.append("")
    with open(args.md, "w", encoding="utf-8") as f:
        f.write("\n".join(md))
    print(f"\nwrote {args.md}" + (f" and {args.svg}" if chart_ok else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
