"""The similarity report of a grading run: for each notebook, the pairs of submissions whose
solution cells are unusually alike (similarity.py decides), for the instructor to look at. It is
never a penalty by itself: two learners may well have written the same few lines."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from asyncdb_lab.grading.collect import Candidate
from asyncdb_lab.grading.similarity import SimilarPair, class_similarity


@dataclass(frozen=True)
class SimilarSubmissions:
    notebook: str
    pair: SimilarPair


def similar_submissions(
    candidates: list[Candidate], release_notebook: dict[str, Path]
) -> list[SimilarSubmissions]:
    """Unusually alike pairs among the candidates, notebook by notebook (`release_notebook`:
    notebook → the released copy, whose solution cells hold the starter code)."""
    by_notebook: dict[str, dict[str, dict[str, str]]] = defaultdict(dict)
    for candidate in candidates:
        cells = _solution_cells(candidate.path)
        if cells:
            by_notebook[candidate.notebook][candidate.student] = cells
    found = []
    for notebook, sources in sorted(by_notebook.items()):
        release = release_notebook.get(notebook)
        starters = _solution_cells(release) if release is not None else {}
        found += [SimilarSubmissions(notebook, p) for p in class_similarity(sources, starters)]
    return found


def _solution_cells(path: Path) -> dict[str, str]:
    """grade_id → source of the notebook's answer cells ({} for a file nbformat cannot read)."""
    import nbformat

    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception:  # a damaged file is graded (and reported) elsewhere; here it has no cells
        return {}
    cells = {}
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution") and meta.get("grade_id") and cell.get("cell_type") == "code":
            cells[str(meta["grade_id"])] = str(cell.source)
    return cells
