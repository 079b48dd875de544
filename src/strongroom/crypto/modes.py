"""AES modes of operation: ECB, CBC, CBC with PKCS#7 padding, CTR, CMAC and multi-part GCM.

This module owns the AES confidentiality modes of NIST SP 800-38A (ECB, CBC, CTR), the
PKCS#7 padding of PKCS#11's ``CKM_AES_CBC_PAD`` (RFC 5652 §6.3), the CMAC authentication
mode of SP 800-38B, and multi-part GCM (SP 800-38D) whose decryption releases no plaintext
before the tag is checked. Each mode has a one-shot form and a multi-part stream, and a
stream over any split of the input gives exactly the one-shot output. Input lengths a mode
cannot take are `DataLenRange`; bad padding and failed GCM tags are the one uniform
`IntegrityError`; a wrong CMAC tag is `SignatureInvalid`. Every primitive is
pyca/cryptography's. It must not choose keys, IVs or counter blocks, nor know what the keys
protect or which HSM operation a stream belongs to.
"""

from __future__ import annotations

from typing import Final, Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import cmac, padding
from cryptography.hazmat.primitives.ciphers import (
    AEADDecryptionContext,
    AEADEncryptionContext,
    Cipher,
    CipherContext,
    algorithms,
)
from cryptography.hazmat.primitives.ciphers import modes as _pyca_modes

from strongroom.crypto.aead import GCM_IV_SIZE, GCM_TAG_SIZE
from strongroom.crypto.hashing import MACStream
from strongroom.errors import ArgumentsBad, DataLenRange, IntegrityError

__all__ = [
    "AESStream",
    "AESStreamMode",
    "CMACStream",
    "GCMDecryptStream",
    "GCMEncryptStream",
    "aes_cbc_decrypt",
    "aes_cbc_encrypt",
    "aes_cmac_sign",
    "aes_cmac_verify",
    "aes_ctr",
    "aes_ecb_decrypt",
    "aes_ecb_encrypt",
    "aes_stream",
]

AESStreamMode = Literal["ECB", "CBC", "CBC_PAD", "CTR"]

_AES_KEY_SIZES: Final = frozenset({16, 24, 32})
# FIPS 197 §3.1: the AES block is 128 bits; SP 800-38A IVs and counter blocks are one block.
_BLOCK: Final = 16
_BLOCK_BITS: Final = 128
_DECRYPT_FAILED: Final = "decryption failed"


def _aes(key: bytes) -> algorithms.AES:
    if len(key) not in _AES_KEY_SIZES:
        raise ArgumentsBad(f"AES key must be 16, 24 or 32 bytes, not {len(key)}")
    return algorithms.AES(key)


