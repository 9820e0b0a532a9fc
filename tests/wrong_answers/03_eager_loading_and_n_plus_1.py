"""Plausible wrong answers for 03_eager_loading_and_n_plus_1 (see README.md in this folder)."""

AUTHORS_DOC = (
    '    """Return the users with at least one post, ordered by id, '
    'with `posts` eagerly loaded."""\n'
)
COUNTS_DOC = (
    '    """Return plain tuples (user id, email, number of posts) for every user, 0 included, '
    'ordered by id, in one statement."""\n'
)
TITLES_DOC = (
    '    """Return the titles of the user\'s n newest posts (created_at DESC, id DESC), '
    'selecting only the title."""\n'
)

AUTHORS = "async def authors_with_posts(session) -> list[User]:\n" + AUTHORS_DOC
COUNTS = "async def post_counts(session) -> list[tuple[int, str, int]]:\n" + COUNTS_DOC
TITLES = "async def recent_titles(session, user_id: int, n: int) -> list[str]:\n" + TITLES_DOC

WRONG_ANSWERS = {
    "authors_with_posts": [
        (
            "N+1: awaitable_attrs once per user (right data, one query per author)",
            AUTHORS
            + """    users = (await session.scalars(
        select(User).where(User.posts.any()).order_by(User.id)
    )).all()
    for user in users:
        await user.awaitable_attrs.posts
    return list(users)
""",
        ),
        (
            "N+1: explicit per-user queries attached with set_committed_value",
            AUTHORS
            + """    from sqlalchemy.orm.attributes import set_committed_value

    users = (await session.scalars(
        select(User).where(User.posts.any()).order_by(User.id)
    )).all()
    for user in users:
        posts = (await session.scalars(select(Post).where(Post.author_id == user.id))).all()
        set_committed_value(user, "posts", list(posts))
    return list(users)
""",
        ),
        (
            "N+1: session.refresh(user, ['posts']) per user",
            AUTHORS
            + """    users = (await session.scalars(
        select(User).where(User.posts.any()).order_by(User.id)
    )).all()
    for user in users:
        await session.refresh(user, ["posts"])
    return list(users)
""",
        ),
        (
            "joinedload on the collection without .unique() (raises)",
            AUTHORS
            + """    statement = (
        select(User).where(User.posts.any()).order_by(User.id).options(joinedload(User.posts))
    )
    return list((await session.scalars(statement)).all())
""",
        ),
        (
            "filters the authors but never loads their posts",
            AUTHORS
            + """    statement = select(User).where(User.posts.any()).order_by(User.id)
    return list((await session.scalars(statement)).all())
""",
        ),
        (
            "inner join to posts without distinct: each author once per post",
            AUTHORS
            + """    statement = (
        select(User).join(User.posts).order_by(User.id).options(selectinload(User.posts))
    )
    return list((await session.scalars(statement)).all())
""",
        ),
        (
            "no ORDER BY: relies on the seed table being stored in id order",
            AUTHORS
            + """    statement = select(User).where(User.posts.any()).options(selectinload(User.posts))
    return list((await session.scalars(statement)).all())
""",
        ),
        (
            "ordered by signup date (created_at), which only matches id order in the seed data",
            AUTHORS
            + """    statement = (
        select(User)
        .where(User.posts.any())
        .order_by(User.created_at)
        .options(selectinload(User.posts))
    )
    return list((await session.scalars(statement)).all())
""",
        ),
        (
            "N+1 hidden in a loader option: immediateload loads each user's posts with its own SELECT",
            AUTHORS
            + """    from sqlalchemy.orm import immediateload

    statement = (
        select(User).where(User.posts.any()).order_by(User.id).options(immediateload(User.posts))
    )
    return list((await session.scalars(statement)).all())
""",
        ),
        (
            "wraps the work in session.begin() (fails when the caller's transaction has begun)",
            AUTHORS
            + """    async with session.begin():
        statement = (
            select(User)
            .where(User.posts.any())
            .order_by(User.id)
            .options(selectinload(User.posts))
        )
        return list((await session.scalars(statement)).all())
""",
        ),
        (
            "queries through a session of its own from the notebook's Session, ignoring the one given",
            AUTHORS
            + """    async with Session() as own:
        statement = (
            select(User)
            .where(User.posts.any())
            .order_by(User.id)
            .options(selectinload(User.posts))
        )
        return list((await own.scalars(statement)).all())
""",
        ),
        (
            "every user, the ones without posts included",
            AUTHORS
            + """    statement = select(User).order_by(User.id).options(selectinload(User.posts))
    return list((await session.scalars(statement)).all())
""",
        ),
    ],
    "post_counts": [
        (
            "inner join: users without posts disappear",
            COUNTS
            + """    statement = (
        select(User.id, User.email, func.count(Post.id))
        .join(Post, Post.author_id == User.id)
        .group_by(User.id)
        .order_by(User.id)
    )
    return [tuple(row) for row in (await session.execute(statement)).all()]
""",
        ),
        (
            "outer join with count(*): users without posts count 1",
            COUNTS
            + """    statement = (
        select(User.id, User.email, func.count())
        .outerjoin(Post, Post.author_id == User.id)
        .group_by(User.id)
        .order_by(User.id)
    )
    return [tuple(row) for row in (await session.execute(statement)).all()]
""",
        ),
        (
            "N+1 in Python: one count query per user",
            COUNTS
            + """    statement = select(User.id, User.email).order_by(User.id)
    users = (await session.execute(statement)).all()
    counts = []
    for user_id, email in users:
        number = await session.scalar(
            select(func.count(Post.id)).where(Post.author_id == user_id)
        )
        counts.append((user_id, email, number))
    return counts
""",
        ),
        (
            "two statements: users, then grouped counts merged in Python",
            COUNTS
            + """    statement = select(User.id, User.email).order_by(User.id)
    users = (await session.execute(statement)).all()
    grouped = dict((await session.execute(
        select(Post.author_id, func.count(Post.id)).group_by(Post.author_id)
    )).all())
    return [(user_id, email, grouped.get(user_id, 0)) for user_id, email in users]
""",
        ),
        (
            "returns Row objects instead of plain tuples",
            COUNTS
            + """    statement = (
        select(User.id, User.email, func.count(Post.id))
        .outerjoin(Post, Post.author_id == User.id)
        .group_by(User.id)
        .order_by(User.id)
    )
    return list((await session.execute(statement)).all())
""",
        ),
        (
            "no ORDER BY: relies on GROUP BY returning the users in id order",
            COUNTS
            + """    statement = (
        select(User.id, User.email, func.count(Post.id))
        .outerjoin(Post, Post.author_id == User.id)
        .group_by(User.id)
    )
    return [tuple(row) for row in (await session.execute(statement)).all()]
""",
        ),
        (
            "closes the caller's session with `async with session:` (its uncommitted work is rolled back)",
            COUNTS
            + """    async with session:
        statement = (
            select(User.id, User.email, func.count(Post.id))
            .outerjoin(Post, Post.author_id == User.id)
            .group_by(User.id)
            .order_by(User.id)
        )
        return [tuple(row) for row in (await session.execute(statement)).all()]
""",
        ),
        (
            "counts on a connection of its own from the engine (misses the caller's uncommitted rows)",
            COUNTS
            + """    async with engine.connect() as conn:
        statement = (
            select(User.id, User.email, func.count(Post.id))
            .outerjoin(Post, Post.author_id == User.id)
            .group_by(User.id)
            .order_by(User.id)
        )
        return [tuple(row) for row in (await conn.execute(statement)).all()]
""",
        ),
        (
            "loads every user's posts and counts them with len()",
            COUNTS
            + """    users = (await session.scalars(
        select(User).order_by(User.id).options(selectinload(User.posts))
    )).all()
    return [(user.id, user.email, len(user.posts)) for user in users]
""",
        ),
        (
            "one statement, but joinedload every post and count them with len()",
            COUNTS
            + """    result = await session.scalars(
        select(User).order_by(User.id).options(joinedload(User.posts))
    )
    return [(user.id, user.email, len(user.posts)) for user in result.unique().all()]
""",
        ),
    ],
    "recent_titles": [
        (
            "selects whole Post objects and reads .title",
            TITLES
            + """    statement = (
        select(Post)
        .where(Post.author_id == user_id)
        .order_by(Post.created_at.desc(), Post.id.desc())
        .limit(n)
    )
    return [post.title for post in (await session.scalars(statement)).all()]
""",
        ),
        (
            "load_only(Post.title): still selects the primary key",
            TITLES
            + """    statement = (
        select(Post)
        .options(load_only(Post.title))
        .where(Post.author_id == user_id)
        .order_by(Post.created_at.desc(), Post.id.desc())
        .limit(n)
    )
    return [post.title for post in (await session.scalars(statement)).all()]
""",
        ),
        (
            "oldest first",
            TITLES
            + """    statement = (
        select(Post.title)
        .where(Post.author_id == user_id)
        .order_by(Post.created_at, Post.id)
        .limit(n)
    )
    return list((await session.scalars(statement)).all())
""",
        ),
        (
            "newest by id only (ids are not dates)",
            TITLES
            + """    statement = (
        select(Post.title).where(Post.author_id == user_id).order_by(Post.id.desc()).limit(n)
    )
    return list((await session.scalars(statement)).all())
""",
        ),
        (
            "created_at DESC without a tie-breaker",
            TITLES
            + """    statement = (
        select(Post.title)
        .where(Post.author_id == user_id)
        .order_by(Post.created_at.desc())
        .limit(n)
    )
    return list((await session.scalars(statement)).all())
""",
        ),
        (
            "ties broken by id ascending (the earlier insert first)",
            TITLES
            + """    statement = (
        select(Post.title)
        .where(Post.author_id == user_id)
        .order_by(Post.created_at.desc(), Post.id)
        .limit(n)
    )
    return list((await session.scalars(statement)).all())
""",
        ),
        (
            "commits the caller's session after reading",
            TITLES
            + """    statement = (
        select(Post.title)
        .where(Post.author_id == user_id)
        .order_by(Post.created_at.desc(), Post.id.desc())
        .limit(n)
    )
    titles = list((await session.scalars(statement)).all())
    await session.commit()
    return titles
""",
        ),
        (
            "reads through a session of its own from the notebook's Session, ignoring the one given",
            TITLES
            + """    async with Session() as own:
        statement = (
            select(Post.title)
            .where(Post.author_id == user_id)
            .order_by(Post.created_at.desc(), Post.id.desc())
            .limit(n)
        )
        return list((await own.scalars(statement)).all())
""",
        ),
        (
            "wraps the query in session.begin() (fails when the caller's transaction has begun)",
            TITLES
            + """    async with session.begin():
        statement = (
            select(Post.title)
            .where(Post.author_id == user_id)
            .order_by(Post.created_at.desc(), Post.id.desc())
            .limit(n)
        )
        return list((await session.scalars(statement)).all())
""",
        ),
        (
            "fetches every title and slices in Python (no LIMIT)",
            TITLES
            + """    statement = (
        select(Post.title)
        .where(Post.author_id == user_id)
        .order_by(Post.created_at.desc(), Post.id.desc())
    )
    return list((await session.scalars(statement)).all())[:n]
""",
        ),
    ],
}

