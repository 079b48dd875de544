"""The backup catalog: what backups exist, in which state, kept in the object stores themselves.

This module owns the catalog entry (CloudHSM's Backup shape: id, cluster, state, timestamps,
NeverExpires, tags, copy source) and its persistence. Each entry is a small JSON object
``catalog/<backup-id>.json`` in the region's object store beside the backup itself
(``backups/<backup-id>.srbe``), and the backup object carries its creation facts as object
metadata; so the catalog can be rebuilt from the object stores alone. Rules about *changing*
entries (lifecycle, retention) live in ``backup.service``.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from strongroom.backup.objectstore.api import ObjectStore, StoredObject
from strongroom.crypto.random import RandomSource
from strongroom.errors import ArgumentsBad, BackupInvalid, ObjectNotFound

__all__ = [
    "MAX_TAGS",
    "BackupEntry",
    "BackupState",
    "backup_object_key",
    "catalog_object_key",
    "check_backup_id",
    "check_tags",
    "entry_from_object",
    "load_entry",
    "new_backup_id",
    "save_entry",
]

MAX_TAGS = 50
_TAG_KEY = 128
_TAG_VALUE = 256
_ID = re.compile(r"backup-[a-z2-7]{11}")
_ENTRY_FORMAT = "strongroom-backup-entry"


class BackupState(StrEnum):
    """CloudHSM's backup states (DELETED is simply gone)."""

    CREATE_IN_PROGRESS = "CREATE_IN_PROGRESS"
    READY = "READY"
    PENDING_DELETION = "PENDING_DELETION"


def new_backup_id(rng: RandomSource) -> str:
    """``backup-`` and 11 base32 characters, like CloudHSM's ids."""
    return "backup-" + base64.b32encode(rng.random_bytes(7)).decode().lower()[:11]


def check_backup_id(value: object) -> str:
    """A well-formed backup id, or ARGUMENTS_BAD."""
    if not isinstance(value, str) or _ID.fullmatch(value) is None:
        raise ArgumentsBad("a backup id is 'backup-' and 11 characters of [a-z2-7]")
    return value


def check_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """Tags as CloudHSM allows them: keys 1–128, values 0–256 characters, at most 50."""
    out: dict[str, str] = {}
    for key, value in tags.items():
        if not isinstance(key, str) or not 1 <= len(key) <= _TAG_KEY:
            raise ArgumentsBad(f"a tag key is 1-{_TAG_KEY} characters")
        if not isinstance(value, str) or len(value) > _TAG_VALUE:
            raise ArgumentsBad(f"a tag value is at most {_TAG_VALUE} characters")
        if key.lower().startswith("aws:"):
            raise ArgumentsBad("tag keys starting with 'aws:' are reserved")
        out[key] = value
    if len(out) > MAX_TAGS:
        raise ArgumentsBad(f"a backup has at most {MAX_TAGS} tags")
    return out


def backup_object_key(backup_id: str) -> str:
    """Where a backup's enveloped bytes live in its region's store."""
    return f"backups/{check_backup_id(backup_id)}.srbe"


def catalog_object_key(backup_id: str) -> str:
    """Where a backup's catalog entry lives in its region's store."""
    return f"catalog/{check_backup_id(backup_id)}.json"


