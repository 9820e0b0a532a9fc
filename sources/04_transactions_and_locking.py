# %% [markdown] id=intro
# # **04 · Transactions and locking**
#
# Make several changes succeed or fail together, and keep them correct when many tasks change the same rows at once.
#
# **Learning goals**
# - Know when an `AsyncSession` starts a transaction (autobegin), and open one explicitly with `Session.begin()`.
# - See a lost update happen under concurrency, and prevent it with `SELECT … FOR UPDATE` or an atomic `UPDATE`.
# - Provoke a deadlock, read PostgreSQL's report of it, and avoid it by locking rows in a consistent order.
# - Tell READ COMMITTED, REPEATABLE READ and SERIALIZABLE apart, and know which errors each can raise.
# - Keep money in `Decimal`, never `float`.
#
# **Prerequisites**: notebook 01 (sessions, one session per concurrent task), notebook 02 (the models, flush and commit). `asyncio.gather` from notebook 00.
#
# **Out of scope**: savepoints and partial rollbacks (notebook 05), retrying failed transactions (notebook 09), connection pool sizing (notebook 06).

# %% [markdown] id=setup
# ## Setup
#
# Run the next cell first.
# It makes a fresh database with the seed data; the `accounts` table has one account per user, with a `balance` of type `numeric(12, 2)` that a `CHECK` constraint keeps at or above zero.
# `Session` is an `async_sessionmaker` with `expire_on_commit=False`.

# %% readonly id=setup-database
from decimal import Decimal

from asyncdb_lab import count_statements, disposable_database, format_locks
from asyncdb_lab.models import Account

db = await disposable_database(seed=True)
engine = db.engine
Session = db.session_factory

# %% [markdown] id=part-a-transactions-autobegin-begin
# ---
# ## Part A — Transactions: autobegin, `begin()`, commit and rollback (0 points)
#
# A *transaction* groups statements so that they take effect together or not at all.
# PostgreSQL runs every statement inside one; the question is only where each transaction starts and ends.
#
# An `AsyncSession` starts a transaction by itself, on the first statement it sends (*autobegin*).
# That transaction lasts until you call `await session.commit()` or `await session.rollback()`, or until the session closes, which rolls back whatever was not committed.

# %% id=part-a-transactions-autobegin-code
from sqlalchemy import select

async with Session() as session:
    print("before any statement, in a transaction:", session.in_transaction())
    balance = await session.scalar(select(Account.balance).where(Account.id == 1))
    print("after one SELECT,     in a transaction:", session.in_transaction(), "| balance of account 1:", balance)

# %% [markdown] id=mistake-async-session-begin
# > **Common mistake: `async with session.begin():` after the session has already run a query.**
# > A common transfer example receives a session, loads the accounts, and only then writes `async with session.begin():` around the update.
# > The first query already started a transaction (autobegin), so `begin()` refuses to start a second one and raises `InvalidRequestError`.

# %% id=mistake-async-session-begin-code
async with Session() as session:
    account = await session.get(Account, 1)
    try:
        async with session.begin():
            account.balance += Decimal("1.00")
    except Exception as error:
        print(f"{type(error).__name__}: {error}")

# %% [markdown] id=two-correct-shapes
# Two correct shapes: open the session and its transaction together with `Session.begin()` (commit at the end of the block, rollback if it raises), or let autobegin start the transaction and end it yourself with `await session.commit()`.
# Either way, one block is one unit of work.

# %% id=two-correct-shapes-code
async with Session.begin() as session:  # session + transaction; commits at the end of the block
    account = await session.get(Account, 1)
    account.balance += Decimal("1.00")

async with Session() as session:  # autobegin on the first query; you commit
    account = await session.get(Account, 1)
    account.balance -= Decimal("1.00")
    await session.commit()
print("balance of account 1:", account.balance)

# %% [markdown] id=next-cell-defines-balances
# The next cell defines `balances(engine, ids)`, a small helper for this notebook and its checks: it reads the committed balances with a connection of its own, outside any session you are using.

# %% readonly id=balances
from sqlalchemy import text


async def balances(engine, ids) -> dict[int, Decimal]:
    """The committed balance of each account in `ids`, read on a connection of its own."""
    async with engine.connect() as conn:
        result = await conn.execute(
            text("SELECT id, balance FROM accounts WHERE id = ANY(:ids) ORDER BY id"), {"ids": list(ids)}
        )
        return {row.id: row.balance for row in result}

# %% [markdown] id=block-raises-everything-did
# When the block raises, everything it did is rolled back, even statements that already reached the server.
# Below, `flush()` sends the `UPDATE` (the statement counter shows it), then an error ends the block; the balance is as it was.

# %% id=block-raises-everything-did-code
print("before:", await balances(engine, [1]))
with count_statements(engine) as sql:
    try:
        async with Session.begin() as session:
            account = await session.get(Account, 1)
            account.balance += Decimal("500.00")
            await session.flush()  # the UPDATE is sent now, inside the transaction
            raise RuntimeError("something failed after the UPDATE")
    except RuntimeError as error:
        print(f"RuntimeError: {error}")
print(sql)
print("after: ", await balances(engine, [1]))

# %% [markdown] id=part-b-lost-updates-select
# ---
# ## Part B — Lost updates and `SELECT … FOR UPDATE` (0 points)
#
# A *read-modify-write* reads a value into Python, computes a new one, and writes it back.
# Under PostgreSQL's default isolation level, READ COMMITTED, a plain `SELECT` takes no lock, so two transactions can read the same balance at the same time.
# Each then writes *its* result, and the second write silently replaces the first: a **lost update**.
#
# The next cell runs five deposits of 10.00 at once, one session per task (as notebook 01 taught).
# The short `sleep` stands for anything that happens between reading and writing, such as a call to another service; without it the race is the same, only rarer.

# %% id=deposit-unsafely
import asyncio


