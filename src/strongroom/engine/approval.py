"""The approval seam for backups and restores (the vendor FAQ's physical button).

This module owns what an approval is asked and who may answer: ``HSMConfig.backup_approval``
is consulted before a backup or restore goes ahead; ``LocalConfirmation`` asks a person. The
quorum issue will plug admin approvals in behind the same protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

__all__ = ["ApprovalRequest", "BackupApproval", "LocalConfirmation"]


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """What is about to happen: ``action`` is "backup" or "restore"."""

    action: str
    hsm_id: str
    backup_id: str
    summary: str


class BackupApproval(Protocol):
    """Decides whether a backup or restore may go ahead."""

    def approve(self, request: ApprovalRequest) -> bool:
        """True to go ahead."""


class LocalConfirmation:
    """Asks on the console (or any ``ask`` callable) and goes ahead only on "y" or "yes"."""

    def __init__(self, ask: Callable[[str], str] = input) -> None:
        self._ask = ask

    def approve(self, request: ApprovalRequest) -> bool:
        """Ask; only an explicit y/yes approves."""
        answer = self._ask(
            f"Approve {request.action} of backup {request.backup_id} on HSM {request.hsm_id}"
            f" ({request.summary})? [y/N] "
        )
        return answer.strip().lower() in {"y", "yes"}
