"""The template codec: canonical bytes and lossless round trips."""

from __future__ import annotations

from typing import Any

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.constants import Attribute, KeyType, ObjectClass
from strongroom.errors import StoreCorrupt
from strongroom.model.codec import decode_template, encode_template
from strongroom.model.templates import Template

_VALUES: dict[Attribute, st.SearchStrategy[Any]] = {
    Attribute.LABEL: st.text(max_size=20),
    Attribute.ID: st.binary(max_size=20),
    Attribute.TOKEN: st.booleans(),
    Attribute.SENSITIVE: st.booleans(),
    Attribute.VALUE_LEN: st.integers(min_value=0, max_value=2**40),
    Attribute.CLASS: st.sampled_from(list(ObjectClass)),
    Attribute.KEY_TYPE: st.sampled_from(list(KeyType)),
    Attribute.MODULUS: st.binary(min_size=1, max_size=64),
}


@st.composite
def templates(draw: st.DrawFn) -> Template:
    """Random templates, sometimes with a nested WRAP_TEMPLATE."""
    keys = draw(st.lists(st.sampled_from(list(_VALUES)), unique=True))
    out: Template = {k: draw(_VALUES[k]) for k in keys}
    if draw(st.booleans()):
        inner_keys = draw(st.lists(st.sampled_from(list(_VALUES)), unique=True, max_size=3))
        out[Attribute.WRAP_TEMPLATE] = {k: draw(_VALUES[k]) for k in inner_keys}
    return out


@settings(max_examples=200)
@given(templates())
def test_encoding_is_canonical_and_round_trips(template: Template) -> None:
    """encode_template gives RFC 8949 canonical bytes and decodes back to the same template."""
    encoded = encode_template(template)
    assert encoded == cbor2.dumps(cbor2.loads(encoded), canonical=True)
    assert decode_template(encoded) == template


@pytest.mark.parametrize("data", [b"", b"\xff", cbor2.dumps([1, 2]), cbor2.dumps({"x": 1})])
def test_malformed_maps_are_corruption(data: bytes) -> None:
    """Bytes that are not an attribute map raise STORE_CORRUPT."""
    with pytest.raises(StoreCorrupt):
        decode_template(data)
