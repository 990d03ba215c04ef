"""The dev-mode credentials file under VAR_DIR, shared by every process of one dev deployment.

`serve`, `worker` and `relay` run as separate processes when REDIS_URL is set (Procfile). In dev mode they
must agree on what no environment variable gives them: the generated secret key and WeChat account, the
address and secret of the local fake of WeChat's API (which `serve` runs), and the public address `serve`
was started on. This file holds them: created once (generated values), completed when a newer version of
the gateway needs another value, and updated by `serve` when it learns its address (docs/configuration.md).

Every read and write holds an exclusive lock on a lock file beside it, so processes starting together
(a Procfile starts all three at once) never generate two different secrets.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

FILE_NAME = "dev-credentials.json"
# The fake's port is chosen once, below Linux's ephemeral range (32768-60999) so that outgoing connections
# do not take it between runs, and kept: a worker started before `serve` already knows where to send.
FAKE_PORTS = range(20000, 30000)


def path(var_dir: Path) -> Path:
    """Where the dev credentials of the deployment under `var_dir` are kept."""
    return var_dir / FILE_NAME


def stamp(var_dir: Path) -> tuple[int, int]:
    """A value that changes whenever the file is written ((0, 0) when there is none)."""
    try:
        found = path(var_dir).stat()
    except FileNotFoundError:
        return (0, 0)
    return (found.st_ino, found.st_mtime_ns)  # every write is a new file renamed over: a new inode


def load(var_dir: Path) -> dict[str, str]:
    """The deployment's dev credentials: created on first use, completed with any value missing."""
    with _locked(var_dir):
        found = _read(var_dir)
        complete = {name: found.get(name) or make() for name, make in GENERATED.items()} | {
            name: value for name, value in found.items() if name not in GENERATED}
        if complete != found:
            _write(var_dir, complete)
        return complete


def record(var_dir: Path, **values: str) -> dict[str, str]:
    """Remember `values` for the other processes of the deployment (e.g. `serve`'s public address)."""
    with _locked(var_dir):
        found = _read(var_dir)
        updated = found | values
        if updated != found:
            _write(var_dir, updated)
        return updated


def free_fake_port() -> int:
    """A port of FAKE_PORTS nobody listens on now."""
    for _ in range(200):
        port = secrets.choice(FAKE_PORTS)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise OSError("no free port for the dev WeChat fake")


def _aes_key() -> str:
    # An EncodingAESKey is 43 base64 characters (32 bytes without the trailing '=').
    return secrets.token_urlsafe(32)[:43].replace("-", "A").replace("_", "B")


GENERATED: dict[str, Callable[[], str]] = {
    "secret_key": lambda: secrets.token_urlsafe(48),
    "wechat_token": lambda: secrets.token_urlsafe(24),
    "wechat_app_id": lambda: "wxdev" + secrets.token_hex(6),
    "wechat_aes_key": _aes_key,
    # The fake WeChat's AppSecret and address: every process fetches access tokens from the same fake.
    "wechat_app_secret": lambda: secrets.token_hex(16),
    "wechat_api_base": lambda: f"http://127.0.0.1:{free_fake_port()}",
}


@contextmanager
def _locked(var_dir: Path) -> Iterator[None]:
    var_dir.mkdir(parents=True, exist_ok=True)
    with (var_dir / f".{FILE_NAME}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read(var_dir: Path) -> dict[str, str]:
    try:
        data = json.loads(path(var_dir).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _write(var_dir: Path, data: dict[str, str]) -> None:
    # Written beside and renamed over, so a reader never sees half a file; 0600: it holds secrets.
    target = path(var_dir)
    temporary = target.with_name(f".{FILE_NAME}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(data, out, indent=2)
    os.replace(temporary, target)
