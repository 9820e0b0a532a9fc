"""InsertGate makes a check-then-insert race happen every time, and lets correct code through."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from asyncdb_lab.instruments.races import GATE_CONNECT_ARGS, InsertGate
from asyncdb_lab.models import User

RACERS = 8


async def check_then_insert(sessions, email: str) -> str:
    async with sessions() as session:
        if await session.scalar(select(User.id).where(User.email == email)) is not None:
            return "found"
        session.add(User(email=email, name="Racer"))
        try:
            await session.commit()
        except IntegrityError:
            return "lost the race"
        return "created"


async def insert_on_conflict(sessions, email: str) -> str:
    async with sessions() as session:
        statement = insert(User).values(email=email, name="Racer")
        statement = statement.on_conflict_do_nothing().returning(User.id)
        created = await session.scalar(statement)
        await session.commit()
        return "created" if created is not None else "found"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("sign_up", "expected"),
    [
        (check_then_insert, {"created": 1, "lost the race": RACERS - 1}),
        (insert_on_conflict, {"created": 1, "found": RACERS - 1}),
    ],
)
async def test_every_racer_looks_before_anyone_inserts(seeded_database, sign_up, expected):
    engine = create_async_engine(
        seeded_database.url, pool_size=RACERS, connect_args=GATE_CONNECT_ARGS
    )
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    try:
        async with InsertGate(seeded_database.url, "users") as gate:
            racers = [sign_up(sessions, "same@example.test") for _ in range(RACERS)]
            tasks = [asyncio.create_task(racer) for racer in racers]
            seen = await gate.open_when_waiting(RACERS)
        outcomes = await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)
    finally:
        await engine.dispose()
    assert seen == RACERS
    assert {o: outcomes.count(o) for o in set(outcomes)} == expected


@pytest.mark.asyncio
async def test_the_gate_opens_when_callers_queue_behind_their_own_lock(seeded_database):
    engine = create_async_engine(seeded_database.url, pool_size=4, connect_args=GATE_CONNECT_ARGS)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    one_at_a_time = asyncio.Lock()

    async def serialised(n: int) -> str:
        async with one_at_a_time:
            return await check_then_insert(sessions, f"queued{n}@example.test")

    try:
        async with InsertGate(seeded_database.url, "users") as gate:
            tasks = [asyncio.create_task(serialised(n)) for n in range(4)]
            seen = await gate.open_when_waiting(4, settle=0.5, limit=10)
        outcomes = await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)
    finally:
        await engine.dispose()
    assert seen == 1
    assert outcomes == ["created"] * 4


@pytest.mark.asyncio
async def test_the_gate_lets_go_when_the_block_fails(seeded_database):
    with pytest.raises(RuntimeError, match="boom"):
        async with InsertGate(seeded_database.url, "users"):
            raise RuntimeError("boom")
    async with seeded_database.engine.begin() as conn:
        await conn.execute(text("INSERT INTO users (email, name) VALUES ('after@x.test', 'After')"))
        waiting = await conn.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted"))
    assert waiting == 0


def test_the_gate_refuses_a_table_name_it_would_have_to_quote():
    with pytest.raises(ValueError, match="plain lower-case table name"):
        InsertGate("postgresql+asyncpg://unused", 'users"; DROP TABLE users; --')
