"""Plausible wrong answers for 04_transactions_and_locking (see README.md in this folder)."""

SIGNATURE = (
    "async def transfer(session_factory, from_id: int, to_id: int, amount: Decimal) -> None:\n"
    '    """Move amount from account from_id to account to_id, in a session and a transaction '
    'of its own."""\n'
)

VALIDATION = """    if not isinstance(amount, Decimal):
        raise TypeError("amount must be a Decimal")
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise ValueError("amount must be a positive number of cents")
    if from_id == to_id:
        raise ValueError("cannot transfer to the same account")
"""

WRONG_ANSWERS = {
    "transfer": [
        (
            "no row locks: read-modify-write loses updates under concurrency",
            SIGNATURE
            + VALIDATION
            + """    async with session_factory.begin() as session:
        source = await session.get(Account, from_id)
        target = await session.get(Account, to_id)
        if source is None or target is None:
            raise LookupError("no such account")
        if source.balance < amount:
            raise InsufficientFunds(f"account {from_id} cannot pay {amount}")
        source.balance -= amount
        target.balance += amount
""",
        ),
        (
            "FOR UPDATE on the source, then on the destination (deadlocks in opposite directions)",
            SIGNATURE
            + VALIDATION
            + """    async with session_factory.begin() as session:
        source = await session.get(Account, from_id, with_for_update=True)
        target = await session.get(Account, to_id, with_for_update=True)
        if source is None or target is None:
            raise LookupError("no such account")
        if source.balance < amount:
            raise InsufficientFunds(f"account {from_id} cannot pay {amount}")
        source.balance -= amount
        target.balance += amount
""",
        ),
        (
            "locks source then destination, and retries when PostgreSQL reports a deadlock",
            SIGNATURE
            + VALIDATION
            + """    from sqlalchemy.exc import DBAPIError

    for attempt in range(20):
        try:
            async with session_factory.begin() as session:
                source = await session.get(Account, from_id, with_for_update=True)
                target = await session.get(Account, to_id, with_for_update=True)
                if source is None or target is None:
                    raise LookupError("no such account")
                if source.balance < amount:
                    raise InsufficientFunds(f"account {from_id} cannot pay {amount}")
                source.balance -= amount
                target.balance += amount
            return
        except DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) != "40P01":
                raise
            await asyncio.sleep(0.01 * attempt)
    raise RuntimeError("gave up after 20 deadlocks")
""",
        ),
        (
            "FOR UPDATE on the source only; the destination is read without a lock",
            SIGNATURE
            + VALIDATION
            + """    async with session_factory.begin() as session:
        target = await session.get(Account, to_id)
        source = await session.get(Account, from_id, with_for_update=True)
        if source is None or target is None:
            raise LookupError("no such account")
        if source.balance < amount:
            raise InsufficientFunds(f"account {from_id} cannot pay {amount}")
        source.balance -= amount
        target.balance += amount
""",
        ),
        (
            "checks that the accounts exist, then locks them in id order without populate_existing "
            "(the locking SELECT returns the stale objects of the identity map)",
            SIGNATURE
            + VALIDATION
            + """    async with session_factory.begin() as session:
        source = await session.get(Account, from_id)
        target = await session.get(Account, to_id)
        if source is None or target is None:
            raise LookupError("no such account")
        locked = await session.scalars(
            select(Account).where(Account.id.in_([from_id, to_id])).order_by(Account.id).with_for_update()
        )
        accounts = {account.id: account for account in locked}
        source, target = accounts[from_id], accounts[to_id]
        if source.balance < amount:
            raise InsufficientFunds(f"account {from_id} cannot pay {amount}")
        source.balance -= amount
        target.balance += amount
""",
        ),
        (
            "atomic UPDATEs, but source first then destination (deadlocks)",
            SIGNATURE
            + VALIDATION
            + """    async with session_factory.begin() as session:
        found = await session.scalars(select(Account.id).where(Account.id.in_([from_id, to_id])))
        if len(found.all()) != 2:
            raise LookupError("no such account")
        debited = await session.execute(
            update(Account)
            .where(Account.id == from_id, Account.balance >= amount)
            .values(balance=Account.balance - amount)
        )
        if debited.rowcount == 0:
            raise InsufficientFunds(f"account {from_id} cannot pay {amount}")
        await session.execute(
            update(Account).where(Account.id == to_id).values(balance=Account.balance + amount)
        )
""",
        ),
        (
            "checks the funds without a lock, then updates atomically in id order",
            SIGNATURE
            + VALIDATION
            + """    async with session_factory.begin() as session:
        source = await session.get(Account, from_id)
        target = await session.get(Account, to_id)
        if source is None or target is None:
            raise LookupError("no such account")
        if source.balance < amount:
            raise InsufficientFunds(f"account {from_id} cannot pay {amount}")
        for account_id in sorted([from_id, to_id]):
            change = -amount if account_id == from_id else amount
            await session.execute(
                update(Account)
                .where(Account.id == account_id)
                .values(balance=Account.balance + change)
            )
""",
        ),
        (
            "credits and commits first, then finds out the source cannot pay",
            SIGNATURE
            + VALIDATION
            + """    async with session_factory() as session:
        credited = await session.execute(
            update(Account).where(Account.id == to_id).values(balance=Account.balance + amount)
        )
        debited = await session.execute(
            update(Account)
            .where(Account.id == from_id, Account.balance >= amount)
            .values(balance=Account.balance - amount)
        )
        await session.commit()
        if credited.rowcount == 0:
            raise LookupError(f"no account {to_id}")
        if debited.rowcount == 0:
            raise InsufficientFunds(f"account {from_id} cannot pay {amount}")
""",
        ),
        (
            "commits the debit and the credit in two transactions (money exists nowhere in between)",
            SIGNATURE
            + VALIDATION
            + """    async with session_factory.begin() as session:
        source = await session.get(Account, from_id, with_for_update=True)
        if source is None or await session.get(Account, to_id) is None:
            raise LookupError("no such account")
        if source.balance < amount:
            raise InsufficientFunds(f"account {from_id} cannot pay {amount}")
        source.balance -= amount
    async with session_factory.begin() as session:
        target = await session.get(Account, to_id, with_for_update=True)
        target.balance += amount
""",
        ),
        (
            "locks the rows one by one in the caller's order (from, then to), refreshing each",
            SIGNATURE
            + VALIDATION
            + """    async with session_factory.begin() as session:
        locked = {}
        for account_id in (from_id, to_id):
            locked[account_id] = await session.get(
                Account, account_id, with_for_update=True, populate_existing=True
            )
        if None in locked.values():
            raise LookupError("no such account")
        if locked[from_id].balance < amount:
            raise InsufficientFunds(f"account {from_id} cannot pay {amount}")
        locked[from_id].balance -= amount
        locked[to_id].balance += amount
""",
        ),
        (
            "turns every error of the transaction into InsufficientFunds (a lock timeout too)",
            SIGNATURE
            + VALIDATION
            + """    try:
        async with session_factory.begin() as session:
            statement = (
                select(Account)
                .where(Account.id.in_([from_id, to_id]))
                .order_by(Account.id)
                .with_for_update()
            )
            accounts = {a.id: a for a in (await session.scalars(statement)).all()}
            if len(accounts) != 2:
                raise LookupError("no such account")
            if accounts[from_id].balance < amount:
                raise InsufficientFunds(f"account {from_id} cannot pay {amount}")
            accounts[from_id].balance -= amount
            accounts[to_id].balance += amount
    except (LookupError, InsufficientFunds):
        raise
    except Exception as error:
        raise InsufficientFunds(f"transfer failed: {error}") from error
""",
        ),
        (
            "relies on the CHECK constraint and reports every IntegrityError as InsufficientFunds",
            SIGNATURE
            + VALIDATION
            + """    from sqlalchemy.exc import IntegrityError

    try:
        async with session_factory.begin() as session:
            statement = (
                select(Account)
                .where(Account.id.in_([from_id, to_id]))
                .order_by(Account.id)
                .with_for_update()
            )
            accounts = {a.id: a for a in (await session.scalars(statement)).all()}
            if len(accounts) != 2:
                raise LookupError("no such account")
            accounts[from_id].balance -= amount  # accounts_balance_check refuses a negative balance
            accounts[to_id].balance += amount
    except IntegrityError as error:
        raise InsufficientFunds(f"account {from_id} cannot pay {amount}") from error
""",
        ),
        (
            "float arithmetic: converts the amount and balances to float",
            SIGNATURE
            + """    amount = float(amount)
    if amount <= 0:
        raise ValueError("amount must be positive")
    if from_id == to_id:
        raise ValueError("cannot transfer to the same account")
    async with session_factory.begin() as session:
        accounts = {
            account.id: account
            for account in (await session.scalars(
                select(Account)
                .where(Account.id.in_([from_id, to_id]))
                .order_by(Account.id)
                .with_for_update()
            )).all()
        }
        if len(accounts) != 2:
            raise LookupError("no such account")
        source, target = accounts[from_id], accounts[to_id]
        if float(source.balance) < amount:
            raise InsufficientFunds(f"account {from_id} cannot pay {amount}")
        source.balance = float(source.balance) - amount
        target.balance = float(target.balance) + amount
""",
        ),
        (
            "the tutorial's shape: begin() after a query, float amount",
            SIGNATURE
            + """    if amount <= 0 or from_id == to_id:
        raise ValueError("bad transfer")
    async with session_factory() as session:
        source = await session.get(Account, from_id)
        async with session.begin():
            source = await session.get(Account, from_id, with_for_update=True)
            target = await session.get(Account, to_id, with_for_update=True)
            if source.balance < amount:
                raise InsufficientFunds("insufficient funds")
            source.balance -= float(amount)
            target.balance += float(amount)
""",
        ),
        (
            "SERIALIZABLE without locks and without a retry",
            SIGNATURE
            + VALIDATION
            + """    async with session_factory() as session:
        await session.connection(execution_options={"isolation_level": "SERIALIZABLE"})
        source = await session.get(Account, from_id)
        target = await session.get(Account, to_id)
        if source is None or target is None:
            raise LookupError("no such account")
        if source.balance < amount:
            raise InsufficientFunds(f"account {from_id} cannot pay {amount}")
        source.balance -= amount
        target.balance += amount
        await session.commit()
""",
        ),
    ],
}

