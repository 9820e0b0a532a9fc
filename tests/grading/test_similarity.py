"""The similarity report: a disguised copy stands out; different answers and starter code do not.

The class is the wrong-answer suite (tests/wrong_answers/): every wrong answer and correct
alternative of an exercise handed in by a different student. Pure Python, no database.
"""

from __future__ import annotations

import difflib
import random
import time
from functools import cache

import nbformat
import pytest
from support.disguise import disguise
from support.mutants import cases, notebooks, release_path

from asyncdb_lab.course.notebook import nbgrader_meta
from asyncdb_lab.grading.similarity import (
    SimilarityOptions,
    SimilarPair,
    class_similarity,
    exercise_similarity,
    fingerprint_counts,
    normalised_tokens,
)

DEFAULTS = SimilarityOptions()


@cache
def starters(notebook: str) -> dict[str, str]:
    """grade_id → the solution cell as released to learners (starter code)."""
    released = nbformat.read(release_path(notebook), as_version=4)
    return {
        nbgrader_meta(cell)["grade_id"]: cell.source
        for cell in released.cells
        if nbgrader_meta(cell).get("solution")
    }


@cache
def suite_classes(notebook: str) -> dict[str, dict[str, str]]:
    """grade_id → student → source: each answer of the suite is a different student."""
    classes: dict[str, dict[str, str]] = {}
    for case in cases(notebook):
        student = f"{case.kind}-{case.index}"
        classes.setdefault(case.exercise, {})[student] = case.sources[case.exercise]
    return classes


def same_lines(first: str, second: str) -> float:
    """How alike two sources are as written, line by line, comments aside (difflib's ratio): an
    independent measure of 'the same code with a small edit'."""

    def lines(source: str) -> list[str]:
        return [text for line in source.splitlines() if (text := line.split("#")[0].strip())]

    return difflib.SequenceMatcher(None, lines(first), lines(second)).ratio()


def students(pair: SimilarPair) -> set[str]:
    return {pair.first, pair.second}


# --- normalisation -------------------------------------------------------------------------

ORIGINAL = '''from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession


async def count_active(session: AsyncSession, min_orders: int = 1_000) -> int:
    """Users with at least min_orders orders."""
    # count in the database, not in Python
    statement = select(func.count()).select_from(User).where(User.orders >= min_orders)
    total = await session.scalar(statement)
    if total is None:
        raise ValueError("no count came back")
    return (total)
'''

DISGUISES = {
    "renamed": '''from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession


async def how_many(s: AsyncSession, at_least: int = 1_000) -> int:
    """Users with at least min_orders orders."""
    # count in the database, not in Python
    query = select(func.count()).select_from(User).where(User.orders >= at_least)
    n = await s.scalar(query)
    if n is None:
        raise ValueError("no count came back")
    return (n)
''',
    "comments, docstring, blank lines and layout": """from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
async def count_active(
    session: AsyncSession,
    min_orders: int = 1000,  # a default
) -> int:
    statement = (
        select(func.count())
        .select_from(User)
        .where(User.orders >= min_orders)
    )

    total = await session.scalar(statement)  # one round trip


    if total is None: raise ValueError('no count came back')
    return total
""",
    "imports reordered and reworded message": '''from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy import select, func


async def count_active(session: AsyncSession, min_orders: int = 1_000) -> int:
    """Counts them."""
    statement = select(func.count()).select_from(User).where(User.orders >= min_orders)
    total = await session.scalar(statement)
    if total is None:
        raise ValueError(f"the database said nothing about {min_orders}")
    return total
''',
}


@pytest.mark.parametrize("disguise_name", sorted(DISGUISES))
def test_a_disguise_leaves_the_normalised_tokens_unchanged(disguise_name):
    assert normalised_tokens(DISGUISES[disguise_name]) == normalised_tokens(ORIGINAL)


