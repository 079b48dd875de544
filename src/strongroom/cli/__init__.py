"""The ``strongroom`` command line (help, version and the engine demo for now)."""

from __future__ import annotations

from strongroom.cli.main import main

__all__ = ["main"]
