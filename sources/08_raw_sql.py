# %% [markdown] id=intro
# # **08 · Raw SQL done safely: text(), dates, windows and LIKE**
#
# Write SQL by hand where it is the clearest tool (reports, date series, rankings) without opening the door to injection, wrong types or missing days.
#
# **Learning goals**
# - Run SQL with `text()` and bound parameters, and see why string formatting is an injection hole, with a harmless payload.
# - Read results as rows, dicts (`.mappings()`) or ORM objects (`text().columns(...)`), and get the Python types you expect.
# - Count per day with `generate_series`, so that days without rows appear with zero.
# - Rank with `rank()`, `dense_rank()` and `row_number()`, keep running totals, and structure a query with CTEs.
# - Search with `LIKE`/`ILIKE` when the search term itself contains `%`, `_` or `\`.
# - Reach the asyncpg connection under a session when you need a driver feature.
#
# **Prerequisites**: notebook 01 (engines, sessions, `text()`), basic SQL (`SELECT`, `JOIN`, `GROUP BY`).
#
# **Out of scope**: full-text search (`tsvector`), query plans and indexes for LIKE (`pg_trgm`), stored procedures.

# %% [markdown] id=setup
# ## Setup
#
# Run the next cell first: it gives this notebook a fresh database with the course's seed data.
# Users signed up between 2026-04-01 and 2026-06-29, with seven days in that range on which nobody did.

# %% readonly id=setup-database
from datetime import date

from sqlalchemy import text

from asyncdb_lab import count_statements, disposable_database
from asyncdb_lab.models import Order, OrderItem, Post, Product, User

db = await disposable_database(seed=True)
engine = db.engine
Session = db.session_factory

# %% [markdown] id=part-a-text-bound-parameters
# ---
# ## Part A — `text()` and bound parameters (0 points)
#
# `text("… :name …")` wraps a SQL string; every `:name` in it is a *bound parameter*.
# You pass the values separately, as a dict. SQLAlchemy turns each `:name` into asyncpg's placeholder `$1`, `$2`, … and the driver sends the values apart from the SQL text, so the server never parses a value as SQL.
# The statement counter shows both halves:

# %% id=part-a-text-bound-code
async with Session() as session:
    with count_statements(session) as sql:
        result = await session.execute(
            text("SELECT id, email, name FROM users WHERE id = :user_id"), {"user_id": 42}
        )
        print(result.one())
    print(sql)

# %% [markdown] id=mistake-building-sql-f
# > **Common mistake: building SQL with f-strings or `%` formatting.**
# > Pasting a value into the SQL text lets the value *become* SQL.
# > Below, a search box builds `… WHERE name ILIKE '%{term}%'`. A term that closes the quote and adds `OR true` turns the filter into "every row" (a harmless payload: it only reads, but the same hole runs whatever SQL the attacker writes).
# > An honest name with an apostrophe breaks the query too.

# %% id=search-names-unsafely
from sqlalchemy.exc import DBAPIError


async def search_names_unsafely(session, term):
    sql = f"SELECT id, name FROM users WHERE name ILIKE '%{term}%' ORDER BY id"
    return (await session.execute(text(sql))).all()


payload = "nobody' OR true OR name ILIKE '"
async with Session() as session:
    found = await search_names_unsafely(session, payload)
    print(f"the payload matched {len(found)} of 1,000 users")
    print("the SQL it built:", f"... WHERE name ILIKE '%{payload}%' ...")
    try:
        await search_names_unsafely(session, "O'Brien")
    except DBAPIError as error:
        print(f"an apostrophe: {type(error).__name__}: {str(error.orig).splitlines()[0]}")

# %% [markdown] id=bound-parameter-same-payload
# With a bound parameter, the same payload is just a strange string to look for, and the apostrophe is just a character:

# %% id=search-names
async def search_names(session, term):
    statement = text("SELECT id, name FROM users WHERE name ILIKE :pattern ORDER BY id")
    return (await session.execute(statement, {"pattern": f"%{term}%"})).all()


async with Session() as session:
    print("payload as a bound parameter:", await search_names(session, payload))
    print("O'Brien as a bound parameter:", await search_names(session, "O'Brien"))

# %% [markdown] id=two-details-bound-parameters
# Two details of bound parameters in `text()` trip people up:
#
# - **`:name::type` does not work.** PostgreSQL's cast shorthand `::` right after a parameter hides the parameter from SQLAlchemy, which then sends the `:name` literally. Write `CAST(:name AS date)` instead.
# - **asyncpg wants real Python types.** It encodes a `date` parameter from a `datetime.date`, not from the string `"2026-05-01"`: it checks each value against the parameter type the server reported for the statement, and refuses a string where a date or timestamp belongs.

# %% id=two-details-bound-parameters-code
async with Session() as session:
    for label, sql, value in [
        ("shorthand cast  ", "SELECT :day::date", date(2026, 5, 1)),
        ("a string        ", "SELECT count(*) FROM users WHERE created_at >= :day", "2026-05-01"),
        ("CAST with a date", "SELECT CAST(:day AS date)", date(2026, 5, 1)),
    ]:
        try:
            print(label, "->", (await session.execute(text(sql), {"day": value})).scalar_one())
        except DBAPIError as error:
            print(label, "->", f"{type(error).__name__}: {str(error.orig).splitlines()[0]}")
        await session.rollback()

# %% [markdown] id=reading-results
# **Reading the results.** A `Result` gives you `Row` objects (tuples with attribute access: `row.email`).
# `.scalars()` gives the first column only, and `.mappings()` gives dict-like rows keyed by column name; wrap each in `dict(...)` to get a plain, independent `dict`.
# The Python types come from the column types in the result: `count(*)` is a `bigint` → `int`, `numeric` → `Decimal`, `date` → `datetime.date`, `timestamptz` → an aware `datetime`.

# %% id=reading-results-code
async with Session() as session:
    result = await session.execute(
        text("SELECT id, email, created_at, created_at::date AS day FROM users WHERE id <= 2 ORDER BY id")
    )
    for row in result.mappings():
        print(dict(row))

# %% [markdown] id=typed-columns
# **Typed columns.** `text(...).columns(...)` tells SQLAlchemy what the columns of a hand-written query are.
# That turns the string into something the rest of SQLAlchemy can use: the ORM can build objects from it (`select(User).from_statement(...)`), and a Core query can join it as a subquery with named, typed columns.

# %% id=typed-columns-code
from sqlalchemy import Integer, Numeric, column, select

newest = text("SELECT id, email, name, created_at FROM users ORDER BY created_at DESC LIMIT :n")
newest = newest.columns(User.id, User.email, User.name, User.created_at)
async with Session() as session:
    users = (await session.execute(select(User).from_statement(newest), {"n": 2})).scalars().all()
    print(users)

    posts_per_author = text("SELECT author_id, count(*) AS posts FROM posts GROUP BY author_id")
    posts_per_author = posts_per_author.columns(column("author_id", Integer), column("posts", Integer))
    counts = posts_per_author.subquery("counts")
    busiest = select(User.email, counts.c.posts).join(counts, counts.c.author_id == User.id)
    print((await session.execute(busiest.order_by(counts.c.posts.desc(), User.id).limit(2))).all())

