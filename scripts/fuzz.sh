#!/usr/bin/env bash
# Build the libFuzzer targets (tests/fuzz: the HTTP/1.1 parser, the HTTP
# server's connection loop, the HTTP client's Content-Encoding decoder, the
# URL parser, the RESP parser, Redis Cluster's slot maps and redirects, the
# WebSocket frame codec, the permessage-deflate negotiation, the
# multipart/form-data parser, corio::pg's binary value decoders and the event
# loop's timer queue) with clang, libstdc++'s assertions, ASan and UBSan in
# build/fuzz, then run each for a bounded time. A crash, sanitizer report or
# consistency trap fails the script and leaves the reproducer (crash-*) in
# build/fuzz/artifacts.
#
# Usage: ./scripts/fuzz.sh [seconds-per-fuzzer]    (default 30)
set -euo pipefail

seconds=${1:-30}
if ! [[ "$seconds" =~ ^[0-9]+$ ]]; then
    echo "usage: $0 [seconds-per-fuzzer]" >&2
    exit 2
fi

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$repo_root/build/fuzz"

cmake -S "$repo_root" -B "$build" -G Ninja \
    -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCORIO_BUILD_FUZZERS=ON >/dev/null
fuzzers=(fuzz_http_parser fuzz_http_server fuzz_http_inflate fuzz_url fuzz_resp fuzz_redis_cluster
         fuzz_websocket_frame fuzz_ws_extensions fuzz_multipart fuzz_pg_values fuzz_timer_heap)
cmake --build "$build" --target "${fuzzers[@]}"

# Seed corpora, regenerated each run (libFuzzer adds what it finds next to them).
# fuzz_http_parser reads byte 0 as the configuration (bit 0: request parser,
# bit 1: stream mode, bits 2-3: request method, bit 4: small limits) and byte 1
# as the split seed.
seed_parser="$build/corpus/fuzz_http_parser"
seed_inflate="$build/corpus/fuzz_http_inflate"
seed_server="$build/corpus/fuzz_http_server"
seed_url="$build/corpus/fuzz_url"
seed_resp="$build/corpus/fuzz_resp"
seed_cluster="$build/corpus/fuzz_redis_cluster"
seed_ws="$build/corpus/fuzz_websocket_frame"
seed_multipart="$build/corpus/fuzz_multipart"
seed_pg="$build/corpus/fuzz_pg_values"
seed_extensions="$build/corpus/fuzz_ws_extensions"
seed_timers="$build/corpus/fuzz_timer_heap"
mkdir -p "$seed_parser" "$seed_server" "$seed_inflate" "$seed_url" "$seed_resp" "$seed_cluster" "$seed_ws" "$seed_multipart" "$seed_pg" "$seed_extensions" "$seed_timers" "$build/artifacts"
printf '\x01\x07POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.0\r\n\r\n' >"$seed_parser/request_cl"
printf '\x03\x11POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n0\r\nT: v\r\n\r\n' >"$seed_parser/request_chunked"
printf '\x00\x05HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok' >"$seed_parser/response_cl"
printf '\x02\x09HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n' >"$seed_parser/response_chunked"
printf '\x04\x02HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n' >"$seed_parser/response_head"
printf '\x10\x03HTTP/1.0 200 OK\r\n\r\nuntil close' >"$seed_parser/response_until_close"
# fuzz_http_server: byte 0 is the configuration (bit 0: small limits, bit 1:
# bodies streamed), byte 1 seeds the pieces; then what the client sends.
printf '\x00\x05GET / HTTP/1.1\r\nHost: a\r\n\r\nHEAD / HTTP/1.1\r\nHost: a\r\n\r\nPOST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET /throw HTTP/1.1\r\nHost: a\r\n\r\n' >"$seed_server/pipeline"
printf '\x02\x09PUT /upload/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n5\r\nhello\r\n0\r\n\r\nPOST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc' >"$seed_server/streamed"
printf '\x01\x03HEAD /nowhere HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\nGARBAGE\r\n\r\n' >"$seed_server/refused"
ws_upgrade='GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n'
# Masked frames: "Hello", a binary message in two fragments, a ping, a Close 1000 "bye".
printf "\\x00\\x07${ws_upgrade}\\r\\n\\x81\\x85\\x37\\xfa\\x21\\x3d\\x7f\\x9f\\x4d\\x51\\x58\\x02\\x82\\x37\\xfa\\x21\\x3d\\x37\\xfb\\x80\\x81\\x37\\xfa\\x21\\x3d\\x35\\x89\\x81\\x37\\xfa\\x21\\x3d\\x47\\x88\\x85\\x37\\xfa\\x21\\x3d\\x34\\x12\\x43\\x44\\x52" >"$seed_server/websocket"
# fuzz_http_inflate: byte 0 is the configuration (bit 0: gzip, else deflate;
# bit 1: compress the rest here and decode it back), byte 1 seeds the cuts,
# byte 2 the output bounds; then a body (or a payload).
printf '\x01\x05\x07\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xcb\x48\xcd\xc9\xc9\x07\x00\x86\xa6\x10\x36\x05\x00\x00\x00' >"$seed_inflate/gzip_hello"
printf '\x00\x03\x09\x78\x9c\xcb\x48\xcd\xc9\xc9\x07\x00\x06\x2c\x02\x15' >"$seed_inflate/zlib_hello"
printf '\x00\x01\x02\x08\x05\x00\xfa\xffhello\x03\x00' >"$seed_inflate/raw_stored_first_byte_alone"
printf '\x56\x05\x07hello hello hello, compressed here in two gzip members' >"$seed_inflate/round_trip"
printf 'http://example.com:8080/a/b?q=1#f' >"$seed_url/plain"
printf 'https://[2001:db8::1]/p%%20q\n../x/./y?z' >"$seed_url/ipv6_resolve"
printf 'http://a/b/c/d;p?q\n//g/h' >"$seed_url/network_path"
# fuzz_websocket_frame: byte 0 seeds the split point, mask offset and inflater
# window; then frames back to back.
printf '\x03\x81\x05Hello\x01\x03Hel\x80\x02lo\x89\x00' >"$seed_ws/unmasked_fragments"
printf '\x05\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58' >"$seed_ws/masked_hello"
printf '\x07\xc1\x07\xf2\x48\xcd\xc9\xc9\x07\x00\x88\x02\x03\xe8' >"$seed_ws/compressed_then_close"

