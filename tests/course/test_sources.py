"""Notebook sources (sources/<topic>.py): the text round trip is exact, and every cell keeps an
id of its own, whatever is added before it.

That solutions/ is exactly what the sources build is checked in test_notebooks.py, beside the
check that notebooks/ is exactly what nbgrader releases from solutions/.
"""

from __future__ import annotations

import re

import nbformat
import pytest

from asyncdb_lab.course.authoring import (
    READONLY_PREFIX,
    SLUG,
    DraftError,
    build,
    export,
    render,
    solution_path,
    source_path,
    source_topics,
    write,
)
from asyncdb_lab.interview.bank import load_bank
from asyncdb_lab.interview.notebook import ASSIGNMENT as INTERVIEW
from asyncdb_lab.interview.notebook import notebook as interview_notebook
from asyncdb_lab.settings import REPO

SOURCES = source_topics()
ASSIGNMENTS = sorted(
    p.name for p in (REPO / "solutions").iterdir() if (p / f"{p.name}.ipynb").is_file()
)
POSITIONAL = re.compile(r"c\d{2}-[0-9a-f]{8}")  # the ids cells had before: their index, a hash


def read(path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def nbgrader_meta(cell: nbformat.NotebookNode) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def ids(notebook: nbformat.NotebookNode) -> list[tuple[str, str | None]]:
    return [(cell.id, nbgrader_meta(cell).get("grade_id")) for cell in notebook.cells]


def test_every_notebook_has_one_source():
    assert set(SOURCES) | {INTERVIEW} == set(ASSIGNMENTS), (
        "every notebook in solutions/ but 12 needs sources/<topic>.py, and every source a notebook"
    )
    assert INTERVIEW not in SOURCES, "notebook 12's source is data/questions.yaml"


@pytest.mark.parametrize("topic", SOURCES)
def test_a_source_survives_the_round_trip_exactly(topic: str):
    text = source_path(topic).read_text()
    assert export(build(text)) == text, (
        f"sources/{topic}.py is not in canonical form: "
        f"python -m asyncdb_lab.course.authoring format sources/{topic}.py"
    )


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_a_committed_notebook_survives_the_round_trip_exactly(assignment: str):
    committed = solution_path(assignment).read_text()
    assert render(build(export(nbformat.reads(committed, as_version=4)))) == committed


@pytest.mark.parametrize("folder", ["solutions", "notebooks"])
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_cell_id_is_stable_and_readable(assignment: str, folder: str):
    notebook = read(REPO / folder / assignment / f"{assignment}.ipynb")
    for cell in notebook.cells:
        meta = nbgrader_meta(cell)
        assert not POSITIONAL.fullmatch(cell.id), f"{cell.id}: an id that depends on a position"
        if meta.get("solution") or meta.get("grade"):
            assert cell.id == meta["grade_id"], f"{cell.id}: a graded cell's id is its grade id"
        else:
            assert SLUG.fullmatch(cell.id), f"{cell.id}: not a slug"
            if meta:
                assert meta["grade_id"] == READONLY_PREFIX + cell.id
    assert ids(notebook) == ids(read(solution_path(assignment))), "nbgrader kept every id"


def _insert_before_first(text: str, marker: str, cell: str) -> str:
    at = text.index(f"\n{marker}") + 1
    return text[:at] + cell + "\n" + text[at:]


def test_adding_a_cell_changes_no_other_cell():
    text = source_path("00_start_here").read_text()
    before = build(text)
    added = "# %% [markdown] id=a-new-note\n# A new paragraph, before the setup.\n"
    after = build(_insert_before_first(text, "# %% readonly", added))
    kept = [cell for cell in after.cells if cell.id != "a-new-note"]
    assert len(kept) == len(before.cells)
    assert render(nbformat.v4.new_notebook(cells=kept)) == render(
        nbformat.v4.new_notebook(cells=before.cells)
    ), "every other cell, with its id and grade id, is unchanged"


def test_notebook_12_ids_come_from_question_ids():
    questions = load_bank()
    full = interview_notebook(questions)
    graded = [q for q in questions if q.graded]
    gone = next(q for q in graded if sum(p.topic == q.topic for p in graded) > 1)
    fewer = interview_notebook([q for q in questions if q is not gone])
    slug = gone.id.replace("_", "-")
    own = {f"question-{slug}", f"answer_{gone.id}", f"test_answer_{gone.id}_key", f"reveal-{slug}"}
    assert own <= {cell.id for cell in full.cells}
    assert [i for i in ids(full) if i[0] not in own] == ids(fewer)


# -- the source format ----------------------------------------------------------------------

GOOD = """\
# %% [markdown] id=intro
# # Title
#
# Text.

# %% readonly id=setup-database
db = await disposable_database()

# %% id=demo
print(db)

# %% solution id=count_users
def count_users():
    return 1

# %% tests id=test_count_users_one points=2
assert count_users() == 1
"""


def test_the_format_names_kind_id_and_points():
    notebook = build(GOOD)
    assert [(c.cell_type, c.id) for c in notebook.cells] == [
        ("markdown", "intro"),
        ("code", "setup-database"),
        ("code", "demo"),
        ("code", "count_users"),
        ("code", "test_count_users_one"),
    ]
    assert notebook.cells[0].source == "# Title\n\nText."
    metas = [nbgrader_meta(c) for c in notebook.cells]
    assert metas[1] == {
        "grade": False,
        "grade_id": "readonly-setup-database",
        "locked": True,
        "schema_version": 3,
        "solution": False,
        "task": False,
    }
    assert metas[2] == {}
    assert (metas[3]["grade_id"], metas[3]["solution"], metas[3]["locked"]) == (
        "count_users",
        True,
        False,
    )
    assert (metas[4]["grade_id"], metas[4]["grade"], metas[4]["points"]) == (
        "test_count_users_one",
        True,
        2,
    )
    assert export(notebook) == GOOD


@pytest.mark.parametrize(
    ("replace", "by", "message"),
    [
        ("# %% id=demo", "# %%", "line 9: every cell needs id="),
        ("# %% id=demo", "# %% id=intro", "line 9: id intro is already the id of line 1"),
        ("# %% id=demo", "# %% id=Demo_Cell", "line 9: the id 'Demo_Cell' must be a slug"),
        ("# %% id=demo", "# %% id=demo points=2", "line 9: unexpected 'points=2'"),
        ("# %% id=demo", "# %% raedonly id=demo", "line 9: unknown cell kind 'raedonly'"),
        ("# %% id=demo", "# %%id=demo", "line 9: a marker is '# %%', a space"),
        (" points=2", "", "line 16: a tests cell needs points=N"),
        ("solution id=count_users", "solution id=count-users", "must be a Python name"),
        ("# Text.", "Text.", "Markdown near line 1 must start each line with '# '"),
        ("# %% [markdown] id=intro", "intro\n# %% [markdown] id=intro", "line 1: text before"),
    ],
)
def test_a_mistake_in_a_source_names_its_line(replace: str, by: str, message: str):
    with pytest.raises(DraftError, match=re.escape(message)):
        build(GOOD.replace(replace, by, 1))


def test_export_suggests_readable_ids_for_cells_without_one():
    notebook = build(GOOD)
    for index, cell in enumerate(notebook.cells):  # ids as Jupyter or the old builder gave them
        cell.id = f"c{index:02d}-0123abcd" if index % 2 else "8c1f0a2e"
    notebook.cells[3].metadata["nbgrader"]["grade_id"] = "count_users"
    text = export(notebook)
    markers = [line for line in text.splitlines() if line.startswith("# %%")]
    assert markers == [
        "# %% [markdown] id=intro",
        "# %% readonly id=setup-database",
        "# %% id=intro-code",
        "# %% solution id=count_users",
        "# %% tests id=test_count_users_one points=2",
    ]
    assert export(build(text)) == text


def test_write_leaves_a_current_file_alone(tmp_path):
    path = tmp_path / "x" / "x.ipynb"
    notebook = build(GOOD)
    assert write(notebook, path) is True
    assert path.read_text() == render(notebook) == nbformat.writes(notebook) + "\n"
    assert write(notebook, path) is False
