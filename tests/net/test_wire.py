"""Wire robustness against a live node: bad bytes never hang it, crash it or leak between clients.

Every case talks to a real node process over TLS with a raw socket (``raw.RawConnection``,
10 s read timeout: a node that neither answers nor closes fails the test). The oracle for a
frame is the protocol's own decoder: a frame that does not decode — or that is not a
request once the hello is done — ends the connection with one error of request id 0 naming
the reason, and a request is answered under its own id, never with INTERNAL_ERROR. After
every case a separate, long-lived SDK client must still be served. Further cases: idle and
slow clients, session handles used from another connection, what a dropped connection
leaves behind, and a node stopping with clients connected. ``limited`` is a node with a
0.5 s hello and handshake timeout and a 1 MiB frame limit (``ListenerLimits``, which
``strongroom hsm serve`` does not expose).
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.client import GCMParams, HSMClient
from strongroom.constants import Mechanism
from strongroom.errors import (
    FrameTooLarge,
    HSMUnavailable,
    ObjectHandleInvalid,
    ProtocolError,
    StrongroomError,
)
from strongroom.protocol import (
    COMMANDS,
    DEFAULT_MAX_FRAME,
    ErrorResponse,
    Hello,
    OkResponse,
    Request,
    decode_message,
    encode_message,
)

from .cluster import (
    ALICE,
    BOB,
    Authority,
    NodeProcess,
    activate_node,
    running_node,
    serving_in_thread,
)
from .raw import TIMEOUT_S, RawConnection, frame, split_address

pytestmark = pytest.mark.xdist_group("net-wire")

LIMITED_MAX_FRAME = 1024 * 1024
LIMITED_TIMEOUT_S = 0.5


@pytest.fixture(scope="module")
def wire_node(
    authority: Authority, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[NodeProcess]:
    """This module's own node: a crash here must not be blamed on other modules' tests."""
    with running_node(authority, tmp_path_factory.mktemp("wire"), "wire") as process:
        yield process


@pytest.fixture(scope="module")
def limited(
    authority: Authority, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[NodeProcess]:
    """A node with short hello and handshake timeouts and a 1 MiB frame limit."""
    limits: dict[str, float | int] = {
        "hello_timeout": LIMITED_TIMEOUT_S,
        "handshake_timeout": LIMITED_TIMEOUT_S,
        "max_frame": LIMITED_MAX_FRAME,
    }
    directory = tmp_path_factory.mktemp("limited")
    with running_node(authority, directory, "limited", limits=limits) as process:
        yield process


@pytest.fixture(scope="module")
def watcher(authority: Authority, wire_node: NodeProcess) -> Iterator[HSMClient]:
    """alice on ``wire_node`` over one long-lived connection: it must keep being served."""
    with authority.client([wire_node.address], ALICE) as client:
        yield client


def connect(node: NodeProcess, authority: Authority) -> RawConnection:
    """A raw TLS connection to ``node`` (no hello sent)."""
    return RawConnection(node.address, authority.trust_anchor)


def assert_serving(watcher: HSMClient) -> None:
    """The node still answers the long-lived client."""
    assert len(watcher.generate_random(16)) == 16


def assert_closed(conn: RawConnection) -> list[ErrorResponse]:
    """The node closes the connection; all it may say first is why (request id 0)."""
    messages = conn.closing_messages()
    for message in messages:
        assert isinstance(message, ErrorResponse), message
        assert message.request_id == 0, message
    return [m for m in messages if isinstance(m, ErrorResponse)]


def assert_refused(conn: RawConnection, *codes: str) -> str:
    """The node says why in one error with request id 0, then closes; returns the code."""
    messages = conn.closing_messages()
    assert len(messages) == 1, messages
    refusal = messages[0]
    assert isinstance(refusal, ErrorResponse), refusal
    assert refusal.request_id == 0
    assert refusal.code in codes, refusal
    return refusal.code


def assert_answered(conn: RawConnection, request_id: int) -> None:
    """The next message answers ``request_id`` with a result or a specific error."""
    answer = conn.receive()
    assert isinstance(answer, OkResponse | ErrorResponse), answer
    assert answer.request_id == request_id
    if isinstance(answer, ErrorResponse):
        assert answer.code != "INTERNAL_ERROR", answer


def finish_write(conn: RawConnection) -> None:
    """Half-close: no more bytes will come (TCP FIN, no TLS close_notify).

    ``SSLSocket.shutdown`` would drop the TLS layer; the plain socket's method does not.
    """
    socket.socket.shutdown(conn.sock, socket.SHUT_WR)


def after_hello(body: bytes) -> str:
    """What the node must do with one frame after the hello: answer it or hang up."""
    try:
        message = decode_message(body)
    except ProtocolError:
        return "close"
    return "answer" if isinstance(message, Request) else "close"


def before_hello(body: bytes) -> str:
    """What the node must do with the first frame: greet back or hang up."""
    try:
        message = decode_message(body)
    except ProtocolError:
        return "close"
    if isinstance(message, Hello):
        versions = message.fields.get("wire")
        if isinstance(versions, list) and 1 in versions:
            return "hello"
    return "close"


# --- Hypothesis strategies ---------------------------------------------------------------

_plain_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.binary(max_size=40),
    st.text(max_size=20),
)
_keys = st.one_of(st.text(max_size=8), st.integers(-3, 300))


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=4))


plain_values = st.recursive(_plain_scalars, _containers, max_leaves=12)
"""CBOR values of the types the protocol uses."""
cbor_values = st.recursive(st.one_of(_plain_scalars, st.floats()), _containers, max_leaves=16)
"""Any CBOR values cbor2 writes, floats included."""
commands = st.one_of(st.sampled_from(sorted(COMMANDS)), st.text(max_size=16))
request_ids = st.one_of(st.integers(0, 1000), st.integers(-(2**64), 2**64))
request_shaped = st.builds(
    lambda kind, rid, command, args: [kind, rid, command, args],
    st.sampled_from([1, 1, 1, 1, 1, 0, 2, 3, 7]),
    request_ids,
    commands,
    st.dictionaries(st.text(max_size=12), st.one_of(plain_values, cbor_values), max_size=4),
)
hello_shaped = st.builds(
    lambda kind, fields: [kind, fields],
    st.sampled_from([0, 0, 0, 1]),
    st.fixed_dictionaries(
        {
            "wire": st.one_of(
                st.lists(st.integers(-1, 3), max_size=3).map(lambda v: [*v, 1]),
                st.lists(st.integers(-1, 3), max_size=3),
                plain_values,
            )
        },
        optional={"agent": st.text(max_size=10), "extra": cbor_values},
    ),
)
bodies = st.one_of(
    st.binary(max_size=200),
    cbor_values.map(cbor2.dumps),
    request_shaped.map(cbor2.dumps),
    request_shaped.map(cbor2.dumps),
    hello_shaped.map(cbor2.dumps),
)


# --- random input ------------------------------------------------------------------------


@settings(max_examples=60)
@given(data=st.binary(max_size=300))
def test_random_bytes_then_eof_never_hang_the_node(
    authority: Authority, wire_node: NodeProcess, watcher: HSMClient, data: bytes
) -> None:
    """Any bytes at all, then end-of-stream: the node closes the connection and keeps serving."""
    with connect(wire_node, authority) as conn:
        conn.send(data)
        finish_write(conn)
        for message in conn.closing_messages():
            assert isinstance(message, Hello | OkResponse | ErrorResponse), message
            if isinstance(message, ErrorResponse):
                assert message.code != "INTERNAL_ERROR"
    assert_serving(watcher)


@settings(max_examples=80)
@given(body=st.one_of(bodies, hello_shaped.map(cbor2.dumps), hello_shaped.map(cbor2.dumps)))
def test_any_first_frame_is_greeted_or_refused(
    authority: Authority, wire_node: NodeProcess, watcher: HSMClient, body: bytes
) -> None:
    """A first frame that is not a hello offering wire v1 ends the connection; others go on."""
    with connect(wire_node, authority) as conn:
        conn.send(frame(body))
        if before_hello(body) == "hello":
            reply = conn.receive()
            assert isinstance(reply, Hello), reply
            assert conn.ok("wire.ping") is None
        else:
            assert_refused(conn, "PROTOCOL_ERROR", "WIRE_VERSION_UNSUPPORTED")
    assert_serving(watcher)


@settings(max_examples=100)
@given(body=bodies)
def test_any_frame_after_hello_is_answered_or_refused(
    authority: Authority, wire_node: NodeProcess, watcher: HSMClient, body: bytes
) -> None:
    """After the hello, a request gets an answer under its id; anything else ends the connection."""
    with connect(wire_node, authority) as conn:
        conn.hello()
        conn.send(frame(body))
        if after_hello(body) == "answer":
            message = decode_message(body)
            assert isinstance(message, Request)
            assert_answered(conn, message.request_id)
            assert conn.ok("wire.ping") is None  # the connection is still good
        else:
            assert_refused(conn, "PROTOCOL_ERROR")
    assert_serving(watcher)


@settings(max_examples=30)
@given(data=st.binary(min_size=1, max_size=600))
def test_random_bytes_instead_of_tls_are_dropped(
    wire_node: NodeProcess, watcher: HSMClient, data: bytes
) -> None:
    """Bytes that are not a TLS handshake: the node drops the connection and keeps serving."""
    with socket.create_connection(split_address(wire_node.address), timeout=TIMEOUT_S) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        while True:
            try:
                if not sock.recv(65536):
                    break
            except ConnectionResetError:
                break
    assert_serving(watcher)


# --- malformed frames, one by one -----------------------------------------------------------


def _request(request_id: object, command: object = "wire.ping", args: object = None) -> bytes:
    return cbor2.dumps([1, request_id, command, {} if args is None else args])


def _nested(depth: int) -> bytes:
    return b"\x81" * depth + b"\x00"


MALFORMED: list[Any] = [
    pytest.param(b"", id="empty-body"),
    pytest.param(b"\xff", id="break-byte"),
    pytest.param(b"\x82\x01", id="truncated-array"),
    pytest.param(cbor2.dumps({"kind": 1}), id="map-not-array"),
    pytest.param(cbor2.dumps([]), id="empty-array"),
    pytest.param(cbor2.dumps([9, 1, "wire.ping", {}]), id="unknown-kind"),
    pytest.param(cbor2.dumps([1.0, 1, "wire.ping", {}]), id="float-kind"),
    pytest.param(_request(-1), id="negative-request-id"),
    pytest.param(_request(2**63), id="request-id-over-63-bits"),
    pytest.param(_request(1, b"wire.ping"), id="command-as-bytes"),
    pytest.param(_request(1, "wire.ping", [1]), id="args-not-a-map"),
    pytest.param(cbor2.dumps([1, 1, "wire.ping", {1: 2}]), id="integer-argument-name"),
    pytest.param(cbor2.dumps([1, 1, "wire.ping", {"a": 1.5}]), id="float-argument"),
    pytest.param(cbor2.dumps([1, 1, "wire.ping", {"a": cbor2.CBORTag(99, 1)}]), id="tag"),
    pytest.param(cbor2.dumps([1, 1, "wire.ping", {"a": {b"k": 1}}]), id="bytes-map-key"),
    pytest.param(
        cbor2.dumps([1, 1, "x", {"a": [[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}]), id="depth-19"
    ),
    pytest.param(_nested(5000), id="depth-5000"),
    pytest.param(b"\x5b" + (2**62).to_bytes(8, "big"), id="huge-bytes-length"),
    pytest.param(b"\x9b" + (2**62).to_bytes(8, "big"), id="huge-array-length"),
    pytest.param(cbor2.dumps([2, 1, None]), id="ok-from-client"),
    pytest.param(cbor2.dumps([3, 1, "X", "y"]), id="error-from-client"),
    pytest.param(cbor2.dumps([0, {"wire": [1]}]), id="second-hello"),
]


@pytest.mark.parametrize("body", MALFORMED)
def test_malformed_frame_after_hello_ends_the_connection(
    authority: Authority, wire_node: NodeProcess, watcher: HSMClient, body: bytes
) -> None:
    """Each malformed frame (by the decoder's rules) ends the connection; the node serves on."""
    assert after_hello(body) == "close"
    with connect(wire_node, authority) as conn:
        conn.hello()
        conn.send(frame(body))
        assert_refused(conn, "PROTOCOL_ERROR")
    assert_serving(watcher)


@pytest.mark.parametrize(
    "length", [DEFAULT_MAX_FRAME + 1, 2**31, 2**32 - 1], ids=["limit+1", "2^31", "2^32-1"]
)
@pytest.mark.parametrize("greeted", [False, True], ids=["before-hello", "after-hello"])
def test_frame_over_the_limit_ends_the_connection_at_its_header(
    authority: Authority, wire_node: NodeProcess, watcher: HSMClient, length: int, greeted: bool
) -> None:
    """A length over the frame limit is refused as soon as the header is in: nothing buffered."""
    with connect(wire_node, authority) as conn:
        if greeted:
            conn.hello()
        conn.send(length.to_bytes(4, "big") + b"\x00" * 64)
        assert_refused(conn, "FRAME_TOO_LARGE")
    assert_serving(watcher)


@pytest.mark.parametrize("cut", [1, 3, 4, 5, 12], ids=lambda n: f"first-{n}-bytes")
def test_truncated_frame_waits_without_blocking_others(
    authority: Authority, wire_node: NodeProcess, watcher: HSMClient, cut: int
) -> None:
    """A frame cut short just waits for its rest; others are served; end-of-stream closes it."""
    whole = encode_message(Request(5, "wire.ping", {}))
    assert len(whole) > 12
    with connect(wire_node, authority) as conn:
        conn.hello()
        conn.send(whole[:cut])
        assert_serving(watcher)
        with connect(wire_node, authority) as other:
            other.hello()
            assert other.ok("hsm.info")["hsm_id"]
        conn.send(whole[cut:])  # the rest arrives late: the request is answered
        assert_answered(conn, 5)
        conn.send(whole[:cut])
        finish_write(conn)
        assert_closed(conn)
    assert_serving(watcher)


def test_unknown_command_is_command_invalid(authority: Authority, wire_node: NodeProcess) -> None:
    """An unknown command is COMMAND_INVALID for that request; the connection stays up."""
    with connect(wire_node, authority) as conn:
        conn.hello()
        assert conn.error_code("no.such.command") == "COMMAND_INVALID"
        assert conn.error_code("wire.ping", {"unexpected": 1}) == "COMMAND_INVALID"
        assert conn.error_code("session.login", {"session": "1"}) == "COMMAND_INVALID"
        assert conn.ok("wire.ping") is None


def test_request_before_hello_closes_the_connection(
    authority: Authority, wire_node: NodeProcess, watcher: HSMClient
) -> None:
    """A request sent before the hello is not run: the node hangs up."""
    with connect(wire_node, authority) as conn:
        conn.send_message(Request(1, "hsm.info", {}))
        assert_refused(conn, "PROTOCOL_ERROR")
    assert_serving(watcher)


@pytest.mark.parametrize("versions", [[2], [], [0, 2], "1", None], ids=str)
def test_hello_without_wire_v1_closes_the_connection(
    authority: Authority, wire_node: NodeProcess, versions: object
) -> None:
    """A hello that does not offer wire version 1 is refused."""
    with connect(wire_node, authority) as conn:
        conn.send_message(Hello({"wire": versions}))
        assert_refused(conn, "WIRE_VERSION_UNSUPPORTED")


REFUSALS: list[Any] = [
    pytest.param(encode_message(Request(1, "hsm.info", {})), "PROTOCOL_ERROR", id="no-hello"),
    pytest.param(frame(b"\xff"), "PROTOCOL_ERROR", id="bad-cbor"),
    pytest.param(encode_message(Hello({"wire": [2]})), "WIRE_VERSION_UNSUPPORTED", id="wire-v2"),
    pytest.param((2**32 - 1).to_bytes(4, "big"), "FRAME_TOO_LARGE", id="frame-too-large"),
    pytest.param(
        encode_message(Hello({"wire": [1]})) + encode_message(Hello({"wire": [1]})),
        "PROTOCOL_ERROR",
        id="second-hello",
    ),
]


@pytest.mark.parametrize(("data", "code"), REFUSALS)
def test_refusal_tells_the_client_why(
    authority: Authority, wire_node: NodeProcess, data: bytes, code: str
) -> None:
    """A refused connection gets one error with request id 0 naming the reason, then closes."""
    with connect(wire_node, authority) as conn:
        conn.send(data)
        if data.startswith(encode_message(Hello({"wire": [1]}))):
            assert isinstance(conn.receive(), Hello)
        assert_refused(conn, code)


def test_request_id_reused_while_running_ends_the_connection(
    authority: Authority, wire_node: NodeProcess, watcher: HSMClient
) -> None:
    """Two requests in flight under one id are a protocol error: answers could not be told apart."""
    with connect(wire_node, authority) as conn:
        conn.hello()
        session = conn.login(ALICE.name, ALICE.password)
        find = encode_message(Request(77, "object.find", {"session": session}))  # always threaded
        conn.send(find + find)
        messages = conn.closing_messages()
    assert isinstance(messages[-1], ErrorResponse)
    assert (messages[-1].request_id, messages[-1].code) == (0, "PROTOCOL_ERROR")
    assert all(getattr(m, "request_id", None) == 77 for m in messages[:-1])
    assert len(messages) <= 2
    assert_serving(watcher)


def test_stopping_node_tells_its_clients_and_exits_cleanly(
    authority: Authority, tmp_path: Path
) -> None:
    """SIGTERM: every connection hears SERVER_BUSY (request id 0), and the node exits 0."""
    with running_node(authority, tmp_path, "stopping") as node:
        conn = connect(node, authority)
        conn.hello()
        client = authority.client([node.address], ALICE)
        key = client.generate_aes_key(128)
        assert node.stop() == 0
        assert_refused(conn, "SERVER_BUSY")
        conn.close()
        with pytest.raises(HSMUnavailable):
            key.encrypt(Mechanism.AES_GCM, b"x", GCMParams())
        client.close()
    events = [e["event"] for e in node.log_events()]
    assert events[-1] == "stopped"


# --- idle and slow clients --------------------------------------------------------------------


def test_idle_clients_do_not_block_others(
    authority: Authority, wire_node: NodeProcess, watcher: HSMClient
) -> None:
    """Connections that never finish TLS or never send a hello do not hold up anyone else."""
    no_tls = socket.create_connection(split_address(wire_node.address), timeout=TIMEOUT_S)
    no_hello = [connect(wire_node, authority) for _ in range(5)]
    try:
        started = time.monotonic()
        for _ in range(20):
            assert_serving(watcher)
        with authority.client([wire_node.address], BOB) as fresh:
            assert len(fresh.generate_random(8)) == 8
        assert time.monotonic() - started < TIMEOUT_S
    finally:
        no_tls.close()
        for conn in no_hello:
            conn.close()


def test_client_without_hello_is_closed_after_the_hello_timeout(
    authority: Authority, limited: NodeProcess
) -> None:
    """A TLS client that never says hello is cut off once the hello timeout passes."""
    with connect(limited, authority) as conn:
        started = time.monotonic()
        assert_refused(conn, "PROTOCOL_ERROR")
        waited = time.monotonic() - started
    assert LIMITED_TIMEOUT_S * 0.5 < waited < TIMEOUT_S
    refused = [e for e in limited.log_events() if e["event"] == "connection-refused"]
    assert any(e["reason"] == "no hello in time" for e in refused)


def test_client_that_never_starts_tls_is_closed_after_the_handshake_timeout(
    limited: NodeProcess,
) -> None:
    """A TCP connection that never begins the TLS handshake is closed after its timeout."""
    with socket.create_connection(split_address(limited.address), timeout=TIMEOUT_S) as sock:
        started = time.monotonic()
        with contextlib.suppress(ConnectionResetError):
            assert sock.recv(1024) == b""
        waited = time.monotonic() - started
    assert LIMITED_TIMEOUT_S * 0.5 < waited < TIMEOUT_S


def test_client_that_never_reads_does_not_block_others(
    authority: Authority, wire_node: NodeProcess, watcher: HSMClient
) -> None:
    """A client that floods requests and reads no answers stalls itself, not the node."""
    count, size = 400, 64 * 1024
    with connect(wire_node, authority) as slow:
        slow.hello()
        session = slow.login(ALICE.name, ALICE.password)
        batch = b"".join(
            encode_message(Request(1000 + i, "crypto.random", {"session": session, "length": size}))
            for i in range(count)
        )
        slow.send(batch)  # about 26 MB of answers now wait for a reader that never comes
        time.sleep(0.2)
        started = time.monotonic()
        for _ in range(50):
            assert_serving(watcher)
        with authority.client([wire_node.address], BOB) as fresh:
            assert len(fresh.generate_random(8)) == 8
        # blocked, these would wait for the slow reader forever (or the SDK's 60 s timeout)
        assert time.monotonic() - started < 2 * TIMEOUT_S
        # nothing was lost: the slow client gets every answer once it reads
        answered = set()
        for _ in range(count):
            message = slow.receive()
            assert isinstance(message, OkResponse), message
            assert len(message.result) == size
            answered.add(message.request_id)
        assert answered == {1000 + i for i in range(count)}
    assert_serving(watcher)


# --- sessions belong to their connection ------------------------------------------------------


def test_session_handle_from_another_connection_is_invalid(
    authority: Authority, wire_node: NodeProcess
) -> None:
    """A session is reachable only from the connection that opened it, logged in or not."""
    with connect(wire_node, authority) as owner, connect(wire_node, authority) as other:
        owner.hello()
        other.hello()
        session = owner.login(ALICE.name, ALICE.password)
        spare = int(owner.ok("session.open"))
        key = owner.ok(
            "key.generate",
            {"session": session, "mechanism": Mechanism.AES_KEY_GEN, "template": {0x161: 32}},
        )
        mine = int(other.ok("session.open"))
        for handle in {session, spare, session - 1, session + 1, spare + 1} - {mine}:
            args: dict[str, Any] = {"session": handle, "length": 8}
            assert other.error_code("crypto.random", args) == "SESSION_HANDLE_INVALID"
            login = {"session": handle, "username": BOB.name, "password": BOB.password}
            assert other.error_code("session.login", login) == "SESSION_HANDLE_INVALID"
            close = {"session": handle}
            assert other.error_code("session.close", close) == "SESSION_HANDLE_INVALID"
        # the other connection's own session, logged in as bob, cannot see alice's session key
        other.ok("session.login", {"session": mine, "username": BOB.name, "password": BOB.password})
        encrypt = {"session": mine, "handle": key, "mechanism": Mechanism.AES_GCM, "data": b"x"}
        encrypt["params"] = {"type": "GCM", "iv": None, "aad": b"", "tag_bits": 128}
        assert other.error_code("crypto.encrypt", encrypt) == "OBJECT_HANDLE_INVALID"
        # the owner's sessions are untouched by all that
        assert len(owner.ok("crypto.random", {"session": session, "length": 8})) == 8


def test_dropped_connection_leaves_no_usable_session_objects(
    authority: Authority, wire_node: NodeProcess, unique: str
) -> None:
    """After a client drops its connection, its session keys are gone for everyone."""
    label = f"session-{unique}"
    first = authority.client([wire_node.address], ALICE)
    key = first.generate_aes_key(256, label=label)
    sealed = key.encrypt(Mechanism.AES_GCM, b"before the drop", GCMParams())
    assert key.decrypt(Mechanism.AES_GCM, sealed, GCMParams()) == b"before the drop"
    first.close()  # the socket closes with no goodbye: the node must clean up by itself
    with authority.client([wire_node.address], ALICE) as second:
        assert second.find(label=label) == []
        with pytest.raises(ObjectHandleInvalid):
            second.key(key.handle).encrypt(Mechanism.AES_GCM, b"x", GCMParams())
        with pytest.raises(ObjectHandleInvalid):
            second.key(key.handle).get_attributes([0x3])


def test_dropped_connection_destroys_its_sessions_and_session_objects(
    authority: Authority, tmp_path: Path
) -> None:
    """White-box: the served HSM holds none of a dropped connection's sessions or objects."""
    config = authority.make_node(tmp_path / "inproc", "inproc")
    with serving_in_thread(config) as (address, hsm):
        activate_node(authority, address)
        core = hsm._core
        client = authority.client([address], ALICE)
        keys = [client.generate_aes_key(128) for _ in range(3)]
        assert keys[0].pin is not None
        session = keys[0].pin.session
        assert session is not None
        assert {o.handle for o in core.catalog.session_objects_of(session)} == {
            k.handle for k in keys
        }
        assert session in core.sessions
        client.close()
        deadline = time.monotonic() + TIMEOUT_S
        while core.catalog.session_objects_of(session) or session in core.sessions:
            assert time.monotonic() < deadline, "the dropped connection's session lives on"
            time.sleep(0.01)


# --- the frame limit, seen from the SDK --------------------------------------------------------


def test_request_over_the_frame_limit_fails_and_the_node_serves_on(
    authority: Authority, limited: NodeProcess
) -> None:
    """A request larger than the node's frame limit fails (no hang, no crash); others go on."""
    with authority.client([limited.address], ALICE) as client:
        key = client.generate_aes_key(256, token=True, label="frame-limit")
        assert len(key.encrypt(Mechanism.AES_GCM, bytes(LIMITED_MAX_FRAME // 2), GCMParams()))
        started = time.monotonic()
        with pytest.raises(StrongroomError):
            key.encrypt(Mechanism.AES_GCM, bytes(LIMITED_MAX_FRAME + 1), GCMParams())
        assert time.monotonic() - started < TIMEOUT_S
        assert len(key.encrypt(Mechanism.AES_GCM, b"small", GCMParams())) == 12 + 5 + 16
        key.destroy()


def test_request_over_the_frame_limit_is_frame_too_large_and_keeps_the_session(
    authority: Authority, limited: NodeProcess
) -> None:
    """The SDK refuses a request over the announced frame limit itself: the session survives."""
    with authority.client([limited.address], ALICE) as client:
        key = client.generate_aes_key(256)  # a session key: it lives as long as its connection
        with pytest.raises(FrameTooLarge):
            key.encrypt(Mechanism.AES_GCM, bytes(LIMITED_MAX_FRAME + 1), GCMParams())
        assert len(key.encrypt(Mechanism.AES_GCM, b"small", GCMParams())) == 12 + 5 + 16
