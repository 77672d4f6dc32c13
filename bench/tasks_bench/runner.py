"""Interleave the cells: every round runs every cell once, in a new random order."""

from __future__ import annotations

import random
import sys
import time

from tasks_bench.measure import Run, run_wrk
from tasks_bench.plan import Cell
from tasks_bench.servers import truncate_access_log

WARMUP_SECONDS = 1
PAUSE_SECONDS = 0.2  # lets the previous run's connections close before the next run starts


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def warm_up(cells: list[Cell], wrk_cpu: str | None) -> None:
    """One short unrecorded run per server and scenario: imports, pools and caches are warm before round 1."""
    done: set[tuple[str, str]] = set()
    for cell in cells:
        if (cell.variant.name, cell.scenario.name) in done or cell.variant.group == "exec":
            continue
        done.add((cell.variant.name, cell.scenario.name))
        try:
            run_wrk(
                cell.variant,
                cell.scenario,
                max(c.connections for c in cells if c.variant is cell.variant),
                WARMUP_SECONDS,
                wrk_cpu,
            )
        except RuntimeError as exc:
            _say(f"warm-up {cell.key}: {exc}")
        truncate_access_log(cell.variant)


def run_rounds(cells: list[Cell], rounds: int, seed: int, wrk_cpu: str | None) -> dict[str, list[Run]]:
    """Run every cell once per round in random order; return the runs of each cell, by key."""
    results: dict[str, list[Run]] = {cell.key: [] for cell in cells}
    rng = random.Random(seed)
    started = time.monotonic()
    for round_number in range(1, rounds + 1):
        order = cells[:]
        rng.shuffle(order)
        for index, cell in enumerate(order, 1):
            if cell.variant.process is not None and cell.variant.process.poll() is not None:
                _say(
                    f"{cell.variant.name} has exited (status {cell.variant.process.returncode}): cell failed"
                )
                results[cell.key].append(_failed_run(round_number, "server exited"))
                continue
            try:
                run = run_wrk(cell.variant, cell.scenario, cell.connections, cell.seconds, wrk_cpu)
            except RuntimeError as exc:
                run = _failed_run(round_number, str(exc))
            run.round = round_number
            results[cell.key].append(run)
            truncate_access_log(cell.variant)
            _say(
                f"[{round_number}/{rounds} {index:3d}/{len(order)} {time.monotonic() - started:5.0f}s] "
                f"{cell.key:40s} {run.rps:9.1f} req/s p99 {run.p99_ms:8.1f} ms errors {run.errors} "
                f"others {run.others_cores:.2f} cores"
            )
            time.sleep(PAUSE_SECONDS)
    return results


def _failed_run(round_number: int, note: str) -> Run:
    return Run(0, 0.0, 0.0, 0.0, 0.0, {}, {"harness": 1}, 0, None, 0.0, None, round=round_number, note=note)
