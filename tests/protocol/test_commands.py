"""The command table and ``check_args``: every command refuses what its spec does not allow.

Each test is parametrised over ``COMMANDS`` itself, so a command added to the table is
covered the day it lands: a missing, unknown or mistyped argument is COMMAND_INVALID (bad
mechanism parameters are MECHANISM_PARAM_INVALID), and a well-formed request passes.
"""

from __future__ import annotations

import contextlib
from typing import Any, Final

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from strongroom.errors import CommandInvalid, MechanismParamInvalid
from strongroom.model.params import PSSParams
from strongroom.protocol import COMMANDS, CommandSpec, check_args, encode_params

from .strategies import plain

GOOD: Final[dict[str, Any]] = {
    "int": 7,
    "bytes": b"bytes",
    "str": "text",
    "bool": True,
    "template": {0: 4, 0x40000211: {0x100: 0x1F}},
    "params": encode_params(PSSParams("SHA384", 48)),
    "ints": [0, 3, 0x161],
}
"""A valid wire value of each argument kind."""

BAD: Final[dict[str, list[Any]]] = {
    "int": ["7", -1, 2**64, True, b"\x07", [7], 7.0],
    "bytes": ["bytes", bytearray(b"bytes"), 1, [1], True],
    "str": [b"text", 1, True, ["text"]],
    "bool": [1, 0, "true", b"\x01"],
    "template": [[], "t", 1, {"0": 4}, {0: [4]}, {0: {"k": 1}}, {True: 4}],
    "ints": ["1", 1, [True], [-1], [1.0], ["1"], [[1]], (1, 2)],
    "params": ["PSS", 5, [1], {}, {"type": "NOPE"}, {"type": "PSS", "hash": "SHA256"}],
}
"""Wrong values of each kind (``None`` is covered apart: for optional arguments it is absence)."""


def _valid_args(spec: CommandSpec) -> dict[str, Any]:
    return {name: GOOD[kind] for name, kind in {**spec.args, **spec.optional}.items()}


def _required() -> list[Any]:
    return [
        pytest.param(spec, name, id=f"{spec.name}-{name}")
        for spec in COMMANDS.values()
        for name in spec.args
    ]


def _all_arguments() -> list[Any]:
    return [
        pytest.param(spec, name, kind, id=f"{spec.name}-{name}")
        for spec in COMMANDS.values()
        for name, kind in {**spec.args, **spec.optional}.items()
    ]


_EVERY_COMMAND = pytest.mark.parametrize("spec", list(COMMANDS.values()), ids=list(COMMANDS))


@_EVERY_COMMAND
def test_a_complete_request_passes(spec: CommandSpec) -> None:
    """Every argument present and of its kind: the arguments come back, decoded."""
    checked = check_args(spec, _valid_args(spec))
    assert set(checked) == set(spec.args) | set(spec.optional)
    for name, kind in {**spec.args, **spec.optional}.items():
        if kind == "params":
            assert checked[name] == PSSParams("SHA384", 48)
        else:
            assert checked[name] == GOOD[kind]


@_EVERY_COMMAND
def test_optional_arguments_may_be_left_out_or_null(spec: CommandSpec) -> None:
    """Optional arguments absent or sent as null both read as None."""
    required = {name: GOOD[kind] for name, kind in spec.args.items()}
    left_out = check_args(spec, required)
    as_null = check_args(spec, {**required, **dict.fromkeys(spec.optional)})
    assert left_out == as_null
    assert all(left_out[name] is None for name in spec.optional)


@pytest.mark.parametrize(("spec", "name"), _required())
def test_a_missing_required_argument_is_refused(spec: CommandSpec, name: str) -> None:
    """Leaving out any required argument (including the session) is COMMAND_INVALID."""
    args = _valid_args(spec)
    del args[name]
    with pytest.raises(CommandInvalid, match=repr(name)):
        check_args(spec, args)


@pytest.mark.parametrize(("spec", "name"), _required())
def test_a_required_argument_sent_as_null_is_refused(spec: CommandSpec, name: str) -> None:
    """Null is not a value of any kind: a required argument cannot be null."""
    with pytest.raises(CommandInvalid):
        check_args(spec, {**_valid_args(spec), name: None})


@_EVERY_COMMAND
def test_an_unknown_argument_is_refused(spec: CommandSpec) -> None:
    """An argument the spec does not name is COMMAND_INVALID, even beside valid ones."""
    with pytest.raises(CommandInvalid, match="no argument 'surprise'"):
        check_args(spec, {**_valid_args(spec), "surprise": 1})


@pytest.mark.parametrize(("spec", "name", "kind"), _all_arguments())
def test_a_mistyped_argument_is_refused(spec: CommandSpec, name: str, kind: str) -> None:
    """Each wrong value of an argument's kind is refused, by the error its kind owns."""
    expected = MechanismParamInvalid if kind == "params" else CommandInvalid
    for value in BAD[kind]:
        with pytest.raises(expected):
            check_args(spec, {**_valid_args(spec), name: value})


@pytest.mark.parametrize("value", [0, 2**64 - 1])
def test_int_arguments_span_the_unsigned_64_bit_range(value: int) -> None:
    """Integer arguments are 0 … 2**64 − 1."""
    spec = COMMANDS["crypto.random"]
    assert check_args(spec, {"session": value, "length": value})["length"] == value


def test_session_commands_name_their_session() -> None:
    """A command marked ``session`` requires an int ``session``; the others take none."""
    for spec in COMMANDS.values():
        assert (spec.args.get("session") == "int") is spec.session, spec.name
        assert "session" not in spec.optional


def test_the_table_is_keyed_by_name() -> None:
    """``COMMANDS`` maps each command's own name to its spec; names are group.verb."""
    for name, spec in COMMANDS.items():
        assert spec.name == name
        group, _, verb = name.partition(".")
        assert group
        assert verb


def test_passwords_and_plaintext_are_never_logged() -> None:
    """Every password argument, and the data of every crypto command, is a secret argument."""
    for spec in COMMANDS.values():
        names = set(spec.args) | set(spec.optional)
        assert names & {"password", "new_password"} <= spec.secret_args, spec.name
        if spec.name.startswith("crypto.") and "data" in names:
            assert "data" in spec.secret_args, spec.name


@pytest.mark.parametrize(
    "name",
    [
        "session.open",
        "session.close",
        "session.login",
        "crypto.init",
        "crypto.update",
        "crypto.final",
        "crypto.cancel",
    ],
)
def test_session_state_commands_are_never_retried(name: str) -> None:
    """Commands whose effect lives in one HSM's session are not idempotent."""
    assert COMMANDS[name].idempotent is False


@settings(max_examples=300)
@given(
    st.sampled_from(list(COMMANDS.values())),
    st.dictionaries(st.sampled_from(["session", "handle", "data", "params", "x"]), plain(3)),
)
def test_random_arguments_raise_only_request_errors(
    spec: CommandSpec, args: dict[str, Any]
) -> None:
    """Whatever the arguments, ``check_args`` returns or raises one of its two errors."""
    params = args.get("params")
    assume(not (isinstance(params, dict) and isinstance(params.get("type"), list | dict)))
    with contextlib.suppress(CommandInvalid, MechanismParamInvalid):
        check_args(spec, args)
