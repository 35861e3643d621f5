#!/usr/bin/env bash
# Runs the shipped deploy/nginx/liza.conf in Debian's nginx on loopback, runs a command against
# it, and stops nginx when the command ends (or this script is interrupted).
#
#   deploy/test/nginx-harness.sh --upstream 127.0.0.1:5000 [--upstream ADDR]... -- COMMAND [ARG]...
#
# The substitution (the only differences from production, all on lines marked `# SITE`):
#   listen 80; / listen 443 ssl;                -> 127.0.0.1:<free port>   (IPv6 listens dropped)
#   /etc/letsencrypt/live/liza.example.com/     -> a certificate from a test CA made here (openssl)
#   /var/www/certbot                            -> a temporary ACME webroot
#   /var/log/nginx/                             -> the temporary prefix's logs/
#   upstream/local.conf's `server 127.0.0.1:5000` line -> one line per --upstream
# server_name stays liza.example.com: clients use curl --resolve. nginx.conf is Debian's own
# /etc/nginx/nginx.conf with its paths moved into the prefix, so liza.conf is tested next to
# Debian's http-level defaults (gzip on, ssl_protocols, ...), as it is installed.
#
# COMMAND sees: NGINX_HOST, NGINX_HTTP_PORT, NGINX_HTTPS_PORT, NGINX_CA (the test CA's
# certificate, to trust), NGINX_ACME_ROOT, NGINX_PREFIX (logs in $NGINX_PREFIX/logs). Exit status: COMMAND's.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
NGINX_HOST=liza.example.com

die() { echo "nginx-harness: $*" >&2; exit 1; }

upstreams=()
while [ $# -gt 0 ]; do
    case "$1" in
        --upstream) upstreams+=("$2"); shift 2 ;;
        --) shift; break ;;
        *) die "unknown argument $1 (usage: --upstream ADDR... -- COMMAND)" ;;
    esac
