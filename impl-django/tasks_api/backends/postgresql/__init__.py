"""PostgreSQL (psycopg 3) with the watchdog: DATABASES ENGINE "tasks_api.backends.postgresql"."""
