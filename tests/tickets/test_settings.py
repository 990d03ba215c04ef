"""Settings: the public address and the dev credentials file every process of a dev deployment shares."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from tickets import dev_credentials
from tickets.errors import ConfigurationError
from tickets.settings import Settings


def make(tmp_path: Path, **values: object) -> Settings:
    return Settings(var_dir=tmp_path / "var", database_url="sqlite://", _env_file=None, **values)  # type: ignore[call-arg]


def test_production_refuses_to_start_without_a_public_address(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="PUBLIC_BASE_URL must be set"):
        make(tmp_path, gateway_env="production", secret_key="s" * 40).prepared()
    given = make(tmp_path, gateway_env="production", secret_key="s" * 40, public_base_url="https://12345.example.cn/")
    assert given.prepared().public_base_url == "https://12345.example.cn"


@pytest.mark.parametrize("url", ["http://0.0.0.0:8000", "http://[::]:8000", "12345.example.cn", "ftp://x.cn"])
def test_an_address_phones_cannot_reach_is_refused(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigurationError, match="PUBLIC_BASE_URL"):
        make(tmp_path, public_base_url=url)


def test_dev_processes_share_credentials_the_fake_and_serves_address(tmp_path: Path) -> None:
    worker = make(tmp_path).prepared()  # a worker started before `serve` knows its address
    assert worker.public_base_url == "http://127.0.0.1:8000" and worker.dev_fake_wechat
    assert worker.wechat_api_base == worker.wechat_open_base and worker.wechat_api_base.startswith("http://127.0.0.1:")
    assert worker.refreshed() is worker  # nothing changed: no rebuild
    dev_credentials.record(tmp_path / "var", public_base_url="http://127.0.0.1:9000")  # `serve --port 9000`
    later = worker.refreshed()
    assert later.public_base_url == "http://127.0.0.1:9000"
    serve = make(tmp_path).prepared()
    assert (serve.secret_key, serve.wechat_app_secret, serve.wechat_api_base, serve.public_base_url) == (
        later.secret_key, later.wechat_app_secret, later.wechat_api_base, later.public_base_url)
    stored = json.loads((tmp_path / "var" / "dev-credentials.json").read_text())
    assert stored["wechat_app_secret"] == serve.wechat_app_secret
    assert (tmp_path / "var" / "dev-credentials.json").stat().st_mode & 0o777 == 0o600


def test_given_values_win_over_the_dev_file(tmp_path: Path) -> None:
    dev_credentials.record(tmp_path / "var", public_base_url="http://127.0.0.1:9000")
    mine = make(tmp_path, public_base_url="http://192.168.1.20:8000", wechat_api_base="http://127.0.0.1:1",
                secret_key="k" * 40).prepared()
    assert mine.public_base_url == "http://192.168.1.20:8000" and mine.secret_key == "k" * 40
    assert mine.wechat_api_base == "http://127.0.0.1:1" and not mine.dev_fake_wechat  # a fake of one's own


def _load(var_dir: str, out: multiprocessing.Queue[dict[str, str]]) -> None:
    out.put(dev_credentials.load(Path(var_dir)))


def test_processes_starting_together_generate_one_set_of_credentials(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue[dict[str, str]] = context.Queue()
    procs = [context.Process(target=_load, args=(str(tmp_path / "var"), out)) for _ in range(4)]
    for proc in procs:
        proc.start()
    found = [out.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
    assert all(f == found[0] for f in found) and found[0]["secret_key"]
