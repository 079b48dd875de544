"""The SDK's whole surface against a live node: users, keys, crypto, streams, errors, threads.

Every call goes through ``HSMClient`` over TLS to the shared node process. Results are
checked against pyca/cryptography wherever the HSM's output can be checked outside it
(signatures with the exported public key, ECDH with the peer's half, RSA-OAEP from the
outside in, digests with hashlib). Keys are session keys (they die with the connection)
unless a test needs another user or connection to see them; token keys get unique labels
and are destroyed by the test that made them.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF

from strongroom.client import (
    ECDH1DeriveParams,
    GCMParams,
    HSMClient,
    Key,
    OAEPParams,
    PSSParams,
)
from strongroom.constants import Attribute, KeyType, Mechanism, ObjectClass, Role
from strongroom.crypto import ec_params_for_curve
from strongroom.errors import (
    AttributeSensitive,
    AuthenticationFailed,
    IntegrityError,
    KeyTypeInconsistent,
    NotKeyOwner,
    NotLoggedIn,
    ObjectHandleInvalid,
    PermissionDenied,
    SignatureInvalid,
    UserNotFound,
)

from .cluster import ALICE, Authority, NodeProcess, User

A = Attribute
M = Mechanism
MESSAGE = b"strongroom over the network"
CHUNKS = [b"strong", b"room ", b"", b"over the ", b"network"]
IV = bytes(range(12))


@dataclass
class KeyPair:
    """A key pair on the HSM and the public key as pyca sees it."""

    public: Key
    private: Key
    pyca_public: object


@dataclass
class Keyring:
    """alice's session keys of every kind, on one connection for the whole module."""

    client: HSMClient
    aes: Key
    hmac: Key
    ec: KeyPair
    rsa: KeyPair
    ed25519: KeyPair


def _pair(
    client: HSMClient,
    mechanism: int,
    public: dict[A, object],
    private: dict[A, object] | None = None,
) -> KeyPair:
    pub, priv = client.generate_key_pair(mechanism, public, private or {})
    return KeyPair(pub, priv, serialization.load_der_public_key(pub.public_key_der()))


@pytest.fixture(scope="module")
def keyring(authority: Authority, node: NodeProcess) -> Iterator[Keyring]:
    """One client (alice) with an AES-256, an HMAC, a P-256, an RSA-2048 and an Ed25519 key."""
    with authority.client([node.address], ALICE) as client:
        yield Keyring(
            client=client,
            aes=client.generate_aes_key(256),
            hmac=client.generate_key(M.GENERIC_SECRET_KEY_GEN, {A.VALUE_LEN: 32}),
            ec=_pair(
                client,
                M.EC_KEY_PAIR_GEN,
                {A.EC_PARAMS: ec_params_for_curve("secp256r1")},
                {A.DERIVE: True},
            ),
            rsa=_pair(client, M.RSA_PKCS_KEY_PAIR_GEN, {A.MODULUS_BITS: 2048}),
            ed25519=_pair(
                client, M.EC_EDWARDS_KEY_PAIR_GEN, {A.EC_PARAMS: ec_params_for_curve("ed25519")}
            ),
        )


def ecdsa_der(raw: bytes) -> bytes:
    """PKCS#11's r || s as the DER pyca verifies."""
    half = len(raw) // 2
    r, s = int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
    return encode_dss_signature(r, s)


# --- users ---------------------------------------------------------------------------------


def test_user_lifecycle(
    authority: Authority, node: NodeProcess, admin: HSMClient, unique: str
) -> None:
    """Admins create, list, re-password and delete users; each change takes effect at once."""
    user = User(f"carol_{unique}", "carol-password-1")
    admin.create_user(user.name, user.password, Role.CRYPTO_USER)
    listed = {u["username"]: u for u in admin.list_users()}
    assert listed[user.name]["role"] == "crypto-user"
    assert listed[user.name]["locked"] is False
    with authority.client([node.address], user) as carol:
        assert carol.role is Role.CRYPTO_USER
        assert carol.username == user.name
        carol.change_password("carol-password-2")  # her own
        assert len(carol.generate_random(4)) == 4  # still logged in
    with pytest.raises(AuthenticationFailed):
        authority.client([node.address], user)
    admin.change_password("carol-password-3", user.name)  # an admin resets it
    with authority.client([node.address], User(user.name, "carol-password-3")) as carol:
        assert len(carol.generate_random(4)) == 4
    admin.delete_user(user.name)
    assert user.name not in {u["username"] for u in admin.list_users()}
    with pytest.raises(AuthenticationFailed):
        authority.client([node.address], User(user.name, "carol-password-3"))
    with pytest.raises(UserNotFound):
        admin.delete_user(user.name)


