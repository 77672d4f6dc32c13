"""A stopped run leaves nothing behind: SIGTERM or Ctrl-C ends every process and database it started."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from conformance.ports import discover

CONFORMANCE = Path(sys.executable).with_name("conformance")
# The port whose column is started: any one does (the suite never branches on it); the first by default.
PORT = os.environ.get("SELFTEST_PORT") or discover(None)[0].name
# The ports of the gateway runs (`matrix --mixed`, `demo`): two are enough; the first two by default.
TWO_PORTS = os.environ.get("SELFTEST_PORTS") or ",".join(port.name for port in discover(None)[:2])
PER_PORT = ["matrix", "--ports", PORT, "--starts", "first", "--layers", "contract"]
STARTUP = 180.0  # setup (uv sync) and the server's start, on a loaded machine
PROMPT = 30.0  # the runner must have exited this soon after the signal
TAG = "CONFORMANCE_SELFTEST"  # every process the run starts inherits it: how the test finds them


def _stat_state(pid: str) -> str:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2 :].split()[0]


def tagged(tag: str) -> list[int]:
    """Live processes (zombies aside) whose environment carries the test's tag."""
    needle = f"{TAG}={tag}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError, ValueError):
            mine = entry.name.isdigit() and needle in (entry / "environ").read_bytes().split(b"\0")
            if mine and _stat_state(entry.name) != "Z":
                found.append(int(entry.name))
    return found


def family(tag: str, runner: int) -> set[int]:
    """The tagged processes and every process below the runner (nginx overwrites its environment with
    its process title, so its tag cannot be read)."""
    below: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError, ValueError):
            if entry.name.isdigit() and _stat_state(entry.name) != "Z":
                stat = (entry / "stat").read_text()
                parent = int(stat[stat.rindex(")") + 2 :].split()[1])
                below.setdefault(parent, []).append(int(entry.name))
    found, todo = set(tagged(tag)), [runner]
    while todo:
        children = below.get(todo.pop(), [])
        found.update(children)
        todo.extend(children)
    return found


def alive(pids: set[int]) -> set[int]:
    """Those of `pids` still running (not gone, not a zombie)."""
    left = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            if _stat_state(str(pid)) != "Z":
                left.add(pid)
    return left


def listening(pids: list[int] | set[int]) -> set[int]:
    """The TCP ports these processes listen on (through /proc: their socket inodes in /proc/net/tcp)."""
    inodes = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target.startswith("socket:["):
                        inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def answers(port: int) -> bool:
    """Something on 127.0.0.1:port answers HTTP."""
    try:
        httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2.0)
    except httpx.HTTPError:
        return False
    return True


def closed(port: int) -> bool:
    """Nothing accepts a connection on 127.0.0.1:port."""
    with socket.socket() as sock:
        sock.settimeout(2.0)
        return sock.connect_ex(("127.0.0.1", port)) != 0


