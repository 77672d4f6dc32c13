"""Django's SQLite backend; a statement still running after the budget is interrupted."""

from django.db.backends.sqlite3 import base

from tasks_api.watchdog import WatchedDatabaseWrapper, interrupt


class DatabaseWrapper(WatchedDatabaseWrapper, base.DatabaseWrapper):
    """Django's SQLite backend with the watchdog, for a statement that runs longer than the budget.

    Lock waits are bounded by busy_timeout (the budget; sqlite3_interrupt does not end a busy wait);
    the watchdog bounds the rest, a statement that runs (scans, sorts) longer than the budget.
    """

    cut_connection = staticmethod(interrupt)
