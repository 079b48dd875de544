"""The S3 object store against a real SeaweedFS: how objects map onto S3, and S3's failures.

The behaviour every store shares is in ``test_objectstore.py``; these tests look at the
bucket through raw boto3 (checksum metadata, multipart uploads, prefixes, foreign objects)
and at the errors S3 gives (wrong credentials, missing bucket, unreachable endpoint), which
must surface as ``ObjectStoreError`` without any secret in them.
"""

from __future__ import annotations

import base64
import hashlib
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError  # type: ignore[import-untyped, unused-ignore]

from strongroom.backup.objectstore import S3ObjectStore
from strongroom.backup.objectstore.s3 import PART_SIZE
from strongroom.errors import ArgumentsBad, ObjectCorrupt, ObjectNotFound, ObjectStoreError

from .objectstore_helpers import payload, read_all, s3_store, stream
from .services import S3Service

MiB = 1 << 20


@pytest.fixture
def store(seaweedfs: S3Service, s3_bucket: str) -> S3ObjectStore:
    return s3_store(seaweedfs, s3_bucket)


@pytest.fixture
def raw(seaweedfs: S3Service) -> Any:
    """A plain boto3 client, to look behind the store's back."""
    return seaweedfs.client()


def test_small_object_is_one_put_with_both_checksums(
    store: S3ObjectStore, raw: Any, s3_bucket: str
) -> None:
    """Up to 8 MiB: one PUT carrying our SHA-256 as metadata and S3's own SHA-256 checksum."""
    data = payload(1, PART_SIZE)
    stored = store.put("obj", [data], metadata={"k": "v"})
    head = raw.head_object(Bucket=s3_bucket, Key="obj", ChecksumMode="ENABLED")
    digest = hashlib.sha256(data)
    assert head["Metadata"] == {"k": "v", "strongroom-sha256": digest.hexdigest()}
    assert head["ChecksumSHA256"] == base64.b64encode(digest.digest()).decode()
    assert head["ContentType"] == "application/octet-stream"
    assert "-" not in head["ETag"]
    assert stored.sha256 == digest.hexdigest()


def test_large_object_is_a_multipart_upload(store: S3ObjectStore, raw: Any, s3_bucket: str) -> None:
    """Past 8 MiB: a multipart upload of 8 MiB parts, with the SHA-256 metadata set at creation."""
    data = payload(2, 2 * PART_SIZE + 5)
    store.put("obj", [data])
    head = raw.head_object(Bucket=s3_bucket, Key="obj")
    assert head["ETag"].endswith('-3"')
    assert head["Metadata"]["strongroom-sha256"] == hashlib.sha256(data).hexdigest()
    first = raw.head_object(Bucket=s3_bucket, Key="obj", PartNumber=1)
    assert first["ContentLength"] == PART_SIZE
    assert read_all(store, "obj") == data


def test_failed_source_starts_no_upload(store: S3ObjectStore, raw: Any, s3_bucket: str) -> None:
    """A source that fails past the first part leaves no upload and no object behind."""

    def failing() -> Iterator[bytes]:
        yield from stream(3, 2 * PART_SIZE + MiB)
        raise RuntimeError("source broke")

    with pytest.raises(RuntimeError):
        store.put("obj", failing())
    assert raw.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []
    assert store.head("obj") is None


FAILURES: list[tuple[Callable[[], BaseException], type[BaseException]]] = [
    (lambda: EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), ObjectStoreError),
    (KeyboardInterrupt, KeyboardInterrupt),
]


@pytest.mark.parametrize(("make_failure", "expected"), FAILURES, ids=["network", "interrupt"])
def test_failed_multipart_upload_is_aborted(
    store: S3ObjectStore,
    raw: Any,
    s3_bucket: str,
    monkeypatch: pytest.MonkeyPatch,
    make_failure: Callable[[], BaseException],
    expected: type[BaseException],
) -> None:
    """A multipart upload that fails at its second part is aborted; the old object stays."""
    store.put("obj", [b"old"])
    client = store._client
    upload_part = client.upload_part

    def flaky_upload_part(**kwargs: Any) -> Any:
        if kwargs["PartNumber"] == 2:
            raise make_failure()
        return upload_part(**kwargs)

    monkeypatch.setattr(client, "upload_part", flaky_upload_part)
    with pytest.raises(expected):
        store.put("obj", stream(4, 2 * PART_SIZE + MiB))
    assert raw.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []
    assert read_all(store, "obj") == b"old"


