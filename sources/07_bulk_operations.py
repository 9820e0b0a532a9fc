# %% [markdown] id=intro
# # **07 · Bulk operations: many rows, few round trips**
#
# Load, upsert and update thousands of rows at once, measure what each way costs on this machine, and keep every bulk write inside the caller's transaction.
#
# **Learning goals**
# - Compare six ways to insert many rows (one execute per row, `add_all`, ORM bulk insert, Core executemany, `insert().returning()`, COPY) by statements sent and time taken.
# - Upsert with `INSERT … ON CONFLICT DO UPDATE`, and de-duplicate a batch so that a repeated key works (last one wins).
# - Run COPY through the session's own asyncpg connection, so that a rollback removes the rows.
# - Update many rows by primary key in one statement, and split big loads and big reads into chunks.
#
# **Prerequisites**: notebook 02 (sessions, flush vs commit, the caller owns the transaction) and notebook 04 (transactions).
#
# **Out of scope**: bulk DELETE, server-side `COPY … FROM 'file'` (it needs file-access privileges on the server), partitioning and parallel loading.

# %% [markdown] id=setup
# ## Setup
#
# Run the next cell first: it gives this notebook a fresh database with the course's seed data (1,000 users, 5,000 posts, 200 products, …).
# Running it again gives you a clean one.

# %% readonly id=setup-database
from asyncdb_lab import count_statements, disposable_database
from asyncdb_lab.models import Post, Product, User

db = await disposable_database(seed=True)
engine = db.engine
Session = db.session_factory

# %% [markdown] id=part-a-six-ways-insert
# ---
# ## Part A — Six ways to insert many rows (0 points)
#
# Every statement your code sends is a round trip: Python builds it, the driver sends it, the server parses, plans and runs it, and the answer travels back.
# For one row that is a fraction of a millisecond; for ten thousand rows, sent one at a time, it is seconds.
# A bulk load is fast when it needs few round trips *and* little work per row on both sides.
#
# The six ways compared below differ in exactly that:
#
# They are shown on the `orders` table (a `user_id` and a `status` per row; `id` and `created_at` come from the database): Part B asks you to apply one of them to `users`.
#
# 1. **One execute per row**: a loop around `session.execute(insert(Order).values(...))`. One round trip per row.
# 2. **`session.add_all(objects)` + flush**: the unit of work. It must learn each new `id` and server default (the objects need them), so it sends one multi-row `INSERT … RETURNING` per page of 1,000 rows (SQLAlchemy calls this *insertmanyvalues*; below you will see its exact shape, with a sentinel column that matches each returned id to its object).
# 3. **ORM bulk insert**: `session.execute(insert(Order), list_of_dicts)`. No objects, no ids back: one *executemany*, which asyncpg sends as one prepared statement with every parameter set pipelined behind it.
# 4. **Core executemany**: the same with the table instead of the class, `conn.execute(Order.__table__.insert(), list_of_dicts)`.
# 5. **`insert(Order).returning(Order.id)` with a list**: you get the ids back, so it is paged like `add_all`, without building objects.
# 6. **COPY**: PostgreSQL's bulk-load protocol. One command, then a stream of rows in binary; no per-row statement at all. SQLAlchemy has no API for it; you use asyncpg's (Part D explains how, and a trap).
#
# The next cell defines each as a small function taking a session and a list of dicts with `user_id` and `status`.

# %% id=one-execute-per-row
from sqlalchemy import insert, text

from asyncdb_lab.models import Order


async def one_execute_per_row(session, rows):
    for row in rows:
        await session.execute(insert(Order).values(**row))


async def orm_objects_add_all(session, rows):
    session.add_all([Order(**row) for row in rows])
    await session.flush()


async def orm_bulk_insert(session, rows):
    await session.execute(insert(Order), rows)


async def core_executemany(session, rows):
    conn = await session.connection()
    await conn.execute(Order.__table__.insert(), rows)


async def insert_returning_ids(session, rows):
    result = await session.execute(insert(Order).returning(Order.id), rows)
    return result.scalars().all()


async def copy_records(session, rows):
    conn = await session.connection()
    await conn.exec_driver_sql("SELECT 1")  # starts the transaction first: see Part D
    raw = await conn.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(
        "orders", records=[(row["user_id"], row["status"]) for row in rows], columns=["user_id", "status"]
    )


METHODS = {
    "one execute per row": one_execute_per_row,
    "add_all + flush": orm_objects_add_all,
    "ORM bulk insert(Order), list": orm_bulk_insert,
    "Core executemany": core_executemany,
    "insert().returning(), list": insert_returning_ids,
    "COPY (asyncpg)": copy_records,
}


def new_orders(n: int) -> list[dict]:
    """n rows for the orders table (users 1 to 1,000 exist in the seed data), as plain dicts."""
    return [{"user_id": 1 + i % 1_000, "status": ("pending", "paid", "shipped")[i % 3]} for i in range(n)]


def new_users(n: int, tag: str) -> list[dict]:
    """n rows for the users table with unique emails, as plain dicts."""
    return [{"email": f"{tag}-{i}@bulk.example", "name": f"{tag.title()} {i}"} for i in range(n)]

# %% [markdown] id=first-each-sends-three
# First, what each one sends for three rows.
# Each demonstration ends with `rollback()`, so the notebook's database stays as it was.
# Every method but the loop is marked `-- executemany`: SQLAlchemy was handed a list of parameter sets.
# The ORM bulk insert and Core executemany pass that list to asyncpg as it is (`params` is a list of tuples); `add_all` and `returning()` fold it into one multi-row INSERT (`params` is one flat tuple).
# The COPY itself does not appear: it goes straight to asyncpg, below SQLAlchemy, so the statement counter never sees it.

# %% id=first-each-sends-three-code
for label, method in METHODS.items():
    async with Session() as session:
        with count_statements(session) as sql:
            await method(session, new_orders(3))
        await session.rollback()
    print(f"--- {label}")
    print(sql.report(limit=1))

# %% [markdown] id=now-measurement
# Now the measurement: 2,000 rows each, into the `orders` table of a second database (`label="bench"`, with the seed data), emptied before every run so that each method starts from the same state.
# The fast methods run three times and the median is shown; the per-row loop and `add_all` run once, because once is slow enough.
# The last column is the lesson: how many times slower than COPY each method is *on this machine*. Your numbers will differ, and methods that finish within a few milliseconds of each other can swap places from one run to the next; the large gaps stay.

# %% id=now-measurement-code
import statistics
import time

bench = await disposable_database(seed=True, label="bench")
bench_rows = new_orders(2_000)
measured = {}
for label, method in METHODS.items():
    seconds = []
    for _ in range(1 if method in (one_execute_per_row, orm_objects_add_all) else 3):
        async with bench.session_factory() as session:
            await session.execute(text("TRUNCATE orders RESTART IDENTITY CASCADE"))
            await session.commit()
        async with bench.session_factory() as session:
            with count_statements(session) as sql:
                started = time.perf_counter()
                await method(session, bench_rows)
                await session.commit()
                seconds.append(time.perf_counter() - started)
    measured[label] = (sql.count, statistics.median(seconds))

fastest = min(elapsed for _, elapsed in measured.values())
print(f"{'2,000 rows into orders':<30} {'statements':>10} {'time':>10} {'× fastest':>10}")
for label, (statements, elapsed) in measured.items():
    print(f"{label:<30} {statements:>10} {elapsed * 1000:>7.1f} ms {elapsed / fastest:>9.1f}×")

# %% [markdown] id=how-to-read-it
# How to read it:
#
# - The per-row loop pays a round trip per row: it is the slowest by far, and it grows linearly with the rows.
# - `add_all` sends only two statements (two pages of 1,000), yet it is several times slower than the bulk forms: it builds 2,000 Python objects, tracks them in the unit of work and copies the returned ids back into them. Use it when you need the objects afterwards.
# - ORM bulk insert and Core executemany are close: both are one executemany without RETURNING. Reach for these when you only need the rows in the table.
# - `returning()` gives you the ids at about the same price: two multi-row INSERTs instead of one executemany. These three are a close race, and which of them comes first changes from run to run (the next cell shows it).
# - COPY wins because there is no statement per row to bind and execute at all; the one statement counted for it is the `SELECT 1` explained in Part D.
#
# The course's reference measurement (20,000 rows into `users`, the same machine class) showed the same large gaps: COPY 0.024 s, executemany 0.087 s, ORM bulk 0.13 s, `returning()` 0.19 s, `add_all` 0.62 s, per row 5.7 s.
#
# So read a ranking only where the gap is large. The next cell runs the three methods in the middle five more times each, on the same table, and prints the order they finished in every round, and how far apart they were.

