"""The Strongroom client SDK: talk to a cluster's HSMs over TLS.

::

    from strongroom.client import GCMParams, HSMClient
    from strongroom.constants import Mechanism

    with HSMClient.connect() as hsm:          # settings from STRONGROOM_* or ./strongroom-data
        hsm.login("alice", "…")
        key = hsm.generate_aes_key(256, label="payments", token=True)
        sealed = key.encrypt(Mechanism.AES_GCM, b"hello", GCMParams())

This package never imports the engine, the store or the server (an import-linter contract):
an SDK process holds no key material.
"""

from __future__ import annotations

from strongroom.client.aio import AsyncHSMClient, AsyncKey
from strongroom.client.client import AttributeReport, HSMClient, Key, Operation
from strongroom.client.config import ClientConfig, Credentials
from strongroom.model.params import (
    CTRParams,
    ECDH1DeriveParams,
    EdDSAParams,
    GCMParams,
    HKDFParams,
    MLDSAParams,
    OAEPParams,
    PSSParams,
    RSAAESKeyWrapParams,
    SP800108Params,
)

__all__ = [
    "AsyncHSMClient",
    "AsyncKey",
    "AttributeReport",
    "CTRParams",
    "ClientConfig",
    "Credentials",
    "ECDH1DeriveParams",
    "EdDSAParams",
    "GCMParams",
    "HKDFParams",
    "HSMClient",
    "Key",
    "MLDSAParams",
    "OAEPParams",
    "Operation",
    "PSSParams",
    "RSAAESKeyWrapParams",
    "SP800108Params",
]
