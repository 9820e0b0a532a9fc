# %% [markdown] id=intro
# # **05 · Savepoints: undo part of a transaction**
#
# Keep the good part of a unit of work when one piece of it fails, with `session.begin_nested()` — and know exactly where to catch the exception so that only that piece is undone.
#
# **Learning goals**
# - See why one failed statement aborts a whole PostgreSQL transaction, and what a `SAVEPOINT` changes.
# - Use `session.begin_nested()` and read the `SAVEPOINT` / `RELEASE` / `ROLLBACK TO SAVEPOINT` statements it sends.
# - Know that a savepoint only limits a rollback when the exception is caught *outside* its block.
# - Recognise `PendingRollbackError` and what it tells you.
# - Tell database errors apart by their SQLSTATE code, never by their message text.
#
# **Prerequisites**: notebooks 02 (flush vs commit, the caller owns the unit of work) and 04 (transactions, `SELECT … FOR UPDATE`).
#
# **Out of scope**: retrying a whole transaction with a fresh session (notebook 09), savepoints in test fixtures (notebook 10).

# %% [markdown] id=setup
# ## Setup
#
# Run the next cell first. It gives this notebook its own PostgreSQL database with the seed data, and imports the course models.
# Running it again gives you a clean database.

# %% readonly id=setup-database
from asyncdb_lab import count_statements, disposable_database
from asyncdb_lab.models import Order, OrderItem, Product, User

db = await disposable_database(seed=True)
engine, session_factory = db.engine, db.session_factory

# %% [markdown] id=part-a-failed-statement-poisons
# ---
# ## Part A — One failed statement poisons the whole transaction (0 points)
#
# A transaction is all or nothing.
# PostgreSQL takes that literally: after any statement fails inside a transaction, the server refuses every further statement until the transaction ends with `ROLLBACK`.
# The refusal has its own error code, `25P02` ("current transaction is aborted").
#
# The next cell inserts one user, then a second user whose email is already taken, then tries to carry on.
# It uses a plain connection and `text()`, so you see exactly what the server does; it rolls everything back at the end.

# %% id=part-a-failed-statement-code
import asyncio

from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, PendingRollbackError

taken = "lina.garcia1@example.com"  # user 1's email in the seed data

async with engine.connect() as conn:
    await conn.execute(text("INSERT INTO users (email, name) VALUES ('first@example.test', 'First')"))
    try:
        await conn.execute(text("INSERT INTO users (email, name) VALUES (:email, 'Again')"), {"email": taken})
    except IntegrityError as error:
        print(f"second insert -> {type(error).__name__}, SQLSTATE {error.orig.sqlstate}")
    try:
        await conn.execute(text("SELECT count(*) FROM users"))
    except DBAPIError as error:
        print(f"next statement -> {type(error).__name__}, SQLSTATE {error.orig.sqlstate}: {error.orig.args[0]}")
    await conn.rollback()

# %% [markdown] id=first-insert-lost-rest
# The first insert is lost with the rest: the only way out of an aborted transaction is `ROLLBACK`.
# The ORM session behaves the same way, with a friendlier error.
#
# > **Common mistake: catching a failed flush and carrying on with the same session.**
# > `try: await session.flush() except IntegrityError: pass` looks like "skip the bad row".
# > But the flush failed inside the transaction, so SQLAlchemy has already rolled that transaction back, and the session refuses to be used again until you call `rollback()` yourself.
# > The next cell shows the `PendingRollbackError` you get on the very next query.

# %% id=first-insert-lost-rest-code
async with session_factory() as session:
    session.add(User(email="first@example.test", name="First"))
    session.add(User(email=taken, name="Again"))
    try:
        await session.flush()
    except IntegrityError as error:
        print(f"flush -> {type(error).__name__}, SQLSTATE {error.orig.sqlstate} (caught, carrying on…)")
    try:
        await session.scalar(select(func.count()).select_from(User))
    except PendingRollbackError as error:
        print(f"next query -> {type(error).__name__}: {str(error)[:130]}…")

# %% [markdown] id=there-two-honest-ways
# There are two honest ways out.
# When the whole unit of work should fail, roll back and start again with a fresh session (notebook 09 retries that way).
# When only one piece should be undone, mark the point to return to with a **savepoint** before that piece.
#
# In SQL that is `SAVEPOINT name`; `ROLLBACK TO SAVEPOINT name` undoes everything after it (and clears the aborted state), `RELEASE SAVEPOINT name` keeps the work and forgets the mark.
# The outer transaction goes on either way.
#
# In SQLAlchemy, `session.begin_nested()` is that savepoint, used as an `async with` block:
#
# | the block ends… | SQLAlchemy sends | and then |
# |---|---|---|
# | normally | (flush), `RELEASE SAVEPOINT` | the work stays in the outer transaction |
# | with an exception | `ROLLBACK TO SAVEPOINT` | the exception **keeps travelling up** to whoever catches it |
#
# The fix for the mistake above, run: the risky flush goes inside `begin_nested()`, and the `try` goes around the block.

# %% id=there-two-honest-ways-code
with count_statements(engine) as sql:
    async with session_factory() as session:
        session.add(User(email="first@example.test", name="First"))
        await session.flush()
        try:
            async with session.begin_nested():
                session.add(User(email=taken, name="Again"))
                await session.flush()
        except IntegrityError as error:
            print(f"skipped the duplicate (SQLSTATE {error.orig.sqlstate})")
        emails = await session.scalars(select(User.email).where(User.email.in_(["first@example.test", taken])))
        print("the session still works; it sees:", sorted(emails))
        await session.rollback()  # a demonstration: leave the seed data as it was
print(sql)

# %% [markdown] id=statement-2-set-savepoint
# Statement 2 set the savepoint, statement 3 failed, statement 4 returned to the savepoint, and statement 5 ran as if nothing had happened.
# `First` is still there, inside the outer transaction.
# (The outer `BEGIN` and `ROLLBACK` go through asyncpg's own transaction API, not through SQLAlchemy's statement execution, so the statement log does not list them.)

# %% [markdown] id=part-b-where-catch-decides
# ---
# ## Part B — Where you catch decides what is undone (0 points)
#
# A savepoint is rolled back only when an exception *leaves* its `async with` block.
# So the position of your `try`/`except` decides what happens:
#
# - **`except` outside the block**: the savepoint is rolled back, you handle the exception, the outer transaction goes on. This is the one you want.
# - **`except` inside the block, then `raise`**: the savepoint is rolled back, then the exception keeps travelling; when it leaves `session.begin()`, the *whole* transaction is rolled back.
# - **`except` inside the block, swallowed**: the savepoint never sees an exception, so it is *released*: whatever the block already did is kept.
#
# The demonstrations use an order of product 1 (in stock) and product 78 (sold out in the seed data), and this small exception:

