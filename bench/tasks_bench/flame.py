"""py-spy's raw (collapsed) samples: parse them, sum inclusive and self time per function, format."""

from __future__ import annotations

import collections
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tasks_bench.paths import REPO_ROOT


@dataclass
class Shares:
    """Samples per function: inclusive (on the stack at all) and self (the frame running)."""

    total: int
    inclusive: collections.Counter[str]
    own: collections.Counter[str]


def frame(raw: str) -> str:
    """`name (file:line)` -> `name (file)` with site-packages and the repository prefix cut off."""
    match = re.match(r"(.*) \((.*?)(?::\d+)?\)$", raw, re.DOTALL)
    if not match:
        return raw
    where = match.group(2).split("site-packages/")[-1].split(f"{REPO_ROOT}/")[-1]
    return f"{match.group(1)} ({where})"


def samples(text: str) -> Iterator[tuple[list[str], int]]:
    """(frames, count) per sample line. A frame name may hold a newline (a docstring used as a name):
    its line then does not end in a count, so it is joined to the next one until one does."""
    pending = ""
    for line in text.splitlines():
        pending = f"{pending}\\n{line}" if pending else line
        stack, _, count = pending.rpartition(" ")
        if not count.isdigit() or not stack:
            continue
        pending = ""
        # The leading "process N:..." entries (master, then worker under --subprocesses) are no frames.
        frames = [f for f in stack.split(";") if not f.startswith("process ")]
        yield frames, int(count)


def shares(text: str) -> Shares:
    """Sum a raw file's samples (idle threads are not sampled: py-spy runs with --nonblocking, no --idle)."""
    result = Shares(0, collections.Counter(), collections.Counter())
    for frames, count in samples(text):
        result.total += count
        names = [frame(f) for f in frames]
        for name in set(names):  # a recursive function counts once per sample
            result.inclusive[name] += count
        if names:
            result.own[names[-1]] += count
    return result


def table(counter: collections.Counter[str], total: int, top: int) -> list[str]:
    """`share%  function (file)` lines, busiest first."""
    return [f"{100 * n / max(total, 1):5.1f}%  {name}" for name, n in counter.most_common(top)]


def report(raw: Path, top: int, self_only: bool = False) -> list[str]:
    """The summary of a raw file: self time (where the CPU is spent), then inclusive time (who calls it)."""
    found = shares(raw.read_text(errors="replace"))
    lines = [f"{found.total} samples from {raw.name}", "", "## self time (the frame on top of the stack)", ""]
    lines += table(found.own, found.total, top)
    if not self_only:
        lines += ["", "## inclusive time (the frame anywhere on the stack)", ""]
        lines += table(found.inclusive, found.total, top)
    return lines
