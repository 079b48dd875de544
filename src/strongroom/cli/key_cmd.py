"""``strongroom key …``: generate, list, share, change and delete keys.

This module owns the key-management commands' grammar (CloudHSM CLI's: ``key
generate-symmetric aes``, ``key generate-asymmetric-pair ec``, ``key list --filter
attr.label=x``…) and how keys are shown. Keys are selected by ``--filter attr.NAME=VALUE``
or ``--key-reference`` (``cli.key_attrs``); moving keys in and out (wrap, unwrap, import,
export) is ``cli.key_transfer_cmd``. Key material never passes through here.
"""

from __future__ import annotations

import argparse
from typing import Any, Final

from strongroom.cli import key_transfer_cmd
from strongroom.cli.key_attrs import (
    add_key_selector,
    attribute_name,
    describe_key,
    find_keys,
    handle_text,
    key_text,
    parse_assignments,
    parse_attribute,
    parse_selector,
    parse_value,
    select_key,
    selector_from,
    value_text,
)
from strongroom.cli.output import UsageError, table, warn
from strongroom.cli.session import Outcome, Session, add_command
from strongroom.client import Key
from strongroom.constants import Attribute, Mechanism

__all__ = ["configure"]

CURVES: Final = ("secp224r1", "secp256r1", "secp384r1", "secp521r1", "secp256k1")


def configure(parser: argparse.ArgumentParser) -> None:
    """The ``key`` subcommands."""
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    symmetric = sub.add_parser(
        "generate-symmetric", help="generate a secret key (aes, generic-secret)"
    )
    kinds = symmetric.add_subparsers(dest="algorithm", metavar="ALGORITHM", required=True)
    for name, lengths, default in (("aes", (16, 24, 32), 32), ("generic-secret", None, 32)):
        leaf = add_command(kinds, name, _generate_symmetric, f"generate a {name} key")
        leaf.add_argument(
            "--key-length-bytes",
            type=int,
            default=default,
            choices=lengths,
            help=f"key length in bytes (default {default})",
        )
        leaf.add_argument("--label", help="the key's label")
        _add_key_options(leaf, "--attributes")

    pair = sub.add_parser("generate-asymmetric-pair", help="generate a key pair (rsa, ec, ed25519)")
    kinds = pair.add_subparsers(dest="algorithm", metavar="ALGORITHM", required=True)
    rsa = add_command(kinds, "rsa", _generate_pair, "generate an RSA key pair")
    rsa.add_argument("--modulus-size-bits", type=int, default=2048, help="default 2048")
    rsa.add_argument("--public-exponent", type=int, default=65537, help="default 65537")
    ec = add_command(kinds, "ec", _generate_pair, "generate an EC key pair")
    ec.add_argument("--curve", choices=CURVES, default="secp256r1", help="default secp256r1")
    ed = add_command(kinds, "ed25519", _generate_pair, "generate an Ed25519 key pair")
    for leaf in (rsa, ec, ed):
        leaf.add_argument("--public-label", help="the public key's label")
        leaf.add_argument("--private-label", help="the private key's label")
        _add_key_options(leaf, "--public-attributes", "--private-attributes")

    listing = add_command(sub, "list", _list, "keys you can see, optionally filtered")
    listing.add_argument(
        "--filter",
        nargs="+",
        action="extend",
        default=[],
        metavar="attr.NAME=VALUE",
        help="only keys with these attributes",
    )
    listing.add_argument("--verbose", action="store_true", help="show every readable attribute")

    for name, handler, summary in (
        ("share", _share, "let another crypto user use a key you own"),
        ("unshare", _unshare, "withdraw a share"),
    ):
        leaf = add_command(sub, name, handler, summary, login_flag="--login-username")
        add_key_selector(leaf)
        leaf.add_argument("--username", dest="target", required=True, help="the crypto user")

    setter = add_command(sub, "set-attribute", _set_attribute, "change one attribute of a key")
    add_key_selector(setter)
    setter.add_argument("--name", required=True, help="the attribute (sign, label, …)")
    setter.add_argument("--value", required=True, help="its new value")

    delete = add_command(sub, "delete", _delete, "destroy a key you own")
    add_key_selector(delete)

    key_transfer_cmd.configure(sub)


def _add_key_options(parser: argparse.ArgumentParser, *attribute_flags: str) -> None:
    parser.add_argument(
        "--session",
        action="store_true",
        help="a session key (gone at logout or when the command ends) instead of a token key",
    )
    for flag in attribute_flags:
        parser.add_argument(
            flag,
            nargs="+",
            action="extend",
            default=[],
            metavar="NAME=VALUE",
            help="more attributes (sign=false, extractable=false, id=0x01…)",
        )
    parser.add_argument(
        "--share-crypto-users",
        nargs="+",
        action="extend",
        default=[],
        metavar="USER",
        help="share the new (private or secret) key with these crypto users",
    )


