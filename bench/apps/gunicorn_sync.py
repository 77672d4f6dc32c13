"""gunicorn's sync worker for the bare apps: 2 processes, one request at a time each, no keep-alive."""

workers = 2
worker_class = "sync"
timeout = 30
graceful_timeout = 5
accesslog = None
errorlog = "-"
control_socket_disable = True
