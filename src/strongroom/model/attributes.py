"""The attribute rule table: which attributes each kind of object has and how each behaves.

This module owns the one table of flags that every operation checks templates against
(Kryoptic's design, PKCS#11's footnotes). It is pure data plus lookups; it knows nothing
of users, stores or crypto. Template checking itself lives in ``model.templates``.

PKCS#11 v2.40 §4.2, Table 10 ("Common footnotes for object attribute tables"), which the
flags below reproduce one for one::

     1  MUST be specified when object is created with C_CreateObject.
     2  MUST NOT be specified when object is created with C_CreateObject.
     3  MUST be specified when object is generated with C_GenerateKey or C_GenerateKeyPair.
     4  MUST NOT be specified when object is generated with C_GenerateKey/C_GenerateKeyPair.
     5  MUST be specified when object is unwrapped with C_UnwrapKey.
     6  MUST NOT be specified when object is unwrapped with C_UnwrapKey.
     7  Cannot be revealed if object has its CKA_SENSITIVE attribute set to CK_TRUE or its
        CKA_EXTRACTABLE attribute set to CK_FALSE.
     8  May be modified after object is created with a C_SetAttributeValue call.
     9  Default value is token-specific, and may depend on the values of other attributes.
    10  Can only be set to CK_TRUE by the SO user.
    11  Attribute cannot be changed once set to CK_TRUE. It becomes a read only attribute.
    12  Attribute cannot be changed once set to CK_FALSE. It becomes a read only attribute.

Strongroom is stricter than the footnotes in two places, both deliberate: footnote-7
values (key material) are never returned in the clear at all — keys leave only wrapped —
and CKA_MODIFIABLE follows CloudHSM (may go from true to false, never back).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntFlag

from strongroom.constants import Attribute, KeyType, ObjectClass

__all__ = [
    "CAPABILITIES",
    "AttrFlag",
    "AttrRule",
    "ValueKind",
    "rules_for",
]


class AttrFlag(IntFlag):
    """One bit per PKCS#11 footnote (the number in each docstring)."""

    NONE = 0
    REQUIRED_ON_CREATE = 1 << 1
    """1: must be given to create (import) the object."""
    FORBIDDEN_ON_CREATE = 1 << 2
    """2: must not be given to create (import) the object."""
    REQUIRED_ON_GENERATE = 1 << 3
    """3: must be given to generate the object."""
    FORBIDDEN_ON_GENERATE = 1 << 4
    """4: must not be given to generate the object."""
    REQUIRED_ON_UNWRAP = 1 << 5
    """5: must be given to unwrap the object."""
    FORBIDDEN_ON_UNWRAP = 1 << 6
    """6: must not be given to unwrap the object."""
    SENSITIVE = 1 << 7
    """7: secret value; Strongroom never returns it in the clear."""
    MODIFIABLE = 1 << 8
    """8: may be changed after creation."""
    ADMIN_ONLY_TRUE = 1 << 10
    """10: only an admin (SO) may set it to true."""
    ONE_WAY_TRUE = 1 << 11
    """11: once true, read-only."""
    ONE_WAY_FALSE = 1 << 12
    """12: once false, read-only."""

    # Composites used by the table.
    READ_ONLY = FORBIDDEN_ON_CREATE | FORBIDDEN_ON_GENERATE | FORBIDDEN_ON_UNWRAP
    """Set only by the HSM itself (LOCAL, ALWAYS_SENSITIVE, CHECK_VALUE…)."""
    KEY_MATERIAL = REQUIRED_ON_CREATE | FORBIDDEN_ON_GENERATE | FORBIDDEN_ON_UNWRAP | SENSITIVE
    """1, 4, 6, 7: secret components — imported, never generated-in or unwrapped-in."""


class ValueKind(Enum):
    """The Python type an attribute's value has in a template."""

    BOOL = "bool"
    ULONG = "ulong"
    BYTES = "bytes"
    BIGINT = "bigint"
    """Big-endian unsigned integer as bytes (PKCS#11 Big integer)."""
    STRING = "string"
    CLASS = "class"
    KEY_TYPE = "key-type"
    MECHANISM = "mechanism"
    TEMPLATE = "template"


@dataclass(frozen=True, slots=True)
class AttrRule:
    """How one attribute behaves on one kind of object."""

    kind: ValueKind
    flags: AttrFlag = AttrFlag.NONE


_F = AttrFlag
_K = ValueKind
_ONE_WAY_TRUE_MOD = _F.MODIFIABLE | _F.ONE_WAY_TRUE
_ONE_WAY_FALSE_MOD = _F.MODIFIABLE | _F.ONE_WAY_FALSE

