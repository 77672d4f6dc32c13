"""Run deploy/nginx/gateway.conf locally: an unprivileged nginx on 127.0.0.1 in front of given upstreams."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from conformance import server
from conformance.paths import REPO_ROOT

GATEWAY_CONF = REPO_ROOT / "deploy" / "nginx" / "gateway.conf"

# The main context: what compose gets from the nginx image, here with every path in a directory of our
# own, so that nginx needs no root, no /etc/nginx and no /var/lib/nginx.
MAIN_CONF = """\
daemon off;
master_process on;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {error_log} info;
events {{
    worker_connections 1024;
}}
http {{
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {gateway_conf};
}}
"""


def nginx_binary() -> str | None:
    """Debian's nginx (`apt-get install nginx`), on PATH or in /usr/sbin (not on a user's PATH)."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def write_config(prefix: Path, upstreams: list[str], port: int, error_log: Path) -> Path:
    """Write nginx.conf, upstreams.conf and listen.conf into `prefix`; return the main file."""
    # nginx resolves gateway.conf's relative includes against the main file's directory: `prefix`.
    (prefix / "upstreams.conf").write_text("".join(f"server {address};\n" for address in upstreams))
    (prefix / "listen.conf").write_text(f"listen {server.HOST}:{port};\n")
    main = prefix / "nginx.conf"
    main.write_text(MAIN_CONF.format(prefix=prefix, error_log=error_log, gateway_conf=GATEWAY_CONF))
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
