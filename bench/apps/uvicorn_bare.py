"""The uvicorn worker settings of the FastAPI port (impl-fastapi/tasks_api/worker.py), minus its app hooks."""

from typing import Any, ClassVar

from uvicorn_worker import UvicornWorker


class Worker(UvicornWorker):
    """uvicorn with the pure-Python h11 parser and the standard asyncio loop, like the port."""

    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {
        "loop": "asyncio",
        "http": "h11",
        "lifespan": "off",
        "access_log": False,
        "server_header": False,
        "h11_max_incomplete_event_size": 16 * 1024,
    }
