"""``strongroom shell``: one login for many commands, driven by a script and by a terminal."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from strongroom.cli import main
from strongroom.cli.session_cmd import build_parser
from strongroom.cli.shell import HISTORY_FILE, completions

from .session_helpers import CLI, Cluster, Run, start_cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One running cluster for the module."""
    yield from start_cluster(tmp_path_factory)


def shell(
    cluster: Cluster,
    script: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *options: str,
) -> Run:
    """Run ``strongroom shell`` with ``script`` as standard input and no credentials set."""
    CLI(cluster, capsys, monkeypatch)  # clears the STRONGROOM_* variables
    monkeypatch.setattr(sys, "stdin", io.StringIO(script))
    capsys.readouterr()
    code = main(["shell", "--data-dir", str(cluster.data_dir), *options])
    out, err = capsys.readouterr()
    return Run(code, out, err)


def documents(text: str) -> list[Any]:
    """The JSON documents at the start of ``text``, in order (up to any plain text)."""
    decoder = json.JSONDecoder()
    found: list[Any] = []
    index = 0
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index == len(text) or text[index] != "{":
            return found
        document, index = decoder.raw_decode(text, index)
        found.append(document)


def test_login_once_then_commands_until_quit(
    cluster: Cluster, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """login reads the password once (the script's next line); later commands reuse it."""
    username, password = cluster.user
    script = (
        f"login --username {username}\n{password}\n"
        "key generate-symmetric aes --label in-shell\n"
        "key list --filter attr.label=in-shell\n"
        "crypto random --length 4\n"
        "quit\n"
        "key list\n"
    )
    run = shell(cluster, script, capsys, monkeypatch, "--output", "json")
    assert run.code == 0, run.err
    login, generated, listed, random = documents(run.out)
    assert login["data"] == {"username": username, "role": "crypto-user"}
    assert generated["data"]["key"]["attributes"]["label"] == "in-shell"
    assert listed["data"]["total_key_count"] == 1
    assert random["error_code"] == 0
    assert password not in run.out + run.err


def test_session_keys_live_as_long_as_the_login(
    cluster: Cluster, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A --session key is usable by later commands, and gone after logout and a new login."""
    username, password = cluster.user
    script = (
        f"login --username {username}\n{password}\n"
        "key generate-symmetric aes --session --label fleeting\n"
        "crypto encrypt aes-gcm --filter attr.label=fleeting --data aGk=\n"
        "logout\n"
        f"login --username {username}\n{password}\n"
        "key list --filter attr.label=fleeting\n"
    )
    run = shell(cluster, script, capsys, monkeypatch, "--output", "json")
    results = documents(run.out)
    assert [d["error_code"] for d in results] == [0, 0, 0, 0, 0, 0]
    assert results[1]["data"]["key"]["attributes"]["token"] is False
    assert results[2]["data"]["ciphertext"]
    assert results[3]["data"] == {"username": username}
    assert results[5]["data"]["total_key_count"] == 0
    assert "session key" not in run.err  # no single-command warning in the shell


def test_errors_do_not_end_the_shell(
    cluster: Cluster, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not logged in, a bad command, a connection option: each fails, the loop goes on."""
    username, password = cluster.user
    script = (
        "key list\n"
        "key frobnicate\n"
        "cluster info --data-dir /elsewhere\n"
        'key list --filter "attr.label=unterminated\n'
        "# a comment\n"
        "\n"
        "cluster info\n"
        f"login --username {username}\n{password}\n"
        "user list --output text\n"
    )  # no quit: the end of the input leaves
    run = shell(cluster, script, capsys, monkeypatch, "--output", "json")
    results = documents(run.out)
    codes = [d["error_code"] for d in results[:4]]
    assert codes == [3, 2, 2, 2]
    assert results[0]["error"]["code"] == "USER_NOT_LOGGED_IN"
    assert "--data-dir is fixed" in results[2]["error"]["message"]
    assert results[4]["data"]["hsms"][0]["state"] == "ACTIVE"
    assert results[5]["data"]["username"] == username
    assert "USERNAME" in run.out  # the last command asked for text


def test_text_output_in_the_shell(
    cluster: Cluster, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Text output is the same tables as single commands; help lists the commands."""
    username, password = cluster.user
    script = f"login --username {username}\n{password}\nhelp\nlogout\nexit\n"
    run = shell(cluster, script, capsys, monkeypatch)
    assert f"logged in as {username} (crypto-user)" in run.out
    assert "crypto" in run.out
    assert "cluster" in run.out
    assert f"logged out {username}" in run.out


def test_completion_of_commands_and_options() -> None:
    """Tab completion offers command words, then subcommands, then the command's options."""
    parser = build_parser(for_shell=True)
    top = completions(parser, "")
    assert {"login", "key", "crypto", "cluster", "help", "quit"} <= set(top)
    assert "shell" not in top
    assert {"list", "generate-symmetric", "wrap"} <= set(completions(parser, "key "))
    assert "generate-symmetric" in completions(parser, "key gen")
    options = completions(parser, "key list ")
    assert {"--filter", "--verbose", "--output"} <= set(options)
    assert {"aes", "generic-secret"} == set(completions(parser, "key generate-symmetric "))


def test_interactive_shell_on_a_terminal(cluster: Cluster, tmp_path: Path) -> None:
    """On a terminal: a prompt, getpass for the password, and history in DIR/.strongroom_history."""
    username, password = cluster.user
    history = cluster.data_dir / HISTORY_FILE
    history.unlink(missing_ok=True)
    script = Path(sys.executable).with_name("strongroom")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("STRONGROOM_")}
    environment["TERM"] = "dumb"
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [script, "shell", "--data-dir", cluster.data_dir],
        stdin=follower, stdout=follower, stderr=follower, env=environment,
        cwd=tmp_path, start_new_session=True,
    )  # fmt: skip
    os.close(follower)
    seen = b""

    def wait_for(text: bytes) -> None:
        nonlocal seen
        deadline = time.monotonic() + 30
        while text not in seen:
            assert time.monotonic() < deadline, seen
            ready, _, _ = select.select([leader], [], [], 0.5)
            if ready:
                try:
                    seen += os.read(leader, 4096)
                except OSError:
                    break
        assert text in seen, seen

    try:
        wait_for(b"strongroom> ")
        os.write(leader, f"login --username {username}\n".encode())
        wait_for(b"Password: ")
        os.write(leader, f"{password}\n".encode())
        wait_for(f"strongroom({username})> ".encode())
        os.write(leader, b"crypto random --length 4 --hex\n")
        wait_for(f"\nstrongroom({username})> ".encode())
        os.write(leader, b"quit\n")
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(leader)
    assert password.encode() not in seen  # getpass did not echo it
    assert "crypto random --length 4 --hex" in history.read_text()
    assert history.stat().st_mode & 0o777 == 0o600
