"""Plausible wrong answers for 11_fastapi_integration: create_app(engine).

create_app is one big exercise, so each wrong answer is the correct app with one part written the
way a thoughtful learner (or the tutorial the course corrects) might write it. `_app(...)` puts the
parts together into the complete source of the solution cell.
"""

HEADER = '''def create_app(engine) -> FastAPI:
    """Build the users API on `engine`; the caller created the engine and disposes of it."""
'''

LIFESPAN = """
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.session_factory = async_sessionmaker(engine, expire_on_commit=False)
        yield

    app = FastAPI(lifespan=lifespan)
"""

ERROR_HANDLER = """
    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, error: DBAPIError) -> JSONResponse:
        return JSONResponse({"detail": "refused by the database"}, status_code=status_for(error))
"""

CREATE = """
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
"""

READ = """
    @app.get("/users/{user_id}", response_model=UserOut)
    async def read_user(user_id: int, session: SessionDep) -> User:
        user = await session.get(User, user_id)
        if user is None:
            raise HTTPException(404, "user not found")
        return user
"""

POSTS = """
    @app.get("/users/{user_id}/posts", response_model=UserWithPosts)
    async def read_user_posts(user_id: int, session: SessionDep) -> UserWithPosts:
        user = await session.get(User, user_id)
        if user is None:
            raise HTTPException(404, "user not found")
        posts = await session.scalars(select(Post).where(Post.author_id == user_id).order_by(Post.id))
        return UserWithPosts(id=user.id, email=user.email, name=user.name, posts=posts.all())
"""

PAGE = """
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
        return UserPage(items=users, next_after_id=users[-1].id if len(users) == limit else None)
"""

HEALTH = """
    @app.get("/health")
    async def health() -> JSONResponse:
        if await database_answers(engine, timeout=1.0):
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "unavailable"}, status_code=503)
"""

FOOTER = """
    return app
"""


def _app(**parts: str) -> str:
    """The solution cell's source with some parts replaced (a part set to "" is left out)."""
    chosen = {
        "lifespan": LIFESPAN,
        "handler": ERROR_HANDLER,
        "create": CREATE,
        "read": READ,
        "posts": POSTS,
        "page": PAGE,
        "health": HEALTH,
        **parts,
    }
    return HEADER + "".join(chosen.values()) + FOOTER


CHECK_THEN_INSERT = """
    @app.post("/users", status_code=201, response_model=UserOut)
    async def create_user(payload: UserIn, session: SessionDep) -> User:
        existing = await session.scalar(select(User).where(User.email == payload.email))
        if existing is not None:
            raise HTTPException(409, "email already registered")
        user = User(**payload.model_dump())
        session.add(user)
        await session.commit()
        return user
"""

CHECK_THEN_INSERT_RETURNS_WINNER = """
    @app.post("/users", status_code=201, response_model=UserOut)
    async def create_user(payload: UserIn, session: SessionDep) -> User:
        existing = await session.scalar(select(User).where(User.email == payload.email))
        if existing is not None:
            raise HTTPException(409, "email already registered")
        user = User(**payload.model_dump())
        session.add(user)
        try:
            await session.commit()
        except IntegrityError:
            # someone else created it a moment ago: hand back their row
            await session.rollback()
            user = await session.scalar(select(User).where(User.email == payload.email))
        return user
"""

UPSERT = """
    @app.post("/users", status_code=201, response_model=UserOut)
    async def create_user(payload: UserIn, session: SessionDep) -> User:
        from sqlalchemy.dialects.postgresql import insert

        statement = insert(User).values(**payload.model_dump())
        statement = statement.on_conflict_do_update(
            index_elements=[User.email], set_={"name": statement.excluded.name}
        ).returning(User)
        user = await session.scalar(statement)
        await session.commit()
        return user
"""

ONLY_INTEGRITY_ERRORS = """
    @app.post("/users", status_code=201, response_model=UserOut)
    async def create_user(payload: UserIn, session: SessionDep) -> User:
        user = User(**payload.model_dump())
        session.add(user)
        try:
            await session.commit()
        except IntegrityError as error:
            status = 409 if error.orig.sqlstate == "23505" else 422
            detail = "email already registered" if status == 409 else "invalid user"
            raise HTTPException(status, detail) from None
        return user
"""

