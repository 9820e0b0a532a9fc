"""Create the course schema and load the seed data into a PostgreSQL database.

The schema is compiled from `asyncdb_lab.models.Base.metadata`; the rows come from the CSV
files that `data/generate_seed.py` writes. Loading uses COPY, which is how a database should
be filled with thousands of rows, on a plain asyncpg connection:

    conn = await asyncpg.connect(dsn)
    await create_schema(conn)
    await load_seed(conn)
    await conn.close()

`seed_fingerprint()` changes whenever the schema or any CSV changes, so that a cached,
already-seeded database can be recognised as stale.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import asyncpg
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex, CreateTable

from asyncdb_lab.models import Base
from asyncdb_lab.settings import seed_dir

__all__ = [
    "SEED_DIR",
    "TABLES_IN_LOAD_ORDER",
    "create_schema",
    "load_seed",
    "schema_statements",
    "seed_fingerprint",
]

#: Folder with one `<table>.csv` per table; `ASYNCDB_LAB_SEED_DIR` overrides the default.
SEED_DIR: Path = seed_dir()

#: Parents before children, so that foreign keys hold after every single COPY.
TABLES_IN_LOAD_ORDER: tuple[str, ...] = (
    "users",
    "posts",
    "accounts",
    "products",
    "orders",
    "order_items",
)


def schema_statements() -> list[str]:
    """The CREATE TABLE and CREATE INDEX statements for the models, in dependency order."""
    dialect = postgresql.dialect()
    statements = []
    for table in Base.metadata.sorted_tables:
        statements.append(str(CreateTable(table).compile(dialect=dialect)).strip())
        for index in sorted(table.indexes, key=lambda ix: str(ix.name)):
            statements.append(str(CreateIndex(index).compile(dialect=dialect)).strip())
    return statements


async def create_schema(conn: asyncpg.Connection) -> None:
    """Create every table and index of the models on `conn`, in one transaction."""
    async with conn.transaction():
        for statement in schema_statements():
            await conn.execute(statement)


async def load_seed(conn: asyncpg.Connection) -> None:
    """COPY the seed CSVs into the (empty) tables, reset the id sequences and ANALYZE.

    Everything happens in one transaction: when any file fails to load, no table keeps rows.
    """
    async with conn.transaction():
        for table in TABLES_IN_LOAD_ORDER:
            path = SEED_DIR / f"{table}.csv"
            with path.open(encoding="utf-8", newline="") as csv_file:
                columns = next(csv.reader(csv_file))
            await conn.copy_to_table(table, source=path, columns=columns, format="csv", header=True)
        for table in TABLES_IN_LOAD_ORDER:
            # The CSVs carry explicit ids, which COPY does not take from the sequence:
            # without this, the next INSERT would get id 1 and fail on the primary key.
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" coalesce(max(id), 1), max(id) IS NOT NULL) FROM {table}"
            )
        await conn.execute(f"ANALYZE {', '.join(TABLES_IN_LOAD_ORDER)}")


def seed_fingerprint() -> str:
    """A short hex digest of the schema DDL and every seed CSV (changes when either does)."""
    digest = hashlib.sha256()
    for statement in schema_statements():
        digest.update(statement.encode("utf-8") + b"\0")
    for table in TABLES_IN_LOAD_ORDER:
        digest.update(table.encode("utf-8") + b"\0")
        digest.update((SEED_DIR / f"{table}.csv").read_bytes() + b"\0")
    return digest.hexdigest()[:16]
