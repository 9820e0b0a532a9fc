"""nbgrader's Execute preprocessor, made safe for submissions that misbehave.

- The notebook has one time budget: each cell gets what is left of it (at most the course's
  cell timeout). A cell that uses it up is interrupted and the notebook stops there.
- A kernel that dies, runs out of memory or does not come back after an interrupt stops the
  notebook too. Cells that did not run get an error output saying why, so nbgrader scores
  their tests zero: the notebook is scored on what ran, never on what did not.
- After each test cell, a canary cell the grader makes up runs: it must fail with an exact
  message. If it does not, learner code has changed how failures are reported (a patched
  `showtraceback` or `expect`, say) and the submission is flagged.
- Learner output is capped in size, and output a test cell produced cannot be cleared.
"""

from __future__ import annotations

import ast
import secrets
import time
import typing as t
from dataclasses import dataclass

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbconvert.preprocessors.execute import NotebookClient
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_output
from nbgrader.preprocessors import Execute
from nbgrader.utils import is_grade

from asyncdb_lab.grading import context
from asyncdb_lab.grading.kernel import SandboxedKernelManager

NOTEBOOK_OUTPUT_BYTES = 4 * 1024**2
CELL_OUTPUT_BYTES = 512 * 1024
ERROR_TEXT_CHARS = 4000
ERROR_TRACEBACK_LINES = 40
CANARY_SECONDS = 10
STOPPED = "GradingStopped"


class GradingExecute(Execute):
    def __init__(self, **kwargs: t.Any) -> None:
        kwargs["kernel_manager_class"] = SandboxedKernelManager
        super().__init__(**kwargs)

    def preprocess(
        self, nb: NotebookNode, resources: t.Any = None, km: t.Any = None
    ) -> tuple[NotebookNode, t.Any]:
        job = context.current()
        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        # A stopped or finished kernel has nothing to say any more: kill it at once.
        self.shutdown_kernel = "immediate"
        self._cell_timeout: int | None = self.timeout
        self._output_bytes = 0
        self._capped_cells: set[int] = set()
        started = time.monotonic()
        ready = 0.0
        try:
            with self.setup_kernel():
                info = self.wait_for_reply(self.kc.kernel_info())
                if info is not None:
                    self.nb.metadata["language_info"] = info["content"]["language_info"]
                # The time limit is the notebook's: it starts once the kernel is up.
                ready = time.monotonic()
                job.execution.kernel_start_seconds = round(ready - started, 2)
                job.deadline = ready + job.time_limit
                try:
                    self._run_cells(job, resources)
                finally:
                    job.execution.cells_seconds = round(time.monotonic() - ready, 2)
        except (DeadKernelError, CellTimeoutError, RuntimeError, TimeoutError) as error:
            if not ready:
                _stop(job, "kernel-start", f"the kernel could not start: {_one_line(error)}")
            else:
                _stop(job, "unresponsive", f"talking to the kernel failed: {_one_line(error)}")
        for cell in self.nb.cells:
            if cell.cell_type == "code" and job.execution.stop and _never_ran(cell):
                _mark_not_run(cell, job.execution.stop)
        self.set_widgets_metadata()
        return self.nb, self.resources

    # -- running ------------------------------------------------------------------------------

    def _run_cells(self, job: context.Job, resources: t.Any) -> None:
        for index, cell in enumerate(self.nb.cells):
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            if job.execution.stop:
                return
            if not self._run_one(job, resources, cell, index):
                return
            job.execution.cells_run += 1
            if is_grade(cell) and not self._run_canary(job, resources, cell):
                return

    def _run_one(self, job: context.Job, resources: t.Any, cell: NotebookNode, index: int) -> bool:
        """Run one cell within the notebook's budget; False when the notebook must stop."""
        remaining = job.deadline - time.monotonic()
        if remaining <= 0:
            _stop(job, "time-limit", _time_limit_message(job, index))
            return False
        self.timeout = max(1, int(min(self._cell_timeout or remaining, remaining) + 0.999))
        try:
            self.preprocess_cell(cell, resources, index)
        except DeadKernelError:
            _stop(job, "kernel-died", f"{self._death()} in cell {_number(index)}")
            cell.outputs.append(_error("KernelDied", job.execution.stop))
            return False
        except CellTimeoutError:
            kind = "time-limit" if time.monotonic() >= job.deadline - 1 else "unresponsive"
            message = (
                _time_limit_message(job, index)
                if kind == "time-limit"
                else f"the kernel did not respond after cell {_number(index)} was interrupted"
            )
            _stop(job, kind, message)
            cell.outputs.append(_error(STOPPED, message))
            return False
        names = {output.get("ename") for output in cell.outputs if output.output_type == "error"}
        if "MemoryError" in names:
            limit = job.memory_limit / 1024**3
            _stop(
                job,
                "memory-limit",
                f"ran out of memory (limit {limit:g} GiB) in cell {_number(index)}",
            )
            return False
        if "CellTimeoutError" in names and time.monotonic() >= job.deadline - 1:
            _stop(job, "time-limit", _time_limit_message(job, index))
            return False
        # After a cell timeout within the budget the interrupt worked (the kernel is idle
        # again, or nbclient would have raised): the notebook goes on.
        return True

    def _run_canary(self, job: context.Job, resources: t.Any, test: NotebookNode) -> bool:
        """Run a canary after a test cell (and note it if it passed); False: stop the notebook."""
        canary = Canary.after(test)
        self.nb.cells.append(canary.cell)
        position = len(self.nb.cells) - 1
        remaining = job.deadline - time.monotonic()
        self.timeout = max(1, int(min(CANARY_SECONDS, remaining) + 0.999))
        try:
            self.preprocess_cell(canary.cell, resources, position)
        except DeadKernelError:
            _stop(job, "kernel-died", f"{self._death()} after cell {_number(position)}")
            return False
        except CellTimeoutError:
            _stop(job, "unresponsive", "the kernel stopped answering between two test cells")
            return False
        finally:
            self.nb.cells.pop()
        if not canary.tripped():
            grade_id = test.metadata.nbgrader["grade_id"]
            job.execution.tampering.append(
                f"a check the grader added after {grade_id} must fail and did not "
                f"(its output: {canary.describe()})"
            )
        return True

    def _death(self) -> str:
        code = None
        provisioner = getattr(self.km, "provisioner", None)
        process = getattr(provisioner, "process", None)
        if process is not None:
            code = process.poll()
        if code is None:
            return "the kernel died"
        if code > 128:
            return f"the kernel was killed by signal {code - 128}"
        return f"the kernel exited (code {code})"

    # -- outputs ------------------------------------------------------------------------------

    def output(
        self, outs: list[NotebookNode], msg: dict, display_id: str | None, cell_index: int
    ) -> NotebookNode | None:
        out = super().output(outs, msg, display_id, cell_index)
        if out is None:
            return None
        if out.output_type == "error":
            _shorten_error(out)
            return out
        size = _size(out)
        cell_bytes = sum(_size(o) for o in outs if o is not out)
        if (
            self._output_bytes + size > NOTEBOOK_OUTPUT_BYTES
            or cell_bytes + size > CELL_OUTPUT_BYTES
        ):
            outs.pop()
            context.current().execution.output_capped = True
            if cell_index not in self._capped_cells:
                self._capped_cells.add(cell_index)
                outs.append(
                    new_output(
                        "stream",
                        name="stdout",
                        text="\n[asyncdb-lab: the rest of this cell's output was dropped]\n",
                    )
                )
            return None
        self._output_bytes += size
        return out

    def clear_output(self, outs: list[NotebookNode], msg: dict, cell_index: int) -> None:
        # A test cell's output decides its score: nothing may clear it (an error, say).
        if cell_index < len(self.nb.cells) and is_grade(self.nb.cells[cell_index]):
            return
        super().clear_output(outs, msg, cell_index)


