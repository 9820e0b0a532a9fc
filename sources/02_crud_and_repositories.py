# %% [markdown] id=intro
# # **02 · CRUD and repositories**
#
# Create, read, update and delete rows through a repository, with the caller owning the transaction, pages that never skip rows, and objects that agree with the database.
#
# **Learning goals**
# - Explain what `flush()`, `commit()`, `refresh()` and `RETURNING` each do, and see it in the SQL.
# - Write a repository whose methods flush and never commit, so that the caller decides what one unit of work is.
# - Page through a table with keyset pagination, and show how OFFSET (with or without `ORDER BY`) loses rows.
# - Keep an object in step with its row after an `UPDATE`, triggers included (`RETURNING`, `populate_existing`).
# - Insert a unique row safely when many requests race for it, by letting the constraint decide.
#
# **Prerequisites**: notebook 01 (engines, `AsyncSession`, `async_sessionmaker`, `expire_on_commit`, one session per task).
#
# **Out of scope**: loading relationships (03), row locks and isolation levels (04), savepoints (05), bulk inserts and upserts (07).

# %% [markdown] id=setup
# ## Setup
#
# A fresh copy of the course database with its seed data: 1,000 users, their posts, accounts and orders.
# From this notebook on, the models are the course's own, imported from `asyncdb_lab.models`; `session_factory` is `db.session_factory` (`expire_on_commit=False`).

# %% readonly id=setup-database
from asyncdb_lab import count_statements, disposable_database, pool_snapshot
from asyncdb_lab.models import Post, User

db = await disposable_database(seed=True)
session_factory = db.session_factory

# %% [markdown] id=part-a-flush-commit-refresh
# ---
# ## Part A — flush, commit, refresh and RETURNING (0 points)
#
# A session collects your changes in Python first: `session.add(user)` sends nothing.
# Two calls move them to the database, and they are not the same thing:
#
# - `await session.flush()` sends the pending `INSERT`, `UPDATE` and `DELETE` statements **inside the current transaction**. The database checks its constraints and fills in ids and defaults; nothing is permanent yet.
# - `await session.commit()` flushes whatever is still pending, then sends `COMMIT`: the changes become permanent and visible to everyone else.
#
# The next cell flushes a new user, looks for it from another connection, then rolls back.
# `visible_elsewhere()` asks through `db.engine`, a different connection from the session's.

# %% id=visible-elsewhere
from sqlalchemy import select, text


async def visible_elsewhere(email: str) -> bool:
    async with db.engine.connect() as conn:
        found = await conn.execute(text("SELECT 1 FROM users WHERE email = :email"), {"email": email})
        return found.first() is not None


async with session_factory() as session:
    flo = User(email="flo.flush@example.com", name="Flo Flush")
    session.add(flo)
    print("before flush: id =", flo.id)
    with count_statements(session) as sql:
        await session.flush()
    print("after flush:  id =", flo.id, "· created_at =", flo.created_at)
    print(sql)
    print("another connection sees the row before commit:", await visible_elsewhere(flo.email))
    await session.rollback()
print("after rollback, the row exists:", await visible_elsewhere(flo.email))

# %% [markdown] id=flush-sent-insert-returning
# The flush sent one `INSERT … RETURNING users.id, users.created_at`.
# `RETURNING` is PostgreSQL's way to hand back values the database generated (the id from its sequence, `created_at` from its default) in the same round trip.
# The row existed only inside the session's transaction, and the rollback removed it.
#
# A flushed row is not invisible to everyone in every way, though: it holds its unique key.
# The next cell flushes a user in session `a`, then tries to insert the same e-mail address in session `b`.
# `b` has to wait for `a` to commit or roll back; here it gives up after 200 ms (`lock_timeout`).

# %% id=flush-sent-insert-returning-code
import time

async with session_factory() as a, session_factory() as b:
    a.add(User(email="held.key@example.com", name="First"))
    await a.flush()
    await b.execute(text("SET LOCAL lock_timeout = '200ms'"))
    b.add(User(email="held.key@example.com", name="Second"))
    started = time.perf_counter()
    try:
        await b.flush()
    except Exception as error:
        print(f"after {time.perf_counter() - started:.2f} s: {type(error).__name__}: {str(error).splitlines()[0]}")
    await a.rollback()

# %% [markdown] id=two-more-things-session
# Two more things a session does with the database values:
#
# - **Autoflush**: before it runs a query, the session flushes pending changes, so the query sees them. The `INSERT` below is sent before the `SELECT`, without a `flush()` call.
# - **Refresh**: `await session.refresh(obj)` reloads an object's row. You need it when something other than your own code changed the row: a trigger, a default computed on `UPDATE`, another connection.

# %% id=two-more-things-session-code
async with session_factory() as session:
    session.add(User(email="auto.flush@example.com", name="Auto Flush"))
    with count_statements(session) as sql:
        found = await session.scalar(select(User).where(User.email == "auto.flush@example.com"))
    print("found by a query before any flush():", found)
    print(sql)
    await session.execute(text("UPDATE users SET name = 'Changed Behind Your Back' WHERE id = :id"), {"id": found.id})
    print("the object still says:", found.name)
    await session.refresh(found)
    print("after refresh():      ", found.name)
    await session.rollback()

# %% [markdown] id=mistake-repository-commits-inside
# > **Common mistake: a repository that commits inside its methods.**
# > A *repository* gathers the queries for one kind of object behind methods like `add()` and `get()`.
# > The tutorial's repository calls `commit()` (and `refresh()`) inside `create()`, `update()` and `delete()`.
# > Then no caller can make two changes succeed or fail together.
# > Below, "register a user with their first post" fails at the post (its title is longer than the column allows), yet the user stays behind: it was committed on its own.

# %% id=committing-user-repository
from sqlalchemy.exc import DBAPIError


class CommittingUserRepository:
    """The tutorial's shape: every write commits on its own."""

    def __init__(self, session) -> None:
        self.session = session

    async def create(self, email: str, name: str) -> User:
        user = User(email=email, name=name)
        self.session.add(user)
        await self.session.commit()
        await self.session.refresh(user)
        return user


async def register_with_first_post(session, repository, title: str) -> None:
    user = await repository.create("first.post@example.com", "First Post")
    session.add(Post(author_id=user.id, title=title, content="Hello!"))
    await session.flush()


