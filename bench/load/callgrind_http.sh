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
# CALLGRIND_SERVER_ARGS: words put before the port on the server's command line;
# CALLGRIND_PATH: the target requested (default /), e.g. corio::web's /json:
#      CALLGRIND_SERVER_ARGS="--mode web --port" CALLGRIND_PATH=/json \
#          bench/load/callgrind_http.sh build/bench/bench web_techempower_corio
# The profile stays in OUT_DIR (default /tmp) for callgrind_annotate.
set -euo pipefail
bin=${1:?BIN_DIR}
server=${2:?SERVER}
connections=${3:-100}
rounds=${4:-100}
out_dir=${5:-/tmp}
read -r -a server_args <<<"${CALLGRIND_SERVER_ARGS:-}"
path=${CALLGRIND_PATH:-/}
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# The profile's name tells the runs apart: server, its arguments, path.
tag=$server
for word in "${server_args[@]}"; do
    [[ $word == --port ]] || tag+=_${word#--}
done
[[ $path == / ]] || tag+=${path//\//_}
out="$out_dir/callgrind.$tag.out"
rm -f "$out" "$out".*
valgrind --tool=callgrind --callgrind-out-file="$out" "$bin/$server" "${server_args[@]}" "$port" \
    2>"$out_dir/callgrind.$tag.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    if "$bin/http_load" "$port" 10 5 "$path" >/dev/null 2>&1; then break; fi
    sleep 0.2
done
callgrind_control -z "$pid" >/dev/null
"$bin/http_load" "$port" "$connections" "$rounds" "$path" >/dev/null
callgrind_control -d "$pid" >/dev/null
sleep 0.5
kill "$pid"; wait "$pid" 2>/dev/null || true
trap - EXIT
dump=$(ls -t "$out".* 2>/dev/null | head -1)
ir=$(grep -E '^(summary|totals):' "$dump" | head -1 | awk '{print $2}')
requests=$((connections * rounds))
echo -e "server\t$server\npath\t$path\nrequests\t$requests\nIr\t$ir\nIr_per_request\t$((ir / requests))\nprofile\t$dump"
