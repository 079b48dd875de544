"""Real HSM node processes on 127.0.0.1 for the network tests, and the PKI they stand on.

An ``Authority`` plays both outside parties: a dev manufacturer (identity file: MKBK and the
CA that signs hardware certificates) and the customer's issuing CA, whose certificate is the
trust anchor of nodes and clients alike. ``Authority.make_node`` does what an operator does
to a new HSM: ``make_node`` (test-only weak password KDF), sign the node's cluster CSR with
the customer CA for IP 127.0.0.1, and install the certificate. ``NodeProcess`` runs one node
directory in a child process — ``python -m strongroom hsm serve`` or, when a test needs
listener limits the command line does not expose, ``limited_node.py`` (the same
``serve_node`` with ``ListenerLimits``) — waits for its ready file, and stops it with
SIGTERM (SIGKILL after ``STOP_TIMEOUT_S``) or kills it outright. ``activate_node`` takes a
fresh node from the factory ``admin``/``password`` to an activated HSM with crypto users
``alice`` and ``bob``; ``running_node`` makes, starts and activates a node for the length of
a ``with`` block. For the rare test that must look inside the server, ``serving_in_thread``
runs the same ``NodeListener`` on an event loop in a thread of the test process and hands
over the ``HSM`` it serves. A node that does not come up fails the test with its log tail;
nothing is ever skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from strongroom.client import ClientConfig, HSMClient
from strongroom.constants import Role
from strongroom.crypto import (
    create_ca,
    create_csr,
    create_node_key,
    der_to_pem,
    issue_certificate,
    private_key_pem,
)
from strongroom.engine import HSM
from strongroom.engine.identity import ManufacturerIdentity
from strongroom.server.listener import NodeListener
from strongroom.server.node import (
    NodeConfig,
    install_cluster_certificate,
    make_node,
    open_node_hsm,
    server_ssl_context,
)

__all__ = [
    "ADMIN",
    "ALICE",
    "BOB",
    "FACTORY_ADMIN",
    "READY_TIMEOUT_S",
    "STOP_TIMEOUT_S",
    "Authority",
    "ClientCertificate",
    "NodeError",
    "NodeProcess",
    "User",
    "activate_node",
    "running_node",
    "serving_in_thread",
]

READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
PASSWORD_ITERATIONS = 1000
"""Test-only: a cheap password KDF, so logins and user creation take microseconds."""
TESTS_DIR = Path(__file__).resolve().parents[1]


@dataclass(frozen=True, slots=True)
class User:
    """A username and password the tests log in with."""

    name: str
    password: str


FACTORY_ADMIN = User("admin", "password")
"""The unactivated admin every new HSM has (CloudHSM's PRECO)."""
ADMIN = User("admin", "admin-password-1")
ALICE = User("alice", "alice-password-1")
BOB = User("bob", "bob-password-1")


class NodeError(Exception):
    """A node process could not be started or did not become ready."""


@dataclass(frozen=True, slots=True)
class ClientCertificate:
    """A client certificate and its key, as the PEM files ``ClientConfig`` takes."""

    cert: Path
    key: Path


@dataclass(frozen=True, slots=True)
class Authority:
    """A dev manufacturer and a customer CA, with their files in ``directory``."""

    directory: Path
    manufacturer_path: Path
    ca_key: bytes = field(repr=False)
    ca_cert: bytes = field(repr=False)
    trust_anchor: Path
    """The customer CA's certificate (PEM): what nodes and clients trust."""

    @classmethod
    def create(cls, directory: Path, name: str = "customer") -> Authority:
        """A new manufacturer and CA in ``directory`` (created if missing)."""
        directory.mkdir(parents=True, exist_ok=True)
        manufacturer_path = directory / "manufacturer.id"
        ManufacturerIdentity.create("dev-maker").save(manufacturer_path)
        ca_key, ca_cert = create_ca(name)
        trust_anchor = directory / f"{name}-ca.pem"
        trust_anchor.write_bytes(der_to_pem(ca_cert))
        return cls(directory, manufacturer_path, ca_key, ca_cert, trust_anchor)

    def make_node(self, directory: Path, name: str) -> NodeConfig:
        """A node with a cluster certificate from this CA (for 127.0.0.1), ready to serve."""
        config = make_node(
            directory,
            name=name,
            manufacturer_path=self.manufacturer_path,
            password_iterations=PASSWORD_ITERATIONS,
        )
        csr_pem = config.path("cluster.csr").read_bytes()
        csr_der = x509.load_pem_x509_csr(csr_pem).public_bytes(serialization.Encoding.DER)
        cert = issue_certificate(self.ca_key, self.ca_cert, csr_der, ip_addresses=["127.0.0.1"])
        install_cluster_certificate(config, der_to_pem(cert), der_to_pem(self.ca_cert))
        return config

    def issue_client_certificate(self, name: str) -> ClientCertificate:
        """A client-authentication certificate from this CA, written beside the CA."""
        key = create_node_key()
        cert = issue_certificate(
            self.ca_key, self.ca_cert, create_csr(key, name), server=False, client=True
        )
        paths = ClientCertificate(
            self.directory / f"{name}-client.crt", self.directory / f"{name}-client.key"
        )
        paths.cert.write_bytes(der_to_pem(cert))
        paths.key.write_bytes(private_key_pem(key))
        paths.key.chmod(0o600)
        return paths

    def client_config(
        self,
        addresses: Sequence[str],
        *,
        certificate: ClientCertificate | None = None,
        **settings: Any,
    ) -> ClientConfig:
        """Settings for a client that trusts this CA (and presents ``certificate``, if given)."""
        return ClientConfig(
            hsms=tuple(addresses),
            trust_anchor=str(self.trust_anchor),
            client_cert=None if certificate is None else str(certificate.cert),
            client_key=None if certificate is None else str(certificate.key),
            **settings,
        )

    def client(
        self,
        addresses: Sequence[str],
        user: User | None = None,
        *,
        certificate: ClientCertificate | None = None,
        **settings: Any,
    ) -> HSMClient:
        """A connected client, logged in as ``user`` if given."""
        client = HSMClient.connect(
            self.client_config(addresses, certificate=certificate, **settings)
        )
        if user is not None:
            try:
                client.login(user.name, user.password)
            except BaseException:
                client.close()
                raise
        return client


class NodeProcess:
    """One node directory served by a child process; a context manager that stops it."""

    def __init__(
        self,
        config: NodeConfig,
        run_dir: Path,
        *,
        limits: dict[str, float | int] | None = None,
        label: str | None = None,
    ) -> None:
        self.config = config
        self.run_dir = run_dir
        self.limits = limits
        self.label = label or config.name
        self.log_path = run_dir / f"{self.label}.log"
        self.out_path = run_dir / f"{self.label}.out"
        self.ready_path = run_dir / f"{self.label}.ready.json"
        self.proc: subprocess.Popen[bytes] | None = None
        self.address = ""

    def __repr__(self) -> str:
        pid = None if self.proc is None else self.proc.pid
        return f"NodeProcess({self.label!r}, address={self.address!r}, pid={pid})"

    def __enter__(self) -> NodeProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _argv(self) -> list[str]:
        common = ["--node-dir", str(self.config.directory), "--ready-file", str(self.ready_path)]
        common += ["--log-file", str(self.log_path)]
        if self.limits is None:
            return [sys.executable, "-m", "strongroom", "hsm", "serve", *common]
        limits = ["--limits", json.dumps(self.limits)]
        return [sys.executable, "-m", "net.limited_node", *common, *limits]

    def start(self) -> NodeProcess:
        """Start serving; returns once the node listens (its address is then set)."""
        return self.launch().wait_ready()

    def launch(self) -> NodeProcess:
        """Start the process without waiting for it (``wait_ready`` waits)."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.ready_path.unlink(missing_ok=True)
        with open(self.out_path, "ab") as out:
            self.proc = subprocess.Popen(
                self._argv(),
                cwd=TESTS_DIR,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def wait_ready(self) -> NodeProcess:
        """Wait until the launched node listens, and read its address."""
        assert self.proc is not None, "launch() first"
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not self.ready_path.exists():
            code = self.proc.poll()
            if code is not None:
                raise NodeError(f"{self!r} exited with code {code}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.kill()
                raise NodeError(
                    f"{self!r} was not ready in {READY_TIMEOUT_S} s:\n{self.log_tail()}"
                )
            time.sleep(0.02)
        ready = json.loads(self.ready_path.read_text())
        assert ready["pid"] == self.proc.pid
        self.address = str(ready["address"])
        return self

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int | None:
        """SIGTERM and wait (SIGKILL after ``timeout``); returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL: the node dies at once, with no goodbye to its clients."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def log_events(self) -> list[dict[str, Any]]:
        """The node's JSON-lines log, parsed."""
        if not self.log_path.exists():
            return []
        events = []
        for line in self.log_path.read_text(encoding="utf-8").splitlines():
            if line.startswith("{"):
                events.append(json.loads(line))
        return events

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the node's log and its standard output."""
        parts = []
        for path in (self.log_path, self.out_path):
            if path.exists():
                text = path.read_text(encoding="utf-8", errors="replace")
                parts.append(f"--- {path.name}\n" + "\n".join(text.splitlines()[-lines:]))
        return "\n".join(parts) or "(no log)"


def activate_node(authority: Authority, address: str, users: Sequence[User] = (ALICE, BOB)) -> None:
    """Activate a new node (admin password ``ADMIN``) and create crypto ``users``."""
    with authority.client([address]) as client:
        assert client.login(FACTORY_ADMIN.name, FACTORY_ADMIN.password) is Role.UNACTIVATED_ADMIN
        client.activate(ADMIN.password)
        assert client.login(ADMIN.name, ADMIN.password) is Role.ADMIN
        for user in users:
            client.create_user(user.name, user.password, Role.CRYPTO_USER)


@contextlib.contextmanager
def running_node(
    authority: Authority,
    directory: Path,
    name: str,
    *,
    activate: bool = True,
    limits: dict[str, float | int] | None = None,
) -> Iterator[NodeProcess]:
    """A new node in ``directory``, served by a child process until the block ends.

    A node that fails to start fails the test with its log (never a skip).
    """
    config = authority.make_node(directory / name, name)
    process = NodeProcess(config, directory / "run", limits=limits)
    try:
        process.start()
    except NodeError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        if activate:
            activate_node(authority, process.address)
        yield process
    finally:
        process.stop()


@contextlib.contextmanager
def serving_in_thread(config: NodeConfig) -> Iterator[tuple[str, HSM]]:
    """Serve ``config``'s node from this process (a loop thread); yields (address, HSM).

    For white-box checks only: the test can read the served HSM's state directly.
    """
    hsm = open_node_hsm(config)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="node-loop", daemon=True)
    thread.start()
    listener = NodeListener(hsm, server_ssl_context(config), limits=None)
    try:
        started = asyncio.run_coroutine_threadsafe(listener.start(config.host, 0), loop)
        host, port = started.result(READY_TIMEOUT_S)
        yield f"{host}:{port}", hsm
    finally:
        asyncio.run_coroutine_threadsafe(listener.close(), loop).result(STOP_TIMEOUT_S)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(STOP_TIMEOUT_S)
        loop.close()
        hsm.close()