# %% id=out-of-stock
class OutOfStock(Exception):
    """An item cannot be ordered: unknown product, or not enough stock."""


async with session_factory() as session:
    for product in await session.scalars(select(Product).where(Product.id.in_([1, 78])).order_by(Product.id)):
        print(f"product {product.id}: stock {product.stock}, price {product.price}")

# %% [markdown] id=mistake-re-raising-inside
# > **Common mistake: re-raising inside `begin_nested()`.**
# > A widely copied tutorial wraps each order item in `async with session.begin_nested():`, catches the exception *inside* that block, and re-raises it, with a comment saying the savepoint rolls back "but the outer transaction continues".
# > It does not continue: the re-raised exception leaves the savepoint block, then leaves `session.begin()`, and that rolls back the whole order — the items that were fine and the order row itself.
# > The next cell is that shape, on our tables.

# %% id=order-reraising
async def order_reraising(user_id: int, items: list[tuple[int, int]], seen: dict) -> int:
    async with session_factory() as session, session.begin():
        order = Order(user_id=user_id)
        session.add(order)
        await session.flush()
        seen["order_id"] = order.id
        for product_id, quantity in items:
            async with session.begin_nested():
                try:
                    product = await session.get(Product, product_id, with_for_update=True)
                    if product is None or product.stock < quantity:
                        raise OutOfStock(product_id)
                    product.stock -= quantity
                    session.add(OrderItem(order_id=order.id, product_id=product_id,
                                          quantity=quantity, unit_price=product.price))
                    await session.flush()
                except Exception:
                    raise  # "the savepoint rolls back, the outer transaction continues" — it does not
        return order.id


seen = {}
with count_statements(engine) as sql:
    try:
        await order_reraising(1, [(1, 2), (78, 1)], seen)
    except OutOfStock as error:
        print(f"order_reraising raised {type(error).__name__}: product {error}")
print(sql.report(limit=12))
async with session_factory() as session:
    print(f"order {seen['order_id']} in the database:", await session.get(Order, seen["order_id"]))
    print("product 1 stock:", await session.scalar(select(Product.stock).where(Product.id == 1)))

# %% [markdown] id=order-was-written-product
# The order was written (statement 1), product 1's line was written and its savepoint released (statements 2–6), product 78's savepoint was rolled back (statements 7–9) — and then the exception left `session.begin()`, which rolled back everything.
# Order `None`, stock unchanged: the customer who ordered one good item and one sold-out item gets nothing.
#
# Swallowing the exception inside the block is wrong the other way round.
# Below, a line is checked *after* the stock was already decremented and flushed; the exception is caught inside the block, so the savepoint is released and the decrement stays, with no order line to show for it.

# %% id=order-was-written-product-code
async with session_factory() as session:
    try_quantity = 5
    async with session.begin_nested():
        try:
            product = await session.get(Product, 1, with_for_update=True)
            product.stock -= try_quantity
            await session.flush()
            if try_quantity > 3:
                raise OutOfStock("at most 3 per customer")  # the check came too late
        except OutOfStock as error:
            print(f"caught inside the block: {error}")
    stock = await session.scalar(select(Product.stock).where(Product.id == 1))
    print(f"product 1 stock inside the transaction: {stock} (the decrement was kept)")
    await session.rollback()  # a demonstration: leave the seed data as it was

# %% [markdown] id=fix-put-try
# The fix: put the `try` **around** `async with session.begin_nested():`.
# An exception raised in the block rolls back the savepoint on its way out, and the `except` outside handles it; the order goes on with the next item.

# %% id=order-catching-outside
async def order_catching_outside(user_id: int, items: list[tuple[int, int]]) -> tuple[int, list[int]]:
    skipped = []
    async with session_factory() as session, session.begin():
        order = Order(user_id=user_id)
        session.add(order)
        await session.flush()
        for product_id, quantity in items:
            try:
                async with session.begin_nested():
                    product = await session.get(Product, product_id, with_for_update=True)
                    if product is None or product.stock < quantity:
                        raise OutOfStock(product_id)
                    product.stock -= quantity
                    session.add(OrderItem(order_id=order.id, product_id=product_id,
                                          quantity=quantity, unit_price=product.price))
                    await session.flush()
            except OutOfStock:
                skipped.append(product_id)
        return order.id, skipped


order_id, skipped = await order_catching_outside(1, [(1, 2), (78, 1)])
print(f"order {order_id}, skipped {skipped}")
async with session_factory() as session:
    lines = await session.execute(select(OrderItem.product_id, OrderItem.quantity).where(OrderItem.order_id == order_id))
    print("its lines:", lines.all())
    print("product 1 stock:", await session.scalar(select(Product.stock).where(Product.id == 1)))

# %% [markdown] id=core-first-exercise
# That is the core of the first exercise.
# It is not finished yet: it writes an order even when every item is skipped, and `session.get(…, with_for_update=True)` has a trap — if the product is already in the session's identity map, the `FOR UPDATE` query runs and locks the row, but the object keeps the stock value it had before (add `populate_existing=True`, or load and lock before you read).

# %% [markdown] id=part-c-exercise-place-order
# ---
# ## Part C — Exercise: `place_order` (14 points)
#
# Write `place_order(session_factory, user_id, items)`. `items` is a list of `(product_id, quantity)` pairs.
#
# - Open your own session and transaction, and commit when the order is placed.
# - An item is **skipped** when its product does not exist, when the quantity is more than the stock (no partial lines), or when the database refuses the line with an integrity error (`IntegrityError`: a quantity below 1 breaks `order_items_quantity_check`).
# - Any other database error (a lock timeout, an error raised by a trigger) is not about one item: let it propagate unchanged, and write nothing — no order, no stock change, not even for the items before it.
# - Every other item becomes an `order_items` row with `unit_price` equal to the product's price, and its stock goes down by the quantity.
# - Return `(order id, skipped product ids)`, the skipped ids in the order they appear in `items`.
# - When every item is skipped (or `items` is empty), write **nothing**: no order row, no stock change, and return `(None, skipped)`.
#
# Orders arrive concurrently. Two customers buying the last unit at the same time must not both get it: lock the product rows (`SELECT … FOR UPDATE`, notebook 04) before you read their stock.
# Locking all of an order's products at once, in product id order, also means two orders never wait for each other in a circle; the checks start two orders that list the same products in opposite orders while those rows are busy, so a lock order that only usually works fails there.
# One savepoint per item lets the database refuse one line without losing the others.
#
# Hints: `select(Product).where(Product.id.in_(ids)).order_by(Product.id).with_for_update()`; `OutOfStock` from Part B is yours to use; `await session.rollback()` inside `session.begin()` ends the transaction without writing anything.

