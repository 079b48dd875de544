"""Wire v1 read from docs/formats/wire-v1.md alone: a second decoder checks the golden frames.

The decoder below follows the page, not the code: the 4-byte big-endian length, the frame
limit, the CBOR subset (its own small reader — no tags, no floats, definite lengths, at most
16 nested arrays and maps, nothing after the item), the four message shapes and their
fields, the parameter and template encodings. It imports nothing from Strongroom, so if the
production encoder and the document part ways, one of these tests fails. cbor2 is used only
as a cross-check of the reader.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import cbor2
import pytest

GOLDEN: Final = Path(__file__).resolve().parents[1] / "golden" / "wire-v1.json"

# Numbers as the document states them.
MAX_FRAME: Final = 64 * 1024 * 1024 + 64 * 1024  # §Frames: 67,174,400
MAX_NESTING: Final = 16  # §CBOR subset
MAX_REQUEST_ID: Final = 2**63 - 1  # §Requests and answers
KINDS: Final = {0: "hello", 1: "request", 2: "ok", 3: "error"}  # §Messages
CKA_CLASS, CKA_KEY_TYPE, CKA_LABEL, CKA_TOKEN, CKA_VALUE_LEN = 0x0, 0x100, 0x3, 0x1, 0x161
CKA_WRAP_TEMPLATE: Final = 0x40000211
CKO_SECRET_KEY, CKK_AES = 0x4, 0x1F
CKM_SHA256_RSA_PKCS_PSS, CKM_AES_KEY_GEN, CKM_RSA_AES_KEY_WRAP = 0x43, 0x1080, 0x1054


class SpecError(Exception):
    """The spec decoder refused its input."""


# --- §CBOR subset: a reader for exactly what the page allows --------------------------------


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise SpecError("the item is cut short")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def argument(self, info: int) -> int:
        if info < 24:
            return info
        if info in (24, 25, 26, 27):
            return int.from_bytes(self.take(1 << (info - 24)), "big")
        raise SpecError("indefinite lengths and reserved values are not used")

    def item(self, depth: int) -> Any:
        initial = self.take(1)[0]
        major, info = initial >> 5, initial & 0x1F
        if major == 7:
            simple = {20: False, 21: True, 22: None}
            if info not in simple:
                raise SpecError("floats and simple values other than false/true/null")
            return simple[info]
        value = self.argument(info)
        if major == 0:
            return value
        if major == 1:
            return -1 - value
        if major == 2:
            return self.take(value)
        if major == 3:
            try:
                return self.take(value).decode("utf-8")
            except UnicodeDecodeError as exc:
                raise SpecError("text is UTF-8") from exc
        if major == 6:
            raise SpecError("tags are not used")
        if depth >= MAX_NESTING:
            raise SpecError("more than 16 nested arrays and maps")
        if major == 4:
            return [self.item(depth + 1) for _ in range(value)]
        out: dict[Any, Any] = {}
        for _ in range(value):
            key = self.item(depth + 1)
            if type(key) not in (str, int):
                raise SpecError("map keys are text or integers")
            if key in out:
                raise SpecError("a map repeats a key")
            out[key] = self.item(depth + 1)
        return out


def spec_cbor(body: bytes) -> Any:
    """Exactly one data item of the subset, and nothing after it."""
    reader = _Reader(body)
    value = reader.item(0)
    if reader.pos != len(body):
        raise SpecError("bytes after the item")
    return value


# --- §Frames and §Messages ---------------------------------------------------------------------


@dataclass(frozen=True)
class SpecMessage:
    """One decoded message: its kind's name and its fields by the page's names."""

    kind: str
    fields: dict[str, Any]


def _request_id(value: object) -> int:
    if type(value) is not int or not 0 <= value <= MAX_REQUEST_ID:
        raise SpecError("a request id is an unsigned 63-bit integer")
    return value


def spec_message(body: bytes) -> SpecMessage:
    """A frame body: [kind, …] with the kind's exact shape."""
    raw = spec_cbor(body)
    if type(raw) is not list or not raw or type(raw[0]) is not int or raw[0] not in KINDS:
        raise SpecError("a body is an array that starts with a known kind")
    kind, rest = KINDS[raw[0]], raw[1:]
    shapes = {"hello": (dict,), "request": (int, str, dict), "ok": (int, object)}
    shape = shapes.get(kind, (int, str, str))
    if len(rest) != len(shape) or not all(
        isinstance(v, t) for v, t in zip(rest, shape, strict=True)
    ):
        raise SpecError(f"not the shape of a {kind}")
    if kind == "hello":
        return SpecMessage(kind, {"fields": rest[0]})
    request_id = _request_id(rest[0])
    if kind == "request":
        if any(type(k) is not str for k in rest[2]):
            raise SpecError("argument names are text")
        return SpecMessage(kind, {"request_id": request_id, "command": rest[1], "args": rest[2]})
    if kind == "ok":
        return SpecMessage(kind, {"request_id": request_id, "result": rest[1]})
    return SpecMessage(kind, {"request_id": request_id, "code": rest[1], "message": rest[2]})


