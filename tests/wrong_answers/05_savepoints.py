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
        (
            "locks each product when its item comes, in the caller's item order (refreshed with populate_existing)",
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
                    product = await session.get(
                        Product, product_id, with_for_update=True, populate_existing=True
                    )
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
            "locks every product up front, but one statement per product in the caller's item order",
            '''async def place_order(session_factory, user_id: int, items: list[tuple[int, int]]) -> tuple[int | None, list[int]]:
    """Place one order of the items that can be served; return (order id or None, skipped product ids)."""
    skipped = []
    async with session_factory() as session, session.begin():
        for product_id, _ in items:
            await session.get(Product, product_id, with_for_update=True)
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
            "treats every exception in an item's savepoint as a skipped item (a trigger's error too)",
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
            except Exception:
                skipped.append(product_id)
        if len(skipped) == len(items):
            await session.rollback()
            return None, skipped
    return order.id, skipped
''',
        ),
        (
            "commits each item in a transaction of its own (an error later leaves a half-placed order)",
            '''async def place_order(session_factory, user_id: int, items: list[tuple[int, int]]) -> tuple[int | None, list[int]]:
    """Place one order of the items that can be served; return (order id or None, skipped product ids)."""
    skipped = []
    order_id = None
    async with session_factory() as session:
        for product_id, quantity in items:
            try:
                async with session.begin():
                    product = await session.get(
                        Product, product_id, with_for_update=True, populate_existing=True
                    )
                    if product is None or product.stock < quantity:
                        raise OutOfStock(product_id)
                    new_id = order_id
                    if new_id is None:
                        order = Order(user_id=user_id)
                        session.add(order)
                        await session.flush()
                        new_id = order.id
                    product.stock -= quantity
                    session.add(OrderItem(order_id=new_id, product_id=product_id,
                                          quantity=quantity, unit_price=product.price))
                    await session.flush()
                order_id = new_id
            except (OutOfStock, IntegrityError):
                skipped.append(product_id)
    return order_id, skipped
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
        (
            "every IntegrityError that is not 23502 reported as duplicate_email",
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
            if error.orig.sqlstate == "23502":
                rejected.append((index, "missing_name"))
            else:
                rejected.append((index, "duplicate_email"))
        else:
            inserted += 1
    return inserted, rejected
''',
        ),
        (
            "catches every database error and rejects the row with a reason of its own",
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
        except DBAPIError as error:
            code = getattr(error.orig, "sqlstate", None)
            rejected.append((index, reasons.get(code, f"database_error_{code}")))
        else:
            inserted += 1
    return inserted, rejected
''',
        ),
        (
            "rolls back the caller's session before re-raising an unexpected error",
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
        except DBAPIError as error:
            reason = reasons.get(getattr(error.orig, "sqlstate", None))
            if reason is None:
                await session.rollback()  # "clean up" before re-raising
                raise
            rejected.append((index, reason))
        else:
            inserted += 1
    return inserted, rejected
''',
        ),
        (
            "begins and commits a transaction of its own when the caller has not begun one",
            '''async def import_users(session, rows: list[dict]) -> tuple[int, list[tuple[int, str]]]:
    """Insert each row with its own savepoint; return (inserted, [(row index, reason), ...]).

    Reasons, from the SQLSTATE: "duplicate_email" (23505), "missing_name" (23502).
    Flushes only: the caller commits or rolls back.
    """
    reasons = {"23505": "duplicate_email", "23502": "missing_name"}
    own_transaction = not session.in_transaction()
    if own_transaction:
        await session.begin()
    inserted = 0
    rejected = []
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
    if own_transaction:
        await session.commit()
    return inserted, rejected
''',
        ),
    ],
}

