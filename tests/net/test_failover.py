"""SDK failover between two live HSMs that hold the same state.

HSM A is made, activated, given a crypto user and TOKEN keys, then stopped; its whole node
directory is copied to B (standing in for a restore from backup) and B's ``node.json`` is
given its own unseal key file and port 0. Both then serve the same users and keys under
the same handles. A client that knows both addresses must ride out A's death — SIGKILL in
the middle of a stream of idempotent requests from several threads — without one failed
call, and must connect through B when A's address is dead from the start.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from strongroom.client import GCMParams, HSMClient, Key
from strongroom.constants import Attribute, KeyType, Mechanism, ObjectClass
from strongroom.crypto import ec_params_for_curve
from strongroom.errors import HSMUnavailable
from strongroom.server.node import NodeConfig

from .cluster import ALICE, Authority, NodeProcess, activate_node

pytestmark = pytest.mark.xdist_group("net-failover")

A = Attribute
M = Mechanism
LABEL = "failover"


@dataclass(frozen=True)
class Twins:
    """Two node directories holding the same HSM state."""

    first: NodeConfig
    second: NodeConfig
    run_dir: Path


@pytest.fixture(scope="module")
def twins(authority: Authority, tmp_path_factory: pytest.TempPathFactory) -> Twins:
    """Node A with alice's token keys, and B: a copy of A's directory."""
    root = tmp_path_factory.mktemp("failover")
    config = authority.make_node(root / "hsm-a", "hsm-a")
    with NodeProcess(config, root / "run", label="setup") as node:
        activate_node(authority, node.address)
        with authority.client([node.address], ALICE) as client:
            client.generate_aes_key(256, token=True, label=LABEL)
            client.generate_key(
                M.GENERIC_SECRET_KEY_GEN, {A.VALUE_LEN: 32, A.TOKEN: True, A.LABEL: LABEL}
            )
            client.generate_key_pair(
                M.EC_KEY_PAIR_GEN,
                {A.EC_PARAMS: ec_params_for_curve("secp256r1"), A.TOKEN: True, A.LABEL: LABEL},
                {A.TOKEN: True, A.LABEL: LABEL},
            )
    shutil.copytree(root / "hsm-a", root / "hsm-b")
    second = NodeConfig.load(root / "hsm-b")
    assert second.unseal_key_file is not None
    second.unseal_key_file = str(second.directory / Path(second.unseal_key_file).name)
    second.port = 0
    second.save()
    return Twins(NodeConfig.load(root / "hsm-a"), NodeConfig.load(root / "hsm-b"), root / "run")


@pytest.fixture
def pair(twins: Twins) -> Iterator[tuple[NodeProcess, NodeProcess]]:
    """A and B both serving (stopped, or reaped if killed, afterwards)."""
    first = NodeProcess(twins.first, twins.run_dir, label="a")
    second = NodeProcess(twins.second, twins.run_dir, label="b")
    try:
        first.launch()
        second.launch()
        first.wait_ready()
        second.wait_ready()
        yield first, second
    finally:
        first.stop()
        second.stop()


@pytest.fixture
def dead_address() -> Iterator[str]:
    """An address that refuses connections: a bound port that nobody listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"127.0.0.1:{sock.getsockname()[1]}"


@dataclass
class Keys:
    """alice's token keys, found by label."""

    aes: Key
    hmac: Key
    public: Key
    private: Key


def find_keys(client: HSMClient) -> Keys:
    """The keys ``twins`` made, located through ``client`` by label and kind."""
    by_kind: dict[tuple[int, int], Key] = {}
    for key in client.find(label=LABEL):
        values = key.get_attributes([A.CLASS, A.KEY_TYPE])
        by_kind[(values[A.CLASS], values[A.KEY_TYPE])] = key
    assert len(by_kind) == 4
    return Keys(
        aes=by_kind[(ObjectClass.SECRET_KEY, KeyType.AES)],
        hmac=by_kind[(ObjectClass.SECRET_KEY, KeyType.GENERIC_SECRET)],
        public=by_kind[(ObjectClass.PUBLIC_KEY, KeyType.EC)],
        private=by_kind[(ObjectClass.PRIVATE_KEY, KeyType.EC)],
    )


def served_requests(node: NodeProcess) -> int:
    """Requests the node's log reports for the connections it has closed."""
    return sum(e.get("requests", 0) for e in node.log_events() if e["event"] == "connection-closed")


def test_both_hsms_hold_the_same_state(
    authority: Authority, pair: tuple[NodeProcess, NodeProcess]
) -> None:
    """The copy serves the same HSM: same id, users and keys under the same handles."""
    first, second = pair
    digests = []
    for node in pair:
        with authority.client([node.address], ALICE) as client:
            digests.append(client.sync_digest())
            assert len(client.find(label=LABEL)) == 4
    assert digests[0] == digests[1]
    with authority.client([first.address, second.address]) as client:
        ids = {entry["hsm_id"] for entry in client.cluster_info()}
    assert len(ids) == 1