@pytest.mark.parametrize(
    ("change", "before", "after"),
    [
        ("another library call", "session.scalar(statement)", "session.execute(statement)"),
        ("another SQL query", 'text("SELECT id FROM users")', 'text("SELECT name FROM users")'),
        ("another option value", 'mode="control_fully"', 'mode="rollback_only"'),
        ("another keyword argument", "f(expire_on_commit=False)", "f(autoflush=False)"),
        ("another number", "limit(10)", "limit(20)"),
    ],
)
def test_what_an_answer_is_made_of_is_kept(change, before, after):
    assert normalised_tokens(f"x = {before}\n") != normalised_tokens(f"x = {after}\n"), change


def test_non_ascii_text_before_a_keyword_argument_or_an_inline_block_changes_nothing():
    # ast counts columns in UTF-8 bytes, tokenize in characters.
    written = 'def f(name):\n    """Réponse → ok"""\n'
    written += '    g("é", name=name)\n    if name == "é": return 1\n'
    renamed = 'def f(x):\n    g("é", name=x)\n    if x == "é":\n        return 1\n'
    assert normalised_tokens(written) == normalised_tokens(renamed)
    assert "name" in normalised_tokens(written)  # the keyword argument, kept


def test_code_that_only_warns_is_compared_by_tokens():
    # `"\d"` and `x is 1` warn when parsed; pytest here turns warnings into errors.
    assert normalised_tokens('x = re.compile("\\d+")\nif x is 1:\n    pass\n') is not None


def test_a_cell_that_does_not_parse_has_no_tokens():
    assert normalised_tokens("def broken(:\n    return 1\n") is None
    assert normalised_tokens("%time x = 1\nx = 2\n") == normalised_tokens("x = 2\n")


# --- the wrong-answer suite as a class -------------------------------------------------------


@pytest.mark.parametrize("notebook", notebooks())
def test_different_answers_are_reported_only_when_they_are_the_same_code(notebook):
    """The suite's answers are one author's variations on the reference solution, and some
    differ from each other in one expression (06 pool_report's open_connections as `pool.size()
    + overflow` or as `pool.checkedout() + overflow`). Those are as alike as a copy, and two
    learners who wrote them would be worth a look, so they may be reported; a pair that differs
    in more than a few lines as written must not be."""
    for exercise, sources in suite_classes(notebook).items():
        for pair in exercise_similarity(exercise, sources, starters(notebook)[exercise]):
            alike = same_lines(sources[pair.first], sources[pair.second])
            assert alike >= 0.85, f"{pair} is reported, but only {alike:.0%} of lines agree"


EXERCISE_NOTEBOOKS = [notebook for notebook in notebooks() if not notebook.startswith("12")]


@pytest.mark.parametrize("notebook", EXERCISE_NOTEBOOKS)
def test_a_disguised_copy_is_the_most_alike_pair(notebook):
    for exercise, answers in suite_classes(notebook).items():
        copied = "alternative-0"  # a correct answer, written differently from the solution
        sources = {**answers, "copycat": disguise(answers[copied])}
        found = exercise_similarity(exercise, sources, starters(notebook)[exercise])
        assert found, f"{exercise}: the copy of {copied} is not reported"
        assert students(found[0]) == {copied, "copycat"}, f"{exercise}: {found[0]} ranks first"
        runner_up = max((p.similarity for p in found[1:]), default=0.0)
        assert found[0].similarity > runner_up, f"{exercise}: {found[:2]}"


def test_one_line_answers_are_never_reported():
    """Notebook 12's answers are a line each: the same for everyone who gets them right."""
    for exercise, answers in suite_classes("12_interview_prep").items():
        sources = {**answers, "copycat": answers["alternative-0"]}
        starter = starters("12_interview_prep")[exercise]
        assert fingerprint_counts(sources, starter)["copycat"] < DEFAULTS.min_fingerprints
        assert exercise_similarity(exercise, sources, starter) == [], exercise


