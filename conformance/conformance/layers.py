"""Run one layer of the suite (contract, behaviour, transport) against a base URL as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from conformance.junit import Tally, tally
from conformance.paths import (
    BEHAVIOUR_TESTS,
    CONFORMANCE_DIR,
    SCHEMATHESIS_CONFIG,
    SPEC_DIR,
    TRANSPORT_TESTS,
    behaviour_modules,
)
from conformance.settings import ServerSettings

LAYERS = ("contract", "behaviour", "transport")

# The cross-port tests of the gateway column (`conformance matrix --mixed`): they need every port's URL.
MIXED_TESTS = CONFORMANCE_DIR / "tests" / "mixed"

# Upper bounds per layer, so that a hung server fails its column instead of hanging the matrix.
TIMEOUTS = {"contract": 900, "behaviour": 900, "transport": 300, "mixed": 600}


def mixed_modules() -> list[str]:
    """Names of the cross-port modules, one row each in the mixed column."""
    return sorted(path.stem for path in MIXED_TESTS.glob("test_*.py"))


@dataclass
class LayerResult:
    """What one layer did: exit status, duration and the rows it fills in the matrix."""

    name: str
    returncode: int
    seconds: float
    rows: dict[str, Tally] = field(default_factory=dict)
    note: str = ""

    @property
    def ok(self) -> bool:
        """A layer passes when its tool exits 0 and no row it owns has a failure."""
        return self.returncode == 0 and all(row.failed == 0 for row in self.rows.values())


def _command(
    layer: str, base_url: str, junit: Path, settings: ServerSettings, port_urls: dict[str, str]
) -> list[str]:
    if layer == "contract":
        schemathesis = str(Path(sys.executable).with_name("schemathesis"))
        return [
            schemathesis, "--config-file", str(SCHEMATHESIS_CONFIG), "run", str(SPEC_DIR / "openapi.yaml"),
            "--url", base_url, "--workers", "1",
            "--report", "junit", "--report-junit-path", str(junit),
        ]  # fmt: skip
    tests = {"behaviour": BEHAVIOUR_TESTS, "transport": TRANSPORT_TESTS, "mixed": MIXED_TESTS}[layer]
    urls = ",".join(f"{name}={url}" for name, url in port_urls.items())
    extra = {
        "mixed": [f"--port-urls={urls}"],
        # Two test processes, one module each at a time: the modules share nothing (every test makes its
        # own users), so this cuts the layer's wall time by about a third on two cores.
        "behaviour": ["-n", "2", "--dist", "loadfile"],
    }.get(layer, [])
    return [
        sys.executable, "-m", "pytest", str(tests), "--rootdir", str(CONFORMANCE_DIR), "-q", "-rf",
        "--base-url", base_url, *settings.pytest_args(), *extra, "--junitxml", str(junit),
    ]  # fmt: skip


def _rows(layer: str, junit: Path) -> dict[str, Tally]:
    if layer == "behaviour":
        found = tally(junit, by_module=True)
        # Every module gets a row, even one whose tests never ran (a collection error, a crash).
        return {module: found.get(module, Tally()) for module in behaviour_modules()}
    if layer == "mixed":
        found = tally(junit, by_module=True)
        return {module: found.get(module, Tally()) for module in mixed_modules()}
    return {layer: tally(junit, by_module=False).get("all", Tally())}


def run_layer(
    layer: str,
    base_url: str,
    report_dir: Path,
    settings: ServerSettings,
    log: Path | None = None,
    port_urls: dict[str, str] | None = None,
) -> LayerResult:
    """Run `layer`; its JUnit XML goes to report_dir/<layer>.xml, its output to `log` (or the console).

    `port_urls` (name to base URL of each port behind the gateway) is for the `mixed` layer alone.
    """  # fmt: skip
    report_dir.mkdir(parents=True, exist_ok=True)
    junit = report_dir / f"{layer}.xml"
    junit.unlink(missing_ok=True)
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "conformance.hooks", "PYTHONUNBUFFERED": "1"}
    started = time.monotonic()
    note = ""
    with open(log, "w") if log else open(os.devnull, "w") as sink:
        output = sink if log else None
        try:
            completed = subprocess.run(
                _command(layer, base_url, junit, settings, port_urls or {}),
                cwd=CONFORMANCE_DIR,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT if log else None,
                timeout=TIMEOUTS[layer],
                check=False,
            )
            returncode = completed.returncode
        except subprocess.TimeoutExpired:
            returncode, note = -1, f"timed out after {TIMEOUTS[layer]} s"
    rows = _rows(layer, junit)
    if returncode != 0 and not any(row.failed for row in rows.values()):
        # The tool failed without a failing test case (crash, usage error, timeout): blame every row.
        note = note or f"exit status {returncode} without a failing test case"
        for row in rows.values():
            row.failed += 1
            row.failures.append(note)
            row.broken = True
    return LayerResult(layer, returncode, time.monotonic() - started, rows, note)