CORRECT_ALTERNATIVES = {
    "authors_with_posts": [
        (
            "joinedload + unique(), an explicit EXISTS, sorted in Python by id",
            AUTHORS
            + """    from sqlalchemy import exists

    has_posts = exists().where(Post.author_id == User.id)
    result = await session.scalars(select(User).where(has_posts).options(joinedload(User.posts)))
    return sorted(result.unique().all(), key=lambda user: user.id)
""",
        ),
        (
            "inner join + contains_eager, de-duplicated with unique(); prints the count",
            AUTHORS
            + """    from sqlalchemy.orm import contains_eager

    statement = (
        select(User)
        .join(User.posts)
        .options(contains_eager(User.posts), raiseload("*"))
        .order_by(User.id, Post.id)
    )
    authors = list((await session.scalars(statement)).unique().all())
    print(f"authors_with_posts: {len(authors)} authors")
    return authors
""",
        ),
    ],
    "post_counts": [
        (
            "a correlated scalar subquery per user, in one statement; int() on each value",
            COUNTS
            + """    posts_of_user = (
        select(func.count(Post.id)).where(Post.author_id == User.id).correlate(User).scalar_subquery()
    )
    rows = await session.execute(select(User.id, User.email, posts_of_user).order_by(User.id))
    return [(int(user_id), str(email), int(count)) for user_id, email, count in rows]
""",
        ),
        (
            "text() SQL with LEFT JOIN and count(p.id); prints how many rows",
            COUNTS
            + """    result = await session.execute(text(
        "SELECT u.id, u.email, count(p.id) AS posts FROM users AS u "
        "LEFT JOIN posts AS p ON p.author_id = u.id GROUP BY u.id, u.email ORDER BY u.id"
    ))
    counts = [tuple(row) for row in result]
    print(f"post_counts: {len(counts)} users")
    return counts
""",
        ),
    ],
    "recent_titles": [
        (
            "text() SQL with bound parameters",
            TITLES
            + """    result = await session.execute(
        text(
            "SELECT title FROM posts WHERE author_id = :user_id "
            "ORDER BY created_at DESC, id DESC LIMIT :n"
        ),
        {"user_id": user_id, "n": n},
    )
    return [title for (title,) in result]
""",
        ),
        (
            "joins users, guards n <= 0 in Python (no statement then)",
            TITLES
            + """    from sqlalchemy import desc

    if n <= 0:
        return []
    statement = (
        select(Post.title)
        .join(User, User.id == Post.author_id)
        .where(User.id == user_id)
        .order_by(desc(Post.created_at), desc(Post.id))
        .limit(n)
    )
    return [str(title) for title in await session.scalars(statement)]
""",
        ),
    ],
}
