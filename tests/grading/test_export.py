"""`asyncdb-lab export`: an SQLite gradebook built with nbgrader's own API, read back as the canvas,
moodle and wide files, every row and column checked. Fast: no server, no kernel, no grading."""

from __future__ import annotations

import csv
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.exc import SAWarning

from asyncdb_lab.cli import main
from asyncdb_lab.course.manifest import Course, Notebook
from asyncdb_lab.grading.export import ExportError, ExportRequest, export_grades
from asyncdb_lab.grading.export.matching import download_name, match_students
from asyncdb_lab.grading.export.roster import read_roster

START, ENGINES = "00_start_here", "01_engines_and_sessions"
COURSE = Course(
    Path("course.yaml"),
    (
        Notebook(START, "Start here", False, {}),
        Notebook(ENGINES, "Engines and sessions", False, {}),
    ),
)

# The gradebook. Test cells and points: 00 is 2 + 1 = 3 points, 01 is 3 + 1 = 4.
CELLS = {START: {"test_a": 2.0, "test_b": 1.0}, ENGINES: {"test_c": 3.0, "test_d": 1.0}}
# Auto scores per (student, notebook); a notebook missing here was not handed in.
AUTO = {
    # Canvas's default download name ("Doe, Jane" → doejane_1234_5678_00_start_here.ipynb).
    ("doejane", START): {"test_a": 2.0, "test_b": 1.0},
    ("doejane", ENGINES): {"test_c": 1.0, "test_d": 0.0},  # test_d overridden by hand: 1
    # Graded under a --student-pattern that captured the Canvas user id.
    ("2002", START): {"test_a": 1.0, "test_b": 0.0},
    # Graded, and in no roster; flagged for review (as a tampered notebook is).
    ("zed", START): {"test_a": 0.0, "test_b": 0.0},
}
OVERRIDE = ("doejane", ENGINES, "test_d", 1.0)
REVIEW = ("zed", START)
GHOST = "ghost"  # in the gradebook (its files were rejected), with no submission

CANVAS_ROSTER = """\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,Start here (501),Notes,\
Current Score
    Points Possible,,,,,3.00,,(read only)
"Doe, Jane",2001,S1,jdoe@uni.edu,A,,likes SQL,100
"Roe, Richard",2002,S2,rroe@uni.edu,A,1.50,,50
"Poe, Ann",2003,S3,apoe@uni.edu,B,EX,,
"""
MOODLE_ROSTER = """First name,Last name,ID number,Institution,Department,Email address,\
Assignment: Start here (Real),Last downloaded from this course
Jane,Doe,S1,,,jdoe@uni.edu,-,1700000000
Richard,Roe,S2,,,rroe@uni.edu,1.50,1700000000
Ann,Poe,S3,,,apoe@uni.edu,2.00,1700000000
Nobody,Noemail,,,,,,1700000000
"""


@pytest.fixture(scope="module")
def gradebook(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('export') / 'gradebook.db'}"
    with warnings.catch_warnings():
        # nbgrader's add_submission trips an SQLAlchemy 2 warning about its own session use.
        warnings.simplefilter("ignore", SAWarning)
        build_gradebook(url)
    return url


def build_gradebook(url: str) -> None:
    from nbgrader.api import Base, Gradebook
    from sqlalchemy import create_engine

    # Tables first: a new gradebook would run the `alembic` program (seconds) to stamp them.
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    with Gradebook(url) as gb:
        for notebook, cells in {**CELLS, "99_retired": {"test_z": 5.0}}.items():
            gb.add_assignment(notebook)
            gb.add_notebook(notebook, notebook)
            for name, points in cells.items():
                gb.add_grade_cell(name, notebook, notebook, max_score=points, cell_type="code")
        for student in sorted({student for student, _ in AUTO} | {GHOST}):
            gb.add_student(student)
        for student, notebook in AUTO:
            gb.add_submission(notebook, student)
            for name, score in AUTO[(student, notebook)].items():
                grade = gb.find_grade(name, notebook, notebook, student)
                grade.auto_score = score
                grade.needs_manual_grade = (student, notebook) == REVIEW
        student, notebook, name, score = OVERRIDE
        gb.find_grade(name, notebook, notebook, student).manual_score = score
        gb.db.commit()


def export(tmp_path: Path, gradebook: str, layout: str, roster: str | None = None):
    roster_path = None
    if roster is not None:
        roster_path = tmp_path / "roster.csv"
        roster_path.write_text(roster, encoding="utf-8")
    out = tmp_path / f"{layout}.csv"
    outcome = export_grades(ExportRequest(layout, gradebook, out, roster=roster_path), COURSE)
    with out.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle)), outcome


