"""docs/mechanisms.md carries the table generated from the registry, unchanged."""

from __future__ import annotations

from pathlib import Path

from strongroom.cli.main import main
from strongroom.engine.mechanisms.registry import default_registry
from strongroom.engine.mechanisms.table import BEGIN_MARKER, END_MARKER, markdown_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "mechanisms.md"


def _generated_section(text: str) -> str:
    _, begin, rest = text.partition(BEGIN_MARKER + "\n")
    section, end, _ = rest.partition(END_MARKER)
    assert begin, "docs/mechanisms.md lost its BEGIN marker"
    assert end, "docs/mechanisms.md lost its END marker"
    return section


def test_document_matches_registry() -> None:
    """The table in docs/mechanisms.md is exactly what the registry generates today."""
    assert _generated_section(DOC.read_text(encoding="utf-8")) == markdown_table(
        default_registry()
    ), "run: strongroom mechanisms --update-doc docs/mechanisms.md"


def test_every_registered_mechanism_has_a_row() -> None:
    """Each registered mechanism appears in the document by its CKM_ name and number."""
    text = DOC.read_text(encoding="utf-8")
    for entry in default_registry():
        assert f"| CKM_{entry.mechanism.name} | 0x{int(entry.mechanism):X} |" in text


def test_update_doc_rewrites_only_the_generated_section(tmp_path: Path) -> None:
    """`strongroom mechanisms --update-doc` replaces the table and keeps the prose around it."""
    doc = tmp_path / "m.md"
    doc.write_text(f"intro\n{BEGIN_MARKER}\nstale\n{END_MARKER}\noutro\n", encoding="utf-8")
    assert main(["mechanisms", "--update-doc", str(doc)]) == 0
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("intro\n")
    assert text.endswith(f"{END_MARKER}\noutro\n")
    assert "stale" not in text
    assert _generated_section(text) == markdown_table(default_registry())


def test_update_doc_refuses_a_file_without_markers(tmp_path: Path) -> None:
    """A document without the markers is left alone and the command fails."""
    doc = tmp_path / "m.md"
    doc.write_text("no markers here\n", encoding="utf-8")
    assert main(["mechanisms", "--update-doc", str(doc)]) == 1
    assert doc.read_text(encoding="utf-8") == "no markers here\n"
