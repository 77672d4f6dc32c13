"""The `conformance` command: `run` the layers against one server, or the `matrix` over every port."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from conformance import report
from conformance.layers import LAYERS, run_layer
from conformance.matrix import run_column
from conformance.paths import DEFAULT_REPORT_DIR, DEFAULT_SECRET_KEY
from conformance.ports import discover
from conformance.settings import (
    DEFAULT_EVENTS_HEARTBEAT_SECONDS,
    DEFAULT_EVENTS_STREAM_SECONDS,
    ServerSettings,
)


def _layers(value: str) -> list[str]:
    layers = [layer.strip() for layer in value.split(",") if layer.strip()]
    unknown = set(layers) - set(LAYERS)
    if unknown or not layers:
        raise argparse.ArgumentTypeError(f"layers are a comma-separated subset of {','.join(LAYERS)}")
    return layers


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="conformance", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the suite against a server that is already running")
    run.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:8000")
    run.add_argument("--report-dir", type=Path, default=DEFAULT_REPORT_DIR / "run")
    run.add_argument(
        "--layers", type=_layers, default=list(LAYERS), help="default: contract,behaviour,transport"
    )
    run.add_argument(
        "--secret-key",
        default=os.environ.get("CONFORMANCE_SECRET_KEY", DEFAULT_SECRET_KEY),
        help="the server's SECRET_KEY, used to check and forge cursors (default: the spec's default key)",
    )
    run.add_argument(
        "--events-heartbeat-seconds",
        type=int,
        default=DEFAULT_EVENTS_HEARTBEAT_SECONDS,
        help="the server's EVENTS_HEARTBEAT_SECONDS (default: the spec's)",
    )
    run.add_argument(
        "--events-stream-seconds",
        type=int,
        default=DEFAULT_EVENTS_STREAM_SECONDS,
        help="the server's EVENTS_STREAM_SECONDS (default: the spec's)",
    )
    matrix = commands.add_parser(
        "matrix", help="start every port (../impl-*/port.toml) and run the suite on each"
    )
    matrix.add_argument("--ports", type=lambda value: value.split(","), help="comma-separated port names")
    matrix.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    matrix.add_argument("--report-dir", type=Path, default=DEFAULT_REPORT_DIR)
    return parser


def _run(args: argparse.Namespace) -> int:
    failed = False
    settings = ServerSettings(args.secret_key, args.events_heartbeat_seconds, args.events_stream_seconds)
    for layer in args.layers:
        print(f"== {layer}", flush=True)
        result = run_layer(layer, args.base_url.rstrip("/"), args.report_dir, settings)
        verdict = "pass" if result.ok else "FAIL"
        print(f"== {layer}: {verdict} in {result.seconds:.0f} s {result.note}".rstrip(), flush=True)
        failed |= not result.ok
    print(f"JUnit XML in {args.report_dir}")
    return 1 if failed else 0


def _matrix(args: argparse.Namespace) -> int:
    postgres_url = os.environ.get("TEST_DATABASE_URL")
    if args.database == "postgres" and not postgres_url:
        print(
            "conformance: --database postgres needs TEST_DATABASE_URL, a server where databases may be "
            "created and dropped, e.g. TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres",
            file=sys.stderr,
        )
        return 2
    try:
        ports = discover(args.ports)
    except ValueError as exc:
        print(f"conformance: {exc}", file=sys.stderr)
        return 2
    if not ports:
        print("conformance: no impl-*/port.toml found", file=sys.stderr)
        return 2
    columns = []
    for port in ports:
        for start in port.starts:
            print(f"== {port.name} ({start.name}) on {args.database}", flush=True)
            column = run_column(port, start, args.database, postgres_url, args.report_dir)
            timing = ", ".join(f"{layer} {seconds:.0f} s" for layer, seconds in column.seconds.items())
            print(f"   {timing}" if timing else "   " + "; ".join(column.notes)[:2000], flush=True)
            columns.append(column)
    report.write(columns, args.database, args.report_dir)
    print()
    print(report.console(columns))
    print(f"\nreports: {args.report_dir / 'matrix.md'}, {args.report_dir / 'matrix.json'}")
    ok = all(not tally.failed for column in columns for tally in column.cells.values())
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    args = _parser().parse_args(argv)
    return _run(args) if args.command == "run" else _matrix(args)


if __name__ == "__main__":
    sys.exit(main())
