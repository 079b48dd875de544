"""Envelope format v1: frozen known-answer vectors, and a decoder written from the spec alone.

tests/golden/envelope-v1.json pins exact bytes made by the production code (a real `LocalKMS`
fed fixed "random" bytes). The decoder below reads those bytes following
docs/formats/envelope-v1.md only, with pyca/cryptography's AESGCM and cbor2 directly: it does
not import `strongroom.backup.envelope` or the KMS providers.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path

import cbor2
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "envelope-v1.json"

# The vector inputs, exactly as docs/formats/envelope-v1.md ("Known-answer vectors") lists them.
MASTER_KEY = bytes(range(0x20, 0x40))
DATA_KEY = bytes(range(0x00, 0x20))
WRAP_NONCE = bytes(range(0xB0, 0xBC))
NONCE_BASE = bytes(range(0xC0, 0xCC))
KEY_ID = "backup-kek"
CONTEXT = {"cluster": "cluster-1", "backup": "backup-1", "region": "region-1"}
CHUNK_SIZE = 16
INNER = b"sealed backup bytes; opaque here!!!!!!!"  # 39 bytes: chunks of 16, 16 and 7


class FixedRandom:
    """Returns preset bytes in order, so every vector is reproducible."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def random_bytes(self, n: int) -> bytes:
        out, self._data = self._data[:n], self._data[n:]
        assert len(out) == n
        return out


def compute(directory: Path) -> dict[str, str]:
    """Every v1 vector, from the production code."""
    from strongroom.backup.envelope import chunk_aad, chunk_nonce, seal_envelope
    from strongroom.backup.kms.api import kms_aad
    from strongroom.backup.kms.local import LocalKMS

    vectors: dict[str, str] = {}
    for name, inner in (("envelope", INNER), ("envelope_empty", b"")):
        path = directory / f"{name}.keys"
        rng = FixedRandom(MASTER_KEY + DATA_KEY + WRAP_NONCE)
        kms = LocalKMS(path, rng=rng)
        kms.create_key(KEY_ID)
        pieces = list(
            seal_envelope(
                [inner[:5], inner[5:]],
                kms=kms,
                key_id=KEY_ID,
                context=CONTEXT,
                rng=FixedRandom(NONCE_BASE),
                chunk_size=CHUNK_SIZE,
            )
        )
        vectors[name] = b"".join(pieces).hex()
        if name == "envelope":
            header = pieces[0]
            digest = hashlib.sha256(header).digest()
            vectors["key_file"] = path.read_bytes().hex()
            vectors["kms_aad"] = kms_aad(KEY_ID, CONTEXT).hex()
            vectors["header"] = header.hex()
            vectors["header_sha256"] = digest.hex()
            vectors["nonce_2"] = chunk_nonce(NONCE_BASE, 2).hex()
            vectors["aad_2_final"] = chunk_aad(digest, 2, final=True).hex()
    vectors["wrapped_key"] = cbor2.loads(bytes.fromhex(vectors["header"])[10:])["wrapped_key"].hex()
    return dict(sorted(vectors.items()))


def test_vectors_match_golden_file(tmp_path: Path) -> None:
    """The production code reproduces every frozen v1 vector byte for byte."""
    computed = compute(tmp_path)
    if os.environ.get("STRONGROOM_WRITE_GOLDEN") == "1":  # pragma: no cover - maintainers only
        GOLDEN.write_text(json.dumps(computed, indent=2) + "\n")
    assert computed == json.loads(GOLDEN.read_text())


# --- a decoder written from docs/formats/envelope-v1.md alone -------------------------------


class SpecError(Exception):
    """The spec decoder refused its input."""


def spec_kms_aad(key_id: str, context: dict[str, str]) -> bytes:
    """Appendix A.1: domain || canonical CBOR [key_id, context]."""
    return b"strongroom/kms/v1\x00" + cbor2.dumps([key_id, context], canonical=True)