# %% solution id=place_order
async def place_order(session_factory, user_id: int, items: list[tuple[int, int]]) -> tuple[int | None, list[int]]:
    """Place one order of the items that can be served; return (order id or None, skipped product ids)."""
    ### BEGIN SOLUTION
    skipped: list[int] = []
    async with session_factory() as session, session.begin():
        # Lock every product of the order at once, in id order: concurrent orders for the same
        # product queue here, and two orders never lock the same products in opposite orders.
        product_ids = sorted({product_id for product_id, _ in items})
        await session.scalars(
            select(Product).where(Product.id.in_(product_ids)).order_by(Product.id).with_for_update()
        )
        order = Order(user_id=user_id)
        session.add(order)
        await session.flush()
        for product_id, quantity in items:
            try:
                async with session.begin_nested():
                    product = await session.get(Product, product_id)  # locked above
                    if product is None or product.stock < quantity:
                        raise OutOfStock(product_id)
                    product.stock -= quantity
                    session.add(OrderItem(order_id=order.id, product_id=product_id,
                                          quantity=quantity, unit_price=product.price))
                    await session.flush()
            except (OutOfStock, IntegrityError):
                skipped.append(product_id)
        if len(skipped) == len(items):
            await session.rollback()  # nothing to order: no order row, no stock change
            return None, skipped
    return order.id, skipped
    ### END SOLUTION

# %% [markdown] id=tests-below-each-use
# The tests below each use a fresh copy of the seed database, so they do not depend on what you ran above.
# In the seed data, products 1 and 2 have plenty of stock, product 78 has none and product 13 has exactly one.

# %% tests id=test_place_order_basic points=2
"""Check that place_order orders the items in stock at their price, skips an unknown product and decrements stock."""
import asyncio

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from asyncdb_lab.checks import expect, expect_type


async def _products(factory, ids):
    async with factory() as s:
        rows = await s.execute(select(Product.id, Product.stock, Product.price).where(Product.id.in_(ids)))
        return {row.id: (row.stock, row.price) for row in rows}


async def _lines(factory, order_id):
    async with factory() as s:
        rows = await s.execute(
            select(OrderItem.product_id, OrderItem.quantity, OrderItem.unit_price)
            .where(OrderItem.order_id == order_id).order_by(OrderItem.id)
        )
        return [tuple(row) for row in rows]


async with disposable_database(seed=True, label="check_place_order", say=False) as check:
    check_engine = create_async_engine(check.url, pool_size=3, max_overflow=0)
    try:
        factory = async_sessionmaker(check_engine, expire_on_commit=False)
        before = await _products(factory, [1, 2])
        result = await asyncio.wait_for(place_order(factory, 7, [(1, 2), (999_999, 1), (2, 1)]), 10)
        expect_type(result, tuple, "place_order's result", "Return a tuple (order id, skipped product ids).")
        order_id, skipped = result
        expect_type(order_id, int, "the order id", "Return the id of the order you created (order.id).")
        expect(skipped, [999_999], "skipped product ids", "Product 999999 does not exist: skip it, keep the others.")
        expect(await _lines(factory, order_id), [(1, 2, before[1][1]), (2, 1, before[2][1])],
               "the order's lines (product_id, quantity, unit_price)",
               "One order_items row per ordered item, in the order given, with unit_price = the product's price.")
        after = await _products(factory, [1, 2])
        expect({pid: stock for pid, (stock, _) in after.items()}, {1: before[1][0] - 2, 2: before[2][0] - 1},
               "stock after the order", "Decrement each ordered product's stock by its quantity.")
        ### BEGIN HIDDEN TESTS
        async with factory() as s:
            order = await s.get(Order, order_id)
        assert order is not None and order.user_id == 7, (
            "The order must be committed and belong to the user_id you were given."
        )
        second = await asyncio.wait_for(place_order(factory, 8, [(3, 1)]), 10)
        expect_type(second[0], int, "the id of a second order", "Each call places (and commits) its own order.")
        assert second[0] != order_id, "A second call must create a new order, not reuse the first one."
        expect(second[1], [], "skipped ids when nothing is skipped", "Return an empty list when every item was ordered.")
        ### END HIDDEN TESTS
    finally:
        await check_engine.dispose()

# %% tests id=test_place_order_skips points=3
"""Check that place_order skips sold-out items and writes nothing when every item is skipped."""
import asyncio

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from asyncdb_lab.checks import expect, expect_type


async def _count(factory, model):
    async with factory() as s:
        return await s.scalar(select(func.count()).select_from(model))


async def _stock(factory, product_id):
    async with factory() as s:
        return await s.scalar(select(Product.stock).where(Product.id == product_id))


async with disposable_database(seed=True, label="check_place_order", say=False) as check:
    check_engine = create_async_engine(check.url, pool_size=3, max_overflow=0)
    try:
        factory = async_sessionmaker(check_engine, expire_on_commit=False)
        order_id, skipped = await asyncio.wait_for(place_order(factory, 5, [(78, 1), (1, 1)]), 10)
        expect_type(order_id, int, "the order id", "Product 1 is in stock, so an order is placed.")
        expect(skipped, [78], "skipped product ids", "Product 78 has no stock: skip it.")
        ### BEGIN HIDDEN TESTS
        orders, lines = await _count(factory, Order), await _count(factory, OrderItem)
        result = await asyncio.wait_for(place_order(factory, 5, [(78, 1), (999_999, 1), (13, 2)]), 10)
        expect(result, (None, [78, 999_999, 13]), "place_order when every item is skipped",
               "Nothing can be ordered (sold out, unknown, more than the stock): return (None, skipped).")
        expect(await _count(factory, Order), orders, "rows in orders after an order with nothing in it",
               "When every item is skipped, write nothing: no empty order row. Roll back instead of committing.")
        expect(await _count(factory, OrderItem), lines, "rows in order_items after an order with nothing in it",
               "When every item is skipped, write nothing.")
        expect(await _stock(factory, 13), 1, "stock of product 13 after asking for 2 of its 1",
               "A quantity above the stock is skipped entirely: no partial line, no stock change.")

        result = await asyncio.wait_for(place_order(factory, 5, []), 10)
        expect(result, (None, []), "place_order with no items", "No items: nothing to order, return (None, []).")
        expect(await _count(factory, Order), orders, "rows in orders after an order with no items",
               "No items means no order row.")

        stock_1, stock_2 = await _stock(factory, 1), await _stock(factory, 2)
        order_id, skipped = await asyncio.wait_for(place_order(factory, 5, [(1, 0), (2, -3), (13, 1)]), 10)
        expect(skipped, [1, 2], "skipped ids for quantities 0 and -3",
               "The database refuses a line with quantity below 1 (order_items_quantity_check): "
               "catch that IntegrityError outside the item's savepoint and skip the item.")
        expect_type(order_id, int, "the order id", "Product 13 (quantity 1) can be ordered.")
        expect((await _stock(factory, 1), await _stock(factory, 2), await _stock(factory, 13)), (stock_1, stock_2, 0),
               "stock of products 1, 2 and 13 afterwards",
               "A refused line must leave its product's stock as it was: the savepoint undoes the decrement too.")
        ### END HIDDEN TESTS
    finally:
        await check_engine.dispose()

