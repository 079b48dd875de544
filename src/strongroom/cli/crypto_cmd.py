"""``strongroom crypto …``: sign, verify, encrypt, decrypt, digest, HMAC and random bytes.

This module owns the crypto commands' grammar (CloudHSM CLI's ``crypto sign ecdsa
--hash-function sha256 --filter attr.label=x --data …``) and the mapping from those words
to mechanisms and parameters. Data comes in base64 (``--data``) or from a file
(``--data-path``, streamed multi-part when large); results are base64 in JSON. A signature
that does not verify is a failure (exit 1, ``SIGNATURE_INVALID``), never a ``false``.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

from strongroom.cli.binary_io import (
    add_data_options,
    add_hex_option,
    b64,
    data_source,
    decode_base64,
    read_small,
    shown,
    write_file,
)
from strongroom.cli.key_attrs import add_key_selector, handle_text, select_key, selector_from
from strongroom.cli.output import UsageError, human_size
from strongroom.cli.session import Outcome, Session, add_command
from strongroom.client import Key
from strongroom.constants import Mechanism
from strongroom.model.params import GCMParams, OAEPParams, PSSParams

__all__ = ["configure"]

_M = Mechanism
HASHES: Final = ("sha1", "sha224", "sha256", "sha384", "sha512")
_SIGN: Final[dict[str, dict[str, Mechanism]]] = {
    "ecdsa": {
        "sha1": _M.ECDSA_SHA1,
        "sha224": _M.ECDSA_SHA224,
        "sha256": _M.ECDSA_SHA256,
        "sha384": _M.ECDSA_SHA384,
        "sha512": _M.ECDSA_SHA512,
    },
    "rsa-pkcs": {
        "sha1": _M.SHA1_RSA_PKCS,
        "sha224": _M.SHA224_RSA_PKCS,
        "sha256": _M.SHA256_RSA_PKCS,
        "sha384": _M.SHA384_RSA_PKCS,
        "sha512": _M.SHA512_RSA_PKCS,
    },
    "rsa-pss": {
        "sha1": _M.SHA1_RSA_PKCS_PSS,
        "sha224": _M.SHA224_RSA_PKCS_PSS,
        "sha256": _M.SHA256_RSA_PKCS_PSS,
        "sha384": _M.SHA384_RSA_PKCS_PSS,
        "sha512": _M.SHA512_RSA_PKCS_PSS,
    },
}
_DIGESTS: Final = {
    "sha1": _M.SHA_1,
    "sha224": _M.SHA224,
    "sha256": _M.SHA256,
    "sha384": _M.SHA384,
    "sha512": _M.SHA512,
    "sha3-224": _M.SHA3_224,
    "sha3-256": _M.SHA3_256,
    "sha3-384": _M.SHA3_384,
    "sha3-512": _M.SHA3_512,
}
_HMACS: Final = {
    "sha1": _M.SHA_1_HMAC,
    "sha224": _M.SHA224_HMAC,
    "sha256": _M.SHA256_HMAC,
    "sha384": _M.SHA384_HMAC,
    "sha512": _M.SHA512_HMAC,
}
_CIPHERS: Final = {
    "aes-gcm": _M.AES_GCM,
    "aes-cbc-pad": _M.AES_CBC_PAD,
    "rsa-oaep": _M.RSA_PKCS_OAEP,
}
_MAX_RANDOM: Final = 1 << 20


def configure(parser: argparse.ArgumentParser) -> None:
    """The ``crypto`` subcommands."""
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for action, handler in (("sign", _sign), ("verify", _verify)):
        group = sub.add_parser(action, help=f"{action} with a key (ecdsa, rsa-pkcs, …)")
        algorithms = group.add_subparsers(dest="algorithm", metavar="ALGORITHM", required=True)
        for name in ("ecdsa", "rsa-pkcs", "rsa-pss", "ed25519"):
            aliases = ("rsa-pkcs-pss",) if name == "rsa-pss" else ()
            leaf = add_command(algorithms, name, handler, f"{action} with {name}", aliases=aliases)
            leaf.set_defaults(algorithm=name)
            if name != "ed25519":
                leaf.add_argument("--hash-function", choices=HASHES, default="sha256")
            if name == "rsa-pss":
                leaf.add_argument("--salt-length", type=int, help="default: the hash length")
            add_key_selector(leaf)
            add_data_options(leaf)
            if action == "verify":
                add_data_options(leaf, "signature", "the signature")
            else:
                add_hex_option(leaf)
    for action, handler in (("encrypt", _encrypt), ("decrypt", _decrypt)):
        group = sub.add_parser(action, help=f"{action} with a key (aes-gcm, aes-cbc-pad, rsa-oaep)")
        algorithms = group.add_subparsers(dest="algorithm", metavar="ALGORITHM", required=True)
        for name in _CIPHERS:
            leaf = add_command(algorithms, name, handler, f"{action} with {name}")
            add_key_selector(leaf)
            add_data_options(leaf)
            if name.startswith("aes-"):
                leaf.add_argument(
                    "--iv",
                    metavar="BASE64",
                    help="GCM: 12 bytes (default: the HSM makes one and prepends it);"
                    " CBC: 16 bytes (default on encrypt: random, shown in the output)",
                )
            if name == "aes-gcm":
                leaf.add_argument("--aad", metavar="BASE64", help="additional authenticated data")
            if name == "rsa-oaep":
                leaf.add_argument("--hash-function", choices=HASHES, default="sha256")
            leaf.add_argument("--out", type=Path, metavar="FILE", help="write the result here")
            add_hex_option(leaf)
    digest = add_command(sub, "digest", _digest, "hash data in the HSM")
    digest.add_argument("hash_function", choices=list(_DIGESTS), metavar="HASH")
    add_data_options(digest)
    add_hex_option(digest)
    hmac = add_command(sub, "hmac", _hmac, "HMAC data with a key (or verify a MAC with --mac)")
    hmac.add_argument("hash_function", choices=list(_HMACS), metavar="HASH")
    add_key_selector(hmac)
    add_data_options(hmac)
    hmac.add_argument("--mac", metavar="BASE64", help="verify this MAC instead of printing one")
    add_hex_option(hmac)
    random = add_command(sub, "random", _random, "random bytes from an HSM's DRBG")
    random.add_argument("--length", type=int, required=True, help="how many bytes")
    add_hex_option(random)


def _label(args: argparse.Namespace, verb: str) -> str:
    path = getattr(args, "data_path", None)
    return f"{verb} {path.name if path is not None else 'data'}"


def _sign_mechanism(args: argparse.Namespace) -> tuple[Mechanism, object]:
    if args.algorithm == "ed25519":
        return _M.EDDSA, None
    mechanism = _SIGN[args.algorithm][args.hash_function]
    if args.algorithm == "rsa-pss":
        return mechanism, PSSParams(args.hash_function.upper(), args.salt_length)
    return mechanism, None


def _sign(session: Session, args: argparse.Namespace) -> Outcome:
    mechanism, params = _sign_mechanism(args)
    with data_source(args, _label(args, "signing")) as data:
        key = select_key(session, selector_from(args))
        signature = key.sign(mechanism, data, params)
    result = {"key-reference": handle_text(key.handle), "signature": b64(signature)}
    return Outcome(result, shown(signature, args))


def _verify(session: Session, args: argparse.Namespace) -> Outcome:
    mechanism, params = _sign_mechanism(args)
    signature = read_small(args, "signature", limit=1 << 16)
    with data_source(args, _label(args, "verifying")) as data:
        key = select_key(session, selector_from(args))
        key.verify(mechanism, data, signature, params)
    return Outcome({"key-reference": handle_text(key.handle), "verified": True}, "verified")


def _iv(args: argparse.Namespace, size: int) -> bytes | None:
    if getattr(args, "iv", None) is None:
        return None
    iv = decode_base64(args.iv, "--iv")
    if len(iv) != size:
        raise UsageError(f"--iv must be {size} bytes for {args.algorithm}, not {len(iv)}")
    return iv


def _cipher_params(
    session: Session, args: argparse.Namespace, encrypt: bool
) -> tuple[object, bytes | None]:
    """(params, IV to show) for the cipher; a CBC IV is made when encrypting without one."""
    if args.algorithm == "aes-gcm":
        aad = decode_base64(args.aad, "--aad") if args.aad else b""
        return GCMParams(iv=_iv(args, 12), aad=aad), None
    if args.algorithm == "aes-cbc-pad":
        iv = _iv(args, 16)
        if iv is None:
            if not encrypt:
                raise UsageError("aes-cbc-pad decryption needs the --iv used to encrypt")
            made = session.logged_in().generate_random(16)
            return made, made
        return iv, None
    return OAEPParams(args.hash_function.upper()), None


def _cipher(session: Session, args: argparse.Namespace, encrypt: bool) -> Outcome:
    params, made_iv = _cipher_params(session, args, encrypt)
    mechanism = _CIPHERS[args.algorithm]
    verb = "encrypting" if encrypt else "decrypting"
    name = "ciphertext" if encrypt else "plaintext"
    with data_source(args, _label(args, verb)) as data:
        key = select_key(session, selector_from(args))
        result: dict[str, Any] = {"key-reference": handle_text(key.handle)}
        if made_iv is not None:
            result["iv"] = b64(made_iv)
        if args.out is not None:
            size = write_file(args.out, _run_cipher(key, mechanism, data, params, encrypt))
            result[f"{name}_path"] = str(args.out)
            text = f"wrote {human_size(size)} of {name} to {args.out}"
            if made_iv is not None:
                text += f"\niv  {shown(made_iv, args)}"
            return Outcome(result, text)
        output = b"".join(_run_cipher(key, mechanism, data, params, encrypt))
    result[name] = b64(output)
    text = shown(output, args)
    if made_iv is not None:
        text = f"iv          {shown(made_iv, args)}\nciphertext  {text}"
    return Outcome(result, text)


def _run_cipher(
    key: Key, mechanism: Mechanism, data: bytes | Iterable[bytes], params: object, encrypt: bool
) -> Iterable[bytes]:
    if isinstance(data, bytes):
        return [
            key.encrypt(mechanism, data, params)
            if encrypt
            else key.decrypt(mechanism, data, params)
        ]
    if encrypt:
        return key.encrypt_stream(mechanism, data, params)
    return key.decrypt_stream(mechanism, data, params)


def _encrypt(session: Session, args: argparse.Namespace) -> Outcome:
    return _cipher(session, args, encrypt=True)


def _decrypt(session: Session, args: argparse.Namespace) -> Outcome:
    return _cipher(session, args, encrypt=False)


def _digest(session: Session, args: argparse.Namespace) -> Outcome:
    client = session.logged_in()
    with data_source(args, _label(args, "hashing")) as data:
        digest = client.digest(_DIGESTS[args.hash_function], data)
    return Outcome(
        {"hash_function": args.hash_function, "digest": b64(digest)}, shown(digest, args)
    )


def _hmac(session: Session, args: argparse.Namespace) -> Outcome:
    mechanism = _HMACS[args.hash_function]
    expected = decode_base64(args.mac, "--mac") if args.mac is not None else None
    with data_source(args, _label(args, "authenticating")) as data:
        key = select_key(session, selector_from(args))
        reference = handle_text(key.handle)
        if expected is not None:
            key.verify(mechanism, data, expected)
            return Outcome({"key-reference": reference, "verified": True}, "verified")
        mac = key.sign(mechanism, data)
    return Outcome({"key-reference": reference, "mac": b64(mac)}, shown(mac, args))


def _random(session: Session, args: argparse.Namespace) -> Outcome:
    if not 1 <= args.length <= _MAX_RANDOM:
        raise UsageError(f"--length must be 1-{_MAX_RANDOM}")
    data = session.logged_in().generate_random(args.length)
    return Outcome({"random": b64(data)}, shown(data, args))
