"""Published vectors through the AES modes: SP 800-38A, RFC 4493 CMAC and CAVP GCMVS streams."""

from __future__ import annotations

import pytest

from strongroom.crypto.modes import (
    AESStreamMode,
    CMACStream,
    GCMDecryptStream,
    GCMEncryptStream,
    aes_cbc_decrypt,
    aes_cbc_encrypt,
    aes_cmac_sign,
    aes_cmac_verify,
    aes_ctr,
    aes_ecb_decrypt,
    aes_ecb_encrypt,
    aes_stream,
)
from strongroom.errors import DataLenRange, IntegrityError

from .crypto_vectors import CAVPRecord, cavp_records

# NIST SP 800-38A Appendix F: the AES-128 key and the four plaintext blocks every example uses.
_SP800_38A_KEY = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
_SP800_38A_PLAINTEXT = bytes.fromhex(
    "6bc1bee22e409f96e93d7e117393172a"
    "ae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52ef"
    "f69f2445df4f9b17ad2b417be66c3710"
)
# SP 800-38A F.1.1 / F.1.2: ECB-AES128.
_ECB_AES128 = bytes.fromhex(
    "3ad77bb40d7a3660a89ecaf32466ef97"
    "f5d3d58503b9699de785895a96fdbaaf"
    "43b1cd7f598ece23881b00e3ed030688"
    "7b0c785e27e8ad3f8223207104725dd4"
)
# SP 800-38A F.2.1 / F.2.2: CBC-AES128.
_CBC_IV = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
_CBC_AES128 = bytes.fromhex(
    "7649abac8119b246cee98e9b12e9197d"
    "5086cb9b507219ee95db113a917678b2"
    "73bed6b8e3c1743b7116e69e22229516"
    "3ff1caa1681fac09120eca307586e1a7"
)
# SP 800-38A F.5.1 / F.5.2: CTR-AES128.
_CTR_INITIAL_COUNTER = bytes.fromhex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")
_CTR_AES128 = bytes.fromhex(
    "874d6191b620e3261bef6864990db6ce"
    "9806f66b7970fdff8617187bb9fffdff"
    "5ae4df3edbd5d35e5b4f09020db03eab"
    "1e031dda2fbe03d1792170a0f3009cee"
)


def _blockwise(mode: AESStreamMode, data: bytes, *, encrypt: bool, iv: bytes | None) -> bytes:
    stream = aes_stream(mode, _SP800_38A_KEY, encrypt=encrypt, iv=iv)
    output = b"".join(stream.update(data[i : i + 16]) for i in range(0, len(data), 16))
    return output + stream.finalize()


def test_sp800_38a_f1_ecb_aes128() -> None:
    """SP 800-38A F.1.1 and F.1.2: ECB-AES128 encrypts and decrypts the four blocks exactly."""
    assert aes_ecb_encrypt(_SP800_38A_KEY, _SP800_38A_PLAINTEXT) == _ECB_AES128
    assert aes_ecb_decrypt(_SP800_38A_KEY, _ECB_AES128) == _SP800_38A_PLAINTEXT
    assert _blockwise("ECB", _SP800_38A_PLAINTEXT, encrypt=True, iv=None) == _ECB_AES128
    assert _blockwise("ECB", _ECB_AES128, encrypt=False, iv=None) == _SP800_38A_PLAINTEXT


def test_sp800_38a_f2_cbc_aes128() -> None:
    """SP 800-38A F.2.1 and F.2.2: CBC-AES128 encrypts and decrypts the four blocks exactly."""
    sealed = aes_cbc_encrypt(_SP800_38A_KEY, _CBC_IV, _SP800_38A_PLAINTEXT, pad=False)
    assert sealed == _CBC_AES128
    assert aes_cbc_decrypt(_SP800_38A_KEY, _CBC_IV, _CBC_AES128, pad=False) == _SP800_38A_PLAINTEXT
    assert _blockwise("CBC", _SP800_38A_PLAINTEXT, encrypt=True, iv=_CBC_IV) == _CBC_AES128
    assert _blockwise("CBC", _CBC_AES128, encrypt=False, iv=_CBC_IV) == _SP800_38A_PLAINTEXT


def test_sp800_38a_f2_cbc_pad_aes128_extends_the_unpadded_ciphertext() -> None:
    """CBC_PAD over the F.2 plaintext is the F.2.1 ciphertext plus one block of padding."""
    sealed = aes_cbc_encrypt(_SP800_38A_KEY, _CBC_IV, _SP800_38A_PLAINTEXT, pad=True)
    assert sealed[:64] == _CBC_AES128
    assert len(sealed) == 80
    assert aes_cbc_decrypt(_SP800_38A_KEY, _CBC_IV, sealed, pad=True) == _SP800_38A_PLAINTEXT


