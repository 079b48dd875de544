"""The mechanism table: what every registered mechanism does, rendered from the registry.

This module owns the one description of the mechanism set that users read
(docs/mechanisms.md and ``strongroom mechanisms``). It is generated, never hand-written,
so a test can fail the moment the document and the registry disagree.
"""

from __future__ import annotations

from strongroom.constants import KeyType
from strongroom.engine.mechanisms.registry import Function, MechanismEntry, MechanismRegistry

__all__ = ["BEGIN_MARKER", "END_MARKER", "markdown_table"]

BEGIN_MARKER = "<!-- BEGIN GENERATED: mechanism table (strongroom mechanisms) -->"
END_MARKER = "<!-- END GENERATED -->"

_FUNCTION_NAMES = {
    Function.GENERATE: "generate",
    Function.GENERATE_KEY_PAIR: "generate pair",
    Function.ENCRYPT: "encrypt",
    Function.DECRYPT: "decrypt",
    Function.SIGN: "sign",
    Function.VERIFY: "verify",
    Function.DIGEST: "digest",
    Function.WRAP: "wrap",
    Function.UNWRAP: "unwrap",
    Function.DERIVE: "derive",
}
_KEY_TYPE_NAMES = {
    KeyType.AES: "AES",
    KeyType.GENERIC_SECRET: "generic secret",
    KeyType.RSA: "RSA",
    KeyType.EC: "EC",
    KeyType.EC_EDWARDS: "Ed25519",
    KeyType.ML_DSA: "ML-DSA",
}
_BITS = frozenset({KeyType.RSA, KeyType.EC, KeyType.EC_EDWARDS, KeyType.ML_DSA})


def _functions(functions: Function) -> str:
    return ", ".join(name for bit, name in _FUNCTION_NAMES.items() if functions & bit)


def _sizes(entry: MechanismEntry) -> str:
    if not entry.key_types:
        return "–"
    if entry.key_types == {KeyType.ML_DSA}:
        return "ML-DSA-44, -65, -87"
    unit = "bits" if entry.key_types & _BITS else "bytes"
    if entry.min_key_size == entry.max_key_size:
        return f"{entry.min_key_size} {unit}"
    return f"{entry.min_key_size}–{entry.max_key_size} {unit}"


def _fips(entry: MechanismEntry) -> str:
    if not entry.approved:
        return "no"
    approved = [f for f in _FUNCTION_NAMES if entry.functions & f and entry.approved_for(f)]
    if len(approved) == len([f for f in _FUNCTION_NAMES if entry.functions & f]):
        return "yes"
    return _functions(Function(sum(approved))) + " only"


def _params(entry: MechanismEntry) -> str:
    if entry.params_type is None:
        return "–"
    if entry.params_type is bytes:
        return "IV (bytes)"
    return f"`{entry.params_type.__name__}`"


def markdown_table(registry: MechanismRegistry) -> str:
    """The table of every registered mechanism, in mechanism-number order."""
    lines = [
        "| mechanism | number | functions | multi-part | key types | key sizes | FIPS mode "
        "| parameters | notes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for entry in registry:
        key_types = ", ".join(_KEY_TYPE_NAMES[k] for k in sorted(entry.key_types)) or "–"
        lines.append(
            f"| CKM_{entry.mechanism.name} | 0x{int(entry.mechanism):X} "
            f"| {_functions(entry.functions)} | {'yes' if entry.multi_part else 'no'} "
            f"| {key_types} | {_sizes(entry)} | {_fips(entry)} | {_params(entry)} "
            f"| {entry.notes or '–'} |"
        )
    return "\n".join(lines) + "\n"
