"""Threads: one HSM used from several threads at once stays correct."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from strongroom.constants import Attribute, Mechanism
from strongroom.crypto.asymmetric import ec_params_for_curve
from strongroom.engine import GCMParams

from .engine_helpers import ALICE_PASSWORD, Cluster

A = Attribute


def test_concurrent_use_and_changes(sqlite_cluster: Cluster) -> None:
    """Signing, encrypting, relabelling and creating keys from four threads all succeed."""
    c = sqlite_cluster
    pub, priv = c.alice.generate_key_pair(
        Mechanism.EC_KEY_PAIR_GEN,
        {A.EC_PARAMS: ec_params_for_curve("secp256r1"), A.TOKEN: True},
        {A.TOKEN: True},
    )
    aes = c.alice.generate_key(Mechanism.AES_KEY_GEN, {A.VALUE_LEN: 32, A.TOKEN: True})
    c.hsm._core.catalog.clear_cache()
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def worker(n: int) -> int:
        s = c.session("alice", ALICE_PASSWORD)
        barrier.wait()
        made = 0
        try:
            for i in range(40):
                sig = s.sign(priv, Mechanism.ECDSA_SHA256, b"%d" % i)
                s.verify(pub, Mechanism.ECDSA_SHA256, b"%d" % i, sig)
                ct = s.encrypt(aes, Mechanism.AES_GCM, b"x", GCMParams())
                assert s.decrypt(aes, Mechanism.AES_GCM, ct, GCMParams()) == b"x"
                if i % 10 == 0:
                    s.set_attributes(aes, {A.LABEL: f"t{n}-{i}"})
                    s.generate_key(
                        Mechanism.AES_KEY_GEN, {A.VALUE_LEN: 16, A.TOKEN: True, A.LABEL: f"new{n}"}
                    )
                    made += 1
        except BaseException as exc:  # collected and re-raised below
            errors.append(exc)
        return made

    with ThreadPoolExecutor(4) as pool:
        made = sum(pool.map(worker, range(4)))
    assert not errors, errors
    assert made == 16
    assert len(c.alice.find_objects({A.CLASS: 4, A.VALUE_LEN: 16})) == 16
    assert c.hsm.verify_audit() > 0
    label = c.alice.get_attributes(aes, [A.LABEL])[A.LABEL]
    assert isinstance(label, str)
    assert label.startswith("t")
