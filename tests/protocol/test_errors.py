"""The error-code table: every Strongroom error crosses the wire as itself, nothing else leaks.

Each class in ``ERROR_CLASSES`` goes out as ``(code, message)`` and comes back as the same
class with the same message; a code the client does not know arrives as ``RemoteError``
carrying it; any other exception goes out as INTERNAL_ERROR with a fixed message.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom import errors
from strongroom.errors import ArgumentsBad, IntegrityError, StrongroomError
from strongroom.protocol import (
    ErrorResponse,
    decode_message,
    encode_message,
    error_from_wire,
    error_to_wire,
)
from strongroom.protocol.errors import ERROR_CLASSES, INTERNAL_ERROR, RemoteError
from strongroom.protocol.frames import HEADER_SIZE

_FIXED = "the HSM failed to run the command"
_EVERY_CODE = pytest.mark.parametrize(
    ("code", "cls"), list(ERROR_CLASSES.items()), ids=list(ERROR_CLASSES)
)


def test_the_table_holds_every_error_class_once() -> None:
    """Every class in strongroom.errors is in the table under its own, unique code."""
    defined = [
        cls
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, StrongroomError)
    ]
    assert {cls.code for cls in defined} == set(ERROR_CLASSES)
    assert len(defined) == len(ERROR_CLASSES)
    for code, cls in ERROR_CLASSES.items():
        assert cls.code == code
        assert cls.__module__ == "strongroom.errors"


@_EVERY_CODE
def test_every_error_round_trips(code: str, cls: type[StrongroomError]) -> None:
    """Out as (code, message), back as the same class, code and message."""
    sent = cls("what went wrong")
    wire_code, message = error_to_wire(sent)
    assert wire_code == code
    assert message == sent.message
    received = error_from_wire(wire_code, message)
    assert type(received) is cls
    assert received.code == code
    assert received.message == message
    assert str(received) == f"[{code}] {message}"


@_EVERY_CODE
def test_every_error_round_trips_through_a_frame(code: str, cls: type[StrongroomError]) -> None:
    """The same, with an error frame in between."""
    frame = encode_message(ErrorResponse(5, *error_to_wire(cls("in a frame"))))
    answer = decode_message(frame[HEADER_SIZE:])
    assert isinstance(answer, ErrorResponse)
    assert answer.request_id == 5
    received = error_from_wire(answer.code, answer.message)
    assert type(received) is cls
    assert isinstance(received, StrongroomError)


def test_integrity_errors_keep_their_uniform_message() -> None:
    """Whatever the raiser said, an integrity failure goes out with its one message."""
    code, message = error_to_wire(IntegrityError("tag mismatch at byte 7"))
    assert (code, message) == ("ENCRYPTED_DATA_INVALID", IntegrityError.UNIFORM_MESSAGE)


def test_a_strongroom_error_that_is_also_a_value_error_keeps_its_code() -> None:
    """ARGUMENTS_BAD subclasses ValueError but still goes out as ARGUMENTS_BAD."""
    assert error_to_wire(ArgumentsBad("length must be positive")) == (
        "ARGUMENTS_BAD",
        "length must be positive",
    )


@pytest.mark.parametrize(
    "code", ["NEW_IN_V2", "REMOTE_ERROR", INTERNAL_ERROR, "", "general_error", "PIN_INCORRECT "]
)
def test_unknown_codes_arrive_as_remote_errors(code: str) -> None:
    """A code the client does not know is a RemoteError that still carries it."""
    received = error_from_wire(code, "from a newer HSM")
    assert type(received) is RemoteError
    assert isinstance(received, StrongroomError)
    assert received.code == code
    assert received.message == "from a newer HSM"


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("key bytes 00112233 secret"),
        KeyError("password=hunter2"),
        TypeError("plaintext: attack at dawn"),
        RuntimeError("secret"),
        ZeroDivisionError("secret"),
        OSError(5, "secret"),
        AssertionError("secret"),
        KeyboardInterrupt(),
    ],
    ids=lambda e: type(e).__name__,
)
def test_foreign_exceptions_become_internal_errors(exc: BaseException) -> None:
    """Anything that is not a Strongroom error goes out as INTERNAL_ERROR, fixed message."""
    assert error_to_wire(exc) == (INTERNAL_ERROR, _FIXED)


@settings(max_examples=200)
@given(st.text(min_size=1), st.sampled_from([ValueError, RuntimeError, KeyError, TypeError]))
def test_nothing_of_a_foreign_message_leaks(text: str, kind: type[Exception]) -> None:
    """Whatever a foreign exception says, the wire carries only the fixed message."""
    code, message = error_to_wire(kind(text))
    assert (code, message) == (INTERNAL_ERROR, _FIXED)


def test_internal_errors_arrive_as_remote_errors() -> None:
    """The client has no class for INTERNAL_ERROR: it raises RemoteError with that code."""
    received = error_from_wire(*error_to_wire(RuntimeError("boom")))
    assert isinstance(received, RemoteError)
    assert received.code == INTERNAL_ERROR
    assert received.message == _FIXED
