# %% [markdown] id=intro
# # **11 · FastAPI integration**
#
# Serve the course's database through a FastAPI app that gives every request its own session, turns database errors into honest HTTP status codes, and is tested right here in the notebook, without a server.
#
# **Learning goals**
# - Set up and tear down what the app shares (the engine, the session factory) in a *lifespan* function, and know why `@app.on_event` is deprecated.
# - Give each request its own `AsyncSession` through a `yield` dependency (`SessionDep`), and commit where the unit of work ends: in the route.
# - Turn ORM objects into JSON with pydantic v2 models (`from_attributes`, `model_dump()`), without lazy loads in the middle.
# - Map database errors to HTTP status codes by SQLSTATE: 409, 422, 503, and never a 500 for a client's mistake.
# - Test the app in-process with `httpx.AsyncClient` and `ASGITransport`: run its lifespan, swap a dependency with `dependency_overrides`, fire many requests at once and check that every connection went back to the pool.
#
# **Prerequisites**: notebooks 02 (commit, keyset pages), 03 (`selectinload`), 06 (the pool, health checks) and 09 (SQLSTATE); HTTP basics: methods, status codes, JSON bodies.
#
# **Out of scope**: running a server (uvicorn, gunicorn workers), authentication, migrations, and sizing the pool for several worker processes (notebook 06).

# %% [markdown] id=setup
# ## Setup
#
# Run the next cell first. It gives this notebook its own database with the seed data (1,000 users, 5,000 posts) and imports the course models and instruments.

# %% readonly id=setup-database
from asyncdb_lab import count_statements, disposable_database, pool_snapshot
from asyncdb_lab.models import Post, User

db = await disposable_database(seed=True)
engine = db.engine

# %% [markdown] id=part-a-app-lifetime-talking
# ---
# ## Part A — The app's lifetime, and talking to it without a server (0 points)
#
# An engine owns a pool of open connections to PostgreSQL.
# A web app should create it once, when the process starts serving, share it between all requests, and dispose of it when the process stops, so that its connections are closed properly instead of being dropped.
# FastAPI has one place for that start and stop: the *lifespan*, an async context manager.
# The code before its `yield` runs before the first request; the code after it runs at shutdown.
#
# > **Common mistake: `@app.on_event("startup")` and `@app.on_event("shutdown")`.**
# > Older tutorials register two separate functions with `on_event`.
# > FastAPI deprecated that in favour of the lifespan: one function keeps setup and teardown together, and whatever the setup created is in scope for the teardown.
# > The next cell registers a handler the old way and prints the warning FastAPI really raises.

# %% id=part-a-app-lifetime-code
import warnings

from fastapi import FastAPI

old_style_app = FastAPI()
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")

    @old_style_app.on_event("startup")
    async def connect() -> None:
        print("connecting …")

for message in sorted({" ".join(str(w.message).split()) for w in caught}):
    print(f"DeprecationWarning: {message}")

# %% [markdown] id=fix-lifespan-function-passed
# The fix is a lifespan function, passed to `FastAPI(lifespan=…)`.
# In production the URL comes from the environment; here it is the notebook's database.
# `app.state` is a place for objects the whole app shares: the routes will find the session factory there.

# %% id=production-lifespan
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine


@asynccontextmanager
async def production_lifespan(app: FastAPI):
    app_engine = create_async_engine(db.url, pool_size=5, max_overflow=5)
    app.state.session_factory = async_sessionmaker(app_engine, expire_on_commit=False)
    print("startup: engine created,", pool_snapshot(app_engine))
    yield
    await app_engine.dispose()
    print("shutdown: engine disposed, its connections closed")


production_app = FastAPI(lifespan=production_lifespan)

# %% [markdown] id=try-app-not-need
# To try the app we do not need a server.
# `httpx.ASGITransport` hands each request straight to the app as a function call in this event loop: no port, no network, no second process.
# But it only sends requests: it does **not** run the lifespan.
# The next cell adds a route that needs the session factory and calls it without the lifespan; the real error follows.

# %% id=count-all-users
import httpx
from fastapi import Request
from sqlalchemy import func, select


@production_app.get("/users/count")
async def count_all_users(request: Request) -> dict:
    async with request.app.state.session_factory() as session:
        return {"users": await session.scalar(select(func.count()).select_from(User))}


transport = httpx.ASGITransport(app=production_app)
async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
    try:
        await client.get("/users/count")
    except AttributeError as error:
        print(f"AttributeError: {error}")

# %% [markdown] id=server-runs-lifespan-through
# A server (uvicorn, say) runs the lifespan through the ASGI *lifespan* protocol before it accepts requests.
# In a test you run it yourself.
# Starlette's router keeps the app's lifespan as `app.router.lifespan_context`; entering it runs your startup code and leaving it runs your shutdown code.
# (The `asgi-lifespan` package's `LifespanManager` does the same by speaking the full ASGI protocol; FastAPI's sync `TestClient` does it too, but it runs the app in another thread and event loop, where connections made in this one cannot be used.)

# %% id=server-runs-lifespan-through-code
async with production_app.router.lifespan_context(production_app):
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/users/count")
        print(response.status_code, response.json())

# %% [markdown] id=rest-notebook-uses-pair
# The rest of the notebook uses that pair so often that it gets a name: `client_for(app)` runs the app's lifespan and yields a client connected to it.
# `raise_app_exceptions=True` (httpx's default) re-raises an exception from inside the app in the test, which is what you want while debugging; with `False` you get the plain `500 Internal Server Error` a real client would see.

# %% id=client-for
import httpx


@asynccontextmanager
async def client_for(app: FastAPI, *, raise_app_exceptions: bool = True):
    """Run the app's lifespan and yield an httpx client that calls the app in-process."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async with client_for(production_app) as client:
    print((await client.get("/users/count")).json())

# %% [markdown] id=part-b-session-per-request
# ---
# ## Part B — One session per request (0 points)
#
# An `AsyncSession` is a unit of work: it tracks the objects you loaded and changed, and while a transaction is open it holds one pooled connection.
# It must never be used by two tasks at once (notebook 01), and a web server handles many requests at once, each in its own task.
# So each request gets its own session, and gives it back when the request ends.
#
# FastAPI builds that with a *dependency with `yield`*: the code before `yield` runs before the route, the value it yields is handed to the route, and the code after it runs when the request is done.
# `async with session_factory() as session:` closes the session when the block ends, whatever happened: uncommitted work is rolled back and the connection goes back to the pool.
# `SessionDep` is the usual shorthand: a route that declares `session: SessionDep` gets the request's session.
#
# The demonstration apps in this notebook share the notebook's `engine`, so their lifespan only builds the session factory; the notebook, which created the engine, is the one that disposes of it.

# %% id=get-session
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request, closed (connection returned) when the request ends."""
    async with request.app.state.session_factory() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


@asynccontextmanager
async def notebook_lifespan(app: FastAPI):
    app.state.session_factory = async_sessionmaker(engine, expire_on_commit=False)
    yield

# %% [markdown] id=two-facts-worth-seeing
# Two facts worth seeing: within one request, every parameter that depends on `get_session` receives the *same* session (FastAPI caches a dependency's value for the duration of a request), and three requests running at the same time receive three different sessions.
# When they are done, no connection is left checked out.

# %% id=which-session
import asyncio

sessions_app = FastAPI(lifespan=notebook_lifespan)


@sessions_app.get("/which-session")
async def which_session(session: SessionDep, same_again: SessionDep) -> dict:
    await session.execute(select(1))
    return {"session": id(session), "one_per_request": session is same_again}


async with client_for(sessions_app) as client:
    answers = [r.json() for r in await asyncio.gather(*(client.get("/which-session") for _ in range(3)))]
print("same session for both parameters:", [a["one_per_request"] for a in answers])
print("different sessions across 3 concurrent requests:", len({a["session"] for a in answers}))
print(pool_snapshot(engine))

# %% [markdown] id=mistake-closing-hand-inside
# > **Common mistake: closing by hand inside `async with`, and committing in the dependency.**
# > Tutorials often write the dependency with `try: yield session` / `except: await session.rollback(); raise` / `finally: await session.close()` inside `async with`.
# > The `async with` block already rolls back and closes, so those lines are redundant.
# > The harmful variant adds `await session.commit()` after the `yield`, "so routes don't have to".
# > Since FastAPI 0.118, the code after `yield` runs once the response has been sent, so a commit that fails there fails too late: the client has already been told it worked.
# > The next cell adds a user whose email is already taken, without flushing, and lets the dependency commit.
# > A small ASGI middleware prints the moment the app hands the status line to the server, so that you can see which comes first.
# > (The in-process client returns the response only once the app has finished; over a network the `201` would already be on its way to the client before the commit even starts.)

