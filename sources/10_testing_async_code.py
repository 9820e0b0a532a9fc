# %% [markdown] id=intro
# # **10 · Testing async database code**
#
# Test async database code against the database it will run on, give every test a clean slate in milliseconds, and write tests that catch the bugs that matter.
#
# **Learning goals**
# - See for yourself why an in-memory SQLite database is a poor stand-in for PostgreSQL in tests.
# - Run every test inside a transaction that is rolled back, even when the code under test commits (`join_transaction_mode="create_savepoint"`).
# - Write a test with data chosen to expose bugs: page boundaries, ordering, sizes, rows that change between two calls.
# - Set up pytest with pytest-asyncio in strict mode: `@pytest_asyncio.fixture`, one PostgreSQL per test session (testcontainers, or the course's embedded server), factories, and run it from a notebook.
#
# **Prerequisites**: notebooks 02 (sessions, keyset pagination), 05 (savepoints) and 09 (errors); `assert` and functions in Python. No pytest experience is needed.
#
# **Out of scope**: testing FastAPI routes with `httpx.AsyncClient` (notebook 11), property-based testing, CI configuration.

# %% [markdown] id=setup
# ## Setup
#
# Run the next cell first: it gives this notebook its own PostgreSQL database with the seed data and imports the course models.

# %% readonly id=setup-database
from asyncdb_lab import count_statements, disposable_database
from asyncdb_lab.models import Account, Base, Post, User

db = await disposable_database(seed=True)
engine = db.engine
Session = db.session_factory

# %% [markdown] id=part-a-not-sqlite-memory
# ---
# ## Part A — Why not SQLite in memory? (0 points)
#
# Many tutorials, including the one this course corrects, test against `sqlite+aiosqlite:///:memory:`: no server, a fresh database per test, and the same models.
# It is fast, and it tests the wrong thing: SQLite is a different database.
# The worst differences are not the errors you would see, but the checks SQLite silently skips, so that code which is wrong on PostgreSQL passes its tests.
#
# > **Common mistake: testing PostgreSQL code against an in-memory SQLite database.**
# > Below, the same models and the same statements run on SQLite (through aiosqlite) and on PostgreSQL, side by side: a row lock, a foreign key, and a date function.
#
# First an in-memory SQLite engine with the course's tables.

# %% id=part-a-not-sqlite-code
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine

sqlite = create_async_engine("sqlite+aiosqlite:///:memory:")
async with sqlite.begin() as conn:
    await conn.run_sync(Base.metadata.create_all)
    await conn.execute(insert(User).values(id=1, email="lina@example.com", name="Lina"))
databases = {"SQLite": sqlite, "PostgreSQL": engine}
print("SQLite tables:", sorted(Base.metadata.tables))

# %% [markdown] id=1-select-update-silently
# **1. `SELECT … FOR UPDATE` is silently dropped.**
# Notebook 04 locks rows with `.with_for_update()` to prevent lost updates.
# SQLite has no row locks: SQLAlchemy leaves the clause out, and a test of your locking code proves nothing.

# %% id=1-select-update-silently-code
lock_account = select(Account).where(Account.id == 1).with_for_update()
for name, target in databases.items():
    with count_statements(target) as sql:
        async with target.begin() as conn:
            await conn.execute(lock_account)
    print(f"{name:<11} sent: {' '.join(sql.sql[0].split())}")

# %% [markdown] id=2-foreign-keys-not
# **2. Foreign keys are not enforced.**
# SQLite checks foreign keys only after `PRAGMA foreign_keys = ON` on each connection; by default a post can point at a user that does not exist.

# %% id=2-foreign-keys-not-code
orphan_post = insert(Post).values(author_id=999_999, title="Orphan", content="written by nobody")
for name, target in databases.items():
    async with target.connect() as conn:
        try:
            await conn.execute(orphan_post)
            print(f"{name:<11} accepted a post by user 999999")
        except IntegrityError as error:
            print(f"{name:<11} IntegrityError: {str(error.orig).splitlines()[0]}")
        await conn.rollback()

# %% [markdown] id=3-postgresql-functions-not
# **3. PostgreSQL functions do not exist.**
# `DATE_TRUNC`, `generate_series`, `ILIKE`, JSONB operators, window-function details: a query that uses them cannot be tested on SQLite at all.

# %% id=3-postgresql-functions-not-code
signups_per_day = (
    select(func.date_trunc("day", User.created_at).label("day"), func.count().label("signups"))
    .group_by("day").order_by("day").limit(3)
)
for name, target in databases.items():
    async with target.connect() as conn:
        try:
            rows = (await conn.execute(signups_per_day)).all()
            print(f"{name:<11} {[(day.date().isoformat(), n) for day, n in rows]}")
        except Exception as error:
            print(f"{name:<11} {type(error).__name__}: {str(error).splitlines()[0]}")

# %% [markdown] id=4-numeric-stored-float
# **4. `Numeric` is stored as a floating-point number.**
# SQLite has no exact decimal type: a `Numeric(10, 2)` column such as `Product.price` keeps 0.10 as a binary floating-point number (and 5.00 as the integer 5), and arithmetic on it inside SQLite is float arithmetic.
# Through the model's typed columns you barely notice: SQLAlchemy knows the column is `Numeric`, so it turns the float SQLite returns into a `Decimal` rounded to the column's two places.
# SQL written as `text()` has no column types to go by, and hands you what the driver returned.
# The next cell stores a price of 0.10 on both databases (rolled back afterwards) and reads it, and three times it, both ways.

# %% id=4-numeric-stored-float-code
from decimal import Decimal

from asyncdb_lab.models import Product

ten_cents = insert(Product).values(id=9_001, sku="DEMO-9001", name="Ten cents", price=Decimal("0.10"), stock=1)
for name, target in databases.items():
    async with target.connect() as conn:
        await conn.execute(ten_cents)
        typed = (await conn.execute(select(Product.price, Product.price * 3).where(Product.id == 9_001))).one()
        untyped = (await conn.execute(text("SELECT price, price * 3 FROM products WHERE id = 9001"))).one()
        print(f"{name:<11} typed columns: {tuple(typed)}   text(): {tuple(untyped)}")
        await conn.rollback()
await sqlite.dispose()

# %% [markdown] id=each-gap-can-patched
# Both databases give `Decimal` through the typed columns, so a test that reads prices through the models passes on SQLite. The difference shows where no column type is attached: a `text()` query gets `0.1` and `0.30000000000000004` from SQLite, where PostgreSQL returns the exact `Decimal` either way.
#
# Each gap can be patched (a PRAGMA here, a custom function there), and each patch makes the fake more like PostgreSQL while it stays something else: other types (`Numeric` stored as a float, as above), no length limits on `VARCHAR`, other isolation and locking, other error codes.
# The fix is simple now that PostgreSQL starts in well under a second: test against PostgreSQL, with one server per test session and one rolled-back transaction per test.
# That is the rest of this notebook.

