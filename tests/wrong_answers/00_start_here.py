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
    ],
}
