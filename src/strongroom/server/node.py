"""One HSM node on disk and on the network: make it, give it a cluster certificate, serve it.

This module owns the node directory (docs/architecture.md §Node): ``node.json`` (settings, no
secrets), the sealed store, the node's identity key (0600), its hardware certificate signed
by the manufacturer CA, its cluster CSR and the cluster certificate the customer's issuing
CA signed, and the trust anchor. ``make_node`` plays the manufacturer (identity key, MKBK,
hardware certificate); ``install_cluster_certificate`` is the customer's step; ``run_node``
serves until SIGTERM or SIGINT, then closes every connection and the store cleanly.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import ssl
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

from strongroom.backup.kms.local import LocalKMS
from strongroom.crypto import (
    certificate_public_key_der,
    create_csr,
    create_node_key,
    der_to_pem,
    issue_certificate,
    pem_to_der,
    private_key_pem,
    verify_issued_by,
)
from strongroom.crypto.certs import private_key_der_from_pem
from strongroom.engine import HSM, HSMConfig
from strongroom.engine.identity import ManufacturerIdentity, ServiceIdentity
from strongroom.errors import ArgumentsBad, IdentityInvalid
from strongroom.files import write_atomic
from strongroom.server.listener import ListenerLimits, NodeListener
from strongroom.server.logs import log
from strongroom.server.unseal import KMSUnseal
from strongroom.store.sqlite import SQLiteStore

__all__ = [
    "NODE_FORMAT",
    "NodeConfig",
    "install_cluster_certificate",
    "make_node",
    "open_node_hsm",
    "run_node",
    "server_ssl_context",
]

NODE_FORMAT: Final = "strongroom-node-v1"
_IDENTITY_KEY: Final = "identity.key"
_HSM_CERT: Final = "hsm.crt"
_CSR: Final = "cluster.csr"
_CLUSTER_CERT: Final = "cluster.crt"
_TRUST_ANCHOR: Final = "trust-anchor.pem"
_STORE: Final = "store.db"
_SERVICE_CERT: Final = "service.crt"
_MANUFACTURER_CA: Final = "manufacturer-ca.pem"


@dataclass(slots=True)
class NodeConfig:
    """``node.json``: where the node listens and where its parts are (paths are absolute)."""

    directory: Path
    name: str
    host: str = "127.0.0.1"
    port: int = 0
    manufacturer: str | None = None
    """Path of the manufacturer identity file (MKBK and CA)."""
    unseal_key_file: str | None = None
    """Local KMS key file for auto-unseal (None: an admin login unseals after a restart)."""
    fips: bool = False
    password_iterations: int | None = None
    """Test-only: a cheaper password KDF (``allow_weak_kdf``)."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def store_path(self) -> Path:
        """The sealed store."""
        return self.directory / _STORE

    @property
    def address(self) -> str:
        """``host:port``."""
        return f"{self.host}:{self.port}"

    def path(self, name: str) -> Path:
        """A file in the node directory."""
        return self.directory / name

    def save(self) -> None:
        """Write ``node.json`` atomically."""
        data = asdict(self)
        data["directory"] = str(self.directory)
        data["format"] = NODE_FORMAT
        write_atomic(self.directory / "node.json", json.dumps(data, indent=2).encode(), 0o600)

    @classmethod
    def load(cls, directory: Path | str) -> NodeConfig:
        """Read ``directory/node.json``."""
        directory = Path(directory).resolve()
        try:
            raw = json.loads((directory / "node.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ArgumentsBad(f"{directory} is not a node directory (no node.json)") from None
        except ValueError:
            raise ArgumentsBad(f"{directory}/node.json is not JSON") from None
        if not isinstance(raw, dict) or raw.pop("format", None) != NODE_FORMAT:
            raise ArgumentsBad(f"{directory}/node.json is not a {NODE_FORMAT} file")
        raw["directory"] = directory
        try:
            return cls(**raw)
        except TypeError:
            raise ArgumentsBad(f"{directory}/node.json has unknown or missing fields") from None


def _hsm_config(config: NodeConfig) -> HSMConfig:
    settings: dict[str, Any] = {"fips_mode": config.fips}
    if config.manufacturer is not None:
        settings["manufacturer"] = ManufacturerIdentity.load(Path(config.manufacturer))
    if config.unseal_key_file is not None:
        settings["unseal_provider"] = KMSUnseal(
            LocalKMS(config.unseal_key_file), "auto-unseal", config.name
        )
    if config.password_iterations is not None:
        settings["password_iterations"] = config.password_iterations
        settings["allow_weak_kdf"] = True
    return HSMConfig(**settings)


def open_node_hsm(config: NodeConfig) -> HSM:
    """Open (or create) the node's HSM on its store."""
    return HSM.open(SQLiteStore(config.store_path), _hsm_config(config))


def make_node(
    directory: Path | str,
    *,
    name: str,
    manufacturer_path: Path | str,
    host: str = "127.0.0.1",
    port: int = 0,
    auto_unseal: bool = True,
    fips: bool = False,
    password_iterations: int | None = None,
) -> NodeConfig:
    """The manufacturer makes a node: identity key, HSM, hardware certificate, cluster CSR."""
    directory = Path(directory).resolve()
    if (directory / "node.json").exists():
        raise ArgumentsBad(f"{directory} already holds a node")
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    manufacturer = ManufacturerIdentity.load(Path(manufacturer_path))
    config = NodeConfig(
        directory=directory,
        name=name,
        host=host,
        port=port,
        manufacturer=str(Path(manufacturer_path).resolve()),
        fips=fips,
        password_iterations=password_iterations,
    )
    if auto_unseal:
        key_file = directory / "unseal.keys"
        LocalKMS(key_file).create_key("auto-unseal")
        config.unseal_key_file = str(key_file)
    hsm = open_node_hsm(config)
    hsm_id = hsm.hsm_id
    hsm.close()
    key = create_node_key()
    write_atomic(directory / _IDENTITY_KEY, private_key_pem(key), 0o600)
    csr = create_csr(key, f"HSM:{hsm_id}")
    hardware = issue_certificate(
        manufacturer.ca_key, manufacturer.ca_cert, csr, server=True, client=True
    )
    write_atomic(directory / _HSM_CERT, der_to_pem(hardware), 0o644)
    write_atomic(directory / _MANUFACTURER_CA, der_to_pem(manufacturer.ca_cert), 0o644)
    write_atomic(directory / _CSR, der_to_pem(csr, "CERTIFICATE REQUEST"), 0o644)
    config.extra["hsm_id"] = hsm_id
    config.save()
    return config


def cluster_csr(config: NodeConfig) -> bytes:
    """The node's cluster CSR (PEM), for the customer's issuing CA to sign."""
    return config.path(_CSR).read_bytes()


def install_cluster_certificate(
    config: NodeConfig, cert_pem: bytes, trust_anchor_pem: bytes
) -> None:
    """The customer's step: install the signed cluster certificate and the trust anchor.

    Refused unless the certificate is for this node's identity key and was issued by the
    trust anchor (RFC 5280 self-signed root; a chain is not taken yet).
    """
    certs, anchors = pem_to_der(cert_pem), pem_to_der(trust_anchor_pem)
    hardware = pem_to_der(config.path(_HSM_CERT).read_bytes())[0]
    if certificate_public_key_der(certs[0]) != certificate_public_key_der(hardware):
        raise IdentityInvalid("the cluster certificate is not for this node's identity key")
    verify_issued_by(certs[0], anchors[0])
    verify_issued_by(anchors[0], anchors[0])
    write_atomic(config.path(_CLUSTER_CERT), cert_pem, 0o644)
    write_atomic(config.path(_TRUST_ANCHOR), trust_anchor_pem, 0o644)


def configure_service(config: NodeConfig, service: ServiceIdentity) -> None:
    """The service's step: install its identity (the AKBK) into the node's HSM.

    A service with a CA also certifies the node's identity key (``service.crt``, CloudHSM's
    ``AwsHardwareCertificate``), after checking the node's hardware certificate against the
    manufacturer CA the node names.
    """
    hsm = open_node_hsm(config)
    try:
        hsm.configure_service(service)
    finally:
        hsm.close()
    if service.ca_key is None or service.ca_cert is None:
        return
    hardware = pem_to_der(config.path(_HSM_CERT).read_bytes())[0]
    verify_issued_by(hardware, pem_to_der(config.path(_MANUFACTURER_CA).read_bytes())[0])
    key = private_key_der_from_pem(config.path(_IDENTITY_KEY).read_bytes())
    csr = create_csr(key, f"HSM:{config.extra.get('hsm_id', config.name)}")
    cert = issue_certificate(service.ca_key, service.ca_cert, csr, server=True, client=True)
    write_atomic(config.path(_SERVICE_CERT), der_to_pem(cert), 0o644)
    write_atomic(config.path("service-ca.pem"), der_to_pem(service.ca_cert), 0o644)


def server_ssl_context(config: NodeConfig) -> ssl.SSLContext:
    """TLS 1.3 only; the cluster certificate; client certificates checked against the anchor."""
    cert, anchor = config.path(_CLUSTER_CERT), config.path(_TRUST_ANCHOR)
    if not cert.exists() or not anchor.exists():
        raise ArgumentsBad(f"node {config.name} has no cluster certificate yet (initialise it)")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.maximum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(cert, config.path(_IDENTITY_KEY))
    context.load_verify_locations(cafile=str(anchor))
    context.verify_mode = ssl.CERT_OPTIONAL  # enforcement is the mtls_enforced policy
    return context


def _node_info(config: NodeConfig) -> dict[str, Any]:
    """What ``hsm.info`` adds: the node's name and certificates (CloudHSM's five items)."""
    certificates = {
        "hsm": config.path(_HSM_CERT).read_text(),
        "cluster": config.path(_CLUSTER_CERT).read_text(),
        "manufacturer_ca": config.path(_MANUFACTURER_CA).read_text(),
        "cluster_csr": config.path(_CSR).read_text(),
    }
    if config.path(_SERVICE_CERT).exists():
        certificates["service"] = config.path(_SERVICE_CERT).read_text()
        certificates["service_ca"] = config.path("service-ca.pem").read_text()
    return {"node_name": config.name, "certificates": certificates}


async def serve_node(
    config: NodeConfig,
    stop: asyncio.Event,
    *,
    on_ready: Callable[[str, int], None] | None = None,
    limits: ListenerLimits | None = None,
) -> None:
    """Serve the node until ``stop`` is set."""
    context = server_ssl_context(config)
    hsm = await asyncio.get_running_loop().run_in_executor(None, open_node_hsm, config)
    for anchor in hsm.trust_anchors():  # the CAs admins registered for client certificates
        context.load_verify_locations(cadata=anchor)
    listener = NodeListener(
        hsm,
        context,
        node_info=_node_info(config),
        limits=limits,
        cluster_anchor=pem_to_der(config.path(_TRUST_ANCHOR).read_bytes())[0],
    )
    try:
        host, port = await listener.start(config.host, config.port)
        if on_ready is not None:
            on_ready(host, port)
        await stop.wait()
    finally:
        log(logging.INFO, "stopping", connections=listener.connection_count)
        await listener.close()
        hsm.close()
        log(logging.INFO, "stopped")


def run_node(config: NodeConfig, *, ready_file: Path | None = None) -> int:
    """Serve until SIGTERM/SIGINT; writes ``ready_file`` (JSON: address, pid) when listening."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)

        def ready(host: str, port: int) -> None:
            if ready_file is not None:
                import os

                body = {"address": f"{host}:{port}", "pid": os.getpid(), "name": config.name}
                write_atomic(ready_file, json.dumps(body).encode(), 0o644)

        await serve_node(config, stop, on_ready=ready)

    try:
        import uvloop
    except ImportError:  # the standard loop works too, a little slower
        asyncio.run(main())
    else:
        uvloop.run(main())
    return 0