def spec_local_unwrap(master: bytes, key_id: str, context: dict[str, str], wrapped: bytes) -> bytes:
    """Appendix A.2: 0x01 || nonce(12) || AES-256-GCM(master, nonce, key, AAD) || tag(16)."""
    if len(wrapped) != 61 or wrapped[0] != 0x01:
        raise SpecError("not a local v1 wrapping")
    return AESGCM(master).decrypt(wrapped[1:13], wrapped[13:], spec_kms_aad(key_id, context))


def spec_read_key_file(data: bytes) -> dict[str, bytes]:
    """Appendix A.3: "SRKF" || u16 1 || u32 n || CBOR {"keys": …} (n bytes) || SHA-256."""
    magic, version, length = struct.unpack(">4sHI", data[:10])
    if magic != b"SRKF" or version != 1 or len(data) != 10 + length + 32:
        raise SpecError("not a v1 key file")
    if hashlib.sha256(data[:-32]).digest() != data[-32:]:
        raise SpecError("key file checksum")
    body = cbor2.loads(data[10:-32])
    keys: dict[str, bytes] = body["keys"]
    return keys


def spec_open(envelope: bytes, unwrap: object) -> tuple[dict[str, object], bytes]:
    """Header, then length-prefixed chunks; returns the header map and the inner bytes."""
    if envelope[:4] != b"SREV":
        raise SpecError("magic")
    (version,) = struct.unpack(">H", envelope[4:6])
    if version != 1:
        raise SpecError("version")
    (map_length,) = struct.unpack(">I", envelope[6:10])
    header_bytes = envelope[: 10 + map_length]
    fields = cbor2.loads(header_bytes[10:])
    if cbor2.dumps(fields, canonical=True) != header_bytes[10:]:
        raise SpecError("header map is not canonical")
    if set(fields) != {
        "v",
        "kms",
        "key_id",
        "wrapped_key",
        "context",
        "cipher",
        "chunk_size",
        "nonce_base",
    }:
        raise SpecError("header fields")
    if fields["v"] != 1 or fields["cipher"] != "AES-256-GCM":
        raise SpecError("header values")
    assert callable(unwrap)
    data_key = unwrap(fields)
    header_digest = hashlib.sha256(header_bytes).digest()
    aead = AESGCM(data_key)
    base = int.from_bytes(fields["nonce_base"], "big")
    chunk_size = fields["chunk_size"]
    position = len(header_bytes)
    index = 0
    inner = b""
    while True:
        if position + 4 > len(envelope):
            raise SpecError("ends without a final chunk")
        (length,) = struct.unpack(">I", envelope[position : position + 4])
        if not 16 <= length <= chunk_size + 16:
            raise SpecError("chunk length")
        sealed = envelope[position + 4 : position + 4 + length]
        if len(sealed) != length:
            raise SpecError("truncated chunk")
        position += 4 + length
        final = position == len(envelope)
        if not final and length != chunk_size + 16:
            raise SpecError("short non-final chunk")
        nonce = (base ^ index).to_bytes(12, "big")
        aad = header_digest + struct.pack(">QB", index, 1 if final else 0)
        inner += aead.decrypt(nonce, sealed, aad)
        if final:
            return fields, inner
        index += 1


def _golden() -> dict[str, str]:
    loaded: dict[str, str] = json.loads(GOLDEN.read_text())
    return loaded


def _unwrap_with_master(fields: dict[str, object]) -> bytes:
    assert fields["kms"] == "local"
    wrapped = fields["wrapped_key"]
    key_id = fields["key_id"]
    context = fields["context"]
    assert isinstance(wrapped, bytes)
    assert isinstance(key_id, str)
    assert isinstance(context, dict)
    return spec_local_unwrap(MASTER_KEY, key_id, context, wrapped)


