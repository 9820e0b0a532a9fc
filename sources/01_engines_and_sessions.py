# %% [markdown] id=intro
# # **01 · Engines and sessions**
#
# Connect to PostgreSQL the way production code does: one engine with a small, healthy pool, your own 2.0-style models, and sessions that never share a task.
#
# **Learning goals**
# - Read a database URL (`postgresql+asyncpg://…`) and build an `AsyncEngine` with a pool you chose on purpose.
# - Know what `connect()` and `begin()` do with transactions, run SQL with `text()` and bound parameters, and `dispose()` an engine.
# - Define models with `DeclarativeBase` and `Mapped[...]`, and create their tables with `run_sync`.
# - Use `AsyncSession` and `async_sessionmaker`, and explain `expire_on_commit` and `MissingGreenlet`.
# - Measure what async buys (overlapping waits) and what it does not (CPU-bound work).
# - Run database work concurrently with one session per task.
#
# **Prerequisites**: notebook 00 (top-level `await`, `disposable_database`, `count_statements`).
#
# **Out of scope**: the course's shared models (notebook 02 onwards), eager loading (03), transactions in depth (04), pool tuning (06).

# %% [markdown] id=setup
# ## Setup
#
# This notebook starts from an **empty** database: you will create the tables yourself in Part B.
# Run the cells in order. To start over, run this cell again: it gives you a new empty database.

# %% readonly id=setup-database
from asyncdb_lab import count_statements, disposable_database, pool_snapshot

db = await disposable_database()

# %% [markdown] id=part-a-engines-urls-connections
# ---
# ## Part A — Engines, URLs and connections (7 points)
#
# A database URL tells SQLAlchemy three things: which database *dialect* to speak, which *driver* (DBAPI) to load, and where to connect.
# `make_url()` parses one, so you can look at its parts instead of guessing.
# A URL with a password hides it when printed: keep it that way in logs.

# %% id=part-a-engines-urls-code
from sqlalchemy import make_url

url = make_url(db.url)
print("drivername:", url.drivername, "-> dialect", url.get_backend_name(), "+ driver", url.get_driver_name())
print("user:      ", url.username)
print("database:  ", url.database)
print("query:     ", dict(url.query), "(host=<folder> means a Unix socket)")

production_like = make_url("postgresql+asyncpg://shop_app:s3cret@db.internal:5432/shop")
print("printed:   ", production_like)
print("port:      ", production_like.port, "· password hidden in repr:", "s3cret" not in repr(production_like))

# %% [markdown] id=create-async-engine-builds
# `create_async_engine(url)` builds an `AsyncEngine`: the dialect, the driver and a connection **pool**.
# It does not connect yet. The pool opens a connection the first time one is asked for, and keeps it for the next request.
# `pool_snapshot(engine)` shows what the pool holds.

# %% id=create-async-engine-builds-code
from sqlalchemy.ext.asyncio import create_async_engine

engine = create_async_engine(db.url)
print("after create_async_engine:", pool_snapshot(engine))

# %% [markdown] id=engine-connect-borrows-connection
# `engine.connect()` borrows a connection. `text()` wraps a SQL string; values go in as **bound parameters** (`:name`), never pasted into the string.
# The driver sends the parameter separately from the SQL, so a value can never change the statement.
# After the block the connection is back in the pool, idle, ready for the next borrower.

# %% id=engine-connect-borrows-connection-code
from sqlalchemy import text

with count_statements(engine) as sql:
    async with engine.connect() as conn:
        result = await conn.execute(
            text("SELECT current_database() AS database, :greeting AS greeting"),
            {"greeting": "hello from a bound parameter"},
        )
        print(result.one())
print(sql)
print("after the block:", pool_snapshot(engine))

# %% [markdown] id=connect-versus-begin
# ### `connect()` versus `begin()`
#
# PostgreSQL runs every statement inside a transaction, and SQLAlchemy starts one for you at the first statement (*autobegin*).
# What happens at the end of the block is the difference:
#
# - `async with engine.connect() as conn:` — nothing is committed unless **you** call `await conn.commit()`; the rest is rolled back.
# - `async with engine.begin() as conn:` — commits when the block ends normally, rolls back if it raises.
#
# `count_statements` shows the SQL sent through the driver's cursor; `BEGIN`, `COMMIT` and `ROLLBACK` go through other driver calls.
# To see those too, this demonstration uses an engine with `echo=True`, which logs everything the engine does.

# %% id=connect-versus-begin-code
echo_engine = create_async_engine(db.url, echo=True)

async with echo_engine.begin() as conn:
    await conn.execute(text("DROP TABLE IF EXISTS notes"))
    await conn.execute(text("CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)"))
    await conn.execute(text("INSERT INTO notes (body) VALUES (:body)"), {"body": "kept: begin() committed"})

async with echo_engine.connect() as conn:
    await conn.execute(text("INSERT INTO notes (body) VALUES ('lost: connect() without commit')"))

async with echo_engine.connect() as conn:
    await conn.execute(text("INSERT INTO notes (body) VALUES ('kept: connect() and commit()')"))
    await conn.commit()

# %% [markdown] id=block-raises-begin-rolls
# And when the block raises, `begin()` rolls back: the insert below never reaches the table.

# %% id=block-raises-begin-rolls-code
try:
    async with echo_engine.begin() as conn:
        await conn.execute(text("INSERT INTO notes (body) VALUES ('lost: the block raised')"))
        raise RuntimeError("something failed after the insert")
except RuntimeError as error:
    print(f"RuntimeError: {error}")

async with engine.connect() as conn:
    for body in (await conn.execute(text("SELECT body FROM notes ORDER BY id"))).scalars():
        print("in the table:", body)

# %% [markdown] id=mistake-echo-true-echo
# > **Common mistake: `echo=True` and `echo_pool=True` in a "production" engine.**
# > Tutorials often create their one and only engine with `echo=True`, and a "production" pool with `echo_pool=True`.
# > `echo` is a learning and debugging switch: it logs every statement **with its parameters** — e-mail addresses, names, tokens — and `echo_pool` logs pool events (with `echo_pool="debug"`, every checkout and checkin).
# > The next cell runs three small queries on such an engine: read what it prints.