@contextlib.contextmanager
def run(
    tmp_path: Path, args: list[str], env: dict[str, str]
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`conformance <args>`, tagged, reports in tmp_path; whatever it leaves is killed afterwards."""
    tag = uuid.uuid4().hex
    command = [str(CONFORMANCE), *args, "--report-dir", str(tmp_path / "reports")]
    log = open(tmp_path / "runner.log", "wb")  # noqa: SIM115 (closed below, after the process)
    runner = subprocess.Popen(
        command,
        env={**os.environ, **env, TAG: tag},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield runner, tag
    finally:
        for pid in set(tagged(tag)) | family(tag, runner.pid):  # the test's own hygiene, whatever happened
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(runner.pid, signal.SIGKILL)
        runner.wait()
        log.close()


def wait_serving(runner: subprocess.Popen[bytes], tag: str, tmp_path: Path) -> tuple[set[int], set[int]]:
    """Wait until the run's servers answer and its contract layer runs; its processes and ports then."""
    deadline = time.monotonic() + STARTUP
    while time.monotonic() < deadline:
        assert runner.poll() is None, (tmp_path / "runner.log").read_text(errors="replace")
        ports = listening(family(tag, runner.pid))
        started = list((tmp_path / "reports").glob("*/contract.log"))
        if started and ports and all(answers(port) for port in ports):
            time.sleep(2.0)  # the layer's tool well under way, its own processes started
            pids = family(tag, runner.pid)
            return pids, listening(pids)
        time.sleep(0.5)
    pytest.fail(f"the run's server never answered within {STARTUP:.0f} s")


def stop_and_check(
    runner: subprocess.Popen[bytes], tag: str, sig: signal.Signals, started: tuple[set[int], set[int]]
) -> None:
    """Send `sig` to the runner: it exits non-zero promptly, and nothing it started is left."""
    pids, ports = started
    assert ports, "the run listens on no port"
    sent = time.monotonic()
    runner.send_signal(sig)
    try:
        status = runner.wait(timeout=PROMPT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the runner still runs {PROMPT:.0f} s after {sig.name}")
    assert status != 0, f"exit status 0 after {sig.name}"
    assert time.monotonic() - sent < PROMPT
    deadline = time.monotonic() + 5.0  # a killed process is reaped by init a moment later
    while (tagged(tag) or alive(pids)) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = {}
    for pid in set(tagged(tag)) | alive(pids):
        with contextlib.suppress(OSError):
            left[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")[:120]
    assert not left, f"left running after {sig.name}: {left}"
    assert all(closed(port) for port in ports), f"still listening after {sig.name}: {ports}"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_matrix_stops_everything(tmp_path: Path, sig: signal.Signals) -> None:
    """A per-port column stopped by SIGTERM (as `timeout` sends) or SIGINT (Ctrl-C) leaves no process."""
    with run(tmp_path, [*PER_PORT, "--database", "sqlite"], {}) as (runner, tag):
        stop_and_check(runner, tag, sig, wait_serving(runner, tag, tmp_path))


@pytest.mark.parametrize(
    ("args", "sig"),
    [
        (["matrix", "--mixed", "--ports", TWO_PORTS, "--layers", "contract"], signal.SIGTERM),
        (["demo", "--ports", TWO_PORTS], signal.SIGINT),
    ],
    ids=["matrix-mixed-SIGTERM", "demo-SIGINT"],
)
def test_gateway_runs_stop_everything(tmp_path: Path, args: list[str], sig: signal.Signals) -> None:
    """The gateway column and the demo: nginx, every port and the layer's tool are gone too."""
    if shutil.which("nginx") is None and shutil.which("nginx", path="/usr/sbin:/usr/local/sbin") is None:
        pytest.skip("needs nginx (make demo and make test install it)")
    with run(tmp_path, args, {}) as (runner, tag):
        started = wait_serving(runner, tag, tmp_path)
        assert len(started[1]) >= 3, f"expected two ports and the gateway listening: {started[1]}"
        stop_and_check(runner, tag, sig, started)


def test_matrix_postgres_drops_its_database(tmp_path: Path) -> None:
    """On PostgreSQL the column's database is dropped too (the run's marker names it)."""
    admin_url = os.environ.get("TEST_DATABASE_URL")
    if not admin_url:
        pytest.skip("needs TEST_DATABASE_URL (a PostgreSQL server where databases may be created)")
    marker = uuid.uuid4().hex[:12]
    pattern = f"conformance\\_{marker}\\_%"

    def databases() -> list[str]:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            query = "SELECT datname FROM pg_database WHERE datname LIKE %s"
            return [row[0] for row in admin.execute(query, (pattern,))]

    env = {"TEST_DATABASE_URL": admin_url, "CONFORMANCE_RUN": marker}
    with run(tmp_path, [*PER_PORT, "--database", "postgres"], env) as (runner, tag):
        started = wait_serving(runner, tag, tmp_path)
        assert databases(), "the run's database is not named with its marker"
        stop_and_check(runner, tag, signal.SIGTERM, started)
        assert not databases(), "the run's database is left after SIGTERM"