# %% tests id=test_place_order_last_unit points=3
"""Check that concurrent orders for the last unit of a product sell it exactly once."""
### BEGIN HIDDEN TESTS
import asyncio

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from asyncdb_lab.checks import expect, expect_type

TASKS = 10
async with disposable_database(seed=True, label="check_place_order", say=False) as check:
    check_engine = create_async_engine(check.url, pool_size=TASKS + 2, max_overflow=0, pool_timeout=10)
    try:
        factory = async_sessionmaker(check_engine, expire_on_commit=False)
        async with factory() as s:
            stock_1 = await s.scalar(select(Product.stock).where(Product.id == 1))
        # Hold product 24 (its last unit) locked while every order starts, so that they all
        # reach the product at the same moment; then let them go.
        async with check_engine.connect() as holder:
            await holder.execute(text("SELECT id FROM products WHERE id = 24 FOR UPDATE"))
            tasks = [asyncio.create_task(place_order(factory, 100 + n, [(24, 1), (1, 1)])) for n in range(TASKS)]
            # Read pg_stat_activity outside the holder's transaction: inside one it is a snapshot.
            for _ in range(400):
                await asyncio.sleep(0.05)
                async with check_engine.connect() as watcher:
                    waiting = await watcher.scalar(text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    ))
                if waiting >= TASKS or all(t.done() for t in tasks):
                    break
            await holder.rollback()
        try:
            results = await asyncio.wait_for(asyncio.gather(*tasks), 20)
        except TimeoutError:
            raise AssertionError("Concurrent place_order calls did not finish within 20 s: do they wait for each other in a circle?") from None
        for order_id, skipped in results:
            expect_type(order_id, int, "each order id", "Every order still gets product 1, so every call places an order.")
        winners = [r for r in results if r[1] == []]
        expect(len(winners), 1, "orders that got the last unit of product 24",
               "Ten orders read stock 1 at the same time. Lock the product row (SELECT … FOR UPDATE) before "
               "reading its stock, with a fresh value, so only the first one sees the unit.")
        expect(sorted(r[1] for r in results if r[1] != []), [[24]] * (TASKS - 1), "skipped ids of the other orders",
               "Every other order must skip product 24.")
        async with factory() as s:
            stock_24 = await s.scalar(select(Product.stock).where(Product.id == 24))
            sold_24 = await s.scalar(select(func.count()).select_from(OrderItem).where(
                OrderItem.product_id == 24, OrderItem.order_id.in_([r[0] for r in results])))
            stock_1_after = await s.scalar(select(Product.stock).where(Product.id == 1))
        expect((stock_24, sold_24), (0, 1), "(stock of product 24, order lines for it)",
               "One unit, one line: the stock must end at 0 with exactly one order line.")
        expect(stock_1_after, stock_1 - TASKS, "stock of product 1 after ten orders of one unit",
               "Each order decrements the stock it read under a lock; an unlocked read loses updates.")
    finally:
        await check_engine.dispose()
### END HIDDEN TESTS

# %% tests id=test_place_order_stock_conserved points=2
"""Check that many concurrent orders never sell more than the stock and leave no empty orders."""
### BEGIN HIDDEN TESTS
import asyncio
import random
from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from asyncdb_lab.checks import expect, expect_type

PRODUCTS = [13, 24, 67, 109, 5]  # stock 1, 1, 1, 1 and 47 in the seed data
draw = random.Random(5)
orders_wanted = []
for _ in range(24):
    chosen = sorted(draw.sample(PRODUCTS, draw.randint(1, 3)))
    orders_wanted.append([(pid, draw.randint(1, 2)) for pid in chosen])

async with disposable_database(seed=True, label="check_place_order", say=False) as check:
    check_engine = create_async_engine(check.url, pool_size=10, max_overflow=0, pool_timeout=20)
    try:
        factory = async_sessionmaker(check_engine, expire_on_commit=False)

        async def _stocks():
            async with factory() as s:
                rows = await s.execute(select(Product.id, Product.stock).where(Product.id.in_(PRODUCTS)))
                return dict(rows.all())

        before = await _stocks()
        async with factory() as s:
            last_order_before = await s.scalar(select(func.max(Order.id)))
        try:
            results = await asyncio.wait_for(
                asyncio.gather(*(place_order(factory, 200 + n, items) for n, items in enumerate(orders_wanted))), 30)
        except TimeoutError:
            raise AssertionError("24 concurrent place_order calls did not finish within 30 s.") from None
        after = await _stocks()
        placed = [r[0] for r in results if r[0] is not None]
        async with factory() as s:
            lines = (await s.execute(select(OrderItem.order_id, OrderItem.product_id, OrderItem.quantity)
                                     .where(OrderItem.order_id.in_(placed)))).all()
            stored_orders = set(await s.scalars(select(Order.id).where(Order.id > last_order_before)))
        sold = Counter()
        for line in lines:
            sold[line.product_id] += line.quantity
        for pid in PRODUCTS:
            assert after[pid] >= 0, f"product {pid} has negative stock {after[pid]}"
            expect(before[pid] - after[pid], sold[pid], f"units of product {pid} removed from stock vs sold",
                   "Every unit taken from stock must be on exactly one order line, and no more than the stock "
                   "may be sold: lock the products before reading their stock.")
        expect(stored_orders, set(placed), "ids of the orders stored vs returned",
               "Return the id of every order you committed, and None (with nothing written) otherwise.")
        with_lines = Counter(line.order_id for line in lines)
        for (order_id, skipped), items in zip(results, orders_wanted):
            if order_id is not None:
                ordered = sorted(line.product_id for line in lines if line.order_id == order_id)
                expect(sorted(ordered + skipped), [pid for pid, _ in items],
                       f"ordered + skipped products of order {order_id}",
                       "Each item is either on the order or in the skipped list.")
                assert with_lines[order_id] > 0, f"order {order_id} has no lines: it should not exist."
            else:
                expect(skipped, [pid for pid, _ in items], "skipped ids of an order that placed nothing",
                       "When nothing can be ordered, every item is skipped.")
    finally:
        await check_engine.dispose()
### END HIDDEN TESTS

