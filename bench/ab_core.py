#!/usr/bin/python3
"""A/B comparison of corio's core rows: a base commit against the work tree.

Exports `--base` (default: main) with `git archive`, builds
bench/compare_core_corio.cpp from both trees with the same compiler and flags
as the bench preset (g++ -O3 -DNDEBUG), builds bench/sleepers_floor.cpp, and
runs the three programs interleaved (base, new, floor, base, new, floor, ...)
pinned to one CPU. Prints the median of every row with the ratio new/base, and
the 100k-sleeper rows as ratios to the floor.

    bench/ab_core.py [--base REV] [--reps N] [--cpu C] [--quick] [--asio PATH] [--debug]

--debug also runs the new program with CORIO_DEBUG=1 (debug mode on), for
what debug mode costs per row (column debug/new).

--asio adds a built compare_core_asio (e.g. build/bench/bench/compare_core_asio)
to the interleaving, for the ratios to Asio.

Both programs are built outside the source tree (build/ab/); nothing in the
work tree changes.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGS = ["-std=c++20", "-O3", "-DNDEBUG", "-Wall", "-Wextra", "-Wpedantic", "-Werror"]


def build(src_root, out, source):
    cmd = ["g++", *FLAGS, "-I", os.path.join(src_root, "include"), os.path.join(src_root, source), "-o", out]
    subprocess.run(cmd, check=True)


def run(cmd, cpu, env=None):
    pin = ["taskset", "-c", str(cpu)] if shutil.which("taskset") else []
    out = subprocess.run(pin + cmd, check=True, capture_output=True, text=True, env=env).stdout
    rows = {}
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) == 3:
            rows[parts[0]] = (float(parts[1]), parts[2])
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="main")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--cpu", type=int, default=0)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--asio", help="a built compare_core_asio to interleave as well (ratios new/asio)")
    ap.add_argument("--debug", action="store_true", help="also run the new program with CORIO_DEBUG=1")
    args = ap.parse_args()

    work = os.path.join(ROOT, "build", "ab")
    base_tree = os.path.join(work, "base")
    shutil.rmtree(base_tree, ignore_errors=True)
    os.makedirs(base_tree)
    archive = subprocess.run(["git", "-C", ROOT, "archive", args.base, "include", "bench"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", base_tree], input=archive, check=True)
    # The base is timed by the work tree's stopwatch (bench/timing.hpp), so
    # both sides measure peak RSS the same way.
    shutil.copy(os.path.join(ROOT, "bench", "timing.hpp"), os.path.join(base_tree, "bench", "timing.hpp"))

    programs = {
        "base": os.path.join(work, "compare_core_base"),
        "new": os.path.join(work, "compare_core_new"),
        "floor": os.path.join(work, "sleepers_floor"),
    }
    print(f"building base ({args.base}), new (work tree) and the floor ...", file=sys.stderr)
    build(base_tree, programs["base"], "bench/compare_core_corio.cpp")
    build(ROOT, programs["new"], "bench/compare_core_corio.cpp")
    build(ROOT, programs["floor"], "bench/sleepers_floor.cpp")

    if args.asio:
        programs["asio"] = args.asio
    if args.debug:
        programs["debug"] = programs["new"]
    debug_env = dict(os.environ, CORIO_DEBUG="1")
    plain_env = {k: v for k, v in os.environ.items() if k != "CORIO_DEBUG"}
    extra = ["--quick"] if args.quick else []
    results = {name: {} for name in programs}
    units = {}
    for rep in range(args.reps):
        for name, path in programs.items():
            rows = run([path, *extra], args.cpu, debug_env if name == "debug" else plain_env)
            print(f"rep {rep + 1}/{args.reps} {name}: " +
                  ", ".join(f"{k}={v:.1f}" for k, (v, _u) in rows.items()), file=sys.stderr)
            for key, (value, unit) in rows.items():
                results[name].setdefault(key, []).append(value)
                units[key] = unit

    med = {name: {k: statistics.median(v) for k, v in rows.items()} for name, rows in results.items()}
    print(f"\nmedians of {args.reps} interleaved runs (base = {args.base}, pinned to CPU {args.cpu})")
    print(f"{'row':32} {'unit':11} {'base':>10} {'new':>10} {'new/base':>9} {'floor':>10} {'new/floor':>10} "
          f"{'base/floor':>10}")
    for key in results["new"]:
        b, n = med["base"].get(key), med["new"][key]
        f = med["floor"].get(key)
        a = med.get("asio", {}).get(key)
        line = f"{key:32} {units[key]:11} {b:10.2f} {n:10.2f} {n / b:9.2f}"
        if f:
            line += f" {f:10.2f} {n / f:10.2f} {b / f:10.2f}"
        if a:
            line += f"   (asio {a:.2f}: new/asio {n / a:.2f}, base/asio {b / a:.2f})"
        d = med.get("debug", {}).get(key)
        if d:
            line += f"   (debug on {d:.2f}: debug/new {d / n:.2f})"
        print(line)
        if key.startswith("gather"):
            print(f"{'':44} min base {min(results['base'][key]):.2f}, new {min(results['new'][key]):.2f}"
                  + (f", floor {min(results['floor'][key]):.2f}" if f else ""))

if __name__ == "__main__":
    main()
