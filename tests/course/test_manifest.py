"""data/course.yaml, the course manifest: it agrees with solutions/, and every mistake in it or in
data/hints.yaml is refused on one line naming the file, the notebook and the key."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from asyncdb_lab.course.manifest import (
    COURSE_FILE,
    ManifestError,
    course,
    write_generated_exercises,
    written_hints,
)
from asyncdb_lab.course.nbgrader_apps import assignments
from asyncdb_lab.settings import SOLUTIONS_DIR

GOOD = """\
00_start_here:
  title: "Start here"
  interview_topic: true
  exercises:
    count_users:
      - "async def count_users(engine) -> int"
12_interview_prep:
  title: "Interview prep"
  # Generated from data/questions.yaml by asyncdb_lab.interview.notebook.
  exercises:
    answer_one:
      - "answer_one: str"
"""


def test_the_manifest_lists_the_notebooks_of_solutions_in_course_order():
    manifest = course()
    assert list(manifest.names) == assignments()
    assert manifest.topics == manifest.names[:-1], "every notebook but 12 is an interview topic"


@pytest.mark.parametrize("name", course().names)
def test_each_notebook_opens_with_its_title(name: str):
    notebook = nbformat.read(SOLUTIONS_DIR / name / f"{name}.ipynb", as_version=4)
    opening = notebook.cells[0].source.splitlines()[0]
    assert opening == f"# **{name[:2]} · {course().notebook(name).title}**"


def test_the_manifest_documents_itself_at_the_top():
    header = COURSE_FILE.read_text().split("\n\n")[0]
    assert header.startswith("#") and "asyncdb_lab.course.manifest" in header
    assert "Format:" in COURSE_FILE.read_text()


def _manifest(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "course.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ("00_start_here: [\n", "is not valid YAML (line "),
        ("[]\n", "should map each notebook"),
        (GOOD.replace('  title: "Start here"\n', ""), "00_start_here: title: required"),
        (GOOD.replace("interview_topic: true", "interview_topic: yes please"), "interview_topic"),
        (
            GOOD.replace("  interview_topic", "  color: red\n  interview_topic"),
            "unknown key(s) color",
        ),
        (
            GOOD.replace('      - "async def count_users(engine) -> int"\n', ""),
            "count_users: should",
        ),
        (GOOD.replace("    count_users:", "    count users:"), "'count users' is not a grade id"),
        (GOOD.replace("00_start_here:", "start_here:"), "'start_here': a notebook is named"),
        (GOOD.replace("00_start_here:", "13_extra:"), "12_interview_prep: listed after 13_extra"),
        (GOOD.replace("answer_one:", "count_users:"), "already an exercise of 00_start_here"),
    ],
)
def test_a_broken_manifest_is_refused_on_one_line(tmp_path: Path, broken: str, message: str):
    with pytest.raises(ManifestError) as caught:
        course(_manifest(tmp_path, broken))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert "course.yaml" in str(caught.value)


def test_a_missing_manifest_says_where_it_looked(tmp_path: Path):
    with pytest.raises(ManifestError, match=r"No course manifest at .*nowhere\.yaml"):
        course(tmp_path / "nowhere.yaml")


@pytest.mark.parametrize(
    ("hints", "message"),
    [
        ("00_start_here:\n  test_count_users_seed: Look.\n  count_users: Start.\n", None),
        ("00_start_here:\n  no_such: x\n", "hints.yaml: 00_start_here: no_such: not a grade id"),
        ("00_start_here:\n  test_answer_one_key: x\n", "00_start_here: test_answer_one_key: not"),
        ("99_nowhere:\n  count_users: x\n", "hints.yaml: 99_nowhere: not a notebook of the course"),
        ("00_start_here:\n  count_users:\n", "00_start_here: count_users: the hint is empty"),
        ("00_start_here: [a]\n", "should map each notebook to its hints"),
    ],
)
def test_hints_are_checked_against_the_manifest(tmp_path: Path, hints: str, message: str | None):
    manifest = _manifest(tmp_path, GOOD)
    path = tmp_path / "hints.yaml"
    path.write_text(hints)
    if message is None:
        assert written_hints(path, manifest) == {
            "00_start_here": {"test_count_users_seed": "Look.", "count_users": "Start."}
        }
        return
    with pytest.raises(ManifestError) as caught:
        written_hints(path, manifest)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_solutions_folder_unlike_the_manifest_is_named_in_one_line(tmp_path: Path):
    manifest = course(_manifest(tmp_path, GOOD))
    manifest.check_assignments(["00_start_here", "12_interview_prep"], tmp_path)
    with pytest.raises(ManifestError) as caught:
        manifest.check_assignments(["00_start_here", "13_extra"], tmp_path)
    text = str(caught.value)
    assert "missing from" in text and "12_interview_prep" in text and "13_extra" in text
    assert "\n" not in text


def test_notebook_12s_exercises_are_written_after_the_mark_only(tmp_path: Path):
    path = _manifest(tmp_path, GOOD)
    assert write_generated_exercises({"answer_one": ("answer_one: str",)}, path) is False
    assert write_generated_exercises({"answer_two": ("answer_two: int",)}, path) is True
    assert path.read_text().startswith(GOOD.split("  exercises:\n    answer_one")[0])
    assert course(path).notebook("12_interview_prep").exercises == {
        "answer_two": ("answer_two: int",)
    }
    unmarked = tmp_path / "unmarked.yaml"
    unmarked.write_text(GOOD.replace("  # Generated", "  # Written"))
    with pytest.raises(ManifestError, match="is missing"):
        write_generated_exercises({}, unmarked)
