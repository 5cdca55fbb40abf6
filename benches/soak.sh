#!/usr/bin/env bash
# Soak: resident memory of the mock IdP (and of the brand API and the
# platform) under a long, steady load, sampled every INTERVAL seconds and
# written as a table and an SVG chart into benches/soak/.
#
#   benches/soak.sh idp     opaque client-credentials tokens at full rate
#                           (wrk, CONNECTIONS connections) against
#                           `standin idp`, for DURATION seconds
#   benches/soak.sh flows   whole consumer-delegation flows at RATE per
#                           second (examples/soak_flows.rs: conversation,
#                           link, login, consent, callback, code exchange,
#                           brand API call, answer, close) against
#                           `standin idp`, `standin brand-api` and
#                           `standin platform`, each its own process
#   benches/soak.sh both    one, then the other
#   benches/soak.sh charts  redraw the .md and .svg files from the .tsv
#                           files in OUT
#
# Bounded: each run stops by itself after DURATION; loopback addresses
# only; only the processes this script started are stopped, by pid. The
# samples read VmRSS from /proc/PID/status, and the IdP's /admin/store
# (records held, counters) and the machine's load average at the same
# moments.
#
# Writes benches/soak/{idp,flows}.tsv (every sample), .md (one row a
# minute), .svg (the memory curve) and .log (the load generator's output).
#
# Environment:
#   DURATION (600), INTERVAL (10), OUT (benches/soak), SKIP_BUILD (0),
#   TAG (appended to the file names: idp$TAG.tsv ...)
#   idp:   CONNECTIONS (16), THREADS (2), TTL (10: lifetime of the soak
#          client's tokens, seconds), MAX_RECORDS, RETAIN (the IdP's
#          --max-records and --retain-expired-secs; unset: its defaults)
#   flows: RATE (50 flows/s), IN_FLIGHT (200), SESSION_TTL (300: the IdP's
#          login sessions), REFRESH_TTL (300: the bot's refresh tokens),
#          RETAIN_FLOWS (60: the IdP's retention of expired records)
#
# The flows run uses lifetimes of minutes (not the fixtures' hours) so that
# the steady state shows within the run; see benches/README.md.

set -euo pipefail

MODE=${1:-}
case "$MODE" in
idp | flows | both | charts) ;;
*)
    echo "usage: benches/soak.sh idp|flows|both|charts" >&2
    exit 2
    ;;
esac

DURATION=${DURATION:-600}
INTERVAL=${INTERVAL:-10}
SKIP_BUILD=${SKIP_BUILD:-0}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-2}
TTL=${TTL:-10}
RATE=${RATE:-50}
IN_FLIGHT=${IN_FLIGHT:-200}
SESSION_TTL=${SESSION_TTL:-300}
REFRESH_TTL=${REFRESH_TTL:-300}
RETAIN_FLOWS=${RETAIN_FLOWS:-60}
HOST=127.0.0.1
TAG=${TAG:-}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
OUT=${OUT:-"$ROOT/benches/soak"}
mkdir -p "$OUT"

log() { printf '%s\n' "$*"; }
die() {
    printf 'soak.sh: %s\n' "$*" >&2
    exit 1
}

IDP_TITLE="standin idp, opaque client credentials at full rate: VmRSS"
FLOWS_TITLE="Whole delegation flows at a steady rate: VmRSS of each party"

# --- build and tools -----------------------------------------------------------

if [ "$MODE" = charts ]; then
    CHARTS_ONLY=1
else
    CHARTS_ONLY=0
fi

TARGET_DIR=$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
[ -n "$TARGET_DIR" ] || TARGET_DIR="$ROOT/target"
BIN="$TARGET_DIR/release/standin"
DRIVER="$TARGET_DIR/release/examples/soak_flows"
if [ "$SKIP_BUILD" != 1 ] && [ "$CHARTS_ONLY" = 0 ]; then
    log "== cargo build --release"
    cargo build --release --bin standin --example soak_flows
fi
[ "$CHARTS_ONLY" = 1 ] || [ -x "$BIN" ] || die "no release binary at $BIN"
command -v curl >/dev/null || die "curl is required"
if { [ "$MODE" = idp ] || [ "$MODE" = both ]; } && ! command -v wrk >/dev/null; then
    log "== installing wrk (Debian package)"
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get install -y wrk || { $SUDO apt-get update && $SUDO apt-get install -y wrk; }
fi

# --- process bookkeeping -----------------------------------------------------------

