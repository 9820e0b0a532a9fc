"""A PostgreSQL server that stops answering on cue, for tests of time-outs.

A server that is down refuses the connection at once; the harder case is a server that keeps the
TCP connection open and says nothing (a frozen host, a network that silently drops packets, a
stalled failover). `FrozenRelay` stands between an engine and the real server and passes the
bytes both ways until it is frozen; from then on it holds every byte until it is thawed:

    async with FrozenRelay(database.url) as relay:
        engine = create_async_engine(relay.url, pool_size=1)
        ...                      # works: the relay passes everything
        relay.freeze()           # the server "stops answering", pooled connections included
        ...                      # a query now waits, until its time-out or relay.thaw()
        relay.thaw()
        await engine.dispose()

Nothing is lost while frozen: the held bytes go on when it thaws, so a query that waited simply
finishes late. New connections made while frozen are accepted and wait as well.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType

from sqlalchemy.engine import URL, make_url


class FrozenRelay:
    """A TCP relay in front of the server of `url` that a test can freeze and thaw."""

    def __init__(self, url: str | URL) -> None:
        """Relay to the server `url` names: a TCP host, or a Unix socket folder in `?host=`."""
        self._target = make_url(url)
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> URL:
        """The target URL with the relay's address: give it to `create_async_engine`."""
        if self._server is None:
            raise RuntimeError("FrozenRelay: use `async with FrozenRelay(url) as relay` first")
        port = self._server.sockets[0].getsockname()[1]
        return self._target.set(host="127.0.0.1", port=port).difference_update_query(["host"])

    @property
    def frozen(self) -> bool:
        """Whether the relay holds the bytes now."""
        return not self._flowing.is_set()

    def freeze(self) -> None:
        """From now on hold every byte in both directions: the server seems to stop answering."""
        self._flowing.clear()

    def thaw(self) -> None:
        """Pass the held bytes on, and everything after them."""
        self._flowing.set()

    def thaw_after(self, seconds: float) -> asyncio.TimerHandle:
        """Freeze now and thaw after `seconds` (at least): a server that answers late."""
        self.freeze()
        return asyncio.get_running_loop().call_later(seconds, self.thaw)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    def _upstream_address(self) -> tuple[str, int]:
        host = self._target.query.get("host") or self._target.host or "localhost"
        if isinstance(host, tuple):
            host = host[0]
        return host, self._target.port or 5432

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            await self._flowing.wait()
            host, port = self._upstream_address()
            if host.startswith("/"):
                upstream = await asyncio.open_unix_connection(f"{host}/.s.PGSQL.{port}")
            else:
                upstream = await asyncio.open_connection(host, port)
            self._writers.add(upstream[1])
            await asyncio.gather(self._pipe(reader, upstream[1]), self._pipe(upstream[0], writer))
        except OSError:
            writer.close()

    async def __aenter__(self) -> FrozenRelay:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.thaw()
        if self._server is not None:
            self._server.close()
        for writer in self._writers:
            with contextlib.suppress(Exception):
                writer.close()
        self._writers.clear()
