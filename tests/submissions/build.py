"""Write the committed test submissions: python tests/submissions/build.py (from the repository).

Every student is one case of tests/grading/test_grading.py, built from the learner version of
notebook 00 (notebooks/00_start_here) with the answer filled in (or not) and, for the misbehaving
cases, one extra cell right after the first test cell, so that that test has already earned its
points when the notebook misbehaves. EXPECTED in tests/grading/test_grading.py holds the exact
scores. Run it again whenever notebooks/00_start_here changes: the output is the same every time.
"""

from __future__ import annotations

import copy
import json
import shutil
import zipfile
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
NOTEBOOK = "00_start_here"
CLASS = HERE / "class"
ZIP = HERE / "lms.zip"

SOLUTION = '''async def count_users(engine) -> int:
    """Return the number of rows in the users table, counted by the database."""
    async with engine.connect() as conn:
        result = await conn.execute(text("SELECT count(*) FROM users"))
        return int(result.scalar_one())
'''
COUNTS_IN_PYTHON = '''async def count_users(engine) -> int:
    """Return the number of rows in the users table, counted by the database."""
    async with engine.connect() as conn:
        result = await conn.execute(text("SELECT id FROM users"))
        return len(result.all())
'''
RETURNS_1000 = '''async def count_users(engine) -> int:
    """Return the number of rows in the users table, counted by the database."""
    return 1000
'''
RETURNS_0 = '''async def count_users(engine) -> int:
    """Return the number of rows in the users table, counted by the database."""
    return 0
'''
ALWAYS_EQUAL = '''class AlwaysEqual:
    """Equal to anything: a classic attempt to pass tests without an answer."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__


async def count_users(engine) -> int:
    """Return the number of rows in the users table, counted by the database."""
    return AlwaysEqual()
'''

LOOP_FOREVER = "while True:\n    pass\n"
AWAIT_FOREVER = "import asyncio\n\nawait asyncio.Event().wait()\n"
PG_SLEEP = """async with engine.connect() as conn:
    # Switch off both server-side guard rails first: only the grader can stop this now.
    await conn.execute(text("SET statement_timeout = 0"))
    await conn.execute(text("SET client_connection_check_interval = 0"))
    await conn.execute(text("SELECT pg_sleep(600)"))
"""
KERNEL_EXIT = "import os\n\nos._exit(3)\n"
MEMORY_HOG = "hog = []\nwhile True:\n    hog.append(b'x' * 50_000_000)\n"
FLOOD = "for _ in range(20_000):\n    print('spam ' * 40)\n"
TAMPER_TRACEBACK = """ip = get_ipython()
_original_run_cell_async = ip.run_cell_async


async def _never_fails(*args, **kwargs):
    result = await _original_run_cell_async(*args, **kwargs)
    result.error_in_exec = None
    result.error_before_exec = None
    return result


ip.run_cell_async = _never_fails
ip.showtraceback = lambda *args, **kwargs: None
"""
TAMPER_EXPECT = """import asyncdb_lab.checks

asyncdb_lab.checks.expect = lambda *args, **kwargs: None
"""
SNOOP = r"""import glob
import json
import os
import subprocess

import asyncpg
from sqlalchemy.engine import make_url

import asyncdb_lab.settings as course

found = {}


def attempt(name, action):
    try:
        found[name] = "READ " + repr(action())[:300]
    except BaseException as error:
        found[name] = f"denied: {type(error).__name__}"


attempt("solutions", lambda: os.listdir(course.SOLUTIONS_DIR))
attempt("grader", lambda: os.listdir(course.GRADER_DIR))
attempt("gradebook", lambda: open(course.GRADER_DIR / "gradebook.db", "rb").read(16))
attempt("tests", lambda: os.listdir(course.REPO / "tests"))
attempt("git", lambda: os.listdir(course.REPO / ".git"))
attempt("other_clones", lambda: glob.glob("/work/*/solutions/*") + glob.glob("/home/*/*/solutions"))
attempt("root_home", lambda: os.listdir("/root/.ssh"))
attempt("write_repo", lambda: open(course.REPO / "src" / "owned.txt", "w").write("x"))
attempt("processes", lambda: sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))
attempt("environ_secrets", lambda: [k for k in os.environ if "PASSWORD" in k or k == "PGPASSWORD"])
attempt("uid", os.getuid)
daemon = subprocess.Popen(["sleep", "300"], start_new_session=True)
found["daemon"] = daemon.pid
url = make_url(os.environ["ASYNCDB_LAB_DATABASE_URL"])


try:
    await asyncpg.connect(
        host=url.host, port=url.port, user="postgres", password="postgres", database="postgres"
    )
    found["postgres_superuser"] = "READ connected"
except Exception as error:
    found["postgres_superuser"] = f"denied: {type(error).__name__}"
conn = await asyncpg.connect(url.render_as_string(hide_password=False))
found["superuser_role"] = await conn.fetchval(
    "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
)
others = await conn.fetch(
    "SELECT datname FROM pg_database WHERE datname NOT IN ('postgres', 'template0', 'template1') "
    "AND pg_get_userbyid(datdba) <> current_user"
)
others = [row[0] for row in others]
for name in others:
    try:
        other = await asyncpg.connect(url.set(database=name).render_as_string(hide_password=False))
        found[f"connect {name}"] = "READ"
        await other.close()
    except Exception as error:
        found[f"connect {name}"] = f"denied: {type(error).__name__}"
await conn.close()
print("SNOOP " + json.dumps(found))


def _echo(info):
    # Print the source of every cell from now on: the hidden tests' too.
    print("ECHO " + info.raw_cell)


get_ipython().events.register("pre_run_cell", _echo)
"""


