"""Backup format v1 against its spec: golden vectors, and a decoder written from the spec alone.

The decoder below uses only pyca/cryptography and cbor2 — no Strongroom code — following
docs/formats/backup-v1.md step by step, so the document and the production encoder are checked
against each other.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.hmac import HMAC
from cryptography.hazmat.primitives.kdf.kbkdf import KBKDFHMAC, CounterLocation, Mode
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap, aes_key_unwrap_with_padding

from .backup_vectors import build

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = json.loads((ROOT / "tests" / "golden" / "backup-v1.json").read_text())


def test_production_encoder_reproduces_the_golden_vectors() -> None:
    """The encoder's output for the fixed inputs is byte-for-byte the frozen v1 golden file."""
    assert build() == GOLDEN


def test_spec_document_quotes_the_vectors() -> None:
    """docs/formats/backup-v1.md shows the same PBK, wrapped EBK and header hash."""
    doc = (ROOT / "docs" / "formats" / "backup-v1.md").read_text()
    for name in ("pbk", "pbk_check", "wrapped_ebk", "header_sha256"):
        assert GOLDEN[name] in doc, name


def _spec_pbk(mkbk: bytes, akbk: bytes, manufacturer: str, service: str) -> bytes:
    # Spec "PBK": SP 800-108 counter mode, HMAC-SHA-256, 32-bit counter before the fixed input
    # label || 0x00 || context || [L]32, K_I = MKBK || AKBK, L = 256.
    return KBKDFHMAC(
        algorithm=hashes.SHA256(),
        mode=Mode.CounterMode,
        length=32,
        rlen=4,
        llen=4,
        location=CounterLocation.BeforeFixed,
        label=b"strongroom backup PBK v1",
        context=manufacturer.encode() + b"\x00" + service.encode(),
        fixed=None,
    ).derive(mkbk + akbk)


def _spec_decode(data: bytes, mkbk: bytes, akbk: bytes) -> tuple[dict[str, Any], list[Any]]:
    magic, version, n = struct.unpack(">4sHI", data[:10])
    assert magic == b"SRBK"
    assert version == 1
    header_bytes = data[: 10 + n]
    header = cbor2.loads(data[10 : 10 + n])
    assert cbor2.dumps(header, canonical=True) == data[10 : 10 + n]
    pbk = _spec_pbk(mkbk, akbk, header["manufacturer_id"], header["service_id"])
    mac = HMAC(pbk, hashes.SHA256())
    mac.update(b"strongroom PBK check v1")
    assert mac.finalize()[:16] == header["pbk_check"]
    ebk = aes_key_unwrap(pbk, header["wrapped_ebk"])
    digest = hashlib.sha256(header_bytes).digest()
    rest = data[10 + n :]
    records: list[Any] = []
    for index in range(header["chunk_count"]):
        (m,) = struct.unpack(">I", rest[:4])
        plaintext = aes_key_unwrap_with_padding(ebk, rest[4 : 4 + m])
        rest = rest[4 + m :]
        chunk_magic, got_index, got_count = struct.unpack(">4sII", plaintext[:12])
        assert (chunk_magic, got_index, got_count) == (b"SRCK", index, header["chunk_count"])
        assert plaintext[12:44] == digest
        records.extend(cbor2.loads(plaintext[44:]))
    assert rest == b""
    return header, records


def test_spec_decoder_reads_the_golden_backup() -> None:
    """Decoding the golden backup by the spec gives the header fields and records put in."""
    header, records = _spec_decode(
        bytes.fromhex(GOLDEN["backup"]),
        bytes.fromhex(GOLDEN["mkbk"]),
        bytes.fromhex(GOLDEN["akbk"]),
    )
    assert header["format"] == "strongroom-backup"
    assert header["kdf"] == "SP800-108-CTR-HMAC-SHA256"
    assert header["ebk_wrap"] == "AES-KW-256"
    assert header["chunk_wrap"] == "AES-KWP-256"
    assert header["record_count"] == len(records) == 4
    assert records[0] == [1, "activated", b"\x01"]
    assert records[1][:3] == [2, 1, "admin"]
    assert records[2] == [2, 2, "alice", "crypto-user", bytes([0x21]) * 32, 1, None]
    assert records[3] == [
        3, 7, 4, 0x1F, "demo", b"\x01\x02", 2, True, b"\xa1\x00\x04", b"\x99" * 64, [1],
    ]  # fmt: skip
    assert bytes.fromhex(GOLDEN["ebk"]) == aes_key_unwrap(
        bytes.fromhex(GOLDEN["pbk"]), header["wrapped_ebk"]
    )


def test_spec_decoder_reads_a_real_backup() -> None:
    """A backup of a live HSM decodes by the spec too (more than one chunk, real records)."""
    from strongroom.constants import Attribute, Mechanism
    from strongroom.engine import HSM
    from strongroom.testing import MemoryStore, fake_manufacturer, fake_service, fast_config

    from .engine_helpers import ALICE_PASSWORD, activate

    manufacturer, service = fake_manufacturer(), fake_service()
    hsm = HSM.open(MemoryStore(), fast_config(manufacturer=manufacturer))
    hsm.configure_service(service)
    activate(hsm)
    alice = hsm.open_session()
    alice.login("alice", ALICE_PASSWORD)
    for _ in range(600):
        alice.generate_key(Mechanism.AES_KEY_GEN, {Attribute.VALUE_LEN: 16, Attribute.TOKEN: True})
    with hsm.backup() as stream:
        data = b"".join(stream.chunks())
    header, records = _spec_decode(data, manufacturer.mkbk, service.akbk)
    assert header["chunk_count"] == 2
    assert sum(1 for r in records if r[0] == 3) == header["object_count"] == 600
    assert sum(1 for r in records if r[0] == 2) == header["user_count"] == 4
    hsm.close()