# %% id=middle-three-rounds
middle = ["ORM bulk insert(Order), list", "Core executemany", "insert().returning(), list"]
orders = []
for round_number in range(1, 6):
    timings = {}
    for label in middle:
        async with bench.session_factory() as session:
            await session.execute(text("TRUNCATE orders RESTART IDENTITY CASCADE"))
            await session.commit()
        async with bench.session_factory() as session:
            started = time.perf_counter()
            await METHODS[label](session, bench_rows)
            await session.commit()
            timings[label] = time.perf_counter() - started
    order = sorted(timings, key=timings.get)
    orders.append(order)
    print(f"round {round_number}: " + " < ".join(f"{label} {timings[label] * 1000:.1f} ms" for label in order))
print(f"different orders in {len(orders)} rounds: {len({tuple(order) for order in orders})}")
print(f"for scale, from the table above: COPY {measured['COPY (asyncpg)'][1] * 1000:.1f} ms, "
      f"add_all {measured['add_all + flush'][1] * 1000:.1f} ms, one execute per row {measured['one execute per row'][1] * 1000:.0f} ms")

# %% [markdown] id=returning-row-order
# A few milliseconds, and the odd slow round, decide the middle of the ranking; COPY, `add_all` and the per-row loop are in another league either way.
#
# One more thing about `returning()`: in every run measured for this course, the ids came back in the order of the rows passed in, but PostgreSQL does not document any order for the rows a multi-row INSERT returns.
# When you pair each id with the row it belongs to, ask for the order: with `insert(Order).returning(Order.id, sort_by_parameter_order=True)`, SQLAlchemy sends the sentinel form that `add_all` sends (`INSERT … SELECT … FROM (VALUES …) ORDER BY sen_counter`, seen in the first cell of this part) and hands the rows back in the order of your list.

# %% [markdown] id=mistake-inserting-same-rows
# > **Common mistake: inserting the same rows twice.**
# > A widely copied "bulk create" function shows two methods one after the other: it inserts the rows with a Core insert and commits, then builds ORM objects from *the same dicts*, `add_all`s them and commits again.
# > Both methods run, so every row is inserted twice: the second commit fails on the unique email, and the first half stays committed.
# > The next cell reproduces that shape on the bench database and prints the real error and what was left behind.

# %% id=bulk-create-users-twice
from sqlalchemy.exc import IntegrityError


async def bulk_create_users_twice(session, users_data):
    await session.execute(User.__table__.insert(), users_data)  # "method 1"
    await session.commit()
    session.add_all([User(**data) for data in users_data])  # "method 2", the same rows again
    await session.commit()


async with bench.session_factory() as session:
    await session.execute(text("TRUNCATE users RESTART IDENTITY CASCADE"))
    await session.commit()
    try:
        await bulk_create_users_twice(session, new_users(5, "twice"))
    except IntegrityError as error:
        await session.rollback()
        cause = error.orig.__cause__  # the asyncpg exception SQLAlchemy wrapped
        print(f"{type(error).__name__}: {str(error.orig).splitlines()[0]}")
        print(f"sqlstate {error.orig.sqlstate}, constraint {cause.constraint_name}")
    left = (await session.execute(text("SELECT count(*) FROM users"))).scalar_one()
    print("rows left in users after the failure:", left)

# %% [markdown] id=fix-pick-method-batch
# The fix is to pick *one* method for one batch, and to leave the commit to the caller, so that a failure rolls back everything the caller did.
# The shape, with Part A's orders (Part B asks it of you for `users`):

# %% id=fix-pick-method-batch-code
async def load_orders(session, rows) -> int:  # one method, no commit
    await orm_bulk_insert(session, rows)
    return len(rows)


async with bench.session_factory() as session:
    await session.execute(text("TRUNCATE orders RESTART IDENTITY CASCADE"))
    print("orders loaded:", await load_orders(session, new_orders(5)))
    await session.commit()  # the caller commits once, at the end of its unit of work
    print("rows in orders:", (await session.execute(text("SELECT count(*) FROM orders"))).scalar_one())
await bench.drop()

# %% [markdown] id=part-b-exercise-bulk-insert
# ---
# ## Part B — Exercise: `bulk_insert_users` (7 points)
#
# Write `bulk_insert_users(session, rows)`. `rows` is a list of dicts with the keys `email` and `name`.
#
# - Insert every row into `users` exactly once and return how many rows you inserted, as an `int`.
# - 10,000 rows must reach the database in **at most 2 statements**, as `count_statements` counts them. Part A showed which methods stay under that.
# - **Do not commit.** The caller owns the transaction: the tests call your function, then roll back, and expect the rows to be gone.
# - An empty list inserts nothing and returns 0. Careful: to SQLAlchemy, an empty parameter list is not "no rows"; `session.execute(insert(Model), [])` runs the INSERT once with no values at all.

# %% solution id=bulk_insert_users
async def bulk_insert_users(session, rows: list[dict]) -> int:
    """Insert the rows (dicts with email and name) in at most 2 statements; return the count."""
    ### BEGIN SOLUTION
    if not rows:
        return 0
    await session.execute(insert(User), rows)
    return len(rows)
    ### END SOLUTION

# %% tests id=test_bulk_insert_users_basic points=2
"""Check that bulk_insert_users inserts the rows it is given and returns how many, as an int."""
from sqlalchemy import select

from asyncdb_lab.checks import expect

basic_rows = [{"email": f"check-basic-{i}@bulk.example", "name": f"Basic {i}"} for i in range(3)]
async with Session() as session:
    inserted = await bulk_insert_users(session, basic_rows)
    expect(inserted, 3, "bulk_insert_users(session, three rows)",
           "Return the number of rows inserted, as an int.")
    found = (await session.execute(
        select(User.email, User.name).where(User.email.like("check-basic-%")).order_by(User.email)
    )).all()
    expect([tuple(row) for row in found], [(r["email"], r["name"]) for r in basic_rows],
           "the rows in users afterwards, in the same session",
           "Insert each dict's email and name.")
    await session.rollback()
### BEGIN HIDDEN TESTS
import asyncio

async with disposable_database(tables=True, label="check_bulk_basic", say=False) as other:
    hidden_rows = [{"email": f"Hidden.{i}@Bulk.Example", "name": f"Hidden Name {i}"} for i in range(7)]
    async with other.session_factory() as session:
        inserted = await asyncio.wait_for(bulk_insert_users(session, hidden_rows), timeout=10)
        await session.commit()
    expect(inserted, 7, "bulk_insert_users on another database, seven rows",
           "Return how many rows you inserted, as an int.")
    async with other.session_factory() as session:
        found = (await session.execute(select(User.email, User.name).order_by(User.id))).all()
    expect(sorted(tuple(row) for row in found), sorted((r["email"], r["name"]) for r in hidden_rows),
           "the rows in users after commit", "Insert the rows you are given, unchanged.")
### END HIDDEN TESTS

# %% tests id=test_bulk_insert_users_statements points=2
"""Check that bulk_insert_users sends few statements however many rows it gets."""
from asyncdb_lab.checks import expect

many_rows = [{"email": f"check-many-{i}@bulk.example", "name": f"Many {i}"} for i in range(3_000)]
async with Session() as session:
    with count_statements(session) as sql:
        await bulk_insert_users(session, many_rows)
    await session.rollback()
assert sql.count <= 2, (
    f"bulk_insert_users sent {sql.count} statements for 3,000 rows; at most 2 are allowed. "
    "add_all and RETURNING send one INSERT per page of 1,000 rows, a loop one per row: "
    "which method sends the whole list as one executemany?"
)
### BEGIN HIDDEN TESTS
import asyncio

from sqlalchemy import event


class _TooManyStatements(Exception):
    """Raised by the test to stop code that sends one statement per row."""