# --- the table, layer by layer (PKCS#11 v2.40 §4.4–§4.9, §2.1–§2.3 of the mechanisms doc) ---

_COMMON: dict[Attribute, AttrRule] = {
    # §4.4 Common object attributes / §4.4 storage objects
    Attribute.CLASS: AttrRule(_K.CLASS, _F.REQUIRED_ON_CREATE),
    Attribute.TOKEN: AttrRule(_K.BOOL),
    Attribute.PRIVATE: AttrRule(_K.BOOL),
    Attribute.LABEL: AttrRule(_K.STRING, _F.MODIFIABLE),
    Attribute.MODIFIABLE: AttrRule(_K.BOOL, _ONE_WAY_FALSE_MOD),
    Attribute.COPYABLE: AttrRule(_K.BOOL, _ONE_WAY_FALSE_MOD),
    Attribute.DESTROYABLE: AttrRule(_K.BOOL),
}

_DATA: dict[Attribute, AttrRule] = {
    # §4.5 Data objects
    Attribute.APPLICATION: AttrRule(_K.STRING, _F.MODIFIABLE),
    Attribute.OBJECT_ID: AttrRule(_K.BYTES, _F.MODIFIABLE),
    Attribute.VALUE: AttrRule(_K.BYTES, _F.MODIFIABLE),
}

_CERTIFICATE: dict[Attribute, AttrRule] = {
    # §4.6 Certificate objects (X.509 public key certificates, §4.6.3)
    Attribute.CERTIFICATE_TYPE: AttrRule(_K.ULONG, _F.REQUIRED_ON_CREATE),
    Attribute.TRUSTED: AttrRule(_K.BOOL, _F.ADMIN_ONLY_TRUE | _F.MODIFIABLE),
    Attribute.CERTIFICATE_CATEGORY: AttrRule(_K.ULONG),
    Attribute.CHECK_VALUE: AttrRule(_K.BYTES, _F.READ_ONLY),
    Attribute.SUBJECT: AttrRule(_K.BYTES, _F.REQUIRED_ON_CREATE),
    Attribute.ID: AttrRule(_K.BYTES, _F.MODIFIABLE),
    Attribute.ISSUER: AttrRule(_K.BYTES, _F.MODIFIABLE),
    Attribute.SERIAL_NUMBER: AttrRule(_K.BYTES, _F.MODIFIABLE),
    Attribute.VALUE: AttrRule(_K.BYTES, _F.REQUIRED_ON_CREATE),
    Attribute.START_DATE: AttrRule(_K.BYTES, _F.MODIFIABLE),
    Attribute.END_DATE: AttrRule(_K.BYTES, _F.MODIFIABLE),
    Attribute.JAVA_MIDP_SECURITY_DOMAIN: AttrRule(_K.ULONG),
    Attribute.URL: AttrRule(_K.STRING),
    Attribute.HASH_OF_SUBJECT_PUBLIC_KEY: AttrRule(_K.BYTES),
    Attribute.HASH_OF_ISSUER_PUBLIC_KEY: AttrRule(_K.BYTES),
    Attribute.NAME_HASH_ALGORITHM: AttrRule(_K.ULONG),
}

_KEY: dict[Attribute, AttrRule] = {
    # §4.7 Key objects (common)
    Attribute.KEY_TYPE: AttrRule(_K.KEY_TYPE, _F.REQUIRED_ON_CREATE | _F.REQUIRED_ON_UNWRAP),
    Attribute.ID: AttrRule(_K.BYTES, _F.MODIFIABLE),
    Attribute.START_DATE: AttrRule(_K.BYTES, _F.MODIFIABLE),
    Attribute.END_DATE: AttrRule(_K.BYTES, _F.MODIFIABLE),
    Attribute.DERIVE: AttrRule(_K.BOOL, _F.MODIFIABLE),
    Attribute.LOCAL: AttrRule(_K.BOOL, _F.READ_ONLY),
    Attribute.KEY_GEN_MECHANISM: AttrRule(_K.MECHANISM, _F.READ_ONLY),
}

_PUBLIC_KEY: dict[Attribute, AttrRule] = {
    # §4.8 Public key objects
    Attribute.SUBJECT: AttrRule(_K.BYTES, _F.MODIFIABLE),
    Attribute.ENCRYPT: AttrRule(_K.BOOL, _F.MODIFIABLE),
    Attribute.VERIFY: AttrRule(_K.BOOL, _F.MODIFIABLE),
    Attribute.WRAP: AttrRule(_K.BOOL, _F.MODIFIABLE),
    Attribute.TRUSTED: AttrRule(_K.BOOL, _F.ADMIN_ONLY_TRUE | _F.MODIFIABLE),
    Attribute.WRAP_TEMPLATE: AttrRule(_K.TEMPLATE),
}

