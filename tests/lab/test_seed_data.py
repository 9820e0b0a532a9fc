"""The seed data: its generator, the committed CSVs, the schema and loading them into PostgreSQL."""

from __future__ import annotations

import csv
import importlib.util
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import asyncpg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import selectinload
from support.postgres import connected

from asyncdb_lab import seed
from asyncdb_lab.models import Account, Base, Order, User
from asyncdb_lab.settings import REPO

GENERATOR = REPO / "data" / "generate_seed.py"
COMMITTED_SEED = REPO / "data" / "seed"
FIRST_DAY, LAST_DAY = date(2026, 4, 1), date(2026, 6, 29)

EXPECTED_CONSTRAINTS = {
    "users_pkey",
    "users_email_key",
    "posts_pkey",
    "posts_author_id_fkey",
    "accounts_pkey",
    "accounts_owner_id_fkey",
    "accounts_balance_check",
    "products_pkey",
    "products_sku_key",
    "products_price_check",
    "products_stock_check",
    "orders_pkey",
    "orders_user_id_fkey",
    "orders_status_check",
    "order_items_pkey",
    "order_items_order_id_fkey",
    "order_items_product_id_fkey",
    "order_items_quantity_check",
}
EXPECTED_INDEXES = {"ix_posts_author_id", "ix_orders_user_id", "ix_order_items_order_id"}


def _generator_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_seed", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows(table: str) -> list[dict[str, str]]:
    with (COMMITTED_SEED / f"{table}.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _ts(value: str) -> datetime:
    assert value.endswith("+00:00"), f"timestamp {value!r} should carry an explicit +00:00"
    return datetime.fromisoformat(value)


def _asyncpg_url(dsn: str) -> str:
    return make_url(dsn).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


# -- the generator and the committed files -------------------------------------------------


def test_generator_is_deterministic_and_committed_csvs_are_current(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(GENERATOR), "--out", str(tmp_path)], check=True, capture_output=True
    )
    generated = sorted(p.name for p in tmp_path.iterdir())
    committed = sorted(p.name for p in COMMITTED_SEED.iterdir())
    assert generated == committed == sorted(f"{t}.csv" for t in seed.TABLES_IN_LOAD_ORDER)
    for name in generated:
        assert (tmp_path / name).read_bytes() == (COMMITTED_SEED / name).read_bytes(), (
            f"data/seed/{name} is out of date: run `python data/generate_seed.py` and commit it"
        )


def test_seed_folder_stays_small_and_uses_unix_line_endings() -> None:
    files = list(COMMITTED_SEED.glob("*.csv"))
    assert sum(p.stat().st_size for p in files) < 3 * 1024 * 1024
    for path in files:
        data = path.read_bytes()
        assert b"\r" not in data, path.name
        data.decode("utf-8")


def test_row_counts_and_contiguous_ids() -> None:
    counts = {table: len(_rows(table)) for table in seed.TABLES_IN_LOAD_ORDER}
    assert counts["users"] == 1000
    assert counts["posts"] == 5000
    assert counts["accounts"] == 1000
    assert counts["products"] == 200
    assert counts["orders"] == 2000
    assert 5000 <= counts["order_items"] <= 6000
    for table, count in counts.items():
        assert [int(r["id"]) for r in _rows(table)] == list(range(1, count + 1)), table


def test_some_users_have_no_posts() -> None:
    user_ids = {int(r["id"]) for r in _rows("users")}
    authors = {int(r["author_id"]) for r in _rows("posts")}
    assert authors <= user_ids
    without_posts = user_ids - authors
    assert 100 <= len(without_posts) <= 200, len(without_posts)


def test_users_emails_and_names_look_real() -> None:
    users = _rows("users")
    emails = [u["email"] for u in users]
    assert len(set(emails)) == len(emails)
    for user in users:
        assert user["email"] == user["email"].lower()
        assert user["email"].endswith("@example.com")
        first, last = user["name"].split(" ")
        assert first.isalpha() and last.isalpha(), user["name"]


def test_days_without_signups_have_none_and_every_other_day_has_some() -> None:
    days_without = _generator_module().DAYS_WITHOUT_SIGNUPS
    assert len(days_without) >= 5
    assert len(set(days_without)) == len(days_without)
    assert all(FIRST_DAY <= d <= LAST_DAY for d in days_without)
    signup_days = {_ts(u["created_at"]).astimezone(UTC).date() for u in _rows("users")}
    all_days = {FIRST_DAY + timedelta(days=i) for i in range(90)}
    assert signup_days == all_days - set(days_without)


