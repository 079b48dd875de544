"""Secrets at rest: key material and passwords never reach the SQLite files in the clear,
and on-disk tampering with a sealed object is detected when the object is next used.

The first tests import token objects whose bytes the test knows and search the raw
database file and its write-ahead log for them, byte-for-byte and as hex, both while the
HSM is open (the WAL not yet checkpointed) and after it is closed. The rest edit the
database with plain ``sqlite3`` behind the HSM's back — flip a clear attribute, swap two
sealed blobs, add a share row — and check that the next use of the key fails with
STORE_CORRUPT instead of trusting the edited row.
"""

from __future__ import annotations

import hmac
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import cbor2
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from strongroom.constants import Attribute, KeyType, Mechanism, ObjectClass
from strongroom.crypto.asymmetric import ec_params_for_curve
from strongroom.engine import HSM, GCMParams, Session
from strongroom.errors import KeyUnextractable, ObjectHandleInvalid, StoreCorrupt
from strongroom.store.sqlite import SQLiteStore
from strongroom.testing import fast_config

from .engine_helpers import (
    ADMIN_PASSWORD,
    ALICE_PASSWORD,
    APP_PASSWORD,
    BOB_PASSWORD,
    Cluster,
)

PASSWORDS = (ADMIN_PASSWORD, ALICE_PASSWORD, BOB_PASSWORD, APP_PASSWORD)
WINDOW = 8
"""Besides whole secrets, no 8-byte slice of one may appear (a chance match is ~2^-64)."""
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
"""The order n of the P-256 group (SEC 2 §2.4.2)."""


# --- secrets never stored in the clear -----------------------------------------------------


@dataclass
class Imported:
    """Known secret bytes imported as token objects, by label."""

    secrets: dict[str, bytes]

    @property
    def labels(self) -> list[str]:
        """The objects' labels (stored in the clear on purpose)."""
        return list(self.secrets)


def _p256_scalar() -> bytes:
    """A random private scalar in [1, n-1] for P-256 (SEC 2 §2.4.2), as 32 bytes."""
    scalar = int.from_bytes(os.urandom(40), "big") % (P256_ORDER - 1) + 1
    return scalar.to_bytes(32, "big")


def import_known_secrets(session: Session) -> Imported:
    """Import an AES-256 key, a P-256 private key, a generic secret and a private data object."""
    secrets = {
        "at-rest-aes": os.urandom(32),
        "at-rest-ec": _p256_scalar(),
        "at-rest-generic": os.urandom(48),
        "at-rest-data": os.urandom(40),
    }
    session.create_object(
        {
            Attribute.TOKEN: True,
            Attribute.CLASS: ObjectClass.SECRET_KEY,
            Attribute.KEY_TYPE: KeyType.AES,
            Attribute.LABEL: "at-rest-aes",
            Attribute.VALUE: secrets["at-rest-aes"],
        }
    )
    session.create_object(
        {
            Attribute.TOKEN: True,
            Attribute.CLASS: ObjectClass.PRIVATE_KEY,
            Attribute.KEY_TYPE: KeyType.EC,
            Attribute.LABEL: "at-rest-ec",
            Attribute.EC_PARAMS: ec_params_for_curve("secp256r1"),
            Attribute.VALUE: secrets["at-rest-ec"],
        }
    )
    session.create_object(
        {
            Attribute.TOKEN: True,
            Attribute.CLASS: ObjectClass.SECRET_KEY,
            Attribute.KEY_TYPE: KeyType.GENERIC_SECRET,
            Attribute.LABEL: "at-rest-generic",
            Attribute.VALUE: secrets["at-rest-generic"],
        }
    )
    session.create_object(
        {
            Attribute.TOKEN: True,
            Attribute.CLASS: ObjectClass.DATA,
            Attribute.PRIVATE: True,
            Attribute.LABEL: "at-rest-data",
            Attribute.VALUE: secrets["at-rest-data"],
        }
    )
    return Imported(secrets)


