"""Where the HSMs are and how to trust them: from a file, the environment, or ``up``.

This module owns the client's settings. Sources, in the order ``ClientConfig.discover``
tries them: explicit arguments; ``STRONGROOM_ENDPOINTS`` (an ``endpoints.json`` written by
``strongroom up``); ``STRONGROOM_HSMS`` (comma-separated host:port) with
``STRONGROOM_TRUST_ANCHOR`` and optionally ``STRONGROOM_CLIENT_CERT``/``_KEY``;
``STRONGROOM_CONFIG`` (a TOML file with the same keys); then ``./strongroom-data/endpoints.json``.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ClientConfig", "Credentials"]

DEFAULT_DATA_DIR = Path("strongroom-data")


@dataclass(frozen=True, slots=True)
class Credentials:
    """A username and password (the password never appears in a repr)."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """Addresses of the cluster's HSMs, the trust anchor and the client's own certificate."""

    hsms: tuple[str, ...]
    trust_anchor: str
    client_cert: str | None = None
    client_key: str | None = None
    connect_timeout: float = 5.0
    request_timeout: float = 60.0
    retries: int = 3
    """How many other HSMs (or attempts) an idempotent request may try after a failure."""
    backoff: float = 0.05
    """First retry delay in seconds; doubles each time, with jitter."""
    connections_per_hsm: int = 1
    """Connections each HSM gets; each carries many requests at once."""
    balance: bool = True
    """Spread requests over the HSMs round-robin. False: send everything to the first HSM
    that answers, in ``hsms`` order, and move on only when it fails (PKCS#11 applications,
    whose session objects and operations live on one HSM)."""
    endpoints: Mapping[str, Any] = field(default_factory=dict, repr=False)
    """The whole endpoints.json when the config came from one (users, data dir)."""

    def __post_init__(self) -> None:
        if not self.hsms:
            raise ValueError("a client needs at least one HSM address")
        if self.retries < 0 or self.connections_per_hsm < 1:
            raise ValueError("retries must be ≥ 0 and connections_per_hsm ≥ 1")

    @classmethod
    def from_endpoints(cls, path: Path | str, **overrides: Any) -> ClientConfig:
        """Read an ``endpoints.json`` (the contract ``strongroom up`` writes)."""
        path = Path(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read endpoints file {path}: {exc}") from exc
        hsms = tuple(h["address"] for h in raw.get("hsms", []))
        client = raw.get("client_certificate") or {}
        settings: dict[str, Any] = {
            "hsms": hsms,
            "trust_anchor": raw["trust_anchor"],
            "client_cert": client.get("cert"),
            "client_key": client.get("key"),
            "endpoints": raw,
        }
        settings.update(overrides)
        return cls(**settings)

    @classmethod
    def from_toml(cls, path: Path | str) -> ClientConfig:
        """A TOML file: ``hsms = [...]``, ``trust_anchor``, ``client_cert``, ``client_key``…"""
        with open(path, "rb") as handle:
            raw = tomllib.load(handle)
        raw["hsms"] = tuple(raw.get("hsms", ()))
        return cls(**raw)

    @classmethod
    def discover(cls, environ: Mapping[str, str] | None = None) -> ClientConfig:
        """Settings from the environment, or from ``./strongroom-data`` (see module doc)."""
        env = os.environ if environ is None else environ
        if env.get("STRONGROOM_ENDPOINTS"):
            return cls.from_endpoints(env["STRONGROOM_ENDPOINTS"])
        if env.get("STRONGROOM_HSMS"):
            anchor = env.get("STRONGROOM_TRUST_ANCHOR")
            if not anchor:
                raise ValueError("STRONGROOM_HSMS needs STRONGROOM_TRUST_ANCHOR")
            return cls(
                hsms=tuple(a.strip() for a in env["STRONGROOM_HSMS"].split(",") if a.strip()),
                trust_anchor=anchor,
                client_cert=env.get("STRONGROOM_CLIENT_CERT") or None,
                client_key=env.get("STRONGROOM_CLIENT_KEY") or None,
            )
        if env.get("STRONGROOM_CONFIG"):
            return cls.from_toml(env["STRONGROOM_CONFIG"])
        default = DEFAULT_DATA_DIR / "endpoints.json"
        if default.exists():
            return cls.from_endpoints(default)
        raise ValueError(
            "no HSMs configured: run `strongroom up`, or set STRONGROOM_ENDPOINTS,"
            " STRONGROOM_HSMS or STRONGROOM_CONFIG"
        )
