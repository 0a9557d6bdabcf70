"""PostgreSQL through SQLAlchemy 2 Core and pg8000: engine, schema, transactions, migrations."""

from payreq.db.engine import get_engine, reset_engine
from payreq.db.transaction import read_connection, repeat_if_connection_lost, transaction

__all__ = ["get_engine", "read_connection", "repeat_if_connection_lost", "reset_engine", "transaction"]
