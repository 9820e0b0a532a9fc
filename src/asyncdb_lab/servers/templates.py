"""Template databases that fresh databases are cloned from (CREATE DATABASE … TEMPLATE).

Three kinds of contents: "empty" (nothing), "tables" (the course schema, no rows) and "seed"
(the schema and the seed data from data/seed, loaded with COPY).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Literal

Contents = Literal["empty", "tables", "seed"]
CONTENTS: tuple[Contents, ...] = ("empty", "tables", "seed")


@dataclass(frozen=True)
class TemplateNames:
    tables: str
    seed: str

    def for_contents(self, contents: Contents) -> str:
        if contents == "empty":
            return "template0"
        return self.tables if contents == "tables" else self.seed


EMBEDDED_TEMPLATES = TemplateNames(tables="adl_template_tables", seed="adl_template_seed")


async def create_templates(
    dsn_for: dict[str, str], names: TemplateNames, *, table_owner: str | None = None
) -> None:
    """Create and fill both templates; `dsn_for` maps "admin" and both names to DSNs.

    table_owner: a role to own the tables (and their sequences), so that its members may alter
    them (add a constraint, say) in their own clones; by default the connecting role owns them.
    """
    import asyncpg

    from asyncdb_lab.seed import create_schema, load_seed

    admin = await asyncpg.connect(dsn_for["admin"])
    try:
        await admin.execute(f'CREATE DATABASE "{names.tables}" TEMPLATE template0')
        tables = await asyncpg.connect(dsn_for[names.tables])
        try:
            # pgrowlocks shows row locks in the locking lessons; it needs a superuser to install.
            with contextlib.suppress(asyncpg.PostgresError):
                await tables.execute("CREATE EXTENSION IF NOT EXISTS pgrowlocks")
            await create_schema(tables)
            if table_owner is not None:
                for table in await tables.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                ):
                    await tables.execute(
                        f'ALTER TABLE public."{table[0]}" OWNER TO "{table_owner}"'
                    )
            # A clone belongs to the role that made it (a learner's role when grading) but its
            # tables belong to the template's owner: let whoever may connect to a clone use them.
            # Only its owner can connect to a clone: create_database() revokes CONNECT from PUBLIC.
            await tables.execute(
                "GRANT USAGE, CREATE ON SCHEMA public TO PUBLIC;"
                "GRANT ALL ON ALL TABLES IN SCHEMA public TO PUBLIC;"
                "GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO PUBLIC"
            )
        finally:
            await tables.close()
        await admin.execute(f'CREATE DATABASE "{names.seed}" TEMPLATE "{names.tables}"')
        seed = await asyncpg.connect(dsn_for[names.seed])
        try:
            await load_seed(seed)
        finally:
            await seed.close()
        for name in (names.tables, names.seed):
            # Cloned, never connected to: nobody can change a template's rows by accident.
            await admin.execute(f'ALTER DATABASE "{name}" IS_TEMPLATE true ALLOW_CONNECTIONS false')
    finally:
        await admin.close()