def test_idempotent_requests_survive_the_death_of_one_hsm(
    authority: Authority, pair: tuple[NodeProcess, NodeProcess]
) -> None:
    """SIGKILL A mid-stream: no request fails, and B serves everything after."""
    first, second = pair
    threads_count, ops_before_kill = 4, 60
    client = authority.client([first.address, second.address], ALICE)
    keys = find_keys(client)
    failures: list[BaseException] = []
    finished: list[float] = []
    lock = threading.Lock()
    stop = threading.Event()

    def work(index: int) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            data = f"{index}/{n}".encode()
            try:
                signature = keys.private.sign(M.ECDSA_SHA256, data)
                keys.public.verify(M.ECDSA_SHA256, data, signature)
                keys.hmac.verify(M.SHA256_HMAC, data, keys.hmac.sign(M.SHA256_HMAC, data))
                sealed = keys.aes.encrypt(M.AES_GCM, data, GCMParams())
                assert keys.aes.decrypt(M.AES_GCM, sealed, GCMParams()) == data
                if n % 10 == 0:
                    assert len(client.find(label=LABEL)) == 4
            except BaseException as exc:  # collected, then reported below
                failures.append(exc)
                return
            with lock:
                finished.append(time.monotonic())

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads_count)]
    try:
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + 20
        while len(finished) < ops_before_kill and not failures:
            assert time.monotonic() < deadline, "the workers made no progress"
            time.sleep(0.01)
        killed_at = time.monotonic()
        first.kill()
        while sum(1 for t in finished if t > killed_at) < ops_before_kill and not failures:
            assert time.monotonic() < deadline, "no progress after the kill"
            time.sleep(0.01)
        time.sleep(0.3)  # a little more traffic while A stays dead
    finally:
        stop.set()
        for worker in workers:
            worker.join(30)
        client.close()
    assert failures == []
    assert any(e["event"] == "connection-open" for e in first.log_events())
    after = sum(1 for t in finished if t > killed_at)
    assert after >= ops_before_kill  # each one necessarily served by B
    assert second.running
    second.stop()
    assert served_requests(second) >= after * 5


def test_connect_fails_over_when_the_first_address_is_down(
    authority: Authority, pair: tuple[NodeProcess, NodeProcess], dead_address: str
) -> None:
    """With the first address refusing connections, the client connects through the next."""
    _first, second = pair
    started = time.monotonic()
    with authority.client([dead_address, second.address], ALICE) as client:
        keys = find_keys(client)
        signature = keys.private.sign(M.ECDSA_SHA256, b"through b")
        keys.public.verify(M.ECDSA_SHA256, b"through b", signature)
        states = {entry["address"]: entry["state"] for entry in client.cluster_info()}
    assert states == {dead_address: "UNREACHABLE", second.address: "ACTIVE"}
    assert time.monotonic() - started < 10.0


def test_connect_fails_over_from_a_killed_hsm(
    authority: Authority, pair: tuple[NodeProcess, NodeProcess]
) -> None:
    """An HSM killed before the client starts is skipped at connect time."""
    first, second = pair
    first.kill()
    with authority.client([first.address, second.address], ALICE) as client:
        keys = find_keys(client)
        sealed = keys.aes.encrypt(M.AES_GCM, b"x", GCMParams())
        assert keys.aes.decrypt(M.AES_GCM, sealed, GCMParams()) == b"x"


def test_no_hsm_reachable_is_hsm_unavailable(authority: Authority, dead_address: str) -> None:
    """When no address answers, connecting fails quickly with HSM_UNAVAILABLE."""
    started = time.monotonic()
    with pytest.raises(HSMUnavailable):
        HSMClient.connect(authority.client_config([dead_address, dead_address]))
    assert time.monotonic() - started < 10.0


def test_the_asyncio_sdk_fails_over_too(
    authority: Authority, pair: tuple[NodeProcess, NodeProcess]
) -> None:
    """``AsyncHSMClient``: A dies under 16 tasks of signing; every call still succeeds."""
    import asyncio

    from strongroom.client import AsyncHSMClient

    first, second = pair
    with authority.client([first.address], ALICE) as client:
        handle = find_keys(client).private.handle
    config = authority.client_config([first.address, second.address])
    done: list[int] = []

    async def scenario() -> None:
        aclient = await AsyncHSMClient.connect(config)
        await aclient.login(ALICE.name, ALICE.password)
        key = aclient.key(handle)
        assert aclient.address == first.address

        async def work() -> None:
            for n in range(60):
                assert len(await key.sign(M.ECDSA_SHA256, str(n).encode())) == 64
                done.append(n)
                await asyncio.sleep(0)

        async def killer() -> None:
            while len(done) < 200:
                await asyncio.sleep(0.001)
            first.kill()

        try:
            await asyncio.gather(*(work() for _ in range(16)), killer())
        finally:
            await aclient.close()
        assert aclient.address == second.address

    asyncio.run(scenario())
    assert len(done) == 16 * 60