def stored_files(db_path: Path) -> dict[str, bytes]:
    """Raw bytes of the database file and, where present, its -wal and -shm files."""
    files = {}
    for suffix in ("", "-wal", "-shm"):
        path = db_path.with_name(db_path.name + suffix)
        if path.exists():
            files[path.name] = path.read_bytes()
    assert db_path.name in files
    return files


def forms(secret: bytes) -> list[bytes]:
    """The byte strings that must not appear: the secret, its hex, and its 8-byte slices."""
    out = [secret, secret.hex().encode(), secret.hex().upper().encode()]
    out += [secret[i : i + WINDOW] for i in range(len(secret) - WINDOW + 1)]
    return out


def assert_nothing_in_clear(files: dict[str, bytes], imported: Imported) -> None:
    """No known secret or password, in any of its forms, is in any file; labels are."""
    for label, secret in imported.secrets.items():
        for needle in forms(secret):
            for name, data in files.items():
                assert needle not in data, f"{label} material found in {name}"
    for password in PASSWORDS:
        raw = password.encode()
        for needle in (raw, raw.hex().encode(), password.encode("utf-16-le")):
            for name, data in files.items():
                assert needle not in data, f"a password found in {name}"
    everything = b"".join(files.values())
    for label in imported.labels:  # the scan does see the objects' clear attributes
        assert label.encode() in everything, f"{label} not on disk at all"


def test_secrets_absent_while_open(sqlite_cluster: Cluster, sqlite_path: Path) -> None:
    """With the HSM still open, neither the database nor its WAL holds a secret in the clear."""
    imported = import_known_secrets(sqlite_cluster.alice)
    files = stored_files(sqlite_path)
    assert sqlite_path.name + "-wal" in files, "expected an un-checkpointed WAL while open"
    assert_nothing_in_clear(files, imported)


def test_secrets_absent_after_close(sqlite_cluster: Cluster, sqlite_path: Path) -> None:
    """After the HSM is closed (WAL checkpointed), the database holds no secret in the clear."""
    imported = import_known_secrets(sqlite_cluster.alice)
    sqlite_cluster.hsm.close()
    assert_nothing_in_clear(stored_files(sqlite_path), imported)


def test_imported_secrets_still_work(sqlite_cluster: Cluster, sqlite_path: Path) -> None:
    """After a reopen every imported object still holds the very bytes the scans looked for."""
    imported = import_known_secrets(sqlite_cluster.alice)
    sqlite_cluster.hsm.close()
    with reopened(sqlite_path) as (alice, _bob):
        (aes,) = alice.find_objects({Attribute.LABEL: "at-rest-aes"})
        iv = bytes(12)
        expected = AESGCM(imported.secrets["at-rest-aes"]).encrypt(iv, b"probe", b"")
        assert alice.encrypt(aes, Mechanism.AES_GCM, b"probe", GCMParams(iv=iv)) == expected
        (ec_key,) = alice.find_objects({Attribute.LABEL: "at-rest-ec"})
        scalar = int.from_bytes(imported.secrets["at-rest-ec"], "big")
        public = ec.derive_private_key(scalar, ec.SECP256R1()).public_key()
        assert alice.export_public_key(ec_key) == public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        (generic,) = alice.find_objects({Attribute.LABEL: "at-rest-generic"})
        mac = hmac.digest(imported.secrets["at-rest-generic"], b"probe", "sha256")
        assert alice.sign(generic, Mechanism.SHA256_HMAC, b"probe") == mac
        (data,) = alice.find_objects({Attribute.LABEL: "at-rest-data"})
        values = alice.get_attributes(data, [Attribute.VALUE])
        assert values[Attribute.VALUE] == imported.secrets["at-rest-data"]


# --- tampering on disk -----------------------------------------------------------------------


@dataclass
class Keys:
    """Two of alice's token AES keys and a wrapping key, in a closed SQLite store."""

    path: Path
    victim: int
    other: int
    wrapper: int


