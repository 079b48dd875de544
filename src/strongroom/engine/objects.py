"""HSM objects in memory and the catalog that loads, seals, caches and finds them.

This module owns the object's in-memory form (clear attributes, owner, shares, and the
secret material once unsealed, with parsed keys cached per handle) and its mapping onto
store records: which parts are sealed, how token objects are found through the store's
indexes, and how session objects live and die with their session. It does not decide
who may do what — the key and crypto command modules do — and it never logs material.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from strongroom.constants import Attribute, KeyType, ObjectClass, ParameterSet
from strongroom.crypto import asymmetric
from strongroom.crypto.mldsa import MLDSAParameterSet, mldsa_public_key_from_bytes
from strongroom.errors import ArgumentsBad, HSMSealed, ObjectHandleInvalid, StoreCorrupt
from strongroom.model.codec import decode_cbor, decode_template, encode_cbor, encode_template
from strongroom.model.templates import Template, template_matches
from strongroom.store.api import ObjectQuery, ObjectRecord, RawStore, StoreTransaction
from strongroom.store.sealing import StorageKey, object_aad

__all__ = [
    "SESSION_HANDLE_BASE",
    "HSMObject",
    "ObjectCatalog",
    "mldsa_parameter_set_name",
    "mldsa_parameter_set_number",
]

SESSION_HANDLE_BASE = 1 << 40
"""Session-object handles start here; token handles come from the store, below it."""

_T = TypeVar("_T")


@dataclass(slots=True, eq=False)
class HSMObject:
    """One object: clear attributes plus, once unsealed, its secret material."""

    handle: int
    attributes: Template
    owner: int
    shares: frozenset[int] = frozenset()
    session: int | None = None
    sealed: bytes | None = None
    secret: dict[str, bytes] | None = None
    cache: dict[str, Any] = field(default_factory=dict)
    verified: bool = False
    public: bytes | None = None
    object_class: ObjectClass = field(init=False)
    key_type: KeyType | None = field(init=False)

    def __post_init__(self) -> None:
        self.object_class = ObjectClass(self.attributes[Attribute.CLASS])  # type: ignore[arg-type]
        key_type = self.attributes.get(Attribute.KEY_TYPE)
        self.key_type = None if key_type is None else KeyType(key_type)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return (
            f"HSMObject(handle={self.handle}, class={self.object_class.name}, "
            f"key_type={self.key_type.name if self.key_type is not None else None})"
        )

    @property
    def is_token(self) -> bool:
        """True for persistent objects."""
        return self.session is None

    def flag(self, attribute: Attribute) -> bool:
        """A boolean attribute, false when absent."""
        return self.attributes.get(attribute) is True

    def cached(self, name: str, factory: Callable[[], _T]) -> _T:
        """A parsed form of the material, built once per loaded object."""
        value = self.cache.get(name)
        if value is None:
            value = factory()
            self.cache[name] = value
        return value

    def secret_value(self) -> bytes:
        """CKA_VALUE of a secret key (the object must be unsealed)."""
        if self.secret is None or "value" not in self.secret:
            raise HSMSealed("the object's material is not loaded")
        return self.secret["value"]

    def private_key(self) -> asymmetric.PrivateKey:
        """The parsed private key (cached; loaded without re-validation: we sealed it)."""
        if self.secret is None or "pkcs8" not in self.secret:
            raise HSMSealed("the object's material is not loaded")
        der = self.secret["pkcs8"]
        return self.cached("private", lambda: asymmetric.load_private_key_der(der, trusted=True))

    def public_key(self) -> asymmetric.PublicKey:
        """The public key of a public-key object or of a private key (cached)."""
        if self.object_class is ObjectClass.PRIVATE_KEY:
            return self.cached("public", lambda: asymmetric.public_key_of(self.private_key()))
        return self.cached("public", self._build_public)

    def _build_public(self) -> asymmetric.PublicKey:
        key_type = self.key_type
        if key_type is KeyType.RSA:
            return asymmetric.rsa_public_key_from_components(
                self.attributes[Attribute.MODULUS],  # type: ignore[arg-type]
                self.attributes[Attribute.PUBLIC_EXPONENT],  # type: ignore[arg-type]
            )
        if key_type in (KeyType.EC, KeyType.EC_EDWARDS):
            curve = asymmetric.curve_for_ec_params(self.attributes[Attribute.EC_PARAMS])  # type: ignore[arg-type]
            return asymmetric.ec_public_key_from_point(curve, self.attributes[Attribute.EC_POINT])  # type: ignore[arg-type]
        if key_type is KeyType.ML_DSA:
            parameter_set = mldsa_parameter_set_name(self.attributes.get(Attribute.PARAMETER_SET))
            return mldsa_public_key_from_bytes(parameter_set, self.attributes[Attribute.VALUE])  # type: ignore[arg-type]
        raise ObjectHandleInvalid("object has no public key")


_MLDSA_SETS: dict[int, MLDSAParameterSet] = {
    ParameterSet.ML_DSA_44: "ML-DSA-44",
    ParameterSet.ML_DSA_65: "ML-DSA-65",
    ParameterSet.ML_DSA_87: "ML-DSA-87",
}


def mldsa_parameter_set_name(value: object) -> MLDSAParameterSet:
    """The ML-DSA parameter set a CKA_PARAMETER_SET value names, or ARGUMENTS_BAD."""
    try:
        return _MLDSA_SETS[value]  # type: ignore[index]
    except (KeyError, TypeError):
        raise ArgumentsBad("PARAMETER_SET must be CKP_ML_DSA_44, _65 or _87") from None


def mldsa_parameter_set_number(name: MLDSAParameterSet) -> ParameterSet:
    """The CKA_PARAMETER_SET value of an ML-DSA parameter set."""
    return next(ParameterSet(k) for k, v in _MLDSA_SETS.items() if v == name)


def _index_fields(attributes: Template) -> tuple[str, bytes]:
    label = attributes.get(Attribute.LABEL, "")
    ckid = attributes.get(Attribute.ID, b"")
    return (label if isinstance(label, str) else ""), (ckid if isinstance(ckid, bytes) else b"")


class ObjectCatalog:
    """Token objects (through the store, cached) and session objects (in memory)."""

    def __init__(self, store: RawStore, *, cache_size: int) -> None:
        self._store = store
        self._cache: OrderedDict[int, HSMObject] = OrderedDict()
        self._cache_size = cache_size
        self._session_objects: dict[int, HSMObject] = {}
        self._next_session_handle = SESSION_HANDLE_BASE
        self._lock = threading.Lock()
        self._generation = 0
        """Bumped by every cache write, so a reader never caches a record older than it."""
        self.storage_key: StorageKey | None = None

    # --- lookup ----------------------------------------------------------------------

    def get(self, handle: object) -> HSMObject:
        """The object with this handle (clear attributes loaded), or OBJECT_HANDLE_INVALID."""
        if isinstance(handle, bool) or not isinstance(handle, int) or handle <= 0:
            raise ObjectHandleInvalid("object handles are positive integers")
        if handle >= SESSION_HANDLE_BASE:
            obj = self._session_objects.get(handle)
            if obj is None:
                raise ObjectHandleInvalid(f"no object {handle}")
            return obj
        with self._lock:
            cached = self._cache.get(handle)
            if cached is not None:
                self._cache.move_to_end(handle)
                return cached
            generation = self._generation
        record = self._store.get_object(handle)
        if record is None:
            raise ObjectHandleInvalid(f"no object {handle}")
        obj = self._from_record(record)
        with self._lock:
            # A write that committed while we read may have cached a newer version: keep it.
            if self._generation == generation:
                self._remember(obj)
            else:
                obj = self._cache.get(handle, obj)
        return obj

    def _from_record(self, record: ObjectRecord) -> HSMObject:
        attributes = decode_template(record.public)
        label, ckid = _index_fields(attributes)
        if (
            attributes.get(Attribute.CLASS) != record.object_class
            or attributes.get(Attribute.KEY_TYPE) != record.key_type
            or label != record.label
            or ckid != record.ckid
        ):
            raise StoreCorrupt(f"object {record.handle}: index columns disagree with attributes")
        if record.sealed is None:
            raise StoreCorrupt(f"object {record.handle} has no seal")
        shares = self._store.get_shares(record.handle)
        obj = HSMObject(
            handle=record.handle,
            attributes=attributes,
            owner=record.owner,
            shares=shares,
            sealed=record.sealed,
            public=record.public,
        )
        if self.storage_key is not None:
            self.unseal(obj)
        return obj

    def _remember(self, obj: HSMObject) -> None:
        """Cache ``obj``; callers hold ``_lock``."""
        if obj.session is not None:
            self._session_objects[obj.handle] = obj
            return
        self._cache[obj.handle] = obj
        self._cache.move_to_end(obj.handle)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def _remember_locked(self, obj: HSMObject) -> None:
        with self._lock:
            self._remember(obj)

    def add_session_object(self, obj: HSMObject) -> None:
        """Hold a new session object (it never reaches the store)."""
        self._remember_locked(obj)

    def forget(self, handle: int) -> None:
        """Drop an object from memory (after destroy, or to force a reload)."""
        with self._lock:
            self._generation += 1
            self._cache.pop(handle, None)
            self._session_objects.pop(handle, None)

    def clear_cache(self) -> None:
        """Drop every cached token object (e.g. when the HSM seals again)."""
        with self._lock:
            self._generation += 1
            self._cache.clear()

    def unseal(self, obj: HSMObject) -> HSMObject:
        """Authenticate a token object's stored form and load its secret material.

        Every token object carries a seal (public ones seal an empty map) binding its clear
        attributes, owner and shares; until it has been checked, nothing about the object
        may be used. Needs the storage key. Session objects never left memory.
        """
        if obj.verified:
            return obj
        if obj.session is not None:
            obj.verified = True
            return obj
        if self.storage_key is None:
            raise HSMSealed("the HSM is sealed; an admin must log in to unseal it")
        if obj.sealed is None or obj.public is None:
            raise StoreCorrupt(f"object {obj.handle} has no seal")
        plaintext = self.storage_key.unseal(
            obj.sealed, object_aad(obj.handle, obj.owner, obj.public, obj.shares)
        )
        fields = decode_cbor(plaintext)
        if not isinstance(fields, dict) or not all(
            isinstance(k, str) and isinstance(v, bytes) for k, v in fields.items()
        ):
            raise StoreCorrupt(f"object {obj.handle}: sealed material is malformed")
        obj.secret = fields or None
        obj.verified = True
        return obj

    # --- finding ----------------------------------------------------------------------

    def candidates(self, template: Template) -> Iterable[int]:
        """Handles that may match ``template``, narrowed by the store's indexes."""
        token = template.get(Attribute.TOKEN)
        if token is not False:
            label = template.get(Attribute.LABEL)
            ckid = template.get(Attribute.ID)
            cls = template.get(Attribute.CLASS)
            key_type = template.get(Attribute.KEY_TYPE)
            query = ObjectQuery(
                object_class=int(cls) if isinstance(cls, int) else None,
                key_type=int(key_type) if isinstance(key_type, int) else None,
                label=label if isinstance(label, str) else None,
                ckid=ckid if isinstance(ckid, bytes) else None,
            )
            yield from self._store.find_objects(query)
        if token is not True:
            yield from list(self._session_objects)

    def find(self, template: Template, visible: Callable[[HSMObject], bool]) -> list[int]:
        """Handles of visible objects whose clear attributes match ``template``."""
        found: list[int] = []
        for handle in self.candidates(template):
            obj = self.get(handle)
            if visible(obj) and template_matches(obj.attributes, template):
                found.append(handle)
        return found

    # --- writing ----------------------------------------------------------------------

    def new_session_handle(self) -> int:
        """A fresh handle for a session object."""
        self._next_session_handle += 1
        return self._next_session_handle

    def record_for(self, obj: HSMObject) -> ObjectRecord:
        """The store record for a token object, sealed (material or an empty map) under the AAD."""
        if self.storage_key is None:
            raise HSMSealed("the HSM is sealed; an admin must log in to unseal it")
        if not obj.verified:
            raise HSMSealed("the object must be unsealed before it is rewritten")
        public = encode_template(obj.attributes)
        sealed = self.storage_key.seal(
            encode_cbor(obj.secret or {}), object_aad(obj.handle, obj.owner, public, obj.shares)
        )
        label, ckid = _index_fields(obj.attributes)
        key_type = obj.key_type
        return ObjectRecord(
            handle=obj.handle,
            object_class=int(obj.object_class),
            key_type=None if key_type is None else int(key_type),
            label=label,
            ckid=ckid,
            owner=obj.owner,
            private=bool(obj.attributes.get(Attribute.PRIVATE)),
            public=public,
            sealed=sealed,
        )

    def write(self, tx: StoreTransaction, obj: HSMObject) -> Callable[[], None]:
        """Stage ``obj`` in ``tx``; returns the action that caches it once committed."""
        if obj.session is None:
            record = self.record_for(obj)
            tx.put_object(record)
            tx.set_shares(obj.handle, obj.shares)
            sealed = record.sealed

            def commit() -> None:
                obj.sealed = sealed
                obj.public = record.public
                with self._lock:
                    self._generation += 1
                    self._remember(obj)

            return commit
        return lambda: self._remember_locked(obj)

    def delete(self, tx: StoreTransaction, obj: HSMObject) -> Callable[[], None]:
        """Stage the object's deletion; returns the action that forgets it once committed."""
        if obj.session is None:
            tx.delete_object(obj.handle)
        return lambda: self.forget(obj.handle)

    def session_objects_of(self, session: int) -> list[HSMObject]:
        """Every session object created in this session."""
        with self._lock:
            return [o for o in self._session_objects.values() if o.session == session]

    def token_count(self) -> int:
        """Number of token objects in the store."""
        return self._store.count_objects()
