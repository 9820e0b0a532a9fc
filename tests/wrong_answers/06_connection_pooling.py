"""Plausible wrong answers for 06_connection_pooling (see README.md in this folder)."""

WRONG_ANSWERS = {
    "pool_report": [
        (
            "publishes the raw pool.overflow() (negative below pool_size)",
            '''def pool_report(engine) -> dict:
    """Counts of the engine's pool: size, checked_out, checked_in, overflow (>= 0), open_connections."""
    pool = engine.pool
    return {
        "size": pool.size(),
        "checked_out": pool.checkedout(),
        "checked_in": pool.checkedin(),
        "overflow": pool.overflow(),
        "open_connections": pool.checkedout() + pool.checkedin(),
    }
''',
        ),
        (
            "counts open connections as size + overflow (assumes pool_size connections are always open)",
            '''def pool_report(engine) -> dict:
    """Counts of the engine's pool: size, checked_out, checked_in, overflow (>= 0), open_connections."""
    pool = engine.pool
    overflow = max(0, pool.overflow())
    return {
        "size": pool.size(),
        "checked_out": pool.checkedout(),
        "checked_in": pool.checkedin(),
        "overflow": overflow,
        "open_connections": pool.size() + overflow,
    }
''',
        ),
        (
            "derives checked_in as size - checked_out",
            '''def pool_report(engine) -> dict:
    """Counts of the engine's pool: size, checked_out, checked_in, overflow (>= 0), open_connections."""
    pool = engine.pool
    checked_out = pool.checkedout()
    checked_in = max(0, pool.size() - checked_out)
    return {
        "size": pool.size(),
        "checked_out": checked_out,
        "checked_in": checked_in,
        "overflow": max(0, pool.overflow()),
        "open_connections": checked_out + checked_in,
    }
''',
        ),
    ],
    "healthcheck": [
        (
            "reports ok once a connection is checked out, without running a query",
            '''async def healthcheck(engine, timeout: float = 1.0) -> dict:
    """SELECT 1 through the engine's pool within timeout seconds; report status, latency and pool, never raise."""
    started = time.perf_counter()

    async def probe() -> None:
        async with engine.connect():
            pass  # getting a connection proves the database is there

    try:
        await asyncio.wait_for(probe(), timeout)
    except Exception:
        return {"status": "unavailable", "latency_ms": None, "pool": pool_report(engine)}
    return {"status": "ok", "latency_ms": (time.perf_counter() - started) * 1000, "pool": pool_report(engine)}
''',
        ),
        (
            "no timeout: waits as long as the pool and the driver do",
            '''async def healthcheck(engine, timeout: float = 1.0) -> dict:
    """SELECT 1 through the engine's pool within timeout seconds; report status, latency and pool, never raise."""
    started = time.perf_counter()
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:
        return {"status": "unavailable", "latency_ms": None, "pool": pool_report(engine)}
    return {"status": "ok", "latency_ms": (time.perf_counter() - started) * 1000, "pool": pool_report(engine)}
''',
        ),
        (
            "times out the query only, not the wait for a connection",
            '''async def healthcheck(engine, timeout: float = 1.0) -> dict:
    """SELECT 1 through the engine's pool within timeout seconds; report status, latency and pool, never raise."""
    started = time.perf_counter()
    try:
        async with engine.connect() as conn:
            await asyncio.wait_for(conn.execute(text("SELECT 1")), timeout)
    except Exception:
        return {"status": "unavailable", "latency_ms": None, "pool": pool_report(engine)}
    return {"status": "ok", "latency_ms": (time.perf_counter() - started) * 1000, "pool": pool_report(engine)}
''',
        ),
        (
            "wait_for alone: waits for the cancelled attempt's clean-up, 2 s more on a server that "
            "stopped answering",
            '''async def healthcheck(engine, timeout: float = 1.0) -> dict:
    """SELECT 1 through the engine's pool within timeout seconds; report status, latency and pool, never raise."""
    started = time.perf_counter()

    async def probe() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(probe(), timeout)
    except Exception:
        return {"status": "unavailable", "latency_ms": None, "pool": pool_report(engine)}
    return {"status": "ok", "latency_ms": (time.perf_counter() - started) * 1000, "pool": pool_report(engine)}
''',
        ),
        (
            "lets errors escape (raises when the database is unreachable)",
            '''async def healthcheck(engine, timeout: float = 1.0) -> dict:
    """SELECT 1 through the engine's pool within timeout seconds; report status, latency and pool, never raise."""
    started = time.perf_counter()

    async def probe() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(probe(), timeout)
    except TimeoutError:
        return {"status": "unavailable", "latency_ms": None, "pool": pool_report(engine)}
    return {"status": "ok", "latency_ms": (time.perf_counter() - started) * 1000, "pool": pool_report(engine)}
''',
        ),
        (
            "catches only database errors (a refused connection is an OSError, not a DBAPIError)",
            '''async def healthcheck(engine, timeout: float = 1.0) -> dict:
    """SELECT 1 through the engine's pool within timeout seconds; report status, latency and pool, never raise."""
    from sqlalchemy.exc import DBAPIError, TimeoutError as PoolTimeout

    started = time.perf_counter()

    async def probe() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(probe(), timeout)
    except (DBAPIError, PoolTimeout, TimeoutError):
        return {"status": "unavailable", "latency_ms": None, "pool": pool_report(engine)}
    return {"status": "ok", "latency_ms": (time.perf_counter() - started) * 1000, "pool": pool_report(engine)}
''',
        ),
        (
            "checks through a separate NullPool engine (never sees the app's exhausted pool)",
            '''async def healthcheck(engine, timeout: float = 1.0) -> dict:
    """SELECT 1 through the engine's pool within timeout seconds; report status, latency and pool, never raise."""
    started = time.perf_counter()
    probe_engine = create_async_engine(engine.url, poolclass=NullPool)

    async def probe() -> None:
        async with probe_engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(probe(), timeout)
    except Exception:
        return {"status": "unavailable", "latency_ms": None, "pool": pool_report(engine)}
    finally:
        await probe_engine.dispose()
    return {"status": "ok", "latency_ms": (time.perf_counter() - started) * 1000, "pool": pool_report(engine)}
''',
        ),
    ],
    "make_resilient_engine": [
        (
            "a pool tuned for size, without pre-ping",
            '''def make_resilient_engine(url: str) -> AsyncEngine:
    """A pooled async engine whose idle connections may be killed by the server without failing a request."""
    return create_async_engine(url, pool_size=10, max_overflow=5, pool_timeout=10)
''',
        ),
        (
            "pool_recycle instead of pre-ping (age-based, cannot see a killed connection)",
            '''def make_resilient_engine(url: str) -> AsyncEngine:
    """A pooled async engine whose idle connections may be killed by the server without failing a request."""
    return create_async_engine(url, pool_recycle=300, pool_use_lifo=True)
''',
        ),
        (
            "NullPool: nothing pooled, nothing to go stale (but no pool either)",
            '''def make_resilient_engine(url: str) -> AsyncEngine:
    """A pooled async engine whose idle connections may be killed by the server without failing a request."""
    return create_async_engine(url, poolclass=NullPool)
''',
        ),
    ],
}
