# %% [markdown] id=intro
# # **09 · Errors and retries**
#
# Tell what went wrong from the SQLSTATE the server sent, answer with the right HTTP status, and retry only the failures that a second attempt can fix.
#
# **Learning goals**
# - Find the SQLSTATE and the constraint name inside the exceptions SQLAlchemy raises over asyncpg, and know why the message text is no way to tell errors apart.
# - Provoke each kind of error for real: unique, foreign key, NOT NULL and CHECK violations, a serialization failure, a deadlock, a statement timeout, an unreachable server, a killed connection.
# - Know which exception really arrives when the server cannot be reached (not `OperationalError`).
# - Retry serialization failures and deadlocks with tenacity: a fresh session per attempt, backoff with jitter, and only for work that is safe to run twice.
#
# **Prerequisites**: notebooks 02 (sessions, flush and commit), 04 (transactions, isolation levels, row locks) and 05 (savepoints).
#
# **Out of scope**: reconnecting pools and `pool_pre_ping` (06), wiring errors into FastAPI routes (11).

# %% [markdown] id=setup
# ## Setup
#
# Run the next cell first: it gives this notebook its own PostgreSQL database with the seed data and imports the course models.
# Many cells below break rules on purpose; every failed transaction is rolled back, and running the setup cell again gives a clean database anyway.

# %% readonly id=setup-database
from asyncdb_lab import disposable_database
from asyncdb_lab.models import Post, Product, User

db = await disposable_database(seed=True)
engine = db.engine
Session = db.session_factory

# %% [markdown] id=part-a-arrives-database-says
# ---
# ## Part A — What arrives when the database says no (0 points)
#
# When PostgreSQL refuses a statement it sends an error with a message for humans and a five-character **SQLSTATE** code for programs: `23505` is a unique violation, `23503` a foreign key violation, and so on.
# The error then travels through three layers, and each wraps the one before:
#
# 1. **asyncpg** raises its own exception, e.g. `asyncpg.exceptions.UniqueViolationError`, with `.sqlstate` and the server's details (`.constraint_name`, `.table_name`, `.column_name`, `.detail`).
# 2. **SQLAlchemy's asyncpg adapter** turns it into a DBAPI-style exception (asyncpg has no DBAPI of its own, so SQLAlchemy emulates one). It copies the code into `.sqlstate` and keeps asyncpg's exception as its `__cause__`.
# 3. **SQLAlchemy** raises one of its own classes, `sqlalchemy.exc.IntegrityError`, `DBAPIError`, `InterfaceError`…, with the adapter's exception in `.orig`.
#
# The next cell inserts a second user with an email that is already taken, and prints every layer.

# %% id=part-a-arrives-database-code
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

async with Session() as session:
    taken = await session.scalar(select(User.email).where(User.id == 1))
    session.add(User(email=taken, name="Second Lina"))
    try:
        await session.commit()
    except IntegrityError as error:
        caught = error

print("raised:               ", type(caught).__module__ + "." + type(caught).__name__)
print("caught.orig:          ", type(caught.orig).__module__ + "." + type(caught.orig).__qualname__)
print("caught.orig.sqlstate: ", caught.orig.sqlstate)
print("caught.orig.__cause__:", type(caught.orig.__cause__).__module__ + "." + type(caught.orig.__cause__).__name__)
print("constraint_name:      ", caught.orig.__cause__.constraint_name)

# %% [markdown] id=so-sqlstate-error-orig
# So the SQLSTATE is at `error.orig.sqlstate`, and the constraint name at `error.orig.__cause__.constraint_name` (asyncpg's own exception).
# Both paths work the same in SQLAlchemy 2.0 and 2.1; 2.1 also offers `error.orig.driver_exception` for the asyncpg exception.
#
# > **Common mistake: catching asyncpg's `UniqueViolationError`.**
# > Tutorials import `from asyncpg.exceptions import UniqueViolationError` and catch it around a commit.
# > That `except` never runs: SQLAlchemy raises `IntegrityError`, and even `error.orig` is not asyncpg's class but the adapter's own (in SQLAlchemy 2.1 a class of the same name, in 2.0 a generic `IntegrityError`).
# > The next cell shows which branch really runs.

# %% id=add-second-lina
import asyncpg


async def add_second_lina() -> None:
    async with Session() as session:
        session.add(User(email=taken, name="Second Lina"))
        await session.commit()


try:
    await add_second_lina()
except asyncpg.exceptions.UniqueViolationError:
    print("caught asyncpg's UniqueViolationError")  # never printed
except Exception as error:
    print(f"arrived instead: {type(error).__name__}: {str(error).splitlines()[0]}")
    print("isinstance(error.orig, asyncpg.exceptions.UniqueViolationError):",
          isinstance(error.orig, asyncpg.exceptions.UniqueViolationError))

# %% [markdown] id=fix-catch-sqlalchemy-class
# The fix is to catch SQLAlchemy's class and read the code.
# Two small helpers do the digging once: `error_chain` lists an exception and what it wraps (`.orig`, then each `__cause__`), and `sqlstate_of` / `constraint_of` return the first SQLSTATE and constraint name found along that chain.
# They work on SQLAlchemy's exception, on the adapter's and on asyncpg's own, so the same code handles errors from the ORM and from a raw `asyncpg.connect()`.
# You may use them in the exercises.

# %% id=error-chain
def error_chain(error: BaseException) -> list[BaseException]:
    """The error, then what it wraps: SQLAlchemy's `.orig`, then each `__cause__`."""
    chain: list[BaseException] = []
    while error is not None and not any(error is seen for seen in chain):
        chain.append(error)
        error = getattr(error, "orig", None) or error.__cause__
    return chain


def sqlstate_of(error: BaseException) -> str | None:
    """The SQLSTATE the server sent, wherever it sits in the chain; None for non-server errors."""
    for link in error_chain(error):
        code = getattr(link, "sqlstate", None)
        if isinstance(code, str):
            return code
    return None


def constraint_of(error: BaseException) -> str | None:
    """The name of the violated constraint, when the server named one."""
    for link in error_chain(error):
        name = getattr(link, "constraint_name", None)
        if isinstance(name, str):
            return name
    return None


for link in error_chain(caught):
    name = f"{type(link).__module__}.{type(link).__qualname__}"
    print(f"{name:<86} sqlstate={getattr(link, 'sqlstate', None)}")
print("sqlstate_of:", sqlstate_of(caught), "· constraint_of:", constraint_of(caught))

# %% [markdown] id=now-four-integrity-errors
# Now the four integrity errors, each provoked for real inside a transaction that is rolled back.
# They all arrive as `IntegrityError`: the class tells you *that* a rule was broken, the SQLSTATE tells you *which kind*, and the constraint name tells you *which rule*.

# %% id=error-from
async def error_from(sql: str) -> Exception:
    """Run one statement in a transaction that is rolled back, and return what it raised."""
    try:
        async with engine.begin() as conn:
            await conn.execute(text(sql))
    except Exception as error:
        return error
    raise RuntimeError(f"expected {sql!r} to fail")


broken_rules = {
    "unique": f"INSERT INTO users (email, name) VALUES ('{taken}', 'Again')",
    "foreign key": "INSERT INTO posts (author_id, title, content) VALUES (999999, 'Orphan', '…')",
    "not null": "INSERT INTO users (email, name) VALUES ('nameless@example.com', NULL)",
    "check": "UPDATE accounts SET balance = -1 WHERE id = 1",
}
for rule, sql in broken_rules.items():
    error = await error_from(sql)
    print(f"{rule:<12} {type(error).__name__:<15} sqlstate={sqlstate_of(error)}  constraint={constraint_of(error)}")

# %% [markdown] id=not-null-violation-names
# A NOT NULL violation names no constraint; asyncpg reports the column instead (`error.orig.__cause__.column_name`).
# The codes are listed in the PostgreSQL manual's appendix *PostgreSQL Error Codes*; the first two characters are the class (`23` integrity constraint violation, `40` transaction rollback, `57` operator intervention, `08` connection exception).
#
# > **Common mistake: telling errors apart by their message text.**
# > The tutorial decides "duplicate email" with `"unique constraint" in str(e).lower()`.
# > But `str(e)` is a message for humans: it changes with the server's `lc_messages` language, it changed between SQLAlchemy 2.0 and 2.1 (2.0 put `<class 'asyncpg.exceptions.UniqueViolationError'>` in it, 2.1 does not), and it contains the SQL and the *parameters*, that is, your users' data.
# > The next cell breaks a NOT NULL rule with a post titled "Unique constraints explained", and raises an error of the application's own (SQLSTATE `P0001`) whose text happens to mention a unique constraint.

# %% id=classify-by-text
def classify_by_text(error: BaseException) -> str:
    """The tutorial's way: look for words in the message (do not do this)."""
    return "duplicate" if "unique constraint" in str(error).lower() else "something else"


from sqlalchemy import insert

try:
    async with engine.begin() as conn:
        await conn.execute(insert(Post).values(author_id=None, title="Unique constraints explained", content="…"))
except IntegrityError as error:
    print(f"NOT NULL violation -> text says {classify_by_text(error)!r}, sqlstate says {sqlstate_of(error)}")

error = await error_from("DO $$ BEGIN RAISE EXCEPTION 'quota: one unique constraint per plan'; END $$")
print(f"application error  -> text says {classify_by_text(error)!r}, sqlstate says {sqlstate_of(error)}")

# %% [markdown] id=fix-helpers-above
# The fix is what the helpers above do: compare `sqlstate_of(error)` with `"23505"`, and when several unique constraints could fire, compare `constraint_of(error)` with the one you mean (`"users_email_key"`).
# Both are stable identifiers, chosen by PostgreSQL and by your schema.

