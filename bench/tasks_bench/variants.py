"""Every server of a benchmark run: the ports (from port.toml), the ceilings, the execution-model apps."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Callable
from itertools import count
from pathlib import Path

import portfile

from tasks_bench.family import server_of
from tasks_bench.paths import APPS_DIR, ASGI_VENV, BENCH_VENV, REPO_ROOT, SPEC_DIR, WEB_DIR, WSGI_VENV
from tasks_bench.servers import HOST, Variant

FIRST_PORT = 19200  # this harness's TCP range is 19200-19499
ALLOWED_ORIGIN = "https://allowed.example"


def port_variants(
    names: list[str] | None,
    all_starts: bool,
    ports: count,
    data_dir: Path,
    database_url: Callable[[str], str] | None = None,
    database: str = "sqlite",
) -> list[Variant]:
    """Each port (impl-*/port.toml) under each of its start commands (or only the first).

    `database_url(slug)` gives each a fresh database (default: a SQLite file in `data_dir`); on PostgreSQL
    the variants are named `port:start@pg`, so one run can hold both databases side by side.
    """
    variants = []
    for manifest in portfile.discover(REPO_ROOT, names or None):
        for start in manifest.starts if all_starts else manifest.starts[:1]:
            port = next(ports)
            name = f"{manifest.name}:{start.name}" + ("@pg" if database == "postgres" else "")
            slug = name.replace(":", "-").replace("@", "-")
            url = database_url(slug) if database_url else f"sqlite:///{data_dir / (slug + '.db')}"
            env = {
                # Production settings: DEBUG is off by default in every port; CORS on as deployed.
                "DATABASE_URL": url,
                "SECRET_KEY": secrets.token_urlsafe(32),
                "SPEC_DIR": str(SPEC_DIR),
                "WEB_DIR": str(WEB_DIR),
                "CORS_ALLOW_ORIGINS": ALLOWED_ORIGIN,
                **manifest.env,
            }
            variants.append(
                Variant(
                    name=name,
                    group="port",
                    server=server_of(start.command, manifest.directory),
                    argv=start.argv(HOST, port),
                    cwd=manifest.directory,
                    port=port,
                    env=env,
                    ready=manifest.ready,
                    database=database,
                )
            )
    return variants


def server_argv(family: str, venv: Path, conf: str, app: str, port: int) -> list[str]:
    """A bare app's command on `family`: gunicorn with config `conf`, or granian with interface `conf`."""
    return (
        _granian(venv, conf, app, port) if family.startswith("granian") else _gunicorn(venv, conf, app, port)
    )


def _gunicorn(venv: Path, conf: str, app: str, port: int) -> list[str]:
    return [str(venv / "bin" / "gunicorn"), "--config", str(APPS_DIR / conf), "--bind", f"{HOST}:{port}", app]


def _granian(venv: Path, interface: str, app: str, port: int) -> list[str]:
    threads = ["--blocking-threads", "4"] if interface == "wsgi" else []
    return [
        str(venv / "bin" / "granian"),
        "--interface",
        interface,
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        "2",
        "--http",
        "1",
        "--no-ws",
        *threads,
        app,
    ]


def _bare(name: str, group: str, server: str, argv: list[str], port: int) -> Variant:
    # PYTHONPATH: gunicorn imports the worker class (uvicorn_bare.Worker) before --chdir would apply.
    return Variant(name, group, server, argv, APPS_DIR, port, env={"PYTHONPATH": str(APPS_DIR)})


def ceiling_variants(
    servers: set[str], ports: count, nginx_prefix: Path, nginx_workers: int
) -> list[Variant]:
    """nginx and a bare hello on each server configuration in `servers`."""
    builders = {
        "gunicorn-gthread": lambda p: _gunicorn(
            WSGI_VENV, "gunicorn_gthread.py", "hello_wsgi:application", p
        ),
        "gunicorn-sync": lambda p: _gunicorn(WSGI_VENV, "gunicorn_sync.py", "hello_wsgi:application", p),
        "gunicorn-uvicorn": lambda p: _gunicorn(ASGI_VENV, "gunicorn_uvicorn.py", "hello_asgi:app", p),
        "granian-wsgi": lambda p: _granian(BENCH_VENV, "wsgi", "hello_wsgi:application", p),
        "granian-asgi": lambda p: _granian(BENCH_VENV, "asginl", "hello_asgi:app", p),
    }
    port = next(ports)
    nginx_conf = write_nginx_conf(nginx_prefix, port, nginx_workers)
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    variants = [
        Variant(
            "nginx",
            "ceiling",
            "nginx",
            [nginx, "-p", str(nginx_conf.parent), "-c", str(nginx_conf)],
            nginx_conf.parent,
            port,
        )
    ]
    for server in sorted(servers):
        port = next(ports)
        variants.append(_bare(f"hello:{server}", "ceiling", server, builders[server](port), port))
    return variants


def exec_variants(ports: count) -> list[Variant]:
    """The execution-models experiment: a 50 ms wait under sync, gthread and uvicorn workers."""
    sync, gthread, uvicorn = next(ports), next(ports), next(ports)
    return [
        _bare(
            "wait:sync",
            "exec",
            "gunicorn-sync",
            _gunicorn(WSGI_VENV, "gunicorn_sync.py", "wait_wsgi:application", sync),
            sync,
        ),
        _bare(
            "wait:gthread",
            "exec",
            "gunicorn-gthread",
            _gunicorn(WSGI_VENV, "gunicorn_gthread.py", "wait_wsgi:application", gthread),
            gthread,
        ),
        _bare(
            "wait:uvicorn",
            "exec",
            "gunicorn-uvicorn",
            _gunicorn(ASGI_VENV, "gunicorn_uvicorn.py", "wait_asgi:app", uvicorn),
            uvicorn,
        ),
    ]


def write_nginx_conf(prefix: Path, port: int, workers: int) -> Path:
    """nginx.conf from the template, with its own prefix directory for pid, logs and temp files."""
    prefix.mkdir(parents=True, exist_ok=True)
    text = (APPS_DIR / "nginx.conf").read_text()
    text = (
        text.replace("{prefix}", str(prefix)).replace("{port}", str(port)).replace("{workers}", str(workers))
    )
    conf = prefix / "nginx.conf"
    conf.write_text(text)
    return conf


def port_numbers() -> count:
    """TCP ports handed out in order from the harness's range."""
    return count(FIRST_PORT)
