"""``strongroom key …`` against a real cluster: generate, list, share, set-attribute, wrap,
unwrap, import, export, delete.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from strongroom.cli import main

from .session_helpers import CLI, Cluster, start_cluster

BOB = ("bob", "bob-password-1")
MESSAGE = base64.b64encode(b"pay 100 to alice").decode()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One running cluster for the module, with a second crypto user, bob."""
    for made in start_cluster(tmp_path_factory):
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("STRONGROOM_USERNAME", made.admin[0])
            patch.setenv("STRONGROOM_PASSWORD", made.admin[1])
            patch.setenv("STRONGROOM_NEW_PASSWORD", BOB[1])
            argv = ["user", "create", "--username", BOB[0], "--role", "crypto-user"]
            assert main([*argv, "--data-dir", str(made.data_dir)]) == 0
        yield made


@pytest.fixture
def cli(
    cluster: Cluster, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> CLI:
    """``strongroom`` against the module's cluster."""
    return CLI(cluster, capsys, monkeypatch)


def attributes(key: dict[str, Any]) -> dict[str, Any]:
    """The attributes of a described key."""
    result: dict[str, Any] = key["attributes"]
    return result


def test_generate_aes_and_list_it_by_label(cli: CLI) -> None:
    """generate-symmetric aes makes a token key with the label and attributes asked for."""
    key = cli.data(
        "key", "generate-symmetric", "aes", "--label", "gen-aes", "--key-length-bytes", "16",
        "--attributes", "extractable=false", "id=0x0102",
    )["key"]  # fmt: skip
    got = attributes(key)
    assert got["label"] == "gen-aes"
    assert got["key-type"] == "aes"
    assert got["class"] == "secret-key"
    assert got["key-length-bytes"] == 16
    assert got["token"] is True
    assert got["extractable"] is False
    assert got["id"] == "0x0102"
    assert key["key-reference"].startswith("0x")
    listed = cli.data("key", "list", "--filter", "attr.label=gen-aes")
    assert listed["total_key_count"] == 1
    assert listed["matched_keys"][0]["key-reference"] == key["key-reference"]
    assert set(attributes(listed["matched_keys"][0])) == {"class", "key-type", "label", "token"}
    verbose = cli.data("key", "list", "--filter", "attr.label=gen-aes", "--verbose")
    assert attributes(verbose["matched_keys"][0])["check-value"] == got["check-value"]
    text = cli.run("key", "list", "--filter", "attr.label=gen-aes")
    assert "gen-aes" in text.out
    assert key["key-reference"] in text.out


def test_generate_generic_secret(cli: CLI) -> None:
    """generate-symmetric generic-secret takes any length."""
    got = attributes(
        cli.data(
            "key", "generate-symmetric", "generic-secret", "--label", "gen-secret",
            "--key-length-bytes", "48",
        )["key"]
    )  # fmt: skip
    assert (got["key-type"], got["key-length-bytes"]) == ("generic-secret", 48)


def test_generate_pairs_and_filter_by_class_and_type(cli: CLI) -> None:
    """RSA, EC and Ed25519 pairs; list filters combine attr.class and attr.key-type."""
    rsa = cli.data(
        "key", "generate-asymmetric-pair", "rsa", "--public-label", "pair-rsa-pub",
        "--private-label", "pair-rsa-priv", "--modulus-size-bits", "2048",
    )  # fmt: skip
    assert attributes(rsa["public_key"])["modulus-size-bits"] == 2048
    assert attributes(rsa["public_key"])["public-exponent"] == "0x010001"
    assert attributes(rsa["private_key"])["class"] == "private-key"
    ec = cli.data(
        "key", "generate-asymmetric-pair", "ec", "--curve", "secp384r1",
        "--public-label", "pair-ec-pub", "--private-label", "pair-ec-priv",
    )  # fmt: skip
    assert attributes(ec["public_key"])["curve"] == "secp384r1"
    ed = cli.data(
        "key", "generate-asymmetric-pair", "ed25519", "--public-label", "pair-ed-pub",
        "--private-label", "pair-ed-priv",
    )  # fmt: skip
    assert attributes(ed["private_key"])["key-type"] == "ec-edwards"
    listed = cli.data("key", "list", "--filter", "attr.class=private-key", "attr.key-type=ec")
    labels = {attributes(k)["label"] for k in listed["matched_keys"]}
    assert "pair-ec-priv" in labels
    assert not labels & {"pair-rsa-priv", "pair-ed-priv", "pair-ec-pub"}


def test_a_filter_matching_several_keys_is_an_error_that_counts_them(cli: CLI) -> None:
    """Selecting needs exactly one match: two matches exit 1 naming both references."""
    first = cli.data("key", "generate-symmetric", "aes", "--label", "twin")["key"]
    second = cli.data("key", "generate-symmetric", "aes", "--label", "twin")["key"]
    run = cli.json("crypto", "encrypt", "aes-gcm", "--filter", "attr.label=twin", "--data", "aGk=")
    assert run.error() == (1, "OBJECT_HANDLE_INVALID")
    message = run.json()["error"]["message"]
    assert "2 keys match attr.label=twin" in message
    assert first["key-reference"] in message
    assert second["key-reference"] in message
    none = cli.json("key", "delete", "--filter", "attr.label=no-such-key")
    assert none.error() == (1, "OBJECT_HANDLE_INVALID")
    assert "no key matches" in none.json()["error"]["message"]
    by_reference = cli.data("key", "delete", "--key-reference", first["key-reference"])
    assert by_reference == {"key-reference": first["key-reference"], "deleted": True}
    assert cli.data("key", "list", "--filter", "attr.label=twin")["total_key_count"] == 1


def test_set_attribute_then_the_key_refuses(cli: CLI) -> None:
    """set-attribute sign=false stops signing (exit 1, KEY_FUNCTION_NOT_PERMITTED)."""
    cli.data(
        "key", "generate-asymmetric-pair", "ec", "--public-label", "nosign-pub",
        "--private-label", "nosign-priv",
    )  # fmt: skip
    sign = ("crypto", "sign", "ecdsa", "--filter", "attr.label=nosign-priv", "--data", MESSAGE)
    assert cli.json(*sign).code == 0
    changed = cli.data(
        "key", "set-attribute", "--filter", "attr.label=nosign-priv", "--name", "sign",
        "--value", "false",
    )  # fmt: skip
    assert attributes(changed["key"])["sign"] is False
    assert cli.json(*sign).error() == (1, "KEY_FUNCTION_NOT_PERMITTED")
    bad = cli.json(
        "key", "set-attribute", "--filter", "attr.label=nosign-priv", "--name", "sign",
        "--value", "maybe",
    )  # fmt: skip
    assert bad.error() == (2, "USAGE_ERROR")


def test_share_lets_bob_use_but_not_manage(cli: CLI) -> None:
    """A shared key: bob signs with it, cannot delete it (exit 3); unshared, he cannot see it."""
    cli.data(
        "key", "generate-asymmetric-pair", "ec", "--public-label", "shared-pub",
        "--private-label", "shared-priv",
    )  # fmt: skip
    select = ("--filter", "attr.label=shared-priv")
    shared = cli.data("key", "share", *select, "--username", "bob")
    assert shared == {"key-reference": shared["key-reference"], "username": "bob", "shared": True}
    signature = cli.data("crypto", "sign", "ecdsa", *select, "--data", MESSAGE, login=BOB)
    verified = cli.data(
        "crypto", "verify", "ecdsa", "--filter", "attr.label=shared-pub", "--data", MESSAGE,
        "--signature", signature["signature"],
    )  # fmt: skip
    assert verified["verified"] is True
    denied = cli.json("key", "delete", *select, login=BOB)
    assert denied.code == 3
    assert denied.error() == (3, "NOT_KEY_OWNER")
    assert cli.run("key", "delete", *select, login=BOB).code == 3
    assert cli.data("key", "unshare", *select, "--username", "bob")["shared"] is False
    gone = cli.json("crypto", "sign", "ecdsa", *select, "--data", MESSAGE, login=BOB)
    assert gone.error() == (1, "OBJECT_HANDLE_INVALID")


def test_wrap_and_unwrap_with_aes(cli: CLI, tmp_path: Path) -> None:
    """aes-kwp (base64) and aes-gcm (--path file) round trips keep the key's check value."""
    cli.data("key", "generate-symmetric", "aes", "--label", "kek")
    secret = cli.data("key", "generate-symmetric", "generic-secret", "--label", "payload")["key"]
    wrapped = cli.data(
        "key", "wrap", "aes-kwp", "--wrapping-filter", "attr.label=kek",
        "--filter", "attr.label=payload",
    )  # fmt: skip
    assert wrapped["key-reference"] == secret["key-reference"]
    unwrapped = cli.data(
        "key", "unwrap", "aes-kwp", "--filter", "attr.label=kek", "--data",
        wrapped["wrapped_key_data"], "--key-type-class", "generic-secret", "--label", "back",
    )["key"]  # fmt: skip
    assert attributes(unwrapped)["check-value"] == attributes(secret)["check-value"]
    assert attributes(unwrapped)["label"] == "back"
    path = tmp_path / "wrapped.bin"
    to_file = cli.data(
        "key", "wrap", "aes-gcm", "--wrapping-filter", "attr.label=kek",
        "--filter", "attr.label=payload", "--path", path,
    )  # fmt: skip
    assert to_file["wrapped_key_path"] == str(path)
    assert path.stat().st_mode & 0o777 == 0o600
    again = cli.data(
        "key", "unwrap", "aes-gcm", "--filter", "attr.label=kek", "--data-path", path,
        "--key-type-class", "generic-secret", "--label", "back-gcm",
    )["key"]  # fmt: skip
    assert attributes(again)["check-value"] == attributes(secret)["check-value"]
    path.write_bytes(path.read_bytes()[:-1] + bytes([path.read_bytes()[-1] ^ 1]))
    tampered = cli.json(
        "key", "unwrap", "aes-gcm", "--filter", "attr.label=kek", "--data-path", path,
        "--key-type-class", "generic-secret",
    )  # fmt: skip
    assert tampered.error() == (1, "ENCRYPTED_DATA_INVALID")


def test_wrap_a_private_key_with_rsa_aes_and_use_the_copy(cli: CLI) -> None:
    """rsa-aes moves an EC private key; the unwrapped copy signs for the original public key."""
    cli.data(
        "key", "generate-asymmetric-pair", "rsa", "--public-label", "transport-pub",
        "--private-label", "transport-priv",
    )  # fmt: skip
    cli.data(
        "key", "generate-asymmetric-pair", "ec", "--public-label", "moved-pub",
        "--private-label", "moved-priv",
    )  # fmt: skip
    wrapped = cli.data(
        "key", "wrap", "rsa-aes", "--wrapping-filter", "attr.label=transport-pub",
        "--filter", "attr.label=moved-priv", "--hash-function", "sha256",
    )["wrapped_key_data"]  # fmt: skip
    copy = cli.data(
        "key", "unwrap", "rsa-aes", "--filter", "attr.label=transport-priv", "--data", wrapped,
        "--key-type-class", "ec-private", "--label", "moved-copy",
    )["key"]  # fmt: skip
    assert attributes(copy)["key-type"] == "ec"
    signature = cli.data(
        "crypto", "sign", "ecdsa", "--filter", "attr.label=moved-copy", "--data", MESSAGE
    )["signature"]
    assert cli.json(
        "crypto", "verify", "ecdsa", "--filter", "attr.label=moved-pub", "--data", MESSAGE,
        "--signature", signature,
    ).code == 0  # fmt: skip
    aes = cli.data("key", "generate-symmetric", "aes", "--label", "oaep-payload")["key"]
    oaep = cli.data(
        "key", "wrap", "rsa-oaep", "--wrapping-filter", "attr.label=transport-pub",
        "--filter", "attr.label=oaep-payload", "attr.class=secret-key",
    )["wrapped_key_data"]  # fmt: skip
    back = cli.data(
        "key", "unwrap", "rsa-oaep", "--filter", "attr.label=transport-priv", "--data", oaep,
        "--key-type-class", "aes", "--label", "oaep-back",
    )["key"]  # fmt: skip
    assert attributes(back)["check-value"] == attributes(aes)["check-value"]


def test_export_and_import_public_keys(cli: CLI, tmp_path: Path) -> None:
    """export gives PEM for public keys only; import pem brings one back and it verifies."""
    cli.data(
        "key", "generate-asymmetric-pair", "ed25519", "--public-label", "exp-pub",
        "--private-label", "exp-priv",
    )  # fmt: skip
    pem_path = tmp_path / "pub.pem"
    exported = cli.data("key", "export", "--filter", "attr.label=exp-pub", "--path", pem_path)
    assert exported["pem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert pem_path.read_text() == exported["pem"]
    refused = cli.json("key", "export", "--filter", "attr.label=exp-priv")
    assert refused.error() == (1, "KEY_UNEXTRACTABLE")
    imported = cli.data("key", "import", "pem", "--path", pem_path, "--label", "imp-pub")["key"]
    assert attributes(imported)["key-type"] == "ec-edwards"
    assert attributes(imported)["local"] is False
    signature = cli.data(
        "crypto", "sign", "ed25519", "--filter", "attr.label=exp-priv", "--data", MESSAGE
    )["signature"]
    assert cli.json(
        "crypto", "verify", "ed25519", "--filter", "attr.label=imp-pub", "--data", MESSAGE,
        "--signature", signature,
    ).code == 0  # fmt: skip
    not_pem = tmp_path / "junk.pem"
    not_pem.write_text("hello")
    assert cli.json("key", "import", "pem", "--path", not_pem).error() == (2, "USAGE_ERROR")


def test_import_raw_aes_bytes(cli: CLI) -> None:
    """import aes stores given key bytes (policy allows it here); the HSM's GCM matches ours."""
    raw = bytes(range(32))
    imported = cli.data(
        "key", "import", "aes", "--data", base64.b64encode(raw).decode(), "--label", "imp-aes"
    )["key"]
    assert attributes(imported)["key-length-bytes"] == 32
    sealed = base64.b64decode(
        cli.data(
            "crypto", "encrypt", "aes-gcm", "--filter", "attr.label=imp-aes", "--data", MESSAGE
        )["ciphertext"]
    )
    iv, body = sealed[:12], sealed[12:]
    assert AESGCM(raw).decrypt(iv, body, None) == base64.b64decode(MESSAGE)


def test_delete(cli: CLI) -> None:
    """delete destroys the one selected key."""
    cli.data("key", "generate-symmetric", "aes", "--label", "doomed")
    assert cli.data("key", "delete", "--filter", "attr.label=doomed")["deleted"] is True
    assert cli.data("key", "list", "--filter", "attr.label=doomed")["total_key_count"] == 0


def test_a_session_key_in_single_command_mode_warns(cli: CLI) -> None:
    """--session outside the shell works but warns that the key ends with the command."""
    run = cli.run("key", "generate-symmetric", "aes", "--session", "--label", "brief")
    assert run.code == 0
    assert "session key" in run.err
    assert cli.data("key", "list", "--filter", "attr.label=brief")["total_key_count"] == 0
