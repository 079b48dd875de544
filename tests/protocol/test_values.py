"""Mechanism parameters and templates on the wire: lossless round trips, strict refusals.

Every parameter class in ``PARAM_TYPES`` has a strategy here (a test fails when a class is
added without one); each round-trips through ``encode_params``/``decode_params`` and through a
whole request frame. Malformed parameters are MECHANISM_PARAM_INVALID, malformed templates
COMMAND_INVALID.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Final, get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.constants import Attribute, KeyType, ObjectClass
from strongroom.errors import CommandInvalid, MechanismParamInvalid
from strongroom.model import params as p
from strongroom.protocol import (
    COMMANDS,
    Request,
    check_args,
    decode_message,
    decode_params,
    decode_template,
    encode_message,
    encode_params,
    encode_template,
)
from strongroom.protocol.frames import HEADER_SIZE
from strongroom.protocol.values import PARAM_TYPES

_HASHES = st.sampled_from(p.SHA2_HASHES)
_BYTES = st.binary(max_size=40)


@st.composite
def _ecdh(draw: st.DrawFn) -> p.ECDH1DeriveParams:
    kdf = draw(st.sampled_from(get_args(p.ECDHKDF)))
    shared = b"" if kdf == "NULL" else draw(_BYTES)
    return p.ECDH1DeriveParams(draw(st.binary(min_size=1, max_size=133)), kdf, shared)


@st.composite
def _hkdf(draw: st.DrawFn) -> p.HKDFParams:
    extract, expand = draw(st.sampled_from([(True, True), (True, False), (False, True)]))
    info = draw(_BYTES) if expand else b""
    return p.HKDFParams(draw(_HASHES), draw(st.none() | _BYTES), info, extract, expand)


_OAEP = st.builds(p.OAEPParams, _HASHES, st.none() | _HASHES, _BYTES)

STRATEGIES: Final[dict[str, st.SearchStrategy[Any]]] = {
    "GCM": st.builds(p.GCMParams, st.none() | st.binary(min_size=12, max_size=12), _BYTES),
    "CTR": st.builds(p.CTRParams, st.binary(min_size=16, max_size=16), st.integers(1, 128)),
    "PSS": st.builds(p.PSSParams, _HASHES, st.none() | st.integers(0, 512)),
    "OAEP": _OAEP,
    "RSA_AES_KEY_WRAP": st.builds(p.RSAAESKeyWrapParams, st.sampled_from([128, 192, 256]), _OAEP),
    "EDDSA": st.just(p.EdDSAParams()),
    "MLDSA": st.builds(p.MLDSAParams, st.binary(max_size=255)),
    "ECDH1_DERIVE": _ecdh(),
    "SP800_108": st.builds(p.SP800108Params, st.sampled_from(get_args(p.KBKDFPRF)), _BYTES, _BYTES),
    "HKDF": _hkdf(),
}
"""Valid values of every parameter type, by wire name."""

_ANY_PARAMS = st.one_of(*STRATEGIES.values())


def test_every_parameter_type_has_a_strategy() -> None:
    """The round trips below cover exactly the classes the wire knows."""
    assert set(STRATEGIES) == set(PARAM_TYPES)


@settings(max_examples=300)
@given(_ANY_PARAMS)
def test_parameters_round_trip(params: object) -> None:
    """``decode_params(encode_params(x)) == x``, of the same class, with every field named."""
    encoded = encode_params(params)
    assert isinstance(encoded, dict)
    assert PARAM_TYPES[encoded["type"]] is type(params)
    assert set(encoded) == {"type"} | {
        f.name for f in dataclasses.fields(PARAM_TYPES[encoded["type"]])
    }
    decoded = decode_params(encoded)
    assert decoded == params
    assert type(decoded) is type(params)


@settings(max_examples=200)
@given(_ANY_PARAMS)
def test_parameters_cross_the_wire_inside_a_request(params: object) -> None:
    """Encoded, framed, decoded and checked against the command table, parameters survive."""
    request = Request(
        1,
        "crypto.sign",
        {"session": 1, "handle": 2, "mechanism": 3, "data": b"", "params": encode_params(params)},
    )
    received = decode_message(encode_message(request)[HEADER_SIZE:])
    assert isinstance(received, Request)
    assert check_args(COMMANDS["crypto.sign"], received.args)["params"] == params


def test_oaep_nests_inside_rsa_aes_key_wrap() -> None:
    """RSA-AES key wrap carries its OAEP parameters as a nested typed map."""
    params = p.RSAAESKeyWrapParams(192, p.OAEPParams("SHA512", "SHA1", b"label"))
    encoded = encode_params(params)
    assert encoded == {
        "type": "RSA_AES_KEY_WRAP",
        "aes_key_bits": 192,
        "oaep": {"type": "OAEP", "hash_name": "SHA512", "mgf_hash_name": "SHA1", "label": b"label"},
    }
    assert decode_params(encoded) == params


@pytest.mark.parametrize("name", [n for n in PARAM_TYPES if n not in ("CTR", "ECDH1_DERIVE")])
def test_absent_fields_take_their_defaults(name: str) -> None:
    """A map holding only its type is the class with every default."""
    assert decode_params({"type": name}) == PARAM_TYPES[name]()


def test_no_parameters_stay_none() -> None:
    """``None`` means the mechanism takes no parameters, both ways."""
    assert encode_params(None) is None
    assert decode_params(None) is None


def test_byte_string_parameters_pass_as_they_are() -> None:
    """A plain byte-string parameter (an IV) crosses the wire unchanged, both ways."""
    iv = bytes(range(16))
    assert encode_params(iv) == iv
    assert decode_params(iv) == iv


@pytest.mark.parametrize("value", [object(), 5, "PSS", {"type": "PSS"}, bytearray(b"iv")])
def test_only_parameter_objects_encode(value: object) -> None:
    """Anything but a parameter object, bytes or None is refused on the way out."""
    with pytest.raises(MechanismParamInvalid):
        encode_params(value)


_BAD_PARAMS: Final[dict[str, object]] = {
    "text": "PSS",
    "int": 5,
    "bool": True,
    "array": [{"type": "PSS"}],
    "no-type": {"hash_name": "SHA256"},
    "empty": {},
    "unknown-type": {"type": "NOPE"},
    "type-null": {"type": None},
    "type-int": {"type": 1},
    "type-lowercase": {"type": "pss"},
    "unknown-field": {"type": "PSS", "salt": 32},
    "int-field-name": {"type": "PSS", 1: 32},
    "ctr-incomplete": {"type": "CTR"},
    "ecdh-incomplete": {"type": "ECDH1_DERIVE"},
    "gcm-iv-11": {"type": "GCM", "iv": bytes(11)},
    "gcm-iv-text": {"type": "GCM", "iv": "000000000000"},
    "gcm-aad-text": {"type": "GCM", "aad": "aad"},
    "gcm-tag-96": {"type": "GCM", "tag_bits": 96},
    "ctr-block-15": {"type": "CTR", "counter_block": bytes(15)},
    "ctr-bits-0": {"type": "CTR", "counter_block": bytes(16), "counter_bits": 0},
    "ctr-bits-129": {"type": "CTR", "counter_block": bytes(16), "counter_bits": 129},
    "ctr-bits-bool": {"type": "CTR", "counter_block": bytes(16), "counter_bits": True},
    "pss-md5": {"type": "PSS", "hash_name": "MD5"},
    "pss-sha3": {"type": "PSS", "hash_name": "SHA3-256"},
    "pss-salt-negative": {"type": "PSS", "salt_length": -1},
    "pss-salt-513": {"type": "PSS", "salt_length": 513},
    "pss-salt-bool": {"type": "PSS", "salt_length": True},
    "pss-salt-text": {"type": "PSS", "salt_length": "32"},
    "oaep-mgf-md5": {"type": "OAEP", "mgf_hash_name": "MD5"},
    "oaep-label-text": {"type": "OAEP", "label": "label"},
    "oaep-label-65537": {"type": "OAEP", "label": bytes(65537)},
    "wrap-aes-512": {"type": "RSA_AES_KEY_WRAP", "aes_key_bits": 512},
    "wrap-oaep-text": {"type": "RSA_AES_KEY_WRAP", "oaep": "OAEP"},
    "wrap-oaep-gcm": {"type": "RSA_AES_KEY_WRAP", "oaep": {"type": "GCM"}},
    "wrap-oaep-untyped": {"type": "RSA_AES_KEY_WRAP", "oaep": {"hash_name": "SHA256"}},
    "wrap-oaep-bad-hash": {"type": "RSA_AES_KEY_WRAP", "oaep": {"type": "OAEP", "hash_name": "X"}},
    "eddsa-prehash": {"type": "EDDSA", "prehash": True},
    "eddsa-context": {"type": "EDDSA", "context": b"ctx"},
    "mldsa-context-256": {"type": "MLDSA", "context": bytes(256)},
    "mldsa-context-text": {"type": "MLDSA", "context": "ctx"},
    "ecdh-point-text": {"type": "ECDH1_DERIVE", "public_data": "04"},
    "ecdh-point-1025": {"type": "ECDH1_DERIVE", "public_data": bytes(1025)},
    "ecdh-kdf-unknown": {"type": "ECDH1_DERIVE", "public_data": b"\x04", "kdf": "MD5"},
    "ecdh-null-shared": {
        "type": "ECDH1_DERIVE",
        "public_data": b"\x04",
        "kdf": "NULL",
        "shared_data": b"x",
    },
    "kbkdf-prf-unknown": {"type": "SP800_108", "prf": "HMAC-MD5"},
    "kbkdf-label-text": {"type": "SP800_108", "label": "label"},
    "hkdf-neither": {"type": "HKDF", "extract": False, "expand": False},
    "hkdf-info-without-expand": {"type": "HKDF", "expand": False, "info": b"info"},
    "hkdf-salt-text": {"type": "HKDF", "salt": "salt"},
}


@pytest.mark.parametrize("value", list(_BAD_PARAMS.values()), ids=list(_BAD_PARAMS))
def test_bad_parameters_are_refused(value: object) -> None:
    """Malformed, unknown, incomplete or out-of-range parameters: MECHANISM_PARAM_INVALID."""
    with pytest.raises(MechanismParamInvalid):
        decode_params(value)


@pytest.mark.parametrize("type_value", [[], {}, ["PSS"]], ids=["array", "map", "array-of-name"])
def test_an_unhashable_type_is_refused(type_value: object) -> None:
    """A ``"type"`` that is an array or a map is MECHANISM_PARAM_INVALID, not a crash."""
    with pytest.raises(MechanismParamInvalid):
        decode_params({"type": type_value})


# --- templates -------------------------------------------------------------------------------


def test_templates_travel_as_numbers() -> None:
    """Attribute keys and enum values become their PKCS#11 numbers; nesting stays a map."""
    template = {
        Attribute.CLASS: ObjectClass.SECRET_KEY,
        Attribute.KEY_TYPE: KeyType.AES,
        Attribute.LABEL: "label",
        Attribute.ID: b"\x01",
        Attribute.SENSITIVE: True,
        Attribute.VALUE_LEN: 32,
        Attribute.WRAP_TEMPLATE: {Attribute.CLASS: ObjectClass.SECRET_KEY},
    }
    encoded = encode_template(template)
    assert encoded == {
        0x0: 4,
        0x100: 0x1F,
        0x3: "label",
        0x102: b"\x01",
        0x103: True,
        0x161: 32,
        0x40000211: {0x0: 4},
    }
    assert all(type(k) is int for k in encoded)
    assert type(encoded[0]) is int
    assert encoded[0x103] is True
    assert decode_template(encoded) == encoded


