"""The bridge as p11-kit ≥ 0.25 clients see it: protocol 1 and 2 encodings, against a live
cluster. Multi-part AES-GCM — which Debian 12's p11-kit cannot forward — runs end to end."""

from __future__ import annotations

import pytest

from strongroom.constants import Attribute, KeyType, Mechanism, ObjectClass
from strongroom.pkcs11.token import SLOT_ID

from .conftest import Bridge
from .rpc_client import Client, RPCError, attribute, byte_array, raw, template, u32, ulong

pytestmark = [pytest.mark.xdist_group("pkcs11-tools"), pytest.mark.timeout(300)]

CKF_SERIAL_RW = 0x4 | 0x2
CKU_USER = 1
IV = bytes(range(12))
AAD = b"header"


def _gcm(version: int) -> bytes:
    params = raw(IV) + ulong(96) + raw(AAD) + ulong(128)
    flag = b"\x01" if version >= 2 else b""
    return u32(Mechanism.AES_GCM) + flag + params


def _session(bridge: Bridge, version: int) -> tuple[Client, bytes]:
    client = Client(bridge.socket, version)
    handle = client.call(10, ulong(SLOT_ID) + ulong(CKF_SERIAL_RW)).ulong()
    session = ulong(handle)
    client.call(18, session + ulong(CKU_USER) + byte_array(bridge.pin.encode()))
    return client, session


@pytest.mark.parametrize("version", [1, 2])
def test_multi_part_gcm_round_trip(bridge: Bridge, version: int) -> None:
    client, session = _session(bridge, version)
    try:
        assert client.version == 1  # the bridge answers min(client's, 1)
        key_template = template(
            attribute(Attribute.CLASS, ObjectClass.SECRET_KEY),
            attribute(Attribute.KEY_TYPE, KeyType.AES),
            attribute(Attribute.VALUE_LEN, 32),
            attribute(Attribute.ENCRYPT, True),
            attribute(Attribute.DECRYPT, True),
        )
        keygen = u32(Mechanism.AES_KEY_GEN) + (b"" if version >= 2 else raw(None))
        key = client.call(58, session + keygen + key_template).ulong()
        plaintext = b"multi-part AES-GCM through the p11-kit bridge, protocol " + bytes(
            [48 + version]
        )
        client.call(29, session + _gcm(version) + ulong(key))
        out = b""
        for chunk in (plaintext[:20], plaintext[20:]):
            reader = client.call(31, session + byte_array(chunk) + u32(4096))
            assert reader.byte() == 1
            out += reader.raw() or b""
        final = client.call(32, session + u32(4096))
        assert final.byte() == 1
        ciphertext = out + (final.raw() or b"")
        assert len(ciphertext) == len(plaintext) + 16

        client.call(33, session + _gcm(version) + ulong(key))
        got = b""
        for chunk in (ciphertext[:7], ciphertext[7:]):
            reader = client.call(35, session + byte_array(chunk) + u32(4096))
            reader.byte()
            got += reader.raw() or b""
        final = client.call(36, session + u32(4096))
        final.byte()
        assert got + (final.raw() or b"") == plaintext

        tampered = ciphertext[:-1] + bytes([ciphertext[-1] ^ 1])
        client.call(33, session + _gcm(version) + ulong(key))
        client.call(35, session + byte_array(tampered) + u32(4096))
        with pytest.raises(RPCError) as failed:
            client.call(36, session + u32(4096))
        assert failed.value.rv == 0x40  # CKR_ENCRYPTED_DATA_INVALID
    finally:
        client.close()


def test_size_query_and_short_buffer_in_protocol_1(bridge: Bridge) -> None:
    client, session = _session(bridge, 1)
    try:
        digest = u32(Mechanism.SHA256) + raw(None)
        client.call(37, session + digest)
        data = byte_array(b"abc")
        query = client.call(38, session + data + u32(0))  # NULL buffer: the length
        assert query.byte() == 0
        assert query.u32() == 32
        short = client.call(38, session + data + u32(16))  # too small: still the length
        assert short.byte() == 0
        assert short.u32() == 32
        full = client.call(38, session + data + u32(32))
        assert full.byte() == 1
        assert len(full.raw() or b"") == 32
        with pytest.raises(RPCError) as ended:  # the operation ended with the answer
            client.call(38, session + data + u32(32))
        assert ended.value.rv == 0x91  # CKR_OPERATION_NOT_INITIALIZED
    finally:
        client.close()


def test_null_mechanism_cancels_in_protocol_1(bridge: Bridge) -> None:
    client, session = _session(bridge, 1)
    try:
        client.call(37, session + u32(Mechanism.SHA256) + raw(None))
        with pytest.raises(RPCError) as active:
            client.call(37, session + u32(Mechanism.SHA256) + raw(None))
        assert active.value.rv == 0x90  # CKR_OPERATION_ACTIVE
        client.call(37, session + u32(0xFFFFFFFF))  # cancel
        client.call(37, session + u32(Mechanism.SHA256) + raw(None))
    finally:
        client.close()


def test_get_attribute_value_answers_each_attribute(bridge: Bridge) -> None:
    """Per-attribute results in the order asked; one rv for the worst (sensitive first)."""
    client, session = _session(bridge, 0)
    try:
        key = client.call(
            58,
            session
            + u32(Mechanism.AES_KEY_GEN)
            + raw(None)
            + template(
                attribute(Attribute.VALUE_LEN, 16),
                attribute(Attribute.LABEL, b"attrs"),
                attribute(Attribute.SENSITIVE, True),
            ),
        ).ulong()
        wanted = [
            (Attribute.LABEL, 0),  # size query
            (Attribute.VALUE, 64),  # key material
            (0x7777, 8),  # no such attribute
            (Attribute.VALUE_LEN, 4),  # a CK_ULONG does not fit in 4 bytes
            (Attribute.TOKEN, 1),
        ]
        request = u32(len(wanted)) + b"".join(u32(kind) + u32(size) for kind, size in wanted)
        reader = client.call(24, session + ulong(key) + request)
        assert reader.u32() == len(wanted)
        seen = []
        for kind, _ in wanted:
            assert reader.u32() == kind
            valid = reader.byte()
            if valid:
                reader.u32()
                value = reader.byte() if kind == Attribute.TOKEN else reader.raw()
                seen.append((kind, value))
            else:
                seen.append((kind, None))
        assert reader.ulong() == 0x11  # CKR_ATTRIBUTE_SENSITIVE outranks the others
        reader.done()
        assert seen == [
            (Attribute.LABEL, b"attrs"),
            (Attribute.VALUE, None),
            (0x7777, None),
            (Attribute.VALUE_LEN, None),
            (Attribute.TOKEN, 0),
        ]
    finally:
        client.close()
