"""Helpers the tests share: processes, learner commands, nbgrader courses and grading runs."""
