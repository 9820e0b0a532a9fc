"""Run a question's proof against a fresh PostgreSQL database and say whether the key holds.

A proof's `run` is the body of `async def proof(db, engine, session_factory)`. Names that
snippets commonly use (select, text, the models, selectinload, …) are already imported.
`statements()` opens a statement counter on the engine: when the proof uses it, only the
statements inside the last such block are counted; otherwise every statement of the run is.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Any

from asyncdb_lab.checks import same
from asyncdb_lab.databases import disposable_database
from asyncdb_lab.instruments.statements import StatementLog, count_statements
from asyncdb_lab.interview.bank import Question

_PRELUDE = """
import asyncio
from decimal import Decimal
from datetime import date, datetime, timedelta
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import *  # noqa: F403 - snippets name SQLAlchemy's exceptions freely
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import joinedload, raiseload, selectinload, subqueryload
from sqlalchemy.pool import NullPool, QueuePool
from asyncdb_lab.models import Account, Base, Order, OrderItem, Post, Product, User
"""


@dataclass(frozen=True)
class ProofOutcome:
    statements: int
    raised: str | None  # the exception's class name, with its bases after a "<"
    value: Any

    def describe(self) -> str:
        if self.raised:
            return f"raised {self.raised.split('<')[0]} after {self.statements} statement(s)"
        return f"returned {self.value!r} after {self.statements} statement(s)"


async def run_proof(question: Question) -> ProofOutcome:
    assert question.proof is not None, f"{question.id} has no proof"
    proof = question.proof
    namespace: dict[str, Any] = {}
    exec(compile(_PRELUDE, "<prelude>", "exec"), namespace)
    body = textwrap.indent(textwrap.dedent(proof.run), "    ")
    source = f"async def __proof__(db, engine, session_factory):\n{body}\n"
    exec(compile(source, f"<proof of {question.id}>", "exec"), namespace)
    inner_logs: list[StatementLog] = []

    async with disposable_database(
        seed=proof.database == "seed",
        tables=proof.database == "tables",
        label=f"proof_{question.id}"[:20],
        say=False,
    ) as db:

        class statements(count_statements):
            def __enter__(self) -> StatementLog:
                log = super().__enter__()
                inner_logs.append(log)
                return log

        namespace["statements"] = lambda: statements(db.engine)
        raised: BaseException | None = None
        value: Any = None
        with count_statements(db.engine) as whole:
            try:
                value = await namespace["__proof__"](db, db.engine, db.session_factory)
            except Exception as error:  # the proof may be that it raises
                raised = error
        counted = inner_logs[-1].count if inner_logs else whole.count
    names = None
    if raised is not None:
        names = "<".join(cls.__name__ for cls in type(raised).__mro__[:-2])
    return ProofOutcome(counted, names, value)


def holds(question: Question, outcome: ProofOutcome) -> bool:
    """Does what happened match what the proof (and so the answer key) says?"""
    assert question.proof is not None
    ((what, expected),) = question.proof.expect.items()
    if what == "raises":
        return outcome.raised is not None and expected in outcome.raised.split("<")
    if outcome.raised is not None:
        return False
    if what == "statements":
        return outcome.statements == expected
    return same(outcome.value, expected)
