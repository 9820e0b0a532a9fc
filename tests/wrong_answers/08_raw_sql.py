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
        (
            "keys the counts by day of the month: ranges across a month boundary mix their days",
            '''async def daily_signups(session, start: date, end: date) -> list[tuple[date, int]]:
    """(day, signups) for every day from start to end inclusive, zero for days without signups."""
    from datetime import timedelta

    result = await session.execute(
        text("""
            SELECT CAST(extract(day FROM created_at) AS int) AS day_of_month, count(*) AS signups
            FROM users
            WHERE created_at >= CAST(:start AS date) AND created_at < CAST(:end AS date) + 1
            GROUP BY 1
        """),
        {"start": start, "end": end},
    )
    counts = {day_of_month: signups for day_of_month, signups in result}
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    return [(day, counts.get(day.day, 0)) for day in days]
''',
        ),
        (
            "groups rows with itertools.groupby without ORDER BY: relies on the order rows are stored in",
            '''async def daily_signups(session, start: date, end: date) -> list[tuple[date, int]]:
    """(day, signups) for every day from start to end inclusive, zero for days without signups."""
    from datetime import timedelta
    from itertools import groupby

    stamps = (await session.execute(
        text("SELECT created_at FROM users WHERE created_at >= :start AND created_at < :after"),
        {"start": start, "after": end + timedelta(days=1)},
    )).scalars().all()
    counts = {day: len(list(group)) for day, group in groupby(stamps, key=lambda stamp: stamp.date())}
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    return [(day, counts.get(day, 0)) for day in days]
''',
        ),
        (
            "opens its own transaction with session.begin(): fails when the caller's session is in one",
            '''async def daily_signups(session, start: date, end: date) -> list[tuple[date, int]]:
    """(day, signups) for every day from start to end inclusive, zero for days without signups."""
    async with session.begin():
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
        return [(day, signups) for day, signups in result]
''',
        ),
        (
            "counts days in the local time of Europe/Paris, not UTC",
            '''async def daily_signups(session, start: date, end: date) -> list[tuple[date, int]]:
    """(day, signups) for every day from start to end inclusive, zero for days without signups."""
    result = await session.execute(
        text("""
            SELECT day::date AS day, count(u.id) AS signups
            FROM generate_series(CAST(:start AS date), CAST(:end AS date), interval '1 day') AS day
            LEFT JOIN users AS u ON (u.created_at AT TIME ZONE 'Europe/Paris')::date = day::date
            GROUP BY day
            ORDER BY day
        """),
        {"start": start, "end": end},
    )
    return [(day, signups) for day, signups in result]
''',
        ),
        (
            "commits the caller's session after the query",
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
    rows = [(day, signups) for day, signups in result]
    await session.commit()
    return rows
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
        (
            "no ORDER BY: the rows that come first on disk, not the lowest ids",
            '''async def search_users(session, term: str, limit: int = 20) -> list[dict]:
    """Users whose name or email contains term (case-insensitive, literal), at most limit, by id."""
    escaped = term.replace("\\\\", "\\\\\\\\").replace("%", "\\\\%").replace("_", "\\\\_")
    result = await session.execute(
        text(r"SELECT id, email, name FROM users WHERE name ILIKE :p ESCAPE '\\' "
             r"OR email ILIKE :p ESCAPE '\\' LIMIT :limit"),
        {"p": f"%{escaped}%", "limit": limit},
    )
    return [dict(row) for row in result.mappings()]
''',
        ),
        (
            "strips spaces from the term before searching",
            '''async def search_users(session, term: str, limit: int = 20) -> list[dict]:
    """Users whose name or email contains term (case-insensitive, literal), at most limit, by id."""
    term = term.strip()
    escaped = term.replace("\\\\", "\\\\\\\\").replace("%", "\\\\%").replace("_", "\\\\_")
    result = await session.execute(
        text(r"SELECT id, email, name FROM users WHERE name ILIKE :p ESCAPE '\\' "
             r"OR email ILIKE :p ESCAPE '\\' ORDER BY id LIMIT :limit"),
        {"p": f"%{escaped}%", "limit": limit},
    )
    return [dict(row) for row in result.mappings()]
''',
        ),
        (
            "one query for names and one for emails, concatenated: a user matching both appears twice",
            '''async def search_users(session, term: str, limit: int = 20) -> list[dict]:
    """Users whose name or email contains term (case-insensitive, literal), at most limit, by id."""
    escaped = term.replace("\\\\", "\\\\\\\\").replace("%", "\\\\%").replace("_", "\\\\_")
    found = []
    for column in ("name", "email"):
        result = await session.execute(
            text(rf"SELECT id, email, name FROM users WHERE {column} ILIKE :p ESCAPE '\\' "
                 r"ORDER BY id LIMIT :limit"),
            {"p": f"%{escaped}%", "limit": limit},
        )
        found += [dict(row) for row in result.mappings()]
    return sorted(found, key=lambda user: user["id"])[:limit]
''',
        ),
        (
            "treats limit=0 as no limit",
            '''async def search_users(session, term: str, limit: int = 20) -> list[dict]:
    """Users whose name or email contains term (case-insensitive, literal), at most limit, by id."""
    escaped = term.replace("\\\\", "\\\\\\\\").replace("%", "\\\\%").replace("_", "\\\\_")
    sql = (r"SELECT id, email, name FROM users WHERE name ILIKE :p ESCAPE '\\' "
           r"OR email ILIKE :p ESCAPE '\\' ORDER BY id")
    params = {"p": f"%{escaped}%"}
    if limit:
        sql += " LIMIT :limit"
        params["limit"] = limit
    result = await session.execute(text(sql), params)
    return [dict(row) for row in result.mappings()]
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
        (
            "LEFT JOIN from users with coalesce(revenue, 0): users without revenue ranked last",
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
                SELECT u.id AS user_id, u.email, coalesce(r.revenue, 0) AS revenue,
                       rank() OVER (ORDER BY coalesce(r.revenue, 0) DESC) AS rank
                FROM users AS u LEFT JOIN revenue AS r ON r.user_id = u.id
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
            "cancelled orders count 0 instead of being left out: users with only cancelled orders appear",
            '''async def top_customers(session, n: int) -> list[dict]:
    """Customers ranked by revenue (RANK, ties share a rank) whose rank is at most n."""
    result = await session.execute(
        text("""
            WITH revenue AS (
                SELECT o.user_id,
                       sum(CASE WHEN o.status <> 'cancelled' THEN oi.quantity * oi.unit_price ELSE 0 END)
                           AS revenue
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
            "orders by rank only: customers who share a rank come back in no particular order",
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
                SELECT r.user_id, u.email, r.revenue, rank() OVER (ORDER BY r.revenue DESC) AS rank
                FROM revenue AS r JOIN users AS u ON u.id = r.user_id
            )
            SELECT user_id, email, revenue, rank FROM ranked WHERE rank <= :n
            ORDER BY rank
        """),
        {"n": n},
    )
    return [dict(row) for row in result.mappings()]
''',
        ),
        (
            "groups by order instead of by customer: a customer with several orders is ranked once per order",
            '''async def top_customers(session, n: int) -> list[dict]:
    """Customers ranked by revenue (RANK, ties share a rank) whose rank is at most n."""
    result = await session.execute(
        text("""
            WITH revenue AS (
                SELECT o.id AS order_id, o.user_id, sum(oi.quantity * oi.unit_price) AS revenue
                FROM orders AS o JOIN order_items AS oi ON oi.order_id = o.id
                WHERE o.status <> 'cancelled'
                GROUP BY o.id, o.user_id
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


CORRECT_ALTERNATIVES = {
    "daily_signups": [
        (
            "one GROUP BY query on created_at::date, the missing days filled in Python",
            '''async def daily_signups(session, start: date, end: date) -> list[tuple[date, int]]:
    """(day, signups) for every day from start to end inclusive, zero for days without signups."""
    from datetime import timedelta

    result = await session.execute(
        text("""
            SELECT created_at::date AS day, count(*) AS signups
            FROM users
            WHERE created_at >= CAST(:start AS date) AND created_at < CAST(:end AS date) + 1
            GROUP BY created_at::date
        """),
        {"start": start, "end": end},
    )
    counts = dict(result.all())
    days = []
    day = start
    while day <= end:
        days.append((day, int(counts.get(day, 0))))
        day += timedelta(days=1)
    return days
''',
        ),
        (
            "Core: a grouped subquery LEFT JOINed to a generate_series of dates, with coalesce",
            '''async def daily_signups(session, start: date, end: date) -> list[tuple[date, int]]:
    """(day, signups) for every day from start to end inclusive, zero for days without signups."""
    from sqlalchemy import Date, cast, func, literal, select
    from sqlalchemy.sql.expression import column

    per_day = (
        select(cast(User.created_at, Date).label("day"), func.count().label("signups"))
        .group_by(cast(User.created_at, Date))
        .subquery()
    )
    series = (
        func.generate_series(cast(literal(start), Date), cast(literal(end), Date), text("interval '1 day'"))
        .table_valued(column("d"))
        .render_derived(name="series")
    )
    day = cast(series.c.d, Date)
    statement = (
        select(day.label("day"), func.coalesce(per_day.c.signups, 0).label("signups"))
        .select_from(series.outerjoin(per_day, per_day.c.day == day))
        .order_by(day)
    )
    return [(row.day, row.signups) for row in await session.execute(statement)]
''',
        ),
    ],
    "search_users": [
        (
            "ORM select with icontains(autoescape=True)",
            '''async def search_users(session, term: str, limit: int = 20) -> list[dict]:
    """Users whose name or email contains term (case-insensitive, literal), at most limit, by id."""
    from sqlalchemy import or_, select

    statement = (
        select(User.id, User.email, User.name)
        .where(or_(User.name.icontains(term, autoescape=True), User.email.icontains(term, autoescape=True)))
        .order_by(User.id)
        .limit(limit)
    )
    return [dict(row) for row in (await session.execute(statement)).mappings()]
''',
        ),
        (
            "strpos on lower-cased text: no LIKE, so nothing to escape",
            '''async def search_users(session, term: str, limit: int = 20) -> list[dict]:
    """Users whose name or email contains term (case-insensitive, literal), at most limit, by id."""
    result = await session.execute(
        text("""
            SELECT id, email, name FROM users
            WHERE strpos(lower(name), lower(:term)) > 0 OR strpos(lower(email), lower(:term)) > 0
            ORDER BY id
            LIMIT :limit
        """),
        {"term": term, "limit": limit},
    )
    return [{"id": row.id, "email": row.email, "name": row.name} for row in result]
''',
        ),
    ],
    "top_customers": [
        (
            "Core: func.rank().over() in a subquery, filtered outside",
            '''async def top_customers(session, n: int) -> list[dict]:
    """Customers ranked by revenue (RANK, ties share a rank) whose rank is at most n."""
    from sqlalchemy import func, select

    revenue = (
        select(Order.user_id, func.sum(OrderItem.quantity * OrderItem.unit_price).label("revenue"))
        .join(OrderItem, OrderItem.order_id == Order.id)
        .where(Order.status != "cancelled")
        .group_by(Order.user_id)
        .subquery()
    )
    ranked = (
        select(
            revenue.c.user_id,
            User.email,
            revenue.c.revenue,
            func.rank().over(order_by=revenue.c.revenue.desc()).label("rank"),
        )
        .join(User, User.id == revenue.c.user_id)
        .subquery()
    )
    statement = select(ranked).where(ranked.c.rank <= n).order_by(ranked.c.rank, ranked.c.user_id)
    return [dict(row) for row in (await session.execute(statement)).mappings()]
''',
        ),
        (
            "revenue summed in SQL, competition ranking done in Python, prints a summary",
            '''async def top_customers(session, n: int) -> list[dict]:
    """Customers ranked by revenue (RANK, ties share a rank) whose rank is at most n."""
    rows = (await session.execute(text("""
        SELECT o.user_id, u.email, sum(oi.quantity * oi.unit_price) AS revenue
        FROM orders AS o
        JOIN order_items AS oi ON oi.order_id = o.id
        JOIN users AS u ON u.id = o.user_id
        WHERE o.status <> 'cancelled'
        GROUP BY o.user_id, u.email
    """))).all()
    rows.sort(key=lambda row: (-row.revenue, row.user_id))
    ranked = []
    for position, row in enumerate(rows, start=1):
        if ranked and ranked[-1]["revenue"] == row.revenue:
            rank = ranked[-1]["rank"]
        else:
            rank = position
        if rank > n:
            break
        ranked.append({"user_id": row.user_id, "email": row.email, "revenue": row.revenue, "rank": rank})
    print(f"top_customers: {len(ranked)} customers of rank <= {n}")
    return ranked
''',
        ),
    ],
}
