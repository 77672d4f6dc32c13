"""The server family of a port: from its gunicorn worker class's bases, whatever the subclass is named."""

from pathlib import Path

import pytest

from tasks_bench.family import family_of_argv, family_of_mro, server_of

REPO = Path(__file__).resolve().parents[2]


def test_a_gthread_subclass_is_gthread_not_sync():
    mro = ["gunicorn.conf.Worker", "gunicorn.workers.gthread.ThreadWorker", "gunicorn.workers.base.Worker"]
    assert family_of_mro(mro) == "gunicorn-gthread"


def test_sync_and_uvicorn_workers():
    assert (
        family_of_mro(["gunicorn.workers.sync.SyncWorker", "gunicorn.workers.base.Worker"]) == "gunicorn-sync"
    )
    mro = ["tasks_api.worker.Worker", "uvicorn_worker._workers.UvicornWorker", "gunicorn.workers.base.Worker"]
    assert family_of_mro(mro) == "gunicorn-uvicorn"


def test_an_unknown_worker_is_an_error_not_a_guess():
    with pytest.raises(ValueError):
        family_of_mro(["somewhere.Worker", "gunicorn.workers.base.Worker"])


def test_granian_from_its_command_line():
    assert family_of_argv(["granian", "--interface", "asginl", "app:app"]) == "granian-asgi"
    assert family_of_argv(["granian", "--interface", "wsgi", "app:app"]) == "granian-wsgi"
    assert family_of_argv([".venv/bin/gunicorn", "--config", "gunicorn.conf.py"]) is None


@pytest.mark.parametrize(
    ("port", "family"),
    [("raw-wsgi", "gunicorn-gthread"), ("flask", "gunicorn-gthread"), ("fastapi", "gunicorn-uvicorn")],
)
def test_the_ports_as_configured(port, family):
    directory = REPO / f"impl-{port}"
    if not (directory / ".venv" / "bin" / "python").exists():
        pytest.skip(f"impl-{port} has no virtualenv (uv sync it)")
    assert server_of([".venv/bin/gunicorn", "--config", "gunicorn.conf.py"], directory) == family
