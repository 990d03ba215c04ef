"""`petition-gateway create-user`: the first admin of the console."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli import main
from tickets.access.officers import UserRole, authenticate
from tickets.clock import utcnow
from tickets.storage.db import create_db_engine


def test_create_user_takes_the_password_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CONSOLE_PASSWORD", "first admin password")
    monkeypatch.chdir(tmp_path)
    assert main(["create-user", "--username", "admin", "--role", "admin"]) == 0
    assert "created admin admin" in capsys.readouterr().out
    assert main(["create-user", "--username", "admin", "--role", "viewer"]) == 1
    assert "exists" in capsys.readouterr().err
    monkeypatch.setenv("CONSOLE_PASSWORD", "short")
    assert main(["create-user", "--username", "other", "--role", "viewer"]) == 1
    engine = create_db_engine(url)
    with engine.begin() as conn:
        assert authenticate(conn, "admin", "first admin password", utcnow()).role is UserRole.ADMIN
    engine.dispose()
