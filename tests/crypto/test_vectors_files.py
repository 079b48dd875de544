"""The shared vector files are present and unaltered, and the collector reads the same place."""

from __future__ import annotations

import hashlib
from pathlib import Path

from .crypto_vectors import VECTORS_DIR


def _manifest(vectors_dir: Path) -> dict[str, str]:
    lines = (vectors_dir / "SHA256SUMS").read_text(encoding="ascii").splitlines()
    return {name: digest for digest, name in (line.split(maxsplit=1) for line in lines if line)}


def test_collector_reads_the_fixture_directory(vectors_dir: Path) -> None:
    """Collection-time readers and the vectors_dir fixture point at the same directory."""
    assert vectors_dir == VECTORS_DIR


def test_vector_files_match_their_manifest(vectors_dir: Path) -> None:
    """Every file listed in SHA256SUMS exists and has the recorded SHA-256."""
    manifest = _manifest(vectors_dir)
    assert "nist-cavp/kbkdf/KDFCTR_gen.txt" in manifest
    for name, expected in manifest.items():
        actual = hashlib.sha256((vectors_dir / name).read_bytes()).hexdigest()
        assert actual == expected, name