def test_children_are_created_after_their_user() -> None:
    signup = {int(u["id"]): _ts(u["created_at"]) for u in _rows("users")}
    period_end = datetime(2026, 6, 30, tzinfo=UTC)
    for table, owner in (("posts", "author_id"), ("orders", "user_id")):
        for row in _rows(table):
            created = _ts(row["created_at"])
            assert signup[int(row[owner])] < created < period_end, (table, row["id"])


def test_accounts_products_and_order_items_values() -> None:
    accounts = _rows("accounts")
    assert [int(a["owner_id"]) for a in accounts] == [int(a["id"]) for a in accounts]
    balances = [Decimal(a["balance"]) for a in accounts]
    assert all(Decimal("0.00") <= b <= Decimal("5000.00") for b in balances)
    assert all(b == b.quantize(Decimal("0.01")) for b in balances)
    assert balances.count(Decimal("0.00")) >= 3

    products = _rows("products")
    assert [p["sku"] for p in products] == [f"SKU-{i:04d}" for i in range(1, 201)]
    assert all(Decimal("1.00") <= Decimal(p["price"]) <= Decimal("500.00") for p in products)
    stock = Counter(int(p["stock"]) for p in products)
    assert min(stock) >= 0 and max(stock) <= 100
    assert stock[0] >= 3 and stock[1] >= 3

    statuses = Counter(o["status"] for o in _rows("orders"))
    assert set(statuses) == {"pending", "paid", "shipped", "cancelled"}

    price = {p["id"]: p["price"] for p in products}
    per_order = Counter(item["order_id"] for item in _rows("order_items"))
    assert set(per_order.values()) <= {1, 2, 3, 4, 5}
    assert len(per_order) == 2000
    for item in _rows("order_items"):
        assert item["unit_price"] == price[item["product_id"]]
        assert int(item["quantity"]) > 0


# -- the loader module, without a database -------------------------------------------------


def test_load_order_puts_parents_first_and_covers_every_table() -> None:
    order = seed.TABLES_IN_LOAD_ORDER
    assert set(order) == set(Base.metadata.tables)
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            assert order.index(fk.column.table.name) < order.index(table.name), fk


def test_schema_statements_create_every_table_and_index() -> None:
    statements = seed.schema_statements()
    created = [s.split()[2] for s in statements if s.startswith("CREATE TABLE")]
    assert sorted(created) == sorted(Base.metadata.tables)
    indexes = {s.split()[2] for s in statements if s.startswith("CREATE INDEX")}
    assert indexes == EXPECTED_INDEXES


def test_seed_dir_can_be_overridden_by_environment(tmp_path: Path) -> None:
    code = "from asyncdb_lab import seed; print(seed.SEED_DIR)"
    env = {**os.environ, "ASYNCDB_LAB_SEED_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    ).stdout
    assert Path(out.strip()) == tmp_path
    env.pop("ASYNCDB_LAB_SEED_DIR")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    ).stdout
    assert Path(out.strip()) == COMMITTED_SEED


def test_fingerprint_is_stable_and_follows_the_csv_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = seed.seed_fingerprint()
    assert original == seed.seed_fingerprint()
    assert len(original) == 16 and int(original, 16) >= 0

    copy = tmp_path / "seed"
    shutil.copytree(COMMITTED_SEED, copy)
    monkeypatch.setattr(seed, "SEED_DIR", copy)
    assert seed.seed_fingerprint() == original
    products = copy / "products.csv"
    products.write_bytes(products.read_bytes().replace(b"SKU-0001", b"SKU-9999"))
    assert seed.seed_fingerprint() != original


# -- loading into a real PostgreSQL database -----------------------------------------------


@asynccontextmanager
async def _loaded(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to `dsn` after the course's schema and seed rows have gone in."""
    async with connected(dsn) as conn:
        await seed.create_schema(conn)
        await seed.load_seed(conn)
        yield conn


@pytest.mark.asyncio
async def test_load_seed_fills_every_table_with_the_csv_rows(empty_database_dsn: str) -> None:
    async with connected(empty_database_dsn) as conn:
        assert (
            await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0
        )
        await seed.create_schema(conn)
        await seed.load_seed(conn)
        for table in seed.TABLES_IN_LOAD_ORDER:
            count = await conn.fetchval(f"SELECT count(*) FROM {table}")
            assert count == len(_rows(table)), table
        first = await conn.fetchrow("SELECT * FROM users WHERE id = 1")
        assert first["email"] == _rows("users")[0]["email"]
        assert first["created_at"] == _ts(_rows("users")[0]["created_at"])
        analyzed = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL"
        )
        assert analyzed == len(seed.TABLES_IN_LOAD_ORDER)


