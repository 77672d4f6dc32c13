"""What the server under test was started with, as far as the suite must know it (key, event timings)."""

from __future__ import annotations

from dataclasses import dataclass

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
