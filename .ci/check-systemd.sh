#!/usr/bin/env bash
# Checks deploy/liza.service with systemd-analyze (where available): `verify` must be silent,
# the stop timeout must exceed Liza's drain, and `security --offline` must keep the exposure
# score low. A self-test plants mistakes and makes sure `verify` reports them.
#
# The only substitution: ExecStart's /usr/local/bin/liza becomes a stand-in executable in a
# temporary directory (verify refuses a unit whose binary does not exist on this machine).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
UNIT="$ROOT/deploy/liza.service"
MAX_EXPOSURE=1.5          # systemd-analyze security: 0 best, 10 worst; the unit scores 0.9
LIZA_DRAIN_SECS=20        # Liza's graceful shutdown (startup.rs) waits this long

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "check-systemd: systemd-analyze not installed here; skipped"
    exit 0
fi

WORK="$(mktemp -d /tmp/liza-systemd.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
printf '#!/bin/sh\nexit 0\n' >"$WORK/liza" && chmod +x "$WORK/liza"

render() { # render SOURCE DIR: the unit with the stand-in binary, as DIR/liza.service
    mkdir -p "$2"
    grep -q '^ExecStart=/usr/local/bin/liza ' "$1" || { echo "check-systemd: ExecStart is not /usr/local/bin/liza" >&2; exit 1; }
    sed "s#^ExecStart=/usr/local/bin/liza #ExecStart=$WORK/liza #" "$1" >"$2/liza.service"
}
verify() { # verify DIR: prints what systemd-analyze says; fails when it says anything
    local out
    out="$(cd "$1" && systemd-analyze verify ./liza.service 2>&1)" || { echo "$out"; return 1; }
    [ -z "$out" ] || { echo "$out"; return 1; }
}

render "$UNIT" "$WORK/shipped"
if ! out="$(verify "$WORK/shipped")"; then
    echo "$out" >&2
    echo "check-systemd: systemd-analyze verify complains about deploy/liza.service" >&2
    exit 1
fi
echo "check-systemd: systemd-analyze verify deploy/liza.service: clean"

value() { sed -n "s/^$1=//p" "$UNIT" | tail -n1; }
stop="$(value TimeoutStopSec)"; stop="${stop%s}"
[ "$(value KillSignal)" = SIGTERM ] || { echo "check-systemd: KillSignal must be SIGTERM (Liza drains on it)" >&2; exit 1; }
[ "$stop" -gt "$LIZA_DRAIN_SECS" ] 2>/dev/null || { echo "check-systemd: TimeoutStopSec=$stop must exceed the ${LIZA_DRAIN_SECS} s drain" >&2; exit 1; }
[ "$(value Restart)" = on-failure ] || { echo "check-systemd: Restart must be on-failure" >&2; exit 1; }
for key in ProtectSystem=strict NoNewPrivileges=yes StateDirectory=liza EnvironmentFile=/etc/liza/liza.env \
           Environment=DATABASE_URL=sqlite:///var/lib/liza/liza.db Environment=LIZA_TRUSTED_PROXIES=127.0.0.1; do
    grep -qx "$key" "$UNIT" || { echo "check-systemd: deploy/liza.service lacks $key" >&2; exit 1; }
done

# Self-test: verify must speak up about each planted mistake.
planted=0
while IFS='|' read -r what from to; do
    sed "s#$from#$to#" "$UNIT" >"$WORK/planted.service"
    cmp -s "$UNIT" "$WORK/planted.service" && { echo "check-systemd: self-test could not plant: $what" >&2; exit 1; }
    render "$WORK/planted.service" "$WORK/planted-$planted"
    if verify "$WORK/planted-$planted" >/dev/null; then
        echo "check-systemd: self-test: verify did not notice: $what" >&2
        exit 1
    fi
    planted=$((planted + 1))
done <<'EOF'
misspelt key|^ProtectSystem=strict|ProtectSytem=strict
bad value|^ProtectSystem=strict|ProtectSystem=strcit
bad time span|^TimeoutStopSec=30s|TimeoutStopSec=thirty
unknown section|^\[Service\]|[Servcie]
EOF
echo "check-systemd: self-test: verify reported all $planted planted mistakes"

if report="$(cd "$WORK/shipped" && systemd-analyze security --offline=yes ./liza.service 2>&1)"; then
    score="$(printf '%s\n' "$report" | sed -n 's/.*Overall exposure level for liza.service: \([0-9.]*\).*/\1/p')"
    echo "check-systemd: systemd-analyze security --offline: exposure $score (0 best, 10 worst)"
    if python3 -c "import sys; sys.exit(0 if float('$score') <= $MAX_EXPOSURE else 1)"; then :; else
        printf '%s\n' "$report" | grep '✗' >&2 || true
        echo "check-systemd: exposure $score is above $MAX_EXPOSURE" >&2
        exit 1
    fi
else
    echo "check-systemd: systemd-analyze security --offline does not work here; skipped"
fi