# %% [markdown] id=part-b-errors-not-about
# ---
# ## Part B — Errors that are not about your data (0 points)
#
# Some failures say nothing about the row you sent: the server cancelled a slow statement, two transactions could not both be allowed to commit, the server could not be reached, or the connection died.
# Some of these are worth a retry, some deserve a 503, none deserves a 400.
# Each one below is provoked for real.
#
# **Statement timeout.** `statement_timeout` makes the server cancel any statement that runs longer.
# Every course database has 15 s as its default; `SET LOCAL` lowers it for the current transaction only, so the next cell gives one query 100 ms.

# %% id=part-b-errors-not-code
import time

started = time.perf_counter()
try:
    async with engine.begin() as conn:
        await conn.execute(text("SET LOCAL statement_timeout = '100ms'"))
        await conn.execute(text("SELECT pg_sleep(2)"))
except DBAPIError as error:
    elapsed = time.perf_counter() - started
    print(f"after {elapsed * 1000:.0f} ms: {type(error).__name__}, sqlstate {sqlstate_of(error)}: {str(error.orig)}")

# %% [markdown] id=note-class
# Note the class: a plain `DBAPIError`, not `OperationalError`.
# SQLAlchemy's asyncpg adapter maps integrity errors, syntax and access errors, interface errors and a few internal ones to DBAPI classes of their own, and every other server error to its base `Error`, which SQLAlchemy raises as `DBAPIError`: only the SQLSTATE tells a timeout (`57014`) from a serialization failure (`40001`) or a deadlock (`40P01`).
#
# **Serialization failure.** At the SERIALIZABLE isolation level PostgreSQL promises that concurrent transactions end as if they had run one after the other; when it cannot keep that promise it aborts one of them with `40001`.
# The classic case is *write skew*: users 1 and 2 share a budget rule "accounts 1 and 2 together keep at least 2,000.00".
# Two withdrawals run at once; each reads the total, finds enough money, and takes from a *different* account. Each is fine alone; together they break the rule.

# %% id=withdraw-if-budget-allows
from decimal import Decimal


async def withdraw_if_budget_allows(conn, account_id: int, amount: Decimal) -> None:
    """Withdraw when accounts 1 and 2 keep at least 2,000.00 together (a rule checked in Python)."""
    total = await conn.scalar(text("SELECT sum(balance) FROM accounts WHERE id IN (1, 2)"))
    if total - amount < Decimal("2000.00"):
        raise ValueError(f"budget rule: {total} - {amount} is below 2000.00")
    await conn.execute(text("UPDATE accounts SET balance = balance - :amount WHERE id = :id"),
                       {"amount": amount, "id": account_id})


async with engine.connect() as first, engine.connect() as second:
    for conn in (first, second):
        await conn.execution_options(isolation_level="SERIALIZABLE")
        await conn.begin()
    await withdraw_if_budget_allows(first, 1, Decimal("3000.00"))
    await withdraw_if_budget_allows(second, 2, Decimal("300.00"))
    await first.commit()
    print("first withdrawal committed")
    try:
        await second.commit()
    except DBAPIError as error:
        print(f"second withdrawal: {type(error).__name__}, sqlstate {sqlstate_of(error)}: {error.orig}")

async with engine.begin() as conn:  # put the money back, so that this cell can run again
    await conn.execute(text("UPDATE accounts SET balance = balance + 3000.00 WHERE id = 1"))

# %% [markdown] id=nothing-was-wrong-second
# Nothing was wrong with the second withdrawal's data: run again, it would read the new total and refuse cleanly.
# That is what makes `40001` *retryable*: a second attempt, in a new transaction, sees the world as it is now.
#
# **Deadlock.** Two transactions each lock a row the other one needs next.
# PostgreSQL notices after `deadlock_timeout` (1 s by default), aborts one of them with `40P01` and lets the other finish.
# The two tasks below update accounts 1 and 2 in opposite orders; the events make sure both hold their first lock before either asks for its second.

# %% id=move-one-cent
import asyncio


async def move_one_cent(first_id: int, second_id: int, holding: asyncio.Event, other_holding: asyncio.Event) -> str:
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE accounts SET balance = balance - 0.01 WHERE id = :id"), {"id": first_id})
        holding.set()
        await other_holding.wait()  # now each transaction holds one row and wants the other
        await conn.execute(text("UPDATE accounts SET balance = balance + 0.01 WHERE id = :id"), {"id": second_id})
    return "committed"


a_holds, b_holds = asyncio.Event(), asyncio.Event()
started = time.perf_counter()
outcomes = await asyncio.gather(move_one_cent(1, 2, a_holds, b_holds), move_one_cent(2, 1, b_holds, a_holds),
                                return_exceptions=True)
print(f"both finished after {time.perf_counter() - started:.2f} s")
for name, outcome in zip("AB", outcomes, strict=True):
    if isinstance(outcome, Exception):
        print(f"task {name}: {type(outcome).__name__}, sqlstate {sqlstate_of(outcome)}: {str(outcome.orig).splitlines()[0]}")
    else:
        print(f"task {name}: {outcome}")

# %% [markdown] id=deadlock-retryable-too
# A deadlock is retryable too: the victim's transaction was rolled back whole, and by the time it tries again the winner has finished.
# (Locking rows in a consistent order, notebook 04, makes this deadlock impossible; retrying is the safety net, not the design.)
#
# **Server unreachable.** Now an engine pointed at a port where nothing listens.
# `closed_port()` asks the operating system for a free port and releases it at once, so connecting there is refused.

# %% id=closed-port
import socket

from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine


