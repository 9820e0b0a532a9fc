"""The wrong-answer suite (`make mutants`): every plausible wrong answer in tests/wrong_answers/
loses points in a hidden test of its own exercise and nowhere else, every correct alternative keeps
full marks, `asyncdb-lab check` and `asyncdb-lab grade` judge every visible test the same way, and
data/misconceptions.yaml records the visible failures of every wrong answer as check sees them now.

Each notebook's cases are graded once, together, by `asyncdb-lab grade` (see support/mutants.py);
the table of caught/total per exercise is printed at the end of the run.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.mutants import Outcome, case_id, cases, grade_notebook, new_workspace, notebooks

from asyncdb_lab.course.manifest import course

CASES = [
    pytest.param(case.notebook, case_id(case), id=case_id(case))
    for notebook in notebooks()
    for case in cases(notebook)
]
OUTCOMES: list[Outcome] = []  # read by conftest's terminal summary

MINIMUM_WRONG = 4  # kinds of wrong answer per exercise


class Suite:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.graded: dict[str, dict[str, Outcome] | Exception] = {}

    def __call__(self, notebook: str, case: str) -> Outcome:
        if notebook not in self.graded:
            try:
                outcomes = grade_notebook(notebook, self.work)
            except Exception as error:  # every case of the notebook reports it; graded once
                self.graded[notebook] = error
            else:
                self.graded[notebook] = outcomes
                OUTCOMES.extend(outcomes.values())
        graded = self.graded[notebook]
        if isinstance(graded, Exception):
            raise AssertionError(f"grading or checking {notebook}'s cases failed: {graded}")
        return graded[case]


@pytest.fixture(scope="session")
def suite() -> Iterator[Suite]:
    work = new_workspace()
    try:
        yield Suite(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.mark.parametrize("notebook", notebooks())
def test_every_exercise_has_wrong_answers_and_a_correct_alternative(notebook: str):
    contract = {n.name: n.exercises for n in course().notebooks}[notebook]
    found = cases(notebook)
    for exercise in contract:
        wrong = [c for c in found if c.exercise == exercise and c.kind == "wrong"]
        right = [c for c in found if c.exercise == exercise and c.kind == "alternative"]
        assert len(wrong) >= MINIMUM_WRONG or (notebook == "12_interview_prep" and wrong), (
            f"{exercise}: write at least {MINIMUM_WRONG} kinds of wrong answer in "
            f"tests/wrong_answers/{notebook}.py (it has {len(wrong)})"
        )
        assert right, (
            f"{exercise}: write a correct alternative in tests/wrong_answers/{notebook}.py"
        )


@pytest.mark.slow
@pytest.mark.mutants
@pytest.mark.parametrize(("notebook", "case"), CASES)
def test_the_grade_means_what_it_says(notebook: str, case: str, suite: Suite):
    outcome = suite(notebook, case)
    what = f"{outcome.case.exercise} ({outcome.case.label})"
    assert not outcome.submission.problem, f"{what}: {outcome.submission.problem}"
    if outcome.case.kind == "alternative":
        assert not outcome.lost(), f"a correct alternative of {what} lost {outcome.lost()}"
    else:
        assert outcome.lost_in_hidden(), f"the wrong answer {what} keeps full marks"
        assert not outcome.collateral(), f"the wrong answer {what} also cost {outcome.collateral()}"
        assert not outcome.misconception_drift(), f"{what}: {outcome.misconception_drift()}"
    assert not outcome.disagreements(), (
        f"check and grade disagree on {what}: {outcome.disagreements()}"
    )
