"""Wrong answers for notebook 12, made from the question bank: a wrong letter, or a count off by
one (for selectinload, the source tutorial's "2 queries"). The answers are independent of one
another, so they are graded in two halves rather than one notebook per question."""

from asyncdb_lab.interview.bank import load_bank

INDEPENDENT = True


def _wrong(question):
    if question.kind == "count":
        return question.answer - 1 if question.answer > 1 else question.answer + 1
    return next(key for key in question.choices if key != question.answer)


def _cell(question, value):
    kind = "int" if question.kind == "count" else "str"
    name = f"answer_{question.id}"
    return f"# Your answer.\n{name}: {kind}\n{name} = {value!r}\n"


WRONG_ANSWERS = {
    f"answer_{q.id}": [(f"answers {_wrong(q)!r} instead of {q.answer!r}", _cell(q, _wrong(q)))]
    for q in load_bank()
    if q.graded
}
