"""Engine benchmark: each Strongroom engine operation beside the same work in raw pyca/cryptography.

Run on demand, never in CI::

    python bench/engine_bench.py [--quick] [--json out.json] [--dir DIR]
                                 [--only foundation|families]

One run measures, in one process, two sets of rows. The foundation rows: RSA-2048 and
ECDSA P-256 signing, AES-256-GCM encryption, durable TOKEN key generation on a SQLite store,
find-by-label at 10k / 100k / 1M token objects and login with the production password KDF.
The mechanism-family rows (issue 3): sign and verify (RSA PKCS#1 v1.5, PSS, OAEP, ECDSA
P-256 / P-384, Ed25519, HMAC, CMAC), encrypt and decrypt (AES-GCM, CBC-PAD, CTR, ECB, and
multi-part GCM over 16 MiB), wrap and unwrap (AES-KWP, AES-KW, AES-GCM, RSA-OAEP, RSA-AES),
derive (ECDH with X9.63, SP 800-108, HKDF) and digest (SHA-256, SHA3-256). Each goes
through a logged-in engine session and, beside it, as the bare pyca/cryptography (or dict,
or file) operation that is its physical floor; the family rows also carry SoftHSM2's figure
from perf-baseline.md where it has one. Every call is timed with ``perf_counter_ns`` after a
warm-up; engine and raw repetitions alternate so both see the same background noise, and
each figure is the median over repetitions. It prints the machine, markdown tables and
whether each target was met. ``--quick`` is a smoke test (short repetitions, 10k objects
only).

The engine's stores live in a temporary directory (``--dir``, default the system temp dir)
on the disk under test; it is deleted at the end.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cryptography
from cryptography.hazmat.backends.openssl.backend import backend as openssl_backend
from cryptography.hazmat.primitives import cmac, hashes, hmac, serialization
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.kbkdf import KBKDFHMAC, CounterLocation, Mode
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF
from cryptography.hazmat.primitives.keywrap import (
    aes_key_unwrap,
    aes_key_unwrap_with_padding,
    aes_key_wrap,
    aes_key_wrap_with_padding,
)

from strongroom.constants import Attribute, KeyType, Mechanism, ObjectClass, Role
from strongroom.crypto.asymmetric import ec_params_for_curve, ec_point
from strongroom.engine import (
    HSM,
    CTRParams,
    ECDH1DeriveParams,
    GCMParams,
    HKDFParams,
    HSMConfig,
    OAEPParams,
    RSAAESKeyWrapParams,
    Session,
    SP800108Params,
)
from strongroom.engine.objects import HSMObject, ObjectCatalog
from strongroom.engine.passwords import MIN_ITERATIONS
from strongroom.model.templates import apply_defaults, normalize_template
from strongroom.store.sqlite import SQLiteStore

ADMIN_PASSWORD = "bench-admin-password"  # a throwaway HSM in a temp dir
USER_PASSWORD = "bench-user-password"
USER = "bench"
MESSAGE = b"\x5a" * 64
FULL_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (10_000,)
BATCH = 50_000
"""Objects per store transaction while populating."""
LOOKUP_LABELS = 250_000
"""Random labels (uniform over the store) each find benchmark cycles through: more than the
run makes calls, so at 100k and 1M objects most lookups miss the engine's object cache
(65,536 entries) and load the object from SQLite, as random lookups in a large store do."""


# --- measuring -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """How long to warm up and how to repeat."""

    warmup_s: float
    rep_s: float
    reps: int


FULL = Timing(warmup_s=0.3, rep_s=0.5, reps=5)
QUICK = Timing(warmup_s=0.02, rep_s=0.05, reps=3)


@dataclass(frozen=True)
class Stats:
    """Medians over repetitions of one benchmark."""

    ops_per_s: float
    p50_ns: float
    p99_ns: float
    calls: int
    spread: float
    """(max − min) / median of the per-repetition ops/s."""


@dataclass
class _Series:
    rates: list[float]
    p50s: list[float]
    p99s: list[float]
    calls: int = 0

    def stats(self) -> Stats:
        median = statistics.median(self.rates)
        return Stats(
            ops_per_s=median,
            p50_ns=statistics.median(self.p50s),
            p99_ns=statistics.median(self.p99s),
            calls=self.calls,
            spread=(max(self.rates) - min(self.rates)) / median if median else 0.0,
        )


Op = Callable[[], object]


def _percentile(ordered: list[int], fraction: float) -> float:
    return float(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))])


def _one_rep(op: Op, after: Op | None, rep_s: float, min_calls: int, series: _Series) -> None:
    """Run ``op`` back to back for ``rep_s`` (and ``min_calls``), timing every call.

    ``after`` runs between calls, untimed (e.g. logout after login); its time is taken out
    of the repetition's wall time too.
    """
    gc.collect()
    samples: list[int] = []
    untimed = 0
    clock = time.perf_counter_ns
    start = clock()
    deadline = start + int(rep_s * 1e9)
    while True:
        t0 = clock()
        op()
        t1 = clock()
        samples.append(t1 - t0)
        if after is not None:
            after()
            untimed += clock() - t1
        if t1 >= deadline and len(samples) >= min_calls:
            break
    wall = clock() - start - untimed
    samples.sort()
    series.rates.append(len(samples) * 1e9 / wall)
    series.p50s.append(_percentile(samples, 0.50))
    series.p99s.append(_percentile(samples, 0.99))
    series.calls += len(samples)


def _warm(op: Op, after: Op | None, seconds: float) -> None:
    deadline = time.perf_counter() + seconds
    while True:
        op()
        if after is not None:
            after()
        if time.perf_counter() >= deadline:
            return


def _busy_seconds() -> float | None:
    """CPU seconds all processes have spent busy since boot (Linux ``/proc/stat``)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class ForeignLoad:
    """Cores' worth of CPU used by *other* processes while a benchmark ran."""

    def __init__(self) -> None:
        self._busy = _busy_seconds()
        self._own = time.process_time()
        self._wall = time.perf_counter()

    def cores(self) -> float:
        """Average foreign cores since construction (NaN where ``/proc/stat`` is missing)."""
        busy = _busy_seconds()
        if busy is None or self._busy is None:
            return float("nan")
        own = time.process_time() - self._own
        wall = time.perf_counter() - self._wall
        return max(0.0, (busy - self._busy - own) / wall)


def measure_pair(
    engine: Op,
    raw: Op | None,
    timing: Timing,
    *,
    engine_after: Op | None = None,
    min_calls: int = 1,
) -> tuple[Stats, Stats | None, float]:
    """Engine and raw stats, their repetitions interleaved so both share the same noise.

    The third value is the foreign load (cores used by other processes) meanwhile.
    """
    _warm(engine, engine_after, timing.warmup_s)
    if raw is not None:
        _warm(raw, None, timing.warmup_s)
    eng = _Series([], [], [])
    ref = _Series([], [], [])
    load = ForeignLoad()
    for _ in range(timing.reps):
        _one_rep(engine, engine_after, timing.rep_s, min_calls, eng)
        if raw is not None:
            _one_rep(raw, None, timing.rep_s, min_calls, ref)
    return eng.stats(), (ref.stats() if raw is not None else None), load.cores()


# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    """A SoftHSM2 figure from perf-baseline.md and pyca/cryptography's beside it there."""

    softhsm_ops_per_s: float
    softhsm_p50_us: float
    pyca_ops_per_s: float
    """pyca/cryptography in-process, same pass and host as the SoftHSM2 figure."""

    @property
    def softhsm_ratio(self) -> float:
        """SoftHSM2 ops/s ÷ pyca ops/s on the baseline's host."""
        return self.softhsm_ops_per_s / self.pyca_ops_per_s