# %% [markdown] id=part-b-counting-per-day
# ---
# ## Part B — Counting per day, including the empty days (6 points)
#
# "How many signups per day?" looks like a `GROUP BY` on the day. It is one, with two traps: the days with no rows, and the types.

# %% [markdown] id=mistake-statistics-query-written
# > **Common mistake: a statistics query written for columns the model never had.**
# > A much-copied "user statistics" example groups `users` by `DATE_TRUNC('day', created_at)` and also reports `COUNT(DISTINCT email)`, from `datetime.now() - timedelta(days=30)` on.
# > Its own `User` model has no `created_at` column, so against that model's table it cannot even run.
# > Against a schema that has the column, `COUNT(DISTINCT email)` of a column declared `unique` always equals `COUNT(*)`: it measures nothing.
# > And a window that starts at "now minus 30 days" depends on the day you run it: on this seed data (signups end on 2026-06-29) it returns nothing at all by now.
# > The next cell runs the query against a table shaped like that model, then against ours.

# %% id=mistake-statistics-query-written-code
from datetime import datetime, timedelta

tutorial_statistics = """
    SELECT DATE_TRUNC('day', created_at) AS date, COUNT(*) AS user_count,
           COUNT(DISTINCT email) AS unique_emails
    FROM {table} WHERE created_at >= :start_date
    GROUP BY DATE_TRUNC('day', created_at) ORDER BY date DESC
"""
async with Session() as session:
    await session.execute(text(
        "CREATE TEMPORARY TABLE tutorial_users (id serial PRIMARY KEY, email varchar UNIQUE, name varchar)"
    ))
    try:
        await session.execute(text(tutorial_statistics.format(table="tutorial_users")),
                              {"start_date": datetime.now() - timedelta(days=30)})
    except DBAPIError as error:
        print(f"the tutorial's model: {type(error).__name__}: {str(error.orig).splitlines()[0]}")
    await session.rollback()

    last_30_days = (await session.execute(text(tutorial_statistics.format(table="users")),
                                          {"start_date": datetime.now() - timedelta(days=30)})).all()
    print(f"our schema, the last 30 days before {datetime.now():%Y-%m-%d}: {len(last_30_days)} rows")
    rows = (await session.execute(text(tutorial_statistics.format(table="users")),
                                  {"start_date": datetime(2026, 4, 1)})).all()
    differ = sum(1 for row in rows if row.user_count != row.unique_emails)
    print(f"our schema, from 2026-04-01: {len(rows)} days, days where unique_emails differs from user_count: {differ}")

# %% [markdown] id=mistake-date-trunc-group
# > **Common mistake: `DATE_TRUNC` + `GROUP BY` skips the days without rows.**
# > `GROUP BY` makes a group for each day that *has* rows. A day nobody signed up on has no rows, so it has no group, and a chart drawn from the result silently joins its neighbours.
# > The seed data covers 90 days, seven of them without signups. Count the rows the query returns, and look at what `DATE_TRUNC` gives back: a `timestamptz` (a `datetime` at midnight), not a `date`.

# %% id=mistake-date-trunc-group-code
async with Session() as session:
    rows = (await session.execute(text("""
        SELECT DATE_TRUNC('day', created_at) AS day, count(*) AS signups
        FROM users GROUP BY DATE_TRUNC('day', created_at) ORDER BY day
    """))).all()
print(f"{len(rows)} rows for 90 days; the first: {rows[0]}")
seen_days = {row.day.date() for row in rows}
print("days missing:", [str(date(2026, 4, 1) + timedelta(days=i)) for i in range(90)
                        if date(2026, 4, 1) + timedelta(days=i) not in seen_days])

# %% [markdown] id=fix-start-days-not
# The fix is to start from the days, not from the rows.
# `generate_series(start, end, interval '1 day')` produces one row per day; a `LEFT JOIN` attaches the rows of each day, and days without any keep a row of NULLs.
# Two details decide whether the result is right:
#
# - Count a column of the joined table (`count(o.id)`), not `count(*)`: `count(*)` counts the NULL row of an empty day as 1, `count(o.id)` skips NULLs and gives 0.
# - Join on a half-open range (`created_at >= day AND created_at < day + interval '1 day'`): it includes the whole last day and lets an index on `created_at` do the work. `BETWEEN :start AND :end` with dates stops at midnight *at the start* of the end day.
#
# The step of the series is yours to choose. Here it is for **orders per week**, from June into July (the orders end on 2026-06-29), with weeks starting on Monday:
# `date_trunc('week', …)` moves the start back to its Monday, each week's rows are those from its Monday to the next, and `week::date` turns the series' midnight timestamps into dates.
# The weeks of July have no orders at all, and still get their row.

# %% id=fix-start-days-not-code
orders_per_week = text("""
    SELECT week::date AS week, count(o.id) AS orders
    FROM generate_series(date_trunc('week', CAST(:start AS date)), CAST(:end AS date), interval '1 week') AS week
    LEFT JOIN orders AS o ON o.created_at >= week AND o.created_at < week + interval '1 week'
    GROUP BY week
    ORDER BY week
""")
async with Session() as session:
    with count_statements(session) as sql:
        result = await session.execute(orders_per_week, {"start": date(2026, 6, 3), "end": date(2026, 7, 31)})
        for row in result:
            print(row.week, row.orders)
    print(sql)

# %% [markdown] id=days-utc-days-here
# Days are UTC days here: the course's databases run with `TimeZone = UTC`, and both `::date` and `DATE_TRUNC` on a `timestamptz` cut days in the session's time zone.
# A report for users elsewhere would name the zone explicitly (`created_at AT TIME ZONE 'Europe/Paris'`).
#
# ### Exercise: `daily_signups`
#
# Write `daily_signups(session, start, end)`: the number of users who signed up (`users.created_at`) on each day from `start` to `end`, **both included**.
#
# - Return a list of `(day, signups)` tuples in day order: `day` a `datetime.date`, `signups` an `int`, one tuple per day, with 0 for days without signups.
# - Days are UTC calendar days, whatever offset a `created_at` was written with (`2026-01-02 01:30+02:00` is a signup of 2026-01-01).
# - `start > end` is an empty range: return `[]`. A range may cross the end of a month or a year.
# - One query (the tests count statements); plain tuples, not `Row` objects.
# - Use the caller's session as it is: it may already be in a transaction, so do not begin or commit one yourself.
#
# Part B counted orders per *week*; here you count users per *day*.

# %% solution id=daily_signups
async def daily_signups(session, start: date, end: date) -> list[tuple[date, int]]:
    """(day, signups) for every day from start to end inclusive, zero for days without signups."""
    ### BEGIN SOLUTION
    result = await session.execute(
        text("""
            SELECT day::date AS day, count(u.id) AS signups
            FROM generate_series(CAST(:start AS date), CAST(:end AS date), interval '1 day') AS day
            LEFT JOIN users AS u ON u.created_at >= day AND u.created_at < day + interval '1 day'
            GROUP BY day
            ORDER BY day
        """),
        {"start": start, "end": end},
    )
    return [(day, signups) for day, signups in result]
    ### END SOLUTION

