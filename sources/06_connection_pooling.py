# %% [markdown] id=intro
# # **06 · Connection pooling**
#
# Size an async engine's connection pool, watch it run dry, read its numbers honestly, and keep it working when the server drops connections.
#
# **Learning goals**
# - Know which pool an async engine uses (`AsyncAdaptedQueuePool`), and why `poolclass=QueuePool` is refused.
# - Set `pool_size`, `max_overflow`, `pool_timeout`, `pool_recycle` and `pool_pre_ping` for a reason, and size the pool against the server's `max_connections`.
# - See pool exhaustion happen: who waits, and which timeout fires.
# - Report pool status without the negative `overflow()` surprise, and write a health check that really asks the database.
# - Recover from connections the server has terminated, and know what `pool_pre_ping` does *not* protect.
# - Configure for PgBouncer (`NullPool`, no prepared statement cache) and keep SQL echo out of production.
#
# **Prerequisites**: notebook 01 (engines, `connect()`, `dispose()`).
#
# **Out of scope**: retrying a failed unit of work (notebook 09), the FastAPI `/health` route (notebook 11), running PgBouncer itself.

# %% [markdown] id=setup
# ## Setup
#
# Run the next cell first. It gives this notebook its own PostgreSQL database with the seed data.
# Every engine made below is disposed at the end of its demonstration, so connections never pile up.

# %% readonly id=setup-database
from asyncdb_lab import disposable_database, measure, pool_snapshot

db = await disposable_database(seed=True)
engine = db.engine

# %% [markdown] id=part-a-pool-saves-which
# ---
# ## Part A — What a pool saves, and which pool an async engine uses (0 points)
#
# Opening a PostgreSQL connection is expensive: the server starts a new backend process, authenticates, and SQLAlchemy runs a few set-up queries on every new connection.
# A **pool** keeps connections open after use and lends them out again.
# `async with engine.connect()` *checks out* a connection; leaving the block *checks it in*.
#
# `NullPool` is the pool that keeps nothing: every checkout opens a new connection and every check-in closes it.
# The next cell measures one `SELECT 1` both ways.

# %% id=select-one
import asyncio
import time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool


async def select_one(some_engine) -> None:
    async with some_engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


unpooled = create_async_engine(db.url, poolclass=NullPool)
await measure("NullPool: connect + SELECT 1 + close", lambda: select_one(unpooled), runs=15)
await measure("default pool: checkout + SELECT 1 + checkin", lambda: select_one(engine), runs=15)
await unpooled.dispose()

# %% [markdown] id=pool-got-without-asking
# The pool you got without asking is printed below with its defaults:
# 5 connections kept (`pool_size`), up to 10 more opened under load and closed again when returned (`max_overflow`), and 30 s to wait for a free connection before giving up (`pool_timeout`).

# %% id=pool-got-without-asking-code
print(type(engine.pool).__name__)
print(pool_snapshot(engine))

# %% [markdown] id=mistake-poolclass-queuepool-async
# > **Common mistake: `poolclass=QueuePool` on an async engine.**
# > A widely copied configuration passes `poolclass=QueuePool` "for production".
# > `QueuePool` waits for a free connection with a thread lock, which would block the event loop; the async engine refuses it outright.
# > The next cell shows the real error; the fix is to leave `poolclass` out (you get `AsyncAdaptedQueuePool`, the same queue pool with an asyncio-friendly queue) — or to name `AsyncAdaptedQueuePool` explicitly, or `NullPool` (without `pool_size` and `max_overflow`: it refuses them, as shown below).

# %% id=mistake-poolclass-queuepool-async-code
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import AsyncAdaptedQueuePool, QueuePool

try:
    create_async_engine(db.url, poolclass=QueuePool)
except ArgumentError as error:
    print(f"{type(error).__name__}: {error}")

fixed = create_async_engine(db.url, poolclass=AsyncAdaptedQueuePool, pool_size=5, max_overflow=10)
await select_one(fixed)
print("fixed:", pool_snapshot(fixed))
await fixed.dispose()

# %% [markdown] id=settings-will-meet-each
# The settings you will meet, and what each one is for:
#
# | setting | default | what it does |
# |---|---|---|
# | `pool_size` | 5 | connections kept open while idle |
# | `max_overflow` | 10 | extra connections opened under load, closed when returned; `-1` means no limit |
# | `pool_timeout` | 30 | seconds a checkout waits for a free connection before `sqlalchemy.exc.TimeoutError` |
# | `pool_recycle` | -1 (off) | replace a connection at checkout once it is older than this many seconds |
# | `pool_pre_ping` | False | test a connection at checkout and replace it if it is dead |
#
# `NullPool` is the right choice when something else does the pooling (PgBouncer, Part F), and in tests that create a new event loop per test: an asyncpg connection belongs to the loop that opened it, so a pooled connection cannot be handed to the next test's loop.

# %% [markdown] id=nullpool-refuses-queue-settings
# `NullPool` has no queue, so the queue's settings mean nothing to it, and it does not quietly ignore them: `pool_size`, `max_overflow` and `pool_timeout` make `create_async_engine` raise `TypeError`.
# `pool_recycle` and `pool_pre_ping` belong to every pool, so they are accepted, but they change nothing here: every checkout opens a new connection, which is never old, and pre-ping skips a connection it has just opened.
# When you switch an engine to `NullPool`, delete its size settings. The next cell tries each setting:

# %% id=nullpool-refuses-queue-settings-code
try:
    create_async_engine(db.url, poolclass=NullPool, pool_size=5)
except TypeError as error:
    print(f"pool_size=5 -> TypeError: {error}")

for setting, value in {"max_overflow": 10, "pool_timeout": 30, "pool_recycle": 300, "pool_pre_ping": True}.items():
    try:
        some_engine = create_async_engine(db.url, poolclass=NullPool, **{setting: value})
    except TypeError as error:
        print(f"{setting}={value} -> {type(error).__name__}")
    else:
        print(f"{setting}={value} -> accepted, pool {type(some_engine.pool).__name__}")
        await some_engine.dispose()

# %% [markdown] id=part-b-pool-runs-dry
# ---
# ## Part B — When the pool runs dry (0 points)
#
# A pool of `pool_size + max_overflow` connections serves that many concurrent checkouts. The next one **waits** — in your Python process, in the pool's queue, not on the database — for up to `pool_timeout` seconds, then gets a `TimeoutError`.
#
# Below, a pool of 2 (`max_overflow=0`, `pool_timeout=0.5`) meets three tasks that each hold a connection for 0.6 s.
# Halfway through, `pool_snapshot` shows the pool's state; then the same three tasks run against a pool that waits up to 2 s.

# %% id=hold-connection
from sqlalchemy.exc import TimeoutError as PoolTimeoutError


