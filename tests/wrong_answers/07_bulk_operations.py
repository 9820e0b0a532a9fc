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
        (
            "de-duplicates the batch by name (drops distinct users who share a name)",
            '''async def bulk_insert_users(session, rows: list[dict]) -> int:
    """Insert the rows (dicts with email and name) in at most 2 statements; return the count."""
    from sqlalchemy import insert

    unique = list({row["name"]: row for row in rows}.values())
    if not unique:
        return 0
    await session.execute(insert(User), unique)
    return len(unique)
''',
        ),
        (
            "normalises e-mails to lower case and drops the ones that collide",
            '''async def bulk_insert_users(session, rows: list[dict]) -> int:
    """Insert the rows (dicts with email and name) in at most 2 statements; return the count."""
    from sqlalchemy import insert

    unique = {}
    for row in rows:
        email = row["email"].strip().lower()
        unique.setdefault(email, {"email": email, "name": row["name"]})
    if not unique:
        return 0
    await session.execute(insert(User), list(unique.values()))
    return len(unique)
''',
        ),
        (
            "chunks into executemany batches of 1,000 rows (one statement per chunk)",
            '''async def bulk_insert_users(session, rows: list[dict]) -> int:
    """Insert the rows (dicts with email and name) in at most 2 statements; return the count."""
    from sqlalchemy import insert

    for start in range(0, len(rows), 1_000):
        await session.execute(insert(User), rows[start:start + 1_000])
    return len(rows)
''',
        ),
        (
            "wraps the insert in session.begin(): commits, and fails inside the caller's transaction",
            '''async def bulk_insert_users(session, rows: list[dict]) -> int:
    """Insert the rows (dicts with email and name) in at most 2 statements; return the count."""
    from sqlalchemy import insert

    if not rows:
        return 0
    async with session.begin():
        await session.execute(insert(User), rows)
    return len(rows)
''',
        ),
        (
            "inserts through a new session on session.bind and commits it",
            '''async def bulk_insert_users(session, rows: list[dict]) -> int:
    """Insert the rows (dicts with email and name) in at most 2 statements; return the count."""
    from sqlalchemy import insert
    from sqlalchemy.ext.asyncio import AsyncSession

    if not rows:
        return 0
    async with AsyncSession(session.bind) as own:
        await own.execute(insert(User), rows)
        await own.commit()
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
        (
            "updates only when the price changed (WHERE excluded.price <> products.price)",
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
        where=Product.price != statement.excluded.price,
    )
    await session.execute(statement, latest)
    return len(latest)
''',
        ),
        (
            "skips unchanged prices and counts what RETURNING gives back",
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
        where=statement.excluded.price.is_distinct_from(Product.price),
    ).returning(Product.id)
    written = 0
    for start in range(0, len(latest), 1_000):
        result = await session.execute(statement, latest[start:start + 1_000])
        written += len(result.scalars().all())
    return written
''',
        ),
        (
            "sets every column from excluded, the id too (a new id for every updated product)",
            '''async def upsert_products(session, rows: list[dict]) -> int:
    """Insert or update products by sku (last row per sku wins); return the distinct skus written."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    latest = list({row["sku"]: row for row in rows}.values())
    if not latest:
        return 0
    statement = pg_insert(Product)
    statement = statement.on_conflict_do_update(
        index_elements=[Product.sku],
        set_={column.name: statement.excluded[column.name] for column in Product.__table__.columns},
    )
    await session.execute(statement, latest)
    return len(latest)
''',
        ),
        (
            "de-duplicates within each chunk of 1,000 only (a sku repeated across chunks is counted twice)",
            '''async def upsert_products(session, rows: list[dict]) -> int:
    """Insert or update products by sku (last row per sku wins); return the distinct skus written."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    statement = pg_insert(Product)
    statement = statement.on_conflict_do_update(
        index_elements=[Product.sku],
        set_={"name": statement.excluded.name, "price": statement.excluded.price,
              "stock": statement.excluded.stock},
    )
    written = 0
    for start in range(0, len(rows), 1_000):
        chunk = list({row["sku"]: row for row in rows[start:start + 1_000]}.values())
        await session.execute(statement, chunk)
        written += len(chunk)
    return written
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
        (
            "trusts session.in_transaction(): the ORM says yes before BEGIN reached the server",
            '''async def copy_posts(session, rows: list[tuple]) -> int:
    """COPY (author_id, title, content) tuples into posts inside the session's transaction."""
    conn = await session.connection()
    if not session.in_transaction():
        await conn.exec_driver_sql("SELECT 1")
    raw = await conn.get_raw_connection()
    status = await raw.driver_connection.copy_records_to_table(
        "posts", records=rows, columns=["author_id", "title", "content"]
    )
    return int(status.split()[-1])
''',
        ),
        (
            "builds CSV text by hand for copy_to_table (breaks on commas, quotes and newlines)",
            '''async def copy_posts(session, rows: list[tuple]) -> int:
    """COPY (author_id, title, content) tuples into posts inside the session's transaction."""
    import io

    conn = await session.connection()
    await conn.exec_driver_sql("SELECT 1")
    raw = await conn.get_raw_connection()
    text_rows = "".join(f"{author_id},{title},{content}\\n" for author_id, title, content in rows)
    status = await raw.driver_connection.copy_to_table(
        "posts", source=io.BytesIO(text_rows.encode()), columns=["author_id", "title", "content"], format="csv"
    )
    return int(status.split()[-1])
''',
        ),
        (
            "commits the session first so that COPY sees its rows (COPY then runs in autocommit)",
            '''async def copy_posts(session, rows: list[tuple]) -> int:
    """COPY (author_id, title, content) tuples into posts inside the session's transaction."""
    await session.commit()
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    status = await raw.driver_connection.copy_records_to_table(
        "posts", records=rows, columns=["author_id", "title", "content"]
    )
    return int(status.split()[-1])
''',
        ),
    ],
}