@pytest.mark.asyncio
async def test_constraints_and_indexes_have_postgres_default_names(
    empty_database_dsn: str,
) -> None:
    async with connected(empty_database_dsn) as conn:
        await seed.create_schema(conn)
        names = {
            r["conname"]
            for r in await conn.fetch(
                # contype 'n': PostgreSQL 18 also lists NOT NULL constraints here
                "SELECT conname FROM pg_constraint"
                " WHERE connamespace = 'public'::regnamespace AND contype <> 'n'"
            )
        }
        assert names == EXPECTED_CONSTRAINTS
        indexes = {
            r["indexname"]
            for r in await conn.fetch(
                "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'"
                " AND indexname LIKE 'ix\\_%'"
            )
        }
        assert indexes == EXPECTED_INDEXES


@pytest.mark.asyncio
async def test_inserts_after_loading_get_fresh_ids(empty_database_dsn: str) -> None:
    async with _loaded(empty_database_dsn) as conn:
        new_id = await conn.fetchval(
            "INSERT INTO users (email, name) VALUES ('new.user@example.com', 'New User')"
            " RETURNING id"
        )
        assert new_id == 1001
        for table in seed.TABLES_IN_LOAD_ORDER:
            last_value = await conn.fetchval(
                "SELECT last_value FROM pg_sequences WHERE sequencename = $1", f"{table}_id_seq"
            )
            expected = 1001 if table == "users" else len(_rows(table))
            assert last_value == expected, table


@pytest.mark.asyncio
async def test_negative_balance_is_rejected_by_the_named_check(empty_database_dsn: str) -> None:
    async with _loaded(empty_database_dsn) as conn:
        with pytest.raises(asyncpg.CheckViolationError) as caught:
            await conn.execute("UPDATE accounts SET balance = -0.01 WHERE id = 1")
        assert caught.value.sqlstate == "23514"
        assert caught.value.constraint_name == "accounts_balance_check"
        assert await conn.fetchval("SELECT balance FROM accounts WHERE id = 1") == Decimal(
            _rows("accounts")[0]["balance"]
        )


@pytest.mark.asyncio
async def test_a_failing_load_leaves_no_rows_behind(
    empty_database_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "seed"
    shutil.copytree(COMMITTED_SEED, broken)
    items = broken / "order_items.csv"
    lines = items.read_text(encoding="utf-8").splitlines(keepends=True)
    fields = lines[-1].split(",")
    fields[3] = "0"  # quantity 0 violates order_items_quantity_check
    lines[-1] = ",".join(fields)
    items.write_text("".join(lines), encoding="utf-8", newline="")
    monkeypatch.setattr(seed, "SEED_DIR", broken)

    async with connected(empty_database_dsn) as conn:
        await seed.create_schema(conn)
        with pytest.raises(asyncpg.CheckViolationError):
            await seed.load_seed(conn)
        for table in seed.TABLES_IN_LOAD_ORDER:
            assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0, table


@pytest.mark.asyncio
async def test_models_read_the_seed_back(empty_database_dsn: str) -> None:
    async with _loaded(empty_database_dsn):
        pass  # the rows are in; the ORM reads them on connections of its own
    engine = create_async_engine(_asyncpg_url(empty_database_dsn))
    try:
        async with async_sessionmaker(engine)() as session:
            users = (
                await session.scalars(
                    select(User).options(selectinload(User.posts)).order_by(User.id)
                )
            ).all()
            account = await session.get(Account, 1)
            paid = await session.scalar(
                select(func.count()).select_from(Order).where(Order.status == "paid")
            )
        # Everything needed was loaded eagerly: usable after the session is closed.
        assert len(users) == 1000
        assert all(isinstance(u, User) for u in users)
        assert sum(len(u.posts) for u in users) == 5000
        authors = {int(p["author_id"]) for p in _rows("posts")}
        assert [u.id for u in users if not u.posts] == [u.id for u in users if u.id not in authors]
        first_post = next(p for u in users for p in u.posts if p.id == 1)
        assert first_post.title == _rows("posts")[0]["title"]
        assert users[0].created_at.tzinfo is not None
        assert isinstance(account, Account)
        assert isinstance(account.balance, Decimal)
        assert account.balance == Decimal(_rows("accounts")[0]["balance"])
        assert paid == sum(1 for o in _rows("orders") if o["status"] == "paid")
    finally:
        await engine.dispose()
