"""Store format v1: frozen known-answer vectors for sealing, verifiers and audit hashes.

The golden file tests/golden/store-v1.json pins exact bytes; the independent checks below
rebuild the sealing AAD and decrypt with pyca/cryptography from the spec text
(docs/formats/store-v1.md), without the production sealing code.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import cbor2
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap

from strongroom.constants import Attribute, KeyType, ObjectClass
from strongroom.engine.audit import audit_hash
from strongroom.engine.passwords import check_password, derive_credential
from strongroom.model.codec import encode_cbor, encode_template
from strongroom.store.sealing import StorageKey, object_aad, wrap_storage_key

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "store-v1.json"


class FixedRandom:
    """Returns preset bytes, so every vector is reproducible."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def random_bytes(self, n: int) -> bytes:
        out, self._data = self._data[:n], self._data[n:]
        assert len(out) == n
        return out


STORAGE_KEY = bytes(range(32))
NONCE = bytes.fromhex("a0a1a2a3a4a5a6a7a8a9aaab")
SALT = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
PUBLIC = {
    Attribute.CLASS: ObjectClass.SECRET_KEY,
    Attribute.KEY_TYPE: KeyType.AES,
    Attribute.LABEL: "vector",
    Attribute.TOKEN: True,
    Attribute.SENSITIVE: True,
    Attribute.EXTRACTABLE: False,
}
SECRET = {"value": bytes(range(0x40, 0x60))}


def compute() -> dict[str, str]:
    """Every v1 vector from the production code."""
    public = encode_template(PUBLIC)  # type: ignore[arg-type]
    aad = object_aad(7, 3, public, frozenset({9, 4}))
    sealed = StorageKey(STORAGE_KEY, FixedRandom(NONCE)).seal(encode_cbor(SECRET), aad)
    credential = derive_credential("correct horse battery", 1000, FixedRandom(SALT))
    wrapped = wrap_storage_key(credential.kek, StorageKey(STORAGE_KEY, FixedRandom(b"")))
    audit = audit_hash(
        seq=1,
        boot=1,
        timestamp_ns=1_700_000_000_000_000_000,
        event="initialize",
        actor="hsm",
        details=encode_cbor({"hsm_id": "0011223344556677", "fips_mode": False}),
        prev_hash=bytes(32),
    )
    return {
        "public_attributes": public.hex(),
        "object_aad": aad.hex(),
        "sealed_object": sealed.hex(),
        "verifier": credential.verifier.hex(),
        "kek": credential.kek.hex(),
        "wrapped_storage_key": wrapped.hex(),
        "audit_hash": audit.hex(),
    }


def test_vectors_match_golden_file() -> None:
    """The production code reproduces every frozen v1 vector byte for byte."""
    assert compute() == json.loads(GOLDEN.read_text())


def test_sealed_object_decodes_from_the_spec_alone() -> None:
    """Rebuilding the AAD from the spec text and decrypting with pyca recovers the secret."""
    golden = json.loads(GOLDEN.read_text())
    public = bytes.fromhex(golden["public_attributes"])
    aad = (
        b"strongroom/store/v1/object\x00"
        + struct.pack(">QQ", 7, 3)
        + hashlib.sha256(public).digest()
        + struct.pack(">I", 2)
        + struct.pack(">QQ", 4, 9)
    )
    assert aad.hex() == golden["object_aad"]
    sealed = bytes.fromhex(golden["sealed_object"])
    assert sealed[0] == 1
    plaintext = AESGCM(STORAGE_KEY).decrypt(sealed[1:13], sealed[13:], aad)
    assert cbor2.loads(plaintext) == SECRET
    assert cbor2.loads(public) == {
        int(k): (int(v) if isinstance(v, int) else v) for k, v in PUBLIC.items()
    }


def test_verifier_and_kek_from_the_spec_alone() -> None:
    """PBKDF2 then HKDF, as the spec says, gives the stored verifier and the KEK."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

    golden = json.loads(GOLDEN.read_text())
    fields = cbor2.loads(bytes.fromhex(golden["verifier"]))
    assert fields["alg"] == "pbkdf2-hmac-sha256"
    assert fields["iter"] == 1000
    assert fields["salt"] == SALT
    master = PBKDF2HMAC(hashes.SHA256(), 32, SALT, 1000).derive(b"correct horse battery")
    verifier = HKDF(hashes.SHA256(), 32, None, b"strongroom/user/verifier/v1").derive(master)
    kek = HKDF(hashes.SHA256(), 32, None, b"strongroom/user/kek/v1").derive(master)
    assert fields["hash"] == verifier
    assert kek.hex() == golden["kek"]
    assert aes_key_unwrap(kek, bytes.fromhex(golden["wrapped_storage_key"])) == STORAGE_KEY
    assert check_password(bytes.fromhex(golden["verifier"]), "correct horse battery") == kek
    assert check_password(bytes.fromhex(golden["verifier"]), "correct horse batterz") is None


def test_audit_hash_from_the_spec_alone() -> None:
    """SHA-256 over the domain tag and the CBOR array of fields gives the record hash."""
    golden = json.loads(GOLDEN.read_text())
    details = cbor2.dumps({"fips_mode": False, "hsm_id": "0011223344556677"}, canonical=True)
    body = cbor2.dumps(
        [1, 1, 1_700_000_000_000_000_000, "initialize", "hsm", details, bytes(32)], canonical=True
    )
    assert hashlib.sha256(b"strongroom/audit/v1\x00" + body).hexdigest() == golden["audit_hash"]