CORRECT_ALTERNATIVES = {
    "place_order": [
        (
            "text() SQL: lock with = ANY ORDER BY id, the order row only once an item fits, Core inserts",
            '''async def place_order(session_factory, user_id: int, items: list[tuple[int, int]]) -> tuple[int | None, list[int]]:
    """Place one order of the items that can be served; return (order id or None, skipped product ids)."""
    skipped = []
    order_id = None
    placed = 0
    async with session_factory() as session:
        async with session.begin():
            rows = await session.execute(
                text("SELECT id, stock, price FROM products WHERE id = ANY(:ids) ORDER BY id FOR UPDATE"),
                {"ids": sorted({product_id for product_id, _ in items})},
            )
            products = {row.id: [row.stock, row.price] for row in rows}
            for product_id, quantity in items:
                found = products.get(product_id)
                if found is None or found[0] < quantity:
                    skipped.append(product_id)
                    continue
                if order_id is None:
                    order_id = await session.scalar(
                        text("INSERT INTO orders (user_id) VALUES (:u) RETURNING id"), {"u": user_id}
                    )
                try:
                    async with session.begin_nested():
                        await session.execute(
                            text("UPDATE products SET stock = stock - :q WHERE id = :p"),
                            {"q": quantity, "p": product_id},
                        )
                        await session.execute(
                            text(
                                "INSERT INTO order_items (order_id, product_id, quantity, unit_price) "
                                "VALUES (:o, :p, :q, :price)"
                            ),
                            {"o": order_id, "p": product_id, "q": quantity, "price": found[1]},
                        )
                except IntegrityError:
                    skipped.append(product_id)
                else:
                    found[0] -= quantity
                    placed += 1
            if placed == 0:
                await session.rollback()
                return None, skipped
    return order_id, skipped
''',
        ),
        (
            "checks quantities in Python too, populate_existing on every get, logs what it skips (logging.info)",
            '''async def place_order(session_factory, user_id: int, items: list[tuple[int, int]]) -> tuple[int | None, list[int]]:
    """Place one order of the items that can be served; return (order id or None, skipped product ids)."""
    import logging

    skipped = []
    async with session_factory.begin() as session:
        wanted = sorted({product_id for product_id, _ in items})
        locked = select(Product).where(Product.id.in_(wanted)).order_by(Product.id).with_for_update()
        await session.execute(locked.execution_options(populate_existing=True))
        order = Order(user_id=user_id)
        session.add(order)
        await session.flush()
        placed = 0
        for product_id, quantity in items:
            if quantity < 1:
                logging.getLogger("shop").info("skipping product %s: quantity %s", product_id, quantity)
                skipped.append(product_id)
                continue
            try:
                async with session.begin_nested():
                    product = await session.get(Product, product_id, populate_existing=True)
                    if product is None or product.stock < quantity:
                        raise OutOfStock(product_id)
                    product.stock -= quantity
                    session.add(OrderItem(order_id=order.id, product_id=product_id,
                                          quantity=quantity, unit_price=product.price))
                    await session.flush()
            except (OutOfStock, IntegrityError) as error:
                logging.getLogger("shop").info("skipping product %s: %s", product_id, type(error).__name__)
                skipped.append(product_id)
            else:
                placed += 1
        if placed == 0:
            await session.rollback()
            return None, skipped
        order_id = order.id
    return order_id, skipped
''',
        ),
    ],
    "import_users": [
        (
            "catches the failed flush inside begin_nested: the failed flush has already rolled the savepoint back",
            '''async def import_users(session, rows: list[dict]) -> tuple[int, list[tuple[int, str]]]:
    """Insert each row with its own savepoint; return (inserted, [(row index, reason), ...]).

    Reasons, from the SQLSTATE: "duplicate_email" (23505), "missing_name" (23502).
    Flushes only: the caller commits or rolls back.
    """
    reasons = {"23505": "duplicate_email", "23502": "missing_name"}
    inserted = 0
    rejected = []
    for index, row in enumerate(rows):
        async with session.begin_nested():
            session.add(User(email=row.get("email"), name=row.get("name")))
            try:
                await session.flush()
            except IntegrityError as error:
                reason = reasons.get(error.orig.sqlstate)
                if reason is None:
                    raise
                rejected.append((index, reason))
                continue
        inserted += 1
    return inserted, rejected
''',
        ),
        (
            "an explicit savepoint object, rolled back or committed by hand",
            '''async def import_users(session, rows: list[dict]) -> tuple[int, list[tuple[int, str]]]:
    """Insert each row with its own savepoint; return (inserted, [(row index, reason), ...]).

    Reasons, from the SQLSTATE: "duplicate_email" (23505), "missing_name" (23502).
    Flushes only: the caller commits or rolls back.
    """
    reasons = {"23505": "duplicate_email", "23502": "missing_name"}
    inserted = 0
    rejected = []
    for index, row in enumerate(rows):
        savepoint = await session.begin_nested()
        try:
            session.add(User(email=row.get("email"), name=row.get("name")))
            await session.flush()
        except IntegrityError as error:
            await savepoint.rollback()
            if error.orig.sqlstate not in reasons:
                raise
            rejected.append((index, reasons[error.orig.sqlstate]))
        except BaseException:
            await savepoint.rollback()
            raise
        else:
            await savepoint.commit()
            inserted += 1
    return inserted, rejected
''',
        ),
        (
            "Core insert(User) per row, SQLSTATE from asyncpg's own exception, logs each rejection (logging.info)",
            '''async def import_users(session, rows: list[dict]) -> tuple[int, list[tuple[int, str]]]:
    """Insert each row with its own savepoint; return (inserted, [(row index, reason), ...]).

    Reasons, from the SQLSTATE: "duplicate_email" (23505), "missing_name" (23502).
    Flushes only: the caller commits or rolls back.
    """
    import logging

    from sqlalchemy import insert

    inserted, rejected = 0, []
    for index, row in enumerate(rows):
        try:
            async with session.begin_nested():
                await session.execute(insert(User).values(email=row.get("email"), name=row.get("name")))
        except IntegrityError as error:
            code = getattr(error.orig.__cause__, "sqlstate", None)
            if code == "23505":
                rejected.append((index, "duplicate_email"))
            elif code == "23502":
                rejected.append((index, "missing_name"))
            else:
                raise
            logging.getLogger("shop").info("row %d rejected: %s", index, rejected[-1][1])
        else:
            inserted += 1
    return inserted, rejected
''',
        ),
    ],
}
