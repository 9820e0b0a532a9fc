WRONG_ANSWERS = {
    "daily_signups": [
        (
            "GROUP BY the day without generate_series: days without signups are missing",
            '''async def daily_signups(session, start: date, end: date) -> list[tuple[date, int]]:
    """(day, signups) for every day from start to end inclusive, zero for days without signups."""
    result = await session.execute(
        text("""
            SELECT created_at::date AS day, count(*) AS signups
            FROM users
            WHERE created_at >= CAST(:start AS date)
              AND created_at < CAST(:end AS date) + 1
            GROUP BY created_at::date
            ORDER BY day
        """),
        {"start": start, "end": end},
    )
    return [(day, signups) for day, signups in result]
''',
        ),
        (
            "returns datetimes (the series' timestamps), not dates",
            '''async def daily_signups(session, start: date, end: date) -> list[tuple[date, int]]:
    """(day, signups) for every day from start to end inclusive, zero for days without signups."""
    result = await session.execute(
        text("""
            SELECT day, count(u.id) AS signups
            FROM generate_series(CAST(:start AS date), CAST(:end AS date), interval '1 day') AS day
            LEFT JOIN users AS u ON u.created_at >= day AND u.created_at < day + interval '1 day'
            GROUP BY day
            ORDER BY day
        """),
        {"start": start, "end": end},
    )
    return [(day, signups) for day, signups in result]
''',
        ),
        (
            "count(*) after the LEFT JOIN: an empty day counts 1",
            '''async def daily_signups(session, start: date, end: date) -> list[tuple[date, int]]:
    """(day, signups) for every day from start to end inclusive, zero for days without signups."""
    result = await session.execute(
        text("""
            SELECT day::date AS day, count(*) AS signups
            FROM generate_series(CAST(:start AS date), CAST(:end AS date), interval '1 day') AS day
            LEFT JOIN users AS u ON u.created_at >= day AND u.created_at < day + interval '1 day'
            GROUP BY day
            ORDER BY day
        """),
        {"start": start, "end": end},
    )
    return [(day, signups) for day, signups in result]
''',
        ),
        (
            "BETWEEN start AND end on created_at: the end day stops at its midnight",
            '''async def daily_signups(session, start: date, end: date) -> list[tuple[date, int]]:
    """(day, signups) for every day from start to end inclusive, zero for days without signups."""
    result = await session.execute(
        text("""
            WITH signups AS (
                SELECT created_at::date AS day, count(*) AS signups
                FROM users
                WHERE created_at BETWEEN CAST(:start AS date) AND CAST(:end AS date)
                GROUP BY created_at::date
            )
            SELECT d::date AS day, coalesce(s.signups, 0) AS signups
            FROM generate_series(CAST(:start AS date), CAST(:end AS date), interval '1 day') AS d
            LEFT JOIN signups AS s ON s.day = d::date
            ORDER BY d
        """),
        {"start": start, "end": end},
    )
    return [(day, signups) for day, signups in result]
''',
        ),
        (
            "returns the Row objects instead of plain tuples",
            '''async def daily_signups(session, start: date, end: date) -> list[tuple[date, int]]:
    """(day, signups) for every day from start to end inclusive, zero for days without signups."""
    result = await session.execute(
        text("""
            SELECT day::date AS day, count(u.id) AS signups
            FROM generate_series(CAST(:start AS date), CAST(:end AS date), interval '1 day') AS day
            LEFT JOIN users AS u ON u.created_at >= day AND u.created_at < day + interval '1 day'
            GROUP BY day
            ORDER BY day
        """),
        {"start": start, "end": end},
    )
    return result.all()
''',
        ),
        (
            "one count query per day",
            '''async def daily_signups(session, start: date, end: date) -> list[tuple[date, int]]:
    """(day, signups) for every day from start to end inclusive, zero for days without signups."""
    from datetime import timedelta

    days = []
    day = start
    while day <= end:
        count = (await session.execute(
            text("SELECT count(*) FROM users WHERE created_at >= :day AND created_at < :next"),
            {"day": day, "next": day + timedelta(days=1)},
        )).scalar_one()
        days.append((day, count))
        day += timedelta(days=1)
    return days
''',
        ),
    ],
    "search_users": [
        (
            "f-string interpolation: injection, quotes break it, wildcards not escaped",
            '''async def search_users(session, term: str, limit: int = 20) -> list[dict]:
    """Users whose name or email contains term (case-insensitive, literal), at most limit, by id."""
    result = await session.execute(text(
        f"SELECT id, email, name FROM users "
        f"WHERE name ILIKE '%{term}%' OR email ILIKE '%{term}%' ORDER BY id LIMIT {int(limit)}"
    ))
    return [dict(row) for row in result.mappings()]
''',
        ),
        (
            "bound parameter, but % and _ in the term are not escaped",
            '''async def search_users(session, term: str, limit: int = 20) -> list[dict]:
    """Users whose name or email contains term (case-insensitive, literal), at most limit, by id."""
    result = await session.execute(
        text("SELECT id, email, name FROM users WHERE name ILIKE :p OR email ILIKE :p "
             "ORDER BY id LIMIT :limit"),
        {"p": f"%{term}%", "limit": limit},
    )
    return [dict(row) for row in result.mappings()]
''',
        ),
        (
            "LIKE instead of ILIKE: case-sensitive",
            '''async def search_users(session, term: str, limit: int = 20) -> list[dict]:
    """Users whose name or email contains term (case-insensitive, literal), at most limit, by id."""
    escaped = term.replace("\\\\", "\\\\\\\\").replace("%", "\\\\%").replace("_", "\\\\_")
    result = await session.execute(
        text(r"SELECT id, email, name FROM users WHERE name LIKE :p ESCAPE '\\' "
             r"OR email LIKE :p ESCAPE '\\' ORDER BY id LIMIT :limit"),
        {"p": f"%{escaped}%", "limit": limit},
    )
    return [dict(row) for row in result.mappings()]
''',
        ),
        (
            "escapes % and _ but not the backslash",
            '''async def search_users(session, term: str, limit: int = 20) -> list[dict]:
    """Users whose name or email contains term (case-insensitive, literal), at most limit, by id."""
    escaped = term.replace("%", "\\\\%").replace("_", "\\\\_")
    result = await session.execute(
        text(r"SELECT id, email, name FROM users WHERE name ILIKE :p ESCAPE '\\' "
             r"OR email ILIKE :p ESCAPE '\\' ORDER BY id LIMIT :limit"),
        {"p": f"%{escaped}%", "limit": limit},
    )
    return [dict(row) for row in result.mappings()]
''',
        ),
        (
            "searches the name only",
            '''async def search_users(session, term: str, limit: int = 20) -> list[dict]:
    """Users whose name or email contains term (case-insensitive, literal), at most limit, by id."""
    escaped = term.replace("\\\\", "\\\\\\\\").replace("%", "\\\\%").replace("_", "\\\\_")
    result = await session.execute(
        text(r"SELECT id, email, name FROM users WHERE name ILIKE :p ESCAPE '\\' "
             r"ORDER BY id LIMIT :limit"),
        {"p": f"%{escaped}%", "limit": limit},
    )
    return [dict(row) for row in result.mappings()]
''',
        ),
        (
            "returns RowMapping objects, not dicts",
            '''async def search_users(session, term: str, limit: int = 20) -> list[dict]:
    """Users whose name or email contains term (case-insensitive, literal), at most limit, by id."""
    escaped = term.replace("\\\\", "\\\\\\\\").replace("%", "\\\\%").replace("_", "\\\\_")
    result = await session.execute(
        text(r"SELECT id, email, name FROM users WHERE name ILIKE :p ESCAPE '\\' "
             r"OR email ILIKE :p ESCAPE '\\' ORDER BY id LIMIT :limit"),
        {"p": f"%{escaped}%", "limit": limit},
    )
    return result.mappings().all()
''',
        ),
    ],
    "top_customers": [
        (
            "ROW_NUMBER: customers with equal revenue get different ranks",
            '''async def top_customers(session, n: int) -> list[dict]:
    """Customers ranked by revenue (RANK, ties share a rank) whose rank is at most n."""
    result = await session.execute(
        text("""
            WITH revenue AS (
                SELECT o.user_id, sum(oi.quantity * oi.unit_price) AS revenue
                FROM orders AS o JOIN order_items AS oi ON oi.order_id = o.id
                WHERE o.status <> 'cancelled'
                GROUP BY o.user_id
            ), ranked AS (
                SELECT r.user_id, u.email, r.revenue,
                       row_number() OVER (ORDER BY r.revenue DESC, r.user_id) AS rank
                FROM revenue AS r JOIN users AS u ON u.id = r.user_id
            )
            SELECT user_id, email, revenue, rank FROM ranked WHERE rank <= :n ORDER BY rank
        """),
        {"n": n},
    )
    return [dict(row) for row in result.mappings()]
''',
        ),
        (
            "float revenue",
            '''async def top_customers(session, n: int) -> list[dict]:
    """Customers ranked by revenue (RANK, ties share a rank) whose rank is at most n."""
    result = await session.execute(
        text("""
            WITH revenue AS (
                SELECT o.user_id, sum(oi.quantity * oi.unit_price)::float AS revenue
                FROM orders AS o JOIN order_items AS oi ON oi.order_id = o.id
                WHERE o.status <> 'cancelled'
                GROUP BY o.user_id
            ), ranked AS (
                SELECT r.user_id, u.email, r.revenue, rank() OVER (ORDER BY r.revenue DESC) AS rank
                FROM revenue AS r JOIN users AS u ON u.id = r.user_id
            )
            SELECT user_id, email, revenue, rank FROM ranked WHERE rank <= :n
            ORDER BY rank, user_id
        """),
        {"n": n},
    )
    return [dict(row) for row in result.mappings()]
''',
        ),
        (
            "DENSE_RANK: no gap after a tie",
            '''async def top_customers(session, n: int) -> list[dict]:
    """Customers ranked by revenue (RANK, ties share a rank) whose rank is at most n."""
    result = await session.execute(
        text("""
            WITH revenue AS (
                SELECT o.user_id, sum(oi.quantity * oi.unit_price) AS revenue
                FROM orders AS o JOIN order_items AS oi ON oi.order_id = o.id
                WHERE o.status <> 'cancelled'
                GROUP BY o.user_id
            ), ranked AS (
                SELECT r.user_id, u.email, r.revenue,
                       dense_rank() OVER (ORDER BY r.revenue DESC) AS rank
                FROM revenue AS r JOIN users AS u ON u.id = r.user_id
            )
            SELECT user_id, email, revenue, rank FROM ranked WHERE rank <= :n
            ORDER BY rank, user_id
        """),
        {"n": n},
    )
    return [dict(row) for row in result.mappings()]
''',
        ),
        (
            "counts cancelled orders as revenue",
            '''async def top_customers(session, n: int) -> list[dict]:
    """Customers ranked by revenue (RANK, ties share a rank) whose rank is at most n."""
    result = await session.execute(
        text("""
            WITH revenue AS (
                SELECT o.user_id, sum(oi.quantity * oi.unit_price) AS revenue
                FROM orders AS o JOIN order_items AS oi ON oi.order_id = o.id
                GROUP BY o.user_id
            ), ranked AS (
                SELECT r.user_id, u.email, r.revenue, rank() OVER (ORDER BY r.revenue DESC) AS rank
                FROM revenue AS r JOIN users AS u ON u.id = r.user_id
            )
            SELECT user_id, email, revenue, rank FROM ranked WHERE rank <= :n
            ORDER BY rank, user_id
        """),
        {"n": n},
    )
    return [dict(row) for row in result.mappings()]
''',
        ),
        (
            "LIMIT n rows: ties at the boundary are cut off",
            '''async def top_customers(session, n: int) -> list[dict]:
    """Customers ranked by revenue (RANK, ties share a rank) whose rank is at most n."""
    result = await session.execute(
        text("""
            WITH revenue AS (
                SELECT o.user_id, sum(oi.quantity * oi.unit_price) AS revenue
                FROM orders AS o JOIN order_items AS oi ON oi.order_id = o.id
                WHERE o.status <> 'cancelled'
                GROUP BY o.user_id
            )
            SELECT r.user_id, u.email, r.revenue, rank() OVER (ORDER BY r.revenue DESC) AS rank
            FROM revenue AS r JOIN users AS u ON u.id = r.user_id
            ORDER BY rank, r.user_id
            LIMIT :n
        """),
        {"n": max(n, 0)},
    )
    return [dict(row) for row in result.mappings()]
''',
        ),
        (
            "revenue from the product's current price, not the price paid",
            '''async def top_customers(session, n: int) -> list[dict]:
    """Customers ranked by revenue (RANK, ties share a rank) whose rank is at most n."""
    result = await session.execute(
        text("""
            WITH revenue AS (
                SELECT o.user_id, sum(oi.quantity * p.price) AS revenue
                FROM orders AS o
                JOIN order_items AS oi ON oi.order_id = o.id
                JOIN products AS p ON p.id = oi.product_id
                WHERE o.status <> 'cancelled'
                GROUP BY o.user_id
            ), ranked AS (
                SELECT r.user_id, u.email, r.revenue, rank() OVER (ORDER BY r.revenue DESC) AS rank
                FROM revenue AS r JOIN users AS u ON u.id = r.user_id
            )
            SELECT user_id, email, revenue, rank FROM ranked WHERE rank <= :n
            ORDER BY rank, user_id
        """),
        {"n": n},
    )
    return [dict(row) for row in result.mappings()]
''',
        ),
    ],
}
