"""Notebook 12's reveal cells: after answering, say what happens next, and in self-study, why.

An answer in the graded notebook is *locked in* when the notebook is handed in and graded: only
then does the learner see the key, in the grading feedback (the hidden test's message carries
the key and the explanation). Until then a reveal cell checks that the answer has a valid form,
says it is recorded and names the section to reread; it shows neither ✓/✗ (trying letters until
a ✓ appears would find the key) nor the explanation (most explanations name the right option).

Self-study mode shows ✓/✗, the key and the explanation at once, as `asyncdb-lab drill` does: set
ASYNCDB_LAB_SELF_STUDY=1 before starting JupyterLab (e.g. `ASYNCDB_LAB_SELF_STUDY=1 make lab`),
or pass `self_study=True`. It is a choice the learner makes for practice, not a barrier: the
question bank is plain text in the course repository.
"""

from __future__ import annotations

import os
from typing import Any

from asyncdb_lab.interview.bank import BankError, Question, load_bank
from asyncdb_lab.settings import SELF_STUDY_ENV

_bank: dict[str, Question] | None = None


def self_study_mode() -> bool:
    """Is ASYNCDB_LAB_SELF_STUDY set to 1 (or true, yes, on)?"""
    return os.environ.get(SELF_STUDY_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def reveal(question_id: str, namespace: dict[str, Any], *, self_study: bool | None = None) -> None:
    """Once `answer_<id>` exists in `namespace`: in graded mode (the default) confirm that it is
    recorded, without the key; in self-study mode print ✓/✗, the key and the explanation."""
    global _bank
    if _bank is None:
        try:
            _bank = {q.id: q for q in load_bank()}
        except BankError as error:
            # Graders hide the bank (it holds the key) from the notebooks they run.
            print(f"No explanations here: {error}")
            return
    question = _bank[question_id]
    name = f"answer_{question_id}"
    if name not in namespace:
        print(f"Answer first: set {name} in the cell above and run it, then run this cell again.")
        return
    given = namespace[name]
    if not question.valid_answer(str(given)) or type(given) is not type(question.answer):
        print(f"{name} = {given!r} is not a valid answer: see the question for the format.")
        return
    if not (self_study_mode() if self_study is None else self_study):
        print(
            f"Recorded: {name} = {given!r}. The key and the explanation are revealed in your "
            f"feedback after grading; until then, reread {question.section} if you are unsure.\n"
            f"(For instant answers, practise with `asyncdb-lab drill`, or start JupyterLab "
            f"with {SELF_STUDY_ENV}=1.)"
        )
        return
    verdict = "✓ Right." if question.check(str(given)) else f"✗ The answer is {question.answer!r}."
    print(f"{verdict}\n{question.explanation}\n(Taught in {question.section}.)")
