"""Notebook 12's reveal cells: after answering, show whether it was right and why."""

from __future__ import annotations

from typing import Any

from asyncdb_lab.interview.bank import BankError, Question, load_bank

_bank: dict[str, Question] | None = None


def reveal(question_id: str, namespace: dict[str, Any]) -> None:
    """Print ✓/✗ and the explanation once `answer_<id>` exists in `namespace`."""
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
    verdict = "✓ Right." if question.check(str(given)) else f"✗ The answer is {question.answer!r}."
    print(f"{verdict}\n{question.explanation}\n(Taught in {question.section}.)")
