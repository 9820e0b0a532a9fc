"""Wrong answers for notebook 12, made from the question bank. The answers are independent of one
another, so the k-th wrong answer of every question is graded in one of two notebooks (halves)
rather than one notebook per question.

Kinds: a wrong letter; the strategies of someone who has not read the notebook (one letter
everywhere, the longest option, the shortest option), each where it differs from the key; counts
one off either way (the source tutorial's "2 queries" for selectinload is one of them) and the
count of someone who believes it is all one round trip. Correct alternatives: the letter in upper
case with spaces around it, and a count computed rather than typed.
"""

from asyncdb_lab.interview.bank import load_bank

INDEPENDENT = True
QUESTIONS = [q for q in load_bank() if q.graded]


def _cell(question, value):
    kind = "int" if question.kind == "count" else "str"
    name = f"answer_{question.id}"
    return f"# Your answer.\n{name}: {kind}\n{name} = {value!r}\n"


def _wrong_letter(question):
    return next(key for key in question.choices if key != question.answer)


def _by_length(question, pick):
    return pick(question.choices, key=lambda key: len(question.choices[key]))


def _wrong_answers(question):
    """(label, value) of each kind that is wrong for this question."""
    if question.kind == "count":
        kinds = [
            ("one statement fewer than the key", question.answer - 1),
            ("one statement more than the key (counts BEGIN or COMMIT)", question.answer + 1),
            ("a single round trip, whatever the code does", 1),
        ]
    else:
        kinds = [
            ("a wrong letter", _wrong_letter(question)),
            ("the same letter everywhere ('b')", "b"),
            ("the longest option", _by_length(question, max)),
            ("the shortest option", _by_length(question, min)),
        ]
    wrong, seen = [], {question.answer}
    for label, value in kinds:
        if value not in seen and (question.kind != "count" or value >= 0):
            wrong.append((label, value))
            seen.add(value)
    return [(f"{label}: {value!r} instead of {question.answer!r}", _cell(question, value))
            for label, value in wrong]  # fmt: skip


def _alternative(question):
    name = f"answer_{question.id}"
    if question.kind == "count":
        value = f"len([{', '.join(['None'] * question.answer)}])"
        return (
            "the count as an expression",
            f"# Statements counted in the log.\n{name} = {value}\n",
        )
    return ("the letter in upper case, with spaces", f'{name} = "  {question.answer.upper()} "\n')


WRONG_ANSWERS = {f"answer_{q.id}": _wrong_answers(q) for q in QUESTIONS}
CORRECT_ALTERNATIVES = {f"answer_{q.id}": [_alternative(q)] for q in QUESTIONS}