@pytest.mark.parametrize("counter_bits", [128, 64, 32, 8])
def test_sp800_38a_f5_ctr_aes128(counter_bits: int) -> None:
    """SP 800-38A F.5.1/F.5.2: CTR-AES128 matches for counters that do not wrap, else refuses."""
    if counter_bits == 8:
        # The initial counter ends in 0xff: an 8-bit counter has room for one block only.
        with pytest.raises(DataLenRange):
            aes_ctr(_SP800_38A_KEY, _CTR_INITIAL_COUNTER, _SP800_38A_PLAINTEXT, counter_bits=8)
        return
    result = aes_ctr(
        _SP800_38A_KEY, _CTR_INITIAL_COUNTER, _SP800_38A_PLAINTEXT, counter_bits=counter_bits
    )
    assert result == _CTR_AES128
    assert aes_ctr(_SP800_38A_KEY, _CTR_INITIAL_COUNTER, _CTR_AES128) == _SP800_38A_PLAINTEXT
    streamed = _blockwise("CTR", _SP800_38A_PLAINTEXT, encrypt=True, iv=_CTR_INITIAL_COUNTER)
    assert streamed == _CTR_AES128


# RFC 4493 §4 (= SP 800-38B Appendix D.1): AES-128 CMAC over 0, 16, 40 and 64 bytes of the
# SP 800-38A plaintext under the SP 800-38A key.
_RFC4493_EXAMPLES = [
    (0, "bb1d6929e95937287fa37d129b756746"),
    (16, "070a16b46b4d4144f79bdd9dd04a287c"),
    (40, "dfa66747de9ae63030ca32611497c827"),
    (64, "51f0bebf7e3b9d92fc49741779363cfe"),
]


@pytest.mark.parametrize(("length", "tag"), _RFC4493_EXAMPLES, ids=lambda v: str(v)[:8])
def test_rfc4493_cmac_examples(length: int, tag: str) -> None:
    """RFC 4493 §4 examples 1-4: the AES-128 CMAC of each message prefix is the published tag."""
    message = _SP800_38A_PLAINTEXT[:length]
    assert aes_cmac_sign(_SP800_38A_KEY, message) == bytes.fromhex(tag)
    aes_cmac_verify(_SP800_38A_KEY, message, bytes.fromhex(tag))
    stream = CMACStream(_SP800_38A_KEY)
    for byte in message:
        stream.update(bytes([byte]))
    assert stream.finalize() == bytes.fromhex(tag)


def _gcm_profile(name: str) -> list[CAVPRecord]:
    """Strongroom's GCM profile: 96-bit IV, 128-bit tag."""
    return [
        record
        for record in cavp_records("nist-cavp", "gcmvs", name)
        if record.section["IVLEN"] == "96" and record.section["TAGLEN"] == "128"
    ]


def _gcm_id(record: CAVPRecord) -> str:
    section = record.section
    verdict = "-FAIL" if record.fail else ""
    return f"PT{section['PTLEN']}-AAD{section['AADLEN']}-Count{record.count()}{verdict}"


def _thirds(data: bytes) -> list[bytes]:
    third = len(data) // 3
    return [data[:third], data[third : 2 * third], data[2 * third :]]


@pytest.mark.parametrize("record", _gcm_profile("gcmEncryptExtIV256.rsp"), ids=_gcm_id)
def test_cavp_gcm_encrypt_stream(record: CAVPRecord) -> None:
    """A GCMEncryptStream fed PT in three pieces outputs exactly CT || Tag (SP 800-38D §7.1)."""
    stream = GCMEncryptStream(record.hex("Key"), record.hex("IV"), record.hex("AAD"))
    output = b"".join(stream.update(piece) for piece in _thirds(record.hex("PT")))
    assert output + stream.finalize() == record.hex("CT") + record.hex("Tag")


@pytest.mark.parametrize("record", _gcm_profile("gcmDecrypt256.rsp"), ids=_gcm_id)
def test_cavp_gcm_decrypt_stream(record: CAVPRecord) -> None:
    """A GCMDecryptStream gives PT for good records and IntegrityError for every FAIL record."""
    stream = GCMDecryptStream(record.hex("Key"), record.hex("IV"), record.hex("AAD"))
    for piece in _thirds(record.hex("CT") + record.hex("Tag")):
        assert stream.update(piece) == b""
    if record.fail:
        with pytest.raises(IntegrityError):
            stream.finalize()
    else:
        assert stream.finalize() == record.hex("PT")
