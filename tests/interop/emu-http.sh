#!/usr/bin/env bash
# The emulator's HTTP API and dashboard (--http, $.http), on 127.0.0.1 only:
# a device registered by Debian's coap-client (plain CoAP) and one by
# lwm2m-client-shim (reference layer, DTLS PSK); the dashboard loaded in
# headless Chromium lists both (DOM), a screenshot of it is not blank; a
# Read of /3/0 through POST /api/request answers with the decoded value,
# Observe answers with the first value, its notification comes as an event
# and Cancel ends it;
# the event stream (SSE) delivers the coap-client's register event; and the
# bad input: unknown paths 404, bad JSON 400 with where, wrong methods 405,
# huge bodies 413 with bounded memory, missing/wrong token 401, connections
# over the limit refused with an event, and an event-stream client that
# never reads dropped with the emulator's memory bounded. Pictures and the
# page go to results/emu-http/. Browser checks skip, saying why, when
# chromium is absent. TAP-style output; exit non-zero on failure.
# Checked to fail: with the bound in emu_http_sse.c enqueue() disabled, the
# slow reader is never dropped and the emulator's RSS grows by megabytes
# (both checks fail); with authorized() in emu_http.c always true, the two
# 401 checks fail.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
EMULATOR=${EMULATOR:-$BUILD/bin/lwm2m-emulator}
SHIM=${SHIM:-$BUILD/bin/lwm2m-client-shim}
KEY=000102030405060708090a0b0c0d0e0f
TOKEN=http-test-token-$$
work=$(mktemp -d)
keep=$top/results/emu-http
emu_pid= shim_pid= sse_pid=
n=0 failed=0
cleanup() {
	[ -n "$shim_pid" ] && kill "$shim_pid" 2>/dev/null
	[ -n "$sse_pid" ] && check "GET /api/recent has the events so far, oldest first" is 200 \
	'[.events[]|select(.event=="register")|.endpoint]==["cc-dev","dev1"]' "$(get /api/recent)"
kill "$sse_pid" 2>/dev/null
	[ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null && wait "$emu_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
check() { # check DESCRIPTION COMMAND...
	n=$((n + 1))
	if out=$("${@:2}" 2>&1); then echo "ok $n - $1"; else
		echo "not ok $n - $1"
		failed=$((failed + 1))
		[ -z "$out" ] || head -6 <<<"$out" | sed 's/^/# /'
	fi
}
for tool in "$EMULATOR" "$SHIM" jq curl coap-client-notls python3; do
	command -v "$tool" >/dev/null || { echo "not ok 1 - missing $tool (make all; make deps)"; exit 1; }
done

# The config file sets $.http (the key under test) with small bounds, so
# the limits are reached quickly; --http-token comes from the command line.
cat >"$work/emu.json" <<EOF
{"http": {"listen": "127.0.0.1:0", "max_clients": 6, "max_body": 4096, "sse_max_queue": 65536}}
EOF
"$EMULATOR" --config "$work/emu.json" --bind 127.0.0.1 --coap-port 0 --dtls-port 0 --tls-port off \
	--psk "dev1:$KEY" --cid 4 --http-token "$TOKEN" --events "$work/emu.ev" >"$work/emu.log" 2>&1 &
emu_pid=$!
port() { jq -r "select(.event==\"listening\" and .proto==\"$1\")|.addr" "$work/emu.ev" 2>/dev/null | sed 's/.*://' | head -1; }
for _ in $(seq 1 100); do
	HTTP=$(port http) COAP=$(port coap) DTLS=$(port dtls)
	[ -n "$HTTP" ] && [ -n "$COAP" ] && [ -n "$DTLS" ] && break
	sleep 0.05
done
[ -n "$HTTP" ] || { echo "not ok 1 - emulator did not start"; sed 's/^/# /' "$work/emu.log"; exit 1; }
URL=http://127.0.0.1:$HTTP
echo "# http $URL, coap $COAP, dtls $DTLS"

# get/post PATH [curl args]: prints "STATUS BODY"; bounded.
get() { local p=$1; shift; curl -s -m 10 -o "$work/body" -w '%{http_code}' "$@" "$URL$p"; echo " $(cat "$work/body")"; }
post() { local p=$1; shift; get "$p" -X POST -H "Authorization: Bearer $TOKEN" "$@"; }
# is STATUS JQ "STATUS BODY": the status matches and JQ holds on the body.
is() {
	local st=${3%% *} body=${3#* }
	[ "$st" = "$1" ] && jq -e "$2" >/dev/null <<<"$body" && return 0
	echo "expected $1 and $2, got: $3"
	return 1
}
# wait_event JQ: an emulator event matching JQ within 5 s.
wait_event() {
	for _ in $(seq 1 100); do
		[ -n "$(jq -c "select($1)" "$work/emu.ev" 2>/dev/null | head -1)" ] && return 0
		sleep 0.05
	done
	echo "no event matching $1"
	return 1
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$emu_pid/status"; }
# rss_bounded FROM TO MAX_KB: TO - FROM < MAX_KB; not checked under ASan,
# whose quarantine keeps freed memory resident by design.
asan=0
grep -q __asan_init "$EMULATOR" 2>/dev/null && asan=1
rss_bounded() {
	[ "$asan" = 1 ] && { echo "# (ASan build: RSS not checked)"; return 0; }
	test $(($2 - $1)) -lt "$3"
}

# --- The event stream first, so it sees the registrations.
curl -s -N -m 20 "$URL/api/events" >"$work/sse" 2>/dev/null &
sse_pid=$!
for _ in $(seq 1 100); do grep -q 'lwm2m-emulator events' "$work/sse" 2>/dev/null && break; sleep 0.05; done

# --- Two devices: coap-client over plain CoAP, the shim over DTLS PSK.
timeout 15 coap-client-notls -m post -B 5 -e '</1/0>,</3/0>' \
	"coap://127.0.0.1:$COAP/rd?ep=cc-dev&lt=300&lwm2m=1.1" >"$work/cc.out" 2>&1
check "coap-client registers cc-dev (plain CoAP)" wait_event '.event=="register" and .endpoint=="cc-dev"'
mkfifo "$work/in"
timeout 120 "$SHIM" <"$work/in" >"$work/shim.out" 2>"$work/shim.err" &
shim_pid=$!
exec 7>"$work/in"
printf '%s\n' '{"cmd":"configure","id":1,"config":{"server":"127.0.0.1:'"$DTLS"'","security":{"mode":"psk","identity":"dev1","key_hex":"'"$KEY"'"},"endpoint":"dev1","sni":"bringup.example","use_connection_id":true,"handshake_timeout_ms":{"min":200,"max":800}}}' \
	'{"cmd":"connect","id":2}' '{"cmd":"register","id":3}' >&7
check "the shim registers dev1 (DTLS PSK)" wait_event '.event=="register" and .endpoint=="dev1"'

# --- The API lists both, with their carrier sessions.
r=$(get /api/devices)
check "GET /api/devices lists cc-dev (coap) and dev1 (dtls, suite, SNI, CID, full handshake)" is 200 \
	'([.clients[]|select(.endpoint=="cc-dev" and .carrier.transport=="coap")]|length==1) and
	 ([.clients[]|select(.endpoint=="dev1" and .identity=="dev1" and .carrier.transport=="dtls" and
	   (.carrier.suite|test("PSK")) and .carrier.resumed==false and
	   .carrier.sni=="bringup.example" and (.carrier.own_cid|length)==8)]|length==1)' "$r"
check "GET /api/sessions lists two sessions" is 200 '.sessions|length==2' "$(get /api/sessions)"

# --- A Read through the API: the device's decoded answer in the reply.
r=$(post /api/request -d '{"endpoint":"dev1","method":"read","path":"/3/0"}')
check "POST /api/request read /3/0 of dev1: 200 with the decoded Manufacturer" is 200 \
	'.ok and .answer.event=="response_received" and .answer.code=="2.05" and
	 ((.answer.decoded|map({(.name):.value})|add)["/3/0/0"]=="lwm2m-harness")' "$r"
r=$(post /api/request -d '{"endpoint":"dev1","method":"read","path":"/3/0/0"}')
check "POST /api/request read /3/0/0: text value" is 200 '.answer.decoded=="lwm2m-harness"' "$r"
r=$(post /api/request -d '{"endpoint":"dev1","method":"observe","path":"/3/0/13"}')
check "POST /api/request observe /3/0/13: 200 with the first value" is 200 \
	'.answer.code=="2.05" and (.answer.decoded|tonumber) > 0' "$r"
obs=$(sed 's/^[0-9]* //' <<<"$r" | jq -r '.request // 0')
printf '%s\n' '{"cmd":"notify","id":4}' >&7 # the shim sends what its observers watch
check "... its notifications come as events" wait_event ".event==\"notify\" and .request==$obs"
r=$(post /api/request -d '{"endpoint":"dev1","method":"cancel","path":"/3/0/13","request":'"$obs"'}')
check "POST /api/request cancel of that observation: 200" is 200 '.answer.code=="2.05"' "$r"
# cc-dev's coap-client has exited: nobody answers its requests.
r=$(post '/api/request?timeout=1' -d '{"endpoint":"cc-dev","method":"read","path":"/3/0"}')
check "a request nobody answers: 504 after ?timeout=1, naming its id" is 504 \
	'.error=="timeout" and .request > 0' "$r"
r=$(post '/api/request?wait=0' -d '{"endpoint":"cc-dev","method":"read","path":"/1/0"}')
check "?wait=0: 200 at once with the request id" is 200 '.ok and .request > 0 and (has("answer")|not)' "$r"
check "a bad ?timeout: 400" is 400 '.error=="bad_request"' \
	"$(post '/api/request?timeout=999' -d '{"endpoint":"dev1","method":"read","path":"/3/0"}')"
r=$(post /api/request -d '{"endpoint":"nobody","method":"read","path":"/3/0"}')
check "a request to an unregistered endpoint: 404" is 404 '.error=="not_found" and (.message|test("not registered"))' "$r"

# --- The event stream delivered the register events as SSE data lines.
check "GET /api/events delivered cc-dev's register event (SSE)" \
	grep -q '^data: {.*"event":"register".*"endpoint":"cc-dev"' "$work/sse"
kill "$sse_pid" 2>/dev/null
wait "$sse_pid" 2>/dev/null
sse_pid=

# --- The dashboard in a real browser.
browser=$(command -v chromium || command -v chromium-browser || true)
browser() {
	timeout -k 5 60 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
		--user-data-dir="$work/profile" --virtual-time-budget=4000 "$@" 2>>"$work/browser.log"
}
if [ -z "$browser" ]; then
	n=$((n + 1))
	echo "ok $n - # SKIP chromium is not installed (make deps installs Debian's chromium; it could not be installed here)"
else
	mkdir -p "$keep"
	browser --dump-dom "$URL/?live=0" >"$work/dom.html"
	check "the dashboard's DOM lists cc-dev" grep -q '<tr data-endpoint="cc-dev"><td>cc-dev</td>' "$work/dom.html"
	check "the dashboard's DOM lists dev1 with its suite, SNI, CID, peer and handshake" \
		grep -q '<tr data-endpoint="dev1"><td>dev1</td><td>dev1</td><td>dtls</td><td>TLS-[A-Z0-9-]*PSK[^<]*</td><td>bringup.example</td><td>[0-9a-f]\{8\}</td><td>127.0.0.1:[0-9]*</td><td><span class="badge">full</span>' "$work/dom.html"
	check "the dashboard's DOM shows the events so far (dev1's register)" \
		grep -q '<span class="name">register</span><span> {[^<]*"endpoint":"dev1"' "$work/dom.html"
	cp "$work/dom.html" "$keep/dashboard.html"
	browser --window-size=1280,1000 --screenshot="$keep/dashboard.png" "$URL/?live=0&device=dev1" >/dev/null
	check "the dashboard screenshot is not blank" python3 - "$keep/dashboard.png" <<'EOF'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10000, "not a PNG or too small"
pos, idat = 8, b""
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    if kind == b"IDAT":
        idat += data[pos + 8:pos + 8 + length]
    pos += 12 + length
raw = zlib.decompress(idat)
assert len(set(raw)) > 32, "the picture is (nearly) one colour"
EOF
	echo "# dashboard: $keep/dashboard.html, screenshot: $keep/dashboard.png"
fi

# --- Bad input.
check "unknown API path: 404 JSON" is 404 '.error=="not_found"' "$(get /api/nope)"
check "unknown file: 404" is 404 '.error=="not_found"' "$(get /nope.html)"
check "GET on a POST route: 405 naming the method" is 405 '.error=="method_not_allowed" and .allow=="POST"' "$(get /api/request)"
check "DELETE /api/devices: 405" is 405 '.allow=="GET"' "$(get /api/devices -X DELETE)"
check "POST / (a dashboard file): 405" is 405 '.allow=="GET, HEAD"' "$(get / -X POST -d x)"
check "POST without the token: 401" is 401 '.error=="unauthorized"' \
	"$(get /api/faults/stop_answering -X POST -d '{}')"
check "POST with a wrong token: 401" is 401 '.error=="unauthorized"' \
	"$(get /api/faults/stop_answering -X POST -H 'Authorization: Bearer wrong' -d '{}')"
check "a read-only GET needs no token: 200" is 200 '.ok' "$(get /api/status)"
check "bad JSON: 400 with line, column and position" is 400 \
	'.error=="bad_json" and .path=="$" and .line==1 and .column>0 and .position>0' \
	"$(post /api/faults/drop -d '{"count": 3,')"
check "a wrong argument type: 400 with its JSON path" is 400 \
	'.error=="bad_request" and .path=="$.count"' "$(post /api/faults/drop -d '{"count":"three"}')"
check "an unknown argument: 400 with its JSON path" is 400 \
	'.path=="$.bogus"' "$(post /api/faults/drop -d '{"bogus":1}')"
check "a body that is not an object: 400" is 400 '.path=="$"' "$(post /api/faults/drop -d '[1]')"
rss0=$(rss_kb)
head -c 8000000 /dev/zero >"$work/big"
check "a declared 8 MB body: 413 before reading it" is 413 '.error=="payload_too_large"' \
	"$(post /api/faults/drop --data-binary @"$work/big")"
check "a chunked 8 MB body: 413, discarded as it comes" is 413 '.error=="payload_too_large"' \
	"$(post /api/faults/drop -H 'Transfer-Encoding: chunked' --data-binary @"$work/big")"
rss1=$(rss_kb)
check "the emulator's memory stayed bounded (RSS $rss0 -> $rss1 kB)" rss_bounded "$rss0" "$rss1" 4000

# An event-stream client that never reads (tiny receive buffer): the
# emulator's queue for it passes sse_max_queue and it is dropped, while a
# flood of malformed datagrams makes events.
python3 - "$HTTP" "$COAP" >"$work/slow.out" 2>&1 <<'EOF' &
import socket, sys, time
http, coap = int(sys.argv[1]), int(sys.argv[2])
c = socket.socket()
c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
c.connect(("127.0.0.1", http))
c.sendall(b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(60000):
    u.sendto(b"\xff\xff", ("127.0.0.1", coap))
    if i % 250 == 0:
        time.sleep(0.005)
time.sleep(0.5)
print("blasted", flush=True)
time.sleep(3)  # still connected and not reading while the emulator's RSS is read
EOF
slow=$!
for _ in $(seq 1 400); do grep -q blasted "$work/slow.out" && break; sleep 0.05; done
rss2=$(rss_kb)
check "an SSE client that never reads is dropped (http_client_dropped)" \
	wait_event '.event=="http_client_dropped" and .sse_max_queue==65536'
wait "$slow"
echo "# $(grep -c '"reason":"malformed_coap"' "$work/emu.ev") malformed datagrams evented"
check "the emulator's memory stayed bounded while it did not read (RSS $rss1 -> $rss2 kB)" \
	rss_bounded "$rss1" "$rss2" 3000

# Connections over $.http.max_clients (6): refused with an event; the API
# answers again once they close.
python3 - "$HTTP" >"$work/limit.out" 2>&1 <<'EOF'
import socket, sys, time
port = int(sys.argv[1])
held = []
for i in range(6):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    held.append(s)
    time.sleep(0.05)
extra = socket.create_connection(("127.0.0.1", port), timeout=5)
extra.sendall(b"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
try:
    got = extra.recv(100)
except OSError:
    got = b""
print("extra got", len(got), "bytes")
sys.exit(0 if got == b"" else 1)
EOF
check "a connection over max_clients is refused (no answer)" test $? -eq 0
check "... and evented (http_connection_limit)" wait_event '.event=="http_connection_limit" and .limit==6'
check "the API answers again once they closed" is 200 '.ok' "$(get /api/status)"

echo '{"cmd":"quit","id":99}' >&7
exec 7>&-
kill "$emu_pid" 2>/dev/null
wait "$emu_pid" 2>/dev/null
status=$?
emu_pid=
check "the emulator exits cleanly on SIGTERM" test "$status" -eq 0
[ "$failed" -eq 0 ] || tail -5 "$work/emu.log" | sed 's/^/# emulator: /'
exit $((failed > 0))
