"""`nexus-image keys create|list|revoke`, run in-process on SQLite and PostgreSQL: the token is
printed once, alone on stdout; the listing never shows a secret; a revoked key is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nexus_image.domain.service_key import InvalidApiKey
from nexus_image.entrypoints.cli import main
from nexus_image.entrypoints.composition import compose
from nexus_image.entrypoints.settings import Settings

pytestmark = pytest.mark.integration


def authenticate(token: str) -> str:
    app = compose("cli", Settings())
    try:
        user: str = app.manage_service_keys.authenticate(token).user_id
        return user
    finally:
        app.close()


def test_keys_are_created_listed_and_revoked(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["keys", "create", "billing", "--scope", "images:read", "--scope", "on_behalf_of"]
    assert main([*args, "--expires-in", "30", "--rate-limit", "60"]) == 0
    captured = capsys.readouterr()
    token = captured.out.strip()
    assert token.startswith("nxi_sk_") and "\n" not in token  # alone on stdout: TOKEN=$(...)
    key_id = token.split("_")[2]
    assert f"created key {key_id} (billing): images:read on_behalf_of, as service:billing" in captured.err
    assert "will not be shown again" in captured.err and token not in captured.err
    assert authenticate(token) == "service:billing"

    assert main(["keys", "create", "ops", "--scope", "admin", "--user", "alice"]) == 0
    capsys.readouterr()
    assert main(["keys", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(k["name"], k["user_id"], k["status"]) for k in listed] == [
        ("ops", "alice", "active"),
        ("billing", "service:billing", "active"),
    ]
    assert listed[1]["rate_limit_per_minute"] == 60 and listed[1]["expires_at"] is not None
    assert token.split("_", 3)[3] not in json.dumps(listed)

    assert main(["keys", "revoke", key_id]) == 0
    assert capsys.readouterr().out.startswith(f"revoked key:{key_id} (billing)")
    with pytest.raises(InvalidApiKey):
        authenticate(token)
    assert main(["keys", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("revoked key ") and "last used" in lines[1]


@pytest.mark.parametrize(
    "args",
    [
        ["keys", "create", "x", "--scope", "root"],
        ["keys", "create", " ", "--scope", "admin"],
        ["keys", "create", "x", "--scope", "admin", "--expires-in", "0"],
        ["keys", "create", "x", "--scope", "admin", "--rate-limit", "lots"],
        ["keys", "revoke", "ffffffffffff"],
    ],
)
def test_bad_input_exits_2_with_one_line(
    data_dir: Path, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("error: ") and captured.err.count("\n") == 1
