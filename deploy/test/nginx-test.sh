#!/usr/bin/env bash
# Liza behind the shipped deploy/nginx/liza.conf, over HTTPS on loopback (deploy/test/
# nginx-harness.sh runs Debian's nginx). Checks what Twilio, a browser and an attacker would
# observe: signed webhooks get TwiML through the proxy (also when an instance dies
# mid-request), whole calls played by `liza loadtest` over HTTPS complete (signed for the
# public HTTPS URL), unsigned or wrongly signed ones get 403, a burst of call starts passes, /login
# floods get 429, CSS and HTML come gzip-compressed, security headers once each, HTTP
# redirects to HTTPS except the ACME challenge, /metrics only from the allow-list, /health
# open, oversized bodies refused by nginx.
#
#   deploy/test/nginx-test.sh          (builds the debug binary; CI runs it from .ci/run)
#
# The upstream list is [a dying instance, Liza]. The dying one reads each request whole and
# closes the connection without an answer, as an instance killed mid-request does. The first
# request a worker proxies goes to it (round robin starts at the first server): a webhook
# must then be retried on Liza although it is a POST that was already sent.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"

if [ "${1:-}" != "--checks" ]; then
    cd "$ROOT"
    cargo build --quiet --bin liza
    free_port() {
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
    }
    LIZA_PORT="$(free_port)"
    DYING_PORT="$(free_port)"
    export LIZA_PORT DYING_PORT
    exec "$ROOT/deploy/test/nginx-harness.sh" \
        --upstream "127.0.0.1:$DYING_PORT" --upstream "127.0.0.1:$LIZA_PORT" \
        -- bash "$ROOT/deploy/test/nginx-test.sh" --checks
fi

