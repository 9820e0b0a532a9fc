"""One rule decides a test cell, for `asyncdb-lab check` and for grading: it fails if and only if
it raised. Writing to stderr (logging, warnings) fails nothing, and no `execute_result` is read as
a score: the grading step ScoreByVerdict makes nbgrader's own determine_grade agree with the rule
on every combination of outputs, and a logging solution of notebook 00 gets full marks from both.
"""

from __future__ import annotations

import copy
import html
import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output
from nbgrader.utils import determine_grade
from support.grading_run import NOTEBOOK, GradingCourse
from support.learner import asyncdb_lab, learner_notebook, put, release, solution_sources

from asyncdb_lab.course.verdict import cell_verdict, raised, stderr_text
from asyncdb_lab.grading.verdict import STDERR_PREFIX, ScoreByVerdict, settled_outputs
from asyncdb_lab.grading.worker import load_config
from asyncdb_lab.learner.check import check_notebook
from asyncdb_lab.settings import REPO

POINTS = 2.0


def stderr(text: str) -> nbformat.NotebookNode:
    return new_output("stream", name="stderr", text=text)


def stdout(text: str) -> nbformat.NotebookNode:
    return new_output("stream", name="stdout", text=text)


def result(text: str | None, **data: str) -> nbformat.NotebookNode:
    if text is not None:
        data["text/plain"] = text
    return new_output("execute_result", data=data, execution_count=3)


def display(text: str) -> nbformat.NotebookNode:
    return new_output("display_data", data={"text/plain": text})


def error(evalue: str = "expected 1000, got 0.") -> nbformat.NotebookNode:
    return new_output(
        "error", ename="AssertionError", evalue=evalue, traceback=[f"AssertionError: {evalue}"]
    )


# name → (the test cell's outputs, the rule's verdict)
CASES: dict[str, tuple[list[nbformat.NotebookNode], str]] = {
    "no outputs": ([], "passed"),
    "stdout": ([stdout("hello\n")], "passed"),
    "stderr only": ([stderr("WARNING:count_users:slow\n")], "passed"),
    "stdout and stderr": ([stdout("a\n"), stderr("b\n"), stdout("c\n")], "passed"),
    "stderr and an error": ([stderr("careful\n"), error()], "failed"),
    "an error and stderr": ([error(), stderr("careful\n")], "failed"),
    "an error": ([error()], "failed"),
    "'ok' before an error": ([result("'ok'"), error()], "failed"),
    "1.5 before an error": ([result("1.5"), error()], "failed"),
    "0 before an error": ([result("0"), error()], "failed"),
    "'ok'": ([result("'ok'")], "passed"),
    "1.5": ([result("1.5")], "passed"),
    "0": ([result("0")], "passed"),
    "a number above the points": ([result("99")], "passed"),
    "a result without text/plain": ([result(None, **{"text/html": "<b>1</b>"})], "passed"),
    "an empty result": ([result("")], "passed"),
    "display_data": ([display("0")], "passed"),
    "display_data and an error": ([display("'ok'"), error()], "failed"),
    "stderr, a result, stderr, an error": (
        [stderr("x\n"), result("2"), stderr("y"), error()],
        "failed",
    ),
    "not run": (
        [error("not run: stopped at the notebook's time limit (12 s) in cell 20")],
        "failed",
    ),
}


def grade_cell(outputs: list[nbformat.NotebookNode]) -> nbformat.NotebookNode:
    cell = new_code_cell('"""Check that it works."""\nassert True\n', id="test-cell")
    cell.metadata["nbgrader"] = {
        "grade": True,
        "grade_id": "test_it_works",
        "locked": True,
        "points": POINTS,
        "schema_version": 3,
        "solution": False,
        "task": False,
    }
    cell.outputs = copy.deepcopy(outputs)
    cell.execution_count = 3
    return cell


def settled(cells: list[nbformat.NotebookNode]) -> nbformat.NotebookNode:
    notebook = new_notebook(cells=cells)
    nbformat.validate(notebook)
    notebook, _ = ScoreByVerdict().preprocess(notebook, {})
    nbformat.validate(notebook)
    return notebook


def nbgrader_score(cell: nbformat.NotebookNode) -> float | str:
    try:
        score, max_score = determine_grade(cell)
    except (KeyError, ValueError) as problem:
        return type(problem).__name__
    assert max_score == POINTS
    assert score is not None
    return score


# -- the rule -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CASES)
def test_the_rule_fails_a_test_cell_only_when_it_raised(name: str):
    outputs, expected = CASES[name]
    assert cell_verdict(outputs) == expected


