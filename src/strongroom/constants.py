"""PKCS#11 numbers and Strongroom's own enumerations.

Enum values are the PKCS#11 v2.40 / v3.0 numbers (``CKO_*``, ``CKK_*``, ``CKA_*``,
``CKM_*``) so that every later interface — the wire protocol, the p11-kit bridge — can pass
them through unchanged. This module is a leaf: it imports nothing from the package.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

__all__ = [
    "ARRAY_ATTRIBUTE",
    "Attribute",
    "Command",
    "KeyType",
    "Mechanism",
    "ObjectClass",
    "Role",
]

ARRAY_ATTRIBUTE = 0x40000000
"""CKF_ARRAY_ATTRIBUTE: set on attributes whose value is itself a template."""


class ObjectClass(IntEnum):
    """CKO_*: what kind of object."""

    DATA = 0x0
    """Application data; CKA_VALUE is opaque bytes."""
    CERTIFICATE = 0x1
    """A certificate (X.509 DER in CKA_VALUE)."""
    PUBLIC_KEY = 0x2
    """The public half of a key pair."""
    PRIVATE_KEY = 0x3
    """The private half of a key pair; its material is sealed at rest."""
    SECRET_KEY = 0x4
    """A symmetric key; its material is sealed at rest."""


class KeyType(IntEnum):
    """CKK_*: the algorithm a key belongs to."""

    RSA = 0x0
    """RSA, 2048–4096 bits in steps of 256."""
    EC = 0x3
    """Elliptic curve over a prime field (P-256, P-384, P-521, secp256k1)."""
    GENERIC_SECRET = 0x10
    """A secret of 1–800 bytes, for HMAC and derivation."""
    AES = 0x1F
    """AES, 16, 24 or 32 bytes."""
    EC_EDWARDS = 0x40
    """Edwards curve (Ed25519), PKCS#11 v3.0."""
    ML_DSA = 0x4A
    """ML-DSA (FIPS 204), PKCS#11 v3.2; the variant is CKA_PARAMETER_SET."""