# %% id=record-counter
import logging


class RecordCounter(logging.Handler):
    """Keeps the messages SQLAlchemy logs, to count them."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


counter = RecordCounter()
logging.getLogger("sqlalchemy").addHandler(counter)
chatty_engine = create_async_engine(db.url, echo=True, echo_pool="debug")
async with chatty_engine.connect() as conn:
    for n in range(3):
        await conn.execute(text("SELECT :email AS email"), {"email": f"customer{n}@example.com"})
await chatty_engine.dispose()
logging.getLogger("sqlalchemy").removeHandler(counter)

leaked = [m for m in counter.messages if "@example.com" in m]
print(f"\n3 queries -> {len(counter.messages)} log lines; {len(leaked)} of them carry a customer's e-mail address")

# %% [markdown] id=every-line-formatted-written
# Every line is formatted and written while your requests wait, and in production those lines go to log storage that more people can read than your database.
# The same parameters also appear in the text of database errors, which tend to end up in logs and error trackers.
#
# **The fix**: build production engines without `echo` or `echo_pool`.
# When you need to see SQL while debugging, switch the `sqlalchemy.engine` logger to `INFO` for a moment (or use `count_statements`, as this course does).
# And pass `hide_parameters=True` to engines whose logs or error reports leave your machine: compare the last lines of the two error messages below.

# %% id=every-line-formatted-written-code
production_engine = create_async_engine(db.url, hide_parameters=True)
for label, candidate in (("default engine", engine), ("hide_parameters", production_engine)):
    try:
        async with candidate.connect() as conn:
            await conn.execute(
                text("SELECT 1 / 0 WHERE CAST(:email AS text) IS NOT NULL"), {"email": "ada@example.com"}
            )
    except Exception as error:
        print(f"{label:>16}: {type(error).__name__} … {str(error).splitlines()[-2]}")
await production_engine.dispose()
await echo_engine.dispose()

# %% [markdown] id=dispose
# ### `dispose()`
#
# A pool keeps connections open between uses: that is its job.
# `await engine.dispose()` closes every idle connection of the pool; call it when an application shuts down (and in tests), so the server is not left with connections nobody will use.
# The next cell opens three connections at once, then counts the server's connections to this database before and after `dispose()`.
# The counting goes through `db.engine`, a second engine, and leaves its own connection out.

# %% id=hold-a-connection
import asyncio


async def hold_a_connection() -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT pg_sleep(0.05)"))


async def server_connections() -> int:
    async with db.engine.connect() as conn:
        return (await conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'"
        ))).scalar_one()


await asyncio.gather(hold_a_connection(), hold_a_connection(), hold_a_connection())
print("pool:", pool_snapshot(engine))
print("connections the server sees before dispose():", await server_connections())
await engine.dispose()
print("connections the server sees after dispose(): ", await server_connections())

# %% [markdown] id=after-dispose-engine-still
# After `dispose()` the engine still works: it simply opens new connections the next time it needs one.

# %% id=after-dispose-engine-still-code
async with engine.connect() as conn:
    print("still usable:", (await conn.execute(text("SELECT 1"))).scalar_one())

# %% [markdown] id=exercise-make-engine
# ### Exercise: `make_engine(url)`
#
# Write the engine a small production service would use.
# Each setting below is there for a reason you can observe on the server:
#
# - **`pool_size=5`, `max_overflow=0`** — at most five connections from this process, ever. A PostgreSQL server has a fixed `max_connections` shared by every worker of every service; a hard cap keeps your service's share predictable. When all five are busy, the next request waits for one (up to `pool_timeout`) instead of opening a sixth.
# - **`pool_pre_ping=True`** — before lending out a pooled connection, the pool checks it with a tiny round trip and replaces it if the server has closed it (a restart, a failover, an idle timeout, an administrator's `pg_terminate_backend`). Without it, the first query after such an event fails.
# - **`application_name` = `"asyncdb-lab"`** — a server setting sent when each connection starts. It shows up in `pg_stat_activity` and in the server's logs, so whoever looks at the database can tell which service a connection belongs to.
#
# `create_async_engine` passes `connect_args` to the driver's connect function, and asyncpg's `connect()` takes a `server_settings` dictionary.
# Build the engine from `url` exactly as given: besides user, host and database it may carry options of its own in its query string.
# Leave `echo` off.

# %% solution id=make_engine
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def make_engine(url: str) -> AsyncEngine:
    """An engine with 5 pooled connections at most, pre-ping, and application_name "asyncdb-lab"."""
    ### BEGIN SOLUTION
    return create_async_engine(
        url,
        pool_size=5,
        max_overflow=0,
        pool_pre_ping=True,
        connect_args={"server_settings": {"application_name": "asyncdb-lab"}},
    )
    ### END SOLUTION

# %% tests id=test_make_engine_connects points=1
"""Check that make_engine returns an AsyncEngine connected to the database in the URL."""
from sqlalchemy import text

from asyncdb_lab.checks import expect, expect_type

made = make_engine(db.url)
try:
    expect_type(made, AsyncEngine, "make_engine(db.url)", "Return what create_async_engine() returns.")
    async with made.connect() as conn:
        database = (await conn.execute(text("SELECT current_database()"))).scalar_one()
    expect(database, db.name, "the database make_engine's engine connected to", "Pass the url on unchanged.")
finally:
    await made.dispose()
### BEGIN HIDDEN TESTS
async with disposable_database(label="check_engine_url", say=False) as other:
    made = make_engine(other.url)
    try:
        async with made.connect() as conn:
            database = (await conn.execute(text("SELECT current_database()"))).scalar_one()
        expect(database, other.name, "the database for another URL",
               "make_engine must use the url it is given, not a fixed one.")
        expect((bool(made.echo), bool(made.pool.echo)), (False, False), "(echo, echo_pool) of the engine",
               "A production engine does not log every statement and its parameters: leave echo off.")
    finally:
        await made.dispose()
    # The URL's own options must survive too: the engine is built from the url exactly as given.
    from sqlalchemy import make_url

    given = make_url(other.url).update_query_dict({"prepared_statement_cache_size": "50"})
    made = make_engine(given.render_as_string(hide_password=False))
    try:
        async with made.connect() as conn:
            database = (await conn.execute(text("SELECT current_database()"))).scalar_one()
        expect(database, other.name, "the database for a URL that carries an option (?prepared_statement_cache_size=50)")
        assert made.url == given, (
            f"make_engine was given {given!r} and built an engine for {made.url!r}: pass the url on unchanged, "
            f"with everything it carries (user, password, host, port, options); rebuilding it from some of its "
            f"parts drops the rest."
        )
    finally:
        await made.dispose()
### END HIDDEN TESTS

# %% tests id=test_make_engine_application_name points=2
"""Check that the server sees application_name "asyncdb-lab" on the engine's connections."""
import asyncio

