"""The learner commands' rough edges (issue 13): a damaged notebook, Ctrl-C, the names a learner
types, usage errors, and hints that come one at a time without telling what hidden tests check."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from support.learner import asyncdb_lab, cli_env
from support.processes import wait_until

from asyncdb_lab import cli
from asyncdb_lab.course.authoring import build
from asyncdb_lab.course.hints import learner_hints, load_hints
from asyncdb_lab.learner.check import CheckResult, ExerciseResult
from asyncdb_lab.learner.execute import KERNEL_FOLDER_PREFIX
from asyncdb_lab.learner.results import save_result
from asyncdb_lab.learner.workspace import (
    UsageError,
    resolve_notebook,
    resolve_topic,
    sync_workspace,
)

TOPICS = ["00_start_here", "01_engines_and_sessions", "10_testing_async_code", "12_interview_prep"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("rough") / "workspace"
    sync_workspace(folder)
    return folder


# -- 1. progress with a notebook that is not JSON -----------------------------------------------


def test_progress_names_a_notebook_it_cannot_read_and_lists_the_rest(workspace: Path):
    broken = workspace / "01_engines_and_sessions" / "01_engines_and_sessions.ipynb"
    saved = CheckResult("01_engines_and_sessions", str(broken), "x", "2025-01-01", 1.0, [])
    save_result(workspace, "01_engines_and_sessions", saved)  # a check before it was damaged
    original = broken.read_bytes()
    broken.write_text('{"cells": [')
    try:
        run = asyncdb_lab("progress", "--workspace", str(workspace), timeout=60)
    finally:
        broken.write_bytes(original)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    row = next(line for line in run.stdout.splitlines() if "01_engines_and_sessions" in line)
    assert "cannot be read (it is not valid JSON)" in row
    assert "asyncdb-lab reset 01_engines_and_sessions" in row
    for topic in ("00_start_here", "02_crud_and_repositories", "12_interview_prep"):
        assert f"asyncdb-lab check {topic}" in run.stdout


# -- 2. Ctrl-C ------------------------------------------------------------------------------------

SLEEPY = '''# %% solution id=nap
import os, pathlib, time
from asyncdb_lab import disposable_database

db = await disposable_database(seed=False)
pathlib.Path("kernel.pid").write_text(str(os.getpid()))
def nap():
    return 1
time.sleep(120)

# %% tests id=test_nap_one points=1
"""Check that nap works."""
assert nap() == 1
'''


def _start(args: list[str], cwd: Path, temp: Path | None = None) -> subprocess.Popen[str]:
    """The command in a session of its own, so that SIGINT goes to its whole process group, as
    Ctrl-C in a terminal does; with `temp` as its temporary folder if given."""
    return subprocess.Popen(
        [sys.executable, "-m", "asyncdb_lab.cli", *args],
        cwd=cwd,
        env={**cli_env(), "TMPDIR": str(temp)} if temp else cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _wait_for(found: Path, process: subprocess.Popen[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not found.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            out, err = process.communicate()
            raise AssertionError(f"{found.name} never appeared:\n{out}\n{err}")
        time.sleep(0.1)


def _alive(processes: list[psutil.Process]) -> list[str]:
    alive = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(f"{process.pid} {process.name()}")
        except psutil.NoSuchProcess:
            pass
    return alive


def _kernel_files(temp: Path, pid: int) -> list[Path]:
    """What the check of process `pid` keeps for its kernel: its sockets' folder (the connection
    file inside), in `temp` or, when `temp`'s path is too long for a socket's, in /tmp; and a
    connection file jupyter_client names itself, tmp*.json."""
    folders = [parent.glob(f"{KERNEL_FOLDER_PREFIX}{pid}-*") for parent in (temp, Path("/tmp"))]
    return [*folders[0], *folders[1], *temp.glob("tmp*.json")]


def test_ctrl_c_during_check_says_what_stopped_exits_130_and_leaves_nothing_running(
    tmp_path: Path,
):
    nbformat.write(build(SLEEPY), tmp_path / "sleepy.ipynb")
    temp = tmp_path / "tmp"  # too long a path for the kernel's sockets: they go in /tmp
    temp.mkdir()
    process = _start(["check", "sleepy.ipynb", "--timeout", "300"], tmp_path, temp)
    _wait_for(tmp_path / "kernel.pid", process, timeout=120)  # the cell is sleeping now
    started = psutil.Process(process.pid).children(recursive=True)
    kernel = int((tmp_path / "kernel.pid").read_text())
    assert kernel in {p.pid for p in started}
    os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, out + err
    assert err.strip().splitlines() == [
        "asyncdb-lab check: stopped checking sleepy.ipynb: its kernel and database were shut "
        "down, and nothing was saved (Ctrl-C)."
    ]
    assert "Traceback" not in out
    deadline = time.monotonic() + 60
    while _alive(started) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _alive(started) == [], "the kernel or its PostgreSQL outlived the check"
    assert _kernel_files(temp, process.pid) == []


def test_after_kill_9_of_check_its_kernel_ends_and_the_next_check_removes_its_folder(
    tmp_path: Path,
):
    nbformat.write(build(SLEEPY), tmp_path / "sleepy.ipynb")
    temp = tmp_path / "tmp"
    temp.mkdir()
    process = _start(["check", "sleepy.ipynb", "--timeout", "300"], tmp_path, temp)
    _wait_for(tmp_path / "kernel.pid", process, timeout=120)
    started = psutil.Process(process.pid).children(recursive=True)
    process.kill()  # kill -9 of the command alone: nothing of it runs its clean-up
    process.communicate(timeout=60)
    assert len(_kernel_files(temp, process.pid)) == 1
    assert wait_until(lambda: _alive(started) == [], timeout=60), (
        f"the kernel or its PostgreSQL outlived a killed check: {_alive(started)}"
    )
    (tmp_path / "kernel.pid").unlink()
    quick = build("# %% solution id=one\ndef one():\n    return 1\n")
    nbformat.write(quick, tmp_path / "quick.ipynb")
    again = _start(["check", "quick.ipynb"], tmp_path, temp)
    out, err = again.communicate(timeout=300)
    assert "Traceback" not in out + err
    assert "quick: checked in" in out, out + err
    assert _kernel_files(temp, process.pid) == []
    assert _kernel_files(temp, again.pid) == []


def test_ctrl_c_while_watching_says_so_in_one_line_and_exits_130(tmp_path: Path):
    nbformat.write(build("# %% solution id=one\ndef one():\n    return 1\n"), tmp_path / "w.ipynb")
    process = _start(["check", "--watch", "w.ipynb"], tmp_path)
    assert process.stdout is not None
    while "Watching" not in (line := process.stdout.readline()):
        assert line, process.communicate()
    os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, out + err
    assert err.strip().splitlines() == ["asyncdb-lab check: stopped watching (Ctrl-C)."]


@pytest.mark.parametrize("command", [["progress"], ["hint", "00"], ["reset", "00"]])
def test_ctrl_c_in_any_learner_command_is_one_line_and_130(
    command: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    from asyncdb_lab.cli import learner

    def interrupted(args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(learner, f"_{command[0]}", interrupted)
    assert cli.main(command) == 130
    assert capsys.readouterr().err == f"asyncdb-lab {command[0]}: interrupted (Ctrl-C).\n"


# -- 3. names, read one way by every command -----------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    ["00", "0", "00_start", "00_start_here", "00_start_here.ipynb",
     "workspace/00_start_here/00_start_here.ipynb", "00_start_here/"],
)  # fmt: skip
def test_every_form_of_a_notebooks_name_means_it(typed: str):
    assert resolve_topic(typed, TOPICS) == "00_start_here"


def test_numbers_are_numbers_and_unclear_names_are_usage_errors():
    assert resolve_topic("1", TOPICS) == "01_engines_and_sessions"
    assert resolve_topic("10", TOPICS) == "10_testing_async_code"
    with pytest.raises(UsageError, match="'engine' could mean 01_engines, 02_engine_room: type"):
        resolve_topic("engine", ["00_start_here", "01_engines", "02_engine_room"])
    with pytest.raises(UsageError, match=r"No notebook '99' in the course \(there are: 00_start_h"):
        resolve_topic("99", TOPICS)


def test_check_finds_the_file_name_jupyterlab_shows(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)  # where no such file is: the name is read as a notebook's
    expected = workspace / "00_start_here" / "00_start_here.ipynb"
    assert resolve_notebook("00_start_here.ipynb", workspace) == expected
    assert resolve_notebook("0", workspace) == expected


def test_hint_and_reset_take_the_names_check_takes(tmp_path: Path):
    hinted = asyncdb_lab("hint", "00", "--workspace", str(tmp_path), timeout=60)
    assert hinted.returncode == 0, hinted.stdout + hinted.stderr
    assert hinted.stdout.startswith("count_users (00_start_here):")
    by_file = asyncdb_lab("hint", "00_start_here.ipynb", "--workspace", str(tmp_path), timeout=60)
    assert by_file.stdout.startswith("test_count_users_seed (00_start_here):"), by_file.stdout
    reset = asyncdb_lab("reset", "00_start_here.ipynb", "--workspace", str(tmp_path), timeout=60)
    assert reset.returncode == 0, reset.stdout + reset.stderr
    assert (tmp_path / "00_start_here" / "00_start_here.ipynb").is_file()


# -- 4. usage errors exit 2 everywhere ------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["check", "99"], "asyncdb-lab check: No notebook '99' in "),
        (["check", "00", "--all"], "asyncdb-lab check: Name a notebook or give --all, not both"),
        (["check", "00", "--timeout", "0"], "asyncdb-lab check: --timeout 0: give the longest"),
        (["reset", "nope"], "asyncdb-lab reset: No notebook 'nope' in the course (there are"),
        (["hint", "nope"], "asyncdb-lab hint: No hint for 'nope'. Name an exercise"),
    ],
)
def test_usage_errors_exit_2_with_one_line_saying_what_to_do(
    workspace: Path, args: list[str], says: str
):
    run = asyncdb_lab(*args, "--workspace", str(workspace), timeout=60)
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stdout == ""
    assert len(run.stderr.strip().splitlines()) == 1 and run.stderr.startswith(says), run.stderr


# -- 5. hints, one at a time ----------------------------------------------------------------------


def _hint(workspace: Path, *args: str) -> str:
    run = asyncdb_lab("hint", *args, "--workspace", str(workspace), timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def test_hints_come_one_at_a_time_then_all_and_the_workspace_remembers(tmp_path: Path):
    steps = [grade_id for _, grade_id, _ in learner_hints("transfer")]
    assert steps[0] == "transfer" and len(steps) >= 3
    first = _hint(tmp_path, "transfer")
    assert first.startswith("transfer (04_transactions_and_locking):")
    assert first.count("(04_transactions_and_locking):") == 1
    assert f"{len(steps) - 1} more: `asyncdb-lab hint transfer` gives the next" in first
    second = _hint(tmp_path, "transfer")
    assert second.startswith(f"{steps[1]} (04_transactions_and_locking):")
    rest = _hint(tmp_path, "transfer", "--all")
    assert [line[: -len(" (04_transactions_and_locking):")] for line in rest.splitlines()
            if line.endswith("(04_transactions_and_locking):")] == steps[2:]  # fmt: skip
    assert "You have seen every hint for transfer" in _hint(tmp_path, "transfer")
    remembered = json.loads((tmp_path / ".asyncdb-lab" / "hints.json").read_text())
    assert remembered == {"shown": {"04_transactions_and_locking": steps}}


def test_a_notebooks_hints_skip_the_exercises_its_last_check_found_done(tmp_path: Path):
    exercises = [n for n in load_hints()["01_engines_and_sessions"] if not n.startswith("test_")]
    done = CheckResult(
        "01_engines_and_sessions", "", "", "", 1.0, [ExerciseResult(exercises[0], "done", [])]
    )
    save_result(tmp_path, "01_engines_and_sessions", done)
    assert _hint(tmp_path, "01").startswith(f"{exercises[1]} (01_engines_and_sessions):")


def test_hint_never_tells_what_the_hidden_tests_check(tmp_path: Path):
    everything = _hint(tmp_path, "transfer", "--all")
    assert "hidden" not in everything.lower() and "Hidden" not in everything
    for notebook, entries in load_hints().items():
        for name in entries:
            for _, grade_id, text in learner_hints(name):
                assert "hidden" not in text.lower(), f"{notebook}: {grade_id}: {text}"


# -- a kernel that dies while starting ------------------------------------------------------------


def test_check_starts_a_kernel_again_when_the_first_dies_before_its_first_reply(
    monkeypatch: pytest.MonkeyPatch,
):
    """Under heavy load a kernel may die before replying (issue 13's mutants run saw it): the
    learner's notebook is not at fault, so check starts another, and says so only if that fails
    too."""
    from asyncdb_lab.errors import AsyncDbLabError
    from asyncdb_lab.learner import execute

    notebook = build("# %% id=one\nx = 1\n")
    real_run_once = execute._run_once
    attempts: list[int] = []

    def dies_the_first_time(*args: object) -> execute.NotebookRun:
        attempts.append(1)
        if len(attempts) == 1:
            raise execute._KernelDidNotStart("Kernel died before replying to kernel_info")
        return real_run_once(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(execute, "_run_once", dies_the_first_time)
    run = execute.run_notebook(notebook, Path.cwd())
    assert len(attempts) == 2
    assert [cell.outcome for cell in run.cells.values()] == ["ok"]

    def always_dies(*args: object) -> execute.NotebookRun:
        raise execute._KernelDidNotStart("Kernel died before replying to kernel_info")

    monkeypatch.setattr(execute, "_run_once", always_dies)
    with pytest.raises(AsyncDbLabError, match="Could not start a python3 kernel"):
        execute.run_notebook(notebook, Path.cwd())
