"""What the server under test was started with (key, event timings), and what the faults layer starts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from conformance.paths import DEFAULT_SECRET_KEY

# The spec's defaults (spec/README.md, "Configuration"); the matrix starts servers with short ones.
DEFAULT_EVENTS_HEARTBEAT_SECONDS = 15
DEFAULT_EVENTS_STREAM_SECONDS = 300


@dataclass(frozen=True)
class ServerSettings:
    """The server's SECRET_KEY (to check and forge cursors), its live-event timings and Redis."""

    secret_key: str = DEFAULT_SECRET_KEY
    events_heartbeat_seconds: int = DEFAULT_EVENTS_HEARTBEAT_SECONDS
    events_stream_seconds: int = DEFAULT_EVENTS_STREAM_SECONDS
    # The matrix only: REDIS_URL for the servers it starts ("" = no Redis, the embedded default).
    redis_url: str = ""

    def pytest_args(self) -> list[str]:
        """The same settings as the options of tests/conftest.py."""
        return [
            f"--secret-key={self.secret_key}",
            f"--events-heartbeat-seconds={self.events_heartbeat_seconds}",
            f"--events-stream-seconds={self.events_stream_seconds}",
        ]


@dataclass(frozen=True)
class FaultsTarget:
    """What the faults layer starts its own servers from: the column's ports, start, database and Redis."""

    ports: tuple[str, ...]  # the column's port; in the mixed column every port
    start: str = ""  # the [[start]] a per-port column runs ("" in the mixed column: each port's first)
    mixed: bool = False  # the mixed column: the storms go through its gateway (the layer's --base-url)
    database: str = "sqlite"
    postgres_url: str = ""  # where the layer may create (and drop) its own databases
    redis_url: str = ""
    existing: str = ""  # a user's database (--database-url): the lanes share it and run one at a time

    def pytest_args(self, report_dir: Path) -> list[str]:
        """The options of tests/faults/conftest.py."""
        args = [
            f"--faults-ports={','.join(self.ports)}",
            f"--database-kind={self.database}",
            f"--faults-report-dir={report_dir.resolve()}",
        ]
        args += [f"--faults-start={self.start}"] if self.start else []
        args += ["--faults-mixed"] if self.mixed else []
        args += [f"--postgres-url={self.postgres_url}"] if self.postgres_url else []
        args += [f"--redis-url={self.redis_url}"] if self.redis_url else []
        args += [f"--existing-database={self.existing}"] if self.existing else []
        return args