from sqlalchemy import text

from asyncdb_lab.checks import expect

made = make_engine(db.url)
try:
    async with made.connect() as conn:
        name = (await conn.execute(text("SELECT current_setting('application_name')"))).scalar_one()
    expect(name, "asyncdb-lab", "application_name as the server sees it",
           "Send it when the connection starts: connect_args={'server_settings': {...}}.")
finally:
    await made.dispose()
### BEGIN HIDDEN TESTS
async with disposable_database(label="check_engine_name", say=False) as other:
    made = make_engine(other.url)
    try:

        async def busy() -> None:
            async with made.connect() as conn:
                await conn.execute(text("SELECT pg_sleep(0.05)"))

        await asyncio.wait_for(asyncio.gather(*(busy() for _ in range(4))), timeout=10)
        async with other.engine.connect() as observer:
            names = (await observer.execute(text(
                "SELECT application_name FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND backend_type = 'client backend'"
            ))).scalars().all()
        expect(sorted(set(names)), ["asyncdb-lab"], "application_name of every pooled connection in pg_stat_activity",
               "Every connection the engine opens must carry the setting, not only the first one.")
    finally:
        await made.dispose()
### END HIDDEN TESTS

# %% tests id=test_make_engine_pool_limits points=2
"""Check that make_engine never opens more than 5 connections and keeps 5 open when idle."""
import asyncio

from sqlalchemy import text

from asyncdb_lab.checks import expect

made = make_engine(db.url)
try:
    expect(made.pool.size(), 5, "the pool's size", "pool_size=5.")
finally:
    await made.dispose()
### BEGIN HIDDEN TESTS
async with disposable_database(label="check_engine_pool", say=False) as other:
    made = make_engine(other.url)
    try:
        backend_pids: set[int] = set()

        async def borrow() -> None:
            async with made.connect() as conn:
                backend_pids.add((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())
                await asyncio.sleep(0.05)

        await asyncio.wait_for(asyncio.gather(*(borrow() for _ in range(12))), timeout=10)
        expect(len(backend_pids), 5, "server connections used by 12 tasks that each hold one for 50 ms",
               "At most 5 connections, and the pool must reuse them: pool_size=5 and max_overflow=0.")
        async with other.engine.connect() as observer:
            idle = (await observer.execute(text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'"
            ))).scalar_one()
        expect(idle, 5, "connections the pool keeps open once the tasks are done",
               "pool_size=5 keeps five connections ready; overflow connections are closed on return.")
    finally:
        await made.dispose()
### END HIDDEN TESTS

# %% tests id=test_make_engine_pre_ping points=2
"""Check that the engine survives the server closing its pooled connections."""
### BEGIN HIDDEN TESTS
import asyncio

from sqlalchemy import text

from asyncdb_lab.checks import expect

async with disposable_database(label="check_engine_ping", say=False) as other:
    made = make_engine(other.url)
    try:
        async with made.connect() as conn:
            await conn.execute(text("SELECT 1"))
        async with other.engine.connect() as admin:
            await admin.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'"
            ))
        await asyncio.sleep(0.1)
        try:
            async with made.connect() as conn:
                value = (await asyncio.wait_for(conn.execute(text("SELECT 42")), timeout=10)).scalar_one()
        except Exception as error:
            raise AssertionError(
                f"The first query after the server closed the pooled connection failed with "
                f"{type(error).__name__}: {str(error)[:120]} — which pool option checks a connection "
                f"before lending it out?"
            ) from None
        expect(value, 42, "the first query after the server closed the pooled connection")
    finally:
        await made.dispose()
### END HIDDEN TESTS

# %% [markdown] id=part-b-models-tables-2
# ---
# ## Part B — Models and tables, 2.0 style (0 points)
#
# A *model* is a Python class mapped to a table: each attribute is a column, each instance a row.
#
# > **Common mistake: `declarative_base()` with `Column(...)` and half the imports.**
# > Older tutorials define models with `Base = declarative_base()` and `id = Column(Integer, primary_key=True)`, and often forget to import `Column`, `Integer`, `String` or `ForeignKey`.
# > The snippet below is that style, copied without its imports: it fails before a single table exists.

# %% id=part-b-models-tables-code
from sqlalchemy.orm import declarative_base

LegacyBase = declarative_base()
try:

    class LegacyUser(LegacyBase):
        __tablename__ = "legacy_users"
        id = Column(Integer, primary_key=True)  # noqa: F821 - the imports are missing on purpose
        name = Column(String)  # noqa: F821

except NameError as error:
    print(f"NameError: {error}")

# %% [markdown] id=imports-added-runs-still
# With the imports added it runs, and still says less than you think: nothing tells a type checker what `user.name` is, and `Column(String)` is a column of unbounded length that accepts NULL — probably not what "every user has a name" meant.

# %% id=legacy-user
from sqlalchemy import Column, Integer, String
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateTable

LegacyBase = declarative_base()


class LegacyUser(LegacyBase):
    __tablename__ = "legacy_users"
    id = Column(Integer, primary_key=True)
    name = Column(String)