# fuzz_resp: byte 0 seeds the split points, bit 7 of byte 1 picks small limits.
printf '\x05\x00+OK\r\n-ERR bad\r\n:42\r\n$3\r\nfoo\r\n$-1\r\n*2\r\n:1\r\n$1\r\nx\r\n' >"$seed_resp/resp2"
printf '\x09\x80%%1\r\n+k\r\n~2\r\n,1.5\r\n#t\r\n>3\r\n$7\r\nmessage\r\n$1\r\nc\r\n_\r\n|1\r\n+a\r\n:1\r\n=7\r\ntxt:abc\r\n(12\r\n!3\r\nERR\r\n' >"$seed_resp/resp3"

# fuzz_redis_cluster: byte 0 picks CLUSTER SLOTS (0), SHARDS (1), SHARDS over
# TLS (2) or a MOVED / ASK text (3); then the reply (or the text).
printf '\x00*1\r\n*3\r\n:0\r\n:5460\r\n*3\r\n$9\r\n127.0.0.1\r\n:30001\r\n$4\r\nabcd\r\n' >"$seed_cluster/slots"
printf '\x01*1\r\n%%2\r\n$5\r\nslots\r\n*2\r\n:0\r\n:16383\r\n$5\r\nnodes\r\n*1\r\n%%4\r\n$2\r\nid\r\n$1\r\nx\r\n$4\r\nport\r\n:7000\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n' >"$seed_cluster/shards"
printf '\x03MOVED 3999 127.0.0.1:6381' >"$seed_cluster/moved"
printf '\x03ASK 12 [::1]:7001' >"$seed_cluster/ask"

# fuzz_multipart: byte 0 seeds the split points, byte 1 is the boundary's
# length - 1 (bit 7: a 24-byte header-section limit), then the boundary, then the body.
printf '\x05\x02abc--abc\r\nContent-Disposition: form-data; name="a"\r\n\r\none\r\n--abc\r\nContent-Disposition: form-data; name="f"; filename="x.txt"\r\nContent-Type: text/plain\r\n\r\nline\r\nmore\r\n--abc--\r\n' >"$seed_multipart/two_parts"
printf '\x0b\x83B0u-preamble\r\n--B0u- \t\r\nContent-Disposition: form-data; name=q\r\n\r\n--B0\r\n--B0u---' >"$seed_multipart/padding_small_limit"
# fuzz_pg_values: byte 0 picks the type read as (see the target), then the value's bytes.
printf '\x0d\x00\x02\x8e\x5f\x5b\x2b\x98\x40' >"$seed_pg/timestamptz"
printf '\x08\x00\x03\x00\x01\x40\x00\x00\x04\x00\x0c\x04\xd2\x16\x2e' >"$seed_pg/numeric"
printf '\x12\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x17\x00\x00\x00\x02\x00\x00\x00\x01\x00\x00\x00\x04\x00\x00\x00\x07\xff\xff\xff\xff' >"$seed_pg/int4_array"
# fuzz_ws_extensions: bytes 0 and 1 set the server's and the client's
# deflate options, then Sec-WebSocket-Extensions values, one per line.
printf '\x0d\x62permessage-deflate; client_max_window_bits; server_max_window_bits=10\nx-webkit, permessage-deflate; client_no_context_takeover' >"$seed_extensions/offers"
printf '\x03\xe0permessage-deflate; server_no_context_takeover; client_max_window_bits="12"' >"$seed_extensions/answer"
# fuzz_timer_heap: two bytes an operation over timers 0-63 (byte 0's top two
# bits: arm near, arm far, cancel, pop; its low six the timer; byte 1 the
# deadline, or 255 with pop: clear).
printf '\x00\x05\x01\x05\x02\x03\x43\x01\x81\x00\xc0\x00\xc0\x00\x03\x07\xc0\xff' >"$seed_timers/arm_cancel_pop_clear"

status=0
for fuzzer in "${fuzzers[@]}"; do
    echo "== $fuzzer for ${seconds}s"
    if ! "$build/tests/fuzz/$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
            -print_final_stats=1 -artifact_prefix="$build/artifacts/" "$build/corpus/$fuzzer"; then
        echo "== $fuzzer FAILED (reproducer in $build/artifacts)" >&2
        status=1
    fi
done
exit $status