_PRIVATE_KEY: dict[Attribute, AttrRule] = {
    # §4.9 Private key objects
    Attribute.SUBJECT: AttrRule(_K.BYTES, _F.MODIFIABLE),
    Attribute.SENSITIVE: AttrRule(_K.BOOL, _ONE_WAY_TRUE_MOD),
    Attribute.DECRYPT: AttrRule(_K.BOOL, _F.MODIFIABLE),
    Attribute.SIGN: AttrRule(_K.BOOL, _F.MODIFIABLE),
    Attribute.UNWRAP: AttrRule(_K.BOOL, _F.MODIFIABLE),
    Attribute.EXTRACTABLE: AttrRule(_K.BOOL, _ONE_WAY_FALSE_MOD),
    Attribute.ALWAYS_SENSITIVE: AttrRule(_K.BOOL, _F.READ_ONLY),
    Attribute.NEVER_EXTRACTABLE: AttrRule(_K.BOOL, _F.READ_ONLY),
    Attribute.WRAP_WITH_TRUSTED: AttrRule(_K.BOOL, _ONE_WAY_TRUE_MOD),
    Attribute.UNWRAP_TEMPLATE: AttrRule(_K.TEMPLATE),
}

_SECRET_KEY: dict[Attribute, AttrRule] = {
    # §4.10 Secret key objects
    Attribute.SENSITIVE: AttrRule(_K.BOOL, _ONE_WAY_TRUE_MOD),
    Attribute.ENCRYPT: AttrRule(_K.BOOL, _F.MODIFIABLE),
    Attribute.DECRYPT: AttrRule(_K.BOOL, _F.MODIFIABLE),
    Attribute.SIGN: AttrRule(_K.BOOL, _F.MODIFIABLE),
    Attribute.VERIFY: AttrRule(_K.BOOL, _F.MODIFIABLE),
    Attribute.WRAP: AttrRule(_K.BOOL, _F.MODIFIABLE),
    Attribute.UNWRAP: AttrRule(_K.BOOL, _F.MODIFIABLE),
    Attribute.EXTRACTABLE: AttrRule(_K.BOOL, _ONE_WAY_FALSE_MOD),
    Attribute.ALWAYS_SENSITIVE: AttrRule(_K.BOOL, _F.READ_ONLY),
    Attribute.NEVER_EXTRACTABLE: AttrRule(_K.BOOL, _F.READ_ONLY),
    Attribute.CHECK_VALUE: AttrRule(_K.BYTES, _F.READ_ONLY),
    Attribute.WRAP_WITH_TRUSTED: AttrRule(_K.BOOL, _ONE_WAY_TRUE_MOD),
    Attribute.TRUSTED: AttrRule(_K.BOOL, _F.ADMIN_ONLY_TRUE | _F.MODIFIABLE),
    Attribute.WRAP_TEMPLATE: AttrRule(_K.TEMPLATE),
    Attribute.UNWRAP_TEMPLATE: AttrRule(_K.TEMPLATE),
}

_SECRET_VALUE: dict[Attribute, AttrRule] = {
    # AES (§2.8.2 of the mechanisms doc) and generic secret (§2.11.1): same shape.
    Attribute.VALUE: AttrRule(_K.BYTES, _F.KEY_MATERIAL),
    Attribute.VALUE_LEN: AttrRule(_K.ULONG, _F.FORBIDDEN_ON_CREATE | _F.REQUIRED_ON_GENERATE),
}

