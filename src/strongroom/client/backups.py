"""Sealed backups through the SDK: what the backup service needs from a remote HSM.

This module owns the client half of the backup transfers (server.transfers): a
``RemoteBackup`` reads a sealed backup out of one HSM piece by piece, and ``restore_stream``
feeds one in. Both stay on one connection (the transfer lives in its session). The bytes are
sealed inside the HSM (docs/formats/backup-v1.md): this process never sees key material.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from strongroom.client.links import LinkConnection

__all__ = ["RemoteBackup", "RemoteBackupHeader", "RestoreSummary", "restore_stream"]

_PIECE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class RemoteBackupHeader:
    """The public facts of a backup being read (its clear header fields)."""

    backup_id: bytes
    hsm_id: str
    created_ns: int
    object_count: int
    user_count: int
    chunk_count: int
    manufacturer_id: str
    service_id: str


@dataclass(frozen=True, slots=True)
class RestoreSummary:
    """What a remote restore did (the engine's RestoreResult, over the wire)."""

    backup_id: str
    source_hsm_id: str
    objects: int
    users: int
    forced: bool


class RemoteBackup:
    """A sealed backup being read out of one HSM; use as a context manager."""

    def __init__(self, item: LinkConnection, timeout: float) -> None:
        self._item = item
        self._timeout = timeout
        answer = self._call("backup.begin", {})
        self._ident = int(answer["backup"])
        self.header = RemoteBackupHeader(**answer["header"])
        self._done = False

    def __repr__(self) -> str:
        return f"RemoteBackup(backup_id={self.header.backup_id.hex()}, hsm={self.header.hsm_id})"

    def _call(self, command: str, args: dict[str, Any]) -> Any:
        args = {**args, "session": self._item.session}
        return self._item.connection.call(command, args, self._timeout)

    def __enter__(self) -> RemoteBackup:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def chunks(self) -> Iterator[bytes]:
        """The backup's bytes, in order."""
        while not self._done:
            answer = self._call("backup.next", {"backup": self._ident})
            self._done = bool(answer["done"])
            yield from answer["chunks"]

    def close(self) -> None:
        """Stop early (releases the HSM's snapshot); harmless after the end."""
        if not self._done and self._item.connection.alive:
            self._done = True
            self._call("backup.cancel", {"backup": self._ident})


def restore_stream(
    item: LinkConnection, stream: Iterable[bytes], *, force: bool, timeout: float
) -> RestoreSummary:
    """Feed ``stream`` to a restore on ``item``'s HSM; all or nothing there."""
    session = item.session

    def call(command: str, args: dict[str, Any]) -> Any:
        return item.connection.call(command, {**args, "session": session}, timeout)

    ident = int(call("restore.begin", {"force": force}))
    try:
        buffer = bytearray()
        for piece in stream:
            buffer += piece
            if len(buffer) >= _PIECE_BYTES:
                call("restore.data", {"restore": ident, "data": bytes(buffer)})
                buffer.clear()
        if buffer:
            call("restore.data", {"restore": ident, "data": bytes(buffer)})
    except BaseException:
        if item.connection.alive:
            call("restore.cancel", {"restore": ident})
        raise
    return RestoreSummary(**call("restore.commit", {"restore": ident}))