# %% tests id=test_daily_signups_basic points=2
"""Check that daily_signups returns one (date, int) per day, with 0 for a day without signups."""
from asyncdb_lab.checks import expect

async with Session() as session:
    week = await daily_signups(session, date(2026, 4, 10), date(2026, 4, 14))
expected_week = [(date(2026, 4, 10), 13), (date(2026, 4, 11), 6), (date(2026, 4, 12), 0),
                 (date(2026, 4, 13), 15), (date(2026, 4, 14), 12)]  # the seed data's signups; none on 2026-04-12
if week:
    day, signups = week[0]
    assert type(week[0]) is tuple, (
        f"daily_signups returned {type(week[0]).__name__} items: return plain tuples, "
        "e.g. [(day, signups) for day, signups in result]."
    )
    assert type(day) is date, (
        f"The day is a {type(day).__name__}, not a datetime.date: generate_series and DATE_TRUNC give "
        "timestamps; cast with ::date."
    )
    assert type(signups) is int, f"The count is a {type(signups).__name__}, not an int."
expect(week, expected_week, "daily_signups(session, 2026-04-10, 2026-04-14)",
       "One (datetime.date, int) tuple per day, both ends included, 0 for 2026-04-12. "
       "Start from generate_series, cast the day to date, and return plain tuples.")
### BEGIN HIDDEN TESTS
from datetime import timedelta

async with Session() as session:
    with count_statements(session) as sql:
        season = await daily_signups(session, date(2026, 4, 1), date(2026, 6, 29))
    all_stamps = (await session.execute(text("SELECT created_at FROM users"))).scalars().all()
per_day = {}
for stamp in all_stamps:
    per_day[stamp.date()] = per_day.get(stamp.date(), 0) + 1
expected_season = [(date(2026, 4, 1) + timedelta(days=i), per_day.get(date(2026, 4, 1) + timedelta(days=i), 0))
                   for i in range(90)]
expect(len(season), 90, "rows from daily_signups for 2026-04-01 .. 2026-06-29",
       "One row per day, including the days without signups.")
expect(season, expected_season, "daily_signups over the whole seed period",
       "Every day appears once, in order, with its number of signups (0 when there were none).")
zero_days = [day for day, signups in season if signups == 0]
expect(zero_days, [date(2026, 4, 12), date(2026, 4, 27), date(2026, 5, 9), date(2026, 5, 10),
                   date(2026, 5, 26), date(2026, 6, 8), date(2026, 6, 21)],
       "the days without signups", "Days without signups must appear with 0.")
assert sql.count <= 2, f"daily_signups sent {sql.count} statements for 90 days: count them in one query."
### END HIDDEN TESTS

# %% tests id=test_daily_signups_boundaries points=2
"""Check that both ends of the range are included, to the last microsecond of the end day."""
### BEGIN HIDDEN TESTS
import asyncio
from datetime import datetime, timedelta, timezone

from asyncdb_lab.checks import expect

async with disposable_database(tables=True, label="check_daily_edges", say=False) as other:
    moments = [
        datetime(2025, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc),  # before the range
        datetime(2026, 1, 1, 0, 0, 0, tzinfo=timezone.utc),  # first instant of the start day
        datetime(2026, 1, 1, 23, 59, 59, 999999, tzinfo=timezone.utc),
        datetime(2026, 1, 3, 12, 0, 0, tzinfo=timezone.utc),
        datetime(2026, 1, 3, 23, 59, 59, 999999, tzinfo=timezone.utc),  # last instant of the end day
        datetime(2026, 1, 4, 0, 0, 0, tzinfo=timezone.utc),  # after the range
        # written with other offsets: what counts is the UTC day
        datetime(2026, 1, 2, 1, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),  # 2026-01-01 20:00 UTC
        datetime(2026, 1, 2, 20, 0, tzinfo=timezone(timedelta(hours=-8))),  # 2026-01-03 04:00 UTC
        datetime(2026, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=2))),  # 2025-12-31 22:30 UTC: before
    ]
    async with other.session_factory() as session:
        session.add_all([User(email=f"edge{i}@raw.example", name=f"Edge {i}", created_at=moment)
                         for i, moment in enumerate(moments)])
        await session.commit()
    async with other.session_factory() as session:
        edges = await asyncio.wait_for(daily_signups(session, date(2026, 1, 1), date(2026, 1, 3)), timeout=10)
    expect(edges, [(date(2026, 1, 1), 3), (date(2026, 1, 2), 0), (date(2026, 1, 3), 3)],
           "daily_signups(2026-01-01, 2026-01-03) with signups at the first and last instants of the range, "
           "just outside it, and some written with offsets such as +05:30 and -08:00",
           "Both days are included whole: created_at >= start day and < the day after the end "
           "(BETWEEN with dates stops at midnight at the start of the end day). Days are UTC days: "
           "compare the timestamptz itself, in the session's UTC, not converted to another zone.")
    async with other.session_factory() as session:
        year_end = await asyncio.wait_for(daily_signups(session, date(2025, 12, 30), date(2026, 1, 1)), timeout=10)
    expect(year_end, [(date(2025, 12, 30), 0), (date(2025, 12, 31), 2), (date(2026, 1, 1), 3)],
           "daily_signups(2025-12-30, 2026-01-01), across the end of the year", "")
### END HIDDEN TESTS

# %% tests id=test_daily_signups_edge_ranges points=2
"""Check that daily_signups handles a single day, an empty range (start after end) and days after the data."""
from asyncdb_lab.checks import expect

async with Session() as session:
    expect(await daily_signups(session, date(2026, 5, 9), date(2026, 5, 9)), [(date(2026, 5, 9), 0)],
           "daily_signups for the single day 2026-05-09 (nobody signed up)", "One row, with 0.")
### BEGIN HIDDEN TESTS
async with Session() as session:
    expect(await daily_signups(session, date(2026, 5, 12), date(2026, 5, 11)), [],
           "daily_signups with start after end", "An empty range has no days: return [].")
    one_day = await daily_signups(session, date(2026, 6, 29), date(2026, 6, 29))
    last_day = (await session.execute(text(
        "SELECT count(*) FROM users WHERE created_at >= '2026-06-29' AND created_at < '2026-06-30'"
    ))).scalar_one()
    expect(one_day, [(date(2026, 6, 29), last_day)], "daily_signups for the single day 2026-06-29",
           "One row for that day.")
    expect(await daily_signups(session, date(2027, 2, 27), date(2027, 3, 1)),
           [(date(2027, 2, 27), 0), (date(2027, 2, 28), 0), (date(2027, 3, 1), 0)],
           "daily_signups for three days after the data ends", "Every day appears, with 0.")

import asyncio