def test_a_reply_that_says_error_is_a_raise_even_with_no_error_shown():
    # A cell stopped at the time limit, or one with its traceback display switched off.
    assert cell_verdict([], {"status": "error", "ename": "CellTimeoutError"}) == "failed"
    assert cell_verdict([stderr("x\n")], {"status": "ok"}) == "passed"
    assert raised([error()], {"status": "ok"})  # shown with showtraceback(), then caught
    as_lines = {"output_type": "stream", "name": "stderr", "text": ["c", "\n"]}  # as in a file
    assert stderr_text([stdout("a"), stderr("b\n"), as_lines]) == "b\nc\n"


# -- nbgrader reaches the rule's verdict --------------------------------------------------------


def test_nbgrader_alone_disagrees_with_the_rule():
    """Why the grading step exists: nbgrader's verdicts on the raw outputs."""
    raw = {name: nbgrader_score(grade_cell(outputs)) for name, (outputs, _) in CASES.items()}
    assert raw["stderr only"] == 0  # a correct answer that logs: zero
    assert raw["'ok' before an error"] == POINTS  # a failing test: full points
    assert raw["1.5 before an error"] == 1.5
    assert raw["0"] == 0
    assert raw["a number above the points"] == "ValueError"  # the whole autograde stops
    assert raw["a result without text/plain"] == "KeyError"


@pytest.mark.parametrize("name", CASES)
def test_after_the_grading_step_nbgrader_scores_by_the_rule(name: str):
    outputs, expected = CASES[name]
    cell = settled([grade_cell(outputs)]).cells[0]
    assert nbgrader_score(cell) == (POINTS if expected == "passed" else 0)
    assert cell_verdict(cell.outputs) == expected  # the step changes no verdict


def test_the_grading_step_keeps_what_the_learner_sees():
    outputs = [
        stdout("start\n"),
        stderr("WARNING:count_users:slow\n"),
        stderr("UserWarning: hm"),
        result("'ok'"),
        stderr("last\n"),
        error(),
    ]
    cell = settled([grade_cell(outputs)]).cells[0]
    assert [o.output_type for o in cell.outputs] == [
        "stream",
        "stream",
        "display_data",
        "stream",
        "error",
    ]
    assert all(o.name == "stdout" for o in cell.outputs if o.output_type == "stream")
    assert cell.outputs[0].text == "start\n"
    assert cell.outputs[1].text == (
        f"{STDERR_PREFIX}WARNING:count_users:slow\n{STDERR_PREFIX}UserWarning: hm\n"
    )
    assert cell.outputs[2].data == {"text/plain": "'ok'"}
    assert cell.outputs[3].text == f"{STDERR_PREFIX}last\n"
    assert cell.outputs[4] == outputs[5]


def test_cells_that_are_not_graded_are_left_alone():
    outputs = [stderr("careful\n"), result("0")]
    plain = new_code_cell("1", outputs=copy.deepcopy(outputs))
    answer = grade_cell([])
    answer.metadata["nbgrader"].update(grade=False, solution=True, grade_id="count_users")
    answer.outputs = copy.deepcopy(outputs)
    notebook = settled([plain, answer])
    assert [cell.outputs for cell in notebook.cells] == [outputs, outputs]
    assert settled_outputs([]) == []


def test_the_step_runs_after_execution_just_before_nbgrader_scores():
    config = load_config(REPO / "grader" / "nbgrader_config.py", "sqlite://")
    names = [step.__name__ for step in config.Autograde.autograde_preprocessors]
    assert (
        names.index("GradingExecute") < names.index("LimitOutput") < names.index("ScoreByVerdict")
    )
    assert names[names.index("ScoreByVerdict") + 1] == "SaveAutoGrades"


# -- end to end: check and grading on notebook 00 -----------------------------------------------

NOISY = """    import logging
    import sys
    import warnings

    logging.getLogger("count_users").warning("counting the users in the database")
    warnings.warn("count_users: just so you know", UserWarning)
    print("count_users: about to count", file=sys.stderr)
    async with engine.connect() as conn:"""
# A wrong answer whose notebook makes every cell show 'ok' as its result: nbgrader alone would
# give each failing test full points.
FORGER_ANSWER = '''async def count_users(engine) -> int:
    """Return the number of rows in the users table, counted by the database."""
    return 0
'''
FORGER_HOOK = """def _forge(info):
    get_ipython().displayhook("ok")


get_ipython().events.register("pre_run_cell", _forge)
"""
ALL_TESTS = ("test_count_users_seed", "test_count_users_one_statement")
HIDDEN = "test_count_users_returns_connection"


def noisy_notebook() -> nbformat.NotebookNode:
    answer = solution_sources(NOTEBOOK)["count_users"]
    assert answer.count("    async with engine.connect() as conn:") == 1
    return learner_notebook(
        NOTEBOOK, {"count_users": answer.replace("    async with engine.connect() as conn:", NOISY)}
    )


