"""The login limit: failed logins per email counted in the database (table login_failures), 429 past it."""

from __future__ import annotations

import datetime
import hashlib

from flask import current_app
from sqlalchemy import case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .clock import now, parse, timestamp
from .errors import ApiError
from .models import LoginFailure


def email_hash(email: str) -> str:
    """The row's key: lowercase hex SHA-256 of the lower-cased email (the table lists no addresses)."""
    return hashlib.sha256(email.lower().encode("utf-8")).hexdigest()


# concordance: login-limit
def check(session: Session, email: str) -> None:
    """429 login-throttled while the email's window holds LOGIN_MAX_FAILURES failures or more; called
    after validation and before the password is verified, so the right password is refused too and no
    hashing is spent."""
    row = session.execute(
        select(LoginFailure.failures, LoginFailure.window_ends).where(
            LoginFailure.email_hash == email_hash(email)
        )
    ).first()
    moment = now()
    if row is None or row.failures < current_app.config["LOGIN_MAX_FAILURES"]:
        return
    ends = parse(row.window_ends)
    if moment >= ends:
        return  # the window is over: the next failure opens a new one
    wait = max(int((ends - moment).total_seconds()), 1)
    raise ApiError(
        "login-throttled",
        f"Too many failed logins for this email; retry in {wait} seconds.",
        headers={"Retry-After": str(wait)},
    )


def record_failure(session: Session, email: str) -> None:
    """Count one failure in one atomic upsert (never a read then a write): the first failure, or one after
    the window ended, opens a window of LOGIN_WINDOW_SECONDS with failures = 1; others add one."""
    moment = now()
    ends = timestamp(moment + datetime.timedelta(seconds=current_app.config["LOGIN_WINDOW_SECONDS"]))
    over = LoginFailure.window_ends <= timestamp(moment)  # RFC 3339 UTC text compares in time order
    # ON CONFLICT ... DO UPDATE has the same SQL on both databases; SQLAlchemy builds it per dialect.
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(LoginFailure).values(email_hash=email_hash(email), failures=1, window_ends=ends)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[LoginFailure.email_hash],
            set_={
                "failures": case((over, 1), else_=LoginFailure.failures + 1),
                "window_ends": case((over, ends), else_=LoginFailure.window_ends),
            },
        )
    )


def clear(session: Session, email: str) -> None:
    """A successful login forgets the email's failures."""
    session.execute(delete(LoginFailure).where(LoginFailure.email_hash == email_hash(email)))


# end concordance
