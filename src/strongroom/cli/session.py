"""One CLI session: where the HSMs are, who is logged in, and how a command's result is shown.

This module owns what every session command (``login``, ``user``, ``key``, ``crypto``,
``cluster`` and the ``shell``) shares: the connection options (``--data-dir``,
``--endpoints`` or the ``STRONGROOM_*`` environment), the credentials (``--username`` or
``STRONGROOM_USERNAME``; the password from ``STRONGROOM_PASSWORD`` or a prompt, never a
flag), the ``HSMClient`` a command uses, and the one place a command's result or failure
becomes output and an exit code. JSON output is exactly one document, ``{"error_code": 0,
"data": …}`` or ``{"error_code": N, "error": {"code": …, "message": …}}``. Passwords are
read here and handed straight to the SDK's login (which keeps them only to log in to the
cluster's other HSMs); they are never printed, logged or stored.
"""

from __future__ import annotations

import argparse
import base64
import getpass
import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TextIO

from strongroom.cli.output import (
    EXIT_AUTH,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    UsageError,
    print_json,
)
from strongroom.client import ClientConfig, HSMClient, Key
from strongroom.constants import Role
from strongroom.errors import (
    AccessDenied,
    AuthenticationError,
    HSMUnavailable,
    NetworkError,
    NotLoggedIn,
    StrongroomError,
)

__all__ = [
    "CONNECTION_OPTIONS",
    "ENV_NEW_PASSWORD",
    "ENV_PASSWORD",
    "ENV_USERNAME",
    "ConnectionOptions",
    "Handler",
    "Outcome",
    "Session",
    "add_command",
    "add_session_options",
    "emit_failure",
    "emit_outcome",
    "failure_of",
    "run_handler",
]