POSTS_ONE_BY_ONE = """
    @app.get("/users/{user_id}/posts", response_model=UserWithPosts)
    async def read_user_posts(user_id: int, session: SessionDep) -> UserWithPosts:
        user = await session.get(User, user_id)
        if user is None:
            raise HTTPException(404, "user not found")
        post_ids = await session.scalars(
            select(Post.id).where(Post.author_id == user_id).order_by(Post.id)
        )
        posts = [await session.get(Post, post_id) for post_id in post_ids.all()]
        return UserWithPosts(id=user.id, email=user.email, name=user.name, posts=posts)
"""

POSTS_UNORDERED = """
    @app.get("/users/{user_id}/posts", response_model=UserWithPosts)
    async def read_user_posts(user_id: int, session: SessionDep) -> User:
        query = select(User).where(User.id == user_id).options(selectinload(User.posts))
        user = await session.scalar(query)
        if user is None:
            raise HTTPException(404, "user not found")
        return user
"""

OFFSET_PAGE = """
    @app.get("/users", response_model=UserPage)
    async def list_users(
        session: SessionDep,
        after_id: int | None = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> UserPage:
        # after_id: how many users the client has already seen
        query = select(User).order_by(User.id).offset(after_id or 0).limit(limit)
        users = (await session.scalars(query)).all()
        return UserPage(items=users, next_after_id=users[-1].id if len(users) == limit else None)
"""

PAGE_WITHOUT_ORDER = """
    @app.get("/users", response_model=UserPage)
    async def list_users(
        session: SessionDep,
        after_id: int | None = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> UserPage:
        query = select(User).limit(limit)  # ids are increasing anyway
        if after_id is not None:
            query = query.where(User.id > after_id)
        users = (await session.scalars(query)).all()
        return UserPage(items=users, next_after_id=users[-1].id if len(users) == limit else None)
"""

PAGE_CLAMPED = """
    @app.get("/users", response_model=UserPage)
    async def list_users(
        session: SessionDep, after_id: int | None = None, limit: int = 20
    ) -> UserPage:
        limit = max(1, min(limit, 100))
        query = select(User).order_by(User.id).limit(limit)
        if after_id is not None:
            query = query.where(User.id > after_id)
        users = (await session.scalars(query)).all()
        return UserPage(items=users, next_after_id=users[-1].id if len(users) == limit else None)
"""

HEALTH_WITHOUT_QUERY = """
    @app.get("/health")
    async def health() -> dict:
        # the app is up and its engine exists: report healthy (a liveness check)
        return {"status": "ok"}
"""

HEALTH_OPERATIONAL_ERROR_ONLY = """
    @app.get("/health")
    async def health() -> JSONResponse:
        from sqlalchemy.exc import OperationalError

        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except OperationalError:
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})
"""

HEALTH_WITHOUT_TIMEOUT = """
    @app.get("/health")
    async def health() -> JSONResponse:
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})
"""

# The dependency is the learner's own, defined inside create_app, and never closes its session.
LEAKY_SESSION = """
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.session_factory = async_sessionmaker(engine, expire_on_commit=False)
        yield

    app = FastAPI(lifespan=lifespan)

    async def get_session(request: Request):
        session = request.app.state.session_factory()
        yield session

    SessionDep = Annotated[AsyncSession, Depends(get_session)]
"""

# One session made at startup and shared by every request.
SHARED_SESSION = """
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.session = AsyncSession(engine, expire_on_commit=False)
        yield
        await app.state.session.close()

    app = FastAPI(lifespan=lifespan)

    async def get_session(request: Request):
        yield request.app.state.session

    SessionDep = Annotated[AsyncSession, Depends(get_session)]
"""

ON_EVENT = """
    app = FastAPI()

    @app.on_event("startup")
    async def startup() -> None:
        app.state.session_factory = async_sessionmaker(engine, expire_on_commit=False)
"""

DICT_INSTEAD_OF_MODEL_DUMP = CREATE.replace("payload.model_dump()", "payload.dict()")

# The dependency commits after `yield`, "so routes don't have to"; the route flushes to get the id.
COMMIT_AFTER_YIELD = """
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.session_factory = async_sessionmaker(engine, expire_on_commit=False)
        yield

    app = FastAPI(lifespan=lifespan)

    async def get_session(request: Request):
        async with request.app.state.session_factory() as session:
            yield session
            await session.commit()  # one commit per request, for every route

    SessionDep = Annotated[AsyncSession, Depends(get_session)]
"""

