"""Session fixtures that run the real services the backup tests need, on 127.0.0.1.

``seaweedfs`` (S3), ``openbao`` (transit KMS) and ``moto_server`` (AWS KMS stand-in) each
start their service on first use and stop it when the test session ends; a session that
uses none of them starts nothing. A service that is missing or does not come up fails the
test with the service's log tail — it is never skipped. See ``services.py`` for how each
one is started. ``s3_bucket`` gives a test a fresh, empty bucket on ``seaweedfs``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TypeVar

import pytest

from .services import (
    MotoService,
    OpenBaoService,
    S3Service,
    ServiceError,
    running_moto,
    running_openbao,
    running_seaweedfs,
)

T = TypeVar("T")


def _serve(
    start: Callable[[Path], AbstractContextManager[T]],
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
) -> Iterator[T]:
    with contextlib.ExitStack() as stack:
        try:
            service = stack.enter_context(start(tmp_path_factory.mktemp(name)))
        except ServiceError as exc:
            pytest.fail(str(exc), pytrace=False)
        yield service


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Service]:
    """A SeaweedFS S3 endpoint (``weed mini``) with its own random credentials."""
    yield from _serve(running_seaweedfs, tmp_path_factory, "seaweedfs")


@pytest.fixture(scope="session")
def openbao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenBaoService]:
    """An OpenBao dev server with the transit engine mounted at ``transit``."""
    yield from _serve(running_openbao, tmp_path_factory, "openbao")


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoService]:
    """A moto server: the AWS KMS API (and the rest of AWS) on loopback."""
    yield from _serve(running_moto, tmp_path_factory, "moto")


@pytest.fixture
def s3_bucket(seaweedfs: S3Service) -> str:
    """A fresh, empty bucket on ``seaweedfs``."""
    return seaweedfs.create_bucket()