def _stop_after(engine, limit):
    seen = [0]

    def listener(*args):
        seen[0] += 1
        if seen[0] > limit:
            raise _TooManyStatements(f"stopped after {limit} statements")

    event.listen(engine.sync_engine, "before_cursor_execute", listener)
    return lambda: event.remove(engine.sync_engine, "before_cursor_execute", listener)


async with disposable_database(tables=True, label="check_bulk_many", say=False) as other:
    ten_thousand = [{"email": f"ten-{i}@bulk.example", "name": f"Ten {i}"} for i in range(10_000)]
    release = _stop_after(other.engine, 50)
    try:
        async with other.session_factory() as session:
            with count_statements(session) as sql:
                inserted = await asyncio.wait_for(bulk_insert_users(session, ten_thousand), timeout=12)
            await session.rollback()
    except _TooManyStatements:
        raise AssertionError(
            "bulk_insert_users sent more than 50 statements for 10,000 rows: it inserts row by row. "
            "Send the whole list in one execute."
        ) from None
    finally:
        release()
    assert sql.count <= 2, (
        f"bulk_insert_users sent {sql.count} statements for 10,000 rows; at most 2 are allowed. "
        "add_all and insert().returning() send one INSERT per 1,000 rows."
    )
    expect(inserted, 10_000, "bulk_insert_users' return value for 10,000 rows",
           "Return the number of rows inserted.")
### END HIDDEN TESTS

# %% tests id=test_bulk_insert_users_exactly_once points=1
"""Check that bulk_insert_users inserts each row exactly once."""
### BEGIN HIDDEN TESTS
import asyncio

from sqlalchemy import text

from asyncdb_lab.checks import expect

async with disposable_database(tables=True, label="check_bulk_once", say=False) as other:
    once_rows = [{"email": f"once-{i}@bulk.example", "name": f"Alex Kim {i % 7}"} for i in range(2_400)]
    # rows that look like duplicates and are not: the same names, e-mails that differ only in case
    once_rows += [{"email": f"ONCE-{i}@Bulk.Example", "name": f"Alex Kim {i % 7}"} for i in range(100)]
    async with other.session_factory() as session:
        inserted = await asyncio.wait_for(bulk_insert_users(session, once_rows), timeout=10)
        await session.commit()
    async with other.engine.connect() as conn:
        total, distinct = (await conn.execute(
            text("SELECT count(*), count(DISTINCT email) FROM users")
        )).one()
        stored = sorted(tuple(row) for row in (await conn.execute(text("SELECT email, name FROM users"))).all())
    expect((total, distinct), (2_500, 2_500), "(rows, distinct emails) in users after 2,500 rows",
           "Each row must be inserted once, and every row you are given: one method per batch, not two, and "
           "no de-duplication (rows that share a name, or whose e-mails differ only in case, are different users).")
    expect(stored == sorted((r["email"], r["name"]) for r in once_rows), True,
           "the (email, name) pairs in users equal the rows given", "Insert the rows unchanged.")
    expect(inserted, 2_500, "bulk_insert_users' return value", "Return the number of rows inserted.")
### END HIDDEN TESTS

# %% tests id=test_bulk_insert_users_leaves_commit_to_caller points=1
"""Check that bulk_insert_users leaves the commit to the caller: a rollback removes its rows."""
### BEGIN HIDDEN TESTS
import asyncio

from sqlalchemy import text

from asyncdb_lab.checks import expect

async with disposable_database(tables=True, label="check_bulk_rollback", say=False) as other:
    rollback_rows = [{"email": f"undo-{i}@bulk.example", "name": f"Undo {i}"} for i in range(500)]
    async with other.session_factory() as session:
        await asyncio.wait_for(bulk_insert_users(session, rollback_rows), timeout=10)
        await session.rollback()
    async with other.engine.connect() as conn:
        left = (await conn.execute(text("SELECT count(*) FROM users"))).scalar_one()
    expect(left, 0, "rows left in users after the caller rolled back",
           "Do not commit inside bulk_insert_users, and insert through the session's own "
           "transaction: the caller decides whether the rows stay.")

    async with other.session_factory() as session:  # the caller has begun its transaction and done work in it
        session.add(User(email="caller-own@bulk.example", name="Caller Own"))
        await session.flush()
        try:
            await asyncio.wait_for(bulk_insert_users(session, rollback_rows), timeout=10)
        except Exception as error:
            raise AssertionError(
                f"bulk_insert_users failed when the caller's transaction had already begun "
                f"({type(error).__name__}: {str(error).splitlines()[0][:100]}). The session you are given may be "
                "in a transaction already: insert through it as it is (no session.begin() of your own)."
            ) from None
        inside = (await session.execute(text("SELECT count(*) FROM users"))).scalar_one()
        await session.rollback()
    async with other.engine.connect() as conn:
        left = (await conn.execute(text("SELECT count(*) FROM users"))).scalar_one()
    expect((inside, left), (501, 0),
           "(users seen by the caller before its rollback, users left after it), when the caller had inserted one",
           "Your rows join the caller's transaction: the caller sees them with its own, and its rollback removes all.")
### END HIDDEN TESTS

# %% tests id=test_bulk_insert_users_empty points=1
"""Check that bulk_insert_users accepts an empty list: nothing inserted, 0 returned."""
### BEGIN HIDDEN TESTS
import asyncio

from sqlalchemy import text

from asyncdb_lab.checks import expect

async with disposable_database(tables=True, label="check_bulk_empty", say=False) as other:
    async with other.session_factory() as session:
        try:
            inserted = await asyncio.wait_for(bulk_insert_users(session, []), timeout=10)
        except Exception as error:
            raise AssertionError(
                f"bulk_insert_users(session, []) raised {type(error).__name__}: an empty list of "
                "parameters makes SQLAlchemy run the INSERT once, with no values. Return 0 first."
            ) from None
        await session.commit()
    async with other.engine.connect() as conn:
        left = (await conn.execute(text("SELECT count(*) FROM users"))).scalar_one()
    expect((inserted, left), (0, 0), "(return value, rows in users) for an empty list",
           "Insert nothing and return 0.")
### END HIDDEN TESTS

# %% [markdown] id=part-c-upserts-insert-update
# ---
# ## Part C — Upserts: insert or update by a unique key (7 points)
#
# A feed from another system sends rows keyed by a unique column: some are new, some update rows you already have.
# Here it is a directory of people keyed by `email` (the `users` table); in the exercise it is a product feed keyed by `sku`.
# Checking each key first and then choosing INSERT or UPDATE is slow (two round trips per row) and racy (two loaders can both decide to insert).
# PostgreSQL does it atomically in one statement: `INSERT … ON CONFLICT (email) DO UPDATE SET …`.
# In the `SET` list, `excluded` is the row that was proposed for insertion.
# SQLAlchemy builds it with the PostgreSQL-specific `insert` from `sqlalchemy.dialects.postgresql`:

# %% id=product-upsert
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert


def user_upsert():
    """INSERT INTO users … ON CONFLICT (email) DO UPDATE SET name = the new row's."""
    statement = pg_insert(User)
    return statement.on_conflict_do_update(
        index_elements=[User.email],
        set_={"name": statement.excluded.name},
    )


directory = [
    {"email": "lina.garcia1@example.com", "name": "Lina Garcia-Moreno"},
    {"email": "brand.new@example.com", "name": "Brand New"},
]
async with Session() as session:
    with count_statements(session) as sql:
        await session.execute(user_upsert(), directory)
    print(sql)
    for user in (await session.execute(
        select(User).where(User.email.in_([row["email"] for row in directory])).order_by(User.id)
    )).scalars():
        print(user.id, user.email, user.name)
    await session.rollback()

# %% [markdown] id=sku-0001-kept-id
# `lina.garcia1@example.com` kept her `id` (1) and got the new name; `brand.new@example.com` was inserted with a fresh id.
# Keeping the id matters: posts, accounts and orders point at it, so "delete and re-insert" would either fail on their foreign keys or take their rows with it.

