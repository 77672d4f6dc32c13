"""SQLite with the watchdog: DATABASES ENGINE "tasks_api.backends.sqlite3"."""
