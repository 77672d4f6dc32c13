"""The Tasks API on Flask 3.1 and the SQLAlchemy 2 ORM."""
