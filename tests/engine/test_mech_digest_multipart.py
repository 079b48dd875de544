"""Digests, and the multi-part state machine every streaming mechanism shares (PKCS#11 §5.2)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.constants import Mechanism
from strongroom.engine import GCMParams
from strongroom.engine.mechanisms.digest import DIGESTS
from strongroom.errors import (
    ArgumentsBad,
    DataLenRange,
    MechanismParamInvalid,
    NotLoggedIn,
    OperationActive,
    OperationNotInitialized,
)

from .engine_helpers import ALICE_PASSWORD
from .mech_keys import Keys, make_keys

M = Mechanism
_HASHLIB = {
    "SHA1": "sha1",
    "SHA224": "sha224",
    "SHA256": "sha256",
    "SHA384": "sha384",
    "SHA512": "sha512",
    "SHA3_224": "sha3_224",
    "SHA3_256": "sha3_256",
    "SHA3_384": "sha3_384",
    "SHA3_512": "sha3_512",
}


@pytest.fixture(scope="module")
def keys() -> Iterator[Keys]:
    """One HSM with known keys for the whole module."""
    yield from make_keys()


@pytest.fixture(autouse=True)
def _no_leftover_operations(keys: Keys) -> Iterator[None]:
    """Each test starts with no operation running in alice's shared session."""
    yield
    for kind in ("encrypt", "decrypt", "sign", "verify", "digest"):
        keys.alice.cancel(kind)


@settings(max_examples=20, deadline=None)
@given(data=st.binary(max_size=1000), cut=st.integers(0, 1000))
@pytest.mark.parametrize(("mechanism", "hash_name"), DIGESTS.items())
def test_digests_match_hashlib(
    keys: Keys, mechanism: Mechanism, hash_name: str, data: bytes, cut: int
) -> None:
    """Every digest, single- and multi-part, equals Python's hashlib over the same bytes."""
    expected = hashlib.new(_HASHLIB[hash_name], data).digest()
    s = keys.alice
    assert s.digest(mechanism, data) == expected
    s.digest_init(mechanism)
    s.digest_update(data[:cut])
    s.digest_update(data[cut:])
    assert s.digest_final() == expected


def test_digest_takes_no_parameters(keys: Keys) -> None:
    """Digests refuse parameters."""
    with pytest.raises(MechanismParamInvalid):
        keys.alice.digest(M.SHA256, b"x", b"params")


def test_second_init_of_a_kind_is_operation_active(keys: Keys) -> None:
    """A second encrypt_init while one runs is OPERATION_ACTIVE; other kinds run beside it."""
    s = keys.alice
    key = keys.aes[16].handle
    s.encrypt_init(key, M.AES_GCM, GCMParams(bytes(12)))
    with pytest.raises(OperationActive):
        s.encrypt_init(key, M.AES_GCM, GCMParams(bytes(12)))
    s.digest_init(M.SHA256)  # a different kind is fine
    s.sign_init(keys.generic.handle, M.SHA256_HMAC)
    assert len(s.encrypt_update(b"abc") + s.encrypt_final()) == 3 + 16
    assert len(s.digest_final()) == 32
    assert len(s.sign_final()) == 32


@pytest.mark.parametrize(
    ("update", "final"),
    [
        (lambda s: s.encrypt_update(b"x"), lambda s: s.encrypt_final()),
        (lambda s: s.decrypt_update(b"x"), lambda s: s.decrypt_final()),
        (lambda s: s.sign_update(b"x"), lambda s: s.sign_final()),
        (lambda s: s.verify_update(b"x"), lambda s: s.verify_final(b"sig")),
        (lambda s: s.digest_update(b"x"), lambda s: s.digest_final()),
    ],
    ids=["encrypt", "decrypt", "sign", "verify", "digest"],
)
def test_update_or_final_without_init(keys: Keys, update: object, final: object) -> None:
    """Update or final with no operation begun is OPERATION_NOT_INITIALIZED."""
    with pytest.raises(OperationNotInitialized):
        update(keys.alice)  # type: ignore[operator]
    with pytest.raises(OperationNotInitialized):
        final(keys.alice)  # type: ignore[operator]


def test_final_ends_the_operation(keys: Keys) -> None:
    """After final, the same operation cannot be updated again."""
    s = keys.alice
    s.digest_init(M.SHA256)
    s.digest_final()
    with pytest.raises(OperationNotInitialized):
        s.digest_update(b"more")


def test_an_error_ends_the_operation(keys: Keys) -> None:
    """An update with bad input ends the operation (PKCS#11 §5.2), so init works again."""
    s = keys.alice
    key = keys.aes[16].handle
    s.encrypt_init(key, M.AES_ECB)
    with pytest.raises(ArgumentsBad):
        s.encrypt_update("text")  # type: ignore[arg-type]
    with pytest.raises(OperationNotInitialized):
        s.encrypt_update(bytes(16))
    s.encrypt_init(key, M.AES_ECB)
    s.encrypt_update(bytes(5))
    with pytest.raises(DataLenRange):
        s.encrypt_final()
    s.encrypt_init(key, M.AES_ECB)  # the failed final ended it too
    s.cancel("encrypt")


def test_cancel_ends_an_operation_and_rejects_unknown_kinds(keys: Keys) -> None:
    """cancel() drops a running operation; an unknown kind is ARGUMENTS_BAD."""
    s = keys.alice
    s.sign_init(keys.generic.handle, M.SHA256_HMAC)
    s.cancel("sign")
    with pytest.raises(OperationNotInitialized):
        s.sign_final()
    s.cancel("sign")  # nothing running: no error
    with pytest.raises(ArgumentsBad):
        s.cancel("launch")


def test_logout_ends_running_operations(keys: Keys) -> None:
    """Logging out ends every operation begun under the login."""
    s = keys.cluster.session("alice", ALICE_PASSWORD)
    s.digest_init(M.SHA256)
    s.logout()
    s.login("alice", ALICE_PASSWORD)
    with pytest.raises(OperationNotInitialized):
        s.digest_update(b"x")
    s.close()


def test_multi_part_needs_a_login(keys: Keys) -> None:
    """Every multi-part call is checked against the permission table like single-part ones."""
    s = keys.cluster.hsm.open_session()
    with pytest.raises(NotLoggedIn):
        s.digest_init(M.SHA256)
    with pytest.raises(NotLoggedIn):
        s.encrypt_update(b"x")
    s.close()


def test_operation_state_is_per_session(keys: Keys) -> None:
    """One session's running operation is invisible to another session of the same user."""
    other = keys.cluster.session("alice", ALICE_PASSWORD)
    keys.alice.digest_init(M.SHA256)
    with pytest.raises(OperationNotInitialized):
        other.digest_final()
    keys.alice.digest_final()
    other.close()