async with session_factory() as session:
    try:
        await register_with_first_post(session, CommittingUserRepository(session), title="x" * 250)
        await session.commit()
    except DBAPIError as error:
        await session.rollback()
        print(f"{type(error).__name__}: {str(error).splitlines()[0]}")
print("half a registration left in the database:", await visible_elsewhere("first.post@example.com"))

# %% [markdown] id=fix-repositories-flush-caller
# **The fix: repositories flush; the caller commits one unit of work.**
# The repository's `create()` only adds and flushes (so the id is known and constraint errors surface right there).
# The caller opens the transaction with `session_factory.begin()`, which commits when the block ends and rolls back everything if it raises.

# %% id=flushing-user-repository
from sqlalchemy import delete


class FlushingUserRepository:
    """Writes are flushed, never committed: the caller owns the transaction."""

    def __init__(self, session) -> None:
        self.session = session

    async def create(self, email: str, name: str) -> User:
        user = User(email=email, name=name)
        self.session.add(user)
        await self.session.flush()
        return user


async with session_factory.begin() as session:  # tidy up the half registration from above
    await session.execute(delete(User).where(User.email == "first.post@example.com"))

try:
    async with session_factory.begin() as session:
        await register_with_first_post(session, FlushingUserRepository(session), title="x" * 250)
except DBAPIError as error:
    print(f"{type(error).__name__}: {str(error).splitlines()[0]}")
print("half a registration left in the database:", await visible_elsewhere("first.post@example.com"))

# %% [markdown] id=same-tutorial-session-dependency
# The same tutorial's session dependency also calls `await session.close()` in a `finally:` inside `async with AsyncSessionLocal() as session:`.
# That is redundant: leaving the `async with` block closes the session, rolls back anything not committed and returns the connection to the pool.

# %% id=same-tutorial-session-dependency-code
async with session_factory() as session:
    await session.execute(text("SELECT 1"))
    print("inside the block:", pool_snapshot(db.engine))
print("after the block: ", pool_snapshot(db.engine))

# %% [markdown] id=part-b-reading-many-rows
# ---
# ## Part B — Reading many rows: OFFSET versus keyset (0 points)
#
# Jobs that walk through a whole table read it in batches. The tutorial's batching loop reads `select(User).offset(offset).limit(1000)` and adds the batch size to the offset each time.
#
# > **Common mistake: OFFSET batching without `ORDER BY`.**
# > Without `ORDER BY`, PostgreSQL returns rows in whatever order is cheapest, usually the order they sit in the table.
# > An `UPDATE` writes a new version of the row elsewhere in the table (that is how PostgreSQL keeps old versions for concurrent readers), so a row you just processed moves **behind** rows you have not read yet.
# > The next offset then counts past rows nobody has seen.
# > The cell below "processes" every user in batches of 100 (upper-cases the name), all in one transaction that it rolls back at the end.

# %% id=part-b-reading-many-code
async with session_factory() as session:
    seen: list[int] = []
    offset = 0
    with count_statements(session) as sql:
        while batch := (await session.scalars(select(User).offset(offset).limit(100))).all():
            for user in batch:
                seen.append(user.id)
                user.name = user.name.upper()
            await session.flush()
            offset += 100
    print(sql.report(limit=1))
    print(f"read {len(seen)} rows, {len(set(seen))} distinct users; {1000 - len(set(seen))} users never processed")
    await session.rollback()

# %% [markdown] id=adding-order-id-fixes
# Adding `ORDER BY id` fixes the order, not the offset: OFFSET counts rows, and the rows change under it.
# A job that archives (here: deletes) each batch after reading it shifts every later row forward by a batch, and the next offset jumps over them.
# The cells below archive the users who signed up in April, in batches of 50, and roll back.
# OFFSET also gets slower as it grows: the database reads and throws away every skipped row.

# %% id=adding-order-id-fixes-code
from datetime import datetime, timezone

from sqlalchemy import func

IN_APRIL = User.created_at < datetime(2026, 5, 1, tzinfo=timezone.utc)

async with session_factory() as session:
    april = await session.scalar(select(func.count()).where(IN_APRIL))
    archived = 0
    offset = 0
    with count_statements(session) as sql:
        while ids := (await session.scalars(
            select(User.id).where(IN_APRIL).order_by(User.id).offset(offset).limit(50)
        )).all():
            await session.execute(delete(User).where(User.id.in_(ids)))
            archived += len(ids)
            offset += 50
    print(sql.report(limit=1))
    left = await session.scalar(select(func.count()).where(IN_APRIL))
    print(f"OFFSET with ORDER BY: {april} April users, archived {archived}, {left} never seen")
    await session.rollback()

# %% [markdown] id=fix-keyset-pagination
# **The fix: keyset pagination.** Remember the last id you saw and ask for the rows after it: `WHERE id > :last ORDER BY id LIMIT :n`.
# The primary-key index finds the starting point directly, whatever page you are on, and rows that change or disappear behind you cannot shift what comes next.

# %% id=fix-keyset-pagination-code
async with session_factory() as session:
    archived = 0
    last_id = 0
    with count_statements(session) as sql:
        while ids := (await session.scalars(
            select(User.id).where(IN_APRIL, User.id > last_id).order_by(User.id).limit(50)
        )).all():
            await session.execute(delete(User).where(User.id.in_(ids)))
            archived += len(ids)
            last_id = ids[-1]
    left = await session.scalar(select(func.count()).where(IN_APRIL))
    print(f"keyset: archived {archived} April users, {left} never seen")
    print(sql.report(limit=1))
    await session.rollback()

# %% [markdown] id=mistake-expire-all-free
# > **Common mistake: `expire_all()` to "free memory" between batches.**
# > The tutorial's loop calls `session.expire_all()` after each batch to clear the session.
# > It clears nothing: every object stays in the session's *identity map* (the session's record of the objects it has loaded); only their loaded values are marked stale.
# > Touch one afterwards and the session must reload it; in async code that is an implicit query, so it raises `MissingGreenlet`.
# > `expunge_all()` is the call that makes the session forget its objects (or use a new session per batch).

# %% id=mistake-expire-all-free-code
async with session_factory() as session:
    users = (await session.scalars(select(User).order_by(User.id).limit(300))).all()
    print("objects in the identity map:      ", len(session.identity_map))
    session.expire_all()
    print("after expire_all():               ", len(session.identity_map))
    try:
        print(users[0].name)
    except Exception as error:
        print(f"reading an expired user: {type(error).__name__}: {str(error)[:60]}…")
    session.expunge_all()
    print("after expunge_all():              ", len(session.identity_map))