# %% id=session-that-commits
from fastapi import HTTPException
from sqlalchemy.exc import IntegrityError


async def session_that_commits(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.session_factory() as session:
        yield session
        try:
            await session.commit()  # FastAPI 0.118 and later: runs after the response has been sent
        except IntegrityError as error:
            print(f"the dependency's commit: IntegrityError, SQLSTATE {error.orig.sqlstate}")
            raise


class PrintStatusSent:
    """ASGI middleware: prints when the app hands the response's status line to the server."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        async def send_and_print(message):
            await send(message)
            if message["type"] == "http.response.start":
                print(f"status {message['status']} handed to the server")

        await self.app(scope, receive, send_and_print)


late_commit_app = FastAPI(lifespan=notebook_lifespan)
late_commit_app.add_middleware(PrintStatusSent)


@late_commit_app.post("/signups", status_code=201)
async def sign_up(session: Annotated[AsyncSession, Depends(session_that_commits)]) -> dict:
    session.add(User(email="lina.garcia1@example.com", name="Late commit"))  # an email user 1 has
    return {"created": True}


async with client_for(late_commit_app, raise_app_exceptions=False) as client:
    response = await client.post("/signups")
print("the client received:", response.status_code, response.json())
async with engine.connect() as conn:
    saved = await conn.scalar(select(func.count()).where(User.name == "Late commit"))
print("rows actually saved:", saved)

# %% [markdown] id=yield-exit-by-version
# When the code after `yield` runs has changed between FastAPI versions, and this notebook relies on the current behaviour:
#
# | FastAPI | code after `yield` runs | a commit failing there |
# |---|---|---|
# | before 0.106 | after the response has been sent | the `201` has already been sent |
# | 0.106 to 0.117 | after the route returns, *before* the response is sent | the client gets a `500` |
# | 0.118 and later | after the response has been sent (the default) | the `201` has already been sent |
# | 0.121 and later | before the response, if the dependency is declared with `Depends(…, scope="function")` | the client gets a `500` |
#
# The course requires FastAPI 0.121 or later. The next cell prints the version installed here and runs the same committing dependency with `scope="function"`.

# %% id=yield-exit-by-version-code
import fastapi

print("FastAPI", fastapi.__version__)
function_scope_app = FastAPI(lifespan=notebook_lifespan)


@function_scope_app.post("/signups", status_code=201)
async def sign_up_function_scope(
    session: Annotated[AsyncSession, Depends(session_that_commits, scope="function")],
) -> dict:
    session.add(User(email="lina.garcia1@example.com", name="Function scope"))
    return {"created": True}


async with client_for(function_scope_app, raise_app_exceptions=False) as client:
    response = await client.post("/signups")
print("the client received:", response.status_code, response.text)

# %% [markdown] id=fix-commit-route-where
# The fix: commit in the route, where the unit of work ends.
# Then a failing commit raises while the route can still choose the status code.
# The dependency stays the three lines above (`get_session`); Part D turns the error into a proper `409 Conflict` instead of the `500` below, which at least is not a lie.

# %% id=sign-up-and-commit
commit_in_route_app = FastAPI(lifespan=notebook_lifespan)


@commit_in_route_app.post("/signups", status_code=201)
async def sign_up_and_commit(session: SessionDep) -> dict:
    session.add(User(email="lina.garcia1@example.com", name="Commit in route"))
    await session.commit()
    return {"created": True}


async with client_for(commit_in_route_app, raise_app_exceptions=False) as client:
    response = await client.post("/signups")
print("the client received:", response.status_code, response.text)
print(pool_snapshot(engine))

# %% [markdown] id=part-c-response-models-orm
# ---
# ## Part C — Response models: from ORM objects to JSON (0 points)
#
# Routes should not decide their JSON shape by accident.
# Pydantic models say exactly what comes in and what goes out: `UserIn` validates a request body (FastAPI answers `422` by itself when it does not fit), and `UserOut` picks the fields a response shows, so a column added to the table later does not leak into the API.
# These models are the shapes the exercise uses too.

# %% id=user-in
from pydantic import BaseModel, ConfigDict, Field


class UserIn(BaseModel):
    email: str = Field(min_length=3, max_length=255)
    name: str = Field(min_length=1, max_length=100)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    name: str


class PostOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str


class UserWithPosts(UserOut):
    posts: list[PostOut]


class UserPage(BaseModel):
    items: list[UserOut]
    next_after_id: int | None

# %% [markdown] id=model-config-configdict-lets
# `model_config = ConfigDict(from_attributes=True)` lets `UserOut.model_validate(user)` read the fields from an ORM object's attributes.
# Without it, pydantic only accepts dicts and instances of the model itself; the next cell shows both.
# (FastAPI validates what a route returns against its `response_model` with attribute reading switched on, so returning an ORM object from a route works either way; you need `from_attributes` when you call `model_validate` yourself.)

# %% id=user-out-without-config
class UserOutWithoutConfig(BaseModel):
    id: int
    email: str
    name: str


async with db.session_factory() as session:
    user = await session.get(User, 1)
print(UserOut.model_validate(user))
try:
    UserOutWithoutConfig.model_validate(user)
except ValueError as error:
    print(f"{type(error).__name__}: {error.errors()[0]['msg']}")

# %% [markdown] id=mistake-dict-pydantic-model
# > **Common mistake: `.dict()` on a pydantic model.**
# > Pydantic v2 renamed it `model_dump()` (and `.json()` to `model_dump_json()`, `parse_obj()` to `model_validate()`).
# > The old names still work for now but warn on every call and disappear in pydantic v3.
# > The next cell captures the real warning, then does it the v2 way: the dumped dict becomes the ORM object's keyword arguments.

# %% id=mistake-dict-pydantic-model-code
payload = UserIn(email="new.reader@example.com", name="New Reader")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    payload.dict()
print(f"{caught[0].category.__name__}: {str(caught[0].message).split(' See ')[0]}")
print(User(**payload.model_dump()))

# %% [markdown] id=response-model-can-also
# A response model can also trigger database work you did not ask for.
# `UserWithPosts` reads `user.posts`; if the route returns a user whose posts were never loaded, pydantic touches the lazy relationship while serializing, outside any `await`, and SQLAlchemy refuses: `MissingGreenlet` (notebook 03), which FastAPI reports as a `ResponseValidationError` and a `500`.
# Loading the posts with the user (`selectinload`) fixes it in two statements.

# %% id=posts-lazily
from sqlalchemy.orm import selectinload

posts_app = FastAPI(lifespan=notebook_lifespan)


@posts_app.get("/lazy/{user_id}/posts", response_model=UserWithPosts)
async def posts_lazily(user_id: int, session: SessionDep) -> User:
    return await session.get(User, user_id)


@posts_app.get("/eager/{user_id}/posts", response_model=UserWithPosts)
async def posts_eagerly(user_id: int, session: SessionDep) -> User:
    query = select(User).where(User.id == user_id).options(selectinload(User.posts))
    return await session.scalar(query)


async with client_for(posts_app) as client:
    try:
        await client.get("/lazy/1/posts")
    except Exception as error:  # raise_app_exceptions=True hands us the app's exception
        print(f"{type(error).__name__}: {error.errors()[0]['msg'][:110]} …")
    with count_statements(engine) as sql:
        response = await client.get("/eager/1/posts")
print(response.status_code, [post["title"][:24] for post in response.json()["posts"]][:3], "…")
print(sql)

# %% [markdown] id=part-d-database-errors-http
# ---
# ## Part D — Database errors as HTTP status codes (0 points)
#
# A client that sends a taken email, or a value the database cannot store, made a mistake it can fix: it deserves a `4xx` status that says so, not a `500`.
# A database that cannot be reached is a `503 Service Unavailable`: try again later.
# Decide by the **SQLSTATE**, the five-character code PostgreSQL attaches to every error (notebook 09); message texts change between versions and languages.
#
# | SQLSTATE | meaning | status |
# |---|---|---|
# | `23505` unique_violation | the email is taken | `409 Conflict` |
# | other `23…` (not null, foreign key, check) | the row breaks a rule | `422 Unprocessable Content` |
# | `22…` data exception (value too long, NUL character, out of range) | the value cannot be stored | `422` |
# | no SQLSTATE: connection refused, timeout (`OSError`), connection lost | the database is not there | `503 Service Unavailable` |
#
# SQLAlchemy wraps asyncpg's errors; the code is on `error.orig.sqlstate`.
# Here are three values the database refuses, each flushed in its own session:

# %% id=part-d-database-errors-code
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

refused = {
    "a taken email": User(email="lina.garcia1@example.com", name="Copy"),
    "an email of 300 characters": User(email="x" * 300, name="Long"),
    "a NUL character in a name": User(email="nul@example.com", name="A\x00B"),
}
errors = {}
for what, row in refused.items():
    async with db.session_factory() as session:
        session.add(row)
        try:
            await session.flush()
        except DBAPIError as error:
            errors[what] = error
            print(f"{what:<28} {type(error).__name__:<15} SQLSTATE {error.orig.sqlstate}")

# %% [markdown] id=mapping-fits-function
# The mapping fits in one function.
# An app can register it for every route with `@app.exception_handler(DBAPIError)`, so no route forgets it.

# %% id=status-for
def status_for(error: DBAPIError) -> int:
    """The HTTP status code for a database error, chosen by SQLSTATE."""
    sqlstate = getattr(error.orig, "sqlstate", None) or ""
    if sqlstate == "23505":
        return 409
    if sqlstate.startswith(("22", "23")):
        return 422
    if error.connection_invalidated or sqlstate.startswith("08"):
        return 503
    return 500


for what, error in errors.items():
    print(f"{what:<28} → {status_for(error)}")

# %% [markdown] id=mistake-check-first-then
# > **Common mistake: check first, then insert.**
# > A tutorial's POST looks the email up, answers "already registered" if it finds it, and inserts otherwise.
# > Between the look-up and the insert, another request can do the same look-up: both see no row and both insert.
# > The unique constraint stops the second insert, but the code does not expect it, so that client gets a `500`.
# > The next cell sends 20 sign-ups for one new email at the same time.
# > The client re-raises exceptions from inside the app (`raise_app_exceptions=True`), so each `IntegrityError` in the count is a request that crashed: a real client would have received `500 Internal Server Error`.

# %% id=create-user-check-first
from collections import Counter

check_then_insert_app = FastAPI(lifespan=notebook_lifespan)


@check_then_insert_app.post("/users", status_code=201, response_model=UserOut)
async def create_user_check_first(payload: UserIn, session: SessionDep) -> User:
    if await session.scalar(select(User.id).where(User.email == payload.email)) is not None:
        raise HTTPException(409, "email already registered")
    user = User(**payload.model_dump())
    session.add(user)
    await session.commit()
    return user


async def sign_up_at_once(app: FastAPI, email: str, times: int = 20) -> Counter:
    async with client_for(app) as client:
        body = {"email": email, "name": "Racer"}
        results = await asyncio.gather(
            *(client.post("/users", json=body) for _ in range(times)), return_exceptions=True
        )
    return Counter(type(r).__name__ if isinstance(r, Exception) else r.status_code for r in results)


print(await sign_up_at_once(check_then_insert_app, "racer.one@example.com"))

# %% [markdown] id=fix-skip-look-up
# The fix: skip the look-up, insert, and let the constraint decide.
# PostgreSQL makes the concurrent inserts of one email wait for each other; the first commits and every other one gets SQLSTATE `23505`, which the route turns into `409`.
# The constraint is the only check that cannot race.

# %% id=create-user
constraint_app = FastAPI(lifespan=notebook_lifespan)


@constraint_app.post("/users", status_code=201, response_model=UserOut)
async def create_user(payload: UserIn, session: SessionDep) -> User:
    user = User(**payload.model_dump())
    session.add(user)
    try:
        await session.commit()
    except IntegrityError as error:
        if error.orig.sqlstate == "23505":
            raise HTTPException(409, "email already registered") from None
        raise
    return user


print(await sign_up_at_once(constraint_app, "racer.two@example.com"))
print(pool_snapshot(engine))

# %% [markdown] id=mistake-health-check-never
# > **Common mistake: a health check that never asks the database.**
# > A tutorial's `/health/database` returns `"healthy"` with the pool's counters, without running a query.
# > Counters describe the pool, not the server: the next cell points such an endpoint at a port where no database listens, and it still answers "healthy".

# %% id=closed-port-url
import socket

from sqlalchemy import text


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"postgresql+asyncpg://nobody:secret@127.0.0.1:{port}/nowhere"


unreachable_engine = create_async_engine(closed_port_url())
naive_health_app = FastAPI()


@naive_health_app.get("/health")
async def naive_health() -> dict:
    return {"status": "healthy", "checked_out": pool_snapshot(unreachable_engine).checked_out}


async with client_for(naive_health_app) as client:
    response = await client.get("/health")
print(response.status_code, response.json())

# %% [markdown] id=real-health-check-runs
# A real health check runs a query (`SELECT 1`) and says `503` when it fails.
# It also needs a time limit: a database host that is down may not refuse the connection at all but stay silent, and asyncpg then waits 60 s before giving up.
# A load balancer asking every few seconds wants an answer now.
# Note which errors arrive: a refused connection is a plain `ConnectionRefusedError` (an `OSError`), not a SQLAlchemy error (notebook 09), and a timeout is a `TimeoutError`, also an `OSError`.
# The next cell tries three servers: the real one, the closed port, and a socket that accepts connections but never answers.

# %% id=database-answers
import time


async def database_answers(engine, timeout: float = 1.0) -> bool:
    """True when the database runs SELECT 1 within `timeout` seconds."""
    try:
        async with asyncio.timeout(timeout):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError):  # TimeoutError and ConnectionRefusedError are OSErrors
        return False
    return True


silent = socket.create_server(("127.0.0.1", 0))  # listens, never accepts, never answers
silent_engine = create_async_engine(f"postgresql+asyncpg://nobody:secret@127.0.0.1:{silent.getsockname()[1]}/x")
for name, target in [("real", engine), ("closed port", unreachable_engine), ("silent", silent_engine)]:
    started = time.perf_counter()
    answers = await database_answers(target, timeout=0.5)
    print(f"{name:<12} answers: {answers!s:<5}  in {time.perf_counter() - started:.3f} s")
silent.close()
await silent_engine.dispose()
await unreachable_engine.dispose()

# %% [markdown] id=part-e-testing-without-server
# ---
# ## Part E — Testing without a server (0 points)
#
# You have already been testing without a server: `ASGITransport` calls the app in-process, and `app.router.lifespan_context(app)` runs its lifespan.
# The third tool is `app.dependency_overrides`, a dict from a dependency to its stand-in.
# A test can replace `get_session` with a session inside a transaction that the test rolls back at the end: the app commits as usual, and nothing it wrote survives the test (notebook 10 builds this pattern in detail).
# `join_transaction_mode="create_savepoint"` turns the app's commits and rollbacks into savepoint operations inside the test's transaction.

# %% id=part-e-testing-without-code
async with engine.connect() as conn:
    outer = await conn.begin()

    async def session_in_test_transaction() -> AsyncIterator[AsyncSession]:
        async with AsyncSession(
            bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
        ) as session:
            yield session

    constraint_app.dependency_overrides[get_session] = session_in_test_transaction
    try:
        async with client_for(constraint_app) as client:
            body = {"email": "temporary@example.com", "name": "Temporary"}
            first, second = await client.post("/users", json=body), await client.post("/users", json=body)
            print(first.status_code, first.json(), "|", second.status_code, second.json())
    finally:
        constraint_app.dependency_overrides.clear()
        await outer.rollback()

async with engine.connect() as conn:
    left = await conn.scalar(select(func.count()).where(User.email == "temporary@example.com"))
print("rows left after the test's rollback:", left)

# %% [markdown] id=finally-many-requests-once
# Finally, many requests at once.
# The next cell sends 60 GET requests together with `asyncio.gather` and samples the pool while they run.
# The engine's pool (5 connections plus 10 overflow, SQLAlchemy's defaults) caps how many run against the database at the same moment; the others wait their turn for a connection.
# Afterwards every connection must be back in the pool: `checked_out` is 0 again.

# %% id=read-user
@constraint_app.get("/users/{user_id}", response_model=UserOut)
async def read_user(user_id: int, session: SessionDep) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise HTTPException(404, "user not found")
    return user


busiest = 0


async def watch_pool() -> None:
    global busiest
    while True:
        busiest = max(busiest, pool_snapshot(engine).checked_out)
        await asyncio.sleep(0.001)


print("before:", pool_snapshot(engine))
async with client_for(constraint_app) as client:
    watcher = asyncio.create_task(watch_pool())
    started = time.perf_counter()
    responses = await asyncio.gather(*(client.get(f"/users/{n}") for n in range(1, 61)))
    elapsed = time.perf_counter() - started
    watcher.cancel()
print(f"{len(responses)} requests in {elapsed:.2f} s, statuses {Counter(r.status_code for r in responses)}")
print("most connections checked out at once:", busiest)
print("after: ", pool_snapshot(engine))

# %% [markdown] id=part-f-turn-create-app
# ---
# ## Part F — Your turn: `create_app(engine)` (12 points)
#
# Write `create_app(engine)`: it returns a **new** FastAPI app serving the users API below on the given engine.
# The tests call it several times with different engines, so keep everything inside the function (no module-level app).
#
# **The engine** is created by the caller, and the caller disposes of it: whoever creates an engine disposes of it.
# Your lifespan may build what the app shares (the session factory) and should not dispose of the engine it was given.
# (A disposed engine would still work, by opening new connections, so the tests do not break if you do, but it is not yours to close.)
# Every request, `/health` included, is served by that engine and its pool: do not build another engine from `engine.url` (some tests hand you an engine that reaches its database only through its own pool, so a copy made from its URL reaches nothing).
# The app must start while the database is down, so that `/health` can report it: run no query in the lifespan.
# The tests run your lifespan with `app.router.lifespan_context(app)`, as in Part A.
#
# **Sessions**: one per request, closed at the end of the request, commit in the route: a `201` must not leave the app before its row is committed (the tests look for the row from another connection at the moment your app hands over the status line).
# After any request, failed ones included, every connection is back in the pool.
#
# **Endpoints and their exact JSON**:
#
# | request | success | errors |
# |---|---|---|
# | `POST /users` with body `{"email": str, "name": str}` | `201` `{"id": int, "email": str, "name": str}` | `409` `{"detail": "email already registered"}`; `422` when the body is invalid (FastAPI's own validation error) or the database refuses a value (too long, or a NUL character: PostgreSQL text cannot hold `\x00`) |
# | `GET /users/{user_id}` | `200` `{"id", "email", "name"}` | `404` `{"detail": "user not found"}` |
# | `GET /users/{user_id}/posts` | `200` `{"id", "email", "name", "posts": [{"id": int, "title": str}, …]}`, posts ordered by id, `[]` for a user without posts | `404` `{"detail": "user not found"}` |
# | `GET /users?after_id=&limit=` | `200` `{"items": [user, …], "next_after_id": int or null}` | `422` when `limit` is below 1 or above 100 |
# | `GET /health` | `200` `{"status": "ok"}` | `503` `{"status": "unavailable"}` |
#
# Details the tests check:
# - A client's mistake is never a `500`: that includes the same email posted by many clients at once (exactly one `201`, every other one `409`), and an id beyond PostgreSQL's `integer` range in a path (`404` or `422`).
# - Map by SQLSTATE as in Part D: `409` only for the unique violation (`23505`); any other refusal of class `23` or `22` (a check constraint, a value too long, …) is `422`. Any other database error is not the client's mistake: it must not become a `409` or a `422` (`status_for` gives `500`).
# - `GET /users/{user_id}/posts` sends at most **2** SQL statements per request, however many posts the user has.
# - `GET /users` is a **keyset** page ordered by id: `items` are the users with `id > after_id` (all users when `after_id` is absent), at most `limit` of them (default 20).
#   `next_after_id` is the last item's id when the page is full (`len(items) == limit`), otherwise `null`.
#   We chose `422` over silently clamping a `limit` above 100: a client asking for 500 rows learns at once that it will not get them.
#   Paging must not skip or repeat users while others are inserted or deleted between pages, the user whose id is `after_id` included, and must not assume that ids have no gaps.
# - `GET /health` runs a query, and answers `503` within about a second even when the database refuses connections or never answers.
# - No deprecation warnings (`on_event`, `.dict()`).
#
# You may use everything defined above: `get_session`/`SessionDep` (they read `request.app.state.session_factory`), `UserIn`, `UserOut`, `UserWithPosts`, `UserPage`, `status_for` and `database_answers`.
# Build the app with `FastAPI(lifespan=…)` and register routes with `@app.post(…)`/`@app.get(…)` inside the function.
# The next cell imports the two names you have not met yet: `Query` declares bounds on a query parameter (`Annotated[int, Query(ge=1, le=100)]`), and `JSONResponse` answers with any status code and body.

# %% id=part-f-turn-create-code
from fastapi import Query
from fastapi.responses import JSONResponse

# %% [markdown] id=write-create-app-next
# Write `create_app` in the next cell, then run the test cells below it.

# %% solution id=create_app
def create_app(engine) -> FastAPI:
    """Build the users API on `engine`; the caller created the engine and disposes of it."""
    ### BEGIN SOLUTION
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.session_factory = async_sessionmaker(engine, expire_on_commit=False)
        yield  # the engine is the caller's: it is not disposed of here

    app = FastAPI(lifespan=lifespan)

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, error: DBAPIError) -> JSONResponse:
        code = status_for(error)
        detail = {409: "conflict", 422: "value refused by the database", 503: "database unavailable"}
        return JSONResponse({"detail": detail.get(code, "internal error")}, status_code=code)

    @app.post("/users", status_code=201, response_model=UserOut)
    async def create_user(payload: UserIn, session: SessionDep) -> User:
        user = User(**payload.model_dump())
        session.add(user)
        try:
            await session.commit()
        except IntegrityError as error:
            if error.orig.sqlstate == "23505":
                raise HTTPException(409, "email already registered") from None
            raise
        return user

    @app.get("/users/{user_id}", response_model=UserOut)
    async def read_user(user_id: int, session: SessionDep) -> User:
        user = await session.get(User, user_id)
        if user is None:
            raise HTTPException(404, "user not found")
        return user

    @app.get("/users/{user_id}/posts", response_model=UserWithPosts)
    async def read_user_posts(user_id: int, session: SessionDep) -> UserWithPosts:
        query = select(User).where(User.id == user_id).options(selectinload(User.posts))
        user = await session.scalar(query)
        if user is None:
            raise HTTPException(404, "user not found")
        answer = UserWithPosts.model_validate(user)
        answer.posts.sort(key=lambda post: post.id)  # selectinload does not order the posts
        return answer

    @app.get("/users", response_model=UserPage)
    async def list_users(
        session: SessionDep,
        after_id: int | None = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> UserPage:
        query = select(User).order_by(User.id).limit(limit)
        if after_id is not None:
            query = query.where(User.id > after_id)
        users = (await session.scalars(query)).all()
        next_after_id = users[-1].id if len(users) == limit else None
        return UserPage(items=users, next_after_id=next_after_id)

    @app.get("/health")
    async def health() -> JSONResponse:
        if await database_answers(engine, timeout=1.0):
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "unavailable"}, status_code=503)

    return app
    ### END SOLUTION

# %% [markdown] id=tests-below-each-make
# The tests below each make a fresh database, an engine with a small pool and short `pool_timeout` (so a leaked connection fails fast instead of hanging), and an app from your `create_app`.

# %% tests id=test_create_app_users points=2
"""Check that POST /users and GET /users/{id} answer 201, 200, 404, 409 and 422 with the documented bodies."""
import httpx
from asyncdb_lab.checks import expect, expect_type
from sqlalchemy.ext.asyncio import create_async_engine


### BEGIN HIDDEN TESTS
import asyncio
import json
import socket

import asyncpg
from sqlalchemy.engine import make_url


def engine_reached_only_through_its_pool(url: str, **pool):
    """An engine whose connections come from its own creator: its URL names a closed port, so an
    engine built from `engine.url` reaches nothing. The app must serve every request with it."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return create_async_engine(f"postgresql+asyncpg://nobody:secret@127.0.0.1:{port}/nowhere",
                               async_creator=lambda: asyncpg.connect(dsn), **pool)


