"""Network benchmark: each operation through the SDK to a node, beside the engine and raw pyca.

Run on demand, never in CI::

    python bench/net_bench.py [--seconds 1.0] [--quick] [--only KEY[,KEY…]]
                              [--concurrency 1,8,64] [--connections 1] [--json out.json]
                              [--dir DIR]

One run starts a development cluster of one node (``DevCluster`` + ``up``, the production
password KDF, TLS 1.3 with mutual TLS, uvloop where installed) in a temporary directory and
measures, for each operation — RSA-2048 PSS sign and verify, ECDSA P-256 sign and verify,
Ed25519 sign, AES-256-GCM encrypt of 64 B and 4 KiB, HMAC-SHA256 sign, AES-KWP wrap,
SHA-256 digest of 1 KiB and 32 random bytes — three things in the same process and the
same minutes:

* **SDK**: ``HSMClient`` calls at 1, 8 and 64 concurrent requests (that many threads
  sharing one client, hence one multiplexed connection), with TOKEN keys the node made;
* **engine**: the same operation in-process through a logged-in ``Session`` of an
  ``HSM`` on a ``SQLiteStore`` in the temp dir (1 thread), TOKEN keys too;
* **raw**: the bare pyca/cryptography (or ``os.urandom``) call, 1 thread, and for the
  public-key operations also at the SDK's thread counts (RSA signing releases the GIL).

Each row warms up, then runs repetitions that alternate SDK, engine and raw so all share
the same background load; ops/s is the median over repetitions and p50 / p99 come from
every call's ``perf_counter_ns`` over all repetitions. The CPU that this process (the
client) and the node process spent per call is reported too, which shows where the time
goes on a small machine. It prints the machine, a markdown table and whether issue 5's
targets were met. The cluster and the engine's store are deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

from engine_bench import (
    _busy_seconds,
    _fmt_ns,
    _fmt_ops,
    _percentile,
    machine_info,
    open_bench,
)
from strongroom.cli.up import DevCluster, down, up
from strongroom.client import AsyncHSMClient, ClientConfig, GCMParams, HSMClient, Key, PSSParams
from strongroom.constants import Attribute, Mechanism
from strongroom.crypto.asymmetric import ec_params_for_curve
from strongroom.engine import Session

MESSAGE = b"\x5a" * 64
KIB = 1024
REPS_FULL = 5
REPS_QUICK = 3
DEFAULT_CONCURRENCY = (1, 8, 64)
SMALL_OP_P50_US = 150.0
RSA_FLOOR = 0.7
ECDSA_OPS = 10_000.0

Op = Callable[[], object]


# --- measuring -----------------------------------------------------------------------------


def _proc_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (all its threads), from /proc."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return float("nan")
    fields = text.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Series:
    """Every repetition of one (side, operation, concurrency)."""

    rates: list[float] = field(default_factory=list)
    samples: list[int] = field(default_factory=list)
    wall_s: float = 0.0
    client_cpu_s: float = 0.0
    server_cpu_s: float = 0.0
    foreign_cpu_s: float = 0.0


@dataclass(frozen=True)
class Stats:
    """One side of one row: medians, pooled percentiles and CPU per call."""

    ops_per_s: float
    p50_ns: float
    p99_ns: float
    calls: int
    spread: float
    """(max − min) / median of the per-repetition ops/s."""
    client_cpu_us: float
    """CPU this process (all threads) spent per call."""
    server_cpu_us: float
    """CPU the node process spent per call (≈ 0 for the in-process sides)."""
    foreign_cores: float
    """Cores' worth of CPU used by processes other than this one and the node."""

    @classmethod
    def of(cls, series: Series) -> Stats:
        ordered = sorted(series.samples)
        calls = len(ordered)
        median = statistics.median(series.rates)
        return cls(
            ops_per_s=median,
            p50_ns=_percentile(ordered, 0.50),
            p99_ns=_percentile(ordered, 0.99),
            calls=calls,
            spread=(max(series.rates) - min(series.rates)) / median if median else 0.0,
            client_cpu_us=series.client_cpu_s / calls * 1e6,
            server_cpu_us=series.server_cpu_s / calls * 1e6,
            foreign_cores=max(0.0, series.foreign_cpu_s / series.wall_s),
        )