async def hold_connection(pool_engine, name: str, seconds: float, started: float) -> None:
    try:
        async with pool_engine.connect() as conn:
            print(f"  {name} got a connection at {time.perf_counter() - started:.2f} s")
            await conn.execute(text("SELECT pg_sleep(:s)"), {"s": seconds})
    except PoolTimeoutError as error:
        print(f"  {name} gave up at {time.perf_counter() - started:.2f} s -> TimeoutError: {str(error)[:88]}")


async def peek(pool_engine, after: float) -> None:
    await asyncio.sleep(after)
    print(f"  at {after:.2f} s: {pool_snapshot(pool_engine)}")


for pool_timeout in (0.5, 2.0):
    print(f"pool_size=2, max_overflow=0, pool_timeout={pool_timeout}:")
    small = create_async_engine(db.url, pool_size=2, max_overflow=0, pool_timeout=pool_timeout)
    started = time.perf_counter()
    await asyncio.gather(
        *(hold_connection(small, f"task {n}", 0.6, started) for n in range(3)),
        peek(small, 0.3),
    )
    await small.dispose()

# %% [markdown] id=short-timeout-task-2
# With the short timeout, task 2 waited exactly `pool_timeout` and failed, although the database was idle and healthy.
# With the longer one, it got a connection the moment one of the first two tasks returned theirs, at about 0.6 s.
# A request that times out in the pool is a *capacity* problem in your process, not a database outage — keep that in mind for the health check in Part E.
#
# **Sizing.** Every process has its own pool, and the server has one limit for all of them.
# The rule: (`pool_size` + `max_overflow`) × number of worker processes must stay below `max_connections` minus the connections reserved for superusers — and leave room for migrations, cron jobs and your own `psql`.
# The next cell reads the limits from this server and checks a few deployments.

# %% id=short-timeout-task-2-code
async with engine.connect() as conn:
    max_connections = int(await conn.scalar(text("SHOW max_connections")))
    reserved = int(await conn.scalar(text("SHOW superuser_reserved_connections")))
    # reserved_connections exists from PostgreSQL 16 on; before, current_setting(…, true) is NULL.
    for_roles = await conn.scalar(text("SELECT current_setting('reserved_connections', true)"))
    if for_roles is None:
        print("(reserved_connections needs PostgreSQL 16 or later: this server reserves none for roles)")
    reserved += int(for_roles or 0)
    in_use = await conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"))

available = max_connections - reserved
print(f"max_connections {max_connections}, reserved {reserved}: {available} for applications ({in_use} in use now)")
for workers, pool_size, max_overflow in [(4, 5, 10), (8, 5, 10), (8, 5, 5), (16, 3, 2)]:
    worst_case = (pool_size + max_overflow) * workers
    verdict = "fits" if worst_case < available else "TOO MANY: some checkouts will fail to connect"
    print(f"  {workers:>2} workers × ({pool_size} + {max_overflow}) = {worst_case:>3} connections -> {verdict}")

# %% [markdown] id=sum-not-fit-failure
# When the sum does not fit, the failure is not a polite wait: the server refuses the extra connection (`too many clients already`), typically during a traffic peak.
# Lower `max_overflow`, run fewer workers, or put PgBouncer in front (Part F).

# %% [markdown] id=part-c-reading-pool-honestly
# ---
# ## Part C — Reading the pool honestly: `pool_report` (4 points)
#
# The pool has counters: `pool.size()`, `pool.checkedout()`, `pool.checkedin()` and `pool.overflow()`.
# The last one is a trap: it counts from `-pool_size`, so it is **negative** until the pool has opened `pool_size` connections.
#
# > **Common mistake: publishing `pool.overflow()` as "overflow".**
# > A widely copied health endpoint returns `"overflow": pool.overflow()` on a dashboard. On a quiet service it reads −5, then −4 after the first request — a number that looks like an error and means "slots not opened yet".
# > The next cell shows the raw counters (and SQLAlchemy's own `pool.status()` text, which says the same) next to an honest reading.

# %% id=part-c-reading-pool-code
quiet = create_async_engine(db.url, pool_size=5, max_overflow=10)
pool = quiet.pool
print("fresh:        ", pool.status())
async with quiet.connect() as conn:
    await conn.execute(text("SELECT 1"))
    print("one checked out:", f"overflow()={pool.overflow()}, checkedout()={pool.checkedout()}, checkedin()={pool.checkedin()}")
print("after return: ", pool.status())
print("honest:       ", pool_snapshot(quiet))
await quiet.dispose()

# %% [markdown] id=honest-reading
# What each counter means: `checkedout()` is the connections lent out right now, `checkedin()` those open and idle in the pool, and `overflow()` the connections open beyond `pool_size`, counted from `-pool_size` (so it goes negative below `pool_size`).
# The demonstration only showed a quiet pool. Under load the pool opens overflow connections, and when one comes back it waits in the pool if there is room there and is closed only when the pool already holds `pool_size` idle connections: so an overflow connection can sit idle in the pool, and a pool can have overflow while fewer than `pool_size` connections are lent out.
# Work out from these counters what to publish; the course library's `pool_snapshot` is one answer, and you write your own.
#
# Write `pool_report(engine)`: a dict with these keys, all `int`:
#
# - `size`: the pool's `pool_size`;
# - `checked_out` and `checked_in`: connections lent out, and connections open and idle in the pool;
# - `overflow`: connections open beyond `pool_size`, never negative;
# - `open_connections`: every connection open right now, lent out or idle.
#
# It must be right in every state: fresh, quiet, under load beyond `pool_size`, and while the load goes away. The engine uses the default queue pool.

# %% solution id=pool_report
def pool_report(engine) -> dict:
    """Counts of the engine's pool: size, checked_out, checked_in, overflow (>= 0), open_connections."""
    ### BEGIN SOLUTION
    pool = engine.pool
    checked_out = pool.checkedout()
    checked_in = pool.checkedin()
    return {
        "size": pool.size(),
        "checked_out": checked_out,
        "checked_in": checked_in,
        "overflow": max(0, pool.overflow()),
        "open_connections": checked_out + checked_in,
    }
    ### END SOLUTION

# %% tests id=test_pool_report_fresh points=2
"""Check that pool_report reads a fresh pool and a pool with one connection lent out."""
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from asyncdb_lab.checks import expect