CREATE_FLUSH_ONLY = """
    @app.post("/users", status_code=201, response_model=UserOut)
    async def create_user(payload: UserIn, session: SessionDep) -> User:
        user = User(**payload.model_dump())
        session.add(user)
        try:
            await session.flush()  # the id is known now; the dependency commits
        except IntegrityError as error:
            if error.orig.sqlstate == "23505":
                raise HTTPException(409, "email already registered") from None
            raise
        return user
"""

# The lifespan builds the app's engine from the URL, as production_lifespan in Part A does.
OWN_ENGINE = """
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app_engine = create_async_engine(engine.url, pool_size=5, max_overflow=5)
        app.state.session_factory = async_sessionmaker(app_engine, expire_on_commit=False)
        yield
        await app_engine.dispose()

    app = FastAPI(lifespan=lifespan)
"""

HEALTH_OWN_ENGINE = """
    @app.get("/health")
    async def health() -> JSONResponse:
        from sqlalchemy.pool import NullPool

        probe = create_async_engine(engine.url, poolclass=NullPool)  # never waits for a busy pool
        try:
            answers = await database_answers(probe, timeout=1.0)
        finally:
            await probe.dispose()
        if answers:
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "unavailable"}, status_code=503)
"""

ID_ARITHMETIC_PAGE = """
    @app.get("/users", response_model=UserPage)
    async def list_users(
        session: SessionDep,
        after_id: int | None = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> UserPage:
        start = after_id or 0
        query = select(User).where(User.id > start, User.id <= start + limit).order_by(User.id)
        users = (await session.scalars(query)).all()
        return UserPage(items=users, next_after_id=users[-1].id if len(users) == limit else None)
"""

INCLUSIVE_PAGE = """
    @app.get("/users", response_model=UserPage)
    async def list_users(
        session: SessionDep,
        after_id: int | None = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> UserPage:
        if after_id is None:
            users = (await session.scalars(select(User).order_by(User.id).limit(limit))).all()
        else:
            # the row of after_id comes first: skip it
            query = select(User).where(User.id >= after_id).order_by(User.id).limit(limit + 1)
            users = (await session.scalars(query)).all()[1:]
        return UserPage(items=users, next_after_id=users[-1].id if len(users) == limit else None)
"""

EVERY_INTEGRITY_ERROR_IS_409 = """
    @app.post("/users", status_code=201, response_model=UserOut)
    async def create_user(payload: UserIn, session: SessionDep) -> User:
        user = User(**payload.model_dump())
        session.add(user)
        try:
            await session.commit()
        except IntegrityError:
            raise HTTPException(409, "email already registered") from None
        return user
"""

EVERY_DATABASE_ERROR_IS_422 = """
    @app.post("/users", status_code=201, response_model=UserOut)
    async def create_user(payload: UserIn, session: SessionDep) -> User:
        user = User(**payload.model_dump())
        session.add(user)
        try:
            await session.commit()
        except DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) == "23505":
                raise HTTPException(409, "email already registered") from None
            raise HTTPException(422, "the database refused the user") from None
        return user
"""

