"""Behaviour of RSA encryption (OAEP, PKCS#1 v1.5) and raw CKM_RSA_PKCS signatures."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.crypto.asymmetric import rsa_pkcs1v15_sign
from strongroom.crypto.hashing import HashName, digest, hash_algorithm
from strongroom.crypto.rsa_cipher import (
    rsa_oaep_decrypt,
    rsa_oaep_encrypt,
    rsa_pkcs1v15_decrypt,
    rsa_pkcs1v15_encrypt,
    rsa_pkcs1v15_sign_raw,
    rsa_pkcs1v15_verify_raw,
)
from strongroom.errors import ArgumentsBad, DataLenRange, IntegrityError, SignatureInvalid

_SHA2: list[HashName] = ["SHA1", "SHA224", "SHA256", "SHA384", "SHA512"]
_K = 256  # modulus bytes of the 2048-bit test key
# The one message every failure must carry (IntegrityError may itself make it uniform).
_DECRYPT_FAILED = str(IntegrityError("decryption failed"))
# RFC 8017 §9.2 note 1: DER of DigestInfo for SHA-256, before the 32-byte digest.
_SHA256_DIGEST_INFO_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    """One 2048-bit RSA key for the module (generation is slow)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _flip(data: bytes, bit: int) -> bytes:
    bit %= 8 * len(data)
    flipped = bytearray(data)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


# --- OAEP -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("hash_name", _SHA2)
@pytest.mark.parametrize("mgf_hash_name", ["SHA1", "SHA256", "SHA512"])
def test_oaep_interoperates_with_pyca_both_ways(
    key: rsa.RSAPrivateKey, hash_name: HashName, mgf_hash_name: HashName
) -> None:
    """Our OAEP ciphertexts decrypt with pyca and pyca's decrypt with ours, label included."""
    scheme = padding.OAEP(
        mgf=padding.MGF1(hash_algorithm(mgf_hash_name)),
        algorithm=hash_algorithm(hash_name),
        label=b"label",
    )
    ours = rsa_oaep_encrypt(key.public_key(), b"message", hash_name, mgf_hash_name, b"label")
    assert key.decrypt(ours, scheme) == b"message"
    theirs = key.public_key().encrypt(b"message", scheme)
    assert rsa_oaep_decrypt(key, theirs, hash_name, mgf_hash_name, b"label") == b"message"


@settings(max_examples=20)
@given(data=st.binary(max_size=190), label=st.binary(max_size=20))
def test_oaep_round_trip(key: rsa.RSAPrivateKey, data: bytes, label: bytes) -> None:
    """Any message up to k - 2hLen - 2 bytes round-trips under any label."""
    sealed = rsa_oaep_encrypt(key.public_key(), data, "SHA256", "SHA256", label)
    assert len(sealed) == _K
    assert rsa_oaep_decrypt(key, sealed, "SHA256", "SHA256", label) == data


@pytest.mark.parametrize("hash_name", _SHA2)
def test_oaep_length_limit_is_k_minus_2hlen_minus_2(
    key: rsa.RSAPrivateKey, hash_name: HashName
) -> None:
    """A message of k - 2hLen - 2 bytes encrypts; one byte more raises DataLenRange."""
    limit = _K - 2 * hash_algorithm(hash_name).digest_size - 2
    sealed = rsa_oaep_encrypt(key.public_key(), bytes(limit), hash_name, hash_name)
    assert rsa_oaep_decrypt(key, sealed, hash_name, hash_name) == bytes(limit)
    with pytest.raises(DataLenRange):
        rsa_oaep_encrypt(key.public_key(), bytes(limit + 1), hash_name, hash_name)


@pytest.mark.parametrize(
    ("hash_name", "mgf_hash_name"),
    [("SHA3_256", "SHA256"), ("SHA256", "SHA3_256"), ("MD5", "SHA256")],
)
def test_oaep_sha3_or_unknown_hash_is_arguments_bad(
    key: rsa.RSAPrivateKey, hash_name: str, mgf_hash_name: str
) -> None:
    """OAEP takes SHA-1 and SHA-2 hashes only; anything else raises ArgumentsBad both ways."""
    with pytest.raises(ArgumentsBad):
        rsa_oaep_encrypt(key.public_key(), b"m", hash_name, mgf_hash_name)  # type: ignore[arg-type]
    with pytest.raises(ArgumentsBad):
        rsa_oaep_decrypt(key, bytes(_K), hash_name, mgf_hash_name)  # type: ignore[arg-type]


