"""Feedback says what is wrong in general terms, never a hidden test's data: the strings and big
numbers a hidden block writes (SQL's quoted parts included) that the released notebook does not
show, while the hidden test's own words for the learner (expect's what and hint, an assert's or
a raise's message) stay."""

from __future__ import annotations

from pathlib import Path

import nbformat

from asyncdb_lab.course.notebook import BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS, hidden_test_values
from asyncdb_lab.grading.worker import Hidden, redact

HIDDEN_BLOCK = f"""
{BEGIN_HIDDEN_TESTS}
await session.execute(text(
    "CREATE TRIGGER guard BEFORE UPDATE ON accounts FOR EACH ROW EXECUTE FUNCTION "
    "raise_it('balances never go below the floor')"
))
user = await add_user("ghost-4711@example.org", "Ghost Writer")
expect(await count_rows(session), 31337, "count_rows after the hidden inserts",
       "Count in the database, not in Python.")
assert user.id, f"add_user must flush so the id is set (it gave {{user!r}})"
if False:
    raise AssertionError("transfer must roll back the whole transaction")
expect(user.name, "users", "the table name")
{END_HIDDEN_TESTS}
"""
RELEASE = "The table users holds the seed data. Call add_user(email, name)."


def values(tmp_path: Path) -> set[str]:
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(f"visible = 1\n{HIDDEN_BLOCK}")
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "test_add_user_hidden", "points": 1}
    notebook.cells = [cell]
    path = tmp_path / "source.ipynb"
    nbformat.write(notebook, path)
    by_test = hidden_test_values(path, RELEASE)
    assert set(by_test) == {"test_add_user_hidden"}
    return by_test["test_add_user_hidden"]


def test_the_hidden_data_is_found_and_the_messages_for_the_learner_are_not(tmp_path: Path):
    found = values(tmp_path)
    assert {
        "ghost-4711@example.org",
        "Ghost Writer",
        "balances never go below the floor",
        "31337",
    } <= found
    for message in (
        "count_rows after the hidden inserts",
        "Count in the database, not in Python.",
        "transfer must roll back the whole transaction",
        "the table name",
        "users",  # in the released notebook: nothing to hide
    ):
        assert message not in found


def test_a_failure_quoting_hidden_data_is_redacted_and_still_says_what_went_wrong(tmp_path: Path):
    hidden = Hidden(lines=set(), values={"test_add_user_hidden": values(tmp_path)})
    message = (
        "IntegrityError: duplicate key value violates unique constraint "
        '"users_email_key" DETAIL: Key (email)=(ghost-4711@example.org) already exists. '
        "CONTEXT: balances never go below the floor; count_rows after the hidden inserts: "
        "expected 31337, got 31336. QueuePool limit reached; 313370 rows"
    )
    assert redact(message, hidden, "test_add_user_hidden") == (
        "IntegrityError: duplicate key value violates unique constraint "
        '"users_email_key" DETAIL: Key (email)=([hidden]) already exists. '
        "CONTEXT: [hidden]; count_rows after the hidden inserts: "
        "expected [hidden], got 31336. QueuePool limit reached; 313370 rows"
    )
    assert redact(message, hidden, "test_other") == message  # another test's data is its own


def test_every_hidden_test_of_the_course_keeps_its_words_for_the_learner():
    """In the course itself: no expect() message of a hidden test is taken for data."""
    from asyncdb_lab.settings import REPO

    for source in sorted((REPO / "solutions").glob("*/*.ipynb")):
        release = (REPO / "notebooks" / source.parent.name / source.name).read_text()
        found = set().union(*hidden_test_values(source, release).values() or [set()])
        assert not any(value.endswith((". ", ".")) and " " in value for value in found), (
            source.name,
            sorted(v for v in found if v.endswith(".") and " " in v),
        )