async def deposit_unsafely(account_id: int, amount: Decimal) -> None:
    async with Session.begin() as session:
        account = await session.get(Account, account_id)  # plain SELECT: no lock
        await asyncio.sleep(0.05)
        account.balance += amount  # computed in Python from what this task read


before = (await balances(engine, [2]))[2]
await asyncio.gather(*(deposit_unsafely(2, Decimal("10.00")) for _ in range(5)))
after = (await balances(engine, [2]))[2]
print(f"5 deposits of 10.00: {before} -> {after}; expected {before + Decimal('50.00')}, lost {before + Decimal('50.00') - after}")

# %% [markdown] id=select-update-locks-rows
# `SELECT … FOR UPDATE` locks the rows it returns until the transaction ends.
# A second `SELECT … FOR UPDATE` of the same row *waits* for the first transaction to finish, and then reads the committed value.
# In SQLAlchemy: `select(...).with_for_update()`, or `session.get(Account, id, with_for_update=True)`.
#
# The next cell starts the same five deposits with the lock and, while they run, prints `format_locks(engine, "accounts")`: which server process (pid) holds the row, and which ones wait, blocked by whom.

# %% id=deposit-with-lock
async def deposit_with_lock(account_id: int, amount: Decimal) -> None:
    async with Session.begin() as session:
        account = await session.get(Account, account_id, with_for_update=True)  # waits for the lock
        await asyncio.sleep(0.05)
        account.balance += amount


before = (await balances(engine, [2]))[2]
deposits = asyncio.gather(*(deposit_with_lock(2, Decimal("10.00")) for _ in range(5)))
await asyncio.sleep(0.03)
print(await format_locks(engine, "accounts"))
await deposits
after = (await balances(engine, [2]))[2]
print(f"\n5 deposits of 10.00: {before} -> {after}; expected {before + Decimal('50.00')}")

# %% [markdown] id=how-to-read-it
# How to read it: one process holds the row (`Locked rows`: `For Update`).
# The first waiter holds a `tuple` lock, its place in the queue, and waits for a `ShareLock` on the holder's *transaction id*: a row lock ends with its transaction, so waiting for the row means waiting for that transaction to finish.
# The other waiters wait for that `tuple` lock; `blocked by` names the processes in their way.
# The deposits now run one after another, for as long as each one holds the lock: keep transactions that lock rows short.
#
# Often no explicit lock is needed: an `UPDATE` that computes the new value in SQL (`SET balance = balance + 10`) reads and writes the row under the lock the `UPDATE` itself takes.
# With a condition in the `WHERE` clause it also checks funds atomically: no row is updated when the balance is too low, and `RETURNING` tells you which case happened.

# %% id=how-to-read-it-code
from sqlalchemy import update

take_out = (
    update(Account)
    .where(Account.id == 3, Account.balance >= Decimal("100.00"))
    .values(balance=Account.balance - Decimal("100.00"))
    .returning(Account.balance)
)
async with Session.begin() as session:
    with count_statements(session) as sql:
        new_balance = await session.scalar(take_out)
print("new balance (None means: not enough money, nothing changed):", new_balance)
print(sql)

# %% [markdown] id=mistake-lock-after-read
# > **Common mistake: reading a row first, and locking it later.**
# > Code often loads an account (to check that it exists, or to show it), and only later locks it with `with_for_update()` before changing it.
# > The `SELECT … FOR UPDATE` does run, waits for the lock, and gets the newest committed row from the server.
# > But a session keeps one object per row (its *identity map*, for as long as your code holds the object), and a query that returns a row it already holds gives you that object *without overwriting its attributes*, so that changes you have not flushed are never lost (notebook 02).
# > You hold the lock, and still compute from the balance read before it.
# > The next cell reads account 6, lets another transaction deposit 100.00 and commit, then locks the row and adds 10.00.

# %% id=mistake-lock-after-read-code
async def add_after_reading(account_id: int, amount: Decimal, *, populate_existing: bool = False) -> None:
    async with Session.begin() as session:
        account = await session.get(Account, account_id)  # a plain read: the session now holds this Account
        async with engine.begin() as other:  # meanwhile another transaction deposits 100.00 and commits
            await other.execute(text("UPDATE accounts SET balance = balance + 100 WHERE id = :id"), {"id": account_id})
        locking = select(Account).where(Account.id == account_id).with_for_update()
        if populate_existing:
            locking = locking.execution_options(populate_existing=True)
        with count_statements(session) as sql:
            account = (await session.scalars(locking)).one()
        committed = (await balances(engine, [account_id]))[account_id]
        print(f"after the lock, the object says {account.balance}; the database says {committed}")
        account.balance += amount
    print(sql)


before = (await balances(engine, [6]))[6]
await add_after_reading(6, Decimal("10.00"))
expected = before + Decimal("100.00") + Decimal("10.00")
after = (await balances(engine, [6]))[6]
print(f"\nexpected {before} + 100.00 + 10.00 = {expected}; the database has {after}: {expected - after} lost")

# %% [markdown] id=fix-populate-existing
# The fix: tell the locking query to overwrite what the session holds, with the execution option `populate_existing=True` (`select(…).with_for_update().execution_options(populate_existing=True)`, or `session.get(Account, id, with_for_update=True, populate_existing=True)`).
# It overwrites changes you have not flushed yet as well, so lock before you change anything.
# Simpler still, make the `FOR UPDATE` the first read of those rows in the transaction: a new session holds no objects yet, so the locked rows are the ones you get (the exercise below works that way).

# %% id=fix-populate-existing-code
before = (await balances(engine, [6]))[6]
await add_after_reading(6, Decimal("10.00"), populate_existing=True)
expected = before + Decimal("100.00") + Decimal("10.00")
after = (await balances(engine, [6]))[6]
print(f"\nexpected {before} + 100.00 + 10.00 = {expected}; the database has {after}")