@pytest.fixture
def keys(sqlite_cluster: Cluster, sqlite_path: Path) -> Keys:
    """Alice's keys, created and then the HSM closed so the test can edit the file."""
    alice = sqlite_cluster.alice

    def aes(label: str, **extra: object) -> int:
        template: dict[int, object] = {
            Attribute.VALUE_LEN: 32,
            Attribute.TOKEN: True,
            Attribute.LABEL: label,
        }
        template.update({Attribute[name]: value for name, value in extra.items()})
        return alice.generate_key(Mechanism.AES_KEY_GEN, template)

    victim = aes("victim", EXTRACTABLE=False)
    other = aes("other", EXTRACTABLE=False)
    wrapper = aes("wrapper", WRAP=True)
    sqlite_cluster.hsm.close()
    return Keys(sqlite_path, victim, other, wrapper)


@contextmanager
def reopened(path: Path) -> Iterator[tuple[Session, Session]]:
    """The HSM in ``path``, unsealed by an admin login, with alice and bob logged in."""
    hsm = HSM.open(SQLiteStore(path), fast_config())
    try:
        admin = hsm.open_session()
        admin.login("admin", ADMIN_PASSWORD)
        assert hsm.info()["sealed"] is False
        alice, bob = hsm.open_session(), hsm.open_session()
        alice.login("alice", ALICE_PASSWORD)
        bob.login("bob", BOB_PASSWORD)
        yield alice, bob
    finally:
        hsm.close()


def edit(path: Path, statements: Callable[[sqlite3.Connection], None]) -> None:
    """Run ``statements`` on the database file with plain sqlite3 and commit."""
    with closing(sqlite3.connect(path)) as db:
        statements(db)
        db.commit()


def rewrite_public(path: Path, handle: int, change: Callable[[dict[int, object]], None]) -> None:
    """Decode an object's clear attribute map, change it, re-encode it canonically, store it."""

    def run(db: sqlite3.Connection) -> None:
        ((public,),) = db.execute("SELECT public FROM objects WHERE handle = ?", (handle,))
        attributes = cbor2.loads(public)
        change(attributes)
        new = cbor2.dumps(attributes, canonical=True)
        assert new != public
        label = attributes[int(Attribute.LABEL)]
        db.execute(
            "UPDATE objects SET public = ?, label = ? WHERE handle = ?", (new, label, handle)
        )

    edit(path, run)


def assert_corrupt(use: Callable[[], object]) -> None:
    """``use()`` fails with STORE_CORRUPT."""
    with pytest.raises(StoreCorrupt) as caught:
        use()
    assert caught.value.code == "STORE_CORRUPT"


def gcm(session: Session, handle: int) -> Callable[[], object]:
    """An AES-GCM encryption with ``handle``, to run later."""
    return lambda: session.encrypt(handle, Mechanism.AES_GCM, b"probe")


def test_untampered_keys_work_after_reopen(keys: Keys) -> None:
    """Without tampering, the reopened keys encrypt and the unextractable one refuses wrapping."""
    with reopened(keys.path) as (alice, _bob):
        for handle in (keys.victim, keys.other):
            ciphertext = alice.encrypt(handle, Mechanism.AES_GCM, b"probe")
            assert alice.decrypt(handle, Mechanism.AES_GCM, ciphertext) == b"probe"
        with pytest.raises(KeyUnextractable):
            alice.wrap_key(Mechanism.AES_KEY_WRAP_KWP, keys.wrapper, keys.victim)


def _make_extractable(attributes: dict[int, object]) -> None:
    assert attributes[int(Attribute.EXTRACTABLE)] is False
    attributes[int(Attribute.EXTRACTABLE)] = True


def _relabel(attributes: dict[int, object]) -> None:
    assert attributes[int(Attribute.LABEL)] == "victim"
    attributes[int(Attribute.LABEL)] = "renamed"


@pytest.mark.parametrize("change", [_make_extractable, _relabel], ids=["extractable", "label"])
def test_flipped_clear_attribute_is_detected(
    keys: Keys, change: Callable[[dict[int, object]], None]
) -> None:
    """A clear attribute changed on disk makes every use of the key fail with STORE_CORRUPT."""
    rewrite_public(keys.path, keys.victim, change)
    with reopened(keys.path) as (alice, _bob):
        assert_corrupt(gcm(alice, keys.victim))
        assert_corrupt(lambda: alice.decrypt(keys.victim, Mechanism.AES_GCM, bytes(40)))
        alice.encrypt(keys.other, Mechanism.AES_GCM, b"probe")  # the rest of the store is fine


