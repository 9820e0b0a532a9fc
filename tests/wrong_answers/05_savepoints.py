"""Plausible wrong answers for 05_savepoints (see README.md in this folder)."""

WRONG_ANSWERS = {
    "place_order": [
        (
            "the tutorial's savepoint that re-raises inside begin_nested (the whole order is lost)",
            '''async def place_order(session_factory, user_id: int, items: list[tuple[int, int]]) -> tuple[int | None, list[int]]:
    """Place one order of the items that can be served; return (order id or None, skipped product ids)."""
    skipped = []
    async with session_factory() as session, session.begin():
        order = Order(user_id=user_id)
        session.add(order)
        await session.flush()
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
                    skipped.append(product_id)
                    raise  # the savepoint rolls back, the outer transaction continues (it does not)
        if len(skipped) == len(items):
            await session.rollback()
            return None, skipped
    return order.id, skipped
''',
        ),
        (
            "checks the stock without FOR UPDATE (oversells under concurrency)",
            '''async def place_order(session_factory, user_id: int, items: list[tuple[int, int]]) -> tuple[int | None, list[int]]:
    """Place one order of the items that can be served; return (order id or None, skipped product ids)."""
    skipped = []
    async with session_factory() as session, session.begin():
        order = Order(user_id=user_id)
        session.add(order)
        await session.flush()
        for product_id, quantity in items:
            try:
                async with session.begin_nested():
                    product = await session.get(Product, product_id)
                    if product is None or product.stock < quantity:
                        raise OutOfStock(product_id)
                    product.stock -= quantity
                    session.add(OrderItem(order_id=order.id, product_id=product_id,
                                          quantity=quantity, unit_price=product.price))
                    await session.flush()
            except (OutOfStock, IntegrityError):
                skipped.append(product_id)
        if len(skipped) == len(items):
            await session.rollback()
            return None, skipped
    return order.id, skipped
''',
        ),
        (
            "writes an empty order when every item is skipped",
            '''async def place_order(session_factory, user_id: int, items: list[tuple[int, int]]) -> tuple[int | None, list[int]]:
    """Place one order of the items that can be served; return (order id or None, skipped product ids)."""
    skipped = []
    async with session_factory() as session, session.begin():
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
                    product = await session.get(Product, product_id)
                    if product is None or product.stock < quantity:
                        raise OutOfStock(product_id)
                    product.stock -= quantity
                    session.add(OrderItem(order_id=order.id, product_id=product_id,
                                          quantity=quantity, unit_price=product.price))
                    await session.flush()
            except (OutOfStock, IntegrityError):
                skipped.append(product_id)
    return order.id, skipped
''',
        ),
        (
            "returns None for an empty order but commits the order row anyway",
            '''async def place_order(session_factory, user_id: int, items: list[tuple[int, int]]) -> tuple[int | None, list[int]]:
    """Place one order of the items that can be served; return (order id or None, skipped product ids)."""
    skipped = []
    async with session_factory() as session, session.begin():
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
                    product = await session.get(Product, product_id)
                    if product is None or product.stock < quantity:
                        raise OutOfStock(product_id)
                    product.stock -= quantity
                    session.add(OrderItem(order_id=order.id, product_id=product_id,
                                          quantity=quantity, unit_price=product.price))
                    await session.flush()
            except (OutOfStock, IntegrityError):
                skipped.append(product_id)
    return (None if len(skipped) == len(items) else order.id), skipped
''',
        ),
        (
            "checks everything in Python and uses no savepoint (a line the database refuses sinks the order)",
            '''async def place_order(session_factory, user_id: int, items: list[tuple[int, int]]) -> tuple[int | None, list[int]]:
    """Place one order of the items that can be served; return (order id or None, skipped product ids)."""
    skipped = []
    async with session_factory() as session, session.begin():
        product_ids = sorted({product_id for product_id, _ in items})
        products = {
            p.id: p
            for p in await session.scalars(
                select(Product).where(Product.id.in_(product_ids)).order_by(Product.id).with_for_update()
            )
        }
        order = Order(user_id=user_id)
        session.add(order)
        for product_id, quantity in items:
            product = products.get(product_id)
            if product is None or product.stock < quantity:
                skipped.append(product_id)
                continue
            product.stock -= quantity
            order.items.append(OrderItem(product_id=product_id, quantity=quantity, unit_price=product.price))
        if len(skipped) == len(items):
            await session.rollback()
            return None, skipped
        await session.flush()
    return order.id, skipped
''',
        ),
        (
            "locks with session.get(with_for_update=True) after loading the products unlocked (stale stock)",
            '''async def place_order(session_factory, user_id: int, items: list[tuple[int, int]]) -> tuple[int | None, list[int]]:
    """Place one order of the items that can be served; return (order id or None, skipped product ids)."""
    skipped = []
    async with session_factory() as session, session.begin():
        product_ids = [product_id for product_id, _ in items]
        known = set(await session.scalars(select(Product).where(Product.id.in_(product_ids))))
        known_ids = {p.id for p in known}
        order = Order(user_id=user_id)
        session.add(order)
        await session.flush()
        for product_id, quantity in items:
            try:
                async with session.begin_nested():
                    if product_id not in known_ids:
                        raise OutOfStock(product_id)
                    product = await session.get(Product, product_id, with_for_update=True)
                    if product.stock < quantity:
                        raise OutOfStock(product_id)
                    product.stock -= quantity
                    session.add(OrderItem(order_id=order.id, product_id=product_id,
                                          quantity=quantity, unit_price=product.price))
                    await session.flush()
            except (OutOfStock, IntegrityError):
                skipped.append(product_id)
        if len(skipped) == len(items):
            await session.rollback()
            return None, skipped
    return order.id, skipped
''',
        ),
    ],
    "import_users": [
        (
            "no savepoint: rolls the session back after a bad row (earlier rows and the caller's work are lost)",
            '''async def import_users(session, rows: list[dict]) -> tuple[int, list[tuple[int, str]]]:
    """Insert each row with its own savepoint; return (inserted, [(row index, reason), ...]).

    Reasons, from the SQLSTATE: "duplicate_email" (23505), "missing_name" (23502).
    Flushes only: the caller commits or rolls back.
    """
    reasons = {"23505": "duplicate_email", "23502": "missing_name"}
    inserted = 0
    rejected = []
    for index, row in enumerate(rows):
        session.add(User(email=row.get("email"), name=row.get("name")))
        try:
            await session.flush()
        except IntegrityError as error:
            await session.rollback()
            rejected.append((index, reasons.get(error.orig.sqlstate, "other")))
        else:
            inserted += 1
    return inserted, rejected
''',
        ),
        (
            "no savepoint: expunges the failed user and carries on (PendingRollbackError)",
            '''async def import_users(session, rows: list[dict]) -> tuple[int, list[tuple[int, str]]]:
    """Insert each row with its own savepoint; return (inserted, [(row index, reason), ...]).

    Reasons, from the SQLSTATE: "duplicate_email" (23505), "missing_name" (23502).
    Flushes only: the caller commits or rolls back.
    """
    reasons = {"23505": "duplicate_email", "23502": "missing_name"}
    inserted = 0
    rejected = []
    for index, row in enumerate(rows):
        user = User(email=row.get("email"), name=row.get("name"))
        session.add(user)
        try:
            await session.flush()
        except IntegrityError as error:
            session.expunge(user)
            rejected.append((index, reasons.get(error.orig.sqlstate, "other")))
        else:
            inserted += 1
    return inserted, rejected
''',
        ),
        (
            "classifies by matching the message text",
            '''async def import_users(session, rows: list[dict]) -> tuple[int, list[tuple[int, str]]]:
    """Insert each row with its own savepoint; return (inserted, [(row index, reason), ...]).

    Reasons, from the SQLSTATE: "duplicate_email" (23505), "missing_name" (23502).
    Flushes only: the caller commits or rolls back.
    """
    inserted = 0
    rejected = []
    for index, row in enumerate(rows):
        try:
            async with session.begin_nested():
                session.add(User(email=row.get("email"), name=row.get("name")))
                await session.flush()
        except IntegrityError as error:
            message = str(error.orig).lower()
            if "duplicate key" in message or "unique constraint" in message:
                rejected.append((index, "duplicate_email"))
            else:
                rejected.append((index, "missing_name"))
        else:
            inserted += 1
    return inserted, rejected
''',
        ),
        (
            "classifies by looking for 'null' in the message text",
            '''async def import_users(session, rows: list[dict]) -> tuple[int, list[tuple[int, str]]]:
    """Insert each row with its own savepoint; return (inserted, [(row index, reason), ...]).

    Reasons, from the SQLSTATE: "duplicate_email" (23505), "missing_name" (23502).
    Flushes only: the caller commits or rolls back.
    """
    inserted = 0
    rejected = []
    for index, row in enumerate(rows):
        try:
            async with session.begin_nested():
                session.add(User(email=row.get("email"), name=row.get("name")))
                await session.flush()
        except IntegrityError as error:
            if "null" in str(error.orig).lower():
                rejected.append((index, "missing_name"))
            else:
                rejected.append((index, "duplicate_email"))
        else:
            inserted += 1
    return inserted, rejected
''',
        ),
        (
            "commits the import itself",
            '''async def import_users(session, rows: list[dict]) -> tuple[int, list[tuple[int, str]]]:
    """Insert each row with its own savepoint; return (inserted, [(row index, reason), ...]).

    Reasons, from the SQLSTATE: "duplicate_email" (23505), "missing_name" (23502).
    Flushes only: the caller commits or rolls back.
    """
    reasons = {"23505": "duplicate_email", "23502": "missing_name"}
    inserted = 0
    rejected = []
    for index, row in enumerate(rows):
        try:
            async with session.begin_nested():
                session.add(User(email=row.get("email"), name=row.get("name")))
                await session.flush()
        except IntegrityError as error:
            rejected.append((index, reasons[error.orig.sqlstate]))
        else:
            inserted += 1
    await session.commit()
    return inserted, rejected
''',
        ),
        (
            "checks for duplicates and missing names in Python first, then inserts in one flush",
            '''async def import_users(session, rows: list[dict]) -> tuple[int, list[tuple[int, str]]]:
    """Insert each row with its own savepoint; return (inserted, [(row index, reason), ...]).

    Reasons, from the SQLSTATE: "duplicate_email" (23505), "missing_name" (23502).
    Flushes only: the caller commits or rolls back.
    """
    emails = [row.get("email") for row in rows]
    existing = set(await session.scalars(select(User.email).where(User.email.in_(emails))))
    rejected = []
    for index, row in enumerate(rows):
        if row.get("email") in existing:
            rejected.append((index, "duplicate_email"))
        elif row.get("name") is None:
            rejected.append((index, "missing_name"))
        else:
            existing.add(row["email"])
            session.add(User(email=row["email"], name=row["name"]))
    await session.flush()
    return len(rows) - len(rejected), rejected
''',
        ),
    ],
}
