#!/usr/bin/env python3
"""Checks deploy/docker-compose.yml against what it names, since Docker cannot run in CI.

For every profile: each service's build context and Dockerfile exist; every bind-mounted file
is in the repository (or is one of the host's certbot directories); named volumes are
declared; every variable passed to Liza is in Liza's SETTINGS table; every service
restarts and has a health check; nginx mounts deploy/nginx/liza.conf and an upstream file
at the path liza.conf includes, and that file lists exactly the Liza services of the profile
at the port they bind; dependencies exist in the same profile and wait for health; nginx has
a fixed address in the network's pinned subnet, and every Liza of its profile trusts exactly
that proxy (LIZA_TRUSTED_PROXIES), so client addresses and request ids come through.

    python3 .ci/check_compose.py              # check the shipped file
    python3 .ci/check_compose.py --self-test  # also prove that planted mistakes are caught
"""

import copy
import ipaddress
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMPOSE = os.path.join(ROOT, "deploy", "docker-compose.yml")
NGINX_CONF = os.path.join(ROOT, "deploy", "nginx", "liza.conf")
PROFILES = ("sqlite", "postgres")
# Host directories the compose file may mount besides repository files (certbot on the host).
HOST_MOUNTS = {"/etc/letsencrypt", "/var/www/certbot"}
# Variables the official postgres image reads.
POSTGRES_VARS = {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "POSTGRES_INITDB_ARGS", "PGDATA"}
LIZA_DRAIN_SECS = 20  # Liza's graceful shutdown (startup.rs) waits this long


def liza_settings():
    """The names in Liza's SETTINGS table (settings.rs, wherever the crate layout puts it)."""
    block = None
    for top, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in ("target", ".git", "node_modules")]
        if "settings.rs" in files:
            source = open(os.path.join(top, "settings.rs")).read()
            block = re.search(r"pub const SETTINGS[^=]*=\s*&\[(.*?)\n\];", source, re.S) or block
    if not block:
        sys.exit("check_compose: cannot find Liza's SETTINGS table (settings.rs)")
    names = set(re.findall(r'\(\s*"([A-Z][A-Z0-9_]*)"', block.group(1)))
    if "DATABASE_URL" not in names:
        sys.exit("check_compose: SETTINGS parsed wrongly (no DATABASE_URL)")
    return names


def nginx_upstream_include():
    """The path liza.conf's `upstream liza {}` includes, relative to nginx's /etc/nginx."""
    text = open(NGINX_CONF).read()
    block = re.search(r"upstream\s+liza\s*\{(.*?)\n\}", text, re.S)
    if not block:
        sys.exit("check_compose: deploy/nginx/liza.conf has no `upstream liza {}`")
    code = "\n".join(l.split("#", 1)[0] for l in block.group(1).splitlines())
    includes = re.findall(r"^\s*include\s+(\S+);", code, re.M)
    if len(includes) != 1:
        sys.exit("check_compose: `upstream liza {}` must include exactly one file of server lines")
    return includes[0]


def duration_secs(value):
    if isinstance(value, (int, float)):
        return float(value)
    total = 0.0
    for amount, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", str(value)):
        total += float(amount) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    return total


def env_of(service):
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): ("" if v is None else str(v)) for k, v in env.items()}


def mounts_of(service):
    """(source, target) of every volume entry, short or long syntax."""
    out = []
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            out.append((str(entry.get("source", "")), str(entry.get("target", ""))))
        else:
            parts = str(entry).split(":")
            out.append((parts[0], parts[1] if len(parts) > 1 else ""))
    return out


def depends_of(service):
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {d: {"condition": "service_started"} for d in deps}
    return deps


def is_liza(service):
    return "build" in service or str(service.get("image", "")).startswith("liza")


def is_nginx(service):
    return str(service.get("image", "")).startswith("nginx")


def nginx_address(doc, service):
    """nginx's fixed IPv4 address on the compose network, checked against the pinned subnet."""
    nets = service.get("networks") or {}
    if not isinstance(nets, dict) or len(nets) != 1:
        return None, "should be on exactly one network, with a fixed ipv4_address"
    (net_name, spec), = nets.items()
    address = (spec or {}).get("ipv4_address")
    if not address:
        return None, f"has no fixed ipv4_address on network {net_name} (Liza must know its proxy)"
    subnets = [c.get("subnet") for c in (((doc.get("networks") or {}).get(net_name) or {}).get("ipam") or {}).get("config") or []]
    try:
        address = ipaddress.ip_address(address)
        if not any(address in ipaddress.ip_network(s) for s in subnets if s):
            return None, f"address {address} is outside network {net_name}'s pinned subnet {subnets}"
    except ValueError as e:
        return None, f"bad address: {e}"
    return address, None