print(CreateTable(LegacyUser.__table__).compile(dialect=postgresql.dialect()))

# %% [markdown] id=fix-sqlalchemy-2-0
# **The fix: SQLAlchemy 2.0 style.** A base class that inherits `DeclarativeBase`, and attributes annotated with `Mapped[...]`:
#
# - the annotation gives the Python type and nullability: `Mapped[str]` is `NOT NULL`, `Mapped[str | None]` allows NULL;
# - `mapped_column(...)` adds what the annotation cannot say: a length, a key, a default;
# - `relationship(back_populates=...)` links `User.posts` and `Post.author`, both directions named explicitly.
#
# `AsyncAttrs` adds `awaitable_attrs`, which you will use in Part C.
# This cell is locked because the tests use these classes.

# %% readonly id=base
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, func
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(AsyncAttrs, DeclarativeBase):
    """The base of this notebook's models; Base.metadata collects their tables."""


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    posts: Mapped[list["Post"]] = relationship(back_populates="author")


class Post(Base):
    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))

    author: Mapped[User] = relationship(back_populates="posts")

# %% [markdown] id=base-metadata-create-all
# `Base.metadata.create_all()` creates the tables. It is a *synchronous* function: it expects a plain connection it can call without `await`.
# `conn.run_sync(fn)` bridges the two worlds: it calls `fn` with a synchronous-looking connection, and every time `fn` needs the database, SQLAlchemy awaits the driver for it behind the scenes.
# The statement log shows what `create_all` sent: catalogue lookups ("does this table exist?"), then one `CREATE TABLE` per model.

# %% id=base-metadata-create-all-code
with count_statements(engine) as sql:
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
print(sql.report(limit=12))

# %% [markdown] id=part-c-sessions-expire-commit
# ---
# ## Part C — Sessions, `expire_on_commit` and `MissingGreenlet` (0 points)
#
# An engine runs SQL. An `AsyncSession` works with **objects**: you add `User` instances, it works out the `INSERT`s; you ask for a user, it builds the `SELECT` and hands back an object.
# It also remembers every object it loaded (the *identity map*) and holds one transaction until you commit or roll back.
#
# `async_sessionmaker(engine)` is a factory: calling it gives a new session. You make the factory once, next to the engine, and a session per unit of work.
# `async with session_factory() as session:` closes the session at the end of the block and returns its connection to the pool.

# %% id=part-c-sessions-expire-code
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

default_factory = async_sessionmaker(engine)  # expire_on_commit=True: SQLAlchemy's default

async with default_factory() as session:
    ada = User(email="ada@example.com", name="Ada Lovelace")
    ada.posts.append(Post(title="Notes on the Analytical Engine"))
    grace = User(email="grace@example.com", name="Grace Hopper")
    session.add_all([ada, grace])
    with count_statements(session) as sql:
        await session.commit()
print(sql)

# %% [markdown] id=sqlalchemy-sent-both-users
# SQLAlchemy sent both users in one `INSERT … RETURNING` (to learn their new ids), then the post with Ada's id as `author_id`: you never wrote an id yourself.
#
# > **Why this fails: `MissingGreenlet` after a commit.**
# > By default a commit *expires* every object: the session forgets their loaded values, so the next read fetches fresh ones from the database.
# > In synchronous SQLAlchemy that read happens silently, inside the attribute access.
# > In async code it cannot: `user.name` is a plain attribute read, not an `await`, so there is no way to wait for the network inside it.
# > SQLAlchemy's async layer runs the ORM in a *greenlet* (a helper that lets synchronous ORM code pause while the event loop awaits the driver) only inside calls you await, such as `session.execute()`. Outside them it refuses to do IO and raises `MissingGreenlet`.
# > Once the session is closed, an expired object cannot be reloaded at all: that is `DetachedInstanceError`, as `ada` from the previous cell shows.

# %% id=sqlalchemy-sent-both-users-code
async with default_factory() as session:
    user = await session.get(User, 1)
    print("loaded:", user.name)
    await session.commit()  # expires `user`
    try:
        print(user.name)
    except Exception as error:
        print(f"{type(error).__name__}: {error}")

try:
    print(ada.name)
except Exception as error:
    print(f"{type(error).__name__}: {error}")

# %% [markdown] id=three-ways-out-each
# Three ways out, each explicit about when the IO happens:
#
# 1. `expire_on_commit=False` on the factory: objects keep the values they had at commit. This is the usual choice for async applications, and what `db.session_factory` uses.
# 2. `await session.refresh(obj)`: reload one object on purpose, with an `await`.
# 3. `await obj.awaitable_attrs.posts`: load a relationship on purpose (from `AsyncAttrs`); or load it up front with an eager-loading option (notebook 03).

# %% id=three-ways-out-each-code
session_factory = async_sessionmaker(engine, expire_on_commit=False)

async with session_factory() as session:
    linus = User(email="linus@example.com", name="Linus Torvalds")
    session.add(linus)
    await session.commit()
    print("after commit, still loaded:", linus.id, linus.name)
    await session.refresh(linus)
    print("refreshed on purpose:", linus.created_at.isoformat(timespec="seconds"))

# %% [markdown] id=same-rule-applies-relationships
# The same rule applies to relationships that were never loaded.
# `session.get(User, id)` loads the user's columns, not its posts; reading `user.posts` would need a query, so in async code it raises too.
# `awaitable_attrs` turns that hidden query into a visible `await`.

# %% id=same-rule-applies-relationships-code
async with session_factory() as session:
    first = await session.get(User, 1)
    try:
        print(first.posts)
    except Exception as error:
        print(f"{type(error).__name__}: {error}")
    with count_statements(session) as sql:
        posts = await first.awaitable_attrs.posts
    print(first.name, "wrote", [post.title for post in posts])
print(sql)