# %% [markdown] id=mistake-upsert-sets-column
# > **Common mistake: an upsert that sets a column the model does not have, and a batch that names one key twice.**
# > A much-copied upsert example writes `"updated_at": func.now()` in its `set_`, but its model never defines `updated_at`.
# > SQLAlchemy only warns and sends the statement anyway; PostgreSQL rejects it.
# > The same example builds one statement with `.values(list_of_dicts)`: when the list names one key twice, PostgreSQL refuses to update the same row twice in one command (SQLSTATE 21000, `cardinality_violation`).
# > Both errors, as they really appear:

# %% id=mistake-upsert-sets-column-code
import warnings

from sqlalchemy import func
from sqlalchemy.exc import DBAPIError

statement = pg_insert(User).values(directory)
statement = statement.on_conflict_do_update(
    index_elements=["email"], set_={"name": statement.excluded.name, "updated_at": func.now()}
)
async with Session() as session:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            await session.execute(statement)
        except DBAPIError as error:
            print(f"{type(error).__name__}: {str(error.orig).splitlines()[0]}")
    for warning in caught:
        print(f"(and first a warning: {warning.message})")
    await session.rollback()

repeated = [
    {"email": "ada.zhang2@example.com", "name": "first version"},
    {"email": "ada.zhang2@example.com", "name": "second version"},
]
async with Session() as session:
    try:
        await session.execute(user_upsert().values(repeated))
    except DBAPIError as error:
        print(f"{type(error).__name__}: {str(error.orig).splitlines()[0]} "
              f"(sqlstate {error.orig.sqlstate})")
    await session.rollback()

# %% [markdown] id=fix-set-only-columns
# The fixes: set only columns the table has (if you want an `updated_at`, add it to the model and the table first), and de-duplicate the batch before sending it.
# Which duplicate should win? A feed is a stream of changes, so the **last** row for a key is the newest: keep that one.
# A dict keyed by the conflict column does exactly that, because assigning to an existing key replaces its value (and keeps the key's first position, which does not matter here).

# %% id=last-row-per-sku
def last_row_per_email(rows: list[dict]) -> list[dict]:
    """One row per email; a later row for the same email replaces an earlier one."""
    return list({row["email"]: row for row in rows}.values())


async with Session() as session:
    await session.execute(user_upsert().values(last_row_per_email(repeated)))
    stored = (await session.execute(select(User.name).where(User.email == "ada.zhang2@example.com"))).scalar_one()
    print("ada.zhang2@example.com is now named:", stored)
    await session.rollback()

# %% [markdown] id=note-two-shapes-used
# Note the two shapes used in this part:
#
# - `session.execute(user_upsert(), rows)` passes the rows as *parameters*: SQLAlchemy compiles the statement once and sends it as an executemany (or, with RETURNING, in pages of 1,000 rows).
# - `session.execute(user_upsert().values(rows))` puts the rows *into the statement*: one huge `VALUES (…), (…), …` compiled afresh for every batch.
#
# The executemany shape happens not to trip over a repeated key (each parameter set runs as its own INSERT), but add `.returning(...)` and it is paged into multi-row INSERTs again, and the error is back. De-duplicate in every case: the correct result should not depend on which shape SQLAlchemy picks.
#
# The shapes also differ in cost. A statement with the rows inside is compiled afresh for every batch, and compiling thousands of `VALUES` groups takes real time; a statement with rows as parameters is compiled once and cached. Measured for 1,000 new users:

# %% id=note-two-shapes-used-code
directory_1000 = [{"email": f"bulk-{i:05d}@bulk.example", "name": f"Bulk {i}"} for i in range(1_000)]
async with Session() as session:
    started = time.perf_counter()
    await session.execute(user_upsert().values(directory_1000))
    rows_inside = time.perf_counter() - started
    await session.rollback()

    started = time.perf_counter()
    await session.execute(user_upsert(), directory_1000)
    rows_as_parameters = time.perf_counter() - started
    await session.rollback()
print(f"rows inside the statement (.values): {rows_inside * 1000:6.1f} ms")
print(f"rows as parameters (executemany):    {rows_as_parameters * 1000:6.1f} ms "
      f"({rows_inside / rows_as_parameters:.0f}× faster)")

# %% [markdown] id=chunking-big-loads
# **Chunking big loads.** A statement cannot carry any number of bind parameters, and where the ceiling sits depends on the driver.
# PostgreSQL's protocol sends the values with a count in front, a 16-bit field that the server reads as unsigned: up to 65,535.
# asyncpg keeps that count in a *signed* 16-bit integer, so it refuses more than 32,767 values for one statement, with its own error, before the values are sent. libpq, under psycopg, allows the full 65,535.
#
# With asyncpg, the driver of this course, `.values()` with 10,000 products needs 4 parameters per row, 40,000 in all, so it fails; the executemany shape sends 4 per row and never gets near either ceiling.
# The same wall stops any statement with too many placeholders, for example an `IN (…)` list of ids (SQLAlchemy renders one placeholder per id).
# The next cell sends 40,000 ids through asyncpg and then through psycopg, on the same database, and finally 70,000 through psycopg:

# %% id=chunking-big-loads-code
from sqlalchemy import bindparam
from sqlalchemy.ext.asyncio import create_async_engine

in_list = text("SELECT count(*) FROM products WHERE id IN :ids").bindparams(
    bindparam("ids", expanding=True)
)
psycopg_engine = create_async_engine(db.url.replace("+asyncpg", "+psycopg"))
for driver, target, how_many in [("asyncpg", engine, 40_000), ("psycopg", psycopg_engine, 40_000),
                                 ("psycopg", psycopg_engine, 70_000)]:
    async with target.connect() as conn:
        try:
            matched = (await conn.execute(in_list, {"ids": list(range(how_many))})).scalar_one()
            print(f"{driver}, {how_many:,} parameters: ran, {matched} products matched")
        except DBAPIError as error:
            print(f"{driver}, {how_many:,} parameters: {type(error).__name__}: {str(error.orig).splitlines()[0]}")
await psycopg_engine.dispose()

# %% [markdown] id=so-statement-must-carry
# So when a statement must carry rows or values inside it (`.values()`, raw SQL with many placeholders), cut them into chunks that stay under your driver's limit (32,767 with asyncpg): `for start in range(0, len(rows), 1_000): … rows[start:start + 1_000]`.
# Read a load that is too big for memory from a generator, a chunk at a time, and keep every chunk in one transaction when the load must be all-or-nothing.
# A long list of values for `IN` is better sent as *one* array parameter, `WHERE id = ANY(:ids)` (notebook 08).

# %% [markdown] id=exercise-upsert-products
# ### Exercise: `upsert_products`
#
# Write `upsert_products(session, rows)`. Each row is a dict with the keys `sku`, `name`, `price` (a `Decimal`) and `stock`.
#
# - A row whose sku is new inserts a product; a row whose sku exists updates that product's `name`, `price` and `stock` (all three, whichever of them changed), keeping its `id`.
# - A batch may name one sku several times: it must work, and the **last** row for that sku wins.
# - Return the number of products written: one per *distinct* sku in the batch (inserted or updated), as an `int`. An empty batch writes nothing and returns 0.
# - Batches of up to 10,000 rows, in at most 10 statements (never one per row).
# - Do not commit: the caller does.

# %% solution id=upsert_products
async def upsert_products(session, rows: list[dict]) -> int:
    """Insert or update products by sku (last row per sku wins); return the distinct skus written."""
    ### BEGIN SOLUTION
    latest = list({row["sku"]: row for row in rows}.values())
    if not latest:
        return 0
    statement = pg_insert(Product)
    statement = statement.on_conflict_do_update(
        index_elements=[Product.sku],
        set_={
            "name": statement.excluded.name,
            "price": statement.excluded.price,
            "stock": statement.excluded.stock,
        },
    )
    await session.execute(statement, latest)
    return len(latest)
    ### END SOLUTION

# %% tests id=test_upsert_products_basic points=2
"""Check that upsert_products inserts a new sku, updates an existing one, and returns 2."""
from decimal import Decimal

from sqlalchemy import select

from asyncdb_lab.checks import expect