_BY_KEY_TYPE: dict[tuple[ObjectClass, KeyType], dict[Attribute, AttrRule]] = {
    (ObjectClass.SECRET_KEY, KeyType.AES): _SECRET_VALUE,
    (ObjectClass.SECRET_KEY, KeyType.GENERIC_SECRET): _SECRET_VALUE,
    # RSA public key (mechanisms §2.1.2)
    (ObjectClass.PUBLIC_KEY, KeyType.RSA): {
        Attribute.MODULUS: AttrRule(_K.BIGINT, _F.REQUIRED_ON_CREATE | _F.FORBIDDEN_ON_GENERATE),
        Attribute.MODULUS_BITS: AttrRule(
            _K.ULONG, _F.FORBIDDEN_ON_CREATE | _F.REQUIRED_ON_GENERATE
        ),
        Attribute.PUBLIC_EXPONENT: AttrRule(_K.BIGINT, _F.REQUIRED_ON_CREATE),
    },
    # RSA private key (mechanisms §2.1.3)
    (ObjectClass.PRIVATE_KEY, KeyType.RSA): {
        Attribute.MODULUS: AttrRule(
            _K.BIGINT,
            _F.REQUIRED_ON_CREATE | _F.FORBIDDEN_ON_GENERATE | _F.FORBIDDEN_ON_UNWRAP,
        ),
        Attribute.PUBLIC_EXPONENT: AttrRule(
            _K.BIGINT, _F.FORBIDDEN_ON_GENERATE | _F.FORBIDDEN_ON_UNWRAP
        ),
        Attribute.PRIVATE_EXPONENT: AttrRule(_K.BIGINT, _F.KEY_MATERIAL),
        Attribute.PRIME_1: AttrRule(_K.BIGINT, _F.KEY_MATERIAL & ~_F.REQUIRED_ON_CREATE),
        Attribute.PRIME_2: AttrRule(_K.BIGINT, _F.KEY_MATERIAL & ~_F.REQUIRED_ON_CREATE),
        Attribute.EXPONENT_1: AttrRule(_K.BIGINT, _F.KEY_MATERIAL & ~_F.REQUIRED_ON_CREATE),
        Attribute.EXPONENT_2: AttrRule(_K.BIGINT, _F.KEY_MATERIAL & ~_F.REQUIRED_ON_CREATE),
        Attribute.COEFFICIENT: AttrRule(_K.BIGINT, _F.KEY_MATERIAL & ~_F.REQUIRED_ON_CREATE),
    },
    # EC public key (mechanisms §2.3.3)
    (ObjectClass.PUBLIC_KEY, KeyType.EC): {
        Attribute.EC_PARAMS: AttrRule(_K.BYTES, _F.REQUIRED_ON_CREATE | _F.REQUIRED_ON_GENERATE),
        Attribute.EC_POINT: AttrRule(_K.BYTES, _F.REQUIRED_ON_CREATE | _F.FORBIDDEN_ON_GENERATE),
    },
    # EC private key (mechanisms §2.3.4)
    (ObjectClass.PRIVATE_KEY, KeyType.EC): {
        Attribute.EC_PARAMS: AttrRule(
            _K.BYTES,
            _F.REQUIRED_ON_CREATE | _F.FORBIDDEN_ON_GENERATE | _F.FORBIDDEN_ON_UNWRAP,
        ),
        Attribute.VALUE: AttrRule(_K.BIGINT, _F.KEY_MATERIAL),
    },
    # Edwards public/private keys (PKCS#11 v3.0 mechanisms §2.3.5, §2.3.6)
    (ObjectClass.PUBLIC_KEY, KeyType.EC_EDWARDS): {
        Attribute.EC_PARAMS: AttrRule(_K.BYTES, _F.REQUIRED_ON_CREATE | _F.REQUIRED_ON_GENERATE),
        Attribute.EC_POINT: AttrRule(_K.BYTES, _F.REQUIRED_ON_CREATE | _F.FORBIDDEN_ON_GENERATE),
    },
    (ObjectClass.PRIVATE_KEY, KeyType.EC_EDWARDS): {
        Attribute.EC_PARAMS: AttrRule(
            _K.BYTES,
            _F.REQUIRED_ON_CREATE | _F.FORBIDDEN_ON_GENERATE | _F.FORBIDDEN_ON_UNWRAP,
        ),
        Attribute.VALUE: AttrRule(_K.BYTES, _F.KEY_MATERIAL),
    },
    # ML-DSA public/private keys (PKCS#11 v3.2 mechanisms §6.67.2, §6.67.3). The public
    # VALUE is the FIPS 204 pkEncode bytes; the private VALUE is the 32-byte seed.
    (ObjectClass.PUBLIC_KEY, KeyType.ML_DSA): {
        Attribute.PARAMETER_SET: AttrRule(
            _K.ULONG, _F.REQUIRED_ON_CREATE | _F.REQUIRED_ON_GENERATE
        ),
        Attribute.VALUE: AttrRule(_K.BYTES, _F.REQUIRED_ON_CREATE | _F.FORBIDDEN_ON_GENERATE),
    },
    (ObjectClass.PRIVATE_KEY, KeyType.ML_DSA): {
        Attribute.PARAMETER_SET: AttrRule(
            _K.ULONG,
            _F.REQUIRED_ON_CREATE | _F.FORBIDDEN_ON_GENERATE | _F.FORBIDDEN_ON_UNWRAP,
        ),
        Attribute.VALUE: AttrRule(_K.BYTES, _F.KEY_MATERIAL),
    },
}

