"""``strongroom up`` and ``strongroom down``: a development cluster on this machine.

This module owns the embedded default. On first run ``up`` plays all three parties in
DIR: the manufacturer (a development identity and CA, the same files the backup commands
use), the service (its identity, installed into each node), and the customer (an issuing CA
that signs each node's cluster CSR and becomes the trust anchor, and a client certificate
for mutual TLS). It makes the node(s), serves each as its own ``strongroom hsm serve``
process on 127.0.0.1, activates them, creates a demo crypto user, and writes
DIR/endpoints.json — the contract later issues extend, never break. Later runs reuse DIR:
nodes auto-unseal with their local key file, so every key survives a restart.
``down`` stops the node processes cleanly (SIGTERM, then waits).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from strongroom.cli.config import BackupSetup, default_settings
from strongroom.cli.output import warn
from strongroom.errors import ArgumentsBad, HSMUnavailable
from strongroom.files import write_atomic

if TYPE_CHECKING:
    from strongroom.client import ClientConfig

__all__ = [
    "ENDPOINTS_FORMAT",
    "DevCluster",
    "NodeProcess",
    "down",
    "up",
]

ENDPOINTS_FORMAT: Final = "strongroom-endpoints-v1"
CRYPTO_USER: Final = "demo_user"
_START_TIMEOUT: Final = 60.0
_STOP_TIMEOUT: Final = 30.0


@dataclass(frozen=True, slots=True)
class NodeProcess:
    """A running node: its name, address and process id."""

    name: str
    hsm_id: str
    address: str
    pid: int


class DevCluster:
    """The development cluster kept in ``data_dir`` (see the module docstring)."""

    def __init__(
        self,
        data_dir: Path | str,
        *,
        hsm_count: int = 1,
        password_iterations: int | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.hsm_count = hsm_count
        self.password_iterations = password_iterations
        if not 1 <= hsm_count <= 28:
            raise ArgumentsBad("a cluster has 1-28 HSMs")
        self._processes: list[subprocess.Popen[bytes]] = []
        self._hsm_ids: dict[str, str] = {}
        """Node processes this object started (reaped by ``stop``)."""

    def __repr__(self) -> str:
        return f"DevCluster({str(self.data_dir)!r})"

    # --- paths ---------------------------------------------------------------------------------

    @property
    def endpoints_path(self) -> Path:
        """DIR/endpoints.json."""
        return self.data_dir / "endpoints.json"

    @property
    def trust_anchor(self) -> Path:
        """The customer CA certificate (PEM): what clients trust."""
        return self.data_dir / "ca" / "customer-ca.pem"

    def node_dir(self, name: str) -> Path:
        """A node's directory."""
        return self.data_dir / "hsms" / name

    def _ready_file(self, name: str) -> Path:
        return self.data_dir / "run" / f"{name}.json"

    def node_names(self) -> list[str]:
        """Every node made so far (at least ``hsm_count`` after ``prepare``)."""
        root = self.data_dir / "hsms"
        if not root.exists():
            return []
        return sorted(p.name for p in root.iterdir() if (p / "node.json").exists())

    # --- first run: the three parties ---------------------------------------------------------

    def prepare(self) -> bool:
        """Make whatever is missing; True if this is the first run."""
        from strongroom.crypto import create_ca, der_to_pem, private_key_pem

        first = not (self.data_dir / "credentials.json").exists()
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        for sub in ("ca", "client", "hsms", "run", "logs"):
            (self.data_dir / sub).mkdir(mode=0o700, exist_ok=True)
        setup = BackupSetup(default_settings(self.data_dir))
        setup.manufacturer()  # made on first use, with a warning
        setup.service_identity()
        ca_key_path = self.data_dir / "ca" / "customer-ca.key"
        if not ca_key_path.exists():
            key_der, cert_der = create_ca("Strongroom development customer CA")
            write_atomic(ca_key_path, private_key_pem(key_der), 0o600)
            write_atomic(self.trust_anchor, der_to_pem(cert_der), 0o644)
            warn(
                f"created a DEVELOPMENT customer CA at {ca_key_path}; in production the "
                "customer's issuing CA signs each cluster CSR and its key stays offline."
            )
        existing = self.node_names()
        for index in range(len(existing) + 1, self.hsm_count + 1):
            self._make_node(f"hsm{index}", setup)
        self._client_certificate()
        return first

    def _customer_ca(self) -> tuple[bytes, bytes]:
        from strongroom.crypto import pem_to_der
        from strongroom.crypto.certs import private_key_der_from_pem

        key = private_key_der_from_pem((self.data_dir / "ca" / "customer-ca.key").read_bytes())
        return key, pem_to_der(self.trust_anchor.read_bytes())[0]

    def _make_node(self, name: str, setup: BackupSetup) -> None:
        from strongroom.crypto import der_to_pem, issue_certificate
        from strongroom.crypto.certs import csr_der_from_pem
        from strongroom.server import node

        manufacturer_path = setup.settings.manufacturer_file
        assert manufacturer_path is not None  # the embedded default always names one
        config = node.make_node(
            self.node_dir(name),
            name=name,
            manufacturer_path=manufacturer_path,
            port=_free_port(),
            password_iterations=self.password_iterations,
        )
        ca_key, ca_cert = self._customer_ca()
        csr = csr_der_from_pem(node.cluster_csr(config))
        cert = issue_certificate(ca_key, ca_cert, csr, ip_addresses=["127.0.0.1"])
        node.install_cluster_certificate(config, der_to_pem(cert), self.trust_anchor.read_bytes())
        node.configure_service(config, setup.service_identity())

    def _client_certificate(self) -> None:
        from strongroom.crypto import create_csr, create_node_key, der_to_pem, issue_certificate
        from strongroom.crypto import private_key_pem as pem

        cert_path = self.data_dir / "client" / "client.crt"
        if cert_path.exists():
            return
        key = create_node_key()
        ca_key, ca_cert = self._customer_ca()
        csr = create_csr(key, "strongroom-dev-client")
        cert = issue_certificate(ca_key, ca_cert, csr, server=False, client=True)
        write_atomic(self.data_dir / "client" / "client.key", pem(key), 0o600)
        write_atomic(cert_path, der_to_pem(cert), 0o644)

    # --- processes ----------------------------------------------------------------------------

    def running(self) -> list[NodeProcess]:
        """Nodes whose ready file names a live process."""
        out = []
        for name in self.node_names():
            ready = self._read_ready(name)
            if ready is not None:
                out.append(ready)
        return out

    def _read_ready(self, name: str) -> NodeProcess | None:
        path = self._ready_file(name)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        pid = int(raw.get("pid", 0))
        if pid <= 0 or not _alive(pid):
            path.unlink(missing_ok=True)
            return None
        return NodeProcess(name, self._hsm_id(name), str(raw["address"]), pid)

    def _hsm_id(self, name: str) -> str:
        """A node's HSM id (from its node.json, read once)."""
        found = self._hsm_ids.get(name)
        if found is None:
            node = json.loads((self.node_dir(name) / "node.json").read_text(encoding="utf-8"))
            found = self._hsm_ids[name] = str(node["extra"]["hsm_id"])
        return found

    def start(self) -> list[NodeProcess]:
        """Start every node that is not running; wait until all listen."""
        started: list[subprocess.Popen[bytes]] = []
        for name in self.node_names():
            if self._read_ready(name) is not None:
                continue
            self._ready_file(name).unlink(missing_ok=True)
            log_file = self.data_dir / "logs" / f"{name}.log"
            command = [
                *_STRONGROOM,
                "hsm",
                "serve",
                "--node-dir",
                str(self.node_dir(name)),
                "--ready-file",
                str(self._ready_file(name)),
                "--log-file",
                str(log_file),
            ]
            started.append(_spawn(command, log_file.with_suffix(".err")))
        self._processes.extend(started)
        deadline = time.monotonic() + _START_TIMEOUT
        while True:
            running = self.running()
            if len(running) == len(self.node_names()):
                return running
            for process in started:
                if process.poll() is not None:
                    raise HSMUnavailable(
                        f"an HSM node exited at start-up (code {process.returncode}); see "
                        f"{self.data_dir / 'logs'}"
                    )
            if time.monotonic() > deadline:
                raise HSMUnavailable("the HSM nodes did not start in time")
            time.sleep(0.05)

    # --- the PKCS#11 bridge ----------------------------------------------------------------------

    @property
    def pkcs11_socket(self) -> Path:
        """The bridge's unix socket (P11_KIT_SERVER_ADDRESS=unix:path=…)."""
        return self.data_dir / "run" / "pkcs11.sock"

    def _bridge_pid(self) -> int | None:
        try:
            pid = int((self.data_dir / "run" / "pkcs11.pid").read_text())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None

    def start_bridge(self) -> None:
        """Start ``strongroom pkcs11 serve`` on ``pkcs11_socket`` unless it runs already."""
        if self._bridge_pid() is not None and self.pkcs11_socket.exists():
            return
        log_file = self.data_dir / "logs" / "pkcs11.log"
        command = [
            *_STRONGROOM,
            "pkcs11",
            "serve",
            "--socket",
            str(self.pkcs11_socket),
            "--endpoints",
            str(self.endpoints_path),
        ]
        self.pkcs11_socket.unlink(missing_ok=True)
        process = _spawn(command, log_file)
        self._processes.append(process)
        write_atomic(self.data_dir / "run" / "pkcs11.pid", str(process.pid).encode(), 0o600)
        deadline = time.monotonic() + _START_TIMEOUT
        while not self.pkcs11_socket.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise HSMUnavailable(f"the PKCS#11 bridge did not start; see {log_file}")
            time.sleep(0.05)

    def stop_bridge(self) -> None:
        """Stop the PKCS#11 bridge if it runs."""
        pid = self._bridge_pid()
        if pid is not None:
            _terminate([pid])
        (self.data_dir / "run" / "pkcs11.pid").unlink(missing_ok=True)
        self.pkcs11_socket.unlink(missing_ok=True)

    def stop(self) -> list[str]:
        """SIGTERM every running node and wait for it to exit; returns their names."""
        self.stop_bridge()
        running = self.running()
        _terminate([node_process.pid for node_process in running])
        for node_process in running:
            self._ready_file(node_process.name).unlink(missing_ok=True)
        self.endpoints_path.unlink(missing_ok=True)
        for process in self._processes:
            try:
                process.wait(timeout=_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._processes.clear()
        return [n.name for n in running]

    # --- users and the endpoints contract --------------------------------------------------------

    def credentials(self) -> dict[str, dict[str, str]]:
        """The admin's and the demo crypto user's credentials (made once, kept 0600)."""
        path = self.data_dir / "credentials.json"
        if path.exists():
            return dict(json.loads(path.read_text(encoding="utf-8")))
        creds = {
            "admin": {"username": "admin", "password": secrets.token_urlsafe(18)},
            "crypto_user": {"username": CRYPTO_USER, "password": secrets.token_urlsafe(18)},
        }
        write_atomic(path, json.dumps(creds, indent=2).encode(), 0o600)
        return creds

    def activate(self, nodes: list[NodeProcess]) -> None:
        """Activate each node that is not yet and add the demo crypto user."""
        from strongroom.client import HSMClient
        from strongroom.constants import Role

        creds = self.credentials()
        admin, user = creds["admin"], creds["crypto_user"]
        for node_process in nodes:
            config = self._client_config((node_process.address,))
            with HSMClient(config) as client:
                if client.info().get("activated"):
                    continue
                client.login("admin", "password")
                client.activate(admin["password"])
                client.login(admin["username"], admin["password"])
                client.create_user(user["username"], user["password"], Role.CRYPTO_USER)

    def _client_config(self, hsms: tuple[str, ...]) -> ClientConfig:
        from strongroom.client import ClientConfig

        return ClientConfig(
            hsms=hsms,
            trust_anchor=str(self.trust_anchor),
            client_cert=str(self.data_dir / "client" / "client.crt"),
            client_key=str(self.data_dir / "client" / "client.key"),
        )

    def write_endpoints(self, nodes: list[NodeProcess], *, pkcs11: bool = False) -> dict[str, Any]:
        """DIR/endpoints.json (0600: it holds the development passwords)."""
        from strongroom.cli.pkcs11_cmd import module_path

        creds = self.credentials()
        document = {
            "format": ENDPOINTS_FORMAT,
            "hsms": [
                {"hsm_id": n.hsm_id, "address": n.address, "name": n.name, "pid": n.pid}
                for n in nodes
            ],
            "trust_anchor": str(self.trust_anchor),
            "admin": creds["admin"],
            "crypto_user": creds["crypto_user"],
            "data_dir": str(self.data_dir),
            "client_certificate": {
                "cert": str(self.data_dir / "client" / "client.crt"),
                "key": str(self.data_dir / "client" / "client.key"),
            },
        }
        if pkcs11:
            document["pkcs11"] = {
                "p11_kit_server_address": f"unix:path={self.pkcs11_socket.absolute()}",
                "module": module_path(),
            }
        write_atomic(self.endpoints_path, json.dumps(document, indent=2).encode(), 0o600)
        return document


_STRONGROOM = (sys.executable, "-m", "strongroom")


def _spawn(command: list[str], errors_file: Path) -> subprocess.Popen[bytes]:
    """Start one of our own processes, detached (it outlives ``up --detach``)."""
    with open(errors_file, "ab") as errors:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            start_new_session=True,
        )


def _terminate(pids: list[int]) -> None:
    """SIGTERM each process, wait for them all (SIGKILL whoever outlasts the timeout)."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + _STOP_TIMEOUT
    for pid in pids:
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of ours counts as gone
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return True


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def up(cluster: DevCluster) -> tuple[dict[str, Any], bool]:
    """Prepare, start, activate, write endpoints; returns (endpoints, first run)."""
    first = cluster.prepare()
    nodes = cluster.start()
    try:
        cluster.activate(nodes)
        cluster.write_endpoints(nodes)  # the bridge reads it
        cluster.start_bridge()
    except BaseException:
        cluster.stop()
        raise
    return cluster.write_endpoints(nodes, pkcs11=True), first


def down(cluster: DevCluster) -> list[str]:
    """Stop the cluster's nodes; returns the names stopped."""
    return cluster.stop()


@contextlib.contextmanager
def running_cluster(cluster: DevCluster) -> Iterator[dict[str, Any]]:
    """``up`` for the length of a ``with`` block (tests and demos)."""
    endpoints, _first = up(cluster)
    try:
        yield endpoints
    finally:
        down(cluster)