def test_prefix_keeps_stores_apart(seaweedfs: S3Service, raw: Any, s3_bucket: str) -> None:
    """Stores with different prefixes share a bucket without seeing each other's objects."""
    east = s3_store(seaweedfs, s3_bucket, prefix="region-east")
    west = s3_store(seaweedfs, s3_bucket, prefix="region-west/")
    east.put("k", [b"east"])
    west.put("k", [b"west"])
    keys = [entry["Key"] for entry in raw.list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert sorted(keys) == ["region-east/k", "region-west/k"]
    assert [obj.key for obj in east.list()] == ["k"]
    west.delete("k")
    assert read_all(east, "k") == b"east"
    assert west.head("k") is None


def test_foreign_objects(store: S3ObjectStore, raw: Any, s3_bucket: str) -> None:
    """Objects not put by a store: odd keys are not listed, a missing checksum is corrupt."""
    raw.put_object(Bucket=s3_bucket, Key="with space", Body=b"x")
    raw.put_object(Bucket=s3_bucket, Key=".hidden", Body=b"x")
    assert list(store.list()) == []
    raw.put_object(Bucket=s3_bucket, Key="plain", Body=b"x")
    with pytest.raises(ObjectCorrupt):
        store.head("plain")
    with pytest.raises(ObjectCorrupt):
        store.get("plain")
    with pytest.raises(ObjectCorrupt):
        list(store.list())
    store.delete("plain")
    assert store.head("plain") is None


def test_changed_length_behind_the_store_is_corrupt(
    store: S3ObjectStore, raw: Any, s3_bucket: str
) -> None:
    """An object replaced by one byte more, keeping its metadata, is ObjectCorrupt on get."""
    store.put("obj", [b"data"])
    metadata = raw.head_object(Bucket=s3_bucket, Key="obj")["Metadata"]
    raw.put_object(Bucket=s3_bucket, Key="obj", Body=b"data!", Metadata=metadata)
    with pytest.raises(ObjectCorrupt):
        read_all(store, "obj")


# --- failures ------------------------------------------------------------------------------------

OPERATIONS: list[tuple[str, Callable[[S3ObjectStore], object]]] = [
    ("put", lambda store: store.put("k", [b"x"])),
    ("get", lambda store: store.get("k")),
    ("head", lambda store: store.head("k")),
    ("list", lambda store: list(store.list())),
    ("delete", lambda store: store.delete("k")),
]


def _failure(store: S3ObjectStore, operation: Callable[[S3ObjectStore], object]) -> str:
    with pytest.raises(ObjectStoreError) as caught:
        operation(store)
    assert type(caught.value) is ObjectStoreError  # not ObjectNotFound: the store itself failed
    return f"{caught.value} {caught.value!r}"


@pytest.mark.parametrize(("name", "operation"), OPERATIONS, ids=[name for name, _ in OPERATIONS])
def test_wrong_secret_is_a_store_error_without_the_secret(
    seaweedfs: S3Service,
    s3_bucket: str,
    name: str,
    operation: Callable[[S3ObjectStore], object],
) -> None:
    """A wrong secret key gives ObjectStoreError naming access, never a credential."""
    secret = "wrong-secret-0123456789-abcdefgh"
    store = S3ObjectStore(
        s3_bucket,
        endpoint_url=seaweedfs.endpoint_url,
        region=seaweedfs.region,
        access_key=seaweedfs.access_key,
        secret_key=secret,
    )
    text = _failure(store, operation)
    assert "access denied" in text
    for value in (secret, seaweedfs.secret_key):
        assert value not in text
        assert value not in repr(store)


def test_unknown_access_key_is_a_store_error(seaweedfs: S3Service, s3_bucket: str) -> None:
    """An access key the server does not know gives ObjectStoreError naming access."""
    store = S3ObjectStore(
        s3_bucket,
        endpoint_url=seaweedfs.endpoint_url,
        region=seaweedfs.region,
        access_key="AKIANOSUCHKEY",
        secret_key="no-such-secret-9876543210",
    )
    text = _failure(store, lambda s: s.head("k"))
    assert "access denied" in text
    assert "no-such-secret" not in text


@pytest.mark.parametrize(("name", "operation"), OPERATIONS, ids=[name for name, _ in OPERATIONS])
def test_missing_bucket_is_a_store_error(
    seaweedfs: S3Service, name: str, operation: Callable[[S3ObjectStore], object]
) -> None:
    """Every operation on a bucket that does not exist gives ObjectStoreError saying so."""
    store = s3_store(seaweedfs, "no-such-bucket-for-strongroom")
    assert "does not exist" in _failure(store, operation)


def test_unreachable_endpoint_is_a_store_error() -> None:
    """An endpoint nobody listens on gives ObjectStoreError, not a botocore exception."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = S3ObjectStore(
        "some-bucket",
        endpoint_url=f"http://127.0.0.1:{port}",
        region="us-east-1",
        access_key="AKIAEXAMPLE",
        secret_key="example-secret-value",
    )
    text = _failure(store, lambda s: s.head("k"))
    assert "example-secret-value" not in text


def test_missing_key_is_not_found(store: S3ObjectStore) -> None:
    """get of a missing key in an existing bucket is ObjectNotFound; head is None."""
    with pytest.raises(ObjectNotFound):
        store.get("missing")
    assert store.head("missing") is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"bucket": "Upper"},
        {"bucket": "ab"},
        {"access_key": "only-the-access-key", "secret_key": None},
        {"access_key": None, "secret_key": "only-the-secret"},
        {"region": ""},
        {"prefix": "../up"},
        {"prefix": "/abs"},
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, Any]) -> None:
    """Invalid bucket names, half credentials, empty regions and bad prefixes: ArgumentsBad."""
    settings: dict[str, Any] = {
        "bucket": "good-bucket",
        "endpoint_url": "http://127.0.0.1:9",
        "region": "us-east-1",
        "access_key": "a",
        "secret_key": "s",
        "prefix": "",
    }
    settings.update(kwargs)
    bucket = settings.pop("bucket")
    with pytest.raises(ArgumentsBad) as caught:
        S3ObjectStore(bucket, **settings)
    assert "only-the-secret" not in str(caught.value)


def test_repr_shows_no_credentials(seaweedfs: S3Service, store: S3ObjectStore) -> None:
    """The repr names bucket, endpoint, region and prefix, and no credential."""
    text = repr(store)
    assert store.bucket in text
    assert seaweedfs.endpoint_url in text
    assert seaweedfs.secret_key not in text
    assert seaweedfs.access_key not in text
    assert store.name == "s3"
