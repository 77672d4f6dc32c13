"""gunicorn for the bare apps as the WSGI ports run it: 2 workers x 8 threads, gthread, keep-alive 5 s."""

workers = 2
worker_class = "gthread"
threads = 8
keepalive = 5
timeout = 30
graceful_timeout = 5
accesslog = None
errorlog = "-"
control_socket_disable = True
