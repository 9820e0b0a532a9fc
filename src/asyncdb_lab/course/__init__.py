"""The course as data, shared by the learner's tools, grading and interview prep.

manifest.py       the course manifest (data/course.yaml): notebooks, exercises, topics, hints
nbgrader_apps.py  the assignments, and nbgrader's own apps run with the course's configuration
authoring.py      notebooks as plain text, and the .ipynb nbgrader wants built from it
hints.py          hints for exercises and tests (data/hints.yaml), keyed by grade id
notebook.py       an nbgrader notebook as checks and grading read it: cells, exercises, tests
                  and their status, locked cells, hidden tests
verdict.py        the one rule that says whether a test cell passed: it fails if it raised
"""