# %% [markdown] id=part-b-clean-slate-every
# ---
# ## Part B — A clean slate for every test: `rollback_session` (8 points)
#
# Tests share one database, so each test must leave it as it found it.
# Creating a database per test costs tens of milliseconds here (and seconds where migrations run); deleting rows afterwards is slow and misses rows you did not expect.
# The fastest clean-up is one that never has to happen: run the test inside a transaction and roll it back at the end.
#
# The catch is that the code under test calls `commit()` and `rollback()` itself.
# SQLAlchemy's answer is a session that *joins* a transaction you began on a connection, with `join_transaction_mode="create_savepoint"`:
#
# - the session's `commit()` becomes `RELEASE SAVEPOINT` (the data stays visible inside the test, but nothing is committed for real);
# - the session's `rollback()` becomes `ROLLBACK TO SAVEPOINT` (it undoes only the session's own work since its last commit);
# - at the end you roll back the outer transaction, and everything is gone.
#
# The next cell shows the SQL that reaches the server.

# %% id=part-b-clean-slate-code
from sqlalchemy.ext.asyncio import AsyncSession

with count_statements(engine) as sql:
    async with engine.connect() as conn:
        outer = await conn.begin()
        session = AsyncSession(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        session.add(User(email="inside.a.test@example.com", name="Inside A Test"))
        await session.commit()
        seen_inside = await session.scalar(select(func.count()).where(User.email == "inside.a.test@example.com"))
        await session.close()
        await outer.rollback()
print(sql)
async with engine.connect() as conn:
    left = await conn.scalar(select(func.count()).where(User.email == "inside.a.test@example.com"))
print(f"rows seen inside: {seen_inside}; rows left afterwards: {left}")

# %% [markdown] id=begin-final-rollback-not
# `BEGIN` and the final `ROLLBACK` do not appear in the list because asyncpg sends them as transaction commands, not as statements; every other step is there.
#
# > **Common mistake: joining the outer transaction without `create_savepoint`.**
# > Without it, the session uses the default mode, `"conservative_savepoint"`: its `commit()` does nothing, but its `rollback()` rolls back *your outer transaction*.
# > A test that expects an error (a duplicate email, say) and rolls back then loses everything it did before, and what it does after runs outside any transaction you control.
# > The next cell commits user A, provokes a duplicate, rolls back, adds user B, and then "cleans up" with the outer rollback.

# %% id=begin-final-rollback-not-code
async with engine.connect() as conn:
    outer = await conn.begin()
    session = AsyncSession(bind=conn, expire_on_commit=False)  # join_transaction_mode left at its default
    session.add(User(email="user.a@example.com", name="A"))
    await session.commit()
    session.add(User(email="lina.garcia1@example.com", name="Duplicate"))
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
    print("outer transaction still active after the rollback?", outer.is_active)
    session.add(User(email="user.b@example.com", name="B"))
    await session.commit()
    await session.close()
    if outer.is_active:
        await outer.rollback()

async with engine.begin() as conn:
    leaked = (await conn.scalars(select(User.email).where(User.email.in_(["user.a@example.com", "user.b@example.com"])))).all()
    print("rows left in the database after the 'rolled back' test:", leaked)
    await conn.execute(text("DELETE FROM users WHERE email IN ('user.a@example.com', 'user.b@example.com')"))

# %% [markdown] id=user-vanished-rollback-user
# User A vanished at the rollback (a test checking it would fail for a reason production does not have), and user B was committed for real: the next test finds it.
# With `join_transaction_mode="create_savepoint"` the same steps keep A, keep B, and leave nothing behind; the tests below check exactly that.
#
# ### Exercise: `rollback_session`
#
# Write `rollback_session(engine)`, an *async context manager* (use `contextlib.asynccontextmanager`) for tests:
#
# ```python
# async with rollback_session(engine) as session:
#     ...  # code under test: add, flush, commit, rollback, session.begin() blocks
# # here every change made through `session` is gone
# ```
#
# - It borrows one connection from `engine`, begins a transaction on it, and yields an `AsyncSession` bound to that connection, joining it with savepoints, with `expire_on_commit=False`.
# - Inside the block, commits are visible to the session, and a failed flush followed by `await session.rollback()` leaves the session usable and the earlier commits in place.
# - Other connections never see the block's changes, and when the block ends (normally or with an exception, which must propagate) everything is rolled back, the session is closed and the connection goes back to the pool.

# %% solution id=rollback_session
from contextlib import asynccontextmanager


@asynccontextmanager
async def rollback_session(engine):
    """Yield an AsyncSession whose commits become savepoints in a transaction rolled back at the end."""
    ### BEGIN SOLUTION
    async with engine.connect() as conn:
        outer = await conn.begin()
        session = AsyncSession(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            yield session
        finally:
            await session.close()
            if outer.is_active:
                await outer.rollback()
    ### END SOLUTION

# %% tests id=test_rollback_session_basic points=2
"""Check that commits inside rollback_session are visible inside and gone afterwards."""
from asyncdb_lab.checks import expect, expect_type
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession



async def users_with(target_engine, *emails):
    async with target_engine.connect() as conn:
        return await conn.scalar(select(func.count()).select_from(User).where(User.email.in_(emails)))


async with disposable_database(seed=True, label="check_rollback", say=False) as check:
    async with rollback_session(check.engine) as session:
        expect_type(session, AsyncSession, "what rollback_session yields")
        added = User(email="inside@example.test", name="Inside")
        session.add(added)
        await session.commit()
        inside = await session.scalar(select(func.count()).where(User.email == "inside@example.test"))
        expect(inside, 1, "rows the session sees after its commit", "A commit inside the block must stay visible to the session.")
        ### BEGIN HIDDEN TESTS
        expect(added.name, "Inside", "an attribute read after commit",
               "Create the session with expire_on_commit=False: expired attributes would need a lazy load (MissingGreenlet).")
        expect(await users_with(check.engine, "inside@example.test"), 0, "rows another connection sees during the block",
               "Nothing may be committed for real: the session must work inside an outer transaction on its own connection.")
        await session.commit()  # end the transaction the query above began, as code under test would
        async with session.begin():
            session.add(User(email="in.begin.block@example.test", name="In Begin Block"))
        expect(await session.scalar(select(func.count()).where(User.email.like("in%@example.test"))), 2,
               "rows the session sees after a `session.begin()` block", "")
        ### END HIDDEN TESTS
    expect(await users_with(check.engine, "inside@example.test", "in.begin.block@example.test"), 0,
           "rows left after the block", "Roll back the outer transaction when the block ends: the commit must not have been real.")
    ### BEGIN HIDDEN TESTS
    expect(await users_with(check.engine, "lina.garcia1@example.com"), 1, "seed rows after the block", "")
    ### END HIDDEN TESTS

# %% tests id=test_rollback_session_failed_flush points=2
"""Check that a failed flush and a rollback inside rollback_session do not break the block."""
from asyncdb_lab.checks import expect
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError


### BEGIN HIDDEN TESTS
async with disposable_database(seed=True, label="check_rollback", say=False) as check:
    async with rollback_session(check.engine) as session:
        session.add(User(email="first@example.test", name="First"))
        await session.commit()
        session.add(User(email="lina.garcia1@example.com", name="Duplicate"))
        try:
            await session.flush()
        except IntegrityError:
            await session.rollback()
        else:
            raise AssertionError("the test expected the duplicate email to fail")
        session.add(User(email="second@example.test", name="Second"))
        await session.commit()
        seen = sorted((await session.scalars(select(User.email).where(User.email.like("%@example.test")))).all())
        expect(seen, ["first@example.test", "second@example.test"], "rows the session sees after error, rollback and more work",
               "With join_transaction_mode='create_savepoint', rollback() only undoes work since the last commit; "
               "without it, rollback() ends the outer transaction and the first row is lost.")
        expect(await users_with(check.engine, "first@example.test", "second@example.test"), 0,
               "rows another connection sees during the block", "After the rollback, nothing may be committed for real.")
    expect(await users_with(check.engine, "first@example.test", "second@example.test"), 0, "rows left after the block",
           "A rollback inside must not end the outer transaction: then later commits become real.")
### END HIDDEN TESTS

# %% tests id=test_rollback_session_nested points=2
"""Check that two rollback_session blocks, one inside the other, stay isolated from each other."""
from asyncdb_lab.checks import expect


### BEGIN HIDDEN TESTS
async with disposable_database(seed=True, label="check_rollback", say=False) as check:
    async with rollback_session(check.engine) as outer_session:
        outer_session.add(User(email="outer@example.test", name="Outer"))
        await outer_session.commit()
        async with rollback_session(check.engine) as inner_session:
            expect(inner_session is outer_session, False, "the inner block got a session of its own", "")
            inner_session.add(User(email="inner@example.test", name="Inner"))
            await inner_session.commit()
            inner_sees = sorted((await inner_session.scalars(select(User.email).where(User.email.like("%@example.test")))).all())
            expect(inner_sees, ["inner@example.test"], "rows the inner session sees",
                   "Each block has its own connection and transaction: the outer block's rows are not committed.")
        outer_sees = sorted((await outer_session.scalars(select(User.email).where(User.email.like("%@example.test")))).all())
        expect(outer_sees, ["outer@example.test"], "rows the outer session sees after the inner block", "")
    expect(await users_with(check.engine, "outer@example.test", "inner@example.test"), 0, "rows left after both blocks", "")
### END HIDDEN TESTS

# %% tests id=test_rollback_session_cleanup points=2
"""Check that rollback_session lets exceptions through, rolls back and returns its connection."""
from asyncdb_lab import pool_snapshot
from asyncdb_lab.checks import expect
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine


small = create_async_engine(db.url, pool_size=1, max_overflow=0, pool_timeout=1)
try:
    for _ in range(3):
        async with rollback_session(small) as session:
            await session.execute(select(1))
    expect(pool_snapshot(small).checked_out, 0, "connections checked out after three blocks",
           "Borrow the connection with `async with engine.connect()` so it goes back to the pool.")
    ### BEGIN HIDDEN TESTS
    async with rollback_session(small) as session:
        await session.execute(select(1))
        expect(pool_snapshot(small).checked_out, 1, "connections of the given engine checked out inside the block",
               "Borrow the block's connection from the engine you are given (`engine.connect()`), "
               "not from an engine or pool of your own.")
    assert not session.in_transaction(), (
        "After the block, the session still has a transaction on a connection that is back in the pool: "
        "close the session (`await session.close()`) when the block ends, whatever happened.")
    try:
        async with rollback_session(small) as session:
            session.add(User(email="before.failure@example.test", name="Before Failure"))
            await session.commit()
            raise ValueError("the test failed here")
    except ValueError:
        pass
    else:
        raise AssertionError("rollback_session swallowed an exception raised inside the block: let it propagate.")
    expect(await users_with(small, "before.failure@example.test"), 0, "rows left after a block that raised", "")
    expect(pool_snapshot(small).checked_out, 0, "connections checked out after a block that raised", "")
    assert not session.in_transaction(), (
        "After a block that raised, the session still has a transaction: close it in a `finally`.")
    try:
        async with rollback_session(small) as session:
            session.add(User(email="kept@example.test", name="Kept"))
            await session.commit()
            session.add(User(email="lina.garcia1@example.com", name="Duplicate"))
            await session.flush()  # fails, and the block ends with the error, without a rollback
    except IntegrityError:
        pass
    else:
        raise AssertionError("the test expected the duplicate email to raise IntegrityError out of the block")
    expect(await users_with(small, "kept@example.test"), 0, "rows left after a block that ended with a failed flush",
           "Roll back the outer transaction in a `finally`, so that it also runs when the block raises.")
    expect(pool_snapshot(small).checked_out, 0, "connections checked out after a block that ended with a failed flush", "")
    async with rollback_session(small) as session:  # the pool's one connection is usable again
        expect(await session.scalar(select(func.count()).where(User.email == "kept@example.test")), 0,
               "rows a new block sees after a block that ended with a failed flush", "")
    ### END HIDDEN TESTS
finally:
    await small.dispose()

# %% [markdown] id=part-c-test-catches-bugs
# ---
# ## Part C — A test that catches bugs: `check_pager` (10 points)
#
# A test is only as good as the bugs it can catch.
# This time *you* write the test, and the grader runs it against a correct implementation (it must pass) and against several broken ones (it must fail each, with an `AssertionError`).
#
# The code under test is a **keyset pager** over the `users` table, as in notebook 02.
# A *pager factory* makes one from a session, and the pager returns ids:
#
# ```python
# pager = pager_factory(session)
# ids = await pager.page(after_id, limit)   # list[int]
# ```
#
# `page(after_id, limit)` returns the ids of the users whose id is greater than `after_id` (all users when it is `None`), in ascending order, at most `limit` of them; an empty list when there are no more.
# Reading page after page, passing the last id seen as `after_id`, visits every user exactly once, even when rows are inserted or deleted between two pages.
# Here is a correct pager:

# %% id=keyset-pager
class KeysetPager:
    """Pages through users by id: `await pager.page(after_id, limit)` returns the next ids."""

    def __init__(self, session):
        self.session = session

    async def page(self, after_id: int | None, limit: int) -> list[int]:
        query = select(User.id).order_by(User.id).limit(limit)
        if after_id is not None:
            query = query.where(User.id > after_id)
        return list((await self.session.scalars(query)).all())


async with Session() as session:
    pager = KeysetPager(session)
    first = await pager.page(None, 5)
    print("first page:", first, "· next page:", await pager.page(first[-1], 5))

# %% [markdown] id=broken-pager-bug-only
# And one broken pager, with a bug that only shows after the first page:

# %% id=skips-at-boundary-pager
class SkipsAtBoundaryPager(KeysetPager):
    """Broken: `id > after_id + 1` loses the first row of every page after the first."""

    async def page(self, after_id: int | None, limit: int) -> list[int]:
        start = -1 if after_id is None else after_id
        result = await self.session.execute(
            text("SELECT id FROM users WHERE id > :start + 1 ORDER BY id LIMIT :limit"), {"start": start, "limit": limit})
        return [row.id for row in result]


async with Session() as session:
    pager = SkipsAtBoundaryPager(session)
    first = await pager.page(None, 5)
    print("first page:", first, "· next page:", await pager.page(first[-1], 5), "← where is", first[-1] + 1, "?")

# %% [markdown] id=data-decides-which-bugs
# **Your data decides which bugs your test can see.**
# The seed data was inserted in id order, and PostgreSQL, asked for rows without `ORDER BY`, usually returns them in the order they sit on disk.
# So a pager that forgets `ORDER BY` passes every test on the seed data.
# Insert the rows in *shuffled* id order and the same query gives itself away:

# %% id=data-decides-which-bugs-code
import random

async with disposable_database(tables=True, label="shuffled_demo", say=False) as scratch:
    ids = random.Random(1).sample(range(1, 11), 10)
    async with scratch.engine.begin() as conn:
        await conn.execute(insert(User), [{"id": i, "email": f"user{i}@example.test", "name": f"User {i}"} for i in ids])
        print("inserted in this order:    ", ids)
        print("SELECT id … LIMIT 5:       ", (await conn.scalars(text("SELECT id FROM users LIMIT 5"))).all())
        print("SELECT id … ORDER BY id …: ", (await conn.scalars(text("SELECT id FROM users ORDER BY id LIMIT 5"))).all())

# %% [markdown] id=list-dictionaries-built-small
# A list of dictionaries built by a small function, as above, is a **factory**: it makes valid rows on demand, and each test overrides only the fields it cares about.
# Tests written this way say what matters to them and nothing else.
#
# ### Exercise: `check_pager`
#
# Write `check_pager(pager_factory)`: it returns `None` when `pager_factory` makes a correct pager, and raises `AssertionError` (a failing `assert`) when it does not (an exception the broken pager raises itself counts as failing too).
# The grader counts the broken pagers your test fails only once it passes correct ones: it gives your test several correct pagers, each written differently (ORM or raw SQL, other query shapes), and a test that fails all of them catches nothing.
# So test what a pager returns, never how it builds its query.
# Bugs your test should catch include: rows skipped or repeated at page boundaries; pages in the wrong order; pages longer (or shorter) than `limit` when more rows remain; a first page that is wrong; a last page, shorter than `limit`, that loses rows; an `after_id` that is ignored; pages that go wrong where ids have gaps, or with `limit=1`; something other than a list (`None`, say) instead of the empty page at the end; a pager that fails on an empty table; rows inserted or deleted between two pages (the row of `after_id` itself included) that are missed, repeated or wrongly returned.
# Plan it like this:
#
# - Make your own empty database: `async with disposable_database(tables=True, label="check_pager", say=False) as scratch:` (use a label of your own, never `"main"`, which is this notebook's database).
# - Insert a few dozen users with explicit ids **with gaps** (not 1, 2, 3, … without a hole), **in shuffled order**, with a factory.
# - Open a session from `scratch.session_factory`, make pagers with `pager_factory(session)`, and check: walks through every page with several limits (1, a divisor, a non-divisor, more than all rows); exact contents of chosen pages, including a fresh pager asked for an `after_id` in the middle or in a gap; the empty page at the end (exactly `[]`); a walk during which you delete the row of the `after_id` you pass next, a row already seen and a row not yet seen, and insert new ones (through the same session); and, last, an empty table.
# - Compare exact lists of ints (`==`), not just lengths.
# - Put a bound on every loop: a broken pager may never return an empty page, and a test that hangs catches nothing.

# %% solution id=check_pager
async def check_pager(pager_factory) -> None:
    """Raise AssertionError unless pager_factory(session) makes a correct keyset pager over users."""
    ### BEGIN SOLUTION
    import random

    from sqlalchemy import delete, insert

    def user_row(user_id: int, **overrides) -> dict:
        """Factory: a valid users row for any id."""
        return {"id": user_id, "email": f"user{user_id}@example.test", "name": f"User {user_id}", **overrides}

    async def walk(pager, limit: int, after_id: int | None = None) -> list[int]:
        """Read pages until an empty one; check each page on the way."""
        seen: list[int] = []
        for _ in range(200):  # bounded: a broken pager may never return an empty page
            page = await pager.page(after_id, limit)
            assert isinstance(page, list) and all(type(i) is int for i in page), (
                f"page({after_id}, {limit}) returned {page!r}: expected a list of int ids")
            assert len(page) <= limit, f"page({after_id}, {limit}) returned {len(page)} ids: {page}"
            if not page:
                return seen
            assert page == sorted(set(page)), f"page({after_id}, {limit}) is not strictly ascending: {page}"
            assert after_id is None or page[0] > after_id, f"page({after_id}, {limit}) starts at {page[0]}"
            seen.extend(page)
            after_id = page[-1]
        raise AssertionError("the pager never returned an empty page")

    # 23 ids with gaps (4, 7, 12-13, 15-19, 25-29, … are missing), inserted in shuffled order
    ids = [1, 2, 3, 5, 6, 8, 9, 10, 11, 14, 20, 21, 22, 23, 24, 30, 31, 33, 40, 41, 42, 50, 57]
    async with disposable_database(tables=True, label="check_pager", say=False) as scratch:
        async with scratch.engine.begin() as conn:
            await conn.execute(insert(User), [user_row(i) for i in random.Random(10).sample(ids, len(ids))])
        async with scratch.session_factory() as session:
            for limit in (1, 2, 5, 7, 23, 100):
                assert await walk(pager_factory(session), limit) == ids, (
                    f"a walk with limit={limit} did not visit every user once, in order")
            pager = pager_factory(session)
            assert await pager.page(None, 5) == [1, 2, 3, 5, 6], "wrong first page"
            assert await pager.page(6, 5) == [8, 9, 10, 11, 14], "wrong second page"
            assert await pager.page(41, 5) == [42, 50, 57], "wrong last page (3 users, limit 5)"
            assert await pager.page(57, 5) == [], "expected an empty page after the last id"
            assert await pager_factory(session).page(13, 3) == [14, 20, 21], "wrong page after id 13 (a gap)"
            assert await pager_factory(session).page(0, 2) == [1, 2], "wrong page after id 0"
            assert await pager_factory(session).page(24, 1) == [30], "wrong page of 1 across a gap"

            # rows change between pages: delete the row of the next after_id, one seen and one ahead; add two
            pager = pager_factory(session)
            first = await pager.page(None, 5)
            assert first == [1, 2, 3, 5, 6], "wrong first page"
            await session.execute(delete(User).where(User.id.in_([3, 6, 10])))
            await session.execute(insert(User), [user_row(16), user_row(100)])
            rest = await walk(pager, 5, after_id=first[-1])
            expected = sorted({i for i in ids if i > 6 and i != 10} | {16, 100})
            assert rest == expected, f"after deleting ids 3, 6 and 10 and adding 16 and 100, the walk went on with {rest}"

            await session.execute(delete(User))
            for limit in (1, 5):
                assert await pager_factory(session).page(None, limit) == [], "an empty table must give an empty page"
    ### END SOLUTION

# %% tests id=test_check_pager_basic points=2
"""Check that check_pager passes correct pagers and fails one that skips rows at page boundaries."""
import asyncio


### BEGIN HIDDEN TESTS
from sqlalchemy import func as _func
from sqlalchemy import text as _text


class TextKeysetPager:
    """Correct: raw SQL, a NULL after_id handled in SQL."""

    def __init__(self, session):
        self.session = session

    async def page(self, after_id, limit):
        result = await self.session.execute(
            _text("SELECT id FROM users WHERE CAST(:after AS integer) IS NULL OR id > :after ORDER BY id LIMIT :limit"),
            {"after": after_id, "limit": limit})
        return [row.id for row in result]


class EntityPager:
    """Correct: loads User objects with FETCH FIRST and returns their ids."""

    def __init__(self, session):
        self.session = session

    async def page(self, after_id, limit):
        query = select(User)
        if after_id is not None:
            query = query.filter(User.id > after_id)
        users = (await self.session.scalars(query.order_by(User.id.asc()).fetch(limit))).all()
        return [user.id for user in users]


class LookAheadPager:
    """Correct: Core on the session's connection; fetches limit + 1 rows to know whether more follow."""

    def __init__(self, session):
        self.session = session
        self.has_more = None

    async def page(self, after_id, limit):
        users = User.__table__
        conn = await self.session.connection()
        query = select(users.c.id).order_by(users.c.id).limit(limit + 1)
        if after_id is not None:
            query = query.where(users.c.id > after_id)
        rows = (await conn.execute(query)).scalars().all()
        self.has_more = len(rows) > limit
        return list(rows[:limit])


class CountOffsetPager:
    """Correct: OFFSET by the number of ids up to after_id, counted in the same statement."""

    def __init__(self, session):
        self.session = session

    async def page(self, after_id, limit):
        result = await self.session.execute(
            _text("SELECT id FROM users ORDER BY id OFFSET (SELECT count(*) FROM users WHERE id <= :after) LIMIT :limit"),
            {"after": after_id, "limit": limit})
        return [int(i) for i in result.scalars()]


class SubqueryPager:
    """Correct: the page in a subquery, read back in descending order and reversed."""

    def __init__(self, session):
        self.session = session

    async def page(self, after_id, limit):
        inner = select(User.id).order_by(User.id).limit(limit)
        if after_id is not None:
            inner = inner.where(User.id > after_id)
        inner = inner.subquery()
        ids = (await self.session.scalars(select(inner.c.id).order_by(inner.c.id.desc()))).all()
        return list(reversed(ids))


CORRECT_PAGERS = {
    KeysetPager: "the keyset pager above",
    TextKeysetPager: "a pager written with raw SQL",
    EntityPager: "a pager that loads User objects (FETCH FIRST instead of LIMIT)",
    LookAheadPager: "a pager that fetches limit + 1 rows with Core and keeps limit",
    CountOffsetPager: "a pager that skips the count of ids up to after_id (OFFSET in one statement)",
    SubqueryPager: "a pager that takes its page in a subquery",
}
_pager_verdicts = {}


async def passes_correct_pagers() -> None:
    """Fail unless check_pager passes every correct pager; the verdict is kept for later cells."""
    if check_pager not in _pager_verdicts:
        verdict = None
        for factory, what in CORRECT_PAGERS.items():
            try:
                outcome = await asyncio.wait_for(check_pager(factory), 15)
            except TimeoutError:
                verdict = f"check_pager did not finish within 15 s against {what}, a correct pager"
            except Exception as error:
                verdict = f"check_pager failed {what}, a correct pager: {type(error).__name__}: {error}"
            else:
                if outcome is not None:
                    verdict = f"check_pager returned {outcome!r} for {what}; a test returns None and fails by raising"
            if verdict:
                break
        _pager_verdicts[check_pager] = verdict
    if _pager_verdicts[check_pager]:
        raise AssertionError(
            f"{_pager_verdicts[check_pager]}. A test that fails correct code catches nothing, so the broken "
            "pagers it fails do not count. Test what a pager returns (the ids), not how it builds its query, "
            "and read after_id as exclusive: the page holds ids greater than after_id.")


async def must_fail(factory, what: str) -> None:
    """Fail unless check_pager passes the correct pagers and fails this broken one."""
    await passes_correct_pagers()
    try:
        await asyncio.wait_for(check_pager(factory), 15)
    except TimeoutError:
        raise AssertionError(
            f"check_pager did not finish within 15 s against a broken pager that {what}: "
            "put a bound on your loops (a broken pager may never return an empty page).") from None
    except Exception:
        return
    raise AssertionError(f"check_pager passed a broken pager that {what}.")
### END HIDDEN TESTS

try:
    await asyncio.wait_for(check_pager(KeysetPager), 30)
except AssertionError as error:
    raise AssertionError(f"check_pager failed a correct keyset pager: {error}") from None
try:
    await asyncio.wait_for(check_pager(SkipsAtBoundaryPager), 30)
except AssertionError:
    pass
else:
    raise AssertionError("check_pager passed a pager that skips the first row of every page after the first. "
                         "Walk through every page, not just the first, and compare exact ids.")
### BEGIN HIDDEN TESTS
await passes_correct_pagers()
### END HIDDEN TESTS

# %% tests id=test_check_pager_boundaries points=2
"""Check that check_pager catches pagers that get page boundaries or sizes wrong."""
### BEGIN HIDDEN TESTS
class _SqlPager:
    sql = ""

    def __init__(self, session):
        self.session = session

    async def page(self, after_id, limit):
        result = await self.session.execute(
            _text(self.sql), {"after": 0 if after_id is None else after_id, "limit": limit})
        return [row.id for row in result]


class RepeatsBoundaryPager(_SqlPager):
    sql = "SELECT id FROM users WHERE id >= :after ORDER BY id LIMIT :limit"


class OneTooManyPager(_SqlPager):
    sql = "SELECT id FROM users WHERE id > :after ORDER BY id LIMIT :limit + 1"


class OneTooFewPager(_SqlPager):
    sql = "SELECT id FROM users WHERE id > :after ORDER BY id LIMIT greatest(:limit - 1, 1)"


class FirstPageSkipsPager(_SqlPager):
    """Starts after the smallest id when after_id is None."""

    async def page(self, after_id, limit):
        if after_id is None:
            after_id = await self.session.scalar(_text("SELECT min(id) FROM users"))
        result = await self.session.execute(
            _text("SELECT id FROM users WHERE id > :after ORDER BY id LIMIT :limit"), {"after": after_id, "limit": limit})
        return [row.id for row in result]


class DropsLastRowPager(_SqlPager):
    """Fetches limit + 1 rows to see whether more follow, and always drops the last one."""

    sql = "SELECT id FROM users WHERE id > :after ORDER BY id LIMIT :limit + 1"

    async def page(self, after_id, limit):
        return (await super().page(after_id, limit))[:-1]


await must_fail(RepeatsBoundaryPager, "repeats the last row of each page (id >= after_id)")
await must_fail(OneTooManyPager, "returns limit + 1 rows")
await must_fail(OneTooFewPager, "returns limit - 1 rows while more remain")
await must_fail(FirstPageSkipsPager, "leaves out the first user on the first page")
await must_fail(DropsLastRowPager, "loses the last row of a last page that is shorter than limit")
### END HIDDEN TESTS

# %% tests id=test_check_pager_order points=2
"""Check that check_pager catches pagers that return rows in the wrong order."""
### BEGIN HIDDEN TESTS
class NoOrderByPager(_SqlPager):
    sql = "SELECT id FROM users WHERE id > :after LIMIT :limit"


class NewestFirstPager(_SqlPager):
    sql = "SELECT id FROM users WHERE id > :after ORDER BY id DESC LIMIT :limit"


class SortsInPythonPager(_SqlPager):
    """Fetches `limit` rows in disk order, then sorts them: each page looks sorted."""

    sql = "SELECT id FROM users WHERE id > :after LIMIT :limit"

    async def page(self, after_id, limit):
        return sorted(await super().page(after_id, limit))


class SignupTimePager(_SqlPager):
    """Pages by created_at, which users inserted together share, instead of by id."""

    async def page(self, after_id, limit):
        if after_id is None:
            result = await self.session.execute(
                _text("SELECT id FROM users ORDER BY created_at, id LIMIT :limit"), {"limit": limit})
        else:
            result = await self.session.execute(_text(
                "SELECT id FROM users WHERE created_at > (SELECT created_at FROM users WHERE id = :after) "
                "ORDER BY created_at, id LIMIT :limit"), {"after": after_id, "limit": limit})
        return [row.id for row in result]


await must_fail(NoOrderByPager, "has no ORDER BY (rows come back in disk order)")
await must_fail(NewestFirstPager, "orders by id descending")
await must_fail(SortsInPythonPager, "sorts each page in Python instead of ordering in SQL")
await must_fail(SignupTimePager, "pages by signup time (created_at) instead of by id")
### END HIDDEN TESTS

# %% tests id=test_check_pager_edges points=2
"""Check that check_pager catches pagers that go wrong on gaps in ids, limit=1, the end of the data or an empty table."""
### BEGIN HIDDEN TESTS
class IdRangePager(_SqlPager):
    """Id arithmetic: the next page is the ids after_id + 1 … after_id + limit."""

    sql = "SELECT id FROM users WHERE id > :after AND id <= :after + :limit ORDER BY id"


class NextIdShortcutPager(KeysetPager):
    """A shortcut for limit=1: looks up the id after_id + 1."""

    async def page(self, after_id, limit):
        if limit == 1:
            wanted = 1 if after_id is None else after_id + 1
            found = await self.session.scalar(select(User.id).where(User.id == wanted))
            return [] if found is None else [found]
        return await super().page(after_id, limit)


class ArrayAggPager(_SqlPager):
    """One round trip with array_agg, which gives NULL, not an empty array, for no rows."""

    async def page(self, after_id, limit):
        return await self.session.scalar(_text(
            "SELECT array_agg(id ORDER BY id) FROM "
            "(SELECT id FROM users WHERE id > :after ORDER BY id LIMIT :limit) AS page"),
            {"after": 0 if after_id is None else after_id, "limit": limit})


class MinimumFirstPager(KeysetPager):
    """Starts the first page from min(id) - 1, computed in Python."""

    async def page(self, after_id, limit):
        if after_id is None:
            after_id = await self.session.scalar(select(_func.min(User.id))) - 1
        return await super().page(after_id, limit)


await must_fail(IdRangePager, "computes the next page's ids as after_id + 1 … after_id + limit (gaps in ids break it)")
await must_fail(NextIdShortcutPager, "looks up id after_id + 1 when limit is 1 (gaps in ids break it)")
await must_fail(ArrayAggPager, "returns None instead of [] when no rows are left")
await must_fail(MinimumFirstPager, "raises TypeError on an empty table")
### END HIDDEN TESTS

# %% tests id=test_check_pager_changes points=2
"""Check that check_pager catches pagers that go wrong when rows change between pages."""
### BEGIN HIDDEN TESTS
class OffsetPager(_SqlPager):
    """Counts the rows it has served and uses OFFSET: fine until a row before the offset is deleted."""

    def __init__(self, session):
        super().__init__(session)
        self.served = 0

    async def page(self, after_id, limit):
        if after_id is None:
            self.served = 0
        result = await self.session.execute(
            _text("SELECT id FROM users ORDER BY id OFFSET :served LIMIT :limit"), {"served": self.served, "limit": limit})
        ids = [row.id for row in result]
        self.served += len(ids)
        return ids


class CachingPager(_SqlPager):
    """Loads every id on first use and serves pages from that list."""

    def __init__(self, session):
        super().__init__(session)
        self.cache = None

    async def page(self, after_id, limit):
        if self.cache is None:
            self.cache = [row.id for row in await self.session.execute(_text("SELECT id FROM users ORDER BY id"))]
        start = 0 if after_id is None else after_id
        return [i for i in self.cache if i > start][:limit]


class DropsAfterRowPager(_SqlPager):
    """Reads id >= after_id and drops the first row, assuming it is the row of after_id."""

    sql = "SELECT id FROM users WHERE id >= :after ORDER BY id LIMIT :limit + 1"

    async def page(self, after_id, limit):
        ids = await super().page(after_id, limit)
        return ids[:limit] if after_id is None else ids[1:limit + 1]


await must_fail(OffsetPager, "pages with OFFSET, so a deleted row shifts the next page")
await must_fail(CachingPager, "serves pages from a list loaded once (deleted rows come back, new rows never appear)")
await must_fail(DropsAfterRowPager, "reads id >= after_id and drops the first row (loses a row when after_id's row was deleted)")
### END HIDDEN TESTS

# %% [markdown] id=part-d-same-pytest
# ---
# ## Part D — The same, with pytest (0 points)
#
# In a project, tests live in files and run with **pytest**.
# Async tests need a plugin that runs them on an event loop: **pytest-asyncio**.
# In its *strict* mode (the default, and this course's choice) nothing is implicit: an async test carries `@pytest.mark.asyncio`, and an async fixture is declared with `@pytest_asyncio.fixture`.
# Sync fixtures keep plain `@pytest.fixture`.
#
# The next cells write a small test suite into a temporary folder (the `%%writefile` cell magic saves a cell's text to a file), then run pytest on it once, in a separate process, exactly as you would in a terminal.

# %% id=part-d-same-pytest-code
import atexit
import shutil
import tempfile
from pathlib import Path

suite = Path(tempfile.mkdtemp(prefix="asyncdb-lab-tests-"))
atexit.register(shutil.rmtree, suite, ignore_errors=True)  # gone with the kernel, whatever happens
print("test suite folder:", suite)

# %% [markdown] id=first-configuration-pytest-ini
# First the configuration, `pytest.ini`: strict mode, and one event loop for the whole test session, because an engine shared by all tests holds asyncpg connections, and a connection belongs to the event loop that opened it.

# %% id=write-pytest-ini
%%writefile {suite}/pytest.ini
[pytest]
asyncio_mode = strict
asyncio_default_fixture_loop_scope = session
asyncio_default_test_loop_scope = session

# %% [markdown] id=next-conftest-py-where
# Next, `conftest.py`, where pytest finds fixtures shared by every test file:
#
# - `database_url` (one per test session) tries a PostgreSQL container with **testcontainers**, and falls back to the course's embedded PostgreSQL (`disposable_database`) when Docker cannot be reached, printing why. Starting a container blocks, so it runs in a thread (`asyncio.to_thread`) instead of stalling the event loop.
# - `engine` (one per test session) creates the tables with `Base.metadata.create_all`, run through `run_sync` because table creation is synchronous code inside SQLAlchemy.
# - `session` (one per test) is the pattern of Part B as a fixture.
# - `make_user` is a factory fixture: a sync fixture returning an async function that adds a valid user, with any field overridden.

# %% id=write-conftest-py
%%writefile {suite}/conftest.py
"""Fixtures: one PostgreSQL per test session, one rolled-back transaction per test."""
import asyncio
import itertools

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from asyncdb_lab import disposable_database
from asyncdb_lab.models import Base, User


def start_postgres_container():
    """PostgreSQL in Docker through testcontainers; raises when Docker cannot be used."""
    try:
        from testcontainers.community.postgres import PostgresContainer  # newer testcontainers
    except ImportError:
        from testcontainers.postgres import PostgresContainer
    return PostgresContainer("postgres:18-alpine", driver="asyncpg").start()


@pytest_asyncio.fixture(scope="session")
async def database_url():
    try:
        container = await asyncio.to_thread(start_postgres_container)
    except Exception as error:
        print(f"\n[postgres] Docker not usable: {type(error).__name__}: {error}"
              "\n[postgres] falling back to the course's embedded PostgreSQL")
        async with disposable_database(label="pytest", say=False) as database:
            yield database.url
    else:
        print(f"\n[postgres] testcontainers started {container.image}")
        try:
            yield container.get_connection_url()
        finally:
            container.stop()


@pytest_asyncio.fixture(scope="session")
async def engine(database_url):
    engine = create_async_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture
async def session(engine):
    """An AsyncSession whose commits are savepoints in a transaction rolled back after the test."""
    async with engine.connect() as conn:
        outer = await conn.begin()
        session = AsyncSession(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            yield session
        finally:
            await session.close()
            await outer.rollback()


@pytest.fixture
def make_user(session):
    """Factory: `await make_user(name="Ada")` adds and flushes a valid user."""
    numbers = itertools.count(1)

    async def make(**overrides) -> User:
        n = next(numbers)
        user = User(**{"email": f"user{n}@example.test", "name": f"User {n}", **overrides})
        session.add(user)
        await session.flush()
        return user

    return make

# %% [markdown] id=mistake-async-fixture-plain
# > **Common mistake: an async fixture with plain `@pytest.fixture` in strict mode.**
# > The tutorial declares its async database fixture with `@pytest.fixture`.
# > In strict mode pytest-asyncio leaves such a fixture alone, and pytest itself cannot run an async generator: with pytest 9 the test that uses it errors before it starts (older pytest versions handed the test an unstarted async generator object instead, at most with a warning, and the test failed in confusing ways or passed without testing anything).
# > The first test below makes that mistake on purpose; the others use the fixtures above, declared with `@pytest_asyncio.fixture`.

# %% id=write-test-users-py
%%writefile {suite}/test_users.py
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from asyncdb_lab.models import User


@pytest.fixture  # the mistake: pytest's own decorator on an async fixture
async def plain_session(engine):
    async with AsyncSession(engine) as session:
        yield session


@pytest.mark.asyncio
async def test_with_a_plain_async_fixture(plain_session):
    assert await plain_session.scalar(select(func.count(User.id))) == 0


@pytest.mark.asyncio
async def test_a_commit_is_visible_inside_the_test(session, make_user):
    user = await make_user(name="Ada")
    await session.commit()
    assert await session.scalar(select(User.name).where(User.id == user.id)) == "Ada"


@pytest.mark.asyncio
async def test_the_previous_test_left_nothing_behind(session):
    assert await session.scalar(select(func.count(User.id))) == 0


@pytest.mark.asyncio
async def test_a_failed_insert_does_not_end_the_test(session, make_user):
    await make_user(email="same@example.test")
    await session.commit()
    with pytest.raises(IntegrityError):
        await make_user(email="same@example.test")
    await session.rollback()  # back to the savepoint: the first user stays
    await make_user(email="other@example.test")
    assert await session.scalar(select(func.count(User.id))) == 2

# %% [markdown] id=now-pytest-run-subprocess
# Now one pytest run, in a subprocess with the notebook's own Python (`sys.executable -m pytest`):
# `-q` keeps the report short, `-s` shows what the fixtures print, `--tb=line` gives one line per failure, and `-p no:nbval` skips a notebook plugin installed for the course's own checks that is slow to load.

# %% id=now-pytest-run-subprocess-code
import subprocess
import sys
import time

started = time.perf_counter()
run = subprocess.run(
    [sys.executable, "-m", "pytest", "-q", "-s", "--tb=line", "--color=no", "-p", "no:cacheprovider", "-p", "no:nbval",
     str(suite)],
    cwd=suite, capture_output=True, text=True, timeout=120,
)
print(run.stdout[-2500:])
print(f"pytest exited with code {run.returncode} after {time.perf_counter() - started:.1f} s")

# %% [markdown] id=read-report-bottom
# Read the report from the bottom: three tests passed, and one *errored* at setup, with pytest's own message about an async fixture that no plugin handled.
# The fix is the one-word change the other fixtures show: `@pytest_asyncio.fixture`.
# The second and third tests together prove the rollback: the first committed a user, the next one found the table empty.
# The fourth shows a failed insert, a rollback, and more work in the same test, all undone at the end.
#
# With Docker available, the same suite runs against a `postgres:18-alpine` container instead; nothing else changes.

# %% [markdown] id=mistake-event-loop-override
# > **Common mistake: overriding the `event_loop` fixture to get one loop for the session.**
# > Tutorials written for pytest-asyncio before 0.23 share one event loop across all tests by redefining pytest-asyncio's own `event_loop` fixture with `scope="session"`.
# > pytest-asyncio deprecated that recipe in 0.22/0.23 and removed the `event_loop` fixture in 1.0.
# > Since then, a fixture named `event_loop` is just a fixture that no test asks for: pytest-asyncio never calls it, and no error or warning names it. Each test runs on a loop of its own again, and an engine shared by the session breaks as soon as a second test reuses a pooled connection.
# > The next cells write that recipe into a second folder, whose `pytest.ini` only sets strict mode, next to a file that asks for the session's loop the current way, and run pytest on the folder as above. Both files use this notebook's database, whose URL they get from an environment variable.

# %% id=legacy-loop-folder
import os
from importlib.metadata import version

legacy = Path(tempfile.mkdtemp(prefix="asyncdb-lab-legacy-loop-"))
atexit.register(shutil.rmtree, legacy, ignore_errors=True)
(legacy / "pytest.ini").write_text("[pytest]\nasyncio_mode = strict\n")
print("pytest-asyncio", version("pytest-asyncio"), "· second folder:", legacy)

# %% [markdown] id=old-style-test-file
# The old-style file: the override, an engine for the whole session, and two tests that each note the loop they run on.
# If pytest-asyncio used the override, its line would appear in the report (`-s` shows what fixtures print).

# %% id=write-test-event-loop-override
%%writefile {legacy}/test_event_loop_override.py
import asyncio
import os

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

LOOPS = []


@pytest.fixture(scope="session")
def event_loop():  # the old recipe: one loop for the whole session
    print("\n[event_loop] the override was used")
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest_asyncio.fixture(scope="session")
async def engine():
    engine = create_async_engine(os.environ["DATABASE_URL"])
    yield engine
    await engine.dispose()


@pytest.mark.asyncio
async def test_first(engine):
    LOOPS.append(asyncio.get_running_loop())
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT 1")) == 1


@pytest.mark.asyncio
async def test_second(engine):
    LOOPS.append(asyncio.get_running_loop())
    print(f"\n[event_loop override] same loop as test_first? {LOOPS[0] is LOOPS[1]}")
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT 1")) == 1

# %% [markdown] id=fix-say-which-loop
# The fix is to delete the override and say which loop you want.
# For a whole suite, that is the two settings in this notebook's first `pytest.ini`; for one file, a `loop_scope` on its marks and fixtures, as here:

# %% id=write-test-loop-scope
%%writefile {legacy}/test_loop_scope.py
import asyncio
import os

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

pytestmark = pytest.mark.asyncio(loop_scope="session")  # every test of this file on the session's loop
LOOPS = []


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def engine():
    engine = create_async_engine(os.environ["DATABASE_URL"])
    yield engine
    await engine.dispose()


async def test_first(engine):
    LOOPS.append(asyncio.get_running_loop())
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT 1")) == 1


async def test_second(engine):
    LOOPS.append(asyncio.get_running_loop())
    print(f"\n[loop_scope] same loop as test_first? {LOOPS[0] is LOOPS[1]}")
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT 1")) == 1

# %% [markdown] id=run-legacy-folder
# One pytest run over the second folder. Long lines are cut to their end, and the warnings pytest-asyncio wrote to stderr are listed after the report.

# %% id=run-legacy-folder-code
legacy_run = subprocess.run(
    [sys.executable, "-m", "pytest", "-q", "-s", "--tb=line", "--color=no", "-p", "no:cacheprovider", "-p", "no:nbval",
     str(legacy)],
    cwd=legacy, capture_output=True, text=True, timeout=120, env={**os.environ, "DATABASE_URL": db.url},
)
for line in legacy_run.stdout.splitlines():
    if line.strip():
        print(line if len(line) <= 140 else "… " + line[-120:])
print("warnings on stderr:", [line.split(": ", 1)[-1] for line in legacy_run.stderr.splitlines() if "Warning:" in line])

# %% [markdown] id=legacy-report-read
# The line `[event_loop] the override was used` never appears: pytest-asyncio did not call the override.
# In the old-style file, the second test ran on a new loop and failed with asyncpg's "attached to a different loop", because the engine's pooled connection belongs to the loop of the first test.
# The only warning is about an option the `pytest.ini` leaves unset (`asyncio_default_fixture_loop_scope`), and it does not mention `event_loop`: a project that sets that option sees no warning at all.
# In the file with `loop_scope="session"`, both tests shared one loop and passed.
#
# Finally, remove the temporary folders (run the cells of this part again to write them anew).

# %% id=read-report-bottom-code
shutil.rmtree(suite, ignore_errors=True)
shutil.rmtree(legacy, ignore_errors=True)
print("removed", suite, "and", legacy)

# %% [markdown] id=summary
# ---
# ## Summary
#
# - Test against PostgreSQL, not SQLite: SQLite drops `FOR UPDATE`, skips foreign keys by default and lacks PostgreSQL's functions, so wrong code passes.
# - One server per test session (testcontainers with Docker, the embedded server without), one transaction per test: a session joined with `join_transaction_mode="create_savepoint"` turns the code's commits and rollbacks into savepoints, and the outer rollback removes everything.
# - A test catches the bugs its data can show: shuffled ids expose a missing `ORDER BY`, several page sizes expose boundary errors, changes between pages expose OFFSET paging and caches. Compare exact values, not lengths.
# - In pytest-asyncio's strict mode, async tests need `@pytest.mark.asyncio` and async fixtures `@pytest_asyncio.fixture`; sharing an engine across tests needs one event loop for the session, asked for with `loop_scope="session"` or the `asyncio_default_*_loop_scope` settings. pytest-asyncio 1.x ignores an overridden `event_loop` fixture without a word.
#
# ## Interview questions
#
# 1. Name three ways an in-memory SQLite test database can let a bug in PostgreSQL code pass.
# 2. How do you make each test start from a clean database without re-creating it, when the code under test calls `commit()`?
# 3. What goes wrong if the test session joins the outer transaction without `join_transaction_mode="create_savepoint"`?
# 4. Your pagination test passes, and production users see duplicate rows between pages. What was your test missing?
# 5. In pytest-asyncio strict mode, what happens to an async fixture declared with `@pytest.fixture`, and what is the fix?
# 6. Why does an engine shared by every test need the tests to run on a single event loop?
# 7. An older test suite defines its own session-scoped `event_loop` fixture. What does pytest-asyncio 1.x do with it?
#
# <details><summary>Answers</summary>
#
# 1. `with_for_update()` emits no `FOR UPDATE`, so locking code is not tested; foreign keys are not enforced unless `PRAGMA foreign_keys=ON`; PostgreSQL functions (`DATE_TRUNC`, `generate_series`, JSONB) do not exist; also different types (`Numeric` stored as a float: typed columns turn it back into a `Decimal`, `text()` queries return the float), unenforced `VARCHAR` lengths, different isolation and error codes.
# 2. Begin a transaction on a connection, bind the `AsyncSession` to that connection with `join_transaction_mode="create_savepoint"`, and roll back the outer transaction after the test. The code's commits release savepoints and its rollbacks roll back to them.
# 3. In the default mode the session's `rollback()` rolls back the outer transaction: work done earlier in the test disappears, and later commits are real and leak into other tests.
# 4. Pages after the first, boundaries, and data that changes between pages: an OFFSET pager repeats or skips rows when rows are inserted or deleted meanwhile. A good test walks every page, compares exact ids, and changes the data mid-walk.
# 5. pytest-asyncio ignores it, and pytest cannot run an async generator: pytest 9 reports an error at setup (older versions passed the test an unstarted async generator object, at most with a warning). Declare it with `@pytest_asyncio.fixture`.
# 6. asyncpg connections are tied to the event loop that opened them; a pooled connection used from another loop fails. Session-scoped async fixtures and the tests using them must share the session's loop (`asyncio_default_fixture_loop_scope` / `asyncio_default_test_loop_scope = session`, or `loop_scope="session"`).
# 7. Nothing: pytest-asyncio removed its `event_loop` fixture in 1.0, so the override is a fixture no test requests, never called and never mentioned. Each test gets its own loop again, and a session-wide engine fails with "attached to a different loop". Delete the override and set the loop scope instead.
#
# </details>
#
# ## Further reading
#
# - SQLAlchemy: [Joining a Session into an external transaction (such as for test suites)](https://docs.sqlalchemy.org/en/20/orm/session_transaction.html#joining-a-session-into-an-external-transaction-such-as-for-test-suites)
# - SQLAlchemy: [SQLite dialect: foreign key support](https://docs.sqlalchemy.org/en/20/dialects/sqlite.html#foreign-key-support) and [aiosqlite](https://docs.sqlalchemy.org/en/20/dialects/sqlite.html#module-sqlalchemy.dialects.sqlite.aiosqlite)
# - pytest-asyncio: [Concepts: test discovery modes](https://pytest-asyncio.readthedocs.io/en/stable/concepts.html), [How to run all tests in the session in the same event loop](https://pytest-asyncio.readthedocs.io/en/stable/how-to-guides/run_session_tests_in_same_loop.html) and [How to change the default event loop scope of all fixtures](https://pytest-asyncio.readthedocs.io/en/stable/how-to-guides/change_default_fixture_loop.html)
# - pytest: [Sync test depending on async fixture](https://docs.pytest.org/en/stable/deprecations.html#sync-test-depending-on-async-fixture) and [fixtures](https://docs.pytest.org/en/stable/how-to/fixtures.html)
# - testcontainers-python: [PostgreSQL module](https://testcontainers-python.readthedocs.io/en/latest/modules/postgres/README.html)
# - PostgreSQL: [SELECT: the locking clause](https://www.postgresql.org/docs/current/sql-select.html#SQL-FOR-UPDATE-SHARE)

# %% [markdown] id=check-your-notebook
# ---
# **Check your notebook.** Save (Ctrl+S), then run this cell: it checks the saved file as `asyncdb-lab check` does, on a fresh database, and shows each exercise's points, a failing test's message with its first hint, and what to do next.

# %% id=check-this-notebook
from asyncdb_lab.learner.in_lab import check_this_notebook

check_this_notebook()
