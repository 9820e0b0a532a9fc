"""The names a notebook's own cells define, kept after them and bound again before each test."""

from __future__ import annotations

import nbformat
from IPython.core.interactiveshell import InteractiveShell

from asyncdb_lab.grading.bindings import CourseBindings, bound_names, read_kept, read_restored
from asyncdb_lab.settings import REPO

SETUP = "from asyncdb_lab import count_statements\nengine = object()\n"
ANSWER = "from sqlalchemy import text\n\nasync def count_users(engine):\n    return 0\n"


def cell(source: str, **nbgrader: object) -> dict:
    made = nbformat.v4.new_code_cell(source)
    if nbgrader:
        made.metadata["nbgrader"] = nbgrader
    return made


def test_the_names_a_cell_binds_at_its_top_level():
    source = (
        "import os.path\nfrom x import y as z\nasync with f() as (a, b):\n    inner = 1\n"
        "total: int = 0\ncount += 1\nclass K: ...\nawait g()\n"
        "for i in range(2):\n    try:\n        pass\n    except OSError as error:\n        e2 = 1\n"
        "def f():\n    local = 1\n"
    )
    expected = {"os", "z", "a", "b", "inner", "total", "count", "K", "i", "error", "e2", "f"}
    assert bound_names(source) == expected
    assert bound_names("%%writefile x.py\nprint(1)\n") == set()


def test_course_names_exclude_what_answer_cells_bind_and_tests_bind():
    demo = "from sqlalchemy import text\nrows = 3\n"
    bindings = CourseBindings.of(
        [
            cell(SETUP),
            cell(ANSWER, solution=True, grade=False),
            cell("sql = 1\nfrom sqlalchemy import text\n", grade=True, solution=False),
            cell(demo),
            cell("conn = None\nengine_count = 2\n"),
        ],
        tests=["async with engine.begin() as conn:\n    pass\n"],
    )
    assert bindings.by_source == {
        SETUP: {"count_statements", "engine"},
        demo: {"rows"},
        "conn = None\nengine_count = 2\n": {"engine_count"},
    }


def expressions_reply(shell: InteractiveShell, expressions: dict[str, str]) -> dict:
    return {"status": "ok", "user_expressions": shell.user_expressions(expressions)}


def test_a_rebound_course_name_is_bound_again_before_a_test():
    shell = InteractiveShell.instance()
    try:
        bindings = CourseBindings.of([cell(SETUP)])
        shell.run_cell(SETUP)
        original = shell.user_ns["count_statements"]
        keep = bindings.keep_after(nbformat.v4.new_code_cell(SETUP))
        assert keep is not None
        assert shell.run_cell(keep[0], silent=True).success
        kept = read_kept(expressions_reply(shell, keep[1]))
        assert kept == {"count_statements": id(original), "engine": id(shell.user_ns["engine"])}
        shell.run_cell("count_statements = lambda engine: 'lenient'")  # a learner's cell
        code, expressions = bindings.restore()
        assert shell.run_cell(code, silent=True).success
        names, now = read_restored(expressions_reply(shell, expressions)) or ([], {})
        assert names == ["count_statements"]
        assert now == kept
        assert shell.user_ns["count_statements"] is original
        assert shell.run_cell(code, silent=True).success  # nothing to put back now
        assert (read_restored(expressions_reply(shell, expressions)) or ([1], {}))[0] == []
        assert bindings.keep_after(nbformat.v4.new_code_cell("x = 1")) is None

        # Learner code that finds the kept copy and plants its own: the ids give it away.
        shell.run_cell(
            f"__import__('builtins').__dict__[{bindings.key!r}]['count_statements'] = len"
        )
        assert shell.run_cell(code, silent=True).success
        _, planted = read_restored(expressions_reply(shell, expressions)) or ([], {})
        assert planted["count_statements"] != kept["count_statements"]
    finally:
        InteractiveShell.clear_instance()


def test_no_answer_cell_of_the_course_is_undone_by_a_restore():
    """Names the learner's answers bind are never protected, in any released notebook."""
    for folder in sorted((REPO / "notebooks").iterdir()):
        path = folder / f"{folder.name}.ipynb"
        if not path.exists():
            continue
        cells = nbformat.read(path, 4).cells
        protected = set().union(*CourseBindings.of(cells).by_source.values())
        answers = {
            name
            for c in cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")
            for name in bound_names(c.source)
        }
        assert protected, folder.name
        assert not protected & answers, folder.name