report_engine = create_async_engine(db.url, pool_size=4, max_overflow=3)
try:
    expect(pool_report(report_engine),
           {"size": 4, "checked_out": 0, "checked_in": 0, "overflow": 0, "open_connections": 0},
           "pool_report on a fresh pool of 4",
           "No connection has been opened yet. Is your overflow negative? pool.overflow() counts from -pool_size.")
    async with report_engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
        expect(pool_report(report_engine),
               {"size": 4, "checked_out": 1, "checked_in": 0, "overflow": 0, "open_connections": 1},
               "pool_report while one connection is checked out",
               "One connection is open and lent out; nothing is idle, nothing beyond pool_size.")
    ### BEGIN HIDDEN TESTS
    expect(pool_report(report_engine),
           {"size": 4, "checked_out": 0, "checked_in": 1, "overflow": 0, "open_connections": 1},
           "pool_report after the connection was returned",
           "One connection is open, idle in the pool. Open connections = checked out + checked in.")
    ### END HIDDEN TESTS
finally:
    await report_engine.dispose()

# %% tests id=test_pool_report_overflow points=2
"""Check that pool_report counts overflow connections, under load and after it."""
### BEGIN HIDDEN TESTS
import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from asyncdb_lab.checks import expect

report_engine = create_async_engine(db.url, pool_size=4, max_overflow=3, pool_timeout=10)
try:
    _releases = [asyncio.Event() for _ in range(6)]
    _holding = 0

    async def _hold(number):
        global _holding
        async with report_engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            _holding += 1
            await _releases[number].wait()

    holders = [asyncio.create_task(_hold(number)) for number in range(6)]
    for _ in range(250):
        if _holding == 6:
            break
        await asyncio.sleep(0.02)
    try:
        expect(pool_report(report_engine),
               {"size": 4, "checked_out": 6, "checked_in": 0, "overflow": 2, "open_connections": 6},
               "pool_report with 6 connections lent out from a pool of 4",
               "Two connections are open beyond pool_size (overflow 2); six are open in all.")
        for number in (0, 1):  # two come back: the pool is empty, so both wait in it, still open
            _releases[number].set()
        await asyncio.wait_for(asyncio.gather(*holders[:2]), 10)
        expect(pool_report(report_engine),
               {"size": 4, "checked_out": 4, "checked_in": 2, "overflow": 2, "open_connections": 6},
               "pool_report after 2 of the 6 connections came back (pool of 4)",
               "A returned connection waits in the pool while there is room: six are still open, two of them "
               "beyond pool_size. Overflow is not 'lent out minus pool_size'.")
    finally:
        for release in _releases:
            release.set()
        await asyncio.wait_for(asyncio.gather(*holders), 10)
    expect(pool_report(report_engine),
           {"size": 4, "checked_out": 0, "checked_in": 4, "overflow": 0, "open_connections": 4},
           "pool_report after the load is gone",
           "Overflow connections are closed when returned; pool_size connections stay open and idle.")
    for key, value in pool_report(report_engine).items():
        assert type(value) is int, f"pool_report()[{key!r}] should be an int, got {type(value).__name__}"
finally:
    await report_engine.dispose()

small_engine = create_async_engine(db.url, pool_size=1, max_overflow=2, pool_timeout=10)
try:
    async with small_engine.connect() as first, small_engine.connect() as second:
        await first.execute(text("SELECT 1"))
        await second.execute(text("SELECT 1"))
        expect(pool_report(small_engine),
               {"size": 1, "checked_out": 2, "checked_in": 0, "overflow": 1, "open_connections": 2},
               "pool_report with 2 connections lent out from a pool of 1 (max_overflow 2)",
               "Read the counters of the engine you are given; nothing about the pool is fixed.")
finally:
    await small_engine.dispose()
### END HIDDEN TESTS

# %% [markdown] id=part-d-dead-connections-pool
# ---
# ## Part D — Dead connections: `pool_pre_ping` and `pool_recycle` (4 points)
#
# A pooled connection can die while it sits idle: the server restarts or fails over, an administrator or `idle_session_timeout` ends it, a firewall forgets it.
# The pool does not notice; the next request that checks it out does.
#
# The demonstration ends connections the way a server restart or an administrator would: `pg_terminate_backend(pid)` on every backend of one engine.
# Each demo engine carries its own `application_name`, so we terminate exactly its connections and nothing else.
# (Ending another role's backend needs superuser rights or the `pg_signal_backend` role; ending your own role's works.)

# %% id=terminate
async def terminate(application_name: str) -> int:
    """End every backend of this database with that application_name; wait until they are gone."""
    async with engine.connect() as conn:
        return await conn.scalar(text(
            "SELECT count(pg_terminate_backend(pid, 2000)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = :name"
        ), {"name": application_name})


async def backend_pid(some_engine) -> int:
    async with some_engine.connect() as conn:
        return await conn.scalar(text("SELECT pg_backend_pid()"))


async def fill_pool(some_engine, connections: int) -> None:
    async def one():
        async with some_engine.connect() as conn:
            await conn.execute(text("SELECT pg_sleep(0.05)"))
    await asyncio.gather(*(one() for _ in range(connections)))


fragile = create_async_engine(db.url, pool_size=3, connect_args={"server_settings": {"application_name": "demo-fragile"}})
await fill_pool(fragile, 3)
print("before:", pool_snapshot(fragile))
print("terminated:", await terminate("demo-fragile"), "backends")
for attempt in range(3):
    try:
        print(f"  query {attempt}: ok, backend {await backend_pid(fragile)}")
    except Exception as error:
        print(f"  query {attempt}: {type(error).__name__}: {str(error).splitlines()[0]}")
await fragile.dispose()

# %% [markdown] id=first-request-after-outage
# The first request after the outage failed with `InterfaceError: connection is closed` — an `InterfaceError` from asyncpg, not the `OperationalError` older tutorials catch.
# SQLAlchemy then marked every connection of that pool as stale, so the next requests reconnected.
# Under load, every request that checked out a dead connection before that moment fails the same way.
#
# Part A's table names two settings for connections that go bad while they sit in the pool: `pool_recycle` and `pool_pre_ping`.
# The next cell tries the first one.

# %% [markdown] id=pool-recycle-other-tool
# `pool_recycle` replaces a connection at checkout once it is older than N seconds, without a round trip to the server.
# Use it when something between you and the server cuts connections after a known idle time (a load balancer, a firewall, a server's `idle_session_timeout`).
# Below, with `pool_recycle=0.3`, the backend changes once the connection is older than 0.3 s; then the server terminates the engine's connection while it is still young.

# %% id=pool-recycle-other-tool-code
recycling = create_async_engine(db.url, pool_size=1, pool_recycle=0.3,
                                connect_args={"server_settings": {"application_name": "demo-recycling"}})
for pause in (0.0, 0.1, 0.4):
    await asyncio.sleep(pause)
    print(f"after {pause:.1f} s: backend {await backend_pid(recycling)}")
print("terminated:", await terminate("demo-recycling"), "backends")
try:
    print(f"  next query: ok, backend {await backend_pid(recycling)}")
except Exception as error:
    print(f"  next query: {type(error).__name__}: {str(error).splitlines()[0]}")