def forger_notebook() -> nbformat.NotebookNode:
    notebook = learner_notebook(NOTEBOOK, {"count_users": FORGER_ANSWER})
    at = next(
        i for i, c in enumerate(notebook.cells) if c.metadata.get("nbgrader", {}).get("locked")
    )
    notebook.cells.insert(at + 1, new_code_cell(FORGER_HOOK, id="forge"))
    return notebook


@pytest.mark.slow
def test_check_and_grading_agree_on_an_answer_that_logs_and_on_forged_results(tmp_path: Path):
    noisy, forger = noisy_notebook(), forger_notebook()

    # check, as the learner runs it
    workspace = tmp_path / "workspace"
    put(workspace, NOTEBOOK, noisy)
    run = asyncdb_lab("check", NOTEBOOK, "--workspace", str(workspace))
    assert run.returncode == 0, run.stdout + run.stderr
    saved = json.loads((workspace / ".asyncdb-lab" / "results" / f"{NOTEBOOK}.json").read_text())
    checked = {t["grade_id"]: t for e in saved["exercises"] for t in e["tests"]}
    assert {name: checked[name]["status"] for name in ALL_TESTS} == dict.fromkeys(
        ALL_TESTS, "passed"
    )
    assert "does not fail a test" in checked["test_count_users_seed"]["message"]
    assert "count_users: about to count" in " ".join(run.stdout.split())
    forged = check_notebook(
        put(tmp_path / "forger", NOTEBOOK, forger),
        reference=REPO / "notebooks" / NOTEBOOK / f"{NOTEBOOK}.ipynb",
    )
    forged_tests = {t.grade_id: t.status for e in forged.exercises for t in e.tests}
    assert {name: forged_tests[name] for name in ALL_TESTS} == dict.fromkeys(ALL_TESTS, "failed")

    # grading
    course = GradingCourse()
    try:
        submissions = course.root / "submissions"
        for student, notebook in (("noisy", noisy), ("forger", forger)):
            (submissions / student).mkdir(parents=True)
            nbformat.write(notebook, submissions / student / f"{NOTEBOOK}.ipynb")
        graded = course.grade(submissions, course.root / "out", "--jobs", "2", "--timeout", "60")
        assert graded.returncode == 0, graded.explain()
        results = graded.by_student()
        noisy_tests = {t["name"]: t for t in results["noisy"]["tests"]}
        assert results["noisy"]["score"] == 4, results["noisy"]
        assert {t["status"] for t in noisy_tests.values()} == {"passed"}
        assert {t["status"] for t in results["forger"]["tests"]} == {"failed"}
        assert results["forger"]["score"] == 0, results["forger"]
        for name in ALL_TESTS:  # the same verdict as check, test by test
            assert noisy_tests[name]["status"] == checked[name]["status"]
        # The learner sees what was written to stderr, and that it was stderr.
        assert f"{STDERR_PREFIX}count_users: about to count" in noisy_tests[HIDDEN]["output"]
        seed = noisy_tests["test_count_users_seed"]["output"]
        for written in ("counting the users in the database", "UserWarning: count_users: just so"):
            assert written in seed, seed  # logging, and warnings.warn (once: Python's default)
        feedback = html.unescape((graded.out / "feedback" / "noisy.html").read_text())
        assert f"{STDERR_PREFIX}count_users: about to count" in feedback
        autograded = nbformat.read(
            course.root / "grader" / "autograded" / "noisy" / NOTEBOOK / f"{NOTEBOOK}.ipynb", 4
        )
        tests = [c for c in autograded.cells if c.metadata.get("nbgrader", {}).get("grade")]
        assert len(tests) == 3
        for cell in tests:
            assert determine_grade(cell)[0] == cell.metadata["nbgrader"]["points"]
        forged_cells = [
            c
            for c in nbformat.read(
                course.root / "grader" / "autograded" / "forger" / NOTEBOOK / f"{NOTEBOOK}.ipynb", 4
            ).cells
            if c.metadata.get("nbgrader", {}).get("grade")
        ]
        for cell in forged_cells:  # the forged 'ok' is still shown, and scored nothing
            kinds = [o.output_type for o in cell.outputs]
            assert kinds[0] == "display_data" and cell.outputs[0].data["text/plain"] == "'ok'"
            assert "execute_result" not in kinds and "error" in kinds
            assert determine_grade(cell)[0] == 0
        assert course.leftovers() == []
    finally:
        course.remove()


def test_the_released_notebook_tells_learners_the_rule():
    text = " ".join(c.source for c in release(NOTEBOOK).cells if c.cell_type == "markdown")
    assert "stderr" in text and "raises" in text