def test_no_template_is_empty() -> None:
    """``encode_template(None)`` is the empty map."""
    assert encode_template(None) == {}


_TEMPLATE_VALUES = st.one_of(
    st.booleans(), st.integers(-(2**63), 2**64 - 1), st.binary(max_size=20), st.text(max_size=20)
)
_ATTRIBUTES = st.integers(0, 2**32 - 1)
templates = st.dictionaries(
    _ATTRIBUTES,
    _TEMPLATE_VALUES | st.dictionaries(_ATTRIBUTES, _TEMPLATE_VALUES, max_size=3),
    max_size=6,
)


@settings(max_examples=200)
@given(templates)
def test_templates_cross_the_wire_inside_a_request(template: dict[int, Any]) -> None:
    """A template framed in a key.generate request comes out equal, keys still integers."""
    request = Request(1, "key.generate", {"session": 1, "mechanism": 0x1080, "template": template})
    received = decode_message(encode_message(request)[HEADER_SIZE:])
    assert isinstance(received, Request)
    checked = check_args(COMMANDS["key.generate"], received.args)
    assert checked["template"] == template


@pytest.mark.parametrize(
    "value",
    [
        None,
        [],
        [[0, 4]],
        "template",
        b"\xa1\x00\x04",
        {"0": 4},
        {b"\x00": 4},
        {True: 4},
        {0: [4]},
        {0: {"0": 4}},
        {0: {1: [4]}},
        {0: {1: {"x": 1}}},
    ],
    ids=repr,
)
def test_malformed_templates_are_refused(value: object) -> None:
    """A template is a map of attribute number to a scalar or a nested template."""
    with pytest.raises(CommandInvalid):
        decode_template(value)