await recycling.dispose()

# %% [markdown] id=write-make-resilient-engine
# Recycling by age did not save that request: the connection was young when it was killed, and `pool_recycle` never asks the server anything.
#
# Write `make_resilient_engine(url)`: an async engine that **keeps a pool** (connections are reused between requests) and survives every one of its pooled connections being terminated by the server between two queries, however young those connections are and however many requests arrive at once.
# Choose from Part A's table the setting that finds a dead connection before a request uses it.

# %% solution id=make_resilient_engine
def make_resilient_engine(url: str) -> AsyncEngine:
    """A pooled async engine whose idle connections may be killed by the server without failing a request."""
    ### BEGIN SOLUTION
    return create_async_engine(url, pool_pre_ping=True)
    ### END SOLUTION

# %% tests id=test_make_resilient_engine_survives points=2
"""Check that an engine from make_resilient_engine answers after its connection was terminated."""
import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from asyncdb_lab.checks import expect, expect_type

async with disposable_database(seed=True, label="check_resilient", say=False) as check:
    admin = create_async_engine(check.url, poolclass=NullPool)
    resilient = make_resilient_engine(check.url)
    try:
        expect_type(resilient, AsyncEngine, "make_resilient_engine(url)", "Build it with create_async_engine(url, …).")

        async def _pid():
            async with resilient.connect() as conn:
                return await conn.scalar(text("SELECT pg_backend_pid()"))

        async def _kill_all():
            async with admin.connect() as conn:
                return await conn.scalar(text(
                    "SELECT count(pg_terminate_backend(pid, 3000)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND backend_type = 'client backend'"))

        await asyncio.wait_for(_pid(), 10)
        await _kill_all()
        try:
            await asyncio.wait_for(_pid(), 10)
        except Exception as error:
            raise AssertionError(
                f"The first query after the server ended the pooled connection failed with "
                f"{type(error).__name__}: {str(error).splitlines()[0]}. Which engine option tests a "
                f"connection at checkout and replaces it if it is dead?") from None
        ### BEGIN HIDDEN TESTS
        import sqlalchemy.pool.base as _pool_base

        class _StoppedClock:
            """The pool's clock, stopped: a connection never gets older, so age-based recycling never fires."""

            def __init__(self, real):
                self._real, self._now = real, real.time()

            def time(self):
                return self._now

            def __getattr__(self, name):
                return getattr(self._real, name)

        _real_clock = _pool_base.time
        _pool_base.time = _StoppedClock(_real_clock)
        try:
            for round_ in range(2):
                await asyncio.wait_for(asyncio.gather(*(_pid() for _ in range(4))), 10)  # several pooled connections
                await _kill_all()
                results = await asyncio.wait_for(asyncio.gather(*(_pid() for _ in range(4)), return_exceptions=True), 15)
                errors = [r for r in results if isinstance(r, BaseException)]
                assert not errors, (
                    f"After every pooled connection was terminated, {len(errors)} of 4 concurrent requests failed "
                    f"({type(errors[0]).__name__}: {str(errors[0]).splitlines()[0][:80]}). The connections were "
                    "killed young: replacing connections by age (pool_recycle) does not find them. Each checkout "
                    "must test its connection.")
        finally:
            _pool_base.time = _real_clock
        ### END HIDDEN TESTS
    finally:
        await resilient.dispose()
        await admin.dispose()

# %% tests id=test_make_resilient_engine_pools points=2
"""Check that make_resilient_engine still pools connections."""
### BEGIN HIDDEN TESTS
import asyncio

from sqlalchemy import text

from asyncdb_lab.checks import expect

async with disposable_database(seed=True, label="check_resilient", say=False) as check:
    resilient = make_resilient_engine(check.url)
    try:
        pids = []
        for _ in range(3):
            async with resilient.connect() as conn:
                pids.append(await asyncio.wait_for(conn.scalar(text("SELECT pg_backend_pid()")), 10))
        expect(len(set(pids)), 1, "server backends used by three requests in a row",
               "Three requests one after the other should reuse one pooled connection. A NullPool opens a "
               "new connection every time; keep the default pool and make it check connections instead.")
    finally:
        await resilient.dispose()
### END HIDDEN TESTS

# %% [markdown] id=after-exercise-pre-ping
# ### What the check at checkout costs, and what it does not do
#
# With `pool_pre_ping=True` the pool tests each connection at checkout and silently replaces a dead one, so the outage that failed `fragile`'s first request passes unnoticed:

# %% id=first-request-after-outage-code
steady = create_async_engine(db.url, pool_size=3, pool_pre_ping=True,
                             connect_args={"server_settings": {"application_name": "demo-steady"}})
await fill_pool(steady, 3)
print("terminated:", await terminate("demo-steady"), "backends")
for attempt in range(3):
    print(f"  query {attempt}: ok, backend {await backend_pid(steady)}")

# %% [markdown] id=ping-costs
# What the ping costs: with asyncpg, SQLAlchemy pings with an empty statement inside a short transaction (`BEGIN`, `;`, `ROLLBACK`), on every checkout.
# Over this machine's local socket that is a fraction of a millisecond; over a network, multiply by the round-trip time.

# %% id=checkout-only
async def checkout_only(some_engine) -> None:
    async with some_engine.connect():
        pass


without_ping = await measure("checkout + check-in, no pre-ping", lambda: checkout_only(engine), runs=200)
with_ping = await measure("checkout + check-in, pre-ping   ", lambda: checkout_only(steady), runs=200)
print(f"the ping adds about {(with_ping.median - without_ping.median) * 1000:.2f} ms per checkout here")

# %% [markdown] id=ping-not
# What the ping does **not** do: it runs at checkout only.
# A connection that dies while you hold it — in the middle of a transaction — fails your next statement, pre-ping or not; the only cure is to retry the whole unit of work with a new session (notebook 09).

# %% id=ping-not-code
try:
    async with steady.connect() as conn:
        await conn.execute(text("SELECT 1"))
        await terminate("demo-steady")  # the server goes away mid-transaction
        await conn.execute(text("SELECT 2"))
except Exception as error:
    print(f"mid-transaction: {type(error).__name__}: {str(error).splitlines()[0]}")
await steady.dispose()

# %% [markdown] id=part-e-health-check-asks
# ---
# ## Part E — A health check that asks the database: `healthcheck` (8 points)
#
# A load balancer or orchestrator calls a health endpoint every few seconds and stops sending traffic when it fails.
# It must answer two questions quickly: can this process reach its database *through its own pool*, and how long did that take?
#
# > **Common mistake: a health check that never touches the database.**
# > A widely copied endpoint reads the pool's counters and returns `"status": "healthy"` — unconditionally.
# > Counters are bookkeeping in your process: they stay the same when the database is gone.
# > Below, that shape reports "healthy" for an engine whose database does not exist (nothing listens on its port).

