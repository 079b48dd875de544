"""Fixtures shared by the session-command tests: one ``up`` cluster per module, and the CLI.

Modules that need a different cluster (a second user, say) define their own ``cluster``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .session_helpers import CLI, Cluster, start_cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One running development cluster for the module."""
    yield from start_cluster(tmp_path_factory)


@pytest.fixture
def cli(
    cluster: Cluster, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> CLI:
    """``strongroom`` against the module's cluster."""
    return CLI(cluster, capsys, monkeypatch)
