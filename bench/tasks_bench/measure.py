"""One wrk run against one server, with the CPU it, the server and everything else used meanwhile."""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import time
from dataclasses import asdict, dataclass, field

from tasks_bench import procs
from tasks_bench.paths import LUA_SCRIPT
from tasks_bench.scenarios import Scenario
from tasks_bench.servers import Variant

WRK_TIMEOUT = "10s"  # a sync pool under 64 connections queues for seconds: that is a result, not an error


@dataclass
class Run:
    """What one run measured."""

    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    statuses: dict[str, int]
    socket_errors: dict[str, int]
    bad_statuses: int  # responses whose status is not a success for this scenario
    server_cpu_us_per_request: float | None
    others_cores: float  # CPU used by every other process on the machine during the run, in cores
    pss_kib_per_worker: float | None
    round: int = 0
    note: str = ""
    raw: dict = field(default_factory=dict, repr=False)

    @property
    def errors(self) -> int:
        return self.bad_statuses + sum(self.socket_errors.values())

    def to_json(self) -> dict:
        data = asdict(self)
        data.pop("raw")
        return data


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_wrk(variant: Variant, scenario: Scenario, connections: int, seconds: float, cpu: str | None) -> Run:
    """Run wrk (pinned to `cpu` when given) for whole `seconds`; account CPU from /proc and rusage."""
    threads = 1 if cpu is not None else min(2, connections)
    argv = (["taskset", "-c", cpu] if cpu is not None else []) + [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{max(1, round(seconds))}s",
        "--timeout",
        WRK_TIMEOUT,
        "-s",
        str(LUA_SCRIPT),
        variant.base_url,
    ]
    env = {
        **os.environ,
        "BENCH_METHOD": scenario.method,
        "BENCH_PATH": scenario.path,
        "BENCH_BODY": scenario.body,
        "BENCH_HEADERS": "\n".join(f"{k}: {v}" for k, v in scenario.headers.items()),
    }
    server_pids = procs.tree(variant.pid)
    busy0, server0, wrk0, self0 = (
        procs.busy_ticks(),
        procs.cpu_ticks(server_pids),
        _children_cpu(),
        _self_cpu(),
    )
    started = time.monotonic()
    # The only child the harness reaps while a run lasts is wrk, so RUSAGE_CHILDREN's delta is wrk's CPU.
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=seconds + 60, check=False)
    wall = time.monotonic() - started
    busy1, server1, wrk1, self1 = (
        procs.busy_ticks(),
        procs.cpu_ticks(server_pids),
        _children_cpu(),
        _self_cpu(),
    )
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    server_cpu = (server1 - server0) / procs.HZ
    others = (busy1 - busy0) / procs.HZ - server_cpu - (wrk1 - wrk0) - (self1 - self0)
    pss = procs.worker_pss_kib(variant.pid)
    statuses = {str(k): int(v) for k, v in raw["statuses"].items()}
    requests = int(raw["requests"])
    return Run(
        requests=requests,
        seconds=raw["duration_us"] / 1e6,
        rps=requests / (raw["duration_us"] / 1e6),
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        statuses=statuses,
        socket_errors={k: int(raw[k]) for k in ("connect", "read", "write", "timeout")},
        bad_statuses=sum(n for status, n in statuses.items() if int(status) not in scenario.ok),
        server_cpu_us_per_request=server_cpu * 1e6 / requests if requests else None,
        others_cores=max(0.0, others / wall),
        pss_kib_per_worker=statistics.mean(pss) if pss else None,
        raw=raw,
    )