# %% [markdown] id=identity-map-holds-objects
# The identity map holds objects weakly: once your code drops its references to unchanged objects, they can be freed anyway.
# Objects you changed are held until they are flushed.
# And in a batch job, the same `MissingGreenlet` appears when the processing touches a relationship nobody loaded (`user.posts`): load what the batch needs in the query (notebook 03).

# %% [markdown] id=part-c-updates-stale-objects
# ---
# ## Part C — Updates and stale objects (0 points)
#
# Some values are decided by the database, not by your code: defaults, generated columns, **triggers**.
# Below, a trigger tidies every name written to `users` (trims and collapses spaces, capitalises words), as a real schema might.
# PostgreSQL runs DDL inside transactions too, so the trigger disappears with the rollback at the end of the cell.
#
# An `UPDATE` statement run through the session updates the row; SQLAlchemy then copies the value **you** sent into the object already in the session.
# The trigger's change never reaches the object: it is *stale*.

# %% id=part-c-updates-stale-code
from sqlalchemy import update

TIDY_NAMES = [
    text(
        "CREATE FUNCTION tidy_name() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN NEW.name := initcap(regexp_replace(btrim(NEW.name), '[[:space:]]+', ' ', 'g')); "
        "RETURN NEW; END $$"
    ),
    text("CREATE TRIGGER tidy_name BEFORE INSERT OR UPDATE OF name ON users FOR EACH ROW EXECUTE FUNCTION tidy_name()"),
]

async with session_factory() as session:
    for statement in TIDY_NAMES:
        await session.execute(statement)
    ada = await session.get(User, 2)
    await session.execute(update(User).where(User.id == 2).values(name="  ada   lovelace "))
    in_database = (await session.execute(text("SELECT name FROM users WHERE id = 2"))).scalar_one()
    print(f"the object says {ada.name!r}; the database says {in_database!r}")
    await session.rollback()

# %% [markdown] id=fix-ask-database-row
# **The fix: ask the database for the row it wrote.**
# `UPDATE … RETURNING` sends the row back in the same statement, and the execution option `populate_existing=True` lets those returned values overwrite the object the session already holds.
# (Without `populate_existing`, the session keeps the object's current values: that is how it protects changes you have not flushed.)
# `await session.refresh(ada)` after the update works too, at the cost of a second statement.

# %% id=fix-ask-database-row-code
async with session_factory() as session:
    for statement in TIDY_NAMES:
        await session.execute(statement)
    ada = await session.get(User, 2)
    with count_statements(session) as sql:
        result = await session.execute(
            update(User)
            .where(User.id == 2)
            .values(name="  ada   lovelace ")
            .returning(User)
            .execution_options(populate_existing=True)
        )
        updated = result.scalar_one_or_none()
    print(f"returned the same object: {updated is ada}; it says {ada.name!r}")
    print(sql)
    await session.rollback()

# %% [markdown] id=same-staleness-hits-plain
# The same staleness hits the plain ORM way of updating (`ada.name = "…"` then `flush()`): the session sends your value and assumes it was stored as sent.
# `returning()` also tells you whether a row matched at all: no row back means no such user.

# %% [markdown] id=part-d-repository-users
# ---
# ## Part D — A repository for users (12 points)
#
# Write `UserRepository`: the queries for users behind six methods, on a session the caller gives it.
# Every method works **inside the caller's transaction**: it may flush, it never commits, rolls back or closes the session.
#
# | method | does |
# |---|---|
# | `add(email, name) -> User` | inserts a user and flushes, so the returned user has its id; a duplicate e-mail raises `IntegrityError` from `add()` itself |
# | `get(user_id) -> User \| None` | the user with that id, or `None` |
# | `get_by_email(email) -> User \| None` | the user whose e-mail is exactly `email` (same case, nothing trimmed, `_` and `%` are ordinary characters), or `None` |
# | `page(after_id, limit) -> list[User]` | up to `limit` users with ids greater than `after_id` (from the start when `None`), ordered by id: keyset, in one statement. Ids have gaps (deleted users), and rows are not stored in id order |
# | `rename(user_id, name) -> User \| None` | sets the name and returns the user **as the database has it after the update**, triggers included; `None` when there is no such user |
# | `delete(user_id) -> bool` | deletes the user (the database deletes their posts, accounts and orders with it); `True` if a row was deleted |
#
# The tests run each method on their own copy of the database, roll back to check that nothing was committed, call your methods inside a transaction the caller has already begun, install a trigger like the one in Part C, and watch the SQL your `page()` sends.

# %% solution id=UserRepository
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession


