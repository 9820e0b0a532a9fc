"""Exceptions the helper library raises. Each message is one line: what happened and what to do."""


class AsyncDbLabError(RuntimeError):
    """Base class for every error this library raises on purpose."""


class BackendUnavailable(AsyncDbLabError):
    """The PostgreSQL backend that was asked for cannot start or cannot be reached.

    `what` is what happened without the advice (the message's first part), for a reason that
    goes on with something else, as an automatic choice giving way does."""

    def __init__(self, message: str, *, what: str = "") -> None:
        super().__init__(message)
        self.what = what or message


class ServerStartFailed(AsyncDbLabError):
    """A PostgreSQL server process did not come up."""


class DatabaseInUse(AsyncDbLabError):
    """A database cannot be dropped: sessions this role may not end are connected to it."""