DEFAULT_DATA_DIR: Final = Path("strongroom-data")
CONNECTION_OPTIONS: Final = ("--data-dir", "--endpoints")
"""Options that name the cluster; fixed for the life of a shell."""
ENV_USERNAME: Final = "STRONGROOM_USERNAME"
ENV_PASSWORD: Final = "STRONGROOM_PASSWORD"  # noqa: S105 - the variable's name, not a secret
ENV_NEW_PASSWORD: Final = "STRONGROOM_NEW_PASSWORD"  # noqa: S105 - the variable's name


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a command did: ``data`` for JSON, ``text`` for people (empty: print nothing)."""

    data: Any
    text: str = ""


@dataclass(frozen=True, slots=True)
class ConnectionOptions:
    """``--data-dir`` / ``--endpoints`` as given (``None``: ask the environment)."""

    data_dir: Path | None = None
    endpoints: Path | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ConnectionOptions:
        """The options of a parsed command line."""
        return cls(getattr(args, "data_dir", None), getattr(args, "endpoints", None))


def add_session_options(
    parser: argparse.ArgumentParser, *, login_flag: str = "--username", top: bool = False
) -> None:
    """The connection, credential and output options every session command takes.

    On the top-level parser (``top``) they have defaults; on each command they default to
    "not given", so ``strongroom --output json key list`` and ``strongroom key list
    --output json`` mean the same. Commands whose own ``--username`` names another user
    (``user create``, ``key share``…) take the login name as ``--login-username``.
    """
    default: Any = None if top else argparse.SUPPRESS
    group = parser.add_argument_group("connection and output")
    group.add_argument(
        "--data-dir",
        type=Path,
        default=default,
        metavar="DIR",
        help="the cluster `strongroom up` made (DIR/endpoints.json; default ./strongroom-data)",
    )
    group.add_argument(
        "--endpoints",
        type=Path,
        default=default,
        metavar="FILE",
        help="an endpoints.json naming the HSMs (else STRONGROOM_ENDPOINTS / STRONGROOM_HSMS)",
    )
    names = [login_flag] if login_flag == "--login-username" else [login_flag, "--login-username"]
    group.add_argument(
        *names,
        dest="login_username",
        default=default,
        metavar="USER",
        help=f"who logs in (else {ENV_USERNAME}); the password comes from {ENV_PASSWORD}"
        " or a prompt",
    )
    group.add_argument(
        "--output",
        choices=["text", "json"],
        default="text" if top else argparse.SUPPRESS,
        help="text tables for people, or one JSON document",
    )


class Session:
    """A connection to one cluster and, once someone logs in, their login.

    In single-command mode (``in_shell=False``) a command that needs a user logs in with the
    credentials from the options and environment; in the shell, ``login`` does that once and
    later commands reuse it. Session keys a command makes stay reachable through ``key()``.
    """

    def __init__(
        self,
        options: ConnectionOptions,
        *,
        in_shell: bool = False,
        login_username: str | None = None,
        environ: Mapping[str, str] | None = None,
        stdin: TextIO | None = None,
        ask_secret: Callable[[str], str] = getpass.getpass,
    ) -> None:
        self.options = options
        self.in_shell = in_shell
        self.login_username = login_username
        self.environ = os.environ if environ is None else environ
        self._stdin = stdin
        self._ask_secret = ask_secret
        self._config: ClientConfig | None = None
        self._client: HSMClient | None = None
        self._session_keys: dict[int, Key] = {}

    def __repr__(self) -> str:
        return f"Session({self.options}, in_shell={self.in_shell}, user={self.username!r})"

    @property
    def stdin(self) -> TextIO:
        """Where prompts read from (the shell's script, or the terminal)."""
        return self._stdin if self._stdin is not None else sys.stdin

    # --- where the cluster is -------------------------------------------------------------------

    def config(self) -> ClientConfig:
        """The client settings from the options, else from the environment (see module doc)."""
        if self._config is None:
            self._config = self._load_config()
        return self._config

    def _load_config(self) -> ClientConfig:
        path = self.options.endpoints
        if path is None and self.options.data_dir is not None:
            path = self.options.data_dir / "endpoints.json"
        if path is None:
            if not any(
                self.environ.get(name)
                for name in ("STRONGROOM_ENDPOINTS", "STRONGROOM_HSMS", "STRONGROOM_CONFIG")
            ):
                path = DEFAULT_DATA_DIR / "endpoints.json"
            else:
                try:
                    return ClientConfig.discover(self.environ)
                except (ValueError, KeyError, OSError) as exc:
                    raise UsageError(f"the STRONGROOM_* settings are wrong: {exc}") from exc
        if not path.exists():
            if path.parent.is_dir() and path.name == "endpoints.json":
                raise HSMUnavailable(
                    f"no cluster is running in {path.parent} (it has no endpoints.json): start"
                    f" it with `strongroom up --data-dir {path.parent}`"
                )
            raise UsageError(
                f"{path} does not exist: give --data-dir DIR (of `strongroom up`) or"
                " --endpoints FILE, or set STRONGROOM_ENDPOINTS"
            )
        try:
            return ClientConfig.from_endpoints(path)
        except (ValueError, KeyError) as exc:
            raise UsageError(f"{path} is not a usable endpoints file: {exc}") from exc

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory (for the shell's history), or the current one."""
        if self.options.data_dir is not None:
            return self.options.data_dir
        if self.options.endpoints is not None:
            return self.options.endpoints.parent
        try:
            named = self.config().endpoints.get("data_dir")
        except (UsageError, StrongroomError):
            named = None
        return Path(named) if named else Path.cwd()

    # --- the client and the login ---------------------------------------------------------------

    def client(self) -> HSMClient:
        """A connected client (nobody need be logged in)."""
        if self._client is None:
            self._client = HSMClient.connect(self.config())
        return self._client

    @property
    def username(self) -> str | None:
        """Who is logged in (None: nobody)."""
        return self._client.username if self._client is not None else None

    def logged_in(self) -> HSMClient:
        """The client with a user logged in (single-command mode logs in now)."""
        client = self.client()
        if client.username is None:
            if self.in_shell:
                raise NotLoggedIn("nobody is logged in: run `login` first")
            self.login(self.login_username)
        return client

    def login(self, username: str | None) -> tuple[str, Role]:
        """Log in as ``username`` (else the environment or a prompt); returns (name, role)."""
        client = self.client()  # no password is asked for a cluster that does not answer
        name = username or self.environ.get(ENV_USERNAME) or self.ask("Username: ", ENV_USERNAME)
        password = self.secret("Password: ", ENV_PASSWORD)
        self._session_keys.clear()
        role = client.login(name, password)
        return name, role

    def logout(self) -> None:
        """Log out (session keys go with the login)."""
        self._session_keys.clear()
        if self._client is not None:
            self._client.logout()

    def remember(self, key: Key) -> Key:
        """Keep a key the session made (a session key stays tied to its HSM session)."""
        if key.pin is not None:
            self._session_keys[key.handle] = key
        return key

    def key(self, handle: int) -> Key:
        """A reference to ``handle`` (the pinned one if this session made it)."""
        known = self._session_keys.get(handle)
        return known if known is not None else self.client().key(handle)

    def close(self) -> None:
        """Close the connections (the HSMs end this client's sessions)."""
        self._session_keys.clear()
        if self._client is not None:
            self._client.close()
            self._client = None

    # --- prompts --------------------------------------------------------------------------------

    def ask(self, prompt: str, env: str) -> str:
        """A line from the terminal, or from the shell's script; else name the variable."""
        if self.stdin.isatty():
            return input(prompt).strip()
        return self._script_line(prompt, env)

    def secret(self, prompt: str, env: str, *, confirm: bool = False) -> str:
        """A secret from ``env``, else a prompt that does not echo (or the shell's script)."""
        value = self.environ.get(env)
        if value:
            return value
        if self.stdin.isatty():
            value = self._ask_secret(prompt)
            if confirm and self._ask_secret("Repeat it: ") != value:
                raise UsageError("the two entries differ")
        else:
            value = self._script_line(prompt, env)
        if not value:
            raise UsageError("an empty password is not accepted")
        return value

    def _script_line(self, prompt: str, env: str) -> str:
        if not self.in_shell:
            what = prompt.rstrip(": ").lower()
            raise UsageError(f"no {what}: set {env} (or run the command in a terminal)")
        line = self.stdin.readline()
        if not line:
            raise UsageError(f"the input ended while asking for {prompt.rstrip(': ').lower()}")
        return line.rstrip("\r\n")


# --- results and failures ---------------------------------------------------------------------

Handler = Callable[[Session, argparse.Namespace], Outcome]
"""What runs a command: the session and the parsed arguments in, an ``Outcome`` out."""


def failure_of(exc: BaseException) -> tuple[int, str, str] | None:
    """(exit code, stable code, message) for a failure the CLI reports; None: not ours."""
    if isinstance(exc, UsageError):
        return EXIT_USAGE, "USAGE_ERROR", str(exc)
    if isinstance(exc, AuthenticationError | AccessDenied):
        return EXIT_AUTH, exc.code, exc.message
    if isinstance(exc, NetworkError):
        return EXIT_UNAVAILABLE, exc.code, exc.message
    if isinstance(exc, StrongroomError):
        return EXIT_FAILED, exc.code, exc.message
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return EXIT_FAILED, "IO_ERROR", f"{exc.strerror or type(exc).__name__}{where}"
    if isinstance(exc, KeyboardInterrupt):
        return 130, "INTERRUPTED", "interrupted"
    return None


def emit_outcome(outcome: Outcome, json_mode: bool) -> int:
    """Print a command's result; returns exit code 0."""
    if json_mode:
        document = {"error_code": EXIT_OK, "data": outcome.data}
        print(json.dumps(document, indent=2, ensure_ascii=False, default=_json_default))
    elif outcome.text:
        print(outcome.text)
    sys.stdout.flush()
    return EXIT_OK


def _json_default(value: object) -> object:
    """Bytes in a result (audit details, HSM info) as base64; anything else by ``str``."""
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)


def emit_failure(exit_code: int, code: str, message: str, json_mode: bool) -> int:
    """Print a failure (JSON on stdout, else ``error: …`` on stderr); returns the exit code."""
    if json_mode:
        print_json({"error_code": exit_code, "error": {"code": code, "message": message}})
        sys.stdout.flush()
    else:
        plain = code in ("USAGE_ERROR", "IO_ERROR", "INTERRUPTED")
        print(f"error: {message if plain else f'[{code}] {message}'}", file=sys.stderr, flush=True)
    return exit_code


def run_handler(
    handler: Handler,
    session: Session,
    args: argparse.Namespace,
    json_mode: bool,
) -> int:
    """Run one command and report its result or failure."""
    try:
        outcome = handler(session, args)
    except (Exception, KeyboardInterrupt) as exc:
        failure = failure_of(exc)
        if failure is None:
            raise
        return emit_failure(*failure, json_mode)
    return emit_outcome(outcome, json_mode)


def add_command(
    sub: Any,
    name: str,
    handler: Handler,
    summary: str,
    *,
    login_flag: str = "--username",
    aliases: tuple[str, ...] = (),
) -> argparse.ArgumentParser:
    """A command (a leaf of the tree) with the session options and its handler."""
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help=summary, description=summary, aliases=list(aliases)
    )
    add_session_options(parser, login_flag=login_flag)
    parser.set_defaults(handler=handler)
    return parser
