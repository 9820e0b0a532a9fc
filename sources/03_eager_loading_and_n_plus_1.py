# %% [markdown] id=intro
# # **03 · Eager loading and the N+1 problem**
#
# Load related rows in a fixed, small number of statements, count those statements, and ask the database only for the columns you need.
#
# **Learning goals**
# - Explain why touching an unloaded relationship raises `MissingGreenlet` in async code, and fix it.
# - Load a collection with `selectinload`, `joinedload` (with `.unique()`) and `subqueryload`, and count the statements each one sends.
# - Guard against accidental lazy loads with `raiseload` and `lazy="raise"`.
# - Count rows per parent with an outer join and `GROUP BY`, keeping the parents that have none.
# - Select only the columns you need, so the database and the network do less work.
#
# **Prerequisites**: notebook 02 (the models, `AsyncSession`, `select()`); notebook 00 for `count_statements`.
#
# **Out of scope**: writing relationships in bulk (notebook 07), raw SQL, window functions and CTEs (notebook 08), loading inside FastAPI endpoints (notebook 11).

# %% [markdown] id=setup
# ## Setup
#
# Run the next cell first.
# It makes a fresh database with the seed data (1,000 users, 150 of them without posts, and 5,000 posts) and imports the course models `User` and `Post`.
# `Session` is an `async_sessionmaker` with `expire_on_commit=False`: `async with Session() as session:` opens a session and closes it at the end of the block.

# %% readonly id=setup-database
from asyncdb_lab import count_statements, disposable_database, measure
from asyncdb_lab.models import Post, User

db = await disposable_database(seed=True)
engine = db.engine
Session = db.session_factory

# %% [markdown] id=part-a-lazy-loading-meets
# ---
# ## Part A — Lazy loading meets async (0 points)
#
# `User.posts` is a *relationship*: a Python attribute backed by rows of another table.
# By default it is *lazy*: loading a `User` does not load its posts; the first read of `user.posts` sends a `SELECT` to fetch them.
#
# In synchronous SQLAlchemy that hidden query just happens.
# In async code it cannot: reading an attribute is a plain expression, with no `await` in it, so there is no point at which the event loop could wait for the database.
# SQLAlchemy refuses the I/O and raises `MissingGreenlet` (SQLAlchemy runs its driver calls inside a *greenlet* that only `await session.…` sets up; an attribute read happens outside it).

# %% [markdown] id=mistake-reading-lazy-relationship
# > **Common mistake: reading a lazy relationship in async code.**
# > Code written for the synchronous ORM reads `user.posts` after loading users, and tutorials carry it over unchanged.
# > Under asyncio that line raises `MissingGreenlet` instead of running a query.
# > The next cell reproduces it.

# %% id=mistake-reading-lazy-relationship-code
from sqlalchemy import select

async with Session() as session:
    user = await session.get(User, 1)
    print("loaded:", user)
    try:
        print(len(user.posts))
    except Exception as error:
        print(f"{type(error).__name__}: {error}")

# %% [markdown] id=there-two-fixes
# There are two fixes.
# For one object, ask for the load explicitly with `await`: every model in the course inherits `AsyncAttrs`, so `await user.awaitable_attrs.posts` runs the lazy load where the event loop can wait for it.
# For many objects, say in the query which relationships to load (*eager loading*, Part B).
# The first fix, counted:

# %% id=there-two-fixes-code
async with Session() as session:
    user = await session.get(User, 1)
    with count_statements(session) as sql:
        posts = await user.awaitable_attrs.posts
    print(f"user 1 has {len(posts)} posts; after that, user.posts is plain data: {user.posts}")
print(sql)

# %% [markdown] id=once-session-closed-objects
# Once the session is closed, the objects it loaded are *detached*.
# What was loaded stays readable; what was not can no longer be loaded at all, with or without `await`.
# That is why a function that returns ORM objects must load everything its caller will read before the session closes.

# %% id=once-session-closed-objects-code
async with Session() as session:
    user = await session.get(User, 2)

print("still readable after close:", user.email)
try:
    user.posts
except Exception as error:
    print(f"{type(error).__name__}: {error}")

# %% [markdown] id=mistake-assigning-query-results
# > **Common mistake: assigning query results to an unloaded collection.**
# > A popular way to "fix" N+1 loads each user's posts with a separate query and writes them into `user.posts = posts`.
# > Assigning to a collection is a *change*: SQLAlchemy first loads the old collection, to know which posts are removed (with `delete-orphan` cascade it would delete them at the next flush).
# > That load is lazy I/O, so the assignment itself raises `MissingGreenlet`.

# %% id=mistake-assigning-query-results-code
async with Session() as session:
    user = await session.get(User, 5)
    posts = (await session.scalars(select(Post).where(Post.author_id == user.id))).all()
    try:
        user.posts = posts
    except Exception as error:
        print(f"{type(error).__name__}: {error}")

# %% [markdown] id=not-write-query-results
# Do not write query results into a relationship to "cache" them: load the relationship itself, eagerly.
# One eager load, and the collection is simply there:

# %% id=not-write-query-results-code
from sqlalchemy.orm import selectinload

async with Session() as session:
    with count_statements(session) as sql:
        user = await session.scalar(select(User).where(User.id == 5).options(selectinload(User.posts)))
    print(f"user 5 has {len(user.posts)} posts:", [post.id for post in user.posts])
print(sql)

# %% [markdown] id=part-b-eager-loading-counted
# ---
# ## Part B — Eager loading, counted (7 points)
#
# The *N+1 problem*: one query loads N parents, then one more query per parent loads its children.
# Each query is cheap; a round trip to the server and back is not, and N of them add up.
# With `awaitable_attrs` in a loop, the code looks innocent and sends N+1 statements.
#
# SQLAlchemy's *loader options* say, in the query, how to load a relationship:
#
# | option | statements | how |
# |---|---|---|
# | `selectinload(User.posts)` | 1 + one per 500 parents | a second `SELECT … WHERE posts.author_id IN (…)` with the parents' keys |
# | `joinedload(User.posts)` | 1 | `LEFT OUTER JOIN posts`: each user's columns repeated once per post |
# | `subqueryload(User.posts)` | 2 | re-runs the first query as a subquery joined to posts |
#
# The next cells run each of them for the first 200 users and measure them here.

