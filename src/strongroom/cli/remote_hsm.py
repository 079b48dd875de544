"""Reaching a served HSM from the backup commands: ``--endpoints`` or ``up``'s data dir.

This module owns logging the backup commands into an HSM node as an admin: the endpoints
file names the HSMs and the trust anchor; the credentials come from STRONGROOM_USERNAME and
STRONGROOM_PASSWORD, else (a development cluster made by ``strongroom up``) from the file.
"""

from __future__ import annotations

import contextlib
import getpass
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from strongroom.cli.output import UsageError

if TYPE_CHECKING:
    from strongroom.client import HSMClient

__all__ = ["endpoints_file", "remote_admin"]


def endpoints_file(explicit: Path | None, store: Path | None, data_dir: Path | None) -> Path | None:
    """The endpoints file to use, if the command targets a served HSM rather than a store."""
    if explicit is not None:
        if store is not None:
            raise UsageError("give --hsm (a store file) or --endpoints (a served HSM), not both")
        return explicit
    if store is not None:
        return None
    if data_dir is not None and (data_dir / "endpoints.json").exists():
        return data_dir / "endpoints.json"
    raise UsageError(
        "name the HSM: --hsm STORE_FILE, --endpoints FILE, or a --data-dir where "
        "`strongroom up` is running"
    )


@contextlib.contextmanager
def remote_admin(path: Path) -> Iterator[HSMClient]:
    """An ``HSMClient`` for the HSMs in ``path``, logged in as an admin."""
    from strongroom.client import ClientConfig, HSMClient

    try:
        config = ClientConfig.from_endpoints(path)
    except (ValueError, KeyError) as exc:
        raise UsageError(f"--endpoints {path}: {exc}") from None
    admin = dict(config.endpoints.get("admin") or {})
    username = os.environ.get("STRONGROOM_USERNAME") or admin.get("username") or "admin"
    password = os.environ.get("STRONGROOM_PASSWORD") or admin.get("password")
    if not password:
        password = getpass.getpass(f"password for {username}: ")
    client = HSMClient.connect(config)
    try:
        client.login(username, password)
        yield client
    finally:
        client.close()
