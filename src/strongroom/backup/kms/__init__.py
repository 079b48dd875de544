"""KMS providers for the outer backup layer: `local` (key file), `openbao` (transit), `aws`.

This package owns issuing and unwrapping the per-backup data keys that the KMS envelope
(`strongroom.backup.envelope`) encrypts with, each bound to a master key id and an encryption
context. Every provider meets the one `KMSProvider` contract in `api`; `PROVIDER_NAMES` lists
them. It must not know about envelopes, object stores or HSM state. The curated ``__all__``
below is the whole public surface.
"""

from __future__ import annotations

from strongroom.backup.kms.api import (
    DATA_KEY_BYTES,
    DataKey,
    KMSProvider,
    check_context,
    check_key_id,
    kms_aad,
)
from strongroom.backup.kms.aws import AWSKMS
from strongroom.backup.kms.local import LocalKMS
from strongroom.backup.kms.openbao import OpenBaoKMS

__all__ = [
    "AWSKMS",
    "DATA_KEY_BYTES",
    "PROVIDER_NAMES",
    "DataKey",
    "KMSProvider",
    "LocalKMS",
    "OpenBaoKMS",
    "check_context",
    "check_key_id",
    "kms_aad",
]

PROVIDER_NAMES = ("local", "openbao", "aws")
"""The provider names an envelope header may carry, as the providers spell them."""
