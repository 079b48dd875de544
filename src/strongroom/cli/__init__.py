"""The ``strongroom`` command line: version, the engine demo, backups and identities."""

from __future__ import annotations

from strongroom.cli.main import main

__all__ = ["main"]