def test_extractable_flipped_on_disk_does_not_export(keys: Keys) -> None:
    """A key made EXTRACTABLE on disk cannot be wrapped out: STORE_CORRUPT, no bytes."""
    rewrite_public(keys.path, keys.victim, _make_extractable)
    with reopened(keys.path) as (alice, _bob):
        # The HSM is unsealed, so the seal is checked as soon as the object is loaded.
        assert_corrupt(lambda: alice.get_attributes(keys.victim, [Attribute.EXTRACTABLE]))
        assert_corrupt(
            lambda: alice.wrap_key(Mechanism.AES_KEY_WRAP_KWP, keys.wrapper, keys.victim)
        )


def test_swapped_sealed_blobs_are_detected(keys: Keys) -> None:
    """Two keys' sealed blobs swapped on disk make both keys fail with STORE_CORRUPT."""

    def swap(db: sqlite3.Connection) -> None:
        blobs = dict(
            db.execute(
                "SELECT handle, sealed FROM objects WHERE handle IN (?, ?)",
                (keys.victim, keys.other),
            )
        )
        for handle, donor in ((keys.victim, keys.other), (keys.other, keys.victim)):
            db.execute("UPDATE objects SET sealed = ? WHERE handle = ?", (blobs[donor], handle))

    edit(keys.path, swap)
    with reopened(keys.path) as (alice, _bob):
        assert_corrupt(gcm(alice, keys.victim))
        assert_corrupt(gcm(alice, keys.other))
        alice.encrypt(keys.wrapper, Mechanism.AES_GCM, b"probe")


def test_share_row_added_on_disk_is_detected(keys: Keys) -> None:
    """A share row inserted on disk gives bob no use of the key and breaks it for alice."""

    def share_with_bob(db: sqlite3.Connection) -> None:
        db.execute(
            "INSERT INTO shares (handle, user_id) SELECT ?, user_id FROM users WHERE username = ?",
            (keys.victim, "bob"),
        )
        assert db.total_changes == 1

    edit(keys.path, share_with_bob)
    with reopened(keys.path) as (alice, bob):
        # Either refusal is fine. Today the row makes the key visible to bob and the unseal
        # then fails (the share list is bound into the seal's AAD), so bob sees STORE_CORRUPT.
        with pytest.raises((ObjectHandleInvalid, StoreCorrupt)):
            gcm(bob, keys.victim)()
        assert_corrupt(gcm(alice, keys.victim))
        alice.encrypt(keys.other, Mechanism.AES_GCM, b"probe")


def test_public_key_tampering_is_detected(sqlite_cluster: Cluster, sqlite_path: Path) -> None:
    """A public key's EC_POINT swapped on disk for an attacker's is caught, not trusted."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from strongroom.crypto.asymmetric import ec_params_for_curve, ec_point

    pub, _ = sqlite_cluster.alice.generate_key_pair(
        Mechanism.EC_KEY_PAIR_GEN,
        {Attribute.EC_PARAMS: ec_params_for_curve("secp256r1"), Attribute.TOKEN: True},
        {},
    )
    sqlite_cluster.hsm.close()
    attacker = ec.generate_private_key(ec.SECP256R1())

    def swap_point(attributes: dict[int, object]) -> None:
        attributes[int(Attribute.EC_POINT)] = ec_point(attacker.public_key())

    rewrite_public(sqlite_path, pub, swap_point)
    with reopened(sqlite_path) as (alice, _bob):
        assert_corrupt(lambda: alice.verify(pub, Mechanism.ECDSA_SHA256, b"m", bytes(64)))


def test_missing_seal_is_corruption(keys: Keys) -> None:
    """A token object whose sealed column was nulled on disk is STORE_CORRUPT, not sealed."""

    def null_seal(db: sqlite3.Connection) -> None:
        db.execute("UPDATE objects SET sealed = NULL WHERE handle = ?", (keys.victim,))

    edit(keys.path, null_seal)
    with reopened(keys.path) as (alice, _bob):
        assert_corrupt(gcm(alice, keys.victim))
