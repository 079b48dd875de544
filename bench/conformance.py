"""PKCS#11 conformance: third-party suites against Strongroom and SoftHSM2, side by side.

Run on demand, never in CI (it downloads the suites from PyPI and takes several minutes)::

    python bench/conformance.py [--suites python-pkcs11,pkcs11-check] [--json out.json]

Both tokens are reached the same way, through Debian's ``p11-kit-client.so``:

* **Strongroom**: a development cluster (``DevCluster`` + ``up``) and its bridge;
* **SoftHSM2**: a fresh token served by p11-kit's own ``p11-kit server`` — so p11-kit's
  mechanism filter and protocol limits apply to both, and what differs is the token.

Suites:

* **python-pkcs11 0.10.1's own tests** (from its sdist): each test file runs in its own
  pytest process (a failing ``setUp`` leaves a logged-in session behind, and the next tests
  would fail for that), with ``PKCS11_MODULE``, ``PKCS11_TOKEN_LABEL`` and ``PKCS11_TOKEN_PIN``;
* **pkcs11-check 0.2.3** (needs Python ≥ 3.12; a ``python3.12`` on PATH or under pyenv is
  used for its own virtual environment): ``--marker smoke`` and ``--category sign --skip-slow``.

It prints pass/fail/skip counts per suite and token and every failure with its message;
docs/conformance.md explains each of Strongroom's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from strongroom.cli.pkcs11_cmd import module_path
from strongroom.cli.up import DevCluster, down, up

SOFTHSM = "/usr/lib/softhsm/libsofthsm2.so"
PYTHON_PKCS11 = "python-pkcs11==0.10.1"
PKCS11_CHECK = "pkcs11-check==0.2.3"
SOFT_PIN = "1234"


def _run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(argv, capture_output=True, check=False, **kwargs)


def python_pkcs11_tests(work: Path) -> Path:
    """The test package of python-pkcs11's sdist, copied out of the source tree (whose own
    ``pkcs11`` directory would shadow the installed, compiled package)."""
    downloads = work / "downloads"
    done = _run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
         PYTHON_PKCS11, "-d", str(downloads)]
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"cannot download {PYTHON_PKCS11}: {done.stderr.decode()}")
    sdist = next(downloads.glob("python*pkcs11-*.tar.gz"))
    with tarfile.open(sdist) as archive:
        archive.extractall(work / "sdist", filter="data")
    source = next((work / "sdist").glob("*/tests"))
    target = work / "suite" / "tests"
    shutil.copytree(source, target)
    return target.parent


def strongroom_target(work: Path) -> tuple[dict[str, Any], DevCluster]:
    cluster = DevCluster(work / "cluster")
    endpoints, _ = up(cluster)
    user, admin = endpoints["crypto_user"], endpoints["admin"]
    target = {
        "name": "Strongroom",
        "address": endpoints["pkcs11"]["p11_kit_server_address"],
        "label": "strongroom",
        "pin": f"{user['username']}:{user['password']}",
        "so_pin": f"{admin['username']}:{admin['password']}",
        "env": {},
    }
    return target, cluster


def softhsm_target(work: Path) -> tuple[dict[str, Any], subprocess.Popen[bytes]]:
    tokens = work / "softhsm-tokens"
    tokens.mkdir()
    conf = work / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\n")
    env = {"SOFTHSM2_CONF": str(conf)}
    done = _run(
        ["softhsm2-util", "--init-token", "--free", "--label", "conformance", "--pin", SOFT_PIN,
         "--so-pin", SOFT_PIN],
        env={**os.environ, **env},
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"softhsm2-util failed: {done.stderr.decode()}")
    socket = work / "softhsm.sock"
    server = subprocess.Popen(
        ["p11-kit", "server", "-f", "-n", str(socket), "--provider", SOFTHSM,
         "pkcs11:token=conformance"],
        env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while not socket.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    target = {
        "name": "SoftHSM2 (p11-kit server)",
        "address": f"unix:path={socket}",
        "label": "conformance",
        "pin": SOFT_PIN,
        "so_pin": SOFT_PIN,
        "env": env,
    }
    return target, server


def _junit(path: Path) -> dict[str, Any]:
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    failures: list[dict[str, str]] = []
    if not path.exists():
        return {**counts, "failures": [{"test": path.stem, "message": "no report"}]}
    for case in ET.parse(path).getroot().iter("testcase"):
        name = f"{case.get('classname', '').split('.')[-1]}.{case.get('name')}"
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is not None:
            counts["failed"] += 1
            message = (problem.get("message") or "").splitlines()[0][:160]
            failures.append({"test": name, "message": message})
        elif case.find("skipped") is not None:
            counts["skipped"] += 1
        else:
            counts["passed"] += 1
    return {**counts, "failures": failures}


def run_python_pkcs11(suite: Path, target: dict[str, Any], work: Path) -> dict[str, Any]:
    env = {
        **os.environ,
        **target["env"],
        "P11_KIT_SERVER_ADDRESS": target["address"],
        "PKCS11_MODULE": module_path(),
        "PKCS11_TOKEN_LABEL": target["label"],
        "PKCS11_TOKEN_PIN": target["pin"],
        "PKCS11_TOKEN_SO_PIN": target["so_pin"],
    }
    total: dict[str, Any] = {"passed": 0, "failed": 0, "skipped": 0, "failures": []}
    reports = work / "reports" / target["label"]
    reports.mkdir(parents=True, exist_ok=True)
    for test_file in sorted((suite / "tests").glob("test_*.py")):
        report = reports / f"{test_file.stem}.xml"
        _run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml",
             str(report), f"tests/{test_file.name}"],
            cwd=suite, env=env, timeout=1800,
        )  # fmt: skip
        result = _junit(report)
        for key in ("passed", "failed", "skipped"):
            total[key] += result[key]
        total["failures"] += [
            {**f, "test": f"{test_file.stem}::{f['test']}"} for f in result["failures"]
        ]
    return total


def _python312() -> str | None:
    """A Python ≥ 3.12 that runs (pyenv's shims exist even for versions not selected)."""
    candidates = [shutil.which(name) for name in ("python3.13", "python3.12")]
    candidates += [
        str(p) for p in sorted(Path.home().glob(".pyenv/versions/3.1[2-9]*/bin/python3"))
    ]
    for candidate in candidates:
        if candidate is None:
            continue
        probe = _run([candidate, "-c", "import sys; sys.exit(sys.version_info < (3, 12))"])
        if probe.returncode == 0:
            return candidate
    return None


def pkcs11_check_venv(work: Path) -> Path | None:
    python = _python312()
    if python is None:
        return None
    venv = work / "venv-pkcs11-check"
    made = _run([python, "-m", "venv", str(venv)])
    if made.returncode != 0:
        raise SystemExit(f"cannot make a venv with {python}: {made.stderr.decode()}")
    done = _run([str(venv / "bin" / "pip"), "install", "-q", PKCS11_CHECK])
    if done.returncode != 0:
        raise SystemExit(f"cannot install {PKCS11_CHECK}: {done.stderr.decode()[-2000:]}")
    return venv


def run_pkcs11_check(venv: Path, target: dict[str, Any], work: Path) -> dict[str, Any]:
    env = {**os.environ, **target["env"], "P11_KIT_SERVER_ADDRESS": target["address"]}
    out: dict[str, Any] = {}
    for name, selection in (
        ("smoke", ["--marker", "smoke"]),
        ("sign", ["--category", "sign", "--skip-slow"]),
    ):
        report = work / "reports" / f"check-{target['label']}-{name}.json"
        done = _run(
            [str(venv / "bin" / "pkcs11-check"), "test", "--module", module_path(),
             "--pin", target["pin"], "--slot", "0", *selection, "--output", "json",
             "--output-file", str(report)],
            env=env, timeout=3600,
        )  # fmt: skip
        out[name] = _check_report(report, done.stdout.decode(errors="replace"))
    return out


def _check_report(report: Path, console: str) -> dict[str, Any]:
    """Counts from pkcs11-check's JSON report; failures from its console's FAILED lines."""
    if not report.exists():
        return {"passed": 0, "failed": 0, "skipped": 0,
                "failures": [{"test": "pkcs11-check", "message": console[-300:]}]}  # fmt: skip
    summary = json.loads(report.read_text())["summary"]
    failures = [
        {"test": line[7:].split(" - ")[0].rsplit("/", 1)[-1], "message": line.partition(" - ")[2]}
        for line in console.splitlines()
        if line.startswith("FAILED ") or line.startswith("ERROR ")
    ]
    return {
        "passed": summary["passed"],
        "failed": summary["failed"] + summary["error"] + summary["crashed"] + summary["timeout"],
        "skipped": summary["skipped"],
        "xfailed": summary["xfailed"],
        "failures": failures,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suites", default="python-pkcs11,pkcs11-check")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    suites = set(args.suites.split(","))
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="p11conf-") as tmp:
        work = Path(tmp)
        ours, cluster = strongroom_target(work)
        soft, server = softhsm_target(work)
        try:
            if "python-pkcs11" in suites:
                suite = python_pkcs11_tests(work)
                for target in (ours, soft):
                    results[f"python-pkcs11 / {target['name']}"] = run_python_pkcs11(
                        suite, target, work
                    )
            if "pkcs11-check" in suites:
                venv = pkcs11_check_venv(work)
                if venv is None:
                    print("pkcs11-check: no Python 3.12 found; skipped", file=sys.stderr)
                else:
                    for target in (ours, soft):
                        for name, result in run_pkcs11_check(venv, target, work).items():
                            results[f"pkcs11-check {name} / {target['name']}"] = result
        finally:
            server.terminate()
            server.wait(timeout=10)
            down(cluster)
    print("| suite / token | passed | failed | skipped | xfailed |\n|---|---:|---:|---:|---:|")
    for name, result in results.items():
        print(
            f"| {name} | {result['passed']} | {result['failed']} | {result['skipped']} "
            f"| {result.get('xfailed', '–')} |"
        )
    for name, result in results.items():
        if result["failures"]:
            print(f"\n{name} — failures:")
            for failure in result["failures"]:
                print(f"  {failure['test']}: {failure['message']}")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
