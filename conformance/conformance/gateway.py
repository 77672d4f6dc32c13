"""Run deploy/nginx/gateway.conf locally: an unprivileged nginx on 127.0.0.1 in front of given upstreams."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from conformance import server
from conformance.paths import REPO_ROOT

GATEWAY_CONF = REPO_ROOT / "deploy" / "nginx" / "gateway.conf"
# The main context, shared with the bench's gateway scenario: every path in a prefix directory of ours.
MAIN_CONF_TEMPLATE = REPO_ROOT / "deploy" / "nginx" / "main.local.conf.in"


def main_conf(prefix: Path, error_log: Path, level: str = "info") -> str:
    """deploy/nginx/main.local.conf.in with its placeholders filled in."""
    values = {
        "PREFIX": prefix,
        "ERROR_LOG": error_log,
        "ERROR_LOG_LEVEL": level,
        "GATEWAY_CONF": GATEWAY_CONF,
    }
    text = MAIN_CONF_TEMPLATE.read_text(encoding="utf-8")
    for name, value in values.items():
        text = text.replace(f"@{name}@", str(value))
    return text


def nginx_binary() -> str | None:
    """Debian's nginx (`apt-get install nginx`), on PATH or in /usr/sbin (not on a user's PATH)."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def write_config(prefix: Path, upstreams: list[str], port: int, error_log: Path) -> Path:
    """Write nginx.conf, upstreams.conf and listen.conf into `prefix`; return the main file."""
    # nginx resolves gateway.conf's relative includes against the main file's directory: `prefix`.
    (prefix / "upstreams.conf").write_text("".join(f"server {address};\n" for address in upstreams))
    (prefix / "listen.conf").write_text(f"listen {server.HOST}:{port};\n")
    main = prefix / "nginx.conf"
    main.write_text(main_conf(prefix, error_log))
    return main


class Gateway:
    """A running local gateway: its prefix directory, nginx process and base URL."""

    def __init__(self, upstreams: list[str], log_dir: Path, port: int | None = None) -> None:
        binary = nginx_binary()
        if binary is None:
            raise FileNotFoundError("nginx is not installed (Debian: apt-get install -y nginx)")
        self.prefix = Path(tempfile.mkdtemp(prefix="conformance-gateway-"))
        # Run as root, nginx's workers switch to `nobody`: they must reach the temp paths below.
        self.prefix.chmod(0o755)
        port = port or server.free_port()
        # Absolute: nginx runs in its prefix directory, where a relative report path means nothing.
        log_dir = log_dir.resolve()
        error_log = log_dir / "gateway-error.log"
        main = write_config(self.prefix, upstreams, port, error_log)
        argv = [binary, "-p", str(self.prefix), "-c", str(main), "-e", str(error_log)]
        with open(log_dir / "gateway-access.log", "wb") as sink:
            process = subprocess.Popen(
                argv, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.prefix
            )
        # server.Server gives us readiness polling, the SIGTERM check and the kill, as for a port.
        self.running = server.Server(process=process, base_url=f"http://{server.HOST}:{port}", log=error_log)

    @property
    def base_url(self) -> str:
        """Where the gateway listens."""
        return self.running.base_url

    def close(self) -> None:
        """Kill nginx if it still runs and remove its prefix directory."""
        if self.running.process.poll() is None:
            self.running.kill()
        shutil.rmtree(self.prefix, ignore_errors=True)