# %% [markdown] id=part-c-deadlocks-consistent-lock
# ---
# ## Part C — Deadlocks and a consistent lock order (0 points)
#
# A transfer locks two rows.
# If one transaction locks account 1 and then account 2 while another locks account 2 and then account 1, each can end up waiting for a row the other holds.
# Neither can ever continue: a **deadlock**.
# PostgreSQL checks for such cycles after waiting `deadlock_timeout` (1 s by default), and then aborts one of the transactions with SQLSTATE `40P01` so that the other can finish.

# %% [markdown] id=mistake-locking-then
# > **Common mistake: locking "from" then "to".**
# > The usual transfer example locks the source account with `FOR UPDATE`, then the destination.
# > `FOR UPDATE` alone does not make it safe: two transfers in opposite directions lock the same two rows in opposite orders.
# > The next cell runs them together, prints the locks while both wait, then the error PostgreSQL raised in one of them.

# %% id=lock-from-then-to
async def lock_from_then_to(from_id: int, to_id: int) -> None:
    async with Session.begin() as session:
        await session.get(Account, from_id, with_for_update=True)
        await asyncio.sleep(0.1)  # the other transfer locks its first row meanwhile
        await session.get(Account, to_id, with_for_update=True)


both = asyncio.gather(lock_from_then_to(1, 2), lock_from_then_to(2, 1), return_exceptions=True)
await asyncio.sleep(0.3)
print(await format_locks(engine, "accounts"))
for outcome in await both:
    if outcome is None:
        print("\nthis transfer finished")
    else:
        print(f"\n{type(outcome).__name__} (SQLSTATE {outcome.orig.sqlstate}): {outcome.orig}")
        print(outcome.orig.__cause__.detail)

# %% [markdown] id=fix-order-every-transaction
# The fix is an order that every transaction follows: lock the rows sorted by primary key, in one statement.
# `ORDER BY id … FOR UPDATE` locks rows in the sorted order, so both transfers ask for account 1 first; the second waits there, holding nothing, until the first commits.

# %% id=lock-in-id-order
import time


async def lock_in_id_order(from_id: int, to_id: int) -> None:
    async with Session.begin() as session:
        statement = (
            select(Account).where(Account.id.in_([from_id, to_id])).order_by(Account.id).with_for_update()
        )
        await session.scalars(statement)
        await asyncio.sleep(0.1)


started = time.perf_counter()
outcomes = await asyncio.gather(lock_in_id_order(1, 2), lock_in_id_order(2, 1), return_exceptions=True)
print(f"outcomes: {outcomes}, in {time.perf_counter() - started:.2f} s (the second waited for the first)")

# %% [markdown] id=part-d-isolation-levels
# ---
# ## Part D — Isolation levels (0 points)
#
# The *isolation level* decides what one transaction sees of others that run at the same time.
# PostgreSQL offers three (READ UNCOMMITTED behaves as READ COMMITTED):
#
# | level | each statement sees | when a row you change was changed by a concurrent, committed transaction |
# |---|---|---|
# | READ COMMITTED (default) | what was committed when *the statement* started | the statement uses the newest committed row (after waiting, if the other has not committed yet) |
# | REPEATABLE READ | what was committed when *the transaction* took its snapshot | error `40001` (serialization failure) |
# | SERIALIZABLE | the snapshot, like REPEATABLE READ | `40001`, also when reads and writes of several transactions could not have happened one after another |
#
# At the higher levels a transaction can fail because of another one, so the caller must be ready to retry it from the start (notebook 09).
# The next cell reads the same balance twice, while another connection adds 100.00 between the two reads, then tries to update it.

# %% id=read-twice
async def read_twice(level: str) -> None:
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level=level)
        first = await conn.scalar(text("SELECT balance FROM accounts WHERE id = 4"))
        async with engine.begin() as other:  # another transaction commits a change meanwhile
            await other.execute(text("UPDATE accounts SET balance = balance + 100 WHERE id = 4"))
        second = await conn.scalar(text("SELECT balance FROM accounts WHERE id = 4"))
        try:
            await conn.execute(text("UPDATE accounts SET balance = balance - 1 WHERE id = 4"))
            outcome = "update ok"
        except Exception as error:
            outcome = f"{type(error).__name__} (SQLSTATE {error.orig.sqlstate}): {error.orig}"
        await conn.rollback()
    print(f"{level:<16} first read {first}, second read {second}; {outcome}")


await read_twice("READ COMMITTED")
await read_twice("REPEATABLE READ")

# %% [markdown] id=part-e-money-decimal
# ---
# ## Part E — Money is `Decimal` (0 points)
#
# `numeric(12, 2)` stores exact decimal numbers, and SQLAlchemy's `Numeric` returns them as `decimal.Decimal`.
# A `float` is binary: 0.1 has no exact float value, and sums drift.

# %% id=part-e-money-decimal-code
print("0.1 + 0.2 =", 0.1 + 0.2)
print("ten times 0.1 as float:  ", sum([0.1] * 10))
print("ten times 0.1 as Decimal:", sum([Decimal("0.1")] * 10))
print("Decimal(0.1) =", Decimal(0.1), " <- built from a float: build from strings instead")

# %% [markdown] id=mistake-float-amount-against
# > **Common mistake: a `float` amount against a `Numeric` column.**
# > Transfer examples often declare `amount: float` and write `account.balance -= amount`.
# > `Decimal` refuses arithmetic with `float`, so the very first transfer raises `TypeError`.

# %% id=mistake-float-amount-against-code
async with Session() as session:
    account = await session.get(Account, 5)
    print("balance is a", type(account.balance).__name__, account.balance)
    try:
        account.balance -= 10.5
    except TypeError as error:
        print(f"TypeError: {error}")
    account.balance -= Decimal("10.50")
    print("with Decimal('10.50'):", account.balance)

# %% [markdown] id=amounts-also-need-column
# Amounts also need the column's scale.
# `numeric(12, 2)` rounds what it stores to cents, so moving 0.005 rounds the debit and the credit separately, and here creates a cent from nothing:

