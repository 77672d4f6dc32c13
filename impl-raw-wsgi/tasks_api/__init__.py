"""The Tasks API on raw WSGI: PEP 3333 by hand, SQLAlchemy Core for SQL, no web framework."""