WRONG_ANSWERS = {
    "create_app": [
        (
            "check-then-insert POST without handling the unique violation (the tutorial's)",
            _app(create=CHECK_THEN_INSERT, handler=""),
        ),
        (
            "check-then-insert POST that hands back the winner's row with 201 after losing the race",
            _app(create=CHECK_THEN_INSERT_RETURNS_WINNER),
        ),
        (
            "POST as an upsert: a taken email updates the name and answers 201",
            _app(create=UPSERT),
        ),
        (
            "maps IntegrityError by SQLSTATE but lets data errors (NUL, too long) become 500",
            _app(create=ONLY_INTEGRITY_ERRORS, handler=""),
        ),
        (
            "GET posts loads each post with its own query (N+1)",
            _app(posts=POSTS_ONE_BY_ONE),
        ),
        (
            "GET posts with selectinload, posts in whatever order the plan gives",
            _app(posts=POSTS_UNORDERED),
        ),
        (
            "GET /users pages with OFFSET, reading after_id as a row count",
            _app(page=OFFSET_PAGE),
        ),
        (
            "GET /users keyset without ORDER BY",
            _app(page=PAGE_WITHOUT_ORDER),
        ),
        (
            "GET /users clamps a limit above 100 instead of answering 422",
            _app(page=PAGE_CLAMPED),
        ),
        (
            "/health answers ok without asking the database (a liveness check, like the tutorial's)",
            _app(health=HEALTH_WITHOUT_QUERY),
        ),
        (
            "/health catches OperationalError only (the tutorial's; a refused connection is an OSError)",
            _app(health=HEALTH_OPERATIONAL_ERROR_ONLY),
        ),
        (
            "/health without a time limit: hangs while the database host stays silent",
            _app(health=HEALTH_WITHOUT_TIMEOUT),
        ),
        (
            "a session dependency that never closes its session",
            _app(lifespan=LEAKY_SESSION),
        ),
        (
            "one session for the whole app, shared by every request",
            _app(lifespan=SHARED_SESSION),
        ),
        (
            "@app.on_event('startup') instead of a lifespan",
            _app(lifespan=ON_EVENT),
        ),
        (
            "payload.dict() instead of model_dump()",
            _app(create=DICT_INSTEAD_OF_MODEL_DUMP),
        ),
        (
            "the session dependency commits after yield: the 201 leaves before the row is committed",
            _app(lifespan=COMMIT_AFTER_YIELD, create=CREATE_FLUSH_ONLY),
        ),
        (
            "builds its own engine from engine.url in the lifespan, and loads posts one by one (N+1)",
            _app(lifespan=OWN_ENGINE, posts=POSTS_ONE_BY_ONE),
        ),
        (
            "/health probes the database with a NullPool engine of its own, built from engine.url",
            _app(health=HEALTH_OWN_ENGINE),
        ),
        (
            "GET /users computes the page's ids: after_id + 1 to after_id + limit (ids have gaps)",
            _app(page=ID_ARITHMETIC_PAGE),
        ),
        (
            "GET /users reads id >= after_id and drops the first row (loses a row when after_id's row is gone)",
            _app(page=INCLUSIVE_PAGE),
        ),
        (
            "maps every IntegrityError to 409 (a check violation is not a taken email)",
            _app(create=EVERY_INTEGRITY_ERROR_IS_409),
        ),
        (
            "maps every database error but 23505 to 422 (a server fault reported as the client's)",
            _app(create=EVERY_DATABASE_ERROR_IS_422),
        ),
    ],
}

CORE_SQL_APP = '''def create_app(engine) -> FastAPI:
    """Build the users API on `engine`; the caller created the engine and disposes of it."""
    import logging

    from fastapi import Path
    from sqlalchemy import text

    log = logging.getLogger("users_api")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.session_factory = async_sessionmaker(engine, expire_on_commit=False)
        log.warning("users API: ready")
        yield

    app = FastAPI(lifespan=lifespan)
    UserId = Annotated[int, Path(ge=1, le=2_147_483_647)]

    def refused(error: DBAPIError) -> JSONResponse:
        code = status_for(error)
        log.warning("database error, SQLSTATE %s -> %s", getattr(error.orig, "sqlstate", None), code)
        return JSONResponse({"detail": "refused by the database"}, status_code=code)

    @app.post("/users", status_code=201)
    async def create_user(payload: UserIn, session: SessionDep):
        try:
            result = await session.execute(
                text(
                    "INSERT INTO users (email, name) VALUES (:email, :name) "
                    "ON CONFLICT (email) DO NOTHING RETURNING id, email, name"
                ),
                payload.model_dump(),
            )
            row = result.mappings().one_or_none()
            await session.commit()
        except DBAPIError as error:
            return refused(error)
        if row is None:
            return JSONResponse({"detail": "email already registered"}, status_code=409)
        return dict(row)

    @app.get("/users/{user_id}")
    async def read_user(user_id: UserId, session: SessionDep):
        row = (
            await session.execute(text("SELECT id, email, name FROM users WHERE id = :id"), {"id": user_id})
        ).mappings().one_or_none()
        if row is None:
            raise HTTPException(404, "user not found")
        return dict(row)

    @app.get("/users/{user_id}/posts")
    async def read_user_posts(user_id: UserId, session: SessionDep):
        rows = (
            await session.execute(
                text(
                    "SELECT u.id, u.email, u.name, p.id AS post_id, p.title FROM users AS u "
                    "LEFT JOIN posts AS p ON p.author_id = u.id WHERE u.id = :id ORDER BY p.id"
                ),
                {"id": user_id},
            )
        ).all()
        if not rows:
            raise HTTPException(404, "user not found")
        posts = [{"id": r.post_id, "title": r.title} for r in rows if r.post_id is not None]
        return {"id": rows[0].id, "email": rows[0].email, "name": rows[0].name, "posts": posts}

    @app.get("/users")
    async def list_users(
        session: SessionDep,
        after_id: int | None = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ):
        rows = (
            await session.execute(
                text(
                    "SELECT id, email, name FROM users "
                    "WHERE CAST(:after AS bigint) IS NULL OR id > :after ORDER BY id LIMIT :limit"
                ),
                {"after": after_id, "limit": limit},
            )
        ).mappings().all()
        items = [dict(r) for r in rows]
        return {"items": items, "next_after_id": items[-1]["id"] if len(items) == limit else None}

    @app.get("/health")
    async def health():
        try:
            async with asyncio.timeout(1.0):
                async with engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
        except Exception as error:
            log.warning("health check failed: %r", error)
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return {"status": "ok"}

    return app
'''