# %% id=n-plus-1
from sqlalchemy.orm import joinedload, subqueryload

FIRST_200 = select(User).where(User.id <= 200).order_by(User.id)


async def n_plus_1():
    async with Session() as session:
        users = (await session.scalars(FIRST_200)).all()
        for user in users:
            await user.awaitable_attrs.posts  # one SELECT per user
        return users


async def with_selectinload():
    async with Session() as session:
        return (await session.scalars(FIRST_200.options(selectinload(User.posts)))).all()


async def with_joinedload():
    async with Session() as session:
        return (await session.scalars(FIRST_200.options(joinedload(User.posts)))).unique().all()


async def with_subqueryload():
    async with Session() as session:
        return (await session.scalars(FIRST_200.options(subqueryload(User.posts)))).all()

# %% [markdown] id=every-strategy-must-return
# Every strategy must return the same users with the same posts; only the work differs.
# `measure` runs each one a few times and keeps the median.

# %% id=every-strategy-must-return-code
strategies = {
    "N+1 (awaitable_attrs in a loop)": n_plus_1,
    "selectinload": with_selectinload,
    "joinedload + unique()": with_joinedload,
    "subqueryload": with_subqueryload,
}
print(f"{'strategy':<34}{'statements':>11}{'posts':>7}{'median':>11}")
for label, load in strategies.items():
    with count_statements(engine) as sql:
        users = await load()
    timing = await measure(label, load, runs=3, warmup=0, say=False)  # the run above warmed up
    posts = sum(len(user.posts) for user in users)
    print(f"{label:<34}{sql.count:>11}{posts:>7}{timing.median * 1000:>8.1f} ms")

# %% [markdown] id=mistake-selectinload-always-2
# > **Common mistake: "selectinload is always 2 queries".**
# > `selectinload` sends the parents' primary keys in an `IN (…)` list, at most 500 per statement.
# > For 1,000 users that is three statements, for 10,000 users twenty-one: still a small number that does not grow per row, but not 2.
# > (SQLAlchemy 2.1 adds `selectinload(…, chunksize=N)` to change the batch size.)

# %% id=mistake-selectinload-always-2-code
async with Session() as session:
    with count_statements(session) as sql:
        users = (await session.scalars(select(User).options(selectinload(User.posts)))).all()
print(f"{len(users)} users, {sql.count} statements")
for number, statement in enumerate(sql.statements, start=1):
    flat = " ".join(statement.sql.split())
    print(f"  [{number}] {len(statement.parameters):>3} parameters: {flat[:110]}…")

# %% [markdown] id=mistake-joinedload-collection-without
# > **Common mistake: `joinedload` on a collection without `.unique()`.**
# > A join returns one row per (user, post) pair, so a user with 12 posts comes back 12 times.
# > SQLAlchemy 2.x will not quietly de-duplicate them for you: it raises until you call `.unique()` on the result.

# %% id=mistake-joinedload-collection-code
async with Session() as session:
    try:
        users = (await session.scalars(FIRST_200.options(joinedload(User.posts)))).all()
    except Exception as error:
        print(f"{type(error).__name__}: {error}")

# %% [markdown] id=fix-call-unique-result
# The fix is one call, `.unique()`, on the result before `.all()`.
# The statement is a single `LEFT OUTER JOIN`: users without posts stay, with an empty list.

# %% id=fix-call-unique-result-code
async with Session() as session:
    with count_statements(session) as sql:
        result = await session.scalars(FIRST_200.options(joinedload(User.posts)))
        users = result.unique().all()
print(f"{len(users)} users; users with no posts: {sum(1 for user in users if not user.posts)}")
print(sql)

# %% [markdown] id=which-choose
# Which one to choose?
# - `selectinload` is the usual choice for collections (one-to-many): no repeated parent columns, and it works with `LIMIT`.
# - `joinedload` is the usual choice for a single related object (many-to-one, such as `Post.author`): one statement and no duplication. For collections it repeats the parent's columns once per child.
# - `subqueryload` is older and re-runs your whole first query; prefer `selectinload`.
#
# Eager loading only helps where it is used: one forgotten option and a loop is back to N+1.
# A *guard* turns that mistake into an immediate error instead of a slow page.
# `raiseload(...)` in a query makes any lazy load of the named relationship (or `"*"`, all of them) raise:

# %% id=which-choose-code
from sqlalchemy.orm import raiseload

async with Session() as session:
    users = (await session.scalars(FIRST_200.limit(3).options(raiseload("*")))).all()
    try:
        users[0].posts
    except Exception as error:
        print(f"{type(error).__name__}: {error}")

# %% [markdown] id=lazy-raise-sets-same
# `lazy="raise"` sets the same guard on the relationship itself, for every query.
# The course models keep the default, so the next cell maps two small classes of its own onto the same tables to show it.
# (`lazy="raise_on_sql"` is a softer variant: it allows loads that need no SQL, such as a many-to-one already in the session.)

# %% id=guarded-base
from sqlalchemy import ForeignKey
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class GuardedBase(DeclarativeBase):
    pass


class Writer(GuardedBase):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str]
    posts: Mapped[list["Article"]] = relationship(lazy="raise")


class Article(GuardedBase):
    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str]


async with Session() as session:
    writer = await session.get(Writer, 1)
    try:
        writer.posts
    except Exception as error:
        print(f"{type(error).__name__}: {error}")
    writer = await session.scalar(select(Writer).where(Writer.id == 13).options(selectinload(Writer.posts)))
    print(f"with selectinload: writer 13 has {len(writer.posts)} posts")