@dataclass(frozen=True, slots=True)
class BackupEntry:
    """One backup as the catalog knows it (times in ns since the epoch)."""

    backup_id: str
    region: str
    cluster_id: str | None
    state: BackupState
    create_timestamp_ns: int
    hsm_id: str
    inner_backup_id: str
    kms_key_id: str
    object_count: int
    user_count: int
    size: int | None = None
    sha256: str | None = None
    delete_timestamp_ns: int | None = None
    never_expires: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    source_region: str | None = None
    source_backup: str | None = None
    source_cluster: str | None = None

    @property
    def is_copy(self) -> bool:
        """Copies belong to no cluster and have no retention."""
        return self.source_backup is not None

    def to_json(self) -> dict[str, object]:
        """The entry as stored (and as ``--output json`` shows it)."""
        return {
            "format": _ENTRY_FORMAT,
            "version": 1,
            "BackupId": self.backup_id,
            "Region": self.region,
            "ClusterId": self.cluster_id,
            "BackupState": self.state.value,
            "CreateTimestampNs": self.create_timestamp_ns,
            "DeleteTimestampNs": self.delete_timestamp_ns,
            "NeverExpires": self.never_expires,
            "TagList": [{"Key": k, "Value": v} for k, v in sorted(self.tags.items())],
            "SourceRegion": self.source_region,
            "SourceBackup": self.source_backup,
            "SourceCluster": self.source_cluster,
            "HsmId": self.hsm_id,
            "InnerBackupId": self.inner_backup_id,
            "KmsKeyId": self.kms_key_id,
            "ObjectCount": self.object_count,
            "UserCount": self.user_count,
            "Size": self.size,
            "Sha256": self.sha256,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> BackupEntry:
        """Parse a stored entry; anything malformed is BACKUP_INVALID."""
        try:
            if data.get("format") != _ENTRY_FORMAT or data.get("version") != 1:
                raise BackupInvalid("not a backup catalog entry")
            tags = {str(t["Key"]): str(t["Value"]) for t in data["TagList"]}  # type: ignore[attr-defined]
            return cls(
                backup_id=check_backup_id(data["BackupId"]),
                region=str(data["Region"]),
                cluster_id=None if data["ClusterId"] is None else str(data["ClusterId"]),
                state=BackupState(str(data["BackupState"])),
                create_timestamp_ns=int(data["CreateTimestampNs"]),  # type: ignore[call-overload]
                hsm_id=str(data["HsmId"]),
                inner_backup_id=str(data["InnerBackupId"]),
                kms_key_id=str(data["KmsKeyId"]),
                object_count=int(data["ObjectCount"]),  # type: ignore[call-overload]
                user_count=int(data["UserCount"]),  # type: ignore[call-overload]
                size=None if data["Size"] is None else int(data["Size"]),  # type: ignore[call-overload]
                sha256=None if data["Sha256"] is None else str(data["Sha256"]),
                delete_timestamp_ns=None
                if data["DeleteTimestampNs"] is None
                else int(data["DeleteTimestampNs"]),  # type: ignore[call-overload]
                never_expires=bool(data["NeverExpires"]),
                tags=tags,
                source_region=None if data["SourceRegion"] is None else str(data["SourceRegion"]),
                source_backup=None if data["SourceBackup"] is None else str(data["SourceBackup"]),
                source_cluster=None
                if data["SourceCluster"] is None
                else str(data["SourceCluster"]),
            )
        except (KeyError, TypeError, ValueError, ArgumentsBad) as exc:
            raise BackupInvalid("a backup catalog entry is malformed") from exc

    def object_metadata(self) -> dict[str, str]:
        """Creation facts stored with the backup object itself (for rebuilding the catalog)."""
        meta = {
            "backup-id": self.backup_id,
            "region": self.region,
            "cluster-id": self.cluster_id or "-",
            "created-ns": str(self.create_timestamp_ns),
            "hsm-id": self.hsm_id,
            "inner-backup-id": self.inner_backup_id,
            "kms-key-id": self.kms_key_id,
            "objects": str(self.object_count),
            "users": str(self.user_count),
        }
        if self.source_backup is not None:
            meta |= {
                "source-region": self.source_region or "-",
                "source-backup": self.source_backup,
                "source-cluster": self.source_cluster or "-",
            }
        return meta


def save_entry(store: ObjectStore, entry: BackupEntry) -> None:
    """Write (or replace) the entry's catalog object."""
    data = json.dumps(entry.to_json(), sort_keys=True).encode()
    store.put(catalog_object_key(entry.backup_id), [data])


def load_entry(store: ObjectStore, backup_id: str) -> BackupEntry | None:
    """The stored entry, or ``None`` if the catalog has none."""
    try:
        data = b"".join(store.get(catalog_object_key(backup_id)))
    except ObjectNotFound:
        return None
    try:
        parsed = json.loads(data)
    except ValueError as exc:
        raise BackupInvalid("a backup catalog entry is not JSON") from exc
    return BackupEntry.from_json(parsed)


def entry_from_object(obj: StoredObject) -> BackupEntry:
    """Rebuild an entry from a backup object's own metadata (the catalog object was lost)."""
    m = obj.metadata

    def opt(key: str) -> str | None:
        value = m.get(key)
        return None if value in (None, "-") else value

    try:
        entry = BackupEntry(
            backup_id=check_backup_id(m["backup-id"]),
            region=m["region"],
            cluster_id=opt("cluster-id"),
            state=BackupState.READY,
            create_timestamp_ns=int(m["created-ns"]),
            hsm_id=m["hsm-id"],
            inner_backup_id=m["inner-backup-id"],
            kms_key_id=m["kms-key-id"],
            object_count=int(m["objects"]),
            user_count=int(m["users"]),
            size=obj.size,
            sha256=obj.sha256,
            source_region=opt("source-region"),
            source_backup=opt("source-backup"),
            source_cluster=opt("source-cluster"),
        )
    except (KeyError, ValueError, ArgumentsBad) as exc:
        raise BackupInvalid(f"backup object {obj.key} lacks its creation metadata") from exc
    return replace(entry)