@settings(max_examples=20)
@given(bit=st.integers(min_value=0))
def test_oaep_any_flipped_bit_is_integrity_error(key: rsa.RSAPrivateKey, bit: int) -> None:
    """A ciphertext with any one bit flipped raises IntegrityError with the one message."""
    sealed = rsa_oaep_encrypt(key.public_key(), b"message", "SHA256", "SHA256")
    with pytest.raises(IntegrityError) as caught:
        rsa_oaep_decrypt(key, _flip(sealed, bit), "SHA256", "SHA256")
    assert str(caught.value) == _DECRYPT_FAILED


@pytest.mark.parametrize(
    "change",
    ["wrong-label", "wrong-hash", "wrong-mgf", "empty", "short", "long", "all-ones"],
)
def test_oaep_failures_all_look_the_same(key: rsa.RSAPrivateKey, change: str) -> None:
    """Wrong label, hash, MGF hash or length all raise the same IntegrityError, without a cause."""
    sealed = rsa_oaep_encrypt(key.public_key(), b"message", "SHA256", "SHA256", b"label")
    arguments: tuple[bytes, HashName, HashName, bytes] = (sealed, "SHA256", "SHA256", b"label")
    cases: dict[str, tuple[bytes, HashName, HashName, bytes]] = {
        "wrong-label": (sealed, "SHA256", "SHA256", b"other"),
        "wrong-hash": (sealed, "SHA384", "SHA256", b"label"),
        "wrong-mgf": (sealed, "SHA256", "SHA1", b"label"),
        "empty": (b"", *arguments[1:]),
        "short": (sealed[1:], *arguments[1:]),
        "long": (b"\x00" + sealed, *arguments[1:]),
        "all-ones": (b"\xff" * _K, *arguments[1:]),
    }
    data, hash_name, mgf_hash_name, label = cases[change]
    with pytest.raises(IntegrityError) as caught:
        rsa_oaep_decrypt(key, data, hash_name, mgf_hash_name, label)
    assert str(caught.value) == _DECRYPT_FAILED
    assert caught.value.__cause__ is None


# --- PKCS#1 v1.5 encryption -------------------------------------------------------------------


@settings(max_examples=20)
@given(data=st.binary(max_size=_K - 11))
def test_pkcs1v15_round_trip_and_interop(key: rsa.RSAPrivateKey, data: bytes) -> None:
    """Messages up to k - 11 bytes round-trip and decrypt with pyca too."""
    sealed = rsa_pkcs1v15_encrypt(key.public_key(), data)
    assert rsa_pkcs1v15_decrypt(key, sealed) == data
    assert key.decrypt(sealed, padding.PKCS1v15()) == data
    assert rsa_pkcs1v15_decrypt(key, key.public_key().encrypt(data, padding.PKCS1v15())) == data


def test_pkcs1v15_length_limit_is_k_minus_11(key: rsa.RSAPrivateKey) -> None:
    """A message of k - 11 bytes encrypts; one byte more raises DataLenRange."""
    rsa_pkcs1v15_encrypt(key.public_key(), bytes(_K - 11))
    with pytest.raises(DataLenRange):
        rsa_pkcs1v15_encrypt(key.public_key(), bytes(_K - 10))


@pytest.mark.parametrize("data", [b"", bytes(_K - 1), bytes(_K + 1), b"\xff" * _K])
def test_pkcs1v15_malformed_ciphertext_is_integrity_error(
    key: rsa.RSAPrivateKey, data: bytes
) -> None:
    """Ciphertexts of the wrong length, or not below the modulus, raise the one IntegrityError."""
    with pytest.raises(IntegrityError) as caught:
        rsa_pkcs1v15_decrypt(key, data)
    assert str(caught.value) == _DECRYPT_FAILED


# --- raw PKCS#1 v1.5 signatures (CKM_RSA_PKCS) -------------------------------------------------


def _textbook_sign(key: rsa.RSAPrivateKey, data: bytes) -> bytes:
    """RFC 8017 §9.2 steps 3-5 and RSASP1 written out, as an independent oracle."""
    em = b"\x00\x01" + b"\xff" * (_K - 3 - len(data)) + b"\x00" + data
    numbers = key.private_numbers()
    signature = pow(int.from_bytes(em, "big"), numbers.d, numbers.public_numbers.n)
    return signature.to_bytes(_K, "big")