def spec_frames(stream: bytes) -> list[SpecMessage]:
    """Split a byte stream into frames: u32 length, then that many bytes of body."""
    out: list[SpecMessage] = []
    pos = 0
    while pos < len(stream):
        if pos + 4 > len(stream):
            raise SpecError("the stream ends inside a length")
        (length,) = struct.unpack(">I", stream[pos : pos + 4])
        if length > MAX_FRAME:
            raise SpecError("over the frame limit")
        body = stream[pos + 4 : pos + 4 + length]
        if len(body) != length:
            raise SpecError("the stream ends inside a body")
        out.append(spec_message(body))
        pos += 4 + length
    return out


def spec_diagnostic(value: Any) -> str:
    """RFC 8949 §8 diagnostic notation, as the golden file writes it."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        return "h'" + value.hex() + "'"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(map(spec_diagnostic, value)) + "]"
    pairs = (f"{spec_diagnostic(k)}: {spec_diagnostic(v)}" for k, v in value.items())
    return "{" + ", ".join(pairs) + "}"


# --- the golden frames, checked field by field -------------------------------------------------


def _golden() -> dict[str, dict[str, str]]:
    loaded: dict[str, dict[str, str]] = json.loads(GOLDEN.read_text(encoding="utf-8"))
    return loaded


def _one(name: str) -> SpecMessage:
    frame = bytes.fromhex(_golden()[name]["frame"])
    (message,) = spec_frames(frame)
    return message


@pytest.mark.parametrize("name", list(_golden()))
def test_every_golden_frame_reads_as_its_diagnostic(name: str) -> None:
    """Each frame parses under the page's rules and says what its diagnostic notation says."""
    vector = _golden()[name]
    body = bytes.fromhex(vector["frame"])[4:]
    value = spec_cbor(body)
    assert spec_diagnostic(value) == vector["diagnostic"]
    assert value == cbor2.loads(body)  # the small reader agrees with a full CBOR decoder


def test_client_hello() -> None:
    """The client's hello lists the versions it speaks."""
    message = _one("client_hello")
    assert message.kind == "hello"
    assert message.fields["fields"]["wire"] == [1]
    assert isinstance(message.fields["fields"]["agent"], str)


def test_server_hello() -> None:
    """The HSM's hello names one version, itself, its frame limit and whether mTLS is on."""
    fields = _one("server_hello").fields["fields"]
    assert fields["wire"] == 1
    assert fields["max_frame"] == MAX_FRAME
    assert fields["mtls"] is True
    assert isinstance(fields["hsm_id"], str)
    assert isinstance(fields["server"], str)


def test_sign_request_with_pss_parameters() -> None:
    """A crypto.sign request: its id, session, key, mechanism, data and PSS parameters."""
    message = _one("request_sign_pss")
    assert message.kind == "request"
    assert message.fields["request_id"] == 7
    assert message.fields["command"] == "crypto.sign"
    assert message.fields["args"] == {
        "handle": 42,
        "mechanism": CKM_SHA256_RSA_PKCS_PSS,
        "data": b"strongroom wire v1",
        "params": {"type": "PSS", "hash_name": "SHA256", "salt_length": 32},
        "session": 3,
    }


