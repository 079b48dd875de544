"""The generated sections of docs/formats/wire-v1.md: commands, parameters and errors.

This module owns turning the protocol's own tables (``COMMANDS``, ``PARAM_TYPES``,
``ERROR_CLASSES``) into the markdown between the document's BEGIN/END markers, so the page
can never drift from the code: test_wire_doc.py fails when they differ. Run
``python -m tests.protocol.wire_doc`` from the repository root to rewrite the sections (the
prose around them is left as it is).
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, get_args

from strongroom.errors import StrongroomError
from strongroom.model import params as model_params
from strongroom.protocol.commands import COMMANDS
from strongroom.protocol.errors import ERROR_CLASSES, INTERNAL_ERROR
from strongroom.protocol.values import PARAM_TYPES

DOC: Final = Path(__file__).resolve().parents[2] / "docs" / "formats" / "wire-v1.md"
_REGENERATE: Final = "python -m tests.protocol.wire_doc"


def begin_marker(section: str) -> str:
    """The line that opens a generated section."""
    return f"<!-- BEGIN GENERATED: wire {section} ({_REGENERATE}) -->"


def end_marker(section: str) -> str:
    """The line that closes a generated section."""
    return f"<!-- END GENERATED: wire {section} -->"


def _none(items: list[str]) -> str:
    return ", ".join(items) if items else "–"


def _arguments(names: dict[str, Any]) -> str:
    return _none([f"`{name}`: {kind}" for name, kind in names.items() if name != "session"])


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def command_table() -> str:
    """One row per command in ``COMMANDS``, in table order."""
    lines = [
        "| command | arguments | optional arguments | session | idempotent | never logged |",
        "|---|---|---|---|---|---|",
    ]
    for name, spec in COMMANDS.items():
        names = set(spec.args) | set(spec.optional)
        secret = _none([f"`{s}`" for s in sorted(spec.secret_args & names)])
        lines.append(
            f"| `{name}` | {_arguments(dict(spec.args))} "
            f"| {_arguments(dict(spec.optional))} | {_yes(spec.session)} "
            f"| {_yes(spec.idempotent)} | {secret} |"
        )
    return "\n".join(lines) + "\n"


def _choices(values: tuple[str, ...]) -> str:
    return "text: " + ", ".join(f"`{v}`" for v in values)


_WIRE_TYPES: Final[dict[str, str]] = {
    "bytes": "bytes",
    "int": "uint",
    "bool": "bool",
    "HashName": _choices(model_params.SHA2_HASHES),
    "ECDHKDF": _choices(get_args(model_params.ECDHKDF)),
    "KBKDFPRF": _choices(get_args(model_params.KBKDFPRF)),
    "OAEPParams": "map: `OAEP` parameters",
}
"""Each field annotation used by a parameter class, as the wire carries it."""


def _wire_type(annotation: str) -> str:
    base, optional, rest = annotation.partition(" | None")
    if rest:
        raise KeyError(annotation)
    try:
        wire = _WIRE_TYPES[base]
    except KeyError:
        raise KeyError(
            f"describe the annotation {annotation!r} in tests/protocol/wire_doc.py"
        ) from None
    return f"{wire}, or null" if optional else wire


def _literal(value: object) -> str:
    if value is None:
        return "`null`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, bytes):
        return f"`h'{value.hex()}'`"
    if isinstance(value, str):
        return f'`"{value}"`'
    return f"`{value}`"


def _default(item: dataclasses.Field[Any]) -> str:
    if item.default is not dataclasses.MISSING:
        return _literal(item.default)
    factory: object = item.default_factory
    if factory is not dataclasses.MISSING:
        name = next(n for n, c in PARAM_TYPES.items() if c is factory)
        return f"`{name}` with its defaults"
    return "required"


def params_table() -> str:
    """One row per field of every parameter type in ``PARAM_TYPES``."""
    lines = [
        '| `"type"` | Python class | field | CBOR type | when absent |',
        "|---|---|---|---|---|",
    ]
    for name, cls in PARAM_TYPES.items():
        for index, item in enumerate(dataclasses.fields(cls)):
            head = f"`{name}` | `{cls.__name__}`" if index == 0 else "|"
            lines.append(
                f"| {head} | `{item.name}` | {_wire_type(str(item.type))} | {_default(item)} |"
            )
    return "\n".join(lines) + "\n"


def _summary(cls: type[StrongroomError]) -> str:
    doc = (cls.__doc__ or "").strip().splitlines()
    return doc[0].replace("|", "\\|") if doc else "–"


def _parent(cls: type[StrongroomError]) -> str:
    for base in cls.__mro__[1:]:
        if issubclass(base, StrongroomError) and ERROR_CLASSES.get(base.code) is base:
            return f"`{base.code}`"
    return "–"


def _tree_order() -> list[type[StrongroomError]]:
    """``ERROR_CLASSES`` depth first: each class right after its parent's other children."""
    index = {cls: i for i, cls in enumerate(ERROR_CLASSES.values())}

    def path(cls: type[StrongroomError]) -> tuple[int, ...]:
        chain = [c for c in reversed(cls.__mro__) if c in index]
        return tuple(index[c] for c in chain)

    return sorted(ERROR_CLASSES.values(), key=path)


def error_table() -> str:
    """One row per code in ``ERROR_CLASSES`` (as a tree), then ``INTERNAL_ERROR``."""
    lines = [
        "| code | class (`strongroom.errors`) | is a | meaning |",
        "|---|---|---|---|",
    ]
    for cls in _tree_order():
        lines.append(f"| `{cls.code}` | `{cls.__name__}` | {_parent(cls)} | {_summary(cls)} |")
    lines.append(
        f"| `{INTERNAL_ERROR}` | – (the client raises `RemoteError`) | – "
        "| The command failed inside the HSM for a reason it does not disclose. |"
    )
    return "\n".join(lines) + "\n"


SECTIONS: Final[dict[str, Callable[[], str]]] = {
    "commands": command_table,
    "parameters": params_table,
    "errors": error_table,
}


def generated_section(text: str, section: str) -> str:
    """What ``text`` holds between the markers of ``section`` (AssertionError if missing)."""
    _, begin, rest = text.partition(begin_marker(section) + "\n")
    inside, end, _ = rest.partition(end_marker(section))
    assert begin, f"the BEGIN marker of the {section} section is missing"
    assert end, f"the END marker of the {section} section is missing"
    return inside


def regenerate(text: str) -> str:
    """``text`` with every generated section replaced by what the code says today."""
    for section, make in SECTIONS.items():
        old = generated_section(text, section)
        start = begin_marker(section) + "\n"
        text = text.replace(start + old + end_marker(section), start + make() + end_marker(section))
    return text


def main() -> int:
    """Rewrite the generated sections of docs/formats/wire-v1.md in place."""
    DOC.write_text(regenerate(DOC.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