# %% tests id=test_place_order_lock_order points=2
"""Check that two orders listing the same products in opposite orders never deadlock, even when they meet."""
### BEGIN HIDDEN TESTS
import asyncio

from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from asyncdb_lab.checks import expect, expect_type

WAITING = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


async def wait_until_blocked(watcher, count, tasks, limit=10.0):
    """Poll (outside any transaction) until `count` backends wait for a lock, or the tasks are done."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while loop.time() < deadline and not all(task.done() for task in tasks):
        if await watcher.scalar(WAITING) >= count:
            return
        await asyncio.sleep(0.02)


async with disposable_database(seed=True, label="check_place_order", say=False) as check:
    patient = create_async_engine(check.url, pool_size=4, max_overflow=0,
                                  connect_args={"server_settings": {"lock_timeout": "30s"}})
    side = create_async_engine(check.url, poolclass=NullPool)
    database_errors = []

    def record(context) -> None:
        code = getattr(context.original_exception, "sqlstate", None)
        database_errors.append((code, str(context.original_exception).splitlines()[0]))

    event.listen(patient.sync_engine, "handle_error", record)
    try:
        factory = async_sessionmaker(patient, expire_on_commit=False)
        async with side.connect() as watcher:
            watcher = await watcher.execution_options(isolation_level="AUTOCOMMIT")
            # Product 4 is busy (another transaction holds it) while the first order starts and
            # waits, and while the opposite one starts; then both go at once.
            for first, second in [([(4, 1), (6, 1)], [(6, 1), (4, 1)]), ([(6, 1), (4, 1)], [(4, 1), (6, 1)])]:
                stock_before = dict((await watcher.execute(text("SELECT id, stock FROM products WHERE id IN (4, 6)"))).all())
                async with side.connect() as holder:
                    await holder.execute(text("SELECT id FROM products WHERE id = 4 FOR UPDATE"))
                    one = asyncio.create_task(place_order(factory, 11, first))
                    await wait_until_blocked(watcher, 1, [one])
                    two = asyncio.create_task(place_order(factory, 12, second))
                    await wait_until_blocked(watcher, 2, [one, two])
                    await holder.rollback()
                done, _ = await asyncio.wait([one, two], timeout=20)
                for task in (one, two):
                    if not task.done():
                        task.cancel()
                await asyncio.gather(one, two, return_exceptions=True)
                deadlocks = [message for code, message in database_errors if code == "40P01"]
                assert not deadlocks, (
                    f"place_order with items {first} and with items {second}, started while product 4 was busy, "
                    f"deadlocked: {deadlocks[0]!r}. Each locked the products in the order of its items. Lock all "
                    "of an order's products in one statement, ordered by product id, before the first item."
                )
                assert len(done) == 2, "Two concurrent orders did not finish within 20 s after the lock was free."
                for task, items in ((one, first), (two, second)):
                    if task.exception() is not None:
                        error = task.exception()
                        raise AssertionError(
                            f"place_order(factory, ..., {items}) raised {type(error).__name__}: {error} while an "
                            "order for the same products in the opposite order ran."
                        )
                    expect_type(task.result()[0], int, f"the order id of the order of {items}",
                                "Both products are in stock: both orders are placed.")
                    expect(task.result()[1], [], f"skipped ids of the order of {items}",
                           "Both products are in stock: nothing is skipped.")
                stock_after = dict((await watcher.execute(text("SELECT id, stock FROM products WHERE id IN (4, 6)"))).all())
                expect(stock_after, {4: stock_before[4] - 2, 6: stock_before[6] - 2},
                       "stock of products 4 and 6 after two orders of one unit each", "Each order takes one of each.")
    finally:
        await patient.dispose()
        await side.dispose()
### END HIDDEN TESTS

# %% tests id=test_place_order_other_errors points=2
"""Check that database errors that are not about one item propagate unchanged and leave nothing written."""
### BEGIN HIDDEN TESTS
import asyncio

from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from asyncdb_lab.checks import expect


async def expect_database_error(call, sqlstate: str, what: str, hint: str) -> None:
    try:
        await asyncio.wait_for(call, timeout=15)
    except DBAPIError as error:
        got = getattr(error.orig, "sqlstate", None)
        if got == sqlstate:
            return
        raise AssertionError(f"{what}: expected the database error {sqlstate} to propagate, got {got}: {error}. {hint}") from None
    except Exception as error:
        raise AssertionError(
            f"{what}: expected the database error (SQLSTATE {sqlstate}) to propagate unchanged, got "
            f"{type(error).__name__}: {error}. {hint}"
        ) from None
    raise AssertionError(f"{what}: expected the database error {sqlstate}, but nothing was raised. {hint}")


async def written(conn):
    orders = await conn.scalar(text("SELECT count(*) FROM orders"))
    lines = await conn.scalar(text("SELECT count(*) FROM order_items"))
    stock = dict((await conn.execute(text("SELECT id, stock FROM products WHERE id IN (7, 8, 9)"))).all())
    return orders, lines, stock


async with disposable_database(seed=True, label="check_place_order", say=False) as check:
    impatient = create_async_engine(check.url, pool_size=2, max_overflow=0,
                                    connect_args={"server_settings": {"lock_timeout": "300ms"}})
    side = create_async_engine(check.url, poolclass=NullPool)
    try:
        factory = async_sessionmaker(impatient, expire_on_commit=False)
        async with side.connect() as watcher:
            watcher = await watcher.execution_options(isolation_level="AUTOCOMMIT")
            before = await written(watcher)
            async with side.connect() as holder:
                await holder.execute(text("SELECT id FROM products WHERE id = 8 FOR UPDATE"))
                await expect_database_error(
                    place_order(factory, 13, [(7, 1), (8, 1)]), "55P03",
                    "place_order(..., [(7, 1), (8, 1)]) while another transaction holds product 8, with lock_timeout 300ms",
                    "A lock timeout is not an out-of-stock item: skip only what the item itself causes "
                    "(OutOfStock, IntegrityError), let every other error propagate.")
                await holder.rollback()
            expect(await written(watcher), before, "(orders, order lines, stock of 7, 8, 9) after the lock timeout",
                   "Nothing may be written when the order fails.")

            async with check.engine.begin() as conn:
                await conn.execute(text("""
                    CREATE FUNCTION recalled_products() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN
                        IF NEW.product_id = 9 THEN
                            RAISE EXCEPTION 'product 9 is being recalled';
                        END IF;
                        RETURN NEW;
                    END $$"""))
                await conn.execute(text(
                    "CREATE TRIGGER recalled_products BEFORE INSERT ON order_items "
                    "FOR EACH ROW EXECUTE FUNCTION recalled_products()"
                ))
            await expect_database_error(
                place_order(factory, 13, [(7, 1), (9, 1), (8, 1)]), "P0001",
                "place_order(..., [(7, 1), (9, 1), (8, 1)]) when a trigger raises an error (SQLSTATE P0001) for "
                "the line of product 9",
                "Only an IntegrityError is a refused line; any other database error must leave place_order.")
            expect(await written(watcher), before,
                   "(orders, order lines, stock of 7, 8, 9) after the trigger's error",
                   "All or nothing: the line of product 7 came before the error, and must not be committed either. "
                   "Commit once, at the end.")
    finally:
        await impatient.dispose()
        await side.dispose()
### END HIDDEN TESTS

# %% [markdown] id=part-d-exercise-import-users
# ---
# ## Part D — Exercise: `import_users`, with the reason from the SQLSTATE (12 points)
#
# Importing a batch of users is the classic place for one savepoint per row: a duplicate email or a missing name should reject that row, not the whole import.
# The import also has to say *why* each row was rejected.
#
# Every PostgreSQL error carries a five-character **SQLSTATE** code. The ones that matter here:
#
# | SQLSTATE | name | typical cause |
# |---|---|---|
# | `23505` | unique_violation | the email is already taken |
# | `23502` | not_null_violation | a required column (the name) is missing |
# | `23503` | foreign_key_violation | a row points at a parent that does not exist |
# | `23514` | check_violation | a `CHECK` constraint refused the value |
#
# SQLAlchemy wraps the driver's exception in an `IntegrityError`; the code is on `error.orig.sqlstate` (and asyncpg's own exception, `error.orig.__cause__`, carries it as `.sqlstate` too).

# %% id=part-d-exercise-import-code
async with session_factory() as session:
    for row in ({"email": taken, "name": "Again"}, {"email": "nameless@example.test", "name": None}):
        try:
            async with session.begin_nested():
                session.add(User(**row))
                await session.flush()
        except IntegrityError as error:
            print(f"SQLSTATE {error.orig.sqlstate}: {error.orig.args[0].splitlines()[0][:110]}")
    await session.rollback()

# %% [markdown] id=not-read-message
# Why not read the message? Because the message is written for people, and it changes:
# servers configured with another `lc_messages` translate it, major versions reword it, and rules written in triggers or functions raise the *same* SQLSTATE with wording of their own.
# The code is the contract; the PostgreSQL manual says as much in its error codes appendix.
#
# The next cell installs such a rule for a moment — a trigger that reports a duplicate from a legacy system — and shows the two errors side by side (everything is rolled back at the end, the trigger included: DDL is transactional in PostgreSQL).

# %% id=not-read-message-code
async with session_factory() as session:
    await session.execute(text("""
        CREATE FUNCTION legacy_email_check() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.email LIKE '%@legacy.test' THEN
                RAISE EXCEPTION 'address % was registered in the old system', NEW.email
                    USING ERRCODE = 'unique_violation';
            END IF;
            RETURN NEW;
        END $$"""))
    await session.execute(text(
        "CREATE TRIGGER legacy_email_check BEFORE INSERT ON users "
        "FOR EACH ROW EXECUTE FUNCTION legacy_email_check()"
    ))
    for email in (taken, "mo@legacy.test"):
        try:
            async with session.begin_nested():
                session.add(User(email=email, name="Mo"))
                await session.flush()
        except IntegrityError as error:
            print(f"SQLSTATE {error.orig.sqlstate}: {error.orig.args[0].splitlines()[0][:80]}")
    await session.rollback()

# %% [markdown] id=same-code-23505-nothing
# Same code, `23505`, and nothing in common in the wording: code that looks for "duplicate key" in the text misses the second one.
#
# Write `import_users(session, rows)`. Each row is a dict with an `"email"` and usually a `"name"`.
#
# - Insert each row as a `User` inside its own savepoint; a row the database refuses is skipped, and the rows before and after it are kept.
# - Return `(number inserted, rejected)`, where `rejected` lists `(row index, reason)` in row order.
# - The reason comes from the SQLSTATE: `"duplicate_email"` for `23505` (the email is in the table already, or earlier in the same batch), `"missing_name"` for `23502`. Any other database error, another constraint included, is not a bad row: let it propagate unchanged, leaving the caller's transaction usable, with its own work and the rows inserted before (the caller decides what to do with them).
# - **Unit of work**: `import_users` flushes and never commits. The caller decides, as with the repositories of notebook 02 — it may commit the import together with other work, or roll all of it back.

# %% solution id=import_users
async def import_users(session, rows: list[dict]) -> tuple[int, list[tuple[int, str]]]:
    """Insert each row with its own savepoint; return (inserted, [(row index, reason), ...]).

    Reasons, from the SQLSTATE: "duplicate_email" (23505), "missing_name" (23502).
    Flushes only: the caller commits or rolls back.
    """
    ### BEGIN SOLUTION
    reasons = {"23505": "duplicate_email", "23502": "missing_name"}
    inserted = 0
    rejected: list[tuple[int, str]] = []
    for index, row in enumerate(rows):
        try:
            async with session.begin_nested():
                session.add(User(email=row.get("email"), name=row.get("name")))
                await session.flush()
        except IntegrityError as error:
            reason = reasons.get(error.orig.sqlstate)
            if reason is None:
                raise
            rejected.append((index, reason))
        else:
            inserted += 1
    return inserted, rejected
    ### END SOLUTION

# %% tests id=test_import_users_basic points=2
"""Check that import_users inserts the good rows and names each bad row with its reason."""
import asyncio

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from asyncdb_lab.checks import expect

rows = [
    {"email": "ines@import.test", "name": "Ines"},
    {"email": "lina.garcia1@example.com", "name": "Lina again"},  # in the seed data already
    {"email": "omar@import.test"},  # no name
    {"email": "ines@import.test", "name": "Ines twice"},  # earlier in this batch
    {"email": "pablo@import.test", "name": "Pablo"},
]
async with disposable_database(seed=True, label="check_import_users", say=False) as check:
    check_engine = create_async_engine(check.url, pool_size=2, max_overflow=0)
    try:
        factory = async_sessionmaker(check_engine, expire_on_commit=False)
        async with factory() as session:
            result = await asyncio.wait_for(import_users(session, rows), 10)
            await session.commit()
        expect(result, (2, [(1, "duplicate_email"), (2, "missing_name"), (3, "duplicate_email")]),
               "import_users(session, rows)",
               "Insert each row in its own savepoint; name the reason from error.orig.sqlstate.")
        async with factory() as session:
            stored = dict((await session.execute(
                select(User.email, User.name).where(User.email.like("%@import.test")))).all())
        expect(stored, {"ines@import.test": "Ines", "pablo@import.test": "Pablo"}, "imported users after commit",
               "The good rows must be in the table once the caller commits.")
        ### BEGIN HIDDEN TESTS
        async with factory() as session:
            result = await asyncio.wait_for(import_users(session, []), 10)
        expect(result, (0, []), "import_users with no rows", "Nothing to import: (0, []).")
        ### END HIDDEN TESTS
    finally:
        await check_engine.dispose()

# %% tests id=test_import_users_keeps_good_rows points=3
"""Check that a bad row loses only itself: earlier rows, later rows and the caller's own work survive."""
### BEGIN HIDDEN TESTS
import asyncio

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from asyncdb_lab.checks import expect

