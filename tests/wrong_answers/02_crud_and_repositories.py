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
    ],
}
