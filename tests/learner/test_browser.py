"""A real browser: Playwright drives Debian's Chromium against a JupyterLab this module starts on a
temporary workspace. Run All on a solved notebook renders the query results with no error output;
a learner's wrong answer shows the test's friendly message, and nbgrader's Validate button says
which cell failed. Run All on a half-solved notebook runs every cell: success lines on the passing
tests, the failing one's message without the library's frames, and the last cell's report of
`asyncdb-lab check`. Screenshots go to test-output/browser/.

Skipped, with the reason, when /usr/bin/chromium is missing (`.ci/run` installs it as root).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.learner import REPO, learner_notebook, put, solution_sources
from support.processes import stop_process_group

from asyncdb_lab.course.notebook import nbgrader_meta

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        f"no Chromium at {CHROMIUM}: install Debian's package (apt-get install chromium; "
        f".ci/run does it when run as root) to run the browser test",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing")

pytestmark = pytest.mark.browser

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
}
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


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    root = tmp_path_factory.mktemp("browser")
    workspace = root / "workspace"
    put(
        workspace,
        "00_start_here",
        learner_notebook("00_start_here", solution_sources("00_start_here")),
    )
    answer = solution_sources("00_start_here")["count_users"].replace(
        "return int(result.scalar_one())", WRONG_ANSWER
    )
    assert WRONG_ANSWER in answer
    put(workspace, "mistake", learner_notebook("00_start_here", {"count_users": answer}))
    put(workspace, HALF_SOLVED, learner_notebook(HALF_SOLVED, half_solved_answers()))
    for name, value in LAB_SETTINGS.items():
        path = root / "settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    port, token = _free_port(), secrets.token_hex(8)
    env = dict(
        os.environ,
        JUPYTER_RUNTIME_DIR=str(root / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(root / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(root / "lab-workspaces"),
        BROWSER="false",
    )
    command = [
        str(Path(sys.executable).parent / "jupyter"),
        "lab",
        f"--notebook-dir={workspace}",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        "--ServerApp.port_retries=0",
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


def open_and_run_all(page, lab: Lab, notebook: str) -> None:
    # A JupyterLab workspace (layout) of its own, so that no other notebook is restored with it.
    page.goto(lab.url(f"/lab/workspaces/{secrets.token_hex(4)}/tree/{notebook}"))
    page.wait_for_function(KERNEL_IDLE, polling=250)
    page.click('.lm-MenuBar-itemLabel:text-is("Run")')
    page.click('.lm-Menu-itemLabel:text-is("Run All Cells")')
    page.wait_for_function(RUN_FINISHED, polling=250)


def test_run_all_renders_the_query_results_without_errors(page, lab: Lab):
    open_and_run_all(page, lab, "00_start_here/00_start_here.ipynb")

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


def test_a_wrong_answer_shows_the_friendly_message_and_validate_names_the_cell(page, lab: Lab):
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

    # nbgrader's Validate button saves the notebook, runs it on the server and reports.
    page.click(".validate-button")
    dialog = page.wait_for_selector("#validation-message")
    text = dialog.inner_text()
    assert "The following cell failed" in text
    assert "expected 1000 (int), got (1000,) (Row)" in text
    _screenshot(page, "mistake-validate.png")


def test_run_all_on_a_half_solved_notebook_runs_every_cell_and_reports(page, lab: Lab):
    open_and_run_all(page, lab, f"{HALF_SOLVED}/{HALF_SOLVED}.ipynb")
    # Run All goes past the failing test and the unfinished exercise: every code cell ran,
    # the last one (the in-Lab check, a few seconds more) included.
    page.wait_for_function(
        "() => document.querySelector('.jp-Notebook .jp-CodeCell:last-child .jp-OutputArea')"
        "?.innerText.includes('Next:')",
        polling=500,
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