# %% [markdown] id=part-d-async-buys-waiting
# ---
# ## Part D — What async buys you: waiting, not computing (0 points)
#
# A query spends most of its time *waiting*: for the network, for the disk, for a lock.
# The next cells measure the same work three ways: 16 queries that each wait 20 ms on the server (`pg_sleep(0.02)`).
#
# 1. One synchronous connection (psycopg 3), one query after another.
# 2. Eight synchronous connections driven by a pool of eight threads.
# 3. Eight async connections driven by `asyncio.gather` in this one thread.
#
# Connections are opened before the clocks start, so only the waiting is measured.

# %% id=one-sync-wait
import time
from concurrent.futures import ThreadPoolExecutor
from queue import Queue

import psycopg

WAITS, SECONDS, WORKERS = 16, 0.02, 8

sync_connections: Queue = Queue()
for _ in range(WORKERS):
    sync_connections.put(psycopg.connect(db.dsn, autocommit=True))


def one_sync_wait() -> None:
    conn = sync_connections.get()
    try:
        conn.execute("SELECT pg_sleep(%s)", (SECONDS,))
    finally:
        sync_connections.put(conn)


started = time.perf_counter()
for _ in range(WAITS):
    one_sync_wait()
sequential_seconds = time.perf_counter() - started

with ThreadPoolExecutor(max_workers=WORKERS) as threads:
    list(threads.map(lambda _: None, range(WORKERS)))  # start the threads before timing
    started = time.perf_counter()
    list(threads.map(lambda _: one_sync_wait(), range(WAITS)))
    threaded_seconds = time.perf_counter() - started

while not sync_connections.empty():
    sync_connections.get().close()

print(f"{'sync, one after another':<26}{sequential_seconds * 1000:5.0f} ms")
print(f"{f'sync, {WORKERS} threads':<26}{threaded_seconds * 1000:5.0f} ms  ({WORKERS} threads, each blocked on its connection)")

# %% [markdown] id=now-async-version
# Now the async version: one thread, eight pooled connections, sixteen coroutines.
# While one coroutine waits for the server, the event loop runs the others.

# %% id=one-async-wait
wait_engine = create_async_engine(db.url, pool_size=WORKERS, max_overflow=0)


async def one_async_wait() -> None:
    async with wait_engine.connect() as conn:
        await conn.execute(text("SELECT pg_sleep(:seconds)"), {"seconds": SECONDS})


await asyncio.gather(*(one_async_wait() for _ in range(WORKERS)))  # open the connections first
started = time.perf_counter()
await asyncio.gather(*(one_async_wait() for _ in range(WAITS)))
async_seconds = time.perf_counter() - started
await wait_engine.dispose()

print(f"{f'async, {WORKERS} connections':<26}{async_seconds * 1000:5.0f} ms  (one thread runs the event loop)")
print(f"{f'ideal, {WORKERS} at a time':<26}{WAITS / WORKERS * SECONDS * 1000:5.0f} ms  ({WAITS} waits of {SECONDS * 1000:.0f} ms in rounds of {WORKERS})")

# %% [markdown] id=both-concurrent-versions-beat
# Both concurrent versions beat the sequential one by about the number of connections, and neither beats the other by much: the database waits are what overlap.
# The threads needed one operating-system thread per concurrent wait; asyncio needed one thread in all. That is async's real advantage: thousands of waiting tasks cost little, while thousands of threads cost memory and switching.
# The connection count still sets the limit in both: 16 waits over 8 connections take two rounds.
#
# Work that *computes* instead of waiting gains nothing. A coroutine that never awaits keeps the event loop to itself: other tasks cannot run, not even a timer.
# The next cell runs four CPU-bound coroutines with `gather` next to a heartbeat that wants to tick every 10 ms.

# %% id=crunch
def crunch() -> int:
    return sum(i * i for i in range(100_000))


async def crunch_async() -> int:
    return crunch()  # no await inside: nothing to overlap


async def heartbeat(gaps: list[float]) -> None:
    last = time.perf_counter()
    for _ in range(5):
        await asyncio.sleep(0.01)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now


started = time.perf_counter()
crunch()
one_seconds = time.perf_counter() - started

gaps: list[float] = []
started = time.perf_counter()
await asyncio.gather(heartbeat(gaps), *(crunch_async() for _ in range(4)))
four_seconds = time.perf_counter() - started

print(f"one crunch: {one_seconds * 1000:.0f} ms · four with gather: {four_seconds * 1000:.0f} ms (no overlap)")
print(f"longest heartbeat gap: {max(gaps) * 1000:.0f} ms (wanted 10 ms): the loop was busy computing")

# %% [markdown] id=mistake-sync-cpu-bound
# > **Common mistake: "sync for CPU-bound, async for I/O-bound", and a dated Django-versus-SQLAlchemy table.**
# > The tutorial's comparison table pits "Sync (Django ORM)" against "Async (SQLAlchemy)" and calls sync "good for CPU-bound".
# > It is dated: Django has had an asynchronous query API (`await User.objects.aget(...)`, `async for` over a queryset) since version 4.1, and SQLAlchemy runs synchronously just as well as asynchronously.
# > And it mixes up what each model is for. The measurements above say it plainly:
# > - async pays off while a program **waits** on I/O: many waits overlap on one thread;
# > - it does nothing for **CPU-bound** work, which blocks the event loop and everything on it (above, the heartbeat stalled); move such work to a process pool (`loop.run_in_executor` with a `ProcessPoolExecutor`), since in standard CPython builds threads share one interpreter lock;
# > - sync code with threads overlaps waits too, at the cost of one thread per concurrent wait.
# > Choose async when one process must hold many waiting requests at once (a web API calling a database), not because it makes a single query faster: it does not.

# %% [markdown] id=part-e-concurrent-work-needs
# ---
# ## Part E — Concurrent work needs one session per task (9 points)
#
# `asyncio.gather` runs coroutines concurrently. It is tempting to hand them all the same session.
#
# > **Common mistake: sharing one `AsyncSession` between concurrent tasks.**
# > A session is one transaction on one connection, with one identity map; it is not safe to use from two tasks at once.
# > Depending on timing, `gather` on one session either **raises**, or at best the driver queues the statements one behind the other, so nothing runs concurrently.
# > The next cell shows the first case: a session whose engine has not connected yet, asked for three things at once.

