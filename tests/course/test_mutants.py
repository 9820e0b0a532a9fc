"""The wrong-answer suite (`make mutants`): every plausible wrong answer in tests/wrong_answers/
loses points in a hidden test of its own exercise and nowhere else, every correct alternative keeps
full marks, `asyncdb-lab check` and `asyncdb-lab grade` judge every visible test the same way, and
data/misconceptions.yaml records the visible failures of every wrong answer as check sees them now.

Each notebook's cases are graded once, together, by `asyncdb-lab grade` (see support/mutants.py),
two notebooks at a time in the background from the first case on; the table of caught/total per
exercise is printed at the end of the run.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
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


NOTEBOOKS_AT_ONCE = 2  # each grades JOBS submissions at a time; together they keep 2 cores busy


class Suite:
    """Grades the selected notebooks' cases in the background; a case waits for its notebook."""

    def __init__(self, work: Path, selected: dict[str, set[str]]) -> None:
        self.pool = ThreadPoolExecutor(max_workers=NOTEBOOKS_AT_ONCE)
        self.graded: dict[str, Future[dict[str, Outcome]]] = {
            notebook: self.pool.submit(grade_notebook, notebook, work, only=case_ids)
            for notebook, case_ids in selected.items()
        }
        self.reported: set[str] = set()

    def __call__(self, notebook: str, case: str) -> Outcome:
        try:
            outcomes = self.graded[notebook].result()
        except Exception as error:  # every case of the notebook reports it; graded once
            raise AssertionError(
                f"grading or checking {notebook}'s cases failed: {error}"
            ) from None
        if notebook not in self.reported:
            self.reported.add(notebook)
            OUTCOMES.extend(outcomes.values())
        return outcomes[case]


@pytest.fixture(scope="session")
def suite(request: pytest.FixtureRequest) -> Iterator[Suite]:
    test_name = test_the_grade_means_what_it_says.__name__
    selected: dict[str, set[str]] = {}  # notebook → the ids of its cases this run tests
    for item in request.session.items:
        if isinstance(item, pytest.Function) and item.originalname == test_name:
            params = item.callspec.params
            selected.setdefault(params["notebook"], set()).add(params["case"])
    work = new_workspace()
    graded = Suite(work, selected)
    try:
        yield graded
    finally:
        graded.pool.shutdown(wait=True, cancel_futures=True)
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