class UserRepository:
    """Queries for users in the caller's session: methods may flush, never commit."""

    def __init__(self, session: AsyncSession) -> None:
        """Keep the session to work in."""
        ### BEGIN SOLUTION
        self.session = session
        ### END SOLUTION

    async def add(self, email: str, name: str) -> User:
        """Insert a user and flush it, so its id is set and a duplicate e-mail raises here."""
        ### BEGIN SOLUTION
        user = User(email=email, name=name)
        self.session.add(user)
        await self.session.flush()
        return user
        ### END SOLUTION

    async def get(self, user_id: int) -> User | None:
        """The user with this id, or None."""
        ### BEGIN SOLUTION
        return await self.session.get(User, user_id)
        ### END SOLUTION

    async def get_by_email(self, email: str) -> User | None:
        """The user with exactly this e-mail address, or None."""
        ### BEGIN SOLUTION
        return await self.session.scalar(select(User).where(User.email == email))
        ### END SOLUTION

    async def page(self, after_id: int | None, limit: int) -> list[User]:
        """Up to `limit` users with id > after_id (all ids when None), ordered by id, in one statement."""
        ### BEGIN SOLUTION
        statement = select(User).order_by(User.id).limit(limit)
        if after_id is not None:
            statement = statement.where(User.id > after_id)
        return list((await self.session.scalars(statement)).all())
        ### END SOLUTION

    async def rename(self, user_id: int, name: str) -> User | None:
        """Set the name; return the user as the database has it afterwards, or None if there is none."""
        ### BEGIN SOLUTION
        result = await self.session.execute(
            update(User)
            .where(User.id == user_id)
            .values(name=name)
            .returning(User)
            .execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()
        ### END SOLUTION

    async def delete(self, user_id: int) -> bool:
        """Delete the user; True if a row was deleted."""
        ### BEGIN SOLUTION
        result = await self.session.execute(delete(User).where(User.id == user_id))
        return result.rowcount > 0
        ### END SOLUTION

# %% tests id=test_UserRepository_add points=3
"""Check that add() inserts and flushes a user, and leaves the commit to the caller."""
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from asyncdb_lab.checks import expect, expect_type

async with disposable_database(seed=True, label="check_repo_add", say=False) as other:
    async with other.session_factory() as session:
        added = await UserRepository(session).add("new.reader@example.com", "New Reader")
        expect_type(added, User, "the result of add()", "Return the User you added.")
        expect_type(added.id, int, "the id of the added user", "Flush after adding, so the database assigns the id.")
        expect((added.email, added.name), ("new.reader@example.com", "New Reader"), "the added user's email and name")
    ### BEGIN HIDDEN TESTS

    async def rows_with(email: str) -> int:
        async with other.engine.connect() as conn:
            return (await conn.execute(
                text("SELECT count(*) FROM users WHERE email = :email"), {"email": email}
            )).scalar_one()

    async with other.session_factory() as session:
        await UserRepository(session).add("not.yet@example.com", "Not Yet")
        expect(await rows_with("not.yet@example.com"), 0, "rows another connection sees right after add()",
               "add() committed: flush, and leave commit() to the caller.")
        await session.rollback()
    expect(await rows_with("not.yet@example.com"), 0, "rows left after the caller rolled back",
           "add() committed: the caller's rollback must undo it. Flush, never commit.")

    async with other.session_factory() as session:
        repository = UserRepository(session)
        first = await repository.add("one@example.com", "One")
        second = await repository.add("two@example.com", "Two")
        expect(second.id != first.id, True, "two added users have different ids")
        await session.commit()
    expect((await rows_with("one@example.com"), await rows_with("two@example.com")), (1, 1),
           "rows after the caller committed two add() calls")

    async with other.session_factory() as session:
        await session.execute(text("SELECT 1"))  # the caller's transaction has already begun
        session.add(User(email="pending@example.com", name="Pending"))  # the caller's own work, not flushed yet
        try:
            inside = await UserRepository(session).add("inside@example.com", "Inside")
        except Exception as error:
            raise AssertionError(
                f"add() inside a transaction the caller had already begun raised {type(error).__name__}: "
                f"{str(error).splitlines()[0][:140]} — add() works in the caller's transaction as it finds it: "
                f"it does not begin, commit or roll back one."
            ) from None
        expect_type(inside.id, int, "the id of a user added inside the caller's transaction")
        await session.rollback()
    expect((await rows_with("pending@example.com"), await rows_with("inside@example.com")), (0, 0),
           "rows left of the caller's pending user and the added one after the caller rolled back",
           "add() committed the caller's transaction, with the caller's own unfinished work in it.")

    async with other.session_factory() as session:
        try:
            await UserRepository(session).add("ada.zhang2@example.com", "Duplicate")
        except IntegrityError:
            pass
        else:
            raise AssertionError(
                "add() with an e-mail address that already exists returned normally. "
                "Flush inside add(), so the unique constraint fails right there."
            )
    ### END HIDDEN TESTS

# %% tests id=test_UserRepository_get points=1
"""Check that get() and get_by_email() find users and return None for unknown ones."""
from sqlalchemy import text

from asyncdb_lab.checks import expect, expect_type

async with session_factory() as session:
    repository = UserRepository(session)
    found = await repository.get(2)
    expect_type(found, User, "get(2)")
    expect(found.email, "ada.zhang2@example.com", "the e-mail of user 2")
    expect(await repository.get(999_999), None, "get() of an id that does not exist", "Return None.")
    by_email = await repository.get_by_email("ada.zhang2@example.com")
    expect_type(by_email, User, "get_by_email('ada.zhang2@example.com')")
    expect(by_email.id, 2, "the id found by get_by_email")
    ### BEGIN HIDDEN TESTS
    expect(await repository.get_by_email("nobody@example.com"), None,
           "get_by_email() of an address nobody has", "Return None.")
    expect((await repository.get_by_email("lina.garcia1@example.com")).id, 1,
           "get_by_email('lina.garcia1@example.com')")
    # What must not matter: an address is compared as it is, whatever its case, spaces or characters.
    await session.execute(text("INSERT INTO users (email, name) VALUES ('Mixed.Case@Example.COM', 'Mixed Case')"))
    mixed = await repository.get_by_email("Mixed.Case@Example.COM")
    expect_type(mixed, User, "get_by_email('Mixed.Case@Example.COM') of a user stored with those capitals",
                "Compare the address as it is given: do not change its case.")
    expect(mixed.email, "Mixed.Case@Example.COM", "the e-mail of the user found")
    for near_miss in ("ADA.ZHANG2@EXAMPLE.COM", "mixed.case@example.com", "ada.zhang2@example.com ",
                      " ada.zhang2@example.com", "ada_zhang2@example.com", "ada.zhang2@%", "%"):
        try:
            found = await repository.get_by_email(near_miss)
        except Exception as error:
            raise AssertionError(
                f"get_by_email({near_miss!r}) raised {type(error).__name__}: {str(error).splitlines()[0][:120]} — "
                f"no user has exactly this address, so the answer is None."
            ) from None
        expect(found, None, f"get_by_email({near_miss!r}), an address no user has exactly",
               "The address must match exactly: same case, nothing trimmed, and `_` or `%` in it are "
               "ordinary characters, not patterns.")
    await session.rollback()
    ### END HIDDEN TESTS

# %% tests id=test_UserRepository_page points=3
"""Check that page() returns the users after an id, ordered by id, as keyset pages."""
from asyncdb_lab.checks import expect, expect_type

async with session_factory() as session:
    repository = UserRepository(session)
    first = await repository.page(None, 3)
    expect_type(first, list, "page(None, 3)")
    expect([user.id for user in first], [1, 2, 3], "ids of page(None, 3)")
    expect([user.id for user in await repository.page(3, 3)], [4, 5, 6], "ids of page(3, 3)")
### BEGIN HIDDEN TESTS
from sqlalchemy import delete, text

async with disposable_database(seed=True, label="check_repo_page", say=False) as other:
    async with other.session_factory() as session:
        repository = UserRepository(session)
        with count_statements(session) as sql:
            await repository.page(20, 5)
        expect(sql.count, 1, "statements sent by one page() call", "One SELECT per page.")
        page_sql = sql.sql[0].upper()
        assert ("LIMIT" in page_sql or "FETCH" in page_sql) and "OFFSET" not in page_sql, (
            "page() should ask for `WHERE id > :after_id ORDER BY id LIMIT :limit`; it sent: "
            + " ".join(sql.sql[0].split())[:200]
        )
        expect(await repository.page(1000, 10), [], "page(1000, 10), past the last user")

        await session.execute(text("UPDATE users SET name = name || '' WHERE id BETWEEN 2 AND 5"))
        expect([user.id for user in await repository.page(None, 5)], [1, 2, 3, 4, 5],
               "page(None, 5) after rows 2-5 were updated",
               "Without ORDER BY, PostgreSQL returns rows in storage order, and an UPDATE moves them.")

        # What must not matter: where rows are stored (users 1-500 rewritten, so they now sit after
        # 501-1000), which plan the database picks (no index scans), and when users signed up.
        await session.execute(text("UPDATE users SET name = name WHERE id <= 500"))
        await session.execute(text(
            "UPDATE users SET created_at = created_at + interval '400 days' WHERE id IN (6, 12)"
        ))
        await session.execute(text("SET LOCAL enable_indexscan = off"))
        await session.execute(text("SET LOCAL enable_bitmapscan = off"))
        for after, size, expected in ((None, 5, [1, 2, 3, 4, 5]), (10, 3, [11, 12, 13]),
                                      (4, 4, [5, 6, 7, 8]), (995, 50, [996, 997, 998, 999, 1000])):
            got = await repository.page(after, size)
            expect_type(got, list, f"page({after}, {size})")
            for user in got:
                expect_type(user, User, f"an item of page({after}, {size})")
            expect([user.id for user in got], expected,
                   f"ids of page({after}, {size}) once rows are stored out of id order and users 6 and 12 "
                   f"have later signup times",
                   "The order must come from the database, by id: ORDER BY the id, in the same statement as "
                   "the LIMIT. Storage order, sorting afterwards in Python and signup times do not give it.")

        await session.execute(delete(User).where(User.id.between(2, 4)))
        expect([user.id for user in await repository.page(10, 3)], [11, 12, 13],
               "page(10, 3) when users 2-4 are gone",
               "after_id is an id, not a number of rows to skip: filter with id > after_id.")
        for after, size, expected in ((1, 3, [5, 6, 7]), (None, 3, [1, 5, 6])):
            expect([user.id for user in await repository.page(after, size)], expected,
                   f"ids of page({after}, {size}) when users 2-4 are gone",
                   "A page holds the next `limit` users that exist, however many ids are missing: "
                   "it cannot be worked out from after_id and limit alone.")

        walked: list[int] = []
        after = None
        while batch := await repository.page(after, 100):
            walked += [user.id for user in batch]
            after = batch[-1].id
        expect(len(walked), 997, "users reached by paging through the whole table",
               "Each page starts after the last id of the previous one.")
        assert walked == sorted(set(walked)), "Paging through the table returned ids out of order or twice."
        await session.rollback()
### END HIDDEN TESTS

# %% tests id=test_UserRepository_rename points=3
"""Check that rename() returns the user as the database has it after the update."""
from sqlalchemy import text

from asyncdb_lab.checks import expect, expect_type

async with session_factory() as session:
    repository = UserRepository(session)
    renamed = await repository.rename(3, "Ana Renamed")
    expect_type(renamed, User, "rename(3, 'Ana Renamed')")
    expect((renamed.id, renamed.name), (3, "Ana Renamed"), "id and name of the renamed user")
    stored = (await session.execute(text("SELECT name FROM users WHERE id = 3"))).scalar_one()
    expect(stored, "Ana Renamed", "the name in the database after rename()")
    expect(await repository.rename(999_999, "Nobody"), None, "rename() of an id that does not exist")
    await session.rollback()
### BEGIN HIDDEN TESTS
async with disposable_database(seed=True, label="check_repo_rename", say=False) as other:
    async with other.engine.begin() as conn:
        await conn.execute(text(
            "CREATE FUNCTION shout_name() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN NEW.name := upper(btrim(NEW.name)); RETURN NEW; END $$"
        ))
        await conn.execute(text(
            "CREATE TRIGGER shout_name BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION shout_name()"
        ))
    async with other.session_factory() as session:
        repository = UserRepository(session)
        loaded = await session.get(User, 5)  # already in the session when rename() runs
        renamed = await repository.rename(5, "  quiet voice  ")
        expect_type(renamed, User, "rename(5, '  quiet voice  ') with a trigger on users")
        expect(renamed.name, "QUIET VOICE", "the name rename() returned when a trigger rewrites names",
               "Return what the database stored, not what you sent: UPDATE … RETURNING with "
               "populate_existing, or refresh the object.")
        expect(loaded.name, "QUIET VOICE", "the name of the user object the session already held",
               "The session's own object must not stay stale either.")
        await session.rollback()
    async with other.engine.connect() as conn:
        name = (await conn.execute(text("SELECT name FROM users WHERE id = 5"))).scalar_one()
    expect(name, "Ana Dubois", "user 5's name after the caller rolled back",
           "rename() committed: the caller's rollback must undo it. Leave commit() to the caller.")
### END HIDDEN TESTS

# %% tests id=test_UserRepository_delete points=2
"""Check that delete() deletes a user, says whether it did, and leaves the commit to the caller."""
from asyncdb_lab.checks import expect

async with session_factory() as session:
    repository = UserRepository(session)
    expect(await repository.delete(7), True, "delete(7) of an existing user")
    expect(await repository.get(7), None, "get(7) after delete(7)")
    expect(await repository.delete(999_999), False, "delete() of an id that does not exist")
    await session.rollback()
### BEGIN HIDDEN TESTS
from sqlalchemy import text

async with disposable_database(seed=True, label="check_repo_delete", say=False) as other:
    async with other.session_factory() as session:
        repository = UserRepository(session)
        loaded = await session.get(User, 10)
        expect(await repository.delete(10), True, "delete(10) of a user with posts, an account and orders")
        expect(await repository.get(10), None, "get(10) in the same session after delete(10)",
               "The session must not hand back the deleted user.")
        expect(await repository.delete(10), False, "delete(10) a second time")
        await session.rollback()
    async with other.engine.connect() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM users WHERE id = 10"))).scalar_one()
    expect(count, 1, "users with id 10 after the caller rolled back",
           "delete() committed: the caller's rollback must undo it.")
### END HIDDEN TESTS

# %% [markdown] id=part-e-get-create-many
# ---
# ## Part E — Get or create, when many requests race (9 points)
#
# A sign-up endpoint must create a user for an e-mail address unless one exists.
# The tutorial checks first (`get_by_email`), then inserts. Each step is fine; the gap between them is not.
#
# > **Common mistake: check-then-insert for a unique value.**
# > Two requests for the same address both check, both find nothing, and both insert.
# > The unique constraint saves the data, but one request gets an `IntegrityError` it never expected.
# > Below, ten concurrent sign-ups for one address, each in its own session, with a little work (50 ms) between the check and the insert.

# %% id=sign-up-check-then-insert
import asyncio
from collections import Counter


async def sign_up_check_then_insert(email: str, name: str) -> str:
    async with session_factory() as session:
        if await session.scalar(select(User.id).where(User.email == email)) is not None:
            return "already registered"
        await asyncio.sleep(0.05)  # validate the form, hash the password…
        session.add(User(email=email, name=name))
        await session.commit()
        return "created"


outcomes = await asyncio.gather(
    *(sign_up_check_then_insert("race@example.com", f"Racer {n}") for n in range(10)),
    return_exceptions=True,
)
print(Counter(o if isinstance(o, str) else type(o).__name__ for o in outcomes))

# %% [markdown] id=lock-python-would-only
# A lock in Python (`asyncio.Lock`) would only hide the race inside one process; a second worker process, or any other program writing to the table, races just the same.
# Only the database sees every transaction, so **let the constraint decide**:
#
# - `INSERT … ON CONFLICT (email) DO NOTHING RETURNING id` inserts unless the address exists, and returns a row only when it inserted. If another transaction is inserting the same address right now, PostgreSQL waits for it to commit or roll back before deciding.
# - Or insert, catch the `IntegrityError` of the unique constraint (`users_email_key`), roll back, and read the row that won.
#
# Either way, when nothing was inserted, a `SELECT` finds the row that exists (in PostgreSQL's default isolation level, each statement sees what was committed before it started).
# The cell shows the first statement for an address that exists: no row comes back.

# %% id=lock-python-would-only-code
from sqlalchemy.dialects.postgresql import insert as pg_insert

statement = (
    pg_insert(User)
    .values(email="race@example.com", name="Late Racer")
    .on_conflict_do_nothing(index_elements=[User.email])
    .returning(User.id)
)
async with session_factory() as session:
    with count_statements(session) as sql:
        print("id inserted:", await session.scalar(statement))
    await session.rollback()
print(sql)

# %% [markdown] id=exercise-get-create
# ### Exercise: `get_or_create(session_factory, email, name)`
#
# Return `(user id, created)` for the user with this e-mail address, creating it with `name` if there is none.
# `created` is `True` only for the call that inserted the row.
#
# - This function is a whole unit of work: open your own session from `session_factory` and commit what you insert.
# - An existing user is returned as it is: its name is not changed.
# - It must hold up under concurrency: the tests run dozens of calls for one address at once (exactly one `True`, no errors), and insert the same address from another connection while your call runs.
# - Only the duplicate address is yours to handle. Any other error from the database (a name the column cannot hold, a constraint you do not know about) must reach the caller as the database raised it, with nothing written.
# - Every path gives its connection back: created, found, or failed.

# %% solution id=get_or_create
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert


async def get_or_create(session_factory, email: str, name: str) -> tuple[int, bool]:
    """Return (id, created) for the user with this e-mail, inserting it when missing; safe under races."""
    ### BEGIN SOLUTION
    async with session_factory() as session:
        inserted_id = await session.scalar(
            pg_insert(User)
            .values(email=email, name=name)
            .on_conflict_do_nothing(index_elements=[User.email])
            .returning(User.id)
        )
        if inserted_id is not None:
            await session.commit()
            return inserted_id, True
        existing_id = await session.scalar(select(User.id).where(User.email == email))
        return existing_id, False
    ### END SOLUTION

# %% tests id=test_get_or_create_basic points=2
"""Check that get_or_create creates a user once, commits it, and finds it afterwards."""
import asyncio

from sqlalchemy import text

from asyncdb_lab.checks import expect, expect_type

async with disposable_database(seed=True, label="check_goc_basic", say=False) as other:
    created = await asyncio.wait_for(get_or_create(other.session_factory, "fresh@example.com", "Fresh"), timeout=10)
    expect_type(created, tuple, "get_or_create() of a new address")
    expect_type(created[0], int, "the id get_or_create() returned")
    expect(created[1], True, "created, for a new address")
    async with other.engine.connect() as conn:
        stored = (await conn.execute(
            text("SELECT id, name FROM users WHERE email = 'fresh@example.com'")
        )).first()
    assert stored is not None, (
        "Another connection cannot see the user get_or_create() created: commit the insert in your session."
    )
    expect(tuple(stored), (created[0], "Fresh"), "the committed row (id, name), seen from another connection")
    again = await asyncio.wait_for(get_or_create(other.session_factory, "fresh@example.com", "Other"), timeout=10)
    expect(again, (created[0], False), "get_or_create() of the same address again")
    ### BEGIN HIDDEN TESTS
    existing = await asyncio.wait_for(
        get_or_create(other.session_factory, "ada.zhang2@example.com", "Someone Else"), timeout=10
    )
    expect(existing, (2, False), "get_or_create() of a seed user's address")
    async with other.engine.connect() as conn:
        name = (await conn.execute(text("SELECT name FROM users WHERE id = 2"))).scalar_one()
    expect(name, "Ada Zhang", "the name of an existing user after get_or_create()", "Do not change existing users.")
    ### END HIDDEN TESTS

# %% tests id=test_get_or_create_concurrent points=3
"""Check that concurrent calls for one address create it exactly once, without errors."""
### BEGIN HIDDEN TESTS
import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from asyncdb_lab.checks import expect

from asyncdb_lab.instruments.races import GATE_CONNECT_ARGS, InsertGate

async with disposable_database(seed=True, label="check_goc_race", say=False) as other:
    race_engine = create_async_engine(other.url, pool_size=20, max_overflow=0, pool_timeout=10,
                                      connect_args=GATE_CONNECT_ARGS)
    try:
        async def warm() -> None:
            async with race_engine.connect() as conn:
                await conn.execute(text("SELECT pg_sleep(0.02)"))

        await asyncio.gather(*(warm() for _ in range(20)))
        factory = async_sessionmaker(race_engine, expire_on_commit=False)
        # The gate makes the race certain instead of likely: reads go through, and every INSERT
        # waits until all 20 calls have looked and are waiting to insert.
        async with InsertGate(other.url, "users") as gate:
            everything = asyncio.ensure_future(asyncio.wait_for(
                asyncio.gather(*(get_or_create(factory, "racer@example.com", f"Racer {n}") for n in range(20)),
                               return_exceptions=True),
                timeout=30,
            ))
            await gate.open_when_waiting(20)
        try:
            outcomes = await everything
        except TimeoutError:
            raise AssertionError("20 concurrent get_or_create() calls did not finish within 30 s.") from None
        errors = [o for o in outcomes if isinstance(o, BaseException)]
        assert not errors, (
            f"{len(errors)} of 20 concurrent get_or_create() calls for one address raised, e.g. "
            f"{type(errors[0]).__name__}: {str(errors[0]).splitlines()[0][:140]} — checking first and "
            f"inserting second races; let the unique constraint decide (ON CONFLICT, or catch it)."
        )
        expect(sum(1 for _, created in outcomes if created is True), 1,
               "calls that reported created=True among 20 concurrent ones", "Exactly one call inserts the row.")
        expect(len({user_id for user_id, _ in outcomes}), 1, "distinct ids returned by 20 concurrent calls")
        async with other.engine.connect() as conn:
            rows = (await conn.execute(text("SELECT count(*) FROM users WHERE email = 'racer@example.com'"))).scalar_one()
        expect(rows, 1, "rows for the raced address")
    finally:
        await race_engine.dispose()
### END HIDDEN TESTS

# %% tests id=test_get_or_create_other_writer points=2
"""Check that get_or_create copes with another program inserting the same address at the same moment."""
### BEGIN HIDDEN TESTS
import asyncio

from sqlalchemy import text

from asyncdb_lab.checks import expect

async with disposable_database(seed=True, label="check_goc_writer", say=False) as other:
    for outcome in ("commit", "rollback"):
        email = f"contested.{outcome}@example.com"
        async with other.engine.connect() as writer:
            writer_id = (await writer.execute(
                text("INSERT INTO users (email, name) VALUES (:email, 'Other Program') RETURNING id"),
                {"email": email},
            )).scalar_one()
            call = asyncio.create_task(get_or_create(other.session_factory, email, "Mine"))
            for _ in range(60):  # until the call waits for the other program's row (at most 3 s)
                await asyncio.sleep(0.05)
                async with other.engine.connect() as observer:
                    waiting = (await observer.execute(text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    ))).scalar_one()
                if waiting or call.done():
                    break
            if outcome == "commit":
                await writer.commit()
            else:
                await writer.rollback()
        try:
            result = await asyncio.wait_for(call, timeout=10)
        except Exception as error:
            raise AssertionError(
                f"While another connection inserted the same address and then chose {outcome}, "
                f"get_or_create raised {type(error).__name__}: {str(error).splitlines()[0][:140]} — "
                f"a check before the insert cannot see uncommitted rows; let the constraint decide."
            ) from None
        if outcome == "commit":
            expect(result, (writer_id, False), "get_or_create() when another program committed the address first")
        else:
            expect(result[1], True, "created, when the other program rolled its insert back")
            async with other.engine.connect() as conn:
                mine = (await conn.execute(
                    text("SELECT id FROM users WHERE email = :email"), {"email": email}
                )).scalar()
            expect(result[0], mine, "the id returned when the other program rolled back",
                   "Commit the row you inserted.")