# %% id=part-e-concurrent-work-code
fresh_engine = create_async_engine(db.url)
shared_factory = async_sessionmaker(fresh_engine, expire_on_commit=False)

async with shared_factory() as shared:
    outcomes = await asyncio.gather(
        *(shared.get(User, user_id) for user_id in (1, 2, 3)),
        return_exceptions=True,  # let every task finish before the session closes
    )
for outcome in outcomes:
    print(f"{type(outcome).__name__}: {outcome}" if isinstance(outcome, Exception) else f"ok: {outcome.name}")
await fresh_engine.dispose()

# %% [markdown] id=second-case-quieter-just
# The second case is quieter and just as wrong: once the session holds its connection, the driver's lock makes the statements take turns.
# Four queries that each wait 0.05 s take 0.2 s on one session, and about 0.05 s with a session per task.

# %% id=slow-in-own-session
SLOW = text("SELECT pg_sleep(0.05)")

async with session_factory() as shared:
    await shared.execute(text("SELECT 1"))  # the session now holds a connection
    started = time.perf_counter()
    await asyncio.gather(*(shared.execute(SLOW) for _ in range(4)))
    print(f"gather on one session:   {time.perf_counter() - started:.2f} s (statements took turns)")


async def slow_in_own_session() -> None:
    async with session_factory() as session:
        await session.execute(SLOW)


started = time.perf_counter()
await asyncio.gather(*(slow_in_own_session() for _ in range(4)))
print(f"one session per task:    {time.perf_counter() - started:.2f} s")

# %% [markdown] id=fix-each-task-opens
# **The fix**: each task opens its own session from the factory, inside the task, and closes it when its work is done.
# Each task then has its own connection and its own transaction. That also means the tasks' work is **not** one transaction: if they must succeed or fail together, they belong in one session, one after another.
#
# ### Exercise: `names_by_id(session_factory, user_ids)`
#
# Return `{user_id: name}` for the given ids, loading them **concurrently, one session per task**.
# Ids with no user are left out, whatever their value; an id given twice appears once; an empty list gives `{}`.
# Look each user up by its id: ids have gaps where users were deleted, and rows are not stored in id order.
#
# For a plain list of ids, one `SELECT … WHERE id IN (…)` would be the efficient query. Treat each lookup here as a stand-in for independent work that cannot be merged into one statement (a report per user, a call per tenant): the point is running units of work side by side safely.
#
# - Write a small inner `async def` that opens `async with session_factory() as session:`, loads one user, and returns what it found.
# - Run one of those per id with `asyncio.gather`.
# - The tests give your function a factory on their own database and watch how many connections are in use at the same time, and whether each one goes back to the pool.
#
# The helper below makes a fresh database with this notebook's tables and `count` users named `"Name 1"`, `"Name 2"`, … so you can try your function, as the tests do.

# %% readonly id=users-database
from contextlib import asynccontextmanager


@asynccontextmanager
async def users_database(count: int, label: str = "try_users"):
    """A fresh database with this notebook's tables and `count` users: user n is named "Name n"."""
    async with disposable_database(label=label, say=False) as other:
        async with other.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
            await conn.execute(
                text(
                    "INSERT INTO users (email, name) "
                    "SELECT 'user' || n || '@example.test', 'Name ' || n FROM generate_series(1, :count) AS n"
                ),
                {"count": count},
            )
        await other.engine.dispose()
        yield other

# %% [markdown] id=your-turn
# Your turn. Try it with `async with users_database(10) as trial:` and a factory on `create_async_engine(trial.url)` before running the tests.

# %% solution id=names_by_id
async def names_by_id(session_factory, user_ids: list[int]) -> dict[int, str]:
    """Load the names of the given users concurrently, one session per task; unknown ids are left out."""
    ### BEGIN SOLUTION
    async def load_one(user_id: int) -> tuple[int, str | None]:
        async with session_factory() as session:
            name = await session.scalar(select(User.name).where(User.id == user_id))
            return user_id, name

    found = await asyncio.gather(*(load_one(user_id) for user_id in dict.fromkeys(user_ids)))
    return {user_id: name for user_id, name in found if name is not None}
    ### END SOLUTION

# %% tests id=test_names_by_id_basic points=2
"""Check that names_by_id returns {id: name} for the ids that exist."""
import asyncio

from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from asyncdb_lab.checks import expect

async with users_database(5, label="check_names_basic") as other:
    check_engine = create_async_engine(other.url)
    try:
        factory = async_sessionmaker(check_engine, expire_on_commit=False)
        try:
            names = await asyncio.wait_for(names_by_id(factory, [3, 1]), timeout=10)
        except Exception as error:
            raise AssertionError(
                f"names_by_id(factory, [3, 1]) raised {type(error).__name__}: {str(error)[:160]} — "
                f"each task needs its own session: `async with session_factory() as session:` inside it."
            ) from None
        expect(names, {3: "Name 3", 1: "Name 1"}, "names_by_id(factory, [3, 1])",
               "Return a dict from each id to that user's name.")
        ### BEGIN HIDDEN TESTS
        names = await asyncio.wait_for(names_by_id(factory, [2, 404, 5]), timeout=10)
        expect(names, {2: "Name 2", 5: "Name 5"}, "names_by_id(factory, [2, 404, 5]) where 404 does not exist",
               "Leave out ids that have no user.")
        names = await asyncio.wait_for(names_by_id(factory, []), timeout=10)
        expect(names, {}, "names_by_id(factory, [])", "No ids, no lookups: an empty dict.")
        ### END HIDDEN TESTS
    finally:
        await check_engine.dispose()

# %% tests id=test_names_by_id_concurrent points=3
"""Check that names_by_id runs its lookups at the same time, each in its own session."""
### BEGIN HIDDEN TESTS
import asyncio

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from asyncdb_lab.checks import expect