def run_threads(op: Op, threads: int, seconds: float) -> tuple[list[int], float]:
    """Call ``op`` back to back from ``threads`` threads for ``seconds``.

    Returns every call's duration (ns) and the wall time from the common start until the
    last thread's last call returned; a thread stops after the first call that ends past
    the deadline. The first error any thread meets is raised here.
    """
    barrier = threading.Barrier(threads + 1)
    per_thread: list[list[int]] = [[] for _ in range(threads)]
    failures: list[BaseException] = []
    deadline = [0]

    def worker(samples: list[int]) -> None:
        clock = time.perf_counter_ns
        barrier.wait()
        stop = deadline[0]
        try:
            while True:
                t0 = clock()
                op()
                t1 = clock()
                samples.append(t1 - t0)
                if t1 >= stop:
                    return
        except BaseException as exc:
            failures.append(exc)

    workers = [threading.Thread(target=worker, args=(s,), daemon=True) for s in per_thread]
    for thread in workers:
        thread.start()
    start = time.perf_counter_ns()
    deadline[0] = start + int(seconds * 1e9)
    barrier.wait()
    for thread in workers:
        thread.join()
    wall = (time.perf_counter_ns() - start) / 1e9
    if failures:
        raise failures[0]
    return [s for samples in per_thread for s in samples], wall


def measure_into(series: Series, op: Op, threads: int, seconds: float, server_pid: int) -> None:
    """One repetition: run ``op`` and add its calls, wall time and CPU use to ``series``."""
    gc.collect()
    busy0, own0, srv0 = _busy_seconds(), time.process_time(), _proc_cpu_seconds(server_pid)
    samples, wall = run_threads(op, threads, seconds)
    busy1, own1, srv1 = _busy_seconds(), time.process_time(), _proc_cpu_seconds(server_pid)
    series.rates.append(len(samples) / wall)
    series.samples += samples
    series.wall_s += wall
    series.client_cpu_s += own1 - own0
    series.server_cpu_s += srv1 - srv0
    if busy0 is not None and busy1 is not None:
        series.foreign_cpu_s += (busy1 - busy0) - (own1 - own0) - (srv1 - srv0)


# --- operations ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """One benchmark operation: the SDK call, the engine call and the raw call."""

    key: str
    """Its name for ``--only``."""
    name: str
    sdk: Op
    engine: Op
    raw: Op
    raw_name: str
    threaded_raw: bool = False
    """Also measure the raw call at the SDK's thread counts (public-key operations)."""


OPERATION_KEYS = (
    "rsa-sign",
    "rsa-verify",
    "ecdsa-sign",
    "ecdsa-verify",
    "ed25519-sign",
    "gcm-64",
    "gcm-4k",
    "hmac",
    "kwp-wrap",
    "digest",
    "random",
)


@dataclass
class SDKKeys:
    """TOKEN keys the node generated, as SDK references."""

    rsa_pub: Key
    rsa_priv: Key
    ec_pub: Key
    ec_priv: Key
    ed_pub: Key
    ed_priv: Key
    aes: Key
    hmac: Key
    kek: Key
    target: Key


def sdk_keys(client: HSMClient) -> SDKKeys:
    """Generate the benchmark's keys on the node (TOKEN: routed like a production key)."""
    token: dict[int, object] = {Attribute.TOKEN: True}
    rsa_pub, rsa_priv = client.generate_key_pair(
        Mechanism.RSA_PKCS_KEY_PAIR_GEN, {Attribute.MODULUS_BITS: 2048, **token}, token
    )
    ec_pub, ec_priv = client.generate_key_pair(
        Mechanism.EC_KEY_PAIR_GEN,
        {Attribute.EC_PARAMS: ec_params_for_curve("secp256r1"), **token},
        token,
    )
    ed_pub, ed_priv = client.generate_key_pair(
        Mechanism.EC_EDWARDS_KEY_PAIR_GEN,
        {Attribute.EC_PARAMS: ec_params_for_curve("ed25519"), **token},
        token,
    )
    secret: dict[int, object] = {Attribute.VALUE_LEN: 32, **token}
    return SDKKeys(
        rsa_pub,
        rsa_priv,
        ec_pub,
        ec_priv,
        ed_pub,
        ed_priv,
        aes=client.generate_key(Mechanism.AES_KEY_GEN, secret),
        hmac=client.generate_key(Mechanism.GENERIC_SECRET_KEY_GEN, secret),
        kek=client.generate_key(Mechanism.AES_KEY_GEN, secret),
        target=client.generate_key(Mechanism.AES_KEY_GEN, secret),
    )