def test_a_group_sharing_one_solution_is_reported_whole():
    """Six learners with one solution in a class of 23: their 15 pairs are 6% of the 253, so a
    95th percentile would sit among them and report only some; the median barely moves."""
    answers = suite_classes("04_transactions_and_locking")["transfer"]
    group = {f"copy-{n}": disguise(answers["alternative-0"]) for n in range(5)}
    sources = {**answers, **group}
    assert len(sources) == 23
    starter = starters("04_transactions_and_locking")["transfer"]
    found = exercise_similarity("transfer", sources, starter)
    members = {"alternative-0", *group}
    in_group = [pair for pair in found if students(pair) <= members]
    assert len(in_group) == 15
    assert all(pair.similarity == 1.0 for pair in in_group)


def test_a_solution_everyone_shares_is_never_unusual():
    answers = suite_classes("05_savepoints")["place_order"]
    solution = answers["alternative-0"]
    everyone = {f"learner-{n}": disguise(solution) for n in range(8)}
    starter = starters("05_savepoints")["place_order"]
    assert exercise_similarity("place_order", everyone, starter) == []
    # Even when what they share is not discounted, identical pairs are the norm, not outliers.
    keep_all = SimilarityOptions(common_share=1.0)
    assert exercise_similarity("place_order", everyone, starter, keep_all) == []
    kept = fingerprint_counts(everyone, starter, keep_all)
    assert all(n >= DEFAULTS.min_fingerprints for n in kept.values())


def test_a_small_class_is_judged_by_the_absolute_threshold_alone():
    answers = suite_classes("05_savepoints")["place_order"]
    pair = {"ada": answers["alternative-0"], "grace": disguise(answers["alternative-0"])}
    found = exercise_similarity("place_order", pair, starters("05_savepoints")["place_order"])
    assert [(p.first, p.second, p.similarity) for p in found] == [("ada", "grace", 1.0)]


# --- starter code, syntax errors ---------------------------------------------------------------


@pytest.mark.parametrize("notebook", notebooks())
def test_starter_code_alone_is_never_reported(notebook):
    for exercise, answers in suite_classes(notebook).items():
        starter = starters(notebook)[exercise]
        idle = {
            "idle-as-released": starter,
            "idle-reformatted": "\n\n" + starter.replace("    ", "\t") + "\n# nothing yet\n",
            "idle-without-raise": starter.replace("raise NotImplementedError()", "pass"),
        }
        for sources in (idle, {**answers, **idle}):
            found = exercise_similarity(exercise, sources, starter)
            assert not [p for p in found if students(p) & set(idle)], f"{exercise}: {found}"


BROKEN = '''async def transfer(session, source: int, target: int, amount: int) -> None:
    """Move amount from source to target."""
    async with session.begin():
        ids = sorted([source, target])
        rows = await session.execute(select(Account).where(Account.id.in_(ids)).with_for_update())
        accounts = {account.id: account for account in rows.scalars()}
        if source not in accounts or target not in accounts:
            raise LookupError(f"no account {source} or {target}")
        if accounts[source].balance < amount
            raise InsufficientFunds(source)
        accounts[source].balance -= amount
        accounts[target].balance += amount
        session.add_all(list(accounts.values()))
        await session.flush()
        log.info("moved %s from %s to %s", amount, source, target)
    return None
'''


