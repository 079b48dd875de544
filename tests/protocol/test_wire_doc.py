"""docs/formats/wire-v1.md agrees with the code: generated tables, numbers and vectors.

The command, parameter and error tables sit between BEGIN/END markers and must be exactly
what tests/protocol/wire_doc.py makes from ``COMMANDS``, ``PARAM_TYPES`` and
``ERROR_CLASSES`` today (``python -m tests.protocol.wire_doc`` rewrites them). The numbers the
prose states and every golden frame must appear in the page as well.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from strongroom.protocol import COMMANDS, DEFAULT_MAX_FRAME, WIRE_VERSION
from strongroom.protocol.errors import ERROR_CLASSES, INTERNAL_ERROR
from strongroom.protocol.frames import MAX_NESTING
from strongroom.protocol.values import PARAM_TYPES

from .test_wire_vectors import golden
from .wire_doc import DOC, SECTIONS, begin_marker, end_marker, generated_section, regenerate


def _doc() -> str:
    return DOC.read_text(encoding="utf-8")


@pytest.mark.parametrize("section", list(SECTIONS))
def test_generated_section_matches_the_code(section: str) -> None:
    """Each generated table in the page is exactly what the code generates today."""
    assert generated_section(_doc(), section) == SECTIONS[section](), (
        "run: python -m tests.protocol.wire_doc"
    )


def test_every_command_code_and_parameter_type_has_a_row() -> None:
    """Each command, error code and parameter type is named in its table."""
    text = _doc()
    for name in COMMANDS:
        assert f"| `{name}` |" in generated_section(text, "commands")
    for code in [*ERROR_CLASSES, INTERNAL_ERROR]:
        assert f"| `{code}` |" in generated_section(text, "errors")
    for name in PARAM_TYPES:
        assert f"| `{name}` |" in generated_section(text, "parameters")


def test_the_page_states_the_limits_the_code_enforces() -> None:
    """The version, frame limit and nesting depth in the prose are the code's."""
    text = _doc()
    assert f"{DEFAULT_MAX_FRAME:,} bytes" in text
    assert f"at most {MAX_NESTING} deep" in text
    assert f'{{"wire": [{WIRE_VERSION}],' in text
    assert "2⁶³ − 1" in text


def test_the_page_quotes_every_golden_frame() -> None:
    """Every frozen frame is printed in the page, in full."""
    text = _doc()
    for name, vector in golden().items():
        assert f"`{vector['frame']}`" in text, name


def test_regenerating_keeps_the_prose(tmp_path: Path) -> None:
    """Regeneration replaces only what lies between the markers."""
    stale = "".join(f"prose {s}\n{begin_marker(s)}\nstale\n{end_marker(s)}\n" for s in SECTIONS)
    fresh = regenerate(stale)
    assert "stale" not in fresh
    for section, make in SECTIONS.items():
        assert f"prose {section}\n" in fresh
        assert generated_section(fresh, section) == make()


def test_a_page_without_markers_is_refused() -> None:
    """Regeneration of a page that lost a marker fails rather than guessing."""
    with pytest.raises(AssertionError, match="marker"):
        regenerate("no markers here\n")
