"""``strongroom crypto …`` against a real cluster: sign, verify, encrypt, decrypt, digest,
hmac and random, single-part and streamed from large files.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .session_helpers import CLI, Cluster, start_cluster

DATA = b"the quick brown fox"
B64 = base64.b64encode(DATA).decode()


def b64(data: bytes) -> str:
    """Bytes as base64 text."""
    return base64.b64encode(data).decode()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One running cluster for the module."""
    yield from start_cluster(tmp_path_factory)


@pytest.fixture(scope="module")
def keys(cluster: Cluster) -> Cluster:
    """The module's keys: an EC, RSA and Ed25519 pair, an AES key and an HMAC key."""
    from strongroom.cli import main

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STRONGROOM_USERNAME", cluster.user[0])
        patch.setenv("STRONGROOM_PASSWORD", cluster.user[1])
        where = ["--data-dir", str(cluster.data_dir)]
        for kind in ("ec", "rsa", "ed25519"):
            pair = ["--public-label", f"{kind}-pub", "--private-label", f"{kind}-priv"]
            assert main(["key", "generate-asymmetric-pair", kind, *pair, *where]) == 0
        assert main(["key", "generate-symmetric", "aes", "--label", "aes", *where]) == 0
        hmac_key = ["generic-secret", "--label", "hmac", "--key-length-bytes", "32"]
        assert main(["key", "generate-symmetric", *hmac_key, *where]) == 0
    return cluster


