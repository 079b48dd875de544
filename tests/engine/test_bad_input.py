"""Bad input: distinct, stable errors, and nothing on disk changes when an operation fails."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from strongroom.constants import Attribute, KeyType, Mechanism, ObjectClass
from strongroom.engine import GCMParams, PSSParams, Session
from strongroom.errors import (
    ArgumentsBad,
    DataLenRange,
    MechanismParamInvalid,
    StrongroomError,
    all_error_classes,
)

from .engine_helpers import Cluster

A = Attribute


def state(cluster: Cluster) -> tuple[str, int, int]:
    """What is on disk: object and user digest, audit head, object count."""
    core = cluster.hsm._core
    return cluster.admin.sync_digest(), core.audit.head_seq, core.store.count_objects()


FAILING: list[tuple[str, Callable[[Session, int], object], str]] = [
    (
        "bad-template",
        lambda s, k: s.generate_key(Mechanism.AES_KEY_GEN, {A.VALUE_LEN: 33, A.TOKEN: True}),
        "KEY_SIZE_RANGE",
    ),
    (
        "unknown-attr",
        lambda s, k: s.generate_key(Mechanism.AES_KEY_GEN, {0x7777: 1}),
        "ATTRIBUTE_TYPE_INVALID",
    ),
    ("bad-handle", lambda s, k: s.destroy_object(999_999), "OBJECT_HANDLE_INVALID"),
    ("read-only", lambda s, k: s.set_attributes(k, {A.LOCAL: False}), "ATTRIBUTE_READ_ONLY"),
    ("wrong-role", lambda s, k: s.create_user("eve", "eve-password", "admin"), "PERMISSION_DENIED"),  # type: ignore[arg-type]
    ("bad-mech", lambda s, k: s.generate_key(0x12345, {A.VALUE_LEN: 32}), "MECHANISM_INVALID"),
    (
        "bad-unwrap",
        lambda s, k: s.unwrap_key(
            Mechanism.AES_KEY_WRAP_KWP,
            k,
            bytes(40),
            {A.CLASS: ObjectClass.SECRET_KEY, A.KEY_TYPE: KeyType.AES, A.TOKEN: True},
        ),
        "ENCRYPTED_DATA_INVALID",
    ),
    (
        "bad-import",
        lambda s, k: s.create_object(
            {
                A.CLASS: ObjectClass.PRIVATE_KEY,
                A.KEY_TYPE: KeyType.EC,
                A.TOKEN: True,
                A.EC_PARAMS: b"\x06\x01\x00",
                A.VALUE: b"\x01",
            }
        ),
        "TEMPLATE_INCONSISTENT",
    ),
    ("share-nobody", lambda s, k: s.share_key(k, "nobody"), "USER_NOT_FOUND"),
]


@pytest.mark.parametrize(("name", "action", "code"), FAILING, ids=[f[0] for f in FAILING])
def test_failed_operations_change_nothing(
    sqlite_cluster: Cluster, name: str, action: Callable[[Session, int], object], code: str
) -> None:
    """Each failing operation raises its own stable code and leaves the store as it was."""
    key = sqlite_cluster.alice.generate_key(Mechanism.AES_KEY_GEN, {A.VALUE_LEN: 32, A.TOKEN: True})
    before = state(sqlite_cluster)
    with pytest.raises(StrongroomError) as info:
        action(sqlite_cluster.alice, key)
    assert info.value.code == code, info.value
    assert state(sqlite_cluster) == before


def test_distinct_codes_for_distinct_problems() -> None:
    """Every error class has its own stable code."""
    codes = [cls.code for cls in all_error_classes()]
    assert len(codes) == len(set(codes))
    assert all(code.isupper() for code in codes)


@pytest.mark.parametrize(
    ("call", "error", "fragment"),
    [
        (lambda s, k: s.encrypt(k, Mechanism.AES_GCM, "text"), ArgumentsBad, "bytes"),
        (
            lambda s, k: s.encrypt(k, Mechanism.AES_GCM, b"x", GCMParams(iv=b"short")),
            MechanismParamInvalid,
            "12 bytes",
        ),
        (
            lambda s, k: s.encrypt(k, Mechanism.AES_GCM, b"x", PSSParams()),
            MechanismParamInvalid,
            "GCMParams",
        ),
        (lambda s, k: s.generate_random(-1), ArgumentsBad, "random"),
        (lambda s, k: s.generate_random(2**30), ArgumentsBad, "random"),
        (
            lambda s, k: s.encrypt(k, Mechanism.AES_GCM, bytes(65 * 1024 * 1024)),
            DataLenRange,
            "64 MiB",
        ),
    ],
)
def test_wrong_types_and_sizes_name_the_problem(
    cluster: Cluster, call: Callable[[Session, int], object], error: type[Exception], fragment: str
) -> None:
    """Wrong types and impossible sizes get a clear error naming the problem."""
    key = cluster.alice.generate_key(Mechanism.AES_KEY_GEN, {A.VALUE_LEN: 32})
    with pytest.raises(error, match=fragment):
        call(cluster.alice, key)


def test_failure_inside_a_write_leaves_nothing_half_written(
    sqlite_cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the audit append fails after the object was staged, nothing lands anywhere."""
    before = state(sqlite_cluster)
    core = sqlite_cluster.hsm._core

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(core.audit, "record", fail)
    with pytest.raises(OSError, match="disk full"):
        sqlite_cluster.alice.generate_key(
            Mechanism.AES_KEY_GEN, {A.VALUE_LEN: 32, A.TOKEN: True, A.LABEL: "ghost"}
        )
    monkeypatch.undo()
    assert state(sqlite_cluster) == before
    assert sqlite_cluster.alice.find_objects({A.LABEL: "ghost"}) == []