def test_envelope_decodes_from_the_spec_alone() -> None:
    """Following the spec with pyca and cbor2 alone recovers the inner bytes from the vector."""
    golden = _golden()
    fields, inner = spec_open(bytes.fromhex(golden["envelope"]), _unwrap_with_master)
    assert inner == INNER
    assert fields["context"] == CONTEXT
    assert fields["key_id"] == KEY_ID
    assert fields["chunk_size"] == CHUNK_SIZE
    assert fields["nonce_base"] == NONCE_BASE
    assert bytes.fromhex(golden["header"]).hex() == golden["envelope"][: len(golden["header"])]
    digest = hashlib.sha256(bytes.fromhex(golden["header"])).hexdigest()
    assert digest == golden["header_sha256"]
    nonce_2 = bytes(a ^ b for a, b in zip(NONCE_BASE, bytes(11) + b"\x02", strict=True))
    assert nonce_2.hex() == golden["nonce_2"]
    assert golden["aad_2_final"] == digest + "0000000000000002" + "01"


def test_empty_envelope_decodes_from_the_spec_alone() -> None:
    """Empty inner bytes are one final chunk holding only a tag."""
    envelope = bytes.fromhex(_golden()["envelope_empty"])
    _, inner = spec_open(envelope, _unwrap_with_master)
    assert inner == b""
    header_length = 10 + struct.unpack(">I", envelope[6:10])[0]
    assert envelope[header_length:][:4] == b"\x00\x00\x00\x10"
    assert len(envelope) == header_length + 4 + 16


def test_local_wrapping_and_key_file_from_the_spec_alone() -> None:
    """Appendix A: the key file holds the master key; it unwraps the header's data key."""
    golden = _golden()
    keys = spec_read_key_file(bytes.fromhex(golden["key_file"]))
    assert keys == {KEY_ID: MASTER_KEY}
    assert spec_kms_aad(KEY_ID, CONTEXT).hex() == golden["kms_aad"]
    wrapped = bytes.fromhex(golden["wrapped_key"])
    assert wrapped[1:13] == WRAP_NONCE
    assert spec_local_unwrap(MASTER_KEY, KEY_ID, CONTEXT, wrapped) == DATA_KEY
    with pytest.raises(InvalidTag):
        spec_local_unwrap(MASTER_KEY, KEY_ID, {**CONTEXT, "region": "region-2"}, wrapped)


@pytest.mark.parametrize(
    "damage",
    ["flip-last", "drop-last-byte", "append-byte", "swap-chunks", "drop-middle-chunk"],
)
def test_spec_decoder_refuses_damage(damage: str) -> None:
    """The spec's rules alone catch tampering, truncation and reordering of the vector."""
    envelope = bytearray.fromhex(_golden()["envelope"])
    header_length = 10 + struct.unpack(">I", envelope[6:10])[0]
    frame = 4 + CHUNK_SIZE + 16
    first, second = header_length, header_length + frame
    if damage == "flip-last":
        envelope[-1] ^= 1
    elif damage == "drop-last-byte":
        del envelope[-1]
    elif damage == "append-byte":
        envelope.append(0)
    elif damage == "swap-chunks":
        a, b = envelope[first:second], envelope[second : second + frame]
        envelope[first : second + frame] = b + a
    else:
        del envelope[second : second + frame]
    with pytest.raises((SpecError, InvalidTag)):
        spec_open(bytes(envelope), _unwrap_with_master)


def test_spec_document_quotes_the_golden_vectors() -> None:
    """Every vector printed in docs/formats/envelope-v1.md is the frozen one."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "formats" / "envelope-v1.md").read_text()
    golden = _golden()
    for name in ("kms_aad", "wrapped_key", "key_file", "header", "header_sha256", "nonce_2"):
        assert f"`{golden[name]}`" in doc, name
    assert f"`{golden['aad_2_final']}`" in doc
    envelope = bytes.fromhex(golden["envelope"])
    header_length = len(bytes.fromhex(golden["header"]))
    position = header_length
    while position < len(envelope):
        (length,) = struct.unpack(">I", envelope[position : position + 4])
        assert f"`{envelope[position : position + 4 + length].hex()}`" in doc
        position += 4 + length
    empty = bytes.fromhex(golden["envelope_empty"])
    assert empty[:header_length].hex() == golden["header"]
    assert f"`{empty[header_length:].hex()}`" in doc
    assert f"({len(envelope)} bytes)" in doc or f"envelope ({len(envelope)} bytes)" in doc
    assert f"({len(empty)} bytes in all)" in doc
