"""gunicorn with uvicorn workers for the bare ASGI apps, as the FastAPI port runs them (h11, asyncio)."""

workers = 2
worker_class = "uvicorn_bare.Worker"
keepalive = 5
timeout = 30
graceful_timeout = 5
accesslog = None
errorlog = "-"
control_socket_disable = True