def trusts(value, address):
    """Whether LIZA_TRUSTED_PROXIES (commas or spaces) covers `address`."""
    for item in re.split(r"[,\s]+", value.strip()):
        if item:
            try:
                if address in ipaddress.ip_network(item, strict=False):
                    return True
            except ValueError:
                return False
    return False


def check(doc, compose_dir=os.path.dirname(COMPOSE)):
    """Every problem found in the parsed compose document, as sentences."""
    problems = []
    settings = liza_settings()
    include = nginx_upstream_include()
    services = doc.get("services") or {}
    declared_volumes = set((doc.get("volumes") or {}).keys())
    if not services:
        return ["no services"]

    def repo_path(path):
        return os.path.normpath(os.path.join(compose_dir, path))

    for name, svc in services.items():
        where = f"service {name}"
        profiles = svc.get("profiles") or []
        if not profiles or any(p not in PROFILES for p in profiles):
            problems.append(f"{where}: profiles {profiles}, expected one of {list(PROFILES)}")
        if not svc.get("restart"):
            problems.append(f"{where}: no restart policy")
        test = (svc.get("healthcheck") or {}).get("test")
        if not test or (svc.get("healthcheck") or {}).get("disable"):
            problems.append(f"{where}: no health check")
        if "build" in svc:
            build = svc["build"]
            context = build if isinstance(build, str) else build.get("context", ".")
            dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
            ctx = repo_path(context)
            if not os.path.isdir(ctx):
                problems.append(f"{where}: build context {context} does not exist")
            elif not os.path.isfile(os.path.join(ctx, dockerfile)):
                problems.append(f"{where}: {dockerfile} not found in build context {context}")
        for env_file in ([svc["env_file"]] if isinstance(svc.get("env_file"), str) else svc.get("env_file") or []):
            path = env_file if isinstance(env_file, str) else env_file.get("path", "")
            if os.path.basename(path) != ".env":
                problems.append(f"{where}: env_file {path}: expected the documented .env")
        for source, target in mounts_of(svc):
            if not target.startswith("/"):
                problems.append(f"{where}: volume {source}:{target} has no absolute target")
            if "$" in source:
                problems.append(f"{where}: volume source {source} depends on a variable")
            elif source.startswith((".", "/")) and source not in HOST_MOUNTS:
                if source.startswith("/"):
                    problems.append(f"{where}: host path {source} is not one of {sorted(HOST_MOUNTS)}")
                elif not os.path.exists(repo_path(source)):
                    problems.append(f"{where}: mounted {source} does not exist in the repository")
            elif not source.startswith((".", "/")) and source not in declared_volumes:
                problems.append(f"{where}: named volume {source} is not declared under volumes:")
        for dep, spec in depends_of(svc).items():
            if dep not in services:
                problems.append(f"{where}: depends on unknown service {dep}")
                continue
            if not set(services[dep].get("profiles") or []) >= set(profiles):
                problems.append(f"{where}: depends on {dep}, which is not in profiles {profiles}")
            if (spec or {}).get("condition") != "service_healthy":
                problems.append(f"{where}: should wait for {dep} to be healthy")

        env = env_of(svc)
        if is_liza(svc):
            for var in env:
                if var not in settings:
                    problems.append(f"{where}: {var} is not a Liza setting (SETTINGS in settings.rs)")
            bind = env.get("LIZA_BIND", "")
            if not re.fullmatch(r"0\.0\.0\.0:\d+", bind):
                problems.append(f"{where}: LIZA_BIND={bind!r}; inside a container Liza must listen on 0.0.0.0:PORT")
            port = bind.rsplit(":", 1)[-1]
            if port not in [str(p) for p in svc.get("expose") or []]:
                problems.append(f"{where}: port {port} (LIZA_BIND) is not exposed")
            if svc.get("ports"):
                problems.append(f"{where}: Liza must not publish ports; only nginx faces the network")
            health = " ".join(str(t) for t in test or [])
            if f"127.0.0.1:{port}/health" not in health:
                problems.append(f"{where}: health check does not ask 127.0.0.1:{port}/health")
            if duration_secs(svc.get("stop_grace_period", "10s")) <= LIZA_DRAIN_SECS:
                problems.append(f"{where}: stop_grace_period must exceed Liza's {LIZA_DRAIN_SECS} s drain")
            if "DATABASE_URL" not in env:
                problems.append(f"{where}: DATABASE_URL not fixed (deploy/.env copied from env.example would point elsewhere)")
            url = env.get("DATABASE_URL", "")
            if url.startswith("sqlite:///"):
                path = url[len("sqlite://"):]
                if not any(path.startswith(t.rstrip("/") + "/") for s, t in mounts_of(svc) if s in declared_volumes):
                    problems.append(f"{where}: SQLite file {path} is not on a named volume")
            elif url.startswith("postgres://"):
                host = re.match(r"postgres://[^@]*@([^:/]+)", url)
                if not host or host.group(1) not in services:
                    problems.append(f"{where}: DATABASE_URL names no PostgreSQL service")
                elif host.group(1) not in depends_of(svc):
                    problems.append(f"{where}: does not wait for {host.group(1)}")
            elif url:
                problems.append(f"{where}: unexpected DATABASE_URL {url}")
            for key in ("LIZA_FLOWS", "LIZA_LOCALES"):
                target = env.get(key, "").rstrip("/")
                if target and not any(t.rstrip("/") == target for _, t in mounts_of(svc)):
                    problems.append(f"{where}: {key}={target} is not mounted")
        elif str(svc.get("image", "")).startswith("postgres"):
            for var in env:
                if var not in POSTGRES_VARS:
                    problems.append(f"{where}: {var} is not a variable of the postgres image")

    for profile in PROFILES:
        members = {n: s for n, s in services.items() if profile in (s.get("profiles") or [])}
        lizas = {n: s for n, s in members.items() if is_liza(s)}
        nginxes = {n: s for n, s in members.items() if is_nginx(s)}
        if not lizas:
            problems.append(f"profile {profile}: no Liza service")
        if len(nginxes) != 1:
            problems.append(f"profile {profile}: {len(nginxes)} nginx services, expected one")
            continue
        (nginx_name, nginx), = nginxes.items()
        where = f"profile {profile}, {nginx_name}"
        mounts = dict((t, s) for s, t in mounts_of(nginx))
        conf = [t for t, s in mounts.items() if os.path.normpath(repo_path(s)) == os.path.normpath(NGINX_CONF)]
        if not conf or not conf[0].startswith("/etc/nginx/conf.d/"):
            problems.append(f"{where}: deploy/nginx/liza.conf is not mounted into /etc/nginx/conf.d/")
        upstream_target = "/etc/nginx/" + include
        if upstream_target not in mounts:
            problems.append(f"{where}: nothing mounted at {upstream_target} (liza.conf includes {include})")
        else:
            source = repo_path(mounts[upstream_target])
            servers = set()
            if os.path.isfile(source):
                for line in open(source):
                    m = re.match(r"\s*server\s+([^\s;]+)", line.split("#", 1)[0])
                    if m:
                        servers.add(m.group(1))
            expected = {f"{n}:{env_of(s).get('LIZA_BIND', '').rsplit(':', 1)[-1]}" for n, s in lizas.items()}
            if servers != expected:
                problems.append(f"{where}: upstream {mounts[upstream_target]} lists {sorted(servers)}, "
                                f"the profile's Liza services are {sorted(expected)}")
        for host in sorted(HOST_MOUNTS):
            if host not in mounts.values():
                problems.append(f"{where}: certbot directory {host} is not mounted")
        published = {str(p).split(":")[-1] for p in nginx.get("ports") or []}
        if not {"80", "443"} <= published:
            problems.append(f"{where}: ports 80 and 443 are not both published")
        for liza_name in lizas:
            if liza_name not in depends_of(nginx):
                problems.append(f"{where}: does not wait for {liza_name}")
        address, problem = nginx_address(doc, nginx)
        if problem:
            problems.append(f"{where}: {problem}")
        else:
            for liza_name, liza in lizas.items():
                trusted = env_of(liza).get("LIZA_TRUSTED_PROXIES", "")
                if not trusts(trusted, address):
                    problems.append(f"{where}: {liza_name} does not trust nginx's address {address} "
                                    f"(LIZA_TRUSTED_PROXIES={trusted!r})")
                elif trusted.strip() != str(address):
                    problems.append(f"{where}: {liza_name} trusts {trusted!r}, more than nginx's {address}")
        if profile == "postgres" and len(lizas) < 2:
            problems.append(f"profile postgres: {len(lizas)} Liza replicas, expected two")
        if profile == "sqlite" and len(lizas) != 1:
            problems.append("profile sqlite: SQLite serves one instance only")
        urls = {env_of(s).get("DATABASE_URL") for s in lizas.values()}
        if len(urls) > 1:
            problems.append(f"profile {profile}: Liza replicas use different databases {sorted(urls)}")
    return problems


