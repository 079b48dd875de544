"""Stock PKCS#11 tools through Debian's p11-kit-client.so against a live bridge.

pkcs11-tool (OpenSC), p11tool (GnuTLS), ssh-keygen/ssh-agent (OpenSSH) and OpenSSL's pkcs11
engine (libp11) run unmodified; each test checks what the tool printed or produced with an
independent verifier (OpenSSL, ssh-keygen -Y verify).
"""

from __future__ import annotations

import hashlib
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

from strongroom.client import ClientConfig, HSMClient

from .conftest import MODULE, Bridge

pytestmark = [pytest.mark.xdist_group("pkcs11-tools"), pytest.mark.timeout(600)]


def tool(bridge: Bridge, *args: str, login: bool = True, check: bool = True) -> str:
    pin = ["--login", "--pin", bridge.pin] if login else []
    return bridge.run("pkcs11-tool", "--module", MODULE, *pin, *args, check=check)


def test_list_slots_and_mechanisms(bridge: Bridge) -> None:
    out = tool(bridge, "-L", login=False)
    assert "Strongroom cluster" in out
    assert "token label        : strongroom" in out
    assert "login required" in out
    assert "rng" in out
    mechanisms = tool(bridge, "-M", login=False)
    for name in ("RSA-PKCS-PSS", "ECDSA", "SHA256-HMAC", "AES-KEY-GEN"):
        assert name in mechanisms
    assert "AES-GCM" not in mechanisms  # p11-kit 0.24 purges what it cannot serialise


def test_wrong_pin_is_refused(bridge: Bridge) -> None:
    out = bridge.run(
        "pkcs11-tool",
        "--module",
        MODULE,
        "--login",
        "--pin",
        "demo_user:wrong",
        "-O",
        check=False,
    )
    assert "CKR_PIN_INCORRECT" in out


def test_rsa_and_ec_keys_sign_and_verify(bridge: Bridge, tmp_path: Path) -> None:
    out = tool(bridge, "--keypairgen", "--key-type", "rsa:2048", "--label", "t-rsa", "--id", "a1")
    assert "RSA 2048 bits" in out
    out = tool(
        bridge, "--keypairgen", "--key-type", "EC:prime256v1", "--label", "t-ec", "--id", "a2"
    )
    assert "EC_POINT 256 bits" in out or "prime256v1" in out or "EC" in out
    data = tmp_path / "data.bin"
    data.write_bytes(b"strongroom through p11-kit\n")
    digest = tmp_path / "data.sha256"
    digest.write_bytes(hashlib.sha256(data.read_bytes()).digest())
    for mechanism, key_id, source in (
        ("SHA256-RSA-PKCS", "a1", data),
        ("RSA-PKCS-PSS", "a1", digest),
        ("ECDSA", "a2", digest),
    ):
        signature = tmp_path / f"{mechanism}.sig"
        extra = ["--hash-algorithm", "SHA256", "--mgf", "MGF1-SHA256"] if "PSS" in mechanism else []
        tool(
            bridge,
            "--sign",
            "-m",
            mechanism,
            "--id",
            key_id,
            "-i",
            str(source),
            "-o",
            str(signature),
            *extra,
        )
        verify = ["--verify", "-m", mechanism, "--id", key_id, "-i", str(source)]
        verify += ["--signature-file", str(signature), *extra]
        assert "Signature is valid" in tool(bridge, *verify)
        signature.write_bytes(bytes([signature.read_bytes()[0] ^ 1]) + signature.read_bytes()[1:])
        bad = tool(bridge, *verify, check=False)
        assert "Invalid signature" in bad or "CKR_SIGNATURE_INVALID" in bad
    # the public key read back verifies a signature with OpenSSL itself
    der = tmp_path / "pub.der"
    tool(bridge, "--read-object", "--type", "pubkey", "--id", "a1", "-o", str(der))
    pem = tmp_path / "pub.pem"
    subprocess.run(
        ["openssl", "pkey", "-pubin", "-inform", "DER", "-in", der, "-out", pem], check=True
    )
    tool(
        bridge,
        "--sign",
        "-m",
        "SHA256-RSA-PKCS",
        "--id",
        "a1",
        "-i",
        str(data),
        "-o",
        str(tmp_path / "s.sig"),
    )
    done = subprocess.run(
        ["openssl", "dgst", "-sha256", "-verify", pem, "-signature", tmp_path / "s.sig", data],
        capture_output=True,
        check=False,
    )
    assert b"Verified OK" in done.stdout