def test_canvas_file_is_canvas_import_layout_with_overrides_blanks_and_roster_grades(
    tmp_path: Path, gradebook: str
):
    rows, outcome = export(tmp_path, gradebook, "canvas", CANVAS_ROSTER)
    assert rows == [
        # The roster's own column for 00 (its Canvas id kept), the notebook's title for 01.
        [
            "Student",
            "ID",
            "SIS User ID",
            "SIS Login ID",
            "Section",
            "Start here (501)",
            "Engines and sessions",
        ],
        ["    Points Possible", "", "", "", "", "3", "4"],
        # doejane: 00 in full, 01 = 1 auto + 1 by hand (formgrader), not the 1 autograde gave.
        ["Doe, Jane", "2001", "S1", "jdoe@uni.edu", "A", "3", "2"],
        # 2002: the gradebook's 1 replaces Canvas's 1.50; 01 not handed in: blank, not 0.
        ["Roe, Richard", "2002", "S2", "rroe@uni.edu", "A", "1", ""],
        # No work at all: still a row; Canvas's "EX" (excused) is written back, not erased.
        ["Poe, Ann", "2003", "S3", "apoe@uni.edu", "B", "EX", ""],
    ]
    assert (outcome.students, outcome.notebooks) == (3, 2)
    assert outcome.notes == (
        "1 graded students are not in the roster roster.csv (not in this file): zed; a student "
        "id must be the roster's user id, login, e-mail or SIS id, or the name as the LMS's "
        "download writes it (doejane)",
        "1 submissions still need grading by hand in formgrader and are exported with the score "
        "they have now: zed/00_start_here",
        "the gradebook also holds 99_retired, not notebooks of data/course.yaml: not exported",
    )


def test_moodle_file_identifies_users_by_email_and_leaves_out_who_it_cannot(
    tmp_path: Path, gradebook: str
):
    rows, outcome = export(tmp_path, gradebook, "moodle", MOODLE_ROSTER)
    assert rows == [
        ["Email address", "Assignment: Start here (Real)", "Engines and sessions"],
        ["jdoe@uni.edu", "3", "2"],  # doejane: "Doe, Jane" the way Canvas names downloads
        ["rroe@uni.edu", "1.50", ""],  # 2002 is no Moodle id: Moodle's own grade is kept
        ["apoe@uni.edu", "2.00", ""],
    ]
    assert outcome.students == 3
    assert outcome.notes[:2] == (
        "2 graded students are not in the roster roster.csv (not in this file): 2002, zed; a "
        "student id must be the roster's user id, login, e-mail or SIS id, or the name as the "
        "LMS's download writes it (doejane)",
        "1 roster rows have no Email address and are left out, as Moodle stops the whole import "
        "at a user it cannot find: Nobody Noemail",
    )


def test_wide_file_with_a_roster_puts_its_people_first_and_keeps_everyone(
    tmp_path: Path, gradebook: str
):
    rows, outcome = export(tmp_path, gradebook, "wide", CANVAS_ROSTER)
    assert rows == [
        ["student", START, ENGINES, "total"],
        ["doejane", "3", "2", "5"],
        ["2002", "1", "", "1"],
        ["Poe, Ann", "", "", ""],  # the roster's, no gradebook id: named as the roster names her
        [GHOST, "", "", ""],
        ["zed", "0", "", "0"],  # handed in and scored 0: a 0, unlike a blank
    ]
    assert outcome.notes[0].startswith(
        "1 graded students are not in the roster roster.csv (still exported): zed;"
    )


def test_wide_file_without_a_roster_is_the_gradebook_sorted(tmp_path: Path, gradebook: str):
    rows, outcome = export(tmp_path, gradebook, "wide")
    assert rows == [
        ["student", START, ENGINES, "total"],
        ["2002", "1", "", "1"],
        ["doejane", "3", "2", "5"],
        [GHOST, "", "", ""],
        ["zed", "0", "", "0"],
    ]
    assert outcome.students == 4


def test_matching_keys_strongest_first_and_ambiguous_names_match_nobody(tmp_path: Path):
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "Student,ID,SIS User ID,SIS Login ID,Section\n"
        '"Doe, Jane",11,,jane@uni.edu,A\n'
        '"Doe, Jane",12,,jane.doe@uni.edu,A\n'
        '"Lee, Kim",13,K-13,klee,B\n'
    )
    people = read_roster(roster)
    matching = match_students(["doejane", "11", "jane", "JANE.DOE", "k-13", "leekim"], people, {})
    # "11" (Canvas id) beats "jane" (login's local part) for row 0; "JANE.DOE" is row 1's login
    # part; "k-13" is row 2's SIS id, so "leekim" (its download name) comes second.
    assert matching.row_of == {"11": 0, "JANE.DOE": 1, "k-13": 2}
    assert matching.row_taken == {"jane": "11", "leekim": "k-13"}
    assert matching.ambiguous == {"doejane": (0, 1)}
    assert download_name("O'Brien_1_, Seán") == "obrien1seán"


