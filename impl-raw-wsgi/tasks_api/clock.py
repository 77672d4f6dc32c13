"""Time: now() and the wire format of timestamps (RFC 3339, UTC, whole seconds, `Z`), in one place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def timestamp(moment: datetime) -> str:
    """The one stored and wire format: RFC 3339, UTC, whole seconds, `Z`; its text order is time order."""
    return moment.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def now(offset_seconds: float = 0) -> str:
    """The current time (plus an offset) as a timestamp."""
    return timestamp(datetime.now(UTC) + timedelta(seconds=offset_seconds))


def seconds_until(stamp: str) -> float:
    """Seconds from now until a stored timestamp (negative when it has passed)."""
    moment = datetime.strptime(stamp, TIMESTAMP_FORMAT).replace(tzinfo=UTC)
    return (moment - datetime.now(UTC)).total_seconds()


def log_time() -> str:
    """The access log's `time`: RFC 3339 UTC with milliseconds, finer than the API's whole seconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
