"""``strongroom login|logout|user|cluster``, the connection options and the exit codes.

Everything runs against a real cluster made by ``strongroom up``'s code, through
``strongroom.cli.main(argv)`` in-process (and once through the installed console script).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from strongroom.cli import main
from strongroom.cli.session_cmd import handles, wants_json

from .session_helpers import CLI, Cluster


def test_login_checks_credentials_and_prints_the_role(cli: CLI) -> None:
    """login in single-command mode logs in, reports the user and role, and exits 0."""
    assert cli.data("login") == {"username": "demo_user", "role": "crypto-user"}
    run = cli.run("login")
    assert run.code == 0
    assert "logged in as demo_user (crypto-user)" in run.out


def test_password_never_appears_in_the_output(cli: CLI) -> None:
    """The password from STRONGROOM_PASSWORD is never printed, in JSON or text."""
    _, password = cli.cluster.user
    for run in (cli.json("login"), cli.run("login"), cli.run("user", "list")):
        assert password not in run.out + run.err


def test_wrong_password_is_exit_3(cli: CLI) -> None:
    """A wrong password exits 3 with PIN_INCORRECT, in JSON and in text."""
    run = cli.json("key", "list", login=("demo_user", "not-the-password"))
    assert run.code == 3
    assert run.error() == (3, "PIN_INCORRECT")
    text = cli.run("login", login=("demo_user", "not-the-password"))
    assert text.code == 3
    assert "PIN_INCORRECT" in text.err
    assert text.out == ""


def test_logout_in_single_command_mode_is_a_no_op(cli: CLI) -> None:
    """logout needs no login outside the shell and says there is nothing to do."""
    assert "nothing to do" in cli.data("logout")["message"]


def test_user_lifecycle(cli: CLI) -> None:
    """An admin creates a user (password from STRONGROOM_NEW_PASSWORD), lists and deletes it."""
    admin = cli.cluster.admin
    created = cli.data(
        "user", "create", "--username", "carol", "--role", "crypto-user",
        login=admin, new_password="carol-password-1",
    )  # fmt: skip
    assert created == {"username": "carol", "role": "crypto-user"}
    users = {u["username"]: u for u in cli.data("user", "list")["users"]}
    assert users["carol"]["role"] == "crypto-user"
    assert cli.data("login", login=("carol", "carol-password-1"))["role"] == "crypto-user"
    changed = cli.data(
        "user", "change-password", login=("carol", "carol-password-1"),
        new_password="carol-password-2",
    )  # fmt: skip
    assert changed == {"username": "carol"}
    assert cli.json("login", login=("carol", "carol-password-1")).code == 3
    assert cli.data("login", login=("carol", "carol-password-2"))["username"] == "carol"
    assert cli.data("user", "delete", "--username", "carol", login=admin) == {"username": "carol"}
    assert "carol" not in {u["username"] for u in cli.data("user", "list")["users"]}


def test_a_crypto_user_cannot_create_users(cli: CLI) -> None:
    """Role failures exit 3 (PERMISSION_DENIED)."""
    run = cli.json(
        "user", "create", "--username", "mallory", "--role", "admin", new_password="whatever-123"
    )
    assert run.error() == (3, "PERMISSION_DENIED")


def test_user_create_without_a_new_password_is_a_usage_error(cli: CLI) -> None:
    """With no STRONGROOM_NEW_PASSWORD and no terminal, user create exits 2 naming the variable."""
    run = cli.run(
        "user", "create", "--username", "dave", "--role", "crypto-user", login=cli.cluster.admin
    )
    assert run.code == 2
    assert "STRONGROOM_NEW_PASSWORD" in run.err


def test_no_password_and_no_terminal_is_a_usage_error(cli: CLI) -> None:
    """Without STRONGROOM_PASSWORD and with no terminal to prompt on, exit 2 naming it."""
    run = cli.run("login", login=("demo_user", ""))
    assert run.code == 2
    assert "STRONGROOM_PASSWORD" in run.err


def test_cluster_info_needs_no_login(cli: CLI, monkeypatch: pytest.MonkeyPatch) -> None:
    """cluster info lists every HSM (address, hsm_id, ACTIVE) without credentials."""
    monkeypatch.delenv("STRONGROOM_USERNAME", raising=False)
    monkeypatch.delenv("STRONGROOM_PASSWORD", raising=False)
    data = cli.data("cluster", "info")
    expected = {(h["address"], h["hsm_id"]) for h in cli.cluster.endpoints["hsms"]}
    assert {(h["address"], h["hsm_id"]) for h in data["hsms"]} == expected
    assert {h["state"] for h in data["hsms"]} == {"ACTIVE"}
    assert "ACTIVE" in cli.run("cluster", "info").out


def test_mtls_enforcement_round_trip(cli: CLI) -> None:
    """An admin reads and sets mTLS enforcement (the dev client has a certificate)."""
    admin = cli.cluster.admin
    assert cli.data("cluster", "mtls", "get-enforcement", login=admin) == {
        "mtls_enforcement": "none"
    }
    level = "--level"
    assert cli.data("cluster", "mtls", "set-enforcement", level, "cluster", login=admin) == {
        "mtls_enforcement": "cluster"
    }
    assert cli.data("cluster", "mtls", "get-enforcement")["mtls_enforcement"] == "cluster"
    assert cli.data("cluster", "mtls", "set-enforcement", level, "none", login=admin) == {
        "mtls_enforcement": "none"
    }
    denied = cli.json("cluster", "mtls", "set-enforcement", level, "cluster")
    assert denied.error() == (3, "PERMISSION_DENIED")


def test_audit_is_for_admins(cli: CLI) -> None:
    """cluster audit pages through records for admins; a crypto user gets exit 3."""
    records = cli.data("cluster", "audit", "--start", "1", "--limit", "3", login=cli.cluster.admin)
    assert [r["seq"] for r in records["records"]] == [1, 2, 3]
    assert records["records"][0]["event"] == "initialize"
    assert cli.json("cluster", "audit").error() == (3, "PERMISSION_DENIED")


@pytest.mark.parametrize(
    "argv",
    [
        ["key", "frobnicate"],
        ["key", "list", "--no-such-option"],
        ["crypto", "sign", "ecdsa", "--data", "aGk="],  # no key selected
        ["crypto", "sign", "ecdsa", "--filter", "label=x", "--data", "aGk="],  # no attr.
        ["crypto", "sign", "ecdsa", "--filter", "attr.label=x", "--data", "%%%"],
        ["key", "list", "--filter", "attr.nonsense=1"],
        ["user", "create", "--username", "x"],  # --role missing
        ["crypto", "random", "--length", "0"],
    ],
)
def test_bad_arguments_are_exit_2_with_one_json_document(cli: CLI, argv: list[str]) -> None:
    """Usage errors exit 2; with --output json stdout is one error document."""
    run = cli.json(*argv)
    assert run.code == 2, (run.out, run.err)
    assert run.error() == (2, "USAGE_ERROR")
    text = cli.run(*argv)
    assert text.code == 2
    assert text.out == ""
    assert "error:" in text.err


def test_unreachable_hsm_is_exit_4(
    cli: CLI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An endpoints file naming an HSM that does not answer gives exit 4 (HSM_UNAVAILABLE)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{probe.getsockname()[1]}"
    document = dict(cli.cluster.endpoints)
    document["hsms"] = [{**document["hsms"][0], "address": dead}]
    endpoints = tmp_path / "endpoints.json"
    endpoints.write_text(json.dumps(document))
    run = cli.json("key", "list", "--endpoints", endpoints, data_dir=False)
    assert run.code == 4
    assert run.error() == (4, "HSM_UNAVAILABLE")
    info = cli.data("cluster", "info", "--endpoints", endpoints, data_dir=False)
    assert info["hsms"][0]["state"] == "UNREACHABLE"


def test_a_stopped_cluster_is_exit_4(cli: CLI, tmp_path: Path) -> None:
    """A data directory without endpoints.json (the cluster is down) exits 4 and says so."""
    run = cli.run("key", "list", "--data-dir", tmp_path, data_dir=False)
    assert run.code == 4
    assert "strongroom up" in run.err


def test_endpoints_from_the_environment(cli: CLI, monkeypatch: pytest.MonkeyPatch) -> None:
    """STRONGROOM_ENDPOINTS names the cluster when no option does."""
    monkeypatch.setenv("STRONGROOM_ENDPOINTS", str(cli.cluster.data_dir / "endpoints.json"))
    assert cli.json("login", data_dir=False).code == 0


def test_options_before_the_command(cli: CLI) -> None:
    """strongroom --data-dir DIR --output json login works like the options after it."""
    run = cli.run("--data-dir", cli.cluster.data_dir, "--output", "json", "login", data_dir=False)
    assert run.code == 0
    assert run.data()["username"] == "demo_user"


def test_the_command_words_are_routed_to_the_session_tree() -> None:
    """handles() picks the tree's commands past leading options; wants_json reads --output."""
    assert handles(["key", "list"])
    assert handles(["--data-dir", "x", "--output", "json", "shell"])
    assert not handles(["backup", "list"])
    assert not handles(["--version"])
    assert wants_json(["--output", "json"])
    assert wants_json(["--output=json"])
    assert not wants_json(["--output", "json", "--output", "text"])


def test_help_lists_the_session_commands(capsys: pytest.CaptureFixture[str]) -> None:
    """strongroom --help lists login, key, crypto, cluster and shell."""
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for word in ("login", "key", "crypto", "cluster", "shell"):
        assert f"\n    {word} " in out


def test_the_console_script(cluster: Cluster) -> None:
    """The installed `strongroom` script runs a command: one JSON document, exit 0."""
    script = Path(sys.executable).with_name("strongroom")
    env = {
        **os.environ,
        "STRONGROOM_USERNAME": cluster.user[0],
        "STRONGROOM_PASSWORD": cluster.user[1],
    }
    done = subprocess.run(
        [script, "crypto", "random", "--length", "8", "--data-dir", cluster.data_dir,
         "--output", "json"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["error_code"] == 0
    assert len(document["data"]["random"]) == 12  # 8 bytes in base64
