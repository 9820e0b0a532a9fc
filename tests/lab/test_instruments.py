"""The lesson instruments measure what really happens on the server."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import selectinload

from asyncdb_lab import count_statements, format_locks, locks_on, measure, pool_snapshot, row_locks
from asyncdb_lab.models import Post, User


@pytest.mark.asyncio
async def test_count_statements_sees_n_plus_1_and_selectinload(seeded_database):
    sessions = async_sessionmaker(seeded_database.engine, expire_on_commit=False)
    async with sessions() as session:
        users = (await session.scalars(select(User).where(User.id <= 20))).all()
        with count_statements(seeded_database.engine) as n_plus_1:
            for user in users:
                await session.scalars(select(Post).where(Post.author_id == user.id))
    async with sessions() as session:
        with count_statements(session) as eager:
            result = await session.scalars(
                select(User).where(User.id <= 20).options(selectinload(User.posts))
            )
            loaded = result.all()
    assert n_plus_1.count == 20
    assert eager.count == 2
    assert [s.verb for s in eager.statements] == ["SELECT", "SELECT"]
    assert "IN" in eager.sql[1].upper()
    assert sum(len(user.posts) for user in loaded) > 0
    report = str(eager)
    assert report.startswith("2 statements")
    assert "[2] SELECT" in report


@pytest.mark.asyncio
async def test_count_statements_stops_counting_after_the_block(seeded_database):
    with count_statements(seeded_database.engine) as log:
        async with seeded_database.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    async with seeded_database.engine.connect() as conn:
        await conn.execute(text("SELECT 2"))
    assert log.sql == ["SELECT 1"]


def test_count_statements_refuses_something_that_is_not_an_engine():
    with pytest.raises(TypeError, match="needs an engine, connection or session, not str"):
        count_statements("postgresql://")


@pytest.mark.asyncio
async def test_pool_snapshot_counts_checked_out_and_never_negative_overflow(seeded_database):
    engine = create_async_engine(seeded_database.url, pool_size=3, max_overflow=2)
    try:
        fresh = pool_snapshot(engine)
        assert (fresh.size, fresh.checked_out, fresh.checked_in, fresh.overflow) == (3, 0, 0, 0)
        assert engine.sync_engine.pool.overflow() == -3  # what the raw counter says
        conns = [await engine.connect() for _ in range(4)]
        for conn in conns:
            await conn.execute(text("SELECT 1"))
        busy = pool_snapshot(engine)
        assert (busy.checked_out, busy.overflow, busy.open_connections) == (4, 1, 4)
        for conn in conns:
            await conn.close()
        idle = pool_snapshot(engine)
        assert (idle.checked_out, idle.checked_in) == (0, 3)  # the overflow one was closed
        assert "0 checked out, 3 idle" in str(idle)
    finally:
        await engine.dispose()


@pytest.mark.asyncio
async def test_lock_inspector_shows_the_holder_and_the_waiter(seeded_database):
    engine = seeded_database.engine
    sessions = async_sessionmaker(engine, class_=AsyncSession)
    holder, waiter = sessions(), sessions()
    try:
        await holder.execute(text("SELECT * FROM accounts WHERE id = 1 FOR UPDATE"))
        holder_pid = (await holder.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        waiting = asyncio.create_task(
            waiter.execute(text("SELECT * FROM accounts WHERE id = 1 FOR UPDATE"))
        )
        for _ in range(100):
            locks = await locks_on(engine, "accounts")
            if any(not lock.granted for lock in locks):
                break
            await asyncio.sleep(0.02)
        blocked = [lock for lock in locks if not lock.granted]
        assert blocked and blocked[0].blocked_by == (holder_pid,)
        assert any(lock.pid == holder_pid and lock.mode == "RowShareLock" for lock in locks)
        rows = await row_locks(engine, "accounts")
        assert len(rows) == 1 and rows[0].pids == (holder_pid,)
        assert "WAITS" in await format_locks(engine, "accounts")
        await holder.rollback()
        await asyncio.wait_for(waiting, timeout=60)
    finally:
        await holder.close()
        await waiter.close()


@pytest.mark.asyncio
async def test_without_pgrowlocks_the_lock_table_says_why_no_row_is_shown(seeded_database):
    """On a server where the learner is no superuser, the extension cannot be installed."""
    engine = seeded_database.engine
    async with engine.begin() as conn:
        await conn.execute(text("DROP EXTENSION pgrowlocks"))
    async with engine.connect() as holder:
        await holder.execute(text("SELECT * FROM accounts WHERE id = 1 FOR UPDATE"))
        shown = await format_locks(engine, "accounts")
        await holder.rollback()
    assert shown.splitlines()[-1].startswith(
        "Locked rows in accounts: not shown, because the pgrowlocks extension is not installed"
    ), shown


@pytest.mark.asyncio
async def test_measure_reports_the_median_of_its_runs(capsys):
    delays = iter([0.01, 0.05, 0.02, 0.03, 0.04])

    async def work() -> None:
        await asyncio.sleep(next(delays))

    timing = await measure("sleep", work, runs=5, warmup=0)
    assert len(timing.seconds) == 5
    assert 0.028 < timing.median < 0.045
    assert capsys.readouterr().out.startswith("sleep: median ")


@pytest.mark.asyncio
async def test_frozen_relay_holds_a_pooled_connection_until_thawed(seeded_database):
    from asyncdb_lab.instruments.frozen import FrozenRelay

    async with FrozenRelay(seeded_database.url) as relay:
        engine = create_async_engine(relay.url, pool_size=1)
        try:
            async with engine.connect() as conn:  # warm: the pooled connection goes through it
                assert await conn.scalar(text("SELECT count(*) FROM users")) == 1000
            relay.freeze()
            async with engine.connect() as conn:
                query = asyncio.ensure_future(conn.scalar(text("SELECT 41 + 1")))
                done, _ = await asyncio.wait({query}, timeout=0.5)
                assert not done, "a frozen relay passed the query on"
                relay.thaw()
                assert await asyncio.wait_for(query, timeout=30) == 42
        finally:
            await engine.dispose()
