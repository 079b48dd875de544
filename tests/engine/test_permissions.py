"""The role × command permission table, checked by running every command in every role."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from strongroom.constants import Attribute, Command, KeyType, Mechanism, ObjectClass, Role
from strongroom.crypto.asymmetric import ec_params_for_curve
from strongroom.engine import HSM, GCMParams, Session
from strongroom.errors import AlreadyLoggedIn, NotLoggedIn, PermissionDenied, StrongroomError
from strongroom.model.access import PERMISSIONS
from strongroom.testing import MemoryStore, fast_config

from .engine_helpers import ALICE_PASSWORD, APP_PASSWORD, build


@dataclass
class Ctx:
    """Handles the invokers act on (all owned by alice)."""

    key: int
    pub: int


P256 = ec_params_for_curve("secp256r1")
INVOKE: dict[Command, Callable[[Session, Ctx], object]] = {
    Command.GET_INFO: lambda s, c: s.info(),
    Command.LOGIN: lambda s, c: s.login("alice", ALICE_PASSWORD),
    Command.LOGOUT: lambda s, c: s.logout(),
    Command.ACTIVATE: lambda s, c: s.activate("brand-new-admin-pw"),
    Command.CHANGE_OWN_PASSWORD: lambda s, c: s.change_password("a-new-password-1"),
    Command.CHANGE_USER_PASSWORD: lambda s, c: s.change_password("bobs-new-pass-1", "bob"),
    Command.CREATE_USER: lambda s, c: s.create_user("carol", "carol-password", Role.CRYPTO_USER),
    Command.DELETE_USER: lambda s, c: s.delete_user("bob"),
    Command.LIST_USERS: lambda s, c: s.list_users(),
    Command.SET_POLICY: lambda s, c: s.set_policy("clear_key_import", True),
    Command.GET_POLICY: lambda s, c: s.get_policy(),
    Command.READ_AUDIT: lambda s, c: s.read_audit(),
    Command.RUN_SELF_TEST: lambda s, c: s.run_self_test(),
    Command.SYNC_DIGEST: lambda s, c: s.sync_digest(),
    Command.GENERATE_KEY: lambda s, c: s.generate_key(
        Mechanism.AES_KEY_GEN, {Attribute.VALUE_LEN: 32}
    ),
    Command.GENERATE_KEY_PAIR: lambda s, c: s.generate_key_pair(
        Mechanism.EC_KEY_PAIR_GEN, {Attribute.EC_PARAMS: P256}, {}
    ),
    Command.CREATE_OBJECT: lambda s, c: s.create_object(
        {Attribute.CLASS: ObjectClass.DATA, Attribute.VALUE: b"x"}
    ),
    Command.FIND_OBJECTS: lambda s, c: s.find_objects({}),
    Command.GET_ATTRIBUTES: lambda s, c: s.get_attributes(c.key, [Attribute.LABEL]),
    Command.SET_ATTRIBUTES: lambda s, c: s.set_attributes(c.key, {Attribute.LABEL: "x"}),
    Command.SET_TRUSTED: lambda s, c: s.set_trusted(c.key, True),
    Command.DESTROY_OBJECT: lambda s, c: s.destroy_object(c.key),
    Command.COPY_OBJECT: lambda s, c: s.copy_object(c.key, {Attribute.LABEL: "copy"}),
    Command.SHARE_KEY: lambda s, c: s.share_key(c.key, "bob"),
    Command.UNSHARE_KEY: lambda s, c: s.unshare_key(c.key, "bob"),
    Command.WRAP_KEY: lambda s, c: s.wrap_key(Mechanism.AES_KEY_WRAP_KWP, c.key, c.key),
    Command.UNWRAP_KEY: lambda s, c: s.unwrap_key(
        Mechanism.AES_KEY_WRAP_KWP,
        c.key,
        bytes(40),
        {Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.KEY_TYPE: KeyType.AES},
    ),
    Command.EXPORT_PUBLIC_KEY: lambda s, c: s.export_public_key(c.pub),
    Command.ENCRYPT: lambda s, c: s.encrypt(c.key, Mechanism.AES_GCM, b"x", GCMParams()),
    Command.DECRYPT: lambda s, c: s.decrypt(c.key, Mechanism.AES_GCM, bytes(40), GCMParams()),
    Command.SIGN: lambda s, c: s.sign(c.key, Mechanism.SHA256_HMAC, b"x"),
    Command.BACKUP: lambda s, c: s.backup().close(),
    Command.RESTORE: lambda s, c: s.restore([b"not a backup"]),
    Command.VERIFY: lambda s, c: s.verify(c.key, Mechanism.SHA256_HMAC, b"x", bytes(32)),
    Command.GENERATE_RANDOM: lambda s, c: s.generate_random(16),
    Command.DIGEST: lambda s, c: s.digest(Mechanism.SHA256, b"x"),
    Command.DERIVE_KEY: lambda s, c: s.derive_key(
        Mechanism.HKDF_DERIVE,
        c.key,
        {Attribute.KEY_TYPE: KeyType.GENERIC_SECRET, Attribute.VALUE_LEN: 32},
    ),
}

ROLES: list[Role | None] = [
    None,
    Role.UNACTIVATED_ADMIN,
    Role.ADMIN,
    Role.CRYPTO_USER,
    Role.APPLIANCE,
]


@pytest.fixture
def session_for(
    request: pytest.FixtureRequest,
) -> Iterator[Callable[[Role | None], tuple[Session, Ctx]]]:
    """Build a session in a given role, with alice's key and public key to act on."""
    hsms: list[HSM] = []

    def make(role: Role | None) -> tuple[Session, Ctx]:
        cluster = build(MemoryStore())
        hsms.append(cluster.hsm)
        key = cluster.alice.generate_key(
            Mechanism.AES_KEY_GEN, {Attribute.VALUE_LEN: 32, Attribute.TOKEN: True}
        )
        pub, _ = cluster.alice.generate_key_pair(
            Mechanism.EC_KEY_PAIR_GEN, {Attribute.EC_PARAMS: P256}, {}
        )
        ctx = Ctx(key, pub)
        if role is Role.UNACTIVATED_ADMIN:
            fresh = HSM.open(MemoryStore(), fast_config())
            hsms.append(fresh)
            session = fresh.open_session()
            session.login("admin", "password")
            return session, ctx
        session = {
            None: cluster.hsm.open_session(),
            Role.ADMIN: cluster.admin,
            Role.CRYPTO_USER: cluster.alice,
            Role.APPLIANCE: cluster.appliance,
        }[role]
        return session, ctx

    yield make
    for hsm in hsms:
        hsm.close()


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value if r else "logged-out")
@pytest.mark.parametrize("command", list(Command), ids=lambda c: c.value)
def test_permission_table(
    command: Command,
    role: Role | None,
    session_for: Callable[[Role | None], tuple[Session, Ctx]],
) -> None:
    """A command runs past the permission check exactly when the table allows the role."""
    session, ctx = session_for(role)
    allowed = role in PERMISSIONS[command]
    if allowed:
        try:
            INVOKE[command](session, ctx)
        except (NotLoggedIn, PermissionDenied) as exc:  # pragma: no cover - a failure
            pytest.fail(f"{command.value} was refused for {role}: {exc}")
        except StrongroomError:
            pass  # allowed, then refused for another reason (ownership, bad handle…)
    else:
        expected: type[Exception] = NotLoggedIn if role is None else PermissionDenied
        if command is Command.LOGIN:
            expected = AlreadyLoggedIn
        with pytest.raises(expected):
            INVOKE[command](session, ctx)


