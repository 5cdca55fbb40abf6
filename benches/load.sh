#!/usr/bin/env bash
# Load, cold-start and memory figures for the mock IdP's token endpoint.
#
# What it does (see benches/README.md for the results):
#   1. `cargo build --release`.
#   2. Installs `wrk` from Debian if it is missing (apt-get update once, then
#      apt-get install -y wrk; needs root or sudo).
#   3. Cold start: COLD_RUNS times, records the time (EPOCHREALTIME, in ns),
#      spawns `standin idp` on a free loopback port and loops a
#      client_credentials token request with curl until it answers 200;
#      prints each elapsed time and the median. The same is measured with a
#      small Python loop (no process spawn per attempt) when python3 exists,
#      and the cost of one curl request against a warm server is printed, so
#      the curl figure can be read with its own overhead in mind.
#   4. Memory: VmRSS of the idle server after start and after one token
#      (and after the load runs: the IdP keeps a record of each token, up to
#      its ceiling of --max-records; see benches/soak.sh for long runs).
#   5. Load: POST /token, grant_type=client_credentials with HTTP Basic, for
#      an RS256 JWT client (demo-service), an ES256 JWT client and an opaque
#      token client (the last two from a temporary copy of
#      fixtures/brand.toml). wrk with THREADS threads, CONNECTIONS
#      connections, DURATION. Prints requests/second, checks that wrk saw no
#      status >= 400 and no socket errors and that the server minted one
#      token per completed request (via /admin/store), and measures the
#      server's CPU time (/proc/PID/stat utime+stime) and wrk's (bash
#      `time`), since wrk and the server share the machine's cores.
#   6. Compares with the single-core criterion figures of
#      `cargo bench --bench signing` if they are in target/criterion (run it
#      first; RUN_CRITERION=1 makes this script run the RS256 ones).
#
# Only loopback addresses are used. Only processes this script started are
# stopped, by pid.
#
# Usage: benches/load.sh
# Environment: DURATION (10s), THREADS (2), CONNECTIONS (64), COLD_RUNS (10),
#              WARMUP (2s, a wrk run before each measured one),
#              RUN_CRITERION (0), SKIP_BUILD (0), STANDIN_BIN (a binary to
#              measure instead of building; e.g. one built with
#              AWS_LC_SYS_NO_JITTER_ENTROPY=1 in another target dir).

set -euo pipefail

DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
COLD_RUNS=${COLD_RUNS:-10}
WARMUP=${WARMUP:-2s}
RUN_CRITERION=${RUN_CRITERION:-0}
SKIP_BUILD=${SKIP_BUILD:-0}
HOST=127.0.0.1

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

log() { printf '%s\n' "$*"; }
die() { printf 'load.sh: %s\n' "$*" >&2; exit 1; }

# --- build -------------------------------------------------------------------

TARGET_DIR=$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
[ -n "$TARGET_DIR" ] || TARGET_DIR="$ROOT/target"
BIN=${STANDIN_BIN:-"$TARGET_DIR/release/standin"}
if [ "$SKIP_BUILD" != 1 ] && [ -z "${STANDIN_BIN:-}" ]; then
    log "== cargo build --release"
    cargo build --release
fi
[ -x "$BIN" ] || die "no release binary at $BIN"

# --- tools -------------------------------------------------------------------

command -v curl >/dev/null || die "curl is required"
if ! command -v wrk >/dev/null; then
    log "== installing wrk (Debian package)"
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update
    $SUDO apt-get install -y wrk
fi
PY=$(command -v python3 || true)

# --- process bookkeeping -------------------------------------------------------

WORK=$(mktemp -d)
SERVER_PID=""
stop_server() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}
cleanup() {
    stop_server
    rm -rf "$WORK"
}
trap cleanup EXIT

# A free loopback port: bind port 0, read what the kernel chose, release it.
free_port() {
    if [ -n "$PY" ]; then
        "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
    else
        local p
        while :; do
            p=$((20000 + RANDOM % 40000))
            (exec 3<>"/dev/tcp/$HOST/$p") 2>/dev/null || { echo "$p"; return; }
        done
    fi
}