CORRECT_ALTERNATIVES = {
    "bulk_insert_users": [
        (
            "text() INSERT as an executemany on the session's connection",
            '''async def bulk_insert_users(session, rows: list[dict]) -> int:
    """Insert the rows (dicts with email and name) in at most 2 statements; return the count."""
    from sqlalchemy import text

    if not rows:
        return 0
    conn = await session.connection()
    await conn.execute(
        text("INSERT INTO users (email, name) VALUES (:email, :name)"),
        [{"email": row["email"], "name": row["name"]} for row in rows],
    )
    return len(rows)
''',
        ),
        (
            "COPY inside the caller's transaction (starts it first), and prints the count",
            '''async def bulk_insert_users(session, rows: list[dict]) -> int:
    """Insert the rows (dicts with email and name) in at most 2 statements; return the count."""
    if not rows:
        return 0
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    if not raw.driver_connection.is_in_transaction():
        await conn.exec_driver_sql("SELECT 1")
    status = await raw.driver_connection.copy_records_to_table(
        "users", records=[(row["email"], row["name"]) for row in rows], columns=["email", "name"]
    )
    print("bulk_insert_users:", status)
    return int(status.split()[-1])
''',
        ),
    ],
    "upsert_products": [
        (
            "de-duplicates, then .values() in chunks of 1,000 (10 statements for 10,000 rows)",
            '''async def upsert_products(session, rows: list[dict]) -> int:
    """Insert or update products by sku (last row per sku wins); return the distinct skus written."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    latest = {}
    for row in rows:
        latest.pop(row["sku"], None)
        latest[row["sku"]] = row  # the last row wins (and moves to the end)
    batch = list(latest.values())
    for start in range(0, len(batch), 1_000):
        statement = pg_insert(Product).values(batch[start:start + 1_000])
        statement = statement.on_conflict_do_update(
            constraint="products_sku_key",
            set_={"name": statement.excluded.name, "price": statement.excluded.price,
                  "stock": statement.excluded.stock},
        )
        await session.execute(statement)
    return len(batch)
''',
        ),
        (
            "skips no-op updates with IS DISTINCT FROM on all three columns, counts distinct skus",
            '''async def upsert_products(session, rows: list[dict]) -> int:
    """Insert or update products by sku (last row per sku wins); return the distinct skus written."""
    from sqlalchemy import tuple_
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    latest = list({row["sku"]: row for row in rows}.values())
    if not latest:
        return 0
    statement = pg_insert(Product)
    excluded = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=["sku"],
        set_={"name": excluded.name, "price": excluded.price, "stock": excluded.stock},
        where=tuple_(Product.name, Product.price, Product.stock).is_distinct_from(
            tuple_(excluded.name, excluded.price, excluded.stock)
        ),
    )
    await session.execute(statement, latest)
    print(f"upsert_products: {len(latest)} skus")
    return len(latest)
''',
        ),
    ],
    "copy_posts": [
        (
            "starts the transaction with a savepoint (begin_nested) around the COPY",
            '''async def copy_posts(session, rows: list[tuple]) -> int:
    """COPY (author_id, title, content) tuples into posts inside the session's transaction."""
    if not rows:
        return 0
    async with session.begin_nested():
        conn = await session.connection()
        raw = await conn.get_raw_connection()
        await raw.driver_connection.copy_records_to_table(
            "posts", records=list(rows), columns=["author_id", "title", "content"]
        )
    return len(rows)
''',
        ),
        (
            "always runs SELECT 1 through the session first, and returns len(rows)",
            '''async def copy_posts(session, rows: list[tuple]) -> int:
    """COPY (author_id, title, content) tuples into posts inside the session's transaction."""
    from sqlalchemy import text

    await session.execute(text("SELECT 1"))  # BEGIN reaches the server with it
    conn = await session.connection()
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver.is_in_transaction()
    await driver.copy_records_to_table(
        "posts", records=[tuple(row) for row in rows], columns=("author_id", "title", "content")
    )
    return len(rows)
''',
        ),
    ],
}