@dataclass
class EngineKeys:
    """The same set of TOKEN keys, generated by the in-process engine."""

    rsa_pub: int
    rsa_priv: int
    ec_pub: int
    ec_priv: int
    ed_pub: int
    ed_priv: int
    aes: int
    hmac: int
    kek: int
    target: int


def engine_keys(s: Session) -> EngineKeys:
    """Generate the benchmark's keys in the engine (TOKEN, like the SDK's)."""
    token: dict[int, object] = {Attribute.TOKEN: True}
    rsa_pair = s.generate_key_pair(
        Mechanism.RSA_PKCS_KEY_PAIR_GEN, {Attribute.MODULUS_BITS: 2048, **token}, token
    )
    ec_pair = s.generate_key_pair(
        Mechanism.EC_KEY_PAIR_GEN,
        {Attribute.EC_PARAMS: ec_params_for_curve("secp256r1"), **token},
        token,
    )
    ed_pair = s.generate_key_pair(
        Mechanism.EC_EDWARDS_KEY_PAIR_GEN,
        {Attribute.EC_PARAMS: ec_params_for_curve("ed25519"), **token},
        token,
    )
    secret: dict[int, object] = {Attribute.VALUE_LEN: 32, **token}
    return EngineKeys(
        *rsa_pair,
        *ec_pair,
        *ed_pair,
        aes=s.generate_key(Mechanism.AES_KEY_GEN, secret),
        hmac=s.generate_key(Mechanism.GENERIC_SECRET_KEY_GEN, secret),
        kek=s.generate_key(Mechanism.AES_KEY_GEN, secret),
        target=s.generate_key(Mechanism.AES_KEY_GEN, secret),
    )


def _der(raw: bytes) -> bytes:
    half = len(raw) // 2
    return encode_dss_signature(
        int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
    )


def _rs(der: bytes) -> bytes:
    r, s_ = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s_.to_bytes(32, "big")


def _public(key: Key) -> Any:
    return serialization.load_der_public_key(key.public_key_der())


def _check(what: str, *outputs: object) -> None:
    """The SDK, engine and raw calls give outputs of the same shape (None, or equal lengths)."""
    shapes = {None if out is None else len(out) for out in outputs}  # type: ignore[arg-type]
    if len(shapes) != 1:
        raise AssertionError(f"{what}: the sides give different outputs ({shapes})")


