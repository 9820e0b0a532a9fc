"""The LMS round trip, for real: a Canvas download and a Moodle download of notebook 00 (a
re-upload, late work, a file that is no notebook, a learner who handed in nothing, a disguised copy
of another learner's answer), with the LMS's roster, graded by `asyncdb-lab grade`; a score
overridden through nbgrader's API, as formgrader does; then `asyncdb-lab export`, every row of the
file checked."""

from __future__ import annotations

import csv
import datetime
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from support.disguise import disguise
from support.grading_run import NOTEBOOK, SUBMISSIONS, GradingCourse, Run
from support.mutants import cases, learner_notebook

pytestmark = pytest.mark.slow

FULL = (SUBMISSIONS / "class" / "full" / f"{NOTEBOOK}.ipynb").read_bytes()  # 4 of 4 points
PARTIAL = (SUBMISSIONS / "class" / "partial" / NOTEBOOK / f"{NOTEBOOK}.ipynb").read_bytes()
# Jane's answer is one of the course's long correct alternatives; Mary hands in a disguised copy.
JANES_ANSWER = next(c for c in cases(NOTEBOOK) if c.kind == "alternative").sources
JANES = nbformat.writes(learner_notebook(NOTEBOOK, JANES_ANSWER)).encode()
MARYS_ANSWER = {
    name: disguise(source, keep=frozenset({name})) for name, source in JANES_ANSWER.items()
}
MARYS = nbformat.writes(learner_notebook(NOTEBOOK, MARYS_ANSWER)).encode()
DEADLINE = datetime.datetime(2026, 1, 10, 12, 0).astimezone()  # zip times are local times
BEFORE, AFTER = (2026, 1, 9, 9, 0, 0), (2026, 1, 11, 9, 0, 0)
TITLE = "Start here: how this course works (4711)"  # the assignment as Canvas knows it

CANVAS_ROSTER = f"""Student,ID,SIS User ID,SIS Login ID,Section,{TITLE}
    Points Possible,,,,,4.00
"Doe, Jane",1234,S1,jdoe@uni.edu,A,
"Roe, John",1235,S2,jroe@uni.edu,A,
"Poe, Edgar",1236,S3,epoe@uni.edu,B,
"White, Walt",1237,S4,wwhite@uni.edu,B,
"Moe, Mary",1238,S5,mmoe@uni.edu,B,
"""
MOODLE_ROSTER = """First name,Last name,ID number,Institution,Department,Email address
Jane,Doe,S1,,,jdoe@uni.edu
John,Roe,S2,,,jroe@uni.edu
Edgar,Poe,S3,,,epoe@uni.edu
Walt,White,S4,,,wwhite@uni.edu
Mary,Moe,S5,,,mmoe@uni.edu
"""


def canvas_download(folder: Path) -> Path:
    archive = folder / "canvas.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for name, when, data in [
            (f"doejane_1234_5001_{NOTEBOOK}.ipynb", BEFORE, PARTIAL),
            (f"doejane_1234_5002_{NOTEBOOK}-1.ipynb", BEFORE, JANES),  # the re-upload wins
            (f"roejohn_LATE_1235_5003_{NOTEBOOK}.ipynb", AFTER, FULL),
            (f"whitewalt_1237_5004_{NOTEBOOK}.ipynb", BEFORE, b"{not a notebook"),
            (f"moemary_1238_5005_{NOTEBOOK}.ipynb", BEFORE, MARYS),
        ]:
            zipped.writestr(zipfile.ZipInfo(name, when), data)
    return archive


def moodle_download(folder: Path) -> Path:
    archive = folder / "moodle.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for name, when, data in [
            (f"Jane Doe_801_assignsubmission_file_/{NOTEBOOK}.ipynb", BEFORE, JANES),
            (f"John Roe_802_assignsubmission_file_/{NOTEBOOK}.ipynb", AFTER, PARTIAL),
            (f"Walt White_804_assignsubmission_file_/{NOTEBOOK}.ipynb", BEFORE, b"[]"),
            (f"Mary Moe_805_assignsubmission_file_/{NOTEBOOK}.ipynb", BEFORE, MARYS),
        ]:
            zipped.writestr(zipfile.ZipInfo(name, when), data)
    return archive


@pytest.fixture(scope="module", params=["canvas", "moodle"])
def graded(request: pytest.FixtureRequest) -> Iterator[tuple[str, GradingCourse, Run]]:
    lms = request.param
    course = GradingCourse()
    try:
        (course.root / "roster.csv").write_text(CANVAS_ROSTER if lms == "canvas" else MOODLE_ROSTER)
        if lms == "canvas":
            canvas_download(course.root)  # canvas.zip, which grade_download grades
        else:
            moodle_download(course.root)
        run = grade_download(lms, course, course.root / "out")
        assert run.returncode == 0, run.explain()
        yield lms, course, run
        assert course.leftovers() == []
    finally:
        course.remove()