### END HIDDEN TESTS

# %% tests id=test_get_or_create_other_errors points=2
"""Check that get_or_create lets every other database error through and gives its connections back."""
### BEGIN HIDDEN TESTS
import asyncio
import gc

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from asyncdb_lab import pool_snapshot
from asyncdb_lab.checks import expect

async with disposable_database(seed=True, label="check_goc_errors", say=False) as other:
    async with other.engine.begin() as conn:
        # A rule get_or_create knows nothing about: a name may not be blank.
        await conn.execute(text("ALTER TABLE users ADD CONSTRAINT users_name_not_blank CHECK (btrim(name) <> '')"))
    small_engine = create_async_engine(other.url, pool_size=2, max_overflow=0, pool_timeout=3)
    gc.disable()  # a connection must go back because the code closes its session, not when Python collects it
    try:
        factory = async_sessionmaker(small_engine, expire_on_commit=False)
        for email, name, what in (
            ("blank.name@example.com", "   ", "a blank name, which a CHECK constraint refuses"),
            ("long.name@example.com", "x" * 150, "a name longer than the column's 100 characters"),
        ):
            try:
                outcome = await asyncio.wait_for(get_or_create(factory, email, name), timeout=10)
            except DBAPIError:
                continue
            except TimeoutError:
                raise AssertionError(f"get_or_create with {what} did not return within 10 s.") from None
            except Exception as error:
                raise AssertionError(
                    f"get_or_create with {what} raised {type(error).__name__}: {str(error).splitlines()[0][:140]} "
                    f"— the caller should get the database's own error (a SQLAlchemy DBAPIError), not another one."
                ) from None
            raise AssertionError(
                f"get_or_create({email!r}, …) with {what} returned {outcome!r} instead of raising the database's "
                f"error. Only the duplicate address is get_or_create's to handle: which errors does your code "
                f"catch, and are they all the unique constraint on email?"
            )
        async with other.engine.connect() as conn:
            written = (await conn.execute(text(
                "SELECT count(*) FROM users WHERE email IN ('blank.name@example.com', 'long.name@example.com')"
            ))).scalar_one()
        expect(written, 0, "rows written by the two calls that failed")
        # Every path gives its connection back: 15 calls in a row through a pool of 2.
        for n in range(5):
            for email in ("ada.zhang2@example.com", f"pool.{n}@example.com", f"pool.{n}@example.com"):
                try:
                    await asyncio.wait_for(get_or_create(factory, email, "Pool Test"), timeout=10)
                except Exception as error:
                    raise AssertionError(
                        f"Through a pool of 2 connections, get_or_create({email!r}, …) raised "
                        f"{type(error).__name__}: {str(error).splitlines()[0][:140]} — does every path (created, "
                        f"found, failed) close its session, so that its connection goes back to the pool?"
                    ) from None
        expect(pool_snapshot(small_engine).checked_out, 0,
               "connections still checked out after 17 calls of get_or_create",
               "Open the session with `async with`, so that it is closed on every path.")
    finally:
        gc.enable()
        await small_engine.dispose()
