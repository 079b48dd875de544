"""Fixtures for the PKCS#11 bridge tests: a development cluster, and the bridge serving it.

The bridge runs as its own process (``strongroom pkcs11 serve --socket``), as users run
it; the tools (pkcs11-tool, p11tool, OpenSSL, ssh-keygen, python-pkcs11) load Debian's
stock p11-kit-client.so and reach it through ``P11_KIT_SERVER_ADDRESS``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from strongroom.cli.pkcs11_cmd import module_path
from strongroom.cli.up import DevCluster, down, up

MODULE = module_path()


@dataclass(frozen=True)
class Bridge:
    """A running bridge: its socket, the cluster's data dir, and the demo user's PIN."""

    socket: Path
    data_dir: Path
    endpoints: dict[str, object]
    pid: int

    def alive(self) -> bool:
        """Whether the bridge process still runs."""
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        return True

    @property
    def address(self) -> str:
        return f"unix:path={self.socket}"

    @property
    def pin(self) -> str:
        user = self.endpoints["crypto_user"]
        assert isinstance(user, dict)
        return f"{user['username']}:{user['password']}"

    @property
    def so_pin(self) -> str:
        admin = self.endpoints["admin"]
        assert isinstance(admin, dict)
        return f"{admin['username']}:{admin['password']}"

    def env(self) -> dict[str, str]:
        """The environment a PKCS#11 application needs to reach the bridge."""
        return {**os.environ, "P11_KIT_SERVER_ADDRESS": self.address}

    def run(self, *argv: str, check: bool = True, input: bytes | None = None) -> str:
        """Run a tool against the bridge; returns stdout and stderr together."""
        done = subprocess.run(
            argv, env=self.env(), capture_output=True, input=input, timeout=120, check=False
        )
        out = (done.stdout + done.stderr).decode(errors="replace")
        if check and done.returncode != 0:
            raise AssertionError(f"{argv[0]} exited {done.returncode}:\n{out}")
        return out


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bridge]:
    """A development cluster and the bridge ``up`` starts in front of it, for one module."""
    data_dir = tmp_path_factory.mktemp("p11cluster")
    cluster = DevCluster(data_dir, password_iterations=1000)
    endpoints, _ = up(cluster)
    try:
        address = endpoints["pkcs11"]["p11_kit_server_address"]
        assert endpoints["pkcs11"]["module"] == MODULE
        pid = int((data_dir / "run" / "pkcs11.pid").read_text())
        yield Bridge(Path(address.removeprefix("unix:path=")), data_dir, endpoints, pid)
    finally:
        down(cluster)
