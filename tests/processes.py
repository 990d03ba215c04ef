"""The `petition-gateway` command run as real processes, as a newcomer or the Procfile runs it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

COMMAND = [sys.executable, "-m", "gateway.cli"]
# What the suite's own environment may carry that would change a deployment started here.
FOREIGN = ("WECHAT_", "ALIPAY_", "REDIS_", "DATABASE_", "PUBLIC_BASE_URL", "GATEWAY_ENV", "SECRET_KEY", "VAR_DIR",
           "PROMETHEUS_", "API_DOCS", "SMS_", "DISPATCH_", "WEB_CONCURRENCY")


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, *, every: float = 0.1,
             logs: Callable[[], str] = lambda: "") -> None:
    """Poll until `predicate()` holds; fail after `timeout` seconds saying what was awaited."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{logs()}")
        time.sleep(every)


@dataclass
class Deployment:
    """One deployment's processes (`serve`, `worker`, `relay`, ...), sharing a working directory and environment."""

    workdir: Path
    env: dict[str, str]
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @classmethod
    def make(cls, workdir: Path, **env: str) -> Deployment:
        """A deployment in `workdir` with the suite's environment less anything that configures a gateway."""
        workdir.mkdir(parents=True, exist_ok=True)
        base = {k: v for k, v in os.environ.items() if not k.upper().startswith(FOREIGN)}
        repo = str(Path(__file__).resolve().parents[2])
        base["PYTHONPATH"] = os.pathsep.join(filter(None, [repo, base.get("PYTHONPATH", "")]))
        return cls(workdir, {**base, "VAR_DIR": str(workdir / "var"), **env})

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        """Start `petition-gateway <args>` as process `name`; its output goes to `<name>.log`."""
        with (self.workdir / f"{name}.log").open("wb") as log:
            proc = subprocess.Popen([*COMMAND, *args], cwd=self.workdir, env=self.env, stdout=log,
                                    stderr=subprocess.STDOUT)
        self.procs[name] = proc
        return proc

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run `petition-gateway <args>` to its end."""
        return subprocess.run([*COMMAND, *args], cwd=self.workdir, env=self.env, capture_output=True, text=True,
                              timeout=timeout, check=False)

    def log(self, name: str) -> str:
        """What process `name` wrote so far."""
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def logs(self) -> str:
        """The tail of every process's output, for a failing assertion."""
        return "\n".join(f"--- {name} ---\n{self.log(name)[-4000:]}" for name in self.procs)

    def wait_until_serving(self, base_url: str, timeout: float = 60) -> None:
        """Wait for `GET /healthz` to answer."""
        def up() -> bool:
            for proc in self.procs.values():
                if proc.poll() is not None:
                    raise AssertionError(f"a process ended early (exit {proc.returncode})\n{self.logs()}")
            try:
                return httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False
        wait_for(up, timeout, f"{base_url}/healthz", every=0.2, logs=self.logs)

    def stop(self, name: str, timeout: float = 15) -> int:
        """SIGTERM process `name` (as a supervisor stops it) and wait; its exit code."""
        proc = self.procs[name]
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def stop_all(self) -> None:
        """Stop every process still running, the last started first."""
        for name in reversed(list(self.procs)):
            self.stop(name)


@contextmanager
def deployment(workdir: Path, **env: str) -> Iterator[Deployment]:
    """A deployment whose processes are stopped at the end, whatever happened."""
    running = Deployment.make(workdir, **env)
    try:
        yield running
    finally:
        running.stop_all()
