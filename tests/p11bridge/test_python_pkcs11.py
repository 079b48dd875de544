# python-pkcs11 adds sign/verify/encrypt… to key objects at run time (mixins its stubs omit)
# mypy: disable-error-code="attr-defined"
"""python-pkcs11 drives p11-kit-client.so against the bridge: one application's scenario.

Key generation, sign/verify, encrypt/decrypt (what p11-kit 0.24 forwards), digests and HMAC
(single- and multi-part), attributes with per-attribute errors, find, sessions, and the
errors an application sees for a wrong PIN or a sensitive attribute.
"""

from __future__ import annotations

import hashlib
import os

import pkcs11
import pytest
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.exceptions import AttributeSensitive, PinIncorrect
from pkcs11.util.ec import encode_named_curve_parameters

from .conftest import MODULE, Bridge

pytestmark = [pytest.mark.xdist_group("pkcs11-python"), pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def token(bridge: Bridge) -> pkcs11.Token:
    os.environ["P11_KIT_SERVER_ADDRESS"] = bridge.address  # read when the module loads
    lib = pkcs11.lib(MODULE)
    return lib.get_token(token_label="strongroom")


def test_token_and_slot(token: pkcs11.Token) -> None:
    assert token.label == "strongroom"
    assert token.manufacturer_id == "Strongroom"
    assert token.slot.slot_description.startswith("Strongroom cluster")


def test_wrong_pin_raises_pin_incorrect(token: pkcs11.Token) -> None:
    with pytest.raises(PinIncorrect):
        token.open(user_pin="demo_user:not-the-password")


def test_rsa_sign_verify_encrypt_decrypt(token: pkcs11.Token, bridge: Bridge) -> None:
    with token.open(user_pin=bridge.pin, rw=True) as session:
        public, private = session.generate_keypair(KeyType.RSA, 2048, label="py-rsa")
        data = b"python-pkcs11 through p11-kit"
        signature = private.sign(data, mechanism=Mechanism.SHA256_RSA_PKCS)
        assert len(signature) == 256
        assert public.verify(data, signature, mechanism=Mechanism.SHA256_RSA_PKCS)
        assert not public.verify(data + b"!", signature, mechanism=Mechanism.SHA256_RSA_PKCS)
        chunks = [data[:7], data[7:19], data[19:]]
        assert private.sign(iter(chunks), mechanism=Mechanism.SHA256_RSA_PKCS) == signature
        assert public.verify(iter(chunks), signature, mechanism=Mechanism.SHA256_RSA_PKCS)
        params = (Mechanism.SHA256, pkcs11.MGF.SHA256, None)
        ciphertext = public.encrypt(
            b"secret", mechanism=Mechanism.RSA_PKCS_OAEP, mechanism_param=params
        )
        plaintext = private.decrypt(
            ciphertext, mechanism=Mechanism.RSA_PKCS_OAEP, mechanism_param=params
        )
        assert plaintext == b"secret"
        assert public[Attribute.MODULUS_BITS] == 2048
        assert private[Attribute.LABEL] == "py-rsa"
        with pytest.raises(AttributeSensitive):
            private[Attribute.PRIVATE_EXPONENT]


def test_ec_keys_and_raw_ecdsa(token: pkcs11.Token, bridge: Bridge) -> None:
    with token.open(user_pin=bridge.pin, rw=True) as session:
        parameters = session.create_domain_parameters(
            KeyType.EC,
            {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
            local=True,
        )
        public, private = parameters.generate_keypair(label="py-ec")
        digest = hashlib.sha256(b"message").digest()
        signature = private.sign(digest, mechanism=Mechanism.ECDSA)
        assert len(signature) == 64
        assert public.verify(digest, signature, mechanism=Mechanism.ECDSA)
        assert not public.verify(digest, bytes(64), mechanism=Mechanism.ECDSA)
        assert public[Attribute.EC_POINT][:1] == b"\x04"


def test_symmetric_keys_digests_hmac_and_random(token: pkcs11.Token, bridge: Bridge) -> None:
    with token.open(user_pin=bridge.pin, rw=True) as session:
        aes = session.generate_key(KeyType.AES, 256, label="py-aes")
        block = bytes(range(32))
        ciphertext = aes.encrypt(block, mechanism=Mechanism.AES_ECB)
        assert len(ciphertext) == 32
        assert aes.decrypt(ciphertext, mechanism=Mechanism.AES_ECB) == block
        # multi-part ECB: the 10-byte chunk produces no output (protocol 0's empty answer)
        streamed = b"".join(
            aes.encrypt(iter([block[:10], block[10:]]), mechanism=Mechanism.AES_ECB)
        )
        assert streamed == ciphertext
        secret = session.generate_key(
            KeyType.GENERIC_SECRET,
            256,
            label="py-hmac",
            template={Attribute.SIGN: True, Attribute.VERIFY: True},
        )
        tag = secret.sign(b"data", mechanism=Mechanism.SHA256_HMAC)
        assert len(tag) == 32
        assert secret.verify(b"data", tag, mechanism=Mechanism.SHA256_HMAC)
        assert session.digest(b"abc", mechanism=Mechanism.SHA256) == hashlib.sha256(b"abc").digest()
        many = iter([b"a", b"b", b"c"])
        assert session.digest(many, mechanism=Mechanism.SHA512) == hashlib.sha512(b"abc").digest()
        assert len(session.generate_random(256)) == 32


def test_find_sessions_and_session_objects(token: pkcs11.Token, bridge: Bridge) -> None:
    with token.open(user_pin=bridge.pin, rw=True) as session:
        session.generate_key(KeyType.AES, 128, label="py-token", store=True)
        session.generate_key(KeyType.AES, 128, label="py-session", store=False)
        assert session.get_key(label="py-token")[Attribute.TOKEN] is True
        found = list(session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY}))
        labels = {obj[Attribute.LABEL] for obj in found}
        assert {"py-token", "py-session"} <= labels
        key = session.get_key(label="py-token")
        copy = key.copy({Attribute.LABEL: "py-copy"})
        assert copy[Attribute.LABEL] == "py-copy"
        assert copy[Attribute.TOKEN] is True
        block = bytes(16)
        assert copy.encrypt(block, mechanism=Mechanism.AES_ECB) == key.encrypt(
            block, mechanism=Mechanism.AES_ECB
        )
        copy.destroy()
        key[Attribute.LABEL] = "py-token-renamed"
        assert session.get_key(label="py-token-renamed")[Attribute.VALUE_LEN] == 16
    # the session key went with its session; the token key stays
    with token.open(user_pin=bridge.pin) as session:
        labels = {obj[Attribute.LABEL] for obj in session.get_objects()}
        assert "py-token-renamed" in labels
        assert "py-session" not in labels


def test_read_only_session_cannot_make_token_objects(token: pkcs11.Token, bridge: Bridge) -> None:
    with token.open(user_pin=bridge.pin) as session:
        with pytest.raises(pkcs11.exceptions.SessionReadOnly):
            session.generate_key(KeyType.AES, 128, label="py-ro", store=True)
        session.generate_key(KeyType.AES, 128, label="py-ro-session", store=False)
