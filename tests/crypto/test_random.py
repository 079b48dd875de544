"""Behaviour of the random sources: sizes, the continuous health test and the test fake."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.crypto.random import DeterministicRandom, RandomSource, SystemRandom
from strongroom.errors import ArgumentsBad, SelfTestFailed


def _scripted(blocks: list[bytes]) -> Callable[[int], bytes]:
    """A fake entropy source that hands out the given blocks in order."""
    feed: Iterator[bytes] = iter(blocks)

    def source(n: int) -> bytes:
        block = next(feed)
        assert len(block) == n
        return block

    return source


def _block(value: int) -> bytes:
    return bytes([value]) * 16


@pytest.mark.parametrize("n", [0, 1, 15, 16, 17, 32, 100])
def test_system_random_returns_n_bytes(n: int) -> None:
    """SystemRandom returns exactly n bytes."""
    assert len(SystemRandom().random_bytes(n)) == n


def test_system_random_does_not_repeat_itself() -> None:
    """Two 32-byte draws from the OS source differ."""
    source = SystemRandom()
    assert source.random_bytes(32) != source.random_bytes(32)


@pytest.mark.parametrize(
    "source", [SystemRandom(), DeterministicRandom(b"seed")], ids=["system", "deterministic"]
)
def test_negative_count_is_arguments_bad(source: RandomSource) -> None:
    """Asking for a negative number of bytes raises ArgumentsBad."""
    with pytest.raises(ArgumentsBad):
        source.random_bytes(-1)


def test_stuck_source_fails_the_continuous_test_and_stays_failed() -> None:
    """A source that repeats a 16-byte block raises SelfTestFailed, then on every later call."""
    source = SystemRandom(bytes)
    with pytest.raises(SelfTestFailed):
        source.random_bytes(1)
    with pytest.raises(SelfTestFailed):
        source.random_bytes(0)
    assert repr(source) == "SystemRandom(failed)"


def test_repeat_later_in_the_stream_is_caught() -> None:
    """A repeat between consecutive blocks inside one request is caught too."""
    source = SystemRandom(_scripted([_block(1), _block(2), _block(3), _block(3)]))
    with pytest.raises(SelfTestFailed):
        source.random_bytes(48)


def test_repeat_across_requests_is_caught() -> None:
    """The last block of one request is compared with the first block of the next."""
    source = SystemRandom(_scripted([_block(1), _block(2), _block(2)]))
    assert source.random_bytes(16) == _block(2)
    with pytest.raises(SelfTestFailed):
        source.random_bytes(16)


def test_first_block_is_kept_back() -> None:
    """The block drawn at construction is only compared against, never returned."""
    source = SystemRandom(_scripted([_block(1), _block(2), _block(3)]))
    assert source.random_bytes(20) == _block(2) + _block(3)[:4]
    assert repr(source) == "SystemRandom(healthy)"


def test_short_block_from_the_source_fails() -> None:
    """A source returning fewer bytes than asked for raises SelfTestFailed."""
    with pytest.raises(SelfTestFailed):
        SystemRandom(lambda n: bytes(n - 1))


def test_deterministic_random_is_the_documented_sha256_stream() -> None:
    """Output is SHA-256(seed || [0]_64) || SHA-256(seed || [1]_64) || ..."""
    seed = b"test seed"
    expected = b"".join(hashlib.sha256(seed + i.to_bytes(8, "big")).digest() for i in range(3))
    assert DeterministicRandom(seed).random_bytes(96) == expected


@settings(max_examples=50)
@given(seed=st.binary(max_size=32), sizes=st.lists(st.integers(0, 70), max_size=6))
def test_deterministic_random_is_one_continuous_stream(seed: bytes, sizes: list[int]) -> None:
    """Several small draws give the same bytes as one draw of their total size."""
    pieces = DeterministicRandom(seed)
    joined = b"".join(pieces.random_bytes(size) for size in sizes)
    assert joined == DeterministicRandom(seed).random_bytes(sum(sizes))


def test_deterministic_random_depends_on_the_seed() -> None:
    """Different seeds give different streams; the same seed gives the same stream."""
    assert DeterministicRandom(b"a").random_bytes(32) != DeterministicRandom(b"b").random_bytes(32)
    assert DeterministicRandom(b"a").random_bytes(32) == DeterministicRandom(b"a").random_bytes(32)


def test_deterministic_random_repr_hides_the_seed() -> None:
    """The repr never shows the seed."""
    seed = b"very secret seed"
    text = repr(DeterministicRandom(seed))
    assert seed.hex() not in text
    assert "very secret" not in text


def test_both_sources_satisfy_the_protocol() -> None:
    """SystemRandom and DeterministicRandom are RandomSources."""
    sources: list[RandomSource] = [SystemRandom(), DeterministicRandom(b"")]
    assert [len(source.random_bytes(5)) for source in sources] == [5, 5]
