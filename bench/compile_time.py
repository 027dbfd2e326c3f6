#!/usr/bin/env python3
"""Compile-time benchmark: CPU seconds (user + system, of the compiler
processes) to compile a fixed set of corio programs, with g++ and clang++,
header-only and in separate-compilation mode, each the best of --reps runs.
Run from anywhere:

    /usr/bin/python3 bench/compile_time.py [--reps 3] [--compilers g++,clang++]
        [--levels -O2] [--modes header-only,separate]

CPU time rather than wall time, so that a busy machine disturbs it less.
Only compilation to an object file is timed (linking is not corio's cost).
In separate mode (CORIO_SEPARATE_COMPILATION) a program's time excludes the
library's source, src/corio_http.cpp, compiled once per build: its row
("corio_http.cpp, once") shows that cost, paid again only when corio changes.
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
    ("test_http_router", ROOT / "tests/http/test_http_router.cpp"),
]
LIBRARY = ("corio_http.cpp, once", ROOT / "src/corio_http.cpp")

FLAGS = ["-std=c++20", f"-I{ROOT / 'include'}", f"-I{ROOT / 'tests/support'}",
         "-DCORIO_WITH_ZLIB=1", "-DCORIO_WITH_TLS=1", "-c"]
MODE_FLAGS = {"header-only": [], "separate": ["-DCORIO_SEPARATE_COMPILATION=1"]}


def cpu_seconds_of(command):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--compilers", default="g++,clang++")
    ap.add_argument("--levels", default="-O2")
    ap.add_argument("--modes", default="header-only,separate")
    args = ap.parse_args()
    compilers = [c for c in args.compilers.split(",") if shutil.which(c)]
    if not compilers:
        sys.exit("no compiler found among " + args.compilers)
    levels = args.levels.split(",")
    modes = args.modes.split(",")
    unknown = [m for m in modes if m not in MODE_FLAGS]
    if unknown:
        sys.exit("unknown mode(s): " + ", ".join(unknown) + " (header-only, separate)")
    columns = [(c, l) for c in compilers for l in levels]
    rows = []  # (mode, program, compiler, level, seconds)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.o")
        for mode in modes:
            programs = PROGRAMS + ([LIBRARY] if mode == "separate" else [])
            for name, source in programs:
                for compiler, level in columns:
                    command = [compiler, *FLAGS, *MODE_FLAGS[mode], level, str(source), "-o", out]
                    best = min(cpu_seconds_of(command) for _ in range(args.reps))
                    rows.append((mode, name, compiler, level, best))
                    print(f"{mode:12} {name:22} {compiler:8} {level}  {best:6.2f} s", file=sys.stderr)
    print()
    print(f"Compile CPU seconds (user + sys), best of {args.reps} (bench/compile_time.py):")
    print()
    print("| mode | program | " + " | ".join(f"{c} {l}" for c, l in columns) + " |")
    print("|" + " --- |" * (2 + len(columns)))
    seen = []
    for mode, name, _c, _l, _t in rows:
        if (mode, name) not in seen:
            seen.append((mode, name))
    for mode, name in seen:
        cells = [f"{t:.2f}" for m, n, c, l, t in rows if m == mode and n == name]
        print(f"| {mode} | {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
