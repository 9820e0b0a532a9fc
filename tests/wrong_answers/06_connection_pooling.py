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
        (
            "overflow as max(0, checked_out - size): forgets overflow connections idling in the pool",
            '''def pool_report(engine) -> dict:
    """Counts of the engine's pool: size, checked_out, checked_in, overflow (>= 0), open_connections."""
    pool = engine.pool
    checked_out = pool.checkedout()
    checked_in = pool.checkedin()
    return {
        "size": pool.size(),
        "checked_out": checked_out,
        "checked_in": checked_in,
        "overflow": max(0, checked_out - pool.size()),
        "open_connections": checked_out + checked_in,
    }
''',
        ),
        (
            "reads private counters: checked_out = _pool.maxsize + _overflow (every open connection, "
            "idle ones too)",
            '''def pool_report(engine) -> dict:
    """Counts of the engine's pool: size, checked_out, checked_in, overflow (>= 0), open_connections."""
    pool = engine.pool
    size = pool._pool.maxsize
    checked_out = size + pool._overflow
    checked_in = pool._pool.qsize()
    return {
        "size": size,
        "checked_out": checked_out,
        "checked_in": checked_in,
        "overflow": max(0, pool._overflow),
        "open_connections": checked_out,
    }
''',
        ),
        (
            "open_connections as checked_out + overflow (idle connections counted as closed)",
            '''def pool_report(engine) -> dict:
    """Counts of the engine's pool: size, checked_out, checked_in, overflow (>= 0), open_connections."""
    pool = engine.pool
    overflow = max(0, pool.overflow())
    return {
        "size": pool.size(),
        "checked_out": pool.checkedout(),
        "checked_in": pool.checkedin(),
        "overflow": overflow,
        "open_connections": pool.checkedout() + overflow,
    }
''',
        ),
        (
            "overflow as open connections - 4 (fitted to the visible test's pool of 4)",
            '''def pool_report(engine) -> dict:
    """Counts of the engine's pool: size, checked_out, checked_in, overflow (>= 0), open_connections."""
    pool = engine.pool
    checked_out = pool.checkedout()
    checked_in = pool.checkedin()
    open_connections = checked_out + checked_in
    return {
        "size": pool.size(),
        "checked_out": checked_out,
        "checked_in": checked_in,
        "overflow": max(0, open_connections - 4),
        "open_connections": open_connections,
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
        (
            "the timeout covers only the checkout, not the query",
            '''async def healthcheck(engine, timeout: float = 1.0) -> dict:
    """SELECT 1 through the engine's pool within timeout seconds; report status, latency and pool, never raise."""
    started = time.perf_counter()
    try:
        conn = await asyncio.wait_for(engine.connect(), timeout)  # waiting for a connection is bounded
        try:
            await conn.execute(text("SELECT 1"))
        finally:
            await conn.close()
    except Exception:
        return {"status": "unavailable", "latency_ms": None, "pool": pool_report(engine)}
    return {"status": "ok", "latency_ms": (time.perf_counter() - started) * 1000, "pool": pool_report(engine)}
''',
        ),
        (
            "caches the last answer for a few seconds (stale ok after the database went away)",
            '''_health_cache: dict = {}


async def healthcheck(engine, timeout: float = 1.0) -> dict:
    """SELECT 1 through the engine's pool within timeout seconds; report status, latency and pool, never raise."""
    cached = _health_cache.get(id(engine))
    if cached is not None and time.monotonic() - cached[0] < 10:
        return dict(cached[1], pool=pool_report(engine))
    started = time.perf_counter()

    async def probe() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    attempt = asyncio.ensure_future(probe())
    try:
        await asyncio.wait_for(asyncio.shield(attempt), timeout)
    except Exception:
        return {"status": "unavailable", "latency_ms": None, "pool": pool_report(engine)}
    finally:
        attempt.cancel()
    answer = {"status": "ok", "latency_ms": (time.perf_counter() - started) * 1000, "pool": pool_report(engine)}
    _health_cache[id(engine)] = (time.monotonic(), answer)
    return answer
''',
        ),
        (
            "reports latency in seconds, not milliseconds",
            '''async def healthcheck(engine, timeout: float = 1.0) -> dict:
    """SELECT 1 through the engine's pool within timeout seconds; report status, latency and pool, never raise."""
    started = time.perf_counter()

    async def probe() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    attempt = asyncio.ensure_future(probe())
    try:
        await asyncio.wait_for(asyncio.shield(attempt), timeout)
    except Exception:
        return {"status": "unavailable", "latency_ms": None, "pool": pool_report(engine)}
    finally:
        attempt.cancel()
    return {"status": "ok", "latency_ms": time.perf_counter() - started, "pool": pool_report(engine)}
''',
        ),
        (
            "a server-side statement_timeout instead of a client-side deadline (a frozen server never answers)",
            '''async def healthcheck(engine, timeout: float = 1.0) -> dict:
    """SELECT 1 through the engine's pool within timeout seconds; report status, latency and pool, never raise."""
    from sqlalchemy.exc import DBAPIError, TimeoutError as PoolTimeout

    started = time.perf_counter()
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f"SET LOCAL statement_timeout = {int(timeout * 1000)}"))
            await conn.execute(text("SELECT 1"))
    except (OSError, PoolTimeout, DBAPIError):
        return {"status": "unavailable", "latency_ms": None, "pool": pool_report(engine)}
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
        (
            "a short pool_recycle instead of pre-ping (replaces connections by age, not by checking them)",
            '''def make_resilient_engine(url: str) -> AsyncEngine:
    """A pooled async engine whose idle connections may be killed by the server without failing a request."""
    return create_async_engine(url, pool_recycle=1)
''',
        ),
        (
            "pool_recycle=0: a new connection at every checkout (survives, but pools nothing)",
            '''def make_resilient_engine(url: str) -> AsyncEngine:
    """A pooled async engine whose idle connections may be killed by the server without failing a request."""
    return create_async_engine(url, pool_recycle=0)
''',
        ),
        (
            "pings in a checkout listener but only logs a failure (the dead connection is handed out anyway)",
            '''def make_resilient_engine(url: str) -> AsyncEngine:
    """A pooled async engine whose idle connections may be killed by the server without failing a request."""
    import logging

    from sqlalchemy import event

    resilient = create_async_engine(url, pool_size=5)

    @event.listens_for(resilient.sync_engine.pool, "checkout")
    def ping(dbapi_connection, connection_record, connection_proxy):
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        except Exception as error:
            logging.getLogger(__name__).info("dead connection at checkout: %s", error)
        finally:
            cursor.close()

    return resilient
''',
        ),
        (
            "timeouts instead of detection: command_timeout and a short pool_timeout",
            '''def make_resilient_engine(url: str) -> AsyncEngine:
    """A pooled async engine whose idle connections may be killed by the server without failing a request."""
    return create_async_engine(url, pool_timeout=5, connect_args={"timeout": 5, "command_timeout": 5})
''',
        ),
    ],
}

