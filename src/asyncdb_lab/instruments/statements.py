"""count_statements(): see every SQL statement an engine sends, and how many.

    with count_statements(engine) as sql:
        await session.execute(select(User).options(selectinload(User.posts)))
    print(sql)          # the numbered statements
    assert sql.count == 2

In the spirit of SQLAlchemy's own `testing/assertsql.py`: a listener on the engine's
before_cursor_execute event, so it sees exactly what the driver is asked to run.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

_PARAMETER_PREVIEW = 120


@dataclass(frozen=True)
class Statement:
    sql: str
    parameters: Any
    executemany: bool

    @property
    def verb(self) -> str:
        """The first keyword: SELECT, INSERT, UPDATE, DELETE, WITH …"""
        return self.sql.lstrip().split(None, 1)[0].upper() if self.sql.strip() else ""


@dataclass
class StatementLog:
    """The statements seen inside a count_statements() block, in order."""

    statements: list[Statement] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.statements)

    def of(self, verb: str) -> list[Statement]:
        """The statements that start with `verb` (SELECT, INSERT, …)."""
        return [s for s in self.statements if s.verb == verb.upper()]

    @property
    def sql(self) -> list[str]:
        return [s.sql for s in self.statements]

    def report(self, *, limit: int = 10) -> str:
        lines = [f"{self.count} statement{'s' if self.count != 1 else ''}"]
        for number, statement in enumerate(self.statements[:limit], start=1):
            text = " ".join(statement.sql.split())
            suffix = "  -- executemany" if statement.executemany else ""
            lines.append(f"  [{number}] {text}{suffix}")
            params = repr(statement.parameters)
            if statement.parameters not in (None, (), [], {}):
                lines.append(f"      params: {params[:_PARAMETER_PREVIEW]}")
        if self.count > limit:
            lines.append(f"  … and {self.count - limit} more")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()

    def __repr__(self) -> str:
        return f"<StatementLog count={self.count}>"


class count_statements:
    """Records the SQL sent through `bind` (an engine, connection or session) inside the block.

    Pass echo=True to also print each statement as it is sent.
    """

    def __init__(self, bind: Any, *, echo: bool = False) -> None:
        self._engine = _sync_engine(bind)
        self._echo = echo
        self._lock = threading.Lock()
        self.log = StatementLog()

    def _record(
        self,
        conn: Any,
        cursor: Any,
        statement: str,
        parameters: Any,
        context: Any,
        executemany: bool,
    ) -> None:
        with self._lock:
            self.log.statements.append(Statement(statement, parameters, executemany))
        if self._echo:
            print(f"SQL> {' '.join(statement.split())}")

    def __enter__(self) -> StatementLog:
        event.listen(self._engine, "before_cursor_execute", self._record)
        return self.log

    def __exit__(self, *exc_info: object) -> None:
        event.remove(self._engine, "before_cursor_execute", self._record)


def _sync_engine(bind: Any) -> Engine:
    """The sync Engine behind an AsyncEngine, AsyncConnection, AsyncSession, Engine or Session."""
    candidate = bind
    if hasattr(candidate, "get_bind") and not isinstance(candidate, Engine):
        candidate = candidate.get_bind()  # Session / AsyncSession: the engine it is bound to
    if hasattr(candidate, "sync_engine"):
        candidate = candidate.sync_engine
    if hasattr(candidate, "engine") and not isinstance(candidate, Engine):
        candidate = candidate.engine
    if not isinstance(candidate, Engine):
        raise TypeError(
            f"count_statements() needs an engine, connection or session, not {type(bind).__name__}"
        )
    return candidate
