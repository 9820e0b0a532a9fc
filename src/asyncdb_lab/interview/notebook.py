"""Build notebook 12 (interview prep) from the question bank, so the two never drift apart.

    python -m asyncdb_lab.interview.notebook     # writes solutions/12_interview_prep/…ipynb
                                                 # and its exercises in data/course.yaml
    asyncdb-lab release                          # that, every other notebook, then notebooks/

Graded questions (choice, bug, count) become an answer cell, a test cell (hidden tests hold the
key) and a reveal cell; explain questions become the notebook's interview questions. Every
cell id derives from a question's id (question-<id>, answer_<id>, test_answer_<id>_key,
reveal-<id>), never from its number, so adding a question changes no other cell's id.
"""

from __future__ import annotations

import string
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat

from asyncdb_lab.course.authoring import build
from asyncdb_lab.course.authoring import write as write_notebook
from asyncdb_lab.course.manifest import COURSE_FILE, course, write_generated_exercises
from asyncdb_lab.interview.bank import KIND_NAMES, NOTEBOOK, Question, load_bank
from asyncdb_lab.settings import SELF_STUDY_ENV, SOLUTIONS_DIR

ASSIGNMENT = NOTEBOOK
NOTEBOOK_PATH = SOLUTIONS_DIR / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"

_OPENING = f"""\
# %% [markdown] id=intro
# # **12 · Interview prep: async databases in Python**
#
# Test what you learned in notebooks 00–11 on the questions interviewers ask, with every answer proven against PostgreSQL.
#
# **Learning goals**
# - Recall the behaviour behind each topic: statement counts, errors raised, what locks and savepoints really do.
# - Spot the classic bugs of async database code in short snippets, including the source tutorial's.
# - Explain your reasoning in a sentence, the way an interview asks for it.
#
# **Prerequisites**: notebooks 00–11 (each question links to the section that teaches it).
#
# **Out of scope**: new material. Every answer here is taught, and demonstrated, in an earlier notebook.

# %% [markdown] id=setup
# ## Setup
#
# The questions need no database to answer, but you can try any snippet against a fresh one: the next cell makes it, with the seed data.

# %% readonly id=setup-database
from asyncdb_lab import count_statements, disposable_database
from asyncdb_lab.interview.reveal import reveal

db = await disposable_database(seed=True)
engine = db.engine

# %% [markdown] id=how-to-answer
# ## How to answer
#
# Each question has an answer cell: set the variable it names to one of the letters listed under the question, in quotes, or, for a statement count, to a whole number without quotes; then run it.
# The test cell below it checks only the form (the key is in the hidden tests your grader adds).
#
# **When you see the key.** Your answer is locked in when you hand the notebook in and it is graded: your feedback then shows the key and the explanation of every question you missed.
# Until then the reveal cell under each question only confirms that your answer is recorded and names the section to reread; it does not say whether you are right, because trying letters until it said so would give the key away.
#
# **Self-study.** To practise with instant answers, use the terminal drill, `asyncdb-lab drill` (the same questions), or start JupyterLab with `{SELF_STUDY_ENV}=1 make lab`: the reveal cells then show right or wrong, the key and the explanation at once.
#
# > **Common mistake: a letter without quotes.**
# > `answer_x = b` looks up a variable called `b` and raises NameError; write `answer_x = "b"`.

# %% id=letter-without-quotes
# What Python does with a letter written without quotes:
try:
    example = b  # noqa: F821
except NameError as error:
    print(f"NameError: {{error}}")
example = "b"
print("with quotes:", repr(example))
"""

_CLOSING = """\
# %% [markdown] id=summary
# ---
# ## Summary
#
# - Count statements, don't guess them: selectinload batches by 500 parents, add_all batches by 1,000 rows, savepoints cost two statements.
# - Wrapped errors: catch SQLAlchemy's classes and decide by `e.orig.sqlstate`, never by message text; a refused connection is an OSError.
# - Transactions: autobegin, lock rows in one order, retry 40001/40P01 with a fresh session, catch savepoint errors outside `begin_nested()`.
# - Test on PostgreSQL, not SQLite; keep one session per task and per request.
#
# ## Interview questions
#
# Answer these out loud, then open the answers.
#
{explain}
#
# ## Further reading
#
# - SQLAlchemy: [Asynchronous I/O (asyncio)](https://docs.sqlalchemy.org/en/20/orm/extensions/asyncio.html)
# - SQLAlchemy: [Relationship loading techniques](https://docs.sqlalchemy.org/en/20/orm/queryguide/relationships.html)
# - SQLAlchemy: [Session basics: framing a transaction](https://docs.sqlalchemy.org/en/20/orm/session_basics.html)
# - PostgreSQL: [Error codes (SQLSTATE)](https://www.postgresql.org/docs/current/errcodes-appendix.html)
# - PostgreSQL: [Transaction isolation](https://www.postgresql.org/docs/current/transaction-iso.html)

# %% [markdown] id=check-your-notebook
# ---
# **Check your notebook.** Save (Ctrl+S), then run this cell: it checks the saved file as `asyncdb-lab check` does, on a fresh database, and shows each exercise's points, a failing test's message with its first hint, and what to do next.

# %% id=check-this-notebook
from asyncdb_lab.learner.in_lab import check_this_notebook

check_this_notebook()
"""


