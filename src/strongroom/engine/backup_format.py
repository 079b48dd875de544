"""Backup format v1, the inner layer: byte layout, PBK derivation, EBK wrap, sealed chunks.

This module owns the bytes of a backup as an HSM makes it (docs/formats/backup-v1.md is the
spec; keep the two in step). It is pure: records in, bytes out, and back — it never touches
a store, a user or a session (``engine.backup_ops`` does). A backup is

    header   = "SRBK" || u16 version (1) || u32 n || n bytes of canonical CBOR (the fields)
    chunk*   = u32 m || m bytes: AES-KWP(EBK, "SRCK" || u32 index || u32 count ||
                                              SHA-256(header) || canonical CBOR [records])

with the EBK (a fresh AES-256 key per backup) wrapped in the header under the PBK by AES-KW,
and the PBK derived by the SP 800-108 counter KDF (HMAC-SHA-256) from MKBK || AKBK. Each chunk
binds its index, the chunk count and the header's hash, so chunks cannot be reordered,
dropped, duplicated, truncated or spliced between backups without failing authentication.
All integers are big-endian.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from strongroom.crypto.hashing import constant_time_equal, digest, hmac_sign
from strongroom.crypto.kdf import kbkdf_counter
from strongroom.crypto.keywrap import (
    aes_key_unwrap,
    aes_key_unwrap_with_padding,
    aes_key_wrap,
    aes_key_wrap_with_padding,
)
from strongroom.errors import BackupInvalid, BackupWrongFamily, IntegrityError, StoreCorrupt
from strongroom.model.codec import decode_cbor, encode_cbor
from strongroom.store.api import ObjectRecord, UserRecord

__all__ = [
    "CHUNK_MAGIC",
    "MAGIC",
    "RECORDS_PER_CHUNK",
    "VERSION",
    "BackupHeader",
    "ByteReader",
    "MetaRecord",
    "ObjectEntry",
    "Record",
    "check_family",
    "chunk_count_for",
    "derive_pbk",
    "encode_header",
    "header_hash",
    "open_chunk",
    "parse_header",
    "pbk_check_value",
    "pbk_context",
    "read_chunk",
    "seal_chunk",
    "unwrap_ebk",
    "wrap_ebk",
]

MAGIC: Final = b"SRBK"
CHUNK_MAGIC: Final = b"SRCK"
VERSION: Final = 1
RECORDS_PER_CHUNK: Final = 512
"""Records per chunk (the last may hold fewer); memory is bounded by one chunk."""

PBK_LABEL: Final = b"strongroom backup PBK v1"
KDF_NAME: Final = "SP800-108-CTR-HMAC-SHA256"
EBK_WRAP_NAME: Final = "AES-KW-256"
CHUNK_WRAP_NAME: Final = "AES-KWP-256"
_MAX_HEADER: Final = 64 * 1024
_MAX_CHUNK: Final = 512 * 1024 * 1024
_PREFIX: Final = struct.Struct(">4sHI")
_CHUNK_PREFIX: Final = struct.Struct(">4sII")
_LEN: Final = struct.Struct(">I")

# Record tags inside chunks.
_META, _USER, _OBJECT = 1, 2, 3


@dataclass(frozen=True, slots=True)
class MetaRecord:
    """One HSM-wide setting carried in a backup (policy, activation…)."""

    key: str
    value: bytes


@dataclass(frozen=True, slots=True)
class ObjectEntry:
    """One token object as stored (sealed material as is) and who it is shared with."""

    record: ObjectRecord
    shares: frozenset[int]


Record = MetaRecord | UserRecord | ObjectEntry


@dataclass(frozen=True, slots=True)
class BackupHeader:
    """The clear header: what a backup is, whose it is, and the wrapped EBK."""

    backup_id: bytes
    created_ns: int
    hsm_id: str
    lineage: bytes
    position: int
    manufacturer_id: str
    service_id: str
    fips_mode: bool
    pbk_check: bytes
    wrapped_ebk: bytes
    chunk_count: int
    record_count: int
    object_count: int
    user_count: int
    last_handle: int
    last_user_id: int

    def __repr__(self) -> str:
        return f"BackupHeader(backup_id={self.backup_id.hex()}, hsm_id={self.hsm_id!r})"

    def fields(self) -> dict[str, object]:
        """The header's CBOR map (docs/formats/backup-v1.md, "Header fields")."""
        return {
            "format": "strongroom-backup",
            "version": VERSION,
            "backup_id": self.backup_id,
            "created_ns": self.created_ns,
            "hsm_id": self.hsm_id,
            "lineage": self.lineage,
            "position": self.position,
            "manufacturer_id": self.manufacturer_id,
            "service_id": self.service_id,
            "fips_mode": self.fips_mode,
            "kdf": KDF_NAME,
            "pbk_check": self.pbk_check,
            "ebk_wrap": EBK_WRAP_NAME,
            "wrapped_ebk": self.wrapped_ebk,
            "chunk_wrap": CHUNK_WRAP_NAME,
            "records_per_chunk": RECORDS_PER_CHUNK,
            "chunk_count": self.chunk_count,
            "record_count": self.record_count,
            "object_count": self.object_count,
            "user_count": self.user_count,
            "last_handle": self.last_handle,
            "last_user_id": self.last_user_id,
        }


