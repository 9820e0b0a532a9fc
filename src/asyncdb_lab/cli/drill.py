"""`asyncdb-lab drill`: interview questions in the terminal, scored by topic, misses asked first."""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    drill = subparsers.add_parser(
        "drill", help="practise interview questions in the terminal (misses come back first)"
    )
    drill.add_argument(
        "--topic", help="a notebook, e.g. 03_eager_loading_and_n_plus_1, 03 or eager"
    )
    drill.add_argument("--count", type=int, default=10, help="how many questions (default 10)")
    drill.add_argument("--timed", type=float, metavar="MINUTES", help="stop asking after MINUTES")
    drill.add_argument("--history", type=Path, help="history file (default: your state folder)")
    drill.add_argument("--seed", type=int, help="fix the question order (for repeatable drills)")
    drill.set_defaults(handler=_drill)


def _drill(args: argparse.Namespace) -> int:
    from asyncdb_lab.course.manifest import course
    from asyncdb_lab.interview.bank import load_bank
    from asyncdb_lab.interview.drill import Drill, History, choose, default_history_path

    questions = load_bank()
    if args.topic:
        known = course().topics
        wanted = args.topic.strip().lower()
        topics = [t for t in known if t == wanted or t.startswith(wanted) or wanted in t]
        if not topics:
            print(
                f"asyncdb-lab drill: no topic {args.topic!r}; topics are "
                f"{', '.join(known)} (a number like 03 works too).",
                file=sys.stderr,
            )
            return 2
        questions = [q for q in questions if q.topic in topics]
        if not questions:
            print(f"asyncdb-lab drill: no questions on {', '.join(topics)} yet.", file=sys.stderr)
            return 1
    if args.count < 1:
        print("asyncdb-lab drill: --count must be at least 1.", file=sys.stderr)
        return 2
    if args.timed is not None and args.timed <= 0:
        print("asyncdb-lab drill: --timed takes a positive number of minutes.", file=sys.stderr)
        return 2
    history = History.load(args.history or default_history_path())
    chosen = choose(questions, history, args.count, random.Random(args.seed))
    deadline = time.monotonic() + args.timed * 60 if args.timed else None
    Drill(chosen, reader=sys.stdin, writer=sys.stdout, history=history, deadline=deadline).run()
    return 0