def operations(client: HSMClient, session: Session) -> list[Operation]:
    """Every operation, with keys made on each side; checked once before it is measured."""
    k = sdk_keys(client)
    e = engine_keys(session)
    s = session
    sha256 = hashes.SHA256()
    pss = padding.PSS(mgf=padding.MGF1(sha256), salt_length=32)
    ecdsa = ec.ECDSA(sha256)
    raw_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raw_ec = ec.generate_private_key(ec.SECP256R1())
    raw_ed = ed25519.Ed25519PrivateKey.generate()
    raw_aes = AESGCM(os.urandom(32))
    raw_hmac_key, raw_kek, raw_target = os.urandom(32), os.urandom(32), os.urandom(32)
    data_4k = os.urandom(4 * KIB)
    data_1k = os.urandom(KIB)

    # signatures each side verifies, and the SDK's checked against the node's public keys
    sdk_pss = k.rsa_priv.sign(Mechanism.SHA256_RSA_PKCS_PSS, MESSAGE)
    _public(k.rsa_pub).verify(sdk_pss, MESSAGE, pss, sha256)
    engine_pss = s.sign(e.rsa_priv, Mechanism.SHA256_RSA_PKCS_PSS, MESSAGE)
    raw_pss = raw_rsa.sign(MESSAGE, pss, sha256)
    raw_rsa_pub = raw_rsa.public_key()
    sdk_ecdsa = k.ec_priv.sign(Mechanism.ECDSA_SHA256, MESSAGE)
    _public(k.ec_pub).verify(_der(sdk_ecdsa), MESSAGE, ecdsa)
    engine_ecdsa = s.sign(e.ec_priv, Mechanism.ECDSA_SHA256, MESSAGE)
    raw_ecdsa = _rs(raw_ec.sign(MESSAGE, ecdsa))
    raw_ec_pub = raw_ec.public_key()
    _public(k.ed_pub).verify(k.ed_priv.sign(Mechanism.EDDSA, MESSAGE), MESSAGE)
    iv = os.urandom(12)
    sealed = k.aes.encrypt(Mechanism.AES_GCM, MESSAGE, GCMParams(iv=iv))
    if k.aes.decrypt(Mechanism.AES_GCM, sealed, GCMParams(iv=iv)) != MESSAGE:
        raise AssertionError("AES-GCM through the SDK does not round-trip")
    k.hmac.verify(Mechanism.SHA256_HMAC, MESSAGE, k.hmac.sign(Mechanism.SHA256_HMAC, MESSAGE))
    if client.digest(Mechanism.SHA256, data_1k) != hashlib.sha256(data_1k).digest():
        raise AssertionError("SHA-256 through the SDK differs from hashlib's")

    def raw_hmac() -> bytes:
        h = hmac.HMAC(raw_hmac_key, sha256)
        h.update(MESSAGE)
        return h.finalize()

    def raw_digest() -> bytes:
        h = hashes.Hash(sha256)
        h.update(data_1k)
        return h.finalize()

    ops = [
        Operation(
            "rsa-sign",
            "RSA-2048 sign, SHA256_RSA_PKCS_PSS (64 B)",
            lambda: k.rsa_priv.sign(Mechanism.SHA256_RSA_PKCS_PSS, MESSAGE),
            lambda: s.sign(e.rsa_priv, Mechanism.SHA256_RSA_PKCS_PSS, MESSAGE),
            lambda: raw_rsa.sign(MESSAGE, pss, sha256),
            "`RSAPrivateKey.sign` PSS",
            threaded_raw=True,
        ),
        Operation(
            "rsa-verify",
            "RSA-2048 verify, SHA256_RSA_PKCS_PSS (64 B)",
            lambda: k.rsa_pub.verify(Mechanism.SHA256_RSA_PKCS_PSS, MESSAGE, sdk_pss),
            lambda: s.verify(e.rsa_pub, Mechanism.SHA256_RSA_PKCS_PSS, MESSAGE, engine_pss),
            lambda: raw_rsa_pub.verify(raw_pss, MESSAGE, pss, sha256),
            "`RSAPublicKey.verify` PSS",
            threaded_raw=True,
        ),
        Operation(
            "ecdsa-sign",
            "ECDSA P-256 sign, ECDSA_SHA256 (64 B)",
            lambda: k.ec_priv.sign(Mechanism.ECDSA_SHA256, MESSAGE),
            lambda: s.sign(e.ec_priv, Mechanism.ECDSA_SHA256, MESSAGE),
            lambda: _rs(raw_ec.sign(MESSAGE, ecdsa)),
            "`ec` sign + r‖s",
            threaded_raw=True,
        ),
        Operation(
            "ecdsa-verify",
            "ECDSA P-256 verify, ECDSA_SHA256 (64 B)",
            lambda: k.ec_pub.verify(Mechanism.ECDSA_SHA256, MESSAGE, sdk_ecdsa),
            lambda: s.verify(e.ec_pub, Mechanism.ECDSA_SHA256, MESSAGE, engine_ecdsa),
            lambda: raw_ec_pub.verify(_der(raw_ecdsa), MESSAGE, ecdsa),
            "r‖s → DER + `ec` verify",
            threaded_raw=True,
        ),
        Operation(
            "ed25519-sign",
            "Ed25519 sign, EDDSA (64 B)",
            lambda: k.ed_priv.sign(Mechanism.EDDSA, MESSAGE),
            lambda: s.sign(e.ed_priv, Mechanism.EDDSA, MESSAGE),
            lambda: raw_ed.sign(MESSAGE),
            "`Ed25519PrivateKey.sign`",
            threaded_raw=True,
        ),
        Operation(
            "gcm-64",
            "AES-256-GCM encrypt 64 B, caller IV",
            lambda: k.aes.encrypt(Mechanism.AES_GCM, MESSAGE, GCMParams(iv=os.urandom(12))),
            lambda: s.encrypt(e.aes, Mechanism.AES_GCM, MESSAGE, GCMParams(iv=os.urandom(12))),
            lambda: raw_aes.encrypt(os.urandom(12), MESSAGE, None),
            "`AESGCM.encrypt`, urandom nonce",
        ),
        Operation(
            "gcm-4k",
            "AES-256-GCM encrypt 4 KiB, caller IV",
            lambda: k.aes.encrypt(Mechanism.AES_GCM, data_4k, GCMParams(iv=os.urandom(12))),
            lambda: s.encrypt(e.aes, Mechanism.AES_GCM, data_4k, GCMParams(iv=os.urandom(12))),
            lambda: raw_aes.encrypt(os.urandom(12), data_4k, None),
            "`AESGCM.encrypt`, urandom nonce",
        ),
        Operation(
            "hmac",
            "HMAC-SHA256 sign 64 B",
            lambda: k.hmac.sign(Mechanism.SHA256_HMAC, MESSAGE),
            lambda: s.sign(e.hmac, Mechanism.SHA256_HMAC, MESSAGE),
            raw_hmac,
            "`hmac.HMAC` update + finalize",
        ),
        Operation(
            "kwp-wrap",
            "AES-KWP wrap of an AES-256 key",
            lambda: k.kek.wrap_key(Mechanism.AES_KEY_WRAP_KWP, k.target),
            lambda: s.wrap_key(Mechanism.AES_KEY_WRAP_KWP, e.kek, e.target),
            lambda: aes_key_wrap_with_padding(raw_kek, raw_target),
            "`aes_key_wrap_with_padding`",
        ),
        Operation(
            "digest",
            "SHA-256 digest 1 KiB",
            lambda: client.digest(Mechanism.SHA256, data_1k),
            lambda: s.digest(Mechanism.SHA256, data_1k),
            raw_digest,
            "`hashes.Hash` update + finalize",
        ),
        Operation(
            "random",
            "random 32 B",
            lambda: client.generate_random(32),
            lambda: s.generate_random(32),
            lambda: os.urandom(32),
            "`os.urandom`",
        ),
    ]
    for op in ops:
        _check(op.name, op.sdk(), op.engine(), op.raw())
    return ops


