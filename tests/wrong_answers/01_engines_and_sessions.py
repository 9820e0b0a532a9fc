_ENGINE_HEAD = '''from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def make_engine(url: str) -> AsyncEngine:
    """An engine with 5 pooled connections at most, pre-ping, and application_name "asyncdb-lab"."""
'''

_NAMES_HEAD = '''async def names_by_id(session_factory, user_ids: list[int]) -> dict[int, str]:
    """Load the names of the given users concurrently, one session per task; unknown ids are left out."""
'''

WRONG_ANSWERS = {
    "make_engine": [
        (
            "the tutorial's big pool: pool_size=20, max_overflow=10",
            _ENGINE_HEAD
            + """    return create_async_engine(
        url,
        pool_size=20,
        max_overflow=10,
        pool_pre_ping=True,
        connect_args={"server_settings": {"application_name": "asyncdb-lab"}},
    )
""",
        ),
        (
            "pool_size=5 but the default max_overflow (10 more under load)",
            _ENGINE_HEAD
            + """    return create_async_engine(
        url,
        pool_size=5,
        pool_pre_ping=True,
        connect_args={"server_settings": {"application_name": "asyncdb-lab"}},
    )
""",
        ),
        (
            "five connections in all, but only three kept open (pool_size=3, max_overflow=2)",
            _ENGINE_HEAD
            + """    return create_async_engine(
        url,
        pool_size=3,
        max_overflow=2,
        pool_pre_ping=True,
        connect_args={"server_settings": {"application_name": "asyncdb-lab"}},
    )
""",
        ),
        (
            "no pool_pre_ping",
            _ENGINE_HEAD
            + """    return create_async_engine(
        url,
        pool_size=5,
        max_overflow=0,
        connect_args={"server_settings": {"application_name": "asyncdb-lab"}},
    )
""",
        ),
        (
            "the right pool, with echo=True left on",
            _ENGINE_HEAD
            + """    return create_async_engine(
        url,
        echo=True,
        pool_size=5,
        max_overflow=0,
        pool_pre_ping=True,
        connect_args={"server_settings": {"application_name": "asyncdb-lab"}},
    )
""",
        ),
        (
            "no application_name",
            _ENGINE_HEAD
            + """    return create_async_engine(url, pool_size=5, max_overflow=0, pool_pre_ping=True)
""",
        ),
        (
            "application_name set with SET on the first connection only",
            _ENGINE_HEAD
            + """    engine = create_async_engine(url, pool_size=5, max_overflow=0, pool_pre_ping=True)
    named = []

    from sqlalchemy import event

    @event.listens_for(engine.sync_engine, "connect")
    def name_it(dbapi_connection, connection_record):
        if not named:
            cursor = dbapi_connection.cursor()
            cursor.execute("SET application_name = 'asyncdb-lab'")
            cursor.close()
            named.append(True)

    return engine
""",
        ),
        (
            "application_name set with SET in a connect event: the pool's first rollback undoes it",
            _ENGINE_HEAD
            + """    from sqlalchemy import event

    engine = create_async_engine(url, pool_size=5, max_overflow=0, pool_pre_ping=True)

    @event.listens_for(engine.sync_engine, "connect")
    def name_it(dbapi_connection, connection_record):
        cursor = dbapi_connection.cursor()
        cursor.execute("SET application_name = 'asyncdb-lab'")
        cursor.close()

    return engine
""",
        ),
        (
            "echo off, but echo_pool left on",
            _ENGINE_HEAD
            + """    return create_async_engine(
        url,
        echo_pool=True,
        pool_size=5,
        max_overflow=0,
        pool_pre_ping=True,
        connect_args={"server_settings": {"application_name": "asyncdb-lab"}},
    )
""",
        ),
        (
            "pool_recycle=0, meant as 'never recycle': every checkout opens a new connection",
            _ENGINE_HEAD
            + """    return create_async_engine(
        url,
        pool_size=5,
        max_overflow=0,
        pool_pre_ping=True,
        pool_recycle=0,
        connect_args={"server_settings": {"application_name": "asyncdb-lab"}},
    )
""",
        ),
        (
            "rebuilds the URL from its parts: the options in its query string are dropped",
            _ENGINE_HEAD
            + """    from sqlalchemy import URL, make_url

    parsed = make_url(url)
    host = parsed.host or parsed.query.get("host")
    rebuilt = URL.create(
        "postgresql+asyncpg",
        username=parsed.username,
        password=parsed.password,
        host=None if host and host.startswith("/") else host,
        port=parsed.port,
        database=parsed.database,
        query={"host": host} if host and host.startswith("/") else {},
    )
    return create_async_engine(
        rebuilt,
        pool_size=5,
        max_overflow=0,
        pool_pre_ping=True,
        connect_args={"server_settings": {"application_name": "asyncdb-lab"}},
    )
""",
        ),
        (
            "one engine for the whole process, made on the first call",
            "_engine = None\n\n\n"
            + _ENGINE_HEAD
            + """    global _engine
    if _engine is None:
        _engine = create_async_engine(
            url,
            pool_size=5,
            max_overflow=0,
            pool_pre_ping=True,
            connect_args={"server_settings": {"application_name": "asyncdb-lab"}},
        )
    return _engine
""",
        ),
    ],
    "names_by_id": [
        (
            "a loop over the ids in one session: correct, one after another",
            _NAMES_HEAD
            + """    names = {}
    async with session_factory() as session:
        for user_id in user_ids:
            user = await session.get(User, user_id)
            if user is not None:
                names[user_id] = user.name
    return names
""",
        ),
        (
            "a session per id, but awaited one after another",
            _NAMES_HEAD
            + """    names = {}
    for user_id in user_ids:
        async with session_factory() as session:
            name = await session.scalar(select(User.name).where(User.id == user_id))
        if name is not None:
            names[user_id] = name
    return names
""",
        ),
        (
            "asyncio.gather on one shared session",
            _NAMES_HEAD
            + """    async with session_factory() as session:
        users = await asyncio.gather(*(session.get(User, user_id) for user_id in user_ids))
    return {user.id: user.name for user in users if user is not None}
""",
        ),
        (
            "asyncio.gather on one shared session that already holds its connection",
            _NAMES_HEAD
            + """    async with session_factory() as session:
        await session.execute(text("SELECT 1"))
        results = await asyncio.gather(
            *(session.scalar(select(User.name).where(User.id == user_id)) for user_id in user_ids)
        )
    return {user_id: name for user_id, name in zip(user_ids, results) if name is not None}
""",
        ),
        (
            "a session per id, all opened up front and closed only at the end",
            _NAMES_HEAD
            + """    sessions = [session_factory() for _ in user_ids]
    try:
        users = await asyncio.gather(
            *(session.get(User, user_id) for session, user_id in zip(sessions, user_ids))
        )
    finally:
        for session in sessions:
            await session.close()
    return {user.id: user.name for user in users if user is not None}
""",
        ),
        (
            "one IN query: the right data, but no concurrent work at all",
            _NAMES_HEAD
            + """    if not user_ids:
        return {}
    async with session_factory() as session:
        rows = await session.execute(select(User.id, User.name).where(User.id.in_(user_ids)))
        return {user_id: name for user_id, name in rows}
""",
        ),
        (
            "one session per task, but fetches the id-th row (OFFSET id - 1), not the row with that id",
            _NAMES_HEAD
            + """    async def load_one(user_id: int) -> tuple[int, str | None]:
        if user_id < 1:
            return user_id, None
        async with session_factory() as session:
            name = await session.scalar(select(User.name).offset(user_id - 1).limit(1))
            return user_id, name

    found = await asyncio.gather(*(load_one(user_id) for user_id in user_ids))
    return {user_id: name for user_id, name in found if name is not None}
""",
        ),
        (
            "drops the missing names first, then pairs the rest with the ids in order",
            _NAMES_HEAD
            + """    async def load_one(user_id: int) -> str | None:
        async with session_factory() as session:
            return await session.scalar(select(User.name).where(User.id == user_id))

    names = [name for name in await asyncio.gather(*map(load_one, user_ids)) if name is not None]
    return dict(zip(user_ids, names))
""",
        ),
        (
            "skips ids above the number of users, counted first",
            _NAMES_HEAD
            + """    async with session_factory() as session:
        total = await session.scalar(select(func.count()).select_from(User))
    wanted = [user_id for user_id in user_ids if 1 <= user_id <= total]

    async def load_one(user_id: int) -> tuple[int, str | None]:
        async with session_factory() as session:
            return user_id, await session.scalar(select(User.name).where(User.id == user_id))

    found = await asyncio.gather(*(load_one(user_id) for user_id in wanted))
    return {user_id: name for user_id, name in found if name is not None}
""",
        ),
        (
            "remembers the names it found in a module-level cache",
            "_names: dict[int, str] = {}\n\n\n"
            + _NAMES_HEAD
            + """    async def load_one(user_id: int) -> None:
        if user_id in _names:
            return
        async with session_factory() as session:
            name = await session.scalar(select(User.name).where(User.id == user_id))
        if name is not None:
            _names[user_id] = name

    await asyncio.gather(*(load_one(user_id) for user_id in user_ids))
    return {user_id: _names[user_id] for user_id in user_ids if user_id in _names}
""",
        ),
    ],
}

