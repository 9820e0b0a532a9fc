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