@dataclass
class Canary:
    """A cell shaped like a test cell that must fail with exactly `expected`."""

    cell: NotebookNode
    expected: str

    @classmethod
    def after(cls, test: NotebookNode) -> Canary:
        from asyncdb_lab.checks import expect

        got = 100_000 + secrets.randbelow(900_000)
        wanted = got + 1 + secrets.randbelow(999)
        what = f"check {secrets.token_hex(4)}"
        body = f'from asyncdb_lab.checks import expect\n\nexpect({got}, {wanted}, "{what}")\n'
        # It opens like the test before it (the course's one-line docstring), when that parses.
        first_line = test.source.strip().splitlines()[0] if test.source.strip() else ""
        source = f"{first_line}\n{body}"
        if not first_line.startswith(('"""', "#")) or not _parses(source):
            source = f'"""Check that the grader\'s check runs."""\n{body}'
        try:
            expect(got, wanted, what)
        except AssertionError as error:
            expected = str(error)
        return cls(new_code_cell(source), expected)

    def tripped(self) -> bool:
        return any(
            output.output_type == "error"
            and output.get("ename") == "AssertionError"
            and output.get("evalue") == self.expected
            for output in self.cell.outputs
        )

    def describe(self) -> str:
        errors = [o for o in self.cell.outputs if o.output_type == "error"]
        if not errors:
            return "no error"
        return f"{errors[0].get('ename')}: {_one_line(errors[0].get('evalue', ''))[:80]}"


# -- helpers ----------------------------------------------------------------------------------


def _parses(source: str) -> bool:
    try:
        compile(source, "<canary>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    except SyntaxError:
        return False
    return True


def _stop(job: context.Job, kind: str, message: str) -> None:
    if not job.execution.stop:
        job.execution.stop = message
        job.execution.stop_kind = kind


def _time_limit_message(job: context.Job, index: int) -> str:
    return f"stopped at the notebook's time limit ({job.time_limit:g} s) in cell {_number(index)}"


def _number(index: int) -> int:
    return index + 1


def _error(name: str, message: str) -> NotebookNode:
    return new_output("error", ename=name, evalue=message, traceback=[f"{name}: {message}"])


def _never_ran(cell: NotebookNode) -> bool:
    return cell.get("execution_count") is None and not cell.get("outputs")


def _mark_not_run(cell: NotebookNode, why: str) -> None:
    cell.outputs = [_error(STOPPED, f"not run: {why}")]


def _shorten_error(out: NotebookNode) -> None:
    out.ename = str(out.get("ename", ""))[:200]
    out.evalue = str(out.get("evalue", ""))[:ERROR_TEXT_CHARS]
    traceback = [str(line)[:ERROR_TEXT_CHARS] for line in out.get("traceback", [])]
    out.traceback = traceback[-ERROR_TRACEBACK_LINES:]


def _size(out: NotebookNode) -> int:
    if out.output_type == "stream":
        return len(out.get("text", ""))
    return sum(len(str(value)) for value in out.get("data", {}).values())


def _one_line(error: object) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
