"""Fixtures for the network tests: a PKI, a shared activated node, and clients of it.

``authority`` (one dev manufacturer and customer CA per test process) and ``node`` (one
activated HSM process per test process, with crypto users alice and bob) are session-scoped:
tests that share ``node`` use unique labels and user names, and put back any state they
change. Modules that need a node of their own — one whose policy they change, or one they
kill — start it with ``cluster.running_node`` and put themselves in one ``xdist_group``, so
only one worker starts it. ``alice``, ``bob`` and ``admin`` are fresh logged-in clients of
``node`` for each test, closed afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from strongroom.client import HSMClient

from .cluster import ADMIN, ALICE, BOB, Authority, NodeProcess, User, running_node


@pytest.fixture(scope="session")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    """A dev manufacturer and the customer CA every node's cluster certificate comes from."""
    return Authority.create(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def node(authority: Authority, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    """One activated HSM process (admin, alice, bob) shared by this test process."""
    with running_node(authority, tmp_path_factory.mktemp("nodes"), "shared") as process:
        yield process


@pytest.fixture
def unique() -> str:
    """A short unique suffix for labels and user names on shared nodes."""
    return uuid.uuid4().hex[:10]


def _client(authority: Authority, node: NodeProcess, user: User) -> Iterator[HSMClient]:
    client = authority.client([node.address], user)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def alice(authority: Authority, node: NodeProcess) -> Iterator[HSMClient]:
    """A client of ``node`` logged in as the crypto user alice."""
    yield from _client(authority, node, ALICE)


@pytest.fixture
def bob(authority: Authority, node: NodeProcess) -> Iterator[HSMClient]:
    """A client of ``node`` logged in as the crypto user bob."""
    yield from _client(authority, node, BOB)


@pytest.fixture
def admin(authority: Authority, node: NodeProcess) -> Iterator[HSMClient]:
    """A client of ``node`` logged in as the admin."""
    yield from _client(authority, node, ADMIN)