def closed_port() -> int:
    """A TCP port on this machine where nothing listens (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


nowhere_url = f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/nowhere"
nowhere = create_async_engine(nowhere_url)
started = time.perf_counter()
try:
    async with nowhere.connect() as conn:
        await conn.execute(text("SELECT 1"))
except Exception as error:
    print(f"after {(time.perf_counter() - started) * 1000:.1f} ms: {type(error).__name__}: {error}")
    print("class hierarchy:", " -> ".join(k.__name__ for k in type(error).__mro__[:4]))
    print("an OperationalError?", isinstance(error, OperationalError), "· a DBAPIError?", isinstance(error, DBAPIError))

# %% [markdown] id=asyncpg-opens-socket-itself
# asyncpg opens the socket itself, and the operating system's `ConnectionRefusedError` (an `OSError`) comes out of SQLAlchemy unwrapped.
# Other addresses give other `OSError`s: `socket.gaierror` for a host name that does not resolve, `FileNotFoundError` for a Unix socket that is not there, `TimeoutError` when a connect timeout expires.
#
# Where does the habit of catching `OperationalError` come from? From sync drivers. psycopg (installed here for comparison) reports the same refused connection as its `OperationalError`, and SQLAlchemy wraps that as `sqlalchemy.exc.OperationalError`:

# %% id=asyncpg-opens-socket-itself-code
from sqlalchemy import create_engine

sync_nowhere = create_engine(nowhere_url.replace("+asyncpg", "+psycopg"))
try:
    with sync_nowhere.connect():
        pass
except Exception as error:
    print(f"psycopg: {type(error).__module__}.{type(error).__name__}")
sync_nowhere.dispose()

# %% [markdown] id=connection-killed-under
# **A connection killed under you.** The server can end a session at any time: a restart, a failover, an administrator's `pg_terminate_backend`, an idle timeout.
# The next cell borrows a pooled connection, has the server terminate it while it sits idle in the pool, then uses the pool again.

# %% id=connection-killed-under-code
victim_engine = create_async_engine(db.url, pool_size=1, max_overflow=0)
async with victim_engine.connect() as conn:
    victim_pid = await conn.scalar(text("SELECT pg_backend_pid()"))
async with engine.connect() as conn:  # the second argument waits up to 1 s for the backend to exit
    await conn.execute(text("SELECT pg_terminate_backend(:pid, 1000)"), {"pid": victim_pid})
await asyncio.sleep(0.05)  # let asyncpg notice that the socket was closed

try:
    async with victim_engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
except Exception as error:
    print(f"{type(error).__name__}: {str(error).splitlines()[0]}")
    print("sqlstate:", sqlstate_of(error), "· connection_invalidated:", getattr(error, "connection_invalidated", None))
await victim_engine.dispose()

# %% [markdown] id=interfaceerror-without-any-sqlstate
# An `InterfaceError` without any SQLSTATE (the server never got to say anything), and `connection_invalidated=True`: SQLAlchemy noticed that the connection is dead and threw it out of the pool.
# Had the connection been killed *during* a query, asyncpg would have raised `ConnectionDoesNotExistError` (SQLSTATE `08003`), wrapped in a `DBAPIError`, again with `connection_invalidated=True`.
# (`pool_pre_ping=True`, notebook 06, tests a connection before handing it out and avoids most of these.)
#
# | What happened | What SQLAlchemy raises (asyncpg) | SQLSTATE |
# |---|---|---|
# | unique / foreign key / NOT NULL / CHECK | `IntegrityError` | `23505` / `23503` / `23502` / `23514` |
# | serialization failure | `DBAPIError` | `40001` |
# | deadlock | `DBAPIError` | `40P01` |
# | statement timeout (or a cancel) | `DBAPIError` | `57014` |
# | server unreachable | `ConnectionRefusedError`, `socket.gaierror`, … (`OSError`, not wrapped) | none |
# | connection killed while idle | `InterfaceError`, `connection_invalidated=True` | none |
# | connection killed during a query | `DBAPIError`, `connection_invalidated=True` | `08003` |
#
# `sqlalchemy.exc.OperationalError` appears nowhere in this table: the asyncpg adapter maps no error to it.
#
# > **Common mistake: an `except OperationalError` branch for "database unavailable".**
# > The tutorial's create-user handler answers 400 when the message mentions a unique constraint, 503 on `OperationalError`, and 500 on anything else.
# > The next cell rebuilds that handler (returning a status instead of raising `HTTPException`) and points it at the unreachable server and at a killed connection.

# %% id=create-user-like-the-tutorial
async def create_user_like_the_tutorial(session_factory, email: str, name: str) -> tuple[int, str]:
    async with session_factory() as session:
        try:
            session.add(User(email=email, name=name))
            await session.commit()
            return 201, "created"
        except IntegrityError as error:
            await session.rollback()
            if "unique constraint" in str(error).lower():
                return 400, "Email already exists"
            return 400, "Database integrity error"
        except OperationalError:
            await session.rollback()
            return 503, "Database unavailable"
        except Exception:
            await session.rollback()
            return 500, "Internal server error"


print("server unreachable:", await create_user_like_the_tutorial(async_sessionmaker(nowhere), "new@example.com", "New"))

killed_engine = create_async_engine(db.url, pool_size=1, max_overflow=0)
async with killed_engine.connect() as conn:
    killed_pid = await conn.scalar(text("SELECT pg_backend_pid()"))
async with engine.connect() as conn:
    await conn.execute(text("SELECT pg_terminate_backend(:pid, 1000)"), {"pid": killed_pid})
await asyncio.sleep(0.05)
print("connection killed: ", await create_user_like_the_tutorial(async_sessionmaker(killed_engine), "new@example.com", "New"))
await killed_engine.dispose()
await nowhere.dispose()

# %% [markdown] id=503-branch-never-runs
# The 503 branch never runs: an unreachable database is reported as a 500 "Internal server error", which pages the on-call engineer for a bug that does not exist and tells clients not to retry.
# (Remove the last `except`, as many copies do, and the `ConnectionRefusedError` escapes the handler altogether.)
# The tutorial's retry decorator has the same blind spot: `retry_if_exception_type(OperationalError)` never retries anything with asyncpg.
# The fix is Part C: classify by SQLSTATE, and recognise connection failures by what really arrives.

# %% [markdown] id=part-c-classify-name-error
# ---
# ## Part C — `classify`: name the error (8 points)
#
# Write `classify(exc)`: it returns one of these strings.
#
# | returns | when |
# |---|---|
# | `"unique_violation"` | SQLSTATE `23505` |
# | `"foreign_key_violation"` | `23503` |
# | `"not_null_violation"` | `23502` |
# | `"check_violation"` | `23514` |
# | `"serialization_failure"` | `40001` |
# | `"deadlock"` | `40P01` |
# | `"statement_timeout"` | `57014` (`query_canceled`: a `statement_timeout`, or a cancel request); no other code of class `57` |
# | `"connection_error"` | the server could not be reached or the connection died: an `OSError` (refused, unknown host, missing socket, connect timeout), a SQLAlchemy error with `connection_invalidated`, or a SQLSTATE of class `08` or one of `57P01`, `57P02`, `57P03` (the server is shutting down or not accepting connections yet) |
# | `"other"` | anything else: other SQLSTATEs (the rest of class `57`, such as `57000`, and `lock_timeout`'s `55P03` included), and exceptions that are not about the database |
#
# It must accept every form the error can take: SQLAlchemy's exception, the adapter's `.orig`, asyncpg's own exception (from a raw `asyncpg.connect()`), OS errors, and an exception of your own code that wraps one of these (`raise SaveFailed(...) from error`): follow the chain, as `error_chain` does, and name the first SQLSTATE or connection failure found along it.
# Decide by SQLSTATE and by type, never by message text: the tests include errors whose message mentions a unique constraint but which are something else.
# `sqlstate_of` and `error_chain` from Part A are yours to use.

# %% solution id=classify
def classify(exc: BaseException) -> str:
    """Name the kind of database error `exc` is, from its SQLSTATE and type (see the table above)."""
    ### BEGIN SOLUTION
    from sqlalchemy.exc import DBAPIError

    by_sqlstate = {
        "23505": "unique_violation",
        "23503": "foreign_key_violation",
        "23502": "not_null_violation",
        "23514": "check_violation",
        "40001": "serialization_failure",
        "40P01": "deadlock",
        "57014": "statement_timeout",
    }
    code = sqlstate_of(exc)
    if code in by_sqlstate:
        return by_sqlstate[code]
    if code is not None and (code.startswith("08") or code in ("57P01", "57P02", "57P03")):
        return "connection_error"
    for link in error_chain(exc):
        if isinstance(link, OSError):
            return "connection_error"
        if isinstance(link, DBAPIError) and link.connection_invalidated:
            return "connection_error"
    return "other"
    ### END SOLUTION

# %% [markdown] id=tests-provoke-each-error
# The tests provoke each error for real against a database of their own.

# %% tests id=test_classify_integrity points=2
"""Check that classify names integrity errors by SQLSTATE, in every wrapping."""
import asyncpg
from asyncdb_lab.checks import expect
from sqlalchemy import text


async def failure_of(target_engine, *statements):
    """Run the statements in one transaction (rolled back) and return the exception raised."""
    try:
        async with target_engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    except Exception as error:
        return error
    raise AssertionError(f"the test expected {statements[-1]!r} to fail")


unique_error = await failure_of(engine, "INSERT INTO users (email, name) SELECT email, 'Copy' FROM users WHERE id = 2")
expect(classify(unique_error), "unique_violation", "classify(IntegrityError for a duplicate email)",
       "Read the SQLSTATE (23505) from error.orig.sqlstate.")
fk_error = await failure_of(engine, "INSERT INTO orders (user_id, status) VALUES (999999, 'pending')")
expect(classify(fk_error), "foreign_key_violation", "classify(IntegrityError for a missing user)",
       "A foreign key violation is an IntegrityError too: only its SQLSTATE (23503) tells it apart.")
### BEGIN HIDDEN TESTS
not_null_error = await failure_of(engine, "INSERT INTO products (sku, name, price, stock) VALUES ('SKU-NEW', NULL, 1, 1)")
check_error = await failure_of(engine, "UPDATE products SET stock = -5 WHERE id = 3")
cases = {"unique_violation": unique_error, "foreign_key_violation": fk_error,
         "not_null_violation": not_null_error, "check_violation": check_error}
for kind, error in cases.items():
    expect(classify(error), kind, f"classify(sqlalchemy {type(error).__name__}) for a {kind}",
           "All four integrity errors are IntegrityError: map 23505, 23503, 23502 and 23514 separately.")
    expect(classify(error.orig), kind, f"classify(error.orig) for a {kind}",
           "The adapter's exception (error.orig) carries .sqlstate itself.")
    expect(classify(error.orig.__cause__), kind, f"classify(asyncpg's own exception) for a {kind}",
           "asyncpg's exception has .sqlstate too: look on the exception itself before .orig.")
raw = await asyncpg.connect(db.dsn)
try:
    raw_cases = {
        "unique_violation": "INSERT INTO users (email, name) SELECT email, 'Copy' FROM users WHERE id = 3",
        "foreign_key_violation": "INSERT INTO posts (author_id, title, content) VALUES (0, 't', 'c')",
        "not_null_violation": "INSERT INTO users (email, name) VALUES (NULL, 'No Email')",
        "check_violation": "INSERT INTO order_items (order_id, product_id, quantity, unit_price) VALUES (1, 1, 0, 1)",
    }
    for kind, statement in raw_cases.items():
        try:
            async with raw.transaction():
                await raw.execute(statement)
        except asyncpg.PostgresError as error:
            expect(classify(error), kind, f"classify() of a raw asyncpg {type(error).__name__}",
                   "Errors from asyncpg.connect() are not wrapped: read .sqlstate on the exception itself.")
        else:
            raise AssertionError(f"the test expected {statement!r} to fail")
finally:
    await raw.close()


class SaveFailed(Exception):
    """An application's own exception, raised `from` the database error."""


for kind, error in cases.items():
    try:
        raise SaveFailed("could not save the record") from error
    except SaveFailed as wrapped:
        expect(classify(wrapped), kind, f"classify(SaveFailed(...) raised from the {kind})",
               "An exception of your own code that wraps the database error (raise ... from error) is named "
               "after what it wraps: follow __cause__ down the chain (error_chain does) until a SQLSTATE.")
### END HIDDEN TESTS

# %% tests id=test_classify_transient points=2
"""Check that classify recognises timeouts, serialization failures and deadlocks."""
from asyncdb_lab.checks import expect
from sqlalchemy import text

timeout_error = await failure_of(engine, "SET LOCAL statement_timeout = '50ms'", "SELECT pg_sleep(1)")
expect(classify(timeout_error), "statement_timeout", "classify() of a statement cancelled by statement_timeout",
       "The server cancels the statement with SQLSTATE 57014; SQLAlchemy raises a plain DBAPIError.")
### BEGIN HIDDEN TESTS
deadlock_error = await failure_of(
    engine, "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = 'deadlock_detected', MESSAGE = 'deadlock (test)'; END $$")
expect(classify(deadlock_error), "deadlock", "classify() of an error with SQLSTATE 40P01",
       "Deadlocks arrive as DBAPIError with sqlstate 40P01.")
expect(classify(deadlock_error.orig.__cause__), "deadlock", "classify() of asyncpg's DeadlockDetectedError", "")
expect(classify(timeout_error.orig), "statement_timeout", "classify(error.orig) for a statement timeout", "")
async with disposable_database(seed=True, label="check_classify", say=False) as check:
    first = await check.engine.connect()
    second = await check.engine.connect()
    try:
        for conn in (first, second):
            await conn.execution_options(isolation_level="SERIALIZABLE")
            await conn.begin()
        for conn, account in ((first, 1), (second, 2)):
            await conn.execute(text("SELECT sum(balance) FROM accounts WHERE id IN (1, 2)"))
            await conn.execute(text("UPDATE accounts SET balance = balance - 1 WHERE id = :id"), {"id": account})
        await first.commit()
        try:
            await second.commit()
        except Exception as error:
            serialization_error = error
        else:
            raise AssertionError("the test expected a serialization failure (write skew)")
    finally:
        await first.close()
        await second.close()