# %% [markdown] id=order-by-not-optional
# ### `ORDER BY` is not optional
#
# A table has no order of its own.
# Without `ORDER BY`, PostgreSQL returns rows in whatever order its plan produces them: often the order they are stored in, which on freshly loaded seed data happens to be id order, and which changes as soon as rows are updated, deleted or the plan switches to a hash join.
# The next cell defines `scrambled_database()`, a fresh copy of the seed data in which every user whose id ends in 7 is deleted (their posts go with them) and the rows of `users` and `posts` are stored out of id order.
# The checks run the exercises on it too, and so can you: a query without `ORDER BY` comes back in another order there.

# %% readonly id=scrambled-database
from contextlib import asynccontextmanager

from sqlalchemy import text


@asynccontextmanager
async def scrambled_database(label: str = "scrambled"):
    """A fresh seeded database with gaps in the user ids and users and posts stored out of id order."""
    async with disposable_database(seed=True, label=label, say=False) as scrambled:
        async with scrambled.engine.begin() as conn:
            await conn.execute(text("DELETE FROM users WHERE id % 10 = 7"))
            for table in ("users", "posts"):
                top = await conn.scalar(text(f"SELECT max(id) FROM {table}"))
                for start in range(top - top % 100, -1, -100):  # an UPDATE writes a new row version: last ids first
                    await conn.execute(text(f"UPDATE {table} SET id = id WHERE id >= :a AND id < :b"),
                                       {"a": start, "b": start + 100})
        async with scrambled.engine.connect() as conn:
            await conn.execute(text("ANALYZE users"))
            await conn.execute(text("ANALYZE posts"))
            await conn.commit()
        yield scrambled


async with scrambled_database() as scrambled:
    async with scrambled.engine.connect() as conn:
        stored = (await conn.execute(text("SELECT id FROM users"))).scalars().all()
print("user ids as stored, without ORDER BY:", stored[:8], "…")

# %% [markdown] id=exercise-authors-posts
# ### Exercise: `authors_with_posts`
#
# Write `authors_with_posts(session)`.
# It returns the **authors**: the users who have written at least one post (850 in the seed data), ordered by `id`, each with `posts` loaded.
#
# - The caller closes the session afterwards and then reads `user.posts` (and each post's `title`): everything must be loaded before you return.
# - The number of statements must not grow with each user: at most 4 on the seed data. On a bigger database, `selectinload`'s one extra statement per 500 authors is fine; a query per user is not.
# - To keep only users with posts, filter with `User.posts.any()` (an `EXISTS` subquery). A plain join to `posts` returns each user once per post.
# - Return a `list` of `User` objects.
# - Use the session you are given as it is. It may already be in a transaction, holding rows the caller has flushed but not committed, which you must see; do not begin, commit, roll back or close it: the caller owns it (notebook 02). The same holds for the two exercises after this one.

# %% solution id=authors_with_posts
async def authors_with_posts(session) -> list[User]:
    """Return the users with at least one post, ordered by id, with `posts` eagerly loaded."""
    ### BEGIN SOLUTION
    statement = (
        select(User)
        .where(User.posts.any())
        .order_by(User.id)
        .options(selectinload(User.posts))
    )
    return list((await session.scalars(statement)).all())
    ### END SOLUTION

# %% tests id=test_authors_with_posts_seed points=2
"""Check that authors_with_posts returns the 850 authors of the seed data, ordered by id, with their posts."""
from asyncdb_lab.checks import expect, expect_type
from sqlalchemy import text

async with Session() as session:
    authors = await authors_with_posts(session)
expect_type(authors, list, "authors_with_posts(session)", "Return a list: `list((await session.scalars(...)).all())`.")
expect(len(authors), 850, "number of authors in the seed data",
       "Keep the users who have at least one post (`User.posts.any()`), each once.")
for author in authors[:3]:
    expect_type(author, User, "each item", "Return User objects, not rows or ids.")
ids = [author.id for author in authors]
expect(ids == sorted(ids), True, "authors ordered by id", "Add `.order_by(User.id)`.")
### BEGIN HIDDEN TESTS
from sqlalchemy import inspect as sa_inspect

async with engine.connect() as conn:
    rows = (await conn.execute(text("SELECT author_id, id FROM posts"))).all()
expected_posts: dict[int, set[int]] = {}
for author_id, post_id in rows:
    expected_posts.setdefault(author_id, set()).add(post_id)
expect(ids, sorted(expected_posts), "the ids of the authors",
       "Every user with at least one post, once each, ordered by id; no user without posts.")
for author in authors:
    expect_type(author, User, f"author {author.id}", "Return User objects.")
    assert "posts" not in sa_inspect(author).unloaded, (
        f"user {author.id}'s posts were not loaded before the session closed. "
        "Load them in the query with a loader option such as selectinload(User.posts)."
    )
    got = {post.id for post in author.posts}
    expect(got, expected_posts[author.id], f"the post ids of user {author.id}",
           "Load every post of each author, and only theirs.")

async with scrambled_database("check_authors_order") as scrambled:
    async with scrambled.engine.begin() as conn:
        # Signup dates out of id order too: the id is the order asked for, not the date.
        await conn.execute(text(
            "UPDATE users SET created_at = created_at + (1000 - id) * interval '1 day' WHERE id % 3 = 0"
        ))
        expected_ids = list((await conn.execute(text(
            "SELECT id FROM users WHERE EXISTS (SELECT 1 FROM posts WHERE author_id = users.id) ORDER BY id"
        ))).scalars())
    async with scrambled.session_factory() as session:
        scrambled_authors = await authors_with_posts(session)
    expect_type(scrambled_authors, list, "authors_with_posts(session) on scrambled_database()", "Return a list.")
    for author in scrambled_authors:
        expect_type(author, User, "each item", "Return User objects.")
    expect([author.id for author in scrambled_authors], expected_ids,
           "the author ids on scrambled_database() (rows stored out of id order, gaps in the ids)",
           "Without ORDER BY the rows come back in whatever order the plan produces; the seed data only "
           "happens to be stored in id order. Sort in the query, by the id.")
### END HIDDEN TESTS

# %% tests id=test_authors_with_posts_statements points=2
"""Check that authors_with_posts sends a small number of statements that does not grow with each user."""
from asyncdb_lab.checks import expect
from sqlalchemy import text