# --- rows ----------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the table: an operation at one concurrency."""

    key: str
    name: str
    concurrency: int
    sdk: Stats
    engine: Stats
    raw: Stats
    raw_name: str
    raw_threaded: Stats | None = None
    """The raw call from ``concurrency`` threads (public-key rows at concurrency > 1)."""

    @property
    def ratio(self) -> float:
        """SDK ops/s ÷ raw single-thread ops/s."""
        return self.sdk.ops_per_s / self.raw.ops_per_s if self.raw.ops_per_s else 0.0


@dataclass(frozen=True)
class Timing:
    """Seconds measured per row and side, split into repetitions, after a warm-up."""

    seconds: float
    reps: int
    warmup_s: float

    @property
    def rep_s(self) -> float:
        return self.seconds / self.reps


def bench_operation(
    op: Operation, concurrency: tuple[int, ...], timing: Timing, server_pid: int
) -> list[Row]:
    """Warm up, then alternate SDK (each concurrency), engine and raw repetitions."""
    for threads in concurrency:
        run_threads(op.sdk, threads, timing.warmup_s)
    run_threads(op.engine, 1, timing.warmup_s)
    run_threads(op.raw, 1, timing.warmup_s)
    sdk = {threads: Series() for threads in concurrency}
    engine, raw = Series(), Series()
    threaded = {t: Series() for t in concurrency if t > 1 and op.threaded_raw}
    for _ in range(timing.reps):
        for threads, series in sdk.items():
            measure_into(series, op.sdk, threads, timing.rep_s, server_pid)
        measure_into(engine, op.engine, 1, timing.rep_s, server_pid)
        measure_into(raw, op.raw, 1, timing.rep_s, server_pid)
        for threads, series in threaded.items():
            measure_into(series, op.raw, threads, timing.rep_s, server_pid)
    engine_stats, raw_stats = Stats.of(engine), Stats.of(raw)
    return [
        Row(
            op.key,
            op.name,
            threads,
            Stats.of(series),
            engine_stats,
            raw_stats,
            op.raw_name,
            Stats.of(threaded[threads]) if threads in threaded else None,
        )
        for threads, series in sdk.items()
    ]


# --- the asyncio SDK -------------------------------------------------------------------------


@dataclass
class AsyncRow:
    """One operation at one concurrency through ``AsyncHSMClient`` (tasks on one loop)."""

    key: str
    name: str
    concurrency: int
    sdk: Stats


AsyncOp = Callable[[], Awaitable[object]]


async def _run_tasks(op: AsyncOp, tasks: int, seconds: float) -> tuple[list[int], float]:
    """``tasks`` coroutines calling ``op`` back to back for ``seconds``; like run_threads."""
    samples: list[int] = []
    clock = time.perf_counter_ns
    start = clock()
    stop = start + int(seconds * 1e9)

    async def worker() -> None:
        while True:
            t0 = clock()
            await op()
            t1 = clock()
            samples.append(t1 - t0)
            if t1 >= stop:
                return

    await asyncio.gather(*(worker() for _ in range(tasks)))
    return samples, (clock() - start) / 1e9


