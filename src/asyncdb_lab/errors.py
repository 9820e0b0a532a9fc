"""Exceptions the helper library raises. Each message is one line: what happened and what to do."""


class AsyncDbLabError(RuntimeError):
    """Base class for every error this library raises on purpose."""


class BackendUnavailable(AsyncDbLabError):
    """The PostgreSQL backend that was asked for cannot start or cannot be reached."""


class ServerStartFailed(AsyncDbLabError):
    """A PostgreSQL server process did not come up."""


class DatabaseInUse(AsyncDbLabError):
    """A database cannot be dropped: sessions this role may not end are connected to it."""