@dataclass
class Row:
    """One line of the results table."""

    name: str
    engine: Stats
    raw: Stats | None
    raw_name: str
    foreign_cores: float
    target: str = ""
    met: bool | None = None
    family: str = ""
    """Mechanism family (issue 3 rows); empty for the foundation rows."""
    notes: str = ""
    payload_bytes: int = 0
    """Bytes processed per call, for MB/s; 0 where throughput means nothing."""
    softhsm: Anchor | None = None

    @property
    def ratio(self) -> float | None:
        """Engine ops/s ÷ raw ops/s."""
        if self.raw is None or not self.raw.ops_per_s:
            return None
        return self.engine.ops_per_s / self.raw.ops_per_s

    @property
    def vs_softhsm(self) -> float | None:
        """Engine ops/s ÷ SoftHSM2's ops/s (absolute; the hosts may differ)."""
        if self.softhsm is None:
            return None
        return self.engine.ops_per_s / self.softhsm.softhsm_ops_per_s

    @property
    def vs_softhsm_normalised(self) -> float | None:
        """(engine ÷ raw, this run) ÷ (SoftHSM2 ÷ pyca, baseline): host speed cancels out."""
        ratio = self.ratio
        if self.softhsm is None or ratio is None:
            return None
        return ratio / self.softhsm.softhsm_ratio

    @property
    def ahead(self) -> str:
        """Whether the engine beats SoftHSM2, judged on the normalised ratio.

        The baseline ran on another host, so the verdict compares each product's fraction
        of pyca on its own host; "yes (norm.)" flags rows whose absolute figure is behind.
        """
        absolute, normalised = self.vs_softhsm, self.vs_softhsm_normalised
        if absolute is None or normalised is None:
            return "–"
        if normalised <= 1:
            return "**no**"
        return "yes" if absolute > 1 else "yes (norm.)"


def _ratio_target(row: Row, floor: float) -> Row:
    row.target = f"≥ {floor:g} × raw"
    row.met = row.ratio is not None and row.ratio >= floor
    return row


def _fmt_ops(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def _fmt_ns(value: float) -> str:
    us = value / 1000
    if us >= 1000:
        return f"{us / 1000:,.2f} ms"
    if us >= 100:
        return f"{us:,.0f} µs"
    if us >= 10:
        return f"{us:.1f} µs"
    return f"{us:.2f} µs"


def table(rows: list[Row]) -> str:
    """The results as a markdown table."""
    lines = [
        "| operation | engine ops/s | engine p50 | engine p99 | raw analogue | raw ops/s "
        "| raw p50 | raw p99 | engine/raw | target | met | other load |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|---|---|---:|",
    ]
    for row in rows:
        e, r = row.engine, row.raw
        ratio = row.ratio
        met = "–" if row.met is None else ("yes" if row.met else "**no**")
        lines.append(
            f"| {row.name} | {_fmt_ops(e.ops_per_s)} | {_fmt_ns(e.p50_ns)} | {_fmt_ns(e.p99_ns)} "
            f"| {row.raw_name} "
            f"| {_fmt_ops(r.ops_per_s) if r else '–'} | {_fmt_ns(r.p50_ns) if r else '–'} "
            f"| {_fmt_ns(r.p99_ns) if r else '–'} "
            f"| {f'{ratio:.2f}' if ratio is not None else '–'} | {row.target or '–'} | {met} "
            f"| {row.foreign_cores:.2f} |"
        )
    return "\n".join(lines)


def _fmt_rate(stats: Stats, payload: int) -> str:
    text = _fmt_ops(stats.ops_per_s)
    if payload:
        text += f" ({stats.ops_per_s * payload / 1e6:,.0f} MB/s)"
    return text


def family_tables(rows: list[Row]) -> str:
    """The mechanism-family rows as one markdown table per family."""
    out: list[str] = []
    families = list(dict.fromkeys(row.family for row in rows if row.family))
    for family in families:
        out += [
            f"### {family}",
            "",
            "| operation | engine ops/s | engine p50 | engine p99 | raw analogue | raw ops/s "
            "| raw p50 | engine/raw | SoftHSM2 ops/s (÷ pyca there) | engine ÷ SoftHSM2 "
            "(abs · norm) | ahead of SoftHSM2 | target | met | notes | other load |",
            "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---|---|---|---|---:|",
        ]
        for row in (r for r in rows if r.family == family):
            e, r = row.engine, row.raw
            ratio = row.ratio
            met = "–" if row.met is None else ("yes" if row.met else "**no**")
            anchor = row.softhsm
            softhsm = (
                f"{_fmt_ops(anchor.softhsm_ops_per_s)} ({anchor.softhsm_ratio:.2f})"
                if anchor
                else "–"
            )
            absolute, normalised = row.vs_softhsm, row.vs_softhsm_normalised
            versus = (
                f"{absolute:.1f}× · {normalised:.1f}×"
                if absolute is not None and normalised is not None
                else "–"
            )
            out.append(
                f"| {row.name} | {_fmt_rate(e, row.payload_bytes)} | {_fmt_ns(e.p50_ns)} "
                f"| {_fmt_ns(e.p99_ns)} | {row.raw_name} "
                f"| {_fmt_rate(r, row.payload_bytes) if r else '–'} "
                f"| {_fmt_ns(r.p50_ns) if r else '–'} "
                f"| {f'{ratio:.2f}' if ratio is not None else '–'} | {softhsm} | {versus} "
                f"| {row.ahead} | {row.target or '–'} | {met} | {row.notes or '–'} "
                f"| {row.foreign_cores:.2f} |"
            )
        out.append("")
    return "\n".join(out)


def target_summary(rows: list[Row]) -> str:
    """Which family rows meet the issue's targets: ≥ 0.8 × raw, and ahead of SoftHSM2."""
    floor = [r for r in rows if r.met is not None]
    missed = [r for r in floor if not r.met]
    anchored = [r for r in rows if r.softhsm is not None]
    behind = [r for r in anchored if r.ahead == "**no**"]
    absolute_behind = [r for r in anchored if r.ahead == "yes (norm.)"]
    lines = [
        f"- ≥ {CRYPTO_BOUND_FLOOR:g} × raw: {len(floor) - len(missed)} of {len(floor)} rows met"
        + (
            "; missed: " + "; ".join(f"{r.name} ({r.ratio:.2f})" for r in missed if r.ratio)
            if missed
            else ""
        ),
        f"- ahead of SoftHSM2: {len(anchored) - len(behind)} of {len(anchored)} rows"
        + (
            "; not ahead: "
            + "; ".join(
                f"{r.name} ({r.vs_softhsm:.2f}× abs, {r.vs_softhsm_normalised:.2f}× norm)"
                for r in behind
                if r.vs_softhsm is not None and r.vs_softhsm_normalised is not None
            )
            if behind
            else ""
        ),
        "- ahead on the normalised ratio but behind SoftHSM2's absolute figure (other host): "
        + ("; ".join(r.name for r in absolute_behind) if absolute_behind else "none"),
    ]
    return "\n".join(lines)


# --- machine -------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in text.splitlines()
            if line.startswith("model name")
        ),
        "unknown",
    )
    flags_line = next((line for line in text.splitlines() if line.startswith("flags")), "")
    flags = set(flags_line.split(":", 1)[1].split()) if ":" in flags_line else set()
    wanted = ("aes", "vaes", "sha_ni", "avx2", "avx512f")
    present = [f for f in wanted if f in flags]
    return f"{model} ({', '.join(present)})" if present else model


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.system()


def _filesystem(path: Path) -> str:
    best = ("", "unknown", "unknown")
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return "unknown"
    resolved = str(path.resolve())
    for line in mounts:
        device, point, fstype, *_ = line.split()
        inside = resolved == point or resolved.startswith(point.rstrip("/") + "/")
        if inside and len(point) > len(best[0]):
            best = (point, device, fstype)
    return f"{best[2]} on {best[1]} (mounted at {best[0]})"