def test_crypto_users_cannot_manage_users(alice: HSMClient, unique: str) -> None:
    """Only admins add users; anyone logged in may list them."""
    with pytest.raises(PermissionDenied):
        alice.create_user(f"dave_{unique}", "dave-password-1", Role.CRYPTO_USER)
    assert {"admin", "alice", "bob"} <= {u["username"] for u in alice.list_users()}


def test_failed_logins_are_counted(
    authority: Authority, node: NodeProcess, admin: HSMClient, unique: str
) -> None:
    """A wrong password is AUTHENTICATION_FAILED and counts against the user."""
    user = User(f"erin_{unique}", "erin-password-1")
    admin.create_user(user.name, user.password, Role.CRYPTO_USER)
    try:
        with pytest.raises(AuthenticationFailed) as caught:
            authority.client([node.address], User(user.name, "wrong-password"))
        assert caught.value.code == "PIN_INCORRECT"
        listed = {u["username"]: u for u in admin.list_users()}
        assert listed[user.name]["failed_logins"] == 1
    finally:
        admin.delete_user(user.name)


# --- keys ------------------------------------------------------------------------------------

GENERATED: list[tuple[str, int, KeyType]] = [
    ("aes-128", M.AES_KEY_GEN, KeyType.AES),
    ("aes-256", M.AES_KEY_GEN, KeyType.AES),
    ("ec-p256", M.EC_KEY_PAIR_GEN, KeyType.EC),
    ("ec-p384", M.EC_KEY_PAIR_GEN, KeyType.EC),
    ("rsa-2048", M.RSA_PKCS_KEY_PAIR_GEN, KeyType.RSA),
    ("ed25519", M.EC_EDWARDS_KEY_PAIR_GEN, KeyType.EC_EDWARDS),
]


def _generate(client: HSMClient, kind: str, label: str) -> list[Key]:
    common = {A.TOKEN: True, A.LABEL: label}
    if kind.startswith("aes"):
        return [client.generate_aes_key(int(kind[4:]), token=True, label=label)]
    public: dict[A, object] = dict(common)
    if kind == "ec-p256":
        public[A.EC_PARAMS] = ec_params_for_curve("secp256r1")
        mechanism = M.EC_KEY_PAIR_GEN
    elif kind == "ec-p384":
        public[A.EC_PARAMS] = ec_params_for_curve("secp384r1")
        mechanism = M.EC_KEY_PAIR_GEN
    elif kind == "rsa-2048":
        public[A.MODULUS_BITS] = 2048
        mechanism = M.RSA_PKCS_KEY_PAIR_GEN
    else:
        public[A.EC_PARAMS] = ec_params_for_curve("ed25519")
        mechanism = M.EC_EDWARDS_KEY_PAIR_GEN
    return list(client.generate_key_pair(mechanism, public, common))


@pytest.mark.parametrize(
    ("kind", "mechanism", "key_type"), GENERATED, ids=[g[0] for g in GENERATED]
)
def test_generate_find_rename_destroy(
    alice: HSMClient, unique: str, kind: str, mechanism: int, key_type: KeyType
) -> None:
    """Generated token keys are found by label, renamed, and gone once destroyed."""
    label = f"{kind}-{unique}"
    keys = _generate(alice, kind, label)
    found = alice.find(label=label)
    assert {k.handle for k in found} == {k.handle for k in keys}
    for key in keys:
        values = key.get_attributes([A.KEY_TYPE, A.TOKEN, A.LABEL, A.CLASS])
        assert values[A.KEY_TYPE] == key_type
        assert values[A.TOKEN] is True
        assert values[A.LABEL] == label
    classes = {key.get(A.CLASS) for key in keys}
    expected = (
        {ObjectClass.SECRET_KEY}
        if len(keys) == 1
        else {ObjectClass.PUBLIC_KEY, ObjectClass.PRIVATE_KEY}
    )
    assert classes == expected
    if key_type is KeyType.AES:
        assert keys[0].get(A.VALUE_LEN) == int(kind[4:]) // 8
    renamed = f"renamed-{label}"
    keys[-1].set_attributes({A.LABEL: renamed})
    assert keys[-1].label == renamed
    assert alice.find_one(label=renamed) == keys[-1]
    for key in keys:
        key.destroy()
    assert alice.find(label=label) == []
    assert alice.find(label=renamed) == []
    with pytest.raises(ObjectHandleInvalid):
        keys[0].get_attributes([A.LABEL])