def bench_async(
    config: ClientConfig,
    user: dict[str, str],
    client: HSMClient,
    concurrency: tuple[int, ...],
    timing: Timing,
    server_pid: int,
    only: tuple[str, ...] | None,
) -> list[AsyncRow]:
    """The signing rows and ``random`` through the asyncio SDK, on uvloop where installed."""
    keys = sdk_keys(client)
    rsa, ecdsa, ed = keys.rsa_priv, keys.ec_priv, keys.ed_priv
    rows: list[AsyncRow] = []

    async def main() -> None:
        aclient = await AsyncHSMClient.connect(config)
        await aclient.login(user["username"], user["password"])
        table: list[tuple[str, str, AsyncOp]] = [
            (
                "rsa-sign",
                "RSA-2048 sign, SHA256_RSA_PKCS_PSS (64 B)",
                lambda: aclient.key(rsa.handle).sign(
                    Mechanism.SHA256_RSA_PKCS_PSS, MESSAGE, PSSParams()
                ),
            ),
            (
                "ecdsa-sign",
                "ECDSA P-256 sign, ECDSA_SHA256 (64 B)",
                lambda: aclient.key(ecdsa.handle).sign(Mechanism.ECDSA_SHA256, MESSAGE),
            ),
            (
                "ed25519-sign",
                "Ed25519 sign, EDDSA (64 B)",
                lambda: aclient.key(ed.handle).sign(Mechanism.EDDSA, MESSAGE),
            ),
            ("random", "random 32 B", lambda: aclient.generate_random(32)),
        ]
        try:
            for key, name, op in table:
                if only and key not in only:
                    continue
                series = {tasks: Series() for tasks in concurrency}
                for tasks in concurrency:
                    await _run_tasks(op, tasks, timing.warmup_s)
                for _ in range(timing.reps):
                    for tasks, each in series.items():
                        gc.collect()
                        own0, srv0 = time.process_time(), _proc_cpu_seconds(server_pid)
                        samples, wall = await _run_tasks(op, tasks, timing.rep_s)
                        own1, srv1 = time.process_time(), _proc_cpu_seconds(server_pid)
                        each.rates.append(len(samples) / wall)
                        each.samples += samples
                        each.wall_s += wall
                        each.client_cpu_s += own1 - own0
                        each.server_cpu_s += srv1 - srv0
                rows.extend(
                    AsyncRow(key, name, tasks, Stats.of(each)) for tasks, each in series.items()
                )
                print(f"  {name} (asyncio): done", file=sys.stderr)
        finally:
            await aclient.close()

    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())
    return rows


