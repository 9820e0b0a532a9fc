_HEAD = '''async def count_users(engine) -> int:
    """Return the number of rows in the users table, counted by the database."""
'''

WRONG_ANSWERS = {
    "count_users": [
        (
            "returns the number it saw in the seed data",
            '''async def count_users(engine) -> int:
    """Return the number of rows in the users table, counted by the database."""
    return 1000
''',
        ),
        (
            "fetches every row and counts in Python",
            '''async def count_users(engine) -> int:
    """Return the number of rows in the users table, counted by the database."""
    async with engine.connect() as conn:
        result = await conn.execute(text("SELECT id FROM users"))
        return len(result.all())
''',
        ),
        (
            "never gives its connection back to the pool",
            '''async def count_users(engine) -> int:
    """Return the number of rows in the users table, counted by the database."""
    conn = await engine.connect()
    result = await conn.execute(text("SELECT count(*) FROM users"))
    return int(result.scalar_one())
''',
        ),
        (
            "takes the largest id as the number of users",
            _HEAD
            + """    async with engine.connect() as conn:
        result = await conn.execute(text("SELECT max(id) FROM users"))
        return int(result.scalar_one())
""",
        ),
        (
            "reads the sequence's last value (ids handed out, not rows)",
            _HEAD
            + """    async with engine.connect() as conn:
        result = await conn.execute(text("SELECT last_value FROM users_id_seq"))
        return int(result.scalar_one())
""",
        ),
        (
            "the planner's estimate from pg_class.reltuples: fast, but approximate",
            _HEAD
            + """    async with engine.connect() as conn:
        result = await conn.execute(
            text("SELECT reltuples::bigint FROM pg_class WHERE relname = 'users'")
        )
        return int(result.scalar_one())
""",
        ),
        (
            "remembers each engine's count after the first call",
            "_counts: dict[str, int] = {}\n\n\n"
            + _HEAD
            + """    key = str(engine.url)
    if key not in _counts:
        async with engine.connect() as conn:
            result = await conn.execute(text("SELECT count(*) FROM users"))
            _counts[key] = int(result.scalar_one())
    return _counts[key]
""",
        ),
        (
            "counts through the notebook's own engine, not the one it is given",
            _HEAD
            + """    async with db.engine.connect() as conn:
        result = await conn.execute(text("SELECT count(*) FROM users"))
        return int(result.scalar_one())
""",
        ),
    ],
}

CORRECT_ALTERNATIVES = {
    "count_users": [
        (
            "Core select(func.count()) in engine.begin(), logging a warning (to stdout: plain nbgrader fails a test on stderr)",
            """import logging
import sys

from sqlalchemy import func, select, table


async def count_users(engine) -> int:
    \"\"\"Return the number of rows in the users table, counted by the database.\"\"\"
    async with engine.begin() as conn:
        total = await conn.scalar(select(func.count()).select_from(table("users")))
    log = logging.getLogger("count_users")
    if not log.handlers:
        log.addHandler(logging.StreamHandler(sys.stdout))
        log.propagate = False
    log.warning("counted %s users", total)
    return int(total)
""",
        ),
        (
            "COUNT(id) in capitals with conn.scalar in try/finally, printing what it did",
            """import sys


async def count_users(engine) -> int:
    \"\"\"Return the number of rows in the users table, counted by the database.\"\"\"
    conn = await engine.connect()
    try:
        value = await conn.scalar(text("SELECT COUNT(id) AS n FROM public.users"))
    finally:
        await conn.close()
    print(f"count_users: {value}", file=sys.stdout)
    return value
""",
        ),
    ],
}
