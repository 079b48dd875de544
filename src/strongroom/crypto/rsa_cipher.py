"""RSA encryption (RSAES-OAEP, RSAES-PKCS1-v1_5) and raw PKCS#1 v1.5 signing (RFC 8017).

This module owns the RSA operations that are not hash-then-sign: OAEP and PKCS#1 v1.5
encryption and decryption, and the PKCS#11 ``CKM_RSA_PKCS`` signature, which pads caller
data with EMSA-PKCS1-v1_5 type 1 without adding a DigestInfo. Plaintext too long for the
key is `DataLenRange`; every failed decryption, whatever the cause (length, padding,
label), is the one uniform `IntegrityError`, so that no Bleichenbacher or Manger oracle
leaks through the choice of error (RFC 8017 §7.1.2 note, §7.2.2 note). Every primitive is
pyca/cryptography's. It must not know about handles, attributes or who holds the key.
"""

from __future__ import annotations

from typing import Final

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

from strongroom.crypto.hashing import HashName, constant_time_equal, hash_algorithm
from strongroom.errors import ArgumentsBad, DataLenRange, IntegrityError, SignatureInvalid

__all__ = [
    "rsa_oaep_decrypt",
    "rsa_oaep_encrypt",
    "rsa_pkcs1v15_decrypt",
    "rsa_pkcs1v15_encrypt",
    "rsa_pkcs1v15_sign_raw",
    "rsa_pkcs1v15_verify_raw",
]

# PKCS#11 v3.0 CKM_RSA_PKCS_OAEP names SHA-1 and SHA-2 hashes and MGF1 over them only.
_OAEP_HASHES: Final = frozenset({"SHA1", "SHA224", "SHA256", "SHA384", "SHA512"})
# RFC 8017 §7.2.1 step 1, §9.2 note 1: PKCS#1 v1.5 padding takes at least 11 bytes.
_PKCS1_OVERHEAD: Final = 11
_DECRYPT_FAILED: Final = "decryption failed"


def _modulus_bytes(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> int:
    return (key.key_size + 7) // 8


_OAEP_CACHE: dict[tuple[str, str], padding.OAEP] = {}


def _oaep(hash_name: HashName, mgf_hash_name: HashName, label: bytes) -> padding.OAEP:
    if not label:  # the common case: one immutable padding object per hash pair (hot path)
        cached = _OAEP_CACHE.get((hash_name, mgf_hash_name))
        if cached is None:
            cached = _OAEP_CACHE[hash_name, mgf_hash_name] = _build_oaep(
                hash_name, mgf_hash_name, b""
            )
        return cached
    return _build_oaep(hash_name, mgf_hash_name, label)


def _build_oaep(hash_name: HashName, mgf_hash_name: HashName, label: bytes) -> padding.OAEP:
    for name in (hash_name, mgf_hash_name):
        if name not in _OAEP_HASHES:
            raise ArgumentsBad(f"OAEP hash must be SHA-1 or SHA-2, not {name!r}")
    # RFC 8017 §7.1: OAEP with hash Hash, mask generation MGF1 (§B.2.1) and label L.
    return padding.OAEP(
        mgf=padding.MGF1(hash_algorithm(mgf_hash_name)),
        algorithm=hash_algorithm(hash_name),
        label=label or None,
    )


def rsa_oaep_encrypt(
    pub: rsa.RSAPublicKey,
    data: bytes,
    hash_name: HashName,
    mgf_hash_name: HashName,
    label: bytes = b"",
) -> bytes:
    """RSAES-OAEP encryption (RFC 8017 §7.1.1); ``data`` may be at most k - 2hLen - 2 bytes."""
    scheme = _oaep(hash_name, mgf_hash_name, label)
    # §7.1.1 step 1.b: mLen <= k - 2hLen - 2, else "message too long".
    limit = _modulus_bytes(pub) - 2 * hash_algorithm(hash_name).digest_size - 2
    if len(data) > limit:
        raise DataLenRange("message too long for RSA-OAEP with this key and hash")
    return pub.encrypt(data, scheme)


def rsa_oaep_decrypt(
    key: rsa.RSAPrivateKey,
    data: bytes,
    hash_name: HashName,
    mgf_hash_name: HashName,
    label: bytes = b"",
) -> bytes:
    """RSAES-OAEP decryption (RFC 8017 §7.1.2); every failure is the same `IntegrityError`."""
    scheme = _oaep(hash_name, mgf_hash_name, label)
    try:
        return key.decrypt(data, scheme)
    except (ValueError, UnsupportedAlgorithm):
        raise IntegrityError(_DECRYPT_FAILED) from None


def rsa_pkcs1v15_encrypt(pub: rsa.RSAPublicKey, data: bytes) -> bytes:
    """RSAES-PKCS1-v1_5 encryption (RFC 8017 §7.2.1); ``data`` may be at most k - 11 bytes."""
    if len(data) > _modulus_bytes(pub) - _PKCS1_OVERHEAD:
        raise DataLenRange("message too long for RSA PKCS#1 v1.5 with this key")
    return pub.encrypt(data, padding.PKCS1v15())


def rsa_pkcs1v15_decrypt(key: rsa.RSAPrivateKey, data: bytes) -> bytes:
    """RSAES-PKCS1-v1_5 decryption (RFC 8017 §7.2.2); every failure is the same `IntegrityError`.

    OpenSSL 3.2 and later, which pyca builds on, may apply implicit rejection
    (draft-irtf-cfrg-rsa-guidance): a ciphertext with bad padding then decrypts, without an
    error, to a pseudorandom message derived from the key and the ciphertext, so a wrong
    ciphertext is not guaranteed to raise. Callers must authenticate the result some other
    way; this scheme is kept only for interoperability.
    """
    try:
        return key.decrypt(data, padding.PKCS1v15())
    except ValueError:
        raise IntegrityError(_DECRYPT_FAILED) from None


def rsa_pkcs1v15_sign_raw(key: rsa.RSAPrivateKey, data: bytes) -> bytes:
    """``CKM_RSA_PKCS`` signature: EMSA-PKCS1-v1_5 type-1 padding of ``data`` as given.

    RFC 8017 §9.2 steps 3-5 (0x00 || 0x01 || PS || 0x00 || data, PS at least 8 bytes of
    0xFF) then RSASP1 (§5.2.1); no DigestInfo is added, so callers pass an already encoded
    DigestInfo or whatever their protocol signs. ``data`` may be at most k - 11 bytes.
    """
    if len(data) > _modulus_bytes(key) - _PKCS1_OVERHEAD:
        raise DataLenRange("data too long for a raw PKCS#1 v1.5 signature with this key")
    return key.sign(data, padding.PKCS1v15(), utils.NoDigestInfo())


def rsa_pkcs1v15_verify_raw(pub: rsa.RSAPublicKey, signature: bytes, data: bytes) -> None:
    """Check a ``CKM_RSA_PKCS`` signature over ``data`` as given; raise `SignatureInvalid`.

    RFC 8017 §8.2.2 with no DigestInfo: RSAVP1, then a strict check of the type-1 padding,
    then a constant-time comparison of what it wraps with ``data``. (pyca's ``verify`` takes
    ``NoDigestInfo`` at run time but its type stubs do not say so; recovering the data is the
    typed route to the same check.)
    """
    try:
        recovered = pub.recover_data_from_signature(
            signature, padding.PKCS1v15(), utils.NoDigestInfo()
        )
    except (InvalidSignature, ValueError):
        raise SignatureInvalid("signature did not verify") from None
    if not constant_time_equal(recovered, data):
        raise SignatureInvalid("signature did not verify")
