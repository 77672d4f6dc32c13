"""The login limit: failed logins counted per email in the database (every replica and port), 429 over it."""

from __future__ import annotations

import hashlib
import math

from sqlalchemy import case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tasks_api import clock
from tasks_api.config import get_settings
from tasks_api.db import read_transaction, write_transaction
from tasks_api.errors import ApiError
from tasks_api.models import LoginFailure


# concordance: login-limit
def email_hash(email: str) -> str:
    """The key of login_failures: lowercase hex SHA-256 of the lower-cased email (no list of addresses)."""
    return hashlib.sha256(email.lower().encode()).hexdigest()


def check(db: Session, email: str) -> None:
    """429 login-throttled while the email's window holds LOGIN_MAX_FAILURES failures or more. Checked
    before the password is verified: the right password is refused too, and no hashing is spent."""
    settings = get_settings()
    now = clock.now()
    with read_transaction(db):
        window_ends = db.scalar(
            select(LoginFailure.window_ends).where(
                LoginFailure.email_hash == email_hash(email),
                LoginFailure.failures >= settings.login_max_failures,
                LoginFailure.window_ends > now,
            )
        )
    if window_ends is not None:
        wait = max(1, math.ceil(clock.seconds_until(window_ends)))
        raise ApiError(
            "login-throttled",
            "Too many failed logins for this email; retry later.",
            headers={"Retry-After": str(wait)},
        )


def record_failure(db: Session, email: str) -> None:
    """Count one failure in one atomic upsert (never a read, then a write): the first failure, or the first
    after window_ends, opens a new window of LOGIN_WINDOW_SECONDS with one failure; others add one."""
    settings = get_settings()
    now = clock.now()
    ends = clock.now(settings.login_window_seconds)
    dialect = postgresql if db.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(LoginFailure).values(email_hash=email_hash(email), failures=1, window_ends=ends)
    expired = LoginFailure.window_ends <= now  # the row as stored, before this update
    with write_transaction(db):
        db.execute(
            insert.on_conflict_do_update(
                index_elements=[LoginFailure.email_hash],
                set_={
                    "failures": case((expired, 1), else_=LoginFailure.failures + 1),
                    "window_ends": case((expired, ends), else_=LoginFailure.window_ends),
                },
            )
        )


def clear(db: Session, email: str) -> None:
    """A successful login forgets the email's failures (call inside the login's write transaction)."""
    db.execute(delete(LoginFailure).where(LoginFailure.email_hash == email_hash(email)))


# end concordance
