"""The database: a leaf that imports nothing else of ours.

    db.py              Engines for the embedded SQLite default and for PostgreSQL, and schema migration
    fastsql.py         Hot-path statements through the driver's own connection, inside the SQLAlchemy ...
    schema.py          The tables, as SQLAlchemy Core (the hot path uses Core; see docs/performance.md)
"""
