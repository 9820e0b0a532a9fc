"""The grading run's similarity report: from the submitted notebooks' answer cells, against the
released starter code; a planted copy is listed, different answers are not."""

from __future__ import annotations

import html
from pathlib import Path

import nbformat
from support.disguise import disguise
from support.mutants import cases, learner_notebook, release_path

from asyncdb_lab.grading.collect import Candidate
from asyncdb_lab.grading.report import render_report
from asyncdb_lab.grading.similar_submissions import similar_submissions

NOTEBOOK = "02_crud_and_repositories"


def test_a_planted_copy_is_listed_and_no_other_pair(tmp_path: Path):
    answers = [case for case in cases(NOTEBOOK) if case.exercise == "get_or_create"]
    candidates = []
    for index, case in enumerate(answers):
        candidates.append(_submission(tmp_path, f"s{index:02d}", case.sources))
    copied = answers[0].sources
    planted = {name: disguise(source) for name, source in copied.items()}
    candidates.append(_submission(tmp_path, "copycat", planted))
    candidates.append(_submission(tmp_path, "untouched", {}, released=True))
    damaged = tmp_path / "damaged.ipynb"
    damaged.write_text("{not json")
    candidates.append(Candidate("damaged", NOTEBOOK, damaged, "damaged.ipynb"))

    found = similar_submissions(candidates, {NOTEBOOK: release_path(NOTEBOOK)})
    pairs = {(s.notebook, s.pair.exercise, s.pair.first, s.pair.second) for s in found}
    assert pairs == {(NOTEBOOK, "get_or_create", "copycat", "s00")}

    page = html.unescape(render_report([], [], {}, found))
    assert "Unusually alike solutions: to look at, never a penalty by themselves" in page
    assert "get_or_create" in page and "copycat" in page


def _submission(
    folder: Path, student: str, sources: dict[str, str], released: bool = False
) -> Candidate:
    notebook = (
        nbformat.read(release_path(NOTEBOOK), as_version=4)
        if released
        else learner_notebook(NOTEBOOK, sources)
    )
    path = folder / f"{student}.ipynb"
    nbformat.write(notebook, path)
    return Candidate(student, NOTEBOOK, path, path.name)