async def call_asgi(app, method: str, path: str, payload=None, *, on_start=None) -> dict:
    """Call the app over raw ASGI, as a server does; await `on_start()` when the status line arrives."""
    body = b"" if payload is None else json.dumps(payload).encode()
    finished = asyncio.Event()
    delivered = []
    answer = {"status": None, "body": b"", "at_start": None}

    async def receive():
        if not delivered:
            delivered.append(True)
            return {"type": "http.request", "body": body, "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            if on_start is not None:
                answer["at_start"] = await on_start()
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"test"), (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 50000), "server": ("test", 80), "state": {},
    }
    try:
        await app(scope, receive, send)
    finally:
        finished.set()
    return answer
### END HIDDEN TESTS

async with disposable_database(seed=True, label="check_app_users", say=False) as other:
    check_engine = create_async_engine(other.url, pool_size=3, max_overflow=2, pool_timeout=3)
    try:
        app = create_app(check_engine)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                created = await client.post("/users", json={"email": "ada@example.test", "name": "Ada"})
                expect(created.status_code, 201, "status of POST /users with a new email")
                body = created.json()
                expect_type(body.get("id"), int, "the id in the 201 body")
                expect(body, {"id": body["id"], "email": "ada@example.test", "name": "Ada"},
                       "body of the 201", "Return exactly id, email and name (response_model=UserOut).")
                fetched = await client.get(f"/users/{body['id']}")
                expect((fetched.status_code, fetched.json()), (200, body), "GET /users/{id} of the new user")
                missing = await client.get("/users/999999")
                expect((missing.status_code, missing.json()), (404, {"detail": "user not found"}),
                       "GET /users/999999", "Raise HTTPException(404, 'user not found').")
                again = await client.post("/users", json={"email": "ada@example.test", "name": "Ada again"})
                expect((again.status_code, again.json()), (409, {"detail": "email already registered"}),
                       "POST /users with a taken email",
                       "Catch the IntegrityError of the commit and look at its SQLSTATE (23505).")
                invalid = await client.post("/users", json={"email": "no.name@example.test"})
                expect(invalid.status_code, 422, "status of POST /users without a name")
    finally:
        await check_engine.dispose()
