"""Loaded by the kernels of the learner's JupyterLab (lab_data/kernels/python3), as an IPython
extension: importing it imports what a notebook's setup cell imports (SQLAlchemy, asyncpg and
the course's helpers, about 0.2 s) while the kernel starts, so that the setup cell itself only
waits for its database. It binds no name in the notebook and changes nothing in IPython.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from asyncdb_lab import _EXPORTS

for _module in sorted(set(_EXPORTS.values())):
    import_module(f"asyncdb_lab.{_module}")
# Both are loaded by the first connection otherwise.
import_module("sqlalchemy.dialects.postgresql.asyncpg")
import_module("asyncpg")


def load_ipython_extension(ipython: Any) -> None:
    """Nothing to do: the imports above are the point."""
