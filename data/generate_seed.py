"""Generate the course's seed data as CSV files in `data/seed/`.

Writes six files, one per table of the shared data model, each with a header row and explicit
integer ids starting at 1 (UTF-8, `\\n` line endings):

- `users.csv`        1,000 users; about 15% of them have no posts. Signups are spread over the
                     90 days 2026-04-01 .. 2026-06-29 (UTC), except the days in
                     `DAYS_WITHOUT_SIGNUPS`, which have none; every other day has at least one.
- `posts.csv`        5,000 posts, each created after its author signed up.
- `accounts.csv`     one account per user (account id = user id), balance 0.00 .. 5,000.00.
- `products.csv`     200 products `SKU-0001` ..; price 1.00 .. 500.00; stock 0 .. 100, with
                     several products at 0 and several at 1.
- `orders.csv`       2,000 orders with mixed statuses, each created after its user signed up.
- `order_items.csv`  1 to 5 distinct products per order (about 5,300 rows);
                     unit_price is the product's price.

Ids follow `created_at` for users, posts and orders (a higher id was created later), and no two
rows of one table share a `created_at`. Timestamps are ISO-8601 with an explicit `+00:00`
offset, to the second.

The output depends only on `random.Random(SEED)`: no other randomness, no clock. Running the
script again rewrites the files byte for byte. After changing it, regenerate and commit the CSVs:

    python data/generate_seed.py              # writes data/seed/
    python data/generate_seed.py --out DIR    # writes DIR/ instead
"""

from __future__ import annotations

import argparse
import csv
import io
import random
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

SEED = 20261127

N_USERS = 1_000
N_POSTS = 5_000
N_PRODUCTS = 200
N_ORDERS = 2_000
SHARE_OF_USERS_WITHOUT_POSTS = 0.15

FIRST_DAY = date(2026, 4, 1)
N_DAYS = 90  # 2026-04-01 .. 2026-06-29 inclusive
LAST_DAY = FIRST_DAY + timedelta(days=N_DAYS - 1)
#: End of the seeded period: nothing in the seed is created at or after this instant.
PERIOD_END = datetime(LAST_DAY.year, LAST_DAY.month, LAST_DAY.day, tzinfo=UTC) + timedelta(days=1)

#: Whole days (UTC) on which nobody signed up. Chosen by hand: never the first or last day,
#: one weekday and one weekend day at least, and two consecutive days (a two-day gap).
DAYS_WITHOUT_SIGNUPS: tuple[date, ...] = (
    date(2026, 4, 12),
    date(2026, 4, 27),
    date(2026, 5, 9),
    date(2026, 5, 10),
    date(2026, 5, 26),
    date(2026, 6, 8),
    date(2026, 6, 21),
)

#: Signups happen between these UTC hours (inclusive start, exclusive end).
SIGNUP_HOURS = (6, 22)

ORDER_STATUSES = ("pending", "paid", "shipped", "cancelled")
ORDER_STATUS_WEIGHTS = (15, 30, 45, 10)
ITEMS_PER_ORDER_WEIGHTS = {1: 20, 2: 30, 3: 25, 4: 15, 5: 10}

DEFAULT_OUT = Path(__file__).resolve().parent / "seed"

FIRST_NAMES = (
    "Ada", "Alan", "Amara", "Ana", "Arjun", "Beatriz", "Ben", "Carla", "Chen", "Daniel",
    "Elena", "Emil", "Fatima", "Felix", "Grace", "Hana", "Hugo", "Ines", "Ivan", "Jonas",
    "Julia", "Kenji", "Lara", "Leo", "Lina", "Lucas", "Maya", "Mei", "Nadia", "Noah",
    "Olga", "Omar", "Priya", "Rafael", "Rosa", "Sam", "Sofia", "Tariq", "Yara", "Zoe",
)  # fmt: skip
LAST_NAMES = (
    "Adams", "Almeida", "Berg", "Brown", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia",
    "Hansen", "Ito", "Jensen", "Khan", "Kowalski", "Lopez", "Martin", "Meyer", "Moreau",
    "Nakamura", "Nguyen", "Novak", "Okafor", "Olsen", "Patel", "Perez", "Rossi", "Santos",
    "Schmidt", "Silva", "Smith", "Tanaka", "Taylor", "Varga", "Wagner", "Wang", "Weber",
    "Wilson", "Yilmaz", "Young", "Zhang",
)  # fmt: skip