### BEGIN HIDDEN TESTS
import warnings

from sqlalchemy import text
from sqlalchemy.pool import NullPool

async with disposable_database(seed=True, label="check_app_users_hidden", say=False) as other:
    check_engine = engine_reached_only_through_its_pool(other.url, pool_size=3, max_overflow=2, pool_timeout=3)
    observer = create_async_engine(other.url, poolclass=NullPool)  # another connection, outside the app
    try:
        async with check_engine.begin() as conn:  # a rule of the database, and an unrelated failure
            await conn.execute(text(
                "CREATE FUNCTION refuse_some_names() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF NEW.name = 'Breaks A Rule' THEN RAISE EXCEPTION 'this name breaks a rule' "
                "USING ERRCODE = 'check_violation'; END IF; "
                "IF NEW.name = 'Server Fault' THEN RAISE EXCEPTION 'something unrelated failed'; END IF; "
                "RETURN NEW; END $$"))
            await conn.execute(text(
                "CREATE TRIGGER refuse_some_names BEFORE INSERT ON users "
                "FOR EACH ROW EXECUTE FUNCTION refuse_some_names()"))

        async def rows_saved_for_early() -> int:
            async with observer.connect() as conn:
                return await conn.scalar(text("SELECT count(*) FROM users WHERE email = 'early@example.test'"))

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            app = create_app(check_engine)
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
                async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                    with count_statements(check_engine) as sql:
                        created = await client.post("/users", json={"email": "grace@example.test", "name": "Grace"})
                    assert sql.count >= 1, (
                        f"POST /users answered {created.status_code} without a single statement on the engine given "
                        "to create_app: serve every request with that engine (a session factory on it), not with "
                        "an engine of your own built from its URL.")
                    expect(created.status_code, 201, "status of POST /users with a new email")
                    body = created.json()
                    async with check_engine.connect() as conn:
                        row = (await conn.execute(text(
                            "SELECT id, email, name FROM users WHERE email = 'grace@example.test'"
                        ))).one_or_none()
                    assert row is not None, (
                        "POST /users answered 201 but no row was saved: commit in the route, "
                        "before the response is built."
                    )
                    expect(body, {"id": row.id, "email": row.email, "name": row.name},
                           "the 201 body against the saved row")
                    try:
                        early = await asyncio.wait_for(call_asgi(
                            app, "POST", "/users", {"email": "early@example.test", "name": "Early"},
                            on_start=rows_saved_for_early), timeout=10)
                    except TimeoutError:
                        raise AssertionError("POST /users over raw ASGI did not answer within 10 s") from None
                    expect(early["status"], 201, "status of POST /users called over raw ASGI")
                    assert early["at_start"] == 1, (
                        "POST /users handed its 201 to the server while the new row was not committed yet: "
                        f"another connection found {early['at_start']} row(s) at that moment. Code after `yield` "
                        "in a dependency runs after the response has been sent (FastAPI 0.118 and later), "
                        "and so does a background task: commit in the route, before it returns."
                    )
                    for name, allowed, why in [
                        ("Breaks A Rule", {422},
                         "a trigger refuses this name with SQLSTATE 23514 (check_violation): a row the database "
                         "refuses by a rule is 422; 409 is only for the unique violation 23505."),
                        ("Server Fault", set(range(500, 600)),
                         "a trigger fails with SQLSTATE P0001, an error that is not the client's: it must not "
                         "become 409 or 422. Map only 23505 to 409 and the classes 22 and 23 to 422 (status_for)."),
                    ]:
                        response = await client.post("/users", json={"email": "rule@example.test", "name": name})
                        assert response.status_code in allowed, (
                            f"POST /users with the name {name!r}: expected {min(allowed)}, got "
                            f"{response.status_code}; {why}")
                    seeded = await client.get("/users/7")
                    async with check_engine.connect() as conn:
                        seven = (await conn.execute(text("SELECT id, email, name FROM users WHERE id = 7"))).one()
                    expect((seeded.status_code, seeded.json()),
                           (200, {"id": 7, "email": seven.email, "name": seven.name}), "GET /users/7")
                    refused = {
                        "a name with a NUL character": {"email": "nul@example.test", "name": "A\x00B"},
                        "an email with a NUL character": {"email": "n\x00l@example.test", "name": "Nul"},
                        "an email of 300 characters": {"email": "x" * 287 + "@example.test", "name": "Long"},
                        "a name of 101 characters": {"email": "long.name@example.test", "name": "n" * 101},
                        "a name that is a number": {"email": "number@example.test", "name": 42},
                    }
                    for what, payload in refused.items():
                        response = await client.post("/users", json=payload)
                        assert response.status_code == 422, (
                            f"POST /users with {what}: expected 422, got {response.status_code}. "
                            "Values the database refuses (SQLSTATE class 22) are the client's mistake: "
                            "map them to 422, not 500."
                        )
                        assert "detail" in response.json(), f"the 422 body for {what} has no 'detail'"
                    response = await client.post("/users", content=b"not json",
                                                 headers={"content-type": "application/json"})
                    expect(response.status_code, 422, "status of POST /users with a body that is not JSON")
                    after = await client.post("/users", json={"email": "after@example.test", "name": "After"})
                    expect(after.status_code, 201, "a valid POST after refused ones",
                           "A failed request must not leave anything behind for the next one.")
                    for path in ("/users/99999999999", "/users/-1", "/users/0"):
                        response = await client.get(path)
                        assert response.status_code in (404, 422), (
                            f"GET {path}: expected 404 or 422, got {response.status_code}. An id beyond "
                            "PostgreSQL's integer range makes asyncpg raise a data error (SQLSTATE 22…)."
                        )
                    async with check_engine.connect() as conn:
                        count = await conn.scalar(text("SELECT count(*) FROM users"))
                    expect(count, 1003, "users in the database after 3 accepted and several refused POSTs",
                           "A refused POST must not save a row.")
        deprecated = sorted({" ".join(str(w.message).split())[:90] for w in caught
                             if issubclass(w.category, DeprecationWarning)
                             and "site-packages" not in str(w.filename)})  # raised by your code
        assert not deprecated, (
            f"create_app or its routes raised deprecation warnings: {deprecated}. "
            "Use a lifespan instead of on_event, and model_dump() instead of .dict()."
        )
    finally:
        await observer.dispose()
        await check_engine.dispose()
