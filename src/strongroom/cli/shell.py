"""``strongroom shell``: every session command in one interactive session.

This module owns the loop: read a line (with readline history in DIR/.strongroom_history
and tab completion of commands and options when on a terminal; plain lines from a script
otherwise), parse it with the same tree as single commands, and run it in one ``Session``
whose ``HSMClient`` stays connected and logged in. ``login`` asks for the password once
(``STRONGROOM_PASSWORD`` if set; from a script, the next line); ``quit``, ``exit`` or
end of input leave. A failing command prints its error and the loop goes on.
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from strongroom.cli.output import EXIT_OK, EXIT_USAGE
from strongroom.cli.session import CONNECTION_OPTIONS, Session, emit_failure
from strongroom.cli.session_cmd import ParseError, build_parser, run_parsed, wants_json

__all__ = ["HISTORY_FILE", "completions", "run_shell"]

HISTORY_FILE: Final = ".strongroom_history"
_LEAVE: Final = frozenset({"quit", "exit"})
_EXTRA_WORDS: Final = ("help", "quit", "exit")
_HISTORY_LENGTH: Final = 1000


def run_shell(single: Session, args: argparse.Namespace) -> int:
    """Run the shell until ``quit``/``exit``/EOF; returns 0."""
    session = Session(single.options, in_shell=True, login_username=single.login_username)
    parser = build_parser(for_shell=True)
    interactive = sys.stdin.isatty()
    if interactive:
        print("Strongroom shell: `login`, then commands without `strongroom`; `help`, `quit`.")
    try:
        with _line_editing(session, parser, interactive):
            for line in _lines(session, interactive):
                if run_line(session, parser, line, default_output=args.output) is None:
                    break
    finally:
        session.close()
    return EXIT_OK


def run_line(
    session: Session, parser: argparse.ArgumentParser, line: str, *, default_output: str
) -> int | None:
    """Run one line; returns its exit code, or None when the line says leave."""
    try:
        words = shlex.split(line, comments=True)
    except ValueError as exc:
        return emit_failure(EXIT_USAGE, "USAGE_ERROR", str(exc), default_output == "json")
    if not words:
        return EXIT_OK
    if words[0] in _LEAVE:
        return None
    if words[0] == "help":
        parser.print_help()
        return EXIT_OK
    json_mode = wants_json(words, default_output)
    try:
        args = parser.parse_args(words)
    except ParseError as exc:
        if not json_mode:
            print(exc.usage, end="", file=sys.stderr)
        return emit_failure(EXIT_USAGE, "USAGE_ERROR", str(exc), json_mode)
    except SystemExit:  # --help printed the command's help
        return EXIT_OK
    given = [o for o in CONNECTION_OPTIONS if hasattr(args, o.lstrip("-").replace("-", "_"))]
    if given:
        message = f"{given[0]} is fixed when the shell starts (strongroom {given[0]} … shell)"
        return emit_failure(EXIT_USAGE, "USAGE_ERROR", message, json_mode)
    return run_parsed(session, args, default_output=default_output)


def _lines(session: Session, interactive: bool) -> Iterator[str]:
    while True:
        if interactive:
            user = session.username
            try:
                yield input(f"strongroom({user})> " if user else "strongroom> ")
            except EOFError:
                print()
                return
            except KeyboardInterrupt:
                print()
                continue
        else:
            line = sys.stdin.readline()
            if not line:
                return
            yield line


@contextlib.contextmanager
def _line_editing(
    session: Session, parser: argparse.ArgumentParser, interactive: bool
) -> Iterator[None]:
    """Readline history and completion for the length of the loop (terminals only)."""
    if not interactive:
        yield
        return
    try:
        import readline
    except ImportError:  # pragma: no cover - Python without readline
        yield
        return
    history: Path | None = session.data_dir / HISTORY_FILE
    if history is not None and not history.parent.is_dir():
        history = None
    if history is not None:
        with contextlib.suppress(OSError):
            readline.read_history_file(history)
    readline.set_history_length(_HISTORY_LENGTH)

    def complete(text: str, state: int) -> str | None:
        options = completions(parser, readline.get_line_buffer()[: readline.get_endidx()])
        matches = [o for o in options if o.startswith(text)]
        return matches[state] + " " if state < len(matches) else None

    readline.set_completer(complete)
    readline.set_completer_delims(" \t")
    readline.parse_and_bind("tab: complete")
    try:
        yield
    finally:
        readline.set_completer(None)
        if history is not None:
            with contextlib.suppress(OSError):
                readline.write_history_file(history)
                history.chmod(0o600)


def completions(parser: argparse.ArgumentParser, line: str) -> list[str]:
    """Words that may come next after ``line`` (commands, then the command's options)."""
    words = line.split()
    if line and not line[-1].isspace() and words:
        words = words[:-1]  # the word being typed
    current = parser
    extra: tuple[str, ...] = _EXTRA_WORDS
    for word in words:
        children = _children(current)
        if word in children:
            current = children[word]
            extra = ()
    children = _children(current)
    if children:
        return sorted([*children, *extra])
    return sorted(
        option
        for action in current._actions
        for option in action.option_strings
        if option.startswith("--")
    )


def _children(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}
