"""`bench profile`: one port under load while py-spy samples its workers; prints where the time goes."""

from __future__ import annotations

import itertools
import subprocess
import tempfile
import threading
from pathlib import Path

from tasks_bench import flame, servers
from tasks_bench.measure import run_wrk
from tasks_bench.paths import REPO_ROOT
from tasks_bench.scenarios import seed
from tasks_bench.variants import port_variants

PY_SPY = "py-spy==0.4.1"  # run by `uv tool run`: a profiler for this command only, not a dependency
FIRST_PORT = 19450


def profile(
    port: str,
    start: str | None,
    scenario: str,
    connections: int,
    seconds: int,
    top: int,
    self_only: bool = False,
    out: Path | None = None,
) -> int:
    """Start the port pinned to CPU 0, load one scenario from CPU 1, record with py-spy, print the top.

    With `out`, the summary is also written to that file, for a README to link.
    """
    work = Path(tempfile.mkdtemp(prefix="tasks-bench-profile-"))
    candidates = port_variants([port], True, itertools.count(FIRST_PORT), work)
    variant = next((v for v in candidates if start is None or v.name.endswith(f":{start}")), None)
    if variant is None:
        print(f"no start {start!r} for port {port!r}: {[v.name for v in candidates]}")
        return 2
    servers.start(variant, work, "0")
    try:
        problem = servers.wait_ready(variant, 120)
        if problem:
            print(problem)
            return 1
        chosen = {s.name: s for s in seed(variant)}[scenario]
        run_wrk(variant, chosen, connections, 2, "1")  # warm-up
        output = work / "profile.txt"
        spy = ["uv", "tool", "run", "--from", PY_SPY, "py-spy", "record", "--pid", str(variant.pid),
               "--subprocesses", "--nonblocking", "--rate", "100", "--format", "raw",
               "--duration", str(seconds), "--output", str(output)]  # fmt: skip
        local_uv = REPO_ROOT / ".tools" / "bin" / "uv"
        spy[0] = str(local_uv) if local_uv.exists() else "uv"
        recorder = threading.Thread(target=subprocess.run, args=(spy,), kwargs={"capture_output": True})
        recorder.start()
        run = run_wrk(variant, chosen, connections, seconds, "1")
        recorder.join()
    finally:
        servers.stop(variant)
    cpu = run.server_cpu_us_per_request or 0
    head = (f"{variant.name} {scenario} c{connections}: {run.rps:,.0f} req/s, p99 {run.p99_ms:.0f} ms, "
            f"{cpu:,.0f} µs CPU/request (under py-spy); samples in {output}")  # fmt: skip
    if not output.exists():
        print(head + "\npy-spy wrote nothing (ptrace denied?)")
        return 1
    return write_summary(output, top, self_only, out, head)


def write_summary(raw: Path, top: int, self_only: bool, out: Path | None, head: str = "") -> int:
    """Print the summary of a raw py-spy file; with `out`, write it there too."""
    lines = ([head, ""] if head else []) + flame.report(raw, top, self_only)
    print("\n".join(lines))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("\n".join(lines) + "\n")
        print(f"wrote {out}")
    return 0
