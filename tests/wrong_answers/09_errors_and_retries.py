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
        (
            "every SQLSTATE of class 57 is a statement timeout",
            '''def classify(exc: BaseException) -> str:
    """Name the kind of database error `exc` is, from its SQLSTATE and type (see the table above)."""
    from sqlalchemy.exc import DBAPIError

    kinds = {
        "23505": "unique_violation",
        "23503": "foreign_key_violation",
        "23502": "not_null_violation",
        "23514": "check_violation",
        "40001": "serialization_failure",
        "40P01": "deadlock",
    }
    code = sqlstate_of(exc)
    if code in kinds:
        return kinds[code]
    if code is not None and code.startswith("57"):
        return "statement_timeout"
    if code is not None and code.startswith("08"):
        return "connection_error"
    for link in error_chain(exc):
        if isinstance(link, OSError) or (isinstance(link, DBAPIError) and link.connection_invalidated):
            return "connection_error"
    return "other"
''',
        ),
        (
            "a lock timeout (55P03) is named statement_timeout: any timeout is a statement timeout",
            '''def classify(exc: BaseException) -> str:
    """Name the kind of database error `exc` is, from its SQLSTATE and type (see the table above)."""
    from sqlalchemy.exc import DBAPIError

    kinds = {
        "23505": "unique_violation",
        "23503": "foreign_key_violation",
        "23502": "not_null_violation",
        "23514": "check_violation",
        "40001": "serialization_failure",
        "40P01": "deadlock",
        "57014": "statement_timeout",
        "55P03": "statement_timeout",
    }
    code = sqlstate_of(exc)
    if code in kinds:
        return kinds[code]
    if code is not None and (code.startswith("08") or code in ("57P01", "57P02", "57P03")):
        return "connection_error"
    for link in error_chain(exc):
        if isinstance(link, OSError) or (isinstance(link, DBAPIError) and link.connection_invalidated):
            return "connection_error"
    return "other"
''',
        ),
        (
            "looks at the exception and its .orig only: misses an error the application wrapped",
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
    code = getattr(exc, "sqlstate", None) or getattr(getattr(exc, "orig", None), "sqlstate", None)
    if code in kinds:
        return kinds[code]
    if code is not None and (code.startswith("08") or code in ("57P01", "57P02", "57P03")):
        return "connection_error"
    if isinstance(exc, OSError) or getattr(exc, "connection_invalidated", False):
        return "connection_error"
    return "other"
''',
        ),
        (
            "connection errors are class 08 and OSError only: a server shutting down (57P01) is 'other'",
            '''def classify(exc: BaseException) -> str:
    """Name the kind of database error `exc` is, from its SQLSTATE and type (see the table above)."""
    from sqlalchemy.exc import DBAPIError

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
    if code is not None and code.startswith("08"):
        return "connection_error"
    if code is not None:
        return "other"
    for link in error_chain(exc):
        if isinstance(link, OSError) or (isinstance(link, DBAPIError) and link.connection_invalidated):
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
        (
            "lower-cases and strips the email before inserting",
            '''async def create_user_api(session_factory, email: str, name: str) -> tuple[int, dict]:
    """Insert a user; return (201 | 409 | 422 | 503 | 500, body) as in the table above; never raise."""
    from sqlalchemy.exc import DBAPIError

    email = email.strip().lower()
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
        if code == "23505":
            return 409, {"error": "unique_violation", "constraint": constraint_of(error)}
        rules = {"23502": "not_null_violation", "23514": "check_violation", "23503": "foreign_key_violation"}
        if code in rules:
            return 422, {"error": rules[code], "constraint": constraint_of(error)}
        if any(isinstance(link, OSError) or (isinstance(link, DBAPIError) and link.connection_invalidated)
               for link in error_chain(error)):
            return 503, {"error": "connection_error"}
        return 500, {"error": "other"}
''',
        ),
        (
            "names users_email_key in every 409, whatever constraint the server reported",
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
    except Exception as error:
        kind = classify(error)
        if kind == "unique_violation":
            return 409, {"error": "unique_violation", "constraint": "users_email_key"}
        if kind in ("not_null_violation", "check_violation", "foreign_key_violation"):
            return 422, {"error": kind, "constraint": constraint_of(error)}
        if kind == "connection_error":
            return 503, {"error": "connection_error"}
        return 500, {"error": "other"}
''',
        ),
        (
            "422 for NOT NULL and CHECK only; every other database error is a 503",
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
    except (DBAPIError, OSError) as error:
        kind = classify(error)
        if kind == "unique_violation":
            return 409, {"error": kind, "constraint": constraint_of(error)}
        if kind in ("not_null_violation", "check_violation"):
            return 422, {"error": kind, "constraint": constraint_of(error)}
        return 503, {"error": "connection_error"}
    except Exception:
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
        (
            "retries the work, then commits after the retry loop: a failed commit is not retried",
            '''async def run_serializable(session_factory, work, *, attempts: int = 5):
    """Run `await work(session)` in a SERIALIZABLE transaction, retrying 40001/40P01 with a new session."""
    import asyncio
    import random

    for attempt in range(1, attempts + 1):
        session = session_factory()
        try:
            await session.connection(execution_options={"isolation_level": "SERIALIZABLE"})
            result = await work(session)
            break
        except Exception as error:
            await session.close()
            if sqlstate_of(error) not in ("40001", "40P01") or attempt == attempts:
                raise
            await asyncio.sleep(random.uniform(0, 0.01 * 2**attempt))
    try:
        await session.commit()
    finally:
        await session.close()
    return result
''',
        ),
        (
            "retries statement timeouts, lock timeouts and lost connections as transient too",
            '''async def run_serializable(session_factory, work, *, attempts: int = 5):
    """Run `await work(session)` in a SERIALIZABLE transaction, retrying 40001/40P01 with a new session."""
    from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

    transient = {"serialization_failure", "deadlock", "statement_timeout", "connection_error"}

    def worth_retrying(error: BaseException) -> bool:
        return classify(error) in transient or sqlstate_of(error) == "55P03"

    async for attempt in AsyncRetrying(
        retry=retry_if_exception(worth_retrying),
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
            "retries at once, without any backoff",
            '''async def run_serializable(session_factory, work, *, attempts: int = 5):
    """Run `await work(session)` in a SERIALIZABLE transaction, retrying 40001/40P01 with a new session."""
    for attempt in range(1, attempts + 1):
        try:
            async with session_factory() as session:
                await session.connection(execution_options={"isolation_level": "SERIALIZABLE"})
                result = await work(session)
                await session.commit()
                return result
        except Exception as error:
            if sqlstate_of(error) not in ("40001", "40P01") or attempt == attempts:
                raise
''',
        ),
        (
            "wraps the last error in an exception of its own when attempts run out",
            '''async def run_serializable(session_factory, work, *, attempts: int = 5):
    """Run `await work(session)` in a SERIALIZABLE transaction, retrying 40001/40P01 with a new session."""
    import asyncio
    import random

    class TooManyConflicts(Exception):
        pass

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
            if attempt == attempts:
                raise TooManyConflicts(f"gave up after {attempts} attempts") from error
            await asyncio.sleep(random.uniform(0, 0.01 * 2**attempt))
''',
        ),
        (
            "a new session per attempt, but a failed attempt's session is never closed",
            '''async def run_serializable(session_factory, work, *, attempts: int = 5):
    """Run `await work(session)` in a SERIALIZABLE transaction, retrying 40001/40P01 with a new session."""
    import asyncio
    import random

    failed = []
    for attempt in range(1, attempts + 1):
        session = session_factory()
        try:
            await session.connection(execution_options={"isolation_level": "SERIALIZABLE"})
            result = await work(session)
            await session.commit()
            await session.close()
            return result
        except Exception as error:
            failed.append(session)
            if sqlstate_of(error) not in ("40001", "40P01") or attempt == attempts:
                raise
            await asyncio.sleep(random.uniform(0, 0.01 * 2**attempt))
''',
        ),
    ],
}