def test_generate_request_with_a_nested_template() -> None:
    """Templates are maps of attribute number to value; WRAP_TEMPLATE nests another."""
    args = _one("request_generate_aes").fields["args"]
    assert args["mechanism"] == CKM_AES_KEY_GEN
    assert args["template"] == {
        CKA_CLASS: CKO_SECRET_KEY,
        CKA_KEY_TYPE: CKK_AES,
        CKA_VALUE_LEN: 32,
        CKA_LABEL: "wire-v1",
        CKA_TOKEN: True,
        CKA_WRAP_TEMPLATE: {CKA_KEY_TYPE: CKK_AES},
    }


def test_wrap_request_with_nested_parameters() -> None:
    """RSA-AES key wrap parameters carry the OAEP parameters as a nested typed map."""
    args = _one("request_wrap_rsa_aes").fields["args"]
    assert args["mechanism"] == CKM_RSA_AES_KEY_WRAP
    assert (args["wrapping_key"], args["key"], args["session"]) == (40, 12, 3)
    assert args["params"] == {
        "type": "RSA_AES_KEY_WRAP",
        "aes_key_bits": 256,
        "oaep": {"type": "OAEP", "hash_name": "SHA256", "mgf_hash_name": None, "label": b""},
    }


def test_answers_carry_their_request_ids() -> None:
    """Answers match requests by id; they came back in completion order (8 before 7)."""
    stream = b"".join(
        bytes.fromhex(_golden()[n]["frame"]) for n in ("ok_generate", "error_sign", "ok_ping")
    )
    ok, error, ping = spec_frames(stream)
    assert (ok.kind, ok.fields) == ("ok", {"request_id": 8, "result": 12})
    assert error.kind == "error"
    assert error.fields == {
        "request_id": 7,
        "code": "KEY_FUNCTION_NOT_PERMITTED",
        "message": "the key may not sign",
    }
    assert (ping.kind, ping.fields) == ("ok", {"request_id": 10, "result": None})


def test_connection_level_error() -> None:
    """An error with request id 0 is about the connection itself."""
    message = _one("connection_error")
    assert message.kind == "error"
    assert message.fields["request_id"] == 0
    assert message.fields["code"] == "WIRE_VERSION_UNSUPPORTED"


# --- the page's refusals, applied to the golden frames -----------------------------------------


def _sign_body() -> bytes:
    return bytes.fromhex(_golden()["request_sign_pss"]["frame"])[4:]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(_sign_body()[:-1], id="cut-short"),
        pytest.param(_sign_body() + b"\x00", id="trailing-byte"),
        pytest.param(b"\xc2\x41\x01", id="tag"),
        pytest.param(bytes.fromhex("8401f93c006161a0"), id="float-id"),
        pytest.param(b"\x81" * 17 + b"\x00", id="17-levels"),
        pytest.param(bytes.fromhex("8401076161a2616101616102"), id="repeated-key"),
        pytest.param(bytes.fromhex("9f01076161a0ff"), id="indefinite"),
        pytest.param(bytes.fromhex("84040761 61a0"), id="unknown-kind"),
        pytest.param(bytes.fromhex("8301076161"), id="short-request"),
        pytest.param(bytes.fromhex("84011b80000000000000006161a0"), id="id-2^63"),
        pytest.param(bytes.fromhex("8401206161a0"), id="negative-id"),
    ],
)
def test_spec_decoder_refuses_what_the_page_forbids(body: bytes) -> None:
    """The page's rules alone refuse a cut, tagged, float, deep or misshapen body."""
    with pytest.raises(SpecError):
        spec_message(body)


def test_spec_decoder_refuses_a_frame_over_the_limit() -> None:
    """A length over 67,174,400 is refused from its four bytes alone."""
    with pytest.raises(SpecError):
        spec_frames((MAX_FRAME + 1).to_bytes(4, "big"))
