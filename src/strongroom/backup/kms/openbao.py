"""The `openbao` KMS: the transit secrets engine of OpenBao (or HashiCorp Vault) over HTTP.

This module owns the conversation with transit (docs/formats/envelope-v1.md, appendix B):
``POST /v1/<mount>/datakey/plaintext/<key>`` issues a data key and ``POST
/v1/<mount>/decrypt/<key>`` unwraps it, both with ``associated_data`` = the canonical
(key id, context) encoding, which transit authenticates with the key's AES-256-GCM, so another
context or key refuses (`KMSAccessDenied`). The wrapped data key is transit's own
``vault:vN:…`` ciphertext, as ASCII bytes. It owns translating httpx errors and HTTP statuses
into `KMSError` / `KMSAccessDenied` at this boundary, and keeping the token out of every repr,
message and log line (it travels only as an ``Authorization: Bearer`` header, which httpx
masks). It must not know about envelopes or backups.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from strongroom.backup.kms.api import DATA_KEY_BYTES, DataKey, check_context, kms_aad
from strongroom.errors import ArgumentsBad, KMSAccessDenied, KMSError

__all__ = ["OpenBaoKMS"]

_KEY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_MOUNT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}(/[A-Za-z0-9][A-Za-z0-9._-]{0,63}){0,7}")
_CIPHERTEXT = re.compile(rb"vault:v[1-9][0-9]{0,9}:[A-Za-z0-9+/]+={0,2}")
# Statuses where transit has answered "no" to this request; anything else is a failure.
_REFUSALS: Final = frozenset({400, 403, 404})
_MAX_ERROR_TEXT: Final = 160


class OpenBaoKMS:
    """Transit-engine data keys; one keep-alive HTTP connection pool per instance."""

    __slots__ = ("_address", "_client", "_mount")

    name: Final = "openbao"

    def __init__(
        self,
        address: str,
        token: str,
        mount: str = "transit",
        *,
        timeout: float = 10.0,
        verify: bool | str = True,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """Talk to transit at ``address`` (``http://`` or ``https://`` only).

        ``verify`` is httpx's: ``True`` checks TLS against the system CAs, a path names a CA
        bundle. Proxies and netrc from the environment are ignored (``trust_env=False``).
        ``transport`` replaces httpx's network transport (a Unix socket, or a fake in tests).
        """
        parts = urlsplit(address)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ArgumentsBad("the OpenBao address is an http:// or https:// URL with a host")
        if parts.username is not None or parts.password is not None:
            raise ArgumentsBad("the OpenBao address must not carry credentials")
        if parts.query or parts.fragment or parts.path not in {"", "/"}:
            raise ArgumentsBad("the OpenBao address is scheme://host[:port] only")
        if not isinstance(token, str) or not token or not token.isprintable():
            raise ArgumentsBad("the OpenBao token is a non-empty printable string")
        if not isinstance(mount, str) or not _MOUNT.fullmatch(mount):
            raise ArgumentsBad("the transit mount is a path of A-Z a-z 0-9 . _ - segments")
        if timeout <= 0:
            raise ArgumentsBad("the timeout is a positive number of seconds")
        self._address = f"{parts.scheme}://{parts.netloc}"
        self._mount = mount
        self._client = httpx.Client(
            base_url=f"{self._address}/v1/{mount}/",
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            verify=verify,
            trust_env=False,
            follow_redirects=False,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"OpenBaoKMS(address={self._address!r}, mount={self._mount!r})"

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> OpenBaoKMS:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the KMSProvider interface ---------------------------------------------------------

    def generate_data_key(self, key_id: str, context: Mapping[str, str]) -> DataKey:
        """``datakey/plaintext/<key>`` with 256 bits and the context as associated data."""
        name = _check_key_name(key_id)
        aad = kms_aad(key_id, check_context(context))
        data = self._post(
            f"datakey/plaintext/{name}",
            {"bits": 8 * DATA_KEY_BYTES, "associated_data": _b64(aad)},
        )
        plaintext = _b64_field(data, "plaintext")
        ciphertext = data.get("ciphertext")
        if len(plaintext) != DATA_KEY_BYTES or not isinstance(ciphertext, str):
            raise KMSError("OpenBao returned a malformed data key")
        wrapped = ciphertext.encode("ascii", "replace")
        if not _CIPHERTEXT.fullmatch(wrapped):
            raise KMSError("OpenBao returned a malformed data key")
        return DataKey(plaintext, wrapped)

    def decrypt_data_key(self, key_id: str, wrapped: bytes, context: Mapping[str, str]) -> bytes:
        """``decrypt/<key>`` with the same associated data; transit checks the GCM tag."""
        name = _check_key_name(key_id)
        aad = kms_aad(key_id, check_context(context))
        wrapped = bytes(wrapped)
        if not _CIPHERTEXT.fullmatch(wrapped):
            raise KMSAccessDenied("the wrapped data key is not a transit ciphertext")
        data = self._post(
            f"decrypt/{name}",
            {"ciphertext": wrapped.decode("ascii"), "associated_data": _b64(aad)},
        )
        plaintext = _b64_field(data, "plaintext")
        if len(plaintext) != DATA_KEY_BYTES:
            raise KMSAccessDenied("the wrapped data key does not hold a 256-bit data key")
        return plaintext

    # --- HTTP ----------------------------------------------------------------------------------

    def _post(self, path: str, body: dict[str, object]) -> dict[str, Any]:
        try:
            response = self._client.post(path, json=body)
        except httpx.HTTPError as exc:
            raise KMSError(f"OpenBao request failed ({type(exc).__name__})") from exc
        status = response.status_code
        if status in _REFUSALS:
            raise KMSAccessDenied(f"OpenBao refused (HTTP {status}: {_error_text(response)})")
        if status != 200:
            raise KMSError(f"OpenBao failed (HTTP {status}: {_error_text(response)})")
        try:
            payload = response.json()
        except ValueError as exc:
            raise KMSError("OpenBao answered with something other than JSON") from exc
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, dict):
            raise KMSError("OpenBao answered without a data object")
        return data


def _check_key_name(key_id: str) -> str:
    if not isinstance(key_id, str) or not _KEY_NAME.fullmatch(key_id):
        raise ArgumentsBad(
            "a transit key name is 1-128 characters of A-Z a-z 0-9 . _ - starting with a "
            "letter or digit"
        )
    return key_id


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64_field(data: dict[str, Any], field: str) -> bytes:
    value = data.get(field)
    if not isinstance(value, str):
        raise KMSError(f"OpenBao answered without {field!r}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KMSError(f"OpenBao answered with a malformed {field!r}") from exc


def _error_text(response: httpx.Response) -> str:
    """Transit's first error string (never holds the token or key material), shortened."""
    try:
        errors = response.json().get("errors")
    except (ValueError, AttributeError):
        return "no error text"
    if isinstance(errors, list) and errors and isinstance(errors[0], str):
        text = errors[0]
        printable = "".join(ch if ch.isprintable() else "?" for ch in text)
        return printable[:_MAX_ERROR_TEXT]
    return "no error text"