CORRECT_ALTERNATIVES = {
    "transfer": [
        (
            "text() SQL: lock both rows ORDER BY id FOR UPDATE, one UPDATE with CASE; prints each transfer",
            SIGNATURE
            + """    if not isinstance(amount, Decimal):
        raise TypeError("amount must be a Decimal")
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise ValueError("amount must be a positive number of whole cents")
    if from_id == to_id:
        raise ValueError("cannot transfer to the same account")
    async with session_factory() as session:
        async with session.begin():
            rows = await session.execute(
                text("SELECT id, balance FROM accounts WHERE id IN (:a, :b) ORDER BY id FOR UPDATE"),
                {"a": from_id, "b": to_id},
            )
            found = dict(rows.all())
            if len(found) != 2:
                raise LookupError(f"no account among {sorted({from_id, to_id} - found.keys())}")
            if found[from_id] < amount:
                raise InsufficientFunds(f"account {from_id} has {found[from_id]}")
            await session.execute(
                text(
                    "UPDATE accounts SET balance = balance + CASE WHEN id = :to THEN CAST(:x AS numeric) "
                    "ELSE -CAST(:x AS numeric) END "
                    "WHERE id IN (:from, :to)"
                ),
                {"from": from_id, "to": to_id, "x": amount},
            )
        print(f"moved {amount} from {from_id} to {to_id}")
""",
        ),
        (
            "atomic UPDATEs in id order; InsufficientFunds from accounts_balance_check, by constraint name",
            SIGNATURE
            + """    from sqlalchemy.exc import IntegrityError

    if type(amount) is not Decimal:
        raise TypeError("amount must be a Decimal")
    if amount <= 0 or amount.quantize(Decimal("0.01")) != amount:
        raise ValueError("amount must be a positive number of cents")
    if from_id == to_id:
        raise ValueError("cannot transfer to the same account")
    try:
        async with session_factory.begin() as session:
            for account_id in sorted((from_id, to_id)):
                change = -amount if account_id == from_id else amount
                updated = await session.execute(
                    update(Account)
                    .where(Account.id == account_id)
                    .values(balance=Account.balance + change)
                    .returning(Account.id)
                )
                if updated.scalar_one_or_none() is None:
                    raise LookupError(f"no account {account_id}")
    except IntegrityError as error:
        cause = error.orig.__cause__
        if getattr(cause, "constraint_name", None) == "accounts_balance_check":
            raise InsufficientFunds(f"account {from_id} cannot pay {amount}") from None
        raise
""",
        ),
    ],
}
