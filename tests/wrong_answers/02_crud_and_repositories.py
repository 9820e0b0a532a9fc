_REPOSITORY_HEAD = '''from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession


class UserRepository:
    """Queries for users in the caller's session: methods may flush, never commit."""

    def __init__(self, session: AsyncSession) -> None:
        """Keep the session to work in."""
        self.session = session
'''

# The correct methods; each wrong answer replaces one or more of them.
_METHODS = {
    "add": '''
    async def add(self, email: str, name: str) -> User:
        """Insert a user and flush it, so its id is set and a duplicate e-mail raises here."""
        user = User(email=email, name=name)
        self.session.add(user)
        await self.session.flush()
        return user
''',
    "get": '''
    async def get(self, user_id: int) -> User | None:
        """The user with this id, or None."""
        return await self.session.get(User, user_id)

    async def get_by_email(self, email: str) -> User | None:
        """The user with exactly this e-mail address, or None."""
        return await self.session.scalar(select(User).where(User.email == email))
''',
    "page": '''
    async def page(self, after_id: int | None, limit: int) -> list[User]:
        """Up to `limit` users with id > after_id (all ids when None), ordered by id, in one statement."""
        statement = select(User).order_by(User.id).limit(limit)
        if after_id is not None:
            statement = statement.where(User.id > after_id)
        return list((await self.session.scalars(statement)).all())
''',
    "rename": '''
    async def rename(self, user_id: int, name: str) -> User | None:
        """Set the name; return the user as the database has it afterwards, or None if there is none."""
        result = await self.session.execute(
            update(User)
            .where(User.id == user_id)
            .values(name=name)
            .returning(User)
            .execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()
''',
    "delete": '''
    async def delete(self, user_id: int) -> bool:
        """Delete the user; True if a row was deleted."""
        result = await self.session.execute(delete(User).where(User.id == user_id))
        return result.rowcount > 0
''',
}


def _repository(**replaced: str) -> str:
    return _REPOSITORY_HEAD + "".join(replaced.get(name, body) for name, body in _METHODS.items())


_GET_OR_CREATE_HEAD = '''from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert


async def get_or_create(session_factory, email: str, name: str) -> tuple[int, bool]:
    """Return (id, created) for the user with this e-mail, inserting it when missing; safe under races."""
'''

