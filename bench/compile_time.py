#!/usr/bin/env python3
"""Compile-time benchmark: CPU seconds (user + system, of the compiler
processes) to compile a fixed set of corio programs, with g++ and clang++,
at -O0 and -O2, each the best of --reps runs. Run from anywhere:

    /usr/bin/python3 bench/compile_time.py [--reps 3] [--compilers g++,clang++]

CPU time rather than wall time, so that a busy machine disturbs it less.
Only compilation to an object file is timed (linking is not corio's cost).
"""
import argparse
import os
import pathlib
import resource
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent

PROGRAMS = [
    ("01_gather", ROOT / "examples/01_gather.cpp"),
    ("12_fetch_urls", ROOT / "examples/12_fetch_urls.cpp"),
    ("15_web_api", ROOT / "examples/15_web_api.cpp"),
    ("test_task", ROOT / "tests/core/test_task.cpp"),
]

FLAGS = ["-std=c++20", f"-I{ROOT / 'include'}", f"-I{ROOT / 'tests/support'}",
         "-DCORIO_WITH_ZLIB=1", "-DCORIO_WITH_TLS=1", "-c"]


def cpu_seconds_of(command):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--compilers", default="g++,clang++")
    ap.add_argument("--levels", default="-O0,-O2")
    args = ap.parse_args()
    compilers = [c for c in args.compilers.split(",") if shutil.which(c)]
    if not compilers:
        sys.exit("no compiler found among " + args.compilers)
    levels = args.levels.split(",")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.o")
        for name, source in PROGRAMS:
            for compiler in compilers:
                for level in levels:
                    command = [compiler, *FLAGS, level, str(source), "-o", out]
                    best = min(cpu_seconds_of(command) for _ in range(args.reps))
                    rows.append((name, compiler, level, best))
                    print(f"{name:16} {compiler:8} {level}  {best:6.2f} s", file=sys.stderr)
    print()
    print(f"Compile CPU seconds, header-only, best of {args.reps} (bench/compile_time.py):")
    print()
    header = "| program | " + " | ".join(f"{c} {l}" for c in compilers for l in levels) + " |"
    print(header)
    print("|" + " --- |" * (1 + len(compilers) * len(levels)))
    for name, _source in PROGRAMS:
        cells = [f"{t:.2f}" for n, c, l, t in rows if n == name]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
