"""The course as data, shared by the learner's tools, grading and interview prep.

nbgrader_apps.py  the assignments, and nbgrader's own apps run with the course's configuration
authoring.py      notebooks as plain text, and the .ipynb nbgrader wants built from it
hints.py          hints for exercises and tests (data/hints.yaml), keyed by grade id
"""
