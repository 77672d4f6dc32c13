"""Django's own database backends, subclassed so the watchdog watches every wait on the database."""
