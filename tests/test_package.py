"""Package-level contracts: curated public names, no secrets in reprs, the command line."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import strongroom
from strongroom.constants import Attribute, Mechanism, Role
from strongroom.engine import HSM
from strongroom.engine.passwords import derive_credential
from strongroom.store.sealing import StorageKey
from strongroom.testing import DeterministicRandom, MemoryStore, fast_config

PUBLIC_MODULES = [
    "strongroom",
    "strongroom.errors",
    "strongroom.constants",
    "strongroom.engine",
    "strongroom.testing",
    "strongroom.crypto",
    "strongroom.store.api",
    "strongroom.backup",
    "strongroom.backup.envelope",
    "strongroom.backup.kms",
    "strongroom.backup.objectstore",
]


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_is_curated(name: str) -> None:
    """Every public module lists its names in __all__, and each one exists."""
    module = importlib.import_module(name)
    exported = module.__all__
    assert len(exported) == len(set(exported))
    for item in exported:
        assert hasattr(module, item), f"{name}.{item}"


def test_module_docstrings() -> None:
    """Every module opens with a docstring saying what it owns."""
    root = Path(strongroom.__file__).parent
    for path in root.rglob("*.py"):
        text = path.read_text()
        assert text.lstrip().startswith('"""'), path


def test_no_secrets_in_reprs() -> None:
    """Reprs of credentials, storage keys, sessions and objects never show secret bytes."""
    rng = DeterministicRandom(b"seed")
    credential = derive_credential("correct-horse-battery", 1000, rng)
    key = StorageKey(bytes(range(32)), rng)
    assert "correct-horse" not in repr(credential)
    assert credential.kek.hex() not in repr(credential)
    assert bytes(range(32)).hex() not in repr(key)
    assert str(bytes(range(32))) not in repr(key)
    hsm = HSM.open(MemoryStore(), fast_config())
    s = hsm.open_session()
    s.login("admin", "password")
    s.activate("top-secret-admin")
    s.create_user("alice", "alice-secret-pw", Role.CRYPTO_USER)
    s.logout()
    s.login("alice", "alice-secret-pw")
    handle = s.generate_key(Mechanism.AES_KEY_GEN, {Attribute.VALUE_LEN: 32})
    obj = hsm._core.catalog.get(handle)
    assert obj.secret is not None
    value = obj.secret["value"]
    for text in (repr(obj), repr(s), repr(hsm), repr(hsm._core.store.get_user_by_name("alice"))):
        assert value.hex() not in text
        assert "secret-pw" not in text
        assert "top-secret" not in text


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "strongroom.cli.main", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        timeout=120,
    )


def test_cli_version_and_help() -> None:
    """The command prints its version and help."""
    version = _run("--version")
    assert version.returncode == 0
    assert version.stdout.strip() == f"strongroom {strongroom.__version__}"
    help_text = _run("--help")
    assert help_text.returncode == 0
    assert "demo" in help_text.stdout


@pytest.mark.slow
def test_cli_demo_runs_twice(tmp_path: Path) -> None:
    """The demo starts the development cluster, tours it over TLS, and reuses it next time."""
    data = tmp_path / "d"
    try:
        first = _run("demo", "--data-dir", str(data))
        assert first.returncode == 0, first.stderr
        assert "first run" in first.stdout
        assert "still decrypts" in first.stdout
        assert "ATTRIBUTE_SENSITIVE" in first.stdout
        second = _run("demo", "--data-dir", str(data))
        assert second.returncode == 0, second.stderr
        assert "first run" not in second.stdout
        path = data / "endpoints.json"
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        endpoints = json.loads(path.read_text())
        for secret in (endpoints["admin"]["password"], endpoints["crypto_user"]["password"]):
            assert secret not in first.stdout + second.stdout + first.stderr + second.stderr
    finally:
        stopped = _run("down", "--data-dir", str(data))
    assert stopped.returncode == 0, stopped.stderr
    assert not (data / "endpoints.json").exists()


def test_the_sdk_loads_no_key_handling_code() -> None:
    """Importing the SDK (both APIs) pulls in no engine, store, server, backup or CLI module."""
    probe = (
        "import sys, strongroom.client; "
        "print('\\n'.join(m for m in sys.modules if m.startswith(("
        "'strongroom.engine', 'strongroom.store', 'strongroom.server', "
        "'strongroom.backup', 'strongroom.cli.'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == ""


@pytest.mark.slow
def test_up_in_the_foreground_stops_its_nodes_on_sigterm(tmp_path: Path) -> None:
    """``strongroom up`` serves until SIGTERM, then stops the nodes and removes endpoints.json."""
    import os
    import signal
    import time

    data = tmp_path / "up"
    proc = subprocess.Popen(
        [sys.executable, "-m", "strongroom", "up", "--data-dir", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        endpoints = data / "endpoints.json"
        while not endpoints.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.1)
        node_pid = json.loads(endpoints.read_text())["hsms"][0]["pid"]
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "serving on 127.0.0.1:" in out
    assert "stopped hsm1" in err
    assert not endpoints.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(node_pid, 0)