expect(classify(serialization_error), "serialization_failure",
       "classify() of a real serialization failure between two SERIALIZABLE transactions",
       "SQLSTATE 40001 arrives as a plain DBAPIError, not OperationalError.")
expect(classify(serialization_error.orig.__cause__), "serialization_failure",
       "classify() of asyncpg's SerializationError", "")


async def cancelled_by_admin():
    """A query cancelled by pg_cancel_backend from another connection, once the server runs it."""
    import asyncio
    import time as _time

    async with engine.connect() as victim, engine.connect() as admin:
        await admin.execution_options(isolation_level="AUTOCOMMIT")  # a fresh pg_stat_activity on each read
        pid = await victim.scalar(text("SELECT pg_backend_pid()"))

        async def cancel_once_sleeping():
            deadline = _time.monotonic() + 12
            while _time.monotonic() < deadline:
                waiting = await admin.scalar(text(
                    "SELECT wait_event FROM pg_stat_activity WHERE pid = :pid AND state = 'active'"), {"pid": pid})
                if waiting == "PgSleep":
                    await admin.execute(text("SELECT pg_cancel_backend(:pid)"), {"pid": pid})
                    return
                await asyncio.sleep(0.01)

        canceller = asyncio.create_task(cancel_once_sleeping())
        try:
            await victim.execute(text("SELECT pg_sleep(14)"))
        except Exception as error:
            return error
        finally:
            await canceller
    raise AssertionError("the test expected pg_cancel_backend to cancel the query")


cancel_error = await cancelled_by_admin()
expect(classify(cancel_error), "statement_timeout",
       "classify() of a query cancelled by pg_cancel_backend (SQLSTATE 57014, query_canceled)",
       "57014 is the code of every cancelled statement, by statement_timeout or by a cancel request.")
### END HIDDEN TESTS

# %% tests id=test_classify_connection points=2
"""Check that classify recognises an unreachable server and a dead connection."""
import asyncio
import socket

from asyncdb_lab.checks import expect
from sqlalchemy.ext.asyncio import create_async_engine

with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    free_port = probe.getsockname()[1]
refused_engine = create_async_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port}/nowhere")
try:
    async with refused_engine.connect():
        pass
except Exception as error:
    refused_error = error
finally:
    await refused_engine.dispose()
expect(classify(refused_error), "connection_error", f"classify({type(refused_error).__name__}) when the server is unreachable",
       "asyncpg raises the operating system's ConnectionRefusedError (an OSError) unwrapped, not OperationalError.")
### BEGIN HIDDEN TESTS
try:
    await asyncpg.connect(host="127.0.0.1", port=free_port, user="postgres", database="nowhere")
except Exception as error:
    expect(classify(error), "connection_error", f"classify() of a raw asyncpg.connect() failure ({type(error).__name__})", "")
for error in (socket.gaierror(-2, "Name or service not known"), FileNotFoundError(2, "No such file or directory"),
              OSError(113, "No route to host"), TimeoutError()):
    expect(classify(error), "connection_error", f"classify({type(error).__name__}({error}))",
           "Every OSError from connecting means the server could not be reached: check isinstance(exc, OSError).")


async def terminated_error(during_query: bool):
    victim = create_async_engine(db.url, pool_size=1, max_overflow=0)
    try:
        async with victim.connect() as conn:
            pid = await conn.scalar(text("SELECT pg_backend_pid()"))
            if during_query:
                async def terminate_soon():
                    await asyncio.sleep(0.2)
                    async with engine.connect() as admin:
                        await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                killer = asyncio.create_task(terminate_soon())
                try:
                    await conn.execute(text("SELECT pg_sleep(3)"))
                except Exception as error:
                    return error
                finally:
                    await killer
        async with engine.connect() as admin:
            await admin.execute(text("SELECT pg_terminate_backend(:pid, 2000)"), {"pid": pid})
        await asyncio.sleep(0.05)
        try:
            async with victim.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as error:
            return error
        raise AssertionError("the test expected the terminated connection to fail")
    finally:
        await victim.dispose()


idle_killed = await terminated_error(during_query=False)
expect(classify(idle_killed), "connection_error",
       f"classify({type(idle_killed).__name__}) after the server terminated the pooled connection",
       "A dead connection arrives as sqlalchemy.exc.InterfaceError with connection_invalidated=True and no SQLSTATE.")
query_killed = await terminated_error(during_query=True)
expect(classify(query_killed), "connection_error",
       f"classify({type(query_killed).__name__}) when the connection died during a query",
       "asyncpg's ConnectionDoesNotExistError has SQLSTATE 08003 (class 08: connection exception).")
expect(classify(query_killed.orig.__cause__), "connection_error",
       "classify() of asyncpg's ConnectionDoesNotExistError", "SQLSTATE class 08 is a connection exception.")
for condition, code in [("admin_shutdown", "57P01"), ("crash_shutdown", "57P02"), ("cannot_connect_now", "57P03")]:
    shutdown = await failure_of(
        engine, f"DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '{condition}', MESSAGE = 'statement timeout (test)'; END $$")
    expect(classify(shutdown), "connection_error", f"classify() of an error with SQLSTATE {code} ({condition})",
           "57P01, 57P02 and 57P03 mean the server is going away or not ready: connection_error. "
           "Only 57014 of class 57 is a statement timeout.")
try:
    raise RuntimeError("the user store is unavailable") from refused_error
except RuntimeError as wrapped:
    expect(classify(wrapped), "connection_error",
           "classify(RuntimeError(...) raised from the ConnectionRefusedError)",
           "Follow the chain (__cause__): the OSError it wraps makes it a connection_error.")
### END HIDDEN TESTS

# %% tests id=test_classify_not_by_text points=2
"""Check that classify decides by SQLSTATE and type, not by message text, and says "other" otherwise."""
from asyncdb_lab.checks import expect

expect(classify(ValueError("amount must be positive")), "other", "classify(ValueError(...))",
       "Anything that is not a database or connection error is 'other'.")
syntax_error = await failure_of(engine, "SELEC 1")
expect(classify(syntax_error), "other", "classify() of a syntax error (SQLSTATE 42601)",
       "Only the SQLSTATEs in the table get a name of their own.")
### BEGIN HIDDEN TESTS
from sqlalchemy import insert as _insert

try:
    async with engine.begin() as conn:
        await conn.execute(_insert(Post).values(author_id=None, title="Why the unique constraint matters",
                                                content="a deadlock, a timeout and a connection error walk into a bar"))
except Exception as error:
    decoy_not_null = error
expect(classify(decoy_not_null), "not_null_violation",
       "classify() of a NOT NULL violation whose parameters mention a unique constraint",
       "str(error) contains the statement's parameters, your users' data: never match on the message text.")
decoy_raise = await failure_of(engine, "DO $$ BEGIN RAISE EXCEPTION 'duplicate key value violates unique constraint \"users_email_key\"'; END $$")
expect(classify(decoy_raise), "other", "classify() of an application error (SQLSTATE P0001) that quotes a unique violation",
       "The SQLSTATE (P0001, raise_exception) decides, not the words in the message.")
expect(classify(RuntimeError('duplicate key value violates unique constraint "users_email_key"')), "other",
       "classify(RuntimeError) whose message quotes a unique violation", "A RuntimeError carries no SQLSTATE.")
bad_input = await failure_of(engine, "SELECT 'not a number'::int")
expect(classify(bad_input), "other", "classify() of invalid input (SQLSTATE 22P02)", "")
expect(classify(KeyError("deadlock")), "other", "classify(KeyError('deadlock'))", "")
lock_wait = await failure_of(
    engine, "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = 'lock_not_available', MESSAGE = 'statement timeout, deadlock, unique constraint'; END $$")
expect(classify(lock_wait), "other", "classify() of a lock_timeout error (SQLSTATE 55P03)",
       "55P03 is not in the table; and the message text must not decide.")
intervention = await failure_of(
    engine, "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = 'operator_intervention', MESSAGE = 'statement timeout'; END $$")
expect(classify(intervention), "other", "classify() of an error with SQLSTATE 57000 (operator_intervention)",
       "Only 57014 is a statement timeout, and only 57P01 to 57P03 of class 57 are connection errors.")
async with engine.connect() as holder:
    await holder.execute(text("SELECT id FROM accounts WHERE id = 5 FOR UPDATE"))
    real_lock_timeout = await failure_of(engine, "SET LOCAL lock_timeout = '100ms'",
                                         "UPDATE accounts SET balance = balance WHERE id = 5")
    await holder.rollback()
expect(classify(real_lock_timeout), "other",
       "classify() of a real lock timeout (an UPDATE waiting for a row another transaction holds)",
       "lock_timeout gives SQLSTATE 55P03 (lock_not_available): not in the table, so 'other'; "
       "a statement timeout is 57014 only.")
### END HIDDEN TESTS