# %% id=amounts-also-need-column-code
async with engine.connect() as conn:
    debited, credited = (await conn.execute(text(
        "SELECT CAST(100.00 - 0.005 AS numeric(12, 2)), CAST(50.00 + 0.005 AS numeric(12, 2))"
    ))).one()
print(f"100.00 - 0.005 is stored as {debited}; 50.00 + 0.005 is stored as {credited}")
print("total before: 150.00, total after:", debited + credited)

# %% [markdown] id=part-f-exercise-transfer
# ---
# ## Part F — Exercise: `transfer` (17 points)
#
# Write `transfer(session_factory, from_id, to_id, amount)`.
# It moves `amount` from account `from_id` to account `to_id`, in a session and a transaction of its own, and returns `None`.
#
# - `amount` must be a `Decimal`: a `float` raises `TypeError`.
# - `ValueError` when `amount` is not above zero, when it has fractions of a cent (more than two decimal places), or when `from_id == to_id`.
# - `LookupError` when either account does not exist.
# - `InsufficientFunds` (given below) when the source balance is lower than `amount`.
# - Whenever it raises, no balance has changed.
# - Any other database error (a lock timeout, a constraint or trigger that has nothing to do with the balance) is not yours to translate: let it propagate unchanged, never as `InsufficientFunds`.
# - The debit and the credit are one transaction: another connection summing all balances at any moment, even while your transfer waits for a lock, sees the same total.
# - Hundreds of transfers run at the same time, in both directions between the same accounts, must all be correct: no lost updates, no deadlocks (not even ones you catch and retry), no lock timeouts. The checks make two opposite transfers meet on purpose, so a lock order that only usually works fails there.
#
# Hints: `async with session_factory.begin() as session:`; lock both rows in one `SELECT … WHERE id IN (…) ORDER BY id FOR UPDATE`, before anything else reads them in that session (the common mistake at the end of Part B).

# %% readonly id=insufficient-funds
class InsufficientFunds(Exception):
    """The source account's balance is lower than the amount to transfer."""

# %% [markdown] id=write-answer-next-cell
# Write your answer in the next cell, then run it and the checks below it.

# %% solution id=transfer
async def transfer(session_factory, from_id: int, to_id: int, amount: Decimal) -> None:
    """Move amount from account from_id to account to_id, in a session and a transaction of its own.

    TypeError unless amount is a Decimal (a float is refused); ValueError when amount <= 0, when it
    has fractions of a cent, or when from_id == to_id; LookupError when an account does not exist;
    InsufficientFunds when the source balance is below amount. When it raises, nothing has changed.
    """
    ### BEGIN SOLUTION
    if not isinstance(amount, Decimal):
        raise TypeError(f"amount must be a Decimal, not {type(amount).__name__}")
    if not amount.is_finite() or amount <= 0:
        raise ValueError(f"amount must be above zero, got {amount}")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"amount must be in whole cents, got {amount}")
    if from_id == to_id:
        raise ValueError("cannot transfer from an account to itself")
    async with session_factory.begin() as session:
        statement = (
            select(Account)
            .where(Account.id.in_([from_id, to_id]))
            .order_by(Account.id)  # every transfer locks in id order: no deadlocks
            .with_for_update()
        )
        # The first read in this session, so the objects carry the locked rows' values (no populate_existing needed).
        accounts = {account.id: account for account in (await session.scalars(statement)).all()}
        missing = sorted({from_id, to_id} - accounts.keys())
        if missing:
            raise LookupError(f"no account with id {missing}")
        source, target = accounts[from_id], accounts[to_id]
        if source.balance < amount:
            raise InsufficientFunds(f"account {from_id} has {source.balance}, needs {amount}")
        source.balance -= amount
        target.balance += amount
    ### END SOLUTION

# %% [markdown] id=checks-below-run-databases
# The checks below run on databases of their own, so they never change yours.
# Two helpers, used by them and free for you to use: `expect_raises` awaits a call and checks the exception it raises, and `run_transfers` starts many transfers at once on an engine of its own, returns what each one returned or raised, and records every database error sent back to it, including those your code catches.

# %% readonly id=expect-raises
import asyncio

from sqlalchemy import event
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine


async def expect_raises(kind, call, what: str, hint: str = "") -> None:
    """Await `call` and fail unless it raises `kind`."""
    try:
        await asyncio.wait_for(call, timeout=10)
    except kind:
        return
    except Exception as error:
        raise AssertionError(f"{what}: expected {kind.__name__}, got {type(error).__name__}: {error}. {hint}") from None
    raise AssertionError(f"{what}: expected {kind.__name__}, but nothing was raised. {hint}")