### END HIDDEN TESTS

# %% tests id=test_create_app_concurrent_posts points=2
"""Check that concurrent POSTs of one email give exactly one 201 and a 409 for every other one, never a 500."""
import asyncio
from collections import Counter

import httpx
from asyncdb_lab.checks import expect
from sqlalchemy.ext.asyncio import create_async_engine


async with disposable_database(seed=True, label="check_app_race", say=False) as other:
    check_engine = create_async_engine(other.url, pool_size=5, max_overflow=5, pool_timeout=5)
    try:
        app = create_app(check_engine)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                bodies = [{"email": f"friend{n}@example.test", "name": f"Friend {n}"} for n in range(5)]
                responses = await asyncio.gather(*(client.post("/users", json=b) for b in bodies))
                expect([r.status_code for r in responses], [201] * 5, "statuses of 5 concurrent POSTs of different emails")
                ids = [r.json()["id"] for r in responses]
                expect(len(set(ids)), 5, "distinct ids for 5 new users")
    finally:
        await check_engine.dispose()
### BEGIN HIDDEN TESTS
from sqlalchemy import text

from asyncdb_lab.instruments.races import GATE_CONNECT_ARGS, InsertGate

async with disposable_database(seed=True, label="check_app_race_hidden", say=False) as other:
    check_engine = create_async_engine(other.url, pool_size=20, max_overflow=0, pool_timeout=5,
                                       connect_args=GATE_CONNECT_ARGS)
    try:
        # open all 20 connections first, so that the requests below start at the same moment
        warm = [await check_engine.connect() for _ in range(20)]
        for conn in warm:
            await conn.close()
        app = create_app(check_engine)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                emails = [f"race{n}@example.test" for n in range(3)]
                attempts = [(email, client.post("/users", json={"email": email, "name": f"Racer {i}"}))
                            for i in range(20) for email in emails]
                # The gate makes the race certain instead of likely: reads go through, and every
                # INSERT waits until all 20 pooled requests have looked and are waiting to insert.
                async with InsertGate(other.url, "users") as gate:
                    everything = asyncio.ensure_future(
                        asyncio.wait_for(asyncio.gather(*(request for _, request in attempts)), timeout=30))
                    await gate.open_when_waiting(20)
                try:
                    responses = await everything
                except TimeoutError:
                    raise AssertionError(
                        "60 concurrent POSTs did not finish within 30 s: are connections given back "
                        "to the pool at the end of each request?") from None
                for email in emails:
                    statuses = Counter(r.status_code for (e, _), r in zip(attempts, responses) if e == email)
                    expect(dict(statuses), {201: 1, 409: 19},
                           f"statuses of 20 concurrent POSTs of {email}",
                           "Checking for the email first and inserting afterwards races: two requests both "
                           "find nothing. Insert, and turn the unique violation (SQLSTATE 23505) into 409.")
            busy = pool_snapshot(check_engine).checked_out
            expect(busy, 0, "connections still checked out after the concurrent POSTs",
                   "Give every request its own session in `async with`, so it is closed at the end.")
        async with check_engine.connect() as conn:
            rows = (await conn.execute(text(
                "SELECT email, count(*) FROM users WHERE email LIKE 'race%@example.test' GROUP BY email ORDER BY email"
            ))).all()
        expect([tuple(r) for r in rows], [(e, 1) for e in emails], "rows saved per raced email")
    finally:
        await check_engine.dispose()
