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
        (
            "outer transaction in `async with conn.begin()`, which commits when the block ends normally",
            """from contextlib import asynccontextmanager


@asynccontextmanager
async def rollback_session(engine):
    \"\"\"Yield an AsyncSession whose commits become savepoints in a transaction rolled back at the end.\"\"\"
    async with engine.connect() as conn:
        async with conn.begin():
            async with AsyncSession(
                bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
            ) as session:
                yield session
""",
        ),
        (
            "joins with rollback_only: the session's rollback ends the outer transaction",
            """from contextlib import asynccontextmanager


@asynccontextmanager
async def rollback_session(engine):
    \"\"\"Yield an AsyncSession whose commits become savepoints in a transaction rolled back at the end.\"\"\"
    async with engine.connect() as conn:
        outer = await conn.begin()
        session = AsyncSession(bind=conn, join_transaction_mode="rollback_only", expire_on_commit=False)
        try:
            yield session
        finally:
            await session.close()
            if outer.is_active:
                await outer.rollback()
""",
        ),
        (
            "borrows from a NullPool engine of its own, built from engine.url",
            """from contextlib import asynccontextmanager

from sqlalchemy.pool import NullPool


@asynccontextmanager
async def rollback_session(engine):
    \"\"\"Yield an AsyncSession whose commits become savepoints in a transaction rolled back at the end.\"\"\"
    own = create_async_engine(engine.url, poolclass=NullPool)  # no connection stays pooled between tests
    try:
        async with own.connect() as conn:
            outer = await conn.begin()
            session = AsyncSession(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
            try:
                yield session
            finally:
                await session.close()
                if outer.is_active:
                    await outer.rollback()
    finally:
        await own.dispose()
""",
        ),
        (
            "never closes the session (leaves the clean-up to the connection's close)",
            """from contextlib import asynccontextmanager


@asynccontextmanager
async def rollback_session(engine):
    \"\"\"Yield an AsyncSession whose commits become savepoints in a transaction rolled back at the end.\"\"\"
    async with engine.connect() as conn:
        await conn.begin()  # closing the connection rolls this back
        yield AsyncSession(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
""",
        ),
        (
            "keeps one connection per engine and reuses it in every block (faster tests)",
            """from contextlib import asynccontextmanager

_connections = {}


@asynccontextmanager
async def rollback_session(engine):
    \"\"\"Yield an AsyncSession whose commits become savepoints in a transaction rolled back at the end.\"\"\"
    conn = _connections.get(engine)
    if conn is None:
        conn = _connections[engine] = await engine.connect()
    outer = await conn.begin()
    session = AsyncSession(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        await session.close()
        if outer.is_active:
            await outer.rollback()
""",
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
        (
            "reads after_id as inclusive, so it fails correct pagers (and every broken one)",
            """async def check_pager(pager_factory) -> None:
    \"\"\"Raise AssertionError unless pager_factory(session) makes a correct keyset pager over users.\"\"\"
    import random

    ids = [1, 2, 3, 5, 6, 8, 9, 10, 11, 14, 20, 21, 22, 23, 24, 30, 31, 33, 40, 41, 42, 50, 57]
    async with disposable_database(tables=True, label="check_pager", say=False) as scratch:
        async with scratch.engine.begin() as conn:
            await conn.execute(insert(User), [
                {"id": i, "email": f"user{i}@example.test", "name": f"User {i}"}
                for i in random.Random(3).sample(ids, len(ids))])
        async with scratch.session_factory() as session:
            for limit in (1, 5, 7, 100):
                pager = pager_factory(session)
                seen, after_id = [], None
                for _ in range(100):
                    page = await pager.page(after_id, limit)
                    assert isinstance(page, list) and len(page) <= limit
                    if not page:
                        break
                    seen.extend(page)
                    after_id = page[-1] + 1  # the next page starts at the id after the last one
                assert seen == ids, seen
            pager = pager_factory(session)
            assert await pager.page(None, 3) == [1, 2, 3]
            assert await pager.page(5, 3) == [5, 6, 8]
""",
        ),
        (
            "thorough, but on ids 1, 2, 3, … without a gap (id arithmetic passes)",
            """async def check_pager(pager_factory) -> None:
    \"\"\"Raise AssertionError unless pager_factory(session) makes a correct keyset pager over users.\"\"\"
    import random

    from sqlalchemy import delete

    def row(i):
        return {"id": i, "email": f"user{i}@example.test", "name": f"User {i}"}

    async def walk(pager, limit, after_id=None):
        seen = []
        for _ in range(100):
            page = await pager.page(after_id, limit)
            assert isinstance(page, list) and len(page) <= limit, page
            if not page:
                return seen
            seen.extend(page)
            after_id = page[-1]
        raise AssertionError("no end")

    ids = list(range(1, 31))
    async with disposable_database(tables=True, label="check_pager", say=False) as scratch:
        async with scratch.engine.begin() as conn:
            await conn.execute(insert(User), [row(i) for i in random.Random(7).sample(ids, len(ids))])
        async with scratch.session_factory() as session:
            for limit in (1, 4, 7, 30, 100):
                assert await walk(pager_factory(session), limit) == ids
            pager = pager_factory(session)
            assert await pager.page(None, 5) == [1, 2, 3, 4, 5]
            assert await pager.page(5, 5) == [6, 7, 8, 9, 10]
            assert await pager.page(27, 5) == [28, 29, 30]
            assert await pager.page(30, 5) == []
            pager = pager_factory(session)
            assert await pager.page(None, 5) == [1, 2, 3, 4, 5]
            await session.execute(delete(User).where(User.id.in_([2, 5, 12])))
            await session.execute(insert(User).values(row(31)))
            assert await walk(pager, 5, after_id=5) == [i for i in range(6, 32) if i != 12]
            await session.execute(delete(User))
            assert await pager_factory(session).page(None, 5) == []
""",
        ),
        (
            "stops at the first falsy page and never tries an empty table",
            """async def check_pager(pager_factory) -> None:
    \"\"\"Raise AssertionError unless pager_factory(session) makes a correct keyset pager over users.\"\"\"
    import random

    from sqlalchemy import delete

    ids = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71]
    async with disposable_database(tables=True, label="check_pager", say=False) as scratch:
        async with scratch.engine.begin() as conn:
            await conn.execute(insert(User), [
                {"id": i, "email": f"user{i}@example.test", "name": f"User {i}"}
                for i in random.Random(5).sample(ids, len(ids))])
        async with scratch.session_factory() as session:
            for limit in (1, 3, 6, 20, 50):
                pager = pager_factory(session)
                seen, after_id = [], None
                page = await pager.page(after_id, limit)
                while page and len(seen) < 100:
                    assert len(page) <= limit and page == sorted(page)
                    seen.extend(page)
                    page = await pager.page(page[-1], limit)
                assert seen == ids, (limit, seen)
            assert await pager_factory(session).page(12, 4) == [13, 17, 19, 23]
            pager = pager_factory(session)
            assert await pager.page(None, 4) == [2, 3, 5, 7]
            await session.execute(delete(User).where(User.id.in_([3, 7, 19])))
            rest, page = [], await pager.page(7, 4)
            while page and len(rest) < 100:
                rest.extend(page)
                page = await pager.page(page[-1], 4)
            assert rest == [i for i in ids if i > 7 and i != 19], rest
""",
        ),
        (
            "asks only for after_ids of rows that exist: never one in a gap, never one just deleted",
            """async def check_pager(pager_factory) -> None:
    \"\"\"Raise AssertionError unless pager_factory(session) makes a correct keyset pager over users.\"\"\"
    import random

    from sqlalchemy import delete

    def row(i):
        return {"id": i, "email": f"user{i}@example.test", "name": f"User {i}"}

    async def walk(pager, limit, after_id=None):
        seen = []
        for _ in range(100):
            page = await pager.page(after_id, limit)
            assert isinstance(page, list) and all(type(i) is int for i in page), page
            assert len(page) <= limit
            if not page:
                return seen
            seen.extend(page)
            after_id = page[-1]
        raise AssertionError("no end")

    ids = [1, 2, 3, 5, 6, 8, 9, 10, 11, 14, 20, 21, 22, 23, 24, 30, 31, 33, 40, 41, 42, 50, 57]
    async with disposable_database(tables=True, label="check_pager", say=False) as scratch:
        async with scratch.engine.begin() as conn:
            await conn.execute(insert(User), [row(i) for i in random.Random(10).sample(ids, len(ids))])
        async with scratch.session_factory() as session:
            for limit in (1, 2, 5, 7, 23, 100):
                assert await walk(pager_factory(session), limit) == ids
            pager = pager_factory(session)
            assert await pager.page(None, 5) == [1, 2, 3, 5, 6]
            assert await pager.page(6, 5) == [8, 9, 10, 11, 14]
            assert await pager.page(41, 5) == [42, 50, 57]
            assert await pager.page(57, 5) == []
            assert await pager_factory(session).page(14, 3) == [20, 21, 22]
            pager = pager_factory(session)
            assert await pager.page(None, 5) == [1, 2, 3, 5, 6]
            await session.execute(delete(User).where(User.id.in_([3, 10])))
            await session.execute(insert(User), [row(16), row(100)])
            assert await walk(pager, 5, after_id=6) == sorted({i for i in ids if i > 6 and i != 10} | {16, 100})
            await session.execute(delete(User))
            assert await pager_factory(session).page(None, 5) == []
""",
        ),
    ],
}