async with Session() as session:
    with count_statements(session) as sql:
        await authors_with_posts(session)
assert sql.count <= 4, (
    f"Expected at most 4 statements on the seed data, got {sql.count} — the posts were loaded "
    "user by user. Which loader option loads them for all users at once?"
)
### BEGIN HIDDEN TESTS
import asyncio
import math

async with disposable_database(seed=True, label="check_authors_bigger", say=False) as bigger:
    async with bigger.engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO users (email, name) SELECT 'bulk' || n || '@example.test', 'Bulk ' || n "
            "FROM generate_series(1, 1500) AS n"
        ))
        await conn.execute(text(
            "INSERT INTO posts (author_id, title, content) "
            "SELECT id, 'A post by ' || name, 'Text' FROM users WHERE email LIKE 'bulk%'"
        ))
    async with bigger.session_factory() as session:
        with count_statements(session) as big_sql:
            try:
                big_authors = await asyncio.wait_for(authors_with_posts(session), timeout=20)
            except TimeoutError:
                raise AssertionError(
                    "authors_with_posts took over 20 s for 2,350 authors — it sends a query per user. "
                    "Load the posts with a loader option instead."
                ) from None
    expect(len(big_authors), 2350, "authors on a database with 1,500 more authors",
           "Return every user who has posts, read from the database.")
    allowed = 4 + math.ceil(2350 / 500) - math.ceil(850 / 500)
    assert big_sql.count <= allowed, (
        f"Expected a constant number of statements (at most {allowed} for 2,350 authors: "
        f"selectinload adds one per 500 parents), got {big_sql.count} — the posts were loaded "
        "once per user. Which loader option fixes that?"
    )
### END HIDDEN TESTS

# %% tests id=test_authors_with_posts_after_close points=2
"""Check that the posts of authors_with_posts can be read after the session is closed."""
async with Session() as session:
    authors = await authors_with_posts(session)
first = authors[0]
print(f"user {first.id}: {len(first.posts)} posts")
### BEGIN HIDDEN TESTS
from sqlalchemy import inspect as sa_inspect

total = 0
for author in authors:
    state = sa_inspect(author)
    assert "posts" not in state.unloaded, (
        f"user {author.id}'s posts were not loaded before the session closed; reading them now "
        "raises. Load them in the query with a loader option."
    )
    try:
        titles = [post.title for post in author.posts]
    except Exception as error:
        raise AssertionError(
            f"Reading user {author.id}'s posts after the session closed raised "
            f"{type(error).__name__}: {error}. Load everything the caller reads before returning."
        ) from None
    assert titles, f"user {author.id} is returned as an author but has no posts loaded."
    total += len(titles)
expect(total, 5000, "posts readable after the session closed",
       "Every post of every author should be loaded.")
### END HIDDEN TESTS

# %% tests id=test_authors_with_posts_caller_session points=1
"""Check that authors_with_posts works in the caller's open transaction, sees its flushed rows and leaves it open."""
### BEGIN HIDDEN TESTS
from asyncdb_lab.checks import expect, expect_type
from sqlalchemy import func, select, text

async with disposable_database(seed=True, label="check_authors_caller", say=False) as other:
    async with other.session_factory() as session:
        await session.execute(text("SELECT 1"))  # the caller's transaction has begun
        newcomer = User(email="caller.new@example.test", name="Caller New")
        session.add(newcomer)
        await session.flush()
        session.add(Post(author_id=newcomer.id, title="Not committed yet", content="C"))
        await session.flush()
        newcomer_id = newcomer.id
        try:
            caller_authors = await authors_with_posts(session)
        except Exception as error:
            raise AssertionError(
                f"authors_with_posts raised {type(error).__name__}: {error} on a session already in a "
                "transaction. Use the session as it is: no session.begin(), no commit, no close."
            ) from None
        still_open = session.in_transaction()
        expect_type(caller_authors, list, "authors_with_posts(session)", "Return a list.")
        for author in caller_authors:
            expect_type(author, User, "each item", "Return User objects.")
        ids = [author.id for author in caller_authors]
        last_titles = [post.title for post in caller_authors[-1].posts] if caller_authors else []
        kept = await session.scalar(select(func.count()).select_from(User).where(User.email == "caller.new@example.test"))
        await session.rollback()
    assert still_open, (
        "After authors_with_posts the caller's transaction was no longer open: do not commit, roll back "
        "or close the session you are given; the caller owns it."
    )
    expect(kept, 1, "the caller's flushed user, still there after the call",
           "The caller's uncommitted work must survive your function: never close or roll back its session.")
    expect(len(ids), 851, "authors seen in the caller's transaction (850 + one flushed, not committed)",
           "Query through the session you are given, not a session or engine of your own: only it sees "
           "the caller's uncommitted rows.")
    expect(ids[-1], newcomer_id, "the last author, the one the caller just flushed", "Order by id.")
    expect(last_titles, ["Not committed yet"],
           "the posts of the flushed author", "Load the posts in the same query, through the given session.")
### END HIDDEN TESTS

# %% [markdown] id=part-c-counting-outer-join
# ---
# ## Part C — Counting with an outer join and `GROUP BY` (6 points)
#
# Often you do not need the posts themselves, only how many there are.
# Loading 5,000 posts to call `len()` on them moves all of them over the network; `count()` with `GROUP BY` lets the database do it and send one row per user.
#
# The join decides which users appear.
# An inner `JOIN` keeps only users that have a matching post, so users without posts disappear from the result:

# %% id=part-c-counting-outer-code
from sqlalchemy import func

inner = (
    select(User.id, User.email, func.count(Post.id))
    .join(Post, Post.author_id == User.id)
    .group_by(User.id)
    .order_by(User.id)
)
with count_statements(engine) as sql:
    async with Session() as session:
        rows = (await session.execute(inner)).all()
print(f"inner join: {len(rows)} rows for 1,000 users")
print(sql)