### END HIDDEN TESTS

# %% tests id=test_create_app_posts points=2
"""Check that GET /users/{id}/posts returns the user with their posts, ordered by id, in at most 2 statements."""
import httpx
from asyncdb_lab.checks import expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine


async with disposable_database(seed=True, label="check_app_posts", say=False) as other:
    check_engine = create_async_engine(other.url, pool_size=3, max_overflow=2, pool_timeout=3)
    try:
        async with check_engine.connect() as conn:
            user = (await conn.execute(text("SELECT id, email, name FROM users WHERE id = 1"))).one()
            posts = (await conn.execute(text("SELECT id, title FROM posts WHERE author_id = 1 ORDER BY id"))).all()
        app = create_app(check_engine)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                response = await client.get("/users/1/posts")
                expected = {"id": 1, "email": user.email, "name": user.name,
                            "posts": [{"id": p.id, "title": p.title} for p in posts]}
                expect((response.status_code, response.json()), (200, expected), "GET /users/1/posts")
                missing = await client.get("/users/999999/posts")
                expect((missing.status_code, missing.json()), (404, {"detail": "user not found"}),
                       "GET /users/999999/posts")
    finally:
        await check_engine.dispose()
### BEGIN HIDDEN TESTS
async with disposable_database(seed=True, label="check_app_posts_hidden", say=False) as other:
    check_engine = engine_reached_only_through_its_pool(other.url, pool_size=3, max_overflow=2, pool_timeout=3)
    try:
        async with check_engine.begin() as conn:
            busiest = (await conn.execute(text(
                "SELECT author_id FROM posts GROUP BY author_id ORDER BY count(*) DESC, author_id LIMIT 1"
            ))).scalar_one()
            # rewrite the busiest author's first post: its new row version lands elsewhere on disk
            await conn.execute(text(
                "UPDATE posts SET content = content || ' (edited)' "
                "WHERE id = (SELECT min(id) FROM posts WHERE author_id = :a)"), {"a": busiest})
            await conn.execute(text(
                "INSERT INTO posts (author_id, title, content) "
                "SELECT :a, 'Extra post ' || n, 'text' FROM generate_series(1, 30) AS n"), {"a": busiest})
            user = (await conn.execute(text("SELECT id, email, name FROM users WHERE id = :a"), {"a": busiest})).one()
            posts = (await conn.execute(text(
                "SELECT id, title FROM posts WHERE author_id = :a ORDER BY id"), {"a": busiest})).all()
            lonely = (await conn.execute(text(
                "SELECT id, email, name FROM users u WHERE NOT EXISTS "
                "(SELECT 1 FROM posts p WHERE p.author_id = u.id) ORDER BY id LIMIT 1"))).one()
        app = create_app(check_engine)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                await client.get("/users/1/posts")  # warm up: first connection, first queries
                with count_statements(check_engine) as sql:
                    response = await client.get(f"/users/{busiest}/posts")
                expect(response.status_code, 200, f"status of GET /users/{busiest}/posts")
                assert sql.count >= 1, (
                    f"GET /users/{busiest}/posts answered without a single statement on the engine given to "
                    "create_app: serve every request with that engine (a session factory on it), not with an "
                    "engine of your own built from its URL.")
                assert sql.count <= 2, (
                    f"GET /users/{busiest}/posts ({len(posts)} posts) sent {sql.count} statements; at most 2 "
                    "are allowed. The posts were loaded one query at a time: load them with the user "
                    "(selectinload) or in one query for all of them.\n" + sql.report(limit=4)
                )
                body = response.json()
                got_ids = [p.get("id") for p in body.get("posts", [])]
                expect(sorted(got_ids), [p.id for p in posts], f"the post ids of user {busiest}")
                expect(got_ids, [p.id for p in posts], f"the order of user {busiest}'s posts",
                       "The posts must be ordered by id; without ORDER BY (selectinload has none) the "
                       "order is whatever the query plan gives. Sort them, or use order_by.")
                expect(body, {"id": user.id, "email": user.email, "name": user.name,
                              "posts": [{"id": p.id, "title": p.title} for p in posts]},
                       f"the body of GET /users/{busiest}/posts")
                response = await client.get(f"/users/{lonely.id}/posts")
                expect((response.status_code, response.json()),
                       (200, {"id": lonely.id, "email": lonely.email, "name": lonely.name, "posts": []}),
                       f"GET /users/{lonely.id}/posts for a user without posts")
                with count_statements(check_engine) as sql:
                    response = await client.get("/users/999999/posts")
                expect(response.status_code, 404, "status of GET /users/999999/posts")
                assert sql.count <= 2, f"a 404 took {sql.count} statements"
            expect(pool_snapshot(check_engine).checked_out, 0, "connections checked out after the requests")
    finally:
        await check_engine.dispose()
### END HIDDEN TESTS

# %% tests id=test_create_app_paging points=2
"""Check that GET /users pages by keyset: ordered by id, after_id and limit honoured, limit above 100 refused."""
import httpx
from asyncdb_lab.checks import expect
from sqlalchemy.ext.asyncio import create_async_engine


async with disposable_database(seed=True, label="check_app_paging", say=False) as other:
    check_engine = create_async_engine(other.url, pool_size=3, max_overflow=2, pool_timeout=3)
    try:
        app = create_app(check_engine)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                first = await client.get("/users", params={"limit": 5})
                expect(first.status_code, 200, "status of GET /users?limit=5")
                page = first.json()
                expect(sorted(page), ["items", "next_after_id"], "the keys of a page")
                expect([u["id"] for u in page["items"]], [1, 2, 3, 4, 5], "ids on the first page of 5")
                expect(page["next_after_id"], 5, "next_after_id of a full page")
                second = (await client.get("/users", params={"after_id": 5, "limit": 3})).json()
                expect([u["id"] for u in second["items"]], [6, 7, 8], "ids after 5, limit 3")
                expect(sorted(second["items"][0]), ["email", "id", "name"], "the keys of a user in a page")
                last = (await client.get("/users", params={"after_id": 998, "limit": 5})).json()
                expect(([u["id"] for u in last["items"]], last["next_after_id"]), ([999, 1000], None),
                       "the last page (2 users, limit 5) and its next_after_id")
                too_many = await client.get("/users", params={"limit": 101})
                expect(too_many.status_code, 422, "status of GET /users?limit=101",
                       "Declare the bound: limit: Annotated[int, Query(ge=1, le=100)] = 20.")
    finally:
        await check_engine.dispose()