def machine_info(work_dir: Path) -> dict[str, str]:
    """What the numbers were measured on."""
    load = os.getloadavg()
    return {
        "cpu": _cpu_model(),
        "cores": str(os.cpu_count()),
        "os": _os_name(),
        "kernel": platform.release(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "cryptography": cryptography.__version__,
        "openssl (cryptography)": openssl_backend.openssl_version_text(),
        "sqlite": sqlite3.sqlite_version,
        "store filesystem": _filesystem(work_dir),
        "load average at start": f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


# --- the engine under test -----------------------------------------------------------------


@dataclass
class Bench:
    """One HSM on a SQLite store, activated, with a logged-in crypto user."""

    hsm: HSM
    store: SQLiteStore
    user: Session
    work_dir: Path


def open_bench(work_dir: Path) -> Bench:
    """A new HSM with the production config (PBKDF2 600k) and a logged-in crypto user."""
    store = SQLiteStore(work_dir / "engine.db")
    hsm = HSM.open(store, HSMConfig())
    admin = hsm.open_session()
    admin.login("admin", "password")
    admin.activate(ADMIN_PASSWORD)
    admin.create_user(USER, USER_PASSWORD, Role.CRYPTO_USER)
    user = hsm.open_session()
    user.login(USER, USER_PASSWORD)
    return Bench(hsm, store, user, work_dir)


def bench_signing(b: Bench, timing: Timing) -> list[Row]:
    """RSA-2048 PSS and PKCS#1 v1.5, ECDSA P-256: engine token keys against pyca keys."""
    s = b.user
    _, rsa_priv = s.generate_key_pair(
        Mechanism.RSA_PKCS_KEY_PAIR_GEN,
        {Attribute.MODULUS_BITS: 2048, Attribute.TOKEN: True},
        {Attribute.TOKEN: True, Attribute.LABEL: "bench-rsa"},
    )
    _, ec_priv = s.generate_key_pair(
        Mechanism.EC_KEY_PAIR_GEN,
        {Attribute.EC_PARAMS: ec_params_for_curve("secp256r1"), Attribute.TOKEN: True},
        {Attribute.TOKEN: True, Attribute.LABEL: "bench-ec"},
    )
    raw_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raw_ec = ec.generate_private_key(ec.SECP256R1())
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    pkcs1 = padding.PKCS1v15()

    def raw_ecdsa() -> bytes:
        r, s_ = decode_dss_signature(raw_ec.sign(MESSAGE, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s_.to_bytes(32, "big")

    rows = []
    for name, engine, raw, raw_name in (
        (
            "RSA-2048 sign, SHA256_RSA_PKCS_PSS (64 B)",
            lambda: s.sign(rsa_priv, Mechanism.SHA256_RSA_PKCS_PSS, MESSAGE),
            lambda: raw_rsa.sign(MESSAGE, pss, hashes.SHA256()),
            "`RSAPrivateKey.sign` PSS",
        ),
        (
            "RSA-2048 sign, SHA256_RSA_PKCS (64 B)",
            lambda: s.sign(rsa_priv, Mechanism.SHA256_RSA_PKCS, MESSAGE),
            lambda: raw_rsa.sign(MESSAGE, pkcs1, hashes.SHA256()),
            "`RSAPrivateKey.sign` PKCS#1 v1.5",
        ),
        (
            "ECDSA P-256 sign, ECDSA_SHA256 (64 B)",
            lambda: s.sign(ec_priv, Mechanism.ECDSA_SHA256, MESSAGE),
            raw_ecdsa,
            "`ec` sign + `decode_dss_signature`",
        ),
    ):
        eng, ref, load = measure_pair(engine, raw, timing)
        rows.append(_ratio_target(Row(name, eng, ref, raw_name, load), 0.8))
        print(f"  {name}: done", file=sys.stderr)
    return rows


def bench_gcm(b: Bench, timing: Timing) -> list[Row]:
    """AES-256-GCM encrypt with a caller IV, against AESGCM with a random nonce per call."""
    s = b.user
    key = s.generate_key(
        Mechanism.AES_KEY_GEN,
        {Attribute.VALUE_LEN: 32, Attribute.TOKEN: True, Attribute.LABEL: "bench-aes"},
    )
    raw = AESGCM(AESGCM.generate_key(bit_length=256))
    rows = []
    for size in (64, 4096):
        data = os.urandom(size)

        def engine(data: bytes = data) -> bytes:
            return s.encrypt(key, Mechanism.AES_GCM, data, GCMParams(iv=os.urandom(12)))

        def reference(data: bytes = data) -> bytes:
            return raw.encrypt(os.urandom(12), data, None)

        label = "64 B" if size == 64 else "4 KiB"
        eng, ref, load = measure_pair(engine, reference, timing)
        rows.append(
            Row(
                f"AES-256-GCM encrypt {label}, caller IV",
                eng,
                ref,
                "`AESGCM.encrypt`, urandom nonce",
                load,
            )
        )
        print(f"  GCM {label}: done", file=sys.stderr)
    return rows


def bench_keygen(b: Bench, timing: Timing) -> Row:
    """Durable TOKEN AES-256 generation against urandom + KWP + write, fsync, rename, fsync dir."""
    s = b.user
    counter = iter(range(10**9))
    template: dict[int, object] = {Attribute.VALUE_LEN: 32, Attribute.TOKEN: True}

    def engine() -> int:
        return s.generate_key(
            Mechanism.AES_KEY_GEN, {**template, Attribute.LABEL: f"gen-{next(counter):09d}"}
        )

    key_dir = b.work_dir / "raw-keys"
    key_dir.mkdir()
    dir_fd = os.open(key_dir, os.O_RDONLY)
    kek = os.urandom(32)
    raw_counter = iter(range(10**9))

    def reference() -> None:
        blob = aes_key_wrap_with_padding(kek, os.urandom(32))
        name = f"key-{next(raw_counter):09d}"
        tmp = key_dir / (name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, blob)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, key_dir / name)
        os.fsync(dir_fd)

    try:
        eng, ref, load = measure_pair(engine, reference, timing)
    finally:
        os.close(dir_fd)
    row = Row(
        "TOKEN AES-256 generate_key, durable (SQLite, fsync)",
        eng,
        ref,
        "urandom + KWP + file, fsync, rename, fsync dir",
        load,
        target="≥ 1,000/s",
    )
    row.met = eng.ops_per_s >= 1000
    print("  keygen: done", file=sys.stderr)
    return row


def _label(i: int) -> str:
    return f"bench-obj-{i:07d}"


def populate(b: Bench, start: int, stop: int, index: dict[str, int]) -> float:
    """Insert public data objects ``start``..``stop``-1 straight into the store; seconds taken.

    Records are built the way the engine builds them (defaults applied, attributes encoded
    by ``ObjectCatalog.record_for``) and written with the store's transaction API in batches
    of ``BATCH``; the audit log is bypassed, as a bulk restore would.
    """
    user = b.store.get_user_by_name(USER)
    assert user is not None
    encoder = ObjectCatalog(b.store, cache_size=1)
    encoder.storage_key = b.hsm._core.catalog.storage_key  # every token object is sealed
    base = apply_defaults(
        ObjectClass.DATA,
        None,
        normalize_template({Attribute.TOKEN: True, Attribute.APPLICATION: "engine-bench"}),
    )
    began = time.perf_counter()
    for batch_start in range(start, stop, BATCH):
        with b.store.transaction() as tx:
            for i in range(batch_start, min(stop, batch_start + BATCH)):
                handle = tx.allocate_handle()
                attributes = dict(base)
                attributes[Attribute.LABEL] = _label(i)
                attributes[Attribute.VALUE] = i.to_bytes(8, "big")
                tx.put_object(
                    encoder.record_for(HSMObject(handle, attributes, user.user_id, verified=True))
                )
                index[_label(i)] = handle
    return time.perf_counter() - began


def bench_find(
    b: Bench, timing: Timing, sizes: tuple[int, ...]
) -> tuple[list[Row], list[dict[str, float]]]:
    """Find-by-label through the crypto user's session at each size, against a dict lookup."""
    rng = random.Random(20261125)
    index: dict[str, int] = {}
    rows: list[Row] = []
    population: list[dict[str, float]] = []
    have = 0
    s = b.user
    for size in sizes:
        seconds = populate(b, have, size, index)
        population.append(
            {"objects": size, "added": size - have, "seconds": seconds, "db_bytes": _db_size(b)}
        )
        print(
            f"  populated {size - have:,} objects in {seconds:.1f} s "
            f"({(size - have) / seconds:,.0f}/s)",
            file=sys.stderr,
        )
        have = size
        labels = [_label(rng.randrange(size)) for _ in range(LOOKUP_LABELS)]
        for label in labels[:16]:  # check the benchmark finds what it claims to
            assert s.find_objects({Attribute.LABEL: label}) == [index[label]]
        engine_next = itertools.cycle(labels).__next__
        raw_next = itertools.cycle(labels).__next__

        def engine(next_label: Callable[[], str] = engine_next) -> list[int]:
            return s.find_objects({Attribute.LABEL: next_label()})

        def reference(next_label: Callable[[], str] = raw_next) -> int:
            return index[next_label()]

        eng, ref, load = measure_pair(engine, reference, timing)
        row = Row(
            f"find_objects by LABEL, {size:,} token objects",
            eng,
            ref,
            "`dict` lookup",
            load,
        )
        if size == 1_000_000:
            row.target = "p50 < 1 ms"
            row.met = eng.p50_ns < 1_000_000
        rows.append(row)
        print(f"  find at {size:,}: done", file=sys.stderr)
    return rows, population


def _db_size(b: Bench) -> float:
    return float(sum(p.stat().st_size for p in b.work_dir.glob("engine.db*")))


def bench_login(b: Bench, timing: Timing) -> Row:
    """Crypto-user login (PBKDF2-HMAC-SHA256 600k, durable lockout counter) against raw PBKDF2."""
    session = b.hsm.open_session()

    def engine() -> object:
        return session.login(USER, USER_PASSWORD)

    salt = os.urandom(16)

    def reference() -> bytes:
        kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=MIN_ITERATIONS)
        return kdf.derive(USER_PASSWORD.encode())

    eng, ref, load = measure_pair(
        engine, reference, timing, engine_after=session.logout, min_calls=3
    )
    session.close()
    print("  login: done", file=sys.stderr)
    return Row(
        f"login (crypto user, PBKDF2 {MIN_ITERATIONS:,})",
        eng,
        ref,
        f"PBKDF2HMAC-SHA256 {MIN_ITERATIONS:,}",
        load,
    )


# --- mechanism families (issue 3) ---------------------------------------------------------

FAMILY_FULL = Timing(warmup_s=0.1, rep_s=0.15, reps=7)
"""Shorter repetitions than the foundation rows (there are fifty-odd family rows), and more
of them, so that the median shrugs off a burst of foreign load."""

KIB = 1024
MIB = 1024 * 1024
STREAM_TOTAL = 16 * MIB
STREAM_PIECE = MIB
CRYPTO_BOUND_FLOOR = 0.8
"""Issue 3: RSA, EC and Ed25519 operations keep at least this fraction of raw pyca."""

SOFTHSM2: dict[str, Anchor] = {
    # perf-baseline.md, "Single-thread: SoftHSM2 via python-pkcs11 vs pyca/cryptography",
    # quiet pass C, 2026-11-25: SoftHSM2 2.6.1 ops/s, its p50 (µs), pyca ops/s in that pass.
    # SoftHSM2 keys there are session objects and messages 64 B unless stated.
    "rsa_pkcs1_sign": Anchor(2_270, 438.3, 4_950),
    "rsa_pss_sign": Anchor(2_240, 443.4, 4_857),
    "rsa_pkcs1_verify": Anchor(41_736, 23.4, 64_475),
    "rsa_oaep_decrypt_sha1": Anchor(2_294, 433.5, 4_864),
    "ecdsa_p256_sign": Anchor(29_994, 32.8, 66_870),
    "ecdsa_p256_verify": Anchor(18_376, 53.8, 23_422),
    "ed25519_sign": Anchor(8_180, 121.0, 53_867),
    "ed25519_verify": Anchor(7_781, 126.3, 17_150),
    "gcm_encrypt_64": Anchor(103_824, 9.39, 979_982),
    "gcm_encrypt_4k": Anchor(88_107, 11.0, 729_107),
    "gcm_encrypt_1m": Anchor(507, 1_970.0, 18_375),
    "cbc_pad_encrypt_64": Anchor(121_202, 7.98, 253_480),
    "cbc_pad_encrypt_4k": Anchor(77_473, 12.5, 129_102),
    "hmac_sha256_64": Anchor(114_992, 8.38, 747_349),
    "sha256_4k": Anchor(173_087, 5.37, 330_921),
    "kwp_wrap": Anchor(51_275, 18.8, 928_340),
    "kwp_unwrap": Anchor(14_180, 63.6, 922_473),
}


@dataclass
class Case:
    """One family benchmark: an engine call and the raw pyca/cryptography call beside it."""

    name: str
    engine: Op
    raw: Op
    raw_name: str
    notes: str = "session key"
    softhsm: str | None = None
    floor: float | None = None
    payload: int = 0
    engine_after: Op | None = None
    min_calls: int = 1


def _run_cases(family: str, cases: list[Case], timing: Timing) -> list[Row]:
    rows = []
    for case in cases:
        eng, ref, load = measure_pair(
            case.engine,
            case.raw,
            timing,
            engine_after=case.engine_after,
            min_calls=case.min_calls,
        )
        row = Row(
            case.name,
            eng,
            ref,
            case.raw_name,
            load,
            family=family,
            notes=case.notes,
            payload_bytes=case.payload,
            softhsm=SOFTHSM2[case.softhsm] if case.softhsm else None,
        )
        if case.floor is not None:
            _ratio_target(row, case.floor)
        rows.append(row)
        print(f"  {case.name}: done", file=sys.stderr)
    return rows


def _same(engine: object, raw: object, what: str) -> None:
    """Check, before measuring, that the engine and raw calls do the same work."""
    if engine != raw:
        raise AssertionError(f"engine and raw disagree: {what}")


def _int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


class _Sweeper:
    """Destroys, untimed, the object the last engine call created (unwrap, derive)."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._handle: int | None = None

    def keep(self, handle: int) -> int:
        self._handle = handle
        return handle

    def __call__(self) -> None:
        if self._handle is not None:
            self._session.destroy_object(self._handle)
            self._handle = None


@dataclass
class FamilyKeys:
    """pyca keys and the same key material imported into the engine as session objects."""

    rsa: rsa.RSAPrivateKey
    rsa_priv: int
    rsa_pub: int
    p256: ec.EllipticCurvePrivateKey
    p256_priv: int
    p256_pub: int
    p384: ec.EllipticCurvePrivateKey
    p384_priv: int
    p384_pub: int
    ed: ed25519.Ed25519PrivateKey
    ed_priv: int
    ed_pub: int
    aes: bytes
    aes_handle: int
    kek: bytes
    kek_handle: int
    target: bytes
    """An AES-256 key (extractable) to wrap."""
    target_handle: int
    hmac: bytes
    hmac_handle: int
    kdf: bytes
    kdf_handle: int
    """A generic secret with DERIVE set, the base of SP 800-108 and HKDF."""


def _import_secret(s: Session, key_type: KeyType, value: bytes, **usage: bool) -> int:
    template: dict[int, object] = {
        Attribute.CLASS: ObjectClass.SECRET_KEY,
        Attribute.KEY_TYPE: key_type,
        Attribute.VALUE: value,
    }
    template.update({Attribute[name.upper()]: flag for name, flag in usage.items()})
    return s.create_object(template)


def _import_rsa(s: Session, key: rsa.RSAPrivateKey) -> tuple[int, int]:
    n = key.private_numbers()
    public: dict[int, object] = {
        Attribute.MODULUS: _int_bytes(n.public_numbers.n),
        Attribute.PUBLIC_EXPONENT: _int_bytes(n.public_numbers.e),
    }
    private = s.create_object(
        {
            Attribute.CLASS: ObjectClass.PRIVATE_KEY,
            Attribute.KEY_TYPE: KeyType.RSA,
            **public,
            Attribute.PRIVATE_EXPONENT: _int_bytes(n.d),
            Attribute.PRIME_1: _int_bytes(n.p),
            Attribute.PRIME_2: _int_bytes(n.q),
            Attribute.EXPONENT_1: _int_bytes(n.dmp1),
            Attribute.EXPONENT_2: _int_bytes(n.dmq1),
            Attribute.COEFFICIENT: _int_bytes(n.iqmp),
        }
    )
    pub = s.create_object(
        {Attribute.CLASS: ObjectClass.PUBLIC_KEY, Attribute.KEY_TYPE: KeyType.RSA, **public}
    )
    return private, pub


def _import_ec(
    s: Session, key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
) -> tuple[int, int]:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        key_type, params = KeyType.EC_EDWARDS, ec_params_for_curve("ed25519")
        value = key.private_bytes_raw()
        extra: dict[int, object] = {}
    else:
        key_type, params = KeyType.EC, ec_params_for_curve(key.curve.name)  # type: ignore[arg-type]
        value = key.private_numbers().private_value.to_bytes((key.curve.key_size + 7) // 8, "big")
        extra = {Attribute.DERIVE: True}
    private = s.create_object(
        {
            Attribute.CLASS: ObjectClass.PRIVATE_KEY,
            Attribute.KEY_TYPE: key_type,
            Attribute.EC_PARAMS: params,
            Attribute.VALUE: value,
            **extra,
        }
    )
    pub = s.create_object(
        {
            Attribute.CLASS: ObjectClass.PUBLIC_KEY,
            Attribute.KEY_TYPE: key_type,
            Attribute.EC_PARAMS: params,
            Attribute.EC_POINT: ec_point(key.public_key()),
        }
    )
    return private, pub


def family_keys(b: Bench) -> FamilyKeys:
    """Fresh pyca keys, each imported in the clear into the crypto user's session."""
    s = b.user
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    p256 = ec.generate_private_key(ec.SECP256R1())
    p384 = ec.generate_private_key(ec.SECP384R1())
    ed = ed25519.Ed25519PrivateKey.generate()
    aes, kek, target, hmac_key, kdf = (os.urandom(32) for _ in range(5))
    return FamilyKeys(
        rsa_key,
        *_import_rsa(s, rsa_key),
        p256,
        *_import_ec(s, p256),
        p384,
        *_import_ec(s, p384),
        ed,
        *_import_ec(s, ed),
        aes,
        _import_secret(s, KeyType.AES, aes),
        kek,
        _import_secret(s, KeyType.AES, kek),
        target,
        _import_secret(s, KeyType.AES, target),
        hmac_key,
        _import_secret(s, KeyType.GENERIC_SECRET, hmac_key),
        kdf,
        _import_secret(s, KeyType.GENERIC_SECRET, kdf, derive=True),
    )


def _rs(der: bytes, size: int) -> bytes:
    r, s_ = decode_dss_signature(der)
    return r.to_bytes(size, "big") + s_.to_bytes(size, "big")


def _der(raw: bytes) -> bytes:
    half = len(raw) // 2
    return encode_dss_signature(
        int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
    )


def family_sign_cases(b: Bench, k: FamilyKeys) -> list[Case]:
    """Sign and verify: RSA, ECDSA, Ed25519, HMAC, CMAC."""
    s = b.user
    sha256, sha384 = hashes.SHA256(), hashes.SHA384()
    pkcs1 = padding.PKCS1v15()
    pss = padding.PSS(mgf=padding.MGF1(sha256), salt_length=32)
    ecdsa256, ecdsa384 = ec.ECDSA(sha256), ec.ECDSA(sha384)
    rsa_pub = k.rsa.public_key()
    p256_pub, p384_pub, ed_pub = k.p256.public_key(), k.p384.public_key(), k.ed.public_key()

    pkcs1_sig = s.sign(k.rsa_priv, Mechanism.SHA256_RSA_PKCS, MESSAGE)
    _same(pkcs1_sig, k.rsa.sign(MESSAGE, pkcs1, sha256), "RSA PKCS#1 v1.5 signature")
    pss_sig = s.sign(k.rsa_priv, Mechanism.SHA256_RSA_PKCS_PSS, MESSAGE)
    rsa_pub.verify(pss_sig, MESSAGE, pss, sha256)
    raw_pss_sig = k.rsa.sign(MESSAGE, pss, sha256)
    p256_sig = s.sign(k.p256_priv, Mechanism.ECDSA_SHA256, MESSAGE)
    p256_pub.verify(_der(p256_sig), MESSAGE, ecdsa256)
    p384_sig = s.sign(k.p384_priv, Mechanism.ECDSA_SHA384, MESSAGE)
    p384_pub.verify(_der(p384_sig), MESSAGE, ecdsa384)
    ed_sig = s.sign(k.ed_priv, Mechanism.EDDSA, MESSAGE)
    _same(ed_sig, k.ed.sign(MESSAGE), "Ed25519 signature")

    def raw_hmac(data: bytes) -> bytes:
        h = hmac.HMAC(k.hmac, sha256)
        h.update(data)
        return h.finalize()

    def raw_cmac(data: bytes) -> bytes:
        c = cmac.CMAC(algorithms.AES(k.aes))
        c.update(data)
        return c.finalize()

    cases = [
        Case(
            "RSA-2048 sign, SHA256_RSA_PKCS",
            lambda: s.sign(k.rsa_priv, Mechanism.SHA256_RSA_PKCS, MESSAGE),
            lambda: k.rsa.sign(MESSAGE, pkcs1, sha256),
            "`RSAPrivateKey.sign` PKCS#1 v1.5",
            softhsm="rsa_pkcs1_sign",
            floor=CRYPTO_BOUND_FLOOR,
        ),
        Case(
            "RSA-2048 verify, SHA256_RSA_PKCS",
            lambda: s.verify(k.rsa_pub, Mechanism.SHA256_RSA_PKCS, MESSAGE, pkcs1_sig),
            lambda: rsa_pub.verify(pkcs1_sig, MESSAGE, pkcs1, sha256),
            "`RSAPublicKey.verify` PKCS#1 v1.5",
            notes="session public-key object",
            softhsm="rsa_pkcs1_verify",
            floor=CRYPTO_BOUND_FLOOR,
        ),
        Case(
            "RSA-2048 sign, SHA256_RSA_PKCS_PSS",
            lambda: s.sign(k.rsa_priv, Mechanism.SHA256_RSA_PKCS_PSS, MESSAGE),
            lambda: k.rsa.sign(MESSAGE, pss, sha256),
            "`RSAPrivateKey.sign` PSS, salt 32",
            softhsm="rsa_pss_sign",
            floor=CRYPTO_BOUND_FLOOR,
        ),
        Case(
            "RSA-2048 verify, SHA256_RSA_PKCS_PSS",
            lambda: s.verify(k.rsa_pub, Mechanism.SHA256_RSA_PKCS_PSS, MESSAGE, pss_sig),
            lambda: rsa_pub.verify(raw_pss_sig, MESSAGE, pss, sha256),
            "`RSAPublicKey.verify` PSS",
            notes="session public-key object",
            floor=CRYPTO_BOUND_FLOOR,
        ),
    ]
    for hash_name in ("SHA256", "SHA1"):
        params = OAEPParams(hash_name=hash_name)
        algorithm = sha256 if hash_name == "SHA256" else hashes.SHA1()
        oaep = padding.OAEP(mgf=padding.MGF1(algorithm), algorithm=algorithm, label=None)
        secret = os.urandom(32)
        ciphertext = rsa_pub.encrypt(secret, oaep)
        _same(
            s.decrypt(k.rsa_priv, Mechanism.RSA_PKCS_OAEP, ciphertext, params),
            secret,
            f"OAEP {hash_name} decrypt",
        )
        engine_ct = s.encrypt(k.rsa_pub, Mechanism.RSA_PKCS_OAEP, secret, params)
        _same(k.rsa.decrypt(engine_ct, oaep), secret, f"OAEP {hash_name} encrypt")
        label = "SHA-256" if hash_name == "SHA256" else "SHA-1"
        cases += [
            Case(
                f"RSA-2048 OAEP {label} decrypt (32 B)",
                lambda p=params, c=ciphertext: s.decrypt(  # type: ignore[misc]
                    k.rsa_priv, Mechanism.RSA_PKCS_OAEP, c, p
                ),
                lambda o=oaep, c=ciphertext: k.rsa.decrypt(c, o),  # type: ignore[misc]
                f"`RSAPrivateKey.decrypt` OAEP {label}",
                softhsm="rsa_oaep_decrypt_sha1" if hash_name == "SHA1" else None,
                floor=CRYPTO_BOUND_FLOOR,
            ),
            Case(
                f"RSA-2048 OAEP {label} encrypt (32 B)",
                lambda p=params, m=secret: s.encrypt(  # type: ignore[misc]
                    k.rsa_pub, Mechanism.RSA_PKCS_OAEP, m, p
                ),
                lambda o=oaep, m=secret: rsa_pub.encrypt(m, o),  # type: ignore[misc]
                f"`RSAPublicKey.encrypt` OAEP {label}",
                notes="session public-key object",
                floor=CRYPTO_BOUND_FLOOR,
            ),
        ]
    cases += [
        Case(
            "ECDSA P-256 sign, ECDSA_SHA256",
            lambda: s.sign(k.p256_priv, Mechanism.ECDSA_SHA256, MESSAGE),
            lambda: _rs(k.p256.sign(MESSAGE, ecdsa256), 32),
            "`ec` sign + r‖s",
            softhsm="ecdsa_p256_sign",
            floor=CRYPTO_BOUND_FLOOR,
        ),
        Case(
            "ECDSA P-256 verify, ECDSA_SHA256",
            lambda: s.verify(k.p256_pub, Mechanism.ECDSA_SHA256, MESSAGE, p256_sig),
            lambda: p256_pub.verify(_der(p256_sig), MESSAGE, ecdsa256),
            "r‖s → DER + `ec` verify",
            notes="session public-key object",
            softhsm="ecdsa_p256_verify",
            floor=CRYPTO_BOUND_FLOOR,
        ),
        Case(
            "ECDSA P-384 sign, ECDSA_SHA384",
            lambda: s.sign(k.p384_priv, Mechanism.ECDSA_SHA384, MESSAGE),
            lambda: _rs(k.p384.sign(MESSAGE, ecdsa384), 48),
            "`ec` sign + r‖s",
            floor=CRYPTO_BOUND_FLOOR,
        ),
        Case(
            "ECDSA P-384 verify, ECDSA_SHA384",
            lambda: s.verify(k.p384_pub, Mechanism.ECDSA_SHA384, MESSAGE, p384_sig),
            lambda: p384_pub.verify(_der(p384_sig), MESSAGE, ecdsa384),
            "r‖s → DER + `ec` verify",
            notes="session public-key object",
            floor=CRYPTO_BOUND_FLOOR,
        ),
        Case(
            "Ed25519 sign, EDDSA",
            lambda: s.sign(k.ed_priv, Mechanism.EDDSA, MESSAGE),
            lambda: k.ed.sign(MESSAGE),
            "`Ed25519PrivateKey.sign`",
            softhsm="ed25519_sign",
            floor=CRYPTO_BOUND_FLOOR,
        ),
        Case(
            "Ed25519 verify, EDDSA",
            lambda: s.verify(k.ed_pub, Mechanism.EDDSA, MESSAGE, ed_sig),
            lambda: ed_pub.verify(ed_sig, MESSAGE),
            "`Ed25519PublicKey.verify`",
            notes="session public-key object",
            softhsm="ed25519_verify",
            floor=CRYPTO_BOUND_FLOOR,
        ),
    ]
    for size in (64, 4 * KIB):
        data = os.urandom(size)
        tag = s.sign(k.hmac_handle, Mechanism.SHA256_HMAC, data)
        _same(tag, raw_hmac(data), "HMAC-SHA256")

        def raw_hmac_verify(data: bytes = data, tag: bytes = tag) -> None:
            h = hmac.HMAC(k.hmac, sha256)
            h.update(data)
            h.verify(tag)

        label = _size(size)
        cases += [
            Case(
                f"HMAC-SHA256 sign {label}",
                lambda d=data: s.sign(k.hmac_handle, Mechanism.SHA256_HMAC, d),  # type: ignore[misc]
                lambda d=data: raw_hmac(d),  # type: ignore[misc]
                "`hmac.HMAC` update + finalize",
                notes="session generic secret (32 B)",
                softhsm="hmac_sha256_64" if size == 64 else None,
                payload=size if size > 64 else 0,
            ),
            Case(
                f"HMAC-SHA256 verify {label}",
                lambda d=data, t=tag: s.verify(  # type: ignore[misc]
                    k.hmac_handle, Mechanism.SHA256_HMAC, d, t
                ),
                raw_hmac_verify,
                "`hmac.HMAC` update + verify",
                notes="session generic secret (32 B)",
                payload=size if size > 64 else 0,
            ),
        ]
    cmac_tag = s.sign(k.aes_handle, Mechanism.AES_CMAC, MESSAGE)
    _same(cmac_tag, raw_cmac(MESSAGE), "AES-CMAC")

    def raw_cmac_verify() -> None:
        c = cmac.CMAC(algorithms.AES(k.aes))
        c.update(MESSAGE)
        c.verify(cmac_tag)

    cases += [
        Case(
            "AES-256-CMAC sign 64 B",
            lambda: s.sign(k.aes_handle, Mechanism.AES_CMAC, MESSAGE),
            lambda: raw_cmac(MESSAGE),
            "`cmac.CMAC` update + finalize",
        ),
        Case(
            "AES-256-CMAC verify 64 B",
            lambda: s.verify(k.aes_handle, Mechanism.AES_CMAC, MESSAGE, cmac_tag),
            raw_cmac_verify,
            "`cmac.CMAC` update + verify",
        ),
    ]
    return cases


def _size(size: int) -> str:
    if size >= MIB:
        return f"{size // MIB} MiB"
    if size >= KIB:
        return f"{size // KIB} KiB"
    return f"{size} B"


def _one_shot(cipher: Cipher[Any], data: bytes, *, encrypt: bool) -> bytes:
    context = cipher.encryptor() if encrypt else cipher.decryptor()
    return context.update(data) + context.finalize()


def family_cipher_cases(b: Bench, k: FamilyKeys) -> list[Case]:
    """Encrypt and decrypt: AES-GCM, CBC-PAD, CTR, ECB, and multi-part GCM."""
    s = b.user
    aes = algorithms.AES(k.aes)
    raw_gcm = AESGCM(k.aes)
    pkcs7 = sym_padding.PKCS7(128)
    cases: list[Case] = []

    for size in (64, 4 * KIB, MIB):
        data = os.urandom(size)
        iv = os.urandom(12)
        ct = raw_gcm.encrypt(iv, data, None)
        _same(s.encrypt(k.aes_handle, Mechanism.AES_GCM, data, GCMParams(iv=iv)), ct, "GCM")
        label = _size(size)
        anchor = {64: "gcm_encrypt_64", 4 * KIB: "gcm_encrypt_4k", MIB: "gcm_encrypt_1m"}[size]
        cases += [
            Case(
                f"AES-256-GCM encrypt {label}, caller IV",
                lambda d=data: s.encrypt(  # type: ignore[misc]
                    k.aes_handle, Mechanism.AES_GCM, d, GCMParams(iv=os.urandom(12))
                ),
                lambda d=data: raw_gcm.encrypt(os.urandom(12), d, None),  # type: ignore[misc]
                "`AESGCM.encrypt`, urandom nonce",
                softhsm=anchor,
                payload=size if size > 64 else 0,
            ),
            Case(
                f"AES-256-GCM decrypt {label}",
                lambda c=ct, v=iv: s.decrypt(  # type: ignore[misc]
                    k.aes_handle, Mechanism.AES_GCM, c, GCMParams(iv=v)
                ),
                lambda c=ct, v=iv: raw_gcm.decrypt(v, c, None),  # type: ignore[misc]
                "`AESGCM.decrypt`",
                payload=size if size > 64 else 0,
            ),
        ]

    for size in (64, 4 * KIB):
        data = os.urandom(size)
        iv = os.urandom(16)

        def raw_cbc_encrypt(data: bytes = data) -> bytes:
            padder = pkcs7.padder()
            padded = padder.update(data) + padder.finalize()
            return _one_shot(Cipher(aes, modes.CBC(os.urandom(16))), padded, encrypt=True)

        padder = pkcs7.padder()
        ct = _one_shot(
            Cipher(aes, modes.CBC(iv)), padder.update(data) + padder.finalize(), encrypt=True
        )
        _same(s.encrypt(k.aes_handle, Mechanism.AES_CBC_PAD, data, iv), ct, "CBC-PAD")

        def raw_cbc_decrypt(ct: bytes = ct, iv: bytes = iv) -> bytes:
            unpadder = pkcs7.unpadder()
            padded = _one_shot(Cipher(aes, modes.CBC(iv)), ct, encrypt=False)
            return unpadder.update(padded) + unpadder.finalize()

        label = _size(size)
        cases += [
            Case(
                f"AES-256-CBC-PAD encrypt {label}",
                lambda d=data: s.encrypt(  # type: ignore[misc]
                    k.aes_handle, Mechanism.AES_CBC_PAD, d, os.urandom(16)
                ),
                raw_cbc_encrypt,
                "`Cipher` CBC + `PKCS7` padder, urandom IV",
                softhsm="cbc_pad_encrypt_64" if size == 64 else "cbc_pad_encrypt_4k",
                payload=size if size > 64 else 0,
            ),
            Case(
                f"AES-256-CBC-PAD decrypt {label}",
                lambda c=ct, v=iv: s.decrypt(k.aes_handle, Mechanism.AES_CBC_PAD, c, v),  # type: ignore[misc]
                raw_cbc_decrypt,
                "`Cipher` CBC + `PKCS7` unpadder",
                payload=size if size > 64 else 0,
            ),
        ]

    for size in (4 * KIB, MIB):
        data = os.urandom(size)
        block = os.urandom(16)
        ct = _one_shot(Cipher(aes, modes.CTR(block)), data, encrypt=True)
        _same(s.encrypt(k.aes_handle, Mechanism.AES_CTR, data, CTRParams(block)), ct, "AES-CTR")
        label = _size(size)
        cases += [
            Case(
                f"AES-256-CTR encrypt {label}",
                lambda d=data: s.encrypt(  # type: ignore[misc]
                    k.aes_handle, Mechanism.AES_CTR, d, CTRParams(os.urandom(16))
                ),
                lambda d=data: _one_shot(  # type: ignore[misc]
                    Cipher(aes, modes.CTR(os.urandom(16))), d, encrypt=True
                ),
                "`Cipher` CTR, urandom counter block",
                payload=size,
            ),
            Case(
                f"AES-256-CTR decrypt {label}",
                lambda c=ct, v=block: s.decrypt(  # type: ignore[misc]
                    k.aes_handle, Mechanism.AES_CTR, c, CTRParams(v)
                ),
                lambda c=ct, v=block: _one_shot(  # type: ignore[misc]
                    Cipher(aes, modes.CTR(v)), c, encrypt=False
                ),
                "`Cipher` CTR",
                payload=size,
            ),
        ]

    data = os.urandom(4 * KIB)
    ecb = Cipher(aes, modes.ECB())
    ct = _one_shot(ecb, data, encrypt=True)
    _same(s.encrypt(k.aes_handle, Mechanism.AES_ECB, data), ct, "AES-ECB")
    cases += [
        Case(
            "AES-256-ECB encrypt 4 KiB",
            lambda: s.encrypt(k.aes_handle, Mechanism.AES_ECB, data),
            lambda: _one_shot(ecb, data, encrypt=True),
            "`Cipher` ECB, new context per call",
            payload=4 * KIB,
        ),
        Case(
            "AES-256-ECB decrypt 4 KiB",
            lambda: s.decrypt(k.aes_handle, Mechanism.AES_ECB, ct),
            lambda: _one_shot(ecb, ct, encrypt=False),
            "`Cipher` ECB, new context per call",
            payload=4 * KIB,
        ),
    ]
    return cases + _stream_cases(b, k)


def _stream_cases(b: Bench, k: FamilyKeys) -> list[Case]:
    """Multi-part GCM over 16 MiB in 1 MiB pieces, against pyca's streaming ``Cipher``."""
    s = b.user
    aes = algorithms.AES(k.aes)
    pieces = [os.urandom(STREAM_PIECE) for _ in range(STREAM_TOTAL // STREAM_PIECE)]
    iv = os.urandom(12)
    whole = AESGCM(k.aes).encrypt(iv, b"".join(pieces), None)
    ct_pieces = [whole[i : i + STREAM_PIECE] for i in range(0, len(whole), STREAM_PIECE)]
    body, tag = whole[:-16], whole[-16:]
    body_pieces = [body[i : i + STREAM_PIECE] for i in range(0, len(body), STREAM_PIECE)]

    def engine_encrypt(iv: bytes | None = None) -> list[bytes]:
        s.encrypt_init(k.aes_handle, Mechanism.AES_GCM, GCMParams(iv=iv or os.urandom(12)))
        out = [s.encrypt_update(piece) for piece in pieces]
        out.append(s.encrypt_final())
        return out

    def raw_encrypt() -> list[bytes]:
        context = Cipher(aes, modes.GCM(os.urandom(12))).encryptor()
        out = [context.update(piece) for piece in pieces]
        out += [context.finalize(), context.tag]
        return out

    def engine_decrypt() -> bytes:
        s.decrypt_init(k.aes_handle, Mechanism.AES_GCM, GCMParams(iv=iv))
        for piece in ct_pieces:
            s.decrypt_update(piece)
        return s.decrypt_final()

    def raw_decrypt() -> list[bytes]:
        context = Cipher(aes, modes.GCM(iv)).decryptor()
        out = [context.update(piece) for piece in body_pieces]
        out.append(context.finalize_with_tag(tag))
        return out

    _same(b"".join(engine_encrypt(iv)), whole, "multi-part GCM encrypt")
    _same(engine_decrypt(), b"".join(pieces), "multi-part GCM decrypt")
    return [
        Case(
            "AES-256-GCM multi-part encrypt 16 MiB (16 × 1 MiB)",
            engine_encrypt,
            raw_encrypt,
            "`Cipher` GCM encryptor, 16 updates",
            notes="session key; init + 16 updates + final",
            payload=STREAM_TOTAL,
            min_calls=3,
        ),
        Case(
            "AES-256-GCM multi-part decrypt 16 MiB (16 × 1 MiB + tag)",
            engine_decrypt,
            raw_decrypt,
            "`Cipher` GCM decryptor, `finalize_with_tag`",
            notes="session key; plaintext held until the tag checks",
            payload=STREAM_TOTAL,
            min_calls=3,
        ),
    ]


_AES_TEMPLATE: dict[int, object] = {
    Attribute.CLASS: ObjectClass.SECRET_KEY,
    Attribute.KEY_TYPE: KeyType.AES,
}


def _ecb_probe(s: Session, handle: int) -> bytes:
    """What a key encrypts a zero block to: compares an engine key with a raw one."""
    return s.encrypt(handle, Mechanism.AES_ECB, bytes(16))


def _raw_probe(key: bytes) -> bytes:
    return _one_shot(Cipher(algorithms.AES(key), modes.ECB()), bytes(16), encrypt=True)


def family_wrap_cases(b: Bench, k: FamilyKeys) -> list[Case]:
    """Wrap and unwrap an AES-256 key: AES-KWP, AES-KW, AES-GCM, RSA-OAEP, RSA-AES."""
    s = b.user
    sweep = _Sweeper(s)
    rsa_pub = k.rsa.public_key()
    sha256 = hashes.SHA256()
    oaep = padding.OAEP(mgf=padding.MGF1(sha256), algorithm=sha256, label=None)
    oaep_params = OAEPParams()
    rsa_aes_params = RSAAESKeyWrapParams()
    raw_gcm = AESGCM(k.kek)
    size = k.rsa.key_size // 8

    def raw_gcm_wrap() -> bytes:
        iv = os.urandom(12)
        return iv + raw_gcm.encrypt(iv, k.target, None)

    def raw_rsa_aes_wrap() -> bytes:
        ephemeral = os.urandom(32)
        return rsa_pub.encrypt(ephemeral, oaep) + aes_key_wrap_with_padding(ephemeral, k.target)

    def raw_rsa_aes_unwrap(blob: bytes) -> bytes:
        ephemeral = k.rsa.decrypt(blob[:size], oaep)
        return aes_key_unwrap_with_padding(ephemeral, blob[size:])

    schemes: list[
        tuple[str, int, int, object, Callable[[], bytes], Callable[[bytes], bytes], str, str]
    ] = [
        (
            "AES-KWP",
            Mechanism.AES_KEY_WRAP_KWP,
            k.kek_handle,
            None,
            lambda: aes_key_wrap_with_padding(k.kek, k.target),
            lambda blob: aes_key_unwrap_with_padding(k.kek, blob),
            "`aes_key_wrap_with_padding`",
            "kwp",
        ),
        (
            "AES-KW",
            Mechanism.AES_KEY_WRAP,
            k.kek_handle,
            None,
            lambda: aes_key_wrap(k.kek, k.target),
            lambda blob: aes_key_unwrap(k.kek, blob),
            "`aes_key_wrap`",
            "",
        ),
        (
            "AES-GCM",
            Mechanism.AES_GCM,
            k.kek_handle,
            GCMParams(iv=None),
            raw_gcm_wrap,
            lambda blob: raw_gcm.decrypt(blob[:12], blob[12:], None),
            "`AESGCM.encrypt`, urandom IV in front",
            "",
        ),
        (
            "RSA-OAEP SHA-256",
            Mechanism.RSA_PKCS_OAEP,
            k.rsa_pub,
            oaep_params,
            lambda: rsa_pub.encrypt(k.target, oaep),
            lambda blob: k.rsa.decrypt(blob, oaep),
            "`RSAPublicKey.encrypt` OAEP",
            "",
        ),
        (
            "RSA-AES (OAEP SHA-256 + KWP)",
            Mechanism.RSA_AES_KEY_WRAP,
            k.rsa_pub,
            rsa_aes_params,
            raw_rsa_aes_wrap,
            raw_rsa_aes_unwrap,
            "urandom + OAEP encrypt + KWP",
            "",
        ),
    ]
    cases: list[Case] = []
    for label, mechanism, wrapping, params, raw_wrap, raw_unwrap, raw_name, anchor in schemes:
        unwrapping = k.rsa_priv if wrapping == k.rsa_pub else wrapping
        rsa_based = wrapping == k.rsa_pub
        blob = s.wrap_key(mechanism, wrapping, k.target_handle, params)
        _same(raw_unwrap(blob), k.target, f"{label} wrap")
        _same(raw_unwrap(raw_wrap()), k.target, f"raw {label} wrap")
        copy = s.unwrap_key(mechanism, unwrapping, blob, _AES_TEMPLATE, params)
        _same(_ecb_probe(s, copy), _raw_probe(k.target), f"{label} unwrap")
        s.destroy_object(copy)
        raw_unwrap_name = {
            "AES-KWP": "`aes_key_unwrap_with_padding`",
            "AES-KW": "`aes_key_unwrap`",
            "AES-GCM": "`AESGCM.decrypt`",
            "RSA-OAEP SHA-256": "`RSAPrivateKey.decrypt` OAEP",
        }.get(label, "OAEP decrypt + KWP unwrap")
        cases += [
            Case(
                f"{label} wrap of an AES-256 key",
                lambda m=mechanism, w=wrapping, p=params: s.wrap_key(  # type: ignore[misc]
                    m, w, k.target_handle, p
                ),
                raw_wrap,
                raw_name,
                notes="session keys; audit record queued (Core.queue_audit)",
                softhsm=f"{anchor}_wrap" if anchor else None,
                floor=CRYPTO_BOUND_FLOOR if rsa_based else None,
            ),
            Case(
                f"{label} unwrap of an AES-256 key",
                lambda m=mechanism, u=unwrapping, blob=blob, p=params: sweep.keep(  # type: ignore[misc]
                    s.unwrap_key(m, u, blob, _AES_TEMPLATE, p)
                ),
                lambda blob=blob, f=raw_unwrap: f(blob),  # type: ignore[misc]
                raw_unwrap_name,
                notes="new session object, audit record queued (destroyed untimed)",
                softhsm=f"{anchor}_unwrap" if anchor else None,
                floor=CRYPTO_BOUND_FLOOR if rsa_based else None,
                engine_after=sweep,
            ),
        ]
    return cases


def family_derive_cases(b: Bench, k: FamilyKeys) -> list[Case]:
    """Derive an AES-256 key: ECDH P-256 with the X9.63 KDF, SP 800-108 counter KDF, HKDF."""
    s = b.user
    sweep = _Sweeper(s)
    template: dict[int, object] = {**_AES_TEMPLATE, Attribute.VALUE_LEN: 32}
    peer = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = peer.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    ecdh_params = ECDH1DeriveParams(public_data=point, kdf="SHA256")
    kbkdf_params = SP800108Params(prf="HMAC-SHA256", label=b"strongroom", context=b"bench")
    hkdf_params = HKDFParams(hash_name="SHA256", salt=b"\x00" * 32, info=b"strongroom bench")
    sha256 = hashes.SHA256()
    curve = ec.SECP256R1()
    exchange = ec.ECDH()

    def raw_ecdh() -> bytes:
        peer_key = ec.EllipticCurvePublicKey.from_encoded_point(curve, point)
        shared = k.p256.exchange(exchange, peer_key)
        return X963KDF(algorithm=sha256, length=32, sharedinfo=None).derive(shared)

    def raw_kbkdf() -> bytes:
        return KBKDFHMAC(
            algorithm=sha256,
            mode=Mode.CounterMode,
            length=32,
            rlen=4,
            llen=4,
            location=CounterLocation.BeforeFixed,
            label=kbkdf_params.label,
            context=kbkdf_params.context,
            fixed=None,
        ).derive(k.kdf)

    def raw_hkdf() -> bytes:
        return HKDF(
            algorithm=sha256, length=32, salt=hkdf_params.salt, info=hkdf_params.info
        ).derive(k.kdf)

    cases: list[Case] = []
    for name, mechanism, base, params, raw, raw_name in (
        (
            "ECDH P-256 + X9.63 KDF (SHA-256) → AES-256",
            Mechanism.ECDH1_DERIVE,
            k.p256_priv,
            ecdh_params,
            raw_ecdh,
            "`from_encoded_point` + `exchange` + `X963KDF`",
        ),
        (
            "SP 800-108 counter KDF, HMAC-SHA256 → AES-256",
            Mechanism.SP800_108_COUNTER_KDF,
            k.kdf_handle,
            kbkdf_params,
            raw_kbkdf,
            "`KBKDFHMAC` counter mode",
        ),
        (
            "HKDF-SHA256 → AES-256",
            Mechanism.HKDF_DERIVE,
            k.kdf_handle,
            hkdf_params,
            raw_hkdf,
            "`HKDF`",
        ),
    ):
        derived = s.derive_key(mechanism, base, template, params)
        _same(_ecb_probe(s, derived), _raw_probe(raw()), name)
        s.destroy_object(derived)
        cases.append(
            Case(
                name,
                lambda m=mechanism, h=base, p=params: sweep.keep(  # type: ignore[misc]
                    s.derive_key(m, h, template, p)
                ),
                raw,
                raw_name,
                notes="new session object, audit record queued (destroyed untimed)",
                floor=CRYPTO_BOUND_FLOOR if mechanism == Mechanism.ECDH1_DERIVE else None,
                engine_after=sweep,
            )
        )
    return cases


def family_digest_cases(b: Bench) -> list[Case]:
    """SHA-256 and SHA3-256 of 4 KiB and 1 MiB."""
    s = b.user
    cases: list[Case] = []
    for mechanism, algorithm, label in (
        (Mechanism.SHA256, hashes.SHA256(), "SHA-256"),
        (Mechanism.SHA3_256, hashes.SHA3_256(), "SHA3-256"),
    ):
        for size in (4 * KIB, MIB):
            data = os.urandom(size)

            def raw(data: bytes = data, algorithm: hashes.HashAlgorithm = algorithm) -> bytes:
                h = hashes.Hash(algorithm)
                h.update(data)
                return h.finalize()

            _same(s.digest(mechanism, data), raw(), label)
            cases.append(
                Case(
                    f"{label} digest {_size(size)}",
                    lambda m=mechanism, d=data: s.digest(m, d),  # type: ignore[misc]
                    raw,
                    "`hashes.Hash` update + finalize",
                    notes="no key",
                    softhsm="sha256_4k" if label == "SHA-256" and size == 4 * KIB else None,
                    payload=size,
                )
            )
    return cases


def bench_families(b: Bench, timing: Timing) -> list[Row]:
    """Every mechanism family, each engine call beside the same call in raw pyca."""
    k = family_keys(b)
    rows = _run_cases("Sign and verify", family_sign_cases(b, k), timing)
    rows += _run_cases("Encrypt and decrypt", family_cipher_cases(b, k), timing)
    rows += _run_cases("Wrap and unwrap", family_wrap_cases(b, k), timing)
    rows += _run_cases("Derive", family_derive_cases(b, k), timing)
    rows += _run_cases("Digest", family_digest_cases(b), timing)
    return rows


# --- main ----------------------------------------------------------------------------------


def _row_json(row: Row) -> dict[str, object]:
    return {
        **asdict(row),
        "ratio": row.ratio,
        "vs_softhsm": row.vs_softhsm,
        "vs_softhsm_normalised": row.vs_softhsm_normalised,
    }


def main(argv: list[str] | None = None) -> int:
    """Run every benchmark once and print the machine and the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smoke test: brief, 10k objects")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--dir", type=Path, help="where the temporary stores go")
    parser.add_argument(
        "--only",
        choices=("foundation", "families"),
        help="run only the foundation rows or only the mechanism-family rows",
    )
    args = parser.parse_args(argv)
    timing = QUICK if args.quick else FULL
    family_timing = QUICK if args.quick else FAMILY_FULL
    sizes = QUICK_SIZES if args.quick else FULL_SIZES
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="strongroom-bench-", dir=args.dir) as tmp:
        work_dir = Path(tmp)
        machine = machine_info(work_dir)
        print("## Machine\n")
        for key, value in machine.items():
            print(f"- {key}: {value}")
        print(flush=True)
        b = open_bench(work_dir)
        rows: list[Row] = []
        families: list[Row] = []
        population: list[dict[str, float]] = []
        try:
            if args.only != "families":
                rows += bench_signing(b, timing)
                rows += bench_gcm(b, timing)
                rows.append(bench_keygen(b, timing))
                rows.append(bench_login(b, timing))
            if args.only != "foundation":
                families = bench_families(b, family_timing)
            if args.only != "families":
                find_rows, population = bench_find(b, timing, sizes)
                rows += find_rows
        finally:
            b.hsm.close()
    total = time.perf_counter() - began
    load = os.getloadavg()
    print(f"## Results ({'quick' if args.quick else 'full'} run, {total:.0f} s)\n")
    if rows:
        print(table(rows))
        print("\nPopulation (direct batched inserts through the store's transaction API):\n")
        for p in population:
            print(
                f"- to {p['objects']:,.0f} objects: +{p['added']:,.0f} in {p['seconds']:.1f} s "
                f"({p['added'] / p['seconds']:,.0f}/s), database {p['db_bytes'] / 2**20:,.0f} MiB"
            )
    if families:
        print("\n## Mechanism families\n")
        print(family_tables(families))
        print(target_summary(families))
    print(f"\nload average at end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if args.json is not None:
        out = {
            "machine": machine,
            "mode": "quick" if args.quick else "full",
            "timing": asdict(timing),
            "family_timing": asdict(family_timing),
            "seconds": total,
            "population": population,
            "rows": [_row_json(row) for row in rows + families],
        }
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