def test_key_material_never_leaves(keyring: Keyring) -> None:
    """A secret's VALUE is sensitive; a public key's material is readable."""
    with pytest.raises(AttributeSensitive):
        keyring.aes.get(A.VALUE)
    with pytest.raises(AttributeSensitive):
        keyring.ec.private.get(A.VALUE)
    point = keyring.ec.public.get(A.EC_POINT)
    assert isinstance(point, bytes)
    assert point[2:] == keyring.ec.pyca_public.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def test_share_lets_another_user_use_but_not_manage(
    alice: HSMClient, bob: HSMClient, unique: str
) -> None:
    """A shared key is usable by the other crypto user, who may not destroy or change it."""
    label = f"shared-{unique}"
    key = alice.generate_aes_key(256, token=True, label=label)
    try:
        assert bob.find(label=label) == []
        with pytest.raises(ObjectHandleInvalid):
            bob.key(key.handle).encrypt(M.AES_GCM, MESSAGE, GCMParams())
        key.share("bob")
        theirs = bob.find_one(label=label)
        sealed = theirs.encrypt(M.AES_GCM, MESSAGE, GCMParams())
        assert key.decrypt(M.AES_GCM, sealed, GCMParams()) == MESSAGE
        with pytest.raises(NotKeyOwner):
            theirs.destroy()
        with pytest.raises(NotKeyOwner):
            theirs.set_attributes({A.LABEL: "hijacked"})
        with pytest.raises(NotKeyOwner):
            theirs.share("alice")
        key.unshare("bob")
        assert bob.find(label=label) == []
        with pytest.raises(ObjectHandleInvalid):
            theirs.encrypt(M.AES_GCM, MESSAGE, GCMParams())
    finally:
        key.destroy()


# --- crypto ------------------------------------------------------------------------------------


