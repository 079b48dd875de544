"""Users: activation, login, lockout, user management and passwords."""

from __future__ import annotations

from pathlib import Path

import pytest

from strongroom.constants import Attribute, Mechanism, Role
from strongroom.engine import HSM, HSMConfig, user_ops
from strongroom.errors import (
    AlreadyActivated,
    AlreadyLoggedIn,
    ArgumentsBad,
    AuthenticationFailed,
    PermissionDenied,
    UserExists,
    UserLimitReached,
    UserLocked,
    UserNotFound,
    UserOwnsKeys,
)
from strongroom.store.sqlite import SQLiteStore
from strongroom.testing import MemoryStore, fast_config

from .engine_helpers import ADMIN_PASSWORD, ALICE_PASSWORD, BOB_PASSWORD, Cluster, activate, build


def test_new_hsm_has_only_the_unactivated_admin() -> None:
    """A new HSM holds one user, the unactivated admin, who may only activate."""
    hsm = HSM.open(MemoryStore(), fast_config())
    s = hsm.open_session()
    assert s.login("admin", "password") is Role.UNACTIVATED_ADMIN
    with pytest.raises(PermissionDenied):
        s.list_users()
    with pytest.raises(PermissionDenied):
        s.create_user("alice", ALICE_PASSWORD, Role.CRYPTO_USER)
    s.activate(ADMIN_PASSWORD)
    assert s.role is Role.ADMIN
    assert [(u.username, u.role) for u in s.list_users()] == [("admin", Role.ADMIN)]
    assert hsm.info()["activated"] is True
    assert hsm.info()["sealed"] is False


def test_activation_happens_once() -> None:
    """A second activation is refused."""
    hsm = HSM.open(MemoryStore(), fast_config())
    s = hsm.open_session()
    s.login("admin", "password")
    s.activate(ADMIN_PASSWORD)
    other = hsm.open_session()
    other.login("admin", ADMIN_PASSWORD)
    with pytest.raises(PermissionDenied):
        other.activate("yet-another-pass")


def test_activation_is_refused_if_already_activated_by_state() -> None:
    """The engine itself refuses a repeat activation, not only the role table."""
    hsm = HSM.open(MemoryStore(), fast_config())
    first, second = hsm.open_session(), hsm.open_session()
    first.login("admin", "password")
    second.login("admin", "password")
    first.activate(ADMIN_PASSWORD)
    with pytest.raises(AlreadyActivated):
        second.activate("second-password")


def test_wrong_password_and_unknown_user_look_the_same(cluster: Cluster) -> None:
    """A wrong password and an unknown username raise the same error code."""
    s = cluster.hsm.open_session()
    with pytest.raises(AuthenticationFailed) as wrong:
        s.login("alice", "not-the-password")
    with pytest.raises(AuthenticationFailed) as unknown:
        s.login("nobody", "not-the-password")
    assert wrong.value.code == unknown.value.code == "PIN_INCORRECT"


def test_login_twice_is_refused(cluster: Cluster) -> None:
    """A logged-in session cannot log in again (log out first)."""
    with pytest.raises(AlreadyLoggedIn):
        cluster.alice.login("alice", ALICE_PASSWORD)


def test_lockout_after_five_failures_then_admin_reset(cluster: Cluster) -> None:
    """Five consecutive failures lock the user, even against the right password, until reset."""
    s = cluster.hsm.open_session()
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            s.login("bob", "wrong-password")
    with pytest.raises(UserLocked):
        s.login("bob", BOB_PASSWORD)
    locked = {u.username: u.locked for u in cluster.admin.list_users()}
    assert locked["bob"] is True
    cluster.admin.change_password("bob-reset-pass-1", "bob")
    assert s.login("bob", "bob-reset-pass-1") is Role.CRYPTO_USER


