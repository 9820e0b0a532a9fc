# %% [markdown] id=intro
# # **00 · Start here: how this course works**
#
# Run async Python against a real PostgreSQL database from the first cell, and learn how the exercises are checked and graded.
#
# **Learning goals**
# - Use top-level `await` in a notebook, and know why `asyncio.run()` fails here.
# - Get a fresh PostgreSQL database in one call, and read which server it runs on and why.
# - Run a first query with SQLAlchemy's async engine and see the SQL it sent.
# - Write an exercise, run its tests, and read a failing test's message.
#
# **Prerequisites**: Python functions and `import`. No async experience is needed: this notebook starts from zero.
#
# **Out of scope**: how engines and sessions work inside (notebook 01), the ORM (02 onwards).

# %% [markdown] id=setup
# ## Setup
#
# Run the next cell first (Shift+Enter). It gives this notebook its own PostgreSQL database with the course's seed data: a thousand users, their posts, accounts, products and orders.
# It prints which PostgreSQL server it used and why.
# Running it again throws the database away and gives you a clean one, so you can never break anything for good.

# %% readonly id=setup-database
from asyncdb_lab import count_statements, disposable_database

db = await disposable_database(seed=True)
engine = db.engine

# %% [markdown] id=part-a-await-notebook
# ---
# ## Part A — `await` in a notebook (0 points)
#
# A database query spends most of its time waiting: for the network, for the server to read pages, for locks.
# Async Python lets one thread do other work during that wait.
# A function defined with `async def` is a *coroutine function*; calling it gives a coroutine object, and `await` runs it until it finishes, letting other tasks run whenever it has to wait.
#
# In a plain Python script you start that machinery once, with `asyncio.run(main())`.
# Jupyter has already started it: the kernel runs an *event loop* for you, so you can write `await` directly in a cell (top-level `await`).
# The next cell awaits `asyncio.sleep`, a coroutine that does nothing but wait.

# %% id=part-a-await-notebook-code
import asyncio
import time

started = time.perf_counter()
await asyncio.sleep(0.2)
print(f"waited {time.perf_counter() - started:.2f} s")

# %% [markdown] id=waiting-where-async-pays
# Waiting is where async pays off: `asyncio.gather` runs several coroutines at once, so three waits of 0.2 s take about 0.2 s in all, not 0.6 s.

# %% id=waiting-where-async-pays-code
started = time.perf_counter()
await asyncio.gather(asyncio.sleep(0.2), asyncio.sleep(0.2), asyncio.sleep(0.2))
print(f"three waits of 0.2 s together: {time.perf_counter() - started:.2f} s")

# %% [markdown] id=mistake-asyncio-run-inside
# > **Common mistake: `asyncio.run()` inside a notebook.**
# > Tutorials written for scripts end with `asyncio.run(main())`.
# > In a notebook the kernel's event loop is already running, and `asyncio.run()` refuses to start a second one in the same thread.
# > The next cell shows the real error; the fix is simply `await main()`.
# > This is the only time you will see `asyncio.run()` in this course.

# %% id=main
async def main() -> str:
    await asyncio.sleep(0.01)
    return "done"


coroutine = main()
try:
    asyncio.run(coroutine)
except RuntimeError as error:
    print(f"RuntimeError: {error}")
    coroutine.close()  # the coroutine never ran; closing it avoids a "never awaited" warning

print("await main() ->", await main())

# %% [markdown] id=part-b-your-database
# ---
# ## Part B — your database (0 points)
#
# `db` describes the database the setup cell made for you.
# `db.url` is the address SQLAlchemy uses. Read it left to right:
#
# - `postgresql+asyncpg://` — the *dialect* (PostgreSQL) and the *driver* (asyncpg, an async driver) that SQLAlchemy should use;
# - `postgres@` — the user name;
# - `/lab_main_1` — the database name;
# - `?host=…` — where the server listens: here a Unix socket folder, because the embedded server takes no network port that could clash with anything else on your machine.
#
# `db.server.backend` says which kind of server it is. The course picks one automatically: a server you name with `ASYNCDB_LAB_DATABASE_URL`, else Docker if it runs, else an *embedded* PostgreSQL shipped as a Python package.

# %% id=part-b-your-database-code
print("url:     ", db.url)
print("backend: ", db.server.backend, "—", db.server.reason)
print("database:", db.name)

# %% [markdown] id=now-first-query
# Now a first query.
# `engine.connect()` borrows a connection from the engine's pool; `async with` gives it back when the block ends, even after an error.
# `text()` wraps a SQL string, and `count_statements(engine)` records every statement the engine sends, so you can see exactly what reached the server.

# %% id=now-first-query-code
from sqlalchemy import text

