"""`bench run` (start everything, seed, interleave the runs, write the results) and `bench render`."""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tasks_bench import chart, profile, report, runner, servers
from tasks_bench.paths import REPO_ROOT, RESULTS_DIR
from tasks_bench.plan import FULL, QUICK, Settings, cells
from tasks_bench.scenarios import PORT_SCENARIOS, SeedError, seed
from tasks_bench.summary import add_ratios, summarize
from tasks_bench.variants import ceiling_variants, exec_variants, port_numbers, port_variants

SERVER_CPU, WRK_CPU = "0", "1"
READY_TIMEOUT = 180.0  # every server starts at once, on one core when pinned


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="benchmark every port against its ceilings")
    run.add_argument(
        "--quick", action="store_true", help="CI size: 64 connections, 3 rounds of 1 s, no granian"
    )
    run.add_argument("--unpinned", action="store_true", help="let the kernel place servers and wrk")
    run.add_argument("--ports", type=lambda v: v.split(","), help="comma-separated port names (default: all)")
    run.add_argument("--rounds", type=int, help="override the mode's rounds (at least 5 in full)")
    run.add_argument("--seconds", type=float, help="override the length of one run")
    run.add_argument(
        "--threshold",
        type=float,
        default=0.25,
        help="drop a run when other processes used more than this many cores meanwhile",
    )
    run.add_argument("--seed", type=int, default=None, help="random order seed (default: from the clock)")
    run.add_argument("--out", type=Path, default=RESULTS_DIR)
    prof = commands.add_parser("profile", help="load one port and scenario while py-spy samples its workers")
    prof.add_argument("port", help="a port name, e.g. flask")
    prof.add_argument("scenario", choices=PORT_SCENARIOS)
    prof.add_argument("--start", help="the start command's name (default: the first)")
    prof.add_argument("--connections", type=int, default=64)
    prof.add_argument("--seconds", type=int, default=10)
    prof.add_argument("--top", type=int, default=40, help="how many functions to print")
    render = commands.add_parser("render", help="write the Markdown and PNG again from a results JSON")
    render.add_argument("json", type=Path)
    return parser


def _machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = int(Path("/proc/meminfo").read_text().split()[1]) // 1024 // 1024
    return f"{os.cpu_count()} CPUs ({model}), {memory} GiB, Linux {platform.release()}"


def _wrk_version() -> str:
    done = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    return (done.stdout + done.stderr).split()[1] if (done.stdout + done.stderr).split()[1:] else "?"


def _setup_ports(variants: list[servers.Variant]) -> None:
    """Run each port's setup steps (uv sync --frozen), as the matrix does."""
    import tomllib

    uv = os.environ.get("UV") or str(REPO_ROOT / ".tools" / "bin" / "uv")
    for directory in sorted({v.cwd for v in variants if v.group == "port"}):
        for step in tomllib.loads((directory / "port.toml").read_text()).get("setup", []):
            argv = [uv if part == "uv" and shutil.which("uv") is None else part for part in step]
            subprocess.run(argv, cwd=directory, env=servers.clean_env({}), check=True, capture_output=True)


