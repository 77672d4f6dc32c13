"""`python -m client_check [generate|scenario|all] [--port NAME]`: the generated-client check."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from client_check import generate

DEFAULT_PORT = "raw-wsgi"


def _terminate(signum: int, _frame: FrameType | None) -> None:
    """SIGTERM unwinds like Ctrl-C, so the server is stopped by the `finally` that started it."""
    raise SystemExit(128 + signum)


def scenario(port: str) -> bool:
    """Start impl-<port>, run the scenario with the generated client, stop the port; True when it passed."""
    if not (generate.OUTPUT / "__init__.py").exists():
        print(f"client: no generated client in {generate.OUTPUT}: run `python -m client_check generate`")
        return False
    sys.path.insert(0, str(generate.BUILD))
    from client_check import scenario as steps  # imports the generated package
    from client_check.server import running_port

    started = time.monotonic()
    with running_port(port) as server:
        where = f"{server.name} ({server.start}, PID {server.pid}) at {server.base_url}"
        print(f"== client: scenario against {where}, ready in {server.ready_seconds:.1f} s")
        timings = steps.Timings()
        try:
            timings = steps.run(server.base_url)
        except AssertionError as exc:
            print(f"client: scenario FAILED: {exc}")
            return False
        finally:
            for name, seconds in timings.steps:
                print(f"   {seconds * 1000:7.0f} ms  {name}")
    total = sum(seconds for _, seconds in timings.steps)
    print(
        f"== client: scenario passed, {len(timings.steps)} steps in {total:.2f} s "
        f"({time.monotonic() - started:.1f} s with the server's start and stop)"
    )
    return True


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run; the exit status is 0 only when everything asked for passed."""
    parser = argparse.ArgumentParser(prog="python -m client_check", description=__doc__)
    parser.add_argument("command", nargs="?", choices=["generate", "scenario", "all"], default="all")
    parser.add_argument(
        "--port", default=DEFAULT_PORT, help=f"the port to run against (default {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--spec", type=Path, default=generate.SPEC, help="the OpenAPI document to generate from"
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in the background
    try:
        if args.command in ("generate", "all") and not generate.check(args.spec.resolve()):
            return 1
        if args.command in ("scenario", "all") and not scenario(args.port):
            return 1
    except KeyboardInterrupt:
        print("client: interrupted (the port was stopped)")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
