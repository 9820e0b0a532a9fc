"""Feedback inside the notebook: a success line at the end of every test cell, failures of the
course's checks without the library's frames, Run All tags, and the last cell's in-Lab check."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from asyncdb_lab.checks import expect
from asyncdb_lab.course.authoring import RUN_ALL_TAG, build, export, success_line
from asyncdb_lab.course.notebook import has_test_code
from asyncdb_lab.learner import in_lab
from asyncdb_lab.learner.execute import run_notebook
from asyncdb_lab.learner.in_lab import check_this_notebook, save_reminder, this_notebook
from asyncdb_lab.settings import RUN_BY_ENV

ANSI = re.compile(r"\x1b\[[0-9;]*m")
SOURCE = '''\
# %% [markdown] id=intro
# # A notebook

# %% readonly id=setup-database
value = 41

# %% id=demo
print(value)

# %% solution id=answer
def answer() -> int:
    ### BEGIN SOLUTION
    return 42
    ### END SOLUTION

# %% tests id=test_answer_plain points=2
"""Check the answer."""
from asyncdb_lab.checks import expect

expect(answer(), 42, "answer()", "Return 42.")

# %% tests id=test_answer_both points=1
"""Check the answer twice."""
assert answer() == 42
### BEGIN HIDDEN TESTS
assert answer() + 0 == 42
### END HIDDEN TESTS

# %% tests id=test_answer_hidden points=3
"""Check the answer in secret."""
### BEGIN HIDDEN TESTS
assert answer() * 1 == 42
### END HIDDEN TESTS
'''


def _cells(notebook: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    return {cell["id"]: cell for cell in notebook.cells}


def test_every_test_cell_ends_with_its_success_line():
    cells = _cells(build(SOURCE))

    last_lines = {
        cell_id: cells[cell_id].source.splitlines()[-1]
        for cell_id in ("test_answer_plain", "test_answer_both", "test_answer_hidden")
    }
    assert last_lines == {
        "test_answer_plain": "print('✔ test_answer_plain passed: 2 points')",
        "test_answer_both": "print('✔ test_answer_both: visible tests passed (1 point once the "
        "hidden tests pass too, when graded)')",
        "test_answer_hidden": "print('◌ test_answer_hidden: hidden tests only, run when graded "
        "(3 points)')",
    }
    assert not any("✔" in cells[i].source for i in ("demo", "answer", "setup-database"))


def test_the_success_line_is_not_in_the_source_and_round_trips():
    notebook = build(SOURCE)

    assert export(notebook) == SOURCE
    assert "✔" not in export(notebook)


def test_every_code_cell_but_the_setup_cell_lets_run_all_go_on():
    cells = _cells(build(SOURCE))

    tagged = {cell_id for cell_id, cell in cells.items() if cell.metadata.get("tags")}
    assert tagged == {
        "demo",
        "answer",
        "test_answer_plain",
        "test_answer_both",
        "test_answer_hidden",
    }
    assert all(cells[cell_id].metadata["tags"] == [RUN_ALL_TAG] for cell_id in tagged)


def test_a_cell_with_only_hidden_tests_stays_hidden_with_its_success_line():
    line = success_line("test_x", 1, '"""Check x."""\n### BEGIN HIDDEN TESTS\nassert f()\n')
    released = f'"""Check x."""\nprint({line!r})'

    assert not has_test_code(released)
    assert has_test_code(f'"""Check x."""\nassert f()\nprint({line!r})')
    assert has_test_code('"""Check x."""\nprint("something else")')


def test_a_failing_check_shows_the_cells_frames_and_not_the_librarys():
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(source)
            for source in (
                "from asyncdb_lab.checks import expect, expect_type\n"
                "def learners_function(x):\n    expect(x, 1, 'x', 'Give one.')\n",
                "learners_function(2)",
                "expect_type('1', int, 'the count', 'An int.')",
                "def answer():\n    return 42",
                _cells(build(SOURCE))["test_answer_plain"].source,
            )
        ]
    )
    NotebookClient(notebook, allow_errors=True, kernel_name="python3", timeout=60).execute()
    learner_frame, type_failure = notebook.cells[1].outputs, notebook.cells[2].outputs

    try:
        expect(2, 1, "x", "Give one.")
    except AssertionError as error:
        expected_message = str(error)
    assert [(o.output_type, o.ename, o.evalue) for o in learner_frame] == [
        ("error", "AssertionError", expected_message)
    ]
    traceback = ANSI.sub("", "\n".join(learner_frame[0].traceback))
    assert "learners_function" in traceback and "Cell In[2]" in traceback
    assert "checks.py" not in traceback and "in expect" not in traceback
    assert type_failure[0].ename == "AssertionError"
    assert "checks.py" not in "\n".join(type_failure[0].traceback)
    # A passing test cell prints its line: a stdout stream, never an execute_result (a score).
    assert [(o.output_type, o.get("name"), o.get("text")) for o in notebook.cells[4].outputs] == [
        ("stream", "stdout", "✔ test_answer_plain passed: 2 points\n")
    ]


def test_the_failure_keeps_its_plain_type_and_traceback_outside_a_kernel():
    with pytest.raises(AssertionError) as caught:
        expect(2, 1, "x")

    assert type(caught.value) is AssertionError
    rendered = "".join(caught.value._render_traceback_())  # type: ignore[attr-defined]
    assert "checks.py" not in rendered and "test_notebook_feedback.py" in rendered


def test_the_in_lab_check_skips_itself_where_check_and_grading_run_it(tmp_path: Path):
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                f"import os\nassert os.environ[{RUN_BY_ENV!r}] == 'check', os.environ.get("
                f"{RUN_BY_ENV!r})"
            )
        ]
    )

    run = run_notebook(notebook, tmp_path)

    assert run.cells[0].outcome == "ok", run.cells[0]


def test_the_in_lab_check_says_it_is_skipped(monkeypatch, capsys, tmp_path: Path):
    monkeypatch.setenv(RUN_BY_ENV, "grade")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(in_lab, "_run_check", lambda path: pytest.fail("it ran a check"))

    check_this_notebook()

    assert capsys.readouterr().out == (
        "Skipped: `asyncdb-lab grade` is running this notebook, so it does not check itself.\n"
    )


def test_the_in_lab_check_runs_check_on_the_notebook_of_its_folder(monkeypatch, tmp_path: Path):
    folder = tmp_path / "00_start_here"
    folder.mkdir()
    (folder / "00_start_here.ipynb").write_text("{}")
    monkeypatch.delenv(RUN_BY_ENV, raising=False)
    monkeypatch.delenv(in_lab.JUPYTER_SESSION_ENV, raising=False)
    monkeypatch.chdir(folder)
    checked: list[Path] = []
    monkeypatch.setattr(in_lab, "_run_check", checked.append)

    check_this_notebook()

    assert checked == [(folder / "00_start_here.ipynb").resolve()]
    assert in_lab.check_command(checked[0])[1:] == [
        "-m", "asyncdb_lab.cli", "check", str(checked[0])
    ]  # fmt: skip


def test_which_notebook_the_kernel_runs_for(tmp_path: Path):
    (tmp_path / "topic").mkdir()
    own = tmp_path / "topic" / "topic.ipynb"
    copy = tmp_path / "topic" / "topic-Copy1.ipynb"
    own.write_text("{}")
    copy.write_text("{}")
    cwd = tmp_path / "topic"

    assert this_notebook(cwd, {"JPY_SESSION_NAME": "topic/topic-Copy1.ipynb"}) == copy
    assert this_notebook(cwd, {"JPY_SESSION_NAME": str(copy)}) == copy
    assert this_notebook(cwd, {}) == own
    own.unlink()
    assert this_notebook(cwd, {}) == copy  # the folder's only notebook
    copy.unlink()
    assert this_notebook(cwd, {}) is None


def test_a_save_long_ago_gets_a_reminder(tmp_path: Path):
    path = tmp_path / "topic.ipynb"
    path.write_text("{}")
    now = time.time()
    os.utime(path, (now - 600, now - 600))

    assert save_reminder(path, now - 590) == ""
    assert save_reminder(path, now).startswith("topic.ipynb was last saved 10 min ago: if you")