def test_success_resets_the_failure_counter(cluster: Cluster) -> None:
    """Only consecutive failures count: a good login in between starts over."""
    s = cluster.hsm.open_session()
    for _ in range(4):
        with pytest.raises(AuthenticationFailed):
            s.login("bob", "wrong-password")
    s.login("bob", BOB_PASSWORD)
    s.logout()
    for _ in range(4):
        with pytest.raises(AuthenticationFailed):
            s.login("bob", "wrong-password")
    assert s.login("bob", BOB_PASSWORD) is Role.CRYPTO_USER


def test_lockout_survives_restart(sqlite_path: Path) -> None:
    """The failure counter is on disk: a locked user stays locked after a restart."""
    cluster = build(SQLiteStore(sqlite_path))
    s = cluster.hsm.open_session()
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            s.login("bob", "wrong-password")
    cluster.hsm.close()
    hsm = HSM.open(SQLiteStore(sqlite_path), fast_config())
    with pytest.raises(UserLocked):
        hsm.open_session().login("bob", BOB_PASSWORD)
    hsm.close()


def test_failure_is_counted_before_the_password_check(
    sqlite_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash during the password check still leaves the attempt counted on disk."""
    cluster = build(SQLiteStore(sqlite_path))

    def crash(verifier: bytes, password: str) -> bytes | None:
        raise SystemExit("simulated crash during the check")

    monkeypatch.setattr(user_ops, "check_password", crash)
    with pytest.raises(SystemExit):
        cluster.hsm.open_session().login("bob", BOB_PASSWORD)
    monkeypatch.undo()
    cluster.hsm.close()
    store = SQLiteStore(sqlite_path)
    user = store.get_user_by_name("bob")
    assert user is not None
    assert user.failed_logins == 1
    store.close()


def test_usernames_are_case_insensitive(cluster: Cluster) -> None:
    """ALICE and alice are the same user; names are stored lower-case."""
    s = cluster.hsm.open_session()
    assert s.login("ALICE", ALICE_PASSWORD) is Role.CRYPTO_USER
    assert s.username == "alice"
    with pytest.raises(UserExists):
        cluster.admin.create_user("Bob", "another-pass-1", Role.CRYPTO_USER)


@pytest.mark.parametrize(
    "name", ["", "a" * 32, "has-dash", "has space", "ünïcode", "dot.name", None, 7]
)
def test_bad_usernames(cluster: Cluster, name: object) -> None:
    """Usernames are 1–31 characters of [a-z0-9_]."""
    with pytest.raises(ArgumentsBad):
        cluster.admin.create_user(name, "good-password", Role.CRYPTO_USER)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["a", "a" * 31, "user_1", "UPPER_case"])
def test_good_usernames(cluster: Cluster, name: str) -> None:
    """Names at the limits are accepted."""
    cluster.admin.create_user(name, "good-password", Role.CRYPTO_USER)


@pytest.mark.parametrize("password", ["short", "x" * 7, "x" * 129, None, b"bytes-password"])
def test_bad_passwords(cluster: Cluster, password: object) -> None:
    """Passwords are 8–128 characters."""
    with pytest.raises(ArgumentsBad):
        cluster.admin.create_user("carol", password, Role.CRYPTO_USER)  # type: ignore[arg-type]


@pytest.mark.parametrize("role", [Role.UNACTIVATED_ADMIN, "root", "crypto_user"])
def test_bad_roles(cluster: Cluster, role: object) -> None:
    """Only admins, crypto users and appliance users can be created."""
    with pytest.raises(ArgumentsBad):
        cluster.admin.create_user("carol", "carol-password", role)  # type: ignore[arg-type]


def test_at_least_1024_users() -> None:
    """An HSM holds at least 1,024 users, and refuses past its configured maximum."""
    hsm = HSM.open(MemoryStore(), fast_config(password_iterations=1))
    admin = activate(hsm)
    for i in range(1024 - 4):
        admin.create_user(f"user{i}", "password-123", Role.CRYPTO_USER)
    assert len(admin.list_users()) == 1024
    hsm.close()
    small = HSM.open(MemoryStore(), fast_config(max_users=4))
    admin = activate(small)
    with pytest.raises(UserLimitReached):
        admin.create_user("one_too_many", "password-123", Role.CRYPTO_USER)


def test_change_own_password(cluster: Cluster) -> None:
    """Any active user changes its own password; the old one stops working."""
    cluster.alice.change_password("alice-new-pass-1")
    s = cluster.hsm.open_session()
    with pytest.raises(AuthenticationFailed):
        s.login("alice", ALICE_PASSWORD)
    assert s.login("alice", "alice-new-pass-1") is Role.CRYPTO_USER


def test_crypto_user_cannot_change_others_password(cluster: Cluster) -> None:
    """Changing someone else's password is an admin command."""
    with pytest.raises(PermissionDenied):
        cluster.alice.change_password("bob-new-pass-12", "bob")


def test_admin_password_change_keeps_the_storage_key(sqlite_path: Path) -> None:
    """After an admin changes its password, the new password still unseals the HSM."""
    cluster = build(SQLiteStore(sqlite_path))
    key = cluster.alice.generate_key(
        Mechanism.AES_KEY_GEN, {Attribute.VALUE_LEN: 32, Attribute.TOKEN: True}
    )
    cluster.admin.change_password("admin-new-pass-1")
    cluster.hsm.close()
    hsm = HSM.open(SQLiteStore(sqlite_path), fast_config())
    assert hsm.info()["sealed"] is True
    hsm.open_session().login("admin", "admin-new-pass-1")
    assert hsm.info()["sealed"] is False
    alice = hsm.open_session()
    alice.login("alice", ALICE_PASSWORD)
    assert alice.get_attributes(key, [Attribute.VALUE_LEN])[Attribute.VALUE_LEN] == 32
    hsm.close()


def test_second_admin_can_unseal(sqlite_path: Path) -> None:
    """Every admin holds its own wrapped copy of the storage key."""
    cluster = build(SQLiteStore(sqlite_path))
    cluster.admin.create_user("admin2", "admin2-password", Role.ADMIN)
    cluster.hsm.close()
    hsm = HSM.open(SQLiteStore(sqlite_path), fast_config())
    hsm.open_session().login("admin2", "admin2-password")
    assert hsm.info()["sealed"] is False
    hsm.close()


def test_delete_user(cluster: Cluster) -> None:
    """Admins delete users who own no keys; the deleted user's sessions are logged out."""
    cluster.admin.delete_user("bob")
    assert "bob" not in {u.username for u in cluster.admin.list_users()}
    assert cluster.bob.role is None
    with pytest.raises(UserNotFound):
        cluster.admin.delete_user("bob")
    with pytest.raises(ArgumentsBad):
        cluster.admin.delete_user("admin")


def test_delete_user_who_owns_keys_is_refused(cluster: Cluster) -> None:
    """A user who owns token keys cannot be deleted."""
    cluster.alice.generate_key(
        Mechanism.AES_KEY_GEN, {Attribute.VALUE_LEN: 16, Attribute.TOKEN: True}
    )
    with pytest.raises(UserOwnsKeys):
        cluster.admin.delete_user("alice")


def test_delete_user_withdraws_shares(cluster: Cluster) -> None:
    """Deleting a user removes it from every share list, and the keys stay usable."""
    key = cluster.alice.generate_key(
        Mechanism.AES_KEY_GEN, {Attribute.VALUE_LEN: 16, Attribute.TOKEN: True}
    )
    cluster.alice.share_key(key, "bob")
    cluster.admin.delete_user("bob")
    assert (
        cluster.alice.decrypt(
            key, Mechanism.AES_GCM, cluster.alice.encrypt(key, Mechanism.AES_GCM, b"still here")
        )
        == b"still here"
    )


def test_production_config_refuses_weak_kdf() -> None:
    """Fewer than 600,000 iterations needs an explicit test-only opt-in."""
    with pytest.raises(ArgumentsBad):
        HSMConfig(password_iterations=1000)
