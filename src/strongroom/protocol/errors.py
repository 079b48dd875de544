"""The error-code table both ends share: a code on the wire is a class in ``errors``.

This module owns translating exceptions to and from their wire form. The server sends
``(code, message)`` for every ``StrongroomError``; anything else becomes INTERNAL_ERROR with a
fixed message, so no stray exception text (which might quote a secret) crosses the wire. The
client turns a code back into the same class; a code it does not know (a newer server) is
a plain ``StrongroomError`` that still carries the code.
"""

from __future__ import annotations

from typing import Final

from strongroom.errors import StrongroomError, all_error_classes

__all__ = ["ERROR_CLASSES", "INTERNAL_ERROR", "RemoteError", "error_from_wire", "error_to_wire"]

ERROR_CLASSES: Final[dict[str, type[StrongroomError]]] = {
    cls.code: cls for cls in all_error_classes()
}
"""Stable code → exception class (docs/formats/wire-v1.md §Errors lists them)."""

INTERNAL_ERROR: Final = "INTERNAL_ERROR"


class RemoteError(StrongroomError):
    """An error whose code this client does not know; ``code`` holds the server's code."""

    code = "REMOTE_ERROR"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code  # type: ignore[misc]


def error_to_wire(exc: BaseException) -> tuple[str, str]:
    """``(code, message)`` for ``exc``; non-Strongroom errors reveal nothing."""
    if isinstance(exc, StrongroomError):
        return exc.code, exc.message
    return INTERNAL_ERROR, "the HSM failed to run the command"


def error_from_wire(code: str, message: str) -> StrongroomError:
    """The exception the server raised, rebuilt on this side."""
    cls = ERROR_CLASSES.get(code)
    if cls is None or cls is RemoteError:
        return RemoteError(code, message)
    error = cls.__new__(cls)
    StrongroomError.__init__(error, message)
    return error