def grade_download(lms: str, course: GradingCourse, out: Path) -> Run:
    """`asyncdb-lab grade` on the course's download from `lms`, with its roster and DEADLINE."""
    pattern = [] if lms == "canvas" else ["--student-pattern", r"^(?P<student>[^_]+)_\d+_"]
    return course.grade(
        course.root / f"{lms}.zip",
        out,
        *["--timeout", "60", "--roster", str(course.root / "roster.csv")],
        *["--deadline", DEADLINE.isoformat(), *pattern],
    )


def statuses(run: Run) -> set[tuple[str, str, tuple[str, ...]]]:
    return {(s["student"], s["status"], tuple(s["flags"])) for s in run.summary["submissions"]}


def test_every_learner_of_the_roster_is_accounted_for(graded: tuple[str, GradingCourse, Run]):
    lms, _, run = graded
    if lms == "canvas":
        assert statuses(run) == {
            ("doejane", "graded", ()),
            ("doejane", "superseded", ()),
            ("roejohn", "graded", ("late",)),
            ("whitewalt", "rejected", ()),
            ("poeedgar", "missing", ()),
            ("moemary", "graded", ()),
        }
    else:
        assert statuses(run) == {
            ("janedoe", "graded", ()),
            ("johnroe", "graded", ("late",)),
            ("waltwhite", "rejected", ()),
            ("edgarpoe", "missing", ()),
            ("marymoe", "graded", ()),
        }


def test_the_planted_copy_is_the_one_pair_listed_as_alike(graded: tuple[str, GradingCourse, Run]):
    lms, _, run = graded
    pair = ["doejane", "moemary"] if lms == "canvas" else ["janedoe", "marymoe"]
    assert [(s["exercise"], s["students"]) for s in run.summary["similar"]] == [
        ("count_users", pair)
    ]
    report = (run.out / "report.html").read_text()
    assert "Unusually alike solutions" in report and pair[1] in report


def test_the_export_has_the_gradebooks_scores_with_a_manual_override(
    graded: tuple[str, GradingCourse, Run],
):
    lms, course, _ = graded
    late_student = "roejohn" if lms == "canvas" else "johnroe"
    overridden = override_one_test(course, late_student)  # as formgrader does: 4 → 4 - points
    out = course.root / f"grades-{lms}.csv"
    export = subprocess.run(
        [
            *[sys.executable, "-m", "asyncdb_lab.cli", "export", "--format", lms],
            *["--roster", str(course.root / "roster.csv"), "--out", str(out)],
            *["--gradebook", f"sqlite:///{course.gradebook}"],
        ],
        env=course.env(),
        capture_output=True,
        text=True,
    )
    assert export.returncode == 0, export.stderr
    rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    if lms == "canvas":
        assert rows == [
            ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", TITLE],
            ["    Points Possible", "", "", "", "", "4"],
            ["Doe, Jane", "1234", "S1", "jdoe@uni.edu", "A", "4"],
            ["Roe, John", "1235", "S2", "jroe@uni.edu", "A", f"{overridden:g}"],
            ["Poe, Edgar", "1236", "S3", "epoe@uni.edu", "B", ""],
            ["White, Walt", "1237", "S4", "wwhite@uni.edu", "B", ""],
            ["Moe, Mary", "1238", "S5", "mmoe@uni.edu", "B", "4"],
        ]
    else:
        header, *people = rows
        assert header[0] == "Email address" and len(header) == 2
        assert people == [
            ["jdoe@uni.edu", "4"],
            ["jroe@uni.edu", f"{overridden:g}"],
            ["epoe@uni.edu", ""],
            ["wwhite@uni.edu", ""],
            ["mmoe@uni.edu", "4"],
        ]


def test_grading_again_after_the_review_brings_every_report_up_to_date(
    graded: tuple[str, GradingCourse, Run],
):
    """After the override (the test before), `grade` again: nothing is regraded, and grades.csv
    and the learner's feedback page carry the instructor's score."""
    lms, course, first = graded
    late_student = "roejohn" if lms == "canvas" else "johnroe"
    again = grade_download(lms, course, first.out)
    assert again.returncode == 0, again.explain()
    assert "(0 now, 3 kept from earlier runs)" in again.stdout
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course.gradebook}") as gradebook:
        expected = float(gradebook.find_submission(NOTEBOOK, late_student).score)
    row = next(
        r for r in again.grades_csv() if r["student"] == late_student and r["status"] == "graded"
    )
    assert float(row["score"]) == expected
    page = (first.out / "feedback" / f"{late_student}.html").read_text()
    assert "set by your instructor" in page


def override_one_test(course: GradingCourse, student: str) -> float:
    """Set the manual score of the student's first test cell to 0 through nbgrader's API; the
    notebook's score afterwards."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course.gradebook}") as gradebook:
        notebook = gradebook.find_submission_notebook(NOTEBOOK, NOTEBOOK, student)
        grade = next(g for g in notebook.grades if g.auto_score)
        grade.manual_score = 0.0
        gradebook.db.commit()
        return float(gradebook.find_submission(NOTEBOOK, student).score)