class Attribute(IntEnum):
    """CKA_*: object attributes. The rules for each live in ``model.attributes``."""

    CLASS = 0x0
    """CK_OBJECT_CLASS of the object."""
    TOKEN = 0x1
    """True for a token (persistent) object, false for a session object."""
    PRIVATE = 0x2
    """True if only logged-in users may see the object."""
    LABEL = 0x3
    """Free-form UTF-8 label."""
    APPLICATION = 0x10
    """Data objects: the application that manages the object."""
    VALUE = 0x11
    """Key material (secret keys, EC/EdDSA private scalars) or object contents."""
    OBJECT_ID = 0x12
    """Data objects: DER-encoded OID of the object."""
    CERTIFICATE_TYPE = 0x80
    """Certificates: CKC_* type (0 = X.509)."""
    ISSUER = 0x81
    """Certificates: DER issuer name."""
    SERIAL_NUMBER = 0x82
    """Certificates: DER serial number."""
    TRUSTED = 0x86
    """The key (or certificate) is trusted; only an admin may set it."""
    CERTIFICATE_CATEGORY = 0x87
    """Certificates: 0 unspecified, 1 token user, 2 authority, 3 other entity."""
    JAVA_MIDP_SECURITY_DOMAIN = 0x88
    """X.509 certificates: Java MIDP security domain (0 unspecified … 3 third party)."""
    URL = 0x89
    """X.509 certificates: where the certificate can be fetched (its VALUE may then be empty)."""
    HASH_OF_SUBJECT_PUBLIC_KEY = 0x8A
    """X.509 certificates: hash of the subject's public key (NAME_HASH_ALGORITHM)."""
    HASH_OF_ISSUER_PUBLIC_KEY = 0x8B
    """X.509 certificates: hash of the issuer's public key."""
    NAME_HASH_ALGORITHM = 0x8C
    """X.509 certificates: the mechanism of the two hashes above (default SHA-1)."""
    CHECK_VALUE = 0x90
    """Key check value: first 3 bytes of AES-ECB(key, 0^128) for AES keys."""
    KEY_TYPE = 0x100
    """CK_KEY_TYPE of a key."""
    SUBJECT = 0x101
    """DER subject name."""
    ID = 0x102
    """Key identifier bytes, shared by the halves of a key pair."""
    SENSITIVE = 0x103
    """The key's secret components are never revealed."""
    ENCRYPT = 0x104
    """The key may encrypt."""
    DECRYPT = 0x105
    """The key may decrypt."""
    WRAP = 0x106
    """The key may wrap other keys."""
    UNWRAP = 0x107
    """The key may unwrap other keys."""
    SIGN = 0x108
    """The key may sign or MAC."""
    SIGN_RECOVER = 0x109
    """Sign with recovery (not supported)."""
    VERIFY = 0x10A
    """The key may verify signatures or MACs."""
    VERIFY_RECOVER = 0x10B
    """Verify with recovery (not supported)."""
    DERIVE = 0x10C
    """The key may be used to derive other keys."""
    START_DATE = 0x110
    """Start date (8 ASCII digits, informative)."""
    END_DATE = 0x111
    """End date (8 ASCII digits, informative)."""
    MODULUS = 0x120
    """RSA modulus n, big-endian."""
    MODULUS_BITS = 0x121
    """RSA modulus length in bits."""
    PUBLIC_EXPONENT = 0x122
    """RSA public exponent e, big-endian."""
    PRIVATE_EXPONENT = 0x123
    """RSA private exponent d, big-endian (sensitive)."""
    PRIME_1 = 0x124
    """RSA prime p (sensitive)."""
    PRIME_2 = 0x125
    """RSA prime q (sensitive)."""
    EXPONENT_1 = 0x126
    """RSA d mod (p-1) (sensitive)."""
    EXPONENT_2 = 0x127
    """RSA d mod (q-1) (sensitive)."""
    COEFFICIENT = 0x128
    """RSA q^-1 mod p (sensitive)."""
    VALUE_LEN = 0x161
    """Length of a secret key's value in bytes."""
    EXTRACTABLE = 0x162
    """The key may be wrapped out of the HSM."""
    LOCAL = 0x163
    """The key was generated inside the HSM."""
    NEVER_EXTRACTABLE = 0x164
    """EXTRACTABLE has never been true."""
    ALWAYS_SENSITIVE = 0x165
    """SENSITIVE has always been true."""
    KEY_GEN_MECHANISM = 0x166
    """The mechanism that generated the key, if it was generated here."""
    MODIFIABLE = 0x170
    """The object's attributes may be changed."""
    COPYABLE = 0x171
    """The object may be copied."""
    DESTROYABLE = 0x172
    """The object may be destroyed."""
    EC_PARAMS = 0x180
    """DER-encoded curve OID."""
    EC_POINT = 0x181
    """DER OCTET STRING holding the public point (uncompressed for Weierstrass curves)."""
    PARAMETER_SET = 0x61D
    """Post-quantum parameter set (CKP_ML_DSA_44/65/87 = 1/2/3), PKCS#11 v3.2."""
    WRAP_WITH_TRUSTED = 0x210
    """The key may only be wrapped by a TRUSTED wrapping key; one-way to true."""
    WRAP_TEMPLATE = ARRAY_ATTRIBUTE | 0x211
    """Attributes a key must match to be wrapped by this key."""
    UNWRAP_TEMPLATE = ARRAY_ATTRIBUTE | 0x212
    """Attributes applied to every key unwrapped by this key."""


