"""The listener's choice between the event loop and the worker pool (no sockets needed)."""

from __future__ import annotations

import ssl
from typing import Any

import pytest

from strongroom.server.listener import NodeListener


@pytest.fixture
def listener() -> Any:
    node = NodeListener(None, ssl.create_default_context())  # type: ignore[arg-type]
    yield node
    node._pool.shutdown()


def test_unmeasured_and_always_threaded_commands_go_to_the_pool(listener: Any) -> None:
    assert not listener.runs_inline("crypto.sign", {"mechanism": 0x40}, lone=True)
    listener.record_cost("session.login", {}, 0.000_01)
    assert not listener.runs_inline("session.login", {}, lone=True)


def test_cheap_commands_run_inline_and_dear_ones_only_when_alone(listener: Any) -> None:
    listener.record_cost("crypto.random", {}, 0.000_05)
    assert listener.runs_inline("crypto.random", {})
    sign = {"mechanism": 0x40, "data": b"x" * 64}
    listener.record_cost("crypto.sign", sign, 0.000_9)  # an RSA signature
    assert not listener.runs_inline("crypto.sign", sign)  # others around: the pool's parallelism
    assert listener.runs_inline("crypto.sign", sign, lone=True)  # alone: skip two thread hops
    listener.threaded_in_flight = 1
    assert not listener.runs_inline("crypto.sign", sign, lone=True)  # the pool is busy
    listener.threaded_in_flight = 0
    listener.record_cost("crypto.sign", {"mechanism": 0x1}, 0.005)
    assert not listener.runs_inline("crypto.sign", {"mechanism": 0x1}, lone=True)  # too dear
    big = {"mechanism": 0x40, "data": b"x" * 20_000}
    assert not listener.runs_inline("crypto.sign", big, lone=True)  # big inputs: the pool