CORRECT_ALTERNATIVES = {
    "pool_report": [
        (
            "parses nothing, reads the queue pool's private counters correctly",
            '''def pool_report(engine) -> dict:
    """Counts of the engine's pool: size, checked_out, checked_in, overflow (>= 0), open_connections."""
    pool = engine.pool
    idle = pool._pool.qsize()
    open_now = pool._pool.maxsize + pool._overflow
    return {
        "size": int(pool._pool.maxsize),
        "checked_out": open_now - idle,
        "checked_in": idle,
        "overflow": max(pool._overflow, 0),
        "open_connections": open_now,
    }
''',
        ),
        (
            "open connections as size + overflow(), unclamped (the same number), then clamps overflow",
            '''def pool_report(engine) -> dict:
    """Counts of the engine's pool: size, checked_out, checked_in, overflow (>= 0), open_connections."""
    pool = engine.pool
    report = {
        "size": pool.size(),
        "checked_out": pool.checkedout(),
        "checked_in": pool.checkedin(),
        "overflow": pool.overflow() if pool.overflow() > 0 else 0,
        "open_connections": pool.size() + pool.overflow(),
    }
    assert report["open_connections"] == report["checked_out"] + report["checked_in"]
    return report
''',
        ),
    ],
    "healthcheck": [
        (
            "asyncio.wait on a task with a timeout, cancels it, logs the failure to its own logger",
            '''async def healthcheck(engine, timeout: float = 1.0) -> dict:
    """SELECT 1 through the engine's pool within timeout seconds; report status, latency and pool, never raise."""
    import logging

    log = logging.getLogger("app.health")

    async def probe() -> float:
        started = time.perf_counter()
        async with engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")
        return (time.perf_counter() - started) * 1000.0

    task = asyncio.create_task(probe())
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if task in done and task.exception() is None:
        return {"status": "ok", "latency_ms": float(task.result()), "pool": pool_report(engine)}
    if task in done:
        log.info("health check failed: %r", task.exception())
    else:
        task.cancel()
        log.info("health check timed out after %s s", timeout)
    return {"status": "unavailable", "latency_ms": None, "pool": pool_report(engine)}
''',
        ),
        (
            "asyncio.timeout() around a shielded task, prints what happened",
            '''async def healthcheck(engine, timeout: float = 1.0) -> dict:
    """SELECT 1 through the engine's pool within timeout seconds; report status, latency and pool, never raise."""
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def probe() -> None:
        async with engine.connect() as conn:
            value = (await conn.execute(text("SELECT 1"))).scalar_one()
            if value != 1:
                raise RuntimeError(f"SELECT 1 answered {value!r}")

    task = asyncio.ensure_future(probe())
    status, latency = "unavailable", None
    try:
        async with asyncio.timeout(timeout):
            await asyncio.shield(task)
        status, latency = "ok", (loop.time() - started) * 1000
    except Exception as error:  # a health check reports, it does not raise
        print(f"healthcheck: {type(error).__name__}")
    finally:
        task.cancel()
    return {"status": status, "latency_ms": latency, "pool": pool_report(engine)}
''',
        ),
    ],
    "make_resilient_engine": [
        (
            "the pessimistic-disconnect recipe by hand: a checkout listener that pings and raises "
            "DisconnectionError",
            '''def make_resilient_engine(url: str) -> AsyncEngine:
    """A pooled async engine whose idle connections may be killed by the server without failing a request."""
    from sqlalchemy import event, exc

    resilient = create_async_engine(url)

    @event.listens_for(resilient.sync_engine.pool, "checkout")
    def ping(dbapi_connection, connection_record, connection_proxy):
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        except Exception as error:
            raise exc.DisconnectionError(f"dead connection at checkout: {error}") from error
        finally:
            cursor.close()

    return resilient
''',
        ),
        (
            "production settings: explicit queue pool, pre-ping, LIFO, a long recycle",
            '''def make_resilient_engine(url: str) -> AsyncEngine:
    """A pooled async engine whose idle connections may be killed by the server without failing a request."""
    from sqlalchemy.pool import AsyncAdaptedQueuePool

    return create_async_engine(
        url,
        poolclass=AsyncAdaptedQueuePool,
        pool_size=10,
        max_overflow=20,
        pool_timeout=10,
        pool_recycle=1800,
        pool_pre_ping=True,
        pool_use_lifo=True,
    )
''',
        ),
    ],
}
