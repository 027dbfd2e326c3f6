#!/usr/bin/env bash
# Instructions per WebSocket message echoed, both sides of
# bench/ws_echo_corio.cpp (callgrind Ir: the whole process, user space).
#
#   bench/load/callgrind_ws.sh BIN_DIR [CONNECTIONS=100] [MESSAGES=200] [SIZE=32] [OUT_DIR=/tmp]
#
# server: `ws_echo_corio server` under callgrind, warmed up by one small load,
#         counters zeroed, then exactly CONNECTIONS x MESSAGES echoes driven by
#         an uninstrumented `ws_echo_corio load`; Ir / messages.
# client: `ws_echo_corio load` under callgrind twice, with MESSAGES and
#         2 x MESSAGES per connection, against an uninstrumented server; the
#         difference of the two totals over the extra messages (so connecting,
#         the handshakes and start-up cancel out).
# CALLGRIND_WS_LOAD_ARGS: extra words for the load generator (e.g. "--window 16").
# The profiles stay in OUT_DIR for callgrind_annotate.
set -euo pipefail
bin=${1:?BIN_DIR}
connections=${2:-100}
messages=${3:-200}
size=${4:-32}
out_dir=${5:-/tmp}
read -r -a load_args <<<"${CALLGRIND_WS_LOAD_ARGS:-}"
free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_up() {
    for _ in $(seq 100); do
        if "$bin/ws_echo_corio" load "ws://127.0.0.1:$1/" 2 2 8 >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    echo "server on port $1 did not come up" >&2
    return 1
}
ir_of() { grep -E '^(summary|totals):' "$1" | head -1 | awk '{print $2}'; }

# --- server side
port=$(free_port)
out="$out_dir/callgrind.ws_server.out"
rm -f "$out" "$out".*
valgrind --tool=callgrind --callgrind-out-file="$out" "$bin/ws_echo_corio" server "$port" \
    >/dev/null 2>"$out_dir/callgrind.ws_server.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
wait_up "$port"
"$bin/ws_echo_corio" load "${load_args[@]}" "ws://127.0.0.1:$port/" "$connections" 20 "$size" >/dev/null
callgrind_control -z "$pid" >/dev/null
"$bin/ws_echo_corio" load "${load_args[@]}" "ws://127.0.0.1:$port/" "$connections" "$messages" "$size" >/dev/null
callgrind_control -d "$pid" >/dev/null
sleep 0.5
kill "$pid"; wait "$pid" 2>/dev/null || true
trap - EXIT
dump=$(ls -t "$out".* 2>/dev/null | head -1)
server_ir=$(ir_of "$dump")
total=$((connections * messages))
# The connections' handshakes and closes are inside the zeroed window too:
# they are counted, spread over the messages.
echo -e "server_messages\t$total\nserver_Ir\t$server_ir\nserver_Ir_per_message\t$((server_ir / total))\nserver_profile\t$dump"

# --- client side
port=$(free_port)
"$bin/ws_echo_corio" server "$port" >/dev/null 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
wait_up "$port"
client_ir=()
for m in "$messages" $((2 * messages)); do
    out="$out_dir/callgrind.ws_client_$m.out"
    rm -f "$out"
    valgrind --tool=callgrind --callgrind-out-file="$out" "$bin/ws_echo_corio" load "${load_args[@]}" \
        "ws://127.0.0.1:$port/" "$connections" "$m" "$size" >/dev/null 2>"$out_dir/callgrind.ws_client.log"
    client_ir+=("$(ir_of "$out")")
done
kill "$pid"; wait "$pid" 2>/dev/null || true
trap - EXIT
extra=$((connections * messages))
echo -e "client_Ir_${messages}\t${client_ir[0]}\nclient_Ir_$((2 * messages))\t${client_ir[1]}"
echo -e "client_Ir_per_message\t$(((client_ir[1] - client_ir[0]) / extra))\nclient_profile\t$out"
