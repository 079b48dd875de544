"""Hypothesis strategies for wire values and messages, shared by the protocol tests."""

from __future__ import annotations

from typing import Any, Final

from hypothesis import strategies as st

from strongroom.protocol import ErrorResponse, Hello, Message, OkResponse, Request

CBOR_INT: Final = st.integers(min_value=-(2**64), max_value=2**64 - 1)
"""Every integer CBOR carries without a tag."""
SCALARS: Final = st.one_of(
    st.none(), st.booleans(), CBOR_INT, st.binary(max_size=40), st.text(max_size=20)
)
KEYS: Final = st.one_of(st.text(max_size=10), CBOR_INT)
REQUEST_IDS: Final = st.integers(min_value=1, max_value=2**63 - 1)
"""Request ids (0 is reserved for connection-level errors)."""
ANSWER_IDS: Final = st.integers(min_value=0, max_value=2**63 - 1)


def plain(depth: int = 4) -> st.SearchStrategy[Any]:
    """Values the protocol carries: scalars, arrays and maps nested at most ``depth`` deep."""
    if depth == 0:
        return SCALARS
    inner = plain(depth - 1)
    return st.one_of(
        SCALARS,
        st.lists(inner, max_size=3),
        st.dictionaries(KEYS, inner, max_size=3),
    )


messages: st.SearchStrategy[Message] = st.one_of(
    st.builds(Hello, st.dictionaries(KEYS, plain(3), max_size=5)),
    st.builds(
        Request,
        REQUEST_IDS,
        st.text(max_size=24),
        st.dictionaries(st.text(max_size=12), plain(3), max_size=5),
    ),
    st.builds(OkResponse, REQUEST_IDS, plain(4)),
    st.builds(ErrorResponse, REQUEST_IDS, st.text(max_size=30), st.text(max_size=60)),
)
"""Any well-formed message of the four kinds."""