def test_cells_that_do_not_parse_are_compared_by_lines():
    answers = suite_classes("04_transactions_and_locking")["transfer"]
    starter = starters("04_transactions_and_locking")["transfer"]
    elsewhere = suite_classes("05_savepoints")["place_order"]["alternative-0"]
    sources = {
        **answers,
        "broken": BROKEN,
        "broken-copy": BROKEN.replace('"""Move amount from source to target."""', "# mine")
        .replace("log.info(", "log.info(  ")
        .replace("\n        ", "\n\n        "),
        "fixed-later": BROKEN.replace("< amount\n", "< amount:\n"),
        "unrelated-broken": elsewhere.replace(":\n", "\n", 1),
    }
    assert normalised_tokens(sources["broken"]) is None
    assert normalised_tokens(sources["unrelated-broken"]) is None
    assert normalised_tokens(sources["fixed-later"]) is not None
    found = exercise_similarity("transfer", sources, starter)
    assert students(found[0]) == {"broken", "broken-copy"}
    assert found[0].similarity == 1.0
    # A pair with one cell that parses is compared by lines on both sides: one line differs.
    assert {"broken", "fixed-later"} in [students(p) for p in found]
    assert not [p for p in found if "unrelated-broken" in students(p)]


# --- a notebook, a large class -----------------------------------------------------------------


def test_class_similarity_reports_each_exercise_of_a_notebook():
    notebook = "03_eager_loading_and_n_plus_1"
    classes = suite_classes(notebook)
    by_student: dict[str, dict[str, str]] = {}
    for exercise, sources in classes.items():
        for student, source in sources.items():
            by_student.setdefault(student, {})[exercise] = source
    by_student["copycat"] = {
        "post_counts": disguise(classes["post_counts"]["alternative-0"]),
        "recent_titles": disguise(classes["recent_titles"]["alternative-1"]),
    }  # and no authors_with_posts cell at all
    found = class_similarity(by_student, starters(notebook))
    copies = [(p.exercise, p.first, p.second) for p in found if "copycat" in students(p)]
    assert sorted(copies) == [
        ("post_counts", "alternative-0", "copycat"),
        ("recent_titles", "alternative-1", "copycat"),
    ]
    assert [p.similarity for p in found] == sorted((p.similarity for p in found), reverse=True)


STATEMENTS = [
    "{a} = await session.execute(select(User).where(User.id == {b}).limit({n}))",
    "{a} = list((await session.scalars(select(Post).order_by(Post.id).offset({n}))).all())",
    "if {a} is None:\n        raise ValueError('no such user {n}')",
    "async with session.begin_nested():\n        session.add(Order(user_id={b}, total={n}))",
    "{a} = {{row.id: row.name for row in {b}}}",
    "await session.flush()",
    "{a} = text('SELECT count(*) FROM orders WHERE total > :{b}')",
    "for {a} in range({n}):\n        {b}.append({a} * {n})",
    "{a} = await session.scalar(select(func.count()).where(User.name.ilike({b})))",
    "{a} = [{b} for {b} in {a} if {b} % {n}]",
    "try:\n        await session.commit()\n"
    "    except IntegrityError:\n        await session.rollback()",
    "{a} = sorted({b}, key=lambda item: item[{n}])",
]


def thirty_line_solution(rng: random.Random) -> str:
    names = [f"v{rng.randrange(1000)}" for _ in range(8)]
    lines: list[str] = []
    while sum(line.count("\n") + 1 for line in lines) < 28:
        statement = rng.choice(STATEMENTS)
        lines.append(
            statement.format(a=rng.choice(names), b=rng.choice(names), n=rng.randrange(99))
        )
    body = "\n    ".join(lines)
    return f"async def solve(session, {names[0]}, {names[1]}):\n    {body}\n    return {names[2]}\n"


def test_a_class_of_three_hundred_takes_seconds_and_finds_the_copy():
    """Measured: about 1.5 s on a busy 2-core machine; the bound only catches a slower design."""
    rng = random.Random(15)
    sources = {f"learner-{n:03}": thirty_line_solution(rng) for n in range(299)}
    sources["copycat"] = disguise(sources["learner-007"])
    assert all(source.count("\n") >= 29 for source in sources.values())
    started = time.perf_counter()
    found = exercise_similarity("solve", sources, "async def solve(session, a, b):\n    ...\n")
    assert time.perf_counter() - started < 30
    assert [students(pair) for pair in found] == [{"learner-007", "copycat"}]
