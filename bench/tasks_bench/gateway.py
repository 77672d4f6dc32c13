"""The gateway scenario: all four ports on ONE PostgreSQL database behind deploy/nginx/gateway.conf.

Rendered the way conformance/conformance/gateway.py renders it (the main context of
deploy/nginx/main.local.conf.in, upstreams.conf and listen.conf next to it), and run under
apps/gateway_stack.py so the ports and nginx are one process tree: one variant, whose server CPU is
the ports' and the gateway's together.
"""

from __future__ import annotations

import json
import shutil
import sys
from itertools import count
from pathlib import Path

from tasks_bench.paths import APPS_DIR, BENCH_VENV, REPO_ROOT
from tasks_bench.servers import HOST, Variant

GATEWAY_CONF = REPO_ROOT / "deploy" / "nginx" / "gateway.conf"
GATEWAY_SCENARIOS = ["get_task", "create_task"]
# The main context, shared with conformance's gateway: every path in a prefix directory of ours.
MAIN_CONF_TEMPLATE = REPO_ROOT / "deploy" / "nginx" / "main.local.conf.in"


def main_conf(prefix: Path) -> str:
    """deploy/nginx/main.local.conf.in filled in: the error log in `prefix`, warnings and worse only."""
    values = {
        "PREFIX": prefix,
        "ERROR_LOG": prefix / "error.log",
        "ERROR_LOG_LEVEL": "warn",
        "GATEWAY_CONF": GATEWAY_CONF,
    }
    text = MAIN_CONF_TEMPLATE.read_text(encoding="utf-8")
    for name, value in values.items():
        text = text.replace(f"@{name}@", str(value))
    return text


def write_config(prefix: Path, upstreams: list[str], port: int) -> Path:
    """nginx.conf, upstreams.conf and listen.conf in `prefix` (gateway.conf's includes are relative to it)."""
    prefix.mkdir(parents=True, exist_ok=True)
    prefix.chmod(0o755)  # nginx's workers run as `nobody` when started as root
    (prefix / "upstreams.conf").write_text("".join(f"server {address};\n" for address in upstreams))
    (prefix / "listen.conf").write_text(f"listen {HOST}:{port};\n")
    main = prefix / "nginx.conf"
    main.write_text(main_conf(prefix))
    return main


def gateway_variant(ports: list[Variant], database_url: str, numbers: count, work: Path) -> Variant:
    """One variant for the whole stack: each port (its first start) on `database_url`, nginx in front."""
    prefix = work / "gateway"
    members = []
    secret = next(v.env["SECRET_KEY"] for v in ports)  # one key for all: a cursor verifies on every port
    for variant in ports:
        port = next(numbers)
        argv = [part.replace(str(variant.port), str(port)) for part in variant.argv]
        env = {**variant.env, "DATABASE_URL": database_url, "SECRET_KEY": secret}
        members.append(
            {"name": variant.name, "argv": argv, "cwd": str(variant.cwd), "env": env, "port": port}
        )
    port = next(numbers)
    main = write_config(prefix, [f"{HOST}:{m['port']}" for m in members], port)
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    spec = {
        "ports": members,
        "nginx": [nginx, "-p", str(prefix), "-c", str(main), "-e", str(prefix / "error.log")],
        "prefix": str(prefix),
        "ready": ports[0].ready,
    }
    (prefix / "stack.json").write_text(json.dumps(spec))
    python = (
        BENCH_VENV / "bin" / "python" if (BENCH_VENV / "bin" / "python").exists() else Path(sys.executable)
    )
    argv = [str(python), str(APPS_DIR / "gateway_stack.py"), str(prefix / "stack.json")]
    return Variant(
        "gateway:4-ports", "gateway", "gateway", argv, prefix, port, {}, "/readyz", database="postgres"
    )