rows = []
expected_rejected = []
for n in range(24):
    if n % 4 == 0:
        rows.append({"email": f"keep{n}@import.test", "name": None})
        expected_rejected.append((n, "missing_name"))
    elif n % 4 == 3:
        rows.append({"email": "ada.zhang2@example.com", "name": f"Ada {n}"})
        expected_rejected.append((n, "duplicate_email"))
    else:
        rows.append({"email": f"keep{n}@import.test", "name": f"Keep {n}"})
rows.append({"email": "keep1@import.test", "name": "Keep again"})  # the last row: a duplicate of row 1
expected_rejected.append((24, "duplicate_email"))
good = {row["email"] for i, row in enumerate(rows) if i not in dict(expected_rejected)}

async with disposable_database(seed=True, label="check_import_users", say=False) as check:
    check_engine = create_async_engine(check.url, pool_size=2, max_overflow=0)
    try:
        factory = async_sessionmaker(check_engine, expire_on_commit=False)
        async with factory() as session:
            session.add(User(email="caller@import.test", name="The caller's own work"))
            await session.flush()
            result = await asyncio.wait_for(import_users(session, rows), 20)
            await session.commit()
        expect(result, (len(good), expected_rejected), "import_users on 25 rows with bad rows first, last and between",
               "A bad row must cost only itself: wrap each row in session.begin_nested() and catch outside it.")
        async with factory() as session:
            stored = set(await session.scalars(select(User.email).where(User.email.like("%@import.test"))))
            users = await session.scalar(select(func.count()).select_from(User))
        expect(stored, good | {"caller@import.test"}, "users in the table after the caller committed",
               "Rows before and after a bad one, and what the caller flushed before calling you, must survive. "
               "Never roll back the caller's whole session to skip one row.")
        expect(users, 1000 + len(good) + 1, "number of users after the import", "Each good row is inserted once.")
    finally:
        await check_engine.dispose()
