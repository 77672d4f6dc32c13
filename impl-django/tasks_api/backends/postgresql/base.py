"""Django's PostgreSQL backend; a call still waiting after the budget has its socket shut down."""

from django.db.backends.postgresql import base

from tasks_api.watchdog import WatchedDatabaseWrapper, shut


class DatabaseWrapper(WatchedDatabaseWrapper, base.DatabaseWrapper):
    """Django's PostgreSQL backend with the watchdog: statement_timeout cannot fire on a frozen server.

    The subclassing Django documents for changing a built-in backend ("Subclassing the built-in
    database backends").
    """

    cut_connection = staticmethod(shut)