_BY_CLASS: dict[ObjectClass, tuple[dict[Attribute, AttrRule], ...]] = {
    ObjectClass.DATA: (_COMMON, _DATA),
    ObjectClass.CERTIFICATE: (_COMMON, _CERTIFICATE),
    ObjectClass.PUBLIC_KEY: (_COMMON, _KEY, _PUBLIC_KEY),
    ObjectClass.PRIVATE_KEY: (_COMMON, _KEY, _PRIVATE_KEY),
    ObjectClass.SECRET_KEY: (_COMMON, _KEY, _SECRET_KEY),
}

KEY_CLASSES = frozenset({ObjectClass.PUBLIC_KEY, ObjectClass.PRIVATE_KEY, ObjectClass.SECRET_KEY})

_CACHE: dict[tuple[ObjectClass, KeyType | None], dict[Attribute, AttrRule]] = {}


def rules_for(object_class: ObjectClass, key_type: KeyType | None) -> dict[Attribute, AttrRule]:
    """Every attribute an object of this class and key type has, with its rule.

    Key classes need a key type the table knows; other classes ignore it. Unknown
    combinations return only the class-level rules (the caller rejects the key type).
    """
    cache_key = (object_class, key_type if object_class in KEY_CLASSES else None)
    cached = _CACHE.get(cache_key)
    if cached is not None:
        return cached
    merged: dict[Attribute, AttrRule] = {}
    for layer in _BY_CLASS[object_class]:
        merged.update(layer)
    if object_class in KEY_CLASSES and key_type is not None:
        merged.update(_BY_KEY_TYPE.get((object_class, key_type), {}))
    _CACHE[cache_key] = merged
    return merged


def valid_key_types(object_class: ObjectClass) -> frozenset[KeyType]:
    """Key types the table defines for a key class (empty for non-key classes)."""
    return frozenset(kt for (cls, kt) in _BY_KEY_TYPE if cls is object_class)


USAGE_ATTRIBUTES = (
    Attribute.ENCRYPT,
    Attribute.DECRYPT,
    Attribute.SIGN,
    Attribute.VERIFY,
    Attribute.WRAP,
    Attribute.UNWRAP,
    Attribute.DERIVE,
)
"""The usage flags; CAPABILITIES says which each key kind may have set."""

CAPABILITIES: dict[tuple[ObjectClass, KeyType], frozenset[Attribute]] = {
    (ObjectClass.SECRET_KEY, KeyType.AES): frozenset(
        {
            Attribute.ENCRYPT,
            Attribute.DECRYPT,
            Attribute.SIGN,
            Attribute.VERIFY,
            Attribute.WRAP,
            Attribute.UNWRAP,
            Attribute.DERIVE,
        }
    ),
    # ENCRYPT/DECRYPT are accepted on generic secrets (applications and test suites set them
    # on every secret key they make) but enable nothing: no cipher takes a generic secret.
    (ObjectClass.SECRET_KEY, KeyType.GENERIC_SECRET): frozenset(
        {Attribute.SIGN, Attribute.VERIFY, Attribute.DERIVE, Attribute.ENCRYPT, Attribute.DECRYPT}
    ),
    (ObjectClass.PUBLIC_KEY, KeyType.RSA): frozenset(
        {Attribute.ENCRYPT, Attribute.VERIFY, Attribute.WRAP}
    ),
    (ObjectClass.PRIVATE_KEY, KeyType.RSA): frozenset(
        {Attribute.DECRYPT, Attribute.SIGN, Attribute.UNWRAP}
    ),
    # DERIVE is accepted on EC public keys (pkcs11-tool and others set it on both halves of
    # an ECDH pair) but lets them do nothing: derivation always starts from a private key.
    (ObjectClass.PUBLIC_KEY, KeyType.EC): frozenset({Attribute.VERIFY, Attribute.DERIVE}),
    (ObjectClass.PRIVATE_KEY, KeyType.EC): frozenset({Attribute.SIGN, Attribute.DERIVE}),
    (ObjectClass.PUBLIC_KEY, KeyType.EC_EDWARDS): frozenset({Attribute.VERIFY}),
    (ObjectClass.PRIVATE_KEY, KeyType.EC_EDWARDS): frozenset({Attribute.SIGN}),
    (ObjectClass.PUBLIC_KEY, KeyType.ML_DSA): frozenset({Attribute.VERIFY}),
    (ObjectClass.PRIVATE_KEY, KeyType.ML_DSA): frozenset({Attribute.SIGN}),
}
"""Usage flags a key may carry; defaults turn these on (DERIVE excepted), others stay off."""
