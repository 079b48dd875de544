"""The asyncio SDK (``AsyncHSMClient``) against a live node: the same wire, the same errors."""

from __future__ import annotations

import asyncio

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from strongroom.client import AsyncHSMClient, GCMParams, HSMClient
from strongroom.constants import Attribute, Mechanism
from strongroom.crypto import ec_params_for_curve
from strongroom.errors import (
    AuthenticationFailed,
    HSMUnavailable,
    IntegrityError,
    NotLoggedIn,
    SignatureInvalid,
)

from .cluster import ALICE, Authority, NodeProcess

A = Attribute
M = Mechanism


def test_async_client_signs_encrypts_and_maps_errors(
    authority: Authority, node: NodeProcess, alice: HSMClient, unique: str
) -> None:
    """Many tasks share one connection; results interoperate; errors keep their classes."""
    pub, priv = alice.generate_key_pair(
        M.EC_KEY_PAIR_GEN,
        {A.EC_PARAMS: ec_params_for_curve("secp256r1"), A.TOKEN: True, A.LABEL: unique},
        {A.TOKEN: True, A.LABEL: unique},
    )
    aes = alice.generate_aes_key(256, token=True, label=f"{unique}-aes")
    public = serialization.load_der_public_key(pub.public_key_der())
    assert isinstance(public, ec.EllipticCurvePublicKey)
    config = authority.client_config([node.address])

    async def scenario() -> None:
        client = await AsyncHSMClient.connect(config)
        try:
            with pytest.raises(NotLoggedIn):
                await client.generate_random(8)
            with pytest.raises(AuthenticationFailed):
                await client.login(ALICE.name, "not-the-password")
            assert await client.login(ALICE.name, ALICE.password) == "crypto-user"
            key, sealer = client.key(priv.handle), client.key(aes.handle)
            messages = [f"message {i}".encode() for i in range(64)]
            signatures = await asyncio.gather(*(key.sign(M.ECDSA_SHA256, m) for m in messages))
            for message, raw in zip(messages, signatures, strict=True):
                r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
                public.verify(encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256()))
            await client.key(pub.handle).verify(M.ECDSA_SHA256, messages[0], signatures[0])
            with pytest.raises(SignatureInvalid):
                await client.key(pub.handle).verify(M.ECDSA_SHA256, messages[1], signatures[0])
            sealed = await sealer.encrypt(M.AES_GCM, b"async", GCMParams())
            assert await sealer.decrypt(M.AES_GCM, sealed, GCMParams()) == b"async"
            with pytest.raises(IntegrityError):
                await sealer.decrypt(M.AES_GCM, sealed[:-1] + bytes([sealed[-1] ^ 1]), GCMParams())
            found = await client.find({int(A.LABEL): unique})
            assert {k.handle for k in found} == {pub.handle, priv.handle}
            assert len(await client.generate_random(48)) == 48
        finally:
            await client.close()

    asyncio.run(scenario())


def test_async_client_with_no_hsm_reachable(authority: Authority) -> None:
    """Every address dead: HSM_UNAVAILABLE at connect, promptly."""
    config = authority.client_config(["127.0.0.1:1"], connect_timeout=2.0)

    async def scenario() -> None:
        with pytest.raises(HSMUnavailable):
            await AsyncHSMClient.connect(config)

    asyncio.run(scenario())