### END HIDDEN TESTS

# %% [markdown] id=summary
# ---
# ## Summary
#
# - `flush()` sends pending changes inside the transaction (ids and defaults come back through `RETURNING`, constraints fail there); `commit()` makes them permanent and visible to others.
# - A flushed row is still private, but it holds its unique key and row locks until commit or rollback.
# - Repositories flush; the caller owns the unit of work and commits once (`async with session_factory.begin() as session:`). `async with` already closes the session.
# - Page with keyset (`WHERE id > :last ORDER BY id LIMIT :n`): OFFSET skips rows when rows change, and without `ORDER BY` the order itself is not defined.
# - `expire_all()` forgets values, not objects; `expunge_all()` (or a new session) forgets objects.
# - When the database decides values (triggers, defaults), take them from `RETURNING` with `populate_existing`, or `refresh()`.
# - For unique values, never check-then-insert: let the constraint decide (`ON CONFLICT DO NOTHING`, or catch the `IntegrityError`).
#
# ## Interview questions
#
# 1. What is the difference between `flush()` and `commit()`?
# 2. Why should a repository not call `commit()`? Who should?
# 3. A batch job reads users with `OFFSET`/`LIMIT` and updates each one. Why does it miss users, and what do you write instead?
# 4. After `await session.execute(update(User)....values(name=x))`, the user object shows `x` but the database holds something else. How can that happen, and how do you avoid it?
# 5. Two requests sign up the same e-mail address at once. What goes wrong with "check, then insert", and what is the fix?
# 6. What is the difference between `expire_all()` and `expunge_all()`?
# 7. When do you need `refresh()`?
#
# <details><summary>Answers</summary>
#
# 1. `flush()` sends the session's pending `INSERT`/`UPDATE`/`DELETE` statements inside the current transaction: generated ids and defaults come back (`RETURNING`), constraint violations are raised at that point, and later queries in the same transaction see the changes. Nothing is permanent: a rollback undoes it, and other transactions do not see the rows — though the rows are locked, and a flushed unique key makes another transaction inserting the same key wait. `commit()` flushes anything still pending, then commits: the changes become durable and visible, locks are released, the session's connection goes back to the pool, and with the default `expire_on_commit=True` every object is expired (in async code, reading one then raises `MissingGreenlet`). The session also autoflushes before queries, so an explicit `flush()` is for when you need an id or an error at a precise point.
# 2. Because it cannot know what else belongs to the same unit of work: a commit inside `add()` makes "create the user and their first post" impossible to undo as a whole. The caller (a service function, or the request handler through its session dependency) opens the transaction and commits once, or rolls back everything.
# 3. Without `ORDER BY`, rows come in storage order, and an `UPDATE` writes a new row version elsewhere, so processed rows move behind unread ones and the growing offset jumps over rows. Even with `ORDER BY`, rows deleted or inserted between pages shift the offset. Use keyset pagination: `WHERE id > :last_seen ORDER BY id LIMIT :n`, which also stays fast on deep pages.
# 4. A trigger (or default, or another writer) changed the value; SQLAlchemy copies the value you sent into the object already in the identity map. Use `UPDATE … RETURNING` with `execution_options(populate_existing=True)` (one statement), or `await session.refresh(obj)` after it.
# 5. Both checks run before either insert commits, so both find nothing and both insert; one fails with an `IntegrityError` (or, without a unique constraint, you get duplicates). Rely on the unique constraint: `INSERT … ON CONFLICT (email) DO NOTHING RETURNING id` then `SELECT` when nothing came back, or catch the `IntegrityError` for `users_email_key`, roll back and read the existing row.
# 6. `expire_all()` marks every object's loaded values as stale but keeps the objects in the session; the next attribute access reloads (in async: `MissingGreenlet`). `expunge_all()` removes every object from the session, which is what frees it from tracking them.
# 7. When the row changed in a way the session did not see: triggers, server-side defaults on update, another connection's write, or after an `expire`. It reloads the object with one `SELECT`, explicitly awaited.
#
# </details>
#
# ## Further reading
#
# - SQLAlchemy: [Session basics: flushing, committing, refreshing and expiring](https://docs.sqlalchemy.org/en/20/orm/session_basics.html)
# - SQLAlchemy: [ORM-enabled INSERT, UPDATE and DELETE, with RETURNING](https://docs.sqlalchemy.org/en/20/orm/queryguide/dml.html)
# - SQLAlchemy: [Populate existing](https://docs.sqlalchemy.org/en/20/orm/queryguide/api.html#populate-existing)
# - SQLAlchemy: [PostgreSQL INSERT … ON CONFLICT](https://docs.sqlalchemy.org/en/20/dialects/postgresql.html#insert-on-conflict-upsert)
# - SQLAlchemy: [Asynchronous I/O: preventing implicit IO](https://docs.sqlalchemy.org/en/20/orm/extensions/asyncio.html#preventing-implicit-io-when-using-asyncsession)
# - PostgreSQL: [LIMIT and OFFSET](https://www.postgresql.org/docs/current/queries-limit.html) ("the rows … are returned in an unspecified order" without ORDER BY)
# - PostgreSQL: [INSERT … ON CONFLICT](https://www.postgresql.org/docs/current/sql-insert.html#SQL-ON-CONFLICT)
# - Martin Fowler: [Repository](https://martinfowler.com/eaaCatalog/repository.html) and [Unit of Work](https://martinfowler.com/eaaCatalog/unitOfWork.html)

# %% [markdown] id=check-your-notebook
# ---
# **Check your notebook.** Save (Ctrl+S), then run this cell: it checks the saved file as `asyncdb-lab check` does, on a fresh database, and shows each exercise's points, a failing test's message with its first hint, and what to do next.

# %% id=check-this-notebook
from asyncdb_lab.learner.in_lab import check_this_notebook

check_this_notebook()