class Mechanism(IntEnum):
    """CKM_*: the mechanisms the engine knows by number (registration decides what it does)."""

    RSA_PKCS_KEY_PAIR_GEN = 0x0
    """RSA key-pair generation."""
    RSA_PKCS = 0x1
    """RSA PKCS#1 v1.5 encryption, and signatures over caller-built DigestInfo."""
    RSA_X_509 = 0x3
    """Raw RSA (not offered: pyca/cryptography has no raw RSA primitive)."""
    SHA1_RSA_PKCS = 0x6
    """RSA PKCS#1 v1.5 with SHA-1."""
    RSA_PKCS_OAEP = 0x9
    """RSA OAEP."""
    RSA_X9_31_KEY_PAIR_GEN = 0xA
    """RSA key-pair generation per X9.31."""
    RSA_PKCS_PSS = 0xD
    """RSA PSS over a caller-supplied hash."""
    SHA1_RSA_PKCS_PSS = 0xE
    """RSA PSS with SHA-1."""
    ML_DSA_KEY_PAIR_GEN = 0x1C
    """ML-DSA key-pair generation (PKCS#11 v3.2)."""
    ML_DSA = 0x1D
    """Pure ML-DSA signatures (PKCS#11 v3.2)."""
    SHA256_RSA_PKCS = 0x40
    """RSA PKCS#1 v1.5 with SHA-256."""
    SHA384_RSA_PKCS = 0x41
    """RSA PKCS#1 v1.5 with SHA-384."""
    SHA512_RSA_PKCS = 0x42
    """RSA PKCS#1 v1.5 with SHA-512."""
    SHA256_RSA_PKCS_PSS = 0x43
    """RSA PSS with SHA-256."""
    SHA384_RSA_PKCS_PSS = 0x44
    """RSA PSS with SHA-384."""
    SHA512_RSA_PKCS_PSS = 0x45
    """RSA PSS with SHA-512."""
    SHA224_RSA_PKCS = 0x46
    """RSA PKCS#1 v1.5 with SHA-224."""
    SHA224_RSA_PKCS_PSS = 0x47
    """RSA PSS with SHA-224."""
    SHA_1 = 0x220
    """SHA-1 digest."""
    SHA_1_HMAC = 0x221
    """HMAC-SHA-1."""
    SHA256 = 0x250
    """SHA-256 digest."""
    SHA256_HMAC = 0x251
    """HMAC-SHA-256."""
    SHA224 = 0x255
    """SHA-224 digest."""
    SHA224_HMAC = 0x256
    """HMAC-SHA-224."""
    SHA384 = 0x260
    """SHA-384 digest."""
    SHA384_HMAC = 0x261
    """HMAC-SHA-384."""
    SHA512 = 0x270
    """SHA-512 digest."""
    SHA512_HMAC = 0x271
    """HMAC-SHA-512."""
    SHA3_256 = 0x2B0
    """SHA3-256 digest."""
    SHA3_224 = 0x2B5
    """SHA3-224 digest."""
    SHA3_384 = 0x2C0
    """SHA3-384 digest."""
    SHA3_512 = 0x2D0
    """SHA3-512 digest."""
    GENERIC_SECRET_KEY_GEN = 0x350
    """Generic secret generation."""
    SP800_108_COUNTER_KDF = 0x3AC
    """SP 800-108 counter-mode KDF (PKCS#11 v3.0)."""
    EC_KEY_PAIR_GEN = 0x1040
    """EC key-pair generation (curve from CKA_EC_PARAMS)."""
    ECDSA = 0x1041
    """ECDSA over a caller-supplied hash; signature is r||s."""
    ECDSA_SHA1 = 0x1042
    """ECDSA with SHA-1."""
    ECDSA_SHA224 = 0x1043
    """ECDSA with SHA-224."""
    ECDSA_SHA256 = 0x1044
    """ECDSA with SHA-256."""
    ECDSA_SHA384 = 0x1045
    """ECDSA with SHA-384."""
    ECDSA_SHA512 = 0x1046
    """ECDSA with SHA-512."""
    ECDH1_DERIVE = 0x1050
    """ECDH key derivation."""
    RSA_AES_KEY_WRAP = 0x1054
    """RSA-OAEP-wrapped ephemeral AES key, then AES-KWP (PKCS#11 v2.40 §2.1.21)."""
    EC_EDWARDS_KEY_PAIR_GEN = 0x1055
    """Edwards-curve key-pair generation (Ed25519)."""
    EDDSA = 0x1057
    """EdDSA signatures."""
    AES_KEY_GEN = 0x1080
    """AES key generation."""
    AES_ECB = 0x1081
    """AES-ECB."""
    AES_CBC = 0x1082
    """AES-CBC."""
    AES_CBC_PAD = 0x1085
    """AES-CBC with PKCS#7 padding."""
    AES_CTR = 0x1086
    """AES-CTR."""
    AES_GCM = 0x1087
    """AES-GCM (96-bit IV, 128-bit tag)."""
    AES_CMAC = 0x108A
    """AES-CMAC."""
    AES_KEY_WRAP = 0x2109
    """AES key wrap, RFC 3394 / SP 800-38F KW."""
    AES_KEY_WRAP_KWP = 0x210B
    """AES key wrap with padding, RFC 5649 / SP 800-38F KWP (PKCS#11 v3.0)."""
    HKDF_DERIVE = 0x402A
    """HKDF key derivation (PKCS#11 v3.0)."""