### BEGIN HIDDEN TESTS
from sqlalchemy import text

async with disposable_database(seed=True, label="check_app_paging_hidden", say=False) as other:
    check_engine = engine_reached_only_through_its_pool(other.url, pool_size=3, max_overflow=2, pool_timeout=3)
    try:
        async with check_engine.begin() as conn:
            # move some rows on disk (a table scan no longer returns them in id order) and punch gaps
            await conn.execute(text("UPDATE users SET name = name || '' WHERE id <= 60"))
            await conn.execute(text("DELETE FROM users WHERE id IN (3, 4) OR id BETWEEN 10 AND 19 OR id BETWEEN 70 AND 74"))
            present = [r[0] for r in (await conn.execute(text("SELECT id FROM users ORDER BY id"))).all()]
        app = create_app(check_engine)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                default = await client.get("/users")
                expect(default.status_code, 200, "status of GET /users without parameters")
                expect([u["id"] for u in default.json()["items"]], present[:20],
                       "ids of GET /users without parameters (default limit 20, ordered by id)",
                       "Order by id: without ORDER BY, PostgreSQL returns rows in whatever order its plan "
                       "reads them, and that changes as rows are updated. And select by id > after_id with a "
                       "LIMIT: ids have gaps, so a page's ids cannot be computed.")
                for bad in ({"limit": 0}, {"limit": 101}, {"limit": 1000}):
                    response = await client.get("/users", params=bad)
                    expect(response.status_code, 422, f"status of GET /users with {bad}")
                full = await client.get("/users", params={"limit": 100})
                expect([u["id"] for u in full.json()["items"]], present[:100], "ids of GET /users?limit=100")
                seen, after_id, pages = [], None, 0
                while True:
                    params = {"limit": 60} if after_id is None else {"limit": 60, "after_id": after_id}
                    response = await client.get("/users", params=params)
                    expect(response.status_code, 200, f"status of GET /users with {params}")
                    page = response.json()
                    ids = [u["id"] for u in page["items"]]
                    assert len(ids) <= 60, f"a page of limit 60 had {len(ids)} users"
                    assert all(i > (after_id or 0) for i in ids), (
                        f"GET /users with after_id={after_id} returned ids {ids[:5]}…: every id must be "
                        "greater than after_id (keyset: WHERE id > :after_id ORDER BY id).")
                    expected_next = ids[-1] if len(ids) == 60 else None
                    expect(page["next_after_id"], expected_next, f"next_after_id of the page after {after_id}")
                    seen += ids
                    pages += 1
                    if page["next_after_id"] is None or pages > 60:
                        break
                    after_id = page["next_after_id"]
                    async with check_engine.begin() as conn:  # the table changes between two pages
                        gone = [ids[0], after_id] if pages % 2 else [ids[0]]  # after_id: the row of the next request
                        await conn.execute(text("DELETE FROM users WHERE id = ANY(:ids)"), {"ids": gone})
                        await conn.execute(text(
                            "INSERT INTO users (id, email, name) VALUES (:i, :e, 'Backfilled') "
                            "ON CONFLICT (id) DO NOTHING"), {"i": 3 + pages, "e": f"backfill{pages}@example.test"})
                        await conn.execute(text(
                            "INSERT INTO users (email, name) VALUES (:e, 'Newcomer')"), {"e": f"new{pages}@example.test"})
                duplicates = sorted({i for i in seen if seen.count(i) > 1})
                assert not duplicates, (
                    f"paging with rows changing between pages returned ids twice: {duplicates[:8]}. "
                    "OFFSET counts rows, and rows before the page moved; page by id: WHERE id > :after_id.")
                skipped = sorted(set(present) - set(seen))
                assert not skipped, (
                    f"paging with rows changing between pages skipped ids {skipped[:8]}. OFFSET counts rows, "
                    "and rows before the page were deleted; page by id: WHERE id > :after_id ORDER BY id, "
                    "whether or not the row of after_id still exists, and never compute ids (they have gaps).")
                expect(seen, sorted(seen), "ids across all pages in ascending order")
                beyond = (await client.get("/users", params={"after_id": 10**6})).json()
                expect(beyond, {"items": [], "next_after_id": None}, "GET /users?after_id=1000000")
            expect(pool_snapshot(check_engine).checked_out, 0, "connections checked out after paging")
    finally:
        await check_engine.dispose()
### END HIDDEN TESTS

# %% tests id=test_create_app_health points=2
"""Check that GET /health runs a query and answers 200 when the database is up, 503 quickly when it is not."""
import httpx
from asyncdb_lab.checks import expect
from sqlalchemy.ext.asyncio import create_async_engine


async with disposable_database(seed=True, label="check_app_health", say=False) as other:
    check_engine = create_async_engine(other.url, pool_size=3, max_overflow=2, pool_timeout=3)
    try:
        app = create_app(check_engine)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                response = await client.get("/health")
                expect((response.status_code, response.json()), (200, {"status": "ok"}), "GET /health")
    finally:
        await check_engine.dispose()
### BEGIN HIDDEN TESTS
import asyncio
import socket
import time


async def health_of(target_engine, budget: float) -> tuple[int, dict, float]:
    app = create_app(target_engine)
    started = time.perf_counter()
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                response = await asyncio.wait_for(client.get("/health"), timeout=budget)
    except TimeoutError:
        raise AssertionError(
            f"GET /health gave no answer within {budget} s while the database did not answer. "
            "Put a time limit on the check: async with asyncio.timeout(1): …") from None
    try:
        body = response.json()
    except ValueError:
        body = response.text  # a 500 from an exception the route did not catch
    return response.status_code, body, time.perf_counter() - started


async with disposable_database(seed=True, label="check_app_health_hidden", say=False) as other:
    check_engine = engine_reached_only_through_its_pool(other.url, pool_size=3, max_overflow=2, pool_timeout=3)
    try:
        app = create_app(check_engine)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                with count_statements(check_engine) as sql:
                    response = await client.get("/health")
                expect(response.status_code, 200, "status of GET /health")
                assert sql.count >= 1, (
                    "GET /health answered without sending a single statement: it cannot know whether the "
                    "database answers. Run SELECT 1.")
            expect(pool_snapshot(check_engine).checked_out, 0, "connections checked out after GET /health")
    finally:
        await check_engine.dispose()

with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    closed_port = probe.getsockname()[1]
refused_engine = create_async_engine(f"postgresql+asyncpg://nobody:secret@127.0.0.1:{closed_port}/nowhere")
try:
    status_code, body, seconds = await health_of(refused_engine, budget=5)
finally:
    await refused_engine.dispose()
expect((status_code, body), (503, {"status": "unavailable"}), "GET /health when the connection is refused",
       "A refused connection raises ConnectionRefusedError, an OSError, not a SQLAlchemy error.")
assert seconds < 2, f"GET /health took {seconds:.1f} s to report a refused connection"

listener = socket.create_server(("127.0.0.1", 0))  # accepts TCP connections, never answers
silent_engine = create_async_engine(
    f"postgresql+asyncpg://nobody:secret@127.0.0.1:{listener.getsockname()[1]}/nowhere")
try:
    status_code, body, seconds = await health_of(silent_engine, budget=5)
finally:
    listener.close()
    await silent_engine.dispose()
expect((status_code, body), (503, {"status": "unavailable"}), "GET /health when the database never answers")
assert seconds < 3, (
    f"GET /health took {seconds:.1f} s to report a database that does not answer; answer within about 1 s.")
### END HIDDEN TESTS

# %% tests id=test_create_app_pool points=2
"""Check that every request, failed ones included, gives its connection back to the pool."""
import httpx
from asyncdb_lab.checks import expect
from sqlalchemy.ext.asyncio import create_async_engine


async with disposable_database(seed=True, label="check_app_pool", say=False) as other:
    check_engine = create_async_engine(other.url, pool_size=2, max_overflow=0, pool_timeout=2)
    try:
        app = create_app(check_engine)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                for user_id in (1, 2, 3, 999999):
                    await client.get(f"/users/{user_id}")
            expect(pool_snapshot(check_engine).checked_out, 0, "connections checked out after 4 GETs",
                   "Open the session with `async with` in the dependency, so it is closed after the request.")
    finally:
        await check_engine.dispose()
### BEGIN HIDDEN TESTS
import asyncio
from collections import Counter

