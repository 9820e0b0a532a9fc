WRONG_ANSWERS = {
    "rollback_session": [
        (
            "a plain session on the engine: commits are real",
            '''from contextlib import asynccontextmanager


@asynccontextmanager
async def rollback_session(engine):
    """Yield an AsyncSession whose commits become savepoints in a transaction rolled back at the end."""
    async with AsyncSession(engine, expire_on_commit=False) as session:
        yield session
        await session.rollback()
''',
        ),
        (
            "a plain session that deletes the rows it created afterwards",
            '''from contextlib import asynccontextmanager


@asynccontextmanager
async def rollback_session(engine):
    """Yield an AsyncSession whose commits become savepoints in a transaction rolled back at the end."""
    async with engine.connect() as conn:
        last_id = await conn.scalar(text("SELECT coalesce(max(id), 0) FROM users"))
    async with AsyncSession(engine, expire_on_commit=False) as session:
        try:
            yield session
        finally:
            await session.rollback()
            async with engine.begin() as conn:
                await conn.execute(text("DELETE FROM users WHERE id > :last"), {"last": last_id})
''',
        ),
        (
            "joins the outer transaction without create_savepoint",
            '''from contextlib import asynccontextmanager


@asynccontextmanager
async def rollback_session(engine):
    """Yield an AsyncSession whose commits become savepoints in a transaction rolled back at the end."""
    async with engine.connect() as conn:
        outer = await conn.begin()
        session = AsyncSession(bind=conn, expire_on_commit=False)
        try:
            yield session
        finally:
            await session.close()
            if outer.is_active:
                await outer.rollback()
''',
        ),
        (
            "joins with control_fully: the session commits the outer transaction",
            '''from contextlib import asynccontextmanager


@asynccontextmanager
async def rollback_session(engine):
    """Yield an AsyncSession whose commits become savepoints in a transaction rolled back at the end."""
    async with engine.connect() as conn:
        outer = await conn.begin()
        session = AsyncSession(bind=conn, join_transaction_mode="control_fully", expire_on_commit=False)
        try:
            yield session
        finally:
            await session.close()
            if outer.is_active:
                await outer.rollback()
''',
        ),
        (
            "never gives the connection back to the pool",
            '''from contextlib import asynccontextmanager


@asynccontextmanager
async def rollback_session(engine):
    """Yield an AsyncSession whose commits become savepoints in a transaction rolled back at the end."""
    conn = await engine.connect()
    outer = await conn.begin()
    session = AsyncSession(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    yield session
    await session.close()
    await outer.rollback()
''',
        ),
        (
            "swallows exceptions raised inside the block",
            '''from contextlib import asynccontextmanager


@asynccontextmanager
async def rollback_session(engine):
    """Yield an AsyncSession whose commits become savepoints in a transaction rolled back at the end."""
    async with engine.connect() as conn:
        outer = await conn.begin()
        session = AsyncSession(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            yield session
        except Exception:
            pass
        await session.close()
        await outer.rollback()
''',
        ),
        (
            "keeps the default expire_on_commit=True",
            '''from contextlib import asynccontextmanager


@asynccontextmanager
async def rollback_session(engine):
    """Yield an AsyncSession whose commits become savepoints in a transaction rolled back at the end."""
    async with engine.connect() as conn:
        outer = await conn.begin()
        session = AsyncSession(bind=conn, join_transaction_mode="create_savepoint")
        try:
            yield session
        finally:
            await session.close()
            await outer.rollback()
''',
        ),
    ],
    "check_pager": [
        (
            "checks only the first page",
            '''async def check_pager(pager_factory) -> None:
    """Raise AssertionError unless pager_factory(session) makes a correct keyset pager over users."""
    async with disposable_database(tables=True, label="check_pager", say=False) as scratch:
        async with scratch.engine.begin() as conn:
            await conn.execute(insert(User), [
                {"id": i, "email": f"user{i}@example.test", "name": f"User {i}"} for i in range(1, 21)])
        async with scratch.session_factory() as session:
            pager = pager_factory(session)
            assert await pager.page(None, 5) == [1, 2, 3, 4, 5]
''',
        ),
        (
            "checks only the lengths of the pages",
            '''async def check_pager(pager_factory) -> None:
    """Raise AssertionError unless pager_factory(session) makes a correct keyset pager over users."""
    async with disposable_database(tables=True, label="check_pager", say=False) as scratch:
        async with scratch.engine.begin() as conn:
            await conn.execute(insert(User), [
                {"id": i, "email": f"user{i}@example.test", "name": f"User {i}"} for i in range(1, 24)])
        async with scratch.session_factory() as session:
            pager = pager_factory(session)
            sizes, after_id = [], None
            while True:
                page = await pager.page(after_id, 5)
                if not page:
                    break
                sizes.append(len(page))
                after_id = page[-1]
            assert sizes == [5, 5, 5, 5, 3], sizes
''',
        ),
        (
            "walks every page with exact ids, but on data inserted in id order and never changed",
            '''async def check_pager(pager_factory) -> None:
    """Raise AssertionError unless pager_factory(session) makes a correct keyset pager over users."""
    ids = list(range(1, 24))
    async with disposable_database(tables=True, label="check_pager", say=False) as scratch:
        async with scratch.engine.begin() as conn:
            await conn.execute(insert(User), [
                {"id": i, "email": f"user{i}@example.test", "name": f"User {i}"} for i in ids])
        async with scratch.session_factory() as session:
            for limit in (1, 5, 7, 100):
                pager = pager_factory(session)
                seen, after_id = [], None
                while True:
                    page = await pager.page(after_id, limit)
                    assert len(page) <= limit
                    if not page:
                        break
                    seen.extend(page)
                    after_id = page[-1]
                assert seen == ids, seen
''',
        ),
        (
            "tests on the seed data and compares with a query of its own",
            '''async def check_pager(pager_factory) -> None:
    """Raise AssertionError unless pager_factory(session) makes a correct keyset pager over users."""
    async with Session() as session:
        expected = list((await session.scalars(select(User.id).order_by(User.id))).all())
        pager = pager_factory(session)
        seen, after_id = [], None
        while True:
            page = await pager.page(after_id, 100)
            if not page:
                break
            seen.extend(page)
            after_id = page[-1]
        assert seen == expected
''',
        ),
    ],
}