# Commits in a dependency declared with scope="function" (FastAPI 0.121+): its code after `yield`
# runs before the response is sent, so the 201 still follows the commit.
FUNCTION_SCOPE_DEPENDENCY_APP = '''def create_app(engine) -> FastAPI:
    """Build the users API on `engine`; the caller created the engine and disposes of it."""
    from sqlalchemy.orm import joinedload

    factory = async_sessionmaker(engine, expire_on_commit=False)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        print("create_app: serving on", engine.url.render_as_string())
        yield

    app = FastAPI(lifespan=lifespan)

    async def unit_of_work():
        async with factory() as session:
            yield session
            try:
                await session.commit()  # scope="function": before the response is sent
            except IntegrityError as error:
                if error.orig.sqlstate == "23505":
                    raise HTTPException(409, "email already registered") from None
                raise

    Work = Annotated[AsyncSession, Depends(unit_of_work, scope="function")]

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, error: DBAPIError) -> JSONResponse:
        return JSONResponse({"detail": "database error"}, status_code=status_for(error))

    @app.post("/users", status_code=201, response_model=UserOut)
    async def create_user(payload: UserIn, session: Work) -> User:
        user = User(email=payload.email, name=payload.name)
        session.add(user)
        try:
            await session.flush()
        except IntegrityError as error:
            if error.orig.sqlstate == "23505":
                raise HTTPException(409, "email already registered") from None
            raise
        return user

    @app.get("/users/{user_id}", response_model=UserOut)
    async def read_user(user_id: int, session: Work) -> User:
        user = await session.get(User, user_id)
        if user is None:
            raise HTTPException(404, "user not found")
        return user

    @app.get("/users/{user_id}/posts", response_model=UserWithPosts)
    async def read_user_posts(user_id: int, session: Work) -> dict:
        query = select(User).where(User.id == user_id).options(joinedload(User.posts))
        user = (await session.scalars(query)).unique().one_or_none()
        if user is None:
            raise HTTPException(404, "user not found")
        posts = sorted(user.posts, key=lambda post: post.id)
        return {"id": user.id, "email": user.email, "name": user.name, "posts": posts}

    @app.get("/users", response_model=UserPage)
    async def list_users(
        session: Work,
        after_id: int | None = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> dict:
        query = select(User).order_by(User.id).limit(limit)
        if after_id is not None:
            query = query.where(User.id > after_id)
        users = list((await session.scalars(query)).all())
        return {"items": users, "next_after_id": users[-1].id if len(users) == limit else None}

    @app.get("/health")
    async def health() -> JSONResponse:
        ok = await database_answers(engine, timeout=1.0)
        return JSONResponse({"status": "ok" if ok else "unavailable"}, status_code=200 if ok else 503)

    return app
'''

CORRECT_ALTERNATIVES = {
    "create_app": [
        (
            "text() SQL throughout: INSERT … ON CONFLICT DO NOTHING, one LEFT JOIN for posts, logging",
            CORE_SQL_APP,
        ),
        (
            "commits in a dependency declared with scope='function', joinedload for posts",
            FUNCTION_SCOPE_DEPENDENCY_APP,
        ),
    ],
}
