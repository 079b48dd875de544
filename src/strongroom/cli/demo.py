"""``strongroom demo``: a short tour of the development cluster, printing what it does.

This module owns the demo only. It starts the development cluster in a data directory (the
same as ``strongroom up --detach``; reused if it is already there), then, through the SDK
over TLS like any application: logs in as the demo crypto user, generates and uses keys,
shows that key material never comes out, wraps and unwraps a key, restarts the cluster to
show the keys survive, and reads the audit log as the admin. Passwords are never printed:
they stay in DIR/endpoints.json (0600). The cluster is left running.
"""

from __future__ import annotations

import time
from pathlib import Path

from strongroom.cli.up import DevCluster, down, up
from strongroom.client import ClientConfig, GCMParams, HSMClient
from strongroom.constants import Attribute, KeyType, Mechanism, ObjectClass
from strongroom.crypto.asymmetric import ec_params_for_curve
from strongroom.errors import StrongroomError

__all__ = ["run_demo"]


def _say(text: str) -> None:
    print(f"  {text}", flush=True)


def run_demo(data_dir: Path) -> int:
    """Run the tour against the cluster in ``data_dir``; returns an exit code."""
    started = time.perf_counter()
    cluster = DevCluster(data_dir)
    endpoints, first = up(cluster)
    print(f"Strongroom demo (development cluster in {endpoints['data_dir']})")
    for hsm in endpoints["hsms"]:
        _say(f"HSM {hsm['hsm_id']} serving on {hsm['address']} over TLS 1.3")
    if first:
        _say("first run: made a manufacturer, a service and a customer CA; activated the HSM")
    user = endpoints["crypto_user"]
    config = ClientConfig.from_endpoints(cluster.endpoints_path)
    with HSMClient.connect(config) as client:
        boot = client.info()["boot"]
        client.login(user["username"], user["password"])
        _say(f"logged in as crypto user {user['username']!r} (boot {boot})")
        label = f"demo-aes-{boot}"
        aes = client.generate_aes_key(256, label=label, token=True, extractable=True)
        sealed = aes.encrypt(Mechanism.AES_GCM, b"attack at dawn", GCMParams())
        assert aes.decrypt(Mechanism.AES_GCM, sealed, GCMParams()) == b"attack at dawn"
        _say(f"generated token AES-256 key {label!r} (handle {aes.handle}); AES-GCM round trip")
        pub, priv = client.generate_key_pair(
            Mechanism.EC_KEY_PAIR_GEN,
            {Attribute.EC_PARAMS: ec_params_for_curve("secp256r1"), Attribute.TOKEN: True},
            {Attribute.TOKEN: True, Attribute.LABEL: f"demo-p256-{boot}", Attribute.SIGN: True},
        )
        signature = priv.sign(Mechanism.ECDSA_SHA256, b"hello")
        pub.verify(Mechanism.ECDSA_SHA256, b"hello", signature)
        spki = pub.public_key_der()
        _say(f"P-256 key pair: ECDSA sign/verify; the public key exports ({len(spki)} bytes DER)")
        try:
            aes.get(Attribute.VALUE)
        except StrongroomError as exc:
            _say(f"reading the AES key's value is refused: {exc.code}")
        kek = client.generate_aes_key(256, label=f"demo-kek-{boot}", token=True)
        wrapped = kek.wrap_key(Mechanism.AES_KEY_WRAP_KWP, aes)
        copy = kek.unwrap_key(
            Mechanism.AES_KEY_WRAP_KWP,
            wrapped,
            {
                Attribute.CLASS: ObjectClass.SECRET_KEY,
                Attribute.KEY_TYPE: KeyType.AES,
                Attribute.TOKEN: False,
            },
        )
        assert copy.decrypt(Mechanism.AES_GCM, sealed, GCMParams()) == b"attack at dawn"
        _say(f"wrapped the key under a KEK (AES-KWP, {len(wrapped)} bytes) and unwrapped a copy")
    down(cluster)
    endpoints, _first = up(cluster)
    with HSMClient.connect(ClientConfig.from_endpoints(cluster.endpoints_path)) as client:
        client.login(user["username"], user["password"])
        again = client.find_one(label=label)
        assert again.decrypt(Mechanism.AES_GCM, sealed, GCMParams()) == b"attack at dawn"
        _say(f"restarted the cluster (boot {client.info()['boot']}): {label!r} still decrypts")
        admin = endpoints["admin"]
        client.login(admin["username"], admin["password"])
        records = client.read_audit(1, 10_000)
        _say(f"admin reads the audit log: {len(records)} hash-chained records")
    print(f"done in {time.perf_counter() - started:.2f}s; the cluster keeps running.")
    print(f"  stop it:   strongroom down --data-dir {data_dir}")
    print(f"  back up:   strongroom backup create --data-dir {data_dir} --cluster cluster-demo")
    return 0