def test_export_refuses_to_overwrite_without_force(tmp_path: Path, gradebook: str):
    out = tmp_path / "wide.csv"
    out.write_text("kept\n")
    with pytest.raises(ExportError, match=r"already exists: pass --force") as refused:
        export_grades(ExportRequest("wide", gradebook, out), COURSE)
    assert refused.value.exit_code == 2
    assert out.read_text() == "kept\n"
    export_grades(ExportRequest("wide", gradebook, out, force=True), COURSE)
    assert out.read_text().startswith("student,00_start_here,01_engines_and_sessions,total")


def test_a_roster_of_the_other_lms_is_refused(tmp_path: Path, gradebook: str):
    with pytest.raises(ExportError, match=r"is a Moodle export, and --format canvas needs"):
        export(tmp_path, gradebook, "canvas", MOODLE_ROSTER)


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Iterator:
    def run(*args: str) -> tuple[int, list[str], list[str]]:
        code = main(["export", *args])
        out, err = capsys.readouterr()
        return code, out.splitlines(), err.splitlines()

    yield run


def test_cli_writes_the_file_and_says_where_and_what_is_missing(
    tmp_path: Path, gradebook: str, run
):
    out = tmp_path / "reports" / "wide.csv"
    code, stdout, stderr = run("--format", "wide", "--gradebook", gradebook, "--out", str(out))
    assert code == 0
    assert stdout == [f"{out}: 4 students × 2 notebooks (wide)."]
    assert stderr == [
        "asyncdb-lab export: 1 submissions still need grading by hand in formgrader and are "
        "exported with the score they have now: zed/00_start_here",
        "asyncdb-lab export: the gradebook also holds 99_retired, not notebooks of "
        "data/course.yaml: not exported",
    ]
    assert out.read_text().splitlines()[0] == "student,00_start_here,01_engines_and_sessions,total"
    code, _, stderr = run("--format", "wide", "--gradebook", gradebook, "--out", str(out))
    assert (code, stderr) == (
        2,
        [
            f"asyncdb-lab export: {out} already exists: pass --force to replace it, or --out "
            "another file"
        ],
    )


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["--format", "blackboard"],
            2,
            "no format 'blackboard': use --format canvas, moodle or wide",
        ),
        ([], 2, "choose a format: --format canvas, moodle, wide"),
        (
            ["--format", "canvas"],
            2,
            "--format canvas needs --roster: give Canvas's gradebook export (Grades → Export → "
            "Export Entire Gradebook), whose ids the LMS matches rows by (or use --format wide)",
        ),
    ],
)
def test_cli_usage_mistakes_are_one_line(tmp_path: Path, run, args, code, message):
    out = tmp_path / "x.csv"
    assert run(*args, "--gradebook", "sqlite:///nowhere.db", "--out", str(out)) == (
        code,
        [],
        [f"asyncdb-lab export: {message}"],
    )
    assert not out.exists()


def test_cli_missing_gradebook_is_one_line_and_creates_nothing(tmp_path: Path, run):
    missing = tmp_path / "gradebook.db"
    code, _, stderr = run(
        "--format", "wide", "--gradebook", f"sqlite:///{missing}", "--out", str(tmp_path / "x.csv")
    )
    assert (code, stderr) == (
        1,
        [
            f"asyncdb-lab export: no gradebook at {missing}: grade first (asyncdb-lab grade), or "
            "give the gradebook's URL with --gradebook"
        ],
    )
    assert not missing.exists()


def test_cli_unreadable_roster_is_one_line(tmp_path: Path, gradebook: str, run):
    roster = tmp_path / "roster.xlsx"
    roster.write_bytes(b"PK\x03\x04\xff\xfe binary spreadsheet")
    code, _, stderr = run(
        "--format",
        "canvas",
        "--roster",
        str(roster),
        "--gradebook",
        gradebook,
        "--out",
        str(tmp_path / "x.csv"),
    )
    assert (code, stderr) == (
        1,
        [
            f"asyncdb-lab export: cannot read the roster {roster}: it is not UTF-8 text; save "
            "it as CSV (UTF-8) and try again"
        ],
    )
    list_roster = tmp_path / "names.csv"
    list_roster.write_text("name,score\nJane,3\n")
    code, _, stderr = run(
        "--format",
        "wide",
        "--roster",
        str(list_roster),
        "--gradebook",
        gradebook,
        "--out",
        str(tmp_path / "x.csv"),
    )
    assert code == 1
    assert stderr == [
        f"asyncdb-lab export: cannot read the roster {list_roster}: its first row has neither "
        "Canvas's columns (Student, ID, …, Section) nor Moodle's (Email address or ID number): "
        "give the file Canvas (Grades → Export) or Moodle (Export → Plain text file) wrote"
    ]