async with disposable_database(seed=True, label="check_app_pool_hidden", say=False) as other:
    check_engine = engine_reached_only_through_its_pool(other.url, pool_size=2, max_overflow=0, pool_timeout=2)
    try:
        app = create_app(check_engine)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                steps = []
                for round_ in range(2):
                    email = f"pool{round_}@example.test"
                    steps += [
                        ("GET", "/users/1", None, 200),
                        ("GET", "/users/999999", None, 404),
                        ("POST", "/users", {"email": email, "name": "Pool"}, 201),
                        ("POST", "/users", {"email": email, "name": "Pool"}, 409),
                        ("POST", "/users", {"email": f"nul{round_}@example.test", "name": "A\x00B"}, 422),
                        ("POST", "/users", {"email": "x"}, 422),
                        ("GET", "/users/2/posts", None, 200),
                        ("GET", "/users/999999/posts", None, 404),
                        ("GET", "/users?limit=10", None, 200),
                        ("GET", "/users?limit=500", None, 422),
                        ("GET", "/health", None, 200),
                    ]
                for method, path, body, status in steps:
                    try:
                        response = await asyncio.wait_for(client.request(method, path, json=body), timeout=10)
                    except TimeoutError:
                        raise AssertionError(f"{method} {path} did not answer within 10 s") from None
                    busy = pool_snapshot(check_engine).checked_out
                    assert busy == 0, (
                        f"{method} {path} left {busy} connection(s) checked out after it answered. A session "
                        "that is never closed keeps its connection: with 2 in the pool, the third request "
                        "waits and fails. Use `async with session_factory() as session: yield session`."
                    )
                    expect(response.status_code, status, f"status of {method} {path} with body {body}")
                try:
                    responses = await asyncio.wait_for(
                        asyncio.gather(*(client.get(f"/users/{n}") for n in range(1, 41))), timeout=15)
                except TimeoutError:
                    raise AssertionError("40 concurrent GETs did not finish within 15 s") from None
                statuses = Counter(r.status_code for r in responses)
                expect(dict(statuses), {200: 40}, "statuses of 40 concurrent GET /users/{id}",
                       "Each request needs its own session; one session shared by concurrent requests fails.")
                expect([r.json()["id"] for r in responses], list(range(1, 41)), "ids of the 40 concurrent GETs")
            expect(pool_snapshot(check_engine).checked_out, 0, "connections checked out after the requests")
    finally:
        await check_engine.dispose()
### END HIDDEN TESTS

# %% [markdown] id=summary
# ---
# ## Summary
#
# - The lifespan is the app's start and stop in one function: create what the app shares before `yield`, release it after.
#   `@app.on_event` is deprecated. Whoever creates the engine disposes of it.
# - `ASGITransport` calls the app in-process and does not run the lifespan: enter `app.router.lifespan_context(app)` (or `asgi-lifespan`'s `LifespanManager`) in tests.
# - One `AsyncSession` per request, from a `yield` dependency with `async with`; `SessionDep` hands it to routes.
#   Commit in the route: since FastAPI 0.118, code after `yield` runs after the response has been sent (before it only with `Depends(…, scope="function")`, FastAPI 0.121+).
# - Response models decide the JSON: `from_attributes=True` for `model_validate(orm_object)`, `model_dump()` instead of `.dict()`, and relationships loaded before serialization (a lazy load there is `MissingGreenlet`).
# - Map database errors by SQLSTATE: `23505` → 409, other `23…` and `22…` → 422, unreachable → 503.
#   Let the unique constraint decide; check-then-insert races.
# - `/health` runs `SELECT 1` under a timeout and says 503 when that fails.
# - `dependency_overrides` swaps a dependency (a session in a rolled-back transaction, say); `asyncio.gather` over many requests shows the pool's limit at work, and `pool_snapshot` shows every connection back afterwards.
#
# ## Interview questions
#
# 1. Why does a FastAPI app use one `AsyncSession` per request, rather than one for the whole app or one per query?
# 2. How do you test a FastAPI app that talks to PostgreSQL without running a server? What does the usual setup miss, and how do you fix it?
# 3. Where should `commit()` go: in the session dependency after `yield`, or in the route? Why?
# 4. Two clients sign up with the same email at the same moment. What happens with check-then-insert, and what do you write instead?
# 5. What should a `/health` endpoint check, and why does it need a timeout?
# 6. Which HTTP status codes would you return for SQLSTATE `23505`, `23503`, `22001`, and for a refused connection? Why not match on the error message?
# 7. A route returns a user with `response_model=UserWithPosts` and the client gets a 500 mentioning `MissingGreenlet`. What happened?
#
# <details><summary>Answers</summary>
#
# 1. A session is not safe for concurrent use, and the server runs many requests concurrently, so one shared session fails (or mixes requests' work) under load. A session is also a unit of work that holds a pooled connection while its transaction is open; a request is the natural unit: it starts clean, sees its own changes, commits or rolls back as a whole, and gives its connection back when it ends. One session per query would split one request's work across transactions and lose the identity map.
# 2. Call it in-process: `httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")` in the same event loop as the engine. `ASGITransport` does not run the lifespan, so enter `app.router.lifespan_context(app)` (or use `asgi-lifespan`'s `LifespanManager`) around the client. Replace dependencies with `app.dependency_overrides` (for example a session inside a transaction the test rolls back), and check the database and `pool_snapshot` afterwards. The sync `TestClient` runs the app in another thread and event loop, where asyncpg connections created in the test's loop cannot be used.
# 3. In the route. FastAPI 0.118 and later runs a dependency's code after `yield` once the response has been sent (unless the dependency is declared with `scope="function"`, FastAPI 0.121+; versions 0.106 to 0.117 ran it before the response), so a failing commit there comes too late: the client was already told 201. Committing in the route also keeps read-only requests free of commits and lets each route decide its unit of work.
# 4. Both look the email up, both find nothing, both insert; the unique index makes the second wait and then fail with a unique violation that the code does not expect, so that client gets a 500 (or, without a constraint, two rows). Insert directly and catch the `IntegrityError` with SQLSTATE `23505` → 409 (or `INSERT … ON CONFLICT DO NOTHING` and check whether a row came back).
# 5. That the database answers a query (`SELECT 1`), through the app's own engine, and nothing that merely describes the process (pool counters). It needs a timeout because an unreachable host may never refuse the connection: without one the check hangs for the driver's connect timeout (60 s for asyncpg) and the load balancer's probe times out instead of getting a 503.
# 6. 409 for the unique violation; 422 for the foreign key violation and the value too long (the request cannot be stored as sent); 503 for a refused connection, which arrives as `ConnectionRefusedError`, an `OSError`, not a SQLAlchemy error. Messages change between PostgreSQL versions and server languages; the SQLSTATE and the constraint name are the stable interface.
# 7. The posts were never loaded. While serializing the response, pydantic read `user.posts`, which started a lazy load in synchronous code where SQLAlchemy's async engine cannot wait for IO, so it raised `MissingGreenlet`, wrapped in FastAPI's `ResponseValidationError`. Load the posts in the query (`selectinload(User.posts)`) or build the response from explicitly loaded data.
#
# </details>
#
# ## Further reading
#
# - FastAPI: [Lifespan events](https://fastapi.tiangolo.com/advanced/events/)
# - FastAPI: [Dependencies with yield](https://fastapi.tiangolo.com/tutorial/dependencies/dependencies-with-yield/)
# - FastAPI: [Async tests](https://fastapi.tiangolo.com/advanced/async-tests/) and [Testing dependencies with overrides](https://fastapi.tiangolo.com/advanced/testing-dependencies/)
# - HTTPX: [Transports: ASGI transport](https://www.python-httpx.org/advanced/transports/)
# - Pydantic: [Models: arbitrary class instances (`from_attributes`)](https://docs.pydantic.dev/latest/concepts/models/) and the [migration guide](https://docs.pydantic.dev/latest/migration/)
# - SQLAlchemy: [Asynchronous I/O (asyncio)](https://docs.sqlalchemy.org/en/20/orm/extensions/asyncio.html)
# - PostgreSQL: [Appendix A. Error codes](https://www.postgresql.org/docs/current/errcodes-appendix.html)

# %% [markdown] id=check-your-notebook
# ---
# **Check your notebook.** Save (Ctrl+S), then run this cell: it checks the saved file as `asyncdb-lab check` does, on a fresh database, and shows each exercise's points, a failing test's message with its first hint, and what to do next.

# %% id=check-this-notebook
from asyncdb_lab.learner.in_lab import check_this_notebook

check_this_notebook()
