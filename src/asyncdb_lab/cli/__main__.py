"""`python -m asyncdb_lab.cli`: the same as the `asyncdb-lab` command."""

from asyncdb_lab.cli import main

raise SystemExit(main())
