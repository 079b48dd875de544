"""Helpers for engine tests: activated HSMs with an admin, crypto users and an appliance user."""

from __future__ import annotations

from dataclasses import dataclass

from strongroom.constants import Role
from strongroom.engine import HSM, Session
from strongroom.store.api import RawStore
from strongroom.testing import fast_config

ADMIN_PASSWORD = "admin-password-1"
ALICE_PASSWORD = "alice-password-1"
BOB_PASSWORD = "bob-password-12"
APP_PASSWORD = "appliance-pass-1"


@dataclass
class Cluster:
    """One activated HSM and logged-in sessions for each role."""

    hsm: HSM
    admin: Session
    alice: Session
    bob: Session
    appliance: Session

    def session(self, username: str, password: str) -> Session:
        """A new session logged in as ``username``."""
        s = self.hsm.open_session()
        s.login(username, password)
        return s


def activate(hsm: HSM) -> Session:
    """Activate ``hsm`` and create alice, bob (crypto users) and app (appliance user)."""
    admin = hsm.open_session()
    admin.login("admin", "password")
    admin.activate(ADMIN_PASSWORD)
    admin.create_user("alice", ALICE_PASSWORD, Role.CRYPTO_USER)
    admin.create_user("bob", BOB_PASSWORD, Role.CRYPTO_USER)
    admin.create_user("app", APP_PASSWORD, Role.APPLIANCE)
    return admin


def build(store: RawStore, **config: object) -> Cluster:
    """An activated HSM on ``store`` with a session per role."""
    hsm = HSM.open(store, fast_config(**config))
    admin = activate(hsm)
    cluster = Cluster(hsm, admin, hsm.open_session(), hsm.open_session(), hsm.open_session())
    cluster.alice.login("alice", ALICE_PASSWORD)
    cluster.bob.login("bob", BOB_PASSWORD)
    cluster.appliance.login("app", APP_PASSWORD)
    return cluster
