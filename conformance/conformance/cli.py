"""The `conformance` command: `run` against one server, the `matrix` over every port, `demo`, `slowloris`."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

import psycopg

from conformance import coverage, demo, interrupt, report, slowloris
from conformance.layers import LAYERS, MATRIX_LAYERS, run_layer
from conformance.matrix import Column, run_column
from conformance.mixed import run_mixed
from conformance.paths import DEFAULT_REPORT_DIR, DEFAULT_SECRET_KEY
from conformance.ports import discover
from conformance.settings import (
    DEFAULT_EVENTS_HEARTBEAT_SECONDS,
    DEFAULT_EVENTS_STREAM_SECONDS,
    ServerSettings,
)


def _layers(value: str, known: tuple[str, ...] = LAYERS) -> list[str]:
    layers = [layer.strip() for layer in value.split(",") if layer.strip()]
    unknown = set(layers) - set(known)
    if unknown or not layers:
        raise argparse.ArgumentTypeError(f"layers are a comma-separated subset of {','.join(known)}")
    return layers


def _matrix_layers(value: str) -> tuple[str, ...]:
    chosen = _layers(value, MATRIX_LAYERS)
    return tuple(layer for layer in MATRIX_LAYERS if layer in chosen)  # always in the matrix's order


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
    matrix.add_argument(
        "--database-url",
        default="",
        help="run on this existing database (postgresql://... or sqlite:////path), never created or "
        "dropped: the suite's data is what it creates; the kind follows the URL (no TEST_DATABASE_URL)",
    )
    matrix.add_argument("--report-dir", type=Path, default=DEFAULT_REPORT_DIR)
    matrix.add_argument(
        "--mixed",
        action="store_true",
        help="instead of a column per port: every port on one database behind the nginx gateway (the "
        "'mixed' column), the suite and the cross-port tests through it",
    )
    matrix.add_argument(
        "--starts",
        choices=["all", "first"],
        default="all",
        help="every [[start]] of each port (default), or only its first (its production server)",
    )
    matrix.add_argument(
        "--layers",
        type=_matrix_layers,
        default=MATRIX_LAYERS,
        help=f"the layers to run (default: {','.join(MATRIX_LAYERS)}); rows of the others show '-'",
    )
    matrix.add_argument(
        "--redis-url",
        default="",
        help="start the servers with this REDIS_URL (live events woken through Redis); default: none, "
        "so streams poll the events table",
    )
    demo_command = commands.add_parser(
        "demo",
        help="every port behind the gateway on one SQLite database: the suite once through it, then serve "
        "until Ctrl-C",
    )
    demo_command.add_argument(
        "--ports", type=lambda value: value.split(","), help="comma-separated port names"
    )
    demo_command.add_argument("--report-dir", type=Path, default=DEFAULT_REPORT_DIR / "demo")
    demo_command.add_argument(
        "--redis-url",
        default=os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL", ""),
        help="REDIS_URL for the servers (default: $TEST_REDIS_URL, else $REDIS_URL, else none: streams poll)",
    )
    demo_command.add_argument(
        "--install-seconds",
        type=float,
        default=0.0,
        help="how long `make demo` took to install, for the summary",
    )
    slow = commands.add_parser(
        "slowloris", help="hold slow request heads open against a local server and time ordinary requests"
    )
    slow.add_argument("--base-url", required=True, help="a loopback URL, e.g. http://127.0.0.1:8000")
    slow.add_argument("--connections", type=int, default=100, help="slow connections (at most 500)")
    slow.add_argument("--seconds", type=float, default=10.0, help="how long to hold them (at most 60)")
    return parser


def _run(args: argparse.Namespace) -> int:
    failed = False
    settings = ServerSettings(args.secret_key, args.events_heartbeat_seconds, args.events_stream_seconds)
    for layer in args.layers:
        print(f"== {layer}", flush=True)
        result = run_layer(layer, args.base_url.rstrip("/"), args.report_dir, settings)
        verdict = "pass" if result.ok else "FAIL"
        print(f"== {layer}: {verdict} in {result.seconds:.0f} s {result.note}".rstrip(), flush=True)
        if result.reach:
            print(f"   2xx per operation: {coverage.summary(result.reach)}", flush=True)
        failed |= not result.ok
    print(f"JUnit XML in {args.report_dir}")
    return 1 if failed else 0


def _matrix(args: argparse.Namespace) -> int:
    postgres_url = os.environ.get("TEST_DATABASE_URL")
    if args.database_url:
        # The user's database: its kind follows the URL, and no admin URL is needed (nothing is created).
        args.database = "postgres" if args.database_url.startswith("postgres") else "sqlite"
        if args.database == "sqlite" and not args.database_url.startswith("sqlite:///"):
            print("conformance: --database-url is postgresql://... or sqlite:///<path>", file=sys.stderr)
            return 2
        postgres_url = None
    elif args.database == "postgres" and not postgres_url:
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
    if args.mixed:
        print(f"== mixed: {', '.join(port.name for port in ports)} behind the gateway on {args.database}")
        column = run_mixed(
            ports,
            args.database,
            postgres_url,
            args.report_dir,
            args.redis_url,
            args.layers,
            args.database_url,
        )
        _print_timing(column)
        # Beside the per-port columns of an earlier `conformance matrix` into the same directory, if any.
        columns = [*report.previous_columns(args.database, args.report_dir), column]
    for port in [] if args.mixed else ports:
        for start in port.starts if args.starts == "all" else port.starts[:1]:
            print(f"== {port.name} ({start.name}) on {args.database}", flush=True)
            column = run_column(
                port, start, args.database, postgres_url, args.report_dir, args.redis_url, args.layers,
                args.database_url,
            )  # fmt: skip
            _print_timing(column)
            columns.append(column)
    report.write(columns, args.database, args.report_dir)
    print()
    print(report.console(columns))
    print(f"\nreports: {args.report_dir / 'matrix.md'}, {args.report_dir / 'matrix.json'}")
    # The exit status judges this run's columns only (not earlier ones shown beside the mixed one).
    ran = [column for column in columns if column.mixed] if args.mixed else columns
    ok = all(not tally.failed for column in ran for tally in column.cells.values())
    return 0 if ok else 1


def _print_timing(column: Column) -> None:
    timing = ", ".join(f"{layer} {seconds:.0f} s" for layer, seconds in column.seconds.items())
    print(f"   {timing}" if timing else "   " + "; ".join(column.notes)[:2000], flush=True)
    if column.coverage:
        print(f"   contract 2xx per operation: {report.coverage_text(column)}", flush=True)


def _demo(args: argparse.Namespace) -> int:
    try:
        ports = discover(args.ports)
    except ValueError as exc:
        print(f"conformance: {exc}", file=sys.stderr)
        return 2
    if len(ports) < 2:
        print("conformance: the demo needs at least two ports (the cross-port tests)", file=sys.stderr)
        return 2
    return demo.run_demo(ports, args.report_dir, args.redis_url, args.install_seconds)


def _slowloris(args: argparse.Namespace) -> int:
    try:
        result = slowloris.probe(args.base_url.rstrip("/"), args.connections, args.seconds)
    except ValueError as exc:
        print(f"conformance: {exc}", file=sys.stderr)
        return 2
    print(result.summary())
    if result.errors:
        print("ordinary request errors: " + ", ".join(sorted(set(result.errors))))
    return 0 if result.failed == 0 and result.ok > 0 else 1


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    args = _parser().parse_args(argv)
    commands = {"run": _run, "matrix": _matrix, "demo": _demo, "slowloris": _slowloris}
    marker = interrupt.install()
    try:
        return commands[args.command](args)
    except KeyboardInterrupt as exc:
        # Every `finally` on the way here has stopped its servers and dropped its databases.
        signum = exc.signum if isinstance(exc, interrupt.Interrupted) else signal.SIGINT
        print(f"\nconformance: interrupted by {signal.Signals(signum).name}", file=sys.stderr, flush=True)
        return 128 + signum
    finally:
        _sweep(args, marker)


def _sweep(args: argparse.Namespace, marker: str) -> None:
    """Whatever a clean-up path missed (a tool killed mid-way): kill it, drop its databases."""
    killed = interrupt.sweep_processes(marker)
    if killed:
        print(f"conformance: processes left running, killed: {killed}", file=sys.stderr, flush=True)
    admin_url = os.environ.get("TEST_DATABASE_URL")
    if args.command == "matrix" and args.database == "postgres" and admin_url and not args.database_url:
        try:
            dropped = interrupt.sweep_databases(admin_url)
        except psycopg.Error as exc:
            print(f"conformance: could not check for databases left behind: {exc}", file=sys.stderr)
            return
        if dropped:
            print(f"conformance: databases left behind, dropped: {dropped}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