# %% [markdown] id=left-outer-join-keeps
# A `LEFT OUTER JOIN` keeps every user; a user without posts gets one row whose post columns are all `NULL`.
# What you count now matters: `count(*)` counts rows, so that user counts 1; `count(posts.id)` counts non-`NULL` values, so it counts 0.
# PostgreSQL lets you select `users.email` while grouping by `users.id` alone, because `id` is the primary key and determines the email.

# %% id=left-outer-join-keeps-code
outer = (
    select(User.id, func.count(), func.count(Post.id))
    .outerjoin(Post, Post.author_id == User.id)
    .group_by(User.id)
    .order_by(User.id)
)
async with Session() as session:
    rows = (await session.execute(outer)).all()
print(f"outer join: {len(rows)} rows")
print("users without posts, as (id, count(*), count(posts.id)):", [tuple(r) for r in rows if r[2] == 0][:4])

# %% [markdown] id=session-execute-returns-row
# `session.execute()` returns `Row` objects.
# A `Row` looks like a tuple when printed, and behaves like one in most ways, but it is a different type: `tuple(row)` gives a plain tuple.

# %% id=session-execute-returns-row-code
row = rows[0]
print(type(row).__name__, row, "->", type(tuple(row)).__name__, tuple(row))

# %% [markdown] id=exercise-post-counts
# ### Exercise: `post_counts`
#
# Write `post_counts(session)`: one `(id, email, number of posts)` for **every** user, users without posts included with 0, ordered by user id.
#
# - Exactly one statement.
# - Work in the session you are given, as `authors_with_posts` does: the caller's flushed rows count, and its transaction stays open.
# - Return a `list` of plain `tuple`s of `(int, str, int)`: convert each `Row` with `tuple(row)`. `Row` objects fail the check.

# %% solution id=post_counts
async def post_counts(session) -> list[tuple[int, str, int]]:
    """Return plain tuples (user id, email, number of posts) for every user, 0 included, ordered by id, in one statement."""
    ### BEGIN SOLUTION
    statement = (
        select(User.id, User.email, func.count(Post.id))
        .outerjoin(Post, Post.author_id == User.id)
        .group_by(User.id)
        .order_by(User.id)
    )
    return [tuple(row) for row in (await session.execute(statement)).all()]
    ### END SOLUTION

# %% tests id=test_post_counts_seed points=2
"""Check that post_counts returns one plain (id, email, count) tuple per user, ordered by id."""
from asyncdb_lab.checks import expect, expect_type
from sqlalchemy import text

async with Session() as session:
    counts = await post_counts(session)
expect_type(counts, list, "post_counts(session)", "Return a list.")
expect(len(counts), 1000, "rows returned for the 1,000 seed users",
       "Every user needs a row, also those without posts: an inner join drops them.")
expect_type(counts[0], tuple, "each row", "Convert each Row with tuple(row).")
expect(counts[0], (1, "lina.garcia1@example.com", 2), "the first row",
       "User 1 has two posts; order the rows by user id.")
### BEGIN HIDDEN TESTS
async with engine.connect() as conn:
    expected = [tuple(r) for r in (await conn.execute(text(
        "SELECT u.id, u.email, (SELECT count(*) FROM posts AS p WHERE p.author_id = u.id)::int "
        "FROM users AS u ORDER BY u.id"
    ))).all()]
for got in counts:
    if type(got) is not tuple:
        raise AssertionError(
            f"Each row must be a plain tuple, got {type(got).__name__} — `tuple(row)` converts a Row."
        )
expect(counts, expected, "post_counts on the seed data",
       "One (id, email, count) per user, ordered by id; count posts.id, not rows.")

async with scrambled_database("check_post_counts_order") as scrambled:
    async with scrambled.engine.connect() as conn:
        expected = [tuple(r) for r in (await conn.execute(text(
            "SELECT u.id, u.email, (SELECT count(*) FROM posts AS p WHERE p.author_id = u.id)::int "
            "FROM users AS u ORDER BY u.id"
        ))).all()]
    async with scrambled.session_factory() as session:
        scrambled_counts = await post_counts(session)
    expect_type(scrambled_counts, list, "post_counts(session) on scrambled_database()", "Return a list.")
    expect([row[0] if type(row) is tuple else row for row in scrambled_counts], [row[0] for row in expected],
           "the user ids on scrambled_database() (rows stored out of id order, gaps in the ids)",
           "GROUP BY does not sort: without ORDER BY the rows come back in whatever order the plan "
           "produces (here a hash aggregate). Order by the user id in the query.")
    expect(scrambled_counts, expected, "post_counts on scrambled_database()",
           "One plain (id, email, count) tuple per user, ordered by id.")
### END HIDDEN TESTS

# %% tests id=test_post_counts_zero points=2
"""Check that users without posts appear in post_counts with 0."""
from asyncdb_lab.checks import expect
from sqlalchemy import text

async with Session() as session:
    counts = await post_counts(session)
zero = [row for row in counts if row[2] == 0]
expect(len(zero), 150, "users with 0 posts in the seed data",
       "Use an outer join and count posts.id: count(*) counts the NULL row of a user without posts as 1.")
### BEGIN HIDDEN TESTS
async with disposable_database(seed=True, label="check_post_counts", say=False) as other:
    async with other.engine.begin() as conn:
        await conn.execute(text("DELETE FROM posts WHERE author_id = 1"))
        await conn.execute(text(
            "INSERT INTO users (email, name) VALUES ('new.one@example.test', 'New One'), "
            "('new.two@example.test', 'New Two')"
        ))
        await conn.execute(text(
            "INSERT INTO posts (author_id, title, content) SELECT id, 'T', 'C' FROM users "
            "WHERE email = 'new.two@example.test'"
        ))
    async with other.session_factory() as session:
        other_counts = await post_counts(session)
    expect(len(other_counts), 1002, "rows after adding two users", "Every user, read from the database.")
    expect(other_counts[0], (1, "lina.garcia1@example.com", 0), "user 1 after deleting their posts",
           "A user without posts still gets a row, with 0.")
    expect(other_counts[-2:], [(1001, "new.one@example.test", 0), (1002, "new.two@example.test", 1)],
           "the two new users", "Count posts.id over an outer join; order by user id.")
