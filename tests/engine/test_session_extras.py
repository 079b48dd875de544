"""Engine additions the node server relies on: sibling sessions, session backups, audit limits."""

from __future__ import annotations

import pytest

from strongroom.constants import Attribute, Command, Mechanism, Role
from strongroom.engine import HSM, GCMParams
from strongroom.errors import (
    NotLoggedIn,
    PermissionDenied,
    SessionHandleInvalid,
)
from strongroom.store.memory import MemoryStore
from strongroom.testing import fake_manufacturer, fake_service, fast_config

from .engine_helpers import ALICE_PASSWORD, activate, build


def test_sibling_shares_the_login_but_not_the_session() -> None:
    """A sibling is logged in as the same user, has its own handle, and outlives a logout."""
    cluster = build(MemoryStore())
    sibling = cluster.alice.open_sibling()
    assert sibling.handle != cluster.alice.handle
    assert (sibling.username, sibling.role) == ("alice", Role.CRYPTO_USER)
    key = sibling.generate_key(Mechanism.AES_KEY_GEN, {Attribute.VALUE_LEN: 32})
    sealed = sibling.encrypt(key, Mechanism.AES_GCM, b"x", GCMParams())
    cluster.alice.logout()
    assert sibling.decrypt(key, Mechanism.AES_GCM, sealed, GCMParams()) == b"x"
    sibling.close()
    with pytest.raises(SessionHandleInvalid):
        sibling.open_sibling()
    cluster.hsm.close()


def test_sibling_of_a_logged_out_session_is_logged_out() -> None:
    """No login is made up: a sibling of nobody is nobody."""
    cluster = build(MemoryStore())
    nobody = cluster.hsm.open_session().open_sibling()
    assert nobody.role is None
    with pytest.raises(NotLoggedIn):
        nobody.generate_random(8)
    cluster.hsm.close()


def test_authorize_checks_the_table_without_running() -> None:
    """``authorize`` raises exactly as the command would."""
    cluster = build(MemoryStore())
    cluster.admin.authorize(Command.RESTORE)
    cluster.appliance.authorize(Command.BACKUP)
    with pytest.raises(PermissionDenied):
        cluster.alice.authorize(Command.RESTORE)
    cluster.hsm.close()


def test_backup_and_restore_through_sessions() -> None:
    """An appliance user backs up, an admin of another HSM of the family restores."""
    source = HSM.open(MemoryStore(), fast_config(manufacturer=fake_manufacturer()))
    source.configure_service(fake_service())
    activate(source)
    appliance = source.open_session()
    appliance.login("app", "appliance-pass-1")
    alice = source.open_session()
    alice.login("alice", ALICE_PASSWORD)
    alice.generate_key(Mechanism.AES_KEY_GEN, {Attribute.VALUE_LEN: 32, Attribute.TOKEN: True})
    with appliance.backup() as stream:
        blob = b"".join(stream.chunks())
    with pytest.raises(PermissionDenied):
        alice.backup()
    target = HSM.open(MemoryStore(), fast_config(manufacturer=fake_manufacturer()))
    target.configure_service(fake_service())
    admin = activate(target)
    result = admin.restore([blob], force=True)
    assert result.objects == 1
    assert admin.role is None  # every session is logged out after a restore
    source.close()
    target.close()


def test_read_audit_limit() -> None:
    """``limit`` caps the records returned; bad limits are refused."""
    cluster = build(MemoryStore())
    everything = cluster.admin.read_audit()
    assert len(everything) > 3
    assert cluster.admin.read_audit(2, limit=2) == everything[1:3]
    with pytest.raises(ValueError, match="limit"):
        cluster.admin.read_audit(1, limit=0)
    cluster.hsm.close()


def test_mtls_policy_defaults_off_and_is_admin_only() -> None:
    """The policy exists, starts false, and only admins set it."""
    cluster = build(MemoryStore())
    assert cluster.admin.get_policy()["mtls_enforced"] is False
    cluster.admin.set_policy("mtls_enforced", True)
    assert cluster.hsm.policy()["mtls_enforced"] is True
    with pytest.raises(PermissionDenied):
        cluster.alice.set_policy("mtls_enforced", False)
    cluster.hsm.close()


def test_siblings_share_session_objects_until_the_first_session_closes() -> None:
    """PKCS#11: an application's sessions see its session objects; the creator's close ends them."""
    cluster = build(MemoryStore())
    root = cluster.alice
    sibling = root.open_sibling()
    made_by_sibling = sibling.generate_key(Mechanism.AES_KEY_GEN, {Attribute.VALUE_LEN: 16})
    made_by_root = root.generate_key(Mechanism.AES_KEY_GEN, {Attribute.VALUE_LEN: 16})
    assert set(root.find_objects({})) >= {made_by_sibling, made_by_root}
    assert set(sibling.find_objects({})) >= {made_by_sibling, made_by_root}
    stranger = cluster.session("alice", ALICE_PASSWORD)
    assert made_by_root not in stranger.find_objects({})
    sibling.close()
    assert made_by_sibling in root.find_objects({})
    other = root.open_sibling()
    root.close()
    assert made_by_sibling not in other.find_objects({})
    late = other.generate_key(Mechanism.AES_KEY_GEN, {Attribute.VALUE_LEN: 16})
    third = other.open_sibling()
    assert late in third.find_objects({})
    other.close()  # the orphan became its family's first session: its objects go with it
    assert late not in third.find_objects({})
    cluster.hsm.close()