class ParameterSet(IntEnum):
    """CKP_*: post-quantum parameter sets (CKA_PARAMETER_SET), PKCS#11 v3.2."""

    ML_DSA_44 = 0x1
    """ML-DSA-44 (FIPS 204, security category 2)."""
    ML_DSA_65 = 0x2
    """ML-DSA-65 (FIPS 204, security category 3)."""
    ML_DSA_87 = 0x3
    """ML-DSA-87 (FIPS 204, security category 5)."""


class Role(StrEnum):
    """HSM user roles, named as CloudHSM CLI names them."""

    UNACTIVATED_ADMIN = "unactivated-admin"
    """PRECO: exists until activation; may only activate and read basic info."""
    ADMIN = "admin"
    """CO: manages users and HSM settings, may set TRUSTED, cannot use keys."""
    CRYPTO_USER = "crypto-user"
    """CU: manages and uses its own keys."""
    APPLIANCE = "appliance"
    """AU: cloning and synchronisation only."""


class Command(StrEnum):
    """Every command the engine accepts; the access table says which roles may run each."""

    GET_INFO = "get-info"
    LOGIN = "login"
    LOGOUT = "logout"
    ACTIVATE = "activate"
    CHANGE_OWN_PASSWORD = "change-own-password"
    CHANGE_USER_PASSWORD = "change-user-password"
    CREATE_USER = "create-user"
    DELETE_USER = "delete-user"
    LIST_USERS = "list-users"
    SET_POLICY = "set-policy"
    GET_POLICY = "get-policy"
    READ_AUDIT = "read-audit"
    RUN_SELF_TEST = "run-self-test"
    SYNC_DIGEST = "sync-digest"
    GENERATE_KEY = "generate-key"
    GENERATE_KEY_PAIR = "generate-key-pair"
    CREATE_OBJECT = "create-object"
    FIND_OBJECTS = "find-objects"
    GET_ATTRIBUTES = "get-attributes"
    SET_ATTRIBUTES = "set-attributes"
    SET_TRUSTED = "set-trusted"
    DESTROY_OBJECT = "destroy-object"
    COPY_OBJECT = "copy-object"
    SHARE_KEY = "share-key"
    UNSHARE_KEY = "unshare-key"
    WRAP_KEY = "wrap-key"
    UNWRAP_KEY = "unwrap-key"
    EXPORT_PUBLIC_KEY = "export-public-key"
    ENCRYPT = "encrypt"
    DECRYPT = "decrypt"
    SIGN = "sign"
    VERIFY = "verify"
    GENERATE_RANDOM = "generate-random"
    DIGEST = "digest"
    DERIVE_KEY = "derive-key"
    BACKUP = "backup"
    RESTORE = "restore"
