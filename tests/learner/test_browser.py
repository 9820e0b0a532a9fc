"""A real browser: Playwright drives Debian's Chromium against a JupyterLab this module starts as
`make lab` does (its config without nbgrader's instructor parts, its terminal, its PATH) on a
temporary workspace made as `asyncdb-lab workspace` makes one. An untouched notebook opens
unmodified, with no instructor menu, panel or Validate button. Run All on a solved notebook renders
the query results with no error output; a learner's wrong answer shows the test's friendly message.
Run All on a half-solved notebook runs every cell: success lines on the passing tests, the failing
one's message without the library's frames, and the last cell's report of `asyncdb-lab check`.
The stop button ends a `pg_sleep(300)` cell with one line, and the statement is gone from the
server, long before it would end (benchmarks/learner.py measures how soon). A terminal runs
`asyncdb-lab progress`. Screenshots go to test-output/browser/.

Skipped, with the reason, when /usr/bin/chromium is missing (`.ci/run` installs it as root).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from support.learner import REPO, learner_notebook, put, release, solution_sources
from support.processes import stop_process_group

from asyncdb_lab.course.notebook import nbgrader_meta
from asyncdb_lab.learner.workspace import (
    LAB_CONFIG_DIR,
    LAB_DATA_DIR,
    kernel_metadata,
    sync_workspace,
)

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        f"no Chromium at {CHROMIUM}: install Debian's package (apt-get install chromium; "
        f".ci/run does it when run as root) to run the browser test",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing")

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENSHOTS = REPO / "test-output" / "browser"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# JupyterLab settings for a predictable page: every cell in the DOM (no windowing), no news popup.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    # The terminal's text in the DOM (its renderer draws on a canvas).
    "@jupyterlab/terminal-extension/plugin.jupyterlab-settings": {"screenReaderMode": True},
}
# A course notebook the workspace holds as `asyncdb-lab workspace` copied it.
UNTOUCHED = "02_crud_and_repositories"
# What nbgrader adds for instructors (menu, side panels, Validate): none of it for learners.
INSTRUCTOR_ONLY = re.compile(r"nbgrader|assignment|formgrader|course list", re.IGNORECASE)
# Labels and titles of the menu bar's items and of the side bars' tabs.
MENUS_AND_PANELS = """() =>
  [...document.querySelectorAll('.lm-MenuBar-itemLabel, .jp-SideBar .lm-TabBar-tab')]
    .flatMap(item => [item.textContent, item.title || '', item.getAttribute('aria-label') || ''])
    .map(text => text.trim()).filter(text => text)"""
DIRTY_TAB = ".lm-TabBar-tab.jp-mod-dirty"
# A notebook whose last cell keeps a statement running on the server for 30 s (not laid out as
# a course topic, so `asyncdb-lab progress` leaves it out).
INTERRUPT = "scratch/stop_button.ipynb"
# Without its statement_timeout, the statement would run for 300 s: a cell that ends, and a
# statement that is gone, well within that time were stopped by the stop button.
SLEEP_CELL = """from sqlalchemy import text

