"""Shared set-up for the session-command tests: one real ``up`` cluster per test module.

``start_cluster`` runs ``cli.up.up`` on a temporary data directory (cheap password hashing,
so node logins are fast) and ``down`` at the end; ``CLI`` runs ``strongroom.cli.main(argv)``
in-process with the credentials in ``STRONGROOM_*`` variables, as a user would set them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from strongroom.cli import main
from strongroom.cli.up import DevCluster, down, up

_ISOLATED = (
    "STRONGROOM_ENDPOINTS",
    "STRONGROOM_HSMS",
    "STRONGROOM_CONFIG",
    "STRONGROOM_USERNAME",
    "STRONGROOM_PASSWORD",
    "STRONGROOM_NEW_PASSWORD",
)


@dataclass(frozen=True)
class Cluster:
    """A running development cluster and its users' credentials."""

    data_dir: Path
    endpoints: dict[str, Any]

    @property
    def admin(self) -> tuple[str, str]:
        """(username, password) of the admin."""
        return self.endpoints["admin"]["username"], self.endpoints["admin"]["password"]

    @property
    def user(self) -> tuple[str, str]:
        """(username, password) of the demo crypto user."""
        found = self.endpoints["crypto_user"]
        return found["username"], found["password"]


def start_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A module's cluster: up before its first test, down after its last."""
    data_dir = tmp_path_factory.mktemp("cluster")
    cluster = DevCluster(data_dir, password_iterations=1000)
    endpoints, _first = up(cluster)
    try:
        yield Cluster(data_dir, endpoints)
    finally:
        down(cluster)


@dataclass(frozen=True)
class Run:
    """One command's exit code and output."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        """stdout as JSON (it must be exactly one document)."""
        return json.loads(self.out)

    def data(self) -> Any:
        """The ``data`` of a successful JSON run."""
        document = self.json()
        assert document["error_code"] == 0, document
        return document["data"]

    def error(self) -> tuple[int, str]:
        """(error_code, stable code) of a failed JSON run."""
        document = self.json()
        assert set(document) == {"error_code", "error"}, document
        return document["error_code"], document["error"]["code"]


class CLI:
    """``strongroom`` run in-process against one cluster."""

    def __init__(
        self,
        cluster: Cluster,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        self.cluster = cluster
        self._capsys = capsys
        self._monkeypatch = monkeypatch
        for name in _ISOLATED:
            monkeypatch.delenv(name, raising=False)

    def run(
        self,
        *args: str | Path,
        login: tuple[str, str] | None = None,
        new_password: str | None = None,
        data_dir: bool = True,
    ) -> Run:
        """``strongroom ARGS [--data-dir DIR]`` logged in as ``login`` (default: demo user)."""
        username, password = login or self.cluster.user
        self._monkeypatch.setenv("STRONGROOM_USERNAME", username)
        self._monkeypatch.setenv("STRONGROOM_PASSWORD", password)
        if new_password is None:
            self._monkeypatch.delenv("STRONGROOM_NEW_PASSWORD", raising=False)
        else:
            self._monkeypatch.setenv("STRONGROOM_NEW_PASSWORD", new_password)
        argv = [str(a) for a in args]
        if data_dir:
            argv += ["--data-dir", str(self.cluster.data_dir)]
        self._capsys.readouterr()
        try:
            code = main(argv)
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = self._capsys.readouterr()
        return Run(code, out, err)

    def json(self, *args: str | Path, **kwargs: Any) -> Run:
        """``run`` with ``--output json``."""
        return self.run(*args, "--output", "json", **kwargs)

    def data(self, *args: str | Path, **kwargs: Any) -> Any:
        """The ``data`` of a JSON run that must succeed."""
        run = self.json(*args, **kwargs)
        assert run.code == 0, (run.out, run.err)
        return run.data()
