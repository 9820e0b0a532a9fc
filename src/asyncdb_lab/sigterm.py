"""SIGTERM ends a process that uses the library as a normal exit does: its databases dropped.

Python's default for SIGTERM ends the process at once, without exit hooks, so a url or docker
backend's databases would wait for the next start's sweep. A Jupyter kernel gets SIGTERM when
it has not exited 2.5 s after being asked to shut down (jupyter_client: half its
shutdown_wait_time; SIGKILL follows at 5 s), and `kill` sends it too. The handler stops the
server and then dies of SIGTERM as the process would have; a SIGTERM that arrives while the
exit hook is already stopping the server is ignored, so that stop can finish.

The handler is installed only where no one else has one: a program with its own SIGTERM
handling (the grader, `asyncdb-lab db`, a web server) keeps it.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from types import FrameType


def stop_on_sigterm(stop: Callable[[], None], stopping: Callable[[], bool]) -> None:
    """Run `stop` on SIGTERM (unless `stopping()`), then die of SIGTERM. Main thread only."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if stopping():
            return
        try:
            stop()
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, handler)