async with engine.connect() as conn:
    await conn.execute(text("SET LOCAL statement_timeout = 0"))
    await conn.execute(text("SELECT pg_sleep(300)"))"""
SLEEPING = """SELECT count(*) FROM pg_stat_activity
WHERE state = 'active' AND query LIKE '%pg_sleep(300)%' AND pid <> pg_backend_pid()
  AND datname = current_database()"""
# The terminal's text: the screen reader's copy of its rows.
TERMINAL_TEXT = (
    "(document.querySelector('.jp-Terminal .xterm-accessibility-tree')?.innerText ?? '')"
)
LAST_CELL_PROMPT = (
    "document.querySelector('.jp-Notebook .jp-CodeCell:last-child .jp-InputArea-prompt')"
    "?.textContent.trim()"
)
# The kernel is ready when the status bar says so: the toolbar's indicator also reads "idle"
# before any kernel has started.
KERNEL_IDLE = """() =>
  [...document.querySelectorAll('.jp-StatusBar-TextItem')]
    .some(item => item.textContent.trim() === 'Python 3 (ipykernel) | Idle')"""
# Done when the kernel is idle again, no cell waits to run ([*]) and the first cell has run.
# Run All skips the cells after a failing one: they keep an empty prompt.
RUN_FINISHED = """() => {
  const idle = [...document.querySelectorAll('.jp-StatusBar-TextItem')]
    .some(item => item.textContent.trim() === 'Python 3 (ipykernel) | Idle');
  const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
    .map(prompt => prompt.textContent.trim());
  return idle && prompts.length > 0 && !prompts.some(text => text.includes('*'))
    && /^\\[\\d+\\]:$/.test(prompts[0]);
}"""
# A cell's number comes with the kernel's reply, which on a busy machine the page may show after
# the kernel's "idle": for a moment, a cell that ran shows [ ].
EVERY_CELL_NUMBERED = """() =>
  [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
    .every(prompt => /^\\[\\d+\\]:$/.test(prompt.textContent.trim()))"""
# Indexes (among all cells) of the cells that show error or stderr output.
CELLS_WITH_ERRORS = """() =>
  [...document.querySelectorAll('.jp-Notebook .jp-Cell')].flatMap((cell, index) =>
    cell.querySelector('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
      ? [index] : [])"""
WRONG_ANSWER = "return result.one()"  # a Row, where the exercise asks for an int
# Notebook 01 half done: make_engine written but without application_name, names_by_id not
# started (the stub), so Run All meets a failing test and then an unfinished exercise.
HALF_SOLVED = "01_engines_and_sessions"
NO_APPLICATION_NAME = 'connect_args={"server_settings": {"application_name": "asyncdb-lab"}},'
ERROR_OUTPUT = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
# Per code cell: its execution count ("" when it never ran), its outputs' text, what it printed,
# and whether it shows an error.
CODE_CELLS = """() =>
  [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')].map(cell => ({
    prompt: cell.querySelector('.jp-InputArea-prompt').textContent.trim(),
    text: [...cell.querySelectorAll('.jp-OutputArea-output')].map(o => o.innerText).join('\\n'),
    stdout: [...cell.querySelectorAll(
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stdout"]')]
      .map(o => o.innerText).join('\\n'),
    error: !!cell.querySelector(
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'),
  }))"""


def half_solved_answers() -> dict[str, str]:
    make_engine = solution_sources(HALF_SOLVED)["make_engine"]
    assert NO_APPLICATION_NAME in make_engine
    return {"make_engine": make_engine.replace(NO_APPLICATION_NAME, "")}


@dataclass
class Lab:
    base: str
    token: str
    workspace: Path

    def url(self, path: str) -> str:
        return f"{self.base}{path}?token={self.token}"


def as_copied(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook with the learner's kernel metadata, as `asyncdb-lab workspace` writes it."""
    notebook.metadata.update(copy.deepcopy(kernel_metadata("python3")))
    return notebook


def interrupt_notebook() -> nbformat.NotebookNode:
    """The course's setup cell, a cell printing the database's DSN, then a 300 s statement."""
    setup = next(
        cell
        for cell in release("00_start_here").cells
        if nbgrader_meta(cell).get("grade_id") == "readonly-setup-database"
    )
    return nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(setup.source),
            nbformat.v4.new_code_cell("print(db.dsn)"),
            nbformat.v4.new_code_cell(SLEEP_CELL),
        ]
    )


def make_workspace(workspace: Path) -> None:
    sync_workspace(workspace)
    solved = learner_notebook("00_start_here", solution_sources("00_start_here"))
    put(workspace, "00_start_here", as_copied(solved))
    answer = solution_sources("00_start_here")["count_users"].replace(
        "return int(result.scalar_one())", WRONG_ANSWER
    )
    assert WRONG_ANSWER in answer
    mistake = learner_notebook("00_start_here", {"count_users": answer})
    put(workspace, "mistake", as_copied(mistake))
    put(workspace, HALF_SOLVED, as_copied(learner_notebook(HALF_SOLVED, half_solved_answers())))
    (workspace / INTERRUPT).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(as_copied(interrupt_notebook()), workspace / INTERRUPT)


def lab_environment(root: Path, workspace: Path) -> dict[str, str]:
    """As `make lab` sets it: its config first, the course's commands on PATH, the workspace."""
    config_path = os.pathsep.join(
        filter(None, [str(LAB_CONFIG_DIR), os.environ.get("JUPYTER_CONFIG_PATH")])
    )
    data_path = os.pathsep.join(filter(None, [str(LAB_DATA_DIR), os.environ.get("JUPYTER_PATH")]))
    return dict(
        os.environ,
        JUPYTER_CONFIG_PATH=config_path,
        JUPYTER_PATH=data_path,
        PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        ASYNCDB_LAB_WORKSPACE=str(workspace),
        JUPYTER_RUNTIME_DIR=str(root / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(root / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(root / "lab-workspaces"),
        BROWSER="false",
    )


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    root = tmp_path_factory.mktemp("browser")
    workspace = root / "workspace"
    make_workspace(workspace)
    for name, value in LAB_SETTINGS.items():
        path = root / "settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    port, token = _free_port(), secrets.token_hex(8)
    env = lab_environment(root, workspace)
    # Makefile's LAB_TERMINAL: an interactive shell that is not a login shell.
    shell = json.dumps([os.environ.get("SHELL") or "/bin/sh", "-i"], separators=(",", ":"))
    command = [
        str(Path(sys.executable).parent / "jupyter"),
        "lab",
        f"--notebook-dir={workspace}",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.terminado_settings=shell_command={shell}",
    ] + (["--allow-root"] if os.geteuid() == 0 else [])
    log_path = root / "lab.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _wait_for_api(f"http://127.0.0.1:{port}", token, server, log_path)
        yield Lab(f"http://127.0.0.1:{port}", token, workspace)
    finally:
        stop_process_group(server)


@pytest.fixture(scope="module")
def browser(lab: Lab) -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(120_000)
    try:
        yield page
    finally:
        context.close()


def open_notebook(page, lab: Lab, notebook: str) -> None:
    # A JupyterLab workspace (layout) of its own, so that no other notebook is restored with it.
    page.goto(lab.url(f"/lab/workspaces/{secrets.token_hex(4)}/tree/{notebook}"))
    page.wait_for_function(KERNEL_IDLE, polling=250)


def wait_then_assert(page, condition: str) -> None:
    """Wait up to the page's timeout for `condition`; then the test's asserts say what is wrong."""
    with contextlib.suppress(sync_api.TimeoutError):
        page.wait_for_function(condition, polling=250)


def open_and_run_all(page, lab: Lab, notebook: str) -> None:
    open_notebook(page, lab, notebook)
    run_all_cells(page)
    page.wait_for_function(RUN_FINISHED, polling=250)


def test_run_all_renders_the_query_results_without_errors(page, lab: Lab):
    open_and_run_all(page, lab, "00_start_here/00_start_here.ipynb")
    wait_then_assert(page, EVERY_CELL_NUMBERED)
    prompts = page.locator(".jp-CodeCell .jp-InputArea-prompt").all_inner_texts()
    assert all(p.strip() not in ("[ ]:", "[*]:") for p in prompts), prompts
    assert page.evaluate(CELLS_WITH_ERRORS) == []
    result = page.locator('.jp-OutputArea-output:has-text("users in the seed data: 1000")')
    assert result.count() == 1
    assert (
        page.locator(
            '.jp-OutputArea-output:has-text("SELECT count(*) AS users FROM users")'
        ).count()
        == 1
    )
    assert page.locator('.jp-OutputArea-output:has-text("statement_timeout")').count() == 1
    result.scroll_into_view_if_needed()
    _screenshot(page, "00_start_here-run-all.png")


def test_a_wrong_answer_shows_the_friendly_message(page, lab: Lab):
    open_and_run_all(page, lab, "mistake/mistake.ipynb")

    message = (
        "count_users(engine) on the seed data: expected 1000 (int), got (1000,) (Row). "
        "Count the rows of the users table with SELECT count(*)."
    )
    # The error output of the test cell (the last cell's check report repeats the message).
    failure = page.locator(f'{ERROR_OUTPUT}:has-text("{message}")')
    assert failure.count() == 1
    # Only the failing test cell shows an error: setup and demonstrations ran cleanly.
    first_test = next(
        i
        for i, cell in enumerate(learner_notebook("00_start_here", {}).cells)
        if nbgrader_meta(cell).get("grade")
    )
    assert page.evaluate(CELLS_WITH_ERRORS) == [first_test]
    failure.scroll_into_view_if_needed()
    _screenshot(page, "mistake-friendly-failure.png")


def test_run_all_on_a_half_solved_notebook_runs_every_cell_and_reports(page, lab: Lab):
    open_and_run_all(page, lab, f"{HALF_SOLVED}/{HALF_SOLVED}.ipynb")
    # Run All goes past the failing test and the unfinished exercise: every code cell ran,
    # the last one (the in-Lab check, a few seconds more) included.
    wait_then_assert(
        page,
        "() => document.querySelector('.jp-Notebook .jp-CodeCell:last-child .jp-OutputArea')"
        f"?.innerText.includes('Next:') && /^\\[\\d+\\]:$/.test({LAST_CELL_PROMPT})",
    )
    cells = page.evaluate(CODE_CELLS)
    by_test = {
        grade_id: cell
        for grade_id, cell in zip(_code_cell_ids(HALF_SOLVED), cells, strict=True)
    }  # fmt: skip
    not_run = [key for key, cell in by_test.items() if not cell["prompt"].strip("[]:").isdigit()]
    assert not_run == [], {key: by_test[key] for key in not_run}
    # Success lines on the passing tests, the hidden-only one says so.
    connects = by_test["test_make_engine_connects"]
    assert "✔ test_make_engine_connects: visible tests passed (1 point" in connects["stdout"]
    assert "✔ test_make_engine_pool_limits" in by_test["test_make_engine_pool_limits"]["text"]
    pre_ping = by_test["test_make_engine_pre_ping"]["text"]
    assert "◌ test_make_engine_pre_ping: hidden tests only" in pre_ping
    assert not any(c["error"] for c in (connects, by_test["test_make_engine_pre_ping"]))
    # The failing test: the learner's message and hint, the test cell's frame, no library frame.
    failing = by_test["test_make_engine_application_name"]
    assert failing["error"] and failing["stdout"] == ""
    assert (
        "AssertionError: application_name as the server sees it: expected 'asyncdb-lab'"
        in (failing["text"])
    )
    assert "Cell In[" in failing["text"] and "checks.py" not in failing["text"]
    assert "in expect(" not in failing["text"]
    # The unfinished exercise fails its tests with NotImplementedError; nothing else failed.
    assert "NotImplementedError" in by_test["test_names_by_id_basic"]["text"]
    not_started = {
        grade_id
        for grade_id, cell in by_test.items()
        if grade_id.startswith("test_names_by_id_") and "◌" not in cell["text"]
    }
    assert not_started
    failed = {grade_id for grade_id, cell in by_test.items() if cell["error"]}
    assert failed == {"test_make_engine_application_name"} | not_started
    # The last cell: the report of `asyncdb-lab check` on the saved notebook.
    report = cells[-1]["text"]
    assert f"Checking {HALF_SOLVED}.ipynb on a fresh database" in report
    assert (
        "make_engine: 3 of 5 points" in report
        and "FAIL    test_make_engine_application_name" in report
    )
    assert "Hint:" in report and "names_by_id" in report and "Next:" in report
    code_cells = page.locator(".jp-Notebook .jp-CodeCell")
    for name, grade_id in (
        ("run-all-failure", "test_make_engine_application_name"),
        ("run-all-success", "test_make_engine_pool_limits"),
    ):
        position = _code_cell_ids(HALF_SOLVED).index(grade_id)
        code_cells.nth(position).scroll_into_view_if_needed()
        _screenshot(page, f"{HALF_SOLVED}-{name}.png")
    code_cells.last.scroll_into_view_if_needed()
    _screenshot(page, f"{HALF_SOLVED}-in-lab-check.png")


def test_an_untouched_notebook_opens_unmodified_without_instructor_parts(page, lab: Lab):
    open_notebook(page, lab, f"{UNTOUCHED}/{UNTOUCHED}.ipynb")
    # JupyterLab rewrites the kernel metadata when the kernel's info arrives, about when it is
    # idle: a notebook without the learner's own metadata would turn dirty in this time.
    with pytest.raises(sync_api.TimeoutError):
        page.wait_for_function(
            f"() => document.querySelector('{DIRTY_TAB}') !== null", polling=100, timeout=5_000
        )
    assert page.locator(f'.lm-TabBar-tab.jp-mod-current:has-text("{UNTOUCHED}.ipynb")').count()
    assert page.locator(DIRTY_TAB).count() == 0
    labels = page.evaluate(MENUS_AND_PANELS)
    assert {"File", "Kernel"} <= set(labels), labels
    assert [label for label in labels if INSTRUCTOR_ONLY.search(label)] == []
    assert page.locator(".validate-button").count() == 0
    _screenshot(page, f"{UNTOUCHED}-opened-clean.png")


def test_the_stop_button_cancels_the_statement_on_the_server(page, lab: Lab):
    open_notebook(page, lab, INTERRUPT)
    run_all_cells(page)
    code_cells = page.locator(".jp-Notebook .jp-CodeCell")
    page.wait_for_function(
        f"() => {LAST_CELL_PROMPT} === '[*]:' && document.querySelectorAll("
        "'.jp-Notebook .jp-CodeCell')[1].innerText.includes('postgresql://')",
        polling=250,
    )
    dsn = code_cells.nth(1).locator(".jp-OutputArea-output").inner_text().strip()
    wait_until(lambda: sleeping_statements(dsn) == 1, "pg_sleep(300) never ran on the server")

    page.click('.jp-NotebookPanel-toolbar [data-jp-item-name="interrupt"]')
    # Ends within the page's 120 s timeout, long before the statement would.
    page.wait_for_function(f"() => /^\\[\\d+\\]:$/.test({LAST_CELL_PROMPT})", polling=50)

    output = code_cells.last.locator(".jp-OutputArea-output").all_inner_texts()
    lines = "\n".join(output).strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Interrupted:"), output
    assert len(lines[0]) <= 200, lines[0]
    wait_until(lambda: sleeping_statements(dsn) == 0, "pg_sleep(300) still runs")
    code_cells.last.scroll_into_view_if_needed()
    _screenshot(page, "interrupt-pg_sleep.png")


def test_a_terminal_runs_asyncdb_lab_progress(page, lab: Lab):
    page.goto(lab.url(f"/lab/workspaces/{secrets.token_hex(4)}"))
    page.click('.lm-MenuBar-itemLabel:text-is("File")')
    page.click('.lm-Menu-itemLabel:text-is("New")')
    page.click('.lm-Menu-itemLabel:text-is("Terminal")')
    page.wait_for_function(f"() => {TERMINAL_TEXT}.trim() !== ''", polling=250)  # the prompt
    page.locator(".jp-Terminal .xterm-helper-textarea").focus()
    page.keyboard.type("asyncdb-lab progress")
    page.keyboard.press("Enter")
    # Its table ends with the totals and what to do next; a shell without .venv/bin on PATH
    # says "not found" instead.
    page.wait_for_function(
        f"() => /Total[^]*(Next:|Well done)|not found/.test({TERMINAL_TEXT})", polling=250
    )
    text = page.evaluate(f"() => {TERMINAL_TEXT}")
    assert "not found" not in text, text
    assert "Notebook" in text and "00_start_here" in text and UNTOUCHED in text, text
    _screenshot(page, "terminal-progress.png")


def run_all_cells(page) -> None:
    page.click('.lm-MenuBar-itemLabel:text-is("Run")')
    page.click('.lm-Menu-itemLabel:text-is("Run All Cells")')


def sleeping_statements(dsn: str) -> int:
    """How many `pg_sleep(300)` statements run on the notebook's database (psycopg: Playwright's
    own event loop runs in this thread)."""
    import psycopg

    with psycopg.connect(dsn, connect_timeout=10) as connection:
        row = connection.execute(SLEEPING).fetchone()
    assert row is not None
    return int(row[0])


def wait_until(condition: Callable[[], bool], failure: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{failure} (waited {timeout} s)")
        time.sleep(0.1)


def _code_cell_ids(topic: str) -> list[str]:
    return [
        nbgrader_meta(cell).get("grade_id") or cell.get("id", "")
        for cell in learner_notebook(topic, {}).cells
        if cell.cell_type == "code"
    ]


def _screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_api(base: str, token: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"JupyterLab exited ({server.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    raise AssertionError(f"JupyterLab did not answer at {base} within 120 s:\n{log.read_text()}")