### END HIDDEN TESTS

# %% tests id=test_import_users_reason_from_sqlstate points=3
"""Check that the reason comes from the SQLSTATE, whatever the wording of the message."""
### BEGIN HIDDEN TESTS
import asyncio

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from asyncdb_lab.checks import expect

async with disposable_database(seed=True, label="check_import_users", say=False) as check:
    check_engine = create_async_engine(check.url, pool_size=2, max_overflow=0)
    try:
        async with check_engine.begin() as conn:
            # House rules written in a trigger: the standard codes, the trigger's own wording.
            await conn.execute(text("""
                CREATE FUNCTION house_rules() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.email LIKE '%@old-crm.test' THEN
                        RAISE EXCEPTION 'address % belongs to a member of the old directory', NEW.email
                            USING ERRCODE = 'unique_violation';
                    END IF;
                    IF NEW.name IS NOT NULL AND btrim(NEW.name) = '' THEN
                        RAISE EXCEPTION 'blank value for a required field' USING ERRCODE = 'not_null_violation';
                    END IF;
                    RETURN NEW;
                END $$"""))
            await conn.execute(text(
                "CREATE TRIGGER house_rules BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION house_rules()"))
        rows = [
            {"email": "ana@old-crm.test", "name": "Ana Nullman"},
            {"email": "unique.key@import.test", "name": "   "},
            {"email": "zoe@import.test", "name": "Zoe"},
            {"email": "null.value@import.test"},
            {"email": "ana.santos3@example.com", "name": "Name taken"},
        ]
        factory = async_sessionmaker(check_engine, expire_on_commit=False)
        async with factory() as session:
            result = await asyncio.wait_for(import_users(session, rows), 10)
            await session.rollback()
        expect(result, (1, [(0, "duplicate_email"), (1, "missing_name"), (3, "missing_name"), (4, "duplicate_email")]),
               "import_users on rows refused by a trigger with its own wording",
               "Rows 0 and 1 are refused with SQLSTATE 23505 and 23502 and messages that say nothing like "
               "'duplicate key' or 'null value'. Use error.orig.sqlstate, not the text of the message.")
    finally:
        await check_engine.dispose()
### END HIDDEN TESTS

# %% tests id=test_import_users_caller_commits points=2
"""Check that import_users leaves the commit to its caller."""
### BEGIN HIDDEN TESTS
import asyncio

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from asyncdb_lab.checks import expect

async with disposable_database(seed=True, label="check_import_users", say=False) as check:
    check_engine = create_async_engine(check.url, pool_size=2, max_overflow=0)
    try:
        factory = async_sessionmaker(check_engine, expire_on_commit=False)
        rows = [{"email": "undo1@import.test", "name": "Undo"}, {"email": "undo1@import.test", "name": "Twice"},
                {"email": "undo2@import.test", "name": "Undo"}]
        async with factory() as session:
            result = await asyncio.wait_for(import_users(session, rows), 10)
            assert session.in_transaction(), (
                "After import_users the caller's transaction should still be open: flush, never commit."
            )
            seen = await session.scalar(select(func.count()).select_from(User).where(User.email.like("undo%")))
            await session.rollback()
        expect(result, (2, [(1, "duplicate_email")]), "import_users on three rows", "")
        expect(seen, 2, "imported rows visible inside the caller's transaction", "Flush each row, so the caller sees it.")
        async with factory() as session:
            left = await session.scalar(select(func.count()).select_from(User).where(User.email.like("undo%")))
        expect(left, 0, "imported rows after the caller rolled back",
               "import_users must not commit: the caller owns the unit of work and just rolled it back.")
    finally:
        await check_engine.dispose()
### END HIDDEN TESTS

# %% tests id=test_import_users_other_errors points=2
"""Check that database errors other than a duplicate email or a missing name propagate, leaving the caller's transaction usable."""
### BEGIN HIDDEN TESTS
import asyncio

from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from asyncdb_lab.checks import expect

