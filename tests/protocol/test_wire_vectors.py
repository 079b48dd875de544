"""Wire v1 known-answer vectors: the production code makes and reads the frozen frames.

tests/golden/wire-v1.json pins the exact bytes of a few frames (hellos, requests with
mechanism parameters and a template, answers, a connection-level error) together with their
meaning in CBOR diagnostic notation (RFC 8949 §8). ``encode_message`` must reproduce each
frame byte for byte and ``decode_message`` must read it back; test_spec_decoder.py reads the
same frames with nothing but docs/formats/wire-v1.md. Set STRONGROOM_WRITE_GOLDEN=1 to
rewrite the file after a deliberate change (which is a new wire version, not an edit).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Final

import cbor2
import pytest

from strongroom.constants import Attribute, KeyType, Mechanism, ObjectClass
from strongroom.model.params import OAEPParams, PSSParams, RSAAESKeyWrapParams
from strongroom.protocol import (
    COMMANDS,
    DEFAULT_MAX_FRAME,
    ErrorResponse,
    FrameDecoder,
    Hello,
    Message,
    OkResponse,
    Request,
    check_args,
    decode_message,
    encode_message,
    encode_params,
    encode_template,
)

GOLDEN: Final = Path(__file__).resolve().parents[1] / "golden" / "wire-v1.json"
SESSION: Final = 3

VECTORS: Final[dict[str, tuple[str, Message]]] = {
    "client_hello": (
        "the client's hello: it speaks wire version 1",
        Hello({"wire": [1], "agent": "strongroom 1.0.0"}),
    ),
    "server_hello": (
        "the HSM's hello: version 1 chosen, its id, its frame limit, a client certificate seen",
        Hello(
            {
                "wire": 1,
                "hsm_id": "5f1c0a9e3b7d2468",
                "server": "strongroom 1.0.0",
                "max_frame": DEFAULT_MAX_FRAME,
                "mtls": True,
            }
        ),
    ),
    "request_sign_pss": (
        "request 7: crypto.sign with key 42, CKM_SHA256_RSA_PKCS_PSS, PSS parameters",
        Request(
            7,
            "crypto.sign",
            {
                "handle": 42,
                "mechanism": int(Mechanism.SHA256_RSA_PKCS_PSS),
                "data": b"strongroom wire v1",
                "params": encode_params(PSSParams("SHA256", 32)),
                "session": SESSION,
            },
        ),
    ),
    "request_generate_aes": (
        "request 8: key.generate, CKM_AES_KEY_GEN, a template with a nested WRAP_TEMPLATE",
        Request(
            8,
            "key.generate",
            {
                "mechanism": int(Mechanism.AES_KEY_GEN),
                "template": encode_template(
                    {
                        Attribute.CLASS: ObjectClass.SECRET_KEY,
                        Attribute.KEY_TYPE: KeyType.AES,
                        Attribute.VALUE_LEN: 32,
                        Attribute.LABEL: "wire-v1",
                        Attribute.TOKEN: True,
                        Attribute.WRAP_TEMPLATE: {Attribute.KEY_TYPE: KeyType.AES},
                    }
                ),
                "session": SESSION,
            },
        ),
    ),
    "request_wrap_rsa_aes": (
        "request 9: key.wrap, CKM_RSA_AES_KEY_WRAP, OAEP parameters nested in the wrap's",
        Request(
            9,
            "key.wrap",
            {
                "mechanism": int(Mechanism.RSA_AES_KEY_WRAP),
                "wrapping_key": 40,
                "key": 12,
                "params": encode_params(RSAAESKeyWrapParams(256, OAEPParams("SHA256"))),
                "session": SESSION,
            },
        ),
    ),
    "ok_generate": (
        "answer to request 8 (it finished first): the new key's handle, 12",
        OkResponse(8, 12),
    ),
    "error_sign": (
        "answer to request 7: an error with its stable code",
        ErrorResponse(7, "KEY_FUNCTION_NOT_PERMITTED", "the key may not sign"),
    ),
    "ok_ping": (
        "answer to request 10 (wire.ping): null",
        OkResponse(10, None),
    ),
    "connection_error": (
        "a connection-level error (request id 0): the HSM closes the connection after it",
        ErrorResponse(0, "WIRE_VERSION_UNSUPPORTED", "this HSM speaks wire version 1 only"),
    ),
}


def diagnostic(value: Any) -> str:
    """CBOR diagnostic notation (RFC 8949 §8) for the plain values a frame holds."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        return f"h'{value.hex()}'"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(diagnostic(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{diagnostic(k)}: {diagnostic(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value).__name__)


def compute() -> dict[str, dict[str, str]]:
    """Every v1 vector, from the production encoder."""
    out: dict[str, dict[str, str]] = {}
    for name, (meaning, message) in VECTORS.items():
        frame = encode_message(message)
        out[name] = {
            "meaning": meaning,
            "diagnostic": diagnostic(cbor2.loads(frame[4:])),
            "frame": frame.hex(),
        }
    return out


def golden() -> dict[str, dict[str, str]]:
    """The frozen vectors."""
    loaded: dict[str, dict[str, str]] = json.loads(GOLDEN.read_text(encoding="utf-8"))
    return loaded


def test_vectors_match_golden_file() -> None:
    """The production encoder reproduces every frozen v1 frame, byte for byte."""
    computed = compute()
    if os.environ.get("STRONGROOM_WRITE_GOLDEN") == "1":  # pragma: no cover - maintainers only
        GOLDEN.write_text(json.dumps(computed, indent=2, ensure_ascii=False) + "\n")
    assert computed == golden()


@pytest.mark.parametrize("name", list(VECTORS))
def test_golden_frame_decodes_to_its_message(name: str) -> None:
    """``decode_message`` reads each golden frame back into the message that made it."""
    frame = bytes.fromhex(golden()[name]["frame"])
    assert int.from_bytes(frame[:4], "big") == len(frame) - 4
    assert decode_message(frame[4:]) == VECTORS[name][1]


def test_golden_frames_stream_through_one_decoder() -> None:
    """All golden frames back to back, fed one byte at a time, come out whole and in order."""
    stream = b"".join(bytes.fromhex(v["frame"]) for v in golden().values())
    decoder = FrameDecoder()
    out = [message for i in range(len(stream)) for message in decoder.feed(stream[i : i + 1])]
    assert out == [message for _, message in VECTORS.values()]
    assert decoder.pending == 0


@pytest.mark.parametrize("name", [n for n, (_, m) in VECTORS.items() if isinstance(m, Request)])
def test_golden_requests_pass_the_command_table(name: str) -> None:
    """Each golden request is one the server accepts: its arguments pass ``check_args``."""
    request = VECTORS[name][1]
    assert isinstance(request, Request)
    checked = check_args(COMMANDS[request.command], request.args)
    assert checked["session"] == SESSION
