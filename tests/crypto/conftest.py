"""Fixtures for the crypto tests."""

from __future__ import annotations

from pathlib import Path

import pytest

_VECTORS_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "vectors"


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    """The shared test-vector directory (``../shared/vectors`` beside the repo); fails if absent."""
    path = _VECTORS_DIR.resolve()
    if not path.is_dir():
        pytest.fail(f"test vectors not found at {path}", pytrace=False)
    return path
