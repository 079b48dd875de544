"""Sealed backups over a connection: a backup read in pieces, a restore fed in pieces.

This module owns the two long transfers. A backup is a cursor over the engine's
``BackupStream``: ``backup.next`` returns the next chunks, up to about 8 MiB per answer.
A restore runs the engine's all-or-nothing restore on a thread of its own, fed through a
bounded queue by ``restore.data``; ``restore.commit`` ends the stream and returns what the
restore did, ``restore.cancel`` (or a dropped connection) aborts it and nothing changes.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any, Final

from strongroom.engine import Session
from strongroom.engine.backup_ops import BackupStream
from strongroom.errors import ArgumentsBad, BackupInvalid, StrongroomError

__all__ = ["BackupCursor", "RestoreFeed", "TransferTable"]

_ANSWER_BYTES: Final = 8 * 1024 * 1024
_END: Final = object()
_ABORT: Final = object()


class BackupCursor:
    """A backup being read out."""

    def __init__(self, stream: BackupStream) -> None:
        self.stream = stream
        self._chunks = stream.chunks()
        self.done = False

    def header(self) -> dict[str, Any]:
        """Public facts about the backup (the header's clear fields)."""
        h = self.stream.header
        return {
            "backup_id": h.backup_id,
            "hsm_id": h.hsm_id,
            "created_ns": h.created_ns,
            "object_count": h.object_count,
            "user_count": h.user_count,
            "chunk_count": h.chunk_count,
            "manufacturer_id": h.manufacturer_id,
            "service_id": h.service_id,
        }

    def next(self) -> dict[str, Any]:
        """The next pieces (about 8 MiB at most) and whether that was the end."""
        out: list[bytes] = []
        size = 0
        while size < _ANSWER_BYTES:
            piece = next(self._chunks, None)
            if piece is None:
                self.done = True
                break
            out.append(piece)
            size += len(piece)
        return {"chunks": out, "done": self.done}

    def close(self) -> None:
        """Release the store snapshot."""
        self.stream.close()


class RestoreFeed:
    """A restore running on its own thread, fed by ``put``."""

    def __init__(self, session: Session, force: bool) -> None:
        self._queue: queue.Queue[object] = queue.Queue(maxsize=16)
        self._result: dict[str, Any] | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(session, force), name="strongroom-restore", daemon=True
        )
        self._thread.start()

    def _pieces(self) -> Iterator[bytes]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if item is _ABORT:
                raise BackupInvalid("the restore was cancelled before its end")
            assert isinstance(item, bytes)
            yield item

    def _run(self, session: Session, force: bool) -> None:
        try:
            self._result = asdict(session.restore(self._pieces(), force=force))
        except BaseException as exc:  # handed to whoever commits
            self._error = exc
            # drain so a blocked producer is released
            while not self._queue.empty():
                self._queue.get_nowait()

    def put(self, data: bytes) -> None:
        """Feed the next bytes (blocks while the restore catches up)."""
        while self._thread.is_alive():
            try:
                self._queue.put(data, timeout=0.5)
                return
            except queue.Full:
                continue
        self._raise()

    def commit(self) -> dict[str, Any]:
        """End of stream: wait for the restore; its result or its error."""
        if self._thread.is_alive():
            self._queue.put(_END)
        self._thread.join()
        self._raise()
        assert self._result is not None
        return self._result

    def cancel(self) -> None:
        """Abort: the engine rolls back, nothing changes."""
        if self._thread.is_alive():
            self._queue.put(_ABORT)
        self._thread.join()

    def _raise(self) -> None:
        if self._error is not None:
            if isinstance(self._error, StrongroomError):
                raise self._error
            raise BackupInvalid("the restore failed") from self._error


class TransferTable:
    """The backups and restores one connection has going."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.backups: dict[int, BackupCursor] = {}
        self.restores: dict[int, RestoreFeed] = {}
        self.lock = threading.Lock()

    def add_backup(self, cursor: BackupCursor) -> int:
        """Register a cursor; returns its id."""
        with self.lock:
            ident = next(self._ids)
            self.backups[ident] = cursor
            return ident

    def add_restore(self, feed: RestoreFeed) -> int:
        """Register a restore; returns its id."""
        with self.lock:
            ident = next(self._ids)
            self.restores[ident] = feed
            return ident

    def backup(self, ident: int) -> BackupCursor:
        """A cursor by id."""
        found = self.backups.get(ident)
        if found is None:
            raise ArgumentsBad("no such backup transfer on this connection")
        return found

    def restore(self, ident: int, *, remove: bool = False) -> RestoreFeed:
        """A restore by id (``remove``: take it out of the table)."""
        with self.lock:
            found = self.restores.pop(ident, None) if remove else self.restores.get(ident)
        if found is None:
            raise ArgumentsBad("no such restore on this connection")
        return found

    def close_all(self) -> None:
        """The connection ended: release snapshots, abort unfinished restores."""
        with self.lock:
            backups, self.backups = list(self.backups.values()), {}
            restores, self.restores = list(self.restores.values()), {}
        for cursor in backups:
            cursor.close()
        for feed in restores:
            feed.cancel()