with count_statements(engine) as sql:
    async with engine.connect() as conn:
        result = await conn.execute(text("SELECT count(*) AS users FROM users"))
        print("users in the seed data:", result.scalar_one())
print(sql)

# %% [markdown] id=each-await-conn-execute
# Each `await conn.execute(...)` is one round trip to the server.
# The guard rails below are set on every database the course gives you: a query running longer than `statement_timeout` is cancelled by the server itself, even if the notebook that sent it has been interrupted or killed.

# %% id=each-await-conn-execute-code
async with engine.connect() as conn:
    for setting in ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout"):
        value = (await conn.execute(text(f"SHOW {setting}"))).scalar_one()
        print(f"{setting:<38} {value}")

# %% [markdown] id=part-c-first-exercise-count
# ---
# ## Part C — your first exercise: `count_users` (4 points)
#
# Every exercise is a function with a fixed signature and a docstring.
# Replace `raise NotImplementedError()` with your code, run the cell, then run the test cell below it.
#
# Write `count_users(engine)`: it returns the number of rows in the `users` table as a Python `int`.
#
# - Borrow a connection with `async with engine.connect() as conn:`, so it goes back to the pool when you are done.
# - Let the database count (`SELECT count(*) …`): shipping a thousand rows to Python to count them there is slow.
# - `result.scalar_one()` returns the single value of a one-row, one-column result.

# %% solution id=count_users
async def count_users(engine) -> int:
    """Return the number of rows in the users table, counted by the database."""
    ### BEGIN SOLUTION
    async with engine.connect() as conn:
        result = await conn.execute(text("SELECT count(*) FROM users"))
        return int(result.scalar_one())
    ### END SOLUTION

# %% [markdown] id=next-cell-test-cell
# The next cell is a *test cell*. It is locked: you cannot change it, and the grader runs it (and hidden tests like it) on your function.
# When it passes, it prints one line starting with ✔: the test's name and its points. If it fails, read the last line of the error: the message says what was expected, what your function returned, and where to look.

# %% tests id=test_count_users_seed points=2
"""Check that count_users returns the number of users in the seed data, as an int."""
from asyncdb_lab.checks import expect

expect(await count_users(engine), 1000, "count_users(engine) on the seed data",
       "Count the rows of the users table with SELECT count(*).")
### BEGIN HIDDEN TESTS
from sqlalchemy.ext.asyncio import create_async_engine

async with disposable_database(seed=True, label="check_count_users", say=False) as other:
    other_engine = create_async_engine(other.url, pool_size=2, max_overflow=0)
    try:
        # What must not matter: gaps in the ids (deleted users) and rows added after the last id.
        async with other_engine.begin() as conn:
            await conn.execute(text("DELETE FROM users WHERE id % 10 = 3"))
            await conn.execute(text(
                "INSERT INTO users (email, name) SELECT 'extra' || n || '@example.test', 'Extra' "
                "FROM generate_series(1, 37) AS n"
            ))
        expect(await count_users(other_engine), 937,
               "count_users on a database where 100 users were deleted and 37 added (ids now go up to 1037)",
               "Count the rows that are there now, in the database the engine points at: the largest id, "
               "a sequence or the planner's statistics are not the number of rows.")
        # What must not matter either: an earlier call on the same engine.
        async with other_engine.begin() as conn:
            await conn.execute(text("DELETE FROM users WHERE id IN (1, 2, 4, 5, 6)"))
        expect(await count_users(other_engine), 932, "count_users on the same engine after 5 more users were deleted",
               "Count again on every call: the table changes between calls.")
    finally:
        await other_engine.dispose()
### END HIDDEN TESTS

# %% tests id=test_count_users_one_statement points=1
"""Check that count_users asks the database to count, in one statement."""
from asyncdb_lab.checks import expect

with count_statements(engine) as sql:
    await count_users(engine)
expect(sql.count, 1, "statements sent by count_users",
       "One SELECT count(*) is enough.")
### BEGIN HIDDEN TESTS
assert "count(" in sql.sql[0].lower(), (
    "count_users sent a statement without count(…): it fetched the rows to count them in Python, or read "
    "something that is not the number of rows (the largest id, a sequence, statistics). "
    "Let the database count the rows of the table."
)
### END HIDDEN TESTS

# %% tests id=test_count_users_returns_connection points=1
"""Check that count_users gives its connection back to the pool."""
### BEGIN HIDDEN TESTS
from asyncdb_lab import pool_snapshot
from asyncdb_lab.checks import expect
from sqlalchemy.ext.asyncio import create_async_engine

