"""Self-tests: known answers at start-up, pairwise checks, and the latched error state."""

from __future__ import annotations

import pytest

from strongroom.constants import Attribute, Mechanism
from strongroom.crypto import asymmetric
from strongroom.crypto.asymmetric import ec_params_for_curve
from strongroom.crypto.selftest import FAMILIES
from strongroom.engine import HSM
from strongroom.errors import ErrorState, SelfTestFailed
from strongroom.testing import MemoryStore, fast_config

from .engine_helpers import Cluster, build

A = Attribute


def test_startup_self_tests_pass_and_are_audited(cluster: Cluster) -> None:
    """A healthy HSM passes every family at start-up and records it."""
    assert cluster.hsm.info()["error_state"] is None
    self_tests = [r for r in cluster.admin.read_audit() if r["event"] == "self-test"]
    assert self_tests[0]["details"] == {"passed": True, "failed": []}
    assert all(cluster.admin.run_self_test().values())


@pytest.mark.parametrize("family", FAMILIES)
def test_broken_primitive_latches_error_state(family: str) -> None:
    """Breaking any one primitive fails start-up self-tests and refuses all crypto."""
    store = MemoryStore()
    cluster = build(store, self_test_broken=frozenset({family}))
    info = cluster.hsm.info()
    assert family in str(info["error_state"])
    with pytest.raises(ErrorState):
        cluster.alice.generate_key(Mechanism.AES_KEY_GEN, {A.VALUE_LEN: 32})
    with pytest.raises(ErrorState):
        cluster.alice.generate_random(8)
    assert cluster.hsm.open_session().info()["hsm_id"] == info["hsm_id"]


def test_error_state_persists_until_restart_with_working_primitives() -> None:
    """The error state is latched in memory: a later self-test pass does not clear it."""
    cluster = build(MemoryStore(), self_test_broken=frozenset({"aes-gcm"}))
    cluster.hsm._core.config = fast_config()  # the primitive "recovers"
    cluster.admin.run_self_test()
    with pytest.raises(ErrorState):
        cluster.alice.generate_random(8)


def test_pairwise_failure_latches(cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    """A generated key pair that fails its pairwise test is refused and latches the error state."""

    def broken(key: object) -> None:
        raise SelfTestFailed("pairwise consistency test failed")

    monkeypatch.setattr(asymmetric, "pairwise_consistency_check", broken)
    with pytest.raises(SelfTestFailed):
        cluster.alice.generate_key_pair(
            Mechanism.EC_KEY_PAIR_GEN, {A.EC_PARAMS: ec_params_for_curve("secp256r1")}, {}
        )
    assert cluster.alice.find_objects() == []
    with pytest.raises(ErrorState):
        cluster.alice.generate_random(1)


def test_fresh_hsm_with_broken_primitive_still_reports_info() -> None:
    """Basic info stays readable in the error state."""
    hsm = HSM.open(MemoryStore(), fast_config(self_test_broken=frozenset({"drbg"})))
    assert "drbg" in str(hsm.open_session().info()["error_state"])


def test_random_source_failure_latches() -> None:
    """A random source that repeats itself trips the health test and latches the error state."""
    from strongroom.crypto.random import SystemRandom

    cluster = build(MemoryStore())
    cluster.hsm._core.rng._source = SystemRandom(source=bytes)

    def draw() -> None:
        for _ in range(3):
            cluster.alice.generate_random(32)

    with pytest.raises(SelfTestFailed):
        draw()
    with pytest.raises(ErrorState):
        cluster.alice.generate_random(1)