# %% [markdown] id=part-d-create-user-api
# ---
# ## Part D — `create_user_api`: the right status for each failure (8 points)
#
# An API that creates users should answer:
#
# - **201 Created** with the new user;
# - **409 Conflict** when the email is already registered: the request was fine, but it conflicts with the current state (the tutorial's 400 says "your request is malformed", which it is not);
# - **422 Unprocessable Content** when the row breaks another rule of the table (NOT NULL, CHECK, foreign key): the client sent data the server cannot accept;
# - **503 Service Unavailable** when the database cannot be reached: nothing is wrong with the request, and the client may try again later;
# - **500** for anything else: a bug on our side.
#
# Write `create_user_api(session_factory, email, name)`. It uses its own session, returns `(status, body)`, and never raises.
# The bodies are part of the contract (the tests compare them exactly):
#
# | status | body |
# |---|---|
# | 201 | `{"id": <int>, "email": <str>, "name": <str>}` as stored |
# | 409 | `{"error": "unique_violation", "constraint": <name>}`, the unique constraint or index the server named (`"users_email_key"` for a taken email) |
# | 422 | `{"error": <"not_null_violation", "check_violation" or "foreign_key_violation">, "constraint": <name or None>}` |
# | 503 | `{"error": "connection_error"}` |
# | 500 | `{"error": "other"}` |
#
# Store `email` and `name` exactly as given: no trimming, no lower-casing (normalising input is the caller's job; the 201 body shows what was stored).
# Decide from the SQLSTATE and the constraint the server named: the `users` table may gain other constraints (another unique index, a foreign key) and each must get the status and body of its kind.
# Do not check first whether the email exists: two requests can both find it free (notebook 02). Insert, and let the unique constraint decide.
# `session_factory` may be any `async_sessionmaker`, also one with the default `expire_on_commit=True`: read what you return before committing, or use `RETURNING`.
# You may call your `classify`.

# %% solution id=create_user_api
async def create_user_api(session_factory, email: str, name: str) -> tuple[int, dict]:
    """Insert a user; return (201 | 409 | 422 | 503 | 500, body) as in the table above; never raise."""
    ### BEGIN SOLUTION
    from sqlalchemy.exc import DBAPIError

    try:
        async with session_factory() as session:
            user = User(email=email, name=name)
            session.add(user)
            await session.flush()
            body = {"id": user.id, "email": user.email, "name": user.name}
            await session.commit()
            return 201, body
    except Exception as error:
        code = sqlstate_of(error)
        constraint = constraint_of(error)
        if code == "23505":
            return 409, {"error": "unique_violation", "constraint": constraint}
        rules = {"23502": "not_null_violation", "23514": "check_violation", "23503": "foreign_key_violation"}
        if code in rules:
            return 422, {"error": rules[code], "constraint": constraint}
        unreachable = (code or "").startswith("08") or code in ("57P01", "57P02", "57P03") or any(
            isinstance(link, OSError) or (isinstance(link, DBAPIError) and link.connection_invalidated)
            for link in error_chain(error)
        )
        if unreachable:
            return 503, {"error": "connection_error"}
        return 500, {"error": "other"}
    ### END SOLUTION

# %% tests id=test_create_user_api_created points=2
"""Check that create_user_api answers 201 with the stored user, and 409 for a taken email."""
from asyncdb_lab.checks import expect, expect_type
from sqlalchemy import text

async with disposable_database(seed=True, label="check_create_user", say=False) as check:
    status, body = await create_user_api(check.session_factory, "new.learner@example.com", "New Learner")
    expect(status, 201, "status for a new email", "Commit the new user and return 201.")
    expect_type(body, dict, "the 201 body")
    expect_type(body.get("id"), int, "body['id']", "Return the id the database gave the new row.")
    async with check.engine.connect() as conn:
        stored = (await conn.execute(text("SELECT id, email, name FROM users WHERE email = 'new.learner@example.com'"))).one()
    expect(body, {"id": stored.id, "email": "new.learner@example.com", "name": "New Learner"}, "the 201 body",
           "Return the row as stored: id, email and name.")
    status, body = await create_user_api(check.session_factory, "lina.garcia1@example.com", "Another Lina")
    expect(status, 409, "status for an email that is already registered",
           "A duplicate email is a conflict with the current state: 409, decided by SQLSTATE 23505.")
    ### BEGIN HIDDEN TESTS
    expect(body, {"error": "unique_violation", "constraint": "users_email_key"}, "the 409 body",
           "Name the constraint the server reported (error.orig.__cause__.constraint_name).")
    from asyncdb_lab import pool_snapshot
    from sqlalchemy.ext.asyncio import async_sessionmaker

    expiring = async_sessionmaker(check.engine)  # expire_on_commit=True, the default
    status, body = await create_user_api(expiring, "expiring@example.com", "Expiring Defaults")
    expect(status, 201, "status with a session factory that expires objects on commit",
           "After commit, reading user.id would need a lazy load (MissingGreenlet): read the values before committing.")
    expect_type(body.get("id"), int, "body['id'] with expire_on_commit=True")
    async with check.engine.connect() as conn:
        users = await conn.scalar(text("SELECT count(*) FROM users"))
        lina_rows = await conn.scalar(text("SELECT count(*) FROM users WHERE email = 'lina.garcia1@example.com'"))
    expect(users, 1002, "users in the database after two creations and one duplicate", "")
    expect(lina_rows, 1, "rows with the duplicate email", "")
    expect(pool_snapshot(check.engine).checked_out, 0, "connections still checked out after create_user_api",
           "Use `async with session_factory() as session:` so the connection goes back to the pool.")
    as_given = "  Mixed.Case@Example.COM "
    status, body = await create_user_api(check.session_factory, as_given, " Padded Name ")
    async with check.engine.connect() as conn:
        stored = (await conn.execute(text("SELECT id, email, name FROM users WHERE email = :email"),
                                     {"email": as_given})).one_or_none()
    expect((status, body.get("email"), body.get("name")), (201, as_given, " Padded Name "),
           f"(status, email, name) answered for create_user_api(factory, {as_given!r}, ' Padded Name ')",
           "Store email and name exactly as given (no strip(), no lower()), and return them as stored.")
    assert stored is not None, (
        f"no row has the email {as_given!r} exactly as given: store the email as the caller sent it.")
    expect(body, {"id": stored.id, "email": as_given, "name": " Padded Name "}, "the 201 body", "")
    ### END HIDDEN TESTS

# %% tests id=test_create_user_api_constraint points=2
"""Check that create_user_api answers 422 when a row breaks a NOT NULL or CHECK rule."""
from asyncdb_lab.checks import expect

async with disposable_database(seed=True, label="check_create_user", say=False) as check:
    status, body = await create_user_api(check.session_factory, "nameless@example.com", None)
    expect(status, 422, "status for a user without a name (NOT NULL)",
           "A NOT NULL violation (23502) is the client's data breaking a rule: 422.")
    ### BEGIN HIDDEN TESTS
    expect(body.get("error"), "not_null_violation", "body['error'] for a missing name", "")
    async with check.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE users ADD CONSTRAINT users_email_check CHECK (email LIKE '%_@_%')"))
    status, body = await create_user_api(check.session_factory, "no-at-sign", "Unique Constraint Fan")
    expect((status, body), (422, {"error": "check_violation", "constraint": "users_email_check"}),
           "the answer for an email that breaks a CHECK constraint",
           "23514 is a CHECK violation: 422 with the constraint's name. Decide by SQLSTATE, not by the words in the message.")
    async with check.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE teams (name text PRIMARY KEY)"))
        await conn.execute(text("INSERT INTO teams VALUES ('Known Team')"))
        await conn.execute(text(
            "ALTER TABLE users ADD CONSTRAINT users_name_fkey FOREIGN KEY (name) REFERENCES teams (name) NOT VALID"))
        await conn.execute(text("CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email))"))
    answer = await asyncio.wait_for(create_user_api(check.session_factory, "fk@example.com", "No Such Team"), 10)
    expect(answer, (422, {"error": "foreign_key_violation", "constraint": "users_name_fkey"}),
           "the answer for a user whose name breaks a foreign key the test added",
           "23503 (foreign key) is the client's data breaking a rule: 422 with the constraint's name, never 409 or 503.")
    answer = await asyncio.wait_for(create_user_api(check.session_factory, "LINA.GARCIA1@example.com", "Known Team"), 10)
    expect(answer, (409, {"error": "unique_violation", "constraint": "users_email_lower_key"}),
           "the answer for 'LINA.GARCIA1@example.com' once a unique index on lower(email) exists",
           "Every unique violation (23505) is a 409, with the name the server reported: do not assume users_email_key.")
    async with check.engine.connect() as conn:
        expect(await conn.scalar(text("SELECT count(*) FROM users")), 1000, "users after four rejected rows", "")
async with disposable_database(label="check_create_user", say=False) as empty:
    status, body = await asyncio.wait_for(create_user_api(empty.session_factory, "a@example.com", "A"), 10)
    expect((status, body), (500, {"error": "other"}), "the answer when the users table does not exist",
           "A missing table (SQLSTATE 42P01) is a bug on our side, not an unavailable database: 500.")
### END HIDDEN TESTS

# %% tests id=test_create_user_api_unreachable points=2
"""Check that create_user_api answers 503 quickly when the database cannot be reached."""
import asyncio
import socket
import time

from asyncdb_lab.checks import expect
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    free_port = probe.getsockname()[1]
unreachable_engine = create_async_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port}/nowhere")
started = time.perf_counter()
try:
    answer = await asyncio.wait_for(
        create_user_api(async_sessionmaker(unreachable_engine), "someone@example.com", "Someone"), 10)
except Exception as error:
    raise AssertionError(
        f"create_user_api raised {type(error).__name__} when the server was unreachable. It must never raise: "
        "asyncpg raises ConnectionRefusedError (an OSError), not OperationalError.") from error
finally:
    await unreachable_engine.dispose()
elapsed = time.perf_counter() - started
expect(answer[0], 503, "status when the server is unreachable", "Answer 503 for connection errors.")
assert elapsed < 3, f"create_user_api took {elapsed:.1f} s to report an unreachable server; it should not wait or retry."
### BEGIN HIDDEN TESTS
expect(answer, (503, {"error": "connection_error"}), "the answer when the server is unreachable", "")
no_socket = create_async_engine("postgresql+asyncpg://postgres@/nowhere?host=/nonexistent-folder-for-the-test")
try:
    answer = await asyncio.wait_for(create_user_api(async_sessionmaker(no_socket), "s@example.com", "S"), 10)