def test_ecdsa(keyring: Keyring) -> None:
    """ECDSA P-256 signatures verify on the HSM and with pyca; a tampered one does not."""
    signature = keyring.ec.private.sign(M.ECDSA_SHA256, MESSAGE)
    keyring.ec.public.verify(M.ECDSA_SHA256, MESSAGE, signature)
    public: ec.EllipticCurvePublicKey = keyring.ec.pyca_public  # type: ignore[assignment]
    public.verify(ecdsa_der(signature), MESSAGE, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(SignatureInvalid):
        keyring.ec.public.verify(M.ECDSA_SHA256, MESSAGE + b"!", signature)


def test_rsa_pss(keyring: Keyring) -> None:
    """RSA-PSS (SHA-256, PSSParams) signatures verify on the HSM and with pyca."""
    params = PSSParams("SHA256", 32)
    signature = keyring.rsa.private.sign(M.SHA256_RSA_PKCS_PSS, MESSAGE, params)
    keyring.rsa.public.verify(M.SHA256_RSA_PKCS_PSS, MESSAGE, signature, params)
    public: rsa.RSAPublicKey = keyring.rsa.pyca_public  # type: ignore[assignment]
    pss = padding.PSS(padding.MGF1(hashes.SHA256()), 32)
    public.verify(signature, MESSAGE, pss, hashes.SHA256())
    tampered = bytes([signature[0] ^ 1]) + signature[1:]
    with pytest.raises(SignatureInvalid):
        keyring.rsa.public.verify(M.SHA256_RSA_PKCS_PSS, MESSAGE, tampered, params)


def test_ed25519(keyring: Keyring) -> None:
    """Ed25519 signatures are deterministic and verify on the HSM and with pyca."""
    signature = keyring.ed25519.private.sign(M.EDDSA, MESSAGE)
    assert keyring.ed25519.private.sign(M.EDDSA, MESSAGE) == signature
    keyring.ed25519.public.verify(M.EDDSA, MESSAGE, signature)
    public: ed25519.Ed25519PublicKey = keyring.ed25519.pyca_public  # type: ignore[assignment]
    public.verify(signature, MESSAGE)
    with pytest.raises(SignatureInvalid):
        keyring.ed25519.public.verify(M.EDDSA, b"another message", signature)


def test_hmac(keyring: Keyring) -> None:
    """HMAC-SHA256 tags verify; a wrong tag is SIGNATURE_INVALID."""
    tag = keyring.hmac.sign(M.SHA256_HMAC, MESSAGE)
    assert len(tag) == 32
    keyring.hmac.verify(M.SHA256_HMAC, MESSAGE, tag)
    with pytest.raises(SignatureInvalid) as caught:
        keyring.hmac.verify(M.SHA256_HMAC, MESSAGE, bytes(32))
    assert caught.value.code == "SIGNATURE_INVALID"


def test_aes_gcm(keyring: Keyring) -> None:
    """AES-GCM round-trips with an HSM IV and a caller IV; any tampering is INTEGRITY."""
    sealed = keyring.aes.encrypt(M.AES_GCM, MESSAGE, GCMParams(aad=b"header"))
    assert len(sealed) == 12 + len(MESSAGE) + 16
    assert keyring.aes.decrypt(M.AES_GCM, sealed, GCMParams(aad=b"header")) == MESSAGE
    with pytest.raises(IntegrityError):
        keyring.aes.decrypt(M.AES_GCM, sealed, GCMParams(aad=b"other"))
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(IntegrityError) as caught:
        keyring.aes.decrypt(M.AES_GCM, tampered, GCMParams(aad=b"header"))
    assert caught.value.code == "ENCRYPTED_DATA_INVALID"
    fixed = keyring.aes.encrypt(M.AES_GCM, MESSAGE, GCMParams(IV))
    assert len(fixed) == len(MESSAGE) + 16
    assert keyring.aes.decrypt(M.AES_GCM, fixed, GCMParams(IV)) == MESSAGE


def test_aes_cbc_pad(keyring: Keyring) -> None:
    """AES-CBC-PAD (16-byte IV parameter) pads to whole blocks and round-trips."""
    iv = os.urandom(16)
    for size in (0, 1, 15, 16, 17, 1000):
        data = os.urandom(size)
        sealed = keyring.aes.encrypt(M.AES_CBC_PAD, data, iv)
        assert len(sealed) == (size // 16 + 1) * 16
        assert keyring.aes.decrypt(M.AES_CBC_PAD, sealed, iv) == data


def test_rsa_oaep(keyring: Keyring) -> None:
    """RSA-OAEP: the HSM decrypts what it, and what pyca, encrypted to its public key."""
    params = OAEPParams("SHA256", label=b"ctx")
    sealed = keyring.rsa.public.encrypt(M.RSA_PKCS_OAEP, MESSAGE, params)
    assert keyring.rsa.private.decrypt(M.RSA_PKCS_OAEP, sealed, params) == MESSAGE
    public: rsa.RSAPublicKey = keyring.rsa.pyca_public  # type: ignore[assignment]
    outside = public.encrypt(
        MESSAGE, padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), b"ctx")
    )
    assert keyring.rsa.private.decrypt(M.RSA_PKCS_OAEP, outside, params) == MESSAGE
    with pytest.raises(IntegrityError):
        keyring.rsa.private.decrypt(M.RSA_PKCS_OAEP, outside, OAEPParams("SHA256", label=b"x"))


def test_aes_key_wrap_with_padding(keyring: Keyring) -> None:
    """AES-KWP wraps a key out and unwraps it back in as a key that works the same."""
    client = keyring.client
    target = client.generate_aes_key(128)
    wrapped = keyring.aes.wrap_key(M.AES_KEY_WRAP_KWP, target)
    assert len(wrapped) == 16 + 8
    template = {A.CLASS: ObjectClass.SECRET_KEY, A.KEY_TYPE: KeyType.AES}
    copy = keyring.aes.unwrap_key(M.AES_KEY_WRAP_KWP, wrapped, template)
    assert copy.handle != target.handle
    sealed = target.encrypt(M.AES_GCM, MESSAGE, GCMParams())
    assert copy.decrypt(M.AES_GCM, sealed, GCMParams()) == MESSAGE
    with pytest.raises(IntegrityError):
        keyring.aes.unwrap_key(
            M.AES_KEY_WRAP_KWP, wrapped[:-1] + bytes([wrapped[-1] ^ 1]), template
        )