now_ns() {
    # EPOCHREALTIME (bash 5) has microseconds and needs no fork.
    local t=${EPOCHREALTIME/[.,]/}
    echo $((t * 1000))
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# utime + stime of a process, in clock ticks.
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
CLK_TCK=$(getconf CLK_TCK)

basic() { printf '%s' "$1:$2" | base64 | tr -d '\n'; }

# start_server FIXTURES_ARGS...: starts on a free port, sets SERVER_PID and BASE.
start_server() {
    local port
    port=$(free_port)
    "$BIN" idp --host "$HOST" --port "$port" "$@" >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    BASE="http://$HOST:$port"
    # Readiness: poll discovery (no fixed sleep; the pause only paces the poll).
    local i
    for i in $(seq 1 3000); do
        if curl -sf -o /dev/null "$BASE/.well-known/openid-configuration"; then
            return 0
        fi
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; die "the server exited"; }
        sleep 0.01
    done
    die "the server did not become ready at $BASE"
}

token_status() { # BASE ID SECRET
    curl -s -o /dev/null -w '%{http_code}' --max-time 2 -u "$2:$3" \
        -d grant_type=client_credentials "$1/token" || true
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

log "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
log "== binary:  $BIN"
log "== date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"

# --- cold start ----------------------------------------------------------------

log ""
log "== cold start: spawn to first 200 from POST /token (client_credentials), $COLD_RUNS runs"
cold_curl=()
for run in $(seq 1 "$COLD_RUNS"); do
    port=$(free_port)
    t0=$(now_ns)
    "$BIN" idp --host "$HOST" --port "$port" >/dev/null 2>&1 &
    SERVER_PID=$!
    attempts=0
    while :; do
        attempts=$((attempts + 1))
        [ "$(token_status "http://$HOST:$port" demo-service demo-service-secret)" = 200 ] && break
        kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited during the cold start run"
        [ "$attempts" -lt 5000 ] || die "no token after $attempts attempts"
    done
    t1=$(now_ns)
    stop_server
    ms=$(awk -v d=$((t1 - t0)) 'BEGIN {printf "%.2f", d / 1e6}')
    cold_curl+=("$ms")
    log "  run $run (curl loop): ${ms} ms ($attempts requests)"
done
COLD_CURL_MEDIAN=$(printf '%s\n' "${cold_curl[@]}" | median)
log "  median (curl loop): ${COLD_CURL_MEDIAN} ms"

COLD_PY_MEDIAN="n/a"
if [ -n "$PY" ]; then
    cat >"$WORK/cold.py" <<'EOF'
# Spawn the binary and loop a raw HTTP/1.1 token request until 200; prints ms.
import socket, subprocess, sys, time
binary, port = sys.argv[1], int(sys.argv[2])
request = (
    "POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    "Authorization: Basic ZGVtby1zZXJ2aWNlOmRlbW8tc2VydmljZS1zZWNyZXQ=\r\n"
    "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 29\r\n\r\n"
    "grant_type=client_credentials"
).encode()
t0 = time.time_ns()
p = subprocess.Popen([binary, "idp", "--host", "127.0.0.1", "--port", str(port)],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.sendall(request)
                status = s.recv(12)
                if status.startswith(b"HTTP/1.1 200"):
                    break
        except OSError:
            pass
        if p.poll() is not None:
            sys.exit("the server exited")
    print("%.2f" % ((time.time_ns() - t0) / 1e6))
finally:
    p.terminate()
    p.wait()
EOF
    cold_py=()
    for run in $(seq 1 "$COLD_RUNS"); do
        ms=$("$PY" "$WORK/cold.py" "$BIN" "$(free_port)")
        cold_py+=("$ms")
    done
    COLD_PY_MEDIAN=$(printf '%s\n' "${cold_py[@]}" | median)
    log "  python socket loop: ${cold_py[*]} ms; median ${COLD_PY_MEDIAN} ms"
fi

# --- fixtures with the extra bench clients ---------------------------------------

FIXTURES="$WORK/brand-bench.toml"
cp fixtures/brand.toml "$FIXTURES"
cat >>"$FIXTURES" <<'EOF'

# Added by benches/load.sh.
[[clients]]
id = "bench-es256"
name = "Bench ES256"
secret = "bench-es256-secret"
grant_types = ["client_credentials"]
scopes = ["orders:read", "payments:write", "delegated.token.read.external"]
access_token_ttl_secs = 600
signing_alg = "ES256"

[[clients]]
id = "bench-opaque"
name = "Bench opaque"
secret = "bench-opaque-secret"
grant_types = ["client_credentials"]
scopes = ["orders:read", "payments:write", "delegated.token.read.external"]
access_token_ttl_secs = 600
access_token_format = "opaque"
EOF

# --- memory ------------------------------------------------------------------------

log ""
log "== memory (VmRSS of the release server, bench fixtures)"
start_server --fixtures "$FIXTURES"
RSS_START=$(rss_kb "$SERVER_PID")
[ "$(token_status "$BASE" demo-service demo-service-secret)" = 200 ] || die "token request failed"
RSS_ONE=$(rss_kb "$SERVER_PID")
log "  after start:     ${RSS_START} kB"
log "  after one token: ${RSS_ONE} kB"

# Cost of one curl request against the warm server (the cold start loop pays it too).
t0=$(now_ns)
for _ in 1 2 3 4 5 6 7 8 9 10; do token_status "$BASE" demo-service demo-service-secret >/dev/null; done
t1=$(now_ns)
CURL_WARM=$(awk -v d=$((t1 - t0)) 'BEGIN {printf "%.2f", d / 10 / 1e6}')
log "  (one curl token request against the warm server: ${CURL_WARM} ms)"

# --- load ----------------------------------------------------------------------------

log ""
log "== load: wrk -t$THREADS -c$CONNECTIONS -d$DURATION (after a $WARMUP warm-up), POST /token client_credentials"

declare -A RPS CPU_SERVER CPU_WRK PER_CORE_S BUSY
run_load() { # LABEL CLIENT SECRET
    local label=$1 client=$2 secret=$3 lua="$WORK/$2.lua"
    cat >"$lua" <<EOF
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $(basic "$client" "$secret")"
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK requests=%d duration_us=%d status_errors=%d connect=%d read=%d write=%d timeout=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
EOF
    curl -sf -o /dev/null -X POST "$BASE/admin/reset" || die "admin reset failed"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -s "$lua" "$BASE/token" >/dev/null
    curl -sf -o /dev/null -X POST "$BASE/admin/reset" || die "admin reset failed"

    local c0 c1 s0 s1 out wrk_cpu rss_before
    rss_before=$(rss_kb "$SERVER_PID")
    c0=$(cpu_ticks "$SERVER_PID")
    s0=$(awk '/^cpu / {print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6}' /proc/stat)
    out=$(
        TIMEFORMAT='WRKCPU %U %S'
        { time wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s "$lua" "$BASE/token"; } 2>&1
    )
    c1=$(cpu_ticks "$SERVER_PID")
    s1=$(awk '/^cpu / {print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6}' /proc/stat)
    # Before the store is read.
    local rss_after
    rss_after=$(rss_kb "$SERVER_PID")

    local line requests duration status sockerr p50 p99
    line=$(grep '^WRK ' <<<"$out") || { printf '%s\n' "$out"; die "no wrk summary"; }
    requests=$(sed 's/.*requests=\([0-9]*\).*/\1/' <<<"$line")
    duration=$(sed 's/.*duration_us=\([0-9]*\).*/\1/' <<<"$line")
    status=$(sed 's/.*status_errors=\([0-9]*\).*/\1/' <<<"$line")
    sockerr=$(awk '{for (i = 1; i <= NF; i++) if ($i ~ /^(connect|read|write|timeout)=/) {split($i, a, "="); s += a[2]}} END {print s + 0}' <<<"$line")
    p50=$(sed 's/.*p50_us=\([0-9]*\).*/\1/' <<<"$line")
    p99=$(sed 's/.*p99_us=\([0-9]*\).*/\1/' <<<"$line")
    wrk_cpu=$(awk '/^WRKCPU/ {printf "%.2f", $2 + $3}' <<<"$out")

    # Server side: one access token record per completed request (or more:
    # requests in flight when wrk stopped).
    local minted
    minted=$(curl -sf "$BASE/admin/store" | grep -o '"access_tokens_issued":[0-9]*' | cut -d: -f2)

    local rps server_cpu busy per_core
    rps=$(awk -v n="$requests" -v d="$duration" 'BEGIN {printf "%.0f", n / (d / 1e6)}')
    server_cpu=$(awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", t / hz}')
    per_core=$(awk -v n="$requests" -v s="$server_cpu" 'BEGIN {printf "%.0f", (s > 0 ? n / s : 0)}')
    busy=$(awk -v a="$s0" -v b="$s1" 'BEGIN {split(a, x, " "); split(b, y, " "); t = y[1] - x[1]; i = y[2] - x[2]; printf "%.0f", (t > 0 ? 100 * (t - i) / t : 0)}')

    log "  $label ($client): $rps req/s; $requests requests in $((duration / 1000)) ms; latency p50 $((p50 / 1000)).$(((p50 % 1000) / 100)) ms, p99 $((p99 / 1000)).$(((p99 % 1000) / 100)) ms"
    log "    status >= 400: $status; socket errors: $sockerr; tokens minted server side: $minted"
    log "    CPU: server ${server_cpu} s, wrk ${wrk_cpu} s over the run; machine busy ${busy}%; ${per_core} tokens per server CPU second"
    log "    VmRSS: ${rss_before} kB before the run, ${rss_after} kB after it ($minted token records kept, ~$(((rss_after - rss_before) * 1024 / (minted > 0 ? minted : 1))) bytes each)"
    [ "$status" = 0 ] || die "$label: $status responses with status >= 400"
    [ "$sockerr" = 0 ] || die "$label: $sockerr socket errors"
    [ "$minted" -ge "$requests" ] || die "$label: $requests responses but only $minted tokens minted"
    RPS[$label]=$rps
    CPU_SERVER[$label]=$server_cpu
    CPU_WRK[$label]=$wrk_cpu
    PER_CORE_S[$label]=$per_core
    BUSY[$label]=$busy
}

run_load "RS256 JWT" demo-service demo-service-secret
run_load "ES256 JWT" bench-es256 bench-es256-secret
run_load "opaque" bench-opaque bench-opaque-secret

# The store keeps the token records until reset (or its ceiling); freed memory is not all
# returned to the system.
RSS_LOADED=$(rss_kb "$SERVER_PID")
curl -sf -o /dev/null -X POST "$BASE/admin/reset"
RSS_RESET=$(rss_kb "$SERVER_PID")
log "  VmRSS at the end: ${RSS_LOADED} kB; after /admin/reset: ${RSS_RESET} kB"
stop_server

# --- comparison with criterion ------------------------------------------------------

log ""
log "== comparison with the single-core criterion figures"
if [ "$RUN_CRITERION" = 1 ]; then
    cargo bench --bench signing -- '^(raw|jwt)/RS256$'
fi
estimate_ns() { # criterion id, e.g. raw/RS256 -> ns per iteration, as criterion prints it
    local f="$TARGET_DIR/criterion/$1/new/estimates.json" kind v
    [ -f "$f" ] || return 0
    for kind in slope mean; do
        v=$(grep -o "\"$kind\":{\"confidence_interval\":{[^}]*},\"point_estimate\":[0-9.e+-]*" "$f" |
            sed 's/.*"point_estimate"://' || true)
        [ -z "$v" ] || { echo "$v"; return 0; }
    done
}
RAW_NS=$(estimate_ns raw/RS256)
JWT_NS=$(estimate_ns jwt/RS256)
if [ -n "$RAW_NS" ]; then
    awk -v raw="$RAW_NS" -v jwt="${JWT_NS:-0}" -v cores="$(nproc)" \
        -v rps="${RPS[RS256 JWT]}" -v percore="${PER_CORE_S[RS256 JWT]}" 'BEGIN {
        single = 1e9 / raw
        printf "  raw RS256 signature, one core:   %.0f/s (%.1f us)\n", single, raw / 1000
        if (jwt > 0) printf "  sign_jwt RS256, one core:        %.0f/s (%.1f us)\n", 1e9 / jwt, jwt / 1000
        printf "  raw RS256, %d cores (%d x):       %.0f/s\n", cores, cores, cores * single
        printf "  token endpoint RS256:            %.0f req/s = %.1f%% of the raw %d-core rate\n", rps, 100 * rps / (cores * single), cores
        printf "  per server CPU second:           %.0f tokens = %.1f%% of the raw one-core rate\n", percore, 100 * percore / single
    }'
else
    log "  no criterion estimates in $TARGET_DIR/criterion: run 'cargo bench --bench signing' first (or RUN_CRITERION=1)"
fi

log ""
log "== summary"
log "  cold start to first token, median of $COLD_RUNS: ${COLD_CURL_MEDIAN} ms (curl loop), ${COLD_PY_MEDIAN} ms (python socket loop)"
log "  VmRSS idle: ${RSS_START} kB after start, ${RSS_ONE} kB after one token"
for label in "RS256 JWT" "ES256 JWT" "opaque"; do
    log "  $label: ${RPS[$label]} req/s (server CPU ${CPU_SERVER[$label]} s, wrk CPU ${CPU_WRK[$label]} s, machine busy ${BUSY[$label]}%, ${PER_CORE_S[$label]} tokens per server CPU second)"
done
