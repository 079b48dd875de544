"""Fixtures for engine tests: activated HSMs with an admin, crypto users and an appliance user."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from strongroom.store.sqlite import SQLiteStore
from strongroom.testing import MemoryStore

from .engine_helpers import Cluster, build


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """An activated in-memory HSM."""
    c = build(MemoryStore())
    yield c
    c.hsm.close()


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    """Where a test's SQLite store lives."""
    return tmp_path / "hsm.db"


@pytest.fixture
def sqlite_cluster(sqlite_path: Path) -> Iterator[Cluster]:
    """An activated HSM on a SQLite store."""
    c = build(SQLiteStore(sqlite_path))
    yield c
    c.hsm.close()