async with users_database(20, label="check_names_overlap") as other:
    check_engine = create_async_engine(other.url, pool_size=10, max_overflow=0, pool_timeout=5)
    try:

        async def warm_up() -> None:
            async with check_engine.connect() as conn:
                await conn.execute(text("SELECT pg_sleep(0.02)"))

        await asyncio.gather(*(warm_up() for _ in range(10)))  # ten idle connections, ready at once
        in_use = {"now": 0, "peak": 0}

        def on_checkout(*_: object) -> None:
            in_use["now"] += 1
            in_use["peak"] = max(in_use["peak"], in_use["now"])

        def on_checkin(*_: object) -> None:
            in_use["now"] -= 1

        event.listen(check_engine.sync_engine, "checkout", on_checkout)
        event.listen(check_engine.sync_engine, "checkin", on_checkin)
        sessions: list[AsyncSession] = []

        class WatchedSession(AsyncSession):
            def __init__(self, *args, **kwargs) -> None:
                super().__init__(*args, **kwargs)
                sessions.append(self)

        factory = async_sessionmaker(check_engine, class_=WatchedSession, expire_on_commit=False)
        ids = [3, 1, 4, 15, 9, 2, 6, 5]
        try:
            names = await asyncio.wait_for(names_by_id(factory, ids), timeout=10)
        except Exception as error:
            raise AssertionError(
                f"names_by_id raised {type(error).__name__}: {str(error)[:160]} — did several tasks "
                f"share one session? Open a session inside each task."
            ) from None
        expect(names, {i: f"Name {i}" for i in ids}, "names_by_id on eight ids")
        assert in_use["peak"] >= 2, (
            "At most one connection was in use at any moment: the lookups ran one after another "
            f"({len(sessions)} session(s) created). Give each task its own session and run the "
            "tasks together with asyncio.gather."
        )
        expect(in_use["now"], 0, "connections still checked out after names_by_id returned",
               "Open each session with `async with`, so it is closed when its task is done.")
    finally:
        await check_engine.dispose()
### END HIDDEN TESTS

# %% tests id=test_names_by_id_small_pool points=2
"""Check that names_by_id works through a pool much smaller than the number of ids."""
### BEGIN HIDDEN TESTS
import asyncio

from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from asyncdb_lab import pool_snapshot
from asyncdb_lab.checks import expect

async with users_database(40, label="check_names_pool") as other:
    check_engine = create_async_engine(other.url, pool_size=2, max_overflow=0, pool_timeout=3)
    try:
        factory = async_sessionmaker(check_engine, expire_on_commit=False)
        ids = list(range(1, 41))
        try:
            names = await asyncio.wait_for(names_by_id(factory, ids), timeout=10)
        except Exception as error:
            raise AssertionError(
                f"With 40 ids and a pool of 2 connections, names_by_id raised {type(error).__name__}: "
                f"{str(error)[:160]} — does each session give its connection back as soon as its task "
                f"is done (async with inside the task)?"
            ) from None
        expect(names, {i: f"Name {i}" for i in ids}, "names_by_id on 40 ids through a pool of 2")
        expect(pool_snapshot(check_engine).checked_out, 0, "connections still checked out afterwards",
               "Close every session: open it with `async with`.")
    finally:
        await check_engine.dispose()
### END HIDDEN TESTS

# %% tests id=test_names_by_id_any_ids points=2
"""Check that names_by_id looks users up by id, whatever the ids and however the rows are stored."""
### BEGIN HIDDEN TESTS
import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from asyncdb_lab.checks import expect

async with users_database(12, label="check_names_any_ids") as other:
    async with other.engine.begin() as conn:
        # What must not matter: gaps in the ids, and the order the rows sit in on disk. Users 2, 3
        # and 7 are deleted, and the rest are written back highest id first.
        await conn.execute(text("DELETE FROM users WHERE id IN (2, 3, 7)"))
        await conn.execute(text(
            "CREATE TEMP TABLE reordered ON COMMIT DROP AS SELECT * FROM users ORDER BY id DESC"
        ))
        await conn.execute(text("DELETE FROM users"))
        await conn.execute(text("INSERT INTO users SELECT * FROM reordered ORDER BY id DESC"))
        stored_first = (await conn.execute(text("SELECT id FROM users LIMIT 1"))).scalar_one()
    assert stored_first == 12, f"test set-up: the table was not rewritten in reverse ({stored_first})"
    check_engine = create_async_engine(other.url, pool_size=5, max_overflow=0, pool_timeout=5)
    try:
        factory = async_sessionmaker(check_engine, expire_on_commit=False)

        async def call(ids: list[int]) -> dict[int, str]:
            try:
                return await asyncio.wait_for(names_by_id(factory, ids), timeout=10)
            except Exception as error:
                raise AssertionError(
                    f"names_by_id(factory, {ids}) raised {type(error).__name__}: {str(error)[:160]} — "
                    f"any list of ints is a valid question; an id with no user is simply left out."
                ) from None

        nine_left = "on a table of 9 users (ids 1-12 without 2, 3 and 7, stored highest id first)"
        expect(await call([1, 4, 12]), {1: "Name 1", 4: "Name 4", 12: "Name 12"},
               f"names_by_id(factory, [1, 4, 12]) {nine_left}",
               "Look each user up by its id (WHERE id = …), not by its position in the table: ids have gaps, "
               "and rows have no order on disk.")
        expect(await call([5, 2, 5, 9, 5]), {5: "Name 5", 9: "Name 9"},
               f"names_by_id(factory, [5, 2, 5, 9, 5]) {nine_left}",
               "An id may appear more than once, and an id with no user may come before others: "
               "pair each name with the id it was looked up for.")
        expect(await call([0, -1, 13, 10_000]), {}, f"names_by_id(factory, [0, -1, 13, 10000]) {nine_left}",
               "Ids that no user has, however large or small, are left out.")
        async with other.engine.begin() as conn:
            await conn.execute(text("UPDATE users SET name = 'Renamed 4' WHERE id = 4"))
        expect(await call([4, 8]), {4: "Renamed 4", 8: "Name 8"},
               "names_by_id(factory, [4, 8]) after user 4 was renamed",
               "Read the names from the database on every call.")
    finally:
        await check_engine.dispose()
        await other.engine.dispose()
