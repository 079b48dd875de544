"""Readers for the shared NIST CAVP and Wycheproof files, used at collection time.

Vector tests are parametrised record by record, so the files are read while pytest collects,
before any fixture exists; this module finds the same directory the ``vectors_dir`` fixture
does and fails the run (never skips) when it is missing. The CAVP format is "name = value"
lines under "[SECTION = value]" headers, with a bare ``FAIL`` line for expected failures;
files may have CRLF endings.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest

VECTORS_DIR = (Path(__file__).resolve().parents[2] / ".." / "shared" / "vectors").resolve()

_SECTION = re.compile(r"\[([^=\]]+?)\s*=\s*([^\]]*)\]")


def vector_path(*parts: str) -> Path:
    """A file under the vector directory; fails the run if the directory or file is missing."""
    path = VECTORS_DIR.joinpath(*parts)
    if not path.is_file():
        pytest.fail(f"test vector file not found: {path}", pytrace=False)
    return path


@dataclass(frozen=True)
class CAVPRecord:
    """One CAVP record with the section headers in force where it appears."""

    source: str
    section: dict[str, str]
    fields: dict[str, str]
    fail: bool = False
    repeated: dict[str, list[str]] = field(default_factory=dict)

    def hex(self, name: str) -> bytes:
        """A hex field as bytes (an empty value is empty bytes)."""
        return bytes.fromhex(self.fields[name])

    def count(self) -> str:
        """The record's COUNT/Count value."""
        return self.fields.get("COUNT", self.fields.get("Count", "?"))


@cache
def cavp_records(*parts: str) -> tuple[CAVPRecord, ...]:
    """Every record in a CAVP file, in file order."""
    path = vector_path(*parts)
    records: list[CAVPRecord] = []
    section: dict[str, str] = {}
    current: dict[str, str] = {}
    repeated: dict[str, list[str]] = {}
    fail = False

    def flush() -> None:
        nonlocal current, repeated, fail
        if current:
            records.append(CAVPRecord(path.name, dict(section), current, fail, repeated))
        current, repeated, fail = {}, {}, False

    with path.open(encoding="ascii", newline=None) as lines:
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith("#"):
                flush()
                continue
            header = _SECTION.fullmatch(line)
            if header:
                flush()
                section[header.group(1).strip().upper()] = header.group(2).strip()
                continue
            if line == "FAIL":
                fail = True
                continue
            name, _, value = line.partition("=")
            name, value = name.strip(), value.strip()
            if name.upper() == "COUNT":
                flush()
            current[name] = value
            repeated.setdefault(name, []).append(value)
    flush()
    return tuple(records)


@dataclass(frozen=True)
class WycheproofCase:
    """One Wycheproof test case with its group's parameters."""

    source: str
    group: dict[str, Any]
    case: dict[str, Any]

    def hex(self, name: str) -> bytes:
        """A hex field of the case as bytes."""
        return bytes.fromhex(str(self.case[name]))

    @property
    def result(self) -> str:
        """``valid``, ``invalid`` or ``acceptable``."""
        return str(self.case["result"])

    @property
    def flags(self) -> list[str]:
        """The case's Wycheproof flags."""
        return [str(flag) for flag in self.case["flags"]]

    @property
    def case_id(self) -> str:
        """A pytest id: tcId and expected result."""
        return f"tc{self.case['tcId']}-{self.result}"


@cache
def wycheproof_cases(name: str) -> tuple[WycheproofCase, ...]:
    """Every case of a Wycheproof v1 file, in file order."""
    path = vector_path("wycheproof", "testvectors_v1", name)
    with path.open(encoding="utf-8") as handle:
        document = json.load(handle)
    return tuple(
        WycheproofCase(name, group, case)
        for group in document["testGroups"]
        for case in group["tests"]
    )
