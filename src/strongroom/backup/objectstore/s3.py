"""The S3 object store: any S3 API (AWS, SeaweedFS, MinIO, Ceph) through boto3.

This module owns how objects map onto an S3 bucket and the translation of every botocore
exception into ``ObjectStoreError`` / ``ObjectNotFound`` at this boundary (``raise … from
exc``). Credentials go to boto3 and nowhere else: not into ``repr``, not into a message (a
message names the operation, the bucket, the key and the S3 error code, never the text the
server sent back).

Mapping. A key is stored as the S3 key ``<prefix><key>``. The object's SHA-256 travels as
user metadata ``x-amz-meta-strongroom-sha256`` beside the caller's metadata, and each upload
also asks S3 to check its own SHA-256 (``ChecksumAlgorithm="SHA256"``; SeaweedFS 4.48 and AWS
both verify it and refuse a mismatch with ``BadDigest``).

Uploads. An object of at most ``PART_SIZE`` (8 MiB) is sent with one PUT from memory. A
larger one is a multipart upload of 8 MiB parts. S3 takes an object's metadata when the
upload is created, before any part, while the SHA-256 is known only after the last byte; so a
large object is first spooled to an anonymous temporary file (unlinked at creation, gone even
after ``kill -9``) while it is hashed, and then uploaded from there with its checksum. Memory
holds at most one part; disk holds the object once. Any error aborts the multipart upload,
and an S3 object becomes visible only when its PUT or CompleteMultipartUpload succeeds, so a
failed put leaves the previous object, if any, in place. The bytes handed to a store are
already sealed, so the spool file holds nothing secret.

Reads. ``get`` streams the body in chunks and checks size and SHA-256 at the end (S3's own
response checksums are not requested: the stored SHA-256 covers them). ``list`` pages through
ListObjectsV2, sorts the keys itself (not every S3 lists in byte order) and, because listings
carry no user metadata, asks HeadObject for each object; S3 keys under the prefix that are
not valid Strongroom keys are skipped. An object without a valid checksum entry is reported
as ``ObjectCorrupt``.

Multi-region needs nothing here: each region is one ``S3ObjectStore`` with its own bucket.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any

import boto3  # type: ignore[import-untyped, unused-ignore]
from botocore.config import Config  # type: ignore[import-untyped, unused-ignore]
from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped, unused-ignore]

from strongroom.backup.objectstore.api import (
    CHECKSUM_METADATA_KEY,
    StoredObject,
    VerifyingReader,
    as_bytes,
    check_chunk_size,
    check_key,
    check_metadata,
    check_prefix,
    is_sha256_hex,
    is_valid_key,
)
from strongroom.errors import ArgumentsBad, ObjectCorrupt, ObjectNotFound, ObjectStoreError

__all__ = ["PART_SIZE", "S3ObjectStore"]

PART_SIZE = 8 * 1024 * 1024
"""Size of every multipart part but the last; objects up to this size go in one PUT."""

CONTENT_TYPE = "application/octet-stream"

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_NOT_FOUND = frozenset({"NoSuchKey", "NotFound", "404"})
_DENIED = frozenset(
    {
        "AccessDenied",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidToken",
        "ExpiredToken",
        "403",
    }
)
_SAFE_CODE = re.compile(r"[A-Za-z0-9.]{1,64}")


def _error_code(exc: Any) -> str:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code if _SAFE_CODE.fullmatch(code) else "unknown"


def _status(exc: Any) -> int | None:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status if isinstance(status, int) else None


class S3ObjectStore:
    """Objects in one S3 bucket, optionally under a key prefix (see module)."""

    name: str = "s3"

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None,
        region: str,
        access_key: str | None,
        secret_key: str | None,
        prefix: str = "",
    ) -> None:
        if not isinstance(bucket, str) or _BUCKET.fullmatch(bucket) is None:
            raise ArgumentsBad(f"{bucket!r} is not a valid S3 bucket name")
        if not isinstance(region, str) or not region:
            raise ArgumentsBad("region must be a non-empty string")
        if (access_key is None) != (secret_key is None):
            raise ArgumentsBad("give both access_key and secret_key, or neither")
        if prefix:
            check_key(prefix.removesuffix("/"))
            prefix = prefix.removesuffix("/") + "/"
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self.region = region
        self.prefix = prefix
        config = Config(
            region_name=region,
            signature_version="s3v4",
            s3={"addressing_style": "path"} if endpoint_url else {},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=10,
            read_timeout=60,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        try:
            session = boto3.session.Session(
                aws_access_key_id=access_key,
                aws_secret_access_key=secret_key,
                region_name=region,
            )
            self._client: Any = session.client("s3", endpoint_url=endpoint_url, config=config)
        except (BotoCoreError, ValueError) as exc:
            raise ArgumentsBad(
                f"cannot set up an S3 client for endpoint {endpoint_url!r}, region {region!r}: "
                f"{type(exc).__name__}"
            ) from exc

    def __repr__(self) -> str:
        return (
            f"S3ObjectStore(bucket={self.bucket!r}, endpoint_url={self.endpoint_url!r}, "
            f"region={self.region!r}, prefix={self.prefix!r})"
        )

    # --- errors -------------------------------------------------------------------------------

    def _where(self, key: str | None) -> str:
        return f"s3://{self.bucket}/{self.prefix}{key or ''}"

    def _translate(self, exc: Exception, operation: str, key: str | None) -> ObjectStoreError:
        """One ``ObjectStoreError`` for a botocore failure; no server text, no credential."""
        if isinstance(exc, ClientError):
            code = _error_code(exc)
            status = _status(exc)
            if code == "NoSuchBucket":
                reason = f"bucket {self.bucket!r} does not exist"
            elif code in _DENIED or status == 403:
                reason = f"access denied ({code}): check the access key, secret and permissions"
            else:
                reason = f"S3 error {code} (HTTP {status})"
        else:
            reason = f"{type(exc).__name__} talking to {self.endpoint_url or 'AWS S3'}"
        return ObjectStoreError(f"s3 store: {operation} {self._where(key)}: {reason}")

    def _bucket_error(self, operation: str, key: str) -> ObjectStoreError | None:
        """After a bare 404 from HeadObject: an error if the bucket itself is missing or denied."""
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if _status(exc) == 404 or _error_code(exc) in _NOT_FOUND | {"NoSuchBucket"}:
                return ObjectStoreError(
                    f"s3 store: {operation} {self._where(key)}: "
                    f"bucket {self.bucket!r} does not exist"
                )
            return self._translate(exc, operation, key)
        except BotoCoreError as exc:
            return self._translate(exc, operation, key)
        return None

    # --- uploads ------------------------------------------------------------------------------

    def _put_single(self, object_key: str, body: bytearray, metadata: dict[str, str]) -> None:
        self._client.put_object(
            Bucket=self.bucket,
            Key=object_key,
            Body=body,
            Metadata=metadata,
            ContentType=CONTENT_TYPE,
            ChecksumAlgorithm="SHA256",
        )

    def _put_multipart(self, object_key: str, spool: IO[bytes], metadata: dict[str, str]) -> None:
        created = self._client.create_multipart_upload(
            Bucket=self.bucket,
            Key=object_key,
            Metadata=metadata,
            ContentType=CONTENT_TYPE,
            ChecksumAlgorithm="SHA256",
        )
        upload_id = created["UploadId"]
        try:
            spool.seek(0)
            parts: builtins.list[dict[str, Any]] = []
            while part := spool.read(PART_SIZE):
                number = len(parts) + 1
                sent = self._client.upload_part(
                    Bucket=self.bucket,
                    Key=object_key,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=part,
                    ChecksumAlgorithm="SHA256",
                )
                entry = {"PartNumber": number, "ETag": sent["ETag"]}
                if "ChecksumSHA256" in sent:
                    entry["ChecksumSHA256"] = sent["ChecksumSHA256"]
                parts.append(entry)
                del part, sent
            self._client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=object_key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            with contextlib.suppress(Exception):
                self._client.abort_multipart_upload(
                    Bucket=self.bucket, Key=object_key, UploadId=upload_id
                )
            raise

    # --- the ObjectStore protocol ---------------------------------------------------------

    def put(
        self, key: str, chunks: Iterable[bytes], *, metadata: Mapping[str, str] | None = None
    ) -> StoredObject:
        """Store ``chunks`` under ``key``: one PUT up to 8 MiB, else a multipart upload."""
        key = check_key(key)
        checked = check_metadata(metadata)
        object_key = self.prefix + key
        digest = hashlib.sha256()
        size = 0
        buffer = bytearray()
        spool: IO[bytes] | None = None
        try:
            for chunk in chunks:  # the caller's own errors pass through unchanged
                data = as_bytes(chunk)
                digest.update(data)
                size += len(data)
                if spool is None:
                    buffer += data
                    if len(buffer) <= PART_SIZE:
                        continue
                    data, buffer = buffer, bytearray()
                    try:
                        spool = tempfile.TemporaryFile(prefix="strongroom-s3-")  # noqa: SIM115
                    except OSError as exc:
                        raise ObjectStoreError(
                            f"s3 store: put {self._where(key)}: no room to spool the upload "
                            f"({exc.strerror or type(exc).__name__})"
                        ) from exc
                try:
                    spool.write(data)
                except OSError as exc:
                    raise ObjectStoreError(
                        f"s3 store: put {self._where(key)}: cannot spool the upload "
                        f"({exc.strerror or type(exc).__name__})"
                    ) from exc
            sha256 = digest.hexdigest()
            stored_metadata = {**checked, CHECKSUM_METADATA_KEY: sha256}
            try:
                if spool is None:
                    self._put_single(object_key, buffer, stored_metadata)
                else:
                    self._put_multipart(object_key, spool, stored_metadata)
            except (ClientError, BotoCoreError) as exc:
                raise self._translate(exc, "put", key) from exc
        finally:
            if spool is not None:
                spool.close()
        return StoredObject(key, size, sha256, checked)

    def get(self, key: str, *, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """Stream the object's bytes; ``ObjectCorrupt`` at the end if they do not match."""
        key = check_key(key)
        chunk_size = check_chunk_size(chunk_size)
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=self.prefix + key)
        except ClientError as exc:
            if _error_code(exc) in _NOT_FOUND:
                raise ObjectNotFound(f"no object {self._where(key)}") from exc
            raise self._translate(exc, "get", key) from exc
        except BotoCoreError as exc:
            raise self._translate(exc, "get", key) from exc
        body = response["Body"]
        sha256 = response.get("Metadata", {}).get(CHECKSUM_METADATA_KEY)
        size = response.get("ContentLength")
        if not is_sha256_hex(sha256) or not isinstance(size, int):
            body.close()
            raise ObjectCorrupt(f"object {key!r} has no valid {CHECKSUM_METADATA_KEY} checksum")
        return VerifyingReader(
            key,
            self._stream(body, chunk_size, key),
            sha256=sha256,
            size=size,
            close=body.close,
        )

    def _stream(self, body: Any, chunk_size: int, key: str) -> Iterator[bytes]:
        chunks = body.iter_chunks(chunk_size)
        while True:
            try:
                chunk = next(chunks, None)
            except (BotoCoreError, OSError) as exc:
                raise self._translate(exc, "get", key) from exc
            if chunk is None:
                return
            yield bytes(chunk)

    def head(self, key: str) -> StoredObject | None:
        """Describe the object under ``key``, or ``None``; a missing bucket is an error."""
        key = check_key(key)
        try:
            response = self._client.head_object(Bucket=self.bucket, Key=self.prefix + key)
        except ClientError as exc:
            if _status(exc) == 404 or _error_code(exc) in _NOT_FOUND:
                failure = self._bucket_error("head", key)
                if failure is not None:
                    raise failure from exc
                return None
            raise self._translate(exc, "head", key) from exc
        except BotoCoreError as exc:
            raise self._translate(exc, "head", key) from exc
        metadata = dict(response.get("Metadata", {}))
        sha256 = metadata.pop(CHECKSUM_METADATA_KEY, None)
        size = response.get("ContentLength")
        if not is_sha256_hex(sha256) or not isinstance(size, int):
            raise ObjectCorrupt(f"object {key!r} has no valid {CHECKSUM_METADATA_KEY} checksum")
        return StoredObject(key, size, sha256, metadata)

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        """Every object whose key starts with ``prefix``, sorted by key.

        The keys are collected and sorted here: AWS lists in byte order, but SeaweedFS lists
        a "directory" before its sibling keys ("a/b" before "a-b").
        """
        prefix = check_prefix(prefix)
        keys: builtins.list[str] = []
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix + prefix
            )
            for page in pages:
                for entry in page.get("Contents", []):
                    key = str(entry["Key"])[len(self.prefix) :]
                    if is_valid_key(key):  # anything else is not a Strongroom object
                        keys.append(key)
        except (ClientError, BotoCoreError) as exc:
            raise self._translate(exc, "list", prefix) from exc
        for key in sorted(keys):
            found = self.head(key)
            if found is not None:  # deleted since the listing
                yield found

    def delete(self, key: str) -> None:
        """Remove the object under ``key``; a missing key is not an error."""
        key = check_key(key)
        try:
            self._client.delete_object(Bucket=self.bucket, Key=self.prefix + key)
        except (ClientError, BotoCoreError) as exc:
            raise self._translate(exc, "delete", key) from exc