def _session_warning(session: Session, args: argparse.Namespace) -> None:
    if args.session and not session.in_shell:
        warn("a session key lasts only as long as this command; use `strongroom shell`")


def _template(label: str | None, session_key: bool, extra: list[str]) -> dict[Attribute, Any]:
    template: dict[Attribute, Any] = {Attribute.TOKEN: not session_key}
    if label is not None:
        template[Attribute.LABEL] = label
    template.update(parse_assignments(extra))
    return template


def _share_new(key: Key, users: list[str]) -> None:
    for user in users:
        key.share(user)


def _generate_symmetric(session: Session, args: argparse.Namespace) -> Outcome:
    template = _template(args.label, args.session, args.attributes)
    template[Attribute.VALUE_LEN] = args.key_length_bytes
    mechanism = (
        Mechanism.AES_KEY_GEN if args.algorithm == "aes" else Mechanism.GENERIC_SECRET_KEY_GEN
    )
    _session_warning(session, args)
    key = session.remember(session.logged_in().generate_key(mechanism, template))
    _share_new(key, args.share_crypto_users)
    described = describe_key(key, verbose=True)
    return Outcome({"key": described}, key_text(described))


def _generate_pair(session: Session, args: argparse.Namespace) -> Outcome:
    from strongroom.crypto import ec_params_for_curve

    public = _template(args.public_label, args.session, args.public_attributes)
    private = _template(args.private_label, args.session, args.private_attributes)
    if args.algorithm == "rsa":
        mechanism = Mechanism.RSA_PKCS_KEY_PAIR_GEN
        exponent: int = args.public_exponent
        if exponent < 3:
            raise UsageError("--public-exponent must be an odd number of at least 3")
        public[Attribute.MODULUS_BITS] = args.modulus_size_bits
        public[Attribute.PUBLIC_EXPONENT] = exponent.to_bytes(
            (exponent.bit_length() + 7) // 8, "big"
        )
    elif args.algorithm == "ec":
        mechanism = Mechanism.EC_KEY_PAIR_GEN
        public[Attribute.EC_PARAMS] = ec_params_for_curve(args.curve)
    else:
        mechanism = Mechanism.EC_EDWARDS_KEY_PAIR_GEN
        public[Attribute.EC_PARAMS] = ec_params_for_curve("ed25519")
    _session_warning(session, args)
    public_key, private_key = session.logged_in().generate_key_pair(mechanism, public, private)
    session.remember(public_key)
    session.remember(private_key)
    _share_new(private_key, args.share_crypto_users)
    data = {
        "public_key": describe_key(public_key, verbose=True),
        "private_key": describe_key(private_key, verbose=True),
    }
    text = "\n\n".join(f"{name}:\n{key_text(data[name])}" for name in ("public_key", "private_key"))
    return Outcome(data, text)


def _list(session: Session, args: argparse.Namespace) -> Outcome:
    keys = find_keys(session, parse_selector(args.filter))
    described = [describe_key(key, verbose=args.verbose) for key in keys]
    data = {"matched_keys": described, "total_key_count": len(described)}
    if args.verbose:
        text = "\n\n".join(key_text(d) for d in described)
    else:
        columns = [Attribute.CLASS, Attribute.KEY_TYPE, Attribute.LABEL, Attribute.TOKEN]
        names = [attribute_name(a) for a in columns]
        rows = [
            [d["key-reference"], *(value_text(d["attributes"].get(n)) for n in names)]
            for d in described
        ]
        text = table(["KEY-REFERENCE", *(n.upper() for n in names)], rows)
    noun = "key" if len(described) == 1 else "keys"
    return Outcome(data, f"{text}\n{len(described)} {noun}" if described else "no keys match")


def _share(session: Session, args: argparse.Namespace) -> Outcome:
    key = select_key(session, selector_from(args))
    key.share(args.target)
    reference = handle_text(key.handle)
    data = {"key-reference": reference, "username": args.target, "shared": True}
    return Outcome(data, f"shared {reference} with {args.target}")


def _unshare(session: Session, args: argparse.Namespace) -> Outcome:
    key = select_key(session, selector_from(args))
    key.unshare(args.target)
    reference = handle_text(key.handle)
    data = {"key-reference": reference, "username": args.target, "shared": False}
    return Outcome(data, f"{args.target} may no longer use {reference}")


def _set_attribute(session: Session, args: argparse.Namespace) -> Outcome:
    attr = parse_attribute(args.name)
    value = parse_value(attr, args.value)
    key = select_key(session, selector_from(args))
    key.set_attributes({attr: value})
    described = describe_key(key, verbose=True)
    return Outcome({"key": described}, key_text(described))


def _delete(session: Session, args: argparse.Namespace) -> Outcome:
    key = select_key(session, selector_from(args))
    key.destroy()
    reference = handle_text(key.handle)
    return Outcome({"key-reference": reference, "deleted": True}, f"deleted {reference}")
