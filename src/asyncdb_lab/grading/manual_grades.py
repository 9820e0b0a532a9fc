"""What the instructor changed in formgrader reaches every output: a test's score set by hand
(nbgrader's manual_score, which takes precedence over the automatic one) and the comments they
wrote on the learner's answers, read from the gradebook each time the reports are written. So
`asyncdb-lab grade` run again after a review (nothing changed: seconds) brings grades.csv, the
class report and the feedback pages up to date."""

from __future__ import annotations

from asyncdb_lab.grading.results import SubmissionResult


def apply_manual_grades(results: list[SubmissionResult], gradebook: str, course_id: str) -> None:
    """Overwrite the graded results' test points with the gradebook's manual scores and add the
    instructor's comments, in place."""
    graded = [r for r in results if r.status == "graded"]
    if not graded:
        return
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(gradebook, course_id or "default") as book:
        for result in graded:
            try:
                notebook = book.find_submission_notebook(
                    result.notebook, result.notebook, result.student
                )
            except MissingEntry:
                continue
            manual = {g.name: g.manual_score for g in notebook.grades if g.manual_score is not None}
            for test in result.tests:
                if test.name in manual and float(manual[test.name]) != test.points:
                    changed = float(manual[test.name])
                    result.instructor.append(
                        f"{test.name}: {changed:g} of {test.max_points:g} points, set by your "
                        f"instructor (the grader gave {test.points:g})"
                    )
                    result.score = max(0.0, result.score + changed - test.points)
                    test.points = changed
            for comment in notebook.comments:
                if comment.manual_comment:
                    result.instructor.append(f"{comment.name}: {comment.manual_comment}")
