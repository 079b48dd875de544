"""The HSM engine: one HSM's state and rules, no network.

Open an HSM on a store, open a session, log in, and run the commands your role allows::

    hsm = HSM.open(SQLiteStore("hsm.db"))
    with hsm.open_session() as s:
        s.login("alice", "correct horse")
        key = s.generate_key(Mechanism.AES_KEY_GEN, {Attribute.VALUE_LEN: 32})
"""

from __future__ import annotations

from strongroom.engine.config import Clock, HSMConfig, SystemClock
from strongroom.engine.hsm import HSM
from strongroom.engine.sessions import Session
from strongroom.engine.user_ops import UserInfo
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
    "HSM",
    "CTRParams",
    "Clock",
    "ECDH1DeriveParams",
    "EdDSAParams",
    "GCMParams",
    "HKDFParams",
    "HSMConfig",
    "MLDSAParams",
    "OAEPParams",
    "PSSParams",
    "RSAAESKeyWrapParams",
    "SP800108Params",
    "Session",
    "SystemClock",
    "UserInfo",
]
