#!/usr/bin/env bash
# Instructions per request of an HTTP server: runs SERVER PORT
# under callgrind, warms it up with one http_load round, zeroes the counters,
# drives exactly CONNECTIONS x ROUNDS keep-alive requests with http_load, dumps
# and prints the server's user-space instructions per request (callgrind Ir,
# the whole process: loop, parser, handler, libc).
#
#   bench/load/callgrind_http.sh BIN_DIR SERVER [CONNECTIONS=100] [ROUNDS=100] [OUT_DIR]
#
# e.g. bench/load/callgrind_http.sh build/bench/bench http_floor
#      bench/load/callgrind_http.sh build/bench/bench http_server_corio
# The profile stays in OUT_DIR (default /tmp) for callgrind_annotate.
set -euo pipefail
bin=${1:?BIN_DIR}
server=${2:?SERVER}
connections=${3:-100}
rounds=${4:-100}
out_dir=${5:-/tmp}
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
out="$out_dir/callgrind.$server.out"
rm -f "$out" "$out".*
valgrind --tool=callgrind --callgrind-out-file="$out" "$bin/$server" "$port" 2>"$out_dir/callgrind.$server.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    if "$bin/http_load" "$port" 10 5 >/dev/null 2>&1; then break; fi
    sleep 0.2
done
callgrind_control -z "$pid" >/dev/null
"$bin/http_load" "$port" "$connections" "$rounds" >/dev/null
callgrind_control -d "$pid" >/dev/null
sleep 0.5
kill "$pid"; wait "$pid" 2>/dev/null || true
trap - EXIT
dump=$(ls -t "$out".* 2>/dev/null | head -1)
ir=$(grep -E '^(summary|totals):' "$dump" | head -1 | awk '{print $2}')
requests=$((connections * rounds))
echo -e "server\t$server\nrequests\t$requests\nIr\t$ir\nIr_per_request\t$((ir / requests))\nprofile\t$dump"