### END HIDDEN TESTS

# %% tests id=test_post_counts_one_statement points=1
"""Check that post_counts sends exactly one statement."""
from asyncdb_lab.checks import expect

async with Session() as session:
    with count_statements(session) as sql:
        await post_counts(session)
expect(sql.count, 1, "statements sent by post_counts",
       "Let the database count everything in one SELECT with an outer join and GROUP BY.")
### BEGIN HIDDEN TESTS
statement = " ".join(sql.sql[0].lower().split())
assert "count(" in statement and "posts.content" not in statement, (
    "post_counts fetched the posts to count them in Python: let the database count them "
    "with count(posts.id) and GROUP BY, and send one row per user."
)
### END HIDDEN TESTS

# %% tests id=test_post_counts_caller_session points=1
"""Check that post_counts works in the caller's open transaction, counts its flushed rows and leaves it open."""
### BEGIN HIDDEN TESTS
from asyncdb_lab.checks import expect, expect_type
from sqlalchemy import func, select, text

async with disposable_database(seed=True, label="check_post_counts_caller", say=False) as other:
    async with other.session_factory() as session:
        await session.execute(text("SELECT 1"))  # the caller's transaction has begun
        newcomer = User(email="caller.new@example.test", name="Caller New")
        session.add(newcomer)
        await session.flush()
        session.add_all([Post(author_id=newcomer.id, title=f"Draft {k}", content="C") for k in range(3)])
        session.add(Post(author_id=2, title="One more for user 2", content="C"))
        await session.flush()
        newcomer_id = newcomer.id
        user_2 = await session.scalar(select(func.count(Post.id)).where(Post.author_id == 2))
        email_2 = await session.scalar(select(User.email).where(User.id == 2))
        try:
            caller_counts = await post_counts(session)
        except Exception as error:
            raise AssertionError(
                f"post_counts raised {type(error).__name__}: {error} on a session already in a transaction. "
                "Use the session as it is: no session.begin(), no commit, no close."
            ) from None
        still_open = session.in_transaction()
        kept = await session.scalar(select(func.count()).select_from(Post).where(Post.author_id == newcomer_id))
        await session.rollback()
    assert still_open, (
        "After post_counts the caller's transaction was no longer open: do not commit, roll back or close "
        "the session you are given; the caller owns it."
    )
    expect(kept, 3, "the caller's flushed posts, still there after the call",
           "The caller's uncommitted work must survive your function: never close or roll back its session.")
    expect_type(caller_counts, list, "post_counts(session)", "Return a list.")
    expect(len(caller_counts), 1001, "rows seen in the caller's transaction (1,000 users + one flushed)",
           "Query through the session you are given, not a session or engine of your own: only it sees the "
           "caller's uncommitted rows.")
    expect(caller_counts[-1], (newcomer_id, "caller.new@example.test", 3), "the row of the user the caller flushed",
           "Count through the given session; order by user id.")
    expect(caller_counts[1], (2, email_2, user_2),
           "user 2's row, with the post the caller flushed", "Count through the given session.")
### END HIDDEN TESTS

# %% [markdown] id=part-d-select-only-columns
# ---
# ## Part D — Select only the columns you need (7 points)
#
# `select(Post)` asks for every column of `posts`, including `content`, the largest one, and builds a `Post` object per row, tracked by the session.
# When you only show titles, `select(Post.title)` asks for that one column and returns plain strings.
# The difference grows with the width of the rows and the number of them; here it is for all 5,000 posts, measured:

# %% id=whole-posts
async def whole_posts():
    async with Session() as session:
        return [post.title for post in (await session.scalars(select(Post))).all()]


async def titles_only():
    async with Session() as session:
        return list((await session.scalars(select(Post.title))).all())


for label, load in {"select(Post)": whole_posts, "select(Post.title)": titles_only}.items():
    with count_statements(engine) as sql:
        await load()
    timing = await measure(label, load, runs=3, warmup=0, say=False)  # the run above warmed up
    print(f"{label:<20} {timing.median * 1000:6.1f} ms  SQL: {' '.join(sql.sql[0].split())}")

# %% [markdown] id=load-only-orm-middle
# `load_only(Post.title)` is the ORM's middle way: it still returns `Post` objects, with only some columns loaded.
# It always adds the primary key, because the session needs it to track the object, so the SQL selects two columns, not one:

# %% id=load-only-orm-middle-code
from sqlalchemy.orm import load_only

with count_statements(engine) as sql:
    async with Session() as session:
        posts = (await session.scalars(select(Post).options(load_only(Post.title)).limit(2))).all()
print(sql)

# %% [markdown] id=newest-first-needs-order
# "Newest first" needs an order that the database can apply and that is complete.
# `ORDER BY created_at DESC` alone leaves rows with equal timestamps in no particular order, which may differ between runs or after the table changes.
# Add a unique column as a tie-breaker, here `id DESC` (the later insert first), and let `LIMIT` pick the rows in the database:

# %% id=newest-first-needs-order-code
newest = (
    select(Post.title, Post.created_at)
    .where(Post.author_id == 16)
    .order_by(Post.created_at.desc(), Post.id.desc())
    .limit(3)
)
with count_statements(engine) as sql:
    async with Session() as session:
        for title, created_at in (await session.execute(newest)).all():
            print(f"{created_at:%Y-%m-%d %H:%M}  {title}")
print(sql)

# %% [markdown] id=exercise-recent-titles
# ### Exercise: `recent_titles`
#
# Write `recent_titles(session, user_id, n)`: the titles of the user's `n` newest posts, newest first, as a `list` of `str`.
#
# - Order by `created_at` descending, ties broken by `id` descending.
# - One statement whose `SELECT` list is the `title` column only (not whole `Post` objects, not `load_only`), with `LIMIT n` done by the database.
# - A user without posts, an unknown user id, or `n = 0` gives `[]`.
# - As before: work in the session you are given, inside whatever transaction the caller has begun; do not begin, commit or close it.

