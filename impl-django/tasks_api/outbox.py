"""The live-events outbox: record_event() in the change's transaction, pruning, the publish on commit."""

import functools
import json
from typing import Any

from django.conf import settings
from django.db import transaction

from .clock import now
from .models import Event, User
from .security import invalid_token
from .wakeups import publish


def compact(payload: dict[str, Any]) -> str:
    """The `data` text: compact JSON, members in the resource's order."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def changed(resource: dict[str, Any]) -> str:
    """`data` of *.created and *.updated: the id, the version and the resource as GET returns it."""
    return compact({"id": resource["id"], "version": resource["version"], "resource": resource})


def deleted(resource_id: int, version: int, project_id: int | None = None) -> str:
    """`data` of *.deleted: the id and the last version (and, for a task, its project)."""
    data: dict[str, Any] = {"id": resource_id, "version": version}
    if project_id is not None:
        data["project_id"] = project_id
    return compact(data)


# concordance: event-outbox
def lock_owner(user_id: int) -> None:
    """Lock the owner's users row first in the transaction (SELECT ... FOR UPDATE on PostgreSQL).

    One user's event-writing transactions then take their event ids and commit one at a time, so a
    stream never sees id N+1 before id N. select_for_update() is a no-op on SQLite, whose BEGIN
    IMMEDIATE already serialises writers. Locking before the change's own rows keeps one lock order.
    """
    if not list(User.objects.select_for_update().filter(id=user_id).values_list("id", flat=True)):
        raise invalid_token()  # the user (and the token with it) was deleted a moment ago


def record_event(user_id: int, type_: str, data: str) -> None:
    """Insert the event in the caller's transaction, prune the user's old events, publish on commit."""
    cutoff = now(-settings.EVENTS_RETENTION_SECONDS)
    Event.objects.filter(user_id=user_id, created_at__lt=cutoff).delete()
    event = Event.objects.create(user_id=user_id, type=type_, data=data, created_at=now())
    # on_commit: a stream woken now finds the row; a rollback forgets the callback, so nothing is announced.
    transaction.on_commit(functools.partial(publish, user_id, event.id))


# end concordance
