"""The live feed: rows of ``live_events`` pushed to SSE clients as soon as they are committed.

Writers (the ingest thread, API handlers) call ``notify()`` after their commit; each SSE stream
then reads the rows after its last id, so a client that reconnects with ``Last-Event-ID``
misses nothing.
"""

import asyncio


class LiveHub:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed = asyncio.Event()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Attach to the server's event loop (from the app's lifespan)."""
        self._loop = loop
        self._changed = asyncio.Event()

    def notify(self) -> None:
        """Thread-safe: something new is in ``live_events``."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def changed(self) -> asyncio.Event:
        """The event to await for the next change; take it before reading, then wait."""
        return self._changed