def release() -> nbformat.NotebookNode:
    return nbformat.read(REPO / "notebooks" / NOTEBOOK / f"{NOTEBOOK}.ipynb", as_version=4)


def grade_id(cell: nbformat.NotebookNode) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def submission(answer: str | None = SOLUTION, extra: str | None = None) -> nbformat.NotebookNode:
    """The learner notebook with `answer` in the exercise cell and `extra` after the first test."""
    notebook = release()
    cells = []
    for cell in notebook.cells:
        if grade_id(cell) == "count_users" and answer is not None:
            cell.source = answer
        cells.append(cell)
        if grade_id(cell) == "test_count_users_seed" and extra:
            cells.append(nbformat.v4.new_code_cell(extra, id="extra"))  # a fixed id: no churn
    notebook.cells = cells
    return notebook


def cell_named(notebook: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    return next(cell for cell in notebook.cells if grade_id(cell) == name)


def deleted_test() -> nbformat.NotebookNode:
    notebook = submission()
    notebook.cells = [c for c in notebook.cells if grade_id(c) != "test_count_users_one_statement"]
    return notebook


def edited_test() -> nbformat.NotebookNode:
    notebook = submission(RETURNS_1000)
    cell_named(notebook, "test_count_users_seed").source = '"""Check that all is well."""\npass\n'
    return notebook


def retyped_test() -> nbformat.NotebookNode:
    notebook = submission(COUNTS_IN_PYTHON)
    cell = cell_named(notebook, "test_count_users_one_statement")
    cell.cell_type = "markdown"
    del cell["outputs"], cell["execution_count"]
    return notebook


def forged_metadata() -> nbformat.NotebookNode:
    notebook = submission()
    cell_named(notebook, "count_users").metadata["nbgrader"].update(grade=True, points=100)
    bonus = nbformat.v4.new_code_cell("print('bonus points, please')", id="bonus")
    bonus.metadata["nbgrader"] = {
        "grade": True,
        "grade_id": "test_bonus",
        "locked": True,
        "points": 50,
        "schema_version": 3,
        "solution": False,
        "task": False,
    }
    notebook.cells.append(bonus)
    return notebook


def empty_notebook() -> nbformat.NotebookNode:
    notebook = release()
    notebook.cells = []
    return notebook


# student → what to write into their folder: {relative path: notebook, bytes or text}
CLASS_FOLDERS = {
    "full": {f"{NOTEBOOK}.ipynb": submission()},
    "partial": {f"{NOTEBOOK}/{NOTEBOOK}.ipynb": submission(COUNTS_IN_PYTHON)},
    "untouched": {f"{NOTEBOOK}.ipynb": release()},
    "loop_forever": {f"{NOTEBOOK}.ipynb": submission(extra=LOOP_FOREVER)},
    "await_forever": {f"{NOTEBOOK}.ipynb": submission(extra=AWAIT_FOREVER)},
    "pg_sleep": {f"{NOTEBOOK}.ipynb": submission(extra=PG_SLEEP)},
    "kernel_exit": {f"{NOTEBOOK}.ipynb": submission(extra=KERNEL_EXIT)},
    "memory_hog": {f"{NOTEBOOK}.ipynb": submission(extra=MEMORY_HOG)},
    "output_flood": {f"{NOTEBOOK}.ipynb": submission(extra=FLOOD)},
    "deleted_test": {f"{NOTEBOOK}.ipynb": deleted_test()},
    "edited_test": {f"{NOTEBOOK}.ipynb": edited_test()},
    "retyped_test": {f"{NOTEBOOK}.ipynb": retyped_test()},
    "forged_metadata": {f"{NOTEBOOK}.ipynb": forged_metadata()},
    "always_equal": {f"{NOTEBOOK}.ipynb": submission(ALWAYS_EQUAL)},
    "tamper_traceback": {f"{NOTEBOOK}.ipynb": submission(RETURNS_0, TAMPER_TRACEBACK)},
    "tamper_expect": {f"{NOTEBOOK}.ipynb": submission(RETURNS_0, TAMPER_EXPECT)},
    "snoop": {f"{NOTEBOOK}.ipynb": submission(extra=SNOOP)},
    "invalid_json": {f"{NOTEBOOK}.ipynb": nbformat.writes(submission())[:2000]},
    "empty_file": {f"{NOTEBOOK}.ipynb": ""},
    "empty_notebook": {f"{NOTEBOOK}.ipynb": empty_notebook()},
    "wrong_name": {"start_here.ipynb": submission()},
    "missing_notebook": {"README.txt": "I will hand it in next week.\n"},
}

# An LMS download: flat names, the student id first, LMS numbers, a re-upload suffix, junk.
LMS_FILES = {
    f"zoe_1001_2001_{NOTEBOOK}.ipynb": submission(),
    f"yann_1002_2002_{NOTEBOOK}-1.ipynb": submission(COUNTS_IN_PYTHON),
    "xavi_1003_2003_start_here.ipynb": submission(),
    f"walt_1004_2004_{NOTEBOOK}.ipynb": "{not json",
    f"__MACOSX/._zoe_1001_2001_{NOTEBOOK}.ipynb": "\x00\x05junk",
}


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    return nbformat.writes(copy.deepcopy(content))


def main() -> None:
    shutil.rmtree(CLASS, ignore_errors=True)
    for student, files in CLASS_FOLDERS.items():
        for relative, content in files.items():
            path = CLASS / student / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(_text(content))
    with zipfile.ZipFile(ZIP, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in LMS_FILES.items():
            info = zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0))
            archive.writestr(info, _text(content), compress_type=zipfile.ZIP_DEFLATED)
    print(json.dumps({"students": len(CLASS_FOLDERS), "zip": len(LMS_FILES)}))


if __name__ == "__main__":
    main()
