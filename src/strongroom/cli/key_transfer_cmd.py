"""``strongroom key wrap|unwrap|import|export``: keys in and out of the cluster.

This module owns how keys cross the HSM boundary on the command line. Private and secret
keys leave only wrapped (``key wrap``: AES-KWP, AES-KW, AES-GCM, RSA-OAEP, RSA-AES) and come
back with ``key unwrap``; public keys leave as PEM (``key export``) and come in from PEM
(``key import pem``); raw secret keys come in with ``key import aes|generic-secret`` only
where the HSM's policy allows clear import. Wrapped keys are base64 in the output, or raw
bytes in a file with ``--path``.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any, Final

from strongroom.cli.binary_io import (
    add_data_options,
    add_hex_option,
    b64,
    decode_base64,
    read_small,
    shown,
    write_file,
)
from strongroom.cli.key_attrs import (
    add_key_selector,
    describe_key,
    handle_text,
    key_text,
    parse_assignments,
    select_key,
    selector_from,
)
from strongroom.cli.output import UsageError, warn
from strongroom.cli.session import Outcome, Session, add_command
from strongroom.constants import Attribute, KeyType, Mechanism, ObjectClass
from strongroom.errors import KeyUnextractable
from strongroom.model.params import GCMParams, OAEPParams, RSAAESKeyWrapParams

__all__ = ["WRAP_MECHANISMS", "configure"]

WRAP_MECHANISMS: Final = {
    "aes-kwp": Mechanism.AES_KEY_WRAP_KWP,
    "aes-kw": Mechanism.AES_KEY_WRAP,
    "aes-gcm": Mechanism.AES_GCM,
    "rsa-oaep": Mechanism.RSA_PKCS_OAEP,
    "rsa-aes": Mechanism.RSA_AES_KEY_WRAP,
}
_ALIASES: Final = {"aes-kw": ("aes-no-pad",)}
_HASHES: Final = ("sha1", "sha224", "sha256", "sha384", "sha512")
KEY_TYPE_CLASSES: Final = {
    "aes": (ObjectClass.SECRET_KEY, KeyType.AES),
    "generic-secret": (ObjectClass.SECRET_KEY, KeyType.GENERIC_SECRET),
    "rsa-private": (ObjectClass.PRIVATE_KEY, KeyType.RSA),
    "ec-private": (ObjectClass.PRIVATE_KEY, KeyType.EC),
    "ed25519-private": (ObjectClass.PRIVATE_KEY, KeyType.EC_EDWARDS),
}
_PEM: Final = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\s*(.*?)\s*-----END \1-----", re.DOTALL)
_PARAMETER_SETS: Final = {"ML-DSA-44": 1, "ML-DSA-65": 2, "ML-DSA-87": 3}


def configure(sub: Any) -> None:
    """Add wrap, unwrap, import and export to the ``key`` subcommands."""
    wrap = sub.add_parser("wrap", help="wrap a key under another key (base64 or --path)")
    mechanisms = wrap.add_subparsers(dest="mechanism", metavar="MECHANISM", required=True)
    for name in WRAP_MECHANISMS:
        leaf = add_command(
            mechanisms, name, _wrap, f"wrap with {name}", aliases=_ALIASES.get(name, ())
        )
        leaf.set_defaults(mechanism=name)
        add_key_selector(leaf, "wrapping", "the wrapping key")
        add_key_selector(leaf, "", "the key to wrap")
        _mechanism_options(leaf, name)
        leaf.add_argument("--path", type=Path, help="write the wrapped key (raw bytes) here")
        add_hex_option(leaf)

    unwrap = sub.add_parser("unwrap", help="import a wrapped key")
    mechanisms = unwrap.add_subparsers(dest="mechanism", metavar="MECHANISM", required=True)
    for name in WRAP_MECHANISMS:
        leaf = add_command(
            mechanisms, name, _unwrap, f"unwrap with {name}", aliases=_ALIASES.get(name, ())
        )
        leaf.set_defaults(mechanism=name)
        add_key_selector(leaf, "", "the unwrapping key")
        add_data_options(leaf, "data", "the wrapped key")
        leaf.add_argument(
            "--key-type-class",
            required=True,
            choices=list(KEY_TYPE_CLASSES),
            help="what the wrapped key is",
        )
        _mechanism_options(leaf, name)
        _new_key_options(leaf)

    importer = sub.add_parser("import", help="import a public key (PEM) or a raw secret key")
    kinds = importer.add_subparsers(dest="kind", metavar="KIND", required=True)
    pem = add_command(kinds, "pem", _import_pem, "import a public key from a PEM file")
    pem.add_argument("--path", type=Path, required=True, help="the PEM file (PUBLIC KEY)")
    _new_key_options(pem)
    for name in ("aes", "generic-secret"):
        leaf = add_command(
            kinds, name, _import_secret, f"import raw {name} key bytes (if the policy allows)"
        )
        leaf.set_defaults(kind=name)
        add_data_options(leaf, "data", "the key bytes")
        _new_key_options(leaf)

    export = add_command(sub, "export", _export, "export a public key as PEM")
    add_key_selector(export)
    export.add_argument("--path", type=Path, help="write the PEM here")


def _mechanism_options(parser: argparse.ArgumentParser, name: str) -> None:
    if name.startswith("rsa-"):
        parser.add_argument("--hash-function", choices=_HASHES, default="sha256")
    if name == "rsa-aes":
        parser.add_argument("--aes-key-bits", type=int, choices=(128, 192, 256), default=256)
    if name == "aes-gcm":
        parser.add_argument("--aad", metavar="BASE64", help="additional authenticated data")


def _new_key_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--label", help="the new key's label")
    parser.add_argument("--session", action="store_true", help="a session key, not a token key")
    parser.add_argument(
        "--attributes",
        nargs="+",
        action="extend",
        default=[],
        metavar="NAME=VALUE",
        help="more attributes of the new key",
    )


def _params(args: argparse.Namespace) -> object:
    name: str = args.mechanism
    if name == "aes-gcm":
        aad = decode_base64(args.aad, "--aad") if args.aad else b""
        return GCMParams(aad=aad)
    if name == "rsa-oaep":
        return OAEPParams(hash_name=args.hash_function.upper())
    if name == "rsa-aes":
        return RSAAESKeyWrapParams(args.aes_key_bits, OAEPParams(args.hash_function.upper()))
    return None


def _new_template(session: Session, args: argparse.Namespace) -> dict[Attribute, Any]:
    if args.session and not session.in_shell:
        warn("a session key lasts only as long as this command; use `strongroom shell`")
    template: dict[Attribute, Any] = {Attribute.TOKEN: not args.session}
    if args.label is not None:
        template[Attribute.LABEL] = args.label
    template.update(parse_assignments(args.attributes))
    return template


def _wrap(session: Session, args: argparse.Namespace) -> Outcome:
    wrapping = select_key(session, selector_from(args, "wrapping"), "wrapping key")
    key = select_key(session, selector_from(args), "key to wrap")
    wrapped = wrapping.wrap_key(WRAP_MECHANISMS[args.mechanism], key, _params(args))
    data: dict[str, Any] = {
        "wrapping-key-reference": handle_text(wrapping.handle),
        "key-reference": handle_text(key.handle),
    }
    if args.path is not None:
        write_file(args.path, [wrapped])
        data["wrapped_key_path"] = str(args.path)
        return Outcome(data, f"wrote the wrapped key ({len(wrapped)} bytes) to {args.path}")
    data["wrapped_key_data"] = b64(wrapped)
    return Outcome(data, shown(wrapped, args))


def _unwrap(session: Session, args: argparse.Namespace) -> Outcome:
    wrapped = read_small(args)
    object_class, key_type = KEY_TYPE_CLASSES[args.key_type_class]
    template = {
        Attribute.CLASS: object_class,
        Attribute.KEY_TYPE: key_type,
        **_new_template(session, args),
    }
    unwrapping = select_key(session, selector_from(args), "unwrapping key")
    key = session.remember(
        unwrapping.unwrap_key(WRAP_MECHANISMS[args.mechanism], wrapped, template, _params(args))
    )
    described = describe_key(key, verbose=True)
    return Outcome({"key": described}, key_text(described))


def public_key_template(pem: bytes) -> dict[Attribute, Any]:
    """The attributes that import the PEM ``PUBLIC KEY`` in ``pem``."""
    from strongroom import crypto

    match = _PEM.search(pem)
    if match is None:
        raise UsageError("no PEM block found (expected -----BEGIN PUBLIC KEY-----)")
    label = match.group(1).decode()
    if label != "PUBLIC KEY":
        hint = " (private keys come in wrapped: key unwrap)" if "PRIVATE" in label else ""
        raise UsageError(f"expected a PUBLIC KEY, found {label}{hint}")
    der = decode_base64(b"".join(match.group(2).split()).decode("ascii"), "the PEM body")
    public = crypto.load_public_key_der(der)
    template: dict[Attribute, Any] = {Attribute.CLASS: ObjectClass.PUBLIC_KEY}
    if crypto.is_rsa(public):
        modulus, exponent = crypto.rsa_public_components(public)
        template.update(
            {
                Attribute.KEY_TYPE: KeyType.RSA,
                Attribute.MODULUS: modulus,
                Attribute.PUBLIC_EXPONENT: exponent,
            }
        )
    elif crypto.is_mldsa(public):
        template.update(
            {
                Attribute.KEY_TYPE: KeyType.ML_DSA,
                Attribute.PARAMETER_SET: _PARAMETER_SETS[crypto.mldsa_parameter_set_of(public)],
                Attribute.VALUE: crypto.mldsa_public_bytes(public),
            }
        )
    else:
        curve = crypto.curve_of(public)
        template.update(
            {
                Attribute.KEY_TYPE: KeyType.EC_EDWARDS if curve == "ed25519" else KeyType.EC,
                Attribute.EC_PARAMS: crypto.ec_params_for_curve(curve),
                Attribute.EC_POINT: crypto.ec_point(public),
            }
        )
    return template


def _import_pem(session: Session, args: argparse.Namespace) -> Outcome:
    template = {**public_key_template(args.path.read_bytes()), **_new_template(session, args)}
    return _created(session, template)


def _import_secret(session: Session, args: argparse.Namespace) -> Outcome:
    value = read_small(args, limit=1024)
    key_type = KeyType.AES if args.kind == "aes" else KeyType.GENERIC_SECRET
    template = {
        Attribute.CLASS: ObjectClass.SECRET_KEY,
        Attribute.KEY_TYPE: key_type,
        Attribute.VALUE: value,
        **_new_template(session, args),
    }
    return _created(session, template)


def _created(session: Session, template: dict[Attribute, Any]) -> Outcome:
    key = session.remember(session.logged_in().create_object(template))
    described = describe_key(key, verbose=True)
    return Outcome({"key": described}, key_text(described))


def _export(session: Session, args: argparse.Namespace) -> Outcome:
    from strongroom.crypto import der_to_pem

    key = select_key(session, selector_from(args))
    object_class = ObjectClass(key.get(Attribute.CLASS))
    reference = handle_text(key.handle)
    if object_class is not ObjectClass.PUBLIC_KEY:
        raise KeyUnextractable(
            f"{reference} is a {object_class.name.lower().replace('_', ' ')}: private and secret"
            " keys leave the HSM only wrapped (key wrap); select the public key to export it"
        )
    pem = der_to_pem(key.public_key_der(), "PUBLIC KEY").decode("ascii")
    data = {"key-reference": reference, "pem": pem}
    if args.path is not None:
        args.path.write_text(pem, encoding="ascii")
        data["path"] = str(args.path)
        return Outcome(data, f"wrote the public key {reference} to {args.path}")
    return Outcome(data, pem.rstrip("\n"))