finally:
    await no_socket.dispose()
expect(answer, (503, {"error": "connection_error"}), "the answer when the server's Unix socket does not exist",
       "FileNotFoundError is an OSError too.")
async with disposable_database(seed=True, label="check_create_user", say=False) as check:
    doomed = create_async_engine(check.url, pool_size=1, max_overflow=0)
    try:
        async with doomed.connect() as conn:
            doomed_pid = await conn.scalar(text("SELECT pg_backend_pid()"))
        async with check.engine.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid, 2000)"), {"pid": doomed_pid})
        await asyncio.sleep(0.05)
        answer = await asyncio.wait_for(
            create_user_api(async_sessionmaker(doomed), "killed@example.com", "Killed"), 10)
    finally:
        await doomed.dispose()
expect(answer, (503, {"error": "connection_error"}), "the answer when the pooled connection was killed by the server",
       "A dead connection arrives as InterfaceError with connection_invalidated=True: 503.")
### END HIDDEN TESTS

# %% tests id=test_create_user_api_concurrent points=2
"""Check that concurrent requests for one email give one 201 and 409 for the rest."""
### BEGIN HIDDEN TESTS
import asyncio

from asyncdb_lab.checks import expect
from sqlalchemy import text

async with disposable_database(seed=True, label="check_create_user", say=False) as check:
    async with check.engine.begin() as conn:  # widen the race: every insert takes 200 ms
        await conn.execute(text(
            "CREATE FUNCTION slow_insert() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_sleep(0.2); RETURN NEW; END $$"))
        await conn.execute(text(
            "CREATE TRIGGER slow_insert BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION slow_insert()"))
    answers = await asyncio.wait_for(asyncio.gather(
        *(create_user_api(check.session_factory, "race@example.com", f"Racer {n}") for n in range(10)),
        return_exceptions=True), 20)
    raised = [a for a in answers if isinstance(a, BaseException)]
    assert not raised, (f"create_user_api raised {type(raised[0]).__name__} under concurrency. "
                        "Two requests can both find the email free: catch the IntegrityError the insert raises.")
    statuses = sorted(status for status, _ in answers)
    expect(statuses, [201] + [409] * 9, "statuses of 10 concurrent requests for one email",
           "One insert wins; the others hit the unique constraint (23505) and must answer 409, never 422 or 500.")
    async with check.engine.connect() as conn:
        expect(await conn.scalar(text("SELECT count(*) FROM users WHERE email = 'race@example.com'")), 1,
               "rows for the raced email", "")
### END HIDDEN TESTS

# %% [markdown] id=part-e-retrying-worth-retrying
# ---
# ## Part E — Retrying what is worth retrying (7 points)
#
# A retry helps only when the second attempt can succeed *because time has passed*:
#
# - **Retry** serialization failures (`40001`) and deadlocks (`40P01`): the database rolled the transaction back precisely so that it can run again against the new state.
# - **Do not retry** integrity errors (the same row breaks the same rule every time), syntax errors, or your own `ValueError`s.
# - **Connection errors** are a judgement call: reconnecting is fine before a statement was sent, but after a commit was sent and the connection died you do not know whether it committed. This notebook leaves them to the caller.
#
# Two more rules make a retry safe:
#
# - **A fresh session (and transaction) for every attempt.** After a failure the old session is unusable until rolled back, and its objects hold state from the failed attempt.
# - **Only idempotent work.** The database part is rolled back each time, but anything else the work does (send an email, call a payment API, append to a Python list) happens once per attempt.
#
# > **Common mistake: retrying with the same session.**
# > The tutorial wraps `create_user_with_retry(session, user_data)` in `@retry`: every attempt receives the same session.
# > Once a flush has failed, that session refuses all work with `PendingRollbackError` until someone calls `rollback()`, so the retries fail without even reaching the database.
# > In the next cell the first attempt hits a duplicate email; the second attempt, with a perfectly good email, fails anyway.

# %% id=add-user
async def add_user(session, email: str, name: str) -> None:
    session.add(User(email=email, name=name))
    await session.commit()


async with Session() as session:
    for attempt, email in enumerate([taken, "second.try@example.com"], start=1):
        try:
            await add_user(session, email, "Retry Demo")
            print(f"attempt {attempt}: committed")
        except Exception as error:
            print(f"attempt {attempt}: {type(error).__name__}: {str(error).splitlines()[0][:110]}")

# %% [markdown] id=fix-open-session-inside
# The fix: open the session *inside* the retry loop, so each attempt starts clean.

# %% id=fix-open-session-inside-code
for attempt, email in enumerate([taken, "second.try@example.com"], start=1):
    try:
        async with Session() as session:
            await add_user(session, email, "Retry Demo")
        print(f"attempt {attempt}: committed")
    except Exception as error:
        print(f"attempt {attempt}: {type(error).__name__}: {str(error).splitlines()[0][:110]}")

async with engine.begin() as conn:  # remove the demo user, so that this cell can run again
    await conn.execute(text("DELETE FROM users WHERE email = 'second.try@example.com'"))

# %% [markdown] id=tenacity
# **tenacity** writes the loop for you.
# `AsyncRetrying` is an async iterator of attempts; the body of `with attempt:` is one try, and tenacity decides from the exception whether to go round again:
#
# - `retry=retry_if_exception(predicate)` retries only the exceptions your predicate accepts;
# - `stop=stop_after_attempt(n)` gives up after n tries;
# - `wait=wait_random_exponential(multiplier=…, max=…)` sleeps a random time up to an exponentially growing cap ("full jitter"), so two transactions that collided do not retry in lockstep and collide again;
# - `reraise=True` re-raises the last real exception when attempts run out; without it tenacity raises its own `RetryError`, which hides the SQLSTATE from the code above you.
#
# The demonstration below retries a flaky Python function (no database involved) and counts how often its side effect ran.

# %% id=flaky
from tenacity import AsyncRetrying, RetryError, retry_if_exception, stop_after_attempt, wait_random_exponential


class Flaky(Exception):
    """Stands in for a transient failure."""


emails_sent: list[str] = []


async def sign_up_and_send_welcome_email() -> str:
    emails_sent.append("welcome")  # a side effect: it happens on every attempt
    if len(emails_sent) < 3:
        raise Flaky(f"transient failure #{len(emails_sent)}")
    return "signed up"


started = time.perf_counter()
async for attempt in AsyncRetrying(retry=retry_if_exception(lambda e: isinstance(e, Flaky)),
                                   stop=stop_after_attempt(5),
                                   wait=wait_random_exponential(multiplier=0.01, max=0.1),
                                   reraise=True):
    with attempt:
        outcome = await sign_up_and_send_welcome_email()
print(f"{outcome!r} after {attempt.retry_state.attempt_number} attempts, {time.perf_counter() - started:.3f} s;"
      f" welcome emails sent: {len(emails_sent)}")

# %% [markdown] id=three-welcome-emails-sign
# Three welcome emails for one sign-up: that work was not idempotent.
# Keep side effects out of the retried block (send the email after the transaction committed), or make them idempotent (an outbox row written in the same transaction, sent once later).
#
# And what `reraise` changes when attempts run out:

# %% id=always-flaky
async def always_flaky() -> None:
    raise Flaky("still failing")


for reraise in (False, True):
    try:
        async for attempt in AsyncRetrying(retry=retry_if_exception(lambda e: isinstance(e, Flaky)),
                                           stop=stop_after_attempt(2), reraise=reraise):
            with attempt:
                await always_flaky()
    except (Flaky, RetryError) as error:
        print(f"reraise={reraise}: {type(error).__name__}: {error}")

# %% [markdown] id=exercise-run-serializable
# ### Exercise: `run_serializable`
#
# Write `run_serializable(session_factory, work, *, attempts=5)`:
#
# - each attempt opens a **new session** from `session_factory`, runs `result = await work(session)` in a transaction at isolation level **SERIALIZABLE**, commits, and returns `result`;
# - it retries **serialization failures (`40001`) and deadlocks (`40P01`)** only, up to `attempts` attempts in all, and waits before each retry: a short randomized exponential backoff with `asyncio.sleep` or tenacity's `wait=` (never a retry at once; the tests must finish in seconds: keep each wait under about 0.2 s);
# - any other exception propagates at once, unchanged, after that single attempt: statement timeouts (`57014`), lock timeouts (`55P03`) and lost connections included;
# - when the attempts run out it **re-raises the last serialization failure or deadlock itself** (the very exception object, not tenacity's `RetryError` nor an exception of your own), so callers can still read its SQLSTATE;
# - every session it opens is closed when its attempt ends, failed attempts included (`async with`).
#
# `work` must not commit; `run_serializable` owns the transaction.
# Set the isolation level when the session gets its connection, before `work` runs any statement: `await session.connection(execution_options={"isolation_level": "SERIALIZABLE"})`.
# A SERIALIZABLE transaction can fail at `commit()` as well, so the commit belongs inside the retried block.

# %% solution id=run_serializable
async def run_serializable(session_factory, work, *, attempts: int = 5):
    """Run `await work(session)` in a SERIALIZABLE transaction, retrying 40001/40P01 with a new session."""
    ### BEGIN SOLUTION
    from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

    def transient(error: BaseException) -> bool:
        return sqlstate_of(error) in ("40001", "40P01")

    async for attempt in AsyncRetrying(
        retry=retry_if_exception(transient),
        stop=stop_after_attempt(attempts),
        wait=wait_random_exponential(multiplier=0.01, max=0.2),
        reraise=True,
    ):
        with attempt:
            async with session_factory() as session:
                await session.connection(execution_options={"isolation_level": "SERIALIZABLE"})
                result = await work(session)
                await session.commit()
    return result
    ### END SOLUTION

# %% tests id=test_run_serializable_basic points=2
"""Check that run_serializable runs the work at SERIALIZABLE, commits it and returns its result."""
import asyncio
from decimal import Decimal