CORRECT_ALTERNATIVES = {
    "make_engine": [
        (
            "the default pool_size (5) with max_overflow=0, and extra production settings, logging a warning",
            _ENGINE_HEAD
            + """    import logging
    import sys

    from sqlalchemy import make_url

    log = logging.getLogger("make_engine")
    if not log.handlers:
        log.addHandler(logging.StreamHandler(sys.stdout))
        log.propagate = False
    log.warning("engine for %r", make_url(url))
    settings = {"application_name": "asyncdb-lab"}
    return create_async_engine(
        make_url(url),
        max_overflow=0,
        pool_pre_ping=True,
        pool_timeout=10,
        pool_recycle=1800,
        hide_parameters=True,
        connect_args={"server_settings": settings},
    )
""",
        ),
        (
            "application_name SET outside any transaction on each new connection, LIFO pool",
            _ENGINE_HEAD
            + """    from sqlalchemy import event
    from sqlalchemy.pool import AsyncAdaptedQueuePool

    engine = create_async_engine(
        url,
        poolclass=AsyncAdaptedQueuePool,
        pool_size=5,
        max_overflow=0,
        pool_pre_ping=True,
        pool_use_lifo=True,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def name_it(dbapi_connection, connection_record):
        # run on the raw asyncpg connection, outside SQLAlchemy's transaction: nothing rolls it back
        dbapi_connection.run_async(
            lambda raw: raw.execute("SELECT set_config('application_name', 'asyncdb-lab', false)")
        )

    return engine
""",
        ),
    ],
    "names_by_id": [
        (
            "a TaskGroup of per-task sessions with session.get(), each task writing into the dict",
            _NAMES_HEAD
            + """    names: dict[int, str] = {}

    async def load_one(user_id: int) -> None:
        async with session_factory() as session:
            user = await session.get(User, user_id)
            if user is not None:
                names[user_id] = user.name

    async with asyncio.TaskGroup() as group:
        for user_id in set(user_ids):
            group.create_task(load_one(user_id))
    return names
""",
        ),
        (
            "text() SQL per task, at most four at a time (a semaphore), printing progress",
            _NAMES_HEAD
            + """    import sys

    limit = asyncio.Semaphore(4)

    async def load_one(user_id: int) -> tuple[int, str | None]:
        async with limit, session_factory.begin() as session:
            row = (
                await session.execute(text("SELECT name FROM users WHERE id = :id"), {"id": user_id})
            ).first()
        return user_id, None if row is None else row.name

    found = await asyncio.gather(*(load_one(user_id) for user_id in user_ids))
    print(f"names_by_id: {len(found)} lookups", file=sys.stdout)
    return {user_id: name for user_id, name in found if name is not None}
""",
        ),
    ],
}
