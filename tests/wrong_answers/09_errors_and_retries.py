WRONG_ANSWERS = {
    "classify": [
        (
            "matches words in the message text, like the tutorial",
            '''def classify(exc: BaseException) -> str:
    """Name the kind of database error `exc` is, from its SQLSTATE and type (see the table above)."""
    message = str(exc).lower()
    if "unique constraint" in message or "duplicate key" in message:
        return "unique_violation"
    if "foreign key constraint" in message:
        return "foreign_key_violation"
    if "not-null constraint" in message:
        return "not_null_violation"
    if "check constraint" in message:
        return "check_violation"
    if "could not serialize" in message:
        return "serialization_failure"
    if "deadlock" in message:
        return "deadlock"
    if "statement timeout" in message:
        return "statement_timeout"
    if isinstance(exc, OSError) or "connection" in message or "connect" in message:
        return "connection_error"
    return "other"
''',
        ),
        (
            "treats every IntegrityError as a unique violation",
            '''def classify(exc: BaseException) -> str:
    """Name the kind of database error `exc` is, from its SQLSTATE and type (see the table above)."""
    from sqlalchemy.exc import DBAPIError, IntegrityError

    if isinstance(exc, IntegrityError):
        return "unique_violation"
    code = sqlstate_of(exc)
    kinds = {"40001": "serialization_failure", "40P01": "deadlock", "57014": "statement_timeout"}
    if code in kinds:
        return kinds[code]
    if isinstance(exc, OSError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated):
        return "connection_error"
    return "other"
''',
        ),
        (
            "reads only exc.orig.sqlstate and expects OperationalError for connection failures",
            '''def classify(exc: BaseException) -> str:
    """Name the kind of database error `exc` is, from its SQLSTATE and type (see the table above)."""
    from sqlalchemy.exc import OperationalError

    if isinstance(exc, OperationalError):
        return "connection_error"
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return {
        "23505": "unique_violation",
        "23503": "foreign_key_violation",
        "23502": "not_null_violation",
        "23514": "check_violation",
        "40001": "serialization_failure",
        "40P01": "deadlock",
        "57014": "statement_timeout",
    }.get(code, "other")
''',
        ),
        (
            "catches only ConnectionRefusedError as a connection error",
            '''def classify(exc: BaseException) -> str:
    """Name the kind of database error `exc` is, from its SQLSTATE and type (see the table above)."""
    kinds = {
        "23505": "unique_violation",
        "23503": "foreign_key_violation",
        "23502": "not_null_violation",
        "23514": "check_violation",
        "40001": "serialization_failure",
        "40P01": "deadlock",
        "57014": "statement_timeout",
    }
    code = sqlstate_of(exc)
    if code in kinds:
        return kinds[code]
    if isinstance(exc, ConnectionRefusedError):
        return "connection_error"
    return "other"
''',
        ),
    ],
    "create_user_api": [
        (
            "the tutorial's handler: message text for duplicates, OperationalError for 503",
            '''async def create_user_api(session_factory, email: str, name: str) -> tuple[int, dict]:
    """Insert a user; return (201 | 409 | 422 | 503 | 500, body) as in the table above; never raise."""
    from sqlalchemy.exc import OperationalError

    async with session_factory() as session:
        try:
            user = User(email=email, name=name)
            session.add(user)
            await session.flush()
            body = {"id": user.id, "email": user.email, "name": user.name}
            await session.commit()
            return 201, body
        except IntegrityError as error:
            await session.rollback()
            if "unique constraint" in str(error).lower():
                return 409, {"error": "unique_violation", "constraint": constraint_of(error)}
            return 422, {"error": "not_null_violation", "constraint": constraint_of(error)}
        except OperationalError:
            return 503, {"error": "connection_error"}
        except Exception:
            await session.rollback()
            return 500, {"error": "other"}
''',
        ),
        (
            "checks whether the email exists first, then inserts without catching the race",
            '''async def create_user_api(session_factory, email: str, name: str) -> tuple[int, dict]:
    """Insert a user; return (201 | 409 | 422 | 503 | 500, body) as in the table above; never raise."""
    try:
        async with session_factory() as session:
            existing = await session.scalar(select(User.id).where(User.email == email))
            if existing is not None:
                return 409, {"error": "unique_violation", "constraint": "users_email_key"}
            user = User(email=email, name=name)
            session.add(user)
            await session.flush()
            body = {"id": user.id, "email": user.email, "name": user.name}
            await session.commit()
            return 201, body
    except IntegrityError as error:
        rules = {"23502": "not_null_violation", "23514": "check_violation", "23503": "foreign_key_violation"}
        return 422, {"error": rules.get(sqlstate_of(error), "other"), "constraint": constraint_of(error)}
    except OSError:
        return 503, {"error": "connection_error"}
    except Exception:
        return 500, {"error": "other"}
''',
        ),
        (
            "answers 409 for every IntegrityError",
            '''async def create_user_api(session_factory, email: str, name: str) -> tuple[int, dict]:
    """Insert a user; return (201 | 409 | 422 | 503 | 500, body) as in the table above; never raise."""
    from sqlalchemy.exc import DBAPIError

    try:
        async with session_factory() as session:
            user = User(email=email, name=name)
            session.add(user)
            await session.flush()
            body = {"id": user.id, "email": user.email, "name": user.name}
            await session.commit()
            return 201, body
    except IntegrityError as error:
        return 409, {"error": "unique_violation", "constraint": constraint_of(error)}
    except Exception as error:
        if isinstance(error, OSError) or (isinstance(error, DBAPIError) and error.connection_invalidated):
            return 503, {"error": "connection_error"}
        return 500, {"error": "other"}
''',
        ),
        (
            "answers 503 for every error that is not an IntegrityError",
            '''async def create_user_api(session_factory, email: str, name: str) -> tuple[int, dict]:
    """Insert a user; return (201 | 409 | 422 | 503 | 500, body) as in the table above; never raise."""
    try:
        async with session_factory() as session:
            user = User(email=email, name=name)
            session.add(user)
            await session.flush()
            body = {"id": user.id, "email": user.email, "name": user.name}
            await session.commit()
            return 201, body
    except IntegrityError as error:
        code = sqlstate_of(error)
        if code == "23505":
            return 409, {"error": "unique_violation", "constraint": constraint_of(error)}
        rules = {"23502": "not_null_violation", "23514": "check_violation", "23503": "foreign_key_violation"}
        return 422, {"error": rules.get(code, "other"), "constraint": constraint_of(error)}
    except Exception:
        return 503, {"error": "connection_error"}
''',
        ),
        (
            "reads the new user's id after commit (expired with expire_on_commit=True)",
            '''async def create_user_api(session_factory, email: str, name: str) -> tuple[int, dict]:
    """Insert a user; return (201 | 409 | 422 | 503 | 500, body) as in the table above; never raise."""
    from sqlalchemy.exc import DBAPIError

    try:
        async with session_factory() as session:
            user = User(email=email, name=name)
            session.add(user)
            await session.commit()
            return 201, {"id": user.id, "email": user.email, "name": user.name}
    except Exception as error:
        code = sqlstate_of(error)
        if code == "23505":
            return 409, {"error": "unique_violation", "constraint": constraint_of(error)}
        rules = {"23502": "not_null_violation", "23514": "check_violation", "23503": "foreign_key_violation"}
        if code in rules:
            return 422, {"error": rules[code], "constraint": constraint_of(error)}
        if isinstance(error, OSError) or (isinstance(error, DBAPIError) and error.connection_invalidated):
            return 503, {"error": "connection_error"}
        return 500, {"error": "other"}
''',
        ),
    ],
    "run_serializable": [
        (
            "retries in the same session, rolling it back between attempts",
            '''async def run_serializable(session_factory, work, *, attempts: int = 5):
    """Run `await work(session)` in a SERIALIZABLE transaction, retrying 40001/40P01 with a new session."""
    import asyncio
    import random

    async with session_factory() as session:
        for attempt in range(1, attempts + 1):
            try:
                await session.connection(execution_options={"isolation_level": "SERIALIZABLE"})
                result = await work(session)
                await session.commit()
                return result
            except Exception as error:
                await session.rollback()
                if sqlstate_of(error) not in ("40001", "40P01") or attempt == attempts:
                    raise
                await asyncio.sleep(random.uniform(0, 0.01 * 2**attempt))
''',
        ),
        (
            "retries in the same session without a rollback",
            '''async def run_serializable(session_factory, work, *, attempts: int = 5):
    """Run `await work(session)` in a SERIALIZABLE transaction, retrying 40001/40P01 with a new session."""
    from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

    async with session_factory() as session:
        await session.connection(execution_options={"isolation_level": "SERIALIZABLE"})
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(lambda e: sqlstate_of(e) in ("40001", "40P01")),
            stop=stop_after_attempt(attempts),
            wait=wait_random_exponential(multiplier=0.01, max=0.2),
            reraise=True,
        ):
            with attempt:
                result = await work(session)
                await session.commit()
        return result
''',
        ),
        (
            "retries every exception",
            '''async def run_serializable(session_factory, work, *, attempts: int = 5):
    """Run `await work(session)` in a SERIALIZABLE transaction, retrying 40001/40P01 with a new session."""
    from tenacity import AsyncRetrying, stop_after_attempt, wait_random_exponential

    async for attempt in AsyncRetrying(
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
''',
        ),
        (
            "swallows the last error and returns None when attempts run out",
            '''async def run_serializable(session_factory, work, *, attempts: int = 5):
    """Run `await work(session)` in a SERIALIZABLE transaction, retrying 40001/40P01 with a new session."""
    import asyncio
    import random

    for attempt in range(1, attempts + 1):
        try:
            async with session_factory() as session:
                await session.connection(execution_options={"isolation_level": "SERIALIZABLE"})
                result = await work(session)
                await session.commit()
                return result
        except Exception as error:
            if sqlstate_of(error) not in ("40001", "40P01"):
                raise
            await asyncio.sleep(random.uniform(0, 0.01 * 2**attempt))
    return None
''',
        ),
        (
            "lets tenacity raise RetryError when attempts run out",
            '''async def run_serializable(session_factory, work, *, attempts: int = 5):
    """Run `await work(session)` in a SERIALIZABLE transaction, retrying 40001/40P01 with a new session."""
    from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

    async for attempt in AsyncRetrying(
        retry=retry_if_exception(lambda e: sqlstate_of(e) in ("40001", "40P01")),
        stop=stop_after_attempt(attempts),
        wait=wait_random_exponential(multiplier=0.01, max=0.2),
    ):
        with attempt:
            async with session_factory() as session:
                await session.connection(execution_options={"isolation_level": "SERIALIZABLE"})
                result = await work(session)
                await session.commit()
    return result
''',
        ),
        (
            "never sets the isolation level (READ COMMITTED)",
            '''async def run_serializable(session_factory, work, *, attempts: int = 5):
    """Run `await work(session)` in a SERIALIZABLE transaction, retrying 40001/40P01 with a new session."""
    from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

    async for attempt in AsyncRetrying(
        retry=retry_if_exception(lambda e: sqlstate_of(e) in ("40001", "40P01")),
        stop=stop_after_attempt(attempts),
        wait=wait_random_exponential(multiplier=0.01, max=0.2),
        reraise=True,
    ):
        with attempt:
            async with session_factory() as session, session.begin():
                result = await work(session)
    return result
''',
        ),
        (
            "retries only serialization failures, not deadlocks",
            '''async def run_serializable(session_factory, work, *, attempts: int = 5):
    """Run `await work(session)` in a SERIALIZABLE transaction, retrying 40001/40P01 with a new session."""
    from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

    async for attempt in AsyncRetrying(
        retry=retry_if_exception(lambda e: sqlstate_of(e) == "40001"),
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
''',
        ),
    ],
}
