"""nbgrader's Execute preprocessor, made safe for submissions that misbehave.

- The notebook has one time budget: each cell gets what is left of it (at most the course's
  cell timeout). A cell that uses it up is interrupted and the notebook stops there.
- A kernel that dies, runs out of memory or does not come back after an interrupt stops the
  notebook too. Cells that did not run get an error output saying why, so nbgrader scores
  their tests zero: the notebook is scored on what ran, never on what did not.
- A test cell fails if it showed an error or if the kernel's reply says it raised: an error
  learner code kept out of the outputs still counts.
- Around each test cell, silent requests (probes.py) look for tampering: an inventory of the
  course library and of IPython's machinery compared with the one taken at start, a check that
  must fail, and a canary: a byte-for-byte copy of the test cell, run just before or just after
  it (at random) with a fault armed that must make it fail with a secret message. Any miss flags
  the submission.
- Learner output is capped in size, output a test cell produced cannot be cleared or captured
  (no output widgets), and a malformed message from the kernel is dropped, not fatal.
"""

from __future__ import annotations

import secrets
import time
import typing as t

import zmq
from nbclient.exceptions import CellControlSignal, CellTimeoutError, DeadKernelError
from nbconvert.preprocessors.execute import NotebookClient
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_output
from nbgrader.preprocessors import Execute
from nbgrader.utils import is_grade

from asyncdb_lab.grading import context
from asyncdb_lab.grading.bindings import CourseBindings, read_kept, read_restored
from asyncdb_lab.grading.kernel import SandboxedKernelManager
from asyncdb_lab.grading.probes import (
    ArmedFault,
    FailingCheck,
    inventory_request,
    read_inventory,
    replaced,
)
from asyncdb_lab.grading.sandbox import memory_limit_hit

