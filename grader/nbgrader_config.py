"""nbgrader configuration of the course. nbgrader reads it from the current folder: run nbgrader
(or `asyncdb-lab release` / `make notebooks`, which do this for you) from `grader/`.

The repository is the course root: `solutions/` is nbgrader's source folder, `notebooks/` its
release folder (one assignment per topic folder, e.g. 00_start_here/00_start_here.ipynb), and
submissions, autograded copies, feedback and the gradebook live under `grader/`.
"""

from pathlib import Path

c = get_config()  # noqa: F821 - provided by traitlets when it runs this file

course_root = Path(__file__).resolve().parent.parent

c.CourseDirectory.root = str(course_root)
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.CourseDirectory.submitted_directory = "grader/submitted"
c.CourseDirectory.autograded_directory = "grader/autograded"
c.CourseDirectory.feedback_directory = "grader/feedback"
c.CourseDirectory.db_url = f"sqlite:///{course_root / 'grader' / 'gradebook.db'}"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "*.py", "*.bak"]

# What a learner sees where a solution was: the signature and docstring stay above it.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Execution while autograding. Every notebook runs in well under a minute; a cell that takes
# longer than this is stopped (interrupted) and the rest of the notebook still runs. Async
# work needs nothing special: ipykernel runs top-level `await` in its own event loop.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
c.Execute.kernel_name = "python3"