TOPICS = (
    "async Python", "PostgreSQL indexes", "connection pools", "SQLAlchemy sessions",
    "database migrations", "query plans", "transactions", "FastAPI", "unit testing",
    "bulk loading", "caching", "locking", "JSON columns", "window functions", "backups",
    "type hints", "code review", "on-call", "performance tuning", "data modelling",
)  # fmt: skip
TITLE_TEMPLATES = (
    "Notes on {topic}",
    "What I learned about {topic}",
    "A short guide to {topic}",
    "{Topic} in practice",
    "Common mistakes with {topic}",
    "Why {topic} matters",
    "Getting started with {topic}",
    "{Topic}: questions and answers",
    "Revisiting {topic}",
    "Five tips for {topic}",
)
SENTENCES = (
    "This week I spent some time with {topic} and wrote down what surprised me.",
    "The documentation covers {topic} well, but the examples skip the edge cases.",
    "Measuring before and after made the difference obvious.",
    "Most of the problems came from assumptions nobody had written down.",
    "A small test case reproduced the issue in a few seconds.",
    "I would start with {topic} again, only more carefully this time.",
    "The team agreed on a simple rule and the incidents stopped.",
    "Reading the source was faster than searching for answers.",
    "It works, but the trade-offs deserve a second look.",
    "Next time I will write the benchmark first.",
)

ADJECTIVES = (
    "Classic", "Compact", "Deluxe", "Eco", "Ergonomic", "Everyday", "Light", "Mini",
    "Pro", "Rugged", "Smart", "Sturdy", "Travel", "Ultra", "Vintage",
)  # fmt: skip
PRODUCT_NOUNS = (
    "Backpack", "Bottle", "Cable", "Chair", "Desk Lamp", "Headphones", "Keyboard", "Kettle",
    "Monitor Stand", "Mouse", "Mug", "Notebook", "Pen Set", "Speaker", "Umbrella",
)  # fmt: skip


def _iso(ts: datetime) -> str:
    return ts.isoformat(timespec="seconds")


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _unique_instant(
    rng: random.Random, start: datetime, end: datetime, used: set[datetime]
) -> datetime:
    """A whole-second instant in [start, end) not yet in `used` (then added to it)."""
    span = int((end - start).total_seconds())
    if span <= 0:
        raise ValueError(f"empty interval {start} .. {end}")
    while True:
        ts = start + timedelta(seconds=rng.randrange(span))
        if ts not in used:
            used.add(ts)
            return ts


def _signup_times(rng: random.Random) -> list[datetime]:
    """N_USERS unique signup instants, in order; at least one on every day that may have one."""
    excluded = set(DAYS_WITHOUT_SIGNUPS)
    days = [FIRST_DAY + timedelta(days=i) for i in range(N_DAYS)]
    open_days = [d for d in days if d not in excluded]
    # Signups grow over the period and dip at weekends.
    weights = [
        (1.0 + i / len(open_days)) * (0.6 if d.weekday() >= 5 else 1.0)
        for i, d in enumerate(open_days)
    ]
    chosen = open_days + rng.choices(open_days, weights=weights, k=N_USERS - len(open_days))
    start_hour, end_hour = SIGNUP_HOURS
    used: set[datetime] = set()
    stamps = []
    for day in chosen:
        day_start = datetime(day.year, day.month, day.day, start_hour, tzinfo=UTC)
        stamps.append(_unique_instant(rng, day_start, day_start.replace(hour=end_hour), used))
    return sorted(stamps)


