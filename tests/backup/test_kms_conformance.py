"""One contract, three KMS providers: local (key file), openbao (real OpenBao dev server) and aws
(a real moto server standing in for AWS KMS, which CI cannot reach).

Every test runs against each provider; the OpenBao and moto servers come from the session
fixtures in tests/backup/conftest.py, which fail — never skip — when a service cannot start.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from strongroom.backup.envelope import (
    open_envelope,
    read_envelope_header,
    rewrap_envelope,
    seal_envelope,
)
from strongroom.backup.kms import AWSKMS, PROVIDER_NAMES, KMSProvider, LocalKMS, OpenBaoKMS
from strongroom.errors import ArgumentsBad, EnvelopeInvalid, KMSAccessDenied, KMSError

from .services import MotoService, OpenBaoService

CONTEXT = {"cluster": "cluster-1", "backup": "backup-1", "region": "region-1"}


@dataclass(frozen=True)
class Subject:
    """A provider under test, two of its keys, and a key id it does not have."""

    kms: KMSProvider
    key_id: str
    other_key_id: str
    missing_key_id: str
    secrets: tuple[str, ...] = ()


def _local(tmp_path: Path) -> Iterator[Subject]:
    kms = LocalKMS(tmp_path / "keys")
    kms.create_key("kek-a")
    kms.create_key("kek-b")
    yield Subject(kms, "kek-a", "kek-b", "kek-missing")


def _openbao(service: OpenBaoService) -> Iterator[Subject]:
    names = [f"kek-{secrets.token_hex(6)}" for _ in range(2)]
    for name in names:
        service.request("POST", f"{service.transit_mount}/keys/{name}", {"type": "aes256-gcm96"})
    with OpenBaoKMS(service.address, service.token, service.transit_mount) as kms:
        yield Subject(kms, names[0], names[1], "kek-missing", (service.token,))


def _aws(service: MotoService) -> Iterator[Subject]:
    client = service.client("kms")
    key_ids = [client.create_key()["KeyMetadata"]["KeyId"] for _ in range(2)]
    with AWSKMS(
        service.region,
        service.endpoint_url,
        access_key_id=service.access_key,
        secret_access_key=service.secret_key,
    ) as kms:
        missing = "11111111-2222-3333-4444-555555555555"
        yield Subject(kms, key_ids[0], key_ids[1], missing, (service.secret_key,))


@pytest.fixture(params=PROVIDER_NAMES)
def subject(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Subject]:
    """Each provider in turn, with two fresh master keys."""
    if request.param == "local":
        yield from _local(tmp_path)
    elif request.param == "openbao":
        yield from _openbao(request.getfixturevalue("openbao"))
    else:
        yield from _aws(request.getfixturevalue("moto_server"))


# --- data keys -------------------------------------------------------------------------------


def test_provider_names(subject: Subject) -> None:
    """Each provider calls itself by one of the names envelope headers carry."""
    assert subject.kms.name in PROVIDER_NAMES
    assert isinstance(subject.kms, KMSProvider)


def test_data_key_round_trip(subject: Subject) -> None:
    """A data key is 32 bytes and unwraps under the same key id and context."""
    data_key = subject.kms.generate_data_key(subject.key_id, CONTEXT)
    assert len(data_key.plaintext) == 32
    assert data_key.wrapped
    assert data_key.plaintext not in data_key.wrapped
    again = subject.kms.decrypt_data_key(subject.key_id, data_key.wrapped, CONTEXT)
    assert again == data_key.plaintext


def test_data_keys_are_fresh(subject: Subject) -> None:
    """Two requests give two different data keys and wrappings."""
    a = subject.kms.generate_data_key(subject.key_id, CONTEXT)
    b = subject.kms.generate_data_key(subject.key_id, CONTEXT)
    assert a.plaintext != b.plaintext
    assert a.wrapped != b.wrapped


def test_context_order_does_not_matter(subject: Subject) -> None:
    """The same context built in another order unwraps the data key."""
    data_key = subject.kms.generate_data_key(subject.key_id, CONTEXT)
    reordered = dict(reversed(list(CONTEXT.items())))
    assert subject.kms.decrypt_data_key(subject.key_id, data_key.wrapped, reordered) == (
        data_key.plaintext
    )


@pytest.mark.parametrize(
    "context",
    [
        {**CONTEXT, "region": "region-2"},
        {**CONTEXT, "backup": "backup-1 "},
        {**CONTEXT, "extra": "x"},
        {"cluster": "cluster-1", "backup": "backup-1"},
        {},
    ],
    ids=["other-value", "trailing-space", "extra-entry", "missing-entry", "empty"],
)
def test_wrong_context_is_refused(subject: Subject, context: dict[str, str]) -> None:
    """Any other encryption context is refused with KMS_ACCESS_DENIED."""
    data_key = subject.kms.generate_data_key(subject.key_id, CONTEXT)
    with pytest.raises(KMSAccessDenied):
        subject.kms.decrypt_data_key(subject.key_id, data_key.wrapped, context)


def test_other_key_is_refused(subject: Subject) -> None:
    """A data key wrapped under one master key does not unwrap under another."""
    data_key = subject.kms.generate_data_key(subject.key_id, CONTEXT)
    with pytest.raises(KMSAccessDenied):
        subject.kms.decrypt_data_key(subject.other_key_id, data_key.wrapped, CONTEXT)


def test_unknown_key_is_refused(subject: Subject) -> None:
    """A key id the KMS does not have is refused, issuing and unwrapping."""
    data_key = subject.kms.generate_data_key(subject.key_id, CONTEXT)
    with pytest.raises(KMSAccessDenied):
        subject.kms.generate_data_key(subject.missing_key_id, CONTEXT)
    with pytest.raises(KMSAccessDenied):
        subject.kms.decrypt_data_key(subject.missing_key_id, data_key.wrapped, CONTEXT)


def test_damaged_wrapped_key_is_refused(subject: Subject) -> None:
    """A flipped, cut or lengthened wrapped key is refused."""
    wrapped = subject.kms.generate_data_key(subject.key_id, CONTEXT).wrapped
    damaged: list[bytes] = [wrapped[:-1], wrapped + b"A", wrapped[: len(wrapped) // 2]]
    for position in (0, len(wrapped) // 3, len(wrapped) // 2, len(wrapped) - 2, len(wrapped) - 1):
        flipped = bytearray(wrapped)
        flipped[position] ^= 0x01
        damaged.append(bytes(flipped))
    for bad in damaged:
        with pytest.raises(KMSAccessDenied):
            subject.kms.decrypt_data_key(subject.key_id, bad, CONTEXT)


def test_bad_arguments_are_refused(subject: Subject) -> None:
    """Contexts that are not maps of non-empty strings to strings are caller errors."""
    for context in ({"cluster": 1}, {"": "x"}, ["cluster"], {1: "x"}):
        with pytest.raises(ArgumentsBad):
            subject.kms.generate_data_key(subject.key_id, context)  # type: ignore[arg-type]


def test_no_secret_in_repr_or_errors(subject: Subject) -> None:
    """Neither the provider's repr nor its errors show tokens, credentials or key bytes."""
    data_key = subject.kms.generate_data_key(subject.key_id, CONTEXT)
    texts = [repr(subject.kms), repr(data_key)]
    with pytest.raises(KMSError) as info:
        subject.kms.decrypt_data_key(subject.key_id, data_key.wrapped, {"other": "context"})
    texts += [str(info.value), repr(info.value)]
    for text in texts:
        assert data_key.plaintext.hex() not in text
        for secret in subject.secrets:
            assert secret not in text