# %% solution id=recent_titles
async def recent_titles(session, user_id: int, n: int) -> list[str]:
    """Return the titles of the user's n newest posts (created_at DESC, id DESC), selecting only the title."""
    ### BEGIN SOLUTION
    statement = (
        select(Post.title)
        .where(Post.author_id == user_id)
        .order_by(Post.created_at.desc(), Post.id.desc())
        .limit(n)
    )
    return list((await session.scalars(statement)).all())
    ### END SOLUTION

# %% tests id=test_recent_titles_seed points=2
"""Check that recent_titles returns a user's newest titles, newest first."""
from asyncdb_lab.checks import expect
from sqlalchemy import text


async def newest_titles_of(conn, user_id: int, n: int) -> list[str]:
    result = await conn.execute(text(
        "SELECT title FROM posts WHERE author_id = :u ORDER BY created_at DESC, id DESC LIMIT :n"
    ), {"u": user_id, "n": n})
    return list(result.scalars().all())


async with engine.connect() as conn:
    expected = await newest_titles_of(conn, 5, 3)
async with Session() as session:
    expect(await recent_titles(session, 5, 3), expected, "recent_titles(session, 5, 3)",
           "Newest first: order by created_at descending.")
### BEGIN HIDDEN TESTS
async with engine.connect() as conn:
    busiest = (await conn.execute(text(
        "SELECT author_id FROM posts GROUP BY author_id ORDER BY count(*) DESC, author_id LIMIT 3"
    ))).scalars().all()
    cases = [(user_id, n, await newest_titles_of(conn, user_id, n)) for user_id in busiest for n in (1, 5, 100)]
async with Session() as session:
    for user_id, n, titles in cases:
        expect(await recent_titles(session, user_id, n), titles, f"recent_titles(session, {user_id}, {n})",
               "Order by created_at descending, then id descending, and LIMIT n.")
    no_posts = (await session.execute(text(
        "SELECT min(id) FROM users WHERE NOT EXISTS (SELECT 1 FROM posts WHERE author_id = users.id)"
    ))).scalar_one()
    expect(await recent_titles(session, no_posts, 5), [], "a user without posts", "Return an empty list.")
    expect(await recent_titles(session, 987654, 5), [], "an unknown user id", "Return an empty list.")
    expect(await recent_titles(session, busiest[0], 0), [], "n = 0", "LIMIT 0 returns no rows.")
### END HIDDEN TESTS

# %% tests id=test_recent_titles_order points=2
"""Check that recent_titles orders by created_at descending with id descending as the tie-breaker."""
### BEGIN HIDDEN TESTS
from datetime import UTC, datetime

from asyncdb_lab.checks import expect
from sqlalchemy import text

async with disposable_database(seed=True, label="check_recent_titles", say=False) as other:
    async with other.engine.begin() as conn:
        await conn.execute(text("DELETE FROM posts WHERE author_id = 7"))
        for title, stamp in [
            ("first", datetime(2026, 5, 1, 10, 0, tzinfo=UTC)),
            ("tie a", datetime(2026, 5, 3, 9, 0, tzinfo=UTC)),
            ("backdated", datetime(2026, 5, 2, 12, 0, tzinfo=UTC)),
            ("tie b", datetime(2026, 5, 3, 9, 0, tzinfo=UTC)),
            ("tie c", datetime(2026, 5, 3, 9, 0, tzinfo=UTC)),
            ("oldest", datetime(2026, 4, 20, 8, 0, tzinfo=UTC)),
        ]:
            await conn.execute(text(
                "INSERT INTO posts (author_id, title, content, created_at) VALUES (7, :title, 'C', :stamp)"
            ), {"title": title, "stamp": stamp})
    async with other.session_factory() as session:
        expect(await recent_titles(session, 7, 5), ["tie c", "tie b", "tie a", "backdated", "first"],
               "recent_titles on posts with equal created_at and ids out of date order",
               "Order by created_at DESC, then id DESC as the tie-breaker; the id alone is not the date.")
        expect(await recent_titles(session, 7, 10),
               ["tie c", "tie b", "tie a", "backdated", "first", "oldest"],
               "all posts of the user, newest first", "")
### END HIDDEN TESTS

# %% tests id=test_recent_titles_columns points=2
"""Check that recent_titles sends one SELECT that selects only the title column."""
from asyncdb_lab.checks import expect

async with Session() as session:
    with count_statements(session) as sql:
        await recent_titles(session, 5, 3)
expect(sql.count, 1, "statements sent by recent_titles", "One SELECT is enough.")
### BEGIN HIDDEN TESTS
import re


def select_list(statement: str) -> list[str]:
    flat = " ".join(statement.split())
    found = re.match(r"(?is)^\s*select\s+(?:distinct\s+)?(.*?)\s+from\s", flat)
    assert found, f"recent_titles should send a SELECT … FROM posts, it sent: {flat[:200]}"
    columns, depth, current = [], 0, ""
    for char in found.group(1):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            columns.append(current.strip())
            current = ""
        else:
            current += char
    columns.append(current.strip())
    return columns


columns = select_list(sql.sql[0])
assert len(columns) == 1 and "title" in columns[0].lower() and "*" not in columns[0], (
    f"recent_titles selected {columns}: select the title column only — select(Post.title), "
    "not select(Post) or load_only (which adds the primary key)."
)
flat = " ".join(sql.sql[0].lower().split())
assert " limit " in flat or " fetch first " in flat, (
    "recent_titles fetched every title and cut the list in Python: add .limit(n) so the "
    "database sends only n rows."
)
### END HIDDEN TESTS

# %% tests id=test_recent_titles_caller_session points=1
"""Check that recent_titles works in the caller's open transaction, sees its flushed posts and leaves it open."""
### BEGIN HIDDEN TESTS
from datetime import UTC, datetime

from asyncdb_lab.checks import expect
from sqlalchemy import func, select, text

