"""``strongroom user create|delete|list|change-password``: the HSM's users.

This module owns the user commands' arguments and output. New passwords come from
``STRONGROOM_NEW_PASSWORD`` or a prompt that asks twice; they are never arguments and never
printed. Who may do what is the HSM's decision (admins manage users; everyone logged in
may list them and change their own password).
"""

from __future__ import annotations

import argparse
from typing import Any

from strongroom.cli.output import table
from strongroom.cli.session import ENV_NEW_PASSWORD, Outcome, Session, add_command
from strongroom.constants import Role

__all__ = ["configure"]

ROLES = ("admin", "crypto-user", "appliance")


def configure(parser: argparse.ArgumentParser) -> None:
    """The ``user`` subcommands."""
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = add_command(
        sub,
        "create",
        _create,
        "admins: add a user (password from STRONGROOM_NEW_PASSWORD or a prompt)",
        login_flag="--login-username",
    )
    create.add_argument("--username", dest="target", required=True, help="the new user")
    create.add_argument("--role", required=True, choices=ROLES, help="the new user's role")
    delete = add_command(
        sub,
        "delete",
        _delete,
        "admins: remove a user (who must own no keys)",
        login_flag="--login-username",
    )
    delete.add_argument("--username", dest="target", required=True, help="the user to remove")
    add_command(sub, "list", _list, "every user: name, role, lockout state")
    change = add_command(
        sub,
        "change-password",
        _change_password,
        "change your password, or (admins) another user's; the new one from"
        " STRONGROOM_NEW_PASSWORD or a prompt",
        login_flag="--login-username",
    )
    change.add_argument("--username", dest="target", help="whose password (default: yours)")


def _create(session: Session, args: argparse.Namespace) -> Outcome:
    client = session.logged_in()
    password = session.secret(f"Password for {args.target}: ", ENV_NEW_PASSWORD, confirm=True)
    client.create_user(args.target, password, Role(args.role))
    data = {"username": args.target, "role": args.role}
    return Outcome(data, f"created user {args.target} ({args.role})")


def _delete(session: Session, args: argparse.Namespace) -> Outcome:
    session.logged_in().delete_user(args.target)
    return Outcome({"username": args.target}, f"deleted user {args.target}")


def _list(session: Session, args: argparse.Namespace) -> Outcome:
    users: list[dict[str, Any]] = session.logged_in().list_users()
    rows = [
        [
            u.get("username"),
            u.get("role"),
            "yes" if u.get("locked") else "no",
            u.get("failed_logins", 0),
        ]
        for u in users
    ]
    text = table(["USERNAME", "ROLE", "LOCKED", "FAILED LOGINS"], rows)
    return Outcome({"users": users}, text)


def _change_password(session: Session, args: argparse.Namespace) -> Outcome:
    client = session.logged_in()
    whose = args.target or client.username
    password = session.secret(f"New password for {whose}: ", ENV_NEW_PASSWORD, confirm=True)
    client.change_password(password, username=args.target)
    return Outcome({"username": whose}, f"changed the password of {whose}")
