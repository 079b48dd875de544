"""The OpenBao transit provider: its HTTP boundary, error translation and token hygiene.

Requests and answers are checked both against a real OpenBao dev server (the ``openbao``
session fixture) and, for answers a healthy server never gives, against an httpx fake transport.
"""

from __future__ import annotations

import base64
import json
import secrets
import socket
from collections.abc import Callable, Iterator

import httpx
import pytest

from strongroom.backup.kms import OpenBaoKMS, kms_aad
from strongroom.errors import ArgumentsBad, KMSAccessDenied, KMSError

from .services import OpenBaoService

CONTEXT = {"cluster": "cluster-1", "backup": "backup-1", "region": "region-1"}
TOKEN = "s.fake-token-value-0123456789"


@pytest.fixture
def transit_key(openbao: OpenBaoService) -> str:
    """A fresh aes256-gcm96 transit key on the session's OpenBao."""
    name = f"kek-{secrets.token_hex(6)}"
    openbao.request("POST", f"{openbao.transit_mount}/keys/{name}", {"type": "aes256-gcm96"})
    return name


@pytest.fixture
def kms(openbao: OpenBaoService) -> Iterator[OpenBaoKMS]:
    """A provider talking to the session's OpenBao."""
    with OpenBaoKMS(openbao.address, openbao.token, openbao.transit_mount) as provider:
        yield provider


def fake(handler: Callable[[httpx.Request], httpx.Response]) -> OpenBaoKMS:
    return OpenBaoKMS("http://127.0.0.1:8200", TOKEN, transport=httpx.MockTransport(handler))


def test_wrapped_key_is_a_transit_ciphertext_bound_to_the_aad(
    kms: OpenBaoKMS, openbao: OpenBaoService, transit_key: str
) -> None:
    """Appendix B: transit's own decrypt, given base64(kms_aad) as associated data, unwraps it."""
    data_key = kms.generate_data_key(transit_key, CONTEXT)
    assert data_key.wrapped.startswith(b"vault:v1:")
    aad = base64.b64encode(kms_aad(transit_key, CONTEXT)).decode()
    path = f"{openbao.transit_mount}/decrypt/{transit_key}"
    body = {"ciphertext": data_key.wrapped.decode(), "associated_data": aad}
    reply = openbao.request("POST", path, body)
    assert base64.b64decode(reply["data"]["plaintext"]) == data_key.plaintext


def test_rotated_key_still_unwraps_old_data_keys(
    kms: OpenBaoKMS, openbao: OpenBaoService, transit_key: str
) -> None:
    """After a transit key rotation, data keys wrapped under version 1 still unwrap."""
    old = kms.generate_data_key(transit_key, CONTEXT)
    openbao.request("POST", f"{openbao.transit_mount}/keys/{transit_key}/rotate")
    new = kms.generate_data_key(transit_key, CONTEXT)
    assert new.wrapped.startswith(b"vault:v2:")
    assert kms.decrypt_data_key(transit_key, old.wrapped, CONTEXT) == old.plaintext


def test_bad_token_is_refused_without_showing_it(openbao: OpenBaoService, transit_key: str) -> None:
    """A token OpenBao does not know is KMS_ACCESS_DENIED; the token appears nowhere."""
    with OpenBaoKMS(openbao.address, TOKEN) as kms:
        with pytest.raises(KMSAccessDenied) as info:
            kms.generate_data_key(transit_key, CONTEXT)
        assert "403" in str(info.value)
        assert TOKEN not in str(info.value)
        assert TOKEN not in repr(kms)


