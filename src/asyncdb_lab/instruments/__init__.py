"""Instruments for lessons and tests: what an engine sent, what its pool holds, who holds which
lock, how long something took, races made certain, and a server that stops answering on cue.

    statements.py   count_statements(): every SQL statement an engine sends, numbered
    pool.py         pool_snapshot(): what a connection pool holds right now
    locks.py        locks_on() / row_locks() / format_locks(): pg_locks and pgrowlocks, readable
    timing.py       measure() and stopwatch(): medians over several runs
    races.py        InsertGate: every racer reads before any inserts (graded race checks)
    frozen.py       FrozenRelay: a relay to the server that a test freezes (time-out checks)

A new instrument is a module here; add its public names to `asyncdb_lab.__init__`'s exports.
"""