WRONG_ANSWERS = {
    "UserRepository": [
        (
            "the tutorial's repository: every write commits (and refreshes)",
            _repository(
                add="""
    async def add(self, email: str, name: str) -> User:
        user = User(email=email, name=name)
        self.session.add(user)
        await self.session.commit()
        await self.session.refresh(user)
        return user
""",
                rename="""
    async def rename(self, user_id: int, name: str) -> User | None:
        await self.session.execute(update(User).where(User.id == user_id).values(name=name))
        await self.session.commit()
        return await self.session.get(User, user_id)
""",
                delete="""
    async def delete(self, user_id: int) -> bool:
        result = await self.session.execute(delete(User).where(User.id == user_id))
        await self.session.commit()
        return result.rowcount > 0
""",
            ),
        ),
        (
            "only add() commits; everything else is right",
            _repository(
                add="""
    async def add(self, email: str, name: str) -> User:
        user = User(email=email, name=name)
        self.session.add(user)
        await self.session.commit()
        return user
""",
            ),
        ),
        (
            "page() uses after_id as an OFFSET",
            _repository(
                page="""
    async def page(self, after_id: int | None, limit: int) -> list[User]:
        statement = select(User).order_by(User.id).offset(after_id or 0).limit(limit)
        return list((await self.session.scalars(statement)).all())
""",
            ),
        ),
        (
            "page() loads every user and slices in Python",
            _repository(
                page="""
    async def page(self, after_id: int | None, limit: int) -> list[User]:
        users = (await self.session.scalars(select(User).order_by(User.id))).all()
        start = 0 if after_id is None else next(
            (i for i, user in enumerate(users) if user.id > after_id), len(users)
        )
        return list(users[start:start + limit])
""",
            ),
        ),
        (
            "page() filters by id but forgets ORDER BY",
            _repository(
                page="""
    async def page(self, after_id: int | None, limit: int) -> list[User]:
        statement = select(User).where(User.id > (after_id or 0)).limit(limit)
        return list((await self.session.scalars(statement)).all())
""",
            ),
        ),
        (
            "rename() sets the attribute and flushes: the trigger's change never shows",
            _repository(
                rename="""
    async def rename(self, user_id: int, name: str) -> User | None:
        user = await self.session.get(User, user_id)
        if user is None:
            return None
        user.name = name
        await self.session.flush()
        return user
""",
            ),
        ),
        (
            "rename() runs UPDATE, then get(): the stale object from the identity map",
            _repository(
                rename="""
    async def rename(self, user_id: int, name: str) -> User | None:
        await self.session.execute(update(User).where(User.id == user_id).values(name=name))
        return await self.session.get(User, user_id)
""",
            ),
        ),
        (
            "rename() with RETURNING but without populate_existing",
            _repository(
                rename="""
    async def rename(self, user_id: int, name: str) -> User | None:
        result = await self.session.execute(
            update(User).where(User.id == user_id).values(name=name).returning(User)
        )
        return result.scalar_one_or_none()
""",
            ),
        ),
        (
            "get_by_email() with ilike: finds the address whatever its case",
            _repository(
                get="""
    async def get(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def get_by_email(self, email: str) -> User | None:
        return await self.session.scalar(select(User).where(User.email.ilike(email)))
""",
            ),
        ),
        (
            "get_by_email() with like: _ and % in the address act as wildcards",
            _repository(
                get="""
    async def get(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def get_by_email(self, email: str) -> User | None:
        return (await self.session.scalars(select(User).where(User.email.like(email)))).first()
""",
            ),
        ),
        (
            "get_by_email() normalises both sides: lower() and trimmed",
            _repository(
                get="""
    async def get(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def get_by_email(self, email: str) -> User | None:
        from sqlalchemy import func

        wanted = email.strip().lower()
        return await self.session.scalar(select(User).where(func.lower(User.email) == wanted))
""",
            ),
        ),
        (
            "get_by_email() lower-cases the address it is given (stored addresses keep their case)",
            _repository(
                get="""
    async def get(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def get_by_email(self, email: str) -> User | None:
        return await self.session.scalar(select(User).where(User.email == email.strip().lower()))
""",
            ),
        ),
        (
            "page() by id arithmetic: ids after_id+1 to after_id+limit",
            _repository(
                page="""
    async def page(self, after_id: int | None, limit: int) -> list[User]:
        start = (after_id or 0) + 1
        statement = (
            select(User).where(User.id.between(start, start + limit - 1)).order_by(User.id).limit(limit)
        )
        return list((await self.session.scalars(statement)).all())
""",
            ),
        ),
        (
            "page() ordered by signup time (created_at), not by id",
            _repository(
                page="""
    async def page(self, after_id: int | None, limit: int) -> list[User]:
        statement = select(User).order_by(User.created_at).limit(limit)
        if after_id is not None:
            statement = statement.where(User.id > after_id)
        return list((await self.session.scalars(statement)).all())
""",
            ),
        ),
        (
            "page() without ORDER BY, sorting the page in Python afterwards",
            _repository(
                page="""
    async def page(self, after_id: int | None, limit: int) -> list[User]:
        statement = select(User).limit(limit)
        if after_id is not None:
            statement = statement.where(User.id > after_id)
        users = (await self.session.scalars(statement)).all()
        return sorted(users, key=lambda user: user.id)
""",
            ),
        ),
        (
            "add() wraps its insert in `async with session.begin()`, which commits",
            _repository(
                add="""
    async def add(self, email: str, name: str) -> User:
        user = User(email=email, name=name)
        async with self.session.begin():
            self.session.add(user)
        return user
""",
            ),
        ),
        (
            "add() turns a duplicate e-mail into the existing user",
            _repository(
                add="""
    async def add(self, email: str, name: str) -> User:
        from sqlalchemy.exc import IntegrityError

        user = User(email=email, name=name)
        try:
            async with self.session.begin_nested():
                self.session.add(user)
        except IntegrityError:
            return await self.session.scalar(select(User).where(User.email == email))
        return user
""",
            ),
        ),
        (
            "delete() returns the row count, an int, not a bool",
            _repository(
                delete="""
    async def delete(self, user_id: int) -> bool:
        result = await self.session.execute(delete(User).where(User.id == user_id))
        return result.rowcount
""",
            ),
        ),
    ],
    "get_or_create": [
        (
            "check, then insert (the tutorial's sign-up)",
            _GET_OR_CREATE_HEAD
            + """    async with session_factory() as session:
        existing = await session.scalar(select(User).where(User.email == email))
        if existing is not None:
            return existing.id, False
        user = User(email=email, name=name)
        session.add(user)
        await session.commit()
        return user.id, True
""",
        ),
        (
            "check, then insert, under an asyncio.Lock (safe in one process only)",
            "import asyncio\n\n_sign_up_lock = asyncio.Lock()\n\n\n"
            + _GET_OR_CREATE_HEAD
            + """    async with _sign_up_lock, session_factory() as session:
        existing = await session.scalar(select(User.id).where(User.email == email))
        if existing is not None:
            return existing, False
        user = User(email=email, name=name)
        session.add(user)
        await session.commit()
        return user.id, True
""",
        ),
        (
            "ON CONFLICT DO NOTHING, but never commits",
            _GET_OR_CREATE_HEAD
            + """    async with session_factory() as session:
        inserted_id = await session.scalar(
            pg_insert(User)
            .values(email=email, name=name)
            .on_conflict_do_nothing(index_elements=[User.email])
            .returning(User.id)
        )
        if inserted_id is not None:
            return inserted_id, True
        return await session.scalar(select(User.id).where(User.email == email)), False
""",
        ),
        (
            "an upsert that always reports created and overwrites the name",
            _GET_OR_CREATE_HEAD
            + """    async with session_factory() as session:
        statement = pg_insert(User).values(email=email, name=name)
        statement = statement.on_conflict_do_update(
            index_elements=[User.email], set_={"name": statement.excluded.name}
        ).returning(User.id)
        user_id = await session.scalar(statement)
        await session.commit()
        return user_id, True
""",
        ),
        (
            "catches the IntegrityError, then reads the winner in the same session without rolling back",
            _GET_OR_CREATE_HEAD
            + """    from sqlalchemy.exc import IntegrityError

    async with session_factory() as session:
        user = User(email=email, name=name)
        session.add(user)
        try:
            await session.commit()
        except IntegrityError:
            return await session.scalar(select(User.id).where(User.email == email)), False
        return user.id, True
""",
        ),
        (
            "catches every IntegrityError, not only the duplicate e-mail",
            _GET_OR_CREATE_HEAD
            + """    from sqlalchemy.exc import IntegrityError

    async with session_factory() as session:
        user = User(email=email, name=name)
        session.add(user)
        try:
            await session.commit()
            return user.id, True
        except IntegrityError:
            await session.rollback()
        return await session.scalar(select(User.id).where(User.email == email)), False
""",
        ),
        (
            "serialises callers with an advisory lock, then checks and inserts (other writers take no lock)",
            _GET_OR_CREATE_HEAD
            + """    from sqlalchemy import text

    async with session_factory() as session:
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:email))"), {"email": email})
        existing = await session.scalar(select(User.id).where(User.email == email))
        if existing is not None:
            return existing, False
        user = User(email=email, name=name)
        session.add(user)
        await session.commit()
        return user.id, True
""",
        ),
        (
            "ON CONFLICT DO NOTHING, but the id comes from a check made before the insert",
            _GET_OR_CREATE_HEAD
            + """    async with session_factory() as session:
        existing = await session.scalar(select(User.id).where(User.email == email))
        if existing is not None:
            return existing, False
        inserted_id = await session.scalar(
            pg_insert(User)
            .values(email=email, name=name)
            .on_conflict_do_nothing(index_elements=[User.email])
            .returning(User.id)
        )
        await session.commit()
        if inserted_id is not None:
            return inserted_id, True
        return existing, False
""",
        ),
        (
            "closes its session only after an insert: a found address keeps its connection",
            _GET_OR_CREATE_HEAD
            + """    session = session_factory()
    inserted_id = await session.scalar(
        pg_insert(User)
        .values(email=email, name=name)
        .on_conflict_do_nothing(index_elements=[User.email])
        .returning(User.id)
    )
    if inserted_id is not None:
        await session.commit()
        await session.close()
        return inserted_id, True
    return await session.scalar(select(User.id).where(User.email == email)), False
""",
        ),
        (
            "uses the notebook's session_factory instead of the one it is given",
            _GET_OR_CREATE_HEAD
            + """    async with db.session_factory() as session:
        inserted_id = await session.scalar(
            pg_insert(User)
            .values(email=email, name=name)
            .on_conflict_do_nothing(index_elements=[User.email])
            .returning(User.id)
        )
        if inserted_id is not None:
            await session.commit()
            return inserted_id, True
        return await session.scalar(select(User.id).where(User.email == email)), False
""",
        ),
    ],
}