CORRECT_ALTERNATIVES = {
    "rollback_session": [
        (
            "a class with __aenter__/__aexit__, a session factory bound to the connection, logging",
            '''import logging


class rollback_session:
    """Yield an AsyncSession whose commits become savepoints in a transaction rolled back at the end."""

    def __init__(self, engine):
        self.engine = engine

    async def __aenter__(self) -> AsyncSession:
        from sqlalchemy.ext.asyncio import async_sessionmaker

        self.conn = await self.engine.connect()
        try:
            self.outer = await self.conn.begin()
            factory = async_sessionmaker(bind=self.conn, join_transaction_mode="create_savepoint",
                                         expire_on_commit=False)
            self.session = factory()
        except BaseException:
            await self.conn.close()
            raise
        return self.session

    async def __aexit__(self, exc_type, exc, tb) -> bool:
        if exc is not None:
            logging.warning("rollback_session: the block raised %r; rolling back", exc)
        try:
            await self.session.close()
            if self.outer.is_active:
                await self.outer.rollback()
        finally:
            await self.conn.close()
        return False  # let the exception through
''',
        ),
        (
            "the SQLAlchemy 1.4 recipe: a SAVEPOINT restarted by an after_transaction_end listener",
            '''from contextlib import asynccontextmanager

from sqlalchemy import event


@asynccontextmanager
async def rollback_session(engine):
    """Yield an AsyncSession whose commits become savepoints in a transaction rolled back at the end."""
    async with engine.connect() as conn:
        outer = await conn.begin()
        nested = await conn.begin_nested()
        session = AsyncSession(bind=conn, expire_on_commit=False)

        @event.listens_for(session.sync_session, "after_transaction_end")
        def restart_savepoint(sync_session, transaction):
            nonlocal nested
            if not nested.is_active:
                nested = conn.sync_connection.begin_nested()

        try:
            yield session
        finally:
            await session.close()
            print("rollback_session: rolling back")
            await outer.rollback()
''',
        ),
    ],
    "check_pager": [
        (
            "a differential test: random ids, random limits and after_ids, an oracle list kept in step",
            '''async def check_pager(pager_factory) -> None:
    """Raise AssertionError unless pager_factory(session) makes a correct keyset pager over users."""
    import bisect
    import random

    rng = random.Random(2024)
    present = sorted(rng.sample(range(1, 400), 40))

    def expected(after_id, limit):
        start = 0 if after_id is None else bisect.bisect_right(present, after_id)
        return present[start:start + limit]

    async with disposable_database(tables=True, label="check_pager_alt", say=False) as scratch:
        async with scratch.session_factory() as session:
            shuffled = present[:]
            rng.shuffle(shuffled)
            session.add_all([User(id=i, email=f"u{i}@example.test", name=f"U{i}") for i in shuffled])
            await session.flush()
            for limit in (1, 3, 8, 13, 40, 41, 500):
                pager, after_id, pages = pager_factory(session), None, 0
                while True:
                    page = await pager.page(after_id, limit)
                    assert type(page) is list, f"page returned {type(page).__name__}"
                    assert page == expected(after_id, limit), (after_id, limit, page)
                    if not page:
                        break
                    after_id, pages = page[-1], pages + 1
                    assert pages <= len(present), "too many pages"
            for _ in range(30):
                after_id, limit = rng.choice([None, 0, *range(0, 420, 7)]), rng.randint(1, 12)
                assert await pager_factory(session).page(after_id, limit) == expected(after_id, limit)
            pager = pager_factory(session)
            page = await pager.page(None, 6)
            assert page == expected(None, 6)
            after_id = page[-1]
            gone = [page[-1], page[0], present[10], present[25]]
            await session.execute(text("DELETE FROM users WHERE id = ANY(:ids)"), {"ids": gone})
            added = [i for i in range(1, 420) if i not in present and i > after_id][:3] + [1000]
            await session.execute(text("INSERT INTO users (id, email, name) SELECT i, 'n' || i || '@example.test', 'N' "
                                       "FROM unnest(CAST(:ids AS integer[])) AS i"), {"ids": added})
            present = sorted(set(present) - set(gone) | set(added))
            for _ in range(len(present) + 1):
                page = await pager.page(after_id, 6)
                assert page == expected(after_id, 6), (after_id, page)
                if not page:
                    break
                after_id = page[-1]
            else:
                raise AssertionError("the walk did not end")
            await session.execute(text("DELETE FROM users"))
            present = []
            for limit in (1, 10):
                assert await pager_factory(session).page(None, limit) == []
                assert await pager_factory(session).page(5, limit) == []
''',
        ),
    ],
}
