"""The test-service harness (``services.py``): the real services start, stay on loopback, stop.

These tests check the harness itself, which the object-store and KMS tests rely on: each
service listens on 127.0.0.1 only, is ready for real work, keeps its secrets out of reprs,
and a missing binary or a service that dies or hangs fails loudly with its log tail, and
leaves no process behind.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from .services import (
    MotoService,
    OpenBaoService,
    S3Service,
    ServiceError,
    ServiceProcess,
    find_binary,
    listening_addresses,
)


def _assert_loopback_only(pid: int) -> None:
    addresses = listening_addresses(pid)
    assert addresses, "the service listens on nothing"
    assert {host for host, _ in addresses} == {"127.0.0.1"}, addresses


def test_seaweedfs_listens_on_loopback_only(seaweedfs: S3Service) -> None:
    """Every port SeaweedFS opens is bound to 127.0.0.1, and its repr hides the secret."""
    _assert_loopback_only(seaweedfs.pid)
    assert seaweedfs.secret_key not in repr(seaweedfs)


def test_openbao_is_ready_with_transit(openbao: OpenBaoService) -> None:
    """OpenBao listens on loopback only, has transit mounted and answers with the root token."""
    _assert_loopback_only(openbao.pid)
    assert openbao.token not in repr(openbao)
    mounts = openbao.request("GET", "sys/mounts")
    assert mounts["data"][f"{openbao.transit_mount}/"]["type"] == "transit"


def test_moto_serves_kms(moto_server: MotoService) -> None:
    """moto listens on loopback only and answers the KMS API."""
    _assert_loopback_only(moto_server.pid)
    kms = moto_server.client("kms")
    key_id = kms.create_key(Description="harness check")["KeyMetadata"]["KeyId"]
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["Enabled"] is True


def test_missing_binary_fails_with_advice() -> None:
    """A binary that is not in the venv gives ServiceError saying how to install it."""
    with pytest.raises(ServiceError, match=r"scripts/setup\.sh"):
        find_binary("no-such-service-binary")


def test_service_that_exits_reports_its_log(tmp_path: Path) -> None:
    """A service that exits before it is ready gives ServiceError with its exit code and log."""
    process = ServiceProcess(
        "dying", [sys.executable, "-c", "print('boom: bad flag'); raise SystemExit(3)"], tmp_path
    )
    try:
        with pytest.raises(ServiceError, match=r"(?s)exited with code 3.*boom: bad flag"):
            process.wait_ready(lambda: False)
    finally:
        process.stop()


def _gone(pid: int) -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z":
            return True  # a zombie waiting for init to reap it
        time.sleep(0.05)
    return False


def test_hung_service_times_out_and_its_children_are_stopped(tmp_path: Path) -> None:
    """A service never ready fails after the timeout, and stop ends its whole process group."""
    script = (
        "import signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"  # ignores SIGTERM: needs SIGKILL
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    process = ServiceProcess("hung", [sys.executable, "-c", script], tmp_path)
    try:
        with pytest.raises(ServiceError, match="was not ready within"):
            process.wait_ready(lambda: False, timeout=0.5)
        deadline = time.monotonic() + 10
        while not process.log_tail() and time.monotonic() < deadline:
            time.sleep(0.05)
        child_pid = int(process.log_tail().split()[0])
    finally:
        process.stop(timeout=0.5)
    assert process.proc.returncode is not None
    assert _gone(child_pid)