small_engine = create_async_engine(db.url, pool_size=1, max_overflow=0, pool_timeout=2)
try:
    for _ in range(3):
        counted = await count_users(small_engine)
    expect(pool_snapshot(small_engine).checked_out, 0, "connections still checked out after count_users",
           "Borrow the connection with `async with engine.connect() as conn:` so it is returned.")
    # A function that never connects returns its connection vacuously: it must also count.
    expect(counted, 1000, "count_users(engine) on the seed data, with a pool of one connection",
           "Count the rows of the users table with SELECT count(*).")
finally:
    await small_engine.dispose()
### END HIDDEN TESTS

# %% [markdown] id=part-d-checks-grading-work
# ---
# ## Part D — how checks and grading work (0 points)
#
# - **Visible tests** sit under each exercise, as above. They check the basic contract, and their messages carry a hint.
# - **Hidden tests** are added when your notebook is graded. They check edge cases: another database, concurrency, how many statements you sent, whether connections go back to the pool. Passing the visible tests is a good sign, not a guarantee.
# - **Checking your work**: in a terminal, `asyncdb-lab check 00_start_here` runs your notebook against a fresh database and prints each exercise's result with a hint; `asyncdb-lab progress` shows where you stand in the whole course. In JupyterLab, nbgrader's *Validate* button runs the visible tests too.
# - **Grading**: your instructor's grader runs your notebook from top to bottom on a fresh database, restores the locked cells (setup and tests) from the original, adds the hidden tests, and scores each test cell: full points if it runs without an error, zero otherwise.
# - **A test fails if and only if it raises** an error (a failed `assert` included), or does not run at all (say at the time limit); a test that runs to its end without raising passes. What your code writes to stderr — a `logging` warning, `warnings.warn(...)`, `print(..., file=sys.stderr)` — never fails a test: `asyncdb-lab check` and the grader judge a test by its errors alone, and still show you what it wrote (the grader's feedback marks each such line `[stderr]`). nbgrader's *Validate* button is stricter: it lists a test that wrote to stderr as failing.
#
# Because the grader runs top to bottom, a notebook that only works when cells run out of order loses points.
# Before you hand in, use *Kernel → Restart Kernel and Run All Cells*.

# %% [markdown] id=summary
# ---
# ## Summary
#
# - Jupyter runs an event loop for you: write `await` in a cell, never `asyncio.run()`.
# - `await disposable_database(seed=True)` gives a fresh PostgreSQL database; run the setup cell again for a clean one.
# - `async with engine.connect() as conn:` borrows a pooled connection and always gives it back.
# - `count_statements(engine)` shows the SQL that reached the server; the course uses it to show, and to check, how much work your code makes the database do.
# - Each exercise has visible tests; hidden tests check edge cases when it is graded.
#
# ## Interview questions
#
# 1. Why does `asyncio.run()` raise inside a Jupyter notebook, and what do you write instead?
# 2. What do the parts of `postgresql+asyncpg://user@host/db` mean?
# 3. Why is `SELECT count(*)` better than fetching the rows and calling `len()`?
# 4. A notebook cell is interrupted while it awaits a slow query. Does the query stop on the server?
#
# <details><summary>Answers</summary>
#
# 1. `asyncio.run()` creates and runs a new event loop and refuses to do so while one is already running in the thread; the kernel's loop is running. Use top-level `await coroutine()`.
# 2. `postgresql` is the SQLAlchemy dialect, `asyncpg` the DBAPI driver, then the user (and password), the host (or a socket folder), and the database name.
# 3. The database counts where the data is and sends back one number; fetching ships every row over the connection and builds Python objects only to throw them away.
# 4. Not by itself: interrupting the kernel stops the Python code, while the server keeps running the statement it received. Server-side limits (`statement_timeout`, `client_connection_check_interval`) or terminating the backend stop it.
#
# </details>
#
# ## Further reading
#
# - Python: [Coroutines and tasks](https://docs.python.org/3/library/asyncio-task.html)
# - IPython: [Asynchronous in REPL: autoawait](https://ipython.readthedocs.io/en/stable/interactive/autoawait.html)
# - SQLAlchemy: [Asynchronous I/O (asyncio)](https://docs.sqlalchemy.org/en/20/orm/extensions/asyncio.html)
# - SQLAlchemy: [Engine configuration, database URLs](https://docs.sqlalchemy.org/en/20/core/engines.html#database-urls)
# - PostgreSQL: [Client connection defaults: statement_timeout](https://www.postgresql.org/docs/current/runtime-config-client.html)

# %% [markdown] id=check-your-notebook
# ---
# **Check your notebook.** Save (Ctrl+S), then run this cell: it checks the saved file as `asyncdb-lab check` does, on a fresh database, and shows each exercise's points, a failing test's message with its first hint, and what to do next.

# %% id=check-this-notebook
from asyncdb_lab.learner.in_lab import check_this_notebook

check_this_notebook()
