"""The login limit: failed logins per email, counted in the database by one atomic upsert; 429 past it."""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection, case, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from tasks_api.clock import now, seconds_until
from tasks_api.config import Settings
from tasks_api.db import Database
from tasks_api.errors import ApiError, retry_after
from tasks_api.models import login_failures


# concordance: login-limit
def email_hash(email: str) -> str:
    """The row's key: SHA-256 of the lower-cased email, so the table is no list of tried addresses."""
    return hashlib.sha256(email.lower().encode("utf-8")).hexdigest()


def check(database: Database, settings: Settings, email: str) -> None:
    """429 while the email's window holds LOGIN_MAX_FAILURES failures: before any password is verified.

    The right password is refused too, or the answer would tell a guesser when it has guessed right.
    """
    with database.read() as connection:
        window = connection.execute(
            select(login_failures.c.failures, login_failures.c.window_ends).where(
                login_failures.c.email_hash == email_hash(email)
            )
        ).one_or_none()
    if window is None or window.failures < settings.login_max_failures:
        return
    left = seconds_until(window.window_ends)
    if left > 0:
        raise ApiError(
            "login-throttled",
            "Too many failed logins for this email; try again later.",
            headers=retry_after(left),
        )


def record_failure(database: Database, settings: Settings, email: str) -> None:
    """Count one failure in one statement, never a read then a write: concurrent failures all count.

    The first failure opens a window of LOGIN_WINDOW_SECONDS; a failure after its end opens a new one.
    """
    stamp, window_ends = now(), now(settings.login_window_seconds)
    dialect = postgresql if database.engine.dialect.name == "postgresql" else sqlite
    expired = login_failures.c.window_ends <= stamp
    upsert = (
        dialect.insert(login_failures)
        .values(email_hash=email_hash(email), failures=1, window_ends=window_ends)
        .on_conflict_do_update(
            index_elements=[login_failures.c.email_hash],
            set_={
                "failures": case((expired, 1), else_=login_failures.c.failures + 1),
                "window_ends": case((expired, window_ends), else_=login_failures.c.window_ends),
            },
        )
    )
    with database.write() as connection:
        connection.execute(upsert)


def clear(connection: Connection, email: str) -> None:
    """A successful login starts the count again (in the login's own transaction)."""
    connection.execute(delete(login_failures).where(login_failures.c.email_hash == email_hash(email)))


# end concordance