# ---- Inside the harness: nginx runs; start Liza behind it. -------------------------------
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/liza"
WORK="$(mktemp -d /tmp/liza-nginx-test.XXXXXX)"
PUBLIC="https://$NGINX_HOST:$NGINX_HTTPS_PORT"
TOKEN="nginx-test-token-$RANDOM$RANDOM"
LIZA_PID=""
DYING_PID=""
cleanup() {
    for pid in $LIZA_PID $DYING_PID; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

# The dying instance: logs the request line of what it swallowed, answers nothing.
python3 - "$DYING_PORT" "$WORK/dying.log" <<'PY' &
import socket, sys
port, log = int(sys.argv[1]), sys.argv[2]
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen(64)
while True:
    conn, _ = server.accept()
    conn.settimeout(5)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next((int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")), 0)
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
        with open(log, "a") as f:
            f.write(head.split(b"\r\n")[0].decode() + "\n")
    except OSError:
        pass
    conn.close()
PY
DYING_PID=$!

env -i PATH="$PATH" HOME="${HOME:-/tmp}" \
    DATABASE_URL="sqlite://$WORK/liza.db" LIZA_BIND="127.0.0.1:$LIZA_PORT" \
    LIZA_PUBLIC_URL="$PUBLIC" TWILIO_AUTH_TOKEN="$TOKEN" LIZA_INSECURE_DEV=0 \
    LIZA_FLOWS="$ROOT/flows" LIZA_LOCALES="$ROOT/locales" LIZA_TRUSTED_PROXIES=127.0.0.1 \
    RUST_LOG=info,sqlx=warn,poem=warn NO_COLOR=1 \
    "$BIN" serve >"$WORK/liza.log" 2>&1 &
LIZA_PID=$!
# Readiness on Liza's own port, so that nginx's upstream state is untouched by it.
for _ in $(seq 1 150); do
    curl -fsS -o /dev/null "http://127.0.0.1:$LIZA_PORT/health" 2>/dev/null && break
    kill -0 "$LIZA_PID" 2>/dev/null || break
    sleep 0.1
done
curl -fsS -o /dev/null "http://127.0.0.1:$LIZA_PORT/health" || { cat "$WORK/liza.log"; exit 1; }

CURL=(curl -sS --max-time 20 --cacert "$NGINX_CA"
      --resolve "$NGINX_HOST:$NGINX_HTTPS_PORT:127.0.0.1" --resolve "$NGINX_HOST:$NGINX_HTTP_PORT:127.0.0.1")
HTTP="http://$NGINX_HOST:$NGINX_HTTP_PORT"
failures=0
ok() { echo "ok - $*"; }
fail() { echo "FAIL - $*"; failures=$((failures + 1)); }
# expect DESCRIPTION EXPECTED ACTUAL
expect() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: expected '$2', got '$3'"; fi; }
# header NAME FILE: every value of that response header, one per line
header() { grep -i "^$1:" "$2" | sed -e 's/^[^:]*: *//' -e 's/\r$//' || true; }

# sign URL K=V...: the urlencoded body and X-Twilio-Signature, computed as Twilio documents it
# (HMAC-SHA1 of the URL followed by each parameter's name and value, sorted by name; base64).
sign() {
    python3 - "$TOKEN" "$@" <<'PY'
import base64, hashlib, hmac, sys, urllib.parse
token, url, *pairs = sys.argv[1:]
params = [tuple(p.split("=", 1)) for p in pairs]
data = url + "".join(k + v for k, v in sorted(params, key=lambda kv: kv[0].encode()))
sig = base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()
print(urllib.parse.urlencode(params), sig)
PY
}
# webhook NAME PATH_AND_QUERY SIGNED_URL K=V...: POST signed for SIGNED_URL; status -> stdout,
# headers and body -> $WORK/NAME.{h,b}
webhook() {
    local name="$1" pq="$2" url="$3"; shift 3
    local body sig
    read -r body sig < <(sign "$url" "$@")
    "${CURL[@]}" -o "$WORK/$name.b" -D "$WORK/$name.h" -w '%{http_code}' \
        -H "X-Twilio-Signature: $sig" -H 'Content-Type: application/x-www-form-urlencoded' \
        --data-binary "$body" "$PUBLIC$pq"
}
# The first <Gather action> of a TwiML answer.
gather_action() {
    python3 -c 'import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
g = root.find(".//Gather")
print(g.get("action") if g is not None else "")' "$1"
}

CALL=(CallSid=CAnginx00000000000000000000000001 From=+4915112345678 To=+4930123456 AccountSid=ACtest)

echo "== signed webhooks through nginx"
# First request through nginx: the worker's round robin picks the dying instance first.
code="$(webhook voice /webhook/voice "$PUBLIC/webhook/voice" "${CALL[@]}")"
expect "signed voice webhook answers 200 (retried after the dying instance swallowed it)" 200 "$code"
expect "its content type is TwiML" "text/xml; charset=utf-8" "$(header content-type "$WORK/voice.h")"
action="$(gather_action "$WORK/voice.b")"
expect "TwiML points Twilio at the public HTTPS URL" "$PUBLIC/webhook/consent?seq=1" "$action"
if grep -qx "POST /webhook/voice HTTP/1.1" "$WORK/dying.log" 2>/dev/null &&
   grep -q "upstream prematurely closed connection.*127.0.0.1:$DYING_PORT" "$NGINX_PREFIX/logs/error.log"; then
    ok "the dying instance got the POST whole and closed; nginx retried it on Liza"
else
    fail "the dying instance never got the webhook: the retry path was not exercised"
fi

# nginx's request id: in its access log (rid=), in Liza's log lines about the call (Liza
# trusts 127.0.0.1, as deploy/liza.service sets it) and in the answer's X-Request-Id.
rid="$(header x-request-id "$WORK/voice.h")"
if [ -n "$rid" ] && grep -q "rid=$rid\$" "$NGINX_PREFIX/logs/access.log"; then
    ok "the answer's X-Request-Id is nginx's request id ($rid)"
else
    fail "X-Request-Id '$rid' is not an id nginx logged"
fi
if sed 's/\x1b\[[0-9;]*m//g' "$WORK/liza.log" | grep "request_id=$rid" | grep -q "call_sid=${CALL[0]#CallSid=}.*Call started"; then
    ok "Liza's log line about the call names nginx's request id and the call SID"
else
    fail "no line of Liza's with request_id=$rid and the call SID: $(grep -c . "$WORK/liza.log") lines"
fi

# The query reaches Liza byte for byte (%2F and %20 stay encoded), or the signature breaks.
pq="/webhook/consent?seq=1&note=a%2Fb%20c"
code="$(webhook consent "$pq" "$PUBLIC$pq" "${CALL[@]}" Digits=1)"
expect "signed consent webhook with an encoded query answers 200" 200 "$code"
expect "the call goes on to the order number" "$PUBLIC/webhook/order?seq=2" "$(gather_action "$WORK/consent.b")"
code="$(webhook consent-again "$pq" "$PUBLIC$pq" "${CALL[@]}" Digits=1)"
expect "a duplicate delivery of that turn answers 200" 200 "$code"
if cmp -s "$WORK/consent.b" "$WORK/consent-again.b"; then ok "the duplicate replays the stored TwiML"; else fail "the duplicate got a different answer"; fi

code="$("${CURL[@]}" -o /dev/null -w '%{http_code}' --data-binary "CallSid=CAx&From=%2B1&To=%2B2" "$PUBLIC/webhook/voice")"
expect "unsigned webhook is refused" 403 "$code"
code="$(webhook inner /webhook/voice "http://127.0.0.1:$LIZA_PORT/webhook/voice" "${CALL[@]}")"
expect "webhook signed for the upstream's own URL is refused (Liza checks the public URL)" 403 "$code"

# 30 calls starting in the same moment from one address: none may be rate-limited. One curl
# sends all 30 at once (signed beforehand), so they reach nginx within a few milliseconds.
python3 - "$TOKEN" "$PUBLIC" "$NGINX_CA" "$NGINX_HOST:$NGINX_HTTPS_PORT:127.0.0.1" "$WORK" >"$WORK/burst.curl" <<'PY'
import base64, hashlib, hmac, sys, urllib.parse
token, public, ca, resolve, work = sys.argv[1:]
url = public + "/webhook/voice"
for i in range(30):
    if i:
        print("next")
    params = [("CallSid", f"CAnginxburst{i:022d}"), ("From", "+4915112345678"), ("To", "+4930123456")]
    data = url + "".join(k + v for k, v in sorted(params))
    sig = base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()
    print(f'url = "{url}"\ncacert = "{ca}"\nresolve = "{resolve}"\nsilent\nmax-time = 20')
    print(f'header = "X-Twilio-Signature: {sig}"\ndata-binary = "{urllib.parse.urlencode(params)}"')
    print(f'output = "{work}/burst{i}.b"\nwrite-out = "%{{http_code}}\\n"')
PY
curl --no-progress-meter --parallel --parallel-immediate --parallel-max 30 -K "$WORK/burst.curl" >"$WORK/burst.codes" || true
codes="$(sort "$WORK/burst.codes" | uniq -c | tr -s ' ' | sed 's/^ //' | tr '\n' ' ')"
expect "a burst of 30 call starts is answered, none limited" "30 200 " "$codes"

echo "== whole calls over HTTPS: liza loadtest through nginx"
# Signed for $PUBLIC (https://liza.example.com:PORT), Liza's LIZA_PUBLIC_URL: a signature that
# did not validate would be a 403 and a failed call. 40 calls, 8 at a time, 200 ms think time
# (about 40 webhooks a second, well inside the webhook rate limit).
LOADTEST=(env -i PATH="$PATH" HOME="${HOME:-/tmp}" TWILIO_AUTH_TOKEN="$TOKEN" "$BIN" loadtest
          --url "$PUBLIC" --resolve "$NGINX_HOST:$NGINX_HTTPS_PORT:127.0.0.1"
          --expect "Vielen Dank für Ihren Anruf")
webhooks_before="$(grep -c '"POST /webhook/' "$NGINX_PREFIX/logs/access.log" || true)"
if "${LOADTEST[@]}" --ca-cert "$NGINX_CA" --calls 40 --concurrency 8 --think 200ms >"$WORK/loadtest.out" 2>&1; then
    ok "liza loadtest: $(grep '^calls:' "$WORK/loadtest.out")"
else
    fail "liza loadtest over HTTPS failed:"; sed 's/^/    /' "$WORK/loadtest.out"
fi
expect "every call completed, none failed" 1 "$(grep -c '^calls: *40 completed, 0 failed' "$WORK/loadtest.out")"
requests="$(sed -n 's/^requests: *\([0-9]*\) .*/\1/p' "$WORK/loadtest.out")"
webhooks_after="$(grep -c '"POST /webhook/' "$NGINX_PREFIX/logs/access.log" || true)"
expect "nginx logged every webhook the load generator sent (over HTTPS)" "$requests" "$((webhooks_after - webhooks_before))"
[ "${requests:-0}" -ge 240 ] || fail "the load generator sent ${requests:-no} webhooks, expected 6 a call (240)"
# What Liza stored: 40 calls besides this script's own, each ended by its status callback.
stored="$(python3 - "$WORK/liza.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(*db.execute("SELECT count(*), count(ended_at), count(DISTINCT flow_version) FROM calls "
                  "WHERE call_sid NOT LIKE 'CAnginx%' AND call_sid NOT LIKE 'CAbig%'").fetchone())
PY
)"
expect "Liza stored the 40 calls, each ended" "40 40 1" "$stored"
if "${LOADTEST[@]}" --calls 1 --concurrency 1 >"$WORK/loadtest-untrusted.out" 2>&1; then
    fail "without --ca-cert the self-signed certificate was trusted"
elif grep -qi "certificate" "$WORK/loadtest-untrusted.out"; then
    ok "without --ca-cert the test's certificate is refused ($(grep -o -i '[^:]*certificate[^:]*' "$WORK/loadtest-untrusted.out" | head -n1 | sed 's/^ *//'))"
else
    fail "without --ca-cert: $(cat "$WORK/loadtest-untrusted.out")"
fi

big="CallSid=CAbig&Digits=$(head -c 20000 /dev/zero | tr '\0' 1)"
code="$("${CURL[@]}" -o /dev/null -w '%{http_code}' --data-binary "$big" "$PUBLIC/webhook/voice")"
expect "a 20 kB webhook body is refused by nginx" 413 "$code"
code="$("${CURL[@]}" -o /dev/null -w '%{http_code}' --data-binary "notes=$(head -c 100000 /dev/zero | tr '\0' a)" "$PUBLIC/orders/1/notes")"
expect "a 100 kB dashboard form is refused by nginx" 413 "$code"

echo "== headers, compression, health"
code="$("${CURL[@]}" -o "$WORK/health.b" -D "$WORK/health.h" -w '%{http_code}' "$PUBLIC/health")"
expect "/health is open" 200 "$code"
if grep -q '"status"' "$WORK/health.b"; then ok "/health answers Liza's JSON"; else fail "/health body: $(head -c 200 "$WORK/health.b")"; fi
# Liza's CSP as its source declares it (the first part of the string constant).
csp_liza="$(grep -rhoE --include='*.rs' --exclude-dir=target 'CONTENT_SECURITY_POLICY: &str = "[^"]*' "$ROOT" | head -n1 | sed -e 's/.*= "//' -e 's/ *\\$//')"
[ -n "$csp_liza" ] || fail "cannot find Liza's CONTENT_SECURITY_POLICY in the sources"
expect "HSTS from nginx" "max-age=31536000; includeSubDomains" "$(header strict-transport-security "$WORK/health.h")"
csp="$(header content-security-policy "$WORK/health.h")"
expect "exactly one CSP, Liza's own" 1 "$(printf '%s\n' "$csp" | grep -c .)"
case "$csp" in "$csp_liza"*) ok "the CSP is Liza's ($csp)" ;; *) fail "CSP is not Liza's: $csp" ;; esac
expect "X-Frame-Options once" "DENY" "$(header x-frame-options "$WORK/health.h")"
expect "X-Content-Type-Options once" "nosniff" "$(header x-content-type-options "$WORK/health.h")"
expect "Referrer-Policy once" "same-origin" "$(header referrer-policy "$WORK/health.h")"
expect "no server version" "nginx" "$(header server "$WORK/health.h")"

"${CURL[@]}" -o "$WORK/css.gz" -D "$WORK/css.h" -H 'Accept-Encoding: gzip' "$PUBLIC/static/dashboard.css"
expect "dashboard CSS is gzip-compressed" gzip "$(header content-encoding "$WORK/css.h")"
if gzip -dc "$WORK/css.gz" | cmp -s - "$ROOT/templates/static/dashboard.css"; then
    ok "the compressed CSS unpacks to templates/static/dashboard.css ($(stat -c %s "$WORK/css.gz") of $(stat -c %s "$ROOT/templates/static/dashboard.css") bytes)"
else
    fail "the compressed CSS is not the stylesheet"
fi
expect "Vary: Accept-Encoding on compressed answers" "Accept-Encoding" "$(header vary "$WORK/css.h")"
"${CURL[@]}" -o /dev/null -D "$WORK/login-page.h" -H 'Accept-Encoding: gzip' "$PUBLIC/login"
expect "the login page (HTML) is gzip-compressed" gzip "$(header content-encoding "$WORK/login-page.h")"
"${CURL[@]}" -o /dev/null -D "$WORK/css-plain.h" "$PUBLIC/static/dashboard.css"
expect "no compression for a client that did not ask" "" "$(header content-encoding "$WORK/css-plain.h")"

echo "== HTTP, ACME, metrics"
"${CURL[@]}" -o /dev/null -D "$WORK/redirect.h" -H "Host: evil.example" "$HTTP/calls?status=problem"
expect "HTTP answers with a permanent redirect" 301 "$(head -n1 "$WORK/redirect.h" | cut -d' ' -f2)"
expect "to the same path on HTTPS, at the configured name (not the Host header)" \
    "https://$NGINX_HOST/calls?status=problem" "$(header location "$WORK/redirect.h")"
mkdir -p "$NGINX_ACME_ROOT/.well-known/acme-challenge"
printf 'token-body-%s' "$RANDOM" >"$NGINX_ACME_ROOT/.well-known/acme-challenge/tok123"
chmod -R a+rX "$NGINX_ACME_ROOT"
body="$("${CURL[@]}" -w ' %{http_code}' "$HTTP/.well-known/acme-challenge/tok123")"
expect "the ACME challenge is served over plain HTTP" "$(cat "$NGINX_ACME_ROOT/.well-known/acme-challenge/tok123") 200" "$body"
code="$("${CURL[@]}" -o /dev/null -w '%{http_code}' "$HTTP/.well-known/acme-challenge/missing")"
expect "a missing challenge is 404, not a redirect" 404 "$code"

code="$("${CURL[@]}" -o "$WORK/metrics.b" -w '%{http_code}' "$PUBLIC/metrics")"
expect "/metrics from 127.0.0.1 (allow-listed)" 200 "$code"
if grep -q '^liza_' "$WORK/metrics.b"; then ok "/metrics answers Prometheus text"; else fail "/metrics body: $(head -c 200 "$WORK/metrics.b")"; fi
code="$("${CURL[@]}" --interface 127.0.0.2 -o /dev/null -w '%{http_code}' "$PUBLIC/metrics")"
expect "/metrics from 127.0.0.2 (outside the allow-list) is refused" 403 "$code"
code="$("${CURL[@]}" --interface 127.0.0.2 -o /dev/null -w '%{http_code}' "$PUBLIC/health")"
expect "/health from 127.0.0.2 is open" 200 "$code"

echo "== /login flood"
: >"$WORK/login.codes"
for _ in $(seq 1 15); do
    "${CURL[@]}" -o /dev/null -D "$WORK/login-post.h" -w '%{http_code}\n' \
        --data-binary 'name=admin&password=wrong-password&csrf=x' "$PUBLIC/login" >>"$WORK/login.codes"
done
limited="$(grep -c '^429$' "$WORK/login.codes" || true)"
passed="$(grep -vc '^429$' "$WORK/login.codes" || true)"
if [ "$passed" -le 6 ] && [ "$limited" -ge 9 ]; then
    ok "15 quick POST /login: $passed reached Liza (burst 5), $limited got 429"
else
    fail "15 quick POST /login: $passed reached Liza, $limited got 429 (codes: $(tr '\n' ' ' <"$WORK/login.codes"))"
fi
expect "the last 429 carries nginx's CSP" "default-src 'none'; frame-ancestors 'none'; base-uri 'none'" \
    "$(header content-security-policy "$WORK/login-post.h")"
expect "and X-Frame-Options" "DENY" "$(header x-frame-options "$WORK/login-post.h")"
code="$("${CURL[@]}" -o /dev/null -w '%{http_code}' "$PUBLIC/login")"
expect "the login page itself stays reachable during the flood (only POSTs count)" 200 "$code"

if [ "$failures" -gt 0 ]; then
    echo "== $failures check(s) failed; Liza's log:"
    tail -n 30 "$WORK/liza.log"
    echo "== nginx's error log:"
    tail -n 30 "$NGINX_PREFIX/logs/error.log"
    exit 1
fi
echo "== nginx checks passed"