from asyncdb_lab.checks import expect
from sqlalchemy import text

async with disposable_database(seed=True, label="check_serializable", say=False) as check:
    seen_levels = []

    async def add_ten_to_account_one(session):
        seen_levels.append(await session.scalar(text("SHOW transaction_isolation")))
        await session.execute(text("UPDATE accounts SET balance = balance + 10 WHERE id = 1"))
        return "done"

    result = await asyncio.wait_for(run_serializable(check.session_factory, add_ten_to_account_one), 10)
    expect(result, "done", "the value run_serializable returned", "Return what `await work(session)` returned.")
    expect(seen_levels, ["serializable"], "transaction_isolation seen inside work",
           "Set isolation_level='SERIALIZABLE' before work runs its first statement.")
    async with check.engine.connect() as conn:
        balance = await conn.scalar(text("SELECT balance FROM accounts WHERE id = 1"))
    expect(balance, Decimal("4714.20"), "account 1's balance after run_serializable", "Commit the work's transaction.")
    ### BEGIN HIDDEN TESTS
    from asyncdb_lab import pool_snapshot
    from sqlalchemy.ext.asyncio import AsyncSession

    kinds = []

    async def note_session_type(session):
        kinds.append(isinstance(session, AsyncSession))
        return 7

    expect(await asyncio.wait_for(run_serializable(check.session_factory, note_session_type), 10), 7,
           "the value returned for a second call", "")
    expect(kinds, [True], "work received an AsyncSession", "Pass the session itself to work.")
    expect(pool_snapshot(check.engine).checked_out, 0, "connections checked out after run_serializable",
           "Open each session with `async with`, so its connection goes back to the pool.")
    ### END HIDDEN TESTS

# %% tests id=test_run_serializable_retries points=3
"""Check that run_serializable retries serialization failures with a new session per attempt."""
import asyncio
from decimal import Decimal

from asyncdb_lab.checks import expect
from sqlalchemy import text

RAISE_40001 = "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = 'serialization_failure', MESSAGE = 'conflict (test)'; END $$"
calls = []


async def fails_twice(session):
    calls.append(session)
    if len(calls) <= 2:
        await session.execute(text(RAISE_40001))
    return "third time lucky"


result = await asyncio.wait_for(run_serializable(Session, fails_twice), 10)
expect(result, "third time lucky", "the result after two serialization failures",
       "Retry errors whose SQLSTATE is 40001, and return the result of the attempt that succeeded.")
expect(len(calls), 3, "attempts made (two failures, then success)", "")
### BEGIN HIDDEN TESTS
from sqlalchemy.ext.asyncio import async_sessionmaker

from asyncdb_lab import pool_snapshot


class CountingFactory(async_sessionmaker):
    made = 0

    def __call__(self, **kw):
        CountingFactory.made += 1
        return super().__call__(**kw)


async with disposable_database(seed=True, label="check_serializable", say=False) as check:
    factory = CountingFactory(check.engine, expire_on_commit=False)
    sessions, levels, checked_out = [], [], []

    async def insert_then_fail_twice(session):
        sessions.append(session)
        levels.append(await session.scalar(text("SHOW transaction_isolation")))
        checked_out.append(pool_snapshot(check.engine).checked_out)
        await session.execute(text("INSERT INTO users (email, name) VALUES ('retry@example.com', 'Retry')"))
        if len(sessions) == 1:
            await session.execute(text(RAISE_40001))
        if len(sessions) == 2:
            await session.execute(text(RAISE_40001.replace("serialization_failure", "deadlock_detected")))
        return len(sessions)

    expect(await asyncio.wait_for(run_serializable(factory, insert_then_fail_twice), 10), 3,
           "the result after a serialization failure and a deadlock", "Retry 40P01 (deadlock) as well as 40001.")
    expect(CountingFactory.made, 3, "sessions made by session_factory for 3 attempts",
           "Open a new session for every attempt: after a failure the old one needs a rollback and holds stale state.")
    expect(len({id(s) for s in sessions}), 3, "distinct sessions passed to work", "")
    expect(levels, ["serializable"] * 3, "transaction_isolation on each attempt",
           "Every attempt's transaction must be SERIALIZABLE, retries included.")
    expect(checked_out, [1, 1, 1], "connections checked out of the pool while each attempt ran",
           "Close each failed attempt's session (open it with `async with`) before the next attempt: "
           "otherwise every failure keeps a connection until the garbage collector finds it.")
    async with check.engine.connect() as conn:
        expect(await conn.scalar(text("SELECT count(*) FROM users WHERE email = 'retry@example.com'")), 1,
               "rows inserted by work after two failed attempts", "Failed attempts must be rolled back entirely.")

    # A real conflict: another transaction changes the row after this one read it.
    reads = []

    async def add_ten_after_reading(session):
        balance = await session.scalar(text("SELECT balance FROM accounts WHERE id = 2"))
        reads.append(balance)
        if len(reads) == 1:
            async with check.engine.begin() as other:
                await other.execute(text("UPDATE accounts SET balance = balance + 1 WHERE id = 2"))
        await session.execute(text("UPDATE accounts SET balance = :b WHERE id = 2"), {"b": balance + 10})

    await asyncio.wait_for(run_serializable(factory, add_ten_after_reading), 10)
    async with check.engine.connect() as conn:
        final = await conn.scalar(text("SELECT balance FROM accounts WHERE id = 2"))
    expect(final, Decimal("387.66"), "account 2 after a concurrent +1 and this work's +10",
           "At SERIALIZABLE the first attempt fails with 40001 instead of overwriting the concurrent update; "
           "the retry reads the new balance.")
    expect(len(reads), 2, "attempts of the conflicting work", "")

    # Write skew: the serialization failure comes from the COMMIT, after work has returned.
    skew_calls = []

    async def take_from_account_3_if_budget_allows(session):
        skew_calls.append(1)
        total = await session.scalar(text("SELECT sum(balance) FROM accounts WHERE id IN (3, 4)"))
        await session.execute(text("UPDATE accounts SET balance = balance - 1 WHERE id = 3"))
        if len(skew_calls) == 1:  # meanwhile another SERIALIZABLE transaction does the same on account 4
            async with check.engine.connect() as other:
                await other.execution_options(isolation_level="SERIALIZABLE")
                await other.begin()
                await other.execute(text("SELECT sum(balance) FROM accounts WHERE id IN (3, 4)"))
                await other.execute(text("UPDATE accounts SET balance = balance - 1 WHERE id = 4"))
                await other.commit()
        return total

    async with check.engine.connect() as conn:
        before = await conn.scalar(text("SELECT sum(balance) FROM accounts WHERE id IN (3, 4)"))
    try:
        total_seen = await asyncio.wait_for(run_serializable(factory, take_from_account_3_if_budget_allows), 10)
    except Exception as error:
        raise AssertionError(
            f"run_serializable raised {type(error).__name__} (SQLSTATE {getattr(getattr(error, 'orig', None), 'sqlstate', None)}) "
            "when the first attempt's COMMIT failed with a serialization failure: a SERIALIZABLE transaction can "
            "fail at commit, so the commit belongs inside the retried block.") from None
    expect(len(skew_calls), 2, "attempts when the first attempt's commit failed with 40001",
           "Commit inside the retried block: a failed commit is retried like a failed statement.")
    expect(total_seen, before - 1, "the total the successful attempt read",
           "The retry runs in a new transaction and sees the other transaction's committed change.")
    async with check.engine.connect() as conn:
        expect(await conn.scalar(text("SELECT sum(balance) FROM accounts WHERE id IN (3, 4)")), before - 2,
               "accounts 3 and 4 after the conflicting transaction and the retried work", "")
    expect(pool_snapshot(check.engine).checked_out, 0, "connections checked out after attempts that failed",
           "Open each attempt's session with `async with`, so that a failed attempt gives its connection back too.")
### END HIDDEN TESTS

# %% tests id=test_run_serializable_gives_up points=2
"""Check that run_serializable does not retry other errors, and re-raises when attempts run out."""
import asyncio
import time

from asyncdb_lab.checks import expect
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

value_error_calls = []


async def invalid_amount(session):
    value_error_calls.append(1)
    raise ValueError("amount must be positive")


try:
    await asyncio.wait_for(run_serializable(Session, invalid_amount), 10)
except ValueError:
    pass
else:
    raise AssertionError("run_serializable swallowed the ValueError raised by work: let it propagate.")
expect(len(value_error_calls), 1, "attempts for a work that raised ValueError",
       "Retry only serialization failures and deadlocks: a ValueError would fail the same way every time.")
### BEGIN HIDDEN TESTS
from asyncdb_lab import disposable_database, pool_snapshot

duplicate_calls = []


async def insert_duplicate(session):
    duplicate_calls.append(1)
    await session.execute(text("INSERT INTO users (email, name) SELECT email, 'Copy' FROM users WHERE id = 1"))


try:
    await asyncio.wait_for(run_serializable(Session, insert_duplicate), 10)
except IntegrityError:
    pass
else:
    raise AssertionError("run_serializable did not raise the IntegrityError of a duplicate email.")
expect(len(duplicate_calls), 1, "attempts for a unique violation", "An integrity error is not transient: do not retry it.")

hopeless_calls = []


async def always_conflicts(session):
    hopeless_calls.append(1)
    await session.execute(text(RAISE_40001))

started = time.perf_counter()
try:
    outcome = await asyncio.wait_for(run_serializable(Session, always_conflicts, attempts=4), 10)
except Exception as error:
    final_error = error
else:
    raise AssertionError(f"run_serializable returned {outcome!r} after every attempt failed: re-raise the last error.")
