"""Time: now() and the one wire format of timestamps (RFC 3339, UTC, whole seconds, `Z`), in one place."""

from datetime import UTC, datetime, timedelta

# Stored and sent the same way by every port; its text order is time order, so the database compares
# timestamps as strings (token expiry, retention, leases, login windows).
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def timestamp(moment: datetime) -> str:
    """A moment in the wire format."""
    return moment.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def now(offset_seconds: float = 0) -> str:
    """The current time (plus an offset, negative for the past) as a timestamp."""
    return timestamp(datetime.now(UTC) + timedelta(seconds=offset_seconds))


def parse(stamp: str) -> datetime:
    """A stored timestamp as an aware datetime."""
    return datetime.strptime(stamp, TIMESTAMP_FORMAT).replace(tzinfo=UTC)


def seconds_until(stamp: str) -> float:
    """Seconds from now until a stored timestamp (negative when it has passed)."""
    return (parse(stamp) - datetime.now(UTC)).total_seconds()


def log_time() -> str:
    """The access log's `time`: RFC 3339 UTC with milliseconds, finer than the API's whole seconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