async with disposable_database(seed=True, label="check_import_users", say=False) as check:
    check_engine = create_async_engine(check.url, pool_size=2, max_overflow=0)
    try:
        async with check_engine.begin() as conn:
            await conn.execute(text(
                "ALTER TABLE users ADD CONSTRAINT users_email_domain_check CHECK (email NOT LIKE '%@blocked.test')"
            ))
        factory = async_sessionmaker(check_engine, expire_on_commit=False)
        cases = [
            ({"email": "someone@blocked.test", "name": "Blocked"}, "23514", "a CHECK constraint of another kind"),
            ({"email": "x" * 300 + "@import.test", "name": "Too long"}, "22001", "an email longer than 255 characters"),
        ]
        for bad_row, sqlstate, kind in cases:
            rows = [{"email": "before@import.test", "name": "Before"}, {"email": "lina.garcia1@example.com", "name": "Dup"},
                    bad_row, {"email": "after@import.test", "name": "After"}]
            async with factory() as session:
                session.add(User(email="caller@import.test", name="The caller's own work"))
                await session.flush()
                try:
                    outcome = await asyncio.wait_for(import_users(session, rows), 10)
                except DBAPIError as error:
                    got = getattr(error.orig, "sqlstate", None)
                    assert got == sqlstate, (
                        f"import_users on a row refused by {kind}: expected the database error {sqlstate} to "
                        f"propagate, got {got}: {error}"
                    )
                except Exception as error:
                    raise AssertionError(
                        f"import_users on a row refused by {kind} (SQLSTATE {sqlstate}): expected that database "
                        f"error to propagate unchanged, got {type(error).__name__}: {error}. Re-raise what you do "
                        "not handle with a bare `raise`."
                    ) from None
                else:
                    raise AssertionError(
                        f"import_users on a row refused by {kind} (SQLSTATE {sqlstate}) returned {outcome!r}. Only "
                        "23505 and 23502 are bad rows; any other database error must propagate."
                    )
                try:
                    seen = set(await session.scalars(select(User.email).where(User.email.like("%@import.test"))))
                except Exception as error:
                    raise AssertionError(
                        f"After the error propagated, the caller's session could not be used: {type(error).__name__}: "
                        f"{error}. Let the error leave the row's savepoint block, so that only the savepoint is "
                        "rolled back."
                    ) from None
                await session.rollback()
            expect(seen, {"caller@import.test", "before@import.test"},
                   f"users visible to the caller after import_users raised for {kind}",
                   "The caller's own work and the rows inserted before the error stay in its transaction: do not "
                   "roll back the caller's session; the caller decides.")
    finally:
        await check_engine.dispose()
### END HIDDEN TESTS

# %% [markdown] id=summary
# ---
# ## Summary
#
# - After any error inside a transaction, PostgreSQL refuses everything (`25P02`) until `ROLLBACK`; SQLAlchemy's version of that is `PendingRollbackError`.
# - `session.begin_nested()` sets a `SAVEPOINT`; leaving the block normally sends `RELEASE SAVEPOINT`, leaving it with an exception sends `ROLLBACK TO SAVEPOINT` and lets the exception go on.
# - Catch **outside** the `begin_nested()` block. Re-raising inside rolls back the whole transaction; swallowing inside keeps the half-done work.
# - Lock what you are about to check (`FOR UPDATE`), in a consistent order, and write nothing when there is nothing to write.
# - Classify database errors by SQLSTATE (`error.orig.sqlstate`), never by message text.
# - A function that works inside someone else's session flushes; the caller commits.
#
# ## Interview questions
#
# 1. What does `async with session.begin_nested():` send to PostgreSQL when the block ends normally, and when it ends with an exception?
# 2. A function catches an exception inside `begin_nested()` and re-raises it, inside `async with session.begin():`. What is rolled back?
# 3. You catch an `IntegrityError` from `flush()` and run another query on the same session. What happens, and why?
# 4. Why should code test `error.orig.sqlstate == "23505"` rather than `"duplicate key" in str(error)`?
# 5. Savepoints are not free. When would you rather validate up front, or use `INSERT … ON CONFLICT DO NOTHING`, than set one savepoint per row?
# 6. Two customers order the last unit of a product at the same moment. What in `place_order` makes sure only one gets it?
#
# <details><summary>Answers</summary>
#
# 1. `SAVEPOINT sa_savepoint_N` when the block starts; a flush and `RELEASE SAVEPOINT` on a normal exit; `ROLLBACK TO SAVEPOINT` on an exception, which then propagates out of the block.
# 2. Everything. The savepoint is rolled back as the exception leaves the nested block; the exception then leaves `session.begin()`, which rolls back the outer transaction — the order and all its good items.
# 3. `PendingRollbackError`. The failed flush rolled back the session's transaction (PostgreSQL had aborted it anyway), and the session refuses new work until you call `rollback()`. Use a savepoint around the risky flush, or roll back and start again.
# 4. The SQLSTATE is the stable contract: messages are translated (`lc_messages`), reworded between versions, and triggers or functions can raise the same code with their own text.
# 5. Each savepoint costs two extra round trips (SAVEPOINT and RELEASE) and a subtransaction on the server; for large batches, de-duplicate in Python and use `INSERT … ON CONFLICT DO NOTHING … RETURNING` (notebook 07) and find the rejected rows from what came back. Savepoints shine when rows fail for varied reasons you cannot check up front.
# 6. The product row is locked with `SELECT … FOR UPDATE` before its stock is read. The second transaction waits for the first to commit, then reads stock 0 and skips the item. Without the lock both read 1 and both sell it.
#
# </details>
#
# ## Further reading
#
# - SQLAlchemy: [Using SAVEPOINT](https://docs.sqlalchemy.org/en/20/orm/session_transaction.html#using-savepoint)
# - SQLAlchemy FAQ: ["This Session's transaction has been rolled back due to a previous exception during flush"](https://docs.sqlalchemy.org/en/20/faq/sessions.html#this-session-s-transaction-has-been-rolled-back-due-to-a-previous-exception-during-flush-or-similar)
# - SQLAlchemy: [Session.get() and `with_for_update` / `populate_existing`](https://docs.sqlalchemy.org/en/20/orm/session_api.html#sqlalchemy.orm.Session.get)
# - PostgreSQL: [SAVEPOINT](https://www.postgresql.org/docs/current/sql-savepoint.html), [ROLLBACK TO SAVEPOINT](https://www.postgresql.org/docs/current/sql-rollback-to.html)
# - PostgreSQL: [Error codes (Appendix A)](https://www.postgresql.org/docs/current/errcodes-appendix.html)
# - PostgreSQL: [Explicit locking, row-level locks](https://www.postgresql.org/docs/current/explicit-locking.html#LOCKING-ROWS)

# %% [markdown] id=check-your-notebook
# ---
# **Check your notebook.** Save (Ctrl+S), then run this cell: it checks the saved file as `asyncdb-lab check` does, on a fresh database, and shows each exercise's points, a failing test's message with its first hint, and what to do next.

# %% id=check-this-notebook
from asyncdb_lab.learner.in_lab import check_this_notebook

check_this_notebook()