def load():
    with open(COMPOSE) as f:
        return yaml.safe_load(f)


def self_test():
    """Plants one mistake at a time into the parsed file; each must be reported as itself."""
    base = load()

    def rename_replica(d):
        d["services"]["liza-3"] = d["services"].pop("liza-2")
        deps = d["services"]["nginx-postgres"]["depends_on"]
        deps["liza-3"] = deps.pop("liza-2")

    def move_port(d):
        d["services"]["liza"]["environment"]["LIZA_BIND"] = "0.0.0.0:5001"
        d["services"]["liza"]["expose"] = ["5001"]
        d["services"]["liza"]["healthcheck"] = dict(
            d["services"]["liza"]["healthcheck"],
            test=["CMD", "curl", "-fsS", "http://127.0.0.1:5001/health"])

    def set_env(service, key, value):
        def mutate(d):
            d["services"][service]["environment"] = dict(d["services"][service]["environment"], **{key: value})
        return mutate

    mutations = [
        ("replica renamed, upstream not", rename_replica, "upstream ./nginx/upstream/compose-postgres.conf lists"),
        ("Liza's port moved, upstream not", move_port, "upstream ./nginx/upstream/compose-sqlite.conf lists"),
        ("wrong upstream file for the profile",
         lambda d: d["services"]["nginx-postgres"]["volumes"].__setitem__(
             1, "./nginx/upstream/compose-sqlite.conf:/etc/nginx/liza/upstream.conf:ro"), "lists ['liza:5000']"),
        ("misspelt setting", set_env("liza", "LIZA_PUBLIC_ULR", "x"), "LIZA_PUBLIC_ULR is not a Liza setting"),
        ("health check removed", lambda d: d["services"]["liza-1"].pop("healthcheck"), "liza-1: no health check"),
        ("restart policy removed", lambda d: d["services"]["nginx"].pop("restart"), "nginx: no restart policy"),
        ("mounted file missing",
         lambda d: d["services"]["nginx"]["volumes"].__setitem__(
             0, "./nginx/lisa.conf:/etc/nginx/conf.d/default.conf:ro"), "./nginx/lisa.conf does not exist"),
        ("wrong build context", lambda d: d["services"]["liza"]["build"].__setitem__("context", "../engine"),
         "Dockerfile not found in build context ../engine"),
        ("Liza bound to loopback", set_env("liza", "LIZA_BIND", "127.0.0.1:5000"), "must listen on 0.0.0.0"),
        ("stop grace shorter than the drain", lambda d: d["services"]["liza-2"].__setitem__("stop_grace_period", "10s"),
         "must exceed Liza's 20 s drain"),
        ("SQLite file outside the volume", set_env("liza", "DATABASE_URL", "sqlite:///tmp/liza.db"),
         "is not on a named volume"),
        ("replicas on different databases",
         set_env("liza-2", "DATABASE_URL", "postgres://liza:x@postgres:5432/other"), "use different databases"),
        ("nginx starts before a replica is healthy",
         lambda d: d["services"]["nginx-postgres"]["depends_on"].pop("liza-2"), "does not wait for liza-2"),
        ("no trusted proxy", set_env("liza-1", "LIZA_TRUSTED_PROXIES", ""),
         "liza-1 does not trust nginx's address 172.30.57.10"),
        ("nginx's address not pinned",
         lambda d: d["services"]["nginx"].pop("networks"), "nginx: should be on exactly one network"),
        ("nginx outside the pinned subnet",
         lambda d: d["networks"]["default"]["ipam"]["config"][0].__setitem__("subnet", "10.9.0.0/24"),
         "outside network default's pinned subnet"),
        ("certbot directory not mounted", lambda d: d["services"]["nginx"]["volumes"].pop(3),
         "/var/www/certbot is not mounted"),
    ]
    missed = []
    for what, mutate, expected in mutations:
        doc = copy.deepcopy(base)
        mutate(doc)
        found = [p for p in check(doc) if expected in p]
        print(f"  planted: {what:42} -> {'caught: ' + found[0] if found else 'NOT CAUGHT'}")
        if not found:
            missed.append(what)
    if missed:
        sys.exit(f"check_compose: self-test: not caught: {missed}")


def main():
    problems = check(load())
    for p in problems:
        print(f"deploy/docker-compose.yml: {p}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print("deploy/docker-compose.yml: consistent with the repository, settings and nginx upstreams "
          f"({', '.join(PROFILES)})")
    if "--self-test" in sys.argv[1:]:
        self_test()


if __name__ == "__main__":
    main()
