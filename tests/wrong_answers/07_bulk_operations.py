WRONG_ANSWERS = {
    "bulk_insert_users": [
        (
            "add_all: one INSERT … RETURNING per page of 1,000 rows (10 statements)",
            '''async def bulk_insert_users(session, rows: list[dict]) -> int:
    """Insert the rows (dicts with email and name) in at most 2 statements; return the count."""
    users = [User(**row) for row in rows]
    session.add_all(users)
    await session.flush()
    return len(users)
''',
        ),
        (
            "one execute per row",
            '''async def bulk_insert_users(session, rows: list[dict]) -> int:
    """Insert the rows (dicts with email and name) in at most 2 statements; return the count."""
    from sqlalchemy import insert

    for row in rows:
        await session.execute(insert(User).values(**row))
    return len(rows)
''',
        ),
        (
            "the tutorial's bulk create: Core insert, then add_all of the same rows",
            '''async def bulk_insert_users(session, rows: list[dict]) -> int:
    """Insert the rows (dicts with email and name) in at most 2 statements; return the count."""
    await session.execute(User.__table__.insert(), rows)
    session.add_all([User(**row) for row in rows])
    await session.flush()
    return len(rows)
''',
        ),
        (
            "insert().returning() to count the ids: paged by 1,000 rows",
            '''async def bulk_insert_users(session, rows: list[dict]) -> int:
    """Insert the rows (dicts with email and name) in at most 2 statements; return the count."""
    from sqlalchemy import insert

    if not rows:
        return 0
    result = await session.execute(insert(User).returning(User.id), rows)
    return len(result.scalars().all())
''',
        ),
        (
            "commits inside: the caller cannot roll it back",
            '''async def bulk_insert_users(session, rows: list[dict]) -> int:
    """Insert the rows (dicts with email and name) in at most 2 statements; return the count."""
    from sqlalchemy import insert

    if not rows:
        return 0
    await session.execute(insert(User), rows)
    await session.commit()
    return len(rows)
''',
        ),
        (
            "returns the executemany rowcount (-1 with asyncpg)",
            '''async def bulk_insert_users(session, rows: list[dict]) -> int:
    """Insert the rows (dicts with email and name) in at most 2 statements; return the count."""
    if not rows:
        return 0
    conn = await session.connection()
    result = await conn.execute(User.__table__.insert(), rows)
    return result.rowcount
''',
        ),
        (
            "COPY as the first thing in the session: runs in autocommit",
            '''async def bulk_insert_users(session, rows: list[dict]) -> int:
    """Insert the rows (dicts with email and name) in at most 2 statements; return the count."""
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(
        "users", records=[(r["email"], r["name"]) for r in rows], columns=["email", "name"]
    )
    return len(rows)
''',
        ),
        (
            "forgets the empty list: INSERT … DEFAULT VALUES fails",
            '''async def bulk_insert_users(session, rows: list[dict]) -> int:
    """Insert the rows (dicts with email and name) in at most 2 statements; return the count."""
    from sqlalchemy import insert

    await session.execute(insert(User), rows)
    return len(rows)
''',
        ),
    ],
    "upsert_products": [
        (
            "no de-duplication: one .values() statement fails on a repeated sku",
            '''async def upsert_products(session, rows: list[dict]) -> int:
    """Insert or update products by sku (last row per sku wins); return the distinct skus written."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    if not rows:
        return 0
    statement = pg_insert(Product).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=["sku"],
        set_={"name": statement.excluded.name, "price": statement.excluded.price,
              "stock": statement.excluded.stock},
    )
    await session.execute(statement)
    return len({row["sku"] for row in rows})
''',
        ),
        (
            "no de-duplication, counts the rows written with RETURNING",
            '''async def upsert_products(session, rows: list[dict]) -> int:
    """Insert or update products by sku (last row per sku wins); return the distinct skus written."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    if not rows:
        return 0
    statement = pg_insert(Product)
    statement = statement.on_conflict_do_update(
        index_elements=[Product.sku],
        set_={"name": statement.excluded.name, "price": statement.excluded.price,
              "stock": statement.excluded.stock},
    ).returning(Product.id)
    result = await session.execute(statement, rows)
    return len(set(result.scalars().all()))
''',
        ),
        (
            "de-duplicates, but the first row for a sku wins",
            '''async def upsert_products(session, rows: list[dict]) -> int:
    """Insert or update products by sku (last row per sku wins); return the distinct skus written."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    unique = {}
    for row in rows:
        unique.setdefault(row["sku"], row)
    if not unique:
        return 0
    statement = pg_insert(Product)
    statement = statement.on_conflict_do_update(
        index_elements=[Product.sku],
        set_={"name": statement.excluded.name, "price": statement.excluded.price,
              "stock": statement.excluded.stock},
    )
    await session.execute(statement, list(unique.values()))
    return len(unique)
''',
        ),
        (
            "returns the number of rows in the batch, not of distinct skus",
            '''async def upsert_products(session, rows: list[dict]) -> int:
    """Insert or update products by sku (last row per sku wins); return the distinct skus written."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    if not rows:
        return 0
    latest = list({row["sku"]: row for row in rows}.values())
    statement = pg_insert(Product)
    statement = statement.on_conflict_do_update(
        index_elements=[Product.sku],
        set_={"name": statement.excluded.name, "price": statement.excluded.price,
              "stock": statement.excluded.stock},
    )
    await session.execute(statement, latest)
    return len(rows)
''',
        ),
        (
            "the tutorial's upsert: sets updated_at, a column products does not have",
            '''async def upsert_products(session, rows: list[dict]) -> int:
    """Insert or update products by sku (last row per sku wins); return the distinct skus written."""
    from sqlalchemy import func
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    latest = list({row["sku"]: row for row in rows}.values())
    if not latest:
        return 0
    statement = pg_insert(Product)
    statement = statement.on_conflict_do_update(
        index_elements=["sku"],
        set_={"name": statement.excluded.name, "price": statement.excluded.price,
              "stock": statement.excluded.stock, "updated_at": func.now()},
    )
    await session.execute(statement, latest)
    return len(latest)
''',
        ),
        (
            "ON CONFLICT DO NOTHING: existing products are never updated",
            '''async def upsert_products(session, rows: list[dict]) -> int:
    """Insert or update products by sku (last row per sku wins); return the distinct skus written."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    latest = list({row["sku"]: row for row in rows}.values())
    if not latest:
        return 0
    await session.execute(pg_insert(Product).on_conflict_do_nothing(index_elements=["sku"]), latest)
    return len(latest)
''',
        ),
        (
            "de-duplicates, but one .values() statement for 10,000 rows exceeds 32,767 parameters",
            '''async def upsert_products(session, rows: list[dict]) -> int:
    """Insert or update products by sku (last row per sku wins); return the distinct skus written."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    latest = list({row["sku"]: row for row in rows}.values())
    if not latest:
        return 0
    statement = pg_insert(Product).values(latest)
    statement = statement.on_conflict_do_update(
        index_elements=["sku"],
        set_={"name": statement.excluded.name, "price": statement.excluded.price,
              "stock": statement.excluded.stock},
    )
    await session.execute(statement)
    return len(latest)
''',
        ),
        (
            "select, then update or insert, one product at a time",
            '''async def upsert_products(session, rows: list[dict]) -> int:
    """Insert or update products by sku (last row per sku wins); return the distinct skus written."""
    from sqlalchemy import select

    written = set()
    for row in rows:
        product = (await session.execute(
            select(Product).where(Product.sku == row["sku"])
        )).scalar_one_or_none()
        if product is None:
            session.add(Product(**row))
        else:
            product.name, product.price, product.stock = row["name"], row["price"], row["stock"]
        await session.flush()
        written.add(row["sku"])
    return len(written)
''',
        ),
        (
            "commits inside: the caller cannot roll it back",
            '''async def upsert_products(session, rows: list[dict]) -> int:
    """Insert or update products by sku (last row per sku wins); return the distinct skus written."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    latest = list({row["sku"]: row for row in rows}.values())
    if not latest:
        return 0
    statement = pg_insert(Product)
    statement = statement.on_conflict_do_update(
        index_elements=[Product.sku],
        set_={"name": statement.excluded.name, "price": statement.excluded.price,
              "stock": statement.excluded.stock},
    )
    await session.execute(statement, latest)
    await session.commit()
    return len(latest)
''',
        ),
    ],
    "copy_posts": [
        (
            "opens its own asyncpg connection: not part of the session's transaction",
            '''async def copy_posts(session, rows: list[tuple]) -> int:
    """COPY (author_id, title, content) tuples into posts inside the session's transaction."""
    import asyncpg

    url = session.bind.url.render_as_string(hide_password=False)
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        status = await conn.copy_records_to_table(
            "posts", records=rows, columns=["author_id", "title", "content"]
        )
    finally:
        await conn.close()
    return int(status.split()[-1])
''',
        ),
        (
            "COPY on session.connection() as the first thing: asyncpg is still in autocommit",
            '''async def copy_posts(session, rows: list[tuple]) -> int:
    """COPY (author_id, title, content) tuples into posts inside the session's transaction."""
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    status = await raw.driver_connection.copy_records_to_table(
        "posts", records=rows, columns=["author_id", "title", "content"]
    )
    return int(status.split()[-1])
''',
        ),
        (
            "COPY on another pooled connection from the engine",
            '''async def copy_posts(session, rows: list[tuple]) -> int:
    """COPY (author_id, title, content) tuples into posts inside the session's transaction."""
    async with session.bind.connect() as conn:
        raw = await conn.get_raw_connection()
        status = await raw.driver_connection.copy_records_to_table(
            "posts", records=rows, columns=["author_id", "title", "content"]
        )
    return int(status.split()[-1])
''',
        ),
        (
            "an executemany INSERT instead of COPY",
            '''async def copy_posts(session, rows: list[tuple]) -> int:
    """COPY (author_id, title, content) tuples into posts inside the session's transaction."""
    from sqlalchemy import insert

    if not rows:
        return 0
    await session.execute(
        insert(Post), [{"author_id": a, "title": t, "content": c} for a, t, c in rows]
    )
    return len(rows)
''',
        ),
        (
            "returns COPY's status string instead of a number",
            '''async def copy_posts(session, rows: list[tuple]) -> int:
    """COPY (author_id, title, content) tuples into posts inside the session's transaction."""
    conn = await session.connection()
    await conn.exec_driver_sql("SELECT 1")
    raw = await conn.get_raw_connection()
    return await raw.driver_connection.copy_records_to_table(
        "posts", records=rows, columns=["author_id", "title", "content"]
    )
''',
        ),
        (
            "commits inside: the caller cannot roll it back",
            '''async def copy_posts(session, rows: list[tuple]) -> int:
    """COPY (author_id, title, content) tuples into posts inside the session's transaction."""
    conn = await session.connection()
    await conn.exec_driver_sql("SELECT 1")
    raw = await conn.get_raw_connection()
    status = await raw.driver_connection.copy_records_to_table(
        "posts", records=rows, columns=["author_id", "title", "content"]
    )
    await session.commit()
    return int(status.split()[-1])
''',
        ),
    ],
}
