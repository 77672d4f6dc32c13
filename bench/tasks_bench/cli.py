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
from itertools import count
from pathlib import Path

import portfile

from tasks_bench import chart, profile, report, runner, servers
from tasks_bench.assemble import DATABASES, Assembly, Phase, assemble, phases, seed_servers
from tasks_bench.measure import Run
from tasks_bench.paths import REPO_ROOT, RESULTS_DIR
from tasks_bench.plan import FULL, QUICK, Cell, Settings, cells
from tasks_bench.scenarios import PORT_SCENARIOS
from tasks_bench.summary import add_ratios, summarize
from tasks_bench.variants import port_numbers

SERVER_CPU, WRK_CPU = "0", "1"
DATABASE_TEXT = {
    "sqlite": "SQLite (a fresh file per server)",
    "postgres": "PostgreSQL (a fresh database per server on TEST_DATABASE_URL's server, dropped at the end)",
    "both": "SQLite (a fresh file per server) and PostgreSQL (a fresh database per server on "
    "TEST_DATABASE_URL's server, dropped at the end)",
}
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
    run.add_argument(
        "--database",
        choices=sorted(DATABASES),
        default="sqlite",
        help="sqlite (default), postgres or both side by side; postgres uses TEST_DATABASE_URL's server",
    )
    run.add_argument("--no-floors", action="store_true", help="skip the floor apps (bench/apps/floor_*.py)")
    run.add_argument(
        "--gateway",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the four ports behind the nginx gateway on one PostgreSQL database (default: in full runs)",
    )
    prof = commands.add_parser("profile", help="load one port and scenario while py-spy samples its workers")
    prof.add_argument("port", help="a port name, e.g. flask")
    prof.add_argument("scenario", choices=PORT_SCENARIOS)
    prof.add_argument("--start", help="the start command's name (default: the first)")
    prof.add_argument("--connections", type=int, default=64)
    prof.add_argument("--seconds", type=int, default=10)
    prof.add_argument("--top", type=int, default=40, help="how many functions to print")
    prof.add_argument("--self", dest="self_only", action="store_true", help="only the self-time view")
    prof.add_argument("--out", type=Path, help="also write the summary to this file (e.g. results/...txt)")
    summ = commands.add_parser("summarize", help="summarise a raw py-spy file (self and inclusive time)")
    summ.add_argument("raw", type=Path)
    summ.add_argument("--top", type=int, default=40, help="how many functions to print")
    summ.add_argument("--self", dest="self_only", action="store_true", help="only the self-time view")
    summ.add_argument("--out", type=Path, help="also write the summary to this file")
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
    uv = os.environ.get("UV") or str(REPO_ROOT / ".tools" / "bin" / "uv")
    for directory in sorted({v.cwd for v in variants if v.group == "port"}):
        for step in portfile.load(directory / portfile.MANIFEST).setup:
            argv = [uv if part == "uv" and shutil.which("uv") is None else part for part in step]
            subprocess.run(argv, cwd=directory, env=servers.clean_env({}), check=True, capture_output=True)


def _write(data: dict, out: Path, stem: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{stem}.json", out / f"{stem}.md", out / f"{stem}.png"]
    report.write_json(paths[0], data)
    paths[1].write_text(report.markdown(data))
    chart.render(data, paths[2])
    return paths


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _run_phase(
    args: argparse.Namespace,
    settings: Settings,
    phase: Phase,
    work: Path,
    numbers: count,
    failures: list[str],
) -> tuple[list[Cell], dict[str, list[Run]]]:
    """Start the phase's servers, seed them, run its cells' rounds; stop them and drop their databases."""
    pinned = not args.unpinned
    server_cpu, wrk_cpu = (SERVER_CPU, WRK_CPU) if pinned else (None, None)
    clock = time.monotonic()
    built = Assembly()
    try:
        assemble(settings, args.ports, phase, work, numbers, 1 if pinned else 2, not args.no_floors, built)
        variants = built.variants
        if not any(v.group in {"port", "gateway"} for v in variants):
            return [], {}  # e.g. no port of this phase's families was asked for
        _setup_ports(variants)
        for variant in variants:
            servers.start(variant, work, server_cpu)
        for variant in variants:
            problem = servers.wait_ready(variant, READY_TIMEOUT)
            if problem:
                failures.append(problem + "\n" + _tail(variant.error_log))
        live = [v for v in variants if not any(f.startswith(v.name + " ") for f in failures)]
        scenarios = dict(built.scenarios)
        seed_servers(live, settings, scenarios, failures)
        _say(f"{len(live)} servers ready in {time.monotonic() - clock:.0f} s; logs in {work}")
        planned = cells(settings, live, scenarios)
        runner.warm_up(planned, wrk_cpu)
        rounds = settings.postgres_rounds if phase.database == "postgres" else None
        rounds = rounds or settings.rounds
        return planned, runner.run_rounds(planned, rounds, args.seed, wrk_cpu)
    finally:
        # A second Ctrl-C or SIGTERM must not cut the cleanup short: servers and databases go first.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for variant in built.variants:
            servers.stop(variant)
        failures += [f"database not dropped: {p}" for p in built.drop_databases()]
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _interrupt)


def _run(args: argparse.Namespace) -> int:
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            print(f"{tool} is missing: `make bench` installs it (apt-get install wrk)", file=sys.stderr)
            return 2
    base = QUICK if args.quick else FULL
    settings: Settings = dataclasses.replace(
        base,
        rounds=args.rounds or base.rounds,
        postgres_rounds=args.rounds or base.postgres_rounds,
        seconds=args.seconds or base.seconds,
        exec_seconds=max(args.seconds or 0, base.exec_seconds),
    )
    pinned = not args.unpinned
    seed_value = args.seed = args.seed if args.seed is not None else int(time.time())
    work = Path(tempfile.mkdtemp(prefix="tasks-bench-"))
    with_gateway = args.gateway if args.gateway is not None else settings.mode == "full"
    failures: list[str] = []
    started_at = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    clock = time.monotonic()
    planned: list[Cell] = []
    runs: dict[str, list[Run]] = {}
    numbers = port_numbers()
    for phase in phases(args.database, with_gateway):
        _say(f"phase {phase.name}")
        done_planned, done_runs = _run_phase(args, settings, phase, work, numbers, failures)
        planned += done_planned
        runs.update(done_runs)
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
            "postgres_rounds": settings.postgres_rounds or settings.rounds,
            "seconds": settings.seconds,
            "exec_seconds": settings.exec_seconds,
            "seed": seed_value,
            "wrk": _wrk_version(),
            "python": platform.python_version(),
            "database": DATABASE_TEXT[args.database],
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
        return profile.profile(
            args.port,
            args.start,
            args.scenario,
            args.connections,
            args.seconds,
            args.top,
            args.self_only,
            args.out,
        )
    if args.command == "summarize":
        return profile.write_summary(args.raw, args.top, args.self_only, args.out)
    if args.command == "render":
        data = json.loads(args.json.read_text())
        for path in _write(data, args.json.parent, args.json.stem):
            print(f"wrote {path}", file=sys.stderr)
        return 0
    try:
        return _run(args)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the phases' `finally` already stopped and dropped all
        print("interrupted: every server stopped, every database dropped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