NOTEBOOK_OUTPUT_BYTES = 4 * 1024**2
CELL_OUTPUT_BYTES = 512 * 1024
ERROR_TEXT_CHARS = 4000
ERROR_TRACEBACK_LINES = 40
CANARY_SECONDS = 10
# A bigger message from the kernel is dropped before it reaches memory (the peer is disconnected
# and reconnects): one 400 MB print must not grow the worker by 400 MB.
MESSAGE_BYTES = 8 * 1024**2
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
        self._replies: dict[int, dict] = {}
        self._last_test = ""
        self._kept: dict[str, int] = {}  # course names → the id of the object kept for each
        self._bindings = CourseBindings.of(
            job.release_cells, [cell.source for cell in self.nb.cells if is_grade(cell)]
        )
        self._baseline: dict[str, object] | None = None
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
                self._baseline = self._take_inventory(job, "when the kernel started")
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
            if not is_grade(cell):
                if not self._run_one(job, resources, cell, index):
                    return
                job.execution.cells_run += 1
                if not self._keep_course_names(job, cell):
                    return
                continue
            if not self._run_test(job, resources, cell, index):
                return
        if self._last_test:
            # What the cells after the last test did to them is checked before each next test.
            self._check_integrity(job, f"after {self._last_test}")

    def _run_test(self, job: context.Job, resources: t.Any, cell: NotebookNode, index: int) -> bool:
        """A test cell with its probes around it; False when the notebook must stop."""
        name = cell.metadata.nbgrader["grade_id"]
        canary_first = secrets.randbelow(2) == 0
        if not self._restore_course_names(job, name):
            return False
        if not self._check_integrity(job, f"before {name}"):
            return False
        if canary_first and not self._run_canary(job, resources, cell):
            return False
        if not self._run_one(job, resources, cell, index):
            return False
        job.execution.cells_run += 1
        self._count_hidden_error(job, cell, index)
        if not canary_first and not self._run_canary(job, resources, cell):
            return False
        self._last_test = name
        return True

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
            self._kernel_died(job, f"in cell {_number(index)}")
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
        """Run a copy of `test` that an armed fault must fail; False: stop the notebook."""
        grade_id = test.metadata.nbgrader["grade_id"]
        fault = ArmedFault.new(test.source)
        armed = self._silent(job, fault.source)
        if armed is None:
            return False
        if armed.get("status") != "ok":
            job.execution.tampering.append(
                f"the grader could not prepare its copy of {grade_id} "
                f"({armed.get('ename', 'error')}): IPython was changed"
            )
            return True
        canary = new_code_cell(test.source)
        self.nb.cells.append(canary)
        position = len(self.nb.cells) - 1
        self.timeout = self._probe_timeout(job)
        try:
            self.preprocess_cell(canary, resources, position)
        except DeadKernelError:
            self._kernel_died(job, "between two test cells")
            return False
        except CellTimeoutError:
            _stop(job, "unresponsive", "the kernel stopped answering between two test cells")
            return False
        finally:
            self.nb.cells.pop()
        if not fault.tripped(canary.outputs, self._replies.pop(position, None)):
            job.execution.tampering.append(
                f"a copy of {grade_id} the grader ran must fail and did not "
                f"(its output: {_describe_errors(canary.outputs)})"
            )
        return True

    def _keep_course_names(self, job: context.Job, cell: NotebookNode) -> bool:
        """After a course cell: keep the names it bound; False: stop the notebook."""
        keep = self._bindings.keep_after(cell)
        if keep is None:
            return True
        reply = self._silent(job, *keep)
        if reply is None:
            return False
        kept = read_kept(reply)
        if kept is None:
            job.execution.tampering.append(
                "the kernel did not let the grader keep the names the notebook's own cells bound"
            )
        else:
            self._kept.update(kept)
        return True

    def _restore_course_names(self, job: context.Job, test: str) -> bool:
        """Bind the names the course's cells bound again; False: stop the notebook."""
        code, expressions = self._bindings.restore()
        reply = self._silent(job, code, expressions)
        if reply is None:
            return False
        restored = read_restored(reply)
        if restored is None:
            job.execution.tampering.append(
                f"the kernel did not let the grader restore the notebook's own names before {test}"
            )
            return True
        names, now = restored
        swapped = sorted(name for name, kept in self._kept.items() if now.get(name) != kept)
        if swapped:
            job.execution.tampering.append(
                f"learner code changed the grader's kept copy of {', '.join(swapped[:4])} "
                f"(before {test})"
            )
        elif names:
            note = (
                f"before {test}, {', '.join(names[:6])} bound again as the notebook's own cells "
                f"left them (a later cell had changed them)"
            )
            job.execution.notes.append(note)
        return True

    def _check_integrity(self, job: context.Job, when: str) -> bool:
        """The failing check and the inventory; False: stop the notebook (the kernel is gone)."""
        check = FailingCheck.new()
        reply = self._silent(job, check.source)
        if reply is None:
            return False
        if not check.held(reply):
            job.execution.tampering.append(
                f"the course's expect() did not fail as it must {when} "
                f"(it gave {reply.get('ename') or 'no error'})"
            )
        now = self._take_inventory(job, when)
        if now is None or self._baseline is None:
            return not job.execution.stop
        changed = replaced(self._baseline, now)
        if changed:
            more = f" and {len(changed) - 4} more" if len(changed) > 4 else ""
            shown = ", ".join(changed[:4]) + more
            job.execution.tampering.append(f"learner code replaced {shown} ({when})")
            self._baseline = {**self._baseline, **{key: now[key] for key in changed}}
        return True

    def _take_inventory(self, job: context.Job, when: str) -> dict[str, object] | None:
        code, expressions = inventory_request()
        reply = self._silent(job, code, expressions)
        if reply is None:
            return None
        found = read_inventory(reply)
        if found is None:
            job.execution.tampering.append(
                f"the kernel did not answer the grader's inventory {when} "
                f"({reply.get('ename') or reply.get('status')})"
            )
        return found

    def _silent(
        self, job: context.Job, code: str, expressions: dict[str, str] | None = None
    ) -> dict | None:
        """Run `code` silently; its reply's content, or None when the notebook stopped."""
        assert self.kc is not None
        remaining = job.deadline - time.monotonic()
        if remaining <= 0:
            _stop(job, "time-limit", f"stopped at the notebook's time limit ({job.time_limit:g} s)")
            return None
        msg_id = self.kc.execute(
            code,
            silent=True,
            store_history=False,
            allow_stdin=False,
            user_expressions=expressions or {},
        )
        self.timeout = self._probe_timeout(job)
        try:
            reply = self.wait_for_reply(msg_id)
        except (TimeoutError, CellTimeoutError):
            _stop(job, "unresponsive", "the kernel stopped answering the grader between cells")
            return None
        except DeadKernelError:
            self._kernel_died(job, "between cells")
            return None
        if reply is None:
            _stop(job, "unresponsive", "the kernel stopped answering the grader between cells")
            return None
        return dict(reply.get("content", {}))

    def _probe_timeout(self, job: context.Job) -> int:
        remaining = job.deadline - time.monotonic()
        return max(1, int(min(CANARY_SECONDS, remaining) + 0.999))

    def _count_hidden_error(self, job: context.Job, cell: NotebookNode, index: int) -> None:
        """A test whose reply says it raised fails, shown or not; a hidden error is tampering."""
        reply = self._replies.pop(index, None) or {}
        shown = any(output.get("output_type") == "error" for output in cell.outputs)
        if reply.get("status") != "error" or shown:
            return
        ename = str(reply.get("ename", "Error"))[:200]
        evalue = str(reply.get("evalue", ""))[:ERROR_TEXT_CHARS]
        cell.outputs.append(new_output("error", ename=ename, evalue=evalue, traceback=[]))
        grade_id = cell.metadata.nbgrader["grade_id"]
        job.execution.tampering.append(
            f"{grade_id} raised {ename} but its error was kept out of the outputs"
        )

    async def _check_raise_for_error(
        self, cell: NotebookNode, cell_index: int, exec_reply: dict[str, t.Any] | None
    ) -> None:
        if exec_reply is not None:
            self._replies[cell_index] = dict(exec_reply.get("content", {}))
        await super()._check_raise_for_error(cell, cell_index, exec_reply)

    async def async_start_new_kernel_client(self) -> t.Any:
        assert self.km is not None
        self.km.context.setsockopt(zmq.MAXMSGSIZE, MESSAGE_BYTES)
        return await super().async_start_new_kernel_client()

    def _kernel_died(self, job: context.Job, where: str) -> None:
        """Stop the notebook: out of memory if its cgroup killed for memory, else a death."""
        if memory_limit_hit(job.sandbox):
            limit = job.memory_limit / 1024**3
            _stop(job, "memory-limit", f"ran out of memory (limit {limit:g} GiB) {where}")
        else:
            _stop(job, "kernel-died", f"{self._death()} {where}")

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

    def process_message(
        self, msg: dict, cell: NotebookNode, cell_index: int
    ) -> NotebookNode | None:
        try:
            return super().process_message(msg, cell, cell_index)
        except CellControlSignal:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            self._malformed(msg, error)
            return None

    def handle_comm_msg(self, outs: list[NotebookNode], msg: dict, cell_index: int) -> None:
        """Widgets are not graded: an output widget must not capture a test's error."""

    def _update_display_id(self, display_id: str, msg: dict) -> None:
        try:
            super()._update_display_id(display_id, msg)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            self._malformed(msg, error)

    def _malformed(self, msg: dict, error: Exception) -> None:
        kind = str(msg.get("msg_type", "?"))[:40] if isinstance(msg, dict) else "?"
        notes = context.current().execution.notes
        note = f"a malformed {kind} message from the kernel was dropped ({type(error).__name__})"
        if note not in notes:
            notes.append(note)

    def output(
        self, outs: list[NotebookNode], msg: dict, display_id: str | None, cell_index: int
    ) -> NotebookNode | None:
        self.output_hook_stack.clear()  # nothing may take a cell's outputs away from it
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


# -- helpers ----------------------------------------------------------------------------------


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


def _describe_errors(outputs: list[NotebookNode]) -> str:
    errors = [o for o in outputs if o.get("output_type") == "error"]
    if not errors:
        return "no error"
    return f"{errors[0].get('ename')}: {_one_line(errors[0].get('evalue', ''))[:80]}"


def _one_line(error: object) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
