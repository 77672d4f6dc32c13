"""Time: now() and the one wire format of timestamps (RFC 3339, UTC, whole seconds, Z)."""

from __future__ import annotations

import datetime

# Stored and sent the same way by every port; its text order is time order, so the database compares
# timestamps as strings (token expiry, retention, leases, login windows).
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def now() -> datetime.datetime:
    """Now, in UTC, to the whole second (the wire format has no fraction)."""
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


def timestamp(moment: datetime.datetime) -> str:
    """A moment in the wire format: RFC 3339 UTC with whole seconds and Z."""
    return moment.astimezone(datetime.UTC).strftime(TIMESTAMP_FORMAT)


def parse(stamp: str) -> datetime.datetime:
    """A stored timestamp as an aware datetime (UTC)."""
    return datetime.datetime.strptime(stamp, TIMESTAMP_FORMAT).replace(tzinfo=datetime.UTC)
