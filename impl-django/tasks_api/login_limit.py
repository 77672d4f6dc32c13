"""The login limit: failed logins counted per email in login_failures, 429 login-throttled over the limit."""

import hashlib
import math

from django.conf import settings
from django.db import connection

from .clock import now, seconds_until
from .errors import ApiError
from .models import LoginFailure


# concordance: login-limit
def email_hash(email: str) -> str:
    """The row's key: the lowercase hex SHA-256 of the lower-cased email (the table lists no addresses)."""
    return hashlib.sha256(email.lower().encode("utf-8")).hexdigest()


def check(email: str) -> None:
    """429 while the email's window holds LOGIN_MAX_FAILURES failures or more.

    Checked before the password is verified: the right password is refused too (else the 429 would
    tell a guesser when it guessed right), and no hashing is spent on a throttled email.
    """
    row = LoginFailure.objects.filter(email_hash=email_hash(email)).first()
    if row is None or row.failures < settings.LOGIN_MAX_FAILURES:
        return
    seconds = math.ceil(seconds_until(row.window_ends))
    if seconds <= 0:
        return  # the window is over: the next failure opens a new one
    raise ApiError(
        "login-throttled",
        "Too many failed logins for this email; try again later.",
        headers={"Retry-After": str(seconds)},
    )


# The ORM's upsert (bulk_create(update_conflicts=True)) can only copy the new values: the count needs
# CASE over the old row, in one statement, so that concurrent failures on every replica all count.
RECORD_FAILURE = """
INSERT INTO login_failures (email_hash, failures, window_ends) VALUES (%s, 1, %s)
ON CONFLICT (email_hash) DO UPDATE SET
    failures = CASE WHEN login_failures.window_ends <= %s THEN 1 ELSE login_failures.failures + 1 END,
    window_ends = CASE WHEN login_failures.window_ends <= %s
                       THEN excluded.window_ends ELSE login_failures.window_ends END
"""


def record_failure(email: str) -> None:
    """Count one failure; the first (or the first after window_ends) opens a new window."""
    current = now()
    window_ends = now(settings.LOGIN_WINDOW_SECONDS)
    with connection.cursor() as cursor:
        cursor.execute(RECORD_FAILURE, [email_hash(email), window_ends, current, current])


def clear(email: str) -> None:
    """A successful login forgets the email's failures."""
    LoginFailure.objects.filter(email_hash=email_hash(email)).delete()


# end concordance
