"""Athena for localcloud: the SQL engine on DuckDB (engine.py) and the query API (service.py)."""
