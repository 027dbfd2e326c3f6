#!/usr/bin/env python3
"""corio::pg against asyncpg and the raw libpq floor, side by side: starts a
throwaway PostgreSQL server (initdb + pg_ctl on a temporary directory, a free
loopback port, fsync off; as root through `runuser -u postgres`), creates
bench_rows (100,000 rows of int, text, float8), then runs the three clients
interleaved for `rounds` rounds and prints the best of each (highest rate,
lowest client CPU) with the ratios corio/asyncpg and corio/floor.

    /usr/bin/python3 bench/pg_run.py <dir with pg_corio and pg_floor> [rounds=5]
        [--only seq,pool,rows,copy] [--before <dir with an earlier pg_corio>]

--only runs those rows alone; --before adds that pg_corio as a fourth
client ("before"), interleaved with the others, for before/after tables.

Rows: (a) seq: 10,000 sequential `SELECT $1::int` on one connection;
(b) pool: 20,000 of them from 100 tasks through a pool of 10 (the floor: 10
connections, 10 statements in flight on each, pipelined); (c) rows: 100,000
rows from one query (rows/s); (d) copy: COPY of 100,000 rows (rows/s).
asyncpg runs with /usr/bin/python3 and MALLOC_MMAP_THRESHOLD_=1048576.
"""
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
arguments = sys.argv[1:]
only = before_dir = None
for flag in ("--only", "--before"):
    if flag in arguments:
        at = arguments.index(flag)
        if flag == "--only":
            only = arguments[at + 1].split(",")
        else:
            before_dir = arguments[at + 1]
        del arguments[at:at + 2]
bin_dir = arguments[0]
rounds = int(arguments[1]) if len(arguments) > 1 else 5
pg_bin = next((f"/usr/lib/postgresql/{v}/bin" for v in ("17", "16", "15", "14")
               if os.access(f"/usr/lib/postgresql/{v}/bin/pg_ctl", os.X_OK)), None)
if pg_bin is None:
    sys.exit("PostgreSQL not installed: apt-get install postgresql")

ROWS = [("seq", ["10000"], "query"), ("pool", ["20000", "100"], "query"),
        ("rows", [], "row"), ("copy", ["100000"], "row")]
if only:
    ROWS = [row for row in ROWS if row[0] in only]
TARGETS = {"seq": "(a) >= 1.5x asyncpg", "pool": "(b) >= 5x asyncpg, >= 0.7x floor",
           "rows": "(c) >= 2x asyncpg", "copy": "(d)"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_server_user(command):
    return ["runuser", "-u", "postgres", "--"] + command if os.geteuid() == 0 else command


port = free_port()
workdir = tempfile.mkdtemp(prefix="corio-pg-bench-")
if os.geteuid() == 0:
    postgres = pwd.getpwnam("postgres")
    os.chown(workdir, postgres.pw_uid, postgres.pw_gid)
data = os.path.join(workdir, "data")
subprocess.run(as_server_user([f"{pg_bin}/initdb", "-D", data, "-U", "corio", "-A", "trust", "--no-sync",
                               "-E", "UTF8", "--locale=C"]), check=True, stdout=subprocess.DEVNULL)
options = (f"-p {port} -c listen_addresses=127.0.0.1 -k {workdir} -c fsync=off -c synchronous_commit=off"
           " -c full_page_writes=off")
subprocess.run(as_server_user([f"{pg_bin}/pg_ctl", "-D", data, "-l", os.path.join(workdir, "log"), "-o", options,
                               "-w", "start"]), check=True, stdout=subprocess.DEVNULL)
dsn = f"postgresql://corio@127.0.0.1:{port}/postgres"
env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="1048576")
clients = {
    "corio": [os.path.join(bin_dir, "pg_corio"), dsn],
    "asyncpg": ["/usr/bin/python3", os.path.join(here, "peers", "pg_asyncpg.py"), dsn],
    "floor": [os.path.join(bin_dir, "pg_floor"), dsn],
}
if before_dir:
    clients["before"] = [os.path.join(before_dir, "pg_corio"), dsn]
results = {}
try:
    for setup in ("CREATE TABLE bench_rows AS SELECT i AS a, 'row ' || i AS b, i * 0.5::float8 AS c"
                  " FROM generate_series(1, 100000) AS i", "VACUUM ANALYZE bench_rows"):
        subprocess.run([f"{pg_bin}/psql", dsn, "-q", "-c", setup], check=True)
    for _ in range(rounds):
        for mode, args, _unit in ROWS:
            for name, command in clients.items():
                done = subprocess.run(command + [mode] + args, capture_output=True, text=True,
                                      env=env if name == "asyncpg" else None)
                if done.returncode != 0:
                    sys.exit(f"{name} {mode} failed ({done.returncode}): {done.stdout}{done.stderr}")
                out = done.stdout
                rate = float(re.search(r"([\d.]+) per s", out).group(1))
                cpu = float(re.search(r"client CPU ([\d.]+) us", out).group(1))
                results.setdefault((mode, name), []).append((rate, cpu))
finally:
    subprocess.run(as_server_user([f"{pg_bin}/pg_ctl", "-D", data, "-m", "immediate", "stop"]),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shutil.rmtree(workdir, ignore_errors=True)

print(f"{rounds} interleaved rounds; best of {rounds} (highest rate, lowest client CPU)")
print(f"| row | unit | corio | asyncpg | floor | corio/asyncpg | corio/floor | CPU us/unit corio | asyncpg | floor | target |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
for mode, _args, unit in ROWS:
    best = {name: max(r for r, _ in results[(mode, name)]) for name in clients}
    cpu = {name: min(c for _, c in results[(mode, name)]) for name in clients}
    print(f"| {mode} | {unit}/s | {best['corio']:,.0f} | {best['asyncpg']:,.0f} | {best['floor']:,.0f} | "
          f"{best['corio'] / best['asyncpg']:.2f}x | {best['corio'] / best['floor']:.2f}x | "
          f"{cpu['corio']:.2f} | {cpu['asyncpg']:.2f} | {cpu['floor']:.2f} | {TARGETS[mode]} |")
if before_dir:
    print()
    print("| row | before | after (corio) | after/before | before/asyncpg | CPU us/unit before | after |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for mode, _args, unit in ROWS:
        best = {name: max(r for r, _ in results[(mode, name)]) for name in clients}
        cpu = {name: min(c for _, c in results[(mode, name)]) for name in clients}
        print(f"| {mode} | {best['before']:,.0f} | {best['corio']:,.0f} | {best['corio'] / best['before']:.2f}x | "
              f"{best['before'] / best['asyncpg']:.2f}x | {cpu['before']:.2f} | {cpu['corio']:.2f} |")