def _users(rng: random.Random, signups: Sequence[datetime]) -> list[dict[str, object]]:
    rows = []
    for user_id, created_at in enumerate(signups, start=1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        rows.append(
            {
                "id": user_id,
                "email": f"{first.lower()}.{last.lower()}{user_id}@example.com",
                "name": f"{first} {last}",
                "created_at": created_at,
            }
        )
    return rows


def _posts(rng: random.Random, signups: Sequence[datetime]) -> list[dict[str, object]]:
    user_ids = list(range(1, len(signups) + 1))
    silent = set(rng.sample(user_ids, round(N_USERS * SHARE_OF_USERS_WITHOUT_POSTS)))
    authors = [uid for uid in user_ids if uid not in silent]
    # Everybody who writes writes at least once; a few write a lot.
    activity = [rng.choice((1, 1, 1, 1, 2, 2, 3, 5, 8, 20)) for _ in authors]
    author_of_post = authors + rng.choices(authors, weights=activity, k=N_POSTS - len(authors))
    used: set[datetime] = set()
    drafts = []
    for author_id in author_of_post:
        joined = signups[author_id - 1]
        created_at = _unique_instant(rng, joined + timedelta(minutes=1), PERIOD_END, used)
        topic = rng.choice(TOPICS)
        title = rng.choice(TITLE_TEMPLATES).format(topic=topic, Topic=topic[0].upper() + topic[1:])
        n_sentences = rng.choice((1, 2))
        content = " ".join(s.format(topic=topic) for s in rng.sample(SENTENCES, n_sentences))
        drafts.append((created_at, author_id, title, content))
    drafts.sort()
    return [
        {"id": i, "author_id": a, "title": t, "content": c, "created_at": ts}
        for i, (ts, a, t, c) in enumerate(drafts, start=1)
    ]


def _accounts(rng: random.Random, n_users: int) -> list[dict[str, object]]:
    broke = set(rng.sample(range(1, n_users + 1), 12))
    rows = []
    for user_id in range(1, n_users + 1):
        cents = 0 if user_id in broke else rng.randint(0, 500_000)
        rows.append({"id": user_id, "owner_id": user_id, "balance": _money(cents)})
    return rows


def _products(rng: random.Random) -> list[dict[str, object]]:
    names = [f"{a} {n}" for a in ADJECTIVES for n in PRODUCT_NOUNS]
    names = rng.sample(names, N_PRODUCTS)
    special = rng.sample(range(1, N_PRODUCTS + 1), 16)
    out_of_stock, last_unit = set(special[:8]), set(special[8:])
    rows = []
    for product_id, name in enumerate(names, start=1):
        if product_id in out_of_stock:
            stock = 0
        elif product_id in last_unit:
            stock = 1
        else:
            stock = rng.randint(2, 100)
        rows.append(
            {
                "id": product_id,
                "sku": f"SKU-{product_id:04d}",
                "name": name,
                "price": _money(rng.randint(100, 50_000)),
                "stock": stock,
            }
        )
    return rows


def _orders(rng: random.Random, signups: Sequence[datetime]) -> list[dict[str, object]]:
    user_ids = list(range(1, len(signups) + 1))
    # Some users never order, a few order a lot.
    loyalty = [rng.choice((0, 1, 1, 1, 2, 2, 3, 4, 6, 12)) for _ in user_ids]
    used: set[datetime] = set()
    drafts = []
    for user_id in rng.choices(user_ids, weights=loyalty, k=N_ORDERS):
        joined = signups[user_id - 1]
        created_at = _unique_instant(rng, joined + timedelta(minutes=5), PERIOD_END, used)
        status = rng.choices(ORDER_STATUSES, weights=ORDER_STATUS_WEIGHTS)[0]
        drafts.append((created_at, user_id, status))
    drafts.sort()
    return [
        {"id": i, "user_id": u, "status": s, "created_at": ts}
        for i, (ts, u, s) in enumerate(drafts, start=1)
    ]


def _order_items(
    rng: random.Random,
    orders: Sequence[dict[str, object]],
    products: Sequence[dict[str, object]],
) -> list[dict[str, object]]:
    price = {product_id: p["price"] for product_id, p in enumerate(products, start=1)}
    product_ids = sorted(price)
    counts, weights = zip(*ITEMS_PER_ORDER_WEIGHTS.items(), strict=True)
    rows = []
    for order in orders:
        n_items = rng.choices(counts, weights=weights)[0]
        for product_id in sorted(rng.sample(product_ids, n_items)):
            rows.append(
                {
                    "id": len(rows) + 1,
                    "order_id": order["id"],
                    "product_id": product_id,
                    "quantity": rng.choices((1, 2, 3, 4, 5), weights=(50, 25, 12, 8, 5))[0],
                    "unit_price": price[product_id],
                }
            )
    return rows


def generate() -> dict[str, list[dict[str, object]]]:
    """All seed rows, by table name, in load order (parents before children)."""
    rng = random.Random(SEED)
    signups = _signup_times(rng)
    users = _users(rng, signups)
    posts = _posts(rng, signups)
    accounts = _accounts(rng, len(users))
    products = _products(rng)
    orders = _orders(rng, signups)
    order_items = _order_items(rng, orders, products)
    return {
        "users": users,
        "posts": posts,
        "accounts": accounts,
        "products": products,
        "orders": orders,
        "order_items": order_items,
    }


def to_csv(rows: Iterable[dict[str, object]]) -> bytes:
    """Rows as CSV bytes: header from the first row's keys, UTF-8, `\\n` line endings."""
    buffer = io.StringIO(newline="")
    writer: csv.DictWriter[str] | None = None
    for row in rows:
        if writer is None:
            writer = csv.DictWriter(buffer, fieldnames=list(row), lineterminator="\n")
            writer.writeheader()
        writer.writerow({k: _iso(v) if isinstance(v, datetime) else v for k, v in row.items()})
    return buffer.getvalue().encode("utf-8")


def write_seed(out: Path) -> dict[str, int]:
    """Write every table's CSV into `out` (created if missing); returns row counts."""
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for table, rows in generate().items():
        (out / f"{table}.csv").write_bytes(to_csv(rows))
        counts[table] = len(rows)
    return counts


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})"
    )
    args = parser.parse_args(argv)
    for table, count in write_seed(args.out).items():
        print(f"{table:<12} {count:>6} rows")


if __name__ == "__main__":
    main()
