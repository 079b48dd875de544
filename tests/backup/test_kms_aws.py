"""The AWS KMS provider: its boto3 calls, error table and credential hygiene.

The calls are checked against a real moto server (the ``moto_server`` session fixture), a
stand-in for AWS KMS, which CI cannot reach. moto does not model key states (a disabled key
still works there), so AWS's key-state refusals and service failures are checked against
botocore's ``Stubber``.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import boto3  # type: ignore[import-untyped, unused-ignore]
import pytest
from botocore.stub import Stubber  # type: ignore[import-untyped, unused-ignore]

from strongroom.backup.kms import AWSKMS
from strongroom.backup.kms.aws import REFUSAL_CODES
from strongroom.errors import ArgumentsBad, KMSAccessDenied, KMSError

from .services import MotoService

CONTEXT = {"cluster": "cluster-1", "backup": "backup-1", "region": "region-1"}
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"


def stubbed() -> tuple[AWSKMS, Stubber]:
    client = boto3.client(
        "kms",
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key=SECRET,
    )
    return AWSKMS("us-east-1", client=client), Stubber(client)


def test_wrapped_key_is_the_ciphertext_blob(moto_server: MotoService) -> None:
    """Appendix C: plain boto3 Decrypt with the same context and KeyId unwraps the blob."""
    client = moto_server.client("kms")
    key_id = client.create_key()["KeyMetadata"]["KeyId"]
    with AWSKMS(
        moto_server.region,
        moto_server.endpoint_url,
        access_key_id=moto_server.access_key,
        secret_access_key=moto_server.secret_key,
    ) as kms:
        data_key = kms.generate_data_key(key_id, CONTEXT)
    reply = client.decrypt(CiphertextBlob=data_key.wrapped, EncryptionContext=CONTEXT, KeyId=key_id)
    assert reply["Plaintext"] == data_key.plaintext


def test_aliases_work_as_key_ids(moto_server: MotoService) -> None:
    """A key alias is a key id, issuing and unwrapping."""
    client = moto_server.client("kms")
    key_id = client.create_key()["KeyMetadata"]["KeyId"]
    client.create_alias(AliasName="alias/strongroom-backups", TargetKeyId=key_id)
    kms = AWSKMS(
        moto_server.region,
        moto_server.endpoint_url,
        access_key_id=moto_server.access_key,
        secret_access_key=moto_server.secret_key,
    )
    data_key = kms.generate_data_key("alias/strongroom-backups", CONTEXT)
    assert kms.decrypt_data_key(key_id, data_key.wrapped, CONTEXT) == data_key.plaintext
    kms.close()


def test_calls_and_parameters() -> None:
    """GenerateDataKey asks for AES_256 with the context; Decrypt names KeyId and the context."""
    kms, stub = stubbed()
    stub.add_response(
        "generate_data_key",
        {"Plaintext": bytes(32), "CiphertextBlob": b"blob", "KeyId": KEY_ID},
        {"KeyId": KEY_ID, "KeySpec": "AES_256", "EncryptionContext": CONTEXT},
    )
    stub.add_response(
        "decrypt",
        {"Plaintext": bytes(32), "KeyId": KEY_ID},
        {"CiphertextBlob": b"blob", "KeyId": KEY_ID, "EncryptionContext": CONTEXT},
    )
    with stub:
        data_key = kms.generate_data_key(KEY_ID, CONTEXT)
        assert data_key.wrapped == b"blob"
        assert kms.decrypt_data_key(KEY_ID, b"blob", CONTEXT) == bytes(32)
    stub.assert_no_pending_responses()


@pytest.mark.parametrize("code", sorted(REFUSAL_CODES))
def test_refusals_are_access_denied(code: str) -> None:
    """Every AWS 'no' (wrong key, context, blob, disabled or pending-deletion key…) is refused."""
    kms, stub = stubbed()
    stub.add_client_error("decrypt", service_error_code=code, http_status_code=400)
    stub.add_client_error("generate_data_key", service_error_code=code, http_status_code=400)
    with stub:
        with pytest.raises(KMSAccessDenied, match=code):
            kms.decrypt_data_key(KEY_ID, b"blob", CONTEXT)
        with pytest.raises(KMSAccessDenied, match=code):
            kms.generate_data_key(KEY_ID, CONTEXT)


@pytest.mark.parametrize(
    "code",
    [
        "ThrottlingException",
        "KMSInternalException",
        "DependencyTimeoutException",
        "KeyUnavailableException",
    ],
)
def test_failures_are_kms_errors(code: str) -> None:
    """Errors that say nothing about the key or context are KMS_ERROR, not a refusal."""
    kms, stub = stubbed()
    stub.add_client_error("decrypt", service_error_code=code, http_status_code=500)
    with stub, pytest.raises(KMSError) as info:
        kms.decrypt_data_key(KEY_ID, b"blob", CONTEXT)
    assert type(info.value) is KMSError


@pytest.mark.parametrize(
    ("operation", "reply", "error"),
    [
        ("generate_data_key", {"Plaintext": bytes(16), "CiphertextBlob": b"b"}, KMSError),
        ("generate_data_key", {"Plaintext": bytes(32), "CiphertextBlob": b""}, KMSError),
        ("generate_data_key", {"CiphertextBlob": b"b"}, KMSError),
        ("decrypt", {"Plaintext": bytes(31)}, KMSAccessDenied),
        ("decrypt", {}, KMSAccessDenied),
    ],
)
def test_malformed_answers(operation: str, reply: dict[str, Any], error: type) -> None:
    """Answers without a 32-byte key are errors, never returned."""
    kms, stub = stubbed()
    stub.add_response(operation, reply)
    call: Callable[[], object] = (
        (lambda: kms.decrypt_data_key(KEY_ID, b"blob", CONTEXT))
        if operation == "decrypt"
        else (lambda: kms.generate_data_key(KEY_ID, CONTEXT))
    )
    with stub, pytest.raises(error):
        call()


def test_unreachable_endpoint_is_a_kms_error() -> None:
    """Nothing listening at the endpoint: KMS_ERROR, with no credential in the message."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    kms = AWSKMS(
        "us-east-1",
        f"http://127.0.0.1:{port}",
        access_key_id="AKIDEXAMPLE",
        secret_access_key=SECRET,
        connect_timeout=1.0,
        read_timeout=1.0,
        max_attempts=1,
    )
    with pytest.raises(KMSError) as info:
        kms.generate_data_key(KEY_ID, CONTEXT)
    assert type(info.value) is KMSError
    assert SECRET not in str(info.value)
    assert SECRET not in repr(kms)
    kms.close()


def test_arguments_are_checked() -> None:
    """Region, endpoint URL and credential pairs are validated; key ids must be text."""
    with pytest.raises(ArgumentsBad):
        AWSKMS("")
    for url in ("ftp://127.0.0.1:1", "127.0.0.1:5000", "http://a:b@127.0.0.1:1"):
        with pytest.raises(ArgumentsBad):
            AWSKMS("us-east-1", url)
    with pytest.raises(ArgumentsBad):
        AWSKMS("us-east-1", access_key_id="AKIDEXAMPLE")
    kms, _ = stubbed()
    for key_id in ("", "x" * 2049, "bad\nkey"):
        with pytest.raises(ArgumentsBad):
            kms.generate_data_key(key_id, CONTEXT)
    assert repr(kms) == "AWSKMS(region='us-east-1', endpoint_url=None)"