elapsed = time.perf_counter() - started
expect(len(hopeless_calls), 4, "attempts made with attempts=4", "Stop after `attempts` attempts in all.")
code = getattr(getattr(final_error, "orig", None), "sqlstate", None)
assert code == "40001", (
    f"when attempts run out, run_serializable raised {type(final_error).__name__}, not the serialization failure "
    "itself. With tenacity, pass reraise=True so callers can still read the SQLSTATE.")
assert elapsed < 4, f"4 attempts took {elapsed:.1f} s: keep the backoff short (well under a second per wait)."
one_call = []


async def conflicts_once(session):
    one_call.append(1)
    await session.execute(text(RAISE_40001))

try:
    await asyncio.wait_for(run_serializable(Session, conflicts_once, attempts=1), 10)
except Exception:
    pass
expect(len(one_call), 1, "attempts made with attempts=1", "")

# The last error itself, and a wait before every retry.
from sqlalchemy.exc import DBAPIError

seen_errors = []


async def conflicts_every_time(session):
    try:
        await session.execute(text(RAISE_40001))
    except DBAPIError as error:
        seen_errors.append(error)
        raise


loop = asyncio.get_running_loop()
waits = []  # (attempts made so far, seconds) for every asyncio.sleep of a positive time
original_call_later = loop.call_later


def recording_call_later(delay, callback, *args, **kwargs):
    if getattr(callback, "__name__", "") == "_set_result_unless_cancelled":  # what asyncio.sleep schedules
        waits.append((len(seen_errors), delay))
    return original_call_later(delay, callback, *args, **kwargs)


loop.call_later = recording_call_later
try:
    await asyncio.wait_for(run_serializable(Session, conflicts_every_time, attempts=3), 10)
except Exception as error:
    last_raised = error
else:
    last_raised = None
finally:
    del loop.call_later
expect(len(seen_errors), 3, "attempts made with attempts=3", "")
assert last_raised is seen_errors[-1], (
    f"when attempts ran out, run_serializable raised {type(last_raised).__name__}, not the last attempt's own "
    "error: re-raise that exception object itself (`raise`, or tenacity's reraise=True), without wrapping it.")
for attempt in (1, 2):
    assert any(after == attempt and delay > 0 for after, delay in waits), (
        f"run_serializable started attempt {attempt + 1} right after attempt {attempt} failed, without waiting: "
        "back off before every retry (a short random wait with asyncio.sleep, or tenacity's wait=...).")

# Errors that are not serialization failures or deadlocks: one attempt, the error itself, at once.
async with disposable_database(seed=True, label="check_serializable", say=False) as check:
    async def runs_too_long(session):
        await session.execute(text("SET LOCAL statement_timeout = '50ms'"))
        await session.execute(text("SELECT pg_sleep(2)"))

    async def waits_for_a_lock(session):
        await session.execute(text("SET LOCAL lock_timeout = '100ms'"))
        await session.execute(text("UPDATE accounts SET balance = balance + 1 WHERE id = 7"))

    async def loses_its_connection(session):
        await session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))

    async with check.engine.connect() as holder:
        await holder.execute(text("SELECT id FROM accounts WHERE id = 7 FOR UPDATE"))  # held during the test
        for work, what, code in [(runs_too_long, "a statement timeout", "57014"),
                                 (waits_for_a_lock, "a lock timeout", "55P03"),
                                 (loses_its_connection, "a lost connection", "08003")]:
            calls, errors = [], []

            async def recorded(session, work=work, calls=calls, errors=errors):
                calls.append(1)
                try:
                    return await work(session)
                except Exception as error:
                    errors.append(error)
                    raise

            try:
                await asyncio.wait_for(run_serializable(check.session_factory, recorded), 10)
            except Exception as error:
                raised = error
            else:
                raise AssertionError(f"run_serializable returned after {what}: let the error propagate.")
            expect(len(calls), 1, f"attempts for {what} (SQLSTATE {code})",
                   "Retry only serialization failures (40001) and deadlocks (40P01): timeouts and lost "
                   "connections are raised at once.")
            assert raised is errors[0], (
                f"run_serializable raised {type(raised).__name__} for {what}, not the error work raised: "
                "let other errors propagate unchanged.")
        await holder.rollback()
    expect(pool_snapshot(check.engine).checked_out, 0, "connections checked out after the failed calls", "")
### END HIDDEN TESTS

# %% [markdown] id=summary
# ---
# ## Summary
#
# - Errors travel through three layers: asyncpg's exception, SQLAlchemy's adapter (`error.orig`, with `.sqlstate`), and SQLAlchemy's own class. asyncpg's `UniqueViolationError` never reaches your `except`.
# - Decide by SQLSTATE (`23505`, `23503`, `23502`, `23514`, `40001`, `40P01`, `57014`) and by constraint name, never by message text, which carries your users' data and changes with versions and languages.
# - With asyncpg, `OperationalError` never arrives: an unreachable server is an `OSError` (`ConnectionRefusedError`…), a dead connection an `InterfaceError` or `DBAPIError` with `connection_invalidated=True`.
# - Map errors to statuses deliberately: 409 for duplicates, 422 for other broken rules, 503 when the database is unreachable, 500 for bugs.
# - Retry only serialization failures and deadlocks, with a new session per attempt, jittered backoff, a limit, and `reraise=True`; keep non-idempotent side effects out of the retried block.
#
# ## Interview questions
#
# 1. Your code catches `asyncpg.exceptions.UniqueViolationError` around `session.commit()` and the handler never runs. Why, and what do you catch instead?
# 2. Where is the SQLSTATE on an exception SQLAlchemy raised over asyncpg, and where is the constraint name?
# 3. Why is `"unique constraint" in str(e)` a fragile test? Give two ways it goes wrong.
# 4. With asyncpg, what exception arrives when the database server is down? Why does `except OperationalError` not catch it?
# 5. Which database errors are worth retrying, and why do those succeed on a second attempt?
# 6. Why must each retry use a new session? What error does the old one give?
# 7. What does "only retry idempotent work" mean when the database transaction is rolled back anyway?
# 8. Why add random jitter to the backoff between retries of a serialization failure?
#
# <details><summary>Answers</summary>
#
# 1. SQLAlchemy wraps driver errors: it raises `sqlalchemy.exc.IntegrityError`, whose `.orig` is the adapter's own `UniqueViolationError` class (not asyncpg's), and asyncpg's exception is only the `__cause__` of that. Catch `IntegrityError` and test `e.orig.sqlstate == "23505"` (and the constraint name).
# 2. `e.orig.sqlstate` (also `e.orig.pgcode`); the constraint name is on asyncpg's exception, `e.orig.__cause__.constraint_name` (in 2.1 also `e.orig.driver_exception`).
# 3. The message is for humans: it is translated when the server's `lc_messages` changes, it changed format between SQLAlchemy versions, and `str(e)` includes the SQL and its parameters, so user data ("Unique constraints explained") or an application error's text can match. A different error class can also mention the words.
# 4. The operating system's `ConnectionRefusedError` (or another `OSError`: `socket.gaierror`, `FileNotFoundError`, `TimeoutError`), raised by asyncpg while connecting and not wrapped by SQLAlchemy. The asyncpg adapter maps no error to `OperationalError`; that habit comes from psycopg, whose connection failures are `OperationalError`s.
# 5. Serialization failures (`40001`) and deadlocks (`40P01`): the server aborted the transaction because of a conflict with another transaction, not because of the data. The retry runs in a new transaction after the other one finished, against the current state.
# 6. After a failed flush the session is inactive and raises `PendingRollbackError` on every use until `rollback()`; after a failed statement PostgreSQL rejects everything with `25P02` until the transaction ends. A new session also drops objects and state from the failed attempt.
# 7. The database work is undone on each failure, but side effects outside the transaction (emails, HTTP calls, messages, in-memory counters) happen once per attempt. Keep them out of the retried block or make them idempotent.
# 8. Transactions that collided once would retry at the same moments and collide again; random waits spread them out so one can finish before the other starts.
#
# </details>
#
# ## Further reading
#
# - PostgreSQL: [Appendix A. PostgreSQL Error Codes](https://www.postgresql.org/docs/current/errcodes-appendix.html)
# - PostgreSQL: [Transaction isolation: Serializable](https://www.postgresql.org/docs/current/transaction-iso.html#XACT-SERIALIZABLE) and [Deadlocks](https://www.postgresql.org/docs/current/explicit-locking.html#LOCKING-DEADLOCKS)
# - SQLAlchemy: [Core exceptions](https://docs.sqlalchemy.org/en/20/core/exceptions.html) and [Error messages](https://docs.sqlalchemy.org/en/20/errors.html)
# - SQLAlchemy: [The asyncpg dialect](https://docs.sqlalchemy.org/en/20/dialects/postgresql.html#module-sqlalchemy.dialects.postgresql.asyncpg)
# - SQLAlchemy FAQ: ["This Session's transaction has been rolled back due to a previous exception during flush"](https://docs.sqlalchemy.org/en/20/faq/sessions.html#this-session-s-transaction-has-been-rolled-back-due-to-a-previous-exception-during-flush-or-similar)
# - SQLAlchemy: [Setting transaction isolation levels](https://docs.sqlalchemy.org/en/20/orm/session_transaction.html#setting-transaction-isolation-levels-dbapi-autocommit)
# - asyncpg: [Exceptions](https://magicstack.github.io/asyncpg/current/api/index.html#module-asyncpg.exceptions)
# - tenacity: [documentation](https://tenacity.readthedocs.io/en/latest/)

# %% [markdown] id=check-your-notebook
# ---
# **Check your notebook.** Save (Ctrl+S), then run this cell: it checks the saved file as `asyncdb-lab check` does, on a fresh database, and shows each exercise's points, a failing test's message with its first hint, and what to do next.

# %% id=check-this-notebook
from asyncdb_lab.learner.in_lab import check_this_notebook

check_this_notebook()