@pytest.fixture
def cli(keys: Cluster, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> CLI:
    """``strongroom`` against the module's cluster and keys."""
    return CLI(keys, capsys, monkeypatch)


SCHEMES = [
    ("ecdsa", "ec", ["--hash-function", "sha256"]),
    ("ecdsa", "ec", ["--hash-function", "sha384"]),
    ("rsa-pkcs", "rsa", ["--hash-function", "sha256"]),
    ("rsa-pss", "rsa", ["--hash-function", "sha512"]),
    ("rsa-pkcs-pss", "rsa", ["--hash-function", "sha256", "--salt-length", "20"]),
    ("ed25519", "ed25519", []),
]


@pytest.mark.parametrize(("algorithm", "kind", "options"), SCHEMES)
def test_sign_and_verify(cli: CLI, algorithm: str, kind: str, options: list[str]) -> None:
    """A signature verifies; a tampered signature or message exits 1 with SIGNATURE_INVALID."""
    signed = cli.data(
        "crypto", "sign", algorithm, *options, "--filter", f"attr.label={kind}-priv",
        "--data", B64,
    )  # fmt: skip
    signature = base64.b64decode(signed["signature"])
    verify = ("crypto", "verify", algorithm, *options, "--filter", f"attr.label={kind}-pub")
    good = cli.data(*verify, "--data", B64, "--signature", signed["signature"])
    assert good["verified"] is True
    tampered = b64(signature[:-1] + bytes([signature[-1] ^ 0x01]))
    bad = cli.json(*verify, "--data", B64, "--signature", tampered)
    assert bad.code == 1
    assert bad.error() == (1, "SIGNATURE_INVALID")
    other = cli.json(*verify, "--data", b64(DATA + b"!"), "--signature", signed["signature"])
    assert other.error() == (1, "SIGNATURE_INVALID")
    text = cli.run(*verify, "--data", B64, "--signature", tampered)
    assert text.code == 1
    assert "SIGNATURE_INVALID" in text.err


def test_an_rsa_signature_verifies_outside_the_hsm(cli: CLI) -> None:
    """rsa-pkcs sha256 from the HSM verifies with pyca against the exported public key."""
    pem = cli.data("key", "export", "--filter", "attr.label=rsa-pub")["pem"]
    public = serialization.load_pem_public_key(pem.encode())
    assert isinstance(public, rsa.RSAPublicKey)
    signature = base64.b64decode(
        cli.data("crypto", "sign", "rsa-pkcs", "--filter", "attr.label=rsa-priv", "--data", B64)[
            "signature"
        ]
    )
    public.verify(signature, DATA, padding.PKCS1v15(), hashes.SHA256())


def test_text_output_is_base64_or_hex(cli: CLI) -> None:
    """In text output a signature is base64, or hex with --hex."""
    sign = ("crypto", "sign", "ed25519", "--filter", "attr.label=ed25519-priv", "--data", B64)
    as_base64 = cli.run(*sign).out.strip()
    as_hex = cli.run(*sign, "--hex").out.strip()
    assert base64.b64decode(as_base64) == bytes.fromhex(as_hex)  # Ed25519 is deterministic


def test_aes_gcm_round_trip(cli: CLI) -> None:
    """aes-gcm with an HSM-made IV (prepended) and with a given IV and AAD; tampering fails."""
    select = ("--filter", "attr.label=aes")
    sealed = cli.data("crypto", "encrypt", "aes-gcm", *select, "--data", B64)["ciphertext"]
    assert len(base64.b64decode(sealed)) == 12 + len(DATA) + 16
    opened = cli.data("crypto", "decrypt", "aes-gcm", *select, "--data", sealed)
    assert base64.b64decode(opened["plaintext"]) == DATA
    iv, aad = b64(bytes(12)), b64(b"header")
    given = ("--iv", iv, "--aad", aad)
    body = cli.data("crypto", "encrypt", "aes-gcm", *select, *given, "--data", B64)["ciphertext"]
    assert len(base64.b64decode(body)) == len(DATA) + 16
    back = cli.data("crypto", "decrypt", "aes-gcm", *select, *given, "--data", body)
    assert base64.b64decode(back["plaintext"]) == DATA
    wrong_aad = cli.json(
        "crypto", "decrypt", "aes-gcm", *select, "--iv", iv, "--aad", b64(b"other"),
        "--data", body,
    )  # fmt: skip
    assert wrong_aad.error() == (1, "ENCRYPTED_DATA_INVALID")
    short_iv = cli.json("crypto", "encrypt", "aes-gcm", *select, "--iv", b64(b"x"), "--data", B64)
    assert short_iv.error() == (2, "USAGE_ERROR")


def test_aes_cbc_pad_round_trip(cli: CLI) -> None:
    """aes-cbc-pad makes a random IV when none is given and needs it back to decrypt."""
    select = ("--filter", "attr.label=aes")
    sealed = cli.data("crypto", "encrypt", "aes-cbc-pad", *select, "--data", B64)
    assert len(base64.b64decode(sealed["iv"])) == 16
    assert len(base64.b64decode(sealed["ciphertext"])) == 32  # 19 bytes padded to 2 blocks
    opened = cli.data(
        "crypto", "decrypt", "aes-cbc-pad", *select, "--iv", sealed["iv"],
        "--data", sealed["ciphertext"],
    )  # fmt: skip
    assert base64.b64decode(opened["plaintext"]) == DATA
    no_iv = cli.json("crypto", "decrypt", "aes-cbc-pad", *select, "--data", sealed["ciphertext"])
    assert no_iv.error() == (2, "USAGE_ERROR")


def test_rsa_oaep_round_trip(cli: CLI) -> None:
    """rsa-oaep encrypts with the public key and decrypts with the private key."""
    sealed = cli.data(
        "crypto", "encrypt", "rsa-oaep", "--filter", "attr.label=rsa-pub", "--data", B64
    )["ciphertext"]
    opened = cli.data(
        "crypto", "decrypt", "rsa-oaep", "--filter", "attr.label=rsa-priv", "--data", sealed
    )
    assert base64.b64decode(opened["plaintext"]) == DATA


def test_digest_hmac_and_random(cli: CLI) -> None:
    """digest matches hashlib; hmac verifies and a wrong MAC exits 1; random has the length."""
    digest = cli.data("crypto", "digest", "sha256", "--data", B64)["digest"]
    assert base64.b64decode(digest) == hashlib.sha256(DATA).digest()
    assert cli.run("crypto", "digest", "sha3-256", "--data", B64, "--hex").out.strip() == (
        hashlib.sha3_256(DATA).hexdigest()
    )
    select = ("--filter", "attr.label=hmac")
    mac = cli.data("crypto", "hmac", "sha256", *select, "--data", B64)["mac"]
    assert len(base64.b64decode(mac)) == 32
    assert cli.data("crypto", "hmac", "sha256", *select, "--data", B64, "--mac", mac)["verified"]
    wrong = b64(bytes(32))
    assert cli.json("crypto", "hmac", "sha256", *select, "--data", B64, "--mac", wrong).error() == (
        1,
        "SIGNATURE_INVALID",
    )
    random = cli.data("crypto", "random", "--length", "24")["random"]
    assert len(base64.b64decode(random)) == 24
    assert len(cli.run("crypto", "random", "--length", "5", "--hex").out.strip()) == 10


def test_large_files_stream_with_a_progress_bar(
    cli: CLI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 3 MiB --data-path streams multi-part (progress on a terminal's stderr), round-trips."""
    big = tmp_path / "big.bin"
    content = hashlib.shake_256(b"seed").digest(3 * 1024 * 1024 + 5)
    big.write_bytes(content)
    sign = ("crypto", "sign", "ecdsa", "--filter", "attr.label=ec-priv", "--data-path", big)
    quiet = cli.json(*sign)
    assert quiet.code == 0
    assert quiet.err == ""  # stderr is not a terminal: no progress bar
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    run = cli.json(*sign)
    assert run.code == 0
    assert "signing big.bin" in run.err
    assert "100%" in run.err
    assert cli.json(*sign, "--no-progress").err == ""
    assert cli.data(
        "crypto", "verify", "ecdsa", "--filter", "attr.label=ec-pub", "--data-path", big,
        "--signature", run.data()["signature"],
    )["verified"]  # fmt: skip
    sealed, opened = tmp_path / "big.enc", tmp_path / "big.dec"
    select = ("--filter", "attr.label=aes")
    wrote = cli.data("crypto", "encrypt", "aes-gcm", *select, "--data-path", big, "--out", sealed)
    assert wrote["ciphertext_path"] == str(sealed)
    cli.data("crypto", "decrypt", "aes-gcm", *select, "--data-path", sealed, "--out", opened)
    assert opened.read_bytes() == content
    digest = cli.data("crypto", "digest", "sha512", "--data-path", big)["digest"]
    assert base64.b64decode(digest) == hashlib.sha512(content).digest()
    mac = cli.data("crypto", "hmac", "sha256", "--filter", "attr.label=hmac", "--data-path", big)
    assert mac["mac"]
    broken = bytearray(sealed.read_bytes())
    broken[-1] ^= 1
    sealed.write_bytes(bytes(broken))
    opened.unlink()
    failed = cli.json(
        "crypto", "decrypt", "aes-gcm", *select, "--data-path", sealed, "--out", opened
    )
    assert failed.error() == (1, "ENCRYPTED_DATA_INVALID")
    assert not opened.exists()


def test_data_from_standard_input(cli: CLI, monkeypatch: pytest.MonkeyPatch) -> None:
    """--data-path - reads standard input."""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(DATA)))
    digest = cli.data("crypto", "digest", "sha256", "--data-path", "-")["digest"]
    assert base64.b64decode(digest) == hashlib.sha256(DATA).digest()


def test_hmac_matches_a_local_hmac_for_an_imported_key(cli: CLI) -> None:
    """An imported generic secret's HSM HMAC equals Python's hmac over the same bytes."""
    secret = bytes(range(40))
    cli.data("key", "import", "generic-secret", "--data", b64(secret), "--label", "imp-hmac")
    mac = cli.data("crypto", "hmac", "sha384", "--filter", "attr.label=imp-hmac", "--data", B64)
    assert base64.b64decode(mac["mac"]) == hmac.new(secret, DATA, hashlib.sha384).digest()
