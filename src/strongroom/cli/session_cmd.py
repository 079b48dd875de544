"""The CloudHSM-CLI-shaped command tree: ``login``, ``logout``, ``user``, ``key``, ``crypto``,
``cluster`` and ``shell``.

This module owns the tree's grammar (one parser, built here, used both for single commands
and inside the shell), ``login``/``logout``, and turning argv into a run: parse, open a
``Session``, run the command's handler, print one result. Usage errors become exit code 2
(and, with ``--output json``, a JSON error document) instead of argparse's own exit. The
commands themselves live in ``user_cmd``, ``key_cmd``, ``key_transfer_cmd``,
``crypto_cmd`` and ``cluster_cmd``; the interactive loop in ``shell``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final, NoReturn

from strongroom.cli.output import EXIT_USAGE, UsageError

if TYPE_CHECKING:
    from strongroom.cli.session import Outcome, Session

__all__ = ["COMMANDS", "add_placeholders", "build_parser", "handles", "main", "run_parsed"]

COMMANDS: Final = {
    "login": "log in (single-command mode: check the credentials)",
    "logout": "log out",
    "user": "HSM users: create, delete, list, change-password",
    "key": "keys: generate, list, share, set-attribute, wrap, unwrap, import, export, delete",
    "crypto": "sign, verify, encrypt, decrypt, digest, hmac, random",
    "cluster": "the cluster: info, mtls get/set-enforcement, audit",
    "shell": "an interactive shell: log in once, run many commands",
}
_VALUE_OPTIONS: Final = frozenset(
    {"--data-dir", "--endpoints", "--username", "--login-username", "--output"}
)


class CommandParser(argparse.ArgumentParser):
    """An argparse parser whose errors raise ``UsageError`` instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise ParseError(message, self.format_usage())

    def format_usage(self) -> str:
        return super().format_usage().replace("usage:  ", "usage: ")

    def format_help(self) -> str:
        return super().format_help().replace("usage:  ", "usage: ")


class ParseError(UsageError):
    """The command line does not parse; carries the usage line of the command."""

    def __init__(self, message: str, usage: str) -> None:
        super().__init__(message)
        self.usage = usage


def build_parser(*, for_shell: bool = False) -> CommandParser:
    """The whole tree (inside the shell: without ``shell`` and without the ``strongroom``)."""
    from strongroom.cli import cluster_cmd, crypto_cmd, key_cmd, user_cmd
    from strongroom.cli.session import add_command, add_session_options

    root = CommandParser(
        prog="" if for_shell else "strongroom",
        description="Strongroom's CloudHSM-CLI-shaped commands (docs/cli.md).",
    )
    if not for_shell:
        add_session_options(root, top=True)
    sub = root.add_subparsers(dest="group", metavar="COMMAND", required=True)
    add_command(sub, "login", _login, COMMANDS["login"])
    add_command(sub, "logout", _logout, COMMANDS["logout"])
    for name, module in (
        ("user", user_cmd),
        ("key", key_cmd),
        ("crypto", crypto_cmd),
        ("cluster", cluster_cmd),
    ):
        group = sub.add_parser(name, help=COMMANDS[name], description=COMMANDS[name])
        module.configure(group)
    if not for_shell:
        add_command(sub, "shell", _not_here, COMMANDS["shell"])
    return root


def add_placeholders(sub: Any) -> None:
    """List the commands in ``strongroom --help`` (``main`` hands them to ``run`` first)."""
    for name, summary in COMMANDS.items():
        sub.add_parser(name, help=summary, add_help=False)


def handles(argv: Sequence[str]) -> bool:
    """Whether the first word of ``argv`` that is not an option is one of these commands."""
    skip = False
    for token in argv:
        if skip:
            skip = False
            continue
        if token in _VALUE_OPTIONS:
            skip = True
            continue
        if token.startswith("-"):
            continue
        return token in COMMANDS
    return False


def wants_json(argv: Sequence[str], default: str = "text") -> bool:
    """Whether the last ``--output`` says json (so even a usage error is reported as JSON)."""
    tokens = list(argv)
    output = default
    for index, token in enumerate(tokens):
        if token.startswith("--output="):
            output = token.partition("=")[2]
        elif token == "--output" and index + 1 < len(tokens):  # noqa: S105 - a flag
            output = tokens[index + 1]
    return output == "json"


def main(argv: Sequence[str]) -> int:
    """Run one command line (the ``shell`` command starts the interactive loop)."""
    from strongroom.cli.session import ConnectionOptions, Session, emit_failure

    json_mode = wants_json(argv)
    try:
        args = build_parser().parse_args(list(argv))
    except ParseError as exc:
        if not json_mode:
            print(exc.usage, end="", file=sys.stderr)
        return emit_failure(EXIT_USAGE, "USAGE_ERROR", str(exc), json_mode)
    session = Session(ConnectionOptions.from_args(args), login_username=args.login_username)
    if args.group == "shell":
        from strongroom.cli.shell import run_shell

        return run_shell(session, args)
    try:
        return run_parsed(session, args, default_output=args.output)
    finally:
        session.close()


def run_parsed(session: Session, args: argparse.Namespace, *, default_output: str) -> int:
    """Run a parsed command in ``session``."""
    from strongroom.cli.session import run_handler

    json_mode = getattr(args, "output", default_output) == "json"
    return run_handler(args.handler, session, args, json_mode)


def _login(session: Session, args: argparse.Namespace) -> Outcome:
    from strongroom.cli.session import Outcome

    username = getattr(args, "login_username", None) or session.login_username
    name, role = session.login(username)
    data = {"username": name, "role": role.value}
    return Outcome(data, f"logged in as {name} ({role.value})")


def _logout(session: Session, args: argparse.Namespace) -> Outcome:
    from strongroom.cli.session import Outcome

    was = session.username
    session.logout()
    if not session.in_shell:
        return Outcome({"message": "nothing to do: single commands log in for themselves"}, "")
    return Outcome({"username": was}, f"logged out {was}" if was else "nobody was logged in")


def _not_here(session: Session, args: argparse.Namespace) -> Outcome:
    raise UsageError("the shell is already running")
