"""data/hints.yaml: a hint for every exercise and test cell of every notebook, and no stray ones."""

from __future__ import annotations

import nbformat
from support.learner import ASSIGNMENTS, REPO, asyncdb_lab

from asyncdb_lab.course.hints import HINTS_FILE, hint_for, hints_matching, load_hints
from asyncdb_lab.course.notebook import nbgrader_meta


def grade_ids(assignment: str) -> list[str]:
    """Exercise (solution cell) and test cell grade ids of a notebook in solutions/."""
    notebook = nbformat.read(REPO / "solutions" / assignment / f"{assignment}.ipynb", 4)
    return [
        nbgrader_meta(c)["grade_id"]
        for c in notebook.cells
        if nbgrader_meta(c).get("solution") or nbgrader_meta(c).get("grade")
    ]


def test_every_exercise_and_test_cell_has_a_hint():
    hints = load_hints()
    missing = {
        assignment: [gid for gid in grade_ids(assignment) if not hints.get(assignment, {}).get(gid)]
        for assignment in ASSIGNMENTS
    }
    missing = {assignment: ids for assignment, ids in missing.items() if ids}
    skeleton = "\n".join(
        f"{assignment}:\n" + "".join(f"  {gid}: >-\n    …\n" for gid in ids)
        for assignment, ids in missing.items()
    )
    assert not missing, (
        f"These grade ids have no hint in data/hints.yaml (its header says what a good hint "
        f"says). Add:\n{skeleton}"
    )


def test_every_hint_belongs_to_an_existing_grade_id():
    stray = {
        notebook: sorted(set(entries) - set(grade_ids(notebook) if notebook in ASSIGNMENTS else []))
        for notebook, entries in load_hints().items()
    }
    stray = {notebook: ids for notebook, ids in stray.items() if ids}
    assert not stray, f"data/hints.yaml has hints for grade ids no notebook has: {stray}"


def test_the_hints_file_documents_its_format_at_the_top():
    header = HINTS_FILE.read_text().split("\n\n")[0]
    assert header.startswith("#")
    assert "rustlings" in header
    text = HINTS_FILE.read_text()
    assert "Format:" in text and "<grade id>" in text


def test_hints_are_looked_up_by_notebook_and_grade_id():
    assert "scalar_one()" in hint_for("00_start_here", "count_users")
    assert hint_for("00_start_here", "no_such_id") == ""
    # A renamed notebook still finds its hints by grade id.
    assert hint_for("my_copy", "count_users") == hint_for("00_start_here", "count_users")
    found = [gid for _, gid, _ in hints_matching("count_users")]
    assert found[0] == "count_users" and "test_count_users_seed" in found


def test_the_hint_command_prints_an_exercises_hints_or_lists_what_exists():
    run = asyncdb_lab("hint", "count_users", "--all", timeout=60)
    assert run.returncode == 0, run.stderr
    assert "count_users (00_start_here):" in run.stdout
    assert "test_count_users_one_statement (00_start_here):" in run.stdout
    unknown = asyncdb_lab("hint", "no_such_exercise", timeout=60)
    assert unknown.returncode == 2
    assert "No hint for 'no_such_exercise'." in unknown.stderr
    near = asyncdb_lab("hint", "count_user", timeout=60)
    assert near.returncode == 2
    assert "Did you mean count_users" in near.stderr