def test_table_covers_every_command() -> None:
    """Every command has a row in the permission table and an invoker here."""
    assert set(PERMISSIONS) == set(Command)
    assert set(INVOKE) == set(Command)


def test_every_session_command_is_declared() -> None:
    """Every public Session method that acts on the HSM is bound to a Command."""
    plumbing = {"close", "change_password", "cancel", "open_sibling", "authorize"}
    for name, member in inspect.getmembers(Session, inspect.isfunction):
        if name.startswith("_") and name not in ("_change_own_password", "_change_user_password"):
            continue
        if name in plumbing:
            continue
        assert isinstance(getattr(member, "command", None), Command), name


def test_key_use_by_admin_is_refused_even_on_visible_keys() -> None:
    """Admins can see a key's attributes but never use it."""
    cluster = build(MemoryStore())
    key = cluster.alice.generate_key(Mechanism.AES_KEY_GEN, {Attribute.VALUE_LEN: 32})
    assert key  # session object of alice's session: not visible to the admin
    token_key = cluster.alice.generate_key(
        Mechanism.AES_KEY_GEN, {Attribute.VALUE_LEN: 32, Attribute.TOKEN: True}
    )
    assert cluster.admin.get_attributes(token_key, [Attribute.VALUE_LEN]) == {
        Attribute.VALUE_LEN: 32
    }
    with pytest.raises(PermissionDenied):
        cluster.admin.encrypt(token_key, Mechanism.AES_GCM, b"x", GCMParams())
    cluster.hsm.close()


def test_appliance_user_cannot_manage_users_or_keys() -> None:
    """The appliance role syncs only: no user management, no keys."""
    cluster = build(MemoryStore())
    app = cluster.session("app", APP_PASSWORD)
    assert len(app.sync_digest()) == 64
    with pytest.raises(PermissionDenied):
        app.create_user("mallory", "mallory-pass-1", Role.ADMIN)
    with pytest.raises(PermissionDenied):
        app.generate_key(Mechanism.AES_KEY_GEN, {Attribute.VALUE_LEN: 32})
    cluster.hsm.close()