# The rows out of id order on disk, gaps in the ids, and a caller whose session is already in a transaction.
async with disposable_database(seed=True, label="check_daily_order", say=False) as other:
    async with other.engine.begin() as conn:
        await conn.execute(text("DELETE FROM users WHERE id % 9 = 4"))
        await conn.execute(text("UPDATE users SET name = name WHERE id <= 500"))  # new row versions go to the end
        await conn.execute(text("UPDATE users SET name = name WHERE id % 2 = 0"))
        reference = (await conn.execute(text("""
            SELECT d.day, (SELECT count(*) FROM users AS u
                           WHERE u.created_at >= d.day AND u.created_at < d.day + 1)::int
            FROM (SELECT CAST('2026-04-26' AS date) + i AS day FROM generate_series(0, 9) AS i) AS d
            ORDER BY d.day
        """))).all()
    async with other.session_factory() as session:
        await session.execute(text("SELECT 1"))  # the caller's transaction has begun
        try:
            around_may = await asyncio.wait_for(daily_signups(session, date(2026, 4, 26), date(2026, 5, 5)), timeout=10)
        except Exception as error:
            raise AssertionError(
                f"daily_signups raised {type(error).__name__} when the caller's session was already in a "
                "transaction: run your query on the session as it is, without session.begin() or commit().") from None
        still_open = session.in_transaction()
expect(around_may, [tuple(row) for row in reference],
       "daily_signups(2026-04-26, 2026-05-05) with the table's rows stored out of id order and some users deleted",
       "Across the end of April, one row per day in day order. Do not rely on the order rows are stored in: "
       "group in SQL (or sort first), and order by day.")
expect(still_open, True, "the caller's transaction still open after daily_signups",
       "Do not commit or close the caller's session.")
### END HIDDEN TESTS

# %% [markdown] id=part-c-searching-like-literally
# ---
# ## Part C — Searching with LIKE, literally (6 points)
#
# `LIKE` patterns have two wildcards: `%` (any run of characters) and `_` (any one character); `ILIKE` is the case-insensitive `LIKE` of PostgreSQL.
# A search box that wraps the user's term as `%term%` and binds it is safe from injection, but the term's *own* `%` and `_` are still wildcards: searching for `100%` or `snake_case` matches far more than it should, and searching for `%` matches everyone.
# The backslash is special too: it is LIKE's escape character, so a term containing `C:\Temp` looks for `C:Temp`.
# The next cell adds three users with such names (rolled back at the end) and searches naively.

# %% id=naive-search
special_users = [
    User(email="cotton@wild.example", name="100% Cotton"),
    User(email="snake@wild.example", name="snake_case fan"),
    User(email="path@wild.example", name="C:\\Temp\\new"),
]


async def naive_search(session, term):
    statement = text("SELECT name FROM users WHERE name ILIKE :pattern ORDER BY id")
    return (await session.execute(statement, {"pattern": f"%{term}%"})).scalars().all()


async with Session() as session:
    session.add_all(special_users)
    await session.flush()
    for term in ["%", "_", "C:\\Temp"]:
        found = await naive_search(session, term)
        print(f"{term:>8}: {len(found)} matches {found[:2]}")
    await session.rollback()

# %% [markdown] id=fix-escape-term
# The fix is to *escape* the term: put an escape character before each special character, so that it matches itself.
# PostgreSQL's default escape character for LIKE is the backslash, so the escape character itself must be escaped first, or a `\` in the term would swallow the character after it.
# Writing `ESCAPE '\'` in the SQL says which character you used, so the query does not depend on a default.
# (In Python source, `r"…"` keeps the backslash as written.)