basic_feed = [
    {"sku": "SKU-0003", "name": "Updated three", "price": Decimal("12.34"), "stock": 3},
    {"sku": "CHECK-NEW-1", "name": "New one", "price": Decimal("0.50"), "stock": 0},
]
async with Session() as session:
    written = await upsert_products(session, basic_feed)
    expect(written, 2, "upsert_products with one existing and one new sku",
           "Return the number of products written, as an int.")
    stored = (await session.execute(
        select(Product.sku, Product.name, Product.price, Product.stock)
        .where(Product.sku.in_(["SKU-0003", "CHECK-NEW-1"])).order_by(Product.sku)
    )).all()
    expect([tuple(row) for row in stored],
           [("CHECK-NEW-1", "New one", Decimal("0.50"), 0),
            ("SKU-0003", "Updated three", Decimal("12.34"), 3)],
           "the two products afterwards (sku, name, price, stock)",
           "Insert new skus; for existing ones, update name, price and stock.")
    await session.rollback()
### BEGIN HIDDEN TESTS
import asyncio

async with disposable_database(seed=True, label="check_upsert_basic", say=False) as other:
    async with other.engine.connect() as conn:
        before = {sku: (pid, name, price, stock) for pid, sku, name, price, stock in (await conn.execute(
            select(Product.id, Product.sku, Product.name, Product.price, Product.stock)
        )).all()}
    _, _, same_price, same_stock = before["SKU-0020"]
    _, kept_name, kept_price, kept_stock = before["SKU-0030"]
    hidden_feed = [
        {"sku": "SKU-0001", "name": "Hidden one", "price": Decimal("100.00"), "stock": 5},
        {"sku": "SKU-0150", "name": "Hidden 150", "price": Decimal("0.00"), "stock": 0},
        {"sku": "SKU-0020", "name": "Renamed, same price", "price": same_price, "stock": same_stock + 3},
        {"sku": "SKU-0030", "name": kept_name, "price": kept_price, "stock": kept_stock},  # exactly as stored
        {"sku": "HIDDEN-A", "name": "Hidden A", "price": Decimal("7.25"), "stock": 70},
    ]
    async with other.session_factory() as session:
        written = await asyncio.wait_for(upsert_products(session, hidden_feed), timeout=10)
        await session.commit()
    expect(written, 5, "upsert_products with four existing skus (one unchanged, one with its price unchanged) "
           "and one new one", "Count one product per distinct sku in the batch, changed or not.")
    async with other.engine.connect() as conn:
        after = {sku: (pid, name, price, stock) for pid, sku, name, price, stock in (await conn.execute(
            select(Product.id, Product.sku, Product.name, Product.price, Product.stock)
        )).all()}
    expect(after["SKU-0001"], (before["SKU-0001"][0], "Hidden one", Decimal("100.00"), 5),
           "SKU-0001 after the upsert (id, name, price, stock)",
           "Update the existing row in place: its id must not change (order items point at it).")
    expect(after["SKU-0150"], (before["SKU-0150"][0], "Hidden 150", Decimal("0.00"), 0),
           "SKU-0150 after the upsert (id, name, price, stock)", "Update name, price and stock.")
    expect(after["SKU-0020"], (before["SKU-0020"][0], "Renamed, same price", same_price, same_stock + 3),
           "SKU-0020 after the upsert (id, name, price, stock): its price did not change, its name and stock did",
           "Update name, price and stock whenever the sku exists, not only when the price changed.")
    expect(after["SKU-0030"], before["SKU-0030"], "SKU-0030, sent exactly as stored", "")
    expect(after["HIDDEN-A"][1:], ("Hidden A", Decimal("7.25"), 70), "the new product HIDDEN-A",
           "Insert skus that do not exist yet.")
    in_batch = {row["sku"] for row in hidden_feed}
    untouched = {sku: row for sku, row in after.items() if sku not in in_batch}
    expect(untouched, {sku: row for sku, row in before.items() if sku not in in_batch},
           "the products that were not in the batch", "Touch only the skus in the batch.")
    async with other.session_factory() as session:
        expect(await asyncio.wait_for(upsert_products(session, []), timeout=10), 0,
               "upsert_products(session, [])", "An empty batch writes nothing and returns 0.")
### END HIDDEN TESTS

# %% tests id=test_upsert_products_repeated_sku points=2
"""Check that a batch naming one sku twice works and the last row for it wins."""
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from asyncdb_lab.checks import expect

twice_feed = [
    {"sku": "SKU-0004", "name": "old news", "price": Decimal("1.00"), "stock": 1},
    {"sku": "CHECK-NEW-2", "name": "Another", "price": Decimal("2.00"), "stock": 2},
    {"sku": "SKU-0004", "name": "latest", "price": Decimal("4.00"), "stock": 4},
]
async with Session() as session:
    written = await upsert_products(session, twice_feed)
    latest = (await session.execute(
        select(Product.name, Product.price, Product.stock).where(Product.sku == "SKU-0004")
    )).one()
    await session.rollback()
expect(written, 2, "upsert_products with three rows naming two distinct skus",
       "Count distinct skus: SKU-0004 is one product, written once.")
expect(tuple(latest), ("latest", Decimal("4.00"), 4), "SKU-0004 after the batch",
       "When a batch names a sku twice, keep the last row for it.")
### BEGIN HIDDEN TESTS
import asyncio
import random

async with disposable_database(seed=True, label="check_upsert_repeat", say=False) as other:
    shuffle = random.Random(7)
    skus = [f"SKU-{i:04d}" for i in range(1, 201)] + [f"REPEAT-{i:04d}" for i in range(300)]
    stream = []
    for version in range(3):  # every sku three times, adjacent and far apart
        batch = [{"sku": sku, "name": f"{sku} v{version}", "price": Decimal(f"{version}.25"),
                  "stock": version} for sku in skus]
        shuffle.shuffle(batch)
        stream.extend(batch)
    stream.insert(1, dict(stream[0], name=f"{stream[0]['sku']} v-1"))  # a repeat right next to it
    expected = {}
    for row in stream:
        expected[row["sku"]] = (row["name"], row["price"], row["stock"])
    async with other.session_factory() as session:
        try:
            written = await asyncio.wait_for(upsert_products(session, stream), timeout=12)
        except DBAPIError as error:
            raise AssertionError(
                f"upsert_products failed on a batch that repeats skus: {str(error.orig).splitlines()[0]}. "
                "De-duplicate the batch first, keeping the last row for each sku."
            ) from None
        await session.commit()
    expect(written, len(skus), f"upsert_products' return value for {len(stream)} rows naming {len(skus)} skus",
           "Return the number of distinct skus written.")
    async with other.engine.connect() as conn:
        stored = {sku: (name, price, stock) for sku, name, price, stock in (await conn.execute(
            select(Product.sku, Product.name, Product.price, Product.stock)
        )).all()}
    wrong = sorted(sku for sku in skus if stored.get(sku) != expected[sku])
    assert not wrong, (
        f"{len(wrong)} skus do not hold their last row, e.g. {wrong[0]}: {stored.get(wrong[0])} "
        f"instead of {expected[wrong[0]]}. When a sku repeats, the last row wins."
    )
### END HIDDEN TESTS

# %% tests id=test_upsert_products_big_batch points=2
"""Check that upsert_products handles 10,000 rows in at most 10 statements."""
### BEGIN HIDDEN TESTS
import asyncio
from decimal import Decimal

from sqlalchemy import event, func, select
from sqlalchemy.exc import DBAPIError

from asyncdb_lab.checks import expect


class _TooManyStatements(Exception):
    """Raised by the test to stop code that sends one statement per row."""


def _stop_after(engine, limit):
    seen = [0]

    def listener(*args):
        seen[0] += 1
        if seen[0] > limit:
            raise _TooManyStatements(f"stopped after {limit} statements")

    event.listen(engine.sync_engine, "before_cursor_execute", listener)
    return lambda: event.remove(engine.sync_engine, "before_cursor_execute", listener)