def test_ecdh_derive(keyring: Keyring) -> None:
    """ECDH with an outside peer derives the AES key the peer derives with pyca."""
    peer = ec.generate_private_key(ec.SECP256R1())
    peer_point = peer.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    template = {A.CLASS: ObjectClass.SECRET_KEY, A.KEY_TYPE: KeyType.AES, A.VALUE_LEN: 32}
    params = ECDH1DeriveParams(peer_point, "SHA256", b"shared info")
    derived = keyring.ec.private.derive_key(M.ECDH1_DERIVE, template, params)
    sealed = derived.encrypt(M.AES_GCM, MESSAGE, GCMParams(IV, b"aad"))
    ours: ec.EllipticCurvePublicKey = keyring.ec.pyca_public  # type: ignore[assignment]
    secret = peer.exchange(ec.ECDH(), ours)
    value = X963KDF(hashes.SHA256(), 32, sharedinfo=b"shared info").derive(secret)
    assert AESGCM(value).decrypt(IV, sealed, b"aad") == MESSAGE


@pytest.mark.parametrize("name", ["SHA256", "SHA384", "SHA512", "SHA3_256"])
def test_digest(alice: HSMClient, name: str) -> None:
    """Digests match hashlib, single-part and streamed."""
    expected = hashlib.new(name.lower().replace("_", "-"), MESSAGE).digest()
    assert alice.digest(Mechanism[name], MESSAGE) == expected
    assert alice.digest(Mechanism[name], iter(CHUNKS)) == expected


def test_random(alice: HSMClient) -> None:
    """Random bytes come in the length asked for and do not repeat."""
    samples = [alice.generate_random(32) for _ in range(8)]
    assert all(len(s) == 32 for s in samples)
    assert len(set(samples)) == 8
    assert len(alice.generate_random(1024 * 1024)) == 1024 * 1024


# --- multi-part streams ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def token_keys(
    authority: Authority, node: NodeProcess
) -> Iterator[tuple[HSMClient, Key, Key, KeyPair]]:
    """alice's token AES, HMAC and P-256 keys (streams run in a session of their own)."""
    with authority.client([node.address], ALICE) as client:
        label = f"stream-{os.urandom(5).hex()}"
        token = {A.TOKEN: True, A.LABEL: label}
        aes = client.generate_aes_key(256, token=True, label=label)
        hmac = client.generate_key(M.GENERIC_SECRET_KEY_GEN, {A.VALUE_LEN: 32, **token})
        public, private = client.generate_key_pair(
            M.EC_KEY_PAIR_GEN, {A.EC_PARAMS: ec_params_for_curve("secp256r1"), **token}, token
        )
        pair = KeyPair(public, private, serialization.load_der_public_key(public.public_key_der()))
        yield client, aes, hmac, pair
        for key in client.find(label=label):
            key.destroy()


def test_streamed_signatures_match_single_part(
    token_keys: tuple[HSMClient, Key, Key, KeyPair],
) -> None:
    """Signing chunks equals signing their concatenation; streamed verify agrees."""
    _client, _aes, hmac, pair = token_keys
    whole = b"".join(CHUNKS)
    assert hmac.sign(M.SHA256_HMAC, iter(CHUNKS)) == hmac.sign(M.SHA256_HMAC, whole)
    hmac.verify(M.SHA256_HMAC, iter(CHUNKS), hmac.sign(M.SHA256_HMAC, whole))
    signature = pair.private.sign(M.ECDSA_SHA256, iter(CHUNKS))
    pair.public.verify(M.ECDSA_SHA256, whole, signature)
    pair.public.verify(M.ECDSA_SHA256, iter(CHUNKS), signature)
    with pytest.raises(SignatureInvalid):
        pair.public.verify(M.ECDSA_SHA256, iter([*CHUNKS, b"!"]), signature)


def test_encrypt_stream_matches_single_part(
    token_keys: tuple[HSMClient, Key, Key, KeyPair],
) -> None:
    """encrypt_stream yields what single-part encryption returns, and decrypts back."""
    _client, aes, _hmac, _pair = token_keys
    chunks = [os.urandom(n) for n in (1, 15, 16, 17, 4096, 0, 33)]
    whole = b"".join(chunks)
    iv = os.urandom(16)
    streamed = b"".join(aes.encrypt_stream(M.AES_CBC_PAD, iter(chunks), iv))
    assert streamed == aes.encrypt(M.AES_CBC_PAD, whole, iv)
    pieces = [streamed[i : i + 100] for i in range(0, len(streamed), 100)]
    assert b"".join(aes.decrypt_stream(M.AES_CBC_PAD, iter(pieces), iv)) == whole
    gcm = GCMParams(IV, b"aad")
    sealed = b"".join(aes.encrypt_stream(M.AES_GCM, iter(chunks), gcm))
    assert sealed == aes.encrypt(M.AES_GCM, whole, gcm)
    assert aes.decrypt(M.AES_GCM, iter([sealed[:10], sealed[10:]]), gcm) == whole