### END HIDDEN TESTS

# %% [markdown] id=summary
# ---
# ## Summary
#
# - A URL names the dialect and the driver (`postgresql+asyncpg`), then who, where and which database; `make_url()` parses it and hides passwords.
# - `create_async_engine()` builds a pool and connects lazily; `dispose()` closes the pooled connections.
# - `connect()` commits only when you call `commit()`; `begin()` commits at the end of the block and rolls back on an exception.
# - `text()` with `:name` parameters keeps values out of the SQL string.
# - Production engines set their pool on purpose (`pool_size`, `max_overflow`, `pool_pre_ping`), name themselves with `application_name`, and leave `echo` off.
# - 2.0 models: `DeclarativeBase`, `Mapped[...]`, `mapped_column()`; `create_all` runs through `conn.run_sync()`.
# - Attribute access cannot `await`: expired attributes and unloaded relationships raise `MissingGreenlet`. Use `expire_on_commit=False`, `refresh()`, `awaitable_attrs` or eager loading.
# - Async overlaps waiting, not computing.
# - One `AsyncSession` per concurrent task, opened and closed inside the task.
#
# ## Interview questions
#
# 1. What does each part of `postgresql+asyncpg://app:secret@db:5432/shop` mean? Does `create_async_engine()` connect to the server?
# 2. What is the difference between `engine.connect()` and `engine.begin()`?
# 3. After `await session.commit()`, reading `user.name` raises `MissingGreenlet`. Why, and what are two fixes?
# 4. Why must concurrent tasks not share one `AsyncSession`? What happens if they do?
# 5. When does async make database code faster, and when does it not help at all?
# 6. An engine has `pool_size=5, max_overflow=0`. How many connections can one process open? What happens to the sixth concurrent request? And with 8 worker processes?
# 7. What does `pool_pre_ping=True` cost, and what does it save you from?
# 8. Why not create a production engine with `echo=True`?
#
# <details><summary>Answers</summary>
#
# 1. `postgresql` is the dialect (the SQL flavour), `asyncpg` the driver SQLAlchemy loads, `app:secret` the user and password, `db:5432` host and port, `shop` the database. `create_async_engine()` builds the dialect and an empty pool; the first connection is opened when one is first needed.
# 2. Both borrow a connection and start a transaction at the first statement. `connect()` commits only when you call `await conn.commit()` and rolls back the rest at the end of the block; `begin()` commits when the block ends normally and rolls back if it raises.
# 3. With the default `expire_on_commit=True` the commit expired the object, so reading an attribute needs a `SELECT`; in async code an attribute read cannot await, so SQLAlchemy raises instead of blocking. Fixes: `async_sessionmaker(..., expire_on_commit=False)`, or `await session.refresh(user)` before reading (or read what you need before committing).
# 4. A session is one connection, one transaction and one identity map, and is not safe for concurrent use. With `gather`, it raises (for example "This session is provisioning a new connection; concurrent operations are not permitted") or, at best, the statements take turns on its one connection, so nothing overlaps. Give each task its own session; remember the tasks then commit independently.
# 5. When the program spends its time waiting on I/O and has many such waits at once: async overlaps them on one thread. It does not make one query faster, and it does nothing for CPU-bound work, which blocks the event loop (use processes for that).
# 6. Five. The sixth waits in the pool until a connection is returned, up to `pool_timeout` (30 s by default), then gets a `TimeoutError`. Eight processes can open 40: size `max_connections` (and `pool_size`) with every process of every service in mind.
# 7. A small round trip each time a connection is checked out of the pool. It saves the first request after a server restart, failover or idle-connection kill from failing on a dead connection: the pool replaces it silently.
# 8. `echo` logs every statement with its parameters (personal data, secrets) and costs time and log volume on every query; `echo_pool` adds a record per checkout and checkin. Turn the `sqlalchemy.engine` logger on only while debugging, and use `hide_parameters=True` where logs leave the machine.
#
# </details>
#
# ## Further reading
#
# - SQLAlchemy: [Asynchronous I/O (asyncio)](https://docs.sqlalchemy.org/en/20/orm/extensions/asyncio.html), especially "Preventing Implicit IO when Using AsyncSession" and "Using AsyncSession with Concurrent Tasks"
# - SQLAlchemy: [Engine configuration and database URLs](https://docs.sqlalchemy.org/en/20/core/engines.html)
# - SQLAlchemy: [Connection pooling, disconnect handling (pessimistic: pre-ping)](https://docs.sqlalchemy.org/en/20/core/pooling.html#disconnect-handling-pessimistic)
# - SQLAlchemy: [Declaring mapped classes (`DeclarativeBase`, `Mapped`)](https://docs.sqlalchemy.org/en/20/orm/declarative_tables.html)
# - SQLAlchemy: [Session basics: committing and `expire_on_commit`](https://docs.sqlalchemy.org/en/20/orm/session_basics.html#committing)
# - asyncpg: [`connect()` and `server_settings`](https://magicstack.github.io/asyncpg/current/api/index.html#connection)
# - PostgreSQL: [`application_name`](https://www.postgresql.org/docs/current/runtime-config-logging.html#GUC-APPLICATION-NAME) and [`pg_stat_activity`](https://www.postgresql.org/docs/current/monitoring-stats.html#MONITORING-PG-STAT-ACTIVITY-VIEW)
# - Django: [Asynchronous support: queries and the ORM](https://docs.djangoproject.com/en/stable/topics/async/#queries-the-orm)

# %% [markdown] id=check-your-notebook
# ---
# **Check your notebook.** Save (Ctrl+S), then run this cell: it checks the saved file as `asyncdb-lab check` does, on a fresh database, and shows each exercise's points, a failing test's message with its first hint, and what to do next.

# %% id=check-this-notebook
from asyncdb_lab.learner.in_lab import check_this_notebook

check_this_notebook()