# --- the envelope through each provider ----------------------------------------------------------


def test_envelope_round_trip(subject: Subject) -> None:
    """An envelope sealed with this provider opens with it, and names it in the header."""
    inner = secrets.token_bytes(5000)
    envelope = b"".join(
        seal_envelope(
            [inner], kms=subject.kms, key_id=subject.key_id, context=CONTEXT, chunk_size=1024
        )
    )
    header = read_envelope_header(envelope)
    assert header.kms == subject.kms.name
    assert header.key_id == subject.key_id
    opened = open_envelope([envelope], kms_for=subject.kms, expected_context=CONTEXT)
    assert b"".join(opened) == inner


def test_envelope_refusals_come_before_output(subject: Subject) -> None:
    """Wrong context, edited context or damaged wrapped key: refused when opening is asked for."""
    envelope = b"".join(
        seal_envelope([bytes(100)], kms=subject.kms, key_id=subject.key_id, context=CONTEXT)
    )
    with pytest.raises(KMSAccessDenied):
        open_envelope(
            [envelope], kms_for=subject.kms, expected_context={**CONTEXT, "region": "elsewhere"}
        )
    header = read_envelope_header(envelope)
    # Same-length edit of the context inside the header: the KMS itself must refuse.
    edited = envelope.replace(b"region-1", b"region-9", 1)
    assert read_envelope_header(edited).context["region"] == "region-9"
    with pytest.raises(KMSAccessDenied):
        open_envelope([edited], kms_for=subject.kms, expected_context=None)
    position = envelope.index(header.wrapped_key) + len(header.wrapped_key) // 2
    damaged = bytearray(envelope)
    damaged[position] ^= 0x04
    with pytest.raises((KMSAccessDenied, EnvelopeInvalid)):
        open_envelope([bytes(damaged)], kms_for=subject.kms, expected_context=None)


def test_rewrap_to_and_from_this_provider(subject: Subject, tmp_path: Path) -> None:
    """An envelope moves from the local KMS to this provider and back with its bytes intact."""
    local = LocalKMS(tmp_path / "source.keys")
    local.create_key("source")
    inner = secrets.token_bytes(3000)
    source_context = {**CONTEXT, "region": "region-0"}
    original = b"".join(
        seal_envelope([inner], kms=local, key_id="source", context=source_context, chunk_size=512)
    )
    moved = b"".join(
        rewrap_envelope(
            [original],
            old_kms=local,
            new_kms=subject.kms,
            new_key_id=subject.key_id,
            new_context=CONTEXT,
            expected_context=source_context,
        )
    )
    header = read_envelope_header(moved)
    assert (header.kms, header.key_id, dict(header.context)) == (
        subject.kms.name,
        subject.key_id,
        CONTEXT,
    )
    providers = {"local": local, subject.kms.name: subject.kms}
    opened = open_envelope([moved], kms_for=providers.__getitem__, expected_context=CONTEXT)
    assert b"".join(opened) == inner
    back = b"".join(
        rewrap_envelope(
            [moved],
            old_kms=subject.kms,
            new_kms=local,
            new_key_id="source",
            new_context=source_context,
        )
    )
    assert b"".join(open_envelope([back], kms_for=local, expected_context=source_context)) == inner