def _blocks(length: int) -> int:
    return -(-length // _BLOCK)


# --- ECB, CBC and CTR (SP 800-38A) ------------------------------------------------------------


class AESStream:
    """A multi-part AES ECB, CBC, CBC_PAD or CTR operation; build it with `aes_stream`.

    ``update`` returns whatever output is ready; ``finalize`` returns the rest and spends the
    stream. ECB and CBC without padding hold a trailing partial block and raise
    `DataLenRange` at ``finalize`` if one is left. CBC_PAD decryption always holds back the
    last block, so that no byte of padding is released before it is checked at ``finalize``.
    CTR refuses, before consuming it, any ``update`` that would wrap the counter.
    """

    __slots__ = ("_context", "_counter_blocks_left", "_fed", "_mode", "_padder", "_unpadder")

    def __init__(
        self,
        mode: AESStreamMode,
        key: bytes,
        *,
        encrypt: bool,
        iv: bytes | None = None,
        counter_bits: int = 128,
    ) -> None:
        algorithm = _aes(key)
        self._mode: AESStreamMode = mode
        self._fed = 0
        self._counter_blocks_left: int | None = None
        self._padder: padding.PaddingContext | None = None
        self._unpadder: padding.PaddingContext | None = None
        pyca_mode: _pyca_modes.Mode
        if mode == "ECB":
            if iv is not None:
                raise ArgumentsBad("ECB takes no IV")
            pyca_mode = _pyca_modes.ECB()  # noqa: S305 - PKCS#11 CKM_AES_ECB is asked for by name
        elif mode in ("CBC", "CBC_PAD"):
            if iv is None or len(iv) != _BLOCK:
                raise ArgumentsBad("CBC IV must be 16 bytes")
            pyca_mode = _pyca_modes.CBC(iv)
            if mode == "CBC_PAD":
                # RFC 5652 §6.3 padding to the 128-bit block, as CKM_AES_CBC_PAD specifies.
                if encrypt:
                    self._padder = padding.PKCS7(_BLOCK_BITS).padder()
                else:
                    self._unpadder = padding.PKCS7(_BLOCK_BITS).unpadder()
        elif mode == "CTR":
            if iv is None or len(iv) != _BLOCK:
                raise ArgumentsBad("CTR counter block must be 16 bytes")
            if not 1 <= counter_bits <= _BLOCK_BITS:
                raise ArgumentsBad(f"CTR counter width must be 1 to 128 bits, not {counter_bits}")
            # SP 800-38A §B.1: the low m bits are the counter and step by one per block; pyca
            # steps all 128 bits, which is the same as long as those m bits never wrap.
            start = int.from_bytes(iv, "big") & ((1 << counter_bits) - 1)
            self._counter_blocks_left = (1 << counter_bits) - start
            pyca_mode = _pyca_modes.CTR(iv)
        else:
            raise ArgumentsBad(f"unknown AES mode {mode!r}")
        cipher = Cipher(algorithm, pyca_mode)
        self._context: CipherContext | None = cipher.encryptor() if encrypt else cipher.decryptor()

    def _take(self) -> CipherContext:
        if self._context is None:
            raise ArgumentsBad("AES stream already finalized")
        return self._context

    def update(self, data: bytes) -> bytes:
        """Process more input; return the output that is ready (possibly none)."""
        context = self._take()
        fed = self._fed + len(data)
        if self._counter_blocks_left is not None and _blocks(fed) > self._counter_blocks_left:
            raise DataLenRange("data would wrap the CTR counter")
        self._fed = fed
        if self._padder is not None:
            return context.update(self._padder.update(data))
        output = context.update(data)
        if self._unpadder is not None:
            return self._unpadder.update(output)
        return output

    def finalize(self) -> bytes:
        """Return the remaining output; raise for a partial block or bad padding."""
        context = self._take()
        self._context = None
        if self._padder is not None:
            return context.update(self._padder.finalize()) + context.finalize()
        try:
            output = context.finalize()
        except ValueError:
            # SP 800-38A §6.1-§6.2: ECB and CBC take whole blocks only.
            raise DataLenRange("data is not a multiple of the AES block size") from None
        if self._unpadder is None:
            return output
        if self._fed == 0:
            raise DataLenRange("padded ciphertext must be at least one block")
        try:
            return self._unpadder.update(output) + self._unpadder.finalize()
        except ValueError:
            raise IntegrityError(_DECRYPT_FAILED) from None

    def __repr__(self) -> str:
        state = "finalized" if self._context is None else "open"
        return f"AESStream({self._mode}, key=<redacted>, {state})"


def aes_stream(
    mode: AESStreamMode,
    key: bytes,
    *,
    encrypt: bool,
    iv: bytes | None = None,
    counter_bits: int = 128,
) -> AESStream:
    """A multi-part AES operation; ``iv`` is the CBC IV, the CTR counter block, None for ECB.

    ``counter_bits`` (CTR only) is the width of the incrementing low-order counter, as in
    PKCS#11 ``CK_AES_CTR_PARAMS.ulCounterBits``.
    """
    return AESStream(mode, key, encrypt=encrypt, iv=iv, counter_bits=counter_bits)


def _one_shot(stream: AESStream, data: bytes) -> bytes:
    return stream.update(data) + stream.finalize()


def aes_ecb_encrypt(key: bytes, data: bytes) -> bytes:
    """AES-ECB encryption (SP 800-38A §6.1); ``data`` must be a multiple of 16 bytes."""
    return _one_shot(AESStream("ECB", key, encrypt=True), data)


def aes_ecb_decrypt(key: bytes, data: bytes) -> bytes:
    """AES-ECB decryption (SP 800-38A §6.1); ``data`` must be a multiple of 16 bytes."""
    return _one_shot(AESStream("ECB", key, encrypt=False), data)


def aes_cbc_encrypt(key: bytes, iv: bytes, data: bytes, *, pad: bool) -> bytes:
    """AES-CBC encryption (SP 800-38A §6.2); ``pad`` adds PKCS#7 padding (CKM_AES_CBC_PAD).

    Without padding ``data`` must be a multiple of 16 bytes (else `DataLenRange`).
    """
    return _one_shot(AESStream("CBC_PAD" if pad else "CBC", key, encrypt=True, iv=iv), data)


def aes_cbc_decrypt(key: bytes, iv: bytes, data: bytes, *, pad: bool) -> bytes:
    """AES-CBC decryption (SP 800-38A §6.2); ``pad`` checks and strips PKCS#7 padding.

    Ciphertext that is not whole blocks (or, with padding, is empty) is `DataLenRange`; bad
    padding is `IntegrityError`.
    """
    return _one_shot(AESStream("CBC_PAD" if pad else "CBC", key, encrypt=False, iv=iv), data)


def aes_ctr(key: bytes, counter_block: bytes, data: bytes, *, counter_bits: int = 128) -> bytes:
    """AES-CTR (SP 800-38A §6.5), the same operation for encryption and decryption.

    The low ``counter_bits`` bits of ``counter_block`` count blocks; data needing more blocks
    than they can count from their starting value without wrapping is `DataLenRange`.
    """
    stream = AESStream("CTR", key, encrypt=True, iv=counter_block, counter_bits=counter_bits)
    return _one_shot(stream, data)


# --- GCM (SP 800-38D) ----------------------------------------------------------------------------


def _check_gcm_iv(iv: bytes) -> None:
    # SP 800-38D §5.2.1.1: a 96-bit IV is the recommended (and here the only) length.
    if len(iv) != GCM_IV_SIZE:
        raise ArgumentsBad(f"GCM IV must be {GCM_IV_SIZE} bytes, not {len(iv)}")


class GCMEncryptStream:
    """Multi-part AES-GCM encryption (SP 800-38D §7.1) with a 96-bit IV and 128-bit tag.

    The concatenated output of every ``update`` and ``finalize`` is ciphertext || tag, exactly
    what one-shot `strongroom.crypto.aead.AESGCM.encrypt` returns for the same input.
    """

    __slots__ = ("_context",)

    def __init__(self, key: bytes, iv: bytes, aad: bytes = b"") -> None:
        algorithm = _aes(key)
        _check_gcm_iv(iv)
        context = Cipher(algorithm, _pyca_modes.GCM(iv)).encryptor()
        if aad:
            context.authenticate_additional_data(aad)
        self._context: AEADEncryptionContext | None = context

    def _take(self) -> AEADEncryptionContext:
        if self._context is None:
            raise ArgumentsBad("GCM stream already finalized")
        return self._context

    def update(self, data: bytes) -> bytes:
        """Encrypt more plaintext; return its ciphertext."""
        context = self._take()
        try:
            return context.update(data)
        except ValueError:
            # SP 800-38D §5.2.1.1: at most 2^39 - 256 bits of plaintext per invocation.
            raise DataLenRange("plaintext too long for one GCM invocation") from None

    def finalize(self) -> bytes:
        """Return any remaining ciphertext followed by the 16-byte tag; the stream is spent."""
        context = self._take()
        self._context = None
        return context.finalize() + context.tag

    def __repr__(self) -> str:
        state = "finalized" if self._context is None else "open"
        return f"GCMEncryptStream(key=<redacted>, {state})"


class GCMDecryptStream:
    """Multi-part AES-GCM decryption (SP 800-38D §7.2) that releases nothing unverified.

    Input is ciphertext || 16-byte tag, split anyhow across ``update`` calls. ``update``
    always returns ``b""``: plaintext is decrypted as it arrives but held until ``finalize``
    has checked the tag (the last 16 bytes fed), and only then returned, all at once. Any
    failure, including fewer than 16 bytes in all, is the one uniform `IntegrityError`. It is
    built on pyca's streaming GCM, so it has no one-shot size cap beyond GCM's own.
    """

    __slots__ = ("_context", "_parts", "_tail")

    def __init__(self, key: bytes, iv: bytes, aad: bytes = b"") -> None:
        algorithm = _aes(key)
        _check_gcm_iv(iv)
        context = Cipher(algorithm, _pyca_modes.GCM(iv)).decryptor()
        if aad:
            context.authenticate_additional_data(aad)
        self._context: AEADDecryptionContext | None = context
        # Plaintext decrypted so far, held back until the tag checks; joined once at the end.
        self._parts: list[bytes] = []
        # The last 16 bytes fed so far: they may be the tag, so are not decrypted yet.
        self._tail = b""

    def _take(self) -> AEADDecryptionContext:
        if self._context is None:
            raise ArgumentsBad("GCM stream already finalized")
        return self._context

    def _fail(self) -> IntegrityError:
        self._context = None
        self._parts.clear()
        self._tail = b""
        return IntegrityError("authenticated decryption failed")

    def update(self, data: bytes) -> bytes:
        """Take more ciphertext (or tag); always return ``b""``."""
        context = self._take()
        try:
            if len(data) >= GCM_TAG_SIZE:
                # Everything held back so far, and all of ``data`` but its last 16 bytes.
                if self._tail:
                    self._parts.append(context.update(self._tail))
                self._parts.append(context.update(memoryview(data)[:-GCM_TAG_SIZE]))
                self._tail = bytes(data[-GCM_TAG_SIZE:])
                return b""
            pending = self._tail + data
            cut = len(pending) - GCM_TAG_SIZE
            if cut > 0:
                self._parts.append(context.update(pending[:cut]))
                pending = pending[cut:]
            self._tail = pending
        except ValueError:
            raise self._fail() from None
        return b""

    def finalize(self) -> bytes:
        """Check the tag and return the whole plaintext; any failure is `IntegrityError`."""
        context = self._take()
        if len(self._tail) < GCM_TAG_SIZE:
            raise self._fail()
        try:
            context.finalize_with_tag(self._tail)
        except (InvalidTag, ValueError):
            raise self._fail() from None
        self._context = None
        plaintext = b"".join(self._parts)
        self._parts.clear()
        return plaintext

    def __repr__(self) -> str:
        state = "finalized" if self._context is None else "open"
        return f"GCMDecryptStream(key=<redacted>, {state})"


# --- CMAC (SP 800-38B) ---------------------------------------------------------------------------


def aes_cmac_sign(key: bytes, data: bytes) -> bytes:
    """Full-length (16-byte) AES-CMAC tag of ``data`` (SP 800-38B §6.2)."""
    context = cmac.CMAC(_aes(key))
    context.update(data)
    return context.finalize()


def aes_cmac_verify(key: bytes, data: bytes, tag: bytes) -> None:
    """Check a full-length AES-CMAC tag in constant time (SP 800-38B §6.3).

    A wrong or truncated tag raises `SignatureInvalid`.
    """
    stream = CMACStream(key)
    stream.update(data)
    stream.verify(tag)


class CMACStream(MACStream):
    """A multi-part AES-CMAC (SP 800-38B §6): ``update``, then one ``finalize`` or ``verify``."""

    __slots__ = ()

    def __init__(self, key: bytes) -> None:
        super().__init__(cmac.CMAC(_aes(key)), "CMAC")