@settings(max_examples=20)
@given(data=st.binary(max_size=_K - 11))
def test_sign_raw_is_type_1_padding_of_the_data_as_given(
    key: rsa.RSAPrivateKey, data: bytes
) -> None:
    """sign_raw equals RSASP1 of 00 01 FF..FF 00 || data, and verify_raw accepts it."""
    signature = rsa_pkcs1v15_sign_raw(key, data)
    assert signature == _textbook_sign(key, data)
    rsa_pkcs1v15_verify_raw(key.public_key(), signature, data)


def test_sign_raw_over_a_digest_info_is_the_hashed_signature(key: rsa.RSAPrivateKey) -> None:
    """CKM_RSA_PKCS over DigestInfo(SHA-256(m)) equals CKM_SHA256_RSA_PKCS over m."""
    message = b"message"
    digest_info = _SHA256_DIGEST_INFO_PREFIX + digest("SHA256", message)
    signature = rsa_pkcs1v15_sign_raw(key, digest_info)
    assert signature == rsa_pkcs1v15_sign(key, message, "SHA256")
    key.public_key().verify(signature, message, padding.PKCS1v15(), hashes.SHA256())


def test_sign_raw_interoperates_with_pyca(key: rsa.RSAPrivateKey) -> None:
    """pyca's own NoDigestInfo signature verifies with verify_raw and equals ours."""
    theirs = key.sign(b"data", padding.PKCS1v15(), utils.NoDigestInfo())
    assert theirs == rsa_pkcs1v15_sign_raw(key, b"data")
    rsa_pkcs1v15_verify_raw(key.public_key(), theirs, b"data")


def test_sign_raw_of_empty_data_verifies(key: rsa.RSAPrivateKey) -> None:
    """Empty data is a valid CKM_RSA_PKCS input: its signature verifies, other data does not."""
    signature = rsa_pkcs1v15_sign_raw(key, b"")
    rsa_pkcs1v15_verify_raw(key.public_key(), signature, b"")
    with pytest.raises(SignatureInvalid):
        rsa_pkcs1v15_verify_raw(key.public_key(), signature, b"\x00")


def test_sign_raw_length_limit_is_k_minus_11(key: rsa.RSAPrivateKey) -> None:
    """Data of k - 11 bytes signs; one byte more raises DataLenRange."""
    signature = rsa_pkcs1v15_sign_raw(key, bytes(_K - 11))
    rsa_pkcs1v15_verify_raw(key.public_key(), signature, bytes(_K - 11))
    with pytest.raises(DataLenRange):
        rsa_pkcs1v15_sign_raw(key, bytes(_K - 10))


@settings(max_examples=20)
@given(bit=st.integers(min_value=0))
def test_verify_raw_rejects_any_flipped_bit(key: rsa.RSAPrivateKey, bit: int) -> None:
    """A signature with any one bit flipped raises SignatureInvalid."""
    signature = rsa_pkcs1v15_sign_raw(key, b"data")
    with pytest.raises(SignatureInvalid):
        rsa_pkcs1v15_verify_raw(key.public_key(), _flip(signature, bit), b"data")


@pytest.mark.parametrize(
    "case", ["other-data", "prefix", "extended", "empty-sig", "short-sig", "long-sig", "big-sig"]
)
def test_verify_raw_rejects_wrong_data_and_malformed_signatures(
    key: rsa.RSAPrivateKey, case: str
) -> None:
    """Other data, or a signature of the wrong length or not below n, raises SignatureInvalid."""
    signature = rsa_pkcs1v15_sign_raw(key, b"data")
    cases = {
        "other-data": (signature, b"date"),
        "prefix": (signature, b"dat"),
        "extended": (signature, b"data\x00"),
        "empty-sig": (b"", b"data"),
        "short-sig": (signature[1:], b"data"),
        "long-sig": (b"\x00" + signature, b"data"),
        "big-sig": (b"\xff" * _K, b"data"),
    }
    bad_signature, data = cases[case]
    with pytest.raises(SignatureInvalid):
        rsa_pkcs1v15_verify_raw(key.public_key(), bad_signature, data)


def test_verify_raw_rejects_a_hashed_signature_of_the_same_data(key: rsa.RSAPrivateKey) -> None:
    """A CKM_SHA256_RSA_PKCS signature of m is not a raw signature of m."""
    signature = rsa_pkcs1v15_sign(key, b"data", "SHA256")
    with pytest.raises(SignatureInvalid):
        rsa_pkcs1v15_verify_raw(key.public_key(), signature, b"data")
