"""The service side of backups: the KMS envelope, KMS providers, object stores and the catalog.

This package owns what the service does with a backup once the HSM has sealed it: wrapping it
once more in a KMS envelope, writing it to an object store (filesystem or S3) with a checksum,
and keeping the catalog and its lifecycle. It reaches key material only through the engine —
the inner, HSM-made layer arrives here already sealed — and the engine never imports it.
"""

from __future__ import annotations

__all__: list[str] = []