def test_data_objects_random_and_delete(bridge: Bridge, tmp_path: Path) -> None:
    payload = tmp_path / "payload.txt"
    payload.write_bytes(b"hello from a data object\n")
    tool(bridge, "--write-object", str(payload), "--type", "data", "--label", "t-data")
    out = tool(bridge, "--read-object", "--type", "data", "--label", "t-data")
    assert "hello from a data object" in out
    random_file = tmp_path / "random.bin"
    tool(bridge, "--generate-random", "48", "-o", str(random_file))
    assert len(random_file.read_bytes()) == 48
    tool(bridge, "--keypairgen", "--key-type", "EC:prime256v1", "--label", "t-gone", "--id", "a9")
    assert "t-gone" in tool(bridge, "-O")
    tool(bridge, "--delete-object", "--type", "privkey", "--id", "a9")
    tool(bridge, "--delete-object", "--type", "pubkey", "--id", "a9")
    tool(bridge, "--delete-object", "--type", "data", "--label", "t-data")
    listing = tool(bridge, "-O")
    assert "t-gone" not in listing
    assert "t-data" not in listing


def test_gnutls_and_ssh_list_public_keys(bridge: Bridge) -> None:
    tool(bridge, "--keypairgen", "--key-type", "EC:prime256v1", "--label", "t-ssh", "--id", "b1")
    listing = bridge.run("p11tool", "--provider", MODULE, "--list-all")
    assert "object=t-ssh;type=public" in listing
    keys = bridge.run("ssh-keygen", "-D", MODULE)
    assert any(
        line.startswith("ecdsa-sha2-nistp256 ") and line.endswith(" t-ssh")
        for line in keys.splitlines()
    )


