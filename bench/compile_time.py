#!/usr/bin/env python3
"""Compile-time benchmark: CPU seconds (user + system, of the compiler
processes) to compile a fixed set of corio programs, with g++ and clang++,
header-only and in separate-compilation mode, each the best of --reps runs.
Run from anywhere:

    /usr/bin/python3 bench/compile_time.py [--reps 3] [--compilers g++,clang++]
        [--levels -O2] [--modes header-only,separate,header-only+pch,separate+pch]
        [--programs 01_gather,12_fetch_urls,15_web_api,test_http_router]

CPU time rather than wall time, so that a busy machine disturbs it less.
Only compilation to an object file is timed (linking is not corio's cost).
In separate mode (CORIO_SEPARATE_COMPILATION) a program's time excludes the
library's source, src/corio_http.cpp, compiled once per build: its row
("corio_http.cpp, once") shows that cost, paid again only when corio changes.

The +pch modes compile each program with a precompiled header of the corio
headers it uses, as CMake's corio_precompile_headers(<target>) makes one
(clang: -fpch-instantiate-templates, as CMake adds; g++: a .gch checked with
-Winvalid-pch); the PCH's own compile is a row of its own ("PCH ..., once"),
paid again only when corio changes.
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

# Each program with the headers corio_precompile_headers would put in its PCH
# (those of the corio libraries its CMake target links).
CORE_PCH = ("corio/corio.hpp",)
HTTP_PCH = ("corio/corio.hpp", "corio/http.hpp", "corio/tls.hpp")
PROGRAMS = [
    ("01_gather", ROOT / "examples/01_gather.cpp", CORE_PCH),
    ("12_fetch_urls", ROOT / "examples/12_fetch_urls.cpp", HTTP_PCH),
    ("15_web_api", ROOT / "examples/15_web_api.cpp", HTTP_PCH),
    ("test_http_router", ROOT / "tests/http/test_http_router.cpp", HTTP_PCH),
]
LIBRARY = ("corio_http.cpp, once", ROOT / "src/corio_http.cpp", ())

FLAGS = ["-std=c++20", f"-I{ROOT / 'include'}", f"-I{ROOT / 'tests/support'}",
         "-DCORIO_WITH_ZLIB=1", "-DCORIO_WITH_TLS=1"]
SEPARATE = ["-DCORIO_SEPARATE_COMPILATION=1"]
MODE_FLAGS = {"header-only": [], "separate": SEPARATE, "header-only+pch": [], "separate+pch": SEPARATE}


def cpu_seconds_of(command):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def make_pch(compiler, flags, headers, directory):
    """Writes a header including `headers` in `directory`, precompiles it with
    `flags`; returns the compile's CPU seconds and the flags that use it."""
    os.makedirs(directory, exist_ok=True)
    header = os.path.join(directory, "corio_pch.hpp")
    with open(header, "w") as f:
        f.writelines(f"#include <{h}>\n" for h in headers)
    if "clang" in os.path.basename(compiler):
        pch = header + ".pch"
        seconds = cpu_seconds_of([compiler, *flags, "-fpch-instantiate-templates", "-x", "c++-header",
                                  header, "-o", pch])
        return seconds, ["-include-pch", pch]
    seconds = cpu_seconds_of([compiler, *flags, "-x", "c++-header", header, "-o", header + ".gch"])
    return seconds, ["-include", header, "-Winvalid-pch", "-Werror=invalid-pch"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--compilers", default="g++,clang++")
    ap.add_argument("--levels", default="-O2")
    ap.add_argument("--modes", default=",".join(MODE_FLAGS))
    ap.add_argument("--programs", default=",".join(name for name, _s, _h in PROGRAMS),
                    help="which of the programs (the library's row comes with separate mode)")
    args = ap.parse_args()
    chosen = args.programs.split(",")
    unknown_programs = [p for p in chosen if p not in {name for name, _s, _h in PROGRAMS}]
    if unknown_programs:
        sys.exit("unknown program(s): " + ", ".join(unknown_programs))
    programs_chosen = [p for p in PROGRAMS if p[0] in chosen]
    compilers = [c for c in args.compilers.split(",") if shutil.which(c)]
    if not compilers:
        sys.exit("no compiler found among " + args.compilers)
    levels = args.levels.split(",")
    modes = args.modes.split(",")
    unknown = [m for m in modes if m not in MODE_FLAGS]
    if unknown:
        sys.exit("unknown mode(s): " + ", ".join(unknown) + " (" + ", ".join(MODE_FLAGS) + ")")
    columns = [(c, l) for c in compilers for l in levels]
    rows = []  # (mode, program, compiler, level, seconds)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.o")
        def record(mode, name, compiler, level, best):
            rows.append((mode, name, compiler, level, best))
            print(f"{mode:16} {name:36} {compiler:8} {level}  {best:6.2f} s", file=sys.stderr)

        for mode in modes:
            with_pch = mode.endswith("+pch")
            programs = programs_chosen + ([LIBRARY] if mode == "separate" else [])
            pch_sets = sorted({pch for _n, _s, pch in programs}) if with_pch else []
            use_pch = {}  # (compiler, level, headers) -> the flags that use the PCH
            for number, headers in enumerate(pch_sets):
                name = "PCH of " + " + ".join(h.split("/")[-1] for h in headers) + ", once"
                for compiler, level in columns:
                    flags = [*FLAGS, *MODE_FLAGS[mode], level]
                    directory = os.path.join(tmp, mode, compiler, level, str(number))
                    made = [make_pch(compiler, flags, headers, directory) for _ in range(args.reps)]
                    use_pch[(compiler, level, headers)] = made[-1][1]
                    record(mode, name, compiler, level, min(seconds for seconds, _ in made))
            for name, source, headers in programs:
                for compiler, level in columns:
                    flags = [*FLAGS, *MODE_FLAGS[mode], level]
                    pch = use_pch.get((compiler, level, headers), [])
                    command = [compiler, *flags, *pch, "-c", str(source), "-o", out]
                    best = min(cpu_seconds_of(command) for _ in range(args.reps))
                    record(mode, name, compiler, level, best)
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