async with disposable_database(seed=True, label="check_upsert_big", say=False) as other:
    big = [{"sku": f"SKU-{i:04d}", "name": f"Big existing {i}", "price": Decimal("1.10"), "stock": 11}
           for i in range(1, 201)]
    big += [{"sku": f"BIG-{i:05d}", "name": f"Big new {i}", "price": Decimal("2.20"), "stock": 22}
            for i in range(9_800)]
    release = _stop_after(other.engine, 50)
    try:
        async with other.session_factory() as session:
            with count_statements(session) as sql:
                written = await asyncio.wait_for(upsert_products(session, big), timeout=12)
            await session.commit()
    except _TooManyStatements:
        raise AssertionError(
            "upsert_products sent more than 50 statements for 10,000 rows: one upsert per row. "
            "Send the batch as parameters of one statement."
        ) from None
    except DBAPIError as error:
        raise AssertionError(
            f"upsert_products failed on 10,000 rows: {str(error.orig).splitlines()[0]}. "
            "asyncpg binds at most 32,767 parameters to one statement: pass the rows as parameters, or chunk."
        ) from None
    finally:
        release()
    assert sql.count <= 10, f"upsert_products sent {sql.count} statements for 10,000 rows; at most 10."
    expect(written, 10_000, "upsert_products' return value for 10,000 distinct skus",
           "Return the number of distinct skus written.")
    async with other.engine.connect() as conn:
        counts = (await conn.execute(select(Product.stock, func.count()).group_by(Product.stock)
                                     .order_by(Product.stock))).all()
    expect([tuple(row) for row in counts], [(11, 200), (22, 9_800)],
           "(stock, products) after the big batch", "Every row of the batch must be written.")
### END HIDDEN TESTS

# %% tests id=test_upsert_products_leaves_commit_to_caller points=1
"""Check that upsert_products leaves the commit to the caller: a rollback undoes it."""
### BEGIN HIDDEN TESTS
import asyncio
from decimal import Decimal

from sqlalchemy import func, select

from asyncdb_lab.checks import expect

async with disposable_database(seed=True, label="check_upsert_rollback", say=False) as other:
    async with other.engine.connect() as conn:
        before = (await conn.execute(select(Product.name).where(Product.sku == "SKU-0005"))).scalar_one()
    async with other.session_factory() as session:
        await asyncio.wait_for(upsert_products(session, [
            {"sku": "SKU-0005", "name": "rolled back", "price": Decimal("5.55"), "stock": 5},
            {"sku": "UNDO-1", "name": "rolled back", "price": Decimal("5.55"), "stock": 5},
        ]), timeout=10)
        await session.rollback()
    async with other.engine.connect() as conn:
        after = (await conn.execute(select(Product.name).where(Product.sku == "SKU-0005"))).scalar_one()
        new = (await conn.execute(select(func.count()).where(Product.sku == "UNDO-1"))).scalar_one()
    expect((after, new), (before, 0), "(SKU-0005's name, UNDO-1 rows) after the caller rolled back",
           "Do not commit inside upsert_products: the caller owns the transaction.")
### END HIDDEN TESTS

# %% [markdown] id=part-d-copy-inside-session
# ---
# ## Part D — COPY inside the session's transaction (7 points)
#
# COPY streams rows to the server without a statement per row, which is why it won Part A.
# SQLAlchemy has no COPY API, but it lets you reach the driver's connection underneath a session, in three steps:
#
# 1. `conn = await session.connection()` — the session's own `AsyncConnection`, the one its transaction runs on;
# 2. `raw = await conn.get_raw_connection()` — the pool's wrapper around the driver connection;
# 3. `raw.driver_connection` — the `asyncpg.Connection` itself, with `copy_records_to_table(table, records=…, columns=…)`.
#
# `records` is a list of tuples in the order of `columns`; columns you leave out get their defaults (`id` from its sequence, `created_at` from `now()`).
# asyncpg sends them in PostgreSQL's binary format, so commas, quotes, tabs and newlines in the data need no escaping.
# The work happens below SQLAlchemy: `count_statements` does not see it, and objects already loaded in the session do not know about the new rows.

# %% [markdown] id=mistake-copy-first-thing
# > **Common mistake: COPY as the first thing in a session runs outside its transaction.**
# > SQLAlchemy's asyncpg adapter sends `BEGIN` lazily, together with the first statement that goes *through SQLAlchemy*.
# > `session.connection()` alone sends nothing, so when COPY is the first thing you do, asyncpg is not in a transaction yet and runs it in autocommit mode: the rows are committed at once, and the caller's `rollback()` cannot remove them.
# > The next cell shows it with `is_in_transaction()` on the `users` table (the exercise loads `posts`), and counts the rows that survive the rollback.

# %% id=mistake-copy-first-thing-code
marker = "copy-demo"
async with Session() as session:
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    print("asyncpg in a transaction before COPY?", raw.driver_connection.is_in_transaction())
    await raw.driver_connection.copy_records_to_table(
        "users", records=[(f"{marker}-1@bulk.example", "First Thing")], columns=["email", "name"]
    )
    await session.rollback()

async with engine.begin() as conn:  # count what survived, then clean up
    survived = (await conn.execute(
        text("DELETE FROM users WHERE email LIKE :pattern"), {"pattern": f"{marker}-%"}
    )).rowcount
print("rows that survived the rollback:", survived)

# %% [markdown] id=fix-make-sure-transaction
# The fix: make sure the transaction has begun before you take the driver connection.
# Any statement sent through SQLAlchemy does it; if your unit of work has not run one yet, a `SELECT 1` is the cheapest.

# %% id=fix-make-sure-transaction-code
async with Session() as session:
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    if not raw.driver_connection.is_in_transaction():
        await conn.exec_driver_sql("SELECT 1")  # SQLAlchemy sends BEGIN with it
    print("asyncpg in a transaction before COPY?", raw.driver_connection.is_in_transaction())
    status = await raw.driver_connection.copy_records_to_table(
        "users", records=[(f"{marker}-2@bulk.example", "Inside The Transaction")], columns=["email", "name"]
    )
    print("COPY answered:", repr(status))
    await session.rollback()

async with engine.connect() as conn:
    left = (await conn.execute(
        text("SELECT count(*) FROM users WHERE email LIKE :pattern"), {"pattern": f"{marker}-%"}
    )).scalar_one()
print("rows left after the rollback:", left)

# %% [markdown] id=exercise-copy-posts
# ### Exercise: `copy_posts`
#
# Write `copy_posts(session, rows)`. Each row is a tuple `(author_id, title, content)`.
#
# - Load the rows into `posts` with COPY, on the session's own connection, so that they are part of the session's transaction: visible to the session at once, invisible to everyone else until the caller commits, gone if the caller rolls back.
# - Let the database fill in `id` and `created_at`.
# - Return the number of rows copied, as an `int`.
# - Do not commit. Rows may belong to a user the session inserted a moment ago and has not committed yet.

# %% solution id=copy_posts
async def copy_posts(session, rows: list[tuple]) -> int:
    """COPY (author_id, title, content) tuples into posts inside the session's transaction."""
    ### BEGIN SOLUTION
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    if not driver.is_in_transaction():
        await conn.exec_driver_sql("SELECT 1")  # SQLAlchemy sends BEGIN lazily, with a statement
    status = await driver.copy_records_to_table(
        "posts", records=rows, columns=["author_id", "title", "content"]
    )
    return int(status.split()[-1])  # "COPY 3"
    ### END SOLUTION

# %% tests id=test_copy_posts_basic points=2
"""Check that copy_posts loads the rows, lets the database fill id and created_at, and returns the count."""
from sqlalchemy import func, select

from asyncdb_lab.checks import expect

copy_rows = [(1, "check-copy-1", "one"), (2, "check-copy-2", "two"), (2, "check-copy-3", "three")]
async with Session() as session:
    copied = await copy_posts(session, copy_rows)
    expect(copied, 3, "copy_posts(session, three rows)", "Return the number of rows copied, as an int.")
    stored = (await session.execute(
        select(Post.author_id, Post.title, Post.content).where(Post.title.like("check-copy-%"))
        .order_by(Post.title)
    )).all()
    expect([tuple(row) for row in stored], copy_rows, "the copied posts, seen by the same session",
           "COPY the columns author_id, title and content, in that order.")
    missing = (await session.execute(
        select(func.count()).where(Post.title.like("check-copy-%"), Post.created_at.is_(None))
    )).scalar_one()
    expect(missing, 0, "copied posts without created_at", "Leave created_at to its database default.")
    await session.rollback()
### BEGIN HIDDEN TESTS
import asyncio

