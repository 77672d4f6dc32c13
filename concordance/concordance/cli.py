"""`concordance check`, `concordance build [--out DIR]`, `concordance render [--screenshot PNG]`."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from concordance import browser, render, vocabulary
from concordance.check import collect, problems
from concordance.model import REPO_ROOT, discover_ports, load_fundamentals

DEFAULT_OUT = REPO_ROOT / "docs"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="concordance", description=__doc__)
    parser.add_argument(
        "--root", type=Path, default=REPO_ROOT, help="the repository (holds impl-*/port.toml)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "check",
        help="fail when a port lacks a fundamental, a marker is unknown or a region is cut, "
        "or a port's tasks_api/ breaks the shared vocabulary (vocabulary.toml)",
    )
    build = commands.add_parser("build", help="check, then write concordance.md and concordance.html")
    build.add_argument("--out", type=Path, default=DEFAULT_OUT)
    show = commands.add_parser("render", help="lay the HTML out in headless Chromium and check the columns")
    show.add_argument("--page", type=Path, default=DEFAULT_OUT / "concordance.html")
    show.add_argument("--screenshot", type=Path, default=DEFAULT_OUT / "screenshots" / "concordance.png")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    # SIGTERM unwinds like Ctrl-C, so subprocess.run kills the headless Chromium it started and the
    # temporary profile directory is removed (a `timeout` around `make docs` leaves nothing running).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    args = _parser().parse_args(argv)
    fundamentals, order = load_fundamentals()
    ports = discover_ports(args.root, order)
    if args.command == "render":
        found = browser.layout_problems(args.page, [port.name for port in ports])
        for line in found:
            print(f"concordance: {line}", file=sys.stderr)
        if not found:
            browser.screenshot(args.page, args.screenshot)
            shape = f"{len(fundamentals)} sections x {len(ports)} columns"
            print(f"rendered {args.page}: {shape}; screenshot {args.screenshot}")
        return 1 if found else 0
    regions, errors = collect(ports)
    found = errors + problems(fundamentals, regions)
    # The vocabulary is checked by `check` (make lint) only: `build` writes the page from the markers.
    if args.command == "check":
        found += vocabulary.problems(ports)
    for line in found:
        print(f"concordance: {line}", file=sys.stderr)
    if found:
        return 1
    count = sum(len(port_regions) for port_regions in regions.values())
    print(f"concordance: {len(fundamentals)} fundamentals x {len(ports)} ports complete ({count} regions)")
    if args.command == "check":
        modules = len(vocabulary.load_vocabulary())
        print(f"concordance: every port's tasks_api/ keeps to the vocabulary ({modules} modules)")
    if args.command == "build":
        for path in render.write(args.out, fundamentals, ports, regions):
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