def test_streams_work_with_session_keys(keyring: Keyring) -> None:
    """A session key streams like a token key does (the stream's sibling session sees it)."""
    signature = keyring.ec.private.sign(M.ECDSA_SHA256, iter(CHUNKS))
    keyring.ec.public.verify(M.ECDSA_SHA256, b"".join(CHUNKS), signature)
    mac = keyring.hmac.sign(M.SHA256_HMAC, iter(CHUNKS))
    assert mac == keyring.hmac.sign(M.SHA256_HMAC, b"".join(CHUNKS))


def test_large_single_part_encrypt(keyring: Keyring) -> None:
    """8 MiB goes through in one request each way."""
    data = os.urandom(8 * 1024 * 1024)
    sealed = keyring.aes.encrypt(M.AES_GCM, data, GCMParams())
    assert len(sealed) == len(data) + 12 + 16
    assert keyring.aes.decrypt(M.AES_GCM, sealed, GCMParams()) == data


# --- errors ---------------------------------------------------------------------------------


def test_admin_may_not_use_keys(keyring: Keyring, admin: HSMClient) -> None:
    """The admin finds keys but cannot use them: PERMISSION_DENIED."""
    key = admin.key(keyring.aes.handle)
    with pytest.raises(PermissionDenied) as caught:
        key.encrypt(M.AES_GCM, MESSAGE, GCMParams())
    assert caught.value.code == "PERMISSION_DENIED"
    with pytest.raises(PermissionDenied):
        admin.generate_random(8)
    with pytest.raises(PermissionDenied):
        admin.generate_aes_key(128)


def test_not_logged_in(authority: Authority, node: NodeProcess, keyring: Keyring) -> None:
    """Without a login, key operations are USER_NOT_LOGGED_IN; basic info still answers."""
    with authority.client([node.address]) as anonymous:
        assert anonymous.info()["activated"] is True
        assert anonymous.username is None
        with pytest.raises(NotLoggedIn):
            anonymous.generate_random(8)
        with pytest.raises(NotLoggedIn):
            anonymous.key(keyring.aes.handle).encrypt(M.AES_GCM, MESSAGE, GCMParams())


def test_logout(authority: Authority, node: NodeProcess) -> None:
    """After logout, the client's next calls are USER_NOT_LOGGED_IN."""
    with authority.client([node.address], ALICE) as client:
        assert len(client.generate_random(4)) == 4
        client.logout()
        assert client.role is None
        with pytest.raises(NotLoggedIn):
            client.generate_random(4)


def test_errors_keep_their_class_and_code(keyring: Keyring) -> None:
    """A server-side error arrives as the same class with the same stable code."""
    with pytest.raises(ObjectHandleInvalid) as caught:
        keyring.client.key(2**40 - 7).sign(M.SHA256_HMAC, MESSAGE)
    assert caught.value.code == "OBJECT_HANDLE_INVALID"
    with pytest.raises(KeyTypeInconsistent) as wrong_mechanism:
        keyring.hmac.encrypt(M.AES_GCM, MESSAGE, GCMParams())
    assert wrong_mechanism.value.code == "KEY_TYPE_INCONSISTENT"


# --- threads --------------------------------------------------------------------------------


def test_32_threads_share_one_client(keyring: Keyring) -> None:
    """32 threads signing and verifying at once through one client all succeed."""
    rounds = 25
    failures: list[BaseException] = []
    barrier = threading.Barrier(32)

    def work(index: int) -> None:
        try:
            barrier.wait()
            for n in range(rounds):
                data = f"thread {index} round {n}".encode()
                signature = keyring.ec.private.sign(M.ECDSA_SHA256, data)
                keyring.ec.public.verify(M.ECDSA_SHA256, data, signature)
                tag = keyring.hmac.sign(M.SHA256_HMAC, data)
                keyring.hmac.verify(M.SHA256_HMAC, data, tag)
        except BaseException as exc:  # collected, then reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
