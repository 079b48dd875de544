"""The `aws` KMS: AWS KMS through boto3 (tested here against moto's server, a stand-in).

This module owns the calls to AWS KMS (docs/formats/envelope-v1.md, appendix C):
``GenerateDataKey(KeyId, KeySpec=AES_256, EncryptionContext)`` issues a data key and
``Decrypt(CiphertextBlob, EncryptionContext, KeyId)`` unwraps it; AWS binds the encryption
context to the ciphertext blob itself, and naming ``KeyId`` on decrypt makes AWS refuse a blob
made under any other key. The wrapped data key is AWS's ciphertext blob, byte for byte. It
owns translating botocore's errors into `KMSAccessDenied` (AWS said no) and `KMSError`
(anything else) at this boundary, and keeping credentials out of every repr and message. It
must not know about envelopes or backups. AWS itself is not reachable from the project's
machines, so the tests run it against moto in server mode; moto does not model key states
(disabled, pending deletion), so those refusals are covered only by the error table below.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from strongroom.backup.kms.api import DATA_KEY_BYTES, DataKey, check_context, check_key_id
from strongroom.errors import ArgumentsBad, KMSAccessDenied, KMSError

__all__ = ["AWSKMS", "REFUSAL_CODES"]

REFUSAL_CODES: Final = frozenset(
    {
        # The key, the context or the blob do not match, or the caller may not use the key.
        "AccessDeniedException",
        "IncorrectKeyException",
        "InvalidCiphertextException",
        "InvalidGrantTokenException",
        "InvalidKeyUsageException",
        "NotFoundException",
        # The key exists but may not be used in its current state.
        "DisabledException",
        "KMSInvalidStateException",
        # The credentials are not valid for this account.
        "UnrecognizedClientException",
        "InvalidSignatureException",
    }
)
"""AWS error codes that mean "no" (`KMSAccessDenied`); every other error is `KMSError`."""


class AWSKMS:
    """AWS KMS data keys through one boto3 client (thread-safe, reused across calls)."""

    __slots__ = ("_client", "_endpoint_url", "_region")

    name: Final = "aws"

    def __init__(
        self,
        region: str,
        endpoint_url: str | None = None,
        *,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        session_token: str | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 10.0,
        max_attempts: int = 3,
        client: Any = None,
    ) -> None:
        """A client for ``region``; credentials default to boto3's usual chain.

        ``endpoint_url`` (``http://`` or ``https://``) points at an AWS-compatible endpoint
        instead of AWS, for example a moto server in tests. ``client`` supplies a ready boto3
        KMS client instead (another session, or a botocore ``Stubber``-wrapped one in tests);
        the other arguments but ``region`` are then ignored.
        """
        import boto3  # type: ignore[import-untyped, unused-ignore]
        from botocore.config import Config  # type: ignore[import-untyped, unused-ignore]

        if not isinstance(region, str) or not region or not region.isprintable():
            raise ArgumentsBad("an AWS region is a non-empty string")
        if endpoint_url is not None:
            parts = urlsplit(endpoint_url)
            if parts.scheme not in {"http", "https"} or not parts.hostname:
                raise ArgumentsBad("the KMS endpoint is an http:// or https:// URL with a host")
            if parts.username is not None or parts.password is not None:
                raise ArgumentsBad("the KMS endpoint URL must not carry credentials")
        if (access_key_id is None) != (secret_access_key is None):
            raise ArgumentsBad("give both an access key id and a secret access key, or neither")
        self._region = region
        self._endpoint_url = endpoint_url
        if client is not None:
            self._client: Any = client
            return
        config = Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"max_attempts": max_attempts, "mode": "standard"},
        )
        try:
            session = boto3.session.Session(
                aws_access_key_id=access_key_id,
                aws_secret_access_key=secret_access_key,
                aws_session_token=session_token,
                region_name=region,
            )
            self._client = session.client("kms", endpoint_url=endpoint_url, config=config)
        except Exception as exc:
            raise KMSError(f"cannot set up the AWS KMS client ({type(exc).__name__})") from exc

    def __repr__(self) -> str:
        return f"AWSKMS(region={self._region!r}, endpoint_url={self._endpoint_url!r})"

    def close(self) -> None:
        """Close the client's connection pool."""
        self._client.close()

    def __enter__(self) -> AWSKMS:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the KMSProvider interface ---------------------------------------------------------

    def generate_data_key(self, key_id: str, context: Mapping[str, str]) -> DataKey:
        """``GenerateDataKey`` with ``KeySpec=AES_256`` and the encryption context."""
        response = self._call(
            "generate_data_key",
            KeyId=check_key_id(key_id),
            KeySpec="AES_256",
            EncryptionContext=check_context(context),
        )
        plaintext = response.get("Plaintext")
        wrapped = response.get("CiphertextBlob")
        if not isinstance(plaintext, bytes) or len(plaintext) != DATA_KEY_BYTES:
            raise KMSError("AWS KMS returned a malformed data key")
        if not isinstance(wrapped, bytes) or not wrapped:
            raise KMSError("AWS KMS returned a malformed data key")
        return DataKey(plaintext, wrapped)

    def decrypt_data_key(self, key_id: str, wrapped: bytes, context: Mapping[str, str]) -> bytes:
        """``Decrypt`` naming ``KeyId``, with the same encryption context."""
        response = self._call(
            "decrypt",
            CiphertextBlob=bytes(wrapped),
            KeyId=check_key_id(key_id),
            EncryptionContext=check_context(context),
        )
        plaintext = response.get("Plaintext")
        if not isinstance(plaintext, bytes) or len(plaintext) != DATA_KEY_BYTES:
            raise KMSAccessDenied("the wrapped data key does not hold a 256-bit data key")
        return plaintext

    # --- the boundary --------------------------------------------------------------------------

    def _call(self, operation: str, **params: object) -> dict[str, Any]:
        from botocore.exceptions import (  # type: ignore[import-untyped, unused-ignore]
            BotoCoreError,
            ClientError,
        )

        try:
            response = getattr(self._client, operation)(**params)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "Unknown"))[:64]
            if code in REFUSAL_CODES:
                raise KMSAccessDenied(f"AWS KMS refused ({code})") from exc
            raise KMSError(f"AWS KMS failed ({code})") from exc
        except BotoCoreError as exc:
            raise KMSError(f"AWS KMS request failed ({type(exc).__name__})") from exc
        if not isinstance(response, dict):
            raise KMSError("AWS KMS answered with something unexpected")
        return response
