#!/usr/bin/env bash
# Browser tests of the dashboard: Debian's Chromium + playwright-core, against a real
# `liza serve` on a temporary SQLite database with seeded calls. Exits non-zero on failure.
# Screenshots (1280 px and 375 px) land in test-artifacts/.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

if ! command -v chromium >/dev/null 2>&1; then
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
fi
(cd e2e && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)

cargo build --quiet --bin liza
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/liza"

WORK="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
export DATABASE_URL="sqlite://$WORK/liza.db"
export LIZA_BIND="127.0.0.1:$PORT"
export LIZA_INSECURE_DEV=1
export LIZA_ADMIN_PASSWORD="browser-test-$(date +%s)"
export LIZA_FLOWS="$ROOT/flows" LIZA_LOCALES="$ROOT/locales"
export RUST_LOG="${RUST_LOG:-warn}"

SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN" dev seed --calls 2000 --days 60 >/dev/null
"$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
    if curl -fsS "$BASE/health" >/dev/null 2>&1; then break; fi
    sleep 0.1
done
curl -fsS "$BASE/health" >/dev/null || { cat "$WORK/server.log"; exit 1; }

# Plays a call through the real webhooks: voice, then each keypad answer, following
# the <Gather action="…"> URL of every answer.
place_call() {
    local sid="$1" from="$2"; shift 2
    local twiml action
    twiml="$(curl -fsS "$BASE/webhook/voice" --data-urlencode "CallSid=$sid" \
        --data-urlencode "From=$from" --data-urlencode "To=+4930123456")"
    for digits in "$@"; do
        action="$(printf '%s' "$twiml" | grep -o 'action="[^"]*"' | head -n1 | sed -e 's/^action="//' -e 's/"$//' -e 's/&amp;/\&/g')"
        action="/webhook/${action#*/webhook/}"
        twiml="$(curl -fsS "$BASE$action" --data-urlencode "CallSid=$sid" \
            --data-urlencode "From=$from" --data-urlencode "To=+4930123456" --data-urlencode "Digits=$digits")"
    done
}
place_call CAbrowser0000000000000000000000001 "+4915112345678" 1 12345 1
place_call CAbrowser0000000000000000000000002 "<script>alert(1)</script>" 1
# The privacy test finds this caller by a national form of the number and erases them.
place_call CAbrowser0000000000000000000000003 "+4917098765432" 1 55555 1
# Twilio's final status callback ends it (calls in progress are never erased).
curl -fsS "$BASE/webhook/status" --data-urlencode "CallSid=CAbrowser0000000000000000000000003" \
    --data-urlencode "CallStatus=completed" --data-urlencode "CallDuration=42" \
    --data-urlencode "From=+4917098765432" --data-urlencode "To=+4930123456" >/dev/null

cd e2e
LIZA_URL="$BASE" LIZA_USER=admin LIZA_PASSWORD="$LIZA_ADMIN_PASSWORD" ARTIFACTS="$ROOT/test-artifacts" \
    node --test --test-reporter=spec
