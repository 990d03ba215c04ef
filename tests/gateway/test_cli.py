"""The `petition-gateway` command."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli import main
from tickets.access.apikeys import authenticate
from tickets.storage.db import create_db_engine


def test_create_api_key_prints_a_working_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    monkeypatch.chdir(tmp_path)
    assert main(["create-api-key", "--name", "dispatch", "--role", "dispatcher"]) == 0
    key = capsys.readouterr().out.strip()
    engine = create_db_engine(url)
    with engine.connect() as conn:
        assert authenticate(conn, key).name == "dispatch"
    engine.dispose()
    assert main(["revoke-api-key", "--name", "dispatch"]) == 0
    assert main(["revoke-api-key", "--name", "dispatch"]) == 1


def test_production_refuses_a_default_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GATEWAY_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "change-me")
    assert main(["migrate"]) == 2
    assert "SECRET_KEY" in capsys.readouterr().err


def test_worker_needs_redis(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert main(["worker"]) == 2


@pytest.mark.parametrize(("host", "expected"), [("0.0.0.0", "http://127.0.0.1:9000"),  # noqa: S104
                                                ("::", "http://127.0.0.1:9000"),
                                                ("127.0.0.1", "http://127.0.0.1:9000"), ("::1", "http://[::1]:9000"),
                                                ("192.168.1.20", "http://192.168.1.20:9000")])
def test_dev_serve_records_an_address_a_browser_reaches(host: str, expected: str) -> None:
    from gateway.cli import dev_public_url

    assert dev_public_url(host, 9000) == expected


def test_production_refuses_to_start_without_a_public_address(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GATEWAY_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "p" * 40)
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    assert main(["serve"]) == 2
    assert "PUBLIC_BASE_URL must be set" in capsys.readouterr().err
