"""Known-answer inputs for backup format v1 (docs/formats/backup-v1.md) and the production outputs.

``build()`` runs the production encoder on fixed inputs; tests compare the result with the
frozen golden file ``tests/golden/backup-v1.json`` and decode that file independently.
"""

from __future__ import annotations

from strongroom.engine.backup_format import (
    BackupHeader,
    MetaRecord,
    ObjectEntry,
    Record,
    derive_pbk,
    encode_header,
    header_hash,
    pbk_check_value,
    seal_chunk,
    wrap_ebk,
)
from strongroom.store.api import ObjectRecord, UserRecord

MKBK = bytes([0x01]) * 32
AKBK = bytes([0x02]) * 32
EBK = bytes([0x03]) * 32
MANUFACTURER = "test-maker"
SERVICE = "test-service"
RECORDS: list[Record] = [
    MetaRecord("activated", b"\x01"),
    UserRecord(1, "admin", "admin", bytes([0x11]) * 32, 0, bytes([0x12]) * 60),
    UserRecord(2, "alice", "crypto-user", bytes([0x21]) * 32, 1, None),
    ObjectEntry(
        ObjectRecord(7, 4, 0x1F, "demo", b"\x01\x02", 2, True, b"\xa1\x00\x04", b"\x99" * 64),
        frozenset({1}),
    ),
]


def build() -> dict[str, str]:
    """Every intermediate and final value, as lowercase hex."""
    pbk = derive_pbk(MKBK, AKBK, MANUFACTURER, SERVICE)
    header = BackupHeader(
        backup_id=bytes([0x04]) * 16,
        created_ns=1_700_000_000_000_000_000,
        hsm_id="0123456789abcdef",
        lineage=bytes([0x05]) * 16,
        position=7,
        manufacturer_id=MANUFACTURER,
        service_id=SERVICE,
        fips_mode=False,
        pbk_check=pbk_check_value(pbk),
        wrapped_ebk=wrap_ebk(pbk, EBK),
        chunk_count=1,
        record_count=len(RECORDS),
        object_count=1,
        user_count=2,
        last_handle=9,
        last_user_id=2,
    )
    header_bytes = encode_header(header)
    chunk = seal_chunk(EBK, 0, 1, header_hash(header_bytes), RECORDS)
    return {
        "mkbk": MKBK.hex(),
        "akbk": AKBK.hex(),
        "ebk": EBK.hex(),
        "pbk": pbk.hex(),
        "pbk_check": header.pbk_check.hex(),
        "wrapped_ebk": header.wrapped_ebk.hex(),
        "header": header_bytes.hex(),
        "header_sha256": header_hash(header_bytes).hex(),
        "chunk": chunk.hex(),
        "backup": (header_bytes + chunk).hex(),
    }
