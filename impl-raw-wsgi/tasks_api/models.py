"""SQLAlchemy Core tables on exactly spec/schema.sql (the schema file creates them; these only query)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Date, ForeignKey, Integer, MetaData, Table, Text

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("email", Text, nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("created_at", Text, nullable=False),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("user_id", BigInteger, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", Text, nullable=False, unique=True),
    Column("created_at", Text, nullable=False),
    Column("expires_at", Text, nullable=False),
)

projects = Table(
    "projects",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("owner_id", BigInteger, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("project_id", BigInteger, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("title", Text, nullable=False),
    Column("notes", Text, nullable=False),
    # create_constraint=False: the CHECKs live in schema.sql; SQLite stores 0/1, PostgreSQL a boolean.
    Column("done", Boolean(create_constraint=False), nullable=False),
    Column("priority", Text, nullable=False),
    Column("due_on", Date, nullable=True),  # "YYYY-MM-DD" in both databases
    Column("version", BigInteger, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("user_id", BigInteger, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("idempotency_key", Text, nullable=False),
    Column("fingerprint", Text, nullable=False),
    Column("status", Integer, nullable=True),  # NULL while the first request is in flight
    Column("response_body", Text, nullable=True),
    Column("location", Text, nullable=True),
    Column("etag", Text, nullable=True),
    Column("created_at", Text, nullable=False),
)

# The transactional outbox of live events: one row per change, written in the change's transaction.
events = Table(
    "events",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("user_id", BigInteger, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("type", Text, nullable=False),  # project.created, task.updated, ...
    Column("data", Text, nullable=False),  # the compact JSON sent as `data:`, written once
    Column("created_at", Text, nullable=False),
)


# Failed logins per email within a window (the login limit), keyed by the SHA-256 of the email.
login_failures = Table(
    "login_failures",
    metadata,
    Column("email_hash", Text, primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("window_ends", Text, nullable=False),
)
