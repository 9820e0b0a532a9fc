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
    ],
}