def chunk_count_for(record_count: int) -> int:
    """Chunks for ``record_count`` records: at least one, even for an empty state."""
    return max(1, -(-record_count // RECORDS_PER_CHUNK))


# --- keys ----------------------------------------------------------------------------------


def pbk_context(manufacturer_id: str, service_id: str) -> bytes:
    """The KDF context: manufacturer ID || 0x00 || service ID (UTF-8)."""
    return manufacturer_id.encode() + b"\x00" + service_id.encode()


def derive_pbk(mkbk: bytes, akbk: bytes, manufacturer_id: str, service_id: str) -> bytes:
    """PBK = SP 800-108 counter KDF, HMAC-SHA-256, K_I = MKBK || AKBK, L = 256 bits."""
    return kbkdf_counter(
        mkbk + akbk,
        prf="HMAC-SHA256",
        label=PBK_LABEL,
        context=pbk_context(manufacturer_id, service_id),
        length=32,
    )


def pbk_check_value(pbk: bytes) -> bytes:
    """A public fingerprint of the PBK: HMAC-SHA-256(PBK, "strongroom PBK check v1")[:16]."""
    return hmac_sign("SHA256", pbk, b"strongroom PBK check v1")[:16]


def wrap_ebk(pbk: bytes, ebk: bytes) -> bytes:
    """AES-KW (RFC 3394) of the EBK under the PBK: 40 bytes."""
    return aes_key_wrap(pbk, ebk)


def unwrap_ebk(pbk: bytes, wrapped: bytes) -> bytes:
    """The EBK; a PBK that does not fit is BACKUP_WRONG_FAMILY, a damaged wrap BACKUP_INVALID."""
    try:
        ebk = aes_key_unwrap(pbk, wrapped)
    except IntegrityError:
        raise BackupInvalid("the backup's key does not unwrap: the header is damaged") from None
    if len(ebk) != 32:
        raise BackupInvalid("the backup's key has the wrong length")
    return ebk


def check_family(header: BackupHeader, pbk: bytes) -> None:
    """Refuse a backup whose PBK is not ours (another manufacturer or service key)."""
    if not constant_time_equal(pbk_check_value(pbk), header.pbk_check):
        raise BackupWrongFamily(
            "the backup was made with other manufacturer or service keys than this HSM's"
        )


# --- header --------------------------------------------------------------------------------


def encode_header(header: BackupHeader) -> bytes:
    """The header bytes: magic, version, length, canonical CBOR of ``header.fields()``."""
    body = encode_cbor(header.fields())
    return _PREFIX.pack(MAGIC, VERSION, len(body)) + body


def _field(fields: dict[str, Any], name: str, kind: type, size: int | None = None) -> Any:
    value: Any = fields.get(name)
    if type(value) is not kind:
        raise BackupInvalid(f"the backup header's {name} is missing or malformed")
    if size is not None and (not isinstance(value, bytes) or len(value) != size):
        raise BackupInvalid(f"the backup header's {name} is missing or malformed")
    return value


def parse_header(reader: ByteReader) -> tuple[BackupHeader, bytes]:
    """Read and check the header; returns it and its exact bytes (for the chunk binding)."""
    prefix = reader.read_exact(_PREFIX.size, "the header")
    magic, version, length = _PREFIX.unpack(prefix)
    if magic != MAGIC:
        raise BackupInvalid("not a Strongroom backup (bad magic)")
    if version != VERSION:
        raise BackupInvalid(f"backup format version {version} is not supported (this is 1)")
    if length > _MAX_HEADER:
        raise BackupInvalid("the backup header is too long")
    body = reader.read_exact(length, "the header")
    try:
        fields = decode_cbor(body)
    except StoreCorrupt:
        raise BackupInvalid("the backup header is not canonical CBOR") from None
    if not isinstance(fields, dict) or encode_cbor(fields) != body:
        raise BackupInvalid("the backup header is not canonical CBOR")
    fixed = {
        "format": "strongroom-backup",
        "version": VERSION,
        "kdf": KDF_NAME,
        "ebk_wrap": EBK_WRAP_NAME,
        "chunk_wrap": CHUNK_WRAP_NAME,
        "records_per_chunk": RECORDS_PER_CHUNK,
    }
    for name, expected in fixed.items():
        if fields.get(name) != expected:
            raise BackupInvalid(f"the backup header's {name} is not {expected!r}")
    header = BackupHeader(
        backup_id=_field(fields, "backup_id", bytes, 16),
        created_ns=_field(fields, "created_ns", int),
        hsm_id=_field(fields, "hsm_id", str),
        lineage=_field(fields, "lineage", bytes, 16),
        position=_field(fields, "position", int),
        manufacturer_id=_field(fields, "manufacturer_id", str),
        service_id=_field(fields, "service_id", str),
        fips_mode=_field(fields, "fips_mode", bool),
        pbk_check=_field(fields, "pbk_check", bytes, 16),
        wrapped_ebk=_field(fields, "wrapped_ebk", bytes, 40),
        chunk_count=_field(fields, "chunk_count", int),
        record_count=_field(fields, "record_count", int),
        object_count=_field(fields, "object_count", int),
        user_count=_field(fields, "user_count", int),
        last_handle=_field(fields, "last_handle", int),
        last_user_id=_field(fields, "last_user_id", int),
    )
    if header.chunk_count != chunk_count_for(header.record_count) or not (
        0 <= header.object_count + header.user_count <= header.record_count
    ):
        raise BackupInvalid("the backup header's counts do not agree")
    if set(fields) != set(header.fields()):
        raise BackupInvalid("the backup header has unknown fields")
    return header, prefix + body


def header_hash(header_bytes: bytes) -> bytes:
    """SHA-256 of the exact header bytes (magic through CBOR)."""
    return digest("SHA256", header_bytes)


# --- records and chunks ------------------------------------------------------------------


def _encode_record(record: Record) -> list[object]:
    if isinstance(record, ObjectEntry):
        r = record.record
        return [
            _OBJECT,
            r.handle,
            r.object_class,
            r.key_type,
            r.label,
            r.ckid,
            r.owner,
            r.private,
            r.public,
            r.sealed,
            sorted(record.shares),
        ]
    if isinstance(record, UserRecord):
        return [
            _USER,
            record.user_id,
            record.username,
            record.role,
            record.verifier,
            record.failed_logins,
            record.wrapped_storage_key,
        ]
    return [_META, record.key, record.value]


def _decode_record(item: object) -> Record:
    try:
        match item:
            case [1, str(key), bytes(value)]:
                return MetaRecord(key, value)
            case [2, int(uid), str(name), str(role), bytes(verifier), int(failed), wrapped]:
                if wrapped is not None and type(wrapped) is not bytes:
                    raise BackupInvalid("a user record is malformed")
                return UserRecord(uid, name, role, verifier, failed, wrapped)
            case [3, int(h), int(cls), kt, str(label), bytes(ckid), int(owner), bool(private),
                  bytes(public), sealed, list(shares)]:  # fmt: skip
                if (kt is not None and type(kt) is not int) or (
                    sealed is not None and type(sealed) is not bytes
                ):
                    raise BackupInvalid("an object record is malformed")
                if not all(type(u) is int for u in shares):
                    raise BackupInvalid("an object record's shares are malformed")
                record = ObjectRecord(h, cls, kt, label, ckid, owner, private, public, sealed)
                return ObjectEntry(record, frozenset(shares))
    except TypeError:
        pass
    raise BackupInvalid("a backup record is malformed")


def seal_chunk(
    ebk: bytes, index: int, count: int, header_digest: bytes, records: Iterable[Record]
) -> bytes:
    """One chunk on the wire: u32 length || KWP(EBK, chunk plaintext)."""
    body = encode_cbor([_encode_record(r) for r in records])
    plaintext = _CHUNK_PREFIX.pack(CHUNK_MAGIC, index, count) + header_digest + body
    wrapped = aes_key_wrap_with_padding(ebk, plaintext)
    return _LEN.pack(len(wrapped)) + wrapped


def open_chunk(
    ebk: bytes, wrapped: bytes, index: int, count: int, header_digest: bytes
) -> list[Record]:
    """The records of chunk ``index``; any mismatch or damage is BACKUP_INVALID."""
    try:
        plaintext = aes_key_unwrap_with_padding(ebk, wrapped)
    except IntegrityError:
        raise BackupInvalid(f"chunk {index + 1} of {count} failed authentication") from None
    head = _CHUNK_PREFIX.size + 32
    if len(plaintext) < head:
        raise BackupInvalid(f"chunk {index + 1} of {count} is too short")
    magic, got_index, got_count = _CHUNK_PREFIX.unpack_from(plaintext)
    if magic != CHUNK_MAGIC or got_index != index or got_count != count:
        raise BackupInvalid(f"chunk {index + 1} of {count} is out of place")
    if not constant_time_equal(plaintext[_CHUNK_PREFIX.size : head], header_digest):
        raise BackupInvalid(f"chunk {index + 1} of {count} belongs to another backup")
    try:
        items = decode_cbor(plaintext[head:])
    except StoreCorrupt:
        raise BackupInvalid(f"chunk {index + 1} of {count} is malformed") from None
    if not isinstance(items, list):
        raise BackupInvalid(f"chunk {index + 1} of {count} is malformed")
    return [_decode_record(item) for item in items]


def read_chunk(reader: ByteReader, index: int, count: int) -> bytes:
    """The wrapped bytes of the next chunk (its length prefix checked)."""
    (length,) = _LEN.unpack(reader.read_exact(_LEN.size, f"chunk {index + 1} of {count}"))
    if not 24 <= length <= _MAX_CHUNK or length % 8:
        raise BackupInvalid(f"chunk {index + 1} of {count} has an impossible length")
    return reader.read_exact(length, f"chunk {index + 1} of {count}")


class ByteReader:
    """Exact reads over a stream of byte strings of any sizes."""

    __slots__ = ("_buffer", "_chunks", "_offset")

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._buffer = bytearray()
        self._offset = 0

    def _fill(self, n: int) -> None:
        if self._offset > (1 << 20):
            del self._buffer[: self._offset]
            self._offset = 0
        while len(self._buffer) - self._offset < n:
            try:
                piece = next(self._chunks)
            except StopIteration:
                return
            if not isinstance(piece, bytes | bytearray | memoryview):
                raise BackupInvalid("the backup stream yields something other than bytes")
            self._buffer += piece

    def read_exact(self, n: int, what: str) -> bytes:
        """Exactly ``n`` bytes, or BACKUP_INVALID naming ``what`` was cut short."""
        self._fill(n)
        if len(self._buffer) - self._offset < n:
            raise BackupInvalid(f"the backup is truncated in {what}")
        out = bytes(self._buffer[self._offset : self._offset + n])
        self._offset += n
        return out

    def at_end(self) -> bool:
        """True when the stream has nothing more."""
        self._fill(1)
        return len(self._buffer) - self._offset == 0