done
[ ${#upstreams[@]} -gt 0 ] || die "give at least one --upstream HOST:PORT"
[ $# -gt 0 ] || die "give the command to run after --"

if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    echo "nginx-harness: installing Debian's nginx"
    apt-get update -qq && apt-get install -y -qq nginx >/dev/null
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

PREFIX="$(mktemp -d /tmp/liza-nginx.XXXXXX)"
NGINX_PID=""
cleanup() {
    if [ -n "$NGINX_PID" ] && kill -0 "$NGINX_PID" 2>/dev/null; then
        kill -QUIT "$NGINX_PID" 2>/dev/null || true   # graceful: finish requests, then exit
        for _ in $(seq 1 50); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.1; done
        kill -TERM "$NGINX_PID" 2>/dev/null || true
        wait "$NGINX_PID" 2>/dev/null || true
    fi
    rm -rf "$PREFIX"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$PREFIX"/{conf/conf.d,conf/liza,tls,acme,logs,tmp}
# Debian's nginx.conf keeps `user www-data` when run as root: the workers must read the webroot.
chmod 755 "$PREFIX" "$PREFIX/acme"

HTTP_PORT="$(free_port)"
HTTPS_PORT="$(free_port)"

# A test CA and a server certificate it signs, as a real CA would (strict TLS clients such as
# rustls refuse a self-signed CA certificate used as the server's own).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=Liza test CA" -keyout "$PREFIX/tls/ca.key" -out "$PREFIX/tls/ca.pem" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj "/CN=$NGINX_HOST" -keyout "$PREFIX/tls/privkey.pem" -out "$PREFIX/tls/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:%s\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' \
    "$NGINX_HOST" >"$PREFIX/tls/server.ext"
openssl x509 -req -in "$PREFIX/tls/server.csr" -CA "$PREFIX/tls/ca.pem" -CAkey "$PREFIX/tls/ca.key" \
    -CAcreateserial -days 2 -extfile "$PREFIX/tls/server.ext" -out "$PREFIX/tls/cert.pem" 2>/dev/null
# certbot's layout: fullchain = the certificate and the chain above it; chain = the CA's part.
cat "$PREFIX/tls/cert.pem" "$PREFIX/tls/ca.pem" >"$PREFIX/tls/fullchain.pem"
cp "$PREFIX/tls/ca.pem" "$PREFIX/tls/chain.pem"

# Literal replacements that must each match; a line of liza.conf marked `# SITE` that no rule
# touched (other than server_name) fails the render, so the shipped file cannot drift away
# from what is tested here.
python3 - "$ROOT" "$PREFIX" "$HTTP_PORT" "$HTTPS_PORT" "${upstreams[@]}" <<'PY'
import sys

root, prefix, http_port, https_port, *upstreams = sys.argv[1:]

def fail(msg):
    sys.exit(f"nginx-harness: {msg} (the documented substitution no longer matches)")

def replace_all(text, old, new, where):
    if old not in text:
        fail(f"{where}: `{old}` not found")
    return text.replace(old, new)

# liza.conf
src = open(f"{root}/deploy/nginx/liza.conf").read()
out = []
for line in src.splitlines():
    if "listen [::]:" in line:
        continue  # loopback test: IPv4 only
    original = line
    for old, new in [
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;"),
        ("/etc/letsencrypt/live/liza.example.com/", f"{prefix}/tls/"),
        ("/var/www/certbot", f"{prefix}/acme"),
        ("/var/log/nginx/", f"{prefix}/logs/"),
    ]:
        line = line.replace(old, new)
    code = original.split("#", 1)[0].strip()
    if code and "# SITE" in original and line == original and not code.startswith("server_name"):
        fail(f"liza.conf: site line not rendered: {original.strip()}")
    out.append(line)
rendered = "\n".join(out) + "\n"
for needle in ("/etc/letsencrypt", "/var/www", "/var/log", "listen 80", "listen 443"):
    if any(needle in l.split("#", 1)[0] for l in rendered.splitlines()):
        fail(f"liza.conf: `{needle}` left after rendering")
open(f"{prefix}/conf/conf.d/liza.conf", "w").write(rendered)

# upstream/local.conf: its server line, once per --upstream
src = open(f"{root}/deploy/nginx/upstream/local.conf").read()
template = [l for l in src.splitlines() if l.startswith("server 127.0.0.1:5000 ")]
if len(template) != 1:
    fail("upstream/local.conf: one `server 127.0.0.1:5000 ...` line expected")
lines = [template[0].replace("127.0.0.1:5000", addr, 1) for addr in upstreams]
open(f"{prefix}/conf/liza/upstream.conf", "w").write("\n".join(lines) + "\n")

# Debian's nginx.conf with every path inside the prefix
conf = open("/etc/nginx/nginx.conf").read()
conf = replace_all(conf, "pid /run/nginx.pid;", f"pid {prefix}/nginx.pid;", "nginx.conf")
conf = replace_all(conf, "/var/log/nginx/", f"{prefix}/logs/", "nginx.conf")
conf = replace_all(conf, "include /etc/nginx/conf.d/*.conf;", f"include {prefix}/conf/conf.d/*.conf;", "nginx.conf")
conf = replace_all(conf, "include /etc/nginx/sites-enabled/*;", "", "nginx.conf")
temp = "".join(f"\t{kind}_temp_path {prefix}/tmp/{kind};\n"
               for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
conf = replace_all(conf, "http {\n", "http {\n" + temp, "nginx.conf")
open(f"{prefix}/conf/nginx.conf", "w").write(conf)
PY

run_nginx() {
    "$NGINX" -p "$PREFIX/" -c "$PREFIX/conf/nginx.conf" -e "$PREFIX/logs/error.log" "$@"
}
# `nginx -t` must pass without a warning (a duplicate or ignored directive is a mistake);
# the only tolerated one is Debian's `user` line when this runs without root.
if ! check="$(run_nginx -t 2>&1)"; then
    echo "$check" >&2
    die "nginx -t failed on the rendered deploy/nginx/liza.conf"
fi
if warnings="$(printf '%s\n' "$check" | grep -E '\[(warn|emerg|alert)\]' | grep -v '"user" directive')"; then
    echo "$warnings" >&2
    die "nginx -t warns about the rendered deploy/nginx/liza.conf"
fi

# Started directly (not through the function) so that $! is nginx's master itself.
"$NGINX" -p "$PREFIX/" -c "$PREFIX/conf/nginx.conf" -e "$PREFIX/logs/error.log" -g 'daemon off;' &
NGINX_PID=$!
ready=""
for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$HTTPS_PORT") 2>/dev/null; then ready=1; break; fi
    kill -0 "$NGINX_PID" 2>/dev/null || break
    sleep 0.1
done
[ -n "$ready" ] || { cat "$PREFIX/logs/error.log" >&2 || true; die "nginx did not start"; }

status=0
NGINX_HOST="$NGINX_HOST" NGINX_HTTP_PORT="$HTTP_PORT" NGINX_HTTPS_PORT="$HTTPS_PORT" \
NGINX_CA="$PREFIX/tls/ca.pem" NGINX_ACME_ROOT="$PREFIX/acme" NGINX_PREFIX="$PREFIX" \
    "$@" || status=$?
exit "$status"
