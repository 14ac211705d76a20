"""The one store writer, in a process of its own.

Validation and SQLite work run there, on the second core, while the collector process keeps
receiving MQTT; under one GIL the two would take turns. A batch goes over a pipe as raw
(topic, payload) pairs; the reply comes only after the batch is committed, and only then are
the batch's messages acknowledged to the broker.
"""

import contextlib
import logging
import multiprocessing
import time
from collections import deque
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

from server.store import Batch, StoreWriter

log = logging.getLogger(__name__)

RawMessage = tuple[str, bytes]


def serve(conn: Connection, store_path: Path) -> None:
    """Child process: commit each batch received, reply with True; stop on None."""
    from server.ingest import sort_into  # the child imports the validation it needs

    logging.basicConfig(level=logging.WARNING)
    writer = StoreWriter(store_path)
    conn.send(True)  # ready: the store opened and migrated
    try:
        while True:
            raw: list[RawMessage] | None = conn.recv()
            if raw is None:
                return
            batch = Batch()
            for topic_name, payload in raw:
                sort_into(batch, topic_name, payload)
            while True:
                try:
                    writer.write(batch)
                    break
                except Exception:
                    # Not acknowledged, so not lost: retry until the store takes it.
                    log.exception("event=batch_write_failed size=%d", len(raw))
                    time.sleep(1.0)
            conn.send(True)
    finally:
        writer.close()


class WriterProcess:
    """Starts the writer child, hands it batches, restarts it if it dies."""

    def __init__(self, store_path: Path) -> None:
        self._store_path = store_path
        self._context = multiprocessing.get_context("spawn")
        self._conn: Connection | None = None
        self._process: BaseProcess | None = None
        self._outstanding: deque[list[RawMessage]] = deque()

    def start(self, timeout_s: float = 30.0) -> None:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=serve, args=(child, self._store_path), name="tempgate-writer", daemon=True
        )
        process.start()
        child.close()
        if not parent.poll(timeout_s):
            process.kill()
            raise RuntimeError(f"the store writer did not start within {timeout_s} s")
        try:
            parent.recv()
        except EOFError:
            raise RuntimeError(
                f"the store writer exited at start: is {self._store_path} writable?"
            ) from None
        self._conn, self._process = parent, process

    def submit(self, raw: list[RawMessage]) -> None:
        """Hand a batch over without waiting: the writer commits it while the caller gathers
        the next one. ``wait_committed`` returns as the oldest batch is committed."""
        self._outstanding.append(raw)
        self._send(raw)

    def wait_committed(self) -> None:
        """Block until the oldest submitted batch is committed. A writer that died is
        restarted and given every batch not yet confirmed again (duplicates are ignored)."""
        while True:
            if self._conn is None:
                self._restart_with_outstanding()
                continue
            try:
                self._conn.recv()
                self._outstanding.popleft()
                return
            except (EOFError, BrokenPipeError, ConnectionResetError, OSError):
                log.error("event=writer_died restarting=true")
                self._reap()

    def commit(self, raw: list[RawMessage]) -> None:
        """Return once the batch is committed."""
        self.submit(raw)
        while self._outstanding:
            self.wait_committed()

    def _send(self, raw: list[RawMessage]) -> None:
        if self._conn is None:
            self._restart_with_outstanding()
            return
        try:
            self._conn.send(raw)
        except (BrokenPipeError, ConnectionResetError, OSError):
            log.error("event=writer_died restarting=true")
            self._reap()
            self._restart_with_outstanding()

    def _restart_with_outstanding(self) -> None:
        self.start()
        assert self._conn is not None
        for batch in self._outstanding:
            self._conn.send(batch)

    def stop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(BrokenPipeError, OSError):
                self._conn.send(None)
        if self._process is not None:
            self._process.join(timeout=10)
        self._reap()

    def _reap(self) -> None:
        if self._process is not None and self._process.is_alive():
            self._process.kill()
            self._process.join()
        if self._conn is not None:
            self._conn.close()
        self._conn, self._process = None, None