def _markdown(text: str) -> str:
    return "\n".join(f"# {line}" if line else "#" for line in text.splitlines())


def _answer_literal(question: Question) -> str:
    return repr(question.answer)


def _feedback(question: Question) -> str:
    """What a learner who missed the question reads in the grading feedback, after the key."""
    return f"Why: {question.explanation} (Taught in {question.section}.)"


def _question_cells(number: int, question: Question) -> Iterator[str]:
    """The question's cells; every id derives from the question's id, never from its number."""
    name, slug = f"answer_{question.id}", question.id.replace("_", "-")
    lines = [f"### Question {number} · {KIND_NAMES[question.kind]}", "", question.prompt]
    if question.code:
        lines += ["", "```python", question.code, "```"]
    if question.choices:
        lines.append("")
        lines += [f"- **{key}**: {text}" for key, text in question.choices.items()]
    lines += ["", f"*Taught in [{question.section}](../{question.topic}/{question.topic}.ipynb).*"]
    yield f"# %% [markdown] id=question-{slug}\n" + _markdown("\n".join(lines))
    if question.kind == "count":
        form, kind, check = "a whole number of statements, without quotes", "int", "{0} >= 0"
        visible_hint = f"{name} should be a whole number of statements (an int, no quotes)."
        given = name
    else:
        letters = ", ".join(f'"{k}"' for k in question.choices)
        # "B" and " b " are the letter b: case and spaces are not what the question asks about.
        form, kind = f"one of {letters}", "str"
        check = "{0}.strip().lower() in (" + letters + ",)"
        visible_hint = f"{name} should be one of {letters}: a letter in quotes."
        given = f"{name}.strip().lower()"
    yield (
        f"# %% solution id={name}\n"
        f"# Your answer: {form}.\n"
        f"{question.answer_line}\n"
        "### BEGIN SOLUTION\n"
        f"{name} = {_answer_literal(question)}\n"
        "### END SOLUTION"
    )
    yield (
        f"# %% tests id=test_{name}_key points=1\n"
        f'"""Check that your answer to question {number} has the right form '
        '(the key is hidden)."""\n'
        "from asyncdb_lab.checks import expect\n\n"
        f"assert type({name}) is {kind} and {check.format(name)}, {visible_hint!r}\n"
        "### BEGIN HIDDEN TESTS\n"
        f"expect({given}, {_answer_literal(question)}, 'Your answer to question {number}',\n"
        f"       {_feedback(question)!r})\n"
        "### END HIDDEN TESTS"
    )
    yield (
        f"# %% id=reveal-{slug}\n"
        "# Records your answer; the key and the explanation come with your feedback:\n"
        f"reveal({question.id!r}, globals())"
    )


def draft(questions: list[Question]) -> str:
    parts = [_OPENING]
    graded = [q for q in questions if q.graded]
    number = 0
    letters = iter(string.ascii_uppercase)
    for topic in course().topics:
        in_topic = [q for q in graded if q.topic == topic]
        if not in_topic:
            continue
        title = topic.split("_", 1)[1].replace("_", " ")
        title = title.replace("n plus 1", "N+1").replace("fastapi", "FastAPI").replace("sql", "SQL")
        parts.append(
            f"# %% [markdown] id=part-{topic[:2]}\n# ---\n"
            f"# ## Part {next(letters)} — {topic[:2]} · {title} ({len(in_topic)} points)\n#\n"
            f"# Taught in notebook `{topic}`."
        )
        for question in in_topic:
            number += 1
            parts.extend(_question_cells(number, question))
    explain = [q for q in questions if not q.graded]
    items = []
    for index, question in enumerate(explain, start=1):
        items.append(f"{index}. {question.prompt} ({question.topic})")
    answers = [f"{i}. **{q.answer}** {q.explanation}" for i, q in enumerate(explain, start=1)]
    explain_md = "\n".join(items) + "\n\n<details><summary>Answers</summary>\n\n"
    explain_md += "\n".join(answers) + "\n\n</details>"
    parts.append(_CLOSING.format(explain=_markdown(explain_md)))
    return "\n\n".join(part.rstrip("\n") for part in parts) + "\n"


def contract(questions: list[Question]) -> dict[str, tuple[str, ...]]:
    """The notebook's exercises, as the course manifest (data/course.yaml) lists them."""
    return {f"answer_{q.id}": (q.answer_line,) for q in questions if q.graded}


def notebook(questions: list[Question]) -> nbformat.NotebookNode:
    return build(draft(questions))


def write(questions: list[Question], path: Path = NOTEBOOK_PATH) -> bool:
    """Write the notebook, and its exercises in data/course.yaml, unless they are current; True
    if it wrote. `asyncdb-lab release` calls this too, before nbgrader releases the learner
    version."""
    wrote_exercises = write_generated_exercises(contract(questions))
    return write_notebook(notebook(questions), path) or wrote_exercises


if __name__ == "__main__":
    write(load_bank())
    print(f"wrote {NOTEBOOK_PATH} and the {ASSIGNMENT} exercises of {COURSE_FILE}")
    sys.exit(0)