def _write(data: dict, out: Path, stem: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{stem}.json", out / f"{stem}.md", out / f"{stem}.png"]
    report.write_json(paths[0], data)
    paths[1].write_text(report.markdown(data))
    chart.render(data, paths[2])
    return paths


def _run(args: argparse.Namespace) -> int:
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            print(f"{tool} is missing: `make bench` installs it (apt-get install wrk)", file=sys.stderr)
            return 2
    base = QUICK if args.quick else FULL
    settings: Settings = dataclasses.replace(
        base,
        rounds=args.rounds or base.rounds,
        seconds=args.seconds or base.seconds,
        exec_seconds=max(args.seconds or 0, base.exec_seconds),
    )
    pinned = not args.unpinned
    server_cpu, wrk_cpu = (SERVER_CPU, WRK_CPU) if pinned else (None, None)
    seed_value = args.seed if args.seed is not None else int(time.time())
    work = Path(tempfile.mkdtemp(prefix="tasks-bench-"))
    numbers = port_numbers()
    ports = port_variants(args.ports, settings.all_starts, numbers, work)
    wanted = {v.server for v in ports} | (
        {"gunicorn-sync", "granian-wsgi", "granian-asgi"} if not args.quick else set()
    )
    variants = [
        *ports,
        *ceiling_variants(wanted, numbers, work / "nginx", 1 if pinned else 2),
        *exec_variants(numbers),
    ]
    failures: list[str] = []
    started_at = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    clock = time.monotonic()
    try:
        _setup_ports(variants)
        for variant in variants:
            servers.start(variant, work, server_cpu)
        for variant in variants:
            problem = servers.wait_ready(variant, READY_TIMEOUT)
            if problem:
                failures.append(problem + "\n" + _tail(variant.error_log))
        live = [v for v in variants if not any(f.startswith(v.name + " ") for f in failures)]
        scenarios = {}
        for variant in (v for v in live if v.group == "port"):
            try:
                scenarios[variant.name] = seed(variant)
            except (SeedError, OSError) as exc:
                failures.append(f"{variant.name}: seeding failed: {exc}")
        print(
            f"{len(live)} servers ready in {time.monotonic() - clock:.0f} s; logs in {work}", file=sys.stderr
        )
        planned = cells(settings, live, scenarios)
        runner.warm_up(planned, wrk_cpu)
        runs = runner.run_rounds(planned, settings.rounds, seed_value, wrk_cpu)
    finally:
        for variant in variants:
            servers.stop(variant)
    summaries = [summarize(cell, runs[cell.key], args.threshold) for cell in planned]
    add_ratios(summaries)
    every_run = [run for key in runs for run in runs[key]]
    data = {
        "meta": {
            "mode": settings.mode,
            "started": started_at,
            "machine": _machine(),
            "pinned": pinned,
            "rounds": settings.rounds,
            "seconds": settings.seconds,
            "exec_seconds": settings.exec_seconds,
            "seed": seed_value,
            "wrk": _wrk_version(),
            "python": platform.python_version(),
            "database": "SQLite (a fresh file per server; DATABASE_URL as each port reads it)",
            "elapsed_seconds": time.monotonic() - clock,
            "scenarios": PORT_SCENARIOS,
        },
        "disturbance": {
            "threshold": args.threshold,
            "runs": len(every_run),
            "dropped": sum(1 for r in every_run if r.others_cores > args.threshold),
            "median_others_cores": statistics.median(r.others_cores for r in every_run) if every_run else 0.0,
            "cells_all_disturbed": sum(1 for s in summaries if s.all_disturbed),
        },
        "failures": failures,
        "cells": [
            {
                **dataclasses.asdict(s),
                "order": PORT_SCENARIOS.index(s.scenario) if s.scenario in PORT_SCENARIOS else 0,
                "run_details": [r.to_json() for r in runs[s.key]],
            }
            for s in summaries
        ],
    }
    stem = settings.mode + ("" if pinned else "-unpinned")
    for path in _write(data, args.out, stem):
        print(f"wrote {path}", file=sys.stderr)
    if failures:
        print("not measured:\n" + "\n".join(failures), file=sys.stderr)
        print(f"server logs kept in {work}", file=sys.stderr)
        return 1
    shutil.rmtree(work, ignore_errors=True)
    return 0


def _tail(path: Path | None, lines: int = 15) -> str:
    if path is None or not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM (a CI timeout) stops the servers too, through the same `finally`


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `bench` command."""
    args = _parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    if args.command == "profile":
        return profile.profile(args.port, args.start, args.scenario, args.connections, args.seconds, args.top)
    if args.command == "render":
        data = json.loads(args.json.read_text())
        for path in _write(data, args.json.parent, args.json.stem):
            print(f"wrote {path}", file=sys.stderr)
        return 0
    return _run(args)


if __name__ == "__main__":
    sys.exit(main())
