"""The grading pipeline behind `asyncdb-lab grade`: nbgrader's autograde, made safe and parallel.

collect.py       what was handed in, and what is wrong with it
runner.py        one run: reuse, workers, a database role per submission, cleaning up
workers.py       the grade command's side of its worker processes
messages.py      what the grade command and a worker say to each other: typed, one JSON line each
worker.py        a worker: nbgrader's autograde in-process, one submission at a time
cells.py         locked cells as released: restore deleted ones, report changes
execute.py       execution with a notebook time limit, stop rules, canaries, output caps
verdict.py       test cells scored by the course's rule (they fail only if they raised)
kernel.py        the kernel's environment and sandbox
sandbox.py       what a kernel may see and use; _sandbox_launch.py builds it
database.py      the run's PostgreSQL, roles, and what a cell timeout leaves on the server
course_files.py  the course's nbgrader folders and gradebook
results.py       what grading one submission produced, as plain data that goes to JSON
store.py         results kept between runs
feedback.py      per-student feedback pages
report.py        grades.csv, summary.json, the class report
teach_again.py   the report's failures per test and the class's known mistakes
manual_grades.py scores set by hand and comments in formgrader, read back into every output
similarity.py    how alike two solution cells are (normalised tokens, winnowed fingerprints)
similar_submissions.py  the report's unusually alike pairs of a run
export/          `asyncdb-lab export`: the gradebook (manual scores included) as a Canvas, Moodle
                 or wide CSV
"""