# %% id=like-escape
def like_escape(term: str) -> str:
    """The term with LIKE's special characters escaped by a backslash: it matches itself only."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def literal_search(session, term):
    statement = text(r"SELECT name FROM users WHERE name ILIKE :pattern ESCAPE '\' ORDER BY id")
    return (await session.execute(statement, {"pattern": f"%{like_escape(term)}%"})).scalars().all()


async with Session() as session:
    session.add_all(special_users)
    await session.flush()
    for term in ["%", "_", "C:\\Temp", "\\", "COTTON"]:
        print(f"{term:>8} -> pattern {like_escape(term):>10}: {await literal_search(session, term)}")
    await session.rollback()

# %% [markdown] id=orm-has-built
# The ORM has this built in: `User.name.icontains(term, autoescape=True)` escapes the term (with `/` as its escape character) and compares lower-cased text.
# In raw SQL, you write it yourself, as above.

# %% [markdown] id=exercise-search-users
# ### Exercise: `search_users`
#
# Write `search_users(session, term, limit=20)`: the users whose **name or email** contains `term`, ignoring case.
#
# - Every character of `term` matches itself: `%`, `_` and `\` included, and spaces too (do not trim the term). An empty term matches every user.
# - Return at most `limit` users (`limit=0` gives `[]`), the matches with the lowest `id`s, ordered by `id`, each as a plain `dict` with exactly the keys `id`, `email` and `name`. A table's rows are not stored in any particular order: say the order you want.
# - Use bound parameters: the tests search for strings that would break, or widen, a query built by formatting.

# %% solution id=search_users
async def search_users(session, term: str, limit: int = 20) -> list[dict]:
    """Users whose name or email contains term (case-insensitive, literal), at most limit, by id."""
    ### BEGIN SOLUTION
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    result = await session.execute(
        text(r"""
            SELECT id, email, name FROM users
            WHERE name ILIKE :pattern ESCAPE '\' OR email ILIKE :pattern ESCAPE '\'
            ORDER BY id
            LIMIT :limit
        """),
        {"pattern": f"%{escaped}%", "limit": limit},
    )
    return [dict(row) for row in result.mappings()]
    ### END SOLUTION

# %% tests id=test_search_users_basic points=2
"""Check that search_users matches name or email, ignoring case, and returns dicts ordered by id."""
from asyncdb_lab.checks import expect

async with Session() as session:
    first = await search_users(session, "lina garcia")
    assert first and type(first[0]) is dict, (
        f"search_users should return a list of plain dicts; got {[type(u).__name__ for u in first[:1]]}. "
        "Convert each mapping with dict(row)."
    )
    expect(await search_users(session, "garcia1@"),
           [{"id": 1, "email": "lina.garcia1@example.com", "name": "Lina Garcia"}],
           "search_users(session, 'garcia1@')",
           "Search the email as well as the name; each user a dict with exactly id, email and name.")
    linas = await search_users(session, "LINA")
    expect([u["id"] for u in linas[:4]], [1, 6, 80, 102], "the first four ids found for 'LINA'",
           "Ignore case (ILIKE), and order by id.")
    expect(len(linas), 20, "users found for 'LINA' (25 match on the seed data)", "At most 20 with the default limit.")
    santos = await search_users(session, "Santos", 5)
    expect([u["id"] for u in santos], [3, 101, 122, 148, 193],
           "ids found for search_users(session, 'Santos', 5) (22 users match)",
           "At most `limit` users, the lowest ids first, ordered by id.")
### BEGIN HIDDEN TESTS
import asyncio


async def reference_search(session, term, limit):
    """The expected answer, from SQL that needs no escaping: strpos finds a literal substring."""
    rows = await session.execute(text("""
        SELECT id, email, name FROM users
        WHERE strpos(lower(name), lower(:term)) > 0 OR strpos(lower(email), lower(:term)) > 0
        ORDER BY id LIMIT :limit
    """), {"term": term, "limit": limit})
    return [dict(row) for row in rows.mappings()]


# Rows stored out of id order, gaps in the ids, and a caller already in a transaction.
async with disposable_database(seed=True, label="check_search_order", say=False) as other:
    async with other.engine.begin() as conn:
        await conn.execute(text("DELETE FROM users WHERE id % 11 = 5"))
        await conn.execute(text("UPDATE users SET name = name WHERE id <= 600"))  # new row versions go to the end
        await conn.execute(text("UPDATE users SET name = name WHERE id % 3 = 0"))
    async with other.session_factory() as session:
        session.add_all([User(email="annlee@space.example", name="AnnLee"),
                         User(email="ann.lee@space.example", name="Ann Lee")])
        await session.flush()  # the caller's transaction has begun
        for term, limit in [("a", 3), ("EXAMPLE.COM", 50), ("zz-nobody", 5), ("", 4), ("a", 0), ("LINA", 20),
                            (" Lee", 20), ("n L", 20), ("ann", 30), ("o", 7)]:
            try:
                found = await asyncio.wait_for(search_users(session, term, limit), timeout=10)
            except Exception as error:
                raise AssertionError(
                    f"search_users(session, {term!r}, {limit}) raised {type(error).__name__} on a session that is "
                    "already in a transaction: run the query on the session as it is.") from None
            expect(found, await reference_search(session, term, limit),
                   f"search_users(session, {term!r}, {limit}) with the table's rows stored out of id order",
                   "At most `limit` matches on name or email, ignoring case, the lowest ids first, ordered by id "
                   "(ORDER BY id before LIMIT: without it you get whichever rows come first on disk); "
                   "the term exactly as given, spaces included.")
        expect(len(await search_users(session, "e")), 20, "search_users(session, 'e') with the default limit",
               "The default limit is 20.")
        await session.rollback()
### END HIDDEN TESTS

# %% tests id=test_search_users_wildcards points=2
"""Check that % and _ in the term match themselves only."""
from asyncdb_lab.checks import expect

async with Session() as session:
    session.add_all([User(email="pct@wild.example", name="50% off"),
                     User(email="under@wild.example", name="under_score")])
    await session.flush()
    percent = [u["name"] for u in await search_users(session, "%")]
    underscore = [u["name"] for u in await search_users(session, "_")]
    await session.rollback()
expect(percent, ["50% off"], "names found for the term '%'",
       "Escape % in the term: otherwise it matches every user.")
expect(underscore, ["under_score"], "names found for the term '_'",
       "Escape _ in the term: otherwise it matches any character.")
### BEGIN HIDDEN TESTS
import asyncio

async with disposable_database(seed=True, label="check_search_wild", say=False) as other:
    async with other.session_factory() as session:
        session.add_all([
            User(email="x_y@wild.example", name="Plain Name"),
            User(email="xay@wild.example", name="Another"),
            User(email="deal@wild.example", name="100% Deal"),
            User(email="tenpct@wild.example", name="10 percent deal"),
        ])
        await session.commit()
    async with other.session_factory() as session:
        by_email = [u["email"] for u in await asyncio.wait_for(search_users(session, "X_Y"), timeout=10)]
        by_percent = [u["name"] for u in await asyncio.wait_for(search_users(session, "0% d"), timeout=10)]
    expect(by_email, ["x_y@wild.example"], "emails found for 'X_Y'",
           "_ must match only an underscore, in the email too, ignoring case.")
    expect(by_percent, ["100% Deal"], "names found for '0% d'", "% must match only a percent sign.")
### END HIDDEN TESTS

# %% tests id=test_search_users_injection points=1
"""Check that quotes and SQL in the term are searched for, never run."""
### BEGIN HIDDEN TESTS
import asyncio

from asyncdb_lab.checks import expect

async with disposable_database(seed=True, label="check_search_inject", say=False) as other:
    async with other.session_factory() as session:
        session.add(User(email="obrien@raw.example", name="Conan O'Brien"))
        await session.commit()
    payloads = [
        "nobody' OR true OR name ILIKE '",
        "x' OR '1'='1",
        "zzz%' OR 1=1 --",
        "') OR ('a'='a",
        "nobody'; SELECT 1; --",
        "12:30 :limit",
    ]
    async with other.session_factory() as session:
        for term in payloads:
            try:
                found = await asyncio.wait_for(search_users(session, term), timeout=10)
            except Exception as error:
                raise AssertionError(
                    f"search_users(session, {term!r}) raised {type(error).__name__}: the term became "
                    "part of the SQL. Pass it as a bound parameter."
                ) from None
            expect(found, [], f"search_users(session, {term!r})",
                   "Nobody's name or email contains this text: the term must be searched for, "
                   "not run as SQL. Use a bound parameter.")
        found = await asyncio.wait_for(search_users(session, "o'brien"), timeout=10)
    expect([u["name"] for u in found], ["Conan O'Brien"], "search_users(session, \"o'brien\")",
           "An apostrophe in the term is a character to look for.")
### END HIDDEN TESTS

# %% tests id=test_search_users_backslash points=1
"""Check that a backslash in the term matches a backslash."""
### BEGIN HIDDEN TESTS
import asyncio

from asyncdb_lab.checks import expect

async with disposable_database(seed=True, label="check_search_slash", say=False) as other:
    async with other.session_factory() as session:
        session.add_all([
            User(email="temp@wild.example", name="C:\\Temp"),
            User(email="tab@wild.example", name="Ctemp"),
            User(email="both@wild.example", name="back\\%slash"),
        ])
        await session.commit()
    async with other.session_factory() as session:
        slash_t = [u["name"] for u in await asyncio.wait_for(search_users(session, "\\t"), timeout=10)]
        slash = [u["name"] for u in await asyncio.wait_for(search_users(session, "\\"), timeout=10)]
        slash_pct = [u["name"] for u in await asyncio.wait_for(search_users(session, "k\\%s"), timeout=10)]
    expect(slash_t, ["C:\\Temp"], "names found for the term '\\t' (backslash, t)",
           "Escape the backslash itself first: it is LIKE's escape character.")
    expect(slash, ["C:\\Temp", "back\\%slash"], "names found for a single backslash",
           "A lone backslash must match a backslash.")
    expect(slash_pct, ["back\\%slash"], "names found for 'k\\%s'", "Every character matches itself.")
### END HIDDEN TESTS

# %% [markdown] id=part-d-window-functions-ctes
# ---
# ## Part D — Window functions and CTEs (6 points)
#
# An aggregate with `GROUP BY` collapses rows into one per group. A **window function** computes over a set of rows *related to the current row* and keeps every row: `rank() OVER (ORDER BY posts DESC)` gives each row its position in that order.
#
# Three functions number rows, and they differ exactly at ties:
#
# - `row_number()`: 1, 2, 3, 4 — every row its own number, ties broken arbitrarily (add a tie-breaker to the `ORDER BY` to make it repeatable);
# - `rank()`: 1, 2, 2, 4 — ties share a rank, and the next rank skips as many places as there were ties ("competition ranking");
# - `dense_rank()`: 1, 2, 2, 3 — ties share a rank, no gaps.
#
# Posts per author has plenty of ties:

# %% id=part-d-window-functions-code
async with Session() as session:
    result = await session.execute(text("""
        SELECT author_id, count(*) AS posts,
               row_number() OVER (ORDER BY count(*) DESC, author_id) AS row_number,
               rank()       OVER (ORDER BY count(*) DESC)            AS rank,
               dense_rank() OVER (ORDER BY count(*) DESC)            AS dense_rank
        FROM posts
        GROUP BY author_id
        ORDER BY posts DESC, author_id
        LIMIT 8
    """))
    print(f"{'author':>6} {'posts':>5} {'row_number':>10} {'rank':>4} {'dense_rank':>10}")
    for row in result:
        print(f"{row.author_id:>6} {row.posts:>5} {row.row_number:>10} {row.rank:>4} {row.dense_rank:>10}")

# %% [markdown] id=window-functions-run-after
# Window functions run after `GROUP BY`, so they can order by an aggregate, as above; they run before `LIMIT`, but you cannot filter on them in `WHERE`.
# To keep "the top 3 ranks", compute the rank in a **CTE** (`WITH name AS (…)`) and filter in the query that reads it.
# A CTE names a step of the query, so a long query reads top to bottom like a recipe.
#
# A **running total** is `sum(x) OVER (ORDER BY week)`: for each row, the sum of `x` over the rows up to it.
# Note the types: `sum()` of a `bigint` is a `numeric` in PostgreSQL, which arrives as a `Decimal`; cast it (`::bigint`) when you want an `int`.

# %% id=window-functions-run-after-code
async with Session() as session:
    result = await session.execute(text("""
        WITH weekly AS (
            SELECT week::date AS week, count(o.id) AS orders
            FROM generate_series(date_trunc('week', CAST(:start AS date)), CAST(:end AS date), interval '1 week') AS week
            LEFT JOIN orders AS o ON o.created_at >= week AND o.created_at < week + interval '1 week'
            GROUP BY week
        )
        SELECT week, orders,
               sum(orders) OVER (ORDER BY week)         AS running_total,
               sum(orders) OVER (ORDER BY week)::bigint AS running_total_int
        FROM weekly
        ORDER BY week
    """), {"start": date(2026, 4, 1), "end": date(2026, 4, 30)})
    for row in result.mappings():
        print(dict(row))

# %% [markdown] id=exercise-top-customers
# ### Exercise: `top_customers`
#
# Write `top_customers(session, n)`: the customers with the highest revenue, ranked.
#
# - A customer's **revenue** is the sum of `quantity × unit_price` over the items of their orders whose status is not `'cancelled'`. (`unit_price` is what they paid; the product's current `price` may have changed since.) Customers without such items are left out: a user who never ordered, or whose orders were all cancelled, is not a customer here and never appears, not even with a large `n`.
# - **rank** is `RANK()` over revenue, highest first: customers with equal revenue share a rank, and the next rank skips (1, 1, 3).
# - `n` counts ranks, not rows: return every customer whose rank is at most `n`. With ties at the boundary that is more than `n` rows; `n <= 0` gives `[]`; an `n` larger than the number of customers gives every customer.
# - Each customer is a dict with exactly the keys `user_id` (int), `email` (str), `revenue` (`Decimal`, exact: never a float) and `rank` (int), ordered by rank, then `user_id` (customers who share a rank come in `user_id` order).

# %% solution id=top_customers
async def top_customers(session, n: int) -> list[dict]:
    """Customers ranked by revenue (RANK, ties share a rank) whose rank is at most n."""
    ### BEGIN SOLUTION
    result = await session.execute(
        text("""
            WITH revenue AS (
                SELECT o.user_id, sum(oi.quantity * oi.unit_price) AS revenue
                FROM orders AS o
                JOIN order_items AS oi ON oi.order_id = o.id
                WHERE o.status <> 'cancelled'
                GROUP BY o.user_id
            ),
            ranked AS (
                SELECT r.user_id, u.email, r.revenue,
                       rank() OVER (ORDER BY r.revenue DESC) AS rank
                FROM revenue AS r
                JOIN users AS u ON u.id = r.user_id
            )
            SELECT user_id, email, revenue, rank
            FROM ranked
            WHERE rank <= :n
            ORDER BY rank, user_id
        """),
        {"n": n},
    )
    return [dict(row) for row in result.mappings()]
    ### END SOLUTION

# %% tests id=test_top_customers_basic points=2
"""Check that top_customers returns the top customers of the seed with exact revenue and ranks."""
from decimal import Decimal

from asyncdb_lab.checks import expect

async with Session() as session:
    leaders = await top_customers(session, 3)
assert leaders and type(leaders[0]) is dict, (
    f"top_customers should return a list of plain dicts; got {[type(r).__name__ for r in leaders[:1]]}. "
    "Convert each mapping with dict(row)."
)
expect(leaders, [
    {"user_id": 164, "email": "sam.nguyen164@example.com", "revenue": Decimal("17863.36"), "rank": 1},
    {"user_id": 357, "email": "ada.silva357@example.com", "revenue": Decimal("17271.06"), "rank": 2},
    {"user_id": 927, "email": "zoe.meyer927@example.com", "revenue": Decimal("16420.83"), "rank": 3},
], "top_customers(session, 3) on the seed data",
   "Sum quantity × unit_price over orders that are not cancelled; rank with RANK(); "
   "dicts with user_id, email, revenue (Decimal) and rank.")
### BEGIN HIDDEN TESTS
import asyncio


async def reference_top(session, n):
    """The expected answer, computed by the test in SQL."""
    rows = await session.execute(text("""
        SELECT user_id, email, revenue, rank FROM (
            SELECT t.user_id, u.email, t.revenue, (SELECT count(*) + 1 FROM (
                       SELECT sum(oi.quantity * oi.unit_price) AS revenue
                       FROM orders AS o JOIN order_items AS oi ON oi.order_id = o.id
                       WHERE o.status <> 'cancelled' GROUP BY o.user_id) AS better
                   WHERE better.revenue > t.revenue)::int AS rank
            FROM (SELECT o.user_id, sum(oi.quantity * oi.unit_price) AS revenue
                  FROM orders AS o JOIN order_items AS oi ON oi.order_id = o.id
                  WHERE o.status <> 'cancelled' GROUP BY o.user_id) AS t
            JOIN users AS u ON u.id = t.user_id) AS ranked
        WHERE rank <= :n ORDER BY rank, user_id
    """), {"n": n})
    return [dict(row) for row in rows.mappings()]


async with Session() as session:
    for n, what in [(300, "the customers in places 293 and 294 tie on the seed data"),
                    (10_000, "more ranks than customers: 631 users have revenue, 23 more only cancelled orders"),
                    (0, "n = 0"), (-3, "a negative n")]:
        expect(await asyncio.wait_for(top_customers(session, n), timeout=10), await reference_top(session, n),
               f"top_customers(session, {n}) ({what})",
               "Customers with equal revenue share a rank and the next rank skips; only users with revenue "
               "appear, whatever n is; n <= 0 gives [].")
### END HIDDEN TESTS

# %% tests id=test_top_customers_ties points=2
"""Check that customers with equal revenue share a rank, the next rank skips, and n counts ranks."""
### BEGIN HIDDEN TESTS
import asyncio
from decimal import Decimal

from sqlalchemy import func, select

from asyncdb_lab.checks import expect

async with disposable_database(seed=True, label="check_top_ties", say=False) as other:
    async with other.session_factory() as session:
        best = (await session.execute(text("""
            SELECT max(revenue) FROM (
                SELECT sum(oi.quantity * oi.unit_price) AS revenue
                FROM orders AS o JOIN order_items AS oi ON oi.order_id = o.id
                WHERE o.status <> 'cancelled' GROUP BY o.user_id) AS per_user
        """))).scalar_one()
        big = [User(email=f"big{i}@rank.example", name=f"Big {i}") for i in range(4)]
        session.add_all(big)
        await session.flush()
        amounts = [best + Decimal("1000.00"), best + Decimal("1000.00"), best + Decimal("500.00"),
                   best + Decimal("500.00")]
        for user, amount in zip(big, amounts, strict=True):
            order = Order(user_id=user.id, status="paid")
            session.add(order)
            await session.flush()
            session.add_all([  # 1 × (amount - 100.00) + 2 × 50.00 = amount
                OrderItem(order_id=order.id, product_id=1, quantity=1, unit_price=amount - Decimal("100.00")),
                OrderItem(order_id=order.id, product_id=2, quantity=2, unit_price=Decimal("50.00")),
            ])
        await session.commit()
        # twelve more customers tie just below them; their orders are written in reverse user order
        crowd = [User(email=f"crowd{i}@rank.example", name=f"Crowd {i}") for i in range(12)]
        session.add_all(crowd)
        await session.flush()
        for user in reversed(crowd):
            order = Order(user_id=user.id, status="shipped")
            session.add(order)
            await session.flush()
            session.add(OrderItem(order_id=order.id, product_id=4, quantity=4, unit_price=(best + 200) / 4))
        await session.commit()
    ids = [user.id for user in big]
    crowd_ids = [user.id for user in crowd]
    async with other.session_factory() as session:
        first = await asyncio.wait_for(top_customers(session, 1), timeout=10)
        second = await asyncio.wait_for(top_customers(session, 2), timeout=10)
        third = await asyncio.wait_for(top_customers(session, 3), timeout=10)
        fifth = await asyncio.wait_for(top_customers(session, 5), timeout=10)
    expect([(row["user_id"], row["rank"]) for row in first], [(ids[0], 1), (ids[1], 1)],
           "(user_id, rank) from top_customers(session, 1) when two customers tie for first",
           "Ties share a rank (not ROW_NUMBER), and n counts ranks: both customers of rank 1.")
    expect([(row["user_id"], row["rank"]) for row in second], [(ids[0], 1), (ids[1], 1)],
           "(user_id, rank) from top_customers(session, 2) after a tie for first",
           "RANK() skips after a tie: the next customers are rank 3, not 2 (that is DENSE_RANK).")
    expect([(row["user_id"], row["rank"], row["revenue"]) for row in third],
           [(ids[0], 1, amounts[0]), (ids[1], 1, amounts[1]), (ids[2], 3, amounts[2]), (ids[3], 3, amounts[3])],
           "(user_id, rank, revenue) from top_customers(session, 3)",
           "Four customers: two of rank 1 and two of rank 3.")
    expect([(row["user_id"], row["rank"]) for row in fifth],
           [(ids[0], 1), (ids[1], 1), (ids[2], 3), (ids[3], 3)] + [(user_id, 5) for user_id in sorted(crowd_ids)],
           "(user_id, rank) from top_customers(session, 5) when twelve customers tie for rank 5",
           "All twelve share rank 5, and customers who share a rank come in user_id order: "
           "ORDER BY rank, user_id (sorting by rank alone leaves ties in no particular order).")
### END HIDDEN TESTS

# %% tests id=test_top_customers_revenue points=2
"""Check that revenue ignores cancelled orders, uses the price paid, and is an exact Decimal."""
from decimal import Decimal

from asyncdb_lab.checks import expect_type

async with Session() as session:
    leader = (await top_customers(session, 1))[0]
expect_type(leader["revenue"], Decimal, "the revenue of the top customer",
            "Keep numeric as Decimal: money is never a float.")
expect_type(leader["rank"], int, "the rank of the top customer", "rank() gives a bigint: an int.")
### BEGIN HIDDEN TESTS
import asyncio

from asyncdb_lab.checks import expect

async with disposable_database(seed=True, label="check_top_revenue", say=False) as other:
    async with other.session_factory() as session:
        before = await asyncio.wait_for(top_customers(session, 5), timeout=10)
        whale = User(email="cancelled@rank.example", name="Cancelled Whale")
        session.add(whale)
        await session.flush()
        order = Order(user_id=whale.id, status="cancelled")
        session.add(order)
        await session.flush()
        session.add(OrderItem(order_id=order.id, product_id=3, quantity=1000, unit_price=Decimal("999.99")))
        await session.execute(text("UPDATE products SET price = price * 3 + 1"))  # prices change later
        await session.commit()
    async with other.session_factory() as session:
        after = await asyncio.wait_for(top_customers(session, 5), timeout=10)
    expect(after, before, "the top 5 after a cancelled order of 999,990.00 and a change of every product price",
           "Leave cancelled orders out, and use order_items.unit_price (what was paid), "
           "not the product's current price.")
    async with other.session_factory() as session:
        everyone = await asyncio.wait_for(top_customers(session, 100_000), timeout=10)
        buyers = (await session.execute(text("""
            SELECT count(DISTINCT o.user_id) FROM orders AS o JOIN order_items AS oi ON oi.order_id = o.id
            WHERE o.status <> 'cancelled'
        """))).scalar_one()
    strangers = [row for row in everyone if row["user_id"] == whale.id or row["revenue"] == 0]
    assert not strangers, (
        f"top_customers(session, 100000) included {strangers[0]}: users whose orders were all cancelled, or who "
        "never ordered, have no revenue and are not customers. Sum only the items of orders that are not "
        "cancelled, with an inner join (no LEFT JOIN from users, no CASE that turns cancelled orders into 0).")
    expect(len(everyone), buyers, "customers returned by top_customers(session, 100000)",
           "Every user with revenue once, and no one else.")
    expect_type(after[0]["revenue"], Decimal, "revenue", "Decimal, never float.")
### END HIDDEN TESTS

# %% [markdown] id=part-e-reaching-asyncpg-connection
# ---
# ## Part E — Reaching the asyncpg connection (0 points)
#
# Sometimes the driver can do what SQLAlchemy does not expose: COPY (notebook 07), array parameters in their native form, type codecs, `LISTEN`/`NOTIFY`.
# The path is the one notebook 07 used: `await session.connection()` → `await conn.get_raw_connection()` → `.driver_connection`, an `asyncpg.Connection`.
# asyncpg speaks PostgreSQL's own placeholders, `$1`, `$2`, …, and passes a Python list as one array parameter: `= ANY($1)` looks up any number of ids with a single parameter, far from the 32,767-parameter limit an `IN (…)` list runs into.

# %% id=part-e-reaching-asyncpg-code
async with Session() as session:
    conn = await session.connection()
    await conn.exec_driver_sql("SELECT 1")  # begins the transaction: see notebook 07, Part D
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    print(type(driver).__module__, type(driver).__name__, "· server", driver.get_server_version())
    records = await driver.fetch("SELECT id, email FROM users WHERE id = ANY($1) ORDER BY id", [3, 1, 2])
    print([dict(record) for record in records])
    many = await driver.fetchval("SELECT count(*) FROM users WHERE id = ANY($1)", list(range(50_000)))
    print("users among 50,000 ids, one parameter:", many)

# %% [markdown] id=through-text-same-works
# Through `text()` the same works: bind a Python list and write `= ANY(:ids)`.
# Prefer that when you can. What you run on the driver connection is invisible to SQLAlchemy: no statement events, no ORM identity map, no automatic `BEGIN` (which is why the cell above sends a statement first).

# %% id=through-text-same-works-code
async with Session() as session:
    with count_statements(session) as sql:
        result = await session.execute(
            text("SELECT count(*) FROM users WHERE id = ANY(:ids)"), {"ids": list(range(50_000))}
        )
        print("users among 50,000 ids through text():", result.scalar_one())
    print(sql.report(limit=1)[:200])

# %% [markdown] id=summary
# ---
# ## Summary
#
# - `text()` with `:name` parameters and a dict of values; never f-strings or `%` formatting, which let a value become SQL. `CAST(:p AS type)`, not `:p::type`; pass real Python types.
# - `.mappings()` gives dict-like rows (`dict(row)` for a plain dict); `text().columns(...)` types a hand-written query for the ORM or for use as a subquery.
# - Per-day counts: start from `generate_series`, `LEFT JOIN` on a half-open range, `count(column)` (not `count(*)`), `day::date`. `GROUP BY DATE_TRUNC` alone drops empty days and returns timestamps.
# - `row_number()`, `rank()`, `dense_rank()` differ only at ties: 1 2 3 4, 1 2 2 4, 1 2 2 3. Filter on a window function in an outer query or CTE. `sum()` of integers is `numeric` → `Decimal`.
# - LIKE: escape `\`, then `%` and `_`, and say `ESCAPE '\'`; `ILIKE` ignores case. The ORM's `icontains(term, autoescape=True)` does it for you.
# - The asyncpg connection is under `session.connection()`; what you do there bypasses SQLAlchemy, including its lazy `BEGIN`.
#
# ## Interview questions
#
# 1. Why is `text(f"... WHERE email = '{email}'")` dangerous, and what do you write instead?
# 2. A daily report has 83 rows for a 90-day range. What happened, and how do you fix the query?
# 3. With a `LEFT JOIN` from a date series, why does `count(*)` report 1 for a day with no orders?
# 4. Revenue ties: what do `row_number()`, `rank()` and `dense_rank()` give for revenues 90, 80, 80, 70?
# 5. A search for `100%` also returns "1000 Cranes". Why, and how do you make the term literal?
# 6. `text("SELECT :d::date")` fails with a syntax error. Why?
# 7. When would you use the asyncpg connection directly, and what do you give up?
#
# <details><summary>Answers</summary>
#
# 1. The value is pasted into the SQL text, so a value containing a quote can end the string and add SQL (injection), and an honest apostrophe breaks the query. Use a bound parameter: `text("… WHERE email = :email")` with `{"email": email}`; the driver sends the value separately from the SQL.
# 2. The query grouped the rows by day, and days without rows have no group. Generate the days with `generate_series(start, end, interval '1 day')` and `LEFT JOIN` the rows to them, counting a column of the joined table.
# 3. The day without orders still has one row after the LEFT JOIN, with NULLs for the order columns; `count(*)` counts rows, `count(o.id)` counts non-NULL ids, which gives 0.
# 4. `row_number()`: 1, 2, 3, 4. `rank()`: 1, 2, 2, 4. `dense_rank()`: 1, 2, 2, 3.
# 5. `%` in the term is a LIKE wildcard: `%100%%` matches any text containing "100". Escape the term (`\` first, then `%` and `_`) and write `ESCAPE '\'`, or use `icontains(term, autoescape=True)`.
# 6. SQLAlchemy recognises `:d` as a parameter only when it is not followed by another colon, so `:d::date` is sent as written and PostgreSQL sees a stray `:`. Write `CAST(:d AS date)`.
# 7. For driver features SQLAlchemy does not expose: COPY, `LISTEN`/`NOTIFY`, custom type codecs. You give up statement events and logging, the ORM's view of the rows, and the lazy `BEGIN`, so start the transaction yourself.
#
# </details>
#
# ## Further reading
#
# - SQLAlchemy: [Using textual SQL (`text()`, bound parameters)](https://docs.sqlalchemy.org/en/20/tutorial/dbapi_transactions.html#sending-parameters)
# - SQLAlchemy: [TextClause.columns() and selecting ORM entities from textual statements](https://docs.sqlalchemy.org/en/20/orm/queryguide/select.html#getting-orm-results-from-textual-statements)
# - SQLAlchemy: [ColumnOperators.icontains (autoescape)](https://docs.sqlalchemy.org/en/20/core/sqlelement.html#sqlalchemy.sql.expression.ColumnOperators.icontains)
# - PostgreSQL: [Set returning functions (`generate_series`)](https://www.postgresql.org/docs/current/functions-srf.html)
# - PostgreSQL: [Window functions tutorial](https://www.postgresql.org/docs/current/tutorial-window.html) and [reference](https://www.postgresql.org/docs/current/functions-window.html)
# - PostgreSQL: [WITH queries (CTEs)](https://www.postgresql.org/docs/current/queries-with.html)
# - PostgreSQL: [Pattern matching with LIKE](https://www.postgresql.org/docs/current/functions-matching.html#FUNCTIONS-LIKE)
# - asyncpg: [Connection.fetch and parameters](https://magicstack.github.io/asyncpg/current/api/index.html#connection)
# - OWASP: [SQL Injection Prevention Cheat Sheet](https://cheatsheetseries.owasp.org/cheatsheets/SQL_Injection_Prevention_Cheat_Sheet.html)

# %% [markdown] id=check-your-notebook
# ---
# **Check your notebook.** Save (Ctrl+S), then run this cell: it checks the saved file as `asyncdb-lab check` does, on a fresh database, and shows each exercise's points, a failing test's message with its first hint, and what to do next.

# %% id=check-this-notebook
from asyncdb_lab.learner.in_lab import check_this_notebook

check_this_notebook()
