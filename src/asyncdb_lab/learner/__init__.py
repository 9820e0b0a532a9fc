"""The learner's side of the course: a workspace of their own, checks with hints, progress.

workspace.py   copy the course's notebooks into a git-ignored workspace, never overwriting
execute.py     run a notebook in memory on a fresh kernel (nbclient)
check.py       turn a run into per-exercise results, with hints; report.py prints them
results.py     the last check of each notebook, saved in the workspace for `progress`
progress.py    the table of every notebook: exercises done, points, what to do next
watch.py       re-check a notebook whenever it is saved
explore.py     `asyncdb-lab db`: a disposable seeded database to explore with psql
"""
