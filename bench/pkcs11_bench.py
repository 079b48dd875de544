"""PKCS#11 benchmark: python-pkcs11 through p11-kit and the bridge, beside SoftHSM2 in-process.

Run on demand, never in CI::

    python bench/pkcs11_bench.py [--seconds 2.0] [--reps 3] [--json out.json]

One run makes, in a temporary directory, a development cluster (``DevCluster`` + ``up``,
which starts the bridge) and a SoftHSM2 token (``softhsm2-util --init-token``), then
measures with python-pkcs11 in worker processes, alternating the two so both share the
same background load:

* **Strongroom**: ``p11-kit-client.so`` → ``strongroom pkcs11 serve`` (unix socket) → TLS →
  the HSM node;
* **SoftHSM2**: ``libsofthsm2.so`` loaded in the worker itself (no IPC at all).

Rows: RSA-2048 sign (CKM_SHA256_RSA_PKCS, 64 B), ECDSA P-256 sign (CKM_ECDSA over a SHA-256
digest), HMAC-SHA256 sign (64 B), SHA-256 digest (1 KiB), 32 random bytes. Each worker opens a
logged-in session, makes a session key, warms up, then counts whole python-pkcs11 calls
(C_SignInit + C_Sign with its size query, …) for ``--seconds``. Ops/s is the median over
repetitions. RSA signing also runs with two worker processes at once to show how each
side scales (issue 6's target: ≥ 1.7×). The cluster and the token are deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from engine_bench import machine_info
from strongroom.cli.pkcs11_cmd import module_path
from strongroom.cli.up import DevCluster, down, up

SOFTHSM = "/usr/lib/softhsm/libsofthsm2.so"
SOFTHSM_PIN = "1234"
ROWS = ("rsa2048-sign", "ecdsa-p256-sign", "hmac-sha256", "sha256-1k", "random-32")
RSA_TARGET = 1.0
SCALING_TARGET = 1.7


def _operation(session: Any, row: str) -> Any:
    """A no-argument callable doing one ``row`` operation in ``session``."""
    import hashlib

    from pkcs11 import Attribute, KeyType, Mechanism
    from pkcs11.util.ec import encode_named_curve_parameters

    message = b"\x5a" * 64
    if row == "rsa2048-sign":
        _, private = session.generate_keypair(KeyType.RSA, 2048)
        return lambda: private.sign(message, mechanism=Mechanism.SHA256_RSA_PKCS)
    if row == "ecdsa-p256-sign":
        parameters = session.create_domain_parameters(
            KeyType.EC,
            {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
            local=True,
        )
        _, private = parameters.generate_keypair()
        digest = hashlib.sha256(message).digest()
        return lambda: private.sign(digest, mechanism=Mechanism.ECDSA)
    if row == "hmac-sha256":
        key = session.generate_key(
            KeyType.GENERIC_SECRET, 256, template={Attribute.SIGN: True, Attribute.VERIFY: True}
        )
        return lambda: key.sign(message, mechanism=Mechanism.SHA256_HMAC)
    if row == "sha256-1k":
        data = b"\x01" * 1024
        return lambda: session.digest(data, mechanism=Mechanism.SHA256)
    if row == "random-32":
        return lambda: session.generate_random(256)
    raise ValueError(row)


def worker(
    module: str,
    label: str,
    pin: str,
    row: str,
    seconds: float,
    env: dict[str, str],
    start: Any,
    results: Any,
) -> None:
    """One process: log in, make a key, wait for ``start``, count operations."""
    os.environ.update(env)
    import pkcs11

    lib = pkcs11.lib(module)
    token = lib.get_token(token_label=label)
    with token.open(user_pin=pin, rw=True) as session:
        run = _operation(session, row)
        for _ in range(20):
            run()
        start.wait()
        count = 0
        began = time.perf_counter()
        deadline = began + seconds
        while time.perf_counter() < deadline:
            run()
            count += 1
        results.put(count / (time.perf_counter() - began))


def measure(target: dict[str, Any], row: str, seconds: float, processes: int) -> float:
    """Total ops/s of ``processes`` workers running ``row`` at once against ``target``."""
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    results = context.Queue()
    workers = [
        context.Process(
            target=worker,
            args=(
                target["module"],
                target["label"],
                target["pin"],
                row,
                seconds,
                target["env"],
                start,
                results,
            ),
        )
        for _ in range(processes)
    ]
    for process in workers:
        process.start()
    time.sleep(0.2)
    start.set()
    total = float(sum(results.get(timeout=600) for _ in workers))
    for process in workers:
        process.join(timeout=60)
    return total


def softhsm_token(work: Path) -> dict[str, Any]:
    """A fresh SoftHSM2 token in ``work``."""
    tokens = work / "softhsm-tokens"
    tokens.mkdir()
    conf = work / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\n")
    env = {"SOFTHSM2_CONF": str(conf)}
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", "bench", "--pin", SOFTHSM_PIN,
         "--so-pin", SOFTHSM_PIN],
        env={**os.environ, **env}, check=True, capture_output=True,
    )  # fmt: skip
    return {"module": SOFTHSM, "label": "bench", "pin": SOFTHSM_PIN, "env": env}


def strongroom_token(work: Path) -> tuple[dict[str, Any], DevCluster]:
    """A development cluster with its bridge in ``work``."""
    cluster = DevCluster(work / "cluster")
    endpoints, _ = up(cluster)
    user = endpoints["crypto_user"]
    env = {"P11_KIT_SERVER_ADDRESS": endpoints["pkcs11"]["p11_kit_server_address"]}
    pin = f"{user['username']}:{user['password']}"
    return {"module": module_path(), "label": "strongroom", "pin": pin, "env": env}, cluster


def _versions() -> dict[str, str]:
    def deb(package: str) -> str:
        done = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, check=False
        )
        return done.stdout.decode() or "?"

    return {
        "python-pkcs11": metadata.version("python-pkcs11"),
        "p11-kit": deb("p11-kit-modules"),
        "softhsm2": deb("softhsm2"),
        "strongroom": metadata.version("strongroom"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="p11bench-") as tmp:
        work = Path(tmp)
        soft = softhsm_token(work)
        ours, cluster = strongroom_token(work)
        try:
            table: dict[str, dict[str, float]] = {}
            for row in ROWS:
                samples: dict[str, list[float]] = {"strongroom": [], "softhsm2": []}
                for _ in range(args.reps):
                    samples["strongroom"].append(measure(ours, row, args.seconds, 1))
                    samples["softhsm2"].append(measure(soft, row, args.seconds, 1))
                table[row] = {k: statistics.median(v) for k, v in samples.items()}
                print(f"{row}: {samples}", file=sys.stderr, flush=True)
            scaling: dict[str, dict[str, float]] = {}
            for name, target in (("strongroom", ours), ("softhsm2", soft)):
                one = statistics.median(
                    measure(target, "rsa2048-sign", args.seconds, 1) for _ in range(args.reps)
                )
                two = statistics.median(
                    measure(target, "rsa2048-sign", args.seconds, 2) for _ in range(args.reps)
                )
                scaling[name] = {"one": one, "two": two, "ratio": two / one}
        finally:
            down(cluster)
        machine = machine_info(work)
    report = {"machine": machine, "versions": _versions(), "rows": table, "scaling": scaling}
    print(f"\nmachine: {machine}\nversions: {report['versions']}\n")
    print("| operation | Strongroom (p11-kit → bridge → node) ops/s | SoftHSM2 in-process ops/s |"
          " ratio |")  # fmt: skip
    print("|---|---:|---:|---:|")
    for row, values in table.items():
        ratio = values["strongroom"] / values["softhsm2"]
        print(f"| {row} | {values['strongroom']:,.0f} | {values['softhsm2']:,.0f} | {ratio:.2f}× |")
    print("\n| RSA-2048 sign | 1 process | 2 processes | scaling |\n|---|---:|---:|---:|")
    for name, values in scaling.items():
        print(f"| {name} | {values['one']:,.0f} | {values['two']:,.0f} | {values['ratio']:.2f}× |")
    rsa = table["rsa2048-sign"]["strongroom"] / table["rsa2048-sign"]["softhsm2"]
    print(f"\nRSA-2048 sign vs SoftHSM2: {rsa:.2f}× (target ≥ {RSA_TARGET}) "
          f"{'MET' if rsa >= RSA_TARGET else 'NOT MET'}")  # fmt: skip
    ratio = scaling["strongroom"]["ratio"]
    print(f"two-process scaling: {ratio:.2f}× (target ≥ {SCALING_TARGET}) "
          f"{'MET' if ratio >= SCALING_TARGET else 'NOT MET'}")  # fmt: skip
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
