"""`asyncdb-lab check`: per exercise, pass or fail, points, the failing test's message and a hint,
for solved, half-solved and untouched notebooks; the learner's file is never changed."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from support.learner import (
    ASSIGNMENTS,
    asyncdb_lab,
    learner_notebook,
    put,
    release,
    solution_sources,
)

from asyncdb_lab.course.authoring import build
from asyncdb_lab.course.hints import hint_for
from asyncdb_lab.course.notebook import (
    code_hash,
    has_test_code,
    read_structure,
    restore_locked_cells,
)
from asyncdb_lab.learner.check import check_notebook, describe_error
from asyncdb_lab.learner.report import format_check


def saved(workspace: Path, topic: str) -> dict:
    return json.loads((workspace / ".asyncdb-lab" / "results" / f"{topic}.json").read_text())


def statuses(result: dict) -> dict[str, tuple[str, dict[str, str]]]:
    return {
        e["name"]: (e["status"], {t["grade_id"]: t["status"] for t in e["tests"]})
        for e in result["exercises"]
    }


# -- the course's notebooks, through the command a learner types --------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_a_solved_notebook_passes_every_exercise(assignment: str, tmp_path: Path):
    path = put(tmp_path, assignment, learner_notebook(assignment, solution_sources(assignment)))
    before = path.read_bytes()
    run = asyncdb_lab("check", "--all", "--workspace", str(tmp_path))
    assert run.returncode == 0, run.stdout + run.stderr
    result = saved(tmp_path, assignment)
    for exercise, (status, tests) in statuses(result).items():
        assert status == "done", f"{exercise}: {status} {tests}"
        assert set(tests.values()) <= {"passed", "hidden"}
        assert "passed" in tests.values()
    total = len(result["exercises"])
    assert f"Done: {total} of {total} exercise" in run.stdout
    assert path.read_bytes() == before, "check changed the learner's notebook"


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_an_untouched_notebook_is_not_started_without_a_traceback(assignment: str, tmp_path: Path):
    path = put(tmp_path, assignment, release(assignment))
    before = path.read_bytes()
    run = asyncdb_lab("check", assignment, "--workspace", str(tmp_path))
    assert run.returncode == 1, run.stdout + run.stderr
    result = saved(tmp_path, assignment)
    for exercise, (status, _) in statuses(result).items():
        assert status == "not_started"
        assert f"{exercise}: not started" in run.stdout
    # The first exercise, where to begin, comes with its hint.
    first = result["exercises"][0]["name"]
    first_words = " ".join(hint_for(assignment, first).split()[:6])
    assert first_words and first_words in " ".join(run.stdout.split()), f"no hint for {first}"
    assert f"Next: start {first}." in run.stdout
    assert "Traceback" not in run.stdout
    assert result["problems"] == [], "setup or demonstration cells fail in the learner version"
    assert path.read_bytes() == before


@pytest.mark.slow
def test_a_half_solved_notebook_shows_the_failing_test_its_message_and_its_hint(tmp_path: Path):
    answer = solution_sources("00_start_here")["count_users"].replace(
        "result = await conn.execute(",
        'await conn.execute(text("SELECT 1"))  # a needless round trip\n'
        "        result = await conn.execute(",
    )
    notebook = learner_notebook("00_start_here", {"count_users": answer})
    # A learner who "fixes" a locked test cell gains nothing: the course's version runs.
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_count_users_one_statement":
            cell.source = "pass"
    path = put(tmp_path, "00_start_here", notebook)
    before = path.read_bytes()

    run = asyncdb_lab("check", "--workspace", str(tmp_path))  # no name: the one saved last

    assert run.returncode == 1, run.stdout + run.stderr
    assert "the notebook you saved last" in run.stdout
    status, tests = statuses(saved(tmp_path, "00_start_here"))["count_users"]
    assert status == "failing"
    assert tests == {
        "test_count_users_seed": "passed",
        "test_count_users_one_statement": "failed",
        "test_count_users_returns_connection": "hidden",
    }
    out = " ".join(run.stdout.split())
    assert "count_users: 2 of 3 points" in out
    assert "FAIL test_count_users_one_statement (1 point)" in out
    assert "statements sent by count_users: expected 1 (int), got 2 (int)." in out
    assert hint_for("00_start_here", "test_count_users_one_statement") in out
    assert "Next: fix count_users (test_count_users_one_statement)" in out
    # Two statements is no mistake the course knows ("got 0" is): no diagnosis is better than
    # a wrong one.
    assert "Looks like" not in out
    assert path.read_bytes() == before


@pytest.mark.slow
def test_a_known_mistake_is_named_with_the_section_that_teaches_it(tmp_path: Path):
    """The answer that returns the number it saw in the seed data fails the visible statement
    count the way tests/wrong_answers/ records it (data/misconceptions.yaml)."""
    answer = solution_sources("00_start_here")["count_users"]
    answer = answer[: answer.index("    async with")] + "    return 1000\n"
    path = put(
        tmp_path, "00_start_here", learner_notebook("00_start_here", {"count_users": answer})
    )

    run = asyncdb_lab("check", "00", "--workspace", str(tmp_path))

    assert run.returncode == 1, run.stdout + run.stderr
    out = " ".join(run.stdout.split())
    assert (
        "Looks like one of 2 known mistakes, which fail these same tests: returns the number it "
        "saw in the seed data; remembers each engine's count after the first call."
    ) in out
    assert "The notebook teaches them in “Part C — your first exercise: `count_users`”." in out
    assert saved(tmp_path, "00_start_here")["exercises"][0]["mistake"].startswith("Looks like")
    assert path.exists()


# -- every kind of outcome, on a small notebook of its own (no database) -----------------------

DRAFT = '''
# %% solution id=add
def add(a, b):
    """Add."""
    return a + b

# %% tests id=test_add_small points=1
"""Check that add adds."""
assert add(1, 2) == 3, "add(1, 2) should be 3"

# %% tests id=test_add_zero points=1
"""Check that a value a test shows is no score (nbgrader would read 0 as zero points)."""
add(0, 0)

# %% solution id=mul
def mul(a, b):
    """Multiply."""
    raise NotImplementedError()

# %% tests id=test_mul_small points=2
"""Check that mul multiplies."""
assert mul(2, 3) == 6

# %% solution id=neg
def neg(a):
    """Negate."""
    return -a +

# %% tests id=test_neg_one points=1
"""Check that neg negates."""
assert neg(1) == -1

# %% tests id=test_neg_hidden points=3
"""Check that neg handles what the grader tries."""

# %% solution id=sub
def sub(a, b):
    """Subtract."""
    return a + b

# %% tests id=test_sub_small points=1
"""Check that sub subtracts."""
assert sub(3, 1) == 2, "sub(3, 1) should be 2"

# %% tests id=test_sub_quietly points=1
"""Check that sub may warn: only raising fails a test."""
import sys
print("careful", file=sys.stderr)

# %% tests id=test_sub_shown points=1
"""Check that an error shown fails the test, even one caught."""
try:
    sub(1, "x")
except TypeError:
    get_ipython().showtraceback()

# %% solution id=answer_pick
# Your answer: "a" or "b".
raise NotImplementedError()

# %% tests id=test_answer_pick_form points=1
"""Check that answer_pick is a letter."""
assert answer_pick in ("a", "b")

# %% solution id=wait
async def wait():
    """Wait."""
    import asyncio
    await asyncio.sleep(60)

# %% tests id=test_wait_soon points=1
"""Check that wait returns."""
await wait()
'''


@pytest.mark.slow
def test_every_outcome_of_a_notebook_outside_the_course(tmp_path: Path):
    path = tmp_path / "mine.ipynb"
    nbformat.write(build(DRAFT), path)
    result = check_notebook(path, timeout=10)  # far below the 60 s sleep, far above any other cell
    got = {e.name: (e.status, {t.grade_id: t.status for t in e.tests}) for e in result.exercises}
    assert got == {
        "add": ("done", {"test_add_small": "passed", "test_add_zero": "passed"}),
        "mul": ("not_started", {"test_mul_small": "not_started"}),
        "neg": ("failing", {"test_neg_one": "failed", "test_neg_hidden": "hidden"}),
        "sub": (
            "failing",
            {"test_sub_small": "failed", "test_sub_quietly": "passed", "test_sub_shown": "failed"},
        ),
        "answer_pick": ("not_started", {"test_answer_pick_form": "not_started"}),
        "wait": ("failing", {"test_wait_soon": "failed"}),
    }
    by_id = {t.grade_id: t for e in result.exercises for t in e.tests}
    exercises = {e.name: e for e in result.exercises}
    assert "raised SyntaxError" in exercises["neg"].message
    assert by_id["test_sub_small"].message == "sub(3, 1) should be 2"
    # Writing to stderr fails no test (as when graded); the learner is still shown it.
    assert "does not fail a test" in by_id["test_sub_quietly"].message
    assert "careful" in by_id["test_sub_quietly"].message
    assert by_id["test_sub_shown"].message.startswith("TypeError: unsupported operand")
    assert "stopped after 10 s" in by_id["test_wait_soon"].message
    assert (result.earned, result.checkable, result.hidden) == (3, 10, 3)
    assert not result.passed and result.done == 1
    # The first exercise not started is explained; later ones are listed, to keep it short.
    report = format_check(result)
    assert "Not started: mul still raises NotImplementedError." in report
    assert "answer_pick: not started\n" in report
    assert "Not started: answer_pick" not in report


# -- the pieces ---------------------------------------------------------------------------------


def test_describe_error_speaks_like_the_test_did():
    assert describe_error("AssertionError", "expected 1, got 2.") == "expected 1, got 2."
    assert "gave no message" in describe_error("AssertionError", "")
    assert describe_error("TypeError", "bad operand") == "TypeError: bad operand"


def test_a_test_cell_with_only_its_docstring_is_hidden():
    assert not has_test_code('"""Check that x."""\n')
    assert has_test_code('"""Check that x."""\nassert await f() == 1\n')
    assert has_test_code("%time f()")  # IPython syntax cannot be parsed: assume visible


def test_the_code_hash_ignores_outputs_and_markdown():
    notebook = release("00_start_here")
    first = code_hash(notebook)
    notebook.cells[0].source += "\nMore prose."
    notebook.cells[2].outputs = [nbformat.v4.new_output("stream", text="hello")]
    assert code_hash(notebook) == first
    notebook.cells[2].source += "\nprint(1)"
    assert code_hash(notebook) != first


def test_locked_cells_come_back_from_the_course_and_missing_tests_are_named():
    course = release("00_start_here")
    mine = release("00_start_here")
    tests = [c for c in mine.cells if c.metadata.get("nbgrader", {}).get("grade")]
    tests[0].source = "pass"
    mine.cells.remove(tests[1])
    prepared, missing = restore_locked_cells(mine, course)
    assert missing == {tests[1].metadata["nbgrader"]["grade_id"]}
    restored = next(c for c in prepared.cells if c.metadata.get("nbgrader", {}).get("grade"))
    assert restored.source != "pass"
    assert tests[0].source == "pass", "the learner's own notebook object was changed"


def test_the_structure_of_notebook_00_matches_the_contract():
    structure = read_structure(release("00_start_here"))
    assert structure.exercises == ("count_users",)
    assert [t.grade_id for t in structure.tests_of("count_users")] == [
        "test_count_users_seed",
        "test_count_users_one_statement",
        "test_count_users_returns_connection",
    ]
    assert (structure.max_points, structure.visible_points) == (4, 3)
