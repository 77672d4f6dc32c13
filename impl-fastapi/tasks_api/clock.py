"""Time: now() and the one wire format of timestamps (RFC 3339, UTC, whole seconds, `Z`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import formatdate

# Stored and sent the same way by every port; its text order is time order, so the database compares
# timestamps as strings (expiry, retention, leases).
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


def http_date() -> str:
    """Now as an HTTP Date (RFC 9110 5.6.7: IMF-fixdate, `Tue, 01 Dec 2026 13:03:31 GMT`)."""
    return formatdate(usegmt=True)