async with disposable_database(seed=True, label="check_recent_titles_caller", say=False) as other:
    async with other.session_factory() as session:
        await session.execute(text("SELECT 1"))  # the caller's transaction has begun
        newest_before = await session.scalars(
            select(Post.title).where(Post.author_id == 5).order_by(Post.created_at.desc(), Post.id.desc()).limit(2)
        )
        newest_before = list(newest_before)
        session.add(Post(author_id=5, title="Flushed, not committed", content="C",
                         created_at=datetime(2030, 1, 1, tzinfo=UTC)))
        await session.flush()
        try:
            caller_titles = await recent_titles(session, 5, 3)
        except Exception as error:
            raise AssertionError(
                f"recent_titles raised {type(error).__name__}: {error} on a session already in a transaction. "
                "Use the session as it is: no session.begin(), no commit, no close."
            ) from None
        still_open = session.in_transaction()
        kept = await session.scalar(select(func.count()).select_from(Post).where(Post.title == "Flushed, not committed"))
        await session.rollback()
    assert still_open, (
        "After recent_titles the caller's transaction was no longer open: do not commit, roll back or close "
        "the session you are given; the caller owns it."
    )
    expect(kept, 1, "the caller's flushed post, still there after the call",
           "The caller's uncommitted work must survive your function: never close or roll back its session.")
    expect(caller_titles, ["Flushed, not committed", *newest_before], "recent_titles(session, 5, 3) in the caller's transaction",
           "Query through the session you are given, not a session or engine of your own: only it sees the "
           "caller's uncommitted post, the newest one.")
### END HIDDEN TESTS

# %% [markdown] id=summary
# ---
# ## Summary
#
# - In async code, a lazy load cannot happen implicitly: reading an unloaded relationship raises `MissingGreenlet`, and assigning to an unloaded collection does too.
# - Load what you will read in the query: `selectinload` for collections (one extra statement per 500 parents), `joinedload` for single objects (and `.unique()` when you use it on a collection); `await obj.awaitable_attrs.name` for a one-off.
# - After the session closes, only what was loaded can be read: load everything before you return ORM objects.
# - `raiseload("*")` or `lazy="raise"` turns a forgotten eager load into an immediate error instead of a hidden N+1.
# - Count with `LEFT OUTER JOIN … GROUP BY` and `count(child.id)`, not `count(*)`, to keep the parents without children at 0.
# - Select the columns you show; sort completely (`created_at DESC, id DESC`) and let `LIMIT` run in the database.
#
# ## Interview questions
#
# 1. How do you prevent N+1 queries in async SQLAlchemy?
# 2. Why does `user.posts` raise `MissingGreenlet` in async code, when the same line works with a synchronous session?
# 3. How many statements does `select(User).options(selectinload(User.posts))` send for 1,200 users?
# 4. Why must you call `.unique()` after `joinedload` on a collection, and why is that not needed with `selectinload`?
# 5. A report of users with their post counts is missing the users who never posted. What went wrong, and what else can make their count show as 1?
# 6. What is the difference between `select(Post.title)` and `select(Post).options(load_only(Post.title))`?
#
# <details><summary>Answers</summary>
#
# 1. Say in the query which relationships to load: `selectinload` for collections, `joinedload` for many-to-one (and `.unique()` if joined to a collection). Then guard it: `raiseload("*")` in the query or `lazy="raise"` on the relationship turns any forgotten lazy load into an error, and a test with `count_statements` (or SQLAlchemy's `assertsql`) pins the number of statements. It is not "always 2 queries": `selectinload` sends one extra `SELECT` per 500 parents, and each further level of nesting (`selectinload(User.posts).selectinload(...)`) adds its own. When you only need numbers or a few columns, do not load objects at all: aggregate or select the columns.
# 2. A lazy load is I/O triggered by an attribute read, which cannot be awaited. SQLAlchemy's async layer can only run driver calls inside the greenlet that an awaited session method sets up; outside it, it raises `MissingGreenlet` instead of blocking the event loop.
# 3. Four: one for the users, then ceil(1,200 / 500) = 3 `IN` queries with 500, 500 and 200 keys.
# 4. A join returns one row per (user, post) pair, so each user appears once per post; SQLAlchemy 2.x requires `.unique()` to collapse them by identity instead of doing it silently. `selectinload` loads posts in a separate statement, so the first result has one row per user.
# 5. An inner join keeps only users with at least one post; use `LEFT OUTER JOIN`. With the outer join, `count(*)` counts the single all-`NULL` row of a user without posts as 1; count `posts.id` instead.
# 6. `select(Post.title)` selects one column and returns strings, not tracked by the session. `load_only` returns `Post` objects with only some columns loaded; it adds the primary key, and reading an unloaded column later is another lazy load (an error in async code).
#
# </details>
#
# ## Further reading
#
# - SQLAlchemy: [Relationship loading techniques](https://docs.sqlalchemy.org/en/20/orm/queryguide/relationships.html) (select IN, joined, subquery and raise loading)
# - SQLAlchemy: [Preventing implicit I/O when using AsyncSession](https://docs.sqlalchemy.org/en/20/orm/extensions/asyncio.html#preventing-implicit-io-when-using-asyncsession) (`AsyncAttrs`, `awaitable_attrs`)
# - SQLAlchemy: [Error `MissingGreenlet` (xd2s)](https://docs.sqlalchemy.org/en/20/errors.html#error-xd2s)
# - SQLAlchemy: [Column loading options](https://docs.sqlalchemy.org/en/20/orm/queryguide/columns.html) (`load_only`, `defer`)
# - PostgreSQL: [Aggregate functions](https://www.postgresql.org/docs/current/functions-aggregate.html) and [`GROUP BY`](https://www.postgresql.org/docs/current/queries-table-expressions.html#QUERIES-GROUP)

# %% [markdown] id=check-your-notebook
# ---
# **Check your notebook.** Save (Ctrl+S), then run this cell: it checks the saved file as `asyncdb-lab check` does, on a fresh database, and shows each exercise's points, a failing test's message with its first hint, and what to do next.

# %% id=check-this-notebook
from asyncdb_lab.learner.in_lab import check_this_notebook

check_this_notebook()