def test_unreachable_server_is_a_kms_error() -> None:
    """Nothing listening: KMS_ERROR (not a refusal), without the token in the message."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    kms = OpenBaoKMS(f"http://127.0.0.1:{port}", TOKEN, timeout=2.0)
    with kms, pytest.raises(KMSError) as info:
        kms.generate_data_key("kek", CONTEXT)
    assert type(info.value) is KMSError
    assert "ConnectError" in str(info.value)
    assert TOKEN not in str(info.value)
    assert TOKEN not in str(info.value.__cause__)


def test_requests_carry_bearer_token_and_associated_data() -> None:
    """Appendix B: the exact paths, JSON bodies and header the provider sends."""
    seen: list[httpx.Request] = []
    data_key = bytes(range(32))

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        data = {"plaintext": base64.b64encode(data_key).decode(), "ciphertext": "vault:v1:QUJD"}
        return httpx.Response(200, json={"data": data})

    kms = fake(handler)
    issued = kms.generate_data_key("kek", CONTEXT)
    assert issued.wrapped == b"vault:v1:QUJD"
    assert kms.decrypt_data_key("kek", issued.wrapped, CONTEXT) == data_key
    aad = base64.b64encode(kms_aad("kek", CONTEXT)).decode()
    assert [r.url.path for r in seen] == [
        "/v1/transit/datakey/plaintext/kek",
        "/v1/transit/decrypt/kek",
    ]
    assert json.loads(seen[0].content) == {"bits": 256, "associated_data": aad}
    assert json.loads(seen[1].content) == {"ciphertext": "vault:v1:QUJD", "associated_data": aad}
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in seen)
    assert TOKEN not in repr(seen[0].headers)


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (400, {"errors": ["cipher: message authentication failed"]}, KMSAccessDenied),
        (403, {"errors": ["permission denied"]}, KMSAccessDenied),
        (404, {}, KMSAccessDenied),
        (429, {"errors": ["rate limited"]}, KMSError),
        (500, {"errors": ["internal error"]}, KMSError),
        (503, {"errors": ["sealed"]}, KMSError),
        (200, {"nodata": True}, KMSError),
        (200, {"data": {"plaintext": "not base64!", "ciphertext": "vault:v1:QUJD"}}, KMSError),
        (200, {"data": {"plaintext": "QUJD", "ciphertext": "vault:v1:QUJD"}}, KMSError),
        (200, {"data": {"plaintext": base64.b64encode(bytes(32)).decode()}}, KMSError),
        (
            200,
            {"data": {"plaintext": base64.b64encode(bytes(32)).decode(), "ciphertext": "x"}},
            KMSError,
        ),
    ],
)
def test_issue_answers_are_translated(status: int, body: dict[str, object], error: type) -> None:
    """Each HTTP status and malformed answer maps to one Strongroom error, never a foreign one."""
    kms = fake(lambda request: httpx.Response(status, json=body))
    with pytest.raises(error) as info:
        kms.generate_data_key("kek", CONTEXT)
    assert type(info.value) is error


def test_non_json_and_short_plaintext_answers() -> None:
    """A non-JSON 200 is KMS_ERROR; an unwrapped key of the wrong size is refused."""
    kms = fake(lambda request: httpx.Response(200, content=b"<html>"))
    with pytest.raises(KMSError):
        kms.generate_data_key("kek", CONTEXT)
    short = {"data": {"plaintext": base64.b64encode(bytes(16)).decode()}}
    kms = fake(lambda request: httpx.Response(200, json=short))
    with pytest.raises(KMSAccessDenied):
        kms.decrypt_data_key("kek", b"vault:v1:QUJD", CONTEXT)


def test_wrapped_keys_that_are_not_transit_ciphertexts_never_reach_the_server() -> None:
    """Garbage in place of a ``vault:vN:`` ciphertext is refused locally."""
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(500)

    kms = fake(handler)
    for wrapped in (b"", b"vault:v0:QUJD", b"vault:v1:", b"vault:v1:QU JD", b"\xff" * 10):
        with pytest.raises(KMSAccessDenied):
            kms.decrypt_data_key("kek", wrapped, CONTEXT)
    assert calls == []


@pytest.mark.parametrize(
    "address",
    [
        "ftp://127.0.0.1:8200",
        "127.0.0.1:8200",
        "http://",
        "http://user:pass@127.0.0.1:8200",
        "http://127.0.0.1:8200/v1",
        "http://127.0.0.1:8200?x=1",
        "file:///etc/passwd",
    ],
)
def test_only_plain_http_or_https_addresses(address: str) -> None:
    """The address is scheme://host[:port] with http or https, and no credentials."""
    with pytest.raises(ArgumentsBad):
        OpenBaoKMS(address, TOKEN)


def test_other_arguments_are_checked() -> None:
    """Token, mount, timeout and key names are validated before any request."""
    with pytest.raises(ArgumentsBad):
        OpenBaoKMS("http://127.0.0.1:8200", "")
    with pytest.raises(ArgumentsBad):
        OpenBaoKMS("http://127.0.0.1:8200", "tok\nen")
    for mount in ("", "../sys", "transit/../sys", "a b"):
        with pytest.raises(ArgumentsBad):
            OpenBaoKMS("http://127.0.0.1:8200", TOKEN, mount)
    with pytest.raises(ArgumentsBad):
        OpenBaoKMS("http://127.0.0.1:8200", TOKEN, timeout=0)
    kms = fake(lambda request: httpx.Response(500))
    for name in ("", "../keys", "a/b", "x" * 129):
        with pytest.raises(ArgumentsBad):
            kms.generate_data_key(name, CONTEXT)
    assert OpenBaoKMS("https://bao.example:8200/", TOKEN, "kms/transit").name == "openbao"