CORRECT_ALTERNATIVES = {
    "classify": [
        (
            "its own walk down .orig and __cause__, sets of codes, prints what it could not name",
            '''def classify(exc: BaseException) -> str:
    """Name the kind of database error `exc` is, from its SQLSTATE and type (see the table above)."""
    from sqlalchemy.exc import DBAPIError

    names = {
        "23505": "unique_violation",
        "23503": "foreign_key_violation",
        "23502": "not_null_violation",
        "23514": "check_violation",
        "40001": "serialization_failure",
        "40P01": "deadlock",
        "57014": "statement_timeout",
    }
    going_away = frozenset({"57P01", "57P02", "57P03"})
    seen = set()
    link = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        code = getattr(link, "sqlstate", None)
        if isinstance(code, str):
            if code in names:
                return names[code]
            if code[:2] == "08" or code in going_away:
                return "connection_error"
            break
        if isinstance(link, OSError):
            return "connection_error"
        if isinstance(link, DBAPIError) and link.connection_invalidated:
            return "connection_error"
        link = getattr(link, "orig", None) or link.__cause__
    if any(isinstance(l, OSError) or getattr(l, "connection_invalidated", False) is True
           for l in error_chain(exc)):
        return "connection_error"
    print(f"classify: {type(exc).__name__} is other")
    return "other"
''',
        ),
        (
            "match statement on the SQLSTATE found by sqlstate_of",
            '''def classify(exc: BaseException) -> str:
    """Name the kind of database error `exc` is, from its SQLSTATE and type (see the table above)."""
    from sqlalchemy.exc import DBAPIError

    match sqlstate_of(exc):
        case "23505":
            return "unique_violation"
        case "23503":
            return "foreign_key_violation"
        case "23502":
            return "not_null_violation"
        case "23514":
            return "check_violation"
        case "40001":
            return "serialization_failure"
        case "40P01":
            return "deadlock"
        case "57014":
            return "statement_timeout"
        case "57P01" | "57P02" | "57P03":
            return "connection_error"
        case str(code) if code.startswith("08"):
            return "connection_error"
    chain = error_chain(exc)
    if any(isinstance(link, OSError) for link in chain):
        return "connection_error"
    if any(isinstance(link, DBAPIError) and link.connection_invalidated for link in chain):
        return "connection_error"
    return "other"
''',
        ),
    ],
    "create_user_api": [
        (
            "Core insert().returning() through the session, mapped with classify",
            '''async def create_user_api(session_factory, email: str, name: str) -> tuple[int, dict]:
    """Insert a user; return (201 | 409 | 422 | 503 | 500, body) as in the table above; never raise."""
    from sqlalchemy import insert

    try:
        async with session_factory() as session:
            row = (await session.execute(
                insert(User).values(email=email, name=name).returning(User.id, User.email, User.name)
            )).one()
            await session.commit()
        return 201, {"id": row.id, "email": row.email, "name": row.name}
    except Exception as error:  # noqa: BLE001 - the contract: never raise
        kind = classify(error)
        if kind == "unique_violation":
            return 409, {"error": kind, "constraint": constraint_of(error)}
        if kind in {"not_null_violation", "check_violation", "foreign_key_violation"}:
            return 422, {"error": kind, "constraint": constraint_of(error)}
        if kind == "connection_error":
            return 503, {"error": kind}
        return 500, {"error": "other"}
''',
        ),
        (
            "text() INSERT … RETURNING inside session.begin(), prints the failure",
            '''async def create_user_api(session_factory, email: str, name: str) -> tuple[int, dict]:
    """Insert a user; return (201 | 409 | 422 | 503 | 500, body) as in the table above; never raise."""
    from sqlalchemy.exc import DBAPIError

    statuses = {
        "23505": (409, "unique_violation"),
        "23502": (422, "not_null_violation"),
        "23514": (422, "check_violation"),
        "23503": (422, "foreign_key_violation"),
    }
    try:
        async with session_factory() as session, session.begin():
            result = await session.execute(
                text("INSERT INTO users (email, name) VALUES (:email, :name) RETURNING id, email, name"),
                {"email": email, "name": name},
            )
            created = dict(result.mappings().one())
        return 201, created
    except Exception as error:
        print(f"create_user_api: {type(error).__name__}")
        code = sqlstate_of(error)
        if code in statuses:
            status, kind = statuses[code]
            return status, {"error": kind, "constraint": constraint_of(error)}
        lost = code is not None and (code.startswith("08") or code in ("57P01", "57P02", "57P03"))
        for link in error_chain(error):
            lost = lost or isinstance(link, OSError)
            lost = lost or (isinstance(link, DBAPIError) and link.connection_invalidated)
        if lost:
            return 503, {"error": "connection_error"}
        return 500, {"error": "other"}
''',
        ),
    ],
    "run_serializable": [
        (
            "a hand-written loop with session.begin() and asyncio.sleep jitter, prints each failed attempt",
            '''async def run_serializable(session_factory, work, *, attempts: int = 5):
    """Run `await work(session)` in a SERIALIZABLE transaction, retrying 40001/40P01 with a new session."""
    import asyncio
    import random

    for attempt in range(1, attempts + 1):
        try:
            async with session_factory() as session:
                async with session.begin():
                    await session.connection(execution_options={"isolation_level": "SERIALIZABLE"})
                    result = await work(session)
            return result
        except Exception as error:
            if sqlstate_of(error) not in {"40001", "40P01"} or attempt >= attempts:
                raise
            print(f"run_serializable: attempt {attempt} failed with {sqlstate_of(error)}")
            await asyncio.sleep(random.uniform(0.001, min(0.2, 0.005 * 2**attempt)))
''',
        ),
        (
            "tenacity's AsyncRetrying used as a call, wait_exponential_jitter, before_sleep logging at INFO",
            '''async def run_serializable(session_factory, work, *, attempts: int = 5):
    """Run `await work(session)` in a SERIALIZABLE transaction, retrying 40001/40P01 with a new session."""
    import logging

    from tenacity import AsyncRetrying, before_sleep_log, retry_if_exception, stop_after_attempt
    from tenacity import wait_exponential_jitter

    async def one_attempt():
        async with session_factory() as session:
            await session.connection(execution_options={"isolation_level": "SERIALIZABLE"})
            value = await work(session)
            await session.commit()
            return value

    retrying = AsyncRetrying(
        retry=retry_if_exception(lambda error: classify(error) in ("serialization_failure", "deadlock")),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential_jitter(multiplier=0.01, max=0.1, jitter=0.02),
        before_sleep=before_sleep_log(logging.getLogger("run_serializable"), logging.INFO),
        reraise=True,
    )
    return await retrying(one_attempt)
''',
        ),
    ],
}