async with disposable_database(seed=True, label="check_copy_basic", say=False) as other:
    awkward = [
        (5, "tricky-1", 'commas, "quotes", \'apostrophes\'\ttabs\nand newlines'),
        (6, "tricky-2", "back\\slashes \\N and NULL and ünïcödé ✓"),
        (7, "tricky-3", ""),
    ]
    async with other.session_factory() as session:
        copied = await asyncio.wait_for(copy_posts(session, awkward), timeout=10)
        await session.commit()
    expect(copied, 3, "copy_posts with awkward text", "Return the number of rows copied.")
    async with other.engine.connect() as conn:
        stored = (await conn.execute(
            select(Post.author_id, Post.title, Post.content).where(Post.title.like("tricky-%"))
            .order_by(Post.title)
        )).all()
        newest_ids = (await conn.execute(select(Post.id).where(Post.title.like("tricky-%")))).scalars().all()
    expect([tuple(row) for row in stored], awkward, "posts with commas, quotes, tabs, newlines, backslashes",
           "Let asyncpg's copy_records_to_table send the values; do not build CSV text by hand.")
    assert min(newest_ids) > 5_000, "The copied posts should get new ids from the sequence."
    async with other.session_factory() as session:
        expect(await asyncio.wait_for(copy_posts(session, []), timeout=10), 0,
               "copy_posts(session, [])", "An empty list copies nothing and returns 0.")
### END HIDDEN TESTS

# %% tests id=test_copy_posts_rollback points=2
"""Check that a rollback by the caller removes the copied rows, and a commit keeps them."""
### BEGIN HIDDEN TESTS
import asyncio

from sqlalchemy import func, select

from asyncdb_lab.checks import expect

async with disposable_database(seed=True, label="check_copy_rollback", say=False) as other:
    async def titled(title):
        async with other.engine.connect() as conn:
            return (await conn.execute(select(func.count()).where(Post.title == title))).scalar_one()

    async with other.session_factory() as session:  # COPY is the first thing this session does
        await asyncio.wait_for(copy_posts(session, [(3, "undo-me", "x")] * 4), timeout=10)
        await session.rollback()
    expect(await titled("undo-me"), 0, "copied rows left after the caller rolled back",
           "Either copy_posts committed, or COPY ran outside the session's transaction. Do not commit; "
           "use the session's own connection, and make sure its transaction has begun (SQLAlchemy "
           "sends BEGIN lazily) before the COPY.")
    async with other.session_factory() as session:
        await asyncio.wait_for(copy_posts(session, [(3, "keep-me", "x")] * 4), timeout=10)
        await session.commit()
    expect(await titled("keep-me"), 4, "copied rows after the caller committed", "A commit keeps them.")
### END HIDDEN TESTS

# %% tests id=test_copy_posts_same_transaction points=2
"""Check that copy_posts runs in the session's transaction: it sees the session's uncommitted user."""
### BEGIN HIDDEN TESTS
import asyncio

from sqlalchemy import func, select

from asyncdb_lab.checks import expect

async with disposable_database(seed=True, label="check_copy_same_tx", say=False) as other:
    async with other.session_factory() as session:
        author = User(email="copy-author@bulk.example", name="Copy Author")
        session.add(author)
        await session.flush()  # not committed: only this transaction sees the user
        try:
            copied = await asyncio.wait_for(
                copy_posts(session, [(author.id, "fresh-author", f"post {i}") for i in range(3)]),
                timeout=10,
            )
        except Exception as error:
            raise AssertionError(
                f"copy_posts failed for an author the session had just inserted ({type(error).__name__}: "
                f"{str(error).splitlines()[0]}). The COPY ran on another connection, which cannot see "
                "the session's uncommitted rows: use session.connection()."
            ) from None
        async with other.engine.connect() as conn:
            outside = (await conn.execute(select(func.count()).where(Post.title == "fresh-author"))).scalar_one()
        inside = (await session.execute(select(func.count()).where(Post.title == "fresh-author"))).scalar_one()
        await session.commit()
    expect((copied, inside, outside), (3, 3, 0),
           "(returned, rows seen by the session, rows seen by another connection before commit)",
           "The rows belong to the session's transaction until the caller commits.")
### END HIDDEN TESTS

# %% tests id=test_copy_posts_uses_copy points=1
"""Check that copy_posts uses COPY, not INSERT statements."""
### BEGIN HIDDEN TESTS
import asyncio

from sqlalchemy import func, select

from asyncdb_lab.checks import expect

async with disposable_database(seed=True, label="check_copy_is_copy", say=False) as other:
    async with other.session_factory() as session:
        with count_statements(session) as sql:
            copied = await asyncio.wait_for(
                copy_posts(session, [(9, "via-copy", f"n{i}") for i in range(2_000)]), timeout=10
            )
        landed = (await session.execute(select(func.count()).where(Post.title == "via-copy"))).scalar_one()
        await session.rollback()
    expect((copied, landed), (2_000, 2_000), "(returned, rows in posts) for 2,000 rows",
           "Copy every row and return how many.")
    inserts = [s for s in sql.statements if "INSERT" in s.sql.upper()]
    assert not inserts, (
        f"copy_posts sent {len(inserts)} INSERT statement(s) through SQLAlchemy. Use COPY: "
        "raw.driver_connection.copy_records_to_table(...)."
    )
### END HIDDEN TESTS

# %% [markdown] id=part-e-bulk-updates-big
# ---
# ## Part E — Bulk updates, and big tables in chunks (0 points)
#
# **Updating many rows by primary key.** Pass a list of dicts that each contain the primary key to `session.execute(update(Model), rows)`.
# The ORM turns the key into the `WHERE` clause and the other keys into `SET`, and sends one executemany.
# No objects are loaded. A dict whose id does not exist simply updates nothing.

# %% id=part-e-bulk-updates-code
from sqlalchemy import update

renames = [{"id": user_id, "name": f"Renamed {user_id}"} for user_id in range(1, 501)]
async with Session() as session:
    with count_statements(session) as sql:
        await session.execute(update(User), renames)
    print(sql.report(limit=1))
    renamed = (await session.execute(
        select(func.count()).where(User.name.like("Renamed %"))
    )).scalar_one()
    print("users renamed:", renamed)
    await session.rollback()

# %% [markdown] id=reading-big-table-chunks
# **Reading a big table in chunks.** Processing every row of a big table at once holds every object in memory.
# The usual fix is batches; done wrong, batches lose rows.
#
# > **Common mistake: OFFSET batches without ORDER BY, and `expire_all()` to "free memory".**
# > A widely copied batch loop reads `select(User).offset(offset).limit(1000)` without `ORDER BY`, processes each user, and calls `session.expire_all()` after each batch to "clear the session".
# > Without `ORDER BY`, PostgreSQL returns rows in whatever order is cheapest, usually their physical order. Updating a row writes a new version of it, often in another page of the table (at its end when the row's own page is full), so when the processing writes, the order shifts between batches: OFFSET skips some rows and repeats others, without any error.
# > The next cell runs that loop in batches of 100, updating each user it reads.

# %% id=reading-big-table-chunks-code
async with Session() as session:
    seen = []
    offset = 0
    while True:
        batch = (await session.execute(select(User).offset(offset).limit(100))).scalars().all()
        if not batch:
            break
        for user in batch:  # "process" each user: here, change its name
            seen.append(user.id)
            user.name = user.name + " ✓"
        await session.flush()
        offset += 100
    print(f"rows read: {len(seen)}, distinct users: {len(set(seen))} of 1,000")
    await session.rollback()

# %% [markdown] id=expire-all-frees-nothing
# And `expire_all()` frees nothing: it does not remove a single object from the session.
# It marks every loaded attribute as stale, which has two worse effects: changes not yet flushed are thrown away, and the next time you read an attribute, the ORM wants to reload it with a lazy query, which in async code raises `MissingGreenlet`.
# `expunge_all()` is the call that detaches the objects, so that the session holds nothing (flush or commit the batch first: expunged objects are no longer tracked).
# (The session's identity map holds objects weakly: objects you no longer reference and that have no pending changes go away by themselves.)

# %% id=expire-all-frees-nothing-code
from sqlalchemy.exc import MissingGreenlet

