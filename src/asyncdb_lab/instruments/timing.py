"""Small timers for lessons: medians over several runs, printed with the spread."""

from __future__ import annotations

import inspect
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Timing:
    label: str
    seconds: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def __str__(self) -> str:
        runs = len(self.seconds)
        if runs == 1:
            return f"{self.label}: {_human(self.seconds[0])}"
        return (
            f"{self.label}: median {_human(self.median)} over {runs} runs "
            f"(min {_human(min(self.seconds))}, max {_human(max(self.seconds))})"
        )


async def measure(
    label: str, work: Callable[[], Any], *, runs: int = 5, warmup: int = 1, say: bool = True
) -> Timing:
    """Run `work()` (sync or async) warmup + runs times; print and return the timings."""
    for _ in range(warmup):
        await _call(work)
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        await _call(work)
        seconds.append(time.perf_counter() - started)
    timing = Timing(label, tuple(seconds))
    if say:
        print(timing)
    return timing


class stopwatch:
    """Time one block: `with stopwatch("load") as watch: …`; prints on exit unless say=False."""

    def __init__(self, label: str = "elapsed", *, say: bool = True) -> None:
        self.label = label
        self.say = say
        self.seconds = 0.0
        self._started = 0.0

    def __enter__(self) -> stopwatch:
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.seconds = time.perf_counter() - self._started
        if self.say:
            print(f"{self.label}: {_human(self.seconds)}")


async def _call(work: Callable[[], Any]) -> Any:
    result = work()
    if inspect.isawaitable(result):
        result = await result
    return result


def _human(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"
