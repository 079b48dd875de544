"""No secret leaves the node by a side door: not in its logs, not in the audit log it serves.

Passwords (right and wrong), plaintext, key values and signatures pass through the node
here; afterwards none of them appears in the node's JSON-lines log or stderr file, nor in
any audit record an admin reads over the wire, and every log line is one JSON object.
"""

from __future__ import annotations

import json

import pytest

from strongroom.client import GCMParams, HSMClient
from strongroom.constants import Attribute, KeyType, Mechanism, ObjectClass
from strongroom.errors import AuthenticationFailed

from .cluster import ALICE, Authority, NodeProcess, User

PLAINTEXT = b"the launch code is 0000-hygiene"
KEY_VALUE = bytes(range(100, 132))


def test_secrets_stay_out_of_logs_and_audit(
    authority: Authority, node: NodeProcess, alice: HSMClient, admin: HSMClient, unique: str
) -> None:
    """Everything secret that crossed the wire is absent from every record the node keeps."""
    wrong = f"not-alices-password-{unique}"
    with pytest.raises(AuthenticationFailed):
        authority.client([node.address], User(ALICE.name, wrong))
    admin.set_policy("clear_key_import", True)
    try:
        imported = alice.create_object(
            {
                Attribute.CLASS: ObjectClass.SECRET_KEY,
                Attribute.KEY_TYPE: KeyType.AES,
                Attribute.VALUE: KEY_VALUE,
                Attribute.LABEL: f"hygiene-{unique}",
            }
        )
    finally:
        admin.set_policy("clear_key_import", False)
    sealed = imported.encrypt(Mechanism.AES_GCM, PLAINTEXT, GCMParams())
    assert imported.decrypt(Mechanism.AES_GCM, sealed, GCMParams()) == PLAINTEXT
    mac = imported.sign(Mechanism.AES_CMAC, PLAINTEXT)
    imported.destroy()
    secrets = [
        ALICE.password.encode(),
        wrong.encode(),
        PLAINTEXT,
        KEY_VALUE,
        KEY_VALUE.hex().encode(),
        mac,
        mac.hex().encode(),
    ]
    raw_log = node.log_path.read_bytes()
    raw_err = node.out_path.read_bytes() if node.out_path.exists() else b""
    for secret in secrets:
        assert secret not in raw_log
        assert secret not in raw_err
    for line in raw_log.decode().splitlines():
        assert isinstance(json.loads(line), dict)
    audit = json.dumps(admin.read_audit(1, 10_000), default=repr).encode()
    for secret in secrets:
        assert secret not in audit
    assert b"login-failed" in audit  # the failure itself is recorded, its password is not