async def run_transfers(database, transfers, *, pool_size: int = 20, timeout: float = 30.0):
    """Run transfer(...) for every (from_id, to_id, amount) at once, one session factory on a fresh engine.

    Returns (outcomes, database_errors, finished): for each transfer None or the exception it raised;
    every (SQLSTATE, message) the database sent back, caught or not; False when it was stopped early,
    at the first deadlock (40P01), lock timeout (55P03) or statement timeout (57014), or after `timeout`.
    """
    engine = create_async_engine(database.url, pool_size=pool_size, max_overflow=0, pool_timeout=timeout)
    database_errors = []
    stop = asyncio.Event()

    def record(context) -> None:
        code = getattr(context.original_exception, "sqlstate", None)
        database_errors.append((code, str(context.original_exception).splitlines()[0]))
        if code in ("40P01", "55P03", "57014"):
            stop.set()

    event.listen(engine.sync_engine, "handle_error", record)
    factory = async_sessionmaker(engine, expire_on_commit=False)

    async def one(from_id, to_id, amount):
        try:
            return await transfer(factory, from_id, to_id, amount)
        except Exception as error:
            return error

    tasks = [asyncio.create_task(one(*arguments)) for arguments in transfers]
    everything = asyncio.gather(*tasks)
    stopped = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({everything, stopped}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finished = everything.done() and not stop.is_set()
    finally:
        stopped.cancel()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await engine.dispose()
    outcomes = [task.result() if not task.cancelled() else asyncio.CancelledError() for task in tasks]
    return outcomes, database_errors, finished

# %% tests id=test_transfer_moves_money points=2
"""Check that transfer moves the amount from one account to the other and returns None."""
from asyncdb_lab.checks import expect

async with disposable_database(seed=True, label="check_transfer_moves", say=False) as check:
    before = await balances(check.engine, [1, 2])
    returned = await asyncio.wait_for(transfer(check.session_factory, 1, 2, Decimal("12.34")), timeout=10)
    after = await balances(check.engine, [1, 2])
expect(returned, None, "transfer(...) returns", "transfer returns nothing; it raises on failure.")
expect(after, {1: before[1] - Decimal("12.34"), 2: before[2] + Decimal("12.34")},
       "balances after moving 12.34 from account 1 to account 2",
       "Subtract from the source, add to the destination, and commit.")
### BEGIN HIDDEN TESTS
async with disposable_database(seed=True, label="check_transfer_moves", say=False) as check:
    async with check.engine.connect() as conn:
        total_before = await conn.scalar(text("SELECT sum(balance) FROM accounts"))
    start = await balances(check.engine, [7, 8, 9])
    await asyncio.wait_for(transfer(check.session_factory, 9, 7, Decimal("0.01")), timeout=10)
    await asyncio.wait_for(transfer(check.session_factory, 7, 8, Decimal("5.10")), timeout=10)
    whole = (await balances(check.engine, [8]))[8]
    await asyncio.wait_for(transfer(check.session_factory, 8, 9, whole), timeout=10)
    end = await balances(check.engine, [7, 8, 9])
    async with check.engine.connect() as conn:
        total_after = await conn.scalar(text("SELECT sum(balance) FROM accounts"))
expect(end, {7: start[7] + Decimal("0.01") - Decimal("5.10"), 8: Decimal("0.00"),
             9: start[9] - Decimal("0.01") + whole},
       "balances after three transfers, the last one of a whole balance",
       "A transfer of exactly the whole balance is allowed and leaves 0.00.")
expect(total_after, total_before, "the total of all balances", "Money must move, never appear or vanish.")
### END HIDDEN TESTS

# %% tests id=test_transfer_rejects_bad_input points=2
"""Check that transfer refuses bad amounts, a transfer to the same account and unknown accounts, changing nothing."""
from asyncdb_lab.checks import expect

async with disposable_database(seed=True, label="check_transfer_input", say=False) as check:
    before = await balances(check.engine, [1, 2])
    factory = check.session_factory
    await expect_raises(ValueError, transfer(factory, 1, 2, Decimal("0")), "transfer of 0",
                        "An amount must be above zero.")
    await expect_raises(ValueError, transfer(factory, 1, 2, Decimal("-5.00")), "transfer of -5.00",
                        "A negative amount would move money the other way.")
    await expect_raises(ValueError, transfer(factory, 1, 1, Decimal("5.00")), "transfer from account 1 to itself",
                        "Refuse from_id == to_id.")
    after = await balances(check.engine, [1, 2])
expect(after, before, "balances after refused transfers", "A refused transfer changes nothing.")
### BEGIN HIDDEN TESTS
async with disposable_database(seed=True, label="check_transfer_input", say=False) as check:
    factory = check.session_factory
    async with check.engine.connect() as conn:
        everything_before = dict((await conn.execute(text("SELECT id, balance FROM accounts"))).all())
    await expect_raises(TypeError, transfer(factory, 1, 2, 10.5), "transfer of the float 10.5",
                        "Money is never a float: raise TypeError unless amount is a Decimal.")
    await expect_raises(ValueError, transfer(factory, 1, 2, Decimal("0.001")), "transfer of 0.001",
                        "numeric(12, 2) would round it: refuse fractions of a cent.")
    await expect_raises(ValueError, transfer(factory, 1, 2, Decimal("1.005")), "transfer of 1.005",
                        "Refuse amounts with more than two decimal places.")
    await expect_raises(LookupError, transfer(factory, 987654, 2, Decimal("1.00")),
                        "transfer from an account that does not exist",
                        "Raise LookupError (or a subclass such as KeyError) when an account is missing.")
    await expect_raises(LookupError, transfer(factory, 1, 987654, Decimal("1.00")),
                        "transfer to an account that does not exist",
                        "Check that both accounts exist before moving anything.")
    async with check.engine.connect() as conn:
        everything_after = dict((await conn.execute(text("SELECT id, balance FROM accounts"))).all())
    changed = {i: (everything_before[i], everything_after.get(i)) for i in everything_before
               if everything_after.get(i) != everything_before[i]}
    assert not changed, (
        f"Refused transfers changed balances (before, after): {changed}. "
        "Validate first, and raise inside the transaction so that it rolls back."
    )
### END HIDDEN TESTS

# %% tests id=test_transfer_insufficient_funds points=2
"""Check that transfer raises InsufficientFunds, and changes nothing, when the source cannot pay."""
from asyncdb_lab.checks import expect

async with disposable_database(seed=True, label="check_transfer_funds", say=False) as check:
    before = await balances(check.engine, [1, 2])
    await expect_raises(InsufficientFunds, transfer(check.session_factory, 1, 2, before[1] + Decimal("0.01")),
                        "transfer of one cent more than the balance", "Compare the balance with the amount.")
    after = await balances(check.engine, [1, 2])
expect(after, before, "balances after InsufficientFunds", "Raise before changing anything, inside the transaction.")
### BEGIN HIDDEN TESTS
async with disposable_database(seed=True, label="check_transfer_funds", say=False) as check:
    async with check.engine.connect() as conn:
        empty = await conn.scalar(text("SELECT min(id) FROM accounts WHERE balance = 0"))
    for source, target in [(empty, 3), (3, empty), (20, 21), (21, 20)]:
        before = await balances(check.engine, [source, target])
        amount = before[source] + (Decimal("0.01") if source == empty else Decimal("100.00"))
        await expect_raises(InsufficientFunds, transfer(check.session_factory, source, target, amount),
                            f"transfer of {amount} from account {source} (balance {before[source]})",
                            "Raise InsufficientFunds, the class given above.")
        after = await balances(check.engine, [source, target])
        expect(after, before, f"balances of accounts {source} and {target} after InsufficientFunds",
               "Nothing may change: do not write (or commit) anything before the check.")
### END HIDDEN TESTS

# %% tests id=test_transfer_concurrent_one_way points=2
"""Check that concurrent transfers from one account lose no update and never overdraw it."""
from asyncdb_lab.checks import expect

async with disposable_database(seed=True, label="check_transfer_race", say=False) as check:
    before = await balances(check.engine, [1, 2])
    outcomes, database_errors, finished = await run_transfers(check, [(1, 2, Decimal("1.00"))] * 20)
    after = await balances(check.engine, [1, 2])
expect([o for o in outcomes if o is not None], [], "errors raised by 20 concurrent transfers of 1.00",
       "Every transfer had enough money.")
expect(after, {1: before[1] - 20, 2: before[2] + 20}, "balances after 20 concurrent transfers of 1.00",
       "Some updates were lost: lock the rows (SELECT … FOR UPDATE) before reading the balances. "
       "Already locking them? If the session read an account before the lock (to check that it exists, "
       "say), the locking SELECT gives back that same object with the balance read before: make the locking "
       "SELECT the first read, or add .execution_options(populate_existing=True) to it.")
### BEGIN HIDDEN TESTS
async with disposable_database(seed=True, label="check_transfer_race", say=False) as check:
    async with check.engine.begin() as conn:
        await conn.execute(text("UPDATE accounts SET balance = 40.00 WHERE id = 11"))
    transfers = [(11, 12 + k % 3, Decimal("1.00") if k % 2 else Decimal("0.75")) for k in range(150)]
    before = await balances(check.engine, [11, 12, 13, 14])
    outcomes, database_errors, finished = await run_transfers(check, transfers)
    after = await balances(check.engine, [11, 12, 13, 14])
assert finished, (
    f"150 concurrent transfers did not finish cleanly; database errors: {sorted(set(database_errors))[:3]}"
)
unexpected = [f"{type(o).__name__}: {o}" for o in outcomes if o is not None and not isinstance(o, InsufficientFunds)]
assert not unexpected, (
    f"Concurrent transfers raised {unexpected[:2]} (and {max(0, len(unexpected) - 2)} more). Only "
    "InsufficientFunds is expected: check the balance after locking the row, not before."
)
expected = dict(before)
for (source, target, amount), outcome in zip(transfers, outcomes, strict=True):
    if outcome is None:
        expected[source] -= amount
        expected[target] += amount
expect(after, expected, "balances after 150 concurrent transfers from account 11 (40.00)",
       "Updates were lost: the balances do not match the transfers that succeeded. "
       "Lock the rows before reading them, in the same transaction as the writes. A locking SELECT does "
       "not refresh an account the session read earlier: lock first, or use populate_existing=True.")
### END HIDDEN TESTS

# %% tests id=test_transfer_concurrent_both_ways points=3
"""Check that hundreds of concurrent transfers in both directions never deadlock and conserve the total."""
### BEGIN HIDDEN TESTS
from asyncdb_lab.checks import expect

async with disposable_database(seed=True, label="check_transfer_ways", say=False) as check:
    async with check.engine.begin() as conn:
        await conn.execute(text("UPDATE accounts SET balance = 30.00 WHERE id IN (31, 32, 33)"))
    pairs = [(31, 32), (32, 31), (32, 33), (33, 32), (33, 31), (31, 33)]
    transfers = [(*pairs[k % 6], Decimal(1 + k % 4) + Decimal("0.25")) for k in range(200)]
    before = await balances(check.engine, [31, 32, 33])
    outcomes, database_errors, finished = await run_transfers(check, transfers)
    after = await balances(check.engine, [31, 32, 33])
deadlocks = [message for code, message in database_errors if code in ("40P01", "55P03", "57014")]
assert not deadlocks, (
    f"Concurrent transfers in opposite directions hit {deadlocks[0]!r} — even if your code retried it, "
    "two transfers locked the same rows in opposite orders. Lock both rows in one statement, ordered by id."
)
assert finished, "200 concurrent transfers did not finish within 30 s."
unexpected = [f"{type(o).__name__}: {o}" for o in outcomes if o is not None and not isinstance(o, InsufficientFunds)]
assert not unexpected, f"Concurrent transfers raised {unexpected[:2]}; only InsufficientFunds is expected."
expected = dict(before)
for (source, target, amount), outcome in zip(transfers, outcomes, strict=True):
    if outcome is None:
        expected[source] -= amount
        expected[target] += amount
expect(sum(after.values()), sum(before.values()), "the total of the three balances",
       "Money appeared or vanished: updates were lost. Lock both rows before reading them; a locking SELECT "
       "does not refresh an account the session read earlier: lock first, or use populate_existing=True.")
expect(after, expected, "balances after 200 concurrent transfers in both directions",
       "Updates were lost: lock both rows before reading them. A locking SELECT does not refresh an "
       "account the session read earlier: lock first, or use populate_existing=True.")
### END HIDDEN TESTS

# %% tests id=test_transfer_one_transaction points=2
"""Check that a transfer is one transaction: a reader summing all balances never sees money missing or doubled."""
### BEGIN HIDDEN TESTS
from asyncdb_lab.checks import expect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

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


async with disposable_database(seed=True, label="check_transfer_atomic", say=False) as check:
    patient = create_async_engine(check.url, pool_size=4, max_overflow=0,
                                  connect_args={"server_settings": {"lock_timeout": "30s"}})
    side = create_async_engine(check.url, poolclass=NullPool)
    try:
        factory = async_sessionmaker(patient, expire_on_commit=False)
        async with side.connect() as watcher:
            watcher = await watcher.execution_options(isolation_level="AUTOCOMMIT")
            total = await watcher.scalar(text("SELECT sum(balance) FROM accounts"))
            for source, target, held in [(41, 42, 42), (42, 41, 42), (43, 44, 43), (44, 43, 43)]:
                before = await balances(check.engine, [source, target])
                async with side.connect() as holder:
                    await holder.execute(text("SELECT id FROM accounts WHERE id = :id FOR UPDATE"), {"id": held})
                    task = asyncio.create_task(transfer(factory, source, target, Decimal("5.00")))
                    await wait_until_blocked(watcher, 1, [task])
                    seen = await watcher.scalar(text("SELECT sum(balance) FROM accounts"))
                    await holder.rollback()
                try:
                    await asyncio.wait_for(task, 20)
                except Exception as error:
                    raise AssertionError(
                        f"transfer(factory, {source}, {target}, Decimal('5.00')) raised {type(error).__name__}: "
                        f"{error} after waiting for another transaction's lock on account {held}."
                    ) from None
                role = "destination" if held == target else "source"
                expect(seen, total,
                       f"the total of all balances, read by another connection while transfer({source} → {target}) "
                       f"waited for a lock on its {role} account",
                       "Part of the transfer was already committed: money existed nowhere (or twice) in between. "
                       "Debit and credit must be committed together, in one transaction.")
                after = await balances(check.engine, [source, target])
                expect(after, {source: before[source] - Decimal("5.00"), target: before[target] + Decimal("5.00")},
                       f"balances after transfer({source} → {target})", "Move the money once the lock is free.")
    finally:
        await patient.dispose()
        await side.dispose()
### END HIDDEN TESTS

# %% tests id=test_transfer_lock_order points=2
"""Check that two opposite transfers that meet while the rows are busy never deadlock."""
### BEGIN HIDDEN TESTS
from asyncdb_lab.checks import expect
from sqlalchemy.pool import NullPool

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


async with disposable_database(seed=True, label="check_transfer_order", say=False) as check:
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
            # Account 51 is busy (another transaction holds it) while the first transfer starts and
            # waits, and while the opposite one starts; then both go at once.
            for first, second in [((51, 52), (52, 51)), ((52, 51), (51, 52))]:
                before = await balances(check.engine, [51, 52])
                async with side.connect() as holder:
                    await holder.execute(text("SELECT id FROM accounts WHERE id = 51 FOR UPDATE"))
                    one = asyncio.create_task(transfer(factory, *first, Decimal("1.00")))
                    await wait_until_blocked(watcher, 1, [one])
                    two = asyncio.create_task(transfer(factory, *second, Decimal("2.00")))
                    await wait_until_blocked(watcher, 2, [one, two])
                    await holder.rollback()
                done, _ = await asyncio.wait([one, two], timeout=20)
                for task in (one, two):
                    if not task.done():
                        task.cancel()
                await asyncio.gather(one, two, return_exceptions=True)
                deadlocks = [message for code, message in database_errors if code == "40P01"]
                assert not deadlocks, (
                    f"transfer{first} and transfer{second}, started while account 51 was busy, deadlocked: "
                    f"{deadlocks[0]!r}. Each locked the accounts in its own order (from, then to). Lock both "
                    "rows in one statement in a fixed order: ORDER BY id."
                )
                assert len(done) == 2, "Two opposite transfers did not finish within 20 s after the lock was free."
                for task, arguments in ((one, first), (two, second)):
                    if task.exception() is not None:
                        error = task.exception()
                        raise AssertionError(
                            f"transfer{arguments} raised {type(error).__name__}: {error} when an opposite transfer "
                            "ran at the same time."
                        )
                expected = dict(before)
                for (source, target), amount in ((first, Decimal("1.00")), (second, Decimal("2.00"))):
                    expected[source] -= amount
                    expected[target] += amount
                expect(await balances(check.engine, [51, 52]), expected, "balances after two opposite transfers",
                       "Both transfers must be applied, once each.")
    finally:
        await patient.dispose()
        await side.dispose()
### END HIDDEN TESTS

# %% tests id=test_transfer_other_errors points=2
"""Check that database errors that are not about the balance propagate unchanged, not as InsufficientFunds."""
### BEGIN HIDDEN TESTS
from sqlalchemy.exc import DBAPIError
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


async with disposable_database(seed=True, label="check_transfer_errors", say=False) as check:
    impatient = create_async_engine(check.url, pool_size=2, max_overflow=0,
                                    connect_args={"server_settings": {"lock_timeout": "300ms"}})
    side = create_async_engine(check.url, poolclass=NullPool)
    try:
        factory = async_sessionmaker(impatient, expire_on_commit=False)
        for source, target in [(61, 62), (62, 61)]:
            before = await balances(check.engine, [source, target])
            async with side.connect() as holder:
                await holder.execute(text("SELECT id FROM accounts WHERE id = 62 FOR UPDATE"))
                await expect_database_error(
                    transfer(factory, source, target, Decimal("1.00")), "55P03",
                    f"transfer({source} → {target}) while another transaction holds account 62, with lock_timeout 300ms",
                    "A lock timeout is not insufficient funds: do not catch database errors you cannot handle "
                    "(no bare `except Exception`), let them propagate.")
                await holder.rollback()
            expect(await balances(check.engine, [source, target]), before,
                   f"balances after the lock timeout of transfer({source} → {target})", "Nothing may change.")

        async with check.engine.begin() as conn:
            await conn.execute(text("UPDATE accounts SET balance = 500.00 WHERE id IN (63, 64)"))
            await conn.execute(text("""
                CREATE FUNCTION frozen_accounts() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.id = 63 THEN
                        RAISE EXCEPTION 'account 63 is frozen'
                            USING ERRCODE = 'check_violation', CONSTRAINT = 'accounts_frozen_check';
                    END IF;
                    RETURN NEW;
                END $$"""))
            await conn.execute(text(
                "CREATE TRIGGER frozen_accounts BEFORE UPDATE ON accounts FOR EACH ROW EXECUTE FUNCTION frozen_accounts()"
            ))
        for source, target in [(64, 63), (63, 64)]:
            before = await balances(check.engine, [source, target])
            amount = Decimal("1.00")
            await expect_database_error(
                transfer(factory, source, target, amount), "23514",
                f"transfer({source} → {target}) of {amount} when a trigger refuses any change to account 63 "
                f"(check_violation on accounts_frozen_check; account {source} holds {before[source]})",
                "The source has the money: only the balance check is InsufficientFunds. Other constraint "
                "errors must propagate unchanged.")
            expect(await balances(check.engine, [source, target]), before,
                   f"balances after the refused transfer({source} → {target})", "Nothing may change.")
    finally:
        await impatient.dispose()
        await side.dispose()
### END HIDDEN TESTS

# %% [markdown] id=summary
# ---
# ## Summary
#
# - An `AsyncSession` begins a transaction on its first statement; `async with Session.begin() as session:` makes one block one transaction, committed at the end and rolled back on an exception. Calling `session.begin()` after a query raises.
# - A read-modify-write without a lock loses updates under concurrency, silently.
# - `SELECT … FOR UPDATE` makes the next writer wait; an atomic `UPDATE … SET balance = balance - x WHERE balance >= x` needs no separate lock at all.
# - A locking query does not refresh an object the session already holds: lock before the first read, or add `execution_options(populate_existing=True)`.
# - Locking two rows in different orders deadlocks: lock them in one statement ordered by primary key.
# - REPEATABLE READ and SERIALIZABLE replace waiting with errors (`40001`) that the caller must retry.
# - Money is `Decimal`, built from strings, with the column's scale; `float` arithmetic with a `Decimal` raises `TypeError`.
#
# ## Interview questions
#
# 1. How do you handle a database transaction across several operations in async SQLAlchemy?
# 2. How do you handle concurrent updates to the same row?
# 3. Two transfers lock both accounts with `SELECT … FOR UPDATE` and still fail now and then with "deadlock detected". Why, and what is the fix?
# 4. What does a transaction at REPEATABLE READ do when a row it wants to update was changed by a transaction that committed after its snapshot was taken?
# 5. Why must money be `Decimal` rather than `float`, and what goes wrong when you mix them?
#
# <details><summary>Answers</summary>
#
# 1. Make one block one unit of work: `async with session_factory.begin() as session:` (or autobegin plus one `await session.commit()` at the end). Everything inside commits together or rolls back together when an exception leaves the block; `flush()` sends statements early (to get ids) without committing. Do not call `session.begin()` on a session that has already run a query (it raises `InvalidRequestError`), do not commit inside helpers that are part of a bigger unit, and keep transactions short, especially when they hold locks. To undo only part of the work, use a savepoint (notebook 05).
# 2. Never read a value into Python and write back a value computed from it without protection. Best when possible: an atomic statement, `UPDATE accounts SET balance = balance - :x WHERE id = :id AND balance >= :x`, and check the row count (or `RETURNING`). Otherwise lock first: `SELECT … FOR UPDATE` in the same transaction as the write (with the ORM, before any other read of those rows, or with `populate_existing=True`: the locking query does not refresh objects the session already holds); when several rows are locked, lock them in a consistent order (one `SELECT … WHERE id IN (…) ORDER BY id FOR UPDATE`), or transactions deadlock. Optimistic alternatives: a version column (`version_id_col`) that makes a stale write fail, or REPEATABLE READ / SERIALIZABLE with a retry on `40001`. Keep transactions short and set `lock_timeout`.
# 3. Each locks the source first, so transfers in opposite directions lock the two rows in opposite orders and wait for each other; PostgreSQL aborts one with `40P01`. Lock both rows in one statement ordered by id (or sort the ids before locking), so every transaction takes the locks in the same order.
# 4. It fails with a serialization failure (`40001`, "could not serialize access due to concurrent update"); the whole transaction must be retried from the start, in a new transaction.
# 5. Binary floats cannot represent most decimal fractions, so sums drift (0.1 + 0.2 is 0.30000000000000004). `Decimal` is exact and is what `Numeric` columns return; `Decimal` arithmetic with a `float` raises `TypeError`. Build `Decimal` from strings, and keep amounts to the column's scale.
#
# </details>
#
# ## Further reading
#
# - PostgreSQL: [Explicit locking: row-level locks and deadlocks](https://www.postgresql.org/docs/current/explicit-locking.html)
# - PostgreSQL: [Transaction isolation](https://www.postgresql.org/docs/current/transaction-iso.html)
# - PostgreSQL: [`SELECT` … the locking clause](https://www.postgresql.org/docs/current/sql-select.html#SQL-FOR-UPDATE-SHARE)
# - SQLAlchemy: [Transactions and connection management (Session)](https://docs.sqlalchemy.org/en/20/orm/session_transaction.html)
# - SQLAlchemy: [`Select.with_for_update()`](https://docs.sqlalchemy.org/en/20/core/selectable.html#sqlalchemy.sql.expression.Select.with_for_update) and [setting isolation levels](https://docs.sqlalchemy.org/en/20/orm/session_transaction.html#setting-transaction-isolation-levels-dbapi-autocommit)
# - SQLAlchemy: [Populate existing](https://docs.sqlalchemy.org/en/20/orm/queryguide/api.html#populate-existing): refreshing objects the session already holds
# - SQLAlchemy: [Configuring a version counter](https://docs.sqlalchemy.org/en/20/orm/versioning.html)
# - Python: [`decimal` — decimal fixed-point arithmetic](https://docs.python.org/3/library/decimal.html)

# %% [markdown] id=check-your-notebook
# ---
# **Check your notebook.** Save (Ctrl+S), then run this cell: it checks the saved file as `asyncdb-lab check` does, on a fresh database, and shows each exercise's points, a failing test's message with its first hint, and what to do next.

# %% id=check-this-notebook
from asyncdb_lab.learner.in_lab import check_this_notebook

check_this_notebook()
