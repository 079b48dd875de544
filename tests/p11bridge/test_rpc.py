"""The p11-kit RPC codec without a cluster: golden frames, bounds, the CK_RV table, and
malformed frames (Hypothesis) against a live bridge process."""

from __future__ import annotations

import socket
import struct

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from strongroom.errors import all_error_classes
from strongroom.model.params import GCMParams, OAEPParams, PSSParams
from strongroom.pkcs11.ck import CKR, ERROR_RV
from strongroom.pkcs11.mechanisms import read_mechanism
from strongroom.pkcs11.rpc import HANDSHAKE, ParseError, Reader, parse_header
from strongroom.pkcs11.token import Application, Token

from .conftest import Bridge


def _app() -> Application:
    token = Token.__new__(Token)  # no cluster: these calls never reach one
    return Application(token)


def _hex(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


# Frames captured from p11-kit 0.24.1 (../shared/research/pkcs11-p11kit-rpc.md §4.11).
INITIALIZE = (
    _hex("00000001 00000005 6179796179 01 00000029") + HANDSHAKE + _hex("00 01 00000001 00")
)


def test_golden_initialize_and_slot_list() -> None:
    app = _app()
    assert app.handle(INITIALIZE) == _hex("00000001 00000000")
    size_query = _hex("00000004 00000003 796675 00 00000000")
    assert app.handle(size_query) == _hex("00000004 00000002 6175 00 00000001")
    listing = _hex("00000004 00000003 796675 00 00000001")
    assert app.handle(listing) == _hex("00000004 00000002 6175 01 00000001 0000000000000001")


def test_calls_before_initialize_and_unknown_calls() -> None:
    app = _app()
    not_initialized = _hex("00000000 00000001 75") + struct.pack(">Q", 0x190)
    assert app.handle(_hex("00000003 00000000")) == not_initialized
    app.handle(INITIALIZE)
    unsupported = _hex("00000000 00000001 75") + struct.pack(">Q", CKR.FUNCTION_NOT_SUPPORTED)
    assert app.handle(_hex("00000042 00000000")) == unsupported  # a PKCS#11 3.0 call
    device_error = _hex("00000000 00000001 75") + struct.pack(">Q", CKR.DEVICE_ERROR)
    assert app.handle(_hex("00000003 00000001 75")) == device_error  # wrong signature
    assert app.handle(_hex("00000003 00000000 ff")) == device_error  # trailing byte
    info = app.handle(_hex("00000003 00000000"))
    assert info.startswith(_hex("00000003 00000005 7673757376 0228 00000020"))
    assert b"Strongroom" in info


@pytest.mark.parametrize("cls", all_error_classes(), ids=lambda c: c.code)
def test_every_error_code_has_a_ck_rv(cls: type) -> None:
    assert cls.code in ERROR_RV  # type: ignore[attr-defined]


def test_header_bounds() -> None:
    with pytest.raises(ParseError):
        parse_header(struct.pack(">III", 0, 0, 0))
    with pytest.raises(ParseError):
        parse_header(struct.pack(">III", 16, 0, 0x7FFFFFFF))
    assert parse_header(struct.pack(">III", 16, 6, 66)).body_length == 66


def test_null_byte_array_consumes_its_length() -> None:
    reader = Reader(_hex("00 00000000 01 00000002 abcd"))
    assert reader.byte_array() is None
    assert reader.byte_array() == b"\xab\xcd"
    reader.done()
    with pytest.raises(ParseError):
        Reader(_hex("01 00000009 ab")).byte_array()


def test_mechanisms_per_client_generation() -> None:
    pss = _hex("0000000d 0000000000000250 0000000000000002 0000000000000020")
    decoded = read_mechanism(Reader(pss, 0))
    assert decoded.params == PSSParams("SHA256", 32)
    ecdsa_v0 = read_mechanism(Reader(_hex("00001041 ffffffff"), 0))
    assert ecdsa_v0.mechanism == 0x1041
    assert ecdsa_v0.params is None
    ecdsa_v2 = Reader(_hex("00001041"), 2)
    assert read_mechanism(ecdsa_v2).params is None
    ecdsa_v2.done()
    oaep = _hex("00000009 0000000000000250 0000000000000002 0000000000000001 00000003 6c6162")
    assert read_mechanism(Reader(oaep, 1)).params == OAEPParams("SHA256", "SHA256", b"lab")
    gcm = _hex("00001087 0000000c") + bytes(12) + _hex("0000000000000060 00000000 0000000000000080")
    assert read_mechanism(Reader(gcm, 1)).params == GCMParams(bytes(12), b"", 128)
    with_flag = _hex("00001087 01 0000000c") + bytes(12) + gcm[20:]
    assert read_mechanism(Reader(with_flag, 2)).params == GCMParams(bytes(12), b"", 128)


def _connect(bridge: Bridge) -> socket.socket:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(10)
    conn.connect(str(bridge.socket))
    conn.sendall(b"\x00")
    assert conn.recv(1) == b"\x00"
    return conn


def _request(conn: socket.socket, code: int, body: bytes) -> bytes:
    conn.sendall(struct.pack(">III", code, 6, len(body)) + b"client" + body)
    head = b""
    while len(head) < 12:
        head += conn.recv(12 - len(head))
    got_code, options, length = struct.unpack(">III", head)
    assert got_code == code
    assert options == 0
    data = b""
    while len(data) < length:
        data += conn.recv(length - len(data))
    return data


@pytest.mark.xdist_group("pkcs11-tools")
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    call=st.integers(0, 100),
    sig=st.binary(max_size=12),
    args=st.binary(max_size=300),
)
@example(call=2, sig=b"", args=b"")  # a well-formed C_Finalize, found by Hypothesis in CI
def test_malformed_frames_get_an_answer_and_the_bridge_lives(
    bridge: Bridge, call: int, sig: bytes, args: bytes
) -> None:
    conn = _connect(bridge)
    try:
        _request(conn, 0x10, INITIALIZE)
        body = struct.pack(">I", call) + struct.pack(">I", len(sig)) + sig + args
        answer = _request(conn, 0x11, body)
        assert len(answer) >= 8
        if answer[:4] == b"\x00\x00\x00\x00":  # an error answer carries a non-zero CK_RV
            assert struct.unpack(">Q", answer[-8:])[0] != 0
        # the same connection still answers (a well-formed C_Finalize, call 2 with no
        # arguments, legitimately leaves it uninitialised)
        info = _request(conn, 0x12, _hex("00000003 00000000"))
        if body == _hex("00000002 00000000"):
            assert info == _hex("00000000 00000001 75 0000000000000190")
        else:
            assert info[:4] == b"\x00\x00\x00\x03"
    finally:
        conn.close()
    assert bridge.alive()


@pytest.mark.xdist_group("pkcs11-tools")
def test_hostile_headers_close_only_that_connection(bridge: Bridge) -> None:
    conn = _connect(bridge)
    conn.sendall(struct.pack(">III", 0x10, 0, 0x7FFFFFFF))
    assert conn.recv(1) == b""  # closed, not waiting for 2 GiB
    conn.close()
    other = _connect(bridge)
    try:
        assert _request(other, 0x10, INITIALIZE) == _hex("00000001 00000000")
    finally:
        other.close()
    assert bridge.alive()
