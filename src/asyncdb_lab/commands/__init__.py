"""Subcommands of `asyncdb-lab`, one module per area."""