def test_ssh_signature_made_through_the_module_verifies(bridge: Bridge, tmp_path: Path) -> None:
    tool(bridge, "--keypairgen", "--key-type", "EC:prime256v1", "--label", "t-sshsig", "--id", "b2")
    public = next(
        line
        for line in bridge.run("ssh-keygen", "-D", MODULE).splitlines()
        if line.endswith(" t-sshsig")
    )
    askpass = tmp_path / "askpass.sh"
    askpass.write_text(f"#!/bin/sh\necho '{bridge.pin}'\n")
    askpass.chmod(0o700)
    agent_socket = tmp_path / "agent.sock"
    agent = subprocess.Popen(  # its PKCS#11 helper loads the module: it needs the address
        ["ssh-agent", "-D", "-a", str(agent_socket)],
        env=bridge.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not agent_socket.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        env = {
            **bridge.env(),
            "SSH_AUTH_SOCK": str(agent_socket),
            "SSH_ASKPASS": str(askpass),
            "SSH_ASKPASS_REQUIRE": "force",
            "DISPLAY": ":0",
        }
        added = subprocess.run(
            ["ssh-add", "-s", MODULE],
            env=env,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=120,
            check=False,
        )
        assert added.returncode == 0, added.stderr
        key_file = tmp_path / "key.pub"
        key_file.write_text(public + "\n")
        message = tmp_path / "message.txt"
        message.write_text("signed by a key that never left Strongroom\n")
        subprocess.run(
            ["ssh-keygen", "-Y", "sign", "-f", str(key_file), "-n", "file", str(message)],
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        signers = tmp_path / "allowed_signers"
        signers.write_text(f"tester {public}\n")
        with message.open("rb") as stdin:
            verified = subprocess.run(
                [
                    "ssh-keygen",
                    "-Y",
                    "verify",
                    "-f",
                    str(signers),
                    "-I",
                    "tester",
                    "-n",
                    "file",
                    "-s",
                    f"{message}.sig",
                ],
                stdin=stdin,
                capture_output=True,
                check=False,
            )
        assert verified.returncode == 0, verified.stderr
        assert b"Good" in verified.stdout
    finally:
        agent.terminate()
        agent.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_openssl_ca_and_tls_offload(bridge: Bridge, tmp_path: Path) -> None:
    """A CA whose key is in Strongroom issues a server certificate; s_server's TLS key is in
    Strongroom too, and s_client completes a verified TLS 1.3 handshake with it."""
    # libp11 takes PINs of at most 32 bytes: a crypto user with a short name and password
    short_pin = "tls:tls-Passw0rd-42"
    with HSMClient(ClientConfig.from_endpoints(bridge.data_dir / "endpoints.json")) as admin:
        admin.login(*bridge.so_pin.split(":", 1))
        admin.create_user("tls", short_pin.split(":", 1)[1], "crypto-user")
    for label, key_id in (("t-ca", "c1"), ("t-tls", "c2")):
        bridge.run(
            "pkcs11-tool",
            "--module",
            MODULE,
            "--login",
            "--pin",
            short_pin,
            "--keypairgen",
            "--key-type",
            "rsa:2048",
            "--label",
            label,
            "--id",
            key_id,
        )
    env = {**bridge.env(), "PKCS11_MODULE_PATH": MODULE}

    def openssl(*args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["openssl", *args], env=env, capture_output=True, timeout=120, check=False, input=input
        )

    pin = urllib.parse.quote(short_pin, safe="")
    ca_key = f"pkcs11:token=strongroom;object=t-ca;type=private;pin-value={pin}"
    tls_key = f"pkcs11:token=strongroom;object=t-tls;type=private;pin-value={pin}"
    ca = tmp_path / "ca.pem"
    made = openssl(
        "req",
        "-new",
        "-x509",
        "-engine",
        "pkcs11",
        "-keyform",
        "engine",
        "-key",
        ca_key,
        "-subj",
        "/CN=Strongroom test CA",
        "-days",
        "2",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-out",
        str(ca),
    )
    assert made.returncode == 0, made.stderr
    csr = tmp_path / "tls.csr"
    made = openssl(
        "req",
        "-new",
        "-engine",
        "pkcs11",
        "-keyform",
        "engine",
        "-key",
        tls_key,
        "-subj",
        "/CN=localhost",
        "-out",
        str(csr),
    )
    assert made.returncode == 0, made.stderr
    cert = tmp_path / "tls.pem"
    ext = tmp_path / "ext.cnf"
    ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    made = openssl(
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(ca),
        "-engine",
        "pkcs11",
        "-CAkeyform",
        "engine",
        "-CAkey",
        ca_key,
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        str(ext),
        "-out",
        str(cert),
    )
    assert made.returncode == 0, made.stderr
    verified = openssl("verify", "-CAfile", str(ca), str(cert))
    assert b"OK" in verified.stdout, verified.stderr
    port = _free_port()
    server = subprocess.Popen(
        [
            "openssl",
            "s_server",
            "-engine",
            "pkcs11",
            "-keyform",
            "engine",
            "-key",
            tls_key,
            "-cert",
            str(cert),
            "-accept",
            f"127.0.0.1:{port}",
            "-tls1_3",
            "-naccept",
            "1",
        ],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        client = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            client = openssl(
                "s_client",
                "-connect",
                f"127.0.0.1:{port}",
                "-CAfile",
                str(ca),
                "-verify_return_error",
                "-verify_hostname",
                "localhost",
                "-brief",
                input=b"Q\n",
            )
            if client.returncode == 0 or b"connect:errno" not in client.stderr:
                break
            time.sleep(0.2)
        assert client is not None
        output = client.stdout + client.stderr
        assert client.returncode == 0, output
        assert b"Verification: OK" in output
        assert b"TLSv1.3" in output
    finally:
        server.kill()
        server.communicate(timeout=10)  # reaps it and closes its pipes


def test_stdio_mode_serves_the_client_that_spawned_it(bridge: Bridge) -> None:
    """P11_KIT_SERVER_ADDRESS="|strongroom pkcs11 serve --stdio": no socket, no daemon."""
    command = (
        f"|{sys.executable} -m strongroom pkcs11 serve --stdio "
        f"--endpoints {bridge.data_dir / 'endpoints.json'}"
    )
    env = {**bridge.env(), "P11_KIT_SERVER_ADDRESS": command}
    done = subprocess.run(
        ["pkcs11-tool", "--module", MODULE, "--login", "--pin", bridge.pin, "-O"],
        env=env, capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    out = (done.stdout + done.stderr).decode()
    assert done.returncode == 0, out
    assert (
        "Strongroom"
        in subprocess.run(
            ["pkcs11-tool", "--module", MODULE, "-L"], env=env, capture_output=True, check=True
        ).stdout.decode()
    )


def test_module_config_registers_the_socket(tmp_path: Path) -> None:
    from strongroom.cli.main import main

    target = tmp_path / "modules" / "strongroom.module"
    assert main(["pkcs11", "module-config", "--socket", "/run/sr.sock", "--out", str(target)]) == 0
    text = target.read_text()
    assert "remote: unix:path=/run/sr.sock" in text
    assert "module:" not in text  # p11-kit's own client serves a remote: module