async with Session() as session:
    batch = (await session.execute(select(User).order_by(User.id).limit(100))).scalars().all()
    for user in batch:
        user.name = user.name + " ✓"
    print(f"held: {len(session.identity_map)}, with unflushed changes: {len(session.dirty)}")
    session.expire_all()
    print(f"after expire_all(): held {len(session.identity_map)}, with unflushed changes: {len(session.dirty)}")
    saved = (await session.execute(select(func.count()).where(User.name.like("% ✓")))).scalar_one()
    print("changes that reached the database:", saved)
    try:
        print(batch[0].name)
    except MissingGreenlet as error:
        print(f"reading batch[0].name: {type(error).__name__}: {str(error).split('(')[0].strip()}")
    session.expunge_all()
    print(f"after expunge_all(): held {len(session.identity_map)}")
    await session.rollback()

# %% [markdown] id=first-loop-half-users
# In the first loop, half of the users were never processed and the other half twice.
# The fix is **keyset pagination**: order by a unique key and continue after the last key seen (`WHERE id > :last`).
# Rows that change or move cannot shift a batch, and the database finds the start of each batch through the index instead of counting past OFFSET rows.
# `expunge_all()` after each batch keeps the session small (commit or flush the batch's changes first: expunged objects are no longer tracked).

# %% id=first-loop-half-users-code
async with Session() as session:
    seen = []
    last_id = 0
    while True:
        batch = (await session.execute(
            select(User).where(User.id > last_id).order_by(User.id).limit(100)
        )).scalars().all()
        if not batch:
            break
        for user in batch:
            seen.append(user.id)
            user.name = user.name + " ✓"
        await session.flush()
        last_id = batch[-1].id
        session.expunge_all()
    print(f"rows read: {len(seen)}, distinct users: {len(set(seen))} of 1,000")
    await session.rollback()

# %% [markdown] id=only-read-streaming-simpler
# When you only read, **streaming** is simpler still: one query, with rows fetched from a server-side cursor in partitions of `yield_per` rows.
# The session holds only the objects you still reference, so memory stays bounded by the partition size.

# %% id=only-read-streaming-simpler-code
async with Session() as session:
    with count_statements(session) as sql:
        result = await session.stream_scalars(
            select(User).order_by(User.id).execution_options(yield_per=250)
        )
        sizes = []
        async for partition in result.partitions():
            sizes.append(len(partition))
            held = len(session.identity_map)
    print("partition sizes:", sizes, "· objects held at the end:", held)
    print(sql.report(limit=1))

# %% [markdown] id=summary
# ---
# ## Summary
#
# - Bulk loads are about round trips and per-row work. Measured here: COPY is several times faster than executemany (ORM bulk `insert(Model)` or Core) and `returning()`, which are close enough to swap places from run to run; `add_all` is several times slower than those, and one execute per row slower still by far. Trust a ranking only where the gap is large.
# - `session.execute(insert(User), rows)` is one executemany without objects or ids; `add_all` and `returning()` are paged by 1,000 rows; an empty parameter list is not "no rows".
# - `INSERT … ON CONFLICT DO UPDATE` (from `sqlalchemy.dialects.postgresql`) upserts atomically and keeps ids. De-duplicate the batch first (last one wins), or a repeated key fails with SQLSTATE 21000; set only columns the table has.
# - Pass rows as parameters rather than into `.values()`: compiled once, and clear of the driver's parameter limit per statement (asyncpg: 32,767; psycopg: 65,535, the protocol's own). Chunk when you must.
# - COPY through `session.connection()` → `get_raw_connection()` → `driver_connection`, after the transaction has begun, so the caller's commit or rollback decides.
# - Bulk UPDATE by primary key: `session.execute(update(Model), rows_with_ids)`.
# - Big reads: keyset pagination or `stream_scalars(...).partitions()` with `yield_per`; never OFFSET without ORDER BY. `expunge_all()` frees the session; `expire_all()` keeps every object, throws away unflushed changes and turns the next attribute read into a lazy load (`MissingGreenlet`).
#
# ## Interview questions
#
# 1. Why is inserting 10,000 rows one `execute` at a time slow even on a fast server?
# 2. `session.add_all(objects)` and `session.execute(insert(User), dicts)` both insert many rows. What does each give you, and what does it cost?
# 3. An upsert batch fails with "ON CONFLICT DO UPDATE command cannot affect row a second time". Why, and how do you fix it?
# 4. Why does `insert(...).values(rows)` fail for 10,000 rows of 4 columns, when `session.execute(insert(...), rows)` works?
# 5. You run COPY through `raw.driver_connection` right after `session.connection()` and then roll back. The rows are still there. Why?
# 6. A nightly job reads users in OFFSET batches and updates each one. Some users are never processed. Why, and what do you use instead?
# 7. The same job calls `session.expire_all()` after each batch "to free memory". What does that call really do?
#
# <details><summary>Answers</summary>
#
# 1. Each execute is a round trip: build, send, parse/plan/execute on the server, answer back. The fixed cost per statement, times 10,000, dominates. Batch the rows into one executemany or COPY.
# 2. `add_all` gives you ORM objects with their ids and defaults (it uses RETURNING, in pages of 1,000) at the cost of building and tracking an object per row. The bulk insert sends one executemany and gives you nothing back; it is several times faster.
# 3. One INSERT … ON CONFLICT DO UPDATE statement may not update the same row twice, and the batch names one key twice (SQLSTATE 21000). De-duplicate before sending, keeping the last row per key (a dict keyed by the unique column).
# 4. `.values(rows)` puts every value into one statement: 40,000 bind parameters, over asyncpg's limit of 32,767 (it keeps the count in a signed 16-bit integer; the protocol's field is unsigned, and psycopg would send up to 65,535). Passing the rows as parameters sends one set of 4 per row (executemany) and compiles the statement once.
# 5. SQLAlchemy's asyncpg adapter sends BEGIN lazily, with the first statement that goes through SQLAlchemy; `session.connection()` sends nothing. The COPY ran in asyncpg's autocommit mode. Run a statement through the connection first (or check `is_in_transaction()`).
# 6. OFFSET without ORDER BY follows the physical order, which changes when rows are updated, so batches skip and repeat rows. Use keyset pagination (`WHERE id > :last ORDER BY id LIMIT n`) or a stream with `yield_per`.
# 7. It keeps every object in the session and marks their attributes stale: unflushed changes are thrown away, and the next attribute read needs a lazy load, which raises `MissingGreenlet` in async code. Flush, then `expunge_all()` to let the objects go; or stream with `yield_per`.
#
# </details>
#
# ## Further reading
#
# - SQLAlchemy: [ORM-enabled INSERT, UPDATE and DELETE (bulk insert, bulk update by primary key)](https://docs.sqlalchemy.org/en/20/orm/queryguide/dml.html)
# - SQLAlchemy: ["Insert many values" behaviour for INSERT statements](https://docs.sqlalchemy.org/en/20/core/connections.html#engine-insertmanyvalues)
# - SQLAlchemy: [PostgreSQL INSERT … ON CONFLICT (upsert)](https://docs.sqlalchemy.org/en/20/dialects/postgresql.html#insert-on-conflict-upsert)
# - SQLAlchemy: [Using the driver connection (get_raw_connection)](https://docs.sqlalchemy.org/en/20/orm/extensions/asyncio.html#using-awaitable-only-driver-methods-in-connection-pool-and-other-events)
# - SQLAlchemy: [Fetching large result sets with yield_per](https://docs.sqlalchemy.org/en/20/orm/queryguide/api.html#fetching-large-result-sets-with-yield-per)
# - asyncpg: [Connection.copy_records_to_table](https://magicstack.github.io/asyncpg/current/api/index.html#asyncpg.connection.Connection.copy_records_to_table)
# - PostgreSQL: [INSERT … ON CONFLICT](https://www.postgresql.org/docs/current/sql-insert.html#SQL-ON-CONFLICT) and [COPY](https://www.postgresql.org/docs/current/sql-copy.html)
# - PostgreSQL: [Populating a database](https://www.postgresql.org/docs/current/populate.html)

# %% [markdown] id=check-your-notebook
# ---
# **Check your notebook.** Save (Ctrl+S), then run this cell: it checks the saved file as `asyncdb-lab check` does, on a fresh database, and shows each exercise's points, a failing test's message with its first hint, and what to do next.

# %% id=check-this-notebook
from asyncdb_lab.learner.in_lab import check_this_notebook

check_this_notebook()