def async_table(rows: list[AsyncRow], raw: dict[str, float]) -> str:
    """The asyncio rows as a markdown table (raw: single-thread ops/s by key)."""
    lines = [
        "| operation | concurrency | async SDK ops/s | p50 | p99 | SDK/raw | client CPU/op |"
        " node CPU/op |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        base = raw.get(r.key)
        ratio = f"{r.sdk.ops_per_s / base:.2f}" if base else "–"
        lines.append(
            f"| {r.name} | {r.concurrency} | {_fmt_ops(r.sdk.ops_per_s)} "
            f"| {_fmt_ns(r.sdk.p50_ns)} | {_fmt_ns(r.sdk.p99_ns)} | {ratio} "
            f"| {r.sdk.client_cpu_us:.0f} µs | {r.sdk.server_cpu_us:.0f} µs |"
        )
    return "\n".join(lines)


# --- output --------------------------------------------------------------------------------


def table(rows: list[Row]) -> str:
    """The results as a markdown table."""
    lines = [
        "| operation | concurrency | SDK ops/s | SDK p50 | SDK p99 | engine ops/s (1 thread) "
        "| raw ops/s (1 thread) | raw ops/s (N threads) | SDK/raw | client CPU/op "
        "| node CPU/op | other load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        s = row.sdk
        threaded = _fmt_ops(row.raw_threaded.ops_per_s) if row.raw_threaded else "–"
        lines.append(
            f"| {row.name} | {row.concurrency} | {_fmt_ops(s.ops_per_s)} | {_fmt_ns(s.p50_ns)} "
            f"| {_fmt_ns(s.p99_ns)} | {_fmt_ops(row.engine.ops_per_s)} "
            f"| {_fmt_ops(row.raw.ops_per_s)} | {threaded} | {row.ratio:.2f} "
            f"| {s.client_cpu_us:.0f} µs | {s.server_cpu_us:.0f} µs | {s.foreign_cores:.2f} |"
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class Verdict:
    """One of issue 5's targets and how this run did."""

    target: str
    result: str
    met: bool | None
    """None: not measured in this run (``--only``)."""

    @property
    def word(self) -> str:
        return "not measured" if self.met is None else ("MET" if self.met else "NOT MET")


def verdicts(rows: list[Row]) -> list[Verdict]:
    """Issue 5's targets, judged on this run's rows."""
    found = {(r.key, r.concurrency): r for r in rows}
    out = []
    rsa8 = found.get(("rsa-sign", 8))
    target = f"RSA-2048 sign at 8 concurrent ≥ {RSA_FLOOR:g} × raw single-thread"
    if rsa8 is None:
        out.append(Verdict(target, "–", None))
    else:
        out.append(
            Verdict(
                target,
                f"{_fmt_ops(rsa8.sdk.ops_per_s)}/s against raw {_fmt_ops(rsa8.raw.ops_per_s)}/s: "
                f"{rsa8.ratio:.2f} ×",
                rsa8.ratio >= RSA_FLOOR,
            )
        )
    ecdsa = [r for r in rows if r.key == "ecdsa-sign"]
    target = f"ECDSA P-256 sign ≥ {ECDSA_OPS:,.0f}/s at its best concurrency"
    if not ecdsa:
        out.append(Verdict(target, "–", None))
    else:
        best = max(ecdsa, key=lambda r: r.sdk.ops_per_s)
        out.append(
            Verdict(
                target,
                f"{_fmt_ops(best.sdk.ops_per_s)}/s at {best.concurrency} concurrent",
                best.sdk.ops_per_s >= ECDSA_OPS,
            )
        )
    small = [found[(key, 1)] for key in ("random", "gcm-64") if (key, 1) in found]
    target = f"small-operation round trip at concurrency 1: p50 ≤ {SMALL_OP_P50_US:g} µs"
    if not small:
        out.append(Verdict(target, "–", None))
    else:
        passing = [r for r in small if r.sdk.p50_ns / 1000 <= SMALL_OP_P50_US]
        result = "; ".join(f"{r.name} p50 {_fmt_ns(r.sdk.p50_ns)}" for r in small)
        if passing and len(passing) < len(small):
            result += f" (met by {', '.join(r.name for r in passing)} only)"
        out.append(Verdict(target, result, len(passing) == len(small)))
    return out


def async_verdicts(rows: list[AsyncRow], raw: dict[str, float]) -> list[Verdict]:
    """The same targets judged on the asyncio SDK's rows."""
    found = {(r.key, r.concurrency): r for r in rows}
    out = []
    rsa8 = found.get(("rsa-sign", 8))
    if rsa8 is not None and raw.get("rsa-sign"):
        ratio = rsa8.sdk.ops_per_s / raw["rsa-sign"]
        out.append(
            Verdict(
                f"asyncio SDK: RSA-2048 sign at 8 concurrent ≥ {RSA_FLOOR:g} × raw single-thread",
                f"{_fmt_ops(rsa8.sdk.ops_per_s)}/s: {ratio:.2f} ×",
                ratio >= RSA_FLOOR,
            )
        )
    ecdsa = [r for r in rows if r.key == "ecdsa-sign"]
    if ecdsa:
        best = max(ecdsa, key=lambda r: r.sdk.ops_per_s)
        out.append(
            Verdict(
                f"asyncio SDK: ECDSA P-256 sign ≥ {ECDSA_OPS:,.0f}/s",
                f"{_fmt_ops(best.sdk.ops_per_s)}/s at {best.concurrency} concurrent",
                best.sdk.ops_per_s >= ECDSA_OPS,
            )
        )
    one = found.get(("random", 1))
    if one is not None:
        out.append(
            Verdict(
                f"asyncio SDK: random 32 B round trip p50 ≤ {SMALL_OP_P50_US:g} µs",
                f"p50 {_fmt_ns(one.sdk.p50_ns)}",
                one.sdk.p50_ns / 1000 <= SMALL_OP_P50_US,
            )
        )
    return out


def verdict_table(items: list[Verdict]) -> str:
    """The targets as a markdown table."""
    lines = ["| target | result | verdict |", "|---|---|---|"]
    lines += [f"| {v.target} | {v.result} | **{v.word}** |" for v in items]
    return "\n".join(lines)


# --- main ----------------------------------------------------------------------------------


def _concurrency(text: str) -> tuple[int, ...]:
    values = tuple(int(v) for v in text.split(",") if v.strip())
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("concurrency is a comma-separated list of counts ≥ 1")
    return values


def _only(text: str) -> tuple[str, ...]:
    keys = tuple(v.strip() for v in text.split(",") if v.strip())
    unknown = [k for k in keys if k not in OPERATION_KEYS]
    if unknown or not keys:
        raise argparse.ArgumentTypeError(
            f"unknown operation(s) {unknown}; choose from {', '.join(OPERATION_KEYS)}"
        )
    return keys


def main(argv: list[str] | None = None) -> int:
    """Start a one-node cluster, measure every operation, print the machine and the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--seconds", type=float, default=1.0, help="measured seconds per row and side (1.0)"
    )
    parser.add_argument("--quick", action="store_true", help="smoke test: 0.3 s per row")
    parser.add_argument(
        "--only", type=_only, help=f"comma-separated subset of: {', '.join(OPERATION_KEYS)}"
    )
    parser.add_argument(
        "--concurrency",
        type=_concurrency,
        default=DEFAULT_CONCURRENCY,
        help="concurrent requests (threads sharing one client), default 1,8,64",
    )
    parser.add_argument(
        "--connections", type=int, default=1, help="the client's connections to the node (1)"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--dir", type=Path, help="where the cluster and the engine store go")
    args = parser.parse_args(argv)
    seconds = 0.3 if args.quick else args.seconds
    reps = REPS_QUICK if args.quick else REPS_FULL
    timing = Timing(seconds=seconds, reps=reps, warmup_s=min(0.2, seconds / 2))
    began = time.perf_counter()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="strongroom-net-bench-", dir=args.dir) as tmp:
        work_dir = Path(tmp)
        machine = machine_info(work_dir)
        machine["uvloop"] = metadata.version("uvloop")
        machine["client connections"] = str(args.connections)
        print("## Machine\n")
        for key, value in machine.items():
            print(f"- {key}: {value}")
        print(flush=True)
        cluster = DevCluster(work_dir / "cluster")
        print("starting a one-node development cluster…", file=sys.stderr)
        endpoints, _first = up(cluster)
        try:
            server_pid = int(endpoints["hsms"][0]["pid"])
            config = ClientConfig.from_endpoints(
                cluster.endpoints_path, connections_per_hsm=args.connections
            )
            user = endpoints["crypto_user"]
            engine_dir = work_dir / "engine"
            engine_dir.mkdir()
            bench = open_bench(engine_dir)
            try:
                with HSMClient.connect(config) as client:
                    client.login(user["username"], user["password"])
                    for op in operations(client, bench.user):
                        if args.only and op.key not in args.only:
                            continue
                        rows += bench_operation(op, args.concurrency, timing, server_pid)
                        print(f"  {op.name}: done", file=sys.stderr)
                    async_rows = bench_async(
                        config, user, client, args.concurrency, timing, server_pid, args.only
                    )
            finally:
                bench.hsm.close()
        finally:
            down(cluster)
    total = time.perf_counter() - began
    load = os.getloadavg()
    items = verdicts(rows)
    mode = "quick" if args.quick else f"{seconds:g} s per row"
    print(f"## Results ({mode}, {timing.reps} repetitions, {total:.0f} s)\n")
    print(table(rows))
    raw_single = {r.key: r.raw.ops_per_s for r in rows if r.concurrency == args.concurrency[0]}
    print("\n### The asyncio SDK (`AsyncHSMClient`, tasks on one uvloop loop)\n")
    print(async_table(async_rows, raw_single))
    items += async_verdicts(async_rows, raw_single)
    print("\n## Targets (issue 5)\n")
    print(verdict_table(items))
    print(f"\nload average at end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if args.json is not None:
        out = {
            "machine": machine,
            "timing": asdict(timing),
            "concurrency": list(args.concurrency),
            "seconds": total,
            "rows": [{**asdict(row), "ratio": row.ratio} for row in rows],
            "async_rows": [asdict(row) for row in async_rows],
            "targets": [{**asdict(v), "verdict": v.word} for v in items],
        }
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