CORRECT_ALTERNATIVES = {
    "UserRepository": [
        (
            "plain ORM: savepoint in add(), filter_by lookups, FETCH FIRST, refresh() after rename, "
            "session.delete()",
            _REPOSITORY_HEAD
            + """
    async def add(self, email: str, name: str) -> User:
        user = User(email=email, name=name)
        async with self.session.begin_nested():  # a duplicate undoes only this insert
            self.session.add(user)
        return user

    async def get(self, user_id: int) -> User | None:
        return await self.session.scalar(select(User).filter_by(id=user_id))

    async def get_by_email(self, email: str) -> User | None:
        return (await self.session.scalars(select(User).filter_by(email=email))).first()

    async def page(self, after_id: int | None, limit: int) -> list[User]:
        statement = select(User)
        if after_id is not None:
            statement = statement.filter(User.id > after_id)
        statement = statement.order_by(User.id.asc()).fetch(limit)
        return [user for user in await self.session.scalars(statement)]

    async def rename(self, user_id: int, name: str) -> User | None:
        user = await self.session.get(User, user_id)
        if user is None:
            return None
        user.name = name
        await self.session.flush()
        await self.session.refresh(user)
        return user

    async def delete(self, user_id: int) -> bool:
        user = await self.session.get(User, user_id)
        if user is None:
            return False
        await self.session.delete(user)
        await self.session.flush()
        return True
""",
        ),
        (
            "text() SQL mapped onto User with from_statement(), RETURNING everywhere, logging a warning to stdout",
            _REPOSITORY_HEAD
            + """
    async def add(self, email: str, name: str) -> User:
        import logging
        import sys

        user = User(email=email, name=name)
        self.session.add(user)
        await self.session.flush()
        log = logging.getLogger("UserRepository")
        if not log.handlers:
            log.addHandler(logging.StreamHandler(sys.stdout))
            log.propagate = False
        log.warning("added user %s", user.id)
        return user

    async def get(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def get_by_email(self, email: str) -> User | None:
        from sqlalchemy import text

        statement = select(User).from_statement(
            text("SELECT users.* FROM users WHERE email = :email").bindparams(email=email)
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def page(self, after_id: int | None, limit: int) -> list[User]:
        from sqlalchemy import text

        if after_id is None:
            sql = text("SELECT users.* FROM users ORDER BY id LIMIT :limit").bindparams(limit=limit)
        else:
            sql = text(
                "SELECT users.* FROM users WHERE id > :after ORDER BY id LIMIT :limit"
            ).bindparams(after=after_id, limit=limit)
        return list((await self.session.scalars(select(User).from_statement(sql))).all())

    async def rename(self, user_id: int, name: str) -> User | None:
        statement = (
            update(User).where(User.id == user_id).values(name=name).returning(User)
        )
        result = await self.session.execute(statement, execution_options={"populate_existing": True})
        return result.scalars().first()

    async def delete(self, user_id: int) -> bool:
        result = await self.session.execute(
            delete(User).where(User.id == user_id).returning(User.id)
        )
        return result.first() is not None
""",
        ),
    ],
    "get_or_create": [
        (
            "insert, catch only the unique violation (SQLSTATE 23505), roll back and read the winner",
            _GET_OR_CREATE_HEAD
            + """    from sqlalchemy.exc import IntegrityError

    async with session_factory() as session:
        user = User(email=email, name=name)
        session.add(user)
        try:
            await session.commit()
        except IntegrityError as error:
            await session.rollback()
            if getattr(error.orig, "sqlstate", None) != "23505":
                raise
            existing = await session.scalar(select(User.id).where(User.email == email))
            if existing is None:  # not reached in READ COMMITTED: the winner has committed
                raise
            return existing, False
        return user.id, True
""",
        ),
        (
            "one text() statement: ON CONFLICT DO UPDATE of the same e-mail, RETURNING (xmax = 0)",
            _GET_OR_CREATE_HEAD
            + """    from sqlalchemy import text

    async with session_factory.begin() as session:
        row = (
            await session.execute(
                text(
                    "INSERT INTO users (email, name) VALUES (:email, :name) "
                    "ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email "
                    "RETURNING id, (xmax = 0) AS inserted"
                ),
                {"email": email, "name": name},
            )
        ).one()
    print(f"get_or_create: {email} -> {tuple(row)}")
    return row.id, row.inserted
""",
        ),
    ],
}