# %% id=health-from-counters
import socket

with socket.socket() as probe_socket:  # ask the OS for a free port, then free it: nothing listens there
    probe_socket.bind(("127.0.0.1", 0))
    closed_port = probe_socket.getsockname()[1]
nowhere = create_async_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port}/nowhere")


async def health_from_counters(some_engine) -> dict:
    pool = some_engine.pool
    return {"status": "healthy", "checked_out": pool.checkedout(), "overflow": pool.overflow()}


print("counters only:", await health_from_counters(nowhere))

# %% [markdown] id=fix-run-query-select
# The fix is to run a query — `SELECT 1` through the engine's own pool — and look at what happens:

# %% id=fix-run-query-select-code
from sqlalchemy.exc import DBAPIError

started = time.perf_counter()
try:
    await select_one(nowhere)
except Exception as error:
    print(f"a real query: {type(error).__name__}: {error} after {(time.perf_counter() - started) * 1000:.1f} ms")
    print(f"a DBAPIError? {isinstance(error, DBAPIError)}; an OSError? {isinstance(error, OSError)}")
await nowhere.dispose()

# %% [markdown] id=note-type
# Note the type: a refused connection arrives as `ConnectionRefusedError`, an `OSError` — not a SQLAlchemy `DBAPIError`.
# A health check that catches only database errors crashes exactly when the database is down.
#
# Two more ways a health check goes wrong: it can **hang** (a server that accepts the TCP connection but never answers; an exhausted pool that waits `pool_timeout`, 30 s by default), and it can **raise** instead of reporting.
# A health check that takes 30 s is worse than one that says "unavailable" after one: the caller has its own timeout and learns nothing.
#
# Write `healthcheck(engine, timeout=1.0)`:
#
# - run `SELECT 1` through `engine`'s own pool, and give the whole attempt (waiting for a connection included) at most `timeout` seconds: answer by then, even when the server stops answering in the middle of the query;
# - return `{"status": "ok", "latency_ms": <float>, "pool": pool_report(engine)}` when it answered, with the time the attempt took in milliseconds;
# - return `{"status": "unavailable", "latency_ms": None, "pool": pool_report(engine)}` on any failure: refused, timed out, pool exhausted, connection killed;
# - never raise, and give the connection back to the pool in every case (a cancelled attempt may do so after you have answered).
#
# Hint: `asyncio.wait_for(coroutine, timeout)` cancels the coroutine and raises `TimeoutError` when time runs out; `async with` still returns the connection when the block is cancelled.

# %% [markdown] id=wait-for-waits-for-cleanup
# One more trap, for the deadline: on time-out, `wait_for` cancels the coroutine and then waits until it has *finished*, clean-up included.
# Usually that takes a moment. But when the server stops answering in the middle of the query (a frozen server, a network that silently drops packets), SQLAlchemy throws that connection away with a polite close that waits up to 2 s for the server (asyncpg's `close(timeout=2)`): a `healthcheck(engine, timeout=0.5)` built on `wait_for` alone answers after about 2.5 s.
# To answer at the deadline, start the attempt as a task (`attempt = asyncio.ensure_future(probe())`) and give `wait_for` a shield of it, `asyncio.shield(attempt)`: at the deadline `wait_for` cancels only the shield and returns at once.
# Then cancel the task yourself (`attempt.cancel()`, harmless when it has finished): it cleans up, and gives its connection back to the pool, on its own.
# A hidden test freezes the server under a pooled connection and expects the answer in time.

# %% solution id=healthcheck
async def healthcheck(engine, timeout: float = 1.0) -> dict:
    """SELECT 1 through the engine's pool within timeout seconds; report status, latency and pool, never raise."""
    ### BEGIN SOLUTION
    started = time.perf_counter()

    async def probe() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    attempt = asyncio.ensure_future(probe())
    try:
        # wait_for on a shield: at the deadline it stops waiting at once, without waiting for the clean-up
        await asyncio.wait_for(asyncio.shield(attempt), timeout)
    except Exception:  # refused (OSError), timed out, pool exhausted, killed (DBAPIError): all "unavailable"
        return {"status": "unavailable", "latency_ms": None, "pool": pool_report(engine)}
    finally:
        attempt.cancel()  # still running: stop it; it cleans up and returns its connection on its own
    latency_ms = (time.perf_counter() - started) * 1000
    return {"status": "ok", "latency_ms": latency_ms, "pool": pool_report(engine)}
    ### END SOLUTION

# %% tests id=test_healthcheck_ok points=2
"""Check that healthcheck reports ok, with a latency in milliseconds, for a working database."""
import asyncio
import time

from sqlalchemy.ext.asyncio import create_async_engine

from asyncdb_lab.checks import expect, expect_type

health_engine = create_async_engine(db.url, pool_size=2, max_overflow=0)
try:
    started = time.perf_counter()
    result = await asyncio.wait_for(healthcheck(health_engine, timeout=5.0), 10)
    wall_ms = (time.perf_counter() - started) * 1000
    expect_type(result, dict, "healthcheck's result", "Return a dict.")
    expect(sorted(result), ["latency_ms", "pool", "status"], "healthcheck's keys", "Exactly status, latency_ms and pool.")
    expect(result["status"], "ok", "status for a working database", 'Say "ok" (not "healthy") when SELECT 1 answered.')
    expect_type(result["latency_ms"], float, "latency_ms", "Measure with time.perf_counter() and report milliseconds as a float.")
    assert 0 < result["latency_ms"] < 5000, f"latency_ms should be the milliseconds the check took, got {result['latency_ms']}"
    expect_type(result["pool"], dict, "the pool entry", "Put pool_report(engine) there.")
    ### BEGIN HIDDEN TESTS
    assert 0.2 <= result["latency_ms"] <= wall_ms + 1.0, (
        f"The first check opened a new connection and took {wall_ms:.1f} ms by the test's clock, but reported "
        f"latency_ms={result['latency_ms']}. Report the duration of the attempt in milliseconds.")
    expect(sorted(result["pool"]), sorted(["size", "checked_out", "checked_in", "overflow", "open_connections"]),
           "keys of the pool entry", "Put pool_report(engine) there.")
    for _ in range(3):
        again = await asyncio.wait_for(healthcheck(health_engine, timeout=5.0), 10)
        expect(again["status"], "ok", "status on repeated checks", "")
    expect(health_engine.pool.checkedout(), 0, "connections still checked out after health checks",
           "Borrow the connection with `async with engine.connect()` so it goes back to the pool.")

    from asyncdb_lab.instruments.frozen import FrozenRelay

    async with FrozenRelay(db.url) as _late_server:  # the same database, behind a relay that can hold its answers
        late_engine = create_async_engine(_late_server.url, pool_size=1, max_overflow=0)
        try:
            warm = await asyncio.wait_for(healthcheck(late_engine, timeout=5.0), 10)
            expect(warm["status"], "ok", "status through a relay to the same database", "")
            _late_server.thaw_after(0.3)  # the server answers 0.3 s late, well within the timeout
            started = time.perf_counter()
            late = await asyncio.wait_for(healthcheck(late_engine, timeout=5.0), 10)
            wall_ms = (time.perf_counter() - started) * 1000
            expect(late["status"], "ok", "status when the server answers 0.3 s late (timeout=5.0)",
                   "A slow answer within the timeout is still an answer.")
            expect_type(late["latency_ms"], float, "latency_ms of a slow answer", "")
            assert 250 <= late["latency_ms"] <= wall_ms + 1.0, (
                f"The server took at least 300 ms to answer this check (the test measured {wall_ms:.0f} ms around "
                f"the call), and healthcheck reported latency_ms={late['latency_ms']!r}. Measure each attempt "
                "afresh, from its start to its answer, and report milliseconds: time.perf_counter() counts seconds.")
        finally:
            _late_server.thaw()
            await late_engine.dispose()
    ### END HIDDEN TESTS
