"""pool_snapshot(): what an engine's connection pool holds right now, honestly counted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PoolSnapshot:
    pool_class: str
    size: int  # pool_size: connections kept open when idle
    checked_out: int  # lent to sessions or connections right now
    checked_in: int  # open and idle in the pool
    overflow: int  # connections beyond pool_size right now (never negative here)
    max_overflow: int
    timeout: float | None

    @property
    def open_connections(self) -> int:
        return self.checked_out + self.checked_in

    def __str__(self) -> str:
        return (
            f"{self.pool_class}: {self.checked_out} checked out, {self.checked_in} idle, "
            f"{self.open_connections} open (size {self.size}, overflow {self.overflow}/"
            f"{self.max_overflow}, timeout {self.timeout} s)"
        )


def pool_snapshot(engine: Any) -> PoolSnapshot:
    """Counts for a QueuePool-style pool; for pools without counters (NullPool) they are zero.

    Note: QueuePool.overflow() is negative while fewer than pool_size connections have ever
    been opened (it counts from -pool_size); the snapshot reports max(0, …).
    """
    pool = getattr(engine, "sync_engine", engine).pool
    name = type(pool).__name__
    if not hasattr(pool, "checkedout"):
        return PoolSnapshot(name, 0, 0, 0, 0, 0, None)
    return PoolSnapshot(
        pool_class=name,
        size=pool.size(),
        checked_out=pool.checkedout(),
        checked_in=pool.checkedin(),
        overflow=max(0, pool.overflow()),
        max_overflow=getattr(pool, "_max_overflow", 0),
        timeout=pool.timeout() if callable(getattr(pool, "timeout", None)) else None,
    )
