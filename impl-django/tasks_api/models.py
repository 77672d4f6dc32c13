"""Django models on exactly the tables of spec/schema.sql (managed = False: schema.sql is the one schema)."""

from django.db import models

# Why managed = False: spec/schema.sql is shared by four ports; migrations would be a second,
# drifting definition of the same tables. The schema is applied from that file at start-up.
# Why on_delete=DO_NOTHING: the schema's ON DELETE CASCADE does the cascading inside the database,
# the same for every port; Django's emulated CASCADE would add a SELECT per related table.
# Why TextField timestamps: the columns are TEXT in the wire format ("2026-11-28T13:53:04Z").


class User(models.Model):
    id = models.BigAutoField(primary_key=True)
    email = models.TextField(unique=True)
    password_hash = models.TextField()
    name = models.TextField()
    created_at = models.TextField()

    class Meta:
        managed = False
        db_table = "users"


class Token(models.Model):
    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(User, on_delete=models.DO_NOTHING, db_column="user_id", related_name="+")
    token_hash = models.TextField(unique=True)
    created_at = models.TextField()
    expires_at = models.TextField()

    class Meta:
        managed = False
        db_table = "tokens"


class Project(models.Model):
    id = models.BigAutoField(primary_key=True)
    owner = models.ForeignKey(User, on_delete=models.DO_NOTHING, db_column="owner_id", related_name="+")
    name = models.TextField()
    description = models.TextField(default="")
    version = models.BigIntegerField(default=1)
    created_at = models.TextField()
    updated_at = models.TextField()

    class Meta:
        managed = False
        db_table = "projects"


class Task(models.Model):
    PRIORITIES = ("low", "normal", "high")

    id = models.BigAutoField(primary_key=True)
    project = models.ForeignKey(
        Project, on_delete=models.DO_NOTHING, db_column="project_id", related_name="+"
    )
    title = models.TextField()
    notes = models.TextField(default="")
    done = models.BooleanField(default=False)
    priority = models.TextField(default="normal")
    due_on = models.DateField(null=True)
    version = models.BigIntegerField(default=1)
    created_at = models.TextField()
    updated_at = models.TextField()

    class Meta:
        managed = False
        db_table = "tasks"


class IdempotencyKey(models.Model):
    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(User, on_delete=models.DO_NOTHING, db_column="user_id", related_name="+")
    idempotency_key = models.TextField()
    fingerprint = models.TextField()
    status = models.IntegerField(null=True)
    response_body = models.TextField(null=True)
    location = models.TextField(null=True)
    etag = models.TextField(null=True)
    created_at = models.TextField()

    class Meta:
        managed = False
        db_table = "idempotency_keys"
        # UNIQUE (user_id, idempotency_key) lives in schema.sql: it is the claim's lock.


class Event(models.Model):
    """The transactional outbox of live events (spec/README.md, "Live events")."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(User, on_delete=models.DO_NOTHING, db_column="user_id", related_name="+")
    type = models.TextField()
    data = models.TextField()  # compact JSON, written once, sent as stored
    created_at = models.TextField()

    class Meta:
        managed = False
        db_table = "events"


class LoginFailure(models.Model):
    """Failed logins per email in the current window (spec/README.md, "Login limit")."""

    email_hash = models.TextField(primary_key=True)  # lowercase hex SHA-256 of the lower-cased email
    failures = models.IntegerField()
    window_ends = models.TextField()

    class Meta:
        managed = False
        db_table = "login_failures"