finally:
    await health_engine.dispose()

# %% tests id=test_healthcheck_queries points=2
"""Check that healthcheck really sends a query to the database."""
### BEGIN HIDDEN TESTS
import asyncio

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from asyncdb_lab.checks import expect

async with disposable_database(label="check_health", say=False) as check:
    admin = create_async_engine(check.url, poolclass=NullPool)
    health_engine = create_async_engine(check.url, pool_size=1, max_overflow=0)
    try:
        async with health_engine.connect() as conn:  # a warm pool: one connection, already set up
            await conn.execute(text("SELECT 1"))

        async def _server_now():
            async with admin.connect() as conn:
                return await conn.scalar(text("SELECT clock_timestamp()"))

        async def _queries_since(moment):
            async with admin.connect() as conn:
                return await conn.scalar(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND query_start > :moment"), {"moment": moment})

        before = await _server_now()
        result = await asyncio.wait_for(healthcheck(health_engine, timeout=5.0), 10)
        expect(result["status"], "ok", "status for a working database", "")
        expect(await _queries_since(before) > 0, True, "a connection of the engine's pool ran a query during the check",
               "Taking a connection from the pool is not asking the database: run SELECT 1 on a connection "
               "from the engine's own pool.")

        # The database goes away behind the pool's back: no new connections, the pooled one ended.
        server_admin = await asyncpg.connect(check.server.admin_dsn)
        try:
            await server_admin.execute(f'ALTER DATABASE "{check.name}" ALLOW_CONNECTIONS false')
            await server_admin.execute(
                "SELECT pg_terminate_backend(pid, 3000) FROM pg_stat_activity WHERE datname = $1", check.name)
            down = await asyncio.wait_for(healthcheck(health_engine, timeout=2.0), 5)
        finally:
            await server_admin.execute(f'ALTER DATABASE "{check.name}" ALLOW_CONNECTIONS true')
            await server_admin.close()
        expect(down["status"], "unavailable", "status when the database no longer accepts connections",
               "The pool still counts its connection, but the server has ended it: only a real query shows that.")
        expect(down["latency_ms"], None, "latency_ms when unavailable", "Report None when there is no answer.")
    finally:
        await health_engine.dispose()
        await admin.dispose()
### END HIDDEN TESTS

# %% tests id=test_healthcheck_unreachable points=2
"""Check that healthcheck reports an unreachable or frozen database as unavailable, in time, without raising."""
import asyncio
import socket
import time

from sqlalchemy.ext.asyncio import create_async_engine

from asyncdb_lab.checks import expect

with socket.socket() as _socket:
    _socket.bind(("127.0.0.1", 0))
    _port = _socket.getsockname()[1]
refused_engine = create_async_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{_port}/nowhere")
try:
    try:
        down = await asyncio.wait_for(healthcheck(refused_engine, timeout=1.0), 5)
    except Exception as error:
        raise AssertionError(
            f"healthcheck raised {type(error).__name__}: {error}. It must never raise: a refused connection "
            f"is an OSError (ConnectionRefusedError), not a DBAPIError.") from None
    expect(down["status"], "unavailable", "status when nothing listens on the port", "")
    expect(down["latency_ms"], None, "latency_ms when unavailable", "Report None when there is no answer.")
finally:
    await refused_engine.dispose()
### BEGIN HIDDEN TESTS


async def _silent(reader, writer):  # accepts the TCP connection, never answers
    await reader.read()
    writer.close()

silent_server = await asyncio.start_server(_silent, "127.0.0.1", 0)
silent_engine = create_async_engine(
    f"postgresql+asyncpg://postgres@127.0.0.1:{silent_server.sockets[0].getsockname()[1]}/nowhere")
try:
    started = time.perf_counter()
    try:
        down = await asyncio.wait_for(healthcheck(silent_engine, timeout=0.5), 3)
    except TimeoutError:
        raise AssertionError(
            "healthcheck(engine, timeout=0.5) was still waiting after 3 s on a server that never answers. "
            "Bound the whole attempt with asyncio.wait_for(…, timeout).") from None
    elapsed = time.perf_counter() - started
    expect(down["status"], "unavailable", "status when the server never answers", "")
    assert elapsed < 2.0, f"healthcheck(timeout=0.5) took {elapsed:.2f} s on a server that never answers."
finally:
    await silent_engine.dispose()
    silent_server.close()

# A server that stops answering under a pooled connection: a relay passes the bytes until it is frozen.
from sqlalchemy import text

from asyncdb_lab.instruments.frozen import FrozenRelay

async with FrozenRelay(db.url) as _frozen_server:
    frozen_engine = create_async_engine(_frozen_server.url, pool_size=1, max_overflow=0)
    try:
        async with frozen_engine.connect() as conn:  # a warm pool: one connection, through the relay, checked in
            await conn.execute(text("SELECT 1"))
        _frozen_server.freeze()  # from now on the server answers nothing
        started = time.perf_counter()
        try:
            frozen = await asyncio.wait_for(healthcheck(frozen_engine, timeout=0.5), 5)
        except TimeoutError:
            raise AssertionError(
                "healthcheck(engine, timeout=0.5) was still waiting after 5 s when the server stopped answering a "
                "pooled connection. Taking a warm connection from the pool is instant; it is the query that "
                "waits. Bound the whole attempt, checkout and query, by timeout.") from None
        elapsed = time.perf_counter() - started
        expect(frozen["status"], "unavailable", "status when the server stops answering a pooled connection", "")
        assert elapsed < 2.0, (
            f"healthcheck(timeout=0.5) answered after {elapsed:.2f} s when the server stopped answering a pooled "
            "connection. wait_for waits for the cancelled attempt's clean-up, and SQLAlchemy closes a silent "
            "connection politely, waiting up to 2 s: run the attempt as a task, wait_for asyncio.shield(task), "
            "then cancel the task without waiting for it.")
        _frozen_server.thaw()  # the server answers again
        for _ in range(100):
            if frozen_engine.pool.checkedout() == 0:
                break
            await asyncio.sleep(0.05)
        expect(frozen_engine.pool.checkedout(), 0, "connections checked out 5 s after the server answers again",
               "An attempt you stopped waiting for must still give its connection back to the pool.")
        again = await asyncio.wait_for(healthcheck(frozen_engine, timeout=2.0), 5)
        expect(again["status"], "ok", "status once the server answers again", "")
    finally:
        _frozen_server.thaw()
        await frozen_engine.dispose()
### END HIDDEN TESTS

# %% tests id=test_healthcheck_exhausted points=2
"""Check that healthcheck gives up after timeout when every pooled connection is busy."""
### BEGIN HIDDEN TESTS
import asyncio
import time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from asyncdb_lab.checks import expect

busy_engine = create_async_engine(db.url, pool_size=2, max_overflow=0)  # pool_timeout: the default 30 s
_release = asyncio.Event()
_holding = 0


async def _hold():
    global _holding
    async with busy_engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
        _holding += 1
        await _release.wait()

holders = [asyncio.create_task(_hold()) for _ in range(2)]
try:
    try:
        for _ in range(100):
            if _holding == 2:
                break
            await asyncio.sleep(0.02)
        started = time.perf_counter()
        try:
            busy = await asyncio.wait_for(healthcheck(busy_engine, timeout=0.5), 3)
        except TimeoutError:
            raise AssertionError(
                "healthcheck(engine, timeout=0.5) was still waiting after 3 s for a connection from an exhausted "
                "pool (pool_timeout is 30 s). Bound the whole attempt, checkout included, by timeout.") from None
        elapsed = time.perf_counter() - started
        expect(busy["status"], "unavailable", "status when every pooled connection is busy",
               "The app cannot reach its database through this pool right now: report unavailable.")
        assert elapsed < 2.0, f"healthcheck(timeout=0.5) took {elapsed:.2f} s with an exhausted pool."
    finally:
        _release.set()
        await asyncio.wait_for(asyncio.gather(*holders), 10)
    expect(busy_engine.pool.checkedout(), 0, "connections checked out once the load is gone",
           "A cancelled health check must not keep a connection.")
    ok_again = await asyncio.wait_for(healthcheck(busy_engine, timeout=2.0), 5)
    expect(ok_again["status"], "ok", "status once connections are free again", "")
finally:
    await busy_engine.dispose()
### END HIDDEN TESTS

# %% [markdown] id=part-f-production-settings-pgbouncer
# ---
# ## Part F — Production settings: PgBouncer, and no SQL echo (0 points)
#
# **PgBouncer** is a connection pooler that sits between many application processes and PostgreSQL, so that hundreds of clients share a few dozen server connections.
# In its *transaction* mode, each transaction may run on a different server connection.
#
# > **Common mistake: asyncpg's prepared statements behind PgBouncer in transaction mode.**
# > SQLAlchemy's asyncpg dialect prepares every statement and keeps the prepared statements on the server connection, named `__asyncpg_stmt_1__`, `__asyncpg_stmt_2__`, …
# > Behind a transaction-mode PgBouncer, the next transaction may land on a server connection where that name does not exist, or where another client already used it: `prepared statement "__asyncpg_stmt_5__" does not exist` / `already exists`.
# > The usual configuration: `prepared_statement_cache_size=0` in the URL (SQLAlchemy's cache), `statement_cache_size=0` in `connect_args` (asyncpg's own cache), unique statement names, and `NullPool` so that only PgBouncer pools.
# > There is no PgBouncer in this course, so the next cell shows honestly what the settings change on a plain server: which prepared statements stay on the server connection.

# %% id=part-f-production-settings-code
from uuid import uuid4

from sqlalchemy import make_url, select

from asyncdb_lab.models import User

bouncer_url = make_url(db.url).update_query_dict({"prepared_statement_cache_size": "0"})
configurations = {
    "default": create_async_engine(db.url, pool_size=1),
    "for PgBouncer": create_async_engine(
        bouncer_url,
        poolclass=NullPool,
        connect_args={
            "statement_cache_size": 0,
            "prepared_statement_name_func": lambda: f"__asyncpg_{uuid4()}__",
        },
    ),
}
for label, some_engine in configurations.items():
    async with some_engine.connect() as conn:
        for user_id in (1, 2, 3):
            await conn.execute(select(User.email).where(User.id == user_id))
        kept = (await conn.execute(text("SELECT name FROM pg_prepared_statements ORDER BY prepare_time"))).scalars().all()
    print(f"{label}: {len(kept)} prepared statements kept on the server connection {kept[:3]}…")

# %% [markdown] id=defaults-connection-keeps-every
# With the defaults, the connection keeps every statement it prepared (including SQLAlchemy's own set-up queries); configured for PgBouncer, it keeps none beyond the one running, and that one has a unique name.
# The price is re-preparing every statement each time it runs:

# %% id=defaults-connection-keeps-every-code
statement = select(User.email).where(User.id == 5)
for label, some_engine in configurations.items():
    async with some_engine.connect() as conn:
        await measure(f"{label:<14} one SELECT", lambda: conn.execute(statement), runs=100)
    await some_engine.dispose()

# %% [markdown] id=pgbouncer-1-21-later
# PgBouncer 1.21 and later can track protocol-level prepared statements in transaction mode (`max_prepared_statements` above 0); with it, you may keep the cache. Check your PgBouncer's version and settings before you turn the cache off.
#
# > **Common mistake: `echo=True` and `echo_pool=True` in a production engine.**
# > `echo=True` logs every statement **with its parameters** (emails, tokens, whatever your queries carry) at INFO level, through a handler SQLAlchemy adds to stdout itself; `echo_pool=True` adds pool events (`echo_pool="debug"` logs every checkout and check-in).
# > The next cell captures what three small requests produce.

# %% id=pgbouncer-1-21-later-code
import contextlib
import io
import logging

captured = io.StringIO()
with contextlib.redirect_stdout(captured):
    noisy = create_async_engine(db.url, echo=True, echo_pool=True)
    for user_id in (1, 2, 3):
        async with noisy.connect() as conn:
            await conn.execute(select(User.email).where(User.id == user_id))
    await noisy.dispose()
lines = captured.getvalue().splitlines()
print(f"{len(lines)} log lines for 3 requests; a few of them:")
for line in [line for line in lines if "[generated" in line or "[cached" in line or "Pool" in line][:4]:
    print("   ", line[24:130])
for name in ("sqlalchemy.engine.Engine", "sqlalchemy.pool.impl.AsyncAdaptedQueuePool"):
    logging.getLogger(name).handlers.clear()  # undo the handlers echo added (they point at our capture)

# %% [markdown] id=fix-no-echo-flags
# The fix: no `echo` flags in production. Configure the `sqlalchemy.engine` and `sqlalchemy.pool` loggers through `logging` like any other library (WARNING by default), switch them on briefly when you debug, and publish pool health as numbers — `pool_report` — rather than as log lines.
# Note the pool's own status line: `Current Overflow: -5`, the negative counter from Part C.

# %% [markdown] id=summary
# ---
# ## Summary
#
# - An async engine pools with `AsyncAdaptedQueuePool`; `poolclass=QueuePool` raises `ArgumentError`. `NullPool` for tests with per-test event loops and behind PgBouncer; it refuses `pool_size`, `max_overflow` and `pool_timeout` with `TypeError`.
# - `pool_size + max_overflow` checkouts at once; the next one waits in your process up to `pool_timeout`, then raises `sqlalchemy.exc.TimeoutError`.
# - Size it: (`pool_size` + `max_overflow`) × workers < `max_connections` − reserved, with room to spare.
# - `overflow()` is negative below `pool_size`; report `max(0, overflow())` and `checkedout() + checkedin()` open connections.
# - `pool_pre_ping` replaces connections that died while idle, for a round trip per checkout; it cannot save a connection that dies mid-transaction. `pool_recycle` replaces old connections by age.
# - A health check runs a real query through the app's pool, under a timeout, and never raises; it answers at the deadline instead of waiting for the cancelled attempt's clean-up (`wait_for` on `asyncio.shield(task)`, then `task.cancel()`).
# - Behind PgBouncer (transaction mode): `prepared_statement_cache_size=0`, `statement_cache_size=0`, unique statement names, `NullPool`. No `echo` in production.
#
# ## Interview questions
#
# 1. What is the purpose of `pool_pre_ping`, what does it cost, and what does it not protect against?
# 2. Why does `create_async_engine(url, poolclass=QueuePool)` raise, and what pool does an async engine use?
# 3. Your service runs 6 workers with `pool_size=10, max_overflow=20` against a server with `max_connections=100`. What happens at peak, and what would you change?
# 4. A dashboard shows `overflow: -3` for your pool. Is something wrong?
# 5. Requests fail with `QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30.00`. Is the database down? Where would you look?
# 6. Why should a health check run a query, have a timeout, and use the application's own pool?
# 7. Why do SQLAlchemy's docs suggest `NullPool` and no prepared statement cache behind PgBouncer in transaction mode?
#
# <details><summary>Answers</summary>
#
# 1. At every checkout it tests the connection (with asyncpg: `BEGIN`, an empty statement, `ROLLBACK`) and, if the connection is dead, discards it and connects again, so requests do not fail on connections that died while idle (server restart, failover, terminated backend, dropped by a firewall). Cost: that round trip on every checkout — small on a local socket, one network round trip per checkout otherwise. It does not help when the connection dies *after* checkout, in the middle of a transaction: that statement fails and the unit of work must be retried with a new session. (It has nothing specific to do with MySQL.)
# 2. `QueuePool` waits for connections with a thread lock, which would block the event loop; the async engine refuses non-asyncio pools with `ArgumentError`. The default, `AsyncAdaptedQueuePool`, is the same queue pool with an asyncio-compatible queue.
# 3. Worst case 6 × 30 = 180 connections against fewer than 100 available: at peak, new connections are refused (`too many clients already`). Lower `max_overflow` (say 6 × (10 + 5) = 90, still tight — better 6 × (8 + 4) = 72), run fewer workers, or put PgBouncer in front.
# 4. No. `overflow()` counts from `-pool_size`; −3 means the pool has opened 2 of its 5 slots. Report `max(0, overflow())` as overflow.
# 5. Not necessarily: it is the pool in your process that is exhausted — all connections are checked out. Look for slow queries, connections held across slow non-database work (HTTP calls inside a session), leaked connections never returned, or more concurrency than the pool was sized for.
# 6. Counters live in your process and stay the same when the database is gone; only a query shows the database answers. Without a timeout, the check hangs on an exhausted pool or a silent server and the caller learns nothing. The app's own pool is what requests use: if it is exhausted, the app cannot serve requests even if the database is fine.
# 7. In transaction mode, consecutive transactions can run on different server connections, so named prepared statements left on one connection are missing on the next (or collide with another client's names). Turning off the caches and using unique names avoids that. With `NullPool`, PgBouncer does all the pooling, and prepared statements do not pile up on long-lived application-side connections (SQLAlchemy's docs pair it with a PgBouncer that runs `DISCARD` on returned connections). PgBouncer 1.21+ can track prepared statements itself.
#
# </details>
#
# ## Further reading
#
# - SQLAlchemy: [Connection pooling](https://docs.sqlalchemy.org/en/20/core/pooling.html), including [Dealing with disconnects](https://docs.sqlalchemy.org/en/20/core/pooling.html#dealing-with-disconnects) and [Using connection pools with multiprocessing](https://docs.sqlalchemy.org/en/20/core/pooling.html#using-connection-pools-with-multiprocessing-or-os-fork)
# - SQLAlchemy: [Asyncio: using multiple asyncio event loops](https://docs.sqlalchemy.org/en/20/orm/extensions/asyncio.html#using-multiple-asyncio-event-loops)
# - SQLAlchemy: [asyncpg dialect: prepared statement cache, PgBouncer](https://docs.sqlalchemy.org/en/20/dialects/postgresql.html#prepared-statement-cache)
# - SQLAlchemy: [Configuring logging](https://docs.sqlalchemy.org/en/20/core/engines.html#configuring-logging)
# - asyncpg FAQ: [Why am I getting prepared statement errors?](https://magicstack.github.io/asyncpg/current/faq.html)
# - PostgreSQL: [max_connections and reserved connections](https://www.postgresql.org/docs/current/runtime-config-connection.html), [pg_terminate_backend](https://www.postgresql.org/docs/current/functions-admin.html#FUNCTIONS-ADMIN-SIGNAL)
# - PgBouncer: [Configuration: max_prepared_statements](https://www.pgbouncer.org/config.html)

# %% [markdown] id=check-your-notebook
# ---
# **Check your notebook.** Save (Ctrl+S), then run this cell: it checks the saved file as `asyncdb-lab check` does, on a fresh database, and shows each exercise's points, a failing test's message with its first hint, and what to do next.

# %% id=check-this-notebook
from asyncdb_lab.learner.in_lab import check_this_notebook

check_this_notebook()
