"""Headless Chromium: a screenshot, and a check that every section shows the ports side by side."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

# Flags for a closed network and a root user (CI): no sandbox, no background traffic, a fresh profile.
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--window-size=1600,1200",
]  # fmt: skip

# Appended to a copy of the page only: measures where each port column landed.
PROBE = """<script>
const out = [...document.querySelectorAll("section.fundamental")].map(section => ({
  id: section.id,
  columns: [...section.querySelectorAll(".port-column")].map(column => {
    const box = column.getBoundingClientRect();
    const at = Math.round;
    return {port: column.dataset.port, left: at(box.left), top: at(box.top), width: at(box.width)};
  }),
}));
const pre = document.createElement("pre"); pre.id = "layout"; pre.textContent = JSON.stringify(out);
document.body.appendChild(pre);
</script>"""


def chromium() -> str:
    """The Chromium binary (Debian's `chromium` package)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError("chromium not found: apt-get install -y chromium")


def _run(args: list[str], profile: str) -> str:
    completed = subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return completed.stdout


def layout_problems(page: Path, ports: list[str]) -> list[str]:
    """Lay the page out in Chromium; every section must show the ports' columns side by side, in order."""
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "probe.html"
        probe.write_text(
            page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8"
        )
        dom = _run(["--dump-dom", probe.as_uri()], str(Path(tmp) / "profile"))
    match = re.search(r'<pre id="layout">(.*?)</pre>', dom, re.S)
    if not match:
        return ["the page did not render (no layout probe in the DOM)"]
    found = []
    for section in json.loads(match[1].replace("&quot;", '"').replace("&amp;", "&")):
        columns = section["columns"]
        names = [column["port"] for column in columns]
        if names != ports:
            found.append(f"{section['id']}: columns {names}, expected {ports}")
            continue
        lefts = [column["left"] for column in columns]
        same_row = len({column["top"] for column in columns}) == 1
        if not same_row or lefts != sorted(set(lefts)) or min(c["width"] for c in columns) < 100:
            found.append(f"{section['id']}: columns are not side by side: {columns}")
    return found


def screenshot(page: Path, png: Path) -> None:
    """A PNG of the top of the page."""
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        _run([f"--screenshot={png.resolve()}", page.resolve().as_uri()], str(Path(tmp) / "profile"))