WORK=$(mktemp -d)
PIDS=()
stop_all() {
    local pid
    for pid in "${PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    PIDS=()
}
cleanup() {
    stop_all
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    if command -v python3 >/dev/null; then
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
    else
        local p
        while :; do
            p=$((20000 + RANDOM % 40000))
            (exec 3<>"/dev/tcp/$HOST/$p") 2>/dev/null || {
                echo "$p"
                return
            }
        done
    fi
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# wait_for URL PID: poll until URL answers at all (the pause only paces the poll).
wait_for() {
    local i
    for i in $(seq 1 3000); do
        if [ "$(curl -s -o /dev/null -w '%{http_code}' "$1" || true)" != 000 ]; then
            return 0
        fi
        kill -0 "$2" 2>/dev/null || die "a server exited before answering $1 (logs in $WORK)"
        sleep 0.01
    done
    die "no answer from $1"
}

# A number from the IdP's /admin/store.
store_field() { grep -o "\"$2\":[0-9]*" <<<"$1" | cut -d: -f2 || echo 0; }

now_s() {
    local t=${EPOCHREALTIME/[.,]/}
    echo $((t / 1000000))
}

# sample_loop START LOADPID CALLBACK: call CALLBACK ELAPSED every INTERVAL
# seconds of wall time from START until LOADPID exits (and once after).
sample_loop() {
    local start=$1 load=$2 cb=$3 next elapsed last=-1
    next=$start
    while kill -0 "$load" 2>/dev/null; do
        elapsed=$(($(now_s) - start))
        "$cb" "$elapsed"
        last=$elapsed
        next=$((next + INTERVAL))
        while [ "$(now_s)" -lt "$next" ] && kill -0 "$load" 2>/dev/null; do
            sleep 0.2
        done
    done
    elapsed=$(($(now_s) - start))
    [ "$elapsed" = "$last" ] || "$cb" "$elapsed"
}

# --- table and chart -------------------------------------------------------------

# markdown TSV: one row a minute (and the last), memory in MB.
markdown() {
    awk -F'\t' -v every=60 '
        NR == 1 { n = NF; for (i = 1; i <= NF; i++) h[i] = $i; next }
        { rows[NR] = $0; t[NR] = $1 }
        END {
            line = "|"; sep = "|"
            for (i = 1; i <= n; i++) { line = line " " h[i] " |"; sep = sep "---|" }
            print line; print sep
            last = -every
            for (r = 2; r <= NR; r++) {
                if (t[r] - last >= every || r == NR) {
                    split(rows[r], f, "\t"); line = "|"
                    for (i = 1; i <= n; i++) line = line " " f[i] " |"
                    print line; last = t[r]
                }
            }
        }' "$1"
}

# svg TSV TITLE COLUMN...: the named columns (kB) as lines in MB over time.
svg() {
    local tsv=$1 title=$2
    shift 2
    awk -F'\t' -v title="$title" -v cols="$*" '
        BEGIN {
            W = 760; H = 380; L = 70; R = 150; T = 40; B = 50
            ncol = split(cols, want, " ")
            split("#1f77b4 #d62728 #2ca02c #9467bd #ff7f0e", colour, " ")
        }
        NR == 1 { for (i = 1; i <= NF; i++) idx[$i] = i; next }
        {
            n++; x[n] = $1
            for (c = 1; c <= ncol; c++) {
                v = $(idx[want[c]]) / 1024; y[c, n] = v
                if (v > ymax) ymax = v
            }
            if ($1 > xmax) xmax = $1
        }
        END {
            if (xmax <= 0) xmax = 1
            # Four or five grid lines: a step of 1, 2 or 5 times a power of ten.
            if (ymax <= 0) ymax = 1
            p = 10 ^ int(log(ymax) / log(10)); if (p > ymax) p /= 10
            r = ymax / p
            step = (r < 2.5) ? p / 2 : ((r < 5) ? p : 2 * p)
            top = step * (int(ymax / step) + 1)
            pw = W - L - R; ph = H - T - B
            printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H, W, H
            printf "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", W, H
            printf "<text x=\"%d\" y=\"22\" font-size=\"14\">%s</text>\n", L, title
            for (v = 0; v <= top + step / 2; v += step) {
                py = T + ph - ph * v / top
                printf "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", L, py, L + pw, py
                printf "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g MB</text>\n", L - 6, py + 4, v
            }
            mstep = (xmax > 1200) ? 300 : 60
            for (s = 0; s <= xmax; s += mstep) {
                px = L + pw * s / xmax
                printf "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#eee\"/>\n", px, T, px, T + ph
                printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%d min</text>\n", px, T + ph + 18, s / 60
            }
            printf "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#999\"/>\n", L, T, pw, ph
            printf "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">time since the load started</text>\n", L + pw / 2, H - 8
            for (c = 1; c <= ncol; c++) {
                printf "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", colour[c]
                for (i = 1; i <= n; i++) printf "%.1f,%.1f ", L + pw * x[i] / xmax, T + ph - ph * y[c, i] / top
                printf "\"/>\n"
                printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"/>\n", L + pw + 12, T + 10 + 20 * c, L + pw + 32, T + 10 + 20 * c, colour[c]
                label = want[c]; sub(/_rss_kb$/, "", label)
                printf "<text x=\"%d\" y=\"%d\">%s</text>\n", L + pw + 38, T + 14 + 20 * c, label
            }
            print "</svg>"
        }' "$tsv"
}

machine() {
    log "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ {printf "%.1f GB", $2 / 1048576}' /proc/meminfo)"
    log "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    log "binary:  $BIN"
}

# --- idp: opaque client credentials at full rate -----------------------------------

soak_idp() {
    local fixtures="$WORK/brand-soak.toml" port base lua tsv="$OUT/idp$TAG.tsv"
    cp fixtures/brand.toml "$fixtures"
    cat >>"$fixtures" <<EOF

# Added by benches/soak.sh.
[[clients]]
id = "soak-opaque"
name = "Soak opaque"
secret = "soak-opaque-secret"
grant_types = ["client_credentials"]
scopes = ["orders:read"]
access_token_ttl_secs = $TTL
access_token_format = "opaque"
EOF
    port=$(free_port)
    args=(idp --host "$HOST" --port "$port" --fixtures "$fixtures")
    [ -z "${MAX_RECORDS:-}" ] || args+=(--max-records "$MAX_RECORDS")
    [ -z "${RETAIN:-}" ] || args+=(--retain-expired-secs "$RETAIN")
    "$BIN" "${args[@]}" >"$WORK/idp.log" 2>&1 &
    local idp=$!
    PIDS+=("$idp")
    base="http://$HOST:$port"
    wait_for "$base/.well-known/openid-configuration" "$idp"

    lua="$WORK/soak.lua"
    cat >"$lua" <<EOF
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $(printf '%s' soak-opaque:soak-opaque-secret | base64 | tr -d '\n')"
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK requests=%d duration_us=%d non_2xx=%d connect=%d read=%d write=%d timeout=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
EOF
    log ""
    log "== soak idp: opaque client credentials at full rate, wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, tokens of $TTL s"
    machine
    log "idp:     ${args[*]}"
    printf 't_s\tidp_rss_kb\trecords\taccess_tokens_issued\texpired_forgotten\tlive_evicted\trefused\tload1\n' >"$tsv"
    IDP_BASE=$base
    IDP_PID=$idp
    local start
    start=$(now_s)
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 5s -s "$lua" "$base/token" >"$OUT/idp$TAG.log" 2>&1 &
    local load=$!
    PIDS+=("$load")
    sample_loop "$start" "$load" sample_idp
    wait "$load" || true
    cat "$OUT/idp$TAG.log"
    grep -q '^WRK ' "$OUT/idp$TAG.log" || die "wrk printed no summary"
    if grep -q 'token store full' "$WORK/idp.log"; then
        log "the IdP logged (first line):"
        grep -m1 'token store full' "$WORK/idp.log"
    fi
    stop_all
    markdown "$tsv" >"$OUT/idp$TAG.md"
    svg "$tsv" "$IDP_TITLE" idp_rss_kb >"$OUT/idp$TAG.svg"
    log "wrote $tsv, $OUT/idp$TAG.md, $OUT/idp$TAG.svg"
    cat "$OUT/idp$TAG.md"
}

sample_idp() {
    local store
    store=$(curl -s --max-time 5 "$IDP_BASE/admin/store" || true)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$(rss_kb "$IDP_PID")" \
        "$(store_field "$store" records)" "$(store_field "$store" access_tokens_issued)" \
        "$(store_field "$store" expired_forgotten)" "$(store_field "$store" live_evicted)" \
        "$(store_field "$store" refused)" "$(cut -d' ' -f1 /proc/loadavg)" >>"$OUT/idp$TAG.tsv"
}

# --- flows: whole delegation flows at a steady rate ---------------------------------

soak_flows() {
    [ -x "$DRIVER" ] || die "no driver at $DRIVER (cargo build --release --example soak_flows)"
    local idp_port api_port plat_port tsv="$OUT/flows$TAG.tsv"
    idp_port=$(free_port)
    api_port=$(free_port)
    plat_port=$(free_port)
    # The default brand and platform, on these ports, with lifetimes of minutes.
    sed -e "s/127\.0\.0\.1:8402/127.0.0.1:$plat_port/g" \
        -e "s/127\.0\.0\.1:8400/127.0.0.1:$idp_port/g" \
        -e "s/^session_ttl_secs = .*/session_ttl_secs = $SESSION_TTL/" \
        -e "s/^form_ttl_secs = .*/form_ttl_secs = 600\nretain_expired_secs = $RETAIN_FLOWS/" \
        -e "0,/^id_token_ttl_secs = 300/s//id_token_ttl_secs = 300\nrefresh_token_ttl_secs = $REFRESH_TTL/" \
        fixtures/brand.toml >"$WORK/brand-flows.toml"
    sed -e "s/127\.0\.0\.1:8400/127.0.0.1:$idp_port/g" \
        -e "s/127\.0\.0\.1:8401/127.0.0.1:$api_port/g" \
        -e "s/127\.0\.0\.1:8402/127.0.0.1:$plat_port/g" \
        fixtures/platform.toml >"$WORK/platform-flows.toml"

    "$BIN" idp --host "$HOST" --port "$idp_port" --fixtures "$WORK/brand-flows.toml" >"$WORK/idp.log" 2>&1 &
    IDP_PID=$!
    PIDS+=("$IDP_PID")
    IDP_BASE="http://$HOST:$idp_port"
    wait_for "$IDP_BASE/.well-known/openid-configuration" "$IDP_PID"
    "$BIN" brand-api --host "$HOST" --port "$api_port" --issuer "$IDP_BASE" >"$WORK/api.log" 2>&1 &
    API_PID=$!
    PIDS+=("$API_PID")
    wait_for "http://$HOST:$api_port/api/orders" "$API_PID"
    "$BIN" platform --host "$HOST" --port "$plat_port" --fixtures "$WORK/platform-flows.toml" --in-memory >"$WORK/platform.log" 2>&1 &
    PLAT_PID=$!
    PIDS+=("$PLAT_PID")
    wait_for "http://$HOST:$plat_port/chat" "$PLAT_PID"

    log ""
    log "== soak flows: $RATE delegation flows/s for ${DURATION} s"
    machine
    log "lifetimes: login sessions $SESSION_TTL s, refresh tokens $REFRESH_TTL s, expired records kept $RETAIN_FLOWS s (the IdP); conversations closed by each flow, readable 60 s after (the platform's default)"
    printf 't_s\tidp_rss_kb\tapi_rss_kb\tplatform_rss_kb\ttotal_rss_kb\tidp_records\tidp_sessions\tload1\n' >"$tsv"
    local start
    start=$(now_s)
    "$DRIVER" "http://$HOST:$plat_port" --rate "$RATE" --duration "$DURATION" --in-flight "$IN_FLIGHT" >"$OUT/flows$TAG.log" 2>&1 &
    local load=$!
    PIDS+=("$load")
    sample_loop "$start" "$load" sample_flows
    local status=0
    wait "$load" || status=$?
    tail -n 3 "$OUT/flows$TAG.log"
    stop_all
    markdown "$tsv" >"$OUT/flows$TAG.md"
    svg "$tsv" "$FLOWS_TITLE" idp_rss_kb api_rss_kb platform_rss_kb total_rss_kb >"$OUT/flows$TAG.svg"
    log "wrote $tsv, $OUT/flows$TAG.md, $OUT/flows$TAG.svg"
    cat "$OUT/flows$TAG.md"
    [ "$status" = 0 ] || die "some flows failed (see $OUT/flows.log)"
}

sample_flows() {
    local store idp api plat
    store=$(curl -s --max-time 5 "$IDP_BASE/admin/store" || true)
    idp=$(rss_kb "$IDP_PID")
    api=$(rss_kb "$API_PID")
    plat=$(rss_kb "$PLAT_PID")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$idp" "$api" "$plat" "$((idp + api + plat))" \
        "$(store_field "$store" records)" "$(store_field "$store" sessions)" \
        "$(cut -d' ' -f1 /proc/loadavg)" >>"$OUT/flows$TAG.tsv"
}

redraw() {
    local tsv name
    for tsv in "$OUT"/*.tsv; do
        name=$(basename "$tsv" .tsv)
        markdown "$tsv" >"$OUT/$name.md"
        case "$name" in
        idp*) svg "$tsv" "$IDP_TITLE" idp_rss_kb >"$OUT/$name.svg" ;;
        flows*) svg "$tsv" "$FLOWS_TITLE" idp_rss_kb api_rss_kb platform_rss_kb total_rss_kb >"$OUT/$name.svg" ;;
        esac
        log "redrew $OUT/$name.md, $OUT/$name.svg"
    done
}

case "$MODE" in
charts) redraw ;;
idp) soak_idp ;;
flows) soak_flows ;;
both)
    soak_idp
    soak_flows
    ;;
esac
